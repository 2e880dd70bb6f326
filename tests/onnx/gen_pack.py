"""Models whose float32 tensors left dense go into the dense pack of `compress
--entropy` (docs/format.md part 5): Conv biases and BatchNormalization parameters
(raw_data), a Constant node's value with a name and doc_string, a float_data
initializer, -0.0 and a NaN payload, a tensor read from an If branch (outer
scope), tensors inside If and Loop bodies (read back as outer-scope values, repeats
stored once), an LSTM's B inside If bodies, and tensors that stay: too small, a
graph output, a graph input (IR 3), a name two sibling bodies both define, an
LSTM's dense R.
Each builder returns (model, feeds, weights that must be encoded); used by
tests/onnx (round trips, with --entropy) and tests/ort (runs in ONNX Runtime)."""
import struct

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_subgraphs import init, vi

OPSET = [helper.make_opsetid("", 13)]
# compress options the callers pass for these models
EXTRA = ["--entropy"]


def grid(rng, shape, lo=-2.0, hi=2.0):
    """Values on a 1/64 grid: what trained biases and norms look like to a byte-plane
    coder (few exponents, short mantissas), so the pack pays on small tensors."""
    return (np.round(rng.uniform(lo, hi, shape) * 64) / 64).astype(np.float32)


def t(rng, name, shape, lo=-2.0, hi=2.0):
    return numpy_helper.from_array(grid(rng, shape, lo, hi), name)


def model(nodes, inputs, outputs, inits, **kw):
    return helper.make_model(helper.make_graph(nodes, "pack", inputs, outputs, inits), opset_imports=OPSET, **kw)


def conv_bn(rng):
    """Conv (pruned W, encoded; bias packed) -> BatchNormalization (four packed
    parameters) -> depthwise Conv (a small dense kernel, packed) -> Add of a Constant
    (packed: node name and doc_string restored) -> Mul by a float_data initializer
    with -0.0 and a NaN payload (packed) -> Add of a 4-element tensor (stays)."""
    c = 64
    nan = struct.unpack("<f", struct.pack("<I", 0x7FC01234))[0]
    scale = grid(rng, (c, 1, 1)).reshape(-1).tolist()
    scale[3], scale[5] = -0.0, nan
    typed = helper.make_tensor("mul.scale", TensorProto.FLOAT, (c, 1, 1), scale)
    typed.doc_string = "kept in float_data"
    const = helper.make_node("Constant", [], ["shift"], name="shift_const", doc_string="a Constant",
                             value=numpy_helper.from_array(grid(rng, (c, 1, 1)), "shift_value"))
    nodes = [helper.make_node("Conv", ["x", "conv.w", "conv.b"], ["c1"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("BatchNormalization", ["c1", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b1"]),
             helper.make_node("Conv", ["b1", "dw.w"], ["d1"], group=c, pads=[1, 1, 1, 1], name="dw"),
             const,
             helper.make_node("Add", ["d1", "shift"], ["a1"]),
             helper.make_node("Mul", ["a1", "mul.scale"], ["m1"]),
             helper.make_node("Add", ["m1", "tiny"], ["y"])]
    inits = [init(rng, "conv.w", (c, 16, 3, 3), 0.1), t(rng, "conv.b", (c,)), t(rng, "bn.scale", (c,)),
             t(rng, "bn.bias", (c,)), t(rng, "bn.mean", (c,)), t(rng, "bn.var", (c,), 0.5, 2.0),
             t(rng, "dw.w", (c, 1, 3, 3)), typed, t(rng, "tiny", (1, 1, 1, 4))]
    m = model(nodes, [vi("x", [1, 16, 6, 4])], [vi("y", [1, c, 6, 4])], inits)
    return m, [{"x": rng.standard_normal((1, 16, 6, 4)).astype(np.float32)}]


def outer_scope(rng):
    """A packed tensor read by both If branches (outer scope) and by a main-graph
    node; a graph output that is an initializer stays."""
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "gain"], ["t"])], "then", [], [vi("t", [8, 256])])
    else_g = helper.make_graph([helper.make_node("Add", ["x", "gain"], ["e"])], "else", [], [vi("e", [8, 256])])
    nodes = [helper.make_node("If", ["c"], ["b"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Sub", ["b", "gain"], ["y"])]
    m = model(nodes, [vi("x", [8, 256]), vi("c", [], TensorProto.BOOL)],
              [vi("y", [8, 256]), vi("out.const", [256])], [t(rng, "gain", (256,)), t(rng, "out.const", (256,))])
    x = rng.standard_normal((8, 256)).astype(np.float32)
    return m, [{"x": x, "c": np.array(v)} for v in (True, False)]


def graph_input_ir3(rng):
    """IR 3: initializers that are graph inputs too stay (a feed may replace them);
    no weight encoded, nothing packed."""
    g = helper.make_graph([helper.make_node("Add", ["x", "bias"], ["y"])], "ir3",
                          [vi("x", [4, 128]), vi("bias", [128])], [vi("y", [4, 128])], [t(rng, "bias", (128,))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)], ir_version=3)
    return m, [{"x": rng.standard_normal((4, 128)).astype(np.float32)}]


def pack_only(rng):
    """No weight to encode: only the pack, and the ai.onnx_lsc import with it."""
    nodes = [helper.make_node("Add", ["x", "p.a"], ["a"]), helper.make_node("Mul", ["a", "p.b"], ["y"])]
    m = model(nodes, [vi("x", [2, 512])], [vi("y", [2, 512])], [t(rng, "p.a", (512,)), t(rng, "p.b", (512,))])
    return m, [{"x": rng.standard_normal((2, 512)).astype(np.float32)}]


def bodies(rng):
    """Float tensors inside bodies: a Constant (with a value_info) and an initializer
    in the then branch, the same values again in the else branch under other names
    (stored once), a Constant in a Loop body nested in the else branch, a main-graph
    initializer; a Constant name both branches define (sibling scopes) stays."""
    n = 256
    k, bias = grid(rng, (n,)), grid(rng, (n,))

    def const(name, value, node_name=""):
        return helper.make_node("Constant", [], [name], name=node_name,
                                value=numpy_helper.from_array(value, name + ".value"))

    both = grid(rng, (n,))
    then_g = helper.make_graph(
        [const("t.k", k, "then_k"), helper.make_node("Mul", ["x", "t.k"], ["t1"]),
         helper.make_node("Add", ["t1", "t.bias"], ["t2"]), const("both.k", both),
         helper.make_node("Sub", ["t2", "both.k"], ["t"])],
        "then", [], [vi("t", [4, n])], [numpy_helper.from_array(bias, "t.bias")], value_info=[vi("t.k", [n])])
    loop_body = helper.make_graph(
        [const("l.k", grid(rng, (n,))), helper.make_node("Add", ["v", "l.k"], ["v_out"]),
         helper.make_node("Identity", ["cond"], ["cond_out"])],
        "loop_body", [vi("iter", [], TensorProto.INT64), vi("cond", [], TensorProto.BOOL), vi("v", [4, n])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [4, n])])
    else_g = helper.make_graph(
        [const("e.k", k), helper.make_node("Mul", ["x", "e.k"], ["e1"]),
         helper.make_node("Loop", ["trips", "", "e1"], ["e2"], body=loop_body),
         helper.make_node("Add", ["e2", "e.bias"], ["e3"]), const("both.k", both),
         helper.make_node("Sub", ["e3", "both.k"], ["e"])],
        "else", [], [vi("e", [4, n])], [numpy_helper.from_array(bias, "e.bias")])
    nodes = [helper.make_node("If", ["c"], ["b"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Add", ["b", "m.bias"], ["y"])]
    inits = [t(rng, "m.bias", (n,)), numpy_helper.from_array(np.array(2, dtype=np.int64), "trips")]
    m = model(nodes, [vi("x", [4, n]), vi("c", [], TensorProto.BOOL)], [vi("y", [4, n])], inits)
    x = rng.standard_normal((4, n)).astype(np.float32)
    return m, [{"x": x, "c": np.array(v)} for v in (True, False)]


def lstm_bias(rng):
    """silero-vad's shape: an LSTM in each If branch, W and R pruned (encoded), its B
    packed (the else branch's equal to the then branch's: stored once); the else
    branch's R is dense and stays in its body (LscLSTM takes a dense R only as a
    constant)."""
    import gen_recurrent as r
    bias = grid(rng, (1, 8 * r.H), -0.5, 0.5)

    def branch(tag, r_density):
        w = numpy_helper.from_array(r.pruned(rng, (1, 4 * r.H, r.I), 0.1), tag + ".W")
        rr = numpy_helper.from_array(r.pruned(rng, (1, 4 * r.H, r.H), r_density), tag + ".R")
        node = helper.make_node("LSTM", ["X", tag + ".W", tag + ".R", tag + ".B", "", "h0", "c0"],
                                ["", "hn_" + tag, "cn_" + tag], hidden_size=r.H)
        return helper.make_graph([node], tag, [], [vi("hn_" + tag, [1, r.B, r.H]), vi("cn_" + tag, [1, r.B, r.H])],
                                 [w, rr, numpy_helper.from_array(bias, tag + ".B")])
    node = helper.make_node("If", ["c"], ["hn", "cn"], then_branch=branch("a", 0.1), else_branch=branch("b", 1.0))
    g = helper.make_graph([node], "lstm_bias", [vi("X", [r.T, r.B, r.I]), vi("h0", [1, r.B, r.H]),
                                                vi("c0", [1, r.B, r.H]), vi("c", [], TensorProto.BOOL)],
                          [vi("hn", [1, r.B, r.H]), vi("cn", [1, r.B, r.H])])
    base = {"X": rng.standard_normal((r.T, r.B, r.I)).astype(np.float32),
            "h0": rng.standard_normal((1, r.B, r.H)).astype(np.float32) * 0.3,
            "c0": rng.standard_normal((1, r.B, r.H)).astype(np.float32) * 0.3}
    return helper.make_model(g, opset_imports=r.OPSET), [dict(base, c=np.array(v)) for v in (True, False)]


BUILDERS = {
    "pack_conv_bn": (conv_bn, 1),
    "pack_outer_scope": (outer_scope, 0),
    "pack_graph_input_ir3": (graph_input_ir3, 0),
    "pack_only": (pack_only, 0),
    "pack_bodies": (bodies, 0),
    "pack_lstm_bias": (lstm_bias, 3),
}
# The LscUnpack outputs each compressed model must have (tensors packed).
PACKED = {"pack_conv_bn": 8, "pack_outer_scope": 1, "pack_graph_input_ir3": 0, "pack_only": 2,
          "pack_bodies": 6, "pack_lstm_bias": 2}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
