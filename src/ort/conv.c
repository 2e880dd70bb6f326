/* LscConv: ONNX Conv (1-D to 6-D spatial, groups, strides, dilations, explicit pads
 * or auto_pad) with the encoded weight W [M, C/group, k...] stored as the matrix
 * M x (C/group * prod(k)). Strides up to LSC_ORT_MAX_PHASES run as a direct
 * convolution over a zero-padded copy of the input, split into phase planes when
 * strided (one lsc_spmm_windows per group, no patch matrix). Larger strides and
 * inputs whose window offsets pass 32 bits lay the input patches out as a column
 * matrix per image and group (im2col, skipped for 1x1 stride-1 unpadded kernels,
 * whose input is already that matrix), then one lsc_spmm over the group's rows
 * writes the output. */
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
    /* ONNX Runtime's own Conv refuses this pair, so no reference exists: refuse it too. */
    for (int i = 0; i < a->n_dilations && a->auto_pad != LSC_PAD_NOTSET && a->auto_pad != LSC_PAD_VALID; i++)
        if (a->dilations[i] != 1)
            return lsc_ort_fail(kernel->api, kernel, ORT_INVALID_ARGUMENT,
                                "auto_pad SAME_UPPER/SAME_LOWER with dilations other than 1 is not supported");
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

typedef lsc_ort_conv_shape conv_shape;

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

/* Runs fn over [0, n) on exec's parallel-for, or inline when it has none. */
static void for_each(const lsc_exec *exec, lsc_task_fn fn, void *arg, size_t n)
{
    if (exec->parallel_for)
        exec->parallel_for(exec->parallel_for_context, fn, arg, n);
    else
        for (size_t i = 0; i < n; i++)
            fn(arg, i);
}

/* im2col of output positions [p0, p1) for one image and group: patch row `row`
 * (input channel, kernel offset) into dst[0 .. p1 - p0). */
static void im2col_row(const conv_shape *sh, const float *x, size_t row, size_t p0, size_t p1, float *dst)
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
    size_t q = p0 / (size_t)n_last;
    for (int d = last - 1; d >= 0; d--) {
        o[d] = (int64_t)(q % (size_t)sh->out[d]);
        q /= (size_t)sh->out[d];
    }
    int64_t js = (int64_t)(p0 % (size_t)n_last); /* first column of this output row */
    for (size_t p = p0; p < p1; js = 0) {
        int64_t je = n_last - js < (int64_t)(p1 - p) ? n_last : js + (int64_t)(p1 - p);
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
        /* [js, lo) and [hi, je) fall in the padding, [lo, hi) reads the input */
        int64_t lo = inside ? (j0 < js ? js : j0 > je ? je : j0) : je;
        int64_t hi = inside ? (j1 < lo ? lo : j1 > je ? je : j1) : je;
        for (int64_t j = js; j < lo; j++)
            dst[j - js] = 0.0f;
        if (lo < hi) { /* input column j * s + off, inside [0, in) */
            const float *xr = xc + base * (size_t)in;
            if (s == 1)
                memcpy(dst + (lo - js), xr + (lo + off), (size_t)(hi - lo) * sizeof *dst);
            else
                for (int64_t j = lo; j < hi; j++)
                    dst[j - js] = xr[j * s + off];
        }
        for (int64_t j = hi; j < je; j++)
            dst[j - js] = 0.0f;
        dst += je - js;
        p += (size_t)(je - js);
    }
}

/* The work is cut into units: a strip of output positions of one image, or whole
 * small images side by side. Each unit is one lsc_spmm per group over a patch matrix
 * that stays near the cache, and a lone image still splits over threads (the
 * encoder often leaves a conv weight one block row, which lsc_spmm cannot split).
 * Every multiply decodes the whole weight again, which costs about as much as
 * multiplying ~100 columns, so units stay wide: small images go several to a
 * multiply. Each thread of ORT's pool runs one chunk of consecutive units with its
 * own buffers, allocated by the task; the kernel is serial inside. */
#define CONV_PATCH_FLOATS ((size_t)1 << 20) /* patch buffer target: 4 MiB */
#define CONV_STRIP_MIN 1024                /* ... but units no narrower than this */
#define CONV_STRIP_SPLIT_MIN 256           /* fewer images than threads: split down to this */

typedef struct conv_run {
    const conv_shape *sh;
    const lsc_weight *weight;
    const float *x, *bias;
    const lsc_ort_activation *act;
    float *y;
    size_t images; /* images per unit; if 1, strips of `strip` positions per image */
    size_t strips, strip, units;
} conv_run;

/* Per-chunk buffers: the patch matrix (rows x unit width), and when a unit holds
 * several images, its output (m x unit width) before it goes to each image. */
typedef struct conv_buffers {
    float *col, *out;
} conv_buffers;

static void unit_span(const conv_run *r, size_t u, size_t *img0, size_t *img1, size_t *p0, size_t *p1)
{
    const conv_shape *sh = r->sh;
    if (r->images > 1) {
        *img0 = u * r->images;
        *img1 = *img0 + r->images < sh->n ? *img0 + r->images : sh->n;
        *p0 = 0;
        *p1 = sh->out_size;
    } else {
        *img0 = u / r->strips;
        *img1 = *img0 + 1;
        *p0 = u % r->strips * r->strip;
        *p1 = *p0 + r->strip < sh->out_size ? *p0 + r->strip : sh->out_size;
    }
}

/* Units [begin, end): per group, the patch matrix of the unit (X itself for a
 * pointwise kernel on one image), one lsc_spmm, then the bias. */
static lsc_status run_units(const conv_run *r, size_t begin, size_t end, const conv_buffers *buf,
                            const lsc_exec *exec, lsc_error *error)
{
    const conv_shape *sh = r->sh;
    size_t rows = sh->cg * sh->k_size, out = sh->out_size;
    for (size_t u = begin; u < end; u++) {
        size_t img0, img1, p0, p1;
        unit_span(r, u, &img0, &img1, &p0, &p1);
        size_t seg = p1 - p0, w = (img1 - img0) * seg;
        for (size_t g = 0; g < sh->group; g++) {
            const float *cols = r->x + (img0 * sh->c + g * sh->cg) * sh->in_size + p0;
            size_t ldx = sh->in_size;
            if (!sh->pointwise || img1 - img0 > 1) {
                for (size_t img = img0; img < img1; img++) {
                    const float *xg = r->x + (img * sh->c + g * sh->cg) * sh->in_size;
                    float *dst = buf->col + (img - img0) * seg;
                    for (size_t row = 0; row < rows; row++)
                        if (sh->pointwise)
                            memcpy(dst + row * w, xg + row * sh->in_size + p0, seg * sizeof *dst);
                        else
                            im2col_row(sh, xg, row, p0, p1, dst + row * w);
                }
                cols = buf->col;
                ldx = w;
            }
            uint32_t r0 = (uint32_t)(g * sh->mg), r1 = (uint32_t)((g + 1) * sh->mg);
            float *y = img1 - img0 > 1 ? buf->out : r->y + img0 * sh->m * out + p0;
            size_t ldy = img1 - img0 > 1 ? w : out;
            lsc_status st = lsc_spmm(r->weight, cols, ldx, w, y, ldy, r0, r1, exec, error);
            if (st != LSC_OK)
                return st;
            for (size_t img = img0; img1 - img0 > 1 && img < img1; img++)
                for (size_t m = r0; m < r1; m++)
                    memcpy(r->y + (img * sh->m + m) * out, buf->out + m * w + (img - img0) * out,
                           out * sizeof *y);
        }
        for (size_t img = img0; (r->bias || r->act->kind != LSC_ACT_NONE) && img < img1; img++)
            for (size_t m = 0; m < sh->m; m++)
                lsc_ort_bias_activate(r->act, r->y + (img * sh->m + m) * out + p0, seg, r->bias ? r->bias[m] : 0.0f);
    }
    return LSC_OK;
}

typedef struct chunk_job {
    const conv_run *run;
    size_t n_chunks, col_count, out_count;
    conv_buffers buf[LSC_ORT_MAX_THREADS]; /* per chunk, taken on the calling thread */
    lsc_status status[LSC_ORT_MAX_THREADS];
    lsc_error errors[LSC_ORT_MAX_THREADS];
} chunk_job;

static lsc_status run_chunk(chunk_job *job, size_t t, const lsc_exec *exec)
{
    size_t units = job->run->units;
    size_t begin = units * t / job->n_chunks, end = units * (t + 1) / job->n_chunks;
    return run_units(job->run, begin, end, &job->buf[t], exec, &job->errors[t]);
}

/* Every chunk's patch matrix (and output block) from the call's scratch memory:
 * ORT's arena, so that no run maps and faults in fresh pages. 0 if out of memory. */
static int take_chunk_buffers(const lsc_ort_call *call, chunk_job *job)
{
    int ok = 1;
    for (size_t t = 0; t < job->n_chunks; t++) {
        conv_buffers *b = &job->buf[t];
        b->col = job->col_count ? lsc_ort_alloc(call, job->col_count * sizeof *b->col) : NULL;
        b->out = job->out_count ? lsc_ort_alloc(call, job->out_count * sizeof *b->out) : NULL;
        ok &= (!job->col_count || b->col) && (!job->out_count || b->out);
    }
    return ok;
}

static void drop_chunk_buffers(const lsc_ort_call *call, chunk_job *job)
{
    for (size_t t = 0; t < job->n_chunks; t++) {
        lsc_ort_free(call, job->buf[t].col);
        lsc_ort_free(call, job->buf[t].out);
    }
}

static void chunk_task(void *arg, size_t t)
{
    chunk_job *job = arg;
    lsc_exec serial = { 0 };
    job->status[t] = run_chunk(job, t, &serial);
}

/* How units are cut: patch matrices near CONV_PATCH_FLOATS but units at least
 * CONV_STRIP_MIN columns wide. Images that small go several to a unit (leaving a
 * unit per thread); larger ones are cut into strips, and with fewer images than
 * threads a lone image splits into a multiple of the threads, a few images into
 * enough strips for every thread, strips no narrower than CONV_STRIP_SPLIT_MIN. */
static void plan_units(conv_run *r, size_t rows, size_t threads)
{
    const conv_shape *sh = r->sh;
    size_t out = sh->out_size, n = sh->n, strips = 1;
    size_t width = CONV_PATCH_FLOATS / (rows ? rows : 1);
    width = width > CONV_STRIP_MIN ? width : CONV_STRIP_MIN;
    r->images = width / out < n ? width / out : n;
    if (r->images * threads > n)
        r->images = (n + threads - 1) / threads;
    if (r->images > 1) {
        r->strips = 1;
        r->strip = out;
        r->units = (n + r->images - 1) / r->images;
        return;
    }
    r->images = 1;
    if (!sh->pointwise)
        strips = (out + width - 1) / width;
    if (n < threads) {
        size_t want = (threads + n - 1) / n;
        if (n == 1 && strips > want)
            want = (strips + threads - 1) / threads * threads;
        while (want > strips && out / want < CONV_STRIP_SPLIT_MIN)
            want--;
        strips = want > strips ? want : strips;
    }
    r->strips = strips;
    r->strip = (out + strips - 1) / strips;
    r->strips = (out + r->strip - 1) / r->strip;
    r->units = n * r->strips; /* n * strips <= n * out: ORT allocated Y */
}

/* The direct convolution. Padded coordinates q_d run over ext_d = (out_d - 1) *
 * stride_d + (k_d - 1) * dil_d + 1 with the input at q_d = i_d + pad_d; output o reads
 * q = o * stride + tap * dil. Each dim's q is split into phases q = stride * a + r
 * (polyphase: r = q mod stride), each phase a plane of `a` coordinates, so that output
 * o reads a = o + (tap * dil) div stride in phase (tap * dil) mod stride: with the
 * phase planes flattened (pstride), every kernel tap (ci, tap) is one window of the
 * padded input at (ci * phases + phase) * images * phase_plane + sum (tap_d * dil_d
 * div s_d) * pstride_d, and column p = sum o_d * pstride_d of Y is output o. With
 * stride 1 there is one phase and a = q. Only the phases some tap reads are stored (a
 * 1x1 stride-2 conv keeps one of four). Columns with some o_d >= out_d are computed
 * and dropped. Several images share one multiply: the buffer holds phase ph of
 * channel ci of image i at ((ci * phases + ph) * images + i) * phase_plane, so a
 * window spans them all and image i's outputs start at column i * phase_plane. */
#define DIRECT_BUFFER_FLOATS ((size_t)16 << 20) /* images per multiply: buffers near 64 MiB */

typedef struct direct_plan {
    const conv_shape *sh;
    size_t ext[LSC_ORT_MAX_SPATIAL], pstride[LSC_ORT_MAX_SPATIAL];
    size_t span[LSC_ORT_MAX_SPATIAL];  /* a coordinates per phase */
    int phase_of[LSC_ORT_MAX_SPATIAL][LSC_ORT_MAX_PHASES]; /* r -> stored phase, or -1 */
    size_t phases[LSC_ORT_MAX_SPATIAL]; /* stored phases per dim */
    size_t n_phases, phase_plane; /* stored phases (all dims); floats per phase plane */
    size_t n1;                    /* columns of one image's outputs */
    size_t images;     /* images per multiply */
    int copy_in;       /* X is not already the padded layout */
    int copy_out;      /* the multiply's columns are not already Y's output positions */
    size_t *offs;      /* per row of W (ci, tap) */
    const float *x;    /* the images of one multiply, their group */
    float *buf;        /* padded input */
    float *y;          /* the images' output, their group */
    size_t imgs;       /* images in this multiply (the last may hold fewer than `images`) */
    const float *bias; /* the group's, or NULL */
    const lsc_ort_activation *act;
    size_t g, n;       /* the group; columns of the multiply */
    struct out_run *runs; /* with copy_out: where the columns go, in column order */
    size_t n_runs;
} direct_plan;

/* With copy_out, the multiply's columns that are output positions come in runs along
 * the last dim: `len` columns from `col` are output channel 0 of image `img` from
 * element `y` on. */
typedef struct out_run {
    size_t col, y, len, img;
} out_run;

size_t lsc_ort_conv_phases(const lsc_ort_conv_shape *sh, int d, size_t *ext, size_t *span,
                           int phase_of[LSC_ORT_MAX_PHASES])
{
    size_t s = (size_t)sh->stride[d], dil = (size_t)sh->dilation[d], phases = 0;
    *ext = (size_t)(sh->out[d] - 1) * s + (size_t)(sh->k[d] - 1) * dil + 1;
    *span = (*ext + s - 1) / s;
    for (size_t r = 0; r < s; r++)
        phase_of[r] = -1;
    for (size_t t = 0; t < (size_t)sh->k[d]; t++)
        if (phase_of[t * dil % s] < 0)
            phase_of[t * dil % s] = (int)phases++;
    return phases;
}

/* 0 if a stride is beyond LSC_ORT_MAX_PHASES or the padded input is too large. */
static int plan_direct(const conv_shape *sh, direct_plan *p)
{
    int last = sh->spatial - 1;
    size_t n1 = 1, phase_plane = 1, phases = 1;
    p->sh = sh;
    p->copy_in = 0;
    for (int d = last; d >= 0; d--) {
        size_t s = (size_t)sh->stride[d];
        if (s > LSC_ORT_MAX_PHASES)
            return 0;
        p->phases[d] = lsc_ort_conv_phases(sh, d, &p->ext[d], &p->span[d], p->phase_of[d]);
        p->pstride[d] = phase_plane;
        n1 += (size_t)(sh->out[d] - 1) * phase_plane;
        phase_plane *= p->span[d];
        phases *= p->phases[d];
        p->copy_in |= s != 1 || p->ext[d] != (size_t)sh->in[d] || sh->pad[d] != 0;
    }
    p->phase_plane = phase_plane;
    p->n_phases = phases;
    p->n1 = n1;
    size_t per_image = (sh->cg * phases + sh->mg) * phase_plane;
    p->images = DIRECT_BUFFER_FLOATS / per_image;
    p->images = p->images < 1 ? 1 : p->images > sh->n ? sh->n : p->images;
    p->copy_out = n1 != sh->out_size || p->images > 1;
    p->copy_in |= p->images > 1;
    /* window offsets must fit 32 bits (lsc_spmm_windows); larger inputs use im2col */
    return (double)sh->cg * (double)phases * (double)p->images * (double)phase_plane <
           (double)UINT32_MAX;
}

/* Window offsets of W's rows (ci, tap): a multiply over `images` images. The taps of
 * channel 0 first; channel ci's are those plus ci channels of phase planes (no
 * division per row: they cost more than the multiply on small layers). */
static void direct_offsets(direct_plan *p)
{
    const conv_shape *sh = p->sh;
    const size_t plane = p->images * p->phase_plane;
    for (size_t kk0 = 0; kk0 < sh->k_size; kk0++) {
        size_t kk = kk0, off = 0, phase = 0, phase_stride = 1;
        for (int d = sh->spatial - 1; d >= 0; d--) {
            size_t t = kk % (size_t)sh->k[d] * (size_t)sh->dilation[d], s = (size_t)sh->stride[d];
            off += t / s * p->pstride[d];
            phase += (size_t)p->phase_of[d][t % s] * phase_stride;
            phase_stride *= p->phases[d];
            kk /= (size_t)sh->k[d];
        }
        p->offs[kk0] = off + phase * plane;
    }
    for (size_t ci = 1; ci < sh->cg; ci++)
        for (size_t kk = 0; kk < sh->k_size; kk++)
            p->offs[ci * sh->k_size + kk] = p->offs[kk] + ci * p->n_phases * plane;
}

/* Task t: channel t % cg of image img0 + t / cg into the padded buffer: each input
 * element to its phase plane, elements no tap reads (past ext, or in a phase no tap
 * reads) left out. */
static void pad_channel(void *arg, size_t t)
{
    const direct_plan *p = arg;
    const conv_shape *sh = p->sh;
    int last = sh->spatial - 1;
    size_t ci = t % sh->cg, img = t / sh->cg;
    const float *src = p->x + (img * sh->c + ci) * sh->in_size;
    float *dst = p->buf + (ci * p->n_phases * p->images + img) * p->phase_plane;
    const size_t phase_step = p->images * p->phase_plane; /* between phases of one image */
    size_t in_last = (size_t)sh->in[last], rows = sh->in_size / in_last;
    size_t s_last = (size_t)sh->stride[last], pad_last = (size_t)sh->pad[last];
    for (size_t ph = 0; ph < p->n_phases; ph++)
        memset(dst + ph * phase_step, 0, p->phase_plane * sizeof *dst);
    for (size_t r = 0; r < rows; r++) { /* input row r: its outer coordinates, padded */
        size_t q = r, at = 0, phase = 0, phase_stride = p->phases[last];
        int skip = 0;
        for (int d = last - 1; d >= 0; d--) {
            size_t qd = q % (size_t)sh->in[d] + (size_t)sh->pad[d], s = (size_t)sh->stride[d];
            int ph = p->phase_of[d][qd % s];
            skip |= qd >= p->ext[d] || ph < 0;
            at += qd / s * p->pstride[d];
            phase += (size_t)(ph < 0 ? 0 : ph) * phase_stride;
            phase_stride *= p->phases[d];
            q /= (size_t)sh->in[d];
        }
        if (skip)
            continue;
        float *row = dst + phase * phase_step + at;
        const float *in = src + r * in_last;
        if (s_last == 1) {
            size_t n = in_last < p->ext[last] - pad_last ? in_last : p->ext[last] - pad_last;
            memcpy(row + pad_last, in, n * sizeof *dst);
            continue;
        }
        for (size_t r_last = 0; r_last < s_last; r_last++) { /* phase by phase: no division */
            int ph = p->phase_of[last][r_last];
            if (ph < 0)
                continue;
            float *to = row + (size_t)ph * phase_step;
            size_t j = (r_last + s_last - pad_last % s_last) % s_last, a = (j + pad_last) / s_last;
            for (; j < in_last && j + pad_last < p->ext[last]; j += s_last, a++)
                to[a] = in[j];
        }
    }
}

/* The runs of output positions among the columns of a multiply over `images` images
 * (one per output row), in column order: column sum o_d * pstride_d of image i is
 * output o, the columns past out_d (padding, phases) in no run. */
static void list_runs(direct_plan *p)
{
    const conv_shape *sh = p->sh;
    int last = sh->spatial - 1;
    size_t out_last = (size_t)sh->out[last], rows = sh->out_size / out_last, k = 0;
    for (size_t img = 0; img < p->images; img++)
        for (size_t r = 0; r < rows; r++) {
            size_t q = r, col = img * p->phase_plane;
            for (int d = last - 1; d >= 0; d--) {
                col += q % (size_t)sh->out[d] * p->pstride[d];
                q /= (size_t)sh->out[d];
            }
            p->runs[k++] = (out_run){ col, (img * sh->m * rows + r) * out_last, out_last, img };
        }
    p->n_runs = k;
}

/* The multiply's sink (lsc_windows_sink): columns [j0, j0 + n) of weight row `row`
 * into Y with bias and activation: as they are without copy_out, else run by run
 * (the runs of images past imgs left out). */
static void put_output(void *context, uint32_t row, size_t j0, const float *values, size_t n)
{
    const direct_plan *p = context;
    const conv_shape *sh = p->sh;
    size_t m = row - p->g * sh->mg;
    float b = p->bias ? p->bias[m] : 0.0f;
    float *y = p->y + m * sh->out_size;
    if (!p->copy_out) {
        lsc_ort_bias_activate_to(p->act, y + j0, values, n, b);
        return;
    }
    size_t lo = 0, hi = p->n_runs, end = j0 + n; /* the first run ending past j0 */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->runs[mid].col + p->runs[mid].len <= j0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (const out_run *r = p->runs + lo; r < p->runs + p->n_runs && r->col < end && r->img < p->imgs; r++) {
        size_t a = r->col > j0 ? r->col : j0, e = r->col + r->len < end ? r->col + r->len : end;
        lsc_ort_bias_activate_to(p->act, y + r->y + (a - r->col), values + (a - j0), e - a, b);
    }
}

static OrtStatus *direct_conv(const lsc_ort_call *call, const conv_shape *sh, direct_plan *p,
                              const float *X, const float *B, float *Y)
{
    const lsc_ort_kernel *k = call->kernel;
    size_t rows = sh->cg * sh->k_size, buf_count = 0;
    p->n = (p->images - 1) * p->phase_plane + p->n1;
    if ((p->copy_in && lsc_ort_mul_overflow(sh->cg * p->n_phases * p->images, p->phase_plane,
                                            &buf_count)) ||
        buf_count > SIZE_MAX / sizeof(float))
        return lsc_ort_fail(k->api, k, ORT_FAIL, "padded input of %zu channels is too large", sh->cg);
    p->act = &k->act;
    p->offs = malloc(rows * sizeof *p->offs);
    p->runs = p->copy_out ? malloc(p->images * (sh->out_size / (size_t)sh->out[sh->spatial - 1]) * sizeof *p->runs)
                          : NULL;
    p->buf = buf_count ? lsc_ort_alloc(call, buf_count * sizeof *p->buf) : NULL;
    lsc_status st = LSC_OK;
    lsc_error error = { 0 };
    if (!p->offs || (p->copy_out && !p->runs) || (buf_count && !p->buf)) {
        snprintf(error.message, sizeof error.message, "out of memory for a padded input of %zu floats",
                 buf_count);
        st = error.status = LSC_ERR_NO_MEMORY;
    }
    if (st == LSC_OK) {
        direct_offsets(p);
        if (p->copy_out)
            list_runs(p);
    }
    const lsc_windows_sink sink = { put_output, p };
    for (size_t img0 = 0; img0 < sh->n && st == LSC_OK; img0 += p->images) {
        p->imgs = sh->n - img0 < p->images ? sh->n - img0 : p->images;
        for (size_t g = 0; g < sh->group && st == LSC_OK; g++) {
            p->x = X + (img0 * sh->c + g * sh->cg) * sh->in_size;
            p->y = Y + (img0 * sh->m + g * sh->mg) * sh->out_size;
            p->bias = B ? B + g * sh->mg : NULL;
            p->g = g;
            if (p->copy_in) {
                if (p->imgs < p->images) /* the last, short batch: no stale image */
                    memset(p->buf, 0, buf_count * sizeof *p->buf);
                for_each(&call->exec, pad_channel, p, p->imgs * sh->cg);
            }
            uint32_t r0 = (uint32_t)(g * sh->mg), r1 = (uint32_t)((g + 1) * sh->mg);
            st = lsc_spmm_windows_to(call->weight, p->copy_in ? p->buf : p->x, p->offs, p->n, &sink, r0, r1,
                                     &call->exec, &error);
        }
    }
    free(p->offs);
    free(p->runs);
    lsc_ort_free(call, p->buf);
    return lsc_ort_status(call, st, &error);
}

OrtStatus *lsc_ort_conv_shape_of(const lsc_ort_call *call, int x_rank, const int64_t *x_dims,
                                 lsc_ort_conv_shape *shape)
{
    return shape_of(call, x_rank, x_dims, shape);
}

OrtStatus *lsc_ort_conv_output_dims(const lsc_ort_call *call, int x_rank, const int64_t *x_dims,
                                    int64_t y_dims[LSC_MAX_RANK])
{
    conv_shape sh;
    OrtStatus *s = shape_of(call, x_rank, x_dims, &sh);
    if (s)
        return s;
    y_dims[0] = (int64_t)sh.n;
    y_dims[1] = (int64_t)sh.m;
    for (int d = 0; d < sh.spatial; d++)
        y_dims[2 + d] = sh.out[d];
    return NULL;
}

OrtStatus *lsc_ort_conv_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    const float *X, *B;
    int x_rank, b_rank;
    int64_t x_dims[LSC_MAX_RANK], b_dims[LSC_MAX_RANK], y_dims[LSC_MAX_RANK];
    OrtStatus *s;
    if ((s = lsc_ort_float_input(call, 0, "X", &X, &x_rank, x_dims)) ||
        (s = lsc_ort_float_input(call, 2, "B", &B, &b_rank, b_dims)) ||
        (s = lsc_ort_conv_output_dims(call, x_rank, x_dims, y_dims)))
        return s;
    if (B && (b_rank != 1 || b_dims[0] != y_dims[1]))
        return lsc_ort_fail(k->api, k, ORT_INVALID_ARGUMENT, "B must be 1-D of %lld values", (long long)y_dims[1]);
    float *Y;
    if ((s = lsc_ort_float_output(call, x_rank, y_dims, &Y)))
        return s;
    return lsc_ort_conv_run(call, X, x_rank, x_dims, B, Y);
}

OrtStatus *lsc_ort_conv_run(const lsc_ort_call *call, const float *X, int x_rank, const int64_t *x_dims,
                            const float *B, float *Y)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    conv_shape sh;
    OrtStatus *s = shape_of(call, x_rank, x_dims, &sh);
    if (s)
        return s;
    if (sh.n == 0)
        return NULL;

    direct_plan direct;
    if (plan_direct(&sh, &direct))
        return direct_conv(call, &sh, &direct, X, B, Y);
    size_t rows = sh.cg * sh.k_size;
    conv_run run = { .sh = &sh, .weight = call->weight, .x = X, .bias = B, .act = &k->act, .y = Y };
    plan_units(&run, rows, call->threads);
    size_t width = run.images * run.strip; /* widest unit */
    chunk_job job = { .run = &run, .n_chunks = run.units < call->threads ? run.units : call->threads };
    if ((!sh.pointwise || run.images > 1) && (lsc_ort_mul_overflow(rows, width, &job.col_count) ||
                                              job.col_count > SIZE_MAX / sizeof(float)))
        return lsc_ort_fail(api, k, ORT_FAIL, "patch matrix of %zu x %zu is too large", rows, width);
    if (run.images > 1)
        job.out_count = sh.m * width; /* <= the size of Y, which ORT allocated */
    lsc_status st = LSC_OK;
    lsc_error *error = &job.errors[0];
    if (!take_chunk_buffers(call, &job)) {
        drop_chunk_buffers(call, &job);
        return lsc_ort_fail(api, k, ORT_FAIL, "out of memory for a patch matrix of %zu floats",
                            job.col_count + job.out_count);
    }
    if (job.n_chunks > 1) {
        for_each(&call->exec, chunk_task, &job, job.n_chunks);
        for (size_t t = 0; t < job.n_chunks && st == LSC_OK; t++)
            if ((st = job.status[t]) != LSC_OK)
                error = &job.errors[t];
    } else { /* one chunk: the kernel may still split its block rows over the pool */
        st = run_chunk(&job, 0, &call->exec);
    }
    drop_chunk_buffers(call, &job);
    return lsc_ort_status(call, st, error);
}
