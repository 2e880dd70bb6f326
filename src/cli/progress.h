/* A one-line progress bar on stderr for long compress / decompress runs: drawn only
 * when stderr is a terminal and the user did not ask for quiet, erased when done. */
#ifndef LSC_CLI_PROGRESS_H
#define LSC_CLI_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct lsc_cli_progress {
    FILE *out;         /* NULL: disabled */
    const char *label; /* "compress", "decompress" */
    double start, last_draw;
    int drawn;
} lsc_cli_progress;

/* Enabled iff !quiet and stderr is a terminal. */
void lsc_cli_progress_init(lsc_cli_progress *p, const char *label, int quiet);
/* An lsc_progress_fn: context is the lsc_cli_progress. */
void lsc_cli_progress_update(void *context, uint64_t done, uint64_t total);
/* Erases the bar (before the report or an error is printed). */
void lsc_cli_progress_finish(lsc_cli_progress *p);

#endif /* LSC_CLI_PROGRESS_H */
