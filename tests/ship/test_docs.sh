#!/usr/bin/env bash
# The man pages and completion the build generates (build/docs, what the package installs)
# agree with the binary: for every verb, the options `smxgb help VERB` lists are exactly the
# options of its man page (as man renders it) and of its bash and zsh completion, and smxgb(1)
# lists every verb. Bash completion is run as bash runs it (COMP_WORDS/COMP_CWORD, _smxgb);
# zsh's is parsed by zsh and run with _arguments replaced by a printer of its specs.
. "$(dirname "$0")/lib.sh"
need man "it renders the man pages"

docs="$SMXGB_BUILD/docs"
verbs=$("$SMXGB_BIN" help --verbs)
[ -n "$verbs" ] || fail "smxgb help --verbs lists nothing"

# the options in `smxgb help VERB` output: "  -c, --container TAG" or "      --json"
help_opts() {
  "$SMXGB_BIN" help "$1" | awk '/^options:/ {o = 1; next} o && /^[^ ]/ {o = 0} o' |
    grep -oE '^  (-[a-zA-Z0-9], |    )--[a-z0-9-]+' | grep -oE -- '-[a-zA-Z0-9]\b|--[a-z0-9-]+' | sort -u
}
# the options in the rendered man page's OPTIONS section
man_opts() {
  MANWIDTH=200 man -l "$1" 2>/dev/null | col -b |
    awk '/^OPTIONS/ {o = 1; next} o && /^[A-Z]/ {o = 0} o' |
    grep -oE '^ {7}(-[a-zA-Z0-9], )?--[a-z0-9-]+' | grep -oE -- '-[a-zA-Z0-9]\b|--[a-z0-9-]+' | sort -u
}
# what bash completes after `smxgb VERB -`
bash_opts() {
  bash -c '. "$1"; COMP_WORDS=(smxgb "$2" -); COMP_CWORD=2; _smxgb; ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$docs/completion/smxgb" "$1" | sort -u
}

for verb in $verbs; do
  help_opts "$verb" >"$TMP/help.$verb"
  [ -s "$TMP/help.$verb" ] || fail "smxgb help $verb lists no options"
  page="$docs/man1/smxgb-$verb.1.gz"
  [ -f "$page" ] || { fail "no generated page smxgb-$verb.1.gz"; continue; }
  man_opts "$page" >"$TMP/man.$verb"
  diff -u "$TMP/help.$verb" "$TMP/man.$verb" >&2 ||
    fail "smxgb help $verb and smxgb-$verb(1) list different options"
  zcat "$page" | groff -man -Tutf8 -z -ww 2>&1 | grep . >&2 && fail "groff warns about smxgb-$verb(1)"
  bash_opts "$verb" >"$TMP/bash.$verb"
  diff -u "$TMP/help.$verb" "$TMP/bash.$verb" >&2 ||
    fail "bash completes other options for '$verb' than smxgb help $verb lists"
done

# smxgb(1): every verb, and the page is what `smxgb help --man` prints now
MANWIDTH=200 man -l "$docs/man1/smxgb.1.gz" 2>/dev/null | col -b >"$TMP/smxgb.txt"
for verb in $verbs; do
  contains "$TMP/smxgb.txt" "smxgb-$verb(1)" "smxgb(1) lists $verb"
done
"$SMXGB_BIN" help --man | cmp -s - <(zcat "$docs/man1/smxgb.1.gz") ||
  fail "build/docs/man1/smxgb.1.gz is not what smxgb help --man prints (stale build?)"

# bash: verbs, help topics, container tags for a TAG option, file names for a path option
compl() {
  bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _smxgb; ((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$docs/completion/smxgb" "$@"
}
compl smxgb "" >"$TMP/c.verbs"
for verb in $verbs help; do contains "$TMP/c.verbs" "$verb" "bash completes verb $verb"; done
compl smxgb help "" >"$TMP/c.help"
contains "$TMP/c.help" "codes" "bash completes smxgb help codes"
compl smxgb verify --container "" >"$TMP/c.tags"
contains "$TMP/c.tags" "1.7-1" "bash completes --container with container tags"
compl smxgb check a.tar.gz -c 1.5 >"$TMP/c.tags2"
[ "$(cat "$TMP/c.tags2")" = "1.5-1" ] || fail "bash: 'smxgb check -c 1.5' completes to $(cat "$TMP/c.tags2")"
compl smxgb verify --xgboost-wheel "" >"$TMP/c.path"
[ ! -s "$TMP/c.path" ] || fail "bash: a path option's value should fall back to file names"
if command -v shellcheck >/dev/null; then
  shellcheck -s bash "$docs/completion/smxgb" >&2 || fail "shellcheck on the bash completion"
fi

# zsh: parses, and per verb the _arguments specs hold exactly the help's options
if command -v zsh >/dev/null; then
  zsh -n "$docs/completion/_smxgb" || fail "zsh cannot parse _smxgb"
  for verb in $verbs; do
    zsh -f -c '
      _arguments() { print -rl -- "$@" }
      _describe() { : }
      _values() { : }
      compdef() { : }
      source "$1"
      words=(smxgb "$2" ""); CURRENT=3
      _smxgb' _ "$docs/completion/_smxgb" "$verb" >"$TMP/zsh.specs.$verb" || fail "zsh _smxgb $verb"
    sed -nE 's/^[*]?(\(- \*\))?(-[a-zA-Z0-9]|--[a-z0-9-]+)[+=]?\[.*/\2/p' "$TMP/zsh.specs.$verb" |
      sort -u >"$TMP/zsh.$verb"
    diff -u "$TMP/help.$verb" "$TMP/zsh.$verb" >&2 ||
      fail "zsh completes other options for '$verb' than smxgb help $verb lists"
  done
  grep -q "1.7-1" "$TMP/zsh.specs.verify" || fail "zsh: --container offers no container tags"
else
  zsh_missing=1
fi

if [ "${zsh_missing:-0}" = 1 ] && [ "$FAILS" -eq 0 ]; then
  echo "SKIP: zsh is not installed (the bash and man checks passed); scripts/setup.sh installs it" >&2
  exit 77
fi
finish
