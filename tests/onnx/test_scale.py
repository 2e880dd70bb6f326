#!/usr/bin/python3
"""Streaming, threads, progress and 64-bit offsets, on small generated models.

  test_scale.py ONNX_LSC jobs|progress|offset64|direct|memory

jobs      compress -j 1, 2, 3 and 8 give byte-identical models and bundles; the
          decompressed model equals the original (python3-onnx, external data too).
progress  no progress output when stderr is not a terminal; a bar on a terminal
          (a pty), erased at the end; none on a terminal with --quiet.
offset64  a weight at external data offset 5 GiB (a sparse file, no disk) is
          compressed and restored to the same offset (the restored file is sparse
          too); its bytes and the bundle's 64-bit offsets are checked.
direct    decompress into a fresh folder writes the external data file past the page
          cache (O_DIRECT, aligned 8 MiB buffers): weights at unaligned offsets,
          gaps of 3 B, 5000 B and 70000 B (a hole), a weight larger than the
          buffer and a dense tensor copied along; the file equals the original.
memory    peak RSS of compress (-j 1 and -j 2) and decompress of a 160 MiB model
          (16 weights of 10 MiB) stays far below the model: weights are streamed;
          with --max-memory below one weight, -j 2 encodes one at a time.
          Skipped for sanitizer builds (their allocators keep freed memory).
"""
import hashlib
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EXE = None


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(args, **kw):
    p = subprocess.run([EXE] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        fail("%s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.decode(errors="replace")))
    return p


def sparse_weight(rng, shape, density):
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) >= density] = 0
    return w


def external(name, array, f, location, offset=None):
    if offset is not None:
        f.seek(offset)
    off = f.tell()
    f.write(array.tobytes())
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(array.shape)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(off)), ("length", str(array.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def make_model(folder, specs, seed=7, gap=0):
    """specs: (op, shape, density, where) with where in external, raw, typed."""
    rng = np.random.default_rng(seed)
    nodes, inputs, outputs, inits = [], [], [], []
    arrays = {}
    with open(os.path.join(folder, "weights.bin"), "wb") as f:
        first = True
        for i, (op, shape, density, where) in enumerate(specs):
            name = "w%d" % i
            w = sparse_weight(rng, shape, density)
            arrays[name] = w
            if where == "external":
                inits.append(external(name, w, f, "weights.bin", gap if first and gap else None))
                first = False
            elif where == "typed":
                inits.append(helper.make_tensor(name, TensorProto.FLOAT, shape, w.flatten().tolist()))
            elif where == "constant":  # a Constant node, payload in the model file
                nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(w, name)))
            else:
                inits.append(numpy_helper.from_array(w, name))
            x, y = "x%d" % i, "y%d" % i
            if op == "Conv":
                inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, shape[1], 8, 8]))
                outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, None))
                nodes.append(helper.make_node("Conv", [x, name], [y]))
            elif op == "MatMul":
                inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, shape[0]]))
                outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, shape[1]]))
                nodes.append(helper.make_node("MatMul", [x, name], [y]))
            else:
                inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, shape[1]]))
                outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, shape[0]]))
                nodes.append(helper.make_node("Gemm", [x, name], [y], transB=1))
    graph = helper.make_graph(nodes, "scale_test", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = os.path.join(folder, "m.onnx")
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path, arrays


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_restored(path, arrays):
    m = onnx.load(path)  # loads external data from the model's folder
    got = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            got[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    for name, w in arrays.items():
        if name not in got or got[name].shape != w.shape or got[name].tobytes() != w.tobytes():
            fail("%s: weight %s differs after the round trip" % (path, name))


MIXED = [("MatMul", (96, 160), 0.1, "external"), ("Gemm", (200, 64), 0.3, "external"),
         ("Conv", (24, 16, 3, 3), 0.2, "raw"), ("Gemm", (128, 128), 0.02, "external"),
         ("MatMul", (64, 300), 0.5, "raw"), ("Gemm", (50, 70), 0.15, "typed"),
         ("MatMul", (256, 96), 0.9, "external"), ("Gemm", (33, 257), 0.05, "external"),
         ("Gemm", (40, 90), 0.2, "constant")]


def test_jobs(tmp):
    model, arrays = make_model(tmp, MIXED)
    outputs = {}
    for j in (1, 2, 3, 8):
        os.makedirs(os.path.join(tmp, "j%d" % j))
        out = os.path.join(tmp, "j%d" % j, "c.onnx")  # same bundle name in the model
        run(["compress", model, "-o", out, "-j", str(j), "-q"])
        outputs[j] = (file_digest(out), file_digest(out[:-5] + ".lsc"))
    if len(set(outputs.values())) != 1:
        fail("outputs differ between thread counts: %s" % outputs)
    os.makedirs(os.path.join(tmp, "r"))
    restored = os.path.join(tmp, "r", "m.onnx")
    run(["decompress", os.path.join(tmp, "j2", "c.onnx"), "-o", restored, "-q"])
    check_restored(restored, arrays)
    if file_digest(os.path.join(tmp, "r", "weights.bin")) != file_digest(os.path.join(tmp, "weights.bin")):
        fail("restored weights.bin differs from the original")
    # Decoding threads (decompress -j) never change the bytes written.
    for j in (1, 3):
        d = os.path.join(tmp, "rj%d" % j)
        os.makedirs(d)
        run(["decompress", os.path.join(tmp, "j2", "c.onnx"), "-o", os.path.join(d, "m.onnx"), "-j", str(j), "-q"])
        for name in ("m.onnx", "weights.bin"):
            if file_digest(os.path.join(d, name)) != file_digest(os.path.join(tmp, "r", name)):
                fail("decompress -j %d wrote another %s than -j 0" % (j, name))
    # Two broken weights: every thread count reports the first, leaves no output.
    m = onnx.load(model, load_external_data=False)
    for t in m.graph.initializer:
        if t.name in ("w3", "w6"):
            for e in t.external_data:
                if e.key == "length":
                    e.value = str(int(e.value) + 4)
    broken = os.path.join(tmp, "broken.onnx")
    onnx.save(m, broken)
    results = set()
    for j in (1, 2, 8):
        os.makedirs(os.path.join(tmp, "b%d" % j))
        out = os.path.join(tmp, "b%d" % j, "c.onnx")
        p = subprocess.run([EXE, "compress", broken, "-o", out, "-j", str(j), "-q"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        results.add((p.returncode, p.stderr))
        if p.returncode == 0 or os.listdir(os.path.join(tmp, "b%d" % j)):
            fail("-j %d: broken model compressed or left files: %s" % (j, os.listdir(os.path.join(tmp, "b%d" % j))))
    if len(results) != 1 or b"'w3'" not in next(iter(results))[1]:
        fail("failures differ between thread counts or do not name w3: %s" % results)
    print("jobs: -j 1/2/3/8 identical (%s), round trip exact, same first error for every -j" % outputs[1][1][:12])


def read_tty(fd, proc):
    data = b""
    while True:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    proc.wait()
    return data


def on_terminal(args):
    """Runs onnx-lsc with stderr on a pseudo terminal; returns (exit code, stderr bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([EXE] + args, stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    data = read_tty(master, proc)
    os.close(master)
    return proc.returncode, data


def test_progress(tmp):
    model, _ = make_model(tmp, MIXED)
    p = run(["compress", model, "-o", os.path.join(tmp, "a.onnx"), "-j", "2"])
    if p.stderr:
        fail("compress printed on a non-terminal stderr: %r" % p.stderr[:200])
    p = run(["decompress", os.path.join(tmp, "a.onnx"), "-o", os.path.join(tmp, "a_r.onnx")])
    if p.stderr:
        fail("decompress printed on a non-terminal stderr: %r" % p.stderr[:200])
    code, err = on_terminal(["compress", model, "-o", os.path.join(tmp, "b.onnx"), "-j", "2"])
    if code != 0 or b"compress [" not in err or b"100%" not in err:
        fail("no progress bar on a terminal (exit %d): %r" % (code, err[:300]))
    if not err.endswith(b"\r\x1b[K"):
        fail("progress bar not erased at the end: %r" % err[-80:])
    os.makedirs(os.path.join(tmp, "r"))
    code, err = on_terminal(["decompress", os.path.join(tmp, "b.onnx"), "-o", os.path.join(tmp, "r", "b.onnx")])
    if code != 0 or b"decompress [" not in err or b"100%" not in err:
        fail("no decompress progress bar on a terminal (exit %d): %r" % (code, err[:300]))
    for cmd in (["compress", model, "-o", os.path.join(tmp, "c.onnx"), "--quiet"],
                ["decompress", os.path.join(tmp, "c.onnx"), "-o", os.path.join(tmp, "c_r.onnx"), "-q"]):
        code, err = on_terminal(cmd)
        if code != 0 or err:
            fail("%s on a terminal with --quiet printed %r (exit %d)" % (cmd[0], err[:200], code))
    print("progress: silent off a terminal and with --quiet, a bar on a terminal")


def bundle_offsets(path):
    with open(path, "rb") as f:
        head = f.read(64)
        toc_offset, toc_size = struct.unpack_from("<QQ", head, 16)
        n = struct.unpack_from("<I", head, 40)[0]
        f.seek(toc_offset)
        toc = f.read(toc_size)
    pos, entries = 0, []
    for _ in range(n):
        off, size, _, name_len, restore_len = struct.unpack_from("<QQQII", toc, pos)
        entries.append((toc[pos + 32:pos + 32 + name_len].decode(), off, size))
        pos += (32 + name_len + restore_len + 7) // 8 * 8
    return entries


def test_offset64(tmp):
    gap = 5 << 30
    specs = [("Gemm", (256, 512), 0.1, "external"), ("MatMul", (300, 200), 0.2, "external")]
    model, arrays = make_model(tmp, specs, gap=gap)
    src = os.path.join(tmp, "weights.bin")
    if os.stat(src).st_blocks * 512 > (64 << 20):
        print("offset64: SKIP (the file system does not make sparse files)")
        return
    out = os.path.join(tmp, "c.onnx")
    run(["compress", model, "-o", out, "-q"])
    m = onnx.load(out, load_external_data=False)
    refs = {t.name: {e.key: e.value for e in t.external_data} for t in m.graph.initializer}
    for name, off, size in bundle_offsets(out[:-5] + ".lsc"):
        if name == "\0onnx-lsc.seal":  # docs/format.md 2.4: not a weight
            continue
        if refs[name]["offset"] != str(off) or refs[name]["length"] != str(size):
            fail("bundle TOC and model disagree for %s" % name)
    os.makedirs(os.path.join(tmp, "r"))
    restored = os.path.join(tmp, "r", "m.onnx")
    run(["decompress", out, "-o", restored, "-q"])
    dst = os.path.join(tmp, "r", "weights.bin")
    if os.path.getsize(dst) != os.path.getsize(src):
        fail("restored weights.bin has %d bytes, original %d" % (os.path.getsize(dst), os.path.getsize(src)))
    if os.stat(dst).st_blocks * 512 > (64 << 20):
        fail("restored weights.bin is not sparse (%d blocks)" % os.stat(dst).st_blocks)
    with open(src, "rb") as a, open(dst, "rb") as b:
        a.seek(gap)
        b.seek(gap)
        if a.read() != b.read():
            fail("bytes after offset %d differ" % gap)
    check_restored(restored, arrays)
    r = onnx.load(restored, load_external_data=False)
    offs = [int({e.key: e.value for e in t.external_data}["offset"]) for t in r.graph.initializer]
    if min(offs) < gap:
        fail("restored offsets %s lost the 64-bit part" % offs)
    print("offset64: weights at external offsets %s restored exactly (sparse)" % offs)


def test_direct(tmp):
    rng = np.random.default_rng(11)
    src = os.path.join(tmp, "src")
    os.makedirs(src)
    # (shape, density, gap before it): the 2048x1100 one (9 MB) is larger than the buffer.
    specs = [((96, 160), 0.1, 3), ((2048, 1100), 0.1, 5000), ((3, 5), 1.0, 70000),
             ((200, 64), 0.3, 1), ((128, 130), 0.02, 0)]
    nodes, inputs, outputs, inits = [], [], [], []
    with open(os.path.join(src, "weights.bin"), "wb") as f:
        for i, (shape, density, gap) in enumerate(specs):
            name, x, y = "w%d" % i, "x%d" % i, "y%d" % i
            inits.append(external(name, sparse_weight(rng, shape, density), f, "weights.bin", f.tell() + gap))
            inputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, shape[0]]))
            outputs.append(helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, shape[1]]))
            nodes.append(helper.make_node("MatMul", [x, name], [y]))
    graph = helper.make_graph(nodes, "direct_test", inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with open(os.path.join(src, "m.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    original = os.path.join(src, "weights.bin")
    for j in ("1", "2"):
        c, r = os.path.join(tmp, "c" + j), os.path.join(tmp, "r" + j)
        os.makedirs(c)
        os.makedirs(r)
        run(["compress", os.path.join(src, "m.onnx"), "-o", os.path.join(c, "m.onnx"), "-q"])
        run(["decompress", os.path.join(c, "m.onnx"), "-o", os.path.join(r, "m.onnx"), "-j", j, "-q"])
        restored = os.path.join(r, "weights.bin")
        if file_digest(restored) != file_digest(original):
            fail("direct: %s differs from %s (-j %s)" % (restored, original, j))
    print("direct: %d weights at unaligned offsets restored byte for byte (%d bytes)" %
          (len(specs), os.path.getsize(original)))


def sanitized():
    with open(EXE, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__ubsan_handle" in data or b"__tsan_init" in data


TIME = "/usr/bin/time"


def peak_rss_mib(args):
    # Through time(1): a child forked from this Python process would inherit its
    # peak RSS (the kernel keeps the high-water mark across exec).
    p = subprocess.run([TIME, "-f", "%M"] + [EXE] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        fail("%s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return int(p.stderr.decode().strip().splitlines()[-1]) / 1024.0


def test_memory(tmp):
    if sanitized():
        print("memory: SKIP (sanitizer build)")
        return
    if not os.access(TIME, os.X_OK):
        print("memory: SKIP (no %s)" % TIME)
        return
    specs = [("Gemm" if i % 2 else "MatMul", (1280, 2048), 0.1, "external") for i in range(16)]
    model, _ = make_model(tmp, specs)
    total = os.path.getsize(os.path.join(tmp, "weights.bin")) / 2**20
    base = peak_rss_mib(["--version"])
    limits = {}
    for j in (1, 2):
        rss = peak_rss_mib(["compress", model, "-o", os.path.join(tmp, "c%d.onnx" % j), "-j", str(j), "-q"])
        limits["compress -j %d" % j] = (rss, base + 2 * 10 * (j + 1))
    # A memory budget below one weight: one weight at a time whatever -j says.
    os.makedirs(os.path.join(tmp, "b"))
    rss = peak_rss_mib(["compress", model, "-o", os.path.join(tmp, "b", "c1.onnx"), "-j", "2",
                        "--max-memory", "1K", "-q"])
    limits["compress -j 2 --max-memory 1K"] = (rss, base + 2 * 10 * 2)
    if file_digest(os.path.join(tmp, "b", "c1.lsc")) != file_digest(os.path.join(tmp, "c1.lsc")):
        fail("--max-memory changed the bundle")
    os.makedirs(os.path.join(tmp, "r"))
    rss = peak_rss_mib(["decompress", os.path.join(tmp, "c1.onnx"), "-o", os.path.join(tmp, "r", "m.onnx")])
    limits["decompress"] = (rss, base + 2 * 10 * 2)
    # Weights inside the model file: initializers' raw_data and Constant nodes.
    os.makedirs(os.path.join(tmp, "inline"))
    specs = [("Gemm", (1280, 2048), 0.1, "constant" if i % 2 else "raw") for i in range(16)]
    inline, _ = make_model(os.path.join(tmp, "inline"), specs)
    rss = peak_rss_mib(["compress", inline, "-o", os.path.join(tmp, "inline", "c.onnx"), "-j", "1", "-q"])
    limits["compress -j 1, weights in the model file"] = (rss, base + 2 * 10 * 2)
    os.makedirs(os.path.join(tmp, "inline", "r"))
    rss = peak_rss_mib(["decompress", os.path.join(tmp, "inline", "c.onnx"), "-o",
                        os.path.join(tmp, "inline", "r", "m.onnx")])
    limits["decompress, weights in the model file"] = (rss, base + 2 * 10 * 2)
    for what, (rss, limit) in limits.items():
        print("memory: %s peak RSS %.0f MiB (limit %.0f, model %.0f MiB, one weight 10 MiB, base %.0f)" %
              (what, rss, limit, total, base))
        if rss > limit:
            fail("%s holds %.0f MiB at its peak: not streaming" % (what, rss))


def main():
    global EXE
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    EXE = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="lsc-scale-test-")
    try:
        {"jobs": test_jobs, "progress": test_progress, "offset64": test_offset64,
         "direct": test_direct,          "memory": test_memory}[sys.argv[2]](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
