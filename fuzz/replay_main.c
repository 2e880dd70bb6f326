/* A stand-in for libFuzzer's main, so every target also builds with gcc or clang
 * without libFuzzer and replays a corpus as a plain test:
 *   fuzz_blob FILE_OR_FOLDER...
 * runs LLVMFuzzerTestOneInput once per file (folders: every regular file in them,
 * sorted). Exits 0 when every input ran (a crash or sanitizer report ends it
 * earlier), 1 if an argument could not be read. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_util.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, size = 0, n;
    uint8_t *data = malloc(cap);
    while (data && (n = fread(data + size, 1, cap - size, f)) > 0) {
        size += n;
        if (size == cap) {
            uint8_t *bigger = realloc(data, cap *= 2);
            if (!bigger)
                free(data);
            data = bigger;
        }
    }
    int bad = ferror(f) || !data;
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: read failed\n", path);
        free(data);
        return 1;
    }
    /* An exact-size copy, so reading one byte past the input is an ASan report. */
    uint8_t *exact = malloc(size ? size : 1);
    memcpy(exact, data, size);
    free(data);
    LLVMFuzzerTestOneInput(exact, size);
    free(exact);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_folder(const char *dir, size_t *count)
{
    struct dirent **list;
    int n = scandir(dir, &list, NULL, NULL);
    if (n < 0) {
        perror(dir);
        return 1;
    }
    char **names = malloc(sizeof *names * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++)
        names[i] = list[i]->d_name;
    qsort(names, (size_t)n, sizeof *names, by_name);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (names[i][0] == '.')
            continue;
        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            failed |= run_file(path);
            (*count)++;
        }
    }
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
    free(names);
    return failed;
}

int main(int argc, char **argv)
{
    int failed = 0;
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed = 1;
        } else if (S_ISDIR(st.st_mode)) {
            failed |= run_folder(argv[i], &count);
        } else {
            failed |= run_file(argv[i]);
            count++;
        }
    }
    printf("%s: %zu inputs replayed\n", argc > 0 ? argv[0] : "replay", count);
    if (count == 0)
        failed = 1; /* an empty corpus is a broken test, not a pass */
    return failed;
}
