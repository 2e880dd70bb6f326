/* Whole-file reads and writes for the C tests (tests/common/check.h records failures). */
#ifndef LSC_TESTS_FILES_H
#define LSC_TESTS_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

/* The file's bytes (malloc'd; NULL if it cannot be opened or read). */
static inline uint8_t *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *size = n > 0 ? (size_t)n : 0;
    uint8_t *b = malloc(*size ? *size : 1);
    if (b && fread(b, 1, *size, f) != *size) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

static inline void test_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, size, f) == size);
    if (f)
        fclose(f);
}

#endif /* LSC_TESTS_FILES_H */
