/* The n = 1 multiply on the batch-1 form (form.h), block rows [br_begin, br_end) of
 * a job: the rows inside [row_begin, row_end) are zeroed, then each segment on them
 * adds its dot product. Included by each variant after it defines
 *   static const uint8_t *form_dot(const float *x, size_t xs, unsigned G, const uint8_t *p,
 *                                  const lsc_n1_seg *s, const float *vals, float *sum)
 * (the segment whose bytes start at p, in groups of G: *sum = its dot product;
 * returns the next segment's bytes) and LSC_FORM_ROWS_NAME. The values are the job
 * view's float32 values, read in place. */
#include <string.h>

#include "kernels/form.h"
#include "kernels/spmm.h"

void LSC_FORM_ROWS_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    const lsc_n1_form *f = job->form;
    const lsc_blob_view *v = job->v;
    const float *values = (const float *)(const void *)v->values;
    const uint32_t bh = v->block_h;
    uint64_t r_first = (uint64_t)br_begin * bh, r_stop = (uint64_t)br_end * bh;
    uint64_t r_lo = r_first > job->row_begin ? r_first : job->row_begin;
    uint64_t r_hi = r_stop < job->row_end ? r_stop : job->row_end;
    for (uint64_t r = r_lo; r < r_hi; r++)
        job->y[r * job->ldy] = 0.0f;
    /* from the checkpoint at or before br_begin, skipping the block rows before it */
    const lsc_n1_check *c = &f->checks[br_begin / LSC_FORM_CHECK];
    uint64_t e0, val;
    lsc_blob_row_start(v, br_begin / LSC_FORM_CHECK * LSC_FORM_CHECK, &e0, &val);
    const uint8_t *p = f->bytes + c->byte, *end = f->bytes + f->n_bytes;
    uint32_t prev = c->prev_row;
    while (p < end) {
        lsc_n1_seg s;
        lsc_form_header(&p, prev, bh, &s);
        prev = s.row;
        if (s.row >= r_stop)
            break;
        if (s.row >= r_lo && s.row < r_hi) {
            float sum;
            p = form_dot(job->x, job->ldx, f->group, p, &s, values + val, &sum);
            job->y[s.row * job->ldy] += sum;
        } else {
            p += lsc_form_seg_bytes(p, &s, f->group);
        }
        val += s.count;
    }
}
