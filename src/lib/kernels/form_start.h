/* Where the n = 1 multiply on the batch-1 form (form.h) starts a job's block rows
 * [br_begin, br_end): the rows it writes are zeroed, and the walk begins at the
 * checkpoint at or before br_begin. Shared by the scalar reference (form_rows.h) and
 * the SIMD variants (x86/form_avx2.h), which then skip the segments before their rows
 * each in their own way. */
#ifndef LSC_KERNELS_FORM_START_H
#define LSC_KERNELS_FORM_START_H

#include <stdint.h>

#include "codec/blob.h"
#include "kernels/form.h"
#include "kernels/spmm.h"

typedef struct lsc_form_start {
    uint64_t r_first, r_stop; /* the matrix rows of the block rows */
    uint64_t r_lo, r_hi;      /* those of them this job writes */
    const uint8_t *p, *end;   /* the checkpoint's first segment, the form's end */
    uint32_t prev;            /* the row of the segment before the checkpoint */
    uint64_t val;             /* the blob's value index at the checkpoint (the plain
                               * kind: at br_begin's first segment) */
} lsc_form_start;

static inline lsc_form_start lsc_form_begin(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    const lsc_n1_form *f = job->form;
    const uint32_t bh = job->v->block_h;
    lsc_form_start s;
    s.r_first = (uint64_t)br_begin * bh;
    s.r_stop = (uint64_t)br_end * bh;
    s.r_lo = s.r_first > job->row_begin ? s.r_first : job->row_begin;
    s.r_hi = s.r_stop < job->row_end ? s.r_stop : job->row_end;
    for (uint64_t r = s.r_lo; r < s.r_hi; r++)
        job->y[r * job->ldy] = 0.0f;
    if (f->kind == LSC_N1_PLAIN) { /* no checkpoints: the block row's first segment */
        s.p = s.end = NULL;
        s.prev = 0;
        s.val = f->plain.start[f->plain.brow_seg[br_begin]];
        return s;
    }
    const lsc_n1_check *c = &f->checks[br_begin / LSC_FORM_CHECK];
    uint64_t e0;
    lsc_blob_row_start(job->v, br_begin / LSC_FORM_CHECK * LSC_FORM_CHECK, &e0, &s.val);
    s.p = f->bytes + c->byte;
    s.end = f->bytes + f->n_bytes;
    s.prev = c->prev_row;
    return s;
}

#endif /* LSC_KERNELS_FORM_START_H */
