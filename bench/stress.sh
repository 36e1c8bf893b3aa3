#!/usr/bin/env bash
# smxgb serve under stress, on loopback, bounded in time (about STRESS_SECONDS + 60 s):
#   1. wrk, STRESS_SECONDS (default 60) at 64 connections, one-row CSV requests: 0 errors and
#      under 5% RSS growth between the end of a 5 s warm-up and the end of the run;
#   2. 1000 idle or slow connections: GET /ping still answers within 2 s, every half second;
#   3. a body over MAX_CONTENT_LENGTH gets 413 before it is sent;
#   4. malformed HTTP gets 400;
#   5. SIGTERM, then SIGHUP, while a request is in flight: the request completes, serve exits 0
#      and removes the model it extracted;
#   6. slowloris at the connection cap: 4096 + 100 request heads that trickle a header line
#      every 2 s, reopened as serve closes them, for 12 s with --header-timeout 5: /ping every
#      100 ms answers (90% within 50 ms, all within 1 s), no head lives past its deadline + 2 s;
#   7. idle buffers: 150 keep-alive connections each send a 5 MB CSV at once and stay open once
#      answered: serve's RSS then stays under 100 MB.
# Exit 0 when every check passes. Needs wrk, curl and python3 (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
SMXGB=${SMXGB:-build/tools/smxgb}
DURATION=${STRESS_SECONDS:-60}
tmp=$(mktemp -d)
mkdir "$tmp/scratch" # serve's TMPDIR: where it extracts the artifact
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail=0

"$SMXGB" package tests/data/model-1.7.4-binary_logistic.bin -o "$tmp/model.tar.gz" >/dev/null

# start_serve [serve options...]: starts smxgb serve on a free port; sets pid and port
start_serve() {
  (ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
   TMPDIR="$tmp/scratch" exec "$SMXGB" serve "$tmp/model.tar.gz" --port 0 --quiet "$@") 2>"$tmp/serve.log" &
  pid=$!
  for _ in $(seq 100); do
    port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$tmp/serve.log")
    if [ -n "$port" ] && curl -fs -m 2 -o /dev/null "http://127.0.0.1:$port/ping"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "stress: smxgb serve did not start:" >&2
  cat "$tmp/serve.log" >&2
  exit 1
}
stop_serve() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
many_files() { (ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"); }
scratch_left() { find "$tmp/scratch" -mindepth 1 -maxdepth 1 | wc -l; }
check() { # name, status
  if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1"; fail=1; fi
}

# 1. sustained load
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = "0.5,1.25,3.0,0.0,7.5,2.0"
wrk.headers["Content-Type"] = "text/csv"
LUA
start_serve
wrk -t2 -c64 -d"${DURATION}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/invocations" \
  >"$tmp/wrk.txt" &
wrk_pid=$!
sleep 5
rss_warm=$(rss_kb "$pid")
wait "$wrk_pid"
rss_end=$(rss_kb "$pid")
stop_serve
reqs=$(awk '/requests in/ {print $1}' "$tmp/wrk.txt")
rate=$(awk '/^Requests\/sec/ {print $2}' "$tmp/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $NF}' "$tmp/wrk.txt")
sockerr=$(sed -n 's/.*Socket errors: //p' "$tmp/wrk.txt")
growth=$(awk -v a="$rss_warm" -v b="$rss_end" 'BEGIN {printf "%.2f", (b - a) * 100 / a}')
echo "load: $reqs requests in ${DURATION}s at 64 connections ($rate req/s, p99 $p99)," \
  "non-2xx ${non2xx:-0}, socket errors: ${sockerr:-none}; RSS ${rss_warm} KB -> ${rss_end} KB (${growth}%)"
check "load: no errors" "$([ -z "$non2xx" ] && [ -z "$sockerr" ] && echo 0 || echo 1)"
check "load: RSS growth under 5%" "$(awk -v g="$growth" 'BEGIN {print (g < 5) ? 0 : 1}')"

# 2. idle and slow connections
start_serve
python3 bench/stress_clients.py idle "$port" 1000 10 && s=0 || s=1
stop_serve
check "1000 idle/slow connections: /ping within 2 s" $s

# 3. over the content limit
start_serve --env MAX_CONTENT_LENGTH=1024
python3 bench/stress_clients.py oversize "$port" 1024 && s=0 || s=1
stop_serve
check "body over MAX_CONTENT_LENGTH: 413 before it is sent" $s

# 4. malformed HTTP
start_serve
python3 bench/stress_clients.py malformed "$port" && s=0 || s=1
stop_serve
check "malformed HTTP: 400" $s

# 5. SIGTERM, then SIGHUP, with a request in flight
for sig in TERM HUP; do
  start_serve
  python3 bench/stress_clients.py inflight "$port" "$pid" "$sig" && s=0 || s=1
  wait "$pid" && rc=0 || rc=$?
  pid=
  left=$(scratch_left)
  echo "inflight: smxgb serve exited $rc after SIG$sig; $left extracted model(s) left in TMPDIR"
  check "SIG$sig: in-flight request completes, exit 0, scratch removed" \
    "$([ $s = 0 ] && [ $rc = 0 ] && [ "$left" = 0 ] && echo 0 || echo 1)"
done

# 6. slowloris at the connection cap
start_serve --header-timeout 5
many_files python3 bench/stress_clients.py slowloris "$port" 4196 12 5 && s=0 || s=1
echo "slowloris: serve RSS $(rss_kb "$pid") KB"
stop_serve
check "slowloris at the cap: /ping within 50 ms (p90), heads closed at their deadline" $s

# 7. idle connections after large bodies
start_serve
python3 bench/stress_clients.py idlebuf "$port" "$pid" 150 5 100 && s=0 || s=1
stop_serve
check "150 idle connections after 5 MB bodies: RSS under 100 MB" $s

exit $fail
