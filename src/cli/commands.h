/* The subcommands of onnx-lsc. Each takes the arguments after its name (argv[0] is
 * the command name) and returns an exit code from exit_codes.h. */
#ifndef LSC_CLI_COMMANDS_H
#define LSC_CLI_COMMANDS_H

#include <stdio.h>

int lsc_cli_compress(int argc, char **argv);
int lsc_cli_decompress(int argc, char **argv);
int lsc_cli_stats(int argc, char **argv);
int lsc_cli_verify(int argc, char **argv);
int lsc_cli_seal(int argc, char **argv);

/* The usage text of each command, for --help and `onnx-lsc help CMD`. */
void lsc_cli_compress_usage(FILE *out);
void lsc_cli_decompress_usage(FILE *out);
void lsc_cli_stats_usage(FILE *out);
void lsc_cli_verify_usage(FILE *out);
void lsc_cli_seal_usage(FILE *out);

/* The overwrite rule: LSC_EXIT_OK when `path` may be written (it does not exist, or
 * is a folder, which the write then reports, or `force`); never when it is the file
 * `input` (may be NULL). Else one error line and LSC_ERR_INVALID_ARGUMENT's exit code. */
int lsc_cli_check_output(const char *path, const char *input, int force);

/* "onnx-lsc: <message>" on stderr, one line. */
void lsc_cli_error(const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* A usage error: the message, a hint, and LSC_EXIT_USAGE. */
int lsc_cli_usage_error(const char *command, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* LSC_CLI_COMMANDS_H */
