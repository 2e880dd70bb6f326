/* The windowed multiply's form (win_form.h) and lsc_weight_prepare_conv. */
#include <stdlib.h>

#include "common/cpu.h"
#include "common/error.h"
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

/* Block row br's values [a, a + cnt): their columns into f, its rows' starts; 0 if
 * they are not row by row with columns increasing (not a blob the encoder writes). */
static int form_brow(const lsc_blob_view *v, lsc_win_form *f, uint32_t br, uint64_t a, uint64_t cnt,
                     const uint32_t *cols, const uint32_t *lrs)
{
    uint32_t r0 = br * v->block_h, nr = v->rows - r0 < v->block_h ? v->rows - r0 : v->block_h;
    uint32_t lr = 0;
    f->row_start[r0] = (uint32_t)a;
    for (uint64_t i = 0; i < cnt; i++) {
        uint32_t l = lrs ? lrs[i] : 0;
        if (l >= nr || l < lr || cols[i] >= v->cols ||
            (i > 0 && l == lr && cols[i] <= cols[i - 1]))
            return 0;
        while (lr < l) /* rows up to l start here (rows without values are empty) */
            f->row_start[r0 + ++lr] = (uint32_t)(a + i);
        f->col[a + i] = (uint16_t)cols[i];
    }
    while (lr + 1 < nr)
        f->row_start[r0 + ++lr] = (uint32_t)(a + cnt);
    return 1;
}

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
    uint64_t most = 0, e, a, b;
    for (uint32_t br = 0; br < v->n_brows; br++) {
        lsc_blob_row_start(v, br, &e, &a);
        lsc_blob_row_start(v, br + 1, &e, &b);
        most = b > a && b - a > most ? b - a : most;
    }
    if (most > (uint64_t)v->block_h * v->cols) /* more values than cells: no form */
        return LSC_OK;
    lsc_win_form *f = calloc(1, sizeof *f);
    uint32_t *kept = malloc(((size_t)v->n_bcols + 1) * sizeof *kept);
    uint32_t *cols = malloc((size_t)(most + 1) * sizeof *cols);
    uint32_t *lrs = v->block_h > 1 ? malloc((size_t)(most + 1) * sizeof *lrs) : NULL;
    if (f) {
        f->row_start = malloc(((size_t)v->rows + 1) * sizeof *f->row_start);
        f->col = malloc(((size_t)v->nnz + 1) * sizeof *f->col);
    }
    if (!f || !kept || !cols || (v->block_h > 1 && !lrs) || !f->row_start || !f->col) {
        free(kept);
        free(cols);
        free(lrs);
        lsc_win_form_free(f);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "lsc_weight_prepare_conv: out of memory");
    }
    f->rows = v->rows;
    f->cols = v->cols;
    f->total = total;
    lsc_unpack_fn unpack = lsc_kernels_select(lsc_cpu_flags())->unpack;
    int ok = 1;
    for (uint32_t br = 0; ok && br < v->n_brows; br++) {
        lsc_blob_row_start(v, br, &e, &a);
        lsc_blob_row_start(v, br + 1, &e, &b);
        ok = b >= a && unpack(v, br, kept, cols, lrs, b - a) == b - a &&
             form_brow(v, f, br, a, b - a, cols, lrs);
    }
    f->row_start[v->rows] = (uint32_t)v->nnz;
    free(kept);
    free(cols);
    free(lrs);
    if (!ok) { /* the multiply's own decoding copes with such a blob */
        lsc_win_form_free(f);
        return LSC_OK;
    }
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
