/* decompress: put back every encoded weight from its bundle's restore record and
 * blob, the original node types and domains, and the graph's declarations; then
 * stream the model out, decoding each weight only while it is being written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/checked.h"
#include "common/jobs.h"
#include "onnx/dense_pack_graph.h"
#include "onnx/onnx_model.h"
#include "onnx/restore_external.h"
#include "onnx/graph_entry.h"
#include "onnx/short_names.h"

typedef struct open_bundle {
    char *location;
    lsc_bundle *bundle;
} open_bundle;

/* One restored weight. */
typedef struct restored {
    lsc_weight *weight;
    Onnx__TensorProto *tensor; /* the restored TensorProto (in the graph) */
    int placeholder;           /* its payload pointer is a placeholder */
    int external;              /* the original kept its bytes in an external file */
    size_t dense_bytes;
    const void *blob;          /* in the bundle's mapping: its pages are released after use */
    size_t blob_size;
    char name[128];
} restored;

typedef struct restore_ctx {
    const char *in_path;
    lsc_onnx_model model;
    lsc_selection sel;
    open_bundle *bundles;
    size_t n_bundles;
    restored *items;
    size_t n_items;
    uint8_t *placeholders;
    lsc_progress progress;
    unsigned threads;
    lsc_exec exec; /* decoding threads, shared by every weight */
    lsc_dense_buf buf;
    lsc_error *error;
} restore_ctx;

static lsc_status get_bundle(restore_ctx *c, const char *location, const char *label,
                             lsc_bundle **out)
{
    for (size_t i = 0; i < c->n_bundles; i++)
        if (strcmp(c->bundles[i].location, location) == 0) {
            *out = c->bundles[i].bundle;
            return LSC_OK;
        }
    LSC_TRY(lsc_ext_check_location(&c->model, location, label, c->error));
    open_bundle *b = realloc(c->bundles, (c->n_bundles + 1) * sizeof *b);
    if (!b)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    c->bundles = b;
    char *path = lsc_path_join(c->model.dir, location);
    char *loc = lsc_strdup(location);
    if (!path || !loc) {
        free(path);
        free(loc);
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    lsc_bundle *bundle = NULL;
    lsc_status st = lsc_bundle_open(path, &bundle, c->error);
    free(path);
    if (st != LSC_OK) {
        free(loc);
        return st;
    }
    b[c->n_bundles].location = loc;
    b[c->n_bundles].bundle = bundle;
    c->n_bundles++;
    *out = bundle;
    return LSC_OK;
}

static lsc_status get_bundle_fn(void *ctx, const char *location, const char *label, lsc_bundle **out,
                                lsc_error *error)
{
    (void)error; /* the context's: the one this decompress reports */
    return get_bundle(ctx, location, label, out);
}

/* The bundle entry and opened weight an LSC node's weight tensor refers to. */
static lsc_status open_weight(restore_ctx *c, const lsc_candidate *cand, const char *label,
                              lsc_bundle **bundle_out, size_t *index_out, lsc_weight **weight)
{
    const Onnx__TensorProto *t = cand->tensor;
    lsc_ext_ref ref = {0};
    if (!t || lsc_tensor_repr(t) != LSC_REPR_EXTERNAL || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8)
        return lsc_fail(c->error, LSC_ERR_BAD_MODEL,
                        "%s: weight of an LSC node is not a uint8 tensor in a bundle", label);
    LSC_TRY(lsc_ext_parse(&c->model, t, label, &ref, c->error));
    lsc_bundle *bundle = NULL;
    LSC_TRY(get_bundle(c, ref.location, label, &bundle));
    size_t index = 0;
    LSC_TRY(lsc_bundle_entry_for(bundle, cand->name, &ref, label, &index, c->error));
    *bundle_out = bundle;
    *index_out = index;
    return lsc_bundle_open_weight(bundle, index, weight, c->error);
}

/* Fills the restored tensor's payload field, as a placeholder where possible. */
static lsc_status fill_payload(restore_ctx *c, restored *r, const lsc_weight_info *info,
                               uint64_t count, const char *label)
{
    Onnx__TensorProto *t = r->tensor;
    uint8_t *ph = c->placeholders + (r - c->items);
    if (lsc_tensor_repr(t) == LSC_REPR_EXTERNAL) {
        r->external = 1; /* bytes go to the external file (restore_external.c) */
        return LSC_OK;
    }
    if (!info->typed_field) {
        t->has_raw_data = 1;
        t->raw_data.data = ph;
        t->raw_data.len = r->dense_bytes;
        r->placeholder = 1;
        return LSC_OK;
    }
    if (info->dtype == LSC_DTYPE_FLOAT32) {
        t->n_float_data = (size_t)count;
        t->float_data = (float *)(void *)ph;
        r->placeholder = 1;
        return LSC_OK;
    }
    if (info->dtype == LSC_DTYPE_FLOAT64) {
        t->n_double_data = (size_t)count;
        t->double_data = (double *)(void *)ph;
        r->placeholder = 1;
        return LSC_OK;
    }
    /* f16 / bf16 in int32_data: varints, packed element by element, so built now. */
    size_t values_size = 0;
    if (count > SIZE_MAX || lsc_mul_overflow_size((size_t)count, sizeof(int32_t), &values_size))
        return lsc_fail(c->error, LSC_ERR_TOO_LARGE, "%s: %llu int32_data values do not fit in memory",
                        label, (unsigned long long)count);
    uint8_t *dense = malloc(r->dense_bytes ? r->dense_bytes : 1);
    int32_t *values = malloc(values_size ? values_size : 1);
    lsc_status st = LSC_OK;
    if (!dense || !values)
        st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
    else
        st = lsc_weight_decode(r->weight, dense, r->dense_bytes, c->error);
    if (st == LSC_OK) {
        for (size_t i = 0; i < count; i++)
            values[i] = (int32_t)(dense[2 * i] | (dense[2 * i + 1] << 8));
        t->n_int32_data = (size_t)count;
        t->int32_data = values;
        values = NULL;
    }
    free(dense);
    free(values);
    return st;
}

static lsc_status restore_node(Onnx__NodeProto *node, lsc_error *error)
{
    if (!lsc_node_is_lsc(node))
        return LSC_OK; /* an LSTM's W and R: restored with the first */
    char *op = lsc_strdup(lsc_plain_op_for(node->op_type));
    if (!op)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    free(node->op_type);
    node->op_type = op;
    char *domain = NULL;
    for (size_t a = node->n_attribute; a-- > 0;) {
        Onnx__AttributeProto *attr = node->attribute[a];
        if (!attr->name || strcmp(attr->name, LSC_DOMAIN_ATTR) != 0)
            continue;
        domain = malloc(attr->s.len + 1);
        if (!domain)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        if (attr->s.len)
            memcpy(domain, attr->s.data, attr->s.len);
        domain[attr->s.len] = 0;
        protobuf_c_message_free_unpacked(&attr->base, NULL);
        memmove(node->attribute + a, node->attribute + a + 1,
                (node->n_attribute - a - 1) * sizeof *node->attribute);
        node->n_attribute--;
        break;
    }
    free(node->domain);
    node->domain = domain; /* absent if the original had none */
    return LSC_OK;
}

/* An LscDecode node must be the blob's one reader, in the blob's graph, of the
 * restored tensor's type, giving the restored value's name: the initializer's own,
 * or the one its Constant node had (put back here). Then removing it
 * (remove_decode_nodes) and putting the tensor back restore the graph. */
static lsc_status check_decode_node(restore_ctx *c, const lsc_candidate *cand, const char *label)
{
    const Onnx__NodeProto *n = cand->n_consumers == 1 ? cand->consumers[0] : NULL;
    int in_graph = 0;
    for (size_t i = 0; n && i < cand->graph->n_node && !in_graph; i++)
        in_graph = cand->graph->node[i] == n;
    const char *op = lsc_decode_op_for(cand->tensor->data_type);
    int named = n && n->n_output == 1 && n->output[0] && *n->output[0] &&
                (cand->home == LSC_HOME_CONSTANT ||
                 (cand->home == LSC_HOME_INITIALIZER && cand->tensor->name && strcmp(n->output[0], cand->tensor->name) == 0));
    if (!in_graph || !named || n->n_input != 1 || n->n_attribute || !op || strcmp(n->op_type, op) != 0)
        return lsc_fail(c->error, LSC_ERR_BAD_MODEL,
                        "%s: LscDecode node must be the blob's only reader, in its graph, of op type %s (for a %s "
                        "tensor), with one output named as the restored value and no attributes", label,
                        op ? op : "LscDecode*", lsc_dtype_string(cand->tensor->data_type));
    if (cand->home == LSC_HOME_CONSTANT) {
        char **out = &cand->graph->node[cand->home_index]->output[0];
        char *name = lsc_strdup(n->output[0]);
        if (!name)
            return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
        free(*out);
        *out = name;
    }
    return LSC_OK;
}

/* Takes every LscDecode node of the restored weights out of its graph. */
static void remove_decode_nodes(restore_ctx *c)
{
    for (size_t k = 0; k < c->sel.count; k++) {
        lsc_candidate *cand = &c->sel.items[k];
        if (!cand->compressed || !cand->decode || cand->n_consumers != 1)
            continue;
        Onnx__GraphProto *g = cand->graph;
        for (size_t i = 0; i < g->n_node; i++)
            if (g->node[i] == cand->consumers[0]) {
                protobuf_c_message_free_unpacked(&g->node[i]->base, NULL);
                memmove(g->node + i, g->node + i + 1, (g->n_node - i - 1) * sizeof *g->node);
                g->n_node--;
                cand->n_consumers = 0;
                break;
            }
    }
}

static lsc_status restore_one(restore_ctx *c, lsc_candidate *cand)
{
    char label[400];
    lsc_label(label, sizeof label, c->in_path, "weight", cand->name);
    restored *r = &c->items[c->n_items];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", cand->name);
    lsc_bundle *bundle = NULL;
    size_t index = 0;
    LSC_TRY(open_weight(c, cand, label, &bundle, &index, &r->weight));
    c->n_items++;
    const lsc_bundle_entry *e = lsc_bundle_get(bundle, index);
    /* Opening checked every byte of the blob; decoding reads it again later. */
    r->blob = lsc_bundle_blob(bundle, index);
    r->blob_size = e->size;
    lsc_map_release(r->blob, r->blob_size);
    Onnx__TensorProto *t = (Onnx__TensorProto *)protobuf_c_message_unpack(
        &onnx__tensor_proto__descriptor, NULL, e->restore_len, e->restore);
    if (!t)
        return lsc_fail(c->error, LSC_ERR_BAD_BUNDLE, "%s: restore record does not parse", label);
    r->tensor = t;
    lsc_weight_info info;
    lsc_weight_get_info(r->weight, &info);
    uint64_t count = 0, bytes = 0;
    int same = t->has_data_type && t->data_type == (int32_t)info.dtype && lsc_blob_dims_match(t, &info) &&
               lsc_tensor_elements(t, label, &count, NULL) == LSC_OK && lsc_tensor_repr(t) != LSC_REPR_TYPED &&
               !t->has_raw_data;
    if (!same || lsc_mul_overflow_u64(count, lsc_dtype_size(info.dtype), &bytes) || bytes > SIZE_MAX) {
        protobuf_c_message_free_unpacked(&t->base, NULL);
        r->tensor = NULL;
        return lsc_fail(c->error, LSC_ERR_BAD_BUNDLE, "%s: restore record disagrees with the blob", label);
    }
    r->dense_bytes = (size_t)bytes;

    /* Swap it into the graph before anything else can fail: the model owns it now. */
    Onnx__TensorProto *blob_tensor = cand->tensor;
    lsc_candidate_set_tensor(cand, t);
    LSC_TRY(lsc_onnx_detach(&c->model, blob_tensor, c->error));
    LSC_TRY(fill_payload(c, r, &info, count, label));

    int64_t blob_dims[1] = {(int64_t)info.blob_size};
    Onnx__GraphProto *g = cand->graph;
    for (size_t i = 0; i < g->n_input; i++)
        if (g->input[i]->name && strcmp(g->input[i]->name, cand->name) == 0 &&
            lsc_value_type_is(g->input[i], ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, blob_dims, 1))
            LSC_TRY(lsc_value_type_set(g->input[i], t->data_type, t->dims, t->n_dims, c->error));
    for (size_t i = 0; i < cand->n_decls; i++)
        if (lsc_value_type_is(cand->decls[i], ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, blob_dims, 1))
            LSC_TRY(lsc_value_type_set(cand->decls[i], t->data_type, t->dims, t->n_dims, c->error));
    if (cand->decode)
        return check_decode_node(c, cand, label);
    for (size_t i = 0; i < cand->n_consumers; i++)
        LSC_TRY(restore_node(cand->consumers[i], c->error));
    return LSC_OK;
}

/* The main graph inputs compress dropped (graph_inputs.c), rebuilt from their
 * restored initializers at their original places. */
static lsc_status restore_graph_inputs(restore_ctx *c)
{
    lsc_dropped_inputs d;
    Onnx__GraphProto *g = c->model.proto->graph;
    lsc_status st = lsc_dropped_inputs_take(c->model.proto, &d, c->error);
    for (size_t i = 0; st == LSC_OK && i < d.count; i++) {
        const lsc_candidate *cand = NULL;
        for (size_t k = 0; k < c->sel.count && !cand; k++)
            if (c->sel.items[k].graph == g && c->sel.items[k].compressed &&
                c->sel.items[k].home == LSC_HOME_INITIALIZER && c->sel.items[k].tensor->name &&
                strcmp(c->sel.items[k].tensor->name, d.items[i].name) == 0)
                cand = &c->sel.items[k];
        if (!cand || d.items[i].position > g->n_input) {
            st = lsc_fail(c->error, LSC_ERR_BAD_MODEL,
                          "%s: dropped graph input '%.200s' is not an encoded weight of the main graph",
                          c->in_path, d.items[i].name);
            break;
        }
        Onnx__ValueInfoProto **inputs = realloc(g->input, (g->n_input + 1) * sizeof *inputs);
        Onnx__ValueInfoProto *v = malloc(sizeof *v);
        if (inputs)
            g->input = inputs;
        if (!inputs || !v) {
            free(v);
            st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
            break;
        }
        onnx__value_info_proto__init(v);
        if (!(v->name = lsc_strdup(cand->tensor->name))) {
            free(v);
            st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
            break;
        }
        size_t pos = d.items[i].position;
        memmove(g->input + pos + 1, g->input + pos, (g->n_input - pos) * sizeof *g->input);
        g->input[pos] = v;
        g->n_input++;
        st = lsc_value_type_set(v, cand->tensor->data_type, cand->tensor->dims, cand->tensor->n_dims,
                                c->error);
    }
    lsc_dropped_inputs_free(&d);
    return st;
}

static void drop_lsc_opset(Onnx__ModelProto *m)
{
    for (size_t i = m->n_opset_import; i-- > 0;) {
        Onnx__OperatorSetIdProto *op = m->opset_import[i];
        if (op->domain && strcmp(op->domain, LSC_ONNX_DOMAIN) == 0) {
            protobuf_c_message_free_unpacked(&op->base, NULL);
            memmove(m->opset_import + i, m->opset_import + i + 1,
                    (m->n_opset_import - i - 1) * sizeof *m->opset_import);
            m->n_opset_import--;
            return;
        }
    }
}

/* Writes weight `index`'s dense bytes when the packer reaches its placeholder. */
static lsc_status produce(void *ctx, size_t index, lsc_out_file *out, lsc_error *error)
{
    restore_ctx *c = ctx;
    restored *r = &c->items[index];
    const uint8_t *dense = NULL;
    lsc_status st =
        lsc_dense_decode(&c->buf, r->weight, r->dense_bytes, lsc_out_direct_phase(out), &c->exec, &dense, error);
    lsc_map_release(r->blob, r->blob_size);
    if (st == LSC_OK)
        lsc_out_write_dense(out, dense, r->dense_bytes);
    if (st == LSC_OK)
        lsc_progress_add(&c->progress, r->dense_bytes);
    return st;
}

static void unset_placeholders(restore_ctx *c)
{
    for (size_t i = 0; i < c->n_items; i++) {
        Onnx__TensorProto *t = c->items[i].tensor;
        if (!t || !c->items[i].placeholder)
            continue;
        if (t->has_raw_data) {
            t->raw_data.data = NULL;
            t->raw_data.len = 0;
        }
        if (t->float_data == (float *)(void *)(c->placeholders + i)) {
            t->float_data = NULL;
            t->n_float_data = 0;
        }
        if (t->double_data == (double *)(void *)(c->placeholders + i)) {
            t->double_data = NULL;
            t->n_double_data = 0;
        }
    }
}

static lsc_status restore_run(restore_ctx *c, const char *out_model)
{
    LSC_TRY(lsc_onnx_load(c->in_path, &c->model, c->error));
    /* First: the full model (docs/format.md 7), the original names come back (docs/format.md 6), then the dense pack
     * goes, so that the graph is the one compress recorded every other position and
     * name in (docs/format.md 5). */
    int unpacked = 0, renamed = 0, slimmed = 0;
    LSC_TRY(lsc_restore_graph(&c->model, get_bundle_fn, c, &slimmed, 0, c->error));
    LSC_TRY(lsc_restore_names(&c->model, get_bundle_fn, c, &renamed, c->error));
    LSC_TRY(lsc_unpack_dense(&c->model, get_bundle_fn, c, &unpacked, c->error));
    LSC_TRY(lsc_select(&c->model, 0, &c->sel, c->error));
    c->items = calloc(c->sel.count ? c->sel.count : 1, sizeof *c->items);
    c->placeholders = malloc(c->sel.count ? c->sel.count : 1);
    if (!c->items || !c->placeholders)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t k = 0; k < c->sel.count; k++) {
        lsc_candidate *cand = &c->sel.items[k];
        if (!cand->compressed)
            continue;
        if (cand->outcome != LSC_LAYER_ENCODED)
            return lsc_fail(c->error, LSC_ERR_BAD_MODEL,
                            "%s: weight '%.200s' of an LSC node is also used by other nodes", c->in_path,
                            cand->name);
        LSC_TRY(restore_one(c, cand));
    }
    remove_decode_nodes(c);
    if (c->n_items || unpacked)
        drop_lsc_opset(c->model.proto);
    LSC_TRY(lsc_unfuse_model(c->model.proto, c->in_path, c->error));
    LSC_TRY(restore_graph_inputs(c));

    for (size_t i = 0; i < c->n_bundles; i++) {
        char *path = lsc_path_join(c->model.dir, c->bundles[i].location);
        int same = path && lsc_same_file(path, out_model);
        free(path);
        if (same)
            return lsc_fail(c->error, LSC_ERR_INVALID_ARGUMENT, "%s: output would overwrite the bundle",
                            out_model);
    }
    if (lsc_jobs_threads(c->threads, SIZE_MAX) > 1)
        LSC_TRY(lsc_pool_create(lsc_jobs_threads(c->threads, SIZE_MAX), &c->exec.pool, c->error));
    lsc_restore_ext ext = {.progress = &c->progress, .exec = &c->exec};
    for (size_t i = 0; i < c->n_items; i++)
        if (c->items[i].external || c->items[i].placeholder)
            c->progress.total += c->items[i].dense_bytes;
    if (c->progress.fn)
        c->progress.fn(c->progress.context, 0, c->progress.total);
    for (size_t i = 0; i < c->n_items; i++)
        if (c->items[i].external) {
            lsc_status st = lsc_restore_ext_add(&ext, c->items[i].tensor, c->items[i].weight,
                                                c->items[i].dense_bytes, c->items[i].blob,
                                                c->items[i].blob_size, c->error);
            if (st != LSC_OK) {
                lsc_restore_ext_free(&ext);
                return st;
            }
        }
    lsc_status ext_st = LSC_OK;
    if (!lsc_same_folder(c->model.dir, out_model)) {
        /* Dense external tensors go along (restore_external.c); the restored ones
         * are already items. */
        Onnx__TensorProto **skip = calloc(c->n_items ? c->n_items : 1, sizeof *skip);
        if (!skip)
            ext_st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
        for (size_t i = 0; skip && i < c->n_items; i++)
            skip[i] = c->items[i].tensor;
        if (skip)
            ext_st = lsc_restore_ext_add_model(&ext, &c->model, skip, c->n_items, NULL, c->error);
        free(skip);
    }
    if (ext_st == LSC_OK)
        ext_st = lsc_restore_ext_write(&ext, out_model, c->error);
    c->buf = ext.buf; /* its pages are mapped already: the model's weights reuse it */
    ext.buf = (lsc_dense_buf){0};
    if (ext_st != LSC_OK) {
        lsc_restore_ext_free(&ext);
        return ext_st;
    }
    lsc_out_file out;
    lsc_status open_st = lsc_out_open(&out, out_model, c->error);
    if (open_st != LSC_OK) {
        lsc_restore_ext_rollback(&ext);
        lsc_restore_ext_free(&ext);
        return open_st;
    }
    lsc_out_direct(&out); /* the restored weights inside it: written once, past the page cache */
    lsc_pb_sink sink;
    lsc_pb_sink_init(&sink, &out);
    sink.placeholders = c->placeholders;
    sink.n_placeholders = c->n_items;
    sink.produce = produce;
    sink.produce_ctx = c;
    lsc_status st = lsc_onnx_write(&c->model, &sink, c->error);
    if (st != LSC_OK)
        lsc_out_abort(&out);
    else
        st = lsc_out_commit(&out, c->error);
    if (st != LSC_OK)
        lsc_restore_ext_rollback(&ext);
    lsc_restore_ext_free(&ext);
    return st;
}

void lsc_decompress_options_default(lsc_decompress_options *options)
{
    if (options)
        memset(options, 0, sizeof *options);
}

lsc_status lsc_decompress_file(const char *in_model, const char *out_model, lsc_error *error)
{
    return lsc_decompress_file_opts(in_model, out_model, NULL, error);
}

lsc_status lsc_decompress_file_opts(const char *in_model, const char *out_model,
                                    const lsc_decompress_options *options, lsc_error *error)
{
    if (!in_model || !out_model)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "decompress: no input or output path");
    if (lsc_same_file(in_model, out_model))
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "%s: output would overwrite the input", in_model);
    restore_ctx c = {.in_path = in_model, .error = error};
    if (options) {
        c.progress.fn = options->progress;
        c.progress.context = options->progress_context;
        c.threads = options->threads;
    }
    lsc_status st = restore_run(&c, out_model);
    lsc_pool_free(&c.exec.pool);
    lsc_dense_buf_free(&c.buf);
    unset_placeholders(&c);
    for (size_t i = 0; i < c.n_items; i++)
        lsc_weight_close(&c.items[i].weight);
    for (size_t i = 0; i < c.n_bundles; i++) {
        lsc_bundle_close(&c.bundles[i].bundle);
        free(c.bundles[i].location);
    }
    free(c.bundles);
    free(c.items);
    free(c.placeholders);
    lsc_selection_free(&c.sel);
    lsc_onnx_free(&c.model);
    return st;
}
