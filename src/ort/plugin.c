/* libonnx_lsc_ort: the ONNX Runtime custom-op library. RegisterCustomOps adds domain
 * ai.onnx_lsc with LscConv, LscGemm, LscMatMul, LscMatMulLeft, LscMatMulInteger, LscDynamicQuantMatMul,
 * LscQLinearMatMulFloat,
 * LscConvInteger, LscQLinearMatMul, LscQLinearConv, LscLSTM, LscGRU, LscRNN, LscDecode
 * (and its float16, bfloat16, float64 forms), LscGather (docs/format.md part 3) and
 * LscUnpack (part 5) to a session's options. Each kernel opens its encoded weight in place, validated once at
 * kernel creation (session creation fails with our message when it is corrupt), and
 * multiplies on the encoded form on ORT's own intra-op threads. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernel.h"

#if defined(__GNUC__)
#define LSC_ORT_EXPORT __attribute__((visibility("default")))
#else
#define LSC_ORT_EXPORT
#endif

#define LSC_ORT_DOMAIN "ai.onnx_lsc"

/* ------------------------------------------------------------------------ */
/* The weight: open, check against the op, once                              */
/* ------------------------------------------------------------------------ */

static OrtStatus *check_weight(const lsc_ort_kernel *k, const lsc_weight_info *w)
{
    switch (k->kind) {
    case LSC_ORT_CONV: return lsc_ort_conv_check_weight(k, w);
    case LSC_ORT_QLINEAR_CONV: case LSC_ORT_CONV_INTEGER:
        if (lsc_dtype_size(w->dtype) != 1)
            return lsc_ort_fail(k->api, k, ORT_INVALID_GRAPH, "weight '%s' is not an 8-bit weight", k->weight_name);
        return lsc_ort_conv_check_weight(k, w);
    case LSC_ORT_GEMM: return lsc_ort_gemm_check_weight(k, w);
    case LSC_ORT_MATMUL: return lsc_ort_matmul_check_weight(k, w);
    case LSC_ORT_MATMUL_LEFT: return lsc_ort_matmul_left_check_weight(k, w);
    case LSC_ORT_MATMUL_INTEGER: case LSC_ORT_QLINEAR_MATMUL: case LSC_ORT_DYNAMIC_MATMUL: case LSC_ORT_QLINEAR_FLOAT:
        return lsc_ort_matmul_integer_check_weight(k, w);
    case LSC_ORT_DECODE: case LSC_ORT_GATHER: return lsc_ort_decode_check_weight(k, w);
    default: return NULL; /* recurrent.c checks its own */
    }
}

/* Opens the uint8 tensor `value` as an encoded weight, in place (ORT keeps the
 * initializer alive as long as the session). */
OrtStatus *lsc_ort_open_blob(const lsc_ort_kernel *k, const OrtValue *value, const char *name,
                             lsc_weight **out)
{
    const OrtApi *api = k->api;
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0, size = 0;
    void *data = NULL;
    OrtStatus *s = lsc_ort_value_info(api, value, &type, &rank, &size);
    if (s)
        return s;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 || rank != 1)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT,
                            "weight '%s' must be a 1-D uint8 tensor (an LSC blob), got element type %d "
                            "rank %zu", name, (int)type, rank);
    if ((s = api->GetTensorMutableData((OrtValue *)value, &data)))
        return s;
    lsc_error error = { 0 };
    lsc_status st = lsc_weight_open(data, size, name, out, &error);
    if (st != LSC_OK)
        return lsc_ort_fail(api, k, ORT_INVALID_GRAPH, "%s",
                            error.message[0] ? error.message : lsc_status_string(st));
    return NULL;
}

static OrtStatus *open_weight(const lsc_ort_kernel *k, const OrtValue *value, lsc_weight **out)
{
    OrtStatus *s = lsc_ort_open_blob(k, value, k->weight_name, out);
    if (s)
        return s;
    lsc_weight_info w;
    lsc_weight_get_info(*out, &w);
    if ((s = check_weight(k, &w)))
        lsc_weight_close(out);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Kernel life                                                               */
/* ------------------------------------------------------------------------ */

typedef struct lsc_ort_op {
    OrtCustomOp base;          /* first: ORT hands back &base */
    lsc_ort_kind kind;
    const char *name;
    size_t n_inputs;
    size_t weight_input;
    ONNXTensorElementDataType a_type, y_type; /* LscQLinearMatMul: one registration per pair;
                                                 LscDecode*: y_type per name */
    const OrtApi *api;
    lsc_ort_pool_probe *pool;  /* the registration's */
} lsc_ort_op;

static const lsc_ort_op *op_of(const OrtCustomOp *op)
{
    return (const lsc_ort_op *)op;
}

static void ORT_API_CALL kernel_destroy(void *op_kernel)
{
    lsc_ort_kernel *k = op_kernel;
    if (!k)
        return;
    if (lsc_ort_is_recurrent(k->kind))
        lsc_ort_rnn_release(k);
    if (lsc_ort_is_decoded(k->kind))
        lsc_ort_decode_release(k);
    if (k->kind == LSC_ORT_UNPACK)
        lsc_ort_unpack_release(k);
    lsc_ort_qlinear_release(k);
    lsc_weight_close(&k->weight);
    free(k);
}

static OrtStatus *ORT_API_CALL create_kernel_v2(const OrtCustomOp *custom_op, const OrtApi *api,
                                               const OrtKernelInfo *info, void **out)
{
    const lsc_ort_op *op = op_of(custom_op);
    *out = NULL;
    lsc_ort_kernel *k = calloc(1, sizeof *k);
    if (!k)
        return api->CreateStatus(ORT_FAIL, "onnx-lsc: out of memory creating a kernel");
    k->api = api;
    k->kind = op->kind;
    k->pool = op->pool;
    k->weight_input = op->weight_input;
    k->scale_input = op->kind == LSC_ORT_CONV || op->kind == LSC_ORT_GEMM ? 3 : op->kind == LSC_ORT_MATMUL ? 2 : 0;

    char node[128] = "";
    size_t n = sizeof node;
    OrtStatus *s = api->KernelInfo_GetNodeName(info, node, &n);
    if (s) { /* a longer name only shortens our messages */
        api->ReleaseStatus(s);
        node[0] = '\0';
    }
    snprintf(k->label, sizeof k->label, "%s node '%s'", op->name, node);
    n = sizeof k->weight_name;
    if ((s = api->KernelInfo_GetInputName(info, k->weight_input, k->weight_name, &n))) {
        api->ReleaseStatus(s);
        snprintf(k->weight_name, sizeof k->weight_name, "input %zu", k->weight_input);
    }

    switch (k->kind) {
    case LSC_ORT_CONV: case LSC_ORT_QLINEAR_CONV: case LSC_ORT_CONV_INTEGER: s = lsc_ort_conv_init(k, info); break;
    case LSC_ORT_GEMM: s = lsc_ort_gemm_init(k, info); break;
    case LSC_ORT_MATMUL: case LSC_ORT_MATMUL_LEFT: case LSC_ORT_MATMUL_INTEGER: case LSC_ORT_QLINEAR_MATMUL:
    case LSC_ORT_DYNAMIC_MATMUL: case LSC_ORT_QLINEAR_FLOAT:
        s = NULL;
        break;
    case LSC_ORT_DECODE:
        k->attrs.decode.dtype = (lsc_dtype)op->y_type; /* ONNX's type codes, as lsc_dtype's */
        s = NULL;
        break;
    case LSC_ORT_GATHER: s = lsc_ort_gather_init(k, info); break;
    case LSC_ORT_UNPACK: s = lsc_ort_unpack_init(k, info); break;
    default: s = lsc_ort_rnn_init(k, info); break; /* opens its own W and R */
    }
    if (!s && (k->kind == LSC_ORT_CONV || k->kind == LSC_ORT_GEMM || k->kind == LSC_ORT_MATMUL ||
               k->kind == LSC_ORT_MATMUL_LEFT || k->kind == LSC_ORT_DYNAMIC_MATMUL || k->kind == LSC_ORT_QLINEAR_FLOAT))
        s = lsc_ort_activation_init(k, info);

    /* A constant weight (an initializer) is opened now: a corrupt one fails the
     * session. Otherwise it is opened at each run. */
    if (!s && !lsc_ort_is_recurrent(k->kind) && k->kind != LSC_ORT_UNPACK) {
        int is_constant = 0;
        const OrtValue *value = NULL;
        s = api->KernelInfoGetConstantInput_tensor(info, k->weight_input, &is_constant, &value);
        if (!s && is_constant && value)
            s = open_weight(k, value, &k->weight);
        lsc_weight_info w;
        if (!s && k->weight && (lsc_weight_get_info(k->weight, &w), lsc_dtype_size(w.dtype) == 1)) {
            /* 8-bit: its scales too, when they are constant; else both at each run */
            is_constant = 0;
            value = NULL;
            if (k->scale_input)
                s = api->KernelInfoGetConstantInput_tensor(info, k->scale_input, &is_constant, &value);
            if (!s && (lsc_ort_is_integer(k->kind) || (is_constant && value)))
                s = lsc_ort_dequantize(k, k->weight, value);
            else
                lsc_weight_close(&k->weight);
        }
        if (!s && k->weight && lsc_ort_is_decoded(k->kind))
            s = lsc_ort_decode_init(k); /* once: every run copies it */
        if (!s && (k->kind == LSC_ORT_QLINEAR_MATMUL || k->kind == LSC_ORT_QLINEAR_CONV ||
                   k->kind == LSC_ORT_QLINEAR_FLOAT))
            s = lsc_ort_qlinear_init(k, info);
        /* Gemm and the MatMuls multiply one vector at batch 1: the weight's batch-1 form,
         * once (lsc_weight_prepare_n1; nothing when the blob has none); the integer
         * MatMuls its integer form instead (lsc_weight_prepare_int8: exact int32 sums). */
        lsc_error error = { 0 };
        size_t int8_bytes = 0;
        int integer = k->kind == LSC_ORT_MATMUL_INTEGER || k->kind == LSC_ORT_QLINEAR_MATMUL ||
                      k->kind == LSC_ORT_DYNAMIC_MATMUL || k->kind == LSC_ORT_QLINEAR_FLOAT;
        if (!s && k->weight &&
            (k->kind == LSC_ORT_GEMM || k->kind == LSC_ORT_MATMUL || k->kind == LSC_ORT_MATMUL_LEFT) &&
            lsc_weight_prepare_n1(k->weight, NULL, &error) != LSC_OK)
            s = lsc_ort_fail(api, k, ORT_FAIL, "%s", error.message);
        if (!s && k->weight && integer) {
            if (lsc_weight_prepare_int8(k->weight, &int8_bytes, &error) != LSC_OK)
                s = lsc_ort_fail(api, k, ORT_FAIL, "%s", error.message);
            k->int8_form = int8_bytes > 0;
        }
        /* LscConv's float weight: its windowed-multiply form, once (lsc_weight_prepare_conv;
         * nothing when the blob has none), so no run decodes the SRI stream again */
        if (!s && k->weight && k->kind == LSC_ORT_CONV && lsc_weight_prepare_conv(k->weight, NULL, &error) != LSC_OK)
            s = lsc_ort_fail(api, k, ORT_FAIL, "%s", error.message);
        if (!s && k->weight && (k->kind == LSC_ORT_QLINEAR_CONV || k->kind == LSC_ORT_CONV_INTEGER))
            s = lsc_ort_conv_int8_init(k); /* their integer direct form, once (conv_int8.c) */
    }
    if (s) {
        kernel_destroy(k);
        return s;
    }
    *out = k;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Compute                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct parallel_task {
    lsc_task_fn fn;
    void *arg;
} parallel_task;

typedef struct parallel_host {
    const OrtApi *api;
    OrtKernelContext *context;
} parallel_host;

static void run_task(void *task, size_t i)
{
    const parallel_task *t = task;
    t->fn(t->arg, i);
}

/* lsc_exec's parallel-for on ORT's intra-op pool (serial when the session has one
 * thread, or if the pool refuses). */
static void ort_parallel_for(void *context, lsc_task_fn fn, void *arg, size_t n)
{
    parallel_host *host = context;
    parallel_task task = { fn, arg };
    if (n > 1) {
        OrtStatus *s = host->api->KernelContext_ParallelFor(host->context, run_task, n, 0, &task);
        if (!s)
            return;
        host->api->ReleaseStatus(s);
    }
    for (size_t i = 0; i < n; i++)
        fn(arg, i);
}

/* How many threads ORT's parallel-for runs on. The C API does not say, and splitting
 * work the kernels cannot split themselves costs a decoding pass of the weight per
 * part, which only pays when the parts run at the same time. So: PROBE_TASKS tasks
 * that wait (PROBE_WAIT_NS at most) for each other to start; the distinct threads
 * seen running them are the pool's width. A sleeping worker sometimes starts only
 * after the caller's task returns, so the first PROBE_RUNS runs of a session probe
 * and the most threads seen holds. On 1 thread each probe costs PROBE_WAIT_NS. */
#define PROBE_TASKS LSC_ORT_MAX_THREADS
#define PROBE_WAIT_NS 2000000
#define PROBE_RUNS 6

typedef struct probe {
    atomic_uint started;
    atomic_int gave_up; /* one task waited long enough: the rest run through */
    pthread_t thread[PROBE_TASKS];
} probe;

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void probe_task(void *arg, size_t i)
{
    probe *p = arg;
    p->thread[i] = pthread_self();
    atomic_fetch_add(&p->started, 1);
    int64_t t0 = now_ns();
    while (atomic_load(&p->started) < PROBE_TASKS && !atomic_load(&p->gave_up))
        if (now_ns() - t0 > PROBE_WAIT_NS)
            atomic_store(&p->gave_up, 1);
}

static unsigned pool_threads(lsc_ort_pool_probe *pool, parallel_host *host)
{
    unsigned seen = atomic_load(&pool->threads);
    if (seen >= PROBE_TASKS || atomic_load(&pool->probes) >= PROBE_RUNS ||
        atomic_fetch_add(&pool->probes, 1) >= PROBE_RUNS)
        return seen ? seen : 1;
    probe p = { 0 };
    OrtStatus *s = host->api->KernelContext_ParallelFor(host->context, probe_task, PROBE_TASKS, 0, &p);
    unsigned n = 1;
    if (s)
        host->api->ReleaseStatus(s);
    else
        for (size_t i = 1; i < PROBE_TASKS; i++) {
            size_t j = 0;
            while (j < i && !pthread_equal(p.thread[i], p.thread[j]))
                j++;
            n += j == i;
        }
    while (n > seen && !atomic_compare_exchange_weak(&pool->threads, &seen, n))
        ;
    return n > seen ? n : seen;
}

static OrtStatus *ORT_API_CALL kernel_compute_v2(void *op_kernel, OrtKernelContext *context)
{
    const lsc_ort_kernel *k = op_kernel;
    const OrtApi *api = k->api;
    parallel_host host = { api, context };
    lsc_ort_call call = { .kernel = k, .context = context };
    call.exec.parallel_for = ort_parallel_for;
    call.exec.parallel_for_context = &host;
    call.threads = pool_threads(k->pool, &host);
    /* On one thread the kernels run serially: cut into the parallel-for's tasks, a
     * large-n multiply would stream X once per task instead of once. */
    if (call.threads <= 1)
        call.exec.parallel_for = NULL;
    if (lsc_ort_is_recurrent(k->kind))
        return lsc_ort_rnn_compute(&call);
    if (k->kind == LSC_ORT_UNPACK)
        return lsc_ort_unpack_compute(&call);

    lsc_weight *opened = NULL;
    OrtStatus *s = NULL;
    if (k->weight) {
        call.weight = k->weight;
    } else {
        const OrtValue *value = NULL;
        if ((s = api->KernelContext_GetInput(context, k->weight_input, &value)))
            return s;
        if (!value)
            return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "weight input is missing");
        if ((s = open_weight(k, value, &opened)))
            return s;
        lsc_weight_info w;
        lsc_weight_get_info(opened, &w);
        const OrtValue *scale = NULL;
        if (lsc_dtype_size(w.dtype) == 1 &&
            ((k->scale_input && (s = api->KernelContext_GetInput(context, k->scale_input, &scale))) ||
             (s = lsc_ort_dequantize(k, opened, scale)))) {
            lsc_weight_close(&opened);
            return s;
        }
        call.weight = opened;
    }
    lsc_weight_get_info(call.weight, &call.winfo);
    lsc_ort_scratch scratch;
    lsc_ort_scratch_begin(&call, &scratch);

    switch (k->kind) {
    case LSC_ORT_CONV: s = lsc_ort_conv_compute(&call); break;
    case LSC_ORT_GEMM: s = lsc_ort_gemm_compute(&call); break;
    case LSC_ORT_MATMUL: s = lsc_ort_matmul_compute(&call); break;
    case LSC_ORT_MATMUL_LEFT: s = lsc_ort_matmul_left_compute(&call); break;
    case LSC_ORT_MATMUL_INTEGER: s = lsc_ort_matmul_integer_compute(&call); break;
    case LSC_ORT_DYNAMIC_MATMUL: s = lsc_ort_dynamic_matmul_compute(&call); break;
    case LSC_ORT_QLINEAR_FLOAT: s = lsc_ort_qlinear_float_compute(&call); break;
    case LSC_ORT_QLINEAR_MATMUL: s = lsc_ort_qlinear_matmul_compute(&call); break;
    case LSC_ORT_QLINEAR_CONV: s = lsc_ort_qlinear_conv_compute(&call); break;
    case LSC_ORT_CONV_INTEGER: s = lsc_ort_conv_integer_compute(&call); break;
    case LSC_ORT_DECODE: s = lsc_ort_decode_compute(&call); break;
    case LSC_ORT_GATHER: s = lsc_ort_gather_compute(&call); break;
    default: break;
    }
    lsc_ort_scratch_end(&scratch);
    lsc_weight_close(&opened);
    return s;
}

/* The pre-V2 entry points: ORT uses them only for ops of API < 16, which ours never
 * are; filled so that no callback is NULL. */
static void *ORT_API_CALL create_kernel_v1(const OrtCustomOp *op, const OrtApi *api,
                                          const OrtKernelInfo *info)
{
    void *k = NULL;
    OrtStatus *s = create_kernel_v2(op, api, info, &k);
    if (s) {
        fprintf(stderr, "%s\n", api->GetErrorMessage(s));
        api->ReleaseStatus(s);
    }
    return k;
}

static void ORT_API_CALL kernel_compute_v1(void *op_kernel, OrtKernelContext *context)
{
    if (!op_kernel)
        return;
    const lsc_ort_kernel *k = op_kernel;
    OrtStatus *s = kernel_compute_v2(op_kernel, context);
    if (s) {
        fprintf(stderr, "%s\n", k->api->GetErrorMessage(s));
        k->api->ReleaseStatus(s);
    }
}

/* ------------------------------------------------------------------------ */
/* Schema callbacks                                                          */
/* ------------------------------------------------------------------------ */

static const char *ORT_API_CALL get_name(const OrtCustomOp *op)
{
    return op_of(op)->name;
}

static const char *ORT_API_CALL get_execution_provider_type(const OrtCustomOp *op)
{
    (void)op;
    return NULL; /* CPU */
}

static ONNXTensorElementDataType ORT_API_CALL get_input_type(const OrtCustomOp *op, size_t index)
{
    if (lsc_ort_is_recurrent(op_of(op)->kind)) {
        if (index == 1 || index == 2) /* W, R: a blob, or float when left dense */
            return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
        return index == 4 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
    if (index == op_of(op)->weight_input)
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    if (op_of(op)->kind == LSC_ORT_GATHER) /* indices: int32 or int64 */
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    if (op_of(op)->kind == LSC_ORT_DYNAMIC_MATMUL) /* A, B, b_scale, b_zero_point (int8 or uint8), bias */
        return index == 3 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    if (op_of(op)->kind == LSC_ORT_QLINEAR_FLOAT) /* the zero points (2, 5, 7): int8 or uint8 */
        return index == 3   ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8
             : index == 2 || index == 5 || index == 7 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
                                                      : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    if (op_of(op)->kind == LSC_ORT_MATMUL_INTEGER || op_of(op)->kind == LSC_ORT_CONV_INTEGER)
        /* A and the zero points: uint8 or int8 */
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    if (op_of(op)->kind == LSC_ORT_QLINEAR_MATMUL || op_of(op)->kind == LSC_ORT_QLINEAR_CONV) {
        /* b_zero_point: B's original type; QLinearConv's B (input 8): int32 */
        static const int is_a[8] = { 1, 0, 1, 0, 0, 0, 0, 0 };
        return index == 8 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : is_a[index & 7] ? op_of(op)->a_type
             : index == 7 ? op_of(op)->y_type : index == 5 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED
             : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    }
    if (op_of(op)->n_inputs > 3 && index == op_of(op)->n_inputs - 1)
        return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED; /* zero point: int8 or uint8 */
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL get_input_type_count(const OrtCustomOp *op)
{
    return op_of(op)->n_inputs;
}

static ONNXTensorElementDataType ORT_API_CALL get_output_type(const OrtCustomOp *op, size_t index)
{
    (void)index;
    if (op_of(op)->kind == LSC_ORT_QLINEAR_MATMUL || op_of(op)->kind == LSC_ORT_QLINEAR_CONV ||
        op_of(op)->kind == LSC_ORT_DECODE)
        return op_of(op)->y_type;
    lsc_ort_kind kind = op_of(op)->kind;
    return kind == LSC_ORT_MATMUL_INTEGER || kind == LSC_ORT_CONV_INTEGER ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32
                                                                         : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}

static size_t ORT_API_CALL get_output_type_count(const OrtCustomOp *op)
{
    lsc_ort_kind kind = op_of(op)->kind;
    return kind == LSC_ORT_LSTM ? 3 : lsc_ort_is_recurrent(kind) ? 2 : 1; /* Y, Y_h[, Y_c] */
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL get_input_characteristic(const OrtCustomOp *op,
                                                                                 size_t index)
{
    if (lsc_ort_is_recurrent(op_of(op)->kind)) /* X, W, R; then B, sequence_lens, states, P */
        return index <= 2 ? INPUT_OUTPUT_REQUIRED : INPUT_OUTPUT_OPTIONAL;
    /* Conv B, Gemm C, then scale and zero point */
    return index >= 2 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

static OrtCustomOpInputOutputCharacteristic ORT_API_CALL get_output_characteristic(const OrtCustomOp *op,
                                                                                  size_t index)
{
    (void)index;
    if (op_of(op)->kind == LSC_ORT_UNPACK) /* one float32 tensor per packed tensor */
        return INPUT_OUTPUT_VARIADIC;
    return lsc_ort_is_recurrent(op_of(op)->kind) ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}

static OrtMemType ORT_API_CALL get_input_memory_type(const OrtCustomOp *op, size_t index)
{
    (void)op;
    (void)index;
    return OrtMemTypeDefault;
}

static int ORT_API_CALL get_one(const OrtCustomOp *op)
{
    (void)op;
    return 1;
}

static int ORT_API_CALL get_end_version(const OrtCustomOp *op)
{
    (void)op;
    return INT_MAX;
}

static size_t ORT_API_CALL get_no_pairs(int **input_index, int **output_index)
{
    *input_index = NULL;
    *output_index = NULL;
    return 0;
}

static void ORT_API_CALL release_no_pairs(int *input_index, int *output_index)
{
    (void)input_index;
    (void)output_index;
}

static void init_op(lsc_ort_op *op, lsc_ort_kind kind, const char *name, size_t n_inputs,
                    const OrtApi *api, uint32_t api_version)
{
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->name = name;
    op->n_inputs = n_inputs;
    op->weight_input = kind == LSC_ORT_MATMUL_LEFT || lsc_ort_is_decoded(kind) || kind == LSC_ORT_UNPACK ? 0
                     : kind == LSC_ORT_QLINEAR_MATMUL || kind == LSC_ORT_QLINEAR_CONV || kind == LSC_ORT_QLINEAR_FLOAT ? 3
                                                                                      : 1;
    op->api = api;
    OrtCustomOp *c = &op->base;
    c->version = api_version;
    c->CreateKernel = create_kernel_v1;
    c->GetName = get_name;
    c->GetExecutionProviderType = get_execution_provider_type;
    c->GetInputType = get_input_type;
    c->GetInputTypeCount = get_input_type_count;
    c->GetOutputType = get_output_type;
    c->GetOutputTypeCount = get_output_type_count;
    c->KernelCompute = kernel_compute_v1;
    c->KernelDestroy = kernel_destroy;
    c->GetInputCharacteristic = get_input_characteristic;
    c->GetOutputCharacteristic = get_output_characteristic;
    c->GetInputMemoryType = get_input_memory_type;
    c->GetVariadicInputMinArity = get_one;
    c->GetVariadicInputHomogeneity = get_one;
    c->GetVariadicOutputMinArity = get_one;
    c->GetVariadicOutputHomogeneity = get_one;
    c->CreateKernelV2 = create_kernel_v2;
    c->KernelComputeV2 = kernel_compute_v2;
    c->InferOutputShapeFn = NULL; /* output dims need the weight's, which shape inference cannot see */
    c->GetStartVersion = get_one;
    c->GetEndVersion = get_end_version;
    c->GetMayInplace = get_no_pairs;
    c->ReleaseMayInplace = release_no_pairs;
    c->GetAliasMap = get_no_pairs;
    c->ReleaseAliasMap = release_no_pairs;
}

/* ------------------------------------------------------------------------ */
/* Registration                                                              */
/* ------------------------------------------------------------------------ */

/* One registration: the ops and their domain must outlive every session created
 * with these options; they are freed when ORT unloads the library. */
#define N_OPS 25

typedef struct registration {
    lsc_ort_op ops[N_OPS];
    lsc_ort_pool_probe pool;
    OrtCustomOpDomain *domain;
    const OrtApi *api;
    struct registration *next;
} registration;

static pthread_mutex_t registrations_lock = PTHREAD_MUTEX_INITIALIZER;
static registration *registrations;

__attribute__((destructor)) static void release_registrations(void)
{
    pthread_mutex_lock(&registrations_lock);
    while (registrations) {
        registration *r = registrations;
        registrations = r->next;
        if (r->domain)
            r->api->ReleaseCustomOpDomain(r->domain);
        free(r);
    }
    pthread_mutex_unlock(&registrations_lock);
}

/* The highest API both this build's headers and the running library offer. */
static const OrtApi *negotiate_api(const OrtApiBase *base, uint32_t *version)
{
    uint32_t want = ORT_API_VERSION;
    unsigned major = 0, minor = 0;
    const char *v = base->GetVersionString ? base->GetVersionString() : NULL;
    if (v && sscanf(v, "%u.%u", &major, &minor) == 2 && major == 1 && minor < want)
        want = minor; /* ORT 1.x serves API versions 1..x */
    for (uint32_t w = want; w >= LSC_ORT_MIN_API; w--) {
        const OrtApi *api = base->GetApi(w);
        if (api) {
            *version = w;
            return api;
        }
    }
    return NULL;
}

LSC_ORT_EXPORT OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options,
                                                         const OrtApiBase *api_base);

LSC_ORT_EXPORT OrtStatus *ORT_API_CALL RegisterCustomOps(OrtSessionOptions *options,
                                                         const OrtApiBase *api_base)
{
    uint32_t version = 0;
    const OrtApi *api = negotiate_api(api_base, &version);
    if (!api) {
        const OrtApi *v1 = api_base->GetApi(1);
        char message[256];
        snprintf(message, sizeof message,
                 "onnx-lsc: ONNX Runtime %s is too old: the LSC ops need API version %d or later",
                 api_base->GetVersionString ? api_base->GetVersionString() : "?", LSC_ORT_MIN_API);
        return v1 ? v1->CreateStatus(ORT_FAIL, message) : NULL;
    }

    registration *r = calloc(1, sizeof *r);
    if (!r)
        return api->CreateStatus(ORT_FAIL, "onnx-lsc: out of memory registering the LSC ops");
    r->api = api;
    /* Conv X, W, B; Gemm A, B, C; MatMul A, B: then an 8-bit W/B's scale and zero point. */
    init_op(&r->ops[0], LSC_ORT_CONV, "LscConv", 5, api, version);
    init_op(&r->ops[1], LSC_ORT_GEMM, "LscGemm", 5, api, version);
    init_op(&r->ops[2], LSC_ORT_MATMUL, "LscMatMul", 4, api, version);
    init_op(&r->ops[3], LSC_ORT_LSTM, "LscLSTM", 8, api, version);
    init_op(&r->ops[4], LSC_ORT_GRU, "LscGRU", 6, api, version);
    init_op(&r->ops[5], LSC_ORT_RNN, "LscRNN", 6, api, version);
    init_op(&r->ops[6], LSC_ORT_MATMUL_LEFT, "LscMatMulLeft", 2, api, version);
    init_op(&r->ops[7], LSC_ORT_MATMUL_INTEGER, "LscMatMulInteger", 4, api, version); /* A, B, a_zp, b_zp */
    /* a, a_scale, a_zp, B, b_scale, b_zp, y_scale, y_zp: ORT infers a custom op's output
     * type from one dynamically typed input at most, so one registration per type of
     * a and y (uint8, int8), b_zp's type left open. */
    for (size_t i = 0; i < 8; i++) { /* QLinearConv: x, ..., y_zp, then B */
        lsc_ort_op *q = &r->ops[8 + i];
        if (i < 4)
            init_op(q, LSC_ORT_QLINEAR_MATMUL, "LscQLinearMatMul", 8, api, version);
        else
            init_op(q, LSC_ORT_QLINEAR_CONV, "LscQLinearConv", 9, api, version);
        q->a_type = i & 1 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 : ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
        q->y_type = i & 2 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 : ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    }
    init_op(&r->ops[16], LSC_ORT_CONV_INTEGER, "LscConvInteger", 4, api, version); /* x, w, x_zp, w_zp */
    init_op(&r->ops[17], LSC_ORT_DECODE, "LscDecode", 1, api, version); /* blob -> dense float32 */
    init_op(&r->ops[18], LSC_ORT_GATHER, "LscGather", 2, api, version); /* data (blob), indices */
    init_op(&r->ops[19], LSC_ORT_UNPACK, "LscUnpack", 1, api, version); /* dense pack -> its tensors */
    /* LscDecode's other types: ORT tells same-named ops apart by their input types
     * only, and these all read a uint8 blob, so one name per output type. */
    static const struct { const char *name; ONNXTensorElementDataType type; } typed_decode[] = {
        {"LscDecodeFloat16", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16},
        {"LscDecodeBFloat16", ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16},
        {"LscDecodeFloat64", ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE}};
    r->ops[17].y_type = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    for (size_t i = 0; i < 3; i++) {
        init_op(&r->ops[20 + i], LSC_ORT_DECODE, typed_decode[i].name, 1, api, version);
        r->ops[20 + i].y_type = typed_decode[i].type;
    }
    init_op(&r->ops[23], LSC_ORT_DYNAMIC_MATMUL, "LscDynamicQuantMatMul", 5, api, version);
    init_op(&r->ops[24], LSC_ORT_QLINEAR_FLOAT, "LscQLinearMatMulFloat", 9, api, version); /* QLinearMatMul's, bias */
    for (size_t i = 0; i < N_OPS; i++)
        r->ops[i].pool = &r->pool;

    OrtStatus *s = api->CreateCustomOpDomain(LSC_ORT_DOMAIN, &r->domain);
    for (size_t i = 0; !s && i < N_OPS; i++)
        s = api->CustomOpDomain_Add(r->domain, &r->ops[i].base);
    if (!s)
        s = api->AddCustomOpDomain(options, r->domain);
    if (s) {
        if (r->domain)
            api->ReleaseCustomOpDomain(r->domain);
        free(r);
        return s;
    }
    pthread_mutex_lock(&registrations_lock);
    r->next = registrations;
    registrations = r;
    pthread_mutex_unlock(&registrations_lock);
    return NULL;
}
