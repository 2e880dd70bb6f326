/* A walk over the protobuf wire format of a ModelProto that copies everything but
 * the raw_data payloads of the tensors a graph holds: its initializers, the
 * tensors of its nodes' attributes (Constant values) and, recursively, those of
 * subgraphs (If/Loop/Scan bodies). Each payload of at least MIN_PAYLOAD bytes is
 * replaced by a 16-byte marker naming its index; the copy unpacks into a small
 * graph, and lsc_onnx_load points each marked raw_data back into the mapping.
 * The input must be a read-only file mapping (lsc_map_file): pages around each
 * payload are released once walked.
 * Field numbers (onnx.proto): ModelProto.graph = 7; GraphProto.node = 1,
 * .initializer = 5; NodeProto.attribute = 5; AttributeProto.t = 5, .g = 6,
 * .tensors = 10, .graphs = 11; TensorProto.raw_data = 9. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

enum { FIELD_MODEL_GRAPH = 7, FIELD_TENSOR_RAW_DATA = 9 };

/* The messages the walk descends into. */
typedef enum msg_kind { MSG_OTHER, MSG_GRAPH, MSG_NODE, MSG_ATTRIBUTE, MSG_TENSOR } msg_kind;

#define MIN_PAYLOAD 64 /* smaller payloads stay in the copy */
#define MAX_DEPTH 32   /* deeper nesting: the caller parses the whole file */
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

typedef struct ref_list {
    lsc_payload_ref *items;
    size_t count, cap;
} ref_list;

static msg_kind child_kind(msg_kind parent, uint64_t field)
{
    switch (parent) {
    case MSG_GRAPH: return field == 1 ? MSG_NODE : field == 5 ? MSG_TENSOR : MSG_OTHER;
    case MSG_NODE: return field == 5 ? MSG_ATTRIBUTE : MSG_OTHER;
    case MSG_ATTRIBUTE:
        return field == 5 || field == 10 ? MSG_TENSOR : field == 6 || field == 11 ? MSG_GRAPH : MSG_OTHER;
    default: return MSG_OTHER;
    }
}

static int put_len_field(lsc_bytes *out, uint64_t number, const void *data, size_t len)
{
    return put_varint(out, number << 3 | WIRE_LEN) && put_varint(out, len) &&
           lsc_bytes_append(out, data, len);
}

/* raw_data: a marker {LSC_WIRE_MARKER, index} in place of a large payload. */
static int strip_payload(const uint8_t *p, size_t base, const wire_field *f, lsc_bytes *out,
                         ref_list *refs)
{
    if (f->payload_len < MIN_PAYLOAD) {
        /* A small payload that looks like a marker would be taken for one. */
        if (f->payload_len == LSC_WIRE_MARKER_SIZE && memcmp(p + f->payload, LSC_WIRE_MARKER, 8) == 0)
            return 0;
        return lsc_bytes_append(out, p + f->start, f->end - f->start);
    }
    if (refs->count == refs->cap) {
        size_t cap = refs->cap ? refs->cap * 2 : 64;
        lsc_payload_ref *items = realloc(refs->items, cap * sizeof *items);
        if (!items)
            return 0;
        refs->items = items;
        refs->cap = cap;
    }
    uint8_t marker[LSC_WIRE_MARKER_SIZE];
    uint64_t index = refs->count;
    memcpy(marker, LSC_WIRE_MARKER, 8);
    for (int i = 0; i < 8; i++)
        marker[8 + i] = (uint8_t)(index >> (8 * i));
    refs->items[refs->count++] = (lsc_payload_ref){base + f->payload, f->payload_len, 1};
    /* The walk touched the pages around the payload, and the page cache may map a
     * large folio for each: let them go, or a model with weights inline holds a few
     * MiB per tensor after loading. (p is a read-only file mapping: safe.) */
    lsc_map_release(p + f->payload, f->payload_len);
    return put_len_field(out, FIELD_TENSOR_RAW_DATA, marker, sizeof marker);
}

/* Copies one message of kind `kind`; base: its offset in the file. */
static int strip_message(const uint8_t *p, size_t size, size_t base, msg_kind kind, int depth,
                         lsc_bytes *out, ref_list *refs)
{
    size_t pos = 0;
    wire_field f;
    if (depth > MAX_DEPTH)
        return 0;
    while (pos < size) {
        if (!next_field(p, size, &pos, &f))
            return 0;
        if (f.type != WIRE_LEN) {
            if (!lsc_bytes_append(out, p + f.start, f.end - f.start))
                return 0;
            continue;
        }
        if (kind == MSG_TENSOR && f.number == FIELD_TENSOR_RAW_DATA) {
            if (!strip_payload(p, base, &f, out, refs))
                return 0;
            continue;
        }
        msg_kind child = child_kind(kind, f.number);
        if (child == MSG_OTHER) {
            if (!lsc_bytes_append(out, p + f.start, f.end - f.start))
                return 0;
            continue;
        }
        lsc_bytes copy = {0};
        int ok = strip_message(p + f.payload, f.payload_len, base + f.payload, child, depth + 1, &copy,
                               refs) &&
                 put_len_field(out, f.number, copy.data, copy.size);
        lsc_bytes_free(&copy);
        if (!ok)
            return 0;
    }
    return 1;
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
        ok = strip_message(data + f.payload, f.payload_len, f.payload, MSG_GRAPH, 0, &graph, &refs) &&
             put_len_field(stripped, FIELD_MODEL_GRAPH, graph.data, graph.size);
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
