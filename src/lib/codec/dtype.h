/* What the codec needs to know about an element type: its size, and which bit
 * patterns are zeros (docs/format.md 1.7: +0.0 and -0.0; nothing else). */
#ifndef LSC_CODEC_DTYPE_H
#define LSC_CODEC_DTYPE_H

#include <stdint.h>

#include "common/endian.h"
#include "onnx-lsc/lsc.h"

/* Classification of one element. */
enum { LSC_ELEM_VALUE = 0, LSC_ELEM_POS_ZERO = 1, LSC_ELEM_NEG_ZERO = 2 };

/* Classifies the element at p (little-endian, elem_size 1, 2, 4 or 8 bytes). The sign bit
 * is the top bit for every float type, so a zero is "all bits but the sign clear". An
 * 8-bit element is stored relative to its row's zero point (1.9): its zero is byte 0. */
static inline int lsc_elem_classify(const uint8_t *p, unsigned elem_size)
{
    uint64_t bits, sign;
    switch (elem_size) {
    case 1: return p[0] ? LSC_ELEM_VALUE : LSC_ELEM_POS_ZERO;
    case 2: bits = lsc_load_le16(p); sign = 1ull << 15; break;
    case 4: bits = lsc_load_le32(p); sign = 1ull << 31; break;
    default: bits = lsc_load_le64(p); sign = 1ull << 63; break;
    }
    if (bits == 0)
        return LSC_ELEM_POS_ZERO;
    return bits == sign ? LSC_ELEM_NEG_ZERO : LSC_ELEM_VALUE;
}

static inline int lsc_dtype_is_8bit(int dtype)
{
    return dtype == LSC_DTYPE_UINT8 || dtype == LSC_DTYPE_INT8;
}

#endif /* LSC_CODEC_DTYPE_H */
