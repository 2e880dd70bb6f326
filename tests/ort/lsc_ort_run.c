/* lsc-ort-run: runs an ONNX model in ONNX Runtime with the LSC plugin registered.
 * The tests' and the latency benchmark's driver:
 *   lsc-ort-run MODEL [--input NAME=FILE.npy]... [--save DIR]       one run, outputs as DIR/N.npy
 *   lsc-ort-run MODEL --bench RUNS [--warmup W]                      JSON line: latency and memory
 *   lsc-ort-run MODEL --expect-error TEXT                            exit 0 iff loading/running
 *                                                                    fails with TEXT in the message
 * Common: [--ort-lib PATH] [--plugin PATH | --no-plugin] [--threads N] [--dim NAME=V]
 *         [--seed S] [--profile PREFIX] (inputs not given are deterministic random;
 *         --profile: ORT's per-node timings in PREFIX_<date>.json). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npy.h"
#include "ort_runner.h"
#include "rss.h"

#define MAX_NAMED 32

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fputs("usage: lsc-ort-run MODEL [--input NAME=FILE.npy]... [--save DIR] [--bench RUNS [--warmup W]]\n"
          "       [--expect-error TEXT] [--ort-lib PATH] [--plugin PATH | --no-plugin] [--threads N]\n"
          "       [--dim NAME=V]... [--seed S] [--no-optimize] [--profile PREFIX]\n",
          stderr);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "input", required_argument, NULL, 'i' }, { "save", required_argument, NULL, 's' },
        { "bench", required_argument, NULL, 'b' }, { "warmup", required_argument, NULL, 'w' },
        { "expect-error", required_argument, NULL, 'e' }, { "ort-lib", required_argument, NULL, 'l' },
        { "plugin", required_argument, NULL, 'p' }, { "no-plugin", no_argument, NULL, 'P' },
        { "threads", required_argument, NULL, 't' }, { "dim", required_argument, NULL, 'd' },
        { "seed", required_argument, NULL, 'r' }, { "no-optimize", no_argument, NULL, 'O' },
        { "profile", required_argument, NULL, 'F' },
        { NULL, 0, NULL, 0 },
    };
    char *input_names[MAX_NAMED], *input_files[MAX_NAMED], *dim_names[MAX_NAMED];
    int64_t dim_values[MAX_NAMED];
    size_t n_inputs_given = 0, n_dims = 0;
    const char *save = NULL, *expect = NULL, *lib = NULL, *plugin = NULL;
    int bench = 0, warmup = 3, no_plugin = 0;
    unsigned long long seed = 1;
    ortrun_options options = { .intra_threads = 1 };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *eq = optarg ? strchr(optarg, '=') : NULL;
        switch (c) {
        case 'i':
        case 'd':
            if (!eq || (c == 'i' ? n_inputs_given : n_dims) == MAX_NAMED) {
                usage();
                return 2;
            }
            *eq = '\0';
            if (c == 'i') {
                input_names[n_inputs_given] = optarg;
                input_files[n_inputs_given++] = eq + 1;
            } else {
                dim_names[n_dims] = optarg;
                dim_values[n_dims++] = strtoll(eq + 1, NULL, 10);
            }
            break;
        case 's': save = optarg; break;
        case 'b': bench = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'e': expect = optarg; break;
        case 'l': lib = optarg; break;
        case 'p': plugin = optarg; break;
        case 'P': no_plugin = 1; break;
        case 't': options.intra_threads = atoi(optarg); break;
        case 'r': seed = strtoull(optarg, NULL, 10); break;
        case 'O': options.disable_optimizations = 1; break;
        case 'F': options.profile_prefix = optarg; break;
        default: usage(); return 2;
        }
    }
    if (optind != argc - 1) {
        usage();
        return 2;
    }
    const char *model = argv[optind];
    char plugin_buf[4096];
    options.plugin = no_plugin ? NULL : plugin ? plugin : ortrun_default_plugin(plugin_buf, sizeof plugin_buf);

    lsc_error error = { 0 };
    ortrun_runtime *rt = NULL;
    if (ortrun_load(lib, &rt, &error) != LSC_OK) {
        fprintf(stderr, "lsc-ort-run: %s\n", error.message);
        return 77; /* no runtime: the tests skip */
    }
    int peak_reset = rss_reset_peak() == 0; /* the peak then belongs to the session */
    uint64_t rss_before = rss_current();
    double t0 = now_ms();
    ortrun_session *se = NULL;
    lsc_status st = ortrun_session_create(rt, model, &options, &se, &error);
    double create_ms = now_ms() - t0;

    size_t n_in = se ? ortrun_input_count(se) : 0, n_out = se ? ortrun_output_count(se) : 0;
    ortrun_tensor *in = calloc(n_in + 1, sizeof *in), *out = calloc(n_out + 1, sizeof *out);
    int rc = 1;
    if (!in || !out) {
        fprintf(stderr, "lsc-ort-run: out of memory\n");
        goto done;
    }
    for (size_t i = 0; st == LSC_OK && i < n_in; i++) {
        const ortrun_desc *d = ortrun_input(se, i);
        const char *file = NULL;
        for (size_t j = 0; j < n_inputs_given; j++)
            if (!strcmp(input_names[j], d->name))
                file = input_files[j];
        if (file) {
            char msg[512];
            if (npy_read(file, &in[i], msg, sizeof msg) != 0 || in[i].type != d->type) {
                fprintf(stderr, "lsc-ort-run: input '%s': %s\n", d->name, in[i].data ? "wrong dtype" : msg);
                goto done;
            }
        } else {
            int64_t dims[LSC_MAX_RANK];
            ortrun_resolve_dims(d, n_dims, dim_names, dim_values, 1, dims);
            st = ortrun_random_tensor(d, dims, seed * 1000003u + i, &in[i], &error);
        }
    }
    if (st == LSC_OK)
        st = ortrun_run(se, in, out, &error);

    if (expect) {
        if (st == LSC_OK) {
            fprintf(stderr, "lsc-ort-run: expected a failure with '%s', but the model ran\n", expect);
        } else if (!strstr(error.message, expect)) {
            fprintf(stderr, "lsc-ort-run: failed, but without '%s': %s\n", expect, error.message);
        } else {
            printf("failed as expected: %s\n", error.message);
            rc = 0;
        }
        goto done;
    }
    if (st != LSC_OK) {
        fprintf(stderr, "lsc-ort-run: %s\n", error.message);
        goto done;
    }
    if (save) {
        for (size_t i = 0; i < n_out; i++) {
            char path[4096], msg[512];
            snprintf(path, sizeof path, "%s/%zu.npy", save, i);
            if (npy_write(path, &out[i], msg, sizeof msg) != 0) {
                fprintf(stderr, "lsc-ort-run: %s\n", msg);
                goto done;
            }
            printf("%s -> %s\n", ortrun_output(se, i)->name, path);
        }
    }
    if (bench > 0) {
        double *ms = calloc((size_t)bench, sizeof *ms);
        if (!ms)
            goto done;
        for (int r = 0; st == LSC_OK && r < warmup + bench; r++) {
            ortrun_tensors_free(out, n_out);
            double t = now_ms();
            st = ortrun_run(se, in, out, &error);
            if (r >= warmup)
                ms[r - warmup] = now_ms() - t;
        }
        if (st != LSC_OK) {
            fprintf(stderr, "lsc-ort-run: %s\n", error.message);
            free(ms);
            goto done;
        }
        qsort(ms, (size_t)bench, sizeof *ms, cmp_double);
        uint64_t peak = rss_peak();
        printf("{\"model\": \"%s\", \"threads\": %d, \"plugin\": %s, \"runs\": %d, \"median_ms\": %.4f, "
               "\"min_ms\": %.4f, \"max_ms\": %.4f, \"create_ms\": %.2f, \"session_peak_bytes\": %llu, "
               "\"process_peak_bytes\": %llu, \"peak_reset\": %s}\n",
               model, options.intra_threads, options.plugin ? "true" : "false", bench, ms[bench / 2], ms[0],
               ms[bench - 1], create_ms, (unsigned long long)(peak > rss_before ? peak - rss_before : 0),
               (unsigned long long)peak, peak_reset ? "true" : "false");
        free(ms);
    }
    rc = 0;
done:
    ortrun_tensors_free(in, n_in);
    ortrun_tensors_free(out, n_out);
    free(in);
    free(out);
    ortrun_session_free(&se);
    ortrun_unload(&rt);
    return rc;
}
