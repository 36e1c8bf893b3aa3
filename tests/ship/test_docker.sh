#!/usr/bin/env bash
# The Dockerfile, checked without a container engine (none runs here): two stages on
# debian:bookworm-slim, the final one installing only the built .deb (apt resolves its runtime
# Depends) plus ca-certificates and jq, no compiler or -dev package, a non-root USER, smxgb
# as the JSON-form ENTRYPOINT, WORKDIR /work; every RUN passes shellcheck as sh (the shell
# docker uses). README.md's example: the image name it builds is the one it runs, and its
# `docker run ... smxgb ARGS` (bind mount on /work, the WORKDIR) is run as `smxgb ARGS` in
# that directory with the built binary.
. "$(dirname "$0")/lib.sh"

df="$SMXGB_SRC/Dockerfile"
# instructions with continuation lines joined, comments dropped: "N<TAB>STAGE<TAB>LINE"
awk '
  /^[[:space:]]*#/ { next }
  { line = line $0 }
  /\\$/ { sub(/\\$/, "", line); next }
  line != "" { if (line ~ /^FROM /) stage++; printf "%d\t%s\n", stage, line; line = "" }
' "$df" >"$TMP/instr"
[ "$(grep -c $'\tFROM ' "$TMP/instr")" -eq 2 ] || fail "Dockerfile: expected two stages"
grep $'\tFROM ' "$TMP/instr" | grep -vq 'FROM debian:bookworm-slim' && fail "Dockerfile: every stage is FROM debian:bookworm-slim"
final=$(awk -F'\t' 'END {print $1}' "$TMP/instr")
awk -F'\t' -v s="$final" '$1 == s {print $2}' "$TMP/instr" >"$TMP/final"
grep -qE -- '-dev\b|build-essential|cmake|gcc|clang' "$TMP/final" && fail "Dockerfile: build tools in the final stage"
grep -qE 'apt-get install .*--no-install-recommends.*smxgb_\*\.deb' "$TMP/final" ||
  fail "Dockerfile: the final stage installs the built .deb with apt, without recommends"
grep -q 'rm -rf /var/lib/apt/lists' "$TMP/final" || fail "Dockerfile: the final stage keeps apt lists"
user=$(grep -E '^USER ' "$TMP/final" | tail -1 | awk '{print $2}')
[ -n "$user" ] && [ "${user%%:*}" != root ] && [ "${user%%:*}" != 0 ] || fail "Dockerfile: the final USER is root"
grep -q "useradd.* ${user%%:*}\$\|useradd.* ${user%%:*} " "$TMP/final" || fail "Dockerfile: user ${user%%:*} is not created"
grep -qx 'ENTRYPOINT \["smxgb"\]' "$TMP/final" || fail "Dockerfile: ENTRYPOINT is not [\"smxgb\"]"
workdir=$(grep -E '^WORKDIR ' "$TMP/final" | tail -1 | awk '{print $2}')
for ignored in build 'build-\*' .git; do
  grep -qx "$ignored" "$SMXGB_SRC/.dockerignore" || fail ".dockerignore: $ignored is sent to the build"
done

if command -v shellcheck >/dev/null; then
  n=0
  while IFS=$'\t' read -r stage line; do
    n=$((n + 1))
    printf '#!/bin/sh\n%s\n' "${line#RUN }" >"$TMP/run$n.sh"
    shellcheck -s sh "$TMP/run$n.sh" >&2 || fail "shellcheck: RUN $n (stage $stage)"
  done < <(grep -P '\tRUN ' "$TMP/instr")
  [ "$n" -ge 3 ] || fail "Dockerfile: expected RUN instructions in both stages"
else
  echo "note: shellcheck is not installed; RUN lines not checked" >&2
fi

# README.md's example
block=$(readme_block docker)
tag=$(echo "$block" | grep -oP '^docker build -t \K\S+')
run=$(echo "$block" | grep '^docker run ')
[ -n "$tag" ] && [ -n "$run" ] || fail "README.md's docker example builds and runs an image"
mount=$(echo "$run" | grep -oP -- '-v "\$PWD:\K[^"]+')
[ "$mount" = "$workdir" ] || fail "README mounts the directory on $mount; the image's WORKDIR is $workdir"
args=${run#*" $tag "}
[ "$args" != "$run" ] || fail "README's docker run does not run image $tag"
mkdir -p "$TMP/work"
make_artifacts "$TMP/work"
cp "$TMP/work/good.tar.gz" "$TMP/work/model.tar.gz"
(cd "$TMP/work" && eval "\"\$SMXGB_BIN\" $args") >"$TMP/run.log" 2>&1
expect_rc 0 $? "README's docker run arguments ($args) with smxgb in $workdir"
finish
