/* lsc-prof: one LSC multiply repeated, for perf stat / perf record (not a test).
 *   lsc-prof ROWS COLS DENSITY N THREADS REPS [BHxBW|-] [BITS] [MIN_BLOCK_ROWS] [CPU_MASK] [SLACK_PPM]
 *            [FORM: 0 none, 1 batch-1 form of the rule's kind, 2 bit-packed, 3 plain,
 *             4 the windowed multiply's form (lsc_weight_prepare_conv)]
 * Uniform random pruning as in lsc-bench; prints the encoding, the best and mean
 * wall time per multiply, and the process CPU time per multiply (less sensitive to
 * other jobs taking the core). N written HxW runs a 3x3, stride-1, pad-1 convolution
 * of an HxW image with COLS / 9 channels the way LscConv does (lsc_spmm_windows over
 * the padded input, N = H x (W + 2) columns) and prints GFLOP/s of the non-zeros, also
 * as a share of this core's FMA peak measured in the same run (fma_peak.h). Temporary
 * buffers come from a scratch allocator that keeps its blocks across calls, as ONNX
 * Runtime's arena does, so that no call pays for faulting in fresh pages. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "codec/blob.h"
#include "fma_peak.h"
#include "kernels/form.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* lsc_exec's scratch hooks: blocks kept for reuse (first fit), freed at exit */
#define ARENA_BLOCKS 16
typedef struct arena {
    void *p[ARENA_BLOCKS];
    size_t size[ARENA_BLOCKS];
    int used[ARENA_BLOCKS];
} arena;

static void *arena_alloc(void *context, size_t bytes)
{
    arena *a = context;
    for (int i = 0; i < ARENA_BLOCKS; i++)
        if (a->p[i] && !a->used[i] && a->size[i] >= bytes) {
            a->used[i] = 1;
            return a->p[i];
        }
    for (int i = 0; i < ARENA_BLOCKS; i++)
        if (!a->p[i]) {
            a->p[i] = malloc(bytes ? bytes : 1);
            a->size[i] = bytes;
            a->used[i] = a->p[i] != NULL;
            return a->p[i];
        }
    return NULL;
}

static void arena_free(void *context, void *p)
{
    arena *a = context;
    for (int i = 0; i < ARENA_BLOCKS; i++)
        if (a->p[i] == p)
            a->used[i] = 0;
}

static uint64_t rng = 88172645463325252ull;
static double unit(void)
{
    return xorshift64_unit(&rng);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: lsc-prof ROWS COLS DENSITY N THREADS REPS [BHxBW|-] [BITS] "
                        "[MIN_BLOCK_ROWS] [CPU_MASK] [SLACK_PPM] [FORM]\n");
        return 2;
    }
    uint32_t rows = (uint32_t)atoi(argv[1]), cols = (uint32_t)atoi(argv[2]);
    double d = atof(argv[3]);
    size_t n = (size_t)atoi(argv[4]), conv_h = 0, conv_w = 0, *offs = NULL, x_count;
    if (sscanf(argv[4], "%zux%zu", &conv_h, &conv_w) == 2) { /* n, offsets and x as LscConv's */
        size_t wp = conv_w + 2, plane = (conv_h + 2) * wp;
        n = conv_h * wp;
        offs = malloc(cols * sizeof *offs);
        if (!offs || cols % 9)
            return 2;
        for (uint32_t k = 0; k < cols; k++)
            offs[k] = k / 9 * plane + k % 9 / 3 * wp + k % 3;
    }
    x_count = offs ? (size_t)cols / 9 * (conv_h + 2) * (conv_w + 2) : (size_t)cols * n;
    unsigned threads = (unsigned)atoi(argv[5]);
    int reps = atoi(argv[6]);
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    if (argc > 7 && argv[7][0] != '-' && sscanf(argv[7], "%ux%u", &opt.block_h, &opt.block_w) != 2)
        return 2;
    if (argc > 8)
        opt.index_bits = (unsigned)atoi(argv[8]);
    if (argc > 9)
        opt.min_block_rows = (uint32_t)atoi(argv[9]);
    if (argc > 11)
        opt.size_slack_ppm = (uint32_t)atoi(argv[11]);
    float *w = calloc((size_t)rows * cols, sizeof(float));
    float *x = malloc(x_count * sizeof(float)), *y = malloc((size_t)rows * n * sizeof(float));
    if (!w || !x || !y)
        return 1;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        if (unit() < d)
            w[i] = (float)(unit() - 0.5);
    for (size_t i = 0; i < x_count; i++)
        x[i] = (float)(unit() - 0.5);
    lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { rows, cols }, .data = w };
    void *blob;
    size_t size;
    lsc_encode_stats st;
    lsc_error err;
    lsc_weight *wt;
    lsc_pool *pool = NULL;
    if (lsc_encode(&t, &opt, &blob, &size, &st, &err) != LSC_OK ||
        lsc_weight_open(blob, size, "w", &wt, &err) != LSC_OK ||
        (threads > 1 && lsc_pool_create(threads, &pool, &err) != LSC_OK)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    free(w);
    size_t form_bytes = 0;
    double t_form = now();
    /* FORM: 0 none, 1 the rule's kind, 2 bit-packed, 3 plain, 4 the windows form */
    static const lsc_n1_kind kinds[4] = { LSC_N1_AUTO, LSC_N1_AUTO, LSC_N1_PACKED, LSC_N1_PLAIN };
    int form = argc > 12 ? atoi(argv[12]) : 0;
    if (form < 0 || form > 4)
        return 2;
    if (form == 4 && lsc_weight_prepare_conv(wt, &form_bytes, &err) != LSC_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    if (form && form < 4 && lsc_weight_prepare_n1_kind(wt, kinds[form], &form_bytes, &err) != LSC_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    t_form = now() - t_form;
    if (form_bytes && form == 4)
        printf("windows form: %zu bytes (%.3f of the blob), prepared in %.2f ms\n", form_bytes,
               (double)form_bytes / (double)size, t_form * 1e3);
    else if (form_bytes)
        printf("batch-1 form (%s): %zu bytes (%.3f of the blob), prepared in %.2f ms\n",
               wt->n1_form->kind == LSC_N1_PLAIN ? "plain" : "bit-packed", form_bytes,
               (double)form_bytes / (double)size, t_form * 1e3);
    arena scratch = { 0 };
    lsc_exec exec = { .pool = pool, .cpu_mask = argc > 10 ? (unsigned)atoi(argv[10]) : 0,
                      .scratch_alloc = arena_alloc, .scratch_free = arena_free,
                      .scratch_context = &scratch };
    double best = 1e30, sum = 0, cpu0 = cpu_now();
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        lsc_status rs = offs ? lsc_spmm_windows(wt, x, offs, n, y, n, 0, 0, &exec, &err)
                             : lsc_spmm(wt, x, n, n, y, n, 0, 0, &exec, &err);
        if (rs != LSC_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        double dt = now() - t0;
        sum += dt;
        best = dt < best ? dt : best;
    }
    double cpu = (cpu_now() - cpu0) / reps;
    printf("%ux%u d=%g block %ux%u b=%u, %zu bytes, nnz %llu, entries %llu: best %.4f ms, mean "
           "%.3f ms, CPU %.3f ms per multiply (all threads)\n",
           rows, cols, d, st.block_h, st.block_w, st.index_bits, size,
           (unsigned long long)st.nnz,
           (unsigned long long)(st.value_entries + st.jump_entries), best * 1e3,
           sum / reps * 1e3, cpu * 1e3);
    if (offs) {
        /* the peak of the vector width the multiply ran with, on one core */
        unsigned flags = lsc_cpu_flags() & (exec.cpu_mask ? exec.cpu_mask : ~0u);
        double peak = fma_peak_gflops(flags & LSC_CPU_AVX512 ? 16 : flags & LSC_CPU_AVX2 ? 8 : 0);
        double flops = 2.0 * (double)st.nnz * (double)(conv_h * conv_w);
        printf("conv %zux%zu: %.1f GFLOP/s of non-zeros (best), %.1f by CPU time; FMA peak "
               "%.1f GFLOP/s a core (measured now): %.0f%% / %.0f%% of %u core(s)\n",
               conv_h, conv_w, flops / best * 1e-9, flops / cpu * 1e-9, peak,
               peak ? 100 * flops / best * 1e-9 / (peak * threads) : 0,
               peak ? 100 * flops / cpu * 1e-9 / (peak * threads) : 0, threads);
    }
    free(offs);
    for (int i = 0; i < ARENA_BLOCKS; i++)
        free(scratch.p[i]);
    lsc_weight_close(&wt);
    lsc_pool_free(&pool);
    lsc_free(blob);
    free(x);
    free(y);
    return 0;
}
