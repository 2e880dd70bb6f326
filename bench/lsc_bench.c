/* lsc-bench: the LSC kernels against CSR, Eigen and librsb (peers users really use,
 * "-" when not built), dense OpenBLAS and the machine's streaming read bandwidth, on
 * the same inputs in one run (docs/benchmarks.md).
 *   lsc-bench [--quick] [--layer NAME] [--density D] [--csv] [--bits B] [--block HxW]
 *             [--slack PPM]
 * --density: that one density (a fraction, 0.3 = 30%) instead of the list.
 * --cpu-time: times are the process's CPU time, not wall time (on a machine that other
 * jobs load; meaningful for the 1-thread rows, where nothing else runs in the process).
 * --huge-values: each weight copy on 2 MiB pages where the system gives them
 * (madvise(MADV_HUGEPAGE)): what the values would stream at from a bundle mapped so.
 * --bits / --block force the encoder's index width / block shape (default: its search);
 * --slack: the search trades up to PPM parts per million of size for a faster multiply
 * (default: the library's, LSC_DEFAULT_SIZE_SLACK_PPM; 0: the smallest encoding).
 * "hot": the same weight multiplied again and again (resident in the last-level
 * cache when it fits: the LLC column says); "stream": rotating through enough
 * copies of the weight that they exceed the LLC several times, so every multiply
 * reads its weight from memory. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "codec/blob.h"
#include "common/cpu.h"
#include "common/pool.h"
#include "csr.h"
#include "eigen_spmm.h"
#include "fma_peak.h"
#include "kernels/spmm.h"
#include "librsb_spmm.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"
#include "stream_bw.h"

void openblas_set_num_threads(int);

#define STREAM_SET (96u << 20) /* bytes of weight copies in the streaming case */
#define MAX_COPIES 64
#define MIN_TIME 0.15          /* seconds spent per measurement (after warm-up) */

typedef struct layer {
    const char *name;
    uint32_t rows, cols; /* out x in; conv: O x (I*kh*kw), its im2col matrix */
    int quick;
} layer;

static const layer layers[] = {
    { "lenet-fc1", 500, 800, 1 },
    { "alexnet-fc6", 4096, 9216, 1 },
    { "vgg16-fc6", 4096, 25088, 0 },
    { "vgg16-fc7", 4096, 4096, 0 },
    { "vgg16-conv3_2", 256, 2304, 0 },
    { "vgg16-conv5_1", 512, 4608, 0 },
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static double unit(void)
{
    return xorshift64_unit(&rng);
}

/* uniform: each weight kept with probability d. structured: 4x8 blocks kept with
 * probability d, dense inside (coarse-grained pruning). */
static float *make_weight(uint32_t rows, uint32_t cols, double d, int structured)
{
    float *w = calloc((size_t)rows * cols, sizeof(float));
    if (!w)
        return NULL;
    if (!structured) {
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            if (unit() < d)
                w[i] = (float)(unit() - 0.5);
        return w;
    }
    for (uint32_t br = 0; br < rows; br += 4)
        for (uint32_t bc = 0; bc < cols; bc += 8)
            if (unit() < d)
                for (uint32_t r = br; r < br + 4 && r < rows; r++)
                    for (uint32_t c = bc; c < bc + 8 && c < cols; c++)
                        w[(size_t)r * cols + c] = (float)(unit() - 0.5) + 0.001f;
    return w;
}

/* ---- what gets timed ------------------------------------------------------ */

typedef struct run_ctx {
    int kind; /* 0 lsc, 1 csr, 2 dense, 3 eigen, 4 librsb */
    size_t copies, next;
    lsc_weight **w;
    csr *c;
    eigen_spmm **eg;
    librsb_spmm **rb;
    float **dense;
    uint32_t rows, cols;
    const float *x;
    float *y;
    size_t n;
    lsc_exec exec;
    unsigned threads;
    int avx2;
} run_ctx;

typedef struct csr_task {
    const csr *m;
    const run_ctx *r;
    uint32_t bounds[65];
} csr_task;

static void csr_run_task(void *arg, size_t i)
{
    const csr_task *t = arg;
#ifdef BENCH_HAVE_AVX2
    if (t->r->avx2) {
        csr_spmm_avx2(t->m, t->r->x, t->r->n, t->r->n, t->r->y, t->r->n, t->bounds[i],
                      t->bounds[i + 1]);
        return;
    }
#endif
    csr_spmm_scalar(t->m, t->r->x, t->r->n, t->r->n, t->r->y, t->r->n, t->bounds[i],
                        t->bounds[i + 1]);
}

static void run_once(run_ctx *r)
{
    size_t k = r->next;
    r->next = (r->next + 1) % r->copies;
    if (r->kind == 0) {
        lsc_error err;
        if (lsc_spmm(r->w[k], r->x, r->n, r->n, r->y, r->n, 0, 0, &r->exec, &err) != LSC_OK) {
            fprintf(stderr, "lsc_spmm: %s\n", err.message);
            exit(1);
        }
    } else if (r->kind == 1) {
        /* rows cut into tasks of equal nnz, 4 per thread, on the same pool */
        csr_task t = { .m = &r->c[k], .r = r };
        size_t nt = r->threads == 1 ? 1 : 4 * r->threads;
        t.bounds[0] = 0;
        for (size_t i = 1; i < nt; i++) {
            uint64_t target = t.m->nnz * i / nt;
            uint32_t a = t.bounds[i - 1], b = t.m->rows;
            while (a < b) {
                uint32_t mid = a + (b - a) / 2;
                if (t.m->rowptr[mid] < target)
                    a = mid + 1;
                else
                    b = mid;
            }
            t.bounds[i] = a;
        }
        t.bounds[nt] = t.m->rows;
        lsc_pool_run(r->exec.pool, csr_run_task, &t, nt);
    } else if (r->kind == 3) {
        eigen_spmm_run(r->eg[k], r->x, r->n, r->y);
    } else if (r->kind == 4) {
        librsb_spmm_run(r->rb[k], r->x, r->n, r->y, r->threads);
    } else if (r->n == 1) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)r->rows, (int)r->cols, 1.0f, r->dense[k],
                    (int)r->cols, r->x, 1, 0.0f, r->y, 1);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)r->rows, (int)r->n,
                    (int)r->cols, 1.0f, r->dense[k], (int)r->cols, r->x, (int)r->n, 0.0f, r->y,
                    (int)r->n);
    }
}

/* Best time of one multiply (seconds). */
static int cpu_clock; /* --cpu-time */

static double timer(void)
{
    if (!cpu_clock)
        return now();
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double measure(run_ctx *r)
{
    for (size_t i = 0; i < r->copies && i < 2; i++)
        run_once(r);
    double best = 1e30, spent = 0;
    for (int reps = 0; reps < 3 || (spent < MIN_TIME && reps < 2000); reps++) {
        double t0 = timer();
        run_once(r);
        double t = timer() - t0;
        spent += t;
        if (t < best)
            best = t;
    }
    return best;
}

/* A peer's figure, or "-" (negative: not built, or not timed at this thread count). */
static const char *peer_fmt(char *buf, size_t size, const char *fmt, double v)
{
    if (v < 0)
        return "-";
    snprintf(buf, size, fmt, v);
    return buf;
}

/* ---- main ------------------------------------------------------------------ */

/* A weight copy: 64-byte aligned like in a bundle, or on huge pages (--huge-values). */
static void *blob_alloc(size_t size, int huge)
{
    const size_t page = (size_t)2 << 20;
    void *p = NULL;
    if (!huge)
        return aligned_alloc(64, (size + 63) / 64 * 64);
    if (posix_memalign(&p, page, size ? size : 1))
        return NULL;
    (void)madvise(p, size, MADV_HUGEPAGE); /* advice: small pages if refused */
    return p;
}

static size_t copies_for(size_t bytes, int stream)
{
    if (!stream)
        return 1;
    size_t c = (STREAM_SET + bytes - 1) / (bytes ? bytes : 1);
    return c < 2 ? 2 : c > MAX_COPIES ? MAX_COPIES : c;
}

int main(int argc, char **argv)
{
    librsb_spmm_prepare(argv);
    int quick = 0, csv = 0, form = 1, huge_values = 0;
    lsc_n1_kind form_kind = LSC_N1_AUTO;
    const char *only = NULL;
    double one_density = 0;
    unsigned force_bits = 0, force_bh = 0, force_bw = 0, slack = LSC_DEFAULT_SIZE_SLACK_PPM;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--csv"))
            csv = 1;
        else if (!strcmp(argv[i], "--cpu-time"))
            cpu_clock = 1;
        else if (!strcmp(argv[i], "--huge-values"))
            huge_values = 1;
        else if (!strcmp(argv[i], "--no-form"))
            form = 0;
        else if (!strcmp(argv[i], "--form") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "packed") || !strcmp(argv[i + 1], "plain")))
            form_kind = !strcmp(argv[++i], "plain") ? LSC_N1_PLAIN : LSC_N1_PACKED;
        else if (!strcmp(argv[i], "--layer") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--density") && i + 1 < argc && atof(argv[i + 1]) > 0 &&
                 atof(argv[i + 1]) <= 1)
            one_density = atof(argv[++i]);
        else if (!strcmp(argv[i], "--slack") && i + 1 < argc)
            slack = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--bits") && i + 1 < argc)
            force_bits = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--block") && i + 1 < argc &&
                 sscanf(argv[i + 1], "%ux%u", &force_bh, &force_bw) == 2)
            i++;
        else {
            fprintf(stderr, "usage: lsc-bench [--quick] [--layer NAME] [--density D] [--csv] "
                            "[--bits B] [--block HxW] [--slack PPM] [--no-form] [--form packed|plain] "
                            "[--cpu-time] [--huge-values]\n");
            return 2;
        }
    }
    const char *variant = lsc_kernels_select(lsc_cpu_flags())->name;
    int avx2 = (lsc_cpu_flags() & LSC_CPU_AVX2) != 0;
    lsc_pool *pools[3] = { NULL, NULL, NULL };
    lsc_error err;
    for (unsigned t = 1; t <= 2; t++)
        if (lsc_pool_create(t, &pools[t], &err) != LSC_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
    double bw[3] = { 0, stream_bandwidth(pools[1], 1), stream_bandwidth(pools[2], 2) };
    printf("# lsc-bench: kernel variant %s, CSR %s, OpenBLAS %s, Eigen %s (1 thread), librsb %s\n",
           variant, avx2 ? "avx2" : "scalar", OPENBLAS_VERSION,
           eigen_spmm_version() ? eigen_spmm_version() : "-",
           librsb_spmm_version() ? librsb_spmm_version() : "-");
    printf("# streaming read bandwidth: %.2f GB/s (1 thread), %.2f GB/s (2 threads)\n",
           bw[1] / 1e9, bw[2] / 1e9);
    printf("# FMA peak of one core, a dense FMA loop measured now: %.1f GFLOP/s (8 floats a "
           "vector), %.1f (16)\n",
           avx2 ? fma_peak_gflops(8) : 0.0,
           lsc_cpu_flags() & LSC_CPU_AVX512 ? fma_peak_gflops(16) : 0.0);
    printf("# times are the best of repeated runs (%s); hot = same weight reused, stream = %u MiB of "
           "copies rotated%s\n",
           cpu_clock ? "process CPU time" : "wall time", STREAM_SET >> 20,
           huge_values ? "; weights on 2 MiB pages (--huge-values)" : "");
    if (csv)
        printf("layer,pattern,density,n,threads,case,block,bits,nnz,lsc_ms,lsc_gflops,lsc_bytes,"
               "csr_ms,csr_bytes,eigen_ms,rsb_ms,dense_ms,x_dense,x_csr,x_eigen,x_rsb,bound_ms,"
               "of_bound\n");
    else
        printf("| layer | pattern | density | N | thr | case | block/b | LSC ms | GFLOP/s | LSC MB "
               "| CSR ms | CSR MB | Eigen ms | RSB ms | dense ms | x dense | x CSR | x Eigen "
               "| x RSB | bound ms | of bound |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
               "---|\n");
    fflush(stdout);
    static const double dens_full[] = { 0.5, 0.2, 0.1, 0.05, 0.02, 0.01 };
    static const double dens_quick[] = { 0.1, 0.02 };
    static const size_t ns_full[] = { 1, 8, 16, 32, 64, 256 }, ns_quick[] = { 1, 64 };
    const double *dens = one_density ? &one_density : quick ? dens_quick : dens_full;
    size_t n_dens = one_density ? 1 : quick ? 2 : 6;
    const size_t *ns = quick ? ns_quick : ns_full;
    size_t n_ns = quick ? 2 : sizeof ns_full / sizeof ns_full[0];

    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        const layer *L = &layers[li];
        if (only ? strcmp(only, L->name) != 0 : (quick && !L->quick))
            continue;
        size_t dense_bytes = (size_t)L->rows * L->cols * 4;
        float *x = malloc((size_t)L->cols * 256 * sizeof(float));
        float *y = malloc((size_t)L->rows * 256 * sizeof(float));
        if (!x || !y)
            return 1;
        for (size_t i = 0; i < (size_t)L->cols * 256; i++)
            x[i] = (float)(unit() - 0.5);
        /* dense timings do not depend on the density: one per (N, threads, case) */
        double dense_ms[sizeof ns_full / sizeof ns_full[0]][3][2];
        {
            size_t dc = copies_for(dense_bytes, 1);
            float *dw[MAX_COPIES];
            float *w0 = make_weight(L->rows, L->cols, 0.5, 0);
            for (size_t c = 0; c < dc; c++) {
                dw[c] = malloc(dense_bytes);
                if (!dw[c])
                    return 1;
                memcpy(dw[c], w0, dense_bytes);
            }
            for (size_t ni = 0; ni < n_ns; ni++)
                for (unsigned t = 1; t <= 2; t++)
                    for (int s = 0; s < 2; s++) {
                        if (s && ns[ni] > 1) {
                            dense_ms[ni][t][s] = 0;
                            continue;
                        }
                        openblas_set_num_threads((int)t);
                        run_ctx r = { .kind = 2, .copies = s ? dc : 1, .dense = dw,
                                      .rows = L->rows, .cols = L->cols, .x = x, .y = y,
                                      .n = ns[ni], .threads = t };
                        dense_ms[ni][t][s] = 1e3 * measure(&r);
                    }
            for (size_t c = 0; c < dc; c++)
                free(dw[c]);
            free(w0);
        }
        for (int structured = 0; structured < 2; structured++) {
            if (structured && (quick || L->rows < 1000))
                continue;
            for (size_t di = 0; di < n_dens; di++) {
                float *w = make_weight(L->rows, L->cols, dens[di], structured);
                if (!w)
                    return 1;
                lsc_tensor tensor = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2,
                                      .dims = { L->rows, L->cols }, .data = w };
                lsc_encode_options opt;
                lsc_encode_options_default(&opt);
                opt.index_bits = force_bits;
                opt.size_slack_ppm = slack;
                opt.block_h = force_bh;
                opt.block_w = force_bh && !force_bw ? L->cols : force_bw; /* HxW, W=0: full */
                void *blob = NULL;
                size_t blob_size = 0;
                lsc_encode_stats st;
                double t_enc = now();
                if (lsc_encode(&tensor, &opt, &blob, &blob_size, &st, &err) != LSC_OK) {
                    fprintf(stderr, "%s: encode: %s\n", L->name, err.message);
                    return 1;
                }
                t_enc = now() - t_enc;
                csr c0;
                if (csr_from_dense(&c0, w, L->rows, L->cols))
                    return 1;
                free(w);
                size_t csr_sz = csr_bytes(&c0);
                /* copies for the streaming case, each blob 64-byte aligned like in a bundle */
                size_t lc = copies_for(blob_size, 1), cc = copies_for(csr_sz, 1);
                void *blobs[MAX_COPIES];
                size_t form_bytes = 0;
                double t_form = 0;
                lsc_weight *ws[MAX_COPIES];
                csr cs[MAX_COPIES];
                for (size_t c = 0; c < lc; c++) {
                    blobs[c] = blob_alloc(blob_size, huge_values);
                    if (!blobs[c])
                        return 1;
                    memcpy(blobs[c], blob, blob_size);
                    if (lsc_weight_open(blobs[c], blob_size, L->name, &ws[c], &err) != LSC_OK) {
                        fprintf(stderr, "%s\n", err.message);
                        return 1;
                    }
                    double t0 = now(); /* the batch-1 form, as the ONNX Runtime ops make it */
                    if (form && lsc_weight_prepare_n1_kind(ws[c], form_kind, &form_bytes, &err) != LSC_OK) {
                        fprintf(stderr, "%s\n", err.message);
                        return 1;
                    }
                    t_form = c ? t_form : now() - t0;
                }
                cs[0] = c0;
                for (size_t c = 1; c < cc; c++) {
                    cs[c] = c0;
                    cs[c].rowptr = malloc(((size_t)c0.rows + 1) * 4);
                    cs[c].colidx = malloc(c0.nnz * 4 + 4);
                    cs[c].vals = malloc(c0.nnz * 4 + 4);
                    if (!cs[c].rowptr || !cs[c].colidx || !cs[c].vals)
                        return 1;
                    memcpy(cs[c].rowptr, c0.rowptr, ((size_t)c0.rows + 1) * 4);
                    memcpy(cs[c].colidx, c0.colidx, c0.nnz * 4);
                    memcpy(cs[c].vals, c0.vals, c0.nnz * 4);
                }
                /* the peers: one per CSR copy, built from it (NULL: not built) */
                eigen_spmm *es[MAX_COPIES];
                librsb_spmm *rs[MAX_COPIES];
                for (size_t c = 0; c < cc; c++) {
                    es[c] = eigen_spmm_create(&cs[c]);
                    rs[c] = librsb_spmm_create(&cs[c]);
                    if ((es[0] && !es[c]) || (rs[0] && !rs[c]))
                        return 1;
                }
                fprintf(stderr, "%s %s d=%.2f: encoded in %.1f s, block %ux%u b=%u, %zu bytes; "
                        "batch-1 form %s %zu bytes (%.3f of the blob) in %.1f ms\n",
                        L->name, structured ? "structured" : "uniform", dens[di], t_enc,
                        st.block_h, st.block_w, st.index_bits, blob_size,
                        !ws[0]->n1_form ? "(none)"
                        : ws[0]->n1_form->kind == LSC_N1_PLAIN ? "plain" : "bit-packed", form_bytes,
                        (double)form_bytes / (double)blob_size, t_form * 1e3);
                for (size_t ni = 0; ni < n_ns; ni++)
                    for (unsigned t = 1; t <= 2; t++)
                        for (int s = 0; s < 2; s++) {
                            if (s && ns[ni] > 1)
                                continue; /* N > 1 reuses each weight byte N times: hot only */
                            size_t n = ns[ni];
                            run_ctx r = { .kind = 0, .copies = s ? lc : 1, .w = ws, .c = cs,
                                          .rows = L->rows, .cols = L->cols, .x = x, .y = y,
                                          .n = n, .exec = { .pool = pools[t] }, .threads = t,
                                          .avx2 = avx2 };
                            double lsc_ms = 1e3 * measure(&r);
                            r.kind = 1;
                            r.copies = s ? cc : 1;
                            r.next = 0;
                            double csr_ms = 1e3 * measure(&r);
                            r.eg = es;
                            r.rb = rs;
                            r.kind = 3;
                            r.next = 0;
                            double eigen_ms = es[0] && t == 1 ? 1e3 * measure(&r) : -1;
                            r.kind = 4;
                            r.next = 0;
                            double rsb_ms = rs[0] ? 1e3 * measure(&r) : -1;
                            char b[4][16];
                            double dms = dense_ms[ni][t][s];
                            double gflops = 2.0 * (double)st.nnz * (double)n / (lsc_ms * 1e6);
                            double bound_ms = 1e3 * (double)blob_size / bw[t];
                            const char *cs_name = s ? "stream"
                                                    : blob_size <= (8u << 20) ? "hot (in LLC)"
                                                                              : "hot (> LLC)";
                            if (csv)
                                printf("%s,%s,%.2f,%zu,%u,%s,%ux%u,%u,%llu,%.4f,%.2f,%zu,%.4f,%zu,"
                                       "%s,%s,%.4f,%.2f,%.2f,%s,%s,%.4f,%.2f\n",
                                       L->name, structured ? "structured" : "uniform", dens[di], n,
                                       t, s ? "stream" : "hot", st.block_h, st.block_w,
                                       st.index_bits, (unsigned long long)st.nnz, lsc_ms, gflops,
                                       blob_size, csr_ms, csr_sz,
                                       peer_fmt(b[0], 16, "%.4f", eigen_ms),
                                       peer_fmt(b[1], 16, "%.4f", rsb_ms), dms, dms / lsc_ms,
                                       csr_ms / lsc_ms,
                                       peer_fmt(b[2], 16, "%.2f", eigen_ms / lsc_ms),
                                       peer_fmt(b[3], 16, "%.2f", rsb_ms / lsc_ms), bound_ms,
                                       bound_ms / lsc_ms);
                            else
                                printf("| %s | %s | %g%% | %zu | %u | %s | %ux%u/%u | %.3f | %.2f "
                                       "| %.2f | %.3f | %.2f | %s | %s | %.3f | %.2f | %.2f | %s "
                                       "| %s | %.3f | %.2f |\n",
                                       L->name, structured ? "struct 4x8" : "uniform",
                                       dens[di] * 100, n, t, cs_name, st.block_h, st.block_w,
                                       st.index_bits, lsc_ms, gflops, blob_size / 1e6, csr_ms,
                                       csr_sz / 1e6, peer_fmt(b[0], 16, "%.3f", eigen_ms),
                                       peer_fmt(b[1], 16, "%.3f", rsb_ms), dms, dms / lsc_ms,
                                       csr_ms / lsc_ms,
                                       peer_fmt(b[2], 16, "%.2f", eigen_ms / lsc_ms),
                                       peer_fmt(b[3], 16, "%.2f", rsb_ms / lsc_ms), bound_ms,
                                       bound_ms / lsc_ms);
                            fflush(stdout);
                        }
                for (size_t c = 0; c < lc; c++) {
                    lsc_weight_close(&ws[c]);
                    free(blobs[c]);
                }
                for (size_t c = 0; c < cc; c++) {
                    eigen_spmm_free(es[c]);
                    librsb_spmm_free(rs[c]);
                    csr_free(&cs[c]);
                }
                lsc_free(blob);
            }
        }
        free(x);
        free(y);
    }
    lsc_pool_free(&pools[1]);
    lsc_pool_free(&pools[2]);
    return 0;
}
