/* Weight values of any stored type to fp32, one at a time (the portable path;
 * SIMD variants convert whole vectors and use these for the tails). */
#ifndef LSC_KERNELS_CONVERT_H
#define LSC_KERNELS_CONVERT_H

#include <stdint.h>
#include <string.h>

#include "common/endian.h"
#include "onnx-lsc/lsc.h"

static inline float lsc_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE half to float, exact (subnormals, infinities and NaN payloads kept). */
static inline float lsc_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f)
        return lsc_f32_from_bits(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return lsc_f32_from_bits(sign);
        /* subnormal: man * 2^-24 is exact in float */
        float f = (float)man * (1.0f / 16777216.0f);
        return sign ? -f : f;
    }
    return lsc_f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

static inline unsigned lsc_elem_size(lsc_dtype dtype)
{
    return dtype == LSC_DTYPE_FLOAT64 ? 8 : dtype == LSC_DTYPE_FLOAT32 ? 4 : 2;
}

static inline void lsc_convert_values(lsc_dtype dtype, const uint8_t *src, float *dst, uint32_t n)
{
    switch (dtype) {
    case LSC_DTYPE_FLOAT32:
        for (uint32_t i = 0; i < n; i++)
            dst[i] = lsc_f32_from_bits(lsc_load_le32(src + 4 * i));
        break;
    case LSC_DTYPE_FLOAT16:
        for (uint32_t i = 0; i < n; i++)
            dst[i] = lsc_half_to_float(lsc_load_le16(src + 2 * i));
        break;
    case LSC_DTYPE_BFLOAT16:
        for (uint32_t i = 0; i < n; i++)
            dst[i] = lsc_f32_from_bits((uint32_t)lsc_load_le16(src + 2 * i) << 16);
        break;
    case LSC_DTYPE_FLOAT64:
        for (uint32_t i = 0; i < n; i++) {
            uint64_t u = lsc_load_le64(src + 8 * i);
            double d;
            memcpy(&d, &u, 8);
            dst[i] = (float)d;
        }
        break;
    case LSC_DTYPE_UINT8:
    case LSC_DTYPE_INT8:
        break; /* never here: 8-bit weights multiply through their dequantized float32 view */
    }
}

#endif /* LSC_KERNELS_CONVERT_H */
