#!/usr/bin/env bash
# The GitLab CI template (ci/gitlab/smxgb.gitlab-ci.yml), run as a GitLab runner runs a job
# that extends .smxgb: the template's variables, overridden by the job's (README.md's example
# first), exported; the script run by sh with errexit (GitLab's sh executor); then the files
# the job's artifacts:reports:junit names must exist and say what failed.
. "$(dirname "$0")/lib.sh"
need python3 "the test reads the YAML with it"
python3 -c 'import yaml' 2>/dev/null || need python3-yaml-module "python3-yaml"

template="$SMXGB_SRC/ci/gitlab/smxgb.gitlab-ci.yml"
ws="$TMP/job"
mkdir -p "$ws" "$TMP/bin"
make_artifacts "$ws"
ln -s "$SMXGB_BIN" "$TMP/bin/smxgb"

# The job's script, and its junit report path, from the template (a job extending .smxgb)
python3 - "$template" "$TMP" <<'PY' || fail "the template has no .smxgb job with a script and a JUnit report"
import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
job = t[".smxgb"]
open(sys.argv[2] + "/script.sh", "w").write("\n".join(job["script"]) + "\n")
open(sys.argv[2] + "/junit", "w").write(job["artifacts"]["reports"]["junit"])
assert job["artifacts"]["when"] == "always", "reports are kept when the job fails"
with open(sys.argv[2] + "/defaults", "w") as f:
    for k, v in job["variables"].items():
        f.write(f"{k}={v}\n")
PY
junit=$(cat "$TMP/junit")

# run_job NAME KEY=VALUE...: the template's variables, then the job's, then the script
run_job() {
  local name=$1
  shift
  rm -f "$ws/$junit"
  (
    cd "$ws" || exit 99
    while IFS= read -r kv; do export "${kv?}"; done <"$TMP/defaults"
    for kv in "$@"; do export "${kv?}"; done
    PATH="$TMP/bin:$PATH" sh -e "$TMP/script.sh"
  ) >"$TMP/$name.log" 2>&1
  RC=$?
}

# README.md's example: its variables (not the image, which the runner pulls)
readme_block gitlab >"$TMP/readme.yml"
mapfile -t readme_vars < <(python3 - "$TMP/readme.yml" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
job = doc["smxgb"]
assert job["extends"] == ".smxgb"
for k, v in job["variables"].items():
    print(f"{k}={v}")
PY
)
[ ${#readme_vars[@]} -gt 0 ] || fail "README.md's GitLab example has no smxgb job variables"
cp "$ws/good.tar.gz" "$ws/model.tar.gz"
run_job readme "${readme_vars[@]}"
expect_rc 0 "$RC" "README's GitLab example on a good model.tar.gz"
[ -f "$ws/$junit" ] || fail "README example: no $junit"
contains "$ws/$junit" '<testcase classname="smxgb.check" name="model.tar.gz [1.7-1]"' "README example: JUnit"
lacks "$ws/$junit" "<failure" "README example: JUnit"

run_job bad SMXGB_ARTIFACT="good.tar.gz bad.tar.gz" SMXGB_CONTAINER=1.7-1
expect_rc 1 "$RC" "a broken artifact fails the job"
contains "$ws/$junit" 'tests="2" failures="1"' "bad: JUnit counts"
contains "$ws/$junit" '<failure type="layout-no-model"' "bad: JUnit failure"
contains "$TMP/bad.log" "FAIL: 1 of 2 cases" "bad: job log"

run_job warn SMXGB_ARTIFACT=warn.tar.gz SMXGB_CONTAINER=1.7-1
expect_rc 0 "$RC" "a warning with SMXGB_FAIL_ON=error"
run_job warn2 SMXGB_ARTIFACT=warn.tar.gz SMXGB_CONTAINER=1.7-1 SMXGB_FAIL_ON=warning
expect_rc 1 "$RC" "a warning with SMXGB_FAIL_ON=warning"
[ -f "$ws/$junit" ] || fail "warn2: no JUnit report"

cp "$SMXGB_SRC/tests/data/plan/good_and_broken.json" "$ws/plan.json"
run_job plan SMXGB_PLAN=plan.json SMXGB_ARGS=--no-serve \
  SMXGB_ARTIFACT="s3://acme-models/good/model.tar.gz=good.tar.gz s3://acme-models/nested/model.tar.gz=bad.tar.gz s3://acme-models/stray/model.tar.gz=warn.tar.gz"
expect_rc 1 "$RC" "a plan with a broken model"
contains "$ws/$junit" '<testsuite name="smxgb plan plan.json"' "plan: JUnit"
finish
