/* The AVX2 zero scan of 4-byte elements (codec/scan_avx2.c) against a plain loop: the
 * same columns, values and -0.0 count for spans of every length 0..70 and odd starts,
 * with -0.0 kept or not, over values that include NaN payloads, denormals, infinities
 * and -0.0. Skipped (passes) on a CPU without AVX2. */
#include <stdio.h>

#include "check.h"
#include "codec/scan_avx2.h"
#include "codec_util.h"

int main(void)
{
    if (!lsc_scan_avx2_available()) {
        printf("no AVX2: skipped\n");
        return 0;
    }
    uint64_t s = 99;
    enum { N = 4096 };
    uint8_t *data = malloc(N * 4), *values = malloc((N + 8) * 4), *want_values = malloc(N * 4);
    uint32_t *col = malloc((N + 8) * sizeof *col), *want_col = malloc(N * sizeof *want_col);
    int cases = 0;
    for (int round = 0; round < 200; round++) {
        double density = (double[]){0.0, 0.05, 0.5, 1.0}[round % 4];
        fill_random(data, N, LSC_DTYPE_FLOAT32, density, 0.4, &s);
        uint64_t c0 = rng_next(&s) % 1000, c1 = c0 + (round < 71 ? (uint64_t)round : rng_next(&s) % 3000);
        for (int keep_signed = 0; keep_signed < 2; keep_signed++) {
            uint64_t want = 0, want_zeros = 0;
            for (uint64_t c = c0; c < c1; c++) {
                uint64_t bits = load_elem(data + 4 * c, 4);
                int negative_zero = bits == 0x80000000u;
                want_zeros += negative_zero;
                if ((bits & 0x7fffffffu) || (negative_zero && keep_signed)) {
                    want_col[want] = (uint32_t)c;
                    memcpy(want_values + 4 * want, data + 4 * c, 4);
                    want++;
                }
            }
            uint64_t zeros = 0;
            uint64_t n = lsc_scan_span4_avx2(data + 4 * c0, c0, c1, keep_signed, col, values, &zeros);
            CHECKF(n == want && zeros == want_zeros && memcmp(col, want_col, n * sizeof *col) == 0 &&
                       memcmp(values, want_values, n * 4) == 0,
                   "span %llu..%llu keep_signed %d: %llu kept, want %llu", (unsigned long long)c0,
                   (unsigned long long)c1, keep_signed, (unsigned long long)n, (unsigned long long)want);
            cases++;
        }
    }
    printf("%d spans compared\n", cases);
    free(data);
    free(values);
    free(want_values);
    free(col);
    free(want_col);
    return check_exit();
}
