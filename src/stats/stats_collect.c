/* Gathering the audit: one layer at a time, load (or decode) the weight, price LSC
 * (plan, or the blob found in the bundle) and the classic formats, then drop the
 * weight. Memory: the largest weight plus a bit per element, plus the graph. */
#define _DEFAULT_SOURCE /* mkdtemp, strdup */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

double stats_ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : NAN;
}

double stats_bits_per_nnz(uint64_t meta_bytes, uint64_t nnz)
{
    return nnz ? 8.0 * (double)meta_bytes / (double)nnz : NAN;
}

double stats_total_ratio(const stats_totals *t)
{
    return t->encoded_layers ? stats_ratio(t->dense_bytes, t->value_bytes + t->meta_bytes) : 1.0;
}

double stats_total_meta_bits(const stats_totals *t)
{
    return t->encoded_layers && t->nnz ? stats_bits_per_nnz(t->meta_bytes, t->nnz) : 0.0;
}

double stats_file_ratio(const stats_totals *t)
{
    return t->compressed_file ? stats_ratio(t->original_bytes, t->input_bytes)
                              : stats_ratio(t->input_bytes, t->output_bytes);
}

/* The LSC columns of a layer from the encoder's (or an opened blob's) accounting. */
static void lsc_from_stats(const lsc_encode_stats *s, stats_lsc *l)
{
    l->block_h = s->block_h;
    l->block_w = s->block_w;
    l->index_bits = s->index_bits;
    l->nnz = s->nnz;
    l->blocks = s->blocks;
    l->kept_blocks = s->kept_blocks;
    l->value_entries = s->value_entries;
    l->jump_entries = s->jump_entries;
    l->value_bytes = s->value_bytes;
    l->header_bytes = s->header_bytes;
    l->bitmap_bytes = s->bitmap_bytes;
    l->pointer_bytes = s->pointer_bytes;
    l->sri_bytes = s->index_bytes;
    l->meta_bytes = s->meta_bytes;
    l->blob_bytes = s->blob_bytes;
}

/* What compress --entropy stores for a compute blob: the entropy blob when smaller
 * (src/lib/onnx/encode_weights.c decides the same way), else the blob itself. */
static lsc_status price_entropy(const void *blob, size_t size, stats_layer *l, lsc_error *error)
{
    lsc_entropy_stats es;
    void *coded = NULL, *compact = NULL;
    size_t coded_size = 0, compact_size = 0;
    lsc_status st = lsc_entropy_encode_stats(blob, size, &coded, &coded_size, &es, error);
    if (st != LSC_OK && st != LSC_ERR_UNSUPPORTED)
        return st;
    /* Stored with its header as varints (docs/format.md 4.8): only the header shrinks. */
    if (st == LSC_OK && lsc_entropy_compact_blob(coded, coded_size, &compact, &compact_size, NULL) == LSC_OK) {
        es.header_bytes -= coded_size - compact_size;
        es.total_bytes -= coded_size - compact_size;
    }
    lsc_free(coded);
    lsc_free(compact);
    stats_entropy *e = &l->entropy;
    if (st == LSC_OK && es.total_bytes < size) {
        e->coded = 1;
        e->bytes = es.total_bytes;
        e->header_bytes = es.header_bytes;
        e->position_bytes = es.position_bytes;
        for (unsigned j = 0; j < es.planes && j < 8; j++)
            e->value_bytes += es.plane_bytes[j];
        return LSC_OK;
    }
    const stats_lsc *c = &l->lsc;
    e->bytes = c->blob_bytes;
    e->header_bytes = c->header_bytes;
    e->position_bytes = c->bitmap_bytes + c->pointer_bytes + c->sri_bytes;
    e->value_bytes = c->value_bytes;
    return LSC_OK;
}

static int loadable(const lsc_model_layer *ml)
{
    return lsc_dtype_size(ml->dtype) != 0 && ml->outcome != LSC_LAYER_UNSUPPORTED_TYPE &&
           ml->outcome != LSC_LAYER_NOT_CONSTANT && ml->outcome != LSC_LAYER_IN_SUBGRAPH &&
           ml->outcome != LSC_LAYER_TOO_SMALL;
}

static lsc_status analyse_layer(const lsc_model *model, size_t index, const lsc_model_layer *ml,
                                const stats_options *opt, stats_layer *l, lsc_error *error)
{
    lsc_tensor tensor;
    void *buffer = NULL;
    lsc_status st = lsc_model_layer_load(model, index, &tensor, &buffer, error);
    if (st != LSC_OK)
        return st;
    const lsc_weight *w = lsc_model_layer_weight(model, index);
    if (w) {
        lsc_encode_stats s;
        lsc_weight_get_stats(w, &s);
        lsc_from_stats(&s, &l->lsc);
        l->source = STATS_LSC_BUNDLE;
        size_t size = 0;
        const void *blob = lsc_weight_blob(w, &size);
        st = opt->entropy ? price_entropy(blob, size, l, error) : LSC_OK;
    } else {
        lsc_encode_options eo;
        lsc_encode_options_default(&eo);
        eo.transposed = ml->transposed;
        lsc_encode_stats s;
        void *blob = NULL;
        size_t size = 0;
        /* the entropy tier needs the blob itself; the plan alone is cheaper */
        st = opt->entropy ? lsc_encode(&tensor, &eo, &blob, &size, &s, error)
                          : lsc_encode_plan(&tensor, &eo, &s, error);
        if (st == LSC_OK) {
            lsc_from_stats(&s, &l->lsc);
            l->source = STATS_LSC_PLAN;
        }
        if (st == LSC_OK && opt->entropy)
            st = price_entropy(blob, size, l, error);
        lsc_free(blob);
    }
    if (st != LSC_OK) {
        lsc_free(buffer);
        return st;
    }
    stats_scan scan;
    st = stats_scan_tensor(&tensor, ml->transposed, l->lsc.block_h, l->lsc.block_w, opt->want_maps,
                           &scan, error);
    lsc_free(buffer);
    if (st != LSC_OK)
        return st;
    l->facts = scan.facts;
    l->map = scan.map;
    l->elements = scan.elements;
    stats_tensor_desc desc = {ml->dtype, ml->rank, ml->dims, strlen(ml->name),
                              strcmp(ml->op, "Conv") == 0};
    stats_formats_compute(&l->facts, &desc, l->formats);
    l->bound_bits = stats_entropy_bits(l->facts.elements, l->facts.nnz);
    l->analysed = 1;
    return LSC_OK;
}

static void add_reason(stats_totals *t, const char *name, uint64_t dense_bytes)
{
    size_t i = 0;
    while (i < t->n_reasons && strcmp(t->reasons[i].name, name) != 0)
        i++;
    if (i == t->n_reasons) {
        if (t->n_reasons == STATS_MAX_REASONS)
            return;
        t->reasons[t->n_reasons++].name = name;
    }
    t->reasons[i].layers++;
    t->reasons[i].dense_bytes += dense_bytes;
}

static void add_totals(stats_totals *t, const stats_layer *l)
{
    t->layers++;
    t->weight_dense_bytes += l->dense_bytes;
    if (!l->encoded) {
        add_reason(t, l->outcome, l->dense_bytes);
        return;
    }
    t->encoded_layers++;
    t->dense_bytes += l->dense_bytes;
    t->nnz += l->lsc.nnz;
    t->elements += l->facts.elements;
    t->value_bytes += l->lsc.value_bytes;
    t->meta_bytes += l->lsc.meta_bytes;
    t->header_bytes += l->lsc.header_bytes;
    t->bitmap_bytes += l->lsc.bitmap_bytes;
    t->pointer_bytes += l->lsc.pointer_bytes;
    t->sri_bytes += l->lsc.sri_bytes;
    t->bound_bits += l->bound_bits;
    t->facts_nnz += l->facts.nnz;
    t->entropy_coded_layers += (uint64_t)l->entropy.coded;
    t->entropy_tier.bytes += l->entropy.bytes;
    t->entropy_tier.header_bytes += l->entropy.header_bytes;
    t->entropy_tier.position_bytes += l->entropy.position_bytes;
    t->entropy_tier.value_bytes += l->entropy.value_bytes;
    for (int f = 0; f < STATS_N_FORMATS; f++) {
        stats_format_size *s = &t->formats[f];
        if (t->encoded_layers == 1)
            s->applicable = 1;
        s->applicable &= l->formats[f].applicable;
        s->value_bytes += l->formats[f].value_bytes;
        s->meta_bytes += l->formats[f].meta_bytes;
    }
}

/* Compresses into a temporary folder under the input's own file name (the names
 * of the bundle appear in the rewritten graph, so they change its size). */
static lsc_status measure_files(const char *model_path, const stats_options *opt, stats_totals *t,
                                lsc_error *error)
{
    const char *tmp = getenv("TMPDIR");
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/onnx-lsc-stats-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return lsc_error_set(error, LSC_ERR_IO, "%s: cannot create a temporary folder", dir);
    const char *base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    size_t stem = strlen(base);
    if (stem >= 5 && strcmp(base + stem - 5, ".onnx") == 0)
        stem -= 5;
    if (stem > 1024)
        stem = 1024;
    char out[4200], bundle[4200];
    snprintf(out, sizeof out, "%s/%.*s.lsc.onnx", dir, (int)stem, base);
    snprintf(bundle, sizeof bundle, "%s/%.*s.lsc", dir, (int)stem, base);
    lsc_compress_options co;
    lsc_compress_options_default(&co);
    co.threads = opt->threads;
    lsc_compress_report *report = NULL;
    lsc_status st = lsc_compress_file(model_path, out, bundle, &co, &report, error);
    if (st == LSC_OK) {
        t->output_bytes = report->model_bytes + report->bundle_bytes;
        t->output_measured = 1;
    }
    lsc_compress_report_free(&report);
    unlink(out);
    unlink(bundle);
    rmdir(dir);
    return st;
}

static void finish_totals(const stats_report *r, stats_totals *t)
{
    uint64_t blobs = 0, dense_kept = 0;
    for (size_t i = 0; i < r->n_layers; i++) {
        const stats_layer *l = &r->layers[i];
        if (l->encoded) {
            blobs += l->lsc.blob_bytes;
            dense_kept += l->dense_bytes;
        }
    }
    uint64_t weights_in_file = t->weight_dense_bytes - (r->compressed ? dense_kept - blobs : 0);
    t->other_bytes = t->input_bytes > weights_in_file ? t->input_bytes - weights_in_file : 0;
    t->compressed_file = r->compressed;
    if (r->compressed) {
        t->original_bytes = t->input_bytes - blobs + dense_kept;
    } else if (!t->output_measured) {
        t->output_bytes = t->input_bytes - dense_kept + blobs;
    }
}

lsc_status stats_collect(const char *model_path, const stats_options *opt, stats_report *r,
                         lsc_error *error)
{
    memset(r, 0, sizeof *r);
    r->model_path = model_path;
    lsc_model *model = NULL;
    lsc_status st = lsc_model_open(model_path, &model, error);
    if (st != LSC_OK)
        return st;
    r->compressed = lsc_model_is_compressed(model);
    r->totals.input_bytes = lsc_model_file_bytes(model);
    r->totals.entropy = opt->entropy;
    size_t n = lsc_model_layer_count(model);
    r->layers = calloc(n ? n : 1, sizeof *r->layers);
    if (!r->layers)
        st = lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == LSC_OK && i < n; i++) {
        stats_layer *l = &r->layers[i];
        lsc_model_layer ml;
        st = lsc_model_layer_get(model, i, &ml, error);
        if (st != LSC_OK)
            break;
        r->n_layers = i + 1;
        l->name = strdup(ml.name ? ml.name : "");
        if (!l->name) {
            st = lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
            break;
        }
        snprintf(l->op, sizeof l->op, "%s", ml.op ? ml.op : "?");
        l->dtype = ml.dtype;
        l->rank = ml.rank;
        memcpy(l->dims, ml.dims, sizeof l->dims);
        l->transposed = ml.transposed;
        l->outcome = lsc_layer_outcome_string(ml.outcome);
        uint64_t elements = 1;
        for (int d = 0; d < ml.rank; d++)
            elements *= (uint64_t)ml.dims[d];
        l->dense_bytes = elements * lsc_onnx_type_size(ml.dtype);
        if (loadable(&ml)) {
            st = analyse_layer(model, i, &ml, opt, l, error);
            if (st != LSC_OK)
                break;
            if (l->source == STATS_LSC_BUNDLE) {
                l->encoded = 1;
                l->outcome = ml.flags & LSC_LAYER_FLAG_RUN_DENSE ? "run-dense" : "encoded";
            } else if (ml.outcome == LSC_LAYER_ENCODED && (ml.flags & LSC_LAYER_FLAG_DECODE) &&
                       l->lsc.nnz > l->facts.elements / 2) {
                l->outcome = lsc_layer_outcome_string(LSC_LAYER_NOT_SPARSE); /* as compress decides */
            } else if (ml.outcome == LSC_LAYER_ENCODED) {
                int pays = l->lsc.blob_bytes < l->dense_bytes;
                l->encoded = pays && !r->compressed;
                l->outcome = pays ? (r->compressed ? "left-dense" : "encoded") : "not-paying";
            }
        }
        add_totals(&r->totals, l);
    }
    lsc_model_close(&model);
    if (st == LSC_OK && opt->measure_files && !r->compressed)
        st = measure_files(model_path, opt, &r->totals, error);
    if (st != LSC_OK) {
        stats_report_free(r);
        return st;
    }
    finish_totals(r, &r->totals);
    return LSC_OK;
}

void stats_report_free(stats_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_layers; i++) {
        free(r->layers[i].name);
        free(r->layers[i].map.cells);
        free(r->layers[i].elements.cells);
    }
    free(r->layers);
    r->layers = NULL;
    r->n_layers = 0;
}
