"""Models whose Conv / Gemm / MatMul feed a Relu, Clip or LeakyRelu, which compress
folds into the LSC op (docs/format.md 3.1, "Decision (folded activation)"), and the
cases where it must not: the op's output is also a graph output, has a second
reader, or is read from inside an If branch (outer scope); Clip bounds that are not
constants. Each builder returns (model, feeds); FOLDED says how many activations
compress must fold. Used by tests/onnx (round trips, byte for byte with --bit-exact)
and tests/ort (dense vs rewritten in ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper


def pruned(rng, shape, density=0.15):
    w = rng.standard_normal(shape).astype(np.float32)
    return w * (rng.random(shape) < density).astype(np.float32)  # mask: -0.0 appear


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, value):
    return numpy_helper.from_array(np.array(value, np.float32), name)


def model(nodes, inputs, outputs, inits, opset=13, value_info=()):
    g = helper.make_graph(nodes, "act", inputs, outputs, inits, value_info=list(value_info))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def feed(rng, **shapes):
    return [{k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}]


def gemm_act(rng, act_nodes, opset=13, extra_inits=(), n_out=24):
    """x -> Gemm (transB=1, bias) -> act_nodes (reading 'g', writing 'y')."""
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["g"], transB=1, name="fc")] + act_nodes
    inits = [numpy_helper.from_array(pruned(rng, (n_out, 64)), "w"),
             numpy_helper.from_array(rng.standard_normal(n_out).astype(np.float32), "b"), *extra_inits]
    return model(nodes, [vi("x", [3, 64])], [vi("y", [3, n_out])], inits, opset), feed(rng, x=(3, 64))


def gemm_relu(rng):
    """Gemm + Relu with the intermediate tensor's value_info, which stays for decompress."""
    m, f = gemm_act(rng, [helper.make_node("Relu", ["g"], ["y"], name="relu")])
    m.graph.value_info.append(vi("g", [3, 24]))
    return m, f


def gemm_leaky(rng):
    return gemm_act(rng, [helper.make_node("LeakyRelu", ["g"], ["y"], alpha=0.2, name="leaky")])


def gemm_leaky_default(rng):
    return gemm_act(rng, [helper.make_node("LeakyRelu", ["g"], ["y"])])


def clip6_attrs(rng):
    """Clip-6: bounds as attributes (opset 10 model)."""
    return gemm_act(rng, [helper.make_node("Clip", ["g"], ["y"], min=-0.5, max=0.75, name="clip")], opset=10)


def clip6_max_only(rng):
    return gemm_act(rng, [helper.make_node("Clip", ["g"], ["y"], max=0.25)], opset=10)


def clip11_inputs(rng):
    """Clip-11+: bounds as initializer inputs."""
    return gemm_act(rng, [helper.make_node("Clip", ["g", "lo", "hi"], ["y"], name="clip")],
                    extra_inits=[const("lo", -0.3), const("hi", 0.4)])


def clip11_min_only(rng):
    return gemm_act(rng, [helper.make_node("Clip", ["g", "lo"], ["y"])], extra_inits=[const("lo", 0.1)])


def clip11_max_constant_node(rng):
    """Max from a Constant node, min absent (empty name)."""
    return gemm_act(rng, [helper.make_node("Constant", [], ["hi"], value=const("hi_v", 0.2)),
                          helper.make_node("Clip", ["g", "", "hi"], ["y"])])


def clip11_none(rng):
    return gemm_act(rng, [helper.make_node("Clip", ["g"], ["y"])])


def clip_bound_is_input(rng):
    """A bound fed at run time is no constant: not folded."""
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1),
             helper.make_node("Clip", ["g", "lo"], ["y"])]
    m = model(nodes, [vi("x", [3, 64]), vi("lo", [])], [vi("y", [3, 24])],
              [numpy_helper.from_array(pruned(rng, (24, 64)), "w")])
    f = feed(rng, x=(3, 64))
    f[0]["lo"] = np.array(-0.1, np.float32)
    return m, f


def conv_relu(rng):
    """Conv (stride 1: direct path) with bias + Relu, then Conv (stride 2: patch path)
    without bias + LeakyRelu, then a pointwise Conv on a batch + Clip; batch 2. The
    Clip bounds are wide: outputs agree relative to their scale, and the rounding of
    the sums is that of the values before the Clip."""
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[2, 2], name="conv2"),
             helper.make_node("LeakyRelu", ["c2"], ["r2"], alpha=0.1, name="leaky2"),
             helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], name="conv3"),
             helper.make_node("Clip", ["c3", "lo", "hi"], ["y"], name="clip3")]
    inits = [numpy_helper.from_array(pruned(rng, (16, 8, 3, 3)), "w1"),
             numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b1"),
             numpy_helper.from_array(pruned(rng, (32, 16, 3, 3)), "w2"),
             numpy_helper.from_array(pruned(rng, (8, 32, 1, 1), 0.3), "w3"),
             numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b3"),
             const("lo", -2.0), const("hi", 3.0)]
    return (model(nodes, [vi("x", [2, 8, 12, 12])], [vi("y", [2, 8, 5, 5])], inits),
            feed(rng, x=(2, 8, 12, 12)))


def conv_single_image(rng):
    """Pointwise Convs on one image (output written in place, then bias and
    activation per channel): without bias + Relu, with bias + LeakyRelu."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="pw1"),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="pw2"),
             helper.make_node("LeakyRelu", ["c2"], ["y"], alpha=0.05)]
    inits = [numpy_helper.from_array(pruned(rng, (32, 16, 1, 1), 0.3), "w1"),
             numpy_helper.from_array(pruned(rng, (16, 32, 1, 1), 0.3), "w2"),
             numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b2")]
    return model(nodes, [vi("x", [1, 16, 9, 9])], [vi("y", [1, 16, 9, 9])], inits), feed(rng, x=(1, 16, 9, 9))


def matmul_relu(rng):
    """MatMul (LscMatMul) + Relu; MatMul with a constant A (LscMatMulLeft) + LeakyRelu."""
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
             helper.make_node("Relu", ["m"], ["r"]),
             helper.make_node("MatMul", ["wl", "r"], ["l"], name="mm_left"),
             helper.make_node("LeakyRelu", ["l"], ["y"], alpha=0.3)]
    inits = [numpy_helper.from_array(pruned(rng, (64, 32)), "w"), numpy_helper.from_array(pruned(rng, (16, 48)), "wl")]
    return model(nodes, [vi("x", [48, 64])], [vi("y", [16, 32])], inits), feed(rng, x=(48, 64))


def output_also_graph_output(rng):
    """The Gemm's output is a graph output too: the Relu stays."""
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1), helper.make_node("Relu", ["g"], ["y"])]
    m = model(nodes, [vi("x", [3, 64])], [vi("y", [3, 24]), vi("g", [3, 24])],
              [numpy_helper.from_array(pruned(rng, (24, 64)), "w")])
    return m, feed(rng, x=(3, 64))


def two_readers(rng):
    """The Gemm's output feeds the Relu and an Add: the Relu stays."""
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1), helper.make_node("Relu", ["g"], ["r"]),
             helper.make_node("Add", ["r", "g"], ["y"])]
    m = model(nodes, [vi("x", [3, 64])], [vi("y", [3, 24])], [numpy_helper.from_array(pruned(rng, (24, 64)), "w")])
    return m, feed(rng, x=(3, 64))


def in_if_branch(rng):
    """Inside an If: the then branch's Gemm + Clip (bounds from the main graph) folds;
    the main graph's Gemm output is read by a Relu and from inside the else branch
    (outer scope): that Relu stays."""
    then_g = helper.make_graph(
        [helper.make_node("Gemm", ["r0", "wt"], ["t1"], transB=1, name="then_fc"),
         helper.make_node("Clip", ["t1", "lo", "hi"], ["t_out"], name="then_clip")],
        "then", [], [vi("t_out", [1, 16])], [numpy_helper.from_array(pruned(rng, (16, 32)), "wt")])
    else_g = helper.make_graph(
        [helper.make_node("Gemm", ["g0", "we"], ["e1"], transB=1, name="else_fc")],
        "else", [], [vi("e1", [1, 16])], [numpy_helper.from_array(pruned(rng, (16, 32)), "we")])
    nodes = [helper.make_node("Gemm", ["x", "w0"], ["g0"], transB=1, name="fc0"),
             helper.make_node("Relu", ["g0"], ["r0"], name="relu0"),
             helper.make_node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g, name="if")]
    m = model(nodes, [vi("x", [1, 64]), vi("cond", [], TensorProto.BOOL)], [vi("y", [1, 16])],
              [numpy_helper.from_array(pruned(rng, (32, 64)), "w0"), const("lo", -0.1), const("hi", 0.2)])
    x = rng.standard_normal((1, 64)).astype(np.float32)
    return m, [{"x": x, "cond": np.array(v)} for v in (True, False)]


def quantized_relu(rng):
    """An 8-bit weight through DequantizeLinear (fused into the op) and a Relu after."""
    w = pruned(rng, (16, 24), 0.2)
    zp = np.arange(100, 116, dtype=np.uint8)
    q = np.where(w != 0, np.clip(np.round(w * 20) + zp[:, None], 0, 255), zp[:, None]).astype(np.uint8)
    inits = [numpy_helper.from_array(q, "q"), numpy_helper.from_array(np.full(16, 0.05, np.float32), "s"),
             numpy_helper.from_array(zp, "z")]
    nodes = [helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=0, name="dq"),
             helper.make_node("Gemm", ["x", "w"], ["g"], transB=1, name="fc"),
             helper.make_node("Relu", ["g"], ["y"], name="relu")]
    return model(nodes, [vi("x", [2, 24])], [vi("y", [2, 16])], inits), feed(rng, x=(2, 24))


def dynamic_chain_relu(rng):
    """quantize_dynamic's chain (fused into LscDynamicQuantMatMul) and a Relu after."""
    b = np.clip(np.round(pruned(rng, (24, 16), 0.2) * 40), -63, 63).astype(np.int8)
    inits = [numpy_helper.from_array(b, "B"), numpy_helper.from_array(np.full(16, 0.01, np.float32), "ws"),
             numpy_helper.from_array(np.zeros(16, np.int8), "bz"),
             numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b")]
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
             helper.make_node("MatMulInteger", ["xq", "B", "xz", "bz"], ["i"], name="fc"),
             helper.make_node("Cast", ["i"], ["f"], to=TensorProto.FLOAT, name="cast"),
             helper.make_node("Mul", ["xs", "ws"], ["s"], name="scales"),
             helper.make_node("Mul", ["f", "s"], ["m"], name="mul"), helper.make_node("Add", ["m", "b"], ["g"]),
             helper.make_node("Relu", ["g"], ["y"], name="relu")]
    return model(nodes, [vi("x", [2, 24])], [vi("y", [2, 16])], inits), feed(rng, x=(2, 24))


def qlinear_chain_relu(rng):
    """QuantizeLinear -> QLinearMatMul -> DequantizeLinear -> Add (fused into
    LscQLinearMatMulFloat) and a Relu after."""
    zp = np.full(16, 128, np.uint8)
    b = np.where(pruned(rng, (24, 16), 0.2) != 0, rng.integers(0, 256, (24, 16)), 128).astype(np.uint8)
    consts = {"B": b, "bs": np.full(16, 0.01, np.float32), "bz": zp, "as": np.array(0.0625, np.float32),
              "az": np.array(128, np.uint8), "ys": np.array(0.25, np.float32), "yz": np.array(128, np.uint8),
              "b": rng.standard_normal(16).astype(np.float32)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "as", "az"], ["a"], name="q"),
             helper.make_node("QLinearMatMul", ["a", "as", "az", "B", "bs", "bz", "ys", "yz"], ["yq"], name="fc"),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["m"], name="dq"),
             helper.make_node("Add", ["m", "b"], ["g"], name="add"), helper.make_node("Relu", ["g"], ["y"], name="relu")]
    return (model(nodes, [vi("x", [2, 24])], [vi("y", [2, 16])],
                  [numpy_helper.from_array(v, k) for k, v in consts.items()]), feed(rng, x=(2, 24)))


# name: (builder, weights that must be encoded, activations that must be folded)
BUILDERS = {
    "act_gemm_relu": (gemm_relu, 1, 1),
    "act_gemm_leaky": (gemm_leaky, 1, 1),
    "act_gemm_leaky_default": (gemm_leaky_default, 1, 1),
    "act_clip6_attrs": (clip6_attrs, 1, 1),
    "act_clip6_max_only": (clip6_max_only, 1, 1),
    "act_clip11_inputs": (clip11_inputs, 1, 1),
    "act_clip11_min_only": (clip11_min_only, 1, 1),
    "act_clip11_max_constant_node": (clip11_max_constant_node, 1, 1),
    "act_clip11_none": (clip11_none, 1, 1),
    "act_clip_bound_is_input": (clip_bound_is_input, 1, 0),
    "act_conv": (conv_relu, 3, 3),
    "act_conv_single_image": (conv_single_image, 2, 2),
    "act_matmul": (matmul_relu, 2, 2),
    "act_output_also_graph_output": (output_also_graph_output, 1, 0),
    "act_two_readers": (two_readers, 1, 0),
    "act_in_if_branch": (in_if_branch, 3, 1),
    "act_quantized_relu": (quantized_relu, 1, 1),
    "act_dynamic_chain_relu": (dynamic_chain_relu, 1, 1),
    "act_qlinear_chain_relu": (qlinear_chain_relu, 1, 1),
}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n, _) in BUILDERS.items()}


def folded(name):
    return BUILDERS[name][2]
