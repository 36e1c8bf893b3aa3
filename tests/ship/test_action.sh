#!/usr/bin/env bash
# The GitHub Action (action.yml + ci/github/entry.sh), run the way the runner runs a composite
# action (run_action.py) with the environment GitHub sets: GITHUB_ACTIONS, GITHUB_WORKSPACE,
# GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, RUNNER_TEMP, smxgb installed on PATH. First README.md's
# example (its `with:` inputs), then: a good artifact passes; a broken one fails with ::error
# annotations on the file, a job summary naming the finding and its fix, and outputs; a
# warning passes with fail-on: error and fails with fail-on: warning; a Terraform plan; bad
# inputs.
. "$(dirname "$0")/lib.sh"
need jq "the action renders its job summary with it"
need python3 "the test runs action.yml with it"
python3 -c 'import yaml' 2>/dev/null || need python3-yaml-module "python3-yaml"

ws="$TMP/workspace"
mkdir -p "$ws" "$TMP/runner" "$TMP/bin"
make_artifacts "$ws"
ln -s "$SMXGB_BIN" "$TMP/bin/smxgb" # "installed"

# run_gate NAME INPUT=VALUE...: the action in a fresh runner environment; sets RC, and
# $TMP/NAME.{log,summary,output}
run_gate() {
  local name=$1
  shift
  : >"$TMP/$name.summary"
  : >"$TMP/$name.output"
  rm -rf "$TMP/runner" && mkdir -p "$TMP/runner"
  (cd "$ws" && env GITHUB_ACTIONS=true GITHUB_WORKSPACE="$ws" RUNNER_TEMP="$TMP/runner" \
    GITHUB_STEP_SUMMARY="$TMP/$name.summary" GITHUB_OUTPUT="$TMP/$name.output" \
    PATH="$TMP/bin:$PATH" python3 "$SMXGB_SRC/tests/ship/run_action.py" "$SMXGB_SRC" "$@") \
    >"$TMP/$name.log" 2>&1
  RC=$?
}

# README.md's example: the `with:` of the step that uses smxgb, on a good model.tar.gz
readme_block action >"$TMP/readme.yml"
mapfile -t readme_inputs < <(python3 - "$TMP/readme.yml" <<'PY'
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
steps = [s for job in wf["jobs"].values() for s in job["steps"] if "smxgb@" in s.get("uses", "")]
assert len(steps) == 1, "one step uses smxgb"
for k, v in steps[0]["with"].items():
    print(f"{k}={v}")
PY
)
[ ${#readme_inputs[@]} -gt 0 ] || fail "README.md's action example has no smxgb step with inputs"
cp "$ws/good.tar.gz" "$ws/model.tar.gz"
run_gate readme "${readme_inputs[@]}"
expect_rc 0 "$RC" "README's action example on a good model.tar.gz"
contains "$TMP/readme.summary" "## smxgb check: PASS" "README example: summary"

# a good artifact
run_gate good artifact=good.tar.gz container=1.7-1
expect_rc 0 "$RC" "good artifact"
contains "$TMP/good.summary" "## smxgb check: PASS" "good: summary verdict"
contains "$TMP/good.summary" "| :white_check_mark: | good.tar.gz | 1.7-1 | 0 | 0 |" "good: summary row"
lacks "$TMP/good.log" "::error" "good: annotations"
contains "$TMP/good.output" "ok=true" "good: outputs"
contains "$TMP/good.output" "errors=0" "good: outputs"
contains "$TMP/good.log" "smxgb check good.tar.gz --container 1.7-1 --runtimes cached" "good: runtimes default"
run_gate norules artifact=good.tar.gz container=1.7-1 runtimes=none
expect_rc 0 "$RC" "runtimes: none"
contains "$TMP/norules.log" "--runtimes none" "runtimes: none passed on"

# a broken artifact: annotations, summary, outputs, JUnit, exit 1
run_gate bad artifact=bad.tar.gz container=1.7-1
expect_rc 1 "$RC" "broken artifact"
contains "$TMP/bad.log" "::error file=bad.tar.gz,title=smxgb layout-no-model bad.tar.gz::" "bad: error annotation"
contains "$TMP/bad.log" "::warning file=bad.tar.gz,title=smxgb layout-directory" "bad: warning annotation"
contains "$TMP/bad.summary" "## smxgb check: FAIL" "bad: summary verdict"
contains "$TMP/bad.summary" "| :x: | bad.tar.gz | 1.7-1 | 1 | 1 |" "bad: summary row"
contains "$TMP/bad.summary" "- :x: **layout-no-model** \`bad.tar.gz\` [1.7-1]: no file at the top level" "bad: summary finding"
contains "$TMP/bad.summary" "<br>Fix: put the model at the top level" "bad: summary fix"
contains "$TMP/bad.output" "ok=false" "bad: outputs"
contains "$TMP/bad.output" "errors=1" "bad: outputs"
contains "$TMP/bad.output" "warnings=1" "bad: outputs"
[ -f "$TMP/runner/smxgb-junit.xml" ] && contains "$TMP/runner/smxgb-junit.xml" '<failure type="layout-no-model"' "bad: JUnit" ||
  fail "bad: no JUnit report in RUNNER_TEMP"
jq -e '.ok == false' "$TMP/runner/smxgb-report.json" >/dev/null || fail "bad: the JSON report in RUNNER_TEMP"

# good and broken together: one report, both rows
run_gate both artifact="good.tar.gz
bad.tar.gz" container=1.7-1
expect_rc 1 "$RC" "good and broken artifacts"
contains "$TMP/both.summary" "2 cases: 1 passed, 1 failed" "both: summary counts"

# warnings only: fail-on decides
run_gate warn artifact=warn.tar.gz container=1.7-1
expect_rc 0 "$RC" "warning with fail-on: error"
contains "$TMP/warn.log" "::warning file=warn.tar.gz,title=smxgb layout-dotfile" "warn: annotation"
contains "$TMP/warn.summary" "## smxgb check: PASS" "warn: summary"
run_gate warn2 artifact=warn.tar.gz container=1.7-1 fail-on=warning
expect_rc 1 "$RC" "warning with fail-on: warning"
contains "$TMP/warn2.summary" "## smxgb check: FAIL (fail-on: warning)" "warn2: summary"
contains "$TMP/warn2.summary" "- :warning: **layout-dotfile**" "warn2: summary finding"
contains "$TMP/warn2.output" "ok=false" "warn2: outputs"

# a Terraform plan with S3URI=LOCAL mappings
cp "$SMXGB_SRC/tests/data/plan/good_and_broken.json" "$ws/plan.json"
run_gate plan plan=plan.json args=--no-serve artifact="s3://acme-models/good/model.tar.gz=good.tar.gz
s3://acme-models/nested/model.tar.gz=bad.tar.gz s3://acme-models/stray/model.tar.gz=warn.tar.gz"
expect_rc 1 "$RC" "plan with a broken model"
contains "$TMP/plan.log" "::error file=plan.json," "plan: annotations point at the plan"
contains "$TMP/plan.summary" "## smxgb plan: FAIL" "plan: summary"
contains "$TMP/plan.summary" 'Plan `plan.json`.' "plan: summary names the plan"

# bad inputs
run_gate badfail artifact=good.tar.gz fail-on=sometimes
expect_rc 2 "$RC" "fail-on: sometimes"
contains "$TMP/badfail.log" "::error title=smxgb action::fail-on must be" "fail-on: sometimes"
run_gate badrt artifact=good.tar.gz runtimes=all
expect_rc 2 "$RC" "runtimes: all"
contains "$TMP/badrt.log" "::error title=smxgb action::runtimes must be" "runtimes: all"
run_gate none
expect_rc 2 "$RC" "neither plan nor artifact"
run_gate planc plan=plan.json container=1.7-1
expect_rc 2 "$RC" "plan with container"
run_gate missing artifact=missing.tar.gz container=1.7-1
expect_rc 2 "$RC" "an artifact that does not exist"
finish
