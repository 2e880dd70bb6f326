/* fma_peak.h: twelve independent accumulators (latency 4 x 2 pipes needs at least 8),
 * written out by hand so that no compiler keeps them in memory. */
#include <time.h>

#include "fma_peak.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define ITERS 20000000L

#if defined(__x86_64__)
#include <immintrin.h>

#define FMA12(F, W, B)                                                                     \
    a0 = F(a0, W, B), a1 = F(a1, W, B), a2 = F(a2, W, B), a3 = F(a3, W, B);                \
    a4 = F(a4, W, B), a5 = F(a5, W, B), a6 = F(a6, W, B), a7 = F(a7, W, B);                \
    a8 = F(a8, W, B), a9 = F(a9, W, B), a10 = F(a10, W, B), a11 = F(a11, W, B)

__attribute__((target("avx2,fma"))) static float loop8(long iters)
{
    __m256 w = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2),
           a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
           a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8),
           a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long i = 0; i < iters; i++) {
        FMA12(_mm256_fmadd_ps, w, b);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    return _mm256_cvtss_f32(s);
}

__attribute__((target("avx512f"))) static float loop16(long iters)
{
    __m512 w = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2),
           a3 = _mm512_set1_ps(3), a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5),
           a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7), a8 = _mm512_set1_ps(8),
           a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long i = 0; i < iters; i++) {
        FMA12(_mm512_fmadd_ps, w, b);
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(s);
}
#endif

double fma_peak_gflops(int lanes)
{
    double best = 0;
#if defined(__x86_64__)
    volatile float sink = 0;
    for (int r = 0; r < 5; r++) {
        double t = cpu_now();
        if (lanes == 8)
            sink = loop8(ITERS);
        else if (lanes == 16)
            sink = loop16(ITERS);
        else
            return 0;
        t = cpu_now() - t;
        double g = 12.0 * 2.0 * lanes * (double)ITERS / t * 1e-9;
        best = g > best ? g : best;
    }
    (void)sink;
#else
    (void)lanes;
#endif
    return best;
}
