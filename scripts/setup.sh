#!/usr/bin/env bash
# Install every Debian package smxgb needs to build and test (a no-op when they are already
# installed), then build smxgb into ./build. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
  build-essential cmake pkg-config git
  libxgboost-dev libarchive-dev zlib1g-dev libssl-dev
  libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev
  libprotobuf-c-dev protobuf-c-compiler libcriterion-dev
  python3 tar gzip bzip2 xz-utils zstd
  clang libclang-rt-14-dev
  time hyperfine wrk
  python3-xgboost python3-numpy python3-pandas
  curl
  file lintian man-db groff-base zsh shellcheck jq python3-yaml pre-commit
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (for s3rver in the tests): a machine may already have them from another
# source (e.g. a nodesource nodejs that bundles npm and conflicts with Debian's npm package)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# s3rver, the local S3 server the s3:// source tests download from (tests/s3/package.json)
if [ ! -e tests/s3/node_modules/s3rver/bin/s3rver.js ]; then
  npm install --prefix tests/s3 --no-audit --no-fund >/dev/null 2>&1 ||
    echo "setup: npm could not install s3rver; the s3:// end-to-end test will be skipped"
fi

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/tools/smxgb"
