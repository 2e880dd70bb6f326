/* Opening a blob as an lsc_weight, and decoding it back to the dense tensor. The
 * blob was validated by lsc_blob_parse, so the walk below needs no checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/bitmap.h"
#include "codec/blob.h"
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
    lsc_status st = lsc_blob_parse(blob, blob_size, name, &w->view, error);
    if (st != LSC_OK) {
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
    info->blob_size = v->size;
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
    uint8_t *out = dst;
    unsigned E = v->elem_size, b = v->index_bits, log_h = b - 1;
    uint64_t H = UINT64_C(1) << log_h, S = (uint64_t)v->block_h * v->block_w;
    int transposed = (v->flags & LSC_BLOB_FLAG_TRANSPOSED) != 0;
    for (uint32_t brow = 0; brow < v->n_brows; brow++) {
        uint64_t e0, v0, e1, v1;
        lsc_blob_row_start(v, brow, &e0, &v0);
        lsc_blob_row_start(v, brow + 1, &e1, &v1);
        uint64_t row_bit = (uint64_t)brow * v->n_bcols, row_end = row_bit + v->n_bcols;
        uint64_t bcol = lsc_bitmap_next(v->bitmap, row_bit, row_end) - row_bit;
        uint64_t next = 0, block_start = 0, value = v0;
        for (uint64_t i = e0; i < e1; i++) {
            uint64_t e = lsc_read_bits(v->entries, i * b, b);
            if (e >= H) {
                next += (e - H + 1) << log_h;
                continue;
            }
            uint64_t pos = next + e;
            next = pos + 1;
            if (pos >= block_start + S) {
                block_start += S;
                bcol = lsc_bitmap_next(v->bitmap, row_bit + bcol + 1, row_end) - row_bit;
            }
            uint64_t off = pos - block_start;
            uint64_t r = (uint64_t)brow * v->block_h + off / v->block_w;
            uint64_t c = bcol * v->block_w + off % v->block_w;
            uint64_t idx = transposed ? c * v->rows + r : r * v->cols + c;
            memcpy(out + idx * E, v->values + value * E, E);
            value++;
        }
    }
    return LSC_OK;
}
