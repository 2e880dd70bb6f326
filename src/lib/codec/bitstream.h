/* LSB-first bit writer (docs/format.md conventions) over a zeroed buffer whose size
 * the caller computed beforehand; fields are ORed in, so the padding stays zero. */
#ifndef LSC_CODEC_BITSTREAM_H
#define LSC_CODEC_BITSTREAM_H

#include <stdint.h>

typedef struct lsc_bitwriter {
    uint8_t *buf;
    uint64_t bit; /* next bit to write */
} lsc_bitwriter;

/* Writes the low `width` (0..57) bits of value at bit offset `bit` (value < 2^width). */
static inline void lsc_put_bits_at(uint8_t *buf, uint64_t bit, uint64_t value, unsigned width)
{
    uint8_t *p = buf + (bit >> 3);
    unsigned shift = (unsigned)(bit & 7);
    unsigned nbytes = (shift + width + 7) / 8;
    uint64_t v = value << shift;
    for (unsigned i = 0; i < nbytes; i++)
        p[i] |= (uint8_t)(v >> (8 * i));
}

static inline void lsc_put_bits(lsc_bitwriter *w, uint64_t value, unsigned width)
{
    lsc_put_bits_at(w->buf, w->bit, value, width);
    w->bit += width;
}

#endif /* LSC_CODEC_BITSTREAM_H */
