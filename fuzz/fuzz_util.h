/* Helpers shared by the fuzz targets: a private scratch folder, files written into
 * it, inputs split in two, and checksum repair so mutated blobs and bundles get past
 * their XXH64 and reach the parsers behind it. */
#ifndef LSC_FUZZ_UTIL_H
#define LSC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A per-process scratch folder (created on first use, removed at exit). */
const char *fuzz_scratch_dir(void);
/* scratch/name, in a static buffer per slot (0..3). */
const char *fuzz_path(int slot, const char *name);
/* Writes a whole file (aborts on I/O failure: that is the harness, not the input). */
void fuzz_write_file(const char *path, const void *data, size_t size);
/* Removes every entry of the scratch folder (not the folder). */
void fuzz_clean_scratch(void);

/* Splits data at the first FUZZ_SPLIT marker: [0, *a_size) and the rest after it.
 * Without a marker, everything is part a and part b is empty. */
#define FUZZ_SPLIT "@@LSC-FUZZ-SPLIT@@"
void fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *a_size,
                const uint8_t **b, size_t *b_size);

/* Recomputes a blob's own checksum (bytes 8..15) in place. */
void fuzz_fix_blob_checksum(uint8_t *blob, size_t size);
/* Recomputes, where the fields lie inside the file, each TOC entry's blob checksum
 * (and the blob's own), the TOC checksum and the header checksum of a bundle. */
void fuzz_fix_bundle_checksums(uint8_t *bundle, size_t size);

/* Aborts unless a failure's message is one non-empty printable line (the library
 * promises one line naming the file / tensor and the reason). */
struct lsc_error;
void fuzz_check_message(const struct lsc_error *error);

/* Element i of a decoded tensor as a double (dtype an LSC_DTYPE_*). */
double fuzz_elem_to_double(const void *data, int dtype, size_t i);

#endif /* LSC_FUZZ_UTIL_H */
