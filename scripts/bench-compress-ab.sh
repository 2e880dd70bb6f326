#!/bin/sh
# Compress CPU time of two builds of the library on one model, in one run
# (docs/benchmarks.md, issue 16): `compress -j 1` with each library in turn, RUNS
# times alternately (shared machines: the two see the same load), prints each
# run's user + sys seconds and the median, and checks both bundles are identical.
#
#   scripts/bench-compress-ab.sh MODEL.onnx RUNS LIBDIR_A LIBDIR_B [WORKDIR]
#
# LIBDIR_x holds a libonnx-lsc.so.0 (e.g. a copy of an older build's src/lib);
# ONNX_LSC (default build/src/cli/onnx-lsc) is the command run with it.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 MODEL.onnx RUNS LIBDIR_A LIBDIR_B [WORKDIR]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
model=$1 runs=$2 lib_a=$3 lib_b=$4 work=${5:-/tmp/lsc-compress-ab}
lsc=${ONNX_LSC:-$here/build/src/cli/onnx-lsc}
name=$(basename "$model" .onnx)
mkdir -p "$work/A" "$work/B"
for k in $(seq "$runs"); do
    for v in A B; do
        if [ $v = A ]; then lib=$lib_a; else lib=$lib_b; fi
        LD_LIBRARY_PATH=$lib /usr/bin/time -f "%U %S" -o "$work/time" \
            "$lsc" compress "$model" -o "$work/$v/$name.onnx" -f -q -j 1
        echo "$v $(cat "$work/time")"
    done
done | awk '{ t = $2 + $3; all[$1] = all[$1] " " t; n[$1]++; v[$1, n[$1]] = t }
END {
    for (s in n) {
        for (i = 1; i <= n[s]; i++)            # insertion sort, RUNS is small
            for (j = i; j > 1 && v[s, j - 1] > v[s, j]; j--) { x = v[s, j]; v[s, j] = v[s, j - 1]; v[s, j - 1] = x }
        m = n[s] % 2 ? v[s, (n[s] + 1) / 2] : (v[s, n[s] / 2] + v[s, n[s] / 2 + 1]) / 2
        printf "%s user+sys s:%s  median %.2f\n", s, all[s], m
    }
}'
cmp "$work/A/$name.lsc" "$work/B/$name.lsc" && cmp "$work/A/$name.onnx" "$work/B/$name.onnx" &&
    echo "bundles and models identical"
