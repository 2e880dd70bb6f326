/* stats --json: schema "onnx-lsc-stats" version 1 (docs/stats-schema.md). Keys are
 * written in one fixed order, absent facts as null, so the same model always gives
 * the same bytes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats_writers.h"
#include "text.h"


static void ju(FILE *out, const char *key, uint64_t v)
{
    fprintf(out, "\"%s\": %llu", key, (unsigned long long)v);
}

static void jd(FILE *out, const char *key, double v)
{
    fprintf(out, "\"%s\": ", key);
    text_json_number(out, v);
}

/* A size's common keys: bytes, bits per non-zero, ratio, distance from the bound. */
static void size_keys(FILE *out, uint64_t value, uint64_t meta, uint64_t nnz, uint64_t dense,
                      double bound_bits)
{
    ju(out, "value_bytes", value);
    fputs(", ", out);
    ju(out, "meta_bytes", meta);
    fputs(", ", out);
    ju(out, "total_bytes", value + meta);
    fputs(", ", out);
    jd(out, "meta_bits_per_nnz", stats_bits_per_nnz(meta, nnz));
    fputs(", ", out);
    jd(out, "ratio", stats_ratio(dense, value + meta));
    fputs(", ", out);
    jd(out, "bound_distance", bound_bits > 0 ? 8.0 * (double)meta / bound_bits : NAN);
}

static void formats_object(FILE *out, const stats_format_size *sizes, uint64_t nnz, uint64_t dense,
                           double bound_bits, const char *indent)
{
    fputs("{", out);
    for (int f = 0; f < STATS_N_FORMATS; f++) {
        const stats_format_size *s = &sizes[f];
        fprintf(out, "%s\n%s  \"%s\": ", f ? "," : "", indent, stats_format_key((stats_format)f));
        if (!s->applicable) {
            fputs("null", out);
            continue;
        }
        fputs("{", out);
        if (f >= STATS_FMT_RI_DC)
            fprintf(out, "\"index_bits\": %u, ", s->index_bits);
        size_keys(out, s->value_bytes, s->meta_bytes, nnz, dense, bound_bits);
        fputs("}", out);
    }
    fprintf(out, "\n%s}", indent);
}

static void lsc_object(FILE *out, const stats_layer *l)
{
    const stats_lsc *s = &l->lsc;
    fputs("{\"source\": ", out);
    text_json_string(out, l->source == STATS_LSC_BUNDLE ? "bundle" : "plan");
    fprintf(out, ", \"block_h\": %u, \"block_w\": %u, \"index_bits\": %u, ", s->block_h, s->block_w,
            s->index_bits);
    ju(out, "blocks", s->blocks);
    fputs(", ", out);
    ju(out, "kept_blocks", s->kept_blocks);
    fputs(", ", out);
    ju(out, "stored_values", s->nnz);
    fputs(", ", out);
    ju(out, "value_entries", s->value_entries);
    fputs(", ", out);
    ju(out, "jump_entries", s->jump_entries);
    fputs(",\n      \"meta\": {", out);
    ju(out, "header", s->header_bytes);
    fputs(", ", out);
    ju(out, "bitmap", s->bitmap_bytes);
    fputs(", ", out);
    ju(out, "block_row_pointers", s->pointer_bytes);
    fputs(", ", out);
    ju(out, "sri", s->sri_bytes);
    fputs(", ", out);
    ju(out, "sri_value_entry_bits", s->value_entries * s->index_bits);
    fputs(", ", out);
    ju(out, "sri_jump_entry_bits", s->jump_entries * s->index_bits);
    fputs("},\n      ", out);
    size_keys(out, s->value_bytes, s->meta_bytes, s->nnz, l->dense_bytes, l->bound_bits);
    fputs("}", out);
}

/* What compress --entropy stores (null without --entropy); meta = header + positions. */
static void entropy_keys(FILE *out, const stats_entropy *e, uint64_t nnz, uint64_t dense, double bound_bits)
{
    ju(out, "header_bytes", e->header_bytes);
    fputs(", ", out);
    ju(out, "position_bytes", e->position_bytes);
    fputs(", ", out);
    jd(out, "index_bits_per_nnz", stats_bits_per_nnz(e->position_bytes, nnz));
    fputs(", ", out);
    jd(out, "value_bits_per_nnz", stats_bits_per_nnz(e->value_bytes, nnz));
    fputs(", ", out);
    size_keys(out, e->value_bytes, e->bytes - e->value_bytes, nnz, dense, bound_bits);
    fputs("}", out);
}

static void layer_object(FILE *out, const stats_layer *l, int r_entropy)
{
    const stats_facts *f = &l->facts;
    fputs("    {\"name\": ", out);
    text_json_string(out, l->name);
    fputs(", \"op\": ", out);
    text_json_string(out, l->op);
    fputs(", \"outcome\": ", out);
    text_json_string(out, l->outcome);
    fprintf(out, ", \"encoded\": %s, \"dtype\": ", l->encoded ? "true" : "false");
    text_json_string(out, lsc_dtype_string(l->dtype));
    fputs(", \"shape\": [", out);
    for (int i = 0; i < l->rank; i++)
        fprintf(out, "%s%lld", i ? ", " : "", (long long)l->dims[i]);
    fprintf(out, "], \"transposed\": %s, ", l->transposed ? "true" : "false");
    ju(out, "dense_bytes", l->dense_bytes);
    if (!l->analysed) {
        fputs(", \"rows\": null, \"cols\": null, \"elements\": null, \"nnz\": null, \"density\": null, "
              "\"zero_rows\": null, \"zero_cols\": null, \"signed_zeros\": null, "
              "\"entropy_bound\": null, \"lsc\": null, \"formats\": null, \"entropy_tier\": null}",
              out);
        return;
    }
    fputs(",\n      ", out);
    ju(out, "rows", f->rows);
    fputs(", ", out);
    ju(out, "cols", f->cols);
    fputs(", ", out);
    ju(out, "elements", f->elements);
    fputs(", ", out);
    ju(out, "nnz", f->nnz);
    fputs(", ", out);
    jd(out, "density", stats_ratio(f->nnz, f->elements));
    fputs(", ", out);
    ju(out, "zero_rows", f->zero_rows);
    fputs(", ", out);
    ju(out, "zero_cols", f->zero_cols);
    fputs(", ", out);
    ju(out, "signed_zeros", f->signed_zeros);
    fputs(",\n      \"entropy_bound\": {", out);
    jd(out, "bits", l->bound_bits);
    fputs(", ", out);
    jd(out, "bits_per_nnz", f->nnz ? l->bound_bits / (double)f->nnz : NAN);
    fputs("},\n      \"lsc\": ", out);
    lsc_object(out, l);
    fputs(",\n      \"formats\": ", out);
    formats_object(out, l->formats, f->nnz, l->dense_bytes, l->bound_bits, "      ");
    fputs(",\n      \"entropy_tier\": ", out);
    if (r_entropy) {
        fputs("{\"stored\": ", out);
        text_json_string(out, l->entropy.coded ? "entropy" : "compute");
        fputs(", ", out);
        entropy_keys(out, &l->entropy, l->lsc.nnz, l->dense_bytes, l->bound_bits);
    } else {
        fputs("null", out);
    }
    fputs("}", out);
}

static void totals_object(FILE *out, const stats_report *r)
{
    const stats_totals *t = &r->totals;
    fputs("  \"totals\": {", out);
    ju(out, "layers", t->layers);
    fputs(", ", out);
    ju(out, "encoded_layers", t->encoded_layers);
    fputs(", ", out);
    ju(out, "weight_dense_bytes", t->weight_dense_bytes);
    fputs(",\n    \"encoded\": {", out);
    ju(out, "dense_bytes", t->dense_bytes);
    fputs(", ", out);
    ju(out, "elements", t->elements);
    fputs(", ", out);
    ju(out, "nnz", t->facts_nnz);
    fputs(", ", out);
    ju(out, "stored_values", t->nnz);
    fputs(",\n      \"meta\": {", out);
    ju(out, "header", t->header_bytes);
    fputs(", ", out);
    ju(out, "bitmap", t->bitmap_bytes);
    fputs(", ", out);
    ju(out, "block_row_pointers", t->pointer_bytes);
    fputs(", ", out);
    ju(out, "sri", t->sri_bytes);
    fputs("},\n      ", out);
    ju(out, "value_bytes", t->value_bytes);
    fputs(", ", out);
    ju(out, "meta_bytes", t->meta_bytes);
    fputs(", ", out);
    ju(out, "total_bytes", t->value_bytes + t->meta_bytes);
    fputs(", ", out);
    jd(out, "meta_bits_per_nnz", stats_total_meta_bits(t));
    fputs(", ", out);
    jd(out, "ratio", stats_total_ratio(t));
    fputs(",\n      \"entropy_bound\": {", out);
    jd(out, "bits", t->bound_bits);
    fputs(", ", out);
    jd(out, "bits_per_nnz", t->facts_nnz ? t->bound_bits / (double)t->facts_nnz : NAN);
    fputs("}, ", out);
    jd(out, "bound_distance", t->bound_bits > 0 ? 8.0 * (double)t->meta_bytes / t->bound_bits : NAN);
    fputs(",\n      \"formats\": ", out);
    formats_object(out, t->formats, t->facts_nnz, t->dense_bytes, t->bound_bits, "      ");
    fputs(",\n      \"entropy_tier\": ", out);
    if (t->entropy) {
        fputs("{", out);
        ju(out, "entropy_coded_layers", t->entropy_coded_layers);
        fputs(", ", out);
        entropy_keys(out, &t->entropy_tier, t->nnz, t->dense_bytes, t->bound_bits);
    } else {
        fputs("null", out);
    }
    fputs("},\n    \"files\": {", out);
    ju(out, "input_bytes", t->input_bytes);
    fputs(", \"original_bytes\": ", out);
    fprintf(out, "%llu", (unsigned long long)(t->compressed_file ? t->original_bytes : t->input_bytes));
    fputs(", \"compressed_bytes\": ", out);
    fprintf(out, "%llu", (unsigned long long)(t->compressed_file ? t->input_bytes : t->output_bytes));
    fputs(", \"estimated\": ", out);
    text_json_string(out, t->compressed_file ? "original_bytes" : t->output_measured ? "none" : "compressed_bytes");
    fputs(", ", out);
    jd(out, "file_ratio", stats_file_ratio(t));
    fputs("},\n    \"not_encoded\": [", out);
    for (size_t i = 0; i < t->n_reasons; i++) {
        fputs(i ? ",\n      {\"reason\": " : "\n      {\"reason\": ", out);
        text_json_string(out, t->reasons[i].name);
        fputs(", ", out);
        ju(out, "layers", t->reasons[i].layers);
        fputs(", ", out);
        ju(out, "bytes", t->reasons[i].dense_bytes);
        fputs(", ", out);
        jd(out, "share", stats_ratio(t->reasons[i].dense_bytes, t->input_bytes));
        fputs("}", out);
    }
    fputs(t->n_reasons ? ",\n      {\"reason\": \"not-a-weight\", " : "\n      {\"reason\": \"not-a-weight\", ",
          out);
    fputs("\"layers\": null, ", out);
    ju(out, "bytes", t->other_bytes);
    fputs(", ", out);
    jd(out, "share", stats_ratio(t->other_bytes, t->input_bytes));
    fputs("}\n    ]}\n", out);
}

int stats_write_json(FILE *out, const stats_report *r)
{
    fprintf(out, "{\"schema\": \"onnx-lsc-stats\", \"schema_version\": %d, \"onnx_lsc_version\": ",
            STATS_SCHEMA_VERSION);
    text_json_string(out, lsc_version_string());
    fputs(",\n  \"model\": ", out);
    text_json_string(out, r->model_path);
    fprintf(out, ", \"compressed\": %s,\n  \"layers\": [", r->compressed ? "true" : "false");
    for (size_t i = 0; i < r->n_layers; i++) {
        fputs(i ? ",\n" : "\n", out);
        layer_object(out, &r->layers[i], r->totals.entropy);
    }
    fputs(r->n_layers ? "\n  ],\n" : "],\n", out);
    totals_object(out, r);
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}
