/* The integer batch-1 form (form_int8.h): building it once from a validated 8-bit
 * blob, the portable reference of its multiply, and lsc_spmv_int8, which cuts the
 * rows into tasks and picks the variant. */
#include <stdlib.h>
#include <string.h>

#include "codec/blob_walk.h"
#include "common/cpu.h"
#include "common/error.h"
#include "kernels/form_int8.h"
#include "kernels/kernels_config.h"
#include "kernels/spmm.h"

#define SERIAL_VALUES 16384 /* below this many values, threads cost more */
#define MAX_TASKS 256

/* w = code - zero point of the value at index `value` on `row` */
static int value_of(const lsc_blob_view *v, uint64_t row, uint64_t value)
{
    uint8_t zp = v->zero_points ? v->zero_points[row] : 0;
    uint8_t code = (uint8_t)(v->values[value] + zp); /* the blob stores code - zp mod 256 */
    return v->dtype == LSC_DTYPE_INT8 ? (int)(int8_t)code - (int)(int8_t)zp : (int)code - (int)zp;
}

typedef struct count_ctx {
    const lsc_blob_view *v;
    uint64_t *count; /* per row, at row + 1 */
    int wide;        /* some w outside int8 */
} count_ctx;

static void count_value(void *arg, uint64_t row, uint64_t col, uint64_t value)
{
    (void)col;
    count_ctx *c = arg;
    int w = value_of(c->v, row, value);
    c->count[row + 1]++;
    c->wide |= w < -128 || w > 127;
}

typedef struct fill_ctx {
    const lsc_blob_view *v;
    lsc_int8_form *f;
    uint64_t *at; /* next slot per row */
} fill_ctx;

static void fill_value(void *arg, uint64_t row, uint64_t col, uint64_t value)
{
    fill_ctx *c = arg;
    const lsc_int8_form *f = c->f;
    uint64_t i = c->at[row]++;
    int w = value_of(c->v, row, value);
    if (f->val_bytes == 1)
        ((int8_t *)f->vals)[i] = (int8_t)w;
    else
        ((int16_t *)f->vals)[i] = (int16_t)w;
    if (f->col_bytes == 2)
        ((uint16_t *)f->cols)[i] = (uint16_t)col;
    else
        ((uint32_t *)f->cols)[i] = (uint32_t)col;
}

void lsc_int8_form_free(lsc_int8_form *form)
{
    if (!form)
        return;
    lsc_int8_table_free(form->table);
    free(form->row_ptr);
    free(form->vals);
    free(form->cols);
    free(form);
}

lsc_status lsc_int8_form_build(const lsc_blob_view *v, int table, lsc_int8_form **out, lsc_error *error)
{
    *out = NULL;
    lsc_int8_form *f = calloc(1, sizeof *f);
    uint64_t *row_ptr = calloc((size_t)v->rows + 1, sizeof *row_ptr);
    if (!f || !row_ptr) {
        free(f);
        free(row_ptr);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory preparing the integer batch-1 form");
    }
    count_ctx cc = { v, row_ptr, 0 };
    lsc_blob_walk(v, count_value, &cc);
    for (uint32_t r = 0; r < v->rows; r++)
        row_ptr[r + 1] += row_ptr[r];
    f->rows = v->rows;
    f->row_ptr = row_ptr;
    f->val_bytes = cc.wide ? 2 : 1;
    f->col_bytes = v->cols <= (UINT32_C(1) << 16) ? 2 : 4;
    size_t n = (size_t)v->nnz;
    f->vals = calloc(1, n * f->val_bytes + LSC_INT8_PAD);
    f->cols = calloc(1, n * f->col_bytes + LSC_INT8_PAD);
    uint64_t *at = malloc(((size_t)v->rows + 1) * sizeof *at);
    if (!f->vals || !f->cols || !at) {
        free(at);
        lsc_int8_form_free(f);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory preparing the integer batch-1 form");
    }
    memcpy(at, row_ptr, ((size_t)v->rows + 1) * sizeof *at);
    fill_ctx fc = { v, f, at };
    lsc_blob_walk(v, fill_value, &fc);
    free(at);
    f->total = sizeof *f + ((size_t)v->rows + 1) * sizeof *row_ptr + n * (f->val_bytes + f->col_bytes) +
               2 * LSC_INT8_PAD;
    if (table) { /* the table replaces the rows' values and columns */
        if (!lsc_int8_table_build(f, v)) {
            lsc_int8_form_free(f);
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory preparing the integer batch-1 form");
        }
        free(f->vals);
        free(f->cols);
        f->vals = f->cols = NULL;
        f->total -= n * (f->val_bytes + f->col_bytes) + 2 * LSC_INT8_PAD;
    }
    *out = f;
    return LSC_OK;
}

lsc_status lsc_weight_prepare_int8(lsc_weight *weight, size_t *form_bytes, lsc_error *error)
{
    if (form_bytes)
        *form_bytes = 0;
    if (!weight)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_prepare_int8: NULL weight");
    const lsc_blob_view *v = &weight->view;
    if (!weight->int8_form && v->elem_size == 1 && v->cols <= INT32_MAX) { /* gathers take int32 indices */
        int table = v->cols <= LSC_INT8_TABLE_COLS && lsc_int8_have_table(lsc_cpu_flags());
        lsc_status st = lsc_int8_form_build(v, table, &weight->int8_form, error);
        if (st != LSC_OK)
            return st;
    }
    if (form_bytes && weight->int8_form)
        *form_bytes = weight->int8_form->total;
    return LSC_OK;
}

/* The reference: one value at a time, four sums (wrapping, as the variants' lanes). */
#define ROWS_BODY(VT, CT)                                                                      \
    do {                                                                                       \
        const VT *vals = f->vals;                                                              \
        const CT *cols = f->cols;                                                              \
        for (uint32_t r = r0; r < r1; r++) {                                                   \
            uint32_t acc[4] = { 0, 0, 0, 0 };                                                  \
            for (uint64_t i = f->row_ptr[r]; i < f->row_ptr[r + 1]; i++)                       \
                acc[i & 3] += (uint32_t)(int32_t)vals[i] * (uint32_t)x[cols[i]];               \
            y[r] = (int32_t)(acc[0] + acc[1] + acc[2] + acc[3]);                               \
        }                                                                                      \
    } while (0)

void lsc_int8_rows_scalar(const lsc_int8_form *f, const int32_t *x, int32_t *y, uint32_t r0, uint32_t r1)
{
    if (f->val_bytes == 1 && f->col_bytes == 2)
        ROWS_BODY(int8_t, uint16_t);
    else if (f->val_bytes == 1)
        ROWS_BODY(int8_t, uint32_t);
    else if (f->col_bytes == 2)
        ROWS_BODY(int16_t, uint16_t);
    else
        ROWS_BODY(int16_t, uint32_t);
}
#undef ROWS_BODY

lsc_int8_rows_fn lsc_int8_rows_select(unsigned flags)
{
#if LSC_HAVE_AVX2
    if (flags & LSC_CPU_AVX2)
        return lsc_int8_rows_avx2;
#endif
    (void)flags;
    return lsc_int8_rows_scalar;
}

typedef struct int8_tasks {
    const lsc_int8_form *f;
    const int32_t *x;
    const int8_t *xs; /* the table kind: x - o as bytes, else NULL */
    int32_t o;
    int32_t *y;
    lsc_int8_rows_fn fn;
    uint32_t splits[MAX_TASKS + 1];
} int8_tasks;

static void run_task(void *arg, size_t i)
{
    const int8_tasks *t = arg;
#if LSC_HAVE_AVX512_TABLE
    if (t->xs) {
        lsc_int8_table_rows(t->f, t->xs, t->o, t->y, t->splits[i], t->splits[i + 1]);
        return;
    }
#endif
    if (t->f->table) /* a CPU mask without the table's ISA, or x too wide for it */
        lsc_int8_table_scalar(t->f, t->x, t->y, t->splits[i], t->splits[i + 1]);
    else
        t->fn(t->f, t->x, t->y, t->splits[i], t->splits[i + 1]);
}

/* x - o as int8 for the table kind (o = min x + 128), zeros to chunks * 128 bytes; NULL
 * when x spans more than 256 values (A - zero point of 8-bit A never does; the rows
 * take it) or out of memory. */
static int8_t *table_x(const lsc_int8_form *f, const int32_t *x, uint32_t cols, const lsc_exec *exec, int32_t *o)
{
    int32_t lo = x[0], hi = x[0];
    for (uint32_t i = 1; i < cols; i++) { /* vectorized */
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if ((int64_t)hi - lo > 255)
        return NULL;
    size_t n = (size_t)f->table->chunks * 128;
    int8_t *xs = lsc_exec_alloc(exec, n);
    if (!xs)
        return NULL;
    int64_t o64 = (int64_t)lo + 128; /* x - o in [-128, 127] */
    *o = (int32_t)(uint32_t)o64;      /* used modulo 2^32 */
    for (uint32_t i = 0; i < cols; i++)
        xs[i] = (int8_t)((int64_t)x[i] - o64);
    memset(xs + cols, 0, n - cols);
    return xs;
}

/* Cuts the rows into up to n ranges of about equal values (+ 1 a row); returns the count. */
static size_t cut_rows(const lsc_int8_form *f, size_t n, uint32_t *splits)
{
    const uint64_t *p = f->row_ptr;
    uint64_t total = p[f->rows] + f->rows;
    size_t made = 0;
    splits[0] = 0;
    for (size_t t = 1; t < n; t++) {
        uint64_t target = total * t / n;
        uint32_t a = splits[made], b = f->rows; /* first r with work before r >= target */
        while (a < b) {
            uint32_t mid = a + (b - a) / 2;
            if (p[mid] + mid < target)
                a = mid + 1;
            else
                b = mid;
        }
        if (a > splits[made] && a < f->rows)
            splits[++made] = a;
    }
    splits[++made] = f->rows;
    return made;
}

lsc_status lsc_spmv_int8(const lsc_weight *weight, const int32_t *x, int32_t *y, const lsc_exec *exec,
                         lsc_error *error)
{
    if (!weight || !x || !y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_spmv_int8: %s is NULL",
                        !weight ? "weight" : !x ? "x" : "y");
    const lsc_int8_form *f = weight->int8_form;
    if (!f)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_spmv_int8: weight '%s' has no integer form (an 8-bit weight, after "
                        "lsc_weight_prepare_int8)", weight->name);
    if (f->rows == 0)
        return LSC_OK;
    unsigned flags = lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0);
    int8_tasks t = { f, x, NULL, 0, y, lsc_int8_rows_select(flags), { 0 } };
    if (f->table && weight->view.cols > 0 && lsc_int8_have_table(flags))
        t.xs = table_x(f, x, weight->view.cols, exec, &t.o);
    size_t want = lsc_exec_width(exec);
    if (f->row_ptr[f->rows] < SERIAL_VALUES)
        want = 1;
    if (want > MAX_TASKS)
        want = MAX_TASKS;
    lsc_exec_run(exec, run_task, &t, cut_rows(f, want, t.splits));
    lsc_exec_free(exec, (void *)(uintptr_t)t.xs);
    return LSC_OK;
}
