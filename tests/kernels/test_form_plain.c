/* The batch-1 form's plain kind beyond test_spmm's small shapes: the rule's line
 * (lsc_n1_plain_wins: up to 2^16 columns, whatever the size), the column array on
 * huge pages (lsc_form_zalloc: 2 MiB-aligned from 2 MiB up, zeroed, and usable when
 * the advice is refused), and a weight whose plain form takes them (> 2 MiB of
 * columns, > 16 MiB of values and columns: bit-packed under stop 16's rule)
 * multiplied on every variant against the dense product in double. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/blob.h"
#include "common/cpu.h"
#include "common/pool.h"
#include "kernels/form.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

#define HUGE_PAGE ((size_t)2 << 20)

static uint64_t state = 0x9E3779B97F4A7C15ull;

static int advised;
static void *advised_at;
static size_t advised_size;

static int refuse(void *p, size_t size)
{
    advised++;
    advised_at = p;
    advised_size = size;
    errno = EINVAL;
    return -1;
}

static int count_and_advise(void *p, size_t size)
{
    advised++;
    advised_at = p;
    advised_size = size;
    return lsc_form_madvise_huge(p, size);
}

static int all_zero(const uint8_t *p, size_t size)
{
    for (size_t i = 0; i < size; i++)
        if (p[i])
            return 0;
    return 1;
}

/* lsc_form_zalloc: below 2 MiB plain calloc (no advice), from 2 MiB up aligned and
 * advised before use; refused advice, or none, still gives zeroed, writable memory. */
static void check_zalloc(void)
{
    static const size_t sizes[] = { 0, 1, 4096, HUGE_PAGE - 1, HUGE_PAGE, HUGE_PAGE + 4097,
                                    3 * HUGE_PAGE };
    static const lsc_advise_fn fns[] = { refuse, count_and_advise, NULL };
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t size = sizes[i];
            advised = 0;
            advised_at = NULL;
            uint8_t *p = lsc_form_zalloc(size, fns[f]);
            CHECKF(p != NULL, "size %zu advice %zu", size, f);
            if (!p)
                continue;
            int big = size >= HUGE_PAGE && fns[f];
            CHECKF(advised == big, "size %zu advice %zu: advised %d times", size, f, advised);
            if (big) {
                CHECKF((uintptr_t)p % HUGE_PAGE == 0, "size %zu: %p not 2 MiB-aligned", size,
                       (void *)p);
                CHECK(advised_at == p && advised_size == size);
            }
            CHECKF(all_zero(p, size), "size %zu advice %zu: not zeroed", size, f);
            if (size) {
                memset(p, 0xa5, size);
                CHECK(p[0] == 0xa5 && p[size - 1] == 0xa5);
            }
            free(p);
        }
}

/* One row of `cols` columns with a value every 97 columns: the rule's kind on each
 * side of 2^16 columns. */
static void check_rule_line(void)
{
    static const uint32_t widths[] = { 65535, 65536, 65537, 100000 };
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        uint32_t cols = widths[k];
        float *m = calloc(cols, sizeof *m);
        if (!m)
            abort();
        for (uint32_t c = 0; c < cols; c += 97)
            m[c] = (float)(c + 1);
        m[cols - 1] = 0.5f;
        lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { 1, cols }, .data = m };
        lsc_encode_options opt;
        lsc_encode_options_default(&opt);
        void *blob = NULL;
        size_t size = 0;
        lsc_weight *w = NULL;
        lsc_error err = { 0 };
        CHECKF(lsc_encode(&t, &opt, &blob, &size, NULL, &err) == LSC_OK &&
                   lsc_weight_open(blob, size, "w", &w, &err) == LSC_OK,
               "%u columns: %s", cols, err.message);
        if (w) {
            int plain = cols <= 65536;
            CHECKF(lsc_n1_plain_wins(&w->view) == plain, "%u columns", cols);
            size_t bytes = 0;
            CHECK(lsc_weight_prepare_n1(w, &bytes, &err) == LSC_OK);
            CHECKF(w->n1_form && w->n1_form->kind == (plain ? LSC_N1_PLAIN : LSC_N1_PACKED),
                   "%u columns: kind %d", cols, w->n1_form ? (int)w->n1_form->kind : -1);
        }
        lsc_weight_close(&w);
        lsc_free(blob);
        free(m);
    }
}

/* A 2048x2048 weight at 70%: ~2.9 M values, 17.6 MB of values and plain columns. */
static void check_large(void)
{
    const uint32_t rows = 2048, cols = 2048;
    float *m = calloc((size_t)rows * cols, sizeof *m);
    float *x = malloc(cols * sizeof *x), *y = malloc(rows * sizeof *y);
    if (!m || !x || !y)
        abort();
    uint64_t nnz = 0;
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        if (xorshift64_unit(&state) < 0.7) {
            m[i] = (float)(xorshift64_unit(&state) - 0.5);
            nnz += m[i] != 0;
        }
    for (uint32_t c = 0; c < cols; c++)
        x[c] = (float)(xorshift64_unit(&state) - 0.5);
    lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { rows, cols }, .data = m };
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    void *blob = NULL;
    size_t size = 0, bytes = 0;
    lsc_weight *w = NULL;
    lsc_error err = { 0 };
    lsc_pool *pool = NULL;
    if (lsc_encode(&t, &opt, &blob, &size, NULL, &err) != LSC_OK ||
        lsc_weight_open(blob, size, "large", &w, &err) != LSC_OK ||
        lsc_pool_create(2, &pool, &err) != LSC_OK ||
        lsc_weight_prepare_n1(w, &bytes, &err) != LSC_OK) {
        fprintf(stderr, "large: %s\n", err.message);
        abort();
    }
    CHECKF(nnz * 6 > (UINT64_C(16) << 20), "%llu values", (unsigned long long)nnz);
    CHECKF(w->n1_form && w->n1_form->kind == LSC_N1_PLAIN, "large: not plain");
    CHECKF(bytes > 0 && bytes <= size, "large: form of %zu bytes, blob %zu", bytes, size);
    if (w->n1_form && w->n1_form->kind == LSC_N1_PLAIN)
        CHECKF((uintptr_t)w->n1_form->plain.cols % HUGE_PAGE == 0, "large: columns at %p",
               (void *)w->n1_form->plain.cols);
    static const unsigned masks[] = { LSC_CPU_SCALAR, LSC_CPU_SCALAR | LSC_CPU_AVX2,
                                      LSC_CPU_SCALAR | LSC_CPU_AVX2 | LSC_CPU_AVX512 };
    for (size_t v = 0; v < sizeof masks / sizeof masks[0]; v++)
        for (int threads = 1; threads <= 2; threads++) {
            lsc_exec exec = { .pool = threads > 1 ? pool : NULL, .cpu_mask = masks[v] };
            for (uint32_t r = 0; r < rows; r++)
                y[r] = 777.0f;
            CHECK(lsc_spmm(w, x, 1, 1, y, 1, 0, 0, &exec, &err) == LSC_OK);
            int bad = 0;
            for (uint32_t r = 0; r < rows && bad < 3; r++) {
                double ref = 0, mag = 0;
                for (uint32_t c = 0; c < cols; c++) {
                    ref += (double)m[(size_t)r * cols + c] * x[c];
                    mag += fabs((double)m[(size_t)r * cols + c] * x[c]);
                }
                if (fabs(y[r] - ref) > 1e-5 * mag + 1e-6) {
                    CHECKF(0, "large mask %u threads %d row %u: %g, want %g", masks[v], threads,
                           r, (double)y[r], ref);
                    bad++;
                }
            }
        }
    lsc_pool_free(&pool);
    lsc_weight_close(&w);
    lsc_free(blob);
    free(m);
    free(x);
    free(y);
}

int main(void)
{
    check_zalloc();
    check_rule_line();
    check_large();
    return check_exit();
}
