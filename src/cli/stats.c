/* onnx-lsc stats: options, the audit, its forms, and the CI gates. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exit_codes.h"
#include "onnx-lsc/lsc.h"
#include "stats_writers.h"

void lsc_cli_stats_usage(FILE *out)
{
    fputs("Usage: onnx-lsc stats MODEL.onnx [options]\n"
          "Where the bytes of a pruned model go: for every Conv/Gemm/MatMul weight, values versus\n"
          "meta-data in LSC (as the encoder would choose it, or as found in a compressed model's\n"
          "bundle) and in the classic sparse formats, against the entropy bound; then totals.\n\n"
          "  --json                    one JSON document on stdout (docs/stats-schema.md)\n"
          "  --csv                     one CSV row per weight on stdout, header first\n"
          "  --markdown                a Markdown table on stdout, for a CI run page\n"
          "                            (e.g. >> $GITHUB_STEP_SUMMARY), with the gates' verdicts\n"
          "  --html FILE               also write a self-contained HTML report to FILE\n"
          "  -f, --force               overwrite FILE if it exists\n"
          "  --measure-files           compress into a temporary folder to measure the file ratio\n"
          "                            (plain models; otherwise it is estimated)\n"
          "  -j, --threads N           threads for --measure-files (0 = all cores)\n"
          "  --entropy                 also price the entropy tier (compress --entropy): bytes,\n"
          "                            position and value bits per non-zero (encodes every weight:\n"
          "                            slower)\n"
          "  --fail-if-ratio-below X   exit 3 if the compression ratio is below X\n"
          "  --fail-if-meta-bits-above Y  exit 4 if LSC meta-data bits per non-zero exceed Y\n"
          "  -h, --help                this text\n\n"
          "The ratio is dense bytes / (value + meta-data bytes) over the encoded weights (1.0\n"
          "when none is); the gates are checked after the report is written, ratio first.\n",
          out);
}

static int parse_threshold(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < 0)
        return 0;
    *out = v;
    return 1;
}

enum { OPT_JSON = 256, OPT_CSV, OPT_MARKDOWN, OPT_HTML, OPT_MEASURE, OPT_GATE_RATIO, OPT_GATE_META, OPT_ENTROPY };

int lsc_cli_stats(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"csv", no_argument, NULL, OPT_CSV},
        {"markdown", no_argument, NULL, OPT_MARKDOWN},
        {"html", required_argument, NULL, OPT_HTML},
        {"force", no_argument, NULL, 'f'},
        {"measure-files", no_argument, NULL, OPT_MEASURE},
        {"entropy", no_argument, NULL, OPT_ENTROPY},
        {"threads", required_argument, NULL, 'j'},
        {"fail-if-ratio-below", required_argument, NULL, OPT_GATE_RATIO},
        {"fail-if-meta-bits-above", required_argument, NULL, OPT_GATE_META},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, csv = 0, markdown = 0, force = 0, c;
    const char *html = NULL;
    double min_ratio = NAN, max_meta = NAN;
    stats_options opt = {0};
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":j:fh", long_options, NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        case OPT_JSON: json = 1; break;
        case OPT_CSV: csv = 1; break;
        case OPT_MARKDOWN: markdown = 1; break;
        case OPT_HTML: html = optarg; break;
        case OPT_MEASURE: opt.measure_files = 1; break;
        case OPT_ENTROPY: opt.entropy = 1; break;
        case 'j': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *optarg == '-' || *end || errno || v > 4096)
                return lsc_cli_usage_error("stats", "-j wants a thread count, not '%s'", optarg);
            opt.threads = (unsigned)v;
            break;
        }
        case OPT_GATE_RATIO:
            if (!parse_threshold(optarg, &min_ratio))
                return lsc_cli_usage_error("stats", "--fail-if-ratio-below wants a number >= 0, not '%s'",
                                           optarg);
            break;
        case OPT_GATE_META:
            if (!parse_threshold(optarg, &max_meta))
                return lsc_cli_usage_error("stats",
                                           "--fail-if-meta-bits-above wants a number >= 0, not '%s'", optarg);
            break;
        case 'h': lsc_cli_stats_usage(stdout); return LSC_EXIT_OK;
        case ':': return lsc_cli_usage_error("stats", "option '%s' needs a value", argv[optind - 1]);
        default: return lsc_cli_usage_error("stats", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (json + csv + markdown > 1)
        return lsc_cli_usage_error("stats", "--json, --csv and --markdown all want standard output: pick one");
    if (optind != argc - 1)
        return lsc_cli_usage_error("stats", optind >= argc ? "no model given" : "exactly one model expected");
    opt.want_maps = html != NULL;
    int rc = html ? lsc_cli_check_output(html, argv[optind], force) : LSC_EXIT_OK;
    if (rc != LSC_EXIT_OK)
        return rc;

    stats_report report;
    lsc_error error = {0};
    lsc_status st = stats_collect(argv[optind], &opt, &report, &error);
    if (st != LSC_OK) {
        lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
        return lsc_exit_for_status(st);
    }
    if (html) {
        st = stats_write_html(html, &report, &error);
        if (st != LSC_OK) {
            lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
            stats_report_free(&report);
            return lsc_exit_for_status(st);
        }
    }
    stats_gates gates = {min_ratio, max_meta};
    int wrote = json ? stats_write_json(stdout, &report)
                : csv ? stats_write_csv(stdout, &report)
                : markdown ? stats_write_markdown(stdout, &report, &gates)
                           : stats_write_table(stdout, &report);
    double ratio = stats_total_ratio(&report.totals);
    double meta = stats_total_meta_bits(&report.totals);
    stats_report_free(&report);
    if (wrote != 0 || fflush(stdout) != 0) {
        lsc_cli_error("cannot write to standard output");
        return lsc_exit_for_status(LSC_ERR_IO);
    }
    if (!isnan(min_ratio) && !(ratio >= min_ratio)) {
        lsc_cli_error("gate: compression ratio %.3f is below %g", ratio, min_ratio);
        return LSC_EXIT_GATE_RATIO;
    }
    if (!isnan(max_meta) && !(meta <= max_meta)) {
        lsc_cli_error("gate: meta-data %.3f bits per non-zero is above %g", meta, max_meta);
        return LSC_EXIT_GATE_META;
    }
    return LSC_EXIT_OK;
}
