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

typedef struct gap_hist {
    uint64_t hist[GAP_HIST];
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

/* Gaps between the kept blocks of each block row, for blocks of S positions. */
static uint64_t price_cross(lsc_heights *h, const block_sum *sum, const uint64_t *start, uint64_t n_brows,
                            uint64_t S)
{
    clear(&h->cross);
    for (uint64_t R = 0; R < n_brows; R++) {
        uint64_t i = start[R], end = start[R + 1];
        if (i == end)
            continue;
        add_gap(&h->cross, sum[i].first);
        for (i++; i < end; i++)
            add_gap(&h->cross, sum[i].first + (S - 1 - sum[i - 1].last));
    }
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
    for (uint32_t r = 0; r < m->rows; r++) {
        start[r] = n;
        uint32_t prev_bc = UINT32_MAX;
        for (uint64_t k = m->row_ptr[r]; k < m->row_ptr[r + 1]; k++) {
            uint32_t c = m->col[k], bc = pow2 ? c >> shift : c / bw, lc = c - bc * bw;
            if (bc == prev_bc) {
                add_gap(&h->inner, lc - sum[n - 1].last - 1);
                sum[n - 1].last = lc;
            } else {
                sum[n].bcol = bc;
                sum[n].first = sum[n].last = lc;
                n++;
                prev_bc = bc;
            }
        }
    }
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
            while (i < ie || j < je) {
                if (j == je || (i < ie && sum[i].bcol < sum[j].bcol)) {
                    out[o++] = sum[i++];
                } else if (i == ie || sum[j].bcol < sum[i].bcol) {
                    out[o].bcol = sum[j].bcol;
                    out[o].first = (uint32_t)(sum[j].first + S);
                    out[o].last = (uint32_t)(sum[j].last + S);
                    o++;
                    j++;
                } else {
                    add_gap(&h->inner, sum[j].first + (S - 1 - sum[i].last));
                    out[o].bcol = sum[i].bcol;
                    out[o].first = sum[i].first;
                    out[o].last = (uint32_t)(sum[j].last + S);
                    o++;
                    i++;
                    j++;
                }
            }
        }
        out_start[next_brows] = o;
        sum = out;
        start = out_start;
        n_brows = next_brows;
    }
    *n_out = count;
    return 0;
}
