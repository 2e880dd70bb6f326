/* The public multiply entry points: argument checks, the choice of variant, and
 * the cut of the block rows into tasks of about equal work. */
#include <stdlib.h>
#include <string.h>

#include "common/cpu.h"
#include "common/error.h"
#include "codec/layout.h"
#include "common/pool.h"
#include "kernels/kernels_config.h"
#include "kernels/spmm.h"

#define MAX_TASKS 256
#define TASKS_PER_THREAD 4
#define HOST_TASKS 16           /* a host's parallel-for does not say its width */
/* Below this many (entries + block rows) x columns, threads cost more than they give
 * on the pool (pool.c): serial 1.1-1.7 us (entries ~5000 at n = 1) ran slower or no
 * faster on 2 threads, 2.5 us and more (~8500) 1.25-1.8x faster at best (Zen 4, a
 * loaded machine; docs/benchmarks.md, "Stop 18"). */
#define SERIAL_WORK 8192
#define ROWS_TILE 64            /* lsc_spmm_rows transposes this many vectors at a time */

static const lsc_kernel_set kernel_sets[] = {
#if LSC_HAVE_AVX512
    { "avx512", LSC_CPU_AVX512, lsc_spmm_brows_avx512, lsc_windows_avx512, lsc_unpack_brow_avx512,
      lsc_form_rows_avx512, lsc_plain_spmm_avx512, 1, 1 },
#endif
#if LSC_HAVE_AVX2
    { "avx2", LSC_CPU_AVX2, lsc_spmm_brows_avx2, lsc_windows_avx2, lsc_unpack_brow_avx2,
      lsc_form_rows_avx2, lsc_plain_spmm_avx2, 0, 1 },
#endif
    { "scalar", 0, lsc_spmm_brows_scalar, lsc_windows_scalar, lsc_unpack_brow_scalar,
      lsc_form_rows_scalar, lsc_plain_spmm_scalar, 0, 0 },
};

const lsc_kernel_set *lsc_kernels_select(unsigned flags)
{
    size_t i = 0;
    while (kernel_sets[i].needs && !(flags & kernel_sets[i].needs))
        i++;
    return &kernel_sets[i];
}

/* k-blocks (brows_kblock.h): a strip of X of KB_L1_FLOATS per k-block stays in L1;
 * below KB_MIN_VALUES values per row and k-block, on average (scaled up for strips
 * under 64 columns, whose values add fewer vectors each), a k_row call and Y's strip
 * would cost more than they save, so the k-block grows up to KB_L2_FLOATS, beyond
 * which the path does not serve. Measured on Zen 4 (docs/benchmarks.md, stop 16). */
#define KB_MIN_N 16 /* n = 8 ran 0.8-1.0x as fast this way as on the block-row path (Zen 4) */
#define KB_STRIP 128 /* eight AVX-512 vectors (k_row's widest strip) */
#define KB_L1_FLOATS 4096
#define KB_L2_FLOATS 65536
#define KB_MIN_VALUES 12
#define KB_TASK_ROWS 64 /* rows a task holds at least, when cut */

int lsc_kblock_plan_make(uint32_t cols, uint64_t rows, uint64_t values, size_t n,
                         lsc_kblock_plan *plan)
{
    if (n < KB_MIN_N || !cols || !rows || !values)
        return 0;
    plan->strip = n < KB_STRIP ? n : KB_STRIP;
    plan->stride = (plan->strip + 7) / 8 * 8;
    /* values a k_row call takes at least: more where each adds fewer vectors */
    double least =
        plan->stride >= 64 ? KB_MIN_VALUES : KB_MIN_VALUES * 64.0 / (double)plan->stride;
    double need = least * (double)rows * cols / (double)values; /* columns */
    if (need > (double)cols * 2)
        return 0;
    unsigned sh = 0;
    while ((UINT64_C(2) << sh) * plan->stride <= KB_L1_FLOATS ||
           (double)(UINT64_C(1) << sh) < need)
        sh++;
    while (sh && (UINT64_C(1) << (sh - 1)) >= cols) /* one k-block: no larger than cols needs */
        sh--;
    if ((UINT64_C(1) << sh) * plan->stride > KB_L2_FLOATS && (UINT64_C(1) << sh) < cols)
        return 0;
    plan->kb_shift = sh;
    plan->kb_cols = UINT32_C(1) << sh;
    plan->n_kb = (uint32_t)((cols + plan->kb_cols - 1) >> sh);
    return 1;
}

/* Whether the variant's brows runs these rows in k-blocks: its conditions
 * (brows_kblock.h: the fast layout, float32 values read in place, at most
 * LSC_CACHED_VALUES values) and a plan. */
static int kblock_serves(const lsc_blob_view *v, const lsc_kernel_set *set, uint64_t rows,
                         uint64_t values, size_t n)
{
    lsc_kblock_plan plan;
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return 0;
#endif
    return set->kblock && v->block_h == 1 && v->dtype == LSC_DTYPE_FLOAT32 &&
           ((uintptr_t)v->values & 3) == 0 && values <= (UINT64_C(4) << 20) &&
           lsc_layout_whole_rows_fast(v->block_h, v->block_w, v->cols, v->index_bits) &&
           lsc_kblock_plan_make(v->cols, rows, values, n, &plan);
}

typedef struct task_set {
    lsc_spmm_job job;
    lsc_brows_fn fn;
    uint32_t splits[MAX_TASKS + 1];
} task_set;

static void run_task(void *arg, size_t i)
{
    const task_set *t = arg;
    t->fn(&t->job, t->splits[i], t->splits[i + 1]);
}

/* Work before block row br, in entries, plus one per block row for its overhead. */
static uint64_t work_before(const lsc_blob_view *v, uint32_t br)
{
    uint64_t entry, value;
    lsc_blob_row_start(v, br, &entry, &value);
    return entry + br;
}

/* Cuts [lo, hi) into n_tasks ranges of about equal work; returns the count made. */
static size_t cut_tasks(const lsc_blob_view *v, uint32_t lo, uint32_t hi, size_t n_tasks,
                        uint32_t *splits)
{
    uint64_t w_lo = work_before(v, lo), w_hi = work_before(v, hi);
    size_t made = 0;
    splits[0] = lo;
    for (size_t t = 1; t < n_tasks; t++) {
        uint64_t target = w_lo + (w_hi - w_lo) * t / n_tasks;
        uint32_t a = splits[made], b = hi; /* first br in [a, b] with work >= target */
        while (a < b) {
            uint32_t mid = a + (b - a) / 2;
            if (work_before(v, mid) < target)
                a = mid + 1;
            else
                b = mid;
        }
        if (a > splits[made] && a < hi)
            splits[++made] = a;
    }
    splits[++made] = hi;
    return made;
}

lsc_status lsc_spmm_row_range(const lsc_weight *w, const char *fn, uint32_t *row_begin,
                              uint32_t *row_end, const lsc_blob_view **view, lsc_error *error)
{
    const lsc_blob_view *v = lsc_weight_mul_view(w);
    if (!v)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "%s: weight '%s': 8-bit values need their scales (lsc_weight_dequantize) "
                        "before a multiply", fn, w->name);
    if (*row_begin == 0 && *row_end == 0)
        *row_end = v->rows;
    if (*row_begin >= *row_end || *row_end > v->rows)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "%s: weight '%s': row range [%u, %u) not inside its %u rows", fn, w->name,
                        *row_begin, *row_end, v->rows);
    *view = v;
    return LSC_OK;
}

size_t lsc_exec_width(const lsc_exec *exec)
{
    if (exec && exec->pool)
        return (size_t)lsc_pool_threads(exec->pool) * TASKS_PER_THREAD;
    return exec && exec->parallel_for ? HOST_TASKS : 1;
}

void *lsc_exec_alloc(const lsc_exec *exec, size_t bytes)
{
    if (exec && exec->scratch_alloc && exec->scratch_free)
        return exec->scratch_alloc(exec->scratch_context, bytes);
    return malloc(bytes);
}

void lsc_exec_free(const lsc_exec *exec, void *p)
{
    if (!p)
        return;
    if (exec && exec->scratch_alloc && exec->scratch_free)
        exec->scratch_free(exec->scratch_context, p);
    else
        free(p);
}

void lsc_exec_run(const lsc_exec *exec, lsc_task_fn fn, void *arg, size_t n_tasks)
{
    if (n_tasks == 1)
        fn(arg, 0);
    else if (exec->pool)
        lsc_pool_run(exec->pool, fn, arg, n_tasks);
    else
        exec->parallel_for(exec->parallel_for_context, fn, arg, n_tasks);
}

/* The batch-1 form serves one vector on float32 values read in place. */
static int form_serves(const lsc_weight *w, const lsc_blob_view *v, size_t n)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return 0;
#endif
    return n == 1 && w->n1_form && v->dtype == LSC_DTYPE_FLOAT32 && ((uintptr_t)v->values & 3) == 0;
}

/* n = 2..LSC_PLAIN_MAX_N on the plain kind of the batch-1 form (plain_spmm.h), where
 * the weight has one: its columns need no decoding. */
static int plain_serves(const lsc_weight *w, const lsc_blob_view *v, size_t n)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    return 0;
#endif
    if (!(n >= 2 && n <= LSC_PLAIN_MAX_N && w->n1_form && w->n1_form->kind == LSC_N1_PLAIN &&
          v->dtype == LSC_DTYPE_FLOAT32 && ((uintptr_t)v->values & 3) == 0))
        return 0;
    /* segments at least 5% dense on average: measured to win at 30% (stop 17), while
     * AlexNet fc6 at 2% ran slower on it in ONNX Runtime at batch 32 */
    const lsc_n1_plain *pl = &w->n1_form->plain;
    return (uint64_t)pl->start[pl->n_segs] * 20 >= (uint64_t)pl->n_segs * v->cols;
}

/* Large n on one-row block rows: the windowed multiply with X's rows as windows (row k
 * at k * ldx), whose k-blocks keep a block of X's rows in L1 while every row of W
 * passes over it, where the block-row path streams X's rows from L3 for every row
 * (measured on Zen 4, VGG conv5_1's 512x4608 at 30-50%, n = 130..256: 1.2-1.4x; taller
 * blocks, fc7's 16x4096, were slower that way and keep their path). Its decoded rows
 * take ~8 bytes a value, so only up to WIN_SPMM_VALUES values. Returns 1 if done. */
#define WIN_SPMM_MIN_N 129
#define WIN_SPMM_VALUES (UINT64_C(4) << 20)

static int large_n_as_windows(const lsc_weight *w, const lsc_blob_view *v, const float *x,
                              size_t ldx, size_t n, float *y, size_t ldy, uint32_t row_begin,
                              uint32_t row_end, const lsc_exec *exec, const lsc_kernel_set *set)
{
    uint64_t e, v_lo, v_hi;
    if (n < WIN_SPMM_MIN_N || v->block_h != 1 || v->cols == 0 ||
        (uint64_t)(v->cols - 1) * ldx + n > UINT32_MAX)
        return 0;
    lsc_blob_row_start(v, row_begin, &e, &v_lo);
    lsc_blob_row_start(v, row_end, &e, &v_hi);
    if (v_hi - v_lo > WIN_SPMM_VALUES || kblock_serves(v, set, row_end - row_begin, v_hi - v_lo, n))
        return 0;
    size_t *offs = malloc((size_t)v->cols * sizeof *offs);
    if (!offs)
        return 0;
    for (uint32_t k = 0; k < v->cols; k++)
        offs[k] = (size_t)k * ldx;
    lsc_error err;
    lsc_status st = lsc_spmm_windows(w, x, offs, n, y, ldy, row_begin, row_end, exec, &err);
    free(offs);
    return st == LSC_OK; /* else (out of memory) the block-row path runs */
}

lsc_status lsc_spmm(const lsc_weight *w, const float *x, size_t ldx, size_t n, float *y,
                    size_t ldy, uint32_t row_begin, uint32_t row_end, const lsc_exec *exec,
                    lsc_error *error)
{
    if (!w || !x || !y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_spmm: %s is NULL",
                        !w ? "weight" : !x ? "x" : "y");
    const lsc_blob_view *v = NULL;
    lsc_status st = lsc_spmm_row_range(w, "lsc_spmm", &row_begin, &row_end, &v, error);
    if (st != LSC_OK)
        return st;
    if (n == 0)
        return LSC_OK;
    if (ldx < n || ldy < n)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_spmm: weight '%s': ldx %zu or ldy %zu below n %zu", w->name, ldx,
                        ldy, n);
    const lsc_kernel_set *set = lsc_kernels_select(lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0));
    if (large_n_as_windows(w, v, x, ldx, n, y, ldy, row_begin, row_end, exec, set))
        return LSC_OK;
    task_set t;
    t.job = (lsc_spmm_job){ .v = v, .x = x, .ldx = ldx, .n = n, .y = y, .ldy = ldy,
                            .row_begin = row_begin, .row_end = row_end };
    t.fn = set->brows;
    if (form_serves(w, v, n)) {
        t.job.form = w->n1_form;
        t.fn = set->form_rows;
    }
    uint32_t br_lo = row_begin / v->block_h;
    uint32_t br_hi = (uint32_t)(((uint64_t)row_end + v->block_h - 1) / v->block_h);
    size_t want = lsc_exec_width(exec);
    if (want > 1 && (work_before(v, br_hi) - work_before(v, br_lo)) * n < SERIAL_WORK)
        want = 1;
    uint64_t e_lo, v_lo, e_hi, v_hi;
    lsc_blob_row_start(v, br_lo, &e_lo, &v_lo);
    lsc_blob_row_start(v, br_hi, &e_hi, &v_hi);
    /* the plain path serially, or where each task's values use every row of X, which
     * each task walks, 8 times or more on average: AlexNet fc6 at 2% in ONNX Runtime's
     * 16 tasks (5 uses) ran 1.3-1.5x slower on it than on the old path at batch 32 */
    size_t tasks = want > 1 && exec && exec->pool ? (size_t)lsc_pool_threads(exec->pool) : want;
    const int plain = plain_serves(w, v, n) &&
                      (tasks == 1 || (v_hi - v_lo) / tasks >= (uint64_t)8 * v->cols);
    if (plain) {
        t.job.form = w->n1_form;
        t.fn = set->plain_spmm;
    }
    if (want > 1 && (plain || kblock_serves(v, set, br_hi - br_lo, v_hi - v_lo, n))) {
        /* every task copies all of X's strips (the plain path: its k-blocks, unless read
         * in place): one task a thread, each of enough rows */
        size_t most = (br_hi - br_lo) / KB_TASK_ROWS;
        want = exec && exec->pool ? (size_t)lsc_pool_threads(exec->pool) : want;
        want = want < most ? want : most > 0 ? most : 1;
    }
    if (want > MAX_TASKS)
        want = MAX_TASKS;
    if (want > br_hi - br_lo)
        want = br_hi - br_lo;
    lsc_exec_run(exec, run_task, &t, cut_tasks(v, br_lo, br_hi, want, t.splits));
    return LSC_OK;
}

lsc_status lsc_spmm_rows(const lsc_weight *w, const float *x, size_t ldx, size_t m, float *y,
                         size_t ldy, const lsc_exec *exec, lsc_error *error)
{
    if (!w || !x || !y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_spmm_rows: %s is NULL",
                        !w ? "weight" : !x ? "x" : "y");
    const lsc_blob_view *v = NULL;
    uint32_t all_begin = 0, all_end = 0; /* for the view and its check only */
    lsc_status st = lsc_spmm_row_range(w, "lsc_spmm_rows", &all_begin, &all_end, &v, error);
    if (st != LSC_OK)
        return st;
    if (m == 0)
        return LSC_OK;
    if (ldx < v->cols || ldy < v->rows)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_spmm_rows: weight '%s' is %ux%u: ldx %zu or ldy %zu too small",
                        w->name, v->rows, v->cols, ldx, ldy);
    if (m == 1) /* a row vector is a column vector with unit stride */
        return lsc_spmm(w, x, 1, 1, y, 1, 0, 0, exec, error);
    /* Otherwise transpose ROWS_TILE vectors at a time so that the kernel runs SIMD
     * over them (W*X with X columns contiguous), then transpose the result back. */
    size_t mt = m < ROWS_TILE ? m : ROWS_TILE;
    /* X's transpose on whole lines: rows of 8, 16, 32 or 64 floats are then read in
     * place by the plain path (plain_spmm.h), which else copies or splits loads */
    float *xt = aligned_alloc(64, ((size_t)v->cols * mt * sizeof(float) + 63) / 64 * 64);
    float *yt = malloc((size_t)v->rows * mt * sizeof(float));
    if (!xt || !yt) {
        free(xt);
        free(yt);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_spmm_rows: weight '%s': out of memory",
                        w->name);
    }
    for (size_t j0 = 0; j0 < m && st == LSC_OK; j0 += mt) {
        size_t cnt = m - j0 < mt ? m - j0 : mt;
        for (size_t j = 0; j < cnt; j++) {
            const float *xr = x + (j0 + j) * ldx;
            for (size_t k = 0; k < v->cols; k++)
                xt[k * cnt + j] = xr[k];
        }
        st = lsc_spmm(w, xt, cnt, cnt, yt, cnt, 0, 0, exec, error);
        for (size_t j = 0; j < cnt && st == LSC_OK; j++) {
            float *yr = y + (j0 + j) * ldy;
            for (size_t i = 0; i < v->rows; i++)
                yr[i] = yt[i * cnt + j];
        }
    }
    free(xt);
    free(yt);
    return st;
}
