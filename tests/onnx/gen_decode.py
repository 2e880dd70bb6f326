"""Models whose pruned weights are read by ops without an LSC kernel, restored at
run time by LscDecode: an embedding table under Gather, ConvTranspose weights (1-D
and 2-D: groups, strides, pads, output_padding, dilations), a table read by several
nodes and from an If branch (one encoded copy), a body's own initializer, weights
that are also graph inputs (IR 3), tensors left dense (not sparse enough, too
small), Constant nodes (main graph, If branches, a Loop body) and float16 /
bfloat16 / float64 tensors (LscDecodeFloat16, ...). Each builder returns (model,
feeds, weights that must be encoded); used by tests/onnx (round trips) and
tests/ort (runs in ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_subgraphs import init, vi
from gen_subgraphs import pruned as gen_pruned

OPSET = [helper.make_opsetid("", 13)]


def model(nodes, inputs, outputs, inits, **kw):
    return helper.make_model(helper.make_graph(nodes, "decode", inputs, outputs, inits), opset_imports=OPSET, **kw)


def gather_embedding(rng):
    """A token embedding [V, D] read by Gather (axis 0), then a small projection."""
    nodes = [helper.make_node("Gather", ["emb.weight", "ids"], ["e"], name="embed"),
             helper.make_node("ReduceMean", ["e"], ["y"], axes=[1], keepdims=0)]
    m = model(nodes, [vi("ids", [2, 7], TensorProto.INT64)], [vi("y", [2, 48])],
              [init(rng, "emb.weight", (300, 48), 0.3)])
    return m, [{"ids": rng.integers(0, 300, (2, 7)).astype(np.int64)}]


def conv_transpose(rng):
    """A decoder: ConvTranspose 2-D (group 2, stride 2, pads, output_padding,
    dilations) then 1-D (stride 3); the bias of the first stays dense (small)."""
    ct2 = helper.make_node("ConvTranspose", ["x", "up.weight", "up.bias"], ["u"], group=2, strides=[2, 2],
                           pads=[1, 0, 1, 1], output_padding=[1, 0], dilations=[1, 2], name="up")
    flat = helper.make_node("Reshape", ["u", "shape"], ["u1"])
    ct1 = helper.make_node("ConvTranspose", ["u1", "up1.weight"], ["y"], strides=[3], pads=[2, 1], name="up1")
    inits = [init(rng, "up.weight", (16, 8, 3, 3), 0.25), init(rng, "up.bias", (16,), 1.0),
             init(rng, "up1.weight", (32, 8, 5), 0.2),
             numpy_helper.from_array(np.array([1, 32, -1], np.int64), "shape")]
    m = model([ct2, flat, ct1], [vi("x", [1, 16, 5, 6])], [vi("y", [1, 8, None])], inits)
    return m, [{"x": rng.standard_normal((1, 16, 5, 6)).astype(np.float32)}]


def shared_readers(rng):
    """One table read by a Gather, an Add and, from an If branch, a Mul: encoded once,
    one LscDecode serves them all. The else branch has its own initializer."""
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "table"], ["t"])], "then", [], [vi("t", [64, 32])])
    else_g = helper.make_graph([helper.make_node("Mul", ["x", "branch.w"], ["t2"])], "else", [],
                               [vi("t2", [64, 32])], [init(rng, "branch.w", (64, 32), 0.1)])
    nodes = [helper.make_node("Gather", ["table", "ids"], ["g"]),
             helper.make_node("Add", ["x", "table"], ["a"]),
             helper.make_node("If", ["c"], ["b"], then_branch=then_g, else_branch=else_g)]
    m = model(nodes, [vi("x", [64, 32]), vi("ids", [3], TensorProto.INT64), vi("c", [], TensorProto.BOOL)],
              [vi("g", [3, 32]), vi("a", [64, 32]), vi("b", [64, 32])], [init(rng, "table", (64, 32), 0.4)])
    x = rng.standard_normal((64, 32)).astype(np.float32)
    ids = np.array([0, 63, 17], np.int64)
    return m, [{"x": x, "ids": ids, "c": np.array(v)} for v in (True, False)]


def graph_input_ir3(rng):
    """IR 3: every initializer is a graph input too (an older exporter's form)."""
    emb = init(rng, "emb", (128, 16), 0.3)
    nodes = [helper.make_node("Gather", ["emb", "ids"], ["y"])]
    g = helper.make_graph(nodes, "ir3", [vi("emb", [128, 16]), vi("ids", [4], TensorProto.INT64)],
                          [vi("y", [4, 16])], [emb])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9)], ir_version=3)
    return m, [{"ids": np.array([1, 5, 127, 0], np.int64)}]


def left_dense(rng):
    """Tensors left dense: one not sparse enough, one too small; one encoded."""
    nodes = [helper.make_node("Add", ["x", "dense.w"], ["a"]),
             helper.make_node("Add", ["a", "sparse.w"], ["b"]),
             helper.make_node("Mul", ["b", "small.w"], ["y"])]
    inits = [init(rng, "dense.w", (32, 64), 0.7), init(rng, "sparse.w", (32, 64), 0.4),
             init(rng, "small.w", (1, 64), 0.2)]
    m = model(nodes, [vi("x", [32, 64])], [vi("y", [32, 64])], inits)
    return m, [{"x": rng.standard_normal((32, 64)).astype(np.float32)}]


def const(name, array):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name + ".value"))


def constant_nodes(rng):
    """Constant nodes: one read by an Add (LscDecode after the Constant), one read by
    a MatMul as its weight (multiplied in place), one too small to encode."""
    nodes = [const("table", gen_pruned(rng, (32, 48), 0.2)), helper.make_node("Add", ["x", "table"], ["a"]),
             const("w", gen_pruned(rng, (48, 40), 0.1)), helper.make_node("MatMul", ["a", "w"], ["m"]),
             const("bias", gen_pruned(rng, (40,), 0.5)), helper.make_node("Add", ["m", "bias"], ["y"])]
    m = model(nodes, [vi("x", [32, 48])], [vi("y", [32, 40])], [])
    return m, [{"x": rng.standard_normal((32, 48)).astype(np.float32)}]


def constant_bodies(rng):
    """Constant nodes in both branches of an If under the same name (sibling scopes),
    and in a Loop body, read by ops without an LSC kernel."""
    then_g = helper.make_graph([const("k", gen_pruned(rng, (32, 32), 0.3)), helper.make_node("Mul", ["x", "k"], ["t"])],
                               "then", [], [vi("t", [32, 32])])
    else_g = helper.make_graph([const("k", gen_pruned(rng, (32, 32), 0.1)), helper.make_node("Sub", ["x", "k"], ["e"])],
                               "else", [], [vi("e", [32, 32])])
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), const("step", gen_pruned(rng, (32, 32), 0.2)),
         helper.make_node("Add", ["v_in", "step"], ["v_out"])],
        "body", [vi("i", [], TensorProto.INT64), vi("c_in", [], TensorProto.BOOL), vi("v_in", [32, 32])],
        [vi("c_out", [], TensorProto.BOOL), vi("v_out", [32, 32])])
    nodes = [helper.make_node("If", ["c"], ["b"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Loop", ["n", "", "b"], ["y"], body=body)]
    m = model(nodes, [vi("x", [32, 32]), vi("c", [], TensorProto.BOOL), vi("n", [], TensorProto.INT64)],
              [vi("y", [32, 32])], [])
    x = rng.standard_normal((32, 32)).astype(np.float32)
    return m, [{"x": x, "c": np.array(v), "n": np.array(3, np.int64)} for v in (True, False)]


def bfloat16(array):
    """bfloat16 TensorProto data: the top half of each float32, rounded to nearest even."""
    bits = array.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def typed_tensors(rng):
    """float16, bfloat16 and float64 tensors read by ops without an LSC kernel: an
    initializer of each type (float16 with NaN payloads and infinities; float64 in
    double_data), and a float16 Constant inside an If branch."""
    h = gen_pruned(rng, (32, 40), 0.2).astype(np.float16)
    hb = h.view(np.uint16)
    hb[0, 0], hb[1, 1], hb[2, 2] = 0x7E01, 0xFC00, 0x7C00  # quiet NaN with a payload, -inf, +inf
    bf = helper.make_tensor("bf", TensorProto.BFLOAT16, [32, 40], bfloat16(gen_pruned(rng, (32, 40), 0.2)).tobytes(),
                            raw=True)
    d = helper.make_tensor("d", TensorProto.DOUBLE, [32, 40], gen_pruned(rng, (32, 40), 0.1).astype(np.float64).ravel())
    then_g = helper.make_graph([helper.make_node("Constant", [], ["k16"], value=numpy_helper.from_array(
                                    gen_pruned(rng, (32, 40), 0.2).astype(np.float16), "k16.value")),
                                helper.make_node("Cast", ["k16"], ["t"], to=TensorProto.FLOAT)],
                               "then", [], [vi("t", [32, 40])])
    else_g = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [], [vi("e", [32, 40])])
    nodes = [helper.make_node("Cast", ["h"], ["h32"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["bf"], ["b32"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["h32", "b32"], ["s"]),
             helper.make_node("If", ["c"], ["k"], then_branch=then_g, else_branch=else_g),
             helper.make_node("Add", ["s", "k"], ["s2"]),
             helper.make_node("Cast", ["s2"], ["s64"], to=TensorProto.DOUBLE),
             helper.make_node("Mul", ["s64", "d"], ["y"])]
    m = model(nodes, [vi("x", [32, 40]), vi("c", [], TensorProto.BOOL)], [vi("y", [32, 40], TensorProto.DOUBLE)],
              [numpy_helper.from_array(h, "h"), bf, d])
    x = rng.standard_normal((32, 40)).astype(np.float32)
    return m, [{"x": x, "c": np.array(v)} for v in (True, False)]


BUILDERS = {
    "decode_gather_embedding": (gather_embedding, 1),
    "decode_conv_transpose": (conv_transpose, 2),
    "decode_shared_readers": (shared_readers, 2),
    "decode_graph_input_ir3": (graph_input_ir3, 1),
    "decode_left_dense": (left_dense, 1),
    "decode_constant_nodes": (constant_nodes, 2),
    "decode_constant_bodies": (constant_bodies, 3),
    "decode_typed_tensors": (typed_tensors, 4),
}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
