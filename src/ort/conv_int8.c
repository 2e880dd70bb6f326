/* LscQLinearConv and LscConvInteger on the weight's integer direct form (kernel.h,
 * lsc_conv_int8): per image, x - x_zero_point as int16 in a zero-padded buffer split
 * into phase planes when strided (the layout of conv.c's float direct convolution,
 * one image at a time: a zero there is x = x_zero_point), every weight column (input
 * channel, kernel tap) one window of it, then one lsc_conv_int8 for all groups. Its columns
 * are the phase plane's positions; those that are output positions go to Y (directly
 * when they are all of them). Exact: int16 products, int32 sums modulo 2^32. */
#include <string.h>

#include "kernel.h"

#define MAX_PHASES 8 /* larger strides: the float passes (conv.c, im2col) */

typedef struct plan {
    const lsc_ort_conv_shape *sh;
    size_t ext[LSC_ORT_MAX_SPATIAL], span[LSC_ORT_MAX_SPATIAL], pstride[LSC_ORT_MAX_SPATIAL];
    size_t phases[LSC_ORT_MAX_SPATIAL];
    int phase_of[LSC_ORT_MAX_SPATIAL][MAX_PHASES]; /* r -> stored phase, or -1 */
    size_t n_phases, plane, n1; /* stored phases (all dims); values per phase plane; columns */
    size_t channel;             /* values per input channel: n_phases * plane */
} plan;

OrtStatus *lsc_ort_conv_int8_init(lsc_ort_kernel *kernel)
{
    lsc_error error = { 0 };
    size_t bytes = 0;
    if (lsc_weight_prepare_conv_int8(kernel->weight, &bytes, &error) != LSC_OK)
        return lsc_ort_fail(kernel->api, kernel, ORT_FAIL, "%s", error.message);
    kernel->conv_int8 = bytes > 0;
    return NULL;
}

int lsc_ort_conv_int8_serves(const lsc_ort_call *call)
{
    const lsc_ort_kernel *k = call->kernel;
    if (!k->conv_int8 || call->weight != k->weight)
        return 0;
    for (int d = 0; d < k->attrs.conv.n_strides; d++)
        if (k->attrs.conv.strides[d] > MAX_PHASES)
            return 0;
    return 1;
}

/* Padded coordinates q_d in [0, ext_d) hold the input at q_d = i_d + pad_d; output o
 * reads q = o * stride + tap * dilation, in phase q mod stride at a = q div stride. */
static void plan_of(const lsc_ort_conv_shape *sh, plan *p)
{
    size_t plane = 1, phases = 1, n1 = 1;
    p->sh = sh;
    for (int d = sh->spatial - 1; d >= 0; d--) {
        size_t s = (size_t)sh->stride[d], dil = (size_t)sh->dilation[d];
        p->ext[d] = (size_t)(sh->out[d] - 1) * s + (size_t)(sh->k[d] - 1) * dil + 1;
        p->span[d] = (p->ext[d] + s - 1) / s;
        p->phases[d] = 0;
        for (size_t r = 0; r < s; r++)
            p->phase_of[d][r] = -1;
        for (size_t t = 0; t < (size_t)sh->k[d]; t++)
            if (p->phase_of[d][t * dil % s] < 0)
                p->phase_of[d][t * dil % s] = (int)p->phases[d]++;
        p->pstride[d] = plane;
        n1 += (size_t)(sh->out[d] - 1) * plane;
        plane *= p->span[d];
        phases *= p->phases[d];
    }
    p->plane = plane;
    p->n_phases = phases;
    p->channel = phases * plane;
    p->n1 = n1;
}

/* The window of each weight column (ci, tap): the taps of channel 0, then ci planes on. */
static void window_offsets(const plan *p, size_t *offs)
{
    const lsc_ort_conv_shape *sh = p->sh;
    for (size_t kk0 = 0; kk0 < sh->k_size; kk0++) {
        size_t kk = kk0, off = 0, phase = 0, phase_stride = 1;
        for (int d = sh->spatial - 1; d >= 0; d--) {
            size_t t = kk % (size_t)sh->k[d] * (size_t)sh->dilation[d], s = (size_t)sh->stride[d];
            off += t / s * p->pstride[d];
            phase += (size_t)p->phase_of[d][t % s] * phase_stride;
            phase_stride *= p->phases[d];
            kk /= (size_t)sh->k[d];
        }
        offs[kk0] = off + phase * p->plane;
    }
    for (size_t ci = 1; ci < sh->cg; ci++)
        for (size_t kk = 0; kk < sh->k_size; kk++)
            offs[ci * sh->k_size + kk] = offs[kk] + ci * p->channel;
}

/* dst[a] = src[j] - zp for input row elements j (last dim), phase by phase */
#define ROW_BODY(T)                                                                                     \
    do {                                                                                                \
        const T *in = (const T *)src;                                                                   \
        if (s == 1) {                                                                                   \
            size_t n = in_last < p->ext[last] - pad ? in_last : p->ext[last] - pad;                      \
            for (size_t j = 0; j < n; j++)                                                              \
                row[pad + j] = (int16_t)(in[j] - zp);                                                   \
            break;                                                                                      \
        }                                                                                               \
        for (size_t rl = 0; rl < s; rl++) {                                                             \
            int ph = p->phase_of[last][rl];                                                             \
            if (ph < 0)                                                                                 \
                continue;                                                                               \
            int16_t *to = row + (size_t)ph * p->plane;                                                  \
            size_t j = (rl + s - pad % s) % s, a = (j + pad) / s;                                       \
            for (; j < in_last && j + pad < p->ext[last]; j += s, a++)                                  \
                to[a] = (int16_t)(in[j] - zp);                                                          \
        }                                                                                               \
    } while (0)

/* Where each input row (all dims but the last) starts in a channel's phase planes,
 * SIZE_MAX for rows no tap reads: the same for every channel. */
static void row_targets(const plan *p, size_t *to)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int last = sh->spatial - 1;
    size_t rows = sh->in_size / (size_t)sh->in[last];
    for (size_t r = 0; r < rows; r++) { /* input row r: its outer coordinates, padded */
        size_t q = r, at = 0, phase = 0, phase_stride = p->phases[last];
        int skip = 0;
        for (int d = last - 1; d >= 0; d--) {
            size_t qd = q % (size_t)sh->in[d] + (size_t)sh->pad[d], sd = (size_t)sh->stride[d];
            int ph = p->phase_of[d][qd % sd];
            skip |= qd >= p->ext[d] || ph < 0;
            at += qd / sd * p->pstride[d];
            phase += (size_t)(ph < 0 ? 0 : ph) * phase_stride;
            phase_stride *= p->phases[d];
            q /= (size_t)sh->in[d];
        }
        to[r] = skip ? SIZE_MAX : phase * p->plane + at;
    }
}

/* One input channel (x: its in_size values) into its phase planes at dst. */
static void fill_channel(const plan *p, const size_t *targets, const void *x, int is_signed, int zp, int16_t *dst)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int last = sh->spatial - 1;
    size_t in_last = (size_t)sh->in[last], rows = sh->in_size / in_last;
    size_t s = (size_t)sh->stride[last], pad = (size_t)sh->pad[last];
    memset(dst, 0, p->channel * sizeof *dst);
    for (size_t r = 0; r < rows; r++) {
        if (targets[r] == SIZE_MAX)
            continue;
        int16_t *row = dst + targets[r];
        const void *src = (const char *)x + r * in_last;
        if (is_signed)
            ROW_BODY(int8_t);
        else
            ROW_BODY(uint8_t);
    }
}
#undef ROW_BODY

/* Column of the first output of each output row (all dims but the last). */
static void row_columns(const plan *p, size_t *cols)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int last = sh->spatial - 1;
    size_t rows = sh->out_size / (size_t)sh->out[last];
    for (size_t r = 0; r < rows; r++) {
        size_t q = r, col = 0;
        for (int d = last - 1; d >= 0; d--) {
            col += q % (size_t)sh->out[d] * p->pstride[d];
            q /= (size_t)sh->out[d];
        }
        cols[r] = col;
    }
}

OrtStatus *lsc_ort_conv_int8_run(const lsc_ort_call *call, const void *x, int is_signed, int x_zp, int x_rank,
                                 const int64_t *x_dims, int32_t *y, const lsc_ort_int32_sink *sink)
{
    const lsc_ort_kernel *k = call->kernel;
    lsc_ort_conv_shape sh;
    plan p;
    OrtStatus *s = lsc_ort_conv_shape_of(call, x_rank, x_dims, &sh);
    if (s || sh.n == 0)
        return s;
    plan_of(&sh, &p);
    size_t out_last = (size_t)sh.out[sh.spatial - 1], out_rows = sh.out_size / out_last;
    int copy_out = p.n1 != sh.out_size || sink;
    size_t buf_count = 0, scratch_count = 0;
    if (lsc_ort_mul_overflow(sh.c, p.channel, &buf_count) || buf_count > SIZE_MAX / 2 - LSC_CONV_INT8_PAD ||
        (copy_out && (lsc_ort_mul_overflow(sh.m, p.n1, &scratch_count) || scratch_count > SIZE_MAX / 4)))
        return lsc_ort_fail(k->api, k, ORT_FAIL, "padded input of %zu channels is too large", sh.c);
    buf_count += LSC_CONV_INT8_PAD;
    size_t in_rows = sh.in_size / (size_t)sh.in[sh.spatial - 1];
    size_t n_offs = sh.cg * sh.k_size, n_cols = (copy_out ? out_rows : 0) + in_rows;
    int16_t *buf = lsc_ort_small_alloc(call, buf_count * sizeof *buf);
    int32_t *scratch = copy_out ? lsc_ort_small_alloc(call, scratch_count * sizeof *scratch) : NULL;
    size_t *offs = lsc_ort_small_alloc(call, (n_offs + n_cols) * sizeof *offs);
    lsc_status st = LSC_OK;
    lsc_error error = { 0 };
    if (!buf || (copy_out && !scratch) || !offs)
        s = lsc_ort_fail(k->api, k, ORT_FAIL, "out of memory for a padded input of %zu values", buf_count);
    if (!s) {
        window_offsets(&p, offs);
        row_targets(&p, offs + n_offs);
        if (copy_out)
            row_columns(&p, offs + n_offs + in_rows);
        memset(buf + buf_count - LSC_CONV_INT8_PAD, 0, LSC_CONV_INT8_PAD * sizeof *buf);
    }
    for (size_t img = 0; !s && st == LSC_OK && img < sh.n; img++) {
        for (size_t c = 0; c < sh.c; c++)
            fill_channel(&p, offs + n_offs, (const char *)x + (img * sh.c + c) * sh.in_size, is_signed, x_zp,
                         buf + c * p.channel);
        int32_t *yi = sink ? NULL : y + img * sh.m * sh.out_size;
        st = lsc_conv_int8(call->weight, buf, offs, p.n1, (uint32_t)sh.group, sh.cg * p.channel,
                           copy_out ? scratch : yi, copy_out ? p.n1 : sh.out_size, &call->exec, &error);
        const size_t *cols = offs + n_offs + in_rows;
        for (size_t m = 0; copy_out && st == LSC_OK && m < sh.m; m++) {
            size_t at = (img * sh.m + m) * sh.out_size;
            const int32_t *from = scratch + m * p.n1;
            if (sink && p.n1 == sh.out_size)
                sink->put(sink->context, m, at, from, sh.out_size);
            else if (sink)
                for (size_t r = 0; r < out_rows; r++)
                    sink->put(sink->context, m, at + r * out_last, from + cols[r], out_last);
            else
                for (size_t r = 0; r < out_rows; r++) /* a loop: rows are short, a memcpy call costs more */
                    for (size_t i = 0; i < out_last; i++)
                        y[at + r * out_last + i] = from[cols[r] + i];
        }
    }
    lsc_ort_small_free(call, buf, buf_count * sizeof *buf);
    if (scratch)
        lsc_ort_small_free(call, scratch, scratch_count * sizeof *scratch);
    lsc_ort_small_free(call, offs, (n_offs + n_cols) * sizeof *offs);
    return s ? s : lsc_ort_status(call, st, &error);
}
