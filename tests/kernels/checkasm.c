/* checkasm-style kernel tests (after dav1d's): each SIMD variant against the scalar
 * variant on the same inputs, case by case, one case per path of the block-row
 * driver (brows.h), the windowed multiply (windows.h), the block-row decoder and,
 * at n = 1, the batch-1 form's two kinds (bit-packed and plain, form.h), at n = 2..64
 * the narrow multiply on the plain kind (plain_spmm.h).
 * Decoded positions must match bit for bit; products within 1e-5 of the sum of
 * |w * x| (the variants fuse multiply and add where the scalar one may not).
 *   test-checkasm            run the checks (a test)
 *   test-checkasm --bench    also time each variant per case (a benchmark, not a test) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "codec/blob.h"
#include "common/cpu.h"
#include "kernels/spmm.h"
#include "rng.h"

typedef struct kcase {
    const char *path; /* the path of brows.h the case is built to reach */
    uint32_t rows, cols;
    double density;
    uint32_t bh, bw;
    unsigned bits;
    size_t n;
} kcase;

static const kcase cases[] = {
    { "whole rows, n = 1 (k_rowpos, k_dot)", 64, 3001, 0.10, 1, 3001, 5, 1 },
    { "whole rows, n = 13 (k_rowpos, k_row)", 64, 3001, 0.10, 1, 3001, 5, 13 },
    { "whole rows, bh 5, n = 1 (whole_width_runs)", 60, 2000, 0.10, 5, 2000, 6, 1 },
    { "whole rows, n = 300 (whole_rows_cached)", 48, 1200, 0.30, 1, 1200, 3, 300 },
    /* windows: one tile of 224 columns (a 14x14 layer's; whole vectors, no masked
     * tail) in panels of rows (more rows than a panel holds), and 96 */
    { "whole rows, n = 224 (k_row whole-vector tail, panels)", 150, 1152, 0.35, 1, 1152, 2, 224 },
    { "whole rows, n = 96 (k_row whole-vector tail)", 70, 576, 0.25, 1, 576, 2, 96 },
    { "4x9 blocks, n = 1 (map_scatter_split)", 64, 900, 0.10, 4, 9, 3, 1 },
    { "4x9 blocks, n = 21 (multiply_by_row)", 64, 900, 0.10, 4, 9, 3, 21 },
    { "1x16 blocks, n = 1 (multiply_runs, k_dot)", 64, 512, 0.30, 1, 16, 4, 1 },
    { "300x8 blocks, 2%, n = 13 (k_gen)", 600, 64, 0.02, 300, 8, 4, 13 },
    { "300x8 blocks, 2%, n = 21 (k_gen)", 600, 64, 0.02, 300, 8, 4, 21 },
    { "100x8 blocks, 2%, n = 1 (k_n1)", 300, 64, 0.02, 100, 8, 4, 1 },
    { "300x8 blocks, 2%, n = 200 (k_gen in column tiles)", 600, 64, 0.02, 300, 8, 4, 200 },
    /* the batch-1 forms: rows of ~16 (flat products, eight sums at once), rows longer
     * than a chunk, one-value segments, and rows whose chunks take either way */
    { "32x800 blocks, 2%, n = 1 (forms: short segments)", 500, 800, 0.02, 32, 800, 8, 1 },
    { "whole rows, 30%, n = 1 (forms: rows past a chunk)", 40, 3001, 0.30, 1, 3001, 3, 1 },
    { "8x4 blocks, 9%, n = 1 (forms: one-value segments)", 100, 300, 0.09, 8, 4, 3, 1 },
    { "whole rows, 4%, n = 1 (forms: ~33 values a row)", 200, 830, 0.04, 1, 830, 6, 1 },
    /* the narrow multiply on the plain form: X (64-byte aligned here) read in place at
     * n = 8, 16, 64 and copied at n = 3, 21 (each case again with X 16 bytes past a
     * line: copied, at n = 8, 16, 64 in one piece); k-blocks (1024 columns at n = 8, 128 at
     * n = 64) and one; several segments a row (4x9 blocks); the steps of 8, 4, 1 values */
    { "whole rows, 30%, n = 8 (plain_spmm: k-blocks, in place)", 64, 9000, 0.30, 1, 9000, 3, 8 },
    { "whole rows, 10%, n = 21 (plain_spmm: masked, copied)", 64, 3001, 0.10, 1, 3001, 5, 21 },
    { "4x9 blocks, n = 40 (plain_spmm: segments in blocks)", 64, 900, 0.10, 4, 9, 3, 40 },
    { "whole rows, 30%, n = 64 (plain_spmm: four vectors)", 40, 2000, 0.30, 1, 2000, 3, 64 },
    { "1x16 blocks, n = 3 (plain_spmm: one k-block, masked)", 64, 512, 0.30, 1, 16, 4, 3 },
    { "whole rows, 50%, n = 16 (plain_spmm: k-blocks)", 30, 1500, 0.50, 1, 1500, 2, 16 },
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static double unit(void)
{
    return xorshift64_unit(&rng_state);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* y against ref (rows x n), within 1e-5 of mag, the sum of |w * x| per element. */
static int close_enough(const char *what, const float *y, const float *ref, const double *mag,
                        size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (!(fabs((double)y[i] - ref[i]) <= 1e-5 * mag[i] + 1e-6)) {
            fprintf(stderr, "%s: element %zu = %.9g, scalar %.9g\n", what, i, y[i], ref[i]);
            return 0;
        }
    return 1;
}

typedef struct setup {
    lsc_weight *w;
    lsc_n1_form *forms[2]; /* n = 1: bit-packed, plain */
    void *blob;
    float *wf, *x, *ref, *y;
    float *x16_mem, *x16; /* X again, 16 bytes past a line as malloc gives it */
    double *mag;
    size_t *offs, x_count;
} setup;

/* Encodes the case's matrix with its forced block shape and index width; X for the
 * plain multiply (cols x n) and, as windows, offsets over it. */
static int make_setup(const kcase *c, setup *s)
{
    memset(s, 0, sizeof *s);
    size_t cells = (size_t)c->rows * c->cols;
    s->wf = calloc(cells, sizeof(float));
    for (size_t i = 0; i < cells; i++)
        if (unit() < c->density)
            s->wf[i] = (float)(unit() * 2 - 1);
    lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { c->rows, c->cols },
                     .data = s->wf };
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    opt.block_h = c->bh;
    opt.block_w = c->bw;
    opt.index_bits = c->bits;
    size_t size;
    lsc_error err = { 0 };
    if (lsc_encode(&t, &opt, &s->blob, &size, NULL, &err) != LSC_OK ||
        lsc_weight_open(s->blob, size, c->path, &s->w, &err) != LSC_OK) {
        fprintf(stderr, "%s: %s\n", c->path, err.message);
        return 0;
    }
    CHECKF(s->w->view.block_h == c->bh && s->w->view.block_w == c->bw, "%s: got %ux%u", c->path,
           s->w->view.block_h, s->w->view.block_w);
    s->x_count = (size_t)c->cols * c->n;
    s->x = aligned_alloc(64, (s->x_count * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < s->x_count; i++)
        s->x[i] = (float)(unit() * 2 - 1);
    s->x16_mem = aligned_alloc(64, (s->x_count * sizeof(float) + 16 + 63) / 64 * 64);
    if (s->x16_mem) {
        s->x16 = s->x16_mem + 4;
        memcpy(s->x16, s->x, s->x_count * sizeof(float));
    }
    s->offs = malloc(c->cols * sizeof *s->offs);
    for (uint32_t k = 0; k < c->cols; k++) /* overlapping windows, as a convolution's */
        s->offs[k] = (size_t)k * (c->n / 3);
    s->ref = malloc((size_t)c->rows * c->n * sizeof(float));
    s->y = malloc((size_t)c->rows * c->n * sizeof(float));
    s->mag = calloc((size_t)c->rows * c->n, sizeof(double));
    if (c->n > 1 && c->n <= LSC_PLAIN_MAX_N &&
        (lsc_n1_form_build(&s->w->view, 0, LSC_N1_PLAIN, &s->forms[1], &err) != LSC_OK ||
         !s->forms[1]))
        return 0;
    if (c->n == 1 && (lsc_n1_form_build(&s->w->view, 0, LSC_N1_PACKED, &s->forms[0], &err) != LSC_OK ||
                      lsc_n1_form_build(&s->w->view, 0, LSC_N1_PLAIN, &s->forms[1], &err) != LSC_OK ||
                      !s->forms[0] || !s->forms[1]))
        return 0;
    return s->x && s->x16_mem && s->offs && s->ref && s->y && s->mag;
}

static void free_setup(setup *s)
{
    lsc_n1_form_free(s->forms[0]);
    lsc_n1_form_free(s->forms[1]);
    lsc_weight_close(&s->w);
    lsc_free(s->blob);
    free(s->wf);
    free(s->x);
    free(s->x16_mem);
    free(s->offs);
    free(s->ref);
    free(s->y);
    free(s->mag);
}

/* The magnitudes for X as the plain multiply (windows = 0) or as windows. */
static void magnitudes(const kcase *c, setup *s, int windows)
{
    for (uint32_t i = 0; i < c->rows; i++)
        for (size_t j = 0; j < c->n; j++) {
            double m = 0;
            for (uint32_t k = 0; k < c->cols; k++)
                m += fabs((double)s->wf[(size_t)i * c->cols + k] *
                          s->x[windows ? s->offs[k] + j : k * c->n + j]);
            s->mag[i * c->n + j] = m;
        }
}

static void call_brows(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y)
{
    lsc_spmm_job job = { .v = &s->w->view, .x = s->x, .ldx = c->n, .n = c->n, .y = y,
                         .ldy = c->n, .row_begin = 0, .row_end = c->rows };
    ks->brows(&job, 0, s->w->view.n_brows);
}

static void call_windows(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y)
{
    lsc_exec exec = { .cpu_mask = ks->needs | LSC_CPU_SCALAR };
    lsc_error err = { 0 };
    CHECKF(lsc_spmm_windows(s->w, s->x, s->offs, c->n, y, c->n, 0, 0, &exec, &err) == LSC_OK,
           "%s: %s", c->path, err.message);
}

static void call_form(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y, int kind)
{
    lsc_spmm_job job = { .v = &s->w->view, .x = s->x, .ldx = 1, .n = 1, .y = y, .ldy = 1,
                         .row_begin = 0, .row_end = c->rows, .form = s->forms[kind] };
    ks->form_rows(&job, 0, s->w->view.n_brows);
}

static void call_form_packed(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y)
{
    call_form(ks, c, s, y, 0);
}

static void call_form_plain(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y)
{
    call_form(ks, c, s, y, 1);
}

static void call_plain_spmm(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y)
{
    lsc_spmm_job job = { .v = &s->w->view, .x = s->x, .ldx = c->n, .n = c->n, .y = y,
                         .ldy = c->n, .row_begin = 0, .row_end = c->rows, .form = s->forms[1] };
    ks->plain_spmm(&job, 0, s->w->view.n_brows);
}

/* The same with X 16 bytes past a line: its k-blocks copied to an aligned buffer (one
 * copy where its rows are back to back, ldx = 8, 16, 32, 64), checked against scalar
 * reading the aligned X in place. */
static void call_plain_spmm_x16(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y)
{
    lsc_spmm_job job = { .v = &s->w->view, .x = s->x16, .ldx = c->n, .n = c->n, .y = y,
                         .ldy = c->n, .row_begin = 0, .row_end = c->rows, .form = s->forms[1] };
    ks->plain_spmm(&job, 0, s->w->view.n_brows);
}

typedef void (*call_fn)(const lsc_kernel_set *ks, const kcase *c, setup *s, float *y);

/* Best time of a few calls, in microseconds. */
static double bench_call(call_fn fn, const lsc_kernel_set *ks, const kcase *c, setup *s)
{
    double best = 1e30;
    for (int r = 0; r < 20; r++) {
        double t0 = now();
        fn(ks, c, s, s->y);
        double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    return best * 1e6;
}

/* Every block row decoded by the variant and by scalar: the same columns and rows. */
static void check_unpack(const lsc_kernel_set *ks, const lsc_kernel_set *ref, const kcase *c,
                         setup *s)
{
    const lsc_blob_view *v = &s->w->view;
    size_t cap = (size_t)v->block_h * v->cols;
    uint32_t *kept = malloc((v->n_bcols + 1) * sizeof *kept);
    uint32_t *c0 = malloc(cap * sizeof *c0), *l0 = malloc(cap * sizeof *l0);
    uint32_t *c1 = malloc(cap * sizeof *c1), *l1 = malloc(cap * sizeof *l1);
    if (!kept || !c0 || !l0 || !c1 || !l1)
        abort();
    for (uint32_t br = 0; br < v->n_brows; br++) {
        uint32_t *lr0 = v->block_h > 1 ? l0 : NULL, *lr1 = v->block_h > 1 ? l1 : NULL;
        uint64_t n0 = ref->unpack(v, br, kept, c0, lr0, cap);
        uint64_t n1 = ks->unpack(v, br, kept, c1, lr1, cap);
        int same = n0 == n1 && !memcmp(c0, c1, n0 * sizeof *c0) &&
                   (!lr0 || !memcmp(l0, l1, n0 * sizeof *l0));
        CHECKF(same, "%s: %s unpack of block row %u differs from scalar", c->path, ks->name, br);
        if (!same)
            break;
    }
    free(kept);
    free(c0);
    free(l0);
    free(c1);
    free(l1);
}

int main(int argc, char **argv)
{
    int bench = argc > 1 && !strcmp(argv[1], "--bench");
    const lsc_kernel_set *scalar = lsc_kernels_select(LSC_CPU_SCALAR);
    const lsc_kernel_set *sets[2] = { lsc_kernels_select(lsc_cpu_flags()), NULL };
    unsigned have = lsc_cpu_flags();
    if ((have & LSC_CPU_AVX512) && (have & LSC_CPU_AVX2)) /* both x86 variants */
        sets[1] = lsc_kernels_select(LSC_CPU_AVX2);
    if (sets[0] == scalar)
        printf("no SIMD variant on this CPU (or in this build): scalar only\n");
    size_t checks = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const kcase *c = &cases[ci];
        setup s;
        if (!make_setup(c, &s)) {
            CHECKF(0, "%s: setup failed", c->path);
            free_setup(&s);
            continue;
        }
        static const call_fn fns[6] = { call_brows, call_windows, call_form_packed,
                                        call_form_plain, call_plain_spmm, call_plain_spmm_x16 };
        static const char *fn_names[6] = { "brows", "windows", "form-packed", "form-plain",
                                           "plain-spmm", "plain-spmm-x16" };
        for (int f = 0; f < 6; f++) {
            if ((f == 2 || f == 3) ? c->n != 1 : f >= 4 ? !s.forms[1] || c->n == 1 : 0)
                continue;
            magnitudes(c, &s, f == 1);
            (f == 5 ? call_plain_spmm : fns[f])(scalar, c, &s, s.ref);
            if (f == 5) { /* scalar's copies of X too */
                for (size_t i = 0; i < (size_t)c->rows * c->n; i++)
                    s.y[i] = NAN;
                fns[f](scalar, c, &s, s.y);
                CHECKF(close_enough(c->path, s.y, s.ref, s.mag, (size_t)c->rows * c->n),
                       "%s: scalar plain-spmm-x16", c->path);
                checks++;
            }
            double t_ref = bench ? bench_call(fns[f], scalar, c, &s) : 0;
            for (int k = 0; k < 2 && sets[k] && sets[k] != scalar; k++) {
                for (size_t i = 0; i < (size_t)c->rows * c->n; i++)
                    s.y[i] = NAN; /* every element must be written */
                fns[f](sets[k], c, &s, s.y);
                char what[200];
                snprintf(what, sizeof what, "%s: %s %s", c->path, sets[k]->name, fn_names[f]);
                CHECKF(close_enough(what, s.y, s.ref, s.mag, (size_t)c->rows * c->n), "%s", what);
                checks++;
                if (bench)
                    printf("%-50s %-11s %-6s scalar %9.1f us, %9.1f us (%.2fx)\n", c->path,
                           fn_names[f], sets[k]->name, t_ref,
                           bench_call(fns[f], sets[k], c, &s),
                           t_ref / bench_call(fns[f], sets[k], c, &s));
            }
        }
        for (int k = 0; k < 2 && sets[k] && sets[k] != scalar; k++, checks++)
            check_unpack(sets[k], scalar, c, &s);
        free_setup(&s);
    }
    printf("%zu variant checks against scalar\n", checks);
    return check_exit();
}
