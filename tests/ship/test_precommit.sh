#!/usr/bin/env bash
# The pre-commit hook (.pre-commit-hooks.yaml, entry ci/pre-commit/smxgb-verify). First the
# entry as pre-commit calls it: the hook's args, then several staged file names at once (in
# sub-directories, with spaces); then pre-commit itself with README.md's
# .pre-commit-config.yaml, its repo pointed at a copy of this tree's hook files (pre-commit
# clones the hook repository at `rev`).
. "$(dirname "$0")/lib.sh"

entry="$SMXGB_SRC/ci/pre-commit/smxgb-verify"
proj="$TMP/project"
mkdir -p "$proj/models/a b" "$TMP/bin"
make_artifacts "$proj/models"
mv "$proj/models/bad.tar.gz" "$proj/models/a b/bad model.tar.gz"
ln -s "$SMXGB_BIN" "$TMP/bin/smxgb"
export PATH="$TMP/bin:$PATH"

# the entry, as pre-commit calls it
(cd "$proj" && "$entry" --container 1.7-1 models/good.tar.gz models/warn.tar.gz) >"$TMP/e1.log" 2>&1
expect_rc 0 $? "entry: good and warning-only artifacts"
contains "$TMP/e1.log" "models/warn.tar.gz" "entry verifies every file"
(cd "$proj" && "$entry" --container 1.7-1 models/good.tar.gz "models/a b/bad model.tar.gz") >"$TMP/e2.log" 2>&1
expect_rc 1 $? "entry: a broken artifact among the files"
contains "$TMP/e2.log" "layout-no-model" "entry: the broken artifact's finding"
contains "$TMP/e2.log" "models/a b/bad model.tar.gz" "entry: a file name with spaces"
(cd "$proj" && "$entry" --container 1.7-1) >"$TMP/e3.log" 2>&1
expect_rc 0 $? "entry: no files"
(cd "$proj" && "$entry" --container 9.9-9 models/good.tar.gz) >"$TMP/e4.log" 2>&1
expect_rc 2 $? "entry: an unknown container is a usage error"
(cd "$proj" && "$entry" models/missing.tar.gz) >"$TMP/e5.log" 2>&1
expect_rc 2 $? "entry: a file that cannot be read"
(cd "$proj" && PATH=/usr/bin:/bin "$entry" models/good.tar.gz) >"$TMP/e6.log" 2>&1
expect_rc 2 $? "entry: smxgb not installed"
contains "$TMP/e6.log" "smxgb is not installed" "entry: smxgb not installed"

# pre-commit with README.md's configuration
need pre-commit "it runs the hook as users do"
need git "pre-commit clones the hook repository"
git_q() { git -c user.name=smxgb-test -c user.email=test@smxgb.invalid -c init.defaultBranch=main "$@"; }
hooks="$TMP/hooks"
mkdir -p "$hooks/ci/pre-commit"
cp "$SMXGB_SRC/.pre-commit-hooks.yaml" "$hooks/"
cp "$entry" "$hooks/ci/pre-commit/"
(cd "$hooks" && git_q init -q && git_q add -A && git_q commit -qm hooks) || fail "hook repository"
rev=$(git -C "$hooks" rev-parse HEAD)
readme_block pre-commit | sed -E "s|^( *- repo: ).*|\1$hooks|; s|^( *rev: ).*|\1$rev|" >"$proj/.pre-commit-config.yaml"
grep -q "repo: $hooks" "$proj/.pre-commit-config.yaml" || fail "README.md's pre-commit example has no repo line"
export PRE_COMMIT_HOME="$TMP/pre-commit-home"
(cd "$proj" && git_q init -q && git_q add .pre-commit-config.yaml models/good.tar.gz models/warn.tar.gz) || fail "project repository"
(cd "$proj" && pre-commit run) >"$TMP/p1.log" 2>&1
expect_rc 0 $? "pre-commit on good artifacts"
contains "$TMP/p1.log" "smxgb verify" "pre-commit ran the hook"
contains "$TMP/p1.log" "Passed" "pre-commit: the hook passed"
(cd "$proj" && git_q add "models/a b/bad model.tar.gz" && pre-commit run) >"$TMP/p2.log" 2>&1
expect_rc 1 $? "pre-commit with a broken artifact staged"
contains "$TMP/p2.log" "Failed" "pre-commit: the hook failed"
contains "$TMP/p2.log" "layout-no-model" "pre-commit shows smxgb's finding"
finish
