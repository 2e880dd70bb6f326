/* Building the batch-1 form (form.h) from a validated blob, once, and
 * lsc_weight_prepare_n1, which attaches it to the weight. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/cpu.h"
#include "common/error.h"
#include "kernels/form.h"
#include "kernels/spmm.h"

typedef struct form_builder {
    lsc_n1_form *f;
    size_t cap_bytes;
    uint32_t prev_row; /* the last segment's row */
    size_t cap_segs;   /* the plain kind's start and row arrays */
    uint64_t at;       /* the plain kind: the values placed so far */
} form_builder;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t cap2 = *cap ? *cap : 256;
    while (cap2 < need)
        cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = cap2;
    return 1;
}

static unsigned width_of(uint32_t g)
{
    return g ? 32u - (unsigned)__builtin_clz(g) : 0u;
}

/* Appends one segment: values [0, n) of cols (ascending, all on `row`). Returns 0
 * when out of memory. */
static int add_segment(form_builder *b, uint32_t row, const uint32_t *cols, uint32_t n)
{
    lsc_n1_form *f = b->f;
    const unsigned G = f->group;
    uint64_t groups = lsc_form_groups(n, G);
    /* the header, at most 4 bytes a gap and a width byte a group, + the pad */
    size_t need = f->n_bytes + 15 + groups + (size_t)groups * G * 4 + LSC_FORM_PAD;
    if (!grow((void **)&f->bytes, &b->cap_bytes, need, 1))
        return 0;
    uint8_t *q = f->bytes + f->n_bytes;
    const uint32_t header[3] = { n, cols[0], row - b->prev_row + (f->block_h - 1) };
    for (int k = 0; k < 3; k++) {
        uint32_t v = header[k];
        for (; v >= 128; v >>= 7)
            *q++ = (uint8_t)(v | 128);
        *q++ = (uint8_t)v;
    }
    b->prev_row = row;
    uint8_t *widths = q, *data = widths + groups;
    for (uint64_t g = 0; g < groups; g++) {
        uint32_t gaps[LSC_FORM_GROUP_MAX] = { 0 }, top = 0;
        for (uint32_t i = 0; i < G && g * G + i < n; i++) {
            uint64_t k = g * G + i;
            gaps[i] = k ? cols[k] - cols[k - 1] - 1 : 0;
            top |= gaps[i];
        }
        unsigned w = width_of(top);
        widths[g] = (uint8_t)w;
        memset(data, 0, G * w / 8);
        for (unsigned i = 0; i < G; i++) { /* w + 7 <= 31 bits: four bytes */
            uint32_t at = i * w, bits = gaps[i] << (at & 7);
            for (unsigned k = 0; k < 4 && (at >> 3) + k < G * w / 8; k++)
                data[(at >> 3) + k] |= (uint8_t)(bits >> (8 * k));
        }
        data += G * w / 8;
    }
    f->n_bytes = (size_t)(data - f->bytes);
    return 1;
}

/* The plain kind's segment: its row, where its values start, their columns. */
static int add_plain_segment(form_builder *b, uint32_t row, const uint32_t *cols, uint32_t n)
{
    lsc_n1_plain *pl = &b->f->plain;
    size_t cap = b->cap_segs;
    if (!grow((void **)&pl->start, &cap, (size_t)pl->n_segs + 2, sizeof *pl->start) ||
        !grow((void **)&pl->row, &b->cap_segs, (size_t)pl->n_segs + 2, sizeof *pl->row))
        return 0;
    pl->start[pl->n_segs] = (uint32_t)b->at;
    pl->row[pl->n_segs++] = row;
    for (uint32_t i = 0; i < n; i++)
        pl->cols[b->at + i] = (uint16_t)cols[i];
    b->at += n;
    return 1;
}

/* Streamed from memory, the plain columns run through a 4 KiB page every 2048 values
 * and, beside the values, far past the ~12 MB that the TLB reaches with such pages;
 * on 2 MiB pages VGG fc6 10% streamed ran 6-9% faster (docs/benchmarks.md, "Stop 17").
 * The system gives them on request only (THP "madvise"): ask, and take 4 KiB pages if
 * it says no. The array is allocated at its size, not rounded up: a last partial 2 MiB
 * keeps small pages rather than costing memory. */
void *lsc_form_zalloc(size_t size, lsc_advise_fn advise)
{
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (size < huge || !advise)
        return calloc(size ? size : 1, 1);
    if (posix_memalign(&p, huge, size))
        return NULL;
    (void)advise(p, size); /* advice only: refused, the pages are small */
    memset(p, 0, size);    /* touched after the advice, so faulted in as huge pages */
    return p;
}

int lsc_form_madvise_huge(void *p, size_t size)
{
#ifdef MADV_HUGEPAGE
    return madvise(p, size, MADV_HUGEPAGE);
#else
    (void)p;
    (void)size;
    return -1;
#endif
}

void lsc_n1_form_free(lsc_n1_form *form)
{
    if (!form)
        return;
    free(form->plain.brow_seg);
    free(form->plain.start);
    free(form->plain.row);
    free(form->plain.cols);
    free(form->checks);
    free(form->bytes);
    free(form);
}

/* Cuts block row br's values (in scan order) into segments. Returns 0 when out of
 * memory, -1 when the positions do not make a form (a column or row outside the
 * matrix: never for a blob lsc_blob_parse accepted, checked all the same). */
static int add_block_row(form_builder *b, const lsc_blob_view *v, lsc_unpack_fn unpack,
                         uint32_t br, uint32_t *kept, uint32_t *cols, uint32_t *lrs)
{
    uint64_t e0, v0, e1, v1;
    lsc_blob_row_start(v, br, &e0, &v0);
    lsc_blob_row_start(v, br + 1, &e1, &v1);
    uint64_t n = v1 - v0;
    if (n == 0)
        return 1;
    if (unpack(v, br, kept, cols, v->block_h > 1 ? lrs : NULL, n) != n)
        return -1;
    uint64_t start = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t lr = v->block_h > 1 ? lrs[i] : 0;
        if (cols[i] >= v->cols || lr >= v->block_h || (uint64_t)br * v->block_h + lr >= v->rows)
            return -1;
        int last = i + 1 == n || (v->block_h > 1 ? lrs[i + 1] : 0) != lr || cols[i + 1] <= cols[i];
        if (last) {
            uint32_t row = br * v->block_h + lr, count = (uint32_t)(i + 1 - start);
            if (!(b->f->kind == LSC_N1_PLAIN ? add_plain_segment(b, row, cols + start, count)
                                             : add_segment(b, row, cols + start, count)))
                return 0;
            start = i + 1;
        }
    }
    return 1;
}

/* Builds one kind (PACKED or PLAIN), as lsc_n1_form_build. */
static lsc_status build_kind(const lsc_blob_view *v, size_t limit, lsc_n1_kind kind,
                             lsc_n1_form **out, lsc_error *error)
{
    *out = NULL;
    uint64_t most = 0, e, nnz; /* values of the fullest block row, of all */
    lsc_blob_row_start(v, v->n_brows, &e, &nnz);
    if (v->cols > LSC_FORM_MAX_COLS || v->n_brows == 0 ||
        (kind == LSC_N1_PLAIN && (v->cols > LSC_FORM_COLS16 || nnz >= UINT32_MAX)))
        return LSC_OK;
    for (uint32_t br = 0; br < v->n_brows; br++) {
        uint64_t e0, v0, e1, v1;
        lsc_blob_row_start(v, br, &e0, &v0);
        lsc_blob_row_start(v, br + 1, &e1, &v1);
        most = v1 - v0 > most ? v1 - v0 : most;
    }
    const int plain = kind == LSC_N1_PLAIN;
    const size_t n_checks = plain ? 0 : v->n_brows / LSC_FORM_CHECK + 1;
    form_builder b = { .prev_row = UINT32_MAX };
    lsc_n1_form *f = b.f = calloc(1, sizeof *f);
    uint32_t *kept = malloc(((size_t)v->n_bcols + 1) * sizeof *kept);
    uint32_t *cols = malloc((most + 1) * sizeof *cols), *lrs = malloc((most + 1) * sizeof *lrs);
    int ok = f && kept && cols && lrs;
    if (ok) {
        f->kind = kind;
        f->n_brows = v->n_brows;
        f->block_h = v->block_h;
        f->group = v->cols <= LSC_FORM_COLS16 ? 16 : 8;
        if (plain) {
            f->plain.brow_seg = malloc(((size_t)v->n_brows + 1) * sizeof *f->plain.brow_seg);
            f->plain.cols = lsc_form_zalloc((nnz + LSC_PLAIN_PAD) * sizeof *f->plain.cols,
                                            lsc_form_madvise_huge);
            ok = f->plain.brow_seg && f->plain.cols;
        } else {
            f->checks = malloc(n_checks * sizeof *f->checks);
            ok = f->checks && grow((void **)&f->bytes, &b.cap_bytes, LSC_FORM_PAD, 1);
        }
    }
    const lsc_unpack_fn unpack = lsc_kernels_select(lsc_cpu_flags())->unpack;
    for (uint32_t br = 0; ok > 0 && br < v->n_brows; br++) {
        if (plain)
            f->plain.brow_seg[br] = f->plain.n_segs;
        else if (br % LSC_FORM_CHECK == 0)
            f->checks[br / LSC_FORM_CHECK] = (lsc_n1_check){ f->n_bytes, b.prev_row };
        ok = add_block_row(&b, v, unpack, br, kept, cols, lrs);
    }
    if (ok > 0 && plain) /* the end of the last segment, and room for it */
        ok = grow((void **)&f->plain.start, &b.cap_segs, (size_t)f->plain.n_segs + 1,
                  sizeof *f->plain.start);
    free(kept);
    free(cols);
    free(lrs);
    if (ok == 0) {
        lsc_n1_form_free(f);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory preparing the batch-1 form");
    }
    if (ok < 0) { /* no form: the arrays may be short of their ends */
        lsc_n1_form_free(f);
        return LSC_OK;
    }
    if (plain) {
        f->plain.brow_seg[v->n_brows] = f->plain.n_segs;
        f->plain.start[f->plain.n_segs] = (uint32_t)b.at;
        f->total = sizeof *f + ((size_t)v->n_brows + 1) * 4 + (size_t)f->plain.n_segs * 8 + 4 +
                   (nnz + LSC_PLAIN_PAD) * 2;
    } else {
        if (v->n_brows % LSC_FORM_CHECK == 0)
            f->checks[n_checks - 1] = (lsc_n1_check){ f->n_bytes, b.prev_row };
        memset(f->bytes + f->n_bytes, 0, LSC_FORM_PAD);
        f->total = sizeof *f + n_checks * sizeof *f->checks + f->n_bytes + LSC_FORM_PAD;
    }
    if ((plain && b.at != nnz) || (limit && f->total > limit)) {
        lsc_n1_form_free(f);
        return LSC_OK;
    }
    if (plain) { /* give back the slack */
        uint32_t *start = realloc(f->plain.start, ((size_t)f->plain.n_segs + 1) * 4);
        f->plain.start = start ? start : f->plain.start;
        uint32_t *row = realloc(f->plain.row, ((size_t)f->plain.n_segs + 1) * 4);
        f->plain.row = row ? row : f->plain.row;
    } else {
        uint8_t *bytes = realloc(f->bytes, f->n_bytes + LSC_FORM_PAD);
        f->bytes = bytes ? bytes : f->bytes;
    }
    *out = f;
    return LSC_OK;
}

/* The plain kind reads 2 bytes a value of columns where the bit-packed one reads ~0.75
 * and decodes them (~0.18 ns a value on Zen 4). On Zen 4 (docs/benchmarks.md, "Stop
 * 17") plain was as fast or faster on every shape and density tried (2-50%, 1 and 2
 * threads, in cache and streamed, up to VGG fc6 10%'s 62 MB of values and columns):
 * the multiply is bound by its loads and their latency, not by the memory's
 * bandwidth, so the smaller stream does not win back its decoding (stop 16's line
 * at 16 MiB came from a loaded machine). The bit-packed kind stays for wider
 * matrices and where the plain form would be larger than the blob
 * (lsc_weight_prepare_n1's limit: segments of one or two values). */
int lsc_n1_plain_wins(const lsc_blob_view *v)
{
    return v->cols <= LSC_FORM_COLS16;
}

lsc_status lsc_n1_form_build(const lsc_blob_view *v, size_t limit, lsc_n1_kind kind,
                             lsc_n1_form **out, lsc_error *error)
{
    if (kind != LSC_N1_AUTO)
        return build_kind(v, limit, kind, out, error);
    if (lsc_n1_plain_wins(v)) {
        lsc_status st = build_kind(v, limit, LSC_N1_PLAIN, out, error);
        if (st != LSC_OK || *out)
            return st;
    }
    return build_kind(v, limit, LSC_N1_PACKED, out, error);
}

lsc_status lsc_weight_prepare_n1(lsc_weight *weight, size_t *form_bytes, lsc_error *error)
{
    return lsc_weight_prepare_n1_kind(weight, LSC_N1_AUTO, form_bytes, error);
}

lsc_status lsc_weight_prepare_n1_kind(lsc_weight *weight, lsc_n1_kind kind, size_t *form_bytes,
                                      lsc_error *error)
{
    if (form_bytes)
        *form_bytes = 0;
    if (!weight)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_prepare_n1: NULL weight");
    if (!weight->n1_tried) {
        const lsc_blob_view *v = &weight->view;
        /* values read in place as float32 (8-bit weights: their dequantized copy) */
        int floats = v->dtype == LSC_DTYPE_FLOAT32 || v->elem_size == 1;
        if (floats) {
            /* no larger than the blob: memory is what the form must not cost */
            lsc_status st = lsc_n1_form_build(v, v->size, kind, &weight->n1_form, error);
            if (st != LSC_OK)
                return st;
        }
        weight->n1_tried = 1;
    }
    if (form_bytes && weight->n1_form)
        *form_bytes = weight->n1_form->total;
    return LSC_OK;
}
