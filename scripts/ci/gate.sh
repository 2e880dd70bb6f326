#!/usr/bin/env bash
# The release gate for pruned ONNX models, one command for CI steps (action.yml) and
# the pre-commit hook (.pre-commit-hooks.yaml):
#   gate.sh [--fail-if-ratio-below X] [--fail-if-meta-bits-above Y] [--compress-to DIR] MODEL...
# For each MODEL: with --compress-to, `onnx-lsc compress` into DIR and `onnx-lsc verify`
# the pair in ONNX Runtime; then `onnx-lsc stats --markdown` with the gates, appended to
# $GITHUB_STEP_SUMMARY when it is set, else printed. Every model is gated even after a
# failure. Exit: 0 when all passed, else the first failure's exit code (3 ratio gate,
# 4 meta-data gate, 1 verify, 2 usage, 10 + status: docs/cli.md). $ONNX_LSC: the command.
set -uo pipefail
onnx_lsc=${ONNX_LSC:-onnx-lsc}
gates=() models=() compress_to=""
while [ $# -gt 0 ]; do
  case $1 in
    --fail-if-ratio-below|--fail-if-meta-bits-above)
      [ $# -ge 2 ] || { echo "gate: $1 needs a value" >&2; exit 2; }
      [ -n "$2" ] && gates+=("$1" "$2"); shift 2 ;;
    --fail-if-ratio-below=*|--fail-if-meta-bits-above=*) gates+=("$1"); shift ;;
    --compress-to)
      [ $# -ge 2 ] || { echo "gate: $1 needs a folder" >&2; exit 2; }
      compress_to=$2; shift 2 ;;
    --) shift; models+=("$@"); break ;;
    -*) echo "gate: unknown option '$1'" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
[ ${#models[@]} -gt 0 ] || { echo "gate: no model given" >&2; exit 2; }
summary=${GITHUB_STEP_SUMMARY:-/dev/stdout}

first=0
fail() { # fail CODE WHAT: remember the first failure, say what failed
  echo "gate: $2 (exit $1)" >&2
  [ "$first" = 0 ] && first=$1
}
for model in "${models[@]}"; do
  if [ -n "$compress_to" ]; then
    mkdir -p "$compress_to"
    base=$(basename "$model" .onnx)
    out="$compress_to/$base.lsc.onnx"
    "$onnx_lsc" compress "$model" -o "$out" -f -q || { fail $? "$model: compress failed"; continue; }
    "$onnx_lsc" verify "$model" "$out" || fail $? "$model: verify failed"
  fi
  "$onnx_lsc" stats "$model" --markdown "${gates[@]}" >>"$summary"
  rc=$?
  [ $rc = 0 ] || fail $rc "$model: stats gate"
  echo >>"$summary"
done
exit "$first"
