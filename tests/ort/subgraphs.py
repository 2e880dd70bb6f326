"""Weights inside If / Loop / Scan bodies, outer-scope weights and graph-input
weights (tests/onnx/gen_subgraphs.py) in ONNX Runtime: each model is compressed,
the rewritten bodies must hold LSC ops, and dense (ORT's kernels) and rewritten
(our plugin, 1 and 2 threads) outputs must agree on inputs that take every If
branch (ortcheck.RTOL)."""
import os
import sys

import numpy as np

import ortcheck

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
import gen_subgraphs  # noqa: E402


def main():
    work = ortcheck.work_folder()
    return ortcheck.check_models(work, gen_subgraphs.all_models(np.random.default_rng(11)))


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
