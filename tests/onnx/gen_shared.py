"""Models holding equal weights or values, for `compress --entropy`: a pruned
short-time Fourier basis (window x cos / sin, as spectrogram front ends hold), whose
rows are mirror images and whose values repeat, coded as left halves (4.7) and
whole (docs/format.md 4.5, entropy blob version 4: WHOLE gives how many blobs must
be version 4, MIRRORED how many mirrored), and models whose equal blobs are stored once
(docs/format.md 2.2, shared blobs): the two sample-rate branches of an If holding
one network twice under other names (as voice-activity detectors do), sibling
branches holding an equal weight under one name (shared: equal restore records)
and under one name with another doc_string (not shared: the reader could not tell
their records apart), and two main-graph layers of equal weights. Each builder
returns (model, feeds, weights that must be encoded); SHARED gives the number of
bundle entries that must point at an earlier entry's blob. Used by tests/onnx
(round trips) and tests/ort (runs in ONNX Runtime)."""
import numpy as np
from onnx import helper, numpy_helper

from gen_subgraphs import OPSET, pruned, vi

EXTRA = ["--entropy"]
SHARED = {"shared_branches": 2, "shared_siblings": 1, "shared_main": 1, "stft_basis": 0}
WHOLE = {"shared_branches": 0, "shared_siblings": 0, "shared_main": 0, "stft_basis": 2}
MIRRORED = {"shared_branches": 0, "shared_siblings": 0, "shared_main": 0, "stft_basis": 2}


def stft_basis(rng):
    """Conv1d with a 128-point Hann-windowed DFT basis (65 real and 65 imaginary
    filters, stride 32), each pruned to its 15% largest values by magnitude, then
    power and a mel-like MatMul: melspectrogram.onnx in small."""
    n, bins = 128, 65
    k, t = np.arange(bins)[:, None], np.arange(n)[None, :]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)
    real = (window * np.cos(2 * np.pi * k * t / n)).astype(np.float32)
    imag = (-window * np.sin(2 * np.pi * k * t / n)).astype(np.float32)
    for a, sign in ((real, 1), (imag, -1)):
        a[np.abs(a) < np.sort(np.abs(a).ravel())[-int(0.15 * a.size)]] = 0
        a[:, n // 2 + 1:] = sign * a[:, n // 2 - 1:0:-1]  # exact mirror images, as torch's STFT bases are
    mel = pruned(rng, (bins, 16), 0.2)
    nodes = [helper.make_node("Conv", ["x", "stft.real"], ["re"], strides=[32]),
             helper.make_node("Conv", ["x", "stft.imag"], ["im"], strides=[32]),
             helper.make_node("Mul", ["re", "re"], ["re2"]), helper.make_node("Mul", ["im", "im"], ["im2"]),
             helper.make_node("Add", ["re2", "im2"], ["power"]),
             helper.make_node("Transpose", ["power"], ["frames"], perm=[0, 2, 1]),
             helper.make_node("MatMul", ["frames", "melW"], ["y"])]
    g = helper.make_graph(nodes, "stft", [vi("x", [1, 1, 512])], [vi("y", [1, 13, 16])],
                          [numpy_helper.from_array(real[:, None, :], "stft.real"),
                           numpy_helper.from_array(imag[:, None, :], "stft.imag"),
                           numpy_helper.from_array(mel, "melW")])
    x = rng.standard_normal((1, 1, 512)).astype(np.float32)
    return helper.make_model(g, opset_imports=OPSET), [{"x": x}], 3


def two_rates(rng):
    """An If whose branches run the same two-layer network, weights named per branch
    (model.* and model_8k.*), like silero-vad; a third, different weight in the else
    branch keeps its own blob."""
    w1, w2 = pruned(rng, (32, 16, 3)), pruned(rng, (16, 32, 1))

    def branch(prefix, extra):
        nodes = [helper.make_node("Conv", ["x", prefix + "conv1.weight"], [prefix + "h"], pads=[1, 1]),
                 helper.make_node("Relu", [prefix + "h"], [prefix + "r"]),
                 helper.make_node("Conv", [prefix + "r", prefix + "conv2.weight"], [prefix + "out"])]
        inits = [numpy_helper.from_array(w1, prefix + "conv1.weight"),
                 numpy_helper.from_array(w2, prefix + "conv2.weight")]
        if extra:
            nodes[-1].output[0] = prefix + "o2"
            nodes.append(helper.make_node("Conv", [prefix + "o2", prefix + "conv3.weight"], [prefix + "out"]))
            inits.append(numpy_helper.from_array(pruned(rng, (16, 16, 1)), prefix + "conv3.weight"))
        return helper.make_graph(nodes, prefix + "branch", [], [vi(prefix + "out", [1, 16, 40])], inits)

    nodes = [helper.make_node("If", ["rate16k"], ["y"], then_branch=branch("model.", False),
                              else_branch=branch("model_8k.", True))]
    g = helper.make_graph(nodes, "two_rates", [vi("x", [1, 16, 40]), vi("rate16k", [], 9)], [vi("y", [1, 16, 40])])
    x = rng.standard_normal((1, 16, 40)).astype(np.float32)
    return helper.make_model(g, opset_imports=OPSET), [{"x": x, "rate16k": np.array(v)} for v in (True, False)], 5


def siblings(rng):
    """Both branches of an If name their weight 'w' with equal values: shared. Both
    name a second weight 'v' with equal values but other doc_strings: not shared
    (a reader finds 'v' and 'v#2' by offset, so one blob would restore one record)."""
    w, v = pruned(rng, (24, 24)), pruned(rng, (24, 24))

    def branch(tag):
        wt = numpy_helper.from_array(w, "w")
        vt = numpy_helper.from_array(v, "v")
        vt.doc_string = "branch " + tag
        return helper.make_graph(
            [helper.make_node("Gemm", ["x", "w"], [tag + "h"], transB=1),
             helper.make_node("Gemm", [tag + "h", "v"], [tag + "out"], transB=1)],
            tag, [], [vi(tag + "out", [2, 24])], [wt, vt])

    g = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=branch("t"), else_branch=branch("e"))],
                          "siblings", [vi("x", [2, 24]), vi("c", [], 9)], [vi("y", [2, 24])])
    x = rng.standard_normal((2, 24)).astype(np.float32)
    return helper.make_model(g, opset_imports=OPSET), [{"x": x, "c": np.array(b)} for b in (True, False)], 4


def main_graph(rng):
    """Two MatMul layers of the main graph with equal weights under two names."""
    w = pruned(rng, (40, 40))
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "a.weight"], ["h"]), helper.make_node("Tanh", ["h"], ["t"]),
         helper.make_node("MatMul", ["t", "b.weight"], ["y"])],
        "main", [vi("x", [3, 40])], [vi("y", [3, 40])],
        [numpy_helper.from_array(w, "a.weight"), numpy_helper.from_array(w.copy(), "b.weight")])
    return helper.make_model(g, opset_imports=OPSET), [{"x": rng.standard_normal((3, 40)).astype(np.float32)}], 2


BUILDERS = {"shared_branches": two_rates, "shared_siblings": siblings, "shared_main": main_graph,
            "stft_basis": stft_basis}


def all_models(rng):
    """{name: (model, feeds, weights that must be encoded)}."""
    return {name: build(rng) for name, build in BUILDERS.items()}
