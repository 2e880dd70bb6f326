/* A float tensor's payload as dense little-endian bytes, from whichever field ONNX
 * keeps it in: raw_data (in place), float_data / double_data / int32_data (f16 and
 * bf16 as 16-bit patterns), or external data (in place in the mapped file). */
#include <stdlib.h>
#include <string.h>

#include "common/checked.h"
#include "onnx/onnx_model.h"

lsc_status lsc_tensor_elements(const Onnx__TensorProto *tensor, const char *label,
                               uint64_t *count, lsc_error *error)
{
    uint64_t n = 1;
    for (size_t i = 0; i < tensor->n_dims; i++) {
        if (tensor->dims[i] < 0)
            return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: negative dimension %lld", label,
                            (long long)tensor->dims[i]);
        if (lsc_mul_overflow_u64(n, (uint64_t)tensor->dims[i], &n))
            return lsc_fail(error, LSC_ERR_TOO_LARGE, "%s: element count overflows", label);
    }
    *count = n;
    return LSC_OK;
}

lsc_repr lsc_tensor_repr(const Onnx__TensorProto *tensor)
{
    if (tensor->has_data_location && tensor->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return LSC_REPR_EXTERNAL;
    if (tensor->has_raw_data)
        return LSC_REPR_RAW;
    if (tensor->n_float_data || tensor->n_int32_data || tensor->n_double_data ||
        tensor->n_int64_data || tensor->n_uint64_data || tensor->n_string_data)
        return LSC_REPR_TYPED;
    return LSC_REPR_NONE;
}

static lsc_status typed_dense(const Onnx__TensorProto *t, uint64_t count, size_t esize,
                              const char *label, lsc_dense *dense, lsc_error *error)
{
    size_t have;
    switch (t->data_type) {
    case LSC_DTYPE_FLOAT32: have = t->n_float_data; break;
    case LSC_DTYPE_FLOAT64: have = t->n_double_data; break;
    default: have = t->n_int32_data; break;
    }
    int others = (t->n_float_data != 0) + (t->n_double_data != 0) + (t->n_int32_data != 0) +
                 (t->n_int64_data != 0) + (t->n_uint64_data != 0) + (t->n_string_data != 0);
    if (have != count || others > 1 || (count && others == 0))
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: typed data holds %zu elements in the wrong field or count, dims need %llu",
                        label, have, (unsigned long long)count);
    size_t size = (size_t)count * esize;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory (%zu bytes)", label, size);
    if (t->data_type == LSC_DTYPE_FLOAT32) {
        memcpy(buf, t->float_data, size);
    } else if (t->data_type == LSC_DTYPE_FLOAT64) {
        memcpy(buf, t->double_data, size);
    } else {
        for (size_t i = 0; i < count; i++) {
            int32_t v = t->int32_data[i];
            /* Only zero-extended 16-bit patterns come back exactly. */
            if (v < 0 || v > 0xffff) {
                free(buf);
                return lsc_fail(error, LSC_ERR_UNSUPPORTED,
                                "%s: int32_data[%zu] = %d is not a 16-bit pattern", label, i, v);
            }
            buf[2 * i] = (uint8_t)v;
            buf[2 * i + 1] = (uint8_t)(v >> 8);
        }
    }
    dense->data = buf;
    dense->owned = buf;
    dense->size = size;
    return LSC_OK;
}

lsc_status lsc_tensor_dense(lsc_onnx_model *model, const Onnx__TensorProto *tensor,
                            const char *label, lsc_dense *dense, lsc_error *error)
{
    memset(dense, 0, sizeof *dense);
    size_t esize = lsc_dtype_size(tensor->data_type);
    if (!esize)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "%s: data type %d is not a float type", label,
                        tensor->data_type);
    uint64_t count = 0, bytes = 0;
    LSC_TRY(lsc_tensor_elements(tensor, label, &count, error));
    if (lsc_mul_overflow_u64(count, esize, &bytes) || bytes > SIZE_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "%s: tensor too large", label);
    if (tensor->segment)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "%s: segmented tensors are not handled", label);
    switch (lsc_tensor_repr(tensor)) {
    case LSC_REPR_RAW:
        if (tensor->n_float_data || tensor->n_int32_data || tensor->n_double_data)
            return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: both raw_data and a typed field", label);
        if (tensor->raw_data.len != bytes)
            return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: raw_data holds %zu bytes, dims need %llu",
                            label, tensor->raw_data.len, (unsigned long long)bytes);
        dense->data = tensor->raw_data.data;
        dense->size = (size_t)bytes;
        /* raw_data points into the model's mapping unless the model was parsed whole. */
        {
            const uint8_t *p = tensor->raw_data.data, *m = model->map.data;
            dense->mapped = m && p >= m && bytes <= model->map.size &&
                            (size_t)(p - m) <= model->map.size - bytes;
        }
        return LSC_OK;
    case LSC_REPR_TYPED:
        return typed_dense(tensor, count, esize, label, dense, error);
    case LSC_REPR_EXTERNAL: {
        lsc_ext_ref ref = {0};
        lsc_map map = {0};
        uint64_t end;
        LSC_TRY(lsc_ext_parse(model, tensor, label, &ref, error));
        if (ref.has_length && ref.length != bytes)
            return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data length %llu, dims need %llu",
                            label, (unsigned long long)ref.length, (unsigned long long)bytes);
        LSC_TRY(lsc_ext_open_file(model, ref.location, label, &map, error));
        if (lsc_add_overflow_u64(ref.offset, bytes, &end) || end > map.size)
            return lsc_fail(error, LSC_ERR_EXTERNAL_DATA,
                            "%s: external data [%llu, +%llu) lies outside '%.200s' (%zu bytes)", label,
                            (unsigned long long)ref.offset, (unsigned long long)bytes, ref.location,
                            map.size);
        dense->data = map.data ? map.data + ref.offset : map.data;
        dense->size = (size_t)bytes;
        dense->mapped = map.data != NULL;
        return LSC_OK;
    }
    case LSC_REPR_NONE:
        if (count == 0)
            return LSC_OK;
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: no data for %llu elements", label,
                        (unsigned long long)count);
    }
    return lsc_fail(error, LSC_ERR_INTERNAL, "%s: unknown representation", label);
}

void lsc_dense_free(lsc_dense *dense)
{
    if (dense->mapped)
        lsc_map_release(dense->data, dense->size);
    free(dense->owned);
    memset(dense, 0, sizeof *dense);
}

void lsc_payload_clear(Onnx__TensorProto *t, lsc_saved_payload *s)
{
    s->has_raw_data = t->has_raw_data;
    s->raw_data = t->raw_data;
    s->n_float_data = t->n_float_data;
    s->n_int32_data = t->n_int32_data;
    s->n_string_data = t->n_string_data;
    s->n_int64_data = t->n_int64_data;
    s->n_double_data = t->n_double_data;
    s->n_uint64_data = t->n_uint64_data;
    t->has_raw_data = 0;
    t->raw_data.len = 0;
    t->n_float_data = t->n_int32_data = t->n_string_data = 0;
    t->n_int64_data = t->n_double_data = t->n_uint64_data = 0;
}

void lsc_payload_put_back(Onnx__TensorProto *t, const lsc_saved_payload *s)
{
    t->has_raw_data = s->has_raw_data;
    t->raw_data = s->raw_data;
    t->n_float_data = s->n_float_data;
    t->n_int32_data = s->n_int32_data;
    t->n_string_data = s->n_string_data;
    t->n_int64_data = s->n_int64_data;
    t->n_double_data = s->n_double_data;
    t->n_uint64_data = s->n_uint64_data;
}

int lsc_blob_dims(const Onnx__TensorProto *tensor, int flat, int *rank, int64_t dims[LSC_MAX_RANK])
{
    if (tensor->n_dims > LSC_MAX_RANK || (flat && tensor->n_dims != 3))
        return 0;
    *rank = (int)tensor->n_dims;
    for (size_t i = 0; i < tensor->n_dims; i++)
        dims[i] = tensor->dims[i];
    if (flat) {
        uint64_t rows;
        if (dims[0] < 0 || dims[1] < 0 ||
            lsc_mul_overflow_u64((uint64_t)dims[0], (uint64_t)dims[1], &rows) || rows > INT64_MAX)
            return 0;
        *rank = 2;
        dims[0] = (int64_t)rows;
        dims[1] = tensor->dims[2];
    }
    return 1;
}

int lsc_blob_dims_match(const Onnx__TensorProto *tensor, const lsc_weight_info *info)
{
    int64_t dims[LSC_MAX_RANK];
    int rank;
    for (int flat = 0; flat < 2; flat++) {
        if (!lsc_blob_dims(tensor, flat, &rank, dims) || rank != info->rank)
            continue;
        int same = 1;
        for (int i = 0; same && i < rank; i++)
            same = dims[i] == info->dims[i];
        if (same)
            return 1;
    }
    return 0;
}
