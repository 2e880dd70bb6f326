/* External-data resolution: a model and a small folder of data files. The model's
 * external_data entries may name any of them, or try to leave the folder:
 *   scratch/outside.bin            outside the model's folder (must never be read)
 *   scratch/m/model.onnx           part 1 of the input
 *   scratch/m/weights.bin          part 2
 *   scratch/m/sub/data.bin         part 3
 *   scratch/m/link.bin   -> ../outside.bin   (symbolic link out of the folder)
 *   scratch/m/sub/in.bin -> ../weights.bin   (symbolic link that stays inside)
 *   scratch/m/dir.bin/             a folder, not a file
 *   scratch/m/up -> ..             a folder link out (decompress re-creates files)
 * Input: the parts separated by FUZZ_SPLIT (missing parts: no such file).
 * Checked after each input: outside.bin was never opened (inotify) and nothing
 * new appeared beside it, i.e. no read or write left the model's folder. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_onnx.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[3] = {0}, *rest = data;
    size_t part_size[3] = {0}, rest_size = size;
    int have[3] = {1, 0, 0};
    for (int i = 0; i < 3 && have[i]; i++) {
        size_t before = rest_size;
        fuzz_split(rest, rest_size, &part[i], &part_size[i], &rest, &rest_size);
        if (i < 2)
            have[i + 1] = part_size[i] != before; /* a marker was found */
    }

    fuzz_clean_scratch();
    static uint8_t outside[4096];
    memset(outside, 0x42, sizeof outside);
    fuzz_write_file(fuzz_path(0, "outside.bin"), outside, sizeof outside);
    mkdir(fuzz_path(0, "m"), 0755);
    mkdir(fuzz_path(0, "m/sub"), 0755);
    mkdir(fuzz_path(0, "m/dir.bin"), 0755);
    if (symlink("../outside.bin", fuzz_path(0, "m/link.bin")) != 0 ||
        symlink("../weights.bin", fuzz_path(0, "m/sub/in.bin")) != 0 ||
        symlink("..", fuzz_path(0, "m/up")) != 0) {
        perror("fuzz: symlink");
        return 0;
    }
    fuzz_write_file(fuzz_path(0, "m/model.onnx"), part[0], part_size[0]);
    if (have[1])
        fuzz_write_file(fuzz_path(0, "m/weights.bin"), part[1], part_size[1]);
    if (have[2])
        fuzz_write_file(fuzz_path(0, "m/sub/data.bin"), part[2], part_size[2]);
    static int watch_fd = -1; /* harness state, one per fuzzing process */
    if (watch_fd < 0)
        watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    char events[4096] __attribute__((aligned(8)));
    while (watch_fd >= 0 && read(watch_fd, events, sizeof events) > 0)
        ; /* drop what the last input's cleanup reported */
    int wd = watch_fd >= 0 ? inotify_add_watch(watch_fd, fuzz_path(0, "outside.bin"), IN_OPEN) : -1;

    unsigned flags = (unsigned)((size & 1) | 2 | (size >> 1 & ~3u));
    fuzz_exercise_model(fuzz_path(1, "m"), "model.onnx", size, flags & 0xffff);

    ssize_t n;
    while (wd >= 0 && (n = read(watch_fd, events, sizeof events)) > 0)
        for (char *p = events; p < events + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->wd == wd && (ev->mask & IN_OPEN)) {
                fprintf(stderr, "fuzz: a file outside the model's folder was opened\n");
                abort();
            }
            p += sizeof *ev + ev->len;
        }
    if (wd >= 0)
        inotify_rm_watch(watch_fd, wd);
    DIR *d = opendir(fuzz_scratch_dir());
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "m") &&
            strcmp(e->d_name, "outside.bin")) {
            fprintf(stderr, "fuzz: '%s' was written outside the model's folder\n", e->d_name);
            abort();
        }
    if (d)
        closedir(d);
    return 0;
}
