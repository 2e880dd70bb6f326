/* numpy's .npy format (versions 1-3), read for `verify --input NAME=FILE.npy`: the
 * little-endian dtypes ONNX Runtime inputs use here, C order only. Parses bytes in
 * memory so the fuzz target (fuzz/fuzz_npy.c) reaches all of it. */
#ifndef LSC_CLI_NPY_H
#define LSC_CLI_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "onnx-lsc/lsc.h"

/* An array: `type` an ONNX TensorProto data type code (1 float, 2 uint8, 3 int8,
 * 6 int32, 7 int64, 9 bool, 11 double); `data` (malloc'd, owned) holds `bytes`. */
typedef struct npy_array {
    int type;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    void *data;
    size_t bytes;
} npy_array;

/* Parses a whole .npy file held in data[size]; `name` (the file) starts every error
 * message. On failure *out is empty (nothing to free). */
lsc_status npy_parse(const uint8_t *data, size_t size, const char *name, npy_array *out, lsc_error *error);
/* Reads and parses the file at path. */
lsc_status npy_read_file(const char *path, npy_array *out, lsc_error *error);
void npy_array_free(npy_array *a);
/* "float32", "int64", ... for messages; "?" for other codes. */
const char *npy_type_name(int type);

#endif /* LSC_CLI_NPY_H */
