/* Opening a blob as an lsc_weight, and decoding it back to the dense tensor. The
 * blob was validated by lsc_blob_parse, so the walk below needs no checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/blob.h"
#include "codec/bitmap.h"
#include "codec/entropy.h"
#include "codec/sri_positions.h"
#include "codec/zero_points.h"
#include "codec/transpose_avx2.h"
#include "common/checked.h"
#include "common/cpu.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/pool.h"
#include "kernels/form.h"
#include "kernels/conv_int8.h"
#include "kernels/form_int8.h"
#include "kernels/win_form.h"

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
    void *expanded = NULL; /* a compact blob's "LSCE" form (docs/format.md 4.8) */
    if (lsc_entropy_is_compact(blob, blob_size)) {
        size_t size = 0;
        st = lsc_entropy_expand(blob, blob_size, name, &expanded, &size, error);
        blob = expanded;
        blob_size = size;
    }
    if (st == LSC_OK && lsc_entropy_is_blob(blob, blob_size)) {
        size_t size = 0;
        st = lsc_entropy_decode_blob(blob, blob_size, name, &w->owned, &size, error);
        blob = w->owned;
        blob_size = size;
    }
    free(expanded);
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
    if (*weight) {
        free((*weight)->owned);
        free((*weight)->dequantized);
        lsc_n1_form_free((*weight)->n1_form);
        lsc_int8_form_free((*weight)->int8_form);
        lsc_conv_int8_form_free((*weight)->conv_int8_form);
        lsc_win_form_free((*weight)->win_form);
    }
    free(*weight);
    *weight = NULL;
}

const void *lsc_weight_blob(const lsc_weight *weight, size_t *size)
{
    *size = weight->view.size;
    return weight->view.base;
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

/* The dense decoder. Per block row: SRI entries read with one unaligned 8-byte load
 * while they lie 8 bytes inside the stream, the in-block (row, column) of each value
 * carried from the previous one (no division per value), values copied at a fixed
 * width. Block rows write disjoint elements, so parts of them can run on threads. */
typedef struct dense_target {
    const lsc_blob_view *v;
    uint8_t *dst;
    int transposed;
    uint64_t row_base; /* matrix row that dst's first row holds (row-major targets) */
    uint64_t stride;   /* elements from one dst row to the next (row-major targets) */
    uint64_t fast_end; /* entry bit offsets below this are read with one 8-byte load */
} dense_target;

static inline __attribute__((always_inline)) void fill_block_row(const dense_target *t, uint32_t brow,
                                                                 unsigned E, int transposed)
{
    const lsc_blob_view *v = t->v;
    uint64_t e0, v0, e1, v1;
    lsc_blob_row_start(v, brow, &e0, &v0);
    lsc_blob_row_start(v, brow + 1, &e1, &v1);
    if (e0 == e1)
        return;
    unsigned b = v->index_bits;
    uint64_t bw = v->block_w, S = (uint64_t)v->block_h * bw, rows = v->rows;
    uint64_t row_bit = (uint64_t)brow * v->n_bcols, row_end = row_bit + v->n_bcols;
    uint64_t bcol = lsc_bitmap_next(v->bitmap, row_bit, row_end) - row_bit;
    uint64_t r0 = (uint64_t)brow * v->block_h;
    const uint8_t *src = v->values + v0 * E;
    uint8_t *dst = t->dst;
    uint64_t stride = t->stride, fast_end = t->fast_end;
    /* Row-major: the dst element of (block row start, column 0) and of the block. */
    uint64_t row_at = transposed ? 0 : (r0 - t->row_base) * stride, block_at = row_at + bcol * bw;
    /* next: scan position after the last value; lr, lc: in-block row and column of
     * the position `at`, kept in step so that no value needs a division. */
    uint64_t next = 0, block_start = 0, at = 0, lr = 0, lc = 0;
    uint64_t pos_of[LSC_SRI_CHUNK];
    for (uint64_t i = e0, bit = e0 * b; i < e1;) {
        uint64_t n = e1 - i < LSC_SRI_CHUNK ? e1 - i : LSC_SRI_CHUNK;
        size_t k = lsc_sri_positions(v->entries, bit, n, b, fast_end, &next, pos_of);
        i += n;
        bit += n * b;
        for (size_t j = 0; j < k; j++) {
            uint64_t pos = pos_of[j];
            if (pos >= block_start + S) { /* a kept block holds a value: one step at most */
                block_start += S;
                bcol = lsc_bitmap_next(v->bitmap, row_bit + bcol + 1, row_end) - row_bit;
                block_at = row_at + bcol * bw;
                at = block_start;
                lr = lc = 0;
            }
            lc += pos - at;
            at = pos;
            if (lc >= bw) {
                if (lc < 2 * bw) {
                    lc -= bw;
                    lr++;
                } else {
                    lr += lc / bw;
                    lc %= bw;
                }
            }
            uint64_t idx = transposed ? (bcol * bw + lc) * rows + r0 + lr : block_at + lr * stride + lc;
            memcpy(dst + idx * E, src, E);
            src += E;
        }
    }
}

typedef struct fill_task {
    dense_target t;
    size_t parts;
    int avx2;   /* 4-byte tiles transposed with lsc_transpose4_avx2 */
    int stream; /* dst is large: whole lines of it may be streamed past the cache */
    lsc_status status; /* LSC_ERR_NO_MEMORY if a part's tile could not be allocated */
} fill_task;

static void fill_rows(const dense_target *t, uint32_t lo, uint32_t hi)
{
    for (uint32_t brow = lo; brow < hi; brow++)
        switch (t->v->elem_size) {
        case 1: fill_block_row(t, brow, 1, 0); break;
        case 2: fill_block_row(t, brow, 2, 0); break;
        case 4: fill_block_row(t, brow, 4, 0); break;
        default: fill_block_row(t, brow, 8, 0); break;
        }
}

/* A transposed weight's elements straight into dst (tiles too large to allocate). */
static void fill_rows_transposed(const dense_target *t, uint32_t lo, uint32_t hi)
{
    for (uint32_t brow = lo; brow < hi; brow++)
        switch (t->v->elem_size) {
        case 1: fill_block_row(t, brow, 1, 1); break;
        case 2: fill_block_row(t, brow, 2, 1); break;
        case 4: fill_block_row(t, brow, 4, 1); break;
        default: fill_block_row(t, brow, 8, 1); break;
        }
}

static inline __attribute__((always_inline)) void transpose_tile(uint8_t *dst, const uint8_t *tile,
                                                                 uint64_t r0, uint64_t n_r, uint64_t rows,
                                                                 uint64_t cols, uint64_t stride, unsigned E)
{
    for (uint64_t c = 0; c < cols; c++) {
        uint8_t *out = dst + (c * rows + r0) * E;
        for (uint64_t r = 0; r < n_r; r++)
            memcpy(out + r * E, tile + (r * stride + c) * E, E);
    }
}

#define TILE_LINE 64             /* bytes of a dense row a transposed tile fills at once */
#define TILE_MAX (64u << 20)    /* larger tiles (very tall blocks): scatter directly */

/* Block rows per tile of a transposed weight. */
static uint64_t tile_group(const lsc_blob_view *v)
{
    return (TILE_LINE / v->elem_size + v->block_h - 1) / v->block_h;
}

/* Elements from one tile row to the next: a cache line more than the row's whole
 * lines, so that a column's values fall in different cache sets (at a multiple of
 * 4 KiB apart they would all compete for one). */
static uint64_t tile_stride(const lsc_blob_view *v)
{
    return ((uint64_t)v->cols * v->elem_size + 63) / 64 * 64 / v->elem_size + 64 / v->elem_size;
}

/* Whether fill_transposed covers v: then every element of dst is written. */
static int tile_fits(const lsc_blob_view *v)
{
    uint64_t rows = tile_group(v) * v->block_h, bytes = 0; /* at most block_h + 63 */
    if (!(v->flags & LSC_BLOB_FLAG_TRANSPOSED))
        return 0;
    return !lsc_mul_overflow_u64(rows, tile_stride(v) * v->elem_size, &bytes) && bytes <= TILE_MAX;
}

/* A transposed weight's encoded rows are the dense tensor's columns: writing them
 * one by one touches a cache line per value. Instead a few whole block rows (at
 * least a cache line of dense columns) are decoded row-major into a tile, then
 * transposed into dst one dense row segment at a time. */
static int fill_transposed(const fill_task *f, uint32_t lo, uint32_t hi)
{
    const lsc_blob_view *v = f->t.v;
    unsigned E = v->elem_size;
    if (!tile_fits(v))
        return 0;
    uint64_t group = tile_group(v), stride = tile_stride(v);
    uint64_t tile_bytes = group * v->block_h * stride * E;
    uint8_t *tile = malloc((size_t)tile_bytes);
    if (!tile)
        return -1;
    for (uint64_t b0 = lo; b0 < hi; b0 += group) {
        uint64_t b1 = b0 + group < hi ? b0 + group : hi;
        uint64_t r0 = b0 * v->block_h, r1 = b1 * v->block_h < v->rows ? b1 * v->block_h : v->rows;
        memset(tile, 0, (size_t)((r1 - r0) * stride * E));
        dense_target t = {v, tile, 0, r0, stride, f->t.fast_end};
        fill_rows(&t, (uint32_t)b0, (uint32_t)b1);
        /* Streamed stores only of whole 64-byte lines: 16 rows from a line start. */
        int stream = f->stream && (uintptr_t)f->t.dst % 64 == 0 && v->rows % 16 == 0 && r0 % 16 == 0;
        switch (E) {
        case 1: transpose_tile(f->t.dst, tile, r0, r1 - r0, v->rows, v->cols, stride, 1); break;
        case 2: transpose_tile(f->t.dst, tile, r0, r1 - r0, v->rows, v->cols, stride, 2); break;
        case 4:
            if (f->avx2)
                lsc_transpose4_avx2(f->t.dst, tile, r0, r1 - r0, v->rows, v->cols, stride, stream);
            else
                transpose_tile(f->t.dst, tile, r0, r1 - r0, v->rows, v->cols, stride, 4);
            break;
        default: transpose_tile(f->t.dst, tile, r0, r1 - r0, v->rows, v->cols, stride, 8); break;
        }
    }
    free(tile);
    return 1;
}

/* Part i of the block rows; a transposed weight's parts are whole tiles (so that
 * each starts on a 64-byte line of the dense rows when the first does). */
static void fill_part(void *arg, size_t i)
{
    fill_task *f = arg;
    const lsc_blob_view *v = f->t.v;
    uint64_t unit = f->t.transposed ? tile_group(v) : 1, units = (v->n_brows + unit - 1) / unit;
    uint64_t lo64 = units * i / f->parts * unit, hi64 = units * (i + 1) / f->parts * unit;
    uint32_t lo = (uint32_t)lo64, hi = (uint32_t)(hi64 < v->n_brows ? hi64 : v->n_brows);
    if (f->t.transposed) {
        int done = fill_transposed(f, lo, hi);
        if (done < 0)
            f->status = LSC_ERR_NO_MEMORY; /* parts write disjoint bytes: a plain store is enough */
        if (done)
            return;
        fill_rows_transposed(&f->t, lo, hi);
        return;
    }
    fill_rows(&f->t, lo, hi);
}

static lsc_status check_dst(const lsc_weight *weight, const void *dst, size_t dst_size, uint64_t *bytes,
                            lsc_error *error)
{
    if (!weight || !dst)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_decode: NULL weight or destination");
    const lsc_blob_view *v = &weight->view;
    uint64_t elements = (uint64_t)v->rows * v->cols;
    if (lsc_mul_overflow_u64(elements, v->elem_size, bytes) || *bytes > SIZE_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "weight '%s': %llu elements do not fit in memory",
                        weight->name, (unsigned long long)elements);
    if (dst_size < *bytes)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "weight '%s': destination holds %zu bytes, needs %llu",
                        weight->name, dst_size, (unsigned long long)*bytes);
    return LSC_OK;
}

int lsc_weight_fill_writes_all(const lsc_weight *weight)
{
    return tile_fits(&weight->view);
}

#define FILL_TASKS_PER_THREAD 4
#define FILL_STREAM_BYTES (16u << 20) /* larger outputs than this leave the cache anyway */
#define FILL_SERIAL_ENTRIES (1u << 16) /* below this, threads cost more than they save */

lsc_status lsc_weight_fill(const lsc_weight *weight, void *dst, size_t dst_size, const lsc_exec *exec,
                           lsc_error *error)
{
    uint64_t bytes = 0;
    LSC_TRY(check_dst(weight, dst, dst_size, &bytes, error));
    const lsc_blob_view *v = &weight->view;
    uint64_t entry_bytes = (v->n_entries * v->index_bits + 7) / 8;
    fill_task f = {{v, dst, (v->flags & LSC_BLOB_FLAG_TRANSPOSED) != 0, 0, v->cols,
                    entry_bytes >= 8 ? (entry_bytes - 7) * 8 : 0},
                   1, 0, bytes >= FILL_STREAM_BYTES, LSC_OK};
    f.avx2 = lsc_transpose4_avx2_built() && (lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0) & LSC_CPU_AVX2);
    size_t threads = 1;
    if (exec && exec->pool)
        threads = lsc_pool_threads(exec->pool);
    else if (exec && exec->parallel_for)
        threads = 8;
    if (threads > 1 && v->n_entries >= FILL_SERIAL_ENTRIES)
        f.parts = threads * FILL_TASKS_PER_THREAD;
    if (f.parts > v->n_brows)
        f.parts = v->n_brows;
    if (f.parts <= 1)
        fill_part(&f, 0);
    else if (exec->pool)
        lsc_pool_run(exec->pool, fill_part, &f, f.parts);
    else
        exec->parallel_for(exec->parallel_for_context, fill_part, &f, f.parts);
    if (f.status != LSC_OK)
        return lsc_fail(error, f.status, "weight '%s': out of memory for a decoding tile", weight->name);
    if (v->zero_points) /* 8-bit: the deltas written (zeros: 0) become codes */
        lsc_zero_points_apply(dst, v->rows, v->cols, (v->flags & LSC_BLOB_FLAG_TRANSPOSED) != 0, v->zero_points, 1);
    return LSC_OK;
}

lsc_status lsc_weight_decode(const lsc_weight *weight, void *dst, size_t dst_size, lsc_error *error)
{
    uint64_t bytes = 0;
    LSC_TRY(check_dst(weight, dst, dst_size, &bytes, error));
    memset(dst, 0, (size_t)bytes);
    return lsc_weight_fill(weight, dst, dst_size, NULL, error);
}
