/* compress's encoding pass. Each weight is fetched (in place in its file mapping
 * where possible), encoded, and its pages released before the next one is taken,
 * so memory holds the weights in work, not the model. Weights are encoded side by
 * side on -j threads and written to the bundle in candidate order (jobs.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/encode.h"
#include "codec/entropy.h"
#include "common/checked.h"
#include "onnx/encode_weights.h"
#include "common/jobs.h"

/* What the work on one weight leaves for its commit. */
typedef struct item_result {
    void *blob;
    size_t blob_size;
    uint8_t *restore;
    size_t restore_len;
    int has_note;
    lsc_error note; /* why the weight was left alone, reported in order */
} item_result;

typedef struct pass_ctx {
    const lsc_encode_pass *p;
    size_t *items; /* candidate index of each job */
    size_t n_items;
    uint64_t *cost;  /* estimated peak memory of each job (the budget's unit) */
    uint64_t *dense; /* dense bytes of each job (the progress unit) */
    item_result *res;
    pthread_mutex_t model_lock; /* lsc_tensor_dense may map a file into the model */
    lsc_name_map toc_names;     /* bundle entry names used so far (keys in toc_owned) */
    char **toc_owned;
    size_t n_toc;
    uint64_t done, total;
} pass_ctx;

static lsc_status pack_restore_record(Onnx__TensorProto *t, uint8_t **out, size_t *size,
                                      const char *label, lsc_error *error)
{
    lsc_saved_payload saved;
    lsc_payload_clear(t, &saved);
    *size = protobuf_c_message_get_packed_size(&t->base);
    *out = malloc(*size ? *size : 1);
    if (*out)
        protobuf_c_message_pack(&t->base, *out);
    lsc_payload_put_back(t, &saved);
    if (!*out)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", label);
    return LSC_OK;
}

static void fill_row(lsc_layer_report *row, const lsc_candidate *cand)
{
    snprintf(row->name, sizeof row->name, "%s", cand->name);
    snprintf(row->op, sizeof row->op, "%s", cand->op);
    row->outcome = cand->outcome;
    if (cand->decode)
        row->flags |= LSC_LAYER_FLAG_DECODE;
    if (cand->run_dense)
        row->flags |= LSC_LAYER_FLAG_RUN_DENSE;
    if (cand->tensor && cand->tensor->has_data_type)
        row->dtype = (lsc_dtype)cand->tensor->data_type;
}

/* Encodes one weight into res[i] (runs on any thread; touches only job i's rows). */
static lsc_status work(void *ctx_, size_t i, lsc_error *error)
{
    pass_ctx *ctx = ctx_;
    const lsc_encode_pass *p = ctx->p;
    size_t k = ctx->items[i];
    lsc_candidate *cand = &p->sel->items[k];
    lsc_layer_report *row = &p->report->layers[k];
    item_result *res = &ctx->res[i];
    Onnx__TensorProto *t = cand->tensor;
    char label[400];
    lsc_label(label, sizeof label, p->in_path, "weight", cand->name);

    lsc_dense dense = {0};
    pthread_mutex_lock(&ctx->model_lock);
    lsc_status st = lsc_tensor_dense(p->model, t, label, &dense, error);
    pthread_mutex_unlock(&ctx->model_lock);
    if (st == LSC_ERR_UNSUPPORTED) {
        cand->outcome = row->outcome = LSC_LAYER_UNSUPPORTED_TYPE;
        res->has_note = 1;
        res->note = *error;
        return LSC_OK;
    }
    LSC_TRY(st);
    if (dense.mapped)
        lsc_map_will_need(dense.data, dense.size);

    lsc_tensor tensor = {.dtype = (lsc_dtype)t->data_type, .data = dense.data};
    if (!lsc_blob_dims(t, cand->flat, &tensor.rank, tensor.dims)) {
        lsc_dense_free(&dense);
        return lsc_fail(error, LSC_ERR_INTERNAL, "%s: dims do not fit a blob", label);
    }
    lsc_encode_options eo;
    lsc_encode_options_default(&eo);
    eo.bit_exact = p->opt->bit_exact;
    eo.transposed = cand->transposed;
    eo.typed_field = lsc_tensor_repr(t) == LSC_REPR_TYPED;
    eo.index_bits = p->opt->index_bits;
    eo.block_h = p->opt->block_h;
    eo.block_w = p->opt->block_w;
    if (p->opt->smallest)
        eo.size_slack_ppm = 0;
    uint8_t *zero_points = NULL;
    if (cand->quantized) {
        uint32_t rows = (uint32_t)(cand->transposed ? tensor.dims[1] : tensor.dims[0]);
        pthread_mutex_lock(&ctx->model_lock);
        st = lsc_candidate_zero_points(p->model, cand, rows, label, &zero_points, error);
        pthread_mutex_unlock(&ctx->model_lock);
        if (st != LSC_OK) {
            lsc_dense_free(&dense);
            return st;
        }
        eo.zero_points = zero_points;
    }

    void *blob = NULL;
    size_t blob_size = 0;
    st = dense.mapped ? lsc_encode_mapped(&tensor, &eo, &blob, &blob_size, &row->stats, error)
                      : lsc_encode(&tensor, &eo, &blob, &blob_size, &row->stats, error);
    lsc_dense_free(&dense); /* any mapped pages the scan left resident leave memory here */
    free(zero_points);
    if (st != LSC_OK) {
        lsc_error_prefix(error, label);
        return st;
    }
    /* -0.0 is a zero whether or not --bit-exact stores it */
    uint64_t nonzero = row->stats.nnz - (eo.bit_exact ? row->stats.signed_zeros : 0);
    /* a layer run dense by choice keeps its blob whatever its density: it is a
     * Conv / Gemm / MatMul weight, encoded today whenever it pays */
    if (cand->decode && !cand->run_dense && !lsc_decode_sparse_enough(nonzero, row->stats.elements)) {
        cand->outcome = row->outcome = LSC_LAYER_NOT_SPARSE;
        lsc_free(blob);
        return LSC_OK;
    }
    if (blob_size >= row->stats.dense_bytes) {
        cand->outcome = row->outcome = LSC_LAYER_NOT_PAYING;
        lsc_free(blob);
        return LSC_OK;
    }
    if (p->opt->entropy) { /* whether it pays is decided on the compute tier, what runs */
        void *coded = NULL;
        size_t coded_size = 0;
        st = lsc_entropy_encode(blob, blob_size, &coded, &coded_size, error);
        void *compact = NULL; /* the same blob, header as varints (docs/format.md 4.8) */
        size_t compact_size = 0;
        if (st == LSC_OK && lsc_entropy_compact(coded, coded_size, &compact, &compact_size, NULL) == LSC_OK) {
            lsc_free(coded);
            coded = compact;
            coded_size = compact_size;
        }
        if (st == LSC_OK && coded_size < blob_size) {
            lsc_free(blob);
            blob = coded;
            blob_size = coded_size;
        } else {
            lsc_free(coded);
        }
        if (st != LSC_OK && st != LSC_ERR_UNSUPPORTED) {
            lsc_free(blob);
            lsc_error_prefix(error, label);
            return st;
        }
    }
    st = pack_restore_record(t, &res->restore, &res->restore_len, label, error);
    if (st != LSC_OK) {
        lsc_free(blob);
        return st;
    }
    res->blob = blob;
    res->blob_size = blob_size;
    return LSC_OK;
}

/* The bundle entry name of a weight: its value name, or "name#N" (N = 2, 3...)
 * when sibling subgraphs have already used it for another weight. */
static lsc_status toc_name(pass_ctx *ctx, const char *name, char **out, lsc_error *error)
{
    char **owned = realloc(ctx->toc_owned, (ctx->n_toc + 1) * sizeof *owned);
    if (!owned)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    ctx->toc_owned = owned;
    size_t n = strlen(name);
    char *s = malloc(n + 24);
    if (!s)
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "out of memory");
    memcpy(s, name, n + 1);
    for (unsigned long long k = 2; lsc_name_map_get(&ctx->toc_names, s) != (size_t)-1; k++)
        snprintf(s + n, 24, "#%llu", k);
    owned[ctx->n_toc++] = s;
    *out = s;
    return lsc_name_map_put(&ctx->toc_names, s, 1, error);
}

/* Appends job i's blob to the bundle (in job order, one at a time). */
static lsc_status commit(void *ctx_, size_t i, lsc_error *error)
{
    pass_ctx *ctx = ctx_;
    const lsc_encode_pass *p = ctx->p;
    size_t k = ctx->items[i];
    lsc_candidate *cand = &p->sel->items[k];
    item_result *res = &ctx->res[i];
    if (res->has_note && p->opt->note)
        p->opt->note(p->opt->note_context, res->note.message);
    if (res->blob) {
        uint64_t offset = 0;
        char *name = NULL;
        lsc_status st = toc_name(ctx, cand->blob_name ? cand->blob_name : cand->name, &name, error);
        if (st == LSC_OK)
            st = lsc_bundle_writer_add(p->writer, name, strlen(name), res->blob,
                                              res->blob_size, res->restore, res->restore_len, &offset,
                                              error);
        lsc_free(res->blob);
        free(res->restore);
        res->blob = NULL;
        res->restore = NULL;
        LSC_TRY(st);
        p->encoded[k].offset = offset;
        p->encoded[k].size = res->blob_size;
        if (!p->opt->bit_exact)
            p->report->signed_zeros_normalised += p->report->layers[k].stats.signed_zeros;
    }
    ctx->done += ctx->dense[i];
    if (p->opt->progress)
        p->opt->progress(p->opt->progress_context, ctx->done, ctx->total);
    return LSC_OK;
}

/* Bytes of memory encoding one weight takes at its peak, estimated before it
 * starts: its dense bytes when converted or in the model file's own bytes (a mapped
 * external-data weight is released as the scan passes it: MAPPED_WINDOW), plus what
 * the encoder holds per non-zero: column and value lists twice while a transposed
 * weight's are reordered, then the blob (measured 15.3 bytes for fp32 at 10%;
 * docs/benchmarks.md "Scale"). The non-zeros are counted in a sample: 256 elements
 * of each 8 MiB (the page cache may bring in a few MiB around each; they are
 * released again). 0 if unknown. */
#define SAMPLE_STRIDE (8u << 20)
#define SAMPLE_ELEMS 256u
#define MAPPED_WINDOW (UINT64_C(16) << 20)
#define ENCODER_BYTES_PER_NNZ(esize) (2 * (4 + (uint64_t)(esize)) + 4)

static int is_zero(const uint8_t *p, size_t esize)
{
    for (size_t i = 0; i + 1 < esize; i++)
        if (p[i])
            return 0;
    return (p[esize - 1] & 0x7f) == 0;
}

static uint64_t estimate_cost(pass_ctx *ctx, const lsc_candidate *cand)
{
    const Onnx__TensorProto *t = cand->tensor;
    size_t esize = lsc_dtype_size(t->data_type);
    lsc_dense dense = {0};
    if (!esize || lsc_tensor_repr(t) == LSC_REPR_TYPED ||
        lsc_tensor_dense(ctx->p->model, t, "", &dense, NULL) != LSC_OK)
        return 0; /* typed fields are small (protobuf); errors come out in work() */
    uint64_t n = dense.size / esize, sampled = 0, nonzero = 0;
    const uint8_t *data = dense.data;
    uint64_t stride = SAMPLE_STRIDE / esize > SAMPLE_ELEMS ? SAMPLE_STRIDE / esize : SAMPLE_ELEMS;
    for (uint64_t i = 0; i < n; i += stride)
        for (uint64_t j = i; j < n && j < i + SAMPLE_ELEMS; j++, sampled++)
            nonzero += !is_zero(data + j * esize, esize);
    int mapped = dense.mapped;
    lsc_dense_free(&dense); /* the sampled pages leave memory again */
    uint64_t nnz = sampled ? (uint64_t)((double)n * ((double)nonzero / (double)sampled)) : 0;
    uint64_t cost, extra, input = (uint64_t)n * esize;
    if (mapped && input > MAPPED_WINDOW)
        input = MAPPED_WINDOW;
    if (lsc_mul_overflow_u64(nnz, ENCODER_BYTES_PER_NNZ(esize), &extra) || lsc_add_overflow_u64(input, extra, &cost))
        return UINT64_MAX;
    return cost;
}

/* 0 = no limit when the memory size is unknown. */
static uint64_t memory_budget(const lsc_compress_options *opt)
{
    if (opt->memory_budget)
        return opt->memory_budget;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t bytes;
    if (pages <= 0 || page <= 0 || lsc_mul_overflow_u64((uint64_t)pages, (uint64_t)page, &bytes))
        return 0;
    return bytes / 2;
}

lsc_status lsc_encode_weights(const lsc_encode_pass *p, lsc_error *error)
{
    size_t n = p->sel->count;
    pass_ctx ctx = {.p = p};
    for (size_t k = 0; k < n; k++) {
        fill_row(&p->report->layers[k], &p->sel->items[k]);
        if (p->sel->items[k].outcome == LSC_LAYER_ENCODED)
            ctx.n_items++;
    }
    if (ctx.n_items == 0)
        return LSC_OK;
    ctx.items = malloc(ctx.n_items * sizeof *ctx.items);
    ctx.cost = malloc(ctx.n_items * sizeof *ctx.cost);
    ctx.dense = malloc(ctx.n_items * sizeof *ctx.dense);
    ctx.res = calloc(ctx.n_items, sizeof *ctx.res);
    if (!ctx.items || !ctx.cost || !ctx.dense || !ctx.res) {
        free(ctx.items);
        free(ctx.cost);
        free(ctx.dense);
        free(ctx.res);
        return lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: out of memory", p->in_path);
    }
    size_t i = 0;
    for (size_t k = 0; k < n; k++) {
        if (p->sel->items[k].outcome != LSC_LAYER_ENCODED)
            continue;
        ctx.items[i] = k;
        ctx.cost[i] = estimate_cost(&ctx, &p->sel->items[k]);
        ctx.dense[i] = lsc_tensor_elements(p->sel->items[k].tensor, "", &ctx.dense[i], NULL) == LSC_OK
                           ? ctx.dense[i] * lsc_dtype_size(p->sel->items[k].tensor->data_type)
                           : 0;
        if (lsc_add_overflow_u64(ctx.total, ctx.dense[i], &ctx.total))
            ctx.total = UINT64_MAX;
        i++;
    }
    lsc_status st;
    if (pthread_mutex_init(&ctx.model_lock, NULL) != 0) {
        st = lsc_fail(error, LSC_ERR_NO_MEMORY, "%s: cannot create a mutex", p->in_path);
    } else {
        if (p->opt->progress)
            p->opt->progress(p->opt->progress_context, 0, ctx.total);
        lsc_jobs jobs = {.n = ctx.n_items,
                         .threads = p->opt->threads,
                         .cost = ctx.cost,
                         .budget = memory_budget(p->opt),
                         .work = work,
                         .commit = commit,
                         .ctx = &ctx};
        st = lsc_jobs_run(&jobs, error);
        pthread_mutex_destroy(&ctx.model_lock);
    }
    for (i = 0; i < ctx.n_items; i++) { /* left by a failure */
        lsc_free(ctx.res[i].blob);
        free(ctx.res[i].restore);
    }
    for (i = 0; i < ctx.n_toc; i++)
        free(ctx.toc_owned[i]);
    free(ctx.toc_owned);
    lsc_name_map_free(&ctx.toc_names);
    free(ctx.items);
    free(ctx.cost);
    free(ctx.dense);
    free(ctx.res);
    return st;
}
