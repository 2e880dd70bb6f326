/* LscQLinearMatMul: ONNX QLinearMatMul (inputs a, a_scale, a_zero_point, B, b_scale,
 * b_zero_point, y_scale, y_zero_point) with B the encoded 8-bit weight (docs/format.md
 * 3.1, "Decision (QLinearMatMul)"). The int32 product is exact (quantized.c); it is
 * requantized as ONNX Runtime's own kernel does, in float32: the multiplier
 * a_scale * b_scale[n] / y_scale, then float(acc) * multiplier clamped to the output
 * type's range less the zero point, rounded half to even, plus the zero point. So the
 * outputs equal ORT's wherever ORT's int32 product is exact. */
#include <math.h>
#include <stdlib.h>

#include "kernel.h"

enum { IN_A_SCALE = 1, IN_B_SCALE = 4, IN_Y_SCALE = 6, IN_Y_ZERO_POINT = 7 };

/* The float32 values of scale input `index`: one, or (b_scale) 1 or n of them. */
static OrtStatus *read_scales(const lsc_ort_call *call, size_t index, const char *what, size_t n,
                              const float **data, size_t *count)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const OrtValue *v = NULL;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0;
    void *p = NULL;
    OrtStatus *s = api->KernelContext_GetInput(call->context, index, &v);
    if (!s && !v)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s is missing", what);
    if (!s)
        s = lsc_ort_value_info(api, v, &type, &rank, count);
    if (!s && (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || rank > 1 || (*count != 1 && *count != n)))
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s must be float32, one value%s (got type %d, %zu values)",
                            what, n > 1 ? " or one per column of B" : "", (int)type, *count);
    if (!s)
        s = api->GetTensorMutableData((OrtValue *)v, &p);
    *data = p;
    return s;
}

/* y_zero_point: its value and whether the output is int8 (absent: uint8, 0). */
static OrtStatus *read_y_zero_point(const lsc_ort_call *call, int *zp, int *is_signed)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const OrtValue *v = NULL;
    size_t n_in = 0, rank = 0, count = 0;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    void *p = NULL;
    *zp = *is_signed = 0;
    OrtStatus *s = api->KernelContext_GetInputCount(call->context, &n_in);
    if (!s && n_in > IN_Y_ZERO_POINT)
        s = api->KernelContext_GetInput(call->context, IN_Y_ZERO_POINT, &v);
    if (s || !v)
        return s;
    if ((s = lsc_ort_value_info(api, v, &type, &rank, &count)))
        return s;
    *is_signed = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    if ((!*is_signed && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8) || count != 1)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT,
                            "y_zero_point must be one uint8 or int8 value (got type %d, %zu values)", (int)type, count);
    if ((s = api->GetTensorMutableData((OrtValue *)v, &p)))
        return s;
    *zp = *is_signed ? *(const int8_t *)p : *(const uint8_t *)p;
    return NULL;
}

OrtStatus *lsc_ort_qlinear_matmul_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    size_t N = call->winfo.rows, n_a = 0, n_b = 0, n_y = 0;
    const float *a_scale = NULL, *b_scale = NULL, *y_scale = NULL;
    int y_zp = 0, is_signed = 0;
    OrtStatus *s = read_scales(call, IN_A_SCALE, "a_scale", 1, &a_scale, &n_a);
    if (!s)
        s = read_scales(call, IN_B_SCALE, "b_scale", N, &b_scale, &n_b);
    if (!s)
        s = read_scales(call, IN_Y_SCALE, "y_scale", 1, &y_scale, &n_y);
    if (!s)
        s = read_y_zero_point(call, &y_zp, &is_signed);
    if (s)
        return s;

    int rank = 0;
    int64_t y_dims[LSC_MAX_RANK], *acc = NULL;
    size_t count = 0;
    OrtValue *y_val = NULL;
    void *y = NULL;
    float *multiplier = malloc(n_b * sizeof *multiplier);
    if (!multiplier)
        return lsc_ort_fail(api, k, ORT_FAIL, "out of memory");
    for (size_t n = 0; n < n_b; n++)
        multiplier[n] = a_scale[0] * b_scale[n] / y_scale[0];
    s = lsc_ort_exact_product(call, &rank, y_dims, &acc, &count);
    if (!s && !(s = api->KernelContext_GetOutput(call->context, 0, y_dims, (size_t)rank, &y_val)))
        s = api->GetTensorMutableData(y_val, &y);
    const float lo = (float)((is_signed ? -128 : 0) - y_zp), hi = (float)((is_signed ? 127 : 255) - y_zp);
    for (size_t i = 0; !s && i < count; i++) {
        /* ONNX accumulates in int32 (wrapping); float() rounds above 2^24, as ORT does */
        float v = (float)(int32_t)acc[i] * multiplier[n_b == 1 ? 0 : i % N];
        v = fminf(fmaxf(v, lo), hi);
        int q = (int)nearbyintf(v) + y_zp;
        if (is_signed)
            ((int8_t *)y)[i] = (int8_t)q;
        else
            ((uint8_t *)y)[i] = (uint8_t)q;
    }
    free(acc);
    free(multiplier);
    return s;
}
