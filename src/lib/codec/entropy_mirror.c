/* Mirrored rows (docs/format.md 4.7): a matrix whose every row is its own mirror
 * image, up to one sign per row (the short-time Fourier bases of spectrogram front
 * ends, linear-phase filters), is coded as its left half; the right half comes back
 * from it. Column j's partner is off - j, off = cols (kind 1, DFT-like: column 0
 * has none) or cols - 1 (kind 2, DCT-like); the free columns are 0..off/2. */
#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "common/error.h"

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

uint32_t lsc_mirror_free_cols(uint32_t cols, unsigned kind)
{
    uint32_t off = kind == LSC_MIRROR_DFT ? cols : cols - 1;
    return off / 2 + 1;
}

/* The value of element size E with its sign bit (the top bit of its last byte,
 * little-endian) flipped when `flip`. */
static void put_value(uint8_t *dst, const uint8_t *src, unsigned E, int flip)
{
    memcpy(dst, src, E);
    if (flip)
        dst[E - 1] ^= 0x80;
}

static int same_value(const uint8_t *a, const uint8_t *b, unsigned E, int flip)
{
    uint8_t t[8];
    put_value(t, b, E, flip);
    return memcmp(a, t, E) == 0;
}

/* 1 if row r of m mirrors with this kind; *anti: its sign (1: x[off-j] = -x[j]). */
static int row_mirrors(const lsc_sparse *m, const uint8_t *values, unsigned E, unsigned kind, uint32_t r, int *anti)
{
    uint32_t off = kind == LSC_MIRROR_DFT ? m->cols : m->cols - 1, half = off / 2;
    uint64_t a = m->row_ptr[r], b = m->row_ptr[r + 1], split = a;
    while (split < b && m->col[split] <= half)
        split++;
    /* left entries that have a partner on the right, from the largest column down,
     * meet the right entries in increasing order */
    uint64_t right = split;
    int sign = -1;
    for (uint64_t i = split; i-- > a;) {
        uint32_t j = m->col[i];
        if (off - j == j) { /* its own partner: only a symmetric row may hold it */
            if (sign == 1)
                return 0;
            sign = 0;
            continue;
        }
        if (off - j > m->cols - 1)
            continue; /* no partner (kind 1, column 0) */
        if (right == b || m->col[right] != off - j)
            return 0;
        const uint8_t *x = values + i * E, *y = values + right * E;
        if (sign < 0)
            sign = same_value(y, x, E, 0) ? 0 : same_value(y, x, E, 1) ? 1 : -2;
        if (sign < 0 || !same_value(y, x, E, sign))
            return 0;
        right++;
    }
    *anti = sign == 1;
    return right == b;
}

int lsc_mirror_find(const lsc_sparse *m, const uint8_t *values, unsigned E, uint8_t *signs)
{
    if (m->cols < 3 || m->nnz == 0)
        return 0;
    for (unsigned kind = LSC_MIRROR_DFT; kind <= LSC_MIRROR_DCT; kind++) {
        memset(signs, 0, (m->rows + 7) / 8);
        uint32_t r = 0;
        for (int anti = 0; r < m->rows && row_mirrors(m, values, E, kind, r, &anti); r++)
            signs[r / 8] |= (uint8_t)(anti << (r % 8));
        if (r == m->rows)
            return (int)kind;
    }
    return 0;
}

lsc_status lsc_mirror_half(const lsc_sparse *m, const uint8_t *values, unsigned E, unsigned kind,
                           lsc_sparse *half, uint8_t **half_values, lsc_error *error)
{
    uint32_t h = lsc_mirror_free_cols(m->cols, kind);
    memset(half, 0, sizeof *half);
    half->rows = m->rows;
    half->cols = h;
    half->row_ptr = calloc((size_t)m->rows + 1, sizeof(uint64_t));
    half->col = malloc(m->nnz ? (size_t)m->nnz * sizeof(uint32_t) : 1);
    *half_values = malloc(m->nnz ? (size_t)(m->nnz * E) : 1);
    if (!half->row_ptr || !half->col || !*half_values) {
        lsc_sparse_free(half);
        free(*half_values);
        *half_values = NULL;
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a mirrored half");
    }
    uint64_t k = 0;
    for (uint32_t r = 0; r < m->rows; r++) {
        for (uint64_t i = m->row_ptr[r]; i < m->row_ptr[r + 1] && m->col[i] < h; i++, k++) {
            half->col[k] = m->col[i];
            memcpy(*half_values + k * E, values + i * E, E);
        }
        half->row_ptr[r + 1] = k;
    }
    half->nnz = k;
    return LSC_OK;
}

lsc_status lsc_mirror_expand(const lsc_sparse *half, const uint8_t *half_values, unsigned E, unsigned kind,
                             uint32_t cols, const uint8_t *signs, uint64_t nnz, lsc_sparse *m, uint8_t **values,
                             const char *label, lsc_error *error)
{
    uint32_t off = kind == LSC_MIRROR_DFT ? cols : cols - 1;
    /* first pass: the full count, checked against the header before allocating */
    uint64_t total = half->nnz;
    for (uint32_t r = 0; r < half->rows; r++) {
        int anti = (signs[r / 8] >> (r % 8)) & 1;
        for (uint64_t i = half->row_ptr[r]; i < half->row_ptr[r + 1]; i++) {
            uint32_t j = half->col[i];
            if (off - j == j && anti)
                return BAD("blob '%s': mirrored rows: row %u is antisymmetric and holds its middle column", label, r);
            total += off - j != j && off - j <= cols - 1;
        }
    }
    if (total != nnz)
        return BAD("blob '%s': mirrored rows give %llu values, the header says %llu", label,
                   (unsigned long long)total, (unsigned long long)nnz);
    memset(m, 0, sizeof *m);
    m->rows = half->rows;
    m->cols = cols;
    m->nnz = nnz;
    m->row_ptr = calloc((size_t)half->rows + 1, sizeof(uint64_t));
    m->col = malloc(nnz ? (size_t)nnz * sizeof(uint32_t) : 1);
    *values = malloc(nnz ? (size_t)(nnz * E) : 1);
    if (!m->row_ptr || !m->col || !*values) {
        lsc_sparse_free(m);
        free(*values);
        *values = NULL;
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for %llu values", label,
                        (unsigned long long)nnz);
    }
    uint64_t k = 0;
    for (uint32_t r = 0; r < half->rows; r++) {
        int anti = (signs[r / 8] >> (r % 8)) & 1;
        uint64_t a = half->row_ptr[r], b = half->row_ptr[r + 1];
        for (uint64_t i = a; i < b; i++, k++) {
            m->col[k] = half->col[i];
            memcpy(*values + k * E, half_values + i * E, E);
        }
        for (uint64_t i = b; i-- > a;) {
            uint32_t j = half->col[i];
            if (off - j == j || off - j > cols - 1)
                continue;
            m->col[k] = off - j;
            put_value(*values + k * E, half_values + i * E, E, anti);
            k++;
        }
        m->row_ptr[r + 1] = k;
    }
    return LSC_OK;
}
