/* lsc_bundle_writer: streams blobs into a temporary file beside the destination,
 * then writes the TOC and, last, the header; fsync and rename make the bundle appear
 * only when complete (docs/format.md 2.1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "bundle/bundle_format.h"
#include "bundle/seal.h"
#include "codec/blob.h"
#include "common/checked.h"
#include "common/endian.h"
#include "common/error.h"

typedef struct written {
    uint64_t offset, size, checksum;
    uint8_t *name, *restore;
    size_t name_len, restore_len;
} written;

struct lsc_bundle_writer {
    char *path, *tmp_path;
    int fd;
    uint64_t end; /* bytes written so far */
    written *entries;
    size_t n, cap;
    int broken;   /* a write failed: the file is unusable */
    int finished;
    int sealed;   /* the seal is the last entry (docs/format.md 2.4) */
    lsc_seal seal;
    unsigned minor;
};

static lsc_status io_fail(lsc_bundle_writer *w, lsc_error *error, const char *what)
{
    int e = errno;
    w->broken = 1;
    return lsc_fail(error, LSC_ERR_IO, "bundle '%s': %s: %s", w->path, what, strerror(e));
}

static int write_all(int fd, const void *buf, size_t len, uint64_t offset)
{
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

static int write_zeros(int fd, uint64_t count, uint64_t offset)
{
    static const uint8_t zeros[LSC_BUNDLE_BLOB_ALIGN];
    while (count) {
        size_t n = count < sizeof zeros ? (size_t)count : sizeof zeros;
        if (write_all(fd, zeros, n, offset))
            return -1;
        count -= n;
        offset += n;
    }
    return 0;
}

/* A new file beside `path`, named like mkstemp's but created with open(O_EXCL) and
 * mode 0666 so that the umask applies as to any file the user creates. */
static int create_temp(const char *path, char **tmp_out)
{
    size_t len = strlen(path) + 64;
    char *tmp = malloc(len);
    if (!tmp) {
        errno = ENOMEM;
        return -1;
    }
    const char *slash = strrchr(path, '/');
    int dir_len = slash ? (int)(slash - path + 1) : 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
                    (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(tmp, len, "%.*s.%s.tmp-%06llx", dir_len, path, path + dir_len,
                 (unsigned long long)(seed >> 40));
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    free(tmp);
    errno = e;
    return -1;
}

lsc_status lsc_bundle_writer_create(const char *path, lsc_bundle_writer **writer_out, lsc_error *error)
{
    if (!path || !writer_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_writer_create: NULL argument");
    *writer_out = NULL;
    lsc_bundle_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->fd = -1;
        w->minor = LSC_BUNDLE_MINOR;
    }
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory", path);
    }
    w->fd = create_temp(path, &w->tmp_path);
    if (w->fd < 0) {
        lsc_status st = io_fail(w, error, "cannot create a temporary file beside it");
        free(w->path);
        free(w);
        return st;
    }
    /* The header is written last; its room is zeros until then. */
    if (write_zeros(w->fd, LSC_BUNDLE_HEADER_SIZE, 0)) {
        lsc_status st = io_fail(w, error, "write");
        lsc_bundle_writer_free(&w);
        return st;
    }
    w->end = LSC_BUNDLE_HEADER_SIZE;
    *writer_out = w;
    return LSC_OK;
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
    uint64_t pad = (LSC_BUNDLE_BLOB_ALIGN - w->end % LSC_BUNDLE_BLOB_ALIGN) % LSC_BUNDLE_BLOB_ALIGN;
    e->offset = w->end + pad;
    e->size = blob_size;
    e->checksum = lsc_load_le64((const uint8_t *)blob + 8);
    const uint8_t *head = blob;
    if (blob_size > 5 && memcmp(head, "LSCW", 4) == 0 && (head[5] == LSC_DTYPE_UINT8 || head[5] == LSC_DTYPE_INT8) &&
        w->minor < LSC_BUNDLE_MINOR_8BIT)
        w->minor = LSC_BUNDLE_MINOR_8BIT; /* readers before it reject such a weight */
    if (write_zeros(w->fd, pad, w->end) || write_all(w->fd, blob, blob_size, e->offset)) {
        free(e->name);
        free(e->restore);
        return io_fail(w, error, "write");
    }
    w->end = e->offset + blob_size;
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
        w->minor = LSC_BUNDLE_MINOR_SEALED;
    }
    uint64_t toc_offset = (w->end + LSC_BUNDLE_TOC_ALIGN - 1) / LSC_BUNDLE_TOC_ALIGN * LSC_BUNDLE_TOC_ALIGN;
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
    memcpy(header + LSC_BH_MAGIC, LSC_BUNDLE_MAGIC, 8);
    lsc_store_le16(header + LSC_BH_MAJOR, LSC_BUNDLE_MAJOR);
    lsc_store_le16(header + LSC_BH_MINOR, (uint16_t)w->minor);
    lsc_store_le64(header + LSC_BH_TOC_OFFSET, toc_offset);
    lsc_store_le64(header + LSC_BH_TOC_SIZE, toc_size);
    lsc_store_le64(header + LSC_BH_FILE_SIZE, toc_offset + toc_size);
    lsc_store_le32(header + LSC_BH_N_ENTRIES, (uint32_t)w->n);
    lsc_store_le64(header + LSC_BH_TOC_CHECKSUM, XXH64(toc, (size_t)toc_size, 0));
    lsc_store_le64(header + LSC_BH_HEADER_CHECKSUM, XXH64(header, LSC_BUNDLE_HEADER_HASHED, 0));
    int failed = write_zeros(w->fd, toc_offset - w->end, w->end) ||
                 write_all(w->fd, toc, (size_t)toc_size, toc_offset) ||
                 write_all(w->fd, header, sizeof header, 0);
    free(toc);
    if (failed)
        return io_fail(w, error, "write");
    if (fsync(w->fd))
        return io_fail(w, error, "fsync");
    int fd = w->fd;
    w->fd = -1;
    if (close(fd))
        return io_fail(w, error, "close");
    if (rename(w->tmp_path, w->path))
        return io_fail(w, error, "rename of the temporary file");
    w->finished = 1;
    /* Make the rename itself durable; a failure here loses nothing already written. */
    const char *slash = strrchr(w->path, '/');
    char *dir = slash ? strndup(w->path, (size_t)(slash - w->path + 1)) : strdup(".");
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    return LSC_OK;
}

void lsc_bundle_writer_free(lsc_bundle_writer **writer)
{
    if (!writer || !*writer)
        return;
    lsc_bundle_writer *w = *writer;
    if (w->fd >= 0)
        close(w->fd);
    if (!w->finished && w->tmp_path)
        unlink(w->tmp_path);
    for (size_t i = 0; i < w->n; i++) {
        free(w->entries[i].name);
        free(w->entries[i].restore);
    }
    free(w->entries);
    free(w->path);
    free(w->tmp_path);
    free(w);
    *writer = NULL;
}
