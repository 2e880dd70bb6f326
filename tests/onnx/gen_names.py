"""Models with exporter-like long names, for the short names of compress --entropy
(docs/format.md part 6): internal values read inside If / Loop bodies from two
scopes up, body inputs, outputs, initializers and value_info, a Constant in a body,
a main-graph weight restored by LscDecode, node names everywhere. Each builder
returns (model, feeds) as gen_subgraphs.py's; used by tests/onnx (round trips, the
names must become short) and tests/ort (runs in ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_subgraphs import OPSET, init, pruned, vi

EXTRA = ["--entropy"]
P = "/model/encoder/layers.0/"  # the prefix torch.onnx.export writes


def if_loop_outer(rng):
    """Main graph: Gemm -> Relu; an If whose then branch runs a Loop whose body reads
    the main graph's Relu output (an internal value, two scopes up) and a main-graph
    weight; the else branch reads it through a body Constant and a body initializer."""
    relu = P + "activation/Relu_output_0"
    body = helper.make_graph(
        [helper.make_node("Identity", [P + "loop/cond_in"], [P + "loop/cond_out"], name=P + "loop/Identity"),
         helper.make_node("Add", [P + "loop/v_in", relu], [P + "loop/Add_output_0"], name=P + "loop/Add"),
         helper.make_node("Gemm", [P + "loop/Add_output_0", P + "loop.weight"], [P + "loop/Gemm_output_0"],
                          transB=1, name=P + "loop/Gemm"),
         helper.make_node("Tanh", [P + "loop/Gemm_output_0"], [P + "loop/v_out"], name=P + "loop/Tanh")],
        P + "loop_body", [vi(P + "loop/iter", [], TensorProto.INT64), vi(P + "loop/cond_in", [], TensorProto.BOOL),
                          vi(P + "loop/v_in", [1, 64])],
        [vi(P + "loop/cond_out", [], TensorProto.BOOL), vi(P + "loop/v_out", [1, 64])],
        value_info=[vi(P + "loop/Add_output_0", [1, 64])])
    then_g = helper.make_graph(
        [helper.make_node("Loop", ["trip_count", "", relu], [P + "then/Loop_output_0"], body=body,
                          name=P + "then/Loop")], P + "then_branch", [], [vi(P + "then/Loop_output_0", [1, 64])])
    scale = numpy_helper.from_array(np.linspace(0.5, 1.5, 64, dtype=np.float32).reshape(1, 64), P + "else/scale")
    k = numpy_helper.from_array(np.full((1, 64), 0.25, np.float32), P + "else/const_value")
    else_g = helper.make_graph(
        [helper.make_node("Constant", [], [P + "else/Constant_output_0"], value=k, name=P + "else/Constant"),
         helper.make_node("Mul", [relu, P + "else/scale"], [P + "else/Mul_output_0"], name=P + "else/Mul"),
         helper.make_node("Add", [P + "else/Mul_output_0", P + "else/Constant_output_0"], [P + "else/Add_output_0"],
                          name=P + "else/Add")],
        P + "else_branch", [], [vi(P + "else/Add_output_0", [1, 64])], [scale])
    nodes = [helper.make_node("Gemm", ["input", P + "fc1.weight"], [P + "fc1/Gemm_output_0"], transB=1,
                              name=P + "fc1/Gemm"),
             helper.make_node("Relu", [P + "fc1/Gemm_output_0"], [relu], name=P + "activation/Relu"),
             helper.make_node("If", ["use_loop"], [P + "If_output_0"], then_branch=then_g, else_branch=else_g,
                              name=P + "If"),
             helper.make_node("Add", [P + "If_output_0", P + "table"], [P + "Add_output_0"], name=P + "Add"),
             helper.make_node("MatMul", [P + "Add_output_0", P + "fc2.weight"], ["output"], name=P + "fc2/MatMul")]
    table = numpy_helper.from_array(rng.standard_normal((1, 64)).astype(np.float32), P + "table")
    g = helper.make_graph(nodes, "exporter_like",
                          [vi("input", [1, 48]), vi("use_loop", [], TensorProto.BOOL),
                           vi("trip_count", [], TensorProto.INT64)],
                          [vi("output", [1, 32])],
                          [init(rng, P + "fc1.weight", (64, 48)), init(rng, P + "loop.weight", (64, 64)),
                           init(rng, P + "fc2.weight", (64, 32)), table],
                          value_info=[vi(relu, [1, 64]), vi(P + "If_output_0", [1, 64])])
    x = rng.standard_normal((1, 48)).astype(np.float32)
    feeds = [{"input": x, "use_loop": np.array(v), "trip_count": np.array(2, np.int64)} for v in (True, False)]
    return helper.make_model(g, opset_imports=OPSET), feeds


def decode_and_names(rng):
    """A sparse weight read by an op without an LSC kernel (Add), restored by
    LscDecode under its long name, next to renamed values around it."""
    w = P + "embedding.weight"
    nodes = [helper.make_node("Add", ["input", w], [P + "embed/Add_output_0"], name=P + "embed/Add")]
    prev = P + "embed/Add_output_0"
    for i in range(8):
        out = P + "stack.%d/Sigmoid_output_0" % i
        nodes.append(helper.make_node("Sigmoid", [prev], [out], name=P + "stack.%d/Sigmoid" % i))
        prev = out
    nodes.append(helper.make_node("MatMul", [prev, P + "head.weight"], ["output"], name=P + "head/MatMul"))
    g = helper.make_graph(nodes, "decode_like", [vi("input", [32, 64])], [vi("output", [32, 16])],
                          [init(rng, w, (32, 64)), init(rng, P + "head.weight", (64, 16))])
    feeds = [{"input": rng.standard_normal((32, 64)).astype(np.float32)}]
    return helper.make_model(g, opset_imports=OPSET), feeds


BUILDERS = {"names_if_loop_outer": (if_loop_outer, 3), "names_decode": (decode_and_names, 2)}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
