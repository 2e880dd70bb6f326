/* The graph entry (docs/format.md part 7): compress writes a slim model file and
 * keeps the full model message as a zstd frame whose window starts with the slim
 * file's own bytes (a "prefix"), so the entry holds only what slimming took out;
 * decompress and the inspectors decode it against the file and continue with the
 * full model. Which fields go is the writer's choice alone (the reader restores
 * bytes, not edits): here, what ONNX Runtime never reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "bundle/seal.h"
#include "codec/blob.h"
#include "common/endian.h"
#include "onnx/graph_entry.h"
#include "onnx/short_names.h"

#define GRAPH_ENTRY "lsc.graph"
#define ZSTD_LEVEL 19
/* The window holds prefix and message: 2^27 covers twice LSC_GRAPH_MAX_SIZE. */
#define WINDOW_LOG_MAX 27
/* Besides its own bytes (the record is in the slim file already): its TOC entry (48
 * bytes) and up to 63 bytes of alignment. */
#define ENTRY_OVERHEAD 112

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

/* ---- the entry ---- */

/* b holds exactly size bytes (content undefined). */
static int sized(lsc_bytes *b, size_t size)
{
    uint8_t *p = realloc(b->data, size ? size : 1);
    if (!p)
        return 0;
    b->data = p;
    b->cap = size ? size : 1;
    b->size = size;
    return 1;
}

static lsc_status pack_model(const Onnx__ModelProto *m, lsc_bytes *out, lsc_error *error)
{
    size_t size = protobuf_c_message_get_packed_size(&m->base);
    out->size = 0;
    if (size > LSC_GRAPH_MAX_SIZE)
        return LSC_OK; /* too big to slim: out stays empty */
    if (!sized(out, size))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the graph entry");
    out->size = protobuf_c_message_pack(&m->base, out->data);
    return LSC_OK;
}

/* full, coded with file as the window's prefix, after the header in *entry. */
static lsc_status build_entry(const lsc_bytes *full, const lsc_bytes *file, lsc_bytes *entry, lsc_error *error)
{
    size_t bound = ZSTD_compressBound(full->size);
    uint8_t head[LSC_GRAPH_HEADER_SIZE] = {0};
    if (!sized(entry, sizeof head + bound))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the graph entry");
    memset(entry->data, 0, sizeof head);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    if (!cctx)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the graph entry");
    unsigned log = 10;
    while (log < WINDOW_LOG_MAX && ((size_t)1 << log) < file->size + full->size)
        log++;
    size_t z = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    if (!ZSTD_isError(z))
        z = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, (int)log);
    /* The frame checks what it decodes (a frame edited with the entry's checksum renewed). */
    if (!ZSTD_isError(z))
        z = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(z))
        z = ZSTD_CCtx_refPrefix(cctx, file->data, file->size);
    if (!ZSTD_isError(z))
        z = ZSTD_compress2(cctx, entry->data + sizeof head, bound, full->data, full->size);
    ZSTD_freeCCtx(cctx);
    if (ZSTD_isError(z))
        return lsc_fail(error, LSC_ERR_INTERNAL, "graph entry: zstd: %s", ZSTD_getErrorName(z));
    entry->size = sizeof head + z;
    uint8_t *b = entry->data;
    memcpy(b, LSC_GRAPH_MAGIC, 4);
    lsc_store_le32(b + 4, LSC_GRAPH_VERSION);
    lsc_store_le64(b + 16, file->size);
    lsc_store_le64(b + 24, XXH64(file->data, file->size, 0));
    lsc_store_le64(b + 32, full->size);
    lsc_store_le64(b + 40, z);
    lsc_store_le64(b + 8, lsc_blob_checksum(b, entry->size));
    return LSC_OK;
}

/* The slim copy of full, its record added; *dropped: fields and nodes that went. */
static lsc_status slim_copy(const lsc_bytes *full, const char *bundle_name, Onnx__ModelProto **out,
                            size_t *dropped, lsc_error *error)
{
    Onnx__ModelProto *m =
        (Onnx__ModelProto *)protobuf_c_message_unpack(&onnx__model_proto__descriptor, NULL, full->size, full->data);
    if (!m || !m->graph) {
        if (m)
            protobuf_c_message_free_unpacked(&m->base, NULL);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for the graph entry");
    }
    lsc_status st = lsc_slim_model(m, dropped, error);
    char entry[64];
    snprintf(entry, sizeof entry, GRAPH_ENTRY);
    for (unsigned i = 2; lsc_graph_uses_name(m->graph, entry, 0); i++)
        snprintf(entry, sizeof entry, GRAPH_ENTRY "%u", i);
    if (st == LSC_OK && *dropped)
        st = lsc_model_add_entry_prop(m, LSC_GRAPH_KEY, entry, bundle_name, error);
    if (st != LSC_OK || !*dropped) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        m = NULL;
    }
    *out = m;
    return st;
}

lsc_status lsc_slim_graph(const lsc_onnx_model *model, lsc_bundle_writer *writer, const char *bundle_name,
                          Onnx__ModelProto **slim, lsc_error *error)
{
    *slim = NULL;
    const Onnx__ModelProto *m = model->proto;
    /* Training information names graph parts from outside the graph. */
    if (!m->graph || m->n_training_info)
        return LSC_OK;
    for (size_t i = 0; i < m->n_metadata_props; i++)
        if (m->metadata_props[i]->key && !strcmp(m->metadata_props[i]->key, LSC_GRAPH_KEY))
            return LSC_OK;
    lsc_bytes full = {0}, file = {0}, entry = {0};
    Onnx__ModelProto *copy = NULL;
    size_t dropped = 0;
    lsc_status st = pack_model(m, &full, error);
    if (st == LSC_OK && full.size)
        st = slim_copy(&full, bundle_name, &copy, &dropped, error);
    if (st == LSC_OK && copy)
        st = pack_model(copy, &file, error);
    if (st == LSC_OK && copy && file.size)
        st = build_entry(&full, &file, &entry, error);
    /* Written only when the file loses more than the entry costs. */
    if (st == LSC_OK && entry.size &&
        (int64_t)full.size - (int64_t)file.size - (int64_t)entry.size - ENTRY_OVERHEAD > 0) {
        const char *at = strrchr(copy->metadata_props[copy->n_metadata_props - 1]->value, '@');
        const char *name = copy->metadata_props[copy->n_metadata_props - 1]->value;
        uint64_t offset = 0;
        st = lsc_bundle_writer_append(writer, name, (size_t)(at - name), entry.data, entry.size, NULL, 0, &offset,
                                      error);
        if (st == LSC_OK) {
            *slim = copy;
            copy = NULL;
        }
    }
    if (copy)
        protobuf_c_message_free_unpacked(&copy->base, NULL);
    lsc_bytes_free(&full);
    lsc_bytes_free(&file);
    lsc_bytes_free(&entry);
    return st;
}

/* ---- reading ---- */

lsc_status lsc_graph_entry_decode(const void *entry, size_t size, const void *file, size_t file_size,
                                  int check_file, const char *label, uint8_t **out, size_t *out_size,
                                  lsc_error *error)
{
    *out = NULL;
    *out_size = 0;
    const uint8_t *b = entry;
    if (!label)
        label = "";
    if (!b || size < LSC_GRAPH_HEADER_SIZE || memcmp(b, LSC_GRAPH_MAGIC, 4) != 0)
        return BAD("graph entry '%s': bad magic or shorter than its %d-byte header", label, LSC_GRAPH_HEADER_SIZE);
    if (lsc_load_le32(b + 4) != LSC_GRAPH_VERSION)
        return lsc_fail(error, LSC_ERR_VERSION, "graph entry '%s': version %u (this reader knows %d)", label,
                        lsc_load_le32(b + 4), LSC_GRAPH_VERSION);
    LSC_TRY(lsc_blob_check_checksum(b, size, "graph entry", label, error));
    uint64_t model_size = lsc_load_le64(b + 16), model_hash = lsc_load_le64(b + 24);
    uint64_t full_size = lsc_load_le64(b + 32), zsize = lsc_load_le64(b + 40);
    if (zsize != size - LSC_GRAPH_HEADER_SIZE)
        return BAD("graph entry '%s': a %llu-byte frame does not fill its %zu bytes", label,
                   (unsigned long long)zsize, size);
    if (!full_size || full_size > LSC_GRAPH_MAX_SIZE || model_size > LSC_GRAPH_MAX_SIZE)
        return BAD("graph entry '%s': a %llu-byte model or a %llu-byte file is outside 1..%u bytes", label,
                   (unsigned long long)full_size, (unsigned long long)model_size, LSC_GRAPH_MAX_SIZE);
    /* The entry codes against these very bytes: another file decodes to garbage. */
    if (check_file && (model_size != file_size || model_hash != XXH64(file, file_size, 0)))
        return lsc_fail(error, LSC_ERR_BAD_MODEL,
                        "graph entry '%s': the model file is not the one compress wrote (edited since?); "
                        "the full model cannot be restored: compress the original again", label);
    uint8_t *buf = malloc((size_t)full_size);
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!buf || !dctx) {
        free(buf);
        ZSTD_freeDCtx(dctx);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "graph entry '%s': out of memory", label);
    }
    size_t got = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
    if (!ZSTD_isError(got))
        got = ZSTD_DCtx_refPrefix(dctx, file, file_size);
    if (!ZSTD_isError(got))
        got = ZSTD_decompressDCtx(dctx, buf, (size_t)full_size, b + LSC_GRAPH_HEADER_SIZE, (size_t)zsize);
    ZSTD_freeDCtx(dctx);
    if (ZSTD_isError(got) || got != full_size) {
        free(buf);
        return BAD("graph entry '%s': %s", label,
                   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "frame holds another size than declared");
    }
    *out = buf;
    *out_size = (size_t)full_size;
    return LSC_OK;
}

/* The full model message, decoded from the entry the record names. */
static lsc_status decode_full(lsc_onnx_model *model, const char *value, lsc_bundle_get_fn get_bundle, void *ctx,
                              const char *label, uint8_t **full, size_t *full_size, int *stale, lsc_error *error)
{
    lsc_bundle *bundle = NULL;
    size_t index = 0;
    LSC_TRY(lsc_bundle_entry_named(value, get_bundle, ctx, label, &bundle, &index, error));
    const lsc_bundle_entry *e = lsc_bundle_get(bundle, index);
    const uint8_t *blob = lsc_bundle_blob(bundle, index);
    if (e->size < 4 || memcmp(blob, LSC_GRAPH_MAGIC, 4) != 0)
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: its bundle entry is not a graph entry", label);
    if (stale && e->size >= LSC_GRAPH_HEADER_SIZE &&
        (lsc_load_le64(blob + 16) != model->map.size ||
         lsc_load_le64(blob + 24) != XXH64(model->map.data, model->map.size, 0))) {
        *stale = 1;
        return LSC_OK;
    }
    lsc_status st = lsc_graph_entry_decode(blob, (size_t)e->size, model->map.data, model->map.size, 1, e->name,
                                           full, full_size, error);
    if (st == LSC_ERR_BAD_BUNDLE || st == LSC_ERR_CHECKSUM || st == LSC_ERR_VERSION)
        lsc_error_prefix(error, lsc_bundle_path(bundle)); /* the file whose bytes are wrong */
    else if (st != LSC_OK)
        lsc_error_prefix(error, model->path);
    return st;
}

lsc_status lsc_restore_graph(lsc_onnx_model *model, lsc_bundle_get_fn get_bundle, void *ctx, int *restored,
                             int allow_stale, lsc_error *error)
{
    *restored = 0;
    size_t at = 0;
    LSC_TRY(lsc_model_find_prop(model->proto, LSC_GRAPH_KEY, model->path, &at, error));
    if (at == (size_t)-1)
        return LSC_OK;
    char label[400];
    lsc_label(label, sizeof label, model->path, "metadata record", LSC_GRAPH_KEY);
    uint8_t *full = NULL;
    size_t full_size = 0;
    int stale = 0;
    LSC_TRY(decode_full(model, model->proto->metadata_props[at]->value, get_bundle, ctx, label, &full, &full_size,
                        allow_stale ? &stale : NULL, error));
    if (stale) {
        *restored = -1;
        return LSC_OK;
    }
    Onnx__ModelProto *m =
        (Onnx__ModelProto *)protobuf_c_message_unpack(&onnx__model_proto__descriptor, NULL, full_size, full);
    free(full);
    if (!m || !m->graph) {
        if (m)
            protobuf_c_message_free_unpacked(&m->base, NULL);
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: the graph entry does not decode to an ONNX model", label);
    }
    size_t again = 0;
    lsc_status st = lsc_model_find_prop(m, LSC_GRAPH_KEY, model->path, &again, error);
    if (st == LSC_OK && again != (size_t)-1)
        st = lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: the graph entry's model has a record '%s' again", label,
                      LSC_GRAPH_KEY);
    if (st != LSC_OK) {
        protobuf_c_message_free_unpacked(&m->base, NULL);
        return st;
    }
    /* Payloads of the slim proto point into the file mapping: not the allocator's. */
    for (size_t i = 0; i < model->n_patched; i++) {
        model->patched[i]->raw_data.data = NULL;
        model->patched[i]->raw_data.len = 0;
    }
    model->n_patched = 0;
    protobuf_c_message_free_unpacked(&model->proto->base, NULL);
    model->proto = m;
    *restored = 1;
    return LSC_OK;
}
