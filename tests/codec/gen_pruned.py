#!/usr/bin/python3
"""Write an ONNX model of real-shaped layers, magnitude-pruned the way training does.

Each weight is normal(0, 1) scaled per output row and per input column by
log-normal factors (sigma 0.5: rows and input features differ in importance, as in
trained layers), then every element below the layer's magnitude quantile is set to
zero, keeping DENSITY of them. Values are fp32 with full random mantissas.

    tests/codec/gen_pruned.py OUT.onnx [--density 0.1] [--seed 1]

Shapes: a VGG-style conv (256x128x3x3), a ResNet-style conv (512x256x3x3), a 1x1
conv (256x1024x1x1), transformer-style MatMul (768x3072) and a Gemm (1000x2048).
"""
import argparse

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LAYERS = [
    ("conv3x3_a", "Conv", (256, 128, 3, 3)),
    ("conv3x3_b", "Conv", (512, 256, 3, 3)),
    ("conv1x1", "Conv", (256, 1024, 1, 1)),
    ("matmul", "MatMul", (768, 3072)),
    ("gemm", "Gemm", (1000, 2048)),
]


def pruned(rng, shape, density):
    rows = shape[0]
    cols = int(np.prod(shape[1:]))
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    w *= np.exp(0.5 * rng.standard_normal((rows, 1))).astype(np.float32)
    w *= np.exp(0.5 * rng.standard_normal((1, cols))).astype(np.float32)
    w *= np.float32(0.05)
    cut = np.quantile(np.abs(w), 1.0 - density)
    w[np.abs(w) <= cut] = 0
    return w.reshape(shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("out")
    ap.add_argument("--density", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    nodes, inits, inputs, outputs = [], [], [], []
    for name, op, shape in LAYERS:
        w = pruned(rng, shape, a.density)
        inits.append(numpy_helper.from_array(w, name + ".weight"))
        x, y = name + ".x", name + ".y"
        if op == "Conv":
            xshape = [1, shape[1], 8, 8]
            yshape = [1, shape[0], 8 - shape[2] + 1, 8 - shape[3] + 1]
            nodes.append(helper.make_node("Conv", [x, name + ".weight"], [y]))
        elif op == "MatMul":
            xshape, yshape = [1, shape[0]], [1, shape[1]]
            nodes.append(helper.make_node("MatMul", [x, name + ".weight"], [y]))
        else:
            xshape, yshape = [1, shape[1]], [1, shape[0]]
            nodes.append(helper.make_node("Gemm", [x, name + ".weight"], [y], transB=1))
        inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, xshape))
        outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, yshape))
    graph = helper.make_graph(nodes, "pruned_layers", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, a.out)


if __name__ == "__main__":
    main()
