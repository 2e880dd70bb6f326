"""8-bit weights (docs/format.md 1.9, 3.1): the shipped pruned LeNets quantized by
scripts/quantize_models.py (weight-only QDQ per channel: symmetric int8, asymmetric
uint8 with non-zero zero points, int8 read through Transpose by MatMul; dynamic
quantization's MatMulInteger). Each one:
every weight encoded and its DequantizeLinear chain fused into the LSC op (none left
in the graph), decompress gives back the file byte for byte, and ONNX Runtime's
outputs with the plugin equal the dense QDQ model's (ortcheck.RTOL, batch 1 and 3,
1 and 2 threads). Also 8-bit weights held by Constant nodes, in the main graph and in
both branches of an If (through Transpose into Gemm). And LscMatMulInteger's int32
against the exact integer product (numpy), uint8 and int8 A, 8-bit weights with
per-column zero points, K small (one float pass) and large (digits of A): ONNX
Runtime's own uint8 x int8 kernel is not exact there on AVX2 without VNNI (it
saturates pairs of products in 16 bits), so it is compared only where it is."""
import os
import sys

import numpy as np
import onnx

import ortcheck

HERE = os.path.dirname(os.path.abspath(__file__))
QUANTIZE = os.path.join(HERE, "..", "..", "scripts", "quantize_models.py")
FORMS = ("qdq-int8", "qdq-uint8", "qdq-transpose", "dynamic")


def node_ops(path):
    return [n.op_type for n in onnx.load(path, load_external_data=False).graph.node]


def constants_and_bodies():
    """8-bit weights held by Constant nodes, one in the main graph (DequantizeLinear ->
    MatMul) and one in each branch of an If (DequantizeLinear -> Transpose -> Gemm),
    with uint8 and int8 zero points."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(3)

    def q8(shape, dtype, zp):
        q = rng.integers(-100 if dtype == np.int8 else 0, 100 if dtype == np.int8 else 255, shape)
        keep = rng.random(shape) < 0.15
        return np.where(keep, q, zp).astype(dtype)

    def const(name, arr):
        return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name + "_value"))

    zp_u = np.array([7, 128, 200, 3, 0, 90, 255, 1, 40, 60, 80, 100], np.uint8)
    main = [const("wq", q8((24, 12), np.uint8, zp_u[None, :])),
            const("ws", (rng.random(12) * 0.05 + 0.01).astype(np.float32)), const("wz", zp_u),
            helper.make_node("DequantizeLinear", ["wq", "ws", "wz"], ["w"], axis=1),
            helper.make_node("MatMul", ["x", "w"], ["h"])]

    def branch(tag, sign):
        zp = np.full(96, -3 * sign, np.int8)
        nodes = [const("bq", q8((96, 12), np.int8, zp[:, None])), const("bs", np.full(96, 0.02, np.float32)),
                 const("bz", zp), helper.make_node("DequantizeLinear", ["bq", "bs", "bz"], ["bw"], axis=0),
                 helper.make_node("Transpose", ["bw"], ["bt"], perm=[1, 0]),
                 helper.make_node("Gemm", ["h", "bt"], ["y_" + tag])]
        return helper.make_graph(nodes, tag, [], [helper.make_tensor_value_info("y_" + tag, TensorProto.FLOAT,
                                                                               None)])
    main.append(helper.make_node("If", ["c"], ["y"], then_branch=branch("then", 1), else_branch=branch("else", -1)))
    g = helper.make_graph(main, "qdq_constants",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 24]),
                           helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    x = rng.standard_normal((2, 24)).astype(np.float32)
    return m, [{"x": x, "c": np.array(True)}, {"x": x, "c": np.array(False)}], 3


def integer_exact(work):
    """LscMatMulInteger's int32 output equals the exact product; returns failures."""
    from onnx import TensorProto, helper, numpy_helper
    failures = []
    rng = np.random.default_rng(8)
    for K, N, a_type, b_type in ((40, 16, np.uint8, np.int8), (800, 50, np.uint8, np.uint8),
                                 (5000, 24, np.int8, np.int8)):
        info = np.iinfo(b_type)
        bzp = rng.integers(info.min, info.max + 1, N).astype(b_type)
        B = np.where(rng.random((K, N)) < 0.1, rng.integers(info.min, info.max + 1, (K, N)), bzp).astype(b_type)
        azp = np.array(rng.integers(0, 100), a_type)
        name = "integer_%d" % K
        g = helper.make_graph([helper.make_node("MatMulInteger", ["a", "B", "azp", "bzp"], ["y"])], name,
                              [helper.make_tensor_value_info("a", TensorProto.UINT8 if a_type == np.uint8 else TensorProto.INT8,
                                                             [3, K])],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, [3, N])],
                              [numpy_helper.from_array(B, "B"), numpy_helper.from_array(bzp, "bzp"),
                               numpy_helper.from_array(azp, "azp")])
        path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        ortcheck.compress(path, lsc)
        info_a = np.iinfo(a_type)
        a = rng.integers(info_a.min, info_a.max + 1, (3, K)).astype(a_type)
        feed = os.path.join(work, name + ".a.npy")
        np.save(feed, a)
        want = (a.astype(np.int64) - int(azp)) @ (B.astype(np.int64) - bzp.astype(np.int64))
        got = ortcheck.ort_outputs(lsc, {"a": feed}, os.path.join(work, name + ".out"))[0]
        ok = ortcheck.lsc_ops(lsc) == ["LscMatMulInteger"] and got.dtype == np.int32 and np.array_equal(got, want)
        print("%s %-28s LscMatMulInteger K %d: int32 equal to the exact product: %s" %
              ("ok  " if ok else "FAIL", name, K, ok))
        if not ok:
            failures.append("%s: LscMatMulInteger differs from the exact product" % name)
    return failures


def main():
    models, work = ortcheck.work_folder(with_models=True)
    failures = []
    rng = np.random.default_rng(15)
    for base in ("lenet5_1p4", "lenet300_100"):
        src = os.path.join(models, base + ".onnx")
        if not os.path.isfile(src):
            raise ortcheck.Skip("%s missing" % src)
        for form in FORMS:
            name = "%s_%s" % (base, form)
            quantized = os.path.join(work, name + ".quantized.onnx")
            r = ortcheck.run([sys.executable, QUANTIZE, src, form, quantized])
            if r.returncode != 0:
                failures.append("%s: quantize_models.py failed: %s" % (name, r.stderr.strip()))
                continue
            m = onnx.load(quantized)
            n8 = node_ops(quantized).count("DequantizeLinear") + node_ops(quantized).count("MatMulInteger")
            shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
            feeds = [{m.graph.input[0].name: rng.standard_normal([b] + shape[1:]).astype(np.float32)}
                     for b in (1, 3)]
            # Saves name.onnx, compresses it to name.lsc.onnx, compares in ORT.
            failures += ortcheck.check_models(work, {name: (m, feeds, n8)})
            path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
            left = sum(node_ops(lsc).count(op) for op in ("DequantizeLinear", "Transpose", "MatMulInteger"))
            if left or len(ortcheck.lsc_ops(lsc)) < n8:
                failures.append("%s: %d LSC ops for %d 8-bit weights, %d of their nodes left" %
                                (name, len(ortcheck.lsc_ops(lsc)), n8, left))
            # --bit-exact: float layers (dynamic keeps Conv float) keep their -0.0.
            exact, back = (os.path.join(work, name + e) for e in (".exact.lsc.onnx", ".back.onnx"))
            ortcheck.compress(path, exact, ["--bit-exact"])
            r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", exact, "-o", back])
            same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
            print("%s %-28s %d 8-bit weights rewritten, decompress byte for byte: %s" %
                  ("ok  " if same and not left else "FAIL", name, n8, same))
            if not same:
                failures.append("%s: decompress differs (%s)" % (name, r.stderr.strip()))
    failures += integer_exact(work)
    # Constant nodes, If bodies: three weights fused, the model back byte for byte.
    m, feeds, n = constants_and_bodies()
    failures += ortcheck.check_models(work, {"constants_bodies": (m, feeds, n)})
    path, lsc = (os.path.join(work, "constants_bodies" + e) for e in (".onnx", ".lsc.onnx"))
    back = os.path.join(work, "constants_bodies.back.onnx")
    r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", lsc, "-o", back])
    same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
    left = [op for op in ortcheck.lsc_ops_anywhere(lsc)]
    print("%s %-28s %d LSC ops in main graph and bodies, decompress byte for byte: %s" %
          ("ok  " if same and len(left) == n else "FAIL", "constants_bodies", len(left), same))
    if not same or len(left) != n:
        failures.append("constants_bodies: %d LSC ops, decompress same %s (%s)" % (len(left), same, r.stderr.strip()))
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
