/* Quantized MatMul chains in one LSC op (docs/format.md 3.1, "Decision
 * (LscDynamicQuantMatMul)", "Decision (LscQLinearMatMulFloat)"). ONNX Runtime's
 * quantize_dynamic writes, per layer,
 *   DynamicQuantizeLinear(x) -> (xq, xs, xzp)
 *   MatMulInteger(xq, B, xzp[, b_zp]) -> i;  Cast(i, to FLOAT) -> f
 *   Mul(xs, b_scale) -> s;  Mul(f, s) -> p  [-> Add(p, bias) -> y]
 * and ONNX Runtime fuses that into one node for a dense model, but not around a
 * custom op. Once B is encoded (the node is LscMatMulInteger), the chain becomes
 *   LscDynamicQuantMatMul(x, B, b_scale, b_zp or "", bias or "") -> y (or p)
 * when it is exactly that: every intermediate value read once, by the next node of
 * the chain, in the same graph, not a graph output nor declared in value_info;
 * b_scale and bias float32 initializers of that graph (b_scale one value or one per
 * column, bias one per column). The other nodes go to the op's restore record
 * (fuse.c) and the op's own inputs and output to
 *   lsc_fused_io  STRINGS  [original inputs..., original output]
 * from which decompress puts the MatMulInteger back as it was. Likewise static
 * quantization's QOperator form
 *   QuantizeLinear(x, a_scale, a_zp) -> a;  QLinearMatMul(a, .., y_scale, y_zp) -> q
 *   DequantizeLinear(q, y_scale, y_zp) -> p  [-> Add(p, bias) -> y]
 * becomes LscQLinearMatMulFloat(x, a_scale, a_zp, B, b_scale, b_zp, y_scale, y_zp
 * [, bias]) -> y (or p), the scales and zero points scalar initializers. */
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_model.h"

static int same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static int named(const char *s)
{
    return s && *s;
}

/* The node of g writing value `name`, or NULL. */
static Onnx__NodeProto *writer_of(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t o = 0; o < g->node[i]->n_output; o++)
            if (same(g->node[i]->output[o], name))
                return g->node[i];
    return NULL;
}

/* The one reader of `name` in g: read once, by a node of g itself (not a body, not a
 * graph output), not declared in value_info. */
static Onnx__NodeProto *only_reader(const Onnx__GraphProto *g, const char *name)
{
    if (!named(name) || lsc_value_uses(g, name) != 1)
        return NULL;
    for (size_t i = 0; i < g->n_value_info; i++)
        if (same(g->value_info[i]->name, name))
            return NULL;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (same(g->node[i]->input[k], name))
                return g->node[i];
    return NULL;
}

/* An ONNX-domain node of that type, inputs and one named output, no attributes. */
static int plain(const Onnx__NodeProto *n, const char *op, size_t n_input)
{
    return n && lsc_node_is_onnx(n) && same(n->op_type, op) && n->n_input == n_input && n->n_output == 1 &&
           named(n->output[0]) && n->n_attribute == 0;
}

/* The input of a two-input node other than `name` (which must be one of them). */
static const char *other_input(const Onnx__NodeProto *n, const char *name)
{
    if (same(n->input[0], name) && !same(n->input[1], name))
        return n->input[1];
    if (same(n->input[1], name) && !same(n->input[0], name))
        return n->input[0];
    return NULL;
}

/* The initializer of g named `name`, unless a graph input of g has that name (it may
 * be fed at run time), or NULL. */
static const Onnx__TensorProto *initializer_of(const Onnx__GraphProto *g, const char *name)
{
    if (!named(name))
        return NULL;
    for (size_t i = 0; i < g->n_input; i++)
        if (same(g->input[i]->name, name))
            return NULL;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (same(g->initializer[i]->name, name))
            return g->initializer[i];
    return NULL;
}

/* A float32 initializer of g (not a graph input) of n_cols values, or one value when
 * one_ok; rank <= 1. */
static int float_constant(const Onnx__GraphProto *g, const char *name, int64_t n_cols, int one_ok)
{
    const Onnx__TensorProto *t = initializer_of(g, name);
    if (!t || t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t->n_dims > 1)
        return 0;
    int64_t n = t->n_dims ? t->dims[0] : 1;
    return n == n_cols || (one_ok && n == 1);
}

/* A scalar initializer of g (not a graph input): rank 0 or [1], of type t1 or t2. */
static int scalar_constant(const Onnx__GraphProto *g, const char *name, int32_t t1, int32_t t2)
{
    const Onnx__TensorProto *t = initializer_of(g, name);
    return t && (t->data_type == t1 || t->data_type == t2) &&
           (t->n_dims == 0 || (t->n_dims == 1 && t->dims[0] == 1));
}

static int is_cast_to_float(const Onnx__NodeProto *n)
{
    if (!n || !lsc_node_is_onnx(n) || !same(n->op_type, "Cast") || n->n_input != 1 || n->n_output != 1 ||
        !named(n->output[0]) || n->n_attribute != 1)
        return 0;
    const Onnx__AttributeProto *a = n->attribute[0];
    return same(a->name, "to") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT &&
           a->i == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

static lsc_status set_name(char **field, const char *value, lsc_error *error)
{
    char *copy = lsc_strdup(value);
    if (!copy)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    free(*field);
    *field = copy;
    return LSC_OK;
}

/* lsc_fused_io: the op's inputs and output as they are now (the original's). */
static lsc_status record_io(Onnx__NodeProto *op, lsc_error *error)
{
    Onnx__AttributeProto *a = lsc_attr_new(LSC_FUSED_IO_ATTR, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    size_t n = op->n_input + 1;
    if (a && !(a->strings = calloc(n, sizeof *a->strings))) {
        protobuf_c_message_free_unpacked(&a->base, NULL);
        a = NULL;
    }
    for (size_t i = 0; a && i < n; i++) {
        const char *s = i < op->n_input ? op->input[i] : op->output[0];
        if (!(a->strings[i].data = (uint8_t *)lsc_strdup(s))) {
            protobuf_c_message_free_unpacked(&a->base, NULL);
            a = NULL;
            break;
        }
        a->strings[i].len = strlen(s);
        a->n_strings = i + 1;
    }
    return lsc_node_append_attr(op, a, error);
}

/* The Add that alone reads `value` with a float32 constant of one value per column,
 * its bias in *bias; else NULL. */
static Onnx__NodeProto *bias_add(const Onnx__GraphProto *g, const char *value, int64_t n_cols, const char **bias)
{
    Onnx__NodeProto *add = only_reader(g, value);
    *bias = add && plain(add, "Add", 2) ? other_input(add, value) : NULL;
    if (!*bias || !float_constant(g, *bias, n_cols, 0))
        return NULL;
    return add;
}

/* Only the domain record rewrite_node adds. */
static int no_attributes(const Onnx__NodeProto *op)
{
    for (size_t a = 0; a < op->n_attribute; a++)
        if (!same(op->attribute[a]->name, LSC_DOMAIN_ATTR))
            return 0;
    return 1;
}

/* Records the chain's nodes and the op's inputs and output, lists the nodes. */
static lsc_status record_chain(Onnx__GraphProto *g, Onnx__NodeProto *op, Onnx__NodeProto *const *chain, size_t n,
                               lsc_fold_list *removed, lsc_error *error)
{
    for (size_t i = 0; i < n; i++)
        LSC_TRY(lsc_fuse_record(op, g, chain[i], error));
    LSC_TRY(record_io(op, error));
    for (size_t i = 0; i < n; i++)
        LSC_TRY(lsc_fold_list_push(removed, g, chain[i], error));
    return LSC_OK;
}

/* Grows the op to n inputs, the new ones "". */
static lsc_status grow_inputs(Onnx__NodeProto *op, size_t n, lsc_error *error)
{
    if (op->n_input >= n)
        return LSC_OK;
    char **inputs = realloc(op->input, n * sizeof *inputs);
    if (!inputs)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    op->input = inputs;
    for (; op->n_input < n; op->n_input++)
        if (!(op->input[op->n_input] = lsc_strdup("")))
            return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    return LSC_OK;
}

static lsc_status fuse_qlinear(Onnx__GraphProto *g, Onnx__NodeProto *op, int64_t n_cols, lsc_fold_list *removed,
                               lsc_error *error)
{
    const int32_t f32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, u8 = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8,
                  i8 = ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    if (op->n_input != 8 || op->n_output != 1 || !named(op->output[0]) || !no_attributes(op) ||
        !scalar_constant(g, op->input[1], f32, f32) || !scalar_constant(g, op->input[2], u8, i8) ||
        !scalar_constant(g, op->input[6], f32, f32) || !scalar_constant(g, op->input[7], u8, i8))
        return LSC_OK;
    Onnx__NodeProto *q = writer_of(g, op->input[0]);
    if (!q || !plain(q, "QuantizeLinear", 3) || !named(q->input[0]) || !same(q->input[1], op->input[1]) ||
        !same(q->input[2], op->input[2]) || only_reader(g, op->input[0]) != op)
        return LSC_OK;
    Onnx__NodeProto *dq = only_reader(g, op->output[0]);
    if (!plain(dq, "DequantizeLinear", 3) || !same(dq->input[0], op->output[0]) || !same(dq->input[1], op->input[6]) ||
        !same(dq->input[2], op->input[7]))
        return LSC_OK;
    const char *bias = NULL;
    Onnx__NodeProto *add = bias_add(g, dq->output[0], n_cols, &bias);
    Onnx__NodeProto *chain[] = {q, dq, add};
    LSC_TRY(record_chain(g, op, chain, add ? 3 : 2, removed, error));
    LSC_TRY(set_name(&op->input[0], q->input[0], error));
    LSC_TRY(set_name(&op->output[0], add ? add->output[0] : dq->output[0], error));
    if (add) {
        LSC_TRY(grow_inputs(op, 9, error));
        LSC_TRY(set_name(&op->input[8], bias, error));
    }
    return set_name(&op->op_type, LSC_QLINEAR_FLOAT_OP, error);
}

static lsc_status fuse_dynamic(Onnx__GraphProto *g, Onnx__NodeProto *op, int64_t n_cols, lsc_fold_list *removed,
                               lsc_error *error)
{
    if (!lsc_node_is_lsc(op) || !same(op->op_type, "LscMatMulInteger") || op->n_input < 3 || op->n_input > 4 ||
        op->n_output != 1 || !named(op->input[0]) || !named(op->input[2]) || !named(op->output[0]) || n_cols < 1 ||
        !no_attributes(op))
        return LSC_OK;
    Onnx__NodeProto *dq = writer_of(g, op->input[0]);
    if (!dq || !lsc_node_is_onnx(dq) || !same(dq->op_type, "DynamicQuantizeLinear") || dq->n_input != 1 ||
        !named(dq->input[0]) || dq->n_output != 3 || dq->n_attribute || !same(dq->output[0], op->input[0]) ||
        !same(dq->output[2], op->input[2]) || only_reader(g, dq->output[0]) != op ||
        only_reader(g, dq->output[2]) != op)
        return LSC_OK;
    Onnx__NodeProto *cast = only_reader(g, op->output[0]);
    Onnx__NodeProto *scales = only_reader(g, dq->output[1]);
    if (!is_cast_to_float(cast) || !plain(scales, "Mul", 2))
        return LSC_OK;
    const char *b_scale = other_input(scales, dq->output[1]);
    Onnx__NodeProto *mul = only_reader(g, cast->output[0]);
    if (!b_scale || !float_constant(g, b_scale, n_cols, 1) || !plain(mul, "Mul", 2) ||
        only_reader(g, scales->output[0]) != mul || !same(other_input(mul, cast->output[0]), scales->output[0]))
        return LSC_OK;
    /* The bias: an Add that alone reads the product, with a constant per column. */
    const char *bias = NULL;
    Onnx__NodeProto *add = bias_add(g, mul->output[0], n_cols, &bias);
    /* The chain runs in graph order; the op takes the place of the MatMulInteger. */
    Onnx__NodeProto *chain[] = {dq, cast, scales, mul, add};
    LSC_TRY(record_chain(g, op, chain, add ? 5 : 4, removed, error));
    const char *out = add ? add->output[0] : mul->output[0];
    LSC_TRY(grow_inputs(op, 5, error)); /* b_zero_point (input 3) stays, "" when absent */
    LSC_TRY(set_name(&op->input[0], dq->input[0], error));
    LSC_TRY(set_name(&op->input[2], b_scale, error));
    LSC_TRY(set_name(&op->input[4], add ? bias : "", error));
    LSC_TRY(set_name(&op->output[0], out, error));
    LSC_TRY(set_name(&op->op_type, LSC_DYNAMIC_OP, error));
    /* Trailing absent inputs go: b_zp and bias are optional. */
    while (op->n_input > 3 && !*op->input[op->n_input - 1])
        free(op->input[--op->n_input]);
    return LSC_OK;
}

lsc_status lsc_fuse_quantized_chain(Onnx__GraphProto *g, Onnx__NodeProto *op, int64_t n_cols,
                                    lsc_fold_list *removed, lsc_error *error)
{
    if (lsc_node_is_lsc(op) && same(op->op_type, "LscQLinearMatMul") && n_cols >= 1)
        return fuse_qlinear(g, op, n_cols, removed, error);
    return fuse_dynamic(g, op, n_cols, removed, error);
}
