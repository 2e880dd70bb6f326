/* LscLSTM, LscGRU, LscRNN: ONNX LSTM / GRU / RNN with W [D, G*H, I] and R [D, G*H, H]
 * each an LSC blob of the 2-D [D*G*H, K] (docs/format.md 3.1), or the dense float
 * tensor when it did not pay. X * W^T is one lsc_spmm over every time step and
 * direction; each step then multiplies one direction's rows of R by the hidden
 * state (lsc_spmm on a row range), so R is read in its encoded form, never decoded.
 * Gates in ONNX order (LSTM i o f c, GRU z r h), default activations only (compress
 * rewrites no other), clip, direction, layout, input_forget, linear_before_reset,
 * sequence_lens, initial states, peepholes; optional outputs Y, Y_h, Y_c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

OrtStatus *lsc_ort_rnn_init(lsc_ort_kernel *kernel, const OrtKernelInfo *info)
{
    const OrtApi *api = kernel->api;
    lsc_ort_rnn_attrs *a = &kernel->attrs.rnn;
    char direction[32] = "forward";
    a->gates = kernel->kind == LSC_ORT_LSTM ? 4 : kernel->kind == LSC_ORT_GRU ? 3 : 1;
    OrtStatus *s;
    float clip = -1.0f;
    if ((s = lsc_ort_attr_int(kernel, info, "hidden_size", &a->hidden_size)) ||
        (s = lsc_ort_attr_int(kernel, info, "layout", &a->layout)) ||
        (s = lsc_ort_attr_int(kernel, info, "input_forget", &a->input_forget)) ||
        (s = lsc_ort_attr_int(kernel, info, "linear_before_reset", &a->linear_before_reset)) ||
        (s = lsc_ort_attr_float(kernel, info, "clip", &clip)) ||
        (s = lsc_ort_attr_string(kernel, info, "direction", direction, sizeof direction)))
        return s;
    a->has_clip = clip >= 0.0f; /* absent: no clipping */
    a->clip = clip;
    a->directions = strcmp(direction, "bidirectional") == 0 ? 2 : 1;
    a->reverse = strcmp(direction, "reverse") == 0;
    if (a->directions == 1 && !a->reverse && strcmp(direction, "forward") != 0)
        return lsc_ort_fail(api, kernel, ORT_INVALID_ARGUMENT, "unknown direction '%s'", direction);
    if (a->hidden_size < 0 || (a->layout != 0 && a->layout != 1))
        return lsc_ort_fail(api, kernel, ORT_INVALID_ARGUMENT, "hidden_size %lld or layout %lld is invalid",
                            (long long)a->hidden_size, (long long)a->layout);
    /* Constant blobs are opened (validated) now: a corrupt one fails the session. */
    static const char *const names[2] = { "W", "R" };
    for (size_t i = 0; i < 2; i++) {
        int is_constant = 0;
        const OrtValue *value = NULL;
        if ((s = api->KernelInfoGetConstantInput_tensor(info, i + 1, &is_constant, &value)))
            return s;
        if (!is_constant || !value)
            continue;
        OrtTensorTypeAndShapeInfo *ti = NULL;
        ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
        if (!(s = api->GetTensorTypeAndShape(value, &ti)))
            s = api->GetTensorElementType(ti, &type);
        if (ti)
            api->ReleaseTensorTypeAndShapeInfo(ti);
        if (!s && type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8)
            s = lsc_ort_open_blob(kernel, value, names[i], &a->blob[i]);
        if (s)
            return s;
    }
    return NULL;
}

void lsc_ort_rnn_release(lsc_ort_kernel *kernel)
{
    lsc_weight_close(&kernel->attrs.rnn.blob[0]);
    lsc_weight_close(&kernel->attrs.rnn.blob[1]);
}

/* W or R for one run: encoded, or dense rows x cols row-major. */
typedef struct rnn_matrix {
    const lsc_weight *blob;
    lsc_weight *opened; /* opened for this run only */
    const float *dense;
    size_t rows, cols;
} rnn_matrix;

static OrtStatus *get_matrix(const lsc_ort_call *call, size_t index, const char *what, rnn_matrix *m)
{
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    memset(m, 0, sizeof *m);
    m->blob = k->attrs.rnn.blob[index - 1];
    if (!m->blob) {
        const OrtValue *value = NULL;
        OrtStatus *s = api->KernelContext_GetInput(call->context, index, &value);
        if (s)
            return s;
        if (!value)
            return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "%s is missing", what);
        ONNXTensorElementDataType type;
        int rank;
        int64_t dims[LSC_MAX_RANK];
        if ((s = lsc_ort_tensor_shape(call, value, what, &type, &rank, dims)))
            return s;
        if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8) {
            if ((s = lsc_ort_open_blob(k, value, what, &m->opened)))
                return s;
            m->blob = m->opened;
        } else if (type == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT && rank == 3) {
            void *p = NULL;
            if ((s = api->GetTensorMutableData((OrtValue *)value, &p)))
                return s;
            m->dense = p;
            m->rows = (size_t)dims[0] * (size_t)dims[1];
            m->cols = (size_t)dims[2];
            return NULL;
        } else {
            return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT,
                                "%s must be an LSC blob or a 3-D float tensor (element type %d, rank %d)",
                                what, (int)type, rank);
        }
    }
    lsc_weight_info w;
    lsc_weight_get_info(m->blob, &w);
    if (w.rank != 2 || w.transposed || w.dtype != LSC_DTYPE_FLOAT32)
        return lsc_ort_fail(api, k, ORT_INVALID_GRAPH,
                            "%s is not encoded as the float32 2-D [D*G*H, K] the kernel needs "
                            "(re-compress with this onnx-lsc)", what);
    m->rows = w.rows;
    m->cols = w.cols;
    return NULL;
}

/* Rows [r0, r1) of Y = M * X; X is cols x n, Y rows x n (absolute rows). */
static lsc_status mul(const lsc_ort_call *call, const rnn_matrix *m, size_t r0, size_t r1, const float *x,
                      size_t n, float *y, lsc_error *error)
{
    if (m->blob)
        return lsc_spmm(m->blob, x, n, n, y, n, (uint32_t)r0, (uint32_t)r1, &call->exec, error);
    for (size_t r = r0; r < r1; r++) {
        float *yr = y + r * n;
        memset(yr, 0, n * sizeof *yr);
        for (size_t c = 0; c < m->cols; c++) {
            float w = m->dense[r * m->cols + c];
            if (w != 0.0f)
                for (size_t j = 0; j < n; j++)
                    yr[j] += w * x[c * n + j];
        }
    }
    return LSC_OK;
}

/* The shapes and buffers of one run. */
typedef struct rnn_run {
    const lsc_ort_call *call;
    const lsc_ort_rnn_attrs *a;
    rnn_matrix w, r;
    size_t T, B, I, H, D, G, GH;
    const float *bias, *init_h, *init_c, *peep;
    const int32_t *lens;
    float *Y, *Y_h, *Y_c;
    float *gx;     /* D*GH x T*B: X * W^T per time step and batch entry */
    float *gr;     /* D*GH x B: R * h, rows of the direction in work */
    float *h, *c;  /* H x B states */
    float *rh;     /* H x B: GRU r (.) h; also the z gate */
    float *zr;     /* 2H x B: GRU z and r */
} rnn_run;

static float clipped(const rnn_run *r, float x)
{
    if (!r->a->has_clip)
        return x;
    return x > r->a->clip ? r->a->clip : x < -r->a->clip ? -r->a->clip : x;
}

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* Index of element j of (direction d, batch b) in a [D, B, H] state tensor (layout 0)
 * or [B, D, H] (layout 1). */
static size_t state_at(const rnn_run *r, size_t d, size_t b, size_t j)
{
    return (r->a->layout ? b * r->D + d : d * r->B + b) * r->H + j;
}

static size_t y_at(const rnn_run *r, size_t t, size_t d, size_t b, size_t j)
{
    return (r->a->layout ? (b * r->T + t) * r->D + d : (t * r->D + d) * r->B + b) * r->H + j;
}

/* Pre-activation of gate g, unit j, batch b at step column col: x W^T + h R^T (+ both biases). */
static float pre(const rnn_run *r, size_t d, size_t g, size_t j, size_t b, size_t col, int with_r)
{
    size_t row = d * r->GH + g * r->H + j;
    float v = r->gx[row * r->T * r->B + col];
    if (with_r)
        v += r->gr[row * r->B + b];
    return v;
}

static float bias_sum(const rnn_run *r, size_t d, size_t g, size_t j)
{
    if (!r->bias)
        return 0.0f;
    const float *bw = r->bias + d * 2 * r->GH;
    return bw[g * r->H + j] + bw[r->GH + g * r->H + j];
}

static void lstm_step(rnn_run *r, size_t d, size_t b, size_t col)
{
    size_t H = r->H, B = r->B;
    const float *p = r->peep ? r->peep + d * 3 * H : NULL;
    for (size_t j = 0; j < H; j++) {
        float c_prev = r->c[j * B + b];
        float vi = pre(r, d, 0, j, b, col, 1), vo = pre(r, d, 1, j, b, col, 1);
        float vf = pre(r, d, 2, j, b, col, 1), vc = pre(r, d, 3, j, b, col, 1);
        if (p) {
            vi += p[j] * c_prev;
            vf += p[2 * H + j] * c_prev;
        }
        float i = sigmoid(clipped(r, vi + bias_sum(r, d, 0, j)));
        float f = r->a->input_forget ? 1.0f - i : sigmoid(clipped(r, vf + bias_sum(r, d, 2, j)));
        float g = tanhf(clipped(r, vc + bias_sum(r, d, 3, j)));
        float c = f * c_prev + i * g;
        if (p)
            vo += p[H + j] * c;
        float o = sigmoid(clipped(r, vo + bias_sum(r, d, 1, j)));
        r->c[j * B + b] = c;
        r->h[j * B + b] = o * tanhf(c);
    }
}

static void rnn_step(rnn_run *r, size_t d, size_t b, size_t col)
{
    for (size_t j = 0; j < r->H; j++)
        r->h[j * r->B + b] = tanhf(clipped(r, pre(r, d, 0, j, b, col, 1) + bias_sum(r, d, 0, j)));
}

/* GRU, first half: z and r from h R^T, and r (.) h for R_h when linear_before_reset = 0. */
static void gru_gates(rnn_run *r, size_t d, size_t b, size_t col)
{
    size_t H = r->H, B = r->B;
    for (size_t j = 0; j < H; j++) {
        float z = sigmoid(clipped(r, pre(r, d, 0, j, b, col, 1) + bias_sum(r, d, 0, j)));
        float rg = sigmoid(clipped(r, pre(r, d, 1, j, b, col, 1) + bias_sum(r, d, 1, j)));
        r->zr[j * B + b] = z;
        r->zr[(H + j) * B + b] = rg;
        r->rh[j * B + b] = rg * r->h[j * B + b];
    }
}

/* GRU, second half: the h gate (gr rows 2H.. hold R_h times h or r (.) h) and the new h. */
static void gru_step(rnn_run *r, size_t d, size_t b, size_t col)
{
    size_t H = r->H, B = r->B;
    const float *bw = r->bias ? r->bias + d * 2 * r->GH : NULL;
    for (size_t j = 0; j < H; j++) {
        float z = r->zr[j * B + b], rg = r->zr[(H + j) * B + b];
        float xh = pre(r, d, 2, j, b, col, 0);
        float hr = r->gr[(d * r->GH + 2 * H + j) * B + b];
        float wb = bw ? bw[2 * H + j] : 0.0f, rb = bw ? bw[r->GH + 2 * H + j] : 0.0f;
        float v = r->a->linear_before_reset ? xh + rg * (hr + rb) + wb : xh + hr + rb + wb;
        float hh = tanhf(clipped(r, v));
        float *h = &r->h[j * B + b];
        *h = (1.0f - z) * hh + z * *h;
    }
}

/* One direction over every batch entry, in lockstep; entries whose sequence has
 * ended keep their state. */
static lsc_status run_direction(rnn_run *r, size_t d, lsc_error *error)
{
    size_t H = r->H, B = r->B, T = r->T;
    int reverse = r->a->reverse || d == 1;
    for (size_t b = 0; b < B; b++)
        for (size_t j = 0; j < H; j++) {
            r->h[j * B + b] = r->init_h ? r->init_h[state_at(r, d, b, j)] : 0.0f;
            r->c[j * B + b] = r->init_c ? r->init_c[state_at(r, d, b, j)] : 0.0f;
        }
    size_t max_len = 0;
    for (size_t b = 0; b < B; b++) {
        size_t len = r->lens ? (size_t)r->lens[b] : T;
        max_len = len > max_len ? len : max_len;
    }
    size_t r0 = d * r->GH;
    int split_h = r->a->gates == 3 && !r->a->linear_before_reset;
    for (size_t s = 0; s < max_len; s++) {
        /* GRU without linear_before_reset multiplies R_h by r (.) h, known only after z, r. */
        lsc_status st = mul(r->call, &r->r, r0, r0 + (split_h ? 2 * H : r->GH), r->h, B, r->gr, error);
        for (int half = 0; st == LSC_OK && half < (r->a->gates == 3 ? 2 : 1); half++) {
            if (half == 1 && split_h)
                st = mul(r->call, &r->r, r0 + 2 * H, r0 + 3 * H, r->rh, B, r->gr, error);
            for (size_t b = 0; st == LSC_OK && b < B; b++) {
                size_t len = r->lens ? (size_t)r->lens[b] : T;
                if (s >= len) {
                    for (size_t j = 0; half == 0 && r->a->gates == 3 && j < H; j++)
                        r->rh[j * B + b] = 0.0f;
                    continue;
                }
                size_t t = reverse ? len - 1 - s : s, col = t * B + b;
                if (r->a->gates == 4)
                    lstm_step(r, d, b, col);
                else if (r->a->gates == 1)
                    rnn_step(r, d, b, col);
                else if (half == 0)
                    gru_gates(r, d, b, col);
                else
                    gru_step(r, d, b, col);
                if (r->Y && (r->a->gates != 3 || half == 1))
                    for (size_t j = 0; j < H; j++)
                        r->Y[y_at(r, t, d, b, j)] = r->h[j * B + b];
            }
        }
        if (st != LSC_OK)
            return st;
    }
    for (size_t b = 0; b < B; b++) {
        int empty = r->lens && r->lens[b] == 0; /* as ORT: zero final states */
        for (size_t j = 0; j < H; j++) {
            if (r->Y_h)
                r->Y_h[state_at(r, d, b, j)] = empty ? 0.0f : r->h[j * B + b];
            if (r->Y_c)
                r->Y_c[state_at(r, d, b, j)] = empty ? 0.0f : r->c[j * B + b];
        }
    }
    return LSC_OK;
}

/* Optional float input `index` of exactly `count` elements, or NULL when absent. */
static OrtStatus *optional_input(const lsc_ort_call *call, size_t index, const char *what, size_t count,
                                 const float **data)
{
    int rank;
    int64_t dims[LSC_MAX_RANK];
    OrtStatus *s = lsc_ort_float_input(call, index, what, data, &rank, dims);
    if (s || !*data)
        return s;
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    if (n != count)
        return lsc_ort_fail(call->kernel->api, call->kernel, ORT_INVALID_ARGUMENT,
                            "%s has %zu elements, expected %zu", what, n, count);
    return NULL;
}

static OrtStatus *sequence_lens(const lsc_ort_call *call, rnn_run *r)
{
    const OrtApi *api = call->kernel->api;
    size_t count = 0;
    const OrtValue *value = NULL;
    OrtStatus *s = api->KernelContext_GetInputCount(call->context, &count);
    if (s || count <= 4)
        return s;
    if ((s = api->KernelContext_GetInput(call->context, 4, &value)) || !value)
        return s;
    ONNXTensorElementDataType type;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    if ((s = lsc_ort_tensor_shape(call, value, "sequence_lens", &type, &rank, dims)))
        return s;
    if (type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 || rank != 1 || (size_t)dims[0] != r->B)
        return lsc_ort_fail(api, call->kernel, ORT_INVALID_ARGUMENT,
                            "sequence_lens must be int32 [%zu]", r->B);
    void *p = NULL;
    if ((s = api->GetTensorMutableData((OrtValue *)value, &p)))
        return s;
    r->lens = p;
    for (size_t b = 0; b < r->B; b++)
        if (r->lens[b] < 0 || (size_t)r->lens[b] > r->T)
            return lsc_ort_fail(api, call->kernel, ORT_INVALID_ARGUMENT,
                                "sequence_lens[%zu] = %d is outside [0, %zu]", b, (int)r->lens[b], r->T);
    return NULL;
}

/* Shapes, inputs and outputs of a run. */
static OrtStatus *prepare(rnn_run *r, const float **X)
{
    const lsc_ort_call *call = r->call;
    const lsc_ort_kernel *k = call->kernel;
    const OrtApi *api = k->api;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    OrtStatus *s;
    if ((s = lsc_ort_float_input(call, 0, "X", X, &rank, dims)))
        return s;
    if (rank != 3)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT, "X has rank %d, 3 expected", rank);
    r->T = (size_t)dims[r->a->layout ? 1 : 0];
    r->B = (size_t)dims[r->a->layout ? 0 : 1];
    r->I = (size_t)dims[2];
    if ((s = get_matrix(call, 1, "W", &r->w)) || (s = get_matrix(call, 2, "R", &r->r)))
        return s;
    r->D = (size_t)r->a->directions;
    r->G = (size_t)r->a->gates;
    r->H = r->a->hidden_size ? (size_t)r->a->hidden_size : r->r.cols;
    r->GH = r->G * r->H;
    if (r->w.rows != r->D * r->GH || r->w.cols != r->I || r->r.rows != r->D * r->GH || r->r.cols != r->H ||
        r->D * r->GH > UINT32_MAX)
        return lsc_ort_fail(api, k, ORT_INVALID_ARGUMENT,
                            "W is %zu x %zu and R %zu x %zu; %zu direction(s), %zu gates of %zu units and "
                            "input size %zu need %zu x %zu and %zu x %zu",
                            r->w.rows, r->w.cols, r->r.rows, r->r.cols, r->D, r->G, r->H, r->I,
                            r->D * r->GH, r->I, r->D * r->GH, r->H);
    size_t states = r->D * r->B * r->H;
    if ((s = optional_input(call, 3, "B", r->D * 2 * r->GH, &r->bias)) || (s = sequence_lens(call, r)) ||
        (s = optional_input(call, 5, "initial_h", states, &r->init_h)))
        return s;
    if (r->G == 4 && ((s = optional_input(call, 6, "initial_c", states, &r->init_c)) ||
                      (s = optional_input(call, 7, "P", r->D * 3 * r->H, &r->peep))))
        return s;
    int64_t y_dims[4], h_dims[3];
    if (r->a->layout) {
        int64_t y[4] = { (int64_t)r->B, (int64_t)r->T, (int64_t)r->D, (int64_t)r->H };
        int64_t h[3] = { (int64_t)r->B, (int64_t)r->D, (int64_t)r->H };
        memcpy(y_dims, y, sizeof y);
        memcpy(h_dims, h, sizeof h);
    } else {
        int64_t y[4] = { (int64_t)r->T, (int64_t)r->D, (int64_t)r->B, (int64_t)r->H };
        int64_t h[3] = { (int64_t)r->D, (int64_t)r->B, (int64_t)r->H };
        memcpy(y_dims, y, sizeof y);
        memcpy(h_dims, h, sizeof h);
    }
    if ((s = lsc_ort_float_output_at(call, 0, 4, y_dims, &r->Y)) ||
        (s = lsc_ort_float_output_at(call, 1, 3, h_dims, &r->Y_h)))
        return s;
    if (r->G == 4 && (s = lsc_ort_float_output_at(call, 2, 3, h_dims, &r->Y_c)))
        return s;
    if (r->Y)
        memset(r->Y, 0, r->T * r->D * r->B * r->H * sizeof *r->Y); /* steps past a sequence's end */
    return NULL;
}

OrtStatus *lsc_ort_rnn_compute(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    rnn_run r = { .call = call, .a = &k->attrs.rnn };
    const float *X = NULL;
    OrtStatus *s = prepare(&r, &X);
    float *xt = NULL;
    size_t tb = r.T * r.B, rows = r.D * r.GH, n_xt = 0, n_gx = 0, n_gr = 0, n_state = 0;
    /* With I = 0, X allocates nothing however large B is: every product is checked. */
    if (!s && (lsc_ort_mul_overflow(r.T, r.B, &tb) || lsc_ort_mul_overflow(r.I, tb, &n_xt) ||
               lsc_ort_mul_overflow(rows, tb, &n_gx) || lsc_ort_mul_overflow(rows, r.B, &n_gr) ||
               lsc_ort_mul_overflow(2 * r.H, r.B, &n_state) || n_xt > SIZE_MAX / sizeof(float) ||
               n_gx > SIZE_MAX / sizeof(float) || n_gr > SIZE_MAX / sizeof(float) ||
               n_state > SIZE_MAX / sizeof(float)))
        s = lsc_ort_fail(k->api, k, ORT_FAIL, "%zu steps of %zu x %zu are too large", tb, rows, r.I);
    if (!s && tb) {
        xt = malloc(n_xt ? n_xt * sizeof *xt : 1);
        r.gx = malloc(n_gx ? n_gx * sizeof *r.gx : 1);
        r.gr = malloc(n_gr ? n_gr * sizeof *r.gr : 1);
        r.h = malloc(n_state ? n_state / 2 * sizeof *r.h : 1);
        r.c = malloc(n_state ? n_state / 2 * sizeof *r.c : 1);
        r.rh = malloc(n_state ? n_state / 2 * sizeof *r.rh : 1);
        r.zr = malloc(n_state ? n_state * sizeof *r.zr : 1);
        if (!xt || !r.gx || !r.gr || !r.h || !r.c || !r.rh || !r.zr)
            s = lsc_ort_fail(k->api, k, ORT_FAIL, "out of memory for %zu steps of %zu gates", tb, rows);
    }
    if (!s && tb) {
        /* X as I x (T*B), column t*B + b, whatever the layout. */
        for (size_t t = 0; t < r.T; t++)
            for (size_t b = 0; b < r.B; b++) {
                const float *xr = X + (r.a->layout ? b * r.T + t : t * r.B + b) * r.I;
                for (size_t i = 0; i < r.I; i++)
                    xt[i * tb + t * r.B + b] = xr[i];
            }
        lsc_error error = { 0 };
        lsc_status st = mul(call, &r.w, 0, rows, xt, tb, r.gx, &error);
        for (size_t d = 0; st == LSC_OK && d < r.D; d++)
            st = run_direction(&r, d, &error);
        s = lsc_ort_status(call, st, &error);
    } else if (!s) { /* no steps: final states are the initial ones */
        for (size_t d = 0; d < r.D; d++)
            for (size_t b = 0; b < r.B; b++)
                for (size_t j = 0; j < r.H; j++) {
                    size_t at = state_at(&r, d, b, j);
                    if (r.Y_h)
                        r.Y_h[at] = r.init_h ? r.init_h[at] : 0.0f;
                    if (r.Y_c)
                        r.Y_c[at] = r.init_c ? r.init_c[at] : 0.0f;
                }
    }
    free(xt);
    free(r.gx);
    free(r.gr);
    free(r.h);
    free(r.c);
    free(r.rh);
    free(r.zr);
    lsc_weight_close(&r.w.opened);
    lsc_weight_close(&r.r.opened);
    return s;
}
