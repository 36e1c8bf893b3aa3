#!/usr/bin/env bash
# The Debian package, built and used as README.md's "Debian 12 package" example says: cpack
# builds it from the build directory (into a scratch directory here, not build/), then instead
# of `apt install` (which would change this machine) apt simulates the install, resolving the
# package's Depends against Debian 12, and `dpkg -x` unpacks it into a scratch root whose
# binary, man pages and completion are used end to end. lintian must report no errors.
# `cmake --install` into a prefix is checked too.
. "$(dirname "$0")/lib.sh"
need dpkg-deb "it builds and unpacks the .deb"
need man "it checks the installed man pages"

block=$(readme_block deb)
[ -n "$block" ] || fail "README.md has no deb example"
cpack_line=$(echo "$block" | grep -m1 'cpack')
deb_line=$(echo "$block" | grep -m1 'apt install')
[ "$(echo "$cpack_line" | sed 's/ *#.*//')" = "(cd build && cpack -G DEB)" ] ||
  fail "README's cpack command is not '(cd build && cpack -G DEB)': $cpack_line"

# 1. cpack, as README says (same generator, the build's configuration)
cpack --config "$SMXGB_BUILD/CPackConfig.cmake" -G DEB -B "$TMP/dist" >"$TMP/cpack.log" 2>&1 ||
  { cat "$TMP/cpack.log" >&2; fail "cpack -G DEB"; finish; }
deb_name=$(echo "$deb_line" | grep -o 'smxgb_[^ ]*\.deb')
deb="$TMP/dist/$deb_name"
[ -f "$deb" ] || { fail "README names $deb_name; cpack wrote: $(ls "$TMP/dist")"; finish; }
version=$("$SMXGB_BIN" --version | awk 'NR == 1 {print $2}')
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "package version is not smxgb's $version"
[ "$deb_name" = "smxgb_${version}_$(dpkg --print-architecture).deb" ] ||
  fail "README's $deb_name is not this build's smxgb_${version}_ARCH.deb"

# 2. Depends names Debian 12's runtime packages, and apt can install it here
depends=$(dpkg-deb -f "$deb" Depends)
for p in libxgboost0 libarchive13 zlib1g libcurl4 libmicrohttpd12 libjansson4 libprotobuf-c1 libssl3; do
  [[ ", $depends," == *", $p "* || ", $depends," == *", $p,"* ]] || fail "Depends lacks $p: $depends"
done
if command -v apt-get >/dev/null && [ -r /var/lib/dpkg/status ]; then
  apt-get install -s --no-install-recommends "$deb" >"$TMP/apt.log" 2>&1 ||
    { sed 's/^/    | /' "$TMP/apt.log" >&2; fail "apt cannot resolve the package's Depends"; }
fi

# 3. the files, unpacked into a scratch root
root="$TMP/root"
dpkg -x "$deb" "$root"
bin="$root/usr/bin/smxgb"
[ -x "$bin" ] || { fail "no usr/bin/smxgb in the package"; finish; }
! readelf -S "$bin" | grep -q '\.debug_info' || fail "usr/bin/smxgb is not stripped"
# its data (containers.json, rules.json, the image table) is compiled in: nothing points back
! strings "$bin" | grep -qF -e "$SMXGB_SRC" -e "$SMXGB_BUILD" || fail "usr/bin/smxgb names the source or build tree"
verbs=$("$bin" help --verbs)
[ -n "$verbs" ] || fail "the installed smxgb lists no verbs"
for page in smxgb $(printf 'smxgb-%s ' $verbs); do
  f="$root/usr/share/man/man1/$page.1.gz"
  [ -f "$f" ] || { fail "no man page $page(1)"; continue; }
  zcat "$f" | groff -man -Tutf8 -z -ww >"$TMP/groff.log" 2>&1 || fail "groff fails on $page(1)"
  [ ! -s "$TMP/groff.log" ] || { cat "$TMP/groff.log" >&2; fail "groff warns about $page(1)"; }
  man --warnings -l "$f" >"$TMP/man.txt" 2>"$TMP/man.err" || fail "man -l $page.1.gz"
  [ ! -s "$TMP/man.err" ] || { cat "$TMP/man.err" >&2; fail "man --warnings on $page(1)"; }
  contains "$TMP/man.txt" "NAME" "$page(1)"
done
[ -f "$root/usr/share/bash-completion/completions/smxgb" ] || fail "no bash completion"
[ -f "$root/usr/share/zsh/vendor-completions/_smxgb" ] || fail "no zsh completion"
[ -f "$root/usr/share/doc/smxgb/copyright" ] || fail "no copyright file"
[ -f "$root/usr/share/doc/smxgb/changelog.gz" ] || fail "no changelog"

# 4. README's commands with the installed binary and pages
work="$TMP/work"
mkdir -p "$work"
make_artifacts "$work"
cp "$work/good.tar.gz" "$work/model.tar.gz"
"$bin" --version >"$TMP/version.txt" || fail "smxgb --version"
contains "$TMP/version.txt" "smxgb $version" "--version"
contains "$TMP/version.txt" "xgboost 1.7.4" "--version finds Debian's XGBoost"
run_line=$(echo "$block" | grep -m1 '^smxgb verify')
(cd "$work" && PATH="$root/usr/bin:$PATH" && eval "$run_line") >"$TMP/verify.txt" 2>&1
expect_rc 0 $? "README: $run_line"
contains "$TMP/verify.txt" "OK: 0 errors" "README: $run_line"
# the real load runs in the installed helper (libexec/smxgb), not one of the build tree
[ -x "$root/usr/libexec/smxgb/smxgb-xgb-child" ] || fail "no usr/libexec/smxgb/smxgb-xgb-child"
(cd "$work" && env -u SMXGB_CHILD "$bin" verify model.tar.gz --container 1.7-1) >"$TMP/load.txt" 2>&1
contains "$TMP/load.txt" "loaded with XGBoost 1.7.4: ok" "the installed smxgb load-checks in its helper"
(cd "$work" && "$bin" verify bad.tar.gz --container 1.7-1) >"$TMP/bad.txt" 2>&1
expect_rc 1 $? "installed smxgb verify on a model in a sub-folder"
contains "$TMP/bad.txt" "layout-no-model" "installed smxgb verify on a model in a sub-folder"
man_line=$(echo "$block" | grep -m1 '^man ')
MANPATH="$root/usr/share/man" MANPAGER=cat MANWIDTH=100 eval "$man_line" >"$TMP/man-verify.txt" 2>&1 ||
  fail "README: $man_line"
contains "$TMP/man-verify.txt" "smxgb-verify - check a model.tar.gz" "README: $man_line"
contains "$TMP/man-verify.txt" "--container TAG" "README: $man_line"

# 5. lintian: no errors
if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "$deb" >"$TMP/lintian.txt" 2>&1
  sed 's/^/    lintian| /' "$TMP/lintian.txt"
  ! grep -q '^E: ' "$TMP/lintian.txt" || fail "lintian reports errors"
else
  lintian_missing=1
fi

# 6. cmake --install into a prefix other than /usr: the same files, zsh's site-functions
cmake --install "$SMXGB_BUILD" --prefix "$TMP/local" >/dev/null || fail "cmake --install"
for f in bin/smxgb share/man/man1/smxgb.1.gz share/man/man1/smxgb-verify.1.gz \
  share/bash-completion/completions/smxgb share/zsh/site-functions/_smxgb; do
  [ -f "$TMP/local/$f" ] || fail "cmake --install did not install $f"
done

if [ "${lintian_missing:-0}" = 1 ] && [ "$FAILS" -eq 0 ]; then
  echo "SKIP: lintian is not installed (the rest passed); scripts/setup.sh installs it" >&2
  exit 77
fi
finish
