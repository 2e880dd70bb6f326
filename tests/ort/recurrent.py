"""LSTM / GRU / RNN with pruned W and R (tests/onnx/gen_recurrent.py) in ONNX Runtime:
each model is compressed, and ORT's own LSTM/GRU/RNN on the dense model and our
LscLSTM/LscGRU/LscRNN on the rewritten one (1 and 2 threads) must agree
(ortcheck.RTOL) for every direction, with sequence_lens, initial states,
peepholes, clip, and an LSTM in both branches of an If."""
import os
import sys

import numpy as np

import ortcheck

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
import gen_recurrent  # noqa: E402


def main():
    work = ortcheck.work_folder()
    return ortcheck.check_models(work, gen_recurrent.all_models(np.random.default_rng(5)))


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
