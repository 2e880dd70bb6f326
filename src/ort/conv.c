/* LscConv: ONNX Conv (1-D to 6-D spatial, groups, strides, dilations, explicit pads
 * or auto_pad) with the encoded weight W [M, C/group, k...] stored as the matrix
 * M x (C/group * prod(k)). Per image and group the input patches are laid out as a
 * column matrix (im2col, skipped for 1x1 stride-1 unpadded kernels, whose input is
 * already that matrix), then one lsc_spmm over the group's rows writes the output. */
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
    int64_t o[LSC_ORT_MAX_SPATIAL] = { 0 }; /* outer output position (all dims but the last) */
    size_t outer = sh->out_size / (size_t)sh->out[last];
    for (size_t q = 0; q < outer; q++) {
        int inside = 1;
        size_t base = 0;
        for (int d = 0; d < last; d++) {
            int64_t i = o[d] * sh->stride[d] + koff[d];
            inside &= i >= 0 && i < sh->in[d];
            base = base * (size_t)sh->in[d] + (size_t)i;
        }
        int64_t n_last = sh->out[last], s = sh->stride[last], off = koff[last], in = sh->in[last];
        if (!inside) {
            memset(dst, 0, (size_t)n_last * sizeof *dst);
        } else {
            const float *xr = xc + base * (size_t)in;
            for (int64_t j = 0; j < n_last; j++) {
                int64_t i = j * s + off;
                dst[j] = i >= 0 && i < in ? xr[i] : 0.0f;
            }
        }
        dst += n_last;
        for (int d = last - 1; d >= 0; d--) { /* next outer position */
            if (++o[d] < sh->out[d])
                break;
            o[d] = 0;
        }
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

    size_t rows = sh.cg * sh.k_size, col_count = 0;
    float *col = NULL;
    if (!sh.pointwise) {
        if (lsc_ort_mul_overflow(rows, sh.out_size, &col_count) || col_count > SIZE_MAX / sizeof(float) ||
            !(col = malloc(col_count * sizeof *col)))
            return lsc_ort_fail(api, k, ORT_FAIL, "out of memory for a %zu x %zu patch matrix", rows,
                                sh.out_size);
    }
    /* Tasks of about 32K elements each, so small layers stay on one thread. */
    size_t rows_per_task = sh.out_size >= 32768 ? 1 : 32768 / sh.out_size;
    lsc_error error = { 0 };
    lsc_status st = LSC_OK;
    for (size_t img = 0; st == LSC_OK && img < sh.n; img++) {
        float *y = Y + img * sh.m * sh.out_size;
        for (size_t g = 0; st == LSC_OK && g < sh.group; g++) {
            const float *xg = X + (img * sh.c + g * sh.cg) * sh.in_size;
            const float *cols = xg;
            if (col) {
                im2col_job job = { &sh, xg, col, rows_per_task, rows };
                call->exec.parallel_for(call->exec.parallel_for_context, im2col_task, &job,
                                        (rows + rows_per_task - 1) / rows_per_task);
                cols = col;
            }
            uint32_t r0 = (uint32_t)(g * sh.mg), r1 = (uint32_t)((g + 1) * sh.mg);
            st = lsc_spmm(call->weight, cols, sh.out_size, sh.out_size, y, sh.out_size, r0, r1,
                          &call->exec, &error);
        }
        if (B)
            for (size_t m = 0; m < sh.m; m++)
                for (size_t p = 0; p < sh.out_size; p++)
                    y[m * sh.out_size + p] += B[m];
    }
    free(col);
    return lsc_ort_status(call, st, &error);
}
