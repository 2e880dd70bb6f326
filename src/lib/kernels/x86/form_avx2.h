/* The batch-1 form's multiply (form.h) with AVX2: a group of gaps is unpacked in
 * one step, with no branch on the data (groups of 8 in 32-bit lanes, or of 16 in
 * 16-bit lanes for widths up to 9, the common case). Two 16-byte loads fill the two
 * halves (the second from the byte holding the first bit of the high half's first
 * lane), a byte shuffle brings each lane's bytes into it, a shift (32-bit: a
 * variable shift and a mask; 16-bit: a multiply moving the field to the top, then
 * a shift by 16 - w) leaves its gap; gap + 1 summed in prefix over the lanes and
 * added to the previous column gives the columns. The group's total (off the
 * chain) moves the base: the only chain between groups is one vector add and the
 * data pointer's add. The columns of up to LSC_FORM_AHEAD groups are decoded into
 * a buffer before their products, and x is read by scalar loads eight at a time
 * (faster than vgatherdps on Zen 3). Included by the x86 variants, which define
 * LSC_FORM_ROWS_NAME. */
#include <immintrin.h>
#include <math.h>

#include "codec/blob.h"
#include "kernels/form.h"

typedef struct lsc_form_lut {
    int8_t shuf[32];  /* lane i: bytes (i * w) / 8 .. + 3 of its half's load */
    int32_t shift[8]; /* (i * w) mod 8 */
    int32_t mask[8];  /* 2^w - 1 */
    uint32_t hi;      /* the high half's load: (4 * w) / 8 bytes in */
    uint32_t pad[7];
} lsc_form_lut;

#define LSC_FB(w, i, k) (int8_t)((((i) * (w)) >> 3) - ((i) / 4) * ((4 * (w)) >> 3) + (k))
#define LSC_FL(w, i) LSC_FB(w, i, 0), LSC_FB(w, i, 1), LSC_FB(w, i, 2), LSC_FB(w, i, 3)
#define LSC_FM(w) (int32_t)((UINT32_C(1) << (w)) - 1)
#define LSC_FROW(w)                                                                        \
    { { LSC_FL(w, 0), LSC_FL(w, 1), LSC_FL(w, 2), LSC_FL(w, 3),                            \
        LSC_FL(w, 4), LSC_FL(w, 5), LSC_FL(w, 6), LSC_FL(w, 7) },                          \
      { 0, (w) & 7, (2 * (w)) & 7, (3 * (w)) & 7, (4 * (w)) & 7, (5 * (w)) & 7,            \
        (6 * (w)) & 7, (7 * (w)) & 7 },                                                    \
      { LSC_FM(w), LSC_FM(w), LSC_FM(w), LSC_FM(w), LSC_FM(w), LSC_FM(w), LSC_FM(w),       \
        LSC_FM(w) },                                                                       \
      (4 * (w)) >> 3, { 0 } }

static const lsc_form_lut lsc_form_luts[LSC_FORM_WIDTH8_MAX + 1] __attribute__((aligned(32))) = {
    LSC_FROW(0),  LSC_FROW(1),  LSC_FROW(2),  LSC_FROW(3),  LSC_FROW(4),  LSC_FROW(5),
    LSC_FROW(6),  LSC_FROW(7),  LSC_FROW(8),  LSC_FROW(9),  LSC_FROW(10), LSC_FROW(11),
    LSC_FROW(12), LSC_FROW(13), LSC_FROW(14), LSC_FROW(15), LSC_FROW(16), LSC_FROW(17),
    LSC_FROW(18), LSC_FROW(19), LSC_FROW(20), LSC_FROW(21), LSC_FROW(22), LSC_FROW(23),
    LSC_FROW(24),
};
#undef LSC_FROW
#undef LSC_FM
#undef LSC_FL
#undef LSC_FB

/* The columns of the group of 8 at data (width w), *base holding the previous
 * column in every lane; moves *base to the group's last column. */
static inline __attribute__((always_inline)) __m256i form_group8(const uint8_t *data, unsigned w,
                                                                 __m256i *base)
{
    const lsc_form_lut *t = &lsc_form_luts[w];
    __m256i g = _mm256_loadu2_m128i((const __m128i *)(const void *)(data + t->hi),
                                    (const __m128i *)(const void *)data);
    g = _mm256_shuffle_epi8(g, _mm256_load_si256((const __m256i *)(const void *)t->shuf));
    g = _mm256_srlv_epi32(g, _mm256_load_si256((const __m256i *)(const void *)t->shift));
    g = _mm256_and_si256(g, _mm256_load_si256((const __m256i *)(const void *)t->mask));
    g = _mm256_add_epi32(g, _mm256_set1_epi32(1));
    g = _mm256_add_epi32(g, _mm256_slli_si256(g, 4));
    g = _mm256_add_epi32(g, _mm256_slli_si256(g, 8));
    __m256i low3 = _mm256_shuffle_epi32(g, 0xff);
    g = _mm256_add_epi32(g, _mm256_permute2x128_si256(low3, low3, 0x08)); /* low half's total up */
    __m256i cols = _mm256_add_epi32(*base, g);
    *base = _mm256_add_epi32(*base, _mm256_permutevar8x32_epi32(g, _mm256_set1_epi32(7)));
    return cols;
}

/* Groups of 16, 16-bit lanes: per width w <= 9 each lane's two bytes (the high
 * half's load starts w bytes in: 8 lanes of w bits), the multiplier 2^(16 - w - s)
 * that moves a field starting at bit s to the top of its lane, and 16 - w. */
typedef struct lsc_form_lut16 {
    int8_t shuf[32];
    int16_t mul[16];
    int64_t shift[2];
    int64_t pad[2];
} lsc_form_lut16;

#define LSC_FORM_FAST16 9
#define LSC_FB(w, j, k) (int8_t)((((j) * (w)) >> 3) + (k))
#define LSC_FL(w, j) LSC_FB(w, j, 0), LSC_FB(w, j, 1)
#define LSC_FH(w) LSC_FL(w, 0), LSC_FL(w, 1), LSC_FL(w, 2), LSC_FL(w, 3), LSC_FL(w, 4), \
                  LSC_FL(w, 5), LSC_FL(w, 6), LSC_FL(w, 7)
#define LSC_FM(w, j) (int16_t)((w) ? 1 << (16 - (w) - (((j) * (w)) & 7)) : 0)
#define LSC_FMH(w) LSC_FM(w, 0), LSC_FM(w, 1), LSC_FM(w, 2), LSC_FM(w, 3), LSC_FM(w, 4), \
                   LSC_FM(w, 5), LSC_FM(w, 6), LSC_FM(w, 7)
#define LSC_FROW(w)                                                                        \
    { { LSC_FH(w), LSC_FH(w) }, { LSC_FMH(w), LSC_FMH(w) }, { 16 - (w), 0 }, { 0, 0 } }

static const lsc_form_lut16 lsc_form_luts16[LSC_FORM_FAST16 + 1] __attribute__((aligned(32))) = {
    LSC_FROW(0), LSC_FROW(1), LSC_FROW(2), LSC_FROW(3), LSC_FROW(4),
    LSC_FROW(5), LSC_FROW(6), LSC_FROW(7), LSC_FROW(8), LSC_FROW(9),
};
#undef LSC_FROW
#undef LSC_FMH
#undef LSC_FM
#undef LSC_FH
#undef LSC_FL
#undef LSC_FB

/* The columns (mod 2^16) of the group of 16 at data (width w), *base holding the
 * previous column in every 16-bit lane; moves *base to the group's last column. */
static inline __attribute__((always_inline)) __m256i form_group16(const uint8_t *data, unsigned w,
                                                                  __m256i *base)
{
    __m256i g;
    if (__builtin_expect(w <= LSC_FORM_FAST16, 1)) {
        const lsc_form_lut16 *t = &lsc_form_luts16[w];
        g = _mm256_loadu2_m128i((const __m128i *)(const void *)(data + w),
                                (const __m128i *)(const void *)data);
        g = _mm256_shuffle_epi8(g, _mm256_load_si256((const __m256i *)(const void *)t->shuf));
        g = _mm256_mullo_epi16(g, _mm256_load_si256((const __m256i *)(const void *)t->mul));
        g = _mm256_srl_epi16(g, _mm_load_si128((const __m128i *)(const void *)t->shift));
    } else { /* wide gaps (rare below ~1% density): one at a time */
        uint16_t gaps[16];
        for (unsigned i = 0; i < 16; i++)
            gaps[i] = (uint16_t)lsc_read_bits(data, (uint64_t)i * w, w);
        g = _mm256_loadu_si256((const __m256i *)(const void *)gaps);
    }
    const __m256i last = _mm256_set1_epi16(0x0f0e); /* each half's lane 7, everywhere */
    g = _mm256_add_epi16(g, _mm256_set1_epi16(1));
    g = _mm256_add_epi16(g, _mm256_slli_si256(g, 2));
    g = _mm256_add_epi16(g, _mm256_slli_si256(g, 4));
    g = _mm256_add_epi16(g, _mm256_slli_si256(g, 8));
    __m256i t = _mm256_shuffle_epi8(g, last);
    g = _mm256_add_epi16(g, _mm256_permute2x128_si256(t, t, 0x08)); /* low half's total up */
    __m256i cols = _mm256_add_epi16(*base, g);
    t = _mm256_shuffle_epi8(g, last);
    *base = _mm256_add_epi16(*base, _mm256_permute2x128_si256(t, t, 0x11));
    return cols;
}

/* Decoding runs ahead of the products by up to this many groups: one group's
 * decode, loads of x and FMA make a chain of ~50 cycles, so fused in one loop the
 * out-of-order window holds only ~4 groups and the loop runs at the chain's pace;
 * split, each loop runs at its throughput (~10% faster in cache). */
#define LSC_FORM_AHEAD 32

/* Sum of v[i] * x[cols[i] * xs] over [0, cnt): eight values a vector (two sums),
 * the last cnt % 8 on a scalar sum. */
#define LSC_FORM_PRODUCTS(NAME, IDX)                                                       \
    static inline __attribute__((always_inline)) void NAME(                                \
        const float *restrict x, size_t xs, const IDX *restrict cols,                      \
        const float *restrict v, uint32_t cnt, __m256 *a0, __m256 *a1, float *tail)        \
    {                                                                                      \
        uint32_t i = 0;                                                                    \
        for (; i + 16 <= cnt; i += 16) {                                                   \
            *a0 = _mm256_fmadd_ps(LSC_X8(0), _mm256_loadu_ps(v + i), *a0);                 \
            *a1 = _mm256_fmadd_ps(LSC_X8(8), _mm256_loadu_ps(v + i + 8), *a1);            \
        }                                                                                  \
        if (i + 8 <= cnt) {                                                                \
            *a0 = _mm256_fmadd_ps(LSC_X8(0), _mm256_loadu_ps(v + i), *a0);                 \
            i += 8;                                                                        \
        }                                                                                  \
        for (; i < cnt; i++)                                                               \
            *tail = fmaf(v[i], LSC_FX(0), *tail);                                          \
    }
#define LSC_FX(k) x[(size_t)cols[i + (k)] * xs]
#define LSC_X8(k) _mm256_setr_ps(LSC_FX(k), LSC_FX(k + 1), LSC_FX(k + 2), LSC_FX(k + 3), \
                                 LSC_FX(k + 4), LSC_FX(k + 5), LSC_FX(k + 6), LSC_FX(k + 7))
LSC_FORM_PRODUCTS(form_products32, uint32_t)
LSC_FORM_PRODUCTS(form_products16, uint16_t)
#undef LSC_X8
#undef LSC_FX
#undef LSC_FORM_PRODUCTS

static inline __attribute__((always_inline)) const uint8_t *
form_dot_xs(const float *restrict x, size_t xs, unsigned G, const uint8_t *p, const lsc_n1_seg *s,
            const float *restrict vals, float *sum)
{
    /* 32-bit columns for groups of 8, 16-bit ones for groups of 16 */
    uint32_t cols[LSC_FORM_AHEAD * 8] __attribute__((aligned(32)));
    const uint64_t groups = lsc_form_groups(s->count, G);
    const uint8_t *data = p + groups;
    __m256i base = G == 16 ? _mm256_set1_epi16((int16_t)(s->col0 - 1))
                           : _mm256_set1_epi32((int)(s->col0 - 1));
    if (s->count <= G) { /* one group (narrow blocks): no vector sums to reduce */
        _mm256_store_si256((__m256i *)(void *)cols, G == 16 ? form_group16(data, p[0], &base)
                                                            : form_group8(data, p[0], &base));
        const uint16_t *c16 = (const uint16_t *)(const void *)cols;
#define LSC_FX1(i) x[(size_t)(G == 16 ? c16[i] : cols[i]) * xs]
        float t0 = 0.0f, t1 = 0.0f;
        uint32_t i = 0;
        for (; i + 2 <= s->count; i += 2) {
            t0 = fmaf(vals[i], LSC_FX1(i), t0);
            t1 = fmaf(vals[i + 1], LSC_FX1(i + 1), t1);
        }
        if (i < s->count)
            t0 = fmaf(vals[i], LSC_FX1(i), t0);
#undef LSC_FX1
        *sum = t0 + t1;
        return data + G / 8 * p[0];
    }
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    float tail = 0.0f;
    const uint32_t ahead = G == 16 ? LSC_FORM_AHEAD / 2 : LSC_FORM_AHEAD;
    for (uint64_t g0 = 0; g0 < groups; g0 += ahead) {
        uint32_t ng = groups - g0 < ahead ? (uint32_t)(groups - g0) : ahead;
        uint64_t done = g0 * G;
        uint32_t cnt = s->count - done < (uint64_t)ng * G ? (uint32_t)(s->count - done) : ng * G;
        if (G == 16) {
            for (uint32_t g = 0; g < ng; g++) {
                unsigned w = p[g0 + g];
                _mm256_store_si256((__m256i *)(void *)(cols + 8 * g), form_group16(data, w, &base));
                data += 2 * w;
            }
            form_products16(x, xs, (const uint16_t *)(const void *)cols, vals + done, cnt, &a0, &a1,
                            &tail);
        } else {
            for (uint32_t g = 0; g < ng; g++) {
                unsigned w = p[g0 + g];
                _mm256_store_si256((__m256i *)(void *)(cols + 8 * g), form_group8(data, w, &base));
                data += w;
            }
            form_products32(x, xs, cols, vals + done, cnt, &a0, &a1, &tail);
        }
    }
    a0 = _mm256_add_ps(a0, a1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    *sum = _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h))) + tail;
    return data;
}

static const uint8_t *form_dot(const float *restrict x, size_t xs, unsigned G, const uint8_t *p,
                               const lsc_n1_seg *s, const float *restrict vals, float *sum)
{
    if (xs == 1)
        return G == 16 ? form_dot_xs(x, 1, 16, p, s, vals, sum)
                       : form_dot_xs(x, 1, 8, p, s, vals, sum);
    return form_dot_xs(x, xs, G, p, s, vals, sum);
}

#include "kernels/form_rows.h"
