/* The scopes a dense pack reaches (docs/format.md 5.1): every graph of the model
 * numbered in walk order, and which value names may leave a body for the main
 * graph's LscUnpack node (defined once in the whole model, in no graph's inputs or
 * outputs, not an LSC recurrent op's W or R). */
#include <stdlib.h>
#include <string.h>

#include "onnx/dense_pack_scope.h"

static lsc_status list_add(lsc_graph_list *list, Onnx__GraphProto *g, int depth, lsc_error *error);

static lsc_status list_bodies(lsc_graph_list *list, const Onnx__GraphProto *g, int depth, lsc_error *error)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            if (attr->g)
                LSC_TRY(list_add(list, attr->g, depth + 1, error));
            for (size_t k = 0; k < attr->n_graphs; k++)
                LSC_TRY(list_add(list, attr->graphs[k], depth + 1, error));
        }
    return LSC_OK;
}

static lsc_status list_add(lsc_graph_list *list, Onnx__GraphProto *g, int depth, lsc_error *error)
{
    if (depth > LSC_PACK_MAX_DEPTH) {
        list->deep = 1;
        return LSC_OK;
    }
    if (list->n == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 16;
        Onnx__GraphProto **p = realloc(list->graph, cap * sizeof *p);
        if (!p)
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory listing graphs");
        list->graph = p;
        list->cap = cap;
    }
    list->graph[list->n++] = g;
    return list_bodies(list, g, depth, error);
}

lsc_status lsc_graph_list_build(Onnx__GraphProto *main_graph, lsc_graph_list *list, lsc_error *error)
{
    memset(list, 0, sizeof *list);
    lsc_status st = main_graph ? list_add(list, main_graph, 0, error) : LSC_OK;
    if (st != LSC_OK)
        lsc_graph_list_free(list);
    return st;
}

void lsc_graph_list_free(lsc_graph_list *list)
{
    free(list->graph);
    memset(list, 0, sizeof *list);
}

/* The facts of one name (index from the map; defs saturate). */
static lsc_status fact(lsc_pack_names *names, const char *name, uint32_t defs, uint8_t flags, lsc_error *error)
{
    if (!name || !*name)
        return LSC_OK;
    size_t at = lsc_name_map_get(&names->map, name);
    if (at == (size_t)-1) {
        if (names->n == names->cap) {
            size_t cap = names->cap ? 2 * names->cap : 64;
            uint32_t *d = realloc(names->defs, cap * sizeof *d);
            if (d)
                names->defs = d;
            uint8_t *f = d ? realloc(names->flags, cap) : NULL;
            if (!f)
                return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory indexing names");
            names->flags = f;
            names->cap = cap;
        }
        at = names->n++;
        names->defs[at] = 0;
        names->flags[at] = 0;
        LSC_TRY(lsc_name_map_put(&names->map, name, at, error));
    }
    names->defs[at] += names->defs[at] < 2 ? defs : 0;
    names->flags[at] |= flags;
    return LSC_OK;
}

static lsc_status graph_facts(lsc_pack_names *names, const Onnx__GraphProto *g, lsc_error *error)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        LSC_TRY(fact(names, g->initializer[i]->name, 1, 0, error));
    for (size_t i = 0; i < g->n_sparse_initializer; i++)
        if (g->sparse_initializer[i]->values)
            LSC_TRY(fact(names, g->sparse_initializer[i]->values->name, 1, 0, error));
    for (size_t i = 0; i < g->n_input; i++)
        LSC_TRY(fact(names, g->input[i]->name, 1, LSC_NAME_GRAPH_IO, error));
    for (size_t i = 0; i < g->n_output; i++)
        LSC_TRY(fact(names, g->output[i]->name, 0, LSC_NAME_GRAPH_IO, error));
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t j = 0; j < n->n_output; j++)
            LSC_TRY(fact(names, n->output[j], 1, 0, error));
        /* An LSC recurrent op takes a dense W or R only as a constant (3.1). */
        const char *plain = lsc_node_is_lsc(n) ? lsc_plain_op_for(n->op_type) : NULL;
        if (plain && (!strcmp(plain, "LSTM") || !strcmp(plain, "GRU") || !strcmp(plain, "RNN")))
            for (size_t j = 1; j < n->n_input && j <= 2; j++)
                LSC_TRY(fact(names, n->input[j], 0, LSC_NAME_RECURRENT, error));
    }
    return LSC_OK;
}

lsc_status lsc_pack_names_build(const lsc_graph_list *list, lsc_pack_names *names, lsc_error *error)
{
    memset(names, 0, sizeof *names);
    lsc_status st = LSC_OK;
    for (size_t i = 0; st == LSC_OK && i < list->n; i++)
        st = graph_facts(names, list->graph[i], error);
    if (st != LSC_OK)
        lsc_pack_names_free(names);
    return st;
}

uint8_t lsc_pack_names_flags(const lsc_pack_names *names, const char *name, uint32_t *defs)
{
    size_t at = lsc_name_map_get(&names->map, name);
    *defs = at == (size_t)-1 ? 0 : names->defs[at];
    return at == (size_t)-1 ? 0 : names->flags[at];
}

void lsc_pack_names_free(lsc_pack_names *names)
{
    lsc_name_map_free(&names->map);
    free(names->defs);
    free(names->flags);
    memset(names, 0, sizeof *names);
}
