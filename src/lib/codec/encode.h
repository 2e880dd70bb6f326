/* The encoder's internal entry point for callers that already hold the positions of
 * the stored values (the entropy tier's decoder), rather than a dense tensor. */
#ifndef LSC_CODEC_ENCODE_H
#define LSC_CODEC_ENCODE_H

#include "codec/scan.h"
#include "onnx-lsc/lsc.h"

/* Lays out the blob of m (the matrix of `header`'s dtype, rank and dims, oriented as
 * options->transposed says) with the block shape and index width forced by options.
 * header->data holds the m->nnz stored values in compressed-row order. */
lsc_status lsc_encode_sparse(const lsc_tensor *header, const lsc_encode_options *options,
                             const lsc_sparse *m, void **blob_out, size_t *blob_size, lsc_error *error);

#endif /* LSC_CODEC_ENCODE_H */
