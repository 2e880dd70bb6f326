/* The .lsc bundle: write several blobs (odd names, restore records), read them back
 * by index and by name, decode; every single-byte corruption of the file is caught
 * (by lsc_bundle_open or when the weight is opened), every truncation rejected; the
 * writer leaves nothing behind when not finished, and refuses bad use. */
#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "bundle/bundle_format.h"
#include "check.h"
#include "files.h"
#include "codec_util.h"
#include "common/endian.h"

static char dir[256];

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.' || (e->d_name[1] && (e->d_name[1] != '.' || e->d_name[2]));
    if (d)
        closedir(d);
    return n;
}

/* 1 if the bundle at path opens and every weight opens. */
static int fully_valid(const char *path)
{
    lsc_bundle *b = NULL;
    lsc_error err;
    if (lsc_bundle_open(path, &b, &err) != LSC_OK) {
        CHECK(b == NULL && err.message[0]);
        return 0;
    }
    int ok = 1;
    for (size_t i = 0; i < lsc_bundle_count(b) && ok; i++) {
        lsc_weight *w = NULL;
        ok = lsc_bundle_open_weight(b, i, &w, &err) == LSC_OK;
        lsc_weight_close(&w);
    }
    lsc_bundle_close(&b);
    return ok;
}

#define N_BLOBS 4

/* Writes a bundle of the given blobs (none: empty) and checks its exact layout
 * against docs/format.md 2.1: blobs at multiples of 64 from 64, the TOC at the
 * first multiple of 8 at or after the end of the last blob, file_size = the file's. */
static void check_layout(const char *path, void *const *blobs, const size_t *sizes, int n)
{
    lsc_bundle_writer *w = NULL;
    lsc_error err;
    CHECK(lsc_bundle_writer_create(path, &w, &err) == LSC_OK);
    uint64_t end = LSC_BUNDLE_HEADER_SIZE;
    for (int i = 0; i < n; i++) {
        char name[8];
        snprintf(name, sizeof name, "w%d", i);
        uint64_t off = 0;
        CHECK(lsc_bundle_writer_add(w, name, strlen(name), blobs[i], sizes[i], NULL, 0, &off, &err) == LSC_OK);
        CHECK(off == (end + 63) / 64 * 64);
        end = off + sizes[i];
    }
    CHECK(lsc_bundle_writer_finish(w, &err) == LSC_OK);
    lsc_bundle_writer_free(&w);
    size_t size = 0;
    uint8_t *b = test_read_file(path, &size);
    uint64_t toc_offset = lsc_load_le64(b + LSC_BH_TOC_OFFSET), toc_size = lsc_load_le64(b + LSC_BH_TOC_SIZE);
    CHECKF(toc_offset == (end + 7) / 8 * 8, "%d blob(s) ending at %llu: toc_offset %llu", n,
           (unsigned long long)end, (unsigned long long)toc_offset);
    CHECK(lsc_load_le64(b + LSC_BH_FILE_SIZE) == size && toc_offset + toc_size == size);
    if (n == 0)
        CHECKF(size == 64 && toc_offset == 64 && toc_size == 0, "empty bundle: %zu bytes", size);
    free(b);
    remove(path);
}

/* A reader takes any TOC place the rules allow (docs/format.md 2.1): one moved 8
 * bytes out over zeros opens; a non-zero byte in the gap does not. */
static void check_moved_toc(const char *path)
{
    lsc_bundle_writer *w = NULL;
    lsc_error err;
    CHECK(lsc_bundle_writer_create(path, &w, &err) == LSC_OK && lsc_bundle_writer_finish(w, &err) == LSC_OK);
    lsc_bundle_writer_free(&w);
    size_t size = 0;
    uint8_t *b = test_read_file(path, &size);
    uint8_t moved[72] = {0};
    memcpy(moved, b, 64);
    lsc_store_le64(moved + LSC_BH_TOC_OFFSET, 72);
    lsc_store_le64(moved + LSC_BH_FILE_SIZE, 72);
    lsc_store_le64(moved + LSC_BH_HEADER_CHECKSUM, XXH64(moved, LSC_BUNDLE_HEADER_HASHED, 0));
    test_write_file(path, moved, sizeof moved);
    lsc_bundle *bundle = NULL;
    CHECKF(lsc_bundle_open(path, &bundle, &err) == LSC_OK, "%s", err.message);
    lsc_bundle_close(&bundle);
    moved[68] = 1;
    test_write_file(path, moved, sizeof moved);
    CHECK(lsc_bundle_open(path, &bundle, &err) == LSC_ERR_BAD_BUNDLE);
    free(b);
    remove(path);
}

static void check_layouts(const char *path)
{
    check_layout(path, NULL, NULL, 0);
    check_moved_toc(path);
    /* single blobs whose end is and is not a multiple of 8 (both TOC parities) */
    int seen[2] = {0, 0};
    uint64_t s = 11;
    for (int k = 0; k < 64 && !(seen[0] && seen[1]); k++) {
        float dense[9 * 5];
        fill_random((uint8_t *)dense, 9 * 5, LSC_DTYPE_FLOAT32, 0.05 + 0.015 * k, 0.0, &s);
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {9, 5}, .data = dense};
        void *blob = NULL;
        size_t size = 0;
        lsc_error err;
        CHECK(lsc_encode(&t, NULL, &blob, &size, NULL, &err) == LSC_OK);
        int parity = size % 8 == 0;
        if (blob && !seen[parity]) {
            seen[parity] = 1;
            check_layout(path, &blob, &size, 1);
            void *two[2] = {blob, blob};
            size_t sizes[2] = {size, size};
            check_layout(path, two, sizes, 2);
        }
        lsc_free(blob);
    }
    CHECKF(seen[0] && seen[1], "no blob size of each parity (%d, %d)", seen[0], seen[1]);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lsc-test-bundle-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/model.lsc", dir);
    check_layouts(path);

    /* Blobs. */
    uint64_t s = 5;
    static const struct { const char *name; size_t len; } names[N_BLOBS] = {
        {"fc1.weight", 10}, {"", 0}, {"a\0b", 3}, {"{\"json\": [1, 2]}", 16}};
    void *blobs[N_BLOBS];
    size_t sizes[N_BLOBS];
    float dense[N_BLOBS][12 * 7];
    for (int i = 0; i < N_BLOBS; i++) {
        fill_random((uint8_t *)dense[i], 12 * 7, LSC_DTYPE_FLOAT32, 0.1 + 0.2 * i, 0.0, &s);
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {12, 7}, .data = dense[i]};
        lsc_error err;
        CHECK(lsc_encode(&t, NULL, &blobs[i], &sizes[i], NULL, &err) == LSC_OK);
    }

    /* Free without finish: nothing left. */
    lsc_bundle_writer *w = NULL;
    lsc_error err;
    CHECK(lsc_bundle_writer_create(path, &w, &err) == LSC_OK);
    CHECK(lsc_bundle_writer_add(w, "x", 1, blobs[0], sizes[0], NULL, 0, NULL, &err) == LSC_OK);
    CHECK(files_in_dir() == 1);
    lsc_bundle_writer_free(&w);
    CHECK(w == NULL);
    CHECK(files_in_dir() == 0);

    /* A real one. */
    CHECK(lsc_bundle_writer_create(path, &w, &err) == LSC_OK);
    uint64_t offsets[N_BLOBS];
    for (int i = 0; i < N_BLOBS; i++) {
        char restore[32];
        int rl = snprintf(restore, sizeof restore, "restore-%d", i);
        CHECK(lsc_bundle_writer_add(w, names[i].name, names[i].len, blobs[i], sizes[i], restore,
                                    (size_t)rl * (i != 2), &offsets[i], &err) == LSC_OK);
        CHECK(offsets[i] % 64 == 0 && offsets[i] >= 64);
    }
    /* Refused: duplicate name, invalid blob. */
    CHECK(lsc_bundle_writer_add(w, "", 0, blobs[0], sizes[0], NULL, 0, NULL, &err) == LSC_ERR_INVALID_ARGUMENT);
    CHECK(lsc_bundle_writer_add(w, "bad", 3, blobs[0], sizes[0] - 1, NULL, 0, NULL, &err) != LSC_OK);
    CHECK(access(path, F_OK) != 0); /* not there before finish */
    CHECK(lsc_bundle_writer_finish(w, &err) == LSC_OK);
    CHECK(lsc_bundle_writer_add(w, "late", 4, blobs[0], sizes[0], NULL, 0, NULL, &err) != LSC_OK);
    CHECK(lsc_bundle_writer_finish(w, &err) != LSC_OK);
    lsc_bundle_writer_free(&w);
    CHECK(files_in_dir() == 1);

    /* Read back. */
    lsc_bundle *b = NULL;
    CHECKF(lsc_bundle_open(path, &b, &err) == LSC_OK, "%s", err.message);
    CHECK(lsc_bundle_count(b) == N_BLOBS);
    for (int i = 0; i < N_BLOBS && b; i++) {
        const lsc_bundle_entry *e = lsc_bundle_get(b, (size_t)i);
        CHECK(e->name_len == names[i].len && memcmp(e->name, names[i].name, names[i].len) == 0);
        CHECK(e->name[e->name_len] == 0);
        CHECK(e->offset == offsets[i] && e->size == sizes[i]);
        CHECK(lsc_bundle_find(b, names[i].name, names[i].len) == (size_t)i);
        CHECK(memcmp(lsc_bundle_blob(b, (size_t)i), blobs[i], sizes[i]) == 0);
        char restore[32];
        int rl = snprintf(restore, sizeof restore, "restore-%d", i);
        CHECK(e->restore_len == (size_t)rl * (i != 2) && memcmp(e->restore, restore, e->restore_len) == 0);
        lsc_weight *wt = NULL;
        CHECK(lsc_bundle_open_weight(b, (size_t)i, &wt, &err) == LSC_OK);
        float out[12 * 7];
        CHECK(wt && lsc_weight_decode(wt, out, sizeof out, &err) == LSC_OK);
        for (int k = 0; k < 12 * 7; k++)
            CHECK(memcmp(&out[k], &dense[i][k], 4) == 0);
        lsc_weight_close(&wt);
    }
    CHECK(lsc_bundle_find(b, "fc1", 3) == (size_t)-1);
    CHECK(lsc_bundle_find(b, "a", 1) == (size_t)-1);
    CHECK(lsc_bundle_get(b, N_BLOBS) == NULL);
    lsc_bundle_close(&b);
    CHECK(b == NULL);

    /* Every byte corrupted, every truncation. */
    size_t size = 0;
    uint8_t *file = test_read_file(path, &size);
    char bad[320];
    snprintf(bad, sizeof bad, "%s/bad.lsc", dir);
    unsigned missed = 0;
    for (size_t i = 0; i < size; i++) {
        file[i] ^= (uint8_t)(1u << (i % 8));
        test_write_file(bad, file, size);
        file[i] ^= (uint8_t)(1u << (i % 8));
        if (fully_valid(bad)) {
            fprintf(stderr, "corruption at byte %zu not detected\n", i);
            missed++;
        }
    }
    CHECK(missed == 0);
    for (size_t len = 0; len < size; len++) {
        test_write_file(bad, file, len);
        CHECKF(!fully_valid(bad), "truncation to %zu accepted", len);
    }
    test_write_file(bad, file, size);
    CHECK(fully_valid(bad));
    printf("bundle of %zu bytes: %zu single-byte corruptions and %zu truncations all caught\n", size, size, size);

    /* Empty bundle; missing folder; not a regular file. */
    char empty[320];
    snprintf(empty, sizeof empty, "%s/empty.lsc", dir);
    CHECK(lsc_bundle_writer_create(empty, &w, &err) == LSC_OK);
    CHECK(lsc_bundle_writer_finish(w, &err) == LSC_OK);
    lsc_bundle_writer_free(&w);
    CHECK(lsc_bundle_open(empty, &b, &err) == LSC_OK && lsc_bundle_count(b) == 0);
    lsc_bundle_close(&b);
    char nowhere[320];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir.lsc", dir);
    CHECK(lsc_bundle_writer_create(nowhere, &w, &err) == LSC_ERR_IO && w == NULL);
    CHECK(lsc_bundle_open(nowhere, &b, &err) == LSC_ERR_IO);
    CHECK(lsc_bundle_open(dir, &b, &err) != LSC_OK);

    unlink(path);
    unlink(bad);
    unlink(empty);
    rmdir(dir);
    free(file);
    for (int i = 0; i < N_BLOBS; i++)
        lsc_free(blobs[i]);
    return check_exit();
}
