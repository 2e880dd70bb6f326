/* Every stored value of a parsed blob, in scan order (docs/format.md 1.5-1.6), as
 * (matrix row, matrix column, value index). Shared by the dense decoder and the entropy
 * tier's encoder; the blob was validated by lsc_blob_parse, so the walk needs no checks.
 * `visit` is inlined at each call site (a static function known at compile time). */
#ifndef LSC_CODEC_BLOB_WALK_H
#define LSC_CODEC_BLOB_WALK_H

#include "codec/bitmap.h"
#include "codec/blob.h"

typedef void (*lsc_blob_visit_fn)(void *ctx, uint64_t row, uint64_t col, uint64_t value);

static inline void lsc_blob_walk(const lsc_blob_view *v, lsc_blob_visit_fn visit, void *ctx)
{
    unsigned b = v->index_bits, log_h = b - 1;
    uint64_t H = UINT64_C(1) << log_h, S = (uint64_t)v->block_h * v->block_w;
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
            visit(ctx, (uint64_t)brow * v->block_h + off / v->block_w, bcol * v->block_w + off % v->block_w,
                  value++);
        }
    }
}

#endif /* LSC_CODEC_BLOB_WALK_H */
