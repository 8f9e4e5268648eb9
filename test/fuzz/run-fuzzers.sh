#!/usr/bin/env bash
# Builds each libFuzzer target (with ASan + UBSan) and runs it for a fixed budget over its
# corpus in test/fuzz/corpus/<target>/, which new interesting inputs are added to.
# Usage: test/fuzz/run-fuzzers.sh [seconds per target, default 10]
# FUZZ_NEW_INPUTS=<dir> writes new inputs there instead of into the kept corpus (the test does
# this, so a test run leaves the repository unchanged). FUZZ_MINIMIZE=1 shrinks the kept corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The targets link their own sanitizer runtime; one preloaded by test:asan must not leak in.
unset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
seconds=${1:-10}
command -v clang++ >/dev/null || { apt-get update -qq && apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; }
out=$(mktemp -d)
core="native/core/content_disposition.cc native/core/file_ops.cc"
for target in content_disposition url_file_name task_tag; do
  sources=$core
  [ "$target" = task_tag ] && sources="native/apple/task_tag.cc"  # the Apple engine's tag decoder
  clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -Inative \
    "test/fuzz/fuzz_${target}.cc" $sources -o "$out/$target"
  corpus="test/fuzz/corpus/$target"
  mkdir -p "$corpus"
  if [ "${FUZZ_MINIMIZE:-}" = 1 ]; then
    mkdir -p "$out/min-$target"
    "$out/$target" -merge=1 "$out/min-$target" "$corpus" >/dev/null 2>&1
    rm -rf "$corpus" && mv "$out/min-$target" "$corpus"
    continue
  fi
  dirs=("$corpus")
  if [ -n "${FUZZ_NEW_INPUTS:-}" ]; then mkdir -p "$FUZZ_NEW_INPUTS/$target"; dirs=("$FUZZ_NEW_INPUTS/$target" "$corpus"); fi
  if ! "$out/$target" -max_total_time="$seconds" -print_final_stats=1 "${dirs[@]}" >"$out/$target.log" 2>&1; then
    tail -n 40 "$out/$target.log"
    echo "fuzz target $target failed"
    exit 1
  fi
  grep -E "^(stat::number_of_executed_units|Done)" "$out/$target.log"
done
rm -rf "$out"
