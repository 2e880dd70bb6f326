/* LscQLinearMatMulFloat (docs/format.md 3.1, "Decision (LscQLinearMatMulFloat)"):
 * static quantization's QuantizeLinear -> QLinearMatMul -> DequantizeLinear [-> Add]
 * in one op, inputs x (float), a_scale, a_zero_point, B (the 8-bit blob), b_scale,
 * b_zero_point (in the blob, not read), y_scale, y_zero_point, bias (optional, one
 * per column). Each step as ONNX Runtime computes it:
 *   a = clamp(round_half_even(x / a_scale) + a_zp, type's range)   (QuantizeLinear)
 *   q = LscQLinearMatMul's exact product and requantization (qlinear.c)
 *   Y = float(q - y_zp) * y_scale [+ bias[n]]                      (DequantizeLinear, Add)
 * then the folded activation, if any. */
#include <stdlib.h>

#include "kernel.h"

/* One scalar input: its data and whether it is int8 (type checked against `want`:
 * float, or 8-bit when want is UNDEFINED). */
static OrtStatus *scalar(const lsc_ort_call *call, size_t index, const char *what, ONNXTensorElementDataType want,
                         const void **data, int *is_signed)
{
    const OrtApi *api = call->kernel->api;
    const OrtValue *v = NULL;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0, count = 0;
    void *p = NULL;
    OrtStatus *s = api->KernelContext_GetInput(call->context, index, &v);
    if (!s && !v)
        return lsc_ort_fail(api, call->kernel, ORT_INVALID_ARGUMENT, "%s is missing", what);
    if (s || (s = lsc_ort_value_info(api, v, &type, &rank, &count)) ||
        (s = api->GetTensorMutableData((OrtValue *)v, &p)))
        return s;
    *is_signed = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    int ok = want == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED ? *is_signed || type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8
                                                             : type == want;
    if (!ok || count != 1)
        return lsc_ort_fail(api, call->kernel, ORT_INVALID_ARGUMENT, "%s must be one %s value (got type %d, %zu values)",
                            what, want == ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED ? "uint8 or int8" : "float32",
                            (int)type, count);
    *data = p;
    return NULL;
}

/* Y = float(q - y_zp) * y_scale [+ bias[n]], activated, m rows of n. */
static void dequantize(const lsc_ort_kernel *k, const void *q, int is_signed, int y_zp, float y_scale,
                       const float *bias, size_t m, size_t n, float *y)
{
    const int8_t *s8 = q;
    const uint8_t *u8 = q;
    for (size_t r = 0; r < m; r++) {
        float *o = y + r * n;
        if (is_signed) /* loops the compiler vectorizes */
            for (size_t j = 0; j < n; j++)
                o[j] = (float)(s8[r * n + j] - y_zp) * y_scale;
        else
            for (size_t j = 0; j < n; j++)
                o[j] = (float)(u8[r * n + j] - y_zp) * y_scale;
        if (bias)
            for (size_t j = 0; j < n; j++)
                o[j] = o[j] + bias[j];
        lsc_ort_activate_run(&k->act, o, n);
    }
}

OrtStatus *lsc_ort_qlinear_float_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const float *x_f = NULL, *bias = NULL;
    const void *a_scale = NULL, *a_zp = NULL, *y_scale = NULL;
    int rank = 0, bias_rank = 0, a_signed = 0, unused = 0;
    int64_t dims[LSC_MAX_RANK], bias_dims[LSC_MAX_RANK];
    OrtStatus *s = lsc_ort_float_input(call, 0, "x", &x_f, &rank, dims);
    if (!s)
        s = scalar(call, 1, "a_scale", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &a_scale, &unused);
    if (!s)
        s = scalar(call, 2, "a_zero_point", ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED, &a_zp, &a_signed);
    if (!s)
        s = scalar(call, 6, "y_scale", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &y_scale, &unused);
    if (!s)
        s = lsc_ort_float_input(call, 8, "bias", &bias, &bias_rank, bias_dims);
    if (s)
        return s;
    size_t K = call->winfo.cols, N = call->winfo.rows, M = 1;
    if ((s = lsc_ort_product_rows(call, "x", rank, dims, &M)))
        return s;
    if (bias && (bias_rank != 1 || bias_dims[0] != (int64_t)N))
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "bias must be 1-D with %zu values", N);
    size_t mn = M * N; /* lsc_ort_product_rows checked it */
    dims[rank - 1] = (int64_t)N;
    float *y = NULL;
    if ((s = lsc_ort_float_output(call, rank, dims, &y)) || !mn)
        return s;

    size_t mk = M * K;
    int zp = lsc_ort_int8_at(a_zp, a_signed, 0);
    float scale = *(const float *)a_scale;
    float lo = (float)((a_signed ? -128 : 0) - zp), hi = (float)((a_signed ? 127 : 255) - zp);
    /* the stack holds x's codes (int32 at batch 1, else bytes), then q's */
    int32_t local[LSC_ORT_STACK_BYTES / sizeof(int32_t)];
    int32_t *acc = (int32_t *)(void *)y; /* the sums in place, then the output */
    int y_zp = 0, y_signed = 0;
    size_t bytes;
    int int8 = M == 1 && k->int8_form && call->weight == k->weight; /* exact always: no plan */
    if (int8)
        bytes = K * sizeof(int32_t) + N;
    else
        bytes = mk + mn;
    uint8_t *buf = bytes <= sizeof local ? (uint8_t *)local : lsc_ort_small_alloc(call, bytes);
    if (!buf)
        return lsc_ort_fail(api, k, ORT_FAIL, "out of memory (%zu x %zu)", M, K + N);
    uint8_t *q = buf + bytes - mn;
    if (int8) {
        /* x's codes less a_zp, straight into int32 for the integer batch-1 form */
        int32_t *x = (int32_t *)(void *)buf;
        for (size_t i = 0; i < K; i++)
            x[i] = (int32_t)lsc_ort_quantize_centred(x_f[i], scale, lo, hi);
        lsc_error error = { 0 };
        s = lsc_ort_status(call, lsc_spmv_int8(call->weight, x, acc, &call->exec, &error), &error);
    } else {
        for (size_t i = 0; i < mk; i++) /* int8 codes as their two's complement bytes */
            buf[i] = (uint8_t)((int)lsc_ort_quantize_centred(x_f[i], scale, lo, hi) + zp);
        lsc_ort_exact_job job = { buf, a_signed, zp, M, K, N, { 0, 0, 0, 1 } };
        s = lsc_ort_exact_plan_for(call, a_signed, zp, &job.plan);
        if (!s)
            s = lsc_ort_exact_run(call, &job, acc);
    }
    if (!s)
        s = lsc_ort_qlinear_requant_rows(call, acc, M, q, &y_zp, &y_signed);
    if (!s)
        dequantize(k, q, y_signed, y_zp, *(const float *)y_scale, bias, M, N, y);
    if (buf != (uint8_t *)local)
        lsc_ort_small_free(call, buf, bytes);
    return s;
}
