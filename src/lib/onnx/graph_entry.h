/* compress --entropy: the rewritten model file loses what ONNX Runtime does not
 * need (Constant tensor names, default Conv attributes, restore records, repeated
 * Constants); one bundle entry, the graph entry (docs/format.md part 7), holds the
 * model as it was, coded against the file's own bytes; decompress, stats, verify
 * and seal take it back before anything else. */
#ifndef LSC_ONNX_GRAPH_ENTRY_H
#define LSC_ONNX_GRAPH_ENTRY_H

#include "onnx/dense_pack_graph.h"

#define LSC_GRAPH_MAGIC "LSCG"
#define LSC_GRAPH_VERSION 1
#define LSC_GRAPH_HEADER_SIZE 48
/* Model messages above this size keep their graph as it is (and readers refuse more). */
#define LSC_GRAPH_MAX_SIZE (64u << 20)
/* metadata_props key of the slim model; its value "ENTRY@LOCATION" as the names'. */
#define LSC_GRAPH_KEY LSC_ONNX_DOMAIN ".graph"

/* The slim form of a copy of the full model, in place (graph_slim.c); *dropped:
 * how many fields, nodes and names went or changed (0: m is unchanged). */
lsc_status lsc_slim_model(Onnx__ModelProto *m, size_t *dropped, lsc_error *error);

/* compress, after every other rewrite: *slim is the model to write instead of
 * model->proto (owned by the caller), or NULL when slimming does not pay. */
lsc_status lsc_slim_graph(const lsc_onnx_model *model, lsc_bundle_writer *writer, const char *bundle_name,
                          Onnx__ModelProto **slim, lsc_error *error);

/* The entry's frame decoded against `file` (the slim model's bytes): the full model
 * message into *out (malloc'd, *out_size bytes). Every header field is checked, and
 * with check_file that `file` is the one the entry was made against (the fuzzer
 * decodes frames against other bytes). */
lsc_status lsc_graph_entry_decode(const void *entry, size_t size, const void *file, size_t file_size,
                                  int check_file, const char *label, uint8_t **out, size_t *out_size,
                                  lsc_error *error);

/* decompress, stats, verify, seal, first: the full model in place of the slim one;
 * *restored: 1 if there was a record. With allow_stale, a model file edited since
 * compress (the entry does not fit it) stays slim and *restored is -1 (the seal
 * check reports it); else that is LSC_ERR_BAD_MODEL. */
lsc_status lsc_restore_graph(lsc_onnx_model *model, lsc_bundle_get_fn get_bundle, void *ctx, int *restored,
                             int allow_stale, lsc_error *error);

#endif /* LSC_ONNX_GRAPH_ENTRY_H */
