/* onnx-lsc seal: accept a legitimate edit of a compressed model, so that verify
 * stops reporting "graph modified since compression" (docs/format.md 2.4). */
#include <getopt.h>
#include <stdio.h>

#include "commands.h"
#include "exit_codes.h"
#include "onnx-lsc/lsc.h"

void lsc_cli_seal_usage(FILE *out)
{
    fputs("Usage: onnx-lsc seal MODEL.lsc.onnx\n"
          "Records the compressed model file's current digest in its bundle, after an edit\n"
          "made on purpose (a renamed output, new metadata): verify then reports the pair\n"
          "intact again. The encoded weights must still resolve to the bundle and validate.\n"
          "The bundle is rewritten to a temporary file and renamed when complete; the\n"
          "model file is not touched.\n\n"
          "  -q, --quiet   print nothing but errors\n"
          "  -h, --help    this text\n",
          out);
}

int lsc_cli_seal(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int quiet = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qh", long_options, NULL)) != -1) {
        switch (c) {
        case 'q': quiet = 1; break;
        case 'h': lsc_cli_seal_usage(stdout); return LSC_EXIT_OK;
        default: return lsc_cli_usage_error("seal", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return lsc_cli_usage_error("seal", optind >= argc ? "no model given" : "exactly one model expected");
    lsc_error error = {0};
    lsc_status st = lsc_seal_file(argv[optind], &error);
    if (st != LSC_OK)
        lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
    else if (!quiet)
        printf("sealed %s\n", argv[optind]);
    return lsc_exit_for_status(st);
}
