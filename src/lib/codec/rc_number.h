/* Whole numbers through the range coder (docs/format.md 4.4, 4.7): bits(x) in unary
 * with adaptive bits chosen by the previous number's bits(x), then the bits below the
 * leading one, the first two adaptive, the rest equiprobable. Row counts use it with
 * every bit kept; the tables of format 2 keep only the top bits of a probability. */
#ifndef LSC_CODEC_RC_NUMBER_H
#define LSC_CODEC_RC_NUMBER_H

#include <stdint.h>

#include "codec/rangecoder.h"
#include "common/checked.h"

#define LSC_RC_NUMBER_BITS 33 /* bits(x) is 0..32 */
#define LSC_RC_KEEP_ALL 64

typedef struct lsc_rc_number {
    lsc_rc_bit unary[LSC_RC_NUMBER_BITS][LSC_RC_NUMBER_BITS];
    lsc_rc_bit low[LSC_RC_NUMBER_BITS][4];
    unsigned prev_bits; /* bits() of the number before */
    unsigned max_bits;  /* bits() of the largest number the caller allows */
} lsc_rc_number;

static inline void lsc_rc_number_init(lsc_rc_number *n, unsigned max_bits)
{
    lsc_rc_bits_init(&n->unary[0][0], LSC_RC_NUMBER_BITS * LSC_RC_NUMBER_BITS);
    lsc_rc_bits_init(&n->low[0][0], LSC_RC_NUMBER_BITS * 4);
    n->prev_bits = 0;
    n->max_bits = max_bits;
}

/* Bits of x below its leading one that are coded when `keep` are kept. */
static inline unsigned lsc_rc_number_coded(unsigned b, unsigned keep)
{
    unsigned low = b ? b - 1 : 0;
    return low < keep ? low : keep;
}

/* x < 2^max_bits; with keep < bits(x) - 1 the bits below the kept ones must be zero. */
static inline void lsc_rc_encode_number(lsc_rc_encoder *e, lsc_rc_number *n, uint64_t x, unsigned keep)
{
    unsigned b = lsc_bits_u64(x);
    lsc_rc_bit *unary = n->unary[n->prev_bits];
    for (unsigned i = 0; i < n->max_bits; i++) {
        lsc_rc_encode(e, &unary[i], i < b);
        if (i >= b)
            break;
    }
    unsigned coded = lsc_rc_number_coded(b, keep), shift = b ? b - 1 - coded : 0, node = 1;
    for (unsigned i = 0; i < 2 && i < coded; i++) {
        unsigned bit = (unsigned)(x >> (b - 2 - i)) & 1;
        lsc_rc_encode(e, &n->low[b][node], bit);
        node = node * 2 + bit;
    }
    if (coded > 2)
        lsc_rc_encode_direct(e, (uint32_t)((x >> shift) & ((UINT64_C(1) << (coded - 2)) - 1)), coded - 2);
    n->prev_bits = b;
}

static inline uint64_t lsc_rc_decode_number(lsc_rc_decoder *d, lsc_rc_number *n, unsigned keep)
{
    lsc_rc_bit *unary = n->unary[n->prev_bits];
    unsigned b = 0;
    while (b < n->max_bits && lsc_rc_decode(d, &unary[b]))
        b++;
    unsigned coded = lsc_rc_number_coded(b, keep);
    uint64_t x = b ? 1 : 0;
    for (unsigned i = 0, node = 1; i < 2 && i < coded; i++) {
        unsigned bit = lsc_rc_decode(d, &n->low[b][node]);
        node = node * 2 + bit;
        x = x * 2 + bit;
    }
    if (coded > 2)
        x = (x << (coded - 2)) | lsc_rc_decode_direct(d, coded - 2);
    n->prev_bits = b;
    return b ? x << (b - 1 - coded) : 0;
}

#endif /* LSC_CODEC_RC_NUMBER_H */
