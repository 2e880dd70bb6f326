"""Every shipped model in models/, dense vs rewritten in ONNX Runtime: outputs agree
within 1e-5 relative on deterministic random inputs (1 and 2 threads), and for the
models that take 28x28 images (the LeNets) the top-1 accuracy on the Fashion-MNIST
test set (Debian's dataset-fashion-mnist) is identical."""
import glob
import gzip
import os

import numpy as np
import onnx

import ortcheck

FASHION = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def image_input(m):
    """(name, shape) of a single float input holding 28x28 images, else None."""
    inits = {i.name for i in m.graph.initializer}
    ins = [i for i in m.graph.input if i.name not in inits]
    if len(ins) != 1:
        return None
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in ins[0].type.tensor_type.shape.dim]
    if dims[1:] in ([1, 28, 28], [28, 28], [784]):
        return ins[0].name, dims
    return None


def preprocess(m, images):
    """Pixels to model input as the model's metadata says (default x / 255)."""
    meta = {p.key: p.value for p in m.metadata_props}
    x = images.astype(np.float32) / 255.0
    if "input_mean" in meta and "input_std" in meta:
        x = (x - float(meta["input_mean"])) / float(meta["input_std"])
    return x


def main():
    models, work = ortcheck.work_folder(with_models=True)
    paths = sorted(p for p in glob.glob(os.path.join(models, "**", "*.onnx"), recursive=True)
                   if not p.endswith(".lsc.onnx"))
    if not paths:
        raise ortcheck.Skip("no models in %s" % models)
    failures = []
    for path in paths:
        name = os.path.splitext(os.path.relpath(path, models))[0].replace("/", "_")
        lsc = os.path.join(work, name + ".lsc.onnx")
        ortcheck.compress(path, lsc)
        ops = ortcheck.lsc_ops(lsc)
        if not ops:
            failures.append(name + ": nothing rewritten")
            print("FAIL %-28s nothing rewritten" % name)
            continue
        # batch 4 and 32: on 2 threads 32 rows split by rows of X (src/ort/rules.h)
        for batch in (4, 32):
            dims = [("N", batch), ("batch", batch), ("batch_size", batch)]
            dense = ortcheck.ort_outputs(path, {}, os.path.join(work, "%s.dense%d" % (name, batch)),
                                         plugin=False, dims=dims)
            for threads in (1, 2):
                got = ortcheck.ort_outputs(lsc, {}, os.path.join(work, "%s.lsc%d.%d" % (name, threads, batch)),
                                           threads=threads, dims=dims)
                ok, max_abs, max_rel = ortcheck.compare(dense, got)
                print("%s %-28s random inputs, batch %d, threads %d: %d LSC nodes, max abs %.3g, max rel %.3g" %
                      ("ok  " if ok else "FAIL", name, batch, threads, len(ops), max_abs, max_rel))
                if not ok:
                    failures.append("%s batch %d threads %d: max abs %g max rel %g" %
                                    (name, batch, threads, max_abs, max_rel))

        m = onnx.load(path, load_external_data=False)
        image = image_input(m)
        if not image:
            continue
        if not os.path.isdir(FASHION):
            failures.append("%s: %s missing (install dataset-fashion-mnist)" % (name, FASHION))
            continue
        images = idx(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz"))
        labels = idx(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz"))
        x = preprocess(m, images).reshape([len(images)] + [d for d in image[1][1:]])
        npy = os.path.join(work, name + ".fashion.npy")
        np.save(npy, x)
        top1 = {}
        for label, model, plugin in (("dense", path, False), ("lsc", lsc, True)):
            out = ortcheck.ort_outputs(model, {image[0]: npy}, os.path.join(work, name + ".fm-" + label),
                                       plugin=plugin, threads=2)[0]
            top1[label] = out.reshape(len(images), -1).argmax(axis=1)
        acc = {k: float((v == labels).mean()) for k, v in top1.items()}
        differ = int((top1["dense"] != top1["lsc"]).sum())
        ok = acc["dense"] == acc["lsc"]
        print("%s %-28s Fashion-MNIST top-1: dense %.4f, LSC %.4f (%d of %d predictions differ)" %
              ("ok  " if ok else "FAIL", name, acc["dense"], acc["lsc"], differ, len(images)))
        if not ok:
            failures.append("%s: top-1 dense %.4f != LSC %.4f" % (name, acc["dense"], acc["lsc"]))
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
