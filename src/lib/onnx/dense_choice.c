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
 * the fit is within +-20% of 12 of the 13 layers, and running dense costs memory (the
 * decoded weight is held, and copied into ORT's output each run). */
#define RUN_DENSE_MARGIN 1.15
/* The model is used where it was fitted: ungrouped convolutions whose rows hold at
 * least as many columns as VGG's first layer (3 channels x 3x3); others stay LSC. */
#define FITTED_MIN_COLS 27

static int64_t int_attr(const Onnx__NodeProto *n, const char *name, int64_t fallback)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i]->i;
    return fallback;
}

/* Every reader an ungrouped Conv, the rows long enough. */
static int fitted(const lsc_candidate *cand, uint64_t cols)
{
    for (size_t i = 0; i < cand->n_consumers; i++)
        if (int_attr(cand->consumers[i], "group", 1) != 1)
            return 0;
    return cols >= FITTED_MIN_COLS;
}

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
    cand->lsc_op = lsc_decode_op_for(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT); /* eligible: float32 */
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

const char *lsc_graph_dense_reader(const Onnx__GraphProto *g, const char *name)
{
    const char *reader = NULL;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *op = n->op_type ? n->op_type : "";
        for (size_t j = 0; j < n->n_input; j++) {
            if (!n->input[j] || strcmp(n->input[j], name) != 0)
                continue;
            int weight = j == 1 || (j == 0 && strcmp(op, "MatMul") == 0); /* MatMul: either side */
            if (!lsc_node_is_onnx(n) || !weight ||
                (strcmp(op, "Conv") != 0 && strcmp(op, "Gemm") != 0 && strcmp(op, "MatMul") != 0))
                return NULL;
            reader = reader ? reader : op;
        }
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *attr = n->attribute[a];
            if (attr->g && lsc_graph_uses_name(attr->g, name, 1))
                return NULL;
            for (size_t k = 0; k < attr->n_graphs; k++)
                if (lsc_graph_uses_name(attr->graphs[k], name, 1))
                    return NULL;
        }
    }
    return reader;
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
            uint64_t rows = (uint64_t)t->dims[0], cols = 1;
            for (size_t d = 1; d < t->n_dims; d++)
                cols *= (uint64_t)t->dims[d]; /* select checked the dims */
            if (!fitted(cand, cols))
                continue;
            uint64_t nnz, elements;
            lsc_status st = count_nonzeros(model, cand, label, &nnz, &elements, error);
            if (st == LSC_ERR_UNSUPPORTED)
                continue; /* the encoding pass reports it, as for any weight */
            LSC_TRY(st);
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

/* A plain op reading what LscDecode restores is, to lsc_select, a weight computed at
 * run time (NOT_CONSTANT): the same layer as the decode candidate, not a second one. */
static int restored_by_decode(const lsc_selection *sel, const lsc_candidate *cand)
{
    for (size_t k = 0; k < sel->count; k++) {
        const lsc_candidate *d = &sel->items[k];
        if (d->decode && d->compressed && d->graph == cand->graph && d->n_consumers == 1 &&
            d->consumers[0]->n_output == 1 && d->consumers[0]->output[0] &&
            strcmp(d->consumers[0]->output[0], cand->name) == 0)
            return 1;
    }
    return 0;
}

void lsc_drop_decoded_readers(lsc_selection *sel)
{
    size_t kept = 0;
    for (size_t k = 0; k < sel->count; k++) {
        lsc_candidate *cand = &sel->items[k];
        if (cand->outcome == LSC_LAYER_NOT_CONSTANT && restored_by_decode(sel, cand)) {
            free(cand->consumers);
            free(cand->decls);
            free(cand->blob_name);
            continue;
        }
        sel->items[kept++] = *cand;
    }
    sel->count = kept;
}
