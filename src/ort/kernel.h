/* Inside the ONNX Runtime plugin: the kernel object every LSC op shares, and the
 * per-op hooks. Uses only lsc.h and ONNX Runtime's C API. */
#ifndef LSC_ORT_KERNEL_H
#define LSC_ORT_KERNEL_H

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <onnxruntime_c_api.h>

#include "onnx-lsc/lsc.h"

/* Oldest ORT API the plugin runs with: CreateKernelV2/KernelComputeV2 (16) and
 * KernelContext_ParallelFor (17). */
#define LSC_ORT_MIN_API 17

typedef enum lsc_ort_kind {
    LSC_ORT_CONV, LSC_ORT_GEMM, LSC_ORT_MATMUL, LSC_ORT_LSTM, LSC_ORT_GRU, LSC_ORT_RNN,
    LSC_ORT_MATMUL_LEFT, LSC_ORT_MATMUL_INTEGER, LSC_ORT_QLINEAR_MATMUL, LSC_ORT_QLINEAR_CONV,
    LSC_ORT_CONV_INTEGER, LSC_ORT_DECODE, LSC_ORT_GATHER, LSC_ORT_UNPACK, LSC_ORT_DYNAMIC_MATMUL,
    LSC_ORT_QLINEAR_FLOAT
} lsc_ort_kind;

/* The ops whose 8-bit B multiplies as the integers code - zero point (scale 1). */
static inline int lsc_ort_is_integer(lsc_ort_kind kind)
{
    return kind == LSC_ORT_MATMUL_INTEGER || kind == LSC_ORT_QLINEAR_MATMUL || kind == LSC_ORT_QLINEAR_CONV ||
           kind == LSC_ORT_CONV_INTEGER || kind == LSC_ORT_DYNAMIC_MATMUL || kind == LSC_ORT_QLINEAR_FLOAT;
}

static inline int lsc_ort_is_recurrent(lsc_ort_kind kind)
{
    return kind == LSC_ORT_LSTM || kind == LSC_ORT_GRU || kind == LSC_ORT_RNN;
}

#define LSC_ORT_MAX_SPATIAL (LSC_MAX_RANK - 2)

typedef enum lsc_ort_auto_pad {
    LSC_PAD_NOTSET, LSC_PAD_SAME_UPPER, LSC_PAD_SAME_LOWER, LSC_PAD_VALID
} lsc_ort_auto_pad;

typedef struct lsc_ort_conv_attrs {
    int64_t group;
    lsc_ort_auto_pad auto_pad;
    int n_kernel_shape, n_strides, n_dilations, n_pads; /* -1: attribute absent */
    int64_t kernel_shape[LSC_ORT_MAX_SPATIAL];
    int64_t strides[LSC_ORT_MAX_SPATIAL];
    int64_t dilations[LSC_ORT_MAX_SPATIAL];
    int64_t pads[2 * LSC_ORT_MAX_SPATIAL];
} lsc_ort_conv_attrs;

typedef struct lsc_ort_gemm_attrs {
    int64_t trans_a, trans_b;
    float alpha, beta;
} lsc_ort_gemm_attrs;

/* LSTM / GRU / RNN (recurrent.c): W and R are each an LSC blob [D*G*H, K] or the
 * dense float tensor [D, G*H, K]; a constant blob is opened once, at creation. */
typedef struct lsc_ort_rnn_attrs {
    int gates;              /* 4 LSTM (i o f c), 3 GRU (z r h), 1 RNN */
    int directions;         /* 1 or 2 */
    int reverse;            /* direction "reverse" */
    int has_clip;
    float clip;
    int64_t hidden_size;    /* 0: absent, taken from R */
    int64_t layout, input_forget, linear_before_reset;
    lsc_weight *blob[2];    /* W, R when constant blobs, else NULL */
} lsc_ort_rnn_attrs;

/* LscDecode (one registration per output type), LscGather (decode.c): the dense
 * tensor of a constant blob, decoded at creation; Gather's axis. */
typedef struct lsc_ort_decode_attrs {
    void *dense; /* NULL: the blob is not constant, decoded at each run */
    size_t bytes;
    int64_t axis;
    lsc_dtype dtype; /* the registration's output type: the blob's must be it */
} lsc_ort_decode_attrs;

static inline int lsc_ort_is_decoded(lsc_ort_kind kind)
{
    return kind == LSC_ORT_DECODE || kind == LSC_ORT_GATHER;
}

/* The activation compress folded into the op (docs/format.md 3.1, "Decision
 * (folded activation)"): applied where the op writes its output, with the bias. */
typedef enum lsc_ort_act_kind { LSC_ACT_NONE, LSC_ACT_RELU, LSC_ACT_CLIP, LSC_ACT_LEAKY_RELU } lsc_ort_act_kind;

typedef struct lsc_ort_activation {
    lsc_ort_act_kind kind;
    float lo, hi;  /* Clip */
    float alpha;   /* LeakyRelu */
} lsc_ort_activation;

/* ONNX Runtime's own formulas: Relu max(v, 0), Clip min(max(v, lo), hi), LeakyRelu
 * v >= 0 ? v : alpha * v. */
static inline float lsc_ort_activate(const lsc_ort_activation *a, float v)
{
    switch (a->kind) {
    case LSC_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case LSC_ACT_CLIP: v = v < a->lo ? a->lo : v; return v > a->hi ? a->hi : v;
    case LSC_ACT_LEAKY_RELU: return v >= 0.0f ? v : a->alpha * v;
    default: return v;
    }
}

/* y[i] = act(y[i]) for i < n. */
static inline void lsc_ort_activate_run(const lsc_ort_activation *a, float *y, size_t n)
{
    if (a->kind == LSC_ACT_RELU)
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    else if (a->kind != LSC_ACT_NONE)
        for (size_t i = 0; i < n; i++)
            y[i] = lsc_ort_activate(a, y[i]);
}

/* y[i] = act(x[i] + bias) for i < n (x may be y): the op's one pass over its output. */
static inline void lsc_ort_bias_activate_to(const lsc_ort_activation *a, float *y, const float *x, size_t n,
                                            float bias)
{
    switch (a->kind) {
    case LSC_ACT_NONE:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] + bias;
        break;
    case LSC_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            float v = x[i] + bias;
            y[i] = v > 0.0f ? v : 0.0f;
        }
        break;
    default:
        for (size_t i = 0; i < n; i++)
            y[i] = lsc_ort_activate(a, x[i] + bias);
        break;
    }
}

static inline void lsc_ort_bias_activate(const lsc_ort_activation *a, float *y, size_t n, float bias)
{
    lsc_ort_bias_activate_to(a, y, y, n, bias);
}

/* What the kernels of one registration (one session's options) learned about ORT's
 * intra-op pool, which the C API does not tell (plugin.c). */
typedef struct lsc_ort_pool_probe {
    atomic_uint threads; /* most threads seen running one parallel-for; 0: none yet */
    atomic_uint probes;  /* probes started */
} lsc_ort_pool_probe;

typedef struct lsc_ort_kernel {
    const OrtApi *api;
    lsc_ort_kind kind;
    char label[192];          /* "LscConv node 'conv1'": starts every message */
    size_t weight_input;      /* 1, or 0 for LscMatMulLeft, 3 for LscQLinearMatMul / LscQLinearConv */
    size_t scale_input;       /* an 8-bit weight's scales (docs/format.md 3.1): 3, MatMul 2; 0: none */
    char weight_name[128];
    lsc_weight *weight;       /* opened once when the weight input is a constant, else NULL */
    int int8_form;            /* LscMatMulInteger, LscQLinearMatMul, LscDynamicQuantMatMul: weight has its
                                 integer batch-1 form */
    int conv_int8;            /* LscQLinearConv, LscConvInteger: weight has its integer direct form */
    union {
        lsc_ort_conv_attrs conv;
        lsc_ort_gemm_attrs gemm;
        lsc_ort_rnn_attrs rnn;
        lsc_ort_decode_attrs decode;
        struct { lsc_dense_pack *pack; } unpack; /* LscUnpack (unpack.c) */
    } attrs;
    struct lsc_ort_requant *requant; /* LscQLinear*: the requantization, when its inputs are constant */
    lsc_ort_pool_probe *pool; /* the registration's */
    lsc_ort_activation act;   /* LscConv, LscGemm, LscMatMul, LscMatMulLeft, LscDynamicQuantMatMul */
} lsc_ort_kernel;

/* Where a compute call runs: the kernel, its weight for this call, ORT's context. */
typedef struct lsc_ort_call {
    const lsc_ort_kernel *kernel;
    const lsc_weight *weight;
    lsc_weight_info winfo;
    OrtKernelContext *context;
    lsc_exec exec;            /* ORT's intra-op thread pool behind lsc_exec.parallel_for */
    unsigned threads;         /* how many threads that pool runs tasks on (1..LSC_ORT_MAX_THREADS) */
} lsc_ort_call;

/* Scratch memory for one compute call from ONNX Runtime's CPU allocator: the
 * session's arena, which keeps its blocks across nodes and runs (malloc maps a large
 * buffer anew on every run and faults its pages in: ~15% of a 224x224 convolution).
 * Set as call->exec's scratch hooks, so the library's multiplies use it too; the
 * allocator is taken on first use and dropped by lsc_ort_scratch_end. Falls back to
 * malloc where ORT gives no allocator. */
typedef struct lsc_ort_scratch {
    const OrtApi *api;
    OrtKernelContext *context;
    OrtAllocator *allocator;
    int unavailable;
} lsc_ort_scratch;

void lsc_ort_scratch_begin(lsc_ort_call *call, lsc_ort_scratch *s);
void lsc_ort_scratch_end(lsc_ort_scratch *s);
/* A buffer from call->exec's scratch hooks (malloc without them); the calling thread only. */
void *lsc_ort_alloc(const lsc_ort_call *call, size_t bytes);
void lsc_ort_free(const lsc_ort_call *call, void *p);

/* Work the plugin splits itself goes into this many tasks at most. */
#define LSC_ORT_MAX_THREADS 8

/* A failed OrtStatus "onnx-lsc: <label>: <message>" (NULL-safe label). */
OrtStatus *lsc_ort_fail(const OrtApi *api, const lsc_ort_kernel *kernel, OrtErrorCode code,
                        const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The tensor's element type and dims (rank <= LSC_MAX_RANK). */
OrtStatus *lsc_ort_tensor_shape(const lsc_ort_call *call, const OrtValue *value, const char *what,
                                ONNXTensorElementDataType *type, int *rank, int64_t dims[LSC_MAX_RANK]);

/* The float data of input `index` with its dims; *data NULL when the optional input is absent. */
OrtStatus *lsc_ort_float_input(const lsc_ort_call *call, size_t index, const char *what,
                               const float **data, int *rank, int64_t dims[LSC_MAX_RANK]);

/* The rows M of input A (named `what`) multiplied by the weight: A's last dim must be
 * the weight's K, M is the product of the others, and M x K and M x N floats must be
 * addressable. */
OrtStatus *lsc_ort_product_rows(const lsc_ort_call *call, const char *what, int rank, const int64_t *dims,
                                size_t *m);

/* Allocates output 0 with these dims. */
OrtStatus *lsc_ort_float_output(const lsc_ort_call *call, int rank, const int64_t *dims, float **data);
/* Allocates output `index` with these dims; *data NULL when the node does not use it. */
OrtStatus *lsc_ort_float_output_at(const lsc_ort_call *call, size_t index, int rank, const int64_t *dims,
                                   float **data);
/* The same for an output of any element type (the op's registration fixes it). */
OrtStatus *lsc_ort_output_at(const lsc_ort_call *call, size_t index, int rank, const int64_t *dims, void **data);

/* A tensor value's element type, rank and element count. */
OrtStatus *lsc_ort_value_info(const OrtApi *api, const OrtValue *value, ONNXTensorElementDataType *type,
                              size_t *rank, size_t *count);

/* Opens a 1-D uint8 tensor as an encoded weight named `name`, in place. */
OrtStatus *lsc_ort_open_blob(const lsc_ort_kernel *kernel, const OrtValue *value, const char *name,
                             lsc_weight **out);

/* Makes an 8-bit weight ready to multiply (quantized.c): with the scales of `scale`
 * (float32, 1 or one per output channel), or for LscMatMulInteger with scale 1 (its
 * integer values; `scale` unused). */
OrtStatus *lsc_ort_dequantize(const lsc_ort_kernel *kernel, lsc_weight *weight, const OrtValue *scale);

/* LscMatMulInteger: ONNX MatMulInteger with B the encoded 8-bit weight, exact. The
 * check also serves LscQLinearMatMul. */
OrtStatus *lsc_ort_matmul_integer_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w);
OrtStatus *lsc_ort_matmul_integer_compute(const lsc_ort_call *call);

/* Scratch small enough for the stack (a batch-1 layer's input): no malloc per run. */
#define LSC_ORT_STACK_BYTES 8192

/* 1.5 * 2^23: (v + it) - it is v rounded half to even for |v| < 2^22 (float32 sums) */
#define LSC_ORT_ROUND_MAGIC 12582912.0f

/* v rounded half to even, |v| < 2^22: the sum trick where float sums are float32,
 * else the C library (the current rounding mode, by default to nearest even). */
static inline float lsc_ort_round_even(float v)
{
#if FLT_EVAL_METHOD == 0
    return (v + LSC_ORT_ROUND_MAGIC) - LSC_ORT_ROUND_MAGIC;
#else
    return nearbyintf(v);
#endif
}

/* QuantizeLinear's code less its zero point, as ONNX Runtime's MlasQuantizeLinear
 * computes it: a / scale clamped to [lo, hi] (the type's range less the zero point;
 * NaN to lo, as SSE's maxps), rounded half to even. */
static inline float lsc_ort_quantize_centred(float a, float scale, float lo, float hi)
{
    float v = a / scale;
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    return lsc_ort_round_even(v);
}

/* LscDynamicQuantMatMul (dynamic.c): DynamicQuantizeLinear of A, the exact product
 * with B, then float(acc) * x_scale * b_scale [+ bias], as ONNX Runtime computes them. */
OrtStatus *lsc_ort_dynamic_matmul_compute(const lsc_ort_call *call);
/* LscQLinearMatMulFloat (qlinear_float.c): QuantizeLinear of x, LscQLinearMatMul's
 * product and requantization, DequantizeLinear [+ bias], as ONNX Runtime computes them. */
OrtStatus *lsc_ort_qlinear_float_compute(const lsc_ort_call *call);

/* How an integer op multiplies exactly with float kernels (quantized.c): `passes`
 * multiplies, each of the input lsc_ort_exact_inputs gives for A' = A - a_zero_point,
 * summed into int32 by lsc_ort_exact_add. The plan comes from the call's weight (its
 * largest row L1 norm) and the range of A' (A's type, zero point); an error when that
 * norm is too large. */
typedef struct lsc_ort_exact_plan {
    int a_min, a_max; /* the range of A' */
    unsigned d;       /* passes > 1: digits of d bits, the last one signed */
    unsigned passes;
} lsc_ort_exact_plan;
OrtStatus *lsc_ort_exact_plan_for(const lsc_ort_call *call, int is_signed, int a_zero_point,
                                  lsc_ort_exact_plan *plan);
/* x[i] = the input of `pass` for A[i] - zero_point, A n 8-bit values. */
void lsc_ort_exact_inputs(const lsc_ort_exact_plan *plan, unsigned pass, const void *a, int is_signed,
                          int zero_point, size_t n, float *x);
/* Adds pass `pass`'s float sums yf (exact integers) into y, n int32 wrapping modulo
 * 2^32 as ONNX accumulates; pass 0 sets y, and yf may then be y itself (in place). */
void lsc_ort_exact_add(const lsc_ort_exact_plan *plan, unsigned pass, const float *yf, int32_t *y, size_t n);
/* Element i of an 8-bit tensor. */
int lsc_ort_int8_at(const void *data, int is_signed, size_t i);

/* The exact product (A - a_zero_point) * (B - b_zero_point) of an integer MatMul (A
 * input 0, a_zero_point input 2), in two steps: lsc_ort_exact_begin reads A, its zero
 * point and the plan, and gives the output dims (rank *rank); lsc_ort_exact_run then
 * writes the m x N int32 product into y, which may be the op's output tensor. */
typedef struct lsc_ort_exact_job {
    const void *a;
    int is_signed, a_zp;
    size_t m, K, N;
    lsc_ort_exact_plan plan;
} lsc_ort_exact_job;
OrtStatus *lsc_ort_exact_begin(const lsc_ort_call *call, lsc_ort_exact_job *job, int *rank,
                               int64_t y_dims[LSC_MAX_RANK]);
OrtStatus *lsc_ort_exact_run(const lsc_ort_call *call, const lsc_ort_exact_job *job, int32_t *y);
/* Scratch for the integer MatMuls: malloc when small, ORT's arena when large; freed
 * with the same size. */
void *lsc_ort_small_alloc(const lsc_ort_call *call, size_t bytes);
void lsc_ort_small_free(const lsc_ort_call *call, void *p, size_t bytes);

/* LscQLinearMatMul, LscQLinearConv (qlinear.c): ONNX QLinearMatMul and QLinearConv,
 * the exact product requantized; LscConvInteger: ONNX ConvInteger, the exact int32. */
OrtStatus *lsc_ort_qlinear_matmul_compute(const lsc_ort_call *call);
/* At creation, after the weight: the requantization computed once when the scales and
 * y_zero_point are constant (else each run reads them); released by the second. */
OrtStatus *lsc_ort_qlinear_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);
void lsc_ort_qlinear_release(lsc_ort_kernel *kernel);
OrtStatus *lsc_ort_qlinear_conv_compute(const lsc_ort_call *call);
/* y (m x the weight's rows, of y_zero_point's type) from the exact int32 acc by the
 * call's requantization (LscQLinearMatMul's inputs 1, 4, 6, 7); *y_zp its zero point,
 * *y_signed 1 for int8. */
OrtStatus *lsc_ort_qlinear_requant_rows(const lsc_ort_call *call, const int32_t *acc, size_t m, void *y, int *y_zp,
                                        int *y_signed);
OrtStatus *lsc_ort_conv_integer_compute(const lsc_ort_call *call);

/* The status of an lsc call as an OrtStatus (NULL on LSC_OK). */
OrtStatus *lsc_ort_status(const lsc_ort_call *call, lsc_status status, const lsc_error *error);

/* lsc_spmm_rows on ORT's pool: also splits the rows of X when the weight has too
 * few block rows to split (matmul.c). */
lsc_status lsc_ort_spmm_rows(const lsc_ort_call *call, const float *x, size_t ldx, size_t m, float *y,
                             size_t ldy, lsc_error *error);

/* Per-op hooks: read and check attributes at kernel creation, run. */
OrtStatus *lsc_ort_conv_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);
OrtStatus *lsc_ort_conv_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w);
OrtStatus *lsc_ort_conv_compute(const lsc_ort_call *call);
/* The output dims of a Conv of X (dims x_dims) with the call's weight, and the Conv
 * itself into Y (allocated by the caller; B, float bias, may be NULL). */
OrtStatus *lsc_ort_conv_output_dims(const lsc_ort_call *call, int x_rank, const int64_t *x_dims,
                                    int64_t y_dims[LSC_MAX_RANK]);
OrtStatus *lsc_ort_conv_run(const lsc_ort_call *call, const float *X, int x_rank, const int64_t *x_dims,
                            const float *B, float *Y);
/* The geometry of one run of a Conv: output sizes and leading pads as ONNX (and ORT)
 * define them, from X's dims, the weight's and the attributes. */
typedef struct lsc_ort_conv_shape {
    int spatial;
    size_t n, c, m, group, cg, mg; /* batch, in/out channels, per group */
    int64_t in[LSC_ORT_MAX_SPATIAL], out[LSC_ORT_MAX_SPATIAL], k[LSC_ORT_MAX_SPATIAL];
    int64_t stride[LSC_ORT_MAX_SPATIAL], dilation[LSC_ORT_MAX_SPATIAL], pad[LSC_ORT_MAX_SPATIAL];
    size_t in_size, out_size, k_size; /* products over the spatial dims */
    int pointwise;                    /* 1x1, stride 1, no pad: X is already the column matrix */
} lsc_ort_conv_shape;
OrtStatus *lsc_ort_conv_shape_of(const lsc_ort_call *call, int x_rank, const int64_t *x_dims,
                                 lsc_ort_conv_shape *shape);

#define LSC_ORT_MAX_PHASES 8 /* strides up to this run directly; larger ones use im2col */

/* The polyphase layout of spatial dim d (stride s <= LSC_ORT_MAX_PHASES): the padded
 * positions its taps read (*ext), the positions per phase plane (*span), and for each
 * residue r mod s the stored phase its taps read (phase_of[r], numbered in the taps'
 * order; -1: no tap reads it). Returns the number of stored phases. */
size_t lsc_ort_conv_phases(const lsc_ort_conv_shape *sh, int d, size_t *ext, size_t *span,
                           int phase_of[LSC_ORT_MAX_PHASES]);

/* LscQLinearConv and LscConvInteger on the weight's integer direct form (conv_int8.c):
 * prepared once at creation (lsc_weight_prepare_conv_int8; kernel->conv_int8 set when
 * the weight has it), then per run the exact int32 convolution of x - x_zero_point
 * (x: 8-bit, signed or not; dims x_dims of rank x_rank) into y, the op's int32 output
 * layout. lsc_ort_conv_int8_serves says whether a call runs on it (else the float
 * passes of quantized.c). */
OrtStatus *lsc_ort_conv_int8_init(lsc_ort_kernel *kernel);
int lsc_ort_conv_int8_serves(const lsc_ort_call *call);
/* With a sink, the int32 outputs go to it instead of y (NULL): put(context, at, v, n)
 * for outputs [at, at + n) of output channel `channel` (at: the index in the op's
 * output, from image img's channel's first), while in the cache. */
typedef struct lsc_ort_int32_sink {
    void (*put)(void *context, size_t channel, size_t at, const int32_t *v, size_t n);
    void *context;
} lsc_ort_int32_sink;
OrtStatus *lsc_ort_conv_int8_run(const lsc_ort_call *call, const void *x, int is_signed, int x_zp, int x_rank,
                                 const int64_t *x_dims, int32_t *y, const lsc_ort_int32_sink *sink);

/* Reads lsc_activation and lsc_activation_params into kernel->act (activation.c). */
OrtStatus *lsc_ort_activation_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);

OrtStatus *lsc_ort_gemm_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);
OrtStatus *lsc_ort_gemm_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w);
OrtStatus *lsc_ort_gemm_compute(const lsc_ort_call *call);

OrtStatus *lsc_ort_rnn_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);
OrtStatus *lsc_ort_rnn_compute(const lsc_ort_call *call);
void lsc_ort_rnn_release(lsc_ort_kernel *kernel);

OrtStatus *lsc_ort_matmul_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w);
OrtStatus *lsc_ort_matmul_compute(const lsc_ort_call *call);
OrtStatus *lsc_ort_matmul_left_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w);
OrtStatus *lsc_ort_matmul_left_compute(const lsc_ort_call *call);

/* Attribute readers: an absent attribute leaves *value untouched (*count = -1 for
 * lists); a present one of the wrong kind or size is an error. */
OrtStatus *lsc_ort_attr_int(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                            const char *name, int64_t *value);
OrtStatus *lsc_ort_attr_float(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                              const char *name, float *value);
OrtStatus *lsc_ort_attr_ints(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                             const char *name, int64_t *values, int max, int *count);
OrtStatus *lsc_ort_attr_floats(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                               const char *name, float *values, int max, int *count);
OrtStatus *lsc_ort_attr_string(const lsc_ort_kernel *kernel, const OrtKernelInfo *info,
                               const char *name, char *value, size_t size);

OrtStatus *lsc_ort_decode_check_weight(const lsc_ort_kernel *kernel, const lsc_weight_info *w);
OrtStatus *lsc_ort_decode_init(lsc_ort_kernel *kernel);
OrtStatus *lsc_ort_decode_compute(const lsc_ort_call *call);
OrtStatus *lsc_ort_gather_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);
OrtStatus *lsc_ort_gather_compute(const lsc_ort_call *call);
void lsc_ort_decode_release(lsc_ort_kernel *kernel);

/* LscUnpack (unpack.c): the pack decoded at creation, copied into the outputs per run. */
OrtStatus *lsc_ort_unpack_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info);
OrtStatus *lsc_ort_unpack_compute(const lsc_ort_call *call);
void lsc_ort_unpack_release(lsc_ort_kernel *kernel);

static inline int lsc_ort_mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

#endif /* LSC_ORT_KERNEL_H */
