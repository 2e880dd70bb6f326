/* The seal (docs/format.md 2.4): a digest of the rewritten model file that the
 * bundle records when compress writes the pair, so that an edit of the model made
 * afterwards (a flipped byte in a bias, a renamed node) is seen by verify, and
 * re-sealing after a legitimate edit. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "bundle/bundle_format.h"
#include "bundle/seal.h"
#include "codec/blob.h"
#include "common/endian.h"
#include "common/error.h"

#define READ_CHUNK (1u << 20)

lsc_status lsc_seal_compute(const char *path, lsc_seal *seal, lsc_error *error)
{
    if (!path || !seal)
        return lsc_fail(error, LSC_ERR_INVALID_ARGUMENT, "lsc_seal_compute: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lsc_fail(error, LSC_ERR_IO, "%s: %s", path, strerror(errno));
    uint8_t *buf = malloc(READ_CHUNK);
    XXH3_state_t state;
    XXH3_128bits_reset(&state);
    uint64_t size = 0;
    lsc_status st = buf ? LSC_OK : lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", path);
    while (st == LSC_OK) {
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            st = lsc_fail(error, LSC_ERR_IO, "%s: read: %s", path, strerror(errno));
        if (n <= 0)
            break;
        XXH3_128bits_update(&state, buf, (size_t)n);
        size += (uint64_t)n;
    }
    close(fd);
    free(buf);
    if (st != LSC_OK)
        return st;
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state));
    seal->model_size = size;
    memcpy(seal->digest, canonical.digest, sizeof seal->digest);
    return LSC_OK;
}

int lsc_seal_equal(const lsc_seal *a, const lsc_seal *b)
{
    return a->model_size == b->model_size && memcmp(a->digest, b->digest, sizeof a->digest) == 0;
}

void lsc_seal_pack(const lsc_seal *seal, uint8_t blob[LSC_SEAL_SIZE])
{
    memset(blob, 0, LSC_SEAL_SIZE);
    memcpy(blob + LSC_SEAL_F_MAGIC, LSC_SEAL_MAGIC, 4);
    lsc_store_le32(blob + LSC_SEAL_F_VERSION, LSC_SEAL_VERSION);
    lsc_store_le64(blob + LSC_SEAL_F_MODEL_SIZE, seal->model_size);
    lsc_store_le32(blob + LSC_SEAL_F_ALGORITHM, LSC_SEAL_ALGORITHM_XXH3_128);
    memcpy(blob + LSC_SEAL_F_DIGEST, seal->digest, sizeof seal->digest);
    lsc_store_le64(blob + LSC_SEAL_F_CHECKSUM, lsc_blob_checksum(blob, LSC_SEAL_SIZE));
}

lsc_status lsc_seal_parse(const uint8_t *blob, uint64_t size, const char *path, lsc_seal *seal,
                          lsc_error *error)
{
    if (size != LSC_SEAL_SIZE || memcmp(blob + LSC_SEAL_F_MAGIC, LSC_SEAL_MAGIC, 4) != 0)
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "bundle '%s': the seal entry is not a %d-byte seal",
                        path, LSC_SEAL_SIZE);
    if (lsc_load_le64(blob + LSC_SEAL_F_CHECKSUM) != lsc_blob_checksum(blob, LSC_SEAL_SIZE))
        return lsc_fail(error, LSC_ERR_CHECKSUM, "bundle '%s': seal checksum mismatch", path);
    uint32_t version = lsc_load_le32(blob + LSC_SEAL_F_VERSION);
    uint32_t algorithm = lsc_load_le32(blob + LSC_SEAL_F_ALGORITHM);
    if (version != LSC_SEAL_VERSION || algorithm != LSC_SEAL_ALGORITHM_XXH3_128)
        return lsc_fail(error, LSC_ERR_VERSION, "bundle '%s': seal version %u, digest %u: this reader knows 1, 1",
                        path, version, algorithm);
    for (unsigned i = LSC_SEAL_F_DIGEST + 16; i < LSC_SEAL_SIZE; i++)
        if (blob[i])
            return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "bundle '%s': seal: reserved bytes are not zero", path);
    seal->model_size = lsc_load_le64(blob + LSC_SEAL_F_MODEL_SIZE);
    memcpy(seal->digest, blob + LSC_SEAL_F_DIGEST, sizeof seal->digest);
    return LSC_OK;
}

lsc_status lsc_bundle_reseal(const lsc_bundle *bundle, const char *path, const lsc_seal *seal,
                             lsc_error *error)
{
    lsc_bundle_writer *w = NULL;
    LSC_TRY(lsc_bundle_writer_create(path, &w, error));
    if (lsc_bundle_has_shared(bundle))
        lsc_bundle_writer_share_blobs(w); /* so that shared blobs stay shared, at their offsets */
    if (lsc_bundle_is_compact(bundle))
        lsc_bundle_writer_compact(w); /* so that blobs stay at their offsets */
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < lsc_bundle_count(bundle); i++) {
        const lsc_bundle_entry *e = lsc_bundle_get(bundle, i);
        uint64_t offset = 0;
        st = lsc_bundle_writer_append(w, e->name, e->name_len, lsc_bundle_blob(bundle, i), (size_t)e->size,
                                      e->restore, e->restore_len, &offset, error);
        /* The model points at each blob's offset: a layout this writer would not
         * reproduce (gaps another writer left) cannot be re-sealed by copying. */
        if (st == LSC_OK && offset != e->offset)
            st = lsc_fail(error, LSC_ERR_UNSUPPORTED,
                          "bundle '%s': entry '%.200s' would move from offset %llu to %llu; "
                          "compress the original again instead", path, e->name,
                          (unsigned long long)e->offset, (unsigned long long)offset);
    }
    if (st == LSC_OK)
        st = lsc_bundle_writer_seal(w, seal, error);
    if (st == LSC_OK)
        st = lsc_bundle_writer_finish(w, error);
    lsc_bundle_writer_free(&w);
    return st;
}

const char *lsc_seal_state_string(lsc_seal_state state)
{
    switch (state) {
    case LSC_SEAL_NOT_COMPRESSED: return "not-compressed";
    case LSC_SEAL_INTACT: return "intact";
    case LSC_SEAL_MODIFIED: return "modified";
    case LSC_SEAL_ABSENT: return "not-sealed";
    }
    return "unknown";
}
