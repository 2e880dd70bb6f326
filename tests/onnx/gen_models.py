"""Small ONNX models that exercise the corners of compress/decompress.

make_all(folder) writes each case as <name>.onnx (plus side files) and returns
[(name, extra_compress_args, expectations)], expectations being a dict with
'encoded' (number of weights that must be encoded) when it is known.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import gen_activations
import gen_decode
import gen_names
import gen_pack
import gen_recurrent
import gen_run_dense
import gen_shared
import gen_subgraphs

RNG = np.random.default_rng(1234)


def pruned(shape, density=0.1, dtype=np.float32):
    w = RNG.standard_normal(shape).astype(dtype)
    w[RNG.random(shape) >= density] = 0
    return w


def with_specials(w):
    """-0.0, NaN with a payload, denormals and infinities among the weights."""
    flat = w.reshape(-1)
    n = flat.size
    flat[: n // 4][flat[: n // 4] == 0] = -0.0
    if w.dtype == np.float32:
        bits = flat.view(np.uint32)
        bits[1] = 0x7FC01234  # quiet NaN with payload
        bits[2] = 0x00000005  # denormal
        bits[3] = 0x80000007  # negative denormal
        flat[4] = np.inf
        flat[5] = -np.inf
    return w


def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits, opsets=None, ir=None, value_info=None, name="g"):
    g = helper.make_graph(nodes, name, inputs, outputs, inits, value_info=value_info or [])
    kw = {}
    if opsets is not None:
        kw["opset_imports"] = opsets
    m = helper.make_model(g, **kw)
    if ir is not None:
        m.ir_version = ir
    return m


def typed(name, w, elem):
    """A tensor in a typed repeated field instead of raw_data."""
    t = TensorProto()
    t.name = name
    t.data_type = elem
    t.dims.extend(w.shape)
    if elem == TensorProto.FLOAT:
        t.float_data.extend(w.reshape(-1).tolist())
    elif elem == TensorProto.DOUBLE:
        t.double_data.extend(w.reshape(-1).tolist())
    else:  # float16 / bfloat16 bit patterns in int32_data
        t.int32_data.extend(int(v) for v in w.reshape(-1))
    return t


def raw16(name, bits, elem):
    t = TensorProto()
    t.name = name
    t.data_type = elem
    t.dims.extend(bits.shape)
    t.raw_data = bits.astype("<u2").tobytes()
    return t


def bf16_bits(w):
    return (w.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)


def gemm_model(wname, w, trans_b=1, init=None):
    k = w.shape[1] if trans_b else w.shape[0]
    n = w.shape[0] if trans_b else w.shape[1]
    node = helper.make_node("Gemm", ["x", wname], ["y"], transB=trans_b, name="gemm")
    return model([node], [vi("x", [1, k])], [vi("y", [1, n])],
                 [init if init is not None else numpy_helper.from_array(w, wname)])


def add_unknown(msg_bytes, field=1000, value=42):
    """Appends a varint field the schema does not know."""
    tag = (field << 3) | 0
    out = bytearray()
    for v in (tag, value):
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                break
    return msg_bytes + bytes(out)


def external_tensors(folder, location, arrays, gap=0):
    """Initializers whose bytes go, one after the other (gap zero bytes between), to
    the side file `location` in folder."""
    blob, inits = bytearray(), []
    for nm, arr in arrays:
        tt = numpy_helper.from_array(arr, nm)
        off = len(blob)
        blob += tt.raw_data + b"\0" * gap
        tt.ClearField("raw_data")
        tt.data_location = TensorProto.EXTERNAL
        for k, v in (("location", location), ("offset", str(off)), ("length", str(arr.nbytes))):
            e = tt.external_data.add()
            e.key, e.value = k, v
        inits.append(tt)
    with open(os.path.join(folder, location), "wb") as f:
        f.write(blob)
    return inits


def make_all(folder):
    cases = []

    def save(name, m, args=(), encoded=None, check=True, folded=None, packed=None, run_dense=None,
             short_names=None, shared=None, whole=None, mirrored=None, slim=None):
        if check:
            onnx.checker.check_model(m)
        onnx.save(m, os.path.join(folder, name + ".onnx"))
        cases.append((name, list(args), {"encoded": encoded, "folded": folded, "packed": packed,
                                         "run_dense": run_dense, "short_names": short_names,
                                         "shared": shared, "whole": whole, "mirrored": mirrored,
                                         "slim": slim}))

    # Conv: 2-D, groups, depthwise, 1-D, 3-D, with bias; Gemm transB 0/1; MatMul.
    w = with_specials(pruned((16, 8, 3, 3)))
    save("conv2d", model([helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
                         [vi("x", [1, 8, 6, 6])], [vi("y", [1, 16, 6, 6])],
                         [numpy_helper.from_array(w, "w"),
                          numpy_helper.from_array(np.ones(16, np.float32), "b")]), encoded=1)
    save("conv_groups", model([helper.make_node("Conv", ["x", "w"], ["y"], group=4)],
                              [vi("x", [1, 16, 5, 5])], [vi("y", [1, 32, 3, 3])],
                              [numpy_helper.from_array(pruned((32, 4, 3, 3)), "w")]), encoded=1)
    save("conv_depthwise", model([helper.make_node("Conv", ["x", "w"], ["y"], group=32)],
                                 [vi("x", [1, 32, 5, 5])], [vi("y", [1, 32, 3, 3])],
                                 [numpy_helper.from_array(pruned((32, 1, 3, 3), 0.3), "w")]))
    save("conv1d", model([helper.make_node("Conv", ["x", "w"], ["y"])],
                         [vi("x", [1, 8, 20])], [vi("y", [1, 24, 16])],
                         [numpy_helper.from_array(pruned((24, 8, 5)), "w")]), encoded=1)
    save("conv3d", model([helper.make_node("Conv", ["x", "w"], ["y"])],
                         [vi("x", [1, 4, 6, 6, 6])], [vi("y", [1, 16, 4, 4, 4])],
                         [numpy_helper.from_array(pruned((16, 4, 3, 3, 3)), "w")]), encoded=1)
    save("gemm_t1", gemm_model("fc", with_specials(pruned((100, 300), 0.08))), encoded=1)
    save("gemm_t0", gemm_model("fc", pruned((300, 100), 0.08), trans_b=0), encoded=1)
    save("matmul", model([helper.make_node("MatMul", ["x", "m"], ["y"])],
                         [vi("x", [2, 200])], [vi("y", [2, 50])],
                         [numpy_helper.from_array(pruned((200, 50), 0.05), "m")]), encoded=1)
    save("matmul_3d_const", model([helper.make_node("MatMul", ["x", "m"], ["y"])],
                                  [vi("x", [3, 2, 40])], [vi("y", [3, 2, 10])],
                                  [numpy_helper.from_array(pruned((3, 40, 10)), "m")]), encoded=1)  # LscDecode
    save("dense_not_paying", gemm_model("fc", RNG.standard_normal((20, 30)).astype(np.float32)), encoded=0)
    save("all_zero", gemm_model("fc", np.zeros((64, 64), np.float32)), encoded=1)

    # Data types and representations.
    wd = pruned((60, 90), 0.1, np.float64)
    save("f64_raw", gemm_model("fc", wd), encoded=1)
    save("f64_typed", gemm_model("fc", wd, init=typed("fc", wd, TensorProto.DOUBLE)), encoded=1)
    wf = with_specials(pruned((60, 90), 0.1))
    save("f32_typed", gemm_model("fc", wf, init=typed("fc", wf, TensorProto.FLOAT)), encoded=1)
    h = pruned((60, 90), 0.1).astype(np.float16)
    hb = h.view(np.uint16).copy()
    hb[0] = 0x8000  # -0.0
    hb[1] = 0x7E01  # NaN payload
    hb[2] = 0x0001  # denormal
    node = helper.make_node("Gemm", ["x", "fc"], ["y"], transB=1)

    def m16(init, elem):
        return model([node], [vi("x", [1, 90], elem)], [vi("y", [1, 60], elem)], [init])
    save("f16_raw", m16(raw16("fc", hb, TensorProto.FLOAT16), TensorProto.FLOAT16), encoded=1)
    save("f16_typed", m16(typed("fc", hb, TensorProto.FLOAT16), TensorProto.FLOAT16), encoded=1)
    bb = bf16_bits(pruned((60, 90), 0.1))
    bb[0] = 0x8000
    save("bf16_raw", m16(raw16("fc", bb, TensorProto.BFLOAT16), TensorProto.BFLOAT16),
         encoded=1, check=False)
    save("bf16_typed", m16(typed("fc", bb, TensorProto.BFLOAT16), TensorProto.BFLOAT16),
         encoded=1, check=False)

    # Shared weights: two Gemms (encoded once); a Gemm and an Add, Gemm transB=1 and
    # MatMul (orientations differ), a graph output: no LSC kernel for every reader, so
    # encoded for LscDecode and the readers left as they are.
    ws = pruned((50, 50), 0.1)
    n1 = helper.make_node("Gemm", ["x", "s"], ["y1"], transB=1)
    n2 = helper.make_node("Gemm", ["y1", "s"], ["y"], transB=1)
    save("shared_two_gemms", model([n1, n2], [vi("x", [1, 50])], [vi("y", [1, 50])],
                                   [numpy_helper.from_array(ws, "s")]), encoded=1)
    n3 = helper.make_node("Add", ["s", "s"], ["z"])
    save("shared_with_add", model([n1, n3], [vi("x", [1, 50])], [vi("y1", [1, 50]), vi("z", [50, 50])],
                                  [numpy_helper.from_array(ws, "s")]), encoded=1)
    n4 = helper.make_node("MatMul", ["x", "s"], ["y2"])
    save("shared_orientations", model([n1, n4], [vi("x", [1, 50])], [vi("y1", [1, 50]), vi("y2", [1, 50])],
                                      [numpy_helper.from_array(ws, "s")]), encoded=1)
    # MatMul with the constant on the left (LscMatMulLeft); the same weight also on
    # the right of another MatMul (orientations differ: LscDecode).
    n5 = helper.make_node("MatMul", ["s", "x2"], ["y3"])
    save("matmul_left", model([n5], [vi("x2", [50, 4])], [vi("y3", [50, 4])],
                              [numpy_helper.from_array(ws, "s")]), encoded=1)
    save("matmul_left_and_right", model([n5, n4], [vi("x", [1, 50]), vi("x2", [50, 4])],
                                        [vi("y3", [50, 4]), vi("y2", [1, 50])],
                                        [numpy_helper.from_array(ws, "s")]), encoded=1)
    save("weight_is_output", model([n1], [vi("x", [1, 50])], [vi("y1", [1, 50]), vi("s", [50, 50])],
                                   [numpy_helper.from_array(ws, "s")]), encoded=1)

    # Graph-input weights (IR 3 style): encoded and dropped from the inputs unless
    # --keep-graph-inputs; a declaration that cannot be rebuilt keeps them dense.
    gi = model([n1], [vi("x", [1, 50]), vi("s", [50, 50])], [vi("y1", [1, 50])],
               [numpy_helper.from_array(ws, "s")])
    save("graph_input", gi, encoded=1)
    save("graph_input_included", gi, ["--include-graph-inputs"], encoded=1)
    save("graph_input_kept", gi, ["--keep-graph-inputs"], encoded=0)
    gi_doc = model([n1], [vi("x", [1, 50]), vi("s", [50, 50])], [vi("y1", [1, 50])],
                   [numpy_helper.from_array(ws, "s")])
    gi_doc.graph.input[1].doc_string = "fed at run time"
    save("graph_input_with_doc", gi_doc, encoded=0)
    gi_none = model([n1], [vi("s", [50, 50]), vi("x", [1, 50])], [vi("y1", [1, 50])],
                    [numpy_helper.from_array(ws, "s")])
    gi_none.ClearField("ir_version")
    save("graph_input_no_ir_version", gi_none, encoded=1, check=False)
    save("value_info_on_weight", model([n1], [vi("x", [1, 50])], [vi("y1", [1, 50])],
                                       [numpy_helper.from_array(ws, "s")],
                                       value_info=[vi("s", [50, 50])]), encoded=1)

    # Constant node holding the weight; computed weight (not constant).
    cn = helper.make_node("Constant", [], ["cw"], value=numpy_helper.from_array(pruned((40, 40)), ""))
    save("constant_weight", model([cn, helper.make_node("MatMul", ["x", "cw"], ["y"])],
                                  [vi("x", [1, 40])], [vi("y", [1, 40])], []), encoded=1)
    save("computed_weight", model([helper.make_node("Relu", ["x2"], ["r"]),
                                   helper.make_node("MatMul", ["x", "r"], ["y"])],
                                  [vi("x", [1, 40]), vi("x2", [40, 40])], [vi("y", [1, 40])], []),
         encoded=0)

    # If / Loop subgraphs holding weighted nodes: left alone, the rest compressed.
    sub_w = numpy_helper.from_array(pruned((30, 30)), "sub_w")
    then_g = helper.make_graph([helper.make_node("MatMul", ["x", "sub_w"], ["t"])], "then", [],
                               [vi("t", [1, 30])], [sub_w])
    else_g = helper.make_graph([helper.make_node("MatMul", ["x", "outer"], ["e"])], "else", [],
                               [vi("e", [1, 30])])
    if_node = helper.make_node("If", ["cond"], ["yi"], then_branch=then_g, else_branch=else_g)
    main_mm = helper.make_node("MatMul", ["x", "main_w"], ["ym"])
    save("if_subgraph", model([if_node, main_mm], [vi("x", [1, 30]), vi("cond", [], TensorProto.BOOL)],
                              [vi("yi", [1, 30]), vi("ym", [1, 30])],
                              [numpy_helper.from_array(pruned((30, 30)), "outer"),
                               numpy_helper.from_array(pruned((30, 30)), "main_w")]), encoded=3)
    body = helper.make_graph([helper.make_node("Identity", ["c_in"], ["c_out"]),
                              helper.make_node("Conv", ["v_in", "lw"], ["v_out"])], "body",
                             [vi("i", [], TensorProto.INT64), vi("c_in", [], TensorProto.BOOL),
                              vi("v_in", [1, 4, 3, 3])],
                             [vi("c_out", [], TensorProto.BOOL), vi("v_out", [1, 4, 3, 3])])
    loop = helper.make_node("Loop", ["n", "", "v0"], ["vf"], body=body)
    save("loop_subgraph", model([loop], [vi("n", [], TensorProto.INT64), vi("v0", [1, 4, 3, 3])],
                                [vi("vf", [1, 4, 3, 3])],
                                [numpy_helper.from_array(pruned((4, 4, 1, 1), 0.5), "lw")]), encoded=0)

    # Exporter-like bodies (gen_subgraphs.py): If branches, Loop in If, Scan, outer scope.
    for name, (m, _, n) in gen_subgraphs.all_models(np.random.default_rng(99)).items():
        save(name, m, encoded=n)
        # --entropy: short names in every body, outer-scope references included.
        save(name + "_entropy", m, args=["--entropy"], encoded=n)
    # Activations folded into the LSC ops, and those that must stay (gen_activations.py).
    for name, (m, _, n) in gen_activations.all_models(np.random.default_rng(97)).items():
        save(name, m, encoded=n, folded=gen_activations.folded(name))
    # LSTM / GRU / RNN W and R (gen_recurrent.py).
    for name, (m, _, n) in gen_recurrent.all_models(np.random.default_rng(98)).items():
        save(name, m, encoded=n)
    # Weights read by ops without an LSC kernel, restored by LscDecode (gen_decode.py).
    for name, (m, _, n) in gen_decode.all_models(np.random.default_rng(97)).items():
        save(name, m, encoded=n)
    # Conv / Gemm / MatMul layers run dense, their weights restored by LscDecode
    # (gen_run_dense.py); the mixed model also with --run-dense never (none dense).
    for name, (m, _, n) in gen_run_dense.all_models(np.random.default_rng(95)).items():
        save(name, m, args=gen_run_dense.EXTRA.get(name, ()), encoded=n, run_dense=gen_run_dense.RUN_DENSE[name])
        if name == "run_dense_mixed_convs":
            save(name + "_never", m, args=["--run-dense", "never"], encoded=n, run_dense=0)
    # Float tensors left dense, packed by --entropy (gen_pack.py).
    for name, (m, _, n) in gen_pack.all_models(np.random.default_rng(96)).items():
        save(name, m, args=gen_pack.EXTRA, encoded=n, packed=gen_pack.PACKED[name])
    # Long exporter names, shortened by --entropy in every scope (gen_names.py).
    for name, (m, _, n) in gen_names.all_models(np.random.default_rng(95)).items():
        save(name, m, args=gen_names.EXTRA, encoded=n, short_names=True, slim=gen_names.SLIM.get(name))
    # Equal weights, stored once by --entropy (gen_shared.py); without it, never shared;
    # repeated values coded whole, mirrored rows as halves (entropy blob version 4).
    for name, (m, _, n) in gen_shared.all_models(np.random.default_rng(94)).items():
        save(name, m, args=gen_shared.EXTRA, encoded=n, shared=gen_shared.SHARED[name], whole=gen_shared.WHOLE[name],
             mirrored=gen_shared.MIRRORED[name])
        save(name + "_compute", m, encoded=n, shared=0, whole=0, mirrored=0)
    # A body that hides an outer weight's name behind its own node output: the body's
    # MatMul reads its own value (not constant), the outer weight is still encoded.
    hide = helper.make_graph([helper.make_node("Relu", ["x"], ["w_hidden"]),
                              helper.make_node("MatMul", ["x", "w_hidden"], ["t"])], "then", [],
                             [vi("t", [30, 30])])
    keep = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [], [vi("e", [30, 30])])
    save("subgraph_shadowing", model([helper.make_node("If", ["cond"], ["yi"], then_branch=hide, else_branch=keep),
                                      helper.make_node("MatMul", ["x", "w_hidden"], ["ym"])],
                                     [vi("x", [30, 30]), vi("cond", [], TensorProto.BOOL)],
                                     [vi("yi", [30, 30]), vi("ym", [30, 30])],
                                     [numpy_helper.from_array(pruned((30, 30)), "w_hidden")]),
         encoded=1, check=False)

    # Odd names, nodes out of topological order, unused opset imports, explicit domains.
    names = ["0", '{"json": ["name", 1]}', "spaces and\ttab", "üñí©ødé", "a/b\\c", "x" * 300]
    nodes, inits = [], []
    prev = "x"
    for i, nm in enumerate(names):
        out = "h%d" % i
        nodes.append(helper.make_node("Gemm", [prev, nm], [out], transB=1, name=nm,
                                      domain="" if i % 2 else "ai.onnx"))
        inits.append(numpy_helper.from_array(pruned((20, 20), 0.15), nm))
        prev = out
    nodes.reverse()
    save("odd_names", model(nodes, [vi("x", [1, 20])], [vi(prev, [1, 20])], inits,
                            opsets=[helper.make_opsetid("", 13), helper.make_opsetid("com.example.unused", 3)]),
         encoded=len(names), check=False)
    save("odd_names_entropy", model(nodes, [vi("x", [1, 20])], [vi(prev, [1, 20])], inits,
                                    opsets=[helper.make_opsetid("", 13)]),
         args=["--entropy"], encoded=len(names), check=False)
    empty_node = helper.make_node("Gemm", ["x", "w"], ["y"], transB=1, name="", doc_string="doc")
    save("empty_node_name", model([empty_node], [vi("x", [1, 30])], [vi("y", [1, 20])],
                                  [numpy_helper.from_array(pruned((20, 30)), "w")]), encoded=1)

    # Unknown fields in the model, graph, node and the encoded initializer.
    t = numpy_helper.from_array(pruned((40, 60)), "u")
    t2 = TensorProto()
    t2.ParseFromString(add_unknown(t.SerializeToString(), 1001, 7))
    nd = onnx.NodeProto()
    nd.ParseFromString(add_unknown(helper.make_node("Gemm", ["x", "u"], ["y"], transB=1).SerializeToString(),
                                   1002, 9))
    m = model([nd], [vi("x", [1, 60])], [vi("y", [1, 40])], [t2])
    gb = onnx.GraphProto()
    gb.ParseFromString(add_unknown(m.graph.SerializeToString(), 1003, 11))
    m.graph.CopyFrom(gb)
    mb = add_unknown(m.SerializeToString(), 1004, 13)
    with open(os.path.join(folder, "unknown_fields.onnx"), "wb") as f:
        f.write(mb)
    cases.append(("unknown_fields", [], {"encoded": 1, "unknown": [1001, 1002, 1003, 1004]}))

    # External data: two weights in one side file at offsets, one left dense.
    w1, w2 = pruned((64, 48)), pruned((64, 32))
    dense_w = RNG.standard_normal((8, 32)).astype(np.float32)
    inits = external_tensors(folder, "weights.bin", (("e1", w1), ("e2", w2), ("e3", dense_w)), gap=16)
    save("external", model([helper.make_node("Gemm", ["x", "e1"], ["h"], transB=1),
                            helper.make_node("MatMul", ["h", "e2"], ["h2"]),
                            helper.make_node("Gemm", ["h2", "e3"], ["y"], transB=1)],
                           [vi("x", [1, 48])], [vi("y", [1, 8])], inits), encoded=2, check=False)
    cases[-1][2]["elsewhere"] = True  # also compressed and decompressed into other folders
    # External data under LscDecode: a sparse table read by Add (encoded, renamed
    # t1.lsc), a dense one (not-sparse: stays external, copied when elsewhere).
    inits = external_tensors(folder, "tables.bin", (("t1", pruned((64, 32), 0.3)),
                                                    ("t2", RNG.standard_normal((64, 32)).astype(np.float32))))
    save("external_decode", model([helper.make_node("Add", ["x", "t1"], ["h"]), helper.make_node("Add", ["h", "t2"], ["y"])],
                                  [vi("x", [64, 32])], [vi("y", [64, 32])], inits), encoded=1, check=False)
    cases[-1][2]["elsewhere"] = True
    return cases
