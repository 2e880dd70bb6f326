"""8-bit weights (docs/format.md 1.9, 3.1): the shipped pruned LeNets quantized by
scripts/quantize_models.py (weight-only QDQ per channel: symmetric int8, asymmetric
uint8 with non-zero zero points, int8 read through Transpose by MatMul). Each one:
every weight encoded and its DequantizeLinear chain fused into the LSC op (none left
in the graph), decompress gives back the file byte for byte, and ONNX Runtime's
outputs with the plugin equal the dense QDQ model's (ortcheck.RTOL, batch 1 and 3,
1 and 2 threads)."""
import argparse
import os
import shutil
import sys

import numpy as np
import onnx

import ortcheck

HERE = os.path.dirname(os.path.abspath(__file__))
QUANTIZE = os.path.join(HERE, "..", "..", "scripts", "quantize_models.py")
FORMS = ("qdq-int8", "qdq-uint8", "qdq-transpose")


def node_ops(path):
    return [n.op_type for n in onnx.load(path, load_external_data=False).graph.node]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    ortcheck.require_runtime(args.work)
    failures = []
    rng = np.random.default_rng(15)
    for base in ("lenet5_1p4", "lenet300_100"):
        src = os.path.join(args.models, base + ".onnx")
        if not os.path.isfile(src):
            raise ortcheck.Skip("%s missing" % src)
        for form in FORMS:
            name = "%s_%s" % (base, form)
            quantized = os.path.join(args.work, name + ".quantized.onnx")
            r = ortcheck.run([sys.executable, QUANTIZE, src, form, quantized])
            if r.returncode != 0:
                failures.append("%s: quantize_models.py failed: %s" % (name, r.stderr.strip()))
                continue
            m = onnx.load(quantized)
            n_dq = node_ops(quantized).count("DequantizeLinear")
            shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
            feeds = [{m.graph.input[0].name: rng.standard_normal([b] + shape[1:]).astype(np.float32)}
                     for b in (1, 3)]
            # Saves name.onnx, compresses it to name.lsc.onnx, compares in ORT.
            failures += ortcheck.check_models(args.work, {name: (m, feeds, n_dq)})
            path, lsc = os.path.join(args.work, name + ".onnx"), os.path.join(args.work, name + ".lsc.onnx")
            left = node_ops(lsc).count("DequantizeLinear") + node_ops(lsc).count("Transpose")
            if left or len(ortcheck.lsc_ops(lsc)) != n_dq:
                failures.append("%s: %d LSC ops for %d DequantizeLinear, %d chain nodes left" %
                                (name, len(ortcheck.lsc_ops(lsc)), n_dq, left))
            back = os.path.join(args.work, name + ".back.onnx")
            r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", lsc, "-o", back])
            same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
            print("%s %-28s %d DequantizeLinear fused, decompress byte for byte: %s" %
                  ("ok  " if same and not left else "FAIL", name, n_dq, same))
            if not same:
                failures.append("%s: decompress differs (%s)" % (name, r.stderr.strip()))
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
