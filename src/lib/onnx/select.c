/* Which weights compress may encode, and why the others are left alone
 * (lsc_layer_outcome). A candidate is the weight input of a Conv (W), Gemm (B) or
 * MatMul (B, 2-D) node of the main graph, held by an initializer or a Constant
 * node. It is encoded only if every use of it is such a weight input with the same
 * orientation (docs/format.md 1.4); weighted nodes inside If/Loop/Scan subgraphs
 * are listed as IN_SUBGRAPH and left alone. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

static const char *const plain_ops[] = {"Conv", "Gemm", "MatMul"};
static const char *const lsc_ops[] = {"LscConv", "LscGemm", "LscMatMul"};

const char *lsc_lsc_op_for(const char *op)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(op, plain_ops[i]) == 0)
            return lsc_ops[i];
    return NULL;
}

const char *lsc_plain_op_for(const char *op)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(op, lsc_ops[i]) == 0)
            return plain_ops[i];
    return NULL;
}

int lsc_node_is_onnx(const Onnx__NodeProto *node)
{
    return !node->domain || !*node->domain || strcmp(node->domain, "ai.onnx") == 0;
}

int lsc_node_is_lsc(const Onnx__NodeProto *node)
{
    return node->domain && strcmp(node->domain, LSC_ONNX_DOMAIN) == 0 && node->op_type &&
           lsc_plain_op_for(node->op_type);
}

/* The plain op ("Conv"...) whose input 1 is a weight, or NULL. */
static const char *weighted_op(const Onnx__NodeProto *node)
{
    if (!node->op_type || node->n_input < 2 || !node->input[1] || !*node->input[1])
        return NULL;
    if (lsc_node_is_onnx(node)) {
        for (int i = 0; i < 3; i++)
            if (strcmp(node->op_type, plain_ops[i]) == 0)
                return plain_ops[i];
        return NULL;
    }
    if (lsc_node_is_lsc(node))
        return lsc_plain_op_for(node->op_type);
    return NULL;
}

static const Onnx__AttributeProto *find_attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (node->attribute[i]->name && strcmp(node->attribute[i]->name, name) == 0)
            return node->attribute[i];
    return NULL;
}

/* Orientation of the weight for this node (docs/format.md 1.4). */
static int node_transposed(const Onnx__NodeProto *node, const char *op)
{
    if (strcmp(op, "Conv") == 0)
        return 0;
    if (strcmp(op, "MatMul") == 0)
        return 1;
    const Onnx__AttributeProto *a = find_attr(node, "transB");
    return !(a && a->has_i && a->i != 0);
}

int lsc_value_type_is(const Onnx__ValueInfoProto *v, int32_t elem_type, const int64_t *dims,
                      size_t n_dims)
{
    const Onnx__TypeProto *tp = v->type;
    if (!tp || tp->base.n_unknown_fields || tp->denotation ||
        tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return 0;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (!tt || tt->base.n_unknown_fields || !tt->has_elem_type || tt->elem_type != elem_type ||
        !tt->shape || tt->shape->base.n_unknown_fields || tt->shape->n_dim != n_dims)
        return 0;
    for (size_t i = 0; i < n_dims; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->base.n_unknown_fields || d->denotation ||
            d->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ||
            d->dim_value != dims[i])
            return 0;
    }
    return 1;
}

lsc_status lsc_value_type_set(Onnx__ValueInfoProto *v, int32_t elem_type, const int64_t *dims,
                              size_t n_dims, lsc_error *error)
{
    Onnx__TypeProto *tp = malloc(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = malloc(sizeof *tt);
    Onnx__TensorShapeProto *shape = malloc(sizeof *shape);
    Onnx__TensorShapeProto__Dimension **dim = calloc(n_dims ? n_dims : 1, sizeof *dim);
    int ok = tp && tt && shape && dim;
    for (size_t i = 0; ok && i < n_dims; i++) {
        dim[i] = malloc(sizeof *dim[i]);
        if (!dim[i]) {
            ok = 0;
            break;
        }
        onnx__tensor_shape_proto__dimension__init(dim[i]);
        dim[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dim[i]->dim_value = dims[i];
    }
    if (!ok) {
        for (size_t i = 0; dim && i < n_dims; i++)
            free(dim[i]);
        free(tp);
        free(tt);
        free(shape);
        free(dim);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory building a value type");
    }
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    onnx__tensor_shape_proto__init(shape);
    shape->n_dim = n_dims;
    shape->dim = dim;
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    tt->shape = shape;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    if (v->type)
        protobuf_c_message_free_unpacked(&v->type->base, NULL);
    v->type = tp;
    return LSC_OK;
}

typedef struct select_ctx {
    const lsc_onnx_model *model;
    lsc_selection *sel;
    lsc_name_map uses;      /* value name -> index in other_use */
    uint8_t *other_use;     /* 1: consumed by something we do not rewrite */
    size_t n_uses, cap_uses;
    lsc_name_map subgraph_rows;
    lsc_error *error;
} select_ctx;

static lsc_status mark_other(select_ctx *c, const char *name)
{
    if (!name || !*name)
        return LSC_OK;
    size_t i = lsc_name_map_get(&c->uses, name);
    if (i == (size_t)-1) {
        if (c->n_uses == c->cap_uses) {
            size_t cap = c->cap_uses ? c->cap_uses * 2 : 256;
            uint8_t *p = realloc(c->other_use, cap);
            if (!p)
                return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
            c->other_use = p;
            c->cap_uses = cap;
        }
        i = c->n_uses++;
        LSC_TRY(lsc_name_map_put(&c->uses, name, i, c->error));
    }
    c->other_use[i] = 1;
    return LSC_OK;
}

static int used_otherwise(const select_ctx *c, const char *name)
{
    size_t i = lsc_name_map_get(&c->uses, name);
    return i != (size_t)-1 && c->other_use[i];
}

static lsc_status add_item(lsc_selection *sel, lsc_candidate **out, lsc_error *error)
{
    lsc_candidate *items = realloc(sel->items, (sel->count + 1) * sizeof *items);
    if (!items)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    sel->items = items;
    *out = &items[sel->count++];
    memset(*out, 0, sizeof **out);
    return LSC_OK;
}

static lsc_status walk_subgraph(select_ctx *c, const Onnx__GraphProto *g);

static lsc_status walk_node_subgraphs(select_ctx *c, const Onnx__NodeProto *node)
{
    for (size_t a = 0; a < node->n_attribute; a++) {
        const Onnx__AttributeProto *attr = node->attribute[a];
        if (attr->g)
            LSC_TRY(walk_subgraph(c, attr->g));
        for (size_t k = 0; k < attr->n_graphs; k++)
            LSC_TRY(walk_subgraph(c, attr->graphs[k]));
    }
    return LSC_OK;
}

/* Everything a subgraph reads is an "other" use; its weighted nodes are reported. */
static lsc_status walk_subgraph(select_ctx *c, const Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *node = g->node[i];
        for (size_t j = 0; j < node->n_input; j++)
            LSC_TRY(mark_other(c, node->input[j]));
        const char *op = weighted_op(node);
        if (op) {
            c->sel->skipped_subgraph_nodes++;
            if (lsc_name_map_get(&c->subgraph_rows, node->input[1]) == (size_t)-1) {
                lsc_candidate *cand = NULL;
                LSC_TRY(lsc_name_map_put(&c->subgraph_rows, node->input[1], 1, c->error));
                LSC_TRY(add_item(c->sel, &cand, c->error));
                cand->name = node->input[1];
                cand->op = op;
                cand->outcome = LSC_LAYER_IN_SUBGRAPH;
            }
        }
        LSC_TRY(walk_node_subgraphs(c, node));
    }
    return LSC_OK;
}

/* Finds the tensor holding a weight: an initializer, else a Constant node. */
static void find_home(const Onnx__GraphProto *g, const lsc_name_map *inits,
                      const lsc_name_map *constants, lsc_candidate *cand)
{
    size_t i = lsc_name_map_get(inits, cand->name);
    if (i != (size_t)-1) {
        cand->home = LSC_HOME_INITIALIZER;
        cand->home_index = i;
        cand->tensor = g->initializer[i];
        return;
    }
    i = lsc_name_map_get(constants, cand->name);
    if (i != (size_t)-1) {
        const Onnx__NodeProto *node = g->node[i];
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *attr = node->attribute[a];
            if (attr->name && strcmp(attr->name, "value") == 0 && attr->t) {
                cand->home = LSC_HOME_CONSTANT;
                cand->home_index = i;
                cand->tensor = attr->t;
                return;
            }
        }
    }
    cand->home = LSC_HOME_NONE;
}

/* The outcome short of the size test. */
static lsc_layer_outcome judge(const select_ctx *c, const lsc_candidate *cand, int conflict,
                               int include_graph_inputs)
{
    const Onnx__GraphProto *g = c->model->proto->graph;
    const Onnx__TensorProto *t = cand->tensor;
    if (!t)
        return LSC_LAYER_NOT_CONSTANT;
    if (cand->compressed)
        return LSC_LAYER_ENCODED;
    size_t rank = t->n_dims;
    int shape_ok = strcmp(cand->op, "Conv") == 0 ? rank >= 3 : rank == 2;
    if (!t->has_data_type || !lsc_dtype_size(t->data_type) || !shape_ok || t->segment ||
        rank > LSC_MAX_RANK || lsc_tensor_repr(t) == LSC_REPR_NONE)
        return LSC_LAYER_UNSUPPORTED_TYPE;
    for (size_t i = 0; i < rank; i++)
        if (t->dims[i] <= 0 || t->dims[i] > UINT32_MAX)
            return LSC_LAYER_UNSUPPORTED_TYPE;
    for (size_t k = 0; k < cand->n_consumers; k++)
        if (find_attr(g->node[cand->consumers[k]], LSC_DOMAIN_ATTR))
            return LSC_LAYER_UNSUPPORTED_TYPE;
    if (conflict || used_otherwise(c, cand->name))
        return LSC_LAYER_SHARED_OTHER;
    for (size_t i = 0; i < g->n_value_info; i++)
        if (g->value_info[i]->name && strcmp(g->value_info[i]->name, cand->name) == 0 &&
            !lsc_value_type_is(g->value_info[i], t->data_type, t->dims, rank))
            return LSC_LAYER_SHARED_OTHER;
    for (size_t i = 0; i < g->n_input; i++) {
        if (!g->input[i]->name || strcmp(g->input[i]->name, cand->name) != 0)
            continue;
        if (!include_graph_inputs || !lsc_value_type_is(g->input[i], t->data_type, t->dims, rank))
            return LSC_LAYER_GRAPH_INPUT;
    }
    return LSC_LAYER_ENCODED;
}

static lsc_status select_main(select_ctx *c, int include_graph_inputs)
{
    const Onnx__GraphProto *g = c->model->proto->graph;
    lsc_name_map inits = {0}, constants = {0}, seen = {0};
    lsc_status st = LSC_OK;
    uint8_t *conflict = NULL;

    for (size_t i = 0; st == LSC_OK && i < g->n_initializer; i++)
        if (g->initializer[i]->name)
            st = lsc_name_map_put(&inits, g->initializer[i]->name, i, c->error);
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (n->op_type && strcmp(n->op_type, "Constant") == 0 && lsc_node_is_onnx(n) &&
            n->n_output == 1 && n->output[0])
            st = lsc_name_map_put(&constants, n->output[0], i, c->error);
    }
    /* Uses other than a weight slot: other inputs, graph outputs, subgraphs. */
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *op = weighted_op(n);
        for (size_t j = 0; st == LSC_OK && j < n->n_input; j++)
            if (!(op && j == 1))
                st = mark_other(c, n->input[j]);
        if (st == LSC_OK)
            st = walk_node_subgraphs(c, n);
    }
    for (size_t i = 0; st == LSC_OK && i < g->n_output; i++)
        st = mark_other(c, g->output[i]->name);

    size_t first_main = c->sel->count;
    for (size_t i = 0; st == LSC_OK && i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *op = weighted_op(n);
        if (!op)
            continue;
        size_t k = lsc_name_map_get(&seen, n->input[1]);
        lsc_candidate *cand = NULL;
        if (k == (size_t)-1) {
            if ((st = add_item(c->sel, &cand, c->error)) != LSC_OK)
                break;
            k = c->sel->count - 1;
            if ((st = lsc_name_map_put(&seen, n->input[1], k, c->error)) != LSC_OK)
                break;
            uint8_t *cf = realloc(conflict, c->sel->count);
            if (!cf) {
                st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
                break;
            }
            conflict = cf;
            conflict[k] = 0;
            cand->name = n->input[1];
            cand->op = op;
            cand->transposed = node_transposed(n, op);
            cand->compressed = lsc_node_is_lsc(n);
        }
        cand = &c->sel->items[k];
        size_t *cons = realloc(cand->consumers, (cand->n_consumers + 1) * sizeof *cons);
        if (!cons) {
            st = lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
            break;
        }
        cand->consumers = cons;
        cons[cand->n_consumers++] = i;
        if (cand->transposed != node_transposed(n, op) || cand->compressed != lsc_node_is_lsc(n))
            conflict[k] = 1;
    }
    for (size_t k = first_main; st == LSC_OK && k < c->sel->count; k++) {
        lsc_candidate *cand = &c->sel->items[k];
        if (cand->outcome == LSC_LAYER_IN_SUBGRAPH)
            continue;
        find_home(g, &inits, &constants, cand);
        cand->outcome = judge(c, cand, conflict[k], include_graph_inputs);
    }
    free(conflict);
    lsc_name_map_free(&inits);
    lsc_name_map_free(&constants);
    lsc_name_map_free(&seen);
    return st;
}

lsc_status lsc_select(const lsc_onnx_model *model, int include_graph_inputs,
                      lsc_selection *selection, lsc_error *error)
{
    memset(selection, 0, sizeof *selection);
    select_ctx c = {.model = model, .sel = selection, .error = error};
    lsc_status st = select_main(&c, include_graph_inputs);
    /* Subgraph rows were appended while walking; list main-graph rows first. */
    if (st == LSC_OK && selection->count > 1) {
        lsc_candidate *sorted = malloc(selection->count * sizeof *sorted);
        if (!sorted) {
            st = lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
        } else {
            size_t n = 0;
            for (int pass = 0; pass < 2; pass++)
                for (size_t k = 0; k < selection->count; k++)
                    if ((selection->items[k].outcome == LSC_LAYER_IN_SUBGRAPH) == pass)
                        sorted[n++] = selection->items[k];
            free(selection->items);
            selection->items = sorted;
        }
    }
    lsc_name_map_free(&c.uses);
    lsc_name_map_free(&c.subgraph_rows);
    free(c.other_use);
    if (st != LSC_OK)
        lsc_selection_free(selection);
    return st;
}

void lsc_selection_free(lsc_selection *selection)
{
    for (size_t k = 0; k < selection->count; k++)
        free(selection->items[k].consumers);
    free(selection->items);
    memset(selection, 0, sizeof *selection);
}
