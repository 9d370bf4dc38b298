#!/usr/bin/env bash
# Fetch the browser code the static book needs, from the npm registry, into
# book/_vendor/ (git-ignored; html_static_path serves it from _static/):
#   - the ipywidgets HTML manager: the non-AMD, self-contained dist/embed.js and its fonts,
#     so widgets render with no CDN;
#   - MathJax 3 (es5 build), so equations render with no CDN.
# Each tarball is checked against a pinned sha256. Nothing third-party is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST="book/_vendor"
WIDGETS_VERSION="1.0.15"   # @jupyter-widgets/html-manager matching ipywidgets 8.1
WIDGETS_SHA256="2b9d65cb7913e1c7d671757a10008b32c9c2448d4429513371e55c07d6107638"
MATHJAX_VERSION="3.2.2"
MATHJAX_SHA256="1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
STAMP="widgets=$WIDGETS_VERSION mathjax=$MATHJAX_VERSION"

if [ -f "$DEST/.version" ] && [ "$(cat "$DEST/.version")" = "$STAMP" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "npm is needed to fetch the book's JavaScript; install it (apt-get install -y npm)" >&2; exit 1
  fi
  echo "installing npm (Debian package) to fetch the book's JavaScript"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$DEST.partial"' EXIT

fetch() {  # fetch NAME VERSION SHA256 -> unpacked into $tmp/NAME
  local name=$1 version=$2 sha=$3 dir="$tmp/$(echo "$1" | tr '/@' '__')"
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "$name@$version" >/dev/null 2>&1) || {
    echo "could not download $name@$version from the npm registry" >&2; exit 1; }
  local tgz
  tgz=$(ls "$dir"/*.tgz)
  echo "$sha  $tgz" | sha256sum --check --quiet - || { echo "checksum mismatch for $tgz" >&2; exit 1; }
  tar -xzf "$tgz" -C "$dir"
  echo "$dir/package"
}

widgets=$(fetch @jupyter-widgets/html-manager "$WIDGETS_VERSION" "$WIDGETS_SHA256")
mathjax=$(fetch mathjax "$MATHJAX_VERSION" "$MATHJAX_SHA256")
rm -rf "$DEST.partial" && mkdir -p "$DEST.partial"
cp "$widgets"/dist/embed.js "$widgets"/dist/embed.js.LICENSE.txt \
   "$widgets"/dist/*.woff2 "$widgets"/dist/*.woff "$DEST.partial"/
cp -r "$mathjax"/es5 "$DEST.partial"/mathjax
cp "$mathjax"/LICENSE "$DEST.partial"/mathjax/LICENSE
echo "$STAMP" > "$DEST.partial/.version"
rm -rf "$DEST" && mv "$DEST.partial" "$DEST"
echo "fetched $STAMP -> $DEST"
