/* LscQLinearConv and LscConvInteger on the weight's integer direct form (kernel.h,
 * lsc_conv_int8): per image, x - x_zero_point as int16 in a zero-padded buffer (a zero
 * there is x = x_zero_point), every weight column (input channel, kernel tap) one
 * window of it, then one lsc_conv_int8 for all groups. The buffer holds, per input
 * channel and tap kx of the last dim, the inputs those taps read: plane (ci, kx) at
 * (row a, column o) is the padded input at a and o * stride + kx * dilation along the
 * last dim (an im2col of the last dim only, kernel_w planes of out_w columns). Then a
 * window's columns are the output positions themselves (none computed and dropped:
 * with the input's own rows they were out_w of in_w + pads), strides and dilations of
 * the last dim cost nothing, and the other dims are split into phase planes when
 * strided (conv.c's polyphase layout): output o reads a = o + (tap * dil) div stride in
 * phase (tap * dil) mod stride. Exact: int16 products, int32 sums modulo 2^32. */
#include <string.h>

#include "kernel.h"

typedef struct plan {
    const lsc_ort_conv_shape *sh;
    int last;                   /* the last spatial dim */
    size_t ext[LSC_ORT_MAX_SPATIAL], span[LSC_ORT_MAX_SPATIAL], pstride[LSC_ORT_MAX_SPATIAL];
    size_t phases[LSC_ORT_MAX_SPATIAL]; /* the dims but the last */
    int phase_of[LSC_ORT_MAX_SPATIAL][LSC_ORT_MAX_PHASES]; /* r -> stored phase, or -1 */
    size_t n_phases, plane, n1; /* stored phases (all dims but the last); values per plane; columns */
    size_t channel;             /* values per input channel: kernel_w * n_phases * plane */
    size_t ext_last;            /* padded positions of the last dim that taps read */
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
    for (int d = 0; d + 1 < k->attrs.conv.n_strides; d++) /* larger strides: the float passes */
        if (k->attrs.conv.strides[d] > LSC_ORT_MAX_PHASES)
            return 0;
    return 1;
}

static void plan_of(const lsc_ort_conv_shape *sh, plan *p)
{
    int last = sh->spatial - 1;
    size_t plane = (size_t)sh->out[last], phases = 1, n1 = (size_t)sh->out[last];
    p->sh = sh;
    p->last = last;
    for (int d = last - 1; d >= 0; d--) {
        p->phases[d] = lsc_ort_conv_phases(sh, d, &p->ext[d], &p->span[d], p->phase_of[d]);
        p->pstride[d] = plane;
        n1 += (size_t)(sh->out[d] - 1) * plane;
        plane *= p->span[d];
        phases *= p->phases[d];
    }
    p->plane = plane;
    p->n_phases = phases;
    p->channel = (size_t)sh->k[last] * phases * plane;
    p->n1 = n1;
    p->ext_last = (size_t)(sh->out[last] - 1) * (size_t)sh->stride[last] +
                  (size_t)(sh->k[last] - 1) * (size_t)sh->dilation[last] + 1;
}

/* The window of each weight column (ci, tap): the taps of channel 0, then ci channels on. */
static void window_offsets(const plan *p, size_t *offs)
{
    const lsc_ort_conv_shape *sh = p->sh;
    for (size_t kk0 = 0; kk0 < sh->k_size; kk0++) {
        size_t kx = kk0 % (size_t)sh->k[p->last], kk = kk0 / (size_t)sh->k[p->last];
        size_t off = 0, phase = 0, phase_stride = 1;
        for (int d = p->last - 1; d >= 0; d--) {
            size_t t = kk % (size_t)sh->k[d] * (size_t)sh->dilation[d], s = (size_t)sh->stride[d];
            off += t / s * p->pstride[d];
            phase += (size_t)p->phase_of[d][t % s] * phase_stride;
            phase_stride *= p->phases[d];
            kk /= (size_t)sh->k[d];
        }
        offs[kk0] = off + (kx * p->n_phases + phase) * p->plane;
    }
    for (size_t ci = 1; ci < sh->cg; ci++)
        for (size_t kk = 0; kk < sh->k_size; kk++)
            offs[ci * sh->k_size + kk] = offs[kk] + ci * p->channel;
}

/* Where each input row (all dims but the last) starts in plane (ci, 0) of a channel,
 * SIZE_MAX for rows no tap reads: the same for every channel. */
static void row_targets(const plan *p, size_t *to)
{
    const lsc_ort_conv_shape *sh = p->sh;
    size_t rows = sh->in_size / (size_t)sh->in[p->last];
    for (size_t r = 0; r < rows; r++) { /* input row r: its outer coordinates, padded */
        size_t q = r, at = 0, phase = 0, phase_stride = 1;
        int skip = 0;
        for (int d = p->last - 1; d >= 0; d--) {
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

/* Per tap kx of the last dim, the outputs o in [span[2 kx], span[2 kx + 1]) whose input
 * column o * stride + kx * dilation - pad is inside the row (the rest read padding). */
static void kx_spans(const plan *p, size_t *span)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int64_t s = sh->stride[p->last], in_last = sh->in[p->last], out_last = sh->out[p->last];
    for (int64_t kx = 0; kx < sh->k[p->last]; kx++) {
        int64_t first = kx * sh->dilation[p->last] - sh->pad[p->last]; /* input column of o = 0 */
        int64_t lo = first >= 0 ? 0 : (-first + s - 1) / s, left = in_last - first;
        int64_t hi = left <= 0 ? 0 : (left + s - 1) / s;
        hi = hi < out_last ? hi : out_last;
        span[2 * kx] = (size_t)lo;
        span[2 * kx + 1] = (size_t)(hi > lo ? hi : lo);
    }
}

/* dst row of plane kx: in[o * s + first] - zp over the outputs o whose input is inside */
#define ROW_BODY(T)                                                                                    \
    do {                                                                                               \
        const T *in = (const T *)src;                                                                  \
        for (size_t kx = 0; kx < kw; kx++) {                                                           \
            int16_t *to = row + kx * kx_step;                                                          \
            ptrdiff_t first = (ptrdiff_t)(kx * dil) - (ptrdiff_t)pad; /* input column of o = 0 */      \
            if (s == 1)                                                                                \
                for (size_t o = span[2 * kx]; o < span[2 * kx + 1]; o++)                               \
                    to[o] = (int16_t)(in[(ptrdiff_t)o + first] - zp);                                  \
            else                                                                                       \
                for (size_t o = span[2 * kx]; o < span[2 * kx + 1]; o++)                               \
                    to[o] = (int16_t)(in[(ptrdiff_t)(o * s) + first] - zp);                            \
        }                                                                                              \
    } while (0)

/* One input channel (x: its in_size values) into its planes at dst (targets: row_targets;
 * span: kx_spans). */
static void fill_channel(const plan *p, const size_t *targets, const size_t *span, const void *x, int is_signed,
                         int zp, int16_t *dst)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int last = p->last;
    size_t in_last = (size_t)sh->in[last], rows = sh->in_size / in_last;
    size_t s = (size_t)sh->stride[last], dil = (size_t)sh->dilation[last], pad = (size_t)sh->pad[last];
    size_t kw = (size_t)sh->k[last], kx_step = p->n_phases * p->plane;
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

/* Whether fill_rows serves: stride 1 along the last dim, and plane row r is input row
 * r (the other dims unstrided, unpadded, every input row read). */
static int rows_direct(const plan *p)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int ok = sh->stride[p->last] == 1;
    for (int d = 0; d < p->last; d++)
        ok &= sh->stride[d] == 1 && sh->pad[d] == 0 && p->ext[d] == (size_t)sh->in[d];
    return ok;
}

/* fill_channel when rows_direct: each input row, x - zp, into a row of tmp (tw values,
 * zeros where the last dim is padded), then plane kx's row r is out_last values of tmp
 * row r from kx * dilation, copied 8 at a time. Planes are written in memory order, so
 * the up to 7 values a row's last copy writes past its end land where a later copy
 * (or the buffer's pad) writes: no memset. */
static void fill_rows(const plan *p, const void *x, int is_signed, int zp, int16_t *tmp, size_t tw, int16_t *dst)
{
    const lsc_ort_conv_shape *sh = p->sh;
    int last = p->last;
    size_t in_last = (size_t)sh->in[last], rows = sh->in_size / in_last, out_last = (size_t)sh->out[last];
    size_t pad = (size_t)sh->pad[last], dil = (size_t)sh->dilation[last];
    size_t n = in_last < p->ext_last - pad ? in_last : p->ext_last - pad;
    for (size_t r = 0; r < rows; r++) {
        int16_t *t = tmp + r * tw + pad;
        if (is_signed)
            for (size_t j = 0; j < n; j++)
                t[j] = (int16_t)(((const int8_t *)x)[r * in_last + j] - zp);
        else
            for (size_t j = 0; j < n; j++)
                t[j] = (int16_t)(((const uint8_t *)x)[r * in_last + j] - zp);
    }
    for (size_t kx = 0; kx < (size_t)sh->k[last]; kx++)
        for (size_t r = 0; r < rows; r++) {
            int16_t *to = dst + kx * p->plane + r * out_last;
            const int16_t *from = tmp + r * tw + kx * dil;
            for (size_t o = 0; o < out_last; o += 8)
                memcpy(to + o, from + o, 8 * sizeof *to);
        }
}

/* Column of the first output of each output row (all dims but the last). */
static void row_columns(const plan *p, size_t *cols)
{
    const lsc_ort_conv_shape *sh = p->sh;
    size_t rows = sh->out_size / (size_t)sh->out[p->last];
    for (size_t r = 0; r < rows; r++) {
        size_t q = r, col = 0;
        for (int d = p->last - 1; d >= 0; d--) {
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
    size_t kw = (size_t)sh.k[sh.spatial - 1];
    size_t n_offs = sh.cg * sh.k_size, n_cols = (copy_out ? out_rows : 0) + in_rows + 2 * kw;
    int direct = rows_direct(&p);
    size_t tw = p.ext_last + 8, tmp_count = 0;
    if (direct && (lsc_ort_mul_overflow(in_rows, tw, &tmp_count) || tmp_count > SIZE_MAX / 2))
        return lsc_ort_fail(k->api, k, ORT_FAIL, "padded input rows of %zu values are too large", tw);
    int16_t *tmp = direct ? lsc_ort_small_alloc(call, tmp_count * sizeof *tmp) : NULL;
    int16_t *buf = lsc_ort_small_alloc(call, buf_count * sizeof *buf);
    int32_t *scratch = copy_out ? lsc_ort_small_alloc(call, scratch_count * sizeof *scratch) : NULL;
    size_t *offs = lsc_ort_small_alloc(call, (n_offs + n_cols) * sizeof *offs);
    lsc_status st = LSC_OK;
    lsc_error error = { 0 };
    if (!buf || (copy_out && !scratch) || !offs || (direct && !tmp))
        s = lsc_ort_fail(k->api, k, ORT_FAIL, "out of memory for a padded input of %zu values", buf_count);
    if (!s) {
        window_offsets(&p, offs);
        row_targets(&p, offs + n_offs);
        kx_spans(&p, offs + n_offs + in_rows);
        if (copy_out)
            row_columns(&p, offs + n_offs + in_rows + 2 * kw);
        memset(buf + buf_count - LSC_CONV_INT8_PAD, 0, LSC_CONV_INT8_PAD * sizeof *buf);
        if (direct)
            memset(tmp, 0, tmp_count * sizeof *tmp);
    }
    for (size_t img = 0; !s && st == LSC_OK && img < sh.n; img++) {
        for (size_t c = 0; c < sh.c; c++)
            if (direct)
                fill_rows(&p, (const char *)x + (img * sh.c + c) * sh.in_size, is_signed, x_zp, tmp, tw,
                          buf + c * p.channel);
            else
                fill_channel(&p, offs + n_offs, offs + n_offs + in_rows,
                             (const char *)x + (img * sh.c + c) * sh.in_size, is_signed, x_zp, buf + c * p.channel);
        int32_t *yi = sink ? NULL : y + img * sh.m * sh.out_size;
        st = lsc_conv_int8(call->weight, buf, offs, p.n1, (uint32_t)sh.group, sh.cg * p.channel,
                           copy_out ? scratch : yi, copy_out ? p.n1 : sh.out_size, &call->exec, &error);
        const size_t *cols = offs + n_offs + in_rows + 2 * kw;
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
    if (tmp)
        lsc_ort_small_free(call, tmp, tmp_count * sizeof *tmp);
    if (scratch)
        lsc_ort_small_free(call, scratch, scratch_count * sizeof *scratch);
    lsc_ort_small_free(call, offs, (n_offs + n_cols) * sizeof *offs);
    return s ? s : lsc_ort_status(call, st, &error);
}
