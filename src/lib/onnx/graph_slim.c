/* The slim model of the graph entry (docs/format.md 7.1): what ONNX Runtime does not
 * read leaves the model, in place. Restoring is the entry's job (graph_entry.c), so
 * nothing here needs an inverse; every edit must keep the model's outputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/graph_entry.h"

#define MAX_DEPTH 64

static int is_onnx_domain(const char *d)
{
    return !d || !*d || !strcmp(d, "ai.onnx");
}

static int all_equal(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != x)
            return 0;
    return 1;
}

static int int_attr(const Onnx__AttributeProto *a, int64_t x)
{
    return a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT && a->i == x;
}

/* 1 if ONNX Runtime computes the same without attribute a of node n: attributes at
 * their default (Conv, LscConv), kernel_shape (taken from W), BatchNormalization's
 * momentum outside training, the LSC ops' restore records (decompress reads them,
 * never the plugin). */
static int droppable(const Onnx__NodeProto *n, const Onnx__AttributeProto *a, int training)
{
    const char *op = n->op_type ? n->op_type : "", *name = a->name ? a->name : "";
    int ints = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    int lsc = n->domain && !strcmp(n->domain, LSC_ONNX_DOMAIN);
    if (lsc && (!strcmp(name, "lsc_dequantize") || !strcmp(name, "lsc_dequantize_nodes") ||
                !strcmp(name, "lsc_fused_io")))
        return 1;
    if ((is_onnx_domain(n->domain) && !strcmp(op, "Conv")) || (lsc && !strcmp(op, "LscConv"))) {
        if (ints && (!strcmp(name, "dilations") || !strcmp(name, "strides")))
            return all_equal(a->ints, a->n_ints, 1);
        if (ints && !strcmp(name, "pads"))
            return all_equal(a->ints, a->n_ints, 0);
        if (ints && !strcmp(name, "kernel_shape"))
            return 1;
        if (!strcmp(name, "group"))
            return int_attr(a, 1);
        if (!strcmp(name, "auto_pad"))
            return a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING && a->s.len == 6 &&
                   !memcmp(a->s.data, "NOTSET", 6);
        return 0;
    }
    if (is_onnx_domain(n->domain) && !strcmp(op, "BatchNormalization")) {
        if (!strcmp(name, "momentum"))
            return !training && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        if (!strcmp(name, "epsilon"))
            return a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT && a->f == 1e-5f;
        return 0;
    }
    return 0;
}

static int training_mode(const Onnx__NodeProto *n)
{
    for (size_t a = 0; a < n->n_attribute; a++)
        if (n->attribute[a]->name && !strcmp(n->attribute[a]->name, "training_mode") &&
            !int_attr(n->attribute[a], 0))
            return 1;
    return 0;
}

/* One node slimmed; returns how many fields went. */
static size_t slim_node(Onnx__NodeProto *n)
{
    size_t dropped = 0, kept = 0;
    int training = training_mode(n);
    for (size_t a = 0; a < n->n_attribute; a++) {
        Onnx__AttributeProto *attr = n->attribute[a];
        /* A Constant's value: ONNX Runtime names it by the node's output. */
        if (is_onnx_domain(n->domain) && n->op_type && !strcmp(n->op_type, "Constant") && attr->t &&
            attr->t->name) {
            free(attr->t->name);
            attr->t->name = NULL;
            dropped++;
        }
        if (droppable(n, attr, training)) {
            protobuf_c_message_free_unpacked(&attr->base, NULL);
            dropped++;
            continue;
        }
        n->attribute[kept++] = attr;
    }
    n->n_attribute = kept;
    return dropped;
}

static size_t slim_graph(Onnx__GraphProto *g, int depth)
{
    size_t dropped = 0;
    for (size_t i = 0; g && depth <= MAX_DEPTH && i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        dropped += slim_node(n);
        for (size_t a = 0; a < n->n_attribute; a++) {
            dropped += n->attribute[a]->g ? slim_graph(n->attribute[a]->g, depth + 1) : 0;
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++)
                dropped += slim_graph(n->attribute[a]->graphs[k], depth + 1);
        }
    }
    return dropped;
}

static int has_bodies(const Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++)
            if (g->node[i]->attribute[a]->g || g->node[i]->attribute[a]->n_graphs)
                return 1;
    return 0;
}

/* Constants compared by their bytes: small ones (large ones are rare and unique). */
#define MERGE_MAX_BYTES 4096

static int is_plain_constant(const Onnx__NodeProto *n)
{
    return is_onnx_domain(n->domain) && n->op_type && !strcmp(n->op_type, "Constant") && n->n_output == 1 &&
           n->output[0] && *n->output[0] && n->n_attribute == 1 &&
           protobuf_c_message_get_packed_size(&n->attribute[0]->base) <= MERGE_MAX_BYTES;
}

/* The packed attribute of a plain Constant: its identity. */
static int constant_key(const Onnx__NodeProto *n, lsc_bytes *key)
{
    key->size = 0;
    size_t size = protobuf_c_message_get_packed_size(&n->attribute[0]->base);
    uint8_t *buf = malloc(size + 1);
    if (!buf)
        return 0;
    protobuf_c_message_pack(&n->attribute[0]->base, buf);
    /* Keys are C strings in the map: hex, so a zero byte cannot cut one short. */
    int ok = 1;
    for (size_t i = 0; ok && i < size; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", buf[i]);
        ok = lsc_bytes_append(key, hex, 2);
    }
    free(buf);
    return ok && lsc_bytes_append(key, "", 1);
}

/* Main graph without bodies (one scope): a Constant equal to an earlier one leaves,
 * its readers read the earlier one. Names the graph exposes (outputs, value_info)
 * keep their Constant. */
static lsc_status merge_constants(Onnx__GraphProto *g, size_t *dropped, lsc_error *error)
{
    if (has_bodies(g) || !g->n_node)
        return LSC_OK;
    lsc_name_map exposed = {0}, seen = {0}, moved = {0}; /* keys borrowed: freed last */
    lsc_bytes key = {0};
    char **keys = calloc(g->n_node, sizeof *keys);
    size_t *same = malloc(g->n_node * sizeof *same); /* the earlier equal node, or -1 */
    lsc_status st = keys && same ? LSC_OK : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == LSC_OK && i < g->n_output; i++)
        st = g->output[i]->name ? lsc_name_map_put(&exposed, g->output[i]->name, 0, error) : LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < g->n_value_info; i++)
        st = g->value_info[i]->name ? lsc_name_map_put(&exposed, g->value_info[i]->name, 0, error) : LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < g->n_input; i++)
        st = g->input[i]->name ? lsc_name_map_put(&exposed, g->input[i]->name, 0, error) : LSC_OK;
    size_t n_node = g->n_node;
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        same[i] = (size_t)-1;
        if (!is_plain_constant(n) || lsc_name_map_get(&exposed, n->output[0]) != (size_t)-1)
            continue;
        if (!constant_key(n, &key) || !(keys[i] = lsc_strdup((char *)key.data))) {
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
            break;
        }
        same[i] = lsc_name_map_get(&seen, keys[i]);
        if (same[i] == (size_t)-1)
            st = lsc_name_map_put(&seen, keys[i], i, error);
        else if (lsc_name_map_get(&moved, n->output[0]) == (size_t)-1)
            st = lsc_name_map_put(&moved, n->output[0], same[i], error);
        else
            same[i] = (size_t)-1; /* one output written twice: not ours to touch */
    }
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_input; j++) {
            char **in = &g->node[i]->input[j];
            size_t to = *in && **in ? lsc_name_map_get(&moved, *in) : (size_t)-1;
            char *copy = to == (size_t)-1 ? NULL : lsc_strdup(g->node[to]->output[0]);
            if (to != (size_t)-1 && !copy) {
                st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
                break;
            }
            if (copy) {
                free(*in);
                *in = copy;
            }
        }
    lsc_name_map_free(&exposed);
    lsc_name_map_free(&seen);
    lsc_name_map_free(&moved);
    size_t kept = 0;
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++) {
        if (same[i] != (size_t)-1) {
            protobuf_c_message_free_unpacked(&g->node[i]->base, NULL);
            (*dropped)++;
            continue;
        }
        g->node[kept++] = g->node[i];
    }
    if (st == LSC_OK)
        g->n_node = kept;
    lsc_bytes_free(&key);
    for (size_t i = 0; keys && i < n_node; i++)
        free(keys[i]);
    free(keys);
    free(same);
    return st;
}


/* ---- encoded weights: short names, no length ---- */

/* Called per value-name slot of every scope (initializers, graph inputs, outputs,
 * value_info, node inputs and outputs); returns 0 to stop. */
typedef int (*slot_fn)(void *ctx, char **slot);

static int walk_values(Onnx__GraphProto *g, int depth, slot_fn fn, void *ctx)
{
    if (!g || depth > MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!fn(ctx, &g->initializer[i]->name))
            return 0;
    Onnx__ValueInfoProto **lists[3] = {g->input, g->output, g->value_info};
    size_t sizes[3] = {g->n_input, g->n_output, g->n_value_info};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < sizes[l]; i++)
            if (!fn(ctx, &lists[l][i]->name))
                return 0;
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        for (size_t j = 0; j < n->n_input; j++)
            if (!fn(ctx, &n->input[j]))
                return 0;
        for (size_t j = 0; j < n->n_output; j++)
            if (!fn(ctx, &n->output[j]))
                return 0;
        for (size_t a = 0; a < n->n_attribute; a++) {
            if (n->attribute[a]->g && !walk_values(n->attribute[a]->g, depth + 1, fn, ctx))
                return 0;
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++)
                if (!walk_values(n->attribute[a]->graphs[k], depth + 1, fn, ctx))
                    return 0;
        }
    }
    return 1;
}

typedef struct renaming {
    lsc_name_map used;    /* every value name of the model (borrowed keys) */
    lsc_name_map targets; /* old name (owned copy in olds) -> index */
    char **olds, **news;
    size_t n, cap;
    lsc_status st;
    lsc_error *error;
} renaming;

static int note_used(void *ctx, char **slot)
{
    renaming *r = ctx;
    if (*slot && **slot && lsc_name_map_get(&r->used, *slot) == (size_t)-1)
        r->st = lsc_name_map_put(&r->used, *slot, 0, r->error);
    return r->st == LSC_OK;
}

static lsc_status add_target(renaming *r, const char *name)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        char **olds = realloc(r->olds, cap * sizeof *olds);
        if (olds)
            r->olds = olds;
        char **news = olds ? realloc(r->news, cap * sizeof *news) : NULL;
        if (!news)
            return lsc_fail(r->error, LSC_ERR_NO_MEMORY, "out of memory");
        r->news = news;
        r->cap = cap;
    }
    r->news[r->n] = NULL;
    if (!(r->olds[r->n] = lsc_strdup(name)))
        return lsc_fail(r->error, LSC_ERR_NO_MEMORY, "out of memory");
    r->n++;
    return lsc_name_map_put(&r->targets, r->olds[r->n - 1], r->n - 1, r->error);
}

/* The external initializers of g and its bodies: their names become targets. */
static lsc_status find_targets(Onnx__GraphProto *g, int depth, renaming *r)
{
    for (size_t i = 0; depth <= MAX_DEPTH && i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL && t->name &&
            *t->name && lsc_name_map_get(&r->targets, t->name) == (size_t)-1)
            LSC_TRY(add_target(r, t->name));
    }
    for (size_t i = 0; depth <= MAX_DEPTH && i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            const Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            if (attr->g)
                LSC_TRY(find_targets(attr->g, depth + 1, r));
            for (size_t k = 0; k < attr->n_graphs; k++)
                LSC_TRY(find_targets(attr->graphs[k], depth + 1, r));
        }
    return LSC_OK;
}

static int apply_new(void *ctx, char **slot)
{
    renaming *r = ctx;
    size_t at = *slot && **slot ? lsc_name_map_get(&r->targets, *slot) : (size_t)-1;
    if (at == (size_t)-1 || !r->news[at])
        return 1;
    char *copy = lsc_strdup(r->news[at]);
    if (!copy) {
        r->st = lsc_fail(r->error, LSC_ERR_NO_MEMORY, "out of memory");
        return 0;
    }
    free(*slot);
    *slot = copy;
    return 1;
}

/* The i-th name of the form "_" + base 36 numeral: outside the names entry's
 * alphabet, so its short names never meet these. */
static void weight_name(size_t i, char out[24])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    char rev[20];
    size_t n = 0;
    do
        rev[n++] = digits[i % 36];
    while ((i /= 36) && n < sizeof rev);
    out[0] = '_';
    for (size_t k = 0; k < n; k++)
        out[1 + k] = rev[n - 1 - k];
    out[1 + n] = 0;
}

/* Encoded weights (external initializers) take short names in every scope, the same
 * string the same name (bodies read outer values by name); not the main graph's
 * inputs and outputs, which callers address. */
static lsc_status rename_weights(Onnx__ModelProto *m, size_t *dropped, lsc_error *error)
{
    Onnx__GraphProto *g = m->graph;
    renaming r = {.st = LSC_OK, .error = error};
    lsc_status st = find_targets(g, 0, &r);
    if (st == LSC_OK && r.n && !walk_values(g, 0, note_used, &r))
        st = r.st != LSC_OK ? r.st : lsc_fail(error, LSC_ERR_UNSUPPORTED, "graphs nested too deep");
    size_t next = 0, renamed = 0;
    for (size_t i = 0; st == LSC_OK && i < r.n; i++) {
        int exposed = 0;
        for (size_t k = 0; k < g->n_input + g->n_output && !exposed; k++) {
            const char *name = k < g->n_input ? g->input[k]->name : g->output[k - g->n_input]->name;
            exposed = name && !strcmp(name, r.olds[i]);
        }
        if (exposed)
            continue; /* news[i] stays NULL: the name stays */
        char name[24];
        do
            weight_name(next++, name);
        while (lsc_name_map_get(&r.used, name) != (size_t)-1);
        if (!(r.news[i] = lsc_strdup(name)))
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        renamed++;
    }
    lsc_name_map_free(&r.used); /* its keys are the slots apply_new replaces */
    if (st == LSC_OK && renamed && !walk_values(g, 0, apply_new, &r))
        st = r.st != LSC_OK ? r.st : lsc_fail(error, LSC_ERR_UNSUPPORTED, "graphs nested too deep");
    if (st == LSC_OK)
        *dropped += renamed;
    lsc_name_map_free(&r.targets);
    for (size_t i = 0; i < r.n; i++) {
        free(r.olds[i]);
        free(r.news[i]);
    }
    free(r.olds);
    free(r.news);
    return st;
}

/* An external tensor's `length` when it is the uint8 blob's own size: ONNX Runtime
 * reads that many bytes from the dims anyway. */
static size_t drop_length(Onnx__TensorProto *t)
{
    if (!t || !t->has_data_location || t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL ||
        t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8 || t->n_dims != 1)
        return 0;
    for (size_t i = 0; i < t->n_external_data; i++) {
        Onnx__StringStringEntryProto *e = t->external_data[i];
        char expect[32];
        snprintf(expect, sizeof expect, "%lld", (long long)t->dims[0]);
        if (!e->key || strcmp(e->key, "length") || !e->value || strcmp(e->value, expect))
            continue;
        protobuf_c_message_free_unpacked(&e->base, NULL);
        memmove(t->external_data + i, t->external_data + i + 1, (t->n_external_data - i - 1) * sizeof *t->external_data);
        t->n_external_data--;
        return 1;
    }
    return 0;
}

static size_t drop_lengths(Onnx__GraphProto *g, int depth)
{
    size_t dropped = 0;
    for (size_t i = 0; depth <= MAX_DEPTH && i < g->n_initializer; i++)
        dropped += drop_length(g->initializer[i]);
    for (size_t i = 0; depth <= MAX_DEPTH && i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            dropped += drop_length(attr->t);
            if (attr->g)
                dropped += drop_lengths(attr->g, depth + 1);
            for (size_t k = 0; k < attr->n_graphs; k++)
                dropped += drop_lengths(attr->graphs[k], depth + 1);
        }
    return dropped;
}

static size_t drop_string(char **s)
{
    if (!*s)
        return 0;
    free(*s);
    *s = NULL;
    return 1;
}

/* Descriptions, the model's producer and metadata (the graph entry's record is added
 * after this): ONNX Runtime runs without them. Graph names stay (onnx.checker wants
 * them), node names too (the frame would code them dearer than they cost). */
static size_t drop_labels(Onnx__GraphProto *g, int depth)
{
    size_t dropped = drop_string(&g->doc_string);
    for (size_t i = 0; depth <= MAX_DEPTH && i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        dropped += drop_string(&n->doc_string);
        for (size_t a = 0; a < n->n_attribute; a++) {
            Onnx__AttributeProto *attr = n->attribute[a];
            dropped += drop_string(&attr->doc_string);
            if (attr->g)
                dropped += drop_labels(attr->g, depth + 1);
            for (size_t k = 0; k < attr->n_graphs; k++)
                dropped += drop_labels(attr->graphs[k], depth + 1);
        }
    }
    return dropped;
}

static size_t drop_model_labels(Onnx__ModelProto *m)
{
    size_t dropped = drop_string(&m->producer_name) + drop_string(&m->producer_version) + drop_string(&m->domain) +
                     drop_string(&m->doc_string) + m->n_metadata_props + m->has_model_version;
    for (size_t i = 0; i < m->n_metadata_props; i++)
        protobuf_c_message_free_unpacked(&m->metadata_props[i]->base, NULL);
    m->n_metadata_props = 0;
    m->has_model_version = 0;
    return dropped;
}

lsc_status lsc_slim_model(Onnx__ModelProto *m, size_t *dropped, lsc_error *error)
{
    *dropped = slim_graph(m->graph, 0) + drop_lengths(m->graph, 0) + drop_labels(m->graph, 0) + drop_model_labels(m);
    LSC_TRY(merge_constants(m->graph, dropped, error));
    return rename_weights(m, dropped, error);
}
