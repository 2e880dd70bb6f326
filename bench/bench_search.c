/* Not a test: times the block/width search and the encoder on a large layer, and
 * prints the compression of a few synthetic matrices.
 *   bench_search [rows cols density [transposed]]   (default 25088 4096 0.05) */
#include <stdio.h>
#include <time.h>

#include "codec_util.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void report(const char *label, const lsc_encode_stats *st)
{
    printf("%-28s %6llux%-6llu nnz %9llu block %ux%u b %2u kept %llu/%llu: dense %llu B, values %llu B, "
           "meta %llu B (%.3f bits/nnz), ratio %.2fx\n",
           label, (unsigned long long)st->rows, (unsigned long long)st->cols, (unsigned long long)st->nnz,
           st->block_h, st->block_w, st->index_bits, (unsigned long long)st->kept_blocks,
           (unsigned long long)st->blocks, (unsigned long long)st->dense_bytes,
           (unsigned long long)st->value_bytes, (unsigned long long)st->meta_bytes,
           st->nnz ? 8.0 * (double)st->meta_bytes / (double)st->nnz : 0.0,
           (double)st->dense_bytes / (double)st->blob_bytes);
}

/* Uniform random float32 matrix at `density`, or block-structured: whole bh x bw tiles
 * alive with probability tile_density, each element inside alive with inner_density. */
static float *make_matrix(uint64_t rows, uint64_t cols, double density, uint32_t bh, uint32_t bw,
                          double inner, uint64_t seed)
{
    float *m = calloc(rows * cols, sizeof *m);
    uint64_t s = seed;
    if (!bh) {
        for (uint64_t i = 0; i < rows * cols; i++)
            if (rng_unit(&s) < density)
                m[i] = (float)(rng_unit(&s) - 0.5);
        return m;
    }
    for (uint64_t r0 = 0; r0 < rows; r0 += bh)
        for (uint64_t c0 = 0; c0 < cols; c0 += bw) {
            if (rng_unit(&s) >= density)
                continue;
            for (uint64_t r = r0; r < r0 + bh && r < rows; r++)
                for (uint64_t c = c0; c < c0 + bw && c < cols; c++)
                    if (rng_unit(&s) < inner)
                        m[r * cols + c] = (float)(rng_unit(&s) - 0.5) + 1.0f;
        }
    return m;
}

static void small_report(const char *label, uint64_t rows, uint64_t cols, double density, uint32_t bh,
                         uint32_t bw, double inner)
{
    float *m = make_matrix(rows, cols, density, bh, bw, inner, 42);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {(int64_t)rows, (int64_t)cols}, .data = m};
    lsc_encode_stats st;
    lsc_error err;
    if (lsc_encode_plan(&t, NULL, &st, &err) != LSC_OK)
        printf("%s: %s\n", label, err.message);
    else
        report(label, &st);
    free(m);
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 2 ? strtoull(argv[1], NULL, 10) : 25088;
    uint64_t cols = argc > 2 ? strtoull(argv[2], NULL, 10) : 4096;
    double density = argc > 3 ? strtod(argv[3], NULL) : 0.05;
    int transposed = argc > 4 ? atoi(argv[4]) : 0;

    small_report("784x300 uniform 8%", 784, 300, 0.08, 0, 0, 0);
    small_report("300x784 uniform 8%", 300, 784, 0.08, 0, 0, 0);
    small_report("784x300 tiles 8x8 10%, 80%", 784, 300, 0.10, 8, 8, 0.8);
    small_report("784x300 dead rows/cols 8%", 784, 300, 0.08 / 0.25, 784 / 2 ? 2 : 2, 300, 0.25);

    float *m = make_matrix(rows, cols, density, 0, 0, 0, 7);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {(int64_t)rows, (int64_t)cols}, .data = m};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    lsc_encode_stats st;
    lsc_error err;
    double t0 = now();
    if (lsc_encode_plan(&t, &o, &st, &err) != LSC_OK) {
        printf("plan: %s\n", err.message);
        return 1;
    }
    double t1 = now();
    void *blob;
    size_t size;
    if (lsc_encode(&t, &o, &blob, &size, &st, &err) != LSC_OK) {
        printf("encode: %s\n", err.message);
        return 1;
    }
    double t2 = now();
    lsc_weight *w;
    if (lsc_weight_open(blob, size, "big", &w, &err) != LSC_OK) {
        printf("open: %s\n", err.message);
        return 1;
    }
    double t3 = now();
    float *out = malloc(rows * cols * sizeof *out);
    lsc_weight_decode(w, out, rows * cols * sizeof *out, &err);
    double t4 = now();
    double best = 1e30; /* pages now mapped: the least of 5 runs, in CPU time (shared machines) */
    for (int rep = 0; rep < 5; rep++) {
        double c0 = cpu_now();
        lsc_weight_decode(w, out, rows * cols * sizeof *out, &err);
        best = cpu_now() - c0 < best ? cpu_now() - c0 : best;
    }
    char label[64];
    snprintf(label, sizeof label, "uniform %.3g%%%s", density * 100, transposed ? " (transposed)" : "");
    report(label, &st);
    printf("plan (search) %.2f s, encode (search + write) %.2f s, open (validate) %.2f s, decode %.2f s "
           "(again, pages mapped, CPU: %.3f s = %.0f MB/s)\n",
           t1 - t0, t2 - t1, t3 - t2, t4 - t3, best, (double)(rows * cols * sizeof *out) / best / 1e6);
    printf("round trip %s\n", memcmp(out, m, rows * cols * sizeof *out) == 0 ? "exact" : "DIFFERS");
    lsc_weight_close(&w);
    lsc_free(blob);
    free(out);
    free(m);
    return 0;
}
