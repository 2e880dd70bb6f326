"""A corrupted bundle makes ONNX Runtime's session creation fail with onnx-lsc's
message, never a crash: damaged values (checksum), magic, header fields and a blob of
zeros, for each op; a truncated bundle fails cleanly (ORT's own message) too; so
does a damaged folded activation (unknown name, wrong parameter count). LscGather
and LscDecode: a damaged blob or axis fails the session (so does a typed LscDecode on
a blob of another type), an index out of range fails the run, each with our message. LscUnpack (the dense pack of --entropy): a
damaged pack, or a node whose outputs disagree with it, fails the session."""
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import ortcheck


def make_model(path, rng):
    w1 = rng.standard_normal((16, 8, 3, 3)).astype(np.float32) * (rng.random((16, 8, 3, 3)) < 0.1)
    w2 = rng.standard_normal((64, 576)).astype(np.float32) * (rng.random((64, 576)) < 0.1)
    w3 = rng.standard_normal((64, 40)).astype(np.float32) * (rng.random((64, 40)) < 0.1)
    nodes = [helper.make_node("Conv", ["x", "W1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "W2"], ["g"], name="fc", transB=1),
             helper.make_node("MatMul", ["g", "W3"], ["y"], name="head")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in (("W1", w1), ("W2", w2), ("W3", w3))])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)


def blob_offsets(lsc_model):
    """{weight name: (offset, length)} from the rewritten model's external-data entries."""
    m = onnx.load(lsc_model, load_external_data=False)
    out = {}
    for t in m.graph.initializer:
        ext = {e.key: e.value for e in t.external_data}
        if "offset" in ext:
            out[t.name] = (int(ext["offset"]), int(ext["length"]))
    return out


def expect_failure(model, text, label, failures):
    r = ortcheck.run([ortcheck.LSC_ORT_RUN, model, "--expect-error", text])
    crashed = r.returncode < 0 or r.returncode > 1
    ok = r.returncode == 0
    line = (r.stdout.strip() or r.stderr.strip()).splitlines()
    print("%s %-32s %s" % ("ok  " if ok else "FAIL", label, line[-1][:160] if line else "(no output)"))
    if not ok:
        failures.append("%s: %s (exit %d)" % (label, "crashed" if crashed else "wrong outcome", r.returncode))


def packed(work, rng, failures):
    """LscUnpack (docs/format.md part 5): two 512-value tensors in the dense pack."""
    d = os.path.join(work, "packed")
    os.makedirs(d)
    dense, lsc = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx")
    inits = [numpy_helper.from_array((np.round(rng.uniform(-2, 2, 512) * 64) / 64).astype(np.float32), n)
             for n in ("p.a", "p.b")]
    nodes = [helper.make_node("Add", ["x", "p.a"], ["a"]), helper.make_node("Mul", ["a", "p.b"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 512])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), dense)
    ortcheck.compress(dense, lsc, ["--entropy"])
    if ortcheck.lsc_ops(lsc) != ["LscUnpack"]:
        failures.append("packed: not rewritten: %s" % ortcheck.lsc_ops(lsc))
        return
    r = ortcheck.run([ortcheck.LSC_ORT_RUN, lsc])
    if r.returncode != 0:
        failures.append("packed: the intact model does not run: " + r.stderr.strip())
        return
    off, length = blob_offsets(lsc)["lsc.dense"]
    bundle = open(os.path.join(d, "m.lsc"), "rb").read()

    def variant(label, mutate_bundle=None, mutate_model=None):
        sub = os.path.join(d, label)
        os.makedirs(sub)
        data = bytearray(bundle)
        if mutate_bundle:
            mutate_bundle(data)
        with open(os.path.join(sub, "m.lsc"), "wb") as f:
            f.write(data)
        m = onnx.load(lsc, load_external_data=False)
        if mutate_model:
            mutate_model(next(n for n in m.graph.node if n.op_type == "LscUnpack"))
        onnx.save(m, os.path.join(sub, "m.lsc.onnx"))
        return os.path.join(sub, "m.lsc.onnx")

    def flip_last(b):
        b[off + length - 1] ^= 0x40

    def zero_magic(b):
        b[off:off + 4] = bytes(4)

    for label, model, text in (
            ("pack value (checksum)", variant("value", flip_last), "checksum"),
            ("pack magic", variant("magic", zero_magic), "bad magic"),
            ("pack: an extra output", variant("outputs", mutate_model=lambda n: n.output.append("extra")),
             "3 outputs, pack")):
        expect_failure(model, "onnx-lsc: LscUnpack node", label, failures)
        expect_failure(model, text, "%s says %s" % (label, text), failures)
        expect_failure(model, "cannot create a session", "%s at session creation" % label, failures)


def decoded(work, rng, failures):
    """LscGather (table 'emb') and LscDecode (table 't', read by Add)."""
    d = os.path.join(work, "decoded")
    os.makedirs(d)
    dense, lsc = os.path.join(d, "m.onnx"), os.path.join(d, "m.lsc.onnx")
    emb = rng.standard_normal((64, 32)).astype(np.float32) * (rng.random((64, 32)) < 0.2)
    t = rng.standard_normal((40, 40)).astype(np.float32) * (rng.random((40, 40)) < 0.2)
    nodes = [helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
             helper.make_node("Add", ["x", "t"], ["y"], name="add")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [3]),
                                       helper.make_tensor_value_info("x", TensorProto.FLOAT, [40, 40])],
                          [helper.make_tensor_value_info("e", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(emb, "emb"), numpy_helper.from_array(t, "t")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), dense)
    ortcheck.compress(dense, lsc)
    if sorted(ortcheck.lsc_ops(lsc)) != ["LscDecode", "LscGather"]:
        failures.append("decoded: not rewritten: %s" % ortcheck.lsc_ops(lsc))
        return
    ids, bad_ids = os.path.join(d, "ids.npy"), os.path.join(d, "bad_ids.npy")
    np.save(ids, np.array([0, -1, 63], np.int64))
    np.save(bad_ids, np.array([0, 64, 1], np.int64))
    feed = ["--input", "ids=" + ids]

    def expect(model, text, label, extra=feed):
        r = ortcheck.run([ortcheck.LSC_ORT_RUN, model, *extra, "--expect-error", text])
        print("%s %-32s %s" % ("ok  " if r.returncode == 0 else "FAIL", label, (r.stdout.strip() or r.stderr.strip())[-160:]))
        if r.returncode != 0:
            failures.append("%s: %s (exit %d)" % (label, "crashed" if r.returncode < 0 or r.returncode > 1 else "wrong outcome",
                                                  r.returncode))

    r = ortcheck.run([ortcheck.LSC_ORT_RUN, lsc, *feed])
    if r.returncode != 0:
        failures.append("decoded: the intact model does not run: " + r.stderr.strip())
        return
    expect(lsc, "out of range", "LscGather index out of range", ["--input", "ids=" + bad_ids])
    m = onnx.load(lsc, load_external_data=False)
    gather = next(n for n in m.graph.node if n.op_type == "LscGather")
    gather.attribute.append(helper.make_attribute("axis", 5))
    onnx.save(m, os.path.join(d, "axis.lsc.onnx"))
    expect(os.path.join(d, "axis.lsc.onnx"), "onnx-lsc: LscGather node 'embed': axis 5", "LscGather axis out of range")
    # the float16 op on a float32 blob: its kernel refuses it when the session is created
    m = onnx.load(lsc, load_external_data=False)
    dec = next(n for n in m.graph.node if n.op_type == "LscDecode")
    dec.op_type = "LscDecodeFloat16"
    del m.graph.node[:]
    m.graph.node.append(dec)
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info(dec.output[0], TensorProto.FLOAT16, None))
    del m.graph.input[:]
    onnx.save(m, os.path.join(d, "typed.lsc.onnx"))
    expect(os.path.join(d, "typed.lsc.onnx"), "must be a float16 tensor encoded as is, not float32",
           "LscDecodeFloat16 on a float32 blob", [])
    bundle = bytearray(open(os.path.join(d, "m.lsc"), "rb").read())
    for name, node in (("emb", "LscGather node 'embed'"), ("t.lsc", "LscDecode node")):
        off = blob_offsets(lsc)[name][0]
        data = bytearray(bundle)
        data[off + 56 + 8 * data[off + 48] + 1] ^= 0x40
        sub = os.path.join(d, name)
        os.makedirs(sub)
        shutil.copy(lsc, sub)
        with open(os.path.join(sub, "m.lsc"), "wb") as f:
            f.write(data)
        expect(os.path.join(sub, "m.lsc.onnx"), "onnx-lsc: " + node, "%s value (checksum)" % name)


def main():
    work = ortcheck.work_folder()
    rng = np.random.default_rng(7)
    dense = os.path.join(work, "m.onnx")
    make_model(dense, rng)
    failures = []
    pristine = os.path.join(work, "pristine")
    os.makedirs(pristine)
    lsc = os.path.join(pristine, "m.lsc.onnx")
    ortcheck.compress(dense, lsc)
    if sorted(ortcheck.lsc_ops(lsc)) != ["LscConv", "LscGemm", "LscMatMul"]:
        return ["the test model was not fully rewritten: %s" % ortcheck.lsc_ops(lsc)]
    r = ortcheck.run([ortcheck.LSC_ORT_RUN, lsc])
    if r.returncode != 0:
        return ["the intact model does not run: " + r.stderr]
    bundle = open(os.path.join(pristine, "m.lsc"), "rb").read()
    blobs = blob_offsets(lsc)
    node_of = {"W1": "LscConv node 'conv'", "W2": "LscGemm node 'fc'", "W3": "LscMatMul node 'head'"}

    def damaged(label, mutate):
        d = os.path.join(work, label)
        os.makedirs(d)
        shutil.copy(lsc, d)
        data = bytearray(bundle)
        mutate(data)
        with open(os.path.join(d, "m.lsc"), "wb") as f:
            f.write(data)
        return os.path.join(d, "m.lsc.onnx")

    for name, (off, length) in sorted(blobs.items()):
        def flip_value(b, off=off):
            b[off + 56 + 8 * b[off + 48] + 1] ^= 0x40  # a value (docs/format.md 1.1: H = 56 + 8 * rank)
        def flip_magic(b, off=off):
            b[off] ^= 0xff
        def bad_rows(b, off=off):
            b[off + 16:off + 20] = (0xFFFFFFFF).to_bytes(4, "little")
        def zeros(b, off=off, length=length):
            b[off:off + length] = bytes(length)
        for kind, fn, text in (("value", flip_value, "checksum"), ("magic", flip_magic, ""),
                               ("rows", bad_rows, ""), ("zeros", zeros, "")):
            model = damaged("%s-%s" % (name, kind), fn)
            # Our message, from the node's kernel creation: "onnx-lsc: LscGemm node 'fc': ..."
            expect_failure(model, "onnx-lsc: " + node_of[name], "%s %s" % (name, kind), failures)
            if text:
                expect_failure(model, text, "%s %s says %s" % (name, kind, text), failures)
            expect_failure(model, "cannot create a session", "%s %s at session creation" % (name, kind), failures)

    # A damaged folded activation (docs/format.md 3.1): the kernel refuses it by name.
    for label, attrs in (("unknown activation", [("lsc_activation", "Gelu")]),
                         ("activation params", [("lsc_activation", "Clip"), ("lsc_activation_params", [1.0])])):
        d = os.path.join(work, label.replace(" ", "-"))
        os.makedirs(d)
        shutil.copy(os.path.join(pristine, "m.lsc"), d)
        m = onnx.load(lsc, load_external_data=False)
        fc = next(n for n in m.graph.node if n.name == "fc")
        for key, value in attrs:
            fc.attribute.append(helper.make_attribute(key, value))
        onnx.save(m, os.path.join(d, "m.lsc.onnx"))
        expect_failure(os.path.join(d, "m.lsc.onnx"), "onnx-lsc: LscGemm node 'fc': attribute lsc_activation",
                       label, failures)

    decoded(work, rng, failures)
    packed(work, rng, failures)
    # Truncated: ORT itself refuses the external data; what matters is a clean failure.
    model = damaged("truncated", lambda b: b.__delitem__(slice(len(b) // 2, None)))
    expect_failure(model, "cannot create a session", "truncated bundle", failures)
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
