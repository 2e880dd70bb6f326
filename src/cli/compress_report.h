/* Printing a compress report: the per-layer table for people, JSON for machines. */
#ifndef LSC_CLI_COMPRESS_REPORT_H
#define LSC_CLI_COMPRESS_REPORT_H

#include <stdio.h>

#include "onnx-lsc/lsc.h"

void lsc_cli_print_table(FILE *out, const lsc_compress_report *report);
void lsc_cli_print_json(FILE *out, const lsc_compress_report *report, const char *model_path,
                        const char *bundle_path);

#endif /* LSC_CLI_COMPRESS_REPORT_H */
