/* The block-row driver shared by every variant: decode a chunk of a block row's
 * positions (decode.h), get its values as fp32, hand both to the variant's inner
 * kernels. Before including, a variant defines LSC_BROWS_NAME, LSC_UNPACK_NAME and
 * these functions:
 *   uint32_t k_positions(d, pos, cap)              SRI entries to scan positions (up to
 *                                                  cap values; 0 only if no value came)
 *   float k_dot(x, xs, cols, vals, cnt)            n = 1, block_h = 1: sum v * x[col*xs]
 *   void  k_n1(x, xs, y0, ldy, cols, lrs, vals, cnt)   n = 1: y0[lr*ldy] += v * x[col*xs]
 *   void  k_row(x, ldx, n, y0, cols, vals, cnt)    block_h = 1: y0[0..n) += v * x row col
 *   void  k_gen(x, ldx, n, y0, ldy, cols, lrs, vals, cnt)
 *   void  k_convert(dtype, src, dst, cnt)          values to fp32 */
#include <stdlib.h>

#include "codec/layout.h"
#include "kernels/decode.h"
#include "kernels/spmm.h"

#define LSC_CHUNK 256
#define LSC_RUN_MIN 4 /* values per row segment, on average, for the run path */
#define LSC_SPLIT_ROWS 64 /* n = 1, short runs: block rows up to this tall sum in split copies */
#define LSC_SORT_ROWS 256 /* n > 1, short runs: block rows up to this tall are sorted by row */
#define LSC_N_TILE 64     /* n > 2 * this: the general path multiplies this many columns at a time */

/* Drops the positions whose row lies outside [lo, hi) (a row range cutting a block
 * row); values move to vbuf. Returns the count kept. */
static uint32_t keep_rows(uint32_t *cols, uint32_t *lrs, const float *vals, float *vbuf,
                          uint32_t cnt, uint64_t lo, uint64_t hi)
{
    uint32_t m = 0;
    for (uint32_t i = 0; i < cnt; i++) {
        if (lrs[i] < lo || lrs[i] >= hi)
            continue;
        cols[m] = cols[i];
        lrs[m] = lrs[i];
        vbuf[m] = vals[i];
        m++;
    }
    return m;
}

/* Multiplies a chunk of positions run by run (see the caller). Rows outside
 * [lo, hi) (a row range cutting the block row) are skipped. block_h = 1 with n = 1
 * sums into *acc. */
static void multiply_runs(const lsc_brow_decoder *d, const float *x, size_t ldx, size_t n,
                          float *y0, size_t ldy, uint32_t *pos, const float *vals, uint32_t cnt,
                          uint64_t lo, uint64_t hi, float *acc)
{
    uint32_t i = 0;
    while (i < cnt) {
        uint32_t lr = 0, off = 0, j = cnt;
        uint64_t end = UINT64_MAX;
        if (d->map != LSC_MAP_ID)
            lsc_dec_segment(d, pos[i], &lr, &off, &end);
        if (pos[cnt - 1] >= end) {
            /* the run ends inside the chunk: a short linear probe, then bisection */
            j = i + 1;
            while (j < cnt && j < i + 8 && pos[j] < end)
                j++;
            if (j == i + 8) {
                uint32_t a = j, b = cnt - 1; /* pos[b] >= end */
                while (a < b) {
                    uint32_t mid = a + (b - a) / 2;
                    if (pos[mid] < end)
                        a = mid + 1;
                    else
                        b = mid;
                }
                j = a;
            }
        }
        if (lr >= lo && lr < hi) {
            uint32_t m = j - i, *c = pos + i;
            if (off)
                for (uint32_t t = 0; t < m; t++)
                    c[t] += off;
            if (n == 1 && d->bh == 1)
                *acc += k_dot(x, ldx, c, vals + i, m);
            else if (n == 1)
                y0[lr * ldy] += k_dot(x, ldx, c, vals + i, m);
            else
                k_row(x, ldx, n, y0 + lr * ldy, c, vals + i, m);
        }
        i = j;
    }
}

/* n = 1 with short runs in a short block row: consecutive values often hit the same
 * few rows, and adding each into y would wait for the previous add's store. Four
 * interleaved copies of the block row's sums (ys[copy * bh + lr]) cut those chains. */
static void scatter_split(const float *restrict x, size_t xs, float *restrict ys, uint32_t bh,
                          const uint32_t *restrict cols, const uint32_t *restrict lrs,
                          const float *restrict vals, uint32_t cnt)
{
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        ys[lrs[i]] += vals[i] * x[cols[i] * xs];
        ys[bh + lrs[i + 1]] += vals[i + 1] * x[cols[i + 1] * xs];
        ys[2 * bh + lrs[i + 2]] += vals[i + 2] * x[cols[i + 2] * xs];
        ys[3 * bh + lrs[i + 3]] += vals[i + 3] * x[cols[i + 3] * xs];
    }
    for (; i < cnt; i++)
        ys[lrs[i]] += vals[i] * x[cols[i] * xs];
}

/* scatter_split fused with the positions' mapping (lsc_dec_map's general case). */
static void map_scatter_split(const lsc_brow_decoder *d, const float *restrict x, size_t xs,
                              float *restrict ys, const uint32_t *restrict pos,
                              const float *restrict vals, uint32_t cnt)
{
    const uint32_t *restrict kept = d->kept;
    const uint32_t bh = d->bh, bw = d->bw, S = (uint32_t)d->S;
    const lsc_udiv div_s = d->div_s, div_w = d->div_w;
#define LSC_MSS(I, COPY)                                                                   \
    do {                                                                                   \
        uint32_t p = pos[I], k = lsc_udiv_do(p, div_s), off = p - k * S;                   \
        uint32_t lr = lsc_udiv_do(off, div_w), col = kept[k] * bw + (off - lr * bw);       \
        ys[(COPY) * bh + lr] += vals[I] * x[col * xs];                                     \
    } while (0)
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        LSC_MSS(i, 0);
        LSC_MSS(i + 1, 1);
        LSC_MSS(i + 2, 2);
        LSC_MSS(i + 3, 3);
    }
    for (; i < cnt; i++)
        LSC_MSS(i, 0);
#undef LSC_MSS
}

/* n > 1 with short runs: a counting sort of the chunk by row, then each row's values
 * in one k_row call (its strip of Y stays in registers) instead of loading and
 * storing Y's row for every value. Rows outside [lo, hi) are skipped. */
static void multiply_by_row(const float *x, size_t ldx, size_t n, float *y0, size_t ldy,
                            const uint32_t *cols, const uint32_t *lrs, const float *vals,
                            uint32_t cnt, uint32_t bh, uint64_t lo, uint64_t hi)
{
    uint32_t count[LSC_SORT_ROWS + 1], scols[LSC_CHUNK];
    float svals[LSC_CHUNK];
    memset(count, 0, (bh + 1) * sizeof *count);
    for (uint32_t i = 0; i < cnt; i++)
        count[lrs[i] + 1]++;
    for (uint32_t r = 1; r <= bh; r++)
        count[r] += count[r - 1];
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t j = count[lrs[i]]++;
        scols[j] = cols[i];
        svals[j] = vals[i];
    }
    /* count[r] is now the end of row r's values */
    uint32_t start = 0;
    for (uint32_t r = 0; r < bh && start < cnt; r++) {
        uint32_t end = count[r];
        if (end > start && r >= lo && r < hi)
            k_row(x, ldx, n, y0 + r * ldy, scols + start, svals + start, end - start);
        start = end;
    }
}

#ifdef LSC_HAVE_ROWPOS
#define LSC_ROWPOS_GROUPS 16 /* groups of 16 entries decoded at a time: 256 entries */

/* The layouts the variant's fast decoder serves (codec/layout.h, which the search's
 * cost model uses too), with fp32 values read in place. */
static int fast_layout(const lsc_blob_view *v, int direct, lsc_rowpos_fn decode)
{
    return direct && decode &&
           lsc_layout_whole_rows_fast(v->block_h, v->block_w, v->cols, v->index_bits);
}

/* Multiplies the positions of one chunk of a whole-width block row: positions
 * are lr * cols + column for the block row's local row lr; a run of one row is one
 * dot product (n = 1) or one register strip of Y (n > 1). Rows outside [lo, hi)
 * (a row range cutting the block row) are skipped. */
static void whole_width_runs(const lsc_spmm_job *job, float *y0, uint32_t *pos, const float *vals,
                             uint32_t cnt, uint32_t cols, uint64_t lo, uint64_t hi)
{
    uint32_t i = 0;
    while (i < cnt) {
        uint32_t lr = pos[i] / cols, base = lr * cols, end = base + cols, j = cnt;
        if (pos[cnt - 1] >= end) { /* the run ends inside the chunk: bisect (sorted) */
            uint32_t a = i + 1;
            j = cnt - 1;
            while (a < j) {
                uint32_t mid = a + (j - a) / 2;
                if (pos[mid] < end)
                    a = mid + 1;
                else
                    j = mid;
            }
        }
        if (lr >= lo && lr < hi) {
            if (base)
                for (uint32_t t = i; t < j; t++)
                    pos[t] -= base;
            float *y = y0 + (size_t)lr * job->ldy;
            if (job->n == 1)
                y[0] += k_dot(job->x, job->ldx, pos + i, vals + i, j - i);
            else
                k_row(job->x, job->ldx, job->n, y, pos + i, vals + i, j - i);
        }
        i = j;
    }
}

/* Decodes entries [e0, e1) of one whole-width block row chunk by chunk and
 * multiplies each chunk at once (the positions are not kept); rows outside
 * [lo, hi) of the block row are skipped. */
static void block_row_chunks(const lsc_spmm_job *job, lsc_rowpos_fn decode, uint64_t e0,
                             uint64_t e1, const float *vals, float *y0, uint64_t lo, uint64_t hi)
{
    const lsc_blob_view *v = job->v;
    uint32_t pos[LSC_ROWPOS_GROUPS * 16 + 8];
    lsc_rowpos rp;
    lsc_rowpos_init(&rp, v->entries, (v->n_entries * v->index_bits + 7) / 8, e0, e1);
    float acc = 0.0f;
    while (e1 > e0 && rp.g < rp.g_end) { /* a chunk may hold no value, only jumps */
        uint32_t cnt = decode(&rp, pos, LSC_ROWPOS_GROUPS);
        if (v->block_h > 1)
            whole_width_runs(job, y0, pos, vals, cnt, v->cols, lo, hi);
        else if (job->n == 1)
            acc += k_dot(job->x, job->ldx, pos, vals, cnt);
        else
            k_row(job->x, job->ldx, job->n, y0, pos, vals, cnt);
        vals += cnt;
    }
    if (v->block_h == 1 && job->n == 1)
        y0[0] = acc;
}

/* Large n on one-row block rows (convolutions): the range's entries are decoded
 * once into a buffer of columns (at most LSC_CACHED_VALUES, freed on return), then
 * multiplied tile by tile of LSC_CACHED_TILE columns of X and Y across all rows of
 * the range, each tile of X packed into contiguous rows first, so that no entry is
 * decoded twice however large n is and X's rows (often pages apart: ldx is the
 * number of output pixels) are read as one block. Measured on Zen 3
 * (docs/benchmarks.md): the column buffer 1.35-1.5x, packing another 1.4-2x; tiles
 * of 64..256 within noise of each other. Returns 0 (nothing done) if the layout is
 * not that one or the buffers cannot be had. */
#define LSC_CACHED_VALUES (UINT64_C(4) << 20) /* 16 MiB of columns */
#define LSC_CACHED_TILE 256
#define LSC_PACK_FLOATS (UINT64_C(2) << 20) /* 8 MiB of packed X at most */
#define LSC_PACK_REUSE 4 /* values per row of X, on average, for packing to pay */

static int whole_rows_cached(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end,
                             int direct)
{
    const lsc_blob_view *v = job->v;
    const lsc_rowpos_fn decode = k_rowpos(v->index_bits);
    if (v->block_h != 1 || !fast_layout(v, direct, decode))
        return 0;
    uint64_t e_lo, v_lo, e_hi, v_hi;
    lsc_blob_row_start(v, br_begin, &e_lo, &v_lo);
    lsc_blob_row_start(v, br_end, &e_hi, &v_hi);
    uint32_t n_rows = br_end - br_begin;
    if (v_hi - v_lo > LSC_CACHED_VALUES)
        return 0;
    uint32_t *pos = malloc((size_t)(v_hi - v_lo + 16) * sizeof *pos);
    uint64_t *first = malloc(((size_t)n_rows + 1) * sizeof *first); /* value index per row */
    if (!pos || !first) {
        free(pos);
        free(first);
        return 0;
    }
    const uint64_t nbytes = (v->n_entries * v->index_bits + 7) / 8;
    uint64_t e0 = e_lo, v0 = v_lo, e1, v1;
    for (uint32_t k = 0; k < n_rows; k++, e0 = e1, v0 = v1) {
        lsc_blob_row_start(v, br_begin + k + 1, &e1, &v1);
        first[k] = v0 - v_lo;
        lsc_rowpos rp;
        lsc_rowpos_init(&rp, v->entries, nbytes, e0, e1);
        uint32_t *p = pos + first[k];
        while (e1 > e0 && rp.g < rp.g_end)
            p += decode(&rp, p, LSC_ROWPOS_GROUPS);
    }
    first[n_rows] = v_hi - v_lo;
    const float *vals = (const float *)(const void *)v->values + v_lo;
    const size_t n = job->n, ldy = job->ldy;
    for (uint32_t k = 0; k < n_rows; k++) {
        uint32_t r = br_begin + k;
        if (r >= job->row_begin && r < job->row_end)
            memset(job->y + (size_t)r * ldy, 0, n * sizeof(float));
    }
    /* The tile of X is packed (rows LSC_CACHED_TILE apart) when that fits and the
     * range has enough values to reuse it (a host's parallel-for may cut a small
     * weight into many ranges, each of which would pack the whole tile): its rows
     * are then contiguous, where X's own rows may lie pages apart. */
    float *xt = (size_t)v->cols * LSC_CACHED_TILE <= LSC_PACK_FLOATS &&
                        v_hi - v_lo >= (uint64_t)LSC_PACK_REUSE * v->cols
                    ? malloc((size_t)v->cols * LSC_CACHED_TILE * sizeof *xt)
                    : NULL;
    for (size_t j0 = 0; j0 < n; j0 += LSC_CACHED_TILE) {
        size_t nt = n - j0 < LSC_CACHED_TILE ? n - j0 : LSC_CACHED_TILE;
        const float *x = job->x + j0;
        size_t ldx = job->ldx;
        if (xt) {
            for (size_t c = 0; c < v->cols; c++)
                memcpy(xt + c * LSC_CACHED_TILE, job->x + c * job->ldx + j0, nt * sizeof *xt);
            x = xt;
            ldx = LSC_CACHED_TILE;
        }
        for (uint32_t k = 0; k < n_rows; k++) {
            uint32_t r = br_begin + k;
            if (first[k + 1] > first[k] && r >= job->row_begin && r < job->row_end)
                k_row(x, ldx, nt, job->y + (size_t)r * ldy + j0, pos + first[k],
                      vals + first[k], (uint32_t)(first[k + 1] - first[k]));
        }
    }
    free(xt);
    free(pos);
    free(first);
    return 1;
}

#include "kernels/brows_kblock.h"

/* n = 1 on one-row block rows. Decoding rows one by one cost ~150 cycles a row
 * (a partial group of entries at each end, the decoder's setup, a dot product's
 * ramp), as much as a short row's values (pruned LeNets' rows hold 10-80): here
 * the entries of many rows are decoded in one pass instead, the cursor running on
 * across rows. A row never ends on a jump (lsc_blob_parse checks it), so the next
 * row's positions are offset by one past the previous row's last value, modulo
 * 2^16 like the decoder's, exact below 65536 columns (fast_layout). A row with
 * more entries than the buffer holds goes through block_row_chunks. */
#define LSC_N1_ENTRIES 4096
#define LSC_N1_ROWS 512

static void rows_n1(const lsc_spmm_job *job, lsc_rowpos_fn decode, uint64_t r, uint64_t r_end)
{
    const lsc_blob_view *v = job->v;
    const float *values = (const float *)(const void *)v->values;
    const uint64_t nbytes = (v->n_entries * v->index_bits + 7) / 8;
    uint32_t pos[LSC_N1_ENTRIES + 8];
    uint64_t vstart[LSC_N1_ROWS + 1], e_lo, e_hi = 0;
    lsc_blob_row_start(v, (uint32_t)r, &e_lo, &vstart[0]);
    while (r < r_end) {
        uint64_t rows = 0, e = e_lo, val = vstart[0];
        for (; r + rows < r_end && rows < LSC_N1_ROWS; rows++) { /* whole rows that fit */
            lsc_blob_row_start(v, (uint32_t)(r + rows + 1), &e, &val);
            if (e - e_lo > LSC_N1_ENTRIES)
                break;
            e_hi = e;
            vstart[rows + 1] = val;
        }
        float *y = job->y + r * job->ldy;
        if (!rows) { /* one row longer than the buffer */
            block_row_chunks(job, decode, e_lo, e, values + vstart[0], y, 0, 1);
            e_lo = e;
            vstart[0] = val;
            r++;
            continue;
        }
        lsc_rowpos rp;
        lsc_rowpos_init(&rp, v->entries, nbytes, e_lo, e_hi);
        if (e_hi > e_lo)
            decode(&rp, pos, UINT64_MAX);
        const uint64_t v_lo = vstart[0];
        for (uint64_t k = 0; k < rows; k++, y += job->ldy) {
            uint64_t v0 = vstart[k] - v_lo, v1 = vstart[k + 1] - v_lo;
            uint32_t off = v0 ? pos[v0 - 1] + 1 : 0;
            y[0] = k_dot_mod16(job->x, job->ldx, pos + v0, values + v_lo + v0,
                               (uint32_t)(v1 - v0), off);
        }
        r += rows;
        e_lo = e_hi;
        vstart[0] = vstart[rows];
    }
}

/* Whole-width block rows (one block column) whose scan space fits 16 bits, fp32
 * values in place: the variant's fast decoder turns the entries into positions
 * directly (k_rowpos), for the same inner kernels as the general path. One-row
 * block rows (the default search's favourite) need no row split at all. Returns 0
 * if the layout is not that one (the general path runs). */
static int whole_rows(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end, int direct)
{
    const lsc_blob_view *v = job->v;
    const lsc_rowpos_fn decode = k_rowpos(v->index_bits);
    const uint32_t bh = v->block_h;
    if (!fast_layout(v, direct, decode))
        return 0;
    if (bh == 1 && job->n == 1) {
        uint64_t lo = br_begin > job->row_begin ? br_begin : job->row_begin;
        uint64_t hi = br_end < job->row_end ? br_end : job->row_end;
        if (lo < hi)
            rows_n1(job, decode, lo, hi);
        return 1;
    }
    uint64_t e0, v0, e1, v1;
    lsc_blob_row_start(v, br_begin, &e0, &v0);
    for (uint32_t br = br_begin; br < br_end; br++, e0 = e1, v0 = v1) {
        lsc_blob_row_start(v, br + 1, &e1, &v1);
        uint64_t r0 = (uint64_t)br * bh, r_end = r0 + bh < v->rows ? r0 + bh : v->rows;
        uint64_t lo = r0 > job->row_begin ? r0 : job->row_begin;
        uint64_t hi = r_end < job->row_end ? r_end : job->row_end;
        if (lo >= hi)
            continue;
        for (uint64_t r = lo; r < hi; r++)
            memset(job->y + r * job->ldy, 0, job->n * sizeof(float));
        block_row_chunks(job, decode, e0, e1, (const float *)(const void *)v->values + v0,
                         job->y + r0 * job->ldy, lo - r0, hi - r0);
    }
    return 1;
}
#endif

/* Every other layout: the portable positions decoder (or the branchy one), then
 * runs, split sums, sorted rows or per-value mapping, by shape (above). */
static void general_rows(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end, int direct)
{
    float ys[4 * LSC_SPLIT_ROWS];
    const lsc_blob_view *v = job->v;
    uint32_t pos[LSC_CHUNK], cols[LSC_CHUNK], lrs[LSC_CHUNK];
    float vbuf[LSC_CHUNK];
    const size_t n = job->n, ldx = job->ldx, ldy = job->ldy;
    const float *x = job->x;
    const int h1 = v->block_h == 1;
    /* room for the kept block columns of a row; without it, the branchy decoder */
    uint32_t *kept = malloc((size_t)v->n_bcols * sizeof(uint32_t));
    for (uint32_t br = br_begin; br < br_end; br++) {
        uint64_t r0 = (uint64_t)br * v->block_h;
        uint64_t r_full = r0 + v->block_h < v->rows ? r0 + v->block_h : v->rows;
        uint64_t lo = r0 > job->row_begin ? r0 : job->row_begin;
        uint64_t hi = r_full < job->row_end ? r_full : job->row_end;
        if (lo >= hi)
            continue;
        int partial = lo > r0 || hi < r_full;
        for (uint64_t r = lo; r < hi; r++) {
            if (n == 1)
                job->y[r * ldy] = 0.0f;
            else
                memset(job->y + r * ldy, 0, n * sizeof(float));
        }
        float *y0 = job->y + r0 * ldy;
        lsc_brow_decoder d;
        uint64_t vstart;
        lsc_dec_init(&d, v, br, &vstart);
        /* the positions path when the row's scan space fits 32 bits, else the branchy one */
        int fast = kept && lsc_dec_set_kept(&d, kept);
        const uint8_t *src = v->values + vstart * v->elem_size;
        float acc = 0.0f;
        /* Runs of one row segment (one row of one kept block) are multiplied with
         * their positions as columns, shifted by one offset: no per-value mapping,
         * and a run of one output row stays in registers. Worth it when runs are
         * long; short ones (narrow blocks, sparse rows) map every value. */
        int runs = fast && (d.map == LSC_MAP_ID ||
                            d.n_values >= (uint64_t)LSC_RUN_MIN * d.n_kept * v->block_h);
        int split = !runs && n == 1 && !h1 && v->block_h <= LSC_SPLIT_ROWS;
        if (split)
            memset(ys, 0, 4 * v->block_h * sizeof(float));
        while (d.entries_left) {
            uint32_t cnt, *c = cols;
            if (fast) {
                cnt = k_positions(&d, pos, LSC_CHUNK);
                if (d.map == LSC_MAP_ID || runs || split)
                    c = pos;
                else
                    lsc_dec_map(&d, pos, cols, h1 ? NULL : lrs, cnt);
            } else {
                cnt = lsc_dec_chunk(&d, cols, h1 ? NULL : lrs, LSC_CHUNK);
            }
            if (!cnt)
                continue;
            const float *vals;
            if (direct) {
                vals = (const float *)(const void *)src;
            } else {
                k_convert(v->dtype, src, vbuf, cnt);
                vals = vbuf;
            }
            src += (size_t)cnt * v->elem_size;
            if (runs) {
                multiply_runs(&d, x, ldx, n, y0, ldy, pos, vals, cnt, lo - r0, hi - r0, &acc);
                continue;
            }
            if (fast && split) { /* rows outside [lo, hi) are summed but never written */
                map_scatter_split(&d, x, ldx, ys, pos, vals, cnt);
                continue;
            }
            if (n > 1 && !h1 && v->block_h <= LSC_SORT_ROWS) {
                multiply_by_row(x, ldx, n, y0, ldy, c, lrs, vals, cnt, v->block_h, lo - r0,
                                hi - r0);
                continue;
            }
            if (partial) {
                cnt = keep_rows(c, lrs, vals, vbuf, cnt, lo - r0, hi - r0);
                vals = vbuf;
            }
            if (n == 1 && h1)
                acc += k_dot(x, ldx, c, vals, cnt);
            else if (split)
                scatter_split(x, ldx, ys, v->block_h, c, lrs, vals, cnt);
            else if (n == 1)
                k_n1(x, ldx, y0, ldy, c, lrs, vals, cnt);
            else if (h1)
                k_row(x, ldx, n, y0, c, vals, cnt);
            else
                k_gen(x, ldx, n, y0, ldy, c, lrs, vals, cnt);
        }
        if (n == 1 && h1)
            y0[0] = acc;
        if (split)
            for (uint64_t r = lo; r < hi; r++) {
                uint64_t lr = r - r0, bh = v->block_h;
                y0[lr * ldy] = (ys[lr] + ys[bh + lr]) + (ys[2 * bh + lr] + ys[3 * bh + lr]);
            }
    }
    free(kept);
}

static void multiply_rows(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end, int direct)
{
#ifdef LSC_HAVE_ROWPOS
    if (whole_rows(job, br_begin, br_end, direct))
        return;
#endif
    general_rows(job, br_begin, br_end, direct);
}

void LSC_BROWS_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    /* fp32 values are read in place when the host and the alignment allow */
    int direct = job->v->dtype == LSC_DTYPE_FLOAT32 && ((uintptr_t)job->v->values & 3) == 0;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    direct = 0;
#endif
#ifdef LSC_HAVE_ROWPOS
    if (job->n > 1 && job->v->block_h == 1) {
        uint64_t lo = br_begin > job->row_begin ? br_begin : job->row_begin;
        uint64_t hi = br_end < job->row_end ? br_end : job->row_end;
        if (whole_rows_kblocked(job, lo, hi, direct))
            return;
    }
#endif
    if (job->n <= 2 * LSC_N_TILE) {
        multiply_rows(job, br_begin, br_end, direct);
        return;
    }
#ifdef LSC_HAVE_ROWPOS
    if (whole_rows_cached(job, br_begin, br_end, direct))
        return;
#endif
    /* Large n (convolutions): the columns of X and Y in tiles, so that the rows of X
     * the values touch, LSC_N_TILE columns wide, stay in the caches across all the
     * block rows of the range instead of streaming X once per chunk of values. The
     * entries are decoded again for every tile: that costs ~1 cycle per value beside
     * LSC_N_TILE multiply-adds (docs/benchmarks.md). */
    for (size_t j0 = 0; j0 < job->n; j0 += LSC_N_TILE) {
        lsc_spmm_job tile = *job;
        tile.x += j0;
        tile.y += j0;
        tile.n = job->n - j0 < LSC_N_TILE ? job->n - j0 : LSC_N_TILE;
        multiply_rows(&tile, br_begin, br_end, direct);
    }
}

/* One block row's values as (column, row inside the block row) with the variant's
 * positions decoder (the branchy one past 2^31 positions): at most cap values into
 * cols and lrs (lrs NULL when block_h is 1); kept has room for n_bcols. Returns the
 * count. */
uint64_t LSC_UNPACK_NAME(const lsc_blob_view *v, uint32_t br, uint32_t *kept, uint32_t *cols,
                         uint32_t *lrs, uint64_t cap)
{
    lsc_brow_decoder d;
    uint64_t vstart, got = 0;
    uint32_t pos[LSC_CHUNK + 16], lbuf[LSC_CHUNK];
#ifdef LSC_HAVE_ROWPOS
    /* One-row whole-width block rows: the fast decoder's positions are the columns
     * (~1 cycle a value, where the general decoder and its mapping take ~10). */
    const lsc_rowpos_fn decode = k_rowpos(v->index_bits);
    if (v->block_h == 1 && decode &&
        lsc_layout_whole_rows_fast(v->block_h, v->block_w, v->cols, v->index_bits)) {
        uint64_t e0, e1, v1;
        lsc_blob_row_start(v, br, &e0, &vstart);
        lsc_blob_row_start(v, br + 1, &e1, &v1);
        lsc_rowpos rp;
        lsc_rowpos_init(&rp, v->entries, (v->n_entries * v->index_bits + 7) / 8, e0, e1);
        while (e1 > e0 && rp.g < rp.g_end && got < cap) {
            uint32_t cnt = decode(&rp, pos, LSC_CHUNK / 16);
            if (cnt > cap - got) /* more values than the block row says: a corrupt blob */
                cnt = (uint32_t)(cap - got);
            memcpy(cols + got, pos, cnt * sizeof *pos);
            got += cnt;
        }
        return got;
    }
#endif
    lsc_dec_init(&d, v, br, &vstart);
    int fast = lsc_dec_set_kept(&d, kept);
    while (d.entries_left && got < cap) {
        uint32_t cnt;
        if (fast) {
            cnt = k_positions(&d, pos, LSC_CHUNK);
            lsc_dec_map(&d, pos, pos, lrs ? lbuf : NULL, cnt);
        } else {
            cnt = lsc_dec_chunk(&d, pos, lrs ? lbuf : NULL, LSC_CHUNK);
        }
        if (cnt > cap - got) /* more values than the block row says: a corrupt blob */
            cnt = (uint32_t)(cap - got);
        memcpy(cols + got, pos, cnt * sizeof *pos);
        if (lrs)
            memcpy(lrs + got, lbuf, cnt * sizeof *lbuf);
        got += cnt;
    }
    return got;
}
