/* The encoder's internal entry points: for callers that already hold the positions of
 * the stored values (the entropy tier's decoder), rather than a dense tensor, and for
 * a tensor read from a file mapping. */
#ifndef LSC_CODEC_ENCODE_H
#define LSC_CODEC_ENCODE_H

#include "codec/scan.h"
#include "onnx-lsc/lsc.h"

/* Lays out the blob of m (the matrix of `header`'s dtype, rank and dims, oriented as
 * options->transposed says) with the block shape and index width forced by options.
 * header->data holds the m->nnz stored values in compressed-row order. */
lsc_status lsc_encode_sparse(const lsc_tensor *header, const lsc_encode_options *options,
                             const lsc_sparse *m, void **blob_out, size_t *blob_size, lsc_error *error);

/* lsc_encode of a tensor whose data is a range of a read-only private file mapping
 * (common/file_io.h lsc_map_file): its pages are dropped as the scan passes them
 * (the values are copied out in that pass and the tensor is not read again), so the
 * dense weight is never resident whole. */
lsc_status lsc_encode_mapped(const lsc_tensor *tensor, const lsc_encode_options *options, void **blob_out,
                             size_t *blob_size, lsc_encode_stats *stats, lsc_error *error);

#endif /* LSC_CODEC_ENCODE_H */
