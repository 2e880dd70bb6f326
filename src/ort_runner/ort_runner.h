/* Running ONNX models in an ONNX Runtime loaded at run time (dlopen), with the LSC
 * custom-op library registered: a host program's helper, compiled into `onnx-lsc
 * verify` and tests/ort's lsc-ort-run (which bench/bench_latency.py drives). It
 * uses lsc.h's error type only. */
#ifndef LSC_ORT_RUNNER_H
#define LSC_ORT_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "onnx-lsc/lsc.h"

typedef struct ortrun_runtime ortrun_runtime;
typedef struct ortrun_session ortrun_session;

/* Loads libonnxruntime (path, or NULL for the first of ortrun_default_lib_paths that
 * loads) and creates its environment. One runtime per process. */
lsc_status ortrun_load(const char *lib_path, ortrun_runtime **out, lsc_error *error);
void ortrun_unload(ortrun_runtime **rt);
/* "1.23.2", the API version in use, and the library path that was loaded. */
const char *ortrun_version(const ortrun_runtime *rt);
uint32_t ortrun_api_version(const ortrun_runtime *rt);
const char *ortrun_lib_path(const ortrun_runtime *rt);

typedef struct ortrun_options {
    int intra_threads;       /* 0: ORT's default; 1: no pool */
    const char *plugin;      /* custom-op library to register, NULL: none */
    int disable_optimizations; /* 1: ORT_DISABLE_ALL instead of ORT_ENABLE_ALL */
    const char *profile_prefix; /* non-NULL: ORT writes per-node timings to PREFIX_<date>.json */
} ortrun_options;

lsc_status ortrun_session_create(ortrun_runtime *rt, const char *model, const ortrun_options *options,
                                 ortrun_session **out, lsc_error *error);
void ortrun_session_free(ortrun_session **session);

/* ONNX TensorProto.DataType codes (the subset the tools feed and read). */
enum { ORTRUN_FLOAT = 1, ORTRUN_UINT8 = 2, ORTRUN_INT8 = 3, ORTRUN_INT32 = 6, ORTRUN_INT64 = 7,
       ORTRUN_BOOL = 9, ORTRUN_DOUBLE = 11 };
size_t ortrun_elem_size(int type); /* 0 for other types */

/* A graph input or output: dims -1 where symbolic (dim_names[i] then names it, "" if
 * unnamed). */
typedef struct ortrun_desc {
    char name[256];
    int type;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    char dim_names[LSC_MAX_RANK][64];
} ortrun_desc;

size_t ortrun_input_count(const ortrun_session *s);
size_t ortrun_output_count(const ortrun_session *s);
const ortrun_desc *ortrun_input(const ortrun_session *s, size_t i);
const ortrun_desc *ortrun_output(const ortrun_session *s, size_t i);

/* A tensor in memory. Outputs come back in buffers the caller frees with
 * ortrun_tensors_free. */
typedef struct ortrun_tensor {
    int type;
    int rank;
    int64_t dims[LSC_MAX_RANK];
    void *data;
    size_t bytes;
} ortrun_tensor;

/* Runs with one tensor per graph input (in ortrun_input order); fills one tensor per
 * output (in ortrun_output order) into outputs[ortrun_output_count]. */
lsc_status ortrun_run(ortrun_session *s, const ortrun_tensor *inputs, ortrun_tensor *outputs,
                      lsc_error *error);
void ortrun_tensors_free(ortrun_tensor *tensors, size_t n);

/* An input's dims: a symbolic dim takes the value given for its name (names[i] =
 * values[i], n_named pairs), else `fallback`. */
void ortrun_resolve_dims(const ortrun_desc *d, size_t n_named, char *const *names, const int64_t *values,
                         int64_t fallback, int64_t dims[LSC_MAX_RANK]);

/* Allocates t (free with ortrun_tensors_free) with d's type and these dims, filled with
 * deterministic pseudo-random values from `seed`: floats uniform in [-1, 1), integers
 * in [0, 10), bools 0/1. */
lsc_status ortrun_random_tensor(const ortrun_desc *d, const int64_t *dims, uint64_t seed, ortrun_tensor *t,
                                lsc_error *error);

/* Element count of dims (0 on overflow or negative dims). */
size_t ortrun_count(int rank, const int64_t *dims);

/* The plugin beside the running executable in a build tree (src/ort/ from src/cli/
 * or tests/ort/), else the installed one, else the bare name for dlopen's search. */
const char *ortrun_default_plugin(char *buf, size_t size);

#endif /* LSC_ORT_RUNNER_H */
