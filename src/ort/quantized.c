/* 8-bit weights in the plugin (docs/format.md 1.9, 3.1). A fused DequantizeLinear's
 * scales come from the op's scale input and the weight multiplies with scale * (code -
 * zero point) from then on (lsc_weight_dequantize); its zero points are in the blob,
 * so the op's zero-point input is not read again. LscMatMulInteger, LscQLinearMatMul
 * and LscQLinearConv multiply with the integers code - zero point, exactly (below). */
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_dequantize(const lsc_ort_kernel *k, lsc_weight *weight, const OrtValue *scale)
{
    const OrtApi *api = k->api;
    lsc_error error = { 0 };
    if (lsc_ort_is_integer(k->kind)) {
        const float one = 1.0f;
        if (lsc_weight_dequantize(weight, &one, 1, &error) != LSC_OK)
            return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s", error.message);
        return NULL;
    }
    if (!scale)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "weight '%s' has 8-bit values but no scale input",
                            k->weight_name);
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0, count = 0;
    void *data = NULL;
    OrtStatus *s = lsc_ort_value_info(api, scale, &type, &rank, &count);
    if (!s && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
        s = lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "scale of weight '%s' has element type %d, needs float32",
                         k->weight_name, (int)type);
    if (!s)
        s = api->GetTensorMutableData((OrtValue *)scale, &data);
    if (s)
        return s;
    lsc_status st = lsc_weight_dequantize(weight, data, count, &error);
    if (st != LSC_OK)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s", error.message[0] ? error.message : lsc_status_string(st));
    return NULL;
}

OrtStatus *lsc_ort_matmul_integer_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w)
{
    if (w->rank != 2 || lsc_dtype_size(w->dtype) != 1 || !w->transposed || (int64_t)w->rows != w->dims[1])
        return lsc_ort_fail(kernel->api, kernel, ORT_NOT_IMPLEMENTED,
                            "weight '%s' must be an 8-bit 2-D B encoded transposed (re-compress with this onnx-lsc)",
                            kernel->weight_name);
    return NULL;
}

/* Exactness. The kernels sum in float32 (any order, FMA or not), which is exact while
 * every product and every partial sum is an integer of magnitude <= 2^24. Row r of W
 * holds integers w (code - zero point, scale 1), and A' = A - a_zero_point lies in
 * [a_min, a_max] (from A's type and zero point; |A'| <= 255). If a pass multiplies
 * inputs x with |x| <= D, each product of row r and each partial sum of any subset of
 * them is at most D * sum_k |w_rk| <= D * L1max in magnitude, L1max the weight's
 * largest row L1 norm (lsc_weight_row_l1_max). So:
 * - one pass of A' itself when max|A'| * L1max <= 2^24;
 * - otherwise A' = sum_p 2^(d p) x_p with base-2^d digits x_p = floor(A' / 2^(d p))
 *   mod 2^d in [0, 2^d - 1] and a signed top digit floor(A' / 2^(d (P-1))); d is
 *   the largest width (at most 8) with (2^d - 1) * L1max <= 2^24, P the fewest
 *   passes whose top digit also fits. Each pass is exact; they are summed in int32
 *   modulo 2^32, which is what ONNX's wrapping int32 accumulation gives.
 * The conv pads with 0 in every pass: the digits of A' = 0 (x = x_zero_point). It
 * fails only for L1max > 2^24 (more than 65793 values of 255 in a row), except for
 * one row of A on the weight's integer batch-1 form, which sums in int32 directly. */
#define EXACT_FLOAT 16777216.0 /* 2^24 */

/* floor(v / 2^s) without shifting a negative value */
static int floor_shift(int v, unsigned s)
{
    return v >= 0 ? v >> s : ~(~v >> s);
}

static int top_fits(const lsc_ort_exact_plan *plan, double l1_max)
{
    unsigned s = plan->d * (plan->passes - 1);
    int lo = floor_shift(plan->a_min, s), hi = floor_shift(plan->a_max, s);
    return (double)(lo < 0 ? -lo : lo) * l1_max <= EXACT_FLOAT && (double)(hi < 0 ? -hi : hi) * l1_max <= EXACT_FLOAT;
}

static int plan_for(double l1_max, int a_min, int a_max, lsc_ort_exact_plan *plan)
{
    plan->a_min = a_min;
    plan->a_max = a_max;
    plan->d = 0;
    plan->passes = 1;
    if (top_fits(plan, l1_max))
        return 1;
    if (l1_max > EXACT_FLOAT)
        return 0;
    plan->d = 1;
    while (plan->d < 8 && ((2u << plan->d) - 1) * l1_max <= EXACT_FLOAT)
        plan->d++;
    for (plan->passes = 2; !top_fits(plan, l1_max); plan->passes++)
        ; /* ends: from s = 8 on the top digit is -1 or 0 */
    return 1;
}

static float exact_digit(const lsc_ort_exact_plan *plan, unsigned pass, int v)
{
    unsigned s = plan->d * pass;
    int digit = floor_shift(v, s);
    if (pass < plan->passes - 1)
        digit -= floor_shift(v, s + plan->d) * (1 << plan->d);
    return (float)digit;
}

void lsc_ort_exact_inputs(const lsc_ort_exact_plan *plan, unsigned pass, const void *a, int is_signed,
                          int zero_point, size_t n, float *x)
{
    const int8_t *s8 = a;
    const uint8_t *u8 = a;
    if (plan->passes == 1 && is_signed) /* the usual case, in loops the compiler vectorizes */
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(s8[i] - zero_point);
    else if (plan->passes == 1)
        for (size_t i = 0; i < n; i++)
            x[i] = (float)(u8[i] - zero_point);
    else
        for (size_t i = 0; i < n; i++)
            x[i] = exact_digit(plan, pass, lsc_ort_int8_at(a, is_signed, i) - zero_point);
}

void lsc_ort_exact_add(const lsc_ort_exact_plan *plan, unsigned pass, const float *yf, int32_t *y, size_t n)
{
    /* |yf[i]| <= 2^24: exact in int32; the sum wraps modulo 2^32 as ONNX's int32 does */
    if (pass == 0) {
        for (size_t i = 0; i < n; i++)
            y[i] = (int32_t)yf[i];
        return;
    }
    uint32_t factor = (uint32_t)1 << (plan->d * pass); /* d * pass < 16: the top digit starts at or below bit 8 */
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)((uint32_t)y[i] + factor * (uint32_t)(int32_t)yf[i]);
}

OrtStatus *lsc_ort_exact_plan_for(const lsc_ort_call *call, int is_signed, int a_zero_point,
                                  lsc_ort_exact_plan *plan)
{
    double l1_max = lsc_weight_row_l1_max(call->weight);
    if (plan_for(l1_max, (is_signed ? -128 : 0) - a_zero_point, (is_signed ? 127 : 255) - a_zero_point, plan))
        return NULL;
    return lsc_ort_fail(call->kernel->api, call->kernel, ORT_NOT_IMPLEMENTED,
                        "a row of the weight sums to %.0f in magnitude, too much for exact float sums", l1_max);
}

int lsc_ort_int8_at(const void *a, int is_signed, size_t i)
{
    return is_signed ? ((const int8_t *)a)[i] : ((const uint8_t *)a)[i];
}

/* One row of A on the weight's integer batch-1 form (exact_run_int8) */
static int exact_int8(const lsc_ort_call *call, size_t m)
{
    return m == 1 && call->kernel->int8_form && call->weight == call->kernel->weight;
}

OrtStatus *lsc_ort_exact_begin(const lsc_ort_call *call, lsc_ort_exact_job *job, int *rank,
                               int64_t y_dims[LSC_MAX_RANK])
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    const OrtValue *a_val = NULL, *zp_val = NULL;
    size_t n_in = 0;
    OrtStatus *s = api->KernelContext_GetInputCount(call->context, &n_in);
    if (!s)
        s = api->KernelContext_GetInput(call->context, 0, &a_val);
    if (!s && n_in > 2)
        s = api->KernelContext_GetInput(call->context, 2, &zp_val);
    if (s)
        return s;
    ONNXTensorElementDataType type, zp_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    int64_t dims[LSC_MAX_RANK];
    size_t zp_rank = 0, zp_count = 0;
    void *a = NULL, *zp = NULL;
    if ((s = lsc_ort_tensor_shape(call, a_val, "A", &type, rank, dims)) ||
        (s = api->GetTensorMutableData((OrtValue *)a_val, &a)) ||
        (zp_val && ((s = lsc_ort_value_info(api, zp_val, &zp_type, &zp_rank, &zp_count)) ||
                    (s = api->GetTensorMutableData((OrtValue *)zp_val, &zp)))))
        return s;
    int is_signed = type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    if (!is_signed && type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "A has element type %d, needs uint8 or int8", (int)type);
    if (zp_val && (zp_type != type || zp_count != 1))
        return lsc_ort_fail(api, k, ORT_NOT_IMPLEMENTED,
                            "a_zero_point must be one value of A's type (got type %d, %zu values)", (int)zp_type,
                            zp_count);
    size_t K = call->winfo.cols, N = call->winfo.rows, M = 1;
    if ((s = lsc_ort_product_rows(call, "A", *rank, dims, &M)))
        return s;
    int a_zp = zp ? lsc_ort_int8_at(zp, is_signed, 0) : 0;
    /* the float passes' plan; one row on the integer form needs none (exact always) */
    job->plan = (lsc_ort_exact_plan){ 0, 0, 0, 1 };
    if (!exact_int8(call, M) && (s = lsc_ort_exact_plan_for(call, is_signed, a_zp, &job->plan)))
        return s;
    memcpy(y_dims, dims, sizeof dims);
    y_dims[*rank - 1] = (int64_t)N;
    *job = (lsc_ort_exact_job){ a, is_signed, a_zp, M, K, N, job->plan };
    return NULL;
}

/* The MatMuls' scratch: small buffers from malloc, whose heap keeps them (a batch-1
 * run would otherwise spend ~0.25 us getting ORT's allocator, as much as a small
 * layer's multiply), large ones from ORT's arena (no fresh pages faulted in). */
#define SMALL_SCRATCH ((size_t)64 << 10)

void *lsc_ort_small_alloc(const lsc_ort_call *call, size_t bytes)
{
    return bytes <= SMALL_SCRATCH ? malloc(bytes) : lsc_ort_alloc(call, bytes);
}

void lsc_ort_small_free(const lsc_ort_call *call, void *p, size_t bytes)
{
    if (bytes <= SMALL_SCRATCH)
        free(p);
    else
        lsc_ort_free(call, p);
}

/* One row of A on the weight's integer form: A - a_zero_point as int32, then int32
 * sums (lsc_spmv_int8), exact whatever the plan. */
static OrtStatus *exact_run_int8(const lsc_ort_call *call, const lsc_ort_exact_job *job, int32_t *y)
{
    int32_t *x = lsc_ort_small_alloc(call, job->K * sizeof *x);
    if (!x)
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "out of memory (%zu)", job->K);
    const int8_t *s8 = job->a;
    const uint8_t *u8 = job->a;
    if (job->is_signed) /* loops the compiler vectorizes */
        for (size_t i = 0; i < job->K; i++)
            x[i] = s8[i] - job->a_zp;
    else
        for (size_t i = 0; i < job->K; i++)
            x[i] = u8[i] - job->a_zp;
    lsc_error error = { 0 };
    lsc_status st = lsc_spmv_int8(call->weight, x, y, &call->exec, &error);
    lsc_ort_small_free(call, x, job->K * sizeof *x);
    return lsc_ort_status(call, st, &error);
}

OrtStatus *lsc_ort_exact_run(const lsc_ort_call *call, const lsc_ort_exact_job *job, int32_t *y)
{
    const lsc_ort_exact_plan *plan = &job->plan;
    size_t mk = job->m * job->K, mn = job->m * job->N;
    if (!mn)
        return NULL;
    if (exact_int8(call, job->m))
        return exact_run_int8(call, job, y);
    /* one pass (the usual case): the float sums go into y itself, then become int32 */
    float *x = lsc_ort_small_alloc(call, mk * sizeof *x);
    float *yf = plan->passes > 1 ? lsc_ort_small_alloc(call, mn * sizeof *yf) : (float *)(void *)y;
    OrtStatus *s = NULL;
    if (!x || !yf) {
        s = lsc_ort_fail(call->kernel->api, call->kernel, ORT_FAIL, "out of memory (%zu x %zu)", job->m,
                         job->K + job->N);
    } else {
        lsc_error error = { 0 };
        lsc_status st = LSC_OK;
        for (unsigned p = 0; st == LSC_OK && p < plan->passes; p++) {
            lsc_ort_exact_inputs(plan, p, job->a, job->is_signed, job->a_zp, mk, x);
            st = lsc_ort_spmm_rows(call, x, job->K, job->m, yf, job->N, &error);
            if (st == LSC_OK)
                lsc_ort_exact_add(plan, p, yf, y, mn);
        }
        s = lsc_ort_status(call, st, &error);
    }
    lsc_ort_small_free(call, x, mk * sizeof *x);
    if (yf != (float *)(void *)y)
        lsc_ort_small_free(call, yf, mn * sizeof *yf);
    return s;
}

OrtStatus *lsc_ort_matmul_integer_compute(const lsc_ort_call *call)
{
    int rank = 0;
    int64_t y_dims[LSC_MAX_RANK];
    lsc_ort_exact_job job;
    void *y = NULL;
    OrtStatus *s = lsc_ort_exact_begin(call, &job, &rank, y_dims);
    if (!s)
        s = lsc_ort_output_at(call, 0, rank, y_dims, &y);
    return s || !y ? s : lsc_ort_exact_run(call, &job, y);
}
