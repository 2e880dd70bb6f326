/* The command's one text vocabulary (text.h). */
#include "text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx-lsc/lsc.h"

size_t text_utf8_len(const unsigned char *p)
{
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] >= 0xa0) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return n;
}

void text_put_utf8(FILE *out, const unsigned char **p, const char *invalid)
{
    size_t n = text_utf8_len(*p);
    if (n) {
        fwrite(*p, 1, n, out);
        *p += n;
    } else {
        fputs(invalid, out);
        (*p)++;
    }
}

void text_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p == '"' || *p == '\\') {
            fprintf(out, "\\%c", *p++);
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(out, "\\u%04x", *p++);
        } else if (*p < 0x80) {
            fputc(*p++, out);
        } else {
            text_put_utf8(out, &p, "\\ufffd");
        }
    }
    fputc('"', out);
}

void text_double(FILE *out, double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, out);
}

void text_json_number(FILE *out, double v)
{
    if (isfinite(v))
        text_double(out, v);
    else
        fputs("null", out);
}

void text_cell(FILE *out, int width, int prec, double v, const char *suffix)
{
    char buf[48];
    if (isfinite(v))
        snprintf(buf, sizeof buf, "%.*f%s", prec, v, suffix);
    else
        snprintf(buf, sizeof buf, "-");
    fprintf(out, " %*s", width, buf);
}

void text_short_name(char *dst, size_t width, const char *name)
{
    size_t n = strlen(name);
    if (n <= width) {
        memcpy(dst, name, n + 1);
    } else {
        size_t head = (width - 3) / 2, tail = width - 3 - head;
        memcpy(dst, name, head);
        memcpy(dst + head, "...", 3);
        memcpy(dst + head + 3, name + n - tail, tail);
        dst[width] = 0;
    }
    for (char *p = dst; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    if (!*dst && width >= 7)
        memcpy(dst, "(empty)", 8);
}

const char *text_dtype_short(int dtype)
{
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: return "f32";
    case LSC_DTYPE_FLOAT16: return "f16";
    case LSC_DTYPE_FLOAT64: return "f64";
    case LSC_DTYPE_BFLOAT16: return "bf16";
    case LSC_DTYPE_UINT8: return "u8";
    case LSC_DTYPE_INT8: return "i8";
    }
    return lsc_dtype_string(dtype);
}
