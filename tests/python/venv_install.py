"""onnx_lsc as users get it: a venv made with --system-site-packages (Debian's
python3-onnx, python3-numpy), `pip wheel` + `pip install` of this checkout with
meson-python and no index, then: the wheel's plugin needs glibc only, the README's
Python example runs, and test_api.py passes against the installed package.

usage: venv_install.py --source DIR --work DIR --models DIR
Leaves WORK/dist/onnx_lsc-*.whl (ort_chroot.py uses it when present)."""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "ort"))


def run(cmd, **kw):
    print("+ " + " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], **kw)


def build_wheel(source, work):
    """pip wheel of a copy of the checkout (meson-python writes into the source folder),
    no index, no isolation (meson-python from Debian). Returns the wheel."""
    dist, copy = os.path.join(work, "dist"), os.path.join(work, "source")
    for d in (dist, copy):
        shutil.rmtree(d, ignore_errors=True)
    top = os.path.abspath(source)
    shutil.copytree(top, copy, symlinks=True, ignore=lambda d, names: [
        n for n in names if os.path.abspath(d) == top
        and n.startswith(("build", ".git", ".mesonpy", "third_party"))])
    if os.path.exists(os.path.join(top, "third_party")):  # ONNX Runtime's headers (setup-ort.sh)
        os.symlink(os.path.join(top, "third_party"), os.path.join(copy, "third_party"))
    t = time.monotonic()
    r = run(["/usr/bin/python3", "-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--no-deps",
             "-w", dist, copy])
    wheels = glob.glob(os.path.join(dist, "onnx_lsc-*.whl"))
    if r.returncode or len(wheels) != 1:
        return None
    print("built %s in %.0f s" % (os.path.basename(wheels[0]), time.monotonic() - t))
    return wheels[0]


def readme_example(source):
    """The README's first ```python block (its Python section's example)."""
    text = open(os.path.join(source, "README.md"), encoding="utf-8").read()
    m = re.search(r"```python\n(.*?)```", text, re.S)
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", required=True)
    a = ap.parse_args()
    venv = os.path.join(a.work, "venv")
    shutil.rmtree(venv, ignore_errors=True)
    os.makedirs(a.work, exist_ok=True)
    if run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv]).returncode:
        print("FAIL: python3 -m venv (python3-venv installed?)")
        return 1
    py = os.path.join(venv, "bin", "python")
    wheel = build_wheel(a.source, a.work)
    if not wheel:
        print("FAIL: pip wheel")
        return 1
    if run([py, "-m", "pip", "install", "--no-index", "--no-deps", wheel]).returncode:
        print("FAIL: pip install")
        return 1
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"],
                          capture_output=True, text=True).stdout.strip()
    failures = 0

    import plugin_alone
    problems = plugin_alone.link_problems(os.path.join(site, "onnx_lsc", "libonnx_lsc_ort.so"))
    for p in problems:
        print("FAIL: the wheel's plugin %s" % p)
    failures += len(problems)

    r = run([os.path.join(venv, "bin", "onnx-lsc"), "--version"], capture_output=True, text=True)
    if r.returncode or not r.stdout.startswith("onnx-lsc "):
        print("FAIL: venv/bin/onnx-lsc --version: %r" % (r,))
        failures += 1

    example = readme_example(a.source)
    ex_dir = os.path.join(a.work, "example")
    shutil.rmtree(ex_dir, ignore_errors=True)
    os.makedirs(ex_dir)
    for f in glob.glob(os.path.join(a.models, "*.onnx")):
        shutil.copy(f, ex_dir)
    if example is None:
        print("FAIL: no ```python example in README.md")
        failures += 1
    else:
        r = run([py, "-c", example], cwd=ex_dir, capture_output=True, text=True)
        print(r.stdout, end="")
        if r.returncode:
            print("FAIL: the README example: %s" % r.stderr)
            failures += 1

    # test_api against the installed package; its command is the wheel's.
    env = dict(os.environ)
    env.pop("ONNX_LSC", None)
    r = run([py, os.path.join(HERE, "test_api.py"), "--package", site, "--work", os.path.join(a.work, "api"),
             "--models", a.models], env=env)
    failures += r.returncode != 0
    print("venv: %d failures" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
