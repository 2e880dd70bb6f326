/* The bundle reader (src/lib/bundle/reader.c): a file of any content is opened,
 * every TOC entry looked at, found again by name, opened as a weight and decoded,
 * or as a dense pack (docs/format.md part 5) or a names entry (part 6) when it has
 * that magic.
 * Input: 1 control byte, then the file. Control bit 0 repairs the header, TOC and
 * blob checksums first (fuzz_fix_bundle_checksums), so that mutations get past
 * XXH64 to the structural checks. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "onnx/graph_entry.h"
#include "onnx-lsc/lsc.h"

#define MAX_DECODE_BYTES (16u << 20)

static void check(int ok)
{
    if (!ok)
        abort();
}

/* A dense pack: refused with a message, or every tensor inside its values. */
static void check_pack(const void *blob, size_t size)
{
    lsc_dense_pack *p = NULL;
    lsc_error err;
    if (lsc_dense_pack_open(blob, size, "fuzz", &p, &err) != LSC_OK) {
        check(p == NULL);
        fuzz_check_message(&err);
        return;
    }
    size_t n = lsc_dense_pack_count(p);
    check(n >= 1);
    volatile float sink = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const lsc_packed_tensor *t = lsc_dense_pack_get(p, i);
        uint64_t count = 1;
        for (int d = 0; d < t->rank; d++)
            count *= (uint64_t)t->dims[d];
        check(t->rank >= 0 && t->rank <= LSC_MAX_RANK && count == t->count && (t->restore_len == 0 || t->restore));
        if (t->count)
            sink += t->values[0] + t->values[t->count - 1]; /* inside the buffer (ASan) */
    }
    (void)sink;
    check(lsc_dense_pack_get(p, n) == NULL);
    lsc_dense_pack_close(&p);
    check(p == NULL);
}

/* A names entry: refused with a message, or every name non-empty and NUL-free. */
static void check_names(const void *blob, size_t size)
{
    lsc_name_table *t = NULL;
    lsc_error err;
    if (lsc_name_table_open(blob, size, "fuzz", &t, &err) != LSC_OK) {
        check(t == NULL);
        fuzz_check_message(&err);
        return;
    }
    size_t total = 0;
    for (int kind = LSC_NAME_VALUE; kind <= LSC_NAME_NODE; kind++) {
        size_t n = lsc_name_table_count(t, (lsc_name_kind)kind);
        total += n;
        for (size_t i = 0; i < n; i++) {
            const char *s = lsc_name_table_short(t, (lsc_name_kind)kind, i);
            const char *o = lsc_name_table_original(t, (lsc_name_kind)kind, i);
            check(s && o && *s && *o);
            volatile size_t len = strlen(s) + strlen(o); /* read whole, inside their buffers (ASan) */
            (void)len;
        }
        check(lsc_name_table_short(t, (lsc_name_kind)kind, n) == NULL);
    }
    check(total >= 1);
    lsc_name_table_close(&t);
    check(t == NULL);
}

/* A graph entry (docs/format.md part 7): refused with a message, or a message that
 * fills the size its header gives; decoded against the bundle's bytes before it (the
 * model file it was made for is not in the input, fuzz_model has both). */
static void check_graph(const lsc_bundle *b, size_t i)
{
    const lsc_bundle_entry *e = lsc_bundle_get(b, i);
    const uint8_t *blob = lsc_bundle_blob(b, i);
    const uint8_t *start = blob - (e->offset - 64); /* the bytes after the bundle's header */
    uint8_t *full = NULL;
    size_t full_size = 0;
    lsc_error err;
    if (lsc_graph_entry_decode(blob, (size_t)e->size, start, (size_t)(e->offset - 64), 0, "fuzz", &full, &full_size,
                               &err) != LSC_OK) {
        check(full == NULL);
        fuzz_check_message(&err);
        return;
    }
    check(full_size >= 1 && full_size <= LSC_GRAPH_MAX_SIZE);
    volatile uint8_t last = full[full_size - 1]; /* inside the buffer (ASan) */
    (void)last;
    free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t ctl = data[0];
    size_t file_size = size - 1;
    uint8_t *file = malloc(file_size ? file_size : 1);
    if (!file)
        return 0;
    memcpy(file, data + 1, file_size);
    if (ctl & 1)
        fuzz_fix_bundle_checksums(file, file_size);
    const char *path = fuzz_path(0, "b.lsc");
    fuzz_write_file(path, file, file_size);
    free(file);

    lsc_bundle *b = NULL;
    lsc_error err;
    if (lsc_bundle_open(path, &b, &err) != LSC_OK) {
        check(b == NULL);
        fuzz_check_message(&err);
        return 0;
    }
    lsc_seal seal;
    if (lsc_bundle_get_seal(b, &seal))
        check(lsc_bundle_find(b, "\0onnx-lsc.seal", 14) == (size_t)-1); /* the seal is not a weight */
    size_t n = lsc_bundle_count(b);
    for (size_t i = 0; i < n; i++) {
        const lsc_bundle_entry *e = lsc_bundle_get(b, i);
        check(e && e->name && e->name[e->name_len] == 0);
        /* The TOC keeps every blob inside the file, before the TOC. */
        check(e->offset >= 64 && e->size <= file_size && e->offset <= file_size - e->size);
        check(e->restore_len == 0 || e->restore);
        size_t found = lsc_bundle_find(b, e->name, e->name_len);
        check(found == i); /* names are unique (checked on open) */
        const lsc_bundle_entry *f = lsc_bundle_get(b, found);
        check(f->name_len == e->name_len && !memcmp(f->name, e->name, e->name_len));
        check(lsc_bundle_blob(b, i) != NULL);

        if (lsc_is_dense_pack(lsc_bundle_blob(b, i), (size_t)e->size)) {
            check_pack(lsc_bundle_blob(b, i), (size_t)e->size);
            continue;
        }
        if (lsc_is_name_table(lsc_bundle_blob(b, i), (size_t)e->size)) {
            check_names(lsc_bundle_blob(b, i), (size_t)e->size);
            continue;
        }
        if (e->size >= 4 && !memcmp(lsc_bundle_blob(b, i), LSC_GRAPH_MAGIC, 4)) {
            check_graph(b, i);
            continue;
        }
        lsc_weight *w = NULL;
        if (lsc_bundle_open_weight(b, i, &w, &err) != LSC_OK) {
            check(w == NULL);
            fuzz_check_message(&err);
            continue;
        }
        lsc_weight_info in;
        lsc_weight_get_info(w, &in);
        check(in.blob_size == e->size);
        uint64_t bytes = (uint64_t)in.rows * in.cols * lsc_dtype_size(in.dtype);
        if (bytes <= MAX_DECODE_BYTES) {
            void *dense = malloc(bytes ? (size_t)bytes : 1);
            check(dense != NULL);
            check(lsc_weight_decode(w, dense, (size_t)bytes, &err) == LSC_OK);
            free(dense);
        }
        lsc_weight_close(&w);
    }
    check(lsc_bundle_get(b, n) == NULL);
    lsc_bundle_close(&b);
    check(b == NULL);
    return 0;
}
