/* PNG (ISO/IEC 15948): signature, IHDR, PLTE, one IDAT holding a zlib stream of
 * stored deflate blocks, IEND. The maps are at most 192 x 192, so size is no issue. */
#include "report_png.h"

#include <stdlib.h>
#include <string.h>

uint32_t stats_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return crc ^ 0xffffffffu;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* A chunk: length, type, data, CRC of type + data. */
static uint8_t *chunk(uint8_t *p, const char type[4], const uint8_t *data, uint32_t len)
{
    p = put32(p, len);
    uint8_t *typed = p;
    memcpy(p, type, 4);
    if (len)
        memcpy(p + 4, data, len);
    p += 4 + len;
    return put32(p, stats_crc32(typed, (size_t)len + 4));
}

uint8_t *stats_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                          const uint8_t palette[768], size_t *size)
{
    size_t raw_len = (size_t)height * ((size_t)width + 1); /* filter byte 0 per row */
    size_t n_blocks = raw_len / 65535 + 1;
    size_t z_len = 2 + raw_len + 5 * n_blocks + 4;
    uint8_t *raw = malloc(raw_len ? raw_len : 1), *z = malloc(z_len);
    uint8_t *png = malloc(8 + 25 + 12 + 768 + 12 + z_len + 12);
    if (!raw || !z || !png) {
        free(raw);
        free(z);
        free(png);
        return NULL;
    }
    for (uint32_t y = 0; y < height; y++) {
        raw[(size_t)y * (width + 1)] = 0;
        memcpy(raw + (size_t)y * (width + 1) + 1, pixels + (size_t)y * width, width);
    }
    uint8_t *q = z;
    *q++ = 0x78; /* deflate, 32K window */
    *q++ = 0x01; /* no dictionary; (0x78 << 8 | 0x01) % 31 == 0 */
    uint32_t a = 1, b = 0;
    for (size_t off = 0, left = raw_len;; ) {
        size_t len = left < 65535 ? left : 65535;
        *q++ = left == len; /* BFINAL, BTYPE 00 (stored) */
        q[0] = (uint8_t)len;
        q[1] = (uint8_t)(len >> 8);
        q[2] = (uint8_t)~len;
        q[3] = (uint8_t)(~len >> 8);
        q += 4;
        memcpy(q, raw + off, len);
        for (size_t i = 0; i < len; i++) {
            a = (a + raw[off + i]) % 65521;
            b = (b + a) % 65521;
        }
        q += len;
        off += len;
        left -= len;
        if (!left)
            break;
    }
    q = put32(q, b << 16 | a);
    uint8_t ihdr[13];
    put32(ihdr, width);
    put32(ihdr + 4, height);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 3;  /* palette */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;
    uint8_t *p = png;
    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p = chunk(p + 8, "IHDR", ihdr, 13);
    p = chunk(p, "PLTE", palette, 768);
    p = chunk(p, "IDAT", z, (uint32_t)(q - z));
    p = chunk(p, "IEND", NULL, 0);
    *size = (size_t)(p - png);
    free(raw);
    free(z);
    return png;
}

char *stats_data_uri(const uint8_t *bytes, size_t size)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char prefix[] = "data:image/png;base64,";
    char *uri = malloc(sizeof prefix + (size + 2) / 3 * 4);
    if (!uri)
        return NULL;
    memcpy(uri, prefix, sizeof prefix - 1);
    char *o = uri + sizeof prefix - 1;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < size)
            v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < size)
            v |= bytes[i + 2];
        *o++ = alphabet[v >> 18 & 63];
        *o++ = alphabet[v >> 12 & 63];
        *o++ = i + 1 < size ? alphabet[v >> 6 & 63] : '=';
        *o++ = i + 2 < size ? alphabet[v & 63] : '=';
    }
    *o = 0;
    return uri;
}
