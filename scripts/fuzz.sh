#!/usr/bin/env bash
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang and run each for a while.
#   scripts/fuzz.sh              every target, FUZZ_SECONDS (default 60) each
#   scripts/fuzz.sh archive csv  only these targets
# Each target starts from its seed corpus (tests/fuzz/corpus/<name>/, read-only) plus what
# earlier runs found (build-fuzz/corpus/<name>/). A crash leaves build-fuzz/crash/<name>/ and
# makes the script exit 1; turn it into a regression test before fixing it. The last line per
# target gives executions and the time spent.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
BUILD_DIR=${BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$BUILD_DIR" -DSMXGB_FUZZ=ON -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  for src in tests/fuzz/fuzz_*.c; do
    n=$(basename "$src" .c)
    targets+=("${n#fuzz_}")
  done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
printf '%-14s %12s %10s %8s %s\n' target executions exec/s seconds result
for t in "${targets[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/fuzz_$t"
  [ -x "$bin" ] || { echo "fuzz.sh: no target fuzz_$t" >&2; exit 2; }
  corpus="$BUILD_DIR/corpus/$t"
  crash="$BUILD_DIR/crash/$t"
  mkdir -p "$corpus" "$crash"
  seeds=()
  [ -d "tests/fuzz/corpus/$t" ] && seeds=("tests/fuzz/corpus/$t")
  log="$BUILD_DIR/fuzz_$t.log"
  set +e
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$crash/" -print_final_stats=1 "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if ((rc == 0)); then result=ok; else result="CRASH (see $log, $crash)"; failed+=("$t"); fi
  printf '%-14s %12s %10s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "$SECONDS_EACH" "$result"
done
if ((${#failed[@]})); then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
