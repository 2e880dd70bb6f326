/* Not a test: the CPU cost of decompress's two steps per weight on one large
 * random fp32 layer: checking the blob (lsc_weight_open) and decoding it into a
 * dense buffer whose pages are already mapped (lsc_weight_fill, one thread).
 *   bench_fill [rows cols density [transposed [runs]]]   (default 8192 8192 0.1 1 5)
 * Prints the least CPU time of the runs and dense MB per CPU second. CPU_MASK=1 in
 * the environment: the portable code only (lsc_exec.cpu_mask). */
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#include "codec_util.h"

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 2 ? strtoull(argv[1], NULL, 10) : 8192;
    uint64_t cols = argc > 2 ? strtoull(argv[2], NULL, 10) : 8192;
    double density = argc > 3 ? strtod(argv[3], NULL) : 0.1;
    int transposed = argc > 4 ? atoi(argv[4]) : 1;
    int runs = argc > 5 ? atoi(argv[5]) : 5;
    size_t bytes = (size_t)(rows * cols * 4);

    uint8_t *m = malloc(bytes);
    uint64_t seed = 7;
    if (!m)
        return 1;
    fill_random(m, rows * cols, LSC_DTYPE_FLOAT32, density, 0.0, &seed);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {(int64_t)rows, (int64_t)cols}, .data = m};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    void *blob;
    size_t size;
    lsc_error err;
    if (lsc_encode(&t, &o, &blob, &size, NULL, &err) != LSC_OK) {
        printf("encode: %s\n", err.message);
        return 1;
    }
    /* As decompress's buffer (restore_external.c): 2 MiB aligned, huge pages advised. */
    uint8_t *out = aligned_alloc(2u << 20, (bytes + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1));
    if (!out)
        return 1;
    (void)madvise(out, bytes, MADV_HUGEPAGE);
    memset(out, 1, bytes); /* pages mapped before timing, as decompress's reused buffer */
    lsc_exec exec = {.cpu_mask = getenv("CPU_MASK") ? (unsigned)atoi(getenv("CPU_MASK")) : 0};
    double open_best = 1e30, fill_best = 1e30;
    lsc_weight_info info = {0};
    int exact = 1;
    for (int rep = 0; rep < runs; rep++) {
        lsc_weight *w;
        double c0 = cpu_now();
        if (lsc_weight_open(blob, size, "big", &w, &err) != LSC_OK) {
            printf("open: %s\n", err.message);
            return 1;
        }
        double c1 = cpu_now();
        memset(out, 0, bytes);
        double c2 = cpu_now();
        lsc_weight_fill(w, out, bytes, &exec, &err);
        double c3 = cpu_now();
        open_best = c1 - c0 < open_best ? c1 - c0 : open_best;
        fill_best = c3 - c2 < fill_best ? c3 - c2 : fill_best;
        exact &= memcmp(out, m, bytes) == 0;
        lsc_weight_get_info(w, &info);
        lsc_weight_close(&w);
    }
    printf("%llux%llu %.3g%%%s, %ux%u blocks, %u-bit entries (%.2f per value), blob %zu B: open (check) %.3f s = %.0f MB/s, fill %.3f s = %.0f MB/s "
           "(dense bytes per CPU second, least of %d); round trip %s\n",
           (unsigned long long)rows, (unsigned long long)cols, density * 100, transposed ? " transposed" : "",
           info.block_h, info.block_w, info.index_bits, info.nnz ? (double)info.n_entries / info.nnz : 0.0, size, open_best, (double)bytes / open_best / 1e6, fill_best, (double)bytes / fill_best / 1e6, runs,
           exact ? "exact" : "DIFFERS");
    lsc_free(blob);
    free(out);
    free(m);
    return exact ? 0 : 1;
}
