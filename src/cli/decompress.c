/* onnx-lsc decompress: restore the original model from a compressed one. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exit_codes.h"
#include "onnx-lsc/lsc.h"
#include "progress.h"

void lsc_cli_decompress_usage(FILE *out)
{
    fputs("Usage: onnx-lsc decompress IN.lsc.onnx [-o OUT.onnx] [-f]\n"
          "Restores the original model from IN.lsc.onnx and the bundle it refers to.\n"
          "Default OUT: IN with .lsc.onnx -> .onnx. An existing OUT is not replaced without -f.\n\n"
          "  -o, --output PATH   restored model\n"
          "  -f, --force         overwrite OUT if it exists\n"
          "  -j, --threads N     decode each weight on N threads (default 0 = all cores)\n"
          "  -q, --quiet         print nothing but errors (no progress bar)\n"
          "  -h, --help          this text\n",
          out);
}

int lsc_cli_decompress(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"output", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"threads", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL;
    int force = 0, quiet = 0, c;
    unsigned threads = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:fj:qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 'f': force = 1; break;
        case 'j': {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || v > 4096)
                return lsc_cli_usage_error("decompress", "-j wants a thread count, not '%s'", optarg);
            threads = (unsigned)v;
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': lsc_cli_decompress_usage(stdout); return LSC_EXIT_OK;
        case ':': return lsc_cli_usage_error("decompress", "option '%s' needs a value", argv[optind - 1]);
        default: return lsc_cli_usage_error("decompress", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return lsc_cli_usage_error("decompress", optind >= argc ? "no input model given"
                                                                : "exactly one input model expected");
    const char *in_path = argv[optind];
    char *default_out = NULL;
    if (!out_path) {
        static const char suffix[] = ".lsc.onnx";
        size_t n = strlen(in_path), s = sizeof suffix - 1;
        if (n <= s || strcmp(in_path + n - s, suffix) != 0)
            return lsc_cli_usage_error("decompress", "'%s' does not end in .lsc.onnx: give -o OUT.onnx",
                                       in_path);
        default_out = malloc(n - s + sizeof ".onnx");
        if (!default_out) {
            lsc_cli_error("out of memory");
            return lsc_exit_for_status(LSC_ERR_NO_MEMORY);
        }
        memcpy(default_out, in_path, n - s);
        memcpy(default_out + n - s, ".onnx", sizeof ".onnx");
        out_path = default_out;
    }
    int rc = lsc_cli_check_output(out_path, in_path, force);
    if (rc != LSC_EXIT_OK) {
        free(default_out);
        return rc;
    }
    lsc_error error = {0};
    lsc_cli_progress progress;
    lsc_cli_progress_init(&progress, "decompress", quiet);
    lsc_decompress_options options;
    lsc_decompress_options_default(&options);
    options.progress = lsc_cli_progress_update;
    options.progress_context = &progress;
    options.threads = threads;
    lsc_status st = lsc_decompress_file_opts(in_path, out_path, &options, &error);
    lsc_cli_progress_finish(&progress);
    if (st != LSC_OK)
        lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
    else if (!quiet)
        printf("wrote %s\n", out_path);
    free(default_out);
    return lsc_exit_for_status(st);
}
