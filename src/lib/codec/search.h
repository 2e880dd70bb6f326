/* Choosing a layer's block shape and index width (docs/format.md 1.8): exact blob
 * sizes for many candidates, from one pass over the non-zeros per block shape. */
#ifndef LSC_CODEC_SEARCH_H
#define LSC_CODEC_SEARCH_H

#include <stdint.h>

#include "codec/layout.h"
#include "codec/scan.h"
#include "codec/sri.h"

/* What the search may choose; 0 = search that parameter. */
typedef struct lsc_search_limits {
    unsigned index_bits;
    uint32_t block_h, block_w; /* both 0 or both forced */
    uint32_t min_block_rows;   /* searched block_h leaves at least this many block rows;
                                  0 = lsc_search_default_block_rows, 1 = size only */
    uint32_t size_slack_ppm;   /* 0: the smallest plan; else, of the plans at most this
                                  many parts per million larger than the smallest, the
                                  one the kernels multiply fastest (search.c kernel_work) */
    int price_every_width;     /* 1: no width skipped on a sampled estimate (search.c) */
} lsc_search_limits;

/* The default least block-row count: rows / 32, at most 64 (256 rows -> 8, 500 -> 15,
 * 4096 -> 64; below 64 rows, size alone). Kernels split the work by block rows, so a
 * single full-height block row runs on one thread; a block row costs a pointer. */
uint32_t lsc_search_default_block_rows(uint32_t rows);

/* The least block-row count the search keeps for a limit (0 = default), at most rows. */
uint32_t lsc_search_min_block_rows(uint32_t rows, uint32_t limit);

/* The chosen encoding, and its exact layout. */
typedef struct lsc_plan {
    uint32_t block_h, block_w;
    unsigned index_bits;
    uint64_t n_entries, kept_blocks;
    lsc_blob_layout layout;
} lsc_plan;

/* SRI entries of one block shape, for every index width. */
typedef struct lsc_shape_cost {
    uint64_t entries[LSC_INDEX_BITS_MAX + 1]; /* [b], b = 1..16 */
    uint64_t kept_blocks;
} lsc_shape_cost;

typedef struct lsc_search_scratch lsc_search_scratch;

lsc_status lsc_search_scratch_create(const lsc_sparse *m, lsc_search_scratch **out, lsc_error *error);
void lsc_search_scratch_free(lsc_search_scratch **scratch);

/* Counts the entries of shape block_h x block_w for every width (1 <= block_h <= rows,
 * 1 <= block_w <= cols), from the histogram of gaps in scan order. */
void lsc_search_evaluate(const lsc_sparse *m, uint32_t block_h, uint32_t block_w,
                         lsc_search_scratch *scratch, lsc_shape_cost *cost);

/* The smallest blob over the candidates the limits allow (or, with a size slack,
 * the least kernel work within it). Deterministic: ties go to fewer blocks, then
 * smaller index_bits, block_h, block_w. */
lsc_status lsc_search_plan(const lsc_sparse *m, int rank, unsigned elem_size,
                           const lsc_search_limits *limits, lsc_plan *plan, lsc_error *error);

#endif /* LSC_CODEC_SEARCH_H */
