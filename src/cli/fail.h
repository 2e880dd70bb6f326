/* The command's one way to fail inside a function: fill an lsc_error, return its
 * status (the library's lsc_fail is internal; the command uses the public header). */
#ifndef LSC_CLI_FAIL_H
#define LSC_CLI_FAIL_H

#include "onnx-lsc/lsc.h"

/* Fills *error (may be NULL) with status and a printf-style one-line message;
 * returns status. */
lsc_status lsc_cli_fail(lsc_error *error, lsc_status status, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* LSC_CLI_FAIL_H */
