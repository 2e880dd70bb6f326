/* The stats writers: the audit of src/stats as a table, JSON, CSV, Markdown or HTML
 * (docs/stats-schema.md). */
#ifndef LSC_CLI_STATS_WRITERS_H
#define LSC_CLI_STATS_WRITERS_H

#include <stdio.h>

#include "stats.h"

#define STATS_SCHEMA_VERSION 1

/* Each returns 0, or -1 when writing failed. */
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

#endif /* LSC_CLI_STATS_WRITERS_H */
