/* Reading a dense pack (docs/format.md part 5), versions 1 and 2: every field
 * checked against the blob's size before use, both zstd frames decoded whole at open. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/blob.h"
#include "codec/dense_pack.h"
#include "common/checked.h"
#include "common/endian.h"
#include "common/error.h"
#include "onnx-lsc/lsc.h"

struct lsc_dense_pack {
    lsc_packed_tensor *tensors;
    size_t count;
    uint8_t *meta;   /* decoded records: restore records point into it */
    float *values;   /* every tensor's values, in pack order */
};

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

int lsc_is_dense_pack(const void *data, size_t size)
{
    return data && size >= 4 && memcmp(data, LSC_PACK_MAGIC, 4) == 0;
}

void lsc_dense_pack_close(lsc_dense_pack **pack)
{
    if (!pack || !*pack)
        return;
    free((*pack)->tensors);
    free((*pack)->meta);
    free((*pack)->values);
    free(*pack);
    *pack = NULL;
}

size_t lsc_dense_pack_count(const lsc_dense_pack *pack)
{
    return pack ? pack->count : 0;
}

const lsc_packed_tensor *lsc_dense_pack_get(const lsc_dense_pack *pack, size_t index)
{
    return pack && index < pack->count ? &pack->tensors[index] : NULL;
}

/* One zstd frame of exactly `size` bytes into a new buffer. */
static lsc_status unzstd(const uint8_t *frame, uint64_t zsize, uint64_t size, const char *what, const char *label,
                         uint8_t **out, lsc_error *error)
{
    uint64_t most = 0;
    if (lsc_mul_overflow_u64(zsize, LSC_PACK_MAX_EXPANSION, &most) || size > most || size > SIZE_MAX)
        return BAD("dense pack '%s': %s: %llu bytes cannot come from a %llu-byte zstd frame", label, what,
                   (unsigned long long)size, (unsigned long long)zsize);
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "dense pack '%s': out of memory for %s", label, what);
    size_t got = ZSTD_decompress(buf, (size_t)size, frame, (size_t)zsize);
    if (ZSTD_isError(got) || got != size) {
        free(buf);
        return BAD("dense pack '%s': %s: %s", label, what,
                   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "frame holds another size than declared");
    }
    *out = buf;
    return LSC_OK;
}

/* Record i of a version-2 pack: its graph and, with SAME, the earlier record whose
 * values it repeats (not itself a repeat, same element count). */
static lsc_status graph_and_same(lsc_dense_pack *p, size_t i, const uint8_t *r, int same, uint32_t *from_out,
                                 const char *label, lsc_error *error)
{
    lsc_packed_tensor *t = &p->tensors[i];
    t->graph = lsc_load_le32(r + 12);
    uint32_t from = *from_out = lsc_load_le32(r + 16);
    t->same = same;
    if (!same && from)
        return BAD("dense pack '%s': tensor %zu: repeats no record, its source field is not zero", label, i);
    if (same && (from >= i || p->tensors[from].same))
        return BAD("dense pack '%s': tensor %zu: repeats record %u, not an earlier record with its own values", label,
                   i, from);
    return LSC_OK;
}

/* Records sort by graph, then initializers before Constant nodes, then position. */
static int in_order(const lsc_packed_tensor *prev, const lsc_packed_tensor *t)
{
    if (prev->graph != t->graph)
        return prev->graph < t->graph;
    if (prev->node != t->node)
        return prev->node < t->node;
    return prev->position < t->position;
}

/* Parses the decoded records into p->tensors; `values` is the header's count. */
static lsc_status parse_records(lsc_dense_pack *p, int version, uint64_t meta_size, uint64_t values,
                                const char *label, lsc_error *error)
{
    const uint8_t *m = p->meta;
    uint64_t at = 0, total = 0;
    unsigned fixed = version == 1 ? LSC_PACK_RECORD_SIZE : LSC_PACK_RECORD_SIZE_2;
    uint8_t known = LSC_PACK_FLAG_TYPED | LSC_PACK_FLAG_NODE | (version == 1 ? 0 : LSC_PACK_FLAG_SAME);
    for (size_t i = 0; i < p->count; i++) {
        lsc_packed_tensor *t = &p->tensors[i];
        if (meta_size - at < fixed)
            return BAD("dense pack '%s': tensor %zu: record runs past the records", label, i);
        t->position = lsc_load_le32(m + at);
        uint32_t restore_len = lsc_load_le32(m + at + 4);
        uint8_t flags = m[at + 8], rank = m[at + 9];
        if ((flags & ~known) || lsc_load_le16(m + at + 10))
            return BAD("dense pack '%s': tensor %zu: reserved flags or bytes are not zero", label, i);
        if (rank > LSC_MAX_RANK)
            return BAD("dense pack '%s': tensor %zu: rank %u above %d", label, i, rank, LSC_MAX_RANK);
        t->node = (flags & LSC_PACK_FLAG_NODE) != 0;
        uint32_t from = 0;
        if (version != 1)
            LSC_TRY(graph_and_same(p, i, m + at, (flags & LSC_PACK_FLAG_SAME) != 0, &from, label, error));
        if (i > 0 && !in_order(&p->tensors[i - 1], t))
            return BAD("dense pack '%s': tensor %zu: records not by graph, then initializers before Constant nodes, "
                       "then increasing position", label, i);
        at += fixed;
        if ((meta_size - at) / 8 < rank)
            return BAD("dense pack '%s': tensor %zu: dims run past the records", label, i);
        t->typed = flags & LSC_PACK_FLAG_TYPED;
        t->rank = rank;
        t->count = 1;
        for (int d = 0; d < rank; d++) {
            t->dims[d] = (int64_t)lsc_load_le64(m + at + 8 * (uint64_t)d);
            if (t->dims[d] < 0 || lsc_mul_overflow_u64(t->count, (uint64_t)t->dims[d], &t->count))
                return BAD("dense pack '%s': tensor %zu: dim %d is negative or too large", label, i, d);
        }
        at += 8u * rank;
        if (meta_size - at < restore_len)
            return BAD("dense pack '%s': tensor %zu: restore record runs past the records", label, i);
        t->restore = m + at;
        t->restore_len = restore_len;
        at += restore_len;
        if (t->same) {
            const lsc_packed_tensor *src = &p->tensors[from];
            if (src->count != t->count)
                return BAD("dense pack '%s': tensor %zu: %llu values, the record it repeats has %llu", label, i,
                           (unsigned long long)t->count, (unsigned long long)src->count);
            t->values = src->values;
            continue;
        }
        if (t->count > values - total)
            return BAD("dense pack '%s': tensor %zu: more values than the pack holds", label, i);
        t->values = p->values + total;
        total += t->count;
    }
    if (at != meta_size || total != values)
        return BAD("dense pack '%s': records or values left over (%llu of %llu record bytes, %llu of %llu values)",
                   label, (unsigned long long)at, (unsigned long long)meta_size, (unsigned long long)total,
                   (unsigned long long)values);
    return LSC_OK;
}

/* The values from their four planes (plane j at planes + j * n). */
static void unplane(const uint8_t *planes, uint64_t n, float *values)
{
    for (uint64_t i = 0; i < n; i++) {
        uint32_t bits = lsc_pack_unplane(planes[i], planes[n + i], planes[2 * n + i], planes[3 * n + i]);
        memcpy(values + i, &bits, sizeof bits);
    }
}

lsc_status lsc_dense_pack_open(const void *data, size_t size, const char *label, lsc_dense_pack **pack_out,
                               lsc_error *error)
{
    if (!pack_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_dense_pack_open: NULL argument");
    *pack_out = NULL;
    if (!label)
        label = "";
    const uint8_t *b = data;
    if (!b || size < LSC_PACK_HEADER_SIZE || !lsc_is_dense_pack(b, size))
        return BAD("dense pack '%s': bad magic or shorter than its %d-byte header", label, LSC_PACK_HEADER_SIZE);
    uint32_t version = lsc_load_le32(b + 4);
    if (version != LSC_PACK_VERSION && version != LSC_PACK_VERSION_BODIES)
        return lsc_fail(error, LSC_ERR_VERSION, "dense pack '%s': version %u (this reader knows %d and %d)", label,
                        version, LSC_PACK_VERSION, LSC_PACK_VERSION_BODIES);
    LSC_TRY(lsc_blob_check_checksum(b, size, "dense pack", label, error));
    uint32_t count = lsc_load_le32(b + 16);
    uint64_t meta_size = lsc_load_le64(b + 24), meta_z = lsc_load_le64(b + 32);
    uint64_t values = lsc_load_le64(b + 40), planes_z = lsc_load_le64(b + 48), plane_bytes = 0;
    if (lsc_load_le32(b + 20))
        return BAD("dense pack '%s': reserved bytes are not zero", label);
    if (meta_z > size - LSC_PACK_HEADER_SIZE || planes_z != size - LSC_PACK_HEADER_SIZE - meta_z)
        return BAD("dense pack '%s': frames of %llu and %llu bytes do not fill its %zu bytes", label,
                   (unsigned long long)meta_z, (unsigned long long)planes_z, size);
    if (count == 0 || (uint64_t)count > meta_size / (version == 1 ? LSC_PACK_RECORD_SIZE : LSC_PACK_RECORD_SIZE_2) ||
        lsc_mul_overflow_u64(values, 4, &plane_bytes))
        return BAD("dense pack '%s': %u tensors, %llu record bytes, %llu values do not agree", label, count,
                   (unsigned long long)meta_size, (unsigned long long)values);
    lsc_dense_pack *p = calloc(1, sizeof *p);
    if (!p || !(p->tensors = calloc(count, sizeof *p->tensors))) {
        free(p);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "dense pack '%s': out of memory", label);
    }
    p->count = count;
    uint8_t *planes = NULL;
    lsc_status st = unzstd(b + LSC_PACK_HEADER_SIZE, meta_z, meta_size, "records", label, &p->meta, error);
    if (st == LSC_OK)
        st = unzstd(b + LSC_PACK_HEADER_SIZE + meta_z, planes_z, plane_bytes, "values", label, &planes, error);
    if (st == LSC_OK && !(p->values = malloc(plane_bytes ? (size_t)plane_bytes : 1)))
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "dense pack '%s': out of memory for values", label);
    if (st == LSC_OK)
        unplane(planes, values, p->values);
    free(planes);
    if (st == LSC_OK)
        st = parse_records(p, (int)version, meta_size, values, label, error);
    if (st != LSC_OK) {
        lsc_dense_pack_close(&p);
        return st;
    }
    *pack_out = p;
    return LSC_OK;
}
