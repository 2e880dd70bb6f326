/* stats --csv: one row per layer, header first (RFC 4180 quoting); the columns are
 * the JSON layer keys flattened (docs/stats-schema.md); an empty cell is a null. */
#include <math.h>
#include <string.h>

#include "stats_writers.h"
#include "text.h"

static void cell_str(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void cell_u(FILE *out, uint64_t v)
{
    fprintf(out, ",%llu", (unsigned long long)v);
}

static void cell_d(FILE *out, double v)
{
    fputc(',', out);
    if (isfinite(v))
        text_double(out, v);
}

static void empty(FILE *out, int n)
{
    while (n--)
        fputc(',', out);
}

#define N_LSC_COLUMNS 19
#define N_FORMAT_COLUMNS 6
#define N_ENTROPY_COLUMNS 11

static void header(FILE *out)
{
    fputs("name,op,outcome,encoded,dtype,shape,transposed,dense_bytes,rows,cols,elements,nnz,"
          "density,zero_rows,zero_cols,signed_zeros,bound_bits,bound_bits_per_nnz,"
          "lsc_source,lsc_block_h,lsc_block_w,lsc_index_bits,lsc_blocks,lsc_kept_blocks,"
          "lsc_stored_values,lsc_value_entries,lsc_jump_entries,lsc_header_bytes,lsc_bitmap_bytes,"
          "lsc_block_row_pointer_bytes,lsc_sri_bytes,lsc_value_bytes,lsc_meta_bytes,lsc_total_bytes,"
          "lsc_meta_bits_per_nnz,lsc_ratio,lsc_bound_distance",
          out);
    for (int f = 0; f < STATS_N_FORMATS; f++) {
        const char *k = stats_format_key((stats_format)f);
        fprintf(out, ",%s_index_bits,%s_value_bytes,%s_meta_bytes,%s_total_bytes,%s_meta_bits_per_nnz,%s_ratio",
                k, k, k, k, k, k);
    }
    fputs(",entropy_tier_stored,entropy_tier_header_bytes,entropy_tier_position_bytes,"
          "entropy_tier_index_bits_per_nnz,entropy_tier_value_bits_per_nnz,entropy_tier_value_bytes,"
          "entropy_tier_meta_bytes,entropy_tier_total_bytes,entropy_tier_meta_bits_per_nnz,"
          "entropy_tier_ratio,entropy_tier_bound_distance\n",
          out);
}

static double distance(uint64_t meta, double bound)
{
    return bound > 0 ? 8.0 * (double)meta / bound : NAN;
}

/* The entropy tier's cells, as the JSON layer's "entropy_tier" keys. */
static void entropy_cells(FILE *out, const stats_layer *l)
{
    const stats_entropy *e = &l->entropy;
    uint64_t nnz = l->lsc.nnz, meta = e->bytes - e->value_bytes;
    fputs(e->coded ? ",entropy" : ",compute", out);
    cell_u(out, e->header_bytes);
    cell_u(out, e->position_bytes);
    cell_d(out, stats_bits_per_nnz(e->position_bytes, nnz));
    cell_d(out, stats_bits_per_nnz(e->value_bytes, nnz));
    cell_u(out, e->value_bytes);
    cell_u(out, meta);
    cell_u(out, e->bytes);
    cell_d(out, stats_bits_per_nnz(meta, nnz));
    cell_d(out, stats_ratio(l->dense_bytes, e->bytes));
    cell_d(out, distance(meta, l->bound_bits));
}

static void row(FILE *out, const stats_layer *l, int entropy)
{
    const stats_facts *f = &l->facts;
    const stats_lsc *s = &l->lsc;
    cell_str(out, l->name);
    fputc(',', out);
    cell_str(out, l->op);
    fputc(',', out);
    cell_str(out, l->outcome);
    fprintf(out, ",%d,%s,", l->encoded, lsc_dtype_string(l->dtype));
    for (int i = 0; i < l->rank; i++)
        fprintf(out, "%s%lld", i ? "x" : "", (long long)l->dims[i]);
    fprintf(out, ",%d", l->transposed);
    cell_u(out, l->dense_bytes);
    if (!l->analysed) {
        empty(out, 10 + N_LSC_COLUMNS + N_FORMAT_COLUMNS * STATS_N_FORMATS + N_ENTROPY_COLUMNS);
        fputc('\n', out);
        return;
    }
    cell_u(out, f->rows);
    cell_u(out, f->cols);
    cell_u(out, f->elements);
    cell_u(out, f->nnz);
    cell_d(out, stats_ratio(f->nnz, f->elements));
    cell_u(out, f->zero_rows);
    cell_u(out, f->zero_cols);
    cell_u(out, f->signed_zeros);
    cell_d(out, l->bound_bits);
    cell_d(out, f->nnz ? l->bound_bits / (double)f->nnz : NAN);
    fputs(l->source == STATS_LSC_BUNDLE ? ",bundle" : ",plan", out);
    cell_u(out, s->block_h);
    cell_u(out, s->block_w);
    cell_u(out, s->index_bits);
    cell_u(out, s->blocks);
    cell_u(out, s->kept_blocks);
    cell_u(out, s->nnz);
    cell_u(out, s->value_entries);
    cell_u(out, s->jump_entries);
    cell_u(out, s->header_bytes);
    cell_u(out, s->bitmap_bytes);
    cell_u(out, s->pointer_bytes);
    cell_u(out, s->sri_bytes);
    cell_u(out, s->value_bytes);
    cell_u(out, s->meta_bytes);
    cell_u(out, s->blob_bytes);
    cell_d(out, stats_bits_per_nnz(s->meta_bytes, s->nnz));
    cell_d(out, stats_ratio(l->dense_bytes, s->blob_bytes));
    cell_d(out, distance(s->meta_bytes, l->bound_bits));
    for (int k = 0; k < STATS_N_FORMATS; k++) {
        const stats_format_size *z = &l->formats[k];
        if (!z->applicable) {
            empty(out, N_FORMAT_COLUMNS);
            continue;
        }
        if (k >= STATS_FMT_RI_DC)
            cell_u(out, z->index_bits);
        else
            fputc(',', out);
        cell_u(out, z->value_bytes);
        cell_u(out, z->meta_bytes);
        cell_u(out, z->value_bytes + z->meta_bytes);
        cell_d(out, stats_bits_per_nnz(z->meta_bytes, f->nnz));
        cell_d(out, stats_ratio(l->dense_bytes, z->value_bytes + z->meta_bytes));
    }
    if (entropy)
        entropy_cells(out, l);
    else
        empty(out, N_ENTROPY_COLUMNS);
    fputc('\n', out);
}

int stats_write_csv(FILE *out, const stats_report *r)
{
    header(out);
    for (size_t i = 0; i < r->n_layers; i++)
        row(out, &r->layers[i], r->totals.entropy);
    return ferror(out) ? -1 : 0;
}
