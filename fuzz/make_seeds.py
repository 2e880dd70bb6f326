#!/usr/bin/python3
"""Seed corpora for the fuzz targets, generated at build time (nothing large is
committed): the small models of tests/onnx/gen_models.py and models/*.onnx, their
compressed forms and bundles made by the onnx-lsc command, the blobs inside those
bundles, external-data layouts for fuzz_external, and encoder headers.

usage: make_seeds.py ONNX_LSC SOURCE_ROOT SEEDS_DIR STAMP
Writes SEEDS_DIR/<target>/ for every target, then STAMP.
"""
import glob
import hashlib
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

SPLIT = b"@@LSC-FUZZ-SPLIT@@"
TARGETS = ("fuzz_model", "fuzz_external", "fuzz_bundle", "fuzz_blob", "fuzz_spmm", "fuzz_roundtrip",
           "fuzz_entropy", "fuzz_npy")
MAX_MODEL_SEED = 4 << 20


def main():
    tool, root, seeds, stamp = sys.argv[1:5]
    shutil.rmtree(seeds, ignore_errors=True)
    for t in TARGETS:
        os.makedirs(os.path.join(seeds, t))

    def put(target, content):
        name = hashlib.sha1(content).hexdigest()[:16]
        with open(os.path.join(seeds, target, name), "wb") as f:
            f.write(content)

    work = tempfile.mkdtemp(prefix="lsc-seeds-")
    try:
        models = sorted(glob.glob(os.path.join(root, "models", "*.onnx")))
        try:
            sys.path.insert(0, os.path.join(root, "tests", "onnx"))
            import gen_models  # needs python3-onnx and numpy
            gen = os.path.join(work, "gen")
            os.mkdir(gen)
            gen_models.make_all(gen)
            models += sorted(glob.glob(os.path.join(gen, "*.onnx")))
            external_seeds(put, gen)
            models += quantized_models(root, gen)
        except ImportError as e:
            print(f"make_seeds: {e}: only models/*.onnx", file=sys.stderr)

        for i, path in enumerate(models):
            data = open(path, "rb").read()
            if len(data) <= MAX_MODEL_SEED:
                put("fuzz_model", data)
            out = os.path.join(work, f"c{i}")
            os.mkdir(out)
            # A side file (external data) must sit beside the model it belongs to.
            for side in glob.glob(os.path.join(os.path.dirname(path), "*.bin")):
                shutil.copy(side, out)
            src = os.path.join(out, os.path.basename(path))
            shutil.copy(path, src)
            for k, extra in enumerate(([], ["--block", "2x4", "--index-bits", "3"], ["--bit-exact"],
                                       ["--entropy"], ["--entropy", "--bit-exact"])):
                cm, cb = os.path.join(out, "model.lsc.onnx"), os.path.join(out, "model.lsc")
                r = subprocess.run([tool, "compress", src, "-o", cm, "--bundle", cb, "-q", "-f", *extra],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    if k == 0:
                        print(f"make_seeds: {os.path.basename(path)}: {r.stderr.strip()}", file=sys.stderr)
                    continue
                model, bundle = open(cm, "rb").read(), open(cb, "rb").read()
                if len(model) + len(bundle) <= MAX_MODEL_SEED:
                    put("fuzz_model", model + SPLIT + bundle)
                put("fuzz_bundle", b"\0" + bundle)
                for j, blob in enumerate(blobs(bundle)):
                    put("fuzz_blob", blob)
                    if blob[:4] in (b"LSCE", b"LSCC"):  # entropy blobs, compact ones (4.8)
                        put("fuzz_entropy", blob)
                    put("fuzz_spmm", bytes([(i * 7 + j * 3 + k) & 0xff]) + blob)
        rng = random.Random(1)
        for _ in range(24):
            head = bytes(rng.randrange(256) for _ in range(8))
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(16, 512)))
            put("fuzz_roundtrip", head + body)
            put("fuzz_entropy", head + body)
        npy_seeds(put)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    counts = {t: len(os.listdir(os.path.join(seeds, t))) for t in TARGETS}
    for t, n in counts.items():
        if n == 0:
            sys.exit(f"make_seeds: no seeds for {t}")
    with open(stamp, "w") as f:
        f.write("".join(f"{t} {n}\n" for t, n in counts.items()))


def quantized_models(root, gen):
    """8-bit weights (scripts/quantize_models.py): the 1.4% LeNet-5 behind
    DequantizeLinear with non-zero uint8 zero points, int8 read through Transpose, and
    the uint8 weights of QLinearConv and QLinearMatMul, of ConvInteger and MatMulInteger
    (compressed, their MatMul chains become LscQLinearMatMulFloat / LscDynamicQuantMatMul
    with lsc_fused_io records)."""
    out = []
    src = os.path.join(root, "models", "lenet5_1p4.onnx")
    for form in ("qdq-uint8", "qdq-transpose", "qlinear", "conv-integer"):
        path = os.path.join(gen, "lenet5_1p4_" + form + ".onnx")
        r = subprocess.run([sys.executable, os.path.join(root, "scripts", "quantize_models.py"), src, form, path],
                           capture_output=True, text=True)
        if r.returncode == 0:
            out.append(path)
        else:
            print(f"make_seeds: quantize_models.py {form}: {r.stderr.strip()}", file=sys.stderr)
    return out


def toc_bytes(bundle):
    """A bundle's TOC (docs/format.md 2.2), decoded when the bundle is compact (2.5:
    header flag bit 0, the TOC one zstd frame)."""
    toc_off, toc_size = struct.unpack_from("<QQ", bundle, 16)
    raw = bytes(bundle[toc_off:toc_off + toc_size])
    if struct.unpack_from("<I", bundle, 12)[0] & 1:
        raw = subprocess.run(["zstd", "-d", "-c", "-q"], input=raw, capture_output=True, check=True).stdout
    return raw


def blobs(bundle):
    """The blobs a bundle's TOC lists (docs/format.md 2.2)."""
    if len(bundle) < 64:
        return
    (n,) = struct.unpack_from("<I", bundle, 40)
    toc, pos = toc_bytes(bundle), 0
    for _ in range(n):
        off, size, _csum, nl, rl = struct.unpack_from("<QQQII", toc, pos)
        yield bundle[off:off + size]
        pos += (32 + nl + rl + 7) & ~7


def npy_seeds(put):
    """fuzz_npy inputs: .npy files of every dtype verify reads, header versions 1 to
    3, 0-d to 4-d; written by hand (no numpy needed) as numpy writes them."""
    dtypes = (("<f4", 4), ("<f8", 8), ("<i4", 4), ("<i8", 8), ("|u1", 1), ("|i1", 1), ("|b1", 1), (">f4", 4))
    for k, (descr, size) in enumerate(dtypes):
        for shape in ((), (3,), (2, 3), (1, 2, 2, 1), (0, 4)):
            n = 1
            for d in shape:
                n *= d
            dims = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
            header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}"
            version = 1 + (k + len(shape)) % 3
            prefix = 10 if version == 1 else 12
            header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
            hlen = struct.pack("<H" if version == 1 else "<I", len(header))
            data = bytes((i * 7 + 1) & 1 if descr == "|b1" else (i * 37) & 0xff for i in range(n * size))
            put("fuzz_npy", b"\x93NUMPY" + bytes([version, 0]) + hlen + header.encode() + data)


def external_seeds(put, gen):
    """fuzz_external inputs: model, weights.bin and sub/data.bin parts; each model
    names one location, inside the folder, through links, or trying to leave it."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = open(os.path.join(gen, "external.onnx"), "rb").read()
    weights = open(os.path.join(gen, "weights.bin"), "rb").read()
    put("fuzz_external", model + SPLIT + weights)
    w = np.zeros((16, 24), np.float32)
    w[::3, ::5] = np.arange(1, 31, dtype=np.float32).reshape(6, 5)
    raw = w.tobytes()
    for loc, offset in (("weights.bin", 8), ("sub/data.bin", 0), ("link.bin", 0), ("sub/in.bin", 8),
                        ("../outside.bin", 0), ("/etc/hostname", 0), ("dir.bin", 0),
                        ("sub/../weights.bin", 8), ("missing.bin", 0), ("weights.bin", 1 << 40)):
        t = numpy_helper.from_array(w, "w")
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", loc), ("offset", str(offset)), ("length", str(len(raw)))):
            e = t.external_data.add()
            e.key, e.value = k, v
        g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 24])], [t])
        m = helper.make_model(g).SerializeToString()
        put("fuzz_external", m + SPLIT + b"\0" * 8 + raw + SPLIT + raw)
    del onnx


if __name__ == "__main__":
    main()
