"""Models whose pruned weights are read by ops without an LSC kernel, restored at
run time by LscDecode: an embedding table under Gather, ConvTranspose weights (1-D
and 2-D: groups, strides, pads, output_padding, dilations), a table read by several
nodes and from an If branch (one encoded copy), a body's own initializer, weights
that are also graph inputs (IR 3), and tensors left dense (not sparse enough, too
small). Each builder returns (model, feeds, weights that must be encoded); used by
tests/onnx (round trips) and tests/ort (runs in ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from gen_subgraphs import init, vi

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


BUILDERS = {
    "decode_gather_embedding": (gather_embedding, 1),
    "decode_conv_transpose": (conv_transpose, 2),
    "decode_shared_readers": (shared_readers, 2),
    "decode_graph_input_ir3": (graph_input_ir3, 1),
    "decode_left_dense": (left_dense, 1),
}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
