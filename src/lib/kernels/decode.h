/* Decoding one block row of an encoded weight (docs/format.md 1.5, 1.6) into the
 * positions of its values, a chunk at a time, without touching other block rows.
 * Included by every kernel variant so that each compiles it with its own flags.
 * The weight must have been validated (lsc_weight_open): the decoder trusts the
 * stream's structure (every kept block holds a value, no run past the kept blocks). */
#ifndef LSC_KERNELS_DECODE_H
#define LSC_KERNELS_DECODE_H

#include <stdint.h>
#include <string.h>

#include "codec/blob.h"
#include "common/endian.h"

/* How a scan offset inside a block becomes (local row, local column). */
enum { LSC_DIV_ROW1, LSC_DIV_COL1, LSC_DIV_FAST, LSC_DIV_SLOW };

/* How the positions path maps a scan position to (column, local row). */
enum { LSC_MAP_ID, LSC_MAP_H1_POW2, LSC_MAP_POW2, LSC_MAP_GEN };

/* Exact division of 0 <= p <= pmax < 2^31 by a constant d: q = (p * m) >> k, with
 * k = bits(pmax) + ceil(log2(d)) and m = ceil(2^k / d). The error p * (m d - 2^k) /
 * (d 2^k) stays below 2^-ceil(log2 d) <= 1/d, so the floor is exact, and
 * p * m < 2^63. One 64-bit multiply, no 128-bit arithmetic. */
typedef struct lsc_udiv {
    uint64_t m;
    unsigned k;
} lsc_udiv;

static inline lsc_udiv lsc_udiv_make(uint32_t d, uint32_t pmax)
{
    unsigned bp = 1, ld = 0;
    while (bp < 31 && (pmax >> bp) != 0)
        bp++;
    while ((UINT64_C(1) << ld) < d)
        ld++;
    lsc_udiv r = { ((UINT64_C(1) << (bp + ld)) + d - 1) / d, bp + ld };
    return r;
}

static inline uint32_t lsc_udiv_do(uint32_t p, lsc_udiv dv)
{
    return (uint32_t)(((uint64_t)p * dv.m) >> dv.k);
}

#define LSC_POS_MAX (UINT32_C(1) << 31) /* scan spaces up to this run the positions path */

typedef struct lsc_brow_decoder {
    const uint8_t *entries;
    uint64_t bit;         /* next entry's bit offset */
    uint64_t fast_lim;    /* entries starting below this bit: one 8-byte load inside the stream */
    uint64_t entries_left;
    uint64_t mask, half;  /* b-bit mask, H = 2^(b-1) */
    unsigned b;
    uint64_t p;           /* SRI cursor, starts at -1 */
    uint64_t kstart, kend; /* scan range of the current kept block */
    uint32_t bcol;        /* its block column */
    const uint8_t *bitmap;
    const uint8_t *blob_end;
    uint64_t bitmap_row;  /* bit of block (R, 0) */
    uint32_t n_bcols, bw;
    uint64_t S;           /* block_h * block_w */
    int div_mode;
    uint64_t div_m;       /* ceil(2^64 / bw) for LSC_DIV_FAST */
    uint64_t nbytes;      /* bytes of the whole SRI stream */
    /* positions path (lsc_dec_set_kept): the kept block columns of the row */
    const uint32_t *kept;
    uint32_t n_kept;
    uint32_t p32;         /* SRI cursor of the positions path */
    int map;              /* LSC_MAP_* */
    unsigned sh_w, sh_s;  /* log2(block_w), log2(S) when powers of two */
    uint32_t bh;
    lsc_udiv div_s, div_w, div_h; /* by S, block_w, block_h, for positions of the row */
    uint64_t n_values;    /* values of the block row */
    int rare_jumps;       /* under 1 jump entry in 256 entries in the block row */
} lsc_brow_decoder;

static inline uint64_t lsc_dec_load64(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
#else
    return lsc_load_le64(p);
#endif
}

/* First kept block column >= from in the decoder's block row, or n_bcols. */
static inline uint32_t lsc_dec_next_kept(const lsc_brow_decoder *d, uint32_t from)
{
    while (from < d->n_bcols) {
        uint32_t left = d->n_bcols - from;
        unsigned w = left < 57 ? (unsigned)left : 57;
        uint64_t bits = lsc_read_bits(d->bitmap, d->bitmap_row + from, w);
        if (bits)
            return from + (uint32_t)__builtin_ctzll(bits);
        from += w;
    }
    return d->n_bcols;
}

static inline void lsc_dec_init(lsc_brow_decoder *d, const lsc_blob_view *v, uint32_t brow,
                                uint64_t *value_start)
{
    uint64_t e0, e1, v1;
    lsc_blob_row_start(v, brow, &e0, value_start);
    lsc_blob_row_start(v, brow + 1, &e1, &v1);
    d->n_values = v1 - *value_start;
    d->bh = v->block_h;
    d->entries = v->entries;
    d->b = v->index_bits;
    d->bit = e0 * d->b;
    uint64_t nbytes = (v->n_entries * d->b + 7) / 8;
    d->fast_lim = nbytes >= 8 ? (nbytes - 8) * 8 + 8 : 0;
    d->nbytes = nbytes;
    d->entries_left = e1 - e0;
    d->rare_jumps = (e1 - e0 - d->n_values) * 256 < e1 - e0;
    d->mask = (1ull << d->b) - 1;
    d->half = 1ull << (d->b - 1);
    d->p = UINT64_MAX;
    d->bitmap = v->bitmap;
    d->blob_end = v->base + v->size;
    d->bitmap_row = (uint64_t)brow * v->n_bcols;
    d->n_bcols = v->n_bcols;
    d->bw = v->block_w;
    d->S = (uint64_t)v->block_h * v->block_w;
    d->bcol = lsc_dec_next_kept(d, 0);
    d->kstart = 0;
    d->kend = d->S;
    if (v->block_h == 1)
        d->div_mode = LSC_DIV_ROW1;
    else if (v->block_w == 1)
        d->div_mode = LSC_DIV_COL1;
#ifdef __SIZEOF_INT128__
    else if (d->S <= UINT32_MAX)
        d->div_mode = LSC_DIV_FAST;
#endif
    else
        d->div_mode = LSC_DIV_SLOW;
    d->div_m = d->bw > 1 ? UINT64_MAX / d->bw + 1 : 0;
    d->kept = NULL;
    d->n_kept = 0;
    d->p32 = UINT32_MAX;
    d->div_s = d->div_w = d->div_h = (lsc_udiv){ 1, 0 };
    d->map = LSC_MAP_GEN;
    d->sh_w = d->sh_s = 0;
}


/* Lists the row's kept block columns in `kept` (room for n_bcols) so that the
 * decoder can run the positions path: SRI entries to scan positions
 * (lsc_dec_pos_scalar or a variant's SIMD decoder), then positions to columns
 * (lsc_dec_map, lsc_dec_segment). Returns 0 when the row's scan space exceeds
 * LSC_POS_MAX (the decoder then keeps its branchy path). */
static inline int lsc_dec_set_kept(lsc_brow_decoder *d, uint32_t *kept)
{
    uint32_t nk = 0;
    for (uint32_t c = 0; c < d->n_bcols; c += 57) {
        uint32_t left = d->n_bcols - c;
        uint64_t bit = d->bitmap_row + c, bits;
        /* one 8-byte load while it stays inside the blob (sections follow the bitmap) */
        if (d->bitmap + (bit >> 3) + 8 <= d->blob_end)
            bits = (lsc_dec_load64(d->bitmap + (bit >> 3)) >> (bit & 7)) &
                   (left < 57 ? (UINT64_C(1) << left) - 1 : (UINT64_C(1) << 57) - 1);
        else
            bits = lsc_read_bits(d->bitmap, bit, left < 57 ? left : 57);
        while (bits) {
            kept[nk++] = c + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
        }
    }
    if (nk == 0 || (uint64_t)nk * d->S > LSC_POS_MAX)
        return 0;
    d->kept = kept;
    d->n_kept = nk;
    d->p32 = UINT32_MAX;
    uint32_t pmax = (uint32_t)(nk * d->S - 1);
    d->div_s = lsc_udiv_make((uint32_t)d->S, pmax);
    d->div_w = lsc_udiv_make(d->bw, pmax);
    d->div_h = lsc_udiv_make(d->bh, pmax);
    int bw_pow2 = (d->bw & (d->bw - 1)) == 0, s_pow2 = (d->S & (d->S - 1)) == 0;
    if (d->div_mode == LSC_DIV_ROW1 && nk == d->n_bcols)
        d->map = LSC_MAP_ID;
    else if (d->div_mode == LSC_DIV_ROW1 && bw_pow2)
        d->map = LSC_MAP_H1_POW2;
    else if (bw_pow2 && s_pow2)
        d->map = LSC_MAP_POW2;
    else
        d->map = LSC_MAP_GEN;
    d->sh_w = (unsigned)__builtin_ctzll(d->bw);
    d->sh_s = (unsigned)__builtin_ctzll(d->S);
    return 1;
}

/* Decodes at most max_entries entries (and at most cap values) of the positions
 * path into pos[] (scan positions in the block row). The portable decoder, also
 * the head and tail of the SIMD ones: one unaligned 8-byte load per entry, no
 * branch on the entry's kind (jumps are about as frequent as values at small b,
 * so a branch on them would mispredict half the time). */
static inline uint32_t lsc_dec_pos_scalar(lsc_brow_decoder *d, uint32_t *restrict pos, uint32_t cap,
                                          uint64_t max_entries)
{
    const uint8_t *entries = d->entries;
    const uint32_t half = (uint32_t)d->half, mask = (uint32_t)d->mask;
    const unsigned b = d->b, jshift = d->b - 1;
    uint32_t p = d->p32;
    uint64_t bit = d->bit, left = d->entries_left;
    /* entries readable with one 8-byte load, then the stream's last few bytes */
    uint64_t fast = bit < d->fast_lim ? (d->fast_lim - bit + b - 1) / b : 0;
    uint32_t n = 0;
#define LSC_POS_STEP(READ)                                                                 \
    do {                                                                                   \
        uint32_t e = (uint32_t)(READ);                                                     \
        bit += b;                                                                          \
        uint32_t isv = e < half;                                                           \
        p += isv ? e + 1 : (e - half + 1) << jshift;                                       \
        pos[n] = p;                                                                        \
        n += isv;                                                                          \
    } while (0)
    /* at most cap entries make at most cap values: no check of n inside */
    uint64_t todo = left < max_entries ? left : max_entries;
    todo = todo < cap ? todo : cap;
    uint64_t quick = todo < fast ? todo : fast;
    for (uint64_t i = 0; i < quick; i++)
        LSC_POS_STEP((lsc_dec_load64(entries + (bit >> 3)) >> (bit & 7)) & mask);
    for (uint64_t i = quick; i < todo; i++)
        LSC_POS_STEP(lsc_read_bits(entries, bit, b));
#undef LSC_POS_STEP
    d->p32 = p;
    d->bit = bit;
    d->entries_left = left - todo;
    return n;
}

/* Scan positions to matrix columns (cols may be pos) and rows inside the block row
 * (lrs may be NULL when block_h == 1). */
static inline void lsc_dec_map(const lsc_brow_decoder *d, const uint32_t *pos, uint32_t *cols,
                               uint32_t *lrs, uint32_t n)
{
    const uint32_t *restrict kept = d->kept;
    const unsigned sh_w = d->sh_w, sh_s = d->sh_s;
    const uint32_t bw = d->bw, wmask = d->bw - 1, smask = (uint32_t)d->S - 1;
    switch (d->map) {
    case LSC_MAP_ID:
        if (cols != pos)
            memcpy(cols, pos, n * sizeof *cols);
        break;
    case LSC_MAP_H1_POW2:
        for (uint32_t i = 0; i < n; i++)
            cols[i] = (kept[pos[i] >> sh_w] << sh_w) | (pos[i] & wmask);
        break;
    case LSC_MAP_POW2:
        for (uint32_t i = 0; i < n; i++) {
            uint32_t off = pos[i] & smask;
            cols[i] = (kept[pos[i] >> sh_s] << sh_w) | (off & wmask);
            lrs[i] = off >> sh_w;
        }
        break;
    default: {
        const uint32_t S = (uint32_t)d->S;
        const lsc_udiv div_s = d->div_s, div_w = d->div_w;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t p = pos[i], k = lsc_udiv_do(p, div_s), off = p - k * S;
            uint32_t lr = lsc_udiv_do(off, div_w);
            cols[i] = kept[k] * bw + (off - lr * bw);
            if (lrs)
                lrs[i] = lr;
        }
        break;
    }
    }
}

/* The row segment holding scan position p (positions path): block_w consecutive
 * positions of one row of one kept block. Inside it the column is p + *off (32-bit
 * wrap-around arithmetic); *lr is the row inside the block row, *end the first
 * position past the segment. */
static inline void lsc_dec_segment(const lsc_brow_decoder *d, uint32_t p, uint32_t *lr,
                                   uint32_t *off, uint64_t *end)
{
    uint32_t seg = (d->bw & (d->bw - 1)) == 0 ? p >> d->sh_w : lsc_udiv_do(p, d->div_w);
    uint32_t k = d->bh == 1 ? seg : lsc_udiv_do(seg, d->div_h);
    *lr = seg - k * d->bh;
    *off = (d->kept[k] - seg) * d->bw;
    *end = ((uint64_t)seg + 1) * d->bw;
}

static inline uint64_t lsc_dec_read(lsc_brow_decoder *d)
{
    uint64_t e;
    if (__builtin_expect(d->bit < d->fast_lim, 1))
        e = (lsc_dec_load64(d->entries + (d->bit >> 3)) >> (d->bit & 7)) & d->mask;
    else
        e = lsc_read_bits(d->entries, d->bit, d->b);
    d->bit += d->b;
    return e;
}

/* The branchy path, for block rows whose scan space exceeds 32 bits. Decodes up to
 * `cap` values: cols[i] = matrix column, lrs[i] = row inside the block row (lrs may
 * be NULL when block_h == 1). Returns how many (0 = row done). */
static inline uint32_t lsc_dec_chunk(lsc_brow_decoder *d, uint32_t *cols, uint32_t *lrs,
                                     uint32_t cap)
{
    uint32_t n = 0;
    uint64_t p = d->p, kstart = d->kstart, kend = d->kend, half = d->half;
    uint64_t base = (uint64_t)d->bcol * d->bw;
    uint64_t left = d->entries_left;
    while (n < cap && left) {
        uint64_t e = lsc_dec_read(d);
        left--;
        if (__builtin_expect(e >= half, 0)) {
            p += (e - half + 1) << (d->b - 1);
            continue;
        }
        p += 1 + e;
        while (p >= kend) {
            d->bcol = lsc_dec_next_kept(d, d->bcol + 1);
            base = (uint64_t)d->bcol * d->bw;
            kstart = kend;
            kend += d->S;
        }
        uint64_t off = p - kstart, lr, lc;
        switch (d->div_mode) {
        case LSC_DIV_ROW1: lr = 0, lc = off; break;
        case LSC_DIV_COL1: lr = off, lc = 0; break;
#ifdef __SIZEOF_INT128__
        case LSC_DIV_FAST:
            lr = (uint64_t)(((unsigned __int128)d->div_m * off) >> 64);
            lc = off - lr * d->bw;
            break;
#endif
        default: lr = off / d->bw, lc = off % d->bw; break;
        }
        cols[n] = (uint32_t)(base + lc);
        if (lrs)
            lrs[n] = (uint32_t)lr;
        n++;
    }
    d->p = p;
    d->kstart = kstart;
    d->kend = kend;
    d->entries_left = left;
    return n;
}

#endif /* LSC_KERNELS_DECODE_H */
