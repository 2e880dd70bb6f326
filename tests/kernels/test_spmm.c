/* Every kernel variant against a dense reference computed from lsc_weight_decode:
 * many shapes, densities, block shapes, index widths, dtypes, n, row ranges and ways
 * of running (serial, pool of 1 and 2, a host's parallel-for). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/cpu.h"
#include "codec/blob.h"
#include "kernels/convert.h"
#include "kernels/form.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    return xorshift64(&rng_state);
}

static double unit(void)
{
    return xorshift64_unit(&rng_state);
}

/* A value in +-[0.1, 2) written in dtype at dst. Never zero in any type. */
static void put_value(lsc_dtype dtype, uint8_t *dst)
{
    float f = (float)(0.1 + 1.9 * unit());
    if (rnd() & 1)
        f = -f;
    uint32_t u;
    memcpy(&u, &f, 4);
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: memcpy(dst, &f, 4); break;
    case LSC_DTYPE_FLOAT64: {
        double d = f;
        memcpy(dst, &d, 8);
        break;
    }
    case LSC_DTYPE_BFLOAT16: {
        uint16_t h = (uint16_t)(u >> 16);
        memcpy(dst, &h, 2);
        break;
    }
    case LSC_DTYPE_FLOAT16: {
        uint32_t exp = (u >> 23) & 0xff;
        uint16_t h = (uint16_t)(((u >> 16) & 0x8000) | ((exp - 112) << 10) | ((u >> 13) & 0x3ff));
        memcpy(dst, &h, 2);
        break;
    }
    case LSC_DTYPE_UINT8:
    case LSC_DTYPE_INT8:
        dst[0] = (uint8_t)(1 + rnd() % 255); /* 8-bit weights: tests/codec/test_int8.c */
        break;
    }
}

/* EDGES: by row mod 5 empty, one value in the last column, one in column 0, random
 * and the last column, random (the batch-1 forms' edge cases) */
enum pattern { UNIFORM, EMPTY_ROWS, BLOCKS, ZERO, EDGES };

/* A rows x cols tensor of `dtype` with about `density` non-zeros in `pattern`. */
static uint8_t *make_matrix(uint32_t rows, uint32_t cols, double density, enum pattern pat,
                            lsc_dtype dtype)
{
    size_t es = lsc_elem_size(dtype);
    uint8_t *m = calloc((size_t)rows * cols, es);
    if (!m)
        abort();
    if (pat == ZERO)
        return m;
    for (uint32_t r = 0; r < rows; r++) {
        if (pat == EMPTY_ROWS && r % 3 != 1)
            continue;
        for (uint32_t c = 0; c < cols; c++) {
            int keep = unit() < density;
            if (pat == EDGES)
                keep = r % 5 == 1 ? c == cols - 1 : r % 5 == 2 ? c == 0
                       : r % 5 == 3 ? keep || c == cols - 1 : r % 5 == 4 && keep;
            if (pat == BLOCKS)
                keep = ((r / 4 + c / 8) % 3 == 0) && unit() < density * 3;
            if (keep)
                put_value(dtype, m + ((size_t)r * cols + c) * es);
        }
    }
    return m;
}

static int run_host_for_calls;

/* A host's scratch allocator (lsc_exec.scratch_alloc): counts what is outstanding
 * and hands out poisoned memory, so a kernel reading a buffer before writing it or
 * freeing it twice shows up. */
static long scratch_live, scratch_calls;
static void *scratch_alloc(void *context, size_t bytes)
{
    CHECK(context == &scratch_live);
    unsigned char *p = malloc(bytes + 16);
    if (!p)
        return NULL;
    memset(p, 0xA5, bytes + 16);
    scratch_live++;
    scratch_calls++;
    return p + 16;
}
static void scratch_free(void *context, void *p)
{
    CHECK(context == &scratch_live && p);
    scratch_live--;
    free((unsigned char *)p - 16);
}
/* A host parallel-for that runs the tasks in reverse order, to catch order bugs. */
static void host_for(void *context, lsc_task_fn fn, void *arg, size_t n)
{
    (void)context;
    run_host_for_calls++;
    for (size_t i = n; i-- > 0;)
        fn(arg, i);
}

typedef struct variant {
    const char *name;
    unsigned mask;
} variant;

static variant variants[3];
static int n_variants;
static lsc_pool *pool1, *pool2;

static void setup_variants(void)
{
    unsigned have = lsc_cpu_flags();
    variants[n_variants++] = (variant){ "scalar", LSC_CPU_SCALAR };
    if (have & LSC_CPU_AVX2)
        variants[n_variants++] = (variant){ "avx2", LSC_CPU_SCALAR | LSC_CPU_AVX2 };
    else
        printf("skip avx2: this CPU (or OS) lacks AVX2+FMA+F16C\n");
    if (have & LSC_CPU_AVX512)
        variants[n_variants++] =
            (variant){ "avx512", LSC_CPU_SCALAR | LSC_CPU_AVX2 | LSC_CPU_AVX512 };
    else
        printf("skip avx512: this CPU (or OS) lacks AVX-512F\n");
}

static size_t cases_run, forms_built, forced_forms, plain_wide_runs;

/* y (rows x n, ldy) against W*X in double; rows outside [rb, re) must still hold
 * the sentinel. */
static void compare(const char *what, const float *wf, uint32_t rows, uint32_t cols,
                    const float *x, size_t ldx, size_t n, const float *y, size_t ldy, uint32_t rb,
                    uint32_t re)
{
    int bad = 0;
    for (uint32_t i = 0; i < rows && bad < 3; i++) {
        for (size_t j = 0; j < n && bad < 3; j++) {
            float got = y[i * ldy + j];
            if (i < rb || i >= re) {
                if (got != 777.0f) {
                    fprintf(stderr, "%s: row %u outside [%u, %u) was written\n", what, i, rb, re);
                    bad++;
                }
                continue;
            }
            double ref = 0, mag = 0;
            for (uint32_t k = 0; k < cols; k++) {
                double p = (double)wf[(size_t)i * cols + k] * x[k * ldx + j];
                ref += p;
                mag += fabs(p);
            }
            if (fabs(got - ref) > 1e-5 * mag + 1e-6) {
                fprintf(stderr, "%s: y[%u][%zu] = %.9g, reference %.9g\n", what, i, j, got, ref);
                bad++;
            }
        }
    }
    CHECKF(bad == 0, "%s", what);
    cases_run++;
}

static void fill(float *p, size_t count)
{
    for (size_t i = 0; i < count; i++)
        p[i] = (float)(unit() * 2 - 1);
}

/* Runs lsc_spmm for every variant and exec on one weight and one n. */
static void check_n(const lsc_weight *w, const char *label, const float *wf, uint32_t rows,
                    uint32_t cols, size_t n, int with_ranges)
{
    size_t ldx = n + (n % 3 == 0 ? 5 : 0), ldy = n + (n % 2 ? 3 : 0);
    float *x = malloc(sizeof(float) * cols * ldx);
    float *y = malloc(sizeof(float) * rows * ldy);
    if (!x || !y)
        abort();
    fill(x, (size_t)cols * ldx);
    for (int vi = 0; vi < n_variants; vi++) {
        lsc_exec execs[4] = {
            { .cpu_mask = variants[vi].mask },
            { .pool = pool1, .cpu_mask = variants[vi].mask },
            { .pool = pool2, .cpu_mask = variants[vi].mask },
            { .parallel_for = host_for, .cpu_mask = variants[vi].mask },
        };
        static const char *exec_names[4] = { "serial", "pool1", "pool2", "host" };
        for (int ei = 0; ei < 4; ei++) {
            uint32_t rb = 0, re = rows;
            int n_ranges = with_ranges ? 3 : 1;
            for (int ri = 0; ri < n_ranges; ri++) {
                if (ri == 1) {
                    rb = (uint32_t)(rnd() % rows);
                    re = rb + 1 + (uint32_t)(rnd() % (rows - rb));
                } else if (ri == 2) {
                    rb = rows / 2;
                    re = rows;
                }
                for (size_t i = 0; i < (size_t)rows * ldy; i++)
                    y[i] = 777.0f;
                lsc_error err = { 0 };
                lsc_status st = lsc_spmm(w, x, ldx, n, y, ldy, ri ? rb : 0, ri ? re : 0,
                                         &execs[ei], &err);
                char what[512];
                snprintf(what, sizeof what, "%s n=%zu %s %s rows [%u,%u)", label, n,
                         variants[vi].name, exec_names[ei], rb, re);
                CHECKF(st == LSC_OK, "%s: %s", what, err.message);
                if (st == LSC_OK)
                    compare(what, wf, rows, cols, x, ldx, n, y, ldy, rb, re);
            }
        }
    }
    free(x);
    free(y);
}

/* lsc_spmm_rows: Y = X * W^T for m row vectors. */
static void check_rows(const lsc_weight *w, const char *label, const float *wf, uint32_t rows,
                       uint32_t cols, size_t m)
{
    size_t ldx = cols + 1, ldy = rows + 2;
    float *x = malloc(sizeof(float) * m * ldx), *y = malloc(sizeof(float) * m * ldy);
    float *xt = malloc(sizeof(float) * cols * m), *yt = malloc(sizeof(float) * rows * m);
    if (!x || !y || !xt || !yt)
        abort();
    fill(x, m * ldx);
    for (size_t j = 0; j < m; j++)
        for (uint32_t k = 0; k < cols; k++)
            xt[k * m + j] = x[j * ldx + k];
    for (int vi = 0; vi < n_variants; vi++) {
        lsc_exec exec = { .pool = pool2, .cpu_mask = variants[vi].mask };
        lsc_error err = { 0 };
        CHECK(lsc_spmm_rows(w, x, ldx, m, y, ldy, &exec, &err) == LSC_OK);
        for (size_t j = 0; j < m; j++)
            for (uint32_t i = 0; i < rows; i++)
                yt[i * m + j] = y[j * ldy + i];
        char what[512];
        snprintf(what, sizeof what, "%s rows m=%zu %s", label, m, variants[vi].name);
        compare(what, wf, rows, cols, xt, m, m, yt, m, 0, rows);
    }
    free(x);
    free(y);
    free(xt);
    free(yt);
}

/* lsc_spmm_windows_to's sink for the checks: writes Y and counts the puts of every
 * element, each of which must come exactly once. */
typedef struct counting_sink {
    float *y;
    size_t ldy, n;
    uint8_t *count; /* rows x n */
} counting_sink;

static void put_counting(void *context, uint32_t row, size_t j0, const float *values, size_t n)
{
    counting_sink *c = context;
    for (size_t j = 0; j < n; j++) {
        c->y[row * c->ldy + j0 + j] = values[j];
        if (c->count[row * c->n + j0 + j] < 255)
            c->count[row * c->n + j0 + j]++;
    }
}

/* lsc_spmm_windows: X's row k is the window x + off[k]; offsets (kind 0) like a 3x3
 * convolution's over planes of `plane` floats (overlapping, increasing), or random
 * (kind 1: any order, repeats), n across the tile size; kinds 2 and 3: planes of
 * 16x16 as a 14x14 layer's, after 5 floats, taps 1 and 5 apart (dilation), where
 * AVX-512 copies X into 3 aligned copies (windows.c align_windows); x holds exactly
 * what the last window reads. Compared through the explicit X. */
static void check_windows(const lsc_weight *w, const char *label, const float *wf, uint32_t rows,
                          uint32_t cols, size_t n, int random_offsets)
{
    size_t *off = malloc(sizeof(size_t) * cols), span = 0, ldy = n + 3;
    size_t plane = 3 * (n / 2 + 7) + 5, tap = random_offsets == 3 ? 5 : 1;
    for (uint32_t k = 0; k < cols; k++) {
        off[k] = random_offsets == 1 ? (size_t)(rnd() % (4 * cols + 1))
                 : random_offsets ? 5 + k / 9 * 256 + k % 9 / 3 * 16 * tap + k % 3 * tap
                                  : k / 9 * plane + k % 9 / 3 * (n / 2 + 7) + k % 3;
        span = off[k] > span ? off[k] : span;
    }
    float *x = malloc(sizeof(float) * (span + n)), *xm = malloc(sizeof(float) * cols * n);
    float *y = malloc(sizeof(float) * rows * ldy);
    uint8_t *count = malloc((size_t)rows * n);
    if (!off || !x || !xm || !y || !count)
        abort();
    fill(x, span + n);
    for (uint32_t k = 0; k < cols; k++)
        memcpy(xm + (size_t)k * n, x + off[k], n * sizeof(float));
    for (int vi = 0; vi < n_variants; vi++) {
        lsc_exec execs[3] = {
            { .cpu_mask = variants[vi].mask },
            { .pool = pool2, .cpu_mask = variants[vi].mask },
            { .parallel_for = host_for, .cpu_mask = variants[vi].mask,
              .scratch_alloc = scratch_alloc, .scratch_free = scratch_free,
              .scratch_context = &scratch_live },
        };
        for (int ei = 0; ei < 3; ei++) {
            uint32_t rb = ei == 1 ? (uint32_t)(rnd() % rows) : 0;
            uint32_t re = ei == 1 ? rb + 1 + (uint32_t)(rnd() % (rows - rb)) : rows;
            for (size_t i = 0; i < (size_t)rows * ldy; i++)
                y[i] = 777.0f;
            lsc_error err = { 0 };
            lsc_status st;
            counting_sink cs = { y, ldy, n, count };
            if (ei == 2) { /* the sink form: every element of the rows put once */
                const lsc_windows_sink sink = { put_counting, &cs };
                memset(count, 0, (size_t)rows * n);
                st = lsc_spmm_windows_to(w, x, off, n, &sink, rb, re, &execs[ei], &err);
                for (size_t i = 0; st == LSC_OK && i < (size_t)rows * n; i++)
                    CHECKF(count[i] == (i / n >= rb && i / n < re), "%s windows_to: row %zu column %zu put %u times",
                           label, i / n, i % n, count[i]);
            } else {
                st = lsc_spmm_windows(w, x, off, n, y, ldy, rb, re, &execs[ei], &err);
            }
            char what[512];
            snprintf(what, sizeof what, "%s windows%s n=%zu %s exec %d rows [%u,%u)", label,
                     random_offsets == 1 ? " (random)" : random_offsets ? " (16x16 planes)" : "", n,
                     variants[vi].name, ei, rb, re);
            CHECKF(st == LSC_OK, "%s: %s", what, err.message);
            if (st == LSC_OK)
                compare(what, wf, rows, cols, xm, n, n, y, ldy, rb, re);
        }
    }
    free(off);
    free(x);
    free(xm);
    free(y);
    free(count);
}

/* n = 1 through the weight's batch-1 form on every variant and exec (check_n:
 * serial, pools, host, row ranges), m = 1 rows, n = 3 beside it, and one vector read
 * with a stride and written with one. The plain kind also serves n = 2..64
 * (plain_spmm.h): widths around its vectors (8, 16) and strips (32), odd ones (strides
 * ldx = n + 5, ldy = n + 3), one k-block and several (k-blocks of 128 columns at n = 64
 * up to 1024 at n = 2), 65 (the old path again), with row ranges on a few; on small
 * weights every width; lsc_spmm_rows at m = 32 through it (`wide`: once a weight, on
 * the forced plain form: the path serves float32 values only). */
static void check_form_runs(const lsc_weight *w, const char *flabel, const float *wf, uint32_t rows,
                            uint32_t cols, int wide)
{
    lsc_error err = { 0 };
    check_n(w, flabel, wf, rows, cols, 1, 1);
    check_n(w, flabel, wf, rows, cols, 3, 0);
    if (wide && w->n1_form && w->n1_form->kind == LSC_N1_PLAIN) {
        static const size_t ns[] = { 2, 7, 8, 16, 17, 33, 64, 65 };
        const uint64_t cells = (uint64_t)rows * cols;
        for (size_t n = 2; n <= 65; n++) {
            int listed = 0;
            for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
                listed |= ns[k] == n && (cells <= 250000 || k % 2 == 0);
            if (listed || cells <= 5000)
                check_n(w, flabel, wf, rows, cols, n, n == 8 || n == 17 || n == 64);
        }
        check_rows(w, flabel, wf, rows, cols, 32);
        plain_wide_runs++;
    }
    check_rows(w, flabel, wf, rows, cols, 1);
    const size_t ldx = 3, ldy = 2;
    float *x = malloc(sizeof(float) * cols * ldx), *y = malloc(sizeof(float) * rows * ldy);
    if (!x || !y)
        abort();
    fill(x, (size_t)cols * ldx);
    for (int vi = 0; vi < n_variants; vi++) {
        lsc_exec exec = { .pool = pool2, .cpu_mask = variants[vi].mask };
        for (size_t i = 0; i < (size_t)rows * ldy; i++)
            y[i] = 777.0f;
        char what[400];
        snprintf(what, sizeof what, "%s n=1 ldx=3 %s", flabel, variants[vi].name);
        CHECKF(lsc_spmm(w, x, ldx, 1, y, ldy, 0, 0, &exec, &err) == LSC_OK, "%s: %s", what,
               err.message);
        compare(what, wf, rows, cols, x, ldx, 1, y, ldy, 0, rows);
    }
    free(x);
    free(y);
}

static size_t kind_forms[3]; /* forms checked, by lsc_n1_kind */

/* The batch-1 form (lsc_weight_prepare_n1): built for float32 weights up to 2^24
 * columns, no larger than the blob, of the kind the rule picks; then each kind
 * forced on the same weight (the plain one up to 2^16 columns), built whatever its
 * size (a small blob's form is often larger than it). */
static void check_form(lsc_weight *w, const char *label, const float *wf, uint32_t rows,
                       uint32_t cols, lsc_dtype dtype, size_t blob_size)
{
    size_t bytes = 1, again = 1;
    lsc_error err = { 0 };
    CHECKF(lsc_weight_prepare_n1(w, &bytes, &err) == LSC_OK, "%s: prepare: %s", label, err.message);
    CHECKF(lsc_weight_prepare_n1(w, &again, &err) == LSC_OK && again == bytes, "%s: prepare twice",
           label);
    CHECKF(bytes <= blob_size, "%s: form of %zu bytes, blob %zu", label, bytes, blob_size);
    CHECK((bytes > 0) == (w->n1_form != NULL));
    /* the rule's kind: plain only where it says so, bit-packed there only when the
     * plain form would be larger than the blob */
    if (w->n1_form && w->n1_form->kind == LSC_N1_PLAIN)
        CHECKF(lsc_n1_plain_wins(&w->view), "%s: plain against the rule", label);
    if (w->n1_form && w->n1_form->kind == LSC_N1_PACKED && lsc_n1_plain_wins(&w->view)) {
        lsc_n1_form *plain = NULL;
        CHECK(lsc_n1_form_build(&w->view, w->view.size, LSC_N1_PLAIN, &plain, &err) == LSC_OK);
        CHECKF(plain == NULL, "%s: bit-packed where the plain form fits", label);
        lsc_n1_form_free(plain);
    }
    forms_built += bytes > 0;
    char flabel[300];
    snprintf(flabel, sizeof flabel, "%s form (%s)", label,
             !w->n1_form ? "none" : w->n1_form->kind == LSC_N1_PLAIN ? "plain" : "bit-packed");
    check_form_runs(w, flabel, wf, rows, cols, 0);
    if (dtype != LSC_DTYPE_FLOAT32)
        return;
    forced_forms += bytes == 0;
    static const lsc_n1_kind kinds[2] = { LSC_N1_PACKED, LSC_N1_PLAIN };
    for (int k = 0; k < 2; k++) {
        lsc_n1_form_free(w->n1_form);
        w->n1_form = NULL;
        CHECK(lsc_n1_form_build(&w->view, 0, kinds[k], &w->n1_form, &err) == LSC_OK);
        CHECKF((w->n1_form != NULL) == (kinds[k] == LSC_N1_PACKED || cols <= 65536),
               "%s: forced kind %d", label, kinds[k]);
        if (!w->n1_form)
            continue;
        CHECK(w->n1_form->kind == kinds[k]);
        kind_forms[kinds[k]]++;
        snprintf(flabel, sizeof flabel, "%s form (%s, forced)", label,
                 k ? "plain" : "bit-packed");
        check_form_runs(w, flabel, wf, rows, cols, 1);
    }
}

typedef struct shape_case {
    uint32_t rows, cols;
    double density;
    enum pattern pat;
    uint32_t bh, bw; /* 0 = let the encoder search */
    unsigned bits;   /* 0 = search */
} shape_case;

/* lsc_weight_prepare_conv: the form is built exactly where its scan order is row by
 * row (float32, one-row block rows or whole-width blocks, up to 2^16 columns), never
 * larger than the blob; then the windowed multiplies (and lsc_spmm at large n, which
 * runs as one) run on it and must give the same products. */
static void check_conv_form(lsc_weight *w, const char *label, const float *wf, const shape_case *sc,
                            const lsc_weight_info *info, lsc_dtype dtype, size_t blob_size, int big_n)
{
    size_t bytes = 0;
    lsc_error err = { 0 };
    CHECKF(lsc_weight_prepare_conv(w, &bytes, &err) == LSC_OK, "%s: prepare_conv: %s", label, err.message);
    int eligible = dtype == LSC_DTYPE_FLOAT32 && (info->block_h == 1 || info->block_w >= sc->cols) &&
                   sc->cols <= 65536 && (size_t)(sc->rows + 1) * 4 + info->nnz * 2 <= blob_size;
    CHECKF((bytes > 0) == eligible, "%s: conv form of %zu bytes, expected %s", label, bytes,
           eligible ? "one" : "none");
    CHECKF(bytes <= blob_size, "%s: conv form %zu bytes > blob %zu", label, bytes, blob_size);
    size_t again = 0;
    CHECK(lsc_weight_prepare_conv(w, &again, &err) == LSC_OK && again == bytes); /* built once */
    if (!bytes)
        return;
    char fl[300];
    snprintf(fl, sizeof fl, "%s [conv form]", label);
    check_windows(w, fl, wf, sc->rows, sc->cols, 7, 0);
    check_windows(w, fl, wf, sc->rows, sc->cols, 3, 1);
    if (big_n) {
        check_windows(w, fl, wf, sc->rows, sc->cols, 300, 0);
        check_windows(w, fl, wf, sc->rows, sc->cols, 129, 1);
        check_windows(w, fl, wf, sc->rows, sc->cols, 222, 2);
        check_windows(w, fl, wf, sc->rows, sc->cols, 224, 3);
        check_windows(w, fl, wf, sc->rows, sc->cols, 1100, 0); /* several tiles a task */
        /* AVX-512 copies the windows of windows in any order (tiles of 128, the last
         * 44 columns masked; the prefetch of the next k-block's lines not monotone) */
        check_windows(w, fl, wf, sc->rows, sc->cols, 300, 1);
        check_n(w, fl, wf, sc->rows, sc->cols, 256, 0);
    }
}

/* Widths run_case checks besides its own, with row ranges (the k-block cases below). */
static const size_t *extra_ns;
static size_t n_extra_ns;

static void run_case(const shape_case *sc, lsc_dtype dtype, int transposed, int big_n)
{
    uint8_t *m = make_matrix(sc->rows, sc->cols, sc->density, sc->pat, dtype);
    uint32_t d0 = transposed ? sc->cols : sc->rows, d1 = transposed ? sc->rows : sc->cols;
    lsc_tensor t = { .dtype = dtype, .rank = 2, .dims = { d0, d1 }, .data = m };
    if (transposed) { /* the tensor is the transpose of the matrix we made */
        size_t es = lsc_elem_size(dtype);
        uint8_t *tt = malloc((size_t)d0 * d1 * es);
        if (!tt)
            abort();
        for (uint32_t r = 0; r < sc->rows; r++)
            for (uint32_t c = 0; c < sc->cols; c++)
                memcpy(tt + ((size_t)c * d1 + r) * es, m + ((size_t)r * sc->cols + c) * es, es);
        free(m);
        m = tt;
        t.data = m;
    }
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    opt.transposed = transposed;
    opt.block_h = sc->bh;
    opt.block_w = sc->bw;
    opt.index_bits = sc->bits;
    void *blob = NULL;
    size_t blob_size = 0;
    lsc_error err = { 0 };
    char label[200];
    snprintf(label, sizeof label, "%ux%u d=%.3f pat=%d dtype=%d blk=%ux%u b=%u%s", sc->rows,
             sc->cols, sc->density, sc->pat, dtype, sc->bh, sc->bw, sc->bits,
             transposed ? " T" : "");
    lsc_status st = lsc_encode(&t, &opt, &blob, &blob_size, NULL, &err);
    CHECKF(st == LSC_OK, "%s: encode: %s", label, err.message);
    lsc_weight *w = NULL;
    if (st == LSC_OK) {
        st = lsc_weight_open(blob, blob_size, "test", &w, &err);
        CHECKF(st == LSC_OK, "%s: open: %s", label, err.message);
    }
    if (st != LSC_OK) {
        lsc_free(blob);
        free(m);
        return;
    }
    lsc_weight_info info;
    lsc_weight_get_info(w, &info);
    CHECK(info.rows == sc->rows && info.cols == sc->cols);
    snprintf(label + strlen(label), sizeof label - strlen(label), " (got %ux%u b=%u)",
             info.block_h, info.block_w, info.index_bits);
    size_t es = lsc_elem_size(dtype), count = (size_t)sc->rows * sc->cols;
    uint8_t *dense = malloc(count * es);
    float *wf = malloc(count * sizeof(float)), *tmp = malloc(count * sizeof(float));
    if (!dense || !wf || !tmp)
        abort();
    CHECK(lsc_weight_decode(w, dense, count * es, &err) == LSC_OK);
    lsc_convert_values(dtype, dense, tmp, (uint32_t)count);
    for (uint32_t r = 0; r < sc->rows; r++)
        for (uint32_t c = 0; c < sc->cols; c++)
            wf[(size_t)r * sc->cols + c] =
                transposed ? tmp[(size_t)c * sc->rows + r] : tmp[(size_t)r * sc->cols + c];
    static const size_t ns[] = { 1, 3, 8, 17, 64, 256 };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        if (ns[i] <= 17 || big_n)
            check_n(w, label, wf, sc->rows, sc->cols, ns[i], ns[i] <= 17);
    for (size_t i = 0; i < n_extra_ns; i++)
        check_n(w, label, wf, sc->rows, sc->cols, extra_ns[i], 1);
    check_rows(w, label, wf, sc->rows, sc->cols, 1);
    check_rows(w, label, wf, sc->rows, sc->cols, 5);
    check_windows(w, label, wf, sc->rows, sc->cols, 7, 0);
    check_windows(w, label, wf, sc->rows, sc->cols, 3, 1);
    if (big_n) {
        check_windows(w, label, wf, sc->rows, sc->cols, 300, 0);
        check_windows(w, label, wf, sc->rows, sc->cols, 129, 1);
        check_windows(w, label, wf, sc->rows, sc->cols, 222, 2); /* a masked tail */
        check_windows(w, label, wf, sc->rows, sc->cols, 224, 3);
    }
    if (big_n)
        check_rows(w, label, wf, sc->rows, sc->cols, 70);
    check_conv_form(w, label, wf, sc, &info, dtype, blob_size, big_n);
    check_form(w, label, wf, sc->rows, sc->cols, dtype, blob_size);
    lsc_weight_close(&w);
    lsc_free(blob);
    free(m);
    free(dense);
    free(wf);
    free(tmp);
}

static void check_arguments(void)
{
    float x[4] = { 0 }, y[4];
    lsc_error err = { 0 };
    CHECK(lsc_spmm(NULL, x, 1, 1, y, 1, 0, 0, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "weight") != NULL);
    uint8_t m[8] = { 0 };
    float one = 1.0f;
    memcpy(m, &one, 4);
    lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { 2, 1 }, .data = m };
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    void *blob = NULL;
    size_t size = 0;
    lsc_weight *w = NULL;
    if (lsc_encode(&t, &opt, &blob, &size, NULL, &err) != LSC_OK ||
        lsc_weight_open(blob, size, "tiny", &w, &err) != LSC_OK) {
        CHECKF(0, "tiny weight: %s", err.message);
        lsc_free(blob);
        return;
    }
    CHECK(lsc_spmm(w, x, 1, 1, y, 1, 1, 3, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err.message, "tiny") != NULL);
    CHECK(lsc_spmm(w, x, 1, 1, y, 1, 1, 1, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(lsc_spmm(w, x, 1, 2, y, 2, 0, 0, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(lsc_spmm_rows(w, x, 0, 1, y, 2, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(lsc_spmm(w, x, 1, 0, y, 1, 0, 0, NULL, &err) == LSC_OK);
    x[0] = 3.0f;
    CHECK(lsc_spmm(w, x, 1, 1, y, 1, 0, 0, NULL, &err) == LSC_OK && y[0] == 3.0f && y[1] == 0.0f);
    lsc_weight_close(&w);
    lsc_free(blob);
}

static void check_pool(void)
{
    lsc_pool *p = NULL;
    lsc_error err = { 0 };
    CHECK(lsc_pool_create(0, &p, &err) == LSC_OK && lsc_pool_threads(p) >= 1);
    lsc_pool_free(&p);
    CHECK(p == NULL);
    lsc_pool_free(&p);
    CHECK(lsc_pool_create(1, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(lsc_pool_threads(pool2) == 2);
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    setup_variants();
    lsc_error err = { 0 };
    if (lsc_pool_create(1, &pool1, &err) != LSC_OK || lsc_pool_create(2, &pool2, &err) != LSC_OK) {
        fprintf(stderr, "pool: %s\n", err.message);
        return 1;
    }
    check_pool();
    check_arguments();
    static const shape_case cases[] = {
        { 37, 53, 0.2, UNIFORM, 0, 0, 0 },
        { 37, 53, 0.2, UNIFORM, 1, 1, 0 },      /* single-element blocks */
        { 37, 53, 0.05, UNIFORM, 1, 53, 2 },    /* whole-row blocks, many jumps */
        { 37, 53, 0.3, UNIFORM, 4, 8, 0 },
        { 37, 53, 0.1, UNIFORM, 3, 5, 1 },      /* b = 1: a bitmap of the scan space */
        { 37, 53, 0.02, UNIFORM, 37, 53, 3 },   /* one block */
        { 37, 53, 0.5, UNIFORM, 7, 1, 16 },     /* column blocks, widest index */
        { 40, 64, 0.3, EMPTY_ROWS, 0, 0, 0 },
        { 40, 64, 0.3, EMPTY_ROWS, 2, 16, 4 },
        { 48, 96, 0.5, BLOCKS, 0, 0, 0 },
        { 48, 96, 0.5, BLOCKS, 4, 8, 5 },
        { 48, 96, 0.5, BLOCKS, 5, 7, 3 },       /* blocks across the pattern */
        { 20, 30, 0.0, ZERO, 0, 0, 0 },         /* all-zero matrix */
        { 20, 30, 0.0, ZERO, 4, 4, 2 },
        { 1, 300, 0.2, UNIFORM, 0, 0, 0 },      /* 1 x N */
        { 1, 300, 0.2, UNIFORM, 1, 16, 3 },
        { 300, 1, 0.3, UNIFORM, 0, 0, 0 },      /* N x 1 */
        { 300, 1, 0.3, UNIFORM, 8, 1, 2 },
        { 1, 1, 1.0, UNIFORM, 0, 0, 0 },
        { 200, 300, 0.01, UNIFORM, 0, 0, 0 },
        { 200, 300, 0.1, UNIFORM, 1, 300, 0 },
        { 130, 700, 0.05, UNIFORM, 2, 64, 6 },
        /* rows with more values than a windows panel holds (one row a panel), and rows
         * that fill a panel after a few */
        { 3, 40000, 0.5, UNIFORM, 1, 40000, 0 },
        { 7, 12000, 0.5, UNIFORM, 1, 12000, 0 },
    };
    static const lsc_dtype dtypes[] = { LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT16, LSC_DTYPE_BFLOAT16,
                                        LSC_DTYPE_FLOAT64 };
    size_t n_cases = sizeof cases / sizeof cases[0];
    for (size_t c = 0; c < n_cases; c++) {
        for (size_t d = 0; d < 4; d++) {
            if (quick && d > 0 && c % 4 != 0)
                continue;
            run_case(&cases[c], dtypes[d], 0, d == 0 || c % 5 == 0);
        }
        if (c % 3 == 0)
            run_case(&cases[c], LSC_DTYPE_FLOAT32, 1, 0);
    }
    /* Every index width on rows long enough for the SIMD decoder (groups of 8 entries,
     * scalar heads and tails, block rows starting mid-group), in every way of mapping
     * positions: whole rows (identity), power-of-two and other block widths, tall
     * blocks with long row runs (run path) and narrow ones (mapped, split sums),
     * column blocks, and densities with and without jumps. */
    static const uint32_t wide[][2] = { { 1, 1500 }, { 1, 64 }, { 1, 100 }, { 4, 16 }, { 3, 10 },
                                        { 8, 1 },    { 24, 1500 }, { 2, 750 }, { 6, 256 } };
    static const double wide_d[] = { 0.1, 0.02, 0.45, 0.006 };
    size_t n_wide = sizeof wide / sizeof wide[0];
    for (unsigned b = 1; b <= 16; b++)
        for (size_t k = 0; k < (quick ? 1u : 2u); k++) {
            size_t si = (b + 4 * k) % n_wide;
            shape_case sc = { 24, 1500, wide_d[(b + k) % 4], UNIFORM, wide[si][0], wide[si][1], b };
            run_case(&sc, k ? LSC_DTYPE_FLOAT16 : LSC_DTYPE_FLOAT32, 0, b % 4 == 0);
        }
    /* Whole-width blocks (1 x cols and 5 x cols), the layouts the default search
     * prefers and the x86 variants decode sixteen entries at a time: every width
     * (those the fast decoder serves and those it leaves to the general path), rows
     * whose entries start at every lane of a group, densities with many jumps, few
     * and none, and the 65536-position limit of the fast decoder from both sides. */
    static const uint32_t row_cols[] = { 7, 61, 1500, 3001 };
    static const double row_d[] = { 0.3, 0.1, 0.02 };
    for (unsigned b = 1; b <= 16; b++)
        for (size_t di = 0; di < (quick ? 1u : 3u); di++) {
            uint32_t cols = row_cols[(b + di) % 4], bh = (b + di) % 3 == 0 ? 5 : 1;
            shape_case sc = { 23, cols, row_d[di], UNIFORM, bh, cols, b };
            run_case(&sc, LSC_DTYPE_FLOAT32, 0, b % 3 == 0);
        }
    for (uint32_t cols = 65535; cols <= 65537; cols++) {
        shape_case sc = { 3, cols, 0.01, UNIFORM, 1, cols, 8 };
        run_case(&sc, LSC_DTYPE_FLOAT32, 0, 0);
    }
    { /* past 65536 columns the batch-1 form packs groups of 8 (32-bit lanes): short
       * segments (narrow blocks) and long ones, wide gaps at 0.1% */
        shape_case narrow = { 24, 70001, 0.002, UNIFORM, 4, 100, 0 };
        run_case(&narrow, LSC_DTYPE_FLOAT32, 0, 0);
        shape_case sparse = { 5, 70001, 0.001, UNIFORM, 1, 70001, 0 };
        run_case(&sparse, LSC_DTYPE_FLOAT32, 0, 0);
    }
    /* The x86 batch-1 form multiplies chunks of 512 values: short pieces (LeNet-300-100
     * fc2's 8x4 blocks, LeNet-5 fc1's 8x512 at 2%: one product pass, then masked sums),
     * long ones (each its own FMA loop, cut at the chunk's end), and rows of ~33 values
     * whose chunks take either way. */
    {
        shape_case tiny = { 100, 300, 0.09, UNIFORM, 8, 4, 3 };
        run_case(&tiny, LSC_DTYPE_FLOAT32, 0, 1);
        shape_case short_rows = { 500, 800, 0.02, UNIFORM, 8, 512, 8 };
        run_case(&short_rows, LSC_DTYPE_FLOAT32, 0, 0);
        shape_case mixed = { 64, 3001, 0.011, EMPTY_ROWS, 1, 3001, 5 };
        run_case(&mixed, LSC_DTYPE_FLOAT32, 0, 0);
        /* segment headers whose numbers take one byte each (read at once) and two:
         * counts and first columns past 127, and rows of 150-row blocks, whose row
         * field (the step + 149) always takes two */
        shape_case wide_header = { 300, 700, 0.3, UNIFORM, 1, 700, 0 };
        run_case(&wide_header, LSC_DTYPE_FLOAT32, 0, 0);
        shape_case tall = { 300, 40, 0.05, UNIFORM, 150, 40, 0 };
        run_case(&tall, LSC_DTYPE_FLOAT32, 0, 0);
    }
    /* n = 1 decodes one-row block rows in batches (brows.h, rows_n1): batches cut by
     * the row count (1200 short rows, many empty) and by the entries, and rows longer
     * than a batch (b = 1 over 60000 columns: one entry per position) */
    {
        shape_case many = { 1200, 61, 0.02, UNIFORM, 1, 61, 4 };
        run_case(&many, LSC_DTYPE_FLOAT32, 0, 0);
        shape_case long_rows = { 5, 60000, 0.3, UNIFORM, 1, 60000, 1 };
        run_case(&long_rows, LSC_DTYPE_FLOAT32, 0, 0);
    }
    /* the batch-1 forms' edges: empty rows, rows of one value, values in column 0 and
     * in the last column (65535: the plain kind's largest), rows longer than the x86
     * chunk (512 values), one-value segments (8x4 blocks), LeNet fc1's rows of ~16 */
    {
        static const shape_case edges[] = {
            { 12, 65536, 0.01, EDGES, 1, 65536, 0 }, { 64, 3001, 0.3, EDGES, 1, 3001, 0 },
            { 200, 300, 0.02, EDGES, 8, 4, 3 },     { 500, 800, 0.02, EDGES, 0, 0, 0 },
            { 90, 700, 0.1, EDGES, 30, 700, 4 },
        };
        for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
            run_case(&edges[i], LSC_DTYPE_FLOAT32, 0, 0);
    }
    for (uint32_t bh = 4; bh <= 5; bh++) { /* 4 x 16384 fits 16 bits, 5 x 16384 does not */
        shape_case sc = { 11, 16384, 0.01, UNIFORM, bh, 16384, 6 };
        run_case(&sc, LSC_DTYPE_FLOAT32, 0, 1);
    }
    /* enough values (>= 65536) for lsc_spmm_windows to decode block rows on several
     * tasks: one-row block rows and 16-row ones (sorted by row inside each task) */
    for (uint32_t bh = 1; bh <= 16; bh += 15) {
        shape_case sc = { 96, 2304, 0.35, UNIFORM, bh, 2304, 3 };
        run_case(&sc, LSC_DTYPE_FLOAT32, 0, 0);
    }
    /* n >= 8 on one-row block rows dense enough runs in k-blocks (brows_kblock.h):
     * widths around the strips (128 columns) and vectors (8, 16), whole and masked
     * tails, several strips; columns cut into several k-blocks with a short last one,
     * and fewer columns than one k-block; rows enough for several tasks, row ranges;
     * index widths with jumps (b = 2) and without */
    {
        static const size_t kb_ns[] = { 7, 8, 9, 16, 23, 63, 64, 65, 127, 129, 200, 257, 300 };
        extra_ns = kb_ns;
        n_extra_ns = sizeof kb_ns / sizeof kb_ns[0];
        static const shape_case kb_cases[] = {
            { 150, 1000, 0.3, UNIFORM, 1, 1000, 3 },
            { 140, 777, 0.5, EMPTY_ROWS, 1, 777, 2 },
            { 131, 23, 0.5, UNIFORM, 1, 23, 4 },
            { 9, 4100, 0.1, UNIFORM, 1, 4100, 6 },
        };
        for (size_t k = 0; k < sizeof kb_cases / sizeof kb_cases[0]; k++)
            if (!quick || k == 0)
                run_case(&kb_cases[k], LSC_DTYPE_FLOAT32, 0, 0);
        extra_ns = NULL;
        n_extra_ns = 0;
    }
    CHECK(run_host_for_calls > 0);
    CHECK(scratch_calls > 0 && scratch_live == 0); /* the windowed multiply used the hooks */
    lsc_pool_free(&pool1);
    lsc_pool_free(&pool2);
    CHECK(forms_built > 50 && kind_forms[LSC_N1_PACKED] > 50 && kind_forms[LSC_N1_PLAIN] > 50);
    CHECK(plain_wide_runs > 50);
    printf("%zu comparisons, %d variant(s), %zu batch-1 forms (+ %zu larger than their blob); "
           "forced: %zu bit-packed, %zu plain; %zu plain forms at n = 2..65\n", cases_run,
           n_variants, forms_built, forced_forms, kind_forms[LSC_N1_PACKED],
           kind_forms[LSC_N1_PLAIN], plain_wide_runs);
    return check_exit();
}
