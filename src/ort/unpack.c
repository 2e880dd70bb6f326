/* LscUnpack (docs/format.md part 5): the float32 tensors of a dense pack, one per
 * output. The pack, a constant initializer, is decoded once at kernel creation into
 * buffers the kernel keeps; each run copies them into the outputs ORT allocates (a
 * custom op cannot lend ORT its own memory): one copy of the packed bytes per run,
 * and the session holds them twice (the kernel's buffers and the outputs). */
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_unpack_init(lsc_ort_kernel *k, const OrtKernelInfo *info)
{
    const OrtApi *api = k->api;
    int is_constant = 0;
    const OrtValue *value = NULL;
    size_t outputs = 0, rank = 0, size = 0;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    void *data = NULL;
    OrtStatus *s = api->KernelInfoGetConstantInput_tensor(info, 0, &is_constant, &value);
    if (!s && (!is_constant || !value))
        return lsc_ort_fail(api, k, ORT_INVALID_GRAPH, "pack '%s' must be a constant initializer", k->weight_name);
    if (!s)
        s = lsc_ort_value_info(api, value, &type, &rank, &size);
    if (!s && (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 || rank != 1))
        return lsc_ort_fail(api, k, ORT_INVALID_GRAPH, "pack '%s' must be a 1-D uint8 tensor", k->weight_name);
    if (!s)
        s = api->GetTensorMutableData((OrtValue *)value, &data);
    if (!s)
        s = api->KernelInfo_GetOutputCount(info, &outputs);
    if (s)
        return s;
    lsc_error error = { 0 };
    lsc_status st = lsc_dense_pack_open(data, size, k->weight_name, &k->attrs.unpack.pack, &error);
    if (st != LSC_OK)
        return lsc_ort_fail(api, k, ORT_INVALID_GRAPH, "%s", error.message[0] ? error.message : lsc_status_string(st));
    if (lsc_dense_pack_count(k->attrs.unpack.pack) != outputs)
        return lsc_ort_fail(api, k, ORT_INVALID_GRAPH, "%zu outputs, pack '%s' holds %zu tensors", outputs,
                            k->weight_name, lsc_dense_pack_count(k->attrs.unpack.pack));
    return NULL;
}

void lsc_ort_unpack_release(lsc_ort_kernel *k)
{
    lsc_dense_pack_close(&k->attrs.unpack.pack);
}

OrtStatus *lsc_ort_unpack_compute(const lsc_ort_call *call)
{
    const lsc_dense_pack *pack = call->kernel->attrs.unpack.pack;
    for (size_t i = 0; i < lsc_dense_pack_count(pack); i++) {
        const lsc_packed_tensor *t = lsc_dense_pack_get(pack, i);
        float *y = NULL;
        OrtStatus *s = lsc_ort_float_output_at(call, i, t->rank, t->dims, &y);
        if (s)
            return s;
        if (y && t->count)
            memcpy(y, t->values, (size_t)t->count * sizeof *y);
    }
    return NULL;
}
