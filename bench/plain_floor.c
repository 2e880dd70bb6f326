/* lsc-plain-floor: the plain batch-1 form's multiplies against floors on the same bytes
 * (docs/benchmarks.md, stop 18; not a test). Needs AVX2 + FMA.
 *   lsc-plain-floor spmm ROWS COLS DENSITY N REPS [CPU_MASK] [OFFSET]
 *     lsc_spmm at n = N on the plain form (block 1xCOLS, ldx = ldy = N, X and Y 64-byte
 *     aligned: read in place; or OFFSET floats past, 4 where malloc puts them: X's
 *     k-blocks copied), the best process CPU time of REPS; with N = 8 also loops
 *     on the same columns and values without the k-blocks (one piece a row, X's rows
 *     taken modulo 1024 so that they stay in L1), without the columns' decoding and
 *     without X's loads: what is left is each one's floor.
 *   lsc-plain-floor n1 ROWS COLS DENSITY REPS [hot]
 *     N = 1 with the weight streamed (copies of blob and form rotated through 96 MiB or
 *     more, as lsc-bench's "stream"; "hot": one copy): lsc_spmm against loops that read
 *     only the form's bytes (values and columns) in the kernel's order, then also x at
 *     the columns, then x at the columns modulo 4096 (x in L1).
 * Cycles are the time at the clock the FMA peak implies (32 flops a cycle), so a
 * figure in cycles a value is only as good as that clock. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/blob.h"
#include "fma_peak.h"
#include "kernels/form.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"
#include "stream_bw.h"

#define STREAM_SET (96u << 20)
#define MAX_COPIES 512
#define L1_ROWS 1024 /* X's rows the floor loops at N = 8 keep to: 32 KiB */

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static volatile float sink;

/* A uniform random ROWSxCOLS weight at density d, one block a row (segments are rows),
 * opened from its own 64-byte aligned copy of the blob with its plain form. */
static lsc_weight *make_weight(uint32_t rows, uint32_t cols, double d, void **blob_out,
                               size_t *size_out, size_t *form_bytes)
{
    static float *w;
    static void *blob;
    static size_t size;
    lsc_error err;
    if (!blob) {
        w = calloc((size_t)rows * cols, sizeof(float));
        if (!w)
            exit(1);
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (xorshift64_unit(&rng) < d)
                w[i] = (float)(xorshift64_unit(&rng) - 0.5);
        lsc_encode_options opt;
        lsc_encode_options_default(&opt);
        opt.block_h = 1;
        opt.block_w = cols;
        opt.index_bits = 3;
        lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { rows, cols }, .data = w };
        lsc_encode_stats st;
        if (lsc_encode(&t, &opt, &blob, &size, &st, &err) != LSC_OK) {
            fprintf(stderr, "%s\n", err.message);
            exit(1);
        }
        free(w);
    }
    void *copy = aligned_alloc(64, (size + 63) / 64 * 64);
    lsc_weight *wt;
    if (!copy)
        exit(1);
    memcpy(copy, blob, size);
    if (lsc_weight_open(copy, size, "w", &wt, &err) != LSC_OK ||
        lsc_weight_prepare_n1_kind(wt, LSC_N1_PLAIN, form_bytes, &err) != LSC_OK ||
        !wt->n1_form) {
        fprintf(stderr, "no plain form\n");
        exit(1);
    }
    *blob_out = copy;
    *size_out = size;
    return wt;
}

static float *aligned_floats(size_t count, int random)
{
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    if (!p)
        exit(1);
    for (size_t i = 0; i < count; i++)
        p[i] = random ? (float)(xorshift64_unit(&rng) - 0.5) : 0.0f;
    return p;
}

/* ---- N = 8: the kernel's loop without what it pays for k-blocks ------------------ */

enum { F_BLOAD, F_WHOLE, F_NODECODE, F_NOX };

/* One row's values into 8 sums (8 chains, eight values a step) as plain_strip8 does,
 * X's row at (column mod L1_ROWS), each value broadcast from its eight's vector by a
 * shuffle; `mode` broadcasts them by loads instead (plain_strip8 before stop 18), or
 * drops the columns' decoding (offsets read from `offs`, a uint32 a value) or X's
 * loads (the value times one vector). */
static inline __attribute__((always_inline)) __m256
row8(const float *x, const uint16_t *c, const uint32_t *offs, const float *v, uint32_t cnt,
     int mode)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    const __m256 xr = _mm256_set1_ps(1.0f);
    uint32_t i = 0;
#define LSC_XR(k) (mode == F_NOX ? xr : _mm256_loadu_ps(x + (mode == F_NODECODE ? offs[i + (k)] : \
                                   (uint32_t)(q[(k) / 4] >> (16 * ((k) % 4)) & (L1_ROWS - 1)) * 8)))
    for (; i + 8 <= cnt; i += 8) {
        uint64_t q[2];
        memcpy(q, c + i, 16);
        const __m256 v8 = _mm256_loadu_ps(v + i);
        const __m256 lo = _mm256_permute2f128_ps(v8, v8, 0x00), hi = _mm256_permute2f128_ps(v8, v8, 0x11);
#define LSC_B(h, k) (mode == F_BLOAD ? _mm256_broadcast_ss(v + i + (k)) : _mm256_permute_ps(h, (k % 4) * 0x55))
        a0 = _mm256_fmadd_ps(LSC_B(lo, 0), LSC_XR(0), a0);
        a1 = _mm256_fmadd_ps(LSC_B(lo, 1), LSC_XR(1), a1);
        a2 = _mm256_fmadd_ps(LSC_B(lo, 2), LSC_XR(2), a2);
        a3 = _mm256_fmadd_ps(LSC_B(lo, 3), LSC_XR(3), a3);
        a4 = _mm256_fmadd_ps(LSC_B(hi, 4), LSC_XR(4), a4);
        a5 = _mm256_fmadd_ps(LSC_B(hi, 5), LSC_XR(5), a5);
        a6 = _mm256_fmadd_ps(LSC_B(hi, 6), LSC_XR(6), a6);
        a7 = _mm256_fmadd_ps(LSC_B(hi, 7), LSC_XR(7), a7);
#undef LSC_B
    }
#undef LSC_XR
    for (; i < cnt; i++)
        a0 = _mm256_fmadd_ps(_mm256_broadcast_ss(v + i),
                             _mm256_loadu_ps(x + (size_t)(c[i] & (L1_ROWS - 1)) * 8), a0);
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                         _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
}

static double floor8(const lsc_n1_plain *pl, const float *vals, const uint32_t *offs,
                     const float *x, float *y, int reps, int mode)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        for (uint32_t s = 0; s < pl->n_segs; s++) {
            uint32_t a = pl->start[s], e = pl->start[s + 1];
            __m256 acc = mode == F_BLOAD ? row8(x, pl->cols + a, NULL, vals + a, e - a, F_BLOAD)
                         : mode == F_WHOLE ? row8(x, pl->cols + a, NULL, vals + a, e - a, F_WHOLE)
                         : mode == F_NODECODE ? row8(x, pl->cols + a, offs + a, vals + a, e - a, F_NODECODE)
                                              : row8(x, pl->cols + a, NULL, vals + a, e - a, F_NOX);
            float *yr = y + (size_t)pl->row[s] * 8;
            _mm256_storeu_ps(yr, _mm256_add_ps(_mm256_loadu_ps(yr), acc));
        }
        double t = cpu_now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static int run_spmm(uint32_t rows, uint32_t cols, double d, size_t n, int reps, unsigned mask,
                    size_t off)
{
    void *blob;
    size_t size, form_bytes;
    lsc_weight *wt = make_weight(rows, cols, d, &blob, &size, &form_bytes);
    const lsc_n1_plain *pl = &wt->n1_form->plain;
    const uint64_t nnz = pl->start[pl->n_segs];
    float *xa = aligned_floats((size_t)cols * n + off, 1), *ya = aligned_floats((size_t)rows * n + off, 0);
    float *x = xa + off, *y = ya + off;
    lsc_exec exec = { .cpu_mask = mask };
    lsc_error err;
    double peak = fma_peak_gflops(8), ghz = peak / 32;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = cpu_now();
        if (lsc_spmm(wt, x, n, n, y, n, 0, 0, &exec, &err) != LSC_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        double t = cpu_now() - t0;
        best = t < best ? t : best;
    }
    double flops = 2.0 * (double)nnz * (double)n;
    printf("# FMA peak %.1f GFLOP/s (clock %.2f GHz at 32 flops a cycle)\n", peak, ghz);
    printf("%ux%u d=%g nnz %llu N=%zu: lsc_spmm %.4f ms, %.1f GFLOP/s, %.1f%% of peak, %.2f "
           "cycles a value\n", rows, cols, d, (unsigned long long)nnz, n, best * 1e3,
           flops / best * 1e-9, 100 * flops / best * 1e-9 / peak, best * ghz * 1e9 / (double)nnz);
    if (n == 8) {
        const float *vals = (const float *)(const void *)wt->view.values;
        uint32_t *offs = malloc(nnz * sizeof *offs + 64);
        if (!offs)
            return 1;
        for (uint64_t i = 0; i < nnz; i++)
            offs[i] = (uint32_t)(pl->cols[i] & (L1_ROWS - 1)) * 8;
        static const char *names[4] = { "one piece a row, X in L1, broadcast loads",
                                         "one piece a row, X in L1",
                                         "  and no column decoding (uint32 offsets)",
                                         "  and no X loads (value x a register)" };
        for (int m = 0; m < 4; m++) {
            double t = floor8(pl, vals, offs, x, y, reps, m);
            printf("  floor %-43s %.4f ms, %.1f%% of peak, %.2f cycles a value\n", names[m],
                   t * 1e3, 100 * flops / t * 1e-9 / peak, t * ghz * 1e9 / (double)nnz);
        }
        free(offs);
    }
    lsc_weight_close(&wt);
    free(blob);
    free(xa);
    free(ya);
    return 0;
}

/* ---- N = 1 streamed: the form's bytes with and without x ------------------------ */

enum { R_READ, R_GATHER, R_GATHER_L1 };

/* The form's values and columns in the kernel's order (segment by segment; both
 * streams sequential): summed as bits only, or multiplied by x at the columns
 * (form_x8_16's eight scalar loads, one sum a segment), or by x at the columns modulo
 * 4096 (16 KiB of x: in L1 whatever its size). */
static float n1_pass(const lsc_n1_plain *pl, const float *vals, const float *x, float *y, int mode)
{
    const uint16_t *c = pl->cols;
    __m256i bits = _mm256_setzero_si256();
    for (uint32_t s = 0; s < pl->n_segs; s++) {
        uint32_t i = pl->start[s], e = pl->start[s + 1];
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        if (mode == R_READ) {
            for (; i + 16 <= e; i += 16) {
                __m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)(vals + i));
                __m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(vals + i + 8));
                __m256i cc = _mm256_loadu_si256((const __m256i *)(const void *)(c + i));
                bits = _mm256_xor_si256(bits, _mm256_xor_si256(_mm256_xor_si256(v0, v1), cc));
            }
        } else {
            const unsigned m = mode == R_GATHER_L1 ? 4095 : 0xffff;
            for (; i + 16 <= e; i += 16) {
#define LSC_X8(p) _mm256_setr_ps(x[(p)[0] & m], x[(p)[1] & m], x[(p)[2] & m], x[(p)[3] & m], \
                                 x[(p)[4] & m], x[(p)[5] & m], x[(p)[6] & m], x[(p)[7] & m])
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + i), LSC_X8(c + i), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(vals + i + 8), LSC_X8(c + i + 8), a1);
#undef LSC_X8
            }
        }
        float t = 0; /* the under-16 tail scalar, the same in both */
        for (; i < e; i++)
            t += vals[i] * x[c[i]];
        __m256 a = _mm256_add_ps(a0, a1);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        y[pl->row[s]] = _mm_cvtss_f32(h) + t;
    }
    return (float)_mm256_extract_epi32(bits, 0);
}

static int run_n1(uint32_t rows, uint32_t cols, double d, int reps, int hot)
{
    void *blobs[MAX_COPIES];
    lsc_weight *ws[MAX_COPIES];
    size_t size, form_bytes;
    ws[0] = make_weight(rows, cols, d, &blobs[0], &size, &form_bytes);
    size_t copies = (STREAM_SET + size + form_bytes - 1) / (size + form_bytes);
    copies = hot ? 1 : copies < 2 ? 2 : copies > MAX_COPIES ? MAX_COPIES : copies;
    for (size_t c = 1; c < copies; c++)
        ws[c] = make_weight(rows, cols, d, &blobs[c], &size, &form_bytes);
    const lsc_n1_plain *pl0 = &ws[0]->n1_form->plain;
    const uint64_t nnz = pl0->start[pl0->n_segs];
    const double read = (double)nnz * 6 + (double)pl0->n_segs * 8; /* values, columns, starts, rows */
    float *x = aligned_floats(cols, 1), *y = aligned_floats(rows, 0);
    double bw = stream_bandwidth(NULL, 1), ghz = fma_peak_gflops(8) / 32;
    printf("# 1 thread streaming read %.2f GB/s; clock %.2f GHz (from the FMA peak)\n", bw * 1e-9, ghz);
    printf("%ux%u d=%g nnz %llu: blob %zu bytes, plain form %zu (%.3f of the blob), the kernel "
           "reads %.0f (%.2f of the blob; %.2f bytes a value); %zu copies rotated\n",
           rows, cols, d, (unsigned long long)nnz, size, form_bytes,
           (double)form_bytes / (double)size, read, read / (double)size, read / (double)nnz, copies);
    printf("| loop | ms | GB/s of the bytes read | of the stream | of bound (blob bytes) | cycles a value |\n|---|---|---|---|---|---|\n");
    static const char *names[4] = { "read values + columns only",
                                    "... and x at the columns (8 scalar loads a vector)",
                                    "... x at the columns mod 4096 (x in L1)", "lsc_spmm N = 1" };
    for (int m = 0; m < 4; m++) {
        double best = 1e30;
        float acc = 0;
        for (int r = 0; r < reps; r++) {
            const lsc_weight *w = ws[r % copies];
            double t0 = cpu_now();
            if (m < 3)
                acc += n1_pass(&w->n1_form->plain, (const float *)(const void *)w->view.values, x, y, m);
            else if (lsc_spmm(w, x, 1, 1, y, 1, 0, 0, NULL, NULL) != LSC_OK)
                return 1;
            double t = cpu_now() - t0;
            best = t < best ? t : best;
        }
        sink = acc + y[0];
        printf("| %s | %.3f | %.2f | %.2f | %.2f | %.2f |\n", names[m], best * 1e3, read / best * 1e-9,
               read / best / bw, (double)size / bw / best, best * ghz * 1e9 / (double)nnz);
    }
    for (size_t c = 0; c < copies; c++) {
        lsc_weight_close(&ws[c]);
        free(blobs[c]);
    }
    free(x);
    free(y);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && !strcmp(argv[1], "spmm"))
        return run_spmm((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]), atof(argv[4]),
                        (size_t)atoi(argv[5]), atoi(argv[6]), argc > 7 ? (unsigned)atoi(argv[7]) : 0,
                        argc > 8 ? (size_t)atoi(argv[8]) % 16 : 0);
    if (argc >= 6 && !strcmp(argv[1], "n1"))
        return run_n1((uint32_t)atoi(argv[2]), (uint32_t)atoi(argv[3]), atof(argv[4]), atoi(argv[5]),
                      argc > 6 && !strcmp(argv[6], "hot"));
    fprintf(stderr, "usage: lsc-plain-floor spmm ROWS COLS DENSITY N REPS [CPU_MASK] [OFFSET]\n"
                    "       lsc-plain-floor n1 ROWS COLS DENSITY REPS [hot]\n");
    return 2;
}
