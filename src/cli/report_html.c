/* stats --html: one self-contained page (inline CSS, images as data URIs, no
 * scripts, a Content-Security-Policy that forbids any fetch): the totals, then per
 * weight a picture of its block occupancy and bars of values vs meta-data for LSC
 * and every classic format. Written to a temporary file, renamed when complete. */
#define _DEFAULT_SOURCE /* mkstemp, fsync */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_png.h"
#include "stats_writers.h"
#include "text.h"

static void esc(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        switch (*p) {
        case '&': fputs("&amp;", out); p++; continue;
        case '<': fputs("&lt;", out); p++; continue;
        case '>': fputs("&gt;", out); p++; continue;
        case '"': fputs("&quot;", out); p++; continue;
        case '\'': fputs("&#39;", out); p++; continue;
        }
        if (*p < 0x20 || *p == 0x7f) {
            fputc('?', out);
            p++;
        } else if (*p < 0x80) {
            fputc(*p++, out);
        } else {
            text_put_utf8(out, &p, "&#xfffd;");
        }
    }
}

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 6px;word-break:break-all}"
    ".sub{color:#666;margin-bottom:16px}"
    ".kpi{display:inline-block;margin:0 28px 12px 0}.kpi b{display:block;font-size:26px}"
    ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:-1px}"
    ".layer{display:flex;gap:24px;border-top:1px solid #ddd;padding:14px 0}"
    ".map{flex:0 0 310px;display:flex;gap:10px;align-items:flex-start}"
    ".map img{image-rendering:pixelated;border:1px solid #999;background:#fff}"
    "figure{margin:0;width:150px}figcaption{color:#666;font-size:12px}"
    ".bars{flex:1;min-width:0}.facts{color:#444;margin-bottom:8px}"
    ".row{display:flex;align-items:center;height:20px}"
    ".lab{flex:0 0 90px;font-size:12px}.bar{flex:1;display:flex;height:14px;background:#f3f3f3}"
    ".v{background:#3b7dd8}.m{background:#e4572e}"
    ".num{flex:0 0 250px;font:12px monospace;text-align:right;white-space:pre}"
    ".lsc .lab{font-weight:bold}"
    "table{border-collapse:collapse;margin:8px 0 16px}td,th{padding:2px 10px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}tr:nth-child(even){background:#f6f6f6}";

static const char v_color[] = "#3b7dd8", m_color[] = "#e4572e";

/* White to dark blue: the share of kept blocks. */
static void palette(uint8_t pal[768])
{
    for (int i = 0; i < 256; i++) {
        pal[3 * i] = (uint8_t)(255 - (255 - 20) * i / 255);
        pal[3 * i + 1] = (uint8_t)(255 - (255 - 50) * i / 255);
        pal[3 * i + 2] = (uint8_t)(255 - (255 - 120) * i / 255);
    }
}

static void bar_row(FILE *out, const char *cls, const char *label, uint64_t value, uint64_t meta,
                    uint64_t scale, uint64_t dense)
{
    double v = scale ? 100.0 * (double)value / (double)scale : 0;
    double m = scale ? 100.0 * (double)meta / (double)scale : 0;
    fprintf(out, "<div class=\"row %s\"><div class=\"lab\">%s</div><div class=\"bar\">"
                 "<div class=\"v\" style=\"width:%.3f%%\"></div><div class=\"m\" style=\"width:%.3f%%\"></div>"
                 "</div><div class=\"num\">%llu + %llu B",
            cls, label, v, m, (unsigned long long)value, (unsigned long long)meta);
    double ratio = stats_ratio(dense, value + meta);
    if (isfinite(ratio))
        fprintf(out, " %8.2fx", ratio);
    fputs("</div></div>\n", out);
}

static void image(FILE *out, const stats_map *map, double w, double h, const char *alt,
                  const uint8_t pal[768])
{
    size_t size;
    uint8_t *png = stats_png_encode(map->cells, map->width, map->height, pal, &size);
    char *uri = png ? stats_data_uri(png, size) : NULL;
    free(png);
    if (uri)
        fprintf(out, "<img alt=\"%s\" width=\"%.0f\" height=\"%.0f\" src=\"%s\">", alt, w, h, uri);
    free(uri);
}

/* The two pictures, shown with the matrix's aspect: long side 144 px, short >= 6 px. */
static void maps(FILE *out, const stats_layer *l, const uint8_t pal[768])
{
    if (!l->map.cells || !l->elements.cells)
        return;
    double rows = (double)l->facts.rows, cols = (double)l->facts.cols;
    double w = 144, h = 144;
    if (rows > cols)
        w = fmax(6.0, 144.0 * cols / rows);
    else
        h = fmax(6.0, 144.0 * rows / cols);
    fputs("<figure>", out);
    image(out, &l->elements, w, h, "non-zeros", pal);
    fprintf(out, "<figcaption>non-zeros, %u&times;%u elements per pixel</figcaption></figure><figure>",
            l->elements.per_cell_h, l->elements.per_cell_w);
    image(out, &l->map, w, h, "LSC blocks kept", pal);
    fprintf(out, "<figcaption>LSC blocks kept: %llu of %llu (%ux%u), %u&times;%u per pixel</figcaption>"
                 "</figure>",
            (unsigned long long)l->lsc.kept_blocks, (unsigned long long)l->lsc.blocks, l->lsc.block_h,
            l->lsc.block_w, l->map.per_cell_h, l->map.per_cell_w);
}

static void layer_section(FILE *out, const stats_layer *l, int entropy, const uint8_t pal[768])
{
    const stats_facts *f = &l->facts;
    fputs("<div class=\"layer\"><div class=\"map\">", out);
    maps(out, l, pal);
    fputs("</div><div class=\"bars\"><h2>", out);
    esc(out, l->name);
    fprintf(out, "</h2><div class=\"facts\">%s, ", l->op);
    for (int i = 0; i < l->rank; i++)
        fprintf(out, "%s%lld", i ? "&times;" : "", (long long)l->dims[i]);
    fprintf(out, " %s; <b>%s</b>", lsc_dtype_string(l->dtype), l->outcome);
    if (!l->analysed) {
        fputs("</div></div></div>\n", out);
        return;
    }
    fprintf(out, "; matrix %llu&times;%llu, %llu non-zeros (%.3f%%), %llu empty rows, %llu empty "
                 "columns; bound %.3f bits/nnz; LSC block %ux%u, %u-bit SRI</div>\n",
            (unsigned long long)f->rows, (unsigned long long)f->cols, (unsigned long long)f->nnz,
            100.0 * (f->elements ? (double)f->nnz / (double)f->elements : 0),
            (unsigned long long)f->zero_rows, (unsigned long long)f->zero_cols,
            f->nnz ? l->bound_bits / (double)f->nnz : 0.0, l->lsc.block_h, l->lsc.block_w,
            l->lsc.index_bits);
    uint64_t scale = l->lsc.blob_bytes;
    for (int k = 0; k < STATS_N_FORMATS; k++)
        if (l->formats[k].applicable && l->formats[k].value_bytes + l->formats[k].meta_bytes > scale)
            scale = l->formats[k].value_bytes + l->formats[k].meta_bytes;
    bar_row(out, "lsc", "LSC", l->lsc.value_bytes, l->lsc.meta_bytes, scale, l->dense_bytes);
    if (entropy) /* never larger than LSC's: compress --entropy keeps the smaller */
        bar_row(out, "lsc", "LSC entropy", l->entropy.value_bytes, l->entropy.bytes - l->entropy.value_bytes,
                scale, l->dense_bytes);
    for (int k = 0; k < STATS_N_FORMATS; k++)
        if (l->formats[k].applicable)
            bar_row(out, "", stats_format_label((stats_format)k), l->formats[k].value_bytes,
                    l->formats[k].meta_bytes, scale, l->dense_bytes);
    fputs("</div></div>\n", out);
}

static void totals_section(FILE *out, const stats_report *r)
{
    const stats_totals *t = &r->totals;
    fprintf(out, "<div class=\"kpi\">compression ratio<b>%.2fx</b></div>", stats_total_ratio(t));
    fprintf(out, "<div class=\"kpi\">LSC meta-data<b>%.3f bits/nnz</b></div>", stats_total_meta_bits(t));
    fprintf(out, "<div class=\"kpi\">entropy bound<b>%.3f bits/nnz</b></div>",
            t->facts_nnz ? t->bound_bits / (double)t->facts_nnz : 0.0);
    fprintf(out, "<div class=\"kpi\">file ratio%s<b>%.2fx</b></div>",
            t->output_measured ? "" : " (estimated)", stats_file_ratio(t));
    fprintf(out, "<div class=\"kpi\">encoded weights<b>%llu of %llu</b></div>\n",
            (unsigned long long)t->encoded_layers, (unsigned long long)t->layers);
    fprintf(out, "<div class=\"legend\">bars:<span style=\"background:%s\"></span>values"
                 "<span style=\"background:%s\"></span>meta-data; numbers: values + meta-data bytes, "
                 "compression ratio. Pictures: where the non-zeros are, and the share of LSC blocks kept (white: none).</div>\n",
            v_color, m_color);
    fputs("<table><tr><th>format (encoded weights)</th><th>values B</th><th>meta B</th><th>bits/nnz</th>"
          "<th>ratio</th></tr>\n",
          out);
    fprintf(out, "<tr><td>LSC</td><td>%llu</td><td>%llu</td><td>%.3f</td><td>%.2fx</td></tr>\n",
            (unsigned long long)t->value_bytes, (unsigned long long)t->meta_bytes,
            stats_total_meta_bits(t), stats_total_ratio(t));
    if (t->entropy && t->encoded_layers) {
        const stats_entropy *e = &t->entropy_tier;
        fprintf(out, "<tr><td>LSC entropy (positions %.3f, values %.3f bits/nnz)</td><td>%llu</td>"
                     "<td>%llu</td><td>%.3f</td><td>%.2fx</td></tr>\n",
                stats_bits_per_nnz(e->position_bytes, t->nnz), stats_bits_per_nnz(e->value_bytes, t->nnz),
                (unsigned long long)e->value_bytes, (unsigned long long)(e->bytes - e->value_bytes),
                stats_bits_per_nnz(e->bytes - e->value_bytes, t->nnz), stats_ratio(t->dense_bytes, e->bytes));
    }
    for (int k = 0; k < STATS_N_FORMATS && t->encoded_layers; k++) {
        const stats_format_size *s = &t->formats[k];
        if (!s->applicable)
            continue;
        fprintf(out, "<tr><td>%s</td><td>%llu</td><td>%llu</td><td>%.3f</td><td>%.2fx</td></tr>\n",
                stats_format_label((stats_format)k), (unsigned long long)s->value_bytes,
                (unsigned long long)s->meta_bytes, stats_bits_per_nnz(s->meta_bytes, t->facts_nnz),
                stats_ratio(t->dense_bytes, s->value_bytes + s->meta_bytes));
    }
    fputs("</table>\n", out);
}

static void page(FILE *out, const stats_report *r)
{
    uint8_t pal[768];
    palette(pal);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'\"><title>onnx-lsc stats: ",
          out);
    esc(out, r->model_path);
    fprintf(out, "</title><style>%s</style></head><body>\n<h1>onnx-lsc stats</h1><div class=\"sub\">", style);
    esc(out, r->model_path);
    fprintf(out, " &middot; %s model &middot; %zu weights &middot; onnx-lsc %s</div>\n",
            r->compressed ? "compressed" : "plain", r->n_layers, lsc_version_string());
    totals_section(out, r);
    for (size_t i = 0; i < r->n_layers; i++)
        layer_section(out, &r->layers[i], r->totals.entropy, pal);
    fputs("</body></html>\n", out);
}

lsc_status stats_write_html(const char *path, const stats_report *r, lsc_error *error)
{
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".tmp-XXXXXX");
    if (!tmp)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        lsc_status st = lsc_error_set(error, LSC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return st;
    }
    mode_t mask = umask(0); /* mkstemp made it 0600: give it the usual mode */
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    FILE *out = fdopen(fd, "w");
    if (!out) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return lsc_error_set(error, LSC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    page(out, r);
    int bad = ferror(out) || fflush(out) != 0 || fsync(fileno(out)) != 0;
    int saved = errno;
    bad |= fclose(out) != 0;
    if (!bad && rename(tmp, path) != 0) {
        saved = errno;
        bad = 1;
    }
    if (bad) {
        unlink(tmp);
        free(tmp);
        return lsc_error_set(error, LSC_ERR_IO, "%s: cannot write: %s", path, strerror(saved));
    }
    free(tmp);
    return LSC_OK;
}
