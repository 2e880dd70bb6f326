/* The progress bar: "compress [=======>      ]  47%  6.6 / 14.0 GB  95 MB/s  1m18s left",
 * redrawn in place at most ten times a second. */
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define BAR_WIDTH 30

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void lsc_cli_progress_init(lsc_cli_progress *p, const char *label, int quiet)
{
    p->out = !quiet && isatty(fileno(stderr)) ? stderr : NULL;
    p->label = label;
    p->start = p->last_draw = now_seconds();
    p->drawn = 0;
}

static void format_duration(char *buf, size_t size, double seconds)
{
    long s = seconds < 0 ? 0 : (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
    else if (s >= 60)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else
        snprintf(buf, size, "%lds", s);
}

void lsc_cli_progress_update(void *context, uint64_t done, uint64_t total)
{
    lsc_cli_progress *p = context;
    if (!p || !p->out || total == 0)
        return;
    double t = now_seconds();
    if (p->drawn && done < total && t - p->last_draw < 0.1)
        return;
    p->last_draw = t;
    if (done > total)
        done = total;
    double frac = (double)done / (double)total, elapsed = t - p->start;
    int fill = (int)(frac * BAR_WIDTH);
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
    bar[BAR_WIDTH] = 0;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    char left[32] = "";
    if (rate > 0 && done < total) {
        char d[24];
        format_duration(d, sizeof d, (double)(total - done) / rate);
        snprintf(left, sizeof left, "  %s left", d);
    }
    fprintf(p->out, "\r%s [%s] %3d%%  %.1f / %.1f GB  %.0f MB/s%s\033[K", p->label, bar,
            (int)(frac * 100), (double)done / 1e9, (double)total / 1e9, rate / 1e6, left);
    fflush(p->out);
    p->drawn = 1;
}

void lsc_cli_progress_finish(lsc_cli_progress *p)
{
    if (p->out && p->drawn) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->drawn = 0;
}
