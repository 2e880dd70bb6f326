/* Errors as values: every internal failure goes through lsc_fail, which fills the
 * caller's lsc_error (if any) with one line and returns the status to pass on. */
#ifndef LSC_COMMON_ERROR_H
#define LSC_COMMON_ERROR_H

#include "onnx-lsc/lsc.h"

#if defined(__GNUC__)
#define LSC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LSC_PRINTF(f, a)
#endif

lsc_status lsc_fail(lsc_error *error, lsc_status status, const char *format, ...) LSC_PRINTF(3, 4);

/* Prefixes an existing message with "prefix: " (e.g. a file name) after the fact. */
void lsc_error_prefix(lsc_error *error, const char *prefix);

#define LSC_TRY(expr)                          \
    do {                                       \
        lsc_status lsc_try_status_ = (expr);   \
        if (lsc_try_status_ != LSC_OK)         \
            return lsc_try_status_;            \
    } while (0)

#endif /* LSC_COMMON_ERROR_H */
