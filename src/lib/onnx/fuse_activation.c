/* The activation after an LSC op (Relu, Clip, LeakyRelu), folded into it at compress
 * (docs/format.md 3.1, "Decision (folded activation)"): ONNX Runtime fuses Conv + Relu
 * for a dense model but cannot fuse across a custom op, so left apart the activation
 * costs a pass over every output. The op gains
 *   lsc_activation         STRING "Relu", "Clip" or "LeakyRelu"
 *   lsc_activation_params  FLOATS Clip [min, max], LeakyRelu [alpha] (Relu: absent)
 * and writes the activation's output; the removed node goes to the op's restore
 * record (fuse.c), which decompress reads to put it back. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

#define ATTR_ACT LSC_ACT_ATTR
#define ATTR_PARAMS LSC_ACT_PARAMS_ATTR
#define MAX_DEPTH 100

/* The graphs visible from a node: its own, then the enclosing ones. */
typedef struct scope {
    const Onnx__GraphProto *g;
    const struct scope *outer;
} scope;

static int is_float_op(const Onnx__NodeProto *n)
{
    static const char *const ops[] = {"LscConv", "LscGemm", "LscMatMul", "LscMatMulLeft", "LscDynamicQuantMatMul",
                                      "LscQLinearMatMulFloat"};
    if (!lsc_node_is_lsc(n) || n->n_output != 1 || !n->output[0] || !*n->output[0])
        return 0;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(n->op_type, ops[i]) == 0)
            return 1;
    return 0;
}

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static size_t uses_in(const Onnx__GraphProto *g, const char *name, int depth)
{
    if (depth > MAX_DEPTH)
        return 1; /* unseen: counted as a use, which only stops a fold */
    size_t uses = 0;
    for (size_t o = 0; o < g->n_output; o++)
        uses += same(g->output[o]->name, name);
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t k = 0; k < n->n_input; k++)
            uses += same(n->input[k], name);
        for (size_t a = 0; a < n->n_attribute; a++) {
            if (n->attribute[a]->g)
                uses += uses_in(n->attribute[a]->g, name, depth + 1);
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++)
                uses += uses_in(n->attribute[a]->graphs[k], name, depth + 1);
        }
    }
    return uses;
}

size_t lsc_value_uses(const Onnx__GraphProto *g, const char *name)
{
    return uses_in(g, name, 0);
}

/* One float32 value held in the proto itself. */
static int scalar_of(const Onnx__TensorProto *t, float *v)
{
    for (size_t d = 0; d < t->n_dims; d++)
        if (t->dims[d] != 1)
            return 0;
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t->data_location)
        return 0;
    if (t->has_raw_data && t->raw_data.len == sizeof *v)
        memcpy(v, t->raw_data.data, sizeof *v);
    else if (!t->has_raw_data && t->n_float_data == 1)
        *v = t->float_data[0];
    else
        return 0;
    return 1;
}

/* The float32 constant a name stands for: an initializer (not also an input) or a
 * Constant node's value, in the nearest graph that defines the name. */
static int constant_float(const scope *s, const char *name, float *v)
{
    for (; s; s = s->outer) {
        const Onnx__GraphProto *g = s->g;
        for (size_t i = 0; i < g->n_input; i++)
            if (same(g->input[i]->name, name))
                return 0;
        for (size_t i = 0; i < g->n_initializer; i++)
            if (same(g->initializer[i]->name, name))
                return scalar_of(g->initializer[i], v);
        for (size_t i = 0; i < g->n_node; i++) {
            const Onnx__NodeProto *n = g->node[i];
            if (n->n_output != 1 || !same(n->output[0], name))
                continue;
            if (!lsc_node_is_onnx(n) || !same(n->op_type, "Constant") || n->n_attribute != 1)
                return 0;
            const Onnx__AttributeProto *a = n->attribute[0];
            if (same(a->name, "value_float") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
                *v = a->f;
                return 1;
            }
            return same(a->name, "value") && a->t && scalar_of(a->t, v);
        }
    }
    return 0;
}

/* A float attribute the activation may have; 0 if it is another or mistyped. */
static int float_attr(const Onnx__AttributeProto *a, const char *name, float *v)
{
    if (!same(a->name, name) || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
        return 0;
    *v = a->f;
    return 1;
}

/* The activation and its parameters; 0 if the node is not one we fold. */
static int activation_of(const scope *s, const Onnx__NodeProto *act, float params[2], size_t *n_params)
{
    if (!lsc_node_is_onnx(act) || act->n_output != 1 || !act->output[0] || !*act->output[0])
        return 0;
    if (same(act->op_type, "Relu")) {
        *n_params = 0;
        return act->n_input == 1 && act->n_attribute == 0;
    }
    if (same(act->op_type, "LeakyRelu")) {
        *n_params = 1;
        params[0] = 0.01f;
        return act->n_input == 1 &&
               (act->n_attribute == 0 || (act->n_attribute == 1 && float_attr(act->attribute[0], "alpha", params)));
    }
    if (!same(act->op_type, "Clip") || act->n_input > 3)
        return 0;
    *n_params = 2;
    params[0] = -FLT_MAX; /* ONNX's defaults: the type's lowest and highest */
    params[1] = FLT_MAX;
    for (size_t a = 0; a < act->n_attribute; a++) /* opset 6: attributes */
        if (!float_attr(act->attribute[a], "min", &params[0]) && !float_attr(act->attribute[a], "max", &params[1]))
            return 0;
    for (size_t k = 1; k < act->n_input; k++) /* opset 11: inputs, "" when absent */
        if (*act->input[k] && !constant_float(s, act->input[k], &params[k - 1]))
            return 0;
    return 1;
}

static lsc_status add_attrs(Onnx__NodeProto *op, const char *act, const float *params, size_t n_params,
                            lsc_error *error)
{
    LSC_TRY(lsc_node_append_attr(op, lsc_attr_new_string(ATTR_ACT, act), error));
    if (!n_params)
        return LSC_OK;
    Onnx__AttributeProto *p = lsc_attr_new(ATTR_PARAMS, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    if (p && !(p->floats = malloc(n_params * sizeof *p->floats))) {
        protobuf_c_message_free_unpacked(&p->base, NULL);
        p = NULL;
    }
    if (p) {
        memcpy(p->floats, params, n_params * sizeof *p->floats);
        p->n_floats = n_params;
    }
    return lsc_node_append_attr(op, p, error);
}

lsc_status lsc_fold_list_push(lsc_fold_list *list, Onnx__GraphProto *g, Onnx__NodeProto *node, lsc_error *error)
{
    lsc_folded_node *items = realloc(list->items, (list->count + 1) * sizeof *items);
    if (!items)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    list->items = items;
    items[list->count++] = (lsc_folded_node){g, node};
    return LSC_OK;
}

/* Folds the activation that alone reads node i's output, if it is one we fold. */
static lsc_status fold_one(const scope *s, Onnx__GraphProto *g, size_t i, lsc_fold_list *removed,
                           lsc_error *error)
{
    Onnx__NodeProto *op = g->node[i], *user = NULL;
    if (!is_float_op(op))
        return LSC_OK;
    for (size_t a = 0; a < op->n_attribute; a++)
        if (same(op->attribute[a]->name, ATTR_ACT))
            return LSC_OK;
    const char *out = op->output[0];
    for (size_t j = i + 1; j < g->n_node && !user; j++)
        if (g->node[j]->n_input && same(g->node[j]->input[0], out))
            user = g->node[j];
    float params[2];
    size_t n_params = 0;
    if (!user || lsc_value_uses(g, out) != 1 || !activation_of(s, user, params, &n_params))
        return LSC_OK;
    LSC_TRY(lsc_fuse_record(op, g, user, error));
    LSC_TRY(add_attrs(op, user->op_type, params, n_params, error));
    char *name = lsc_strdup(user->output[0]);
    if (!name)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    free(op->output[0]);
    op->output[0] = name;
    return lsc_fold_list_push(removed, g, user, error);
}

static lsc_status fold_graph(const scope *outer, Onnx__GraphProto *g, lsc_fold_list *removed, int depth,
                             lsc_error *error)
{
    if (depth > MAX_DEPTH)
        return LSC_OK; /* select refused such a model already */
    scope s = {g, outer};
    for (size_t i = 0; i < g->n_node; i++) {
        LSC_TRY(fold_one(&s, g, i, removed, error));
        Onnx__NodeProto *n = g->node[i];
        for (size_t a = 0; a < n->n_attribute; a++) {
            if (n->attribute[a]->g)
                LSC_TRY(fold_graph(&s, n->attribute[a]->g, removed, depth + 1, error));
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++)
                LSC_TRY(fold_graph(&s, n->attribute[a]->graphs[k], removed, depth + 1, error));
        }
    }
    return LSC_OK;
}

lsc_status lsc_fold_activations(Onnx__ModelProto *model, lsc_fold_list *removed, lsc_error *error)
{
    return model->graph ? fold_graph(NULL, model->graph, removed, 0, error) : LSC_OK;
}

void lsc_fold_list_drop(lsc_fold_list *list)
{
    for (size_t k = 0; k < list->count; k++) {
        Onnx__GraphProto *g = list->items[k].graph;
        size_t kept = 0;
        for (size_t i = 0; i < g->n_node; i++)
            if (g->node[i] == list->items[k].node)
                protobuf_c_message_free_unpacked(&g->node[i]->base, NULL);
            else
                g->node[kept++] = g->node[i];
        g->n_node = kept;
    }
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* ---- decompress ---- */

lsc_status lsc_activation_check(const char *act, size_t act_len, size_t n_params)
{
    static const struct {
        const char *name;
        size_t n_params;
    } known[] = {{"Relu", 0}, {"Clip", 2}, {"LeakyRelu", 1}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (act_len == strlen(known[i].name) && memcmp(act, known[i].name, act_len) == 0)
            return n_params == known[i].n_params ? LSC_OK : LSC_ERR_BAD_MODEL;
    return LSC_ERR_UNSUPPORTED;
}
