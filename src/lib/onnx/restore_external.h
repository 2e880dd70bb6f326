/* decompress for weights whose original lived in an external data file: the file
 * beside the restored model is created when missing, or checked when present. */
#ifndef LSC_ONNX_RESTORE_EXTERNAL_H
#define LSC_ONNX_RESTORE_EXTERNAL_H

#include "onnx/onnx_model.h"

typedef struct lsc_restore_ext_item {
    const Onnx__TensorProto *tensor; /* restored TensorProto (external_data entries) */
    const lsc_weight *weight;
    size_t dense_bytes;
    const char *location;
    uint64_t offset;
    const void *blob; /* the weight's bytes in the bundle mapping, released after decoding */
    size_t blob_size;
} lsc_restore_ext_item;

typedef struct lsc_restore_ext {
    lsc_restore_ext_item *items;
    size_t count;
    char **created; /* files this run created, removed on rollback */
    size_t n_created;
    lsc_progress *progress; /* may be NULL: each tensor written or checked adds its bytes */
} lsc_restore_ext;

lsc_status lsc_restore_ext_add(lsc_restore_ext *ext, const Onnx__TensorProto *tensor,
                               const lsc_weight *weight, size_t dense_bytes, const void *blob,
                               size_t blob_size, lsc_error *error);
/* For each location: create the file in out_model's folder, or check the one there. */
lsc_status lsc_restore_ext_write(lsc_restore_ext *ext, const char *out_model, lsc_error *error);
void lsc_restore_ext_rollback(lsc_restore_ext *ext);
void lsc_restore_ext_free(lsc_restore_ext *ext);

#endif /* LSC_ONNX_RESTORE_EXTERNAL_H */
