/* Printing a compress report: the per-layer table for people, JSON for machines. */
#ifndef LSC_CLI_COMPRESS_REPORT_H
#define LSC_CLI_COMPRESS_REPORT_H

#include <stdio.h>

#include "onnx-lsc/lsc.h"

/* log2 C(n, k) / k: the entropy bound of a layer's positions in bits per non-zero. */
double lsc_cli_entropy_bound(uint64_t n, uint64_t k);
const char *lsc_cli_outcome_name(lsc_layer_outcome outcome);
const char *lsc_cli_dtype_name(int dtype);

void lsc_cli_print_table(FILE *out, const lsc_compress_report *report);
void lsc_cli_print_json(FILE *out, const lsc_compress_report *report, const char *model_path,
                        const char *bundle_path);

#endif /* LSC_CLI_COMPRESS_REPORT_H */
