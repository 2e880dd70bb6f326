/* All block heights 1, 2, 4, ... (and the full height) for one block width, from one
 * pass over the non-zeros and then work proportional to the kept blocks.
 *
 * Doubling the block height stacks block row 2R over 2R+1: a block (R, C) of height
 * 2h holds block (2R, C)'s values, then block (2R+1, C)'s shifted by h*bw, in scan
 * order. So gaps inside a block stay gaps inside a block; the only new in-block gap
 * is the junction between the two halves, and gaps between kept blocks follow from
 * each block's first and last position. Keeping (block column, first, last) per kept
 * block, every level is priced from the level below. */
#include "codec/heights.h"

#include <stdlib.h>
#include <string.h>

#include "common/checked.h"
#include "common/error.h"

#define GAP_HIST 4096

typedef struct block_sum {
    uint32_t bcol, first, last; /* positions inside the block */
} block_sum;

/* hist[cap + k] (k < NO_GAP_SLOTS, taken in turn) take the branchless stacking
 * loop's increments for "no gap": consecutive increments of one counter would each
 * wait for the last. */
#define NO_GAP_SLOTS 4

/* hist has cap + NO_GAP_SLOTS counts, cap = GAP_HIST or less for a small matrix,
 * whose gaps never reach GAP_HIST (gap_limit): 32 KiB per histogram and level,
 * allocated and cleared layer after layer, was most of a small layer's search. */
typedef struct gap_hist {
    uint64_t *hist;
    uint64_t big[LSC_INDEX_BITS_MAX + 1];
    uint32_t cap;
    uint32_t dirty; /* hist[dirty..cap) are 0 (set by the last price of a pass) */
} gap_hist;

struct lsc_heights {
    block_sum *sum[2];    /* kept blocks of the current and the next level (sum_cap each) */
    size_t sum_cap;       /* grown on demand: a chunk's values, or the matrix's unchunked */
    uint64_t *start[2];   /* per block row: index of its first kept block */
    gap_hist inner, cross; /* gaps inside blocks (cumulative), between blocks (per level) */
    gap_hist *junction;    /* chunked pass, per level: gaps new inside its blocks (level 0: in rows) */
    gap_hist *across;      /* chunked pass, per level: gaps between its blocks */
    uint64_t *hist_mem;    /* the histograms' counts */
    uint32_t limit;        /* this evaluation's gaps are all below it (<= GAP_HIST): what is cleared and read */
};

static uint32_t gap_limit(const lsc_sparse *m, uint32_t bw, unsigned levels);

static unsigned levels_of(uint32_t rows)
{
    unsigned levels = 0;
    while ((UINT64_C(1) << levels) < rows)
        levels++;
    return levels;
}

lsc_status lsc_heights_create(const lsc_sparse *m, lsc_heights **out, lsc_error *error)
{
    lsc_heights *h = calloc(1, sizeof *h);
    for (int i = 0; h && i < 2; i++)
        h->start[i] = malloc(((size_t)m->rows + 1) * sizeof(uint64_t));
    /* the chunked pass's levels: below ceil(log2 rows) (lsc_heights_evaluate), not
     * LSC_MAX_HEIGHTS (2.2 MB of fresh pages per small layer) */
    unsigned all = levels_of(m->rows), levels = all < 1 ? 1 : all < LSC_MAX_HEIGHTS - 1 ? all : LSC_MAX_HEIGHTS - 1;
    /* every width's gaps are below the bound of the widest with two block columns or
     * of the full width (gap_limit: 2 bw 2^all at most) */
    uint32_t cap = gap_limit(m, m->cols, all);
    if (m->cols > 1 && gap_limit(m, m->cols - 1, all) > cap)
        cap = gap_limit(m, m->cols - 1, all);
    size_t stride = (size_t)cap + NO_GAP_SLOTS;
    if (h) {
        h->junction = calloc(levels, sizeof *h->junction);
        h->across = calloc(levels, sizeof *h->across);
        h->hist_mem = calloc((2 + 2 * (size_t)levels) * stride, sizeof *h->hist_mem); /* zero: dirty 0 */
    }
    if (h && h->junction && h->across && h->hist_mem) {
        gap_hist *pair[2] = {&h->inner, &h->cross};
        for (unsigned i = 0; i < 2 + 2 * levels; i++) {
            gap_hist *g = i < 2 ? pair[i] : i < 2 + levels ? &h->junction[i - 2] : &h->across[i - 2 - levels];
            g->hist = h->hist_mem + i * stride;
            g->cap = cap;
        }
    }
    if (!h || !h->start[0] || !h->start[1] || !h->junction || !h->across || !h->hist_mem) {
        lsc_heights_free(&h);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the block search of a %u x %u matrix",
                        m->rows, m->cols);
    }
    *out = h;
    return LSC_OK;
}

void lsc_heights_free(lsc_heights **h)
{
    if (!h || !*h)
        return;
    for (int i = 0; i < 2; i++) {
        free((*h)->sum[i]);
        free((*h)->start[i]);
    }
    free((*h)->junction);
    free((*h)->across);
    free((*h)->hist_mem);
    free(*h);
    *h = NULL;
}

/* Room for n summaries per level; 1 if it cannot be had. */
static int reserve_sums(lsc_heights *h, uint64_t n)
{
    if (n == 0)
        n = 1;
    if (n <= h->sum_cap)
        return 0;
    for (int i = 0; i < 2; i++) {
        free(h->sum[i]);
        h->sum[i] = n <= SIZE_MAX / sizeof(block_sum) ? malloc((size_t)n * sizeof(block_sum)) : NULL;
    }
    h->sum_cap = h->sum[0] && h->sum[1] ? (size_t)n : 0;
    return h->sum_cap == 0;
}

static inline void add_gap(gap_hist *g, uint64_t gap)
{
    if (gap < g->cap) { /* the same count as through big, which takes any gap */
        g->hist[gap]++;
    } else {
        for (unsigned b = 1; b <= LSC_INDEX_BITS_MAX; b++)
            g->big[b] += lsc_sri_entries(gap, b) - 1;
    }
}

/* Clears the counts that may be non-zero and the no-gap slots, for a pass whose gaps
 * are all below `limit`: clearing all 32 KiB of each histogram per level and width
 * (and faulting in fresh pages for it, layer after layer) was most of a small
 * layer's search. */
static void clear(gap_hist *g, uint32_t limit)
{
    memset(g->hist, 0, g->dirty * sizeof g->hist[0]);
    memset(g->hist + g->cap, 0, NO_GAP_SLOTS * sizeof g->hist[0]);
    memset(g->big, 0, sizeof g->big);
    g->dirty = limit;
}

/* The largest small gap counted in a or b (0 if none; all below limit), to bound the
 * pricing loop. */
static uint32_t top_gap(const gap_hist *a, const gap_hist *b, uint32_t limit)
{
    /* eight counts at a time (vector ORs): small layers leave most of them 0 */
    uint32_t g = limit;
    for (; g >= 8; g -= 8) {
        uint64_t any = 0;
        for (unsigned k = 1; k <= 8; k++)
            any |= a->hist[g - k] | b->hist[g - k];
        if (any)
            break;
    }
    while (g > 0 && !a->hist[g - 1] && !b->hist[g - 1])
        g--;
    return g ? g - 1 : 0;
}

/* Returns the largest small gap counted in a or b: no count above it is non-zero. */
static uint32_t price(const lsc_sparse *m, const gap_hist *a, const gap_hist *b, uint64_t kept, uint32_t limit,
                      lsc_shape_cost *cost)
{
    uint64_t suffix[GAP_HIST + 1];
    cost->kept_blocks = kept;
    cost->entries[0] = 0;
    for (unsigned w = 1; w <= LSC_INDEX_BITS_MAX; w++)
        cost->entries[w] = m->nnz + a->big[w] + b->big[w];
    uint32_t top = top_gap(a, b, limit);
    lsc_sri_extra_entries(a->hist, b->hist, top, suffix, cost->entries);
    return top;
}

/* cond (0 or 1) ? a : b, as masks: the compiler turns a ternary of loads into a
 * branch, and these conditions are coin tosses on sparse rows. */
static inline uint32_t pick(uint32_t cond, uint32_t a, uint32_t b)
{
    uint32_t mask = -cond;
    return (a & mask) | (b & ~mask);
}

/* Level 0 for a power-of-two width of at most GAP_HIST: the summaries of each row's
 * segments, and the gaps inside them (all < bw). Whether a value starts a segment
 * picks the summary's fields without a branch; only the gap count is branched on
 * (measured faster than counting "no gap" in a spare slot). Returns the count. */
static __attribute__((noinline)) uint64_t level0_rows(const lsc_sparse *m, uint32_t r0, uint32_t r1,
                                                      unsigned shift, block_sum *sum, uint64_t *start,
                                                      uint64_t *hist)
{
    block_sum *seg = sum - 1; /* the current segment; written once a value is read */
    uint32_t mask = (UINT32_C(1) << shift) - 1;
    const uint32_t *col = m->col;
    for (uint32_t r = r0; r < r1; r++) {
        start[r - r0] = (uint64_t)(seg + 1 - sum);
        uint32_t prev_bc = UINT32_MAX, first = 0, last = 0;
        for (const uint32_t *c = col + m->row_ptr[r], *end = col + m->row_ptr[r + 1]; c < end; c++) {
            uint32_t bc = *c >> shift, lc = *c & mask;
            uint32_t same = bc == prev_bc;
            if (same)
                hist[lc - last - 1]++;
            seg += !same;
            first = pick(same, first, lc);
            last = lc;
            prev_bc = bc;
            seg->bcol = bc;
            seg->first = first;
            seg->last = lc;
        }
    }
    return (uint64_t)(seg + 1 - sum);
}

/* Level 0 for any width. */
static uint64_t level0_rows_general(const lsc_sparse *m, uint32_t r0, uint32_t r1, uint32_t bw, int pow2,
                                    unsigned shift, block_sum *sum, uint64_t *start, gap_hist *inner)
{
    uint64_t n = 0;
    for (uint32_t r = r0; r < r1; r++) {
        start[r - r0] = n;
        uint32_t prev_bc = UINT32_MAX;
        for (uint64_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; k++) {
            uint32_t c = m->col[k], bc = pow2 ? c >> shift : c / bw, lc = c - bc * bw;
            if (bc == prev_bc) {
                add_gap(inner, lc - sum[n - 1].last - 1);
                sum[n - 1].last = lc;
            } else {
                sum[n].bcol = bc;
                sum[n].first = sum[n].last = lc;
                n++;
                prev_bc = bc;
            }
        }
    }
    return n;
}

/* Stacks the block rows of one level pairwise (blocks of S positions) into the next:
 * out and out_start, the junction gaps into inner, and the next level's gaps between
 * kept blocks into across (priced here, as each block comes out, rather than in a
 * pass of their own). Branchless while both rows of a pair have blocks left (which
 * one comes first is a coin toss on sparse rows); `small` (2S <= GAP_HIST: every
 * junction gap is small) is a constant in each copy. Returns the kept blocks. */
static inline __attribute__((always_inline)) uint64_t
stack_level_(const block_sum *sum, const uint64_t *start, uint64_t n_brows, uint32_t S, block_sum *out,
             uint64_t *out_start, gap_hist *inner, gap_hist *across, int small)
{
    block_sum *o = out;
    uint64_t *hist = inner->hist;
    uint64_t S2 = 2 * (uint64_t)S;
    uint32_t slot = 0, no_gap = inner->cap;
    for (uint64_t R = 0; 2 * R < n_brows; R++) {
        out_start[R] = (uint64_t)(o - out);
        const block_sum *a = sum + start[2 * R], *ae = sum + start[2 * R + 1];
        const block_sum *b = ae, *be = 2 * R + 1 < n_brows ? sum + start[2 * R + 2] : ae;
        uint64_t prev_last = S2 - 1;
        while (a < ae && b < be) {
            uint32_t ca = a->bcol, cb = b->bcol;
            uint32_t ta = ca <= cb, tb = cb <= ca;
            uint32_t gap = b->first + (S - 1 - a->last);
            if (small) {
                slot = (slot + 1) & (NO_GAP_SLOTS - 1);
                hist[pick(ta & tb, gap, no_gap + slot)]++;
            } else if (ta & tb) {
                add_gap(inner, gap);
            }
            o->bcol = ca < cb ? ca : cb;
            o->first = pick(ta, a->first, b->first + S);
            o->last = pick(tb, b->last + S, a->last);
            add_gap(across, o->first + (S2 - 1 - prev_last));
            prev_last = o->last;
            o++;
            a += ta;
            b += tb;
        }
        for (; a < ae; a++, o++) {
            *o = *a;
            add_gap(across, o->first + (S2 - 1 - prev_last));
            prev_last = o->last;
        }
        for (; b < be; b++, o++) {
            o->bcol = b->bcol;
            o->first = b->first + S;
            o->last = b->last + S;
            add_gap(across, o->first + (S2 - 1 - prev_last));
            prev_last = o->last;
        }
    }
    return (uint64_t)(o - out);
}

static __attribute__((noinline)) uint64_t stack_level_small(const block_sum *sum, const uint64_t *start,
                                                            uint64_t n_brows, uint32_t S, block_sum *out,
                                                            uint64_t *out_start, gap_hist *inner,
                                                            gap_hist *across)
{
    return stack_level_(sum, start, n_brows, S, out, out_start, inner, across, 1);
}

static __attribute__((noinline)) uint64_t stack_level_any(const block_sum *sum, const uint64_t *start,
                                                          uint64_t n_brows, uint32_t S, block_sum *out,
                                                          uint64_t *out_start, gap_hist *inner, gap_hist *across)
{
    return stack_level_(sum, start, n_brows, S, out, out_start, inner, across, 0);
}

/* Adds the gaps between the kept blocks of each block row (blocks of S positions)
 * to g; returns the kept blocks. */
static uint64_t price_cross(gap_hist *g, const block_sum *sum, const uint64_t *start, uint64_t n_brows,
                            uint64_t S)
{
    for (uint64_t R = 0; R < n_brows; R++) {
        uint64_t i = start[R], end = start[R + 1];
        for (uint64_t prev_last = S - 1; i < end; i++) {
            add_gap(g, sum[i].first + (S - 1 - prev_last));
            prev_last = sum[i].last;
        }
    }
    return start[n_brows];
}

/* Stacks one level's block rows into the next (blocks of S positions). */
static uint64_t stack_level(const block_sum *sum, const uint64_t *start, uint64_t n_brows, uint64_t S,
                            block_sum *out, uint64_t *out_start, gap_hist *junction, gap_hist *across)
{
    return 2 * S <= GAP_HIST
               ? stack_level_small(sum, start, n_brows, (uint32_t)S, out, out_start, junction, across)
               : stack_level_any(sum, start, n_brows, (uint32_t)S, out, out_start, junction, across);
}

/* Rows per chunk of the chunked pass: a multiple of the tallest block height, with
 * at least CHUNK_VALUES values on average so the per-chunk work stays small. */
#define CHUNK_VALUES 65536

/* Levels 0..top (block heights 1..2^top < rows), chunk by chunk of rows: blocks never
 * straddle a chunk, so each chunk's summaries stay in cache between levels instead
 * of streaming the whole matrix's through memory once per level; the gaps of each
 * level are summed over the chunks and priced at the end. */
static void evaluate_chunked(const lsc_sparse *m, uint32_t bw, unsigned top_level, uint64_t chunk, lsc_heights *h,
                             uint32_t *heights, lsc_shape_cost *costs)
{
    int pow2 = (bw & (bw - 1)) == 0;
    unsigned shift = (unsigned)__builtin_ctz(bw);
    uint64_t kept[LSC_MAX_HEIGHTS] = {0};
    for (unsigned l = 0; l <= top_level; l++) {
        clear(&h->junction[l], h->limit);
        clear(&h->across[l], h->limit);
    }
    for (uint64_t r0 = 0; r0 < m->rows; r0 += chunk) {
        uint32_t r1 = (uint32_t)(r0 + chunk < m->rows ? r0 + chunk : m->rows);
        block_sum *sum = h->sum[0];
        uint64_t *start = h->start[0], n_brows = r1 - r0;
        start[n_brows] = pow2 && bw <= GAP_HIST
                             ? level0_rows(m, (uint32_t)r0, r1, shift, sum, start, h->junction[0].hist)
                             : level0_rows_general(m, (uint32_t)r0, r1, bw, pow2, shift, sum, start,
                                                   &h->junction[0]);
        kept[0] += price_cross(&h->across[0], sum, start, n_brows, bw);
        for (unsigned l = 0; l < top_level; l++) {
            uint64_t S = (uint64_t)bw << l;
            block_sum *out = h->sum[!(l & 1)];
            uint64_t *out_start = h->start[!(l & 1)], next_brows = (n_brows + 1) / 2;
            out_start[next_brows] =
                stack_level(sum, start, n_brows, S, out, out_start, &h->junction[l + 1], &h->across[l + 1]);
            kept[l + 1] += out_start[next_brows];
            sum = out;
            start = out_start;
            n_brows = next_brows;
        }
    }
    clear(&h->inner, h->limit); /* the gaps inside the blocks of level l: those new at levels 0..l */
    for (unsigned l = 0; l <= top_level; l++) {
        for (unsigned g = 0; g < h->limit; g++)
            h->inner.hist[g] += h->junction[l].hist[g];
        for (unsigned b = 1; b <= LSC_INDEX_BITS_MAX; b++)
            h->inner.big[b] += h->junction[l].big[b];
        heights[l] = UINT32_C(1) << l;
        /* done with level l: its counts, and the levels' below it, are 0 above top */
        uint32_t top_gap = price(m, &h->inner, &h->across[l], kept[l], h->limit, &costs[l]);
        h->across[l].dirty = h->junction[l].dirty = top_gap + 1;
        if (l == top_level)
            h->inner.dirty = top_gap + 1;
    }
}

/* A bound on every gap an evaluation counts: blocks hold at most S = bw 2^levels
 * positions (the tallest level, and the full height: rows <= 2^levels); a gap inside
 * a block is below S, and one between kept blocks of a block row (the first's end to
 * the next's first value, empty blocks not counted) below 2S, or below S when a
 * block row is one block. Capped at GAP_HIST: larger gaps go to `big`. */
static uint32_t gap_limit(const lsc_sparse *m, uint32_t bw, unsigned levels)
{
    if (bw == 0 || levels >= 12 || ((uint64_t)bw << levels) >= GAP_HIST)
        return GAP_HIST;
    uint64_t S = (uint64_t)bw << levels, limit = m->cols > bw ? 2 * S : S; /* more than one block column */
    return limit < GAP_HIST ? (uint32_t)limit : GAP_HIST;
}

int lsc_heights_evaluate(const lsc_sparse *m, uint32_t bw, uint32_t max_h, lsc_heights *h, uint32_t *heights,
                         lsc_shape_cost *costs, unsigned *n_out)
{
    unsigned levels = 0;
    while ((UINT64_C(1) << levels) < m->rows)
        levels++;
    /* Positions inside the tallest block must fit 32 bits. */
    if (((uint64_t)bw << levels) > UINT32_MAX)
        return 1;
    int pow2 = (bw & (bw - 1)) == 0;
    unsigned shift = (unsigned)__builtin_ctz(bw);
    h->limit = gap_limit(m, bw, levels);
    if (h->limit > h->inner.cap) /* not for a width wider than the matrix: cannot be */
        return 1;

    /* Heights stop after the first level whose doubled height is above max_h and
     * below rows (taller ones are not candidates): then chunks serve; else the whole
     * matrix, up to one block row and the full height. */
    for (unsigned l = 0; l < levels && l + 1 < LSC_MAX_HEIGHTS; l++) {
        uint64_t twice = UINT64_C(2) << l;
        if (twice > max_h && twice < m->rows) {
            uint64_t chunk = UINT64_C(1) << l, per_row = m->nnz / m->rows + 1, most = 0;
            while (chunk * per_row < CHUNK_VALUES && chunk < m->rows)
                chunk *= 2;
            for (uint64_t r0 = 0; r0 < m->rows; r0 += chunk) {
                uint64_t r1 = r0 + chunk < m->rows ? r0 + chunk : m->rows;
                most = m->row_ptr[r1] - m->row_ptr[r0] > most ? m->row_ptr[r1] - m->row_ptr[r0] : most;
            }
            if (reserve_sums(h, most))
                return 1;
            evaluate_chunked(m, bw, l, chunk, h, heights, costs);
            *n_out = l + 1;
            return 0;
        }
    }

    if (reserve_sums(h, m->nnz))
        return 1;
    /* Level 0: one block row per row. */
    clear(&h->inner, h->limit);
    block_sum *sum = h->sum[0];
    uint64_t *start = h->start[0], n = 0;
    if (pow2 && bw <= GAP_HIST)
        n = level0_rows(m, 0, m->rows, shift, sum, start, h->inner.hist);
    else
        n = level0_rows_general(m, 0, m->rows, bw, pow2, shift, sum, start, &h->inner);
    start[m->rows] = n;

    unsigned count = 0;
    uint64_t n_brows = m->rows;
    clear(&h->cross, h->limit);
    uint64_t kept = price_cross(&h->cross, sum, start, n_brows, bw);
    for (unsigned level = 0;; level++) {
        uint64_t bh = UINT64_C(1) << level, S = bh * bw;
        if (bh <= m->rows) {
            heights[count] = (uint32_t)bh;
            h->cross.dirty = h->inner.dirty = 1 + price(m, &h->inner, &h->cross, kept, h->limit, &costs[count++]);
        }
        if (n_brows == 1) {
            /* The full height: the same single block row, blocks of rows * bw. */
            if (bh != m->rows) {
                clear(&h->cross, h->limit);
                kept = price_cross(&h->cross, sum, start, 1, (uint64_t)m->rows * bw);
                heights[count] = m->rows;
                h->cross.dirty = h->inner.dirty =
                    1 + price(m, &h->inner, &h->cross, kept, h->limit, &costs[count++]);
            }
            break;
        }
        /* Stack block rows pairwise into the next level. */
        int cur = level & 1;
        block_sum *out = h->sum[!cur];
        uint64_t *out_start = h->start[!cur], next_brows = (n_brows + 1) / 2;
        clear(&h->cross, h->limit);
        kept = out_start[next_brows] = stack_level(sum, start, n_brows, S, out, out_start, &h->inner, &h->cross);
        sum = out;
        start = out_start;
        n_brows = next_brows;
    }
    *n_out = count;
    return 0;
}
