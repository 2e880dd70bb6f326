/* Opening a blob as an lsc_weight, and decoding it back to the dense tensor. The
 * blob was validated by lsc_blob_parse, so the walk below needs no checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/blob.h"
#include "codec/blob_walk.h"
#include "codec/entropy.h"
#include "common/checked.h"
#include "common/error.h"

lsc_status lsc_weight_open(const void *blob, size_t blob_size, const char *name, lsc_weight **weight_out,
                           lsc_error *error)
{
    if (!weight_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_open: weight_out is NULL");
    *weight_out = NULL;
    lsc_weight *w = calloc(1, sizeof *w);
    if (!w)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory opening blob '%s'", name ? name : "");
    w->stored_size = blob_size;
    lsc_status st = LSC_OK;
    if (lsc_entropy_is_blob(blob, blob_size)) {
        size_t size = 0;
        st = lsc_entropy_decode_blob(blob, blob_size, name, &w->owned, &size, error);
        blob = w->owned;
        blob_size = size;
    }
    if (st == LSC_OK)
        st = lsc_blob_parse(blob, blob_size, name, &w->view, error);
    if (st != LSC_OK) {
        free(w->owned);
        free(w);
        return st;
    }
    snprintf(w->name, sizeof w->name, "%s", name ? name : "");
    *weight_out = w;
    return LSC_OK;
}

void lsc_weight_close(lsc_weight **weight)
{
    if (!weight)
        return;
    if (*weight)
        free((*weight)->owned);
    free(*weight);
    *weight = NULL;
}

void lsc_weight_get_info(const lsc_weight *weight, lsc_weight_info *info)
{
    const lsc_blob_view *v = &weight->view;
    memset(info, 0, sizeof *info);
    info->dtype = v->dtype;
    info->rank = v->rank;
    memcpy(info->dims, v->dims, sizeof info->dims);
    info->rows = v->rows;
    info->cols = v->cols;
    info->block_h = v->block_h;
    info->block_w = v->block_w;
    info->index_bits = v->index_bits;
    info->transposed = (v->flags & LSC_BLOB_FLAG_TRANSPOSED) != 0;
    info->signed_zeros = (v->flags & LSC_BLOB_FLAG_SIGNED_ZEROS) != 0;
    info->typed_field = (v->flags & LSC_BLOB_FLAG_TYPED_FIELD) != 0;
    info->nnz = v->nnz;
    info->n_entries = v->n_entries;
    info->blob_size = weight->stored_size;
}

typedef struct dense_out {
    uint8_t *dst;
    const uint8_t *values;
    unsigned elem_size;
    uint64_t rows, cols;
    int transposed;
} dense_out;

static void put_value(void *ctx, uint64_t r, uint64_t c, uint64_t value)
{
    dense_out *o = ctx;
    uint64_t idx = o->transposed ? c * o->rows + r : r * o->cols + c;
    memcpy(o->dst + idx * o->elem_size, o->values + value * o->elem_size, o->elem_size);
}

lsc_status lsc_weight_decode(const lsc_weight *weight, void *dst, size_t dst_size, lsc_error *error)
{
    if (!weight || !dst)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_decode: NULL weight or destination");
    const lsc_blob_view *v = &weight->view;
    uint64_t elements = (uint64_t)v->rows * v->cols, bytes;
    if (lsc_mul_overflow_u64(elements, v->elem_size, &bytes) || bytes > SIZE_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "weight '%s': %llu elements do not fit in memory",
                        weight->name, (unsigned long long)elements);
    if (dst_size < bytes)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "weight '%s': destination holds %zu bytes, needs %llu",
                        weight->name, dst_size, (unsigned long long)bytes);
    memset(dst, 0, (size_t)bytes);
    dense_out out = {dst, v->values, v->elem_size, v->rows, v->cols,
                     (v->flags & LSC_BLOB_FLAG_TRANSPOSED) != 0};
    lsc_blob_walk(v, put_value, &out);
    return LSC_OK;
}
