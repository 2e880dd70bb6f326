/* LscQLinearMatMul and LscQLinearConv: ONNX QLinearMatMul (inputs a, a_scale,
 * a_zero_point, B, b_scale, b_zero_point, y_scale, y_zero_point) and QLinearConv with
 * B / w the encoded 8-bit weight (docs/format.md 3.1, "Decision (QLinearMatMul,
 * QLinearConv)").
 * The int32 product is exact (quantized.c; the Conv runs on the weight's integer
 * direct form, conv_int8.c, else conv.c once per float pass); it is
 * requantized as ONNX Runtime's own kernel does, in float32: the multiplier
 * a_scale * b_scale[n] / y_scale, then float(acc) * multiplier clamped to the output
 * type's range less the zero point, rounded half to even, plus the zero point. So the
 * outputs equal ORT's wherever ORT's int32 product is exact. LscConvInteger (ONNX
 * ConvInteger: x, w, x_zero_point, w_zero_point) gives the exact int32 itself. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernel.h"

/* QLinearConv: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
 * y_zero_point, B: the same places, and B (int32) last. */
enum { IN_A_SCALE = 1, IN_B_SCALE = 4, IN_Y_SCALE = 6, IN_Y_ZERO_POINT = 7, IN_BIAS = 8 };

/* Where the inputs come from: a run's context, or at kernel creation the node's
 * constant inputs (info set; an input that is not constant then leaves *constant 0). */
typedef struct inputs {
    const lsc_ort_kernel *k;
    OrtKernelContext *context;
    const OrtKernelInfo *info;
    int constant;
} inputs;

/* Input `index` (*v NULL when the node has no such input). */
static OrtStatus *get_input(inputs *in, size_t index, const OrtValue **v)
{
    const OrtApi *api = in->k->api;
    size_t n_in = 0;
    int is_constant = 0;
    *v = NULL;
    OrtStatus *s = in->info ? api->KernelInfo_GetInputCount(in->info, &n_in)
                            : api->KernelContext_GetInputCount(in->context, &n_in);
    if (s || n_in <= index)
        return s;
    if (!in->info)
        return api->KernelContext_GetInput(in->context, index, v);
    s = api->KernelInfoGetConstantInput_tensor(in->info, index, &is_constant, v);
    if (!s && !is_constant) {
        in->constant = 0;
        *v = NULL;
    }
    return s;
}

/* The float32 values of scale input `index`: one, or (b_scale) 1 or n of them. */
static OrtStatus *read_scales(inputs *in, size_t index, const char *what, size_t n, const float **data,
                              size_t *count)
{
    const lsc_ort_kernel *k = in->k;
    const OrtApi *api = k->api;
    const OrtValue *v = NULL;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0;
    void *p = NULL;
    OrtStatus *s = get_input(in, index, &v);
    if (s || !in->constant)
        return s;
    if (!v)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s is missing", what);
    s = lsc_ort_value_info(api, v, &type, &rank, count);
    if (!s && (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || rank > 1 || (*count != 1 && *count != n)))
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s must be float32, one value%s (got type %d, %zu values)",
                            what, n > 1 ? " or one per output channel" : "", (int)type, *count);
    if (!s)
        s = api->GetTensorMutableData((OrtValue *)v, &p);
    *data = p;
    return s;
}

/* Input `index` of a run when the node has it (*v NULL otherwise), with its type,
 * rank, element count and data. */
static OrtStatus *optional_input(const lsc_ort_call *call, size_t index, const OrtValue **v,
                                 ONNXTensorElementDataType *type, size_t *rank, size_t *count, void **data)
{
    inputs in = { call->kernel, call->context, NULL, 1 };
    OrtStatus *s = get_input(&in, index, v);
    if (s || !*v)
        return s;
    if ((s = lsc_ort_value_info(call->kernel->api, *v, type, rank, count)))
        return s;
    return call->kernel->api->GetTensorMutableData((OrtValue *)*v, data);
}

/* y_zero_point: its value and whether the output is int8 (absent: uint8, 0). */
static OrtStatus *read_y_zero_point(inputs *in, int *zp, int *is_signed)
{
    const OrtValue *v = NULL;
    size_t rank = 0, count = 0;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    void *p = NULL;
    *zp = *is_signed = 0;
    OrtStatus *s = get_input(in, IN_Y_ZERO_POINT, &v);
    if (s || !v)
        return s;
    if ((s = lsc_ort_value_info(in->k->api, v, &type, &rank, &count)) ||
        (s = in->k->api->GetTensorMutableData((OrtValue *)v, &p)))
        return s;
    *is_signed = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    if ((!*is_signed && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8) || count != 1)
        return lsc_ort_fail(in->k->api, in->k, ORT_INVALID_ARGUMENT,
                            "y_zero_point must be one uint8 or int8 value (got type %d, %zu values)", (int)type, count);
    *zp = lsc_ort_int8_at(p, *is_signed, 0);
    return NULL;
}

/* ONNX Runtime's requantization: a multiplier per output channel (or one for all). */
struct lsc_ort_requant {
    float *multiplier;
    size_t n;
    float lo, hi; /* the output type's range less the zero point */
    int zp, is_signed;
};
typedef struct lsc_ort_requant requant;

/* Reads the scales (inputs 1, 4, 6; `channels` b_scale / w_scale values or one) and
 * y_zero_point. At creation (in->info), in->constant is 0 afterwards, and r unset,
 * when one of them is not constant. */
static OrtStatus *requant_init(inputs *in, size_t channels, requant *r)
{
    const float *a_scale = NULL, *b_scale = NULL, *y_scale = NULL;
    size_t n_a = 0, n_y = 0;
    r->multiplier = NULL;
    OrtStatus *s = read_scales(in, IN_A_SCALE, "the input's scale", 1, &a_scale, &n_a);
    if (!s)
        s = read_scales(in, IN_B_SCALE, "the weight's scale", channels, &b_scale, &r->n);
    if (!s)
        s = read_scales(in, IN_Y_SCALE, "y_scale", 1, &y_scale, &n_y);
    if (!s)
        s = read_y_zero_point(in, &r->zp, &r->is_signed);
    if (s || !in->constant)
        return s;
    if (!(r->multiplier = malloc(r->n * sizeof *r->multiplier)))
        return lsc_ort_fail(in->k->api, in->k, ORT_FAIL, "out of memory");
    for (size_t n = 0; n < r->n; n++)
        r->multiplier[n] = a_scale[0] * b_scale[n] / y_scale[0];
    r->lo = (float)((r->is_signed ? -128 : 0) - r->zp);
    r->hi = (float)((r->is_signed ? 127 : 255) - r->zp);
    return NULL;
}

OrtStatus *lsc_ort_qlinear_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info)
{
    lsc_weight_info w;
    if (!kernel->weight)
        return NULL;
    lsc_weight_get_info(kernel->weight, &w);
    inputs in = { kernel, NULL, info, 1 };
    requant r;
    OrtStatus *s = requant_init(&in, w.rows, &r);
    if (s) { /* the run reports it, as for inputs that are not constant */
        kernel->api->ReleaseStatus(s);
        return NULL;
    }
    if (!in.constant)
        return NULL;
    if (!(kernel->requant = malloc(sizeof r))) {
        free(r.multiplier);
        return lsc_ort_fail(kernel->api, kernel, ORT_FAIL, "out of memory");
    }
    *kernel->requant = r;
    return NULL;
}

void lsc_ort_qlinear_release(lsc_ort_kernel *kernel)
{
    if (kernel->requant)
        free(kernel->requant->multiplier);
    free(kernel->requant);
    kernel->requant = NULL;
}

/* The call's requantization: the kernel's, or *local read now (free its multiplier). */
static OrtStatus *requant_of(const lsc_ort_call *call, size_t channels, requant *local, const requant **r)
{
    *r = call->kernel->requant;
    local->multiplier = NULL;
    if (*r)
        return NULL;
    inputs in = { call->kernel, call->context, NULL, 1 };
    *r = local;
    return requant_init(&in, channels, local);
}

/* One output of ONNX Runtime's requantization: acc + bias wraps in int32 as ONNX
 * accumulates, then float() rounds above 2^24, as ORT does. */
static inline int requant_one(const requant *r, int32_t acc, int32_t bias, float multiplier)
{
    float v = (float)(int32_t)((uint32_t)acc + (uint32_t)bias) * multiplier;
    v = v > r->lo ? v : r->lo; /* fmaxf then fminf, NaN included: SSE's maxps and minps */
    v = v < r->hi ? v : r->hi;
#if FLT_EVAL_METHOD == 0
    v = (v + 12582912.0f) - 12582912.0f; /* nearbyintf for |v| < 2^22: |v| <= 383 here */
#else
    v = nearbyintf(v);
#endif
    return (int)v + r->zp;
}

/* y[start + i] for i < n from acc[i] + bias, all of output channel `channel`. */
static void requant_span(const requant *r, const int32_t *acc, int32_t bias, size_t channel, void *y, size_t start,
                         size_t n)
{
    float multiplier = r->multiplier[r->n == 1 ? 0 : channel];
    if (r->is_signed)
        for (size_t i = 0; i < n; i++)
            ((int8_t *)y)[start + i] = (int8_t)requant_one(r, acc[i], bias, multiplier);
    else
        for (size_t i = 0; i < n; i++)
            ((uint8_t *)y)[start + i] = (uint8_t)requant_one(r, acc[i], bias, multiplier);
}

/* y[i] for i in [start, start + n) from acc[i] + bias, all of output channel `channel`. */
static void requant_run(const requant *r, const int32_t *acc, int32_t bias, size_t channel, void *y, size_t start,
                        size_t n)
{
    requant_span(r, acc + start, bias, channel, y, start, n);
}

/* The integer direct form's outputs requantized as they come (lsc_ort_int32_sink). */
typedef struct requant_sink {
    const requant *r;
    const int32_t *bias;
    void *y;
} requant_sink;

static void put_requant(void *context, size_t channel, size_t at, const int32_t *v, size_t n)
{
    const requant_sink *s = context;
    requant_span(s->r, v, s->bias ? s->bias[channel] : 0, channel, s->y, at, n);
}

/* y from acc, m rows of n channels (a MatMul's output). */
static void requant_rows(const requant *r, const int32_t *acc, size_t m, size_t n, void *y)
{
    for (size_t i = 0; i < m * n; i += n)
        for (size_t c = 0; c < n; c++) {
            int q = requant_one(r, acc[i + c], 0, r->multiplier[r->n == 1 ? 0 : c]);
            if (r->is_signed)
                ((int8_t *)y)[i + c] = (int8_t)q;
            else
                ((uint8_t *)y)[i + c] = (uint8_t)q;
        }
}

static OrtStatus *output(const lsc_ort_call *call, int rank, const int64_t *dims, void **y)
{
    OrtValue *v = NULL;
    OrtStatus *s = call->kernel->api->KernelContext_GetOutput(call->context, 0, dims, (size_t)rank, &v);
    return s ? s : call->kernel->api->GetTensorMutableData(v, y);
}

OrtStatus *lsc_ort_qlinear_matmul_compute(const lsc_ort_call *call)
{
    size_t N = call->winfo.rows;
    requant local;
    const requant *r = NULL;
    int rank = 0;
    int64_t y_dims[LSC_MAX_RANK];
    lsc_ort_exact_job job;
    int32_t *acc = NULL;
    void *y = NULL;
    OrtStatus *s = requant_of(call, N, &local, &r);
    if (s)
        return s;
    if (!(s = lsc_ort_exact_begin(call, &job, &rank, y_dims)) && !(s = output(call, rank, y_dims, &y)) &&
        job.m && !(acc = lsc_ort_small_alloc(call, job.m * N * sizeof *acc)))
        s = lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "out of memory (%zu x %zu)", job.m, N);
    if (!s && acc && !(s = lsc_ort_exact_run(call, &job, acc)))
        requant_rows(r, acc, job.m, N, y);
    lsc_ort_small_free(call, acc, job.m * N * sizeof *acc);
    free(local.multiplier);
    return s;
}

OrtStatus *lsc_ort_qlinear_requant_rows(const lsc_ort_call *call, const int32_t *acc, size_t m, void *y, int *y_zp,
                                        int *y_signed)
{
    requant local;
    const requant *r = NULL;
    OrtStatus *s = requant_of(call, call->winfo.rows, &local, &r);
    if (!s) {
        requant_rows(r, acc, m, call->winfo.rows, y);
        *y_zp = r->zp;
        *y_signed = r->is_signed;
    }
    free(local.multiplier);
    return s;
}

/* x (input 0) and its zero point (input 2, one value of its type). */
static OrtStatus *read_x(const lsc_ort_call *call, const void **x, int *is_signed, int *x_zp, int *rank,
                         int64_t dims[LSC_MAX_RANK])
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const OrtValue *xv = NULL, *zv = NULL;
    ONNXTensorElementDataType type, zp_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t zp_rank = 0, zp_count = 0;
    void *data = NULL, *zp = NULL;
    OrtStatus *s = api->KernelContext_GetInput(call->context, 0, &xv);
    if (s || (s = lsc_ort_tensor_shape(call, xv, "x", &type, rank, dims)) ||
        (s = api->GetTensorMutableData((OrtValue *)xv, &data)) ||
        (s = optional_input(call, 2, &zv, &zp_type, &zp_rank, &zp_count, &zp)))
        return s;
    *is_signed = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    if (!*is_signed && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "x has element type %d, needs uint8 or int8", (int)type);
    if (zv && (zp_type != type || zp_count != 1))
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT,
                            "x_zero_point must be one value of x's type (got type %d, %zu values)", (int)zp_type,
                            zp_count);
    *x = data;
    *x_zp = zv ? lsc_ort_int8_at(zp, *is_signed, 0) : 0;
    return NULL;
}

/* B (input 8): int32, one per output channel, or absent. */
static OrtStatus *read_bias(const lsc_ort_call *call, size_t m, const int32_t **bias)
{
    const OrtValue *v = NULL;
    size_t rank = 0, count = 0;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    void *p = NULL;
    *bias = NULL;
    OrtStatus *s = optional_input(call, IN_BIAS, &v, &type, &rank, &count, &p);
    if (s || !v)
        return s;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 || rank != 1 || count != m)
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_INVALID_ARGUMENT,
                            "B must be 1-D int32 of %zu values (got type %d, %zu values)", m, (int)type, count);
    *bias = p;
    return NULL;
}

/* The exact convolution of (x - x_zero_point) and (w - w_zero_point), x input 0 and
 * x_zero_point input 2 in QLinearConv and ConvInteger alike: the float convolution
 * once per pass of the exact plan (quantized.c), summed into int32. exact_conv_begin
 * reads x and gives the output dims (rank *rank) and *n_y; exact_conv_run writes the
 * n_y int32 outputs into y, which may be the op's output tensor. */
typedef struct exact_conv_job {
    const void *x;
    int is_signed, x_zp, rank;
    int direct; /* on the weight's integer direct form (conv_int8.c): no float passes */
    int64_t x_dims[LSC_MAX_RANK];
    size_t n_x, n_y;
    lsc_ort_exact_plan plan;
} exact_conv_job;

static OrtStatus *exact_conv_begin(const lsc_ort_call *call, exact_conv_job *job, int64_t y_dims[LSC_MAX_RANK])
{
    OrtStatus *s = read_x(call, &job->x, &job->is_signed, &job->x_zp, &job->rank, job->x_dims);
    if (!s)
        s = lsc_ort_conv_output_dims(call, job->rank, job->x_dims, y_dims);
    job->direct = lsc_ort_conv_int8_serves(call);
    if (!s && !job->direct)
        s = lsc_ort_exact_plan_for(call, job->is_signed, job->x_zp, &job->plan);
    if (s)
        return s;
    int too_large = 0;
    job->n_x = job->n_y = 1;
    for (int i = 0; i < job->rank; i++) /* x fits (ORT allocated it); y, from the attributes, is checked */
        job->n_x *= (size_t)job->x_dims[i], too_large |= lsc_ort_mul_overflow(job->n_y, (size_t)y_dims[i], &job->n_y);
    if (too_large || job->n_y > SIZE_MAX / sizeof(float) || job->n_x > SIZE_MAX / sizeof(float))
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "the output is too large");
    return NULL;
}

static OrtStatus *exact_conv_run(const lsc_ort_call *call, const exact_conv_job *job, int32_t *y)
{
    const lsc_ort_exact_plan *plan = &job->plan;
    if (!job->n_y)
        return NULL;
    if (job->direct)
        return lsc_ort_conv_int8_run(call, job->x, job->is_signed, job->x_zp, job->rank, job->x_dims, y, NULL);
    /* one pass (the usual case): the float outputs go into y itself, then become int32 */
    float *xf = lsc_ort_alloc(call, job->n_x * sizeof *xf);
    float *yf = plan->passes > 1 ? lsc_ort_alloc(call, job->n_y * sizeof *yf) : (float *)(void *)y;
    OrtStatus *s = NULL;
    if (!xf || !yf)
        s = lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "out of memory (%zu + %zu values)", job->n_x,
                         job->n_y);
    /* Padding adds zeros to every pass, which is x = x_zero_point in all of them. */
    for (unsigned p = 0; !s && p < plan->passes; p++) {
        lsc_ort_exact_inputs(plan, p, job->x, job->is_signed, job->x_zp, job->n_x, xf);
        if (!(s = lsc_ort_conv_run(call, xf, job->rank, job->x_dims, NULL, yf)))
            lsc_ort_exact_add(plan, p, yf, y, job->n_y);
    }
    lsc_ort_free(call, xf);
    if (yf != (float *)(void *)y)
        lsc_ort_free(call, yf);
    return s;
}

OrtStatus *lsc_ort_qlinear_conv_compute(const lsc_ort_call *call)
{
    size_t M = call->winfo.rows;
    const int32_t *bias = NULL;
    int64_t y_dims[LSC_MAX_RANK];
    exact_conv_job job;
    requant local = { 0 };
    const requant *r = NULL;
    int32_t *acc = NULL;
    void *y = NULL;
    OrtStatus *s = read_bias(call, M, &bias);
    if (!s)
        s = requant_of(call, M, &local, &r);
    if (!s)
        s = exact_conv_begin(call, &job, y_dims);
    if (!s)
        s = output(call, job.rank, y_dims, &y);
    if (!s && job.n_y && job.direct) { /* requantized as the sums come, no int32 tensor */
        requant_sink rs = { r, bias, y };
        lsc_ort_int32_sink sink = { put_requant, &rs };
        s = lsc_ort_conv_int8_run(call, job.x, job.is_signed, job.x_zp, job.rank, job.x_dims, NULL, &sink);
        free(local.multiplier);
        return s;
    }
    if (!s && job.n_y && !(acc = lsc_ort_alloc(call, job.n_y * sizeof *acc)))
        s = lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "out of memory (%zu values)", job.n_y);
    if (!s && acc)
        s = exact_conv_run(call, &job, acc);
    size_t plane = acc && y_dims[0] ? job.n_y / (size_t)y_dims[0] / M : 0;
    for (size_t i = 0; !s && acc && i < job.n_y; i += plane) {
        size_t m = i / plane % M;
        requant_run(r, acc, bias ? bias[m] : 0, m, y, i, plane);
    }
    lsc_ort_free(call, acc);
    free(local.multiplier);
    return s;
}

OrtStatus *lsc_ort_conv_integer_compute(const lsc_ort_call *call)
{
    int64_t y_dims[LSC_MAX_RANK];
    exact_conv_job job;
    void *y = NULL;
    OrtStatus *s = exact_conv_begin(call, &job, y_dims);
    if (!s)
        s = output(call, job.rank, y_dims, &y);
    return s || !y ? s : exact_conv_run(call, &job, y);
}
