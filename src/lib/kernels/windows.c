/* lsc_spmm_windows: a multiply whose X rows are windows of one buffer (a stride-1
 * convolution over its padded input, with no im2col matrix). The rows are decoded
 * once per call into (window offset, fp32 value) pairs, sorted by column and cut
 * into k-blocks whose windows fit L1 across a tile of columns; then tasks of rows x
 * column tiles run the variant's tile loop (windows.h). */
#include <stdlib.h>

#include "common/cpu.h"
#include "common/error.h"
#include "kernels/convert.h"
#include "kernels/spmm.h"

/* Tile and k-block sizes measured on Zen 3 (32 KiB L1, docs/benchmarks.md): 256 / 8192
 * beat 128 / 4096 by 1.1-1.4x on VGG's 3x3 layers. The footprint counts every
 * window's non-overlapping part across the whole tile, an overestimate for windows
 * of neighbouring taps. */
#define WIN_TILE 256          /* columns of Y per tile: four register strips of AVX2 */
#define WIN_L1_FLOATS 8192    /* windows of one k-block across a tile: ~32 KiB */
#define WIN_BLOCK_VALUES 8    /* values per row and k-block, on average, at least */
#define WIN_SERIAL_WORK 65536 /* values x columns below which threads cost more */
#define WIN_CHUNK (1u << 20)  /* values converted per call */

/* The first column of each k-block: a block grows while the windows it adds (their
 * parts not overlapping the previous window, across a tile) fit WIN_L1_FLOATS, but
 * holds at least min_cols columns. Returns the count. */
static uint32_t cut_kblocks(const size_t *off, uint32_t cols, uint32_t min_cols, uint32_t *first)
{
    uint32_t n_kb = 0, start = 0;
    size_t fp = 0;
    for (uint32_t c = 0; c < cols; c++) {
        size_t add = WIN_TILE;
        if (c > start) {
            size_t d = off[c] > off[c - 1] ? off[c] - off[c - 1] : off[c - 1] - off[c];
            add = d < WIN_TILE ? d : WIN_TILE;
        }
        if (c == 0 || (fp + add > WIN_L1_FLOATS && c - start >= min_cols)) {
            first[n_kb++] = c;
            start = c;
            fp = WIN_TILE;
        } else {
            fp += add;
        }
    }
    return n_kb;
}

/* The decoded rows, and the scratch of one block row. */
typedef struct win_rows {
    uint64_t *starts;
    uint32_t *offs;
    float *vals;
    uint32_t *cols, *lrs, *count, *kept;
    float *tvals;
} win_rows;

static void win_rows_free(win_rows *w)
{
    free(w->starts);
    free(w->offs);
    free(w->vals);
    free(w->cols);
    free(w->lrs);
    free(w->count);
    free(w->kept);
    free(w->tvals);
}

/* Row r's values [a, e), columns in offs: its k-block starts, then columns to
 * window offsets. */
static void finish_row(win_rows *w, uint64_t *s, uint64_t a, uint64_t e, const uint32_t *first,
                       uint32_t n_kb, const size_t *x_offsets)
{
    uint32_t kb = 0;
    s[0] = a;
    for (uint64_t i = a; i < e; i++) {
        while (kb + 1 < n_kb && w->offs[i] >= first[kb + 1])
            s[++kb] = i;
        w->offs[i] = (uint32_t)x_offsets[w->offs[i]];
    }
    while (kb < n_kb)
        s[++kb] = e;
}

/* Decodes rows [rb, re) into w (allocated here; win_rows_free frees): per row its
 * values sorted by column (a block row's values come block by block, each block row
 * by row, so a stable sort by row leaves each row's columns increasing). Columns
 * outside the matrix (a corrupt blob) are dropped. */
static lsc_status unpack_rows(const lsc_weight *wt, lsc_unpack_fn unpack, const size_t *x_offsets,
                              uint32_t rb, uint32_t re, const uint32_t *first, uint32_t n_kb,
                              win_rows *w, lsc_error *error)
{
    const lsc_blob_view *v = &wt->view;
    const uint32_t bh = v->block_h, br_lo = rb / bh;
    const uint32_t br_hi = (uint32_t)(((uint64_t)re + bh - 1) / bh);
    uint64_t e0, v_lo, v_hi, most = 0;
    lsc_blob_row_start(v, br_lo, &e0, &v_lo);
    for (uint32_t br = br_lo; br < br_hi; br++) {
        uint64_t a, b;
        lsc_blob_row_start(v, br + 1, &e0, &b);
        lsc_blob_row_start(v, br, &e0, &a);
        most = b - a > most ? b - a : most;
    }
    lsc_blob_row_start(v, br_hi, &e0, &v_hi);
    uint64_t total = v_hi - v_lo;
    if (total > SIZE_MAX / 8 || most > SIZE_MAX / 8)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "lsc_spmm_windows: weight '%s' is too large",
                        wt->name);
    w->starts = malloc(((size_t)(re - rb) * (n_kb + 1)) * sizeof *w->starts);
    w->offs = malloc((size_t)(total + 1) * sizeof *w->offs);
    w->vals = malloc((size_t)(total + 1) * sizeof *w->vals);
    w->cols = malloc((size_t)(most + 1) * sizeof *w->cols);
    w->tvals = malloc((size_t)(most + 1) * sizeof *w->tvals);
    w->kept = malloc(((size_t)v->n_bcols + 1) * sizeof *w->kept);
    if (bh > 1) {
        w->lrs = malloc((size_t)(most + 1) * sizeof *w->lrs);
        w->count = malloc(((size_t)bh + 1) * sizeof *w->count);
    }
    if (!w->starts || !w->offs || !w->vals || !w->cols || !w->tvals || !w->kept ||
        (bh > 1 && (!w->lrs || !w->count)))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_spmm_windows: weight '%s': out of memory",
                        wt->name);
    uint64_t at = 0;
    for (uint32_t br = br_lo; br < br_hi; br++) {
        uint64_t vstart, vend;
        lsc_blob_row_start(v, br, &e0, &vstart);
        lsc_blob_row_start(v, br + 1, &e0, &vend);
        uint64_t got = unpack(v, br, w->kept, w->cols, bh > 1 ? w->lrs : NULL, vend - vstart);
        for (uint64_t i = 0; i < got; i += WIN_CHUNK)
            lsc_convert_values(v->dtype, v->values + (vstart + i) * v->elem_size, w->tvals + i,
                               got - i < WIN_CHUNK ? (uint32_t)(got - i) : WIN_CHUNK);
        uint64_t r0 = (uint64_t)br * bh;
        if (bh == 1) {
            if (br < rb || br >= re)
                continue;
            uint64_t a = at;
            for (uint64_t i = 0; i < got; i++)
                if (w->cols[i] < v->cols) {
                    w->offs[at] = w->cols[i];
                    w->vals[at++] = w->tvals[i];
                }
            finish_row(w, w->starts + (size_t)(br - rb) * (n_kb + 1), a, at, first, n_kb,
                       x_offsets);
            continue;
        }
        /* a stable counting sort by row, rows outside [rb, re) left out */
        memset(w->count, 0, ((size_t)bh + 1) * sizeof *w->count);
        for (uint64_t i = 0; i < got; i++)
            if (w->cols[i] < v->cols)
                w->count[w->lrs[i] + 1]++;
        uint64_t lo = rb > r0 ? rb - r0 : 0, hi = re - r0 < bh ? re - r0 : bh;
        uint64_t begin = at;
        for (uint32_t lr = 0; lr < bh; lr++) {
            uint32_t c = w->count[lr + 1];
            w->count[lr + 1] = lr >= lo && lr < hi ? (uint32_t)(at - begin) : UINT32_MAX;
            if (lr >= lo && lr < hi)
                at += c;
        }
        for (uint64_t i = 0; i < got; i++) {
            uint32_t lr = w->lrs[i];
            if (w->cols[i] >= v->cols || w->count[lr + 1] == UINT32_MAX)
                continue;
            uint64_t j = begin + w->count[lr + 1]++;
            w->offs[j] = w->cols[i];
            w->vals[j] = w->tvals[i];
        }
        uint64_t a = begin;
        for (uint64_t lr = lo; lr < hi; lr++) { /* count[lr + 1] is now the row's end */
            uint64_t e = begin + w->count[lr + 1];
            finish_row(w, w->starts + (size_t)(r0 + lr - rb) * (n_kb + 1), a, e, first, n_kb,
                       x_offsets);
            a = e;
        }
    }
    return LSC_OK;
}

typedef struct win_tasks {
    lsc_windows_job job;
    lsc_windows_fn fn;
    uint32_t rb, re, row_parts;
    size_t n, col_parts, tiles;
} win_tasks;

static void run_win(void *arg, size_t i)
{
    const win_tasks *t = arg;
    size_t ci = i % t->col_parts, ri = i / t->col_parts;
    size_t j0 = t->tiles * ci / t->col_parts * t->job.tile;
    size_t j1 = t->tiles * (ci + 1) / t->col_parts * t->job.tile;
    uint32_t r0 = t->rb + (uint32_t)((uint64_t)(t->re - t->rb) * ri / t->row_parts);
    uint32_t r1 = t->rb + (uint32_t)((uint64_t)(t->re - t->rb) * (ri + 1) / t->row_parts);
    j1 = j1 < t->n ? j1 : t->n;
    if (j0 < j1 && r0 < r1)
        t->fn(&t->job, r0, r1, j0, j1);
}

lsc_status lsc_spmm_windows(const lsc_weight *w, const float *x, const size_t *x_offsets,
                            size_t n, float *y, size_t ldy, uint32_t row_begin, uint32_t row_end,
                            const lsc_exec *exec, lsc_error *error)
{
    if (!w || !x || !x_offsets || !y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_spmm_windows: %s is NULL",
                        !w ? "weight" : !x ? "x" : !x_offsets ? "x_offsets" : "y");
    lsc_status st = lsc_spmm_row_range(w, "lsc_spmm_windows", &row_begin, &row_end, error);
    if (st != LSC_OK)
        return st;
    const lsc_blob_view *v = &w->view;
    if (n == 0)
        return LSC_OK;
    if (ldy < n)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_spmm_windows: weight '%s': ldy %zu below n %zu", w->name, ldy, n);
    for (uint32_t c = 0; c < v->cols; c++)
        if (x_offsets[c] > UINT32_MAX)
            return lsc_fail(error, LSC_ERR_TOO_LARGE,
                            "lsc_spmm_windows: weight '%s': x_offsets[%u] = %zu exceeds 32 bits",
                            w->name, c, x_offsets[c]);
    uint64_t e, v_lo, v_hi;
    lsc_blob_row_start(v, row_begin / v->block_h, &e, &v_lo);
    lsc_blob_row_start(v, (uint32_t)(((uint64_t)row_end + v->block_h - 1) / v->block_h), &e,
                       &v_hi);
    /* k-blocks of at least WIN_BLOCK_VALUES values per row on average */
    uint64_t cells = (uint64_t)(row_end - row_begin) * v->cols;
    uint64_t min_cols = v_hi > v_lo ? cells * WIN_BLOCK_VALUES / (v_hi - v_lo) : v->cols;
    uint32_t *first = malloc((size_t)v->cols * sizeof *first + 1);
    if (!first)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_spmm_windows: weight '%s': out of memory",
                        w->name);
    uint32_t n_kb = v->cols ? cut_kblocks(x_offsets, v->cols,
                                          min_cols < v->cols ? (uint32_t)min_cols : v->cols, first)
                            : 0;
    if (!n_kb)
        first[n_kb++] = 0;
    win_rows rows = { 0 };
    const lsc_kernel_set *ks = lsc_kernels_select(lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0));
    st = unpack_rows(w, ks->unpack, x_offsets, row_begin, row_end, first, n_kb, &rows, error);
    free(first);
    if (st != LSC_OK) {
        win_rows_free(&rows);
        return st;
    }
    win_tasks t = { .job = { .x = x, .tile = WIN_TILE, .y = y, .ldy = ldy, .row_begin = row_begin,
                             .n_kb = n_kb, .starts = rows.starts, .offs = rows.offs,
                             .vals = rows.vals },
                    .fn = ks->windows,
                    .rb = row_begin, .re = row_end, .n = n, .row_parts = 1, .col_parts = 1,
                    .tiles = (n + WIN_TILE - 1) / WIN_TILE };
    size_t want = lsc_exec_width(exec);
    if ((v_hi - v_lo) * n < WIN_SERIAL_WORK)
        want = 1;
    /* column tiles first (each task reads only its part of X); rows when too few */
    t.col_parts = want < t.tiles ? want : t.tiles;
    size_t rp = (want + t.col_parts - 1) / t.col_parts, max_rp = (row_end - row_begin + 7) / 8;
    t.row_parts = (uint32_t)(rp < max_rp ? rp : max_rp);
    lsc_exec_run(exec, run_win, &t, t.col_parts * t.row_parts);
    win_rows_free(&rows);
    return LSC_OK;
}
