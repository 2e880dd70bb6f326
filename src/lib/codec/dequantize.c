/* lsc_weight_dequantize: an 8-bit weight's values as the float32 the kernels multiply
 * with, scale[row] * (code - zero_point[row]) as ONNX DequantizeLinear computes it. The
 * positions stay in the blob; only the value stream is converted, once. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/blob.h"
#include "codec/blob_walk.h"
#include "common/error.h"

typedef struct dequantize_ctx {
    const lsc_blob_view *v;
    const float *scales;
    size_t n_scales;
    float *out;
    double *row_l1; /* sum of |value| per encoded row */
} dequantize_ctx;

static void dequantize_value(void *arg, uint64_t row, uint64_t col, uint64_t value)
{
    (void)col;
    const dequantize_ctx *c = arg;
    uint8_t zp = c->v->zero_points ? c->v->zero_points[row] : 0;
    uint8_t code = (uint8_t)(c->v->values[value] + zp);
    int q = c->v->dtype == LSC_DTYPE_INT8 ? (int)(int8_t)code - (int)(int8_t)zp : (int)code - (int)zp;
    c->out[value] = (float)q * c->scales[c->n_scales == 1 ? 0 : row];
    c->row_l1[row] += fabs((double)c->out[value]);
}

lsc_status lsc_weight_dequantize(lsc_weight *weight, const float *scales, size_t n_scales, lsc_error *error)
{
    if (!weight || !scales)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_dequantize: NULL weight or scales");
    const lsc_blob_view *v = &weight->view;
    if (v->elem_size != 1)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "weight '%s': not an 8-bit weight", weight->name);
    if (n_scales != 1 && n_scales != v->rows)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "weight '%s': %zu scales for %u rows (1 or %u)",
                        weight->name, n_scales, v->rows, v->rows);
    float *out = malloc(v->nnz ? (size_t)v->nnz * sizeof *out : 1);
    double *row_l1 = calloc(v->rows ? v->rows : 1, sizeof *row_l1);
    if (!out || !row_l1) {
        free(out);
        free(row_l1);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "weight '%s': out of memory for %llu float values",
                        weight->name, (unsigned long long)v->nnz);
    }
    dequantize_ctx c = {v, scales, n_scales, out, row_l1};
    lsc_blob_walk(v, dequantize_value, &c);
    weight->row_l1_max = 0;
    for (uint32_t r = 0; r < v->rows; r++)
        weight->row_l1_max = fmax(weight->row_l1_max, row_l1[r]);
    free(row_l1);
    free(weight->dequantized);
    weight->dequantized = out;
    weight->float_view = *v;
    weight->float_view.dtype = LSC_DTYPE_FLOAT32;
    weight->float_view.elem_size = 4;
    weight->float_view.values = (const uint8_t *)out;
    return LSC_OK;
}

double lsc_weight_row_l1_max(const lsc_weight *weight)
{
    return weight && weight->dequantized ? weight->row_l1_max : 0;
}
