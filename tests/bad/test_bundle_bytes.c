/* Every single-byte corruption of a small bundle, all 255 wrong values of every
 * byte: opening the bundle, opening each weight or decoding it must fail; never may
 * all succeed (least of all with other weights). tests/bundle flips one bit per
 * byte; tests/bad/test_bad.py runs three values per byte through the command. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "onnx-lsc/lsc.h"

#define N_WEIGHTS 2

static const int64_t dims[N_WEIGHTS][2] = {{6, 10}, {3, 5}};
static float dense[N_WEIGHTS][6 * 10];

/* 0: every step succeeded with the original weights; 1: an error was reported;
 * 2: every step succeeded but a weight differs. */
static int read_back(const char *path)
{
    lsc_bundle *b = NULL;
    if (lsc_bundle_open(path, &b, NULL) != LSC_OK)
        return 1;
    int result = lsc_bundle_count(b) == N_WEIGHTS ? 0 : 2;
    for (size_t i = 0; i < lsc_bundle_count(b) && result != 1; i++) {
        lsc_weight *w = NULL;
        float out[6 * 10];
        if (lsc_bundle_open_weight(b, i, &w, NULL) != LSC_OK ||
            lsc_weight_decode(w, out, sizeof out, NULL) != LSC_OK)
            result = 1;
        else if (i < N_WEIGHTS && memcmp(out, dense[i], sizeof(float) * (size_t)(dims[i][0] * dims[i][1])))
            result = 2;
        lsc_weight_close(&w);
    }
    lsc_bundle_close(&b);
    return result;
}

int main(void)
{
    /* About 90 000 small files are written: in memory when /dev/shm is there. */
    char dir[64];
    snprintf(dir, sizeof dir, "%s/lsc-bytes-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    char path[96], bad[96];
    snprintf(path, sizeof path, "%s/b.lsc", dir);
    snprintf(bad, sizeof bad, "%s/bad.lsc", dir);

    lsc_bundle_writer *wr = NULL;
    CHECK(lsc_bundle_writer_create(path, &wr, NULL) == LSC_OK);
    for (int k = 0; k < N_WEIGHTS; k++) {
        size_t n = (size_t)(dims[k][0] * dims[k][1]);
        for (size_t i = 0; i < n; i++)
            dense[k][i] = (i * 7 + (size_t)k) % 5 == 0 ? (float)i * 0.5f - 3.0f : 0.0f;
        lsc_tensor t = {.dtype = LSC_DTYPE_FLOAT32, .rank = 2, .dims = {dims[k][0], dims[k][1]},
                        .data = dense[k]};
        lsc_encode_options opt;
        lsc_encode_options_default(&opt);
        void *blob = NULL;
        size_t blob_size = 0;
        CHECK(lsc_encode(&t, &opt, &blob, &blob_size, NULL, NULL) == LSC_OK);
        const char *name = k ? "second" : "first.weight";
        CHECK(lsc_bundle_writer_add(wr, name, strlen(name), blob, blob_size, "restore", 7, NULL, NULL) ==
              LSC_OK);
        lsc_free(blob);
    }
    CHECK(lsc_bundle_writer_finish(wr, NULL) == LSC_OK);
    lsc_bundle_writer_free(&wr);

    size_t size = 0;
    uint8_t *good = test_read_file(path, &size);
    CHECK(good && size > 64);
    CHECK(read_back(path) == 0);
    size_t undetected = 0, wrong = 0, tried = 0;
    for (size_t pos = 0; good && pos < size; pos++) {
        for (unsigned v = 1; v < 256; v++) {
            good[pos] ^= (uint8_t)v;
            test_write_file(bad, good, size);
            good[pos] ^= (uint8_t)v;
            int r = read_back(bad);
            tried++;
            if (r != 1) {
                fprintf(stderr, "byte %zu ^ 0x%02x: %s\n", pos, v,
                        r ? "read back OTHER weights" : "not detected");
                undetected += r == 0;
                wrong += r == 2;
            }
        }
    }
    CHECK(undetected == 0);
    CHECK(wrong == 0);
    printf("bundle of %zu bytes: %zu corruptions, %zu undetected, %zu wrong weights\n", size, tried,
           undetected, wrong);
    free(good);
    unlink(bad);
    unlink(path);
    rmdir(dir);
    return check_exit();
}
