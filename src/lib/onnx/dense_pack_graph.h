/* compress --entropy: the float32 initializers left dense in the main graph go into
 * one bundle entry, a dense pack (docs/format.md part 5), and one LscUnpack node
 * gives them back at run time; decompress puts them back where they were. */
#ifndef LSC_ONNX_DENSE_PACK_GRAPH_H
#define LSC_ONNX_DENSE_PACK_GRAPH_H

#include "onnx/onnx_model.h"

#define LSC_UNPACK_OP "LscUnpack"
/* Tensors under this many elements stay in the graph: their payload is smaller than
 * what moving them costs (an output name on the node, a record in the pack). */
#define LSC_PACK_MIN_ELEMENTS 16

/* One tensor going into a pack (values: count little-endian float32). */
typedef struct lsc_pack_item {
    uint32_t graph;        /* 0: main graph, else a body by walk order (docs/format.md 5.1) */
    uint32_t position;     /* in graph.initializer, or in graph.node for a Constant */
    int same;              /* 1: values equal to item same_as's (an earlier one), stored once */
    uint32_t same_as;
    int node;              /* 1: a Constant node's value (restore: the NodeProto) */
    int typed;
    int rank;
    const int64_t *dims;
    uint64_t count;
    const void *values;
    uint8_t *restore;
    size_t restore_len;
} lsc_pack_item;

/* The pack's bytes (dense_pack_build.c). */
lsc_status lsc_dense_pack_build(const lsc_pack_item *items, size_t n, lsc_bytes *blob, lsc_error *error);

/* One zstd frame (level 19) of n bytes appended to out: the dense pack's and the
 * names entry's (name_table.c). */
lsc_status lsc_pack_zstd_frame(const uint8_t *src, size_t n, lsc_bytes *out, lsc_error *error);

/* compress: packs the model's eligible tensors into `writer` when the pack is
 * smaller than their payloads; *packed: how many (0: the graph is unchanged), then
 * *pack_tensor is the graph's uint8 tensor standing for the pack. */
lsc_status lsc_pack_dense(lsc_onnx_model *model, lsc_bundle_writer *writer, const char *bundle_name,
                          size_t *packed, Onnx__TensorProto **pack_tensor, lsc_error *error);

/* decompress, stats, verify: the bundle a location names (opened once, owned by the caller). */
typedef lsc_status (*lsc_bundle_get_fn)(void *ctx, const char *location, const char *label, lsc_bundle **out,
                                        lsc_error *error);

/* The bundle entry an "ENTRY@LOCATION" record names (lsc_model_add_entry_prop wrote
 * it): its bundle, through get_bundle, and its index there. */
lsc_status lsc_bundle_entry_named(const char *value, lsc_bundle_get_fn get_bundle, void *ctx, const char *label,
                                  lsc_bundle **bundle, size_t *index, lsc_error *error);

/* decompress, stats, verify, first: the main graph's LscUnpack node and its pack tensor leave, the
 * packed tensors come back at their places; *unpacked: 1 if there was one. */
lsc_status lsc_unpack_dense(lsc_onnx_model *model, lsc_bundle_get_fn get_bundle, void *ctx, int *unpacked,
                            lsc_error *error);

#endif /* LSC_ONNX_DENSE_PACK_GRAPH_H */
