#!/usr/bin/env bash
# Benchmark: `smxgb train` against Debian's python3-xgboost 1.7.4 (pandas.read_csv + xgb.train)
# on the same 1M rows x 20 features CSV, 50 rounds, tree_method=hist, objective
# reg:squarederror, train set evaluated each round: wall time (hyperfine) and peak RSS
# (/usr/bin/time -v), printed with the ratios and the final train-rmse of both. With
# tree_method=hist smxgb trains from a QuantileDMatrix sketched straight from its parsed float
# buffer (same trees as a DMatrix; tests/test_cli_train.c checks byte equality with xgb.train).
#   bench/train.sh     (ROWS, ROUNDS, RUNS to change the size; WORK for the data directory)
# Targets: <= 1.0x the wall time, <= 0.7x the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
SMXGB=${SMXGB:-$PWD/build/tools/smxgb}
WORK=${WORK:-$PWD/build/bench}
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-50}
PY=/usr/bin/python3 # Debian's python3 with python3-xgboost, not another python3 on PATH
for t in hyperfine /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (scripts/setup.sh installs it)" >&2; exit 2; }
done
"$PY" -c 'import xgboost, pandas' 2>/dev/null ||
  { echo "bench: $PY lacks xgboost/pandas (scripts/setup.sh installs python3-xgboost python3-pandas)" >&2; exit 2; }
mkdir -p "$WORK"
DATA="$WORK/train-$ROWS.csv"
[ -s "$DATA" ] || "$PY" bench/gen_train_csv.py "$DATA" "$ROWS" 20
echo "data: $DATA ($(du -m "$DATA" | cut -f1) MB, $ROWS rows x 20 features); $ROUNDS rounds, hist"

OURS="$SMXGB train --train $DATA --container 1.7-1 -p num_round=$ROUNDS -p tree_method=hist -p objective=reg:squarederror -o $WORK/train-model.tar.gz --quiet"
REF="$PY bench/train_ref.py $DATA $WORK/train-ref-model $ROUNDS"
# smxgb train waits passively between OpenMP regions (OMP_WAIT_POLICY=PASSIVE); the same
# setting for Python shows how much of the difference is that setting alone
REF_PASSIVE="env OMP_WAIT_POLICY=PASSIVE $REF"

# both must succeed, and report the metric of their last round
OUR_METRIC=$($SMXGB train --train "$DATA" --container 1.7-1 -p num_round="$ROUNDS" -p tree_method=hist \
  -p objective=reg:squarederror -o "$WORK/train-model.tar.gz" 2>/dev/null | grep -E '^\[' | tail -1 | sed 's/.*train-rmse://')
REF_METRIC=$($REF | sed 's/.*train-rmse: //')

hyperfine -N --runs ${RUNS:-3} --export-json "$WORK/train.json" "$REF" "$OURS" "$REF_PASSIVE" \
  >"$WORK/train-hyperfine.txt" 2>&1 || { cat "$WORK/train-hyperfine.txt"; exit 1; }
grep -E "Time|±" "$WORK/train-hyperfine.txt" | head -6

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}'; }
RSS_REF=$(rss $REF)
RSS_OURS=$(rss $OURS)

"$PY" - "$WORK/train.json" "$RSS_REF" "$RSS_OURS" "$REF_METRIC" "$OUR_METRIC" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
p, s, pp = r[0]["mean"], r[1]["mean"], r[2]["mean"]
rp, rs = int(sys.argv[2]), int(sys.argv[3])
print(f"wall: python xgb.train {p:.2f} s, smxgb train {s:.2f} s, ratio {s / p:.2f}x (target <= 1.0x)")
print(f"      python with OMP_WAIT_POLICY=PASSIVE {pp:.2f} s, ratio {s / pp:.2f}x")
cp, cs = r[0]["user"] + r[0]["system"], r[1]["user"] + r[1]["system"]
print(f"cpu (user+sys): python {cp:.2f} s, smxgb train {cs:.2f} s, ratio {cs / cp:.2f}x "
      "(wall time is noisy on a shared machine; cpu time is not)")
print(f"peak RSS: python {rp // 1024} MB, smxgb train {rs // 1024} MB, ratio {rs / rp:.2f}x (target <= 0.7x)")
print(f"final train-rmse: python {sys.argv[4]}, smxgb {sys.argv[5]}"
      + ("  (same)" if sys.argv[4] == sys.argv[5] else "  (DIFFERENT)"))
PY
