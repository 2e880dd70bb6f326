"""The plugin is self-contained: libonnx_lsc_ort.so copied alone into an empty folder
needs nothing but the C library (NEEDED libc/libm/libpthread only, no RPATH, every
undefined symbol a versioned glibc one, RegisterCustomOps the only export), and from
there ONNX Runtime (lsc-ort-run) runs each compressed shipped model with the dense
model's outputs, in both tiers (an entropy-coded weight with zstd frames among them).

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
from onnx import numpy_helper

import ortcheck

ALLOWED_NEEDED = {"libc.so.6", "libm.so.6", "libpthread.so.0"}
# Weak references resolved to null when absent: the toolchain's, and libzstd's
# optional tracing hooks (its decoder is linked in statically).
WEAK_OK = {"_ITM_deregisterTMCloneTable", "_ITM_registerTMCloneTable", "__gmon_start__",
           "ZSTD_trace_decompress_begin", "ZSTD_trace_decompress_end"}


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
    if re.search(r"\(TEXTREL\)|TEXTREL", dyn):  # the static libzstd decoder must be PIC
        problems.append("has text relocations")
    for line in tool("nm", "-D", "--undefined-only", path).splitlines():
        kind, name = line.split()[-2:]
        if "@GLIBC_" not in name and name not in WEAK_OK:
            problems.append("undefined symbol %s (%s)" % (name, kind))
    exports = [line.split()[-1] for line in tool("nm", "-D", "--defined-only", path).splitlines()]
    if exports != ["RegisterCustomOps"]:
        problems.append("exports %s" % exports[:10])
    return problems


def periodic_model(path, rng):
    """A 10%-dense MatMul weight whose non-zeros cycle through 61 random floats: its
    values repeat, which only zstd captures, so the entropy tier stores them as zstd
    frames (planes, or whole values: version 4) and the plugin decodes them with its
    own (static) libzstd."""
    w = np.zeros((512, 256), np.float32)
    keep = rng.random(w.shape) < 0.1
    w[keep] = np.resize(rng.standard_normal(61).astype(np.float32), int(keep.sum()))
    g = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["y"])], "periodic",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [4, 512])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [4, 256])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", 13)]), path)


def varint_end(b, p):
    """The offset after the LEB128 varint at p (docs/format.md 4.8)."""
    while b[p] & 0x80:
        p += 1
    return p + 1


def compact_methods(b, at):
    """Section methods of a compact entropy blob at `at` (docs/format.md 4.8)."""
    rank, n, p = b[at + 16], b[at + 18], at + 19
    for _ in range(6):  # rows, cols, block_h, block_w, nnz, lsc_size
        p = varint_end(b, p)
    p += 8  # lsc_checksum
    for _ in range(rank):
        p = varint_end(b, p)
    methods = []
    for _ in range(n):
        methods.append(b[p])
        p = varint_end(b, p + 1)
    return methods


def zstd_sections(bundle_path):
    """Entropy blobs' value sections coded with zstd (docs/format.md 4.3: method 1,
    or 4, whole values), in 4.1's header or the compact one of 4.8."""
    b = open(bundle_path, "rb").read()
    planes = 4  # float32
    n, at = 0, b.find(b"LSCE")
    while at >= 0:
        rank = b[at + 56]
        table = at + 64 + 8 * rank
        n += sum(b[table + 8 * (1 + j)] in (1, 4) for j in range(planes))
        at = b.find(b"LSCE", at + 4)
    at = b.find(b"LSCC")
    while at >= 0:
        n += sum(m in (1, 4) for m in compact_methods(b, at)[1:1 + planes])
        at = b.find(b"LSCC", at + 4)
    return n


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
    periodic = os.path.join(a.work, "periodic.onnx")
    periodic_model(periodic, rng)
    models = sorted(glob.glob(os.path.join(a.models, "*.onnx")))
    runs = [(src, ()) for src in models] + [(src, ("--entropy",)) for src in models + [periodic]]
    for src, extra in runs:
        name = os.path.basename(src)[: -len(".onnx")] + ("-entropy" if extra else "")
        out = os.path.join(a.work, name)
        os.makedirs(out)
        lsc = os.path.join(out, name + ".lsc.onnx")
        ortcheck.compress(src, lsc, extra)
        if src == periodic and not zstd_sections(lsc[: -len(".onnx")]):
            print("FAIL %s: no zstd section in the bundle: the plugin's zstd decoder is not exercised" % name)
            failures += 1
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
    print("%d models through the plugin alone (compute and entropy tiers, one with zstd frames), %d failures"
          % (len(runs), failures))
    return 1 if failures or not models else 0


if __name__ == "__main__":
    sys.exit(main())
