/* The public API as a user sees it: only <onnx-lsc/lsc.h>, linked against the shared
 * library. For each model given: inspect it, compress it, open the compressed model
 * and its bundle, and check every encoded weight against the original bit for bit,
 * and lsc_spmm / lsc_spmm_rows against a dense product (1 thread, a pool of 2, and a
 * host parallel-for, which must all agree exactly: a row's sum has one order).
 *   test-public-api TMPDIR MODEL.onnx... */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx-lsc/lsc.h"

#define N_COLS 5 /* activation columns: not a multiple of any vector width */

static size_t element_count(const lsc_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->rank; d++)
        n *= (size_t)t->dims[d];
    return n;
}

/* Non-zeros equal bit for bit; zeros (either sign) come back as +0.0. */
static void check_restored(const char *name, const lsc_tensor *orig, const lsc_tensor *back)
{
    CHECKF(orig->dtype == back->dtype && orig->rank == back->rank, "%s: type or rank", name);
    for (int d = 0; d < orig->rank && d < back->rank; d++)
        CHECKF(orig->dims[d] == back->dims[d], "%s: dim %d", name, d);
    if (orig->dtype != LSC_DTYPE_FLOAT32 || back->dtype != LSC_DTYPE_FLOAT32)
        return;
    const uint32_t *a = orig->data, *b = back->data;
    size_t n = element_count(orig), bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t want = (a[i] & 0x7fffffffu) == 0 ? 0 : a[i];
        bad += b[i] != want;
    }
    CHECKF(bad == 0, "%s: %zu of %zu elements differ", name, bad, n);
}

/* Deterministic pseudo-random floats in [-1, 1). */
static float next_value(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*state >> 40) / (double)(1u << 24)) * 2.0f - 1.0f;
}

static void serial_for(void *context, lsc_task_fn fn, void *arg, size_t n)
{
    (void)context;
    for (size_t i = n; i-- > 0;) /* reverse order: results must not depend on it */
        fn(arg, i);
}

/* Element (r, c) of the matrix the weight encodes (docs/format.md 1.4). */
static float matrix_at(const float *dense, const lsc_weight_info *info, size_t r, size_t c)
{
    return info->transposed ? dense[c * info->rows + r] : dense[r * info->cols + c];
}

static void check_multiply(const char *name, const lsc_weight *w, const float *dense, lsc_pool *pool)
{
    lsc_weight_info info;
    lsc_weight_get_info(w, &info);
    size_t rows = info.rows, cols = info.cols;
    float *x = malloc(cols * N_COLS * sizeof *x), *xt = malloc(N_COLS * cols * sizeof *xt);
    float *want = calloc(rows * N_COLS, sizeof *want);
    float *y1 = malloc(rows * N_COLS * sizeof *y1), *y2 = malloc(rows * N_COLS * sizeof *y2);
    float *y3 = malloc(rows * N_COLS * sizeof *y3), *yr = malloc(N_COLS * rows * sizeof *yr);
    if (!x || !xt || !want || !y1 || !y2 || !y3 || !yr) {
        CHECKF(0, "%s: out of memory", name);
        goto done;
    }
    uint64_t state = rows * 31 + cols;
    for (size_t k = 0; k < cols; k++)
        for (size_t j = 0; j < N_COLS; j++)
            xt[j * cols + k] = x[k * N_COLS + j] = next_value(&state);
    double scale = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            float v = matrix_at(dense, &info, r, c);
            if (v == 0)
                continue;
            scale += fabs(v);
            for (size_t j = 0; j < N_COLS; j++)
                want[r * N_COLS + j] += v * x[c * N_COLS + j];
        }

    lsc_error err;
    lsc_exec serial = { 0 }, pooled = { .pool = pool };
    lsc_exec host = { .parallel_for = serial_for, .parallel_for_context = NULL };
    CHECKF(lsc_spmm(w, x, N_COLS, N_COLS, y1, N_COLS, 0, 0, &serial, &err) == LSC_OK, "%s: %s", name,
           err.message);
    CHECKF(lsc_spmm(w, x, N_COLS, N_COLS, y2, N_COLS, 0, 0, &pooled, &err) == LSC_OK, "%s: %s", name,
           err.message);
    CHECKF(lsc_spmm(w, x, N_COLS, N_COLS, y3, N_COLS, 0, 0, &host, &err) == LSC_OK, "%s: %s", name,
           err.message);
    CHECKF(lsc_spmm_rows(w, xt, cols, N_COLS, yr, rows, &serial, &err) == LSC_OK, "%s: %s", name,
           err.message);
    double tol = 1e-5 * (scale / (double)rows + 1);
    size_t off = 0, nondet = 0;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < N_COLS; j++) {
            float ref = want[r * N_COLS + j];
            off += fabs(y1[r * N_COLS + j] - ref) > tol;
            off += fabs(yr[j * rows + r] - ref) > tol;
            nondet += memcmp(&y1[r * N_COLS + j], &y2[r * N_COLS + j], sizeof(float)) != 0;
            nondet += memcmp(&y1[r * N_COLS + j], &y3[r * N_COLS + j], sizeof(float)) != 0;
        }
    CHECKF(off == 0, "%s: %zu results beyond %g of the dense product", name, off, tol);
    CHECKF(nondet == 0, "%s: %zu results depend on the threads", name, nondet);
done:
    free(x), free(xt), free(want), free(y1), free(y2), free(y3), free(yr);
}

/* An opened weight's accounting is the encoder's (as compress reported it), and its
 * matrix is the tensor's 2-D view. */
static void check_weight_stats(const lsc_compress_report *report, const char *name, const lsc_weight *w,
                               const lsc_tensor *orig, int transposed)
{
    lsc_encode_stats got;
    lsc_weight_get_stats(w, &got);
    lsc_weight_info info;
    lsc_weight_get_info(w, &info);
    CHECKF(got.blob_bytes == info.blob_size && got.rows == info.rows && got.nnz == info.nnz, "%s", name);
    for (size_t i = 0; i < report->n_layers; i++) {
        const lsc_encode_stats *want = &report->layers[i].stats;
        if (strcmp(report->layers[i].name, name) != 0)
            continue;
        lsc_encode_stats cmp = *want;
        cmp.signed_zeros = 0; /* not in the blob */
        CHECKF(memcmp(&cmp, &got, sizeof got) == 0,
               "%s: weight stats differ from the encoder's (blob %llu vs %llu, kept blocks %llu vs %llu)",
               name, (unsigned long long)got.blob_bytes, (unsigned long long)want->blob_bytes,
               (unsigned long long)got.kept_blocks, (unsigned long long)want->kept_blocks);
    }
    if (orig) {
        uint64_t rows = 0, cols = 0;
        lsc_error err;
        CHECKF(lsc_tensor_matrix_dims(orig, transposed, &rows, &cols, &err) == LSC_OK, "%s", err.message);
        CHECKF(rows == got.rows && cols == got.cols, "%s: matrix %llux%llu, blob %llux%llu", name,
               (unsigned long long)rows, (unsigned long long)cols, (unsigned long long)got.rows,
               (unsigned long long)got.cols);
    }
}

static void check_model(const char *tmpdir, const char *path, lsc_pool *pool)
{
    lsc_error err;
    lsc_model *plain = NULL, *packed = NULL;
    lsc_bundle *bundle = NULL;
    lsc_compress_report *report = NULL;
    CHECKF(lsc_model_open(path, &plain, &err) == LSC_OK, "%s", err.message);
    if (!plain)
        return;
    CHECK(!lsc_model_is_compressed(plain));
    size_t n_layers = lsc_model_layer_count(plain);
    CHECKF(n_layers > 0, "%s: no weights found", path);

    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char out[4096], bundle_path[4096];
    snprintf(out, sizeof out, "%s/%.*s.lsc.onnx", tmpdir, (int)(strlen(base) - 5), base);
    snprintf(bundle_path, sizeof bundle_path, "%s/%.*s.lsc", tmpdir, (int)(strlen(base) - 5), base);
    lsc_compress_options options;
    lsc_compress_options_default(&options);
    remove(out), remove(bundle_path);
    CHECKF(lsc_compress_file(path, out, NULL, &options, &report, &err) == LSC_OK, "%s", err.message);
    CHECKF(lsc_model_open(out, &packed, &err) == LSC_OK, "%s", err.message);
    CHECKF(lsc_bundle_open(bundle_path, &bundle, &err) == LSC_OK, "%s", err.message);
    if (!report || !packed || !bundle)
        goto done;
    CHECK(lsc_model_is_compressed(packed));
    CHECKF(lsc_model_layer_count(packed) == n_layers, "%s: %zu layers after compress, %zu before", path,
           lsc_model_layer_count(packed), n_layers);
    CHECK(report->bundle_bytes > 0 && report->model_bytes > 0);

    size_t encoded = 0;
    for (size_t i = 0; i < n_layers && i < lsc_model_layer_count(packed); i++) {
        lsc_model_layer layer, layer2;
        lsc_tensor orig, back;
        void *orig_buf = NULL, *back_buf = NULL;
        if (lsc_model_layer_get(plain, i, &layer, &err) != LSC_OK ||
            lsc_model_layer_get(packed, i, &layer2, &err) != LSC_OK) {
            CHECKF(0, "%s", err.message);
            continue;
        }
        CHECKF(strcmp(layer.name, layer2.name) == 0, "%s: layer %zu: '%s' vs '%s'", path, i, layer.name,
               layer2.name);
        CHECKF(lsc_model_layer_load(plain, i, &orig, &orig_buf, &err) == LSC_OK, "%s", err.message);
        CHECKF(lsc_model_layer_load(packed, i, &back, &back_buf, &err) == LSC_OK, "%s", err.message);
        if (orig_buf && back_buf)
            check_restored(layer.name, &orig, &back);
        const lsc_weight *w = lsc_model_layer_weight(packed, i);
        if (w) {
            encoded++;
            /* The bundle's table of contents finds the same weight by name. */
            size_t at = lsc_bundle_find(bundle, layer.name, strlen(layer.name));
            CHECKF(at != (size_t)-1, "%s: '%s' not in the bundle", path, layer.name);
            lsc_weight *again = NULL;
            if (at != (size_t)-1) {
                CHECKF(lsc_bundle_open_weight(bundle, at, &again, &err) == LSC_OK, "%s", err.message);
                lsc_weight_info a, b;
                lsc_weight_get_info(w, &a);
                if (again) {
                    lsc_weight_get_info(again, &b);
                    CHECK(a.nnz == b.nnz && a.rows == b.rows && a.cols == b.cols && a.blob_size == b.blob_size);
                }
                lsc_weight_close(&again);
                CHECK(again == NULL);
            }
            check_weight_stats(report, layer.name, w, orig_buf ? &orig : NULL, layer.transposed);
            if (orig_buf && orig.dtype == LSC_DTYPE_FLOAT32)
                check_multiply(layer.name, w, back.data, pool);
        }
        lsc_free(orig_buf);
        lsc_free(back_buf);
    }
    size_t reported = 0;
    for (size_t i = 0; i < report->n_layers; i++)
        reported += report->layers[i].outcome == LSC_LAYER_ENCODED;
    CHECKF(encoded == reported && encoded == lsc_bundle_count(bundle),
           "%s: %zu encoded layers, report says %zu, bundle holds %zu", path, encoded, reported,
           lsc_bundle_count(bundle));
    CHECKF(encoded > 0, "%s: nothing was encoded", path);
    printf("%s: %zu weights, %zu encoded, bundle %" PRIu64 " B\n", path, n_layers, encoded,
           report->bundle_bytes);
done:
    lsc_bundle_close(&bundle);
    lsc_model_close(&packed);
    lsc_model_close(&plain);
    lsc_compress_report_free(&report);
    CHECK(bundle == NULL && packed == NULL && plain == NULL && report == NULL);
}

/* Errors are values with one line naming the file. */
static void check_errors(const char *tmpdir)
{
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no-such-model.onnx", tmpdir);
    lsc_error err;
    lsc_model *m = NULL;
    CHECK(lsc_model_open(missing, &m, &err) == LSC_ERR_IO && m == NULL);
    CHECKF(strstr(err.message, "no-such-model.onnx") && !strchr(err.message, '\n'), "message: %s",
           err.message);
    CHECK(strcmp(lsc_status_string(LSC_ERR_CHECKSUM), lsc_status_string(LSC_ERR_IO)) != 0);
    CHECK(lsc_weight_open("not a blob", 10, "w", &(lsc_weight *){ NULL }, &err) != LSC_OK);
    CHECK(lsc_version_string()[0] >= '0' && lsc_version_string()[0] <= '9');
    /* a foreign multi-line message (ONNX Runtime's) becomes one line */
    CHECK(lsc_error_set(&err, LSC_ERR_BAD_MODEL, "ort: %s", "line 1\nline 2\r\x1b[0m") == LSC_ERR_BAD_MODEL);
    CHECKF(err.status == LSC_ERR_BAD_MODEL && strcmp(err.message, "ort: line 1?line 2??[0m") == 0,
           "message: %s", err.message);
    CHECK(lsc_error_set(NULL, LSC_ERR_IO, "x") == LSC_ERR_IO);
    /* one vocabulary for every report */
    CHECK(strcmp(lsc_dtype_string(LSC_DTYPE_FLOAT32), "float32") == 0);
    CHECK(strcmp(lsc_dtype_string(LSC_DTYPE_BFLOAT16), "bfloat16") == 0);
    CHECK(strcmp(lsc_dtype_string(3), "int8") == 0 && strcmp(lsc_dtype_string(8), "other") == 0);
    CHECK(strcmp(lsc_layer_outcome_string(LSC_LAYER_NOT_PAYING), "not-paying") == 0);
    CHECK(strcmp(lsc_layer_outcome_string((lsc_layer_outcome)99), "unknown") == 0);
    CHECK(lsc_onnx_type_size(LSC_DTYPE_FLOAT64) == 8 && lsc_onnx_type_size(9) == 1 &&
          lsc_onnx_type_size(15) == 16 && lsc_onnx_type_size(8) == 0);
    lsc_tensor t3 = {.dtype = LSC_DTYPE_FLOAT32, .rank = 3, .dims = {4, 5, 6}};
    uint64_t rows = 0, cols = 0;
    CHECK(lsc_tensor_matrix_dims(&t3, 0, &rows, &cols, &err) == LSC_OK && rows == 4 && cols == 30);
    CHECK(lsc_tensor_matrix_dims(&t3, 1, &rows, &cols, &err) == LSC_OK && rows == 30 && cols == 4);
    t3.dims[1] = 0;
    CHECK(lsc_tensor_matrix_dims(&t3, 0, &rows, &cols, &err) == LSC_ERR_UNSUPPORTED);
    lsc_model_close(NULL); /* NULL is fine everywhere a close takes it */
    lsc_bundle_close(NULL);
    lsc_free(NULL);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: test-public-api TMPDIR MODEL.onnx...\n", stderr);
        return 2;
    }
    lsc_error err;
    lsc_pool *pool = NULL;
    CHECKF(lsc_pool_create(2, &pool, &err) == LSC_OK, "%s", err.message);
    check_errors(argv[1]);
    for (int i = 2; i < argc; i++)
        check_model(argv[1], argv[i], pool);
    lsc_pool_free(&pool);
    return check_exit();
}
