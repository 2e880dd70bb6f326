/* Writing a dense pack (docs/format.md part 5): the records and the values' byte
 * planes, zstd frames. Encoder side only (libzstd's compressor). */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "codec/blob.h"
#include "codec/dense_pack.h"
#include "common/endian.h"
#include "onnx/dense_pack_graph.h"

/* The densest level: packs are small (kilobytes to a few megabytes), written once. */
#define PACK_ZSTD_LEVEL 19

lsc_status lsc_pack_zstd_frame(const uint8_t *src, size_t n, lsc_bytes *out, lsc_error *error)
{
    size_t cap = ZSTD_compressBound(n);
    uint8_t *frame = malloc(cap);
    if (!frame)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a zstd frame");
    size_t got = ZSTD_compress(frame, cap, src, n, PACK_ZSTD_LEVEL);
    lsc_status st = ZSTD_isError(got) ? lsc_fail(error, LSC_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(got))
                    : lsc_bytes_append(out, frame, got) ? LSC_OK
                    : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a zstd frame");
    free(frame);
    return st;
}

static lsc_status records(const lsc_pack_item *items, size_t n, int version, lsc_bytes *meta, lsc_error *error)
{
    size_t fixed = version == 1 ? LSC_PACK_RECORD_SIZE : LSC_PACK_RECORD_SIZE_2;
    for (size_t i = 0; i < n; i++) {
        uint8_t head[LSC_PACK_RECORD_SIZE_2 + 8 * LSC_MAX_RANK] = {0};
        lsc_store_le32(head, items[i].position);
        lsc_store_le32(head + 4, (uint32_t)items[i].restore_len);
        head[8] = (uint8_t)((items[i].typed ? LSC_PACK_FLAG_TYPED : 0) | (items[i].node ? LSC_PACK_FLAG_NODE : 0) |
                            (items[i].same ? LSC_PACK_FLAG_SAME : 0));
        head[9] = (uint8_t)items[i].rank;
        if (version != 1) {
            lsc_store_le32(head + 12, items[i].graph);
            lsc_store_le32(head + 16, items[i].same ? items[i].same_as : 0);
        }
        for (int d = 0; d < items[i].rank; d++)
            lsc_store_le64(head + fixed + 8 * d, (uint64_t)items[i].dims[d]);
        if (!lsc_bytes_append(meta, head, fixed + 8 * (size_t)items[i].rank) ||
            !lsc_bytes_append(meta, items[i].restore, items[i].restore_len))
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a dense pack");
    }
    return LSC_OK;
}

lsc_status lsc_dense_pack_build(const lsc_pack_item *items, size_t n, lsc_bytes *blob, lsc_error *error)
{
    uint64_t values = 0;
    int version = LSC_PACK_VERSION; /* byte for byte as before when bodies and repeats are absent */
    for (size_t i = 0; i < n; i++) {
        values += items[i].same ? 0 : items[i].count;
        if (items[i].graph || items[i].same)
            version = LSC_PACK_VERSION_BODIES;
    }
    lsc_bytes meta = {0};
    uint8_t *planes = malloc(values ? 4 * (size_t)values : 1);
    lsc_status st = planes ? records(items, n, version, &meta, error)
                           : lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a dense pack");
    size_t at = 0;
    for (size_t i = 0; st == LSC_OK && i < n; i++)
        for (uint64_t e = 0; !items[i].same && e < items[i].count; e++, at++) {
            uint32_t bits = lsc_load_le32((const uint8_t *)items[i].values + 4 * e);
            for (unsigned j = 0; j < 4; j++)
                planes[(size_t)j * (size_t)values + at] = lsc_pack_plane(bits, j);
        }
    uint8_t head[LSC_PACK_HEADER_SIZE] = {0};
    blob->size = 0;
    if (st == LSC_OK && !lsc_bytes_append(blob, head, sizeof head))
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for a dense pack");
    if (st == LSC_OK)
        st = lsc_pack_zstd_frame(meta.data, meta.size, blob, error);
    size_t meta_z = blob->size - LSC_PACK_HEADER_SIZE;
    /* One frame per plane: zstd then stores the mantissa planes, which it cannot
     * shrink, raw, and models the exponent plane alone (1-2% smaller than one frame). */
    for (unsigned j = 0; st == LSC_OK && j < 4; j++)
        st = lsc_pack_zstd_frame(planes + (size_t)j * (size_t)values, (size_t)values, blob, error);
    if (st == LSC_OK) {
        uint8_t *b = blob->data;
        memcpy(b, LSC_PACK_MAGIC, 4);
        lsc_store_le32(b + 4, (uint32_t)version);
        lsc_store_le32(b + 16, (uint32_t)n);
        lsc_store_le64(b + 24, meta.size);
        lsc_store_le64(b + 32, meta_z);
        lsc_store_le64(b + 40, values);
        lsc_store_le64(b + 48, blob->size - LSC_PACK_HEADER_SIZE - meta_z);
        lsc_store_le64(b + 8, lsc_blob_checksum(b, blob->size));
    }
    lsc_bytes_free(&meta);
    free(planes);
    return st;
}
