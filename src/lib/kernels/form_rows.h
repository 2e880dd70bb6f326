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
#include "kernels/form_start.h"
#include "kernels/spmm.h"

void LSC_FORM_ROWS_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    const lsc_n1_form *f = job->form;
    const float *values = (const float *)(const void *)job->v->values;
    const uint32_t bh = job->v->block_h;
    /* from the checkpoint at or before br_begin, skipping the block rows before it */
    lsc_form_start st = lsc_form_begin(job, br_begin, br_end);
    const uint64_t r_lo = st.r_lo, r_hi = st.r_hi, r_stop = st.r_stop;
    const uint8_t *p = st.p, *end = st.end;
    uint32_t prev = st.prev;
    uint64_t val = st.val;
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
