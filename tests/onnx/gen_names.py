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


def paddle_like(rng):
    """A small detector head as paddle2onnx writes one: Conv with every attribute
    spelled out at its default, BatchNormalization (momentum, epsilon 1e-5), hard-swish
    built from Constant scalars that repeat (the same 3, 0, 6 for every block, each
    with its own tensor name), a depthwise and a pointwise Conv. compress --entropy
    writes it slim with a graph entry (docs/format.md part 7)."""
    nodes, inits, prev, k = [], [], "x", 0

    def const(value):
        nonlocal k
        name = "p2o.helper.constant.%d" % k
        k += 1
        t = numpy_helper.from_array(np.array(value, np.float32), name)
        nodes.append(helper.make_node("Constant", [], [name + "_out"], value=t, name="p2o.Constant.%d" % k))
        return name + "_out"

    def conv(i, w_shape, group, pads):
        nonlocal prev
        w = "conv2d_%d.w_0" % i
        inits.append(init(rng, w, w_shape, density=0.1 if w_shape[0] * w_shape[1] * w_shape[2] * w_shape[3] >= 1024
                          else 1.0))
        nodes.append(helper.make_node("Conv", [prev, w], ["conv2d_%d.tmp_0" % i], name="p2o.Conv.%d" % i,
                                      dilations=[1, 1], group=group, kernel_shape=list(w_shape[2:]), pads=pads,
                                      strides=[1, 1]))
        c = w_shape[0]
        bn = ["batch_norm_%d.%s" % (i, s) for s in ("w_0", "b_0", "w_1", "w_2")]
        vals = [rng.uniform(0.5, 1.5, c), rng.standard_normal(c) * 0.1, rng.standard_normal(c) * 0.1,
                rng.uniform(0.5, 2.0, c)]
        inits.extend(numpy_helper.from_array(v.astype(np.float32), n) for n, v in zip(bn, vals))
        nodes.append(helper.make_node("BatchNormalization", ["conv2d_%d.tmp_0" % i] + bn, ["batch_norm_%d.tmp_2" % i],
                                      name="p2o.BatchNormalization.%d" % i, epsilon=1e-5, momentum=0.9))
        prev = "batch_norm_%d.tmp_2" % i
        add = "hardswish_%d.tmp_add" % i
        nodes.append(helper.make_node("Add", [prev, const(3.0)], [add], name="p2o.Add.%d" % i))
        clip = "hardswish_%d.tmp_clip" % i
        nodes.append(helper.make_node("Clip", [add, const(0.0), const(6.0)], [clip], name="p2o.Clip.%d" % i))
        mul = "hardswish_%d.tmp_mul" % i
        nodes.append(helper.make_node("Mul", [prev, clip], [mul], name="p2o.Mul.%d" % i))
        prev = "hardswish_%d.tmp_0" % i
        nodes.append(helper.make_node("Div", [mul, const(6.0)], [prev], name="p2o.Div.%d" % i))

    conv(0, (16, 8, 3, 3), 1, [1, 1, 1, 1])
    conv(1, (16, 1, 3, 3), 16, [1, 1, 1, 1])
    conv(2, (64, 16, 1, 1), 1, [0, 0, 0, 0])
    nodes.append(helper.make_node("Identity", [prev], ["y"], name="p2o.Identity.0"))
    g = helper.make_graph(nodes, "Model from paddle", [vi("x", [1, 8, 12, 12])], [vi("y", [1, 64, 12, 12])], inits)
    feeds = [{"x": rng.standard_normal((1, 8, 12, 12)).astype(np.float32)}]
    m = helper.make_model(g, opset_imports=OPSET, producer_name="PaddlePaddle")
    m.doc_string = "converted by paddle2onnx"
    return m, feeds


BUILDERS = {"names_if_loop_outer": (if_loop_outer, 3), "names_decode": (decode_and_names, 2),
            "names_paddle_like": (paddle_like, 2)}
# Models that must (True) or must not (False) get a graph entry (part 7); others unchecked.
SLIM = {"names_paddle_like": True}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
