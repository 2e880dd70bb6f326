#include "fail.h"

#include <stdarg.h>
#include <stdio.h>

lsc_status lsc_cli_fail(lsc_error *error, lsc_status status, const char *format, ...)
{
    if (error) {
        va_list args;
        va_start(args, format);
        error->status = status;
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
    }
    return status;
}
