/* The plugin's dealings with ORT's C API: statuses, attributes, input and output
 * tensors. Each wraps a few API calls so the op files read as arithmetic. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_fail(const OrtApi *api, const lsc_ort_kernel *kernel, OrtErrorCode code,
                        const char *format, ...)
{
    char detail[LSC_ERROR_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, format);
    vsnprintf(detail, sizeof detail, format, ap);
    va_end(ap);
    lsc_error message; /* one line, as every error of the library */
    lsc_error_set(&message, LSC_ERR_INTERNAL, "onnx-lsc: %s: %s", kernel ? kernel->label : "plugin", detail);
    return api->CreateStatus(code, message.message);
}

OrtStatus *lsc_ort_status(const lsc_ort_call *call, lsc_status status, const lsc_error *error)
{
    if (status == LSC_OK)
        return NULL;
    return lsc_ort_fail(call->kernel->api, call->kernel,
                        status == LSC_ERR_INVALID_ARGUMENT ? ORT_INVALID_ARGUMENT : ORT_FAIL, "%s",
                        error->message[0] ? error->message : lsc_status_string(status));
}

/* ORT reports an absent attribute as a failed status: absent it is. */
static int absent(const OrtApi *api, OrtStatus *status)
{
    if (!status)
        return 0;
    api->ReleaseStatus(status);
    return 1;
}

OrtStatus *lsc_ort_attr_int(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                            const char *name, int64_t *value)
{
    int64_t v;
    if (!absent(kernel->api, kernel->api->KernelInfoGetAttribute_int64(info, name, &v)))
        *value = v;
    return NULL;
}

OrtStatus *lsc_ort_attr_float(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                              const char *name, float *value)
{
    float v;
    if (!absent(kernel->api, kernel->api->KernelInfoGetAttribute_float(info, name, &v)))
        *value = v;
    return NULL;
}

OrtStatus *lsc_ort_attr_ints(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                             const char *name, int64_t *values, int max, int *count)
{
    const OrtApi *api = kernel->api;
    size_t n = 0;
    *count = -1;
    if (absent(api, api->KernelInfoGetAttributeArray_int64(info, name, NULL, &n)))
        return NULL;
    if (n > (size_t)max)
        return lsc_ort_fail(api, kernel, ORT_INVALID_ARGUMENT,
                            "attribute '%s' has %zu values, at most %d are allowed", name, n, max);
    if (n > 0) {
        OrtStatus *s = api->KernelInfoGetAttributeArray_int64(info, name, values, &n);
        if (s)
            return s;
    }
    *count = (int)n;
    return NULL;
}

OrtStatus *lsc_ort_attr_floats(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                               const char *name, float *values, int max, int *count)
{
    const OrtApi *api = kernel->api;
    size_t n = 0;
    *count = -1;
    if (absent(api, api->KernelInfoGetAttributeArray_float(info, name, NULL, &n)))
        return NULL;
    if (n > (size_t)max)
        return lsc_ort_fail(api, kernel, ORT_INVALID_ARGUMENT,
                            "attribute '%s' has %zu values, at most %d are allowed", name, n, max);
    if (n > 0) {
        OrtStatus *s = api->KernelInfoGetAttributeArray_float(info, name, values, &n);
        if (s)
            return s;
    }
    *count = (int)n;
    return NULL;
}

OrtStatus *lsc_ort_attr_string(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                               const char *name, char *value, size_t size)
{
    const OrtApi *api = kernel->api;
    size_t n = 0;
    if (absent(api, api->KernelInfoGetAttribute_string(info, name, NULL, &n)))
        return NULL;
    if (n > size)
        return lsc_ort_fail(api, kernel, ORT_INVALID_ARGUMENT, "attribute '%s' is too long", name);
    return api->KernelInfoGetAttribute_string(info, name, value, &n);
}

OrtStatus *lsc_ort_tensor_shape(const lsc_ort_call *call, const OrtValue *value, const char *what,
                                ONNXTensorElementDataType *type, int *rank, int64_t dims[LSC_MAX_RANK])
{
    const OrtApi *api = call->kernel->api;
    OrtTensorTypeAndShapeInfo *info = NULL;
    size_t n = 0;
    OrtStatus *s = api->GetTensorTypeAndShape(value, &info);
    if (!s)
        s = api->GetTensorElementType(info, type);
    if (!s)
        s = api->GetDimensionsCount(info, &n);
    if (!s && n > LSC_MAX_RANK)
        s = lsc_ort_fail(api, call->kernel, ORT_INVALID_ARGUMENT,
                         "%s has rank %zu, at most %d is supported", what, n, LSC_MAX_RANK);
    if (!s)
        s = api->GetDimensions(info, dims, n);
    if (info)
        api->ReleaseTensorTypeAndShapeInfo(info);
    *rank = (int)n;
    return s;
}

OrtStatus *lsc_ort_value_info(const OrtApi *api, const OrtValue *value, ONNXTensorElementDataType *type,
                              size_t *rank, size_t *count)
{
    OrtTensorTypeAndShapeInfo *info = NULL;
    OrtStatus *s = api->GetTensorTypeAndShape(value, &info);
    if (!s)
        s = api->GetTensorElementType(info, type);
    if (!s)
        s = api->GetDimensionsCount(info, rank);
    if (!s)
        s = api->GetTensorShapeElementCount(info, count);
    if (info)
        api->ReleaseTensorTypeAndShapeInfo(info);
    return s;
}

OrtStatus *lsc_ort_float_input(const lsc_ort_call *call, size_t index, const char *what,
                               const float **data, int *rank, int64_t dims[LSC_MAX_RANK])
{
    const OrtApi *api = call->kernel->api;
    size_t count = 0;
    const OrtValue *value = NULL;
    *data = NULL;
    *rank = 0;
    OrtStatus *s = api->KernelContext_GetInputCount(call->context, &count);
    if (s || index >= count)
        return s;
    if ((s = api->KernelContext_GetInput(call->context, index, &value)) || !value)
        return s;
    ONNXTensorElementDataType type;
    if ((s = lsc_ort_tensor_shape(call, value, what, &type, rank, dims)))
        return s;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        return lsc_ort_fail(api, call->kernel, ORT_INVALID_ARGUMENT,
                            "%s has element type %d, only float32 is supported", what, (int)type);
    void *p = NULL;
    if ((s = api->GetTensorMutableData((OrtValue *)value, &p)))
        return s;
    *data = p;
    return NULL;
}

OrtStatus *lsc_ort_product_rows(const lsc_ort_call *call, const char *what, int rank, const int64_t *dims,
                                size_t *m)
{
    size_t k = call->winfo.cols, n = call->winfo.rows, rows = 1, mn;
    if (rank < 1 || dims[rank - 1] != (int64_t)k)
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_INVALID_ARGUMENT,
                            "%s's last dimension %lld differs from the weight's K %zu", what,
                            rank < 1 ? 0LL : (long long)dims[rank - 1], k);
    for (int i = 0; i < rank - 1; i++)
        rows *= (size_t)dims[i]; /* ORT allocated the input, so the product fits */
    if (lsc_ort_mul_overflow(rows, n, &mn) || mn > SIZE_MAX / sizeof(float) || rows * k > SIZE_MAX / sizeof(float))
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "Y of %zu x %zu is too large", rows, n);
    *m = rows;
    return NULL;
}

OrtStatus *lsc_ort_float_output(const lsc_ort_call *call, int rank, const int64_t *dims, float **data)
{
    return lsc_ort_float_output_at(call, 0, rank, dims, data);
}

OrtStatus *lsc_ort_float_output_at(const lsc_ort_call *call, size_t index, int rank, const int64_t *dims,
                                   float **data)
{
    void *p = NULL;
    OrtStatus *s = lsc_ort_output_at(call, index, rank, dims, &p);
    *data = p;
    return s;
}

OrtStatus *lsc_ort_output_at(const lsc_ort_call *call, size_t index, int rank, const int64_t *dims, void **data)
{
    const OrtApi *api = call->kernel->api;
    OrtValue *value = NULL;
    void *p = NULL;
    size_t count = 0;
    *data = NULL;
    OrtStatus *s = api->KernelContext_GetOutputCount(call->context, &count);
    if (s || index >= count)
        return s;
    s = api->KernelContext_GetOutput(call->context, index, dims, (size_t)rank, &value);
    if (!s && value)
        s = api->GetTensorMutableData(value, &p);
    *data = p;
    return s;
}

static void *scratch_alloc(void *context, size_t bytes)
{
    lsc_ort_scratch *s = context;
    if (!s->allocator && !s->unavailable) {
        OrtMemoryInfo *info = NULL;
        OrtStatus *st = s->api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &info);
        if (!st)
            st = s->api->KernelContext_GetAllocator(s->context, info, &s->allocator);
        if (info)
            s->api->ReleaseMemoryInfo(info);
        if (st) {
            s->api->ReleaseStatus(st);
            s->allocator = NULL;
        }
        s->unavailable = !s->allocator;
    }
    return s->allocator ? s->allocator->Alloc(s->allocator, bytes) : malloc(bytes);
}

static void scratch_free(void *context, void *p)
{
    lsc_ort_scratch *s = context;
    if (s->allocator)
        s->allocator->Free(s->allocator, p);
    else
        free(p);
}

void lsc_ort_scratch_begin(lsc_ort_call *call, lsc_ort_scratch *s)
{
    *s = (lsc_ort_scratch){ .api = call->kernel->api, .context = call->context };
    call->exec.scratch_alloc = scratch_alloc;
    call->exec.scratch_free = scratch_free;
    call->exec.scratch_context = s;
}

void lsc_ort_scratch_end(lsc_ort_scratch *s)
{
    if (s->allocator)
        s->api->ReleaseAllocator(s->allocator);
    s->allocator = NULL;
}

void *lsc_ort_alloc(const lsc_ort_call *call, size_t bytes)
{
    const lsc_exec *e = &call->exec;
    return e->scratch_alloc ? e->scratch_alloc(e->scratch_context, bytes) : malloc(bytes);
}

void lsc_ort_free(const lsc_ort_call *call, void *p)
{
    const lsc_exec *e = &call->exec;
    if (p && e->scratch_free)
        e->scratch_free(e->scratch_context, p);
    else
        free(p);
}
