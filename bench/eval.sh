#!/usr/bin/env bash
# The tree evaluator's targets, as ratios measured side by side in one run on the bench model
# (100 trees, depth 6, 20 features, reg:squarederror, trained with `smxgb train` as
# bench/serve.sh does):
#   1. predict in process, 1000 rows, one thread: XGBoosterPredictFromDense (nthread 1) time
#      over the evaluator's (bench/predict_inproc.c; both predict the same rows, compared bit
#      for bit)                                                              target >= 3
#   2. `smxgb serve`, 1000-row text/csv requests: this build's req/s over today's (the base
#      commit, built from `git archive` in $WORK/base)                       target >= 2
#   3. `smxgb serve`, 1-row requests: req/s over a libmicrohttpd server answering a fixed body
#      with serve's daemon setup (bench/fixed_mhd.c)                         target >= 0.5
#      and serve's p99 at 8 connections                                      target <= 1 ms
#      (also printed: the fixed-body server's p99, and each server's CPU time per request)
# wrk: keep-alive, 8 connections, WRK_THREADS threads (2), DURATION seconds per run. Each run
# is repeated REPS times, the servers measured in turn within a repetition; the table has every
# run and the medians.
#   bench/eval.sh        (BASE=<commit> to compare with, default: the merge base with main;
#                         DURATION=5 REPS=3 WORKERS=nproc WRK_THREADS=2; on a 2-CPU machine
#                         WORKERS=1 WRK_THREADS=1 leaves each side a CPU, so the p99 measures
#                         the servers rather than the scheduler)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
SMXGB=${SMXGB:-$BUILD/tools/smxgb}
WORK=${WORK:-$BUILD/bench-eval}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
WORKERS=${WORKERS:-$(nproc)}
WRK_THREADS=${WRK_THREADS:-2}
BASE=${BASE:-$(git merge-base HEAD main)}
for t in wrk cc cmake pkg-config awk curl git; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 2; }
done
[ -x "$SMXGB" ] || { echo "bench: build first (cmake -S . -B build && cmake --build build)" >&2; exit 2; }
mkdir -p "$WORK"

# ---- today's build: the base commit, exported and built once ----
if [ "$(cat "$WORK/base/REV" 2>/dev/null)" != "$BASE" ]; then
  rm -rf "$WORK/base" && mkdir -p "$WORK/base/src"
  git archive "$BASE" | tar -x -C "$WORK/base/src"
  cmake -S "$WORK/base/src" -B "$WORK/base/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$WORK/base/build" -j"$(nproc)" --target smxgb >/dev/null
  echo "$BASE" > "$WORK/base/REV"
fi
OLD=$WORK/base/build/tools/smxgb

# ---- the model and payloads (deterministic) ----
if [ ! -s "$WORK/model.tar.gz" ]; then
  awk 'BEGIN { srand(42); for (r = 0; r < 20000; r++) { s = 0; line = "";
         for (f = 0; f < 20; f++) { v = rand() * 2 - 1; line = line "," sprintf("%.6f", v);
           s += (f % 3 == 0 ? v * v : v) * (f + 1) / 20 }
         printf "%.6f%s\n", s + (rand() - 0.5) * 0.1, line } }' > "$WORK/train.csv"
  "$SMXGB" train --train "$WORK/train.csv" -c 1.7-1 -p num_round=100 -p max_depth=6 \
    -p objective=reg:squarederror -p eta=0.1 -q -o "$WORK/model.tar.gz" >/dev/null
fi
mkdir -p "$WORK/model" && tar -xzf "$WORK/model.tar.gz" -C "$WORK/model"
for rows in 1 1000; do
  awk -v n="$rows" 'BEGIN { srand(7); for (r = 0; r < n; r++) { line = "";
       for (f = 0; f < 20; f++) line = line (f ? "," : "") sprintf("%.6f", rand() * 2 - 1);
       printf "%s%s", line, (r < n - 1 ? "\n" : "") } }' > "$WORK/rows-$rows.csv"
done

# ---- the bench programs ----
cc -O2 -std=c11 -D_GNU_SOURCE -I. bench/predict_inproc.c -o "$WORK/predict_inproc" \
  "$BUILD/compat/libsmxgb_compat.a" "$BUILD/artifacts/libsmxgb_artifacts.a" \
  "$BUILD/base/libsmxgb_base.a" $(pkg-config --libs jansson libarchive zlib libcrypto) \
  -lpthread -ldl -lm
cc -O2 -std=c11 -D_GNU_SOURCE bench/fixed_mhd.c -o "$WORK/fixed_mhd" \
  $(pkg-config --cflags --libs libmicrohttpd)

# ---- the three servers ----
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
start_serve() { # BINARY LOG (the port is in the log)
  "$1" serve "$WORK/model.tar.gz" --port 0 --workers "$WORKERS" -q >/dev/null 2>"$2" &
  PIDS+=($!)
  for _ in $(seq 400); do grep -q "listening on" "$2" && break; sleep 0.05; done
}
port_of() { sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\) .*/\1/p' "$1" | head -1; }
start_serve "$SMXGB" "$WORK/serve-new.log"
NEW_PID=$!
start_serve "$OLD" "$WORK/serve-old.log"
NEW_PORT=$(port_of "$WORK/serve-new.log")
OLD_PORT=$(port_of "$WORK/serve-old.log")
"$WORK/fixed_mhd" 0 "$WORKERS" > "$WORK/fixed.log" & # port 0: the system picks a free one
FIX_PID=$!
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/fixed.log" && break; sleep 0.05; done
FIX_PORT=$(sed -n 's/^listening on \([0-9]*\)$/\1/p' "$WORK/fixed.log")
[ -n "$NEW_PORT" ] && [ -n "$OLD_PORT" ] && [ -n "$FIX_PORT" ] ||
  { cat "$WORK"/serve-*.log "$WORK/fixed.log" >&2; exit 1; }
# which predictor serves (a load note, which -q leaves out): from a start without -q
"$SMXGB" serve "$WORK/model.tar.gz" --port 0 --workers 1 >/dev/null 2>"$WORK/serve-note.log" &
NOTE_PID=$!
for _ in $(seq 400); do grep -q "listening on" "$WORK/serve-note.log" && break; sleep 0.05; done
kill "$NOTE_PID" && wait "$NOTE_PID" || true
grep "predicting with" "$WORK/serve-note.log" | sed 's/^/new build: /' || true

cat > "$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/csv"
local f = io.open(os.getenv("PAYLOAD"), "rb")
wrk.body = f:read("*a")
f:close()
EOF
cpu_ms() { awk '{ print ($14 + $15) * 10 }' "/proc/$1/stat"; } # utime + stime, 100 Hz ticks
run_wrk() { # PORT ROWS -> "req/s p99_ms"
  local P="$WORK/rows-$2.csv"
  curl -sf -H 'Content-Type: text/csv' --data-binary @"$P" "http://127.0.0.1:$1/invocations" \
    >/dev/null
  local out
  out=$(PAYLOAD="$P" wrk -t"$WRK_THREADS" -c8 -d"${DURATION}s" --latency -s "$WORK/post.lua" \
    "http://127.0.0.1:$1/invocations")
  if awk '/Non-2xx/ { bad = 1 } END { exit !bad }' <<<"$out"; then
    echo "bench: non-2xx answers from port $1" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { rps = $2 }
       $1 == "99%" { v = $2; ms = v + 0; if (v ~ /us$/) ms /= 1000; else if (v ~ /[^m]s$/) ms *= 1000 }
       END { printf "%s %.3f\n", rps, ms }' <<<"$out"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "model: 100 trees, depth 6, 20 features; $WORKERS workers; wrk: $WRK_THREADS threads, 8 connections; $(nproc) CPUs; base $BASE"
printf "%-4s %12s %10s %10s | %10s %10s %7s | %9s %9s %7s %8s %8s %7s %7s\n" rep \
  "xgb_us/1000" "eval_us" ratio "new_1000" "old_1000" ratio "new_1" "fixed_1" ratio "p99_ms" \
  "fix_p99" "cpu_us" "fix_cpu"
: > "$WORK/results"
c1f=$(cpu_ms "$FIX_PID")
for rep in $(seq "$REPS"); do
  ip=$("$WORK/predict_inproc" "$WORK/model/xgboost-model" 1000 "$DURATION" | tail -1)
  xus=$(sed 's/.*xgboost_us=\([0-9.]*\).*/\1/' <<<"$ip")
  eus=$(sed 's/.*eval_us=\([0-9.]*\).*/\1/' <<<"$ip")
  r1=$(awk -v a="$xus" -v b="$eus" 'BEGIN { printf "%.2f", a / b }')
  run_wrk "$NEW_PORT" 1000 > "$WORK/wrk.out" && read -r new1000 _ < "$WORK/wrk.out"
  run_wrk "$OLD_PORT" 1000 > "$WORK/wrk.out" && read -r old1000 _ < "$WORK/wrk.out"
  r2=$(awk -v a="$new1000" -v b="$old1000" 'BEGIN { printf "%.2f", a / b }')
  c0=$(cpu_ms "$NEW_PID")
  run_wrk "$NEW_PORT" 1 > "$WORK/wrk.out" && read -r new1 p99 < "$WORK/wrk.out"
  c1=$(cpu_ms "$NEW_PID")
  run_wrk "$FIX_PORT" 1 > "$WORK/wrk.out" && read -r fix1 fp99 < "$WORK/wrk.out"
  c2=$(cpu_ms "$FIX_PID")
  r3=$(awk -v a="$new1" -v b="$fix1" 'BEGIN { printf "%.2f", a / b }')
  # server CPU per request (the run's CPU time over its requests): less sensitive than req/s to
  # what else runs on the machine
  ncpu=$(awk -v c="$((c1 - c0))" -v r="$new1" -v d="$DURATION" 'BEGIN { printf "%.1f", c * 1000 / (r * d) }')
  fcpu=$(awk -v c="$((c2 - c1f))" -v r="$fix1" -v d="$DURATION" 'BEGIN { printf "%.1f", c * 1000 / (r * d) }')
  c1f=$c2
  printf "%-4s %12s %10s %10s | %10s %10s %7s | %9s %9s %7s %8s %8s %7s %7s\n" "$rep" "$xus" \
    "$eus" "$r1" "$new1000" "$old1000" "$r2" "$new1" "$fix1" "$r3" "$p99" "$fp99" "$ncpu" "$fcpu"
  echo "$r1 $r2 $r3 $p99 $fp99 $ncpu $fcpu" >> "$WORK/results"
done
m1=$(awk '{ print $1 }' "$WORK/results" | median)
m2=$(awk '{ print $2 }' "$WORK/results" | median)
m3=$(awk '{ print $3 }' "$WORK/results" | median)
mp=$(awk '{ print $4 }' "$WORK/results" | median)
mfp=$(awk '{ print $5 }' "$WORK/results" | median)
mnc=$(awk '{ print $6 }' "$WORK/results" | median)
mfc=$(awk '{ print $7 }' "$WORK/results" | median)
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = op == ">=" ? v >= t : v <= t;
  print ok ? "met" : "NOT met" }'; }
echo "medians over $REPS runs:"
echo "  1. in process, 1000 rows, 1 thread: XGBoost / evaluator = $m1 (target >= 3: $(verdict "$m1" 3 ">="))"
echo "  2. serve, 1000 rows: new / today's req/s = $m2 (target >= 2: $(verdict "$m2" 2 ">="))"
echo "  3. serve, 1 row: serve / fixed-body MHD req/s = $m3 (target >= 0.5: $(verdict "$m3" 0.5 ">=")); p99 $mp ms (target <= 1: $(verdict "$mp" 1 "<=")); the fixed-body server's p99 $mfp ms"
echo "     server CPU per request: serve $mnc us, fixed-body MHD $mfc us (ratio $(awk -v a="$mfc" -v b="$mnc" 'BEGIN { printf "%.2f", a / b }'))"
