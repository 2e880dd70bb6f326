/* The command's one text vocabulary, shared by every report (compress, stats,
 * verify): JSON strings and numbers, names cut to a width, short dtype names. */
#ifndef LSC_CLI_TEXT_H
#define LSC_CLI_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence starting at p, a byte >= 0x80 (2..4), or 0 if
 * invalid. */
size_t text_utf8_len(const unsigned char *p);

/* Writes the UTF-8 sequence at *p (a byte >= 0x80) and steps over it; an invalid
 * byte is written as `invalid` (an escape of U+FFFD in the caller's language). */
void text_put_utf8(FILE *out, const unsigned char **p, const char *invalid);

/* A JSON string of any bytes: '"' and '\' escaped, control bytes as \u00XX, invalid
 * UTF-8 as U+FFFD, so the output is always valid JSON. */
void text_json_string(FILE *out, const char *s);

/* A double that reads back exactly (%.15g, else %.17g): deterministic, no loss. */
void text_double(FILE *out, double v);
/* text_double, or null when v is not finite (a 0/0 ratio). */
void text_json_number(FILE *out, double v);

/* A table cell: a space, then v with `prec` decimals and `suffix`, right-aligned in
 * `width` columns; "-" when v is not finite (a 0/0 ratio). */
void text_cell(FILE *out, int width, int prec, double v, const char *suffix);

/* `name` shortened in the middle to at most `width` bytes ("abc...xyz"), control
 * and non-ASCII bytes replaced by '?', "(empty)" for ""; dst holds width + 1 bytes. */
void text_short_name(char *dst, size_t width, const char *name);

/* "f32", "f16", "f64", "bf16", "u8", "i8" for table columns; lsc_dtype_string otherwise. */
const char *text_dtype_short(int dtype);

#endif /* LSC_CLI_TEXT_H */
