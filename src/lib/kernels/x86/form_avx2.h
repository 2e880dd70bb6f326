/* The batch-1 form's multiply (form.h) with AVX2: a group of gaps is unpacked in
 * one step, with no branch on the data (groups of 8 in 32-bit lanes, or of 16 in
 * 16-bit lanes for widths up to 9, the common case). Two 16-byte loads fill the two
 * halves (the second from the byte holding the first bit of the high half's first
 * lane), a byte shuffle brings each lane's bytes into it, a shift (32-bit: a
 * variable shift and a mask; 16-bit: a multiply moving the field to the top, then
 * a shift by 16 - w) leaves its gap; gap + 1 summed in prefix over the lanes and
 * added to the previous column gives the columns. The group's total (off the
 * chain) moves the base: the only chain between groups is one vector add and the
 * data pointer's add. Included by the x86 variants, which define
 * LSC_FORM_ROWS_NAME. */
#include <immintrin.h>
#include <string.h>

#include "codec/blob.h"
#include "kernels/form.h"
#include "kernels/form_start.h"
#include "kernels/spmm.h"

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

/* The multiply runs in chunks of up to LSC_FORM_CHUNK values in scan order, three
 * passes each, so that no pass has a chain or a branch per segment longer than a
 * few instructions: (1) the segments' headers and groups decoded into a buffer of
 * columns (a segment longer than the room left is cut at a group, its rest goes to
 * the next chunk); (2) every product v * x[col], eight a vector, x by scalar loads
 * (faster than vgatherdps on Zen 3 and Zen 4), the values read in place; (3) each piece's sum
 * (masked vector loads of its products) added to its row. Fused in one loop per
 * segment, a short segment (narrow blocks: ~1-10 values) paid ~50-80 cycles of
 * latency: header, decode, x loads, FMA, horizontal sum and a mispredicted tail. */
#define LSC_FORM_CHUNK 512
#define LSC_FORM_LONG 32 /* values a piece on average from which products are fused */

static const int32_t lsc_form_lanes[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };

/* The first n (0..8) lanes set. */
static inline __attribute__((always_inline)) __m256 form_mask(uint32_t n)
{
    return _mm256_castsi256_ps(
        _mm256_loadu_si256((const __m256i *)(const void *)(lsc_form_lanes + 8 - n)));
}

static inline __attribute__((always_inline)) float form_hsum(__m256 a)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

/* x at eight 16-bit columns c[0..7]: the columns read two at a time (one 32-bit
 * load, then a zero-extension and a shift), which balances the load ports (the x
 * loads) against the integer ALUs better than four a 64-bit load (three shifts and
 * four zero-extensions) or one load each */
static inline __attribute__((always_inline)) __m256 form_x8_16(const float *restrict x, size_t xs,
                                                               const uint16_t *c)
{
    uint32_t a, b, d, e;
    memcpy(&a, c, 4);
    memcpy(&b, c + 2, 4);
    memcpy(&d, c + 4, 4);
    memcpy(&e, c + 6, 4);
#define LSC_XL(q) x[(size_t)((q) & 0xffff) * xs]
#define LSC_XH(q) x[(size_t)((q) >> 16) * xs]
    return _mm256_setr_ps(LSC_XL(a), LSC_XH(a), LSC_XL(b), LSC_XH(b), LSC_XL(d), LSC_XH(d),
                          LSC_XL(e), LSC_XH(e));
#undef LSC_XH
#undef LSC_XL
}

static inline __attribute__((always_inline)) __m256 form_x8_32(const float *restrict x, size_t xs,
                                                               const uint32_t *c)
{
#define LSC_XC(k) x[(size_t)c[k] * xs]
    return _mm256_setr_ps(LSC_XC(0), LSC_XC(1), LSC_XC(2), LSC_XC(3), LSC_XC(4), LSC_XC(5),
                          LSC_XC(6), LSC_XC(7));
#undef LSC_XC
}

/* The segment being decoded: its row, values not yet decoded, next width byte and
 * next packed group, and the previous column in every lane. */
typedef struct lsc_form_cur {
    uint32_t row, left;
    const uint8_t *wp, *dp;
    __m256i base;
} lsc_form_cur;

static inline __attribute__((always_inline)) void
form_rows_xs(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end, size_t xs, unsigned G)
{
    const lsc_blob_view *v = job->v;
    const float *restrict x = job->x;
    const uint32_t bh = v->block_h;
    lsc_form_start st = lsc_form_begin(job, br_begin, br_end);
    const uint64_t r_first = st.r_first, r_stop = st.r_stop, r_lo = st.r_lo, r_hi = st.r_hi;
    const uint8_t *p = st.p, *end = st.end;
    uint32_t prev = st.prev;
    uint64_t val = st.val;
    lsc_n1_seg s = { 0, 0, 0 };
    int have = 0; /* s is read and not yet started */
    while (p < end) { /* the block rows before br_begin since the checkpoint */
        lsc_form_header(&p, prev, bh, &s);
        prev = s.row;
        if (s.row >= r_first) {
            have = 1;
            break;
        }
        p += lsc_form_seg_bytes(p, &s, G);
        val += s.count;
    }
    const float *restrict vals = (const float *)(const void *)v->values + val;
    /* 32-bit columns for groups of 8, 16-bit ones for groups of 16 */
    uint32_t cols[LSC_FORM_CHUNK + 16] __attribute__((aligned(32)));
    uint16_t *c16 = (uint16_t *)(void *)cols;
    float prod[LSC_FORM_CHUNK + 8] __attribute__((aligned(32)));
    uint32_t piece_end[LSC_FORM_CHUNK], piece_row[LSC_FORM_CHUNK];
    lsc_form_cur cur = { 0, 0, NULL, NULL, _mm256_setzero_si256() };
    int more = have && s.row < r_stop;
    while (more) {
        uint32_t k = 0, pieces = 0;
        more = 0; /* unless the chunk fills up first */
        for (;;) { /* (1) decode */
            if (k + G > LSC_FORM_CHUNK || pieces == LSC_FORM_CHUNK) {
                more = 1;
                break;
            }
            if (cur.left == 0) {
                if (!have) {
                    if (p >= end)
                        break;
                    lsc_form_header(&p, prev, bh, &s);
                    prev = s.row;
                }
                have = 0;
                if (s.row >= r_stop)
                    break;
                cur.row = s.row;
                cur.left = s.count;
                cur.wp = p;
                cur.dp = p + lsc_form_groups(s.count, G);
                cur.base = G == 16 ? _mm256_set1_epi16((int16_t)(s.col0 - 1))
                                   : _mm256_set1_epi32((int)(s.col0 - 1));
            }
            uint64_t fit = (LSC_FORM_CHUNK - k) / G, need = lsc_form_groups(cur.left, G);
            uint32_t ng = (uint32_t)(need < fit ? need : fit);
            if (G == 16 && need <= 2 && fit >= 2) {
                /* a short segment (narrow blocks, low density): two groups decoded
                 * whether it has one or two, so that no branch depends on which (the
                 * second, if absent, is read at width 0 and its columns left unused) */
                unsigned w0 = cur.wp[0], w1 = ng > 1 ? cur.wp[1] : 0;
                _mm256_storeu_si256((__m256i *)(void *)(c16 + k),
                                    form_group16(cur.dp, w0, &cur.base));
                _mm256_storeu_si256((__m256i *)(void *)(c16 + k + 16),
                                    form_group16(cur.dp + 2 * w0, w1, &cur.base));
                cur.dp += 2 * (w0 + w1);
                ng = 0; /* done */
                cur.wp += need;
                k += cur.left;
                cur.left = 0;
            }
            for (uint32_t g = 0; g < ng; g++) {
                unsigned w = cur.wp[g];
                if (G == 16) {
                    _mm256_storeu_si256((__m256i *)(void *)(c16 + k + 16 * g),
                                        form_group16(cur.dp, w, &cur.base));
                    cur.dp += 2 * w;
                } else {
                    _mm256_storeu_si256((__m256i *)(void *)(cols + k + 8 * g),
                                        form_group8(cur.dp, w, &cur.base));
                    cur.dp += w;
                }
            }
            cur.wp += ng;
            uint32_t got = cur.left < ng * G ? cur.left : ng * G;
            k += got;
            cur.left -= got;
            piece_row[pieces] = cur.row;
            piece_end[pieces++] = k;
            if (cur.left == 0)
                p = cur.dp;
        }
        if (k == 0)
            break;
        /* past k, column 0: readable, and its product masked or zero */
        if (G == 16)
            _mm_storeu_si128((__m128i *)(void *)(c16 + k), _mm_setzero_si128());
        else
            _mm256_storeu_si256((__m256i *)(void *)(cols + k), _mm256_setzero_si256());
#define LSC_X8(i) (G == 16 ? form_x8_16(x, xs, c16 + (i)) : form_x8_32(x, xs, cols + (i)))
        uint32_t from = 0;
        if (k >= LSC_FORM_LONG * pieces) { /* long pieces: each its own FMA loop */
            for (uint32_t q = 0; q < pieces; q++) {
                uint32_t to = piece_end[q], at = from;
                __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
                for (; at + 16 <= to; at += 16) {
                    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + at), LSC_X8(at), a0);
                    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + at + 8), LSC_X8(at + 8), a1);
                }
                if (at < to) {
                    __m256 m = form_mask(to - at < 8 ? to - at : 8);
                    a0 = _mm256_fmadd_ps(_mm256_maskload_ps(vals + at, _mm256_castps_si256(m)),
                                         _mm256_and_ps(m, LSC_X8(at)), a0);
                    at += 8;
                }
                if (at < to) {
                    __m256 m = form_mask(to - at);
                    a1 = _mm256_fmadd_ps(_mm256_maskload_ps(vals + at, _mm256_castps_si256(m)),
                                         _mm256_and_ps(m, LSC_X8(at)), a1);
                }
                uint32_t row = piece_row[q];
                if (row >= r_lo && row < r_hi)
                    job->y[(size_t)row * job->ldy] += form_hsum(_mm256_add_ps(a0, a1));
                from = to;
            }
            vals += k;
            continue;
        }
        /* (2) every product, then (3) each piece's sum */
        uint32_t i = 0;
        for (; i + 8 <= k; i += 8)
            _mm256_store_ps(prod + i, _mm256_mul_ps(_mm256_loadu_ps(vals + i), LSC_X8(i)));
        __m256 last = _mm256_setzero_ps();
        if (i < k) {
            __m256 m = form_mask(k - i);
            last = _mm256_and_ps(m, _mm256_mul_ps(_mm256_maskload_ps(vals + i, _mm256_castps_si256(m)),
                                                  LSC_X8(i)));
        }
        _mm256_store_ps(prod + i, last);
#undef LSC_X8
        for (uint32_t q = 0; q < pieces; q++) {
            uint32_t to = piece_end[q], at = from;
            __m256 a = _mm256_setzero_ps();
            for (; at + 8 < to; at += 8)
                a = _mm256_add_ps(a, _mm256_loadu_ps(prod + at));
            a = _mm256_add_ps(a, _mm256_and_ps(form_mask(to - at), _mm256_loadu_ps(prod + at)));
            uint32_t row = piece_row[q];
            if (row >= r_lo && row < r_hi)
                job->y[(size_t)row * job->ldy] += form_hsum(a);
            from = to;
        }
        vals += k;
    }
}

#include "kernels/x86/form_plain_avx2.h"

void LSC_FORM_ROWS_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    if (job->form->kind == LSC_N1_PLAIN)
        plain_rows(job, br_begin, br_end);
    else if (job->ldx == 1)
        job->form->group == 16 ? form_rows_xs(job, br_begin, br_end, 1, 16)
                               : form_rows_xs(job, br_begin, br_end, 1, 8);
    else
        job->form->group == 16 ? form_rows_xs(job, br_begin, br_end, job->ldx, 16)
                               : form_rows_xs(job, br_begin, br_end, job->ldx, 8);
}

