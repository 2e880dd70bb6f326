/* Graph input / value_info types of the exact form tensor(dtype, [d0, ...]): the form
 * compress rewrites to uint8[blob_size] or drops, and decompress rebuilds from the
 * restore record (docs/format.md 3.1). */
#include <stdlib.h>

#include "onnx/onnx_model.h"

int lsc_value_type_is(const Onnx__ValueInfoProto *v, int32_t elem_type, const int64_t *dims,
                      size_t n_dims)
{
    const Onnx__TypeProto *tp = v->type;
    if (!tp || tp->base.n_unknown_fields || tp->denotation ||
        tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return 0;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt || tt->base.n_unknown_fields || !tt->has_elem_type || tt->elem_type != elem_type ||
        !tt->shape || tt->shape->base.n_unknown_fields || tt->shape->n_dim != n_dims)
        return 0;
    for (size_t i = 0; i < n_dims; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->base.n_unknown_fields || d->denotation ||
            d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            d->dim_value != dims[i])
            return 0;
    }
    return 1;
}

int lsc_value_info_is_plain(const Onnx__ValueInfoProto *v, int32_t elem_type, const int64_t *dims,
                            size_t n_dims)
{
    return v->name && !v->doc_string && !v->base.n_unknown_fields &&
           lsc_value_type_is(v, elem_type, dims, n_dims);
}

lsc_status lsc_value_type_set(Onnx__ValueInfoProto *v, int32_t elem_type, const int64_t *dims,
                              size_t n_dims, lsc_error *error)
{
    Onnx__TypeProto *tp = malloc(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = malloc(sizeof *tt);
    Onnx__TensorShapeProto *shape = malloc(sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dim = calloc(n_dims ? n_dims : 1, sizeof *dim);
    int ok = tp && tt && shape && dim;
    for (size_t i = 0; ok && i < n_dims; i++) {
        dim[i] = malloc(sizeof *dim[i]);
        if (!dim[i]) {
            ok = 0;
            break;
        }
        onnx__tensor_shape_proto__dimension__init(dim[i]);
        dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dim[i]->dim_value = dims[i];
    }
    if (!ok) {
        for (size_t i = 0; dim && i < n_dims; i++)
            free(dim[i]);
        free(tp);
        free(tt);
        free(shape);
        free(dim);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory building a value type");
    }
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = n_dims;
    shape->dim = dim;
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    tt->shape = shape;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    if (v->type)
        protobuf_c_message_free_unpacked(&v->type->base, NULL);
    v->type = tp;
    return LSC_OK;
}
