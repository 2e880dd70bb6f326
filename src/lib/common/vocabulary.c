/* The names the library's outputs share (reports of compress, stats, tools): one
 * spelling of each outcome and data type, and the element size of any ONNX type. */
#include "onnx-lsc/lsc.h"

const char *lsc_layer_outcome_string(lsc_layer_outcome outcome)
{
    switch (outcome) {
    case LSC_LAYER_ENCODED: return "encoded";
    case LSC_LAYER_NOT_PAYING: return "not-paying";
    case LSC_LAYER_GRAPH_INPUT: return "graph-input";
    case LSC_LAYER_SHARED_OTHER: return "shared-other";
    case LSC_LAYER_UNSUPPORTED_TYPE: return "unsupported";
    case LSC_LAYER_IN_SUBGRAPH: return "in-subgraph";
    case LSC_LAYER_NOT_CONSTANT: return "not-constant";
    case LSC_LAYER_NOT_SPARSE: return "not-sparse";
    case LSC_LAYER_TOO_SMALL: return "too-small";
    }
    return "unknown";
}

/* ONNX TensorProto.DataType codes the codec does not take (lsc_dtype has the rest). */
enum {
    ONNX_UINT16 = 4, ONNX_INT16 = 5, ONNX_INT32 = 6,
    ONNX_INT64 = 7, ONNX_BOOL = 9, ONNX_UINT32 = 12, ONNX_UINT64 = 13, ONNX_COMPLEX64 = 14,
    ONNX_COMPLEX128 = 15, ONNX_FLOAT8E4M3FN = 17, ONNX_FLOAT8E4M3FNUZ = 18,
    ONNX_FLOAT8E5M2 = 19, ONNX_FLOAT8E5M2FNUZ = 20
};

const char *lsc_dtype_string(int dtype)
{
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: return "float32";
    case LSC_DTYPE_FLOAT16: return "float16";
    case LSC_DTYPE_FLOAT64: return "float64";
    case LSC_DTYPE_BFLOAT16: return "bfloat16";
    case LSC_DTYPE_UINT8: return "uint8";
    case LSC_DTYPE_INT8: return "int8";
    case ONNX_INT32: return "int32";
    case ONNX_INT64: return "int64";
    }
    return "other";
}

size_t lsc_onnx_type_size(int dtype)
{
    switch (dtype) {
    case LSC_DTYPE_UINT8: case LSC_DTYPE_INT8: case ONNX_BOOL: case ONNX_FLOAT8E4M3FN:
    case ONNX_FLOAT8E4M3FNUZ: case ONNX_FLOAT8E5M2: case ONNX_FLOAT8E5M2FNUZ:
        return 1;
    case ONNX_UINT16: case ONNX_INT16: case LSC_DTYPE_FLOAT16: case LSC_DTYPE_BFLOAT16:
        return 2;
    case LSC_DTYPE_FLOAT32: case ONNX_INT32: case ONNX_UINT32:
        return 4;
    case ONNX_INT64: case LSC_DTYPE_FLOAT64: case ONNX_UINT64: case ONNX_COMPLEX64:
        return 8;
    case ONNX_COMPLEX128:
        return 16;
    }
    return 0;
}
