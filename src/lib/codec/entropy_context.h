/* The context of a position decision (docs/format.md 4.4), shared by both format
 * versions and by the encoder and decoder: how dense the rest of the row must be
 * (R), how dense this column was in the rows above (C), and whether the element to
 * the left holds a value (L). Float arithmetic is IEEE binary32, rounded to nearest,
 * so every machine computes the same classes. */
#ifndef LSC_CODEC_ENTROPY_CONTEXT_H
#define LSC_CODEC_ENTROPY_CONTEXT_H

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define LSC_ROW_CLASSES 28
#define LSC_COL_CLASSES 17
#define LSC_ELEMENT_CONTEXTS (LSC_ROW_CLASSES * LSC_COL_CLASSES * 2)

/* Half-octave class of x in (0, 1]: exponent and top mantissa bit of the float. */
static inline unsigned lsc_half_octave(float x, unsigned top, unsigned classes)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    int e2 = (int)(u >> 22) - (int)(top - (classes - 1));
    return e2 < 0 ? 0 : (unsigned)e2;
}

static inline unsigned lsc_row_class(uint64_t k_left, uint64_t n_left)
{
    /* k_left < n_left: the ratio is below 1 (exponent 126 at most: class top 253). */
    return lsc_half_octave((float)k_left / (float)n_left, 253, LSC_ROW_CLASSES);
}

static inline unsigned lsc_col_class(uint32_t count, float inv_rows_above, uint32_t rows_above)
{
    if (rows_above == 0)
        return 0;
    if (count == 0)
        return rows_above < 4 ? 1 : 2;
    unsigned c = lsc_half_octave((float)count * inv_rows_above, 254, LSC_COL_CLASSES - 3);
    return 3 + (c > LSC_COL_CLASSES - 4 ? LSC_COL_CLASSES - 4 : c);
}

/* Format 2 computes R without a division per element: x = (float)k_left times the
 * binary32 reciprocal of n_left, a product that may round up to 1 (class capped). */
static inline unsigned lsc_row_class_fast(uint64_t k_left, float inv_n_left)
{
    unsigned c = lsc_half_octave((float)k_left * inv_n_left, 253, LSC_ROW_CLASSES);
    return c < LSC_ROW_CLASSES - 1 ? c : LSC_ROW_CLASSES - 1;
}

/* The same as a table on bits 22..30 of x (x in [0, 1]): row_part[bits] = R * 2 * C
 * classes, the row's part of the context, for the decoder's inner loop. */
static inline void lsc_row_part_table(uint16_t row_part[256])
{
    for (int e = 0; e < 256; e++) {
        int c = e - (253 - (LSC_ROW_CLASSES - 1));
        c = c < 0 ? 0 : c > LSC_ROW_CLASSES - 1 ? LSC_ROW_CLASSES - 1 : c;
        row_part[e] = (uint16_t)(c * 2 * LSC_COL_CLASSES);
    }
}

/* Per column, the part of the context that row `rows_above` gets from it: C * 2,
 * as lsc_col_class computes it. It runs once per column and row, as often as the
 * element decisions, so it goes four columns at a time where SSE2 is there. */
static inline void lsc_col_context_parts(const uint32_t *col_count, uint32_t cols, uint32_t rows_above,
                                         uint8_t *parts)
{
    if (rows_above == 0) {
        memset(parts, 0, cols);
        return;
    }
    float inv_rows = 1.0f / (float)rows_above;
    uint32_t c = 0;
#ifdef __SSE2__
    const __m128i base = _mm_set1_epi32(254 - (LSC_COL_CLASSES - 4)), zero = _mm_setzero_si128();
    const __m128i top = _mm_set1_epi32(LSC_COL_CLASSES - 4), empty = _mm_set1_epi32(rows_above < 4 ? 2 : 4);
    const __m128 inv = _mm_set1_ps(inv_rows), scale = _mm_set1_ps(256.0f);
    for (; c + 4 <= cols; c += 4) {
        __m128i n = _mm_loadu_si128((const __m128i *)(col_count + c));
        /* (float)n exactly as a scalar conversion: two exact parts, one rounding */
        __m128 x = _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(_mm_srli_epi32(n, 8)), scale),
                              _mm_cvtepi32_ps(_mm_and_si128(n, _mm_set1_epi32(255))));
        __m128i k = _mm_sub_epi32(_mm_srai_epi32(_mm_castps_si128(_mm_mul_ps(x, inv)), 22), base);
        k = _mm_andnot_si128(_mm_cmplt_epi32(k, zero), k);
        __m128i over = _mm_cmpgt_epi32(k, top);
        k = _mm_or_si128(_mm_and_si128(over, top), _mm_andnot_si128(over, k));
        __m128i part = _mm_slli_epi32(_mm_add_epi32(k, _mm_set1_epi32(3)), 1);
        __m128i none = _mm_cmpeq_epi32(n, zero);
        part = _mm_or_si128(_mm_and_si128(none, empty), _mm_andnot_si128(none, part));
        part = _mm_packus_epi16(_mm_packs_epi32(part, zero), zero);
        uint32_t four = (uint32_t)_mm_cvtsi128_si32(part);
        memcpy(parts + c, &four, 4);
    }
#endif
    for (; c < cols; c++)
        parts[c] = (uint8_t)(2 * lsc_col_class(col_count[c], inv_rows, rows_above));
}

static inline unsigned lsc_element_context(uint64_t k_left, uint64_t n_left, uint32_t col_count,
                                           float inv_rows_above, uint32_t rows_above, unsigned left)
{
    return (lsc_row_class(k_left, n_left) * LSC_COL_CLASSES + lsc_col_class(col_count, inv_rows_above, rows_above)) *
               2 + left;
}

#endif /* LSC_CODEC_ENTROPY_CONTEXT_H */
