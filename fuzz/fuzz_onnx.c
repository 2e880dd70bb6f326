#include "fuzz_onnx.h"
#include "fuzz_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "onnx-lsc/lsc.h"

#define MAX_LAYERS 256
#define COMPRESS_MAX_INPUT (1u << 20)
/* A tiny blob may describe a huge, mostly zero tensor: loading it is legitimate but
 * slow and above libFuzzer's malloc limit, so such layers are only listed. */
#define LOAD_MAX_BYTES (64u << 20)

typedef struct layer_sum {
    int loaded;
    lsc_dtype dtype;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    uint64_t hash;
} layer_sum;

/* FUZZ_VERBOSE=1: one line per step, to see how far inputs get. */
static void say(const char *step, const char *path, lsc_status st, const lsc_error *err)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "fuzz: %s %s: %s%s\n", step, path, lsc_status_string(st),
                st == LSC_OK ? "" : err->message);
}

static void require(int ok, const char *what, const lsc_error *err)
{
    if (!ok) {
        fprintf(stderr, "fuzz: %s: %s\n", what, err ? err->message : "");
        abort();
    }
}

/* Opens a model, loads every layer; returns the layer count (-1 if it did not open)
 * and fills sums[0..min(count, MAX_LAYERS)). */
static long summarise(const char *path, layer_sum *sums)
{
    lsc_model *m = NULL;
    lsc_error err;
    lsc_status st = lsc_model_open(path, &m, &err);
    say("open", path, st, &err);
    if (st != LSC_OK) {
        require(m == NULL, "failed open leaves a model", &err);
        fuzz_check_message(&err);
        return -1;
    }
    (void)lsc_model_is_compressed(m);
    (void)lsc_model_file_bytes(m);
    lsc_seal_state seal;
    if (lsc_model_check_seal(m, &seal, &err) == LSC_OK)
        require(lsc_model_is_compressed(m) ? seal != LSC_SEAL_NOT_COMPRESSED : seal == LSC_SEAL_NOT_COMPRESSED,
                "seal state", NULL);
    else
        fuzz_check_message(&err);
    size_t n = lsc_model_layer_count(m);
    for (size_t i = 0; i < n && i < MAX_LAYERS; i++) {
        lsc_model_layer layer;
        require(lsc_model_layer_get(m, i, &layer, &err) == LSC_OK, "layer_get", &err);
        require(layer.name && layer.op && layer.rank >= 0 && layer.rank <= LSC_MAX_RANK,
                "layer_get fields", NULL);
        lsc_tensor t;
        void *buf = NULL;
        layer_sum *s = &sums[i];
        memset(s, 0, sizeof *s);
        uint64_t bytes = lsc_dtype_size(layer.dtype);
        for (int d = 0; d < layer.rank; d++)
            bytes = layer.dims[d] < 0 || (layer.dims[d] && bytes > LOAD_MAX_BYTES / (uint64_t)layer.dims[d])
                        ? LOAD_MAX_BYTES + 1
                        : bytes * (uint64_t)layer.dims[d];
        if (bytes > LOAD_MAX_BYTES)
            s->loaded = -1; /* not compared */
        else if (lsc_model_layer_load(m, i, &t, &buf, &err) == LSC_OK) {
            uint64_t count = 1;
            for (int d = 0; d < t.rank; d++)
                count *= (uint64_t)t.dims[d];
            s->loaded = 1;
            s->dtype = t.dtype;
            s->rank = t.rank;
            memcpy(s->dims, t.dims, sizeof s->dims);
            s->hash = XXH64(t.data, (size_t)(count * lsc_dtype_size(t.dtype)), 0);
            lsc_free(buf);
        } else {
            require(buf == NULL, "failed load leaves a buffer", &err);
            fuzz_check_message(&err);
        }
        (void)lsc_model_layer_weight(m, i);
    }
    lsc_model_close(&m);
    require(m == NULL, "model_close", NULL);
    return (long)n;
}

void fuzz_exercise_model(const char *dir, const char *model, size_t input_size, unsigned flags)
{
    char in[4096], out[4096], bundle[4096], back[4096], dec[4096];
    snprintf(in, sizeof in, "%s/%s", dir, model);
    snprintf(out, sizeof out, "%s/out.lsc.onnx", dir);
    snprintf(bundle, sizeof bundle, "%s/out.lsc", dir);
    snprintf(back, sizeof back, "%s/back.onnx", dir);
    snprintf(dec, sizeof dec, "%s/dec.onnx", dir);

    static layer_sum orig[MAX_LAYERS], again[MAX_LAYERS];
    long n = summarise(in, orig);
    lsc_error err;

    /* A compressed input: restore it (any outcome but a crash is fine). */
    lsc_status dst = lsc_decompress_file(in, dec, &err);
    say("decompress input", in, dst, &err);
    if (dst != LSC_OK)
        fuzz_check_message(&err);

    if (n < 0 || input_size > COMPRESS_MAX_INPUT)
        return;
    lsc_compress_options opt;
    lsc_compress_options_default(&opt);
    opt.bit_exact = 1; /* so the restored weights must be identical bit for bit */
    opt.threads = 1;
    opt.include_graph_inputs = flags & 1;
    if (flags & 2) { /* one candidate instead of the whole search: faster */
        opt.index_bits = 1 + (flags >> 2) % 16;
        opt.block_h = 1;
        opt.block_w = 1 + (flags >> 6) % 8;
    }
    lsc_compress_report *report = NULL;
    lsc_status st = lsc_compress_file(in, out, bundle, &opt, &report, &err);
    say("compress", in, st, &err);
    if (st != LSC_OK) {
        require(report == NULL, "failed compress leaves a report", &err);
        fuzz_check_message(&err);
        return;
    }
    lsc_compress_report_free(&report);
    /* What compress wrote must open, and decompress to the same weights. */
    require(summarise(out, again) >= 0, "compressed model does not open", NULL);
    require(lsc_decompress_file(out, back, &err) == LSC_OK, "compressed model does not restore",
            &err);
    long n2 = summarise(back, again);
    require(n2 == n, "restored model has another layer count", NULL);
    for (long i = 0; i < n && i < MAX_LAYERS; i++) {
        if (orig[i].loaded != 1)
            continue;
        require(again[i].loaded && !memcmp(&orig[i], &again[i], sizeof orig[i]),
                "restored weight differs", NULL);
    }
}
