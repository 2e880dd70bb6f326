/* Restoring weights that the original model kept in external data files. The
 * restored model keeps the original external_data reference; the bytes it names
 * must exist beside it: a missing file is created (tensors at their offsets, zero
 * bytes between), an existing one (typically the original) must already hold the
 * same values, zeros of either sign being equal. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/restore_external.h"

#include "codec/blob.h"

#define SPARSE_GAP_MIN (64u << 10)

lsc_status lsc_restore_ext_add(lsc_restore_ext *ext, const Onnx__TensorProto *tensor,
                               const lsc_weight *weight, size_t dense_bytes, const void *blob,
                               size_t blob_size, lsc_error *error)
{
    char label[300];
    lsc_label(label, sizeof label, "restore record", "tensor", tensor->name);
    lsc_ext_ref ref = {0};
    LSC_TRY(lsc_ext_parse(NULL, tensor, label, &ref, error));
    if (ref.has_length && ref.length != dense_bytes)
        return lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: external length %llu, tensor has %zu bytes",
                        label, (unsigned long long)ref.length, dense_bytes);
    lsc_restore_ext_item *items = realloc(ext->items, (ext->count + 1) * sizeof *items);
    if (!items)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    ext->items = items;
    items[ext->count++] =
        (lsc_restore_ext_item){tensor, weight, NULL, dense_bytes, ref.location, ref.offset, blob, blob_size};
    return LSC_OK;
}

lsc_status lsc_restore_ext_add_copy(lsc_restore_ext *ext, const Onnx__TensorProto *tensor,
                                    const void *bytes, size_t size, lsc_error *error)
{
    char label[300];
    lsc_label(label, sizeof label, "model", "tensor", tensor->name);
    lsc_ext_ref ref = {0};
    LSC_TRY(lsc_ext_parse(NULL, tensor, label, &ref, error));
    lsc_restore_ext_item *items = realloc(ext->items, (ext->count + 1) * sizeof *items);
    if (!items)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    ext->items = items;
    items[ext->count++] = (lsc_restore_ext_item){tensor, NULL, bytes, size, ref.location, ref.offset, NULL, 0};
    return LSC_OK;
}

static int is_skipped(const Onnx__TensorProto *t, Onnx__TensorProto *const *skip, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (skip[i] == t)
            return 1;
    return 0;
}

static lsc_status add_tensor(lsc_restore_ext *ext, lsc_onnx_model *model, const Onnx__TensorProto *t,
                             uint64_t *bytes, lsc_error *error)
{
    if (lsc_tensor_repr(t) != LSC_REPR_EXTERNAL)
        return LSC_OK;
    char label[400];
    lsc_label(label, sizeof label, model->path, "tensor", t->name);
    lsc_ext_ref ref = {0};
    lsc_map map = {0};
    LSC_TRY(lsc_ext_parse(model, t, label, &ref, error));
    LSC_TRY(lsc_ext_open_file(model, ref.location, label, &map, error));
    uint64_t length = ref.has_length ? ref.length : (ref.offset <= map.size ? map.size - ref.offset : 0);
    if (ref.offset > map.size || length > map.size - ref.offset)
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: offset/length outside '%.200s'", label,
                        ref.location);
    *bytes += length;
    return lsc_restore_ext_add_copy(ext, t, map.data + ref.offset, (size_t)length, error);
}

static lsc_status add_graph(lsc_restore_ext *ext, lsc_onnx_model *model, const Onnx__GraphProto *g,
                            Onnx__TensorProto *const *skip, size_t n_skip, uint64_t *bytes, lsc_error *error)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!is_skipped(g->initializer[i], skip, n_skip))
            LSC_TRY(add_tensor(ext, model, g->initializer[i], bytes, error));
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            const Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            if (attr->t && !is_skipped(attr->t, skip, n_skip))
                LSC_TRY(add_tensor(ext, model, attr->t, bytes, error));
            for (size_t k = 0; k < attr->n_tensors; k++)
                if (!is_skipped(attr->tensors[k], skip, n_skip))
                    LSC_TRY(add_tensor(ext, model, attr->tensors[k], bytes, error));
            if (attr->g)
                LSC_TRY(add_graph(ext, model, attr->g, skip, n_skip, bytes, error));
            for (size_t k = 0; k < attr->n_graphs; k++)
                LSC_TRY(add_graph(ext, model, attr->graphs[k], skip, n_skip, bytes, error));
        }
    return LSC_OK;
}

lsc_status lsc_restore_ext_add_model(lsc_restore_ext *ext, lsc_onnx_model *model,
                                     Onnx__TensorProto *const *skip, size_t n_skip,
                                     uint64_t *bytes_out, lsc_error *error)
{
    uint64_t bytes = 0;
    lsc_status st = add_graph(ext, model, model->proto->graph, skip, n_skip, &bytes, error);
    if (bytes_out)
        *bytes_out = bytes;
    return st;
}

int lsc_same_folder(const char *dir, const char *out_model)
{
    char *d = lsc_path_dir(out_model);
    char r1[PATH_MAX], r2[PATH_MAX];
    int same = d && realpath(d, r1) && realpath(dir, r2) && strcmp(r1, r2) == 0;
    free(d);
    return same;
}

static int by_location_offset(const void *a, const void *b)
{
    const lsc_restore_ext_item *x = a, *y = b;
    int c = strcmp(x->location, y->location);
    if (c)
        return c;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int is_zero(const uint8_t *p, size_t esize)
{
    for (size_t i = 0; i + 1 < esize; i++)
        if (p[i])
            return 0;
    return (p[esize - 1] & 0x7f) == 0;
}

static int same_values(const uint8_t *a, const uint8_t *b, size_t size, size_t esize)
{
    for (size_t i = 0; i + esize <= size; i += esize)
        if (memcmp(a + i, b + i, esize) != 0 && !(is_zero(a + i, esize) && is_zero(b + i, esize)))
            return 0;
    return 1;
}

/* A huge page: the transposed decoder stores a line per dense row, thousands of 4 KiB
 * pages apart, and 1 GiB faulted in 4 KiB at a time costs more than in 2 MiB (on a
 * loaded machine the kernel's compaction for them sometimes costs 1-2 s of system
 * time per 4 GB; without them it was 1 s every time and the wall time 1.6x). */
#define DENSE_ALIGN (2u << 20)

void lsc_dense_buf_free(lsc_dense_buf *buf)
{
    if (buf->map)
        munmap(buf->map, buf->cap);
    memset(buf, 0, sizeof *buf);
}

/* Fresh zero pages, 2 MiB aligned: the slack of an over-sized mapping is unmapped. */
static uint8_t *map_aligned(size_t size)
{
    size_t span = size + DENSE_ALIGN;
    if (span < size)
        return NULL;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    size_t lead = (DENSE_ALIGN - (uintptr_t)p % DENSE_ALIGN) % DENSE_ALIGN;
    if (lead)
        munmap(p, lead);
    if (span - lead > size)
        munmap(p + lead + size, span - lead - size);
#ifdef MADV_HUGEPAGE
    (void)madvise(p + lead, size, MADV_HUGEPAGE); /* advice: no huge pages is fine */
#endif
    return p + lead;
}

lsc_status lsc_dense_decode(lsc_dense_buf *buf, const lsc_weight *weight, size_t size, size_t phase,
                            const lsc_exec *exec, const uint8_t **out, lsc_error *error)
{
    size_t need = (size + phase + 4095) / 4096 * 4096;
    if (size > SIZE_MAX - 8192 || phase >= 4096)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for %zu dense bytes", size);
    if (buf->cap < need || !buf->map) {
        /* Fresh zero pages: only the stored values are written. */
        lsc_dense_buf_free(buf);
        buf->map = map_aligned(need ? need : 4096);
        if (!buf->map)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory for %zu dense bytes", size);
        buf->cap = need ? need : 4096;
    } else if (!lsc_weight_fill_writes_all(weight)) {
        /* Pages already mapped: zeroing them costs less than faulting in new ones. */
        memset(buf->map + phase, 0, size);
    }
    buf->data = buf->map + phase;
    *out = buf->data;
    return lsc_weight_fill(weight, buf->data, size, exec, error);
}

/* The item's bytes: a copy's straight from its mapping, a weight's decoded. */
static lsc_status decode_item(lsc_restore_ext *ext, const lsc_restore_ext_item *it, size_t phase,
                              const uint8_t **out, lsc_error *error)
{
    if (!it->weight) {
        *out = it->copy;
        return LSC_OK;
    }
    lsc_status st = lsc_dense_decode(&ext->buf, it->weight, it->dense_bytes, phase, ext->exec, out, error);
    lsc_map_release(it->blob, it->blob_size);
    return st;
}

static lsc_status check_existing(lsc_restore_ext *ext, const char *path, const lsc_restore_ext_item *items,
                                 size_t n, lsc_error *error)
{
    lsc_map map;
    LSC_TRY(lsc_map_file(path, &map, error));
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < n; i++) {
        const lsc_restore_ext_item *it = &items[i];
        lsc_weight_info info = {.dtype = LSC_DTYPE_FLOAT32};
        if (it->weight)
            lsc_weight_get_info(it->weight, &info);
        if (it->offset > map.size || it->dense_bytes > map.size - it->offset) {
            st = lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: exists but is too short for tensor '%.200s'",
                          path, it->tensor->name ? it->tensor->name : "");
            break;
        }
        const uint8_t *dense = NULL;
        st = decode_item(ext, it, 0, &dense, error);
        /* A copied tensor must be the same bytes; a decoded one the same values. */
        if (st == LSC_OK && (it->weight ? !same_values(dense, map.data + it->offset, it->dense_bytes,
                                                       lsc_dtype_size(info.dtype))
                                        : memcmp(dense, map.data + it->offset, it->dense_bytes) != 0))
            st = lsc_fail(error, LSC_ERR_EXTERNAL_DATA,
                          "%s: exists and holds other values for tensor '%.200s' (move it away to recreate it)",
                          path, it->tensor->name ? it->tensor->name : "");
        lsc_map_release(map.data + it->offset, it->dense_bytes);
        if (!it->weight)
            lsc_map_release(it->copy, it->dense_bytes);
        if (st == LSC_OK)
            lsc_progress_add(ext->progress, it->dense_bytes);
    }
    lsc_unmap(&map);
    return st;
}

static lsc_status create_file(lsc_restore_ext *ext, const char *path, const lsc_restore_ext_item *items,
                              size_t n, lsc_error *error)
{
    lsc_out_file out;
    LSC_TRY(lsc_out_open(&out, path, error));
    /* Gigabytes written once: past the page cache, whose fresh pages cost more than the disk. */
    lsc_out_direct(&out);
    static const uint8_t zeros[4096];
    uint64_t cursor = 0;
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < n; i++) {
        if (i && items[i].offset == items[i - 1].offset && items[i].dense_bytes == items[i - 1].dense_bytes)
            continue; /* two tensors naming the same bytes */
        if (items[i].offset < cursor) {
            st = lsc_fail(error, LSC_ERR_BAD_BUNDLE, "%s: restored tensors overlap at offset %llu", path,
                          (unsigned long long)items[i].offset);
            break;
        }
        /* A long run of zeros between tensors becomes a hole: no disk, no time. */
        if (items[i].offset - cursor >= SPARSE_GAP_MIN) {
            lsc_out_skip(&out, items[i].offset - cursor);
            cursor = items[i].offset;
        }
        for (; cursor < items[i].offset;) {
            uint64_t gap = items[i].offset - cursor;
            size_t k = gap < sizeof zeros ? (size_t)gap : sizeof zeros;
            lsc_out_write(&out, zeros, k);
            cursor += k;
        }
        if (!items[i].weight) { /* a dense copy: straight from the input's mapping */
            lsc_out_write(&out, items[i].copy, items[i].dense_bytes);
            lsc_map_release(items[i].copy, items[i].dense_bytes);
        } else {
            const uint8_t *dense = NULL;
            st = decode_item(ext, &items[i], lsc_out_direct_phase(&out), &dense, error);
            if (st == LSC_OK)
                lsc_out_write_dense(&out, dense, items[i].dense_bytes);
        }
        cursor += items[i].dense_bytes;
        if (st == LSC_OK)
            lsc_progress_add(ext->progress, items[i].dense_bytes);
    }
    if (st != LSC_OK) {
        lsc_out_abort(&out);
        return st;
    }
    return lsc_out_commit(&out, error);
}

/* The file a location names, once symbolic links are resolved (the file itself when
 * it exists, else its folder), must lie inside the output folder: a link in that
 * folder must not make decompress read or write elsewhere. */
static lsc_status check_inside(const char *dir, const char *path, const char *location,
                               lsc_error *error)
{
    char real_dir[PATH_MAX], real[PATH_MAX];
    struct stat sb;
    int exists = lstat(path, &sb) == 0;
    char *parent = exists ? NULL : lsc_path_dir(path);
    if (!exists && !parent)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    int resolved = realpath(dir, real_dir) && realpath(exists ? path : parent, real);
    int err = errno;
    free(parent);
    if (!resolved)
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA, "%s: external data location '%.200s' cannot be resolved: %s",
                        path, location, strerror(err));
    size_t n = strlen(real_dir);
    int inside = n == 1 || (strncmp(real, real_dir, n) == 0 && (real[n] == '/' || (!exists && !real[n])));
    if (!inside)
        return lsc_fail(error, LSC_ERR_EXTERNAL_DATA,
                        "%s: external data location '%.200s' leads outside the output folder (symbolic link)",
                        path, location);
    return LSC_OK;
}

lsc_status lsc_restore_ext_write(lsc_restore_ext *ext, const char *out_model, lsc_error *error)
{
    if (!ext->count)
        return LSC_OK;
    qsort(ext->items, ext->count, sizeof *ext->items, by_location_offset);
    char *dir = lsc_path_dir(out_model);
    ext->created = calloc(ext->count, sizeof *ext->created);
    if (!dir || !ext->created) {
        free(dir);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < ext->count;) {
        size_t j = i + 1;
        while (j < ext->count && strcmp(ext->items[j].location, ext->items[i].location) == 0)
            j++;
        char *path = lsc_path_join(dir, ext->items[i].location);
        struct stat sb;
        if (!path)
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        else if ((st = check_inside(dir, path, ext->items[i].location, error)) != LSC_OK)
            (void)0;
        else if (lstat(path, &sb) == 0)
            st = check_existing(ext, path, ext->items + i, j - i, error);
        else if ((st = create_file(ext, path, ext->items + i, j - i, error)) == LSC_OK) {
            ext->created[ext->n_created++] = path;
            path = NULL;
        }
        free(path);
        i = j;
    }
    free(dir);
    return st;
}

void lsc_restore_ext_rollback(lsc_restore_ext *ext)
{
    for (size_t i = 0; i < ext->n_created; i++)
        unlink(ext->created[i]);
}

void lsc_restore_ext_free(lsc_restore_ext *ext)
{
    for (size_t i = 0; i < ext->n_created; i++)
        free(ext->created[i]);
    free(ext->created);
    free(ext->items);
    lsc_dense_buf_free(&ext->buf);
    memset(ext, 0, sizeof *ext);
}
