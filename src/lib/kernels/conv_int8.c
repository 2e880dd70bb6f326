/* The integer direct-convolution form (conv_int8.h): building it once from a validated
 * 8-bit blob, decoding it into taps, the portable reference of a row's multiply, and
 * lsc_conv_int8, which cuts the rows into tasks and picks the variant. */
#include <stdlib.h>
#include <string.h>

#include "codec/blob_walk.h"
#include "common/cpu.h"
#include "common/endian.h"
#include "common/error.h"
#include "kernels/conv_int8.h"
#include "kernels/kernels_config.h"
#include "kernels/spmm.h"

#define SERIAL_WORK 65536 /* below this many taps x columns, threads cost more */
#define MAX_TASKS 64
#define STACK_TAPS 256    /* a row's taps up to this many: on the stack (4 KiB) */

/* The stored values row by row (the walk's order interleaves a block's rows; within
 * a row the columns increase): counted per row (at row + 1), then placed. */
typedef struct rows_ctx {
    const lsc_blob_view *v;
    uint64_t *at;
    uint32_t *col;  /* NULL: counting */
    uint8_t *code;
} rows_ctx;

static void visit(void *arg, uint64_t row, uint64_t col, uint64_t value)
{
    rows_ctx *c = arg;
    if (!c->col) {
        c->at[row + 1]++;
        return;
    }
    uint8_t zp = c->v->zero_points ? c->v->zero_points[row] : 0;
    uint64_t i = c->at[row]++;
    c->col[i] = (uint32_t)col;
    c->code[i] = (uint8_t)(c->v->values[value] + zp); /* the blob stores code - zp mod 256 */
}

void lsc_conv_int8_form_free(lsc_conv_int8_form *form)
{
    if (!form)
        return;
    free(form->stream);
    free(form->values);
    free(form);
}

size_t lsc_conv_int8_form_bytes(uint64_t n_codes, unsigned bits, uint64_t nnz)
{
    return sizeof(lsc_conv_int8_form) + (size_t)((n_codes * bits + 7) / 8) + 1 + (size_t)nnz + 1;
}

/* Codes of `bits` bits for a gap of g >= 1 positions: jumps of 2^bits - 1, then one. */
static uint64_t codes_of(uint64_t g, unsigned bits)
{
    return (g - 1) / ((UINT64_C(1) << bits) - 1) + 1;
}

/* A code of up to 8 bits at `bit` (it spans at most two bytes). */
static void put_code(uint8_t *stream, uint64_t bit, uint64_t c)
{
    stream[bit >> 3] |= (uint8_t)(c << (bit & 7));
    stream[(bit >> 3) + 1] |= (uint8_t)(c >> (8 - (bit & 7)));
}

lsc_status lsc_conv_int8_form_build(const lsc_blob_view *v, lsc_conv_int8_form **out, lsc_error *error)
{
    *out = NULL;
    size_t rows = v->rows, nnz = (size_t)v->nnz;
    lsc_conv_int8_form *f = calloc(1, sizeof *f);
    uint64_t *at = calloc(rows + 1, sizeof *at);
    uint32_t *col = malloc((nnz ? nnz : 1) * sizeof *col);
    uint8_t *code = calloc(1, nnz + 1); /* + 1: lsc_conv_int8_taps reads one past */
    lsc_status st = LSC_OK;
    if (!f || !at || !col || !code)
        goto no_memory;
    rows_ctx c = { v, at, NULL, NULL };
    lsc_blob_walk(v, visit, &c);
    uint64_t max_row = 0;
    for (size_t r = 0; r < rows; r++) {
        max_row = at[r + 1] > max_row ? at[r + 1] : max_row;
        at[r + 1] += at[r];
    }
    c.col = col;
    c.code = code;
    lsc_blob_walk(v, visit, &c); /* at[r] ends as row r + 1's start */
    /* the width with the fewest bytes */
    uint64_t n_codes[9] = { 0 };
    uint64_t prev = UINT64_MAX; /* position -1 */
    for (size_t r = 0, i = 0; r < rows; r++)
        for (; i < at[r]; i++) {
            uint64_t pos = (uint64_t)r * v->cols + col[i];
            for (unsigned b = 1; b <= 8; b++)
                n_codes[b] += codes_of(pos - prev, b);
            prev = pos;
        }
    /* the width with the fewest codes (each costs a step of every call's decoding)
     * among those within the blob's bytes, else none: the caller falls back */
    unsigned bits = 0;
    for (unsigned b = 8; b >= 1; b--)
        if (lsc_conv_int8_form_bytes(n_codes[b], b, nnz) <= v->size && (!bits || n_codes[b] < n_codes[bits]))
            bits = b;
    if (!bits)
        goto done;
    size_t total = lsc_conv_int8_form_bytes(n_codes[bits], bits, nnz);
    f->rows = v->rows;
    f->cols = v->cols;
    f->nnz = nnz;
    f->max_row = (uint32_t)max_row; /* <= cols */
    f->bits = bits;
    f->is_signed = v->dtype == LSC_DTYPE_INT8;
    f->n_codes = n_codes[bits];
    f->zero_points = v->zero_points;
    f->total = total;
    f->stream = calloc(1, (size_t)((f->n_codes * bits + 7) / 8) + 1); /* + 1: codes are read and written 16 bits at a time */
    if (!f->stream)
        goto no_memory;
    const uint64_t jump = (UINT64_C(1) << bits) - 1;
    uint64_t bit = 0;
    prev = UINT64_MAX;
    for (size_t r = 0, i = 0; r < rows; r++)
        for (; i < at[r]; i++) {
            uint64_t pos = (uint64_t)r * v->cols + col[i], g = pos - prev;
            for (; g > jump; g -= jump, bit += bits)
                put_code(f->stream, bit, jump);
            put_code(f->stream, bit, g - 1);
            bit += bits;
            prev = pos;
        }
    f->values = code;
    code = NULL;
    *out = f;
    f = NULL;
    goto done;
no_memory:
    st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory preparing the integer convolution form");
done:
    lsc_conv_int8_form_free(f);
    free(at);
    free(col);
    free(code);
    return st;
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

void lsc_conv_int8_begin(const lsc_conv_int8_form *f, const int16_t *x, const size_t *x_offsets, uint32_t groups,
                         size_t x_group_stride, lsc_conv_int8_cursor *cur)
{
    *cur = (lsc_conv_int8_cursor){ f, x, x_offsets, f->rows / (groups ? groups : 1), x_group_stride, 0,
                                   UINT64_MAX /* position -1 */, 0, 0 };
}

/* The steps of one row from `bit` on, `bits` a constant (the loop runs out of the
 * registers otherwise); *col the column of the last position stepped on, relative to
 * this row (the codes of earlier rows all land before it, so each step here lands at
 * a column >= 0). Returns the taps written; *bit_io and *col stop at the next row's. */
static inline __attribute__((always_inline)) size_t row_steps(const uint8_t *stream, uint64_t *bit_io,
                                                             uint64_t bit_end, int64_t *col_io, int64_t cols,
                                                             const int16_t *xg, const size_t *offs,
                                                             const uint8_t *values, int32_t sign, int32_t bias,
                                                             lsc_conv_int8_tap *taps, const unsigned bits)
{
    const uint64_t jump = (UINT64_C(1) << bits) - 1;
    uint64_t bit = *bit_io;
    int64_t col = *col_io;
    lsc_conv_int8_tap *tp = taps;
    for (; bit < bit_end; bit += bits) { /* branch-free but for the row's end */
        uint64_t c = (uint64_t)(lsc_load_le16(stream + (bit >> 3)) >> (bit & 7)) & jump;
        uint64_t is_value = c != jump;
        int64_t next = col + (int64_t)(c + is_value);
        if (next >= cols)
            break; /* a later row's: left for it */
        col = next;
        tp->x = xg + offs[col]; /* after the row's last value, a jump writes one tap more */
        int16_t w = (int16_t)((int32_t)(*values ^ sign) - bias); /* and reads values' pad */
        tp->w = w;
        tp[-1].w_next = w;
        tp += is_value;
        values += is_value;
    }
    *bit_io = bit;
    *col_io = col;
    return (size_t)(tp - taps);
}

size_t lsc_conv_int8_row(lsc_conv_int8_cursor *cur, lsc_conv_int8_tap *taps)
{
    const lsc_conv_int8_form *f = cur->f;
    const int16_t *xg = cur->x + (size_t)(cur->row / cur->per_group) * cur->x_group_stride;
    uint8_t zp8 = f->zero_points ? f->zero_points[cur->row] : 0;
    /* w = code - zp: int8 codes as (v ^ 128) - 128 */
    const int32_t sign = f->is_signed ? 0x80 : 0, bias = sign + (f->is_signed ? (int8_t)zp8 : zp8);
    int64_t col = (int64_t)(cur->pos - (uint64_t)cur->row * f->cols);
    uint64_t bit = cur->bit, bit_end = f->n_codes * f->bits;
    const uint8_t *values = f->values + cur->t;
    size_t n = 0;
#define STEPS(b) row_steps(f->stream, &bit, bit_end, &col, f->cols, xg, cur->x_offsets, values, sign, bias, taps, b)
    switch (f->bits) {
    case 1: n = STEPS(1); break;
    case 2: n = STEPS(2); break;
    case 3: n = STEPS(3); break;
    case 4: n = STEPS(4); break;
    case 5: n = STEPS(5); break;
    case 6: n = STEPS(6); break;
    case 7: n = STEPS(7); break;
    default: n = STEPS(8); break;
    }
#undef STEPS
    cur->bit = bit;
    cur->pos = (uint64_t)cur->row * f->cols + (uint64_t)col;
    cur->t += n;
    cur->row++;
    return n;
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

int lsc_conv_int8_have_vnni(unsigned flags)
{
#if LSC_HAVE_AVX512_VNNI
    return (flags & LSC_CPU_AVX512) && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#else
    (void)flags;
    return 0;
#endif
}

lsc_conv_int8_row_fn lsc_conv_int8_row_select(unsigned flags)
{
#if LSC_HAVE_AVX512_VNNI
    if (lsc_conv_int8_have_vnni(flags))
        return lsc_conv_int8_row_vnni;
#endif
#if LSC_HAVE_AVX2
    if (flags & LSC_CPU_AVX2)
        return lsc_conv_int8_row_avx2;
#endif
    (void)flags;
    return lsc_conv_int8_row_scalar;
}

typedef struct conv_tasks {
    const lsc_conv_int8_form *f;
    const lsc_conv_int8_tap *taps; /* all rows' (threads) */
    const uint64_t *row_start;
    lsc_conv_int8_cursor cur;
    size_t n, ldy;
    int32_t *y;
    lsc_conv_int8_row_fn fn;
    uint32_t splits[MAX_TASKS + 1];
} conv_tasks;

static void run_task(void *arg, size_t i)
{
    const conv_tasks *t = arg;
    for (uint32_t r = t->splits[i]; r < t->splits[i + 1]; r++)
        t->fn(t->taps + t->row_start[r], (size_t)(t->row_start[r + 1] - t->row_start[r]), t->n,
              t->y + (size_t)r * t->ldy);
}

lsc_status lsc_conv_int8(const lsc_weight *weight, const int16_t *x, const size_t *x_offsets, size_t n,
                         uint32_t groups, size_t x_group_stride, int32_t *y, size_t ldy, const lsc_exec *exec,
                         lsc_error *error)
{
    if (!weight || !x || !x_offsets || !y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_conv_int8: %s is NULL",
                        !weight ? "weight" : !x ? "x" : !x_offsets ? "x_offsets" : "y");
    const lsc_conv_int8_form *f = weight->conv_int8_form;
    if (!f)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_conv_int8: weight '%s' has no integer convolution form (an 8-bit weight, after "
                        "lsc_weight_prepare_conv_int8)", weight->name);
    if (groups < 1 || f->rows % groups || ldy < n)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_conv_int8: %u rows in %u groups, or ldy %zu < n %zu",
                        f->rows, groups, ldy, n);
    if (f->rows == 0 || n == 0)
        return LSC_OK;
    conv_tasks t = { .f = f, .n = n, .ldy = ldy, .y = y,
                     .fn = lsc_conv_int8_row_select(lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0)) };
    lsc_conv_int8_begin(f, x, x_offsets, groups, x_group_stride, &t.cur);
    size_t want = lsc_exec_width(exec);
    want = want > MAX_TASKS ? MAX_TASKS : want;
    want = want > f->rows ? f->rows : want;
    if ((double)f->nnz * (double)n < SERIAL_WORK)
        want = 1;
    if (want == 1) { /* one row's taps at a time, in the cache */
        lsc_conv_int8_tap local[STACK_TAPS]; /* most rows: no allocator call */
        lsc_conv_int8_tap *all = f->max_row + 2 <= STACK_TAPS ? local
                                 : lsc_exec_alloc(exec, ((size_t)f->max_row + 2) * sizeof *all);
        lsc_conv_int8_tap *taps = all + 1;
        if (!all)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_conv_int8: out of memory (%u taps)", f->max_row);
        for (uint32_t r = 0; r < f->rows; r++) {
            size_t n_taps = lsc_conv_int8_row(&t.cur, taps);
            t.fn(taps, n_taps, n, y + (size_t)r * ldy);
        }
        if (all != local)
            lsc_exec_free(exec, all);
        return LSC_OK;
    }
    size_t tap_bytes = ((size_t)f->nnz + 2) * sizeof *t.taps, start_bytes = ((size_t)f->rows + 1) * sizeof *t.row_start;
    char *scratch = lsc_exec_alloc(exec, tap_bytes + start_bytes);
    if (!scratch)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_conv_int8: out of memory (%llu taps)",
                        (unsigned long long)f->nnz);
    uint64_t *row_start = (uint64_t *)(void *)scratch; /* first: aligned for both */
    lsc_conv_int8_tap *taps = (lsc_conv_int8_tap *)(void *)(scratch + start_bytes) + 1; /* taps[-1] exists */
    row_start[0] = 0;
    for (uint32_t r = 0; r < f->rows; r++)
        row_start[r + 1] = row_start[r] + lsc_conv_int8_row(&t.cur, taps + row_start[r]);
    t.taps = taps;
    t.row_start = row_start;
    /* rows cut into `want` ranges of about equal taps (+ 1 a row) */
    size_t made = 0;
    uint64_t total = f->nnz + f->rows;
    t.splits[0] = 0;
    for (uint32_t r = 1; r < f->rows && made + 1 < want; r++)
        if ((row_start[r] + r) * want >= total * (made + 1))
            t.splits[++made] = r;
    t.splits[++made] = f->rows;
    lsc_exec_run(exec, run_task, &t, made);
    lsc_exec_free(exec, scratch);
    return LSC_OK;
}
