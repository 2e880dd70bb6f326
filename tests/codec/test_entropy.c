/* The entropy tier (docs/format.md part 4): every generated tensor (each dtype, shapes
 * from 1x1 up, densities 0 to 1, awkward bit patterns, -0.0 with and without
 * --bit-exact, forced shapes and widths) goes compute blob -> entropy blob -> opened
 * weight whose compute blob is byte for byte the original; encoding is deterministic;
 * every single-byte corruption and every truncation of an entropy blob is rejected
 * (checksum), and with the checksum repaired is rejected or decodes to the very same
 * blob; headers claiming more than the bytes can hold are refused before any work.
 * With model paths as arguments: compress --entropy / decompress round trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "check.h"
#include "codec/blob.h"
#include "codec/entropy.h"
#include "codec/entropy_context.h"
#include "codec/scan.h"
#include "codec_util.h"
#include "common/endian.h"

static void fix_checksum(uint8_t *p, size_t size)
{
    memset(p + 8, 0, 8);
    lsc_store_le64(p + 8, XXH64(p, size, 0));
}

/* Opens `coded` and checks that its compute blob is exactly `blob`. */
static int opens_to(const void *coded, size_t coded_size, const void *blob, size_t blob_size)
{
    lsc_weight *w = NULL;
    lsc_error err;
    if (lsc_weight_open(coded, coded_size, "t", &w, &err) != LSC_OK)
        return 0;
    size_t size = 0;
    const void *compute = lsc_weight_blob(w, &size);
    int same = size == blob_size && memcmp(compute, blob, blob_size) == 0;
    lsc_weight_info info;
    lsc_weight_get_info(w, &info);
    same &= info.blob_size == coded_size;
    lsc_weight_close(&w);
    return same;
}

/* tensor -> blob -> entropy blob (of the version its dtype needs) -> the same blob,
 * deterministically, with stats that add up. */
static void check_tensor(const char *what, const lsc_tensor *tensor, const lsc_encode_options *eo)
{
    unsigned E = (unsigned)lsc_dtype_size((int)tensor->dtype);
    void *blob = NULL, *coded = NULL, *again = NULL;
    size_t blob_size = 0, coded_size = 0, again_size = 0;
    lsc_error err;
    CHECKF(lsc_encode(tensor, eo, &blob, &blob_size, NULL, &err) == LSC_OK, "%s: %s", what, err.message);
    lsc_status st = lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err);
    CHECKF(st == LSC_OK, "%s: %s", what, err.message);
    if (st == LSC_OK) {
        unsigned version = ((uint8_t *)coded)[4];
        CHECKF(E == 1 ? version == LSC_ENTROPY_VERSION_8BIT
                      : version == LSC_ENTROPY_VERSION_FLOAT || version == LSC_ENTROPY_VERSION_WHOLE ||
                            version == LSC_ENTROPY_VERSION_FAST,
               "%s: entropy blob version %u", what, version);
        CHECKF(opens_to(coded, coded_size, blob, blob_size), "%s: entropy blob does not open to its blob", what);
        lsc_entropy_stats es, only;
        CHECK(lsc_entropy_encode_stats(blob, blob_size, &again, &again_size, &es, &err) == LSC_OK);
        CHECKF(again_size == coded_size && memcmp(again, coded, coded_size) == 0, "%s: not deterministic", what);
        uint64_t parts = es.header_bytes + es.position_bytes;
        for (unsigned j = 0; j < es.planes; j++)
            parts += es.plane_bytes[j];
        CHECKF(es.total_bytes == coded_size && parts == coded_size && es.planes == E && es.position_bytes > 0,
               "%s: entropy stats do not add up", what);
        CHECK(lsc_entropy_encode_stats(blob, blob_size, NULL, NULL, &only, &err) == LSC_OK);
        CHECKF(only.total_bytes == es.total_bytes && only.position_bytes == es.position_bytes,
               "%s: stats alone differ", what);
    }
    lsc_free(blob);
    lsc_free(coded);
    lsc_free(again);
}

static void round_trip(const char *what, lsc_dtype t, int rank, const int64_t *dims, double density,
                       double neg_zeros, const lsc_encode_options *eo, uint64_t seed)
{
    uint64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (uint64_t)dims[i];
    uint8_t *data = malloc(n * (unsigned)lsc_dtype_size((int)t));
    fill_random(data, n, t, density, neg_zeros, &seed);
    lsc_tensor tensor = {t, rank, {0}, data};
    memcpy(tensor.dims, dims, sizeof(int64_t) * (size_t)rank);
    check_tensor(what, &tensor, eo);
    free(data);
}

/* An 8-bit tensor whose zeros are its rows' zero points (kind 0: all 0, 1: all 128,
 * 2: random): density of other codes, values skewed small as quantized weights are. */
static uint8_t *fill_8bit(lsc_tensor *t, uint64_t rows, uint64_t cols, int transposed, double density,
                          int kind, uint8_t *zp, uint64_t *seed)
{
    uint64_t n = rows * cols;
    uint8_t *data = malloc(n ? n : 1);
    for (uint64_t r = 0; r < rows; r++)
        zp[r] = kind == 0 ? 0 : kind == 1 ? 128 : (uint8_t)(rng_next(seed) >> 56);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = transposed ? i % rows : i / cols;
        uint8_t delta = 0;
        if (rng_unit(seed) < density) /* half small codes, half any */
            delta = (uint8_t)(rng_next(seed) >> (rng_unit(seed) < 0.5 ? 60 : 56));
        data[i] = (uint8_t)(zp[r] + delta);
    }
    t->data = data;
    return data;
}

/* int8 and uint8 weights, with and without zero points, transposed or not: the
 * entropy tier (version 3) gives back their compute blob, zero points included. */
static void eight_bit(void)
{
    static const lsc_dtype types[] = {LSC_DTYPE_INT8, LSC_DTYPE_UINT8};
    static const double densities[] = {0.0, 0.003, 0.05, 0.3, 1.0};
    static const int64_t shapes[][4] = {{1, 1}, {1, 37}, {53, 1}, {64, 75}, {300, 128}, {16, 3, 5, 5}};
    static const int ranks[] = {2, 2, 2, 2, 2, 4};
    uint64_t seed = 11;
    char what[128];
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (size_t di = 0; di < sizeof densities / sizeof densities[0]; di++)
                for (int variant = 0; variant < 6; variant++) {
                    int kind = variant % 3, transposed = variant >= 3 && ranks[si] == 2;
                    lsc_tensor t = {types[ti], ranks[si], {0}, NULL};
                    memcpy(t.dims, shapes[si], sizeof(int64_t) * (size_t)ranks[si]);
                    uint64_t lead = (uint64_t)shapes[si][0], rest = 1;
                    for (int i = 1; i < ranks[si]; i++)
                        rest *= (uint64_t)shapes[si][i];
                    uint64_t rows = transposed ? rest : lead, cols = transposed ? lead : rest;
                    uint8_t *zp = malloc(rows);
                    uint8_t *data = fill_8bit(&t, rows, cols, transposed, densities[di], kind, zp, &seed);
                    lsc_encode_options eo;
                    lsc_encode_options_default(&eo);
                    eo.transposed = transposed;
                    eo.zero_points = zp;
                    snprintf(what, sizeof what, "dtype %d shape %zu density %.3f zero points %d transposed %d",
                             (int)types[ti], si, densities[di], kind, transposed);
                    check_tensor(what, &t, &eo);
                    free(data);
                    free(zp);
                }
}

static void generated(void)
{
    static const lsc_dtype types[] = {LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT16, LSC_DTYPE_BFLOAT16, LSC_DTYPE_FLOAT64};
    static const double densities[] = {0.0, 0.003, 0.05, 0.3, 0.9, 1.0};
    static const int64_t shapes[][4] = {{1, 1}, {1, 37}, {53, 1}, {64, 75}, {300, 128}, {16, 3, 5, 5}};
    static const int ranks[] = {2, 2, 2, 2, 2, 4};
    uint64_t seed = 1;
    char what[128];
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (size_t di = 0; di < sizeof densities / sizeof densities[0]; di++)
                for (int variant = 0; variant < 3; variant++) {
                    lsc_encode_options eo;
                    lsc_encode_options_default(&eo);
                    eo.bit_exact = variant == 1;
                    eo.transposed = variant == 2;
                    eo.typed_field = variant == 2;
                    snprintf(what, sizeof what, "dtype %d shape %zu density %.3f variant %d", (int)types[ti], si,
                             densities[di], variant);
                    round_trip(what, types[ti], ranks[si], shapes[si], densities[di], 0.3, &eo, seed++);
                }
    /* forced block shapes and index widths, rank 0 and 1 */
    const int64_t d2[2] = {40, 90}, d1[1] = {500}, d0[1] = {1};
    for (unsigned b = 1; b <= 16; b += 5) {
        lsc_encode_options eo;
        lsc_encode_options_default(&eo);
        eo.index_bits = b;
        eo.block_h = 3;
        eo.block_w = 7;
        snprintf(what, sizeof what, "forced 3x7 b=%u", b);
        round_trip(what, LSC_DTYPE_FLOAT32, 2, d2, 0.1, 0, &eo, seed++);
    }
    round_trip("rank 1", LSC_DTYPE_FLOAT32, 1, d1, 0.2, 0, NULL, seed++);

    /* A million zeros code in a few bytes, beyond the reader's limit of 4096 elements
     * per byte: the encoder says so, and compress keeps the compute blob. */
    const int64_t wide[2] = {1, 1 << 20};
    float *zeros = calloc((size_t)1 << 20, sizeof(float));
    lsc_tensor zt = {LSC_DTYPE_FLOAT32, 2, {wide[0], wide[1]}, zeros};
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_error err;
    CHECK(lsc_encode(&zt, NULL, &blob, &blob_size, NULL, &err) == LSC_OK);
    CHECK(lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) == LSC_ERR_UNSUPPORTED);
    CHECK(coded == NULL && coded_size == 0);
    lsc_free(blob);
    free(zeros);
    round_trip("rank 0", LSC_DTYPE_FLOAT32, 0, d0, 1.0, 0, NULL, seed++);
}

/* Every byte changed, every length cut: rejected; with the checksum repaired, rejected
 * or the same blob back (a byte the decoder never needs). Never a crash. */
static void corrupt_every_byte(const char *what, const lsc_tensor *t, const lsc_encode_options *o)
{
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_error err;
    CHECK(lsc_encode(t, o, &blob, &blob_size, NULL, &err) == LSC_OK);
    CHECK(lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) == LSC_OK);
    uint8_t *copy = malloc(coded_size);
    unsigned same = 0, rejected = 0;
    for (size_t i = 0; i < coded_size; i++)
        for (unsigned flip = 1; flip < 256; flip <<= 1) {
            memcpy(copy, coded, coded_size);
            copy[i] ^= (uint8_t)flip;
            lsc_weight *w = NULL;
            lsc_status st = lsc_weight_open(copy, coded_size, "c", &w, &err);
            CHECKF(st != LSC_OK, "byte %zu ^ 0x%02x opens", i, flip);
            lsc_weight_close(&w);
            if (i >= 8 && i < 16)
                continue;
            fix_checksum(copy, coded_size);
            if (i < 4) /* no longer an entropy blob: the compute-tier parser says so */
                continue;
            st = lsc_weight_open(copy, coded_size, "c", &w, &err);
            if (st == LSC_OK) {
                CHECKF(w->view.size == blob_size && memcmp(w->view.base, blob, blob_size) == 0,
                       "byte %zu ^ 0x%02x: opened as another blob", i, flip);
                same++;
            } else {
                rejected++;
            }
            lsc_weight_close(&w);
        }
    for (size_t n = 0; n < coded_size; n++) {
        lsc_weight *w = NULL;
        CHECKF(lsc_weight_open(coded, n, "c", &w, &err) != LSC_OK, "cut to %zu bytes opens", n);
        lsc_weight_close(&w);
    }
    printf("%s: entropy blob of %zu bytes: %u repaired corruptions rejected, %u decode to the same blob\n",
           what, coded_size, rejected, same);
    CHECK(rejected > 0);

    /* a header claiming a huge matrix from a few bytes is refused before any work */
    memcpy(copy, coded, coded_size);
    lsc_store_le32(copy + 16, UINT32_MAX);
    lsc_store_le32(copy + 20, UINT32_MAX);
    fix_checksum(copy, coded_size);
    lsc_weight *w = NULL;
    CHECK(lsc_weight_open(copy, coded_size, "c", &w, &err) == LSC_ERR_BAD_BUNDLE);
    CHECK(strstr(err.message, "limit") != NULL);
    free(copy);
    lsc_free(blob);
    lsc_free(coded);
}

/* Weights as magnitude pruning leaves them: magnitudes above a threshold, falling
 * off within each octave (few exponents, skewed top mantissa bits), so that format
 * 5's rANS value planes and grouped position tables are chosen (checked). */
static void version_5_corruptions(const char *what, int64_t rows, int64_t cols, double density, unsigned ways)
{
    uint64_t seed = 5, n = (uint64_t)(rows * cols), nnz = 0;
    float *data = malloc(n * sizeof *data);
    for (uint64_t i = 0; i < n; i++) {
        double u = rng_unit(&seed), sign = rng_unit(&seed) < 0.5 ? -1 : 1;
        data[i] = rng_unit(&seed) < density ? (float)(sign * 0.05 * (1 + u * u * u)) : 0.0f;
        nnz += data[i] != 0.0f;
    }
    lsc_tensor t = {LSC_DTYPE_FLOAT32, 2, {rows, cols}, data};
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_error err;
    CHECK(lsc_encode(&t, NULL, &blob, &blob_size, NULL, &err) == LSC_OK);
    CHECK(lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) == LSC_OK);
    const uint8_t *c = coded, *table = c + LSC_ENTROPY_FIXED_HEADER + 8 * c[56];
    CHECKF(c[4] == LSC_ENTROPY_VERSION_FAST && table[0] == LSC_SECTION_GROUPED && table[8] == LSC_SECTION_RANS,
           "%s: version %u, position method %u, plane 0 method %u", what, c[4], table[0], table[8]);
    CHECKF((nnz >= 2048) == (ways == 2), "%s: %llu values for %u rANS states", what, (unsigned long long)nnz, ways);
    CHECKF(ways == 1 || table[16] == LSC_SECTION_RANS, "%s: plane 1 method %u", what, table[16]);
    /* a version-5 method in a blob of version 4 is unknown there */
    uint8_t *copy = malloc(coded_size);
    memcpy(copy, coded, coded_size);
    copy[4] = LSC_ENTROPY_VERSION_WHOLE;
    fix_checksum(copy, coded_size);
    lsc_weight *w = NULL;
    CHECK(lsc_weight_open(copy, coded_size, "v4", &w, &err) == LSC_ERR_BAD_BUNDLE);
    CHECK(strstr(err.message, "unknown coding method") != NULL);
    free(copy);
    lsc_free(blob);
    lsc_free(coded);
    corrupt_every_byte(what, &t, NULL);
    free(data);
}

static void corruptions(void)
{
    uint64_t seed = 7;
    uint8_t data[12 * 36 * 4];
    fill_random(data, 12 * 36, LSC_DTYPE_FLOAT32, 0.2, 0.2, &seed);
    lsc_tensor t = {LSC_DTYPE_FLOAT32, 4, {12, 4, 3, 3}, data};
    corrupt_every_byte("float32", &t, NULL);
    version_5_corruptions("float32 version 5", 30, 40, 0.15, 1);
    version_5_corruptions("float32 version 5, two rANS states", 40, 200, 0.3, 2);

    /* uint8 with zero points: the zero-point section is covered as well */
    uint8_t zp[12];
    lsc_tensor q = {LSC_DTYPE_UINT8, 4, {12, 4, 3, 3}, NULL};
    uint8_t *codes = fill_8bit(&q, 12, 36, 0, 0.2, 2, zp, &seed);
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.zero_points = zp;
    corrupt_every_byte("uint8", &q, &o);

    /* an 8-bit weight in an entropy blob of version 2 (whose readers do not know it) */
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_error err;
    CHECK(lsc_encode(&q, &o, &blob, &blob_size, NULL, &err) == LSC_OK);
    CHECK(lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) == LSC_OK);
    ((uint8_t *)coded)[4] = LSC_ENTROPY_VERSION_FLOAT;
    fix_checksum(coded, coded_size);
    lsc_weight *w = NULL;
    CHECK(lsc_weight_open(coded, coded_size, "v2", &w, &err) == LSC_ERR_BAD_BUNDLE);
    CHECK(strstr(err.message, "8-bit") != NULL);
    lsc_free(blob);
    lsc_free(coded);
    free(codes);
}

/* A float tensor (elem 2, 4 or 8 bytes) whose non-zeros take `distinct` values of a
 * palette, each repeated in runs as a fixed transform's are. */
static uint8_t *palette_tensor(lsc_tensor *t, lsc_dtype dtype, int64_t rows, int64_t cols, unsigned distinct,
                               uint64_t *seed)
{
    unsigned E = (unsigned)lsc_dtype_size((int)dtype);
    uint64_t n = (uint64_t)(rows * cols);
    uint8_t *palette = malloc(distinct * E), *data = calloc(n, E);
    fill_random(palette, distinct, dtype, 1.0, 0.0, seed);
    for (unsigned i = 0; i < distinct; i++) /* no zeros in the palette */
        if (memcmp(palette + i * E, (const uint8_t[8]){0}, E) == 0)
            palette[i * E + E - 1] = 0x3c;
    for (uint64_t i = 0; i < n; i++)
        if (rng_unit(seed) < 0.15)
            memcpy(data + i * E, palette + ((i / 7) * 13 % distinct) * E, E);
    free(palette);
    *t = (lsc_tensor){dtype, 2, {rows, cols}, data};
    return data;
}

/* Values that repeat are coded whole (docs/format.md 4.5, version 4) when that is
 * smaller: float16/32/64 palettes round-trip (float32 and float64 coded whole); a version-4 blob is corrupted byte by
 * byte; whole values anywhere but section 1 of version 4, planes beside them that are
 * not empty, and an 8-bit weight in version 4 are rejected. */
static void whole_values(void)
{
    uint64_t seed = 21;
    lsc_tensor half;
    uint8_t *half_data = palette_tensor(&half, LSC_DTYPE_FLOAT16, 96, 160, 40, &seed);
    check_tensor("float16 palette", &half, NULL); /* whole or planes: whichever is smaller */
    free(half_data);
    static const lsc_dtype types[] = {LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT64};
    for (unsigned k = 0; k < 2; k++) {
        lsc_tensor t;
        uint8_t *data = palette_tensor(&t, types[k], 96, 160, 40, &seed);
        check_tensor("palette", &t, NULL);
        void *blob = NULL, *coded = NULL;
        size_t blob_size = 0, coded_size = 0;
        lsc_error err;
        lsc_entropy_stats es;
        CHECK(lsc_encode(&t, NULL, &blob, &blob_size, NULL, &err) == LSC_OK);
        CHECK(lsc_entropy_encode_stats(blob, blob_size, &coded, &coded_size, &es, &err) == LSC_OK);
        uint8_t *c = coded;
        CHECKF(c[4] == LSC_ENTROPY_VERSION_WHOLE && es.plane_method[0] == LSC_SECTION_WHOLE,
               "palette of dtype %d: version %u, plane 0 method %u", (int)types[k], c[4], es.plane_method[0]);
        CHECK(es.plane_method[1] == LSC_SECTION_RAW && es.plane_bytes[1] == (es.nnz + 7) / 8); /* the signs */
        for (unsigned j = 2; j < es.planes; j++)
            CHECK(es.plane_bytes[j] == 0 && es.plane_method[j] == LSC_SECTION_RAW);
        size_t table = LSC_ENTROPY_FIXED_HEADER + 8u * c[56];
        uint8_t *copy = malloc(coded_size);
        lsc_weight *w = NULL;
        /* whole values in a version-2 blob */
        memcpy(copy, coded, coded_size);
        copy[4] = LSC_ENTROPY_VERSION_FLOAT;
        fix_checksum(copy, coded_size);
        CHECK(lsc_weight_open(copy, coded_size, "v2", &w, &err) == LSC_ERR_BAD_BUNDLE);
        /* version 4 with plane 0 coded otherwise (zstd) */
        memcpy(copy, coded, coded_size);
        copy[table + 8] = LSC_SECTION_ZSTD;
        fix_checksum(copy, coded_size);
        CHECK(lsc_weight_open(copy, coded_size, "v4", &w, &err) == LSC_ERR_BAD_BUNDLE);
        /* the signs not raw; a later plane not empty (a byte taken from the signs); the
         * signs one byte short (a byte given to section 1); a padding bit of the signs */
        memcpy(copy, coded, coded_size);
        copy[table + 16] = LSC_SECTION_ZSTD;
        fix_checksum(copy, coded_size);
        CHECK(lsc_weight_open(copy, coded_size, "v4", &w, &err) == LSC_ERR_BAD_BUNDLE);
        memcpy(copy, coded, coded_size);
        lsc_store_le32(copy + table + 16 + 4, lsc_load_le32(copy + table + 16 + 4) - 1);
        lsc_store_le32(copy + table + 24 + 4, 1);
        fix_checksum(copy, coded_size);
        CHECK(lsc_weight_open(copy, coded_size, "v4", &w, &err) == LSC_ERR_BAD_BUNDLE);
        CHECK(strstr(err.message, "empty") != NULL);
        memcpy(copy, coded, coded_size);
        lsc_store_le32(copy + table + 16 + 4, lsc_load_le32(copy + table + 16 + 4) - 1);
        lsc_store_le32(copy + table + 8 + 4, lsc_load_le32(copy + table + 8 + 4) + 1);
        fix_checksum(copy, coded_size);
        CHECK(lsc_weight_open(copy, coded_size, "v4", &w, &err) == LSC_ERR_BAD_BUNDLE);
        CHECK(strstr(err.message, "signs") != NULL);
        if (es.nnz % 8) {
            memcpy(copy, coded, coded_size);
            copy[coded_size - 1] |= 0x80; /* the signs end the blob */
            fix_checksum(copy, coded_size);
            CHECK(lsc_weight_open(copy, coded_size, "v4", &w, &err) == LSC_ERR_BAD_BUNDLE);
            CHECK(strstr(err.message, "padding") != NULL);
        }
        free(copy);
        if (types[k] == LSC_DTYPE_FLOAT32)
            corrupt_every_byte("float32 whole values", &t, NULL);
        lsc_free(blob);
        lsc_free(coded);
        free(data);
    }
    /* an 8-bit weight in version 4 */
    uint8_t codes[12 * 36];
    uint64_t s8 = 3;
    for (unsigned i = 0; i < sizeof codes; i++)
        codes[i] = rng_unit(&s8) < 0.2 ? (uint8_t)(1 + i % 5) : 0;
    lsc_tensor q = {LSC_DTYPE_UINT8, 2, {12, 36}, codes};
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_error err;
    CHECK(lsc_encode(&q, NULL, &blob, &blob_size, NULL, &err) == LSC_OK);
    CHECK(lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) == LSC_OK);
    CHECK(((uint8_t *)coded)[4] == LSC_ENTROPY_VERSION_8BIT);
    ((uint8_t *)coded)[4] = LSC_ENTROPY_VERSION_WHOLE;
    fix_checksum(coded, coded_size);
    lsc_weight *w = NULL;
    CHECK(lsc_weight_open(coded, coded_size, "q4", &w, &err) == LSC_ERR_BAD_BUNDLE);
    lsc_free(blob);
    lsc_free(coded);
}

/* A rows x cols basis whose rows are exact mirror images: kind 1 (DFT: column j
 * pairs with cols - j) or 2 (DCT: cols - 1 - j), even rows symmetric, odd rows
 * antisymmetric (their middle column, if any, zero), values of dtype (2, 4 or 8
 * bytes), about a third of them kept. */
static uint8_t *mirror_tensor(lsc_tensor *t, lsc_dtype dtype, int64_t rows, int64_t cols, unsigned kind,
                              uint64_t *seed)
{
    unsigned E = (unsigned)lsc_dtype_size((int)dtype);
    int64_t off = kind == LSC_MIRROR_DFT ? cols : cols - 1;
    uint8_t *data = calloc((size_t)(rows * cols), E);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j <= off / 2; j++) {
            uint8_t *x = data + (size_t)(r * cols + j) * E;
            int anti = r % 2, middle = off - j == j;
            if (rng_unit(seed) < 0.35 && !(anti && middle)) {
                fill_random(x, 1, dtype, 1.0, 0.0, seed);
                x[E - 1] |= 0x10; /* never a zero */
            }
            if (!middle && off - j < cols) {
                memcpy(data + (size_t)(r * cols + off - j) * E, x, E);
                if (anti && memcmp(x, (const uint8_t[8]){0}, E))
                    data[(size_t)(r * cols + off - j) * E + E - 1] ^= 0x80;
            }
        }
    *t = (lsc_tensor){dtype, 2, {rows, cols}, data};
    return data;
}

/* Mirrored rows (docs/format.md 4.7): bases of both kinds and three float types
 * round-trip as version 4 with the mirror byte set; a version-4 blob is corrupted
 * byte by byte; a damaged mirror section is rejected. */
static void mirrored_rows(void)
{
    uint64_t seed = 33;
    static const lsc_dtype types[] = {LSC_DTYPE_FLOAT16, LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT64};
    for (unsigned kind = LSC_MIRROR_DFT; kind <= LSC_MIRROR_DCT; kind++)
        for (unsigned k = 0; k < 3; k++)
            for (int64_t cols = 63; cols <= 64; cols++) {
                lsc_tensor t;
                uint8_t *data = mirror_tensor(&t, types[k], 21, cols, kind, &seed);
                check_tensor("mirrored", &t, NULL);
                void *blob = NULL, *coded = NULL;
                size_t blob_size = 0, coded_size = 0;
                lsc_error err;
                CHECK(lsc_encode(&t, NULL, &blob, &blob_size, NULL, &err) == LSC_OK);
                CHECK(lsc_entropy_encode(blob, blob_size, &coded, &coded_size, &err) == LSC_OK);
                uint8_t *c = coded;
                CHECKF(c[4] == LSC_ENTROPY_VERSION_WHOLE && c[57] == kind, "kind %u dtype %d cols %lld: version %u mirror %u",
                       kind, (int)types[k], (long long)cols, c[4], c[57]);
                if (kind == LSC_MIRROR_DFT && k == 1 && cols == 64) {
                    size_t table = LSC_ENTROPY_FIXED_HEADER + 8u * c[56], mirror = table + 8 * (1 + 4);
                    size_t at = table + 8 * 6; /* sections start after 6 entries */
                    for (unsigned i = 0; i < 5; i++)
                        at += lsc_load_le32(c + table + 8 * i + 4);
                    uint8_t *copy = malloc(coded_size);
                    lsc_weight *w = NULL;
                    memcpy(copy, coded, coded_size); /* mirror in version 2 */
                    copy[4] = LSC_ENTROPY_VERSION_FLOAT;
                    fix_checksum(copy, coded_size);
                    CHECK(lsc_weight_open(copy, coded_size, "m", &w, &err) == LSC_ERR_BAD_BUNDLE);
                    memcpy(copy, coded, coded_size); /* unknown kind */
                    copy[57] = 3;
                    fix_checksum(copy, coded_size);
                    CHECK(lsc_weight_open(copy, coded_size, "m", &w, &err) == LSC_ERR_BAD_BUNDLE);
                    memcpy(copy, coded, coded_size); /* the half claims more values than the header */
                    lsc_store_le64(copy + at, lsc_load_le64(c + 32) + 1);
                    fix_checksum(copy, coded_size);
                    CHECK(lsc_weight_open(copy, coded_size, "m", &w, &err) == LSC_ERR_BAD_BUNDLE);
                    memcpy(copy, coded, coded_size); /* a padding bit of the 21 row signs */
                    copy[at + 8 + 2] |= 0x80;
                    fix_checksum(copy, coded_size);
                    CHECK(lsc_weight_open(copy, coded_size, "m", &w, &err) == LSC_ERR_BAD_BUNDLE);
                    memcpy(copy, coded, coded_size); /* a row's sign flipped: another blob, caught */
                    copy[at + 8] ^= 1;
                    fix_checksum(copy, coded_size);
                    CHECK(lsc_weight_open(copy, coded_size, "m", &w, &err) != LSC_OK);
                    memcpy(copy, coded, coded_size); /* the mirror section not raw */
                    copy[mirror] = LSC_SECTION_ZSTD;
                    fix_checksum(copy, coded_size);
                    CHECK(lsc_weight_open(copy, coded_size, "m", &w, &err) == LSC_ERR_BAD_BUNDLE);
                    free(copy);
                    corrupt_every_byte("float32 mirrored rows", &t, NULL);
                }
                lsc_free(blob);
                lsc_free(coded);
                free(data);
            }
}

/* Format 1 blobs (written by the encoder before format 2, kept in tests/codec/data)
 * still open, to the compute blobs they were made from. */
static void *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    void *buf = NULL;
    *size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        rewind(f);
        buf = n > 0 ? malloc((size_t)n) : NULL;
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            *size = (size_t)n;
    }
    if (f)
        fclose(f);
    return buf;
}

static void version_1(void)
{
    static const char *names[] = {"entropy_v1_lenet5_1p4_fc2", "entropy_v1_lenet300_fc3"};
    char path[1024];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t coded_size, blob_size;
        snprintf(path, sizeof path, "%s/%s.lsce", ENTROPY_DATA_DIR, names[i]);
        uint8_t *coded = read_all(path, &coded_size);
        snprintf(path, sizeof path, "%s/%s.lscw", ENTROPY_DATA_DIR, names[i]);
        uint8_t *blob = read_all(path, &blob_size);
        CHECKF(coded && blob && coded[4] == 1, "%s: missing or not format 1", names[i]);
        if (coded && blob) {
            CHECKF(opens_to(coded, coded_size, blob, blob_size), "%s: format 1 no longer opens to its blob", names[i]);
            coded[coded_size / 2] ^= 1;
            fix_checksum(coded, coded_size);
            lsc_weight *w = NULL;
            lsc_error err;
            if (lsc_weight_open(coded, coded_size, "v1", &w, &err) == LSC_OK)
                CHECKF(w->view.size == blob_size && memcmp(w->view.base, blob, blob_size) == 0,
                       "%s: a damaged format 1 blob opens to another blob", names[i]);
            lsc_weight_close(&w);
        }
        free(coded);
        free(blob);
    }
}

/* The four-at-a-time column classes (format 2's decoder) equal the definition. */
static void column_classes(void)
{
    static const uint32_t rows[] = {1, 2, 3, 4, 5, 7, 100, 1000, 65537, 16777217, 4000000000u};
    uint64_t seed = 3;
    uint32_t counts[103];
    uint8_t parts[103];
    for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
        for (unsigned c = 0; c < 103; c++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t x = (uint32_t)(seed >> 33);
            counts[c] = c % 5 == 0 ? 0 : c % 5 == 1 ? rows[ri] : (uint32_t)(x % (rows[ri] + 1ull));
        }
        lsc_col_context_parts(counts, 103, rows[ri], parts);
        float inv = 1.0f / (float)rows[ri];
        for (unsigned c = 0; c < 103; c++)
            CHECKF(parts[c] == 2 * lsc_col_class(counts[c], inv, rows[ri]), "rows %u count %u: class part %u",
                   rows[ri], counts[c], parts[c]);
    }
}

/* The positions coder's shortcut (a bound on the static coding skips it when the
 * adaptive one is already smaller) keeps its choice: on each matrix the default and
 * the exhaustive coder write the same bytes, and they decode to the matrix; format 5's
 * coder (grouped tables) too. `tally` counts the methods chosen, [0] static, [1]
 * adaptive (format 2), [2] grouped tables, [3] adaptive (format 5). */
static void same_positions_as(const char *what, const lsc_sparse *m, unsigned options, unsigned tally[4])
{
    uint8_t *fast = NULL, *full = NULL;
    size_t fast_size = 0, full_size = 0;
    unsigned fast_method = 0, full_method = 0;
    lsc_error err;
    CHECKF(lsc_entropy_encode_positions(m, options, &fast, &fast_size, &fast_method, &err) == LSC_OK, "%s: %s", what,
           err.message);
    CHECKF(lsc_entropy_encode_positions_ex(m, options | LSC_POSITIONS_EXHAUSTIVE, &full, &full_size, &full_method,
                                           &err) == LSC_OK,
           "%s: %s", what, err.message);
    CHECKF(fast_method == full_method && fast_size == full_size && memcmp(fast, full, fast_size) == 0,
           "%s: the shortcut chose method %u (%zu bytes), coding both gives %u (%zu bytes)", what, fast_method,
           fast_size, full_method, full_size);
    int grouped = (options & LSC_POSITIONS_GROUPED) != 0;
    CHECKF(grouped || fast_method != LSC_SECTION_GROUPED, "%s: grouped tables in format 2", what);
    tally[fast_method == LSC_SECTION_GROUPED    ? 2
          : fast_method == LSC_SECTION_ADAPTIVE ? 1 + 2 * grouped
                                                : 0]++;
    lsc_sparse back = {m->rows, m->cols, m->nnz, 0, NULL, NULL, NULL};
    CHECKF(lsc_entropy_decode_positions(fast, fast_size,
                                        lsc_entropy_position_model(LSC_ENTROPY_VERSION_FAST, fast_method), &back,
                                        what, &err) == LSC_OK,
           "%s: %s", what, err.message);
    CHECKF(memcmp(back.row_ptr, m->row_ptr, ((size_t)m->rows + 1) * sizeof *m->row_ptr) == 0 &&
               (m->nnz == 0 || memcmp(back.col, m->col, (size_t)m->nnz * sizeof *m->col) == 0),
           "%s: positions do not decode back", what);
    lsc_sparse_free(&back);
    free(fast);
    free(full);
}

static void same_positions(const char *what, const lsc_sparse *m, unsigned tally[4])
{
    same_positions_as(what, m, 0, tally);
    same_positions_as(what, m, LSC_POSITIONS_GROUPED, tally);
}

/* The value planes' shortcut (the static model not coded when a bound shows it cannot
 * win) keeps the choice: the non-zero float32 values of a layer, as planes, code to the
 * same bytes with and without it, and decode back. tally: [1] model chosen, [0] other. */
static void same_planes(const char *what, const lsc_tensor *t, unsigned tally[2])
{
    if (t->dtype != LSC_DTYPE_FLOAT32)
        return;
    uint64_t elements = 1, n = 0;
    for (int d = 0; d < t->rank; d++)
        elements *= (uint64_t)t->dims[d];
    const uint32_t *v = t->data;
    uint32_t *values = malloc((size_t)elements * 4 + 4);
    for (uint64_t i = 0; i < elements; i++)
        if (v[i] << 1)
            values[n++] = v[i];
    uint8_t *planes = malloc((size_t)n * 4 + 4), *back = malloc((size_t)n * 4 + 4);
    lsc_entropy_split_planes((const uint8_t *)values, n, 4, planes);
    for (unsigned jf = 0; jf < 8; jf++) {
        unsigned j = jf % 4, options = jf < 4 ? 0 : LSC_PLANE_FAST; /* format 2, then format 5 */
        uint8_t *fast = NULL, *full = NULL;
        size_t fast_size = 0, full_size = 0;
        unsigned fast_method = 0, full_method = 0;
        lsc_error err;
        CHECK(lsc_entropy_encode_plane_ex(NULL, planes, n, j, options, &fast, &fast_size, &fast_method, &err) ==
              LSC_OK);
        CHECK(lsc_entropy_encode_plane_ex(NULL, planes, n, j, options | LSC_PLANE_EXHAUSTIVE, &full, &full_size,
                                          &full_method, &err) == LSC_OK);
        CHECKF(fast_method == full_method && fast_size == full_size && memcmp(fast, full, fast_size) == 0,
               "%s plane %u: the shortcut chose method %u (%zu bytes), coding all gives %u (%zu bytes)", what, j,
               fast_method, fast_size, full_method, full_size);
        CHECKF(options ? fast_method != LSC_SECTION_MODEL : fast_method != LSC_SECTION_RANS,
               "%s plane %u: method %u in the wrong format", what, j, fast_method);
        tally[fast_method == LSC_SECTION_MODEL || fast_method == LSC_SECTION_RANS]++;
        memcpy(back, planes, (size_t)n * j); /* the planes before j are known to the decoder */
        CHECKF(lsc_entropy_decode_plane(fast, fast_size, fast_method, LSC_ENTROPY_VERSION_FAST, back, n, j, what,
                                        &err) == LSC_OK &&
                   memcmp(back + j * n, planes + j * n, (size_t)n) == 0,
               "%s plane %u does not decode back", what, j);
        free(fast);
        free(full);
    }
    free(values);
    free(planes);
    free(back);
}

static void positions_shortcut(int argc, char **argv)
{
    unsigned tally[4] = {0, 0, 0, 0}, plane_tally[2] = {0, 0};
    char what[400];
    /* generated: small and large, sparse and dense, so that both methods win */
    static const uint32_t dims[][2] = {{3, 5}, {20, 30}, {64, 75}, {96, 48}, {200, 300}, {255, 256}, {120, 500},
                                       {300, 128}, {512, 300}, {1000, 200}};
    static const double densities[] = {0.01, 0.05, 0.1, 0.3, 0.7};
    uint64_t seed = 11;
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (size_t pi = 0; pi < sizeof densities / sizeof densities[0]; pi++) {
            lsc_sparse m = {dims[di][0], dims[di][1], 0, 0, NULL, NULL, NULL};
            m.row_ptr = calloc((size_t)m.rows + 1, sizeof *m.row_ptr);
            m.col = malloc((size_t)m.rows * m.cols * sizeof *m.col);
            for (uint32_t r = 0; r < m.rows; r++) {
                /* rows and columns of different densities, as pruning leaves them */
                double row_density = densities[pi] * (r % 3 == 0 ? 0.2 : r % 3 == 1 ? 1.0 : 1.8);
                for (uint32_t c = 0; c < m.cols; c++) {
                    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                    double u = (double)(seed >> 11) / 9007199254740992.0;
                    if (u < row_density * (c % 4 == 0 ? 0.1 : 1.3))
                        m.col[m.nnz++] = c;
                }
                m.row_ptr[r + 1] = m.nnz;
            }
            snprintf(what, sizeof what, "generated %ux%u density %.2f", m.rows, m.cols, densities[pi]);
            same_positions(what, &m, tally);
            lsc_sparse_free(&m);
        }
    /* no decisions at all (every row full): the static coding is as small or smaller
     * here, though the adaptive one is tried, and must be kept */
    static const uint32_t full_dims[][2] = {{8, 8}, {16, 32}};
    for (int f = 0; f < 2; f++) {
        uint32_t rows = full_dims[f][0], cols = full_dims[f][1];
        lsc_sparse m = {rows, cols, (uint64_t)rows * cols, 0, NULL, NULL, NULL};
        m.row_ptr = calloc((size_t)rows + 1, sizeof *m.row_ptr);
        m.col = malloc((size_t)rows * cols * sizeof *m.col);
        for (uint32_t r = 0; r < rows; r++) {
            for (uint32_t c = 0; c < cols; c++)
                m.col[r * cols + c] = c;
            m.row_ptr[r + 1] = (uint64_t)(r + 1) * cols;
        }
        unsigned adaptive = tally[1] + tally[3];
        snprintf(what, sizeof what, "%ux%u full", rows, cols);
        same_positions(what, &m, tally);
        CHECKF(tally[1] + tally[3] == adaptive, "%s: a static coding must be kept", what);
        lsc_sparse_free(&m);
    }
    /* columns set in every row beside columns set at random, both in one column band of
     * the grouped tables: the full table (or the adaptive model) saves more than the
     * margin, so format 5 must not keep the grouped tables; the encoder's bound that
     * skips the full table must not fire here (it did, wrongly, made to skip always) */
    static const uint32_t band_dims[][2] = {{64, 64}, {200, 64}, {100, 150}};
    for (int b = 0; b < 3; b++) {
        lsc_sparse m = {band_dims[b][0], band_dims[b][1], 0, 0, NULL, NULL, NULL};
        m.row_ptr = calloc((size_t)m.rows + 1, sizeof *m.row_ptr);
        m.col = malloc((size_t)m.rows * m.cols * sizeof *m.col);
        for (uint32_t r = 0; r < m.rows; r++) {
            for (uint32_t c = 0; c < m.cols; c++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                if (c % 2 == 0 || (seed >> 63))
                    m.col[m.nnz++] = c;
            }
            m.row_ptr[r + 1] = m.nnz;
        }
        snprintf(what, sizeof what, "%ux%u, full and random columns", m.rows, m.cols);
        same_positions(what, &m, tally);
        uint8_t *out = NULL;
        size_t out_size = 0;
        unsigned method = 0;
        lsc_error err;
        CHECK(lsc_entropy_encode_positions(&m, LSC_POSITIONS_GROUPED, &out, &out_size, &method, &err) == LSC_OK);
        CHECKF(method != LSC_SECTION_GROUPED, "%s: grouped tables kept (%zu bytes)", what, out_size);
        free(out);
        lsc_sparse_free(&m);
    }
    /* the layers of the models given */
    for (int a = 0; a < argc; a++) {
        lsc_model *model = NULL;
        lsc_error err;
        CHECKF(lsc_model_open(argv[a], &model, &err) == LSC_OK, "%s: %s", argv[a], err.message);
        for (size_t i = 0; model && i < lsc_model_layer_count(model); i++) {
            lsc_model_layer layer;
            lsc_tensor t;
            void *buffer = NULL;
            if (lsc_model_layer_get(model, i, &layer, &err) || layer.outcome != LSC_LAYER_ENCODED)
                continue;
            CHECKF(lsc_model_layer_load(model, i, &t, &buffer, &err) == LSC_OK, "%s: %s", argv[a], err.message);
            lsc_matrix_shape shape;
            lsc_sparse m;
            CHECK(lsc_matrix_shape_of(&t, layer.transposed, &shape, &err) == LSC_OK);
            CHECK(lsc_sparse_build(&t, &shape, 0, 0, &m, &err) == LSC_OK);
            snprintf(what, sizeof what, "%s: %s", argv[a], layer.name);
            same_positions(what, &m, tally);
            same_planes(what, &t, plane_tally);
            lsc_sparse_free(&m);
            lsc_free(buffer);
        }
        lsc_model_close(&model);
    }
    printf("positions: %u static, %u adaptive, format 5: %u grouped, %u adaptive; planes: %u model, %u other\n",
           tally[0], tally[1], tally[2], tally[3], plane_tally[1], plane_tally[0]);
    CHECKF(plane_tally[0] > 0 && plane_tally[1] > 0, "planes: the layers chose one method only");
    CHECKF(tally[0] > 0 && tally[1] > 0 && tally[2] > 0,
           "positions: the cases chose few methods only (%u static, %u adaptive, %u grouped)", tally[0], tally[1],
           tally[2]);
}

/* compress --entropy, decompress: with bit_exact the file comes back byte for byte, and
 * the bundle is smaller than the compute tier's. */
static int same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static void models(const char *tmp, int argc, char **argv)
{
    char out[1024], back[1024];
    for (int a = 0; a < argc; a++) {
        uint64_t bundle[2] = {0, 0};
        for (int entropy = 0; entropy < 2; entropy++) {
            lsc_compress_options o;
            lsc_compress_options_default(&o);
            o.bit_exact = 1;
            o.entropy = entropy;
            snprintf(out, sizeof out, "%s/m%d_%d.lsc.onnx", tmp, a, entropy);
            snprintf(back, sizeof back, "%s/m%d_%d.back.onnx", tmp, a, entropy);
            remove(back);
            lsc_compress_report *rep = NULL;
            lsc_error err;
            CHECKF(lsc_compress_file(argv[a], out, NULL, &o, &rep, &err) == LSC_OK, "%s: %s", argv[a], err.message);
            if (rep)
                bundle[entropy] = rep->bundle_bytes;
            lsc_compress_report_free(&rep);
            CHECKF(lsc_decompress_file(out, back, &err) == LSC_OK, "%s: %s", argv[a], err.message);
            CHECKF(same_file(argv[a], back), "%s: entropy %d does not round-trip byte for byte", argv[a], entropy);
        }
        printf("%s: bundle %llu bytes, entropy tier %llu\n", argv[a], (unsigned long long)bundle[0],
               (unsigned long long)bundle[1]);
        CHECKF(bundle[1] < bundle[0], "%s: the entropy tier is not smaller", argv[a]);
    }
}

int main(int argc, char **argv)
{
    generated();
    eight_bit();
    corruptions();
    whole_values();
    mirrored_rows();
    version_1();
    column_classes();
    positions_shortcut(argc >= 2 ? argc - 2 : 0, argv + 2);
    if (argc >= 2)
        models(argv[1], argc - 2, argv + 2);
    return check_exit();
}
