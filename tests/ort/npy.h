/* NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order) for the ORT test driver. */
#ifndef LSC_TESTS_NPY_H
#define LSC_TESTS_NPY_H

#include "ort_runner.h"

/* Reads path into t (data malloc'd); 0 on success, else -1 with a message in err. */
int npy_read(const char *path, ortrun_tensor *t, char *err, size_t err_size);
int npy_write(const char *path, const ortrun_tensor *t, char *err, size_t err_size);

#endif /* LSC_TESTS_NPY_H */
