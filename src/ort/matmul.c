/* LscMatMul: ONNX MatMul A * B with B the encoded 2-D weight [K, N], stored
 * transposed as N x K (docs/format.md 1.4). A is [..., M, K] (any batch dims, or
 * 1-D [K]); every row of A is one row vector, so the whole batch is one
 * lsc_spmm_rows call. */
#include "kernel.h"
#include "rules.h"

/* A batch of row vectors on ORT's threads: split by rows of X, one task per thread
 * multiplying its rows serially over the whole weight, by lsc_spmm's own split, or
 * serially (rules.h). */
typedef struct rows_job {
    const lsc_weight *weight;
    const float *x;
    float *y;
    size_t ldx, ldy, m, n_tasks;
    lsc_status status[LSC_ORT_MAX_THREADS];
    lsc_error errors[LSC_ORT_MAX_THREADS];
} rows_job;

static void rows_task(void *arg, size_t t)
{
    rows_job *job = arg;
    size_t begin = job->m * t / job->n_tasks, end = job->m * (t + 1) / job->n_tasks;
    lsc_exec serial = { 0 };
    job->status[t] = lsc_spmm_rows(job->weight, job->x + begin * job->ldx, job->ldx, end - begin,
                                   job->y + begin * job->ldy, job->ldy, &serial, &job->errors[t]);
}

lsc_status lsc_ort_spmm_rows(const lsc_ort_call *call, const float *x, size_t ldx, size_t m, float *y,
                             size_t ldy, lsc_error *error)
{
    const lsc_weight_info *w = &call->winfo;
    size_t block_rows = (w->rows + (size_t)w->block_h - 1) / (w->block_h ? w->block_h : 1);
    if (lsc_ort_rows_serial(w->nnz, m)) {
        lsc_exec serial = call->exec;
        serial.parallel_for = NULL;
        return lsc_spmm_rows(call->weight, x, ldx, m, y, ldy, &serial, error);
    }
    size_t n_tasks = lsc_ort_rows_tasks(block_rows, w->blob_size, m, call->threads);
    if (n_tasks < 2 || !call->exec.parallel_for)
        return lsc_spmm_rows(call->weight, x, ldx, m, y, ldy, &call->exec, error);
    rows_job job = { call->weight, x, y, ldx, ldy, m, n_tasks, { 0 }, { { 0 } } };
    call->exec.parallel_for(call->exec.parallel_for_context, rows_task, &job, n_tasks);
    for (size_t t = 0; t < n_tasks; t++)
        if (job.status[t] != LSC_OK) {
            *error = job.errors[t];
            return job.status[t];
        }
    return LSC_OK;
}

OrtStatus *lsc_ort_matmul_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    if (w->rank != 2)
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' has rank %d, the kernel handles a 2-D B only",
                            kernel->weight_name, w->rank);
    /* An 8-bit weight may be B or, read through a Transpose, B^T: compress put the
     * output features in its rows either way (docs/format.md 3.1). */
    if (lsc_dtype_size(w->dtype) == 1 && (int64_t)w->rows == w->dims[w->transposed ? 1 : 0])
        return NULL;
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
    size_t m = 1;
    if ((s = lsc_ort_product_rows(call, "A", rank, dims, &m)))
        return s;

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
    lsc_status st = lsc_ort_spmm_rows(call, A, (size_t)kw, m, Y, (size_t)n, &error);
    if (st == LSC_OK)
        lsc_ort_activate_run(&k->act, Y, m * (size_t)n);
    return lsc_ort_status(call, st, &error);
}

/* LscMatMulLeft: ONNX MatMul A * B with A the encoded 2-D weight [M, K], stored as
 * is (rows = output rows), and B [..., K, N] (any batch dims, or 1-D [K]): each
 * batch matrix of B is the X of one lsc_spmm, Y = W * X. */
OrtStatus *lsc_ort_matmul_left_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    if (w->rank != 2 || w->transposed || (int64_t)w->rows != w->dims[0])
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' must be a 2-D A encoded as is (re-compress with this onnx-lsc)",
                            kernel->weight_name);
    return NULL;
}

OrtStatus *lsc_ort_matmul_left_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const float *X;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    OrtStatus *s = lsc_ort_float_input(call, 1, "B", &X, &rank, dims);
    if (s)
        return s;
    int64_t kw = call->winfo.cols, m = call->winfo.rows;
    int64_t kx = rank == 1 ? dims[0] : rank >= 2 ? dims[rank - 2] : -1;
    if (kx != kw)
        return lsc_ort_fail(k->api, k, ORT_INVALID_ARGUMENT, "B's K %lld differs from the weight's K %lld",
                            (long long)kx, (long long)kw);
    size_t n = rank == 1 ? 1 : (size_t)dims[rank - 1], batch = 1;
    for (int i = 0; i < rank - 2; i++)
        batch *= (size_t)dims[i]; /* ORT allocated B, so the product fits */
    int64_t y_dims[LSC_MAX_RANK];
    for (int i = 0; i < rank; i++)
        y_dims[i] = dims[i];
    y_dims[rank == 1 ? 0 : rank - 2] = m; /* 1-D B: [K] -> [M] */
    float *Y;
    if ((s = lsc_ort_float_output(call, rank, y_dims, &Y)))
        return s;
    lsc_error error = { 0 };
    lsc_status st = LSC_OK;
    for (size_t b = 0; st == LSC_OK && n && b < batch; b++)
        st = lsc_spmm(call->weight, X + b * (size_t)kw * n, n, n, Y + b * (size_t)m * n, n, 0, 0, &call->exec,
                      &error);
    if (st == LSC_OK)
        lsc_ort_activate_run(&k->act, Y, batch * (size_t)m * n);
    return lsc_ort_status(call, st, &error);
}
