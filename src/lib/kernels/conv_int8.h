/* The integer direct-convolution form of an 8-bit weight (lsc_weight_prepare_conv_int8),
 * for the exact int32 product of ConvInteger / QLinearConv on windows of one int16
 * input buffer (lsc_conv_int8). Row by row (output channel), each stored value is one
 * byte of column delta (from the row's previous column, the first from column -1) and
 * its code as stored in the ONNX tensor; a gap over 255 columns takes filler entries
 * of delta 255 whose code is the row's zero point (w = 0, the classic relative index's
 * filler), so entries and codes run in step with one pointer per row. Per call, the
 * row's entries become (window, w = code - zero point) pairs once, and every window
 * is multiplied against the row's int32 sums over the output columns. */
#ifndef LSC_KERNELS_CONV_INT8_H
#define LSC_KERNELS_CONV_INT8_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"

typedef struct lsc_conv_int8_form {
    uint32_t rows, cols;
    uint32_t max_row;   /* the most entries of one row */
    int is_signed;      /* codes are int8 (else uint8) */
    uint32_t *row_ptr;  /* rows + 1: row r's entries are [row_ptr[r], row_ptr[r + 1]) */
    uint8_t *delta;     /* per entry: column - previous column (1..255) */
    uint8_t *code;      /* per entry: the code's byte */
    int16_t *zp;        /* per row: the zero point */
    size_t total;       /* bytes of all of it */
} lsc_conv_int8_form;

void lsc_conv_int8_form_free(lsc_conv_int8_form *form);

/* Builds the form of a validated 8-bit blob; *out NULL (LSC_OK) when it would hold
 * more bytes than the blob or more than 2^32 - 1 entries. */
lsc_status lsc_conv_int8_form_build(const lsc_blob_view *v, lsc_conv_int8_form **out, lsc_error *error);

/* One row's windows: x + offset and w (code - zero point) per entry. */
typedef struct lsc_conv_int8_tap {
    const int16_t *x;
    int32_t w;
} lsc_conv_int8_tap;

/* y[j] for j in [0, n): sum over the taps of w * x[j], in uint32 arithmetic (int32
 * modulo 2^32). The vector variants read x up to LSC_CONV_INT8_PAD - 1 values past
 * x + n (those lanes never reach y). */
typedef void (*lsc_conv_int8_row_fn)(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);

void lsc_conv_int8_row_scalar(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);
void lsc_conv_int8_row_avx2(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y);

/* The variant for these LSC_CPU_* flags. */
lsc_conv_int8_row_fn lsc_conv_int8_row_select(unsigned flags);

#endif /* LSC_KERNELS_CONV_INT8_H */
