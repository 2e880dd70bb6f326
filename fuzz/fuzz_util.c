#include "fuzz_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "onnx-lsc/lsc.h"

static char scratch[4096];
static char paths[4][4096 + 256];

static void remove_tree(const char *dir, int keep_top)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char sub[4096 + 512];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            if (unlink(sub) != 0)
                remove_tree(sub, 0);
        }
        closedir(d);
    }
    if (!keep_top)
        rmdir(dir);
}

static void remove_scratch(void)
{
    if (scratch[0])
        remove_tree(scratch, 0);
}

const char *fuzz_scratch_dir(void)
{
    if (!scratch[0]) {
        const char *base = getenv("TMPDIR");
        if (!base || !*base)
            base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(scratch, sizeof scratch, "%s/lsc-fuzz-XXXXXX", base);
        if (!mkdtemp(scratch)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_scratch);
    }
    return scratch;
}

const char *fuzz_path(int slot, const char *name)
{
    snprintf(paths[slot], sizeof paths[slot], "%s/%s", fuzz_scratch_dir(), name);
    return paths[slot];
}

void fuzz_write_file(const char *path, const void *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        abort();
    }
    const uint8_t *p = data;
    while (size > 0) {
        ssize_t n = write(fd, p, size);
        if (n <= 0) {
            perror(path);
            abort();
        }
        p += n;
        size -= (size_t)n;
    }
    close(fd);
}

void fuzz_clean_scratch(void)
{
    remove_tree(fuzz_scratch_dir(), 1);
}

void fuzz_split(const uint8_t *data, size_t size, const uint8_t **a, size_t *a_size,
                const uint8_t **b, size_t *b_size)
{
    const size_t m = sizeof FUZZ_SPLIT - 1;
    *a = data;
    *a_size = size;
    *b = data + size;
    *b_size = 0;
    const uint8_t *hit = size >= m ? memmem(data, size, FUZZ_SPLIT, m) : NULL;
    if (hit) {
        *a_size = (size_t)(hit - data);
        *b = hit + m;
        *b_size = size - *a_size - m;
    }
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void fuzz_fix_blob_checksum(uint8_t *blob, size_t size)
{
    if (size < 16)
        return;
    memset(blob + 8, 0, 8);
    store64(blob + 8, XXH64(blob, size, 0));
}

void fuzz_fix_bundle_checksums(uint8_t *b, size_t size)
{
    if (size < 64)
        return;
    uint64_t toc_off = load64(b + 16), toc_size = load64(b + 24);
    uint32_t n = load32(b + 40);
    if (toc_off <= size && toc_size <= size - toc_off) {
        uint64_t pos = 0;
        for (uint32_t i = 0; i < n && toc_size - pos >= 32; i++) {
            uint8_t *e = b + toc_off + pos;
            uint64_t off = load64(e), len = load64(e + 8);
            uint64_t nl = load32(e + 24), rl = load32(e + 28);
            if (off <= size && len >= 16 && len <= size - off && off + len <= toc_off) {
                fuzz_fix_blob_checksum(b + off, (size_t)len);
                memcpy(e + 16, b + off + 8, 8);
            }
            uint64_t step = (32 + nl + rl + 7) & ~(uint64_t)7;
            if (step > toc_size - pos)
                break;
            pos += step;
        }
        store64(b + 48, XXH64(b + toc_off, (size_t)toc_size, 0));
    }
    store64(b + 56, XXH64(b, 56, 0));
}

void fuzz_check_message(const lsc_error *error)
{
    const char *m = error->message;
    size_t n = strnlen(m, sizeof error->message);
    if (n == 0 || n == sizeof error->message)
        abort(); /* empty or not terminated */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)m[i] < 0x20 || m[i] == 0x7f) {
            fprintf(stderr, "fuzz: control byte 0x%02x in message: %s\n", (unsigned char)m[i], m);
            abort();
        }
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0)
        v = m * (1.0 / (1 << 24));
    else if (e == 31)
        v = m ? __builtin_nan("") : __builtin_inf();
    else
        v = (1024 + m) * __builtin_ldexp(1.0, e - 25);
    return (h & 0x8000) ? -v : v;
}

double fuzz_elem_to_double(const void *data, int dtype, size_t i)
{
    const uint8_t *p = data;
    switch (dtype) {
    case LSC_DTYPE_FLOAT32: {
        float f;
        memcpy(&f, p + 4 * i, 4);
        return f;
    }
    case LSC_DTYPE_FLOAT64: {
        double d;
        memcpy(&d, p + 8 * i, 8);
        return d;
    }
    case LSC_DTYPE_FLOAT16:
        return half_to_double((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
    case LSC_DTYPE_BFLOAT16: {
        uint32_t bits = (uint32_t)(p[2 * i] | p[2 * i + 1] << 8) << 16;
        float f;
        memcpy(&f, &bits, 4);
        return f;
    }
    default:
        abort();
    }
}
