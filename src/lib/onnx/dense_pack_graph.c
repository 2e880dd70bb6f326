/* The dense pack in the graph (docs/format.md part 5): compress moves the float32
 * initializers and Constant values of the main graph and of If/Loop/Scan bodies into
 * one bundle entry read by one LscUnpack node of the main graph (bodies read theirs
 * as outer-scope values); decompress puts them back at their places, byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "bundle/seal.h"
#include "onnx/dense_pack_graph.h"
#include "onnx/dense_pack_scope.h"

#define PACK_TENSOR_NAME "lsc.dense"

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static int declared(Onnx__ValueInfoProto *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (same(v[i]->name, name))
            return 1;
    return 0;
}

/* How many initializers and node outputs of g carry that name. */
static size_t definitions(const Onnx__GraphProto *g, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n_initializer; i++)
        n += same(g->initializer[i]->name, name);
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_output; j++)
            n += same(g->node[i]->output[j], name);
    return n;
}

/* A float32 tensor in raw_data or float_data of at least LSC_PACK_MIN_ELEMENTS. */
static int packable_tensor(const Onnx__TensorProto *t)
{
    lsc_repr repr = lsc_tensor_repr(t);
    uint64_t count = 0;
    return t && t->has_data_type && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && !t->segment &&
           t->n_dims <= LSC_MAX_RANK && (repr == LSC_REPR_RAW || repr == LSC_REPR_TYPED) &&
           lsc_tensor_elements(t, "", &count, NULL) == LSC_OK && count >= LSC_PACK_MIN_ELEMENTS;
}

/* A value the pack can take. In the main graph: defined once there, not its input
 * or output, not an LSC recurrent op's W or R. In a body (it becomes an outer-scope
 * value): defined once in the whole model, in no graph's inputs or outputs, not W or
 * R. Nothing when a body lies deeper than the list goes (its readers are unseen). */
static int packable_name(const lsc_graph_list *list, const lsc_pack_names *names, size_t graph, const char *name)
{
    const Onnx__GraphProto *g = list->graph[graph];
    uint32_t defs = 0;
    uint8_t flags = name && *name ? lsc_pack_names_flags(names, name, &defs) : LSC_NAME_GRAPH_IO;
    if (list->deep)
        return 0;
    if (graph == 0)
        return !(flags & LSC_NAME_RECURRENT) && definitions(g, name) == 1 && !declared(g->input, g->n_input, name) &&
               !declared(g->output, g->n_output, name);
    return defs == 1 && flags == 0;
}

/* A plain Constant node holding only a `value` tensor: that tensor, else NULL. */
static Onnx__TensorProto *constant_value(const Onnx__NodeProto *n)
{
    if (!lsc_node_is_onnx(n) || !same(n->op_type, "Constant") || n->n_input || n->n_output != 1 ||
        n->n_attribute != 1 || !same(n->attribute[0]->name, "value") || n->attribute[0]->ref_attr_name ||
        n->attribute[0]->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)
        return NULL;
    return n->attribute[0]->t;
}

/* One packed tensor on the compress side: where it came from, and its value. */
typedef struct source {
    Onnx__TensorProto *tensor;
    Onnx__NodeProto *node; /* its Constant node, or NULL for an initializer */
    const char *value_name;
    size_t graph;          /* in the graph list */
    uint64_t hash;         /* of its values, to find repeats */
} source;

/* The restore record: the initializer, or the Constant node, without the payload. */
static lsc_status restore_record(const source *src, lsc_pack_item *item, lsc_error *error)
{
    lsc_saved_payload saved;
    lsc_payload_clear(src->tensor, &saved);
    const ProtobufCMessage *m = src->node ? &src->node->base : &src->tensor->base;
    size_t n = protobuf_c_message_get_packed_size(m);
    item->restore = malloc(n ? n : 1);
    if (item->restore)
        item->restore_len = protobuf_c_message_pack(m, item->restore);
    lsc_payload_put_back(src->tensor, &saved);
    return item->restore ? LSC_OK : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
}

/* The LscUnpack node: the pack tensor in, one output per packed tensor, first node. */
static lsc_status add_unpack_node(Onnx__GraphProto *g, const char *input, const source *src, size_t n,
                                  lsc_error *error)
{
    Onnx__NodeProto **nodes = realloc(g->node, (g->n_node + 1) * sizeof *nodes);
    if (!nodes)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    g->node = nodes;
    Onnx__NodeProto *node = malloc(sizeof *node);
    if (!node)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    onnx__node_proto__init(node);
    int ok = (node->input = calloc(1, sizeof *node->input)) && (node->input[0] = lsc_strdup(input)) &&
             (node->output = calloc(n, sizeof *node->output)) && (node->op_type = lsc_strdup(LSC_UNPACK_OP)) &&
             (node->domain = lsc_strdup(LSC_ONNX_DOMAIN));
    node->n_input = node->input != NULL;
    for (size_t i = 0; ok && i < n; i++, node->n_output++)
        ok = (node->output[i] = lsc_strdup(src[i].value_name)) != NULL;
    if (!ok) {
        protobuf_c_message_free_unpacked(&node->base, NULL);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    memmove(g->node + 1, g->node, g->n_node * sizeof *g->node);
    g->node[0] = node;
    g->n_node++;
    return LSC_OK;
}

/* Removes the listed elements (in list order) from an array of pointers. */
static size_t remove_listed(void **array, size_t n, void *const *listed, size_t n_listed)
{
    size_t kept = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k < n_listed && array[i] == listed[k]) {
            k++;
            continue;
        }
        array[kept++] = array[i];
    }
    return kept;
}

/* Takes graph g's packed initializers and Constant nodes out (src lists them in
 * graph order, initializers first). */
static void remove_sources(Onnx__GraphProto *g, size_t graph, const source *src, size_t n, void **listed)
{
    size_t n_inits = 0, n_nodes = 0;
    for (size_t i = 0; i < n; i++)
        if (src[i].graph == graph && !src[i].node)
            listed[n_inits++] = src[i].tensor;
    g->n_initializer = remove_listed((void **)g->initializer, g->n_initializer, listed, n_inits);
    for (size_t i = 0; i < n; i++)
        if (src[i].graph == graph && src[i].node)
            listed[n_nodes++] = src[i].node;
    g->n_node = remove_listed((void **)g->node, g->n_node, listed, n_nodes);
}

/* The graphs: packed values out, the pack tensor last in the main graph, the node
 * first. */
static lsc_status rewrite(lsc_onnx_model *model, const lsc_graph_list *list, const source *src, size_t n,
                          const char *name, const char *bundle_name, uint64_t offset, size_t size, lsc_error *error)
{
    Onnx__GraphProto *g = model->proto->graph;
    void **listed = calloc(n, sizeof *listed);
    Onnx__TensorProto **inits = realloc(g->initializer, (g->n_initializer + 1) * sizeof *inits);
    if (inits)
        g->initializer = inits;
    Onnx__TensorProto *t = listed && inits ? lsc_blob_tensor_new(name, bundle_name, offset, size) : NULL;
    lsc_status st = t ? add_unpack_node(g, name, src, n, error) : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    if (st != LSC_OK) {
        if (t)
            protobuf_c_message_free_unpacked(&t->base, NULL);
        free(listed);
        return st;
    }
    for (size_t k = 0; k < list->n; k++)
        remove_sources(list->graph[k], k, src, n, listed);
    g->initializer[g->n_initializer++] = t;
    free(listed);
    /* The tensors stay alive with the model (their payloads may lie in its mapping);
     * a Constant node goes without its tensor. */
    for (size_t i = 0; i < n; i++) {
        LSC_TRY(lsc_onnx_detach(model, src[i].tensor, error));
        if (src[i].node) {
            src[i].node->attribute[0]->t = NULL;
            protobuf_c_message_free_unpacked(&src[i].node->base, NULL);
        }
    }
    return LSC_OK;
}

/* Fills item k from src[k]; 0 when its payload disagrees with its dims (it stays). */
static int take(lsc_onnx_model *model, const source *src, uint32_t position, lsc_pack_item *it, lsc_dense *dense)
{
    if (lsc_tensor_dense(model, src->tensor, "", dense, NULL) != LSC_OK)
        return 0;
    it->graph = (uint32_t)src->graph;
    it->position = position;
    it->node = src->node != NULL;
    it->typed = lsc_tensor_repr(src->tensor) == LSC_REPR_TYPED;
    it->rank = (int)src->tensor->n_dims;
    it->dims = src->tensor->dims;
    it->count = dense->size / 4;
    it->values = dense->data;
    return 1;
}

/* The packable tensors of graph k, initializers then Constant nodes, appended. */
static void collect(lsc_onnx_model *model, const lsc_graph_list *list, const lsc_pack_names *names, size_t k,
                    lsc_pack_item *items, lsc_dense *dense, source *src, size_t *n)
{
    Onnx__GraphProto *g = list->graph[k];
    for (size_t i = 0; i < g->n_initializer; i++) {
        Onnx__TensorProto *t = g->initializer[i];
        src[*n] = (source){ t, NULL, t->name, k, 0 };
        if (packable_tensor(t) && packable_name(list, names, k, t->name) &&
            take(model, &src[*n], (uint32_t)i, &items[*n], &dense[*n]))
            (*n)++;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__TensorProto *t = constant_value(g->node[i]);
        src[*n] = (source){ t, g->node[i], t ? g->node[i]->output[0] : NULL, k, 0 };
        if (t && packable_tensor(t) && packable_name(list, names, k, src[*n].value_name) &&
            take(model, &src[*n], (uint32_t)i, &items[*n], &dense[*n]))
            (*n)++;
    }
}

/* A tensor whose values (bits) equal an earlier one's keeps only a reference to it:
 * models holding one layer in both branches of an If. */
static void find_repeats(lsc_pack_item *items, const lsc_dense *dense, source *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        src[i].hash = XXH64(dense[i].data, dense[i].size, 0);
        for (size_t j = 0; j < i && !items[i].same; j++)
            if (!items[j].same && src[j].hash == src[i].hash && dense[j].size == dense[i].size &&
                memcmp(dense[j].data, dense[i].data, dense[i].size) == 0) {
                items[i].same = 1;
                items[i].same_as = (uint32_t)j;
            }
    }
}

static lsc_status pack_run(lsc_onnx_model *model, const lsc_graph_list *list, lsc_pack_item *items, lsc_dense *dense,
                           source *src, size_t *n_out, lsc_bundle_writer *writer, const char *bundle_name,
                           lsc_error *error)
{
    Onnx__GraphProto *g = model->proto->graph;
    lsc_pack_names names;
    LSC_TRY(lsc_pack_names_build(list, &names, error));
    size_t n = 0;
    uint64_t payload = 0;
    for (size_t k = 0; k < list->n; k++)
        if (list->graph[k]->n_initializer <= UINT32_MAX && list->graph[k]->n_node <= UINT32_MAX)
            collect(model, list, &names, k, items, dense, src, &n); /* positions are 32-bit */
    lsc_pack_names_free(&names);
    *n_out = n;
    if (n == 0)
        return LSC_OK;
    find_repeats(items, dense, src, n);
    for (size_t i = 0; i < n; i++) {
        LSC_TRY(restore_record(&src[i], &items[i], error));
        payload += dense[i].size;
    }
    /* Named like no value of the model, nor any other bundle entry (those are values). */
    char name[64];
    snprintf(name, sizeof name, PACK_TENSOR_NAME);
    for (unsigned i = 2; lsc_graph_uses_name(g, name, 0); i++)
        snprintf(name, sizeof name, PACK_TENSOR_NAME "%u", i);
    lsc_bytes blob = {0};
    lsc_status st = lsc_dense_pack_build(items, n, &blob, error);
    uint64_t offset = 0;
    if (st == LSC_OK && blob.size >= payload)
        *n_out = 0; /* does not pay: the graph stays as it is */
    else if (st == LSC_OK)
        st = lsc_bundle_writer_append(writer, name, strlen(name), blob.data, blob.size, NULL, 0, &offset, error);
    if (st == LSC_OK && *n_out)
        st = rewrite(model, list, src, n, name, bundle_name, offset, blob.size, error);
    lsc_bytes_free(&blob);
    return st;
}

lsc_status lsc_pack_dense(lsc_onnx_model *model, lsc_bundle_writer *writer, const char *bundle_name,
                          size_t *packed_count, Onnx__TensorProto **pack_tensor, lsc_error *error)
{
    *packed_count = 0;
    *pack_tensor = NULL;
    Onnx__GraphProto *g = model->proto->graph;
    lsc_graph_list list;
    LSC_TRY(lsc_graph_list_build(g, &list, error));
    size_t most = 0;
    for (size_t k = 0; k < list.n; k++)
        most += list.graph[k]->n_initializer + list.graph[k]->n_node;
    if (most == 0) {
        lsc_graph_list_free(&list);
        return LSC_OK;
    }
    lsc_pack_item *items = calloc(most, sizeof *items);
    lsc_dense *dense = calloc(most, sizeof *dense);
    source *src = calloc(most, sizeof *src);
    lsc_status st = items && dense && src ? LSC_OK : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    if (st == LSC_OK)
        st = pack_run(model, &list, items, dense, src, packed_count, writer, bundle_name, error);
    if (st == LSC_OK && *packed_count)
        *pack_tensor = g->initializer[g->n_initializer - 1];
    for (size_t i = 0; items && dense && i < most; i++) {
        free(items[i].restore);
        lsc_dense_free(&dense[i]);
    }
    free(items);
    free(dense);
    free(src);
    lsc_graph_list_free(&list);
    return st;
}

/* ---- decompress ---- */

/* The main graph's LscUnpack node ((size_t)-1: none); more than one is refused. */
static lsc_status find_unpack(const lsc_onnx_model *model, size_t *at, lsc_error *error)
{
    const Onnx__GraphProto *g = model->proto->graph;
    *at = (size_t)-1;
    for (size_t i = 0; g && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!same(n->domain, LSC_ONNX_DOMAIN) || !same(n->op_type, LSC_UNPACK_OP))
            continue;
        if (*at != (size_t)-1)
            return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: more than one %s node", model->path, LSC_UNPACK_OP);
        *at = i;
    }
    return LSC_OK;
}

/* Record i parsed (an initializer, or a Constant node), its payload filled from the
 * pack, checked against the node's output name. */
static lsc_status restored(const lsc_packed_tensor *p, const char *output, const char *label, size_t i,
                           ProtobufCMessage **out, lsc_error *error)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(p->node ? &onnx__node_proto__descriptor
                                                            : &onnx__tensor_proto__descriptor,
                                                    NULL, p->restore_len, p->restore);
    if (!m)
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: tensor %zu: restore record does not parse", label, i);
    Onnx__NodeProto *node = p->node ? (Onnx__NodeProto *)m : NULL;
    Onnx__TensorProto *t = node ? constant_value(node) : (Onnx__TensorProto *)m;
    const char *name = node ? (node->n_output == 1 ? node->output[0] : NULL) : t->name;
    int ok = t && same(name, output) && t->has_data_type && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
             lsc_tensor_repr(t) == LSC_REPR_NONE && t->n_dims == (size_t)p->rank;
    for (int d = 0; ok && d < p->rank; d++)
        ok = t->dims[d] == p->dims[d];
    size_t bytes = (size_t)p->count * sizeof(float);
    void *copy = ok ? malloc(bytes ? bytes : 1) : NULL;
    if (!copy) {
        protobuf_c_message_free_unpacked(m, NULL);
        return ok ? lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory")
                  : lsc_fail(error, LSC_ERR_BAD_BUNDLE,
                             "%s: tensor %zu: restore record disagrees with the pack or the node's output '%.200s'",
                             label, i, output ? output : "");
    }
    memcpy(copy, p->values, bytes);
    if (p->typed) {
        t->float_data = copy;
        t->n_float_data = (size_t)p->count;
    } else {
        t->has_raw_data = 1;
        t->raw_data.data = copy;
        t->raw_data.len = bytes;
    }
    *out = m;
    return LSC_OK;
}

/* The node's pack tensor: a uint8 initializer of the main graph held in a bundle. */
static lsc_status open_pack(lsc_onnx_model *model, const Onnx__NodeProto *node, lsc_bundle_get_fn get_bundle,
                            void *ctx, const char *label, size_t *tensor_at, lsc_dense_pack **pack, lsc_error *error)
{
    const Onnx__GraphProto *g = model->proto->graph;
    if (node->n_input != 1 || node->n_output == 0 || node->n_attribute || node->name || node->doc_string)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: must have one input, outputs, and no name, doc_string or attributes",
                        label);
    *tensor_at = (size_t)-1;
    for (size_t i = 0; i < g->n_initializer && *tensor_at == (size_t)-1; i++)
        if (same(g->initializer[i]->name, node->input[0]))
            *tensor_at = i;
    const Onnx__TensorProto *t = *tensor_at == (size_t)-1 ? NULL : g->initializer[*tensor_at];
    if (!t || lsc_tensor_repr(t) != LSC_REPR_EXTERNAL || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: its input is not a uint8 initializer in a bundle", label);
    lsc_ext_ref ref = {0};
    LSC_TRY(lsc_ext_parse(model, t, label, &ref, error));
    lsc_bundle *bundle = NULL;
    LSC_TRY(get_bundle(ctx, ref.location, label, &bundle, error));
    size_t index = 0;
    LSC_TRY(lsc_bundle_entry_for(bundle, t->name, &ref, label, &index, error));
    const lsc_bundle_entry *e = lsc_bundle_get(bundle, index);
    const void *blob = lsc_bundle_blob(bundle, index);
    if (!lsc_is_dense_pack(blob, (size_t)e->size))
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: its bundle entry is not a dense pack", label);
    lsc_status st = lsc_dense_pack_open(blob, (size_t)e->size, t->name, pack, error);
    if (st != LSC_OK) {
        lsc_error_prefix(error, lsc_bundle_path(bundle)); /* the file whose bytes are wrong */
        return st;
    }
    if (lsc_dense_pack_count(*pack) != node->n_output)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: %zu outputs, its pack holds %zu tensors", label,
                        node->n_output, lsc_dense_pack_count(*pack));
    return LSC_OK;
}

/* The records of one graph and kind (node 0 or 1): [*first, *first + *n). */
static void records_of(const lsc_dense_pack *pack, uint32_t graph, int node, size_t *first, size_t *n)
{
    size_t k = 0, count = lsc_dense_pack_count(pack);
    while (k < count && (lsc_dense_pack_get(pack, k)->graph != graph || lsc_dense_pack_get(pack, k)->node != node))
        k++;
    *first = k;
    while (k < count && lsc_dense_pack_get(pack, k)->graph == graph && lsc_dense_pack_get(pack, k)->node == node)
        k++;
    *n = k - *first;
}

/* A new array: old[] without old[skip] ((size_t)-1: none), with the records of one
 * graph and kind at their positions. LSC_ERR_BAD_BUNDLE for a position beyond it. */
static lsc_status merge(void **old, size_t n_old, size_t skip, ProtobufCMessage **in, const lsc_dense_pack *pack,
                        uint32_t graph, int node, const char *label, void ***out, size_t *n_out, lsc_error *error)
{
    size_t k = 0, n_in = 0;
    records_of(pack, graph, node, &k, &n_in);
    size_t total = n_old - (skip != (size_t)-1) + n_in, from = 0, taken = 0, at = 0;
    void **list = malloc((total ? total : 1) * sizeof *list);
    if (!list)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (; at < total; at++) {
        if (taken < n_in && lsc_dense_pack_get(pack, k)->position == at) {
            list[at] = in[k++];
            taken++;
            continue;
        }
        if (from == skip)
            from++;
        if (from >= n_old)
            break;
        list[at] = old[from++];
    }
    if (taken != n_in || at != total) {
        free(list);
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: a %s position lies beyond graph %u's list", label,
                        node ? "Constant node" : "initializer", graph);
    }
    *out = list;
    *n_out = total;
    return LSC_OK;
}

/* The new initializer and node arrays of every graph with records (and of the main
 * graph, which loses the pack tensor and the node); nothing moves until all are made. */
typedef struct new_lists {
    void **inits, **nodes;
    size_t n_inits, n_nodes;
    int set;
} new_lists;

/* Puts the restored values at their positions, the pack tensor and node gone. */
static lsc_status put_back(lsc_onnx_model *model, const lsc_graph_list *list, size_t node_at, size_t tensor_at,
                           ProtobufCMessage **in, const lsc_dense_pack *pack, const char *label, lsc_error *error)
{
    Onnx__GraphProto *g = model->proto->graph;
    new_lists *nl = calloc(list->n, sizeof *nl);
    lsc_status st = nl ? LSC_OK : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == LSC_OK && i < lsc_dense_pack_count(pack); i++)
        if (lsc_dense_pack_get(pack, i)->graph >= list->n)
            st = lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: tensor %zu: graph %u, the model has %zu", label, i,
                          lsc_dense_pack_get(pack, i)->graph, list->n);
    for (size_t k = 0; st == LSC_OK && k < list->n; k++) {
        size_t first = 0, n_i = 0, n_n = 0;
        records_of(pack, (uint32_t)k, 0, &first, &n_i);
        records_of(pack, (uint32_t)k, 1, &first, &n_n);
        if (k && !n_i && !n_n)
            continue;
        Onnx__GraphProto *gk = list->graph[k];
        nl[k].set = 1;
        st = merge((void **)gk->initializer, gk->n_initializer, k ? (size_t)-1 : tensor_at, in, pack, (uint32_t)k, 0,
                   label, &nl[k].inits, &nl[k].n_inits, error);
        if (st == LSC_OK)
            st = merge((void **)gk->node, gk->n_node, k ? (size_t)-1 : node_at, in, pack, (uint32_t)k, 1, label,
                       &nl[k].nodes, &nl[k].n_nodes, error);
    }
    if (st == LSC_OK)
        st = lsc_onnx_detach(model, g->initializer[tensor_at], error);
    if (st == LSC_OK)
        protobuf_c_message_free_unpacked(&g->node[node_at]->base, NULL);
    for (size_t k = 0; nl && k < list->n; k++) {
        if (st != LSC_OK || !nl[k].set) { /* nothing has moved */
            free(nl[k].inits);
            free(nl[k].nodes);
            continue;
        }
        Onnx__GraphProto *gk = list->graph[k];
        free(gk->initializer);
        free(gk->node);
        gk->initializer = (Onnx__TensorProto **)nl[k].inits;
        gk->n_initializer = nl[k].n_inits;
        gk->node = (Onnx__NodeProto **)nl[k].nodes;
        gk->n_node = nl[k].n_nodes;
    }
    free(nl);
    for (size_t i = 0; st == LSC_OK && i < lsc_dense_pack_count(pack); i++)
        in[i] = NULL; /* the graphs own them now */
    return st;
}

lsc_status lsc_unpack_dense(lsc_onnx_model *model, lsc_bundle_get_fn get_bundle, void *ctx, int *unpacked,
                            lsc_error *error)
{
    *unpacked = 0;
    size_t node_at = 0, tensor_at = 0;
    LSC_TRY(find_unpack(model, &node_at, error));
    if (node_at == (size_t)-1)
        return LSC_OK;
    char label[400];
    lsc_label(label, sizeof label, model->path, "node", LSC_UNPACK_OP);
    const Onnx__NodeProto *node = model->proto->graph->node[node_at];
    lsc_dense_pack *pack = NULL;
    ProtobufCMessage **in = NULL;
    lsc_graph_list list;
    LSC_TRY(lsc_graph_list_build(model->proto->graph, &list, error));
    lsc_status st = open_pack(model, node, get_bundle, ctx, label, &tensor_at, &pack, error);
    size_t n = lsc_dense_pack_count(pack);
    if (st == LSC_OK && !(in = calloc(n, sizeof *in)))
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == LSC_OK && i < n; i++)
        st = restored(lsc_dense_pack_get(pack, i), node->output[i], label, i, &in[i], error);
    if (st == LSC_OK)
        st = put_back(model, &list, node_at, tensor_at, in, pack, label, error);
    for (size_t i = 0; in && i < n; i++)
        if (in[i])
            protobuf_c_message_free_unpacked(in[i], NULL);
    free(in);
    lsc_dense_pack_close(&pack);
    lsc_graph_list_free(&list);
    *unpacked = st == LSC_OK;
    return st;
}
