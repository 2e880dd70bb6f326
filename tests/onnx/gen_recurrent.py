"""LSTM / GRU / RNN models with pruned W and R, the way exporters write speech and
voice-activity models: every direction, sequence_lens, initial states, peepholes,
clip, input_forget, linear_before_reset, optional outputs left out, a W/R that does
not pay (dense beside an encoded one), non-default activations (their W and R restored by LscDecode), and an
LSTM inside If branches. Each builder returns (model, feeds, weights that must be
encoded); used by tests/onnx (round trips) and tests/ort (runs in ONNX Runtime)."""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 14)]
T, B, I, H = 6, 3, 40, 32
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def pruned(rng, shape, density):
    w = rng.standard_normal(shape).astype(np.float32) * 0.5
    return w * (rng.random(shape) < density).astype(np.float32)  # mask: -0.0 appear


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def recurrent(rng, op, direction="forward", lens=None, states=True, peepholes=False, outputs=("Y", "Y_h", "Y_c"),
              w_density=0.2, r_density=0.2, **attrs):
    """One op over X [T, B, I]; lens: sequence_lens values or None."""
    d = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    inits = [numpy_helper.from_array(pruned(rng, (d, g * H, I), w_density), "W"),
             numpy_helper.from_array(pruned(rng, (d, g * H, H), r_density), "R"),
             numpy_helper.from_array(rng.standard_normal((d, 2 * g * H)).astype(np.float32) * 0.1, "B")]
    inputs = [vi("X", [T, B, I])]
    names = ["X", "W", "R", "B", "", "", ""]
    feed = {"X": rng.standard_normal((T, B, I)).astype(np.float32)}
    if lens is not None:
        inputs.append(vi("seq", [B], TensorProto.INT32))
        names[4] = "seq"
        feed["seq"] = np.array(lens, np.int32)
    if states:
        inputs.append(vi("h0", [d, B, H]))
        names[5] = "h0"
        feed["h0"] = rng.standard_normal((d, B, H)).astype(np.float32) * 0.3
        if op == "LSTM":
            inputs.append(vi("c0", [d, B, H]))
            names[6] = "c0"
            feed["c0"] = rng.standard_normal((d, B, H)).astype(np.float32) * 0.3
    if peepholes:
        inits.append(numpy_helper.from_array(rng.standard_normal((d, 3 * H)).astype(np.float32) * 0.2, "P"))
        names += ["P"]
    if op != "LSTM":
        names = names[:6]
    while names and not names[-1]:
        names.pop()
    outs = [o if o in outputs else "" for o in (("Y", "Y_h", "Y_c") if op == "LSTM" else ("Y", "Y_h"))]
    while not outs[-1]:
        outs.pop()
    shapes = {"Y": [T, d, B, H], "Y_h": [d, B, H], "Y_c": [d, B, H]}
    node = helper.make_node(op, names, outs, hidden_size=H, direction=direction, name=op.lower(), **attrs)
    graph = helper.make_graph([node], op.lower(), inputs, [vi(o, shapes[o]) for o in outs if o], inits)
    return helper.make_model(graph, opset_imports=OPSET), [feed]


def lstm_in_if(rng):
    """A voice-activity detector's shape: one LSTM per sample rate, each inside an If
    branch with its own W and R of the same names, the state carried in and out."""
    def branch(tag):
        nodes = [helper.make_node("LSTM", ["X", "lstm.W", "lstm.R", "lstm.B", "", "h0", "c0"], ["", "hn_" + tag, "cn_" + tag],
                                  hidden_size=H, name="lstm_" + tag)]
        inits = [numpy_helper.from_array(pruned(rng, (1, 4 * H, I), 0.1), "lstm.W"),
                 numpy_helper.from_array(pruned(rng, (1, 4 * H, H), 0.1), "lstm.R"),
                 numpy_helper.from_array(rng.standard_normal((1, 8 * H)).astype(np.float32) * 0.1, "lstm.B")]
        return helper.make_graph(nodes, tag, [], [vi("hn_" + tag, [1, B, H]), vi("cn_" + tag, [1, B, H])], inits)
    node = helper.make_node("If", ["c"], ["hn", "cn"], then_branch=branch("a"), else_branch=branch("b"))
    g = helper.make_graph([node], "vad_lstm", [vi("X", [T, B, I]), vi("h0", [1, B, H]), vi("c0", [1, B, H]),
                                               vi("c", [], TensorProto.BOOL)],
                          [vi("hn", [1, B, H]), vi("cn", [1, B, H])])
    base = {"X": rng.standard_normal((T, B, I)).astype(np.float32),
            "h0": rng.standard_normal((1, B, H)).astype(np.float32) * 0.3,
            "c0": rng.standard_normal((1, B, H)).astype(np.float32) * 0.3}
    return helper.make_model(g, opset_imports=OPSET), [dict(base, c=np.array(v)) for v in (True, False)]


BUILDERS = {
    "lstm_forward": (lambda r: recurrent(r, "LSTM", lens=[6, 4, 1]), 2),
    "lstm_reverse_forget": (lambda r: recurrent(r, "LSTM", "reverse", lens=[2, 6, 5], input_forget=1), 2),
    "lstm_bidir_peep_clip": (lambda r: recurrent(r, "LSTM", "bidirectional", lens=[5, 6, 3], peepholes=True,
                                                 clip=1.5), 2),
    "lstm_h_only_no_states": (lambda r: recurrent(r, "LSTM", "bidirectional", states=False, outputs=("Y_h",)), 2),
    "lstm_dense_r": (lambda r: recurrent(r, "LSTM", r_density=1.0), 1),
    "gru_forward": (lambda r: recurrent(r, "GRU", lens=[6, 1, 4]), 2),
    "gru_bidir_lbr_clip": (lambda r: recurrent(r, "GRU", "bidirectional", lens=[3, 6, 2], linear_before_reset=1,
                                               clip=2.0), 2),
    "gru_reverse": (lambda r: recurrent(r, "GRU", "reverse", lens=[6, 2, 5]), 2),
    "rnn_bidir": (lambda r: recurrent(r, "RNN", "bidirectional", lens=[4, 6, 1]), 2),
    "rnn_reverse_clip": (lambda r: recurrent(r, "RNN", "reverse", clip=0.8), 2),
    "lstm_default_activations": (lambda r: recurrent(r, "LSTM", activations=["sigmoid", "tanh", "tanh"]), 2),
    "lstm_other_activations": (lambda r: recurrent(r, "LSTM", activations=["Sigmoid", "Relu", "Tanh"]), 2),  # LscDecode
    "lstm_in_if": (lstm_in_if, 4),
}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: (*build(rng), n) for name, (build, n) in BUILDERS.items()}
