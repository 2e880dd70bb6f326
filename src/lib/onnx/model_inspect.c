/* Read-only inspection for stats and verify: the weight candidates of a plain or
 * a rewritten model, loaded one at a time. */
#include <stdlib.h>
#include <string.h>

#include "bundle/seal.h"
#include "codec/blob.h"
#include "codec/zero_points.h"
#include "common/checked.h"
#include "onnx/dense_pack_graph.h"
#include "onnx/onnx_model.h"
#include "onnx/graph_entry.h"
#include "onnx/short_names.h"

struct lsc_model {
    lsc_onnx_model m;
    lsc_selection sel;
    int compressed;
    uint64_t file_bytes;
    lsc_bundle **bundles; /* per layer, shared pointers; owned in `owned` */
    lsc_weight **weights; /* per layer, NULL for plain layers */
    lsc_bundle **owned;
    char **owned_locations;
    size_t n_owned;
};

static lsc_status inspect_bundle(lsc_model *model, const char *location, const char *label,
                                 lsc_bundle **out, lsc_error *error)
{
    for (size_t i = 0; i < model->n_owned; i++)
        if (strcmp(model->owned_locations[i], location) == 0) {
            *out = model->owned[i];
            return LSC_OK;
        }
    LSC_TRY(lsc_ext_check_location(&model->m, location, label, error));
    lsc_bundle **b = realloc(model->owned, (model->n_owned + 1) * sizeof *b);
    if (b)
        model->owned = b;
    char **l = realloc(model->owned_locations, (model->n_owned + 1) * sizeof *l);
    if (l)
        model->owned_locations = l;
    char *path = lsc_path_join(model->m.dir, location);
    char *loc = lsc_strdup(location);
    if (!b || !l || !path || !loc) {
        free(path);
        free(loc);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    lsc_bundle *bundle = NULL;
    lsc_status st = lsc_bundle_open(path, &bundle, error);
    if (st == LSC_OK) {
        lsc_map map = {0};
        if (lsc_map_file(path, &map, NULL) == LSC_OK) {
            model->file_bytes += map.size;
            lsc_unmap(&map);
        }
    }
    free(path);
    if (st != LSC_OK) {
        free(loc);
        return st;
    }
    model->owned[model->n_owned] = bundle;
    model->owned_locations[model->n_owned] = loc;
    model->n_owned++;
    *out = bundle;
    return LSC_OK;
}

static lsc_status inspect_bundle_fn(void *ctx, const char *location, const char *label, lsc_bundle **out,
                                    lsc_error *error)
{
    return inspect_bundle(ctx, location, label, out, error);
}

/* The layer's bundle entry, and unless only_bundle its weight, validated. */
static lsc_status open_layer_weight(lsc_model *model, size_t k, int only_bundle, lsc_error *error)
{
    const lsc_candidate *cand = &model->sel.items[k];
    char label[400];
    lsc_label(label, sizeof label, model->m.path, "weight", cand->name);
    const Onnx__TensorProto *t = cand->tensor;
    if (!t || lsc_tensor_repr(t) != LSC_REPR_EXTERNAL)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "%s: LSC weight is not in a bundle", label);
    lsc_ext_ref ref = {0};
    LSC_TRY(lsc_ext_parse(&model->m, t, label, &ref, error));
    lsc_bundle *bundle = NULL;
    LSC_TRY(inspect_bundle(model, ref.location, label, &bundle, error));
    size_t index = 0;
    LSC_TRY(lsc_bundle_entry_for(bundle, cand->name, &ref, label, &index, error));
    model->bundles[k] = bundle;
    return only_bundle ? LSC_OK : lsc_bundle_open_weight(bundle, index, &model->weights[k], error);
}

static lsc_status model_open(const char *path, int only_bundles, lsc_model **model_out, lsc_error *error)
{
    if (!path || !model_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "model_open: NULL argument");
    *model_out = NULL;
    lsc_model *model = calloc(1, sizeof *model);
    if (!model)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    lsc_status st = lsc_onnx_load(path, &model->m, error);
    /* The full model (docs/format.md 7), the original names, then the dense pack's tensors back in place (docs/format.md
     * 6, 5): every reader sees the graph compress recorded its positions in. */
    int unpacked = 0, renamed = 0, slimmed = 0;
    if (st == LSC_OK)
        st = lsc_restore_graph(&model->m, inspect_bundle_fn, model, &slimmed, only_bundles, error);
    /* An edited slim model (the seal check): names and pack as the file has them. */
    int stale = slimmed < 0;
    if (st == LSC_OK && !stale)
        st = lsc_restore_names(&model->m, inspect_bundle_fn, model, &renamed, error);
    if (st == LSC_OK && !stale)
        st = lsc_unpack_dense(&model->m, inspect_bundle_fn, model, &unpacked, error);
    model->compressed = unpacked || renamed || slimmed;
    if (st == LSC_OK)
        st = lsc_select(&model->m, LSC_SELECT_SMALL_ROWS, &model->sel, error); /* every weight a row */
    if (st == LSC_OK)
        lsc_drop_decoded_readers(&model->sel);
    if (st == LSC_OK) {
        model->file_bytes = lsc_onnx_input_bytes(&model->m);
        size_t n = model->sel.count ? model->sel.count : 1;
        model->bundles = calloc(n, sizeof *model->bundles);
        model->weights = calloc(n, sizeof *model->weights);
        if (!model->bundles || !model->weights)
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    /* A stale model's weights carry slim names; its bundle is open already (the record's). */
    for (size_t k = 0; st == LSC_OK && !stale && k < model->sel.count; k++) {
        if (!model->sel.items[k].compressed)
            continue;
        model->compressed = 1;
        st = open_layer_weight(model, k, only_bundles, error);
    }
    if (st != LSC_OK) {
        lsc_model_close(&model);
        return st;
    }
    *model_out = model;
    return LSC_OK;
}

lsc_status lsc_model_open(const char *path, lsc_model **model_out, lsc_error *error)
{
    return model_open(path, 0, model_out, error);
}

void lsc_model_close(lsc_model **model_ptr)
{
    if (!model_ptr || !*model_ptr)
        return;
    lsc_model *model = *model_ptr;
    for (size_t k = 0; model->weights && k < model->sel.count; k++)
        lsc_weight_close(&model->weights[k]);
    for (size_t i = 0; i < model->n_owned; i++) {
        lsc_bundle_close(&model->owned[i]);
        free(model->owned_locations[i]);
    }
    free(model->owned);
    free(model->owned_locations);
    free(model->bundles);
    free(model->weights);
    lsc_selection_free(&model->sel);
    lsc_onnx_free(&model->m);
    free(model);
    *model_ptr = NULL;
}

int lsc_model_is_compressed(const lsc_model *model)
{
    return model ? model->compressed : 0;
}

uint64_t lsc_model_file_bytes(const lsc_model *model)
{
    return model ? model->file_bytes : 0;
}

size_t lsc_model_layer_count(const lsc_model *model)
{
    return model ? model->sel.count : 0;
}

lsc_status lsc_model_layer_get(const lsc_model *model, size_t index, lsc_model_layer *layer,
                               lsc_error *error)
{
    if (!model || !layer || index >= model->sel.count)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "model_layer_get: bad index %zu", index);
    const lsc_candidate *cand = &model->sel.items[index];
    memset(layer, 0, sizeof *layer);
    layer->name = cand->name;
    layer->op = cand->op;
    layer->outcome = cand->outcome;
    layer->transposed = cand->transposed;
    layer->flags = (cand->in_subgraph ? LSC_LAYER_FLAG_SUBGRAPH : 0) | (cand->decode ? LSC_LAYER_FLAG_DECODE : 0);
    /* A compressed decode weight: its blob is "name.lsc", the dense tensor "name". */
    if (cand->decode && cand->compressed && cand->n_consumers == 1 && cand->consumers[0]->n_output == 1 &&
        cand->consumers[0]->output[0]) {
        layer->name = cand->consumers[0]->output[0];
        const char *reader = lsc_graph_dense_reader(cand->graph, layer->name);
        if (reader) { /* the op its plain form names, as for the model before compress */
            layer->op = reader;
            layer->flags |= LSC_LAYER_FLAG_RUN_DENSE;
        }
    }
    if (model->weights[index]) {
        lsc_weight_info info;
        lsc_weight_get_info(model->weights[index], &info);
        layer->dtype = info.dtype;
        layer->rank = info.rank;
        memcpy(layer->dims, info.dims, sizeof layer->dims);
        layer->transposed = info.transposed;
    } else if (cand->tensor) {
        const Onnx__TensorProto *t = cand->tensor;
        layer->dtype = (lsc_dtype)t->data_type;
        /* As the encoder sees it: a recurrent W/R is [D*G*H, K] (docs/format.md 3.1). */
        if (!lsc_blob_dims(t, cand->flat, &layer->rank, layer->dims)) {
            layer->rank = t->n_dims <= LSC_MAX_RANK ? (int)t->n_dims : LSC_MAX_RANK;
            for (int i = 0; i < layer->rank; i++)
                layer->dims[i] = t->dims[i];
        }
    }
    return LSC_OK;
}

lsc_status lsc_model_layer_load(const lsc_model *model, size_t index, lsc_tensor *tensor,
                                void **buffer_out, lsc_error *error)
{
    if (!model || !tensor || !buffer_out || index >= model->sel.count)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "model_layer_load: bad index %zu", index);
    *buffer_out = NULL;
    lsc_model_layer layer;
    LSC_TRY(lsc_model_layer_get(model, index, &layer, error));
    const lsc_candidate *cand = &model->sel.items[index];
    char label[400];
    lsc_label(label, sizeof label, model->m.path, "weight", cand->name);
    memset(tensor, 0, sizeof *tensor);
    tensor->dtype = layer.dtype;
    tensor->rank = layer.rank;
    memcpy(tensor->dims, layer.dims, sizeof tensor->dims);

    if (model->weights[index]) {
        lsc_weight_info info;
        lsc_weight_get_info(model->weights[index], &info);
        uint64_t count = 1, bytes;
        for (int i = 0; i < info.rank; i++)
            if (lsc_mul_overflow_u64(count, (uint64_t)info.dims[i], &count))
                return lsc_fail(error, LSC_ERR_TOO_LARGE, "%s: too large", label);
        if (lsc_mul_overflow_u64(count, lsc_dtype_size(info.dtype), &bytes) || bytes > SIZE_MAX)
            return lsc_fail(error, LSC_ERR_TOO_LARGE, "%s: too large", label);
        void *buf = malloc(bytes ? (size_t)bytes : 1);
        if (!buf)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
        lsc_status st = lsc_weight_decode(model->weights[index], buf, (size_t)bytes, error);
        if (st != LSC_OK) {
            free(buf);
            return st;
        }
        const lsc_blob_view *v = &model->weights[index]->view;
        if (v->zero_points)
            lsc_zero_points_apply(buf, v->rows, v->cols, info.transposed, v->zero_points, -1);
        tensor->data = buf;
        *buffer_out = buf;
        return LSC_OK;
    }
    int64_t dims[LSC_MAX_RANK];
    int rank;
    if (!cand->tensor || !lsc_blob_dims(cand->tensor, cand->flat, &rank, dims) || layer.rank != rank)
        return lsc_fail(error, LSC_ERR_UNSUPPORTED, "%s: no loadable data", label);
    lsc_dense dense = {0};
    /* The model's mapping cache grows on first use of an external file. */
    LSC_TRY(lsc_tensor_dense((lsc_onnx_model *)&model->m, cand->tensor, label, &dense, error));
    void *buf = dense.owned;
    if (!buf) {
        buf = malloc(dense.size ? dense.size : 1);
        if (!buf)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
        if (dense.size)
            memcpy(buf, dense.data, dense.size);
        lsc_dense_free(&dense); /* only releases the mapped pages: buf has the copy */
    }
    if (cand->quantized && rank >= 1) {
        uint32_t rows = (uint32_t)(cand->transposed ? dims[1] : dims[0]);
        uint64_t cols = 1;
        for (int i = 0; i < rank; i++)
            cols *= (uint64_t)dims[i];
        cols /= rows ? rows : 1;
        uint8_t *zp = NULL;
        lsc_status st = lsc_candidate_zero_points((lsc_onnx_model *)&model->m, cand, rows, label, &zp, error);
        if (st != LSC_OK) {
            free(buf);
            return st;
        }
        if (zp)
            lsc_zero_points_apply(buf, rows, cols, cand->transposed, zp, -1);
        free(zp);
    }
    tensor->data = buf;
    *buffer_out = buf;
    return LSC_OK;
}

const lsc_weight *lsc_model_layer_weight(const lsc_model *model, size_t index)
{
    if (!model || index >= model->sel.count)
        return NULL;
    return model->weights[index];
}

lsc_status lsc_model_check_seal(const lsc_model *model, lsc_seal_state *state, lsc_error *error)
{
    if (!model || !state)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_model_check_seal: NULL argument");
    *state = LSC_SEAL_NOT_COMPRESSED;
    if (!model->n_owned)
        return LSC_OK;
    lsc_seal now;
    LSC_TRY(lsc_seal_compute(model->m.path, &now, error));
    *state = LSC_SEAL_INTACT;
    for (size_t i = 0; i < model->n_owned; i++) {
        lsc_seal sealed;
        if (!lsc_bundle_get_seal(model->owned[i], &sealed)) {
            *state = LSC_SEAL_ABSENT;
            return LSC_OK;
        }
        if (!lsc_seal_equal(&sealed, &now))
            *state = LSC_SEAL_MODIFIED;
    }
    return LSC_OK;
}

lsc_status lsc_check_seal_file(const char *model_path, lsc_seal_state *state, lsc_error *error)
{
    if (!model_path || !state)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_check_seal_file: NULL argument");
    /* The bundles' headers and tables only: the weights are the runtime's to check. */
    lsc_model *model = NULL;
    LSC_TRY(model_open(model_path, 1, &model, error));
    lsc_status st = lsc_model_check_seal(model, state, error);
    lsc_model_close(&model);
    return st;
}

lsc_status lsc_seal_file(const char *model_path, lsc_error *error)
{
    lsc_model *model = NULL;
    LSC_TRY(lsc_model_open(model_path, &model, error));
    lsc_seal now;
    lsc_status st = LSC_OK;
    if (!model->n_owned)
        st = lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "%s: not a compressed model (no bundle to seal)",
                      model_path);
    if (st == LSC_OK)
        st = lsc_seal_compute(model_path, &now, error);
    for (size_t i = 0; st == LSC_OK && i < model->n_owned; i++)
        st = lsc_bundle_reseal(model->owned[i], lsc_bundle_path(model->owned[i]), &now, error);
    lsc_model_close(&model);
    return st;
}
