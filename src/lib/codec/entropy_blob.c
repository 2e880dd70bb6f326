/* Entropy blobs (docs/format.md part 4): the header and section table, and the two
 * directions between a compute-tier blob and its entropy-coded form. The positions
 * and values are taken from the compute blob in compressed-row order of its matrix;
 * decoding lays the compute blob out again with the recorded block shape and index
 * width, and checks that it is the very blob recorded (size and checksum). */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/blob.h"
#include "codec/blob_walk.h"
#include "codec/dtype.h"
#include "codec/encode.h"
#include "codec/entropy.h"
#include "codec/sri.h"
#include "common/checked.h"
#include "common/error.h"

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)
#define SECTION_ENTRY 8
#define MAX_SECTIONS (1 + 8 + 1) /* positions, value planes, zero points */

int lsc_entropy_is_blob(const void *blob, size_t size)
{
    return blob && size >= 4 && memcmp(blob, LSC_ENTROPY_MAGIC, 4) == 0;
}

/* ---- compute blob -> rows ---- */

typedef struct row_builder {
    lsc_sparse *m;
    uint64_t *next;        /* per row: next free slot */
    const uint8_t *values; /* the blob's, in scan order */
    uint8_t *out;          /* in compressed-row order */
    unsigned elem_size;
} row_builder;

static void count_row(void *ctx, uint64_t r, uint64_t c, uint64_t value)
{
    (void)c;
    (void)value;
    ((row_builder *)ctx)->m->row_ptr[r + 1]++;
}

/* Within a row, scan order visits columns in increasing order (blocks by column,
 * each block row-major), so appending keeps every row sorted. */
static void place_value(void *ctx, uint64_t r, uint64_t c, uint64_t value)
{
    row_builder *b = ctx;
    uint64_t k = b->next[r]++;
    b->m->col[k] = (uint32_t)c;
    memcpy(b->out + k * b->elem_size, b->values + value * b->elem_size, b->elem_size);
}

static lsc_status rows_of_blob(const lsc_blob_view *v, lsc_sparse *m, uint8_t **values, lsc_error *error)
{
    memset(m, 0, sizeof *m);
    m->rows = v->rows;
    m->cols = v->cols;
    m->nnz = v->nnz;
    m->row_ptr = calloc((size_t)v->rows + 1, sizeof(uint64_t));
    m->col = malloc(v->nnz ? (size_t)v->nnz * sizeof(uint32_t) : 1);
    *values = malloc(v->nnz ? (size_t)(v->nnz * v->elem_size) : 1);
    row_builder b = {m, malloc((size_t)v->rows * sizeof(uint64_t)), v->values, *values, v->elem_size};
    if (!m->row_ptr || !m->col || !*values || !b.next) {
        free(b.next);
        free(*values);
        *values = NULL;
        lsc_sparse_free(m);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for %llu positions", (unsigned long long)v->nnz);
    }
    lsc_blob_walk(v, count_row, &b);
    for (uint32_t r = 0; r < v->rows; r++) {
        m->row_ptr[r + 1] += m->row_ptr[r];
        b.next[r] = m->row_ptr[r];
    }
    lsc_blob_walk(v, place_value, &b);
    free(b.next);
    return LSC_OK;
}

/* ---- header ---- */

typedef struct entropy_header {
    lsc_blob_view v;       /* the fields it shares with the compute blob (no sections) */
    uint64_t lsc_size, lsc_checksum;
    uint64_t header_bytes; /* fixed header + dims + section table */
    unsigned n_sections;   /* 1 + elem_size, + 1 for the zero points of an 8-bit weight or the mirror */
    unsigned version;
    unsigned mirror;       /* LSC_MIRROR_*: byte 57 (version 4, 4.7) */
} entropy_header;

static int has_zero_points(const lsc_blob_view *v)
{
    return (v->flags & LSC_BLOB_FLAG_ZERO_POINTS) != 0;
}

static void header_sizes(entropy_header *h)
{
    h->n_sections = 1 + h->v.elem_size + (unsigned)has_zero_points(&h->v) + (h->mirror != LSC_MIRROR_NONE);
    h->header_bytes = LSC_ENTROPY_FIXED_HEADER + 8u * (unsigned)h->v.rank + SECTION_ENTRY * h->n_sections;
}

static void write_header(const entropy_header *h, uint8_t *p)
{
    memcpy(p, LSC_ENTROPY_MAGIC, 4);
    p[4] = (uint8_t)h->version;
    lsc_blob_store_fields(p, &h->v);
    lsc_store_le64(p + 32, h->v.nnz);
    lsc_store_le64(p + 40, h->lsc_size);
    lsc_store_le64(p + 48, h->lsc_checksum);
    p[56] = (uint8_t)h->v.rank;
    p[57] = (uint8_t)h->mirror;
    for (int i = 0; i < h->v.rank; i++)
        lsc_store_le64(p + LSC_ENTROPY_FIXED_HEADER + 8 * i, (uint64_t)h->v.dims[i]);
}

static lsc_status read_header(const uint8_t *p, size_t size, const char *label, entropy_header *h,
                              lsc_error *error)
{
    memset(h, 0, sizeof *h);
    if (size < LSC_ENTROPY_FIXED_HEADER)
        return BAD("blob '%s': %zu bytes, shorter than the %d-byte entropy header", label, size,
                   LSC_ENTROPY_FIXED_HEADER);
    if (p[4] < 1 || p[4] > LSC_ENTROPY_VERSION)
        return lsc_fail(error, p[4] > LSC_ENTROPY_VERSION ? LSC_ERR_VERSION : LSC_ERR_BAD_BUNDLE,
                        "blob '%s': entropy format version %u, this reader knows 1..%d", label, p[4],
                        LSC_ENTROPY_VERSION);
    h->version = p[4];
    LSC_TRY(lsc_blob_read_fields(p, label, &h->v, error));
    if (h->v.elem_size == 1 && h->version < LSC_ENTROPY_VERSION_8BIT)
        return BAD("blob '%s': an 8-bit weight in an entropy blob of version %u (8-bit needs %d)", label,
                   h->version, LSC_ENTROPY_VERSION_8BIT);
    if (h->v.elem_size == 1 && h->version >= LSC_ENTROPY_VERSION_WHOLE)
        return BAD("blob '%s': an 8-bit weight in an entropy blob of version %u (float only)", label, h->version);
    if (h->v.elem_size != 1 && has_zero_points(&h->v))
        return BAD("blob '%s': zero points (flag ZERO_POINTS) on a float weight", label);
    h->v.nnz = lsc_load_le64(p + 32);
    h->lsc_size = lsc_load_le64(p + 40);
    h->lsc_checksum = lsc_load_le64(p + 48);
    h->v.rank = p[56];
    h->mirror = p[57];
    if (h->mirror > LSC_MIRROR_DCT || (h->mirror && (h->version < LSC_ENTROPY_VERSION_WHOLE || h->v.cols < 3)))
        return BAD("blob '%s': mirror kind %u in an entropy blob of version %u, %u columns", label, h->mirror,
                   h->version, h->v.cols);
    for (int i = 58; i < LSC_ENTROPY_FIXED_HEADER; i++)
        if (p[i])
            return BAD("blob '%s': reserved header byte %d is not zero", label, i);
    if (h->v.rank > LSC_MAX_RANK)
        return BAD("blob '%s': rank %d above %d", label, h->v.rank, LSC_MAX_RANK);
    header_sizes(h);
    if (size < h->header_bytes)
        return BAD("blob '%s': %zu bytes, shorter than its %llu-byte header", label, size,
                   (unsigned long long)h->header_bytes);
    if (h->v.nnz > (uint64_t)h->v.rows * h->v.cols)
        return BAD("blob '%s': %llu values in %u x %u elements", label, (unsigned long long)h->v.nnz, h->v.rows,
                   h->v.cols);
    uint64_t limit = (uint64_t)size * LSC_ENTROPY_MAX_EXPANSION;
    if (h->v.rows > limit || h->v.cols > limit || h->v.nnz > limit)
        return BAD("blob '%s': %u x %u matrix with %llu values in %zu bytes: beyond the reader's limit of %d "
                   "per byte", label, h->v.rows, h->v.cols, (unsigned long long)h->v.nnz, size,
                   LSC_ENTROPY_MAX_EXPANSION);
    for (int i = 0; i < h->v.rank; i++)
        h->v.dims[i] = (int64_t)lsc_load_le64(p + LSC_ENTROPY_FIXED_HEADER + 8 * i);
    return LSC_OK;
}

/* ---- encoder ---- */

typedef struct section {
    uint8_t *data;
    size_t size;
    unsigned method;
} section;

/* The magnitude of value i (sign bit cleared) + 1: never 0, which marks an empty slot. */
static inline uint64_t magnitude_key(const uint8_t *values, uint64_t i, unsigned elem_size)
{
    uint8_t b[8] = {0};
    memcpy(b, values + i * elem_size, elem_size);
    b[elem_size - 1] &= 0x7f;
    uint64_t key;
    memcpy(&key, b, sizeof key);
    return key + 1;
}

#define REPEAT_BATCH 16 /* slots looked up ahead: the table is larger than the caches */

/* Inserts keys[0..n) into the open-addressed set (32- or 64-bit slots, as `wide`);
 * returns how many were new. */
static inline __attribute__((always_inline)) uint64_t insert_keys(void *table, unsigned bits, int wide,
                                                                  const uint64_t *keys, unsigned n)
{
    uint32_t *narrow_slots = table;
    uint64_t *wide_slots = table, mask = (UINT64_C(1) << bits) - 1, h[REPEAT_BATCH], added = 0;
    for (unsigned k = 0; k < n; k++) {
        h[k] = (keys[k] * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits);
        __builtin_prefetch(wide ? (void *)&wide_slots[h[k]] : (void *)&narrow_slots[h[k]]);
    }
    for (unsigned k = 0; k < n; k++) {
        uint64_t at = h[k];
        if (wide) {
            while (wide_slots[at] && wide_slots[at] != keys[k])
                at = (at + 1) & mask;
            added += wide_slots[at] == 0;
            wide_slots[at] = keys[k];
        } else {
            while (narrow_slots[at] && narrow_slots[at] != (uint32_t)keys[k])
                at = (at + 1) & mask;
            added += narrow_slots[at] == 0;
            narrow_slots[at] = (uint32_t)keys[k];
        }
    }
    return added;
}

/* 1 if at most 1/LSC_ENTROPY_WHOLE_DISTINCT_DIV of the n values (elem_size 2, 4 or 8
 * bytes) have distinct magnitudes (sign bits cleared). A hash set of the magnitudes
 * seen, left as soon as too many are distinct: trained weights, nearly all distinct,
 * stop half way (sorting them took half of the tier's encode time). */
static int values_repeat(const uint8_t *values, uint64_t n, unsigned elem_size)
{
    if (n < 2 || elem_size < 2)
        return 0;
    unsigned bits = lsc_bits_u64(n); /* at least 2n slots: at most half full */
    int wide = elem_size > 4;        /* a float32's key fits 32 bits */
    if (bits > 40)
        return 0;
    void *table = calloc((size_t)1 << bits, wide ? sizeof(uint64_t) : sizeof(uint32_t));
    if (!table)
        return 0; /* only a size candidate: the planes stand */
    uint64_t distinct = 0, keys[REPEAT_BATCH];
    for (uint64_t i = 0; i < n && distinct * LSC_ENTROPY_WHOLE_DISTINCT_DIV <= n;) {
        unsigned batch = n - i < REPEAT_BATCH ? (unsigned)(n - i) : REPEAT_BATCH;
        for (unsigned k = 0; k < batch; k++)
            keys[k] = magnitude_key(values, i + k, elem_size);
        distinct += wide ? insert_keys(table, bits, 1, keys, batch) : insert_keys(table, bits, 0, keys, batch);
        i += batch;
    }
    free(table);
    return distinct * LSC_ENTROPY_WHOLE_DISTINCT_DIV <= n;
}

/* Whole values (docs/format.md 4.5, version 4): every value's magnitude (its bytes
 * with the sign bit cleared) whole, one zstd stream in section 1, and the signs, one
 * bit each, raw in section 2, when that is smaller than the planes: values that
 * repeat (fixed transforms, shared values) repeat as words, which planes split
 * apart; a sine's magnitudes repeat with either sign. */
static lsc_status try_whole(void *zstd, const uint8_t *values, uint64_t n, unsigned elem_size, section *s,
                            unsigned *version, lsc_error *error)
{
    if (!values_repeat(values, n, elem_size))
        return LSC_OK;
    size_t sign_bytes = (size_t)(n + 7) / 8;
    uint8_t *mags = malloc((size_t)(n * elem_size)), *signs = calloc(1, sign_bytes);
    if (!mags || !signs) {
        free(mags);
        free(signs);
        return LSC_OK; /* only a size candidate: the planes stand */
    }
    memcpy(mags, values, (size_t)(n * elem_size));
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *top = mags + i * elem_size + elem_size - 1;
        signs[i / 8] |= (uint8_t)((*top >> 7) << (i % 8));
        *top &= 0x7f;
    }
    uint8_t *whole = NULL;
    size_t size = 0, planes = 0;
    lsc_status st = lsc_entropy_zstd_compress_level(zstd, mags, n * elem_size, LSC_ENTROPY_WHOLE_LEVEL, &whole, &size,
                                                     error);
    free(mags);
    for (unsigned j = 0; j < elem_size; j++)
        planes += s[1 + j].size;
    if (st != LSC_OK || size + sign_bytes >= planes) {
        free(whole);
        free(signs);
        return st;
    }
    for (unsigned j = 0; j < elem_size; j++) {
        free(s[1 + j].data);
        s[1 + j] = (section){NULL, 0, LSC_SECTION_RAW};
    }
    s[1] = (section){whole, size, LSC_SECTION_WHOLE};
    s[2] = (section){signs, sign_bytes, LSC_SECTION_RAW};
    *version = LSC_ENTROPY_VERSION_WHOLE;
    return LSC_OK;
}

/* The zero points of an 8-bit weight (rows bytes, often one repeated) are coded as a
 * value plane 0 of their own, after the value planes (docs/format.md 4.3). */
static lsc_status code_sections(void *zstd, const lsc_sparse *m, const uint8_t *values, const lsc_blob_view *v,
                                section *s, unsigned *version, int whole, int fast, lsc_error *error)
{
    unsigned elem_size = v->elem_size;
    if (v->zero_points) {
        section *z = &s[1 + elem_size];
        LSC_TRY(lsc_entropy_encode_plane(zstd, v->zero_points, v->rows, 0, 0, &z->data, &z->size, &z->method,
                                         error));
    }
    LSC_TRY(lsc_entropy_encode_positions(m, fast ? LSC_POSITIONS_GROUPED : 0, &s[0].data, &s[0].size, &s[0].method,
                                         error));
    uint8_t *planes = malloc(m->nnz ? (size_t)(m->nnz * elem_size) : 1);
    if (!planes)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for %llu values", (unsigned long long)m->nnz);
    lsc_entropy_split_planes(values, m->nnz, elem_size, planes);
    lsc_status st = LSC_OK;
    for (unsigned j = 0; st == LSC_OK && j < elem_size; j++)
        st = lsc_entropy_encode_plane(zstd, planes, m->nnz, j, fast, &s[1 + j].data, &s[1 + j].size,
                                      &s[1 + j].method, error);
    free(planes);
    if (st == LSC_OK && elem_size >= 2 && whole)
        st = try_whole(zstd, values, m->nnz, elem_size, s, version, error);
    if (st == LSC_OK && fast && *version == LSC_ENTROPY_VERSION_WHOLE) { /* stays format 4: its positions */
        free(s[0].data);
        s[0] = (section){NULL, 0, 0};
        st = lsc_entropy_encode_positions(m, 0, &s[0].data, &s[0].size, &s[0].method, error);
    }
    return st;
}

static uint64_t sections_size(const section *s, unsigned n)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < n; i++)
        t += s[i].size;
    return t;
}

static int mirror_candidate(const lsc_sparse *m, const uint8_t *values, unsigned elem_size)
{
    uint8_t *signs = calloc(1, ((size_t)m->rows + 7) / 8);
    int kind = signs ? lsc_mirror_find(m, values, elem_size, signs) : 0;
    free(signs);
    return kind != 0;
}

/* Mirrored rows (docs/format.md 4.7, version 4): when every row is its own mirror
 * image up to a sign, the left half is coded instead, with the mirror section
 * (nnz of the half, one sign bit per row), if that is smaller. */
static lsc_status try_mirror(void *zstd, const lsc_sparse *m, const uint8_t *values, const lsc_blob_view *v,
                             entropy_header *h, section *s, lsc_error *error)
{
    size_t sign_bytes = ((size_t)m->rows + 7) / 8;
    uint8_t *mirror = calloc(1, 8 + sign_bytes);
    if (!mirror)
        return LSC_OK; /* only a size candidate */
    int kind = lsc_mirror_find(m, values, v->elem_size, mirror + 8);
    if (!kind) {
        free(mirror);
        return LSC_OK;
    }
    lsc_sparse half;
    uint8_t *half_values = NULL;
    section t[MAX_SECTIONS] = {{0}};
    unsigned version = h->version;
    lsc_status st = lsc_mirror_half(m, values, v->elem_size, (unsigned)kind, &half, &half_values, error);
    if (st == LSC_OK) {
        lsc_store_le64(mirror, half.nnz);
        st = code_sections(zstd, &half, half_values, v, t, &version, 1, 0, error);
        lsc_sparse_free(&half);
        free(half_values);
    }
    unsigned n = 1 + v->elem_size;
    t[n] = (section){mirror, 8 + sign_bytes, LSC_SECTION_RAW};
    if (st == LSC_OK && sections_size(t, n + 1) < sections_size(s, n)) {
        for (unsigned i = 0; i < MAX_SECTIONS; i++) {
            free(s[i].data);
            s[i] = t[i];
        }
        h->mirror = (unsigned)kind;
        h->version = LSC_ENTROPY_VERSION_WHOLE;
        header_sizes(h);
        return LSC_OK;
    }
    for (unsigned i = 0; i < MAX_SECTIONS; i++)
        free(t[i].data);
    return st;
}

static lsc_status assemble(const entropy_header *h, const section *s, const char *label, void **out,
                           size_t *out_size, lsc_error *error)
{
    uint64_t total = h->header_bytes;
    for (unsigned i = 0; i < h->n_sections; i++) {
        if (s[i].size > UINT32_MAX)
            return lsc_fail(error, LSC_ERR_UNSUPPORTED, "blob '%s': a section of %zu bytes exceeds 4 GiB", label,
                            s[i].size);
        total += s[i].size;
    }
    uint64_t limit = total * LSC_ENTROPY_MAX_EXPANSION;
    if (h->v.rows > limit || h->v.cols > limit || h->v.nnz > limit)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "blob '%s': %llu bytes code a %u x %u matrix with %llu values: "
                        "beyond the entropy tier's limit", label, (unsigned long long)total, h->v.rows, h->v.cols,
                        (unsigned long long)h->v.nnz);
    uint8_t *p = calloc(1, (size_t)total);
    if (!p)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for an entropy blob of %llu bytes",
                        (unsigned long long)total);
    write_header(h, p);
    uint8_t *table = p + LSC_ENTROPY_FIXED_HEADER + 8 * h->v.rank, *at = p + h->header_bytes;
    for (unsigned i = 0; i < h->n_sections; i++) {
        table[SECTION_ENTRY * i] = (uint8_t)s[i].method;
        lsc_store_le32(table + SECTION_ENTRY * i + 4, (uint32_t)s[i].size);
        if (s[i].size)
            memcpy(at, s[i].data, s[i].size);
        at += s[i].size;
    }
    lsc_store_le64(p + 8, lsc_blob_checksum(p, (size_t)total));
    *out = p;
    *out_size = (size_t)total;
    return LSC_OK;
}

static void fill_stats(const entropy_header *h, const section *s, size_t total, lsc_entropy_stats *st)
{
    memset(st, 0, sizeof *st);
    st->nnz = h->v.nnz;
    /* zero points are meta-data, counted with the header as for a compute blob */
    st->header_bytes = h->header_bytes + (has_zero_points(&h->v) ? s[1 + h->v.elem_size].size : 0);
    /* the mirror section (nnz of the half, row signs) says where values sit */
    st->position_bytes = s[0].size + (h->mirror ? s[1 + h->v.elem_size].size : 0);
    st->planes = h->v.elem_size;
    for (unsigned j = 0; j < h->v.elem_size; j++) {
        st->plane_bytes[j] = s[1 + j].size;
        st->plane_method[j] = s[1 + j].method;
    }
    st->total_bytes = total;
}

/* Decodes what was just written and compares: the tier is lossless by construction,
 * and this keeps it so whatever a future change to a model does. */
static lsc_status check_round_trip(const void *blob, size_t size, const void *coded, size_t coded_size,
                                   const char *label, lsc_error *error)
{
    void *back = NULL;
    size_t back_size = 0;
    LSC_TRY(lsc_entropy_decode_blob(coded, coded_size, label, &back, &back_size, error));
    int same = back_size == size && memcmp(back, blob, size) == 0;
    free(back);
    if (!same)
        return lsc_fail(error, LSC_ERR_INTERNAL, "blob '%s': the entropy tier did not give the blob back", label);
    return LSC_OK;
}

lsc_status lsc_entropy_encode_blob(const void *blob, size_t size, const char *name, void **out,
                                   size_t *out_size, lsc_entropy_stats *stats, lsc_error *error)
{
    const char *label = name ? name : "";
    *out = NULL;
    *out_size = 0;
    lsc_blob_view v;
    LSC_TRY(lsc_blob_parse(blob, size, label, &v, error));
    unsigned version = v.elem_size == 1 ? LSC_ENTROPY_VERSION_8BIT : LSC_ENTROPY_VERSION_FLOAT;
    entropy_header h = {v, size, lsc_load_le64(v.base + 8), 0, 0, version, LSC_MIRROR_NONE};
    header_sizes(&h);

    lsc_sparse m;
    uint8_t *values = NULL;
    LSC_TRY(rows_of_blob(&v, &m, &values, error));
    section s[MAX_SECTIONS] = {{0}};
    /* A mirrored weight (a fixed transform) is coded as its half: its whole values
     * are tried there only, since the zstd level they need is slow. */
    int mirrored = v.elem_size >= 2 && mirror_candidate(&m, values, v.elem_size);
    void *zstd = lsc_entropy_zstd_begin(); /* NULL: each try makes its own */
    /* format 5's faster codings for float weights; 8-bit ones and whole or mirrored
     * values (format 4) keep the codings of their formats */
    lsc_status st = code_sections(zstd, &m, values, &v, s, &h.version, !mirrored, v.elem_size != 1, error);
    if (st == LSC_OK && mirrored)
        st = try_mirror(zstd, &m, values, &v, &h, s, error);
    for (unsigned i = 0; st == LSC_OK && i < h.n_sections; i++)
        if (s[i].method == LSC_SECTION_GROUPED || s[i].method == LSC_SECTION_RANS)
            h.version = LSC_ENTROPY_VERSION_FAST;
    lsc_entropy_zstd_end(zstd);
    lsc_sparse_free(&m);
    free(values);
    if (st == LSC_OK)
        st = assemble(&h, s, label, out, out_size, error);
    if (st == LSC_OK && stats)
        fill_stats(&h, s, *out_size, stats);
    for (unsigned i = 0; i < MAX_SECTIONS; i++)
        free(s[i].data);
    if (st == LSC_OK)
        st = check_round_trip(blob, size, *out, *out_size, label, error);
    if (st != LSC_OK) {
        free(*out);
        *out = NULL;
        *out_size = 0;
    }
    return st;
}

/* ---- decoder ---- */

static lsc_status read_sections(const uint8_t *p, size_t size, const entropy_header *h, const char *label,
                                section *s, lsc_error *error)
{
    const uint8_t *table = p + LSC_ENTROPY_FIXED_HEADER + 8 * h->v.rank;
    uint64_t at = h->header_bytes;
    for (unsigned i = 0; i < h->n_sections; i++) {
        const uint8_t *e = table + SECTION_ENTRY * i;
        if (e[1] || e[2] || e[3])
            return BAD("blob '%s': reserved bytes of section %u are not zero", label, i);
        s[i].method = e[0];
        s[i].size = lsc_load_le32(e + 4);
        unsigned methods = h->version >= LSC_ENTROPY_VERSION_FAST ? LSC_SECTION_METHODS
                           : h->version >= 2                      ? LSC_SECTION_GROUPED
                                                                  : LSC_SECTION_ADAPTIVE;
        if (s[i].method >= methods || (i == 0 && s[i].method < LSC_SECTION_MODEL))
            return BAD("blob '%s': section %u: unknown coding method %u", label, i, s[i].method);
        /* version 5: grouped tables code positions only, rANS value planes only */
        if ((s[i].method == LSC_SECTION_GROUPED && i != 0) ||
            (s[i].method == LSC_SECTION_RANS && (i == 0 || i > h->v.elem_size)))
            return BAD("blob '%s': section %u: method %u is not for this section", label, i, s[i].method);
        /* whole values: section 1 of version 4 and later only; the other planes empty raw */
        if (s[i].method == LSC_SECTION_WHOLE && (i != 1 || h->version < LSC_ENTROPY_VERSION_WHOLE))
            return BAD("blob '%s': section %u: method %u in an entropy blob of version %u", label, i, s[i].method,
                       h->version);
        /* beside whole values: section 2 the raw signs (its size checked when decoding),
         * sections 3..E raw and empty */
        int whole = i > 1 && table[SECTION_ENTRY] == LSC_SECTION_WHOLE;
        if (whole && i <= h->v.elem_size && (s[i].method != LSC_SECTION_RAW || (i > 2 && lsc_load_le32(e + 4))))
            return BAD("blob '%s': section %u: beside whole values, the signs must be raw, later planes raw and "
                       "empty", label, i);
        if (h->mirror && i == 1 + h->v.elem_size &&
            (s[i].method != LSC_SECTION_RAW || s[i].size != 8 + ((size_t)h->v.rows + 7) / 8))
            return BAD("blob '%s': the mirror section must be raw, 8 + %u bytes", label, (h->v.rows + 7) / 8);
        s[i].data = (uint8_t *)p + at;
        at += s[i].size;
    }
    if (at != size)
        return BAD("blob '%s': %zu bytes, its header and sections describe %llu", label, size,
                   (unsigned long long)at);
    return LSC_OK;
}

/* Inserts the zero-point section after the values of a blob written without it
 * (docs/format.md 1.3: no header field records where sections start) and sets
 * ZERO_POINTS; the checksum is renewed. */
static lsc_status add_zero_points(const entropy_header *h, const uint8_t *zero_points, void **blob,
                                  size_t *size, const char *label, lsc_error *error)
{
    size_t rows = h->v.rows, at = LSC_BLOB_FIXED_HEADER + 8u * (size_t)h->v.rank + (size_t)h->v.nnz;
    uint8_t *old = *blob, *p = malloc(*size + rows);
    if (!p)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for %zu zero points", label, rows);
    memcpy(p, old, at);
    memcpy(p + at, zero_points, rows);
    memcpy(p + at + rows, old + at, *size - at);
    p[7] |= LSC_BLOB_FLAG_ZERO_POINTS;
    lsc_store_le64(p + 8, lsc_blob_checksum(p, *size + rows));
    free(old);
    *blob = p;
    *size += rows;
    return LSC_OK;
}

/* zero_points: an 8-bit weight's (rows bytes) with ZERO_POINTS, else NULL. */
static lsc_status rebuild(const entropy_header *h, const lsc_sparse *m, const uint8_t *values,
                          const uint8_t *zero_points, const char *label, void **out, size_t *out_size,
                          lsc_error *error)
{
    lsc_tensor t = {h->v.dtype, h->v.rank, {0}, values};
    memcpy(t.dims, h->v.dims, sizeof t.dims);
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = (h->v.flags & LSC_BLOB_FLAG_TRANSPOSED) != 0;
    o.bit_exact = (h->v.flags & LSC_BLOB_FLAG_SIGNED_ZEROS) != 0;
    o.typed_field = (h->v.flags & LSC_BLOB_FLAG_TYPED_FIELD) != 0;
    o.index_bits = h->v.index_bits;
    o.block_h = h->v.block_h;
    o.block_w = h->v.block_w;
    lsc_error inner;
    lsc_status st = lsc_encode_sparse(&t, &o, m, out, out_size, &inner);
    if (st != LSC_OK)
        return lsc_fail(error, st == LSC_ERR_NO_MEMORY ? st : LSC_ERR_BAD_BUNDLE, "blob '%s': %s", label,
                        inner.message);
    if (zero_points && (st = add_zero_points(h, zero_points, out, out_size, label, error)) != LSC_OK) {
        free(*out);
        *out = NULL;
        return st;
    }
    if (*out_size != h->lsc_size || lsc_load_le64((const uint8_t *)*out + 8) != h->lsc_checksum) {
        uint64_t got = lsc_load_le64((const uint8_t *)*out + 8);
        free(*out);
        *out = NULL;
        return lsc_fail(error, LSC_ERR_CHECKSUM,
                        "blob '%s': decodes to %zu bytes hashing to %016llx, recorded %llu bytes %016llx", label,
                        *out_size, (unsigned long long)got, (unsigned long long)h->lsc_size,
                        (unsigned long long)h->lsc_checksum);
    }
    return LSC_OK;
}

/* Whole values (4.5): zstd frames giving exactly n values' magnitudes (sign bits
 * clear), then their signs, one bit each, from the raw section 2. */
static lsc_status decode_whole(const section *s, uint8_t *values, uint64_t n, unsigned elem_size, const char *label,
                               lsc_error *error)
{
    uint64_t bytes = n * elem_size;
    if (s[2].size != (n + 7) / 8 || (n % 8 && s[2].data[n / 8] >> (n % 8)))
        return BAD("blob '%s': whole values: %zu bytes of signs for %llu values (or padding bits set)", label,
                   s[2].size, (unsigned long long)n);
    size_t got = ZSTD_decompress(values, (size_t)bytes, s[1].data, s[1].size);
    if (ZSTD_isError(got))
        return BAD("blob '%s': whole values: zstd: %s", label, ZSTD_getErrorName(got));
    if (got != bytes)
        return BAD("blob '%s': whole values: zstd gave %zu bytes for %llu", label, got, (unsigned long long)bytes);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *top = values + i * elem_size + elem_size - 1;
        if (*top & 0x80)
            return BAD("blob '%s': whole values: magnitude %llu has its sign bit set", label, (unsigned long long)i);
        *top |= (uint8_t)(((s[2].data[i / 8] >> (i % 8)) & 1) << 7);
    }
    return LSC_OK;
}

lsc_status lsc_entropy_decode_blob(const void *blob, size_t size, const char *name, void **out,
                                   size_t *out_size, lsc_error *error)
{
    const char *label = name ? name : "";
    const uint8_t *p = blob;
    *out = NULL;
    *out_size = 0;
    entropy_header h;
    LSC_TRY(read_header(p, size, label, &h, error));
    section s[MAX_SECTIONS];
    LSC_TRY(read_sections(p, size, &h, label, s, error));
    LSC_TRY(lsc_blob_check_checksum(p, size, "blob", label, error));

    /* with mirrored rows (4.7) the sections code the left half, expanded below */
    const section *mir = h.mirror ? &s[1 + h.v.elem_size] : NULL;
    uint64_t n = mir ? lsc_load_le64(mir->data) : h.v.nnz;
    uint32_t cols = mir ? lsc_mirror_free_cols(h.v.cols, h.mirror) : h.v.cols;
    if (mir) {
        uint32_t pad = h.v.rows % 8 ? mir->data[8 + h.v.rows / 8] >> (h.v.rows % 8) : 0;
        if (n > h.v.nnz || n > (uint64_t)h.v.rows * cols || pad)
            return BAD("blob '%s': mirror section: %llu values of the half (of %llu), padding bits %u", label,
                       (unsigned long long)n, (unsigned long long)h.v.nnz, pad);
    }
    lsc_sparse m = {h.v.rows, cols, n, 0, NULL, NULL, NULL};
    LSC_TRY(lsc_entropy_decode_positions(s[0].data, s[0].size, lsc_entropy_position_model(h.version, s[0].method),
                                         &m, label, error));
    uint8_t *planes = malloc(n ? (size_t)(n * h.v.elem_size) : 1);
    uint8_t *values = malloc(n ? (size_t)(n * h.v.elem_size) : 1);
    uint8_t *zero_points = has_zero_points(&h.v) ? malloc(h.v.rows) : NULL;
    lsc_status st = planes && values && (zero_points || !has_zero_points(&h.v))
                        ? LSC_OK
                        : lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for %llu values", label,
                                   (unsigned long long)n);
    int whole = s[1].method == LSC_SECTION_WHOLE;
    if (st == LSC_OK && whole)
        st = decode_whole(s, values, n, h.v.elem_size, label, error);
    for (unsigned j = 0; st == LSC_OK && !whole && j < h.v.elem_size; j++)
        st = lsc_entropy_decode_plane(s[1 + j].data, s[1 + j].size, s[1 + j].method, h.version, planes, n, j,
                                      label, error);
    const section *z = &s[1 + h.v.elem_size];
    if (st == LSC_OK && zero_points)
        st = lsc_entropy_decode_plane(z->data, z->size, z->method, h.version, zero_points, h.v.rows, 0, label,
                                      error);
    if (st == LSC_OK && !whole)
        lsc_entropy_join_planes(planes, n, h.v.elem_size, values);
    if (st == LSC_OK && mir) {
        lsc_sparse full;
        uint8_t *full_values = NULL;
        st = lsc_mirror_expand(&m, values, h.v.elem_size, h.mirror, h.v.cols, mir->data + 8, h.v.nnz, &full,
                               &full_values, label, error);
        if (st == LSC_OK) {
            lsc_sparse_free(&m);
            free(values);
            m = full;
            values = full_values;
        }
    }
    if (st == LSC_OK)
        st = rebuild(&h, &m, values, zero_points, label, out, out_size, error);
    free(planes);
    free(values);
    free(zero_points);
    lsc_sparse_free(&m);
    return st;
}

lsc_status lsc_entropy_encode(const void *blob, size_t blob_size, void **out, size_t *out_size,
                              lsc_error *error)
{
    if (!blob || !out || !out_size)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_entropy_encode: NULL blob or output");
    return lsc_entropy_encode_blob(blob, blob_size, NULL, out, out_size, NULL, error);
}

lsc_status lsc_entropy_encode_stats(const void *blob, size_t blob_size, void **out, size_t *out_size,
                                    lsc_entropy_stats *stats, lsc_error *error)
{
    if (!blob || (out && !out_size))
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_entropy_encode_stats: NULL blob or size");
    void *coded = NULL;
    size_t coded_size = 0;
    LSC_TRY(lsc_entropy_encode_blob(blob, blob_size, NULL, &coded, &coded_size, stats, error));
    if (out) {
        *out = coded;
        *out_size = coded_size;
    } else {
        free(coded);
    }
    return LSC_OK;
}
