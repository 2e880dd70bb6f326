/* The public API's small glue; each module implements its own part of lsc.h. */
#include "onnx-lsc/lsc.h"
