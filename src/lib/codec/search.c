/* The block-shape / index-width search.
 *
 * For a block shape, a blob's size depends only on the number of SRI entries, and
 * the entries of a value depend only on the gap before it in scan order. So one
 * pass over the non-zeros per shape, filling a gap histogram, prices all 16 widths.
 * The pass needs no sort: within a row the values of one block follow each other;
 * between rows of one block row, per-block "last position seen" gives the gap;
 * between kept blocks, the first position of a block and the last of the previous.
 * Shapes whose size cannot beat the best so far (their bitmap alone is too big) are
 * skipped without a pass; that does not change the result. Heights that leave fewer
 * than the least block-row count (min_block_rows) are not candidates: the kernels
 * share a multiply between threads by block rows. */
#include "codec/search.h"

#include "codec/heights.h"

#include <stdlib.h>
#include <string.h>

#include "common/checked.h"
#include "common/error.h"

#define GAP_HIST 4096 /* gaps below this are counted exactly; larger ones priced at once */

struct lsc_search_scratch {
    uint64_t *touched;     /* one bit per block column of the current block row */
    uint64_t *first, *last; /* per block column: first / last in-block position seen */
    uint64_t big[LSC_INDEX_BITS_MAX + 1]; /* extra entries of gaps >= GAP_HIST, per width */
    uint32_t dirty; /* hist[dirty..cap) are 0: a small layer's passes clear what they used, not 32 KiB */
    uint32_t cap;   /* GAP_HIST, or 2 rows cols if less: no gap of the matrix reaches it */
    uint64_t hist[];
};

lsc_status lsc_search_scratch_create(const lsc_sparse *m, lsc_search_scratch **out, lsc_error *error)
{
    uint64_t elements = (uint64_t)m->rows * m->cols;
    uint32_t cap = elements < GAP_HIST / 2 ? (uint32_t)(2 * elements) : GAP_HIST;
    lsc_search_scratch *s = calloc(1, sizeof *s + (size_t)cap * sizeof s->hist[0]);
    size_t words = (size_t)m->cols / 64 + 1;
    if (s) {
        s->cap = cap;
        s->touched = calloc(words, sizeof *s->touched);
        s->first = malloc((size_t)m->cols * sizeof *s->first);
        s->last = malloc((size_t)m->cols * sizeof *s->last);
    }
    if (!s || !s->touched || !s->first || !s->last) {
        lsc_search_scratch_free(&s);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the block search of %u columns",
                        m->cols);
    }
    *out = s;
    return LSC_OK;
}

void lsc_search_scratch_free(lsc_search_scratch **scratch)
{
    if (!scratch || !*scratch)
        return;
    free((*scratch)->touched);
    free((*scratch)->first);
    free((*scratch)->last);
    free(*scratch);
    *scratch = NULL;
}

static void add_big_gap(lsc_search_scratch *s, uint64_t gap)
{
    for (unsigned b = 1; b <= LSC_INDEX_BITS_MAX; b++)
        s->big[b] += lsc_sri_entries(gap, b) - 1;
}

static inline void add_gap(lsc_search_scratch *s, uint64_t gap)
{
    if (gap < s->cap) /* the same count as through big, which takes any gap */
        s->hist[gap]++;
    else
        add_big_gap(s, gap);
}

/* How a column splits into block column and in-block column. */
enum { SPLIT_POW2, SPLIT_WHOLE, SPLIT_DIV };

static inline uint32_t split_col(int mode, uint32_t c, unsigned shift, uint32_t bw, uint32_t *lc)
{
    if (mode == SPLIT_POW2) {
        *lc = c & (bw - 1);
        return c >> shift;
    }
    if (mode == SPLIT_WHOLE) {
        *lc = c;
        return 0;
    }
    uint32_t bc = c / bw;
    *lc = c - bc * bw;
    return bc;
}

static inline void segment_start(lsc_search_scratch *s, uint32_t bc, uint64_t pos)
{
    uint64_t bit = UINT64_C(1) << (bc & 63);
    if (s->touched[bc >> 6] & bit) {
        add_gap(s, pos - s->last[bc] - 1);
    } else {
        s->touched[bc >> 6] |= bit;
        s->first[bc] = pos;
    }
}

/* The pass, specialised per split mode by the always-inline call with a constant. */
static inline __attribute__((always_inline)) uint64_t
evaluate_pass(const lsc_sparse *m, uint32_t bh, uint32_t bw, int mode, lsc_search_scratch *s)
{
    unsigned shift = (unsigned)__builtin_ctz(bw);
    uint64_t S = (uint64_t)bh * bw, kept = 0;
    for (uint64_t r0 = 0; r0 < m->rows; r0 += bh) {
        uint64_t r1 = r0 + bh < m->rows ? r0 + bh : m->rows;
        if (m->row_ptr[r0] == m->row_ptr[r1])
            continue;
        uint32_t min_bc = UINT32_MAX, max_bc = 0;
        for (uint64_t r = r0; r < r1; r++) {
            uint64_t k = m->row_ptr[r], end = m->row_ptr[r + 1];
            if (k == end)
                continue;
            uint64_t row_base = (r - r0) * bw;
            uint32_t lc, c = m->col[k];
            uint32_t bc = split_col(mode, c, shift, bw, &lc);
            uint64_t pos = row_base + lc;
            segment_start(s, bc, pos);
            if (bc < min_bc)
                min_bc = bc;
            uint32_t prev_c = c, prev_bc = bc;
            for (k++; k < end; k++) {
                c = m->col[k];
                bc = split_col(mode, c, shift, bw, &lc);
                if (bc == prev_bc) {
                    add_gap(s, (uint64_t)(c - prev_c - 1));
                } else {
                    s->last[prev_bc] = pos;
                    segment_start(s, bc, row_base + lc);
                    prev_bc = bc;
                }
                pos = row_base + lc;
                prev_c = c;
            }
            s->last[prev_bc] = pos;
            if (prev_bc > max_bc)
                max_bc = prev_bc;
        }
        /* Kept blocks of this block row, in order: the gaps across block boundaries. */
        uint64_t prev_last = 0;
        int any = 0;
        for (uint32_t w = min_bc >> 6; w <= max_bc >> 6; w++) {
            uint64_t word = s->touched[w];
            s->touched[w] = 0;
            while (word) {
                uint32_t bc = w * 64 + (uint32_t)__builtin_ctzll(word);
                word &= word - 1;
                add_gap(s, any ? s->first[bc] + (S - 1 - prev_last) : s->first[bc]);
                prev_last = s->last[bc];
                any = 1;
                kept++;
            }
        }
    }
    return kept;
}

void lsc_search_evaluate(const lsc_sparse *m, uint32_t block_h, uint32_t block_w,
                         lsc_search_scratch *s, lsc_shape_cost *cost)
{
    /* every gap is below 2 S (S = block_h block_w positions): inside a block below S,
     * from one kept block's last value to the next's first below 2 S */
    uint64_t S = (uint64_t)block_h * block_w, limit = 2 * S < s->cap ? 2 * S : s->cap;
    memset(s->hist, 0, s->dirty * sizeof s->hist[0]);
    memset(s->big, 0, sizeof s->big);
    s->dirty = s->cap; /* until the pass is priced below */
    if (block_w == m->cols)
        cost->kept_blocks = evaluate_pass(m, block_h, block_w, SPLIT_WHOLE, s);
    else if ((block_w & (block_w - 1)) == 0)
        cost->kept_blocks = evaluate_pass(m, block_h, block_w, SPLIT_POW2, s);
    else
        cost->kept_blocks = evaluate_pass(m, block_h, block_w, SPLIT_DIV, s);
    uint64_t top = limit, suffix[GAP_HIST + 1];
    for (; top >= 8; top -= 8) { /* eight counts at a time: small layers leave most 0 */
        uint64_t any = 0;
        for (unsigned k = 1; k <= 8; k++)
            any |= s->hist[top - k];
        if (any)
            break;
    }
    while (top > 0 && !s->hist[top - 1])
        top--;
    top = top ? top - 1 : 0;
    s->dirty = (uint32_t)top + 1;
    cost->entries[0] = 0;
    for (unsigned b = 1; b <= LSC_INDEX_BITS_MAX; b++)
        cost->entries[b] = m->nnz + s->big[b];
    lsc_sri_extra_entries(s->hist, NULL, (uint32_t)top, suffix, cost->entries);
}

/* Candidate sides for a dimension: powers of two up to it, and itself. Widths also
 * get the kernel areas k*k (k = 3..7) that divide the width, so a Conv layer whose
 * pruning removed whole input channels can use one channel's kernel as a block. */
static unsigned side_candidates(uint32_t dim, uint32_t forced, int is_width, uint32_t *out)
{
    if (forced) {
        out[0] = forced;
        return 1;
    }
    unsigned n = 0;
    for (uint64_t p = 1; p <= dim; p *= 2)
        out[n++] = (uint32_t)p;
    if (out[n - 1] != dim)
        out[n++] = dim;
    for (uint32_t k = 3; is_width && k <= 7; k++)
        if (k * k < dim && dim % (k * k) == 0 && k != 4)
            out[n++] = k * k;
    return n;
}

typedef struct candidate {
    uint32_t bh, bw;
    uint64_t blocks;
    int priced;          /* cost filled by the all-heights pass */
    lsc_shape_cost cost;
} candidate;

static int candidate_order(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->bw != y->bw) /* grouped by width, widest first (they tend to be the best,
                           so the bound below prunes more): one all-heights pass each */
        return x->bw > y->bw ? -1 : 1;
    if (x->blocks != y->blocks)
        return x->blocks < y->blocks ? -1 : 1;
    return x->bh < y->bh ? -1 : x->bh > y->bh;
}

/* Strict "better than": size, then fewer blocks, then b, block_h, block_w. */
static int plan_better(const lsc_plan *a, const lsc_plan *b)
{
    if (a->layout.total != b->layout.total)
        return a->layout.total < b->layout.total;
    if (a->layout.blocks != b->layout.blocks)
        return a->layout.blocks < b->layout.blocks;
    if (a->index_bits != b->index_bits)
        return a->index_bits < b->index_bits;
    if (a->block_h != b->block_h)
        return a->block_h < b->block_h;
    return a->block_w < b->block_w;
}

uint32_t lsc_search_default_block_rows(uint32_t rows)
{
    uint32_t n = rows / 32;
    return n < 1 ? 1 : n > 64 ? 64 : n;
}

uint32_t lsc_search_min_block_rows(uint32_t rows, uint32_t limit)
{
    uint32_t n = limit ? limit : lsc_search_default_block_rows(rows);
    return n > rows ? rows : n;
}

/* The largest size within `ppm` parts per million of `best`. */
static uint64_t slack_bound(uint64_t best, uint32_t ppm)
{
    return best + best / 1000000 * ppm + best % 1000000 * ppm / 1000000;
}

/* What a multiply by the plan costs the kernels at n = 1, in 1/16 cycles, a rough
 * model calibrated on AMD Zen 3 (docs/benchmarks.md, "Issue 10"): the products cost
 * ~1.4 cycles per value (measured with decoding removed); the fast decoder on
 * whole-width block rows the rest of a measured ~2.5 cycles per value at b = 6, 10%,
 * i.e. ~0.75 per SRI entry; a row of a taller block row ~100 more (its runs are
 * found by bisection and multiplied apart: 4x9216 against 1x9216 at 2%); 40 per
 * block row (n = 1 decodes many one-row block rows in one pass: ~34 cycles a row
 * beyond its entries and values by difference, 500x800 at 2%). Other layouts go
 * through the general decoder, ~2 cycles
 * an entry with its products (64x9216/3 at 10%), and every row segment (block_w
 * positions of one row of one kept block) costs a lookup or a run of its own
 * (kernels/brows.h). */
static uint64_t kernel_work(const lsc_plan *p, const lsc_sparse *m)
{
    uint64_t values = 22 * m->nnz;
    if (lsc_layout_whole_rows_fast(p->block_h, p->block_w, m->cols, p->index_bits))
        return 12 * p->n_entries + values + 640 * p->layout.n_brows +
               (p->block_h > 1 ? 1600 * (uint64_t)m->rows : 0);
    return 32 * p->n_entries + values + 64 * (uint64_t)p->block_h * p->kept_blocks;
}

/* Whether any candidate of the width starting at cands[i] may come within `bound`:
 * each at least one entry per value at the narrowest width. If none can, its
 * all-heights pass is skipped (the result cannot change). */
static int width_may_pay(const candidate *cands, unsigned i, unsigned n, int rank, unsigned elem_size,
                         const lsc_sparse *m, unsigned b_lo, uint64_t bound)
{
    for (unsigned j = i; j < n && cands[j].bw == cands[i].bw; j++) {
        lsc_blob_layout lb;
        if (!lsc_blob_layout_compute(rank, elem_size, m->rows, m->cols, cands[j].bh, cands[j].bw, b_lo, m->nnz,
                                     m->nnz, &lb) &&
            lb.total <= bound)
            return 1;
    }
    return 0;
}

/* Sampled widths (issue 16). With a size slack, a width narrower than the matrix can
 * only change the choice through its smallest size: its plans cost the kernels at
 * least 54 per value (32 per entry and 22 per value, search.c kernel_work), more than
 * a whole-width plan, so one never wins on work; but a plan of it much smaller than
 * the others would lower the slack's bound. Such a width is priced on every
 * SAMPLE_STRIDE-th band of rows first; if even SAMPLE_MARGIN_PPM below that
 * estimate it cannot push the plan chosen so far out of the slack, its exact pass is
 * skipped. The final choice is checked against every skipped width's estimate and
 * the search is run again without sampling if it fails, so sampling changes the
 * choice only when an estimate is off by more than the margin. */
#define SAMPLE_MIN_VALUES (UINT64_C(1) << 20) /* smaller matrices: every width exactly */
#define SAMPLE_STRIDE 8
#define SAMPLE_MARGIN_PPM 500
#define NARROW_WORK_PER_VALUE 54
#define SEGMENT_SLACK_FACTOR 2 /* least_work: whole-width plans within twice the slack */

/* Rows [i * band, (i + 1) * band) of m for every i multiple of SAMPLE_STRIDE: a matrix
 * whose blocks of any height dividing band are blocks of m. */
static int sample_bands(const lsc_sparse *m, uint32_t band, lsc_sparse *out)
{
    memset(out, 0, sizeof *out);
    uint64_t rows = 0, nnz = 0;
    for (uint64_t r0 = 0; r0 < m->rows; r0 += (uint64_t)band * SAMPLE_STRIDE) {
        uint64_t r1 = r0 + band < m->rows ? r0 + band : m->rows;
        rows += r1 - r0;
        nnz += m->row_ptr[r1] - m->row_ptr[r0];
    }
    out->row_ptr = malloc(((size_t)rows + 1) * sizeof *out->row_ptr);
    out->col = malloc((size_t)(nnz ? nnz : 1) * sizeof *out->col);
    if (!out->row_ptr || !out->col) {
        lsc_sparse_free(out);
        return 1;
    }
    out->rows = (uint32_t)rows;
    out->cols = m->cols;
    out->nnz = nnz;
    uint64_t r = 0, k = 0;
    for (uint64_t r0 = 0; r0 < m->rows; r0 += (uint64_t)band * SAMPLE_STRIDE) {
        uint64_t r1 = r0 + band < m->rows ? r0 + band : m->rows;
        uint64_t n = m->row_ptr[r1] - m->row_ptr[r0];
        memcpy(out->col + k, m->col + m->row_ptr[r0], (size_t)n * sizeof *out->col);
        for (uint64_t q = r0; q < r1; q++)
            out->row_ptr[r++] = k + (m->row_ptr[q] - m->row_ptr[r0]);
        k += n;
    }
    out->row_ptr[r] = k;
    return 0;
}

/* The smallest blob of width bw over the heights priced on the sample, its entries
 * scaled to the whole matrix; UINT64_MAX if the sample cannot be priced. */
static uint64_t sampled_smallest(const lsc_sparse *m, const lsc_sparse *sample, lsc_heights *h, int rank,
                                 unsigned elem_size, uint32_t bw, uint32_t max_h, unsigned b_lo, unsigned b_hi)
{
    uint32_t hh[LSC_MAX_HEIGHTS];
    lsc_shape_cost hc[LSC_MAX_HEIGHTS];
    unsigned hn = 0;
    if (sample->nnz == 0 || lsc_heights_evaluate(sample, bw, max_h, h, hh, hc, &hn))
        return UINT64_MAX;
    uint64_t best = UINT64_MAX;
    for (unsigned k = 0; k < hn; k++)
        for (unsigned b = b_lo; b <= b_hi; b++) {
            double jumps = (double)(hc[k].entries[b] - sample->nnz) * ((double)m->nnz / (double)sample->nnz);
            lsc_blob_layout lb;
            if (!lsc_blob_layout_compute(rank, elem_size, m->rows, m->cols, hh[k], bw, b, m->nnz,
                                         m->nnz + (uint64_t)jumps, &lb) &&
                lb.total < best)
                best = lb.total;
        }
    return best;
}

/* The slack within which plans of width bw are kept for least_work. */
static uint32_t near_ppm(uint32_t ppm, uint32_t bw, const lsc_sparse *m)
{
    if (bw != m->cols)
        return ppm;
    return ppm > UINT32_MAX / SEGMENT_SLACK_FACTOR ? UINT32_MAX : SEGMENT_SLACK_FACTOR * ppm;
}

/* Row segments of a plan: the runs of one row in one kept block, at most one per
 * value (for narrow blocks block_h per kept block, an upper bound). */
static uint64_t row_segments(const lsc_plan *p, const lsc_sparse *m)
{
    uint64_t s = p->block_w == m->cols ? m->rows : (uint64_t)p->block_h * p->kept_blocks;
    return s < m->nnz ? s : m->nnz;
}

/* The plan of least kernel work among near[0..n) within the slack of the smallest
 * (ties: the smaller plan); *plan is the smallest on entry. Then, if that plan has
 * narrow blocks: at n = 1 each row segment costs the batch-1 form ~10 ns, as
 * much as ~20 values (docs/benchmarks.md, "Stop 14"), which the model above does not
 * see; a whole-width plan within twice the slack with at most half the segments is
 * taken instead (of those, the smallest: the form does not read SRI entries, so a
 * wider index buys nothing at n = 1). Whole-width plans are never skipped by
 * sampling, so this needs no estimate. */
static void least_work(const lsc_plan *near, size_t n, const lsc_sparse *m, uint32_t ppm, lsc_plan *plan)
{
    uint64_t bound = slack_bound(plan->layout.total, ppm);
    uint64_t wide_bound = slack_bound(plan->layout.total, near_ppm(ppm, m->cols, m));
    lsc_plan best = *plan;
    for (size_t k = 0; k < n; k++)
        if (near[k].layout.total <= bound &&
            (kernel_work(&near[k], m) < kernel_work(&best, m) ||
             (kernel_work(&near[k], m) == kernel_work(&best, m) && plan_better(&near[k], &best))))
            best = near[k];
    if (best.block_w != m->cols) {
        uint64_t most = row_segments(&best, m) / 2;
        int found = 0;
        lsc_plan whole = best;
        for (size_t k = 0; k < n; k++)
            if (near[k].block_w == m->cols && near[k].layout.total <= wide_bound &&
                row_segments(&near[k], m) <= most && (!found || plan_better(&near[k], &whole))) {
                whole = near[k];
                found = 1;
            }
        best = whole;
    }
    *plan = best;
}

static lsc_status search_plan(const lsc_sparse *m, int rank, unsigned elem_size, const lsc_search_limits *limits,
                              int sampling, lsc_plan *plan, int *sampling_held, lsc_error *error)
{
    if ((limits->block_h == 0) != (limits->block_w == 0))
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "block_h and block_w must be forced together");
    if (limits->block_h > m->rows || limits->block_w > m->cols)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "forced block %u x %u exceeds the %u x %u matrix",
                        limits->block_h, limits->block_w, m->rows, m->cols);
    if (limits->index_bits > LSC_INDEX_BITS_MAX)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "index_bits %u outside 1..%d", limits->index_bits,
                        LSC_INDEX_BITS_MAX);
    unsigned b_lo = limits->index_bits ? limits->index_bits : 1;
    unsigned b_hi = limits->index_bits ? limits->index_bits : LSC_INDEX_BITS_MAX;

    uint32_t hs[40], ws[40];
    unsigned nh = side_candidates(m->rows, limits->block_h, 0, hs);
    if (!limits->block_h) {
        /* Heights that leave too few block rows for threads are not candidates
         * (height 1 always stays: rows block rows). */
        uint32_t min_br = lsc_search_min_block_rows(m->rows, limits->min_block_rows);
        unsigned kept_h = 0;
        for (unsigned i = 0; i < nh; i++)
            if (lsc_ceil_div_u64(m->rows, hs[i]) >= min_br)
                hs[kept_h++] = hs[i];
        nh = kept_h;
    }
    uint32_t max_h = 0; /* the all-heights pass stops there */
    for (unsigned i = 0; i < nh; i++) {
        max_h = hs[i] > max_h ? hs[i] : max_h;
        if (hs[i] & (hs[i] - 1)) /* a height that does not divide the bands */
            sampling = 0;
    }
    if (limits->block_h || !limits->size_slack_ppm || m->nnz < SAMPLE_MIN_VALUES ||
        (uint64_t)max_h * SAMPLE_STRIDE * 4 > m->rows)
        sampling = 0;
    unsigned nw = side_candidates(m->cols, limits->block_w, 1, ws);
    candidate *cands = malloc(((size_t)nh * nw + 1) * sizeof *cands);
    if (!cands)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the block search");
    unsigned n = 0;
    for (unsigned i = 0; i < nh; i++)
        for (unsigned j = 0; j < nw; j++) {
            cands[n].bh = hs[i];
            cands[n].bw = ws[j];
            cands[n].blocks = lsc_ceil_div_u64(m->rows, hs[i]) * lsc_ceil_div_u64(m->cols, ws[j]);
            cands[n].priced = 0;
            n++;
        }
    qsort(cands, n, sizeof *cands, candidate_order);

    lsc_search_scratch *scratch = NULL;
    lsc_heights *heights = NULL, *sample_heights = NULL;
    lsc_sparse sample = {0};
    lsc_status st = lsc_search_scratch_create(m, &scratch, error);
    if (st == LSC_OK && !limits->block_h)
        st = lsc_heights_create(m, &heights, error);
    if (st != LSC_OK) {
        lsc_search_scratch_free(&scratch);
        free(cands);
        return st;
    }
    if (sampling && (sample_bands(m, max_h, &sample) || lsc_heights_create(&sample, &sample_heights, NULL)))
        sampling = 0;
    int have = 0;
    lsc_plan *near = NULL; /* with a size slack: every plan that may end up within it */
    size_t n_near = 0, cap_near = 0;
    uint64_t skipped_floor = UINT64_MAX; /* least size a skipped width may reach */
    for (unsigned i = 0; i < n; i++) {
        lsc_shape_cost cost;
        if (sampling && have && cands[i].bw != m->cols && (i == 0 || cands[i].bw != cands[i - 1].bw)) {
            uint64_t est = sampled_smallest(m, &sample, sample_heights, rank, elem_size, cands[i].bw, max_h,
                                            b_lo, b_hi);
            uint64_t floor = est == UINT64_MAX ? 0 : est - est / 1000000 * SAMPLE_MARGIN_PPM;
            lsc_plan chosen = *plan;
            least_work(near, n_near, m, limits->size_slack_ppm, &chosen);
            if (kernel_work(&chosen, m) < NARROW_WORK_PER_VALUE * m->nnz &&
                chosen.layout.total <= slack_bound(floor, limits->size_slack_ppm)) {
                skipped_floor = floor < skipped_floor ? floor : skipped_floor;
                while (i + 1 < n && cands[i + 1].bw == cands[i].bw)
                    i++;
                continue;
            }
        }
        if (heights && (i == 0 || cands[i].bw != cands[i - 1].bw) &&
            width_may_pay(cands, i, n, rank, elem_size, m, b_lo,
                          have ? slack_bound(plan->layout.total, near_ppm(limits->size_slack_ppm,
                                                                          cands[i].bw, m))
                               : UINT64_MAX)) {
            /* First candidate of a width: price all its heights at once. */
            uint32_t hh[LSC_MAX_HEIGHTS];
            lsc_shape_cost hc[LSC_MAX_HEIGHTS];
            unsigned hn = 0;
            int fallback = lsc_heights_evaluate(m, cands[i].bw, max_h, heights, hh, hc, &hn);
            for (unsigned j = i; j < n && cands[j].bw == cands[i].bw; j++) {
                cands[j].priced = 0;
                for (unsigned k = 0; k < hn && !fallback; k++)
                    if (hh[k] == cands[j].bh) {
                        cands[j].cost = hc[k];
                        cands[j].priced = 1;
                    }
            }
        }
        if (heights && cands[i].priced) {
            cost = cands[i].cost;
        } else {
            lsc_plan lb = {0};
            /* Lower bound: one entry per value at the narrowest width. */
            if (lsc_blob_layout_compute(rank, elem_size, m->rows, m->cols, cands[i].bh, cands[i].bw, b_lo,
                                        m->nnz, m->nnz, &lb.layout))
                continue;
            if (have && lb.layout.total > slack_bound(plan->layout.total,
                                                      near_ppm(limits->size_slack_ppm, cands[i].bw, m)))
                continue;
            lsc_search_evaluate(m, cands[i].bh, cands[i].bw, scratch, &cost);
        }
        lsc_plan p = {.block_h = cands[i].bh, .block_w = cands[i].bw};
        for (unsigned b = b_lo; b <= b_hi; b++) {
            p.index_bits = b;
            p.n_entries = cost.entries[b];
            p.kept_blocks = cost.kept_blocks;
            if (lsc_blob_layout_compute(rank, elem_size, m->rows, m->cols, p.block_h, p.block_w, b, m->nnz,
                                        p.n_entries, &p.layout))
                continue;
            /* Pointer fields are read 57 bits at a time at most (blob.h). */
            if (p.layout.ptr_entry_bits > 57 || p.layout.ptr_value_bits > 57)
                continue;
            if (limits->size_slack_ppm &&
                (!have || p.layout.total <= slack_bound(plan->layout.total,
                                                        near_ppm(limits->size_slack_ppm, p.block_w, m)))) {
                if (n_near == cap_near) {
                    size_t cap = cap_near ? 2 * cap_near : 256;
                    lsc_plan *grown = realloc(near, cap * sizeof *near);
                    if (!grown) {
                        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the block search");
                        goto done;
                    }
                    near = grown;
                    cap_near = cap;
                }
                near[n_near++] = p;
            }
            if (!have || plan_better(&p, plan)) {
                *plan = p;
                have = 1;
            }
        }
    }
    /* With a size slack: of the plans within it of the smallest, the least kernel work
     * (ties: the smaller plan, so the choice is deterministic). */
    if (have && limits->size_slack_ppm)
        least_work(near, n_near, m, limits->size_slack_ppm, plan);
    /* The skipped widths, at their floors, would have left this choice as it is. */
    *sampling_held = !have || skipped_floor == UINT64_MAX ||
                     (kernel_work(plan, m) < NARROW_WORK_PER_VALUE * m->nnz &&
                      plan->layout.total <= slack_bound(skipped_floor, limits->size_slack_ppm));
done:
    free(near);
    lsc_heights_free(&heights);
    lsc_heights_free(&sample_heights);
    lsc_sparse_free(&sample);
    free(cands);
    lsc_search_scratch_free(&scratch);
    if (st != LSC_OK)
        return st;
    if (!have)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "no encoding of the %u x %u matrix fits 64-bit sizes",
                        m->rows, m->cols);
    return LSC_OK;
}

lsc_status lsc_search_plan(const lsc_sparse *m, int rank, unsigned elem_size,
                           const lsc_search_limits *limits, lsc_plan *plan, lsc_error *error)
{
    int held = 1;
    LSC_TRY(search_plan(m, rank, elem_size, limits, !limits->price_every_width, plan, &held, error));
    return held ? LSC_OK : search_plan(m, rank, elem_size, limits, 0, plan, &held, error);
}
