#!/usr/bin/env bash
# Static checks CI runs before the tests:
#   - every C file is formatted as .clang-format says;
#   - modules depend on each other one way only (scripts/check_layers.py);
#   - a Release build with gcc and a Release build with clang are warning-free (-Werror here;
#     a user's default build does not turn warnings into errors).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
echo "lint: clang-format: $(echo "$files" | wc -w) files formatted"
for cc in gcc clang; do
  dir=build-lint-$cc
  CC=$cc cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DSMXGB_WERROR=ON -DSMXGB_TESTS=ON >/dev/null
  cmake --build "$dir" -j"$(nproc)" >/dev/null
  echo "lint: $cc Release build: no warnings"
done
python3 scripts/check_layers.py --build build-lint-gcc
echo "lint: check_layers: modules one way, no circle between files"
