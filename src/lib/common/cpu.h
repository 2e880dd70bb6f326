/* Which SIMD levels this CPU and its OS support (LSC_CPU_* of lsc.h). */
#ifndef LSC_COMMON_CPU_H
#define LSC_COMMON_CPU_H

#include "onnx-lsc/lsc.h"

/* The CPU's flags restricted to `mask` (0 = no restriction); LSC_CPU_SCALAR is
 * always set. */
unsigned lsc_cpu_flags_masked(unsigned mask);

#endif /* LSC_COMMON_CPU_H */
