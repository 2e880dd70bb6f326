/* The integer direct-convolution form (lsc_weight_prepare_conv_int8, lsc_conv_int8) of
 * 8-bit Conv weights: int8 and uint8 codes and inputs, zero points 0, 128 and random
 * (w up to +-255), strides (phase planes), pads, dilations, groups, 1x1, 3x3, 5x5 and
 * 1x7 kernels, odd output widths, channel counts that are no multiple of a vector, empty
 * rows and gaps past the widest code (jumps). Every variant (scalar, AVX2, AVX-512 VNNI)
 * and exec (serial, pool) against the convolution's definition on x - x_zero_point at
 * the output positions, and against the windows' product in uint32 on every column
 * (any int16 x: sums that wrap modulo 2^32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec/blob.h"
#include "common/cpu.h"
#include "kernels/conv_int8.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    return xorshift64(&state);
}

static const struct {
    const char *name;
    unsigned mask;
} variants[] = { { "scalar", LSC_CPU_SCALAR }, { "avx2", LSC_CPU_AVX2 }, { "avx512 vnni", LSC_CPU_AVX512 } };

typedef struct geom {
    uint32_t c, m, g, h, w, kh, kw, sy, sx, dy, dx, pt, pl, pb, pr;
} geom;

static int forms, no_forms, vnni_runs, wrapped;

/* w for row r, column k of the codes */
static int w_of(lsc_dtype dt, const uint8_t *codes, const uint8_t *zp, uint32_t r, uint32_t cols, uint32_t k)
{
    uint8_t c = codes[(size_t)r * cols + k];
    return dt == LSC_DTYPE_INT8 ? (int8_t)c - (int8_t)zp[r] : c - zp[r];
}

static void run_case(lsc_dtype dt, const geom *q, double density, int zp_kind, lsc_pool *pool)
{
    uint32_t cg = q->c / q->g, k_size = q->kh * q->kw, cols = cg * k_size;
    uint32_t eh = q->h + q->pt + q->pb, ew = q->w + q->pl + q->pr;
    uint32_t dkh = (q->kh - 1) * q->dy + 1, dkw = (q->kw - 1) * q->dx + 1;
    uint32_t oh = (eh - dkh) / q->sy + 1, ow = (ew - dkw) / q->sx + 1;
    /* phase planes: every (py, px) of the strides, span x span_w values each */
    uint32_t span_h = (eh + q->sy - 1) / q->sy, span_w = (ew + q->sx - 1) / q->sx;
    size_t plane = (size_t)span_h * span_w, channel = plane * q->sy * q->sx;
    size_t n = (size_t)(oh - 1) * span_w + ow;
    char what[200];
    snprintf(what, sizeof what, "dtype %d c %u m %u g %u %ux%u k %ux%u s %u,%u d %u,%u p %u,%u,%u,%u dens %g zp %d",
             dt, q->c, q->m, q->g, q->h, q->w, q->kh, q->kw, q->sy, q->sx, q->dy, q->dx, q->pt, q->pl, q->pb, q->pr,
             density, zp_kind);
    uint8_t *codes = malloc((size_t)q->m * cols), *zp = malloc(q->m);
    uint8_t *xin = malloc((size_t)q->c * q->h * q->w);
    int16_t *buf = calloc((size_t)q->c * channel + LSC_CONV_INT8_PAD, sizeof *buf);
    size_t *offs = malloc((size_t)cols * sizeof *offs);
    int32_t *y = malloc((size_t)q->m * n * sizeof *y), *y0 = malloc((size_t)q->m * n * sizeof *y0);
    if (!codes || !zp || !xin || !buf || !offs || !y || !y0)
        abort();
    for (uint32_t r = 0; r < q->m; r++) {
        zp[r] = zp_kind == 0 ? 0 : zp_kind == 1 ? 128 : (uint8_t)(rnd() % 256);
        double dr = r % 5 == 3 ? 0 : density; /* empty rows */
        for (uint32_t k = 0; k < cols; k++) {
            uint8_t v = (uint8_t)(rnd() % 256);
            codes[(size_t)r * cols + k] = xorshift64_unit(&state) < dr && v != zp[r] ? v : zp[r];
        }
    }
    lsc_tensor t = { .dtype = dt, .rank = 4, .dims = { q->m, cg, q->kh, q->kw }, .data = codes };
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.zero_points = zp;
    void *blob = NULL;
    size_t size = 0, bytes = 0, again = 1;
    lsc_error err = { 0 };
    lsc_weight *wt = NULL;
    CHECKF(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK && blob, "%s: %s", what, err.message);
    CHECKF(blob && lsc_weight_open(blob, size, "w", &wt, &err) == LSC_OK, "%s: open: %s", what, err.message);
    if (!wt)
        goto done;
    CHECKF(lsc_conv_int8(wt, buf, offs, n, q->g, cg * channel, y, n, NULL, &err) == LSC_ERR_INVALID_ARGUMENT,
           "%s: unprepared", what);
    CHECKF(lsc_weight_prepare_conv_int8(wt, &bytes, &err) == LSC_OK, "%s: prepare: %s", what, err.message);
    CHECKF(lsc_weight_prepare_conv_int8(wt, &again, &err) == LSC_OK && again == bytes, "%s: twice", what);
    CHECKF(bytes <= size, "%s: form %zu bytes, blob %zu", what, bytes, size);
    if (!bytes) {
        no_forms++;
        goto done;
    }
    forms++;
    /* x - x_zero_point into the phase planes, padding 0 (x = x_zero_point) */
    int xzp = zp_kind == 2 ? (int)(rnd() % 256) : zp_kind == 1 ? 128 : 0;
    if (dt == LSC_DTYPE_INT8)
        xzp -= 128;
    for (size_t i = 0; i < (size_t)q->c * q->h * q->w; i++)
        xin[i] = (uint8_t)(rnd() % 256);
    for (uint32_t ci = 0; ci < q->c; ci++)
        for (uint32_t i = 0; i < q->h; i++)
            for (uint32_t j = 0; j < q->w; j++) {
                uint32_t a = i + q->pt, b = j + q->pl;
                if (a >= eh || b >= ew)
                    continue;
                uint8_t v = xin[((size_t)ci * q->h + i) * q->w + j];
                int xv = dt == LSC_DTYPE_INT8 ? (int8_t)v : v;
                buf[ci * channel + ((size_t)(a % q->sy) * q->sx + b % q->sx) * plane + (size_t)(a / q->sy) * span_w +
                    b / q->sx] = (int16_t)(xv - xzp);
            }
    for (uint32_t ci = 0; ci < cg; ci++)
        for (uint32_t ky = 0; ky < q->kh; ky++)
            for (uint32_t kx = 0; kx < q->kw; kx++) {
                uint32_t ty = ky * q->dy, tx = kx * q->dx;
                offs[(ci * q->kh + ky) * q->kw + kx] = ci * channel +
                                                        ((size_t)(ty % q->sy) * q->sx + tx % q->sx) * plane +
                                                        (size_t)(ty / q->sy) * span_w + tx / q->sx;
            }
    for (int pass = 0; pass < 3; pass++) {
        /* any int16 in the windows, then the largest: products up to 2^23, sums that wrap */
        for (size_t i = 0; pass > 0 && i < (size_t)q->c * channel; i++)
            buf[i] = pass == 1 ? (int16_t)(uint16_t)rnd() : 32767;
        /* the windows' product in uint32, every column */
        int any_wrap = 0;
        for (uint32_t r = 0; r < q->m; r++) {
            const int16_t *xg = buf + (size_t)(r / (q->m / q->g)) * cg * channel;
            for (size_t j = 0; j < n; j++) {
                uint32_t acc = 0;
                int64_t exact = 0;
                for (uint32_t k = 0; k < cols; k++) {
                    int w = w_of(dt, codes, zp, r, cols, k);
                    acc += (uint32_t)w * (uint32_t)(int32_t)xg[offs[k] + j];
                    exact += (int64_t)w * xg[offs[k] + j];
                }
                y0[(size_t)r * n + j] = (int32_t)acc;
                any_wrap |= exact != (int32_t)acc;
            }
        }
        wrapped += any_wrap;
        if (pass == 0) /* the convolution's definition at the output positions */
            for (uint32_t r = 0; r < q->m; r++)
                for (uint32_t oy = 0; oy < oh; oy++)
                    for (uint32_t ox = 0; ox < ow; ox++) {
                        int64_t s = 0;
                        uint32_t g = r / (q->m / q->g);
                        for (uint32_t ci = 0; ci < cg; ci++)
                            for (uint32_t ky = 0; ky < q->kh; ky++)
                                for (uint32_t kx = 0; kx < q->kw; kx++) {
                                    int64_t i = (int64_t)oy * q->sy + ky * q->dy - q->pt;
                                    int64_t j = (int64_t)ox * q->sx + kx * q->dx - q->pl;
                                    if (i < 0 || j < 0 || i >= q->h || j >= q->w)
                                        continue;
                                    uint8_t v = xin[(((size_t)g * cg + ci) * q->h + (size_t)i) * q->w + (size_t)j];
                                    int xv = (dt == LSC_DTYPE_INT8 ? (int8_t)v : v) - xzp;
                                    s += (int64_t)w_of(dt, codes, zp, r, cols, (ci * q->kh + ky) * q->kw + kx) * xv;
                                }
                        CHECKF(y0[(size_t)r * n + (size_t)oy * span_w + ox] == (int32_t)s,
                               "%s: windows' layout at row %u (%u, %u)", what, r, oy, ox);
                    }
        for (size_t vi = 0; vi < sizeof variants / sizeof variants[0]; vi++) {
            if (!(lsc_cpu_flags() & variants[vi].mask))
                continue;
            vnni_runs += variants[vi].mask == LSC_CPU_AVX512 && lsc_conv_int8_have_vnni(lsc_cpu_flags());
            for (int e = 0; e < 2; e++) {
                lsc_exec exec = { .pool = e ? pool : NULL, .cpu_mask = variants[vi].mask };
                memset(y, 0x5a, (size_t)q->m * n * sizeof *y);
                CHECKF(lsc_conv_int8(wt, buf, offs, n, q->g, cg * channel, y, n, &exec, &err) == LSC_OK, "%s: %s",
                       what, err.message);
                CHECKF(memcmp(y, y0, (size_t)q->m * n * sizeof *y) == 0, "%s: %s exec %d pass %d", what,
                       variants[vi].name, e, pass);
            }
        }
    }
done:
    lsc_weight_close(&wt);
    lsc_free(blob);
    free(codes);
    free(zp);
    free(xin);
    free(buf);
    free(offs);
    free(y);
    free(y0);
}

int main(void)
{
    lsc_pool *pool = NULL;
    lsc_error err = { 0 };
    CHECK(lsc_pool_create(2, &pool, &err) == LSC_OK);
    const geom shapes[] = {
        /* c   m  g   h   w kh kw sy sx dy dx pt pl pb pr */
        { 1, 6, 1, 28, 28, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2 },      /* LeNet's conv1, padded */
        { 20, 50, 1, 12, 12, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0 },    /* LeNet's conv2 */
        { 7, 9, 1, 11, 13, 3, 3, 2, 2, 1, 1, 1, 0, 1, 2 },      /* strides, uneven pads, odd widths */
        { 5, 3, 1, 13, 9, 3, 3, 1, 1, 2, 2, 0, 0, 0, 0 },       /* dilation */
        { 8, 6, 2, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },        /* groups */
        { 6, 6, 6, 9, 9, 3, 3, 1, 2, 1, 1, 1, 1, 1, 1 },        /* depthwise, stride in x only */
        { 33, 17, 1, 5, 6, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 },      /* 1x1 */
        { 3, 5, 1, 9, 40, 1, 7, 1, 3, 1, 2, 0, 3, 0, 3 },       /* 1x7, stride 3, dilation 2 */
        { 72, 9, 1, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },       /* 648 columns: jumps of every width */
    };
    const double densities[] = { 0.01, 0.12, 0.6 };
    for (int ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (size_t di = 0; di < sizeof densities / sizeof densities[0]; di++)
                run_case(ti ? LSC_DTYPE_UINT8 : LSC_DTYPE_INT8, &shapes[si], densities[di], (int)(si + di) % 3,
                         pool);
    const geom wide = { 200, 4, 1, 6, 6, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0 }; /* rows summing past 2^31 / 32767 */
    run_case(LSC_DTYPE_UINT8, &wide, 0.9, 0, pool);
    /* a float weight has no integer convolution form */
    float wf[4] = { 0, 1, 0, 2 };
    lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = { 2, 2 }, .data = wf };
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    void *blob = NULL;
    size_t size = 0, bytes = 1;
    lsc_weight *w = NULL;
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    CHECK(blob && lsc_weight_open(blob, size, "f", &w, &err) == LSC_OK);
    CHECK(w && lsc_weight_prepare_conv_int8(w, &bytes, &err) == LSC_OK && bytes == 0);
    lsc_weight_close(&w);
    lsc_free(blob);
    CHECK(lsc_weight_prepare_conv_int8(NULL, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECKF(forms >= 45 && wrapped > 0 && (!lsc_conv_int8_have_vnni(lsc_cpu_flags()) || vnni_runs > 0),
           "forms %d (none: %d), wrapping cases %d, vnni runs %d", forms, no_forms, wrapped, vnni_runs);
    printf("conv forms: %d built, %d larger than their blob (none built); %d cases wrap modulo 2^32; "
           "vnni runs %d\n", forms, no_forms, wrapped, vnni_runs);
    lsc_pool_free(&pool);
    return check_exit();
}
