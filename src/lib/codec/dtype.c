#include "codec/dtype.h"

size_t lsc_dtype_size(int dtype)
{
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: return 4;
    case LSC_DTYPE_FLOAT16: return 2;
    case LSC_DTYPE_FLOAT64: return 8;
    case LSC_DTYPE_BFLOAT16: return 2;
    case LSC_DTYPE_UINT8: return 1;
    case LSC_DTYPE_INT8: return 1;
    }
    return 0;
}
