"""Latency benchmark (not a test): dense pruned model vs its LSC rewrite in ONNX
Runtime, same session options, 1 and 2 intra-op threads, batch 1 and 32; median of
repeated runs and the ratio, plus the peak resident memory each session added.
Each (model, variant, threads, batch) runs in its own lsc-ort-run process, so peak
memory is per session: lsc-ort-run resets the process's peak (VmHWM, through
/proc/self/clear_refs) after loading ONNX Runtime and reports VmHWM - VmRSS at that
point, so the number covers session creation, the inputs and every run.
With --repeat R, dense and LSC processes alternate R times and the table shows the
median of their medians (the machine is shared: alternation spreads the noise).

  bench/bench_latency.py --build build-ort2 --work /tmp/ortbench [--models models] [--vgg]
      [--repeat R] [--profile]

--vgg adds a generated VGG-16 (224x224x3, 1000 classes) pruned at the per-layer
densities of Han et al., "Learning both Weights and Connections" (NIPS 2015, Table 4),
which Deep Compression (ICLR 2016) starts from: 7.5% of the weights overall. Its
weights are random (kept uniformly at random per layer), so it measures speed and
memory, not accuracy. It is written into --work, never into the repository.

--fc6 adds two one-node models of AlexNet's fc6 (a Gemm 9216 -> 4096, transB = 1)
pruned uniformly at random to 10% and 2%, the layer of the kernel benchmark.

--profile adds, per model, ORT's own per-node timings (SessionOptions EnableProfiling)
at batch 1 and 1 thread: each Conv/Gemm/MatMul of the dense model next to the LSC
node that replaced it (paired in graph order), and the other nodes summed."""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

import numpy as np

# (name, out channels or features, density) in VGG-16 order; "M" = 2x2 max pool.
VGG16 = [("conv1_1", 64, 0.58), ("conv1_2", 64, 0.22), "M",
         ("conv2_1", 128, 0.34), ("conv2_2", 128, 0.36), "M",
         ("conv3_1", 256, 0.53), ("conv3_2", 256, 0.24), ("conv3_3", 256, 0.42), "M",
         ("conv4_1", 512, 0.32), ("conv4_2", 512, 0.27), ("conv4_3", 512, 0.34), "M",
         ("conv5_1", 512, 0.35), ("conv5_2", 512, 0.29), ("conv5_3", 512, 0.36), "M",
         ("fc6", 4096, 0.01), ("fc7", 4096, 0.02), ("fc8", 1000, 0.23)]


def make_vgg16(path, seed=16):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    nodes, inits, x, c, spatial, flat = [], [], "input", 3, 224, None
    for layer in VGG16:
        if layer == "M":
            nodes.append(helper.make_node("MaxPool", [x], [x + "_p"], kernel_shape=[2, 2], strides=[2, 2]))
            x, spatial = x + "_p", spatial // 2
            continue
        name, out, density = layer
        if name.startswith("conv"):
            shape = (out, c, 3, 3)
        else:
            if flat is None:
                nodes.append(helper.make_node("Flatten", [x], ["flat"]))
                x, flat = "flat", c * spatial * spatial
                c = flat
            shape = (out, c)
        n_in = int(np.prod(shape[1:]))
        w = rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / (n_in * density)))
        w *= rng.random(shape, dtype=np.float32) < density
        b = (rng.standard_normal(out, dtype=np.float32) * 0.01).astype(np.float32)
        inits += [numpy_helper.from_array(w, name + ".weight"), numpy_helper.from_array(b, name + ".bias")]
        ins = [x, name + ".weight", name + ".bias"]
        if name.startswith("conv"):
            nodes.append(helper.make_node("Conv", ins, [name], pads=[1, 1, 1, 1], name=name))
        else:
            nodes.append(helper.make_node("Gemm", ins, [name], transB=1, name=name))
        if name != "fc8":
            nodes.append(helper.make_node("Relu", [name], [name + "_r"]))
            x = name + "_r"
        c = out
    g = helper.make_graph(nodes, "vgg16_deep_compression",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
                          [helper.make_tensor_value_info("fc8", TensorProto.FLOAT, ["N", 1000])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def make_fc6(path, density, seed=6):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((4096, 9216), dtype=np.float32) * np.float32(0.01)
    w *= rng.random(w.shape, dtype=np.float32) < density
    b = np.zeros(4096, dtype=np.float32)
    g = helper.make_graph([helper.make_node("Gemm", ["x", "fc6.weight", "fc6.bias"], ["y"], transB=1, name="fc6")],
                          "alexnet_fc6", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 9216])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4096])],
                          [numpy_helper.from_array(w, "fc6.weight"), numpy_helper.from_array(b, "fc6.bias")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def sh(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(map(str, cmd)), r.stderr[-2000:]))
    return r.stdout


def bench(run, plugin, model, lsc, threads, batch, runs, warmup, profile=None):
    cmd = [run, model, "--bench", runs, "--warmup", warmup, "--threads", threads, "--dim", "N=%d" % batch,
           "--plugin", plugin]
    if not lsc:
        cmd.append("--no-plugin")
    if profile:
        cmd += ["--profile", profile]
    return json.loads(sh(cmd).strip().splitlines()[-1])


def median(values):
    v = sorted(values)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2


def node_times(prefix):
    """Median kernel time (us) of every node in ORT's profile PREFIX_*.json, in graph order."""
    path = sorted(glob.glob(prefix + "_*.json"))[-1]
    times, order = {}, []
    for e in json.load(open(path)):
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            key = (e["name"][:-len("_kernel_time")], e["args"].get("op_name", "?"))
            if key not in times:
                times[key] = []
                order.append(key)
            times[key].append(e["dur"])
    return [(name, op, median(times[(name, op)])) for name, op in order]


MATMUL_OPS = ("Conv", "FusedConv", "Gemm", "FusedGemm", "MatMul", "FusedMatMul", "LscConv", "LscGemm",
              "LscMatMul")


def profile_table(run, plugin, model, lsc, work, runs):
    base = os.path.join(work, "prof_" + os.path.splitext(os.path.basename(model))[0])
    for f in glob.glob(base + "_*_*.json"):
        os.remove(f)
    bench(run, plugin, model, False, 1, 1, runs, 3, base + "_dense")
    bench(run, plugin, lsc, True, 1, 1, runs, 3, base + "_lsc")
    dense, sparse = node_times(base + "_dense"), node_times(base + "_lsc")
    dm = [n for n in dense if n[1] in MATMUL_OPS]
    sm = [n for n in sparse if n[1] in MATMUL_OPS]
    print("\n%s, batch 1, 1 thread, ORT profile (median kernel time per node, us):" % os.path.basename(model))
    print("| dense node | op | dense us | LSC node | op | LSC us | LSC / dense |")
    print("|---|---|---|---|---|---|---|")
    for d, l in zip(dm, sm):
        print("| %s | %s | %d | %s | %s | %d | %.2f |" % (d[0], d[1], d[2], l[0], l[1], l[2], l[2] / max(d[2], 1)))
    do = sum(n[2] for n in dense if n[1] not in MATMUL_OPS)
    so = sum(n[2] for n in sparse if n[1] not in MATMUL_OPS)
    print("| other nodes (%d) | | %d | other nodes (%d) | | %d | |" %
          (len(dense) - len(dm), do, len(sparse) - len(sm), so))
    print("| **sum** | | %d | | | %d | %.2f |\n" % (sum(n[2] for n in dense), sum(n[2] for n in sparse),
                                                     sum(n[2] for n in sparse) / max(sum(n[2] for n in dense), 1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="meson build folder")
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=os.path.join(os.path.dirname(__file__), "..", "models"))
    ap.add_argument("--vgg", action="store_true")
    ap.add_argument("--fc6", action="store_true")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--runs", type=int, default=21, help="timed runs (median); VGG-16 uses fewer")
    ap.add_argument("--repeat", type=int, default=1, help="processes per row, dense and LSC alternating")
    ap.add_argument("--profile", action="store_true", help="also ORT's per-node times, batch 1, 1 thread")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    run = os.path.join(args.build, "tests/ort/lsc-ort-run")
    plugin = os.path.abspath(os.path.join(args.build, "src/ort/libonnx_lsc_ort.so"))
    cli = os.path.join(args.build, "src/cli/onnx-lsc")

    models = sorted(p for p in glob.glob(os.path.join(args.models, "**", "*.onnx"), recursive=True)
                    if not p.endswith(".lsc.onnx"))
    if args.fc6:
        for pct in (10, 2):
            fc6 = os.path.join(args.work, "fc6_%dpct.onnx" % pct)
            if not os.path.exists(fc6):
                make_fc6(fc6, pct / 100.0)
            models.append(fc6)
    if args.vgg:
        vgg = os.path.join(args.work, "vgg16_dc.onnx")
        if not os.path.exists(vgg):
            make_vgg16(vgg)
        models.append(vgg)

    print("<!-- load average at start: %s -->" % " ".join(open("/proc/loadavg").read().split()[:3]))
    print("| model | batch | threads | dense ms | LSC ms | LSC / dense | dense peak MB | LSC peak MB | dense file MB | LSC files MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    lscs = []
    for model in models:
        name = os.path.splitext(os.path.basename(model))[0]
        lsc = os.path.join(args.work, name + ".lsc.onnx")
        if not os.path.exists(lsc) or os.path.getmtime(lsc) < os.path.getmtime(model):
            t = time.time()
            for stale in (lsc, lsc[:-len(".onnx")]):
                if os.path.exists(stale):
                    os.remove(stale)
            sh([cli, "compress", model, "-o", lsc, "-q"])
            print("<!-- compressed %s in %.1f s -->" % (name, time.time() - t), file=sys.stderr)
        lscs.append(lsc)
        dense_mb = os.path.getsize(model) / 1e6
        lsc_mb = (os.path.getsize(lsc) + os.path.getsize(lsc[:-len(".onnx")])) / 1e6
        heavy = os.path.getsize(model) > 100e6
        for batch in map(int, args.batch.split(",")):
            for threads in map(int, args.threads.split(",")):
                runs = (3 if batch > 1 else 7) if heavy else args.runs
                warmup = 1 if heavy else 3
                repeat = 1 if heavy and batch > 1 else args.repeat
                d, s = [], []
                for _ in range(repeat):
                    d.append(bench(run, plugin, model, False, threads, batch, runs, warmup))
                    s.append(bench(run, plugin, lsc, True, threads, batch, runs, warmup))
                dms, sms = median([r["median_ms"] for r in d]), median([r["median_ms"] for r in s])
                dpk = median([r["session_peak_bytes"] for r in d]) / 1e6
                spk = median([r["session_peak_bytes"] for r in s]) / 1e6
                print("| %s | %d | %d | %.3f | %.3f | %.2f | %.1f | %.1f | %.2f | %.2f |" %
                      (name, batch, threads, dms, sms, sms / dms, dpk, spk, dense_mb, lsc_mb), flush=True)
    print("<!-- load average at end: %s -->" % " ".join(open("/proc/loadavg").read().split()[:3]))
    if args.profile:
        for model, lsc in zip(models, lscs):
            heavy = os.path.getsize(model) > 100e6
            profile_table(run, plugin, model, lsc, args.work, 3 if heavy else 100)


if __name__ == "__main__":
    main()
