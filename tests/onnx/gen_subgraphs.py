"""Models whose weights sit inside If / Loop / Scan bodies, the way exporters write
voice-activity detectors (Conv branches per sample rate), wake-word classifiers
(Gemm branches on main-graph weights) and RNN-like scans. Each builder returns
(model, feeds), feeds being lists of {input: array} that together take every
branch; used by tests/onnx (round trips) and tests/ort (runs in ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 13)]


def pruned(rng, shape, density=0.1):
    w = rng.standard_normal(shape).astype(np.float32)
    return w * (rng.random(shape) < density).astype(np.float32)  # mask: -0.0 appear


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def init(rng, name, shape, density=0.1):
    return numpy_helper.from_array(pruned(rng, shape, density), name)


def if_conv_branches(rng):
    """Conv weights only inside the two branches of an If; both branches name their
    weight 'conv.weight' (sibling scopes); the else branch holds a second weight in
    a Constant node; a main-graph Gemm after the If."""
    then_g = helper.make_graph(
        [helper.make_node("Conv", ["x", "conv.weight"], ["t1"], pads=[1, 1], name="then_conv"),
         helper.make_node("Relu", ["t1"], ["t_out"])],
        "then", [], [vi("t_out", [1, 16, 32])], [init(rng, "conv.weight", (16, 8, 3))])
    k = numpy_helper.from_array(pruned(rng, (16, 16, 1)), "kvalue")
    else_g = helper.make_graph(
        [helper.make_node("Conv", ["x", "conv.weight"], ["e1"], pads=[2, 2], name="else_conv"),
         helper.make_node("Constant", [], ["k_const"], value=k),
         helper.make_node("Conv", ["e1", "k_const"], ["e_out"], name="else_conv2")],
        "else", [], [vi("e_out", [1, 16, 32])], [init(rng, "conv.weight", (16, 8, 5))])
    nodes = [helper.make_node("If", ["use_a"], ["h"], then_branch=then_g, else_branch=else_g, name="if"),
             helper.make_node("Flatten", ["h"], ["f"]),
             helper.make_node("Gemm", ["f", "fc.weight"], ["y"], transB=1, name="fc")]
    g = helper.make_graph(nodes, "vad_like", [vi("x", [1, 8, 32]), vi("use_a", [], TensorProto.BOOL)],
                          [vi("y", [1, 10])], [init(rng, "fc.weight", (10, 512))])
    x = rng.standard_normal((1, 8, 32)).astype(np.float32)
    return helper.make_model(g, opset_imports=OPSET), [{"x": x, "use_a": np.array(v)} for v in (True, False)]


def loop_in_if_outer(rng):
    """A Loop nested in an If branch whose body's Gemm reads a main-graph initializer
    two scopes up; the other branch and the main graph share another weight."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]),
         helper.make_node("Gemm", ["v_in", "loop.weight"], ["g"], transB=1, name="loop_gemm"),
         helper.make_node("Tanh", ["g"], ["v_out"])],
        "body", [vi("i", [], TensorProto.INT64), vi("c_in", [], TensorProto.BOOL), vi("v_in", [1, 64])],
        [vi("c_out", [], TensorProto.BOOL), vi("v_out", [1, 64])])
    then_g = helper.make_graph([helper.make_node("Loop", ["n", "", "x"], ["t_out"], body=body, name="loop")],
                               "then", [], [vi("t_out", [1, 64])])
    else_g = helper.make_graph([helper.make_node("MatMul", ["x", "shared.weight"], ["e_out"], name="else_mm")],
                               "else", [], [vi("e_out", [1, 64])])
    nodes = [helper.make_node("If", ["loop_it"], ["h"], then_branch=then_g, else_branch=else_g, name="if"),
             helper.make_node("MatMul", ["h", "shared.weight"], ["y"], name="main_mm")]
    g = helper.make_graph(nodes, "wakeword_like",
                          [vi("x", [1, 64]), vi("loop_it", [], TensorProto.BOOL), vi("n", [], TensorProto.INT64)],
                          [vi("y", [1, 64])],
                          [init(rng, "loop.weight", (64, 64)), init(rng, "shared.weight", (64, 64))])
    x = rng.standard_normal((1, 64)).astype(np.float32)
    feeds = [{"x": x, "loop_it": np.array(v), "n": np.array(3, np.int64)} for v in (True, False)]
    return helper.make_model(g, opset_imports=OPSET), feeds


def scan_rnn(rng):
    """An RNN cell as a Scan body: s = Tanh(s R + x_t Wx), weights body initializers."""
    body = helper.make_graph(
        [helper.make_node("MatMul", ["s_in", "rnn.R"], ["a"], name="rec"),
         helper.make_node("MatMul", ["x_t", "rnn.W"], ["b"], name="inp"),
         helper.make_node("Add", ["a", "b"], ["c"]),
         helper.make_node("Tanh", ["c"], ["s_out"]),
         helper.make_node("Identity", ["s_out"], ["y_t"])],
        "cell", [vi("s_in", [1, 48]), vi("x_t", [1, 40])], [vi("s_out", [1, 48]), vi("y_t", [1, 48])],
        [init(rng, "rnn.R", (48, 48)), init(rng, "rnn.W", (40, 48))])
    scan = helper.make_node("Scan", ["s0", "xs"], ["s_last", "ys"], body=body, num_scan_inputs=1, name="scan")
    g = helper.make_graph([scan], "rnn_like", [vi("s0", [1, 48]), vi("xs", [5, 1, 40])],
                          [vi("s_last", [1, 48]), vi("ys", [5, 1, 48])])
    feeds = [{"s0": np.zeros((1, 48), np.float32), "xs": rng.standard_normal((5, 1, 40)).astype(np.float32)}]
    return helper.make_model(g, opset_imports=OPSET), feeds


def outer_plain_use(rng):
    """A main-graph weight that an If branch reads as a plain tensor (Add): no LSC
    kernel for that reader, so LscDecode restores it for all of its readers; the
    branch's own MatMul weight is encoded for LscMatMul."""
    then_g = helper.make_graph([helper.make_node("Add", ["w_main", "w_main"], ["t_out"])], "then", [],
                               [vi("t_out", [32, 32])])
    else_g = helper.make_graph([helper.make_node("MatMul", ["w_main", "w_else"], ["e_out"])], "else", [],
                               [vi("e_out", [32, 32])], [init(rng, "w_else", (32, 32))])
    nodes = [helper.make_node("If", ["c"], ["h"], then_branch=then_g, else_branch=else_g),
             helper.make_node("MatMul", ["x", "w_main"], ["y1"]),
             helper.make_node("MatMul", ["y1", "h"], ["y"])]
    g = helper.make_graph(nodes, "plain_use", [vi("x", [1, 32]), vi("c", [], TensorProto.BOOL)], [vi("y", [1, 32])],
                          [init(rng, "w_main", (32, 32))])
    x = rng.standard_normal((1, 32)).astype(np.float32)
    return helper.make_model(g, opset_imports=OPSET), [{"x": x, "c": np.array(v)} for v in (True, False)]


def graph_inputs(rng, ir):
    """Every initializer also a graph input (keep_initializers_as_inputs, IR 3 rules),
    the weights interleaved with a bias and the real input."""
    nodes = [helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "fc2.weight"], ["y"])]
    inits = [init(rng, "fc1.weight", (64, 96)), numpy_helper.from_array(np.ones(64, np.float32), "fc1.bias"),
             init(rng, "fc2.weight", (64, 16))]
    inputs = [vi("fc1.weight", [64, 96]), vi("x", [2, 96]), vi("fc1.bias", [64]), vi("fc2.weight", [64, 16])]
    g = helper.make_graph(nodes, "inputs", inputs, [vi("y", [2, 16])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 9 if ir < 4 else 11)])
    m.ir_version = ir
    return m, [{"x": rng.standard_normal((2, 96)).astype(np.float32)}]


BUILDERS = {"if_conv_branches": (if_conv_branches, 4), "loop_in_if_outer": (loop_in_if_outer, 2),
            "scan_rnn": (scan_rnn, 2), "outer_plain_use": (outer_plain_use, 2),
            "graph_inputs_ir3": (lambda r: graph_inputs(r, 3), 2),
            "graph_inputs_ir4": (lambda r: graph_inputs(r, 4), 2)}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
