/* Compact entropy blobs (docs/format.md 4.8, magic "LSCC"): an entropy blob whose
 * header and section table are written as varints. A weight of a small model spends
 * 136 bytes on the fixed-width header (64 + 8 per dim + 8 per section), about as much
 * as its coded values at a few hundred non-zeros; compact headers take ~50. Opening
 * one rebuilds the "LSCE" blob and decodes that, so the entropy coder is untouched. */
#include <stdlib.h>
#include <string.h>

#include "codec/blob.h"
#include "codec/entropy.h"
#include "common/endian.h"
#include "common/error.h"

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)
#define MAX_SECTIONS 10 /* positions, up to 8 value planes, zero points or mirror */
#define MAX_RANK 8
#define VARINT_MAX 10

int lsc_entropy_is_compact(const void *blob, size_t size)
{
    return blob && size >= 4 && memcmp(blob, LSC_COMPACT_MAGIC, 4) == 0;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* A LEB128 varint of at most 64 bits, minimal (no trailing zero group); 0 on failure. */
static int get_varint(const uint8_t *p, size_t size, size_t *at, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < VARINT_MAX && *at < size; i++) {
        uint8_t b = p[(*at)++];
        if (i == 9 && b > 1)
            return 0;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0)
                return 0;
            *v = x;
            return 1;
        }
    }
    return 0;
}

lsc_status lsc_entropy_compact(const void *blob, size_t size, void **out, size_t *out_size, lsc_error *error)
{
    const uint8_t *p = blob;
    *out = NULL;
    *out_size = 0;
    if (!lsc_entropy_is_blob(p, size) || size < LSC_ENTROPY_FIXED_HEADER || p[56] > MAX_RANK)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_entropy_compact: not an entropy blob");
    unsigned rank = p[56];
    size_t table = LSC_ENTROPY_FIXED_HEADER + 8u * rank;
    /* The section count follows from the header (4.1); their sizes fill the blob. */
    size_t n = 1 + lsc_dtype_size(p[5]) + ((p[7] & LSC_BLOB_FLAG_ZERO_POINTS) != 0) + (p[57] != 0);
    uint64_t used = 0;
    for (size_t s = 0; n <= MAX_SECTIONS && table + 8 * n <= size && s < n; s++)
        used += lsc_load_le32(p + table + 8 * s + 4);
    if (n > MAX_SECTIONS || table + 8 * n > size || table + 8 * n + used != size)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_entropy_compact: sections do not fill the blob");
    size_t head = table + 8 * n;
    uint8_t *c = malloc(size); /* the compact form is never larger than the header it replaces */
    if (!c)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a compact entropy blob");
    memcpy(c, LSC_COMPACT_MAGIC, 4);
    memcpy(c + 4, p + 4, 4); /* version, dtype, index_bits, flags */
    memset(c + 8, 0, 8);
    c[16] = (uint8_t)rank;
    c[17] = p[57];
    c[18] = (uint8_t)n;
    uint8_t *q = c + 19;
    for (int f = 0; f < 4; f++) /* rows, cols, block_h, block_w */
        q = put_varint(q, lsc_load_le32(p + 16 + 4 * f));
    q = put_varint(q, lsc_load_le64(p + 32)); /* nnz */
    q = put_varint(q, lsc_load_le64(p + 40)); /* lsc_size */
    memcpy(q, p + 48, 8);                     /* lsc_checksum */
    q += 8;
    for (unsigned i = 0; i < rank; i++)
        q = put_varint(q, lsc_load_le64(p + LSC_ENTROPY_FIXED_HEADER + 8 * i));
    for (size_t s = 0; s < n; s++) {
        *q++ = p[table + 8 * s];
        q = put_varint(q, lsc_load_le32(p + table + 8 * s + 4));
    }
    size_t compact_head = (size_t)(q - c);
    if (compact_head >= head) {
        free(c);
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "lsc_entropy_compact: no smaller");
    }
    memcpy(q, p + head, size - head);
    *out_size = compact_head + (size - head);
    lsc_store_le64(c + 8, lsc_blob_checksum(c, *out_size));
    *out = c;
    return LSC_OK;
}

lsc_status lsc_entropy_expand(const void *blob, size_t size, const char *name, void **out, size_t *out_size,
                              lsc_error *error)
{
    const uint8_t *c = blob;
    const char *label = name ? name : "";
    *out = NULL;
    *out_size = 0;
    if (!lsc_entropy_is_compact(c, size) || size < 19)
        return BAD("blob '%s': %zu bytes, not a compact entropy blob", label, size);
    LSC_TRY(lsc_blob_check_checksum(c, size, "blob", label, error));
    unsigned rank = c[16], n = c[18];
    if (rank > MAX_RANK || n < 1 || n > MAX_SECTIONS)
        return BAD("blob '%s': rank %u or %u sections out of range", label, rank, n);
    uint64_t f[6], dims[MAX_RANK], sizes[MAX_SECTIONS];
    uint8_t methods[MAX_SECTIONS], lsc_checksum[8];
    size_t at = 19;
    for (int i = 0; i < 6; i++)
        if (!get_varint(c, size, &at, &f[i]) || (i < 4 && f[i] > UINT32_MAX))
            return BAD("blob '%s': damaged compact header", label);
    if (size - at < 8)
        return BAD("blob '%s': damaged compact header", label);
    memcpy(lsc_checksum, c + at, 8);
    at += 8;
    for (unsigned i = 0; i < rank; i++)
        if (!get_varint(c, size, &at, &dims[i]) || dims[i] > INT64_MAX)
            return BAD("blob '%s': damaged compact header", label);
    uint64_t body = 0;
    for (unsigned s = 0; s < n; s++) {
        if (at >= size)
            return BAD("blob '%s': damaged compact header", label);
        methods[s] = c[at++];
        if (!get_varint(c, size, &at, &sizes[s]) || sizes[s] > UINT32_MAX)
            return BAD("blob '%s': damaged compact header", label);
        body += sizes[s];
    }
    if (body != size - at)
        return BAD("blob '%s': sections of %llu bytes do not fill the %zu-byte blob", label,
                   (unsigned long long)body, size);
    size_t head = LSC_ENTROPY_FIXED_HEADER + 8u * rank + 8u * n;
    uint8_t *p = calloc(1, head + (size_t)body);
    if (!p)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory opening blob '%s'", label);
    memcpy(p, LSC_ENTROPY_MAGIC, 4);
    memcpy(p + 4, c + 4, 4);
    for (int i = 0; i < 4; i++)
        lsc_store_le32(p + 16 + 4 * i, (uint32_t)f[i]);
    lsc_store_le64(p + 32, f[4]);
    lsc_store_le64(p + 40, f[5]);
    memcpy(p + 48, lsc_checksum, 8);
    p[56] = (uint8_t)rank;
    p[57] = c[17];
    for (unsigned i = 0; i < rank; i++)
        lsc_store_le64(p + LSC_ENTROPY_FIXED_HEADER + 8 * i, dims[i]);
    uint8_t *t = p + LSC_ENTROPY_FIXED_HEADER + 8 * rank;
    for (unsigned s = 0; s < n; s++) {
        t[8 * s] = methods[s];
        lsc_store_le32(t + 8 * s + 4, (uint32_t)sizes[s]);
    }
    memcpy(p + head, c + at, (size_t)body);
    *out_size = head + (size_t)body;
    lsc_store_le64(p + 8, lsc_blob_checksum(p, *out_size));
    *out = p;
    return LSC_OK;
}

lsc_status lsc_entropy_compact_blob(const void *blob, size_t blob_size, void **out, size_t *out_size,
                                    lsc_error *error)
{
    if (!blob || !out || !out_size)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_entropy_compact_blob: NULL argument");
    return lsc_entropy_compact(blob, blob_size, out, out_size, error);
}
