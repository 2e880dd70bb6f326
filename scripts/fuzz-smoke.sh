#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a bounded time.
#   scripts/fuzz-smoke.sh                 every target, FUZZ_SECONDS (45) each
#   scripts/fuzz-smoke.sh fuzz_bundle     only the targets named
# Environment: FUZZ_SECONDS (per target), FUZZ_BUILD (build folder, build-fuzz),
#   FUZZ_RSS_MB (libFuzzer -rss_limit_mb, 2048), FUZZ_SKIP_BUILD=1 (use the build as is).
# Per target: "<target>: N executions, N crashes (S s)". A crash leaves its input in
# FUZZ_BUILD/fuzz/artifacts/<target>/ (copy it to fuzz/regressions/<target>/ with the
# fix). New coverage accumulates in FUZZ_BUILD/fuzz/corpus/<target>/ across runs.
# Writes FUZZ_BUILD/fuzz-smoke/testlog.json: one JSON object per line and target, like
# meson's testlog.json ({"name", "result": "OK" | "FAIL", "duration", "executions",
# "crashes", "coverage"}), so scripts/test.sh's count() can read it as it is. The last
# line is "fuzz: N targets, N crashes" (N crashes = targets that crashed: libFuzzer
# stops a target at its first crash). Exit status 0 only when no target crashed; 2
# when the build failed (then there is no such line).
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-45}
build=${FUZZ_BUILD:-build-fuzz}
rss=${FUZZ_RSS_MB:-2048}
all=(fuzz_model fuzz_external fuzz_bundle fuzz_blob fuzz_spmm fuzz_roundtrip fuzz_entropy fuzz_npy)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  opts=(-Dfuzzing_engine=libfuzzer -Db_sanitize=address,undefined -Db_lundef=false
        -Dbuildtype=debugoptimized -Dbench=false -Dwerror=true)
  if [ -f "$build/build.ninja" ]; then
    meson configure "$build" "${opts[@]}" >"$build.setup.log" 2>&1
  else
    CC=clang meson setup "$build" "${opts[@]}" >"$build.setup.log" 2>&1
  fi || { tail -30 "$build.setup.log"; echo "fuzz-smoke: configure failed"; exit 2; }
  if ! ninja -C "$build" -j2 >"$build.build.log" 2>&1; then
    tail -40 "$build.build.log"; echo "fuzz-smoke: build failed"; exit 2
  fi
fi

# Input size cap and dictionary per target (models and bundles grow large; the
# shipped models' seeds are cut to max_len, which also fuzzes truncation).
declare -A max_len=([fuzz_model]=262144 [fuzz_external]=65536 [fuzz_bundle]=262144
                    [fuzz_blob]=65536 [fuzz_spmm]=65536 [fuzz_roundtrip]=8192
                    [fuzz_entropy]=65536 [fuzz_npy]=4096)
declare -A dict=([fuzz_model]=onnx [fuzz_external]=onnx [fuzz_bundle]=bundle
                 [fuzz_blob]=blob [fuzz_spmm]=blob [fuzz_entropy]=blob [fuzz_npy]=npy)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
log_dir="$build/fuzz-smoke"
mkdir -p "$log_dir"
: >"$log_dir/testlog.json"
n_targets=0 n_crashed=0
for t in "${targets[@]}"; do
  exe="$build/fuzz/$t-fuzzer"
  if [ ! -x "$exe" ]; then
    echo "$t: not built ($exe)"; n_targets=$((n_targets + 1)); n_crashed=$((n_crashed + 1))
    echo "{\"name\": \"$t\", \"result\": \"FAIL\", \"duration\": 0, \"executions\": 0, \"crashes\": 1}" \
      >>"$log_dir/testlog.json"
    continue
  fi
  corpus="$build/fuzz/corpus/$t" artifacts="$build/fuzz/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  dirs=("$corpus" "$build/fuzz/seeds/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb="$rss" -max_len="${max_len[$t]}"
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -n "${dict[$t]:-}" ] && args+=(-dict="fuzz/dicts/${dict[$t]}.dict")
  before=$(ls "$artifacts" | wc -l)
  start=$(date +%s)
  "$exe" "${args[@]}" "${dirs[@]}" >"$log_dir/$t.log" 2>&1
  rc=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_dir/$t.log" | tail -n 1)
  if [ -z "$execs" ]; then # no final stats after a crash: the last progress line
    execs=$(grep -oE '^#[0-9]+' "$log_dir/$t.log" | tail -n 1 | tr -d '#')
  fi
  cov=$(grep -oE 'cov: [0-9]+' "$log_dir/$t.log" | tail -n 1 | tr -dc '0-9')
  crashes=$(($(ls "$artifacts" | wc -l) - before))
  [ $rc -ne 0 ] && [ $crashes -eq 0 ] && crashes=1
  n_targets=$((n_targets + 1))
  result=OK
  if [ $crashes -gt 0 ]; then
    result=FAIL n_crashed=$((n_crashed + 1))
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|==ERROR' \
      "$log_dir/$t.log" | sed "s|^|$t: |"
    ls -t "$artifacts" | head -n 3 | sed "s|^|$t: input $artifacts/|"
  fi
  echo "$t: ${execs:-0} executions, $crashes crashes ($took s, coverage ${cov:-0} edges)"
  echo "{\"name\": \"$t\", \"result\": \"$result\", \"duration\": $took, \"executions\": ${execs:-0}, \"crashes\": $crashes, \"coverage\": ${cov:-0}}" \
    >>"$log_dir/testlog.json"
done
echo "fuzz: $n_targets targets, $n_crashed crashes"
[ $n_crashed -eq 0 ]
