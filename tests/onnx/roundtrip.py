#!/usr/bin/python3
"""compress -> onnx.checker -> decompress -> compare, on generated models, on the
Conv/Gemm/MatMul models of Debian's libonnx-testdata (as shipped and pruned), or on
a folder of models (models/).

usage: roundtrip.py ONNX_LSC generated | testdata | folder DIR
The original and the restored model are compared with python3-onnx field by field:
every tensor payload must be bit-identical except -0.0 -> +0.0 (without
--bit-exact); with --bit-exact the files must be identical byte for byte.
"""
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def run(args):
    return subprocess.run(args, capture_output=True, text=True)


BITS = {TensorProto.FLOAT: ("<u4", 4), TensorProto.FLOAT16: ("<u2", 2),
        TensorProto.BFLOAT16: ("<u2", 2), TensorProto.DOUBLE: ("<u8", 8)}


def payload_bits(t, folder):
    """(field name, unsigned bit patterns) of a float tensor's payload."""
    if t.data_location == TensorProto.EXTERNAL:
        info = {e.key: e.value for e in t.external_data}
        dt, size = BITS[t.data_type]
        n = int(np.prod(t.dims)) if len(t.dims) else 1
        with open(os.path.join(folder, info["location"]), "rb") as f:
            f.seek(int(info.get("offset", 0)))
            return "external", np.frombuffer(f.read(n * size), dtype=dt)
    if t.HasField("raw_data"):
        return "raw_data", np.frombuffer(t.raw_data, dtype=BITS[t.data_type][0])
    if t.data_type == TensorProto.FLOAT:
        return "float_data", np.array(t.float_data, dtype=np.float32).view(np.uint32)
    if t.data_type == TensorProto.DOUBLE:
        return "double_data", np.array(t.double_data, dtype=np.float64).view(np.uint64)
    return "int32_data", np.array(t.int32_data, dtype=np.int64)


def sign_bit(t):
    return {TensorProto.FLOAT: 1 << 31, TensorProto.DOUBLE: 1 << 63}.get(t.data_type, 1 << 15)


def graphs(g):
    """g and every If/Loop/Scan body inside it."""
    yield g
    for n in g.node:
        for a in n.attribute:
            if a.HasField("g"):
                yield from graphs(a.g)
            for sg in a.graphs:
                yield from graphs(sg)


def tensors(m):
    for g in graphs(m.graph):
        for t in g.initializer:
            yield t
        for n in g.node:
            for a in n.attribute:
                if a.HasField("t"):
                    yield a.t


def compare(orig_path, back_path, bit_exact, label):
    if bit_exact:
        with open(orig_path, "rb") as f1, open(back_path, "rb") as f2:
            if f1.read() != f2.read():
                fail(f"{label}: --bit-exact round trip is not byte-identical")
        return
    a = onnx.load(orig_path, load_external_data=False)
    b = onnx.load(back_path, load_external_data=False)
    ta, tb = list(tensors(a)), list(tensors(b))
    if len(ta) != len(tb):
        fail(f"{label}: tensor count {len(ta)} != {len(tb)}")
        return
    for x, y in zip(ta, tb):
        if x.data_type not in BITS:
            continue
        fa, pa = payload_bits(x, os.path.dirname(orig_path))
        fb, pb = payload_bits(y, os.path.dirname(back_path))
        if fa != fb:
            fail(f"{label}: tensor '{x.name}' moved from {fa} to {fb}")
            continue
        if pa.shape != pb.shape:
            fail(f"{label}: tensor '{x.name}' size changed")
            continue
        diff = pa != pb
        if diff.any():
            s = sign_bit(x)
            ok = np.all((pa[diff].astype(np.uint64) == s) & (pb[diff] == 0))
            if not ok:
                fail(f"{label}: tensor '{x.name}' differs beyond -0.0 -> +0.0")
                continue
        if fa != "external":
            y_copy = TensorProto()
            y_copy.CopyFrom(y)
            x.CopyFrom(y_copy)
    if a.SerializeToString() != b.SerializeToString():
        fail(f"{label}: models differ outside tensor payloads")


def short_names_checked(rw, extra, expected, tag):
    """--entropy with a names record (docs/format.md part 6): no node keeps a long name,
    and the record has the form ENTRY@LOCATION; `expected`: the record must be there."""
    record = [p.value for p in rw.metadata_props if p.key == "ai.onnx_lsc.names"]
    if expected and not record:
        fail(f"{tag}: no short names (no names record)")
    if record and "--entropy" not in extra:
        fail(f"{tag}: a names record without --entropy")
    if len(record) > 1 or (record and "@" not in record[0]):
        fail(f"{tag}: names record {record}")
    long_names = [n.name for g in graphs(rw.graph) for n in g.node if len(n.name) > 3] if record else []
    if long_names:
        fail(f"{tag}: node names left long: {long_names[:3]}")


def toc_bytes(bundle):
    """A bundle's TOC (docs/format.md 2.2), decoded when the bundle is compact (2.5:
    header flag bit 0, the TOC one zstd frame)."""
    toc_off, toc_size = struct.unpack_from("<QQ", bundle, 16)
    raw = bytes(bundle[toc_off:toc_off + toc_size])
    if struct.unpack_from("<I", bundle, 12)[0] & 1:
        raw = subprocess.run(["zstd", "-d", "-c", "-q"], input=raw, capture_output=True, check=True).stdout
    return raw


def shared_entries(bundle):
    """(entries of a bundle that point at an earlier entry's blob, docs/format.md 2.2;
    entropy blobs of version 4, 4.5; of those, mirrored ones, 4.7)."""
    data = open(bundle, "rb").read()
    n, = struct.unpack_from("<I", data, 40)
    toc = toc_bytes(data)
    seen, shared, whole, mirrored, p = set(), 0, 0, 0, 0
    for _ in range(n):
        off, _s, _c, name_len, restore_len = struct.unpack_from("<QQQII", toc, p)
        p += (32 + name_len + restore_len + 7) // 8 * 8
        shared += off in seen
        # version 4, in 4.1's header or the compact one of 4.8 (mirror at byte 57 or 17)
        v4 = off not in seen and data[off:off + 5] in (b"LSCE\x04", b"LSCC\x04")
        whole += v4
        mirrored += v4 and data[off + (57 if data[off + 3] == ord("E") else 17)] != 0
        seen.add(off)
    return shared, whole, mirrored


def full_model(out, tag):
    """The model of a rewritten file: the file's, or with a graph entry (docs/format.md
    part 7) the full model it codes, decoded here independently of the tool: its zstd
    frame with the slim file as prefix (`zstd -d --patch-from`)."""
    data = open(out, "rb").read()
    m = onnx.ModelProto.FromString(data)
    record = [p.value for p in m.metadata_props if p.key == "ai.onnx_lsc.graph"]
    if not record:
        return m, False
    entry, location = record[0].split("@", 1)
    bundle = open(os.path.join(os.path.dirname(out), location), "rb").read()
    n, = struct.unpack_from("<I", bundle, 40)
    toc, p, blob = toc_bytes(bundle), 0, None
    for _ in range(n):
        off, size, _c, name_len, restore_len = struct.unpack_from("<QQQII", toc, p)
        if toc[p + 32:p + 32 + name_len] == entry.encode():
            blob = bundle[off:off + size]
        p += (32 + name_len + restore_len + 7) // 8 * 8
    if blob is None or blob[:4] != b"LSCG":
        fail(f"{tag}: graph record {record[0]} names no graph entry")
        return m, True
    model_size, _hash, full_size, frame_size = struct.unpack_from("<QQQQ", blob, 16)
    if model_size != len(data) or 48 + frame_size != len(blob):
        fail(f"{tag}: graph entry sizes {model_size} / {frame_size} disagree with the file and the entry")
    with tempfile.TemporaryDirectory() as d:
        frame = os.path.join(d, "frame.zst")
        open(frame, "wb").write(blob[48:])
        r = subprocess.run(["zstd", "-d", "-q", "-c", "--patch-from=" + out, frame], capture_output=True)
    if r.returncode != 0 or len(r.stdout) != full_size:
        fail(f"{tag}: graph entry does not decode against its file: {r.stderr.decode(errors='replace').strip()}")
        return m, True
    full = onnx.ModelProto.FromString(r.stdout)
    if len(data) >= len(r.stdout):
        fail(f"{tag}: slim file of {len(data)} bytes is not smaller than its full model ({len(r.stdout)})")
    return full, True


def roundtrip(tool, path, extra, expect, work, label):
    name = os.path.basename(path)[: -len(".onnx")]
    runs = [(False, work, work), (True, work, work)]
    if expect.get("elsewhere"):
        # External data compressed into another folder, restored into a third: each
        # result must stand alone (the input folder is gone when they are read).
        runs += [(be, os.path.join(work, name + ".out%d" % be), os.path.join(work, name + ".back%d" % be))
                 for be in (False, True)]
    for bit_exact, out_dir, back_dir in runs:
        os.makedirs(out_dir, exist_ok=True)
        os.makedirs(back_dir, exist_ok=True)
        tag = f"{label}{' --bit-exact' if bit_exact else ''}{'' if out_dir == work else ' (other folders)'}"
        out = os.path.join(out_dir, name + (".be" if bit_exact else "") + ".lsc.onnx")
        back = os.path.join(back_dir, name + (".be" if bit_exact else "") + ".back.onnx")
        args = [tool, "compress", path, "-o", out, "--json"] + extra + (["--bit-exact"] if bit_exact else [])
        r = run(args)
        if r.returncode != 0:
            fail(f"{tag}: compress exit {r.returncode}: {r.stderr.strip()}")
            continue
        report = json.loads(r.stdout)
        encoded = report["totals"]["encoded_layers"]
        packed = report["totals"].get("dense_packed", 0)
        if expect.get("packed") is not None and packed != expect["packed"]:
            fail(f"{tag}: {packed} dense tensors packed, expected {expect['packed']}")
        if expect.get("encoded") is not None and encoded != expect["encoded"]:
            fail(f"{tag}: {encoded} weights encoded, expected {expect['encoded']}: "
                 + ", ".join(f"{l['name'][:20]}={l['status']}" for l in report["layers"]))
        try:
            onnx.checker.check_model(path)
            original_ok = True
        except Exception:  # noqa: BLE001 - e.g. nodes out of order on purpose
            original_ok = False
        try:
            if original_ok:
                onnx.checker.check_model(out)
        except Exception as e:  # noqa: BLE001 - any checker complaint is a failure
            fail(f"{tag}: rewritten model fails onnx.checker: {str(e).splitlines()[0]}")
        rw, slim = full_model(out, tag)
        if slim != bool(report["totals"].get("graph_slimmed")) or (slim and "--entropy" not in extra):
            fail(f"{tag}: graph_slimmed {report['totals'].get('graph_slimmed')} disagrees with the graph record")
        if expect.get("slim") is not None and slim != expect["slim"]:
            fail(f"{tag}: graph entry {slim}, expected {expect['slim']}")
        lsc_nodes = [n for g in graphs(rw.graph) for n in g.node if n.domain == "ai.onnx_lsc"]
        if encoded and not any(o.domain == "ai.onnx_lsc" and o.version == 1 for o in rw.opset_import):
            fail(f"{tag}: rewritten model does not import ai.onnx_lsc v1")
        if encoded and not lsc_nodes:
            fail(f"{tag}: no Lsc* node in the rewritten model")
        run_dense = sum(bool(l.get("run_dense")) for l in report["layers"] if l["status"] == "encoded")
        if expect.get("run_dense") is not None and run_dense != expect["run_dense"]:
            fail(f"{tag}: {run_dense} layers run dense, expected {expect['run_dense']}: "
                 + ", ".join(f"{l['name'][:20]}={l.get('run_dense')}" for l in report["layers"]))
        plain_readers = [n for g in graphs(rw.graph) for n in g.node if n.domain in ("", "ai.onnx")
                         and n.op_type in ("Conv", "Gemm", "MatMul")]
        if run_dense and not plain_readers:
            fail(f"{tag}: layers run dense but no plain Conv/Gemm/MatMul node is left")
        short_names_checked(rw, extra, expect.get("short_names"), tag)
        n_shared, n_whole, n_mirrored = shared_entries(out[: -len(".onnx")])
        if expect.get("shared") is not None and n_shared != expect["shared"]:
            fail(f"{tag}: {n_shared} bundle entries share a blob, expected {expect['shared']}")
        # (--bit-exact stores the -0.0 of masked pruning as values, which repeat: no count)
        if expect.get("whole") is not None and not bit_exact and n_whole != expect["whole"]:
            fail(f"{tag}: {n_whole} entropy blobs of version 4, expected {expect['whole']}")
        if expect.get("mirrored") is not None and not bit_exact and n_mirrored != expect["mirrored"]:
            fail(f"{tag}: {n_mirrored} entropy blobs with mirrored rows, expected {expect['mirrored']}")
        if bool(report["totals"].get("names_shortened")) != any(p.key == "ai.onnx_lsc.names" for p in rw.metadata_props):
            fail(f"{tag}: names_shortened {report['totals'].get('names_shortened')} disagrees with the names record")
        folded = sum(a.name == "lsc_activation" for n in lsc_nodes for a in n.attribute)
        if expect.get("folded") is not None and folded != expect["folded"]:
            fail(f"{tag}: {folded} activations folded, expected {expect['folded']}")
        for t in tensors(rw):
            if t.data_location == TensorProto.EXTERNAL and t.data_type == TensorProto.UINT8:
                info = {e.key: e.value for e in t.external_data}
                if info.get("location") != os.path.basename(out)[: -len(".onnx")]:
                    fail(f"{tag}: blob '{t.name}' location {info.get('location')}")
        hidden = None
        if out_dir != work:  # the input's folder must not be needed any more
            hidden = work + ".hidden"
            os.rename(work, hidden)
            os.makedirs(work)
            os.rename(os.path.join(hidden, os.path.basename(out_dir)), out_dir)
            os.rename(os.path.join(hidden, os.path.basename(back_dir)), back_dir)
        r = run([tool, "decompress", out, "-o", back, "-q"])
        if hidden:
            for d in (out_dir, back_dir):
                os.rename(d, os.path.join(hidden, os.path.basename(d)))
            os.rmdir(work)
            os.rename(hidden, work)
        if r.returncode != 0:
            fail(f"{tag}: decompress exit {r.returncode}: {r.stderr.strip()}")
            continue
        compare(path, back, bit_exact, tag)


def prune_copy(src, dst, density=0.15):
    """A copy of a model with its float initializers pruned, same representation."""
    m = onnx.load(src)
    rng = np.random.default_rng(7)
    for t in m.graph.initializer:
        if t.data_type != TensorProto.FLOAT or len(t.dims) < 2:
            continue
        a = numpy_helper.to_array(t).copy()
        a[rng.random(a.shape) >= density] = 0
        if t.HasField("raw_data"):
            t.raw_data = a.tobytes()
        else:
            del t.float_data[:]
            t.float_data.extend(a.reshape(-1).tolist())
    onnx.save(m, dst)


def main():
    tool, mode = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="lsc-roundtrip-")
    try:
        if mode == "generated":
            import gen_models
            src = os.path.join(work, "src")
            os.mkdir(src)
            for name, extra, expect in gen_models.make_all(src):
                roundtrip(tool, os.path.join(src, name + ".onnx"), extra, expect, src, name)
        elif mode == "testdata":
            base = "/usr/share/libonnx-testdata/data"
            paths = sorted(p for p in glob.glob(base + "/*/*/model.onnx")
                           if any(k in p.lower() for k in ("conv", "gemm", "matmul", "linear", "addmm", "_mm")))
            if not paths:
                print("SKIP: libonnx-testdata not installed")
                sys.exit(77)
            for i, p in enumerate(paths):
                label = os.path.relpath(p, base)
                dst = os.path.join(work, f"t{i}.onnx")
                shutil.copy(p, dst)
                roundtrip(tool, dst, ["--include-graph-inputs"], {}, work, label)
                pruned = os.path.join(work, f"p{i}.onnx")
                prune_copy(p, pruned)
                roundtrip(tool, pruned, ["--include-graph-inputs"], {}, work, label + " (pruned)")
            print(f"{len(paths)} testdata models")
        else:
            paths = sorted(glob.glob(os.path.join(sys.argv[3], "*.onnx")))
            paths = [p for p in paths if not p.endswith(".lsc.onnx")]
            if not paths:
                print("SKIP: no models in", sys.argv[3])
                sys.exit(77)
            for p in paths:
                dst = os.path.join(work, os.path.basename(p))
                shutil.copy(p, dst)
                roundtrip(tool, dst, [], {}, work, os.path.basename(p))
                dst_e = dst[: -len(".onnx")] + "_entropy.onnx"
                shutil.copy(p, dst_e)
                roundtrip(tool, dst_e, ["--entropy"], {}, work, os.path.basename(p) + " --entropy")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("all round trips exact")


if __name__ == "__main__":
    main()
