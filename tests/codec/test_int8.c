/* 8-bit weights (docs/format.md 1.9): int8 and uint8 tensors with per-row zero points,
 * both orientations, searched and forced encodings. Checks that only elements other
 * than their row's zero point are stored, that decode and fill give back every byte,
 * that the dequantized multiply equals scale * (code - zero point) times X computed
 * densely, that a multiply without scales and a blob breaking the 8-bit rules are
 * refused, and that the entropy tier keeps such a blob as it is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "check.h"
#include "codec/blob.h"
#include "onnx-lsc/lsc.h"
#include "rng.h"

static uint64_t state = 88172645463325252ull;
static uint64_t rnd(void)
{
    return xorshift64(&state);
}

static void run_case(lsc_dtype dtype, uint32_t d0, uint32_t d1, int transposed, double density,
                     int zero_points_kind, uint32_t force_bh)
{
    uint32_t rows = transposed ? d1 : d0, cols = transposed ? d0 : d1;
    uint64_t n = (uint64_t)d0 * d1;
    uint8_t *data = malloc(n), *out = malloc(n), *zp = malloc(rows);
    for (uint32_t r = 0; r < rows; r++)
        zp[r] = zero_points_kind == 0 ? 0 : zero_points_kind == 1 ? 128 : (uint8_t)(rnd() % 256);
    uint64_t expect_nnz = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t r = (uint32_t)(transposed ? i % d1 : i / d1);
        uint8_t z = zp[r];
        data[i] = z;
        if ((double)(rnd() % 1000000) / 1e6 < density) {
            data[i] = (uint8_t)(rnd() % 256);
            expect_nnz += data[i] != z;
        }
    }
    lsc_tensor t = {.dtype = dtype, .rank = 2, .dims = {d0, d1}, .data = data};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    o.zero_points = zp;
    if (force_bh) {
        o.block_h = force_bh;
        o.block_w = 1;
        o.index_bits = 3;
    }
    char what[160];
    snprintf(what, sizeof what, "dtype %d %ux%u tr %d density %g zp %d bh %u", dtype, d0, d1, transposed,
             density, zero_points_kind, force_bh);
    void *blob = NULL;
    size_t size = 0;
    lsc_encode_stats st;
    lsc_error err = {0};
    CHECKF(lsc_encode(&t, &o, &blob, &size, &st, &err) == LSC_OK, "%s: %s", what, err.message);
    if (!blob)
        goto done;
    CHECKF(st.nnz == expect_nnz, "%s: %llu values, expected %llu", what, (unsigned long long)st.nnz,
           (unsigned long long)expect_nnz);
    CHECKF(st.value_bytes == st.nnz && st.dense_bytes == n, "%s: 8-bit byte counts", what);
    lsc_weight *w = NULL;
    CHECKF(lsc_weight_open(blob, size, what, &w, &err) == LSC_OK, "%s: open: %s", what, err.message);
    if (!w)
        goto done;
    memset(out, 0xAB, n);
    CHECKF(lsc_weight_decode(w, out, n, &err) == LSC_OK, "%s: decode: %s", what, err.message);
    CHECKF(memcmp(out, data, n) == 0, "%s: decode differs", what);
    memset(out, 0, n);
    CHECKF(lsc_weight_fill(w, out, n, NULL, &err) == LSC_OK && memcmp(out, data, n) == 0,
           "%s: fill differs", what);

    /* Multiply: refused without scales, then equal to the dense dequantized product. */
    float *x = malloc(cols * sizeof *x), *y = malloc(rows * sizeof *y), *scales = malloc(rows * sizeof *scales);
    for (uint32_t c = 0; c < cols; c++)
        x[c] = (float)((int)(rnd() % 2001) - 1000) / 512.0f;
    for (uint32_t r = 0; r < rows; r++)
        scales[r] = (float)(1 + rnd() % 100) / 1024.0f;
    CHECKF(lsc_spmm(w, x, 1, 1, y, 1, 0, 0, NULL, &err) == LSC_ERR_INVALID_ARGUMENT,
           "%s: multiply without scales accepted", what);
    size_t n_scales = (rnd() & 1) ? rows : 1;
    CHECKF(lsc_weight_dequantize(w, scales, n_scales, &err) == LSC_OK, "%s: dequantize: %s", what, err.message);
    CHECKF(lsc_weight_dequantize(w, scales, rows + 1, &err) == LSC_ERR_INVALID_ARGUMENT,
           "%s: wrong scale count accepted", what);
    CHECKF(lsc_spmm(w, x, 1, 1, y, 1, 0, 0, NULL, &err) == LSC_OK, "%s: spmm: %s", what, err.message);
    for (uint32_t r = 0; r < rows; r++) {
        double ref = 0;
        for (uint32_t c = 0; c < cols; c++) {
            uint64_t i = transposed ? (uint64_t)c * d1 + r : (uint64_t)r * d1 + c;
            int q = dtype == LSC_DTYPE_INT8 ? (int8_t)data[i] - (int8_t)zp[r] : data[i] - zp[r];
            ref += (double)((float)q * scales[n_scales == 1 ? 0 : r]) * x[c];
        }
        CHECKF(fabs(y[r] - ref) <= 1e-4 * (1 + fabs(ref)), "%s: row %u: %g, dense %g", what, r, y[r], ref);
    }
    free(x);
    free(y);
    free(scales);
    lsc_weight_close(&w);

    /* The entropy tier codes 8-bit blobs too and opens to the very same blob. */
    void *ent = NULL;
    size_t ent_size = 0;
    CHECKF(lsc_entropy_encode(blob, size, &ent, &ent_size, &err) == LSC_OK, "%s: entropy: %s", what, err.message);
    if (lsc_weight_open(ent, ent_size, "e", &w, &err) == LSC_OK) {
        size_t back_size = 0;
        const void *back = lsc_weight_blob(w, &back_size);
        CHECKF(back_size == size && memcmp(back, blob, size) == 0, "%s: entropy blob opens to another blob", what);
        lsc_weight_close(&w);
    } else {
        CHECKF(0, "%s: entropy blob does not open: %s", what, err.message);
    }
    lsc_free(ent);
done:
    lsc_free(blob);
    free(data);
    free(out);
    free(zp);
}

/* A blob that breaks an 8-bit rule, resealed with a fresh checksum, is refused. */
static void check_rejects(void)
{
    uint8_t data[64], zp[8];
    for (int r = 0; r < 8; r++)
        zp[r] = (uint8_t)(100 + r);
    for (int i = 0; i < 64; i++)
        data[i] = (i % 5 == 0) ? (uint8_t)(i + 1) : zp[i / 8];
    lsc_tensor t = {.dtype = LSC_DTYPE_UINT8, .rank = 2, .dims = {8, 8}, .data = data};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.zero_points = zp;
    void *blob = NULL;
    size_t size = 0;
    lsc_error err = {0};
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    uint8_t *copy = malloc(size);
    lsc_blob_view v;
    /* SIGNED_ZEROS on an 8-bit weight */
    memcpy(copy, blob, size);
    copy[7] |= LSC_BLOB_FLAG_SIGNED_ZEROS;
    lsc_store_le64(copy + 8, lsc_blob_checksum(copy, size));
    CHECK(lsc_blob_parse(copy, size, "t", &v, &err) == LSC_ERR_BAD_BUNDLE);
    CHECKF(strstr(err.message, "8-bit"), "message: %s", err.message);
    /* a stored value equal to its zero point (delta 0) */
    memcpy(copy, blob, size);
    copy[LSC_BLOB_FIXED_HEADER + 16] = 0;
    lsc_store_le64(copy + 8, lsc_blob_checksum(copy, size));
    CHECK(lsc_blob_parse(copy, size, "t", &v, &err) == LSC_ERR_BAD_BUNDLE);
    /* one byte short: the zero points are part of the size */
    CHECK(lsc_blob_parse(blob, size - 1, "t", &v, &err) == LSC_ERR_BAD_BUNDLE);
    /* zero points for a float tensor */
    float f[4] = {1, 0, 0, 2};
    lsc_tensor tf = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {2, 2}, .data = f};
    void *b2 = NULL;
    CHECK(lsc_encode(&tf, &o, &b2, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    free(copy);
    lsc_free(blob);
}

int main(void)
{
    const lsc_dtype types[2] = {LSC_DTYPE_INT8, LSC_DTYPE_UINT8};
    const double densities[4] = {0.0, 0.014, 0.1, 1.0};
    for (int ti = 0; ti < 2; ti++)
        for (int tr = 0; tr < 2; tr++)
            for (int di = 0; di < 4; di++)
                for (int zk = 0; zk < 3; zk++) {
                    run_case(types[ti], 37, 150, tr, densities[di], zk, 0);
                    run_case(types[ti], 6, 25, tr, densities[di], zk, 4);
                    run_case(types[ti], 1, 1, tr, densities[di], zk, 0);
                }
    run_case(LSC_DTYPE_INT8, 500, 800, 1, 0.014, 0, 0);
    check_rejects();
    return check_exit();
}
