/* compress --entropy: the rewritten graph's internal value names and its node names
 * become short ones, the originals go into one bundle entry (docs/format.md part 6);
 * decompress, stats, verify and seal put them back before anything else. */
#ifndef LSC_ONNX_SHORT_NAMES_H
#define LSC_ONNX_SHORT_NAMES_H

#include "onnx/dense_pack_graph.h"

/* metadata_props key of the rewritten model; its value "ENTRY@LOCATION": the TOC
 * name of the names entry, then the bundle holding it. */
#define LSC_NAMES_KEY LSC_ONNX_DOMAIN ".names"

/* compress, last rewrite: renames when the entry costs less than the names save;
 * *shortened: how many names (0: the model is unchanged). */
lsc_status lsc_shorten_names(lsc_onnx_model *model, lsc_bundle_writer *writer, const char *bundle_name,
                             size_t *shortened, lsc_error *error);

/* decompress, stats, verify, seal, first: the original names back, the record gone;
 * *restored: 1 if there was one. */
lsc_status lsc_restore_names(lsc_onnx_model *model, lsc_bundle_get_fn get_bundle, void *ctx, int *restored,
                             lsc_error *error);

#endif /* LSC_ONNX_SHORT_NAMES_H */
