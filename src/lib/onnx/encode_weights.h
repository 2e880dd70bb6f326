/* compress's encoding pass: every candidate still ENCODED is encoded (on up to
 * options->threads threads) and, where the blob pays, appended to the bundle in
 * candidate order, so the bundle is the same for any thread count. */
#ifndef LSC_ONNX_ENCODE_WEIGHTS_H
#define LSC_ONNX_ENCODE_WEIGHTS_H

#include "onnx/onnx_model.h"

/* Where one encoded weight's blob went (size 0: not encoded). */
typedef struct lsc_encoded_weight {
    uint64_t offset, size;
} lsc_encoded_weight;

typedef struct lsc_encode_pass {
    const char *in_path;
    const lsc_compress_options *opt;
    lsc_onnx_model *model;
    lsc_selection *sel;
    lsc_bundle_writer *writer;
    lsc_compress_report *report;  /* layers[k] filled for every candidate */
    lsc_encoded_weight *encoded;  /* sel->count entries, filled */
} lsc_encode_pass;

lsc_status lsc_encode_weights(const lsc_encode_pass *pass, lsc_error *error);

#endif /* LSC_ONNX_ENCODE_WEIGHTS_H */
