/* The integer batch-1 form's multiply (form_int8.h) with AVX-512 F: the AVX2 design
 * with sixteen lanes and a mask register for the tail. */
#include <immintrin.h>

#include "kernels/form_int8.h"

static inline __attribute__((always_inline)) __m512i cols16(const uint16_t *c)
{
    return _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)c));
}

static inline __attribute__((always_inline)) __m512i cols32(const uint32_t *c)
{
    return _mm512_loadu_si512((const void *)c);
}

static inline __attribute__((always_inline)) __m512i vals8(const int8_t *v)
{
    return _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)v));
}

static inline __attribute__((always_inline)) __m512i vals16(const int16_t *v)
{
    return _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(const void *)v));
}

#define GATHER(idx) _mm512_i32gather_epi32((idx), (const void *)x, 4)
#define ROWS_BODY(VT, CT, LV, LC)                                                               \
    do {                                                                                        \
        const VT *vals = f->vals;                                                               \
        const CT *cols = f->cols;                                                               \
        for (uint32_t r = r0; r < r1; r++) {                                                    \
            uint64_t i = f->row_ptr[r], e = f->row_ptr[r + 1];                                  \
            __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();                   \
            for (; i + 32 <= e; i += 32) {                                                      \
                a0 = _mm512_add_epi32(a0, _mm512_mullo_epi32(LV(vals + i), GATHER(LC(cols + i)))); \
                a1 = _mm512_add_epi32(a1, _mm512_mullo_epi32(LV(vals + i + 16),                 \
                                                             GATHER(LC(cols + i + 16))));       \
            }                                                                                   \
            if (i + 16 <= e) {                                                                  \
                a0 = _mm512_add_epi32(a0, _mm512_mullo_epi32(LV(vals + i), GATHER(LC(cols + i)))); \
                i += 16;                                                                        \
            }                                                                                   \
            if (i < e) {                                                                        \
                __mmask16 m = (__mmask16)((1u << (e - i)) - 1);                                 \
                __m512i xv = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, LC(cols + i), \
                                                         (const void *)x, 4);                   \
                a1 = _mm512_add_epi32(a1, _mm512_mullo_epi32(LV(vals + i), xv));               \
            }                                                                                   \
            y[r] = _mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1));                           \
        }                                                                                       \
    } while (0)

void lsc_int8_rows_avx512(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1)
{
    if (f->val_bytes == 1 && f->col_bytes == 2)
        ROWS_BODY(int8_t, uint16_t, vals8, cols16);
    else if (f->val_bytes == 1)
        ROWS_BODY(int8_t, uint32_t, vals8, cols32);
    else if (f->col_bytes == 2)
        ROWS_BODY(int16_t, uint16_t, vals16, cols16);
    else
        ROWS_BODY(int16_t, uint32_t, vals16, cols32);
}
