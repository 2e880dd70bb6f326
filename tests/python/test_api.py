"""The onnx_lsc Python API against the onnx-lsc command, on the shipped models and the
generated corner cases (tests/onnx/gen_models.py): compress on a path and on an
onnx.ModelProto writes the same bytes as the command; decompress round-trips; stats
is the command's `stats --json`; every failure is one LscError with the command's
status; the library prints nothing; the plugin path works in ONNX Runtime.

usage: test_api.py (--package DIR | --stage MODULE PLUGIN COMMAND) --work DIR --models DIR
--package: a folder holding an installed onnx_lsc (a venv's site-packages); --stage:
assemble one in WORK/site from the build tree (python/onnx_lsc/*.py + the built files).
ONNX_LSC is the command to compare with (default: the one in the package)."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "onnx"))  # gen_models
sys.path.insert(0, os.path.join(HERE, "..", "ort"))   # ortcheck

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


# Sanitizer builds: python3 itself is not instrumented, so the instrumented extension
# needs the sanitizer runtime preloaded; main() re-executes with it (LSC_ASAN_PRELOAD)
# and hands it on to child Pythons only, never to the (statically instrumented) command.
PRELOAD = {}


def cli(*args):
    return subprocess.run([os.environ["ONNX_LSC"], *map(str, args)], capture_output=True, text=True)


def python_env():
    return dict(os.environ, **PRELOAD)


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def compress_cases(lsc, work, models):
    """Path and ModelProto compress == the command, byte for byte; reports agree;
    bit-exact decompress restores the file."""
    import gen_models
    gen = os.path.join(work, "gen")
    os.makedirs(gen, exist_ok=True)
    cases = [(n, args) for n, args, _ in gen_models.make_all(gen)]
    paths = [(os.path.join(gen, n + ".onnx"), args) for n, args in cases]
    paths += [(p, []) for p in sorted(glob.glob(os.path.join(models, "*.onnx")))]
    paths += [(p, ["--entropy"]) for p in sorted(glob.glob(os.path.join(models, "*.onnx")))]
    checked = 0
    for src, args in paths:
        if any(a not in ("--bit-exact", "--entropy") for a in args):
            continue  # options the Python API does not offer
        name = os.path.basename(src)[: -len(".onnx")] + "".join(args)
        bit_exact, entropy = "--bit-exact" in args, "--entropy" in args
        d_cli, d_py, d_proto = (os.path.join(work, k, name) for k in ("cli", "py", "proto"))
        for d in (d_cli, d_py, d_proto, os.path.join(work, "back", name, "path"),
                  os.path.join(work, "back", name, "proto")):
            os.makedirs(d, exist_ok=True)
        out = "m.lsc.onnx"
        r = cli("compress", src, "-o", os.path.join(d_cli, out), "-q", "--json", *args)
        try:
            res = lsc.compress(src, os.path.join(d_py, out), bit_exact=bit_exact, entropy=entropy, jobs=2)
        except lsc.LscError as e:
            check(r.returncode == 10 + e.status, "%s: compress exit %d vs LscError %d (%s)"
                  % (name, r.returncode, e.status, e))
            continue
        check(r.returncode == 0, "%s: command failed where the API did not: %s" % (name, r.stderr))
        if r.returncode:
            continue
        check(res.model == os.path.join(d_py, out) and res.bundle == os.path.join(d_py, "m.lsc"),
              "%s: paths %s" % (name, res[:2]))
        for f in ("m.lsc.onnx", "m.lsc"):
            check(same_bytes(os.path.join(d_cli, f), os.path.join(d_py, f)), "%s: %s differs from the command's"
                  % (name, f))
        want = json.loads(r.stdout)
        for doc in (want, res.report):
            doc.pop("model"), doc.pop("bundle")
        check(want == res.report, "%s: report differs from compress --json" % name)

        proto = lsc.compress(onnx.load(src, load_external_data=False), os.path.join(d_proto, out), bit_exact=bit_exact, entropy=entropy,
                             base_dir=os.path.dirname(src))
        for f in ("m.lsc.onnx", "m.lsc"):
            check(same_bytes(os.path.join(d_cli, f), os.path.join(d_proto, f)),
                  "%s: %s from a ModelProto differs" % (name, f))
        check(not [f for f in os.listdir(os.path.dirname(src)) if f.startswith(".onnx_lsc-")],
              "%s: temporary model left in base_dir" % name)

        d_back = os.path.join(work, "back", name)
        back = lsc.decompress(res.model, os.path.join(d_back, "path", "m.onnx"))
        back2 = lsc.decompress(onnx.load(res.model, load_external_data=False),
                               os.path.join(d_back, "proto", "m.onnx"), base_dir=d_py)
        if bit_exact:
            check(same_bytes(src, back), "%s: bit-exact round trip differs" % name)
        check(same_bytes(back, back2), "%s: decompress of a ModelProto differs" % name)
        checked += 1
    check(checked >= 10, "only %d models compared" % checked)
    print("compress/decompress: %d models, API == command" % checked)


def stats_cases(lsc, work, models):
    for src in sorted(glob.glob(os.path.join(models, "*.onnx"))):
        want = json.loads(cli("stats", src, "--json").stdout)
        got = lsc.stats(src)
        check(got == want, "%s: stats dict differs from stats --json" % src)
        proto = lsc.stats(onnx.load(src))
        check(proto["model"] == "<ModelProto>", "stats of a ModelProto names %r" % proto["model"])
        want["model"] = "<ModelProto>"
        check(proto == want, "%s: stats of a ModelProto differs" % src)
        os.makedirs(os.path.join(work, "stats"), exist_ok=True)
        res = lsc.compress(src, os.path.join(work, "stats", os.path.basename(src)[:-5] + ".lsc.onnx"))
        want = json.loads(cli("stats", res.model, "--json").stdout)
        check(lsc.stats(res.model) == want, "%s: stats of the compressed model differs" % src)
        check(lsc.stats(src, measure_files=True, jobs=2) == json.loads(
            cli("stats", src, "--json", "--measure-files", "-j", "2").stdout), "%s: --measure-files" % src)
    print("stats: dict == stats --json")


def error_cases(lsc, work, models):
    """Each bad input: one LscError whose status is the command's exit code - 10,
    whose message is the command's one line."""
    bad = os.path.join(work, "bad")
    os.makedirs(bad, exist_ok=True)
    src = sorted(glob.glob(os.path.join(models, "*.onnx")))[0]
    with open(src, "rb") as f:
        data = f.read()
    open(os.path.join(bad, "trunc.onnx"), "wb").write(data[: len(data) // 3])
    open(os.path.join(bad, "text.onnx"), "wb").write(b"not a model\n" * 10)
    good = lsc.compress(src, os.path.join(bad, "good.lsc.onnx"))
    shutil.copy(good.model, os.path.join(bad, "flip.lsc.onnx"))
    blob = bytearray(open(good.bundle, "rb").read())
    blob[len(blob) // 2] ^= 0x40
    open(os.path.join(bad, "flip.lsc"), "wb").write(blob)
    # the rewritten graph names its bundle: give the flipped one the same name
    os.makedirs(os.path.join(bad, "flip"), exist_ok=True)
    shutil.copy(good.model, os.path.join(bad, "flip", "good.lsc.onnx"))
    open(os.path.join(bad, "flip", "good.lsc"), "wb").write(blob)
    cases = [
        ("compress", os.path.join(bad, "missing.onnx"), [bad + "/x.lsc.onnx"], 3),
        ("compress", os.path.join(bad, "trunc.onnx"), [bad + "/x.lsc.onnx"], None),
        ("compress", os.path.join(bad, "text.onnx"), [bad + "/x.lsc.onnx"], 4),
        ("compress", good.model, [bad + "/again.lsc.onnx"], 10),
        ("decompress", os.path.join(bad, "flip", "good.lsc.onnx"), [bad + "/flip.onnx"], 8),
        ("stats", os.path.join(bad, "text.onnx"), [], 4),
        ("stats", os.path.join(bad, "flip", "good.lsc.onnx"), [], None),
    ]
    for cmd, path, out, status in cases:
        r = cli(cmd, path, *(["-o", out[0]] if out else []))
        fn = getattr(lsc, cmd)
        try:
            fn(path, *out)
            check(False, "%s %s: no LscError" % (cmd, path))
            continue
        except lsc.LscError as e:
            err = e
        check(r.returncode == 10 + err.status, "%s %s: exit %d vs status %d" % (cmd, path, r.returncode, err.status))
        check(status is None or err.status == status, "%s %s: status %d, want %s" % (cmd, path, err.status, status))
        check(r.stderr.strip() == "onnx-lsc: error: " + str(err) or r.stderr.strip().endswith(str(err)),
              "%s %s: message %r vs command %r" % (cmd, path, str(err), r.stderr.strip()))
        check("\n" not in str(err) and err.message == str(err) and err.status_name,
              "%s %s: not one line with a status name: %r" % (cmd, path, err))
        check(isinstance(err, Exception) and err.args == (err.status, err.status_name, err.message),
              "%s %s: args %r" % (cmd, path, err.args))
        check(not os.path.exists(bad + "/x.lsc.onnx"), "%s %s: output left behind" % (cmd, path))

    def raises(status, fn, *a, **kw):
        try:
            fn(*a, **kw)
        except lsc.LscError as e:
            check(e.status == status, "%s: status %d, want %d (%s)" % (fn.__name__, e.status, status, e))
            return str(e)
        check(False, "%s%r: no LscError" % (fn.__name__, a))
        return ""

    proto = onnx.load(src)
    raises(1, lsc.compress, proto)                           # a ModelProto needs output
    raises(1, lsc.decompress, src)                           # not .lsc.onnx, no output
    check(lsc.decompress(good.model) == os.path.join(bad, "good.onnx"), "decompress: default output")
    raises(1, lsc.decompress, good.model)                    # good.onnx exists now: refused
    raises(1, lsc.compress, src, src)                        # output would overwrite the input
    # The command's overwrite rule: existing outputs stay unless force=True.
    before = open(good.model, "rb").read(), open(good.bundle, "rb").read()
    raises(1, lsc.compress, src, good.model)
    raises(1, lsc.compress, src, os.path.join(bad, "other.lsc.onnx"), bundle=good.bundle)
    check((open(good.model, "rb").read(), open(good.bundle, "rb").read()) == before,
          "a refused compress changed its outputs")
    check(not os.path.exists(os.path.join(bad, "other.lsc.onnx")), "a refused compress wrote its model")
    check(lsc.compress(src, good.model, force=True).model == good.model, "compress force=True")
    raises(1, lsc.decompress, good.model, os.path.join(bad, "good.onnx"))
    check(lsc.decompress(good.model, os.path.join(bad, "good.onnx"), force=True) == os.path.join(bad, "good.onnx"),
          "decompress force=True")
    raises(3, lsc.stats, proto, base_dir=os.path.join(bad, "no-such-folder"))
    msg = raises(4, lsc.stats, _broken_proto())
    check("<ModelProto>" in msg and ".onnx_lsc-" not in msg, "ModelProto named %r" % msg)
    try:
        lsc.compress(42)
        check(False, "compress(42): no TypeError")
    except TypeError:
        pass
    print("errors: %d bad inputs, one LscError each, same status and line as the command" % len(cases))


class _Broken:
    """Quacks like a ModelProto whose bytes do not parse."""

    def SerializeToString(self):
        return b"\xff" * 64


def _broken_proto():
    return _Broken()


def silence_case(lsc, work, models):
    """The library writes nothing on stdout/stderr, even where the command prints notes."""
    probe = os.path.join(work, "silence.py")
    with open(probe, "w") as f:
        f.write("""import os, sys, glob
log = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.dup2(log, 1); os.dup2(log, 2)
import onnx_lsc
for src in glob.glob(os.path.join(sys.argv[1], "*.onnx")):
    out = os.path.join(sys.argv[3], os.path.basename(src)[:-5] + ".lsc.onnx")
    try:
        r = onnx_lsc.compress(src, out, jobs=2)
        onnx_lsc.stats(r.model)
        onnx_lsc.decompress(r.model, out[:-9] + ".back.onnx")
    except onnx_lsc.LscError:
        pass
""")
    gen = os.path.join(work, "gen")
    out = os.path.join(work, "silence")
    os.makedirs(out, exist_ok=True)
    log = os.path.join(work, "silence.log")
    for folder in (gen, models):
        r = subprocess.run([sys.executable, probe, folder, log, out], env=python_env())
        check(r.returncode == 0, "silence probe failed")
        text = open(log).read()
        check(text == "", "the library printed: %r" % text[:300])
    # the command does print notes for some of these (unsupported weight types)
    noisy = [p for p in glob.glob(os.path.join(gen, "*.onnx"))
             if "note:" in cli("compress", p, "-o", os.path.join(out, "n.lsc.onnx")).stderr]
    print("silence: nothing printed (the command prints notes for %d of the models)" % len(noisy))


def plugin_case(lsc, work, models):
    """get_library_path() runs a compressed model in ONNX Runtime (C runner)."""
    path = lsc.get_library_path()
    check(os.path.isfile(path), "get_library_path: %s missing" % path)
    if not os.environ.get("LSC_ORT_RUN"):
        print("plugin: no lsc-ort-run in this build, runtime check left to tests/ort")
        return
    import ortcheck
    os.environ["ONNX_LSC_ORT_PLUGIN"] = path
    d = os.path.join(work, "plugin")
    os.makedirs(d, exist_ok=True)
    try:
        ortcheck.require_runtime(d)
    except ortcheck.Skip as e:
        print("plugin: %s" % e)
        return
    src = os.path.join(models, "lenet5_1p4.onnx")
    res = lsc.compress(src, os.path.join(d, "m.lsc.onnx"))
    x = np.random.default_rng(3).random((1, 1, 28, 28), dtype=np.float32)
    name = onnx.load(src, load_external_data=False).graph.input[0].name
    np.save(os.path.join(d, "x.npy"), x)
    dense = ortcheck.ort_outputs(src, {name: os.path.join(d, "x.npy")}, os.path.join(d, "dense"), plugin=False)
    lscout = ortcheck.ort_outputs(res.model, {name: os.path.join(d, "x.npy")}, os.path.join(d, "lsc"))
    ok, worst, _ = ortcheck.compare(dense, lscout)
    check(ok, "plugin at get_library_path(): outputs differ (max |d| %g)" % worst)
    print("plugin: %s runs the compressed LeNet-5 like the dense one (max |d| %.2g)" % (path, worst))


def seal_case(lsc, work, models):
    """check_seal / seal against the command: intact after compress, modified after an
    edit (the command's verify would say so), intact again after seal; errors raise."""
    out = os.path.join(work, "seal", "lenet5.lsc.onnx")
    os.makedirs(os.path.dirname(out))
    lsc.compress(os.path.join(models, "lenet5.onnx"), out)
    check(lsc.check_seal(out) == "intact", "check_seal after compress: %r" % lsc.check_seal(out))
    m = onnx.load(out, load_external_data=False)
    m.graph.node[0].name = m.graph.node[0].name + "-edited"
    onnx.save(m, out)
    check(lsc.check_seal(out) == "modified", "check_seal after an edit: %r" % lsc.check_seal(out))
    lsc.seal(out)
    check(lsc.check_seal(out) == "intact", "check_seal after seal: %r" % lsc.check_seal(out))
    plain = os.path.join(models, "lenet5.onnx")
    check(lsc.check_seal(plain) == "not-compressed", "check_seal of a plain model")
    try:
        lsc.seal(plain)
        check(False, "seal of a plain model did not raise")
    except lsc.LscError as e:
        check(e.status == 1, "seal of a plain model: status %r" % e.status)
    print("seal: intact -> modified -> intact; plain model refused")


def cli_case(lsc, work):
    if PRELOAD:
        print("python -m onnx_lsc: not in a sanitizer build (the command would inherit the preload)")
        return
    r = subprocess.run([sys.executable, "-m", "onnx_lsc", "--version"], capture_output=True, text=True)
    check(r.returncode == 0 and lsc.__version__ in r.stdout, "python -m onnx_lsc --version: %r" % (r,))
    r = subprocess.run([sys.executable, "-m", "onnx_lsc", "compress"], capture_output=True, text=True)
    check(r.returncode == 2, "python -m onnx_lsc compress (no model): exit %d" % r.returncode)
    print("python -m onnx_lsc: the command, version %s" % lsc.__version__)


def stage(site, module, plugin, command):
    """The package as a wheel lays it out, from symlinks into the build tree."""
    pkg = os.path.join(site, "onnx_lsc")
    os.makedirs(pkg)
    src = os.path.join(HERE, "..", "..", "python", "onnx_lsc")
    for f in sorted(os.listdir(src)):
        if f.endswith(".py"):
            os.symlink(os.path.abspath(os.path.join(src, f)), os.path.join(pkg, f))
    for path, name in ((module, "_lsc.abi3.so"), (plugin, "libonnx_lsc_ort.so"), (command, "onnx-lsc")):
        os.symlink(os.path.abspath(path), os.path.join(pkg, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package")
    ap.add_argument("--stage", nargs=3, metavar=("MODULE", "PLUGIN", "COMMAND"))
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    a = ap.parse_args()
    preload = os.environ.pop("LSC_ASAN_PRELOAD", None)
    if preload:
        env = dict(os.environ, LD_PRELOAD=preload, LSC_PRELOADED=preload,
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")  # python3's own
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    if os.environ.get("LSC_PRELOADED"):
        PRELOAD["LD_PRELOAD"] = os.environ.pop("LD_PRELOAD")
        PRELOAD["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    if a.stage:
        a.package = os.path.join(a.work, "site")
        stage(a.package, *a.stage)
    sys.path.insert(0, a.package)
    os.environ["PYTHONPATH"] = a.package + os.pathsep + os.environ.get("PYTHONPATH", "")
    import onnx_lsc as lsc
    check(os.path.dirname(lsc.__file__) == os.path.join(os.path.abspath(a.package), "onnx_lsc"),
          "imported %s, not the package under test" % lsc.__file__)
    os.environ.setdefault("ONNX_LSC", os.path.join(os.path.dirname(lsc.__file__), "onnx-lsc"))
    compress_cases(lsc, a.work, a.models)
    stats_cases(lsc, a.work, a.models)
    error_cases(lsc, a.work, a.models)
    silence_case(lsc, a.work, a.models)
    plugin_case(lsc, a.work, a.models)
    seal_case(lsc, a.work, a.models)
    cli_case(lsc, a.work)
    print("%d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
