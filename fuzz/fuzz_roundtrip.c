/* Encoder round trip: a tensor built from the fuzz bytes (type, shape, density,
 * options, values) is encoded, checked to decode to exactly the input (zeros as +0.0
 * unless bit_exact), encoded a second time to the same bytes (determinism), planned
 * to the same stats, and, when its values are small integers, multiplied by lsc_spmm
 * with a result that must equal the exact integer product.
 * Input: 8 header bytes (see below), then element bytes, reused cyclically. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "onnx-lsc/lsc.h"

static const int dtypes[4] = {LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT16, LSC_DTYPE_FLOAT64,
                              LSC_DTYPE_BFLOAT16};

/* The bit pattern of small integer v in dtype, little-endian into p. */
static void put_int(uint8_t *p, int dtype, int v)
{
    float f = (float)v;
    uint32_t b32;
    memcpy(&b32, &f, 4);
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: memcpy(p, &f, 4); break;
    case LSC_DTYPE_FLOAT64: { double d = v; memcpy(p, &d, 8); break; }
    case LSC_DTYPE_BFLOAT16: p[0] = (uint8_t)(b32 >> 16); p[1] = (uint8_t)(b32 >> 24); break;
    default: { /* float16: |v| <= 8, exact */
        uint16_t h = 0;
        if (v) {
            unsigned a = (unsigned)(v < 0 ? -v : v), e = 0;
            while ((1u << (e + 1)) <= a)
                e++;
            h = (uint16_t)(((e + 15) << 10) | ((a << 10 >> e) & 1023));
            if (v < 0)
                h |= 0x8000;
        }
        p[0] = (uint8_t)h;
        p[1] = (uint8_t)(h >> 8);
    }
    }
}

static int is_zero(const uint8_t *p, size_t es, int keep_sign)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < es; i++)
        bits |= (uint64_t)p[i] << (8 * i);
    uint64_t sign = 1ull << (8 * es - 1);
    return bits == 0 || (!keep_sign && bits == sign);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    /* Header: [0] dtype/rank/flags, [1..3] dims, [4] density, [5] index bits,
     * [6] block shape, [7] integer mode / value source. */
    const int dtype = dtypes[data[0] & 3];
    const int rank = (data[0] >> 2) & 3; /* 0..3 */
    const int bit_exact = (data[0] >> 4) & 1, transposed = (data[0] >> 5) & 1;
    const int force_block = (data[0] >> 6) & 1, int_mode = data[7] & 1;
    lsc_tensor t = {.dtype = (lsc_dtype)dtype, .rank = rank};
    uint64_t elems = 1;
    for (int i = 0; i < rank; i++) {
        t.dims[i] = 1 + data[1 + i] % (i == 0 ? 96 : 40);
        elems *= (uint64_t)t.dims[i];
    }
    if (elems > 8192) /* the full search runs three times: keep inputs fast */
        return 0;
    const size_t es = lsc_dtype_size(dtype);
    const uint8_t *src = data + 8;
    const size_t src_size = size - 8;
    uint8_t *dense = calloc(elems, es);
    const unsigned density = data[4]; /* keep an element when its byte < density */
    for (uint64_t i = 0; i < elems; i++) {
        uint8_t *p = dense + i * es;
        uint8_t sel = src_size ? src[(i * 3) % src_size] : 0;
        if (sel >= density)
            continue;
        if (int_mode) {
            put_int(p, dtype, (int)(sel % 17) - 8);
        } else {
            for (size_t k = 0; k < es; k++)
                p[k] = src_size ? src[(i * es + k + 1) % src_size] : 0xA5;
        }
    }
    lsc_encode_options opt;
    lsc_encode_options_default(&opt);
    opt.bit_exact = bit_exact;
    opt.transposed = transposed;
    opt.index_bits = data[5] % 17; /* 0 = search */
    if (force_block) {
        opt.block_h = 1 + (data[6] & 15);
        opt.block_w = 1 + (data[6] >> 4);
    }
    t.data = dense;

    void *blob = NULL, *blob2 = NULL;
    size_t blob_size = 0, blob2_size = 0;
    lsc_encode_stats st, st2, plan;
    lsc_error err;
    lsc_status s = lsc_encode(&t, &opt, &blob, &blob_size, &st, &err);
    if (s != LSC_OK) {
        /* Only a forced shape larger than the matrix may be refused. */
        if (!force_block || s != LSC_ERR_INVALID_ARGUMENT)
            abort();
        free(dense);
        return 0;
    }
    if (lsc_encode(&t, &opt, &blob2, &blob2_size, &st2, &err) != LSC_OK)
        abort();
    if (blob_size != blob2_size || memcmp(blob, blob2, blob_size) || memcmp(&st, &st2, sizeof st))
        abort(); /* not deterministic */
    if (lsc_encode_plan(&t, &opt, &plan, &err) != LSC_OK || memcmp(&plan, &st, sizeof st))
        abort(); /* the plan disagrees with the encoding */
    if (st.blob_bytes != blob_size)
        abort();

    lsc_weight *w = NULL;
    if (lsc_weight_open(blob, blob_size, "roundtrip", &w, &err) != LSC_OK)
        abort(); /* the decoder refuses what the encoder wrote */
    uint8_t *back = malloc(elems * es);
    if (lsc_weight_decode(w, back, elems * es, &err) != LSC_OK)
        abort();
    for (uint64_t i = 0; i < elems; i++) {
        const uint8_t *a = dense + i * es, *b = back + i * es;
        if (is_zero(a, es, bit_exact)) { /* a zero comes back as +0.0 */
            for (size_t k = 0; k < es; k++)
                if (b[k])
                    abort();
        } else if (memcmp(a, b, es)) {
            abort(); /* a value changed */
        }
    }

    if (int_mode) { /* exact product check: integers, sums far below 2^24 */
        lsc_weight_info in;
        lsc_weight_get_info(w, &in);
        const size_t n = 2;
        float *x = malloc(sizeof(float) * in.cols * n), *y = malloc(sizeof(float) * in.rows * n);
        for (size_t i = 0; i < (size_t)in.cols * n; i++)
            x[i] = (float)((int)(i % 7) - 3);
        lsc_exec exec = {0};
        if (lsc_spmm(w, x, n, n, y, n, 0, 0, &exec, &err) != LSC_OK)
            abort();
        for (uint32_t r = 0; r < in.rows; r++)
            for (size_t j = 0; j < n; j++) {
                double want = 0;
                for (uint32_t c = 0; c < in.cols; c++) {
                    size_t idx = in.transposed ? (size_t)c * in.rows + r : (size_t)r * in.cols + c;
                    want += fuzz_elem_to_double(back, dtype, idx) * x[(size_t)c * n + j];
                }
                if ((double)y[(size_t)r * n + j] != want)
                    abort();
            }
        free(x);
        free(y);
    }
    free(back);
    lsc_weight_close(&w);
    lsc_free(blob);
    lsc_free(blob2);
    free(dense);
    return 0;
}
