"""onnx_lsc: compress pruned ONNX models with Layerwise Sparse Coding, from Python.

    import onnx_lsc, onnxruntime as ort
    result = onnx_lsc.compress("model.onnx")      # -> model.lsc.onnx + model.lsc
    print(result.report["totals"]["ratio"])
    so = ort.SessionOptions()
    so.register_custom_ops_library(onnx_lsc.get_library_path())
    session = ort.InferenceSession(result.model, so)

`model` arguments are a path or an onnx.ModelProto. Failures raise LscError (status
code + one-line message); the library prints nothing.
"""
import json
import os
import tempfile
from typing import NamedTuple

from . import _lsc
from ._error import LscError

__all__ = ["compress", "decompress", "stats", "seal", "check_seal", "get_library_path", "CompressResult",
           "LscError"]
__version__ = _lsc.version()

_INVALID_ARGUMENT = 1
_IO = 3
_HERE = os.path.dirname(os.path.abspath(__file__))


class CompressResult(NamedTuple):
    model: str    # the rewritten model
    bundle: str   # its .lsc bundle, beside it
    report: dict  # per-layer report: the document `onnx-lsc compress --json` prints


def get_library_path():
    """Path of the ONNX Runtime custom-op library (LscConv, LscGemm, LscMatMul), for
    SessionOptions.register_custom_ops_library. It depends on the C library only."""
    return os.path.join(_HERE, "libonnx_lsc_ort.so")


def _fail(status, message):
    return LscError(status, _lsc.status_string(status), message)


def _is_proto(model):
    return hasattr(model, "SerializeToString") and not isinstance(model, (str, bytes, os.PathLike))


class _ModelFile:
    """A path for `model`: the path itself, or a ModelProto written to a temporary
    file (in base_dir when given, so its external data resolves) and removed after."""

    def __init__(self, model, base_dir):
        self.temp = None
        if not _is_proto(model):
            if not isinstance(model, (str, bytes, os.PathLike)):
                raise TypeError("model must be a path or an onnx.ModelProto, not %s" % type(model).__name__)
            self.path = os.fsdecode(model)
            return
        data = model.SerializeToString()  # protobuf refuses > 2 GiB: pass a path then
        try:
            fd, self.temp = tempfile.mkstemp(prefix=".onnx_lsc-", suffix=".onnx", dir=base_dir)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except OSError as e:
            if self.temp:
                os.unlink(self.temp)
            raise _fail(_IO, "%s: cannot write the ModelProto to a temporary file: %s"
                        % (base_dir or tempfile.gettempdir(), e.strerror or e)) from None
        self.path = self.temp

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if self.temp:
            os.unlink(self.temp)
        if isinstance(error, LscError) and self.temp:  # name the model as the caller knows it
            error.message = error.message.replace(self.temp, "<ModelProto>")
            error.args = (error.status, error.status_name, error.message)
        return False


def _stem(path, suffixes):
    for s in suffixes:
        if path.endswith(s) and len(path) > len(s):
            return path[: -len(s)]
    return path


def _check_output(path, force):
    """The command's overwrite rule (docs/cli.md "Overwriting"): an existing output is
    replaced only with force=True (through a temporary file renamed when complete)."""
    if not force and os.path.lexists(path):
        raise _fail(_INVALID_ARGUMENT, "%s exists: give force=True to replace it" % path)


def compress(model, output=None, *, bundle=None, entropy=False, bit_exact=False, jobs=0, base_dir=None,
             force=False):
    """Compresses `model` (a path or an onnx.ModelProto) into `output` (default: the
    input path with .onnx -> .lsc.onnx; required for a ModelProto) and its bundle
    (default: output with .lsc.onnx -> .lsc). bit_exact keeps -0.0 signs (the file
    then round-trips byte for byte); jobs: encoder threads, 0 = all cores (the output
    is the same for any value). base_dir: where a ModelProto's external data lives.
    An existing output or bundle is replaced only with force=True.
    Returns CompressResult(model, bundle, report)."""
    if output is None:
        if _is_proto(model):
            raise _fail(_INVALID_ARGUMENT, "compress: a ModelProto needs output=PATH")
        output = _stem(os.fsdecode(model), (".onnx",)) + ".lsc.onnx"
    output = os.fsdecode(output)
    bundle = os.fsdecode(bundle) if bundle is not None else _stem(output, (".lsc.onnx", ".onnx")) + ".lsc"
    _check_output(output, force)
    _check_output(bundle, force)
    with _ModelFile(model, base_dir) as m:
        report = json.loads(_lsc.compress(m.path, output, bundle, bool(bit_exact), bool(entropy), int(jobs)))
    return CompressResult(output, bundle, report)


def decompress(model, output=None, *, base_dir=None, force=False):
    """Restores the original model from a compressed one (a path, or an onnx.ModelProto
    whose bundle is in base_dir) into `output` (default: the input path with .lsc.onnx
    -> .onnx; required for a ModelProto), replaced if it exists only with force=True.
    Every non-zero weight comes back bit for bit. Returns the path written."""
    if output is None:
        path = None if _is_proto(model) else os.fsdecode(model)
        if path is None or not path.endswith(".lsc.onnx"):
            raise _fail(_INVALID_ARGUMENT, "decompress: %s does not end in .lsc.onnx: give output=PATH"
                        % ("a ModelProto" if path is None else "'%s'" % path))
        output = _stem(path, (".lsc.onnx",)) + ".onnx"
    output = os.fsdecode(output)
    _check_output(output, force)
    with _ModelFile(model, base_dir) as m:
        _lsc.decompress(m.path, output)
    return output


def stats(model, *, measure_files=False, jobs=0, base_dir=None):
    """Where the bytes of `model` go, per weight and in total, for LSC and the classic
    sparse formats: the document `onnx-lsc stats --json` prints (docs/stats-schema.md)
    as a dict. measure_files compresses into a temporary folder to measure the file
    ratio (plain models); jobs: its threads."""
    with _ModelFile(model, base_dir) as m:
        report = json.loads(_lsc.stats(m.path, bool(measure_files), int(jobs)))
    if m.temp:
        report["model"] = "<ModelProto>"
    return report


def check_seal(model):
    """Whether the compressed model file at `model` is still byte for byte the one its
    bundle was sealed with (docs/format.md 2.4): "intact", "modified" (the graph was
    edited since compression), "not-sealed" (a bundle from before seals) or
    "not-compressed"."""
    return _lsc.check_seal(os.fsdecode(model))


def seal(model):
    """Accepts a deliberate edit of the compressed model file at `model`: records its
    current digest in its bundle (rewritten to a temporary file, renamed when complete).
    The encoded weights must still resolve to the bundle and validate."""
    _lsc.seal(os.fsdecode(model))
