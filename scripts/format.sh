#!/usr/bin/env bash
# Formats the tracked sources (`scripts/format.sh`) or checks them (`scripts/format.sh --check`,
# what .ci/run does): prettier for TypeScript/JavaScript/JSON/YAML (.prettierrc.json,
# .prettierignore), clang-format for C++ and Objective-C++ (.clang-format).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t native < <(git ls-files -co --exclude-standard -- 'native/*' 'test/native/*' 'test/fuzz/*' | grep -E '\.(cc|h|mm|cpp)$')
if [ "${1:-}" = "--check" ]; then
  npx --no-install prettier --check --log-level warn .
  clang-format --dry-run -Werror "${native[@]}"
else
  npx --no-install prettier --write --log-level warn .
  clang-format -i "${native[@]}"
fi
