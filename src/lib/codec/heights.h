/* Pricing every candidate block height for one block width at once (the search's
 * fast path; search.c holds the plain one-shape pass it is checked against). */
#ifndef LSC_CODEC_HEIGHTS_H
#define LSC_CODEC_HEIGHTS_H

#include "codec/search.h"

#define LSC_MAX_HEIGHTS 34

typedef struct lsc_heights lsc_heights;

lsc_status lsc_heights_create(const lsc_sparse *m, lsc_heights **out, lsc_error *error);
void lsc_heights_free(lsc_heights **h);

/* Fills heights[0..*n) (powers of two up to rows, then rows itself if it is not one;
 * those above max_h left out when max_h < rows, which saves their levels) and their
 * costs for block width bw. Summaries take 24 bytes per value of a chunk of rows
 * (the whole matrix when max_h leaves no chunks), allocated here on first need.
 * Returns 0, or 1 when positions would not fit the 32-bit summaries or their memory
 * is not available (then the caller prices those shapes one by one). */
int lsc_heights_evaluate(const lsc_sparse *m, uint32_t bw, uint32_t max_h, lsc_heights *h,
                         uint32_t *heights, lsc_shape_cost *costs, unsigned *n);

#endif /* LSC_CODEC_HEIGHTS_H */
