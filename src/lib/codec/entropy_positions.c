/* The position model of the entropy tier (docs/format.md 4.4). Row by row: the row's
 * count of stored values, then one binary decision per element ("stored here?")
 * under a context (entropy_context.h), until the rest of the row is forced (no value
 * left, or every element left is a value). Format 2 gives each context a fixed
 * probability, sent at the start of the stream (the encoder counts first); format 1
 * adapted them while coding, a dependency from each decision to the next that held
 * its decoder to a third of the speed. Format 2 still uses that adaptive model for
 * small layers, where the table would cost more than it saves. */
#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "codec/entropy_context.h"
#include "codec/entropy_cost.h"
#include "codec/rangecoder.h"
#include "codec/rc_number.h"
#include "common/checked.h"
#include "common/error.h"

/* Format 2's element probabilities: the rarer outcome's, in 1/4096, with 5 significant
 * bits (finer costs more table than it saves), within [1/256, 1/2]. */
#define PROB_BITS 12
#define PROB_ONE (1u << PROB_BITS)
#define PROB_KEEP 4
#define PROB_RARE_MIN (PROB_ONE >> 8)
#define LSC_PARTS_CHUNK 64u /* columns whose context parts the decoder computes at once */

typedef struct position_model {
    lsc_rc_bit element[LSC_ELEMENT_CONTEXTS];    /* format 1: adaptive */
    uint16_t fixed[LSC_ELEMENT_CONTEXTS];        /* format 2: p of a 1 in 1/32768, 0 = never used */
    uint16_t row_part[256];                      /* format 2: lsc_row_part_table */
    uint64_t seen[LSC_ELEMENT_CONTEXTS][2];      /* encoder: decisions per context and outcome */
    lsc_rc_number count;
    uint32_t *col_count; /* per column: values in the rows above */
    uint8_t *col_part;   /* format 2, per column: its part of this row's contexts */
    int no_cols;         /* decoder, format 5 grouped by row only: col_part stays 0 */
    uint32_t cols;
    float *inv;          /* format 2: inv[n] = 1 / n for n = 1..cols */
} position_model;

static void model_free(position_model *pm)
{
    if (pm) {
        free(pm->col_count);
        free(pm->col_part);
        free(pm->inv);
    }
    free(pm);
}

/* `decoder`: a decoder of static tables, which needs neither the adaptive model nor
 * the encoder's counts (a small layer's set-up). */
static lsc_status model_init(position_model *pm, uint32_t cols, int decoder, lsc_error *error)
{
    if (!decoder) {
        lsc_rc_bits_init(pm->element, LSC_ELEMENT_CONTEXTS);
        memset(pm->seen, 0, sizeof pm->seen);
    }
    lsc_row_part_table(pm->row_part);
    memset(pm->fixed, 0, sizeof pm->fixed);
    pm->no_cols = 0;
    pm->cols = cols;
    lsc_rc_number_init(&pm->count, lsc_bits_u64(cols));
    pm->col_count = calloc(cols, sizeof(uint32_t));
    pm->col_part = malloc(cols);
    pm->inv = malloc(((size_t)cols + 1) * sizeof(float));
    if (!pm->col_count || !pm->col_part || !pm->inv)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the column counts of %u columns", cols);
    pm->inv[0] = 0.0f;
    for (uint32_t n = 1; n <= cols; n++)
        pm->inv[n] = 1.0f / (float)n;
    return LSC_OK;
}

static lsc_status model_new(uint32_t cols, int decoder, position_model **out, lsc_error *error)
{
    position_model *pm = malloc(sizeof *pm);
    *out = NULL;
    if (!pm)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the position model");
    lsc_status st = model_init(pm, cols, decoder, error);
    if (st != LSC_OK)
        model_free(pm);
    else
        *out = pm;
    return st;
}

/* ---- the fixed probabilities (format 2) ---- */

static unsigned round_significant(unsigned x, unsigned keep)
{
    unsigned b = lsc_bits_u64(x);
    if (b <= keep + 1)
        return x;
    unsigned s = b - 1 - keep;
    return ((x + (1u << (s - 1))) >> s) << s;
}

/* The rarer outcome's probability as sent, and whether the rarer outcome is 0. */
static void choose_probability(const uint64_t seen[2], unsigned *rare, unsigned *ones_common)
{
    uint64_t n = seen[0] + seen[1];
    uint64_t q = (seen[1] * PROB_ONE + n / 2) / n;
    *ones_common = q > PROB_ONE / 2;
    uint64_t r = *ones_common ? PROB_ONE - q : q;
    r = round_significant(r < PROB_RARE_MIN ? PROB_RARE_MIN : (unsigned)r, PROB_KEEP);
    if (r >= PROB_ONE / 2) {
        r = PROB_ONE / 2;
        *ones_common = 0;
    }
    *rare = (unsigned)r;
}

/* The table's own adaptive models: its numbers, and which outcome is the rarer. */
typedef struct table_model {
    lsc_rc_number number;
    lsc_rc_bit side;
} table_model;

static void table_model_init(table_model *t)
{
    lsc_rc_number_init(&t->number, PROB_BITS);
    lsc_rc_bits_init(&t->side, 1);
}

/* P[x] of docs/format.md 4.4, in 1/32768. */
static uint16_t fixed_probability(unsigned rare, unsigned ones_common)
{
    return (uint16_t)((ones_common ? PROB_ONE - rare : rare) << (LSC_RC_PROB_BITS - PROB_BITS));
}

static void encode_table(lsc_rc_encoder *e, position_model *pm)
{
    table_model t;
    table_model_init(&t);
    for (unsigned ctx = 0; ctx < LSC_ELEMENT_CONTEXTS; ctx++) {
        unsigned rare = 0, ones_common = 0;
        if (pm->seen[ctx][0] + pm->seen[ctx][1])
            choose_probability(pm->seen[ctx], &rare, &ones_common);
        lsc_rc_encode_number(e, &t.number, rare, PROB_KEEP);
        if (rare)
            lsc_rc_encode(e, &t.side, ones_common);
        pm->fixed[ctx] = fixed_probability(rare, ones_common);
    }
}

/* One table entry: its rare side's probability (0: unused) and which side is rare,
 * as the encoder wrote them; -1 for values it never writes. A context the encoder
 * never used gets the least probability a used one can have, not 0: then every
 * decision costs input (>= 1/177 bit), so a damaged stream runs out after at most
 * ~1416 decisions per byte. */
static int decode_entry(lsc_rc_decoder *d, table_model *t, int used, uint16_t *fixed)
{
    unsigned rare = used ? (unsigned)lsc_rc_decode_number(d, &t->number, PROB_KEEP) : 0, ones_common = 0;
    if (rare && (rare < PROB_RARE_MIN || rare > PROB_ONE / 2))
        return -1;
    if (rare)
        ones_common = lsc_rc_decode(d, &t->side);
    if (ones_common && rare == PROB_ONE / 2)
        return -1;
    *fixed = fixed_probability(rare ? rare : PROB_RARE_MIN, ones_common);
    return 0;
}

static int decode_table(lsc_rc_decoder *d, position_model *pm)
{
    table_model t;
    table_model_init(&t);
    for (unsigned ctx = 0; ctx < LSC_ELEMENT_CONTEXTS; ctx++)
        if (decode_entry(d, &t, 1, &pm->fixed[ctx]))
            return -1;
    return d->overrun ? -1 : 0;
}

/* ---- grouped tables (format 5, LSC_SECTION_GROUPED) ---- */

/* Small layers pay for a table of 952 contexts (sending it, and decoding it: most of
 * a small layer's fixed cost) and were coded adaptively for that, at a third of the
 * static decoder's speed. Format 5 sends one probability per group of contexts
 * instead: the row class and left neighbour always, the column class in four bands
 * (no rows above; an empty column; density below 3/8; above) or not at all; a row
 * class's groups are sent only if it is used (one adaptive bit). The decoder spreads
 * the groups over the 952 contexts and runs the static loop. */
enum { GROUPING_ROW = 0, GROUPING_ROW_COL4 = 1, GROUPINGS = 2 };
#define GROUPING_BITS 1
#define MAX_GROUPS (LSC_ROW_CLASSES * 4 * 2)

static unsigned group_count(unsigned grouping)
{
    return grouping == GROUPING_ROW ? LSC_ROW_CLASSES * 2 : MAX_GROUPS;
}

/* The column class's band: no rows above; an empty column; density below 3/8 (class
 * 9 and below); above. */
static const uint8_t col_band[LSC_COL_CLASSES] = {0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3};

static unsigned group_of(unsigned ctx, unsigned grouping)
{
    unsigned row = ctx / (2 * LSC_COL_CLASSES), col = (ctx / 2) % LSC_COL_CLASSES, left = ctx & 1;
    if (grouping == GROUPING_ROW)
        return row * 2 + left;
    return (row * 4 + col_band[col]) * 2 + left;
}

/* fixed[ctx] for every context from its group's (ctx in order: row, column, left). */
static void spread_groups(uint16_t *fixed, const uint16_t *group_fixed, unsigned grouping)
{
    unsigned ctx = 0;
    for (unsigned row = 0; row < LSC_ROW_CLASSES; row++)
        for (unsigned col = 0; col < LSC_COL_CLASSES; col++, ctx += 2) {
            const uint16_t *g = group_fixed + (grouping == GROUPING_ROW ? row * 2 : (row * 4 + col_band[col]) * 2);
            fixed[ctx] = g[0];
            fixed[ctx + 1] = g[1];
        }
}

static void encode_grouped_table(lsc_rc_encoder *e, position_model *pm, unsigned grouping)
{
    uint64_t seen[MAX_GROUPS][2] = {{0}};
    uint16_t fixed[MAX_GROUPS];
    for (unsigned ctx = 0; ctx < LSC_ELEMENT_CONTEXTS; ctx++) {
        seen[group_of(ctx, grouping)][0] += pm->seen[ctx][0];
        seen[group_of(ctx, grouping)][1] += pm->seen[ctx][1];
    }
    lsc_rc_encode_direct(e, grouping, GROUPING_BITS);
    table_model t;
    table_model_init(&t);
    lsc_rc_bit row_used;
    lsc_rc_bits_init(&row_used, 1);
    unsigned per_row = group_count(grouping) / LSC_ROW_CLASSES;
    for (unsigned row = 0; row < LSC_ROW_CLASSES; row++) {
        uint64_t any = 0;
        for (unsigned g = row * per_row; g < (row + 1) * per_row; g++)
            any += seen[g][0] + seen[g][1];
        lsc_rc_encode(e, &row_used, any != 0);
        for (unsigned g = row * per_row; g < (row + 1) * per_row; g++) {
            unsigned rare = 0, ones_common = 0;
            if (seen[g][0] + seen[g][1])
                choose_probability(seen[g], &rare, &ones_common);
            if (any)
                lsc_rc_encode_number(e, &t.number, rare, PROB_KEEP);
            if (rare)
                lsc_rc_encode(e, &t.side, ones_common);
            fixed[g] = fixed_probability(rare, ones_common);
        }
    }
    spread_groups(pm->fixed, fixed, grouping);
}

static int decode_grouped_table(lsc_rc_decoder *d, position_model *pm)
{
    unsigned grouping = lsc_rc_decode_direct(d, GROUPING_BITS);
    uint16_t fixed[MAX_GROUPS];
    table_model t;
    table_model_init(&t);
    if (grouping >= GROUPINGS)
        return -1;
    lsc_rc_bit row_used;
    lsc_rc_bits_init(&row_used, 1);
    unsigned per_row = group_count(grouping) / LSC_ROW_CLASSES;
    for (unsigned row = 0; row < LSC_ROW_CLASSES; row++) {
        unsigned any = lsc_rc_decode(d, &row_used);
        for (unsigned g = row * per_row; g < (row + 1) * per_row; g++)
            if (decode_entry(d, &t, (int)any, &fixed[g]))
                return -1;
    }
    spread_groups(pm->fixed, fixed, grouping);
    if (grouping == GROUPING_ROW) { /* the column classes do not matter: their parts stay 0 */
        pm->no_cols = 1;
        memset(pm->col_part, 0, pm->cols);
    }
    return d->overrun ? -1 : 0;
}

/* ---- encoder ---- */

/* The encoder's record of the walk: each decision as context * 2 + bit, and where each
 * row's decisions end, so that coding needs no second walk. */
typedef struct decisions {
    uint16_t *d;
    uint64_t n, cap;
    uint64_t *row_end; /* rows */
} decisions;

static int record(decisions *ds, uint16_t v)
{
    if (ds->n == ds->cap) {
        uint64_t cap = ds->cap ? ds->cap * 2 : 4096;
        uint16_t *p = cap <= SIZE_MAX / sizeof *p ? realloc(ds->d, (size_t)cap * sizeof *p) : NULL;
        if (!p)
            return -1;
        ds->d = p;
        ds->cap = cap;
    }
    ds->d[ds->n++] = v;
    return 0;
}

/* Walks the rows as the decoder will. Static: records the decisions (count_seen
 * counts them); adaptive (e given): codes them at once with format 1's model. */
static int walk_rows(const lsc_sparse *m, position_model *pm, decisions *ds, lsc_rc_encoder *e)
{
    memset(pm->col_count, 0, (size_t)m->cols * sizeof(uint32_t));
    lsc_rc_number_init(&pm->count, pm->count.max_bits);
    for (uint32_t r = 0; r < m->rows; r++) {
        const uint32_t *col = m->col + m->row_ptr[r];
        uint64_t k = m->row_ptr[r + 1] - m->row_ptr[r], k_left = k, n_left = m->cols;
        if (e)
            lsc_rc_encode_number(e, &pm->count, k, LSC_RC_KEEP_ALL);
        else if (k && k < m->cols)
            lsc_col_context_parts(pm->col_count, m->cols, r, pm->col_part);
        float inv_rows = r ? 1.0f / (float)r : 0.0f;
        unsigned left = 0;
        uint32_t c = 0;
        /* the coder's low and range in registers (col_count's stores could alias e) */
        uint64_t low = e ? e->low : 0;
        uint32_t range = e ? e->range : 0;
        for (; k_left && k_left < n_left; c++, n_left--) {
            unsigned bit = *col == c;
            if (e) {
                lsc_rc_bit *b = &pm->element[lsc_element_context(k_left, n_left, pm->col_count[c], inv_rows, r, left)];
                unsigned p = b->p;
                lsc_rc_bit_update(b, bit);
                lsc_rc_encode_static_in(e, &low, &range, p, bit);
            } else {
                unsigned ctx = lsc_row_class_fast(k_left, pm->inv[n_left]) * (2 * LSC_COL_CLASSES) +
                               pm->col_part[c] + left;
                if (record(ds, (uint16_t)(ctx * 2 + bit)))
                    return -1;
            }
            if (bit) {
                pm->col_count[c]++;
                col++;
                k_left--;
            }
            left = bit;
        }
        if (e) {
            e->low = low;
            e->range = range;
        }
        for (; k_left; c++, k_left--) /* the rest of the row is all values */
            pm->col_count[c]++;
        if (!e)
            ds->row_end[r] = ds->n;
    }
    return 0;
}

/* Four histograms, so that runs of one context do not wait on each other's counts;
 * not for a small layer's few decisions, where setting up and summing the four
 * (7616 counts) cost more than counting. */
static void count_seen(position_model *pm, const decisions *ds)
{
    enum { N = LSC_ELEMENT_CONTEXTS * 2 };
    uint32_t *h = ds->n >= 8 * N ? calloc(4 * N, sizeof *h) : NULL;
    uint64_t i = 0;
    if (h) {
        for (; i + 4 <= ds->n; i += 4) {
            h[ds->d[i]]++;
            h[N + ds->d[i + 1]]++;
            h[2 * N + ds->d[i + 2]]++;
            h[3 * N + ds->d[i + 3]]++;
            if ((i & 0x3FFFFFFFu) == 0x3FFFFFFCu) /* keep the 32-bit counts from overflowing */
                for (unsigned v = 0; v < 4 * N; v++) {
                    pm->seen[(v % N) >> 1][v & 1] += h[v];
                    h[v] = 0;
                }
        }
        for (unsigned v = 0; v < 4 * N; v++)
            pm->seen[(v % N) >> 1][v & 1] += h[v];
        free(h);
    }
    for (; i < ds->n; i++)
        pm->seen[ds->d[i] >> 1][ds->d[i] & 1]++;
}

static void code_rows(const lsc_sparse *m, position_model *pm, const decisions *ds, lsc_rc_encoder *e)
{
    uint64_t i = 0;
    lsc_rc_number_init(&pm->count, pm->count.max_bits);
    const uint16_t *fixed = pm->fixed, *d = ds->d;
    for (uint32_t r = 0; r < m->rows; r++) {
        lsc_rc_encode_number(e, &pm->count, m->row_ptr[r + 1] - m->row_ptr[r], LSC_RC_KEEP_ALL);
        uint64_t low = e->low, end = ds->row_end[r];
        uint32_t range = e->range;
        for (; i < end; i++)
            lsc_rc_encode_static_in(e, &low, &range, fixed[d[i] >> 1], d[i] & 1u);
        e->low = low;
        e->range = range;
    }
}

static lsc_status finish(lsc_rc_encoder *e, uint8_t **out, size_t *out_size, lsc_error *error)
{
    if (e->failed) {
        free(e->buf);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory coding positions");
    }
    *out = e->buf;
    *out_size = e->size;
    return LSC_OK;
}

/* A size the static coding cannot go below, from the table already in e and the
 * decisions' counts under their probabilities: each costs at least its ideal
 * -log2(p), less what the coder's truncated bound can give a 0 (its interval is
 * range - floor(range / 2^15) p, at most 2^15 p / range > ideal: < log2(e) 2^-9 / q0
 * bits, q0 the 0's probability), and the stream holds the rest of its bits. */
static uint64_t static_floor(const position_model *pm, const lsc_rc_encoder *e)
{
    uint64_t ideal = 0, gain = 0; /* in 1/65536 bits */
    for (unsigned ctx = 0; ctx < LSC_ELEMENT_CONTEXTS; ctx++) {
        uint32_t p1 = pm->fixed[ctx], p0 = LSC_RC_ONE - p1;
        if (!pm->seen[ctx][0] && !pm->seen[ctx][1])
            continue;
        ideal += pm->seen[ctx][0] * (((uint64_t)LSC_RC_PROB_BITS << 16) - lsc_log2_q16_up(p0)) +
                 pm->seen[ctx][1] * (((uint64_t)LSC_RC_PROB_BITS << 16) - lsc_log2_q16_up(p1));
        gain += pm->seen[ctx][0] * ((UINT64_C(6051227) + p0 - 1) / p0); /* log2(e) 2^-9 2^15 2^16 / p0 */
    }
    return e->size + (ideal > gain ? (ideal - gain) / (8u << 16) : 0);
}

/* Keeps *best or takes cand, the smaller (ties: the earlier). */
static void keep_smaller(lsc_rc_encoder *best, unsigned *best_method, lsc_rc_encoder *cand, unsigned method)
{
    if (!cand->failed && (best->failed || !best->size || cand->size < best->size)) {
        free(best->buf);
        *best = *cand;
        *best_method = method;
    } else {
        free(cand->buf);
    }
    lsc_rc_encoder_init(cand);
}

/* Format 2 and later: static tables (LSC_SECTION_MODEL), or for few decisions the
 * adaptive model if it is smaller (LSC_SECTION_ADAPTIVE). The adaptive coding, when
 * tried, comes first; when it is already below what the static one can reach, the
 * static rows are not coded (the choice is the same: small layers, where the table
 * costs most, save a third of their position work).
 * Format 5 (LSC_POSITIONS_GROUPED): for few decisions, the grouped tables too, kept
 * unless the full table saves more than 1/LSC_ADAPTIVE_MARGIN, and the adaptive model
 * only where it saves more than 1/LSC_ADAPTIVE_MARGIN of the best static coding (it
 * decodes at a third of the speed).
 * LSC_POSITIONS_EXHAUSTIVE codes every candidate in full (tests). */
lsc_status lsc_entropy_encode_positions_ex(const lsc_sparse *m, unsigned options, uint8_t **out, size_t *out_size,
                                           unsigned *method, lsc_error *error)
{
    *out = NULL;
    *out_size = 0;
    *method = LSC_SECTION_MODEL;
    int exhaustive = (options & LSC_POSITIONS_EXHAUSTIVE) != 0, grouped = (options & LSC_POSITIONS_GROUPED) != 0;
    position_model *pm;
    LSC_TRY(model_new(m->cols, 0, &pm, error));
    decisions ds = {NULL, 0, 0, malloc(((size_t)m->rows + 1) * sizeof(uint64_t))};
    lsc_rc_encoder best, cand, small;
    lsc_rc_encoder_init(&best);
    lsc_rc_encoder_init(&cand);
    lsc_rc_encoder_init(&small);
    unsigned best_method = LSC_SECTION_MODEL;
    if (!ds.row_end || walk_rows(m, pm, &ds, NULL)) {
        best.failed = 1;
    } else {
        count_seen(pm, &ds);
        int few = ds.n < LSC_ENTROPY_SMALL_POSITIONS;
        if (few) {
            walk_rows(m, pm, NULL, &small);
            lsc_rc_encoder_finish(&small);
        }
        /* Format 5, few decisions: the grouped tables first. A grouping is not coded
         * where the bound shows it cannot be smaller than the other (ties keep the
         * earlier), nor the full table where the bound shows that the grouped tables
         * stay within the margin of whatever it codes to: the choice is the same. */
        lsc_rc_encoder group;
        unsigned group_method = LSC_SECTION_GROUPED;
        lsc_rc_encoder_init(&group);
        for (unsigned g = 0; grouped && few && g < GROUPINGS; g++) {
            encode_grouped_table(&cand, pm, g);
            if (!exhaustive && group.size && !group.failed && !cand.failed && static_floor(pm, &cand) >= group.size) {
                free(cand.buf);
                lsc_rc_encoder_init(&cand);
                continue;
            }
            code_rows(m, pm, &ds, &cand);
            lsc_rc_encoder_finish(&cand);
            keep_smaller(&group, &group_method, &cand, LSC_SECTION_GROUPED);
        }
        encode_table(&cand, pm);
        uint64_t floor = 0;
        int group_holds = 0;
        if (!exhaustive && group.size && !group.failed && !cand.failed) {
            floor = static_floor(pm, &cand);
            group_holds = group.size <= floor + floor / LSC_ADAPTIVE_MARGIN;
        }
        if (group_holds) {
            free(cand.buf);
            lsc_rc_encoder_init(&cand);
        } else if (grouped || exhaustive || !small.size || small.failed || small.size >= static_floor(pm, &cand)) {
            code_rows(m, pm, &ds, &cand);
            lsc_rc_encoder_finish(&cand);
            keep_smaller(&best, &best_method, &cand, LSC_SECTION_MODEL);
        } else {
            free(cand.buf);
            lsc_rc_encoder_init(&cand);
        }
        /* the 952 contexts' table decodes at the cost of thousands of decisions: it is
         * kept only where it saves more than the margin too */
        if (group.size && !group.failed && (group_holds || group.size <= best.size + best.size / LSC_ADAPTIVE_MARGIN)) {
            free(best.buf);
            best = group;
            best_method = LSC_SECTION_GROUPED;
        } else {
            free(group.buf);
        }
        if (small.size && !small.failed &&
            (!best.size || small.size + (grouped ? small.size / LSC_ADAPTIVE_MARGIN : 0) < best.size))
            keep_smaller(&best, &best_method, &small, LSC_SECTION_ADAPTIVE);
    }
    free(small.buf);
    model_free(pm);
    free(ds.d);
    free(ds.row_end);
    *method = best_method;
    return finish(&best, out, out_size, error);
}

lsc_status lsc_entropy_encode_positions(const lsc_sparse *m, unsigned options, uint8_t **out, size_t *out_size,
                                        unsigned *method, lsc_error *error)
{
    return lsc_entropy_encode_positions_ex(m, options & ~(unsigned)LSC_POSITIONS_EXHAUSTIVE, out, out_size, method,
                                           error);
}

/* ---- decoder ---- */

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

/* Grows the column array as values are decoded, so memory follows the work done
 * (which the stream's size bounds), not the counts a damaged header claims. */
static int reserve_cols(lsc_sparse *m, uint64_t need, uint64_t *cap)
{
    if (need <= *cap)
        return 0;
    uint64_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    if (n > m->nnz)
        n = m->nnz ? m->nnz : 1;
    uint32_t *p = n <= SIZE_MAX / sizeof(uint32_t) ? realloc(m->col, (size_t)n * sizeof(uint32_t)) : NULL;
    if (!p)
        return -1;
    m->col = p;
    *cap = n;
    return 0;
}

/* Computes the column parts of the contexts from column c on, a chunk as long as
 * the row so far (at most twice the columns the decisions reach; out of line: the
 * decision loop keeps its registers); returns the chunk's end. */
static __attribute__((noinline)) uint32_t next_parts(const uint32_t *col_count, uint32_t cols, uint32_t r,
                                                     uint32_t c, uint8_t *col_part, int no_cols)
{
    uint32_t chunk = c > LSC_PARTS_CHUNK ? c : LSC_PARTS_CHUNK; /* doubling: few calls on a long row */
    uint32_t end = cols - c > chunk ? c + chunk : cols;
    if (!no_cols)
        lsc_col_context_parts(col_count + c, end - c, r, col_part + c);
    return end;
}

/* The elements of one row. `adaptive` is a constant in each caller, so each model
 * gets its own loop. */
static inline __attribute__((always_inline)) void
decode_elements(lsc_rc_decoder *shared, position_model *pm, uint32_t r, uint64_t k, uint32_t cols, uint32_t *col,
                int adaptive)
{
    /* a local copy: the coder state stays in registers (stores to col could alias it) */
    lsc_rc_decoder local = *shared, *d = &local;
    uint64_t k_left = k, n_left = cols;
    float inv_rows = r ? 1.0f / (float)r : 0.0f;
    unsigned left = 0;
    uint32_t c = 0;
    uint32_t *col_count = pm->col_count;
    uint8_t *col_part = pm->col_part;
    const float *inv = pm->inv;
    const uint16_t *row_part = pm->row_part, *fixed = pm->fixed;
    float k_float = (float)k_left;
    /* The columns' parts of the contexts, computed a chunk ahead of the decisions
     * (the row's counts left of c do not change them), so that a row costs the
     * decisions its stream pays for, not its width. */
    uint32_t parts_end = 0;
    for (; k_left && k_left < n_left; c++, n_left--) {
        if (adaptive) {
            unsigned ctx = lsc_element_context(k_left, n_left, col_count[c], inv_rows, r, left);
            left = lsc_rc_decode(d, &pm->element[ctx]);
        } else {
            if (__builtin_expect(c == parts_end, 0)) {
                if (d->overrun) /* a damaged stream ends here, not a row later */
                    break;
                parts_end = next_parts(col_count, cols, r, c, col_part, pm->no_cols);
            }
            /* lsc_row_class_fast by table; a context the encoder left unused decodes
             * another blob, which its checksum rejects */
            float x = k_float * inv[n_left];
            uint32_t u;
            memcpy(&u, &x, sizeof u);
            left = lsc_rc_decode_static(d, fixed[row_part[u >> 22] + col_part[c] + left]);
        }
        if (left) {
            col_count[c]++;
            *col++ = c;
            k_left--;
            k_float = (float)k_left;
        }
        if (adaptive && d->overrun)
            break;
    }
    *shared = local;
    for (; k_left; c++, k_left--) {
        col_count[c]++;
        *col++ = c;
    }
}

static lsc_status decode_rows(lsc_rc_decoder *d, position_model *pm, lsc_sparse *m, int adaptive,
                              const char *label, lsc_error *error)
{
    uint64_t filled = 0, cap = 0;
    m->row_ptr[0] = 0;
    if (reserve_cols(m, 1, &cap)) /* never NULL below, even with no values */
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for positions", label);
    for (uint32_t r = 0; r < m->rows; r++) {
        uint64_t k = lsc_rc_decode_number(d, &pm->count, LSC_RC_KEEP_ALL);
        if (d->overrun)
            return BAD("blob '%s': position stream ends inside row %u", label, r);
        if (k > m->cols || k > m->nnz - filled)
            return BAD("blob '%s': row %u holds %llu values: more than its %u columns or the %llu left",
                       label, r, (unsigned long long)k, m->cols, (unsigned long long)(m->nnz - filled));
        if (reserve_cols(m, filled + k, &cap))
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for %llu positions", label,
                            (unsigned long long)(filled + k));
        if (adaptive)
            decode_elements(d, pm, r, k, m->cols, m->col + filled, 1);
        else
            decode_elements(d, pm, r, k, m->cols, m->col + filled, 0);
        if (d->overrun)
            return BAD("blob '%s': position stream ends inside row %u", label, r);
        filled += k;
        m->row_ptr[r + 1] = filled;
    }
    if (filled != m->nnz)
        return BAD("blob '%s': position stream holds %llu values, the header says %llu", label,
                   (unsigned long long)filled, (unsigned long long)m->nnz);
    if (!lsc_rc_decoder_done(d))
        return BAD("blob '%s': position stream has %zu bytes after its end", label, (size_t)(d->end - d->p));
    return LSC_OK;
}

lsc_status lsc_entropy_decode_positions(const uint8_t *stream, size_t size, unsigned model, lsc_sparse *m,
                                        const char *label, lsc_error *error)
{
    int adaptive = model == LSC_POSITIONS_ADAPTIVE;
    m->row_ptr = NULL;
    m->col = NULL;
    lsc_rc_decoder d;
    if (lsc_rc_decoder_init(&d, stream, size))
        return BAD("blob '%s': position stream of %zu bytes does not start a range-coded stream", label, size);
    position_model *pm;
    LSC_TRY(model_new(m->cols, !adaptive, &pm, error));
    lsc_status st = LSC_OK;
    if (model == LSC_POSITIONS_GROUPED_TABLE ? decode_grouped_table(&d, pm) : !adaptive && decode_table(&d, pm))
        st = BAD("blob '%s': the position stream's probability table is damaged", label);
    if (st == LSC_OK) {
        m->row_ptr = malloc(((size_t)m->rows + 1) * sizeof(uint64_t));
        st = m->row_ptr ? decode_rows(&d, pm, m, adaptive, label, error)
                        : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for %u row pointers", m->rows);
    }
    model_free(pm);
    if (st != LSC_OK)
        lsc_sparse_free(m);
    return st;
}
