#!/usr/bin/env bash
# Benchmark: `smxgb verify` on a ~200 MB model.tar.gz against `gzip -dc > /dev/null` on the
# same file: wall time (hyperfine) and peak RSS (/usr/bin/time -v), printed as ratios. A second,
# 4x smaller artifact shows whether verify's peak RSS grows with the artifact.
#   bench/verify.sh            (TREES=21500 gives a ~200 MB artifact; VERIFY_ARGS replaces -c 1.7-1)
set -euo pipefail
cd "$(dirname "$0")/.."
SMXGB=${SMXGB:-$PWD/build/tools/smxgb}
WORK=${WORK:-$PWD/build/bench}
TREES=${TREES:-21500}
# the model is a 1.7 legacy binary: ok for 1.7-1 (0.90-x would predict nothing, 3.2-0 fail)
VERIFY_ARGS=${VERIFY_ARGS:--c 1.7-1}
for t in hyperfine /usr/bin/time python3; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
mkdir -p "$WORK"

make_artifact() { # trees out
  local model="$WORK/model-$1.bin"
  [ -s "$2" ] && return 0
  python3 bench/gen_big_model.py "$model" "$1" 8 20
  "$SMXGB" package "$model" -o "$2" >/dev/null
  rm -f "$model"
}
BIG="$WORK/big.tar.gz"
SMALL="$WORK/small.tar.gz"
make_artifact "$TREES" "$BIG"
make_artifact $((TREES / 4)) "$SMALL"
echo "artifact: $(du -m "$BIG" | cut -f1) MB compressed; small: $(du -m "$SMALL" | cut -f1) MB"

# verify must succeed (exit 0) for the timing to mean anything
"$SMXGB" verify $VERIFY_ARGS "$BIG" >/dev/null

hyperfine -N --warmup 1 --runs ${RUNS:-5} --export-json "$WORK/verify.json" \
  "gzip -dc $BIG" "$SMXGB verify $VERIFY_ARGS --json $BIG" >"$WORK/hyperfine.txt" 2>&1 \
  || { cat "$WORK/hyperfine.txt"; exit 1; }
grep -E "Time|±" "$WORK/hyperfine.txt" | head -4

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}'; }
RSS_GZIP=$(rss sh -c "gzip -dc '$BIG' > /dev/null")
RSS_BIG=$(rss "$SMXGB" verify $VERIFY_ARGS --json "$BIG")
RSS_SMALL=$(rss "$SMXGB" verify $VERIFY_ARGS --json "$SMALL")

python3 - "$WORK/verify.json" "$RSS_GZIP" "$RSS_BIG" "$RSS_SMALL" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
g, v = r[0]["mean"], r[1]["mean"]
rg, rb, rs = (int(x) for x in sys.argv[2:5])
print(f"wall: gzip -dc {g:.3f} s, smxgb verify {v:.3f} s, ratio {v / g:.2f}x (target <= 1.3x)")
print(f"peak RSS: gzip -dc {rg} KB, smxgb verify {rb} KB (small artifact: {rs} KB)")
print(f"RSS growth big/small: {rb / rs:.2f}x for a {4}x larger artifact (flat = about 1.0)")
PY
