/* Files: read-only mappings of whole inputs, outputs written to a temporary name in
 * the destination folder and renamed over the final name when complete, and path
 * helpers. Generic: no ONNX, no protobuf. */
#ifndef LSC_COMMON_FILE_IO_H
#define LSC_COMMON_FILE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* A read-only memory mapping of a whole file (size 0: data NULL). */
typedef struct lsc_map {
    const uint8_t *data;
    size_t size;
} lsc_map;

lsc_status lsc_map_file(const char *path, lsc_map *map, lsc_error *error);
void lsc_unmap(lsc_map *map);
/* Starts reading [p, p + n) into the page cache in the background (large reads,
 * not page by page on faults). Not MADV_SEQUENTIAL: the encoder reads a weight
 * twice, and that advice lets reclaim drop pages between the two passes. */
void lsc_map_will_need(const void *p, size_t n);
/* Drops the pages of [data, data + size), a range of a mapping from lsc_map_file,
 * from this process's memory; a later read faults them in again from the file. */
void lsc_map_release(const void *data, size_t size);

/* An output file written to a temporary name in the destination folder and renamed
 * over the final name only by lsc_out_commit. */
typedef struct lsc_out_file {
    int fd;
    char *tmp_path;
    char *final_path;
    uint8_t *buf;
    size_t used;
    uint64_t written;
    lsc_status status; /* first write failure, reported by commit */
    lsc_error error;
    int holes;         /* lsc_out_skip left a hole: commit sets the size */
    int direct;        /* O_DIRECT: buf is aligned and starts at an aligned file offset */
    size_t buf_size;
} lsc_out_file;

lsc_status lsc_out_open(lsc_out_file *out, const char *final_path, lsc_error *error);
void lsc_out_write(lsc_out_file *out, const void *data, size_t size);
/* For large outputs written once: from here on, whole aligned buffers go to the disk
 * with O_DIRECT, past the page cache (no fresh page-cache pages to fill, no copies
 * into them). Call right after lsc_out_open; where the file system refuses, the file
 * stays buffered. Same bytes either way. */
void lsc_out_direct(lsc_out_file *out);
/* Where in an aligned block the next byte written lands: a caller whose bytes sit at
 * that offset from an aligned address (4 KiB) has them written without a copy. */
size_t lsc_out_direct_phase(const lsc_out_file *out);
/* Appends `size` zero bytes as a hole (a sparse file where the file system allows). */
void lsc_out_skip(lsc_out_file *out, uint64_t size);
/* lsc_out_write for a decoded tensor: aligned 64 KiB runs of zero bytes become holes. */
void lsc_out_write_dense(lsc_out_file *out, const void *data, size_t size);
/* Everything written so far is in the temporary file (out->tmp_path), which can be
 * read back before the commit. */
lsc_status lsc_out_sync(lsc_out_file *out, lsc_error *error);
/* Overwrites [offset, offset + size) of what was written already (a header whose
 * room was written as zeros first); `written` does not change. */
void lsc_out_write_at(lsc_out_file *out, uint64_t offset, const void *data, size_t size);
lsc_status lsc_out_commit(lsc_out_file *out, lsc_error *error);
void lsc_out_abort(lsc_out_file *out);

/* 1 if both paths name the same existing file. */
int lsc_same_file(const char *a, const char *b);
/* Folder part of a path ("." if none) and file-name part; malloc'd. */
char *lsc_path_dir(const char *path);
const char *lsc_path_base(const char *path);
char *lsc_path_join(const char *dir, const char *name);
/* str with its suffix `from` replaced by `to` (or `to` appended). malloc'd. */
char *lsc_path_swap_suffix(const char *path, const char *from, const char *to);

/* malloc'd copy (NULL on failure). */
char *lsc_strdup(const char *s);

#endif /* LSC_COMMON_FILE_IO_H */
