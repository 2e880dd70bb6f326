/* The entropy tier, layer by layer (docs/benchmarks.md "Entropy tier"): for every
 * Conv/Gemm/MatMul weight of the models given, the compute-tier blob and its entropy
 * blob, position bits per non-zero next to the i.i.d. bound log2 C(n,k)/k and the
 * per-row bound (sum over rows of log2 C(cols,k_r) + log2(cols+1) per row for the
 * count)/k, value bits per non-zero, and encode / decode speed in MB/s of dense
 * bytes per core (median of 5 runs of the thread's CPU time, so that other work on a
 * shared machine counts less; encode = search + compute blob + entropy blob, also
 * given apart as `srch` (search + compute blob) and `ent` (entropy blob, with its
 * decode-and-compare check); decode = lsc_weight_open of the entropy blob, i.e. what
 * a runtime does at load). Not a test: `bench_entropy MODEL.onnx...`; DEC_N=k in the
 * environment times k opens per decode run (profiles, small layers), ENC_N=k k encodes
 * per encode run (the same), LAYER=name benches that layer only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/entropy.h"
#include "codec/scan.h"
#include "onnx-lsc/lsc.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define RUNS 5

static double median(double *t)
{
    for (int i = 1; i < RUNS; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    return t[RUNS / 2];
}

static double log2_binomial(double n, double k)
{
    return (lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)) / log(2.0);
}

typedef struct totals {
    double dense, compute, entropy, nnz, pos_bits, iid_bits, row_bits, value_bits, enc_s, search_s, ent_s, dec_s;
} totals;

/* Per-row bound of a tensor's encoded matrix, in bits. */
static double per_row_bound(const lsc_tensor *t, int transposed, double *iid, uint64_t *nnz_out)
{
    lsc_matrix_shape shape;
    lsc_sparse m;
    if (lsc_matrix_shape_of(t, transposed, &shape, NULL) || lsc_sparse_build(t, &shape, 0, 0, &m, NULL))
        return 0;
    double bits = 0;
    for (uint32_t r = 0; r < m.rows; r++)
        bits += log2_binomial(m.cols, (double)(m.row_ptr[r + 1] - m.row_ptr[r])) + log2(m.cols + 1.0);
    *iid = log2_binomial((double)shape.elements, (double)m.nnz);
    *nnz_out = m.nnz;
    lsc_sparse_free(&m);
    return bits;
}

static int bench_layer(const char *name, const lsc_tensor *t, int transposed, totals *tot)
{
    lsc_encode_options eo;
    lsc_encode_options_default(&eo);
    eo.transposed = transposed;
    void *blob = NULL, *coded = NULL;
    size_t blob_size = 0, coded_size = 0;
    lsc_encode_stats es;
    lsc_entropy_stats st;
    lsc_error err;
    double enc_runs[RUNS], search_runs[RUNS], ent_runs[RUNS], dec_runs[RUNS];
    const char *enc_env = getenv("ENC_N");
    int encodes = enc_env && atoi(enc_env) > 0 ? atoi(enc_env) : 1;
    for (int run = 0; run < RUNS; run++) {
        double search = 0, ent = 0;
        for (int k = 0; k < encodes; k++) {
            lsc_free(blob);
            free(coded);
            double t0 = now();
            if (lsc_encode(t, &eo, &blob, &blob_size, &es, &err)) {
                fprintf(stderr, "%s: %s\n", name, err.message);
                return 1;
            }
            double t1 = now();
            if (lsc_entropy_encode_blob(blob, blob_size, name, &coded, &coded_size, &st, &err)) {
                fprintf(stderr, "%s: %s\n", name, err.message);
                return 1;
            }
            double t2 = now();
            search += t1 - t0;
            ent += t2 - t1;
        }
        enc_runs[run] = (search + ent) / encodes;
        search_runs[run] = search / encodes;
        ent_runs[run] = ent / encodes;
    }
    const char *env = getenv("DEC_N");
    int opens = env && atoi(env) > 0 ? atoi(env) : 1;
    for (int run = 0; run < RUNS; run++) {
        double t0 = now();
        for (int k = 0; k < opens; k++) {
            lsc_weight *w = NULL;
            if (lsc_weight_open(coded, coded_size, name, &w, &err)) {
                fprintf(stderr, "%s: %s\n", name, err.message);
                return 1;
            }
            lsc_weight_close(&w);
        }
        dec_runs[run] = (now() - t0) / opens;
    }
    double enc = median(enc_runs), search = median(search_runs), ent = median(ent_runs), dec = median(dec_runs);
    double iid = 0;
    uint64_t nnz = 0;
    double row = per_row_bound(t, transposed, &iid, &nnz);
    double k = nnz ? (double)nnz : 1, pos = 8.0 * (double)st.position_bytes, val = 0;
    char methods[64] = {0};
    static const char letter[] = "rzmawgR"; /* docs/format.md 4.3: raw, zstd, model, adaptive, whole, grouped, rANS */
    const uint8_t *c = coded; /* section 0's method: the first byte of the table after the dims */
    unsigned pos_method = coded_size > 72 && c[56] <= 8 ? c[64 + 8 * c[56]] : 0;
    methods[0] = letter[pos_method < 7 ? pos_method : 0];
    methods[1] = ' ';
    for (unsigned j = 0, at = 2; j < st.planes; j++) {
        val += 8.0 * (double)st.plane_bytes[j];
        if (j < 2) /* the low planes are raw */
            at += (unsigned)snprintf(methods + at, sizeof methods - at, "%s%.2f%c", j ? " " : "",
                                     8.0 * (double)st.plane_bytes[j] / k, letter[st.plane_method[j]]);
    }
    double d = (double)es.dense_bytes / 1e6;
    printf("%-28.28s %6llux%-6llu %6.2f%% %9llu %9zu %8zu  %5.2f %5.2f %5.2f  %5.2f %-13s %6.1f %6.1f %6.1f %6.1f\n",
           name, (unsigned long long)es.rows, (unsigned long long)es.cols, 100.0 * (double)nnz / (double)es.elements,
           (unsigned long long)es.dense_bytes, blob_size, coded_size, iid / k, row / k, pos / k, val / k, methods,
           d / enc, d / search, d / ent, d / dec);
    tot->dense += (double)es.dense_bytes;
    tot->compute += (double)blob_size;
    tot->entropy += (double)coded_size;
    tot->nnz += k;
    tot->pos_bits += pos;
    tot->iid_bits += iid;
    tot->row_bits += row;
    tot->value_bits += val;
    tot->enc_s += enc;
    tot->search_s += search;
    tot->ent_s += ent;
    tot->dec_s += dec;
    lsc_free(blob);
    free(coded);
    return 0;
}

static int bench_model(const char *path, totals *tot)
{
    lsc_model *model = NULL;
    lsc_error err;
    if (lsc_model_open(path, &model, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int failed = 0;
    for (size_t i = 0; i < lsc_model_layer_count(model) && !failed; i++) {
        lsc_model_layer layer;
        lsc_tensor t;
        void *buffer = NULL;
        if (lsc_model_layer_get(model, i, &layer, &err) || layer.outcome != LSC_LAYER_ENCODED)
            continue;
        if (getenv("LAYER") && strcmp(getenv("LAYER"), layer.name) != 0)
            continue;
        if (lsc_model_layer_load(model, i, &t, &buffer, &err)) {
            fprintf(stderr, "%s\n", err.message);
            failed = 1;
            break;
        }
        failed = bench_layer(layer.name, &t, layer.transposed, tot);
        lsc_free(buffer);
    }
    lsc_model_close(&model);
    return failed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_entropy MODEL.onnx...\n");
        return 2;
    }
    printf("b/nnz: bits per non-zero; position method, value planes 0 and 1 in b/nnz, with r raw, z zstd, m static model, a adaptive model, w whole, g grouped tables, R rANS; MB/s of dense bytes per core (CPU time): enc = srch (search + compute blob) + ent (entropy blob)\n");
    printf("%-28s %13s %7s %9s %9s %8s  %5s %5s %5s  %5s %-11s %6s %6s %6s %6s\n", "weight", "matrix", "density",
           "dense", "compute", "entropy", "iid", "row", "pos", "value", "pos plane0 1", "enc", "srch", "ent", "dec");
    int failed = 0;
    for (int a = 1; a < argc && !failed; a++) {
        totals tot = {0};
        failed = bench_model(argv[a], &tot);
        double k = tot.nnz ? tot.nnz : 1;
        double d = tot.dense / 1e6;
        printf("%-28.28s %13s %7s %9.0f %9.0f %8.0f  %5.2f %5.2f %5.2f  %5.2f %-13s %6.1f %6.1f %6.1f %6.1f\n\n",
               argv[a], "", "", tot.dense, tot.compute, tot.entropy, tot.iid_bits / k, tot.row_bits / k,
               tot.pos_bits / k, tot.value_bits / k, "", d / tot.enc_s, d / tot.search_s, d / tot.ent_s,
               d / tot.dec_s);
    }
    return failed;
}
