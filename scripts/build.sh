#!/usr/bin/env bash
# Builds uHub: the browser bundle (WASM + JS + CSS + public files into target/site) and the
# `uhub` server binary. Usage: scripts/build.sh [--debug | --site-only]   (default: release server)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

profile=release
[ "${1:-}" = "--debug" ] && profile=debug
[ "${1:-}" = "--site-only" ] && profile=none
ensure_wasm_tools

site=target/site
pkg=$site/pkg
start=$(date +%s)

say "building the browser bundle (wasm32, profile wasm-release)"
cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release --target-dir target/front
rm -rf "$site" && mkdir -p "$pkg"
wasm-bindgen --target web --no-typescript --out-name uhub --out-dir "$pkg" \
  target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm
# Leptos asks for uhub.wasm (LEPTOS_OUTPUT_NAME is set), wasm-bindgen writes uhub_bg.wasm.
"$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  -o "$pkg/uhub.wasm" "$pkg/uhub_bg.wasm"
rm "$pkg/uhub_bg.wasm"
# One stylesheet: the self-hosted fonts (@font-face) first, then the design system.
cat style/fonts.css style/uhub.css > "$pkg/uhub.css"
cp -R public/. "$site/"
# Content-hashed names: browsers keep the bundle for a year without asking again (uHub serves
# such names `immutable`), and a new build is a new name. One hash for the three files, since
# the page names them from one stem (uhub.<hash>); the server finds it in pkg/ at start-up.
hash=$(cat "$pkg/uhub.js" "$pkg/uhub.wasm" "$pkg/uhub.css" | sha256sum | cut -c1-16)
for ext in js wasm css; do mv "$pkg/uhub.$ext" "$pkg/uhub.$hash.$ext"; done
# The service worker precaches these files: its list and its version follow the build.
bundle="'/pkg/uhub.$hash.js', '/pkg/uhub.$hash.wasm', '/pkg/uhub.$hash.css'"
sed -i -e "s|^const BUNDLE = \[\];.*|const BUNDLE = [$bundle];|" \
  -e "s|^const VERSION = '\([^']*\)';|const VERSION = '\1-$hash';|" "$site/sw.js"
grep -q "uhub.$hash.wasm" "$site/sw.js" || { echo "sw.js: the bundle list was not written" >&2; exit 1; }
# Precompressed copies: served as-is to browsers that accept gzip, no compression per request.
for ext in wasm js css; do gzip -9 -k -f "$pkg/uhub.$hash.$ext"; done
say "bundle uhub.$hash: $(stat -c %s "$pkg/uhub.$hash.wasm") bytes WASM, $(stat -c %s "$pkg/uhub.$hash.wasm.gz") gzipped"

if [ "$profile" = none ]; then
  :
elif [ "$profile" = release ]; then
  say "building the server (release)"
  cargo build -p server --release
else
  say "building the server (debug)"
  cargo build -p server
fi
say "built in $(( $(date +%s) - start )) s"
