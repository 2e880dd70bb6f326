/* A range coder (docs/format.md 4.6): 32-bit range, carry handled with a pending
 * byte and a count of 0xFF bytes; binary decisions with 15-bit probabilities, either
 * adaptive (quick at first, then settling) or fixed, and symbols of static frequency
 * tables (format 2: a table lookup instead of one decision per bit). Written here because the position and value
 * models code one binary decision at a time under a context the caller computes,
 * and no library in Debian exposes such a coder (libzstd's FSE and Huffman code
 * whole blocks of bytes under one static table, and are not public API). */
#ifndef LSC_CODEC_RANGECODER_H
#define LSC_CODEC_RANGECODER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LSC_RC_PROB_BITS 15
#define LSC_RC_ONE (1u << LSC_RC_PROB_BITS)
/* Probabilities stay inside [1/256, 255/256]: a decision costs at least 0.0056 bits,
 * so a stream of n bytes holds at most ~1450 n decisions (docs/format.md 4.2). */
#define LSC_RC_PROB_MIN (LSC_RC_ONE >> 8)
#define LSC_RC_PROB_MAX (LSC_RC_ONE - LSC_RC_PROB_MIN)
#define LSC_RC_TOP (1u << 24)

/* Probability that the next bit is 1, and how many bits it has seen (capped). */
typedef struct lsc_rc_bit {
    uint16_t p;
    uint16_t seen;
} lsc_rc_bit;

static inline void lsc_rc_bits_init(lsc_rc_bit *bits, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bits[i] = (lsc_rc_bit){LSC_RC_ONE / 2, 0};
}

/* Adaptation rate 1/2^shift: shift = bits(seen + 2) - 1, capped at 7, so the first
 * bits move the estimate like a count (1/2, 1/3..) and later ones by 1/128. */
static inline void lsc_rc_bit_update(lsc_rc_bit *b, unsigned bit)
{
    unsigned shift = 31u - (unsigned)__builtin_clz(b->seen + 2u);
    if (shift >= 7)
        shift = 7;
    else
        b->seen++;
    unsigned p = b->p;
    if (bit)
        p += (LSC_RC_ONE - p) >> shift;
    else
        p -= p >> shift;
    if (p < LSC_RC_PROB_MIN)
        p = LSC_RC_PROB_MIN;
    if (p > LSC_RC_PROB_MAX)
        p = LSC_RC_PROB_MAX;
    b->p = (uint16_t)p;
}

/* ---- encoder: appends to a growing heap buffer ---- */

typedef struct lsc_rc_encoder {
    uint64_t low;
    uint32_t range;
    uint8_t cache;
    uint64_t pending; /* bytes not yet written: the cache and pending-1 0xFF bytes */
    uint8_t *buf;
    size_t size, cap;
    int failed;       /* out of memory */
} lsc_rc_encoder;

static inline void lsc_rc_encoder_init(lsc_rc_encoder *e)
{
    memset(e, 0, sizeof *e);
    e->range = 0xFFFFFFFFu;
    e->pending = 1;
}

static inline void lsc_rc_put_byte(lsc_rc_encoder *e, uint8_t byte)
{
    if (e->size == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4096;
        uint8_t *p = e->failed ? NULL : realloc(e->buf, cap);
        if (!p) {
            e->failed = 1;
            return;
        }
        e->buf = p;
        e->cap = cap;
    }
    e->buf[e->size++] = byte;
}

static inline void lsc_rc_shift_low(lsc_rc_encoder *e)
{
    if ((uint32_t)e->low < 0xFF000000u || (e->low >> 32) != 0) {
        uint8_t carry = (uint8_t)(e->low >> 32), byte = e->cache;
        do {
            lsc_rc_put_byte(e, (uint8_t)(byte + carry));
            byte = 0xFF;
        } while (--e->pending != 0);
        e->cache = (uint8_t)(e->low >> 24);
    }
    e->pending++;
    e->low = (e->low & 0x00FFFFFFu) << 8;
}

static inline void lsc_rc_encoder_normalize(lsc_rc_encoder *e)
{
    while (e->range < LSC_RC_TOP) {
        e->range <<= 8;
        lsc_rc_shift_low(e);
    }
}

/* Writes out the bytes a range below LSC_RC_TOP has made ready. Out of line: the
 * hot loops (the *_in forms below) keep low and range in their own variables and
 * come here about once per byte written. */
static __attribute__((noinline, unused)) void lsc_rc_encoder_settle(lsc_rc_encoder *e)
{
    lsc_rc_encoder_normalize(e);
}

/* A bit of fixed probability p (of a 1, in 1/32768, within [PROB_MIN, PROB_MAX]),
 * with the coder's low and range in the caller's *low and *range (e holds the rest;
 * lsc_rc_encode_static below keeps them in e). No branch on the bit: the bits a
 * model codes are the unpredictable ones. */
static inline void lsc_rc_encode_static_in(lsc_rc_encoder *e, uint64_t *low, uint32_t *range, unsigned p,
                                           unsigned bit)
{
    uint32_t bound = (*range >> LSC_RC_PROB_BITS) * p;
    uint32_t zero = (uint32_t)bit - 1u; /* all ones when the bit is 0 */
    *low += bound & zero;
    *range = (bound & ~zero) | ((*range - bound) & zero);
    if (__builtin_expect(*range < LSC_RC_TOP, 0)) {
        e->low = *low;
        e->range = *range;
        lsc_rc_encoder_settle(e);
        *low = e->low;
        *range = e->range;
    }
}

static inline void lsc_rc_encode_static(lsc_rc_encoder *e, unsigned p, unsigned bit)
{
    uint64_t low = e->low;
    uint32_t range = e->range;
    lsc_rc_encode_static_in(e, &low, &range, p, bit);
    e->low = low;
    e->range = range;
}

static inline void lsc_rc_encode(lsc_rc_encoder *e, lsc_rc_bit *b, unsigned bit)
{
    unsigned p = b->p;
    lsc_rc_bit_update(b, bit);
    lsc_rc_encode_static(e, p, bit);
}

/* A symbol that owns [cum, cum + freq) of 2^total_bits (a frequency table, or
 * total_bits equiprobable bits with freq 1); low and range as in
 * lsc_rc_encode_static_in. */
static inline void lsc_rc_encode_freq_in(lsc_rc_encoder *e, uint64_t *low, uint32_t *range, uint32_t cum,
                                         uint32_t freq, unsigned total_bits)
{
    uint32_t r = *range >> total_bits;
    *low += (uint64_t)cum * r;
    *range = freq * r;
    if (__builtin_expect(*range < LSC_RC_TOP, 0)) {
        e->low = *low;
        e->range = *range;
        lsc_rc_encoder_settle(e);
        *low = e->low;
        *range = e->range;
    }
}

static inline void lsc_rc_encode_freq(lsc_rc_encoder *e, uint32_t cum, uint32_t freq, unsigned total_bits)
{
    uint64_t low = e->low;
    uint32_t range = e->range;
    lsc_rc_encode_freq_in(e, &low, &range, cum, freq, total_bits);
    e->low = low;
    e->range = range;
}

/* Equiprobable bits, no model (the low bits of counts). */
static inline void lsc_rc_encode_direct(lsc_rc_encoder *e, uint32_t value, unsigned width)
{
    while (width--) {
        e->range >>= 1;
        if ((value >> width) & 1)
            e->low += e->range;
        lsc_rc_encoder_normalize(e);
    }
}

/* Flushes; the stream is then e->buf[0, e->size). Its first byte is always 0. */
static inline void lsc_rc_encoder_finish(lsc_rc_encoder *e)
{
    for (int i = 0; i < 5; i++)
        lsc_rc_shift_low(e);
}

/* ---- decoder: reads a bounded stream, never past its end ---- */

typedef struct lsc_rc_decoder {
    const uint8_t *p, *end;
    uint32_t range, code;
    int overrun; /* wanted a byte past the end: the stream is bad */
} lsc_rc_decoder;

static inline uint8_t lsc_rc_next_byte(lsc_rc_decoder *d)
{
    if (d->p < d->end)
        return *d->p++;
    d->overrun = 1;
    return 0;
}

/* Returns 0, or -1 if the stream is shorter than 5 bytes or does not start with 0. */
static inline int lsc_rc_decoder_init(lsc_rc_decoder *d, const uint8_t *stream, size_t size)
{
    d->p = stream;
    d->end = stream + size;
    d->range = 0xFFFFFFFFu;
    d->code = 0;
    d->overrun = 0;
    if (size < 5 || stream[0] != 0)
        return -1;
    for (int i = 0; i < 5; i++)
        d->code = (d->code << 8) | lsc_rc_next_byte(d);
    return 0;
}

static inline void lsc_rc_decoder_normalize(lsc_rc_decoder *d)
{
    while (d->range < LSC_RC_TOP) {
        d->range <<= 8;
        d->code = (d->code << 8) | lsc_rc_next_byte(d);
    }
}

static inline unsigned lsc_rc_decode_static(lsc_rc_decoder *d, unsigned p)
{
    uint32_t bound = (d->range >> LSC_RC_PROB_BITS) * p;
    unsigned bit;
    if (d->code < bound) {
        d->range = bound;
        bit = 1;
    } else {
        d->code -= bound;
        d->range -= bound;
        bit = 0;
    }
    lsc_rc_decoder_normalize(d);
    return bit;
}

static inline unsigned lsc_rc_decode(lsc_rc_decoder *d, lsc_rc_bit *b)
{
    unsigned bit = lsc_rc_decode_static(d, b->p);
    lsc_rc_bit_update(b, bit);
    return bit;
}

/* First half of decoding a symbol of lsc_rc_encode_freq: its slot in [0, 2^total_bits),
 * or a larger number for a stream no encoder wrote (the caller rejects it). */
static inline uint32_t lsc_rc_decode_slot(const lsc_rc_decoder *d, unsigned total_bits, uint32_t *r)
{
    *r = d->range >> total_bits;
    return d->code / *r;
}

/* Second half, once the caller has found the symbol owning the slot. */
static inline void lsc_rc_decode_take(lsc_rc_decoder *d, uint32_t r, uint32_t cum, uint32_t freq)
{
    d->code -= cum * r;
    d->range = freq * r;
    lsc_rc_decoder_normalize(d);
}

static inline uint32_t lsc_rc_decode_direct(lsc_rc_decoder *d, unsigned width)
{
    uint32_t value = 0;
    while (width--) {
        d->range >>= 1;
        unsigned bit = d->code >= d->range;
        if (bit)
            d->code -= d->range;
        value = (value << 1) | bit;
        lsc_rc_decoder_normalize(d);
    }
    return value;
}

/* A valid stream is read exactly to its end, never beyond. */
static inline int lsc_rc_decoder_done(const lsc_rc_decoder *d)
{
    return !d->overrun && d->p == d->end;
}

#endif /* LSC_CODEC_RANGECODER_H */
