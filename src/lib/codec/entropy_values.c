/* The value planes of the entropy tier (docs/format.md 4.5). Each plane is coded
 * three ways and the smallest is kept: raw (mantissa bytes are close to random),
 * zstd (a generic coder: repeats, few distinct values), or our range coder with an
 * adaptive byte model whose context is the value's plane-0 byte (the exponent: pruning
 * by magnitude keeps few exponents, and the top mantissa bits depend on them). */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/entropy.h"
#include "codec/rangecoder.h"
#include "common/error.h"

#define ZSTD_LEVEL 9
/* A coded plane replaces the raw one only if it saves at least 1/64 of it: the
 * model costs 8 coder decisions per byte to decode, not worth it for less. */
#define MIN_SAVING_SHIFT 6

static uint64_t load_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void lsc_entropy_split_planes(const uint8_t *values, uint64_t n, unsigned elem_size, uint8_t *planes)
{
    unsigned top = 8 * elem_size - 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = load_le(values + i * elem_size, elem_size);
        uint64_t rot = (v << 1) | (v >> top);
        for (unsigned j = 0; j < elem_size; j++)
            planes[j * n + i] = (uint8_t)(rot >> (8 * (elem_size - 1 - j)));
    }
}

void lsc_entropy_join_planes(const uint8_t *planes, uint64_t n, unsigned elem_size, uint8_t *values)
{
    unsigned top = 8 * elem_size - 1;
    uint64_t mask = elem_size == 8 ? ~UINT64_C(0) : (UINT64_C(1) << (8 * elem_size)) - 1;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t rot = 0;
        for (unsigned j = 0; j < elem_size; j++)
            rot = (rot << 8) | planes[j * n + i];
        uint64_t v = ((rot >> 1) | (rot << top)) & mask;
        for (unsigned k = 0; k < elem_size; k++)
            values[i * elem_size + k] = (uint8_t)(v >> (8 * k));
    }
}

/* Byte model: 256 contexts x a binary tree of 255 decisions (node 1..255). */
#define MODEL_BITS (256 * 256)

/* Plane 0 uses the previous value's plane-0 byte, later planes this value's. */
static inline unsigned plane_context(const uint8_t *planes, unsigned j, uint64_t i)
{
    if (j > 0)
        return planes[i];
    return i ? planes[i - 1] : 0;
}

static lsc_status encode_model(const uint8_t *planes, uint64_t n, unsigned j, uint8_t **out,
                               size_t *out_size, lsc_error *error)
{
    lsc_rc_bit *bits = malloc(MODEL_BITS * sizeof *bits);
    if (!bits)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
    lsc_rc_bits_init(bits, MODEL_BITS);
    lsc_rc_encoder e;
    lsc_rc_encoder_init(&e);
    const uint8_t *plane = planes + j * n;
    for (uint64_t i = 0; i < n; i++) {
        lsc_rc_bit *tree = bits + 256 * plane_context(planes, j, i);
        unsigned byte = plane[i], node = 1;
        for (int k = 7; k >= 0; k--) {
            unsigned bit = (byte >> k) & 1;
            lsc_rc_encode(&e, &tree[node], bit);
            node = node * 2 + bit;
        }
    }
    lsc_rc_encoder_finish(&e);
    free(bits);
    if (e.failed) {
        free(e.buf);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory coding a value plane");
    }
    *out = e.buf;
    *out_size = e.size;
    return LSC_OK;
}

static lsc_status encode_zstd(const uint8_t *plane, uint64_t n, uint8_t **out, size_t *out_size,
                              lsc_error *error)
{
    size_t cap = ZSTD_compressBound((size_t)n);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a zstd frame");
    size_t got = ZSTD_compress(buf, cap, plane, (size_t)n, ZSTD_LEVEL);
    if (ZSTD_isError(got)) {
        free(buf);
        return lsc_fail(error, LSC_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(got));
    }
    *out = buf;
    *out_size = got;
    return LSC_OK;
}

lsc_status lsc_entropy_encode_plane(const uint8_t *planes, uint64_t n, unsigned j, uint8_t **out,
                                    size_t *out_size, unsigned *method, lsc_error *error)
{
    const uint8_t *plane = planes + j * n;
    uint8_t *best = malloc(n ? (size_t)n : 1);
    if (!best)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value plane");
    memcpy(best, plane, (size_t)n);
    size_t best_size = (size_t)n - (size_t)(n >> MIN_SAVING_SHIFT);
    *method = LSC_SECTION_RAW;
    for (unsigned m = LSC_SECTION_ZSTD; m <= LSC_SECTION_MODEL; m++) {
        uint8_t *cand = NULL;
        size_t cand_size = 0;
        lsc_status st = m == LSC_SECTION_ZSTD ? encode_zstd(plane, n, &cand, &cand_size, error)
                                              : encode_model(planes, n, j, &cand, &cand_size, error);
        if (st != LSC_OK) {
            free(best);
            return st;
        }
        if (cand_size < best_size) {
            free(best);
            best = cand;
            best_size = cand_size;
            *method = m;
        } else {
            free(cand);
        }
    }
    *out = best;
    *out_size = *method == LSC_SECTION_RAW ? (size_t)n : best_size;
    return LSC_OK;
}

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

static lsc_status decode_model(const uint8_t *stream, size_t size, uint8_t *planes, uint64_t n,
                               unsigned j, const char *label, lsc_error *error)
{
    lsc_rc_decoder d;
    if (lsc_rc_decoder_init(&d, stream, size))
        return BAD("blob '%s': value plane %u does not start a range-coded stream", label, j);
    lsc_rc_bit *bits = malloc(MODEL_BITS * sizeof *bits);
    if (!bits)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a value model");
    lsc_rc_bits_init(bits, MODEL_BITS);
    uint8_t *plane = planes + j * n;
    for (uint64_t i = 0; i < n && !d.overrun; i++) {
        lsc_rc_bit *tree = bits + 256 * plane_context(planes, j, i);
        unsigned node = 1;
        for (int k = 0; k < 8; k++)
            node = node * 2 + lsc_rc_decode(&d, &tree[node]);
        plane[i] = (uint8_t)node;
    }
    free(bits);
    if (!lsc_rc_decoder_done(&d))
        return BAD("blob '%s': value plane %u's stream is %s", label, j,
                   d.overrun ? "too short" : "longer than its values");
    return LSC_OK;
}

lsc_status lsc_entropy_decode_plane(const uint8_t *stream, size_t size, unsigned method,
                                    uint8_t *planes, uint64_t n, unsigned j, const char *label,
                                    lsc_error *error)
{
    uint8_t *plane = planes + j * n;
    switch (method) {
    case LSC_SECTION_RAW:
        if (size != n)
            return BAD("blob '%s': raw value plane %u holds %zu bytes for %llu values", label, j, size,
                       (unsigned long long)n);
        memcpy(plane, stream, size);
        return LSC_OK;
    case LSC_SECTION_ZSTD: {
        size_t got = ZSTD_decompress(plane, (size_t)n, stream, size);
        if (ZSTD_isError(got))
            return BAD("blob '%s': value plane %u: zstd: %s", label, j, ZSTD_getErrorName(got));
        if (got != n)
            return BAD("blob '%s': value plane %u: zstd gave %zu bytes for %llu values", label, j, got,
                       (unsigned long long)n);
        return LSC_OK;
    }
    case LSC_SECTION_MODEL:
        return decode_model(stream, size, planes, n, j, label, error);
    default:
        return BAD("blob '%s': value plane %u: unknown coding method %u", label, j, method);
    }
}
