/* The integer batch-1 form (lsc_weight_prepare_int8, lsc_spmv_int8) of 8-bit weights:
 * int8 and uint8, zero points 0, 128 and random (int16 values), both orientations,
 * searched and forced narrow blocks (rows interleaved in scan order), ragged row
 * lengths (empty rows, one value, long rows), more than 2^16 columns (uint32
 * columns), x anywhere in int32 (sums that wrap). Every variant and exec against the
 * dense product of the original codes in uint32 arithmetic, and each SIMD variant
 * against the scalar reference on sub-ranges of rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/blob.h"
#include "common/cpu.h"
#include "kernels/form_int8.h"
#include "kernels/kernels_config.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

static uint64_t state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
    return xorshift64(&state);
}

static const struct {
    const char *name;
    unsigned mask;
    lsc_int8_rows_fn fn;
} variants[] = {
    {"scalar", LSC_CPU_SCALAR, lsc_int8_rows_scalar},
    {"avx512 (table kind)", LSC_CPU_AVX512, NULL},
#if LSC_HAVE_AVX2
    {"avx2", LSC_CPU_AVX2, lsc_int8_rows_avx2},
#endif
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

static int forms_wide, forms_cols32, forms_narrow, forms_table, forms_other_table, tables_checked;

/* x: A - zero point of 8-bit A (256 values at most: the table kind), values over
 * [-255, 255] (the rows kind), any int32 (products and sums wrap), or 256 values at
 * int32's top (the table kind's offset wraps) */
static void fill_x(int32_t *x, uint32_t n, int kind)
{
    int32_t zp = (int32_t)(rnd() % 256) - (kind == 0 && rnd() % 2 ? 128 : 0);
    for (uint32_t i = 0; i < n; i++)
        x[i] = kind == 0   ? (int32_t)(rnd() % 256) - zp
               : kind == 1 ? (int32_t)(rnd() % 511) - 255
               : kind == 2 ? (int32_t)(uint32_t)rnd()
                           : INT32_MAX - (int32_t)(rnd() % 256);
    if (kind == 0 && n > 1) { /* both ends of A */
        x[0] = -zp;
        x[n - 1] = 255 - zp;
    }
}

/* The table kind's kernel against its reference on a sub-range of rows, when x fits */
static void check_table(const char *what, const lsc_int8_form *f, const int32_t *x, uint32_t cols, int32_t *y,
                        int32_t *y2)
{
#if LSC_HAVE_AVX512_TABLE
    if (!f->table || !lsc_int8_have_table(lsc_cpu_flags()) || cols == 0)
        return;
    int32_t lo = x[0], hi = x[0];
    for (uint32_t i = 0; i < cols; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    if ((int64_t)hi - lo > 255)
        return;
    int8_t *xs = calloc((size_t)f->table->chunks * 128, 1);
    if (!xs)
        abort();
    int64_t o = (int64_t)lo + 128;
    for (uint32_t i = 0; i < cols; i++)
        xs[i] = (int8_t)((int64_t)x[i] - o);
    uint32_t r0 = f->rows > 2 ? (uint32_t)(rnd() % (f->rows / 2)) : 0, r1 = f->rows - (f->rows > 3 ? 1 : 0);
    memset(y, 0x5a, (size_t)f->rows * sizeof *y);
    memset(y2, 0x5a, (size_t)f->rows * sizeof *y2);
    lsc_int8_table_rows(f, xs, (int32_t)(uint32_t)o, y, r0, r1);
    lsc_int8_table_scalar(f, x, y2, r0, r1);
    CHECKF(memcmp(y, y2, (size_t)f->rows * sizeof *y) == 0, "%s: table rows [%u, %u)", what, r0, r1);
    tables_checked++;
    free(xs);
#else
    (void)what, (void)f, (void)x, (void)cols, (void)y, (void)y2;
#endif
}

static void run_case(lsc_dtype dtype, uint32_t d0, uint32_t d1, int transposed, double density, int zp_kind,
                     uint32_t force_bh, lsc_pool *pool)
{
    uint32_t rows = transposed ? d1 : d0, cols = transposed ? d0 : d1;
    uint64_t n = (uint64_t)d0 * d1;
    uint8_t *data = malloc(n), *zp = malloc(rows);
    if (!data || !zp)
        abort();
    for (uint32_t r = 0; r < rows; r++)
        zp[r] = zp_kind == 0 ? 0 : zp_kind == 1 ? 128 : (uint8_t)(rnd() % 256);
    for (uint64_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(transposed ? i % d1 : i / d1);
        /* ragged: every 7th row empty, every 5th dense, row 1 one value at most */
        double dr = r % 7 == 3 ? 0 : r % 5 == 2 ? 0.9 : density;
        data[i] = zp[r];
        if (xorshift64_unit(&state) < dr && (r != 1 || i % cols == 0))
            data[i] = (uint8_t)(rnd() % 256);
    }
    char what[200];
    snprintf(what, sizeof what, "dtype %d %ux%u tr %d density %g zp %d bh %u", dtype, d0, d1, transposed,
             density, zp_kind, force_bh);
    lsc_tensor t = {.dtype = dtype, .rank = 2, .dims = {d0, d1}, .data = data};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    o.zero_points = zp;
    if (force_bh) {
        o.block_h = force_bh;
        o.block_w = 1;
        o.index_bits = 3;
    }
    void *blob = NULL;
    size_t size = 0;
    lsc_encode_stats st;
    lsc_error err = {0};
    lsc_weight *w = NULL;
    CHECKF(lsc_encode(&t, &o, &blob, &size, &st, &err) == LSC_OK && blob, "%s: %s", what, err.message);
    CHECKF(blob && lsc_weight_open(blob, size, "w", &w, &err) == LSC_OK, "%s: open: %s", what, err.message);
    int32_t *x = malloc((size_t)cols * sizeof *x), *y = malloc((size_t)rows * sizeof *y);
    int32_t *ref = malloc((size_t)rows * sizeof *ref), *y2 = malloc((size_t)rows * sizeof *y2);
    if (!x || !y || !ref || !y2)
        abort();
    size_t bytes = 0, again = 1;
    if (w) {
        CHECKF(lsc_spmv_int8(w, x, y, NULL, &err) == LSC_ERR_INVALID_ARGUMENT, "%s: unprepared", what);
        CHECKF(lsc_weight_prepare_int8(w, &bytes, &err) == LSC_OK && bytes > 0, "%s: prepare: %s", what,
               err.message);
        CHECKF(lsc_weight_prepare_int8(w, &again, &err) == LSC_OK && again == bytes, "%s: twice", what);
        const lsc_int8_form *f = w->int8_form;
        forms_wide += f && f->val_bytes == 2;
        forms_cols32 += f && f->col_bytes == 4;
        forms_narrow += w->view.block_h > 1 && w->view.block_w < cols;
        forms_table += f && f->table;
        CHECKF(!f || !!f->table == (cols <= LSC_INT8_TABLE_COLS && lsc_int8_have_table(lsc_cpu_flags())),
               "%s: kind", what);
        int wide = 0; /* some code - zero point outside int8: int16 values */
        for (uint64_t i = 0; i < n; i++) {
            uint32_t r = (uint32_t)(transposed ? i % d1 : i / d1);
            int v = dtype == LSC_DTYPE_INT8 ? (int8_t)data[i] - (int8_t)zp[r] : data[i] - zp[r];
            wide |= v < -128 || v > 127;
        }
        CHECKF(f && f->val_bytes == (wide ? 2u : 1u) && f->col_bytes == (cols <= 65536 ? 2u : 4u),
               "%s: widths", what);
    }
    /* both kinds, wherever the table may be: the one prepare chose, then the other
     * (built here, on a CPU without the table's ISA too) */
    lsc_int8_form *other = NULL;
    if (w && w->int8_form && cols <= LSC_INT8_TABLE_COLS)
        CHECKF(lsc_int8_form_build(&w->view, !w->int8_form->table, &other, &err) == LSC_OK && other,
               "%s: other kind: %s", what, err.message);
    for (int kind = 0; kind < 2 && w && w->int8_form; kind++) {
        if (kind) {
            if (!other)
                break;
            forms_other_table += !!other->table;
            lsc_int8_form *swap = w->int8_form;
            w->int8_form = other;
            other = swap;
        }
        for (int any = 0; any < 4; any++) {
            fill_x(x, cols, any);
            for (uint32_t r = 0; r < rows; r++) { /* the dense product of the codes */
                uint32_t acc = 0;
                for (uint32_t c = 0; c < cols; c++) {
                    uint8_t code = data[transposed ? (uint64_t)c * d1 + r : (uint64_t)r * d1 + c];
                    int v = dtype == LSC_DTYPE_INT8 ? (int8_t)code - (int8_t)zp[r] : code - zp[r];
                    acc += (uint32_t)v * (uint32_t)x[c];
                }
                ref[r] = (int32_t)acc;
            }
            for (size_t vi = 0; vi < N_VARIANTS; vi++) {
                if (!(lsc_cpu_flags() & variants[vi].mask))
                    continue;
                for (int e = 0; e < 2; e++) {
                    lsc_exec exec = {.pool = e ? pool : NULL, .cpu_mask = variants[vi].mask};
                    memset(y, 0x5a, (size_t)rows * sizeof *y);
                    CHECKF(lsc_spmv_int8(w, x, y, &exec, &err) == LSC_OK, "%s: %s", what, err.message);
                    CHECKF(memcmp(y, ref, (size_t)rows * sizeof *y) == 0, "%s: %s exec %d x kind %d", what,
                           variants[vi].name, e, any);
                }
                if (!variants[vi].fn || w->int8_form->table)
                    continue;
                /* a sub-range of rows against the scalar reference, the rest untouched */
                uint32_t r0 = rows > 2 ? (uint32_t)(rnd() % (rows / 2)) : 0, r1 = rows - (rows > 3 ? 1 : 0);
                memset(y, 0x5a, (size_t)rows * sizeof *y);
                memset(y2, 0x5a, (size_t)rows * sizeof *y2);
                variants[vi].fn(w->int8_form, x, y, r0, r1);
                lsc_int8_rows_scalar(w->int8_form, x, y2, r0, r1);
                CHECKF(memcmp(y, y2, (size_t)rows * sizeof *y) == 0, "%s: %s rows [%u, %u)", what,
                       variants[vi].name, r0, r1);
            }
            check_table(what, w->int8_form, x, cols, y, y2);
        }
    }
    lsc_int8_form_free(other);
    lsc_weight_close(&w);
    lsc_free(blob);
    free(x);
    free(y);
    free(y2);
    free(ref);
    free(data);
    free(zp);
}

int main(void)
{
    lsc_pool *pool = NULL;
    lsc_error err = {0};
    CHECK(lsc_pool_create(2, &pool, &err) == LSC_OK);
    const lsc_dtype types[2] = {LSC_DTYPE_INT8, LSC_DTYPE_UINT8};
    const uint32_t shapes[][2] = {{37, 53}, {100, 300}, {1, 17}, {64, 1000}, {300, 784}};
    const double densities[] = {0.02, 0.1, 0.5};
    for (int ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (size_t di = 0; di < sizeof densities / sizeof densities[0]; di++)
                for (int zk = 0; zk < 3; zk++) {
                    run_case(types[ti], shapes[si][0], shapes[si][1], (int)(di + zk) % 2, densities[di], zk,
                             0, pool);
                    if (di == 1 && shapes[si][0] >= 16 && shapes[si][1] >= 16)
                        run_case(types[ti], shapes[si][0], shapes[si][1], zk % 2, densities[di], zk, 16,
                                 pool);
                }
    run_case(LSC_DTYPE_UINT8, 3, 70001, 0, 0.01, 2, 0, pool); /* uint32 columns */
    run_case(LSC_DTYPE_INT8, 70001, 2, 1, 0.02, 0, 0, pool);
    /* a float weight has no integer form */
    float wf[4] = {0, 1, 0, 2};
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {2, 2}, .data = wf};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    void *blob = NULL;
    size_t size = 0, bytes = 1;
    lsc_weight *w = NULL;
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    CHECK(blob && lsc_weight_open(blob, size, "f", &w, &err) == LSC_OK);
    CHECK(w && lsc_weight_prepare_int8(w, &bytes, &err) == LSC_OK && bytes == 0);
    lsc_weight_close(&w);
    lsc_free(blob);
    CHECK(lsc_weight_prepare_int8(NULL, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECKF(forms_wide > 0 && forms_cols32 > 0 && forms_narrow > 0, "wide %d cols32 %d narrow %d", forms_wide,
           forms_cols32, forms_narrow);
    CHECKF(forms_table + forms_other_table > 0 &&
               (!lsc_int8_have_table(lsc_cpu_flags()) || tables_checked > 0),
           "table kinds %d, checked %d", forms_table, tables_checked);
    printf("integer forms: %d int16, %d uint32 columns, %d narrow blocks, %d with tables (%d table checks); "
           "variants %zu\n",
           forms_wide, forms_cols32, forms_narrow, forms_table, tables_checked, N_VARIANTS);
    lsc_pool_free(&pool);
    return check_exit();
}
