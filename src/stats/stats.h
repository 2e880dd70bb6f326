/* The stats library: the audit of one model, gathered once (stats_collect.c) from
 * the public API alone, for the command's writers (src/cli/report_*.c) and the
 * Python module. The meaning of every field is documented in docs/stats-schema.md. */
#ifndef LSC_STATS_STATS_H
#define LSC_STATS_STATS_H

#include "formats.h"
#include "onnx-lsc/lsc.h"
#include "stats_scan.h"

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

/* What `compress --entropy` would store for a layer (docs/format.md part 4): the
 * entropy blob when it is smaller than the compute blob, else the compute blob. */
typedef struct stats_entropy {
    int coded;                    /* 1: entropy blob stored; 0: the compute blob kept */
    uint64_t bytes;               /* what is stored: header + positions + values */
    uint64_t header_bytes;        /* entropy header + section table, or the blob header */
    uint64_t position_bytes;      /* position section, or bitmap + pointers + SRI */
    uint64_t value_bytes;         /* value planes, or the raw values */
} stats_entropy;

typedef struct stats_layer {
    char *name;
    char op[16];
    const char *outcome;          /* lsc_layer_outcome_string, or "left-dense" */
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
    stats_entropy entropy;        /* filled with stats_options.entropy */
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
    int entropy;                  /* the entropy tier was priced (stats_options.entropy) */
    uint64_t entropy_coded_layers;
    stats_entropy entropy_tier;   /* summed over the encoded layers (coded: unused) */
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
    int entropy;                  /* price the entropy tier too (encodes every layer twice) */
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

#endif /* LSC_STATS_STATS_H */
