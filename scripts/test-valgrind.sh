#!/usr/bin/env bash
# `npm run test:valgrind`: the engine paths of scripts/valgrind-workload.js under valgrind
# memcheck. Fails on any memory error in our code or any definitely lost block.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
  --error-exitcode=99 --suppressions=scripts/valgrind.supp --log-file="$log" \
  node scripts/valgrind-workload.js || status=$?
grep -E "definitely lost|ERROR SUMMARY" "$log"
# On failure the whole report: a CI log is often all there is to go on.
if [ "$status" -ne 0 ]; then cat "$log"; fi
exit $status
