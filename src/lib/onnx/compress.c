/* compress: encode the chosen weights into a bundle, one at a time, and write the
 * rewritten graph (docs/format.md part 3). Outputs are temporary files renamed only
 * when both are complete. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle/seal.h"
#include "onnx/graph_entry.h"
#include "onnx/dense_pack_graph.h"
#include "onnx/encode_weights.h"
#include "onnx/restore_external.h"
#include "onnx/short_names.h"

void lsc_compress_options_default(lsc_compress_options *options)
{
    if (options)
        memset(options, 0, sizeof *options);
}

void lsc_compress_report_free(lsc_compress_report **report)
{
    if (!report || !*report)
        return;
    free((*report)->layers);
    free(*report);
    *report = NULL;
}

typedef struct compress_ctx {
    const char *in_path;
    const lsc_compress_options *opt;
    lsc_onnx_model model;
    lsc_selection sel;
    lsc_encoded_weight *encoded; /* per candidate; size 0 = not encoded */
    lsc_compress_report *report;
    const char *bundle_name; /* file name written into external_data */
    Onnx__TensorProto *pack_tensor; /* the dense pack's tensor (docs/format.md 5), or NULL */
    lsc_error *error;
} compress_ctx;

static Onnx__StringStringEntryProto *make_entry(const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = malloc(sizeof *e);
    if (!e)
        return NULL;
    onnx__string_string_entry_proto__init(e);
    e->key = lsc_strdup(key);
    e->value = lsc_strdup(value);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        free(e);
        return NULL;
    }
    return e;
}

Onnx__TensorProto *lsc_blob_tensor_new(const char *name, const char *bundle_name, uint64_t offset, uint64_t size)
{
    Onnx__TensorProto *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    char num[2][24];
    snprintf(num[0], sizeof num[0], "%llu", (unsigned long long)offset);
    snprintf(num[1], sizeof num[1], "%llu", (unsigned long long)size);
    t->dims = malloc(sizeof *t->dims);
    t->external_data = calloc(3, sizeof *t->external_data);
    t->name = name ? lsc_strdup(name) : NULL;
    int ok = t->dims && t->external_data && (!name || t->name);
    if (ok) {
        t->n_dims = 1;
        t->dims[0] = (int64_t)size;
        t->has_data_type = 1;
        t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        const char *keys[3] = {"location", "offset", "length"};
        const char *values[3] = {bundle_name, num[0], num[1]};
        for (size_t i = 0; ok && i < 3; i++) {
            t->external_data[i] = make_entry(keys[i], values[i]);
            ok = t->external_data[i] != NULL;
            t->n_external_data += ok;
        }
    }
    if (!ok) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        return NULL;
    }
    return t;
}

static lsc_status set_string(char **field, const char *value, lsc_error *error)
{
    char *copy = lsc_strdup(value);
    if (!copy)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    free(*field);
    *field = copy;
    return LSC_OK;
}

/* Conv -> LscConv (the candidate's LSC op) in ai.onnx_lsc; a present original
 * domain goes to lsc_domain. */
static lsc_status rewrite_node(Onnx__NodeProto *node, const char *lsc_op, lsc_error *error)
{
    if (lsc_node_is_lsc(node))
        return LSC_OK; /* an LSTM's W and R: rewritten with the first */
    if (node->domain)
        LSC_TRY(lsc_node_append_attr(node, lsc_attr_new_string(LSC_DOMAIN_ATTR, node->domain), error));
    LSC_TRY(set_string(&node->op_type, lsc_op, error));
    return set_string(&node->domain, LSC_ONNX_DOMAIN, error);
}

static lsc_status append_opset(Onnx__ModelProto *m, lsc_error *error)
{
    Onnx__OperatorSetIdProto **ops = realloc(m->opset_import, (m->n_opset_import + 1) * sizeof *ops);
    if (!ops)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    m->opset_import = ops;
    Onnx__OperatorSetIdProto *op = malloc(sizeof *op);
    if (!op || !(op->domain = lsc_strdup(LSC_ONNX_DOMAIN))) {
        free(op);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    char *domain = op->domain;
    onnx__operator_set_id_proto__init(op);
    op->domain = domain;
    op->has_version = 1;
    op->version = LSC_ONNX_DOMAIN_VERSION;
    ops[m->n_opset_import++] = op;
    return LSC_OK;
}

/* Encoded weights that were also main graph inputs leave the input list; where
 * they stood is recorded for decompress (docs/format.md 3.1). */
static lsc_status drop_graph_inputs(compress_ctx *c)
{
    Onnx__GraphProto *g = c->model.proto->graph;
    lsc_dropped_inputs dropped = {0};
    lsc_status st = LSC_OK;
    uint8_t *drop = calloc(g->n_input ? g->n_input : 1, 1);
    if (!drop)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t k = 0; k < c->sel.count; k++) {
        const lsc_candidate *cand = &c->sel.items[k];
        if (c->encoded[k].size && cand->input_index != (size_t)-1 && cand->input_index < g->n_input) {
            drop[cand->input_index] = 1;
            c->report->layers[k].flags |= LSC_LAYER_FLAG_INPUT_DROPPED;
            c->report->graph_inputs_dropped++;
        }
    }
    for (size_t i = 0; st == LSC_OK && i < g->n_input; i++)
        if (drop[i])
            st = lsc_dropped_inputs_add(&dropped, i, g->input[i]->name, c->error);
    if (st == LSC_OK && dropped.count)
        st = lsc_dropped_inputs_record(c->model.proto, &dropped, c->error);
    if (st == LSC_OK) {
        size_t kept = 0;
        for (size_t i = 0; i < g->n_input; i++) {
            if (drop[i])
                protobuf_c_message_free_unpacked(&g->input[i]->base, NULL);
            else
                g->input[kept++] = g->input[i];
        }
        g->n_input = kept;
    }
    lsc_dropped_inputs_free(&dropped);
    free(drop);
    return st;
}

/* A decode candidate's blob takes a new name, "name.lsc" (then "name.lsc2", ...)
 * used nowhere in the model, so that the LscDecode node can give the dense tensor
 * its original name and no reader changes (docs/format.md 3.1). */
static lsc_status name_blobs(compress_ctx *c)
{
    for (size_t k = 0; k < c->sel.count; k++) {
        lsc_candidate *cand = &c->sel.items[k];
        if (!cand->decode || cand->outcome != LSC_LAYER_ENCODED)
            continue;
        size_t n = strlen(cand->name);
        char *s = malloc(n + 32);
        if (!s)
            return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
        snprintf(s, n + 32, "%s.lsc", cand->name);
        for (unsigned long long i = 2;; i++) {
            int taken = lsc_graph_uses_name(c->model.proto->graph, s, 0);
            for (size_t j = 0; j < k && !taken; j++)
                taken = c->sel.items[j].blob_name && strcmp(c->sel.items[j].blob_name, s) == 0;
            if (!taken)
                break;
            snprintf(s, n + 32, "%s.lsc%llu", cand->name, i);
        }
        cand->blob_name = s;
    }
    return LSC_OK;
}

/* The LscDecode node restoring a decode candidate: blob_name -> the original name.
 * An initializer's goes before the graph's other nodes, after the LscDecode nodes
 * already there; a Constant's right after the Constant node, whose output is now
 * the blob (its own position unchanged: decompress puts it back in place). */
static lsc_status add_decode_node(lsc_candidate *cand, Onnx__NodeProto *constant, lsc_error *error)
{
    Onnx__GraphProto *g = cand->graph;
    Onnx__NodeProto **nodes = realloc(g->node, (g->n_node + 1) * sizeof *nodes);
    if (!nodes)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    g->node = nodes;
    Onnx__NodeProto *n = malloc(sizeof *n);
    if (!n)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    onnx__node_proto__init(n);
    n->input = calloc(1, sizeof *n->input);
    n->output = calloc(1, sizeof *n->output);
    if (n->input)
        n->input[0] = lsc_strdup(cand->blob_name);
    if (n->output)
        n->output[0] = lsc_strdup(cand->name);
    n->n_input = n->input != NULL;
    n->n_output = n->output != NULL;
    n->op_type = lsc_strdup(cand->lsc_op);
    n->domain = lsc_strdup(LSC_ONNX_DOMAIN);
    char *constant_output = constant ? lsc_strdup(cand->blob_name) : NULL;
    if (!n->input || !n->output || !n->input[0] || !n->output[0] || !n->op_type || !n->domain ||
        (constant && !constant_output)) {
        free(constant_output);
        protobuf_c_message_free_unpacked(&n->base, NULL);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    if (constant) { /* cand->name was the old output string: it now names the copy */
        free(constant->output[0]);
        constant->output[0] = constant_output;
        cand->name = n->output[0];
    }
    size_t at = 0;
    if (constant) {
        while (at < g->n_node && g->node[at] != constant)
            at++;
        at += at < g->n_node;
    } else {
        while (at < g->n_node && lsc_node_is_decode(g->node[at]))
            at++;
    }
    memmove(g->node + at + 1, g->node + at, (g->n_node - at) * sizeof *g->node);
    g->node[at] = n;
    g->n_node++;
    return LSC_OK;
}

/* The LscMatMulInteger / LscQLinearMatMul node of an encoded weight, with the nodes
 * of its quantization around it, into one op (fuse_chain.c); n_cols: B's columns. */
static lsc_status fuse_chain(const lsc_candidate *cand, int64_t n_cols, lsc_fold_list *removed, lsc_error *error)
{
    if (cand->n_consumers != 1 || (strcmp(cand->op, "MatMulInteger") != 0 && strcmp(cand->op, "QLinearMatMul") != 0))
        return LSC_OK;
    for (size_t i = 0; i < cand->graph->n_node; i++) /* the op in the weight's own graph only */
        if (cand->graph->node[i] == cand->consumers[0])
            return lsc_fuse_quantized_chain(cand->graph, cand->consumers[0], n_cols, removed, error);
    return LSC_OK;
}

static lsc_status rewrite_graph(compress_ctx *c, Onnx__NodeProto **constants, size_t *n_encoded)
{
    *n_encoded = 0;
    /* Nodes folded into LSC ops, taken out of their graphs once every one is recorded
     * where it stands. */
    lsc_fold_list folded = {0};
    lsc_status st = LSC_OK;
    for (size_t k = 0; k < c->sel.count; k++) /* before folding and fusing remove nodes */
        if (c->sel.items[k].home == LSC_HOME_CONSTANT)
            constants[k] = c->sel.items[k].graph->node[c->sel.items[k].home_index];
    for (size_t k = 0; k < c->sel.count; k++) {
        lsc_candidate *cand = &c->sel.items[k];
        if (cand->in_subgraph)
            c->report->layers[k].flags |= LSC_LAYER_FLAG_SUBGRAPH;
        if (!c->encoded[k].size)
            continue;
        Onnx__TensorProto *orig = cand->tensor;
        int64_t n_cols = orig->n_dims == 2 ? orig->dims[1] : 0;
        Onnx__TensorProto *t = lsc_blob_tensor_new(orig->name, c->bundle_name, c->encoded[k].offset, c->encoded[k].size);
        if (!t) {
            lsc_fold_list_drop(&folded);
            return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
        }
        /* A decode initializer's blob takes the new name (a Constant node's output
         * does, in add_decode_node; its value keeps its own name). */
        if (cand->decode && cand->home != LSC_HOME_CONSTANT) {
            free(t->name);
            if (!(t->name = lsc_strdup(cand->blob_name))) {
                protobuf_c_message_free_unpacked(&t->base, NULL);
                return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
            }
        }
        /* Typed declarations follow the blob. */
        for (size_t i = 0; st == LSC_OK && i < cand->n_decls; i++)
            st = lsc_value_type_set(cand->decls[i], t->data_type, t->dims, 1, c->error);
        if (st == LSC_OK) {
            lsc_candidate_set_tensor(cand, t);
            st = lsc_onnx_detach(&c->model, orig, c->error);
        }
        for (size_t i = 0; st == LSC_OK && i < cand->n_consumers; i++)
            st = rewrite_node(cand->consumers[i], cand->lsc_op, c->error);
        if (st == LSC_OK && cand->dq)
            st = lsc_fuse_dequantize(cand, c->error);
        if (st == LSC_OK)
            st = fuse_chain(cand, n_cols, &folded, c->error);
        if (st != LSC_OK) {
            lsc_fold_list_drop(&folded);
            return st;
        }
        (*n_encoded)++;
    }
    if (*n_encoded == 0)
        return LSC_OK;
    /* Every node is recorded where it stands before any leaves its graph. */
    st = lsc_fold_activations(c->model.proto, &folded, c->error);
    lsc_fold_list_drop(&folded);
    if (st != LSC_OK)
        return st;
    for (size_t k = 0; k < c->sel.count; k++)
        if (c->encoded[k].size && c->sel.items[k].dq)
            lsc_fuse_drop_chain(&c->sel.items[k]);
    /* Last: node positions recorded above (fused chains, Constant homes) are those
     * of the graph without LscDecode nodes, which decompress removes first. */
    for (size_t k = 0; k < c->sel.count; k++)
        if (c->encoded[k].size && c->sel.items[k].decode)
            LSC_TRY(add_decode_node(&c->sel.items[k], constants[k], c->error));
    LSC_TRY(drop_graph_inputs(c));
    return append_opset(c->model.proto, c->error);
}

/* The bundle must sit beside the model: external data locations are file names. */
static lsc_status check_paths(const char *in, const char *out_model, const char *bundle,
                              lsc_error *error)
{
    if (lsc_same_file(in, out_model) || lsc_same_file(in, bundle))
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "%s: output would overwrite the input", in);
    if (strcmp(out_model, bundle) == 0)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "%s: model and bundle paths are the same",
                        out_model);
    char *d1 = lsc_path_dir(out_model), *d2 = lsc_path_dir(bundle);
    char r1[PATH_MAX], r2[PATH_MAX];
    lsc_status st = LSC_OK;
    if (!d1 || !d2)
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    else if (!realpath(d1, r1))
        st = lsc_fail(error, LSC_ERR_IO, "%s: output folder does not exist", out_model);
    else if (!realpath(d2, r2) || strcmp(r1, r2) != 0)
        st = lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                      "%s: the bundle must be in the same folder as the output model", bundle);
    free(d1);
    free(d2);
    return st;
}

/* model.lsc.onnx -> model.lsc; other.onnx -> other.lsc; else append .lsc. */
static char *lsc_default_bundle_path(const char *out_model, const char *out_bundle)
{
    if (out_bundle)
        return lsc_strdup(out_bundle);
    size_t n = strlen(out_model);
    if (n > 9 && strcmp(out_model + n - 9, ".lsc.onnx") == 0)
        return lsc_path_swap_suffix(out_model, ".lsc.onnx", ".lsc");
    return lsc_path_swap_suffix(out_model, ".onnx", ".lsc");
}

static int already_compressed(const Onnx__ModelProto *m)
{
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (m->opset_import[i]->domain && strcmp(m->opset_import[i]->domain, LSC_ONNX_DOMAIN) == 0)
            return 1;
    /* Our restore records in metadata_props (docs/format.md 3.1) on a model without our
     * nodes: passed on, they would make the output fail to decompress. */
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        const char *key = m->metadata_props[i]->key;
        if (key && strncmp(key, LSC_ONNX_DOMAIN ".", sizeof LSC_ONNX_DOMAIN) == 0)
            return 1;
    }
    /* LSC nodes without the import: a damaged compressed model, not one to rewrite
     * (its output would pass the same broken bundle references on). */
    return lsc_graph_has_lsc_nodes(m->graph, 0);
}

/* Tensors left dense in external files keep their locations; written to another
 * folder, the output gets its own copy of their bytes there (same file names and
 * offsets), so that it never points back at the input's folder. */
static lsc_status copy_external_left(compress_ctx *c, const char *out_model, lsc_restore_ext *ext)
{
    Onnx__TensorProto **skip = calloc(c->sel.count + 1, sizeof *skip);
    if (!skip)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    size_t n = 0;
    if (c->pack_tensor)
        skip[n++] = c->pack_tensor;
    for (size_t k = 0; k < c->sel.count; k++)
        if (c->encoded[k].size)
            skip[n++] = c->sel.items[k].tensor;
    lsc_status st = lsc_restore_ext_add_model(ext, &c->model, skip, n, &c->report->external_bytes, c->error);
    free(skip);
    if (st == LSC_OK && !lsc_same_folder(c->model.dir, out_model))
        st = lsc_restore_ext_write(ext, out_model, c->error);
    return st;
}

static lsc_status compress_run(compress_ctx *c, const char *out_model, const char *bundle_path)
{
    lsc_error *error = c->error;
    LSC_TRY(lsc_onnx_load(c->in_path, &c->model, error));
    if (already_compressed(c->model.proto))
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "%s: already compressed (imports %s, has its nodes or its metadata)",
                        c->in_path, LSC_ONNX_DOMAIN);
    LSC_TRY(lsc_select(&c->model, c->opt->keep_graph_inputs ? LSC_SELECT_KEEP_GRAPH_INPUTS : 0, &c->sel, error));
    LSC_TRY(lsc_choose_dense(&c->model, &c->sel, c->opt, c->in_path, error));
    c->report->n_layers = c->sel.count;
    c->report->layers = calloc(c->sel.count ? c->sel.count : 1, sizeof *c->report->layers);
    c->encoded = calloc(c->sel.count ? c->sel.count : 1, sizeof *c->encoded);
    if (!c->report->layers || !c->encoded)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    c->report->input_bytes = lsc_onnx_input_bytes(&c->model);

    LSC_TRY(name_blobs(c));
    lsc_bundle_writer *writer = NULL;
    LSC_TRY(lsc_bundle_writer_create(bundle_path, &writer, error));
    /* Equal weights (models holding one network twice) are stored once (docs/format.md 2.2). */
    if (c->opt->entropy) {
        lsc_bundle_writer_share_blobs(writer);
        lsc_bundle_writer_compact(writer); /* docs/format.md 2.5 */
    }
    lsc_encode_pass pass = {.in_path = c->in_path,
                            .opt = c->opt,
                            .model = &c->model,
                            .sel = &c->sel,
                            .writer = writer,
                            .report = c->report,
                            .encoded = c->encoded};
    lsc_status st = lsc_encode_weights(&pass, error);
    size_t n_encoded = 0;
    Onnx__NodeProto **constants = NULL; /* per candidate: its Constant node, or NULL */
    if (st == LSC_OK && !(constants = calloc(c->sel.count + 1, sizeof *constants)))
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    if (st == LSC_OK)
        st = rewrite_graph(c, constants, &n_encoded);
    free(constants);
    /* The entropy tier also takes the float tensors left dense (docs/format.md 5):
     * last, so that every position recorded above is that of the graph without it. */
    size_t n_packed = 0;
    if (st == LSC_OK && c->opt->entropy)
        st = lsc_pack_dense(&c->model, writer, c->bundle_name, &n_packed, &c->pack_tensor, error);
    if (st == LSC_OK && n_packed && !n_encoded)
        st = append_opset(c->model.proto, error);
    c->report->dense_packed = n_packed;
    /* Then the names (docs/format.md 6): last, so that every record above holds the
     * originals, and decompress renames back before reading any of them. */
    size_t n_short = 0;
    if (st == LSC_OK && c->opt->entropy)
        st = lsc_shorten_names(&c->model, writer, c->bundle_name, &n_short, error);
    c->report->names_shortened = n_short;

    lsc_restore_ext ext = {0};
    if (st == LSC_OK)
        st = copy_external_left(c, out_model, &ext);
    /* Last, the file loses what ONNX Runtime does not read (docs/format.md 7): the
     * graph entry holds the model as it is now, which every reader gets back first. */
    Onnx__ModelProto *slim = NULL;
    if (st == LSC_OK && c->opt->entropy && !c->opt->keep_graph)
        st = lsc_slim_graph(&c->model, writer, c->bundle_name, &slim, error);
    c->report->graph_slimmed = slim != NULL;
    lsc_out_file out;
    int out_open = 0;
    if (st == LSC_OK && (st = lsc_out_open(&out, out_model, error)) == LSC_OK) {
        out_open = 1;
        lsc_pb_sink sink;
        lsc_pb_sink_init(&sink, &out);
        sink.drop_map = &c->model.map;
        st = slim ? lsc_pb_write(&sink, &slim->base, error) : lsc_onnx_write(&c->model, &sink, error);
        c->report->model_bytes = out.written;
    }
    if (slim)
        protobuf_c_message_free_unpacked(&slim->base, NULL);
    /* The seal: the model file as it will be, read back (docs/format.md 2.4). */
    lsc_seal seal;
    if (st == LSC_OK && (st = lsc_out_sync(&out, error)) == LSC_OK &&
        (st = lsc_seal_compute(out.tmp_path, &seal, error)) == LSC_OK)
        st = seal.model_size == out.written
                 ? lsc_bundle_writer_seal(writer, &seal, error)
                 : lsc_fail(error, LSC_ERR_IO, "%s: %llu bytes written, %llu read back", out_model,
                            (unsigned long long)out.written, (unsigned long long)seal.model_size);
    if (st == LSC_OK)
        st = lsc_bundle_writer_finish(writer, error);
    lsc_bundle_writer_free(&writer);
    if (st == LSC_OK) {
        out_open = 0;
        st = lsc_out_commit(&out, error);
        if (st != LSC_OK)
            unlink(bundle_path);
    }
    if (out_open)
        lsc_out_abort(&out);
    if (st != LSC_OK)
        lsc_restore_ext_rollback(&ext);
    lsc_restore_ext_free(&ext);
    if (st == LSC_OK) {
        lsc_map m;
        if (lsc_map_file(bundle_path, &m, NULL) == LSC_OK) {
            c->report->bundle_bytes = m.size;
            lsc_unmap(&m);
        }
    }
    return st;
}

lsc_status lsc_compress_file(const char *in_model, const char *out_model, const char *out_bundle,
                             const lsc_compress_options *options, lsc_compress_report **report,
                             lsc_error *error)
{
    if (report)
        *report = NULL;
    if (!in_model || !out_model)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "compress: no input or output path");
    lsc_compress_options defaults;
    lsc_compress_options_default(&defaults);
    if (!options)
        options = &defaults;
    if (options->index_bits > 16 || (!options->block_h) != (!options->block_w))
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT,
                        "compress: index bits must be 0..16 and block height and width set together");
    char *bundle_path = lsc_default_bundle_path(out_model, out_bundle);
    compress_ctx c = {.in_path = in_model, .opt = options, .error = error};
    c.report = calloc(1, sizeof *c.report);
    lsc_status st;
    if (!bundle_path || !c.report)
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    else if ((st = check_paths(in_model, out_model, bundle_path, error)) == LSC_OK) {
        c.bundle_name = lsc_path_base(bundle_path);
        st = compress_run(&c, out_model, bundle_path);
    }
    lsc_selection_free(&c.sel);
    lsc_onnx_free(&c.model);
    free(c.encoded);
    free(bundle_path);
    if (st == LSC_OK && report)
        *report = c.report;
    else
        lsc_compress_report_free(&c.report);
    return st;
}
