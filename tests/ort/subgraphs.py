"""Weights inside If / Loop / Scan bodies, outer-scope weights and graph-input
weights (tests/onnx/gen_subgraphs.py) in ONNX Runtime: each model is compressed,
the rewritten bodies must hold LSC ops, and dense (ORT's kernels) and rewritten
(our plugin, 1 and 2 threads) outputs must agree on inputs that take every If
branch (ortcheck.RTOL)."""
import os
import sys

import numpy as np
import onnx

import ortcheck

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
import gen_subgraphs  # noqa: E402


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


def main():
    work = ortcheck.work_folder()
    failures = []
    for name, (m, feeds, n_encoded) in gen_subgraphs.all_models(np.random.default_rng(11)).items():
        path = os.path.join(work, name + ".onnx")
        onnx.save(m, path)
        lsc = os.path.join(work, name + ".lsc.onnx")
        ortcheck.compress(path, lsc)
        ops = lsc_ops_anywhere(lsc)
        if len(ops) < n_encoded:
            failures.append("%s: %d LSC nodes, expected at least %d" % (name, len(ops), n_encoded))
            continue
        for f, feed in enumerate(feeds):
            inputs = {}
            for k, arr in feed.items():
                inputs[k] = os.path.join(work, "%s.%d.%s.npy" % (name, f, k))
                np.save(inputs[k], arr)
            dense = ortcheck.ort_outputs(path, inputs, os.path.join(work, "%s.%d.dense" % (name, f)),
                                         plugin=False)
            for threads in (1, 2):
                got = ortcheck.ort_outputs(lsc, inputs, os.path.join(work, "%s.%d.lsc%d" % (name, f, threads)),
                                           threads=threads)
                ok, max_abs, max_rel = ortcheck.compare(dense, got)
                print("%s %-20s feed %d threads %d  %-28s max abs %.3g  max rel %.3g" %
                      ("ok  " if ok else "FAIL", name, f, threads, ",".join(sorted(set(ops))), max_abs, max_rel))
                if not ok:
                    failures.append("%s feed %d threads %d: max abs %g" % (name, f, threads, max_abs))
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
