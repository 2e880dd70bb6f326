/* Round trip through lsc_encode -> lsc_weight_open -> lsc_weight_decode on random
 * tensors of every dtype, many shapes and densities, searched and forced encodings,
 * both orientations, with and without bit_exact. Checks every element bit for bit,
 * the stats' arithmetic, the plan against the blob, and determinism. */
#include <stdio.h>

#include "check.h"
#include "codec/blob.h"
#include "codec_util.h"

static lsc_exec exec3; /* lsc_weight_fill's threads */

static uint64_t product(int rank, const int64_t *dims)
{
    uint64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (uint64_t)dims[i];
    return n;
}

static void check_stats(const lsc_encode_stats *st, size_t blob_size, unsigned E, const char *what)
{
    CHECKF(st->blob_bytes == blob_size, "%s: blob_bytes %llu, blob %zu", what,
           (unsigned long long)st->blob_bytes, blob_size);
    CHECKF(st->value_bytes + st->meta_bytes == st->blob_bytes, "%s: value + meta != blob", what);
    CHECKF(st->header_bytes + st->bitmap_bytes + st->pointer_bytes + st->index_bytes == st->meta_bytes,
           "%s: meta parts do not add up", what);
    CHECKF(st->value_bytes == st->nnz * E, "%s: value bytes", what);
    CHECKF(st->value_entries == st->nnz, "%s: value entries", what);
    CHECKF(st->elements == st->rows * st->cols, "%s: elements", what);
    CHECKF(st->dense_bytes == st->elements * E, "%s: dense bytes", what);
    CHECKF(st->kept_blocks <= st->blocks, "%s: kept blocks", what);
    CHECKF(st->blocks == ((st->rows + st->block_h - 1) / st->block_h) *
                             ((st->cols + st->block_w - 1) / st->block_w),
           "%s: blocks", what);
}

static void run_case(lsc_dtype t, int rank, const int64_t *dims, double density,
                     const lsc_encode_options *o, uint64_t seed)
{
    unsigned E = (unsigned)lsc_dtype_size((int)t);
    uint64_t n = product(rank, dims);
    uint8_t *data = malloc(n * E), *out = malloc(n * E);
    uint64_t s = seed;
    fill_random(data, n, t, density, 0.4, &s);
    lsc_tensor tensor = {.dtype = t, .rank = rank, .data = data};
    for (int i = 0; i < rank; i++)
        tensor.dims[i] = dims[i];
    char what[200];
    snprintf(what, sizeof what, "dtype %d rank %d dims[0] %lld n %llu density %g bh %u bw %u b %u tr %d be %d",
             (int)t, rank, rank ? (long long)dims[0] : 0LL, (unsigned long long)n, density, o->block_h,
             o->block_w, o->index_bits, o->transposed, o->bit_exact);

    lsc_error err = {0};
    void *blob = NULL, *blob2 = NULL;
    size_t size = 0, size2 = 0;
    lsc_encode_stats st, st2, plan;
    lsc_status status = lsc_encode(&tensor, o, &blob, &size, &st, &err);
    CHECKF(status == LSC_OK, "%s: encode: %s", what, err.message);
    if (status != LSC_OK)
        goto done;
    check_stats(&st, size, E, what);
    CHECKF(lsc_encode_plan(&tensor, o, &plan, &err) == LSC_OK, "%s: plan: %s", what, err.message);
    CHECKF(memcmp(&plan, &st, sizeof st) == 0, "%s: plan differs from encode stats", what);
    CHECKF(lsc_encode(&tensor, o, &blob2, &size2, &st2, &err) == LSC_OK, "%s: encode 2", what);
    CHECKF(size2 == size && blob2 && memcmp(blob, blob2, size) == 0, "%s: not deterministic", what);
    if (o->index_bits)
        CHECKF(st.index_bits == o->index_bits, "%s: forced width ignored", what);
    if (o->block_h)
        CHECKF(st.block_h == o->block_h && st.block_w == o->block_w, "%s: forced shape ignored", what);

    /* Expected counts. */
    uint64_t nnz = 0, neg = 0, sign = 1ull << (E * 8 - 1);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = load_elem(data + i * E, E);
        neg += v == sign;
        nnz += (v != 0 && v != sign) || (v == sign && o->bit_exact);
    }
    CHECKF(st.nnz == nnz, "%s: nnz %llu, expected %llu", what, (unsigned long long)st.nnz,
           (unsigned long long)nnz);
    CHECKF(st.signed_zeros == neg, "%s: signed zeros", what);

    lsc_weight *w = NULL;
    status = lsc_weight_open(blob, size, "t", &w, &err);
    CHECKF(status == LSC_OK, "%s: open: %s", what, err.message);
    if (status != LSC_OK)
        goto done;
    lsc_weight_info info;
    lsc_weight_get_info(w, &info);
    CHECKF(info.dtype == t && info.rank == rank && info.nnz == nnz && info.blob_size == size &&
               info.transposed == (o->transposed != 0) && info.signed_zeros == (o->bit_exact != 0) &&
               info.typed_field == (o->typed_field != 0) && info.index_bits == st.index_bits &&
               info.block_h == st.block_h && info.block_w == st.block_w,
           "%s: info", what);
    for (int i = 0; i < rank; i++)
        CHECK(info.dims[i] == dims[i]);
    CHECKF(lsc_weight_decode(w, out, n * E - 1, &err) == LSC_ERR_INVALID_ARGUMENT, "%s: short dst", what);
    memset(out, 0xA5, n * E);
    CHECKF(lsc_weight_decode(w, out, n * E, &err) == LSC_OK, "%s: decode: %s", what, err.message);
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = load_elem(data + i * E, E), d = load_elem(out + i * E, E);
        uint64_t want = (v == sign && !o->bit_exact) ? 0 : v;
        bad += d != want;
    }
    CHECKF(bad == 0, "%s: %llu elements differ", what, (unsigned long long)bad);
    /* lsc_weight_fill into zeros, on 3 threads (parts of the block rows side by side),
     * gives the same bytes. */
    uint8_t *filled = calloc(n, E);
    CHECK(filled != NULL);
    if (filled) {
        CHECKF(lsc_weight_fill(w, filled, n * E, &exec3, &err) == LSC_OK, "%s: fill: %s", what, err.message);
        CHECKF(memcmp(filled, out, n * E) == 0, "%s: fill on threads differs from decode", what);
        free(filled);
    }
    lsc_weight_close(&w);
    CHECK(w == NULL);
done:
    lsc_free(blob);
    lsc_free(blob2);
    free(data);
    free(out);
}

/* A transposed fp32 weight past 16 MiB: lsc_weight_fill writes every element (no
 * zeroing needed), its tiles streamed past the cache into an aligned dst and stored
 * plainly into an unaligned one, the same bytes with AVX2 and with the portable
 * transposition, on one thread and on three. 2053 dense rows: a last group of
 * columns narrower than the 8 the AVX2 loop takes. */
static void check_large_transposed(void)
{
    int64_t dims[2] = {2053, 2048};
    uint64_t n = 2053 * 2048, s = 99;
    float *data = malloc(n * 4), *ref = malloc(n * 4);
    uint8_t *dst = aligned_alloc(64, n * 4 + 64);
    CHECK(data && ref && dst);
    if (!data || !ref || !dst)
        goto done;
    fill_random((uint8_t *)data, n, LSC_DTYPE_FLOAT32, 0.1, 0.4, &s);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {dims[0], dims[1]}, .data = data};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = 1;
    void *blob = NULL;
    size_t size = 0;
    lsc_error err;
    lsc_weight *w = NULL;
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    CHECK(blob && lsc_weight_open(blob, size, "large", &w, &err) == LSC_OK);
    if (!w) {
        lsc_free(blob);
        goto done;
    }
    CHECK(lsc_weight_fill_writes_all(w) == 1);
    CHECK(lsc_weight_decode(w, ref, n * 4, &err) == LSC_OK);
    for (int variant = 0; variant < 8; variant++) {
        lsc_exec exec = {.pool = variant & 1 ? exec3.pool : NULL,
                         .cpu_mask = variant & 2 ? LSC_CPU_SCALAR : 0};
        uint8_t *at = dst + (variant & 4 ? 4 : 0);
        memset(at, 0xA5, n * 4);
        CHECKF(lsc_weight_fill(w, at, n * 4, &exec, &err) == LSC_OK, "large fill %d: %s", variant, err.message);
        CHECKF(memcmp(at, ref, n * 4) == 0, "large transposed fill %d differs from decode", variant);
    }
    uint64_t bad = 0;
    for (uint64_t i = 0; i < n; i++) { /* and decode is the original (-0.0 read as +0.0) */
        uint32_t a, b;
        memcpy(&a, data + i, 4);
        memcpy(&b, ref + i, 4);
        bad += b != (a == UINT32_C(0x80000000) ? 0 : a);
    }
    CHECKF(bad == 0, "large transposed: %llu elements differ", (unsigned long long)bad);
    lsc_weight_close(&w);
    lsc_free(blob);
    o.transposed = 0; /* row-major: only the stored values are written */
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    CHECK(blob && lsc_weight_open(blob, size, "large", &w, &err) == LSC_OK);
    if (w)
        CHECK(lsc_weight_fill_writes_all(w) == 0);
    lsc_weight_close(&w);
    lsc_free(blob);
done:
    free(data);
    free(ref);
    free(dst);
}

/* A transposed weight whose tile would pass 64 MiB (one 4096-row block): decoded
 * straight into dst, which must then hold zeros; on 1 and 3 threads. */
static void check_untiled_transposed(void)
{
    uint64_t n = 4100 * 4096, s = 7;
    uint32_t *data = malloc(n * 4), *ref = malloc(n * 4), *filled = calloc(n, 4);
    CHECK(data && ref && filled);
    if (!data || !ref || !filled)
        goto done;
    fill_random((uint8_t *)data, n, LSC_DTYPE_FLOAT32, 0.01, 0, &s);
    lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {4100, 4096}, .data = data};
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.transposed = 1;
    o.block_h = 4096;
    o.block_w = 4100;
    o.index_bits = 8;
    void *blob = NULL;
    size_t size = 0;
    lsc_error err;
    lsc_weight *w = NULL;
    CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
    CHECK(blob && lsc_weight_open(blob, size, "untiled", &w, &err) == LSC_OK);
    if (w) {
        CHECK(lsc_weight_fill_writes_all(w) == 0);
        CHECK(lsc_weight_decode(w, ref, n * 4, &err) == LSC_OK);
        CHECK(memcmp(ref, data, n * 4) == 0);
        for (int threads = 0; threads < 2; threads++) {
            lsc_exec exec = {.pool = threads ? exec3.pool : NULL};
            memset(filled, 0, n * 4);
            CHECK(lsc_weight_fill(w, filled, n * 4, &exec, &err) == LSC_OK);
            CHECKF(memcmp(filled, ref, n * 4) == 0, "untiled transposed fill (threads %d) differs", threads);
        }
    }
    lsc_weight_close(&w);
    lsc_free(blob);
done:
    free(data);
    free(ref);
    free(filled);
}

int main(void)
{
    static const lsc_dtype types[] = {LSC_DTYPE_FLOAT32, LSC_DTYPE_FLOAT16, LSC_DTYPE_BFLOAT16,
                                      LSC_DTYPE_FLOAT64};
    static const double densities[] = {0, 0.001, 0.01, 0.1, 0.5, 1};
    struct {
        int rank;
        int64_t dims[4];
    } shapes[] = {
        {0, {0}},         {1, {1}},          {1, {57}},         {2, {1, 1}},     {2, {1, 200}},
        {2, {200, 1}},    {2, {13, 29}},     {2, {64, 64}},     {2, {100, 75}},  {4, {6, 3, 5, 5}},
        {4, {33, 1, 1, 7}}, {3, {5, 7, 11}}, {2, {300, 700}}, /* the last: fill runs on threads */
    };
    uint64_t seed = 1;
    lsc_error pool_err;
    CHECK(lsc_pool_create(3, &exec3.pool, &pool_err) == LSC_OK);
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
            for (size_t di = 0; di < sizeof densities / sizeof *densities; di++)
                for (int variant = 0; variant < 9; variant++) {
                    lsc_encode_options o;
                    lsc_encode_options_default(&o);
                    o.transposed = variant & 1;
                    o.bit_exact = (variant >> 1) & 1;
                    o.typed_field = variant == 3;
                    /* Encoded matrix sides, to force shapes that fit. */
                    int rank = shapes[si].rank;
                    const int64_t *d = shapes[si].dims;
                    uint64_t lead = rank >= 2 ? (uint64_t)d[0] : 1, rest = product(rank, d) / lead;
                    uint32_t rows = (uint32_t)(o.transposed ? rest : lead);
                    uint32_t cols = (uint32_t)(o.transposed ? lead : rest);
                    switch (variant) {
                    case 4: o.index_bits = 1; break;
                    case 5: o.index_bits = 16; break;
                    case 6: o.block_h = 1; o.block_w = 1; o.index_bits = 3; break;
                    case 7: o.block_h = rows < 3 ? rows : 3; o.block_w = cols < 5 ? cols : 5; break;
                    case 8: o.block_h = rows; o.block_w = cols; o.index_bits = 2; break;
                    }
                    run_case(types[ti], rank, d, densities[di], &o, seed++);
                }
    /* Caller mistakes are errors, not crashes. */
    {
        float v[6] = {1, 0, 0, 2, 0, 3};
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {2, 3}, .data = v};
        lsc_encode_options o;
        void *blob = NULL;
        size_t size = 0;
        lsc_error err;
        lsc_encode_options_default(&o);
        o.block_h = 1; /* block_w not forced */
        CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT && !blob);
        o.block_h = 3; /* taller than the matrix */
        o.block_w = 1;
        CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        lsc_encode_options_default(&o);
        o.index_bits = 17;
        CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        lsc_tensor bad = t;
        bad.dtype = (lsc_dtype)6; /* int32 */
        CHECK(lsc_encode(&bad, NULL, &blob, &size, NULL, &err) == LSC_ERR_UNSUPPORTED);
        bad = t;
        bad.dims[1] = 0;
        CHECK(lsc_encode(&bad, NULL, &blob, &size, NULL, &err) == LSC_ERR_UNSUPPORTED);
        bad = t;
        bad.dims[1] = -3;
        CHECK(lsc_encode(&bad, NULL, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        bad = t;
        bad.rank = 9;
        CHECK(lsc_encode(&bad, NULL, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        bad = t;
        bad.data = NULL;
        CHECK(lsc_encode(&bad, NULL, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        CHECK(lsc_encode(NULL, NULL, &blob, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        CHECK(lsc_encode(&t, NULL, NULL, &size, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
        CHECK(lsc_dtype_size(1) == 4 && lsc_dtype_size(10) == 2 && lsc_dtype_size(11) == 8 &&
              lsc_dtype_size(16) == 2 && lsc_dtype_size(7) == 0);
        CHECK(lsc_encode(&t, NULL, &blob, &size, NULL, &err) == LSC_OK);
        lsc_weight *w = NULL;
        CHECK(lsc_weight_open(blob, size, NULL, &w, &err) == LSC_OK);
        CHECK(lsc_weight_decode(w, NULL, 24, &err) == LSC_ERR_INVALID_ARGUMENT);
        lsc_weight_close(&w);
        lsc_weight_close(&w);
        lsc_weight_close(NULL);
        lsc_free(blob);
    }
    /* A pruned-layer size at low densities. */
    for (size_t di = 1; di < 4; di++) {
        lsc_encode_options o;
        lsc_encode_options_default(&o);
        int64_t dims[2] = {300, 784};
        run_case(LSC_DTYPE_FLOAT32, 2, dims, densities[di], &o, seed++);
        o.transposed = 1;
        run_case(LSC_DTYPE_FLOAT16, 2, dims, densities[di], &o, seed++);
    }
    check_large_transposed();
    check_untiled_transposed();
    lsc_pool_free(&exec3.pool);
    return check_exit();
}
