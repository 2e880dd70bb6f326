/* The seal (docs/format.md 2.4): written last by a sealing writer and hidden from the
 * weight entries; absent from a writer that does not seal (format 1.0); every damaged
 * or malformed seal rejected; and on a real model, compress seals, a rewrite of the
 * bundle without seal reads as "not sealed", and lsc_seal_file seals it again with
 * every blob at its offset. usage: test_seal MODELS_DIR */
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "codec_util.h"
#include "bundle/bundle_format.h"
#include "common/endian.h"

static char dir[256];

static lsc_status open_status(const char *path)
{
    lsc_bundle *b = NULL;
    lsc_error err = {0};
    lsc_status st = lsc_bundle_open(path, &b, &err);
    CHECK((st == LSC_OK) == (b != NULL));
    CHECK(st == LSC_OK || err.message[0]);
    lsc_bundle_close(&b);
    return st;
}

/* Two weights and, if `seal`, a seal; returns the file's bytes. */
static uint8_t *write_bundle(const char *path, const lsc_seal *seal, size_t *size)
{
    static const float w[2][8] = {{0, 1, 0, 0, 2, 0, 0, 3}, {4, 0, 0, 0, 0, 0, 0, 5}};
    lsc_error err = {0};
    lsc_bundle_writer *wr = NULL;
    CHECK(lsc_bundle_writer_create(path, &wr, &err) == LSC_OK);
    for (int i = 0; i < 2; i++) {
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {2, 4}, .data = w[i]};
        void *blob = NULL;
        size_t n = 0;
        CHECK(lsc_encode(&t, NULL, &blob, &n, NULL, &err) == LSC_OK);
        CHECK(lsc_bundle_writer_add(wr, i ? "b" : "a", 1, blob, n, NULL, 0, NULL, &err) == LSC_OK);
        lsc_free(blob);
    }
    /* The seal's name is reserved: a weight cannot take it. */
    CHECK(lsc_bundle_writer_add(wr, LSC_SEAL_NAME, LSC_SEAL_NAME_LEN, "x", 1, NULL, 0, NULL, &err) ==
          LSC_ERR_INVALID_ARGUMENT);
    if (seal)
        CHECK(lsc_bundle_writer_seal(wr, seal, &err) == LSC_OK);
    CHECKF(lsc_bundle_writer_finish(wr, &err) == LSC_OK, "%s", err.message);
    lsc_bundle_writer_free(&wr);
    return test_read_file(path, size);
}

static void test_writer_and_reader(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/s.lsc", dir);
    lsc_seal seal = {.model_size = 12345};
    for (int i = 0; i < 16; i++)
        seal.digest[i] = (uint8_t)(0xA0 + i);
    size_t size = 0, plain_size = 0;
    uint8_t *plain = write_bundle(path, NULL, &plain_size);
    CHECK(plain && lsc_load_le16(plain + LSC_BH_MINOR) == LSC_BUNDLE_MINOR);
    lsc_bundle *b = NULL;
    lsc_error err = {0};
    CHECK(lsc_bundle_open(path, &b, &err) == LSC_OK && !lsc_bundle_get_seal(b, NULL));
    lsc_bundle_close(&b);

    uint8_t *good = write_bundle(path, &seal, &size);
    CHECK(good && lsc_load_le16(good + LSC_BH_MINOR) == LSC_BUNDLE_MINOR_SEALED);
    CHECK(good && lsc_load_le32(good + LSC_BH_N_ENTRIES) == 3);
    CHECKF(lsc_bundle_open(path, &b, &err) == LSC_OK, "%s", err.message);
    lsc_seal got = {0};
    CHECK(lsc_bundle_get_seal(b, &got) && got.model_size == seal.model_size &&
          memcmp(got.digest, seal.digest, 16) == 0);
    CHECK(lsc_bundle_count(b) == 2); /* the seal is not a weight */
    CHECK(lsc_bundle_find(b, LSC_SEAL_NAME, LSC_SEAL_NAME_LEN) == (size_t)-1);
    /* Weights keep the offsets of the unsealed bundle: the seal comes last. */
    const lsc_bundle_entry *last = lsc_bundle_get(b, 1);
    CHECK(last && last->offset + last->size <= plain_size);
    size_t seal_at = last ? (size_t)((last->offset + last->size + 63) / 64 * 64) : 0;
    lsc_bundle_close(&b);
    CHECK(good && seal_at + LSC_SEAL_SIZE < size && memcmp(good + seal_at, LSC_SEAL_MAGIC, 4) == 0);

    /* Damaged seals: each byte of the seal blob flipped; the seal entry's name changed
     * to another reserved-looking one stays a (bad) weight entry, caught when opened. */
    for (size_t i = 0; good && i < LSC_SEAL_SIZE; i++) {
        uint8_t *bad = malloc(size);
        memcpy(bad, good, size);
        bad[seal_at + i] ^= 0x04;
        test_write_file(path, bad, size);
        lsc_status st = open_status(path);
        CHECKF(st == LSC_ERR_CHECKSUM || st == LSC_ERR_BAD_BUNDLE, "seal byte %zu flipped: %d", i, (int)st);
        free(bad);
    }
    free(good);
    free(plain);
    unlink(path);
}

/* A real pair: sealed by compress; unsealed by a rewrite; sealed again. */
static void test_model(const char *models)
{
    char in[512], out[300], bundle[300];
    snprintf(in, sizeof in, "%s/lenet5.onnx", models);
    snprintf(out, sizeof out, "%s/m.lsc.onnx", dir);
    snprintf(bundle, sizeof bundle, "%s/m.lsc", dir);
    lsc_error err = {0};
    CHECKF(lsc_compress_file(in, out, NULL, NULL, NULL, &err) == LSC_OK, "%s", err.message);
    lsc_model *m = NULL;
    lsc_seal_state state = LSC_SEAL_NOT_COMPRESSED;
    CHECKF(lsc_model_open(out, &m, &err) == LSC_OK, "%s", err.message);
    CHECK(lsc_model_check_seal(m, &state, &err) == LSC_OK && state == LSC_SEAL_INTACT);
    lsc_model_close(&m);

    size_t sealed_size = 0, size = 0;
    uint8_t *sealed = test_read_file(bundle, &sealed_size);
    lsc_bundle *b = NULL;
    CHECK(lsc_bundle_open(bundle, &b, &err) == LSC_OK);
    lsc_bundle_writer *w = NULL;
    CHECK(lsc_bundle_writer_create(bundle, &w, &err) == LSC_OK);
    for (size_t i = 0; b && i < lsc_bundle_count(b); i++) {
        const lsc_bundle_entry *e = lsc_bundle_get(b, i);
        uint64_t at = 0;
        CHECK(lsc_bundle_writer_add(w, e->name, e->name_len, lsc_bundle_blob(b, i), (size_t)e->size, e->restore,
                                    e->restore_len, &at, &err) == LSC_OK && at == e->offset);
    }
    CHECK(lsc_bundle_writer_finish(w, &err) == LSC_OK);
    lsc_bundle_writer_free(&w);
    lsc_bundle_close(&b);
    CHECKF(lsc_model_open(out, &m, &err) == LSC_OK, "%s", err.message);
    CHECK(lsc_model_check_seal(m, &state, &err) == LSC_OK && state == LSC_SEAL_ABSENT);
    lsc_model_close(&m);
    state = LSC_SEAL_INTACT;
    CHECK(lsc_check_seal_file(out, &state, &err) == LSC_OK && state == LSC_SEAL_ABSENT);

    CHECKF(lsc_seal_file(out, &err) == LSC_OK, "%s", err.message);
    uint8_t *resealed = test_read_file(bundle, &size);
    CHECK(sealed && resealed && size == sealed_size && memcmp(sealed, resealed, size) == 0);
    CHECK(lsc_check_seal_file(out, &state, &err) == LSC_OK && state == LSC_SEAL_INTACT);
    CHECK(lsc_check_seal_file(in, &state, &err) == LSC_OK && state == LSC_SEAL_NOT_COMPRESSED);
    CHECK(lsc_seal_file(in, &err) == LSC_ERR_INVALID_ARGUMENT); /* a plain model has nothing to seal */
    free(sealed);
    free(resealed);
    unlink(out);
    unlink(bundle);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_seal MODELS_DIR\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "/tmp/lsc-seal-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    test_writer_and_reader();
    test_model(argv[1]);
    rmdir(dir);
    return check_exit();
}
