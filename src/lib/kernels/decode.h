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
    uint64_t bitmap_row;  /* bit of block (R, 0) */
    uint32_t n_bcols, bw;
    uint64_t S;           /* block_h * block_w */
    int div_mode;
    uint64_t div_m;       /* ceil(2^64 / bw) for LSC_DIV_FAST */
    /* branch-free path (lsc_dec_set_kept): the kept block columns of the row */
    const uint32_t *kept;
    uint32_t n_kept;
    uint64_t s_m;         /* ceil(2^64 / S) */
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
    d->entries = v->entries;
    d->b = v->index_bits;
    d->bit = e0 * d->b;
    uint64_t nbytes = (v->n_entries * d->b + 7) / 8;
    d->fast_lim = nbytes >= 8 ? (nbytes - 8) * 8 + 8 : 0;
    d->entries_left = e1 - e0;
    d->mask = (1ull << d->b) - 1;
    d->half = 1ull << (d->b - 1);
    d->p = UINT64_MAX;
    d->bitmap = v->bitmap;
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
}

/* Lists the row's kept block columns in `kept` (room for n_bcols) so that the
 * decoder can map positions without branches. Returns 0 when the row's scan space
 * is too large for the 32-bit fast division (the decoder then keeps its branchy
 * path). */
static inline int lsc_dec_set_kept(lsc_brow_decoder *d, uint32_t *kept)
{
#ifdef __SIZEOF_INT128__
    uint32_t nk = 0;
    for (uint32_t c = 0; c < d->n_bcols; c += 57) {
        uint32_t left = d->n_bcols - c;
        uint64_t bits = lsc_read_bits(d->bitmap, d->bitmap_row + c, left < 57 ? left : 57);
        while (bits) {
            kept[nk++] = c + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
        }
    }
    if (nk == 0 || (uint64_t)nk * d->S > UINT32_MAX)
        return 0;
    d->kept = kept;
    d->n_kept = nk;
    d->s_m = d->S > 1 ? UINT64_MAX / d->S + 1 : 0;
    return 1;
#else
    (void)d, (void)kept;
    return 0;
#endif
}

#ifdef __SIZEOF_INT128__
static inline uint64_t lsc_mulhi(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

/* The branch-free loop: every entry is mapped and stored, the output index only
 * advances on value entries (jumps are about as frequent as values at small b, so
 * a branch on them mispredicts half the time). s1: S == 1; h1: block_h == 1. */
static inline __attribute__((always_inline)) uint32_t
lsc_dec_fast(lsc_brow_decoder *d, uint32_t *restrict cols, uint32_t *restrict lrs, uint32_t cap,
             const int s1, const int h1, const int id)
{
    const uint8_t *entries = d->entries;
    const uint64_t half = d->half, mask = d->mask, S = d->S, s_m = d->s_m, bw = d->bw;
    const uint64_t div_m = d->div_m, last = d->n_kept - 1;
    const unsigned b = d->b, jshift = d->b - 1;
    const uint32_t *restrict kept = d->kept;
    uint64_t p = d->p, bit = d->bit, left = d->entries_left;
    /* entries readable with one 8-byte load, then the stream's last few bytes */
    uint64_t fast = bit < d->fast_lim ? (d->fast_lim - bit + b - 1) / b : 0;
    uint32_t n = 0;
#define LSC_DEC_STEP(READ)                                                                 \
    do {                                                                                   \
        uint64_t e = READ;                                                                 \
        bit += b;                                                                          \
        uint64_t isv = e < half;                                                           \
        uint64_t inc = isv ? e + 1 : (e - half + 1) << jshift;                             \
        p += inc;                                                                          \
        if (id) {                                                                          \
            cols[n] = (uint32_t)p;                                                         \
            n += (uint32_t)isv;                                                            \
            continue;                                                                      \
        }                                                                                  \
        uint64_t k = s1 ? p : lsc_mulhi(p, s_m);                                           \
        k = k > last ? last : k;                                                           \
        uint64_t off = p - k * S, lr, lc;                                                  \
        if (h1)                                                                            \
            lr = 0, lc = off;                                                              \
        else if (bw == 1)                                                                  \
            lr = off, lc = 0;                                                              \
        else                                                                               \
            lr = lsc_mulhi(off, div_m), lc = off - lr * bw;                                \
        cols[n] = (uint32_t)(kept[k] * bw + lc);                                           \
        if (!h1)                                                                           \
            lrs[n] = (uint32_t)lr;                                                         \
        n += (uint32_t)isv;                                                                \
    } while (0)
    /* at most cap entries make at most cap values: no check of n inside */
    uint64_t todo = fast < left ? fast : left;
    todo = todo < cap ? todo : cap;
    left -= todo;
    for (uint64_t i = 0; i < todo; i++)
        LSC_DEC_STEP((lsc_dec_load64(entries + (bit >> 3)) >> (bit & 7)) & mask);
    if (todo < cap)
        for (; left && n < cap; left--)
            LSC_DEC_STEP(lsc_read_bits(entries, bit, b));
#undef LSC_DEC_STEP
    d->p = p;
    d->bit = bit;
    d->entries_left = left;
    return n;
}

/* Separate small functions so that the compiler keeps the loop state in registers. */
static __attribute__((noinline)) uint32_t lsc_dec_fast_s1(lsc_brow_decoder *d, uint32_t *cols,
                                                          uint32_t *lrs, uint32_t cap)
{
    return lsc_dec_fast(d, cols, lrs, cap, 1, 1, 0);
}

static __attribute__((noinline)) uint32_t lsc_dec_fast_h1(lsc_brow_decoder *d, uint32_t *cols,
                                                          uint32_t *lrs, uint32_t cap)
{
    return lsc_dec_fast(d, cols, lrs, cap, 0, 1, 0);
}

static __attribute__((noinline)) uint32_t lsc_dec_fast_gen(lsc_brow_decoder *d, uint32_t *cols,
                                                           uint32_t *lrs, uint32_t cap)
{
    return lsc_dec_fast(d, cols, lrs, cap, 0, 0, 0);
}

/* block_h = 1 with every block of the row kept: the scan position is the column */
static __attribute__((noinline)) uint32_t lsc_dec_fast_id(lsc_brow_decoder *d, uint32_t *cols,
                                                          uint32_t *lrs, uint32_t cap)
{
    return lsc_dec_fast(d, cols, lrs, cap, 0, 1, 1);
}
#endif

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

/* Decodes up to `cap` values: cols[i] = matrix column, lrs[i] = row inside the
 * block row (lrs may be NULL when block_h == 1). Returns how many (0 = row done). */
static inline uint32_t lsc_dec_chunk(lsc_brow_decoder *d, uint32_t *cols, uint32_t *lrs,
                                     uint32_t cap)
{
#ifdef __SIZEOF_INT128__
    if (d->kept) {
        if (d->S == 1)
            return lsc_dec_fast_s1(d, cols, lrs, cap);
        if (d->div_mode == LSC_DIV_ROW1 && d->n_kept == d->n_bcols)
            return lsc_dec_fast_id(d, cols, lrs, cap);
        if (d->div_mode == LSC_DIV_ROW1)
            return lsc_dec_fast_h1(d, cols, lrs, cap);
        return lsc_dec_fast_gen(d, cols, lrs, cap);
    }
#endif
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
