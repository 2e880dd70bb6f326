#!/bin/sh
# Decompress time of two builds of the library on one compressed model, in one run
# (docs/benchmarks.md, issue 16): `decompress -j JOBS` into an empty folder with each
# library in turn, then `cp` + `sync` of the restored external data file, RUNS times
# alternately (shared machines: all three see the same load). Prints wall, user and
# sys of every run and the medians, and checks each restored data file against
# ORIGINAL.data.
#
#   scripts/bench-decompress-ab.sh COMPRESSED.onnx ORIGINAL.data RUNS JOBS LIBDIR_A LIBDIR_B [WORKDIR]
#
# LIBDIR_x holds a libonnx-lsc.so.0; ONNX_LSC (default build/src/cli/onnx-lsc) is
# the command run with it.
set -eu
[ $# -ge 6 ] || { echo "usage: $0 COMPRESSED.onnx ORIGINAL.data RUNS JOBS LIBDIR_A LIBDIR_B [WORKDIR]" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
model=$1 orig=$2 runs=$3 jobs=$4 lib_a=$5 lib_b=$6 work=${7:-/tmp/lsc-decompress-ab}
lsc=${ONNX_LSC:-$here/build/src/cli/onnx-lsc}
data=$(basename "$orig")
for k in $(seq "$runs"); do
    for v in A B cp; do
        rm -rf "$work/out" && mkdir -p "$work/out"
        if [ $v = cp ]; then
            /usr/bin/time -f "%e %U %S" -o "$work/time" sh -c "cp '$work/restored' '$work/out/cp.data' && sync"
        else
            if [ $v = A ]; then lib=$lib_a; else lib=$lib_b; fi
            sync
            LD_LIBRARY_PATH=$lib /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
                "$lsc" decompress "$model" -o "$work/out/r.onnx" -q -j "$jobs"
            cmp "$work/out/$data" "$orig"
            mv "$work/out/$data" "$work/restored"
        fi
        echo "$v $(cat "$work/time")"
    done
done | awk '{ print; n[$1]++; w[$1, n[$1]] = $2; c[$1, n[$1]] = $3 + $4; u[$1, n[$1]] = $3; s[$1, n[$1]] = $4 }
function med(a, k, m,   i, j, x, t) {
    for (i = 1; i <= m; i++) t[i] = a[k, i]
    for (i = 1; i <= m; i++)
        for (j = i; j > 1 && t[j - 1] > t[j]; j--) { x = t[j]; t[j] = t[j - 1]; t[j - 1] = x }
    return m % 2 ? t[(m + 1) / 2] : (t[m / 2] + t[m / 2 + 1]) / 2
}
END {
    for (k in n)
        printf "%s median: wall %.2f s, user %.2f s, sys %.2f s, user+sys %.2f s\n", k,
            med(w, k, n[k]), med(u, k, n[k]), med(s, k, n[k]), med(c, k, n[k])
}'
echo "every restored data file equals $orig"
rm -rf "$work/out" "$work/restored"
