#!/usr/bin/python3
"""8-bit weights (issue 15), a benchmark, not a test: the shipped pruned models
quantized by scripts/quantize_models.py in each form, compressed; per model the
dense 8-bit weight bytes, LSC bytes (values + meta-data as written, zero points
included), CSR (32- and 16-bit columns) and bitmap with 8-bit values and the entropy
bound (from `onnx-lsc stats`), the ratio, and ONNX Runtime's batch-1 latency of the
dense QDQ model vs the LSC model (lsc-ort-run --bench, 1 intra-op thread; dense and
LSC processes alternate --repeat times, the median of their medians is shown).
--entropy: instead of latencies, the bytes of the weights' blobs in the bundle of
compress --entropy (entropy blobs, or compute blobs where those are smaller) and that
ratio, next to the compute tier's.

  bench/bench_quantized.py --build build --work /tmp/qbench [--models models] [--repeat 3] [--forms qlinear,...]
      [--before OLD/libonnx_lsc_ort.so]
--fc6 PCTS: also one-node models of AlexNet's fc6 (Gemm 9216 -> 4096) pruned at random
to these densities in percent (bench_latency.py's, e.g. 10,2), written into --work,
in the forms of a Gemm (conv-integer, the same as dynamic there, left out).
--before: one more LSC column, the same LSC model run with another build's plugin
(a copy of it made before a change), alternated with the other two; with
--before-tool (that build's onnx-lsc) the before column runs the model that build
compresses (a change that rewrites the graph differently, whose ops the old plugin
may not know). --only-fc6: the fc6 layers alone.
  bench/bench_quantized.py --build build --work /tmp/qbench --entropy
"""
import argparse
import json
import os
import statistics
import struct
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
    """plugin: False (ORT alone), True (the build's), or a plugin's path."""
    cmd = [runner, model, "--threads", 1, "--bench", runs, "--warmup", runs // 10]
    if not plugin:
        cmd.append("--no-plugin")
    elif plugin is not True:
        cmd += ["--plugin", plugin]
    return json.loads(run(cmd, env).strip().splitlines()[-1])["median_ms"]


def weight_blob_bytes(bundle):
    """Bytes of the encoded weights' blobs ("LSCW", "LSCE", "LSCC") a bundle's TOC lists
    (docs/format.md 2.2), leaving out the dense pack and the seal."""
    data = open(bundle, "rb").read()
    toc_offset, toc_size = struct.unpack_from("<QQ", data, 16)
    n, = struct.unpack_from("<I", data, 40)
    toc, p = data[toc_offset:toc_offset + toc_size], 0
    if struct.unpack_from("<I", data, 12)[0] & 1:  # compact bundle (2.5): the TOC is one zstd frame
        toc = subprocess.run(["zstd", "-d", "-c", "-q"], input=toc, capture_output=True, check=True).stdout
    total = 0
    for _ in range(n):
        off, size, _checksum, name_len, restore_len = struct.unpack_from("<QQQII", toc, p)
        total += size if data[off:off + 4] in (b"LSCW", b"LSCE", b"LSCC") else 0
        p += (32 + name_len + restore_len + 7) & ~7
    return total


def entropy_table(args, tool):
    print("| model | form | dense int8 B | compute tier B | ratio | entropy tier B | ratio | bound B |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for base in ("lenet5_1p4", "lenet5", "lenet300_100"):
        for form in args.forms.split(","):
            q = os.path.join(args.work, "%s_%s.onnx" % (base, form))
            run([sys.executable, os.path.join(HERE, "..", "scripts", "quantize_models.py"),
                 os.path.join(args.models, base + ".onnx"), form, q])
            sizes = []
            for extra in ([], ["--entropy"]):
                lsc = os.path.join(args.work, "%s_%s%s.lsc.onnx" % (base, form, "_entropy" if extra else ""))
                c = json.loads(run([tool, "compress", q, "-o", lsc, "-f", "-q", "--json", *extra]))["totals"]
                sizes.append(weight_blob_bytes(lsc[: -len(".onnx")]))
            s = json.loads(run([tool, "stats", q, "--json"]))["totals"]["encoded"]
            print("| %s | %s | %d | %d | %.2fx | %d | %.2fx | %d |" % (
                base, form, c["dense_bytes"], sizes[0], c["dense_bytes"] / sizes[0], sizes[1],
                c["dense_bytes"] / sizes[1], s["value_bytes"] + s["entropy_bound"]["bits"] / 8))


def sources(args):
    """(name, float model) of the LeNets, then of the fc6 layers asked for (made once)."""
    out = [] if args.only_fc6 else [(base, os.path.join(args.models, base + ".onnx"))
                                    for base in ("lenet5_1p4", "lenet5", "lenet300_100")]
    for pct in filter(None, args.fc6.split(",")):
        path = os.path.join(args.work, "fc6_%spct.onnx" % pct)
        if not os.path.exists(path):
            sys.path.insert(0, HERE)
            from bench_latency import make_fc6
            make_fc6(path, float(pct) / 100.0)
        out.append(("fc6_%spct" % pct, path))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=os.path.join(HERE, "..", "models"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--forms", default=",".join(FORMS), help="comma-separated subset of %s" % ",".join(FORMS))
    ap.add_argument("--entropy", action="store_true", help="sizes of both tiers instead of latencies")
    ap.add_argument("--before", help="another build's plugin: an 'LSC before' column")
    ap.add_argument("--before-tool", help="that build's onnx-lsc: the before column runs its own compressed model")
    ap.add_argument("--fc6", default="", help="fc6 densities in percent, comma-separated (e.g. 10,2)")
    ap.add_argument("--only-fc6", action="store_true", help="the fc6 layers without the LeNets")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    tool = os.path.join(args.build, "src", "cli", "onnx-lsc")
    if args.entropy:
        return entropy_table(args, tool)
    runner = os.path.join(args.build, "tests", "ort", "lsc-ort-run")
    env = dict(os.environ, ONNX_LSC_ORT_PLUGIN=os.path.join(args.build, "src", "ort", "libonnx_lsc_ort.so"))
    print("| model | form | dense int8 B | LSC B | CSR32 B | CSR16 B | bitmap B | bound B | ratio | "
          "ORT batch 1, dense QDQ | %sLSC | LSC / dense |" % ("LSC before | " if args.before else ""))
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |%s ---: | ---: |" % (
        " ---: |" if args.before else ""))
    for base, source in sources(args):
        for form in args.forms.split(","):
            if base.startswith("fc6") and form == "conv-integer":
                continue
            q = os.path.join(args.work, "%s_%s.onnx" % (base, form))
            lsc = os.path.join(args.work, "%s_%s.lsc.onnx" % (base, form))
            run([sys.executable, os.path.join(HERE, "..", "scripts", "quantize_models.py"), source, form, q])
            c = json.loads(run([tool, "compress", q, "-o", lsc, "-f", "-q", "--json"]))["totals"]
            lsc_before = lsc
            if args.before_tool:
                lsc_before = os.path.join(args.work, "%s_%s.before.lsc.onnx" % (base, form))
                run([args.before_tool, "compress", q, "-o", lsc_before, "-f", "-q"])
            s = json.loads(run([tool, "stats", q, "--json"]))["totals"]["encoded"]
            f = s["formats"]
            plugins = (False, args.before, True) if args.before else (False, True)
            times = {p: [] for p in plugins}
            for _ in range(args.repeat):
                for plugin in plugins:
                    model = q if not plugin else lsc if plugin is True else lsc_before
                    times[plugin].append(latency(runner, model, plugin, env, args.runs))
            before = "%.4f ms | " % statistics.median(times[args.before]) if args.before else ""
            dense, after = statistics.median(times[False]), statistics.median(times[True])
            print("| %s | %s | %d | %d | %d | %d | %d | %d | %.2fx | %.4f ms | %s%.4f ms | %.2f |" % (
                base, form, c["dense_bytes"], c["value_bytes"] + c["meta_bytes"], f["csr_int32"]["total_bytes"],
                f["csr_int16"]["total_bytes"], f["bitmap"]["total_bytes"],
                s["value_bytes"] + s["entropy_bound"]["bits"] / 8, c["ratio"],
                dense, before, after, after / dense))


if __name__ == "__main__":
    main()
