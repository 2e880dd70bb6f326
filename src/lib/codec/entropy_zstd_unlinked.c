/* lsc_entropy_zstd_compress in the decode-only runtime of the ORT plugin (entropy.h):
 * the plugin never encodes, and leaving libzstd's encoder out lets its decoder link
 * statically, so the plugin needs the C library only. */
#include "codec/entropy.h"
#include "common/error.h"

void *lsc_entropy_zstd_begin(void)
{
    return NULL;
}

void lsc_entropy_zstd_end(void *zstd)
{
    (void)zstd;
}

lsc_status lsc_entropy_zstd_compress(void *zstd, const uint8_t *plane, uint64_t n, uint8_t **out, size_t *out_size,
                                     lsc_error *error)
{
    (void)zstd;
    (void)plane;
    (void)n;
    *out = NULL;
    *out_size = 0;
    return lsc_fail(error, LSC_ERR_UNSUPPORTED, "this decode-only runtime (the ORT plugin) does not encode");
}

lsc_status lsc_entropy_zstd_compress_level(void *zstd, const uint8_t *plane, uint64_t n, int level, uint8_t **out,
                                           size_t *out_size, lsc_error *error)
{
    (void)level;
    return lsc_entropy_zstd_compress(zstd, plane, n, out, out_size, error);
}
