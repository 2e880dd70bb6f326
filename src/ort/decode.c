/* The ops that serve an encoded weight's dense tensor (docs/format.md 3.1):
 * LscDecode, the whole tensor, for ops without an LSC kernel (float32, and float16,
 * bfloat16, float64 as LscDecodeFloat16 / LscDecodeBFloat16 / LscDecodeFloat64: ORT
 * fixes an op's output type per registration); LscGather, ONNX Gather over a float32
 * one (embedding tables). A constant blob is decoded once, at kernel creation,
 * into a buffer the kernel keeps. Each run, LscDecode copies it into the output ORT
 * allocates (a custom op cannot hand out its own memory) and LscGather copies the
 * gathered slices only. A blob computed at run time is decoded at each run. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static size_t dense_bytes(const lsc_weight_info *w)
{
    size_t n = lsc_dtype_size(w->dtype);
    for (int i = 0; i < w->rank; i++)
        n *= (size_t)w->dims[i]; /* lsc_weight_open checked that the tensor fits */
    return n;
}

OrtStatus *lsc_ort_gather_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info)
{
    kernel->attrs.decode.axis = 0;
    return lsc_ort_attr_int(kernel, info, "axis", &kernel->attrs.decode.axis);
}

OrtStatus *lsc_ort_decode_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    lsc_dtype want = kernel->kind == LSC_ORT_GATHER ? LSC_DTYPE_FLOAT32 : kernel->attrs.decode.dtype;
    if (w->dtype != want || w->transposed)
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH,
                            "weight '%s' must be a %s tensor encoded as is, not %s (re-compress with this onnx-lsc)",
                            kernel->weight_name, lsc_dtype_string(want), lsc_dtype_string(w->dtype));
    return NULL;
}

OrtStatus *lsc_ort_decode_init(lsc_ort_kernel *kernel)
{
    lsc_weight_info w;
    lsc_weight_get_info(kernel->weight, &w);
    int64_t axis = kernel->attrs.decode.axis;
    if (kernel->kind == LSC_ORT_GATHER && (axis < -w.rank || axis >= w.rank)) /* refused before decoding */
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH, "axis %lld is out of range for data of rank %d",
                            (long long)axis, w.rank);
    size_t bytes = dense_bytes(&w);
    void *dense = malloc(bytes ? bytes : 1);
    if (!dense)
        return lsc_ort_fail(kernel->api, kernel, ORT_FAIL, "out of memory decoding weight '%s' (%zu bytes)",
                            kernel->weight_name, bytes);
    lsc_error error = { 0 };
    lsc_status st = lsc_weight_decode(kernel->weight, dense, bytes, &error);
    if (st != LSC_OK) {
        free(dense);
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH, "%s",
                            error.message[0] ? error.message : lsc_status_string(st));
    }
    kernel->attrs.decode.dense = dense;
    kernel->attrs.decode.bytes = bytes;
    return NULL;
}

void lsc_ort_decode_release(lsc_ort_kernel *kernel)
{
    free(kernel->attrs.decode.dense);
    kernel->attrs.decode.dense = NULL;
}

OrtStatus *lsc_ort_decode_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    void *Y;
    OrtStatus *s = lsc_ort_output_at(call, 0, call->winfo.rank, call->winfo.dims, &Y);
    if (s || !Y)
        return s;
    if (k->attrs.decode.dense) {
        memcpy(Y, k->attrs.decode.dense, k->attrs.decode.bytes);
        return NULL;
    }
    lsc_error error = { 0 };
    lsc_status st = lsc_weight_decode(call->weight, Y, dense_bytes(&call->winfo), &error);
    return lsc_ort_status(call, st, &error);
}

/* Index i of the indices tensor (int32 or int64), made non-negative; -1 out of range. */
static int64_t index_at(const void *indices, int is64, size_t i, int64_t size)
{
    int64_t v = is64 ? ((const int64_t *)indices)[i] : ((const int32_t *)indices)[i];
    if (v < 0)
        v += size;
    return v >= 0 && v < size ? v : -1;
}

static OrtStatus *gather(const lsc_ort_call *call, const float *data)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const lsc_weight_info *w = &call->winfo;
    const OrtValue *value = NULL;
    ONNXTensorElementDataType type;
    int i_rank;
    int64_t i_dims[LSC_MAX_RANK];
    OrtStatus *s = api->KernelContext_GetInput(call->context, 1, &value);
    if (!s && !value)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "indices input is missing");
    if (!s)
        s = lsc_ort_tensor_shape(call, value, "indices", &type, &i_rank, i_dims);
    if (s)
        return s;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "indices have element type %d, not int32 or int64",
                            (int)type);
    int64_t axis = k->attrs.decode.axis < 0 ? k->attrs.decode.axis + w->rank : k->attrs.decode.axis;
    if (axis < 0 || axis >= w->rank || w->rank + i_rank - 1 > LSC_MAX_RANK)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "axis %lld with indices of rank %d does not fit data of rank %d",
                            (long long)k->attrs.decode.axis, i_rank, w->rank);
    size_t outer = 1, inner = 1, n_idx = 1;
    int64_t y_dims[LSC_MAX_RANK];
    int y_rank = 0;
    for (int64_t d = 0; d < axis; d++) {
        outer *= (size_t)w->dims[d];
        y_dims[y_rank++] = w->dims[d];
    }
    for (int d = 0; d < i_rank; d++) {
        n_idx *= (size_t)i_dims[d]; /* ORT allocated the indices, so the product fits */
        y_dims[y_rank++] = i_dims[d];
    }
    for (int64_t d = axis + 1; d < w->rank; d++) {
        inner *= (size_t)w->dims[d];
        y_dims[y_rank++] = w->dims[d];
    }
    const void *indices = NULL;
    if ((s = api->GetTensorMutableData((OrtValue *)value, (void **)&indices)))
        return s;
    int is64 = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    int64_t size = w->dims[axis];
    for (size_t i = 0; i < n_idx; i++)
        if (index_at(indices, is64, i, size) < 0)
            return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "index %lld at position %zu is out of range [-%lld, %lld)",
                                (long long)(is64 ? ((const int64_t *)indices)[i] : ((const int32_t *)indices)[i]), i,
                                (long long)size, (long long)size);
    float *Y;
    if ((s = lsc_ort_float_output(call, y_rank, y_dims, &Y)) || !Y)
        return s;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < n_idx; i++)
            memcpy(Y + (o * n_idx + i) * inner, data + (o * (size_t)size + (size_t)index_at(indices, is64, i, size)) * inner,
                   inner * sizeof *Y);
    return NULL;
}

OrtStatus *lsc_ort_gather_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    if (k->attrs.decode.dense)
        return gather(call, k->attrs.decode.dense);
    size_t bytes = dense_bytes(&call->winfo);
    float *dense = malloc(bytes ? bytes : 1);
    if (!dense)
        return lsc_ort_fail(k->api, k, ORT_FAIL, "out of memory decoding weight '%s' (%zu bytes)", k->weight_name, bytes);
    lsc_error error = { 0 };
    lsc_status st = lsc_weight_decode(call->weight, dense, bytes, &error);
    OrtStatus *s = st == LSC_OK ? gather(call, dense) : lsc_ort_status(call, st, &error);
    free(dense);
    return s;
}
