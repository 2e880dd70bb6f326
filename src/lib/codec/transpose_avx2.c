/* Compiled for AVX2 by function attribute, as scan_avx2.c: one loop, called only
 * after the CPU check. */
#include "codec/transpose_avx2.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

int lsc_transpose4_avx2_built(void)
{
    return 1;
}

/* Rows x0..x7 of 8 lanes become columns 0..7. */
#define T8X8(x0, x1, x2, x3, x4, x5, x6, x7)                                                               \
    do {                                                                                                   \
        __m256 t0 = _mm256_unpacklo_ps(x0, x1), t1 = _mm256_unpackhi_ps(x0, x1);                           \
        __m256 t2 = _mm256_unpacklo_ps(x2, x3), t3 = _mm256_unpackhi_ps(x2, x3);                           \
        __m256 t4 = _mm256_unpacklo_ps(x4, x5), t5 = _mm256_unpackhi_ps(x4, x5);                           \
        __m256 t6 = _mm256_unpacklo_ps(x6, x7), t7 = _mm256_unpackhi_ps(x6, x7);                           \
        __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);                 \
        __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);                 \
        __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);                 \
        __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);                 \
        x0 = _mm256_permute2f128_ps(s0, s4, 0x20);                                                         \
        x1 = _mm256_permute2f128_ps(s1, s5, 0x20);                                                         \
        x2 = _mm256_permute2f128_ps(s2, s6, 0x20);                                                         \
        x3 = _mm256_permute2f128_ps(s3, s7, 0x20);                                                         \
        x4 = _mm256_permute2f128_ps(s0, s4, 0x31);                                                         \
        x5 = _mm256_permute2f128_ps(s1, s5, 0x31);                                                         \
        x6 = _mm256_permute2f128_ps(s2, s6, 0x31);                                                         \
        x7 = _mm256_permute2f128_ps(s3, s7, 0x31);                                                         \
    } while (0)

/* Lanes are moved as floats: the shuffles never look at the bits (NaN payloads
 * and signed zeros pass unchanged). */
__attribute__((target("avx2"))) void lsc_transpose4_avx2(uint8_t *dst, const uint8_t *tile, uint64_t r0,
                                                         uint64_t n_r, uint64_t rows, uint64_t cols,
                                                         uint64_t stride, int stream)
{
    float *d = (float *)(void *)dst;
    const float *t = (const float *)(const void *)tile;
    uint64_t n16 = n_r / 16 * 16, c8 = cols / 8 * 8;
    for (uint64_t c = 0; c < c8; c += 8) {
        for (uint64_t r = 0; r < n16; r += 16) {
            const float *p = t + r * stride + c, *q = p + 8 * stride;
            __m256 a0 = _mm256_loadu_ps(p), a1 = _mm256_loadu_ps(p + stride);
            __m256 a2 = _mm256_loadu_ps(p + 2 * stride), a3 = _mm256_loadu_ps(p + 3 * stride);
            __m256 a4 = _mm256_loadu_ps(p + 4 * stride), a5 = _mm256_loadu_ps(p + 5 * stride);
            __m256 a6 = _mm256_loadu_ps(p + 6 * stride), a7 = _mm256_loadu_ps(p + 7 * stride);
            __m256 b0 = _mm256_loadu_ps(q), b1 = _mm256_loadu_ps(q + stride);
            __m256 b2 = _mm256_loadu_ps(q + 2 * stride), b3 = _mm256_loadu_ps(q + 3 * stride);
            __m256 b4 = _mm256_loadu_ps(q + 4 * stride), b5 = _mm256_loadu_ps(q + 5 * stride);
            __m256 b6 = _mm256_loadu_ps(q + 6 * stride), b7 = _mm256_loadu_ps(q + 7 * stride);
            T8X8(a0, a1, a2, a3, a4, a5, a6, a7);
            T8X8(b0, b1, b2, b3, b4, b5, b6, b7);
            float *o = d + c * rows + r0 + r;
            /* Each dense row's 64 bytes in two adjacent stores: a whole line when streamed. */
#define PUT(j, x, y)                                                                                       \
    do {                                                                                                   \
        if (stream) {                                                                                      \
            _mm256_stream_ps(o + (j) * rows, x);                                                           \
            _mm256_stream_ps(o + (j) * rows + 8, y);                                                       \
        } else {                                                                                           \
            _mm256_storeu_ps(o + (j) * rows, x);                                                           \
            _mm256_storeu_ps(o + (j) * rows + 8, y);                                                       \
        }                                                                                                  \
    } while (0)
            PUT(0, a0, b0);
            PUT(1, a1, b1);
            PUT(2, a2, b2);
            PUT(3, a3, b3);
            PUT(4, a4, b4);
            PUT(5, a5, b5);
            PUT(6, a6, b6);
            PUT(7, a7, b7);
#undef PUT
        }
        for (uint64_t j = c; j < c + 8; j++)
            for (uint64_t r = n16; r < n_r; r++)
                memcpy(d + j * rows + r0 + r, t + r * stride + j, 4);
    }
    for (uint64_t j = c8; j < cols; j++)
        for (uint64_t r = 0; r < n_r; r++)
            memcpy(d + j * rows + r0 + r, t + r * stride + j, 4);
    if (stream)
        _mm_sfence(); /* streamed lines visible before any other thread reads dst */
}

#else

int lsc_transpose4_avx2_built(void)
{
    return 0;
}

void lsc_transpose4_avx2(uint8_t *dst, const uint8_t *tile, uint64_t r0, uint64_t n_r, uint64_t rows,
                         uint64_t cols, uint64_t stride, int stream)
{
    (void)dst, (void)tile, (void)r0, (void)n_r, (void)rows, (void)cols, (void)stride, (void)stream;
}

#endif
