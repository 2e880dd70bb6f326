#!/usr/bin/python3
"""Quantize a shipped pruned model's weights to 8 bits the way deployment tools write
them, for the tests of 8-bit weights (docs/format.md 1.9). Debian's python3-onnx and
python3-numpy only (no onnxruntime). Every Conv / Gemm / MatMul float initializer
weight becomes an 8-bit initializer read through DequantizeLinear per output channel:

  qdq-int8       symmetric int8, zero point 0 (a pruned weight stays code 0)
  qdq-uint8      asymmetric uint8, zero point per channel from its min and max (a
                 pruned weight becomes its channel's zero point, never 0 in general)
  qdq-transpose  int8 as qdq-int8; each Gemm (transB=1) becomes MatMul + Add whose B
                 is Transpose(DequantizeLinear(W [N, K])), the form exporters write
  dynamic        dynamic quantization as ONNX Runtime's quantize_dynamic writes it:
                 each Gemm becomes DynamicQuantizeLinear(A) -> MatMulInteger with B
                 int8 per output column (zero point 0) -> Cast -> Mul by the two
                 scales [-> Add bias]; Conv weights stay float. Weights use 7 bits
                 (-63..63, quantize_dynamic's reduce_range): on AVX2 without VNNI
                 ONNX Runtime's uint8 x int8 kernel saturates pairs of products in
                 16 bits, so with 8-bit weights its result is not the exact one
  qlinear        static quantization in ONNX's QOperator form: each Gemm / MatMul
                 becomes QuantizeLinear(A) -> QLinearMatMul with B uint8 [K, N],
                 asymmetric per output column (a pruned weight is its column's zero
                 point) -> DequantizeLinear [-> Add bias]; each Conv becomes
                 QuantizeLinear(X) -> QLinearConv with W uint8, scale per output
                 channel, zero point 128 for all (ONNX Runtime's QLinearConv needs
                 one), bias int32 -> DequantizeLinear. Activations are uint8 with
                 fixed ranges, not calibrated: A in [-8, 8) (scale 1/16, zero point
                 128), Y in +-4 times the largest output-channel norm of W (a
                 unit-variance A's 4 sigma), zero point 128. uint8 weights because
                 ONNX Runtime's uint8 x uint8 kernel is exact where its uint8 x int8
                 one (AVX2 without VNNI) is not
  conv-integer   dynamic quantization of the Conv layers too (quantize_dynamic with
                 Conv in its op types): each Conv becomes DynamicQuantizeLinear(X)
                 -> ConvInteger with W uint8, scale per output channel, zero point
                 128 for all (ONNX Runtime's ConvInteger takes one) -> Cast -> Mul
                 by x_scale * w_scale[m] [-> Add bias]; each Gemm as in dynamic.
                 uint8 weights: ONNX Runtime's uint8 x uint8 product is exact

Usage: quantize_models.py MODEL.onnx FORM OUT.onnx
Deterministic: the same input gives the same bytes.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

FORMS = ("qdq-int8", "qdq-uint8", "qdq-transpose", "dynamic", "qlinear", "conv-integer")


def channel_axis(node, weight):
    """The axis of the output channels of a weight (rows of its LSC matrix)."""
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    if node.op_type == "MatMul":
        return 1
    return 0


def quantize(w, axis, form, levels=127):
    """(codes, scale, zero point) per channel along axis; zeros map to the zero point.
    Symmetric forms use codes -levels..levels."""
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)
    if form == "qdq-uint8":
        lo = np.minimum(moved.min(axis=1), 0.0)
        hi = np.maximum(moved.max(axis=1), 0.0)
        scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0).astype(np.float32)
        zp = np.clip(np.round(-lo / scale), 0, 255).astype(np.uint8)
        q = np.clip(np.round(moved / scale[:, None]) + zp[:, None], 0, 255).astype(np.uint8)
    else:
        amax = np.abs(moved).max(axis=1)
        scale = np.where(amax > 0, amax / levels, 1.0).astype(np.float32)
        zp = np.zeros(len(scale), np.int8)
        q = np.clip(np.round(moved / scale[:, None]), -levels, levels).astype(np.int8)
    shape = (w.shape[axis],) + tuple(np.delete(np.array(w.shape), axis))
    q = np.moveaxis(q.reshape(shape), 0, axis)
    return np.ascontiguousarray(q), scale, zp


def matmul_b(node, inits):
    """(name, B [K, N] as float) of a Gemm (transA 0, alpha and beta 1) or MatMul weight."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
        raise SystemExit("%s: Gemm with transA/alpha/beta: not rewritten" % node.name)
    w = numpy_helper.to_array(inits[node.input[1]])
    return node.input[1], np.ascontiguousarray(w.T if attrs.get("transB", 0) else w)


def dynamic_gemm(node, inits, g):
    """Gemm(A, W[, C]) as MatMulInteger on DynamicQuantizeLinear(A), B int8 [K, N]."""
    wname, b = matmul_b(node, inits)
    q, scale, zp = quantize(b, 1, "qdq-int8", levels=63)
    g.initializer.remove(inits.pop(wname))
    g.initializer.extend([numpy_helper.from_array(q, wname + "_quantized"),
                          numpy_helper.from_array(scale, wname + "_scale"),
                          numpy_helper.from_array(zp, wname + "_zero_point")])
    p = node.name or wname
    out = node.output[0]
    mul_out = out + "_scaled" if len(node.input) > 2 else out
    nodes = [helper.make_node("DynamicQuantizeLinear", [node.input[0]], [p + "_xq", p + "_xs", p + "_xzp"],
                              name=p + "_DynamicQuantizeLinear"),
             helper.make_node("MatMulInteger", [p + "_xq", wname + "_quantized", p + "_xzp", wname + "_zero_point"],
                              [p + "_int32"], name=p + "_MatMulInteger"),
             helper.make_node("Cast", [p + "_int32"], [p + "_float"], name=p + "_Cast", to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", [p + "_xs", wname + "_scale"], [p + "_scales"], name=p + "_MulScales"),
             helper.make_node("Mul", [p + "_float", p + "_scales"], [mul_out], name=p + "_Mul")]
    if len(node.input) > 2:
        nodes.append(helper.make_node("Add", [mul_out, node.input[2]], [out], name=p + "_Add"))
    return nodes


def qlinear_matmul(node, inits, g):
    """Gemm(A, W[, C]) or MatMul(A, W) as QuantizeLinear -> QLinearMatMul -> DequantizeLinear."""
    wname, b = matmul_b(node, inits)
    q, scale, zp = quantize(b, 1, "qdq-uint8")
    p = node.name or wname
    consts = {wname + "_quantized": q, wname + "_scale": scale, wname + "_zero_point": zp}
    consts.update(activation_params(p, b.T))
    g.initializer.remove(inits.pop(wname))
    g.initializer.extend([numpy_helper.from_array(np.array(v), k) for k, v in consts.items()])
    out = node.output[0]
    y_out = out + "_matmul" if len(node.input) > 2 else out
    nodes = [helper.make_node("QuantizeLinear", [node.input[0], p + "_a_scale", p + "_a_zero_point"], [p + "_aq"],
                              name=p + "_QuantizeLinear"),
             helper.make_node("QLinearMatMul", [p + "_aq", p + "_a_scale", p + "_a_zero_point", wname + "_quantized",
                                                wname + "_scale", wname + "_zero_point", p + "_y_scale",
                                                p + "_y_zero_point"], [p + "_yq"], name=p + "_QLinearMatMul"),
             helper.make_node("DequantizeLinear", [p + "_yq", p + "_y_scale", p + "_y_zero_point"], [y_out],
                              name=p + "_DequantizeLinear")]
    if len(node.input) > 2:
        nodes.append(helper.make_node("Add", [y_out, node.input[2]], [out], name=p + "_Add"))
    return nodes


def activation_params(p, w_rows):
    """The fixed uint8 activation parameters of layer p (see qlinear above)."""
    y_scale = np.float32(4.0 * np.sqrt((w_rows.astype(np.float64) ** 2).sum(axis=1)).max() / 128.0 or 1.0)
    return {p + "_a_scale": np.float32(1.0 / 16.0), p + "_a_zero_point": np.uint8(128),
            p + "_y_scale": y_scale, p + "_y_zero_point": np.uint8(128)}


def conv_weight_uint8(w):
    """(codes, scale per output channel, rows as float64) of a Conv weight: uint8,
    symmetric codes 1..255 around the zero point 128 (a pruned weight is 128)."""
    rows = w.reshape(w.shape[0], -1).astype(np.float64)
    amax = np.abs(rows).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = (np.clip(np.round(rows / scale[:, None]), -127, 127) + 128).astype(np.uint8).reshape(w.shape)
    return q, scale, rows


def conv_integer(node, inits, g):
    """Conv(X, W[, B]) as DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul [-> Add]."""
    wname = node.input[1]
    w = numpy_helper.to_array(inits[wname])
    q, scale, _ = conv_weight_uint8(w)
    p = node.name or wname
    channel_shape = [w.shape[0]] + [1] * (w.ndim - 2)
    consts = {wname + "_quantized": q, wname + "_scale": scale.reshape(channel_shape),
              wname + "_zero_point": np.uint8(128)}
    has_bias = len(node.input) > 2 and node.input[2]
    if has_bias:
        consts[p + "_bias"] = numpy_helper.to_array(inits[node.input[2]]).reshape(channel_shape)
        g.initializer.remove(inits.pop(node.input[2]))
    g.initializer.remove(inits.pop(wname))
    g.initializer.extend([numpy_helper.from_array(np.array(v), k) for k, v in consts.items()])
    conv = helper.make_node("ConvInteger", [p + "_xq", wname + "_quantized", p + "_xzp", wname + "_zero_point"],
                            [p + "_int32"], name=p + "_ConvInteger")
    conv.attribute.extend(node.attribute)
    out = node.output[0]
    mul_out = out + "_scaled" if has_bias else out
    nodes = [helper.make_node("DynamicQuantizeLinear", [node.input[0]], [p + "_xq", p + "_xs", p + "_xzp"],
                              name=p + "_DynamicQuantizeLinear"), conv,
             helper.make_node("Cast", [p + "_int32"], [p + "_float"], name=p + "_Cast", to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", [p + "_xs", wname + "_scale"], [p + "_scales"], name=p + "_MulScales"),
             helper.make_node("Mul", [p + "_float", p + "_scales"], [mul_out], name=p + "_Mul")]
    if has_bias:
        nodes.append(helper.make_node("Add", [mul_out, p + "_bias"], [out], name=p + "_Add"))
    return nodes


def qlinear_conv(node, inits, g):
    """Conv(X, W[, B]) as QuantizeLinear -> QLinearConv -> DequantizeLinear."""
    wname = node.input[1]
    w = numpy_helper.to_array(inits[wname])
    q, scale, rows = conv_weight_uint8(w)
    p = node.name or wname
    consts = {wname + "_quantized": q, wname + "_scale": scale, wname + "_zero_point": np.uint8(128)}
    consts.update(activation_params(p, rows))
    inputs = [p + "_aq", p + "_a_scale", p + "_a_zero_point", wname + "_quantized", wname + "_scale",
              wname + "_zero_point", p + "_y_scale", p + "_y_zero_point"]
    if len(node.input) > 2 and node.input[2]:
        b = numpy_helper.to_array(inits[node.input[2]]).astype(np.float64)
        consts[p + "_bias_int32"] = np.round(b / (scale.astype(np.float64) / 16.0)).astype(np.int32)
        inputs.append(p + "_bias_int32")
        g.initializer.remove(inits.pop(node.input[2]))
    g.initializer.remove(inits.pop(wname))
    g.initializer.extend([numpy_helper.from_array(np.array(v), k) for k, v in consts.items()])
    conv = helper.make_node("QLinearConv", inputs, [p + "_yq"], name=p + "_QLinearConv")
    conv.attribute.extend(node.attribute)
    return [helper.make_node("QuantizeLinear", [node.input[0], p + "_a_scale", p + "_a_zero_point"], [p + "_aq"],
                             name=p + "_QuantizeLinear"), conv,
            helper.make_node("DequantizeLinear", [p + "_yq", p + "_y_scale", p + "_y_zero_point"], [node.output[0]],
                             name=p + "_DequantizeLinear")]


def main(argv):
    if len(argv) != 4 or argv[2] not in FORMS:
        sys.stderr.write("usage: quantize_models.py MODEL.onnx {%s} OUT.onnx\n" % "|".join(FORMS))
        return 2
    model = onnx.load(argv[1])
    form = argv[2]
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    new_nodes = []
    for node in g.node:
        wname = node.input[1] if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 else None
        if form == "conv-integer" and node.op_type == "Conv" and wname in inits:
            new_nodes += conv_integer(node, inits, g)
            continue
        if form in ("dynamic", "conv-integer"):
            if node.op_type != "Gemm" or wname not in inits:
                new_nodes.append(node)
            else:
                new_nodes += dynamic_gemm(node, inits, g)
            continue
        if form == "qlinear":
            if node.op_type == "Conv" and wname in inits:
                new_nodes += qlinear_conv(node, inits, g)
            elif node.op_type not in ("Gemm", "MatMul") or wname not in inits or len(inits[wname].dims) != 2:
                new_nodes.append(node)
            else:
                new_nodes += qlinear_matmul(node, inits, g)
            continue
        if wname not in inits or inits[wname].data_type != onnx.TensorProto.FLOAT:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[wname])
        axis = channel_axis(node, w)
        q, scale, zp = quantize(w, axis, form)
        g.initializer.remove(inits.pop(wname))
        g.initializer.extend([numpy_helper.from_array(q, wname + "_quantized"),
                              numpy_helper.from_array(scale, wname + "_scale"),
                              numpy_helper.from_array(zp, wname + "_zero_point")])
        dq_out = wname + "_dequantized"
        new_nodes.append(helper.make_node(
            "DequantizeLinear", [wname + "_quantized", wname + "_scale", wname + "_zero_point"],
            [dq_out], name=wname + "_DequantizeLinear", axis=axis))
        gemm_t = node.op_type == "Gemm" and axis == 0 and form == "qdq-transpose"
        if not gemm_t:
            node.input[1] = dq_out
            new_nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0:
            raise SystemExit("%s: Gemm with transA/alpha/beta: not rewritten" % node.name)
        t_out = wname + "_transposed"
        new_nodes.append(helper.make_node("Transpose", [dq_out], [t_out], name=wname + "_Transpose",
                                          perm=[1, 0]))
        mm_out = node.output[0] + "_matmul" if len(node.input) > 2 else node.output[0]
        new_nodes.append(helper.make_node("MatMul", [node.input[0], t_out], [mm_out], name=node.name + "_MatMul"))
        if len(node.input) > 2:
            new_nodes.append(helper.make_node("Add", [mm_out, node.input[2]], [node.output[0]],
                                              name=node.name + "_Add"))
    del g.node[:]
    g.node.extend(new_nodes)
    onnx.checker.check_model(model)
    onnx.save(model, argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
