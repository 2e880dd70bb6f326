/* 8-bit weights in the plugin (docs/format.md 1.9, 3.1). A fused DequantizeLinear's
 * scales come from the op's scale input and the weight multiplies with scale * (code -
 * zero point) from then on (lsc_weight_dequantize); its zero points are in the blob,
 * so the op's zero-point input is not read again. LscMatMulInteger, LscQLinearMatMul
 * and LscQLinearConv multiply with the integers code - zero point, exactly (below). */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_dequantize(const lsc_ort_kernel *k, lsc_weight *weight, const OrtValue *scale)
{
    const OrtApi *api = k->api;
    lsc_error error = { 0 };
    if (lsc_ort_is_integer(k->kind)) {
        const float one = 1.0f;
        if (lsc_weight_dequantize(weight, &one, 1, &error) != LSC_OK)
            return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s", error.message);
        return NULL;
    }
    if (!scale)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "weight '%s' has 8-bit values but no scale input",
                            k->weight_name);
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0, count = 0;
    void *data = NULL;
    OrtStatus *s = lsc_ort_value_info(api, scale, &type, &rank, &count);
    if (!s && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        s = lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "scale of weight '%s' has element type %d, needs float32",
                         k->weight_name, (int)type);
    if (!s)
        s = api->GetTensorMutableData((OrtValue *)scale, &data);
    if (s)
        return s;
    lsc_status st = lsc_weight_dequantize(weight, data, count, &error);
    if (st != LSC_OK)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s", error.message[0] ? error.message : lsc_status_string(st));
    return NULL;
}

OrtStatus *lsc_ort_matmul_integer_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    if (w->rank != 2 || lsc_dtype_size(w->dtype) != 1 || !w->transposed || (int64_t)w->rows != w->dims[1])
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' must be an 8-bit 2-D B encoded transposed (re-compress with this onnx-lsc)",
                            kernel->weight_name);
    return NULL;
}

/* The kernels sum in float32, exact for integers below 2^24. A row of W has at most K
 * (Conv: C/group * kernel size)
 * values of |code - zero point| <= 255, so A' = A - a_zero_point (|A'| <= 255) is
 * multiplied as is when K * 255 * 255 < 2^24; otherwise A' + 256 (0..511, 9 bits) is
 * cut into digits of d bits, K * 255 * (2^d - 1) < 2^24, one multiply per digit, and
 * Y = sum 2^(d p) W digit_p - 256 W 1 is summed in 64-bit integers: exact for any K
 * below 2^24 / 255 (then d = 1). */
#define EXACT_FLOAT (1 << 24)

int lsc_ort_exact_plan_for(size_t K, lsc_ort_exact_plan *plan)
{
    if (K >= EXACT_FLOAT / 255)
        return 0;
    plan->direct = K * 255 * 255 < EXACT_FLOAT;
    plan->d = 1;
    while (!plan->direct && K * 255 * ((2u << plan->d) - 1) < EXACT_FLOAT)
        plan->d++;
    plan->passes = plan->direct ? 1 : (9 + plan->d - 1) / plan->d + 1;
    return 1;
}

float lsc_ort_exact_input(const lsc_ort_exact_plan *plan, unsigned pass, int v)
{
    if (plan->direct)
        return (float)v;
    if (pass == plan->passes - 1)
        return 1.0f;
    return (float)(((v + 256) >> (plan->d * pass)) & ((1 << plan->d) - 1));
}

int64_t lsc_ort_exact_factor(const lsc_ort_exact_plan *plan, unsigned pass)
{
    if (plan->direct)
        return 1;
    return pass == plan->passes - 1 ? -256 : (int64_t)1 << (plan->d * pass);
}

int lsc_ort_int8_at(const void *a, int is_signed, size_t i)
{
    return is_signed ? ((const int8_t *)a)[i] : ((const uint8_t *)a)[i];
}

OrtStatus *lsc_ort_exact_product(const lsc_ort_call *call, int *rank, int64_t y_dims[LSC_MAX_RANK], int64_t **out,
                                 size_t *count)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const OrtValue *a_val = NULL, *zp_val = NULL;
    size_t n_in = 0;
    *out = NULL;
    *count = 0;
    OrtStatus *s = api->KernelContext_GetInputCount(call->context, &n_in);
    if (!s)
        s = api->KernelContext_GetInput(call->context, 0, &a_val);
    if (!s && n_in > 2)
        s = api->KernelContext_GetInput(call->context, 2, &zp_val);
    if (s)
        return s;
    ONNXTensorElementDataType type, zp_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    int64_t dims[LSC_MAX_RANK];
    size_t zp_rank = 0, zp_count = 0;
    void *a = NULL, *zp = NULL;
    if ((s = lsc_ort_tensor_shape(call, a_val, "A", &type, rank, dims)) ||
        (s = api->GetTensorMutableData((OrtValue *)a_val, &a)) ||
        (zp_val && ((s = lsc_ort_value_info(api, zp_val, &zp_type, &zp_rank, &zp_count)) ||
                    (s = api->GetTensorMutableData((OrtValue *)zp_val, &zp)))))
        return s;
    int is_signed = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    if (!is_signed && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "A has element type %d, needs uint8 or int8", (int)type);
    if (zp_val && (zp_type != type || zp_count != 1))
        return lsc_ort_fail(api, k, ORT_NOT_IMPLEMENTED,
                            "a_zero_point must be one value of A's type (got type %d, %zu values)", (int)zp_type,
                            zp_count);
    size_t K = call->winfo.cols, N = call->winfo.rows, M = 1;
    if (*rank < 1 || dims[*rank - 1] != (int64_t)K)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "A's last dimension differs from the weight's K %zu", K);
    lsc_ort_exact_plan plan;
    if (!lsc_ort_exact_plan_for(K, &plan))
        return lsc_ort_fail(api, k, ORT_NOT_IMPLEMENTED, "K = %zu is too large for the exact float sums", K);
    for (int i = 0; i < *rank - 1; i++)
        M *= (size_t)dims[i];
    memcpy(y_dims, dims, sizeof dims);
    y_dims[*rank - 1] = (int64_t)N;
    if (M == 0)
        return NULL;

    int a_zp = zp ? lsc_ort_int8_at(zp, is_signed, 0) : 0;
    size_t mk, mn;
    if (lsc_ort_mul_overflow(M, K, &mk) || lsc_ort_mul_overflow(M, N, &mn))
        return lsc_ort_fail(api, k, ORT_FAIL, "A or Y is too large");
    float *x = malloc((mk + mn + N) * sizeof *x);
    int64_t *acc = calloc(mn, sizeof *acc);
    if (!x || !acc) {
        free(x);
        free(acc);
        return lsc_ort_fail(api, k, ORT_FAIL, "out of memory (%zu x %zu)", M, K + N);
    }
    float *yf = x + mk;
    lsc_error error = { 0 };
    lsc_status st = LSC_OK;
    for (unsigned p = 0; st == LSC_OK && p < plan.passes; p++) {
        int ones = !plan.direct && p == plan.passes - 1; /* W 1 is one row for all */
        size_t rows = ones ? 1 : M;
        for (size_t i = 0; i < rows * K; i++)
            x[i] = lsc_ort_exact_input(&plan, p, lsc_ort_int8_at(a, is_signed, i) - a_zp);
        st = lsc_ort_spmm_rows(call, x, K, rows, yf, N, &error);
        int64_t factor = lsc_ort_exact_factor(&plan, p);
        for (size_t i = 0; st == LSC_OK && i < mn; i++)
            acc[i] += factor * (int64_t)yf[ones ? i % N : i];
    }
    free(x);
    if (st != LSC_OK) {
        free(acc);
        return lsc_ort_status(call, st, &error);
    }
    *out = acc;
    *count = mn;
    return NULL;
}

OrtStatus *lsc_ort_matmul_integer_compute(const lsc_ort_call *call)
{
    int rank = 0;
    int64_t y_dims[LSC_MAX_RANK], *acc = NULL;
    size_t count = 0;
    OrtValue *y_val = NULL;
    void *y = NULL;
    OrtStatus *s = lsc_ort_exact_product(call, &rank, y_dims, &acc, &count);
    if (!s && !(s = call->kernel->api->KernelContext_GetOutput(call->context, 0, y_dims, (size_t)rank, &y_val)))
        s = call->kernel->api->GetTensorMutableData(y_val, &y);
    for (size_t i = 0; !s && i < count; i++)
        ((int32_t *)y)[i] = (int32_t)acc[i];
    free(acc);
    return s;
}
