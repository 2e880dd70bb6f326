/* onnx_lsc._lsc: the C extension under the onnx_lsc package (python/onnx_lsc). It calls
 * libonnx-lsc (linked in statically) directly; the reports it returns come from the
 * same writers as `onnx-lsc compress --json` and `onnx-lsc stats --json`, into memory,
 * so their schema is the CLI's by construction. Nothing is printed: failures raise
 * onnx_lsc.LscError(status, status_name, message). Built on the stable ABI (abi3), so
 * one build imports on every CPython >= 3.11. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>

#include "onnx-lsc/lsc.h"
#include "compress_report.h"
#include "stats_writers.h"

static PyObject *lsc_error_class; /* onnx_lsc._error.LscError */

static PyObject *raise_lsc(lsc_status status, const lsc_error *error)
{
    const char *message = error && error->message[0] ? error->message : lsc_status_string(status);
    PyObject *e = PyObject_CallFunction(lsc_error_class, "isO&", (int)status, lsc_status_string(status),
                                        PyUnicode_DecodeFSDefault, message);
    if (e) {
        PyErr_SetObject(lsc_error_class, e);
        Py_DECREF(e);
    }
    return NULL;
}

/* A report writer's output, captured in memory and handed back as str. */
typedef struct memory_out {
    FILE *f;
    char *text;
    size_t size;
} memory_out;

static int memory_open(memory_out *m)
{
    m->text = NULL;
    m->size = 0;
    m->f = open_memstream(&m->text, &m->size);
    if (!m->f)
        raise_lsc(LSC_ERR_NO_MEMORY, NULL);
    return m->f != NULL;
}

static PyObject *memory_close(memory_out *m, int wrote)
{
    int ok = fclose(m->f) == 0 && wrote == 0;
    PyObject *s = ok ? PyUnicode_DecodeUTF8(m->text, (Py_ssize_t)m->size, "surrogateescape")
                     : raise_lsc(LSC_ERR_NO_MEMORY, NULL);
    free(m->text);
    return s;
}

/* compress(in_path, out_path, bundle_path, bit_exact, entropy, threads) -> report JSON (str) */
static PyObject *py_compress(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *in = NULL, *out = NULL, *bundle = NULL;
    int bit_exact = 0, entropy = 0;
    unsigned int threads = 0;
    /* (PyUnicode_FSConverter releases what it converted when a later argument fails) */
    if (!PyArg_ParseTuple(args, "O&O&O&ppI", PyUnicode_FSConverter, &in, PyUnicode_FSConverter, &out,
                          PyUnicode_FSConverter, &bundle, &bit_exact, &entropy, &threads))
        return NULL;
    const char *in_path = PyBytes_AsString(in), *out_path = PyBytes_AsString(out);
    const char *bundle_path = PyBytes_AsString(bundle);
    lsc_compress_options options;
    lsc_compress_options_default(&options);
    options.bit_exact = bit_exact;
    options.entropy = (uint8_t)entropy;
    options.threads = threads;
    lsc_compress_report *report = NULL;
    lsc_error error = { 0 };
    lsc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = lsc_compress_file(in_path, out_path, bundle_path, &options, &report, &error);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    memory_out m;
    if (st != LSC_OK) {
        raise_lsc(st, &error);
    } else if (memory_open(&m)) {
        lsc_cli_print_json(m.f, report, out_path, bundle_path);
        result = memory_close(&m, ferror(m.f) ? -1 : 0);
    }
    lsc_compress_report_free(&report);
    Py_DECREF(in);
    Py_DECREF(out);
    Py_DECREF(bundle);
    return result;
}

/* decompress(in_path, out_path) -> None */
static PyObject *py_decompress(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *in = NULL, *out = NULL;
    if (!PyArg_ParseTuple(args, "O&O&", PyUnicode_FSConverter, &in, PyUnicode_FSConverter, &out))
        return NULL;
    const char *in_path = PyBytes_AsString(in), *out_path = PyBytes_AsString(out);
    lsc_error error = { 0 };
    lsc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = lsc_decompress_file_opts(in_path, out_path, NULL, &error);
    Py_END_ALLOW_THREADS
    Py_DECREF(in);
    Py_DECREF(out);
    if (st != LSC_OK)
        return raise_lsc(st, &error);
    Py_RETURN_NONE;
}

/* seal(path): re-seal a compressed model after a deliberate edit. */
static PyObject *py_seal(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *path = NULL;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path))
        return NULL;
    const char *p = PyBytes_AsString(path);
    lsc_error error = { 0 };
    lsc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = lsc_seal_file(p, &error);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != LSC_OK)
        return raise_lsc(st, &error);
    Py_RETURN_NONE;
}

/* check_seal(path) -> "intact", "modified", "not-sealed" or "not-compressed" */
static PyObject *py_check_seal(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *path = NULL;
    if (!PyArg_ParseTuple(args, "O&", PyUnicode_FSConverter, &path))
        return NULL;
    const char *p = PyBytes_AsString(path);
    lsc_error error = { 0 };
    lsc_seal_state state = LSC_SEAL_NOT_COMPRESSED;
    lsc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = lsc_check_seal_file(p, &state, &error);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (st != LSC_OK)
        return raise_lsc(st, &error);
    return PyUnicode_FromString(lsc_seal_state_string(state));
}

/* stats(path, measure_files, threads) -> stats JSON (str), docs/stats-schema.md */
static PyObject *py_stats(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *path = NULL;
    int measure = 0;
    unsigned int threads = 0;
    if (!PyArg_ParseTuple(args, "O&pI", PyUnicode_FSConverter, &path, &measure, &threads))
        return NULL;
    stats_options options = { .measure_files = measure, .threads = threads };
    stats_report report;
    lsc_error error = { 0 };
    lsc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = stats_collect(PyBytes_AsString(path), &options, &report, &error);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    memory_out m;
    if (st != LSC_OK) {
        raise_lsc(st, &error);
    } else {
        if (memory_open(&m))
            result = memory_close(&m, stats_write_json(m.f, &report));
        stats_report_free(&report);
    }
    Py_DECREF(path);
    return result;
}

static PyObject *py_status_string(PyObject *self, PyObject *args)
{
    (void)self;
    int status;
    if (!PyArg_ParseTuple(args, "i", &status))
        return NULL;
    return PyUnicode_FromString(lsc_status_string((lsc_status)status));
}

static PyObject *py_version(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyUnicode_FromString(lsc_version_string());
}

static PyMethodDef lsc_methods[] = {
    { "compress", py_compress, METH_VARARGS, "compress(in, out, bundle, bit_exact, entropy, threads) -> JSON" },
    { "decompress", py_decompress, METH_VARARGS, "decompress(in, out)" },
    { "stats", py_stats, METH_VARARGS, "stats(path, measure_files, threads) -> JSON" },
    { "seal", py_seal, METH_VARARGS, "seal(path)" },
    { "check_seal", py_check_seal, METH_VARARGS, "check_seal(path) -> str" },
    { "status_string", py_status_string, METH_VARARGS, "status_string(status) -> str" },
    { "version", py_version, METH_NOARGS, "version() -> str" },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef lsc_module = {
    PyModuleDef_HEAD_INIT, "_lsc", "libonnx-lsc, for the onnx_lsc package", -1, lsc_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__lsc(void);
PyMODINIT_FUNC PyInit__lsc(void)
{
    PyObject *errors = PyImport_ImportModule("onnx_lsc._error");
    if (!errors)
        return NULL;
    lsc_error_class = PyObject_GetAttrString(errors, "LscError");
    Py_DECREF(errors);
    if (!lsc_error_class)
        return NULL;
    return PyModule_Create(&lsc_module);
}
