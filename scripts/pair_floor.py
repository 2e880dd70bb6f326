#!/usr/bin/python3
"""An optimistic floor for the bytes of a compressed pair (issue 12): what any lossless
coding of a pruned model could reach, part by part, against xz -9e of the file.

  scripts/pair_floor.py PRUNED.onnx [PRUNED.onnx ...]

Equal tensors count once. Parts, each counted at the smallest of the estimates below (so the sum is a floor for
a coder that models each part on its own, not a proof for every coder):
- sparse tensors (float32, >= 1024 elements, at least half zeros: what compress
  encodes): positions at the smaller of the per-row and per-column bounds (the sum over
  rows of log2 C(cols, k_row), counts free); values at the per-tensor empirical entropy
  of their top 16 bits plus that of each low mantissa byte (no table cost);
- every other tensor (initializers and Constant attributes, bodies included): the
  per-tensor empirical entropy of each byte plane, or xz -9e of all their bytes,
  whichever is smaller;
- the graph without tensor data: xz -9e of the model with every tensor's bytes removed.
"""
import lzma
import math
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from value_entropy import is_pruned, tensors_of  # noqa: E402


def entropy_bits(x):
    """Empirical order-0 entropy of the symbols of x, in bits for all of them."""
    if x.size == 0:
        return 0.0
    _, counts = np.unique(x, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


def log2_binomial(n, k):
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


def position_bits(a):
    m = (a != 0).reshape(a.shape[0], -1)
    rows = sum(log2_binomial(m.shape[1], int(k)) for k in m.sum(axis=1))
    cols = sum(log2_binomial(m.shape[0], int(k)) for k in m.sum(axis=0))
    return min(rows, cols)


def value_bits(a):
    v = a[a != 0].ravel().view(np.uint32)
    return entropy_bits(v >> 16) + entropy_bits((v >> 8) & 0xFF) + entropy_bits(v & 0xFF)


def plane_bits(a):
    b = np.ascontiguousarray(a).view(np.uint8).reshape(-1, a.itemsize)
    return sum(entropy_bits(b[:, i]) for i in range(a.itemsize))


def xz(data):
    return len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))


def floor_of(path):
    model = onnx.load(path)
    tensors = []
    tensors_of(model.graph, tensors)
    pos = val = dense_planes = 0.0
    dense_raw = bytearray()
    nnz = 0
    seen = set()
    for t in tensors:
        a = numpy_helper.to_array(t)
        key = (a.dtype.str, a.shape, a.tobytes())
        if key in seen:  # an equal tensor is stored once (compress does so too)
            a = a.reshape(-1)[:0]
        seen.add(key)
        if is_pruned(a):
            pos += position_bits(a)
            val += value_bits(a)
            nnz += int((a != 0).sum())
        elif a.size:
            dense_planes += plane_bits(a)
            dense_raw += a.tobytes()
        # the graph part: the model with every tensor's bytes removed
        t.ClearField("raw_data")
        for field in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
            t.ClearField(field)
    dense = min(dense_planes / 8, xz(bytes(dense_raw)) if dense_raw else 0)
    graph = xz(model.SerializeToString())
    return nnz, pos / 8, val / 8, dense, graph


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| model | non-zeros | positions | values | other tensors | graph | floor | xz -9e | 0.85 x xz | floor / xz |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for path in sys.argv[1:]:
        nnz, pos, val, dense, graph = floor_of(path)
        total = pos + val + dense + graph
        x = xz(open(path, "rb").read())
        print("| %s | %d | %.0f (%.2f b/nnz) | %.0f (%.2f b/nnz) | %.0f | %.0f | %.0f | %d | %.0f | %.3f |" % (
            path.rsplit("/", 1)[-1], nnz, pos, 8 * pos / max(nnz, 1), val, 8 * val / max(nnz, 1), dense, graph,
            total, x, 0.85 * x, total / x))


if __name__ == "__main__":
    main()
