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
# Precompressed copies: served as-is to browsers that accept gzip, no compression per request.
for file in "$pkg"/uhub.wasm "$pkg"/uhub.js "$pkg"/uhub.css; do gzip -9 -k -f "$file"; done
say "bundle: $(stat -c %s "$pkg/uhub.wasm") bytes WASM, $(stat -c %s "$pkg/uhub.wasm.gz") gzipped"

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
