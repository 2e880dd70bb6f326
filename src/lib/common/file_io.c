/* Files: read-only mappings of inputs, outputs written to a temporary name and
 * renamed when complete, and path helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/file_io.h"

#define OUT_BUFFER_SIZE (1u << 20)
#define HOLE_SPAN (64u << 10) /* zero runs this long, aligned, become holes */
#define DIRECT_ALIGN 4096u     /* O_DIRECT offsets, lengths and memory: any block size up to a page */
#define DIRECT_BUFFER_SIZE (8u << 20)

char *lsc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

lsc_status lsc_map_file(const char *path, lsc_map *map, lsc_error *error)
{
    map->data = NULL;
    map->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return lsc_fail(error, LSC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lsc_fail(error, LSC_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lsc_fail(error, LSC_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return lsc_fail(error, LSC_ERR_TOO_LARGE, "%s: too large to map", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return lsc_fail(error, LSC_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        map->data = p;
        map->size = (size_t)st.st_size;
    }
    close(fd);
    return LSC_OK;
}

/* The page-aligned span holding [p, p + n), never past the mapping's whole pages. */
static int page_span(const void *p, size_t n, uintptr_t *start, size_t *len)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t mask = (uintptr_t)(page > 0 ? page : 4096) - 1;
    if (!p || !n)
        return 0;
    uintptr_t a = (uintptr_t)p & ~mask;
    uintptr_t b = ((uintptr_t)p + n + mask) & ~mask;
    *start = a;
    *len = (size_t)(b - a);
    return 1;
}

void lsc_map_will_need(const void *p, size_t n)
{
    uintptr_t start;
    size_t len;
    if (page_span(p, n, &start, &len))
        (void)madvise((void *)start, len, MADV_WILLNEED);
}

void lsc_unmap(lsc_map *map)
{
    if (map->data)
        munmap((void *)map->data, map->size);
    map->data = NULL;
    map->size = 0;
}

void lsc_map_release(const void *data, size_t size)
{
    /* The mapping is read-only and private, so no page holds anything but file
     * bytes: pages shared with a neighbouring range can be dropped too. Without
     * this a pass over a big model keeps every page it read resident (RssFile
     * grows to the file size) until the file is unmapped. */
    long page = sysconf(_SC_PAGESIZE);
    if (!data || size == 0 || page <= 0)
        return;
    uintptr_t start = (uintptr_t)data & ~(uintptr_t)(page - 1);
    uintptr_t end = (uintptr_t)data + size;
    madvise((void *)start, end - start, MADV_DONTNEED); /* advice only: failure is harmless */
}

char *lsc_path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return lsc_strdup(".");
    if (slash == path)
        return lsc_strdup("/");
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    return dir;
}

const char *lsc_path_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *lsc_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

char *lsc_path_swap_suffix(const char *path, const char *from, const char *to)
{
    size_t n = strlen(path), f = strlen(from), t = strlen(to);
    if (n >= f && strcmp(path + n - f, from) == 0)
        n -= f;
    char *p = malloc(n + t + 1);
    if (!p)
        return NULL;
    memcpy(p, path, n);
    memcpy(p + n, to, t + 1);
    return p;
}

int lsc_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Creates "DIR/.NAME.xxxxxx" (O_EXCL) with mode 0666 less the umask, as any file
 * the user makes. Not mkstemp: its 0600 would need umask() to fix, and changing
 * the process's umask races with other threads creating files. */
static int create_beside(char *tmp, size_t size, const char *dir, const char *name)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
                    (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        snprintf(tmp, size, "%s/.%s.%06llx", dir, name, (unsigned long long)(seed >> 40));
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

lsc_status lsc_out_open(lsc_out_file *out, const char *final_path, lsc_error *error)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    char *dir = lsc_path_dir(final_path);
    out->final_path = lsc_strdup(final_path);
    out->buf = malloc(OUT_BUFFER_SIZE);
    out->buf_size = OUT_BUFFER_SIZE;
    size_t n = dir ? strlen(dir) + strlen(lsc_path_base(final_path)) + 16 : 0;
    out->tmp_path = n ? malloc(n) : NULL;
    if (!dir || !out->final_path || !out->buf || !out->tmp_path) {
        free(dir);
        free(out->tmp_path); /* not a file yet: nothing to unlink */
        out->tmp_path = NULL;
        lsc_out_abort(out);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", final_path);
    }
    out->fd = create_beside(out->tmp_path, n, dir, lsc_path_base(final_path));
    free(dir);
    if (out->fd < 0) {
        int e = errno;
        free(out->tmp_path);
        out->tmp_path = NULL;
        lsc_out_abort(out);
        return lsc_fail(error, LSC_ERR_IO, "%s: cannot create a temporary file beside it: %s",
                        final_path, strerror(e));
    }
    return LSC_OK;
}

/* Back to buffered writes (the buffer stays: it is only memory). */
static void out_leave_direct(lsc_out_file *out)
{
    if (!out->direct)
        return;
    out->direct = 0;
    int flags = fcntl(out->fd, F_GETFL);
    if (flags != -1)
        (void)fcntl(out->fd, F_SETFL, flags & ~O_DIRECT);
}

/* write(2) until all of [p, p + n) is out, or the first failure is recorded. */
static void out_put(lsc_out_file *out, const uint8_t *p, size_t n)
{
    size_t done = 0;
    while (out->status == LSC_OK && done < n) {
        ssize_t w = write(out->fd, p + done, n - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EINVAL && out->direct) { /* alignment this file system rejects */
                out_leave_direct(out);
                continue;
            }
            out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: write failed: %s",
                                   out->final_path, strerror(errno));
            break;
        }
        done += (size_t)w;
    }
}

/* Writes the whole buffer; an O_DIRECT file goes buffered for an unaligned tail. */
static void out_flush(lsc_out_file *out)
{
    if (out->used % DIRECT_ALIGN)
        out_leave_direct(out);
    out_put(out, out->buf, out->used);
    out->used = 0;
}

size_t lsc_out_direct_phase(const lsc_out_file *out)
{
    return (size_t)(out->written % DIRECT_ALIGN);
}

void lsc_out_direct(lsc_out_file *out)
{
    if (out->direct || out->status != LSC_OK || out->used || out->written % DIRECT_ALIGN)
        return;
    void *buf = NULL;
    if (posix_memalign(&buf, DIRECT_ALIGN, DIRECT_BUFFER_SIZE) != 0)
        return;
    int flags = fcntl(out->fd, F_GETFL);
    if (flags == -1 || fcntl(out->fd, F_SETFL, flags | O_DIRECT) != 0) {
        free(buf);
        return;
    }
    free(out->buf);
    out->buf = buf;
    out->buf_size = DIRECT_BUFFER_SIZE;
    out->direct = 1;
}

static void out_buffer(lsc_out_file *out, const uint8_t *p, size_t size)
{
    while (size > 0 && out->status == LSC_OK) {
        size_t room = out->buf_size - out->used;
        size_t n = size < room ? size : room;
        memcpy(out->buf + out->used, p, n);
        out->used += n;
        out->written += n;
        p += n;
        size -= n;
        if (out->used == out->buf_size)
            out_flush(out);
    }
}

/* O_DIRECT from the caller's memory: the bytes up to the next aligned file offset go
 * through the buffer; from there, if the caller's bytes are aligned in memory too
 * (lsc_out_direct_phase), whole blocks are written as they are, without a copy.
 * Returns the bytes of [p, p + size) taken. */
static size_t out_direct_from(lsc_out_file *out, const uint8_t *p, size_t size)
{
    size_t head = (DIRECT_ALIGN - (size_t)(out->written % DIRECT_ALIGN)) % DIRECT_ALIGN;
    if (size < head + DIRECT_ALIGN || (uintptr_t)(p + head) % DIRECT_ALIGN)
        return 0;
    out_buffer(out, p, head);
    out_flush(out); /* a whole number of blocks now */
    size_t n = (size - head) / DIRECT_ALIGN * DIRECT_ALIGN;
    out_put(out, p + head, n); /* buffered if the file system refused the alignment */
    out->written += n;
    return head + n;
}

void lsc_out_write(lsc_out_file *out, const void *data, size_t size)
{
    const uint8_t *p = data;
    if (size >= out->buf_size && out->status == LSC_OK && !out->direct) {
        /* Large payloads go straight from the caller's memory: one copy less, and
         * writes as large as the payload. */
        out_flush(out);
        out_put(out, p, size);
        out->written += size;
        return;
    }
    if (size >= out->buf_size && out->status == LSC_OK && out->direct) {
        size_t taken = out_direct_from(out, p, size);
        p += taken;
        size -= taken;
    }
    out_buffer(out, p, size);
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n && !acc; i += 8) { /* a non-zero byte ends it: dense data costs one word */
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    for (; i < n && !acc; i++)
        acc |= p[i];
    return acc == 0;
}

void lsc_out_write_dense(lsc_out_file *out, const void *data, size_t size)
{
    /* Spans of the file that are HOLE_SPAN-aligned and all zero are skipped. */
    const uint8_t *p = data;
    size_t start = 0, i = 0;
    while (i < size && out->status == LSC_OK) {
        uint64_t at = out->written + (i - start);
        size_t span = HOLE_SPAN - (size_t)(at % HOLE_SPAN);
        if (span > size - i)
            span = size - i;
        if (span == HOLE_SPAN && all_zero(p + i, span)) {
            size_t j = i + span;
            while (j + HOLE_SPAN <= size && all_zero(p + j, HOLE_SPAN))
                j += HOLE_SPAN;
            lsc_out_write(out, p + start, i - start);
            lsc_out_skip(out, j - i);
            start = i = j;
            continue;
        }
        i += span;
    }
    lsc_out_write(out, p + start, size - start);
}

static void skip_aligned(lsc_out_file *out, uint64_t size)
{
    if (!size)
        return;
    out_flush(out);
    if (out->status != LSC_OK)
        return;
    if (size > (uint64_t)INT64_MAX - out->written || lseek(out->fd, (off_t)size, SEEK_CUR) < 0) {
        out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: cannot seek past %llu zero bytes",
                               out->final_path, (unsigned long long)size);
        return;
    }
    out->written += size;
    out->holes = 1;
}

static void out_zeros(lsc_out_file *out, uint64_t size)
{
    static const uint8_t zeros[4096];
    for (; size > 0 && out->status == LSC_OK;) {
        size_t k = size < sizeof zeros ? (size_t)size : sizeof zeros;
        lsc_out_write(out, zeros, k);
        size -= k;
    }
}

void lsc_out_skip(lsc_out_file *out, uint64_t size)
{
    if (!size)
        return;
    if (out->direct) {
        /* The hole starts and ends on aligned offsets; the zeros around it are written. */
        uint64_t lead = (DIRECT_ALIGN - out->written % DIRECT_ALIGN) % DIRECT_ALIGN;
        if (size < lead + DIRECT_ALIGN) {
            out_zeros(out, size);
            return;
        }
        out_zeros(out, lead);
        uint64_t hole = (size - lead) / DIRECT_ALIGN * DIRECT_ALIGN;
        skip_aligned(out, hole);
        out_zeros(out, size - lead - hole);
        return;
    }
    skip_aligned(out, size);
}

/* Everything written so far reaches the temporary file, a trailing hole included. */
static void out_sync(lsc_out_file *out)
{
    out_leave_direct(out); /* the tail and what follows need no alignment */
    out_flush(out);
    /* A hole at the end is not part of the file until its size says so. */
    if (out->status == LSC_OK && out->holes && ftruncate(out->fd, (off_t)out->written) != 0)
        out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: cannot set the size: %s", out->final_path,
                               strerror(errno));
}

lsc_status lsc_out_sync(lsc_out_file *out, lsc_error *error)
{
    out_sync(out);
    if (out->status != LSC_OK && error)
        *error = out->error;
    return out->status;
}

void lsc_out_write_at(lsc_out_file *out, uint64_t offset, const void *data, size_t size)
{
    out_leave_direct(out);
    out_flush(out);
    const uint8_t *p = data;
    while (out->status == LSC_OK && size) {
        ssize_t n = pwrite(out->fd, p, size, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: write failed: %s", out->final_path,
                                   n < 0 ? strerror(errno) : "nothing written");
            break;
        }
        p += n;
        size -= (size_t)n;
        offset += (uint64_t)n;
    }
}

/* Makes a rename in the folder of `path` durable; a failure loses nothing written. */
static void sync_folder(const char *path)
{
    char *dir = lsc_path_dir(path);
    int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

lsc_status lsc_out_commit(lsc_out_file *out, lsc_error *error)
{
    out_sync(out);
    if (out->status == LSC_OK && fsync(out->fd) != 0)
        out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: fsync failed: %s", out->final_path,
                               strerror(errno));
    if (out->status == LSC_OK && close(out->fd) != 0)
        out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: close failed: %s", out->final_path,
                               strerror(errno));
    else if (out->status != LSC_OK)
        close(out->fd);
    out->fd = -1;
    if (out->status == LSC_OK && rename(out->tmp_path, out->final_path) != 0)
        out->status = lsc_fail(&out->error, LSC_ERR_IO, "%s: rename failed: %s", out->final_path,
                               strerror(errno));
    lsc_status st = out->status;
    if (st != LSC_OK) {
        if (error)
            *error = out->error;
        unlink(out->tmp_path);
    } else {
        sync_folder(out->final_path);
    }
    free(out->tmp_path);
    out->tmp_path = NULL;
    lsc_out_abort(out);
    return st;
}

void lsc_out_abort(lsc_out_file *out)
{
    if (out->fd >= 0)
        close(out->fd);
    out->fd = -1;
    if (out->tmp_path)
        unlink(out->tmp_path);
    free(out->tmp_path);
    free(out->final_path);
    free(out->buf);
    out->tmp_path = NULL;
    out->final_path = NULL;
    out->buf = NULL;
}
