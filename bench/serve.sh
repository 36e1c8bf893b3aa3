#!/usr/bin/env bash
# Benchmark `smxgb serve` (issue: container-faithful serving, an order of magnitude faster):
#   - a 100-tree depth-6 reg:squarederror model on 20 features, trained with `smxgb train`;
#   - wrk, keep-alive, 8 connections, text/csv payloads of 1, 100 and 1000 rows: req/s, p50, p99;
#   - the in-process limit: decode + predict + encode of the same payloads through the same
#     request handler without HTTP (bench/serve_inproc.c), as many threads as workers;
#   - cold start: process start to the first 200 from /ping, small model (tests/data/serve).
#   bench/serve.sh            (DURATION=10 seconds per run; WORKERS=nproc; SERVE_ARGS="-q")
set -euo pipefail
cd "$(dirname "$0")/.."
SMXGB=${SMXGB:-$PWD/build/tools/smxgb}
BUILD=${BUILD:-$PWD/build}
WORK=${WORK:-$BUILD/bench-serve}
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-$(nproc)}
SERVE_ARGS=${SERVE_ARGS:--q}
for t in wrk cc pkg-config awk curl; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
[ -x "$SMXGB" ] || { echo "bench: build first (cmake -S . -B build && cmake --build build)" >&2; exit 2; }
mkdir -p "$WORK"

# ---- model and payloads (deterministic) ----
if [ ! -s "$WORK/model.tar.gz" ]; then
  awk 'BEGIN { srand(42); for (r = 0; r < 20000; r++) { s = 0; line = "";
         for (f = 0; f < 20; f++) { v = rand() * 2 - 1; line = line "," sprintf("%.6f", v);
           s += (f % 3 == 0 ? v * v : v) * (f + 1) / 20 }
         printf "%.6f%s\n", s + (rand() - 0.5) * 0.1, line } }' > "$WORK/train.csv"
  "$SMXGB" train --train "$WORK/train.csv" -c 1.7-1 -p num_round=100 -p max_depth=6 \
    -p objective=reg:squarederror -p eta=0.1 -q -o "$WORK/model.tar.gz" >/dev/null
fi
mkdir -p "$WORK/model" && tar -xzf "$WORK/model.tar.gz" -C "$WORK/model"
for rows in 1 100 1000; do
  awk -v n="$rows" 'BEGIN { srand(7); for (r = 0; r < n; r++) { line = "";
       for (f = 0; f < 20; f++) line = line (f ? "," : "") sprintf("%.6f", rand() * 2 - 1);
       printf "%s%s", line, (r < n - 1 ? "\n" : "") } }' > "$WORK/rows-$rows.csv"
done
"$SMXGB" package tests/data/serve/models/reg/xgboost-model -o "$WORK/small.tar.gz" >/dev/null 2>&1 ||
  cp "$WORK/model.tar.gz" "$WORK/small.tar.gz"

# ---- the in-process limit program ----
cc -O2 -std=c11 -D_GNU_SOURCE -I. bench/serve_inproc.c -o "$WORK/serve_inproc" \
  "$BUILD/serve/libsmxgb_serve.a" "$BUILD/compat/libsmxgb_compat.a" \
  "$BUILD/artifacts/libsmxgb_artifacts.a" "$BUILD/base/libsmxgb_base.a" \
  $(pkg-config --libs libmicrohttpd libprotobuf-c jansson libarchive zlib libcrypto) \
  -lpthread -ldl -lm

# ---- the server ----
LOG="$WORK/serve.log"
"$SMXGB" serve "$WORK/model.tar.gz" --port 0 --workers "$WORKERS" $SERVE_ARGS 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 200); do grep -q "listening on" "$LOG" && break; sleep 0.05; done
PORT=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\) .*/\1/p' "$LOG" | head -1)
[ -n "$PORT" ] || { cat "$LOG" >&2; exit 1; }
cat > "$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/csv"
local f = io.open(os.getenv("PAYLOAD"), "rb")
wrk.body = f:read("*a")
f:close()
EOF

echo "model: 100 trees, depth 6, 20 features; server: $WORKERS workers ($SERVE_ARGS); $(nproc) CPUs"
printf "%-6s %12s %10s %10s %14s %12s %12s %8s\n" rows "wrk req/s" "p50" "p99" "inproc req/s" \
  "inproc p50" "inproc p99" ratio
for rows in 1 100 1000; do
  P="$WORK/rows-$rows.csv"
  curl -sf -H 'Content-Type: text/csv' --data-binary @"$P" "http://127.0.0.1:$PORT/invocations" \
    >/dev/null
  out=$(PAYLOAD="$P" wrk -t2 -c8 -d"${DURATION}s" --latency -s "$WORK/post.lua" \
    "http://127.0.0.1:$PORT/invocations")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  [ -z "$non2xx" ] || { echo "bench: $non2xx non-2xx answers" >&2; exit 1; }
  ip=$("$WORK/serve_inproc" loop "$WORK/model" "$P" "$DURATION" "$WORKERS")
  irps=$(sed 's/.*req\/s=\([0-9.]*\).*/\1/' <<<"$ip")
  ip50=$(sed 's/.*p50_us=\([0-9.]*\).*/\1/' <<<"$ip")
  ip99=$(sed 's/.*p99_us=\([0-9.]*\).*/\1/' <<<"$ip")
  ratio=$(awk -v a="$irps" -v b="$rps" 'BEGIN { printf "%.2f", a / b }')
  printf "%-6s %12s %10s %10s %14s %11sus %11sus %8s\n" "$rows" "$rps" "$p50" "$p99" "$irps" \
    "$ip50" "$ip99" "$ratio"
done
kill $PID
wait $PID 2>/dev/null || true
trap - EXIT

echo "cold start (small model, process start to the first 200 from /ping):"
"$WORK/serve_inproc" cold "$SMXGB" "$WORK/small.tar.gz" 15
