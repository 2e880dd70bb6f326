/* LscMatMul: ONNX MatMul A * B with B the encoded 2-D weight [K, N], stored
 * transposed as N x K (docs/format.md 1.4). A is [..., M, K] (any batch dims, or
 * 1-D [K]); every row of A is one row vector, so the whole batch is one
 * lsc_spmm_rows call. */
#include "kernel.h"

OrtStatus *lsc_ort_matmul_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    if (w->rank != 2)
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' has rank %d, the kernel handles a 2-D B only",
                            kernel->weight_name, w->rank);
    if (!w->transposed || (int64_t)w->rows != w->dims[1])
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' is not encoded transposed; the kernel needs output features "
                            "as rows (re-compress with this onnx-lsc)", kernel->weight_name);
    return NULL;
}

OrtStatus *lsc_ort_matmul_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const float *A;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    OrtStatus *s = lsc_ort_float_input(call, 0, "A", &A, &rank, dims);
    if (s)
        return s;
    int64_t kw = call->winfo.cols, n = call->winfo.rows;
    if (rank < 1 || dims[rank - 1] != kw)
        return lsc_ort_fail(k->api, k, ORT_INVALID_ARGUMENT,
                            "A's last dimension %lld differs from the weight's K %lld",
                            rank < 1 ? 0LL : (long long)dims[rank - 1], (long long)kw);
    size_t m = 1;
    for (int i = 0; i < rank - 1; i++)
        m *= (size_t)dims[i]; /* ORT allocated A, so the product fits */

    int64_t y_dims[LSC_MAX_RANK];
    int y_rank = rank;
    for (int i = 0; i < rank - 1; i++)
        y_dims[i] = dims[i];
    y_dims[rank - 1] = n; /* 1-D A: [K] -> [N] */
    float *Y;
    if ((s = lsc_ort_float_output(call, y_rank, y_dims, &Y)))
        return s;
    if (m == 0)
        return NULL;
    lsc_error error = { 0 };
    lsc_status st = lsc_spmm_rows(call->weight, A, (size_t)kw, m, Y, (size_t)n, &call->exec, &error);
    return lsc_ort_status(call, st, &error);
}
