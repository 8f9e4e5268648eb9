#!/usr/bin/env bash
# `npm run test:asan`: rebuilds the addon with clang's AddressSanitizer and
# UndefinedBehaviorSanitizer, runs the whole suite with the ASan runtime preloaded into Node
# (Node itself is not instrumented), then restores the normal build. Any report fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang++ >/dev/null || { apt-get update -qq && apt-get install -y -qq clang >/dev/null; }
runtime=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$runtime" ] || { apt-get update -qq && apt-get install -y -qq libclang-rt-14-dev >/dev/null; runtime=$(clang -print-file-name=libclang_rt.asan-x86_64.so); }
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined -shared-libasan" \
  npx node-gyp rebuild -j 2 >"$log_dir/build.log" 2>&1 || { tail -30 "$log_dir/build.log"; exit 1; }
# Leak detection is off: Node's own allocations (not instrumented) would drown the report;
# `npm run test:valgrind` covers leaks.
URLSESSION_SANITIZER=1 LD_PRELOAD="$runtime" ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:log_path=$log_dir/asan" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$log_dir/ubsan" \
  npx vitest run "$@"
status=$?
reports=$(cat "$log_dir"/asan* "$log_dir"/ubsan* 2>/dev/null | grep -c "ERROR: AddressSanitizer\|runtime error" || true)
cat "$log_dir"/asan* "$log_dir"/ubsan* 2>/dev/null | head -60
npx node-gyp rebuild -j 2 >/dev/null 2>&1
echo "sanitizer reports: $reports"
[ "$status" -eq 0 ] && [ "$reports" -eq 0 ]
