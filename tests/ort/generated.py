"""Generated models in ONNX Runtime: weights inside If / Loop / Scan bodies,
outer-scope and graph-input weights (tests/onnx/gen_subgraphs.py), or LSTM / GRU /
RNN with pruned W and R (tests/onnx/gen_recurrent.py: every direction,
sequence_lens, states, peepholes, clip, an LSTM in both If branches), weights
restored by LscDecode (tests/onnx/gen_decode.py: Gather embeddings, ConvTranspose,
shared and subgraph tables, graph-input weights), or Relu / Clip / LeakyRelu after
Conv, Gemm, MatMul, folded into the LSC ops or not (tests/onnx/gen_activations.py),
or float tensors left dense, packed by --entropy and given back by LscUnpack
(tests/onnx/gen_pack.py), Conv / Gemm / MatMul layers run dense on weights
LscDecode restores (tests/onnx/gen_run_dense.py), or long exporter names in every
scope, shortened by --entropy (tests/onnx/gen_names.py), or equal weights whose
blobs --entropy stores once (tests/onnx/gen_shared.py).
Each model is compressed, and dense (ORT's kernels) and rewritten (our plugin, 1 and
2 threads) outputs must agree on inputs that take every If branch (ortcheck.RTOL).

usage: generated.py --work DIR (gen_subgraphs | gen_recurrent | gen_decode | gen_activations | gen_pack |
                                gen_run_dense | gen_names | gen_shared)"""
import importlib
import os
import sys

import numpy as np

import ortcheck

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
SEEDS = {"gen_subgraphs": 11, "gen_recurrent": 5, "gen_decode": 3, "gen_activations": 3, "gen_pack": 3,
         "gen_run_dense": 3, "gen_names": 3, "gen_shared": 3}


def main():
    module = sys.argv.pop()
    work = ortcheck.work_folder()
    gen = importlib.import_module(module)
    return ortcheck.check_models(work, gen.all_models(np.random.default_rng(SEEDS[module])),
                                 extra=getattr(gen, "EXTRA", ()), packed=getattr(gen, "PACKED", None),
                                 run_dense=getattr(gen, "RUN_DENSE", None))


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
