/* `verify --input NAME=VALUE` and `--input NAME=FILE.npy`: graph inputs that take
 * given values instead of random ones (a sample rate that must be 16000, audio of a
 * real length). */
#ifndef LSC_CLI_VERIFY_INPUTS_H
#define LSC_CLI_VERIFY_INPUTS_H

#include "npy.h"
#include "onnx-lsc/lsc.h"

typedef struct verify_input {
    const char *name, *spec; /* NAME and what follows '=' (point into argv) */
    int from_file;           /* spec ends in .npy: `array` holds it */
    npy_array array;
    double value;            /* else every element takes this value */
    int integral;            /* value is an integer, `ivalue` */
    long long ivalue;
} verify_input;

/* Splits "NAME=SPEC" (writes a '\0' over the '=') and reads SPEC: a number, or a
 * .npy file. LSC_ERR_INVALID_ARGUMENT with an empty message: not NAME=SPEC at all or
 * not a number (a usage error; arg is left whole); else the file's error. */
lsc_status verify_input_parse(char *arg, verify_input *in, lsc_error *error);
void verify_input_free(verify_input *in);

#ifdef LSC_HAVE_ORT
#include "ort_runner.h"
/* Checks `in` against the model's input d: a file's dtype, rank and fixed dims; a
 * value's range in d's type. */
lsc_status verify_input_check(const verify_input *in, const ortrun_desc *d, lsc_error *error);
/* The tensor of one run (free with ortrun_tensors_free): the file's array, or d's
 * type at `dims` filled with the value. */
lsc_status verify_input_tensor(const verify_input *in, const ortrun_desc *d, const int64_t *dims,
                               ortrun_tensor *t, lsc_error *error);
#endif

#endif /* LSC_CLI_VERIFY_INPUTS_H */
