#!/bin/sh
# The scale run (docs/benchmarks.md "Scale"): generates a big pruned fp32 model with
# its weights in one external data file, compresses and decompresses it under
# /usr/bin/time -v, checks the restored weights byte for byte and prints wall time,
# MB/s (dense weight bytes per second) and peak RSS. Not run in CI: it needs
# TOTAL_GB * 2.4 of free disk and minutes of CPU.
#
#   scripts/bench-scale.sh [WORKDIR]      (default /tmp/lsc-scale, deleted after)
#
# Environment: ONNX_LSC (default build/src/cli/onnx-lsc), TOTAL_GB (13.5),
# LARGEST_MB (1024), DENSITY (0.35: the bundle passes 4 GiB), SEED (1),
# THREADS (-j value of both steps, 0), MAX_MEMORY (compress --max-memory, e.g. 4G; unset: default),
# KEEP=1 keeps WORKDIR, REUSE=1 keeps an existing model.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/lsc-scale}
lsc=${ONNX_LSC:-$here/build/src/cli/onnx-lsc}
total=${TOTAL_GB:-13.5}
largest=${LARGEST_MB:-1024}
density=${DENSITY:-0.35}
seed=${SEED:-1}
threads=${THREADS:-0}

[ -x "$lsc" ] || { echo "bench-scale: no onnx-lsc at $lsc (set ONNX_LSC)" >&2; exit 1; }
mkdir -p "$work/out"
df -h "$work" | tail -1

if [ "${REUSE:-0}" != 1 ] || [ ! -f "$work/big.onnx" ]; then
    /usr/bin/python3 "$here/scripts/gen_big_model.py" "$work/big.onnx" --total-gb "$total" \
        --largest-mb "$largest" --density "$density" --seed "$seed"
fi
dense=$(stat -c %s "$work/big.onnx.data")

# run NAME CMD...: runs under /usr/bin/time -v, prints wall, MB/s and max RSS.
run() {
    name=$1
    shift
    /usr/bin/time -v -o "$work/$name.time" "$@" > "$work/$name.log" 2>&1 ||
        { cat "$work/$name.log" "$work/$name.time" >&2; exit 1; }
    /usr/bin/python3 - "$work/$name.time" "$name" "$dense" <<'EOF'
import sys
t = {}
for line in open(sys.argv[1]):
    k, _, v = line.strip().rpartition(": ")
    t[k] = v
wall = t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")
secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall)))
rss = int(t["Maximum resident set size (kbytes)"]) * 1024
dense = int(sys.argv[3])
print("%-10s wall %7.1f s  %6.1f MB/s  max RSS %6.2f GB  (user %s s, sys %s s)" % (
    sys.argv[2], secs, dense / secs / 1e6, rss / 1e9, t["User time (seconds)"],
    t["System time (seconds)"]))
EOF
}

rm -f "$work/c.onnx" "$work/c.lsc" "$work/out/"*
run compress "$lsc" compress "$work/big.onnx" -o "$work/c.onnx" -j "$threads" \
    ${MAX_MEMORY:+--max-memory "$MAX_MEMORY"}
run decompress "$lsc" decompress "$work/c.onnx" -o "$work/out/r.onnx" -j "$threads" -q
bundle=$(stat -c %s "$work/c.lsc")
echo "weights $dense B, bundle $bundle B ($(echo "$bundle" | awk '{printf "%.2f GiB", $1 / 2^30}'))," \
     "largest weight $(($(echo "$largest" | cut -d. -f1) * 1048576)) B"
if cmp "$work/big.onnx.data" "$work/out/big.onnx.data"; then
    echo "round trip: external data identical"
else
    echo "round trip: external data DIFFERS" >&2
    exit 1
fi
[ "${KEEP:-0}" = 1 ] || rm -rf "$work"
