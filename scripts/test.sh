#!/usr/bin/env bash
# Build and run every test (Criterion unit and end-to-end tests, under ctest).
#   SMXGB_SANITIZE=1 scripts/test.sh   the same tests in an ASan+UBSan build (build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SMXGB_SANITIZE:-0}" = 1 ]; then
  BUILD_DIR=${BUILD_DIR:-build-asan}
  CMAKE_ARGS="-DSMXGB_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DSMXGB_WERROR=ON"
  # libxgboost is not built with ASan; leak checking covers our own code in the e2e run
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  BUILD_DIR=${BUILD_DIR:-build}
  CMAKE_ARGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMXGB_WERROR=ON"
fi
cmake -S . -B "$BUILD_DIR" $CMAKE_ARGS >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$(nproc)" "$@"
