/* .npy reading and writing: just the dtypes ortrun handles, C order, little-endian. */
#include "npy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *descr; int type; } dtypes[] = {
    { "<f4", ORTRUN_FLOAT }, { "<f8", ORTRUN_DOUBLE }, { "<i4", ORTRUN_INT32 }, { "<i8", ORTRUN_INT64 },
    { "|u1", ORTRUN_UINT8 }, { "|i1", ORTRUN_INT8 }, { "|b1", ORTRUN_BOOL },
};

int npy_read(const char *path, ortrun_tensor *t, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot open", path);
        return -1;
    }
    unsigned char pre[12];
    char *header = NULL;
    int rc = -1;
    memset(t, 0, sizeof *t);
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        snprintf(err, err_size, "%s: not an .npy file", path);
        goto done;
    }
    size_t hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) { /* 4-byte header length */
        if (fread(pre + 10, 1, 2, f) != 2) {
            snprintf(err, err_size, "%s: truncated", path);
            goto done;
        }
        hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (hlen > 1 << 20 || !(header = calloc(1, hlen + 1)) || fread(header, 1, hlen, f) != hlen) {
        snprintf(err, err_size, "%s: bad header", path);
        goto done;
    }
    const char *descr = strstr(header, "'descr':");
    const char *fortran = strstr(header, "'fortran_order':");
    const char *shape = strstr(header, "'shape':");
    if (!descr || !fortran || !shape || strncmp(fortran, "'fortran_order': False", 22) != 0) {
        snprintf(err, err_size, "%s: unsupported header %s", path, header);
        goto done;
    }
    t->type = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (strstr(descr, dtypes[i].descr) && strstr(descr, dtypes[i].descr) < descr + 16)
            t->type = dtypes[i].type;
    if (!t->type) {
        snprintf(err, err_size, "%s: unsupported dtype in %s", path, header);
        goto done;
    }
    const char *p = strchr(shape, '(');
    t->rank = 0;
    while (p && *++p && *p != ')') {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p) {
            if (*p == ',' || *p == ' ')
                continue;
            break;
        }
        if (t->rank == LSC_MAX_RANK) {
            snprintf(err, err_size, "%s: rank too high", path);
            goto done;
        }
        t->dims[t->rank++] = v;
        p = end - 1;
    }
    t->bytes = ortrun_count(t->rank, t->dims) * ortrun_elem_size(t->type);
    t->data = malloc(t->bytes ? t->bytes : 1);
    if (!t->data || fread(t->data, 1, t->bytes, f) != t->bytes) {
        snprintf(err, err_size, "%s: truncated data", path);
        free(t->data);
        t->data = NULL;
        goto done;
    }
    rc = 0;
done:
    free(header);
    fclose(f);
    return rc;
}

int npy_write(const char *path, const ortrun_tensor *t, char *err, size_t err_size)
{
    const char *descr = NULL;
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].type == t->type)
            descr = dtypes[i].descr;
    if (!descr) {
        snprintf(err, err_size, "%s: element type %d has no .npy dtype here", path, t->type);
        return -1;
    }
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        n += snprintf(header + n, sizeof header - (size_t)n, "%lld,%s", (long long)t->dims[i],
                      i + 1 < t->rank ? " " : "");
    n += snprintf(header + n, sizeof header - (size_t)n, "), }");
    size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot create", path);
        return -1;
    }
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                              (unsigned char)(hlen >> 8) };
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(t->data, 1, t->bytes, f) == t->bytes;
    if (fclose(f) != 0 || !ok) {
        snprintf(err, err_size, "%s: write failed", path);
        return -1;
    }
    return 0;
}
