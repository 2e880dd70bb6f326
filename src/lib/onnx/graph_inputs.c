/* Encoded weights that were also main graph inputs are dropped from graph.input;
 * the rewritten model records where they stood in its metadata_props, and raises
 * an IR version below 4 (where every initializer had to be an input) to 4,
 * recording the original (docs/format.md 3.1). decompress takes both back. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

#define INPUTS_KEY LSC_ONNX_DOMAIN ".graph_inputs"
#define IR_KEY LSC_ONNX_DOMAIN ".ir_version"
#define MIN_IR 4

lsc_status lsc_dropped_inputs_add(lsc_dropped_inputs *d, size_t position, const char *name,
                                  lsc_error *error)
{
    lsc_dropped_input *items = realloc(d->items, (d->count + 1) * sizeof *items);
    if (!items)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    d->items = items;
    char *copy = lsc_strdup(name ? name : "");
    if (!copy)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    items[d->count].position = position;
    items[d->count].name = copy;
    d->count++;
    return LSC_OK;
}

void lsc_dropped_inputs_free(lsc_dropped_inputs *d)
{
    for (size_t i = 0; i < d->count; i++)
        free(d->items[i].name);
    free(d->items);
    memset(d, 0, sizeof *d);
}

/* Value: one line "POSITION NAME_LENGTH NAME" per dropped input, by position. */
lsc_status lsc_dropped_inputs_record(Onnx__ModelProto *m, const lsc_dropped_inputs *d,
                                     lsc_error *error)
{
    size_t size = 1;
    for (size_t i = 0; i < d->count; i++)
        size += strlen(d->items[i].name) + 2 * 21 + 3;
    char *value = malloc(size);
    if (!value)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    size_t used = 0;
    value[0] = '\0';
    for (size_t i = 0; i < d->count; i++)
        used += (size_t)snprintf(value + used, size - used, "%zu %zu %s\n", d->items[i].position,
                                 strlen(d->items[i].name), d->items[i].name);
    LSC_TRY(lsc_model_add_prop(m, INPUTS_KEY, value, error));
    if (m->has_ir_version && m->ir_version >= MIN_IR)
        return LSC_OK;
    char *ir = malloc(24);
    if (!ir)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    if (m->has_ir_version)
        snprintf(ir, 24, "%" PRId64, m->ir_version);
    else
        snprintf(ir, 24, "none");
    m->has_ir_version = 1;
    m->ir_version = MIN_IR;
    return lsc_model_add_prop(m, IR_KEY, ir, error);
}

static lsc_status parse_inputs(const char *v, lsc_dropped_inputs *d, lsc_error *error)
{
    while (*v) {
        char *end;
        unsigned long long pos = strtoull(v, &end, 10);
        if (end == v || *end != ' ')
            break;
        v = end + 1;
        unsigned long long len = strtoull(v, &end, 10);
        if (end == v || *end != ' ' || len > strlen(end + 1) || end[1 + len] != '\n')
            break;
        char *name = malloc((size_t)len + 1);
        if (!name)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        memcpy(name, end + 1, (size_t)len);
        name[len] = '\0';
        lsc_status st = lsc_dropped_inputs_add(d, (size_t)pos, name, error);
        free(name);
        LSC_TRY(st);
        if (d->count > 1 && d->items[d->count - 1].position <= d->items[d->count - 2].position)
            break;
        v = end + 1 + len + 1;
    }
    if (*v)
        return lsc_fail(error, LSC_ERR_BAD_MODEL, "metadata '%s' is malformed", INPUTS_KEY);
    return LSC_OK;
}

static void remove_prop(Onnx__ModelProto *m, size_t i)
{
    protobuf_c_message_free_unpacked(&m->metadata_props[i]->base, NULL);
    memmove(m->metadata_props + i, m->metadata_props + i + 1,
            (m->n_metadata_props - i - 1) * sizeof *m->metadata_props);
    m->n_metadata_props--;
}

lsc_status lsc_dropped_inputs_take(Onnx__ModelProto *m, lsc_dropped_inputs *d, lsc_error *error)
{
    memset(d, 0, sizeof *d);
    for (size_t i = m->n_metadata_props; i-- > 0;) {
        const Onnx__StringStringEntryProto *e = m->metadata_props[i];
        if (!e->key || !e->value)
            continue;
        if (strcmp(e->key, INPUTS_KEY) == 0) {
            LSC_TRY(parse_inputs(e->value, d, error));
            remove_prop(m, i);
        } else if (strcmp(e->key, IR_KEY) == 0) {
            char *end;
            long long ir = strtoll(e->value, &end, 10);
            if (strcmp(e->value, "none") == 0) {
                m->has_ir_version = 0;
                m->ir_version = 0;
            } else if (end != e->value && !*end && ir >= 0 && ir < MIN_IR) {
                m->ir_version = ir;
            } else {
                return lsc_fail(error, LSC_ERR_BAD_MODEL, "metadata '%s' is malformed", IR_KEY);
            }
            remove_prop(m, i);
        }
    }
    return LSC_OK;
}
