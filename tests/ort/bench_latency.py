"""Latency benchmark (not a test): dense pruned model vs its LSC rewrite in ONNX
Runtime, same session options, 1 and 2 intra-op threads, batch 1 and 32; median of
repeated runs and the ratio, plus the peak resident memory each session added.
Each (model, variant, threads, batch) runs in its own lsc-ort-run process, so peak
memory is per session.

  tests/ort/bench_latency.py --build build-ort --work /tmp/ortbench [--models models] [--vgg]

--vgg adds a generated VGG-16 (224x224x3, 1000 classes) pruned at the per-layer
densities of Han et al., "Learning both Weights and Connections" (NIPS 2015, Table 4),
which Deep Compression (ICLR 2016) starts from: 7.5% of the weights overall. Its
weights are random (kept uniformly at random per layer), so it measures speed and
memory, not accuracy. It is written into --work, never into the repository."""
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


def sh(cmd):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(map(str, cmd)), r.stderr[-2000:]))
    return r.stdout


def bench(run, plugin, model, lsc, threads, batch, runs, warmup):
    cmd = [run, model, "--bench", runs, "--warmup", warmup, "--threads", threads, "--dim", "N=%d" % batch,
           "--plugin", plugin]
    if not lsc:
        cmd.append("--no-plugin")
    return json.loads(sh(cmd).strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="meson build folder")
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default=os.path.join(os.path.dirname(__file__), "..", "..", "models"))
    ap.add_argument("--vgg", action="store_true")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--runs", type=int, default=21, help="timed runs (median); VGG-16 uses fewer")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    run = os.path.join(args.build, "tests/ort/lsc-ort-run")
    plugin = os.path.abspath(os.path.join(args.build, "src/ort/libonnx_lsc_ort.so"))
    cli = os.path.join(args.build, "src/cli/onnx-lsc")

    models = sorted(p for p in glob.glob(os.path.join(args.models, "**", "*.onnx"), recursive=True)
                    if not p.endswith(".lsc.onnx"))
    if args.vgg:
        vgg = os.path.join(args.work, "vgg16_dc.onnx")
        if not os.path.exists(vgg):
            make_vgg16(vgg)
        models.append(vgg)

    print("| model | batch | threads | dense ms | LSC ms | LSC / dense | dense peak MB | LSC peak MB | dense file MB | LSC files MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
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
        dense_mb = os.path.getsize(model) / 1e6
        lsc_mb = (os.path.getsize(lsc) + os.path.getsize(lsc[:-len(".onnx")])) / 1e6
        heavy = os.path.getsize(model) > 100e6
        for batch in map(int, args.batch.split(",")):
            for threads in map(int, args.threads.split(",")):
                runs = (3 if batch > 1 else 7) if heavy else args.runs
                warmup = 1 if heavy else 3
                d = bench(run, plugin, model, False, threads, batch, runs, warmup)
                s = bench(run, plugin, lsc, True, threads, batch, runs, warmup)
                print("| %s | %d | %d | %.3f | %.3f | %.2f | %.1f | %.1f | %.2f | %.2f |" %
                      (name, batch, threads, d["median_ms"], s["median_ms"], s["median_ms"] / d["median_ms"],
                       d["session_peak_bytes"] / 1e6, s["session_peak_bytes"] / 1e6, dense_mb, lsc_mb),
                      flush=True)


if __name__ == "__main__":
    main()
