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

/* The table kind, beside the rows (AVX-512 VBMI and VNNI, up to LSC_INT8_TABLE_COLS
 * columns): x held in registers as bytes, 128 a pair of registers, and each row's
 * values 64 at a time: vpermi2b picks x at their columns' low 7 bits from every
 * pair, a byte compare on the columns' high bits keeps the right pair's, vpdpbusd
 * multiplies and sums them (x as int8 after an offset o chosen per call so that
 * x - o fits, the codes as uint8: u = code, int8 code + 128). Per row r, with S_r the
 * sum of its w = u - z_r: y_r = sum u * (x - o) - z_r * sum (x - o) + o * S_r,
 * modulo 2^32. ~0.3 instructions a value instead of a load each. */
#define LSC_INT8_TABLE_COLS 1024

typedef struct lsc_int8_table {
    uint32_t chunks;   /* pairs of registers: (cols + 127) / 128 */
    uint8_t *lo;       /* per value: column & 127 */
    uint8_t *hi;       /* per value: column >> 7 */
    uint8_t *u;        /* per value: the code as uint8 */
    int32_t *z;        /* per row: zero point as uint8 (int8: + 128) */
    int32_t *wsum;     /* per row: S_r (modulo 2^32) */
} lsc_int8_table;

typedef struct lsc_int8_form {
    uint32_t rows;
    unsigned val_bytes; /* 1: int8, 2: int16 */
    unsigned col_bytes; /* 2: uint16, 4: uint32 */
    uint64_t *row_ptr;  /* rows + 1: row r's values are [row_ptr[r], row_ptr[r + 1]) */
    void *vals;
    void *cols;
    lsc_int8_table *table; /* the table kind (vals and cols NULL), else NULL */
    size_t total;       /* bytes of all of it */
} lsc_int8_form;

void lsc_int8_form_free(lsc_int8_form *form);

/* y[r] for rows [r0, r1): sum over the row of w * x[col], in uint32 arithmetic
 * (int32 modulo 2^32). */
typedef void (*lsc_int8_rows_fn)(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0,
                                 uint32_t r1);

void lsc_int8_rows_scalar(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1);
void lsc_int8_rows_avx2(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1);

/* The table kind: x16 is x - o as int8 (cols bytes, then zeros to chunks * 128), o the
 * offset; writes rows [r0, r1). */
void lsc_int8_table_rows(const lsc_int8_form *f, const int8_t *xs, int32_t o, int32_t *y, uint32_t r0,
                         uint32_t r1);
/* 1 when these LSC_CPU_* flags and the CPU allow lsc_int8_table_rows (AVX-512 BW, VBMI,
 * VNNI; the AVX512 flag vouches for the OS's ZMM state). */
int lsc_int8_have_table(unsigned flags);
/* The table kind's reference (any x). */
void lsc_int8_table_scalar(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1);
/* Builds a form's table from its rows (v its blob). Returns 0 out of memory. */
int lsc_int8_table_build(lsc_int8_form *f, const lsc_blob_view *v);
/* Builds the form of a validated 8-bit blob: the rows kind, or (table: 1) the table
 * kind, whose arrays replace the rows' values and columns (3 bytes a value either way,
 * + 8 a row for the table's zero points and sums). */
lsc_status lsc_int8_form_build(const lsc_blob_view *v, int table, lsc_int8_form **out, lsc_error *error);
void lsc_int8_table_free(lsc_int8_table *t);

/* The variant for these LSC_CPU_* flags: AVX2 on AVX-512 CPUs too (on Zen 4 16-lane
 * gathers, and an expand of packed values over a bitmap, measured slower;
 * docs/benchmarks.md "Stop 15"). */
lsc_int8_rows_fn lsc_int8_rows_select(unsigned flags);

#endif /* LSC_KERNELS_FORM_INT8_H */
