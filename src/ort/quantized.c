/* An 8-bit weight's scales (DequantizeLinear's, docs/format.md 3.1): the LSC op reads
 * them from its scale input and the weight multiplies with scale * (code - zero point)
 * from then on (lsc_weight_dequantize). Its zero points are in the blob, so the op's
 * zero-point input is not read again. */
#include "kernel.h"

OrtStatus *lsc_ort_dequantize(const lsc_ort_kernel *k, lsc_weight *weight, const OrtValue *scale)
{
    const OrtApi *api = k->api;
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
    lsc_error error = { 0 };
    lsc_status st = lsc_weight_dequantize(weight, data, count, &error);
    if (st != LSC_OK)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s", error.message[0] ? error.message : lsc_status_string(st));
    return NULL;
}
