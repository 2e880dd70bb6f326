/* decompress for weights whose original lived in an external data file: the file
 * beside the restored model is created when missing, or checked when present. */
#ifndef LSC_ONNX_RESTORE_EXTERNAL_H
#define LSC_ONNX_RESTORE_EXTERNAL_H

#include "onnx/onnx_model.h"

typedef struct lsc_restore_ext_item {
    const Onnx__TensorProto *tensor; /* restored TensorProto (external_data entries) */
    const lsc_weight *weight;        /* NULL: a dense tensor whose bytes are `copy` */
    const void *copy;
    size_t dense_bytes;
    const char *location;
    uint64_t offset;
    const void *blob; /* the weight's bytes in the bundle mapping, released after decoding */
    size_t blob_size;
} lsc_restore_ext_item;

/* A dense buffer reused from weight to weight: its pages are mapped once. */
typedef struct lsc_dense_buf {
    uint8_t *map; /* anonymous mapping, 2 MiB aligned (huge pages where allowed) */
    size_t cap;
    uint8_t *data; /* the last weight's bytes: map + its phase */
} lsc_dense_buf;

/* The weight's size dense bytes, decoded on exec's threads into buf (grown as needed);
 * *out points into buf until the next call, at `phase` bytes (< 4096) past a 4 KiB
 * boundary: lsc_out_direct_phase of the file it goes to, so that O_DIRECT writes it
 * without a copy. */
lsc_status lsc_dense_decode(lsc_dense_buf *buf, const lsc_weight *weight, size_t size, size_t phase,
                            const lsc_exec *exec, const uint8_t **out, lsc_error *error);
void lsc_dense_buf_free(lsc_dense_buf *buf);

typedef struct lsc_restore_ext {
    lsc_restore_ext_item *items;
    size_t count;
    char **created; /* files this run created, removed on rollback */
    size_t n_created;
    lsc_progress *progress; /* may be NULL: each tensor written or checked adds its bytes */
    const lsc_exec *exec;   /* may be NULL: threads that decode each weight */
    lsc_dense_buf buf;
} lsc_restore_ext;

lsc_status lsc_restore_ext_add(lsc_restore_ext *ext, const Onnx__TensorProto *tensor,
                               const lsc_weight *weight, size_t dense_bytes, const void *blob,
                               size_t blob_size, lsc_error *error);
/* A tensor left dense in an external file (of the model being read, at `bytes`)
 * that must also exist beside the output: compress or decompress into another
 * folder copies it there, at the same location and offset. */
lsc_status lsc_restore_ext_add_copy(lsc_restore_ext *ext, const Onnx__TensorProto *tensor,
                                    const void *bytes, size_t size, lsc_error *error);
/* Adds every external tensor of the model's graphs (bodies included) but those in
 * `skip` as copies; *bytes_out (may be NULL) gets their total size. */
lsc_status lsc_restore_ext_add_model(lsc_restore_ext *ext, lsc_onnx_model *model,
                                     Onnx__TensorProto *const *skip, size_t n_skip,
                                     uint64_t *bytes_out, lsc_error *error);
/* 1 if the output model goes to the folder the input model is in. */
int lsc_same_folder(const char *dir, const char *out_model);
/* For each location: create the file in out_model's folder, or check the one there. */
lsc_status lsc_restore_ext_write(lsc_restore_ext *ext, const char *out_model, lsc_error *error);
void lsc_restore_ext_rollback(lsc_restore_ext *ext);
void lsc_restore_ext_free(lsc_restore_ext *ext);

#endif /* LSC_ONNX_RESTORE_EXTERNAL_H */
