/* Short names (docs/format.md part 6): compress --entropy renames the rewritten
 * graph's internal values and its nodes, the same string the same short name in
 * every scope (so If/Loop/Scan bodies and their outer-scope references stay
 * consistent); decompress renames them back from the names entry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/seal.h"
#include "onnx/name_table.h"
#include "onnx/short_names.h"

#define NAMES_ENTRY "lsc.names"
#define MAX_DEPTH 64
/* What the entry costs besides its own bytes: its TOC entry (48 bytes for its name),
 * up to 63 bytes of alignment before it, the metadata record (~40 bytes). */
#define ENTRY_OVERHEAD 160

/* ---- walking every name slot ---- */

/* Called per value-name slot (node inputs and outputs, initializers, graph inputs,
 * outputs, value_info) and per node-name slot; returns 0 to stop the walk. */
typedef int (*slot_fn)(void *ctx, char **slot, int node_name);

static int walk(Onnx__GraphProto *g, int depth, slot_fn fn, void *ctx)
{
    if (!g || depth > MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!fn(ctx, &g->initializer[i]->name, 0))
            return 0;
    Onnx__ValueInfoProto **lists[3] = {g->input, g->output, g->value_info};
    size_t sizes[3] = {g->n_input, g->n_output, g->n_value_info};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < sizes[l]; i++)
            if (!fn(ctx, &lists[l][i]->name, 0))
                return 0;
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (!fn(ctx, &n->name, 1))
            return 0;
        for (size_t j = 0; j < n->n_input; j++)
            if (!fn(ctx, &n->input[j], 0))
                return 0;
        for (size_t j = 0; j < n->n_output; j++)
            if (!fn(ctx, &n->output[j], 0))
                return 0;
        for (size_t a = 0; a < n->n_attribute; a++) {
            Onnx__AttributeProto *attr = n->attribute[a];
            if (attr->g && !walk(attr->g, depth + 1, fn, ctx))
                return 0;
            for (size_t k = 0; k < attr->n_graphs; k++)
                if (!walk(attr->graphs[k], depth + 1, fn, ctx))
                    return 0;
        }
    }
    return 1;
}

static int set(char **slot, const char *name)
{
    char *copy = lsc_strdup(name);
    if (!copy)
        return 0;
    free(*slot);
    *slot = copy;
    return 1;
}

/* 1 if no body lies deeper than MAX_DEPTH (deeper models keep their names). */
static int nesting_within(const Onnx__GraphProto *g, int depth)
{
    if (depth > MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            const Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            if (attr->g && !nesting_within(attr->g, depth + 1))
                return 0;
            for (size_t k = 0; k < attr->n_graphs; k++)
                if (!nesting_within(attr->graphs[k], depth + 1))
                    return 0;
        }
    return 1;
}

/* ---- names that stay ---- */

static lsc_status keep(lsc_name_map *kept, const char *name, lsc_error *error)
{
    return name && *name && lsc_name_map_get(kept, name) == (size_t)-1 ? lsc_name_map_put(kept, name, 0, error)
                                                                      : LSC_OK;
}

/* What a user or a bundle addresses by name: the main graph's inputs and outputs,
 * tensors held in a bundle or a file (the TOC and restore records name them),
 * sparse initializers and quantization annotations (not renamed). */
static lsc_status kept_names(const Onnx__GraphProto *g, int depth, lsc_name_map *kept, lsc_error *error)
{
    if (depth > MAX_DEPTH)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "graphs nested deeper than %d", MAX_DEPTH);
    for (size_t i = 0; depth == 0 && i < g->n_input; i++)
        LSC_TRY(keep(kept, g->input[i]->name, error));
    for (size_t i = 0; depth == 0 && i < g->n_output; i++)
        LSC_TRY(keep(kept, g->output[i]->name, error));
    for (size_t i = 0; i < g->n_initializer; i++)
        if (lsc_tensor_repr(g->initializer[i]) == LSC_REPR_EXTERNAL)
            LSC_TRY(keep(kept, g->initializer[i]->name, error));
    for (size_t i = 0; i < g->n_sparse_initializer; i++) {
        const Onnx__SparseTensorProto *s = g->sparse_initializer[i];
        LSC_TRY(keep(kept, s->values ? s->values->name : NULL, error));
        LSC_TRY(keep(kept, s->indices ? s->indices->name : NULL, error));
    }
    for (size_t i = 0; i < g->n_quantization_annotation; i++)
        LSC_TRY(keep(kept, g->quantization_annotation[i]->tensor_name, error));
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            const Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            if (attr->g)
                LSC_TRY(kept_names(attr->g, depth + 1, kept, error));
            for (size_t k = 0; k < attr->n_graphs; k++)
                LSC_TRY(kept_names(attr->graphs[k], depth + 1, kept, error));
        }
    return LSC_OK;
}

/* The i-th short name (bijective base 62: a..z, A..Z, 0..9, then two letters, ...). */
static void short_name(size_t i, char out[16])
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char rev[16];
    size_t n = 0;
    for (i++; i && n < sizeof rev; i /= 62)
        rev[n++] = digits[--i % 62];
    for (size_t k = 0; k < n; k++)
        out[k] = rev[n - 1 - k];
    out[n] = 0;
}

/* ---- compress ---- */

typedef struct renamed {
    char *original; /* owned: the graph's copy is freed when renamed */
    char short_name[16];
    size_t uses, first;
} renamed;

typedef struct collect {
    lsc_name_map kept, index; /* index: original -> position in values */
    renamed *values, *nodes;
    size_t n_values, n_nodes, cap_values, cap_nodes;
    lsc_status st;
    lsc_error *error;
} collect;

static int push(renamed **list, size_t *n, size_t *cap, const char *name)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        renamed *grown = realloc(*list, c * sizeof *grown);
        if (!grown)
            return 0;
        *list = grown;
        *cap = c;
    }
    renamed *r = &(*list)[*n];
    memset(r, 0, sizeof *r);
    r->first = *n;
    if (!(r->original = lsc_strdup(name)))
        return 0;
    (*n)++;
    return 1;
}

static int collect_slot(void *ctx, char **slot, int node_name)
{
    collect *c = ctx;
    const char *name = *slot;
    if (!name || !*name)
        return 1;
    if (node_name) {
        if (push(&c->nodes, &c->n_nodes, &c->cap_nodes, name))
            return 1;
    } else {
        if (lsc_name_map_get(&c->kept, name) != (size_t)-1)
            return 1;
        size_t at = lsc_name_map_get(&c->index, name);
        if (at == (size_t)-1) {
            if (!push(&c->values, &c->n_values, &c->cap_values, name)) {
                c->st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
                return 0;
            }
            at = c->n_values - 1;
            if ((c->st = lsc_name_map_put(&c->index, c->values[at].original, at, c->error)) != LSC_OK)
                return 0;
        }
        c->values[at].uses++;
        return 1;
    }
    c->st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    return 0;
}

/* Most used first (the shortest names where they repeat), then first seen. */
static int by_uses(const void *a, const void *b)
{
    const renamed *x = a, *y = b;
    if (x->uses != y->uses)
        return x->uses > y->uses ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

typedef struct apply {
    collect *c;
    size_t node;
} apply;

static int apply_slot(void *ctx, char **slot, int node_name)
{
    apply *a = ctx;
    if (!*slot || !**slot)
        return 1;
    if (node_name)
        return set(slot, a->c->nodes[a->node++].short_name);
    size_t at = lsc_name_map_get(&a->c->index, *slot);
    return at == (size_t)-1 || set(slot, a->c->values[at].short_name);
}

/* Short names, the entry, and whether it pays: *saved minus its cost. */
static lsc_status plan(collect *c, lsc_bytes *blob, int64_t *gain, lsc_error *error)
{
    if (c->n_values > 1) /* qsort wants a pointer even for nothing to sort */
        qsort(c->values, c->n_values, sizeof *c->values, by_uses);
    lsc_name_map_free(&c->index); /* keys moved: index again */
    int64_t saved = 0;
    size_t next = 0;
    for (size_t i = 0; i < c->n_values; i++) {
        renamed *r = &c->values[i];
        do
            short_name(next++, r->short_name);
        while (lsc_name_map_get(&c->kept, r->short_name) != (size_t)-1);
        LSC_TRY(lsc_name_map_put(&c->index, r->original, i, error));
        saved += (int64_t)r->uses * ((int64_t)strlen(r->original) - (int64_t)strlen(r->short_name));
    }
    for (size_t i = 0; i < c->n_nodes; i++) {
        short_name(i, c->nodes[i].short_name);
        saved += (int64_t)strlen(c->nodes[i].original) - (int64_t)strlen(c->nodes[i].short_name);
    }
    size_t total = c->n_values + c->n_nodes;
    lsc_name_pair *pairs = malloc((total ? total : 1) * sizeof *pairs);
    if (!pairs)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < total; i++) {
        const renamed *r = i < c->n_values ? &c->values[i] : &c->nodes[i - c->n_values];
        pairs[i] = (lsc_name_pair){r->short_name, r->original};
    }
    lsc_status st = lsc_name_table_build(pairs, c->n_values, pairs + c->n_values, c->n_nodes, blob, error);
    free(pairs);
    *gain = saved - (int64_t)blob->size - ENTRY_OVERHEAD;
    return st;
}

static void collect_free(collect *c)
{
    for (size_t i = 0; i < c->n_values; i++)
        free(c->values[i].original);
    for (size_t i = 0; i < c->n_nodes; i++)
        free(c->nodes[i].original);
    free(c->values);
    free(c->nodes);
    lsc_name_map_free(&c->kept);
    lsc_name_map_free(&c->index);
}

lsc_status lsc_shorten_names(lsc_onnx_model *model, lsc_bundle_writer *writer, const char *bundle_name,
                             size_t *shortened, lsc_error *error)
{
    *shortened = 0;
    Onnx__ModelProto *m = model->proto;
    /* Training information names the main graph's values from outside it. */
    if (!m->graph || m->n_training_info || !nesting_within(m->graph, 0))
        return LSC_OK;
    collect c = {.st = LSC_OK, .error = error};
    lsc_bytes blob = {0};
    int64_t gain = 0;
    lsc_status st = kept_names(m->graph, 0, &c.kept, error);
    if (st == LSC_OK && !walk(m->graph, 0, collect_slot, &c))
        st = c.st != LSC_OK ? c.st : lsc_fail(error, LSC_ERR_UNSUPPORTED, "graphs nested too deep");
    if (st == LSC_OK && c.n_values + c.n_nodes)
        st = plan(&c, &blob, &gain, error);
    /* A bundle entry is at least 56 bytes (docs/format.md 2.2). */
    if (st == LSC_OK && c.n_values + c.n_nodes && gain > 0 && blob.size >= 56) {
        char entry[64];
        snprintf(entry, sizeof entry, NAMES_ENTRY);
        for (unsigned i = 2; lsc_graph_uses_name(m->graph, entry, 0); i++)
            snprintf(entry, sizeof entry, NAMES_ENTRY "%u", i);
        uint64_t offset = 0;
        st = lsc_bundle_writer_append(writer, entry, strlen(entry), blob.data, blob.size, NULL, 0, &offset, error);
        apply a = {&c, 0};
        if (st == LSC_OK && !walk(m->graph, 0, apply_slot, &a))
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        if (st == LSC_OK)
            st = lsc_model_add_entry_prop(m, LSC_NAMES_KEY, entry, bundle_name, error);
        if (st == LSC_OK)
            *shortened = c.n_values + c.n_nodes;
    }
    lsc_bytes_free(&blob);
    collect_free(&c);
    return st;
}

/* ---- decompress ---- */

typedef struct restore {
    const lsc_name_table *table;
    lsc_name_map shorts[2], originals;
    const char *label;
    lsc_status st;
    lsc_error *error;
} restore;

static int restore_slot(void *ctx, char **slot, int node_name)
{
    restore *r = ctx;
    if (!*slot || !**slot)
        return 1;
    lsc_name_kind kind = node_name ? LSC_NAME_NODE : LSC_NAME_VALUE;
    size_t at = lsc_name_map_get(&r->shorts[kind], *slot);
    if (at != (size_t)-1) {
        if (set(slot, lsc_name_table_original(r->table, kind, at)))
            return 1;
        r->st = lsc_fail(r->error, LSC_ERR_NO_MEMORY, "out of memory");
        return 0;
    }
    if (!node_name && lsc_name_map_get(&r->originals, *slot) != (size_t)-1) {
        r->st = lsc_fail(r->error, LSC_ERR_BAD_BUNDLE, "%s: original name '%.200s' is also a name of the graph",
                         r->label, *slot);
        return 0;
    }
    return 1; /* a name compress kept */
}

/* The names entry the record points at, opened and checked. */
static lsc_status open_table(const char *value, lsc_bundle_get_fn get_bundle, void *ctx, const char *label,
                             lsc_name_table **table, lsc_error *error)
{
    lsc_bundle *bundle = NULL;
    size_t index = 0;
    LSC_TRY(lsc_bundle_entry_named(value, get_bundle, ctx, label, &bundle, &index, error));
    const lsc_bundle_entry *e = lsc_bundle_get(bundle, index);
    const void *blob = lsc_bundle_blob(bundle, index);
    if (!lsc_is_name_table(blob, (size_t)e->size))
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: its bundle entry is not a names entry", label);
    lsc_status st = lsc_name_table_open(blob, (size_t)e->size, e->name, table, error);
    if (st != LSC_OK)
        lsc_error_prefix(error, lsc_bundle_path(bundle)); /* the file whose bytes are wrong */
    return st;
}

static lsc_status index_table(restore *r, lsc_error *error)
{
    for (int kind = 0; kind < 2; kind++)
        for (size_t i = 0; i < lsc_name_table_count(r->table, (lsc_name_kind)kind); i++)
            LSC_TRY(lsc_name_map_put(&r->shorts[kind], lsc_name_table_short(r->table, (lsc_name_kind)kind, i), i,
                                     error));
    for (size_t i = 0; i < lsc_name_table_count(r->table, LSC_NAME_VALUE); i++)
        LSC_TRY(lsc_name_map_put(&r->originals, lsc_name_table_original(r->table, LSC_NAME_VALUE, i), i, error));
    return LSC_OK;
}

lsc_status lsc_restore_names(lsc_onnx_model *model, lsc_bundle_get_fn get_bundle, void *ctx, int *restored,
                             lsc_error *error)
{
    *restored = 0;
    Onnx__ModelProto *m = model->proto;
    size_t at = 0;
    LSC_TRY(lsc_model_find_prop(m, LSC_NAMES_KEY, model->path, &at, error));
    if (at == (size_t)-1)
        return LSC_OK;
    char label[400];
    lsc_label(label, sizeof label, model->path, "metadata record", LSC_NAMES_KEY);
    lsc_name_table *table = NULL;
    LSC_TRY(open_table(m->metadata_props[at]->value, get_bundle, ctx, label, &table, error));
    restore r = {.table = table, .label = label, .st = LSC_OK, .error = error};
    lsc_status st = index_table(&r, error);
    /* The walk stops at the first damaged name: the model is not used after a failure. */
    if (st == LSC_OK && m->graph && !walk(m->graph, 0, restore_slot, &r))
        st = r.st != LSC_OK ? r.st : lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: graphs nested too deep", label);
    if (st == LSC_OK) {
        protobuf_c_message_free_unpacked(&m->metadata_props[at]->base, NULL);
        memmove(m->metadata_props + at, m->metadata_props + at + 1,
                (m->n_metadata_props - at - 1) * sizeof *m->metadata_props);
        m->n_metadata_props--;
        *restored = 1;
    }
    lsc_name_map_free(&r.shorts[0]);
    lsc_name_map_free(&r.shorts[1]);
    lsc_name_map_free(&r.originals);
    lsc_name_table_close(&table);
    return st;
}
