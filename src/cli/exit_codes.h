/* The exit codes of onnx-lsc: one table, printed by `onnx-lsc help exit-codes` and
 * documented in docs/cli.md. Library failures map to 10 + lsc_status. */
#ifndef LSC_CLI_EXIT_CODES_H
#define LSC_CLI_EXIT_CODES_H

#include "onnx-lsc/lsc.h"

#define LSC_EXIT_CODES(X)                                                                  \
    X(LSC_EXIT_OK, 0, "success")                                                           \
    X(LSC_EXIT_CHECK_FAILED, 1, "a check failed (verify: outputs outside tolerance)")      \
    X(LSC_EXIT_USAGE, 2, "usage error (unknown option, missing argument, bad value)")      \
    X(LSC_EXIT_GATE_RATIO, 3, "stats gate: compression ratio below the threshold")         \
    X(LSC_EXIT_GATE_META, 4, "stats gate: meta-data bits per non-zero above the threshold") \
    X(LSC_EXIT_MODIFIED, 5, "verify --strict: the compressed model changed since compression or is not sealed") \
    X(LSC_EXIT_LIBRARY, 10, "library error: 10 + lsc_status (11 invalid argument ... 22 internal)")

enum lsc_exit_code {
#define LSC_EXIT_ENUM(name, value, text) name = value,
    LSC_EXIT_CODES(LSC_EXIT_ENUM)
#undef LSC_EXIT_ENUM
};

static inline int lsc_exit_for_status(lsc_status status)
{
    return status == LSC_OK ? LSC_EXIT_OK : LSC_EXIT_LIBRARY + (int)status;
}

#endif /* LSC_CLI_EXIT_CODES_H */
