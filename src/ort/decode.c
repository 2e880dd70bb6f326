/* LscDecode: the dense float32 tensor of an encoded weight read by ops without an
 * LSC kernel (docs/format.md 3.1). A constant blob is decoded once, at kernel
 * creation, into a buffer the kernel keeps; each run copies it into the output ORT
 * allocates (a custom op cannot hand out its own memory). A blob computed at run time
 * is decoded straight into the output at each run. */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static size_t dense_bytes(const lsc_weight_info *w)
{
    size_t n = sizeof(float);
    for (int i = 0; i < w->rank; i++)
        n *= (size_t)w->dims[i]; /* lsc_weight_open checked that the tensor fits */
    return n;
}

OrtStatus *lsc_ort_decode_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    if (w->dtype != LSC_DTYPE_FLOAT32 || w->transposed)
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH,
                            "weight '%s' must be a float32 tensor encoded as is (re-compress with this onnx-lsc)",
                            kernel->weight_name);
    return NULL;
}

OrtStatus *lsc_ort_decode_init(lsc_ort_kernel *kernel)
{
    lsc_weight_info w;
    lsc_weight_get_info(kernel->weight, &w);
    size_t bytes = dense_bytes(&w);
    float *dense = malloc(bytes ? bytes : 1);
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
    float *Y;
    OrtStatus *s = lsc_ort_float_output(call, call->winfo.rank, call->winfo.dims, &Y);
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
