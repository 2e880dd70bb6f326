/* The position model of the entropy tier (docs/format.md 4.4). Row by row: the row's
 * count of stored values, then one binary decision per element ("stored here?")
 * under a context of (how dense the rest of the row must be, how dense this column
 * was in the rows above, whether the element to the left is stored), until the rest
 * of the row is forced (no value left, or every element left is a value). The
 * encoder and the decoder run the same walk; only the coder call differs. */
#include <stdlib.h>
#include <string.h>

#include "codec/entropy.h"
#include "codec/rangecoder.h"
#include "common/checked.h"
#include "common/error.h"

#define ROW_CLASSES 28
#define COL_CLASSES 17
#define COUNT_BITS 33 /* bits(count) is 0..32 */

typedef struct position_model {
    lsc_rc_bit element[ROW_CLASSES * COL_CLASSES * 2];
    lsc_rc_bit count_unary[COUNT_BITS][COUNT_BITS];
    lsc_rc_bit count_low[COUNT_BITS][4];
    uint32_t *col_count; /* per column: values in the rows above */
    unsigned prev_count_bits;
    unsigned max_count_bits; /* bits(cols) */
} position_model;

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Half-octave class of x in (0, 1]: exponent and top mantissa bit of the float. The
 * division is IEEE-rounded, so encoder and decoder agree on every machine. */
static unsigned half_octave(float x, unsigned top, unsigned classes)
{
    int e2 = (int)(float_bits(x) >> 22) - (int)(top - (classes - 1));
    return e2 < 0 ? 0 : (unsigned)e2;
}

static unsigned row_class(uint64_t k_left, uint64_t n_left)
{
    /* k_left < n_left: the ratio is below 1 (exponent 126 at most: class top 253). */
    return half_octave((float)k_left / (float)n_left, 253, ROW_CLASSES);
}

static unsigned col_class(uint32_t count, float inv_rows_above, uint32_t rows_above)
{
    if (rows_above == 0)
        return 0;
    if (count == 0)
        return rows_above < 4 ? 1 : 2;
    unsigned c = half_octave((float)count * inv_rows_above, 254, COL_CLASSES - 3);
    return 3 + (c > COL_CLASSES - 4 ? COL_CLASSES - 4 : c);
}

static lsc_status model_init(position_model *pm, uint32_t cols, lsc_error *error)
{
    lsc_rc_bits_init(pm->element, sizeof pm->element / sizeof pm->element[0]);
    lsc_rc_bits_init(&pm->count_unary[0][0], COUNT_BITS * COUNT_BITS);
    lsc_rc_bits_init(&pm->count_low[0][0], COUNT_BITS * 4);
    pm->prev_count_bits = 0;
    pm->max_count_bits = lsc_bits_u64(cols);
    pm->col_count = calloc(cols, sizeof(uint32_t));
    if (!pm->col_count)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the column counts of %u columns", cols);
    return LSC_OK;
}

/* ---- encoder ---- */

static void encode_count(lsc_rc_encoder *e, position_model *pm, uint64_t k)
{
    unsigned b = lsc_bits_u64(k);
    lsc_rc_bit *unary = pm->count_unary[pm->prev_count_bits];
    for (unsigned i = 0; i < pm->max_count_bits; i++) {
        lsc_rc_encode(e, &unary[i], i < b);
        if (i >= b)
            break;
    }
    if (b >= 2) {
        unsigned low = b - 1, node = 1;
        for (unsigned i = 0; i < 2 && i < low; i++) {
            unsigned bit = (unsigned)(k >> (low - 1 - i)) & 1;
            lsc_rc_encode(e, &pm->count_low[b][node], bit);
            node = node * 2 + bit;
        }
        if (low > 2)
            lsc_rc_encode_direct(e, (uint32_t)(k & ((UINT64_C(1) << (low - 2)) - 1)), low - 2);
    }
    pm->prev_count_bits = b;
}

lsc_status lsc_entropy_encode_positions(const lsc_sparse *m, uint8_t **out, size_t *out_size,
                                        lsc_error *error)
{
    *out = NULL;
    *out_size = 0;
    position_model *pm = malloc(sizeof *pm);
    if (!pm)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the position model");
    lsc_status st = model_init(pm, m->cols, error);
    if (st != LSC_OK) {
        free(pm);
        return st;
    }
    lsc_rc_encoder e;
    lsc_rc_encoder_init(&e);
    for (uint32_t r = 0; r < m->rows; r++) {
        const uint32_t *col = m->col + m->row_ptr[r];
        uint64_t k = m->row_ptr[r + 1] - m->row_ptr[r], k_left = k, n_left = m->cols;
        encode_count(&e, pm, k);
        float inv_rows = r ? 1.0f / (float)r : 0.0f;
        unsigned left = 0;
        uint32_t c = 0;
        for (; k_left && k_left < n_left; c++, n_left--) {
            unsigned bit = *col == c;
            unsigned ctx = (row_class(k_left, n_left) * COL_CLASSES +
                            col_class(pm->col_count[c], inv_rows, r)) * 2 + left;
            lsc_rc_encode(&e, &pm->element[ctx], bit);
            if (bit) {
                pm->col_count[c]++;
                col++;
                k_left--;
            }
            left = bit;
        }
        for (; k_left; c++, k_left--) /* the rest of the row is all values */
            pm->col_count[c]++;
    }
    lsc_rc_encoder_finish(&e);
    free(pm->col_count);
    free(pm);
    if (e.failed) {
        free(e.buf);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory coding positions");
    }
    *out = e.buf;
    *out_size = e.size;
    return LSC_OK;
}

/* ---- decoder ---- */

static uint64_t decode_count(lsc_rc_decoder *d, position_model *pm)
{
    lsc_rc_bit *unary = pm->count_unary[pm->prev_count_bits];
    unsigned b = 0;
    while (b < pm->max_count_bits && lsc_rc_decode(d, &unary[b]))
        b++;
    uint64_t k = b ? 1 : 0;
    if (b >= 2) {
        unsigned low = b - 1, node = 1;
        for (unsigned i = 0; i < 2 && i < low; i++) {
            unsigned bit = lsc_rc_decode(d, &pm->count_low[b][node]);
            node = node * 2 + bit;
            k = k * 2 + bit;
        }
        if (low > 2)
            k = (k << (low - 2)) | lsc_rc_decode_direct(d, low - 2);
    }
    pm->prev_count_bits = b;
    return k;
}

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

/* Grows the column array as values are decoded, so memory follows the work done
 * (which the stream's size bounds), not the counts a damaged header claims. */
static int reserve_cols(lsc_sparse *m, uint64_t need, uint64_t *cap)
{
    if (need <= *cap)
        return 0;
    uint64_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    if (n > m->nnz)
        n = m->nnz ? m->nnz : 1;
    uint32_t *p = n <= SIZE_MAX / sizeof(uint32_t) ? realloc(m->col, (size_t)n * sizeof(uint32_t)) : NULL;
    if (!p)
        return -1;
    m->col = p;
    *cap = n;
    return 0;
}

static lsc_status decode_rows(lsc_rc_decoder *d, position_model *pm, lsc_sparse *m, const char *label,
                              lsc_error *error)
{
    uint64_t filled = 0, cap = 0;
    m->row_ptr[0] = 0;
    if (reserve_cols(m, 1, &cap)) /* never NULL below, even with no values */
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for positions", label);
    for (uint32_t r = 0; r < m->rows; r++) {
        uint64_t k = decode_count(d, pm), k_left = k, n_left = m->cols;
        if (d->overrun)
            return BAD("blob '%s': position stream ends inside row %u", label, r);
        if (k > m->cols || k > m->nnz - filled)
            return BAD("blob '%s': row %u holds %llu values: more than its %u columns or the %llu left",
                       label, r, (unsigned long long)k, m->cols, (unsigned long long)(m->nnz - filled));
        if (reserve_cols(m, filled + k, &cap))
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "blob '%s': out of memory for %llu positions", label,
                            (unsigned long long)(filled + k));
        uint32_t *col = m->col + filled;
        float inv_rows = r ? 1.0f / (float)r : 0.0f;
        unsigned left = 0;
        uint32_t c = 0;
        for (; k_left && k_left < n_left; c++, n_left--) {
            unsigned ctx = (row_class(k_left, n_left) * COL_CLASSES +
                            col_class(pm->col_count[c], inv_rows, r)) * 2 + left;
            left = lsc_rc_decode(d, &pm->element[ctx]);
            if (left) {
                pm->col_count[c]++;
                *col++ = c;
                k_left--;
            }
            if (d->overrun)
                return BAD("blob '%s': position stream ends inside row %u", label, r);
        }
        for (; k_left; c++, k_left--) {
            pm->col_count[c]++;
            *col++ = c;
        }
        filled += k;
        m->row_ptr[r + 1] = filled;
    }
    if (filled != m->nnz)
        return BAD("blob '%s': position stream holds %llu values, the header says %llu", label,
                   (unsigned long long)filled, (unsigned long long)m->nnz);
    if (!lsc_rc_decoder_done(d))
        return BAD("blob '%s': position stream has %zu bytes after its end", label, (size_t)(d->end - d->p));
    return LSC_OK;
}

lsc_status lsc_entropy_decode_positions(const uint8_t *stream, size_t size, lsc_sparse *m,
                                        const char *label, lsc_error *error)
{
    m->row_ptr = NULL;
    m->col = NULL;
    lsc_rc_decoder d;
    if (lsc_rc_decoder_init(&d, stream, size))
        return BAD("blob '%s': position stream of %zu bytes does not start a range-coded stream", label, size);
    position_model *pm = malloc(sizeof *pm);
    if (!pm)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the position model");
    lsc_status st = model_init(pm, m->cols, error);
    if (st == LSC_OK) {
        m->row_ptr = malloc(((size_t)m->rows + 1) * sizeof(uint64_t));
        st = m->row_ptr ? decode_rows(&d, pm, m, label, error)
                        : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for %u row pointers", m->rows);
    }
    free(pm->col_count);
    free(pm);
    if (st != LSC_OK)
        lsc_sparse_free(m);
    return st;
}
