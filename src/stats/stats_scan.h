/* One look at a dense weight: where its non-zeros are, as the facts the formats
 * need (formats.h), the LSC block occupancy and a small picture of it. */
#ifndef LSC_STATS_STATS_SCAN_H
#define LSC_STATS_STATS_SCAN_H

#include <stdint.h>

#include "formats.h"
#include "onnx-lsc/lsc.h"

/* Pictures of a layer, down-sampled so that neither side exceeds STATS_MAP_MAX cells:
 * the block map (cells of the LSC block grid; a cell is the share of its blocks that
 * are kept, 0..255) and the element map (cells of the matrix; 0 when a cell holds no
 * non-zero, else 64 + 191 * its density, so that a lone non-zero still shows). */
#define STATS_MAP_MAX 192

typedef struct stats_map {
    uint32_t width, height;       /* cells */
    uint32_t per_cell_w, per_cell_h; /* blocks or elements; the last cells may hold fewer */
    uint8_t *cells;               /* height rows of width cells; NULL when not asked */
} stats_map;

typedef struct stats_scan {
    stats_facts facts;
    uint64_t blocks, kept_blocks; /* for the block shape given */
    stats_map map;                /* blocks */
    stats_map elements;           /* non-zeros */
} stats_scan;

/* Scans `tensor` as the rows x cols matrix LSC encodes (transposed: the transpose of
 * the 2-D view), counting blocks of block_h x block_w. Memory: one bit per element
 * and one per block, freed before returning, plus the maps when want_map. */
lsc_status stats_scan_tensor(const lsc_tensor *tensor, int transposed, uint32_t block_h,
                             uint32_t block_w, int want_map, stats_scan *out, lsc_error *error);

void stats_scan_free(stats_scan *scan);

#endif /* LSC_STATS_STATS_SCAN_H */
