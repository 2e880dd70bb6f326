/* ONNX Runtime loaded with dlopen: the runtime, sessions with the LSC plugin, runs on
 * tensors held in memory. See ort_runner.h. */
#include "ort_runner.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <onnxruntime_c_api.h>

#define ORTRUN_MIN_API 17

struct ortrun_runtime {
    void *handle;
    const OrtApi *api;
    uint32_t api_version;
    const char *version;
    OrtEnv *env;
    OrtMemoryInfo *cpu;
    char path[PATH_MAX];
};

struct ortrun_session {
    ortrun_runtime *rt;
    OrtSession *session;
    size_t n_inputs, n_outputs;
    ortrun_desc *inputs, *outputs;
    const char **input_names, **output_names;
};

/* An ORT failure as ours (ORT's messages may span lines: lsc_error_set makes them
 * one); releases the status. */
static lsc_status fail_ort(const OrtApi *api, OrtStatus *s, lsc_error *error, const char *what)
{
    lsc_status st = lsc_error_set(error, LSC_ERR_BAD_MODEL, "%s: %s", what, api->GetErrorMessage(s));
    api->ReleaseStatus(s);
    return st;
}

size_t ortrun_elem_size(int type)
{
    switch (type) {
    case ORTRUN_FLOAT: case ORTRUN_INT32: return 4;
    case ORTRUN_UINT8: case ORTRUN_INT8: case ORTRUN_BOOL: return 1;
    case ORTRUN_INT64: case ORTRUN_DOUBLE: return 8;
    default: return 0;
    }
}

size_t ortrun_count(int rank, const int64_t *dims)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0 || __builtin_mul_overflow(n, (size_t)dims[i], &n))
            return 0;
    return n;
}

/* ------------------------------------------------------------------------ */
/* Runtime                                                                   */
/* ------------------------------------------------------------------------ */

#ifndef LSC_ORT_DEFAULT_LIB
#define LSC_ORT_DEFAULT_LIB ""
#endif

static lsc_status open_lib(const char *path, ortrun_runtime *rt, lsc_error *error)
{
    rt->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!rt->handle)
        return lsc_error_set(error, LSC_ERR_IO, "cannot load ONNX Runtime: %s", dlerror());
    snprintf(rt->path, sizeof rt->path, "%s", path);
    return LSC_OK;
}

lsc_status ortrun_load(const char *lib_path, ortrun_runtime **out, lsc_error *error)
{
    *out = NULL;
    ortrun_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
    lsc_status st;
    const char *env = getenv("ONNX_LSC_ORT_LIB");
    if (lib_path && *lib_path) {
        st = open_lib(lib_path, rt, error);
    } else if (env && *env) {
        st = open_lib(env, rt, error);
    } else {
        /* The build's own copy (third_party/ort or pkg-config), then the system's. */
        const char *candidates[] = { LSC_ORT_DEFAULT_LIB, "libonnxruntime.so.1", "libonnxruntime.so" };
        st = LSC_ERR_IO;
        for (size_t i = 0; st != LSC_OK && i < sizeof candidates / sizeof *candidates; i++)
            if (*candidates[i])
                st = open_lib(candidates[i], rt, error);
        if (st != LSC_OK)
            lsc_error_set(error, st, "cannot find ONNX Runtime (libonnxruntime.so.1): pass --ort-lib PATH or set "
                 "ONNX_LSC_ORT_LIB (scripts/setup-ort.sh fetches one)");
    }
    if (st != LSC_OK) {
        free(rt);
        return st;
    }

    const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(rt->handle, "OrtGetApiBase");
    const OrtApiBase *base = get_base ? get_base() : NULL;
    if (!base) {
        st = lsc_error_set(error, LSC_ERR_UNSUPPORTED, "%s: no OrtGetApiBase, not an ONNX Runtime library", rt->path);
        goto failed;
    }
    rt->version = base->GetVersionString();
    /* ORT 1.x serves API versions 1..x: ask for the highest this header knows too. */
    uint32_t want = ORT_API_VERSION;
    unsigned major = 0, minor = 0;
    if (sscanf(rt->version, "%u.%u", &major, &minor) == 2 && major == 1 && minor < want)
        want = minor;
    for (uint32_t v = want; v >= ORTRUN_MIN_API && !rt->api; v--)
        if ((rt->api = base->GetApi(v)))
            rt->api_version = v;
    if (!rt->api) {
        st = lsc_error_set(error, LSC_ERR_UNSUPPORTED, "ONNX Runtime %s at %s is too old (API %d or later needed)",
                  rt->version, rt->path, ORTRUN_MIN_API);
        goto failed;
    }
    OrtStatus *s = rt->api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "onnx-lsc", &rt->env);
    if (!s)
        s = rt->api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &rt->cpu);
    if (s) {
        st = fail_ort(rt->api, s, error, "ONNX Runtime environment");
        goto failed;
    }
    *out = rt;
    return LSC_OK;
failed:
    ortrun_unload(&rt);
    return st;
}

void ortrun_unload(ortrun_runtime **rtp)
{
    ortrun_runtime *rt = *rtp;
    if (!rt)
        return;
    if (rt->api) {
        if (rt->cpu)
            rt->api->ReleaseMemoryInfo(rt->cpu);
        if (rt->env)
            rt->api->ReleaseEnv(rt->env);
    }
    /* The library stays loaded: ORT keeps process-wide state that does not survive
     * an unload and reload. */
    free(rt);
    *rtp = NULL;
}

const char *ortrun_version(const ortrun_runtime *rt) { return rt->version; }
uint32_t ortrun_api_version(const ortrun_runtime *rt) { return rt->api_version; }
const char *ortrun_lib_path(const ortrun_runtime *rt) { return rt->path; }

/* ------------------------------------------------------------------------ */
/* Sessions                                                                  */
/* ------------------------------------------------------------------------ */

static lsc_status describe(const OrtApi *api, OrtTypeInfo *ti, ortrun_desc *d, lsc_error *error)
{
    const OrtTensorTypeAndShapeInfo *tt = NULL;
    enum ONNXType kind = ONNX_TYPE_UNKNOWN;
    OrtStatus *s = api->GetOnnxTypeFromTypeInfo(ti, &kind);
    if (!s && kind != ONNX_TYPE_TENSOR)
        return lsc_error_set(error, LSC_ERR_UNSUPPORTED, "'%s' is not a tensor (ONNX type %d)", d->name, (int)kind);
    if (!s)
        s = api->CastTypeInfoToTensorInfo(ti, &tt);
    ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    size_t rank = 0;
    if (!s)
        s = api->GetTensorElementType(tt, &type);
    if (!s)
        s = api->GetDimensionsCount(tt, &rank);
    if (!s && rank > LSC_MAX_RANK)
        return lsc_error_set(error, LSC_ERR_UNSUPPORTED, "'%s' has rank %zu", d->name, rank);
    const char *names[LSC_MAX_RANK] = { 0 };
    if (!s)
        s = api->GetDimensions(tt, d->dims, rank);
    if (!s)
        s = api->GetSymbolicDimensions(tt, names, rank);
    if (s)
        return fail_ort(api, s, error, d->name);
    d->type = (int)type;
    d->rank = (int)rank;
    for (size_t i = 0; i < rank; i++)
        snprintf(d->dim_names[i], sizeof d->dim_names[i], "%s", names[i] ? names[i] : "");
    return LSC_OK;
}

static lsc_status describe_all(ortrun_session *se, int outputs, lsc_error *error)
{
    const OrtApi *api = se->rt->api;
    OrtAllocator *alloc = NULL;
    size_t n = 0;
    OrtStatus *s = api->GetAllocatorWithDefaultOptions(&alloc);
    if (!s)
        s = outputs ? api->SessionGetOutputCount(se->session, &n) : api->SessionGetInputCount(se->session, &n);
    if (s)
        return fail_ort(api, s, error, "session");
    ortrun_desc *d = calloc(n ? n : 1, sizeof *d);
    const char **names = calloc(n ? n : 1, sizeof *names);
    if (outputs) {
        se->outputs = d, se->output_names = names, se->n_outputs = n;
    } else {
        se->inputs = d, se->input_names = names, se->n_inputs = n;
    }
    if (!d || !names)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char *name = NULL;
        OrtTypeInfo *ti = NULL;
        s = outputs ? api->SessionGetOutputName(se->session, i, alloc, &name)
                    : api->SessionGetInputName(se->session, i, alloc, &name);
        if (!s)
            s = outputs ? api->SessionGetOutputTypeInfo(se->session, i, &ti)
                        : api->SessionGetInputTypeInfo(se->session, i, &ti);
        if (s)
            return fail_ort(api, s, error, "session");
        snprintf(d[i].name, sizeof d[i].name, "%s", name);
        names[i] = d[i].name;
        OrtStatus *freed = api->AllocatorFree(alloc, name);
        if (freed)
            api->ReleaseStatus(freed);
        lsc_status st = describe(api, ti, &d[i], error);
        api->ReleaseTypeInfo(ti);
        if (st != LSC_OK)
            return st;
    }
    return LSC_OK;
}

lsc_status ortrun_session_create(ortrun_runtime *rt, const char *model, const ortrun_options *options,
                                 ortrun_session **out, lsc_error *error)
{
    const OrtApi *api = rt->api;
    *out = NULL;
    ortrun_session *se = calloc(1, sizeof *se);
    if (!se)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
    se->rt = rt;
    OrtSessionOptions *so = NULL;
    OrtStatus *s = api->CreateSessionOptions(&so);
    if (!s && options->intra_threads > 0)
        s = api->SetIntraOpNumThreads(so, options->intra_threads);
    if (!s)
        s = api->SetInterOpNumThreads(so, 1);
    if (!s)
        s = api->SetSessionGraphOptimizationLevel(so, options->disable_optimizations ? ORT_DISABLE_ALL
                                                                                     : ORT_ENABLE_ALL);
    if (!s && options->profile_prefix)
        s = api->EnableProfiling(so, options->profile_prefix);
    lsc_status st = LSC_OK;
    if (s) {
        st = fail_ort(api, s, error, "session options");
    } else if (options->plugin && (s = api->RegisterCustomOpsLibrary_V2(so, options->plugin))) {
        st = fail_ort(api, s, error, "registering the LSC custom-op library");
    } else if ((s = api->CreateSession(rt->env, model, so, &se->session))) {
        st = lsc_error_set(error, LSC_ERR_BAD_MODEL, "%s: ONNX Runtime cannot create a session: %s", model,
                  api->GetErrorMessage(s));
        api->ReleaseStatus(s);
    }
    if (so)
        api->ReleaseSessionOptions(so);
    if (st == LSC_OK)
        st = describe_all(se, 0, error);
    if (st == LSC_OK)
        st = describe_all(se, 1, error);
    if (st != LSC_OK) {
        ortrun_session_free(&se);
        return st;
    }
    *out = se;
    return LSC_OK;
}

void ortrun_session_free(ortrun_session **sp)
{
    ortrun_session *se = *sp;
    if (!se)
        return;
    if (se->session)
        se->rt->api->ReleaseSession(se->session);
    free(se->inputs);
    free(se->outputs);
    free(se->input_names);
    free(se->output_names);
    free(se);
    *sp = NULL;
}

size_t ortrun_input_count(const ortrun_session *s) { return s->n_inputs; }
size_t ortrun_output_count(const ortrun_session *s) { return s->n_outputs; }
const ortrun_desc *ortrun_input(const ortrun_session *s, size_t i) { return &s->inputs[i]; }
const ortrun_desc *ortrun_output(const ortrun_session *s, size_t i) { return &s->outputs[i]; }

/* ------------------------------------------------------------------------ */
/* Runs                                                                      */
/* ------------------------------------------------------------------------ */

void ortrun_tensors_free(ortrun_tensor *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++) {
        free(t[i].data);
        t[i].data = NULL;
    }
}

/* Copies an output value into a tensor of our own. */
static lsc_status take_output(const OrtApi *api, OrtValue *v, const char *name, ortrun_tensor *t,
                              lsc_error *error)
{
    OrtTensorTypeAndShapeInfo *info = NULL;
    ONNXTensorElementDataType type;
    size_t rank = 0;
    void *data = NULL;
    OrtStatus *s = api->GetTensorTypeAndShape(v, &info);
    if (!s)
        s = api->GetTensorElementType(info, &type);
    if (!s)
        s = api->GetDimensionsCount(info, &rank);
    if (!s && rank <= LSC_MAX_RANK)
        s = api->GetDimensions(info, t->dims, rank);
    if (info)
        api->ReleaseTensorTypeAndShapeInfo(info);
    if (!s)
        s = api->GetTensorMutableData(v, &data);
    if (s)
        return fail_ort(api, s, error, name);
    if (rank > LSC_MAX_RANK || !ortrun_elem_size((int)type))
        return lsc_error_set(error, LSC_ERR_UNSUPPORTED, "output '%s': element type %d or rank %zu not handled",
                    name, (int)type, rank);
    t->type = (int)type;
    t->rank = (int)rank;
    t->bytes = ortrun_count(t->rank, t->dims) * ortrun_elem_size(t->type);
    t->data = malloc(t->bytes ? t->bytes : 1);
    if (!t->data)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory for output '%s'", name);
    if (t->bytes)
        memcpy(t->data, data, t->bytes);
    return LSC_OK;
}

lsc_status ortrun_run(ortrun_session *se, const ortrun_tensor *inputs, ortrun_tensor *outputs,
                      lsc_error *error)
{
    const OrtApi *api = se->rt->api;
    lsc_status st = LSC_OK;
    OrtValue **in = calloc(se->n_inputs + 1, sizeof *in);
    OrtValue **out = calloc(se->n_outputs + 1, sizeof *out);
    if (!in || !out) {
        st = lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < se->n_outputs; i++)
        outputs[i].data = NULL;
    for (size_t i = 0; i < se->n_inputs; i++) {
        const ortrun_tensor *t = &inputs[i];
        OrtStatus *s = api->CreateTensorWithDataAsOrtValue(se->rt->cpu, t->data, t->bytes, t->dims,
                                                           (size_t)t->rank,
                                                           (ONNXTensorElementDataType)t->type, &in[i]);
        if (s) {
            st = fail_ort(api, s, error, se->inputs[i].name);
            goto done;
        }
    }
    OrtStatus *s = api->Run(se->session, NULL, se->input_names, (const OrtValue *const *)in, se->n_inputs,
                            se->output_names, se->n_outputs, out);
    if (s) {
        st = lsc_error_set(error, LSC_ERR_BAD_MODEL, "ONNX Runtime run failed: %s", api->GetErrorMessage(s));
        api->ReleaseStatus(s);
        goto done;
    }
    for (size_t i = 0; st == LSC_OK && i < se->n_outputs; i++)
        st = take_output(api, out[i], se->outputs[i].name, &outputs[i], error);
    if (st != LSC_OK)
        ortrun_tensors_free(outputs, se->n_outputs);
done:
    for (size_t i = 0; in && i < se->n_inputs; i++)
        if (in[i])
            api->ReleaseValue(in[i]);
    for (size_t i = 0; out && i < se->n_outputs; i++)
        if (out[i])
            api->ReleaseValue(out[i]);
    free(in);
    free(out);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Paths and memory                                                          */
/* ------------------------------------------------------------------------ */

#ifndef LSC_ORT_PLUGIN_INSTALLED
#define LSC_ORT_PLUGIN_INSTALLED ""
#endif

const char *ortrun_default_plugin(char *buf, size_t size)
{
    const char *env = getenv("ONNX_LSC_ORT_PLUGIN");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        const char *rel[] = { "/../ort/libonnx_lsc_ort.so", "/../../src/ort/libonnx_lsc_ort.so" };
        for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
            snprintf(buf, size, "%s%s", exe, rel[i]);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    if (*LSC_ORT_PLUGIN_INSTALLED && access(LSC_ORT_PLUGIN_INSTALLED, R_OK) == 0)
        return LSC_ORT_PLUGIN_INSTALLED;
    return "libonnx_lsc_ort.so";
}

/* ------------------------------------------------------------------------ */
/* Inputs                                                                    */
/* ------------------------------------------------------------------------ */

void ortrun_resolve_dims(const ortrun_desc *d, size_t n_named, char *const *names, const int64_t *values,
                         int64_t fallback, int64_t dims[LSC_MAX_RANK])
{
    for (int i = 0; i < d->rank; i++) {
        dims[i] = d->dims[i];
        if (dims[i] >= 0)
            continue;
        dims[i] = fallback;
        for (size_t j = 0; j < n_named; j++)
            if (d->dim_names[i][0] && !strcmp(d->dim_names[i], names[j]))
                dims[i] = values[j];
    }
}

/* splitmix64: a fixed sequence for a seed, the same on every machine. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

lsc_status ortrun_random_tensor(const ortrun_desc *d, const int64_t *dims, uint64_t seed, ortrun_tensor *t,
                                lsc_error *error)
{
    size_t size = ortrun_elem_size(d->type);
    if (!size)
        return lsc_error_set(error, LSC_ERR_UNSUPPORTED, "input '%s': element type %d is not handled", d->name, d->type);
    t->type = d->type;
    t->rank = d->rank;
    for (int i = 0; i < d->rank; i++)
        t->dims[i] = dims[i];
    size_t n = ortrun_count(d->rank, dims);
    for (int i = 0; i < d->rank; i++)
        if (dims[i] < 0)
            return lsc_error_set(error, LSC_ERR_INVALID_ARGUMENT, "input '%s': negative dim", d->name);
    if (n > SIZE_MAX / size || n * size > ((size_t)1 << 34))
        return lsc_error_set(error, LSC_ERR_TOO_LARGE, "input '%s' is too large", d->name);
    t->bytes = n * size;
    t->data = malloc(t->bytes ? t->bytes : 1);
    if (!t->data)
        return lsc_error_set(error, LSC_ERR_NO_MEMORY, "out of memory for input '%s'", d->name);
    uint64_t state = seed;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_random(&state);
        double u = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
        switch (d->type) {
        case ORTRUN_FLOAT: ((float *)t->data)[i] = (float)(2.0 * u - 1.0); break;
        case ORTRUN_DOUBLE: ((double *)t->data)[i] = 2.0 * u - 1.0; break;
        case ORTRUN_INT32: ((int32_t *)t->data)[i] = (int32_t)(r % 10); break;
        case ORTRUN_INT64: ((int64_t *)t->data)[i] = (int64_t)(r % 10); break;
        case ORTRUN_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)(r % 10); break;
        case ORTRUN_INT8: ((int8_t *)t->data)[i] = (int8_t)(r % 10); break;
        case ORTRUN_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(r & 1); break;
        }
    }
    return LSC_OK;
}
