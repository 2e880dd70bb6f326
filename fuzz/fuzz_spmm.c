/* Decode then multiply: a fuzzed blob is opened (checksum repaired), decoded to a
 * dense tensor, and multiplied with a small X by lsc_spmm, lsc_spmm_windows (X's
 * rows as windows of one buffer) and lsc_spmm_rows on every
 * kernel variant the CPU has, serially and on a 2-thread pool. The products must
 * agree with a double-precision product of the decoded tensor (when its values are
 * finite and moderate), so a kernel that reads the SRI stream differently from the
 * decoder is found, not only one that crashes. Then the weight's batch-1 form is
 * prepared (lsc_weight_prepare_n1) and lsc_spmm / lsc_spmm_rows run again on it
 * (at n = 1, and at n = 2..64 on its plain kind), then on the other kind of batch-1
 * form (bit-packed or plain, built whatever its size), then lsc_spmm_windows (and
 * lsc_spmm) on the convolution form (lsc_weight_prepare_conv, never larger than the
 * blob); an 8-bit weight's integer form (lsc_weight_prepare_int8) multiplies exactly, as
 * does its integer convolution form (lsc_weight_prepare_conv_int8, lsc_conv_int8).
 * Input: 1 control byte (n, row range), then the blob. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/blob.h"
#include "fuzz_util.h"
#include "kernels/form.h"
#include "onnx-lsc/lsc.h"

#define MAX_ELEMS (1u << 20)

static lsc_pool *shared_pool(void)
{
    static lsc_pool *pool; /* harness state, one per fuzzing process */
    if (!pool) {
        lsc_error err;
        if (lsc_pool_create(2, &pool, &err) != LSC_OK)
            abort();
    }
    return pool;
}

/* W(r, c) of the encoded matrix from the decoded tensor (docs/format.md 1.4). */
static double w_at(const lsc_weight_info *in, const void *dense, uint32_t r, uint32_t c)
{
    size_t i = in->transposed ? (size_t)c * in->rows + r : (size_t)r * in->cols + c;
    return fuzz_elem_to_double(dense, in->dtype, i);
}

static void check_close(double got, double want, double scale)
{
    if (!(fabs(got - want) <= 1e-3 * scale + 1e-5))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    size_t blob_size = size - 1;
    uint8_t *blob = malloc(blob_size ? blob_size : 1);
    if (!blob)
        return 0;
    memcpy(blob, data + 1, blob_size);
    fuzz_fix_blob_checksum(blob, blob_size);

    lsc_weight *w = NULL;
    lsc_error err;
    if (lsc_weight_open(blob, blob_size, "fuzz", &w, &err) != LSC_OK) {
        free(blob);
        return 0;
    }
    lsc_weight_info in;
    lsc_weight_get_info(w, &in);
    uint64_t elems = (uint64_t)in.rows * in.cols;
    if (elems > MAX_ELEMS) {
        lsc_weight_close(&w);
        free(blob);
        return 0;
    }
    size_t esize = lsc_dtype_size(in.dtype);
    size_t dense_size = (size_t)elems * esize;
    void *dense = malloc(dense_size);
    if (lsc_weight_decode(w, dense, dense_size, &err) != LSC_OK)
        abort(); /* an opened weight always decodes */

    /* An 8-bit weight multiplies once dequantized (scale 1: code - zero point); its
     * zero points are not public, so it is checked for safety, not numerically. */
    int tame = esize != 1;
    const float unit_scale = 1.0f;
    if (esize == 1 && lsc_weight_dequantize(w, &unit_scale, 1, &err) != LSC_OK)
        abort();
    for (size_t i = 0; tame && i < elems; i++) {
        double v = fuzz_elem_to_double(dense, in.dtype, i);
        tame = isfinite(v) && fabs(v) <= 1e6;
    }

    /* n = 1, 2, 17 (3 on large matrices) or 300 / 130 (9): 130 past the kernels' large-n
     * threshold (tiles of X and Y, the decoded column buffer), 300 past one windows
     * tile (on AVX-512 the convolution form's copied windows, where a column has 16
     * non-zeros), 2..64 the narrow multiply on a plain batch-1 form (17: a masked
     * 512-bit or a third 256-bit vector, k-blocks past 128 columns) */
    const size_t n = (ctl & 3) == 0   ? 1
                     : (ctl & 3) == 1 ? 2
                     : (ctl & 3) == 2 ? (elems <= 65536 ? 17 : 3)
                                      : (elems <= 2048 ? 300 : elems <= 4096 ? 130 : 9);
    uint32_t rb = 0, re = 0;
    if (ctl & 4) { /* a row range, as Conv groups use */
        rb = (uint32_t)(((ctl >> 3) & 7) % in.rows);
        re = rb + 1 + (uint32_t)((ctl >> 6) % (in.rows - rb));
    }
    float *x = malloc(sizeof(float) * in.cols * n);
    float *y = malloc(sizeof(float) * in.rows * n);
    float *yt = malloc(sizeof(float) * in.rows * n);
    size_t *offs = malloc(sizeof(size_t) * in.cols); /* windows: X's rows, k * n */
    for (size_t k = 0; k < in.cols; k++)
        offs[k] = k * n;
    for (size_t i = 0; i < (size_t)in.cols * n; i++)
        x[i] = (float)((int)(i * 7 % 11) - 5) * 0.25f;

    /* Reference Y = W X over the selected rows, and the scale of each row's sum. */
    uint32_t r0 = re > rb ? rb : 0, r1 = re > rb ? re : in.rows;
    double *ref = calloc((size_t)in.rows * n, sizeof *ref), *mag = calloc(in.rows, sizeof *mag);
    if (tame)
        for (uint32_t r = r0; r < r1; r++)
            for (uint32_t c = 0; c < in.cols; c++) {
                double wv = w_at(&in, dense, r, c);
                if (wv == 0)
                    continue;
                mag[r] += fabs(wv) * 1.25;
                for (size_t j = 0; j < n; j++)
                    ref[(size_t)r * n + j] += wv * x[(size_t)c * n + j];
            }

    const unsigned masks[] = {LSC_CPU_SCALAR, LSC_CPU_AVX2, LSC_CPU_AVX512};
    for (int m = 0; m < 12; m++) {
        if (m == 9) { /* the windowed multiplies on the convolution form */
            size_t conv_bytes = 0, compute_size = 0;
            if (lsc_weight_prepare_conv(w, &conv_bytes, &err) != LSC_OK)
                abort();
            lsc_weight_blob(w, &compute_size);
            if (conv_bytes > compute_size)
                abort();
        }
        if (m == 6) { /* the other kind of form, forced (none past its column limit) */
            lsc_n1_kind other = w->n1_form && w->n1_form->kind == LSC_N1_PLAIN ? LSC_N1_PACKED
                                                                                : LSC_N1_PLAIN;
            lsc_n1_form_free(w->n1_form);
            w->n1_form = NULL;
            if (lsc_n1_form_build(&w->view, 0, other, &w->n1_form, &err) != LSC_OK)
                abort();
        }
        if (m == 3) { /* the same multiplies through the batch-1 form */
            size_t form_bytes = 0;
            if (lsc_weight_prepare_n1(w, &form_bytes, &err) != LSC_OK)
                abort();
            size_t compute_size = 0;
            lsc_weight_blob(w, &compute_size);
            if (form_bytes > compute_size)
                abort(); /* never larger than the compute-tier blob it comes from */
        }
        if (masks[m % 3] != LSC_CPU_SCALAR && !(lsc_cpu_flags() & masks[m % 3]))
            continue;
        for (int pooled = 0; pooled < 2; pooled++) {
            lsc_exec exec = {.pool = pooled ? shared_pool() : NULL, .cpu_mask = masks[m % 3]};
            for (int windows = 0; windows < 2; windows++) {
                lsc_status st = windows
                                    ? lsc_spmm_windows(w, x, offs, n, y, n, rb, re, &exec, &err)
                                    : lsc_spmm(w, x, n, n, y, n, rb, re, &exec, &err);
                if (st != LSC_OK)
                    abort();
                if (tame)
                    for (uint32_t r = r0; r < r1; r++)
                        for (size_t j = 0; j < n; j++)
                            check_close(y[(size_t)r * n + j], ref[(size_t)r * n + j], mag[r]);
            }
            /* Rows form: X is n x cols, Y is n x rows (whole matrix). */
            if (re == 0) {
                float *xt = malloc(sizeof(float) * in.cols * n);
                for (size_t k = 0; k < in.cols; k++)
                    for (size_t j = 0; j < n; j++)
                        xt[j * in.cols + k] = x[k * n + j];
                if (lsc_spmm_rows(w, xt, in.cols, n, yt, in.rows, &exec, &err) != LSC_OK)
                    abort();
                if (tame)
                    for (uint32_t r = 0; r < in.rows; r++)
                        for (size_t j = 0; j < n; j++)
                            check_close(yt[j * in.rows + r], ref[(size_t)r * n + j], mag[r]);
                free(xt);
            }
        }
    }
    /* An 8-bit weight's integer form (lsc_weight_prepare_int8): lsc_spmv_int8 equal on
     * every variant and exec to the scalar one, and to the float product of code -
     * zero point (scale 1) wherever that is exact (|x| <= 5 times the largest row L1
     * norm within 2^24). */
    if (esize == 1) {
        size_t int8_bytes = 0;
        if (lsc_weight_prepare_int8(w, &int8_bytes, &err) != LSC_OK || int8_bytes == 0)
            abort();
        int32_t *xi = malloc(sizeof(int32_t) * in.cols), *yi = malloc(sizeof(int32_t) * in.rows);
        int32_t *y0 = malloc(sizeof(int32_t) * in.rows);
        for (size_t k = 0; k < in.cols; k++) {
            xi[k] = (int)(k * 7 % 11) - 5;
            x[k] = (float)xi[k];
        }
        lsc_exec serial = {.cpu_mask = LSC_CPU_SCALAR};
        if (lsc_spmv_int8(w, xi, y0, &serial, &err) != LSC_OK)
            abort();
        if (lsc_weight_row_l1_max(w) * 5 <= 16777216.0) {
            if (lsc_spmm_rows(w, x, in.cols, 1, yt, in.rows, &serial, &err) != LSC_OK)
                abort();
            for (uint32_t r = 0; r < in.rows; r++)
                if ((int32_t)yt[r] != y0[r])
                    abort();
        }
        for (int m = 0; m < 6; m++) {
            if (masks[m % 3] != LSC_CPU_SCALAR && !(lsc_cpu_flags() & masks[m % 3]))
                continue;
            lsc_exec exec = {.pool = m >= 3 ? shared_pool() : NULL, .cpu_mask = masks[m % 3]};
            if (lsc_spmv_int8(w, xi, yi, &exec, &err) != LSC_OK ||
                memcmp(yi, y0, sizeof(int32_t) * in.rows) != 0)
                abort();
        }
        free(xi);
        free(yi);
        free(y0);
    }
    /* Its integer convolution form (lsc_weight_prepare_conv_int8, never larger than the
     * blob): lsc_conv_int8 as a 1-D convolution of kernel width cols (x_offsets[k] = k)
     * over nc output columns, in one group or two, the same int32 on every variant and
     * exec, and column j equal to lsc_spmv_int8 of the window at j. */
    size_t conv_bytes = 0;
    if (esize == 1 && lsc_weight_prepare_conv_int8(w, &conv_bytes, &err) != LSC_OK)
        abort();
    if (esize == 1 && conv_bytes > 0) {
        size_t blob_bytes = 0;
        lsc_weight_blob(w, &blob_bytes);
        if (conv_bytes > blob_bytes)
            abort();
        size_t nc = (size_t)(ctl & 31) + 1;
        uint32_t groups = in.rows % 2 == 0 && (ctl & 32) ? 2 : 1;
        size_t stride = in.cols + nc + 7, span = stride * groups + LSC_CONV_INT8_PAD;
        int16_t *xb = malloc(span * sizeof *xb);
        size_t *xo = malloc(sizeof(size_t) * (in.cols ? in.cols : 1));
        int32_t *yc = malloc(sizeof(int32_t) * in.rows * nc), *yc0 = malloc(sizeof(int32_t) * in.rows * nc);
        int32_t *xw = malloc(sizeof(int32_t) * (in.cols ? in.cols : 1)), *yw = malloc(sizeof(int32_t) * in.rows);
        if (!xb || !xo || !yc || !yc0 || !xw || !yw)
            abort();
        for (size_t i = 0; i < span; i++)
            xb[i] = (int16_t)((int)(i * 37 % 511) - 255);
        for (size_t k = 0; k < in.cols; k++)
            xo[k] = k;
        lsc_exec serial = {.cpu_mask = LSC_CPU_SCALAR};
        if (lsc_conv_int8(w, xb, xo, nc, groups, stride, yc0, nc, &serial, &err) != LSC_OK)
            abort();
        for (size_t j = 0; j < nc; j++)
            for (uint32_t g = 0; g < groups; g++) {
                for (size_t k = 0; k < in.cols; k++)
                    xw[k] = xb[g * stride + k + j];
                if (lsc_spmv_int8(w, xw, yw, &serial, &err) != LSC_OK)
                    abort();
                for (uint32_t r = g * (in.rows / groups); r < (g + 1) * (in.rows / groups); r++)
                    if (yw[r] != yc0[(size_t)r * nc + j])
                        abort();
            }
        const unsigned conv_masks[] = {LSC_CPU_SCALAR, LSC_CPU_AVX2, LSC_CPU_AVX512};
        for (int m = 0; m < 6; m++) {
            if (conv_masks[m % 3] != LSC_CPU_SCALAR && !(lsc_cpu_flags() & conv_masks[m % 3]))
                continue;
            lsc_exec exec = {.pool = m >= 3 ? shared_pool() : NULL, .cpu_mask = conv_masks[m % 3]};
            if (lsc_conv_int8(w, xb, xo, nc, groups, stride, yc, nc, &exec, &err) != LSC_OK ||
                memcmp(yc, yc0, sizeof(int32_t) * in.rows * nc) != 0)
                abort();
        }
        free(xb);
        free(xo);
        free(yc);
        free(yc0);
        free(xw);
        free(yw);
    }
    free(ref);
    free(mag);
    free(offs);
    free(x);
    free(y);
    free(yt);
    free(dense);
    lsc_weight_close(&w);
    free(blob);
    return 0;
}
