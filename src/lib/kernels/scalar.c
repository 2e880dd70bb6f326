/* The portable reference kernels: plain C, always built and tested. */
#include "kernels/convert.h"
#include "kernels/decode.h"

static float k_dot(const float *restrict x, size_t xs, const uint32_t *restrict cols,
                   const float *restrict vals, uint32_t cnt)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    uint32_t i = 0;
    for (; i + 4 <= cnt; i += 4) {
        s0 += vals[i] * x[cols[i] * xs];
        s1 += vals[i + 1] * x[cols[i + 1] * xs];
        s2 += vals[i + 2] * x[cols[i + 2] * xs];
        s3 += vals[i + 3] * x[cols[i + 3] * xs];
    }
    for (; i < cnt; i++)
        s0 += vals[i] * x[cols[i] * xs];
    return (s0 + s1) + (s2 + s3);
}

static void k_n1(const float *restrict x, size_t xs, float *restrict y0, size_t ldy,
                 const uint32_t *restrict cols, const uint32_t *restrict lrs,
                 const float *restrict vals, uint32_t cnt)
{
    for (uint32_t i = 0; i < cnt; i++)
        y0[lrs[i] * ldy] += vals[i] * x[cols[i] * xs];
}

static void k_row(const float *restrict x, size_t ldx, size_t n, float *restrict y0,
                  const uint32_t *restrict cols, const float *restrict vals, uint32_t cnt)
{
    for (uint32_t i = 0; i < cnt; i++) {
        const float *restrict xr = x + cols[i] * ldx;
        float w = vals[i];
        for (size_t j = 0; j < n; j++)
            y0[j] += w * xr[j];
    }
}

static void k_gen(const float *restrict x, size_t ldx, size_t n, float *restrict y0, size_t ldy,
                  const uint32_t *restrict cols, const uint32_t *restrict lrs,
                  const float *restrict vals, uint32_t cnt)
{
    for (uint32_t i = 0; i < cnt; i++)
        k_row(x, ldx, n, y0 + lrs[i] * ldy, cols + i, vals + i, 1);
}

static uint32_t k_positions(lsc_brow_decoder *d, uint32_t *pos, uint32_t cap)
{
    return lsc_dec_pos_scalar(d, pos, cap, cap);
}

#define k_convert lsc_convert_values
#define LSC_BROWS_NAME lsc_spmm_brows_scalar
#define LSC_UNPACK_NAME lsc_unpack_brow_scalar
#include "kernels/brows.h"

#define LSC_WINDOWS_NAME lsc_windows_scalar
#include "kernels/windows.h"

static uint32_t k_plain(const float *restrict x, size_t ldx, size_t n, float *restrict y,
                        const uint16_t *restrict cols, const float *restrict vals, uint32_t cnt,
                        uint32_t k1)
{
    uint32_t i = 0;
    for (; i < cnt && cols[i] < k1; i++) {
        const float *restrict xr = x + (size_t)cols[i] * ldx;
        for (size_t j = 0; j < n; j++)
            y[j] += vals[i] * xr[j];
    }
    return i;
}

static uint32_t k_plain_end(const uint16_t *cols, uint32_t i, uint32_t e, uint32_t k1)
{
    while (i < e && cols[i] < k1)
        i++;
    return i;
}

#define LSC_PLAIN_SPMM_NAME lsc_plain_spmm_scalar
#include "kernels/plain_spmm.h"
