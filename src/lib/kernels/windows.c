/* lsc_spmm_windows_to: a multiply whose X rows are windows of one buffer (a
 * convolution over its padded input, with no im2col matrix). On the weight's
 * convolution form (win_form.h, run_form) nothing is decoded; otherwise the rows are
 * decoded once per call into (window offset, fp32 value) pairs, sorted by column and cut
 * into k-blocks whose windows fit L1 across a tile of columns; then tasks of rows x
 * column tiles run the variant's tile loop (windows.h), each summing a tile in its
 * own buffer and handing it to the sink. lsc_spmm_windows is a sink that writes Y. */
#include <stdlib.h>

#include "common/cpu.h"
#include "common/error.h"
#include "kernels/convert.h"
#include "kernels/spmm.h"
#include "kernels/win_form.h"

/* Tile and k-block sizes measured on Zen 3 (32 KiB L1, docs/benchmarks.md): 256 / 8192
 * beat 128 / 4096 by 1.1-1.4x on VGG's 3x3 layers. The footprint counts every
 * window's non-overlapping part across the whole tile, an overestimate for windows
 * of neighbouring taps. */
#define WIN_TILE 256          /* columns of Y per tile: four register strips of AVX2 */
#define WIN_L1_FLOATS 8192    /* windows of one k-block across a tile: ~32 KiB */
#define WIN_BLOCK_VALUES 8    /* values per row and k-block, on average, at least */
#define WIN_SERIAL_WORK 65536 /* values x columns (values, to decode) below which threads cost more */
#define WIN_CHUNK (1u << 20)  /* values converted per call */
/* Copied windows (run_form on AVX-512): tiles of 128 columns, k-blocks of 64 columns'
 * windows (32 KiB, Zen 4's L1). Against 256 x 32 (the same bytes): 0.88-0.96x the time
 * on VGG's 224- to 28-pixel shapes (more values a pass over a row's sums, which stay
 * in L2 with half the traffic); 64 or 96 columns a tile 1.00-1.14x of 128, k-blocks of
 * 48 columns 0.99-1.06x of 64, 80 or 96 0.95-1.05x (docs/benchmarks.md, stop 18). */
#define WIN_COPY_TILE 128
#define WIN_COPY_COLS 64
/* ...and only where a copied window serves enough values (non-zeros a column): at batch
 * 32 LeNet-5's conv2 at 5% (2.5 a column) took 1.65x as long copied, its conv1 (10)
 * 1.08x; VGG's conv1_2 (14) the same within the noise, its other layers >= 36 gain */
#define WIN_COPY_MIN_USES 16

/* The first column of each k-block: a block grows while the windows it adds (their
 * parts not overlapping the previous window, across a tile) fit budget floats, but
 * holds at least min_cols columns. Returns the count. */
static uint32_t cut_kblocks(const size_t *off, uint32_t cols, uint32_t min_cols, size_t budget,
                            uint32_t *first)
{
    uint32_t n_kb = 0, start = 0;
    size_t fp = 0;
    for (uint32_t c = 0; c < cols; c++) {
        size_t add = WIN_TILE;
        if (c > start) {
            size_t d = off[c] > off[c - 1] ? off[c] - off[c - 1] : off[c - 1] - off[c];
            add = d < WIN_TILE ? d : WIN_TILE;
        }
        if (c == 0 || (fp + add > budget && c - start >= min_cols)) {
            first[n_kb++] = c;
            start = c;
            fp = WIN_TILE;
        } else {
            fp += add;
        }
    }
    return n_kb;
}

/* The decoded rows: for row r (from rb), k-block kb, its first value at
 * starts[(r - rb) * (n_kb + 1) + kb]; each block row's values sit where the blob
 * has them (value index - v_lo), so block rows decode in parallel. */
#define WIN_UNPACK_TASKS 64

typedef struct win_unpack {
    const lsc_blob_view *v;
    lsc_unpack_fn unpack;
    const uint32_t *x_offsets; /* the caller's, checked to fit 32 bits */
    const uint32_t *first;
    uint32_t n_kb, rb, re, br_lo, br_hi;
    uint64_t v_lo;
    size_t n_tasks;
    uint64_t *starts;
    uint32_t *offs;
    float *vals;
    uint8_t failed[WIN_UNPACK_TASKS]; /* per task: its scratch could not be had */
} win_unpack;

/* One task's scratch: the kept block columns; for block rows taller than one, a
 * block row's columns, rows and values and the rows' counts. */
typedef struct win_scratch {
    uint32_t *cols, *lrs, *count, *kept;
    float *tvals;
} win_scratch;

/* Row r's values [a, e), columns in offs: its k-block starts, then columns to
 * window offsets. */
static void finish_row(const win_unpack *u, uint32_t r, uint64_t a, uint64_t e)
{
    uint64_t *s = u->starts + (size_t)(r - u->rb) * (u->n_kb + 1);
    uint32_t kb = 0;
    s[0] = a;
    for (uint64_t i = a; i < e; i++) {
        while (kb + 1 < u->n_kb && u->offs[i] >= u->first[kb + 1])
            s[++kb] = i;
        u->offs[i] = u->x_offsets[u->offs[i]];
    }
    while (kb < u->n_kb)
        s[++kb] = e;
}

/* Block row br: per row of [rb, re) its values sorted by column (a block row's
 * values come block by block, each block row by row, so a stable sort by row leaves
 * each row's columns increasing). Columns outside the matrix (a corrupt blob) are
 * dropped. */
static void unpack_brow(const win_unpack *u, win_scratch *w, uint32_t br)
{
    const lsc_blob_view *v = u->v;
    const uint32_t bh = v->block_h;
    uint64_t e0, vstart, vend;
    lsc_blob_row_start(v, br, &e0, &vstart);
    lsc_blob_row_start(v, br + 1, &e0, &vend);
    uint64_t r0 = (uint64_t)br * bh, at = vstart - u->v_lo;
    /* one-row block rows decode in place; taller ones go through the scratch */
    uint32_t *cols = bh == 1 ? u->offs + at : w->cols;
    float *vals = bh == 1 ? u->vals + at : w->tvals;
    uint64_t got = u->unpack(v, br, w->kept, cols, bh > 1 ? w->lrs : NULL, vend - vstart);
    for (uint64_t i = 0; i < got; i += WIN_CHUNK)
        lsc_convert_values(v->dtype, v->values + (vstart + i) * v->elem_size, vals + i,
                           got - i < WIN_CHUNK ? (uint32_t)(got - i) : WIN_CHUNK);
    if (bh == 1) { /* one pass: columns outside the matrix dropped, k-block starts, offsets */
        uint64_t *st = u->starts + (size_t)(br - u->rb) * (u->n_kb + 1);
        const uint32_t *first = u->first, *xo = u->x_offsets, nkb = u->n_kb, ncols = v->cols;
        uint32_t kb = 0, next = nkb > 1 ? first[1] : UINT32_MAX;
        uint64_t k = at;
        st[0] = at;
        for (uint64_t i = at; i < at + got; i++) {
            uint32_t c = u->offs[i];
            if (c >= ncols)
                continue;
            while (c >= next) {
                st[++kb] = k;
                next = kb + 1 < nkb ? first[kb + 1] : UINT32_MAX;
            }
            u->offs[k] = xo[c];
            u->vals[k++] = u->vals[i];
        }
        while (kb < nkb)
            st[++kb] = k;
        return;
    }
    /* a stable counting sort by row, rows outside [rb, re) left out */
    memset(w->count, 0, ((size_t)bh + 1) * sizeof *w->count);
    for (uint64_t i = 0; i < got; i++)
        if (w->cols[i] < v->cols)
            w->count[w->lrs[i] + 1]++;
    uint64_t lo = u->rb > r0 ? u->rb - r0 : 0, hi = u->re - r0 < bh ? u->re - r0 : bh;
    uint64_t begin = at;
    for (uint32_t lr = 0; lr < bh; lr++) {
        uint32_t c = w->count[lr + 1];
        w->count[lr + 1] = lr >= lo && lr < hi ? (uint32_t)(at - begin) : UINT32_MAX;
        if (lr >= lo && lr < hi)
            at += c;
    }
    for (uint64_t i = 0; i < got; i++) {
        uint32_t lr = w->lrs[i];
        if (w->cols[i] >= v->cols || w->count[lr + 1] == UINT32_MAX)
            continue;
        uint64_t j = begin + w->count[lr + 1]++;
        u->offs[j] = w->cols[i];
        u->vals[j] = w->tvals[i];
    }
    uint64_t a = begin;
    for (uint64_t lr = lo; lr < hi; lr++) { /* count[lr + 1] is now the row's end */
        uint64_t e = begin + w->count[lr + 1];
        finish_row(u, (uint32_t)(r0 + lr), a, e);
        a = e;
    }
}

/* Task t: its share of the block rows, with its own scratch. */
static void unpack_task(void *arg, size_t t)
{
    win_unpack *u = arg;
    const lsc_blob_view *v = u->v;
    uint32_t span = u->br_hi - u->br_lo;
    uint32_t b0 = u->br_lo + (uint32_t)((uint64_t)span * t / u->n_tasks);
    uint32_t b1 = u->br_lo + (uint32_t)((uint64_t)span * (t + 1) / u->n_tasks);
    uint64_t most = 0, e0, a, b;
    for (uint32_t br = b0; br < b1; br++) {
        lsc_blob_row_start(v, br, &e0, &a);
        lsc_blob_row_start(v, br + 1, &e0, &b);
        most = b - a > most ? b - a : most;
    }
    win_scratch w = { 0 };
    w.kept = malloc(((size_t)v->n_bcols + 1) * sizeof *w.kept);
    if (v->block_h > 1) {
        w.cols = malloc((size_t)(most + 1) * sizeof *w.cols);
        w.tvals = malloc((size_t)(most + 1) * sizeof *w.tvals);
        w.lrs = malloc((size_t)(most + 1) * sizeof *w.lrs);
        w.count = malloc(((size_t)v->block_h + 1) * sizeof *w.count);
    }
    if (w.kept && (v->block_h == 1 || (w.cols && w.tvals && w.lrs && w.count)))
        for (uint32_t br = b0; br < b1; br++)
            unpack_brow(u, &w, br);
    else
        u->failed[t] = 1;
    free(w.cols);
    free(w.tvals);
    free(w.kept);
    free(w.lrs);
    free(w.count);
}

/* Decodes rows [rb, re) into u's starts, offs and vals (allocated here, freed by
 * the caller), block rows spread over exec's tasks. */
static lsc_status unpack_rows(win_unpack *u, const lsc_weight *wt, const lsc_exec *exec,
                              lsc_error *error)
{
    const lsc_blob_view *v = u->v;
    uint64_t e0, v_hi;
    u->br_lo = u->rb / v->block_h;
    u->br_hi = (uint32_t)(((uint64_t)u->re + v->block_h - 1) / v->block_h);
    lsc_blob_row_start(v, u->br_lo, &e0, &u->v_lo);
    lsc_blob_row_start(v, u->br_hi, &e0, &v_hi);
    uint64_t total = v_hi - u->v_lo;
    if (total > SIZE_MAX / 8)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "lsc_spmm_windows: weight '%s' is too large",
                        wt->name);
    u->starts = lsc_exec_alloc(exec, ((size_t)(u->re - u->rb) * (u->n_kb + 1)) * sizeof *u->starts);
    u->offs = lsc_exec_alloc(exec, (size_t)(total + 1) * sizeof *u->offs);
    u->vals = lsc_exec_alloc(exec, (size_t)(total + 1) * sizeof *u->vals);
    size_t want = total < WIN_SERIAL_WORK ? 1 : lsc_exec_width(exec);
    want = want < WIN_UNPACK_TASKS ? want : WIN_UNPACK_TASKS;
    u->n_tasks = want < u->br_hi - u->br_lo ? want : u->br_hi - u->br_lo;
    memset(u->failed, 0, sizeof u->failed);
    int failed = !u->starts || !u->offs || !u->vals;
    if (!failed)
        lsc_exec_run(exec, unpack_task, u, u->n_tasks);
    for (size_t t = 0; t < u->n_tasks; t++)
        failed |= u->failed[t];
    if (failed)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_spmm_windows: weight '%s': out of memory",
                        wt->name);
    return LSC_OK;
}

static void free_unpacked(win_unpack *u, const lsc_exec *exec)
{
    lsc_exec_free(exec, u->starts);
    lsc_exec_free(exec, u->offs);
    lsc_exec_free(exec, u->vals);
}

typedef struct win_tasks {
    lsc_windows_job job;
    lsc_windows_fn fn;
    uint32_t rb, re, row_parts, task_rows, min_cols;
    uint32_t copy_cols; /* run_form may copy k-blocks of this many columns' windows */
    const size_t *x_offsets; /* the caller's */
    int align; /* X copied to aligned windows in panels (align_windows) */
    size_t span; /* the largest window offset: X's extent but the last window's n */
    size_t n, col_parts, tiles;
    size_t acc_stride; /* floats: task i's tile of sums at acc + i * acc_stride */
    float *acc;
} win_tasks;

static void run_win(void *arg, size_t i)
{
    const win_tasks *t = arg;
    size_t ci = i % t->col_parts, ri = i / t->col_parts;
    size_t j0 = t->tiles * ci / t->col_parts * t->job.tile;
    size_t j1 = t->tiles * (ci + 1) / t->col_parts * t->job.tile;
    uint32_t r0 = t->rb + (uint32_t)((uint64_t)(t->re - t->rb) * ri / t->row_parts);
    uint32_t r1 = t->rb + (uint32_t)((uint64_t)(t->re - t->rb) * (ri + 1) / t->row_parts);
    j1 = j1 < t->n ? j1 : t->n;
    if (j0 < j1 && r0 < r1)
        t->fn(&t->job, r0, r1, j0, j1, t->acc + i * t->acc_stride);
}

/* Panels: when every task holds one tile of columns (small images: a 14x14 layer's 224
 * columns), a task decodes its rows a panel at a time into its own buffers, which stay
 * in L2 while the panel's rows pass over the k-blocks, instead of all rows at once into
 * buffers of ~8 bytes a value that go out to memory and come back (on VGG's 14x14
 * layers that round trip was ~20% of the multiply). Every panel reads all of X again,
 * so only when X fits L2 (a 14x14 layer's 512 channels: 0.5 MiB); one-row block rows. */
#define WIN_PANEL_X_FLOATS 262144 /* X's span, floats (1 MiB: Zen 4's L2) */
#define WIN_PANEL_VALUES 16384 /* values a panel holds (~128 KiB decoded), unless a row has more */
#define WIN_PANEL_ROWS 64

typedef struct win_panels {
    const win_tasks *t;
    const win_unpack *u;   /* the shared parameters: weight, decoder, k-blocks, offsets */
    size_t cap;            /* values a task's buffers hold */
    uint32_t *offs;        /* task i's at + i * cap; likewise vals */
    float *vals;
    uint64_t *starts;      /* task i's at + i * WIN_PANEL_ROWS * (n_kb + 1) */
    uint32_t *kept;        /* task i's at + i * (n_bcols + 1) */
} win_panels;

static void run_panels(void *arg, size_t i)
{
    const win_panels *p = arg;
    const win_tasks *t = p->t;
    const lsc_blob_view *v = p->u->v;
    size_t ci = i % t->col_parts, ri = i / t->col_parts;
    size_t j0 = t->tiles * ci / t->col_parts * t->job.tile;
    size_t j1 = t->tiles * (ci + 1) / t->col_parts * t->job.tile;
    uint32_t r0 = t->rb + (uint32_t)((uint64_t)(t->re - t->rb) * ri / t->row_parts);
    uint32_t r1 = t->rb + (uint32_t)((uint64_t)(t->re - t->rb) * (ri + 1) / t->row_parts);
    j1 = j1 < t->n ? j1 : t->n;
    if (j0 >= j1)
        return;
    win_unpack u = *p->u;
    u.offs = p->offs + i * p->cap;
    u.vals = p->vals + i * p->cap;
    u.starts = p->starts + i * (size_t)WIN_PANEL_ROWS * (u.n_kb + 1);
    win_scratch w = { .kept = p->kept + i * ((size_t)v->n_bcols + 1) };
    lsc_windows_job job = t->job;
    job.starts = u.starts;
    job.offs = u.offs;
    job.vals = u.vals;
    uint64_t e, vr;
    lsc_blob_row_start(v, r0, &e, &vr);
    for (uint32_t a = r0; a < r1;) {
        /* rows [a, b): as many as fit the buffers (at least one: cap holds any row) */
        uint32_t b = a;
        uint64_t va = vr;
        while (b < r1 && b - a < WIN_PANEL_ROWS) {
            uint64_t vn;
            lsc_blob_row_start(v, b + 1, &e, &vn);
            if (b > a && vn - va > p->cap)
                break;
            vr = vn;
            b++;
        }
        u.rb = a;
        u.re = b;
        u.v_lo = va;
        for (uint32_t r = a; r < b; r++)
            unpack_brow(&u, &w, r);
        job.row_begin = a;
        t->fn(&job, a, b, j0, j1, t->acc + i * t->acc_stride);
        a = b;
    }
}

/* Aligned strips: a window starts at any column (a 3x3 tap's kx), so most of k_row's
 * loads of X are unaligned and a 64-byte one splits a cache line; when X is small (the
 * panels' case) it is copied once per call, one copy per offset class mod
 * WIN_ALIGN (3 for 3x3 over rows of 16: kx = 0, 1, 2), each shifted so that its
 * windows start on a line, and the offsets are mapped into the copies. */
#define WIN_ALIGN 16 /* floats: a 64-byte line */
#define WIN_COPIES 4 /* classes copied at most */

/* The copies, cut into a part per thread (the others would wait on a serial copy). */
typedef struct win_copy {
    const float *x;
    float *base;
    size_t len, n, parts;
    uint32_t nc, cls[WIN_COPIES], lo[WIN_COPIES], hi[WIN_COPIES];
} win_copy;

/* Part i of every copy: copy k's t holds x[t + cls[k]], for its windows. */
static void copy_part(void *arg, size_t i)
{
    const win_copy *c = arg;
    for (uint32_t k = 0; k < c->nc; k++) {
        size_t count = c->hi[k] - c->lo[k] + c->n;
        size_t a = count * i / c->parts, b = count * (i + 1) / c->parts;
        memcpy(c->base + k * c->len + (c->lo[k] - c->cls[k]) + a, c->x + c->lo[k] + a,
               (b - a) * sizeof *c->x);
    }
}

/* Fills mapped[c] with column c's offset into the copies and returns the copies'
 * aligned start (*mem to free), or NULL when X is used as it is: already aligned,
 * too many classes, or out of memory. */
static float *align_windows(const float *x, const uint32_t *off, uint32_t cols, size_t n,
                            const lsc_exec *exec, uint32_t *mapped, void **mem)
{
    uint32_t cls[WIN_COPIES], lo[WIN_COPIES], hi[WIN_COPIES], nc = 0;
    *mem = NULL;
    for (uint32_t c = 0; c < cols; c++) {
        uint32_t s = off[c] % WIN_ALIGN, k = 0;
        while (k < nc && cls[k] != s)
            k++;
        if (k == nc) {
            if (nc == WIN_COPIES)
                return NULL;
            cls[nc] = s;
            lo[nc] = hi[nc] = off[c];
            nc++;
        }
        lo[k] = off[c] < lo[k] ? off[c] : lo[k];
        hi[k] = off[c] > hi[k] ? off[c] : hi[k];
    }
    if (!nc || (nc == 1 && (uintptr_t)(x + cls[0]) % (WIN_ALIGN * sizeof *x) == 0))
        return NULL;
    size_t len = 0; /* floats a copy spans, rounded to whole lines */
    for (uint32_t k = 0; k < nc; k++)
        len = hi[k] - cls[k] + n > len ? hi[k] - cls[k] + n : len;
    len = (len + WIN_ALIGN - 1) / WIN_ALIGN * WIN_ALIGN;
    if (len * nc > UINT32_MAX)
        return NULL;
    *mem = lsc_exec_alloc(exec, (len * nc + WIN_ALIGN) * sizeof *x);
    if (!*mem)
        return NULL;
    uintptr_t line = WIN_ALIGN * sizeof *x;
    float *base = (float *)(((uintptr_t)*mem + line - 1) / line * line);
    win_copy cp = { .x = x, .base = base, .len = len, .n = n, .parts = lsc_exec_width(exec),
                    .nc = nc };
    memcpy(cp.cls, cls, sizeof cls);
    memcpy(cp.lo, lo, sizeof lo);
    memcpy(cp.hi, hi, sizeof hi);
    lsc_exec_run(exec, copy_part, &cp, cp.parts);
    for (uint32_t c = 0; c < cols; c++) {
        uint32_t s = off[c] % WIN_ALIGN, k = 0;
        while (cls[k] != s)
            k++;
        mapped[c] = (uint32_t)(k * len) + off[c] - s;
    }
    return base;
}

/* Runs t in panels if it has that shape (see above): 1 if done, 0 if not that shape,
 * -1 if out of memory. */
static int try_panels(win_tasks *t, const win_unpack *u, const lsc_exec *exec)
{
    const lsc_blob_view *v = u->v;
    if (v->block_h != 1 || t->tiles > t->col_parts || t->span + t->n > WIN_PANEL_X_FLOATS)
        return 0;
    size_t n_tasks = t->col_parts * t->row_parts;
    uint64_t most = 0, e, a, b;
    lsc_blob_row_start(v, t->rb, &e, &a);
    for (uint32_t r = t->rb; r < t->re; r++, a = b) {
        lsc_blob_row_start(v, r + 1, &e, &b);
        most = b - a > most ? b - a : most;
    }
    if (most > SIZE_MAX / 8 / n_tasks)
        return -1;
    win_unpack ua = *u;
    void *copies = NULL;
    /* the mapped offsets, then k-blocks of half the windows: the copies' windows of
     * neighbouring taps no longer share lines (measured, docs/benchmarks.md) */
    uint32_t *mapped = t->align ? malloc(2 * ((size_t)v->cols + 1) * sizeof *mapped) : NULL;
    if (t->align && !mapped)
        return -1;
    const float *xa = !mapped ? NULL
                              : align_windows(t->job.x, u->x_offsets, v->cols, t->n, exec,
                                              mapped, &copies);
    win_tasks ta = *t;
    if (xa) {
        ta.job.x = xa;
        ua.x_offsets = mapped;
        uint32_t *first = mapped + v->cols + 1;
        ua.n_kb = cut_kblocks(t->x_offsets, v->cols, t->min_cols, WIN_L1_FLOATS / 2, first);
        ua.first = first;
        ta.job.n_kb = ua.n_kb;
    }
    win_panels p = { .t = &ta, .u = &ua, .cap = most > WIN_PANEL_VALUES ? most : WIN_PANEL_VALUES };
    p.offs = lsc_exec_alloc(exec, n_tasks * p.cap * sizeof *p.offs);
    p.vals = lsc_exec_alloc(exec, n_tasks * p.cap * sizeof *p.vals);
    p.starts = lsc_exec_alloc(exec, n_tasks * WIN_PANEL_ROWS * ((size_t)ua.n_kb + 1) *
                                        sizeof *p.starts);
    p.kept = lsc_exec_alloc(exec, n_tasks * ((size_t)v->n_bcols + 1) * sizeof *p.kept);
    int ok = p.offs && p.vals && p.starts && p.kept;
    if (ok)
        lsc_exec_run(exec, run_panels, &p, n_tasks);
    lsc_exec_free(exec, p.offs);
    lsc_exec_free(exec, p.vals);
    lsc_exec_free(exec, p.starts);
    lsc_exec_free(exec, p.kept);
    lsc_exec_free(exec, copies);
    free(mapped);
    return ok ? 1 : -1;
}

/* On the weight's form (win_form.h): each row's k-block starts found among its
 * columns (relative to the first row's first value, base), and with `offs` the
 * values' windows mapped once, rows spread over tasks; nothing else is decoded. */
typedef struct form_starts {
    const lsc_win_form *f;
    const uint32_t *first, *tab;
    uint32_t n_kb, rb, re, base;
    size_t n_tasks;
    uint64_t *starts;
    uint32_t *offs; /* or NULL */
} form_starts;

static void form_starts_task(void *arg, size_t t)
{
    const form_starts *fs = arg;
    uint32_t span = fs->re - fs->rb;
    uint32_t a = fs->rb + (uint32_t)((uint64_t)span * t / fs->n_tasks);
    uint32_t b = fs->rb + (uint32_t)((uint64_t)span * (t + 1) / fs->n_tasks);
    const uint16_t *col = fs->f->col;
    for (uint32_t r = a; r < b; r++) {
        uint64_t *s = fs->starts + (size_t)(r - fs->rb) * (fs->n_kb + 1);
        uint32_t lo = fs->f->row_start[r], end = fs->f->row_start[r + 1];
        for (uint32_t i = lo; fs->offs && i < end; i++)
            fs->offs[i - fs->base] = fs->tab[col[i]];
        s[0] = lo - fs->base;
        for (uint32_t kb = 1; kb < fs->n_kb; kb++) { /* the first column >= first[kb] */
            /* branch-free halving: a data-dependent branch mispredicts every other step */
            const uint16_t *p = col + lo;
            uint32_t len = end - lo, key = fs->first[kb];
            while (len > 1) {
                uint32_t half = len / 2;
                p += half & (0u - (uint32_t)(p[half - 1] < key));
                len -= half;
            }
            lo = (uint32_t)(p - col) + (len == 1 && p[0] < key);
            s[kb] = lo - fs->base;
        }
        s[fs->n_kb] = end - fs->base;
    }
}

/* The multiply on the form: the table of window offsets (aligned copies of a small X
 * as try_panels makes them), the k-block starts, then the tasks. 0 if out of memory. */
static int run_form(win_tasks *t, const win_unpack *u, const lsc_win_form *f, const lsc_exec *exec)
{
    const lsc_blob_view *v = u->v;
    uint32_t *mapped = NULL;
    const uint32_t *first = u->first;
    const uint32_t *tab = u->x_offsets;
    uint32_t n_kb = u->n_kb;
    void *copies = NULL;
    if (t->align && !t->copy_cols && t->tiles <= t->col_parts && t->span + t->n <= WIN_PANEL_X_FLOATS) {
        mapped = malloc(2 * ((size_t)v->cols + 1) * sizeof *mapped);
        if (!mapped)
            return 0;
        const float *xa = align_windows(t->job.x, u->x_offsets, v->cols, t->n, exec, mapped, &copies);
        if (xa) { /* k-blocks of half the windows, as try_panels */
            t->job.x = xa;
            tab = mapped;
            uint32_t *half = mapped + v->cols + 1;
            n_kb = cut_kblocks(t->x_offsets, v->cols, t->min_cols, WIN_L1_FLOATS / 2, half);
            first = half;
        }
    }
    /* larger X: each k-block's windows copied per tile to 64-byte lines (windows.h),
     * k-blocks of a fixed count of columns; a 64-byte load at any other offset splits
     * two lines and costs Zen 4 about two (VGG's 224- to 28-pixel layers ran at 42-48%
     * of the FMA peak) */
    uint32_t *cut = NULL;
    if (t->copy_cols) {
        n_kb = (uint32_t)((v->cols + t->copy_cols - 1) / t->copy_cols);
        cut = malloc(((size_t)n_kb + 1) * sizeof *cut);
        if (!cut) {
            lsc_exec_free(exec, copies);
            free(mapped);
            return 0;
        }
        for (uint32_t kb = 0; kb <= n_kb; kb++)
            cut[kb] = (uint32_t)((uint64_t)v->cols * kb / n_kb);
        first = cut;
        t->job.copy_cols = t->copy_cols;
        t->job.first = cut;
    }
    uint32_t base = f->row_start[t->rb], values = f->row_start[t->re] - base;
    t->job.n_kb = n_kb;
    t->job.vals = (const float *)(const void *)v->values + base;
    t->job.cols = f->col + base;
    t->job.tab = tab;
    t->job.row_start = f->row_start;
    t->job.value_base = base;
    size_t n_tasks = t->col_parts * t->row_parts;
    form_starts fs = { .f = f, .first = first, .tab = tab, .n_kb = n_kb, .rb = t->rb, .re = t->re,
                       .base = base };
    if (cut) { /* rows walked by cursors: no starts (no small-X copies either) */
        lsc_exec_run(exec, run_win, t, n_tasks);
        free(cut);
        free(mapped);
        return 1;
    }
    fs.starts = lsc_exec_alloc(exec, (size_t)(t->re - t->rb) * (n_kb + 1) * sizeof *fs.starts);
    /* a task over several tiles would map each value once a tile: map them all once */
    if (t->tiles > t->col_parts)
        fs.offs = lsc_exec_alloc(exec, ((size_t)values + 1) * sizeof *fs.offs);
    int ok = fs.starts && (t->tiles <= t->col_parts || fs.offs);
    if (ok) {
        size_t want = (uint64_t)(t->re - t->rb) * n_kb < WIN_SERIAL_WORK / 16 ? 1 : lsc_exec_width(exec);
        fs.n_tasks = want < t->re - t->rb ? want : t->re - t->rb;
        lsc_exec_run(exec, form_starts_task, &fs, fs.n_tasks);
        t->job.starts = fs.starts;
        t->job.offs = fs.offs;
        lsc_exec_run(exec, run_win, t, n_tasks);
    }
    lsc_exec_free(exec, fs.starts);
    lsc_exec_free(exec, fs.offs);
    lsc_exec_free(exec, copies);
    free(mapped);
    return ok;
}

lsc_status lsc_spmm_windows_to(const lsc_weight *w, const float *x, const size_t *x_offsets,
                               size_t n, const lsc_windows_sink *sink, uint32_t row_begin,
                               uint32_t row_end, const lsc_exec *exec, lsc_error *error)
{
    if (!w || !x || !x_offsets || !sink || !sink->put)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_spmm_windows: %s is NULL",
                        !w ? "weight" : !x ? "x" : !x_offsets ? "x_offsets" : "the sink");
    const lsc_blob_view *v = NULL;
    lsc_status st = lsc_spmm_row_range(w, "lsc_spmm_windows", &row_begin, &row_end, &v, error);
    if (st != LSC_OK)
        return st;
    if (n == 0)
        return LSC_OK;
    size_t span = 0; /* X's extent past x, but for the last window's n columns */
    for (uint32_t c = 0; c < v->cols; c++) {
        if (x_offsets[c] > UINT32_MAX)
            return lsc_fail(error, LSC_ERR_TOO_LARGE,
                            "lsc_spmm_windows: weight '%s': x_offsets[%u] = %zu exceeds 32 bits",
                            w->name, c, x_offsets[c]);
        span = x_offsets[c] > span ? x_offsets[c] : span;
    }
    uint64_t e, v_lo, v_hi;
    lsc_blob_row_start(v, row_begin / v->block_h, &e, &v_lo);
    lsc_blob_row_start(v, (uint32_t)(((uint64_t)row_end + v->block_h - 1) / v->block_h), &e,
                       &v_hi);
    /* k-blocks of at least WIN_BLOCK_VALUES values per row on average */
    uint64_t cells = (uint64_t)(row_end - row_begin) * v->cols;
    uint64_t min_cols = v_hi > v_lo ? cells * WIN_BLOCK_VALUES / (v_hi - v_lo) : v->cols;
    /* the k-blocks' first columns, then the offsets as 32 bits (the unpack's lookups) */
    uint32_t *first = malloc(2 * (size_t)v->cols * sizeof *first + 1);
    if (!first)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_spmm_windows: weight '%s': out of memory",
                        w->name);
    uint32_t n_kb = v->cols ? cut_kblocks(x_offsets, v->cols,
                                          min_cols < v->cols ? (uint32_t)min_cols : v->cols,
                                          WIN_L1_FLOATS, first)
                            : 0;
    if (!n_kb)
        first[n_kb++] = 0;
    const lsc_kernel_set *ks = lsc_kernels_select(lsc_cpu_flags_masked(exec ? exec->cpu_mask : 0));
    uint32_t *off32 = first + v->cols;
    for (uint32_t c = 0; c < v->cols; c++)
        off32[c] = (uint32_t)x_offsets[c];
    win_unpack u = { .v = v, .unpack = ks->unpack, .x_offsets = off32, .first = first,
                     .n_kb = n_kb, .rb = row_begin, .re = row_end };
    size_t want = lsc_exec_width(exec);
    if ((v_hi - v_lo) * n < WIN_SERIAL_WORK)
        want = 1;
    /* the form holds float32 values in the blob, read in place (4-byte aligned) */
    const lsc_win_form *f = w->win_form;
    int on_form = f && v == &w->view && v->dtype == LSC_DTYPE_FLOAT32 &&
                  ((uintptr_t)v->values & 3) == 0;
    /* on the form, an aligning variant copies the windows (run_form) unless X is small
     * enough to be copied whole; then in narrower tiles */
    size_t tiles = (n + WIN_TILE - 1) / WIN_TILE;
    int copy = on_form && ks->align_windows &&
               !(tiles <= want && span + n <= WIN_PANEL_X_FLOATS) &&
               v_hi - v_lo >= (uint64_t)WIN_COPY_MIN_USES * v->cols;
    size_t tile = copy ? WIN_COPY_TILE : WIN_TILE;
    win_tasks t = { .job = { .x = x, .tile = tile, .sink = sink, .row_begin = row_begin,
                             .n_kb = n_kb },
                    .fn = ks->windows, .align = ks->align_windows,
                    .rb = row_begin, .re = row_end, .n = n, .row_parts = 1, .col_parts = 1,
                    .min_cols = min_cols < v->cols ? (uint32_t)min_cols : v->cols,
                    .x_offsets = x_offsets, .span = span,
                    .copy_cols = copy ? (WIN_COPY_COLS < v->cols ? WIN_COPY_COLS : v->cols) : 0,
                    .tiles = (n + tile - 1) / tile };
    /* column tiles first (each task reads only its part of X); rows when too few */
    t.col_parts = want < t.tiles ? want : t.tiles;
    size_t rp = (want + t.col_parts - 1) / t.col_parts, max_rp = (row_end - row_begin + 7) / 8;
    t.row_parts = (uint32_t)(rp < max_rp ? rp : max_rp);
    t.task_rows = (uint32_t)(((uint64_t)(row_end - row_begin) + t.row_parts - 1) / t.row_parts);
    size_t n_tasks = t.col_parts * t.row_parts;
    /* each task's sums, then its copied windows (on a line) and its rows' cursors */
    t.acc_stride = (size_t)t.task_rows * tile +
                   (copy ? (size_t)t.copy_cols * tile + WIN_ALIGN + t.task_rows : 0);
    t.acc = lsc_exec_alloc(exec, n_tasks * t.acc_stride * sizeof *t.acc);
    int done = !t.acc ? -1 : on_form ? (run_form(&t, &u, f, exec) ? 1 : -1) : try_panels(&t, &u, exec);
    if (!done) {
        st = unpack_rows(&u, w, exec, error);
        if (st == LSC_OK) {
            t.job.starts = u.starts;
            t.job.offs = u.offs;
            t.job.vals = u.vals;
            lsc_exec_run(exec, run_win, &t, n_tasks);
        }
        free_unpacked(&u, exec);
    }
    free(first);
    lsc_exec_free(exec, t.acc);
    if (done < 0)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_spmm_windows: weight '%s': out of memory",
                        w->name);
    return st;
}

/* lsc_spmm_windows' sink: the tiles into Y's rows. */
typedef struct matrix_sink {
    float *y;
    size_t ldy;
} matrix_sink;

static void put_into_matrix(void *context, uint32_t row, size_t j0, const float *values, size_t n)
{
    const matrix_sink *m = context;
    memcpy(m->y + row * m->ldy + j0, values, n * sizeof *values);
}

lsc_status lsc_spmm_windows(const lsc_weight *w, const float *x, const size_t *x_offsets,
                            size_t n, float *y, size_t ldy, uint32_t row_begin, uint32_t row_end,
                            const lsc_exec *exec, lsc_error *error)
{
    if (!y)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_spmm_windows: y is NULL");
    if (ldy < n && w)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "lsc_spmm_windows: weight '%s': ldy %zu below n %zu", w->name, ldy, n);
    matrix_sink m = { y, ldy };
    lsc_windows_sink sink = { put_into_matrix, &m };
    return lsc_spmm_windows_to(w, x, x_offsets, n, &sink, row_begin, row_end, exec, error);
}
