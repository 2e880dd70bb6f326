/* Errors as values: every internal failure goes through lsc_fail, the public
 * lsc_error_set, which fills the caller's lsc_error (if any) with one line and
 * returns the status to pass on. */
#ifndef LSC_COMMON_ERROR_H
#define LSC_COMMON_ERROR_H

#include "onnx-lsc/lsc.h"

#define lsc_fail lsc_error_set

/* Prefixes an existing message with "prefix: " (e.g. a file name) after the fact. */
void lsc_error_prefix(lsc_error *error, const char *prefix);

#define LSC_TRY(expr)                          \
    do {                                       \
        lsc_status lsc_try_status_ = (expr);   \
        if (lsc_try_status_ != LSC_OK)         \
            return lsc_try_status_;            \
    } while (0)

#endif /* LSC_COMMON_ERROR_H */
