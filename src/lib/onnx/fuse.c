/* An 8-bit weight read through DequantizeLinear [-> Transpose] by a Conv, Gemm or
 * MatMul (docs/format.md 3.1, "Decision (quantized weights)"). compress makes the op
 * read the blob itself, with the chain's scale and zero point as two more inputs, and
 * takes the chain's nodes out of the graph; what decompress needs to put them back
 * exactly rides on the op as two attributes:
 *   lsc_dequantize        INTS    [original input count, position of each removed node]
 *   lsc_dequantize_nodes  STRINGS [original weight input name, each removed NodeProto]
 * Positions are in the original node list of the op's graph, so putting every
 * graph's removed nodes back in increasing position rebuilds that list. The same
 * record holds an activation folded into the op (fuse_activation.c); an op without
 * a chain records its own input count and weight name. */
#include <stdlib.h>
#include <string.h>

#include "codec/dtype.h"
#include "onnx/onnx_model.h"

#define ATTR_AT "lsc_dequantize"
#define ATTR_NODES "lsc_dequantize_nodes"

lsc_status lsc_candidate_zero_points(lsc_onnx_model *model, const lsc_candidate *cand, uint32_t rows,
                                     const char *label, uint8_t **out, lsc_error *error)
{
    *out = NULL;
    if (!cand->zero_point)
        return LSC_OK;
    lsc_dense zp = {0};
    LSC_TRY(lsc_tensor_dense(model, cand->zero_point, label, &zp, error));
    const uint8_t *src = zp.data;
    int any = 0;
    for (size_t i = 0; i < zp.size; i++)
        any |= src[i] != 0;
    lsc_status st = LSC_OK;
    if (any && zp.size != 1 && zp.size != rows)
        st = lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: %zu zero points for %u output channels", label, zp.size,
                      rows);
    else if (any && !(*out = malloc(rows)))
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
    for (uint32_t r = 0; st == LSC_OK && any && r < rows; r++)
        (*out)[r] = src[zp.size == 1 ? 0 : r];
    lsc_dense_free(&zp);
    return st;
}

/* A node's name, or its first output when it has none. */
static const char *node_label(const Onnx__NodeProto *n)
{
    if (n->name && *n->name)
        return n->name;
    return n->n_output && n->output[0] ? n->output[0] : "";
}

Onnx__AttributeProto *lsc_attr_new(const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = malloc(sizeof *a);
    char *n = lsc_strdup(name);
    if (!a || !n) {
        free(a);
        free(n);
        return NULL;
    }
    onnx__attribute_proto__init(a);
    a->name = n;
    a->has_type = 1;
    a->type = type;
    return a;
}

Onnx__AttributeProto *lsc_attr_new_string(const char *name, const char *value)
{
    Onnx__AttributeProto *a = lsc_attr_new(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    char *copy = a ? lsc_strdup(value) : NULL;
    if (!copy) {
        if (a)
            protobuf_c_message_free_unpacked(&a->base, NULL);
        return NULL;
    }
    a->has_s = 1;
    a->s = (ProtobufCBinaryData){strlen(copy), (uint8_t *)copy};
    return a;
}

lsc_status lsc_node_append_attr(Onnx__NodeProto *node, Onnx__AttributeProto *a, lsc_error *error)
{
    Onnx__AttributeProto **attrs = a ? realloc(node->attribute, (node->n_attribute + 1) * sizeof *attrs) : NULL;
    if (!attrs) {
        if (a)
            protobuf_c_message_free_unpacked(&a->base, NULL);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    node->attribute = attrs;
    attrs[node->n_attribute++] = a;
    return LSC_OK;
}

static size_t node_position(const Onnx__GraphProto *g, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < g->n_node; i++)
        if (g->node[i] == n)
            return i;
    return (size_t)-1;
}

static int set_input(Onnx__NodeProto *node, size_t i, const char *name)
{
    char *copy = lsc_strdup(name);
    if (!copy)
        return 0;
    free(node->input[i]);
    node->input[i] = copy;
    return 1;
}

/* The op's restore record, created with the op's current input count and weight
 * input name when it has none yet (an op without a fused chain restores to them). */
static lsc_status record_of(Onnx__NodeProto *op, Onnx__AttributeProto **at, Onnx__AttributeProto **nodes,
                            lsc_error *error)
{
    *at = *nodes = NULL;
    for (size_t a = 0; a < op->n_attribute; a++) {
        const char *name = op->attribute[a]->name ? op->attribute[a]->name : "";
        if (strcmp(name, ATTR_AT) == 0)
            *at = op->attribute[a];
        else if (strcmp(name, ATTR_NODES) == 0)
            *nodes = op->attribute[a];
    }
    if (*at && *nodes)
        return LSC_OK;
    if (*at || *nodes || op->n_input < 2)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "node '%.200s': cannot record a fused node", node_label(op));
    Onnx__AttributeProto *a = lsc_attr_new(ATTR_AT, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    Onnx__AttributeProto *n = lsc_attr_new(ATTR_NODES, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    int ok = a && n && (a->ints = malloc(sizeof *a->ints)) && (n->strings = calloc(1, sizeof *n->strings)) &&
             (n->strings[0].data = (uint8_t *)lsc_strdup(op->input[1]));
    if (!ok) {
        if (a)
            protobuf_c_message_free_unpacked(&a->base, NULL);
        if (n)
            protobuf_c_message_free_unpacked(&n->base, NULL);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    a->ints[a->n_ints++] = (int64_t)op->n_input;
    n->strings[0].len = strlen(op->input[1]);
    n->n_strings = 1;
    LSC_TRY(lsc_node_append_attr(op, a, error));
    LSC_TRY(lsc_node_append_attr(op, n, error));
    *at = a;
    *nodes = n;
    return LSC_OK;
}

lsc_status lsc_fuse_record(Onnx__NodeProto *op, const Onnx__GraphProto *g, const Onnx__NodeProto *removed,
                           lsc_error *error)
{
    Onnx__AttributeProto *at, *nodes;
    LSC_TRY(record_of(op, &at, &nodes, error));
    int64_t *ints = realloc(at->ints, (at->n_ints + 1) * sizeof *ints);
    if (ints)
        at->ints = ints;
    ProtobufCBinaryData *strings = realloc(nodes->strings, (nodes->n_strings + 1) * sizeof *strings);
    if (strings)
        nodes->strings = strings;
    size_t size = protobuf_c_message_get_packed_size(&removed->base);
    uint8_t *bytes = ints && strings ? malloc(size ? size : 1) : NULL;
    if (!bytes)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    protobuf_c_message_pack(&removed->base, bytes);
    at->ints[at->n_ints++] = (int64_t)node_position(g, removed);
    nodes->strings[nodes->n_strings++] = (ProtobufCBinaryData){size, bytes};
    return LSC_OK;
}

lsc_status lsc_fuse_dequantize(lsc_candidate *cand, lsc_error *error)
{
    Onnx__NodeProto *op = cand->consumers[0], *dq = cand->dq;
    const Onnx__GraphProto *g = cand->dq_graph;
    /* Scale and zero point go after the op's optional inputs (Conv B, Gemm C). */
    size_t slot = strcmp(cand->op, "MatMul") == 0 ? 2 : 3;
    size_t n_in = op->n_input;
    if (n_in > slot || op->n_input < 2)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "node '%.200s': %zu inputs, %s takes 2 to %zu", node_label(op), n_in,
                        cand->op, slot);
    /* First on the op: the record's header is its original inputs. */
    LSC_TRY(lsc_fuse_record(op, g, dq, error));
    if (cand->dq_transpose)
        LSC_TRY(lsc_fuse_record(op, g, cand->dq_transpose, error));

    /* Inputs: the blob in place of the dequantized weight, then scale, zero point. */
    char **inputs = realloc(op->input, (slot + 2) * sizeof *inputs);
    if (!inputs)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    op->input = inputs;
    int ok = 1;
    for (; op->n_input < slot + 2; op->n_input++)
        op->input[op->n_input] = NULL;
    ok = ok && set_input(op, 1, dq->input[0]) && set_input(op, slot, dq->input[1]) &&
         set_input(op, slot + 1, dq->n_input > 2 ? dq->input[2] : "");
    for (size_t i = n_in; ok && i < slot; i++)
        ok = set_input(op, i, "");
    if (!ok)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");

    return LSC_OK;
}

void lsc_fuse_drop_chain(lsc_candidate *cand)
{
    Onnx__GraphProto *g = cand->dq_graph;
    size_t kept = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        if (g->node[i] == cand->dq || (cand->dq_transpose && g->node[i] == cand->dq_transpose))
            protobuf_c_message_free_unpacked(&g->node[i]->base, NULL);
        else
            g->node[kept++] = g->node[i];
    }
    g->n_node = kept;
    cand->dq = cand->dq_transpose = NULL;
}

/* ---- decompress ---- */

typedef struct pending_node {
    size_t position;
    Onnx__NodeProto *node;
    const char *op; /* the fused op's label, for messages */
} pending_node;


static int by_position(const void *a, const void *b)
{
    size_t x = ((const pending_node *)a)->position, y = ((const pending_node *)b)->position;
    return x < y ? -1 : x > y;
}

static Onnx__AttributeProto *take_attr(Onnx__NodeProto *node, const char *name)
{
    for (size_t a = 0; a < node->n_attribute; a++)
        if (node->attribute[a]->name && strcmp(node->attribute[a]->name, name) == 0) {
            Onnx__AttributeProto *attr = node->attribute[a];
            memmove(node->attribute + a, node->attribute + a + 1, (node->n_attribute - a - 1) * sizeof *node->attribute);
            node->n_attribute--;
            return attr;
        }
    return NULL;
}

/* A removed node that wrote the op's output is the activation folded into the op
 * (fuse_activation.c): the op writes that node's input again. The node and the op's
 * lsc_activation must agree. */
static lsc_status unfold_activation(Onnx__NodeProto *op, const Onnx__AttributeProto *act,
                                    const Onnx__AttributeProto *params, const pending_node *removed, size_t n,
                                    const char *label, lsc_error *error)
{
    const char *name = node_label(op);
    const Onnx__NodeProto *writer = NULL;
    size_t writers = 0;
    for (size_t i = 0; op->n_output && i < n; i++)
        if (removed[i].node->n_output && removed[i].node->output[0] &&
            strcmp(removed[i].node->output[0], op->output[0]) == 0)
            writer = removed[i].node, writers++;
    if (!act && !params && !writers)
        return LSC_OK;
    if (!act || act->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING || !act->s.len)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: node '%.200s': attribute %s is missing or not a name", label,
                        name, LSC_ACT_ATTR);
    int len = act->s.len > 64 ? 64 : (int)act->s.len;
    const char *s = (const char *)act->s.data;
    size_t n_params = params ? params->n_floats : 0;
    lsc_status known = lsc_activation_check(s, act->s.len, n_params);
    if (known == LSC_ERR_UNSUPPORTED || memchr(s, 0, act->s.len))
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: node '%.200s': attribute %s: unknown activation '%.*s'", label,
                        name, LSC_ACT_ATTR, len, s);
    if (known != LSC_OK || (params && params->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS))
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: node '%.200s': attribute %s: %zu values do not fit %.*s",
                        label, name, LSC_ACT_PARAMS_ATTR, n_params, len, s);
    if (writers != 1 || !writer->op_type || strlen(writer->op_type) != act->s.len ||
        memcmp(writer->op_type, s, act->s.len) != 0 || writer->n_input < 1 || !writer->input[0] ||
        !*writer->input[0])
        return lsc_fail(error, LSC_ERR_BAD_MODEL,
                        "%s: node '%.200s': attribute %s '%.*s' has no matching node in %s", label, name, LSC_ACT_ATTR,
                        len, s, ATTR_NODES);
    char *input = lsc_strdup(writer->input[0]);
    if (!input)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    free(op->output[0]);
    op->output[0] = input;
    return LSC_OK;
}

/* lsc_fused_io (fuse_chain.c), when present: the original inputs (n_inputs, the
 * weight's name as the record's) and output, names without NUL bytes, on an op of
 * one output. */
static int fused_io_ok(const Onnx__AttributeProto *io, const Onnx__NodeProto *op, const Onnx__AttributeProto *nodes,
                       int64_t n_inputs)
{
    if (!io)
        return 1;
    const ProtobufCBinaryData *w = &nodes->strings[0];
    if (io->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS || io->n_strings != (size_t)n_inputs + 1 ||
        op->n_output != 1 || io->strings[1].len != w->len || memcmp(io->strings[1].data, w->data, w->len) != 0)
        return 0;
    for (size_t i = 0; i < io->n_strings; i++)
        if (memchr(io->strings[i].data, 0, io->strings[i].len))
            return 0;
    return 1;
}

/* The op's inputs (but the weight's, input 1, restored as any op's) and output from
 * lsc_fused_io, checked by fused_io_ok. */
static lsc_status restore_io(Onnx__NodeProto *op, const Onnx__AttributeProto *io, lsc_error *error)
{
    for (size_t i = 0; i < io->n_strings; i++) {
        if (i == 1)
            continue;
        char **field = i < op->n_input ? &op->input[i] : &op->output[0];
        char *s = malloc(io->strings[i].len + 1);
        if (!s)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        if (io->strings[i].len)
            memcpy(s, io->strings[i].data, io->strings[i].len);
        s[io->strings[i].len] = 0;
        free(*field);
        *field = s;
    }
    return LSC_OK;
}

/* Restores one op from its two attributes; its removed nodes go to *pending. */
static lsc_status unfuse_node(Onnx__NodeProto *op, const char *label, pending_node **pending, size_t *n_pending,
                              lsc_error *error)
{
    Onnx__AttributeProto *at = take_attr(op, ATTR_AT), *nodes = take_attr(op, ATTR_NODES);
    Onnx__AttributeProto *act = take_attr(op, LSC_ACT_ATTR), *params = take_attr(op, LSC_ACT_PARAMS_ATTR);
    Onnx__AttributeProto *io = take_attr(op, LSC_FUSED_IO_ATTR);
    lsc_status st = LSC_OK;
    const char *name = node_label(op);
    size_t first = *n_pending;
    if (!at && !nodes && !act && !params && !io)
        return LSC_OK;
    if (!at || !nodes || at->n_ints < 2 || at->n_ints != nodes->n_strings || at->ints[0] < 2 ||
        (uint64_t)at->ints[0] > op->n_input || nodes->strings[0].len == 0 ||
        memchr(nodes->strings[0].data, 0, nodes->strings[0].len)) {
        st = lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: node '%.200s': attributes %s / %s are malformed", label, name,
                      ATTR_AT, ATTR_NODES);
        goto done;
    }
    if (!fused_io_ok(io, op, nodes, at->ints[0])) {
        st = lsc_fail(error, LSC_ERR_BAD_MODEL,
                      "%s: node '%.200s': attribute %s does not hold the original %d inputs and output", label, name,
                      LSC_FUSED_IO_ATTR, (int)at->ints[0]);
        goto done;
    }
    pending_node *grown = realloc(*pending, (*n_pending + at->n_ints) * sizeof *grown);
    if (!grown) {
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    *pending = grown;
    for (size_t i = 1; i < at->n_ints; i++) {
        Onnx__NodeProto *n = (Onnx__NodeProto *)protobuf_c_message_unpack(
            &onnx__node_proto__descriptor, NULL, nodes->strings[i].len, nodes->strings[i].data);
        if (!n || at->ints[i] < 0) {
            if (n)
                protobuf_c_message_free_unpacked(&n->base, NULL);
            st = lsc_fail(error, LSC_ERR_BAD_MODEL,
                          "%s: node '%.200s': attribute %s: removed node %zu does not parse (or its %s is negative)",
                          label, name, ATTR_NODES, i, ATTR_AT);
            goto done;
        }
        grown[(*n_pending)++] = (pending_node){(size_t)at->ints[i], n, name};
    }
    /* Unchanged names stay: a candidate's name may point at this string. */
    const ProtobufCBinaryData *w0 = &nodes->strings[0];
    int same_weight = strlen(op->input[1]) == w0->len && memcmp(op->input[1], w0->data, w0->len) == 0;
    char *weight = same_weight ? op->input[1] : malloc(nodes->strings[0].len + 1);
    if (!weight) {
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    if (!same_weight) {
        memcpy(weight, w0->data, w0->len);
        weight[w0->len] = 0;
        free(op->input[1]);
        op->input[1] = weight;
    }
    for (size_t i = (size_t)at->ints[0]; i < op->n_input; i++)
        free(op->input[i]);
    op->n_input = (size_t)at->ints[0];
    /* A fused dynamic chain's Add, not an activation, may write the op's output. */
    if (!io || act || params)
        st = unfold_activation(op, act, params, grown + first, *n_pending - first, label, error);
    if (st == LSC_OK && io)
        st = restore_io(op, io, error);
    for (size_t i = first; i < *n_pending; i++)
        grown[i].op = node_label(op); /* the op's output name may have changed */
done:
    if (at)
        protobuf_c_message_free_unpacked(&at->base, NULL);
    if (nodes)
        protobuf_c_message_free_unpacked(&nodes->base, NULL);
    if (act)
        protobuf_c_message_free_unpacked(&act->base, NULL);
    if (params)
        protobuf_c_message_free_unpacked(&params->base, NULL);
    if (io)
        protobuf_c_message_free_unpacked(&io->base, NULL);
    return st;
}

static lsc_status unfuse_graph(Onnx__GraphProto *g, const char *label, int depth, lsc_error *error)
{
    if (depth > 100)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "%s: subgraphs nested deeper than 100 levels", label);
    pending_node *pending = NULL;
    size_t n_pending = 0;
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        st = unfuse_node(n, label, &pending, &n_pending, error);
        for (size_t a = 0; st == LSC_OK && a < n->n_attribute; a++) {
            if (n->attribute[a]->g)
                st = unfuse_graph(n->attribute[a]->g, label, depth + 1, error);
            for (size_t k = 0; st == LSC_OK && k < n->attribute[a]->n_graphs; k++)
                st = unfuse_graph(n->attribute[a]->graphs[k], label, depth + 1, error);
        }
    }
    if (st == LSC_OK && n_pending) {
        qsort(pending, n_pending, sizeof *pending, by_position);
        size_t total = g->n_node + n_pending;
        for (size_t i = 0; st == LSC_OK && i < n_pending; i++)
            if (pending[i].position >= total || (i && pending[i].position == pending[i - 1].position))
                st = lsc_fail(error, LSC_ERR_BAD_MODEL,
                              "%s: node '%.200s': attribute %s: removed node position %zu is out of range or repeated",
                              label, pending[i].op, ATTR_AT, pending[i].position);
        Onnx__NodeProto **nodes = st == LSC_OK ? malloc(total * sizeof *nodes) : NULL;
        if (st == LSC_OK && !nodes)
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        if (nodes) {
            for (size_t i = 0, p = 0, old = 0; i < total; i++)
                nodes[i] = p < n_pending && pending[p].position == i ? pending[p++].node : g->node[old++];
            free(g->node);
            g->node = nodes;
            g->n_node = total;
            n_pending = 0;
        }
    }
    for (size_t i = 0; i < n_pending; i++)
        protobuf_c_message_free_unpacked(&pending[i].node->base, NULL);
    free(pending);
    return st;
}

lsc_status lsc_unfuse_model(Onnx__ModelProto *model, const char *label, lsc_error *error)
{
    return model->graph ? unfuse_graph(model->graph, label, 0, error) : LSC_OK;
}
