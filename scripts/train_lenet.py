#!/usr/bin/python3
"""Trains, prunes and exports the pruned LeNets that onnx-lsc is tested on.

    /usr/bin/python3 scripts/train_lenet.py            # writes models/*.onnx, models/models.json
    /usr/bin/python3 scripts/train_lenet.py --quick    # smoke run on a data subset, into build-models/quick

Needs Debian's python3-torch, python3-onnx, python3-numpy and dataset-fashion-mnist; no downloads.

Three models:
  lenet300_100  LeNet-300-100 (784-300-100-10, ReLU), Deep Compression densities fc 8% / 9% / 26%
  lenet5        Caffe LeNet-5 (conv 20 5x5, pool, conv 50 5x5, pool, fc 800-500, ReLU, fc 500-10),
                Deep Compression densities conv 66% / 12%, fc 8% / 19%
  lenet5_1p4    the same LeNet-5 pruned further to ~1.4% of its weights, the density ADMM pruning reaches

Pruning is iterative magnitude pruning with retraining: each step keeps, per layer, the largest
|w| of the surviving weights (densities shrink geometrically to the target), then retrains with
the mask applied. Masks are applied with torch.nn.utils.prune (weight = weight_orig * weight_mask),
so a pruned weight that was negative is exported as -0.0, as real pruned models are.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_mnist  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 13


class LeNet300(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc3 = nn.Linear(100, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class LeNet5(nn.Module):
    """Caffe's LeNet: no ReLU after the convolutions, one after fc1."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, 10)

    def forward(self, x):
        x = F.max_pool2d(self.conv1(x), 2)
        x = F.max_pool2d(self.conv2(x), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


LENET300_TARGETS = {"fc1": 0.08, "fc2": 0.09, "fc3": 0.26}
LENET5_TARGETS = {"conv1": 0.66, "conv2": 0.12, "fc1": 0.08, "fc2": 0.19}
# ADMM-like: 250 + 1250 + 4000 + 500 = 6000 of 430,500 weights = 1.39%.
LENET5_1P4_TARGETS = {"conv1": 0.50, "conv2": 0.05, "fc1": 0.01, "fc2": 0.10}


def set_seed(seed):
    torch.manual_seed(seed)
    np.random.seed(seed)


def weighted_layers(model):
    return {n: m for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}


def add_masks(model):
    for m in weighted_layers(model).values():
        prune.identity(m, "weight")


def train(model, data, epochs, lr, seed, batch=128, log=""):
    """Adam on the training set for a (possibly fractional) number of epochs; the data order
    depends only on seed and epoch."""
    x, y = data
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    for epoch in range(math.ceil(epochs)):
        g = torch.Generator().manual_seed(seed * 1000 + epoch)
        order = torch.randperm(len(y), generator=g)[:int(round(min(1, epochs - epoch) * len(y)))]
        total = 0.0
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"    {log} epoch {epoch + 1}/{math.ceil(epochs)} ({len(order)} images) lr {lr:g} "
              f"loss {total / len(order):.4f}", flush=True)


@torch.no_grad()
def evaluate(model, data):
    x, y = data
    model.eval()
    correct = sum(int((model(x[s:s + 1000]).argmax(1) == y[s:s + 1000]).sum()) for s in range(0, len(y), 1000))
    return correct / len(y)


@torch.no_grad()
def prune_to(model, densities):
    """Keeps, per layer, the round(d * size) largest |weight_orig * mask| (ties: lower index first)."""
    for name, m in weighted_layers(model).items():
        w = (m.weight_orig * m.weight_mask).abs().flatten().numpy()
        keep = int(round(densities[name] * w.size))
        order = np.argsort(-w, kind="stable")
        mask = np.zeros(w.size, np.float32)
        mask[order[:keep]] = 1
        m.weight_mask.copy_(torch.from_numpy(mask).view_as(m.weight_mask) * m.weight_mask)


def densities_of(model):
    return {n: float(m.weight_mask.mean()) for n, m in weighted_layers(model).items()}


def iterative_prune(model, train_data, targets, steps, epochs_per_step, finetune_epochs, seed, log):
    """Geometric schedule from the current densities to targets, retraining after each step."""
    start = densities_of(model)
    for step in range(1, steps + 1):
        d = {n: start[n] * (targets[n] / start[n]) ** (step / steps) for n in targets}
        prune_to(model, d)
        shown = " ".join(f"{n} {v:.2%}" for n, v in densities_of(model).items())
        print(f"  {log} step {step}/{steps}: {shown}", flush=True)
        train(model, train_data, epochs_per_step, 5e-4, seed + 100 * step, log=f"{log} retrain")
    train(model, train_data, finetune_epochs, 1e-4, seed + 99, log=f"{log} finetune")


def export(model, path):
    """ONNX with weights as initializers, input 'input' [N,1,28,28] with a dynamic batch."""
    clean = type(model)()
    add_masks(clean)
    clean.load_state_dict(model.state_dict())  # weight_orig, weight_mask, bias
    for m in weighted_layers(clean).values():
        prune.remove(m, "weight")  # weight = weight_orig * weight_mask: keeps -0.0
    clean.eval()
    torch.onnx.export(clean, torch.zeros(1, 1, 28, 28), path, opset_version=OPSET,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)


def describe(path, targets, test_u8):
    """Checks the exported file and measures it without torch: ops, nnz, -0.0, numpy accuracy."""
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inits = {t.name: t for t in model.graph.initializer}
    consumers = {}
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in inits:
            consumers[node.input[1]] = node.op_type
    layers = []
    for name, target in targets.items():
        init = name + ".weight"
        if init not in consumers:
            raise RuntimeError(f"{path}: weight {init} is not the weight of a Conv/Gemm/MatMul")
        w = numpy_helper.to_array(inits[init])
        zero = w == 0
        nnz = int(w.size - zero.sum())
        layers.append({
            "layer": name, "initializer": init, "op": consumers[init], "shape": list(w.shape),
            "size": int(w.size), "nnz": nnz, "density": round(nnz / w.size, 6), "target_density": target,
            "negative_zeros": int((zero & np.signbit(w)).sum()),
        })
    size = sum(layer["size"] for layer in layers)
    nnz = sum(layer["nnz"] for layer in layers)
    with open(path, "rb") as f:
        blob = f.read()
    return {
        "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "ops": [n.op_type for n in model.graph.node],
        "layers": layers,
        "weights": size, "nnz": nnz, "density": round(nnz / size, 6),
        "negative_zeros": sum(layer["negative_zeros"] for layer in layers),
        "accuracy_onnx_numpy": fashion_mnist.accuracy(model, *test_u8, batch=500),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="output folder (default: models/, or build-models/quick with --quick)")
    p.add_argument("--quick", action="store_true", help="smoke run: 6000 training images, 1 epoch per phase")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: faster than 2 on a shared 2-core machine)")
    p.add_argument("--data", default=fashion_mnist.DEFAULT_ROOT)
    args = p.parse_args()
    out = args.out or os.path.join(REPO, "build-models/quick" if args.quick else "models")
    os.makedirs(out, exist_ok=True)

    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    train_u8, test_u8 = fashion_mnist.load("train", args.data), fashion_mnist.load("test", args.data)
    if args.quick:
        train_u8 = (train_u8[0][:6000], train_u8[1][:6000])
    as_tensors = lambda d: (torch.from_numpy(fashion_mnist.to_input(d[0])), torch.from_numpy(d[1].astype(np.int64)))
    train_data, test_data = as_tensors(train_u8), as_tensors(test_u8)

    # epochs (fractions allowed) of dense training, per pruning step and of the final fine-tune
    plans = {
        "lenet300_100": {"dense": 8, "steps": 5, "step": 1, "finetune": 2},
        "lenet5": {"dense": 3, "steps": 4, "step": 0.25, "finetune": 0.5},
        "lenet5_1p4": {"dense": 0, "steps": 5, "step": 0.25, "finetune": 1},
    }
    if args.quick:
        plans = {name: {"dense": 1, "steps": 2, "step": 0.5, "finetune": 0.5} for name in plans}
    s = args.seed
    results = []

    def record(name, model, seed, targets, acc_dense, acc_start, how, schedule):
        path = os.path.join(out, name + ".onnx")
        export(model, path)
        info = describe(path, targets, test_u8)
        info.update({"name": name, "file": name + ".onnx", "how": how, "seed": seed, "schedule": schedule,
                     "accuracy_dense": acc_dense, "accuracy_before_this_pruning": acc_start,
                     "accuracy_pruned": evaluate(model, test_data)})
        results.append(info)
        print(f"{name}: dense {acc_dense:.4f} -> pruned {info['accuracy_pruned']:.4f} (onnx/numpy "
              f"{info['accuracy_onnx_numpy']:.4f}), density {info['density']:.2%}, "
              f"-0.0: {info['negative_zeros']}, ops {info['ops']}  [{time.time() - t0:.0f} s]", flush=True)

    print("LeNet-300-100", flush=True)
    set_seed(s)
    lenet300 = LeNet300()
    add_masks(lenet300)
    plan = plans["lenet300_100"]
    train(lenet300, train_data, plan["dense"], 1e-3, s, log="lenet300 dense")
    acc = evaluate(lenet300, test_data)
    print(f"  dense accuracy {acc:.4f}", flush=True)
    iterative_prune(lenet300, train_data, LENET300_TARGETS, plan["steps"], plan["step"], plan["finetune"], s,
                    "lenet300")
    record("lenet300_100", lenet300, s, LENET300_TARGETS, acc, acc,
           "LeNet-300-100 trained dense, then iterative magnitude pruning to Deep Compression densities", plan)

    print("LeNet-5", flush=True)
    set_seed(s + 1)
    lenet5 = LeNet5()
    add_masks(lenet5)
    plan = plans["lenet5"]
    train(lenet5, train_data, plan["dense"], 1e-3, s + 1, log="lenet5 dense")
    acc5 = evaluate(lenet5, test_data)
    print(f"  dense accuracy {acc5:.4f}", flush=True)
    iterative_prune(lenet5, train_data, LENET5_TARGETS, plan["steps"], plan["step"], plan["finetune"], s + 1,
                    "lenet5")
    record("lenet5", lenet5, s + 1, LENET5_TARGETS, acc5, acc5,
           "Caffe LeNet-5 trained dense, then iterative magnitude pruning to Deep Compression densities", plan)

    print("LeNet-5 at ~1.4%", flush=True)
    acc_dc = results[-1]["accuracy_pruned"]
    plan1p4 = plans["lenet5_1p4"]
    iterative_prune(lenet5, train_data, LENET5_1P4_TARGETS, plan1p4["steps"], plan1p4["step"],
                    plan1p4["finetune"], s + 2, "lenet5_1p4")
    record("lenet5_1p4", lenet5, s + 2, LENET5_1P4_TARGETS, acc5, acc_dc,
           "lenet5 (above) pruned further by iterative magnitude pruning to ADMM-like densities", plan1p4)

    manifest = {
        "generator": "scripts/train_lenet.py",
        "command": "/usr/bin/python3 scripts/train_lenet.py" + (" --quick" if args.quick else "")
                   + (f" --seed {args.seed}" if args.seed != 1 else "")
                   + (f" --threads {args.threads}" if args.threads != 1 else ""),
        "dataset": "Fashion-MNIST, Debian dataset-fashion-mnist, " + args.data,
        "train_images": int(len(train_u8[1])), "test_images": int(len(test_u8[1])),
        "input": {"name": "input", "shape": ["N", 1, 28, 28], "type": "float32", "value": "pixel / 255"},
        "output": {"name": "logits", "shape": ["N", 10]},
        "torch": torch.__version__, "onnx": onnx.__version__, "opset": OPSET, "threads": args.threads,
        "seed": args.seed,
        "models": results,
    }
    with open(os.path.join(out, "models.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"wrote {out}/models.json; total {time.time() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
