/* The value planes' zstd candidate (docs/format.md 4.5), apart from entropy_values.c
 * so that a decode-only runtime can leave libzstd's encoder out (entropy.h). */
#include <stdlib.h>
#include <zstd.h>

#include "codec/entropy.h"
#include "common/error.h"

/* zstd never won a plane of pruned weights at any level; 3 keeps the try cheap. */
#define ZSTD_LEVEL 3

void *lsc_entropy_zstd_begin(void)
{
    return ZSTD_createCCtx();
}

void lsc_entropy_zstd_end(void *zstd)
{
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
