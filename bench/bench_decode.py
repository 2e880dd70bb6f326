#!/usr/bin/python3
"""Per-run cost of the ops that serve a dense weight (docs/format.md 3.1): a pruned
embedding table read by Gather alone (LscGather) and by Gather + Mul (LscDecode),
and a ConvTranspose decoder (LscDecode), dense model (ORT's kernels) against its
rewrite (our plugin). Models are generated into the work folder, not committed.

usage: bench_decode.py --build BUILD --work DIR [--runs N]"""
import argparse
import json
import os
import subprocess

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

V, D, DENSITY = 30000, 256, 0.1


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def pruned(rng, shape):
    return (rng.standard_normal(shape) * (rng.random(shape) < DENSITY)).astype(np.float32)


def models(rng):
    table = numpy_helper.from_array(pruned(rng, (V, D)), "emb")
    ids = vi("ids", [8, 16], TensorProto.INT64)
    gather = helper.make_graph([helper.make_node("Gather", ["emb", "ids"], ["y"])], "g", [ids],
                               [vi("y", [8, 16, D])], [table])
    # Mul by a run-time scalar: computed at each run in both models (a constant
    # expression would be folded by ORT in the dense one), so the difference is the
    # copy LscDecode makes.
    both = helper.make_graph([helper.make_node("Gather", ["emb", "ids"], ["y"]),
                              helper.make_node("Mul", ["emb", "a"], ["s"])], "gs", [ids, vi("a", [1])],
                             [vi("y", [8, 16, D]), vi("s", [V, D])], [table])
    up = helper.make_graph([helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])],
                           "ct", [vi("x", [1, 256, 16, 16])], [vi("y", [1, 128, 31, 31])],
                           [numpy_helper.from_array(pruned(rng, (256, 128, 3, 3)), "w")])
    feeds = {"ids": rng.integers(0, V, (8, 16)).astype(np.int64), "a": np.array([0.5], np.float32),
             "x": rng.standard_normal((1, 256, 16, 16)).astype(np.float32)}
    return {"gather_30000x256": (gather, ["ids"]), "gather_and_scale_30000x256": (both, ["ids", "a"]),
            "conv_transpose_256x128x3x3": (up, ["x"])}, feeds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--runs", type=int, default=51)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    tool = os.path.join(a.build, "src/cli/onnx-lsc")
    run = os.path.join(a.build, "tests/ort/lsc-ort-run")
    plugin = os.path.join(a.build, "src/ort/libonnx_lsc_ort.so")
    rng = np.random.default_rng(5)
    graphs, feeds = models(rng)
    print("| model | LSC op | dense ms | LSC ms | dense peak MB | LSC peak MB | dense file MB | LSC files MB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, (g, inputs) in graphs.items():
        path = os.path.join(a.work, name + ".onnx")
        lsc = os.path.join(a.work, name + ".lsc.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        subprocess.run([tool, "compress", path, "-o", lsc, "-f", "-q"], check=True)
        args = []
        for k in inputs:
            np.save(os.path.join(a.work, k + ".npy"), feeds[k])
            args += ["--input", "%s=%s" % (k, os.path.join(a.work, k + ".npy"))]
        res = {}
        for variant, model, extra in (("dense", path, ["--no-plugin"]), ("lsc", lsc, ["--plugin", plugin])):
            out = subprocess.run([run, model, "--bench", str(a.runs), "--warmup", "3", "--threads", "1"] + extra + args,
                                 check=True, capture_output=True, text=True).stdout
            res[variant] = json.loads(out.strip().splitlines()[-1])
        m = onnx.load(lsc, load_external_data=False)
        ops = sorted({n.op_type for n in m.graph.node if n.domain == "ai.onnx_lsc"})
        size = os.path.getsize(lsc) + os.path.getsize(lsc[: -len(".onnx")])
        print("| %s | %s | %.4f | %.4f | %.1f | %.1f | %.2f | %.2f |" % (
            name, ",".join(ops), res["dense"]["median_ms"], res["lsc"]["median_ms"],
            res["dense"]["session_peak_bytes"] / 1e6, res["lsc"]["session_peak_bytes"] / 1e6,
            os.path.getsize(path) / 1e6, size / 1e6))


if __name__ == "__main__":
    main()
