#!/usr/bin/env bash
# The main job, from a fresh checkout: installs what is missing, builds, and compresses
# every pruned model shipped in models/, printing the per-layer table (dense, value and
# meta-data bytes, bits per non-zero against the entropy bound, block shape, index
# width, ratio). Then it checks the round trip (decompress, byte for byte) and runs
# original and compressed model side by side in ONNX Runtime (onnx-lsc verify).
#   scripts/demo.sh [MODEL.onnx ...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
lsc=build/src/cli/onnx-lsc
out=build/demo
mkdir -p "$out"

models=("$@")
[ ${#models[@]} -gt 0 ] || models=(models/*.onnx)
for model in "${models[@]}"; do
  name=$(basename "$model" .onnx)
  echo "== $model"
  "$lsc" compress "$model" -o "$out/$name.lsc.onnx" -f
  # Lossless check: with --bit-exact the restored file is the input, byte for byte.
  "$lsc" compress "$model" -o "$out/$name.exact.lsc.onnx" --bit-exact -f --quiet >/dev/null
  "$lsc" decompress "$out/$name.exact.lsc.onnx" -o "$out/$name.restored.onnx" -f --quiet
  if cmp -s "$model" "$out/$name.restored.onnx"; then
    echo "round trip (--bit-exact): $out/$name.restored.onnx is identical to $model"
  else
    echo "round trip (--bit-exact): MISMATCH for $model" >&2
    exit 1
  fi
  # The rewritten graph in ONNX Runtime, through the custom-op library.
  "$lsc" verify "$model" "$out/$name.lsc.onnx" --dim N=8
  echo
done
