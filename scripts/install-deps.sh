#!/usr/bin/env bash
# Installs everything onnx-lsc needs to build, test and benchmark on Debian bookworm
# (run as root). Idempotent: packages already present are not fetched again.
#   scripts/install-deps.sh          build + test dependencies, ONNX Runtime
#   scripts/install-deps.sh --train  also python3-torch, to re-train models/
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev   # ONNX bindings, generated at build time
  libxxhash-dev                                       # bundle checksums
  libzstd-dev                                         # entropy tier: generic coder for value planes
  libopenblas-dev                                     # dense baseline in the benchmarks
  libeigen3-dev librsb-dev                            # sparse peers in the benchmarks
  clang libclang-rt-14-dev llvm                       # fuzzers, sanitizers
  python3 python3-onnx python3-numpy                  # independent reader in the tests
  python3-dev python3-venv python3-pip python3-mesonpy python3-build patchelf  # the onnx_lsc package
  debootstrap                                         # Python onnxruntime from Debian testing, in a chroot
  pre-commit git                                      # the pre-commit hook's test
  libonnx-testdata                                    # ONNX files from another tool
  dataset-fashion-mnist                               # accuracy checks of the shipped models
  chromium                                            # renders the stats HTML report in a test
  groff-base                                          # renders the generated man page in a test
  dpkg-dev xz-utils zstd valgrind hyperfine time
)
[ "${1:-}" = "--train" ] && packages+=(python3-torch)
# npm fetches ONNX Runtime (onnxruntime-node); a machine may already have Node.js from elsewhere.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -x scripts/setup-ort.sh ]; then
  scripts/setup-ort.sh
fi
