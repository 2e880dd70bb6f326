/* The names entry of compress --entropy (docs/format.md part 6): the original value
 * and node names the rewritten graph swapped for short ones. Layout constants shared
 * by its writer and reader (name_table.c). */
#ifndef LSC_ONNX_NAME_TABLE_H
#define LSC_ONNX_NAME_TABLE_H

#include "onnx/onnx_model.h"

#define LSC_NAMES_MAGIC "LSCN"
#define LSC_NAMES_VERSION 1
#define LSC_NAMES_HEADER_SIZE 40
#define LSC_NAMES_PAIR_SIZE 8 /* a pair's fixed part: the two lengths */

/* One renaming: the short name in the graph, the original it stands for. */
typedef struct lsc_name_pair {
    const char *short_name;
    const char *original;
} lsc_name_pair;

/* The entry's bytes: value pairs, then node pairs, one zstd frame. */
lsc_status lsc_name_table_build(const lsc_name_pair *values, size_t n_values, const lsc_name_pair *nodes,
                                size_t n_nodes, lsc_bytes *blob, lsc_error *error);

#endif /* LSC_ONNX_NAME_TABLE_H */
