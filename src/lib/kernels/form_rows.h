/* The n = 1 multiply on the batch-1 form (form.h), block rows [br_begin, br_end) of
 * a job: the rows inside [row_begin, row_end) are zeroed, then each segment on them
 * adds its dot product. Included by each variant after it defines
 *   static const uint8_t *form_dot(const float *x, size_t xs, unsigned G, const uint8_t *p,
 *                                  const lsc_n1_seg *s, const float *vals, float *sum)
 * (the segment whose bytes start at p, in groups of G: *sum = its dot product;
 * returns the next segment's bytes) and LSC_FORM_ROWS_NAME. The values are the job
 * view's float32 values, read in place. The plain kind's reference is form_plain_rows. */
#include <string.h>

#include "kernels/form.h"
#include "kernels/form_start.h"
#include "kernels/spmm.h"

/* The plain kind: each segment's columns read as they are, four scalar sums. */
static void form_plain_rows(const lsc_spmm_job *job, const lsc_form_start *st, uint32_t br_begin,
                            uint32_t br_end)
{
    const lsc_n1_plain *pl = &job->form->plain;
    const float *values = (const float *)(const void *)job->v->values;
    for (uint32_t s = pl->brow_seg[br_begin]; s < pl->brow_seg[br_end]; s++) {
        uint32_t row = pl->row[s];
        if (row < st->r_lo || row >= st->r_hi)
            continue;
        float acc[4] = { 0, 0, 0, 0 };
        for (uint32_t i = pl->start[s]; i < pl->start[s + 1]; i++)
            acc[i & 3] += values[i] * job->x[(size_t)pl->cols[i] * job->ldx];
        job->y[(size_t)row * job->ldy] += (acc[0] + acc[1]) + (acc[2] + acc[3]);
    }
}

void LSC_FORM_ROWS_NAME(const lsc_spmm_job *job, uint32_t br_begin, uint32_t br_end)
{
    const lsc_n1_form *f = job->form;
    const float *values = (const float *)(const void *)job->v->values;
    const uint32_t bh = job->v->block_h;
    /* from the checkpoint at or before br_begin, skipping the block rows before it */
    lsc_form_start st = lsc_form_begin(job, br_begin, br_end);
    if (f->kind == LSC_N1_PLAIN) {
        form_plain_rows(job, &st, br_begin, br_end);
        return;
    }
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
