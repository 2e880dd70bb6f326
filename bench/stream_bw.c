#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/pool.h"
#include "stream_bw.h"

typedef struct bw_ctx {
    const uint64_t *buf;
    size_t words;
    size_t parts;
    uint64_t sink[64];
} bw_ctx;

static void bw_task(void *arg, size_t i)
{
    bw_ctx *b = arg;
    size_t lo = b->words * i / b->parts, hi = b->words * (i + 1) / b->parts;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t k = lo; k + 4 <= hi; k += 4) {
        s0 += b->buf[k];
        s1 += b->buf[k + 1];
        s2 += b->buf[k + 2];
        s3 += b->buf[k + 3];
    }
    b->sink[i % 64] = s0 + s1 + s2 + s3;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double stream_bandwidth(lsc_pool *pool, unsigned threads)
{
    static uint64_t *buf;
    const size_t bytes = 256u << 20;
    if (!buf) {
        buf = malloc(bytes);
        if (!buf)
            exit(1);
        for (size_t i = 0; i < bytes / 8; i++)
            buf[i] = i;
    }
    if (!pool)
        threads = 1;
    bw_ctx b = { .buf = buf, .words = bytes / 8, .parts = threads };
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = wall_now();
        if (pool)
            lsc_pool_run(pool, bw_task, &b, threads);
        else
            bw_task(&b, 0);
        double t = wall_now() - t0;
        if (t < best)
            best = t;
    }
    return (double)bytes / best;
}
