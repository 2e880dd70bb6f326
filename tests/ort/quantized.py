"""8-bit weights (docs/format.md 1.9, 3.1): the shipped pruned LeNets quantized by
scripts/quantize_models.py (weight-only QDQ per channel: symmetric int8, asymmetric
uint8 with non-zero zero points, int8 read through Transpose by MatMul; dynamic
quantization's MatMulInteger and ConvInteger; static QOperator QLinearMatMul and
QLinearConv; those two integer forms' outputs must be equal, not only close). Each one,
in the compute tier and with compress --entropy (8-bit entropy blobs, version 3):
every weight encoded and its DequantizeLinear chain fused into the LSC op (none left
in the graph), decompress gives back the file byte for byte, and ONNX Runtime's
outputs with the plugin equal the dense QDQ model's (ortcheck.RTOL, batch 1 and 3,
1 and 2 threads). Also 8-bit weights held by Constant nodes, in the main graph and in
both branches of an If (through Transpose into Gemm). And LscMatMulInteger's int32
against the exact integer product (numpy), all rows at once and each row alone
(batch 1 multiplies on the weight's batch-1 form), uint8 and int8 A, 8-bit weights with
per-column zero points, K small and large, sums that wrap modulo 2^32 (int32 as ONNX
accumulates; batch 1 on the integer batch-1 form, which also takes a row L1 norm beyond
2^24, where no float plan is exact), and at the edge of the one-pass bound
(max|A'| * the weight's largest row L1 norm, adversarial A and W on each side): ONNX
Runtime's own uint8 x int8 kernel is not exact there on AVX2 without VNNI (it
saturates pairs of products in 16 bits), so it is compared only where it is. The same
for LscQLinearMatMul's uint8 / int8 output against ONNX Runtime's requantization of
the exact product (numpy, float32 as ORT computes it), and against the real-number
formula: at most one code apart; LscQLinearConv and LscConvInteger equal to ORT's QLinearConv / ConvInteger over
strides, pads, dilations, groups, 1x1 and 1-D kernels (uint8, where ORT is exact), and a
stride past the integer direct form's phases (the float passes); LscQLinearConv on int8
x, W and y equal to the exact convolution requantized (numpy); the 6.9%-dense LeNet-5's
integer forms equal to the dense quantized model's. Dynamic quantization's
chains fused into LscDynamicQuantMatMul (every MatMulInteger of the dynamic / conv-integer forms of the three
shipped models, none left as LscMatMulInteger; outputs equal to ORT's where the rest of the model is
integer), and chains that must not be fused (an intermediate read twice, a scale fed at run time) or
fused without their Add (a bias fed at run time): ops, outputs equal to ORT's, the file back byte for
byte, stats and verify. The same for static quantization's QuantizeLinear -> QLinearMatMul ->
DequantizeLinear [-> Add] chains and LscQLinearMatMulFloat (every QLinearMatMul of the qlinear forms)."""
import json
import os
import sys

import numpy as np
import onnx

import ortcheck

HERE = os.path.dirname(os.path.abspath(__file__))
QUANTIZE = os.path.join(HERE, "..", "..", "scripts", "quantize_models.py")
FORMS = ("qdq-int8", "qdq-uint8", "qdq-transpose", "dynamic", "qlinear", "conv-integer")
# The nodes whose 8-bit weights each form fuses or rewrites (none may be left).
WEIGHT_OPS = {"qlinear": ("QLinearMatMul", "QLinearConv"), "conv-integer": ("ConvInteger", "MatMulInteger")}
# Integer ops then one rounding, as ORT's own: outputs equal, not only close.
EXACT_FORMS = ("qlinear", "conv-integer")
DEFAULT_WEIGHT_OPS = ("DequantizeLinear", "MatMulInteger")


def dynamic_fused(name, quantized, lsc):
    """Every MatMulInteger of a quantize_models.py form became LscDynamicQuantMatMul,
    every QLinearMatMul LscQLinearMatMulFloat."""
    failures = []
    ops = node_ops(lsc)
    for plain, fused, unfused in (("MatMulInteger", "LscDynamicQuantMatMul", "LscMatMulInteger"),
                                  ("QLinearMatMul", "LscQLinearMatMulFloat", "LscQLinearMatMul")):
        n = node_ops(quantized).count(plain)
        ok = ops.count(fused) == n and unfused not in ops
        if n:
            print("%s %-28s %d %s chains fused into %s: %s" % ("ok  " if ok else "FAIL", name, n, plain, fused, ok))
        if not ok:
            failures.append("%s: %d %s, ops %s" % (name, n, plain, ops))
    return failures


def dense_and_lsc(work, name, path, lsc, feed_arrays):
    """(dense outputs, LSC outputs at 1 and 2 threads) of ORT for one set of inputs."""
    feeds = {}
    for k, arr in feed_arrays.items():
        feeds[k] = os.path.join(work, "%s.%s.npy" % (name, k))
        np.save(feeds[k], arr)
    dense = ortcheck.ort_outputs(path, feeds, os.path.join(work, name + ".dense"), plugin=False)
    return dense, [ortcheck.ort_outputs(lsc, feeds, os.path.join(work, name + ".lsc%d" % t), threads=t)
                   for t in (1, 2)]


def dynamic_layer(p, x, K, N, rng, scale="col", bias="const", zp="col", swap=False):
    """quantize_dynamic's nodes for one layer x [.., K] -> p_y [.., N]: (nodes, initializers,
    extra graph inputs). scale "col" / "one" / "input" (fed at run time); bias "const",
    "input" or None; zp "col", "one" or None (no b_zero_point); swap: the Muls' inputs
    the other way round."""
    from onnx import TensorProto, helper, numpy_helper
    B = np.where(rng.random((K, N)) < 0.15, rng.integers(-63, 64, (K, N)), 0).astype(np.int8)
    inits = [numpy_helper.from_array(B, p + "_B")]
    inputs = []
    ws = (rng.random(N if scale != "one" else 1) * 0.01 + 0.002).astype(np.float32)
    if scale == "input":
        inputs.append(helper.make_tensor_value_info(p + "_ws", TensorProto.FLOAT, [N]))
    else:
        inits.append(numpy_helper.from_array(ws if scale == "col" else ws.reshape(()), p + "_ws"))
    mmi = [p + "_xq", p + "_B", p + "_xzp"]
    if zp:
        inits.append(numpy_helper.from_array(np.zeros(N if zp == "col" else 1, np.int8), p + "_bzp"))
        mmi.append(p + "_bzp")
    nodes = [helper.make_node("DynamicQuantizeLinear", [x], [p + "_xq", p + "_xs", p + "_xzp"]),
             helper.make_node("MatMulInteger", mmi, [p + "_i"]),
             helper.make_node("Cast", [p + "_i"], [p + "_f"], to=TensorProto.FLOAT),
             helper.make_node("Mul", [p + "_ws", p + "_xs"] if swap else [p + "_xs", p + "_ws"], [p + "_s"]),
             helper.make_node("Mul", [p + "_s", p + "_f"] if swap else [p + "_f", p + "_s"],
                              [p + "_m" if bias else p + "_y"])]
    if bias == "input":
        inputs.append(helper.make_tensor_value_info(p + "_b", TensorProto.FLOAT, [N]))
    elif bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(N).astype(np.float32), p + "_b"))
    if bias:
        nodes.append(helper.make_node("Add", [p + "_m", p + "_b"], [p + "_y"]))
    return nodes, inits, inputs


def qlinear_layer(p, x, K, N, rng, y_scale="const"):
    """QuantizeLinear -> QLinearMatMul (B uint8, zero point per column) -> DequantizeLinear
    -> Add (bias) for one layer x [.., K] -> p_y [.., N]: (nodes, initializers, extra
    graph inputs); y_scale "const" or "input" (fed at run time)."""
    from onnx import TensorProto, helper, numpy_helper
    zp = rng.integers(100, 156, N).astype(np.uint8)
    B = np.where(rng.random((K, N)) < 0.15, rng.integers(0, 256, (K, N)), zp).astype(np.uint8)
    consts = {p + "_B": B, p + "_bs": np.full(N, 0.01, np.float32), p + "_bz": zp,
              p + "_as": np.array(1 / 16, np.float32), p + "_az": np.array(128, np.uint8),
              p + "_ys": np.array(0.5, np.float32), p + "_yz": np.array(128, np.uint8),
              p + "_b": rng.standard_normal(N).astype(np.float32)}
    inputs = []
    if y_scale == "input":
        del consts[p + "_ys"]
        inputs.append(helper.make_tensor_value_info(p + "_ys", TensorProto.FLOAT, []))
    nodes = [helper.make_node("QuantizeLinear", [x, p + "_as", p + "_az"], [p + "_a"]),
             helper.make_node("QLinearMatMul", [p + "_a", p + "_as", p + "_az", p + "_B", p + "_bs", p + "_bz",
                                                p + "_ys", p + "_yz"], [p + "_q"]),
             helper.make_node("DequantizeLinear", [p + "_q", p + "_ys", p + "_yz"], [p + "_m"]),
             helper.make_node("Add", [p + "_m", p + "_b"], [p + "_y"])]
    return nodes, [numpy_helper.from_array(v, k) for k, v in consts.items()], inputs


def qlinear_fusion(work):
    """Which QuantizeLinear -> QLinearMatMul -> DequantizeLinear [-> Add] chains become
    LscQLinearMatMulFloat: a (with its Add) and d (its DequantizeLinear output also a
    graph output: fused without the Add) are; b (its QuantizeLinear output also a graph
    output) and c (y_scale fed at run time) stay LscQLinearMatMul with their nodes.
    Outputs equal to ORT's dense model's at 1 and 6 rows, decompress byte for byte.
    Returns failures."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(152)
    K, N = 48, 40
    layers = [qlinear_layer("a", "x", K, N, rng), qlinear_layer("b", "a_y", N, N, rng),
              qlinear_layer("c", "b_y", N, N, rng, y_scale="input"), qlinear_layer("d", "c_y", N, 24, rng)]
    failures = []
    for rows in ((1, 1), (2, 3)):
        name = "qlinear_fusion_%d" % (rows[0] * rows[1])
        outs = [helper.make_tensor_value_info(v, TensorProto.FLOAT if v != "b_a" else TensorProto.UINT8, None)
                for v in ("d_y", "d_m", "b_a")]
        g = helper.make_graph(sum((l[0] for l in layers), []), name,
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(rows) + [K])] +
                              sum((l[2] for l in layers), []), outs, sum((l[1] for l in layers), []))
        path, lsc, back = (os.path.join(work, name + e) for e in (".onnx", ".lsc.onnx", ".back.onnx"))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        ortcheck.compress(path, lsc, ["--bit-exact"])
        ops = node_ops(lsc)
        want_ops = ["LscQLinearMatMulFloat", "QuantizeLinear", "LscQLinearMatMul", "DequantizeLinear", "Add",
                    "QuantizeLinear", "LscQLinearMatMul", "DequantizeLinear", "Add", "LscQLinearMatMulFloat", "Add"]
        feed = {"x": rng.standard_normal(list(rows) + [K]).astype(np.float32) * 3, "c_ys": np.array(0.5, np.float32)}
        dense, outs = dense_and_lsc(work, name, path, lsc, feed)
        equal = all(len(o) == len(dense) and all(np.array_equal(a, b) for a, b in zip(o, dense)) for o in outs)
        r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", lsc, "-o", back])
        same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
        ok = ops == want_ops and equal and same
        print("%s %-28s fused a, d, b and c left; outputs equal to ORT's %s, decompress byte for byte %s" %
              ("ok  " if ok else "FAIL", name, equal, same))
        if not ok:
            failures.append("%s: ops %s, outputs equal %s, same %s" % (name, ops, equal, same))
    return failures


def dynamic_fusion(work):
    """Which dynamic quantization chains become LscDynamicQuantMatMul: layer a (per-tensor
    b_scale, no b_zero_point, no bias, Muls swapped, A of rank 3: 6 rows, the float
    exact product) and d (its bias fed at run time: fused without the Add) are fused;
    b (its Cast output also a graph output) and c (b_scale fed at run time) stay
    LscMatMulInteger with their nodes. Outputs equal to ORT's dense model's, batch 1
    (one row: the integer batch-1 form) and 6 rows; decompress byte for byte; stats
    and verify accept the model. Returns failures."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(151)
    K, N = 48, 40
    layers = [dynamic_layer("a", "x", K, N, rng, scale="one", bias=None, zp=None, swap=True),
              dynamic_layer("b", "a_y", N, N, rng),
              dynamic_layer("c", "b_y", N, N, rng, scale="input", zp="one"),
              dynamic_layer("d", "c_y", N, 24, rng, bias="input")]
    nodes = sum((l[0] for l in layers), [])
    inits = sum((l[1] for l in layers), [])
    failures = []
    for rows in ((1, 1), (2, 3)):
        name = "dynamic_fusion_%d" % (rows[0] * rows[1])
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(rows) + [K])]
                              + sum((l[2] for l in layers), []),
                              [helper.make_tensor_value_info("d_y", TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("b_f", TensorProto.FLOAT, None)], inits)
        path, lsc, back = (os.path.join(work, name + e) for e in (".onnx", ".lsc.onnx", ".back.onnx"))
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        ortcheck.compress(path, lsc, ["--bit-exact"])
        ops = node_ops(lsc)
        want_ops = ["LscDynamicQuantMatMul", "DynamicQuantizeLinear", "LscMatMulInteger", "Cast", "Mul", "Mul", "Add",
                    "DynamicQuantizeLinear", "LscMatMulInteger", "Cast", "Mul", "Mul", "Add",
                    "LscDynamicQuantMatMul", "Add"]
        fused = [n for n in onnx.load(lsc, load_external_data=False).graph.node if n.op_type == "LscDynamicQuantMatMul"]
        arity = [len(n.input) for n in fused]
        feed = {"x": rng.standard_normal(list(rows) + [K]).astype(np.float32) * 3,
                "c_ws": (rng.random(N) * 0.01 + 0.002).astype(np.float32),
                "d_b": rng.standard_normal(24).astype(np.float32)}
        dense, outs = dense_and_lsc(work, name, path, lsc, feed)
        equal = all(len(o) == len(dense) and all(np.array_equal(a, b) for a, b in zip(o, dense)) for o in outs)
        r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", lsc, "-o", back])
        same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
        st = ortcheck.run([ortcheck.ONNX_LSC, "stats", lsc, "--json"])
        encoded = st.returncode == 0 and json.loads(st.stdout)["totals"]["encoded_layers"] == 4
        ver = ortcheck.run([ortcheck.ONNX_LSC, "verify", path, lsc])
        ok = ops == want_ops and arity == [3, 4] and equal and same and encoded and ver.returncode == 0
        print("%s %-28s fused a, d (inputs %s), b, c left; outputs equal to ORT's %s, decompress byte for byte "
              "%s, stats %s, verify %d" % ("ok  " if ok else "FAIL", name, arity, equal, same, encoded,
                                           ver.returncode))
        if not ok:
            failures.append("%s: ops %s, outputs equal %s, same %s, stats %s, verify %d %s" % (
                name, ops, equal, same, encoded, ver.returncode, ver.stderr.strip()[-300:]))
    return failures


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


def batch_and_rows(work, name, lsc, a, extra=None):
    """The LSC model's output for all rows of a at once and for each row alone (batch
    1: the weight's batch-1 form), the latter stacked; None when they differ. extra:
    more inputs, {name: npy path}."""
    outs = []
    for i, rows in enumerate([a] + [a[j:j + 1] for j in range(a.shape[0])]):
        feed = os.path.join(work, "%s.a%d.npy" % (name, i))
        np.save(feed, rows)
        out = os.path.join(work, "%s.out%d" % (name, i))
        outs.append(ortcheck.ort_outputs(lsc, dict(extra or {}, a=feed), out)[0])
    alone = np.concatenate(outs[1:])
    return outs[0] if alone.dtype == outs[0].dtype and np.array_equal(alone, outs[0]) else None


def matmul_integer_case(work, name, a, azp, B, bzp):
    """One MatMulInteger model compressed; LscMatMulInteger's int32 against the exact
    product. Returns failures."""
    from onnx import TensorProto, helper, numpy_helper
    K, N = B.shape
    a_onnx = TensorProto.UINT8 if a.dtype == np.uint8 else TensorProto.INT8
    g = helper.make_graph([helper.make_node("MatMulInteger", ["a", "B", "azp", "bzp"], ["y"])], name,
                          [helper.make_tensor_value_info("a", a_onnx, ["M", K])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, ["M", N])],
                          [numpy_helper.from_array(B, "B"), numpy_helper.from_array(bzp, "bzp"),
                           numpy_helper.from_array(azp, "azp")])
    path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    ortcheck.compress(path, lsc)
    # int32 modulo 2^32, as ONNX's MatMulInteger accumulates (astype wraps)
    want = ((a.astype(np.int64) - int(azp)) @ (B.astype(np.int64) - bzp.astype(np.int64))).astype(np.int32)
    got = batch_and_rows(work, name, lsc, a)
    ok = (got is not None and ortcheck.lsc_ops(lsc) == ["LscMatMulInteger"] and got.dtype == np.int32
          and np.array_equal(got, want))
    print("%s %-28s LscMatMulInteger K %d: int32 equal to the exact product (|y| <= %d), all rows and each "
          "alone: %s" % ("ok  " if ok else "FAIL", name, K, np.abs(want).max(), ok))
    return [] if ok else ["%s: LscMatMulInteger differs from the exact product" % name]


def integer_exact(work):
    """LscMatMulInteger's int32 output equals the exact product; returns failures."""
    failures = []
    rng = np.random.default_rng(8)
    for K, N, a_type, b_type in ((40, 16, np.uint8, np.int8), (800, 50, np.uint8, np.uint8),
                                 (5000, 24, np.int8, np.int8)):
        info = np.iinfo(b_type)
        bzp = rng.integers(info.min, info.max + 1, N).astype(b_type)
        B = np.where(rng.random((K, N)) < 0.1, rng.integers(info.min, info.max + 1, (K, N)), bzp).astype(b_type)
        azp = np.array(rng.integers(0, 100), a_type)
        info_a = np.iinfo(a_type)
        a = rng.integers(info_a.min, info_a.max + 1, (3, K)).astype(a_type)
        failures += matmul_integer_case(work, "integer_%d" % K, a, azp, B, bzp)
    return failures


def integer_bound(work):
    """The one-pass bound of the exact product (max|A'| * the largest row L1 norm of
    W - zero point <= 2^24) at its edge: A' at its extreme (255, -255, -128) against
    the row of largest L1 norm, one row just inside the bound (|y| = 2^24 - 1, one
    float pass), one just above (digits of A'; y odd above 2^24, which no float32 holds).
    Returns failures."""
    failures = []
    K = 260
    # columns: L1 65793 (one pass: 255 * 65793 = 2^24 - 1), 65794 (two codes 128 +
    # 131 after 257 x 255: digits), and a sparse one
    B = np.zeros((K, 3), np.uint8)
    B[:258, 0], B[258, 0] = 255, 3
    B[:257, 1], B[257, 1], B[258, 1] = 255, 128, 131
    B[::20, 2] = 200
    bzp = np.zeros(3, np.uint8)
    a = np.full((3, K), 255, np.uint8)
    a[1, 258] = 254  # y[1, 1] = 255 * 65794 - 131 = 16777339
    a[2] = np.arange(K) % 256
    failures += matmul_integer_case(work, "integer_bound_u8", a, np.array(0, np.uint8), B, bzp)
    # int8 A with zero point 127: A' = A - 127 down to -255; zero point -128: up to 255
    for tag, azp, fill in (("neg", 127, -128), ("pos", -128, 127)):
        a8 = np.full((2, K), fill, np.int8)
        a8[1, 258] = fill + (1 if fill < 0 else -1)
        failures += matmul_integer_case(work, "integer_bound_i8" + tag, a8, np.array(azp, np.int8), B, bzp)
    # int8 A, zero point 0: |A'| <= 128, so L1 2^17 is one pass (y = 2^24 exactly) and
    # 2^17 + 1 digits (y = 2^24 + 127)
    Bs = np.zeros((1025, 40), np.int8)  # 38 columns of zeros: sparse enough to encode
    Bs[:1024, :2] = -128
    Bs[1024, 1] = -1
    a8 = np.full((2, 1025), -128, np.int8)
    a8[1, 1024] = -127
    failures += matmul_integer_case(work, "integer_bound_i8zp0", a8, np.array(0, np.int8), Bs,
                                    np.zeros(40, np.int8))
    # sums beyond int32: 34000 products of 255 * 255 in one row wrap modulo 2^32
    # (2210850000 - 2^32), on the integer batch-1 form (rows alone) and digits (all rows)
    Bw = np.zeros((34000, 40), np.uint8)
    Bw[:, 0] = 255
    Bw[::7, 1] = 3
    aw = np.full((2, 34000), 255, np.uint8)
    aw[1, ::2] = 1
    failures += matmul_integer_case(work, "integer_wrap_u8", aw, np.array(0, np.uint8), Bw, np.zeros(40, np.uint8))
    # a row's L1 norm beyond 2^24 (66000 x 255): no float plan is exact, one row of A on
    # the integer batch-1 form is (the sum, 66000 * 255 * 255, wraps too)
    Bl = np.zeros((66000, 40), np.uint8)
    Bl[:, 0] = 255
    Bl[::9, 1] = 7
    failures += matmul_integer_case(work, "integer_l1_2p24_u8", np.full((1, 66000), 255, np.uint8),
                                    np.array(0, np.uint8), Bl, np.zeros(40, np.uint8))
    return failures


def requantize(acc, a_scale, b_scale, y_scale, y_zp, y_type):
    """ONNX Runtime's requantization of an int32 product, in float32 as it computes it."""
    info = np.iinfo(y_type)
    mult = (np.float32(a_scale) * b_scale.astype(np.float32)) / np.float32(y_scale)
    v = acc.astype(np.int32).astype(np.float32) * mult
    v = np.clip(v, np.float32(info.min - int(y_zp)), np.float32(info.max - int(y_zp)))
    return (np.rint(v).astype(np.int64) + int(y_zp)).astype(y_type)


def qlinear_exact(work):
    """LscQLinearMatMul against the requantized exact product; returns failures."""
    from onnx import TensorProto, helper, numpy_helper
    failures = []
    rng = np.random.default_rng(10)
    onnx_type = {np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8}
    # Per-column and per-tensor B parameters; K 41: multiplier 0.5 and small products,
    # so that many outputs fall on half-way points (rounded to even).
    for K, N, a_type, b_type, y_type, per_column in ((40, 16, np.uint8, np.uint8, np.uint8, True),
                                                     (300, 24, np.uint8, np.int8, np.int8, False),
                                                     (5000, 12, np.int8, np.int8, np.int8, True),
                                                     (800, 20, np.uint8, np.uint8, np.uint8, False),
                                                     (41, 64, np.uint8, np.uint8, np.uint8, False)):
        bi, ai = np.iinfo(b_type), np.iinfo(a_type)
        nq = N if per_column else 1
        bzp = rng.integers(bi.min, bi.max + 1, nq).astype(b_type)
        B = np.where(rng.random((K, N)) < 0.1, rng.integers(bi.min, bi.max + 1, (K, N)), bzp).astype(b_type)
        b_scale = (rng.random(nq) * 0.02 + 0.001).astype(np.float32)
        azp, a_scale = np.array(rng.integers(0, 100), a_type), np.array(0.05, np.float32)
        a = rng.integers(ai.min, ai.max + 1, (3, K)).astype(a_type)
        acc = (a.astype(np.int64) - int(azp)) @ (B.astype(np.int64) - bzp.astype(np.int64))
        y_scale = np.array(np.abs(acc).max() * 0.05 * float(b_scale.max()) / 100.0, np.float32)
        y_zp = np.array(3 if y_type == np.uint8 else -3, y_type)
        if K == 41:
            B = np.where(rng.random((K, N)) < 0.1, int(bzp[0]) + rng.integers(-20, 21, (K, N)), bzp).astype(b_type)
            a = (int(azp) + rng.integers(-3, 4, (3, K))).astype(a_type)
            acc = (a.astype(np.int64) - int(azp)) @ (B.astype(np.int64) - bzp.astype(np.int64))
            a_scale, b_scale, y_scale = np.array(0.5, np.float32), np.ones(1, np.float32), np.array(1, np.float32)
            y_zp = np.array(128, y_type)
            print("     %-28s %d of %d outputs on a half-way point" % ("qlinear_41", (acc % 2 == 1).sum(), acc.size))
        name = "qlinear_%d" % K
        # K 300: a_scale and y_zero_point fed at run time (read by every run, not once)
        fed = {"as": a_scale, "yzp": y_zp} if K == 300 else {}
        inits = [numpy_helper.from_array(x, n) for x, n in ((a_scale, "as"), (azp, "azp"), (B, "B"),
                                                           (b_scale, "bs"), (bzp, "bzp"), (y_scale, "ys"),
                                                           (y_zp, "yzp")) if n not in fed]
        g = helper.make_graph([helper.make_node("QLinearMatMul", ["a", "as", "azp", "B", "bs", "bzp", "ys", "yzp"],
                                                ["y"])], name,
                              [helper.make_tensor_value_info("a", onnx_type[a_type], ["M", K])] +
                              [helper.make_tensor_value_info(n, {np.float32: TensorProto.FLOAT}.get(x.dtype.type,
                                                             onnx_type.get(x.dtype.type)), [])
                               for n, x in fed.items()],
                              [helper.make_tensor_value_info("y", onnx_type[y_type], ["M", N])], inits)
        path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        ortcheck.compress(path, lsc)
        feed = os.path.join(work, name + ".a.npy")
        np.save(feed, a)
        want = requantize(acc, a_scale, b_scale, y_scale, y_zp, y_type)
        real = np.clip(np.rint(acc * (float(a_scale) * b_scale.astype(np.float64) / float(y_scale))) + int(y_zp),
                       np.iinfo(y_type).min, np.iinfo(y_type).max)
        extra = {}
        for n, x in fed.items():
            extra[n] = os.path.join(work, "%s.%s.npy" % (name, n))
            np.save(extra[n], x)
        got = batch_and_rows(work, name, lsc, a, extra)
        ok = (got is not None and ortcheck.lsc_ops(lsc) == ["LscQLinearMatMul"] and got.dtype == y_type
              and np.array_equal(got, want)
              and np.abs(got.astype(np.int64) - real).max() <= 1)
        if ok and a_type == np.uint8 and b_type == np.uint8:  # ORT's u8 x u8 product is exact
            dense = ortcheck.ort_outputs(path, dict(extra, a=feed), os.path.join(work, name + ".dense"),
                                         plugin=False)[0]
            ok = np.array_equal(dense, got)
        print("%s %-28s LscQLinearMatMul K %d: equal to the requantized exact product%s (all rows and each "
              "alone), <= 1 code from the real formula: %s" % ("ok  " if ok else "FAIL", name, K,
                                    " and to ORT" if b_type == np.uint8 and a_type == np.uint8 else "", ok))
        if not ok:
            failures.append("%s: LscQLinearMatMul differs from the requantized exact product" % name)
    return failures


# The geometries conv.c runs on different paths: stride 1 with pads (direct), strides
# 2, dilations, groups, pointwise, 1-D; 72 input channels with sparse rows (one float
# pass) and with dense rows (digits of x). All but stride 9 run on the weight's integer
# direct form (conv_int8.c); stride 9 (more phases than it takes) on the float passes.
CONV_CASES = (("pad1", [2, 8, 9, 9], 6, [3, 3], dict(pads=[1, 1, 1, 1])),
              ("stride2", [1, 8, 11, 10], 5, [3, 3], dict(strides=[2, 2], pads=[1, 0, 1, 2])),
              ("dilation2", [1, 8, 12, 12], 4, [3, 3], dict(dilations=[2, 2])),
              ("group2", [2, 8, 7, 7], 6, [3, 3], dict(group=2, pads=[1, 1, 1, 1])),
              ("pointwise", [1, 72, 5, 6], 10, [1, 1], {}),
              ("deep", [1, 72, 8, 8], 7, [3, 3], dict(pads=[1, 1, 1, 1])),
              ("conv1d", [2, 8, 20], 5, [5], dict(strides=[3])),
              ("heavy", [1, 72, 8, 8], 40, [3, 3], dict(pads=[1, 1, 1, 1])),
              ("stride9", [2, 16, 20, 20], 8, [3, 3], dict(strides=[9, 9], pads=[1, 1, 0, 0])))


def conv_integer_model(work, name, x, xzp, W, wzp, attrs):
    """A ConvInteger model (x an input; W, zero points initializers) saved; its path."""
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(v, n) for v, n in ((W, "W"), (np.array(xzp, np.uint8), "xzp"), (wzp, "wzp"))]
    g = helper.make_graph([helper.make_node("ConvInteger", ["x", "W", "xzp", "wzp"], ["y"], **attrs)], name,
                          [helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape))],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)], inits)
    path = os.path.join(work, name + ".onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def conv_integer_geometry(work):
    """LscConvInteger's int32 equal to ONNX Runtime's ConvInteger (exact: uint8 x and
    W) over CONV_CASES, 1 and 2 threads, and decompress byte for byte; with one
    w_zero_point per output channel (ORT takes one for all) equal to ORT's
    ConvInteger(x, W, 0) - w_zero_point[m] * ConvInteger(x, 1, 0). Returns failures."""
    failures = []
    rng = np.random.default_rng(14)
    for tag, xshape, M, kshape, attrs in CONV_CASES + (("perchannel", [1, 8, 9, 9], 6, [3, 3],
                                                         dict(pads=[1, 1, 1, 1])),):
        C = xshape[1] // attrs.get("group", 1)
        per_channel = tag == "perchannel"
        wzp = rng.integers(90, 160, M if per_channel else 1).astype(np.uint8)
        wzp_full = wzp.reshape([-1] + [1] * (len(kshape) + 1))
        W = np.where(rng.random([M, C] + kshape) < 0.2, rng.integers(0, 256, [M, C] + kshape),
                     wzp_full).astype(np.uint8)
        x = rng.integers(0, 256, xshape).astype(np.uint8)
        if tag == "heavy":  # rows of L1 norm 648 * 235 > 2^24 / 135: digits of x; y odd above 2^24
            W[W == wzp_full] = 20
            wzp[:] = 20
            W[0], W[1] = 255, 0
            x[:] = 255
            x[0, 0, 4, 4] = 254
        name = "convinteger_" + tag
        path = conv_integer_model(work, name, x, 120, W, wzp if per_channel else wzp.reshape(()), attrs)
        lsc, back = os.path.join(work, name + ".lsc.onnx"), os.path.join(work, name + ".back.onnx")
        ortcheck.compress(path, lsc, ["--bit-exact"])
        feed = os.path.join(work, name + ".x.npy")
        np.save(feed, x)
        if per_channel:
            dense = [ortcheck.ort_outputs(conv_integer_model(work, name + n, x, 120, w, np.array(0, np.uint8), attrs),
                                          {"x": feed}, os.path.join(work, name + n + ".dense"), plugin=False)[0]
                     for n, w in (("_w", W), ("_ones", np.ones_like(W)))]
            want = dense[0] - wzp.astype(np.int32).reshape(1, M, 1, 1) * dense[1]
        else:
            want = ortcheck.ort_outputs(path, {"x": feed}, os.path.join(work, name + ".dense"), plugin=False)[0]
        outs = [ortcheck.ort_outputs(lsc, {"x": feed}, os.path.join(work, name + ".lsc%d" % t), threads=t)[0]
                for t in (1, 2)]
        r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", lsc, "-o", back])
        same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
        ok = (ortcheck.lsc_ops(lsc) == ["LscConvInteger"] and same and
              all(o.dtype == np.int32 and np.array_equal(o, want) for o in outs))
        print("%s %-28s LscConvInteger %s: int32 equal to ORT's ConvInteger (|y| <= %d), 1 and 2 threads, "
              "decompress byte for byte: %s" % ("ok  " if ok else "FAIL", name, tag, np.abs(want).max(), ok))
        if not ok:
            failures.append("%s: LscConvInteger differs from ORT's ConvInteger or does not round-trip" % name)
    # a w_zero_point per input channel (not per output channel): left dense, said so
    W = np.where(rng.random([6, 8, 3, 3]) < 0.1, 200, 100).astype(np.uint8)
    x = np.zeros([1, 8, 9, 9], np.uint8)
    path = conv_integer_model(work, "convinteger_zp_cin", x, 0, W, np.full(8, 100, np.uint8), {})
    lsc = os.path.join(work, "convinteger_zp_cin.lsc.onnx")
    ortcheck.compress(path, lsc)
    r = ortcheck.run([ortcheck.ONNX_LSC, "stats", path])
    ok = not ortcheck.lsc_ops(lsc) and " unsupported" in r.stdout
    print("%s %-28s w_zero_point per input channel: left dense, stats says unsupported: %s" %
          ("ok  " if ok else "FAIL", "convinteger_zp_cin", ok))
    if not ok:
        failures.append("convinteger_zp_cin: a per-input-channel w_zero_point was not left dense (%s)" % r.stdout)
    return failures


def qlinear_conv_geometry(work):
    """LscQLinearConv equal to ONNX Runtime's QLinearConv (uint8 x and W, W's zero point
    one for all channels as ORT needs, int32 bias) over the geometries conv.c runs on
    different paths: stride 1 with pads (direct), strides 2, dilations, groups,
    pointwise, 1-D; 72 input channels with dense rows (digits of x). Returns failures."""
    from onnx import TensorProto, helper, numpy_helper
    failures = []
    rng = np.random.default_rng(12)
    for tag, xshape, M, kshape, attrs in CONV_CASES:
        C = xshape[1] // attrs.get("group", 1)
        wzp = np.uint8(rng.integers(90, 160))
        W = np.where(rng.random([M, C] + kshape) < 0.2, rng.integers(0, 256, [M, C] + kshape), wzp).astype(np.uint8)
        if tag == "heavy":  # rows of L1 norm 648 * 235 > 2^24 / 135: digits of x
            wzp = np.uint8(20)
            W = np.where(rng.random([M, C] + kshape) < 0.2, rng.integers(0, 256, [M, C] + kshape), wzp).astype(np.uint8)
            W[0], W[1] = 255, 0
        w_scale = (rng.random(M) * 0.02 + 0.002).astype(np.float32)
        bias = rng.integers(-3000, 3000, M).astype(np.int32)
        x = rng.integers(0, 256, xshape).astype(np.uint8)
        inits = [numpy_helper.from_array(v, n) for v, n in (
            (np.array(0.04, np.float32), "xs"), (np.array(120, np.uint8), "xzp"), (W, "W"), (w_scale, "ws"),
            (np.array(wzp), "wzp"), (np.array(0.5, np.float32), "ys"), (np.array(100, np.uint8), "yzp"),
            (bias, "B"))]
        name = "qlinearconv_" + tag
        g = helper.make_graph([helper.make_node("QLinearConv", ["x", "xs", "xzp", "W", "ws", "wzp", "ys", "yzp", "B"],
                                                ["y"], **attrs)], name,
                              [helper.make_tensor_value_info("x", TensorProto.UINT8, xshape)],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, None)], inits)
        path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
        ortcheck.compress(path, lsc)
        feed = os.path.join(work, name + ".x.npy")
        np.save(feed, x)
        dense = ortcheck.ort_outputs(path, {"x": feed}, os.path.join(work, name + ".dense"), plugin=False)[0]
        outs = [ortcheck.ort_outputs(lsc, {"x": feed}, os.path.join(work, name + ".lsc%d" % t), threads=t)[0]
                for t in (1, 2)]
        spread = int(np.unique(dense).size)
        ok = (ortcheck.lsc_ops(lsc) == ["LscQLinearConv"] and spread > 10 and
              all(o.dtype == dense.dtype and np.array_equal(o, dense) for o in outs))
        print("%s %-28s LscQLinearConv %s: equal to ORT's QLinearConv (%d distinct codes), 1 and 2 threads: %s" %
              ("ok  " if ok else "FAIL", name, tag, spread, ok))
        if not ok:
            failures.append("%s: LscQLinearConv differs from ORT's QLinearConv" % name)
    return failures


def exact_conv(x, W, pads, strides, dilations, group):
    """The exact int64 convolution of 2-D x (N, C, H, W) and W (M, C/group, kh, kw)."""
    N, C, H, Wd = x.shape
    M, Cg, kh, kw = W.shape
    xp = np.zeros((N, C, H + pads[0] + pads[2], Wd + pads[1] + pads[3]), np.int64)
    xp[:, :, pads[0]:pads[0] + H, pads[1]:pads[1] + Wd] = x
    oh = (xp.shape[2] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (xp.shape[3] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    y = np.zeros((N, M, oh, ow), np.int64)
    for m in range(M):
        g = m // (M // group)
        for ky in range(kh):
            for kx in range(kw):
                r0, c0 = ky * dilations[0], kx * dilations[1]
                win = xp[:, g * Cg:(g + 1) * Cg, r0:r0 + (oh - 1) * strides[0] + 1:strides[0],
                         c0:c0 + (ow - 1) * strides[1] + 1:strides[1]]
                y[:, m] += np.einsum("ncij,c->nij", win, W[m, :, ky, kx].astype(np.int64))
    return y


def qlinear_conv_int8(work):
    """LscQLinearConv on int8 x, W (symmetric, per-channel scales) and y, groups, batch
    2: strides, dilations and pads of the last dim (the plugin's general fill), and pads
    of the last dim only (its row-copy fill): equal to the exact convolution requantized
    as ORT does (numpy; ORT's own int8 kernel is not used as the reference). Returns
    failures."""
    failures = []
    for tag, attrs in (("", dict(pads=[1, 2, 0, 1], strides=[1, 2], dilations=[1, 2], group=2)),
                       ("_rows", dict(pads=[0, 2, 0, 1], dilations=[2, 1], group=2))):
        failures += qlinear_conv_int8_case(work, "qlinearconv_int8" + tag, attrs)
    return failures


def qlinear_conv_int8_case(work, name, attrs):
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(15)
    xshape, M, group = [2, 8, 9, 13], 6, attrs["group"]
    W = np.where(rng.random([M, 4, 3, 3]) < 0.25, rng.integers(-128, 128, [M, 4, 3, 3]), 0).astype(np.int8)
    x = rng.integers(-128, 128, xshape).astype(np.int8)
    xzp, yzp = np.int8(-7), np.int8(3)
    w_scale = (rng.random(M) * 0.02 + 0.002).astype(np.float32)
    bias = rng.integers(-3000, 3000, M).astype(np.int32)
    inits = [numpy_helper.from_array(v, n) for v, n in (
        (np.array(0.04, np.float32), "xs"), (np.array(xzp), "xzp"), (W, "W"), (w_scale, "ws"),
        (np.array(0, np.int8), "wzp"), (np.array(0.5, np.float32), "ys"), (np.array(yzp), "yzp"), (bias, "B"))]
    g = helper.make_graph([helper.make_node("QLinearConv", ["x", "xs", "xzp", "W", "ws", "wzp", "ys", "yzp", "B"],
                                            ["y"], **attrs)], name,
                          [helper.make_tensor_value_info("x", TensorProto.INT8, xshape)],
                          [helper.make_tensor_value_info("y", TensorProto.INT8, None)], inits)
    path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    ortcheck.compress(path, lsc)
    feed = os.path.join(work, name + ".x.npy")
    np.save(feed, x)
    acc = exact_conv(x.astype(np.int64) - int(xzp), W, attrs["pads"], attrs.get("strides", [1, 1]),
                     attrs.get("dilations", [1, 1]), group)
    acc = acc + bias.astype(np.int64).reshape(1, M, 1, 1)
    want = requantize(acc, 0.04, w_scale.reshape(1, M, 1, 1), 0.5, yzp, np.int8)
    outs = [ortcheck.ort_outputs(lsc, {"x": feed}, os.path.join(work, name + ".lsc%d" % t), threads=t)[0]
            for t in (1, 2)]
    spread = int(np.unique(want).size)
    ok = (ortcheck.lsc_ops(lsc) == ["LscQLinearConv"] and spread > 10 and
          all(o.dtype == np.int8 and np.array_equal(o, want) for o in outs))
    print("%s %-28s LscQLinearConv int8 x, W, y %s: equal to the exact convolution requantized as ORT does "
          "(%d distinct codes), 1 and 2 threads: %s" % ("ok  " if ok else "FAIL", name, attrs, spread, ok))
    return [] if ok else ["%s: LscQLinearConv on int8 differs from the requantized exact convolution" % name]


def lenet5_integer(work, models, rng):
    """The 6.9%-dense LeNet-5 (models/lenet5.onnx) in the two integer forms: its conv2
    an LscQLinearConv / LscConvInteger (on the integer direct form; conv1, 66% dense,
    is left dense by compress), ORT's outputs with the plugin equal to the dense
    quantized model's, batch 1 and 3, 1 and 2 threads. Returns failures."""
    failures = []
    src = os.path.join(models, "lenet5.onnx")
    if not os.path.isfile(src):
        return ["%s missing" % src]
    for form, op in (("qlinear", "LscQLinearConv"), ("conv-integer", "LscConvInteger")):
        name = "lenet5_conv_%s" % form  # apart from the fused-chain cases' lenet5_<form> files
        quantized = os.path.join(work, name + ".quantized.onnx")
        r = ortcheck.run([sys.executable, QUANTIZE, src, form, quantized])
        if r.returncode != 0:
            failures.append("%s: quantize_models.py failed: %s" % (name, r.stderr.strip()))
            continue
        m = onnx.load(quantized)
        shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
        feeds = [{m.graph.input[0].name: rng.standard_normal([b] + shape[1:]).astype(np.float32)} for b in (1, 3)]
        failures += ortcheck.check_models(work, {name: (m, feeds, 3)}, 0)  # conv2, fc1, fc2
        ops = ortcheck.lsc_ops(os.path.join(work, name + ".lsc.onnx"))
        ok = op in ops
        print("%s %-28s %s among the LSC ops %s: %s" % ("ok  " if ok else "FAIL", name, op, ops, ok))
        if not ok:
            failures.append("%s: no %s" % (name, op))
    return failures


def float_blob_refused(work):
    """An LscQLinearConv or LscConvInteger handed a float blob fails the session with
    one clear line."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(2)
    W = np.where(rng.random((4, 3, 3, 3)) < 0.2, rng.standard_normal((4, 3, 3, 3)), 0).astype(np.float32)
    g = helper.make_graph([helper.make_node("Conv", ["x", "W"], ["y"])], "float_conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [numpy_helper.from_array(W, "W")])
    path, lsc = (os.path.join(work, "float_blob" + e) for e in (".onnx", ".lsc.onnx"))
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    ortcheck.compress(path, lsc)
    feed = os.path.join(work, "float_blob.x.npy")
    np.save(feed, np.zeros((1, 3, 6, 6), np.uint8))
    failures = []
    for op, inputs, y_type in (("LscQLinearConv", ["x", "xs", "xz", "W", "ws", "wz", "ys", "yz"], TensorProto.UINT8),
                               ("LscConvInteger", ["x", "W", "xz", "wz"], TensorProto.INT32)):
        m = onnx.load(lsc, load_external_data=False)
        n = m.graph.node[0]
        n.op_type = op
        del n.input[:]
        n.input.extend(inputs)
        m.graph.initializer.extend([numpy_helper.from_array(np.array(v, t), k) for k, v, t in (
            ("xs", 0.1, np.float32), ("xz", 0, np.uint8), ("ws", 0.1, np.float32), ("wz", 0, np.uint8),
            ("ys", 0.1, np.float32), ("yz", 0, np.uint8)) if k in inputs])
        m.graph.input[0].type.tensor_type.elem_type = TensorProto.UINT8
        m.graph.output[0].type.tensor_type.elem_type = y_type
        bad = os.path.join(work, "float_blob_%s.bad.onnx" % op)
        onnx.save(m, bad)
        r = ortcheck.run([ortcheck.LSC_ORT_RUN, bad, "--input", "x=" + feed])
        ok = r.returncode != 0 and "weight 'W' is not an 8-bit weight" in r.stderr
        print("%s %-28s %s with a float blob refused: %s" % ("ok  " if ok else "FAIL", "float_blob", op, ok))
        if not ok:
            failures.append("float_blob %s: not refused (%d): %s" % (op, r.returncode, r.stderr.strip()[-300:]))
    return failures


def entropy_tier(work, name, m, feeds, n8, rtol):
    """compress --entropy: the 8-bit weights become entropy blobs (version 3, docs/format.md
    4) that the plugin decodes at kernel creation, outputs as the compute tier's; with
    --bit-exact, decompress gives the file back byte for byte."""
    failures = []
    ename = name + "_entropy"
    failures += ortcheck.check_models(work, {ename: (m, feeds, n8)}, rtol, ["--entropy"])
    path = os.path.join(work, ename + ".onnx")
    coded, back = (os.path.join(work, ename + e) for e in (".exact.lsc.onnx", ".back.onnx"))
    ortcheck.compress(path, coded, ["--bit-exact", "--entropy"])
    bundle = open(coded[: -len(".onnx")], "rb").read()
    n_coded = bundle.count(b"LSCE\x03") + bundle.count(b"LSCC\x03")  # compact ones too (4.8)
    r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", coded, "-o", back])
    same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
    print("%s %-28s %d 8-bit entropy blobs, decompress byte for byte: %s" %
          ("ok  " if same and n_coded else "FAIL", ename, n_coded, same))
    if not same or not n_coded:
        failures.append("%s: %d 8-bit entropy blobs, decompress same %s (%s)" % (ename, n_coded, same,
                                                                               r.stderr.strip()))
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
            weight_ops = WEIGHT_OPS.get(form, DEFAULT_WEIGHT_OPS)
            n8 = sum(node_ops(quantized).count(op) for op in weight_ops)
            shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
            feeds = [{m.graph.input[0].name: rng.standard_normal([b] + shape[1:]).astype(np.float32)}
                     for b in (1, 3)]
            # Saves name.onnx, compresses it to name.lsc.onnx, compares in ORT.
            # qlinear, conv-integer: integer arithmetic then one rounding, as ORT's: equal outputs.
            failures += ortcheck.check_models(work, {name: (m, feeds, n8)}, 0 if form in EXACT_FORMS else ortcheck.RTOL)
            path, lsc = os.path.join(work, name + ".onnx"), os.path.join(work, name + ".lsc.onnx")
            left = sum(node_ops(lsc).count(op) for op in weight_ops + ("Transpose",))
            if left or len(ortcheck.lsc_ops(lsc)) < n8:
                failures.append("%s: %d LSC ops for %d 8-bit weights, %d of their nodes left" %
                                (name, len(ortcheck.lsc_ops(lsc)), n8, left))
            failures += dynamic_fused(name, quantized, lsc)
            # --bit-exact: float layers (dynamic keeps Conv float) keep their -0.0.
            exact, back = (os.path.join(work, name + e) for e in (".exact.lsc.onnx", ".back.onnx"))
            ortcheck.compress(path, exact, ["--bit-exact"])
            r = ortcheck.run([ortcheck.ONNX_LSC, "decompress", exact, "-o", back])
            same = r.returncode == 0 and open(back, "rb").read() == open(path, "rb").read()
            print("%s %-28s %d 8-bit weights rewritten, decompress byte for byte: %s" %
                  ("ok  " if same and not left else "FAIL", name, n8, same))
            if not same:
                failures.append("%s: decompress differs (%s)" % (name, r.stderr.strip()))
            failures += entropy_tier(work, name, m, feeds[:1], n8, 0 if form in EXACT_FORMS else ortcheck.RTOL)
    # lenet5 (the third shipped model): the chains of its dynamic and qlinear forms fused too
    for form in ("dynamic", "qlinear"):
        name = "lenet5_" + form
        quantized = os.path.join(work, name + ".quantized.onnx")
        r = ortcheck.run([sys.executable, QUANTIZE, os.path.join(models, "lenet5.onnx"), form, quantized])
        if r.returncode != 0:
            failures.append("%s: quantize_models.py failed: %s" % (name, r.stderr.strip()))
            continue
        m = onnx.load(quantized)
        shape = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
        feeds = [{m.graph.input[0].name: rng.standard_normal([1] + shape[1:]).astype(np.float32)}]
        failures += ortcheck.check_models(work, {name: (m, feeds, 2)}, 0 if form in EXACT_FORMS else ortcheck.RTOL)
        failures += dynamic_fused(name, quantized, os.path.join(work, name + ".lsc.onnx"))
    failures += dynamic_fusion(work)
    failures += qlinear_fusion(work)
    failures += integer_exact(work)
    failures += integer_bound(work)
    failures += qlinear_exact(work)
    failures += qlinear_conv_geometry(work)
    failures += qlinear_conv_int8(work)
    failures += conv_integer_geometry(work)
    failures += lenet5_integer(work, models, rng)
    failures += float_blob_refused(work)
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
