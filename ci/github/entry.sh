#!/usr/bin/env bash
# The smxgb GitHub Action (action.yml): gate a Terraform plan (`smxgb plan`) or model
# artifacts (`smxgb check`) in a workflow.
#
# Inputs come as the environment action.yml sets: INPUT_PLAN, INPUT_ARTIFACT (one or more,
# separated by newlines or spaces; with a plan, S3URI=LOCAL mappings), INPUT_CONTAINER (tags,
# for artifacts), INPUT_FAIL_ON (error | warning), INPUT_RUNTIMES (cached | fetch | none), INPUT_ARGS (more smxgb options) and
# INPUT_SMXGB (the binary, default `smxgb` on PATH). smxgb runs with GITHUB_ACTIONS=true, so
# every error and warning becomes a workflow annotation on the file it is about; its --json
# report is rendered as the job summary (Markdown, appended to $GITHUB_STEP_SUMMARY) and kept
# with the JUnit report in $RUNNER_TEMP; the step's outputs (GITHUB_OUTPUT) are ok, errors,
# warnings, report and junit.
#
# Exit status: 0 pass; 1 errors found (or warnings, with fail-on: warning); 2 bad inputs or an
# input smxgb could not read; 3 smxgb failed.
set -uo pipefail

die() {
  echo "::error title=smxgb action::$1"
  exit "${2:-2}"
}

plan=${INPUT_PLAN:-}
artifacts=${INPUT_ARTIFACT:-}
containers=${INPUT_CONTAINER:-}
fail_on=${INPUT_FAIL_ON:-error}
runtimes=${INPUT_RUNTIMES:-cached}
extra=${INPUT_ARGS:-}
smxgb=${INPUT_SMXGB:-smxgb}

case $fail_on in
error | warning) ;;
*) die "fail-on must be 'error' or 'warning', not '$fail_on'" ;;
esac
case $runtimes in
cached | fetch | none) ;;
*) die "runtimes must be 'cached', 'fetch' or 'none', not '$runtimes'" ;;
esac
[ -n "$plan$artifacts" ] || die "give a Terraform plan (plan: plan.json) or artifacts (artifact: model.tar.gz)"
[ -z "$plan" ] || [ -z "$containers" ] ||
  die "container: the plan names each model's container image; leave container empty with plan"
command -v "$smxgb" >/dev/null 2>&1 ||
  die "smxgb is not installed: install the smxgb .deb (apt-get install ./smxgb_VERSION_ARCH.deb) or run the job in the smxgb image, or set the smxgb input to its path"
command -v jq >/dev/null 2>&1 || die "jq is not installed (apt-get install jq); the job summary is rendered with it"

cd "${GITHUB_WORKSPACE:-.}" || die "cannot enter GITHUB_WORKSPACE '${GITHUB_WORKSPACE:-}'"
out=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
report="$out/smxgb-report.json"
junit="$out/smxgb-junit.xml"

read -r -a artifact_list <<<"$(echo "$artifacts" | tr '\n' ' ')"
read -r -a container_list <<<"$(echo "$containers" | tr ',\n' '  ')"
read -r -a extra_args <<<"$extra"
if [ -n "$plan" ]; then
  args=(plan "$plan")
  for a in "${artifact_list[@]}"; do args+=(--artifact "$a"); done
else
  args=(check "${artifact_list[@]}")
  for c in "${container_list[@]}"; do args+=(--container "$c"); done
fi
args+=(--runtimes "$runtimes" "${extra_args[@]}" --json --junit "$junit")

# the report (stdout) to a file; the annotations (stderr with --json) to the log, where the
# runner reads them
echo "smxgb ${args[*]}"
exec 3>&1
GITHUB_ACTIONS=true "$smxgb" "${args[@]}" 2>&3 >"$report"
rc=$?
exec 3>&-

summary=${GITHUB_STEP_SUMMARY:-/dev/null}
if [ "$rc" -ge 2 ] && ! jq -e '.cases' "$report" >/dev/null 2>&1; then
  {
    echo "## smxgb ${args[0]}: could not run"
    echo
    echo "\`smxgb ${args[*]}\` exited with status $rc; see the step's log."
  } >>"$summary"
  exit "$rc"
fi

errors=$(jq '[.cases[].findings[] | select(.severity == "error")] | length' "$report")
warnings=$(jq '[.cases[].findings[] | select(.severity == "warning")] | length' "$report")
verdict=PASS
if [ "$rc" -ne 0 ] || [ "$errors" -gt 0 ]; then
  verdict=FAIL
elif [ "$fail_on" = warning ] && [ "$warnings" -gt 0 ]; then
  verdict="FAIL (fail-on: warning)"
fi

# The job summary: a verdict line, one table row per case, then every error and warning with
# its fix. Table cells escape '|'; messages keep smxgb's wording.
jq -r --arg verdict "$verdict" --arg fail_on "$fail_on" '
  def cell: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");
  def icon: if . == "fail" then ":x:" elif . == "skip" then ":white_circle:"
            else ":white_check_mark:" end;
  def count($s): [.findings[] | select(.severity == $s)] | length;
  def plural($n; $w): "\($n) \($w)\(if $n == 1 then "" else "s" end)";
  "## smxgb \(.verb): \($verdict)",
  "",
  (if .file then "Plan `\(.file)`. " else "" end) +
  plural(.cases | length; "case") + ": " +
  "\([.cases[] | select(.status == "pass")] | length) passed, " +
  "\([.cases[] | select(.status == "fail")] | length) failed, " +
  "\([.cases[] | select(.status == "skip")] | length) skipped; " +
  plural([.cases[] | count("error")] | add // 0; "error") + ", " +
  plural([.cases[] | count("warning")] | add // 0; "warning") +
  " (fail-on: \($fail_on)).",
  "",
  "| | Case | Container | Errors | Warnings |",
  "|---|---|---|---|---|",
  (.cases[] | "| \(.status | icon) | \(.name | cell) | \(.container // "" | cell) | " +
              "\(count("error")) | \(count("warning")) |"),
  (if ([.cases[].findings[] | select(.severity != "info")] | length) > 0
   then "", "### Findings", "" else empty end),
  (.cases[] as $c | $c.findings[] | select(.severity != "info") |
    "- \(if .severity == "error" then ":x:" else ":warning:" end) **\(.code)** " +
    "`\($c.name)`\(if $c.container then " [\($c.container)]" else "" end): \(.message | cell)" +
    (if .hint then "<br>Fix: \(.hint | cell)" else "" end))
' "$report" >>"$summary"

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  ok=true
  [ "$verdict" = PASS ] || ok=false
  {
    echo "ok=$ok"
    echo "errors=$errors"
    echo "warnings=$warnings"
    echo "report=$report"
    echo "junit=$junit"
  } >>"$GITHUB_OUTPUT"
fi

if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
if [ "$verdict" != PASS ]; then
  echo "::error title=smxgb ${args[0]}::$warnings warning(s) and fail-on is warning"
  exit 1
fi
exit 0
