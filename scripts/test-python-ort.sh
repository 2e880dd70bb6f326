#!/usr/bin/env bash
# The onnx_lsc wheel in Python onnxruntime, alone (scripts/test.sh runs the same tests in
# its full run; the first run takes 2-3.5 minutes and 700 MB). Builds a Debian testing chroot with
# python3-onnxruntime by debootstrap from the mirror apt uses here (cached in
# build/tests/python/chroot; later runs take seconds), pip-installs the wheel into a
# venv (tests/python/venv_install.py), then runs the compressed shipped models in the
# chroot through so.register_custom_ops_library(onnx_lsc.get_library_path())
# (tests/python/ort_chroot.py). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d build ] || meson setup build -Dwerror=true -Dbuildtype=debugoptimized
ninja -C build -j2
ONNX_LSC_CHROOT=1 meson test -C build --print-errorlogs python-venv python-ort-chroot
grep -E '^(python |ok  |FAIL|chroot)' build/meson-logs/testlog.txt || true
