/* Hostile blobs: every single-byte change of small valid blobs must be rejected
 * (the checksum sees it); with the checksum recomputed, the structural checks must
 * still never crash and never accept a blob the decoder cannot walk; every
 * truncation is rejected; random headers with a valid checksum do no harm. */
#include <stdio.h>
#include <xxhash.h>

#include "check.h"
#include "codec/blob.h"
#include "codec_util.h"

static void fix_checksum(uint8_t *b, size_t size)
{
    memset(b + 8, 0, 8);
    uint64_t h = XXH64(b, size, 0);
    for (int i = 0; i < 8; i++)
        b[8 + i] = (uint8_t)(h >> (8 * i));
}

/* Opens (and, if accepted, decodes) bytes; returns the status. */
static lsc_status try_open(const uint8_t *bytes, size_t size)
{
    /* A private copy of exactly `size` bytes so that ASan sees any overread. */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, bytes, size);
    lsc_weight *w = NULL;
    lsc_error err;
    lsc_status st = lsc_weight_open(copy, size, "corrupt", &w, &err);
    if (st == LSC_OK) {
        lsc_weight_info info;
        lsc_weight_get_info(w, &info);
        size_t n = (size_t)info.rows * info.cols * lsc_dtype_size((int)info.dtype);
        void *dst = malloc(n);
        CHECK(lsc_weight_decode(w, dst, n, &err) == LSC_OK);
        free(dst);
        lsc_weight_close(&w);
    } else {
        CHECK(w == NULL);
        CHECK(err.status == st && err.message[0]);
    }
    free(copy);
    return st;
}

static void attack(const lsc_tensor *t, const lsc_encode_options *o, const char *label)
{
    void *blob;
    size_t size;
    lsc_error err;
    if (lsc_encode(t, o, &blob, &size, NULL, &err) != LSC_OK) {
        CHECKF(0, "%s: %s", label, err.message);
        return;
    }
    uint8_t *b = malloc(size);
    CHECK(try_open(blob, size) == LSC_OK);
    unsigned undetected = 0, structural_rejects = 0, total = 0;
    static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xFF, 0x55};
    for (size_t i = 0; i < size; i++)
        for (size_t mi = 0; mi < sizeof masks; mi++) {
            memcpy(b, blob, size);
            b[i] ^= masks[mi];
            undetected += try_open(b, size) == LSC_OK;
            /* Same change past the checksum: the structure alone must hold. */
            fix_checksum(b, size);
            structural_rejects += try_open(b, size) != LSC_OK;
            total++;
        }
    CHECKF(undetected == 0, "%s: %u single-byte corruptions accepted", label, undetected);
    for (size_t len = 0; len < size; len++)
        CHECKF(try_open(blob, len) != LSC_OK, "%s: truncation to %zu accepted", label, len);
    /* One byte more is wrong too. */
    uint8_t *longer = calloc(1, size + 1);
    memcpy(longer, blob, size);
    CHECK(try_open(longer, size + 1) != LSC_OK);
    free(longer);
    printf("%s: %zu bytes, %u corruptions all caught; %u of them caught by structure alone\n", label,
           size, total, structural_rejects);
    free(b);
    lsc_free(blob);
}

/* A stored fp32 value set to +0.0 or -0.0 (the checksum fixed) is named by its index,
 * in the first group of eight, the middle and the tail; -0.0 passes only in a
 * bit-exact blob. */
static void zero_values(void)
{
    float f[41];
    for (int i = 0; i < 41; i++)
        f[i] = (float)(i + 1);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 1, .dims = {41}, .data = f};
    for (int bit_exact = 0; bit_exact < 2; bit_exact++) {
        lsc_encode_options o;
        lsc_encode_options_default(&o);
        o.bit_exact = bit_exact;
        void *blob;
        size_t size;
        lsc_error err;
        CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
        lsc_blob_view v;
        CHECK(lsc_blob_parse(blob, size, "z", &v, &err) == LSC_OK && v.nnz == 41);
        size_t at = (size_t)(v.values - (const uint8_t *)blob);
        static const unsigned which[] = {0, 7, 20, 39, 40};
        for (size_t k = 0; k < sizeof which / sizeof *which; k++)
            for (int neg = 0; neg < 2; neg++) {
                uint8_t *b = malloc(size);
                memcpy(b, blob, size);
                memset(b + at + which[k] * 4, 0, 4);
                b[at + which[k] * 4 + 3] = neg ? 0x80 : 0;
                fix_checksum(b, size);
                char want[64];
                snprintf(want, sizeof want, "stored value %u is a zero", which[k]);
                lsc_status st = lsc_blob_parse(b, size, "z", &v, &err);
                if (neg && bit_exact)
                    CHECKF(st == LSC_OK, "-0.0 at %u in a bit-exact blob rejected", which[k]);
                else
                    CHECKF(st == LSC_ERR_BAD_BUNDLE && strstr(err.message, want), "zero at %u: %s", which[k],
                           st == LSC_OK ? "accepted" : err.message);
                free(b);
            }
        lsc_free(blob);
    }
}

int main(void)
{
    zero_values();
    uint64_t s = 99;
    float f[6 * 10];
    fill_random((uint8_t *)f, 60, LSC_DTYPE_FLOAT32, 0.3, 0.5, &s);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {6, 10}, .data = f};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.block_h = 2;
    o.block_w = 3;
    o.index_bits = 2;
    attack(&t, &o, "f32 6x10 2x3 b2");
    o.transposed = 1;
    o.bit_exact = 1;
    o.block_h = 3;
    o.block_w = 4;
    o.index_bits = 3;
    attack(&t, &o, "f32 6x10 transposed bit-exact 3x4 b3");
    lsc_encode_options_default(&o);
    attack(&t, &o, "f32 6x10 searched");
    uint16_t h[4 * 3 * 3];
    fill_random((uint8_t *)h, 36, LSC_DTYPE_FLOAT16, 0.2, 0.5, &s);
    lsc_tensor th = {.dtype = LSC_DTYPE_FLOAT16, .rank = 3, .dims = {4, 3, 3}, .data = h};
    o.block_h = 1;
    o.block_w = 2;
    o.index_bits = 1;
    attack(&th, &o, "f16 4x3x3 1x2 b1");
    double d[20] = {0};
    d[19] = 1.5;
    lsc_tensor td = {.dtype = LSC_DTYPE_FLOAT64, .rank = 1, .dims = {20}, .data = d};
    lsc_encode_options_default(&o);
    o.index_bits = 16;
    attack(&td, &o, "f64 [20] b16");

    /* Random bytes behind a plausible header, with a valid checksum. */
    uint8_t junk[200];
    unsigned accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t size = 56 + rng_next(&s) % 140;
        for (size_t i = 0; i < size; i++)
            junk[i] = (uint8_t)rng_next(&s);
        memcpy(junk, "LSCW\x01", 5);
        junk[5] = (uint8_t[]){1, 10, 11, 16}[rng_next(&s) % 4];
        junk[6] = (uint8_t)(1 + rng_next(&s) % 16);
        junk[7] &= 7;
        for (int i = 16; i < 32; i++) /* small sides */
            junk[i] = (i % 4 == 0) ? (uint8_t)(1 + rng_next(&s) % 6) : 0;
        for (int i = 32; i < 48; i++)
            junk[i] = (i % 8 == 0) ? (uint8_t)(rng_next(&s) % 12) : 0;
        junk[48] = (uint8_t)(rng_next(&s) % 3);
        memset(junk + 49, 0, 7);
        fix_checksum(junk, size);
        accepted += try_open(junk, size) == LSC_OK;
    }
    printf("random blobs: %u of 20000 accepted (and decoded)\n", accepted);
    lsc_weight *w = NULL;
    CHECK(lsc_weight_open(NULL, 0, NULL, &w, NULL) == LSC_ERR_INVALID_ARGUMENT && w == NULL);
    return check_exit();
}
