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

/* Slots past GAP_HIST take the branchless loops' "no gap" increments; four of them,
 * taken in turn, so that those increments do not wait on each other. */
#define NO_GAP_SLOTS 4

typedef struct gap_hist {
    uint64_t hist[GAP_HIST + NO_GAP_SLOTS];
    uint64_t big[LSC_INDEX_BITS_MAX + 1];
    uint32_t max; /* largest small gap counted, to bound the pricing loop */
} gap_hist;

struct lsc_heights {
    block_sum *sum[2];    /* kept blocks of the current and the next level */
    uint64_t *start[2];   /* per block row: index of its first kept block */
    gap_hist inner, cross; /* gaps inside blocks (cumulative), between blocks (per level) */
};

lsc_status lsc_heights_create(const lsc_sparse *m, lsc_heights **out, lsc_error *error)
{
    lsc_heights *h = calloc(1, sizeof *h);
    size_t n = (size_t)(m->nnz ? m->nnz : 1);
    for (int i = 0; h && i < 2; i++) {
        h->sum[i] = malloc(n * sizeof(block_sum));
        h->start[i] = malloc(((size_t)m->rows + 1) * sizeof(uint64_t));
    }
    if (!h || !h->sum[0] || !h->sum[1] || !h->start[0] || !h->start[1]) {
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
    free(*h);
    *h = NULL;
}

static inline void add_gap(gap_hist *g, uint64_t gap)
{
    if (gap < GAP_HIST) {
        g->hist[gap]++;
        g->max = gap > g->max ? (uint32_t)gap : g->max;
    } else {
        for (unsigned b = 1; b <= LSC_INDEX_BITS_MAX; b++)
            g->big[b] += lsc_sri_entries(gap, b) - 1;
    }
}

static void clear(gap_hist *g)
{
    memset(g->hist, 0, sizeof g->hist);
    memset(g->big, 0, sizeof g->big);
    g->max = 0;
}

static void price(const lsc_sparse *m, const gap_hist *a, const gap_hist *b, uint64_t kept,
                  lsc_shape_cost *cost)
{
    uint32_t max = a->max > b->max ? a->max : b->max;
    cost->kept_blocks = kept;
    cost->entries[0] = 0;
    for (unsigned w = 1; w <= LSC_INDEX_BITS_MAX; w++) {
        uint64_t n = m->nnz + a->big[w] + b->big[w];
        /* Below H = 2^(w-1) a gap costs no extra entry. */
        for (uint64_t g = UINT64_C(1) << (w - 1); g <= max; g++) {
            uint64_t count = a->hist[g] + b->hist[g];
            if (count)
                n += count * (lsc_sri_entries(g, w) - 1);
        }
        cost->entries[w] = n;
    }
}

/* cond (0 or 1) ? a : b, as masks: the compiler turns a ternary of loads into a
 * branch, and these conditions are coin tosses. */
static inline uint32_t pick(uint32_t cond, uint32_t a, uint32_t b)
{
    uint32_t mask = -cond;
    return (a & mask) | (b & ~mask);
}

/* Level 0 for a power-of-two width of at most GAP_HIST: the summaries of each row's
 * segments, and the gaps inside them (all < bw), without a branch on whether a
 * value starts a new segment (at mid widths that branch mispredicts half the time). */
static uint64_t level0_rows(const lsc_sparse *m, unsigned shift, block_sum *sum, uint64_t *start,
                            gap_hist *inner)
{
    uint64_t n = 0, slot = 0;
    uint32_t max = inner->max;
    for (uint32_t r = 0; r < m->rows; r++) {
        start[r] = n;
        uint32_t prev_bc = UINT32_MAX, first = 0, last = 0;
        for (uint64_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; k++) {
            uint32_t c = m->col[k], bc = c >> shift, lc = c & ((UINT32_C(1) << shift) - 1);
            uint32_t same = bc == prev_bc;
            uint32_t gap = lc - last - 1;
            slot = (slot + 1) & (NO_GAP_SLOTS - 1);
            inner->hist[pick(same, gap, (uint32_t)(GAP_HIST + slot))]++;
            uint32_t g = gap & -same;
            max = g > max ? g : max;
            n += !same;
            first = pick(same, first, lc);
            last = lc;
            prev_bc = bc;
            sum[n - 1].bcol = bc;
            sum[n - 1].first = first;
            sum[n - 1].last = lc;
        }
    }
    inner->max = max;
    return n;
}

/* Level 0 for any width. */
static uint64_t level0_rows_general(const lsc_sparse *m, uint32_t bw, int pow2, unsigned shift, block_sum *sum,
                                    uint64_t *start, gap_hist *inner)
{
    uint64_t n = 0;
    for (uint32_t r = 0; r < m->rows; r++) {
        start[r] = n;
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

/* Stacks block row j (sum[j..je)) under block row i (sum[i..ie)), blocks of S
 * positions, into out[o..); returns the new o. Branchless while both have blocks
 * left (which one goes first is a coin toss on sparse rows); `small` (2S <= GAP_HIST:
 * every junction gap is small) is a constant in each inlined copy. */
static inline __attribute__((always_inline)) uint64_t
stack_pair(const block_sum *sum, uint64_t i, uint64_t ie, uint64_t j, uint64_t je, uint32_t S, block_sum *out,
           uint64_t o, gap_hist *inner, int small)
{
    uint64_t slot = 0;
    uint32_t max = inner->max;
    while (i < ie && j < je) {
        block_sum a = sum[i], b = sum[j];
        uint32_t ta = a.bcol <= b.bcol, tb = b.bcol <= a.bcol;
        uint32_t gap = b.first + (S - 1 - a.last);
        if (small) {
            slot = (slot + 1) & (NO_GAP_SLOTS - 1);
            inner->hist[pick(ta & tb, gap, (uint32_t)(GAP_HIST + slot))]++;
            uint32_t g = gap & -(ta & tb);
            max = g > max ? g : max;
        } else if (ta & tb) {
            inner->max = max;
            add_gap(inner, gap);
            max = inner->max;
        }
        out[o].bcol = a.bcol < b.bcol ? a.bcol : b.bcol;
        out[o].first = pick(ta, a.first, b.first + S);
        out[o].last = pick(tb, b.last + S, a.last);
        o++;
        i += ta;
        j += tb;
    }
    inner->max = max;
    for (; i < ie; i++)
        out[o++] = sum[i];
    for (; j < je; j++, o++) {
        out[o].bcol = sum[j].bcol;
        out[o].first = sum[j].first + S;
        out[o].last = sum[j].last + S;
    }
    return o;
}

/* Gaps between the kept blocks of each block row, for blocks of S positions. */
static uint64_t price_cross(lsc_heights *h, const block_sum *sum, const uint64_t *start, uint64_t n_brows,
                            uint64_t S)
{
    gap_hist *g = &h->cross;
    clear(g);
    uint32_t max = 0; /* kept here, not in g: a store per gap would chain them */
    for (uint64_t R = 0; R < n_brows; R++) {
        uint64_t i = start[R], end = start[R + 1];
        for (uint64_t prev_last = S - 1; i < end; i++) {
            uint64_t gap = sum[i].first + (S - 1 - prev_last);
            prev_last = sum[i].last;
            if (gap < GAP_HIST) {
                g->hist[gap]++;
                max = gap > max ? (uint32_t)gap : max;
            } else {
                add_gap(g, gap);
            }
        }
    }
    g->max = max > g->max ? max : g->max;
    return start[n_brows];
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

    /* Level 0: one block row per row. */
    clear(&h->inner);
    block_sum *sum = h->sum[0];
    uint64_t *start = h->start[0], n = 0;
    if (pow2 && bw <= GAP_HIST)
        n = level0_rows(m, shift, sum, start, &h->inner);
    else
        n = level0_rows_general(m, bw, pow2, shift, sum, start, &h->inner);
    start[m->rows] = n;

    unsigned count = 0;
    uint64_t n_brows = m->rows;
    for (unsigned level = 0;; level++) {
        uint64_t bh = UINT64_C(1) << level, S = bh * bw;
        if (bh <= m->rows) {
            uint64_t kept = price_cross(h, sum, start, n_brows, S);
            heights[count] = (uint32_t)bh;
            price(m, &h->inner, &h->cross, kept, &costs[count++]);
        }
        if (bh * 2 > max_h && bh * 2 < m->rows) /* taller ones are not candidates */
            break;
        if (n_brows == 1) {
            /* The full height: the same single block row, blocks of rows * bw. */
            if (bh != m->rows) {
                uint64_t kept = price_cross(h, sum, start, 1, (uint64_t)m->rows * bw);
                heights[count] = m->rows;
                price(m, &h->inner, &h->cross, kept, &costs[count++]);
            }
            break;
        }
        /* Stack block rows pairwise into the next level. */
        int cur = level & 1;
        block_sum *out = h->sum[!cur];
        uint64_t *out_start = h->start[!cur], o = 0, next_brows = (n_brows + 1) / 2;
        for (uint64_t R = 0; R < next_brows; R++) {
            out_start[R] = o;
            uint64_t i = start[2 * R], ie = start[2 * R + 1];
            uint64_t j = 2 * R + 1 < n_brows ? start[2 * R + 1] : ie;
            uint64_t je = 2 * R + 1 < n_brows ? start[2 * R + 2] : ie;
            if (2 * S <= GAP_HIST)
                o = stack_pair(sum, i, ie, j, je, (uint32_t)S, out, o, &h->inner, 1);
            else
                o = stack_pair(sum, i, ie, j, je, (uint32_t)S, out, o, &h->inner, 0);
        }
        out_start[next_brows] = o;
        sum = out;
        start = out_start;
        n_brows = next_brows;
    }
    *n_out = count;
    return 0;
}
