#ifndef ONNX_LSC_VERSION_H
#define ONNX_LSC_VERSION_H

/* The API version; meson.build reads these to set the shared library's soname.
 * 0.3: lsc_exec gained scratch_alloc / scratch_free / scratch_context (its size
 * changed: rebuild callers).
 * 0.4: lsc_spmm_windows_to and lsc_windows_sink (added; nothing changed).
 * 0.5: the dense pack reader (lsc_dense_pack_*, lsc_is_dense_pack) and
 * lsc_compress_report.dense_packed, at the struct's end (added; nothing changed).
 * 0.6: LSC_LAYER_TOO_SMALL, an outcome lsc_model_layer_get gives (added).
 * 0.7: lsc_weight_prepare_n1 (added; nothing changed).
 * 0.8: lsc_packed_tensor.graph and .same, at the struct's end (dense packs of
 * version 2; added; nothing changed).
 * 0.9: lsc_entropy_compact_blob and lsc_compress_report.graph_slimmed, at the
 * struct's end (compact entropy blobs, the graph entry; added; nothing changed).
 * 0.10: lsc_weight_prepare_int8 and lsc_spmv_int8 (added; nothing changed).
 * 0.11: lsc_weight_prepare_conv_int8 and lsc_conv_int8 (added; nothing changed).
 * 0.12: lsc_weight_prepare_conv (added; nothing changed). */
#define LSC_API_VERSION_MAJOR 0
#define LSC_API_VERSION_MINOR 12
#define LSC_API_VERSION_PATCH 0

#endif /* ONNX_LSC_VERSION_H */
