"""End to end with Python onnxruntime: Debian testing's python3-onnxruntime, in a chroot
made by `debootstrap --variant=minbase testing` from the Debian mirror this machine's
apt already uses (read from /etc/apt/sources.list*), cached in --cache. The onnx_lsc
wheel is unpacked into it (the abi3 extension imports in testing's newer python3);
there, for every shipped model, onnx_lsc.compress writes the compressed model and

    so.register_custom_ops_library(onnx_lsc.get_library_path())

runs it with the dense model's outputs; the plugin is also copied alone into an empty
folder and loaded from there. The chroot sees nothing of this machine's build.

Building the chroot takes 2-3.5 minutes (131 s on a quiet 2-core machine) and 700 MB:
it is built when ONNX_LSC_CHROOT=1 (scripts/test.sh's full run and
scripts/test-python-ort.sh set it) and reused while cached; otherwise (test.sh --quick,
a bare meson test) the test is skipped, saying so.

usage: ort_chroot.py --source DIR --cache DIR --work DIR --models DIR [--wheel-dir DIR]"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
READY = ".onnx-lsc-ready"
PACKAGES = ["python3-onnxruntime", "python3-numpy", "libprotobuf-c1"]

IN_CHROOT = r'''
import glob, os, shutil, sys, tempfile
sys.path.insert(0, "/opt/onnx-lsc/site")
import numpy as np
import onnxruntime as ort
import onnx_lsc

RTOL = 1e-5  # as tests/ort/ortcheck.py: relative to the element, the output's scale as floor


def run(path, plugin=None):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    if plugin:
        so.register_custom_ops_library(plugin)
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(14)
    feed = {i.name: rng.random([d if isinstance(d, int) else 1 for d in i.shape], dtype=np.float32)
            for i in s.get_inputs()}
    return s.run(None, feed)


def agree(dense, lsc):
    return len(dense) == len(lsc) and all(
        d.shape == l.shape and np.all(np.abs(l - d) <= RTOL * (np.abs(d) + np.abs(d).max())) for d, l in zip(dense, lsc))


print("python %s, onnxruntime %s, onnx_lsc %s" % (sys.version.split()[0], ort.__version__, onnx_lsc.__version__))
failures = 0
work = tempfile.mkdtemp()
for model in sorted(glob.glob("/opt/onnx-lsc/models/*.onnx")):
    name = os.path.basename(model)[:-5]
    res = onnx_lsc.compress(model, os.path.join(work, name + ".lsc.onnx"), jobs=2)
    dense, lsc = run(model), run(res.model, onnx_lsc.get_library_path())
    ok = agree(dense, lsc)
    failures += not ok
    print("%s %s: ratio %.2fx, max |lsc - dense| %.3g" % ("ok  " if ok else "FAIL", name, res.report["totals"]["ratio"],
          max(float(np.abs(l - d).max()) for d, l in zip(dense, lsc))))
alone = tempfile.mkdtemp()
plugin = shutil.copy(onnx_lsc.get_library_path(), alone)
ok = agree(dense, run(res.model, plugin))  # the last model
failures += not ok
print("%s the plugin alone in %s" % ("ok  " if ok else "FAIL", alone))
sys.exit(1 if failures else 0)
'''


def debian_mirror():
    """The Debian archive apt uses here: first deb entry with main and a release suite."""
    entries = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.isfile(path):
            for line in open(path):
                f = re.sub(r"\[[^\]]*\]", "", line.split("#")[0]).split()  # deb [options] URI suite comps
                if len(f) >= 4 and f[0] == "deb":
                    entries.append((f[1], [f[2]], f[3:]))
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in open(path).read().split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.split()
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                for uri in fields.get("uris", []):
                    entries.append((uri, fields.get("suites", []), fields.get("components", [])))
    for uri, suites, comps in entries:
        if "main" in comps and any("-" not in s and "/" not in s for s in suites) and "security" not in uri:
            return uri
    return None


def run(cmd, **kw):
    print("+ " + " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], **kw)


def in_chroot(root, *cmd, **kw):
    """A command in the chroot, with its own /proc in a private mount namespace: the
    mount disappears with the command, nothing is left mounted under the build folder."""
    return run(["unshare", "--mount", "--pid", "--fork", "--mount-proc=" + os.path.join(root, "proc"),
                "chroot", root, *cmd], **kw)


def make_chroot(root, log):
    mirror = debian_mirror()
    if not mirror:
        return "no Debian mirror in /etc/apt/sources.list*"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.dirname(root), exist_ok=True)
    with open(log, "w") as out:
        # unshare: any mount debootstrap leaves behind on failure dies with it
        r = run(["unshare", "--mount", "debootstrap", "--variant=minbase", "testing", root, mirror],
                stdout=out, stderr=subprocess.STDOUT)
        if r.returncode:
            return "debootstrap failed (see %s)" % log
        shutil.copy("/etc/resolv.conf", os.path.join(root, "etc", "resolv.conf"))
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        # (debootstrap's resolver cannot install python3-onnxruntime: virtual packages)
        r = in_chroot(root, "apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES,
                      stdout=out, stderr=subprocess.STDOUT, env=env)
        if r.returncode:
            return "apt-get install %s in the chroot failed (see %s)" % (" ".join(PACKAGES), log)
        in_chroot(root, "apt-get", "clean", stdout=out, stderr=subprocess.STDOUT)
    open(os.path.join(root, READY), "w").close()
    return None


def unpack_wheel(wheel, site):
    """What pip does with a wheel, minus its records: files in place, modes kept."""
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            path = z.extract(info, site)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(path, mode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--wheel-dir", help="use the onnx_lsc wheel found here (else build one)")
    a = ap.parse_args()
    root = os.path.join(a.cache, "testing")
    if not os.path.exists(os.path.join(root, READY)):
        if os.environ.get("ONNX_LSC_CHROOT") != "1":
            print("SKIP: no cached Debian testing chroot and ONNX_LSC_CHROOT is not 1: scripts/test.sh "
                  "(full run) or scripts/test-python-ort.sh builds one (debootstrap, 2-3.5 minutes, 700 MB)")
            return SKIP
        if os.geteuid() != 0 or not shutil.which("debootstrap") or not shutil.which("unshare"):
            print("SKIP: building the chroot needs root, debootstrap (scripts/install-deps.sh) and unshare")
            return SKIP
        t = time.monotonic()
        why = make_chroot(root, os.path.join(a.cache, "debootstrap.log"))
        if why:
            print("FAIL: chroot: " + why)
            return 1
        print("chroot: Debian testing with %s built in %.0f s" % (" ".join(PACKAGES), time.monotonic() - t))

    found = glob.glob(os.path.join(a.wheel_dir or "", "onnx_lsc-*.whl")) if a.wheel_dir else []
    wheel = found[0] if len(found) == 1 else None
    if not wheel:
        sys.path.insert(0, HERE)
        import venv_install
        wheel = venv_install.build_wheel(a.source, a.work)
        if not wheel:
            print("FAIL: pip wheel")
            return 1
    t = time.monotonic()
    test_dir = os.path.join(root, "opt", "onnx-lsc")
    shutil.rmtree(test_dir, ignore_errors=True)
    os.makedirs(os.path.join(test_dir, "models"))
    unpack_wheel(wheel, os.path.join(test_dir, "site"))
    for m in glob.glob(os.path.join(a.models, "*.onnx")):
        shutil.copy(m, os.path.join(test_dir, "models"))
    with open(os.path.join(test_dir, "run.py"), "w") as f:
        f.write(IN_CHROOT)
    r = in_chroot(root, "python3", "/opt/onnx-lsc/run.py")
    print("chroot test: %s, %.0f s (wheel %s)" % ("passed" if r.returncode == 0 else "FAILED",
                                                  time.monotonic() - t, os.path.basename(wheel)))
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
