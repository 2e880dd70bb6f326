/* LscDynamicQuantMatMul (docs/format.md 3.1, "Decision (LscDynamicQuantMatMul)"):
 * dynamic quantization's DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul -> Mul
 * [-> Add] in one op, inputs A (float), B (the 8-bit blob), b_scale (one or one per
 * column), b_zero_point (in the blob, not read), bias (optional, one per column).
 * Each step as ONNX defines it and ONNX Runtime computes it:
 *   x_min = min(0, min A), x_max = max(0, max A)
 *   x_scale = x_max == x_min ? 1 : (x_max - x_min) / 255         (float32)
 *   x_zp = round_half_even(clamp(0 - x_min / x_scale, 0, 255))
 *   a = clamp(round_half_even(A / x_scale) + x_zp, 0, 255)       (uint8)
 *   acc = (a - x_zp) (B - b_zp), exact int32 (quantized.c)
 *   Y = float(acc) * (x_scale * b_scale[n]) [+ bias[n]]          (a product, then a sum)
 * then the folded activation, if any. */
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernel.h"


/* Input `index`'s float data and element count; *data NULL when absent. */
static OrtStatus *float_values(const lsc_ort_call *call, size_t index, const char *what, const float **data,
                               size_t *count)
{
    int rank = 0;
    int64_t dims[LSC_MAX_RANK];
    OrtStatus *s = lsc_ort_float_input(call, index, what, data, &rank, dims);
    *count = 1;
    for (int i = 0; i < rank; i++)
        *count *= (size_t)dims[i];
    return s;
}

/* min(0, min a) and max(0, max a) over n values (NaN: unspecified, as in ONNX). */
static void range_with_zero(const float *a, size_t n, float *lo_out, float *hi_out)
{
    float lo = 0.0f, hi = 0.0f;
    size_t i = 0;
#if defined(__SSE2__)
    /* minps / maxps on 8 lanes: the compiler keeps the scalar form's dependency chain */
    __m128 lo0 = _mm_setzero_ps(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    for (; i + 8 <= n; i += 8) {
        __m128 v0 = _mm_loadu_ps(a + i), v1 = _mm_loadu_ps(a + i + 4);
        lo0 = _mm_min_ps(v0, lo0);
        lo1 = _mm_min_ps(v1, lo1);
        hi0 = _mm_max_ps(v0, hi0);
        hi1 = _mm_max_ps(v1, hi1);
    }
    float l[8], h[8];
    _mm_storeu_ps(l, lo0);
    _mm_storeu_ps(l + 4, lo1);
    _mm_storeu_ps(h, hi0);
    _mm_storeu_ps(h + 4, hi1);
    for (size_t j = 0; j < 8; j++) {
        lo = l[j] < lo ? l[j] : lo;
        hi = h[j] > hi ? h[j] : hi;
    }
#endif
    for (; i < n; i++) {
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    *lo_out = lo;
    *hi_out = hi;
}

/* x_scale and x_zp of A's n values, as ONNX Runtime's GetQuantizationParameter. */
static void quant_params(const float *a, size_t n, float *scale, int *zp)
{
    float lo, hi;
    range_with_zero(a, n, &lo, &hi);
    *scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    float z = 0.0f - lo / *scale;
    z = z > 0.0f ? z : 0.0f;
    z = z < 255.0f ? z : 255.0f;
    *zp = (int)lsc_ort_round_even(z);
}

/* Y = float(acc) * (x_scale * b_scale[n]) [+ bias[n]], activated; acc may be Y itself. */
static void finish(const lsc_ort_kernel *k, const int32_t *acc, float *y, size_t m, size_t n, float x_scale,
                   const float *b_scale, size_t n_scale, const float *bias)
{
    for (size_t r = 0; r < m; r++) {
        const int32_t *a = acc + r * n;
        float *o = y + r * n;
        if (n_scale == 1 && !bias) {
            float s = x_scale * b_scale[0];
            for (size_t j = 0; j < n; j++)
                o[j] = (float)a[j] * s;
        } else if (n_scale == 1) {
            float s = x_scale * b_scale[0];
            for (size_t j = 0; j < n; j++)
                o[j] = (float)a[j] * s + bias[j];
        } else if (!bias) {
            for (size_t j = 0; j < n; j++)
                o[j] = (float)a[j] * (x_scale * b_scale[j]);
        } else {
            for (size_t j = 0; j < n; j++)
                o[j] = (float)a[j] * (x_scale * b_scale[j]) + bias[j];
        }
        lsc_ort_activate_run(&k->act, o, n);
    }
}

OrtStatus *lsc_ort_dynamic_matmul_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const float *a = NULL, *b_scale = NULL, *bias = NULL;
    int rank = 0;
    int64_t dims[LSC_MAX_RANK];
    size_t n_scale = 0, n_bias = 0;
    OrtStatus *s = lsc_ort_float_input(call, 0, "A", &a, &rank, dims);
    if (!s)
        s = float_values(call, 2, "b_scale", &b_scale, &n_scale);
    if (!s)
        s = float_values(call, 4, "bias", &bias, &n_bias);
    if (s)
        return s;
    size_t K = call->winfo.cols, N = call->winfo.rows, M = 1;
    if ((s = lsc_ort_product_rows(call, "A", rank, dims, &M)))
        return s;
    if (!b_scale || (n_scale != 1 && n_scale != N))
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "b_scale must hold 1 or %zu values", N);
    if (bias && n_bias != N)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "bias must hold %zu values, has %zu", N, n_bias);
    size_t mn = M * N; /* lsc_ort_product_rows checked it */
    dims[rank - 1] = (int64_t)N;
    float *y = NULL;
    if ((s = lsc_ort_float_output(call, rank, dims, &y)) || !mn)
        return s;

    size_t mk = M * K;
    float x_scale;
    int zp;
    quant_params(a, mk, &x_scale, &zp);
    float lo = (float)-zp, hi = (float)(255 - zp);
    int32_t *acc = (int32_t *)(void *)y; /* the sums in place, then their floats */
    lsc_error error = { 0 };
    lsc_status st = LSC_OK;
    if (M == 1 && k->int8_form && call->weight == k->weight) {
        /* batch 1 on the integer form: A's codes minus x_zp, straight into int32 */
        int32_t local[LSC_ORT_STACK_BYTES / sizeof(int32_t)];
        int32_t *x = K <= sizeof local / sizeof *local ? local : lsc_ort_small_alloc(call, K * sizeof *x);
        if (!x)
            return lsc_ort_fail(api, k, ORT_FAIL, "out of memory (%zu)", K);
        for (size_t i = 0; i < K; i++)
            x[i] = (int32_t)lsc_ort_quantize_centred(a[i], x_scale, lo, hi);
        st = lsc_spmv_int8(call->weight, x, acc, &call->exec, &error);
        if (x != local)
            lsc_ort_small_free(call, x, K * sizeof *x);
    } else {
        uint8_t *q = lsc_ort_small_alloc(call, mk);
        if (!q)
            return lsc_ort_fail(api, k, ORT_FAIL, "out of memory (%zu x %zu)", M, K);
        for (size_t i = 0; i < mk; i++)
            q[i] = (uint8_t)((int32_t)lsc_ort_quantize_centred(a[i], x_scale, lo, hi) + zp);
        lsc_ort_exact_job job = { q, 0, zp, M, K, N, { 0, 0, 0, 1 } };
        s = lsc_ort_exact_plan_for(call, 0, zp, &job.plan);
        if (!s)
            s = lsc_ort_exact_run(call, &job, acc);
        lsc_ort_small_free(call, q, mk);
        if (s)
            return s;
    }
    if (st != LSC_OK)
        return lsc_ort_status(call, st, &error);
    finish(k, acc, y, M, N, x_scale, b_scale, n_scale, bias);
    return NULL;
}
