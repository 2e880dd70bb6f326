#!/usr/bin/python3
"""Encode and decode speed of the entropy tier, two builds alternated (docs/benchmarks.md):
runs BEFORE and AFTER (two bench_entropy binaries) on each model in turn for ROUNDS
rounds, the order swapped every round, and prints per model the entropy bytes (which
must be equal) and the range and median of the model's enc, srch, ent and dec MB/s
(bench_entropy's totals: thread CPU time, dense bytes), with the median of the
per-round after/before ratios of enc.

  bench/bench_entropy_ab.py BEFORE AFTER ROUNDS MODEL.onnx...

Exit 1 if a model's entropy bytes differ between the two."""
import os
import statistics
import subprocess
import sys


def totals(binary, model):
    out = subprocess.run([binary, model], capture_output=True, text=True, check=True).stdout.splitlines()
    f = [line for line in out if line.startswith(model[:28])][-1].split()
    return {"bytes": int(f[3]), "enc": float(f[-4]), "srch": float(f[-3]), "ent": float(f[-2]), "dec": float(f[-1])}


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    before, after, rounds, models = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    runs = {}
    for r in range(rounds):
        for m in models:
            for b in ((before, after) if r % 2 == 0 else (after, before)):
                runs.setdefault((m, b), []).append(totals(b, m))
    same = True
    for m in models:
        B, A = runs[(m, before)], runs[(m, after)]
        same &= all(x["bytes"] == B[0]["bytes"] for x in A + B)

        def span(rs, k):
            v = [x[k] for x in rs]
            return "%.0f-%.0f (%.0f)" % (min(v), max(v), statistics.median(v))
        ratio = statistics.median([a["enc"] / b["enc"] for a, b in zip(A, B)])
        print("%-26s bytes %d -> %d | enc %s -> %s x%.2f | srch %s -> %s | ent %s -> %s | dec %s -> %s" % (
            os.path.basename(m), B[0]["bytes"], A[0]["bytes"], span(B, "enc"), span(A, "enc"), ratio,
            span(B, "srch"), span(A, "srch"), span(B, "ent"), span(A, "ent"), span(B, "dec"), span(A, "dec")),
            flush=True)
    sys.exit(0 if same else 1)


main()
