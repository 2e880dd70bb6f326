/* The ONNX side of the library: a model read from disk (mapped, its big payloads
 * left in place), the weight candidates found in its graph, and the helpers that
 * drivers (compress.c, decompress.c, model_inspect.c) share.
 * Only src/lib/onnx/ includes the generated protobuf-c bindings. */
#ifndef LSC_ONNX_ONNX_MODEL_H
#define LSC_ONNX_ONNX_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/file_io.h"
#include "common/name_map.h"
#include "onnx-lsc/lsc.h"
#include "onnx.pb-c.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx-lsc's ONNX I/O writes tensor payloads in place and needs a little-endian host"
#endif

#define LSC_ONNX_DOMAIN "ai.onnx_lsc"
#define LSC_ONNX_DOMAIN_VERSION 1
#define LSC_DOMAIN_ATTR "lsc_domain"

/* ---- streaming a message into an output file (pb_sink.c) ---- */

/* A byte payload written lazily while a message is packed (decompress.c): a placeholder
 * pointer stands for it in the message and the sink asks `produce` for the bytes. */
typedef lsc_status (*lsc_produce_fn)(void *ctx, size_t index, lsc_out_file *out, lsc_error *error);

typedef struct lsc_pb_sink {
    ProtobufCBuffer base;
    lsc_out_file *out;
    const uint8_t *placeholders; /* n_placeholders distinct addresses, or NULL */
    size_t n_placeholders;
    lsc_produce_fn produce;
    void *produce_ctx;
    lsc_status status;
    lsc_error error;
    const lsc_map *drop_map; /* payloads copied from it are dropped from memory after */
} lsc_pb_sink;

void lsc_pb_sink_init(lsc_pb_sink *sink, lsc_out_file *out);
/* Packs a message into the sink; returns the first failure. */
lsc_status lsc_pb_write(lsc_pb_sink *sink, const ProtobufCMessage *message, lsc_error *error);

/* ---- progress reports (lsc_progress_fn) ---- */

typedef struct lsc_progress {
    lsc_progress_fn fn; /* NULL: none */
    void *context;
    uint64_t done, total;
} lsc_progress;

static inline void lsc_progress_add(lsc_progress *p, uint64_t n)
{
    if (p && p->fn) {
        p->done += n;
        p->fn(p->context, p->done, p->total);
    }
}

/* ---- growable byte buffer (wire.c) ---- */

typedef struct lsc_bytes {
    uint8_t *data;
    size_t size, cap;
} lsc_bytes;

int lsc_bytes_append(lsc_bytes *b, const void *data, size_t size);
void lsc_bytes_free(lsc_bytes *b);

/* ---- wire format (wire.c) ---- */

/* Where an initializer's raw_data payload sits in the model file. */
typedef struct lsc_payload_ref {
    uint64_t offset, len;
    int present;
} lsc_payload_ref;

/* Copies a serialized ModelProto leaving out the raw_data payloads of the graph's
 * tensors (initializers, node attribute tensors, subgraphs'; those of at least 64
 * bytes), each replaced by a marker: LSC_WIRE_MARKER then the payload's index in
 * *refs as 8 little-endian bytes. Returns 0 on success, 1 if the input is unusual
 * enough (several graph fields, groups, deep nesting, malformed) that the caller
 * should parse it whole. */
#define LSC_WIRE_MARKER "\xffLSC-ref"
#define LSC_WIRE_MARKER_SIZE 16
int lsc_wire_strip_model(const uint8_t *data, size_t size, lsc_bytes *stripped,
                         lsc_payload_ref **refs, size_t *n_refs);

/* ---- the model (model_io.c) ---- */

typedef struct lsc_ext_file {
    char *location;
    lsc_map map;
} lsc_ext_file;

typedef struct lsc_onnx_model {
    char *path;
    char *dir;
    lsc_map map;                 /* the model file */
    Onnx__ModelProto *proto;
    Onnx__TensorProto **patched; /* tensors whose raw_data points into map */
    size_t n_patched;
    Onnx__TensorProto **detached; /* taken out of the graph, freed with the model */
    size_t n_detached, cap_detached;
    lsc_ext_file *ext;           /* external data files mapped so far */
    size_t n_ext;
} lsc_onnx_model;

lsc_status lsc_onnx_load(const char *path, lsc_onnx_model *model, lsc_error *error);
void lsc_onnx_free(lsc_onnx_model *model);
/* Keeps a tensor taken out of the graph alive until lsc_onnx_free. */
lsc_status lsc_onnx_detach(lsc_onnx_model *model, Onnx__TensorProto *tensor, lsc_error *error);
/* Writes the model's proto to out (payloads streamed from wherever they point). */
lsc_status lsc_onnx_write(const lsc_onnx_model *model, lsc_pb_sink *sink, lsc_error *error);
/* Model file bytes plus the external data files it uses. */
uint64_t lsc_onnx_input_bytes(lsc_onnx_model *model);
/* Appends the metadata_props record key = value to m; value (malloc'd) is taken in
 * every case. */
lsc_status lsc_model_add_prop(Onnx__ModelProto *m, const char *key, char *value, lsc_error *error);
/* The position of m's metadata_props record `key` in *at ((size_t)-1: none); more
 * than one is refused (LSC_ERR_BAD_MODEL, naming `path`). */
lsc_status lsc_model_find_prop(const Onnx__ModelProto *m, const char *key, const char *path, size_t *at,
                               lsc_error *error);
/* Appends key = "ENTRY@LOCATION": where a bundle entry the model needs is found. */
lsc_status lsc_model_add_entry_prop(Onnx__ModelProto *m, const char *key, const char *entry, const char *location,
                                    lsc_error *error);

/* ---- external data (external_data.c) ---- */

typedef struct lsc_ext_ref {
    const char *location;
    uint64_t offset;
    uint64_t length;
    int has_length;
} lsc_ext_ref;

/* Reads a tensor's external_data entries (location, offset, length). */
lsc_status lsc_ext_parse(const lsc_onnx_model *model, const Onnx__TensorProto *tensor,
                         const char *label, lsc_ext_ref *ref, lsc_error *error);
/* Checks a location is a plain relative path inside the model's folder. */
lsc_status lsc_ext_check_location(const lsc_onnx_model *model, const char *location,
                                  const char *label, lsc_error *error);
/* The mapped file a location names (mapped once per model). */
lsc_status lsc_ext_open_file(lsc_onnx_model *model, const char *location, const char *label,
                             lsc_map *map_out, lsc_error *error);

/* The bundle entry of an LSC weight tensor named `name` whose external data is ref
 * (bundle_ref.c): LSC_ERR_BAD_BUNDLE when there is none or it disagrees. */
lsc_status lsc_bundle_entry_for(const lsc_bundle *bundle, const char *name, const lsc_ext_ref *ref,
                                const char *label, size_t *index_out, lsc_error *error);

/* The uint8 tensor standing for a bundle entry: `name`, external data {location:
 * bundle_name, offset, length: size} (docs/format.md 3). NULL: out of memory. */
Onnx__TensorProto *lsc_blob_tensor_new(const char *name, const char *bundle_name, uint64_t offset, uint64_t size);

/* ---- tensor payloads (tensor_data.c) ---- */

/* Element count of a tensor's dims, checked. */
lsc_status lsc_tensor_elements(const Onnx__TensorProto *tensor, const char *label,
                               uint64_t *count, lsc_error *error);
/* Which field a float tensor keeps its data in. */
typedef enum lsc_repr {
    LSC_REPR_RAW,
    LSC_REPR_TYPED,
    LSC_REPR_EXTERNAL,
    LSC_REPR_NONE
} lsc_repr;
lsc_repr lsc_tensor_repr(const Onnx__TensorProto *tensor);

/* A tensor's dense little-endian bytes: in place (mapping) or converted (owned). */
typedef struct lsc_dense {
    const void *data;
    size_t size;
    void *owned;
    int mapped; /* data lies in a file mapping: lsc_dense_free releases its pages */
} lsc_dense;

/* Fetches the dense bytes of a float-type tensor (raw_data, typed field or external
 * data). LSC_ERR_UNSUPPORTED when the data could not be restored exactly (e.g.
 * int32_data values outside 16 bits), LSC_ERR_BAD_MODEL when sizes disagree. */
lsc_status lsc_tensor_dense(lsc_onnx_model *model, const Onnx__TensorProto *tensor,
                            const char *label, lsc_dense *dense, lsc_error *error);
void lsc_dense_free(lsc_dense *dense);

/* The dims a blob of this tensor has: its own, or for a recurrent weight (flat) the
 * 2-D [d0*d1, d2] (docs/format.md 3.1). 0 if they do not fit a blob. */
int lsc_blob_dims(const Onnx__TensorProto *tensor, int flat, int *rank, int64_t dims[LSC_MAX_RANK]);
/* 1 if an opened blob's dims are those of this restore record's tensor, as is or
 * as the flattened recurrent weight. */
int lsc_blob_dims_match(const Onnx__TensorProto *tensor, const lsc_weight_info *info);

/* Saves and clears a tensor's payload fields, and puts them back. */
typedef struct lsc_saved_payload {
    protobuf_c_boolean has_raw_data;
    ProtobufCBinaryData raw_data;
    size_t n_float_data, n_int32_data, n_string_data, n_int64_data, n_double_data, n_uint64_data;
} lsc_saved_payload;
void lsc_payload_clear(Onnx__TensorProto *tensor, lsc_saved_payload *saved);
void lsc_payload_put_back(Onnx__TensorProto *tensor, const lsc_saved_payload *saved);

/* ---- weight candidates (select.c) ---- */

typedef enum lsc_weight_home {
    LSC_HOME_NONE,
    LSC_HOME_INITIALIZER, /* graph->initializer[home_index] */
    LSC_HOME_CONSTANT     /* graph->node[home_index], attribute "value" */
} lsc_weight_home;

typedef struct lsc_candidate {
    const char *name;            /* the value's name (owned by the proto) */
    const char *op;              /* "Conv", "Gemm", ..., "Gather"; LscDecode: its first reader's op */
    const char *lsc_op;          /* its consumers' LSC op: "LscConv", ..., "LscMatMulLeft" */
    lsc_layer_outcome outcome;   /* ENCODED = encodable, pending the size test */
    int transposed;
    int flat;                    /* recurrent W/R [D, G*H, K]: encoded as [D*G*H, K] */
    lsc_weight_home home;
    Onnx__GraphProto *graph;     /* the graph defining the value (main or a body) */
    size_t home_index;
    Onnx__TensorProto *tensor;   /* where the bytes are (NULL if none) */
    Onnx__NodeProto **consumers; /* the nodes that would be rewritten, in any graph */
    size_t n_consumers;
    Onnx__ValueInfoProto **decls; /* value_info entries naming it: retyped with it */
    size_t n_decls;
    size_t input_index;          /* ENCODED and also main graph input [i]: dropped; else -1 */
    int in_subgraph;             /* defined or consumed inside an If/Loop/Scan body */
    int compressed;              /* the model is already rewritten: the tensor is a blob */
    /* Read by ops without an LSC kernel: restored at run time by an LscDecode node
     * (docs/format.md 3.1) whose input, the blob, is named blob_name (owned). */
    int decode;
    char *blob_name;
    /* A Conv / Gemm / MatMul weight made a decode candidate by lsc_choose_dense: its
     * op stays the plain ONNX op, dense (dense_choice.c). */
    int run_dense;
    /* An 8-bit weight read through DequantizeLinear [-> Transpose] by the op (fuse.c):
     * the chain's nodes in dq_graph, the scale and zero point (NULL: zero) tensors. */
    int quantized;
    Onnx__NodeProto *dq, *dq_transpose;
    Onnx__GraphProto *dq_graph;
    const Onnx__TensorProto *scale, *zero_point;
} lsc_candidate;

typedef struct lsc_selection {
    lsc_candidate *items;
    size_t count;
} lsc_selection;

/* Finds the weight candidates of every graph of the model (main graph first, each
 * body right after the node holding it). Flags: LSC_SELECT_KEEP_GRAPH_INPUTS,
 * initializers that are also main graph inputs stay as they are (GRAPH_INPUT)
 * instead of being encoded and dropped from the inputs; LSC_SELECT_SMALL_ROWS, the
 * float tensors of LSC_ROW_MIN_ELEMENTS to LSC_DECODE_MIN_ELEMENTS - 1 elements no
 * LSC op takes are candidates too, TOO_SMALL (stats' rows, after all the others). */
#define LSC_SELECT_KEEP_GRAPH_INPUTS 1u
#define LSC_SELECT_SMALL_ROWS 2u
lsc_status lsc_select(const lsc_onnx_model *model, unsigned flags, lsc_selection *selection, lsc_error *error);
void lsc_selection_free(lsc_selection *selection);
/* Puts t where the candidate's tensor is (initializer or Constant value). */
void lsc_candidate_set_tensor(lsc_candidate *cand, Onnx__TensorProto *t);
/* LscDecode candidates: float tensors (initializers, Constant values) of at least
 * this many elements; smaller ones of at least LSC_ROW_MIN_ELEMENTS get a report
 * row only (LSC_LAYER_TOO_SMALL). */
#define LSC_DECODE_MIN_ELEMENTS 1024
#define LSC_ROW_MIN_ELEMENTS 16
/* The LscDecode op restoring a tensor of this ONNX type ("LscDecode" for float32,
 * "LscDecodeFloat16", "LscDecodeBFloat16", "LscDecodeFloat64"), or NULL. */
const char *lsc_decode_op_for(int32_t data_type);
/* 1 if a decode candidate with this many non-zeros of `elements` is sparse enough
 * to be encoded (at least half zeros). */
static inline int lsc_decode_sparse_enough(uint64_t nnz, uint64_t elements)
{
    return nnz <= elements / 2;
}
/* Turns the float32 Conv / Gemm / MatMul candidates that should run as ONNX Runtime's
 * dense op (options->run_dense; by default the convolutions whose LSC kernel the cost
 * model predicts slower) into decode candidates with run_dense set, each reported
 * through options->note with its reason (dense_choice.c). */
lsc_status lsc_choose_dense(lsc_onnx_model *model, lsc_selection *selection, const lsc_compress_options *options,
                            const char *in_path, lsc_error *error);
/* The op type ("Conv", "Gemm", "MatMul") of the first reader of the value `name` of g
 * if it is read, in g and not below, only as the weight of such plain nodes (a layer
 * run dense, dense_choice.c); else NULL. */
const char *lsc_graph_dense_reader(const Onnx__GraphProto *g, const char *name);
/* Drops from a compressed model's selection the NOT_CONSTANT rows of plain ops reading
 * an LscDecode output: that weight is the decode candidate's row. */
void lsc_drop_decoded_readers(lsc_selection *selection);
/* 1 if `name` is a value, initializer or declaration name anywhere in g. */
int lsc_graph_uses_name(const Onnx__GraphProto *g, const char *name, int depth);
/* 1 if the node is an LscDecode (its one input a blob, its output the dense tensor). */
int lsc_node_is_decode(const Onnx__NodeProto *node);
/* 1 if g or a graph inside it has an LSC node. */
int lsc_graph_has_lsc_nodes(const Onnx__GraphProto *g, int depth);

/* ---- DequantizeLinear chains fused into LSC ops (fuse.c) ---- */

/* compress: the op reads the blob with the chain's scale and zero point appended
 * (docs/format.md 3.1), the chain's nodes recorded on it. Once every candidate is
 * fused (positions are those of the original graph), lsc_fuse_drop_chain takes the
 * chain's nodes out of the graph and frees them. */
lsc_status lsc_fuse_dequantize(lsc_candidate *cand, lsc_error *error);
void lsc_fuse_drop_chain(lsc_candidate *cand);
/* Adds a node of g that is about to be removed to op's restore record (the one
 * lsc_fuse_dequantize writes; created on an op without one). Call it for every node
 * of a graph before any is removed: positions are those of the original list. */
lsc_status lsc_fuse_record(Onnx__NodeProto *op, const Onnx__GraphProto *g, const Onnx__NodeProto *removed,
                           lsc_error *error);
/* decompress: puts every recorded chain of every graph back in place. */
lsc_status lsc_unfuse_model(Onnx__ModelProto *model, const char *label, lsc_error *error);
/* The per-row zero points (rows bytes, free them) of a quantized candidate encoded as
 * a rows-row matrix; NULL in *out when they are all zero. */
lsc_status lsc_candidate_zero_points(lsc_onnx_model *model, const lsc_candidate *cand, uint32_t rows,
                                     const char *label, uint8_t **out, lsc_error *error);

/* ---- activations folded into LSC ops (fuse_activation.c) ---- */

#define LSC_ACT_ATTR "lsc_activation"
#define LSC_ACT_PARAMS_ATTR "lsc_activation_params"

typedef struct lsc_folded_node {
    Onnx__GraphProto *graph;
    Onnx__NodeProto *node;
} lsc_folded_node;

typedef struct lsc_fold_list {
    lsc_folded_node *items;
    size_t count;
} lsc_fold_list;

/* compress: folds the Relu / Clip / LeakyRelu that alone reads an LSC op's float
 * output (not a graph output) into the op, recorded with lsc_fuse_record; the folded
 * nodes are listed in *removed, still in their graphs. */
lsc_status lsc_fold_activations(Onnx__ModelProto *model, lsc_fold_list *removed, lsc_error *error);
/* Takes the listed nodes out of their graphs, frees them and empties the list. */
void lsc_fold_list_drop(lsc_fold_list *list);
/* References to name in g (node inputs, graph outputs) and its subgraphs; a body
 * nested too deep to walk counts as one more. */
size_t lsc_value_uses(const Onnx__GraphProto *g, const char *name);

/* ---- quantized MatMul chains fused into one LSC op (fuse_chain.c) ---- */

#define LSC_FUSED_IO_ATTR "lsc_fused_io"
#define LSC_DYNAMIC_OP "LscDynamicQuantMatMul"
#define LSC_QLINEAR_FLOAT_OP "LscQLinearMatMulFloat"

/* compress: the LscMatMulInteger node `op` of g (its B a blob of n_cols columns) and
 * the nodes around it that ONNX Runtime's quantize_dynamic writes,
 * DynamicQuantizeLinear -> op -> Cast -> Mul (the scales) -> Mul [-> Add bias],
 * become one LscDynamicQuantMatMul; an LscQLinearMatMul between QuantizeLinear and
 * DequantizeLinear [-> Add bias] one LscQLinearMatMulFloat; when the chain is exactly
 * that (docs/format.md 3.1). The other nodes are recorded on it (lsc_fuse_record) and
 * listed in *removed, still in g. Otherwise nothing changes. */
lsc_status lsc_fuse_quantized_chain(Onnx__GraphProto *g, Onnx__NodeProto *op, int64_t n_cols,
                                    lsc_fold_list *removed, lsc_error *error);
/* Appends (g, node) to the list. */
lsc_status lsc_fold_list_push(lsc_fold_list *list, Onnx__GraphProto *g, Onnx__NodeProto *node, lsc_error *error);

/* LSC_OK for a known activation (name of act_len bytes) with n_params parameters,
 * LSC_ERR_BAD_MODEL for a wrong count, LSC_ERR_UNSUPPORTED for an unknown name. */
lsc_status lsc_activation_check(const char *act, size_t act_len, size_t n_params);

/* A new attribute of that name and type, or a STRING one holding a copy of value
 * (NULL: out of memory); appending one to a node, which then owns it (freed on
 * failure; NULL fails with LSC_ERR_NO_MEMORY). */
Onnx__AttributeProto *lsc_attr_new(const char *name, Onnx__AttributeProto__AttributeType type);
Onnx__AttributeProto *lsc_attr_new_string(const char *name, const char *value);
lsc_status lsc_node_append_attr(Onnx__NodeProto *node, Onnx__AttributeProto *a, lsc_error *error);

/* Op helpers shared with decompress.c. */
const char *lsc_plain_op_for(const char *op); /* "LscConv" -> "Conv" */
int lsc_node_is_lsc(const Onnx__NodeProto *node);
int lsc_node_is_onnx(const Onnx__NodeProto *node);

/* ---- declared types (value_type.c) ---- */

/* A graph input / value_info type that is exactly tensor(dtype, dims): the form we
 * rewrite to uint8[blob_size] and can rebuild on decompress. */
int lsc_value_type_is(const Onnx__ValueInfoProto *value, int32_t elem_type, const int64_t *dims,
                      size_t n_dims);
/* That type, a name, and nothing else (no doc_string, no unknown fields): a graph
 * input decompress can rebuild whole from the restore record. */
int lsc_value_info_is_plain(const Onnx__ValueInfoProto *value, int32_t elem_type,
                            const int64_t *dims, size_t n_dims);
lsc_status lsc_value_type_set(Onnx__ValueInfoProto *value, int32_t elem_type, const int64_t *dims,
                              size_t n_dims, lsc_error *error);

/* ---- graph inputs dropped by compress (graph_inputs.c) ---- */

typedef struct lsc_dropped_input {
    size_t position; /* in the original graph.input */
    char *name;
} lsc_dropped_input;

typedef struct lsc_dropped_inputs {
    lsc_dropped_input *items; /* by increasing position */
    size_t count;
} lsc_dropped_inputs;

lsc_status lsc_dropped_inputs_add(lsc_dropped_inputs *d, size_t position, const char *name,
                                  lsc_error *error);
/* Records them in the model's metadata_props (and raises an IR version below 4). */
lsc_status lsc_dropped_inputs_record(Onnx__ModelProto *m, const lsc_dropped_inputs *d,
                                     lsc_error *error);
/* Reads and removes that record (restoring the IR version); none: count 0. */
lsc_status lsc_dropped_inputs_take(Onnx__ModelProto *m, lsc_dropped_inputs *d, lsc_error *error);
void lsc_dropped_inputs_free(lsc_dropped_inputs *d);

/* Label "file: initializer 'name'" for messages (name quoted, cut to fit). */
void lsc_label(char *out, size_t size, const char *file, const char *what, const char *name);

#endif /* LSC_ONNX_ONNX_MODEL_H */
