/* The graphs a dense pack reaches and the value names that may move (docs/format.md
 * 5.1): shared by compress and decompress (dense_pack_graph.c). */
#ifndef LSC_ONNX_DENSE_PACK_SCOPE_H
#define LSC_ONNX_DENSE_PACK_SCOPE_H

#include "common/name_map.h"
#include "onnx/onnx_model.h"

/* Every graph of a model numbered in walk order: the main graph 0, then depth first,
 * per node its attributes' graphs in order (`g`, then `graphs`). Bodies deeper than
 * LSC_PACK_MAX_DEPTH are not listed (`deep` is then 1). */
#define LSC_PACK_MAX_DEPTH 64
typedef struct lsc_graph_list {
    Onnx__GraphProto **graph;
    size_t n, cap;
    int deep;
} lsc_graph_list;

lsc_status lsc_graph_list_build(Onnx__GraphProto *main_graph, lsc_graph_list *list, lsc_error *error);
void lsc_graph_list_free(lsc_graph_list *list);

#define LSC_NAME_GRAPH_IO 1u  /* an input or output of some graph */
#define LSC_NAME_RECURRENT 2u /* the W or R of an LscLSTM / LscGRU / LscRNN */

/* Value names over the listed graphs: definitions (initializers, node outputs, graph
 * inputs; counted up to 2) and the flags above. Keys are borrowed from the model. */
typedef struct lsc_pack_names {
    lsc_name_map map;
    uint32_t *defs;
    uint8_t *flags;
    size_t n, cap;
} lsc_pack_names;

lsc_status lsc_pack_names_build(const lsc_graph_list *list, lsc_pack_names *names, lsc_error *error);
/* The flags of a name, and *defs its definitions (0 for a name never seen). */
uint8_t lsc_pack_names_flags(const lsc_pack_names *names, const char *name, uint32_t *defs);
void lsc_pack_names_free(lsc_pack_names *names);

#endif /* LSC_ONNX_DENSE_PACK_SCOPE_H */
