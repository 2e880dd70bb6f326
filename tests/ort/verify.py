"""`onnx-lsc verify`: passes a good compression (default and --bit-exact) and every
shipped model (--models), fails with exit 1 on a compressed model of other weights,
on a tampered compressed graph whose outputs differ, and on a bundle whose outputs
agree but whose weights do not decompress exactly; reports usage, runtime and bundle
problems with their exit codes (docs/cli.md), never a crash."""
import argparse
import glob
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import ortcheck


def make_model(path, seed):
    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((16, 3, 3, 3)).astype(np.float32) * (rng.random((16, 3, 3, 3)) < 0.3)
    w2 = rng.standard_normal((10, 16 * 36)).astype(np.float32) * (rng.random((10, 576)) < 0.1)
    nodes = [helper.make_node("Conv", ["x", "W1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"]),
             helper.make_node("Gemm", ["f", "W2"], ["logits"], transB=1),
             helper.make_node("ArgMax", ["logits"], ["label"], axis=1)]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 6, 6])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10]),
                           helper.make_tensor_value_info("label", TensorProto.INT64, ["N", 1])],
                          [numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def verify(*args):
    return ortcheck.run([ortcheck.ONNX_LSC, "verify", *args])


def nudge_one_weight(src, dst):
    """src with one non-zero of W2 moved by one ulp: outputs agree within 1e-5, bytes do not."""
    m = onnx.load(src)
    for i, t in enumerate(m.graph.initializer):
        if t.name == "W2":
            a = numpy_helper.to_array(t).copy()
            k = np.flatnonzero(a)[0]
            a.flat[k] = np.nextafter(a.flat[k], np.float32(np.inf))
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, "W2"))
    onnx.save(m, dst)


def tamper_graph(src_dir, name, dst_dir):
    """The compressed model of src_dir with LscGemm's alpha set to 1.001 (the bundle untouched)."""
    m = onnx.load(os.path.join(src_dir, name), load_external_data=False)
    node = next(n for n in m.graph.node if n.op_type == "LscGemm")
    for a in list(node.attribute):
        if a.name == "alpha":
            node.attribute.remove(a)
    node.attribute.append(helper.make_attribute("alpha", 1.001))
    os.makedirs(dst_dir)
    onnx.save(m, os.path.join(dst_dir, name))
    for f in os.listdir(src_dir):
        if f.endswith(".lsc"):
            shutil.copy(os.path.join(src_dir, f), dst_dir)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", help="folder of shipped models: each must verify")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    ortcheck.require_runtime(args.work)
    w = lambda *p: os.path.join(args.work, *p)
    make_model(w("a.onnx"), 1)
    make_model(w("b.onnx"), 2)
    ortcheck.compress(w("a.onnx"), w("a.lsc.onnx"))
    os.makedirs(w("exact"))
    ortcheck.compress(w("a.onnx"), w("exact", "a.lsc.onnx"), ["--bit-exact"])
    os.makedirs(w("entropy"))
    ortcheck.compress(w("a.onnx"), w("entropy", "a.lsc.onnx"), ["--bit-exact", "--entropy"])
    failures = []

    def expect(label, r, code, check=None):
        ok = r.returncode == code and (check is None or check(r))
        print("%s %-40s exit %d%s" % ("ok  " if ok else "FAIL", label, r.returncode,
                                      "" if ok else ": " + (r.stdout + r.stderr).strip()[-400:]))
        if not ok:
            failures.append(label)

    def report(r):
        return json.loads(r.stdout)

    r = verify(w("a.onnx"), w("a.lsc.onnx"), "--json", "--dim", "N=5")
    expect("good model", r, 0, lambda r: report(r)["ok"] and not report(r)["decompress"]["exact"]
           and report(r)["decompress"]["signed_zeros"] > 0 and report(r)["outputs"][0]["shape"] == "[5,10]"
           and report(r)["outputs"][1]["max_abs"] == 0)
    expect("good model, text, 2 threads", verify(w("a.onnx"), w("a.lsc.onnx"), "--threads", "2"), 0,
           lambda r: "verdict: ok" in r.stdout)
    expect("bit-exact model restores byte for byte", verify(w("a.onnx"), w("exact", "a.lsc.onnx"), "--json"), 0,
           lambda r: report(r)["decompress"]["exact"])
    expect("entropy-tier bit-exact model: outputs equal, restores byte for byte",
           verify(w("a.onnx"), w("entropy", "a.lsc.onnx"), "--json"), 0,
           lambda r: report(r)["ok"] and report(r)["outputs"][1]["max_abs"] == 0 and report(r)["decompress"]["exact"])
    r = verify(w("b.onnx"), w("a.lsc.onnx"), "--json")
    expect("other weights fail", r, 1, lambda r: not report(r)["ok"] and not report(r)["decompress"]["ok"]
           and not report(r)["outputs"][0]["ok"])
    expect("other weights, outputs only", verify(w("b.onnx"), w("a.lsc.onnx"), "--no-decompress"), 1,
           lambda r: "OUTSIDE TOLERANCE" in r.stdout)
    expect("usage: one model", verify(w("a.onnx")), 2)
    expect("usage: bad --dim", verify(w("a.onnx"), w("a.lsc.onnx"), "--dim", "N"), 2)
    expect("usage: bad --rtol", verify(w("a.onnx"), w("a.lsc.onnx"), "--rtol", "x"), 2)
    expect("no runtime at --ort-lib", verify(w("a.onnx"), w("a.lsc.onnx"), "--no-decompress", "--ort-lib",
                                             w("nonexistent.so")), 13,
           lambda r: "cannot load ONNX Runtime" in r.stderr)
    bundle = bytearray(open(w("a.lsc"), "rb").read())
    bundle[200] ^= 0x10
    os.makedirs(w("bad"))
    shutil.copy(w("a.lsc.onnx"), w("bad"))
    open(w("bad", "a.lsc"), "wb").write(bundle)
    r = verify(w("a.onnx"), w("bad", "a.lsc.onnx"))
    expect("corrupt bundle: library error", r, r.returncode if 10 < r.returncode < 23 else -1,
           lambda r: "onnx-lsc:" in r.stderr)
    r = verify(w("a.onnx"), w("bad", "a.lsc.onnx"), "--no-decompress")
    expect("corrupt bundle: ORT session fails", r, 15, lambda r: "checksum" in r.stderr)

    # a tampered compressed graph (bundle intact): outputs differ, so does the restored model
    tamper_graph(args.work, "a.lsc.onnx", w("tampered"))
    r = verify(w("a.onnx"), w("tampered", "a.lsc.onnx"), "--json")
    expect("tampered graph fails", r, 1, lambda r: not report(r)["ok"] and not report(r)["decompress"]["ok"]
           and not report(r)["outputs"][0]["ok"])
    expect("tampered graph, outputs only", verify(w("a.onnx"), w("tampered", "a.lsc.onnx"), "--no-decompress"),
           1, lambda r: "OUTSIDE TOLERANCE" in r.stdout)
    # a valid bundle one ulp off: ORT's outputs agree, decompression does not
    os.makedirs(w("ulp"))
    nudge_one_weight(w("a.onnx"), w("ulp", "a1.onnx"))
    ortcheck.compress(w("ulp", "a1.onnx"), w("ulp", "a1.lsc.onnx"))
    r = verify(w("a.onnx"), w("ulp", "a1.lsc.onnx"), "--json")
    expect("one ulp off: outputs agree, bytes do not", r, 1,
           lambda r: not report(r)["ok"] and not report(r)["decompress"]["ok"]
           and all(o["ok"] for o in report(r)["outputs"]))
    expect("one ulp off, outputs only: passes", verify(w("a.onnx"), w("ulp", "a1.lsc.onnx"), "--no-decompress"), 0)

    # outputs with NaN and infinities (a float16 table with a NaN payload and +-inf, LscDecodeFloat16):
    # equal NaNs at equal places pass
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
    import gen_decode
    m, _, _ = gen_decode.all_models(np.random.default_rng(3))["decode_typed_tensors"]
    os.makedirs(w("nan"))
    onnx.save(m, w("nan", "t.onnx"))
    ortcheck.compress(w("nan", "t.onnx"), w("nan", "t.lsc.onnx"), ["--bit-exact"])
    expect("NaN and infinities in the outputs", verify(w("nan", "t.onnx"), w("nan", "t.lsc.onnx"), "--json"), 0,
           lambda r: report(r)["ok"] and report(r)["decompress"]["exact"])

    # every shipped model, batch 4 on 2 threads
    for path in sorted(glob.glob(os.path.join(args.models or "", "**", "*.onnx"), recursive=True)):
        if path.endswith(".lsc.onnx") or not args.models:
            continue
        name = os.path.splitext(os.path.relpath(path, args.models))[0].replace("/", "_")
        os.makedirs(w("models", name))
        for tier, extra in (("", []), (".entropy", ["--entropy"])):
            lsc = w("models", name, name + tier + ".lsc.onnx")
            ortcheck.compress(path, lsc, extra)
            r = verify(path, lsc, "--json", "--dim", "N=4", "--dim", "batch=4", "--threads", "2")
            expect("shipped model " + name + tier, r, 0,
                   lambda r: report(r)["ok"] and report(r)["decompress"]["ok"])
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
