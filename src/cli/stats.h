/* onnx-lsc stats: the audit of one model, gathered once (stats_collect.c) and
 * written by the report_*.c writers as a table, JSON, CSV or HTML. The meaning of
 * every field is documented in docs/stats-schema.md. */
#ifndef LSC_CLI_STATS_H
#define LSC_CLI_STATS_H

#include <stdio.h>

#include "formats.h"
#include "onnx-lsc/lsc.h"
#include "stats_scan.h"

#define STATS_SCHEMA_VERSION 1

/* Where a layer's LSC numbers come from. */
typedef enum stats_lsc_source {
    STATS_LSC_NONE = 0,  /* not loadable (unsupported type, not a constant...) */
    STATS_LSC_PLAN,      /* what the encoder would choose (lsc_encode_plan) */
    STATS_LSC_BUNDLE     /* read from the compressed model's bundle */
} stats_lsc_source;

/* The LSC encoding of a layer, byte by byte (docs/format.md 1.3). */
typedef struct stats_lsc {
    uint32_t block_h, block_w;
    unsigned index_bits;
    uint64_t nnz;                 /* stored values (includes -0.0 when bit-exact) */
    uint64_t blocks, kept_blocks;
    uint64_t value_entries, jump_entries;
    uint64_t value_bytes;
    uint64_t header_bytes, bitmap_bytes, pointer_bytes, sri_bytes;
    uint64_t meta_bytes, blob_bytes;
} stats_lsc;

typedef struct stats_layer {
    char *name;
    char op[16];
    const char *outcome;          /* lsc outcome name, see stats_outcome_name */
    int encoded;                  /* counts in the encoded totals (the paper's measure) */
    int analysed;                 /* facts, formats and lsc are filled */
    int dtype;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    int transposed;
    stats_lsc_source source;
    stats_facts facts;
    uint64_t dense_bytes;
    stats_lsc lsc;
    stats_format_size formats[STATS_N_FORMATS];
    double bound_bits;            /* log2 C(elements, nnz) */
    stats_map map;                /* LSC blocks kept (HTML) */
    stats_map elements;           /* non-zeros (HTML) */
} stats_layer;

/* Bytes of candidate weights left dense, by reason. */
typedef struct stats_reason {
    const char *name;
    uint64_t layers, dense_bytes;
} stats_reason;

#define STATS_MAX_REASONS 10

typedef struct stats_totals {
    uint64_t layers, encoded_layers;
    uint64_t weight_dense_bytes;  /* every candidate weight */
    /* over encoded layers: the paper's measure and the comparison set of formats */
    uint64_t dense_bytes, elements, value_bytes, meta_bytes;
    uint64_t nnz;                 /* values LSC stores (includes -0.0 when bit-exact) */
    uint64_t facts_nnz;           /* non-zeros (the classic formats' and the bound's count) */
    uint64_t header_bytes, bitmap_bytes, pointer_bytes, sri_bytes;
    double bound_bits;
    stats_format_size formats[STATS_N_FORMATS]; /* applicable: all encoded layers fit */
    uint64_t input_bytes;         /* model file + external data / bundle */
    int compressed_file;          /* the input is a compressed model */
    /* plain input: the files compress would write (estimated unless measured);
     * compressed input: original_bytes estimates the model before compression */
    uint64_t output_bytes, original_bytes;
    int output_measured;          /* 1: output_bytes measured by compressing (--measure-files) */
    uint64_t other_bytes;         /* input bytes that are not candidate weights */
    size_t n_reasons;
    stats_reason reasons[STATS_MAX_REASONS];
} stats_totals;

typedef struct stats_report {
    const char *model_path;
    int compressed;
    size_t n_layers;
    stats_layer *layers;
    stats_totals totals;
} stats_report;

typedef struct stats_options {
    int want_maps;                /* build the sparsity maps (HTML) */
    int measure_files;            /* compress into a temporary folder for the file ratio */
    unsigned threads;             /* for --measure-files */
} stats_options;

lsc_status stats_collect(const char *model_path, const stats_options *options,
                         stats_report *report, lsc_error *error);
void stats_report_free(stats_report *report);

/* Ratios that are 0/0 come back as NAN; writers print them as null / "-". */
double stats_ratio(uint64_t num, uint64_t den);
/* Meta-data bits per non-zero of a total. */
double stats_bits_per_nnz(uint64_t meta_bytes, uint64_t nnz);
/* The paper's measure over the encoded layers (1.0 when none is encoded). */
double stats_total_ratio(const stats_totals *t);
double stats_total_meta_bits(const stats_totals *t);
double stats_file_ratio(const stats_totals *t);

/* "float32", "float16", ...; "other" for types stats does not name. */
const char *stats_dtype_name(int dtype);

/* The writers. Each returns 0, or -1 when writing failed. */
int stats_write_table(FILE *out, const stats_report *report);
int stats_write_json(FILE *out, const stats_report *report);
int stats_write_csv(FILE *out, const stats_report *report);
/* The CI gates (NAN: not given). */
typedef struct stats_gates {
    double min_ratio, max_meta_bits;
} stats_gates;
/* Markdown for a CI run page; says whether each given gate passed. */
int stats_write_markdown(FILE *out, const stats_report *report, const stats_gates *gates);
/* Writes the HTML report to a temporary file beside `path`, renamed when complete. */
lsc_status stats_write_html(const char *path, const stats_report *report, lsc_error *error);

/* A double that reads back exactly (%.15g, else %.17g): deterministic, no loss. */
void stats_print_double(FILE *out, double v);

/* Length of the valid UTF-8 sequence starting at p, a byte >= 0x80 (2..4), or 0 if invalid. */
size_t stats_utf8_len(const unsigned char *p);

/* `name` shortened in the middle to at most `width` bytes ("abc...xyz"), control
 * bytes replaced by '?'; dst holds width + 1 bytes. */
void stats_short_name(char *dst, size_t width, const char *name);

#endif /* LSC_CLI_STATS_H */
