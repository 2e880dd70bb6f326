"""Running the onnx-lsc command from the Python tests (tests/bad, tests/cli): one
subprocess wrapper, the one-error-line rule, file digests and folder listings."""
import hashlib
import os
import resource
import signal
import subprocess


def run(tool, args, limit_fsize=None):
    """Runs `tool args...`, capturing text output (undecodable bytes replaced).
    limit_fsize: a "disk full" at that many bytes (writes past it fail with EFBIG)."""
    def child():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
    return subprocess.run([tool, *args], capture_output=True, text=True, errors="replace",
                          preexec_fn=child if limit_fsize is not None else None)


def error_output_problem(r):
    """None when a failed run's stderr is one 'onnx-lsc: ' line, else what is wrong."""
    lines = r.stderr.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith("onnx-lsc: "):
        return f"error output is not one 'onnx-lsc: ' line: {r.stderr!r}"
    return None


def digest(path):
    if os.path.isdir(path):
        return "dir"
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listing(folder):
    """The names directly in folder, sorted."""
    return sorted(os.listdir(folder))


def tree(folder):
    """Every path under folder, relative to it, sorted."""
    out = []
    for base, dirs, files in os.walk(folder):
        out += [os.path.relpath(os.path.join(base, n), folder) for n in dirs + files]
    return sorted(out)
