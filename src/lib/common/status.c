#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

const char *lsc_status_string(lsc_status status)
{
    switch (status) {
    case LSC_OK: return "ok";
    case LSC_ERR_INVALID_ARGUMENT: return "invalid argument";
    case LSC_ERR_NO_MEMORY: return "out of memory";
    case LSC_ERR_IO: return "input/output error";
    case LSC_ERR_NOT_ONNX: return "not an ONNX model";
    case LSC_ERR_BAD_MODEL: return "inconsistent model";
    case LSC_ERR_EXTERNAL_DATA: return "bad external data";
    case LSC_ERR_BAD_BUNDLE: return "malformed bundle";
    case LSC_ERR_CHECKSUM: return "checksum mismatch";
    case LSC_ERR_VERSION: return "unsupported format version";
    case LSC_ERR_UNSUPPORTED: return "unsupported feature";
    case LSC_ERR_TOO_LARGE: return "too large";
    case LSC_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *lsc_version_string(void)
{
#define LSC_STR2(x) #x
#define LSC_STR(x) LSC_STR2(x)
    return LSC_STR(LSC_API_VERSION_MAJOR) "." LSC_STR(LSC_API_VERSION_MINOR) "." LSC_STR(
        LSC_API_VERSION_PATCH);
}

void lsc_free(void *ptr)
{
    free(ptr);
}

/* Names from files (tensor names, locations) may hold newlines or terminal escapes:
 * a message stays one printable line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

lsc_status lsc_error_set(lsc_error *error, lsc_status status, const char *format, ...)
{
    if (error) {
        va_list args;
        va_start(args, format);
        error->status = status;
        vsnprintf(error->message, sizeof error->message, format, args);
        va_end(args);
        one_line(error->message);
    }
    return status;
}

void lsc_error_prefix(lsc_error *error, const char *prefix)
{
    if (!error || !prefix)
        return;
    char tail[LSC_ERROR_MESSAGE_SIZE];
    memcpy(tail, error->message, sizeof tail);
    tail[sizeof tail - 1] = 0;
    /* Copied by hand: an over-long message is cut on purpose, which snprintf makes
     * gcc's -Wformat-truncation reject. */
    size_t n = 0, cap = sizeof error->message - 1;
    const char *parts[3] = {prefix, ": ", tail};
    for (int i = 0; i < 3; i++)
        for (const char *s = parts[i]; *s && n < cap; s++)
            error->message[n++] = *s;
    error->message[n] = 0;
    one_line(error->message);
}
