/* The value planes' zstd candidate (docs/format.md 4.5), apart from entropy_values.c
 * so that a decode-only runtime can leave libzstd's encoder out (entropy.h). */
#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>

#include "codec/entropy.h"
#include "common/error.h"

/* zstd never won a plane of pruned weights at any level; 3 keeps the try cheap. */
#define ZSTD_LEVEL 3

/* Each thread keeps its context from blob to blob: making one probes the CPU (CPUID,
 * two per context, which this VM traps), a sixth of a small layer's entropy encode.
 * A context that grew large (whole values at a high level on a large layer) is not
 * kept. The frames are the same: ZSTD_compressCCtx starts every frame afresh. */
#define ZSTD_KEEP_BYTES (4u << 20)

static pthread_key_t cached_key;
static pthread_once_t cached_once = PTHREAD_ONCE_INIT;
static int cached_ok;

static void free_cached(void *zstd)
{
    ZSTD_freeCCtx(zstd);
}

static void make_key(void)
{
    cached_ok = pthread_key_create(&cached_key, free_cached) == 0;
}

/* At exit or dlclose: no key destructor may be left to run in unmapped code when a
 * thread that kept a context exits later (that context is then leaked, not freed
 * twice); the unloading thread's own context is freed here. */
__attribute__((destructor)) static void drop_key(void)
{
    if (!cached_ok)
        return;
    ZSTD_freeCCtx(pthread_getspecific(cached_key));
    pthread_setspecific(cached_key, NULL);
    pthread_key_delete(cached_key);
    cached_ok = 0;
}

void *lsc_entropy_zstd_begin(void)
{
    pthread_once(&cached_once, make_key);
    void *zstd = cached_ok ? pthread_getspecific(cached_key) : NULL;
    if (zstd) { /* taken: a nested begin makes its own */
        pthread_setspecific(cached_key, NULL);
        return zstd;
    }
    return ZSTD_createCCtx();
}

void lsc_entropy_zstd_end(void *zstd)
{
    if (zstd && cached_ok && !pthread_getspecific(cached_key) && ZSTD_sizeof_CCtx(zstd) <= ZSTD_KEEP_BYTES &&
        pthread_setspecific(cached_key, zstd) == 0)
        return;
    ZSTD_freeCCtx(zstd);
}

lsc_status lsc_entropy_zstd_compress(void *zstd, const uint8_t *plane, uint64_t n, uint8_t **out, size_t *out_size,
                                     lsc_error *error)
{
    return lsc_entropy_zstd_compress_level(zstd, plane, n, ZSTD_LEVEL, out, out_size, error);
}

lsc_status lsc_entropy_zstd_compress_level(void *zstd, const uint8_t *plane, uint64_t n, int level, uint8_t **out,
                                           size_t *out_size, lsc_error *error)
{
    size_t cap = ZSTD_compressBound((size_t)n);
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a zstd frame");
    /* the same frame either way: ZSTD_compress is ZSTD_compressCCtx on a new context */
    size_t got = zstd ? ZSTD_compressCCtx(zstd, buf, cap, plane, (size_t)n, level)
                      : ZSTD_compress(buf, cap, plane, (size_t)n, level);
    if (ZSTD_isError(got)) {
        free(buf);
        return lsc_fail(error, LSC_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(got));
    }
    *out = buf;
    *out_size = got;
    return LSC_OK;
}
