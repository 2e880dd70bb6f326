/* The integer direct-convolution form of an 8-bit weight (lsc_weight_prepare_conv_int8),
 * for the exact int32 product of ConvInteger / QLinearConv on windows of one int16
 * input buffer (lsc_conv_int8). Its positions are re-coded in row-major order (the
 * blob's scan order interleaves the rows of a block) as one stream of `bits`-bit
 * codes over the whole matrix, starting before position 0: code c < 2^bits - 1 steps
 * c + 1 positions on to a stored value, the all-ones code 2^bits - 1 positions with no
 * value (the signed relative index's jump); `bits` (1-8) is the width with the fewest
 * codes (every call decodes them) among those that keep the form within the blob. The values are the codes as the ONNX tensor holds them, one byte
 * each, in the same order; the zero points are read from the blob. Built only when
 * it holds no more bytes than the blob, so that it costs at most the blob's memory
 * again. Per call the stream becomes (window, w = code - zero point) taps once, and
 * each row's taps multiply against int32 sums over the output columns. */
#ifndef LSC_KERNELS_CONV_INT8_H
#define LSC_KERNELS_CONV_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"

typedef struct lsc_conv_int8_form {
    uint32_t rows, cols;
    uint64_t nnz;
    uint32_t max_row;            /* the most values of one row */
    unsigned bits;               /* code width */
    int is_signed;               /* codes are int8 (else uint8) */
    uint64_t n_codes;
    uint8_t *stream;             /* n_codes codes, LSB first, + 1 byte of zero */
    uint8_t *values;             /* nnz codes of the tensor, row-major, + 1 byte of zero */
    const uint8_t *zero_points;  /* the blob's (rows), or NULL: all zero */
    size_t total;                /* bytes of all of it */
} lsc_conv_int8_form;

void lsc_conv_int8_form_free(lsc_conv_int8_form *form);

/* Builds the form of a validated 8-bit blob; *out NULL (LSC_OK) when it would hold
 * more bytes than the blob. */
lsc_status lsc_conv_int8_form_build(const lsc_blob_view *v, lsc_conv_int8_form **out, lsc_error *error);

/* The most bytes lsc_conv_int8_form_build's form can take for a weight whose codes
 * of `bits` bits number n_codes, with nnz values. */
size_t lsc_conv_int8_form_bytes(uint64_t n_codes, unsigned bits, uint64_t nnz);

/* One row's windows: x + offset and w (code - zero point) per tap, and the next tap's
 * w beside it, so that the vector rows load a pair's (w, w_next) as one word. */
typedef struct lsc_conv_int8_tap {
    const int16_t *x;
    union {
        struct {
            int16_t w, w_next;
        };
        uint32_t pair; /* w | w_next << 16 (x86: little-endian) */
    };
} lsc_conv_int8_tap;

/* Decoding the taps row by row: lsc_conv_int8_begin for the call's input (window x
 * + group g's x_group_stride + x_offsets[col], g = row / (rows / groups)), then each
 * lsc_conv_int8_row writes the next row's taps (row 0 first) and returns their count;
 * `taps` holds the row's count + 1 (the last is scratch), and taps[-1] must exist (its
 * w_next is written). */
typedef struct lsc_conv_int8_cursor {
    const lsc_conv_int8_form *f;
    const int16_t *x;
    const size_t *x_offsets;
    uint32_t per_group;
    size_t x_group_stride;
    uint64_t bit;      /* the next code's */
    uint64_t pos;      /* the last position stepped on (row-major; -1 at first) */
    uint64_t t;        /* the next value's index */
    uint32_t row;      /* the next row */
} lsc_conv_int8_cursor;

void lsc_conv_int8_begin(const lsc_conv_int8_form *f, const int16_t *x, const size_t *x_offsets, uint32_t groups,
                         size_t x_group_stride, lsc_conv_int8_cursor *cur);
size_t lsc_conv_int8_row(lsc_conv_int8_cursor *cur, lsc_conv_int8_tap *taps);

/* y[j] for j in [0, n): sum over the taps of w * x[j], in uint32 arithmetic (int32
 * modulo 2^32). The vector variants read x up to LSC_CONV_INT8_PAD - 1 values past
 * x + n (those lanes never reach y). */
typedef void (*lsc_conv_int8_row_fn)(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);

void lsc_conv_int8_row_scalar(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);
void lsc_conv_int8_row_avx2(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);
void lsc_conv_int8_row_vnni(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);
/* 1 when these LSC_CPU_* flags and the CPU allow lsc_conv_int8_row_vnni (AVX-512 VL and
 * VNNI; the AVX512 flag vouches for the OS's ZMM state). */
int lsc_conv_int8_have_vnni(unsigned flags);

/* The variant for these LSC_CPU_* flags: VNNI, AVX2, scalar. */
lsc_conv_int8_row_fn lsc_conv_int8_row_select(unsigned flags);

#endif /* LSC_KERNELS_CONV_INT8_H */
