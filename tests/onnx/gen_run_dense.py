"""Models where some Conv / Gemm / MatMul layers run as ONNX Runtime's dense op, their
weight encoded and restored at session creation by LscDecode (compress --run-dense,
docs/format.md 3.1 "Decision (dense-ish layers)"): by default a dense-ish convolution
next to a sparse one; forced with --run-dense always, Gemm (both orientations),
MatMul, a weight shared by two convolutions, one that is also a graph input (IR 3)
and one read from an If branch. Each builder returns (model, feeds, weights that must
be encoded); EXTRA gives each model's compress options and RUN_DENSE how many of its
layers must run dense. Used by tests/onnx (round trips) and tests/ort (ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper

from gen_subgraphs import init, vi

OPSET = [helper.make_opsetid("", 13)]


def model(nodes, inputs, outputs, inits, **kw):
    return helper.make_model(helper.make_graph(nodes, "run_dense", inputs, outputs, inits), opset_imports=OPSET, **kw)


def mixed_convs(rng):
    """A first layer (3 input channels, 60% non-zeros: runs dense by default), its
    Relu, then a 10% layer (stays LscConv, the Relu after it folded)."""
    nodes = [helper.make_node("Conv", ["x", "c1.weight", "c1.bias"], ["h"], pads=[1, 1, 1, 1], name="c1"),
             helper.make_node("Relu", ["h"], ["hr"]),
             helper.make_node("Conv", ["hr", "c2.weight"], ["y0"], pads=[1, 1, 1, 1], name="c2"),
             helper.make_node("Relu", ["y0"], ["y"])]
    inits = [init(rng, "c1.weight", (32, 3, 3, 3), 0.6), init(rng, "c1.bias", (32,), 1.0),
             init(rng, "c2.weight", (32, 32, 3, 3), 0.1)]
    m = model(nodes, [vi("x", [1, 3, 12, 12])], [vi("y", [1, 32, 12, 12])], inits)
    return m, [{"x": rng.standard_normal((1, 3, 12, 12)).astype(np.float32)}]


def forced_all(rng):
    """--run-dense always: Gemm transB 0 and 1, MatMul, and a Conv weight read by two
    Conv nodes, every one restored by LscDecode and run by ORT's own kernels."""
    nodes = [helper.make_node("Conv", ["x", "cw"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "cw"], ["b"], pads=[2, 2, 2, 2], dilations=[2, 2]),
             helper.make_node("Add", ["a", "b"], ["ab"]),
             helper.make_node("Flatten", ["ab"], ["f"]),
             helper.make_node("Gemm", ["f", "g0"], ["g"]),
             helper.make_node("Gemm", ["g", "g1", "g1.bias"], ["h"], transB=1),
             helper.make_node("MatMul", ["h", "mm"], ["y"])]
    inits = [init(rng, "cw", (4, 4, 3, 3), 0.3), init(rng, "g0", (4 * 36, 40), 0.2), init(rng, "g1", (48, 40), 0.2),
             init(rng, "g1.bias", (48,), 1.0), init(rng, "mm", (48, 30), 0.25)]
    m = model(nodes, [vi("x", [2, 4, 6, 6])], [vi("y", [2, 30])], inits)
    return m, [{"x": rng.standard_normal((2, 4, 6, 6)).astype(np.float32)}]


def forced_graph_input_and_branch(rng):
    """--run-dense always on an IR 3 model (every initializer a graph input too) with
    a MatMul weight read inside an If branch."""
    then_g = helper.make_graph([helper.make_node("MatMul", ["x", "w_in"], ["t"])], "then", [], [vi("t", [5, 24])])
    else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [], [vi("e", [5, 24])])
    nodes = [helper.make_node("If", ["c"], ["b"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Gemm", ["b", "w_top"], ["y"], transB=1)]
    w_in, w_top = init(rng, "w_in", (24, 24), 0.3), init(rng, "w_top", (40, 24), 0.3)
    g = helper.make_graph(nodes, "ir3", [vi("x", [5, 24]), vi("c", [], TensorProto.BOOL), vi("w_in", [24, 24]),
                                         vi("w_top", [40, 24])], [vi("y", [5, 40])], [w_in, w_top])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)], ir_version=3)
    x = rng.standard_normal((5, 24)).astype(np.float32)
    return m, [{"x": x, "c": np.array(v)} for v in (True, False)]


BUILDERS = {
    "run_dense_mixed_convs": (mixed_convs, 2),
    "run_dense_forced_all": (forced_all, 4),
    "run_dense_forced_ir3_branch": (forced_graph_input_and_branch, 2),
}
EXTRA = {"run_dense_forced_all": ["--run-dense", "always"],
         "run_dense_forced_ir3_branch": ["--run-dense", "always"]}
RUN_DENSE = {"run_dense_mixed_convs": 1, "run_dense_forced_all": 4, "run_dense_forced_ir3_branch": 2}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
