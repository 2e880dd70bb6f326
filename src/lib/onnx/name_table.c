/* The names entry (docs/format.md part 6): writing it, and reading it with every
 * field checked against the entry's size before use. */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/blob.h"
#include "codec/dense_pack.h"
#include "common/checked.h"
#include "common/endian.h"
#include "onnx/dense_pack_graph.h"
#include "onnx/name_table.h"

struct lsc_name_table {
    char *strings;       /* every name, NUL-terminated, one after the other */
    const char **names;  /* per pair: short, original; value pairs first */
    size_t count[2];     /* pairs per kind */
};

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

static int append_pairs(lsc_bytes *raw, const lsc_name_pair *pairs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t s = strlen(pairs[i].short_name), o = strlen(pairs[i].original);
        uint8_t head[LSC_NAMES_PAIR_SIZE];
        lsc_store_le32(head, (uint32_t)s);
        lsc_store_le32(head + 4, (uint32_t)o);
        if (!lsc_bytes_append(raw, head, sizeof head) || !lsc_bytes_append(raw, pairs[i].short_name, s) ||
            !lsc_bytes_append(raw, pairs[i].original, o))
            return 0;
    }
    return 1;
}

lsc_status lsc_name_table_build(const lsc_name_pair *values, size_t n_values, const lsc_name_pair *nodes,
                                size_t n_nodes, lsc_bytes *blob, lsc_error *error)
{
    if (n_values > UINT32_MAX || n_nodes > UINT32_MAX)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "more than 2^32 names");
    lsc_bytes raw = {0};
    uint8_t head[LSC_NAMES_HEADER_SIZE] = {0};
    blob->size = 0;
    lsc_status st = append_pairs(&raw, values, n_values) && append_pairs(&raw, nodes, n_nodes) &&
                            lsc_bytes_append(blob, head, sizeof head)
                        ? lsc_pack_zstd_frame(raw.data, raw.size, blob, error)
                        : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the names entry");
    if (st == LSC_OK) {
        uint8_t *b = blob->data;
        memcpy(b, LSC_NAMES_MAGIC, 4);
        lsc_store_le32(b + 4, LSC_NAMES_VERSION);
        lsc_store_le32(b + 16, (uint32_t)n_values);
        lsc_store_le32(b + 20, (uint32_t)n_nodes);
        lsc_store_le64(b + 24, raw.size);
        lsc_store_le64(b + 32, blob->size - LSC_NAMES_HEADER_SIZE);
        lsc_store_le64(b + 8, lsc_blob_checksum(b, blob->size));
    }
    lsc_bytes_free(&raw);
    return st;
}

int lsc_is_name_table(const void *data, size_t size)
{
    return data && size >= 4 && memcmp(data, LSC_NAMES_MAGIC, 4) == 0;
}

void lsc_name_table_close(lsc_name_table **table)
{
    if (!table || !*table)
        return;
    free((*table)->strings);
    free((*table)->names);
    free(*table);
    *table = NULL;
}

size_t lsc_name_table_count(const lsc_name_table *table, lsc_name_kind kind)
{
    return table && (kind == LSC_NAME_VALUE || kind == LSC_NAME_NODE) ? table->count[kind] : 0;
}

static const char *name_at(const lsc_name_table *table, lsc_name_kind kind, size_t i, int original)
{
    if (i >= lsc_name_table_count(table, kind))
        return NULL;
    size_t pair = (kind == LSC_NAME_NODE ? table->count[0] : 0) + i;
    return table->names[2 * pair + (size_t)original];
}

const char *lsc_name_table_short(const lsc_name_table *table, lsc_name_kind kind, size_t i)
{
    return name_at(table, kind, i, 0);
}

const char *lsc_name_table_original(const lsc_name_table *table, lsc_name_kind kind, size_t i)
{
    return name_at(table, kind, i, 1);
}

/* The decoded pairs into t->strings / t->names: lengths, no empty name, no NUL. */
static lsc_status parse_pairs(lsc_name_table *t, const uint8_t *raw, uint64_t raw_size, const char *label,
                              lsc_error *error)
{
    size_t total = t->count[0] + t->count[1];
    uint64_t at = 0;
    char *out = t->strings;
    for (size_t i = 0; i < total; i++) {
        if (raw_size - at < LSC_NAMES_PAIR_SIZE)
            return BAD("names entry '%s': pair %zu runs past the names", label, i);
        uint32_t len[2] = {lsc_load_le32(raw + at), lsc_load_le32(raw + at + 4)};
        at += LSC_NAMES_PAIR_SIZE;
        for (int k = 0; k < 2; k++) {
            if (len[k] == 0 || raw_size - at < len[k])
                return BAD("names entry '%s': pair %zu: a name is empty or runs past the names", label, i);
            if (memchr(raw + at, 0, len[k]))
                return BAD("names entry '%s': pair %zu: a name holds a zero byte", label, i);
            memcpy(out, raw + at, len[k]);
            out[len[k]] = 0;
            t->names[2 * i + (size_t)k] = out;
            out += len[k] + 1;
            at += len[k];
        }
    }
    if (at != raw_size)
        return BAD("names entry '%s': %llu of %llu bytes used by its pairs", label, (unsigned long long)at,
                   (unsigned long long)raw_size);
    return LSC_OK;
}

/* Within a kind, short names are unique; value originals too (node originals may
 * repeat: ONNX does not ask node names to differ). */
static lsc_status check_unique(const lsc_name_table *t, lsc_name_kind kind, int original, const char *label,
                               lsc_error *error)
{
    lsc_name_map seen = {0};
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < t->count[kind]; i++) {
        const char *name = name_at(t, kind, i, original);
        if (lsc_name_map_get(&seen, name) != (size_t)-1)
            st = BAD("names entry '%s': %s %s name '%.200s' given twice", label, kind ? "node" : "value",
                     original ? "original" : "short", name);
        else
            st = lsc_name_map_put(&seen, name, i, error);
    }
    lsc_name_map_free(&seen);
    return st;
}

static lsc_status decode_frame(const uint8_t *frame, uint64_t zsize, uint64_t size, const char *label,
                               uint8_t **out, lsc_error *error)
{
    uint64_t most = 0;
    if (lsc_mul_overflow_u64(zsize, LSC_PACK_MAX_EXPANSION, &most) || size > most || size > SIZE_MAX / 2)
        return BAD("names entry '%s': %llu bytes cannot come from a %llu-byte zstd frame", label,
                   (unsigned long long)size, (unsigned long long)zsize);
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "names entry '%s': out of memory", label);
    size_t got = ZSTD_decompress(buf, (size_t)size, frame, (size_t)zsize);
    if (ZSTD_isError(got) || got != size) {
        free(buf);
        return BAD("names entry '%s': %s", label,
                   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "frame holds another size than declared");
    }
    *out = buf;
    return LSC_OK;
}

lsc_status lsc_name_table_open(const void *data, size_t size, const char *label, lsc_name_table **table_out,
                               lsc_error *error)
{
    if (!table_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_name_table_open: NULL argument");
    *table_out = NULL;
    if (!label)
        label = "";
    const uint8_t *b = data;
    if (!b || size < LSC_NAMES_HEADER_SIZE || !lsc_is_name_table(b, size))
        return BAD("names entry '%s': bad magic or shorter than its %d-byte header", label, LSC_NAMES_HEADER_SIZE);
    if (lsc_load_le32(b + 4) != LSC_NAMES_VERSION)
        return lsc_fail(error, LSC_ERR_VERSION, "names entry '%s': version %u (this reader knows %d)", label,
                        lsc_load_le32(b + 4), LSC_NAMES_VERSION);
    LSC_TRY(lsc_blob_check_checksum(b, size, "names entry", label, error));
    uint64_t n_values = lsc_load_le32(b + 16), n_nodes = lsc_load_le32(b + 20);
    uint64_t raw_size = lsc_load_le64(b + 24), zsize = lsc_load_le64(b + 32);
    if (zsize != size - LSC_NAMES_HEADER_SIZE)
        return BAD("names entry '%s': a %llu-byte frame does not fill its %zu bytes", label,
                   (unsigned long long)zsize, size);
    if (n_values + n_nodes == 0 || n_values + n_nodes > raw_size / (LSC_NAMES_PAIR_SIZE + 2))
        return BAD("names entry '%s': %llu value and %llu node names do not fit %llu bytes", label,
                   (unsigned long long)n_values, (unsigned long long)n_nodes, (unsigned long long)raw_size);
    uint8_t *raw = NULL;
    LSC_TRY(decode_frame(b + LSC_NAMES_HEADER_SIZE, zsize, raw_size, label, &raw, error));
    lsc_name_table *t = calloc(1, sizeof *t);
    size_t pairs = (size_t)(n_values + n_nodes);
    lsc_status st = LSC_OK;
    /* Every name gets one more byte (its NUL) than its pair's header spent on it. */
    if (!t || !(t->strings = malloc((size_t)raw_size)) || !(t->names = calloc(2 * pairs, sizeof *t->names)))
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "names entry '%s': out of memory", label);
    if (st == LSC_OK) {
        t->count[0] = (size_t)n_values;
        t->count[1] = (size_t)n_nodes;
        st = parse_pairs(t, raw, raw_size, label, error);
    }
    free(raw);
    if (st == LSC_OK)
        st = check_unique(t, LSC_NAME_VALUE, 0, label, error);
    if (st == LSC_OK)
        st = check_unique(t, LSC_NAME_VALUE, 1, label, error);
    if (st == LSC_OK)
        st = check_unique(t, LSC_NAME_NODE, 0, label, error);
    if (st != LSC_OK) {
        lsc_name_table_close(&t);
        return st;
    }
    *table_out = t;
    return LSC_OK;
}
