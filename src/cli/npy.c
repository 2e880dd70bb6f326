/* The .npy reader: magic, version, header length, then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } parsed strictly, then
 * exactly the data its shape and dtype announce. */
#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_BYTES ((uint64_t)1 << 34) /* as ortrun's random inputs */

static const struct {
    const char *descr;
    int type;
    size_t size;
    const char *name;
} dtypes[] = {
    {"<f4", 1, 4, "float32"}, {"<f8", 11, 8, "float64"}, {"<i4", 6, 4, "int32"}, {"<i8", 7, 8, "int64"},
    {"|u1", 2, 1, "uint8"},   {"|i1", 3, 1, "int8"},     {"|b1", 9, 1, "bool"},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

const char *npy_type_name(int type)
{
    for (size_t i = 0; i < N_DTYPES; i++)
        if (dtypes[i].type == type)
            return dtypes[i].name;
    return "?";
}

void npy_array_free(npy_array *a)
{
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* A cursor over the header text. */
typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int take_word(cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A quoted string of printable ASCII (no escapes: none occur in the keys and dtypes
 * read here), so that messages quoting it stay one printable line. */
static int take_string(cursor *c, char *buf, size_t size)
{
    skip_space(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p < 0x20 || *c->p > 0x7e || n + 1 >= size)
            return 0;
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return 0;
    c->p++;
    buf[n] = '\0';
    return 1;
}

/* (), (5,), (2, 3) and (2, 3,): non-negative decimal integers. */
static int take_shape(cursor *c, npy_array *a)
{
    if (!take(c, '('))
        return 0;
    a->rank = 0;
    for (;;) {
        if (take(c, ')'))
            return 1;
        skip_space(c);
        if (a->rank == LSC_MAX_RANK || c->p >= c->end || *c->p < '0' || *c->p > '9')
            return 0;
        uint64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            v = v * 10 + (uint64_t)(*c->p++ - '0');
            if (v > (uint64_t)INT64_MAX / 10)
                return 0;
        }
        a->dims[a->rank++] = (int64_t)v;
        if (!take(c, ','))
            return take(c, ')');
    }
}

static lsc_status parse_header(const char *text, size_t len, const char *name, npy_array *a, size_t *elem,
                               lsc_error *error)
{
    cursor c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;
    if (!take(&c, '{'))
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: .npy header is not a dict", name);
    while (!take(&c, '}')) {
        char key[32], descr[16];
        if (!take_string(&c, key, sizeof key) || !take(&c, ':'))
            return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: malformed .npy header", name);
        if (!strcmp(key, "descr") && !have_descr++) {
            if (!take_string(&c, descr, sizeof descr))
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: .npy 'descr' is not a simple dtype", name);
            for (size_t i = 0; i < N_DTYPES && !a->type; i++)
                if (!strcmp(descr, dtypes[i].descr) ||
                    (dtypes[i].size == 1 && descr[0] == '<' && !strcmp(descr + 1, dtypes[i].descr + 1))) {
                    a->type = dtypes[i].type;
                    *elem = dtypes[i].size;
                }
            if (!a->type)
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT,
                            "%s: dtype '%s' is not read here (little-endian float32/64, int8/32/64, uint8, bool)",
                            name, descr);
        } else if (!strcmp(key, "fortran_order") && !have_order++) {
            if (take_word(&c, "True"))
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT,
                            "%s: Fortran-order array: save it in C order (numpy.ascontiguousarray)", name);
            if (!take_word(&c, "False"))
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: .npy 'fortran_order' is not a boolean", name);
        } else if (!strcmp(key, "shape") && !have_shape++) {
            if (!take_shape(&c, a))
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: .npy 'shape' is not a tuple of at most %d sizes",
                            name, LSC_MAX_RANK);
        } else {
            return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: unexpected or repeated .npy header key '%s'", name,
                        key);
        }
        if (!take(&c, ',')) {
            if (!take(&c, '}'))
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: malformed .npy header", name);
            break;
        }
    }
    skip_space(&c);
    if (c.p != c.end)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: text after the .npy header's dict", name);
    if (!have_descr || !have_order || !have_shape)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: .npy header lacks '%s'", name,
                    !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return LSC_OK;
}

lsc_status npy_parse(const uint8_t *data, size_t size, const char *name, npy_array *out, lsc_error *error)
{
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(data, "\x93NUMPY", 6) != 0)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: not a .npy file (no \\x93NUMPY magic)", name);
    unsigned major = data[6];
    if (major < 1 || major > 3)
        return lsc_error_set(error, LSC_ERR_UNSUPPORTED, "%s: .npy version %u.%u is not read here (1 to 3)", name,
                    major, data[7]);
    size_t prefix = major == 1 ? 10 : 12;
    if (size < prefix)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: truncated .npy header", name);
    uint64_t hlen = (uint64_t)data[8] | (uint64_t)data[9] << 8;
    if (major >= 2)
        hlen |= (uint64_t)data[10] << 16 | (uint64_t)data[11] << 24;
    if (hlen > size - prefix)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: truncated .npy header (%llu bytes announced)", name,
                    (unsigned long long)hlen);
    npy_array a = {0};
    size_t elem = 0;
    lsc_status st = parse_header((const char *)data + prefix, (size_t)hlen, name, &a, &elem, error);
    if (st != LSC_OK)
        return st;
    uint64_t count = 1;
    for (int i = 0; i < a.rank; i++) {
        if (a.dims[i] != 0 && count > NPY_MAX_BYTES / (uint64_t)a.dims[i])
            return lsc_error_set(error, LSC_ERR_TOO_LARGE, "%s: array too large", name);
        count *= (uint64_t)a.dims[i];
    }
    uint64_t bytes = count * elem;
    size_t have = size - prefix - (size_t)hlen;
    if (bytes > NPY_MAX_BYTES)
        return lsc_error_set(error, LSC_ERR_TOO_LARGE, "%s: array too large", name);
    if (have != bytes)
        return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: %zu data bytes, the shape and dtype give %llu (%s)",
                    name, have, (unsigned long long)bytes, have < bytes ? "truncated" : "bytes appended");
    const uint8_t *values = data + prefix + hlen;
    if (a.type == 9)
        for (size_t i = 0; i < have; i++)
            if (values[i] > 1)
                return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "%s: bool element %zu is %u, not 0 or 1", name, i,
                            values[i]);
    a.bytes = (size_t)bytes;
    a.data = malloc(a.bytes ? a.bytes : 1);
    if (!a.data)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "%s: out of memory", name);
    memcpy(a.data, values, a.bytes);
    *out = a;
    return LSC_OK;
}

lsc_status npy_read_file(const char *path, npy_array *out, lsc_error *error)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return lsc_error_set(error, LSC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    uint8_t *data = NULL;
    long n = -1;
    lsc_status st = LSC_OK;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        st = lsc_error_set(error, LSC_ERR_IO, "%s: cannot read (not a regular file?)", path);
    else if ((uint64_t)n > NPY_MAX_BYTES + (1u << 20))
        st = lsc_error_set(error, LSC_ERR_TOO_LARGE, "%s: file too large", path);
    else if (!(data = malloc((size_t)n ? (size_t)n : 1)))
        st = lsc_error_set(error, LSC_ERR_NO_MEMORY, "%s: out of memory", path);
    else if (fread(data, 1, (size_t)n, f) != (size_t)n)
        st = lsc_error_set(error, LSC_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (st == LSC_OK)
        st = npy_parse(data, (size_t)n, path, out, error);
    free(data);
    return st;
}
