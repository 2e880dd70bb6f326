#!/usr/bin/python3
"""`onnx-lsc verify --input`: a model random inputs cannot drive. Like a voice-activity
detector, it takes audio with unnamed dims (--dim cannot set them) and an int64 sample
rate that picks the branch of an If; each branch reshapes the audio to rows of its
width (512 at 16000, 256 otherwise) and multiplies by a pruned weight inside the body.
Random inputs fail in ONNX Runtime; given ones pass, and the output shape shows that
the value chose the branch and the array's shape reached the runtime. Bad --input
values and files fail with one line and their exit code (docs/cli.md).

usage: test_verify_input.py ONNX_LSC WORK
Exits 77 (skip) when no ONNX Runtime loads.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TOOL, WORK = sys.argv[1], sys.argv[2]
FAILURES = []
USAGE, INVALID, IO = 2, 11, 13


def fail(msg):
    FAILURES.append(msg)
    print("FAIL:", msg)


def run(*args):
    return subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)


def w(*p):
    return os.path.join(WORK, *p)


def vad_model(path):
    rng = np.random.default_rng(5)

    def branch(name, width):
        wt = rng.standard_normal((width, 64)).astype(np.float32)
        wt[rng.random(wt.shape) > 0.1] = 0
        return helper.make_graph(
            [helper.make_node("Reshape", ["x", name + "_shape"], [name + "_r"]),
             helper.make_node("MatMul", [name + "_r", name + "_w"], [name + "_y"])], name, [],
            [helper.make_tensor_value_info(name + "_y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(np.array([-1, width], np.int64), name + "_shape"),
             numpy_helper.from_array(wt, name + "_w")])

    nodes = [helper.make_node("Constant", [], ["k16"], value=numpy_helper.from_array(np.array(16000, np.int64))),
             helper.make_node("Equal", ["sr", "k16"], ["is16"]),
             helper.make_node("If", ["is16"], ["y"], then_branch=branch("then", 512),
                              else_branch=branch("else", 256))]
    g = helper.make_graph(nodes, "vad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None]),
                                         helper.make_tensor_value_info("sr", TensorProto.INT64, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def expect(label, r, code, named=()):
    if r.returncode != code:
        fail(f"{label}: exit {r.returncode}, expected {code}: {(r.stdout + r.stderr).strip()[-300:]}")
        return None
    if code >= 10 or code == USAGE:
        lines = [x for x in r.stderr.splitlines() if x.startswith("onnx-lsc: ")]
        if len(lines) != 1:
            fail(f"{label}: not one 'onnx-lsc: ' line: {r.stderr!r}")
        for want in named:
            if want not in r.stderr:
                fail(f"{label}: message does not name {want!r}: {r.stderr.strip()}")
    return json.loads(r.stdout) if r.returncode in (0, 1) and r.stdout.startswith("{") else None


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    vad_model(w("vad.onnx"))
    r = run("compress", w("vad.onnx"), "-q", "--json")
    if r.returncode != 0:
        sys.exit(f"compress failed: {r.stderr}")
    if not any(x["status"] == "encoded" and x["subgraph"] for x in json.loads(r.stdout)["layers"]):
        fail("the If bodies' weights were not encoded")
    orig, comp = w("vad.onnx"), w("vad.lsc.onnx")
    rng = np.random.default_rng(9)
    np.save(w("audio.npy"), rng.standard_normal((2, 512)).astype(np.float32))
    with open(w("audio_v2.npy"), "wb") as f:  # header versions 2 and 3: 4-byte header length
        np.lib.format.write_array(f, rng.standard_normal((3, 256)).astype(np.float32), version=(2, 0))
    with open(w("audio_v3.npy"), "wb") as f:
        np.lib.format.write_array(f, rng.standard_normal((1, 1024)).astype(np.float32), version=(3, 0))
    np.save(w("sr.npy"), np.array(16000, np.int64))

    # The command line, read before ONNX Runtime loads: usage errors (2), unreadable
    # files (13), bad .npy (11).
    for label, value in (("no '='", "x"), ("no name", "=3"), ("no value", "x="), ("not a number", "x=abc"),
                         ("NaN", "x=nan")):
        expect("usage: " + label, run("verify", orig, comp, "--input", value), USAGE, ["--input", f"'{value}'"])
    expect("usage: twice", run("verify", orig, comp, "--input", "sr=1", "--input", "sr=2"), USAGE, ["twice"])
    expect("missing .npy", run("verify", orig, comp, "--input", f"x={w('nope.npy')}"), IO, ["nope.npy"])
    good = open(w("audio.npy"), "rb").read()
    fortran = w("fortran.npy")
    np.save(fortran, np.asfortranarray(np.zeros((2, 3), np.float32)))
    big_endian = w("be.npy")
    np.save(big_endian, np.zeros((2, 3), ">f4"))
    for name, content, named in (("trunc.npy", good[:-1], "truncated"), ("long.npy", good + b"\0", "appended"),
                                 ("text.npy", b"x = 1\n", "not a .npy"), ("header.npy", good[:40], "header"),
                                 ("fortran.npy", None, "Fortran"), ("be.npy", None, ">f4")):
        if content is not None:
            open(w(name), "wb").write(content)
        expect("bad .npy: " + name, run("verify", orig, comp, "--input", f"x={w(name)}"), INVALID, [name, named])

    probe = run("verify", orig, comp, "--no-decompress", "--input", f"x={w('audio.npy')}", "--input", "sr=16000")
    if probe.returncode == 13 and "cannot load ONNX Runtime" in probe.stderr:
        print("SKIP: no ONNX Runtime:", probe.stderr.strip())
        sys.exit(77)
    if "lacks ONNX Runtime" in probe.stderr or "without ONNX Runtime" in probe.stderr:
        print("SKIP:", probe.stderr.strip())
        sys.exit(77)

    # Random inputs cannot run it: x becomes [1, 1], sr a small integer.
    r = run("verify", orig, comp)
    if r.returncode == 0:
        fail("verify with random inputs passed: the model does not need --input")
    for label, args, shape in (
            ("sr = 16000, x from a file", ["--input", f"x={w('audio.npy')}", "--input", "sr=16000"], "[2,64]"),
            ("sr = 8000: the other branch", ["--input", f"x={w('audio.npy')}", "--input", "sr=8000"], "[4,64]"),
            ("sr from a 0-d int64 .npy", ["--input", f"x={w('audio.npy')}", "--input", f"sr={w('sr.npy')}"],
             "[2,64]"),
            (".npy version 2", ["--input", f"x={w('audio_v2.npy')}", "--input", "sr=8000"], "[3,64]"),
            (".npy version 3", ["--input", f"x={w('audio_v3.npy')}", "--input", "sr=16000"], "[2,64]")):
        doc = expect(label, run("verify", orig, comp, "--json", *args), 0)
        if doc is None:
            continue
        if not doc["ok"] or doc["outputs"][0]["shape"] != shape or doc["runs"] != 1:
            fail(f"{label}: ok {doc['ok']}, shape {doc['outputs'][0]['shape']} (want {shape}), runs {doc['runs']}")
        if set(doc["inputs"]) != {"x", "sr"}:
            fail(f"{label}: report lists inputs {doc['inputs']}")
    r = run("verify", orig, comp, "--input", f"x={w('audio.npy')}", "--input", "sr=16000")
    if r.returncode != 0 or "x from " not in r.stdout or "sr = 16000" not in r.stdout:
        fail(f"text report does not name the given inputs: {r.stdout}")
    # A value for a float input, the other input random: x = 0.5 everywhere ([1, 1]), and
    # the sample rate random (never 16000), so the else branch fails to reshape [1, 1].
    r = run("verify", orig, comp, "--input", "x=0.5", "--runs", "1")
    if r.returncode == 0:
        fail("x = 0.5 of shape [1,1] ran: the random sr should have failed the reshape")

    # Many graph inputs (IR < 4 exporters list every initializer): the 70th is found.
    names = [f"in{i}" for i in range(70)]
    g = helper.make_graph([helper.make_node("Sum", names, ["s"])], "many",
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in names],
                          [helper.make_tensor_value_info("s", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), w("many.onnx"))
    doc = expect("70 inputs, all given", run("verify", w("many.onnx"), w("many.onnx"), "--no-decompress", "--json",
                                             *[a for n in names for a in ("--input", f"{n}=0.25")]), 0)
    if doc and (doc["runs"] != 1 or len(doc["inputs"]) != 70):
        fail(f"70 inputs: runs {doc['runs']}, {len(doc['inputs'])} inputs reported")
    expect("the 70th input given", run("verify", w("many.onnx"), w("many.onnx"), "--no-decompress",
                                       "--input", "in69=1"), 0)

    # The model's side: one line, exit 11, naming the input and the file.
    np.save(w("int32.npy"), np.zeros((2, 512), np.int32))
    np.save(w("rank3.npy"), np.zeros((1, 2, 512), np.float32))
    np.save(w("sr2.npy"), np.array([16000, 8000], np.int64))
    for label, args, named in (
            ("dtype differs", [f"x={w('int32.npy')}", "sr=16000"], ["'x'", "int32", "float32"]),
            ("rank differs", [f"x={w('rank3.npy')}", "sr=16000"], ["'x'", "[1,2,512]", "[?,?]"]),
            ("shape of a scalar input", [f"x={w('audio.npy')}", f"sr={w('sr2.npy')}"], ["'sr'", "[2]", "[]"]),
            ("int64 input, fractional value", [f"x={w('audio.npy')}", "sr=1.5"], ["'sr'", "int64", "1.5"]),
            ("no such input", [f"x={w('audio.npy')}", "rate=16000"], ["rate", "'x'", "'sr'"])):
        args = [a for v in args for a in ("--input", v)]
        expect(label, run("verify", orig, comp, "--no-decompress", *args), INVALID, named)

    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("verify --input: all checks passed")


if __name__ == "__main__":
    main()
