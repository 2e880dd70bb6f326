#!/usr/bin/python3
"""The seal of a released pair (docs/format.md 2.4, docs/cli.md): `verify` reports a
compressed model edited after compression -- a renamed node, one flipped bit in a
dense bias, both of which decompress would pass on silently -- and `--strict` fails
with exit 5; `onnx-lsc seal` accepts the edit by rewriting only the bundle's seal
(the model file untouched, every blob in place); a damaged pair is not re-sealed and
loses nothing.

usage: test_seal.py ONNX_LSC MODELS WORK
The verify parts exit 77 (skip) when no ONNX Runtime loads; the seal parts run anyway."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import onnx

TOOL, MODELS, WORK = sys.argv[1:4]
FAILURES = []
MODIFIED, USAGE, INVALID = 5, 2, 11


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def run(*args):
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def flip_in_file(path, needle, offset, bit):
    data = bytearray(open(path, "rb").read())
    at = data.find(needle)
    if at < 0 or data.find(needle, at + 1) >= 0:
        fail("%r is not once in %s" % (needle, path))
        return
    data[at + offset] ^= bit
    open(path, "wb").write(bytes(data))


def verify(orig, comp, *extra):
    r = run("verify", orig, comp, "--runs", "1", "--no-decompress", "--json", *extra)
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    orig = os.path.join(MODELS, "lenet5.onnx")
    comp, bundle = os.path.join(WORK, "l.lsc.onnx"), os.path.join(WORK, "l.lsc")
    r = run("compress", orig, "-o", comp, "-q")
    if r.returncode:
        fail("compress: %s" % r.stderr)
        return 1

    # Usage and refusals of `seal`.
    for args, code in (((), USAGE), ((comp, comp), USAGE), (("--bogus", comp), USAGE), ((orig,), INVALID)):
        r = run("seal", *args)
        if r.returncode != code or len(r.stderr.strip().splitlines()) != 1:
            fail("seal %s: exit %d (want %d), stderr %r" % (args, r.returncode, code, r.stderr))

    # A damaged bundle is not re-sealed, and stays as it was.
    good = open(bundle, "rb").read()
    damaged = bytearray(good)
    damaged[200] ^= 0x10  # inside the first blob
    open(bundle, "wb").write(bytes(damaged))
    r = run("seal", comp)
    if r.returncode not in (17, 18) or open(bundle, "rb").read() != bytes(damaged):
        fail("seal of a damaged pair: exit %d, bundle changed: %s" % (r.returncode, r.stderr))
    if sorted(os.listdir(WORK)) != ["l.lsc", "l.lsc.onnx"]:
        fail("seal left files behind: %s" % os.listdir(WORK))
    open(bundle, "wb").write(good)

    # The edits verify must see: a node name (one letter's case) and a bias bit.
    m = onnx.load(comp, load_external_data=False)
    node_name = next(n.name for n in m.graph.node if len(n.name) > 2).encode()
    bias = next(t for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) == 1)
    # NodeProto.name is field 3 (tag 0x1a), then its length: the third letter's case flips.
    edits = {"node name": (b"\x1a" + bytes([len(node_name)]) + node_name, 4, 0x20),
             "bias low bit": (bias.raw_data[:8], 0, 0x01)}

    probe, _ = verify(orig, comp)
    if probe.returncode == 13 and "cannot load ONNX Runtime" in probe.stderr or "ONNX Runtime" in probe.stderr \
            and probe.returncode:
        print("SKIP verify parts: %s" % probe.stderr.strip())
        return 1 if FAILURES else 77
    r, doc = verify(orig, comp, "--strict")
    if r.returncode or not doc or doc["seal"] != "intact" or not doc["ok"]:
        fail("verify --strict of a fresh pair: exit %d %s" % (r.returncode, r.stdout or r.stderr))
    for name, (needle, offset, bit) in edits.items():
        flip_in_file(comp, needle, offset, bit)
        model_sha, bundle_before = sha(comp), open(bundle, "rb").read()
        r = run("verify", orig, comp, "--runs", "1", "--no-decompress")
        if r.returncode or "graph modified since compression" not in r.stdout:
            fail("verify after '%s': exit %d, %r" % (name, r.returncode, r.stdout))
        r, doc = verify(orig, comp, "--strict")
        if r.returncode != MODIFIED or not doc or doc["seal"] != "modified" or doc["ok"]:
            fail("verify --strict after '%s': exit %d %s" % (name, r.returncode, r.stdout))
        r = run("seal", comp)
        after = open(bundle, "rb").read()
        if r.returncode or sha(comp) != model_sha or len(after) != len(bundle_before):
            fail("seal after '%s': exit %d, model or bundle size changed: %s" % (name, r.returncode, r.stderr))
        # Only the header's checksums and the seal (the last blob) and TOC after it change.
        seal_at = bundle_before.rfind(b"LSCS")
        changed = [i for i in range(len(after)) if after[i] != bundle_before[i]]
        if not changed or any(64 <= i < seal_at for i in changed):
            fail("seal after '%s' changed bytes %s (the seal is at %d)" % (name, changed[:4], seal_at))
        r, doc = verify(orig, comp, "--strict")
        if r.returncode or not doc or doc["seal"] != "intact":
            fail("verify --strict after seal ('%s'): exit %d %s" % (name, r.returncode, r.stdout or r.stderr))
    print("seal: %d edits seen by verify, --strict exit %d, re-sealed" % (len(edits), MODIFIED))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
