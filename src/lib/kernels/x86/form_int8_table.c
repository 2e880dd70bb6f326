/* The table kind's multiply (form_int8.h) with AVX-512 BW, VBMI and VNNI: x - o as
 * bytes in up to 16 registers, each row's values 64 at a time (masked loads: no read
 * past the arrays), one vpermi2b, byte compare and masked move per 128 columns, two
 * vpdpbusd (u * (x - o), and 1 * (x - o) for the zero point's term). */
#include <immintrin.h>

#include "kernels/form_int8.h"

static inline __attribute__((always_inline)) void rows_n(const lsc_int8_form *f, const int8_t *xs, int32_t o,
                                                         int32_t *y, uint32_t r0, uint32_t r1, const unsigned nch)
{
    const lsc_int8_table *t = f->table;
    __m512i tl[8], th[8];
    for (unsigned c = 0; c < nch; c++) {
        tl[c] = _mm512_loadu_si512((const void *)(xs + 128 * c));
        th[c] = _mm512_loadu_si512((const void *)(xs + 128 * c + 64));
    }
    const __m512i ones = _mm512_set1_epi8(1);
    for (uint32_t r = r0; r < r1; r++) {
        uint64_t i = f->row_ptr[r], e = f->row_ptr[r + 1];
        __m512i acc = _mm512_setzero_si512(), sx = _mm512_setzero_si512();
        for (; i < e; i += 64) {
            __mmask64 m = e - i >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << (e - i)) - 1;
            __m512i lo = _mm512_maskz_loadu_epi8(m, t->lo + i);
            __m512i hi = _mm512_maskz_loadu_epi8(m, t->hi + i);
            __m512i u = _mm512_maskz_loadu_epi8(m, t->u + i);
            __m512i xg = _mm512_permutex2var_epi8(tl[0], lo, th[0]);
            for (unsigned c = 1; c < nch; c++)
                xg = _mm512_mask_mov_epi8(xg, _mm512_cmpeq_epi8_mask(hi, _mm512_set1_epi8((char)c)),
                                          _mm512_permutex2var_epi8(tl[c], lo, th[c]));
            acc = _mm512_dpbusd_epi32(acc, u, xg);
            sx = _mm512_dpbusd_epi32(sx, _mm512_maskz_mov_epi8(m, ones), xg);
        }
        acc = _mm512_sub_epi32(acc, _mm512_mullo_epi32(_mm512_set1_epi32(t->z[r]), sx)); /* one reduce */
        y[r] = (int32_t)((uint32_t)_mm512_reduce_add_epi32(acc) + (uint32_t)o * (uint32_t)t->wsum[r]);
    }
}

void lsc_int8_table_rows(const lsc_int8_form *f, const int8_t *xs, int32_t o, int32_t *y, uint32_t r0, uint32_t r1)
{
    switch (f->table->chunks) {
    case 1: rows_n(f, xs, o, y, r0, r1, 1); break;
    case 2: rows_n(f, xs, o, y, r0, r1, 2); break;
    case 3: rows_n(f, xs, o, y, r0, r1, 3); break;
    case 4: rows_n(f, xs, o, y, r0, r1, 4); break;
    case 5: rows_n(f, xs, o, y, r0, r1, 5); break;
    case 6: rows_n(f, xs, o, y, r0, r1, 6); break;
    case 7: rows_n(f, xs, o, y, r0, r1, 7); break;
    default: rows_n(f, xs, o, y, r0, r1, 8); break;
    }
}
