/* lsc_bundle_writer: streams blobs into a temporary file beside the destination
 * (common/file_io.h, as every output of the library), then writes the TOC and, last,
 * the header; the file is renamed over the destination only when complete
 * (docs/format.md 2.1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "bundle/bundle_format.h"
#include "bundle/seal.h"
#include "codec/blob.h"
#include "codec/entropy.h"
#include "common/checked.h"
#include "common/endian.h"
#include "common/error.h"
#include "common/file_io.h"

typedef struct written {
    uint64_t offset, size, checksum;
    uint8_t *name, *restore;
    size_t name_len, restore_len;
} written;

struct lsc_bundle_writer {
    char *path;
    lsc_out_file out; /* out.written: bytes written so far */
    int open;         /* out holds a temporary file */
    written *entries;
    size_t n, cap;
    int broken;   /* a write failed: the file is unusable */
    int finished;
    int sealed;   /* the seal is the last entry (docs/format.md 2.4) */
    int share;    /* an entry whose blob equals an earlier one points at it (2.2) */
    int compact;  /* zstd-coded TOC, entropy blobs and entries aligned to 8 (2.5) */
    lsc_seal seal;
    unsigned minor;
};

static const uint8_t zeros[LSC_BUNDLE_HEADER_SIZE > LSC_BUNDLE_BLOB_ALIGN ? LSC_BUNDLE_HEADER_SIZE
                                                                            : LSC_BUNDLE_BLOB_ALIGN];

/* The first write failure of the output, as the call's error; the writer is broken. */
static lsc_status out_failed(lsc_bundle_writer *w, lsc_error *error)
{
    w->broken = 1;
    if (error)
        *error = w->out.error;
    return w->out.status;
}

lsc_status lsc_bundle_writer_create(const char *path, lsc_bundle_writer **writer_out, lsc_error *error)
{
    if (!path || !writer_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_writer_create: NULL argument");
    *writer_out = NULL;
    lsc_bundle_writer *w = calloc(1, sizeof *w);
    if (w)
        w->minor = LSC_BUNDLE_MINOR;
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory", path);
    }
    lsc_status st = lsc_out_open(&w->out, path, error);
    if (st != LSC_OK) {
        free(w->path);
        free(w);
        return st;
    }
    w->open = 1;
    /* The header is written last; its room is zeros until then. */
    lsc_out_write(&w->out, zeros, LSC_BUNDLE_HEADER_SIZE);
    *writer_out = w;
    return LSC_OK;
}

void lsc_bundle_writer_share_blobs(lsc_bundle_writer *w)
{
    if (w)
        w->share = 1;
}

void lsc_bundle_writer_compact(lsc_bundle_writer *w)
{
    if (w)
        w->compact = 1;
}

/* Length of `name` without a sibling suffix "#N" (N decimal digits; docs/format.md 3). */
static size_t base_len(const uint8_t *name, size_t n)
{
    size_t i = n;
    while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
        i--;
    return i < n && i > 0 && name[i - 1] == '#' ? i - 1 : n;
}

/* 1 if the bytes at [offset, offset + size) of what was written equal `blob`. */
static int written_equal(lsc_bundle_writer *w, uint64_t offset, const uint8_t *blob, size_t size)
{
    if (lsc_out_sync(&w->out, NULL) != LSC_OK)
        return 0;
    uint8_t buf[4096];
    for (size_t done = 0; done < size;) {
        size_t want = size - done < sizeof buf ? size - done : sizeof buf;
        ssize_t got = pread(w->out.fd, buf, want, (off_t)(offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || memcmp(buf, blob + done, (size_t)got) != 0)
            return 0;
        done += (size_t)got;
    }
    return 1;
}

/* 1 if entry `e` may point at `offset`: no entry there has e's value name ("name",
 * "name#N": docs/format.md 3, which a reader tells apart only by offset) with another
 * restore record, so that whichever entry a reader takes restores the same tensor. */
static int may_share(const lsc_bundle_writer *w, const written *e, uint64_t offset)
{
    size_t base = base_len(e->name, e->name_len);
    for (size_t i = 0; i < w->n; i++) {
        const written *o = &w->entries[i];
        if (o->offset != offset || base_len(o->name, o->name_len) != base || memcmp(o->name, e->name, base) != 0)
            continue;
        if (o->restore_len != e->restore_len || (e->restore_len && memcmp(o->restore, e->restore, e->restore_len) != 0))
            return 0;
    }
    return 1;
}

/* The offset of an earlier blob equal to `blob` that entry `e` may share, or 0. */
static uint64_t shared_offset(lsc_bundle_writer *w, const written *e, const uint8_t *blob, size_t size)
{
    for (size_t i = 0; i < w->n; i++) {
        const written *o = &w->entries[i];
        if (o->size == size && o->checksum == e->checksum && may_share(w, e, o->offset) &&
            written_equal(w, o->offset, blob, size))
            return o->offset;
    }
    return 0;
}

lsc_status lsc_bundle_writer_append(lsc_bundle_writer *w, const char *name, size_t name_len, const void *blob,
                                    size_t blob_size, const void *restore, size_t restore_len,
                                    uint64_t *offset_out, lsc_error *error)
{
    if (!w || (!name && name_len) || (!restore && restore_len) || !blob)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_writer_add: NULL argument");
    if (w->finished || w->broken)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "bundle '%s': writer is %s", w->path,
                        w->finished ? "already finished" : "broken by an earlier error");
    char label[128];
    snprintf(label, sizeof label, "%.*s", name_len > 120 ? 120 : (int)name_len, name ? name : "");
    if (name_len > UINT32_MAX || restore_len > UINT32_MAX || w->n >= UINT32_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "bundle '%s': entry '%s': name, restore record or entry count too large",
                        w->path, label);
    for (size_t i = 0; i < w->n; i++)
        if (w->entries[i].name_len == name_len && (name_len == 0 || memcmp(w->entries[i].name, name, name_len) == 0))
            return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "bundle '%s': duplicate entry name '%s'", w->path,
                            label);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        written *e = realloc(w->entries, cap * sizeof *e);
        if (!e)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory", w->path);
        w->entries = e;
        w->cap = cap;
    }
    written *e = &w->entries[w->n];
    memset(e, 0, sizeof *e);
    e->name = malloc(name_len ? name_len : 1);
    e->restore = malloc(restore_len ? restore_len : 1);
    if (!e->name || !e->restore) {
        free(e->name);
        free(e->restore);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory", w->path);
    }
    if (name_len)
        memcpy(e->name, name, name_len);
    if (restore_len)
        memcpy(e->restore, restore, restore_len);
    e->name_len = name_len;
    e->restore_len = restore_len;
    uint64_t end = w->out.written;
    /* Compute blobs are used in place (64 for the kernels); the rest is decoded. */
    uint64_t align = w->compact && !(blob_size >= 4 && memcmp(blob, "LSCW", 4) == 0) ? LSC_BUNDLE_COMPACT_ALIGN
                                                                                     : LSC_BUNDLE_BLOB_ALIGN;
    uint64_t pad = (align - end % align) % align;
    e->offset = end + pad;
    e->size = blob_size;
    e->checksum = lsc_load_le64((const uint8_t *)blob + 8);
    uint64_t shared = w->share && blob_size >= LSC_BLOB_FIXED_HEADER ? shared_offset(w, e, blob, blob_size) : 0;
    if (shared) {
        e->offset = shared;
        w->minor = w->minor > LSC_BUNDLE_MINOR_SHARED ? w->minor : LSC_BUNDLE_MINOR_SHARED;
        w->n++;
        if (offset_out)
            *offset_out = e->offset;
        return LSC_OK;
    }
    const uint8_t *head = blob;
    /* compute and entropy blobs ("LSCE", docs/format.md 4.1) both hold dtype at byte 5 */
    if (blob_size > 5 && (memcmp(head, "LSCW", 4) == 0 || memcmp(head, "LSCE", 4) == 0) &&
        (head[5] == LSC_DTYPE_UINT8 || head[5] == LSC_DTYPE_INT8) &&
        w->minor < LSC_BUNDLE_MINOR_8BIT)
        w->minor = LSC_BUNDLE_MINOR_8BIT; /* readers before it reject such a weight */
    lsc_out_write(&w->out, zeros, (size_t)pad);
    lsc_out_write(&w->out, blob, blob_size);
    if (w->out.status != LSC_OK) {
        free(e->name);
        free(e->restore);
        return out_failed(w, error);
    }
    w->n++;
    if (offset_out)
        *offset_out = e->offset;
    return LSC_OK;
}

lsc_status lsc_bundle_writer_add(lsc_bundle_writer *w, const char *name, size_t name_len, const void *blob,
                                 size_t blob_size, const void *restore, size_t restore_len,
                                 uint64_t *offset_out, lsc_error *error)
{
    if (!blob)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_writer_add: NULL argument");
    if (name_len == LSC_SEAL_NAME_LEN && name && memcmp(name, LSC_SEAL_NAME, LSC_SEAL_NAME_LEN) == 0)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "bundle: the seal's entry name is reserved");
    char label[128];
    snprintf(label, sizeof label, "%.*s", name_len > 120 ? 120 : (int)name_len, name ? name : "");
    lsc_weight *opened = NULL; /* validates either tier (an entropy blob by decoding it) */
    lsc_status st = lsc_weight_open(blob, blob_size, label, &opened, error);
    lsc_weight_close(&opened);
    if (st != LSC_OK)
        return st;
    return lsc_bundle_writer_append(w, name, name_len, blob, blob_size, restore, restore_len, offset_out, error);
}

lsc_status lsc_bundle_writer_seal(lsc_bundle_writer *w, const lsc_seal *seal, lsc_error *error)
{
    if (!w || !seal)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_writer_seal: NULL argument");
    w->seal = *seal;
    w->sealed = 1;
    return LSC_OK;
}

static uint64_t toc_entry_size(const written *e)
{
    uint64_t n = LSC_BUNDLE_TOC_FIXED + (uint64_t)e->name_len + e->restore_len;
    return (n + LSC_BUNDLE_TOC_ALIGN - 1) / LSC_BUNDLE_TOC_ALIGN * LSC_BUNDLE_TOC_ALIGN;
}

lsc_status lsc_bundle_writer_finish(lsc_bundle_writer *w, lsc_error *error)
{
    if (!w)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_writer_finish: NULL writer");
    if (w->finished || w->broken)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "bundle '%s': writer is %s", w->path,
                        w->finished ? "already finished" : "broken by an earlier error");
    if (w->sealed) {
        uint8_t seal_blob[LSC_SEAL_SIZE];
        lsc_seal_pack(&w->seal, seal_blob);
        LSC_TRY(lsc_bundle_writer_append(w, LSC_SEAL_NAME, LSC_SEAL_NAME_LEN, seal_blob, sizeof seal_blob,
                                         NULL, 0, NULL, error));
        if (w->minor < LSC_BUNDLE_MINOR_SEALED)
            w->minor = LSC_BUNDLE_MINOR_SEALED;
    }
    uint64_t end = w->out.written;
    uint64_t toc_offset = (end + LSC_BUNDLE_TOC_ALIGN - 1) / LSC_BUNDLE_TOC_ALIGN * LSC_BUNDLE_TOC_ALIGN;
    uint64_t toc_size = 0;
    for (size_t i = 0; i < w->n; i++)
        toc_size += toc_entry_size(&w->entries[i]);
    if (toc_size > SIZE_MAX)
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "bundle '%s': table of contents too large", w->path);
    uint8_t *toc = calloc(1, toc_size ? (size_t)toc_size : 1);
    if (!toc)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory for the table of contents", w->path);
    uint8_t *p = toc;
    for (size_t i = 0; i < w->n; i++) {
        const written *e = &w->entries[i];
        lsc_store_le64(p + LSC_TE_BLOB_OFFSET, e->offset);
        lsc_store_le64(p + LSC_TE_BLOB_SIZE, e->size);
        lsc_store_le64(p + LSC_TE_BLOB_CHECKSUM, e->checksum);
        lsc_store_le32(p + LSC_TE_NAME_LEN, (uint32_t)e->name_len);
        lsc_store_le32(p + LSC_TE_RESTORE_LEN, (uint32_t)e->restore_len);
        if (e->name_len)
            memcpy(p + LSC_BUNDLE_TOC_FIXED, e->name, e->name_len);
        if (e->restore_len)
            memcpy(p + LSC_BUNDLE_TOC_FIXED + e->name_len, e->restore, e->restore_len);
        p += toc_entry_size(e);
    }
    uint8_t header[LSC_BUNDLE_HEADER_SIZE] = {0};
    if (w->compact) {
        uint8_t *frame = NULL;
        size_t frame_size = 0;
        lsc_status st = toc_size <= LSC_BUNDLE_MAX_RAW_TOC
                            ? lsc_entropy_zstd_compress_level(NULL, toc, toc_size, 19, &frame, &frame_size, error)
                            : lsc_fail(error, LSC_ERR_TOO_LARGE, "bundle '%s': table of contents too large", w->path);
        if (st != LSC_OK) {
            free(toc);
            return st;
        }
        lsc_store_le32(header + LSC_BH_FLAGS, LSC_BUNDLE_FLAG_COMPACT);
        lsc_store_le32(header + LSC_BH_RESERVED, (uint32_t)toc_size);
        free(toc);
        toc = frame;
        toc_size = frame_size;
        w->minor = w->minor > LSC_BUNDLE_MINOR_COMPACT ? w->minor : LSC_BUNDLE_MINOR_COMPACT;
    }
    memcpy(header + LSC_BH_MAGIC, LSC_BUNDLE_MAGIC, 8);
    lsc_store_le16(header + LSC_BH_MAJOR, LSC_BUNDLE_MAJOR);
    lsc_store_le16(header + LSC_BH_MINOR, (uint16_t)w->minor);
    lsc_store_le64(header + LSC_BH_TOC_OFFSET, toc_offset);
    lsc_store_le64(header + LSC_BH_TOC_SIZE, toc_size);
    lsc_store_le64(header + LSC_BH_FILE_SIZE, toc_offset + toc_size);
    lsc_store_le32(header + LSC_BH_N_ENTRIES, (uint32_t)w->n);
    lsc_store_le64(header + LSC_BH_TOC_CHECKSUM, XXH64(toc, (size_t)toc_size, 0));
    lsc_store_le64(header + LSC_BH_HEADER_CHECKSUM, XXH64(header, LSC_BUNDLE_HEADER_HASHED, 0));
    lsc_out_write(&w->out, zeros, (size_t)(toc_offset - end));
    lsc_out_write(&w->out, toc, (size_t)toc_size);
    lsc_out_write_at(&w->out, 0, header, sizeof header);
    free(toc);
    if (w->out.status != LSC_OK)
        return out_failed(w, error);
    w->open = 0;
    lsc_status st = lsc_out_commit(&w->out, error);
    if (st != LSC_OK) {
        w->broken = 1;
        return st;
    }
    w->finished = 1;
    return LSC_OK;
}

void lsc_bundle_writer_free(lsc_bundle_writer **writer)
{
    if (!writer || !*writer)
        return;
    lsc_bundle_writer *w = *writer;
    if (w->open)
        lsc_out_abort(&w->out); /* not finished: nothing is left */
    for (size_t i = 0; i < w->n; i++) {
        free(w->entries[i].name);
        free(w->entries[i].restore);
    }
    free(w->entries);
    free(w->path);
    free(w);
    *writer = NULL;
}
