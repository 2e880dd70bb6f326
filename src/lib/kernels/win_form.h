/* The windowed multiply's form of a float32 weight (lsc_weight_prepare_conv): each
 * stored value's column as a uint16, row by row, and each row's first value, built
 * once (from the plain batch-1 form's columns, form.h) so that lsc_spmm_windows need not decode the SRI stream on every
 * call (~3 ns a value: a fifth of a 14x14 VGG layer's time on Zen 4). A call maps a
 * column to its window through a table of the columns' offsets (K entries) and
 * reads the values in place from the blob. Only where the blob's scan order is row by
 * row, columns increasing (one-row block rows, or blocks as wide as the matrix), up to
 * 2^16 columns: 2 bytes a value and 4 a row, less than the blob's 4 bytes a value. */
#ifndef LSC_KERNELS_WIN_FORM_H
#define LSC_KERNELS_WIN_FORM_H

#include <stdint.h>

#include "codec/blob.h"

#define LSC_WIN_FORM_MAX_COLS (UINT32_C(1) << 16)

typedef struct lsc_win_form {
    uint32_t rows, cols;
    uint32_t *row_start; /* rows + 1: row r's values are [row_start[r], row_start[r + 1]) */
    uint16_t *col;       /* each value's column, increasing along a row */
    size_t total;        /* bytes of both arrays */
} lsc_win_form;

/* Builds the form of a validated blob; *out NULL (LSC_OK) when the blob has none (values
 * other than float32, a scan order not row by row, more than 2^16 columns or 2^32 - 1
 * values, a form larger than the blob, or columns not increasing along a row). */
lsc_status lsc_win_form_build(const lsc_blob_view *v, lsc_win_form **out, lsc_error *error);
void lsc_win_form_free(lsc_win_form *form);

#endif /* LSC_KERNELS_WIN_FORM_H */
