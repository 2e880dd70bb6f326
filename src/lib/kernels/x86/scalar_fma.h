/* The n = 1 kernels and the positions decoder shared by the AVX2 and AVX-512
 * variants (brows.h's k_dot, k_dot_mod16, k_n1, k_positions): x read by scalar loads,
 * since gathers are slower than those on the CPUs we measured (AMD Zen), multiplied
 * eight values at a time, and the 8-lane AVX2 decoder, which AVX-512 has no wider
 * form of yet. Included once by each x86 variant, compiled with its flags. */
#include <immintrin.h>
#include <math.h>

#include "kernels/x86/pos_avx2.h"

/* sum vals[i] * x[((pos[i] - off) & mask) * xs]: eight x loads are gathered into a
 * vector by scalar loads (faster than vgatherdps on Zen) and the values read eight
 * at a time, ~2 loads a value instead of 3: 10-25% faster than four scalar FMA
 * chains (x of 800-9216 floats, docs/benchmarks.md). */
#define LSC_DOT_VECTOR_MIN 32 /* values: shorter runs (small blocks) stay on scalar chains */
static inline __attribute__((always_inline)) float
dot_by_vectors(const float *restrict x, size_t xs, const uint32_t *restrict pos,
               const float *restrict vals, uint32_t cnt, uint32_t off, uint32_t mask)
{
#define LSC_XAT(k) x[(size_t)((pos[i + (k)] - off) & mask) * xs]
#define LSC_X8(k) _mm256_setr_ps(LSC_XAT(k), LSC_XAT(k + 1), LSC_XAT(k + 2), LSC_XAT(k + 3), \
                                 LSC_XAT(k + 4), LSC_XAT(k + 5), LSC_XAT(k + 6), LSC_XAT(k + 7))
    uint32_t i = 0;
    if (cnt < LSC_DOT_VECTOR_MIN) { /* the vectors' setup and reduction cost more */
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (; i + 4 <= cnt; i += 4) {
            s0 = fmaf(vals[i], LSC_XAT(0), s0);
            s1 = fmaf(vals[i + 1], LSC_XAT(1), s1);
            s2 = fmaf(vals[i + 2], LSC_XAT(2), s2);
            s3 = fmaf(vals[i + 3], LSC_XAT(3), s3);
        }
        for (; i < cnt; i++)
            s0 = fmaf(vals[i], LSC_XAT(0), s0);
        return (s0 + s1) + (s2 + s3);
    }
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; i + 16 <= cnt; i += 16) {
        a0 = _mm256_fmadd_ps(LSC_X8(0), _mm256_loadu_ps(vals + i), a0);
        a1 = _mm256_fmadd_ps(LSC_X8(8), _mm256_loadu_ps(vals + i + 8), a1);
    }
    if (i + 8 <= cnt) {
        a0 = _mm256_fmadd_ps(LSC_X8(0), _mm256_loadu_ps(vals + i), a0);
        i += 8;
    }
    a0 = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    float s = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
    for (; i < cnt; i++)
        s = fmaf(vals[i], LSC_XAT(0), s);
    return s;
#undef LSC_X8
#undef LSC_XAT
}

static float k_dot(const float *restrict x, size_t xs, const uint32_t *restrict cols,
                   const float *restrict vals, uint32_t cnt)
{
    if (xs == 1)
        return dot_by_vectors(x, 1, cols, vals, cnt, 0, UINT32_MAX);
    return dot_by_vectors(x, xs, cols, vals, cnt, 0, UINT32_MAX);
}

/* k_dot over positions decoded in one pass across several one-row block rows
 * (brows.h, rows_n1): a row's column is its position minus `off`, modulo 2^16. */
static float k_dot_mod16(const float *restrict x, size_t xs, const uint32_t *restrict pos,
                         const float *restrict vals, uint32_t cnt, uint32_t off)
{
    if (xs == 1)
        return dot_by_vectors(x, 1, pos, vals, cnt, off, UINT16_MAX);
    return dot_by_vectors(x, xs, pos, vals, cnt, off, UINT16_MAX);
}

static void k_n1(const float *restrict x, size_t xs, float *restrict y0, size_t ldy,
                 const uint32_t *restrict cols, const uint32_t *restrict lrs,
                 const float *restrict vals, uint32_t cnt)
{
    for (uint32_t i = 0; i < cnt; i++)
        y0[lrs[i] * ldy] = fmaf(vals[i], x[cols[i] * xs], y0[lrs[i] * ldy]);
}

static uint32_t k_positions(lsc_brow_decoder *d, uint32_t *pos, uint32_t cap)
{
    return lsc_dec_pos_avx2(d, pos, cap);
}
