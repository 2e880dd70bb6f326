/* A small PNG writer for the HTML report's sparsity maps: 8-bit palette images,
 * stored (uncompressed) deflate blocks, so no zlib is needed. */
#ifndef LSC_CLI_REPORT_PNG_H
#define LSC_CLI_REPORT_PNG_H

#include <stddef.h>
#include <stdint.h>

/* Encodes width x height palette indices (row-major) with a 256-colour palette
 * (768 bytes, RGB). Returns a malloc'd buffer of *size bytes, or NULL (no memory). */
uint8_t *stats_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                          const uint8_t palette[768], size_t *size);

/* "data:image/png;base64,..." (NUL-terminated, malloc'd), or NULL. */
char *stats_data_uri(const uint8_t *bytes, size_t size);

uint32_t stats_crc32(const uint8_t *p, size_t n);

#endif /* LSC_CLI_REPORT_PNG_H */
