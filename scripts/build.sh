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

# One bundle per group of islands (app/Cargo.toml's island-* features; app::layout::page_bundle
# says which page loads which): the shell's islands, loaded by every page first; the calendar's
# and the other pages' with the shell's (the one bundle their page loads, hydrated at once); the
# others alone, loaded on intent.
say "building the browser bundles (wasm32, profile wasm-release)"
rm -rf "$site" && mkdir -p "$pkg"
ISLAND_GROUPS="calendar palette projects sheet sheet-environments sheet-backlog sheet-links sheet-code sheet-ansible sheet-terraform sheet-kubernetes sheet-secrets sheet-settings pages"
# Each bundle is one fat-LTO link on one core (codegen-units = 1): two lanes, each with its own
# target directory (cargo locks one), build them side by side on the two cores.
build_bundles() { # <target dir> <group>...
  local dir=$1 group features name; shift
  for group in "$@"; do
    case "$group" in calendar|pages) features="shell,$group" ;; *) features="$group" ;; esac
    cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release \
      --target-dir "$dir" --no-default-features --features "$features"
    name=uhub; [ "$group" = shell ] || name="uhub-$group"
    wasm-bindgen --target web --no-typescript --out-name "$name" --out-dir "$pkg" \
      "$dir/wasm32-unknown-unknown/wasm-release/frontend.wasm"
    "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
      -o "$pkg/$name.wasm" "$pkg/${name}_bg.wasm"
    rm "$pkg/${name}_bg.wasm"
  done
}
lane_one=() lane_two=() n=0
for group in shell $ISLAND_GROUPS; do
  if (( n++ % 2 == 0 )); then lane_one+=("$group"); else lane_two+=("$group"); fi
done
# On a fresh machine each lane compiled every dependency on its own core (6 minutes side by
# side). Instead the first bundle (the shell, lane one's) is built alone, its dependencies on
# both cores, and the second lane starts from a copy of them (cargo keeps a copied target
# directory's artifacts fresh). Each group stays in its lane, so the next run finds it built.
if [ ! -d target/front-2/wasm32-unknown-unknown/wasm-release ]; then
  build_bundles target/front "${lane_one[0]}"
  rm -rf target/front-2 && mkdir -p target/front-2/wasm32-unknown-unknown
  cp -a target/front/wasm-release target/front-2/
  cp -a target/front/wasm32-unknown-unknown/wasm-release target/front-2/wasm32-unknown-unknown/
  lane_one=("${lane_one[@]:1}")
fi
build_bundles target/front "${lane_one[@]}" &
lane=$!
build_bundles target/front-2 "${lane_two[@]}"
wait "$lane" || { echo "a browser bundle failed to build" >&2; exit 1; }
# wasm-bindgen's script names the module it was built from; the calendar's and palette's are
# loaded with their own path by the page (module_or_path), so the default name is never used.
cat style/fonts.css style/uhub.css > "$pkg/uhub.css"
cp -R public/. "$site/"
hash=$(cat "$pkg"/uhub*.js "$pkg"/uhub*.wasm "$pkg/uhub.css" | sha256sum | cut -c1-16)
for ext in js wasm css; do mv "$pkg/uhub.$ext" "$pkg/uhub.$hash.$ext"; done
for group in $ISLAND_GROUPS; do
  for ext in js wasm; do mv "$pkg/uhub-$group.$ext" "$pkg/uhub.$hash.$group.$ext"; done
done
bundle="'/pkg/uhub.$hash.js', '/pkg/uhub.$hash.wasm', '/pkg/uhub.$hash.css'"
for group in $ISLAND_GROUPS; do
  bundle="$bundle, '/pkg/uhub.$hash.$group.js', '/pkg/uhub.$hash.$group.wasm'"
done
sed -i -e "s|^const BUNDLE = \[\];.*|const BUNDLE = [$bundle];|" \
  -e "s|^const VERSION = '\([^']*\)';|const VERSION = '\1-$hash';|" "$site/sw.js"
grep -q "uhub.$hash.wasm" "$site/sw.js" || { echo "sw.js: the bundle list was not written" >&2; exit 1; }
for f in "$pkg"/uhub.$hash*.wasm "$pkg"/uhub.$hash*.js "$pkg/uhub.$hash.css"; do gzip -9 -k -f "$f"; done
for f in "$pkg"/uhub.$hash*.wasm; do say "bundle $(basename "$f"): $(stat -c %s "$f") bytes, $(stat -c %s "$f.gz") gzipped"; done

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
