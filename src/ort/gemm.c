/* LscGemm: ONNX Gemm, Y = alpha * A' * B' + beta * C, with B the encoded weight.
 * The weight is stored as N x K (docs/format.md 1.4, rows = output features), so
 * A' * B' is A' * W^T: lsc_spmm_rows when A is M x K, and lsc_spmm (W * A, then
 * a transpose) when transA gives A as K x M. */
#include <stdlib.h>

#include "kernel.h"

OrtStatus *lsc_ort_gemm_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info)
{
    lsc_ort_gemm_attrs *a = &kernel->attrs.gemm;
    a->trans_a = 0;
    a->trans_b = 0;
    a->alpha = 1.0f;
    a->beta = 1.0f;
    OrtStatus *s;
    if ((s = lsc_ort_attr_int(kernel, info, "transA", &a->trans_a)) ||
        (s = lsc_ort_attr_int(kernel, info, "transB", &a->trans_b)) ||
        (s = lsc_ort_attr_float(kernel, info, "alpha", &a->alpha)) ||
        (s = lsc_ort_attr_float(kernel, info, "beta", &a->beta)))
        return s;
    if ((a->trans_a != 0 && a->trans_a != 1) || (a->trans_b != 0 && a->trans_b != 1))
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT,
                            "transA and transB must be 0 or 1, got %lld and %lld",
                            (long long)a->trans_a, (long long)a->trans_b);
    return NULL;
}

OrtStatus *lsc_ort_gemm_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    const lsc_ort_gemm_attrs *a = &kernel->attrs.gemm;
    if (w->rank != 2)
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_GRAPH,
                            "weight '%s' has rank %d, Gemm needs a 2-D B", kernel->weight_name, w->rank);
    /* An 8-bit weight may be B or, read through a Transpose, B^T: compress put the
     * output features in its rows either way (docs/format.md 3.1). */
    if (lsc_dtype_size(w->dtype) == 1 && (int64_t)w->rows == w->dims[w->transposed ? 1 : 0])
        return NULL;
    /* transB = 1: B is [N, K], stored as is; transB = 0: B is [K, N], stored transposed. */
    int64_t n = a->trans_b ? w->dims[0] : w->dims[1];
    if (w->transposed != !a->trans_b || (int64_t)w->rows != n)
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' is encoded %s for transB=%lld; the kernel needs output "
                            "features as rows (re-compress with this onnx-lsc)",
                            kernel->weight_name, w->transposed ? "transposed" : "as is",
                            (long long)a->trans_b);
    return NULL;
}

/* C's strides for broadcasting to M x N: 0 along a dimension of size 1. */
static OrtStatus *c_layout(const lsc_ort_call *call, int rank, const int64_t *dims, int64_t m,
                           int64_t n, size_t *row_stride, size_t *col_stride)
{
    int64_t cm = 1, cn = 1;
    if (rank == 1)
        cn = dims[0];
    else if (rank == 2)
        cm = dims[0], cn = dims[1];
    if (rank > 2 || (cm != 1 && cm != m) || (cn != 1 && cn != n))
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_INVALID_ARGUMENT,
                            "C of rank %d does not broadcast to [%lld, %lld]", rank, (long long)m,
                            (long long)n);
    *col_stride = cn == 1 ? 0 : 1;
    *row_stride = cm == 1 ? 0 : (size_t)cn;
    return NULL;
}

OrtStatus *lsc_ort_gemm_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const lsc_ort_gemm_attrs *a = &k->attrs.gemm;
    const float *A, *C;
    int a_rank, c_rank;
    int64_t a_dims[LSC_MAX_RANK], c_dims[LSC_MAX_RANK];
    OrtStatus *s;
    if ((s = lsc_ort_float_input(call, 0, "A", &A, &a_rank, a_dims)) ||
        (s = lsc_ort_float_input(call, 2, "C", &C, &c_rank, c_dims)))
        return s;
    if (a_rank != 2)
        return lsc_ort_fail(k->api, k, ORT_INVALID_ARGUMENT, "A has rank %d, Gemm needs 2", a_rank);
    int64_t m = a->trans_a ? a_dims[1] : a_dims[0];
    int64_t ka = a->trans_a ? a_dims[0] : a_dims[1];
    int64_t n = call->winfo.rows, kw = call->winfo.cols;
    if (ka != kw)
        return lsc_ort_fail(k->api, k, ORT_INVALID_ARGUMENT,
                            "A is [%lld, %lld] (transA=%lld), its K %lld differs from the weight's %lld",
                            (long long)a_dims[0], (long long)a_dims[1], (long long)a->trans_a,
                            (long long)ka, (long long)kw);
    size_t c_row = 0, c_col = 0;
    if (C && a->beta != 0.0f && (s = c_layout(call, c_rank, c_dims, m, n, &c_row, &c_col)))
        return s;

    float *Y;
    int64_t y_dims[2] = { m, n };
    if ((s = lsc_ort_float_output(call, 2, y_dims, &Y)))
        return s;
    size_t M = (size_t)m, N = (size_t)n;
    if (M == 0)
        return NULL;

    lsc_error error = { 0 };
    lsc_status st;
    if (!a->trans_a) {
        st = lsc_ort_spmm_rows(call, A, (size_t)kw, M, Y, N, &error);
    } else {
        size_t count;
        if (lsc_ort_mul_overflow(M, N, &count) || count > SIZE_MAX / sizeof(float))
            return lsc_ort_fail(k->api, k, ORT_FAIL, "output of %lld x %lld is too large",
                                (long long)m, (long long)n);
        float *t = malloc(count * sizeof *t); /* W * A: N x M */
        if (!t)
            return lsc_ort_fail(k->api, k, ORT_FAIL, "out of memory (%zu floats)", count);
        st = lsc_spmm(call->weight, A, M, M, t, M, 0, 0, &call->exec, &error);
        for (size_t i = 0; st == LSC_OK && i < M; i++)
            for (size_t j = 0; j < N; j++)
                Y[i * N + j] = t[j * M + i];
        free(t);
    }
    if ((s = lsc_ort_status(call, st, &error)))
        return s;

    /* alpha, beta * C and the activation: row by row, each row once from memory. */
    int has_c = C && a->beta != 0.0f;
    for (size_t i = 0; (a->alpha != 1.0f || has_c || k->act.kind != LSC_ACT_NONE) && i < M; i++) {
        float *y = Y + i * N;
        if (a->alpha != 1.0f)
            for (size_t j = 0; j < N; j++)
                y[j] *= a->alpha;
        if (has_c)
            for (size_t j = 0; j < N; j++)
                y[j] += a->beta * C[i * c_row + j * c_col];
        lsc_ort_activate_run(&k->act, y, N);
    }
    return NULL;
}
