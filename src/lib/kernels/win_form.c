/* The windowed multiply's form (win_form.h) and lsc_weight_prepare_conv. */
#include <stdlib.h>

#include "common/error.h"
#include "kernels/form.h"
#include "kernels/spmm.h"
#include "kernels/win_form.h"

void lsc_win_form_free(lsc_win_form *form)
{
    if (!form)
        return;
    free(form->row_start);
    free(form->col);
    free(form);
}

/* The plain batch-1 form (form.h) holds the same columns, a segment a run of one row:
 * the windowed form is its columns and, where the segments' rows strictly increase
 * (each row one run, in order), each row's first value. */
lsc_status lsc_win_form_build(const lsc_blob_view *v, lsc_win_form **out, lsc_error *error)
{
    *out = NULL;
    /* row-major values: one-row block rows, or whole-width blocks (scanned row by row) */
    if (v->dtype != LSC_DTYPE_FLOAT32 || (v->block_h != 1 && v->n_bcols != 1) ||
        v->cols > LSC_WIN_FORM_MAX_COLS || v->nnz >= UINT32_MAX || v->rows == 0)
        return LSC_OK;
    size_t total = ((size_t)v->rows + 1) * sizeof(uint32_t) + (size_t)v->nnz * sizeof(uint16_t);
    if (total > v->size)
        return LSC_OK;
    lsc_n1_form *plain = NULL;
    LSC_TRY(lsc_n1_form_build(v, 0, LSC_N1_PLAIN, &plain, error));
    if (!plain)
        return LSC_OK;
    const lsc_n1_plain *p = &plain->plain;
    int ok = 1;
    for (uint32_t s = 0; ok && s < p->n_segs; s++)
        ok = p->row[s] < v->rows && (s == 0 || p->row[s] > p->row[s - 1]);
    lsc_win_form *f = ok ? calloc(1, sizeof *f) : NULL;
    if (f && !(f->row_start = malloc(((size_t)v->rows + 1) * sizeof *f->row_start))) {
        free(f);
        f = NULL;
    }
    if (ok && !f) {
        lsc_n1_form_free(plain);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_weight_prepare_conv: out of memory");
    }
    if (f) { /* rows without a segment start where the next one does */
        uint32_t r = 0;
        for (uint32_t s = 0; s < p->n_segs; s++)
            while (r <= p->row[s])
                f->row_start[r++] = p->start[s];
        while (r <= v->rows)
            f->row_start[r++] = (uint32_t)v->nnz;
        f->rows = v->rows;
        f->cols = v->cols;
        f->total = total;
        f->col = plain->plain.cols;
        plain->plain.cols = NULL; /* now the windowed form's */
    }
    lsc_n1_form_free(plain);
    *out = f;
    return LSC_OK;
}

lsc_status lsc_weight_prepare_conv(lsc_weight *weight, size_t *form_bytes, lsc_error *error)
{
    if (form_bytes)
        *form_bytes = 0;
    if (!weight)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_weight_prepare_conv: NULL weight");
    if (!weight->win_form) {
        lsc_status st = lsc_win_form_build(&weight->view, &weight->win_form, error);
        if (st != LSC_OK)
            return st;
    }
    if (form_bytes && weight->win_form)
        *form_bytes = weight->win_form->total;
    return LSC_OK;
}
