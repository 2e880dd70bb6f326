"""Writes a VGG-16-sized pruned ONNX model for the stats benchmark: the VGG-16 graph
(138,344,128 weights + 13,416 biases, 553 MB) with random weights pruned at random
to the per-layer densities Deep Compression reports for VGG-16 (Han et al., ICLR
2016, table 4; 7.5% overall). Not committed: generate it into a build folder.

usage: gen_vgg16.py OUT.onnx [seed]
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# (name, out, in) for the 13 convolutions, then the 3 fully connected layers
CONVS = [("conv1_1", 64, 3, 0.58), ("conv1_2", 64, 64, 0.22), "pool",
         ("conv2_1", 128, 64, 0.34), ("conv2_2", 128, 128, 0.36), "pool",
         ("conv3_1", 256, 128, 0.53), ("conv3_2", 256, 256, 0.24), ("conv3_3", 256, 256, 0.42), "pool",
         ("conv4_1", 512, 256, 0.32), ("conv4_2", 512, 512, 0.27), ("conv4_3", 512, 512, 0.34), "pool",
         ("conv5_1", 512, 512, 0.35), ("conv5_2", 512, 512, 0.29), ("conv5_3", 512, 512, 0.36), "pool"]
FCS = [("fc6", 4096, 25088, 0.04), ("fc7", 4096, 4096, 0.04), ("fc8", 1000, 4096, 0.23)]


def pruned(rng, shape, density):
    w = rng.standard_normal(shape, dtype=np.float32)
    w *= rng.random(shape, dtype=np.float32) < density  # multiply by the mask, as training does
    return w


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(int(sys.argv[2]) if len(sys.argv) > 2 else 16)
    nodes, inits, x, n_pool = [], [], "input", 0
    for item in CONVS:
        if item == "pool":
            n_pool += 1
            nodes.append(helper.make_node("MaxPool", [x], [f"pool{n_pool}"], kernel_shape=[2, 2], strides=[2, 2]))
            x = f"pool{n_pool}"
            continue
        name, o, i, d = item
        inits.append(numpy_helper.from_array(pruned(rng, (o, i, 3, 3), d), name + ".weight"))
        inits.append(numpy_helper.from_array(np.zeros(o, np.float32), name + ".bias"))
        nodes.append(helper.make_node("Conv", [x, name + ".weight", name + ".bias"], [name], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [name], [name + "_r"]))
        x = name + "_r"
    nodes.append(helper.make_node("Flatten", [x], ["flat"]))
    x = "flat"
    for k, (name, o, i, d) in enumerate(FCS):
        inits.append(numpy_helper.from_array(pruned(rng, (o, i), d), name + ".weight"))
        inits.append(numpy_helper.from_array(np.zeros(o, np.float32), name + ".bias"))
        y = "output" if k == len(FCS) - 1 else name
        nodes.append(helper.make_node("Gemm", [x, name + ".weight", name + ".bias"], [y], transB=1))
        x = y
        if k < len(FCS) - 1:
            nodes.append(helper.make_node("Relu", [y], [name + "_r"]))
            x = name + "_r"
    graph = helper.make_graph(nodes, "vgg16_pruned",
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1000])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, out)
    n = sum(int(np.prod(t.dims)) for t in inits if t.name.endswith(".weight"))
    print(f"wrote {out}: {n} weights")


if __name__ == "__main__":
    main()
