/* Inside the kernels: one multiply as a job cut into ranges of block rows, and the
 * per-ISA functions that run a range. */
#ifndef LSC_KERNELS_SPMM_H
#define LSC_KERNELS_SPMM_H

#include <stddef.h>
#include <stdint.h>

#include "codec/blob.h"
#include "kernels/form.h"

typedef struct lsc_spmm_job {
    const lsc_blob_view *v;
    const float *x;          /* cols x n, row k at x + k * ldx (n = 1: element k at x[k * ldx]) */
    size_t ldx, n;
    float *y;                /* rows x n, row i at y + i * ldy, absolute row numbers */
    size_t ldy;
    uint32_t row_begin, row_end; /* rows written; others untouched */
    const lsc_n1_form *form;     /* float32 values: the batch-1 form for n = 1, its plain
                                  * kind for n = 2..LSC_PLAIN_MAX_N, else NULL */
} lsc_spmm_job;

/* Multiplies block rows [br_begin, br_end) of the job: overwrites their rows of Y
 * that lie inside [row_begin, row_end). */
typedef void (*lsc_brows_fn)(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);

void lsc_spmm_brows_scalar(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_spmm_brows_avx2(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_spmm_brows_avx512(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);

/* n = 1 on the batch-1 form (form_rows.h): the same contract as lsc_brows_fn. */
void lsc_form_rows_scalar(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_form_rows_avx2(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_form_rows_avx512(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);

/* n = 2..LSC_PLAIN_MAX_N on the batch-1 form's plain kind (plain_spmm.h): the same
 * contract as lsc_brows_fn. */
void lsc_plain_spmm_scalar(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_plain_spmm_avx2(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);
void lsc_plain_spmm_avx512(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end);

#define LSC_PLAIN_MAX_N 64
/* X's rows a k-block of the plain path reads: L1 (16 KiB ran 10-25% slower at n = 8..64,
 * 64 KiB 30% slower at n = 8; Zen 4) */
#define LSC_PLAIN_KB_BYTES 32768

/* Columns of W a k-block of the plain path holds, X's rows `n` floats apart, for
 * `values` values on `segs` segments: a power of two, at least 64, whose rows of X fill
 * LSC_PLAIN_KB_BYTES, more while a segment's piece of it would hold fewer than
 * LSC_PLAIN_MIN_PIECE values on average (up to LSC_PLAIN_KB_MAX_BYTES: L2), since each
 * piece costs a call, its sums' load and store and a mispredicted end (fc6 at 2%,
 * n = 32: 5 values a piece ran 1.5x slower than the old path); the whole weight when
 * that is more than its cols. */
#define LSC_PLAIN_MIN_PIECE 32
#define LSC_PLAIN_KB_MAX_BYTES (UINT64_C(512) << 10)
static inline uint32_t lsc_plain_kb_cols(uint32_t cols, size_t n, uint64_t values, uint32_t segs)
{
    uint64_t kb = 64;
    while (kb * 2 * n * sizeof(float) <= LSC_PLAIN_KB_BYTES)
        kb *= 2;
    while (kb < cols && kb * 2 * n * sizeof(float) <= LSC_PLAIN_KB_MAX_BYTES &&
           (double)values * (double)kb < (double)LSC_PLAIN_MIN_PIECE * cols * (segs ? segs : 1))
        kb *= 2;
    if (kb < cols && (double)values * (double)kb < (double)LSC_PLAIN_MIN_PIECE * cols * (segs ? segs : 1))
        return cols; /* X past L2 either way: one k-block, no cursors */
    return kb < cols ? (uint32_t)kb : cols;
}

/* A windowed multiply (lsc_spmm_windows_to): the rows decoded once, each row's values
 * as (offset into x, fp32 value) sorted by column and cut at the same columns into
 * k-blocks, so that the windows of X one k-block reads across a tile of columns stay
 * in L1 while every row passes over them. A tile's sums build up in the task's own
 * buffer and go to the sink when final. */
typedef struct lsc_windows_job {
    const float *x;
    size_t tile;             /* columns a tile holds */
    const lsc_windows_sink *sink;
    uint32_t row_begin;      /* the row of starts[0] */
    uint32_t n_kb;           /* k-blocks */
    const uint64_t *starts;  /* row (r - row_begin), k-block kb: first value at
                              * starts[(r - row_begin) * (n_kb + 1) + kb]; + n_kb: end */
    const uint32_t *offs;    /* per value: x + offs[i] is its window */
    const float *vals;
    /* or, on the weight's form (win_form.h; offs NULL): value i's window is
     * x + tab[cols[i]], mapped a row's k-block at a time into a buffer in L1 */
    const uint16_t *cols;
    const uint32_t *tab;
    /* copy_cols > 0 (on the form, variants with k_win_row): per tile and k-block, the
     * k-block's windows are copied to copy_cols x tile floats on 64-byte lines past the
     * task's sums, column c's at (c - first[kb]) x tile, so that no load of X splits a
     * line; each row's values are walked by a cursor (no starts), row r's first at
     * row_start[r] - value_base, its end at row_start[r + 1] - value_base */
    uint32_t copy_cols;
    const uint32_t *first; /* n_kb + 1: the k-blocks' first columns, then the end */
    const uint32_t *row_start;
    uint32_t value_base;
} lsc_windows_job;

/* Rows [r0, r1), columns [j0, j1) to the sink; acc has room for (r1 - r0) x tile
 * floats. */
typedef void (*lsc_windows_fn)(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0,
                               size_t j1, float *acc);

void lsc_windows_scalar(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0, size_t j1,
                        float *acc);
void lsc_windows_avx2(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0, size_t j1,
                      float *acc);
void lsc_windows_avx512(const lsc_windows_job *job, uint32_t r0, uint32_t r1, size_t j0, size_t j1,
                        float *acc);

/* Decodes block row br into columns and rows inside it (brows.h). */
typedef uint64_t (*lsc_unpack_fn)(const lsc_blob_view *v, uint32_t br, uint32_t *kept,
                                  uint32_t *cols, uint32_t *lrs, uint64_t cap);

uint64_t lsc_unpack_brow_scalar(const lsc_blob_view *v, uint32_t br, uint32_t *kept,
                                uint32_t *cols, uint32_t *lrs, uint64_t cap);
uint64_t lsc_unpack_brow_avx2(const lsc_blob_view *v, uint32_t br, uint32_t *kept, uint32_t *cols,
                              uint32_t *lrs, uint64_t cap);
uint64_t lsc_unpack_brow_avx512(const lsc_blob_view *v, uint32_t br, uint32_t *kept,
                                uint32_t *cols, uint32_t *lrs, uint64_t cap);

/* One variant's functions. */
typedef struct lsc_kernel_set {
    const char *name;
    unsigned needs;          /* LSC_CPU_* flag it runs under (0: always) */
    lsc_brows_fn brows;
    lsc_windows_fn windows;
    lsc_unpack_fn unpack;
    lsc_brows_fn form_rows;
    lsc_brows_fn plain_spmm;
    /* windows gets a small X copied so every strip starts on a 64-byte line
     * (windows.c align_windows): AVX-512's 64-byte loads gain ~11% on 14x14
     * convolutions; AVX2's 32-byte loads split half as often and lost 10-30% (a first
     * version, full-size k-blocks) to the copies' larger L1 footprint. On the form, a
     * larger X then has each k-block's windows copied per tile (copy_cols): the
     * variant must define windows.h's k_win_row. */
    int align_windows;
    int kblock; /* brows runs one-row block rows at n >= 8 in k-blocks (brows_kblock.h) */
} lsc_kernel_set;

/* n >= 8 on one-row block rows in k-blocks (brows_kblock.h): the columns of X and Y
 * in strips of `strip`, each strip's k-block of kb_cols rows of X packed `stride`
 * floats apart (kb_cols a power of two, so a column's k-block is a shift). */
typedef struct lsc_kblock_plan {
    size_t strip, stride;
    uint32_t kb_cols, kb_shift, n_kb; /* kb_cols = 2^kb_shift */
} lsc_kblock_plan;

/* The plan for rows holding `values` values of a cols-column weight at n columns of
 * X; 0 if that path does not serve them (n < 8, too few values per k-block). */
int lsc_kblock_plan_make(uint32_t cols, uint64_t rows, uint64_t values, size_t n,
                         lsc_kblock_plan *plan);

/* The variant for these LSC_CPU_* flags (best first). */
const lsc_kernel_set *lsc_kernels_select(unsigned flags);

/* A multiply's view and row range: *view the weight's (an 8-bit weight's dequantized
 * one, which it must have); (0, 0) becomes all rows, else the range must lie inside
 * the weight (fn names the caller in the message). */
lsc_status lsc_spmm_row_range(const lsc_weight *w, const char *fn, uint32_t *row_begin,
                              uint32_t *row_end, const lsc_blob_view **view, lsc_error *error);

/* How many tasks to cut a multiply into on exec (1: serial), and running them. */
size_t lsc_exec_width(const lsc_exec *exec);
/* A temporary buffer from exec's scratch allocator (malloc without one; exec may be
 * NULL), freed by lsc_exec_free; the calling thread only. */
void *lsc_exec_alloc(const lsc_exec *exec, size_t bytes);
void lsc_exec_free(const lsc_exec *exec, void *p);
void lsc_exec_run(const lsc_exec *exec, lsc_task_fn fn, void *arg, size_t n_tasks);

#endif /* LSC_KERNELS_SPMM_H */
