#!/usr/bin/python3
"""The onnx-lsc command on good and hostile inputs: exit codes (docs/cli.md), one
error line "onnx-lsc: ...", inputs never modified, nothing left behind on failure.

usage: test_cli.py ONNX_LSC
"""
import json
import os
import subprocess
import shutil
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import cli_run  # noqa: E402
from cli_run import digest, listing  # noqa: E402
from onnx_models import external_weight  # noqa: E402

TOOL = sys.argv[1]
FAILURES = []

EXIT_USAGE, NOT_ONNX, EXTERNAL, INVALID = 2, 14, 16, 11
BUNDLE_ERRORS = {13, 17, 18, 19}  # io, malformed bundle, checksum, version


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def run(*args):
    return cli_run.run(TOOL, args)


def expect(label, r, codes, folder=None, before=None):
    codes = codes if isinstance(codes, (set, tuple, list)) else {codes}
    if r.returncode not in codes:
        fail(f"{label}: exit {r.returncode}, expected {sorted(codes)}; stderr: {r.stderr.strip()[:200]}")
    if r.returncode >= 10 or r.returncode == EXIT_USAGE:
        problem = cli_run.error_output_problem(r)
        if problem:
            fail(f"{label}: {problem}")
    if folder is not None and before is not None and listing(folder) != before:
        fail(f"{label}: files left behind: {sorted(set(listing(folder)) - set(before))}")


def small_model(folder, name="m.onnx"):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((64, 128)).astype(np.float32)
    w[rng.random(w.shape) > 0.1] = 0
    g = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
                          [numpy_helper.from_array(w, "w")])
    path = os.path.join(folder, name)
    onnx.save(helper.make_model(g), path)
    return path


def external_model(folder, location, offset=0, length=None, name="ext.onnx"):
    _, t = external_weight("w", location, offset, length)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])], [t])
    path = os.path.join(folder, name)
    onnx.save(helper.make_model(g), path)
    return path


def test_usage(work):
    for args in (["--help"], ["--version"], ["help"], ["help", "compress"], ["help", "decompress"],
                 ["help", "exit-codes"], ["compress", "--help"]):
        r = run(*args)
        if r.returncode != 0 or not r.stdout:
            fail(f"{' '.join(args)}: exit {r.returncode}")
    if "onnx-lsc" not in run("--version").stdout:
        fail("--version does not name the tool")
    m = small_model(work)
    before = listing(work)
    for args in ([], ["frobnicate"], ["compress"], ["compress", m, "--no-such-option"],
                 ["compress", m, "--index-bits", "17"], ["compress", m, "--index-bits", "x"],
                 ["compress", m, "--block", "0x4"], ["compress", m, "--block", "4"],
                 ["compress", m, "--run-dense", "sometimes"], ["compress", m, "--run-dense"],
                 ["compress", m, "-j"], ["compress", m, m], ["decompress"], ["decompress", m],
                 ["help", "nope"]):
        expect("usage " + " ".join(a.replace(work, "") for a in args), run(*args), EXIT_USAGE, work, before)


def test_good_and_safety(work):
    m = small_model(work)
    h = digest(m)
    r = run("compress", m)
    expect("compress", r, 0)
    for needed in ("m.lsc.onnx", "m.lsc"):
        if needed not in listing(work):
            fail(f"compress did not write {needed}: {listing(work)}")
    for column in ("meta b/nz", "bound b/nz", "ratio", "file ratio", "signed zeros"):
        if column not in r.stdout:
            fail(f"compress table lacks '{column}'")
    if digest(m) != h:
        fail("compress modified its input")
    before = listing(work)
    expect("compress onto its input", run("compress", m, "-o", m), INVALID, work, before)
    expect("bundle in another folder", run("compress", m, "--bundle", "/tmp/x.lsc"), INVALID, work, before)
    # decompress refuses to overwrite the original by default.
    expect("decompress onto existing", run("decompress", os.path.join(work, "m.lsc.onnx")), INVALID, work, before)
    r = run("decompress", os.path.join(work, "m.lsc.onnx"), "-o", os.path.join(work, "back.onnx"))
    expect("decompress", r, 0)
    if "back.onnx" not in listing(work):
        fail("decompress did not write its output")
    q = run("compress", m, "-o", os.path.join(work, "q.onnx"), "-q")
    if q.returncode or q.stdout:
        fail("--quiet printed something or failed")


def test_smallest(work):
    """--smallest: no larger than the default, which stays within its 1.5% slack
    (3% for a whole-width encoding replacing narrow blocks); both decompress to the
    same model."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models", "lenet5.onnx")
    sizes, backs = {}, {}
    for label, extra in (("default", []), ("smallest", ["--smallest"])):
        out = os.path.join(work, label + ".lsc.onnx")
        expect("compress " + label, run("compress", src, "-o", out, "-q", *extra), 0)
        sizes[label] = os.path.getsize(out[:-len(".onnx")])
        back = os.path.join(work, label + ".back.onnx")
        expect("decompress " + label, run("decompress", out, "-o", back, "-q"), 0)
        backs[label] = digest(back)
    if not sizes["smallest"] <= sizes["default"] <= sizes["smallest"] * 1.03 + 64 * 4:
        fail(f"bundle sizes: --smallest {sizes['smallest']}, default {sizes['default']}")
    if sizes["smallest"] == sizes["default"]:
        fail("--smallest changed nothing on lenet5 (the default trades bytes there)")
    if backs["smallest"] != backs["default"]:
        fail("--smallest and the default decompress to different models")


def test_bad_models(work):
    m = small_model(work, "good.onnx")
    data = open(m, "rb").read()
    cases = {"empty": b"", "text": b"hello, this is not a model\n" * 3,
             "random": bytes(np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8))}
    for cut in (1, 7, len(data) // 3, len(data) // 2, len(data) - 40, len(data) - 1):
        cases[f"truncated{cut}"] = data[:cut]
    for name, content in cases.items():
        sub = os.path.join(work, name)
        os.mkdir(sub)
        p = os.path.join(sub, "bad.onnx")
        with open(p, "wb") as f:
            f.write(content)
        before = listing(sub)
        r = run("compress", p)
        if r.returncode == 0:
            fail(f"bad model {name}: compress succeeded")
        expect(f"bad model {name}", r, {NOT_ONNX, 15}, sub, before)
        r = run("decompress", p, "-o", os.path.join(sub, "out.onnx"))
        expect(f"bad model {name} (decompress)", r, {NOT_ONNX, 15}, sub, before)
    expect("missing input", run("compress", os.path.join(work, "nope.onnx")), 13)


def test_external(work):
    cases = {}
    d = os.path.join(work, "ext_missing")
    os.mkdir(d)
    cases["missing"] = external_model(d, "weights.bin")
    d = os.path.join(work, "ext_absolute")
    os.mkdir(d)
    cases["absolute"] = external_model(d, "/etc/passwd")
    d = os.path.join(work, "ext_dotdot")
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(d, "weights.bin"), "wb") as f:
        f.write(b"\0" * 1024)
    cases["dotdot"] = external_model(os.path.join(d, "sub"), "../weights.bin")
    d = os.path.join(work, "ext_range")
    os.mkdir(d)
    with open(os.path.join(d, "weights.bin"), "wb") as f:
        f.write(b"\0" * 1000)
    cases["out of range"] = external_model(d, "weights.bin", offset=100)
    cases["huge offset"] = external_model(d, "weights.bin", offset=2**63, name="ext2.onnx")
    cases["bad length"] = external_model(d, "weights.bin", length=12, name="ext3.onnx")
    d = os.path.join(work, "ext_symlink")
    os.mkdir(d)
    outside = os.path.join(work, "outside.bin")
    with open(outside, "wb") as f:
        f.write(b"\0" * 1024)
    os.symlink(outside, os.path.join(d, "weights.bin"))
    cases["symlink out"] = external_model(d, "weights.bin")
    for name, p in cases.items():
        folder = os.path.dirname(p)
        before = listing(folder)
        r = run("compress", p)
        expect(f"external {name}", r, EXTERNAL, folder, before)
        if "'w'" not in r.stderr or (name != "bad length" and "weights.bin" not in r.stderr and "/etc/passwd" not in r.stderr):
            fail(f"external {name}: message does not name the location: {r.stderr.strip()}")


def test_bad_bundles(work):
    d = os.path.join(work, "bundles")
    os.mkdir(d)
    m = small_model(d)
    expect("compress", run("compress", m), 0)
    bundle = os.path.join(d, "m.lsc")
    good = open(bundle, "rb").read()
    rw = os.path.join(d, "m.lsc.onnx")
    n = len(good)
    variants = {"truncated": good[: n // 2], "empty": b"", "header flip": bytes([good[0] ^ 1]) + good[1:],
                "blob flip": good[:100] + bytes([good[100] ^ 0x10]) + good[101:],
                "toc flip": good[:-5] + bytes([good[-5] ^ 0x40]) + good[-4:],
                "extended": good + b"\0" * 64}
    for name, content in variants.items():
        with open(bundle, "wb") as f:
            f.write(content)
        before = listing(d)
        r = run("decompress", rw, "-o", os.path.join(d, "out.onnx"))
        expect(f"bundle {name}", r, BUNDLE_ERRORS, d, before)
    os.remove(bundle)
    before = listing(d)
    expect("bundle missing", run("decompress", rw, "-o", os.path.join(d, "out.onnx")), BUNDLE_ERRORS, d, before)


def test_overwrite(work):
    """One overwrite rule (docs/cli.md): every command refuses to replace an existing
    output unless -f/--force, leaving it as it was; with -f the output is replaced
    through a temporary file; an output that is the input is refused even with -f."""
    m = small_model(work)
    rw, bundle = os.path.join(work, "m.lsc.onnx"), os.path.join(work, "m.lsc")
    expect("compress", run("compress", m, "-q"), 0)
    html = os.path.join(work, "r.html")
    expect("stats --html", run("stats", m, "--html", html), 0)
    back, back2 = os.path.join(work, "back.onnx"), os.path.join(work, "back2.onnx")
    for p in (back, back2):
        expect("decompress -o", run("decompress", rw, "-o", p, "-q"), 0)
    os.symlink("nowhere", os.path.join(work, "dangling.onnx"))
    outputs = (rw, bundle, html, back, back2)
    hashes = {p: digest(p) for p in outputs}
    inodes = {p: os.stat(p).st_ino for p in outputs}
    before = listing(work)
    refused = [
        ("compress, both outputs exist", ["compress", m], rw),
        ("compress, -o exists", ["compress", m, "-o", back], back),
        ("compress, only the bundle exists", ["compress", m, "-o", os.path.join(work, "new.onnx"),
                                              "--bundle", bundle], bundle),
        ("compress, -o is a dangling link", ["compress", m, "-o", os.path.join(work, "dangling.onnx")],
         "dangling.onnx"),
        ("decompress, default output exists", ["decompress", rw], m),
        ("decompress, -o exists", ["decompress", rw, "-o", back], back),
        ("stats --html exists", ["stats", m, "--html", html], html),
    ]
    for label, args, named in refused:
        r = run(*args)
        expect(label, r, INVALID, work, before)
        if named not in r.stderr or "-f" not in r.stderr:
            fail(f"{label}: message does not name {named} and -f: {r.stderr.strip()}")
    for p, h in hashes.items():
        if digest(p) != h:
            fail(f"refused command changed {os.path.basename(p)}")
    for label, args in (("compress -o m.onnx -f", ["compress", m, "-o", m, "-f"]),
                        ("stats --html m.onnx --force", ["stats", m, "--html", m, "--force"]),
                        ("decompress -o m.lsc -f", ["decompress", rw, "-o", bundle, "-f"])):
        expect(label + " (the input)", run(*args), INVALID, work, before)
    h = digest(m)
    for label, args in (("compress -f", ["compress", m, "-f", "-q", "--bit-exact"]),
                        ("compress --force -o", ["compress", m, "--force", "-q", "-o", back]),
                        ("decompress -f", ["decompress", rw, "-f", "-q", "-o", back2]),
                        ("stats --html -f", ["stats", m, "--html", html, "-f"])):
        expect(label, run(*args), 0)
    if digest(m) != h:
        fail("an overwrite changed the input")
    replaced = {p: os.stat(p).st_ino != inodes[p] for p in outputs}  # renamed over, not rewritten
    if not all(replaced.values()):
        fail(f"-f did not replace the outputs: {replaced}")
    if [f for f in listing(work) if f.startswith(".") or ".tmp-" in f]:
        fail(f"-f left temporary files: {listing(work)}")
    for cmd in ("compress", "decompress", "stats"):
        if "-f, --force" not in run("help", cmd).stdout:
            fail(f"'onnx-lsc help {cmd}' does not document -f, --force")


def test_notes(work):
    """The library hands notes to a callback; the command prints them unless -q."""
    w = TensorProto(name="w", data_type=TensorProto.FLOAT16, dims=[8, 8])
    w.int32_data.extend([0] * 63 + [70000])  # not a float16 bit pattern: left dense, with a note
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [1, 8])], [w])
    m = os.path.join(work, "note.onnx")
    onnx.save(helper.make_model(g), m)
    r = run("compress", m, "-o", os.path.join(work, "a.lsc.onnx"))
    expect("compress with a note", r, 0)
    notes = [x for x in r.stderr.splitlines() if x.startswith("onnx-lsc: note: ")]
    if len(notes) != 1 or "'w'" not in notes[0]:
        fail(f"compress: expected one note naming 'w' on stderr: {r.stderr!r}")
    r = run("compress", m, "-o", os.path.join(work, "b.lsc.onnx"), "-q")
    expect("compress -q with a note", r, 0)
    if r.stderr or r.stdout:
        fail(f"compress -q printed something: {r.stdout!r} {r.stderr!r}")


def test_json_names(work):
    """compress --json and stats --json are valid UTF-8 JSON whatever bytes a name holds."""
    m = small_model(work, "names.onnx")
    data = open(m, "rb").read().replace(b"\x01w", b"\x01\xff")  # the weight's name: 'w' -> 0xff
    if data.count(b"\x01\xff") < 1:
        fail("json names: could not plant a byte in the weight's name")
        return
    open(m, "wb").write(data)
    for args in (["compress", m, "-o", os.path.join(work, "n.lsc.onnx"), "--json"], ["stats", m, "--json"]):
        r = subprocess.run([TOOL, *args], capture_output=True)
        expect(" ".join(args[:1]) + " --json, invalid UTF-8 name", r, 0)
        try:
            doc = json.loads(r.stdout.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            fail(f"{args[0]} --json: not UTF-8 JSON: {e}: {r.stdout[:200]!r}")
            continue
        if "\ufffd" not in json.dumps(doc["layers"][0]["name"], ensure_ascii=False):
            fail(f"{args[0]} --json: the invalid byte is not U+FFFD: {doc['layers'][0]['name']!r}")


def main():
    work = tempfile.mkdtemp(prefix="lsc-cli-")
    try:
        for t in (test_usage, test_good_and_safety, test_overwrite, test_smallest, test_bad_models, test_external,
                  test_bad_bundles, test_notes, test_json_names):
            sub = os.path.join(work, t.__name__)
            os.mkdir(sub)
            t(sub)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("cli: all checks passed")


if __name__ == "__main__":
    main()
