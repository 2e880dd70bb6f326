/* The integer batch-1 form of an 8-bit weight (lsc_weight_prepare_int8): its integer
 * values w = code - zero point, row by row with their columns, for the exact int32
 * product of MatMulInteger / QLinearMatMul at batch 1 (lsc_spmv_int8). The SRI
 * stream's scan order interleaves the rows of a block (block_h > 1) and a segment
 * of the float batch-1 form holds one row of one block (1-10 values for narrow
 * blocks); here each row is one run, so the row's sum is one vector loop and one
 * horizontal add whatever the blocks. Values are int8 when every w fits (symmetric
 * int8, uint8 with zero point 128, ORT's 7-bit dynamic weights), else int16 (uint8
 * asymmetric: w in [-255, 255]); columns are uint16 up to 2^16 columns, else
 * uint32. Both arrays end with LSC_INT8_PAD zero bytes so that a vector may load
 * past a row's end (the lanes past it are masked). */
#ifndef LSC_KERNELS_FORM_INT8_H
#define LSC_KERNELS_FORM_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"

#define LSC_INT8_PAD 64

typedef struct lsc_int8_form {
    uint32_t rows;
    unsigned val_bytes; /* 1: int8, 2: int16 */
    unsigned col_bytes; /* 2: uint16, 4: uint32 */
    uint64_t *row_ptr;  /* rows + 1: row r's values are [row_ptr[r], row_ptr[r + 1]) */
    void *vals;
    void *cols;
    size_t total;       /* bytes of all of it */
} lsc_int8_form;

void lsc_int8_form_free(lsc_int8_form *form);

/* y[r] for rows [r0, r1): sum over the row of w * x[col], in uint32 arithmetic
 * (int32 modulo 2^32). */
typedef void (*lsc_int8_rows_fn)(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0,
                                 uint32_t r1);

void lsc_int8_rows_scalar(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1);
void lsc_int8_rows_avx2(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1);

/* The variant for these LSC_CPU_* flags: AVX2 on AVX-512 CPUs too (on Zen 4 16-lane
 * gathers, and an expand of packed values over a bitmap, measured slower;
 * docs/benchmarks.md "Stop 15"). */
lsc_int8_rows_fn lsc_int8_rows_select(unsigned flags);

#endif /* LSC_KERNELS_FORM_INT8_H */
