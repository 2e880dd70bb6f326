/* The integer direct-convolution form (conv_int8.h): building it once from a validated
 * 8-bit blob, the portable reference of a row's multiply, and lsc_conv_int8, which
 * cuts the rows into tasks and picks the variant. */
#include <stdlib.h>
#include <string.h>

#include "codec/blob_walk.h"
#include "common/cpu.h"
#include "common/error.h"
#include "kernels/conv_int8.h"
#include "kernels/kernels_config.h"
#include "kernels/spmm.h"

#define SERIAL_WORK 65536 /* below this many taps x columns, threads cost more */
#define MAX_TASKS 64

typedef struct build_ctx {
    const lsc_blob_view *v;
    lsc_conv_int8_form *f; /* NULL: counting */
    int64_t *prev;         /* per row: the last column seen (-1 at first) */
    uint64_t *at;          /* counting: entries per row, at row + 1; filling: next slot per row */
    int unordered;         /* a row's columns did not increase (never, in scan order) */
} build_ctx;

static void visit(void *arg, uint64_t row, uint64_t col, uint64_t value)
{
    build_ctx *c = arg;
    int64_t gap = (int64_t)col - c->prev[row];
    if (gap < 1) {
        c->unordered = 1;
        return;
    }
    c->prev[row] = (int64_t)col;
    uint64_t fillers = (uint64_t)(gap - 1) / 255;
    if (!c->f) {
        c->at[row + 1] += fillers + 1;
        return;
    }
    lsc_conv_int8_form *f = c->f;
    uint8_t zp = c->v->zero_points ? c->v->zero_points[row] : 0;
    uint64_t i = c->at[row];
    for (uint64_t k = 0; k < fillers; k++, i++) {
        f->delta[i] = 255;
        f->code[i] = zp; /* w = 0 */
    }
    f->delta[i] = (uint8_t)(gap - (int64_t)(255 * fillers));
    f->code[i] = (uint8_t)(c->v->values[value] + zp); /* the blob stores code - zp mod 256 */
    c->at[row] = i + 1;
}

void lsc_conv_int8_form_free(lsc_conv_int8_form *form)
{
    if (!form)
        return;
    free(form->row_ptr);
    free(form->delta);
    free(form->code);
    free(form->zp);
    free(form);
}

static void reset_prev(int64_t *prev, uint32_t rows)
{
    for (uint32_t r = 0; r < rows; r++)
        prev[r] = -1;
}

lsc_status lsc_conv_int8_form_build(const lsc_blob_view *v, lsc_conv_int8_form **out, lsc_error *error)
{
    *out = NULL;
    size_t rows = v->rows;
    lsc_conv_int8_form *f = calloc(1, sizeof *f);
    int64_t *prev = malloc((rows + 1) * sizeof *prev);
    uint64_t *at = calloc(rows + 1, sizeof *at);
    if (!f || !prev || !at)
        goto no_memory;
    build_ctx c = { v, NULL, prev, at, 0 };
    reset_prev(prev, v->rows);
    lsc_blob_walk(v, visit, &c);
    uint64_t max_row = 0;
    for (size_t r = 0; r < rows; r++) {
        max_row = at[r + 1] > max_row ? at[r + 1] : max_row;
        at[r + 1] += at[r];
    }
    uint64_t entries = at[rows];
    size_t total = sizeof *f + (rows + 1) * sizeof *f->row_ptr + rows * sizeof *f->zp + 2 * (size_t)entries;
    if (c.unordered || entries > UINT32_MAX || total > v->size) { /* no form: the caller falls back */
        free(prev);
        free(at);
        free(f);
        return LSC_OK;
    }
    f->rows = v->rows;
    f->cols = v->cols;
    f->max_row = (uint32_t)max_row;
    f->is_signed = v->dtype == LSC_DTYPE_INT8;
    f->total = total;
    f->row_ptr = malloc((rows + 1) * sizeof *f->row_ptr);
    f->zp = malloc((rows ? rows : 1) * sizeof *f->zp);
    f->delta = malloc(entries ? (size_t)entries : 1);
    f->code = malloc(entries ? (size_t)entries : 1);
    if (!f->row_ptr || !f->zp || !f->delta || !f->code)
        goto no_memory;
    for (size_t r = 0; r <= rows; r++)
        f->row_ptr[r] = (uint32_t)at[r];
    for (size_t r = 0; r < rows; r++) {
        uint8_t zp = v->zero_points ? v->zero_points[r] : 0;
        f->zp[r] = (int16_t)(f->is_signed ? (int8_t)zp : zp);
    }
    c.f = f;
    reset_prev(prev, v->rows);
    lsc_blob_walk(v, visit, &c);
    free(prev);
    free(at);
    *out = f;
    return LSC_OK;
no_memory:
    free(prev);
    free(at);
    lsc_conv_int8_form_free(f);
    return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory preparing the integer convolution form");
}

lsc_status lsc_weight_prepare_conv_int8(lsc_weight *weight, size_t *form_bytes, lsc_error *error)
{
    if (form_bytes)
        *form_bytes = 0;
    if (!weight)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_prepare_conv_int8: NULL weight");
    if (!weight->conv_int8_form && weight->view.elem_size == 1) {
        lsc_status st = lsc_conv_int8_form_build(&weight->view, &weight->conv_int8_form, error);
        if (st != LSC_OK)
            return st;
    }
    if (form_bytes && weight->conv_int8_form)
        *form_bytes = weight->conv_int8_form->total;
    return LSC_OK;
}

/* The reference: one column at a time, taps in order (wrapping, as the variants' lanes). */
void lsc_conv_int8_row_scalar(const lsc_conv_int8_tap *taps, size_t n_taps, size_t n, int32_t *y)
{
    for (size_t j = 0; j < n; j++) {
        uint32_t acc = 0;
        for (size_t t = 0; t < n_taps; t++)
            acc += (uint32_t)taps[t].w * (uint32_t)(int32_t)taps[t].x[j];
        y[j] = (int32_t)acc;
    }
}

lsc_conv_int8_row_fn lsc_conv_int8_row_select(unsigned flags)
{
#if LSC_HAVE_AVX2
    if (flags & LSC_CPU_AVX2)
        return lsc_conv_int8_row_avx2;
#endif
    (void)flags;
    return lsc_conv_int8_row_scalar;
}

typedef struct conv_tasks {
    const lsc_conv_int8_form *f;
    const int16_t *x;
    const size_t *x_offsets;
    size_t n, ldy;
    int32_t *y; /* row row_begin */
    uint32_t row_begin;
    lsc_conv_int8_tap *taps; /* max_row per task */
    lsc_conv_int8_row_fn fn;
    uint32_t splits[MAX_TASKS + 1];
} conv_tasks;

static void run_task(void *arg, size_t i)
{
    const conv_tasks *t = arg;
    const lsc_conv_int8_form *f = t->f;
    lsc_conv_int8_tap *taps = t->taps + i * f->max_row;
    for (uint32_t r = t->splits[i]; r < t->splits[i + 1]; r++) {
        size_t n_taps = 0;
        uint32_t col = UINT32_MAX; /* column -1: the first delta counts from it */
        for (uint32_t e = f->row_ptr[r]; e < f->row_ptr[r + 1]; e++) {
            col += f->delta[e];
            int32_t w = (f->is_signed ? (int32_t)(int8_t)f->code[e] : (int32_t)f->code[e]) - f->zp[r];
            if (w != 0) /* fillers */
                taps[n_taps++] = (lsc_conv_int8_tap){ t->x + t->x_offsets[col], w };
        }
        t->fn(taps, n_taps, t->n, t->y + (size_t)(r - t->row_begin) * t->ldy);
    }
}

lsc_status lsc_conv_int8(const lsc_weight *weight, const int16_t *x, const size_t *x_offsets, size_t n, int32_t *y,
                         size_t ldy, uint32_t row_begin, uint32_t row_end, const lsc_exec *exec, lsc_error *error)
{
    if (!weight || !x || !x_offsets || !y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_conv_int8: %s is NULL",
                        !weight ? "weight" : !x ? "x" : !x_offsets ? "x_offsets" : "y");
    const lsc_conv_int8_form *f = weight->conv_int8_form;
    if (!f)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_conv_int8: weight '%s' has no integer convolution form (an 8-bit weight, after "
                        "lsc_weight_prepare_conv_int8)", weight->name);
    if (row_begin == 0 && row_end == 0)
        row_end = f->rows;
    if (row_begin > row_end || row_end > f->rows || ldy < n)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_conv_int8: rows [%u, %u) of %u, or ldy %zu < n %zu", row_begin, row_end, f->rows, ldy,
                        n);
    if (row_begin == row_end || n == 0)
        return LSC_OK;
    conv_tasks t = { f, x, x_offsets, n, ldy, y, row_begin, NULL,
                     lsc_conv_int8_row_select(lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0)), { 0 } };
    uint64_t taps = f->row_ptr[row_end] - f->row_ptr[row_begin];
    size_t want = lsc_exec_width(exec);
    if (want > MAX_TASKS)
        want = MAX_TASKS;
    if (want > row_end - row_begin)
        want = row_end - row_begin;
    if ((double)taps * (double)n < SERIAL_WORK)
        want = 1;
    /* rows cut into `want` ranges of about equal taps (+ 1 a row) */
    size_t made = 0;
    uint64_t base = f->row_ptr[row_begin] + row_begin, total = taps + (row_end - row_begin);
    t.splits[0] = row_begin;
    for (uint32_t r = row_begin + 1; r < row_end && made + 1 < want; r++)
        if ((f->row_ptr[r] + r - base) * want >= total * (made + 1))
            t.splits[++made] = r;
    t.splits[++made] = row_end;
    t.taps = lsc_exec_alloc(exec, made * (f->max_row ? f->max_row : 1) * sizeof *t.taps);
    if (!t.taps)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_conv_int8: out of memory (%u taps)", f->max_row);
    lsc_exec_run(exec, run_task, &t, made);
    lsc_exec_free(exec, t.taps);
    return LSC_OK;
}
