/* stats (default): four aligned tables that fit 120 columns: the layers' sparsity,
 * LSC byte by byte, meta-data bits per non-zero of every format, and the totals. */
#include <math.h>
#include <string.h>

#include "stats_writers.h"
#include "text.h"

#define NAME_W 22

static void name_cell(FILE *out, const char *name)
{
    char buf[NAME_W + 1];
    text_short_name(buf, NAME_W, name);
    fprintf(out, "%-*s", NAME_W, buf);
}

static void shape_text(char *buf, size_t size, const int64_t *dims, int rank)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "x" : "", (long long)dims[i]);
    if (rank == 0)
        snprintf(buf, size, "scalar");
}

static void sparsity_table(FILE *out, const stats_report *r)
{
    fprintf(out, "%-*s %-13s %-11s %-11s %-5s %10s %8s %6s %6s %7s %s\n", NAME_W, "weight", "op",
            "shape", "matrix", "dtype", "nnz", "density", "0-rows", "0-cols", "bound", "outcome");
    for (size_t i = 0; i < r->n_layers; i++) {
        const stats_layer *l = &r->layers[i];
        const stats_facts *f = &l->facts;
        char shape[64], matrix[48];
        shape_text(shape, sizeof shape, l->dims, l->rank);
        name_cell(out, l->name);
        fprintf(out, " %-13.13s %-11.11s", l->op, shape); /* QLinearMatMul, MatMulInteger: 13 */
        if (!l->analysed) {
            fprintf(out, " %-11s %-5.5s %10s %8s %6s %6s %7s %s\n", "-", text_dtype_short(l->dtype),
                    "-", "-", "-", "-", "-", l->outcome);
            continue;
        }
        snprintf(matrix, sizeof matrix, "%llux%llu", (unsigned long long)f->rows,
                 (unsigned long long)f->cols);
        fprintf(out, " %-11.11s %-5.5s %10llu", matrix, text_dtype_short(l->dtype),
                (unsigned long long)f->nnz);
        text_cell(out, 8, 3, 100.0 * stats_ratio(f->nnz, f->elements), "%");
        fprintf(out, " %6llu %6llu", (unsigned long long)f->zero_rows, (unsigned long long)f->zero_cols);
        text_cell(out, 7, 3, f->nnz ? l->bound_bits / (double)f->nnz : NAN, "");
        fprintf(out, " %s\n", l->outcome);
    }
}

static void lsc_table(FILE *out, const stats_report *r)
{
    fprintf(out, "\nLSC (block layer + signed relative index), bytes; b/nz = meta-data bits per value\n");
    fprintf(out, "%-*s %7s %4s %7s %11s %10s %5s %9s %8s %10s %6s %8s\n", NAME_W, "weight", "block",
            "bits", "kept", "values", "meta", "hdr", "bitmap", "rowptr", "sri", "b/nz", "ratio");
    int starred = 0;
    for (size_t i = 0; i < r->n_layers; i++) {
        const stats_layer *l = &r->layers[i];
        if (!l->analysed)
            continue;
        const stats_lsc *s = &l->lsc;
        char block[24];
        snprintf(block, sizeof block, "%ux%u", s->block_h, s->block_w);
        name_cell(out, l->name);
        fprintf(out, " %7s %4u", block, s->index_bits);
        text_cell(out, 7, 1, 100.0 * stats_ratio(s->kept_blocks, s->blocks), "%");
        fprintf(out, " %11llu %10llu %5llu %9llu %8llu %10llu", (unsigned long long)s->value_bytes,
                (unsigned long long)s->meta_bytes, (unsigned long long)s->header_bytes,
                (unsigned long long)s->bitmap_bytes, (unsigned long long)s->pointer_bytes,
                (unsigned long long)s->sri_bytes);
        text_cell(out, 6, 2, stats_bits_per_nnz(s->meta_bytes, s->nnz), "");
        text_cell(out, 7, 2, stats_ratio(l->dense_bytes, s->blob_bytes), "x");
        fputs(l->encoded ? "\n" : "*\n", out);
        starred |= !l->encoded;
    }
    if (starred)
        fputs("(* not encoded: see outcome)\n", out);
}

static void formats_table(FILE *out, const stats_report *r)
{
    int entropy = r->totals.entropy;
    fprintf(out, "\nmeta-data bits per non-zero, by format (bound: log2 C(n,k) / k%s)\n",
            entropy ? "; entropy: compress --entropy" : "");
    fprintf(out, "%-*s %7s", NAME_W, "weight", "LSC");
    if (entropy)
        fprintf(out, " %7s", "entropy");
    for (int f = 0; f < STATS_N_FORMATS; f++)
        fprintf(out, " %*s", f == STATS_FMT_RI_BEST ? 10 : 7, stats_format_label((stats_format)f));
    fprintf(out, " %7s\n", "bound");
    for (size_t i = 0; i < r->n_layers; i++) {
        const stats_layer *l = &r->layers[i];
        if (!l->analysed)
            continue;
        name_cell(out, l->name);
        text_cell(out, 7, 2, stats_bits_per_nnz(l->lsc.meta_bytes, l->lsc.nnz), "");
        if (entropy)
            text_cell(out, 7, 2, stats_bits_per_nnz(l->entropy.bytes - l->entropy.value_bytes, l->lsc.nnz), "");
        for (int f = 0; f < STATS_N_FORMATS; f++) {
            const stats_format_size *s = &l->formats[f];
            double bits = s->applicable ? stats_bits_per_nnz(s->meta_bytes, l->facts.nnz) : NAN;
            if (f == STATS_FMT_RI_BEST) {
                char buf[40];
                if (isfinite(bits))
                    snprintf(buf, sizeof buf, "%.2f@%ub", bits, s->index_bits);
                else
                    snprintf(buf, sizeof buf, "-");
                fprintf(out, " %10s", buf);
            } else {
                text_cell(out, 7, 2, bits, "");
            }
        }
        text_cell(out, 7, 2, l->facts.nnz ? l->bound_bits / (double)l->facts.nnz : NAN, "");
        fputc('\n', out);
    }
}

/* The entropy tier's row of the totals (meta-data: headers and positions) and where
 * its bits go, against the LSC row above it. */
static void entropy_rows(FILE *out, const stats_totals *t)
{
    const stats_entropy *e = &t->entropy_tier;
    uint64_t meta = e->bytes - e->value_bytes;
    fprintf(out, "  %-12s %12llu %12llu %12llu", "LSC entropy", (unsigned long long)e->value_bytes,
            (unsigned long long)meta, (unsigned long long)e->bytes);
    text_cell(out, 8, 3, stats_bits_per_nnz(meta, t->nnz), "");
    text_cell(out, 8, 2, t->encoded_layers ? stats_ratio(t->dense_bytes, e->bytes) : NAN, "x");
    text_cell(out, 8, 2, t->bound_bits > 0 ? 8.0 * (double)meta / t->bound_bits : NAN, "");
    fprintf(out, "\n  %-12s positions %.3f b/nz, values %.3f b/nz, headers %llu B; %llu of %llu "
                 "weights entropy-coded\n",
            "", stats_bits_per_nnz(e->position_bytes, t->nnz), stats_bits_per_nnz(e->value_bytes, t->nnz),
            (unsigned long long)e->header_bytes, (unsigned long long)t->entropy_coded_layers,
            (unsigned long long)t->encoded_layers);
}

static void totals_table(FILE *out, const stats_report *r)
{
    const stats_totals *t = &r->totals;
    fprintf(out, "\ntotals over the %llu encoded weights (of %llu): dense %llu B\n",
            (unsigned long long)t->encoded_layers, (unsigned long long)t->layers,
            (unsigned long long)t->dense_bytes);
    fprintf(out, "  %-12s %12s %12s %12s %8s %9s %8s\n", "format", "values B", "meta B", "total B",
            "b/nz", "ratio", "x bound");
    double bound = t->bound_bits;
    fprintf(out, "  %-12s %12llu %12llu %12llu", "LSC", (unsigned long long)t->value_bytes,
            (unsigned long long)t->meta_bytes, (unsigned long long)(t->value_bytes + t->meta_bytes));
    text_cell(out, 8, 3, stats_total_meta_bits(t), "");
    text_cell(out, 8, 2, stats_total_ratio(t), "x");
    text_cell(out, 8, 2, bound > 0 ? 8.0 * (double)t->meta_bytes / bound : NAN, "");
    fputc('\n', out);
    if (t->entropy)
        entropy_rows(out, t);
    for (int f = 0; f < STATS_N_FORMATS; f++) {
        const stats_format_size *s = &t->formats[f];
        fprintf(out, "  %-12s", stats_format_label((stats_format)f));
        if (!s->applicable || !t->encoded_layers) {
            fprintf(out, " %12s\n", "-");
            continue;
        }
        fprintf(out, " %12llu %12llu %12llu", (unsigned long long)s->value_bytes,
                (unsigned long long)s->meta_bytes, (unsigned long long)(s->value_bytes + s->meta_bytes));
        text_cell(out, 8, 3, stats_bits_per_nnz(s->meta_bytes, t->facts_nnz), "");
        text_cell(out, 8, 2, stats_ratio(t->dense_bytes, s->value_bytes + s->meta_bytes), "x");
        text_cell(out, 8, 2, bound > 0 ? 8.0 * (double)s->meta_bytes / bound : NAN, "");
        fputc('\n', out);
    }
    fprintf(out, "  %-12s %12s", "bound", "");
    text_cell(out, 12, 0, bound / 8.0, "");
    fprintf(out, " %12s", "");
    text_cell(out, 8, 3, t->facts_nnz ? bound / (double)t->facts_nnz : NAN, "");
    fputc('\n', out);
    fprintf(out, "  LSC meta-data: headers %llu B, block bitmaps %llu B, block-row pointers %llu B, "
                 "SRI entries %llu B\n",
            (unsigned long long)t->header_bytes, (unsigned long long)t->bitmap_bytes,
            (unsigned long long)t->pointer_bytes, (unsigned long long)t->sri_bytes);

    uint64_t orig = t->compressed_file ? t->original_bytes : t->input_bytes;
    uint64_t comp = t->compressed_file ? t->input_bytes : t->output_bytes;
    fprintf(out, "files: %llu B%s -> %llu B%s: file ratio %.2fx\n", (unsigned long long)orig,
            t->compressed_file ? " (estimated)" : "", (unsigned long long)comp,
            !t->compressed_file && !t->output_measured ? " (estimated; --measure-files to measure)" : "",
            stats_file_ratio(t));
    fputs("not encoded (bytes, share of the input):\n", out);
    for (size_t i = 0; i < t->n_reasons; i++)
        fprintf(out, "  %-18s %12llu B %6.1f%%  in %llu weight(s)\n", t->reasons[i].name,
                (unsigned long long)t->reasons[i].dense_bytes,
                100.0 * stats_ratio(t->reasons[i].dense_bytes, t->input_bytes),
                (unsigned long long)t->reasons[i].layers);
    fprintf(out, "  %-18s %12llu B %6.1f%%  (biases, other tensors, the graph)\n", "not-a-weight",
            (unsigned long long)t->other_bytes, 100.0 * stats_ratio(t->other_bytes, t->input_bytes));
}

int stats_write_table(FILE *out, const stats_report *r)
{
    fprintf(out, "%s: %s model, %zu weights\n\n", r->model_path,
            r->compressed ? "compressed" : "plain", r->n_layers);
    sparsity_table(out, r);
    lsc_table(out, r);
    formats_table(out, r);
    totals_table(out, r);
    return ferror(out) ? -1 : 0;
}
