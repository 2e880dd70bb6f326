/* The value planes of the entropy tier (docs/format.md 4.5). Each plane is coded
 * three ways and the smallest is kept: raw (mantissa bytes are close to random),
 * zstd (a generic coder: repeats, few distinct values), or our range coder with static
 * frequency tables: plane 0 (the exponent: pruning by magnitude keeps few) under one
 * table, the top nibble of later planes under a table per exponent (the top mantissa
 * bits follow the distribution within an octave), their low nibble stored as it is.
 * Format 5 codes the same tables' symbols with rANS (LSC_SECTION_RANS): its decoder
 * needs no division per symbol, which held the range decoder's symbol loop. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "codec/entropy.h"
#include "codec/entropy_cost.h"
#include "codec/rangecoder.h"
#include "codec/rc_number.h"
#include "common/endian.h"
#include "common/error.h"

/* A coded plane replaces the raw one only if it saves at least 1/64 of it: the
 * model costs 8 coder decisions per byte to decode, not worth it for less. */
#define MIN_SAVING_SHIFT 6

static uint64_t load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void lsc_entropy_split_planes(const uint8_t *values, uint64_t n, unsigned elem_size, uint8_t *planes)
{
    unsigned top = 8 * elem_size - 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = load_le(values + i * elem_size, elem_size);
        uint64_t rot = (v << 1) | (v >> top);
        for (unsigned j = 0; j < elem_size; j++)
            planes[j * n + i] = (uint8_t)(rot >> (8 * (elem_size - 1 - j)));
    }
}

void lsc_entropy_join_planes(const uint8_t *planes, uint64_t n, unsigned elem_size, uint8_t *values)
{
    if (elem_size == 4) { /* float32, the common case, without the generic loops */
        const uint8_t *p0 = planes, *p1 = planes + n, *p2 = planes + 2 * n, *p3 = planes + 3 * n;
        for (uint64_t i = 0; i < n; i++) {
            uint32_t rot = (uint32_t)p0[i] << 24 | (uint32_t)p1[i] << 16 | (uint32_t)p2[i] << 8 | p3[i];
            lsc_store_le32(values + 4 * i, rot >> 1 | rot << 31);
        }
        return;
    }
    unsigned top = 8 * elem_size - 1;
    uint64_t mask = elem_size == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * elem_size)) - 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t rot = 0;
        for (unsigned j = 0; j < elem_size; j++)
            rot = (rot << 8) | planes[j * n + i];
        uint64_t v = ((rot >> 1) | (rot << top)) & mask;
        for (unsigned k = 0; k < elem_size; k++)
            values[i * elem_size + k] = (uint8_t)(v >> (8 * k));
    }
}

/* ---- format 2: static frequency tables (docs/format.md 4.5) ---- */

#define FREQ_BITS 12
#define FREQ_ONE (1u << FREQ_BITS)
#define NIBBLE_SYMBOLS 16

/* The encoder's tables: frequencies and cumulative counts only (a decoder's slot
 * table is 4 KiB more per table, which a small plane's hundreds of tables paid for
 * in page faults). */
typedef struct code_table {
    uint16_t freq[256];
    uint16_t cum[257];
} code_table;

typedef struct freq_table {
    uint16_t freq[256];
    uint16_t cum[257];
    uint8_t symbol[FREQ_ONE]; /* decoder: slot -> symbol */
} freq_table;

/* Frequencies summing to FREQ_ONE, at least 1 for every symbol that occurs; the
 * rounding error goes to (or comes from) the largest ones, deterministically. */
static void normalize(const uint64_t *count, unsigned n, uint64_t total, uint16_t *freq)
{
    uint32_t sum = 0;
    for (unsigned s = 0; s < n; s++) {
        uint64_t f = count[s] ? (count[s] * FREQ_ONE + total / 2) / total : 0;
        freq[s] = (uint16_t)(count[s] && f == 0 ? 1 : f);
        sum += freq[s];
    }
    while (sum != FREQ_ONE) {
        unsigned big = 0;
        for (unsigned s = 1; s < n; s++)
            if (freq[s] > freq[big])
                big = s;
        if (sum > FREQ_ONE) {
            uint32_t cut = sum - FREQ_ONE < freq[big] - 1u ? sum - FREQ_ONE : freq[big] - 1u;
            if (cut == 0) /* every symbol at 1: cannot happen, n <= 256 < FREQ_ONE */
                break;
            freq[big] = (uint16_t)(freq[big] - cut);
            sum -= cut;
        } else {
            freq[big] = (uint16_t)(freq[big] + (FREQ_ONE - sum));
            sum = FREQ_ONE;
        }
    }
}

/* `ranged` (format 5, 256 symbols): the first symbol used and the count after it as
 * 8 direct bits each, then the numbers of those symbols only (exponents are a narrow
 * band: the other ~240 would cost a decision each to decode). */
static void encode_table(lsc_rc_encoder *e, lsc_rc_number *num, code_table *t, unsigned n, int ranged)
{
    unsigned lo = 0, hi = n - 1;
    if (ranged) {
        while (lo < hi && !t->freq[lo])
            lo++;
        while (hi > lo && !t->freq[hi])
            hi--;
        lsc_rc_encode_direct(e, lo, 8);
        lsc_rc_encode_direct(e, hi - lo, 8);
    }
    t->cum[0] = 0;
    for (unsigned s = 0; s < n; s++) {
        if (s >= lo && s <= hi)
            lsc_rc_encode_number(e, num, t->freq[s], LSC_RC_KEEP_ALL);
        t->cum[s + 1] = (uint16_t)(t->cum[s] + t->freq[s]);
    }
}

/* Returns -1 unless the frequencies sum to exactly FREQ_ONE. `symbols` 0: the slot
 * table is left unfilled (rANS nibbles find their symbol from cum). */
static int decode_table(lsc_rc_decoder *d, lsc_rc_number *num, freq_table *t, unsigned n, int symbols, int ranged)
{
    uint32_t sum = 0, lo = 0, hi = n - 1;
    if (ranged) {
        lo = lsc_rc_decode_direct(d, 8);
        hi = lo + lsc_rc_decode_direct(d, 8);
        if (hi >= n)
            return -1;
    }
    t->cum[0] = 0;
    for (unsigned s = 0; s < n; s++) {
        uint64_t f = s >= lo && s <= hi ? lsc_rc_decode_number(d, num, LSC_RC_KEEP_ALL) : 0;
        if (f > FREQ_ONE - sum)
            return -1;
        t->freq[s] = (uint16_t)f;
        if (symbols)
            memset(t->symbol + sum, (int)s, (size_t)f);
        sum += (uint32_t)f;
        t->cum[s + 1] = (uint16_t)sum;
    }
    return sum == FREQ_ONE && !d->overrun ? 0 : -1;
}

/* Plane 0 under one table of 256 bytes; plane j >= 1 as its top nibble under a table
 * of 16 per distinct plane-0 byte (in increasing order of that byte), its low nibble
 * stored after the stream. Returns the number of tables, and in index[b] the
 * table of plane-0 byte b. */
static unsigned plane_tables(const uint8_t *planes, uint64_t n, unsigned j, uint16_t index[256])
{
    if (j == 0) {
        memset(index, 0, 256 * sizeof index[0]);
        return 1;
    }
    uint8_t used[256] = {0};
    for (uint64_t i = 0; i < n; i++)
        used[planes[i]] = 1;
    unsigned tables = 0;
    for (unsigned b = 0; b < 256; b++)
        index[b] = used[b] ? (uint16_t)tables++ : 0;
    return tables;
}

/* A size the static model cannot go below: its symbols cost at least their empirical
 * entropy under their tables (the coder's rounding only narrows intervals), and the
 * low nibbles are stored as they are. */
static uint64_t model_floor(const uint64_t *count, const uint64_t *total, unsigned tables, unsigned symbols,
                            uint64_t n, unsigned j)
{
    uint64_t bits = 0; /* in 1/65536 bits */
    for (unsigned k = 0; k < tables; k++) {
        uint32_t lt = total[k] ? lsc_log2_q16_down(total[k]) : 0;
        for (unsigned s = 0; s < symbols; s++) {
            uint64_t c = count[k * symbols + s];
            uint32_t lc = c ? lsc_log2_q16_up(c) : 0;
            if (c && lt > lc)
                bits += c * (lt - lc);
        }
    }
    return bits / (8u << 16) + (j ? (n + 1) / 2 : 0);
}

/* ---- format 5: the tables' symbols by rANS (docs/format.md 4.5) ---- */

/* State in [RANS_LOW, 256 RANS_LOW), renormalized a byte at a time. Planes of at
 * least RANS_TWO_WAYS values take two states, for even and odd values, so that the
 * decoder works on two symbols at once (4 bytes more: not for small planes). */
#define RANS_LOW (1u << 23)
#define RANS_TWO_WAYS 2048u

static unsigned rans_ways(uint64_t n)
{
    return n >= RANS_TWO_WAYS ? 2 : 1;
}

/* Appends the rANS stream of the n symbols (coded last to first, so that they decode
 * first to last): the final states (4 bytes each, little-endian, the even values'
 * first), then the renormalization bytes in the order the decoder reads them. */
static int rans_append(lsc_rc_encoder *e, const code_table *t, const uint16_t *index, const uint8_t *planes,
                       const uint8_t *plane, uint64_t n, unsigned shift)
{
    size_t cap = (size_t)n * 2 + 8; /* a symbol of frequency >= 1 in 2^12 pushes at most 2 bytes */
    uint8_t *buf = malloc(cap), *p = buf + cap;
    if (!buf)
        return -1;
    unsigned ways = rans_ways(n);
    uint32_t state[2] = {RANS_LOW, RANS_LOW};
    for (uint64_t i = n; i-- > 0;) {
        const code_table *tk = &t[index[planes[i]]];
        unsigned s = plane[i] >> shift;
        uint32_t f = tk->freq[s], x_max = ((RANS_LOW >> FREQ_BITS) << 8) * f, x = state[i & (ways - 1)];
        while (x >= x_max) {
            *--p = (uint8_t)x;
            x >>= 8;
        }
        state[i & (ways - 1)] = ((x / f) << FREQ_BITS) + x % f + tk->cum[s];
    }
    for (unsigned w = ways; w-- > 0;) {
        p -= 4;
        lsc_store_le32(p, state[w]);
    }
    for (; p < buf + cap; p++)
        lsc_rc_put_byte(e, *p);
    free(buf);
    return 0;
}

/* The symbol of a nibble table owning `slot`: how many of cum[1..15] are <= slot. */
static inline unsigned nibble_symbol(const uint16_t *cum, uint32_t slot)
{
#ifdef __SSE2__
    __m128i v = _mm_set1_epi16((short)(slot + 1));
    __m128i lo = _mm_cmpgt_epi16(v, _mm_loadu_si128((const __m128i *)(cum + 1)));
    __m128i hi = _mm_cmpgt_epi16(v, _mm_loadu_si128((const __m128i *)(cum + 9))); /* cum[16] = 4096 > slot */
    /* cum rises, so the lanes at or below the slot come first: count them with ctz
     * (popcount is not in the baseline instruction set); lane 15 is never one */
    return (unsigned)__builtin_ctz(~(unsigned)_mm_movemask_epi8(_mm_packs_epi16(lo, hi)));
#else
    unsigned s = 0;
    for (unsigned k = 1; k < NIBBLE_SYMBOLS; k++)
        s += cum[k] <= slot;
    return s;
#endif
}

/* One symbol of state x: value i of plane j (plane 0 under t, later planes' top
 * nibble under the table of value i's plane-0 byte, the low nibble as stored); then
 * the state takes bytes until it is back in range (at most two; a damaged stream that
 * runs out reads zeros and sets *end to NULL, which fails it). */
static inline __attribute__((always_inline)) uint32_t rans_step(uint32_t x, const uint8_t **p, const uint8_t **end,
                                                                 const freq_table *t, const uint16_t *index,
                                                                 const uint8_t *planes, uint8_t *plane,
                                                                 const uint8_t *nibbles, uint64_t i, unsigned j)
{
    uint32_t slot = x & (FREQ_ONE - 1);
    if (j == 0) {
        unsigned s = t->symbol[slot];
        x = t->freq[s] * (x >> FREQ_BITS) + slot - t->cum[s];
        plane[i] = (uint8_t)s;
    } else {
        const freq_table *tk = &t[index[planes[i]]];
        unsigned s = nibble_symbol(tk->cum, slot);
        x = tk->freq[s] * (x >> FREQ_BITS) + slot - tk->cum[s];
        plane[i] = (uint8_t)(s << 4 | ((nibbles[i / 2] >> (4 * (i & 1))) & 15));
    }
    while (x < RANS_LOW) {
        if (*p < *end) {
            x = (x << 8) | *(*p)++;
        } else {
            *end = NULL;
            x = RANS_LOW;
        }
    }
    return x;
}

/* Decodes the rANS stream [p, end) into plane j (format 5). The stream must end
 * exactly where its last symbols leave the encoder's first states. */
static inline __attribute__((always_inline)) int rans_decode_plane(const uint8_t *p, const uint8_t *end,
                                                                   const freq_table *t, const uint16_t *index,
                                                                   const uint8_t *planes, uint8_t *plane,
                                                                   const uint8_t *nibbles, uint64_t n, unsigned j)
{
    unsigned ways = rans_ways(n);
    if ((size_t)(end - p) < 4u * ways)
        return -1;
    uint32_t x0 = lsc_load_le32(p), x1 = ways == 2 ? lsc_load_le32(p + 4) : RANS_LOW;
    p += 4 * ways;
    if (x0 < RANS_LOW || x0 >= RANS_LOW << 8 || x1 < RANS_LOW || x1 >= RANS_LOW << 8)
        return -1;
    uint64_t i = 0;
    if (ways == 2)
        for (; i + 1 < n && end; i += 2) {
            x0 = rans_step(x0, &p, &end, t, index, planes, plane, nibbles, i, j);
            x1 = rans_step(x1, &p, &end, t, index, planes, plane, nibbles, i + 1, j);
        }
    for (; i < n && end; i++)
        x0 = rans_step(x0, &p, &end, t, index, planes, plane, nibbles, i, j);
    return end && p == end && x0 == RANS_LOW && x1 == RANS_LOW ? 0 : -1;
}

static int rans_decode(const uint8_t *p, const uint8_t *end, const freq_table *t, const uint16_t *index,
                       const uint8_t *planes, uint8_t *plane, const uint8_t *nibbles, uint64_t n, unsigned j)
{
    return j == 0 ? rans_decode_plane(p, end, t, index, planes, plane, nibbles, n, 0)
                  : rans_decode_plane(p, end, t, index, planes, plane, nibbles, n, 1);
}

/* Ends the tables' range-coded part in 2 bytes less than lsc_rc_encoder_finish: low
 * rounded up to a multiple of 2^16 stays inside the interval (range >= 2^24) with any
 * 16 bits after it, so the decoder, reading 2 bytes past this part, may read the rANS
 * stream's first bytes there. */
static void finish_short(lsc_rc_encoder *e)
{
    e->low = (e->low + 0xFFFFu) & ~(uint64_t)0xFFFFu;
    for (int i = 0; i < 3; i++)
        lsc_rc_shift_low(e);
}
#define FINISH_SHORT_READ_AHEAD 2

/* `beat`: a size to beat; a model that cannot (model_floor) is not coded (*out NULL). */
static lsc_status encode_model(const uint8_t *planes, uint64_t n, unsigned j, size_t beat, int rans, uint8_t **out,
                               size_t *out_size, lsc_error *error)
{
    *out = NULL;
    *out_size = 0;
    uint16_t index[256];
    unsigned tables = plane_tables(planes, n, j, index), symbols = j ? NIBBLE_SYMBOLS : 256;
    code_table *t = malloc((tables ? tables : 1) * sizeof *t);
    /* `symbols` counts per table: 16 for the nibbles, not 256 */
    uint64_t *count = calloc((size_t)(tables ? tables : 1) * symbols, sizeof *count);
    uint64_t *total = calloc(tables ? tables : 1, sizeof *total);
    if (!t || !count || !total) {
        free(t);
        free(count);
        free(total);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
    }
    const uint8_t *plane = planes + j * n;
    unsigned shift = j ? 4 : 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned k = index[planes[i]];
        count[k * symbols + (plane[i] >> shift)]++;
        total[k]++;
    }
    if (model_floor(count, total, tables, symbols, n, j) >= beat) {
        free(t);
        free(count);
        free(total);
        return LSC_OK;
    }
    lsc_rc_encoder e;
    lsc_rc_encoder_init(&e);
    lsc_rc_number num;
    lsc_rc_number_init(&num, FREQ_BITS + 1);
    for (unsigned k = 0; k < tables; k++) {
        if (total[k])
            normalize(count + k * symbols, symbols, total[k], t[k].freq);
        else /* plane 0 of no values: any table will do */
            for (unsigned s = 0; s < symbols; s++)
                t[k].freq[s] = s ? 0 : FREQ_ONE;
        encode_table(&e, &num, &t[k], symbols, rans && j == 0);
    }
    if (rans) {
        finish_short(&e);
        if (rans_append(&e, t, index, planes, plane, n, shift))
            e.failed = 1;
    } else {
        uint64_t low = e.low;
        uint32_t range = e.range;
        for (uint64_t i = 0; i < n; i++) {
            const code_table *tk = &t[index[planes[i]]];
            unsigned s = plane[i] >> shift;
            lsc_rc_encode_freq_in(&e, &low, &range, tk->cum[s], tk->freq[s], FREQ_BITS);
        }
        e.low = low;
        e.range = range;
        lsc_rc_encoder_finish(&e);
    }
    for (uint64_t i = 0; j && i < n; i += 2) /* the low nibbles, two per byte, after the stream */
        lsc_rc_put_byte(&e, (uint8_t)((plane[i] & 15u) | (i + 1 < n ? (plane[i + 1] & 15u) << 4 : 0)));
    free(t);
    free(count);
    free(total);
    if (e.failed) {
        free(e.buf);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory coding a value plane");
    }
    *out = e.buf;
    *out_size = e.size;
    return LSC_OK;
}

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

static lsc_status decode_model(const uint8_t *stream, size_t size, uint8_t *planes, uint64_t n,
                               unsigned j, int rans, const char *label, lsc_error *error)
{
    uint64_t nibble_bytes = j ? (n + 1) / 2 : 0;
    if (nibble_bytes > size)
        return BAD("blob '%s': value plane %u: %zu bytes cannot hold the low nibbles of %llu values", label, j,
                   size, (unsigned long long)n);
    const uint8_t *nibbles = stream + size - nibble_bytes;
    if ((n & 1) && j && (nibbles[nibble_bytes - 1] >> 4))
        return BAD("blob '%s': value plane %u: the last low nibble's padding is not zero", label, j);
    size -= (size_t)nibble_bytes;
    lsc_rc_decoder d;
    if (lsc_rc_decoder_init(&d, stream, size))
        return BAD("blob '%s': value plane %u does not start a range-coded stream", label, j);
    uint16_t index[256];
    unsigned tables = plane_tables(planes, n, j, index), symbols = j ? NIBBLE_SYMBOLS : 256;
    freq_table *t = malloc((tables ? tables : 1) * sizeof *t);
    if (!t)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
    lsc_rc_number num;
    lsc_rc_number_init(&num, FREQ_BITS + 1);
    for (unsigned k = 0; k < tables; k++)
        if (decode_table(&d, &num, &t[k], symbols, !rans || j == 0, rans && j == 0)) {
            free(t);
            return BAD("blob '%s': value plane %u: frequency table %u is damaged", label, j, k);
        }
    uint8_t *plane = planes + j * n;
    if (rans) {
        const uint8_t *at = d.p - FINISH_SHORT_READ_AHEAD;
        int failed = d.overrun || at < stream || rans_decode(at, stream + size, t, index, planes, plane, nibbles, n, j);
        free(t);
        return failed ? BAD("blob '%s': value plane %u's rANS stream is damaged", label, j) : LSC_OK;
    }
    uint32_t bad = 0, r;
    lsc_rc_decoder local = d; /* in registers: the byte stores below could alias d */
    if (j == 0) {
        for (uint64_t i = 0; i < n; i++) {
            uint32_t slot = lsc_rc_decode_slot(&local, FREQ_BITS, &r);
            bad |= slot >> FREQ_BITS;
            unsigned s = t->symbol[slot & (FREQ_ONE - 1)];
            lsc_rc_decode_take(&local, r, t->cum[s], t->freq[s]);
            plane[i] = (uint8_t)s;
        }
    } else {
        for (uint64_t i = 0; i < n; i++) {
            const freq_table *tk = &t[index[planes[i]]];
            uint32_t slot = lsc_rc_decode_slot(&local, FREQ_BITS, &r);
            bad |= slot >> FREQ_BITS;
            unsigned s = tk->symbol[slot & (FREQ_ONE - 1)];
            lsc_rc_decode_take(&local, r, tk->cum[s], tk->freq[s]);
            plane[i] = (uint8_t)(s << 4 | ((nibbles[i / 2] >> (4 * (i & 1))) & 15));
        }
    }
    d = local;
    free(t);
    if (bad)
        return BAD("blob '%s': value plane %u's stream codes a value outside its tables", label, j);
    if (!lsc_rc_decoder_done(&d))
        return BAD("blob '%s': value plane %u's stream is %s", label, j,
                   d.overrun ? "too short" : "longer than its values");
    return LSC_OK;
}

/* ---- format 1's model (format 2's LSC_SECTION_ADAPTIVE): an adaptive binary tree
 * per byte ---- */

/* 256 contexts x a binary tree of 255 decisions (node 1..255). */
#define BYTE_MODEL_BITS (256 * 256)

/* Plane 0 uses the previous value's plane-0 byte, later planes this value's. */
static inline unsigned byte_model_context(const uint8_t *planes, unsigned j, uint64_t i)
{
    if (j > 0)
        return planes[i];
    return i ? planes[i - 1] : 0;
}

/* The trees of the contexts a plane uses, each set up when first met (a plane of a
 * few hundred values meets a few of the 256: setting up all 64 Ki decisions cost more
 * than coding them), in an array grown as trees are met (a 256 KiB one, fresh
 * pages each plane, cost small planes more page faults than decisions). */
typedef struct byte_model {
    lsc_rc_bit *bits;  /* trees of 256 decisions: tree k at 256 k */
    uint16_t tree[256]; /* context -> its tree + 1, 0 = not met yet */
    unsigned used, cap; /* trees set up, room */
} byte_model;

#define BYTE_MODEL_FIRST_TREES 8

static int byte_model_init(byte_model *bm)
{
    bm->bits = malloc(BYTE_MODEL_FIRST_TREES * 256 * sizeof *bm->bits);
    memset(bm->tree, 0, sizeof bm->tree);
    bm->used = 0;
    bm->cap = BYTE_MODEL_FIRST_TREES;
    return bm->bits ? 0 : -1;
}

/* NULL when out of memory. The pointer holds until the next call. */
static inline lsc_rc_bit *byte_model_tree(byte_model *bm, unsigned ctx)
{
    if (__builtin_expect(!bm->tree[ctx], 0)) {
        if (bm->used == bm->cap) { /* at most 256 trees: one per context */
            lsc_rc_bit *p = realloc(bm->bits, (size_t)bm->cap * 2 * 256 * sizeof *p);
            if (!p)
                return NULL;
            bm->bits = p;
            bm->cap *= 2;
        }
        lsc_rc_bits_init(bm->bits + 256 * bm->used, 256);
        bm->tree[ctx] = (uint16_t)++bm->used;
    }
    return bm->bits + 256 * (bm->tree[ctx] - 1u);
}

static lsc_status encode_byte_model(const uint8_t *planes, uint64_t n, unsigned j, uint8_t **out,
                                    size_t *out_size, lsc_error *error)
{
    byte_model bm;
    if (byte_model_init(&bm))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
    lsc_rc_encoder e;
    lsc_rc_encoder_init(&e);
    const uint8_t *plane = planes + j * n;
    uint64_t low = e.low; /* the coder's low and range in registers */
    uint32_t range = e.range;
    for (uint64_t i = 0; i < n; i++) {
        lsc_rc_bit *tree = byte_model_tree(&bm, byte_model_context(planes, j, i));
        if (!tree) {
            e.failed = 1;
            break;
        }
        unsigned byte = plane[i], node = 1;
        for (int k = 7; k >= 0; k--) {
            unsigned bit = (byte >> k) & 1, p = tree[node].p;
            lsc_rc_bit_update(&tree[node], bit);
            lsc_rc_encode_static_in(&e, &low, &range, p, bit);
            node = node * 2 + bit;
        }
    }
    e.low = low;
    e.range = range;
    lsc_rc_encoder_finish(&e);
    free(bm.bits);
    if (e.failed) {
        free(e.buf);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory coding a value plane");
    }
    *out = e.buf;
    *out_size = e.size;
    return LSC_OK;
}

static lsc_status decode_byte_model(const uint8_t *stream, size_t size, uint8_t *planes, uint64_t n,
                                    unsigned j, const char *label, lsc_error *error)
{
    lsc_rc_decoder d;
    if (lsc_rc_decoder_init(&d, stream, size))
        return BAD("blob '%s': value plane %u does not start a range-coded stream", label, j);
    byte_model bm;
    if (byte_model_init(&bm))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
    uint8_t *plane = planes + j * n;
    for (uint64_t i = 0; i < n && !d.overrun; i++) {
        lsc_rc_bit *tree = byte_model_tree(&bm, byte_model_context(planes, j, i));
        if (!tree) {
            free(bm.bits);
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
        }
        unsigned node = 1;
        for (int k = 0; k < 8; k++)
            node = node * 2 + lsc_rc_decode(&d, &tree[node]);
        plane[i] = (uint8_t)node;
    }
    free(bm.bits);
    if (!lsc_rc_decoder_done(&d))
        return BAD("blob '%s': value plane %u's stream is %s", label, j,
                   d.overrun ? "too short" : "longer than its values");
    return LSC_OK;
}

lsc_status lsc_entropy_encode_plane(void *zstd, const uint8_t *planes, uint64_t n, unsigned j, int fast,
                                    uint8_t **out, size_t *out_size, unsigned *method, lsc_error *error)
{
    return lsc_entropy_encode_plane_ex(zstd, planes, n, j, fast ? LSC_PLANE_FAST : 0, out, out_size, method, error);
}

lsc_status lsc_entropy_encode_plane_ex(void *zstd, const uint8_t *planes, uint64_t n, unsigned j, unsigned options,
                                       uint8_t **out, size_t *out_size, unsigned *method, lsc_error *error)
{
    int exhaustive = (options & LSC_PLANE_EXHAUSTIVE) != 0, fast = (options & LSC_PLANE_FAST) != 0;
    const uint8_t *plane = planes + j * n;
    uint8_t *best = malloc(n ? (size_t)n : 1);
    if (!best)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value plane");
    memcpy(best, plane, (size_t)n);
    size_t best_size = (size_t)n - (size_t)(n >> MIN_SAVING_SHIFT);
    *method = LSC_SECTION_RAW;
    /* the adaptive model only where it can win: small exponent and top mantissa planes;
     * format 5 keeps it only where it saves 1/LSC_ADAPTIVE_MARGIN (8 adaptive decisions a byte) */
    unsigned last = n < LSC_ENTROPY_SMALL_PLANE && j < 2 ? LSC_SECTION_ADAPTIVE : LSC_SECTION_MODEL;
    for (unsigned m = LSC_SECTION_ZSTD; m <= last; m++) {
        uint8_t *cand = NULL;
        size_t cand_size = 0;
        lsc_status st = m == LSC_SECTION_ZSTD    ? lsc_entropy_zstd_compress(zstd, plane, n, &cand, &cand_size, error)
                        : m == LSC_SECTION_MODEL ? encode_model(planes, n, j, exhaustive ? SIZE_MAX : best_size, fast,
                                                                &cand, &cand_size, error)
                                                 : encode_byte_model(planes, n, j, &cand, &cand_size, error);
        if (st != LSC_OK) {
            free(best);
            return st;
        }
        size_t margin = fast && m == LSC_SECTION_ADAPTIVE ? cand_size / LSC_ADAPTIVE_MARGIN : 0;
        if (cand && cand_size + margin < best_size) {
            free(best);
            best = cand;
            best_size = cand_size;
            *method = fast && m == LSC_SECTION_MODEL ? LSC_SECTION_RANS : m;
        } else {
            free(cand);
        }
    }
    *out = best;
    *out_size = *method == LSC_SECTION_RAW ? (size_t)n : best_size;
    return LSC_OK;
}

lsc_status lsc_entropy_decode_plane(const uint8_t *stream, size_t size, unsigned method, unsigned version,
                                    uint8_t *planes, uint64_t n, unsigned j, const char *label,
                                    lsc_error *error)
{
    uint8_t *plane = planes + j * n;
    switch (method) {
    case LSC_SECTION_RAW:
        if (size != n)
            return BAD("blob '%s': raw value plane %u holds %zu bytes for %llu values", label, j, size,
                       (unsigned long long)n);
        memcpy(plane, stream, size);
        return LSC_OK;
    case LSC_SECTION_ZSTD: {
        size_t got = ZSTD_decompress(plane, (size_t)n, stream, size);
        if (ZSTD_isError(got))
            return BAD("blob '%s': value plane %u: zstd: %s", label, j, ZSTD_getErrorName(got));
        if (got != n)
            return BAD("blob '%s': value plane %u: zstd gave %zu bytes for %llu values", label, j, got,
                       (unsigned long long)n);
        return LSC_OK;
    }
    case LSC_SECTION_MODEL:
    case LSC_SECTION_ADAPTIVE:
        if (lsc_entropy_adaptive(version, method))
            return decode_byte_model(stream, size, planes, n, j, label, error);
        if (method == LSC_SECTION_MODEL)
            return decode_model(stream, size, planes, n, j, 0, label, error);
        break; /* method 3 in format 1 */
    case LSC_SECTION_RANS:
        if (version >= LSC_ENTROPY_VERSION_FAST)
            return decode_model(stream, size, planes, n, j, 1, label, error);
        break;
    default:
        break;
    }
    return BAD("blob '%s': value plane %u: unknown coding method %u", label, j, method);
}
