"""Fashion-MNIST from Debian's dataset-fashion-mnist, read with gzip + numpy only.

Importable without torch, so tests can check the top-1 accuracy of the shipped
models (or of anything decompressed from them):

    /usr/bin/python3 scripts/fashion_mnist.py accuracy models/lenet5.onnx [--limit N]

runs the ONNX file through a small numpy interpreter (Conv, MaxPool, Flatten,
Gemm, MatMul, Add, Relu: the ops the LeNet exports use) on the test set and
prints the accuracy. The models take float32 [N,1,28,28] = pixel / 255.
"""

import argparse
import gzip
import os
import sys

import numpy as np

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """One IDX file: big-endian magic (0, 0, dtype 0x08 = uint8, ndim), ndim uint32 sizes, data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an IDX file of uint8")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(f"{path}: size {len(raw)} does not match shape {shape}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def load(split, root=DEFAULT_ROOT):
    """(images uint8 [N,28,28], labels uint8 [N]) of split 'train' (60000) or 'test' (10000)."""
    images, labels = (read_idx(os.path.join(root, name)) for name in FILES[split])
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{root}: {split} images {images.shape} and labels {labels.shape} disagree")
    return images, labels


def to_input(images):
    """uint8 [N,28,28] -> the models' input, float32 [N,1,28,28] in [0, 1]."""
    return (images.astype(np.float32) / np.float32(255))[:, None, :, :]


# --- a numpy reader of the exported LeNets, independent of torch and ONNX Runtime ---

def _conv(x, w, b, attrs):
    if any(attrs.get(k, d) != d for k, d in (("group", 1), ("pads", [0, 0, 0, 0]),
                                              ("strides", [1, 1]), ("dilations", [1, 1]))):
        raise ValueError(f"Conv attributes {attrs} not supported by this small reader")
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + oh, j:j + ow]
    y = np.matmul(w.reshape(o, -1), cols.reshape(n, c * kh * kw, oh * ow))
    y = y.reshape(n, o, oh, ow)
    return y if b is None else y + b[None, :, None, None]


def _maxpool(x, attrs):
    if attrs.get("kernel_shape") != [2, 2] or attrs.get("strides") != [2, 2] or any(attrs.get("pads", [0])):
        raise ValueError(f"MaxPool attributes {attrs} not supported by this small reader")
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _gemm(a, b, c, attrs):
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    y = attrs.get("alpha", 1.0) * (a @ b)
    return y if c is None else y + attrs.get("beta", 1.0) * c


def run(model, x):
    """Logits of an onnx.ModelProto for input x (float32 [N,1,28,28])."""
    from onnx import helper, numpy_helper
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        v = [env[i] if i else None for i in node.input] + [None] * 3
        op = node.op_type
        if op == "Conv":
            y = _conv(v[0], v[1], v[2], a)
        elif op == "MaxPool":
            y = _maxpool(v[0], a)
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = v[0].reshape(int(np.prod(v[0].shape[:axis])), -1)
        elif op == "Gemm":
            y = _gemm(v[0], v[1], v[2], a)
        elif op == "MatMul":
            y = v[0] @ v[1]
        elif op == "Add":
            y = v[0] + v[1]
        elif op == "Relu":
            y = np.maximum(v[0], 0)
        else:
            raise ValueError(f"node {node.name!r}: op {op} not supported by this small reader")
        env[node.output[0]] = y.astype(np.float32)
    return env[model.graph.output[0].name]


def accuracy(model, images, labels, batch=1000):
    """Top-1 accuracy of an onnx.ModelProto on uint8 images."""
    correct = 0
    for s in range(0, len(labels), batch):
        logits = run(model, to_input(images[s:s + batch]))
        correct += int((logits.argmax(axis=1) == labels[s:s + batch]).sum())
    return correct / len(labels)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["accuracy"])
    p.add_argument("model")
    p.add_argument("--limit", type=int, default=10000, help="first N test images (default: all 10000)")
    p.add_argument("--data", default=DEFAULT_ROOT)
    args = p.parse_args()
    import onnx
    images, labels = load("test", args.data)
    acc = accuracy(onnx.load(args.model), images[:args.limit], labels[:args.limit])
    print(f"{args.model}: top-1 {acc:.4f} on the first {min(args.limit, len(labels))} test images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
