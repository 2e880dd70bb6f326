/* onnx-lsc: the command-line front end. A table of subcommands; each lives in its
 * own file and uses only the public header. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "exit_codes.h"
#include "onnx-lsc/lsc.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
    const char *summary;
} command;

/* stats.c and verify.c plug in here with their lsc_cli_stats / lsc_cli_verify. */
static const command commands[] = {
    {"compress", lsc_cli_compress, lsc_cli_compress_usage,
     "encode the pruned weights of an ONNX model into a bundle"},
    {"decompress", lsc_cli_decompress, lsc_cli_decompress_usage,
     "restore the original model from a compressed one"},
    {"stats", lsc_cli_stats, lsc_cli_stats_usage,
     "where the bytes go: LSC vs classic sparse formats vs the entropy bound"},
    {"verify", lsc_cli_verify, lsc_cli_verify_usage,
     "check a compressed model against its original in ONNX Runtime"},
    {"seal", lsc_cli_seal, lsc_cli_seal_usage,
     "accept an edit of a compressed model (its digest in the bundle)"},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* "onnx-lsc: " and the message on stderr, one line like every error (lsc_error_set):
 * paths and names given on the command line may hold control bytes. */
static void print_error(const char *format, va_list args, const char *tail)
{
    char text[LSC_ERROR_MESSAGE_SIZE];
    vsnprintf(text, sizeof text, format, args);
    lsc_error line;
    lsc_error_set(&line, LSC_OK, "%s%s", text, tail);
    fprintf(stderr, "onnx-lsc: %s\n", line.message);
}

void lsc_cli_error(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    print_error(format, args, "");
    va_end(args);
}

int lsc_cli_usage_error(const char *command_name, const char *format, ...)
{
    char tail[128];
    if (command_name)
        snprintf(tail, sizeof tail, " (try 'onnx-lsc help %s')", command_name);
    else
        snprintf(tail, sizeof tail, " (try 'onnx-lsc --help')");
    va_list args;
    va_start(args, format);
    print_error(format, args, tail);
    va_end(args);
    return LSC_EXIT_USAGE;
}

static void print_exit_codes(FILE *out)
{
    fputs("Exit codes:\n", out);
#define LSC_EXIT_PRINT(name, value, text) fprintf(out, "  %3d  %s\n", value, text);
    LSC_EXIT_CODES(LSC_EXIT_PRINT)
#undef LSC_EXIT_PRINT
    for (int s = LSC_ERR_INVALID_ARGUMENT; s <= LSC_ERR_INTERNAL; s++)
        fprintf(out, "  %3d  %s\n", lsc_exit_for_status((lsc_status)s),
                lsc_status_string((lsc_status)s));
}

static void print_help(FILE *out)
{
    fputs("Usage: onnx-lsc COMMAND [OPTIONS] ...\n"
          "Layerwise Sparse Coding for pruned ONNX models.\n\nCommands:\n",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fputs("  help CMD     the options of CMD ('help exit-codes': the exit codes)\n\n"
          "Options: --help, --version\n\n"
          "Outputs: a command never replaces an existing file (model, bundle, --html page)\n"
          "unless given -f/--force (else exit 11); a replaced file is written to a temporary\n"
          "file first and renamed when complete.\n\n",
          out);
    print_exit_codes(out);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return lsc_cli_usage_error(NULL, "no command given");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_help(stdout);
        return LSC_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("onnx-lsc %s\n", lsc_version_string());
        return LSC_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_help(stdout);
            return LSC_EXIT_OK;
        }
        if (strcmp(argv[2], "exit-codes") == 0) {
            print_exit_codes(stdout);
            return LSC_EXIT_OK;
        }
        const command *cmd = find_command(argv[2]);
        if (!cmd)
            return lsc_cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        cmd->usage(stdout);
        return LSC_EXIT_OK;
    }
    const command *cmd = find_command(name);
    if (!cmd)
        return lsc_cli_usage_error(NULL, "unknown command '%s'", name);
    return cmd->run(argc - 1, argv + 1);
}
