/* onnx-lsc verify: the release check of a compressed model. (1) decompress(COMPRESSED)
 * must give back ORIGINAL: byte for byte, or field by field when compress normalised
 * -0.0 weights to +0.0; (2) both models, run in ONNX Runtime (loaded at run time, the
 * LSC plugin registered) on the same deterministic random inputs, must give the same
 * outputs within tolerance. Uses lsc.h and src/ort_runner/ort_runner only. */
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "exit_codes.h"
#include "onnx-lsc/lsc.h"
#include "text.h"
#include "verify_inputs.h"
#ifdef LSC_HAVE_ORT
#include "ort_runner.h"
#endif

#define MAX_DIMS 32
#define MAX_INPUTS 1024

void lsc_cli_verify_usage(FILE *out)
{
    fputs("Usage: onnx-lsc verify ORIGINAL.onnx COMPRESSED.onnx [options]\n"
          "Checks a compressed model against its original: decompress(COMPRESSED) must equal\n"
          "ORIGINAL (bytes, or weights up to -0.0 -> +0.0 normalisation), and both models run in\n"
          "ONNX Runtime on the same random inputs must agree: |lsc - original| <= atol + rtol*|original|\n"
          "element by element. 'max rel' is the largest difference over the output's largest\n"
          "magnitude.\n\n"
          "      --ort-lib PATH     libonnxruntime.so.1 (default: $ONNX_LSC_ORT_LIB, the build's, the system's)\n"
          "      --plugin PATH      libonnx_lsc_ort.so (default: $ONNX_LSC_ORT_PLUGIN, beside onnx-lsc, installed)\n"
          "      --dim NAME=VALUE   value of a symbolic input dimension (default 1)\n"
          "      --input NAME=VALUE every element of graph input NAME is VALUE (a number; its\n"
          "                         shape as for random inputs), in every run\n"
          "      --input NAME=FILE.npy  graph input NAME is this numpy array (its dtype and\n"
          "                         shape must fit the input; symbolic dims take its sizes)\n"
          "      --runs N           random input sets (default 3; 1 when every input is given)\n"
          "      --seed S           first input seed (default 1)\n"
          "      --rtol X           relative tolerance (default 1e-5)\n"
          "      --atol Y           absolute tolerance (default rtol x the output's largest magnitude)\n"
          "      --threads N        ORT intra-op threads (default 1)\n"
          "      --no-decompress    skip the decompression check\n"
          "      --strict           also fail (exit 5) when COMPRESSED is not byte for byte the\n"
          "                         file compress wrote (its bundle's seal; accept a deliberate\n"
          "                         edit with 'onnx-lsc seal COMPRESSED'), or is not sealed\n"
          "      --json             machine-readable report on stdout\n"
          "  -h, --help             this text\n",
          out);
}

typedef struct verify_options {
    const char *original, *compressed, *ort_lib, *plugin;
    char *dim_names[MAX_DIMS];
    int64_t dim_values[MAX_DIMS];
    size_t n_dims;
    verify_input inputs[MAX_INPUTS]; /* --input, in the order given */
    size_t n_inputs;
    int runs, threads, json, decompress, strict;
    unsigned long long seed;
    double rtol, atol; /* atol < 0: relative to the output's scale */
} verify_options;

/* ------------------------------------------------------------------------ */
/* Decompression check                                                       */
/* ------------------------------------------------------------------------ */

typedef struct restore_result {
    int ok, exact;
    uint64_t signed_zeros;
    char detail[LSC_ERROR_MESSAGE_SIZE + 64];
} restore_result;

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)n + 1)) && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return data;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* Zeros of either sign are equal; everything else bit for bit. Counts -0.0 vs +0.0. */
static int same_values(const lsc_tensor *a, const lsc_tensor *b, uint64_t *signed_zeros)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    size_t size = lsc_dtype_size(a->dtype), n = 1;
    for (int i = 0; i < a->rank; i++)
        n *= (size_t)a->dims[i];
    const unsigned char *p = a->data, *q = b->data;
    for (size_t i = 0; i < n; i++, p += size, q += size) {
        if (!memcmp(p, q, size))
            continue;
        /* differ: both must be zeros (all bits but the top one clear) */
        int zero = 1;
        for (size_t k = 0; k < size; k++) {
            unsigned char mask = k + 1 == size ? 0x7f : 0xff;
            zero &= !(p[k] & mask) && !(q[k] & mask);
        }
        if (!zero)
            return 0;
        (*signed_zeros)++;
    }
    return 1;
}

/* Field-wise: every layer's dims, dtype and values (zeros of either sign equal), and
 * the files differ only in zero-sign bytes (0x80 vs 0x00). */
static void compare_fieldwise(const char *original, const char *restored, restore_result *r)
{
    size_t na = 0, nb = 0;
    unsigned char *a = read_file(original, &na), *b = read_file(restored, &nb);
    int bytes_ok = a && b && na == nb;
    for (size_t i = 0; bytes_ok && i < na; i++)
        bytes_ok = a[i] == b[i] || (a[i] ^ b[i]) == 0x80;
    free(a);
    free(b);
    if (!bytes_ok) {
        snprintf(r->detail, sizeof r->detail, "restored model differs from %s beyond zero signs", original);
        return;
    }
    lsc_model *ma = NULL, *mb = NULL;
    lsc_error error = { 0 };
    if (lsc_model_open(original, &ma, &error) != LSC_OK || lsc_model_open(restored, &mb, &error) != LSC_OK) {
        snprintf(r->detail, sizeof r->detail, "%s", error.message);
        goto done;
    }
    size_t n = lsc_model_layer_count(ma);
    if (n != lsc_model_layer_count(mb)) {
        snprintf(r->detail, sizeof r->detail, "restored model has %zu weight layers, %s has %zu",
                 lsc_model_layer_count(mb), original, n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        lsc_tensor ta, tb;
        void *ba = NULL, *bb = NULL;
        lsc_model_layer la = { .name = "?" };
        int same = lsc_model_layer_get(ma, i, &la, &error) == LSC_OK &&
                   lsc_model_layer_load(ma, i, &ta, &ba, &error) == LSC_OK &&
                   lsc_model_layer_load(mb, i, &tb, &bb, &error) == LSC_OK &&
                   same_values(&ta, &tb, &r->signed_zeros);
        lsc_free(ba);
        lsc_free(bb);
        if (!same) {
            snprintf(r->detail, sizeof r->detail, "weight '%s' differs%s%s", la.name,
                     error.message[0] ? ": " : "", error.message);
            goto done;
        }
    }
    r->ok = 1;
    snprintf(r->detail, sizeof r->detail, "equal up to %llu zero signs (-0.0 normalised to +0.0)",
             (unsigned long long)r->signed_zeros);
done:
    lsc_model_close(&ma);
    lsc_model_close(&mb);
}

static lsc_status check_restore(const verify_options *o, restore_result *r)
{
    memset(r, 0, sizeof *r);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/onnx-lsc-verify.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        snprintf(r->detail, sizeof r->detail, "cannot create a temporary folder in %s", tmp ? tmp : "/tmp");
        return LSC_ERR_IO;
    }
    char restored[4200];
    snprintf(restored, sizeof restored, "%s/restored.onnx", dir);
    lsc_error error = { 0 };
    lsc_status st = lsc_decompress_file(o->compressed, restored, &error);
    if (st != LSC_OK) {
        snprintf(r->detail, sizeof r->detail, "decompress failed: %s", error.message);
    } else {
        size_t na = 0, nb = 0;
        unsigned char *a = read_file(o->original, &na), *b = read_file(restored, &nb);
        if (!a) {
            snprintf(r->detail, sizeof r->detail, "cannot read %s", o->original);
            st = LSC_ERR_IO;
        } else if (b && na == nb && !memcmp(a, b, na)) {
            r->ok = r->exact = 1;
            snprintf(r->detail, sizeof r->detail, "byte for byte");
        } else {
            compare_fieldwise(o->original, restored, r);
        }
        free(a);
        free(b);
    }
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return st;
}

/* ------------------------------------------------------------------------ */
/* ONNX Runtime comparison                                                   */
/* ------------------------------------------------------------------------ */

typedef struct output_result {
    char name[256];
    double max_abs, max_rel;
    int ok, rank;
    int64_t dims[LSC_MAX_RANK];
} output_result;

#ifdef LSC_HAVE_ORT
static double element(const ortrun_tensor *t, size_t i)
{
    switch (t->type) {
    case ORTRUN_FLOAT: return ((const float *)t->data)[i];
    case ORTRUN_DOUBLE: return ((const double *)t->data)[i];
    case ORTRUN_INT32: return ((const int32_t *)t->data)[i];
    case ORTRUN_INT64: return (double)((const int64_t *)t->data)[i];
    case ORTRUN_INT8: return ((const int8_t *)t->data)[i];
    default: return ((const uint8_t *)t->data)[i];
    }
}

/* Folds one run's output pair into r. */
static void compare_output(const verify_options *o, const ortrun_tensor *ref, const ortrun_tensor *got,
                           output_result *r)
{
    int same_shape = ref->type == got->type && ref->rank == got->rank;
    for (int i = 0; same_shape && i < ref->rank; i++)
        same_shape = ref->dims[i] == got->dims[i];
    r->rank = ref->rank;
    memcpy(r->dims, ref->dims, sizeof r->dims);
    if (!same_shape) {
        r->ok = 0;
        r->max_abs = r->max_rel = INFINITY;
        return;
    }
    size_t n = ortrun_count(ref->rank, ref->dims);
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(element(ref, i)) && fabs(element(ref, i)) > scale)
            scale = fabs(element(ref, i));
    int exact = ref->type != ORTRUN_FLOAT && ref->type != ORTRUN_DOUBLE;
    double atol = exact ? 0 : o->atol >= 0 ? o->atol : o->rtol * scale;
    double rtol = exact ? 0 : o->rtol;
    for (size_t i = 0; i < n; i++) {
        double a = element(ref, i), b = element(got, i), d;
        if (isnan(a) || isnan(b))
            d = isnan(a) && isnan(b) ? 0 : INFINITY;
        else if (a == b) /* infinities of one sign too */
            d = 0;
        else
            d = fabs(a - b);
        if (d != 0 && !(d <= atol + rtol * fabs(a))) /* NaN == NaN: its tolerance would be NaN */
            r->ok = 0;
        if (d > r->max_abs)
            r->max_abs = d;
        double rel = d == 0 ? 0 : scale > 0 ? d / scale : INFINITY;
        if (rel > r->max_rel)
            r->max_rel = rel;
    }
}

static lsc_status compare_in_ort(const verify_options *o, const char **ort_version, uint32_t *api,
                                 output_result **results, size_t *n_results, int *runs, lsc_error *error)
{
    ortrun_runtime *rt = NULL;
    ortrun_session *ref = NULL, *lsc = NULL;
    ortrun_tensor *in = NULL, *out_ref = NULL, *out_lsc = NULL;
    const verify_input **given = NULL;
    size_t n_in = 0, n_out = 0;
    char plugin_buf[4096];
    ortrun_options options = { .intra_threads = o->threads };
    options.plugin = o->plugin ? o->plugin : ortrun_default_plugin(plugin_buf, sizeof plugin_buf);
    lsc_status st = ortrun_load(o->ort_lib, &rt, error);
    if (st != LSC_OK)
        return st;
    *ort_version = ortrun_version(rt);
    *api = ortrun_api_version(rt);
    if ((st = ortrun_session_create(rt, o->original, &options, &ref, error)) != LSC_OK ||
        (st = ortrun_session_create(rt, o->compressed, &options, &lsc, error)) != LSC_OK)
        goto done;
    n_in = ortrun_input_count(ref);
    n_out = ortrun_output_count(ref);
    int same = n_in == ortrun_input_count(lsc) && n_out == ortrun_output_count(lsc);
    for (size_t i = 0; same && i < n_in; i++)
        same = !strcmp(ortrun_input(ref, i)->name, ortrun_input(lsc, i)->name) &&
               ortrun_input(ref, i)->type == ortrun_input(lsc, i)->type;
    for (size_t i = 0; same && i < n_out; i++)
        same = !strcmp(ortrun_output(ref, i)->name, ortrun_output(lsc, i)->name);
    if (!same) {
        st = LSC_ERR_BAD_MODEL;
        snprintf(error->message, sizeof error->message,
                 "%s and %s have different graph inputs or outputs", o->original, o->compressed);
        goto done;
    }
    in = calloc(n_in + 1, sizeof *in);
    given = calloc(n_in + 1, sizeof *given); /* given[i]: the --input for graph input i, if any */
    out_ref = calloc(n_out + 1, sizeof *out_ref);
    out_lsc = calloc(n_out + 1, sizeof *out_lsc);
    *results = calloc(n_out + 1, sizeof **results);
    if (!in || !given || !out_ref || !out_lsc || !*results) {
        st = LSC_ERR_NO_MEMORY;
        snprintf(error->message, sizeof error->message, "out of memory");
        goto done;
    }
    size_t n_given = 0;
    for (size_t k = 0; st == LSC_OK && k < o->n_inputs; k++) {
        size_t i = 0;
        while (i < n_in && strcmp(ortrun_input(ref, i)->name, o->inputs[k].name) != 0)
            i++;
        if (i == n_in) {
            char names[512] = "";
            for (size_t j = 0, len = 0; j < n_in && len < sizeof names; j++)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s'%s'", j ? ", " : "",
                                        ortrun_input(ref, j)->name);
            st = LSC_ERR_INVALID_ARGUMENT;
            snprintf(error->message, sizeof error->message, "--input %s: %s has no input of that name (%s)",
                     o->inputs[k].name, o->original, n_in ? names : "none");
        } else {
            st = verify_input_check(&o->inputs[k], ortrun_input(ref, i), error);
            n_given += !given[i];
            given[i] = &o->inputs[k];
        }
    }
    if (st != LSC_OK)
        goto done;
    *runs = n_in && n_given == n_in ? 1 : o->runs;
    *n_results = n_out;
    for (size_t i = 0; i < n_out; i++) {
        snprintf((*results)[i].name, sizeof (*results)[i].name, "%s", ortrun_output(ref, i)->name);
        (*results)[i].ok = 1;
    }
    for (int run = 0; st == LSC_OK && run < *runs; run++) {
        for (size_t i = 0; st == LSC_OK && i < n_in; i++) {
            int64_t dims[LSC_MAX_RANK];
            const ortrun_desc *d = ortrun_input(ref, i);
            ortrun_resolve_dims(d, o->n_dims, o->dim_names, o->dim_values, 1, dims);
            if (given[i])
                st = verify_input_tensor(given[i], d, dims, &in[i], error);
            else
                st = ortrun_random_tensor(d, dims, (o->seed + (uint64_t)run) * 1000003u + i, &in[i], error);
        }
        if (st == LSC_OK)
            st = ortrun_run(ref, in, out_ref, error);
        if (st == LSC_OK)
            st = ortrun_run(lsc, in, out_lsc, error);
        for (size_t i = 0; st == LSC_OK && i < n_out; i++)
            compare_output(o, &out_ref[i], &out_lsc[i], &(*results)[i]);
        ortrun_tensors_free(in, n_in);
        ortrun_tensors_free(out_ref, n_out);
        ortrun_tensors_free(out_lsc, n_out);
    }
done:
    free(in);
    free(given);
    free(out_ref);
    free(out_lsc);
    ortrun_session_free(&ref);
    ortrun_session_free(&lsc);
    ortrun_unload(&rt); /* the version string stays valid: the library stays loaded */
    return st;
}
#else
static lsc_status compare_in_ort(const verify_options *o, const char **ort_version, uint32_t *api,
                                 output_result **results, size_t *n_results, int *runs, lsc_error *error)
{
    (void)o, (void)ort_version, (void)api, (void)results, (void)n_results, (void)runs;
    error->status = LSC_ERR_UNSUPPORTED;
    snprintf(error->message, sizeof error->message,
             "this onnx-lsc was built without ONNX Runtime headers (scripts/setup-ort.sh, then reconfigure)");
    return LSC_ERR_UNSUPPORTED;
}
#endif

/* ------------------------------------------------------------------------ */
/* Report                                                                    */
/* ------------------------------------------------------------------------ */

static void shape_string(const output_result *r, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[");
    for (int i = 0; i < r->rank && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%lld", i ? "," : "", (long long)r->dims[i]);
    if (n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "]");
}

static int parse_args(int argc, char **argv, verify_options *o)
{
    static const struct option long_options[] = {
        {"ort-lib", required_argument, NULL, 'L'}, {"plugin", required_argument, NULL, 'P'},
        {"dim", required_argument, NULL, 'd'},     {"runs", required_argument, NULL, 'r'},
        {"input", required_argument, NULL, 'i'},
        {"seed", required_argument, NULL, 's'},    {"rtol", required_argument, NULL, 'R'},
        {"atol", required_argument, NULL, 'A'},    {"threads", required_argument, NULL, 't'},
        {"json", no_argument, NULL, 'j'},          {"no-decompress", no_argument, NULL, 'D'},
        {"strict", no_argument, NULL, 'S'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->runs = 3;
    o->threads = 1;
    o->seed = 1;
    o->rtol = 1e-5;
    o->atol = -1;
    o->decompress = 1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        char *end = NULL, *eq;
        switch (c) {
        case 'L': o->ort_lib = optarg; break;
        case 'P': o->plugin = optarg; break;
        case 'd':
            eq = strchr(optarg, '=');
            if (!eq || eq == optarg || o->n_dims == MAX_DIMS)
                return lsc_cli_usage_error("verify", "--dim wants NAME=VALUE, got '%s'", optarg);
            *eq = '\0';
            o->dim_names[o->n_dims] = optarg;
            o->dim_values[o->n_dims] = strtoll(eq + 1, &end, 10);
            if (*end || o->dim_values[o->n_dims] < 0)
                return lsc_cli_usage_error("verify", "--dim %s: '%s' is not a size", optarg, eq + 1);
            o->n_dims++;
            break;
        case 'i': {
            if (o->n_inputs == MAX_INPUTS)
                return lsc_cli_usage_error("verify", "at most %d --input", MAX_INPUTS);
            verify_input *in = &o->inputs[o->n_inputs];
            lsc_error error = {0};
            lsc_status st = verify_input_parse(optarg, in, &error);
            if (st != LSC_OK && !error.message[0])
                return lsc_cli_usage_error("verify", "--input wants NAME=NUMBER or NAME=FILE.npy, got '%s'",
                                           optarg);
            if (st != LSC_OK) {
                lsc_cli_error("--input %s: %s", in->name, error.message);
                return lsc_exit_for_status(st);
            }
            o->n_inputs++;
            for (size_t k = 0; k + 1 < o->n_inputs; k++)
                if (!strcmp(o->inputs[k].name, in->name))
                    return lsc_cli_usage_error("verify", "--input %s given twice", in->name);
            break;
        }
        case 'r':
        case 't':
            *(c == 'r' ? &o->runs : &o->threads) = (int)strtol(optarg, &end, 10);
            if (*end || (c == 'r' ? o->runs < 1 : o->threads < 0))
                return lsc_cli_usage_error("verify", "bad value '%s' for %s", optarg, argv[optind - 1]);
            break;
        case 's':
            o->seed = strtoull(optarg, &end, 10);
            if (*end)
                return lsc_cli_usage_error("verify", "bad seed '%s'", optarg);
            break;
        case 'R':
        case 'A':
            *(c == 'R' ? &o->rtol : &o->atol) = strtod(optarg, &end);
            if (*end || !(*(c == 'R' ? &o->rtol : &o->atol) >= 0))
                return lsc_cli_usage_error("verify", "bad tolerance '%s'", optarg);
            break;
        case 'j': o->json = 1; break;
        case 'D': o->decompress = 0; break;
        case 'S': o->strict = 1; break;
        case 'h': lsc_cli_verify_usage(stdout); return -1;
        case ':': return lsc_cli_usage_error("verify", "option '%s' needs a value", argv[optind - 1]);
        default: return lsc_cli_usage_error("verify", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (argc - optind != 2)
        return lsc_cli_usage_error("verify", "expected ORIGINAL.onnx and COMPRESSED.onnx");
    o->original = argv[optind];
    o->compressed = argv[optind + 1];
    return 0;
}

/* "x from a.npy, sr = 16000" into buf: the --input given. */
static void given_text(const verify_options *o, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < o->n_inputs && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s %s %s", k ? ", " : "", o->inputs[k].name,
                                o->inputs[k].from_file ? "from" : "=", o->inputs[k].spec);
}

/* The compressed model against its bundle's seal (docs/format.md 2.4). */
static lsc_status check_seal(const verify_options *o, lsc_seal_state *state)
{
    lsc_error error = { 0 };
    lsc_status st = lsc_check_seal_file(o->compressed, state, &error);
    if (st != LSC_OK)
        lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
    return st;
}

static const char *seal_text(lsc_seal_state state)
{
    switch (state) {
    case LSC_SEAL_INTACT: return "intact (byte for byte the file that was sealed)";
    case LSC_SEAL_MODIFIED: return "graph modified since compression (accept it with 'onnx-lsc seal')";
    case LSC_SEAL_ABSENT: return "not sealed (a bundle written before seals: format 1.0)";
    case LSC_SEAL_NOT_COMPRESSED: break;
    }
    return "not a compressed model";
}

static int run_verify(const verify_options *o)
{
    restore_result restore = { .ok = 1 };
    lsc_seal_state seal = LSC_SEAL_NOT_COMPRESSED;
    lsc_status st = check_seal(o, &seal);
    if (st != LSC_OK)
        return lsc_exit_for_status(st);
    int seal_ok = !o->strict || seal == LSC_SEAL_INTACT;
    if (o->decompress)
        st = check_restore(o, &restore);
    if (st != LSC_OK) {
        lsc_cli_error("%s", restore.detail);
        return lsc_exit_for_status(st);
    }

    const char *ort_version = "?";
    uint32_t api = 0;
    output_result *results = NULL;
    size_t n_results = 0;
    int runs = o->runs;
    lsc_error error = { 0 };
    st = compare_in_ort(o, &ort_version, &api, &results, &n_results, &runs, &error);
    if (st != LSC_OK) {
        lsc_cli_error("%s", error.message[0] ? error.message : lsc_status_string(st));
        free(results);
        return lsc_exit_for_status(st);
    }
    int all_ok = restore.ok;
    for (size_t i = 0; i < n_results; i++)
        all_ok &= results[i].ok;

    if (o->json) {
        printf("{\"original\": ");
        text_json_string(stdout, o->original);
        printf(", \"compressed\": ");
        text_json_string(stdout, o->compressed);
        printf(", \"seal\": \"%s\", \"strict\": %s", lsc_seal_state_string(seal), o->strict ? "true" : "false");
        printf(", \"decompress\": {\"checked\": %s, \"ok\": %s, \"exact\": %s, \"signed_zeros\": %llu, \"detail\": ",
               o->decompress ? "true" : "false", restore.ok ? "true" : "false", restore.exact ? "true" : "false",
               (unsigned long long)restore.signed_zeros);
        text_json_string(stdout, restore.detail);
        printf("}, \"onnxruntime\": {\"version\": ");
        text_json_string(stdout, ort_version);
        printf(", \"api\": %u}, \"runs\": %d, \"inputs\": {", api, runs);
        for (size_t k = 0; k < o->n_inputs; k++) {
            printf("%s", k ? ", " : "");
            text_json_string(stdout, o->inputs[k].name);
            printf(": {\"%s\": ", o->inputs[k].from_file ? "file" : "value");
            if (o->inputs[k].from_file)
                text_json_string(stdout, o->inputs[k].spec);
            else
                text_json_number(stdout, o->inputs[k].value);
            printf("}");
        }
        printf("}, \"rtol\": ");
        text_json_number(stdout, o->rtol);
        printf(", \"atol\": ");
        if (o->atol >= 0)
            text_json_number(stdout, o->atol);
        else
            printf("\"rtol x max|original|\"");
        printf(", \"outputs\": [");
        for (size_t i = 0; i < n_results; i++) {
            char shape[256];
            shape_string(&results[i], shape, sizeof shape);
            printf("%s{\"name\": ", i ? ", " : "");
            text_json_string(stdout, results[i].name);
            printf(", \"shape\": \"%s\", \"max_abs\": ", shape);
            text_json_number(stdout, results[i].max_abs);
            printf(", \"max_rel\": ");
            text_json_number(stdout, results[i].max_rel);
            printf(", \"ok\": %s}", results[i].ok ? "true" : "false");
        }
        printf("], \"ok\": %s}\n", all_ok && seal_ok ? "true" : "false");
    } else {
        printf("seal: %s%s\n", seal_text(seal), seal_ok ? "" : " [--strict: FAILED]");
        if (o->decompress)
            printf("decompress: %s: %s\n", restore.ok ? "ok" : "MISMATCH", restore.detail);
        char given[1024];
        given_text(o, given, sizeof given);
        printf("onnxruntime %s (API %u), %d input set%s (%s%s), rtol %g, atol %s\n", ort_version, api, runs,
               runs == 1 ? "" : "s", given[0] ? given : "random", given[0] ? "; others random" : "", o->rtol,
               o->atol >= 0 ? "given" : "rtol x max|original|");
        printf("%-32s %-18s %12s %12s  %s\n", "output", "shape", "max abs", "max rel", "verdict");
        for (size_t i = 0; i < n_results; i++) {
            char shape[256];
            shape_string(&results[i], shape, sizeof shape);
            printf("%-32s %-18s %12.3g %12.3g  %s\n", results[i].name, shape, results[i].max_abs,
                   results[i].max_rel, results[i].ok ? "ok" : "OUTSIDE TOLERANCE");
        }
        printf("verdict: %s\n", all_ok && seal_ok ? "ok" : "FAILED");
    }
    free(results);
    return !all_ok ? LSC_EXIT_CHECK_FAILED : !seal_ok ? LSC_EXIT_MODIFIED : LSC_EXIT_OK;
}

int lsc_cli_verify(int argc, char **argv)
{
    verify_options *o = malloc(sizeof *o); /* holds up to MAX_INPUTS --input: not on the stack */
    if (!o) {
        lsc_cli_error("out of memory");
        return lsc_exit_for_status(LSC_ERR_NO_MEMORY);
    }
    int rc = parse_args(argc, argv, o);
    rc = rc < 0 ? LSC_EXIT_OK : rc ? rc : run_verify(o);
    for (size_t k = 0; k < o->n_inputs; k++)
        verify_input_free(&o->inputs[k]);
    free(o);
    return rc;
}
