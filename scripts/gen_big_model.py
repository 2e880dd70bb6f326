#!/usr/bin/python3
"""Write a big pruned fp32 model whose weights are ONNX external data.

A chain of MatMul layers y = x @ W_i; every W_i is D x D (the largest layer),
the last one D x M when the total is not a multiple of the largest. Weights are
written to one .bin file block of rows by block of rows, so memory stays near
one block whatever the total: the scale test needs models larger than RAM/2.

    scripts/gen_big_model.py OUT.onnx --total-gb 13 --largest-mb 1024 \
        --density 0.35 --seed 1

writes OUT.onnx and OUT.onnx.data beside it (the name stored in the model).
Zeros are +0.0 at random positions (unstructured pruning); the kept values are
normal(0, 0.05) in fp32, never zero.
"""
import argparse
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

ROWS_PER_BLOCK = 512


def write_weight(f, rng, rows, cols, density):
    """Append rows x cols fp32 values to f; returns the byte count."""
    written = 0
    for r0 in range(0, rows, ROWS_PER_BLOCK):
        n = min(ROWS_PER_BLOCK, rows - r0) * cols
        keep = rng.random(n, dtype=np.float32) < density
        values = rng.standard_normal(n, dtype=np.float32) * np.float32(0.05)
        values[values == 0] = np.float32(1e-3)  # a kept value is never zero
        values[~keep] = 0
        f.write(values.astype("<f4", copy=False).tobytes())
        written += n * 4
    return written


def external_tensor(name, dims, location, offset, length):
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = t.external_data.add()
        entry.key = key
        entry.value = value
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("out", help="model path (.onnx); weights go to OUT.data")
    ap.add_argument("--total-gb", type=float, required=True, help="weight bytes in total, 1e9 bytes")
    ap.add_argument("--largest-mb", type=float, default=1024, help="largest layer, MiB (D x D fp32)")
    ap.add_argument("--density", type=float, default=0.1, help="fraction of non-zero weights")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not 0 < args.density <= 1:
        sys.exit("--density wants (0, 1]")

    d = int(math.isqrt(int(args.largest_mb * 2**20) // 4))
    layer_bytes = d * d * 4
    total = int(args.total_gb * 1e9)
    full = total // layer_bytes
    rest_cols = (total - full * layer_bytes) // (4 * d)
    shapes = [(d, d)] * full + ([(d, rest_cols)] if rest_cols > 0 else [])
    if not shapes:
        sys.exit("--total-gb is below one layer")

    rng = np.random.default_rng(args.seed)
    data_name = os.path.basename(args.out) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(args.out)), data_name)
    nodes, inits = [], []
    offset = 0
    with open(data_path, "wb") as f:
        for i, (rows, cols) in enumerate(shapes):
            name = "W%d" % i
            length = write_weight(f, rng, rows, cols, args.density)
            inits.append(external_tensor(name, [rows, cols], data_name, offset, length))
            offset += length
            x = "X" if i == 0 else "H%d" % (i - 1)
            y = "Y" if i == len(shapes) - 1 else "H%d" % i
            nodes.append(helper.make_node("MatMul", [x, name], [y], name="matmul%d" % i))
            print("%s %dx%d %.2f GB (%.0f%% done)" % (name, rows, cols, length / 1e9,
                                                     100.0 * offset / total), flush=True)
    graph = helper.make_graph(
        nodes, "big_pruned_chain",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, d])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, shapes[-1][1]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    with open(args.out, "wb") as f:
        f.write(model.SerializeToString())
    print("%s + %s: %d layers, %.2f GB of weights, largest %.2f GB, density %.2f" %
          (args.out, data_name, len(shapes), offset / 1e9, layer_bytes / 1e9, args.density))


if __name__ == "__main__":
    main()
