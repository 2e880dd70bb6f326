/* lsc_bundle_open and friends: maps a bundle read-only and checks its header and
 * table of contents completely (docs/format.md 2.1-2.2). Blobs themselves are
 * checked when a weight is opened. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "bundle/bundle_format.h"
#include "bundle/seal.h"
#include "codec/blob.h"
#include "common/checked.h"
#include "common/endian.h"
#include "common/error.h"

struct lsc_bundle {
    char *path;
    const uint8_t *map;
    size_t size;
    lsc_bundle_entry *entries;
    size_t n;
    const lsc_bundle_entry **by_name; /* sorted by (bytes, length) for lsc_bundle_find */
    char *names;                      /* one allocation for the NUL-terminated copies */
    int sealed;
    int shared; /* some entry shares an earlier entry's blob (2.2) */
    int compact;      /* 2.5: zstd-coded TOC, decoded into toc_raw */
    uint8_t *toc_raw; /* the decoded TOC (entries' restore records point into it) */
    lsc_seal seal;
};

#define BAD(...) lsc_fail(error, LSC_ERR_BAD_BUNDLE, __VA_ARGS__)

static int name_cmp(const lsc_bundle_entry *a, const char *name, size_t len)
{
    size_t n = a->name_len < len ? a->name_len : len;
    int c = n ? memcmp(a->name, name, n) : 0;
    if (c)
        return c;
    return a->name_len < len ? -1 : a->name_len > len;
}

static int by_name_order(const void *x, const void *y)
{
    const lsc_bundle_entry *a = *(const lsc_bundle_entry *const *)x, *b = *(const lsc_bundle_entry *const *)y;
    return name_cmp(a, b->name, b->name_len);
}

static int all_zero(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* A compact bundle's TOC (2.5): one zstd frame of exactly `raw` bytes, refused before
 * allocating when no frame of its size could hold them; *toc_size becomes `raw`. */
static lsc_status decode_toc(lsc_bundle *b, uint64_t toc_offset, uint64_t *toc_size, uint32_t raw, lsc_error *error)
{
    uint64_t most = 0;
    if (!raw || raw > LSC_BUNDLE_MAX_RAW_TOC || lsc_mul_overflow_u64(*toc_size, 32768u, &most) || raw > most)
        return BAD("bundle '%s': a %llu-byte table of contents cannot decode to %u bytes", b->path,
                   (unsigned long long)*toc_size, raw);
    if (!(b->toc_raw = malloc(raw)))
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory for the table of contents", b->path);
    size_t got = ZSTD_decompress(b->toc_raw, raw, b->map + toc_offset, (size_t)*toc_size);
    if (ZSTD_isError(got) || got != raw)
        return BAD("bundle '%s': table of contents: %s", b->path,
                   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "frame holds another size than declared");
    *toc_size = raw;
    return LSC_OK;
}

static lsc_status check_header(lsc_bundle *b, uint64_t *toc_offset, uint64_t *toc_size,
                               uint32_t *n_entries, lsc_error *error)
{
    const uint8_t *h = b->map;
    const char *path = b->path;
    if (b->size < LSC_BUNDLE_HEADER_SIZE)
        return BAD("bundle '%s': %zu bytes, shorter than the %d-byte header", path, b->size,
                   LSC_BUNDLE_HEADER_SIZE);
    if (memcmp(h, LSC_BUNDLE_MAGIC, 8) != 0)
        return BAD("bundle '%s': bad magic (not an onnx-lsc bundle)", path);
    uint64_t stored = lsc_load_le64(h + LSC_BH_HEADER_CHECKSUM), actual = XXH64(h, LSC_BUNDLE_HEADER_HASHED, 0);
    if (stored != actual)
        return lsc_fail(error, LSC_ERR_CHECKSUM, "bundle '%s': header checksum mismatch", path);
    unsigned major = lsc_load_le16(h + LSC_BH_MAJOR);
    if (major != LSC_BUNDLE_MAJOR)
        return lsc_fail(error, major > LSC_BUNDLE_MAJOR ? LSC_ERR_VERSION : LSC_ERR_BAD_BUNDLE,
                        "bundle '%s': format version %u.%u, this reader knows %d.x", path, major,
                        lsc_load_le16(h + LSC_BH_MINOR), LSC_BUNDLE_MAJOR);
    uint32_t flags = lsc_load_le32(h + LSC_BH_FLAGS), raw_toc = lsc_load_le32(h + LSC_BH_RESERVED);
    b->compact = flags == LSC_BUNDLE_FLAG_COMPACT;
    if ((flags & ~LSC_BUNDLE_FLAG_COMPACT) || (!b->compact && raw_toc))
        return BAD("bundle '%s': reserved header fields are not zero", path);
    uint64_t file_size = lsc_load_le64(h + LSC_BH_FILE_SIZE);
    if (file_size != b->size)
        return BAD("bundle '%s': file holds %zu bytes, header says %llu (truncated or extended?)", path,
                   b->size, (unsigned long long)file_size);
    *toc_offset = lsc_load_le64(h + LSC_BH_TOC_OFFSET);
    *toc_size = lsc_load_le64(h + LSC_BH_TOC_SIZE);
    *n_entries = lsc_load_le32(h + LSC_BH_N_ENTRIES);
    uint64_t toc_end;
    if (*toc_offset < LSC_BUNDLE_HEADER_SIZE || *toc_offset % LSC_BUNDLE_TOC_ALIGN ||
        lsc_add_overflow_u64(*toc_offset, *toc_size, &toc_end) || toc_end != file_size)
        return BAD("bundle '%s': table of contents at %llu (+%llu) does not end the %llu-byte file", path,
                   (unsigned long long)*toc_offset, (unsigned long long)*toc_size,
                   (unsigned long long)file_size);
    if (lsc_load_le64(h + LSC_BH_TOC_CHECKSUM) != XXH64(h + *toc_offset, (size_t)*toc_size, 0))
        return lsc_fail(error, LSC_ERR_CHECKSUM, "bundle '%s': table of contents checksum mismatch", path);
    if (b->compact)
        LSC_TRY(decode_toc(b, *toc_offset, toc_size, raw_toc, error));
    if (*n_entries > *toc_size / LSC_BUNDLE_TOC_FIXED)
        return BAD("bundle '%s': %u entries cannot fit a %llu-byte table of contents", path, *n_entries,
                   (unsigned long long)*toc_size);
    return LSC_OK;
}

/* The seal entry (docs/format.md 2.4) is checked and taken out of the entries, which
 * are the weights. */
static lsc_status take_seal(lsc_bundle *b, uint32_t *n, lsc_error *error)
{
    for (uint32_t i = 0; i < *n;) {
        lsc_bundle_entry *e = &b->entries[i];
        if (e->name_len != LSC_SEAL_NAME_LEN || memcmp(e->name, LSC_SEAL_NAME, LSC_SEAL_NAME_LEN) != 0) {
            i++;
            continue;
        }
        if (b->sealed)
            return BAD("bundle '%s': two seal entries", b->path);
        if (e->restore_len)
            return BAD("bundle '%s': the seal entry has a restore record", b->path);
        LSC_TRY(lsc_seal_parse(b->map + e->offset, e->size, b->path, &b->seal, error));
        b->sealed = 1;
        memmove(e, e + 1, (size_t)(*n - i - 1) * sizeof *e);
        (*n)--;
    }
    return LSC_OK;
}

/* The earlier entry, among `n` entries with their own blobs (increasing offsets),
 * whose blob is exactly (offset, size, checksum) of `e`; NULL if none. */
static const lsc_bundle_entry *owner_of(const lsc_bundle_entry *const *own, size_t n, const lsc_bundle_entry *e)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (own[mid]->offset < e->offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n || own[lo]->offset != e->offset || own[lo]->size != e->size || own[lo]->checksum != e->checksum)
        return NULL;
    return own[lo];
}

static lsc_status parse_toc(lsc_bundle *b, uint64_t toc_offset, uint64_t toc_size, uint32_t n,
                            lsc_error *error)
{
    const uint8_t *toc = b->compact ? b->toc_raw : b->map + toc_offset;
    const char *path = b->path;
    b->entries = calloc(n ? n : 1, sizeof *b->entries);
    b->by_name = calloc(n ? n : 1, sizeof *b->by_name);
    if (!b->entries || !b->by_name)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory for %u entries", path, n);
    uint64_t pos = 0, prev_end = LSC_BUNDLE_HEADER_SIZE, names_bytes = 0;
    size_t n_own = 0; /* entries with their own blob, listed in b->by_name until the names are sorted */
    for (uint32_t i = 0; i < n; i++) {
        lsc_bundle_entry *e = &b->entries[i];
        if (toc_size - pos < LSC_BUNDLE_TOC_FIXED)
            return BAD("bundle '%s': TOC entry %u runs past the table", path, i);
        const uint8_t *t = toc + pos;
        e->offset = lsc_load_le64(t + LSC_TE_BLOB_OFFSET);
        e->size = lsc_load_le64(t + LSC_TE_BLOB_SIZE);
        e->checksum = lsc_load_le64(t + LSC_TE_BLOB_CHECKSUM);
        e->name_len = lsc_load_le32(t + LSC_TE_NAME_LEN);
        e->restore_len = lsc_load_le32(t + LSC_TE_RESTORE_LEN);
        uint64_t len = LSC_BUNDLE_TOC_FIXED + (uint64_t)e->name_len + e->restore_len;
        uint64_t padded = (len + LSC_BUNDLE_TOC_ALIGN - 1) / LSC_BUNDLE_TOC_ALIGN * LSC_BUNDLE_TOC_ALIGN;
        if (padded > toc_size - pos)
            return BAD("bundle '%s': TOC entry %u runs past the table", path, i);
        if (!all_zero(t + len, padded - len))
            return BAD("bundle '%s': TOC entry %u has non-zero padding", path, i);
        e->name = (const char *)(t + LSC_BUNDLE_TOC_FIXED); /* replaced by a copy below */
        e->restore = t + LSC_BUNDLE_TOC_FIXED + e->name_len;
        pos += padded;
        names_bytes += e->name_len + 1;
        if (e->offset < prev_end && owner_of(b->by_name, n_own, e)) {
            b->shared = 1; /* an earlier entry's blob, checked with it */
            continue;
        }
        uint64_t end;
        if (e->offset % (b->compact ? LSC_BUNDLE_COMPACT_ALIGN : LSC_BUNDLE_BLOB_ALIGN) || e->offset < prev_end ||
            lsc_add_overflow_u64(e->offset, e->size, &end) || end > toc_offset ||
            (e->offset % LSC_BUNDLE_BLOB_ALIGN && e->size >= 4 && memcmp(b->map + e->offset, "LSCW", 4) == 0))
            return BAD("bundle '%s': TOC entry %u: blob at %llu (+%llu) is misaligned, out of order, "
                       "overlapping or out of bounds", path, i, (unsigned long long)e->offset,
                       (unsigned long long)e->size);
        /* Compact bundles hold compact entropy blobs (4.8), smaller than a blob header. */
        if (e->size < (b->compact ? LSC_BUNDLE_COMPACT_MIN_BLOB : LSC_BLOB_FIXED_HEADER))
            return BAD("bundle '%s': TOC entry %u: blob of %llu bytes is too small", path, i,
                       (unsigned long long)e->size);
        if (!all_zero(b->map + prev_end, e->offset - prev_end))
            return BAD("bundle '%s': non-zero bytes before blob %u", path, i);
        if (lsc_load_le64(b->map + e->offset + 8) != e->checksum)
            return lsc_fail(error, LSC_ERR_CHECKSUM, "bundle '%s': TOC entry %u: checksum differs from the blob's",
                            path, i);
        prev_end = end;
        b->by_name[n_own++] = e;
    }
    if (pos != toc_size)
        return BAD("bundle '%s': %llu bytes after the last TOC entry", path,
                   (unsigned long long)(toc_size - pos));
    if (!all_zero(b->map + prev_end, toc_offset - prev_end))
        return BAD("bundle '%s': non-zero bytes before the table of contents", path);
    LSC_TRY(take_seal(b, &n, error));

    b->names = malloc(names_bytes ? (size_t)names_bytes : 1);
    if (!b->names)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory for names", path);
    char *p = b->names;
    for (uint32_t i = 0; i < n; i++) {
        lsc_bundle_entry *e = &b->entries[i];
        memcpy(p, e->name, e->name_len);
        p[e->name_len] = 0;
        e->name = p;
        p += e->name_len + 1;
        b->by_name[i] = e;
    }
    b->n = n;
    qsort(b->by_name, n, sizeof *b->by_name, by_name_order);
    for (uint32_t i = 1; i < n; i++)
        if (by_name_order(&b->by_name[i - 1], &b->by_name[i]) == 0)
            return BAD("bundle '%s': entry name '%s' appears twice", path, b->by_name[i]->name);
    return LSC_OK;
}

int lsc_bundle_has_shared(const lsc_bundle *bundle)
{
    return bundle && bundle->shared;
}

int lsc_bundle_is_compact(const lsc_bundle *bundle)
{
    return bundle && bundle->compact;
}

lsc_status lsc_bundle_open(const char *path, lsc_bundle **bundle_out, lsc_error *error)
{
    if (!path || !bundle_out)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_open: NULL argument");
    *bundle_out = NULL;
    lsc_bundle *b = calloc(1, sizeof *b);
    if (!b || !(b->path = strdup(path))) {
        free(b);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "bundle '%s': out of memory", path);
    }
    lsc_status st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb)) {
        st = lsc_fail(error, LSC_ERR_IO, "bundle '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = lsc_fail(error, LSC_ERR_IO, "bundle '%s': not a regular file", path);
        goto fail;
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        st = lsc_fail(error, LSC_ERR_TOO_LARGE, "bundle '%s': too large to map", path);
        goto fail;
    }
    b->size = (size_t)sb.st_size;
    if (b->size < LSC_BUNDLE_HEADER_SIZE) {
        st = BAD("bundle '%s': %zu bytes, shorter than the %d-byte header", path, b->size,
                 LSC_BUNDLE_HEADER_SIZE);
        goto fail;
    }
    void *map = mmap(NULL, b->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        st = lsc_fail(error, LSC_ERR_IO, "bundle '%s': mmap: %s", path, strerror(errno));
        goto fail;
    }
    b->map = map;
    close(fd);
    fd = -1;
    uint64_t toc_offset = 0, toc_size = 0;
    uint32_t n = 0;
    st = check_header(b, &toc_offset, &toc_size, &n, error);
    if (st == LSC_OK)
        st = parse_toc(b, toc_offset, toc_size, n, error);
    if (st != LSC_OK)
        goto fail;
    *bundle_out = b;
    return LSC_OK;
fail:
    if (fd >= 0)
        close(fd);
    lsc_bundle_close(&b);
    return st;
}

void lsc_bundle_close(lsc_bundle **bundle)
{
    if (!bundle || !*bundle)
        return;
    lsc_bundle *b = *bundle;
    if (b->map)
        munmap((void *)b->map, b->size);
    free(b->entries);
    free(b->by_name);
    free(b->names);
    free(b->toc_raw);
    free(b->path);
    free(b);
    *bundle = NULL;
}

size_t lsc_bundle_count(const lsc_bundle *bundle)
{
    return bundle ? bundle->n : 0;
}

const lsc_bundle_entry *lsc_bundle_get(const lsc_bundle *bundle, size_t index)
{
    return bundle && index < bundle->n ? &bundle->entries[index] : NULL;
}

size_t lsc_bundle_find(const lsc_bundle *bundle, const char *name, size_t name_len)
{
    if (!bundle || (!name && name_len))
        return (size_t)-1;
    size_t lo = 0, hi = bundle->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(bundle->by_name[mid], name, name_len);
        if (c == 0)
            return (size_t)(bundle->by_name[mid] - bundle->entries);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t)-1;
}

const void *lsc_bundle_blob(const lsc_bundle *bundle, size_t index)
{
    return bundle && index < bundle->n ? bundle->map + bundle->entries[index].offset : NULL;
}

lsc_status lsc_bundle_open_weight(const lsc_bundle *bundle, size_t index, lsc_weight **weight_out,
                                  lsc_error *error)
{
    if (!bundle || index >= bundle->n)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_bundle_open_weight: no entry %zu", index);
    const lsc_bundle_entry *e = &bundle->entries[index];
    lsc_status st = lsc_weight_open(bundle->map + e->offset, (size_t)e->size, e->name, weight_out, error);
    if (st != LSC_OK)
        lsc_error_prefix(error, bundle->path);
    return st;
}

int lsc_bundle_get_seal(const lsc_bundle *bundle, lsc_seal *seal)
{
    if (!bundle || !bundle->sealed)
        return 0;
    if (seal)
        *seal = bundle->seal;
    return 1;
}

const char *lsc_bundle_path(const lsc_bundle *bundle)
{
    return bundle ? bundle->path : NULL;
}
