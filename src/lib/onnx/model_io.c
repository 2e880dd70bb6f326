/* Reading a model: map the file, unpack a copy without the initializer payloads,
 * and point each initializer's raw_data back into the mapping. Writing: pack the
 * proto straight into an output file, payloads streamed from wherever they are.
 * Also the model's metadata records (add, find, the bundle entry one names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/seal.h"
#include "onnx/dense_pack_graph.h"
#include "onnx/onnx_model.h"

void lsc_label(char *out, size_t size, const char *file, const char *what, const char *name)
{
    snprintf(out, size, "%s: %s '%.200s'", file, what, name ? name : "");
}

/* Points a marked raw_data (wire.c) back into the mapping. */
static lsc_status patch_tensor(lsc_onnx_model *model, Onnx__TensorProto *t, const lsc_payload_ref *refs,
                               size_t n_refs, lsc_error *error)
{
    if (!t->has_raw_data || t->raw_data.len != LSC_WIRE_MARKER_SIZE ||
        memcmp(t->raw_data.data, LSC_WIRE_MARKER, 8) != 0)
        return LSC_OK;
    uint64_t index = 0;
    for (int i = 0; i < 8; i++)
        index |= (uint64_t)t->raw_data.data[8 + i] << (8 * i);
    if (index >= n_refs || model->n_patched >= n_refs)
        return lsc_fail(error, LSC_ERR_INTERNAL, "%s: payload marker %llu out of range", model->path,
                        (unsigned long long)index);
    free(t->raw_data.data);
    t->raw_data.data = (uint8_t *)(model->map.data + refs[index].offset);
    t->raw_data.len = (size_t)refs[index].len;
    model->patched[model->n_patched++] = t;
    return LSC_OK;
}

/* The same messages wire.c descended into: a graph's initializers and nodes, their
 * attributes' tensors and subgraphs. */
static lsc_status patch_graph(lsc_onnx_model *model, Onnx__GraphProto *g, const lsc_payload_ref *refs,
                              size_t n_refs, lsc_error *error)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        LSC_TRY(patch_tensor(model, g->initializer[i], refs, n_refs, error));
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *node = g->node[i];
        for (size_t a = 0; a < node->n_attribute; a++) {
            Onnx__AttributeProto *attr = node->attribute[a];
            if (attr->t)
                LSC_TRY(patch_tensor(model, attr->t, refs, n_refs, error));
            for (size_t k = 0; k < attr->n_tensors; k++)
                LSC_TRY(patch_tensor(model, attr->tensors[k], refs, n_refs, error));
            if (attr->g)
                LSC_TRY(patch_graph(model, attr->g, refs, n_refs, error));
            for (size_t k = 0; k < attr->n_graphs; k++)
                LSC_TRY(patch_graph(model, attr->graphs[k], refs, n_refs, error));
        }
    }
    return LSC_OK;
}

static lsc_status patch_payloads(lsc_onnx_model *model, const lsc_payload_ref *refs,
                                 size_t n_refs, lsc_error *error)
{
    model->patched = calloc(n_refs ? n_refs : 1, sizeof *model->patched);
    if (!model->patched)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", model->path);
    return patch_graph(model, model->proto->graph, refs, n_refs, error);
}

lsc_status lsc_onnx_load(const char *path, lsc_onnx_model *model, lsc_error *error)
{
    memset(model, 0, sizeof *model);
    model->path = lsc_strdup(path);
    model->dir = lsc_path_dir(path);
    if (!model->path || !model->dir) {
        lsc_onnx_free(model);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", path);
    }
    lsc_status st = lsc_map_file(path, &model->map, error);
    if (st != LSC_OK) {
        lsc_onnx_free(model);
        return st;
    }
    lsc_bytes stripped = {0};
    lsc_payload_ref *refs = NULL;
    size_t n_refs = 0;
    int whole = lsc_wire_strip_model(model->map.data, model->map.size, &stripped, &refs, &n_refs);
    if (whole)
        model->proto = (Onnx__ModelProto *)protobuf_c_message_unpack(
            &onnx__model_proto__descriptor, NULL, model->map.size, model->map.data);
    else
        model->proto = (Onnx__ModelProto *)protobuf_c_message_unpack(
            &onnx__model_proto__descriptor, NULL, stripped.size, stripped.data);
    lsc_bytes_free(&stripped);
    if (!model->proto) {
        free(refs);
        lsc_onnx_free(model);
        return lsc_fail(error, LSC_ERR_NOT_ONNX,
                        "%s: not an ONNX model (protobuf parse failed: truncated or not ONNX)", path);
    }
    if (!model->proto->graph) {
        free(refs);
        lsc_onnx_free(model);
        return lsc_fail(error, LSC_ERR_NOT_ONNX, "%s: not an ONNX model (no graph)", path);
    }
    st = whole ? LSC_OK : patch_payloads(model, refs, n_refs, error);
    free(refs);
    if (st != LSC_OK) {
        lsc_onnx_free(model);
        return st;
    }
    return LSC_OK;
}

lsc_status lsc_onnx_detach(lsc_onnx_model *model, Onnx__TensorProto *tensor, lsc_error *error)
{
    if (model->n_detached == model->cap_detached) {
        size_t cap = model->cap_detached ? model->cap_detached * 2 : 16;
        Onnx__TensorProto **p = realloc(model->detached, cap * sizeof *p);
        if (!p)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", model->path);
        model->detached = p;
        model->cap_detached = cap;
    }
    model->detached[model->n_detached++] = tensor;
    return LSC_OK;
}

void lsc_onnx_free(lsc_onnx_model *model)
{
    /* Payloads in the mapping are not the allocator's to free. */
    for (size_t i = 0; i < model->n_patched; i++) {
        model->patched[i]->raw_data.data = NULL;
        model->patched[i]->raw_data.len = 0;
    }
    for (size_t i = 0; i < model->n_detached; i++)
        protobuf_c_message_free_unpacked(&model->detached[i]->base, NULL);
    if (model->proto)
        protobuf_c_message_free_unpacked(&model->proto->base, NULL);
    for (size_t i = 0; i < model->n_ext; i++) {
        free(model->ext[i].location);
        lsc_unmap(&model->ext[i].map);
    }
    free(model->ext);
    free(model->patched);
    free(model->detached);
    lsc_unmap(&model->map);
    free(model->path);
    free(model->dir);
    memset(model, 0, sizeof *model);
}

lsc_status lsc_onnx_write(const lsc_onnx_model *model, lsc_pb_sink *sink, lsc_error *error)
{
    return lsc_pb_write(sink, &model->proto->base, error);
}

uint64_t lsc_onnx_input_bytes(lsc_onnx_model *model)
{
    uint64_t total = model->map.size;
    Onnx__GraphProto *g = model->proto->graph;
    /* Each external file counted once, whichever tensors use it. */
    for (size_t i = 0; i < g->n_initializer; i++) {
        Onnx__TensorProto *t = g->initializer[i];
        if (lsc_tensor_repr(t) != LSC_REPR_EXTERNAL)
            continue;
        lsc_ext_ref ref = {0};
        lsc_map map = {0};
        size_t before = model->n_ext;
        if (lsc_ext_parse(model, t, "", &ref, NULL) == LSC_OK &&
            lsc_ext_open_file(model, ref.location, "", &map, NULL) == LSC_OK && model->n_ext > before)
            total += map.size;
    }
    return total;
}

lsc_status lsc_model_add_prop(Onnx__ModelProto *m, const char *key, char *value, lsc_error *error)
{
    Onnx__StringStringEntryProto **props =
        realloc(m->metadata_props, (m->n_metadata_props + 1) * sizeof *props);
    Onnx__StringStringEntryProto *e = malloc(sizeof *e);
    char *k = lsc_strdup(key);
    if (props)
        m->metadata_props = props;
    if (!props || !e || !k) {
        free(e);
        free(k);
        free(value);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    onnx__string_string_entry_proto__init(e);
    e->key = k;
    e->value = value;
    props[m->n_metadata_props++] = e;
    return LSC_OK;
}

lsc_status lsc_model_add_entry_prop(Onnx__ModelProto *m, const char *key, const char *entry, const char *location,
                                    lsc_error *error)
{
    size_t n = strlen(entry) + 1 + strlen(location) + 1;
    char *value = malloc(n);
    if (!value)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    snprintf(value, n, "%s@%s", entry, location);
    return lsc_model_add_prop(m, key, value, error);
}

lsc_status lsc_model_find_prop(const Onnx__ModelProto *m, const char *key, const char *path, size_t *at,
                               lsc_error *error)
{
    *at = (size_t)-1;
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        const char *k = m->metadata_props[i]->key;
        if (!k || strcmp(k, key) != 0)
            continue;
        if (*at != (size_t)-1)
            return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: more than one metadata record '%s'", path, key);
        *at = i;
    }
    return LSC_OK;
}

lsc_status lsc_bundle_entry_named(const char *value, lsc_bundle_get_fn get_bundle, void *ctx, const char *label,
                                  lsc_bundle **bundle, size_t *index, lsc_error *error)
{
    const char *at = value ? strchr(value, '@') : NULL;
    if (!at || at == value || !at[1])
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: value '%.200s' is not ENTRY@LOCATION", label,
                        value ? value : "");
    LSC_TRY(get_bundle(ctx, at + 1, label, bundle, error));
    *index = lsc_bundle_find(*bundle, value, (size_t)(at - value));
    if (*index == (size_t)-1)
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: bundle %s has no entry '%.*s'", label,
                        lsc_bundle_path(*bundle), (int)(at - value), value);
    return LSC_OK;
}
