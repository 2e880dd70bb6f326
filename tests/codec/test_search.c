/* The search's arithmetic against the encoder's: for many random matrices and
 * shapes (powers of two or not), lsc_search_evaluate's entry and kept-block counts
 * must equal those of the blob the encoder writes with that shape and width forced,
 * and the searched plan must be no larger than any forced candidate that leaves the
 * block rows the search must leave (min_block_rows). */
#include <stdio.h>

#include "check.h"
#include "codec/heights.h"
#include "codec/scan.h"
#include "codec/search.h"
#include "codec_util.h"

/* Random matrix: uniform, or with dead rows/columns and live tiles. */
static void make(float *m, uint32_t rows, uint32_t cols, int kind, double density, uint64_t *s)
{
    memset(m, 0, (size_t)rows * cols * sizeof *m);
    uint32_t th = 1 + (uint32_t)(rng_next(s) % 6), tw = 1 + (uint32_t)(rng_next(s) % 9);
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < cols; c++) {
            double p = density;
            if (kind == 1) /* tiles */
                p = (((r / th) * 7 + (c / tw) * 13) % 5 == 0) ? 0.7 : 0.0;
            else if (kind == 2) /* dead rows and columns */
                p = (r % 3 == 0 || c % 4 == 1) ? 0.0 : density * 2;
            if (rng_unit(s) < p)
                m[(size_t)r * cols + c] = (float)rng_unit(s) + 0.5f;
        }
}

/* The search's cost model (search.c kernel_work), written again from its
 * description: whole-width block rows of at most 65536 scan positions at a width
 * the fast decoder serves (b = 1..10, 12, 16) cost 12 per entry, 22 per value, 640
 * per block row and 1600 per row when taller than one row; other layouts 32 per
 * entry, 22 per value, 64 per row segment. */
static uint64_t model_work(uint32_t rows, uint32_t cols, uint32_t bh, uint32_t bw, unsigned b,
                           uint64_t entries, uint64_t nnz, uint64_t kept)
{
    int fast = bw == cols && (uint64_t)bh * cols <= 65536 &&
               ((b >= 1 && b <= 10) || b == 12 || b == 16);
    if (fast)
        return 12 * entries + 22 * nnz + 640 * (uint64_t)((rows + bh - 1) / bh) +
               (bh > 1 ? 1600 * (uint64_t)rows : 0);
    return 32 * entries + 22 * nnz + 64 * (uint64_t)bh * kept;
}

/* Row segments as search.c counts them: rows for whole-width blocks, block_h per kept
 * block otherwise, at most nnz. */
static uint64_t segments(uint32_t rows, uint32_t cols, uint32_t bh, uint32_t bw, uint64_t kept,
                         uint64_t nnz)
{
    uint64_t s = bw == cols ? rows : (uint64_t)bh * kept;
    return s < nnz ? s : nnz;
}

static uint64_t forced_size(const lsc_tensor *t, uint32_t bh, uint32_t bw, unsigned b, uint64_t *entries,
                            uint64_t *kept)
{
    lsc_encode_options o;
    lsc_encode_options_default(&o);
    o.block_h = bh;
    o.block_w = bw;
    o.index_bits = b;
    void *blob;
    size_t size;
    lsc_encode_stats st;
    lsc_error err;
    if (lsc_encode(t, &o, &blob, &size, &st, &err) != LSC_OK) {
        fprintf(stderr, "encode %ux%u b %u: %s\n", bh, bw, b, err.message);
        return 0;
    }
    *entries = st.value_entries + st.jump_entries;
    *kept = st.kept_blocks;
    uint64_t header_entries = 0;
    for (int i = 0; i < 8; i++)
        header_entries |= (uint64_t)((uint8_t *)blob)[40 + i] << (8 * i);
    CHECK(header_entries == *entries);
    lsc_free(blob);
    return size;
}

/* Matrices large enough for the all-heights pass to work chunk by chunk of rows
 * (heights.c evaluate_chunked: several chunks when max_h is well below rows): every
 * height it prices against the one-shape pass, at power-of-two, odd and wider-than-
 * GAP_HIST widths. */
static int check_chunked(uint64_t *s)
{
    static const struct { uint32_t rows, cols; int kind; double density; } mats[] = {
        {1536, 700, 0, 0.25}, {1031, 640, 1, 0.3}, {2048, 96, 2, 0.4}, {300, 9000, 0, 0.05},
    };
    int cases = 0;
    for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) {
        uint32_t rows = mats[i].rows, cols = mats[i].cols;
        float *m = malloc((size_t)rows * cols * sizeof *m);
        CHECK(m != NULL);
        make(m, rows, cols, mats[i].kind, mats[i].density, s);
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {rows, cols}, .data = m};
        lsc_matrix_shape shape;
        lsc_sparse sp;
        lsc_error err;
        CHECK(lsc_matrix_shape_of(&t, 0, &shape, &err) == LSC_OK);
        CHECK(lsc_sparse_build(&t, &shape, 0, 0, &sp, &err) == LSC_OK);
        lsc_search_scratch *scratch;
        lsc_heights *hs;
        CHECK(lsc_search_scratch_create(&sp, &scratch, &err) == LSC_OK);
        CHECK(lsc_heights_create(&sp, &hs, &err) == LSC_OK);
        uint32_t widths[] = {1, 2, 8, 64, cols, 1 + (uint32_t)(rng_next(s) % cols)};
        for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
            for (uint32_t max_h = 1; max_h <= 64; max_h *= 4) {
                uint32_t hh[LSC_MAX_HEIGHTS];
                lsc_shape_cost hc[LSC_MAX_HEIGHTS];
                unsigned hn = 0;
                CHECK(lsc_heights_evaluate(&sp, widths[wi], max_h, hs, hh, hc, &hn) == 0);
                CHECK(hn >= 1 && hh[hn - 1] >= max_h);
                for (unsigned k = 0; k < hn; k++) {
                    lsc_shape_cost direct;
                    lsc_search_evaluate(&sp, hh[k], widths[wi], scratch, &direct);
                    CHECKF(memcmp(&direct, &hc[k], sizeof direct) == 0,
                           "%ux%u up to height %u: chunked heights pass differs at %ux%u", rows, cols, max_h,
                           hh[k], widths[wi]);
                    cases++;
                }
            }
        lsc_heights_free(&hs);
        lsc_search_scratch_free(&scratch);
        lsc_sparse_free(&sp);
        free(m);
    }
    return cases;
}

/* Widths skipped on a sampled estimate (search.c, matrices of 2^20 values or more):
 * the plan equals the one priced at every width, at the default slack and one other,
 * on uniform, tiled and dead-row matrices, row-major and transposed, and on one whose
 * sampled bands (every 8th band of the tallest height) are denser than the rest, where
 * the estimate misleads and the check must fall back to every width. */
static int check_sampled(uint64_t *s)
{
    static const struct { uint32_t rows, cols; int kind; double density; } mats[] = {
        {4096, 2600, 0, 0.1}, {2600, 4096, 0, 0.1}, {4096, 3000, 1, 0.3}, {3072, 4096, 2, 0.2},
        {8192, 4096, 0, 0.04}, {4096, 4096, 3, 0.1},
    };
    int cases = 0;
    for (size_t i = 0; i < sizeof mats / sizeof *mats; i++) {
        uint32_t rows = mats[i].rows, cols = mats[i].cols;
        float *m = malloc((size_t)rows * cols * sizeof *m);
        CHECK(m != NULL);
        make(m, rows, cols, mats[i].kind == 3 ? 0 : mats[i].kind, mats[i].density, s);
        if (mats[i].kind == 3) /* the sampled bands (64 rows of every 512) 4x denser */
            for (uint32_t r = 0; r < rows; r++)
                for (uint32_t c = 0; r % 512 < 64 && c < cols; c++)
                    if (rng_unit(s) < 0.3)
                        m[(size_t)r * cols + c] = 1.5f;
        for (int transposed = 0; transposed < 2; transposed++) {
            lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {rows, cols}, .data = m};
            lsc_matrix_shape shape;
            lsc_sparse sp;
            lsc_error err;
            CHECK(lsc_matrix_shape_of(&t, transposed, &shape, &err) == LSC_OK);
            CHECK(lsc_sparse_build(&t, &shape, 0, 0, &sp, &err) == LSC_OK);
            CHECK(sp.nnz >= (1u << 20));
            for (unsigned k = 0; k < 2; k++) {
                uint32_t ppm = (uint32_t[]){LSC_DEFAULT_SIZE_SLACK_PPM, (uint32_t[]){3000, 50000}[i % 2]}[k];
                lsc_search_limits sampled = {0, 0, 0, 0, ppm, 0}, every = {0, 0, 0, 0, ppm, 1};
                lsc_plan a, b;
                CHECK(lsc_search_plan(&sp, 2, 4, &sampled, &a, &err) == LSC_OK);
                CHECK(lsc_search_plan(&sp, 2, 4, &every, &b, &err) == LSC_OK);
                CHECKF(a.block_h == b.block_h && a.block_w == b.block_w && a.index_bits == b.index_bits &&
                           a.layout.total == b.layout.total,
                       "%ux%u kind %d transposed %d slack %u: sampled %ux%u b %u (%llu B), every width "
                       "%ux%u b %u (%llu B)",
                       rows, cols, mats[i].kind, transposed, ppm, a.block_h, a.block_w, a.index_bits,
                       (unsigned long long)a.layout.total, b.block_h, b.block_w, b.index_bits,
                       (unsigned long long)b.layout.total);
                cases++;
            }
            lsc_sparse_free(&sp);
        }
        free(m);
    }
    return cases;
}

int main(void)
{
    uint64_t s = 12345;
    int cases = 0;
    for (int iter = 0; iter < 60; iter++) {
        uint32_t rows = 1 + (uint32_t)(rng_next(&s) % (iter < 10 ? 4 : 70));
        uint32_t cols = 1 + (uint32_t)(rng_next(&s) % (iter < 20 ? 9 : 90));
        int kind = iter % 3;
        double density = (double[]){0.0, 0.003, 0.02, 0.1, 0.4, 0.9}[rng_next(&s) % 6];
        float *m = malloc((size_t)rows * cols * sizeof *m);
        make(m, rows, cols, kind, density, &s);
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {rows, cols}, .data = m};
        lsc_matrix_shape shape;
        lsc_sparse sp;
        lsc_error err;
        lsc_search_scratch *scratch;
        CHECK(lsc_matrix_shape_of(&t, 0, &shape, &err) == LSC_OK);
        CHECK(lsc_sparse_build(&t, &shape, 0, 0, &sp, &err) == LSC_OK);
        CHECK(lsc_search_scratch_create(&sp, &scratch, &err) == LSC_OK);
        for (int trial = 0; trial < 6; trial++) {
            uint32_t bh = 1 + (uint32_t)(rng_next(&s) % rows), bw = 1 + (uint32_t)(rng_next(&s) % cols);
            if (trial == 0)
                bh = rows, bw = cols;
            lsc_shape_cost cost;
            lsc_search_evaluate(&sp, bh, bw, scratch, &cost);
            for (unsigned b = 1; b <= 16; b += (b < 4 ? 1 : 5)) {
                uint64_t entries = 0, kept = 0;
                forced_size(&t, bh, bw, b, &entries, &kept);
                CHECKF(entries == cost.entries[b] && kept == cost.kept_blocks,
                       "%ux%u kind %d density %g shape %ux%u b %u: search %llu entries %llu kept, "
                       "encoder %llu / %llu",
                       rows, cols, kind, density, bh, bw, b, (unsigned long long)cost.entries[b],
                       (unsigned long long)cost.kept_blocks, (unsigned long long)entries,
                       (unsigned long long)kept);
                cases++;
            }
        }
        /* The all-heights pass against the one-shape pass, for every width candidate and
         * a few odd widths. */
        lsc_heights *hs_scratch;
        CHECK(lsc_heights_create(&sp, &hs_scratch, &err) == LSC_OK);
        uint32_t widths[20];
        unsigned nw = 0;
        for (uint32_t w = 1; w <= cols; w *= 2)
            widths[nw++] = w;
        widths[nw++] = cols;
        widths[nw++] = 1 + (uint32_t)(rng_next(&s) % cols);
        for (unsigned wi = 0; wi < nw; wi++) {
            uint32_t hh[LSC_MAX_HEIGHTS];
            lsc_shape_cost hc[LSC_MAX_HEIGHTS];
            unsigned hn = 0;
            CHECK(lsc_heights_evaluate(&sp, widths[wi], rows, hs_scratch, hh, hc, &hn) == 0);
            CHECK(hn >= 1 && hh[hn - 1] == rows);
            for (unsigned k = 0; k < hn; k++) {
                lsc_shape_cost direct;
                lsc_search_evaluate(&sp, hh[k], widths[wi], scratch, &direct);
                CHECKF(memcmp(&direct, &hc[k], sizeof direct) == 0, "%ux%u: heights pass differs at %ux%u",
                       rows, cols, hh[k], widths[wi]);
                cases++;
            }
            /* Stopping at a lower height gives the same prices for every height up to it. */
            uint32_t max_h = 1 + (uint32_t)(rng_next(&s) % rows);
            uint32_t hh2[LSC_MAX_HEIGHTS];
            lsc_shape_cost hc2[LSC_MAX_HEIGHTS];
            unsigned hn2 = 0, want = 0;
            for (unsigned k = 0; k < hn; k++)
                want += hh[k] <= max_h;
            CHECK(lsc_heights_evaluate(&sp, widths[wi], max_h, hs_scratch, hh2, hc2, &hn2) == 0);
            CHECKF(hn2 >= want && memcmp(hh2, hh, want * sizeof *hh) == 0 &&
                       memcmp(hc2, hc, want * sizeof *hc) == 0,
                   "%ux%u width %u: heights up to %u differ when the pass stops there", rows, cols, widths[wi],
                   max_h);
        }
        lsc_heights_free(&hs_scratch);
        /* With a size slack: within the slack of the smallest, the least modelled kernel
         * work of every forced power-of-two / whole candidate, and what lsc_encode
         * writes; the default options use LSC_DEFAULT_SIZE_SLACK_PPM. Unless that plan
         * has narrow blocks and a whole-width one within twice the slack has at most
         * half its row segments: then the smallest such whole-width plan (search.c,
         * least_work). */
        {
            lsc_encode_options o;
            lsc_encode_options_default(&o);
            CHECK(o.size_slack_ppm == LSC_DEFAULT_SIZE_SLACK_PPM);
            o.size_slack_ppm = 0;
            lsc_encode_stats small, fast;
            CHECK(lsc_encode_plan(&t, &o, &small, &err) == LSC_OK);
            o.size_slack_ppm =
                (uint32_t[]){ 1000, LSC_DEFAULT_SIZE_SLACK_PPM, 100000, 1000000 }[iter % 4];
            CHECK(lsc_encode_plan(&t, &o, &fast, &err) == LSC_OK);
            uint64_t bound = small.blob_bytes + small.blob_bytes * o.size_slack_ppm / 1000000;
            uint64_t wide = small.blob_bytes + small.blob_bytes * 2 * o.size_slack_ppm / 1000000;
            int fast_whole = fast.block_w == cols;
            uint64_t work = model_work(rows, cols, fast.block_h, fast.block_w, fast.index_bits,
                                       fast.value_entries + fast.jump_entries, fast.nnz,
                                       fast.kept_blocks);
            uint64_t fast_segs = segments(rows, cols, fast.block_h, fast.block_w, fast.kept_blocks,
                                          fast.nnz);
            CHECKF(fast.blob_bytes <= (fast_whole ? wide : bound) && fast.blob_bytes >= small.blob_bytes,
                   "%ux%u slack %u ppm: %llu bytes, smallest %llu", rows, cols, o.size_slack_ppm,
                   (unsigned long long)fast.blob_bytes, (unsigned long long)small.blob_bytes);
            void *blob;
            size_t size;
            CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
            CHECK(size == fast.blob_bytes);
            lsc_free(blob);
            uint32_t need = lsc_search_min_block_rows(rows, 0);
            int less_work = 0; /* a candidate within the slack has less work than the choice */
            uint64_t whole_least = UINT64_MAX; /* the smallest whole-width candidate */
            for (uint32_t bh = 1; rows * cols <= 800 && bh <= 2 * rows; bh *= 2)
                for (uint32_t bw = 1; bw <= 2 * cols; bw *= 2) {
                    uint32_t h = bh > rows ? rows : bh, w = bw > cols ? cols : bw;
                    if ((rows + h - 1) / h < need)
                        continue;
                    for (unsigned b = 1; b <= 16; b++) {
                        uint64_t e, k, sz = forced_size(&t, h, w, b, &e, &k);
                        uint64_t wk = model_work(rows, cols, h, w, b, e, fast.nnz, k);
                        less_work |= sz <= bound && wk < work;
                        if (w == cols && sz < whole_least)
                            whole_least = sz;
                        CHECKF(fast_whole || w != cols || sz > wide ||
                                   2 * segments(rows, cols, h, w, k, fast.nnz) > fast_segs,
                               "%ux%u slack %u: narrow %ux%u chosen, whole %ux%u b %u: %llu bytes",
                               rows, cols, o.size_slack_ppm, fast.block_h, fast.block_w, h, w, b,
                               (unsigned long long)sz);
                    }
                    if (bw > cols)
                        break;
                }
            CHECKF(!less_work || (fast_whole && fast.blob_bytes <= whole_least),
                   "%ux%u slack %u: %ux%u b %u, %llu bytes, work %llu: not the least work, and "
                   "not the smallest whole-width plan (%llu bytes)",
                   rows, cols, o.size_slack_ppm, fast.block_h, fast.block_w, fast.index_bits,
                   (unsigned long long)fast.blob_bytes, (unsigned long long)work,
                   (unsigned long long)whole_least);
        }
        /* The plan is the blob, and no power-of-two / whole candidate that leaves the
         * required block rows is smaller: with the default least block-row count, with
         * size alone (1), and with a random one. */
        uint32_t min_brs[3] = {0, 1, 1 + (uint32_t)(rng_next(&s) % rows)};
        for (int mi = 0; mi < 3; mi++) {
            lsc_encode_options o;
            lsc_encode_options_default(&o);
            o.size_slack_ppm = 0;
            o.min_block_rows = min_brs[mi];
            uint32_t need = lsc_search_min_block_rows(rows, min_brs[mi]);
            lsc_encode_stats plan;
            CHECK(lsc_encode_plan(&t, &o, &plan, &err) == LSC_OK);
            CHECKF((rows + plan.block_h - 1) / plan.block_h >= need,
                   "%ux%u: min_block_rows %u: plan %ux%u leaves fewer than %u block rows", rows,
                   cols, min_brs[mi], plan.block_h, plan.block_w, need);
            void *blob;
            size_t size;
            CHECK(lsc_encode(&t, &o, &blob, &size, NULL, &err) == LSC_OK);
            CHECK(size == plan.blob_bytes);
            lsc_free(blob);
            if (rows * cols > 800)
                continue;
            uint32_t hs[] = {1, 2, 4, 8, 16, 32, 64, rows}, ws[] = {1, 2, 4, 8, 16, 32, 64, cols};
            for (unsigned i = 0; i < 8; i++)
                for (unsigned j = 0; j < 8; j++) {
                    if (hs[i] > rows || ws[j] > cols || (rows + hs[i] - 1) / hs[i] < need)
                        continue;
                    for (unsigned b = 1; b <= 16; b++) {
                        uint64_t e, k, sz = forced_size(&t, hs[i], ws[j], b, &e, &k);
                        CHECKF(sz >= plan.blob_bytes,
                               "%ux%u min_block_rows %u: forced %ux%u b %u gives %llu < searched %llu",
                               rows, cols, min_brs[mi], hs[i], ws[j], b, (unsigned long long)sz,
                               (unsigned long long)plan.blob_bytes);
                    }
                }
        }
        lsc_search_scratch_free(&scratch);
        lsc_sparse_free(&sp);
        free(m);
    }
    /* The default policy on taller layers: a full-height block would be smallest for this
     * matrix (a few dense columns), yet the plan leaves rows / 32 (<= 64) block rows;
     * size alone (1) takes the full height; a forced block_h is not overridden. */
    for (uint32_t rows = 64; rows <= 4096; rows *= 4) {
        uint32_t cols = 40;
        float *m = calloc((size_t)rows * cols, sizeof *m);
        for (uint32_t r = 0; r < rows; r++)
            m[(size_t)r * cols + (r % 3)] = 1.0f;
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {rows, cols}, .data = m};
        lsc_encode_options o;
        lsc_encode_options_default(&o);
        o.size_slack_ppm = 0;
        lsc_encode_stats st;
        lsc_error err;
        CHECK(lsc_encode_plan(&t, &o, &st, &err) == LSC_OK);
        uint32_t want = rows / 32 > 64 ? 64 : rows / 32;
        CHECKF((rows + st.block_h - 1) / st.block_h >= want, "%u rows: default plan %ux%u", rows,
               st.block_h, st.block_w);
        CHECK(lsc_search_default_block_rows(rows) == want);
        o.min_block_rows = 1;
        CHECK(lsc_encode_plan(&t, &o, &st, &err) == LSC_OK);
        CHECKF(st.block_h == rows, "%u rows: size-only plan %ux%u, expected full height", rows,
               st.block_h, st.block_w);
        o.min_block_rows = 0;
        o.block_h = rows;
        o.block_w = cols;
        CHECK(lsc_encode_plan(&t, &o, &st, &err) == LSC_OK);
        CHECK(st.block_h == rows);
        free(m);
    }
    cases += check_chunked(&s);
    cases += check_sampled(&s);
    printf("%d shape/width cases compared\n", cases);
    return check_exit();
}
