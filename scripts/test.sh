#!/usr/bin/env bash
# Runs uHub's whole test suite. Installs and starts what it needs: the wasm32 and musl toolchains,
# PostgreSQL (a throwaway cluster owned by this run), Chromium and ChromeDriver, a Docker engine,
# Prometheus, and the tools the integrations are tested against (see scripts/lib.sh).
# A missing dependency is a failure, never a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

start=$(date +%s)
# The production image's static server (fat LTO, one codegen unit: one core busy for most of its
# 9 to 16 minutes) builds beside everything else, at the lowest priority, so it takes only the
# cycles the other steps leave idle: from the start, while the tools below are mostly downloaded,
# then through the tests; its own test runs last, once it is built. In a session of its own (to
# stop it whole), which Linux schedules as a group of its own ("autogroup") where a process's
# nice value weighs only against its own group: the group's is lowered too.
ensure_musl
image_log="$(mktemp /tmp/uhub-image-build.XXXXXX)"
say "building the image's static server in the background, lowest priority (log: $image_log)"
setsid bash -c '{ [ ! -w /proc/self/autogroup ] || echo 19 > /proc/self/autogroup; } 2>/dev/null
  exec nice -n 19 scripts/image.sh --binary-only' >"$image_log" 2>&1 &
image_build=$!
# `|| true`: the cleanups run under `set -e`, and a failed kill (the build done) would end them
# there, leaving PostgreSQL and dockerd running and the command failed.
stop_image_build() { kill -- "-$image_build" 2>/dev/null || true; }
on_exit stop_image_build

ensure_wasm_tools
ensure_test_services
ensure_schemathesis
ensure_ansible
ensure_terraform
ensure_openbao
ensure_kubectl
ensure_manifest_tools
ensure_prometheus
ensure_axe
ensure_github_examples

say "cargo fmt --check"
cargo fmt --all --check

say "clippy: the browser crate (wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir target/front -- -D warnings

# The browser test serves the real bundles: build them first (the tests serve the server from
# their own binaries, so no server binary is built here).
scripts/build.sh --site-only

# Clippy on the server-side crates and their tests, as they are compiled for the tests: clippy's
# driver wraps rustc for the workspace's crates (what `cargo clippy` itself sets up), so the
# dependencies are compiled once, for the tests, instead of once more only to be checked. The
# same targets as `cargo clippy --all-targets -- -D warnings`; the variables stay set for the
# runs below, or cargo would compile the workspace's crates again without the wrapper.
clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
[ -x "$clippy_driver" ] || die "no clippy-driver in the toolchain (rustup component add clippy)"
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings"
# `CLIPPY_ARGS` is how `cargo clippy` hands its options to the driver, not a documented
# interface: a scratch crate with a lint clippy warns about must fail to build this way, or the
# workspace's crates would pass unlinted (should a new clippy read its options otherwise).
lint_probe="$(mktemp -d /tmp/uhub-lint-probe.XXXXXX)"
mkdir "$lint_probe/src"
printf '[package]\nname = "lint-probe"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n' \
  > "$lint_probe/Cargo.toml"
printf 'fn main() {\n    println!("{}", answer());\n}\n\nfn answer() -> i32 {\n    return 42;\n}\n' \
  > "$lint_probe/src/main.rs"
if cargo build --quiet --manifest-path "$lint_probe/Cargo.toml" --target-dir "$lint_probe/target" \
  2> "$lint_probe/log"; then
  die "clippy's driver let a needless \`return\` through: the workspace would not be linted"
fi
grep -q "needless_return" "$lint_probe/log" || { cat "$lint_probe/log" >&2; die "the lint probe failed, but not on clippy's lint"; }
rm -rf "$lint_probe"
say "clippy and the test build: server-side crates, every target"
cargo test --all-targets --no-run

start_throwaway_postgres
ensure_docker
ensure_github_fixtures
export UHUB_TEST_CHROMEDRIVER="$(command -v chromedriver)"
export UHUB_TEST_SITE_DIR="$PWD/target/site"

say "cargo test"
test_log="$(mktemp /tmp/uhub-cargo-test.XXXXXX)"
image_test=image::the_image_runs_read_only_unprivileged_and_keeps_its_data
set +e
cargo test --no-fail-fast -- --skip "$image_test" 2>&1 | tee "$test_log"
status=${PIPESTATUS[0]}
set -e

# The production image, run by server/tests/image.rs as docs/deploy.md says (its size printed).
say "waiting for the image's static server"
wait "$image_build" || { tail -40 "$image_log" >&2; die "the image's static server failed to build (log: $image_log)"; }
# Without clippy's driver: the image's crates were built without it, and cargo would build
# them again (and link them again, fat LTO) for a wrapper that changes nothing in them.
UHUB_TEST_IMAGE="$(env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS scripts/image.sh | tail -1)"
export UHUB_TEST_IMAGE
say "cargo test: the image"
set +e
# The same selection as above (the same build, nothing recompiled), filtered to that one test.
cargo test --no-fail-fast -- --exact "$image_test" 2>&1 | tee -a "$test_log"
image_status=${PIPESTATUS[0]}
set -e
[ "$image_status" = 0 ] || status=$image_status
# One closing line with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$test_log"
# What the build left on disk, so a run that fills its machine says how close it came.
say "disk: $(du -sh target | cut -f1) under target/, $(df -h --output=avail . | tail -1 | tr -d ' ') still free"
[ "$status" = 0 ] || die "cargo test failed (exit $status)"
say "all tests passed in $(( $(date +%s) - start )) s"
