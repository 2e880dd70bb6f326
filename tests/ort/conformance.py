"""Conformance of LscConv / LscGemm / LscMatMul / LscMatMulLeft with ONNX Runtime's
own Conv / Gemm / MatMul: small pruned graphs covering the attributes the rewriter keeps, plus the
Conv/Gemm/MatMul models of Debian's libonnx-testdata (weights pruned here, weight
inputs baked into initializers). Each model is compressed with onnx-lsc, run dense
(ORT's kernels) and rewritten (our plugin, 1 and 2 threads) on the same inputs, and
the outputs must agree within 1e-5 relative (ortcheck.RTOL)."""
import glob
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import ortcheck

TESTDATA = "/usr/share/libonnx-testdata/data"


def pruned(rng, shape, density=0.12):
    """Gaussian weights pruned by a 0/1 mask, as training loops do (so -0.0 appear)."""
    w = rng.standard_normal(shape).astype(np.float32)
    return w * (rng.random(shape) < density).astype(np.float32)


def model(nodes, inputs, inits, opset=13):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(a, n) for n, a in inits.items()])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def conv(rng, x_shape, w_shape, bias=True, dims=None, **attrs):
    inits = {"W": pruned(rng, w_shape)}
    ins = ["x", "W"]
    if bias:
        inits["B"] = rng.standard_normal(w_shape[0]).astype(np.float32)
        ins.append("B")
    m = model([helper.make_node("Conv", ins, ["y"], name="conv", **attrs)], [("x", dims or x_shape)], inits)
    return m, {"x": x_shape}


def gemm(rng, a_shape, b_shape, c_shape=None, **attrs):
    inits = {"B": pruned(rng, b_shape)}
    ins = ["a", "B"]
    if c_shape is not None:
        inits["C"] = rng.standard_normal(c_shape).astype(np.float32)
        ins.append("C")
    m = model([helper.make_node("Gemm", ins, ["y"], name="gemm", **attrs)], [("a", a_shape)], inits)
    return m, {"a": a_shape}


def matmul(rng, a_shape, b_shape):
    m = model([helper.make_node("MatMul", ["a", "B"], ["y"], name="matmul")], [("a", a_shape)],
              {"B": pruned(rng, b_shape)})
    return m, {"a": a_shape}


def matmul_left(rng, a_shape, b_shape):
    """MatMul with the constant on the left (LscMatMulLeft)."""
    m = model([helper.make_node("MatMul", ["A", "b"], ["y"], name="matmul_left")], [("b", b_shape)],
              {"A": pruned(rng, a_shape)})
    return m, {"b": b_shape}


def lenet_like(rng):
    """Conv -> Relu -> MaxPool -> Conv -> Relu -> Flatten -> Gemm -> Relu -> MatMul, batch symbolic."""
    nodes = [
        helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], pads=[2, 2, 2, 2]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "W2", "B2"], ["c2"], kernel_shape=[5, 5]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"]),
        helper.make_node("Gemm", ["f", "W3", "B3"], ["g3"], transB=1),
        helper.make_node("Relu", ["g3"], ["r3"]),
        helper.make_node("MatMul", ["r3", "W4"], ["y"]),
    ]
    inits = {"W1": pruned(rng, (6, 1, 5, 5), 0.3), "B1": rng.standard_normal(6).astype(np.float32),
             "W2": pruned(rng, (16, 6, 5, 5)), "B2": rng.standard_normal(16).astype(np.float32),
             "W3": pruned(rng, (120, 256), 0.05), "B3": rng.standard_normal(120).astype(np.float32),
             "W4": pruned(rng, (120, 10), 0.3)}
    return model(nodes, [("x", ["N", 1, 16, 16])], inits), {"x": (3, 1, 16, 16)}


def cases(rng):
    c = {}
    # Conv: 2-D basics, then every attribute
    c["conv2d_pads"] = conv(rng, (2, 8, 10, 10), (16, 8, 3, 3), pads=[1, 1, 1, 1])
    c["conv2d_nobias_stride2_asym"] = conv(rng, (1, 8, 11, 9), (16, 8, 3, 3), bias=False,
                                           strides=[2, 2], pads=[0, 1, 2, 0])
    c["conv2d_dilation2"] = conv(rng, (1, 8, 12, 12), (16, 8, 3, 3), dilations=[2, 2], pads=[2, 2, 2, 2])
    c["conv2d_dilation_stride_mixed"] = conv(rng, (2, 8, 13, 17), (16, 8, 3, 2), dilations=[1, 3],
                                             strides=[2, 1], pads=[1, 0, 0, 2])
    c["conv2d_group2"] = conv(rng, (2, 8, 9, 9), (16, 4, 3, 3), group=2, pads=[1, 1, 1, 1])
    c["conv2d_group4_stride"] = conv(rng, (1, 16, 10, 10), (32, 4, 3, 3), group=4, strides=[2, 2])
    c["conv2d_depthwise_mult2"] = conv(rng, (2, 32, 8, 8), (64, 1, 3, 3), group=32, pads=[1, 1, 1, 1])
    c["conv2d_same_upper_s2"] = conv(rng, (1, 8, 10, 10), (16, 8, 3, 3), auto_pad="SAME_UPPER", strides=[2, 2])
    c["conv2d_same_upper_k4"] = conv(rng, (1, 8, 9, 9), (16, 8, 4, 4), auto_pad="SAME_UPPER")
    c["conv2d_same_lower_k4_s2"] = conv(rng, (1, 8, 11, 10), (16, 8, 4, 4), auto_pad="SAME_LOWER",
                                        strides=[2, 2])
    c["conv2d_valid_s2"] = conv(rng, (1, 8, 11, 11), (16, 8, 3, 3), auto_pad="VALID", strides=[2, 2])
    c["conv2d_kernel_shape_attr"] = conv(rng, (3, 8, 7, 7), (16, 8, 3, 3), kernel_shape=[3, 3])
    c["conv2d_1x5_5x1"] = conv(rng, (1, 8, 9, 9), (16, 8, 1, 5), pads=[0, 2, 0, 2])
    c["conv2d_pointwise"] = conv(rng, (2, 32, 6, 6), (48, 32, 1, 1))
    c["conv2d_pointwise_stride2"] = conv(rng, (1, 32, 7, 7), (48, 32, 1, 1), strides=[2, 2])
    c["conv2d_pad_end_only"] = conv(rng, (1, 32, 5, 5), (48, 32, 1, 1), pads=[0, 0, 1, 1])
    c["conv2d_large_columns"] = conv(rng, (1, 4, 200, 200), (16, 4, 3, 3), pads=[1, 1, 1, 1])
    # strips of output positions that start mid-row (conv.c cuts images into strips)
    c["conv2d_strips_midrow"] = conv(rng, (1, 3, 35, 30), (8, 3, 3, 3), strides=[2, 1], pads=[1, 2, 0, 1])
    c["conv2d_strips_batch"] = conv(rng, (2, 64, 41, 41), (32, 64, 3, 3), pads=[1, 1, 1, 1])
    c["conv2d_strips_wide_patch"] = conv(rng, (1, 128, 39, 41), (16, 128, 3, 3), pads=[1, 1, 1, 1])
    c["conv3d_strips_midrow"] = conv(rng, (1, 2, 5, 9, 13), (8, 2, 3, 3, 3), pads=[1, 1, 1, 1, 1, 1])
    # stride 1 runs as a direct convolution (lsc_spmm_windows over a padded copy; images
    # of a batch share one multiply): SAME_LOWER's odd padding, groups with dilation
    # and uneven pads, in batches
    c["conv2d_direct_same_lower_batch"] = conv(rng, (3, 8, 9, 10), (16, 8, 4, 4), auto_pad="SAME_LOWER")
    c["conv2d_direct_group_dilation_batch"] = conv(rng, (3, 8, 12, 11), (16, 4, 3, 3), group=2,
                                                   dilations=[2, 3], pads=[2, 3, 1, 0])
    c["conv2d_symbolic_batch"] = conv(rng, (4, 8, 6, 6), (16, 8, 3, 3), dims=["N", 8, 6, 6])
    # strides run direct too, over phase planes (stride 3 with dilation 2: taps 0, 2, 4
    # land in phases 0, 2, 1; batches share a multiply; 1x1 stride 2 keeps one phase;
    # input rows and columns past the last tap are never read); above 8, im2col
    c["conv2d_direct_s3_dil2_batch"] = conv(rng, (3, 8, 17, 16), (16, 8, 3, 3), strides=[3, 3],
                                            dilations=[2, 2], pads=[2, 1, 0, 2])
    c["conv2d_direct_s2_unread_tail"] = conv(rng, (2, 8, 12, 13), (16, 8, 2, 2), strides=[2, 3])
    c["conv2d_direct_pointwise_s2_batch"] = conv(rng, (3, 16, 9, 8), (24, 16, 1, 1), strides=[2, 2])
    # a batch too large for one multiply (images share one only while the padded input
    # and the columns stay near 16 Mi floats): 2 images, then a short last batch of 1,
    # whose unused image columns must not reach Y
    c["conv1d_direct_short_last_batch"] = conv(rng, (3, 2, 1_200_000), (4, 2, 9), pads=[4, 4])
    c["conv2d_im2col_stride9"] = conv(rng, (1, 4, 20, 20), (8, 4, 3, 3), strides=[9, 9], pads=[1, 1, 1, 1])
    # Conv 1-D and 3-D
    c["conv1d"] = conv(rng, (2, 8, 31), (16, 8, 5), strides=[2], pads=[2, 2])
    c["conv1d_group"] = conv(rng, (1, 12, 16), (24, 4, 3), group=3)
    c["conv3d"] = conv(rng, (1, 4, 6, 7, 8), (16, 4, 3, 3, 3), strides=[1, 2, 2], pads=[1, 1, 1, 1, 1, 1])
    c["conv3d_same_upper_group"] = conv(rng, (2, 8, 5, 5, 5), (16, 4, 3, 3, 3), group=2, auto_pad="SAME_UPPER")
    c["conv3d_dilated_valid"] = conv(rng, (1, 4, 9, 8, 7), (16, 4, 2, 3, 2), dilations=[2, 1, 3], auto_pad="VALID")
    # Gemm
    c["gemm_transB_bias_vec"] = gemm(rng, (5, 64), (32, 64), (32,), transB=1)
    c["gemm_matrix_bias_alpha_beta"] = gemm(rng, (7, 64), (64, 32), (7, 32), alpha=0.5, beta=2.0)
    c["gemm_transA_transB_scalar_c"] = gemm(rng, (64, 6), (32, 64), (), transA=1, transB=1)
    c["gemm_transA"] = gemm(rng, (64, 3), (64, 32), (1, 32), transA=1)
    c["gemm_single_elem_c"] = gemm(rng, (4, 64), (64, 32), (1,))
    c["gemm_column_c"] = gemm(rng, (4, 64), (32, 64), (4, 1), transB=1, beta=-1.5)
    c["gemm_no_c"] = gemm(rng, (9, 64), (64, 40), alpha=-2.0)
    c["gemm_beta0"] = gemm(rng, (2, 64), (32, 64), (2, 32), transB=1, beta=0.0)
    c["gemm_one_row"] = gemm(rng, (1, 300), (100, 300), (100,), transB=1)
    # MatMul
    c["matmul_2d"] = matmul(rng, (6, 64), (64, 40))
    c["matmul_3d"] = matmul(rng, (3, 5, 64), (64, 40))
    c["matmul_4d"] = matmul(rng, (2, 3, 4, 64), (64, 24))
    c["matmul_1d"] = matmul(rng, (64,), (64, 40))
    c["matmul_tall"] = matmul(rng, (257, 96), (96, 130))
    c["matmul_left_2d"] = matmul_left(rng, (40, 64), (64, 7))
    c["matmul_left_4d"] = matmul_left(rng, (40, 64), (2, 3, 64, 5))
    c["matmul_left_1d"] = matmul_left(rng, (130, 96), (96,))
    # a small network
    c["lenet_like"] = lenet_like(rng)
    return c


def testdata_cases(rng, work):
    """libonnx-testdata's Conv/Gemm/MatMul models with initializers pruned and weight inputs baked in."""
    out = {}
    paths = sorted(glob.glob(TESTDATA + "/pytorch-converted/test_Conv[123]d*/model.onnx"))
    paths += sorted(glob.glob(TESTDATA + "/node/test_*conv_with*/model.onnx"))
    paths += sorted(glob.glob(TESTDATA + "/node/test_basic_conv*/model.onnx"))
    paths += sorted(glob.glob(TESTDATA + "/node/test_gemm_*/model.onnx"))
    paths += sorted(glob.glob(TESTDATA + "/node/test_matmul_[234]d/model.onnx"))
    for path in paths:
        case = os.path.basename(os.path.dirname(path))
        m = onnx.load(path)
        ops = {n.op_type for n in m.graph.node}
        if not ops & {"Conv", "Gemm", "MatMul"}:
            continue
        data = os.path.join(os.path.dirname(path), "test_data_set_0")
        feeds = {}
        inits = {i.name for i in m.graph.initializer}
        graph_inputs = [i for i in m.graph.input if i.name not in inits]
        for k, gi in enumerate(graph_inputs):
            t = onnx.TensorProto()
            with open(os.path.join(data, "input_%d.pb" % k), "rb") as f:
                t.ParseFromString(f.read())
            feeds[gi.name] = numpy_helper.to_array(t)
        weights = {n.input[1] for n in m.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")}
        # bake weight graph inputs into initializers, prune every weight
        for name in weights:
            if name in feeds:
                arr = feeds.pop(name)
                m.graph.initializer.append(numpy_helper.from_array(arr.astype(np.float32), name))
        keep = [i for i in m.graph.input if i.name not in weights or i.name in inits]
        if any(i.name in weights for i in m.graph.input if i.name in inits):
            keep = [i for i in keep if i.name not in weights]  # IR<4 lists initializers as inputs
        del m.graph.input[:]
        m.graph.input.extend(keep)
        for init in m.graph.initializer:
            if init.name in weights:
                arr = numpy_helper.to_array(init).astype(np.float32)
                mask = rng.random(arr.shape) < 0.1
                mask.flat[0] = True
                init.CopyFrom(numpy_helper.from_array(arr * mask, init.name))
        model_path = os.path.join(work, case + ".onnx")
        onnx.save(m, model_path)
        out[case] = (model_path, feeds)
    return out


def check(name, model_path, inputs, work, failures, must_rewrite=True):
    lsc_path = os.path.join(work, name + ".lsc.onnx")
    ortcheck.compress(model_path, lsc_path)
    ops = ortcheck.lsc_ops(lsc_path)
    if not ops:
        if must_rewrite:
            failures.append(name + ": nothing was rewritten")
            print("FAIL %-34s nothing rewritten" % name)
        else:
            print("---- %-34s nothing rewritten (weights too small to pay), skipped" % name)
        return
    dense = ortcheck.ort_outputs(model_path, inputs, os.path.join(work, name + ".dense"), plugin=False)
    for threads in (1, 2):
        got = ortcheck.ort_outputs(lsc_path, inputs, os.path.join(work, "%s.lsc%d" % (name, threads)),
                                   threads=threads)
        ok, max_abs, max_rel = ortcheck.compare(dense, got)
        print("%s %-34s threads %d  %-22s max abs %.3g  max rel %.3g" %
              ("ok  " if ok else "FAIL", name, threads, ",".join(sorted(set(ops))), max_abs, max_rel))
        if not ok:
            failures.append("%s (threads %d): max abs %g, max rel %g" % (name, threads, max_abs, max_rel))


def check_same_dilated(rng, work, failures):
    """auto_pad SAME_* with dilations > 1: ONNX Runtime's Conv refuses it, and so does
    LscConv, with a message naming the pair (no reference to compare with)."""
    m, _ = conv(rng, (1, 8, 12, 12), (16, 8, 3, 3), auto_pad="SAME_UPPER", dilations=[2, 2])
    path = os.path.join(work, "same_dilated.onnx")
    onnx.save(m, path)
    lsc_path = os.path.join(work, "same_dilated.lsc.onnx")
    ortcheck.compress(path, lsc_path)
    if not ortcheck.lsc_ops(lsc_path):
        failures.append("same_dilated: nothing was rewritten")
        return
    r = ortcheck.run([ortcheck.LSC_ORT_RUN, lsc_path, "--expect-error", "dilations other than 1"])
    ok = r.returncode == 0
    print("%s %-34s refused" % ("ok  " if ok else "FAIL", "conv2d_same_upper_dilation2"))
    if not ok:
        failures.append("conv2d_same_upper_dilation2: not refused as expected (exit %d): %s"
                        % (r.returncode, (r.stdout + r.stderr).strip()[-300:]))


def main():
    work = ortcheck.work_folder()
    rng = np.random.default_rng(20200207)
    failures = []
    check_same_dilated(rng, work, failures)
    for name, (m, shapes) in cases(rng).items():
        path = os.path.join(work, name + ".onnx")
        onnx.save(m, path)
        inputs = {}
        for k, shape in shapes.items():
            inputs[k] = os.path.join(work, "%s.%s.npy" % (name, k))
            np.save(inputs[k], rng.standard_normal(shape).astype(np.float32))
        check(name, path, inputs, work, failures)
    rewritten = 0
    for name, (path, feeds) in testdata_cases(rng, work).items():
        inputs = {}
        for k, (iname, arr) in enumerate(feeds.items()):
            inputs[iname] = os.path.join(work, "%s.in%d.npy" % (name, k))
            np.save(inputs[iname], arr)
        before = len(failures)
        check(name, path, inputs, work, failures, must_rewrite=False)
        rewritten += os.path.exists(os.path.join(work, name + ".dense")) and len(failures) == before
    print("libonnx-testdata: %d models rewritten and agreeing" % rewritten)
    if rewritten < 5:
        failures.append("only %d libonnx-testdata models were rewritten" % rewritten)
    for f in failures:
        print("FAILED:", f)
    return failures


if __name__ == "__main__":
    ortcheck.main_wrapper(main)
