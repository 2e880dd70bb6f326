/* The compress report as a table and as JSON. Totals are over encoded layers (the
 * paper's compression ratio); the file ratio compares whole files. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compress_report.h"

double lsc_cli_entropy_bound(uint64_t n, uint64_t k)
{
    if (k == 0 || k > n)
        return 0.0;
    double nats = lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
    return nats / log(2.0) / (double)k;
}

const char *lsc_cli_outcome_name(lsc_layer_outcome outcome)
{
    switch (outcome) {
    case LSC_LAYER_ENCODED: return "encoded";
    case LSC_LAYER_NOT_PAYING: return "not-paying";
    case LSC_LAYER_GRAPH_INPUT: return "graph-input";
    case LSC_LAYER_SHARED_OTHER: return "shared-other";
    case LSC_LAYER_UNSUPPORTED_TYPE: return "unsupported";
    case LSC_LAYER_IN_SUBGRAPH: return "in-subgraph";
    case LSC_LAYER_NOT_CONSTANT: return "not-constant";
    }
    return "unknown";
}

const char *lsc_cli_dtype_name(int dtype)
{
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: return "f32";
    case LSC_DTYPE_FLOAT16: return "f16";
    case LSC_DTYPE_FLOAT64: return "f64";
    case LSC_DTYPE_BFLOAT16: return "bf16";
    case LSC_DTYPE_UINT8: return "u8";
    case LSC_DTYPE_INT8: return "i8";
    }
    return "-";
}

static int examined(const lsc_layer_report *l)
{
    return l->outcome == LSC_LAYER_ENCODED || l->outcome == LSC_LAYER_NOT_PAYING;
}

static double ratio(uint64_t num, uint64_t den)
{
    return den ? (double)num / (double)den : 0.0;
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

/* The row's flags as words, for the table's last column. */
static const char *flag_words(uint32_t flags)
{
    switch (flags & (LSC_LAYER_FLAG_SUBGRAPH | LSC_LAYER_FLAG_INPUT_DROPPED)) {
    case LSC_LAYER_FLAG_SUBGRAPH: return "subgraph";
    case LSC_LAYER_FLAG_INPUT_DROPPED: return "input-dropped";
    case LSC_LAYER_FLAG_SUBGRAPH | LSC_LAYER_FLAG_INPUT_DROPPED: return "subgraph,input-dropped";
    }
    return "";
}

/* Names may hold anything: print them cut and with control bytes as '?'. */
static void print_name(FILE *out, const char *name, int width)
{
    char buf[64];
    size_t n = strlen(name);
    size_t max = (size_t)width < sizeof buf - 1 ? (size_t)width : sizeof buf - 1;
    if (n > max) {
        memcpy(buf, name, max - 3);
        memcpy(buf + max - 3, "...", 4);
    } else {
        memcpy(buf, name, n + 1);
    }
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    fprintf(out, "%-*s", width, buf[0] ? buf : "(empty)");
}

void lsc_cli_print_table(FILE *out, const lsc_compress_report *r)
{
    fprintf(out, "%-28s %-6s %-12s %-5s %-12s %9s %10s %7s %6s %11s %11s %10s %9s %9s %8s  %s\n",
            "layer", "op", "status", "dtype", "matrix", "nnz", "density", "block", "bits",
            "dense B", "value B", "meta B", "meta b/nz", "bound b/nz", "ratio", "note");
    for (size_t i = 0; i < r->n_layers; i++) {
        const lsc_layer_report *l = &r->layers[i];
        const lsc_encode_stats *s = &l->stats;
        print_name(out, l->name, 28);
        fprintf(out, " %-6s %-12s %-5s", l->op, lsc_cli_outcome_name(l->outcome),
                lsc_cli_dtype_name(l->dtype));
        if (!examined(l)) {
            fprintf(out, "%s%s\n", l->flags ? " " : "", flag_words(l->flags));
            continue;
        }
        char shape[32], block[24];
        snprintf(shape, sizeof shape, "%llux%llu", (unsigned long long)s->rows,
                 (unsigned long long)s->cols);
        snprintf(block, sizeof block, "%ux%u", s->block_h, s->block_w);
        fprintf(out, " %-12s %9llu %9.4f%% %7s %6u %11llu %11llu %10llu %9.3f %9.3f %7.2fx%s%s\n",
                shape, (unsigned long long)s->nnz, 100.0 * ratio(s->nnz, s->elements), block,
                s->index_bits, (unsigned long long)s->dense_bytes,
                (unsigned long long)s->value_bytes, (unsigned long long)s->meta_bytes,
                8.0 * ratio(s->meta_bytes, s->nnz), lsc_cli_entropy_bound(s->elements, s->nnz),
                ratio(s->dense_bytes, s->blob_bytes), l->flags ? "  " : "", flag_words(l->flags));
    }
    totals t = sum_encoded(r);
    fprintf(out, "\nencoded layers: %llu of %zu; dense %llu B -> values %llu B + meta-data %llu B "
                 "(%.3f bits/nnz): ratio %.2fx\n",
            (unsigned long long)t.encoded, r->n_layers, (unsigned long long)t.dense,
            (unsigned long long)t.value, (unsigned long long)t.meta, 8.0 * ratio(t.meta, t.nnz),
            ratio(t.dense, t.value + t.meta));
    fprintf(out, "files: input %llu B -> model %llu B + bundle %llu B", (unsigned long long)r->input_bytes,
            (unsigned long long)r->model_bytes, (unsigned long long)r->bundle_bytes);
    if (r->external_bytes)
        fprintf(out, " + dense external data %llu B", (unsigned long long)r->external_bytes);
    fprintf(out, ": file ratio %.2fx\n",
            ratio(r->input_bytes, r->model_bytes + r->bundle_bytes + r->external_bytes));
    fprintf(out, "signed zeros (-0.0) normalised to +0.0: %llu\n",
            (unsigned long long)r->signed_zeros_normalised);
    if (r->graph_inputs_dropped)
        fprintf(out, "weights that were also graph inputs, encoded and dropped from the inputs: %llu "
                     "(--keep-graph-inputs leaves them dense)\n",
                (unsigned long long)r->graph_inputs_dropped);
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void lsc_cli_print_json(FILE *out, const lsc_compress_report *r, const char *model_path,
                        const char *bundle_path)
{
    fputs("{\"model\": ", out);
    json_string(out, model_path);
    fputs(", \"bundle\": ", out);
    json_string(out, bundle_path);
    fputs(", \"layers\": [", out);
    for (size_t i = 0; i < r->n_layers; i++) {
        const lsc_layer_report *l = &r->layers[i];
        const lsc_encode_stats *s = &l->stats;
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", out);
        json_string(out, l->name);
        fprintf(out, ", \"op\": \"%s\", \"status\": \"%s\", \"dtype\": \"%s\", \"subgraph\": %s, "
                     "\"graph_input_dropped\": %s", l->op, lsc_cli_outcome_name(l->outcome),
                lsc_cli_dtype_name(l->dtype), l->flags & LSC_LAYER_FLAG_SUBGRAPH ? "true" : "false",
                l->flags & LSC_LAYER_FLAG_INPUT_DROPPED ? "true" : "false");
        if (examined(l))
            fprintf(out,
                    ", \"rows\": %llu, \"cols\": %llu, \"nnz\": %llu, \"elements\": %llu, "
                    "\"block_h\": %u, \"block_w\": %u, \"index_bits\": %u, \"dense_bytes\": %llu, "
                    "\"value_bytes\": %llu, \"meta_bytes\": %llu, \"blob_bytes\": %llu, "
                    "\"meta_bits_per_nnz\": %.6f, \"entropy_bound_bits_per_nnz\": %.6f, "
                    "\"ratio\": %.6f, \"signed_zeros\": %llu",
                    (unsigned long long)s->rows, (unsigned long long)s->cols,
                    (unsigned long long)s->nnz, (unsigned long long)s->elements, s->block_h,
                    s->block_w, s->index_bits, (unsigned long long)s->dense_bytes,
                    (unsigned long long)s->value_bytes, (unsigned long long)s->meta_bytes,
                    (unsigned long long)s->blob_bytes, 8.0 * ratio(s->meta_bytes, s->nnz),
                    lsc_cli_entropy_bound(s->elements, s->nnz), ratio(s->dense_bytes, s->blob_bytes),
                    (unsigned long long)s->signed_zeros);
        fputc('}', out);
    }
    totals t = sum_encoded(r);
    fprintf(out,
            "\n], \"totals\": {\"encoded_layers\": %llu, \"dense_bytes\": %llu, \"value_bytes\": %llu, "
            "\"meta_bytes\": %llu, \"nnz\": %llu, \"meta_bits_per_nnz\": %.6f, \"ratio\": %.6f, "
            "\"input_bytes\": %llu, \"model_bytes\": %llu, \"bundle_bytes\": %llu, "
            "\"file_ratio\": %.6f, \"signed_zeros_normalised\": %llu, \"skipped_subgraph_nodes\": %llu, "
            "\"graph_inputs_dropped\": %llu, \"external_bytes\": %llu}}\n",
            (unsigned long long)t.encoded, (unsigned long long)t.dense, (unsigned long long)t.value,
            (unsigned long long)t.meta, (unsigned long long)t.nnz, 8.0 * ratio(t.meta, t.nnz),
            ratio(t.dense, t.value + t.meta), (unsigned long long)r->input_bytes,
            (unsigned long long)r->model_bytes, (unsigned long long)r->bundle_bytes,
            ratio(r->input_bytes, r->model_bytes + r->bundle_bytes + r->external_bytes),
            (unsigned long long)r->signed_zeros_normalised,
            (unsigned long long)r->skipped_subgraph_nodes, (unsigned long long)r->graph_inputs_dropped,
            (unsigned long long)r->external_bytes);
}
