/* lsc-sizes: what the default size slack (lsc_encode_options.size_slack_ppm, the
 * encoder's trade of a few bytes for a faster multiply) costs (not a test).
 *   lsc-sizes model.onnx...     every encodable weight of the models
 *   lsc-sizes                   the lsc-bench layer shapes, uniform random pruning
 * For each weight: the smallest encoding (slack 0, the default before the cost
 * model) and the default one, their blob bytes, meta-data bits per non-zero and the
 * difference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx-lsc/lsc.h"
#include "rng.h"

static uint64_t total_smallest, total_default, total_nnz;
static double total_meta_smallest, total_meta_default;

static double meta_bits(const lsc_encode_stats *s)
{
    return s->nnz ? 8.0 * (double)s->meta_bytes / (double)s->nnz : 0.0;
}

static int compare(const char *name, const lsc_tensor *t, int transposed)
{
    lsc_encode_options o;
    lsc_encode_stats a, b;
    lsc_error err;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    o.size_slack_ppm = 0;
    if (lsc_encode_plan(t, &o, &a, &err) != LSC_OK)
        return fprintf(stderr, "%s: %s\n", name, err.message), 1;
    lsc_encode_options_default(&o);
    o.transposed = transposed;
    if (lsc_encode_plan(t, &o, &b, &err) != LSC_OK)
        return fprintf(stderr, "%s: %s\n", name, err.message), 1;
    printf("| %s | %llux%llu | %.2f%% | %ux%u/%u | %llu | %.2f | %ux%u/%u | %llu | %.2f | %+.3f%% |\n",
           name, (unsigned long long)a.rows, (unsigned long long)a.cols,
           100.0 * (double)a.nnz / (double)a.elements, a.block_h, a.block_w, a.index_bits,
           (unsigned long long)a.blob_bytes, meta_bits(&a), b.block_h, b.block_w, b.index_bits,
           (unsigned long long)b.blob_bytes, meta_bits(&b),
           100.0 * ((double)b.blob_bytes - (double)a.blob_bytes) / (double)a.blob_bytes);
    total_smallest += a.blob_bytes;
    total_default += b.blob_bytes;
    total_nnz += a.nnz;
    total_meta_smallest += 8.0 * (double)a.meta_bytes;
    total_meta_default += 8.0 * (double)b.meta_bytes;
    return 0;
}

static uint64_t rng = 88172645463325252ull;
static double unit(void)
{
    return xorshift64_unit(&rng);
}

int main(int argc, char **argv)
{
    printf("| weight | matrix | density | smallest | bytes | meta b/nnz | default | bytes | "
           "meta b/nnz | cost |\n|---|---|---|---|---|---|---|---|---|---|\n");
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        lsc_model *m;
        lsc_error err;
        if (lsc_model_open(argv[i], &m, &err) != LSC_OK)
            return fprintf(stderr, "%s\n", err.message), 1;
        for (size_t k = 0; k < lsc_model_layer_count(m); k++) {
            lsc_model_layer l;
            lsc_tensor t;
            void *buf;
            if (lsc_model_layer_get(m, k, &l, &err) != LSC_OK || l.outcome != LSC_LAYER_ENCODED)
                continue;
            if (lsc_model_layer_load(m, k, &t, &buf, &err) != LSC_OK)
                return fprintf(stderr, "%s\n", err.message), 1;
            bad |= compare(l.name, &t, l.transposed);
            lsc_free(buf);
        }
        lsc_model_close(&m);
    }
    if (argc == 1) {
        static const struct { const char *name; uint32_t rows, cols; } shapes[] = {
            { "lenet-fc1", 500, 800 },          { "alexnet-fc6", 4096, 9216 },
            { "vgg16-conv3_2", 256, 2304 },     { "vgg16-conv5_1", 512, 4608 },
            { "vgg16-fc6", 4096, 25088 },       { "vgg16-fc7", 4096, 4096 },
        };
        static const double dens[] = { 0.5, 0.2, 0.1, 0.05, 0.02, 0.01 };
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++) {
                size_t count = (size_t)shapes[s].rows * shapes[s].cols;
                float *w = calloc(count, sizeof(float));
                if (!w)
                    return 1;
                for (size_t i = 0; i < count; i++)
                    if (unit() < dens[d])
                        w[i] = (float)(unit() - 0.5);
                lsc_tensor t = { .dtype = LSC_DTYPE_FLOAT32, .rank = 2,
                                 .dims = { shapes[s].rows, shapes[s].cols }, .data = w };
                bad |= compare(shapes[s].name, &t, 0);
                free(w);
            }
    }
    printf("\ntotal: smallest %llu bytes (meta %.3f b/nnz), default %llu bytes (meta %.3f "
           "b/nnz), %+.3f%%\n",
           (unsigned long long)total_smallest, total_meta_smallest / (double)total_nnz,
           (unsigned long long)total_default, total_meta_default / (double)total_nnz,
           100.0 * ((double)total_default - (double)total_smallest) / (double)total_smallest);
    return bad;
}
