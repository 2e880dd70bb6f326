/* stats --markdown: one GitHub-flavoured Markdown section for a CI run page
 * ($GITHUB_STEP_SUMMARY and the like): the model, a per-weight table (density, LSC
 * ratio, meta-data bits per non-zero against the bound and the best classic format),
 * the totals and, when gates were given, whether each passed. */
#include <math.h>
#include <string.h>

#include "stats_writers.h"
#include "text.h"

/* A weight name as Markdown text in a table cell: pipes and markup escaped, control
 * bytes as '?', long names cut in the middle. */
static void md_text(FILE *out, const char *name)
{
    char buf[61];
    text_short_name(buf, sizeof buf - 1, name);
    for (const char *p = buf; *p; p++) {
        if (strchr("\\`*_[]<>|#", *p))
            fputc('\\', out);
        fputc(*p, out);
    }
}

static void md_num(FILE *out, const char *fmt, double v)
{
    if (isfinite(v))
        fprintf(out, fmt, v);
    else
        fputc('-', out);
}

/* The classic format with the fewest meta-data bytes for this layer, as "label b/nz". */
static void best_classic(FILE *out, const stats_format_size *sizes, uint64_t nnz)
{
    int best = -1;
    for (int f = 0; f < STATS_N_FORMATS; f++)
        if (sizes[f].applicable && (best < 0 || sizes[f].meta_bytes < sizes[best].meta_bytes))
            best = f;
    if (best < 0 || !nnz) {
        fputc('-', out);
        return;
    }
    fprintf(out, "%s %.2f", stats_format_label((stats_format)best),
            stats_bits_per_nnz(sizes[best].meta_bytes, nnz));
}

static void md_size(FILE *out, uint64_t bytes)
{
    if (bytes >= 1000u * 1000)
        fprintf(out, "%.2f MB", (double)bytes / 1e6);
    else if (bytes >= 10u * 1000)
        fprintf(out, "%.1f kB", (double)bytes / 1e3);
    else
        fprintf(out, "%llu B", (unsigned long long)bytes);
}

/* What compress --entropy stores, as a cell: "12.91x, 4.59 + 24.71". */
static void md_entropy(FILE *out, const stats_entropy *e, uint64_t dense, uint64_t nnz)
{
    md_num(out, "%.2fx", stats_ratio(dense, e->bytes));
    md_num(out, ", %.2f", stats_bits_per_nnz(e->position_bytes, nnz));
    md_num(out, " + %.2f", stats_bits_per_nnz(e->value_bytes, nnz));
}

int stats_write_markdown(FILE *out, const stats_report *r, const stats_gates *gates)
{
    const stats_totals *t = &r->totals;
    fputs("### onnx-lsc stats: ", out);
    md_text(out, r->model_path);
    fprintf(out, " (%s)\n\n", r->compressed ? "compressed" : "plain");
    int entropy = t->entropy;
    fprintf(out, "| weight | op | density | LSC ratio | meta-data bits/nnz | bound | best classic format, bits/nnz "
                 "|%s outcome |\n| --- | --- | ---: | ---: | ---: | ---: | --- |%s --- |\n",
            entropy ? " entropy tier: ratio, positions + values bits/nnz |" : "", entropy ? " ---: |" : "");
    for (size_t i = 0; i < r->n_layers; i++) {
        const stats_layer *l = &r->layers[i];
        fputs("| ", out);
        md_text(out, l->name);
        fprintf(out, " | %s | ", l->op);
        if (l->analysed) {
            md_num(out, "%.2f%%", 100.0 * stats_ratio(l->facts.nnz, l->facts.elements));
            fputs(" | ", out);
            md_num(out, "%.2fx", stats_ratio(l->dense_bytes, l->lsc.blob_bytes));
            fputs(" | ", out);
            md_num(out, "%.2f", stats_bits_per_nnz(l->lsc.meta_bytes, l->lsc.nnz));
            fputs(" | ", out);
            md_num(out, "%.2f", l->facts.nnz ? l->bound_bits / (double)l->facts.nnz : NAN);
            fputs(" | ", out);
            best_classic(out, l->formats, l->facts.nnz);
            if (entropy) {
                fputs(" | ", out);
                md_entropy(out, &l->entropy, l->dense_bytes, l->lsc.nnz);
            }
        } else {
            fputs(entropy ? "- | - | - | - | - | -" : "- | - | - | - | -", out);
        }
        fprintf(out, " | %s |\n", l->outcome);
    }
    fprintf(out, "| **total** (%llu of %llu encoded) | | ", (unsigned long long)t->encoded_layers,
            (unsigned long long)t->layers);
    md_num(out, "%.2f%%", 100.0 * stats_ratio(t->facts_nnz, t->elements));
    fputs(" | **", out);
    md_num(out, "%.2fx", stats_total_ratio(t));
    fputs("** | **", out);
    md_num(out, "%.2f", stats_total_meta_bits(t));
    fputs("** | ", out);
    md_num(out, "%.2f", t->facts_nnz ? t->bound_bits / (double)t->facts_nnz : NAN);
    fputs(" | ", out);
    if (t->encoded_layers)
        best_classic(out, t->formats, t->facts_nnz);
    else
        fputc('-', out);
    if (entropy) {
        fputs(" | **", out);
        md_entropy(out, &t->entropy_tier, t->encoded_layers ? t->dense_bytes : 0, t->nnz);
        fputs("**", out);
    }
    fputs(" | |\n\n", out);

    uint64_t orig = t->compressed_file ? t->original_bytes : t->input_bytes;
    uint64_t comp = t->compressed_file ? t->input_bytes : t->output_bytes;
    fputs("Files: ", out);
    md_size(out, orig);
    fputs(" → ", out);
    md_size(out, comp);
    fprintf(out, ", file ratio %.2fx%s.\n", stats_file_ratio(t),
            t->compressed_file || !t->output_measured ? " (estimated)" : "");
    if (gates && (!isnan(gates->min_ratio) || !isnan(gates->max_meta_bits))) {
        fputs("Gates:", out);
        if (!isnan(gates->min_ratio))
            fprintf(out, " ratio ≥ %g **%s**", gates->min_ratio,
                    stats_total_ratio(t) >= gates->min_ratio ? "passed" : "FAILED");
        if (!isnan(gates->max_meta_bits))
            fprintf(out, "%s meta-data bits/nnz ≤ %g **%s**", isnan(gates->min_ratio) ? "" : ";",
                    gates->max_meta_bits, stats_total_meta_bits(t) <= gates->max_meta_bits ? "passed" : "FAILED");
        fputs(".\n", out);
    }
    return ferror(out) ? -1 : 0;
}
