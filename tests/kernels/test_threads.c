/* lsc_spmm on threads (spmm.c's task cuts and serial line, pool.c's ranges), on the
 * batch-1 form and without it, n = 1 and 32: the product on 2 and 3 pool threads and
 * on a host's parallel-for is the same bit for bit whichever thread runs which task
 * and in what order (run twice on the pool; forwards and backwards on the host), and
 * agrees with the serial one to float rounding (not bit for bit: a task's cut moves
 * the plain kernel's chunks, and few values per task keep a multiply off the plain
 * path, as before stop 18); and the rule runs small work serially (no parallel-for
 * call) and large work on the threads. The products themselves are checked against
 * the scalar reference by test_spmm. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

static uint64_t state = 0x2545F4914F6CDD1Dull;

typedef struct host {
    int calls;
    size_t tasks;
    int backwards;
} host;

/* A host's parallel-for that counts its calls and runs the tasks in order or backwards. */
static void host_for(void *context, lsc_task_fn fn, void *arg, size_t n)
{
    host *h = context;
    h->calls++;
    h->tasks += n;
    for (size_t k = 0; k < n; k++)
        fn(arg, h->backwards ? n - 1 - k : k);
}

/* |a - b| within float rounding of a sum of `terms` products of magnitude <= 0.25 */
static int close_to(const float *a, const float *b, size_t count, double terms)
{
    for (size_t i = 0; i < count; i++)
        if (fabs((double)a[i] - (double)b[i]) > 1e-6 * terms + 1e-7)
            return 0;
    return 1;
}

typedef struct shape {
    uint32_t rows, cols;
    double density;
    unsigned block_h, block_w; /* 0: the encoder's search */
    int big;                   /* work (entries + block rows) x n far above the serial line at n = 1 */
} shape;

static void check_shape(const shape *s, lsc_pool *pool2, lsc_pool *pool3)
{
    float *w = calloc((size_t)s->rows * s->cols, sizeof *w);
    const size_t nmax = 32;
    float *x = malloc((size_t)s->cols * nmax * sizeof *x);
    float *y0 = malloc((size_t)s->rows * nmax * sizeof *y0), *y1 = malloc((size_t)s->rows * nmax * sizeof *y1);
    float *yh = malloc((size_t)s->rows * nmax * sizeof *yh);
    if (!w || !x || !y0 || !y1 || !yh) {
        CHECK(0);
        return;
    }
    for (size_t i = 0; i < (size_t)s->rows * s->cols; i++)
        if (xorshift64_unit(&state) < s->density)
            w[i] = (float)(xorshift64_unit(&state) - 0.5);
    for (size_t i = 0; i < (size_t)s->cols * nmax; i++)
        x[i] = (float)(xorshift64_unit(&state) - 0.5);
    lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { s->rows, s->cols }, .data = w };
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    opt.block_h = s->block_h;
    opt.block_w = s->block_w;
    void *blob = NULL;
    size_t size = 0;
    lsc_encode_stats st;
    lsc_error err = { 0 };
    lsc_weight *wt = NULL;
    CHECK(lsc_encode(&t, &opt, &blob, &size, &st, &err) == LSC_OK);
    CHECK(lsc_weight_open(blob, size, "w", &wt, &err) == LSC_OK);
    for (int form = 0; wt && form < 2; form++) {
        if (form)
            CHECK(lsc_weight_prepare_n1(wt, NULL, &err) == LSC_OK);
        for (size_t n = 1; n <= nmax; n += nmax - 1) {
            CHECK(lsc_spmm(wt, x, n, n, y0, n, 0, 0, NULL, &err) == LSC_OK);
            host h = { 0, 0, 0 }, hb = { 0, 0, 1 };
            lsc_exec execs[4] = { { .pool = pool2 }, { .pool = pool3 },
                                  { .parallel_for = host_for, .parallel_for_context = &h },
                                  { .parallel_for = host_for, .parallel_for_context = &hb } };
            const size_t count = (size_t)s->rows * n;
            for (int e = 0; e < 4; e++) {
                memset(y1, 0xff, count * sizeof *y1);
                CHECK(lsc_spmm(wt, x, n, n, y1, n, 0, 0, &execs[e], &err) == LSC_OK);
                CHECKF(close_to(y0, y1, count, s->cols * s->density * 4),
                       "%ux%u d=%g block %ux%u form %d n %zu exec %d: far from serial", s->rows,
                       s->cols, s->density, st.block_h, st.block_w, form, n, e);
                if (e == 2)
                    memcpy(yh, y1, count * sizeof *yh);
                if (e == 3)
                    CHECKF(memcmp(yh, y1, count * sizeof *yh) == 0,
                           "%ux%u form %d n %zu: host tasks backwards differ", s->rows, s->cols, form, n);
                if (e < 2) { /* again on the pool: other threads may take other tasks */
                    memcpy(yh, y1, count * sizeof *yh);
                    CHECK(lsc_spmm(wt, x, n, n, y1, n, 0, 0, &execs[e], &err) == LSC_OK);
                    CHECKF(memcmp(yh, y1, count * sizeof *yh) == 0,
                           "%ux%u form %d n %zu pool %d: two runs differ", s->rows, s->cols, form, n, e);
                }
            }
            /* the rule: small work never calls the parallel-for, large work does */
            if (n == 1)
                CHECKF(s->big ? h.calls == 1 && h.tasks > 1 : h.calls == 0,
                       "%ux%u d=%g n 1: %d parallel-for calls, %zu tasks", s->rows, s->cols,
                       s->density, h.calls, h.tasks);
        }
    }
    lsc_weight_close(&wt);
    lsc_free(blob);
    free(w);
    free(x);
    free(y0);
    free(y1);
    free(yh);
}

int main(void)
{
    lsc_pool *pool2 = NULL, *pool3 = NULL;
    lsc_error err = { 0 };
    CHECK(lsc_pool_create(2, &pool2, &err) == LSC_OK && lsc_pool_create(3, &pool3, &err) == LSC_OK);
    static const shape shapes[] = {
        { 100, 300, 0.03, 0, 0, 0 },    /* ~900 values: serial */
        { 300, 100, 0.05, 1, 100, 0 },  /* ~1500 */
        { 500, 800, 0.15, 0, 0, 1 },    /* LeNet fc1-like, ~60000 values */
        { 1000, 800, 0.05, 1, 800, 1 }, /* ~40000, whole-row blocks */
        { 256, 700, 0.1, 8, 16, 1 },    /* narrow blocks of 8 rows: a row's segments in one block row */
        { 300, 784, 0.3, 4, 784, 1 },   /* whole-width blocks of 4 rows */
    };
    for (size_t i = 0; pool2 && pool3 && i < sizeof shapes / sizeof shapes[0]; i++)
        check_shape(&shapes[i], pool2, pool3);
    lsc_pool_free(&pool2);
    lsc_pool_free(&pool3);
    return check_exit();
}
