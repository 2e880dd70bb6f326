/* onnx-lsc compress: options, the library call, the report. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exit_codes.h"
#include "onnx-lsc/lsc.h"
#include "progress.h"
#include "compress_report.h"

void lsc_cli_compress_usage(FILE *out)
{
    fputs("Usage: onnx-lsc compress IN.onnx [-o OUT.onnx] [--bundle PATH] [-f] [options]\n"
          "Encodes the pruned Conv/Gemm/MatMul weights of IN.onnx with LSC. Writes OUT.onnx\n"
          "(default: IN with .onnx -> .lsc.onnx) and its bundle beside it (default: OUT with\n"
          ".onnx -> .lsc), then prints the per-layer table. Existing files are not replaced\n"
          "without -f.\n\n"
          "  -o, --output PATH         rewritten model\n"
          "      --bundle PATH         bundle file (must be in OUT's folder)\n"
          "  -f, --force               overwrite OUT and the bundle if they exist\n"
          "      --bit-exact           keep -0.0 signs: the model round-trips byte for byte\n"
          "      --entropy             entropy-code the bundle's weights (smaller file, decoded\n"
          "                            once when a runtime opens the model)\n"
          "      --keep-graph          with --entropy: write the whole model file, no graph\n"
          "                            entry (for a model you will edit and re-seal)\n"
          "      --keep-graph-inputs   leave weights that are also graph inputs dense (by default\n"
          "                            they are encoded and dropped from the graph's inputs)\n"
          "      --include-graph-inputs  accepted for compatibility: now the default\n"
          "      --smallest            the smallest encoding per weight (default: up to 1.5%\n"
          "                            more bytes where that multiplies faster, 3% to leave\n"
          "                            narrow blocks for whole rows)\n"
          "      --run-dense WHEN      which Conv/Gemm/MatMul layers run as the runtime's dense\n"
          "                            op, their weight still encoded (decoded once at load):\n"
          "                            auto (default: convolutions predicted faster dense),\n"
          "                            never, always\n"
          "      --index-bits N        force the SRI index width (1..16; default: search)\n"
          "      --block HxW           force the block shape (default: search)\n"
          "  -j, --threads N           encode up to N weights at once (default 0 = all cores);\n"
          "                            the output is the same for every N\n"
          "      --max-memory SIZE     run weights side by side only while their estimated\n"
          "                            memory fits in SIZE (e.g. 4G; default: half the RAM)\n"
          "  -q, --quiet               print nothing but errors (no progress bar)\n"
          "      --json                print the report as JSON on stdout\n"
          "  -h, --help                this text\n",
          out);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return 0;
    *out = v;
    return 1;
}

static int parse_block(const char *s, uint32_t *h, uint32_t *w)
{
    unsigned long a, b;
    char buf[64];
    const char *x = strchr(s, 'x');
    if (!x || (size_t)(x - s) >= sizeof buf)
        return 0;
    memcpy(buf, s, (size_t)(x - s));
    buf[x - s] = 0;
    if (!parse_uint(buf, UINT32_MAX, &a) || !parse_uint(x + 1, UINT32_MAX, &b) || !a || !b)
        return 0;
    *h = (uint32_t)a;
    *w = (uint32_t)b;
    return 1;
}

/* "512M", "4G", "1.5G", "1000000" (bytes) -> bytes. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-')
        return 0;
    double v = strtod(s, &end);
    double unit = 1;
    switch (*end) {
    case 'k': case 'K': unit = 1024.0; end++; break;
    case 'm': case 'M': unit = 1024.0 * 1024; end++; break;
    case 'g': case 'G': unit = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': unit = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    if (errno || *end || !(v > 0) || v * unit >= 1.8e19)
        return 0;
    *out = (uint64_t)(v * unit);
    return *out > 0;
}

/* path with `from` (if it ends so) replaced by `to`, as the library names its
 * defaults; NULL: no memory. */
static char *swap_suffix(const char *path, const char *from, const char *to)
{
    size_t n = strlen(path), f = strlen(from);
    if (n >= f && strcmp(path + n - f, from) == 0)
        n -= f;
    char *out = malloc(n + strlen(to) + 1);
    if (out) {
        memcpy(out, path, n);
        strcpy(out + n, to);
    }
    return out;
}

/* The library's default bundle: model.lsc.onnx -> model.lsc, x.onnx -> x.lsc. */
static char *default_bundle_path(const char *out_model)
{
    size_t n = strlen(out_model);
    int lsc = n > 9 && strcmp(out_model + n - 9, ".lsc.onnx") == 0;
    return swap_suffix(out_model, lsc ? ".lsc.onnx" : ".onnx", ".lsc");
}

enum { OPT_BUNDLE = 256, OPT_BIT_EXACT, OPT_GRAPH_INPUTS, OPT_KEEP_INPUTS, OPT_INDEX_BITS, OPT_BLOCK, OPT_JSON, OPT_MAX_MEMORY, OPT_ENTROPY, OPT_SMALLEST,
    OPT_KEEP_GRAPH, OPT_RUN_DENSE };

/* The library's notes (e.g. a weight left dense, and why), on stderr like errors. */
static void print_note(void *context, const char *message)
{
    (void)context;
    fprintf(stderr, "onnx-lsc: note: %s\n", message);
}

int lsc_cli_compress(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"bundle", required_argument, NULL, OPT_BUNDLE},
        {"bit-exact", no_argument, NULL, OPT_BIT_EXACT},
        {"entropy", no_argument, NULL, OPT_ENTROPY},
        {"smallest", no_argument, NULL, OPT_SMALLEST},
        {"keep-graph", no_argument, NULL, OPT_KEEP_GRAPH},
        {"run-dense", required_argument, NULL, OPT_RUN_DENSE},
        {"include-graph-inputs", no_argument, NULL, OPT_GRAPH_INPUTS},
        {"keep-graph-inputs", no_argument, NULL, OPT_KEEP_INPUTS},
        {"index-bits", required_argument, NULL, OPT_INDEX_BITS},
        {"block", required_argument, NULL, OPT_BLOCK},
        {"threads", required_argument, NULL, 'j'},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"quiet", no_argument, NULL, 'q'},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    lsc_compress_options opt;
    lsc_compress_options_default(&opt);
    const char *out_path = NULL, *bundle_path = NULL;
    int json = 0, force = 0, quiet = 0, c;
    unsigned long v;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:fj:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 'f': force = 1; break;
        case OPT_BUNDLE: bundle_path = optarg; break;
        case OPT_BIT_EXACT: opt.bit_exact = 1; break;
        case OPT_GRAPH_INPUTS: opt.include_graph_inputs = 1; break; /* the default now */
        case OPT_KEEP_INPUTS: opt.keep_graph_inputs = 1; break;
        case OPT_ENTROPY: opt.entropy = 1; break;
        case OPT_SMALLEST: opt.smallest = 1; break;
        case OPT_KEEP_GRAPH: opt.keep_graph = 1; break;
        case OPT_RUN_DENSE:
            if (strcmp(optarg, "auto") == 0)
                opt.run_dense = LSC_RUN_DENSE_AUTO;
            else if (strcmp(optarg, "never") == 0)
                opt.run_dense = LSC_RUN_DENSE_NEVER;
            else if (strcmp(optarg, "always") == 0)
                opt.run_dense = LSC_RUN_DENSE_ALWAYS;
            else
                return lsc_cli_usage_error("compress", "--run-dense wants auto, never or always, not '%s'", optarg);
            break;
        case OPT_INDEX_BITS:
            if (!parse_uint(optarg, 16, &v) || v == 0)
                return lsc_cli_usage_error("compress", "--index-bits wants 1..16, not '%s'", optarg);
            opt.index_bits = (unsigned)v;
            break;
        case OPT_BLOCK:
            if (!parse_block(optarg, &opt.block_h, &opt.block_w))
                return lsc_cli_usage_error("compress", "--block wants HxW (e.g. 4x8), not '%s'", optarg);
            break;
        case 'j':
            if (!parse_uint(optarg, 4096, &v))
                return lsc_cli_usage_error("compress", "-j wants a thread count, not '%s'", optarg);
            opt.threads = (unsigned)v;
            break;
        case OPT_MAX_MEMORY:
            if (!parse_size(optarg, &opt.memory_budget))
                return lsc_cli_usage_error("compress", "--max-memory wants a size such as 4G, not '%s'", optarg);
            break;
        case 'q': quiet = 1; break;
        case OPT_JSON: json = 1; break;
        case 'h': lsc_cli_compress_usage(stdout); return LSC_EXIT_OK;
        case ':': return lsc_cli_usage_error("compress", "option '%s' needs a value", argv[optind - 1]);
        default: return lsc_cli_usage_error("compress", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return lsc_cli_usage_error("compress", optind >= argc ? "no input model given"
                                                              : "exactly one input model expected");
    const char *in_path = argv[optind];

    char *default_out = out_path ? NULL : swap_suffix(in_path, ".onnx", ".lsc.onnx");
    out_path = out_path ? out_path : default_out;
    char *default_bundle = bundle_path || !out_path ? NULL : default_bundle_path(out_path);
    const char *bundle_shown = bundle_path ? bundle_path : default_bundle;
    if (!out_path || !bundle_shown) {
        free(default_out);
        lsc_cli_error("out of memory");
        return lsc_exit_for_status(LSC_ERR_NO_MEMORY);
    }
    int rc = lsc_cli_check_output(out_path, in_path, force);
    if (rc == LSC_EXIT_OK)
        rc = lsc_cli_check_output(bundle_shown, in_path, force);
    if (rc != LSC_EXIT_OK) {
        free(default_out);
        free(default_bundle);
        return rc;
    }
    lsc_compress_report *report = NULL;
    lsc_error error = {0};
    lsc_cli_progress progress;
    lsc_cli_progress_init(&progress, "compress", quiet);
    if (!quiet)
        opt.note = print_note;
    opt.progress = lsc_cli_progress_update;
    opt.progress_context = &progress;
    lsc_status st = lsc_compress_file(in_path, out_path, bundle_path, &opt, &report, &error);
    lsc_cli_progress_finish(&progress);
    if (st != LSC_OK) {
        lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
        free(default_out);
        free(default_bundle);
        return lsc_exit_for_status(st);
    }
    if (json) {
        lsc_cli_print_json(stdout, report, out_path, bundle_shown);
    } else if (!quiet) {
        lsc_cli_print_table(stdout, report);
        printf("wrote %s and %s\n", out_path, bundle_shown);
    }
    lsc_compress_report_free(&report);
    free(default_bundle);
    free(default_out);
    if (fflush(stdout) != 0) {
        lsc_cli_error("cannot write to standard output");
        return lsc_exit_for_status(LSC_ERR_IO);
    }
    return LSC_EXIT_OK;
}
