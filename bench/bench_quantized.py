#!/usr/bin/python3
"""8-bit weights (issue 15), a benchmark, not a test: the shipped pruned models
quantized by scripts/quantize_models.py in each form, compressed; per model the
dense 8-bit weight bytes, LSC bytes (values + meta-data as written, zero points
included), CSR (32- and 16-bit columns) and bitmap with 8-bit values and the entropy
bound (from `onnx-lsc stats`), the ratio, and ONNX Runtime's batch-1 latency of the
dense QDQ model vs the LSC model (lsc-ort-run --bench, 1 intra-op thread; dense and
LSC processes alternate --repeat times, the median of their medians is shown).

  bench/bench_quantized.py --build build --work /tmp/qbench [--models models] [--repeat 3] [--forms qlinear,...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FORMS = ("qdq-int8", "qdq-uint8", "qdq-transpose", "dynamic", "qlinear", "conv-integer")


def run(cmd, env=None):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(map(str, cmd)), r.stderr.strip()))
    return r.stdout


def latency(runner, model, plugin, env, runs):
    cmd = [runner, model, "--threads", 1, "--bench", runs, "--warmup", runs // 10]
    if not plugin:
        cmd.append("--no-plugin")
    return json.loads(run(cmd, env).strip().splitlines()[-1])["median_ms"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--forms", default=",".join(FORMS), help="comma-separated subset of %s" % ",".join(FORMS))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    tool = os.path.join(args.build, "src", "cli", "onnx-lsc")
    runner = os.path.join(args.build, "tests", "ort", "lsc-ort-run")
    env = dict(os.environ, ONNX_LSC_ORT_PLUGIN=os.path.join(args.build, "src", "ort", "libonnx_lsc_ort.so"))
    print("| model | form | dense int8 B | LSC B | CSR32 B | CSR16 B | bitmap B | bound B | ratio | "
          "ORT batch 1, dense QDQ | LSC |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for base in ("lenet5_1p4", "lenet5", "lenet300_100"):
        for form in args.forms.split(","):
            q = os.path.join(args.work, "%s_%s.onnx" % (base, form))
            lsc = os.path.join(args.work, "%s_%s.lsc.onnx" % (base, form))
            run([sys.executable, os.path.join(HERE, "..", "scripts", "quantize_models.py"),
                 os.path.join(args.models, base + ".onnx"), form, q])
            c = json.loads(run([tool, "compress", q, "-o", lsc, "-f", "-q", "--json"]))["totals"]
            s = json.loads(run([tool, "stats", q, "--json"]))["totals"]["encoded"]
            f = s["formats"]
            times = {True: [], False: []}
            for _ in range(args.repeat):
                for plugin in (False, True):
                    times[plugin].append(latency(runner, lsc if plugin else q, plugin, env, args.runs))
            print("| %s | %s | %d | %d | %d | %d | %d | %d | %.2fx | %.3f ms | %.3f ms |" % (
                base, form, c["dense_bytes"], c["value_bytes"] + c["meta_bytes"], f["csr_int32"]["total_bytes"],
                f["csr_int16"]["total_bytes"], f["bitmap"]["total_bytes"],
                s["value_bytes"] + s["entropy_bound"]["bits"] / 8, c["ratio"],
                statistics.median(times[False]), statistics.median(times[True])))


if __name__ == "__main__":
    main()
