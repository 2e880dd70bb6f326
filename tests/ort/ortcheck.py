"""Shared by the ORT tests: compress a model, run dense and rewritten in ONNX Runtime
through lsc-ort-run, compare. Paths come from the environment tests/ort/meson.build sets:
ONNX_LSC (the CLI), LSC_ORT_RUN (the driver), ONNX_LSC_ORT_PLUGIN (the plugin)."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx

SKIP = 77
ONNX_LSC = os.environ.get("ONNX_LSC", "onnx-lsc")
LSC_ORT_RUN = os.environ.get("LSC_ORT_RUN", "lsc-ort-run")
# Outputs agree when |lsc - dense| <= RTOL * (|dense| + max|dense|): relative to the
# element, with the output's scale as floor for elements that cancel to about zero.
RTOL = 1e-5


class Skip(Exception):
    pass


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def require_runtime(work):
    """Raises Skip when no ONNX Runtime loads (lsc-ort-run exits 77)."""
    probe = os.path.join(work, "probe.onnx")
    from onnx import TensorProto, helper
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), probe)
    r = run([LSC_ORT_RUN, probe])
    if r.returncode == SKIP:
        raise Skip("no ONNX Runtime: " + r.stderr.strip())
    if r.returncode != 0:
        raise RuntimeError("lsc-ort-run cannot run a Relu: " + r.stderr)


def work_folder(with_models=False):
    """The test's --work folder, emptied; raises Skip when no ONNX Runtime loads.
    with_models: (--models folder, --work folder)."""
    import argparse
    import shutil
    ap = argparse.ArgumentParser()
    if with_models:
        ap.add_argument("--models", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    require_runtime(args.work)
    return (args.models, args.work) if with_models else args.work


def compress(model, out, extra=()):
    r = run([ONNX_LSC, "compress", model, "-o", out, "-q", "--json", *extra])
    if r.returncode != 0:
        raise RuntimeError("compress %s failed (%d): %s" % (model, r.returncode, r.stderr.strip()))
    return r.stdout


def lsc_ops(model_path):
    m = onnx.load(model_path, load_external_data=False)
    return [n.op_type for n in m.graph.node if n.domain == "ai.onnx_lsc"]


def ort_outputs(model, inputs, outdir, plugin=True, threads=1, dims=()):
    """Runs model once with the given {name: npy path} inputs; returns the outputs."""
    os.makedirs(outdir, exist_ok=True)
    cmd = [LSC_ORT_RUN, model, "--save", outdir, "--threads", threads]
    if not plugin:
        cmd.append("--no-plugin")
    for name, path in inputs.items():
        cmd += ["--input", "%s=%s" % (name, path)]
    for name, value in dims:
        cmd += ["--dim", "%s=%d" % (name, value)]
    r = run(cmd)
    if r.returncode != 0:
        raise RuntimeError("lsc-ort-run %s failed (%d): %s" % (model, r.returncode, r.stderr.strip()))
    n = len([line for line in r.stdout.splitlines() if " -> " in line])
    return [np.load(os.path.join(outdir, "%d.npy" % i)) for i in range(n)]


def compare(dense, lsc, rtol=RTOL):
    """(ok, max_abs, max_rel_to_scale) over all outputs; rtol 0: equal."""
    ok, worst_abs, worst_rel = True, 0.0, 0.0
    if len(dense) != len(lsc):
        return False, float("inf"), float("inf")
    for d, s in zip(dense, lsc):
        if d.shape != s.shape or d.dtype != s.dtype:
            return False, float("inf"), float("inf")
        d64, s64 = d.astype(np.float64), s.astype(np.float64)
        if not np.array_equal(np.isnan(d64), np.isnan(s64)):
            return False, float("inf"), float("inf")
        d64, s64 = np.nan_to_num(d64), np.nan_to_num(s64)
        diff = np.abs(d64 - s64)
        scale = float(np.abs(d64).max()) if d64.size else 0.0
        worst_abs = max(worst_abs, float(diff.max()) if diff.size else 0.0)
        worst_rel = max(worst_rel, float(diff.max()) / scale if diff.size and scale > 0 else 0.0)
        ok &= bool(np.all(diff <= rtol * (np.abs(d64) + scale)))
    return ok, worst_abs, worst_rel


def lsc_ops_anywhere(path):
    """Op types of ai.onnx_lsc nodes in every graph of the model."""
    ops = []

    def walk(g):
        for n in g.node:
            if n.domain == "ai.onnx_lsc":
                ops.append(n.op_type)
            for a in n.attribute:
                if a.HasField("g"):
                    walk(a.g)
                for sg in a.graphs:
                    walk(sg)
    walk(onnx.load(path, load_external_data=False).graph)
    return ops


def check_models(work, models, rtol=RTOL, extra=(), packed=None, run_dense=None):
    """Compresses (with options `extra`, or extra[name] if it is a dict) each of {name:
    (model, feeds, n_encoded)}, requires LSC nodes where weights were encoded, if given
    packed[name] outputs on the LscUnpack node and run_dense[name] layers run dense
    (their LscDecode nodes in the graph), and compares dense (ORT's kernels) with rewritten (our
    plugin, 1 and 2 threads) outputs on every feed (rtol 0: equal). Returns the failures."""
    failures = []
    for name, (m, feeds, n_encoded) in models.items():
        path = os.path.join(work, name + ".onnx")
        onnx.save(m, path)
        lsc = os.path.join(work, name + ".lsc.onnx")
        report = json.loads(compress(path, lsc, extra.get(name, ()) if isinstance(extra, dict) else extra))
        encoded = report["totals"]["encoded_layers"]
        ops = lsc_ops_anywhere(lsc)
        n_dense = sum(bool(layer.get("run_dense")) for layer in report["layers"] if layer["status"] == "encoded")
        if run_dense is not None and (n_dense != run_dense[name] or ops.count("LscDecode") < n_dense):
            failures.append("%s: %d layers run dense (%d LscDecode nodes), expected %d" %
                            (name, n_dense, ops.count("LscDecode"), run_dense[name]))
            continue
        if encoded < n_encoded or (n_encoded and not ops):
            failures.append("%s: %d weights encoded, %d LSC nodes, expected %d weights" %
                            (name, encoded, len(ops), n_encoded))
            continue
        unpacked = sum(len(n.output) for n in onnx.load(lsc, load_external_data=False).graph.node
                       if n.domain == "ai.onnx_lsc" and n.op_type == "LscUnpack")
        if packed is not None and unpacked != packed[name]:
            failures.append("%s: LscUnpack gives %d tensors, expected %d" % (name, unpacked, packed[name]))
            continue
        for f, feed in enumerate(feeds):
            inputs = {}
            for k, arr in feed.items():
                inputs[k] = os.path.join(work, "%s.%d.%s.npy" % (name, f, k))
                np.save(inputs[k], arr)
            dense = ort_outputs(path, inputs, os.path.join(work, "%s.%d.dense" % (name, f)), plugin=False)
            for threads in (1, 2):
                got = ort_outputs(lsc, inputs, os.path.join(work, "%s.%d.lsc%d" % (name, f, threads)),
                                  threads=threads)
                ok, max_abs, max_rel = compare(dense, got, rtol)
                print("%s %-24s feed %d threads %d  %-28s max abs %.3g  max rel %.3g" %
                      ("ok  " if ok else "FAIL", name, f, threads, ",".join(sorted(set(ops))), max_abs, max_rel))
                if not ok:
                    failures.append("%s feed %d threads %d: max abs %g" % (name, f, threads, max_abs))
    for f in failures:
        print("FAILED:", f)
    return failures


def main_wrapper(fn):
    try:
        failures = fn()
    except Skip as e:
        print("SKIP:", e)
        sys.exit(SKIP)
    sys.exit(1 if failures else 0)
