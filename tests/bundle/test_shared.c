/* Shared blobs (docs/format.md 2.2, bundle minor 3): a writer told to share stores
 * an equal blob once and points later entries at it, except between entries of one
 * value name ("w", "w#2") whose restore records differ; the reader accepts an entry
 * that repeats an earlier entry's (offset, size, checksum) and nothing else that
 * points back; re-sealing keeps the layout; every single-byte corruption is caught. */
#include <stdio.h>
#include <unistd.h>

#include <xxhash.h>

#include "bundle/bundle_format.h"
#include "bundle/seal.h"
#include "check.h"
#include "codec_util.h"
#include "common/endian.h"
#include "files.h"

static int fully_valid(const char *path)
{
    lsc_bundle *b = NULL;
    lsc_error err;
    if (lsc_bundle_open(path, &b, &err) != LSC_OK)
        return 0;
    int ok = 1;
    for (size_t i = 0; i < lsc_bundle_count(b) && ok; i++) {
        lsc_weight *w = NULL;
        ok = lsc_bundle_open_weight(b, i, &w, &err) == LSC_OK;
        lsc_weight_close(&w);
    }
    lsc_bundle_close(&b);
    return ok;
}

#define N 5
/* name, which blob (0 or 1), restore record */
static const struct { const char *name, *restore; int blob; } entries[N] = {
    {"a", "ra", 0}, {"b", "rb", 1}, {"c", "rc", 0}, {"a#2", "other", 0}, {"c#3", "rc", 0}};
/* the entry whose offset each takes: "a#2" has its own copy (same value name as "a",
 * other restore record), "c#3" shares with "c" (equal records), hence with "a" */
static const int owner[N] = {0, 1, 0, 3, 0};

static size_t write_bundle(const char *path, int share, void *const *blobs, const size_t *sizes,
                           uint64_t *offsets)
{
    lsc_bundle_writer *w = NULL;
    lsc_error err;
    CHECK(lsc_bundle_writer_create(path, &w, &err) == LSC_OK);
    if (share)
        lsc_bundle_writer_share_blobs(w);
    for (int i = 0; i < N; i++) {
        int k = entries[i].blob;
        CHECK(lsc_bundle_writer_add(w, entries[i].name, strlen(entries[i].name), blobs[k], sizes[k],
                                    entries[i].restore, strlen(entries[i].restore), &offsets[i], &err) == LSC_OK);
    }
    lsc_seal seal = {.model_size = 77};
    CHECK(lsc_bundle_writer_seal(w, &seal, &err) == LSC_OK);
    CHECK(lsc_bundle_writer_finish(w, &err) == LSC_OK);
    lsc_bundle_writer_free(&w);
    size_t size = 0;
    free(test_read_file(path, &size));
    return size;
}

/* Rewrites TOC entry `i`'s (offset, size, checksum) and the checksums over them. */
static void patch_entry(uint8_t *file, int i, uint64_t offset, uint64_t size, uint64_t checksum)
{
    uint64_t toc = lsc_load_le64(file + LSC_BH_TOC_OFFSET), toc_size = lsc_load_le64(file + LSC_BH_TOC_SIZE);
    uint8_t *t = file + toc;
    for (int k = 0; k < i; k++) {
        uint64_t len = LSC_BUNDLE_TOC_FIXED + lsc_load_le32(t + LSC_TE_NAME_LEN) + lsc_load_le32(t + LSC_TE_RESTORE_LEN);
        t += (len + 7) / 8 * 8;
    }
    lsc_store_le64(t + LSC_TE_BLOB_OFFSET, offset);
    lsc_store_le64(t + LSC_TE_BLOB_SIZE, size);
    lsc_store_le64(t + LSC_TE_BLOB_CHECKSUM, checksum);
    lsc_store_le64(file + LSC_BH_TOC_CHECKSUM, XXH64(file + toc, (size_t)toc_size, 0));
    lsc_store_le64(file + LSC_BH_HEADER_CHECKSUM, XXH64(file, LSC_BUNDLE_HEADER_HASHED, 0));
}

int main(void)
{
    char dir[] = "/tmp/lsc-test-shared-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[300], bad[300];
    snprintf(path, sizeof path, "%s/model.lsc", dir);
    snprintf(bad, sizeof bad, "%s/bad.lsc", dir);

    uint64_t s = 9;
    void *blobs[2];
    size_t sizes[2];
    float dense[2][16 * 9];
    for (int k = 0; k < 2; k++) {
        fill_random((uint8_t *)dense[k], 16 * 9, LSC_DTYPE_FLOAT32, 0.2 + 0.3 * k, 0.0, &s);
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {16, 9}, .data = dense[k]};
        lsc_error err;
        CHECK(lsc_encode(&t, NULL, &blobs[k], &sizes[k], NULL, &err) == LSC_OK);
    }

    /* Not told to share: every blob written (minor 2: sealed). */
    uint64_t plain[N], shared[N];
    size_t plain_size = write_bundle(path, 0, blobs, sizes, plain);
    for (int i = 1; i < N; i++)
        CHECK(plain[i] > plain[i - 1]);
    size_t n = 0;
    uint8_t *file = test_read_file(path, &n);
    CHECK(lsc_load_le16(file + LSC_BH_MINOR) == LSC_BUNDLE_MINOR_SEALED);
    free(file);

    /* Told to share. */
    size_t shared_size = write_bundle(path, 1, blobs, sizes, shared);
    for (int i = 0; i < N; i++)
        CHECKF(shared[i] == shared[owner[i]], "entry %d at %llu, its owner's at %llu", i,
               (unsigned long long)shared[i], (unsigned long long)shared[owner[i]]);
    CHECK(shared[3] != shared[0] && shared[1] != shared[0]);
    CHECKF(shared_size + 2 * ((sizes[0] + 63) / 64 * 64) <= plain_size + 64, "%zu vs %zu bytes", shared_size,
           plain_size);
    file = test_read_file(path, &n);
    CHECK(n == shared_size && lsc_load_le16(file + LSC_BH_MINOR) == LSC_BUNDLE_MINOR_SHARED);

    lsc_bundle *b = NULL;
    lsc_error err;
    CHECKF(lsc_bundle_open(path, &b, &err) == LSC_OK, "%s", err.message);
    CHECK(lsc_bundle_count(b) == N && lsc_bundle_has_shared(b));
    for (int i = 0; i < N && b; i++) {
        const lsc_bundle_entry *e = lsc_bundle_get(b, (size_t)i);
        int k = entries[i].blob;
        CHECK(e->offset == shared[i] && e->size == sizes[k]);
        CHECK(e->restore_len == strlen(entries[i].restore) && memcmp(e->restore, entries[i].restore, e->restore_len) == 0);
        lsc_weight *wt = NULL;
        float out[16 * 9];
        CHECK(lsc_bundle_open_weight(b, (size_t)i, &wt, &err) == LSC_OK);
        CHECK(wt && lsc_weight_decode(wt, out, sizeof out, &err) == LSC_OK && memcmp(out, dense[k], sizeof out) == 0);
        lsc_weight_close(&wt);
    }

    /* Re-sealing writes the same layout (shared blobs stay shared). */
    lsc_seal seal = {.model_size = 78};
    char again[300];
    snprintf(again, sizeof again, "%s/again.lsc", dir);
    CHECKF(lsc_bundle_reseal(b, again, &seal, &err) == LSC_OK, "%s", err.message);
    lsc_bundle_close(&b);
    size_t again_size = 0;
    uint8_t *resealed = test_read_file(again, &again_size);
    CHECK(resealed && again_size == n);
    CHECK(lsc_bundle_open(again, &b, &err) == LSC_OK && lsc_bundle_get(b, 4)->offset == shared[0]);
    lsc_bundle_close(&b);
    free(resealed);
    unlink(again);

    /* Pointing back is allowed only at an earlier entry's exact blob. */
    uint8_t *copy = malloc(n);
    CHECK(copy != NULL);
    const uint64_t cases[][3] = {
        {shared[0], sizes[0] - 8, 0},  /* a shorter view of blob 0 */
        {shared[0], sizes[0], 1},      /* another checksum */
        {shared[0] + 64, sizes[0], 2}, /* inside blob 0 */
        {shared[1], sizes[0], 3},      /* blob 1's offset, blob 0's size */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(copy, file, n);
        uint64_t sum = cases[c][2] == 1 ? 12345 : lsc_load_le64((const uint8_t *)blobs[0] + 8);
        patch_entry(copy, 2, cases[c][0], cases[c][1], sum);
        test_write_file(bad, copy, n);
        CHECKF(lsc_bundle_open(bad, &b, &err) == LSC_ERR_BAD_BUNDLE, "case %zu opened", c);
        lsc_bundle_close(&b);
    }
    /* A later entry's blob cannot be referred to ahead of it: entry 0 at entry 1's blob. */
    memcpy(copy, file, n);
    patch_entry(copy, 0, shared[1], sizes[1], lsc_load_le64((const uint8_t *)blobs[1] + 8));
    test_write_file(bad, copy, n);
    CHECK(lsc_bundle_open(bad, &b, &err) == LSC_ERR_BAD_BUNDLE);

    /* Every single-byte corruption caught. */
    unsigned missed = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, file, n);
        copy[i] ^= (uint8_t)(1u << (i % 8));
        test_write_file(bad, copy, n);
        if (fully_valid(bad)) {
            fprintf(stderr, "corruption at byte %zu not detected\n", i);
            missed++;
        }
    }
    CHECK(missed == 0);
    printf("shared bundle of %zu bytes (%zu unshared): %zu corruptions caught\n", n, plain_size, n);

    free(copy);
    free(file);
    for (int k = 0; k < 2; k++)
        lsc_free(blobs[k]);
    unlink(path);
    unlink(bad);
    rmdir(dir);
    return check_exit();
}
