#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs what is missing, builds with
# warnings as errors, runs every test, then again under AddressSanitizer +
# UndefinedBehaviorSanitizer, then runs every fuzz target briefly. Ends with one
# line "N passed, N failed" (skipped tests are counted apart, on the line before).
#   scripts/test.sh            everything
#   scripts/test.sh --quick    one plain build, no sanitizers
set -uo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/install-deps.sh || { echo "test: dependency install failed"; echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0
count() { # count RESULTS_JSON: add a meson test log's results to the totals
  local line
  line=$(/usr/bin/python3 - "$1" <<'PY'
import json, sys
p = f = s = 0
for row in open(sys.argv[1]):
    r = json.loads(row).get("result")
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
  read -r p f s <<<"$line"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

run_suite() { # run_suite NAME MESON_OPTIONS...: configure, build, test one build folder
  local name=$1; shift
  local dir="build-ci-$name"
  echo "== $name: meson setup $*"
  if ! { meson setup --wipe "$dir" "$@" >"$dir.setup.log" 2>&1 || meson setup "$dir" "$@" >"$dir.setup.log" 2>&1; }; then
    cat "$dir.setup.log"; echo "test: $name: configure failed"; failed=$((failed + 1)); return
  fi
  if ! ninja -C "$dir" >"$dir.build.log" 2>&1; then
    tail -50 "$dir.build.log"; echo "test: $name: build failed"; failed=$((failed + 1)); return
  fi
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${TEST_ARGS[@]}" | tail -25
  count "$dir/meson-logs/testlog.json"
}

TEST_ARGS=()
# Python onnxruntime in a Debian testing chroot (tests/python/ort_chroot.py): built by
# debootstrap in the full run only, about 2-3.5 minutes; --quick skips it, saying so.
[ $quick = 0 ] && export ONNX_LSC_CHROOT=1
run_suite plain -Dwerror=true -Dbuildtype=debugoptimized
if [ $quick = 0 ]; then
  # ASan + UBSan over the same suite; leaks are errors (LeakSanitizer).
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  TEST_ARGS=(--timeout-multiplier 4)
  CC=clang run_suite sanitize -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbench=false
fi

if [ $quick = 0 ] && [ -x scripts/fuzz-smoke.sh ]; then
  # Every fuzz target for a short while (ASan + UBSan); each target counts as a test.
  echo "== fuzz smoke"
  scripts/fuzz-smoke.sh 2>&1 | tee build-ci-fuzz.log | tail -15
  verdict=$(grep -E '^fuzz: [0-9]+ targets, [0-9]+ crashes' build-ci-fuzz.log | tail -n 1)
  if [ -n "$verdict" ]; then
    read -r targets crashes < <(echo "$verdict" | sed -E 's/^fuzz: ([0-9]+) targets, ([0-9]+) crashes.*/\1 \2/')
    passed=$((passed + targets - crashes)); failed=$((failed + crashes))
  else
    echo "test: fuzz smoke did not finish"; failed=$((failed + 1))
  fi
fi

echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
