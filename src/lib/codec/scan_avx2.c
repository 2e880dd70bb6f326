/* Compiled for AVX2 by function attribute rather than a per-ISA library (as the
 * kernels are): one short loop, called only after the CPU check. */
#include "codec/scan_avx2.h"

#include <pthread.h>
#include <string.h>

#include "common/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* lanes[mask]: the lanes set in mask, in order, then the rest (ignored). */
static uint32_t lanes[256][8];

static void lanes_init(void)
{
    for (unsigned m = 0; m < 256; m++) {
        unsigned n = 0;
        for (unsigned i = 0; i < 8; i++)
            if (m >> i & 1)
                lanes[m][n++] = i;
        while (n < 8)
            lanes[m][n++] = 0;
    }
}

static int have_avx2;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void check_cpu(void)
{
    have_avx2 = (lsc_cpu_flags_masked(0) & LSC_CPU_AVX2) != 0;
    if (have_avx2)
        lanes_init();
}

int lsc_scan_avx2_available(void)
{
    pthread_once(&once, check_cpu);
    return have_avx2;
}

__attribute__((target("avx2,popcnt"))) uint64_t lsc_scan_span4_avx2(const uint8_t *p, uint64_t c0, uint64_t c1,
                                                                    int keep_signed, uint32_t *col,
                                                                    uint8_t *values, uint64_t *signed_zeros)
{
    const __m256i magnitude = _mm256_set1_epi32(0x7fffffff), sign = _mm256_set1_epi32(INT32_MIN);
    const __m256i zero = _mm256_setzero_si256(), eight = _mm256_set1_epi32(8);
    __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int32_t)(uint32_t)c0), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    uint64_t n = 0, negative_zeros = 0, c = c0;
    for (; c + 8 <= c1; c += 8, p += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)p);
        __m256i is_zero = _mm256_cmpeq_epi32(_mm256_and_si256(v, magnitude), zero);
        unsigned neg = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(v, sign)));
        unsigned keep = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(is_zero)) & 0xffu;
        keep |= keep_signed ? neg : 0;
        negative_zeros += (uint64_t)__builtin_popcount(neg);
        __m256i perm = _mm256_loadu_si256((const __m256i *)lanes[keep]);
        _mm256_storeu_si256((__m256i *)(col + n), _mm256_permutevar8x32_epi32(idx, perm));
        _mm256_storeu_si256((__m256i *)(values + 4 * n), _mm256_permutevar8x32_epi32(v, perm));
        n += (uint64_t)__builtin_popcount(keep);
        idx = _mm256_add_epi32(idx, eight);
    }
    for (; c < c1; c++, p += 4) {
        uint32_t bits;
        memcpy(&bits, p, 4);
        uint64_t negative_zero = bits == UINT32_C(0x80000000);
        uint64_t keep = (bits & UINT32_C(0x7fffffff)) != 0 || (negative_zero && keep_signed);
        negative_zeros += negative_zero;
        col[n] = (uint32_t)c;
        memcpy(values + 4 * n, p, 4);
        n += keep;
    }
    *signed_zeros += negative_zeros;
    return n;
}

#else

int lsc_scan_avx2_available(void)
{
    return 0;
}

uint64_t lsc_scan_span4_avx2(const uint8_t *p, uint64_t c0, uint64_t c1, int keep_signed, uint32_t *col,
                             uint8_t *values, uint64_t *signed_zeros)
{
    (void)p, (void)c0, (void)c1, (void)keep_signed, (void)col, (void)values, (void)signed_zeros;
    return 0;
}

#endif
