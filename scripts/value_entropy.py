#!/usr/bin/python3
"""How far the values of a pruned fp32 model could be coded (issue 12): for the
non-zeros of every float32 tensor of >= 1024 elements that is at least half zeros (the
tensors compress encodes), the empirical entropy of sign + exponent, of sign +
exponent + the top 7 mantissa bits (pooled over the model, and per tensor weighted by
its non-zeros), and of each of the two low mantissa bytes. Per-tensor figures are
optimistic (the coder must also describe each distribution).

  scripts/value_entropy.py MODEL.onnx [MODEL.onnx ...]
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def entropy(x):
    _, counts = np.unique(x, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def tensors_of(graph, out):
    """Appends every tensor of graph and of its bodies: initializers, Constant values."""
    out.extend(graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                out.append(attr.t)
            if attr.type == onnx.AttributeProto.GRAPH:
                tensors_of(attr.g, out)
            for body in attr.graphs:
                tensors_of(body, out)


def is_pruned(a):
    """What compress encodes: float32, >= 1024 elements, at least half zeros."""
    return a.dtype == np.float32 and a.size >= 1024 and (a == 0).mean() >= 0.5


def sparse_values(graph, out):
    tensors = []
    tensors_of(graph, tensors)
    for t in tensors:
        a = numpy_helper.to_array(t)
        if is_pruned(a):
            out.append(a[a != 0].ravel().view(np.uint32))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| model | non-zeros | H(sign, exp) pooled / per tensor | H(sign, exp, 7 mantissa) pooled / per tensor | H(mantissa byte 1) | H(byte 0) |")
    print("|---|---:|---|---|---:|---:|")
    for path in sys.argv[1:]:
        tensors = []
        sparse_values(onnx.load(path).graph, tensors)
        if not tensors:
            print("| %s | 0 | | | | |" % path)
            continue
        v = np.concatenate(tensors)
        n = v.size
        top = sum(t.size * entropy(t >> 23) for t in tensors) / n
        high = sum(t.size * entropy(t >> 16) for t in tensors) / n
        print("| %s | %d | %.2f / %.2f | %.2f / %.2f | %.2f | %.2f |" % (
            path, n, entropy(v >> 23), top, entropy(v >> 16), high,
            entropy((v >> 8) & 0xFF), entropy(v & 0xFF)))


if __name__ == "__main__":
    main()
