# Shared by the tests/ship/test_*.sh scripts (ctest runs each with bash; cmake/install.cmake
# registers them): the build's paths, a scratch directory removed on exit, assertions that
# say what was expected, and test artifacts made the way a user makes them.
#   SMXGB_SRC    the source tree         SMXGB_BUILD  the build directory
#   SMXGB_BIN    the built binary
# Exit 77 is a skip (ctest's SKIP_RETURN_CODE): only when a tool is missing, with the reason.
# Run one by hand with its environment: ctest --test-dir build -R ship_action -V
set -uo pipefail

: "${SMXGB_SRC:?set by ctest}" "${SMXGB_BUILD:?set by ctest}" "${SMXGB_BIN:?set by ctest}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smxgb-ship.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() {
  echo "FAIL: $*" >&2
  FAILS=$((FAILS + 1))
}

# ok DESCRIPTION COMMAND...: run COMMAND, fail with DESCRIPTION unless it exits 0
ok() {
  local what=$1
  shift
  "$@" || fail "$what"
}

# expect_rc WANT GOT WHAT
expect_rc() {
  [ "$2" -eq "$1" ] || fail "$3: exit status $2, expected $1"
}

# contains FILE TEXT WHAT: the file has TEXT (fixed string)
contains() {
  grep -qF -- "$2" "$1" || {
    fail "$3: '$2' not in $1"
    sed 's/^/    | /' "$1" | head -40 >&2
  }
}

lacks() {
  ! grep -qF -- "$2" "$1" || fail "$3: '$2' unexpectedly in $1"
}

# need TOOL WHY: skip the test (exit 77) when TOOL is not installed
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "SKIP: $1 is not installed ($2); scripts/setup.sh installs it" >&2
  exit 77
}

finish() {
  if [ "$FAILS" -gt 0 ]; then
    echo "$FAILS check(s) failed" >&2
    exit 1
  fi
  echo "all checks passed"
  exit 0
}

# make_artifacts DIR: good.tar.gz (`smxgb package` of the bundled 1.7.4 model), bad.tar.gz
# (the model in a sub-folder: an error), warn.tar.gz (the model and a macOS ._ dotfile: only a
# warning for 1.7-1)
make_artifacts() {
  local d=$1
  mkdir -p "$d/.src/m" "$d/.src/w"
  cp "$SMXGB_SRC/tests/data/model-1.7.4-binary_logistic.bin" "$d/.src/xgboost-model"
  "$SMXGB_BIN" package "$d/.src/xgboost-model" -o "$d/good.tar.gz" >/dev/null || fail "smxgb package"
  cp "$d/.src/xgboost-model" "$d/.src/m/"
  tar -C "$d/.src" -czf "$d/bad.tar.gz" m
  cp "$d/.src/xgboost-model" "$d/.src/w/xgboost-model"
  cp "$d/.src/xgboost-model" "$d/.src/w/._xgboost-model"
  tar -C "$d/.src/w" -czf "$d/warn.tar.gz" xgboost-model ._xgboost-model
  rm -rf "$d/.src"
}

# readme_block NAME: the fenced block after `<!-- example: NAME -->` in README.md
readme_block() {
  awk -v name="$1" '
    $0 == "<!-- example: " name " -->" { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }
  ' "$SMXGB_SRC/README.md"
}
