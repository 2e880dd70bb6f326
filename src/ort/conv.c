/* LscConv: ONNX Conv (1-D to 6-D spatial, groups, strides, dilations, explicit pads
 * or auto_pad) with the encoded weight W [M, C/group, k...] stored as the matrix
 * M x (C/group * prod(k)). Per image and group the input patches are laid out as a
 * column matrix (im2col, skipped for 1x1 stride-1 unpadded kernels, whose input is
 * already that matrix), then one lsc_spmm over the group's rows writes the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_conv_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info)
{
    lsc_ort_conv_attrs *a = &kernel->attrs.conv;
    char auto_pad[32] = "NOTSET";
    a->group = 1;
    OrtStatus *s;
    if ((s = lsc_ort_attr_int(kernel, info, "group", &a->group)) ||
        (s = lsc_ort_attr_string(kernel, info, "auto_pad", auto_pad, sizeof auto_pad)) ||
        (s = lsc_ort_attr_ints(kernel, info, "kernel_shape", a->kernel_shape, LSC_ORT_MAX_SPATIAL,
                               &a->n_kernel_shape)) ||
        (s = lsc_ort_attr_ints(kernel, info, "strides", a->strides, LSC_ORT_MAX_SPATIAL, &a->n_strides)) ||
        (s = lsc_ort_attr_ints(kernel, info, "dilations", a->dilations, LSC_ORT_MAX_SPATIAL,
                               &a->n_dilations)) ||
        (s = lsc_ort_attr_ints(kernel, info, "pads", a->pads, 2 * LSC_ORT_MAX_SPATIAL, &a->n_pads)))
        return s;
    if (!strcmp(auto_pad, "NOTSET"))
        a->auto_pad = LSC_PAD_NOTSET;
    else if (!strcmp(auto_pad, "SAME_UPPER"))
        a->auto_pad = LSC_PAD_SAME_UPPER;
    else if (!strcmp(auto_pad, "SAME_LOWER"))
        a->auto_pad = LSC_PAD_SAME_LOWER;
    else if (!strcmp(auto_pad, "VALID"))
        a->auto_pad = LSC_PAD_VALID;
    else
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT, "unknown auto_pad '%s'", auto_pad);
    if (a->group < 1)
        return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT, "group %lld is not positive",
                            (long long)a->group);
    for (int i = 0; i < a->n_strides; i++)
        if (a->strides[i] < 1)
            return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT, "strides must be positive");
    for (int i = 0; i < a->n_dilations; i++)
        if (a->dilations[i] < 1)
            return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT, "dilations must be positive");
    for (int i = 0; i < a->n_pads; i++)
        if (a->pads[i] < 0)
            return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT, "pads must not be negative");
    return NULL;
}

OrtStatus *lsc_ort_conv_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    const lsc_ort_conv_attrs *a = &kernel->attrs.conv;
    const OrtApi *api = kernel->api;
    int spatial = w->rank - 2;
    if (spatial < 1)
        return lsc_ort_fail(api, kernel, ORT_INVALID_GRAPH, "weight '%s' has rank %d, Conv needs 3 or more",
                            kernel->weight_name, w->rank);
    if (w->transposed || (int64_t)w->rows != w->dims[0])
        return lsc_ort_fail(api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' is encoded transposed; the kernel needs output channels as "
                            "rows (re-compress with this onnx-lsc)", kernel->weight_name);
    if (w->dims[0] % a->group)
        return lsc_ort_fail(api, kernel, ORT_INVALID_GRAPH, "weight '%s': %lld output channels are not "
                            "a multiple of group %lld", kernel->weight_name, (long long)w->dims[0],
                            (long long)a->group);
    if (a->n_kernel_shape >= 0) {
        int ok = a->n_kernel_shape == spatial;
        for (int i = 0; ok && i < spatial; i++)
            ok = a->kernel_shape[i] == w->dims[2 + i];
        if (!ok)
            return lsc_ort_fail(api, kernel, ORT_INVALID_GRAPH,
                                "kernel_shape disagrees with the dims of weight '%s'", kernel->weight_name);
    }
    if ((a->n_strides >= 0 && a->n_strides != spatial) || (a->n_dilations >= 0 && a->n_dilations != spatial) ||
        (a->n_pads >= 0 && a->n_pads != 2 * spatial))
        return lsc_ort_fail(api, kernel, ORT_INVALID_GRAPH,
                            "strides, dilations or pads do not fit %d spatial dimensions", spatial);
    return NULL;
}

/* The geometry of one run. */
typedef struct conv_shape {
    int spatial;
    size_t n, c, m, group, cg, mg; /* batch, in/out channels, per group */
    int64_t in[LSC_ORT_MAX_SPATIAL], out[LSC_ORT_MAX_SPATIAL], k[LSC_ORT_MAX_SPATIAL];
    int64_t stride[LSC_ORT_MAX_SPATIAL], dilation[LSC_ORT_MAX_SPATIAL], pad[LSC_ORT_MAX_SPATIAL];
    size_t in_size, out_size, k_size; /* products over the spatial dims */
    int pointwise;                    /* 1x1, stride 1, no pad: X is already the column matrix */
} conv_shape;

/* Output size and leading pad of each spatial dim, as ONNX (and ORT) define them. */
static OrtStatus *shape_of(const lsc_ort_call *call, int x_rank, const int64_t *x, conv_shape *sh)
{
    const lsc_ort_kernel *kr = call->kernel;
    const lsc_ort_conv_attrs *a = &kr->attrs.conv;
    const lsc_weight_info *w = &call->winfo;
    const OrtApi *api = kr->api;
    sh->spatial = w->rank - 2;
    if (x_rank != w->rank)
        return lsc_ort_fail(api, kr, ORT_INVALID_ARGUMENT, "X has rank %d, the weight %d", x_rank, w->rank);
    sh->n = (size_t)x[0];
    sh->c = (size_t)x[1];
    sh->m = (size_t)w->dims[0];
    sh->group = (size_t)a->group;
    sh->cg = (size_t)w->dims[1];
    sh->mg = sh->m / sh->group;
    if (sh->c != sh->cg * sh->group)
        return lsc_ort_fail(api, kr, ORT_INVALID_ARGUMENT,
                            "X has %zu channels, weight '%s' wants %zu x group %zu", sh->c,
                            kr->weight_name, sh->cg, sh->group);
    sh->in_size = sh->out_size = sh->k_size = 1;
    sh->pointwise = 1;
    for (int d = 0; d < sh->spatial; d++) {
        int64_t in = x[2 + d], k = w->dims[2 + d];
        int64_t s = a->n_strides > 0 ? a->strides[d] : 1;
        int64_t dil = a->n_dilations > 0 ? a->dilations[d] : 1;
        int64_t dk = (k - 1) * dil + 1, head = 0, out;
        if (a->auto_pad == LSC_PAD_SAME_UPPER || a->auto_pad == LSC_PAD_SAME_LOWER) {
            int64_t target = (in + s - 1) / s;
            int64_t needed = (target - 1) * s + dk - in;
            out = (in + needed - dk) / s + 1;
            head = a->auto_pad == LSC_PAD_SAME_LOWER ? (needed + 1) / 2 : needed / 2;
        } else if (a->auto_pad == LSC_PAD_VALID) {
            out = in >= dk ? (in - dk) / s + 1 : 0;
        } else {
            int64_t begin = a->n_pads > 0 ? a->pads[d] : 0;
            int64_t end = a->n_pads > 0 ? a->pads[sh->spatial + d] : 0;
            int64_t span = in + begin + end - dk;
            out = span >= 0 ? span / s + 1 : 0;
            head = begin;
        }
        if (out < 1 || in < 1)
            return lsc_ort_fail(api, kr, ORT_INVALID_ARGUMENT,
                                "spatial dim %d: input %lld with kernel %lld (dilated %lld) gives no output",
                                d, (long long)in, (long long)k, (long long)dk);
        sh->in[d] = in;
        sh->out[d] = out;
        sh->k[d] = k;
        sh->stride[d] = s;
        sh->dilation[d] = dil;
        sh->pad[d] = head;
        sh->in_size *= (size_t)in;
        sh->out_size *= (size_t)out;
        sh->k_size *= (size_t)k;
        if (k != 1 || s != 1 || head != 0 || out != in)
            sh->pointwise = 0;
    }
    return NULL;
}

/* im2col for one image and group: row (c, kernel offset), column output position. */
typedef struct im2col_job {
    const conv_shape *sh;
    const float *x;       /* the group's first input channel of the image */
    float *col;           /* cg * k_size rows of out_size */
    size_t rows_per_task, rows;
} im2col_job;

static void im2col_row(const conv_shape *sh, const float *x, size_t row, float *dst)
{
    int sp = sh->spatial, last = sp - 1;
    size_t c = row / sh->k_size, kk = row % sh->k_size;
    int64_t koff[LSC_ORT_MAX_SPATIAL];
    for (int d = last; d >= 0; d--) {
        koff[d] = (int64_t)(kk % (size_t)sh->k[d]) * sh->dilation[d] - sh->pad[d];
        kk /= (size_t)sh->k[d];
    }
    const float *xc = x + c * sh->in_size;
    /* Along the last dim, output columns [j0, j1) read inside the input row
     * (j * s + off in [0, in)); the same for every outer position of this row. */
    int64_t n_last = sh->out[last], s = sh->stride[last], off = koff[last], in = sh->in[last];
    int64_t j0 = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t j1 = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    j0 = j0 < n_last ? j0 : n_last;
    j1 = j1 < n_last ? (j1 > j0 ? j1 : j0) : n_last;
    int64_t o[LSC_ORT_MAX_SPATIAL] = { 0 }; /* outer output position (all dims but the last) */
    size_t outer = sh->out_size / (size_t)n_last;
    for (size_t q = 0; q < outer; q++, dst += n_last) {
        int inside = 1;
        size_t base = 0;
        for (int d = 0; d < last; d++) {
            int64_t i = o[d] * sh->stride[d] + koff[d];
            inside &= i >= 0 && i < sh->in[d];
            base = base * (size_t)sh->in[d] + (size_t)i;
        }
        for (int d = last - 1; d >= 0; d--) { /* next outer position */
            if (++o[d] < sh->out[d])
                break;
            o[d] = 0;
        }
        if (!inside || j0 == j1) {
            memset(dst, 0, (size_t)n_last * sizeof *dst);
            continue;
        }
        const float *xr = xc + base * (size_t)in + off;
        for (int64_t j = 0; j < j0; j++)
            dst[j] = 0.0f;
        if (s == 1)
            memcpy(dst + j0, xr + j0, (size_t)(j1 - j0) * sizeof *dst);
        else
            for (int64_t j = j0; j < j1; j++)
                dst[j] = xr[j * s];
        for (int64_t j = j1; j < n_last; j++)
            dst[j] = 0.0f;
    }
}

static void im2col_task(void *arg, size_t t)
{
    const im2col_job *job = arg;
    size_t begin = t * job->rows_per_task, end = begin + job->rows_per_task;
    if (end > job->rows)
        end = job->rows;
    for (size_t r = begin; r < end; r++)
        im2col_row(job->sh, job->x, r, job->col + r * job->sh->out_size);
}

/* Runs fn over [0, n) on exec's parallel-for, or inline when it has none. */
static void for_each(const lsc_exec *exec, lsc_task_fn fn, void *arg, size_t n)
{
    if (exec->parallel_for)
        exec->parallel_for(exec->parallel_for_context, fn, arg, n);
    else
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
}

/* Images [begin, end) of one run: per image and group, im2col into col (NULL for
 * pointwise kernels) and one lsc_spmm, then the bias. */
typedef struct conv_run {
    const conv_shape *sh;
    const lsc_weight *weight;
    const float *x, *bias;
    float *y;
} conv_run;

static lsc_status run_images(const conv_run *r, size_t begin, size_t end, float *col, const lsc_exec *exec,
                             lsc_error *error)
{
    const conv_shape *sh = r->sh;
    size_t rows = sh->cg * sh->k_size;
    /* im2col tasks of about 32K elements, so small layers stay on one thread */
    size_t rows_per_task = sh->out_size >= 32768 ? 1 : 32768 / sh->out_size;
    for (size_t img = begin; img < end; img++) {
        float *y = r->y + img * sh->m * sh->out_size;
        for (size_t g = 0; g < sh->group; g++) {
            const float *xg = r->x + (img * sh->c + g * sh->cg) * sh->in_size;
            const float *cols = xg;
            if (col) {
                im2col_job job = { sh, xg, col, rows_per_task, rows };
                for_each(exec, im2col_task, &job, (rows + rows_per_task - 1) / rows_per_task);
                cols = col;
            }
            uint32_t r0 = (uint32_t)(g * sh->mg), r1 = (uint32_t)((g + 1) * sh->mg);
            lsc_status st = lsc_spmm(r->weight, cols, sh->out_size, sh->out_size, y, sh->out_size, r0, r1,
                                     exec, error);
            if (st != LSC_OK)
                return st;
        }
        if (r->bias)
            for (size_t m = 0; m < sh->m; m++)
                for (size_t p = 0; p < sh->out_size; p++)
                    y[m * sh->out_size + p] += r->bias[m];
    }
    return LSC_OK;
}

/* Batches run image-parallel: each chunk of images on one thread with its own patch
 * buffer, the kernels serial inside (the encoder often leaves a conv weight a single
 * block row, which lsc_spmm cannot split). Patch buffers stay within a budget. */
#define CONV_CHUNKS 8
#define CONV_COL_BUDGET ((size_t)256 << 20)

typedef struct chunk_job {
    const conv_run *run;
    size_t n_chunks;
    float *cols[CONV_CHUNKS];
    lsc_status status[CONV_CHUNKS];
    lsc_error errors[CONV_CHUNKS];
} chunk_job;

static void chunk_task(void *arg, size_t t)
{
    chunk_job *job = arg;
    size_t n = job->run->sh->n, begin = n * t / job->n_chunks, end = n * (t + 1) / job->n_chunks;
    lsc_exec serial = { 0 };
    job->status[t] = run_images(job->run, begin, end, job->cols[t], &serial, &job->errors[t]);
}

OrtStatus *lsc_ort_conv_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const float *X, *B;
    int x_rank, b_rank;
    int64_t x_dims[LSC_MAX_RANK], b_dims[LSC_MAX_RANK];
    OrtStatus *s;
    if ((s = lsc_ort_float_input(call, 0, "X", &X, &x_rank, x_dims)) ||
        (s = lsc_ort_float_input(call, 2, "B", &B, &b_rank, b_dims)))
        return s;
    conv_shape sh;
    if ((s = shape_of(call, x_rank, x_dims, &sh)))
        return s;
    if (B && (b_rank != 1 || (size_t)b_dims[0] != sh.m))
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "B must be 1-D of %zu values", sh.m);

    int64_t y_dims[LSC_MAX_RANK] = { (int64_t)sh.n, (int64_t)sh.m };
    for (int d = 0; d < sh.spatial; d++)
        y_dims[2 + d] = sh.out[d];
    float *Y;
    if ((s = lsc_ort_float_output(call, x_rank, y_dims, &Y)))
        return s;
    if (sh.n == 0)
        return NULL;

    size_t col_count = 0;
    if (!sh.pointwise && (lsc_ort_mul_overflow(sh.cg * sh.k_size, sh.out_size, &col_count) ||
                          col_count > SIZE_MAX / sizeof(float) / CONV_CHUNKS))
        return lsc_ort_fail(api, k, ORT_FAIL, "patch matrix of %zu x %zu is too large", sh.cg * sh.k_size,
                            sh.out_size);
    size_t n_chunks = sh.n < CONV_CHUNKS ? sh.n : CONV_CHUNKS;
    if (col_count && n_chunks > CONV_COL_BUDGET / (col_count * sizeof(float)))
        n_chunks = CONV_COL_BUDGET / (col_count * sizeof(float));
    if (n_chunks < 1)
        n_chunks = 1; /* one image's patches beyond the budget: parallel inside the image */

    conv_run run = { &sh, call->weight, X, B, Y };
    chunk_job job = { .run = &run, .n_chunks = n_chunks };
    lsc_status st = LSC_OK;
    lsc_error *error = &job.errors[0];
    for (size_t t = 0; t < n_chunks && col_count; t++)
        if (!(job.cols[t] = malloc(col_count * sizeof(float))))
            st = LSC_ERR_NO_MEMORY;
    if (st != LSC_OK) {
        snprintf(error->message, sizeof error->message, "out of memory for %zu patch matrices of %zu floats",
                 n_chunks, col_count);
    } else if (n_chunks > 1) {
        for_each(&call->exec, chunk_task, &job, n_chunks);
        for (size_t t = 0; t < n_chunks && st == LSC_OK; t++)
            if ((st = job.status[t]) != LSC_OK)
                error = &job.errors[t];
    } else {
        st = run_images(&run, 0, sh.n, job.cols[0], &call->exec, error);
    }
    for (size_t t = 0; t < n_chunks; t++)
        free(job.cols[t]);
    return lsc_ort_status(call, st, error);
}
