/* The compress report as a table and as JSON. Totals are over encoded layers (the
 * paper's compression ratio); the file ratio compares whole files. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compress_report.h"
#include "formats.h"
#include "stats.h"
#include "text.h"

#define NAME_W 28

static int examined(const lsc_layer_report *l)
{
    return l->outcome == LSC_LAYER_ENCODED || l->outcome == LSC_LAYER_NOT_PAYING ||
           l->outcome == LSC_LAYER_NOT_SPARSE;
}

/* log2 C(n, k) / k: the entropy bound of a layer's positions in bits per non-zero
 * (the exact one stats prints; undefined without non-zeros). */
static double bound_per_nnz(uint64_t n, uint64_t k)
{
    return k ? stats_entropy_bits(n, k) / (double)k : NAN;
}

typedef struct totals {
    uint64_t dense, value, meta, nnz, encoded;
} totals;

static totals sum_encoded(const lsc_compress_report *r)
{
    totals t = {0};
    for (size_t i = 0; i < r->n_layers; i++) {
        const lsc_layer_report *l = &r->layers[i];
        if (l->outcome != LSC_LAYER_ENCODED)
            continue;
        t.dense += l->stats.dense_bytes;
        t.value += l->stats.value_bytes;
        t.meta += l->stats.meta_bytes;
        t.nnz += l->stats.nnz;
        t.encoded++;
    }
    return t;
}

/* The totals as stats defines them: 1.0 and 0 bits when nothing is encoded. */
static double total_ratio(const totals *t)
{
    return t->encoded ? stats_ratio(t->dense, t->value + t->meta) : 1.0;
}

static double total_meta_bits(const totals *t)
{
    return t->encoded && t->nnz ? 8.0 * stats_ratio(t->meta, t->nnz) : 0.0;
}

/* The row's flags as words, for the table's last column. */
static const char *flag_words(uint32_t flags, char buf[64])
{
    static const struct { uint32_t flag; const char *word; } words[] = {
        {LSC_LAYER_FLAG_DECODE, "decode"}, {LSC_LAYER_FLAG_RUN_DENSE, "run-dense"}, {LSC_LAYER_FLAG_SUBGRAPH, "subgraph"},
        {LSC_LAYER_FLAG_INPUT_DROPPED, "input-dropped"}};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (flags & words[i].flag) {
            if (buf[0])
                strcat(buf, ",");
            strcat(buf, words[i].word);
        }
    return buf;
}

static void name_cell(FILE *out, const char *name)
{
    char buf[NAME_W + 1];
    text_short_name(buf, NAME_W, name);
    fprintf(out, "%-*s", NAME_W, buf);
}

void lsc_cli_print_table(FILE *out, const lsc_compress_report *r)
{
    fprintf(out, "%-*s %-6s %-12s %-5s %-12s %9s %10s %7s %6s %11s %11s %10s %9s %9s %8s  %s\n",
            NAME_W, "layer", "op", "status", "dtype", "matrix", "nnz", "density", "block", "bits",
            "dense B", "value B", "meta B", "meta b/nz", "bound b/nz", "ratio", "note");
    for (size_t i = 0; i < r->n_layers; i++) {
        const lsc_layer_report *l = &r->layers[i];
        const lsc_encode_stats *s = &l->stats;
        char words[64];
        name_cell(out, l->name);
        fprintf(out, " %-6s %-12s %-5s", l->op, lsc_layer_outcome_string(l->outcome),
                text_dtype_short(l->dtype));
        if (!examined(l)) {
            fprintf(out, "%s%s\n", l->flags ? " " : "", flag_words(l->flags, words));
            continue;
        }
        char shape[32], block[24];
        snprintf(shape, sizeof shape, "%llux%llu", (unsigned long long)s->rows,
                 (unsigned long long)s->cols);
        snprintf(block, sizeof block, "%ux%u", s->block_h, s->block_w);
        fprintf(out, " %-12s %9llu", shape, (unsigned long long)s->nnz);
        text_cell(out, 10, 4, 100.0 * stats_ratio(s->nnz, s->elements), "%");
        fprintf(out, " %7s %6u %11llu %11llu %10llu", block, s->index_bits,
                (unsigned long long)s->dense_bytes, (unsigned long long)s->value_bytes,
                (unsigned long long)s->meta_bytes);
        text_cell(out, 9, 3, 8.0 * stats_ratio(s->meta_bytes, s->nnz), "");
        text_cell(out, 9, 3, bound_per_nnz(s->elements, s->nnz), "");
        text_cell(out, 8, 2, stats_ratio(s->dense_bytes, s->blob_bytes), "x");
        fprintf(out, "%s%s\n", l->flags ? "  " : "", flag_words(l->flags, words));
    }
    totals t = sum_encoded(r);
    /* always defined: a report holds no 0/0 totals */
    fprintf(out, "\nencoded layers: %llu of %zu; dense %llu B -> values %llu B + meta-data %llu B "
                 "(%.3f bits/nnz): ratio %.2fx\n",
            (unsigned long long)t.encoded, r->n_layers, (unsigned long long)t.dense,
            (unsigned long long)t.value, (unsigned long long)t.meta, total_meta_bits(&t), total_ratio(&t));
    fprintf(out, "files: input %llu B -> model %llu B + bundle %llu B", (unsigned long long)r->input_bytes,
            (unsigned long long)r->model_bytes, (unsigned long long)r->bundle_bytes);
    if (r->external_bytes)
        fprintf(out, " + dense external data %llu B", (unsigned long long)r->external_bytes);
    fprintf(out, ": file ratio %.2fx", stats_ratio(r->input_bytes, r->model_bytes + r->bundle_bytes + r->external_bytes));
    fprintf(out, "\nsigned zeros (-0.0) normalised to +0.0: %llu\n",
            (unsigned long long)r->signed_zeros_normalised);
    if (r->graph_inputs_dropped)
        fprintf(out, "weights that were also graph inputs, encoded and dropped from the inputs: %llu "
                     "(--keep-graph-inputs leaves them dense)\n",
                (unsigned long long)r->graph_inputs_dropped);
    if (r->dense_packed)
        fprintf(out, "dense tensors packed: %llu (docs/format.md part 5)\n", (unsigned long long)r->dense_packed);
    if (r->names_shortened)
        fprintf(out, "names shortened: %llu (docs/format.md part 6)\n", (unsigned long long)r->names_shortened);
    if (r->graph_slimmed)
        fprintf(out, "graph slimmed: what ONNX Runtime does not read is in the graph entry (docs/format.md part 7)\n");
}

static void json_u(FILE *out, const char *key, uint64_t v)
{
    fprintf(out, ", \"%s\": %llu", key, (unsigned long long)v);
}

static void json_d(FILE *out, const char *key, double v)
{
    fprintf(out, ", \"%s\": ", key);
    text_json_number(out, v);
}

void lsc_cli_print_json(FILE *out, const lsc_compress_report *r, const char *model_path,
                        const char *bundle_path)
{
    fputs("{\"model\": ", out);
    text_json_string(out, model_path);
    fputs(", \"bundle\": ", out);
    text_json_string(out, bundle_path);
    fputs(", \"layers\": [", out);
    for (size_t i = 0; i < r->n_layers; i++) {
        const lsc_layer_report *l = &r->layers[i];
        const lsc_encode_stats *s = &l->stats;
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", out);
        text_json_string(out, l->name);
        fputs(", \"op\": ", out);
        text_json_string(out, l->op);
        fputs(", \"status\": ", out);
        text_json_string(out, lsc_layer_outcome_string(l->outcome));
        fputs(", \"dtype\": ", out);
        text_json_string(out, lsc_dtype_string(l->dtype));
        fprintf(out, ", \"subgraph\": %s, \"graph_input_dropped\": %s, \"decode\": %s, \"run_dense\": %s",
                l->flags & LSC_LAYER_FLAG_SUBGRAPH ? "true" : "false",
                l->flags & LSC_LAYER_FLAG_INPUT_DROPPED ? "true" : "false",
                l->flags & LSC_LAYER_FLAG_DECODE ? "true" : "false",
                l->flags & LSC_LAYER_FLAG_RUN_DENSE ? "true" : "false");
        if (examined(l)) {
            json_u(out, "rows", s->rows);
            json_u(out, "cols", s->cols);
            json_u(out, "nnz", s->nnz);
            json_u(out, "elements", s->elements);
            json_u(out, "block_h", s->block_h);
            json_u(out, "block_w", s->block_w);
            json_u(out, "index_bits", s->index_bits);
            json_u(out, "dense_bytes", s->dense_bytes);
            json_u(out, "value_bytes", s->value_bytes);
            json_u(out, "meta_bytes", s->meta_bytes);
            json_u(out, "blob_bytes", s->blob_bytes);
            json_d(out, "meta_bits_per_nnz", 8.0 * stats_ratio(s->meta_bytes, s->nnz));
            json_d(out, "entropy_bound_bits_per_nnz", bound_per_nnz(s->elements, s->nnz));
            json_d(out, "ratio", stats_ratio(s->dense_bytes, s->blob_bytes));
            json_u(out, "signed_zeros", s->signed_zeros);
        }
        fputc('}', out);
    }
    totals t = sum_encoded(r);
    fprintf(out, "\n], \"totals\": {\"encoded_layers\": %llu", (unsigned long long)t.encoded);
    json_u(out, "dense_bytes", t.dense);
    json_u(out, "value_bytes", t.value);
    json_u(out, "meta_bytes", t.meta);
    json_u(out, "nnz", t.nnz);
    json_d(out, "meta_bits_per_nnz", total_meta_bits(&t));
    json_d(out, "ratio", total_ratio(&t));
    json_u(out, "input_bytes", r->input_bytes);
    json_u(out, "model_bytes", r->model_bytes);
    json_u(out, "bundle_bytes", r->bundle_bytes);
    json_d(out, "file_ratio", stats_ratio(r->input_bytes, r->model_bytes + r->bundle_bytes + r->external_bytes));
    json_u(out, "signed_zeros_normalised", r->signed_zeros_normalised);
    json_u(out, "skipped_subgraph_nodes", r->skipped_subgraph_nodes);
    json_u(out, "graph_inputs_dropped", r->graph_inputs_dropped);
    json_u(out, "external_bytes", r->external_bytes);
    json_u(out, "dense_packed", r->dense_packed);
    json_u(out, "names_shortened", r->names_shortened);
    json_u(out, "graph_slimmed", r->graph_slimmed);
    fputs("}}\n", out);
}
