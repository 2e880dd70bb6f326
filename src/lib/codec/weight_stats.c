/* lsc_weight_get_stats: an opened blob's byte accounting, from the same layout
 * function the encoder and the parser use (layout.h), so a report can never
 * disagree with the bytes. */
#include <string.h>

#include "codec/bitmap.h"
#include "codec/blob.h"
#include "codec/layout.h"

void lsc_weight_get_stats(const lsc_weight *weight, lsc_encode_stats *s)
{
    const lsc_blob_view *v = &weight->view;
    memset(s, 0, sizeof *s);
    lsc_blob_layout L;
    /* cannot fail: the blob was validated with the same computation when opened */
    lsc_blob_layout_compute(v->rank, v->elem_size, v->rows, v->cols, v->block_h, v->block_w,
                            v->index_bits, v->nnz, v->n_entries, &L);
    if (v->zero_points)
        lsc_blob_layout_add_zero_points(&L, v->rows);
    s->rows = v->rows;
    s->cols = v->cols;
    s->block_h = v->block_h;
    s->block_w = v->block_w;
    s->index_bits = v->index_bits;
    s->elements = (uint64_t)v->rows * v->cols;
    s->nnz = v->nnz;
    s->blocks = L.blocks;
    s->kept_blocks = lsc_bitmap_count(v->bitmap, 0, L.blocks);
    s->value_entries = v->nnz;
    s->jump_entries = v->n_entries - v->nnz;
    s->dense_bytes = s->elements * v->elem_size;
    s->value_bytes = L.values;
    s->header_bytes = L.header + L.zero_points; /* an 8-bit weight's zero points count as its header */
    s->bitmap_bytes = L.bitmap;
    s->pointer_bytes = L.pointers;
    s->index_bytes = L.entries;
    s->meta_bytes = s->header_bytes + L.bitmap + L.pointers + L.entries;
    s->blob_bytes = L.total;
}
