/* Dense-ish layers run dense (docs/format.md 3.1, "Decision (dense-ish layers)"): a
 * sparse kernel cannot beat a dense GEMM on a weight with half its entries non-zero,
 * so compress leaves such a Conv the plain ONNX op, its weight encoded all the same
 * and restored once, at session creation, by an LscDecode node. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

/* The cost model of a float32 Conv, in ns per output pixel of one image, fitted (least
 * relative squares) to ONNX Runtime's per-node kernel times of VGG-16's 13 convolutions
 * (3x3, 3 to 512 channels, 224 to 14 pixels, 22% to 57% non-zeros) run both ways on a
 * 2-core AMD EPYC (Zen 3, AVX2 + FMA), 1 thread (docs/benchmarks.md "Stop 13"):
 *   LSC   = nnz * LSC_NS_PER_NNZ + M * LSC_NS_PER_ROW
 *   dense = M * K * DENSE_NS_PER_MAC + K * DENSE_NS_PER_COL
 * for a weight [M, K = C/group * kernel size]: the LSC kernel pays every non-zero and
 * a fixed cost per output row (its strips, bias and copy-out), ORT's Conv (im2col and
 * GEMM: a weight computed by LscDecode is no constant it could reorder into its NCHWc
 * layout) every weight and the im2col's columns, plus LscDecode's copy of the weight
 * each run. Output size drops out (both sides scale with it) except for the per-run
 * terms (LSC's decoding of the rows, ~3 ns a non-zero; the copy, ~0.3 ns an element),
 * which are averaged in: the output size is not known when compressing. The break-even
 * density of a large layer is DENSE_NS_PER_MAC / LSC_NS_PER_NNZ = 42%. */
#define LSC_NS_PER_NNZ 0.0606
#define LSC_NS_PER_ROW 0.336
#define DENSE_NS_PER_MAC 0.0257
#define DENSE_NS_PER_COL 0.318
/* A layer runs dense only when its LSC kernel is predicted at least this much slower:
 * the fit is within +-15% of 12 of the 13 layers, and running dense costs memory (the
 * decoded weight is held, and copied into ORT's output each run). */
#define RUN_DENSE_MARGIN 1.15

typedef struct conv_cost {
    double lsc, dense; /* ns per output pixel */
} conv_cost;

static conv_cost predict_conv(uint64_t nnz, uint64_t rows, uint64_t cols)
{
    conv_cost c;
    c.lsc = (double)nnz * LSC_NS_PER_NNZ + (double)rows * LSC_NS_PER_ROW;
    c.dense = (double)rows * (double)cols * DENSE_NS_PER_MAC + (double)cols * DENSE_NS_PER_COL;
    return c;
}

/* A weight the choice may take: the float32 initializer of plain Conv / Gemm /
 * MatMul nodes, encodable, in a form LscDecode restores (rows as they are). */
static int eligible(const lsc_candidate *cand)
{
    static const char *const ops[] = {"Conv", "Gemm", "MatMul"};
    int op = 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        op |= strcmp(cand->op, ops[i]) == 0;
    return op && cand->outcome == LSC_LAYER_ENCODED && !cand->decode && !cand->compressed && !cand->quantized &&
           !cand->flat && cand->home == LSC_HOME_INITIALIZER && cand->tensor &&
           cand->tensor->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

/* Non-zeros of a float32 tensor: -0.0 is a zero, --bit-exact or not. */
static lsc_status count_nonzeros(lsc_onnx_model *model, const lsc_candidate *cand, const char *label,
                                 uint64_t *nnz, uint64_t *elements, lsc_error *error)
{
    lsc_dense dense = {0};
    LSC_TRY(lsc_tensor_dense(model, cand->tensor, label, &dense, error));
    const uint8_t *p = dense.data;
    uint64_t n = dense.size / 4, k = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, p + 4 * i, 4);
        k += (bits & 0x7fffffffu) != 0;
    }
    lsc_dense_free(&dense);
    *nnz = k;
    *elements = n;
    return LSC_OK;
}

/* The candidate becomes a decode candidate: its readers stay plain and read the dense
 * tensor LscDecode gives back under its name and type. */
static void make_dense(lsc_candidate *cand)
{
    free(cand->consumers);
    free(cand->decls);
    cand->consumers = NULL;
    cand->decls = NULL;
    cand->n_consumers = cand->n_decls = 0;
    cand->transposed = 0;
    cand->lsc_op = "LscDecode";
    cand->decode = 1;
    cand->run_dense = 1;
}

static void note(const lsc_compress_options *opt, const char *label, const char *text)
{
    char line[640]; /* a label (400) and a reason (200) */
    if (!opt->note)
        return;
    snprintf(line, sizeof line, "%s: %s", label, text);
    opt->note(opt->note_context, line);
}

lsc_status lsc_choose_dense(lsc_onnx_model *model, lsc_selection *sel, const lsc_compress_options *opt,
                            const char *in_path, lsc_error *error)
{
    if (opt->run_dense == LSC_RUN_DENSE_NEVER)
        return LSC_OK;
    for (size_t k = 0; k < sel->count; k++) {
        lsc_candidate *cand = &sel->items[k];
        if (!eligible(cand))
            continue;
        char label[400], why[200];
        lsc_label(label, sizeof label, in_path, "weight", cand->name);
        if (opt->run_dense == LSC_RUN_DENSE_ALWAYS) {
            snprintf(why, sizeof why, "runs as a dense %s (--run-dense always)", cand->op);
        } else {
            /* The cost model is the convolutions'; at batch 1 a Gemm / MatMul is bound
             * by the bytes it reads, fewer under LSC than the dense weight, which
             * LscDecode would copy once more each run. */
            const Onnx__TensorProto *t = cand->tensor;
            if (strcmp(cand->op, "Conv") != 0 || t->n_dims < 3)
                continue;
            uint64_t nnz, elements;
            LSC_TRY(count_nonzeros(model, cand, label, &nnz, &elements, error));
            uint64_t rows = (uint64_t)t->dims[0], cols = rows ? elements / rows : 0;
            conv_cost c = predict_conv(nnz, rows, cols);
            if (c.lsc < c.dense * RUN_DENSE_MARGIN)
                continue;
            snprintf(why, sizeof why,
                     "runs as a dense Conv: %.1f%% non-zeros over %llu columns, its LSC kernel predicted "
                     "at %.2fx the dense op's time (--run-dense never keeps it LSC)",
                     100.0 * (double)nnz / (double)(elements ? elements : 1), (unsigned long long)cols,
                     c.lsc / c.dense);
        }
        make_dense(cand);
        note(opt, label, why);
    }
    return LSC_OK;
}
