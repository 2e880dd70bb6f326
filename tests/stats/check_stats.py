"""Checks every number of `onnx-lsc stats --json` (and --csv) against an independent
computation in numpy and python3-onnx:

- sparsity facts (nnz, density, empty rows/columns, -0.0 count) from the arrays;
- ONNX SparseTensorProto sizes from python3-onnx's own serializer (ByteSize and
  len(SerializeToString)) of a tensor built with onnx.helper.make_sparse_tensor;
- CSR, bitmap and relative-index sizes from explicit layouts / an entry-by-entry walk;
- the entropy bound from math.comb (exact) or math.lgamma;
- the LSC byte breakdown, re-derived from docs/format.md for the block shape and width
  reported, and for compressed models against the blob sizes in the rewritten graph;
- totals, gates (exit codes 3 and 4), determinism, CSV = JSON.

usage: check_stats.py ONNX_LSC generated | testdata | folder DIR
"""
import csv
import io
import json
import math
import os
import subprocess
import struct
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)


def close(a, b, rel=1e-7, abs_=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def run(exe, *args, expect=0):
    p = subprocess.run([exe, "stats", *args], capture_output=True)
    check(p.returncode == expect, f"stats {' '.join(args)}: exit {p.returncode}, want {expect}: "
          f"{p.stderr.decode(errors='replace').strip()}")
    return p.stdout


# ---------------------------------------------------------------- the model side

def candidates(model):
    """(name, op, transposed) of each Conv/Gemm/MatMul weight in graph order, first use,
    then of the other float tensors (the stats rows of a main graph without LscDecode nodes)."""
    seen, out = set(), []
    for node in model.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul", "LscConv", "LscGemm", "LscMatMul"):
            continue
        if len(node.input) < 2 or node.input[1] in seen:
            continue
        op = node.op_type.replace("Lsc", "")
        trans = op == "MatMul"
        if op == "Gemm":
            tb = [a.i for a in node.attribute if a.name == "transB"]
            trans = not (tb and tb[0] == 1)
        seen.add(node.input[1])
        out.append((node.input[1], op, trans))
    # then the other float tensors of the graph, initializers before Constant values:
    # >= 1024 elements (LscDecode candidates), then >= 16 (rows `too-small`); op = first reader
    values = [(t.name, t) for t in model.graph.initializer] + \
        [(n.output[0], a.t) for n in model.graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"]
    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE)
    for lo, hi in ((1024, float("inf")), (16, 1024)):
        for name, t in values:
            if name in seen or t.data_type not in floats or not lo <= int(np.prod(t.dims)) < hi:
                continue
            seen.add(name)
            readers = [n.op_type for n in model.graph.node if name in n.input]
            outputs = [o.name for o in model.graph.output]
            out.append((name, readers[0] if readers else "output" if name in outputs else "none", False))
    return out


def matrix_of(arr, transposed):
    d0 = arr.shape[0] if arr.ndim >= 2 else 1
    m = arr.reshape(d0, -1)
    return m.T if transposed else m


# ---------------------------------------------------------------- classic formats

def sparse_tensor_size(name, arr, packed):
    flat = arr.reshape(-1)
    idx = np.flatnonzero(flat != 0).astype(np.int64)
    values = numpy_helper.from_array(flat[idx], name)
    indices = TensorProto()
    indices.dims.append(len(idx))
    indices.data_type = TensorProto.INT64
    if packed:
        indices.int64_data.extend(int(i) for i in idx)
    else:
        indices.raw_data = idx.tobytes()
    st = helper.make_sparse_tensor(values, indices, list(arr.shape))
    size = st.ByteSize()
    assert size == len(st.SerializeToString())
    return size


def ri_walk(m, b):
    """Relative index by walking the non-zeros: (entries, fillers)."""
    pos = np.flatnonzero(m.reshape(-1) != 0)
    entries = fillers = 0
    prev = -1
    span = 1 << b
    for p in pos.tolist():
        gap = p - prev - 1
        while gap >= span:  # a filler 2^b positions on, costing a value and an index
            gap -= span
            fillers += 1
            entries += 1
        entries += 1
        prev = p
    return entries, fillers


def ri_fast(m, b):
    pos = np.flatnonzero(m.reshape(-1) != 0)
    gaps = np.diff(np.concatenate([[-1], pos])) - 1
    fillers = int((gaps >> b).sum())
    return len(pos) + fillers, fillers


def expected_formats(name, op, arr, m, esize):
    rows, cols = m.shape
    nnz = int(np.count_nonzero(m))
    val = nnz * esize
    ri = ri_walk if nnz <= 20000 else ri_fast

    def ri_size(b):
        entries, fillers = ri(m, b)
        return (entries * b + 7) // 8 + fillers * esize

    out = {}
    coo_raw = sparse_tensor_size(name, arr, False)
    coo_var = sparse_tensor_size(name, arr, True)
    out["coo_int64_raw"] = (None, val, coo_raw - val)
    out["coo_int64_varint"] = (None, val, coo_var - val)
    # CSR built for real, its arrays' bytes counted
    row_ptr = np.zeros(rows + 1, np.int32)
    row_ptr[1:] = np.cumsum(np.count_nonzero(m, axis=1))
    col = np.nonzero(m)[1]
    out["csr_int32"] = (None, val, row_ptr.nbytes + col.astype(np.int32).nbytes)
    out["csr_int16"] = (None, val, row_ptr.nbytes + col.astype(np.uint16).nbytes) if cols <= 65536 else None
    # compressed-tensors' layout: np.packbits along rows + int64 row offsets
    packed = np.packbits((m != 0).astype(np.uint8), axis=-1, bitorder="little")
    offsets = np.zeros(rows, np.int64)
    out["bitmap"] = (None, val, packed.nbytes + offsets.nbytes)
    dc = 8 if op == "Conv" else 5
    out["ri_deep_compression"] = (dc, val, ri_size(dc))
    out["ri_eie4"] = (4, val, ri_size(4))
    sizes = [(ri_fast_size(m, b, esize), b) for b in range(1, 33)]
    best_size, best_b = min(sizes)
    check(ri_size(best_b) == best_size, f"{name}: RI walk vs gaps at {best_b} bits")
    out["ri_best"] = (best_b, val, best_size)
    return out


def ri_fast_size(m, b, esize):
    entries, fillers = ri_fast(m, b)
    return (entries * b + 7) // 8 + fillers * esize


def entropy_bits(n, k):
    if k == 0 or k == n:
        return 0.0
    if n <= 200000:
        return math.log2(math.comb(n, k))
    return (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)) / math.log(2)


# ---------------------------------------------------------------- LSC, from the spec

def bits_of(x):
    return x.bit_length()


def lsc_expected(m, bh, bw, b, rank, esize):
    """docs/format.md 1.3-1.6: kept blocks, SRI entries and every section's size."""
    rows, cols = m.shape
    nbr, nbc = -(-rows // bh), -(-cols // bw)
    padded = np.zeros((nbr * bh, nbc * bw), dtype=bool)
    padded[:rows, :cols] = m != 0
    blocks = padded.reshape(nbr, bh, nbc, bw).transpose(0, 2, 1, 3)  # R, C, h, w
    kept = blocks.any(axis=(2, 3))
    H = 1 << (b - 1)
    value_entries = jump_entries = 0
    for R in range(nbr):
        scan = blocks[R][kept[R]].reshape(-1)  # kept blocks in C order, row-major inside
        pos = np.flatnonzero(scan)
        gaps = np.diff(np.concatenate([[-1], pos])) - 1
        q = gaps // H
        jump_entries += int(((q + H - 1) // H).sum())
        value_entries += len(pos)
    nnz = value_entries
    n_entries = value_entries + jump_entries
    parts = {
        "header": 56 + 8 * rank,
        "bitmap": (nbr * nbc + 7) // 8,
        "block_row_pointers": ((nbr - 1) * (bits_of(n_entries) + bits_of(nnz)) + 7) // 8,
        "sri": (n_entries * b + 7) // 8,
    }
    return {
        "blocks": nbr * nbc, "kept_blocks": int(kept.sum()), "value_entries": value_entries,
        "jump_entries": jump_entries, "value_bytes": nnz * esize, "parts": parts,
        "meta_bytes": sum(parts.values()),
    }


# ---------------------------------------------------------------- one model

ESIZE = {TensorProto.FLOAT: 4, TensorProto.FLOAT16: 2, TensorProto.DOUBLE: 8, TensorProto.BFLOAT16: 2}
DTYPE = {TensorProto.FLOAT: "float32", TensorProto.FLOAT16: "float16", TensorProto.DOUBLE: "float64",
         TensorProto.BFLOAT16: "bfloat16"}


def load_array(tensor, folder):
    if tensor.data_type == TensorProto.BFLOAT16:  # compare bit patterns: zero iff (bits & 0x7fff) == 0
        onnx.external_data_helper.load_external_data_for_tensor(tensor, folder) if tensor.data_location else None
        raw = np.frombuffer(tensor.raw_data, np.uint16) if tensor.raw_data else \
            np.array(tensor.int32_data, np.uint16)
        f32 = (raw.astype(np.uint32) << 16).view(np.float32)
        return f32.reshape(tuple(tensor.dims))
    if tensor.data_location == TensorProto.EXTERNAL:
        onnx.external_data_helper.load_external_data_for_tensor(tensor, folder)
    return numpy_helper.to_array(tensor)


def check_format(name, key, got, want, nnz, dense, bound):
    if want is None:
        check(got is None, f"{name}: {key} should be null")
        return
    bits, val, meta = want
    if got is None:
        check(False, f"{name}: {key} missing")
        return
    if bits is not None:
        check(got["index_bits"] == bits, f"{name}: {key} index_bits {got['index_bits']} != {bits}")
    check(got["value_bytes"] == val, f"{name}: {key} value_bytes {got['value_bytes']} != {val}")
    check(got["meta_bytes"] == meta, f"{name}: {key} meta_bytes {got['meta_bytes']} != {meta}")
    check(got["total_bytes"] == val + meta, f"{name}: {key} total")
    check(close(got["meta_bits_per_nnz"], 8 * meta / nnz if nnz else None), f"{name}: {key} bits/nnz")
    check(close(got["ratio"], dense / (val + meta) if val + meta else None), f"{name}: {key} ratio")
    check(close(got["bound_distance"], 8 * meta / bound if bound > 0 else None, rel=1e-6),
          f"{name}: {key} bound distance")


def check_model(exe, path, plain_layers=None):
    """Checks stats on `path`; returns the JSON. plain_layers: the JSON of the same model
    before compression (for a compressed model: facts must agree, LSC equal the plan)."""
    print("model", path)
    out1 = run(exe, path, "--json")
    out2 = run(exe, path, "--json")
    check(out1 == out2, f"{path}: --json not deterministic")
    doc = json.loads(out1)
    check(doc["schema"] == "onnx-lsc-stats" and doc["schema_version"] == 1, "schema id")
    model = onnx.load(path, load_external_data=False)
    folder = os.path.dirname(os.path.abspath(path))
    inits = {t.name: t for t in model.graph.initializer}
    cands = candidates(model)
    check([c[0] for c in cands] == [l["name"] for l in doc["layers"]],
          f"{path}: layers {[l['name'] for l in doc['layers']]} != {[c[0] for c in cands]}")
    blob_sizes = {}
    for t in model.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL and t.data_type == TensorProto.UINT8:
            blob_sizes[t.name] = int({e.key: e.value for e in t.external_data}["length"])

    tot = {"dense": 0, "value": 0, "meta": 0, "nnz": 0, "stored": 0, "bound": 0.0, "n": 0,
           "fmt": {}}
    for (name, op, trans), L in zip(cands, doc["layers"]):
        check(L["op"] == op, f"{name}: op {L['op']} != {op}")
        if not L["lsc"]:
            continue
        check(L["transposed"] == trans, f"{name}: transposed")
        if name in blob_sizes:
            assert plain_layers is not None
            P = plain_layers[name]
            arr = None
            esize = ESIZE[[DTYPE_CODE for DTYPE_CODE, s in DTYPE.items() if s == L["dtype"]][0]]
            check(L["signed_zeros"] == 0, f"{name}: -0.0 left in a normalised blob")
            for key in ("rows", "cols", "elements", "nnz", "zero_rows", "zero_cols",
                        "formats", "entropy_bound", "dense_bytes", "shape"):
                check(L[key] == P[key], f"{name}: compressed vs plain: {key}")
            check(L["lsc"]["source"] == "bundle", f"{name}: source")
            check(L["lsc"]["total_bytes"] == blob_sizes[name],
                  f"{name}: LSC parts sum {L['lsc']['total_bytes']} != blob {blob_sizes[name]}")
            for key in ("block_h", "block_w", "index_bits", "kept_blocks", "value_entries", "jump_entries",
                        "meta", "value_bytes", "meta_bytes"):
                check(L["lsc"][key] == P["lsc"][key], f"{name}: bundle vs plan: {key}")
        else:
            t = inits[name]
            arr = load_array(t, folder)
            esize = ESIZE[t.data_type]
            check(L["dtype"] == DTYPE[t.data_type], f"{name}: dtype")
            check(L["shape"] == list(t.dims), f"{name}: shape")
            m = matrix_of(arr, trans)
            nnz = int(np.count_nonzero(m))
            n = m.size
            check(L["rows"] == m.shape[0] and L["cols"] == m.shape[1], f"{name}: matrix")
            check(L["elements"] == n and L["nnz"] == nnz, f"{name}: nnz {L['nnz']} != {nnz}")
            check(L["dense_bytes"] == n * esize, f"{name}: dense bytes")
            check(close(L["density"], nnz / n), f"{name}: density")
            check(L["zero_rows"] == int((~m.any(axis=1)).sum()), f"{name}: zero rows")
            check(L["zero_cols"] == int((~m.any(axis=0)).sum()), f"{name}: zero cols")
            sz = int(((m == 0) & np.signbit(m)).sum())
            check(L["signed_zeros"] == sz, f"{name}: signed zeros {L['signed_zeros']} != {sz}")
            bound = entropy_bits(n, nnz)
            check(close(L["entropy_bound"]["bits"], bound, rel=1e-9), f"{name}: bound {L['entropy_bound']['bits']} != {bound}")
            want = expected_formats(name, op, arr, m, esize)
            for key, w in want.items():
                check_format(name, key, L["formats"][key], w, nnz, n * esize, bound)
            s = L["lsc"]
            e = lsc_expected(m, s["block_h"], s["block_w"], s["index_bits"], len(t.dims), esize)
            for key in ("blocks", "kept_blocks", "value_entries", "jump_entries", "value_bytes", "meta_bytes"):
                check(s[key] == e[key], f"{name}: lsc {key} {s[key]} != {e[key]}")
            for key, v in e["parts"].items():
                check(s["meta"][key] == v, f"{name}: lsc meta {key} {s['meta'][key]} != {v}")
            check(s["meta"]["sri_value_entry_bits"] == e["value_entries"] * s["index_bits"], f"{name}: sri bits")
            check(close(s["ratio"], n * esize / (e["value_bytes"] + e["meta_bytes"])), f"{name}: lsc ratio")
            check(L["encoded"] == (s["total_bytes"] < n * esize and L["outcome"] == "encoded"),
                  f"{name}: encoded flag")
        if L["encoded"]:
            tot["n"] += 1
            tot["dense"] += L["dense_bytes"]
            tot["value"] += L["lsc"]["value_bytes"]
            tot["meta"] += L["lsc"]["meta_bytes"]
            tot["nnz"] += L["nnz"]
            tot["stored"] += L["lsc"]["stored_values"]
            tot["bound"] += L["entropy_bound"]["bits"]
            for k, f in L["formats"].items():
                acc = tot["fmt"].setdefault(k, [0, 0, True])
                if f is None:
                    acc[2] = False
                else:
                    acc[0] += f["value_bytes"]
                    acc[1] += f["meta_bytes"]
    T = doc["totals"]
    E = T["encoded"]
    check(T["encoded_layers"] == tot["n"], "totals: encoded layers")
    check(E["dense_bytes"] == tot["dense"] and E["value_bytes"] == tot["value"] and
          E["meta_bytes"] == tot["meta"] and E["nnz"] == tot["nnz"], "totals: bytes")
    want_ratio = tot["dense"] / (tot["value"] + tot["meta"]) if tot["n"] else 1.0
    check(close(E["ratio"], want_ratio), f"totals: ratio {E['ratio']} != {want_ratio}")
    check(close(E["entropy_bound"]["bits"], tot["bound"], rel=1e-9), "totals: bound")
    for k, (v, mt, ok) in tot["fmt"].items():
        f = E["formats"][k]
        check((f is None) == (not ok), f"totals: {k} applicability")
        if f is not None:
            check(f["value_bytes"] == v and f["meta_bytes"] == mt, f"totals: {k} bytes")
    files = T["files"]
    size = os.path.getsize(path)
    if not doc["compressed"]:
        check(files["input_bytes"] >= size, "files: input bytes")
    check(close(files["file_ratio"], files["original_bytes"] / files["compressed_bytes"]), "files: ratio")
    share = sum(r["bytes"] for r in T["not_encoded"])
    check(share <= files["input_bytes"], "not_encoded bytes within the input")

    # CSV carries the same numbers
    rows = list(csv.DictReader(io.StringIO(run(exe, path, "--csv").decode())))
    check(len(rows) == len(doc["layers"]), "csv: one row per layer")
    for r, L in zip(rows, doc["layers"]):
        check(r["name"] == L["name"], "csv: name")
        if L["lsc"]:
            check(int(r["nnz"]) == L["nnz"] and int(r["lsc_meta_bytes"]) == L["lsc"]["meta_bytes"],
                  f"csv: {L['name']} numbers")
            for k, f in L["formats"].items():
                check((r[k + "_meta_bytes"] == "") == (f is None), f"csv: {k} null")
                if f is not None:
                    check(int(r[k + "_meta_bytes"]) == f["meta_bytes"], f"csv: {L['name']} {k}")

    # gates: exit 3 below the ratio, 4 above the bits; quiet otherwise
    ratio, bits = E["ratio"], E["meta_bits_per_nnz"]
    run(exe, path, "--json", "--fail-if-ratio-below", repr(ratio * 0.999), expect=0)
    run(exe, path, "--json", "--fail-if-ratio-below", repr(ratio * 1.001 + 1e-9), expect=3)
    run(exe, path, "--json", "--fail-if-meta-bits-above", repr(bits * 1.001 + 1e-9), expect=0)
    if bits > 0:
        run(exe, path, "--json", "--fail-if-meta-bits-above", repr(bits * 0.999), expect=4)
    return doc


def stored_blobs(model_path):
    """{weight: blob bytes} of a compressed model, read through its rewritten initializers."""
    m = onnx.load(model_path, load_external_data=False)
    folder = os.path.dirname(os.path.abspath(model_path))
    out = {}
    for t in m.graph.initializer:
        if t.data_location != TensorProto.EXTERNAL:
            continue
        ext = {e.key: e.value for e in t.external_data}
        with open(os.path.join(folder, ext["location"]), "rb") as f:
            f.seek(int(ext.get("offset", "0")))
            out[t.name] = f.read(int(ext["length"]))
    return out


def varint(blob, p):
    """(value, next offset) of a LEB128 varint (docs/format.md 4.8)."""
    v, shift = 0, 0
    while True:
        b = blob[p]
        v |= (b & 0x7f) << shift
        p, shift = p + 1, shift + 7
        if not b & 0x80:
            return v, p


def entropy_parts(blob):
    """(header, positions, values) bytes of an entropy blob (docs/format.md 4.1, 4.3),
    or of a compact one (4.8: header and section table as varints)."""
    esize = {1: 4, 10: 2, 11: 8, 16: 2}[blob[5]]  # float dtypes only (4)
    if blob[:4] == b"LSCC":
        rank, n, p = blob[16], blob[18], 19
        check(n == 1 + esize, "compact entropy blob: section count")
        for _ in range(6):  # rows, cols, block_h, block_w, nnz, lsc_size
            _, p = varint(blob, p)
        p += 8  # lsc_checksum
        for _ in range(rank):
            _, p = varint(blob, p)
        sizes = []
        for _ in range(n):
            size, p = varint(blob, p + 1)  # after the method byte
            sizes.append(size)
        header = p
    else:
        rank = blob[56]
        table = 64 + 8 * rank
        sizes = [struct.unpack_from("<I", blob, table + 8 * i + 4)[0] for i in range(1 + esize)]
        header = table + 8 * (1 + esize)
    check(header + sum(sizes) == len(blob), "entropy blob: sections fill it")
    return header, sizes[0], sum(sizes[1:])


def check_entropy(exe, path, tmp, doc, compute_model):
    """stats --entropy against the bundle compress --entropy writes, byte for byte, and
    the same numbers read from the compute-tier and entropy-tier compressed models."""
    out = os.path.join(tmp, os.path.basename(path).replace(".onnx", "") + ".entropy.lsc.onnx")
    # --keep-graph: the weights under their own names in the model file (the bundle's
    # blobs are those of a slim model's, docs/format.md part 7)
    p = subprocess.run([exe, "compress", path, "-o", out, "-f", "-q", "--entropy", "--keep-graph"],
                       capture_output=True)
    check(p.returncode == 0, f"compress --entropy {path}: {p.stderr.decode(errors='replace')}")
    if p.returncode:
        return
    edoc = json.loads(run(exe, path, "--json", "--entropy"))
    blobs = stored_blobs(out)
    tot = {"total_bytes": 0, "header_bytes": 0, "position_bytes": 0, "value_bytes": 0, "coded": 0}
    tiers = {}
    check(list(edoc["totals"]["encoded"])[-1] == "entropy_tier", "totals: entropy_tier is the last key")
    for L, P in zip(edoc["layers"], doc["layers"]):
        check(list(L)[-1] == "entropy_tier" and list(P)[-1] == "entropy_tier", f"{L['name']}: entropy_tier last")
        e = tiers[L["name"]] = L.pop("entropy_tier")
        check(P.pop("entropy_tier") is None, f"{L['name']}: entropy_tier without --entropy")
        check(L == P, f"{L['name']}: --entropy changes nothing else")
        if not L["encoded"]:
            continue
        blob = blobs.get(L["name"])
        check(blob is not None, f"{L['name']}: in the --entropy bundle")
        if blob is None:
            continue
        check(e["total_bytes"] == len(blob), f"{L['name']}: entropy {e['total_bytes']} != stored {len(blob)}")
        coded = blob[:4] in (b"LSCE", b"LSCC")
        check(e["stored"] == ("entropy" if coded else "compute"), f"{L['name']}: stored {e['stored']}")
        if coded:
            parts = entropy_parts(blob)
        else:
            m = L["lsc"]["meta"]
            parts = (m["header"], m["bitmap"] + m["block_row_pointers"] + m["sri"], L["lsc"]["value_bytes"])
        check((e["header_bytes"], e["position_bytes"], e["value_bytes"]) == parts,
              f"{L['name']}: entropy parts {e} != {parts}")
        n = L["lsc"]["stored_values"]
        check(close(e["index_bits_per_nnz"], 8 * parts[1] / n) and close(e["value_bits_per_nnz"], 8 * parts[2] / n)
              if n else e["index_bits_per_nnz"] is None, f"{L['name']}: entropy bits per nnz")
        check(e["meta_bytes"] == parts[0] + parts[1] and close(e["ratio"], L["dense_bytes"] / len(blob)),
              f"{L['name']}: entropy meta, ratio")
        for k in ("total_bytes", "header_bytes", "position_bytes", "value_bytes"):
            tot[k] += e[k]
        tot["coded"] += coded
    T = edoc["totals"]["encoded"]["entropy_tier"]
    check(doc["totals"]["encoded"]["entropy_tier"] is None, "totals: entropy_tier without --entropy")
    check(all(T[k] == v for k, v in tot.items() if k != "coded") and T["entropy_coded_layers"] == tot["coded"],
          f"totals: entropy tier {T} != {tot}")
    # CSV carries the same numbers
    rows = list(csv.DictReader(io.StringIO(run(exe, path, "--csv", "--entropy").decode())))
    for r, L in zip(rows, json.loads(run(exe, path, "--json", "--entropy"))["layers"]):
        e = L["entropy_tier"]
        check((r["entropy_tier_total_bytes"] == "") == (e is None), f"csv: {L['name']} entropy null")
        if e is not None:
            check(int(r["entropy_tier_total_bytes"]) == e["total_bytes"] and
                  int(r["entropy_tier_position_bytes"]) == e["position_bytes"] and
                  r["entropy_tier_stored"] == e["stored"], f"csv: {L['name']} entropy")
    # a compressed model, either tier, reports what its blobs would store
    for model in (compute_model, out):
        cdoc = json.loads(run(exe, model, "--json", "--entropy"))
        got = {L["name"]: L["entropy_tier"] for L in cdoc["layers"] if L["encoded"]}
        for name, e in got.items():
            check(e == tiers[name], f"{model}: {name} entropy tier differs from the plain model's")
    md = run(exe, path, "--markdown", "--entropy").decode()
    check("entropy tier" in md, f"{path}: --markdown --entropy column")
    html = os.path.join(tmp, "entropy.html")
    run(exe, path, "--entropy", "--html", html, "-f")
    check("LSC entropy" in open(html, encoding="utf-8").read(), f"{path}: --html --entropy bars")
    width = max(len(line) for line in run(exe, path, "--entropy").decode().splitlines())
    check(width <= 120, f"{path}: --entropy table is {width} columns wide")


def check_with_compressed(exe, path, tmp):
    doc = check_model(exe, path)
    if not any(L["encoded"] for L in doc["layers"]):
        return
    out = os.path.join(tmp, os.path.basename(path).replace(".onnx", "") + ".lsc.onnx")
    p = subprocess.run([exe, "compress", path, "-o", out, "-q"], capture_output=True)
    check(p.returncode == 0, f"compress {path}: {p.stderr.decode(errors='replace')}")
    if p.returncode:
        return
    cdoc = check_model(exe, out, {L["name"]: L for L in doc["layers"]})
    check(cdoc["compressed"], f"{out}: compressed flag")
    check(cdoc["totals"]["encoded"]["meta_bytes"] == doc["totals"]["encoded"]["meta_bytes"],
          "compressed totals = plan totals")
    # bit-exact: the blob stores -0.0 as values; stats counts them apart from nnz
    exact = os.path.join(tmp, "exact.lsc.onnx")
    p = subprocess.run([exe, "compress", path, "-o", exact, "-f", "-q", "--bit-exact"], capture_output=True)
    check(p.returncode == 0, f"compress --bit-exact {path}: {p.stderr.decode(errors='replace')}")
    if p.returncode == 0:
        edoc = json.loads(run(exe, exact, "--json"))
        m = onnx.load(exact, load_external_data=False)
        blobs = {t.name: int({e.key: e.value for e in t.external_data}["length"])
                 for t in m.graph.initializer if t.data_location == TensorProto.EXTERNAL}
        for L in edoc["layers"]:
            if L["name"] in blobs:
                check(L["lsc"]["total_bytes"] == blobs[L["name"]], f"bit-exact {L['name']}: parts vs blob")
                check(L["lsc"]["stored_values"] == L["nnz"] + L["signed_zeros"],
                      f"bit-exact {L['name']}: stored {L['lsc']['stored_values']} != nnz + -0.0")
    # the file ratio, measured, against the actual files compress wrote
    mdoc = json.loads(run(exe, path, "--json", "--measure-files"))
    real = os.path.getsize(out) + os.path.getsize(out[: -len(".lsc.onnx")] + ".lsc")
    check(mdoc["totals"]["files"]["compressed_bytes"] == real,
          f"--measure-files {mdoc['totals']['files']['compressed_bytes']} != files {real}")
    check(mdoc["totals"]["files"]["estimated"] == "none", "--measure-files: not estimated")
    check_entropy(exe, path, tmp, doc, out)


# ---------------------------------------------------------------- generated models

def generated(folder):
    rng = np.random.default_rng(7)

    def pruned(shape, density, dtype=np.float32):
        w = rng.standard_normal(shape).astype(dtype)
        w[rng.random(shape) >= density] = 0
        return w

    models = []

    def save(name, nodes, inits, inputs, extra_inputs=()):
        g = helper.make_graph(nodes, name, inputs + list(extra_inputs),
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, n) for n, w in inits])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        p = os.path.join(folder, name + ".onnx")
        onnx.save(m, p)
        models.append(p)

    x = [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)]
    # LeNet-5-like at about 1.4%: dead rows/cols, -0.0 from mask multiplication
    c1 = pruned((6, 1, 5, 5), 0.2)
    c2 = pruned((16, 6, 5, 5), 0.02)
    f1 = pruned((120, 400), 0.012)
    f1[:, 50:90] = 0
    f1[7] = 0
    f2 = pruned((84, 120), 0.02)
    f2 = f2 * (rng.random(f2.shape) < 0.5)  # 0 * negative = -0.0
    f3 = pruned((10, 84), 0.1)
    save("lenet_like", [
        helper.make_node("Conv", ["x", "c1"], ["a"]), helper.make_node("Conv", ["a", "c2"], ["b"]),
        helper.make_node("Flatten", ["b"], ["bf"]),
        helper.make_node("Gemm", ["bf", "f1"], ["c"], transB=1),
        helper.make_node("Gemm", ["c", "f2"], ["d"], transB=1),
        helper.make_node("Gemm", ["d", "f3"], ["y"], transB=1)],
        [("c1", c1), ("c2", c2), ("f1", f1), ("f2", f2), ("f3", f3)], x)
    # orientations, dtypes, a dense weight (not paying), an empty one, a wide one (CSR16 null)
    save("mixed", [
        helper.make_node("MatMul", ["x", "mm"], ["a"]),
        helper.make_node("Gemm", ["a", "g0"], ["b"]),                 # transB=0: transposed
        helper.make_node("MatMul", ["b", "half"], ["c"]),
        helper.make_node("MatMul", ["c", "dbl"], ["d"]),
        helper.make_node("Gemm", ["d", "dense"], ["e"], transB=1),
        helper.make_node("Gemm", ["e", "empty"], ["f"], transB=1),
        helper.make_node("Gemm", ["f", "wide"], ["y"], transB=1)],
        [("mm", pruned((300, 200), 0.05)), ("g0", pruned((200, 70), 0.1)),
         ("half", pruned((70, 64), 0.08, np.float16)), ("dbl", pruned((64, 33), 0.3, np.float64)),
         ("dense", pruned((40, 33), 1.0)), ("empty", np.zeros((20, 40), np.float32)),
         ("wide", pruned((3, 70000), 0.003))], x)
    # a weight that is also a graph input, and odd names
    gi = pruned((16, 32), 0.1)
    long_name = "model.encoder.layers.11.attention.output.dense.weight"
    save("names_and_inputs", [
        helper.make_node("MatMul", ["x", "w,\"odd\"\tname é"], ["a"]),
        helper.make_node("MatMul", ["a", "gi"], ["b"]),
        helper.make_node("MatMul", ["b", long_name], ["c"]),
        helper.make_node("MatMul", ["ci", "int_w"], ["y"])],
        [("w,\"odd\"\tname é", pruned((32, 32), 0.1)), ("gi", gi), (long_name, pruned((32, 16), 0.2)),
         ("int_w", (pruned((16, 8), 0.5) * 10).astype(np.int32))], x,
        [helper.make_tensor_value_info("gi", TensorProto.FLOAT, [16, 32])])
    # grouped conv, 1-D conv, big conv with whole dead filters
    big = pruned((64, 32, 3, 3), 0.05)
    big[10:30] = 0
    save("convs", [
        helper.make_node("Conv", ["x", "dw"], ["a"], group=8),
        helper.make_node("Conv", ["a", "k1"], ["b"]),
        helper.make_node("Conv", ["b", "big"], ["y"])],
        [("dw", pruned((8, 1, 3, 3), 0.4)), ("k1", pruned((32, 8, 1), 0.5)), ("big", big)], x)
    return models


def check_decode(exe, folder):
    """Weights of ops without an LSC kernel (docs/format.md 3.1): a Gather table
    (LscGather), a ConvTranspose weight and an Add table (LscDecode), one not sparse
    enough, one too small (row `too-small`); rows named by their dense tensor once compressed."""
    rng = np.random.default_rng(3)

    def pruned(shape, density):
        return (rng.standard_normal(shape) * (rng.random(shape) < density)).astype(np.float32)

    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Gather", ["emb", "ids"], ["e"]),
             helper.make_node("ConvTranspose", ["x", "up"], ["u"]),
             helper.make_node("Add", ["t", "dense"], ["a"]),
             helper.make_node("Add", ["a", "small"], ["y"])]
    inits = [("emb", pruned((100, 16), 0.2)), ("up", pruned((8, 16, 3, 3), 0.2)), ("t", pruned((40, 40), 0.3)),
             ("dense", pruned((40, 40), 0.8)), ("small", pruned((40, 20), 0.1)[:, :1])]
    g = helper.make_graph(nodes, "decode", [vi("ids", TensorProto.INT64, [3]), vi("x", TensorProto.FLOAT, [1, 8, 4, 4])],
                          [vi("y", TensorProto.FLOAT, None), vi("e", TensorProto.FLOAT, None),
                           vi("u", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(w, n) for n, w in inits])
    path = os.path.join(folder, "decode.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    want = [("emb", "Gather", "encoded"), ("up", "ConvTranspose", "encoded"), ("t", "Add", "encoded"),
            ("dense", "Add", "not-sparse"), ("small", "Add", "too-small")]
    doc = json.loads(run(exe, path, "--json"))
    got = [(L["name"], L["op"], L["outcome"]) for L in doc["layers"]]
    check(got == want, f"decode: stats rows {got} != {want}")
    lsc = os.path.join(folder, "decode.lsc.onnx")
    subprocess.run([exe, "compress", path, "-o", lsc, "-q"], check=True)
    doc = json.loads(run(exe, lsc, "--json"))
    got = sorted((L["name"], L["outcome"]) for L in doc["layers"] if L["name"] in ("emb", "up", "t"))
    check(got == [("emb", "encoded"), ("t", "encoded"), ("up", "encoded")], f"decode: compressed rows {got}")


def check_run_dense(exe, folder):
    """A dense-ish first convolution (3 input channels, 60% non-zeros) that compress
    leaves to ONNX Runtime's Conv, then a sparse one: once compressed, stats says
    run-dense and encoded; with --run-dense never both are encoded."""
    rng = np.random.default_rng(5)

    def pruned(shape, density):
        return (rng.standard_normal(shape) * (rng.random(shape) < density)).astype(np.float32)

    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Conv", ["x", "c1"], ["h"], pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["h", "c2"], ["y"], pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, "run_dense", [vi("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [vi("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(pruned((32, 3, 3, 3), 0.6), "c1"),
                           numpy_helper.from_array(pruned((32, 32, 3, 3), 0.1), "c2")])
    path = os.path.join(folder, "run_dense.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    for option, want in (("auto", [("c1", "Conv", "run-dense"), ("c2", "Conv", "encoded")]),
                         ("never", [("c1", "Conv", "encoded"), ("c2", "Conv", "encoded")])):
        lsc = os.path.join(folder, "run_dense.%s.lsc.onnx" % option)
        subprocess.run([exe, "compress", path, "-o", lsc, "-q", "--run-dense", option], check=True)
        doc = json.loads(run(exe, lsc, "--json"))
        got = [(L["name"], L["op"], L["outcome"]) for L in doc["layers"]]
        check(got == want, f"run-dense {option}: compressed rows {got} != {want}")
        check(doc["totals"]["encoded_layers"] == 2, f"run-dense {option}: both layers count as encoded")


def check_misc(exe, folder, model):
    # the table fits 120 columns, whatever the names and outcomes
    for p in [os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".onnx")]:
        width = max(len(line) for line in run(exe, p).decode().splitlines())
        check(width <= 120, f"{p}: table is {width} columns wide")
    # HTML is written through a temp file and is self-contained
    html = os.path.join(folder, "r.html")
    run(exe, model, "--html", html)
    text = open(html, encoding="utf-8").read()
    check("<script" not in text.lower() and "http://" not in text and "https://" not in text,
          "html: no scripts, no network")
    check(text.count("data:image/png;base64,") >= 1, "html: sparsity maps")
    check(not [f for f in os.listdir(folder) if ".tmp-" in f], "html: no temp file left")
    # usage errors
    run(exe, model, "--json", "--csv", expect=2)
    run(exe, model, "--fail-if-ratio-below", "x", expect=2)
    run(exe, expect=2)
    run(exe, os.path.join(folder, "missing.onnx"), expect=13)  # 10 + LSC_ERR_IO


def main():
    exe, mode = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "generated":
            paths = generated(tmp)
            for p in paths:
                check_with_compressed(exe, p, tmp)
            check_misc(exe, tmp, paths[0])
            check_decode(exe, tmp)
            check_run_dense(exe, tmp)
        elif mode == "testdata":
            # Debian's libonnx-testdata: every model with a Conv/Gemm/MatMul whose stats run
            base = "/usr/share/libonnx-testdata/data"
            if not os.path.isdir(base):
                print("libonnx-testdata not installed")
                return 77
            n = 0
            for root, _, files in sorted(os.walk(base)):
                if "model.onnx" not in files:
                    continue
                p = os.path.join(root, "model.onnx")
                try:
                    model = onnx.load(p, load_external_data=False)
                except Exception:  # noqa: BLE001 (not ours to judge)
                    continue
                if not candidates(model):
                    continue
                if subprocess.run([exe, "stats", p, "--json"], capture_output=True).returncode != 0:
                    continue  # the ONNX layer's verdict; the roundtrip tests judge it
                check_model(exe, p)
                n += 1
            print(n, "testdata models checked")
            check(n > 0, "no testdata model checked")
        else:
            folder = sys.argv[3]
            paths = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                           if f.endswith(".onnx") and not f.endswith(".lsc.onnx")) if os.path.isdir(folder) else []
            if not paths:
                print("no models in", folder)
                return 77
            for p in paths:
                check_with_compressed(exe, p, tmp)
    print(f"{len(FAILURES)} failures")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
