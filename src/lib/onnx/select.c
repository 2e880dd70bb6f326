/* Which weights compress may encode, and why the others are left alone
 * (lsc_layer_outcome). A candidate is a weight input of a Conv (W), Gemm (B),
 * MatMul (B), LSTM, GRU or RNN (W and R), Gather (data) node of any graph, the main one or an
 * If/Loop/Scan body at any depth, held by an initializer or a Constant node of the
 * graph that defines that name as seen from the node: its own graph or an enclosing
 * one (ONNX's lexical scopes, so sibling branches may reuse a name and an inner
 * definition hides an outer one). It is encoded only if every use of the value is
 * such a weight input with the same orientation (docs/format.md 1.4 and 3.1). Any
 * other float32 initializer of LSC_DECODE_MIN_ELEMENTS or more is a decode
 * candidate: encoded as is and restored at run time by an LscDecode node. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/dtype.h"
#include "onnx/onnx_model.h"

/* Deeper nesting is refused rather than half-walked: a use left unseen could let a
 * weight be rewritten under a node that reads it as a plain tensor. */
#define MAX_GRAPH_DEPTH 100

/* The ops whose weights are encoded, their LSC ops, and which inputs are weights. */
typedef struct weighted_kind {
    const char *plain, *lsc;
    unsigned weight_inputs; /* bit j: input j */
    int recurrent;          /* W/R [D, G*H, K], encoded as [D*G*H, K] */
} weighted_kind;

/* MatMul's weight is B, or A when only A is constant (LscMatMulLeft, first found
 * only by its LSC name). */
static const weighted_kind kinds[] = {
    {"Conv", "LscConv", 1u << 1, 0}, {"Gemm", "LscGemm", 1u << 1, 0},
    {"MatMul", "LscMatMul", 1u << 1, 0}, {"LSTM", "LscLSTM", 3u << 1, 1},
    {"GRU", "LscGRU", 3u << 1, 1}, {"RNN", "LscRNN", 3u << 1, 1},
    {"MatMul", "LscMatMulLeft", 1u << 0, 0}, {"MatMulInteger", "LscMatMulInteger", 1u << 1, 0},
    {"QLinearMatMul", "LscQLinearMatMul", 1u << 3, 0}, {"QLinearConv", "LscQLinearConv", 1u << 3, 0},
    {"ConvInteger", "LscConvInteger", 1u << 1, 0},
    {"Gather", "LscGather", 1u << 0, 0},
    /* found only by their LSC names: the integer op first becomes LscMatMulInteger /
     * LscQLinearMatMul, then with its quantization chain one of these (fuse_chain.c) */
    {"MatMulInteger", "LscDynamicQuantMatMul", 1u << 1, 0}, {"QLinearMatMul", "LscQLinearMatMulFloat", 1u << 3, 0},
};
static const weighted_kind *const matmul_left = &kinds[6];
/* An 8-bit weight's DequantizeLinear: its op is found later (resolve_dequantized). */
static const weighted_kind dequantize = {"DequantizeLinear", "", 1u << 0, 0};
/* LscDecode reads the blob (input 0) of a decode candidate; no plain op becomes one. */
static const weighted_kind decode = {"Decode", "LscDecode", 1u << 0, 0};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

/* LscDecode per output type: ORT fixes a custom op's output type per registration
 * and tells same-named ones apart by their inputs only (docs/format.md 3.1). */
static const struct {
    int32_t data_type;
    const char *op;
} decode_ops[] = {
    {ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "LscDecode"},
    {ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, "LscDecodeFloat16"},
    {ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, "LscDecodeBFloat16"},
    {ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, "LscDecodeFloat64"},
};
#define N_DECODE_OPS (sizeof decode_ops / sizeof decode_ops[0])

const char *lsc_decode_op_for(int32_t data_type)
{
    for (size_t i = 0; i < N_DECODE_OPS; i++)
        if (decode_ops[i].data_type == data_type)
            return decode_ops[i].op;
    return NULL;
}

static int is_decode_op(const char *op)
{
    for (size_t i = 0; op && i < N_DECODE_OPS; i++)
        if (strcmp(op, decode_ops[i].op) == 0)
            return 1;
    return 0;
}

static const weighted_kind *kind_of(const char *op, int lsc)
{
    for (size_t i = 0; op && i < N_KINDS; i++)
        if (strcmp(op, lsc ? kinds[i].lsc : kinds[i].plain) == 0)
            return &kinds[i];
    return lsc && is_decode_op(op) ? &decode : NULL;
}

const char *lsc_plain_op_for(const char *op)
{
    const weighted_kind *k = kind_of(op, 1);
    return k ? k->plain : NULL;
}

int lsc_node_is_decode(const Onnx__NodeProto *node)
{
    return node->domain && strcmp(node->domain, LSC_ONNX_DOMAIN) == 0 && is_decode_op(node->op_type);
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

int lsc_graph_has_lsc_nodes(const Onnx__GraphProto *g, int depth)
{
    if (!g || depth > MAX_GRAPH_DEPTH)
        return 0;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (lsc_node_is_lsc(n))
            return 1;
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *attr = n->attribute[a];
            if (lsc_graph_has_lsc_nodes(attr->g, depth + 1))
                return 1;
            for (size_t k = 0; k < attr->n_graphs; k++)
                if (lsc_graph_has_lsc_nodes(attr->graphs[k], depth + 1))
                    return 1;
        }
    }
    return 0;
}

/* The kind of a node with weight inputs, plain or LSC, or NULL. */
static const weighted_kind *weighted_op(const Onnx__NodeProto *node)
{
    if (lsc_node_is_onnx(node) && node->op_type && strcmp(node->op_type, dequantize.plain) == 0)
        return node->n_input >= 2 ? &dequantize : NULL;
    if (lsc_node_is_onnx(node))
        return kind_of(node->op_type, 0);
    if (lsc_node_is_lsc(node))
        return kind_of(node->op_type, 1);
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
static int node_transposed(const Onnx__NodeProto *node, const weighted_kind *k)
{
    const char *op = k->plain;
    if (k == matmul_left)
        return 0; /* A [M, K]: rows are output rows */
    if (strcmp(op, "MatMul") == 0 || strcmp(op, "MatMulInteger") == 0 || strcmp(op, "QLinearMatMul") == 0)
        return 1;
    if (strcmp(op, "Gemm") != 0)
        return 0; /* Conv, and recurrent W/R whose rows are gates */
    const Onnx__AttributeProto *a = find_attr(node, "transB");
    return !(a && a->has_i && a->i != 0);
}

/* The LSC recurrent ops compute the default activations only: ORT's C API gives a
 * custom op no way to read a list of strings (docs/format.md 3.1). */
static int default_activations(const Onnx__NodeProto *node, const char *op)
{
    static const char *const lstm[] = {"Sigmoid", "Tanh", "Tanh"};
    static const char *const gru[] = {"Sigmoid", "Tanh"};
    static const char *const rnn[] = {"Tanh"};
    const Onnx__AttributeProto *a = find_attr(node, "activations");
    if (!a)
        return 1;
    const char *const *want = strcmp(op, "LSTM") == 0 ? lstm : strcmp(op, "GRU") == 0 ? gru : rnn;
    size_t n = strcmp(op, "LSTM") == 0 ? 3 : strcmp(op, "GRU") == 0 ? 2 : 1;
    if (a->n_strings == 0 || a->n_strings % n)
        return 0;
    for (size_t i = 0; i < a->n_strings; i++) {
        const char *w = want[i % n];
        if (a->strings[i].len != strlen(w) || strncasecmp((const char *)a->strings[i].data, w, strlen(w)))
            return 0;
    }
    return 1;
}

/* ---- scopes ---- */

enum def_kind { DEF_OTHER, DEF_INITIALIZER, DEF_CONSTANT };

/* One value name defined by a graph. */
typedef struct def {
    int kind;
    size_t index;       /* graph.initializer[] or graph.node[] (Constant) */
    size_t input_index; /* graph.input[] declaring it too, or (size_t)-1 */
    size_t cand;        /* its candidate, or (size_t)-1 */
    int other_use;      /* read by something we do not rewrite */
    const char *reader; /* the op_type of the first such reader (a graph output: "output") */
    int conflict;       /* weight uses of different orientations, or plain and LSC nodes */
    Onnx__ValueInfoProto **decls; /* value_info entries naming it, in any scope that sees it */
    size_t n_decls;
} def;

typedef struct scope {
    Onnx__GraphProto *graph;
    int depth;
    struct scope *parent;
    lsc_name_map names; /* name -> index in defs */
    def *defs;
    size_t n_defs, cap_defs;
} scope;

typedef struct select_ctx {
    lsc_selection *sel;
    int keep_graph_inputs;
    scope **scopes; /* every graph's, [0] the main graph's */
    size_t n_scopes;
    scope **cand_scope; /* per candidate: where its def lives */
    size_t *cand_def;
    scope **use_scope;  /* per candidate: where its first consumer is */
    lsc_error *error;
} select_ctx;

static lsc_status add_def(select_ctx *c, scope *s, const char *name, int kind, size_t index,
                          size_t *out)
{
    size_t k = lsc_name_map_get(&s->names, name);
    if (k != (size_t)-1) {
        *out = k;
        return LSC_OK; /* first definition wins */
    }
    if (s->n_defs == s->cap_defs) {
        size_t cap = s->cap_defs ? s->cap_defs * 2 : 64;
        def *d = realloc(s->defs, cap * sizeof *d);
        if (!d)
            return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
        s->defs = d;
        s->cap_defs = cap;
    }
    k = s->n_defs++;
    s->defs[k] = (def){.kind = kind, .index = index, .input_index = (size_t)-1, .cand = (size_t)-1};
    *out = k;
    return lsc_name_map_put(&s->names, name, k, c->error);
}

/* A graph's own names: initializers, then Constant outputs, inputs, node outputs. */
static lsc_status build_scope(select_ctx *c, Onnx__GraphProto *g, scope *parent, int depth,
                              scope **out)
{
    scope **all = realloc(c->scopes, (c->n_scopes + 1) * sizeof *all);
    scope *s = calloc(1, sizeof *s);
    if (all)
        c->scopes = all;
    if (!all || !s) {
        free(s);
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    }
    c->scopes[c->n_scopes++] = s;
    s->graph = g;
    s->parent = parent;
    s->depth = depth;
    *out = s;
    size_t k;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name)
            LSC_TRY(add_def(c, s, g->initializer[i]->name, DEF_INITIALIZER, i, &k));
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (n->op_type && strcmp(n->op_type, "Constant") == 0 && lsc_node_is_onnx(n) &&
            n->n_output == 1 && n->output[0] && find_attr(n, "value") && find_attr(n, "value")->t)
            LSC_TRY(add_def(c, s, n->output[0], DEF_CONSTANT, i, &k));
    }
    for (size_t i = 0; i < g->n_input; i++) {
        if (!g->input[i]->name)
            continue;
        LSC_TRY(add_def(c, s, g->input[i]->name, DEF_OTHER, 0, &k));
        if (s->defs[k].input_index == (size_t)-1)
            s->defs[k].input_index = i;
    }
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_output; j++)
            if (g->node[i]->output[j] && *g->node[i]->output[j])
                LSC_TRY(add_def(c, s, g->node[i]->output[j], DEF_OTHER, 0, &k));
    return LSC_OK;
}

/* The definition a name refers to from scope s; an undefined name gets a plain
 * definition in the main graph's scope, so that its uses are still counted. */
static lsc_status resolve(select_ctx *c, scope *s, const char *name, scope **where, def **out)
{
    for (scope *p = s; p; p = p->parent) {
        size_t k = lsc_name_map_get(&p->names, name);
        if (k != (size_t)-1) {
            *where = p;
            *out = &p->defs[k];
            return LSC_OK;
        }
    }
    size_t k;
    LSC_TRY(add_def(c, c->scopes[0], name, DEF_OTHER, 0, &k));
    *where = c->scopes[0];
    *out = &c->scopes[0]->defs[k];
    return LSC_OK;
}

static lsc_status mark_other(select_ctx *c, scope *s, const char *name, const char *reader)
{
    if (!name || !*name)
        return LSC_OK;
    scope *where;
    def *d;
    LSC_TRY(resolve(c, s, name, &where, &d));
    if (!d->other_use)
        d->reader = reader;
    d->other_use = 1;
    return LSC_OK;
}

static lsc_status add_candidate(select_ctx *c, scope *where, size_t def_index, lsc_candidate **out)
{
    lsc_selection *sel = c->sel;
    size_t n = sel->count + 1;
    lsc_candidate *items = realloc(sel->items, n * sizeof *items);
    if (items)
        sel->items = items;
    scope **cs = realloc(c->cand_scope, n * sizeof *cs);
    if (cs)
        c->cand_scope = cs;
    size_t *cd = realloc(c->cand_def, n * sizeof *cd);
    if (cd)
        c->cand_def = cd;
    scope **us = realloc(c->use_scope, n * sizeof *us);
    if (us)
        c->use_scope = us;
    if (!items || !cs || !cd || !us)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    cs[sel->count] = where;
    cd[sel->count] = def_index;
    *out = &items[sel->count++];
    memset(*out, 0, sizeof **out);
    return LSC_OK;
}

/* Node `n` of scope s reads input j as a weight of kind k. */
static lsc_status weight_use(select_ctx *c, scope *s, Onnx__NodeProto *n, const weighted_kind *k,
                             size_t j)
{
    scope *where;
    def *d;
    LSC_TRY(resolve(c, s, n->input[j], &where, &d));
    lsc_candidate *cand = NULL;
    if (d->cand == (size_t)-1) {
        size_t def_index = (size_t)(d - where->defs);
        LSC_TRY(add_candidate(c, where, def_index, &cand));
        d = &where->defs[def_index];
        d->cand = c->sel->count - 1;
        cand->name = n->input[j];
        cand->op = k->plain;
        cand->lsc_op = k->lsc;
        cand->transposed = node_transposed(n, k);
        cand->flat = k->recurrent;
        cand->compressed = lsc_node_is_lsc(n);
        cand->graph = where->graph;
        cand->input_index = (size_t)-1;
        cand->in_subgraph = where->depth > 0;
        cand->decode = k == &decode;
        c->use_scope[d->cand] = s;
    }
    cand = &c->sel->items[d->cand];
    Onnx__NodeProto **cons = realloc(cand->consumers, (cand->n_consumers + 1) * sizeof *cons);
    if (!cons)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    cand->consumers = cons;
    cons[cand->n_consumers++] = n;
    cand->in_subgraph |= s->depth > 0;
    if (cand->transposed != node_transposed(n, k) || cand->lsc_op != k->lsc ||
        cand->compressed != lsc_node_is_lsc(n) || (k == &dequantize && cand->n_consumers > 1))
        d->conflict = 1;
    return LSC_OK;
}

static lsc_status add_decl(select_ctx *c, scope *s, Onnx__ValueInfoProto *v)
{
    if (!v->name || !*v->name)
        return LSC_OK;
    scope *where;
    def *d;
    LSC_TRY(resolve(c, s, v->name, &where, &d));
    if (d->kind == DEF_OTHER)
        return LSC_OK;
    Onnx__ValueInfoProto **decls = realloc(d->decls, (d->n_decls + 1) * sizeof *decls);
    if (!decls)
        return lsc_fail(c->error, LSC_ERR_NO_MEMORY, "out of memory");
    d->decls = decls;
    decls[d->n_decls++] = v;
    return LSC_OK;
}

static int is_constant(const def *d)
{
    return d->kind == DEF_INITIALIZER || d->kind == DEF_CONSTANT;
}

/* A plain MatMul whose B is not a constant but whose A is: the weight is A. */
static lsc_status pick_matmul_side(select_ctx *c, scope *s, const Onnx__NodeProto *n,
                                   const weighted_kind **kind)
{
    if (!lsc_node_is_onnx(n) || n->n_input != 2 || !n->input[0] || !*n->input[0] || !n->input[1])
        return LSC_OK;
    scope *where;
    def *a, *b;
    LSC_TRY(resolve(c, s, n->input[0], &where, &a));
    size_t ai = (size_t)(a - where->defs);
    scope *a_scope = where;
    LSC_TRY(resolve(c, s, n->input[1], &where, &b));
    a = &a_scope->defs[ai]; /* resolve may have grown a scope's defs */
    if (is_constant(a) && !is_constant(b))
        *kind = matmul_left;
    return LSC_OK;
}

static const Onnx__TensorProto *constant_tensor(select_ctx *c, scope *s, const char *name);

static int dequantizes_8bit_constant(select_ctx *c, scope *s, const Onnx__NodeProto *n)
{
    const Onnx__TensorProto *t = constant_tensor(c, s, n->input[0]);
    return t && t->has_data_type && lsc_dtype_is_8bit(t->data_type);
}

/* A Gather's data is a weight only as a float32 constant (an embedding table); index
 * and shape tables, and computed data, are plain reads. */
static int gathers_float_constant(select_ctx *c, scope *s, const Onnx__NodeProto *n)
{
    const Onnx__TensorProto *t = n->n_input ? constant_tensor(c, s, n->input[0]) : NULL;
    return t && t->has_data_type && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

/* Every read of a name in graph g and the graphs inside it, in node order. */
static lsc_status visit(select_ctx *c, Onnx__GraphProto *g, scope *parent, int depth)
{
    if (depth > MAX_GRAPH_DEPTH)
        return lsc_fail(c->error, LSC_ERR_UNSUPPORTED, "subgraphs nested deeper than %d levels",
                        MAX_GRAPH_DEPTH);
    scope *s = NULL;
    LSC_TRY(build_scope(c, g, parent, depth, &s));
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        const weighted_kind *kind = weighted_op(n);
        if (kind && kind != matmul_left && strcmp(kind->plain, "MatMul") == 0)
            LSC_TRY(pick_matmul_side(c, s, n, &kind));
        if (kind == &dequantize && !dequantizes_8bit_constant(c, s, n))
            kind = NULL; /* activations, int32 biases: plain reads */
        if (kind && lsc_node_is_onnx(n) && strcmp(kind->plain, "Gather") == 0 && !gathers_float_constant(c, s, n))
            kind = NULL;
        for (size_t j = 0; j < n->n_input; j++)
            if (kind && j < 32 && (kind->weight_inputs >> j & 1) && n->input[j] && *n->input[j])
                LSC_TRY(weight_use(c, s, n, kind, j));
            else
                LSC_TRY(mark_other(c, s, n->input[j], n->op_type ? n->op_type : "?"));
        for (size_t a = 0; a < n->n_attribute; a++) {
            Onnx__AttributeProto *attr = n->attribute[a];
            if (attr->g)
                LSC_TRY(visit(c, attr->g, s, depth + 1));
            for (size_t k = 0; k < attr->n_graphs; k++)
                LSC_TRY(visit(c, attr->graphs[k], s, depth + 1));
        }
    }
    for (size_t i = 0; i < g->n_output; i++)
        LSC_TRY(mark_other(c, s, g->output[i]->name, "output"));
    for (size_t i = 0; i < g->n_value_info; i++)
        LSC_TRY(add_decl(c, s, g->value_info[i]));
    return LSC_OK;
}

/* ---- DequantizeLinear chains ---- */

/* 1 if `name` is read anywhere inside graph g's bodies (any depth). */
static int read_in_bodies(const Onnx__GraphProto *g, const char *name, int depth)
{
    for (size_t i = 0; i < g->n_node && depth <= MAX_GRAPH_DEPTH; i++)
        for (size_t a = 0; a < g->node[i]->n_attribute; a++) {
            const Onnx__AttributeProto *attr = g->node[i]->attribute[a];
            const Onnx__GraphProto *bodies[1] = {attr->g};
            for (size_t k = 0; k < 1 + attr->n_graphs; k++) {
                const Onnx__GraphProto *b = k == 0 ? bodies[0] : attr->graphs[k - 1];
                if (!b)
                    continue;
                for (size_t j = 0; j < b->n_node; j++)
                    for (size_t x = 0; x < b->node[j]->n_input; x++)
                        if (b->node[j]->input[x] && strcmp(b->node[j]->input[x], name) == 0)
                            return 1;
                for (size_t j = 0; j < b->n_output; j++)
                    if (b->output[j]->name && strcmp(b->output[j]->name, name) == 0)
                        return 1;
                if (read_in_bodies(b, name, depth + 1))
                    return 1;
            }
        }
    return depth > MAX_GRAPH_DEPTH;
}

/* The one node of g reading value `name` (its input *input), or NULL when there is
 * none, several, or another reader (a graph output, a declaration, a body). */
static Onnx__NodeProto *sole_reader(const Onnx__GraphProto *g, const char *name, size_t *input)
{
    Onnx__NodeProto *found = NULL;
    size_t uses = 0;
    if (!name || !*name)
        return NULL;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t j = 0; j < g->node[i]->n_input; j++)
            if (g->node[i]->input[j] && strcmp(g->node[i]->input[j], name) == 0) {
                found = g->node[i];
                *input = j;
                uses++;
            }
    for (size_t i = 0; i < g->n_output; i++)
        uses += g->output[i]->name && strcmp(g->output[i]->name, name) == 0;
    for (size_t i = 0; i < g->n_value_info; i++)
        uses += g->value_info[i]->name && strcmp(g->value_info[i]->name, name) == 0;
    return uses == 1 && !read_in_bodies(g, name, 0) ? found : NULL;
}

static const Onnx__TensorProto *constant_tensor(select_ctx *c, scope *s, const char *name)
{
    scope *where;
    def *d;
    if (!name || !*name || resolve(c, s, name, &where, &d) != LSC_OK)
        return NULL;
    if (d->kind == DEF_INITIALIZER)
        return where->graph->initializer[d->index];
    if (d->kind == DEF_CONSTANT)
        return find_attr(where->graph->node[d->index], "value")->t;
    return NULL;
}

static uint64_t element_count(const Onnx__TensorProto *t)
{
    uint64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++)
        n = t->dims[i] < 0 ? 0 : n * (uint64_t)t->dims[i];
    return n;
}

/* Follows a DequantizeLinear candidate to the op that multiplies with it: its own
 * output read only by Conv W / Gemm B / MatMul B, or by a Transpose (2-D, swapping the
 * axes) read only by Gemm B / MatMul B. The candidate becomes that op's weight, with
 * its orientation; returns the outcome short of the size test. */
static lsc_layer_outcome resolve_dequantized(select_ctx *c, size_t k)
{
    lsc_candidate *cand = &c->sel->items[k];
    scope *s = c->use_scope[k];
    Onnx__NodeProto *dq = cand->consumers[0];
    const Onnx__TensorProto *q = cand->tensor;
    if (cand->n_consumers != 1 || dq->n_output != 1)
        return LSC_LAYER_SHARED_OTHER;
    size_t j = 0;
    Onnx__NodeProto *op = sole_reader(s->graph, dq->output[0], &j), *transpose = NULL;
    if (op && lsc_node_is_onnx(op) && op->op_type && strcmp(op->op_type, "Transpose") == 0 && j == 0 &&
        op->n_output == 1 && q && q->n_dims == 2) {
        const Onnx__AttributeProto *perm = find_attr(op, "perm");
        if (perm && !(perm->n_ints == 2 && perm->ints[0] == 1 && perm->ints[1] == 0))
            return LSC_LAYER_UNSUPPORTED_TYPE;
        transpose = op;
        op = sole_reader(s->graph, op->output[0], &j);
    }
    if (!op)
        return LSC_LAYER_SHARED_OTHER;
    const weighted_kind *kind = lsc_node_is_onnx(op) ? kind_of(op->op_type, 0) : NULL;
    if (!kind || kind->recurrent || j != 1 || (transpose && strcmp(kind->plain, "Conv") == 0))
        return LSC_LAYER_UNSUPPORTED_TYPE;
    cand->op = kind->plain;
    cand->lsc_op = kind->lsc;
    cand->consumers[0] = op;
    cand->transposed = node_transposed(op, kind) ^ (transpose != NULL);
    cand->quantized = 1;
    cand->dq = dq;
    cand->dq_transpose = transpose;
    cand->dq_graph = s->graph;
    cand->in_subgraph |= s->depth > 0;
    if (!q)
        return LSC_LAYER_NOT_CONSTANT;
    cand->scale = constant_tensor(c, s, dq->input[1]);
    cand->zero_point = dq->n_input > 2 ? constant_tensor(c, s, dq->input[2]) : NULL;
    if (!cand->scale || (dq->n_input > 2 && *dq->input[2] && !cand->zero_point))
        return LSC_LAYER_NOT_CONSTANT;
    /* Per tensor, or per axis along the encoded rows (output channels). */
    int64_t axis = 1;
    const Onnx__AttributeProto *a = find_attr(dq, "axis");
    if (a)
        axis = a->i;
    const Onnx__AttributeProto *block = find_attr(dq, "block_size");
    if (axis < 0)
        axis += (int64_t)q->n_dims;
    uint64_t n_scale = element_count(cand->scale);
    uint64_t rows = q->n_dims < 1 ? 1 : (uint64_t)q->dims[cand->transposed && q->n_dims == 2 ? 1 : 0];
    int per_axis = cand->scale->n_dims == 1 && n_scale != 1;
    if ((block && block->i != 0) || cand->scale->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
        cand->scale->n_dims > 1 || (per_axis && (n_scale != rows || axis != (cand->transposed ? 1 : 0))) ||
        (cand->zero_point && (cand->zero_point->data_type != q->data_type ||
                              cand->zero_point->n_dims != cand->scale->n_dims ||
                              element_count(cand->zero_point) != n_scale)))
        return LSC_LAYER_UNSUPPORTED_TYPE;
    return LSC_LAYER_ENCODED;
}

/* The B of MatMulInteger, ConvInteger, QLinearMatMul or QLinearConv: 8-bit, its zero
 * point (the *Integer ops: input 3, optional; the others input 5) a constant of its type, one
 * per tensor or one per output column (Conv: output channel, the matrix rows). */
static lsc_layer_outcome resolve_integer(select_ctx *c, size_t k)
{
    lsc_candidate *cand = &c->sel->items[k];
    const Onnx__NodeProto *n = cand->consumers[0];
    size_t zp = strncmp(cand->op, "QLinear", 7) == 0 ? 5 : 3;
    cand->quantized = 1;
    if (!cand->tensor)
        return LSC_LAYER_NOT_CONSTANT;
    for (size_t i = 1; i < cand->n_consumers; i++) /* one zero point for every reader */
        if (cand->consumers[i]->n_input != n->n_input ||
            (n->n_input > zp && strcmp(cand->consumers[i]->input[zp], n->input[zp]) != 0))
            return LSC_LAYER_SHARED_OTHER;
    if (n->n_input > zp && *n->input[zp]) {
        cand->zero_point = constant_tensor(c, c->use_scope[k], n->input[zp]);
        if (!cand->zero_point)
            return LSC_LAYER_NOT_CONSTANT;
        uint64_t n_zp = element_count(cand->zero_point);
        size_t rows_axis = cand->transposed ? 1 : 0;
        if (cand->zero_point->data_type != cand->tensor->data_type || cand->zero_point->n_dims > 1 ||
            (n_zp != 1 && (cand->tensor->n_dims <= rows_axis || n_zp != (uint64_t)cand->tensor->dims[rows_axis])))
            return LSC_LAYER_UNSUPPORTED_TYPE;
    }
    return LSC_LAYER_ENCODED;
}

/* ---- judging ---- */

static void find_home(const scope *s, const def *d, lsc_candidate *cand)
{
    cand->home = LSC_HOME_NONE;
    cand->home_index = d->index;
    if (d->kind == DEF_INITIALIZER) {
        cand->home = LSC_HOME_INITIALIZER;
        cand->tensor = s->graph->initializer[d->index];
    } else if (d->kind == DEF_CONSTANT) {
        cand->home = LSC_HOME_CONSTANT;
        cand->tensor = find_attr(s->graph->node[d->index], "value")->t;
    }
}

/* The outcome short of the size test. */
static lsc_layer_outcome judge(const select_ctx *c, const scope *s, const def *d, lsc_candidate *cand)
{
    const Onnx__TensorProto *t = cand->tensor;
    if (!t)
        return LSC_LAYER_NOT_CONSTANT;
    if (cand->compressed)
        return LSC_LAYER_ENCODED;
    size_t rank = t->n_dims;
    /* 8-bit weights only behind DequantizeLinear, and in raw bytes: int32_data holds
     * int8 sign-extended, which the 16-bit typed restore would not give back. */
    if (lsc_dtype_is_8bit(t->data_type) != cand->quantized ||
        (cand->quantized && lsc_tensor_repr(t) == LSC_REPR_TYPED))
        return LSC_LAYER_UNSUPPORTED_TYPE;
    int conv = strcmp(cand->op, "Conv") == 0 || strcmp(cand->op, "QLinearConv") == 0 ||
               strcmp(cand->op, "ConvInteger") == 0;
    int gather = strcmp(cand->op, "Gather") == 0;
    int shape_ok = conv ? rank >= 3 : gather ? rank >= 1 : cand->flat ? rank == 3 : rank == 2;
    /* The recurrent ops run in float32 (their X, B and states are float), and so
     * does LscGather (ORT needs one output type per registration). */
    if ((cand->flat || gather) && t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        shape_ok = 0;
    if (!t->has_data_type || !lsc_dtype_size(t->data_type) || !shape_ok || t->segment ||
        rank > LSC_MAX_RANK || lsc_tensor_repr(t) == LSC_REPR_NONE)
        return LSC_LAYER_UNSUPPORTED_TYPE;
    for (size_t i = 0; i < rank; i++)
        if (t->dims[i] <= 0 || t->dims[i] > UINT32_MAX)
            return LSC_LAYER_UNSUPPORTED_TYPE;
    if (cand->flat && (uint64_t)t->dims[0] * (uint64_t)t->dims[1] > UINT32_MAX)
        return LSC_LAYER_UNSUPPORTED_TYPE;
    for (size_t k = 0; k < cand->n_consumers; k++)
        if (find_attr(cand->consumers[k], LSC_DOMAIN_ATTR) ||
            (cand->flat && !default_activations(cand->consumers[k], cand->op)))
            return LSC_LAYER_UNSUPPORTED_TYPE;
    if (d->conflict || d->other_use)
        return LSC_LAYER_SHARED_OTHER;
    for (size_t i = 0; i < d->n_decls; i++)
        if (!lsc_value_type_is(d->decls[i], t->data_type, t->dims, rank))
            return LSC_LAYER_SHARED_OTHER;
    if (d->input_index != (size_t)-1) {
        /* Only the main graph's inputs can be dropped (a body's are positional), and
         * only a plain declaration can be rebuilt on decompress. */
        const Onnx__ValueInfoProto *in = s->graph->input[d->input_index];
        if (c->keep_graph_inputs || s->depth > 0 ||
            !lsc_value_info_is_plain(in, t->data_type, t->dims, rank))
            return LSC_LAYER_GRAPH_INPUT;
        cand->input_index = d->input_index;
    }
    return LSC_LAYER_ENCODED;
}

/* ---- decode candidates ---- */

/* Every float tensor (float32, float16, bfloat16, float64) of LSC_DECODE_MIN_ELEMENTS
 * or more, initializer or Constant value, that no op with an LSC kernel can take as
 * its weight (not read as one, or read also by other nodes, or in a form the LSC op
 * refuses): encoded as is (rows = d0) and restored at run time by an LscDecode node
 * of its type, whatever and however many its readers are. Whether it is sparse
 * enough is known only once its bytes are read (encode_weights.c). */
static void judge_decode(const select_ctx *c, const scope *s, const def *d, lsc_candidate *cand)
{
    const Onnx__TensorProto *t = cand->tensor;
    cand->outcome = LSC_LAYER_ENCODED;
    int dims_ok = t->n_dims <= LSC_MAX_RANK && !t->segment && lsc_tensor_repr(t) != LSC_REPR_NONE;
    for (size_t j = 0; j < t->n_dims; j++)
        dims_ok &= t->dims[j] > 0 && t->dims[j] <= UINT32_MAX;
    if (!dims_ok) {
        cand->outcome = LSC_LAYER_UNSUPPORTED_TYPE;
    } else if (d->input_index != (size_t)-1) {
        /* decompress rebuilds a dropped input from an initializer only */
        const Onnx__ValueInfoProto *in = s->graph->input[d->input_index];
        if (c->keep_graph_inputs || s->depth > 0 || d->kind != DEF_INITIALIZER ||
            !lsc_value_info_is_plain(in, t->data_type, t->dims, t->n_dims))
            cand->outcome = LSC_LAYER_GRAPH_INPUT;
        else
            cand->input_index = d->input_index;
    }
}

static const Onnx__TensorProto *def_tensor(const scope *s, const def *d)
{
    if (d->kind == DEF_INITIALIZER)
        return s->graph->initializer[d->index];
    return d->kind == DEF_CONSTANT ? find_attr(s->graph->node[d->index], "value")->t : NULL;
}

static const char *def_name(const scope *s, const def *d)
{
    return d->kind == DEF_INITIALIZER ? s->graph->initializer[d->index]->name : s->graph->node[d->index]->output[0];
}

static uint64_t float_elements(const Onnx__TensorProto *t)
{
    return t && t->has_data_type && lsc_decode_op_for(t->data_type) ? element_count(t) : 0;
}

/* A candidate for a value no LSC op takes: its readers keep reading the dense
 * tensor, under its name and type, so its declarations stay as they are (and no
 * longer belong to the def). */
static lsc_status add_plain_candidate(select_ctx *c, scope *s, size_t k, lsc_candidate **out)
{
    LSC_TRY(add_candidate(c, s, k, out));
    def *d = &s->defs[k];
    d->cand = c->sel->count - 1;
    (*out)->op = d->reader ? d->reader : "none";
    (*out)->name = def_name(s, d);
    (*out)->graph = s->graph;
    (*out)->input_index = (size_t)-1;
    (*out)->in_subgraph = s->depth > 0;
    free(d->decls);
    d->decls = NULL;
    d->n_decls = 0;
    find_home(s, d, *out);
    return LSC_OK;
}

static lsc_status add_decode_candidates(select_ctx *c)
{
    for (size_t i = 0; i < c->n_scopes; i++) {
        scope *s = c->scopes[i];
        for (size_t k = 0; k < s->n_defs; k++) {
            def *d = &s->defs[k];
            if (float_elements(def_tensor(s, d)) < LSC_DECODE_MIN_ELEMENTS)
                continue;
            lsc_candidate *cand = NULL;
            if (d->cand == (size_t)-1) {
                LSC_TRY(add_plain_candidate(c, s, k, &cand));
                d = &s->defs[k];
            } else {
                cand = &c->sel->items[d->cand];
                if (cand->compressed || cand->quantized || (cand->outcome != LSC_LAYER_SHARED_OTHER &&
                                                            cand->outcome != LSC_LAYER_UNSUPPORTED_TYPE))
                    continue;
                /* its readers all read the dense tensor, LscDecode's output */
                free(cand->consumers);
                free(cand->decls);
                cand->consumers = NULL;
                cand->decls = NULL;
                cand->n_consumers = cand->n_decls = 0;
                cand->transposed = cand->flat = 0;
                cand->name = def_name(s, d);
                cand->graph = s->graph;
                cand->input_index = (size_t)-1;
                cand->in_subgraph |= s->depth > 0;
                find_home(s, d, cand);
            }
            cand->lsc_op = lsc_decode_op_for(cand->tensor->data_type);
            cand->decode = 1;
            judge_decode(c, s, d, cand);
        }
    }
    return LSC_OK;
}

/* The smaller float tensors no LSC op takes get a row too (LSC_LAYER_TOO_SMALL),
 * so that reports account for every weight; scalars and other tensors under
 * LSC_ROW_MIN_ELEMENTS are constants, not weights. */
static lsc_status add_small_rows(select_ctx *c)
{
    for (size_t i = 0; i < c->n_scopes; i++) {
        scope *s = c->scopes[i];
        for (size_t k = 0; k < s->n_defs; k++) {
            const Onnx__TensorProto *t = def_tensor(s, &s->defs[k]);
            uint64_t n = float_elements(t);
            /* in a form lsc_model_layer_load reads, like a decode candidate's */
            if (s->defs[k].cand != (size_t)-1 || n < LSC_ROW_MIN_ELEMENTS || n >= LSC_DECODE_MIN_ELEMENTS ||
                t->n_dims > LSC_MAX_RANK || t->segment || lsc_tensor_repr(t) == LSC_REPR_NONE)
                continue;
            lsc_candidate *cand = NULL;
            LSC_TRY(add_plain_candidate(c, s, k, &cand));
            cand->outcome = LSC_LAYER_TOO_SMALL;
        }
    }
    return LSC_OK;
}

static int is_name(const char *a, const char *name)
{
    return a && strcmp(a, name) == 0;
}

static int declares(Onnx__ValueInfoProto *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (is_name(v[i]->name, name))
            return 1;
    return 0;
}

int lsc_graph_uses_name(const Onnx__GraphProto *g, const char *name, int depth)
{
    if (!g || depth > MAX_GRAPH_DEPTH)
        return 1; /* unseen: taken, to be safe */
    for (size_t i = 0; i < g->n_initializer; i++)
        if (is_name(g->initializer[i]->name, name))
            return 1;
    if (declares(g->input, g->n_input, name) || declares(g->output, g->n_output, name) ||
        declares(g->value_info, g->n_value_info, name))
        return 1;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        for (size_t j = 0; j < n->n_input; j++)
            if (is_name(n->input[j], name))
                return 1;
        for (size_t j = 0; j < n->n_output; j++)
            if (is_name(n->output[j], name))
                return 1;
        for (size_t a = 0; a < n->n_attribute; a++) {
            const Onnx__AttributeProto *attr = n->attribute[a];
            if (attr->g && lsc_graph_uses_name(attr->g, name, depth + 1))
                return 1;
            for (size_t k = 0; k < attr->n_graphs; k++)
                if (lsc_graph_uses_name(attr->graphs[k], name, depth + 1))
                    return 1;
        }
    }
    return 0;
}

/* The op of a DequantizeLinear chain also reads a computed weight, the chain's last
 * output: that is the 8-bit candidate seen from the op, not a second one. */
static void drop_chain_values(lsc_selection *sel)
{
    size_t kept = 0;
    for (size_t k = 0; k < sel->count; k++) {
        lsc_candidate *cand = &sel->items[k];
        int chain_value = 0;
        for (size_t q = 0; q < sel->count && cand->outcome == LSC_LAYER_NOT_CONSTANT && !chain_value; q++) {
            const lsc_candidate *qc = &sel->items[q];
            const Onnx__NodeProto *last = qc->dq_transpose ? qc->dq_transpose : qc->dq;
            chain_value = qc->quantized && last && last->n_output == 1 && strcmp(last->output[0], cand->name) == 0;
        }
        if (chain_value) {
            free(cand->consumers);
            free(cand->decls);
            continue;
        }
        sel->items[kept++] = *cand;
    }
    sel->count = kept;
}

lsc_status lsc_select(const lsc_onnx_model *model, unsigned flags, lsc_selection *selection, lsc_error *error)
{
    memset(selection, 0, sizeof *selection);
    select_ctx c = {.sel = selection, .keep_graph_inputs = (flags & LSC_SELECT_KEEP_GRAPH_INPUTS) != 0,
                    .error = error};
    lsc_status st = visit(&c, model->proto->graph, NULL, 0);
    for (size_t k = 0; st == LSC_OK && k < selection->count; k++) {
        lsc_candidate *cand = &selection->items[k];
        const scope *s = c.cand_scope[k];
        const def *d = &s->defs[c.cand_def[k]];
        find_home(s, d, cand);
        /* An LSC recurrent node may keep one of W and R dense (it did not pay) or
         * read it from a value computed at run time (not constant). */
        if (cand->compressed && cand->flat &&
            (!cand->tensor || cand->tensor->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__UINT8))
            cand->compressed = 0;
        cand->decls = d->decls;
        cand->n_decls = d->n_decls;
        cand->outcome = LSC_LAYER_ENCODED;
        if (strcmp(cand->op, dequantize.plain) == 0)
            cand->outcome = d->conflict || d->other_use ? LSC_LAYER_SHARED_OTHER : resolve_dequantized(&c, k);
        else if ((strcmp(cand->op, "MatMulInteger") == 0 || strcmp(cand->op, "ConvInteger") == 0 ||
                  strncmp(cand->op, "QLinear", 7) == 0) &&
                 !cand->compressed)
            cand->outcome = resolve_integer(&c, k);
        if (cand->outcome == LSC_LAYER_ENCODED)
            cand->outcome = judge(&c, s, d, cand);
        /* An LscDecode blob read by anything else: that reader would lose it on
         * decompress, which renames the restored tensor back. */
        if (cand->decode && cand->compressed && (d->other_use || d->conflict))
            cand->outcome = LSC_LAYER_SHARED_OTHER;
    }
    if (st == LSC_OK)
        drop_chain_values(selection);
    if (st == LSC_OK)
        st = add_decode_candidates(&c);
    if (st == LSC_OK && (flags & LSC_SELECT_SMALL_ROWS))
        st = add_small_rows(&c);
    /* The declaration lists move to the candidates; the rest goes. */
    for (size_t i = 0; i < c.n_scopes; i++) {
        scope *s = c.scopes[i];
        for (size_t k = 0; k < s->n_defs; k++)
            if (s->defs[k].cand == (size_t)-1 || st != LSC_OK)
                free(s->defs[k].decls);
        lsc_name_map_free(&s->names);
        free(s->defs);
        free(s);
    }
    free(c.scopes);
    free(c.cand_scope);
    free(c.cand_def);
    free(c.use_scope);
    if (st != LSC_OK) {
        for (size_t k = 0; k < selection->count; k++)
            selection->items[k].decls = NULL;
        lsc_selection_free(selection);
    }
    return st;
}

void lsc_selection_free(lsc_selection *selection)
{
    for (size_t k = 0; k < selection->count; k++) {
        free(selection->items[k].consumers);
        free(selection->items[k].decls);
        free(selection->items[k].blob_name);
    }
    free(selection->items);
    memset(selection, 0, sizeof *selection);
}

void lsc_candidate_set_tensor(lsc_candidate *cand, Onnx__TensorProto *t)
{
    if (cand->home == LSC_HOME_INITIALIZER) {
        cand->graph->initializer[cand->home_index] = t;
    } else if (cand->home == LSC_HOME_CONSTANT) {
        Onnx__NodeProto *cn = cand->graph->node[cand->home_index];
        for (size_t a = 0; a < cn->n_attribute; a++)
            if (cn->attribute[a]->t == cand->tensor)
                cn->attribute[a]->t = t;
    }
    cand->tensor = t;
}
