#!/usr/bin/python3
"""The bad-input table (docs/bad-input.md): every hostile input the onnx-lsc command meets,
run for real. For each case: the exit code documented in docs/cli.md, exactly one
error line "onnx-lsc: ..." naming the file (and tensor where there is one) and the
reason, the inputs unchanged (SHA-256 before and after), and nothing left under the
output names (nor any temporary file, except after SIGKILL).

usage: test_bad.py ONNX_LSC            run the checks (exit 1 on any failure)
       test_bad.py ONNX_LSC --table    also print docs/bad-input.md (markdown) on stdout

tests/cli/test_cli.py checks usage errors and a first set of hostile models; this
test covers the whole table in one place, with stricter checks per
case, plus every single-byte corruption of a small bundle.
"""
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import cli_run  # noqa: E402
from cli_run import digest, tree  # noqa: E402
from onnx_models import external_weight  # noqa: E402

TOOL = os.path.abspath(sys.argv[1])
TABLE = "--table" in sys.argv[2:]
FAILURES = []
ROWS = []  # (case, command, exit code, message)

OK, USAGE, INVALID, IO, NOT_ONNX, BAD_MODEL, EXTERNAL = 0, 2, 11, 13, 14, 15, 16
BAD_BUNDLE, CHECKSUM, VERSION, UNSUPPORTED, TOO_LARGE = 17, 18, 19, 20, 21


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


# ---- XXH64 (seed 0), to forge bundles whose only fault is the one under test ----
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
M64 = (1 << 64) - 1


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    return (_rotl((acc + lane * P2) & M64, 31) * P1) & M64


def xxh64(data):
    n, i = len(data), 0
    if n >= 32:
        v = [(P1 + P2) & M64, P2, 0, (-P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = ((h ^ _round(0, v[k])) * P1 + P4) & M64
    else:
        h = P5
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    return h ^ (h >> 32)


def fix_header_checksum(b):
    b = bytearray(b)
    struct.pack_into("<Q", b, 56, xxh64(bytes(b[:56])))
    return bytes(b)


def toc_of(b):
    """The TOC of bundle bytes b (docs/format.md 2.2), decoded when the bundle is
    compact (2.5: header flag bit 0, the TOC one zstd frame)."""
    toc_offset, toc_size = struct.unpack_from("<QQ", b, 16)
    toc = bytes(b[toc_offset:toc_offset + toc_size])
    if struct.unpack_from("<I", b, 12)[0] & 1:
        toc = subprocess.run(["zstd", "-d", "-c", "-q"], input=toc, capture_output=True, check=True).stdout
    return bytearray(toc)


def with_toc(b, toc):
    """Bundle bytes b with `toc` (decoded form) in place of its TOC, coded again when b is
    compact, and the header's sizes and checksums made right."""
    b = bytearray(b)
    toc_offset = struct.unpack_from("<Q", b, 16)[0]
    stored = bytes(toc)
    if struct.unpack_from("<I", b, 12)[0] & 1:
        stored = subprocess.run(["zstd", "-19", "-c", "-q"], input=stored, capture_output=True, check=True).stdout
        struct.pack_into("<I", b, 44, len(toc))
    b = b[:toc_offset] + stored
    struct.pack_into("<QQ", b, 24, len(stored), len(b))
    struct.pack_into("<Q", b, 48, xxh64(stored))
    return fix_header_checksum(b)


def blob_checksum(blob):
    """A blob's checksum field (docs/format.md 1.1): XXH64 with bytes 8..15 read as zero."""
    return xxh64(bytes(blob[:8]) + bytes(8) + bytes(blob[16:]))


# ---- running the command ----
def run(args, limit_fsize=None):
    return cli_run.run(TOOL, args, limit_fsize)


def case(name, args, codes, work, names=(), inputs=(), outputs=(), limit_fsize=None):
    """Runs one case; checks exit code, one error line naming `names`, `inputs`
    unchanged and, on failure, no `outputs` and no new file in `work` (a success
    removes its `outputs`). Adds a table row; for a compress that succeeds, the
    message column gives each layer's status (--json)."""
    if codes == OK or codes == {OK}:
        args = [*args, "--json"] if args[0] == "compress" else args
    codes = codes if isinstance(codes, (set, tuple, list)) else {codes}
    hashes = {p: digest(p) for p in inputs}
    before = tree(work)
    r = run(args, limit_fsize)
    label = f"{name}: exit {r.returncode}"
    lines = r.stderr.strip().splitlines()
    if r.returncode not in codes:
        fail(f"{label}, expected {sorted(codes)}; stderr: {r.stderr.strip()[:300]}")
    if r.returncode != 0:
        problem = cli_run.error_output_problem(r)
        if problem:
            fail(f"{label}: {problem}")
        for want in names:
            if want not in r.stderr:
                fail(f"{label}: message does not name {want!r}: {r.stderr.strip()}")
    for p, h in hashes.items():
        if not os.path.exists(p) or digest(p) != h:
            fail(f"{name}: input {os.path.basename(p)} changed")
    for p in outputs:
        if os.path.exists(p):
            if r.returncode != 0:
                fail(f"{name}: output {os.path.basename(p)} left behind")
            os.remove(p)
    if r.returncode != 0 and tree(work) != before:
        fail(f"{name}: files left behind: {sorted(set(tree(work)) - set(before))}")
    msg = lines[0] if lines else ""
    if r.returncode == 0 and "--json" in args:
        import json
        layers = json.loads(r.stdout)["layers"]
        msg = "(success) " + ", ".join(f"layer '{x['name']}': {x['status']}" for x in layers)
        args = [a for a in args if a != "--json"]
    shown = [a.replace(work + "/", "").replace(work, ".") for a in args]
    ROWS.append((name, "onnx-lsc " + " ".join(shown), r.returncode, msg.replace(work + "/", "").replace(work, ".")))
    return r


# ---- models ----
def pruned(shape, density=0.1, seed=7):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) >= density] = 0
    return w


def gemm_model(w, name="w", extra_nodes=(), inits=None, save=None):
    rows, cols = w.shape
    nodes = [helper.make_node("Gemm", ["x", name], ["y"], transB=1, name="fc")] + list(extra_nodes)
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cols])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, rows])],
                          inits if inits is not None else [numpy_helper.from_array(w, name)])
    m = helper.make_model(g)
    if save:
        onnx.save(m, save)
    return m


def external_model(path, location, offset=0, length=None):
    w, t = external_weight("w_ext", location, offset, length)
    gemm_model(w, "w_ext", inits=[t], save=path)


def sub(work, name):
    d = os.path.join(work, name)
    os.makedirs(d)
    return d


def check_models(work):
    d = sub(work, "inputs")
    good = os.path.join(d, "good.onnx")
    gemm_model(pruned((64, 128)), save=good)
    data = open(good, "rb").read()
    out = os.path.join(d, "out.lsc.onnx")
    outs = (out, os.path.join(d, "out.lsc"))

    def write(name, content):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(content)
        return p

    def compress(name, path, codes, names=(), **kw):
        case(name, ["compress", path, "-o", out], codes, d, names=names,
             inputs=[path] if os.path.exists(path) else [], outputs=outs, **kw)

    compress("not a file (missing)", os.path.join(d, "missing.onnx"), IO, ["missing.onnx"])
    os.mkdir(os.path.join(d, "folder.onnx"))
    compress("a directory", os.path.join(d, "folder.onnx"), {IO, NOT_ONNX}, ["folder.onnx"])
    compress("empty file", write("empty.onnx", b""), NOT_ONNX, ["empty.onnx"])
    compress("not ONNX (text)", write("text.onnx", b"this is not a model\n" * 20), NOT_ONNX, ["text.onnx"])
    compress("not ONNX (random bytes)", write("random.onnx", np.random.default_rng(5).bytes(4096)),
             NOT_ONNX, ["random.onnx"])
    compress("truncated model (half)", write("half.onnx", data[: len(data) // 2]), NOT_ONNX, ["half.onnx"])
    compress("truncated model (last byte)", write("cut1.onnx", data[:-1]), NOT_ONNX, ["cut1.onnx"])

    # Graph faults: onnx-lsc rewrites only the weights it recognises and passes the rest
    # through; a cycle or a dangling name elsewhere is not its to judge (exit 0, the
    # output keeps the same fault), but the weights it reads must be consistent.
    w = pruned((32, 32))
    relu = helper.make_node("Relu", ["y"], ["x2"], name="loop_back")
    cyc = gemm_model(w, extra_nodes=[relu])
    cyc.graph.node[0].input[0] = "x2"  # fc consumes loop_back's output: a cycle
    onnx.save(cyc, os.path.join(d, "cycle.onnx"))
    compress("graph with a cycle", os.path.join(d, "cycle.onnx"), OK)
    dang = gemm_model(w, extra_nodes=[helper.make_node("Relu", ["nowhere"], ["z"], name="dangling")])
    onnx.save(dang, os.path.join(d, "dangling.onnx"))
    compress("dangling input name", os.path.join(d, "dangling.onnx"), OK)
    dw = gemm_model(w, name="no_such_weight", inits=[])
    onnx.save(dw, os.path.join(d, "dangling_w.onnx"))
    compress("weight name with no initializer", os.path.join(d, "dangling_w.onnx"), OK)

    # Inconsistent tensors: payload size against dims, types.
    t = numpy_helper.from_array(w, "w")
    t.raw_data = t.raw_data[:-4]
    onnx.save(gemm_model(w, inits=[t]), os.path.join(d, "short_raw.onnx"))
    compress("raw_data shorter than dims", os.path.join(d, "short_raw.onnx"), BAD_MODEL, ["short_raw.onnx", "'w'"])
    evil = "evil\nname\x1b[31m"  # a newline and a terminal escape in a tensor name
    t = numpy_helper.from_array(w, evil)
    t.raw_data = t.raw_data[:-4]
    onnx.save(gemm_model(w, name=evil, inits=[t]), os.path.join(d, "evil_name.onnx"))
    compress("tensor name with a newline and an escape (message stays one line)",
             os.path.join(d, "evil_name.onnx"), BAD_MODEL, ["evil_name.onnx", "'evil?name?[31m'"])
    t = numpy_helper.from_array(w, "w")
    t.ClearField("raw_data")
    t.float_data.extend([1.0] * 100)
    onnx.save(gemm_model(w, inits=[t]), os.path.join(d, "short_typed.onnx"))
    compress("float_data count not dims", os.path.join(d, "short_typed.onnx"), BAD_MODEL, ["short_typed.onnx", "'w'"])
    t = numpy_helper.from_array(w, "w")
    del t.dims[:]
    t.dims.extend([32, -32])
    onnx.save(gemm_model(w, inits=[t]), os.path.join(d, "neg_dim.onnx"))
    # A weight whose dims cannot be a matrix is not a candidate: left as it is.
    compress("negative dimension (weight left alone)", os.path.join(d, "neg_dim.onnx"), OK)
    t = numpy_helper.from_array(w, "w")
    del t.dims[:]
    t.dims.extend([1 << 40, 1 << 40])
    onnx.save(gemm_model(w, inits=[t]), os.path.join(d, "huge_dims.onnx"))
    compress("dims overflow 64 bits (weight left alone)", os.path.join(d, "huge_dims.onnx"), OK)
    t = numpy_helper.from_array(w, "w")
    t.data_type = TensorProto.UINT8  # 4x the elements' bytes for uint8 dims
    onnx.save(gemm_model(w, inits=[t]), os.path.join(d, "wrong_type.onnx"))
    compress("element type disagrees with payload (uint8: left alone)", os.path.join(d, "wrong_type.onnx"), OK)
    ti = numpy_helper.from_array((w * 100).astype(np.int32), "w")
    onnx.save(gemm_model(w, inits=[ti]), os.path.join(d, "int_weight.onnx"))
    compress("unsupported weight type (int32, left dense)", os.path.join(d, "int_weight.onnx"), OK)


def check_external(work):
    d = sub(work, "external")
    out = os.path.join(d, "out.lsc.onnx")
    outs = (out, os.path.join(d, "out.lsc"))
    blob = b"\0" * 1024
    with open(os.path.join(d, "weights.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(work, "outside.bin"), "wb") as f:
        f.write(blob)
    os.symlink(os.path.join(work, "outside.bin"), os.path.join(d, "link.bin"))
    os.symlink("../outside.bin", os.path.join(d, "rel_link.bin"))
    os.mkdir(os.path.join(d, "folder.bin"))
    data_files = [os.path.join(d, "weights.bin"), os.path.join(work, "outside.bin")]
    for name, loc, off, length, names in (
            ("external data missing", "absent.bin", 0, None, ["absent.bin"]),
            ("external data truncated (file shorter)", "weights.bin", 1000, None, ["weights.bin"]),
            ("external data offset out of range", "weights.bin", 1 << 62, None, ["weights.bin"]),
            ("external data offset + length overflow", "weights.bin", (1 << 64) - 8, None, ["weights.bin"]),
            ("external data length disagrees with dims", "weights.bin", 0, 12, ["'w_ext'"]),
            ("external data absolute path", "/etc/passwd", 0, None, ["/etc/passwd"]),
            ("external data escaping with ..", "../outside.bin", 0, None, ["../outside.bin"]),
            ("external data symbolic link out (absolute)", "link.bin", 0, None, ["link.bin"]),
            ("external data symbolic link out (relative)", "rel_link.bin", 0, None, ["rel_link.bin"]),
            ("external data names a folder", "folder.bin", 0, None, ["folder.bin"])):
        p = os.path.join(d, "m.onnx")
        external_model(p, loc, off, length)
        case(name, ["compress", p, "-o", out], EXTERNAL, d, names=["m.onnx", "'w_ext'"] + names,
             inputs=[p] + data_files, outputs=outs)


def check_restore_escape(work):
    """decompress re-creates a weight's external data file beside the restored model
    (docs/format.md 3.2): a symbolic link in the output folder must not lead that
    write, or the comparison with an existing file, outside the folder."""
    src, dst, victim = sub(work, "r_src"), sub(work, "r_dst"), sub(work, "r_victim")
    os.mkdir(os.path.join(src, "sub"))
    w = np.zeros((32, 32), np.float32)
    w[::4, ::3] = 1.5
    t = numpy_helper.from_array(w, "w_sub")
    with open(os.path.join(src, "sub", "w.bin"), "wb") as f:
        f.write(t.raw_data)
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "sub/w.bin"), ("offset", "0"), ("length", str(w.nbytes))):
        e = t.external_data.add()
        e.key, e.value = k, v
    gemm_model(w, "w_sub", inits=[t], save=os.path.join(src, "m.onnx"))
    r = run(["compress", os.path.join(src, "m.onnx"), "-q"])
    if r.returncode != 0:
        fail(f"restore escape: compress failed: {r.stderr.strip()}")
        return
    for name in ("m.lsc.onnx", "m.lsc"):
        shutil.copy(os.path.join(src, name), dst)
    os.symlink(victim, os.path.join(dst, "sub"))
    rw, out = os.path.join(dst, "m.lsc.onnx"), os.path.join(dst, "back.onnx")
    case("decompress: external data folder is a symbolic link out (write)", ["decompress", rw, "-o", out],
         EXTERNAL, dst, names=["sub/w.bin"], inputs=[rw, os.path.join(dst, "m.lsc")], outputs=[out])
    if os.listdir(victim):
        fail(f"decompress wrote outside its folder: {os.listdir(victim)}")
    with open(os.path.join(victim, "w.bin"), "wb") as f:
        f.write(b"\0" * w.nbytes)
    case("decompress: existing external data reached through a link out (read)", ["decompress", rw, "-o", out],
         EXTERNAL, dst, names=["sub/w.bin"], inputs=[rw, os.path.join(victim, "w.bin")], outputs=[out])


def small_bundle(work):
    """A compressed model and its bundle (a few hundred bytes)."""
    d = sub(work, "bundle")
    w = np.zeros((16, 24), np.float32)
    w[1, 2], w[5, 20], w[15, 0] = 1.5, -2.25, 3.0
    src = os.path.join(d, "m.onnx")
    gemm_model(w, save=src)
    r = run(["compress", src, "-q"])
    if r.returncode != 0:
        fail(f"small bundle: compress failed: {r.stderr.strip()}")
    return d, os.path.join(d, "m.lsc.onnx"), os.path.join(d, "m.lsc")


def check_bundles(work):
    d, rw, bundle = small_bundle(work)
    good = open(bundle, "rb").read()
    out = os.path.join(d, "back.onnx")

    def variant(name, content, codes, names=("m.lsc",)):
        with open(bundle, "wb") as f:
            f.write(content)
        case(name, ["decompress", rw, "-o", out], codes, d, names=names, inputs=[rw, bundle],
             outputs=[out])

    n = len(good)
    future = bytearray(good)
    struct.pack_into("<H", future, 8, 2)
    minor = bytearray(good)
    struct.pack_into("<H", minor, 10, 7)
    variant("bundle missing", b"", {IO, BAD_BUNDLE})  # replaced below by a real removal
    ROWS.pop()
    os.remove(bundle)
    case("bundle missing", ["decompress", rw, "-o", out], IO, d, names=["m.lsc"], inputs=[rw], outputs=[out])
    outside = os.path.join(work, "outside.lsc")
    with open(outside, "wb") as f:
        f.write(good)
    os.symlink(outside, bundle)
    case("bundle is a symbolic link out of the folder", ["decompress", rw, "-o", out], EXTERNAL, d,
         names=["m.lsc", "symbolic link"], inputs=[rw, outside], outputs=[out])
    os.remove(bundle)
    variant("bundle empty", b"", BAD_BUNDLE)
    variant("bundle truncated (half)", good[: n // 2], BAD_BUNDLE)
    variant("bundle truncated (TOC cut)", good[:-8], BAD_BUNDLE)
    variant("bundle extended (bytes appended)", good + b"\0" * 8, BAD_BUNDLE)
    variant("bundle wrong magic", b"\x89LSD" + good[4:], BAD_BUNDLE)
    variant("bundle future major version", fix_header_checksum(bytes(future)), VERSION)
    variant("bundle header checksum mismatch", good[:20] + bytes([good[20] ^ 1]) + good[21:], CHECKSUM)
    variant("bundle blob checksum mismatch (value byte)", good[:64 + 73] + bytes([good[64 + 73] ^ 0x40]) + good[64 + 74:],
            CHECKSUM)
    variant("bundle TOC checksum mismatch", good[:-3] + bytes([good[-3] ^ 0x08]) + good[-2:], CHECKSUM)
    with open(bundle, "wb") as f:
        f.write(fix_header_checksum(bytes(minor)))
    r = run(["decompress", rw, "-o", out])
    ROWS.append(("bundle newer minor version (accepted)", "onnx-lsc decompress m.lsc.onnx -o back.onnx",
                 r.returncode, r.stderr.strip()))
    if r.returncode != 0:
        fail(f"bundle with minor 7: exit {r.returncode} ({r.stderr.strip()}), a newer minor must be read")
    if os.path.exists(out):
        os.remove(out)

    # A compressed model given to compress again, also with its opset import damaged.
    case("compress of a compressed model", ["compress", rw, "-o", os.path.join(d, "again.onnx")], UNSUPPORTED, d,
         names=["m.lsc.onnx", "already compressed"], inputs=[rw, bundle], outputs=[os.path.join(d, "again.onnx")])
    m = onnx.load(rw, load_external_data=False)
    for o in m.opset_import:
        if o.domain == "ai.onnx_lsc":
            o.domain = "aio.nnx_lsc"
    damaged = os.path.join(d, "damaged.lsc.onnx")
    onnx.save(m, damaged)
    case("LSC nodes without the ai.onnx_lsc import", ["compress", damaged, "-o", os.path.join(d, "again.onnx")],
         UNSUPPORTED, d, names=["damaged.lsc.onnx", "already compressed"], inputs=[damaged, bundle],
         outputs=[os.path.join(d, "again.onnx")])
    os.remove(damaged)
    # Our restore records on a model without our nodes (found by fuzz_model): passed on,
    # the output would not decompress.
    m = onnx.load(os.path.join(d, "m.onnx"), load_external_data=False)
    m.metadata_props.add(key="ai.onnx_lsc.graph_inputs", value="0 1 w\n")
    stray = os.path.join(d, "stray-metadata.onnx")
    onnx.save(m, stray)
    case("ai.onnx_lsc metadata without LSC nodes", ["compress", stray, "-o", os.path.join(d, "again.onnx")],
         UNSUPPORTED, d, names=["stray-metadata.onnx", "already compressed"], inputs=[stray],
         outputs=[os.path.join(d, "again.onnx")])
    os.remove(stray)

    # Every single-byte corruption: each byte XOR 0x01, 0x80 and 0xFF. Never exit 0.
    reference = None
    with open(bundle, "wb") as f:
        f.write(good)
    r = run(["decompress", rw, "-o", out])
    if r.returncode != 0:
        fail(f"good bundle does not decompress: {r.stderr.strip()}")
    else:
        reference = digest(out)
        os.remove(out)
    codes_seen = {}
    for pos in range(n):
        for mask in (0x01, 0x80, 0xFF):
            content = good[:pos] + bytes([good[pos] ^ mask]) + good[pos + 1:]
            with open(bundle, "wb") as f:
                f.write(content)
            r = run(["decompress", rw, "-o", out])
            codes_seen[r.returncode] = codes_seen.get(r.returncode, 0) + 1
            if r.returncode == 0:
                same = reference is not None and digest(out) == reference
                fail(f"bundle byte {pos} ^ 0x{mask:02x}: decompress succeeded"
                     f" ({'same' if same else 'WRONG'} weights)")
            elif r.returncode not in (BAD_BUNDLE, CHECKSUM, VERSION):
                fail(f"bundle byte {pos} ^ 0x{mask:02x}: exit {r.returncode}: {r.stderr.strip()}")
            elif len(r.stderr.strip().splitlines()) != 1:
                fail(f"bundle byte {pos} ^ 0x{mask:02x}: not one error line: {r.stderr!r}")
            if os.path.exists(out):
                fail(f"bundle byte {pos} ^ 0x{mask:02x}: output left behind")
                os.remove(out)
    summary = ", ".join(f"{c}: {k}" for c, k in sorted(codes_seen.items()))
    ROWS.append((f"every single-byte corruption of a {n}-byte bundle ({3 * n} files: each byte ^ 0x01, 0x80, 0xFF)",
                 "onnx-lsc decompress m.lsc.onnx -o back.onnx", "17/18/19",
                 f"exit codes seen (code: count) {summary}"))
    with open(bundle, "wb") as f:
        f.write(good)


def quantized_model(path, axis=0, n=16, k=24):
    """A Gemm whose B (transB=1, n x k) is uint8 read through DequantizeLinear per channel."""
    w = pruned((n, k), density=0.2)
    zp = np.arange(100, 100 + n, dtype=np.uint8)
    q = np.where(w != 0, np.clip(np.round(w * 20) + zp[:, None], 0, 255), zp[:, None]).astype(np.uint8)
    n_scale = n if axis == 0 else k
    zp = zp if axis == 0 else np.full(k, 100, np.uint8)
    inits = [numpy_helper.from_array(q, "q"), numpy_helper.from_array(np.full(n_scale, 0.05, np.float32), "s"),
             numpy_helper.from_array(zp[:n_scale], "z")]
    nodes = [helper.make_node("DequantizeLinear", ["q", "s", "z"], ["w"], axis=axis),
             helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def check_quantized(work):
    """8-bit weights (docs/format.md 3.1): damaged records of a fused DequantizeLinear."""
    d = sub(work, "quantized")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    quantized_model(src)
    r = run(["compress", src, "-o", rw])
    if r.returncode != 0:
        fail(f"quantized model does not compress: {r.stderr.strip()}")
        return
    good = onnx.load(rw, load_external_data=False)

    def damaged(name, change):
        m = onnx.ModelProto()
        m.CopyFrom(good)
        op = next(n for n in m.graph.node if n.domain == "ai.onnx_lsc")
        attrs = {a.name: a for a in op.attribute}
        change(op, attrs)
        onnx.save(m, rw)
        case(name, ["decompress", rw, "-o", out], BAD_MODEL, d, names=["m.lsc.onnx", "lsc_dequantize"],
             inputs=[rw], outputs=[out])

    damaged("fused DequantizeLinear: removed node position out of range",
            lambda op, a: a["lsc_dequantize"].ints.__setitem__(1, 99))
    damaged("fused DequantizeLinear: removed node does not parse",
            lambda op, a: a["lsc_dequantize_nodes"].strings.__setitem__(1, b"\xff\xff\xff"))
    damaged("fused DequantizeLinear: one of its two attributes missing",
            lambda op, a: op.attribute.remove(a["lsc_dequantize_nodes"]))
    damaged("fused DequantizeLinear: original input count above the node's",
            lambda op, a: a["lsc_dequantize"].ints.__setitem__(0, 9))
    quantized_model(src, n=64, k=96)  # large enough for the entropy tier to pay
    check_quantized_entropy(d, src, rw, out)
    os.remove(rw)
    os.remove(os.path.join(d, "m.lsc"))
    per_input = os.path.join(d, "axis1.onnx")
    quantized_model(per_input, axis=1)
    case("8-bit weight quantized along its input channels (left dense)", ["compress", per_input, "-o", rw], OK, d,
         inputs=[per_input], outputs=[rw, os.path.join(d, "axis1.lsc")])


def dynamic_model(path, n=24, k=32):
    """quantize_dynamic's chain for one layer: DynamicQuantizeLinear -> MatMulInteger (B
    int8 k x n, pruned) -> Cast -> Mul (scales) -> Mul -> Add (bias)."""
    b = np.clip(np.round(pruned((k, n), density=0.2) * 40), -63, 63).astype(np.int8)
    inits = [numpy_helper.from_array(b, "B"), numpy_helper.from_array(np.full(n, 0.01, np.float32), "ws"),
             numpy_helper.from_array(np.zeros(n, np.int8), "bz"), numpy_helper.from_array(np.ones(n, np.float32), "b")]
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
             helper.make_node("MatMulInteger", ["xq", "B", "xz", "bz"], ["i"], name="fc"),
             helper.make_node("Cast", ["i"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["xs", "ws"], ["s"]), helper.make_node("Mul", ["f", "s"], ["m"]),
             helper.make_node("Add", ["m", "b"], ["y"])]
    g = helper.make_graph(nodes, "dynamic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def check_dynamic(work):
    """A fused dynamic quantization chain (LscDynamicQuantMatMul, docs/format.md 3.1):
    damaged lsc_fused_io records."""
    d = sub(work, "dynamic")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    dynamic_model(src)
    r = run(["compress", src, "-o", rw])
    good = onnx.load(rw, load_external_data=False) if r.returncode == 0 else None
    if not good or not any(n.op_type == "LscDynamicQuantMatMul" for n in good.graph.node):
        fail(f"dynamic model does not compress to LscDynamicQuantMatMul: {r.stderr.strip()}")
        return

    def damaged(name, change, attr):
        m = onnx.ModelProto()
        m.CopyFrom(good)
        op = next(n for n in m.graph.node if n.domain == "ai.onnx_lsc")
        change(op, {a.name: a for a in op.attribute})
        onnx.save(m, rw)
        case(name, ["decompress", rw, "-o", out], BAD_MODEL, d, names=["m.lsc.onnx", "'fc'", attr],
             inputs=[rw], outputs=[out])

    damaged("fused dynamic chain: one original input name too few",
            lambda op, a: a["lsc_fused_io"].strings.pop(), "lsc_fused_io")
    damaged("fused dynamic chain: original weight name not the record's",
            lambda op, a: a["lsc_fused_io"].strings.__setitem__(1, b"other"), "lsc_fused_io")
    damaged("fused dynamic chain: a NUL byte in an original name",
            lambda op, a: a["lsc_fused_io"].strings.__setitem__(0, b"x\x00y"), "lsc_fused_io")
    damaged("fused dynamic chain: lsc_fused_io missing (its Add then writes the op's output)",
            lambda op, a: op.attribute.remove(a["lsc_fused_io"]), "lsc_activation")
    os.remove(rw)
    os.remove(os.path.join(d, "m.lsc"))


def check_quantized_entropy(d, src, rw, out):
    """compress --entropy of an 8-bit weight (entropy blob version 3, docs/format.md 4):
    a damaged byte, and the blob relabelled version 2 with every checksum renewed."""
    bundle = os.path.join(d, "m.lsc")
    r = run(["compress", src, "-o", rw, "-f", "--entropy"])
    good = open(bundle, "rb").read()
    at = good.find(b"LSCC\x03")  # a compact entropy blob (4.8) of version 3
    if r.returncode != 0 or at < 0:
        fail(f"quantized model: no 8-bit entropy blob from compress --entropy: {r.stderr.strip()}")
        return
    entry, _, size = next(e for e in toc_entries(good) if e[1] == at)  # its TOC entry (2.2)

    def variant(name, content, codes, names):
        with open(bundle, "wb") as f:
            f.write(content)
        case(name, ["decompress", rw, "-o", out], codes, d, names=["m.lsc", "'q'"] + names, inputs=[rw, bundle],
             outputs=[out])

    last = at + size - 1
    variant("8-bit entropy blob: last byte damaged", good[:last] + bytes([good[last] ^ 0x10]) + good[last + 1:],
            CHECKSUM, ["checksum"])
    old = bytearray(good)
    old[at + 4] = 2  # version 2 readers code float weights only
    struct.pack_into("<Q", old, at + 8, blob_checksum(old[at:at + size]))
    toc = toc_of(old)
    toc[entry + 16:entry + 24] = old[at + 8:at + 16]
    variant("8-bit entropy blob labelled version 2 (checksums renewed)", with_toc(old, toc),
            BAD_BUNDLE, ["8-bit", "version 2"])
    with open(bundle, "wb") as f:
        f.write(good)


def check_decode(work):
    """LscDecode (docs/format.md 3.1): a damaged node restoring an encoded table."""
    d = sub(work, "decode")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    nodes = [helper.make_node("Add", ["x", "t"], ["y"])]
    g = helper.make_graph(nodes, "decode", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 32])],
                          [numpy_helper.from_array(pruned((64, 32), density=0.2), "t")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    case("table read by Add only (LscDecode)", ["compress", src, "-o", rw], OK, d, inputs=[src],
         outputs=[rw, os.path.join(d, "m.lsc")])
    r = run(["compress", src, "-o", rw])
    if r.returncode != 0:
        fail(f"decode model does not compress: {r.stderr.strip()}")
        return
    good = onnx.load(rw, load_external_data=False)

    def damaged(name, change, codes=BAD_MODEL):
        m = onnx.ModelProto()
        m.CopyFrom(good)
        change(m.graph, next(n for n in m.graph.node if n.op_type == "LscDecode"))
        onnx.save(m, rw)
        case(name, ["decompress", rw, "-o", out], codes, d, names=["m.lsc.onnx", "t.lsc"], inputs=[rw], outputs=[out])

    damaged("LscDecode: output renamed (not the restored initializer's name)",
            lambda g, n: n.output.__setitem__(0, "other"))
    damaged("LscDecode: an attribute added", lambda g, n: n.attribute.append(helper.make_attribute("axis", 1)))
    damaged("LscDecode: a second output", lambda g, n: n.output.append("t2"))
    damaged("LscDecode: its blob also read by another node",
            lambda g, n: g.node.append(helper.make_node("Identity", ["t.lsc"], ["t3"])))
    damaged("LscDecode: op type of another element type (LscDecodeFloat16 for a float32 blob)",
            lambda g, n: setattr(n, "op_type", "LscDecodeFloat16"))
    # A Constant node's table: the Constant keeps its place, LscDecode follows it.
    const = helper.make_node("Constant", [], ["t"], value=numpy_helper.from_array(pruned((64, 32), density=0.2)))
    g = helper.make_graph([const] + nodes, "decode", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [64, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [64, 32])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    for p in (rw, os.path.join(d, "m.lsc")):
        os.remove(p)
    case("Constant table read by Add only (LscDecode)", ["compress", src, "-o", rw], OK, d, inputs=[src],
         outputs=[rw, os.path.join(d, "m.lsc")])
    if run(["compress", src, "-o", rw]).returncode != 0:
        fail("Constant decode model does not compress")
        return
    good = onnx.load(rw, load_external_data=False)
    damaged("LscDecode of a Constant: an attribute added",
            lambda g, n: n.attribute.append(helper.make_attribute("axis", 1)))


def pack_variant(good, change, magic=b"LSCD"):
    """The bundle bytes with its dense pack (docs/format.md part 5), or the entry of
    another magic (the names entry, part 6: b"LSCN"), changed in place by
    change(bytearray) and every checksum over it made right again (pack, TOC entry,
    TOC, header), so that the reader's own checks of the pack are what fails."""
    b = bytearray(good)
    n = struct.unpack_from("<I", b, 40)[0]
    toc, p = toc_of(b), 0
    for _ in range(n):
        off, size, _, name_len, restore_len = struct.unpack_from("<QQQII", toc, p)
        if b[off:off + 4] == magic:
            pack = bytearray(b[off:off + size])
            change(pack)
            struct.pack_into("<Q", pack, 8, blob_checksum(pack))
            b[off:off + size] = pack
            struct.pack_into("<Q", toc, p + 16, struct.unpack_from("<Q", pack, 8)[0])
        p += (32 + name_len + restore_len + 7) // 8 * 8
    return with_toc(b, toc)


def flip_first_entry_end(b):
    """The bundle bytes with the last byte of its first TOC entry's blob flipped."""
    b = bytearray(b)
    off, size = struct.unpack_from("<QQ", toc_of(b), 0)
    b[off + size - 1] ^= 0x40
    return bytes(b)


def bundle_case(name, content, codes, d, rw, out, good_bundle, entry):
    """decompress of rw with its bundle (m.lsc) holding `content`: the message names
    the bundle and the entry; the good bytes are put back after."""
    bundle = os.path.join(d, "m.lsc")
    with open(bundle, "wb") as f:
        f.write(content)
    case(name, ["decompress", rw, "-o", out], codes, d, names=["m.lsc:", entry], inputs=[rw, bundle], outputs=[out])
    with open(bundle, "wb") as f:
        f.write(good_bundle)


def check_pack(work):
    """The dense pack of --entropy (docs/format.md part 5): damaged bytes and a damaged
    LscUnpack node."""
    d = sub(work, "pack")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    bundle = os.path.join(d, "m.lsc")
    # (different values: a version-1 pack; equal ones would make a version 2, 5.2)
    grid = [numpy_helper.from_array((np.arange(512, dtype=np.float32) % m) / 16 - 1, nm)
            for nm, m in (("p.a", 37), ("p.b", 31))]
    nodes = [helper.make_node("Add", ["x", "p.a"], ["a"]), helper.make_node("Mul", ["a", "p.b"], ["y"])]
    g = helper.make_graph(nodes, "pack", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 512])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 512])], grid)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    case("dense tensors only, --entropy (one dense pack)", ["compress", src, "-o", rw, "--entropy"], OK, d,
         inputs=[src], outputs=[rw, bundle])
    # --keep-graph: the cases below edit the model file (docs/format.md part 7)
    r = run(["compress", src, "-o", rw, "--entropy", "--keep-graph", "-f"])
    if r.returncode != 0:
        fail(f"pack model does not compress: {r.stderr.strip()}")
        return
    good_bundle = open(bundle, "rb").read()
    good = onnx.load(rw, load_external_data=False)

    def bad_bytes(name, content, codes):
        bundle_case(name, content, codes, d, rw, out, good_bundle, "lsc.dense")

    bad_bytes("dense pack: a value byte flipped (checksum)", flip_first_entry_end(good_bundle), CHECKSUM)
    bad_bytes("dense pack: version 3", pack_variant(good_bundle, lambda p: struct.pack_into("<I", p, 4, 3)), VERSION)
    bad_bytes("dense pack: reserved bytes not zero",
              pack_variant(good_bundle, lambda p: struct.pack_into("<I", p, 20, 1)), BAD_BUNDLE)
    bad_bytes("dense pack: records size larger than its frame can hold",
              pack_variant(good_bundle, lambda p: struct.pack_into("<Q", p, 24, 1 << 40)), BAD_BUNDLE)
    bad_bytes("dense pack: one value more than its records hold",
              pack_variant(good_bundle, lambda p: struct.pack_into("<Q", p, 40, struct.unpack_from("<Q", p, 40)[0] + 1)),
              BAD_BUNDLE)
    bad_bytes("dense pack: tensor count above its records",
              pack_variant(good_bundle, lambda p: struct.pack_into("<I", p, 16, 3)), BAD_BUNDLE)

    def damaged(name, change, codes=BAD_MODEL, names=("m.lsc.onnx", "LscUnpack")):
        m = onnx.ModelProto()
        m.CopyFrom(good)
        change(m.graph, next(n for n in m.graph.node if n.op_type == "LscUnpack"))
        onnx.save(m, rw)
        case(name, ["decompress", rw, "-o", out], codes, d, names=names, inputs=[rw], outputs=[out])

    damaged("LscUnpack: an output renamed (not the restored tensor's name)", lambda g, n: n.output.__setitem__(1, "q"),
            BAD_BUNDLE)
    damaged("LscUnpack: an output missing", lambda g, n: n.output.pop())
    damaged("LscUnpack: a node name added", lambda g, n: setattr(n, "name", "unpack"))
    damaged("LscUnpack: a second LscUnpack node", lambda g, n: g.node.append(n), names=("m.lsc.onnx", "LscUnpack"))
    damaged("LscUnpack: its input not an initializer", lambda g, n: n.input.__setitem__(0, "x"))

    # Version 2 (5.2): records of If bodies; the body they name is gone from the graph.
    vals = [numpy_helper.from_array((np.arange(512, dtype=np.float32) % 29) / 8 - 1, nm) for nm in ("k", "k2")]
    then_g = helper.make_graph([helper.make_node("Constant", [], ["k"], value=vals[0]),
                                helper.make_node("Mul", ["x", "k"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 512])])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["k2"], value=vals[0]),
                                helper.make_node("Add", ["x", "k2"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 512])])
    g = helper.make_graph([helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)], "bodies",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 512]),
                           helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 512])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    r = run(["compress", src, "-o", rw, "--entropy", "--keep-graph", "-f"])
    good = onnx.load(rw, load_external_data=False) if r.returncode == 0 else None
    if not good or len(good.graph.node[0].output) != 2:
        fail(f"bodies pack model: no LscUnpack with 2 outputs from compress --entropy: {r.stderr.strip()}")
        return
    damaged("LscUnpack: the If body its pack's records name is gone (version 2)",
            lambda g, n: g.node.remove(next(x for x in g.node if x.op_type == "If")), BAD_BUNDLE)


def check_names(work):
    """The names entry of --entropy (docs/format.md part 6): damaged bytes, a damaged
    metadata record, a graph that already holds an original name."""
    d = sub(work, "names")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    bundle = os.path.join(d, "m.lsc")
    nodes, prev = [], "x"
    for i in range(24):  # exporter-like names, long enough for the entry to pay
        out_name = f"/model/encoder/layers.{i}/activation/Relu_output_0"
        nodes.append(helper.make_node("Relu", [prev], [out_name], name=f"/model/encoder/layers.{i}/activation/Relu"))
        prev = out_name
    nodes.append(helper.make_node("Identity", [prev], ["y"], name="/model/output/Identity"))
    g = helper.make_graph(nodes, "names", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    # --keep-graph: the cases below edit the model file (docs/format.md part 7)
    r = run(["compress", src, "-o", rw, "--entropy", "--keep-graph"])
    good = onnx.load(rw, load_external_data=False) if r.returncode == 0 else None
    record = [p for p in good.metadata_props if p.key == "ai.onnx_lsc.names"] if good else []
    if not record or any(len(n.name) > 2 for n in good.graph.node):
        fail(f"names model: no short names from compress --entropy: {r.stderr.strip()}")
        return
    good_bundle = open(bundle, "rb").read()

    def bad_bytes(name, content, codes):
        bundle_case(name, content, codes, d, rw, out, good_bundle, "lsc.names")

    def names_variant(change):
        return pack_variant(good_bundle, change, b"LSCN")

    bad_bytes("names entry: a byte flipped (checksum)", flip_first_entry_end(good_bundle), CHECKSUM)
    bad_bytes("names entry: version 2", names_variant(lambda p: struct.pack_into("<I", p, 4, 2)), VERSION)
    bad_bytes("names entry: more names than its bytes hold",
              names_variant(lambda p: struct.pack_into("<I", p, 16, 1 << 20)), BAD_BUNDLE)
    bad_bytes("names entry: no names", names_variant(lambda p: struct.pack_into("<II", p, 16, 0, 0)), BAD_BUNDLE)
    bad_bytes("names entry: decoded size larger than its frame can hold",
              names_variant(lambda p: struct.pack_into("<Q", p, 24, 1 << 40)), BAD_BUNDLE)
    bad_bytes("names entry: decoded size one byte short of its frame's",
              names_variant(lambda p: struct.pack_into("<Q", p, 24, struct.unpack_from("<Q", p, 24)[0] - 1)),
              BAD_BUNDLE)
    bad_bytes("names entry: one node pair counted as a value pair",
              names_variant(lambda p: struct.pack_into("<II", p, 16, struct.unpack_from("<I", p, 16)[0] + 1,
                                                       struct.unpack_from("<I", p, 20)[0] - 1)), BAD_BUNDLE)

    def damaged(name, change, codes, names):
        m = onnx.ModelProto()
        m.CopyFrom(good)
        change(m, next(p for p in m.metadata_props if p.key == "ai.onnx_lsc.names"))
        onnx.save(m, rw)
        case(name, ["decompress", rw, "-o", out], codes, d, names=names, inputs=[rw], outputs=[out])

    damaged("names record: not ENTRY@LOCATION", lambda m, p: setattr(p, "value", "lsc.names"), BAD_MODEL,
            ["m.lsc.onnx", "ai.onnx_lsc.names"])
    damaged("names record: an entry the bundle does not hold", lambda m, p: setattr(p, "value", "lsc.other@m.lsc"),
            BAD_BUNDLE, ["m.lsc.onnx", "lsc.other"])
    damaged("names record: a second record", lambda m, p: m.metadata_props.append(p), BAD_MODEL,
            ["m.lsc.onnx", "ai.onnx_lsc.names"])
    damaged("names: the graph already holds an original name",
            lambda m, p: m.graph.node[-1].output.__setitem__(0, "/model/encoder/layers.3/activation/Relu_output_0"),
            BAD_BUNDLE, ["m.lsc.onnx", "layers.3"])
    os.remove(rw)
    os.remove(bundle)


def check_activation(work):
    """An activation folded into an LSC op (docs/format.md 3.1): damaged attributes
    and restore records; decompress names the node and exits as for a fused chain."""
    d = sub(work, "activation")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], transB=1, name="fc"),
             helper.make_node("Relu", ["g"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "act", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 24])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
                          [numpy_helper.from_array(pruned((16, 24), density=0.2), "w")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), src)
    r = run(["compress", src, "-o", rw])
    if r.returncode != 0:
        fail(f"model with a Relu does not compress: {r.stderr.strip()}")
        return
    good = onnx.load(rw, load_external_data=False)

    def damaged(name, change, attr):
        m = onnx.ModelProto()
        m.CopyFrom(good)
        op = next(n for n in m.graph.node if n.domain == "ai.onnx_lsc")
        change(op, {a.name: a for a in op.attribute})
        onnx.save(m, rw)
        case(name, ["decompress", rw, "-o", out], BAD_MODEL, d, names=["m.lsc.onnx", "'fc'", attr],
             inputs=[rw], outputs=[out])

    def set_name(value):
        return lambda op, a: setattr(a["lsc_activation"], "s", value)

    damaged("folded activation: unknown activation name", set_name(b"Gelu"), "lsc_activation")
    damaged("folded activation: parameters that do not fit it",
            lambda op, a: op.attribute.append(helper.make_attribute("lsc_activation_params", [0.5, 1.0])),
            "lsc_activation_params")
    damaged("folded activation: another activation than the recorded node",
            lambda op, a: (set_name(b"Clip")(op, a),
                           op.attribute.append(helper.make_attribute("lsc_activation_params", [0.0, 1.0]))),
            "lsc_activation")
    damaged("folded activation: recorded node does not parse",
            lambda op, a: a["lsc_dequantize_nodes"].strings.__setitem__(1, b"\xff\xff\xff"), "lsc_dequantize_nodes")
    damaged("folded activation: restore record missing",
            lambda op, a: (op.attribute.remove(a["lsc_dequantize"]), op.attribute.remove(a["lsc_dequantize_nodes"])),
            "lsc_dequantize")
    os.remove(rw)
    os.remove(os.path.join(d, "m.lsc"))


def check_outputs(work):
    d, rw, bundle = small_bundle(os.path.join(work, "o"))
    src = os.path.join(d, "m.onnx")
    case("output folder does not exist", ["compress", src, "-o", os.path.join(d, "nodir", "x.onnx")], IO, d,
         names=["nodir"], inputs=[src])
    os.mkdir(os.path.join(d, "taken.onnx"))
    case("output path is a directory", ["compress", src, "-o", os.path.join(d, "taken.onnx")], IO, d,
         names=["taken.onnx"], inputs=[src])
    case("output in /proc (not writable, even for root)", ["compress", src, "-o", "/proc/lsc-test.onnx"], IO, d,
         names=["/proc/lsc-test"], inputs=[src])
    case("output would overwrite the input", ["compress", src, "-o", src], INVALID, d, names=["m.onnx"],
         inputs=[src])
    # One overwrite rule for every command: an existing output needs -f (docs/cli.md).
    case("decompress output exists (no -f)", ["decompress", rw], INVALID, d, names=["m.onnx"],
         inputs=[src, rw, bundle])
    case("compress output exists (no -f)", ["compress", src], INVALID, d, names=["m.lsc.onnx", "-f"],
         inputs=[src, rw, bundle])
    case("compress bundle exists (no -f)", ["compress", src, "-o", os.path.join(d, "n.onnx"),
         "--bundle", bundle], INVALID, d, names=["m.lsc", "-f"], inputs=[src, rw, bundle])
    case("decompress -o onto an existing file (no -f)", ["decompress", rw, "-o", src], INVALID, d,
         names=["m.onnx", "-f"], inputs=[src, rw, bundle])
    case("stats --html onto an existing file (no -f)", ["stats", src, "--html", bundle], INVALID, d,
         names=["m.lsc", "-f"], inputs=[src, rw, bundle])
    case("stats --html onto its model (even with -f)", ["stats", src, "--html", src, "-f"], INVALID, d,
         names=["m.onnx", "input"], inputs=[src])
    case("decompress -f onto its own bundle", ["decompress", rw, "-o", bundle, "-f"], INVALID, d,
         names=["m.lsc"], inputs=[src, rw, bundle])
    big = os.path.join(d, "big.onnx")
    gemm_model(pruned((256, 1024), 0.2), save=big)
    outs = [os.path.join(d, "big.lsc.onnx"), os.path.join(d, "big.lsc")]
    case("disk full while compressing (RLIMIT_FSIZE 64 KiB)", ["compress", big, "-q"], IO, d,
         names=["big.lsc"], inputs=[big], outputs=outs, limit_fsize=64 << 10)
    case("disk full while decompressing (RLIMIT_FSIZE 1 KiB)", ["decompress", rw, "-o", os.path.join(d, "r.onnx")],
         IO, d, names=["r.onnx"], inputs=[rw, bundle], outputs=[os.path.join(d, "r.onnx")],
         limit_fsize=1 << 10)


def complete_bundle(path):
    """A whole bundle: its magic, and the file_size its header records (docs/format.md 2.1)."""
    with open(path, "rb") as f:
        head = f.read(64)
    return (len(head) == 64 and head[:8] == b"\x89LSC\r\n\x1a\n" and
            int.from_bytes(head[32:40], "little") == os.path.getsize(path))


def check_interrupted(work):
    """SIGKILL during compress of a larger model: nothing under the final names,
    input unchanged (temporary .NAME.XXXXXX files may remain: the process had no
    chance to remove them)."""
    d = sub(work, "killed")
    src = os.path.join(d, "large.onnx")
    rng = np.random.default_rng(11)
    inits, nodes, prev = [], [], "x"
    for i in range(8):
        w = rng.standard_normal((1024, 1024)).astype(np.float32)
        w[rng.random(w.shape) >= 0.1] = 0
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("Gemm", [prev, f"w{i}"], [f"h{i}"], transB=1))
        prev = f"h{i}"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 1024])], inits)
    onnx.save(helper.make_model(g), src)
    h = digest(src)
    finals = [os.path.join(d, "large.lsc.onnx"), os.path.join(d, "large.lsc")]
    results = []
    for delay in (0.05, 0.15, 0.3):
        p = subprocess.Popen([TOOL, "compress", src, "-q"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        rc = p.wait()
        left = [os.path.basename(f) for f in finals if os.path.exists(f)]
        temps = [n for n in os.listdir(d) if n.startswith(".")]
        results.append((delay, rc, left, temps))
        if rc == 0:
            for f in finals:  # finished before the signal: not an interruption
                os.remove(f)
        elif left == ["large.lsc"] and complete_bundle(finals[1]):
            # killed between the two renames: the bundle, committed first, is whole
            # (the model is renamed last, so no model ever points at a partial bundle)
            os.remove(finals[1])
        elif left:
            fail(f"SIGKILL after {delay}s: {left} left under the final names")
        for n in temps:
            os.remove(os.path.join(d, n))
    if digest(src) != h:
        fail("SIGKILL during compress: input changed")
    killed = [r for r in results if r[1] == -signal.SIGKILL]
    if not killed:
        fail("SIGKILL during compress: every run finished before the signal (model too small)")
    note = "; ".join(f"after {dl}s: {'killed' if rc < 0 else 'finished'}, final names "
                     f"{'none' if not left else left}, temporary files {len(t)}" for dl, rc, left, t in results)
    ROWS.append(("interrupted compress (SIGKILL, 32 MiB model)", "onnx-lsc compress large.onnx (killed)",
                 -signal.SIGKILL, note))


PREAMBLE = """
# Bad input: what onnx-lsc does with it

Generated from real runs by `python3 tests/bad/test_bad.py BUILD/src/cli/onnx-lsc --table`
(the test `bad_input`, suite `bad`, runs the same cases and fails on any
deviation). Exit codes: `docs/cli.md` (10 + `lsc_status`: 11 invalid argument,
13 I/O, 14 not ONNX, 15 inconsistent model, 16 bad external data, 17 malformed
bundle, 18 checksum mismatch, 19 version, 20 unsupported). For every case the test
checks: the exit code; on failure exactly one stderr line `onnx-lsc: ...` naming
the file (and the tensor, where there is one) and the reason; every input file
unchanged (SHA-256 before and after); nothing left under the output names and no
new file at all (temporary files included), except after SIGKILL, where the
process cannot remove its temporary `.NAME.XXXXXX` file, and nothing appears
under a final name but, when the kill falls between compress's two renames, the
bundle, complete (it is renamed first; the model, last, never points at a partial
bundle). Paths are shown relative to the test's folder.

onnx-lsc rewrites only the weights it recognises and passes the rest of a graph
through: a cycle, a dangling name or a tensor it cannot use as a weight (negative
or overflowing dims, integer type) is not its to judge and does not stop the
compression (exit 0; the output keeps it unchanged and the report lists the layer
as `unsupported` or `not-constant`). A weight it does read must be consistent
(exit 15).

Every single-byte corruption is also run through the library in
`tests/bad/test_bundle_bytes.c` (all 255 wrong values of every byte of a 384-byte,
two-weight bundle: 97 920 files, none accepted, none read back as other weights).
"""


def check_npy(work):
    """verify --input NAME=FILE.npy with hostile files: read before ONNX Runtime loads."""
    d, rw, bundle = small_bundle(os.path.join(work, "npy"))
    src = os.path.join(d, "m.onnx")
    good = os.path.join(d, "good.npy")
    np.save(good, np.ones((1, 24), np.float32))
    data = open(good, "rb").read()
    for name, content, code in (("truncated.npy", data[:-3], INVALID), ("appended.npy", data + b"\0" * 4, INVALID),
                                ("header-cut.npy", data[:20], INVALID), ("not-npy.npy", b"PK\3\4" + data, INVALID),
                                ("huge-shape.npy", data.replace(b"(1, 24), }" + b" " * 12, b"(9999999999, 99999), }"), TOO_LARGE)):
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(content)
        case(f"verify --input: {name}", ["verify", src, rw, "--input", f"x={path}"], code, d, names=[name],
             inputs=[src, rw, bundle, path])
    fortran = os.path.join(d, "fortran.npy")
    np.save(fortran, np.asfortranarray(np.ones((2, 24), np.float32)))
    case("verify --input: Fortran-order array", ["verify", src, rw, "--input", f"x={fortran}"], INVALID, d,
         names=["fortran.npy", "Fortran"], inputs=[src, rw, bundle, fortran])
    case("verify --input: missing .npy", ["verify", src, rw, "--input", "x=" + os.path.join(d, "nope.npy")], IO,
         d, names=["nope.npy"], inputs=[src, rw, bundle])


def toc_entries(b):
    """(position in the decoded TOC, offset, size) of each TOC entry of bundle bytes b."""
    n = struct.unpack_from("<I", b, 40)[0]
    toc, out, p = toc_of(b), [], 0
    for _ in range(n):
        off, size, _c, nl, rl = struct.unpack_from("<QQQII", toc, p)
        out.append((p, off, size))
        p += (32 + nl + rl + 7) // 8 * 8
    return out


def check_shared(work):
    """A bundle whose entries share a blob (docs/format.md 2.2: compress --entropy of a
    model holding one weight twice): an entry pointing back anywhere but at an earlier
    entry's exact blob is rejected, the TOC and header checksums made right."""
    d = sub(work, "shared")
    w = np.zeros((16, 24), np.float32)
    w[1, 2], w[5, 20], w[15, 0] = 1.5, -2.25, 3.0
    v = w.copy()
    v[3, 3] = 0.5
    src = os.path.join(d, "m.onnx")
    gemm_model(w, extra_nodes=[helper.make_node("Gemm", ["x", "w2"], ["y2"], transB=1, name="fc2"),
                               helper.make_node("Gemm", ["x", "v"], ["y3"], transB=1, name="fc3")],
               inits=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(w, "w2"),
                      numpy_helper.from_array(v, "v")], save=src)
    r = run(["compress", src, "-q", "--entropy"])
    if r.returncode != 0:
        fail(f"shared bundle: compress failed: {r.stderr.strip()}")
        return
    rw, bundle = os.path.join(d, "m.lsc.onnx"), os.path.join(d, "m.lsc")
    good = open(bundle, "rb").read()
    entries = toc_entries(good)
    offsets = [e[1] for e in entries]
    sharing = [i for i, o in enumerate(offsets) if o in offsets[:i]]
    # minor 4: --entropy writes compact bundles (2.5), which may share blobs too
    if len(sharing) != 1 or struct.unpack_from("<H", good, 10)[0] != 4:
        fail(f"shared bundle: {len(sharing)} shared entries, minor {struct.unpack_from('<H', good, 10)[0]}")
        return
    pos, off, size = entries[sharing[0]]
    other = next(o for o in offsets if o > off)

    def variant(name, new_off, new_size, code=BAD_BUNDLE, why="overlapping"):
        toc = toc_of(good)
        struct.pack_into("<QQ", toc, pos, new_off, new_size)
        with open(bundle, "wb") as f:
            f.write(with_toc(good, toc))
        case(name, ["decompress", rw, "-o", os.path.join(d, "back.onnx")], code, d,
             names=["m.lsc", why], inputs=[rw, bundle], outputs=[os.path.join(d, "back.onnx")])

    variant("bundle entry sharing a blob: shorter than it", off, size - 8)
    variant("bundle entry sharing a blob: inside it", off + 8, size)
    # a later blob's offset: read as the entry's own blob, whose checksum is another
    variant("bundle entry sharing a blob: a later blob's offset", other, size, CHECKSUM, "checksum")
    with open(bundle, "wb") as f:
        f.write(good)


def check_graph_entry(work):
    """compress --entropy of a paddle2onnx-like model (tests/onnx/gen_names.py): a slim
    model file and its graph entry (docs/format.md part 7) in a compact bundle (2.5)
    with compact entropy blobs (4.8): damaged entry, edited model, damaged TOC frame,
    damaged compact header; every checksum made right where the reader's own check is
    the one meant."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "onnx"))
    import gen_names
    d = sub(work, "graph")
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    bundle = os.path.join(d, "m.lsc")
    onnx.save(gen_names.paddle_like(np.random.default_rng(95))[0], src)
    r = run(["compress", src, "-o", rw, "--entropy"])
    good_model = open(rw, "rb").read() if r.returncode == 0 else b""
    if b"ai.onnx_lsc.graph" not in good_model:
        fail(f"graph model: no graph entry from compress --entropy: {r.stderr.strip()}")
        return
    good = open(bundle, "rb").read()

    def bad_bytes(name, content, codes, entry="lsc.graph"):
        bundle_case(name, content, codes, d, rw, out, good, entry)

    def graph_variant(change):
        return pack_variant(good, change, b"LSCG")

    at = good.find(b"LSCG")
    size = next(e for e in toc_entries(good) if e[1] == at)[2]
    flipped = bytearray(good)
    flipped[at + size - 1] ^= 0x40
    bad_bytes("graph entry: a frame byte flipped (checksum)", bytes(flipped), CHECKSUM)
    bad_bytes("graph entry: version 2", graph_variant(lambda p: struct.pack_into("<I", p, 4, 2)), VERSION)
    bad_bytes("graph entry: frame size one byte short of the entry",
              graph_variant(lambda p: struct.pack_into("<Q", p, 40, struct.unpack_from("<Q", p, 40)[0] - 1)),
              BAD_BUNDLE)
    bad_bytes("graph entry: full model size above 64 MiB",
              graph_variant(lambda p: struct.pack_into("<Q", p, 32, 1 << 27)), BAD_BUNDLE)
    bad_bytes("graph entry: full model size one byte larger than the frame's",
              graph_variant(lambda p: struct.pack_into("<Q", p, 32, struct.unpack_from("<Q", p, 32)[0] + 1)),
              BAD_BUNDLE)
    bad_bytes("graph entry: a frame byte changed (checksums renewed)",
              graph_variant(lambda p: p.__setitem__(len(p) - 2, p[len(p) - 2] ^ 0x21)), BAD_BUNDLE)

    # The model file edited after compress: decompress and seal refuse (the entry fits
    # the file compress wrote, byte for byte; --keep-graph is for models to edit).
    case("graph entry: the slim model decompresses", ["decompress", rw, "-o", out], OK, d, inputs=[rw, bundle],
         outputs=[out])
    m = onnx.ModelProto.FromString(good_model)
    m.graph.node[-1].name = "edited"
    with open(rw, "wb") as f:
        f.write(m.SerializeToString())
    case("graph entry: the slim model edited after compress", ["decompress", rw, "-o", out], BAD_MODEL, d,
         names=["m.lsc.onnx", "edited since"], inputs=[rw, bundle], outputs=[out])
    case("graph entry: the slim model edited, seal refused", ["seal", rw], BAD_MODEL, d,
         names=["m.lsc.onnx", "edited since"], inputs=[rw, bundle])
    with open(rw, "wb") as f:
        f.write(good_model)

    # Compact bundle (2.5): the TOC's frame and its declared size.
    def toc_case(name, b, codes, why):
        with open(bundle, "wb") as f:
            f.write(fix_header_checksum(b))
        case(name, ["decompress", rw, "-o", out], codes, d, names=["m.lsc"] + ([why] if why else []),
             inputs=[rw, bundle], outputs=[out])
        with open(bundle, "wb") as f:
            f.write(good)

    toc_offset, toc_size = struct.unpack_from("<QQ", good, 16)
    b = bytearray(good)
    b[toc_offset + toc_size // 2] ^= 0x5a
    struct.pack_into("<Q", b, 48, xxh64(bytes(b[toc_offset:])))
    # (zstd may decode it to other entries: then a blob's checksum or a layout rule fails)
    toc_case("compact bundle: a TOC frame byte changed (TOC checksum renewed)", b, {BAD_BUNDLE, CHECKSUM}, None)
    b = bytearray(good)
    struct.pack_into("<I", b, 44, struct.unpack_from("<I", b, 44)[0] + 8)
    toc_case("compact bundle: TOC size declared 8 bytes larger", b, BAD_BUNDLE, "table of contents")
    b = bytearray(good)
    struct.pack_into("<I", b, 44, 0)
    toc_case("compact bundle: TOC size 0", b, BAD_BUNDLE, "table of contents")
    b = bytearray(good)
    struct.pack_into("<I", b, 12, 2)
    toc_case("compact bundle: an unknown flag", b, BAD_BUNDLE, "reserved")

    # Compact entropy blob (4.8): its varint header.
    at = good.find(b"LSCC")
    entry, _, size = next(e for e in toc_entries(good) if e[1] == at)

    def compact_variant(change):
        v = bytearray(good)
        blob = bytearray(v[at:at + size])
        change(blob)
        struct.pack_into("<Q", blob, 8, blob_checksum(blob))
        v[at:at + size] = blob
        toc = toc_of(v)
        toc[entry + 16:entry + 24] = blob[8:16]
        return with_toc(v, toc)

    bad_bytes("compact entropy blob: 11 sections", compact_variant(lambda p: p.__setitem__(18, 11)), BAD_BUNDLE,
              entry="conv2d_")
    bad_bytes("compact entropy blob: rows varint without its end",
              compact_variant(lambda p: p.__setitem__(19, p[19] | 0x80)), BAD_BUNDLE, entry="conv2d_")
    flipped = bytearray(good)
    flipped[at + size - 1] ^= 0x40
    bad_bytes("compact entropy blob: a byte flipped", bytes(flipped), CHECKSUM, entry="conv2d_")


def check_mirrored(work):
    """compress --entropy of a fixed transform (entropy blob version 4 with mirrored
    rows, docs/format.md 4.7): a row's sign flipped and the blob relabelled version
    2, every checksum renewed."""
    d = sub(work, "mirrored")
    n = 64
    k, t = np.arange(33)[:, None], np.arange(n)[None, :]
    w = ((0.5 - 0.5 * np.cos(2 * np.pi * t / n)) * np.cos(2 * np.pi * k * t / n)).astype(np.float32)
    w[np.abs(w) < 0.4] = 0
    w[:, n // 2 + 1:] = w[:, n // 2 - 1:0:-1]
    src, rw, out = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx"), os.path.join(d, "back.onnx")
    gemm_model(w, save=src)
    bundle = os.path.join(d, "m.lsc")
    r = run(["compress", src, "-o", rw, "--entropy"])
    good = open(bundle, "rb").read() if r.returncode == 0 else b""
    at = good.find(b"LSCC\x04")  # compact (4.8): `mirror` is byte 17
    if at < 0 or good[at + 17] != 1:
        fail(f"mirrored model: no entropy blob with mirrored rows: {r.stderr.strip()}")
        return
    entry, _, size = next(e for e in toc_entries(good) if e[1] == at)

    def renewed(b):
        struct.pack_into("<Q", b, at + 8, blob_checksum(b[at:at + size]))
        toc = toc_of(b)
        toc[entry + 16:entry + 24] = b[at + 8:at + 16]
        return with_toc(b, toc)

    def variant(name, content, codes, names):
        with open(bundle, "wb") as f:
            f.write(content)
        case(name, ["decompress", rw, "-o", out], codes, d, names=["m.lsc", "'w'"] + names, inputs=[rw, bundle],
             outputs=[out])

    flipped = bytearray(good)
    flipped[at + size - 5] ^= 0x01  # row 0's sign (33 rows: 5 sign bytes end the blob)
    # every row of this basis holds its middle column, which an antisymmetric row cannot
    variant("mirrored rows: a row's sign flipped (checksums renewed)", renewed(flipped), BAD_BUNDLE,
            ["antisymmetric"])
    old = bytearray(good)
    old[at + 4] = 2
    variant("mirrored rows labelled version 2 (checksums renewed)", renewed(old), BAD_BUNDLE, ["mirror"])
    with open(bundle, "wb") as f:
        f.write(good)


def main():
    work = tempfile.mkdtemp(prefix="lsc-bad-")
    try:
        for check in (check_models, check_external, check_restore_escape, check_bundles, check_shared, check_mirrored,
                      check_graph_entry, check_quantized, check_dynamic,
                      check_decode, check_pack, check_names, check_activation, check_outputs, check_npy, check_interrupted):
            check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if TABLE:
        print(PREAMBLE.strip() + "\n")
        print("| case | command | exit | message (stderr) |")
        print("| --- | --- | --- | --- |")
        for name, cmd, code, msg in ROWS:
            cell = (msg or "(none)").replace("|", "\\|")
            print(f"| {name} | `{cmd}` | {code} | {cell} |")
    if FAILURES:
        print(f"bad input: {len(FAILURES)} failure(s)", file=sys.stderr if TABLE else sys.stdout)
        sys.exit(1)
    print(f"bad input: {len(ROWS)} cases passed", file=sys.stderr if TABLE else sys.stdout)


if __name__ == "__main__":
    main()
