/* The n = 1 kernels and the positions decoder shared by the AVX2 and AVX-512
 * variants (brows.h's k_dot, k_n1, k_positions): several scalar FMA chains, since
 * gathers are slower than scalar loads on the CPUs we measured (AMD Zen), and the
 * 8-lane AVX2 decoder, which AVX-512 has no wider form of yet. Included once by
 * each x86 variant, compiled with its flags. */
#include <math.h>

#include "kernels/x86/pos_avx2.h"

static float k_dot(const float *restrict x, size_t xs, const uint32_t *restrict cols,
                   const float *restrict vals, uint32_t cnt)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t i = 0;
    if (xs == 1) {
        for (; i + 4 <= cnt; i += 4) {
            s0 = fmaf(vals[i], x[cols[i]], s0);
            s1 = fmaf(vals[i + 1], x[cols[i + 1]], s1);
            s2 = fmaf(vals[i + 2], x[cols[i + 2]], s2);
            s3 = fmaf(vals[i + 3], x[cols[i + 3]], s3);
        }
    }
    for (; i < cnt; i++)
        s0 = fmaf(vals[i], x[cols[i] * xs], s0);
    return (s0 + s1) + (s2 + s3);
}

/* k_dot over positions decoded in one pass across several one-row block rows
 * (brows.h, rows_n1): a row's column is its position minus `off`, modulo 2^16. */
static float k_dot_mod16(const float *restrict x, size_t xs, const uint32_t *restrict pos,
                         const float *restrict vals, uint32_t cnt, uint32_t off)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        s0 = fmaf(vals[i], x[(size_t)(uint16_t)(pos[i] - off) * xs], s0);
        s1 = fmaf(vals[i + 1], x[(size_t)(uint16_t)(pos[i + 1] - off) * xs], s1);
        s2 = fmaf(vals[i + 2], x[(size_t)(uint16_t)(pos[i + 2] - off) * xs], s2);
        s3 = fmaf(vals[i + 3], x[(size_t)(uint16_t)(pos[i + 3] - off) * xs], s3);
    }
    for (; i < cnt; i++)
        s0 = fmaf(vals[i], x[(size_t)(uint16_t)(pos[i] - off) * xs], s0);
    return (s0 + s1) + (s2 + s3);
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
