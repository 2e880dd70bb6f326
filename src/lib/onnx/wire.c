/* A walk over the protobuf wire format of a ModelProto that copies everything but
 * the raw_data payloads of graph initializers (ModelProto.graph = 7 ->
 * GraphProto.initializer = 5 -> TensorProto.raw_data = 9). The copy unpacks into a
 * small graph; the payloads stay in the file mapping and are read in place. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

enum { FIELD_MODEL_GRAPH = 7, FIELD_GRAPH_INITIALIZER = 5, FIELD_TENSOR_RAW_DATA = 9 };
enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

int lsc_bytes_append(lsc_bytes *b, const void *data, size_t size)
{
    if (size > b->cap - b->size) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->size < size) {
            if (cap > SIZE_MAX / 2)
                return 0;
            cap *= 2;
        }
        uint8_t *p = realloc(b->data, cap);
        if (!p)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    if (size)
        memcpy(b->data + b->size, data, size);
    b->size += size;
    return 1;
}

void lsc_bytes_free(lsc_bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int read_varint(const uint8_t *p, size_t size, size_t *pos, uint64_t *value)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*pos >= size)
            return 0;
        uint8_t byte = p[(*pos)++];
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *value = v;
            return 1;
        }
    }
    return 0;
}

static int put_varint(lsc_bytes *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    return lsc_bytes_append(b, tmp, n);
}

/* One field: its tag, where it starts and ends, and for LEN fields the payload. */
typedef struct wire_field {
    uint64_t number;
    unsigned type;
    size_t start, end;
    size_t payload, payload_len;
} wire_field;

static int next_field(const uint8_t *p, size_t size, size_t *pos, wire_field *f)
{
    uint64_t tag, v;
    f->start = *pos;
    if (!read_varint(p, size, pos, &tag))
        return 0;
    f->number = tag >> 3;
    f->type = (unsigned)(tag & 7);
    if (f->number == 0)
        return 0;
    switch (f->type) {
    case WIRE_VARINT:
        if (!read_varint(p, size, pos, &v))
            return 0;
        break;
    case WIRE_I64:
        if (size - *pos < 8)
            return 0;
        *pos += 8;
        break;
    case WIRE_I32:
        if (size - *pos < 4)
            return 0;
        *pos += 4;
        break;
    case WIRE_LEN:
        if (!read_varint(p, size, pos, &v) || v > size - *pos)
            return 0;
        f->payload = *pos;
        f->payload_len = (size_t)v;
        *pos += (size_t)v;
        break;
    default: /* groups (deprecated) and invalid types: let the full parser decide */
        return 0;
    }
    f->end = *pos;
    return 1;
}

/* Copies a TensorProto, emptying raw_data; base: its offset in the file. */
static int strip_tensor(const uint8_t *p, size_t size, size_t base, lsc_bytes *out,
                        lsc_payload_ref *ref)
{
    size_t pos = 0;
    wire_field f;
    memset(ref, 0, sizeof *ref);
    while (pos < size) {
        if (!next_field(p, size, &pos, &f))
            return 0;
        if (f.number == FIELD_TENSOR_RAW_DATA && f.type == WIRE_LEN) {
            ref->present = 1;
            ref->offset = base + f.payload;
            ref->len = f.payload_len;
            static const uint8_t empty[2] = {(FIELD_TENSOR_RAW_DATA << 3) | WIRE_LEN, 0};
            if (!lsc_bytes_append(out, empty, 2))
                return 0;
        } else if (!lsc_bytes_append(out, p + f.start, f.end - f.start)) {
            return 0;
        }
    }
    return 1;
}

typedef struct ref_list {
    lsc_payload_ref *items;
    size_t count, cap;
} ref_list;

static int strip_graph(const uint8_t *p, size_t size, size_t base, lsc_bytes *out, ref_list *refs)
{
    size_t pos = 0;
    wire_field f;
    lsc_bytes tensor = {0};
    int ok = 1;
    while (ok && pos < size) {
        if (!next_field(p, size, &pos, &f)) {
            ok = 0;
            break;
        }
        if (f.number != FIELD_GRAPH_INITIALIZER || f.type != WIRE_LEN) {
            ok = lsc_bytes_append(out, p + f.start, f.end - f.start);
            continue;
        }
        if (refs->count == refs->cap) {
            size_t cap = refs->cap ? refs->cap * 2 : 64;
            lsc_payload_ref *items = realloc(refs->items, cap * sizeof *items);
            if (!items) {
                ok = 0;
                break;
            }
            refs->items = items;
            refs->cap = cap;
        }
        tensor.size = 0;
        ok = strip_tensor(p + f.payload, f.payload_len, base + f.payload, &tensor,
                          &refs->items[refs->count]);
        refs->count++;
        uint8_t tag = (FIELD_GRAPH_INITIALIZER << 3) | WIRE_LEN;
        ok = ok && lsc_bytes_append(out, &tag, 1) && put_varint(out, tensor.size) &&
             lsc_bytes_append(out, tensor.data, tensor.size);
    }
    lsc_bytes_free(&tensor);
    return ok;
}

int lsc_wire_strip_model(const uint8_t *data, size_t size, lsc_bytes *stripped,
                         lsc_payload_ref **refs_out, size_t *n_refs)
{
    size_t pos = 0;
    wire_field f;
    lsc_bytes graph = {0};
    ref_list refs = {0};
    int graphs = 0, ok = 1;
    stripped->size = 0;
    while (ok && pos < size) {
        if (!next_field(data, size, &pos, &f)) {
            ok = 0;
            break;
        }
        if (f.number != FIELD_MODEL_GRAPH || f.type != WIRE_LEN) {
            ok = lsc_bytes_append(stripped, data + f.start, f.end - f.start);
            continue;
        }
        if (++graphs > 1) { /* protobuf merges repeated graph fields: parse whole */
            ok = 0;
            break;
        }
        ok = strip_graph(data + f.payload, f.payload_len, f.payload, &graph, &refs);
        uint8_t tag = (FIELD_MODEL_GRAPH << 3) | WIRE_LEN;
        ok = ok && lsc_bytes_append(stripped, &tag, 1) && put_varint(stripped, graph.size) &&
             lsc_bytes_append(stripped, graph.data, graph.size);
    }
    lsc_bytes_free(&graph);
    if (!ok) {
        free(refs.items);
        lsc_bytes_free(stripped);
        return 1;
    }
    *refs_out = refs.items;
    *n_refs = refs.count;
    return 0;
}
