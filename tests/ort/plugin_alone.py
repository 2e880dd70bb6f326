"""The plugin is self-contained: libonnx_lsc_ort.so copied alone into an empty folder
needs nothing but the C library (NEEDED libc/libm/libpthread only, no RPATH, every
undefined symbol a versioned glibc one, RegisterCustomOps the only export), and from
there ONNX Runtime (lsc-ort-run) runs each compressed shipped model with the dense
model's outputs.

usage: plugin_alone.py --work DIR --models DIR [--sanitized]   (ONNX_LSC_ORT_PLUGIN: the built plugin)"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx

import ortcheck

ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libzstd.so.1"}
WEAK_OK = {"_ITM_deregisterTMCloneTable", "_ITM_registerTMCloneTable", "__gmon_start__"}


def tool(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(cmd), r.stderr))
    return r.stdout


def link_problems(path):
    """What ties the plugin to anything beyond glibc (empty list: nothing)."""
    problems = []
    dyn = tool("readelf", "-d", "-W", path)
    needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn))
    if needed - ALLOWED_NEEDED:
        problems.append("needs %s" % sorted(needed - ALLOWED_NEEDED))
    if re.search(r"\((RPATH|RUNPATH)\)", dyn):
        problems.append("has an RPATH/RUNPATH")
    for line in tool("nm", "-D", "--undefined-only", path).splitlines():
        kind, name = line.split()[-2:]
        if "@GLIBC_" not in name and name not in WEAK_OK and not name.startswith("ZSTD_"):
            problems.append("undefined symbol %s (%s)" % (name, kind))
    exports = [line.split()[-1] for line in tool("nm", "-D", "--defined-only", path).splitlines()]
    if exports != ["RegisterCustomOps"]:
        problems.append("exports %s" % exports[:10])
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--sanitized", action="store_true",
                    help="sanitizer build: the runtime's symbols are the program's, skip the link check")
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    alone = os.path.join(a.work, "alone")
    os.makedirs(alone)
    plugin = os.path.join(alone, "libonnx_lsc_ort.so")
    shutil.copy(os.environ["ONNX_LSC_ORT_PLUGIN"], plugin)
    problems = [] if a.sanitized else link_problems(plugin)
    for p in problems:
        print("FAIL: %s: %s" % (plugin, p))
    print("links: %s" % ("glibc only, exports RegisterCustomOps only" if not problems else "%d problems"
                         % len(problems)))
    try:
        ortcheck.require_runtime(a.work)
    except ortcheck.Skip as e:
        print("SKIP run: %s" % e)
        return 1 if problems else ortcheck.SKIP
    # (The runner links libonnx-lsc itself; the plugin has no undefined symbol to bind to it.)
    os.environ["ONNX_LSC_ORT_PLUGIN"] = plugin
    os.environ.pop("LD_LIBRARY_PATH", None)
    failures = len(problems)
    rng = np.random.default_rng(14)
    models = sorted(glob.glob(os.path.join(a.models, "*.onnx")))
    for src in models:
        name = os.path.basename(src)[: -len(".onnx")]
        out = os.path.join(a.work, name)
        os.makedirs(out)
        lsc = os.path.join(out, name + ".lsc.onnx")
        ortcheck.compress(src, lsc)
        m = onnx.load(src, load_external_data=False)
        inits = {i.name for i in m.graph.initializer}
        inputs = {}
        for i, vi in enumerate(v for v in m.graph.input if v.name not in inits):
            dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
            inputs[vi.name] = os.path.join(out, "in%d.npy" % i)
            np.save(inputs[vi.name], rng.random(dims, dtype=np.float32))
        dense = ortcheck.ort_outputs(src, inputs, os.path.join(out, "dense"), plugin=False)
        got = ortcheck.ort_outputs(lsc, inputs, os.path.join(out, "lsc"))
        ok, worst, _ = ortcheck.compare(dense, got)
        print("%s %s: %d LSC nodes, max |lsc - dense| %.3g" % ("ok  " if ok else "FAIL", name,
                                                                len(ortcheck.lsc_ops(lsc)), worst))
        failures += not ok or not ortcheck.lsc_ops(lsc)
    print("%d models through the plugin alone, %d failures" % (len(models), failures))
    return 1 if failures or not models else 0


if __name__ == "__main__":
    sys.exit(main())
