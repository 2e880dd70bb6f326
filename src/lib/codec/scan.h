/* From a dense tensor to its stored values and their positions: the tensor's 2-D view
 * (docs/format.md 1.4), oriented as the blob will be, as compressed sparse rows. The
 * values are copied out during the same pass, so the tensor is read once, in memory
 * order (a transposed weight's values would otherwise be gathered a dense row apart). */
#ifndef LSC_CODEC_SCAN_H
#define LSC_CODEC_SCAN_H

#include <stdint.h>

#include "onnx-lsc/lsc.h"

/* The encoded matrix's shape. */
typedef struct lsc_matrix_shape {
    uint32_t rows, cols;
    uint64_t elements;
    unsigned elem_size;
    int transposed;
} lsc_matrix_shape;

/* Checks the tensor (dtype, rank, dims, sizes) and derives the encoded shape. */
lsc_status lsc_matrix_shape_of(const lsc_tensor *tensor, int transposed, lsc_matrix_shape *shape,
                               lsc_error *error);

/* Index in the tensor of element (r, c) of the encoded matrix. */
static inline uint64_t lsc_matrix_source_index(const lsc_matrix_shape *s, uint32_t r, uint32_t c)
{
    return s->transposed ? (uint64_t)c * s->rows + r : (uint64_t)r * s->cols + c;
}

typedef struct lsc_sparse {
    uint32_t rows, cols;
    uint64_t nnz;          /* stored values */
    uint64_t signed_zeros; /* -0.0 elements met, stored or not */
    uint64_t *row_ptr;     /* rows + 1 */
    uint32_t *col;         /* nnz column indices, increasing within each row */
    uint8_t *values;       /* nnz values of elem_size bytes, in the same order as col */
} lsc_sparse;

/* Finds the stored values: every non-zero, and -0.0 too when bit_exact. With
 * release_input, tensor->data is a range of a read-only private file mapping
 * (common/file_io.h) whose pages are dropped as the scan leaves them behind, so a
 * large weight is never resident whole. */
lsc_status lsc_sparse_build(const lsc_tensor *tensor, const lsc_matrix_shape *shape, int bit_exact,
                            int release_input, lsc_sparse *out, lsc_error *error);
void lsc_sparse_free(lsc_sparse *sparse);

#endif /* LSC_CODEC_SCAN_H */
