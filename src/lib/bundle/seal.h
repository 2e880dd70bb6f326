/* The seal entry of a bundle (docs/format.md 2.4), shared by reader, writer and
 * the model-level check (onnx/model_inspect.c). */
#ifndef LSC_BUNDLE_SEAL_H
#define LSC_BUNDLE_SEAL_H

#include <stdint.h>

#include "bundle/bundle_format.h"
#include "onnx-lsc/lsc.h"

int lsc_seal_equal(const lsc_seal *a, const lsc_seal *b);
void lsc_seal_pack(const lsc_seal *seal, uint8_t blob[LSC_SEAL_SIZE]);
/* Checks a seal blob (size, magic, checksum, version, reserved bytes). */
lsc_status lsc_seal_parse(const uint8_t *blob, uint64_t size, const char *path, lsc_seal *seal,
                          lsc_error *error);

/* The path the bundle was opened from. */
const char *lsc_bundle_path(const lsc_bundle *bundle);

/* lsc_bundle_writer_add without the blob check, for blobs copied from a bundle. */
lsc_status lsc_bundle_writer_append(lsc_bundle_writer *w, const char *name, size_t name_len, const void *blob,
                                    size_t blob_size, const void *restore, size_t restore_len,
                                    uint64_t *offset_out, lsc_error *error);

/* From here on, a blob equal to one appended before (bytes; and, for entries of one
 * value name, restore record) is not written again: its entry points at the first
 * (docs/format.md 2.2, bundle minor 3). */
void lsc_bundle_writer_share_blobs(lsc_bundle_writer *w);
/* 1 if some entry of `bundle` shares its blob with an earlier one. */
int lsc_bundle_has_shared(const lsc_bundle *bundle);

/* Writes a compact bundle (docs/format.md 2.5, minor 4): the TOC as one zstd frame,
 * blobs other than compute blobs at multiples of 8 instead of 64. */
void lsc_bundle_writer_compact(lsc_bundle_writer *w);
/* 1 if `bundle` is compact. */
int lsc_bundle_is_compact(const lsc_bundle *bundle);

/* Writes `bundle` again at `path` (a temporary file renamed over it when complete),
 * every blob at its offset, with `seal` as its seal. */
lsc_status lsc_bundle_reseal(const lsc_bundle *bundle, const char *path, const lsc_seal *seal,
                             lsc_error *error);

#endif /* LSC_BUNDLE_SEAL_H */
