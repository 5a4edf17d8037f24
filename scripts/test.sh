#!/usr/bin/env bash
# Runs uHub's whole test suite. Installs and starts what it needs: the wasm32 and musl toolchains,
# PostgreSQL (a throwaway cluster owned by this run), Chromium and ChromeDriver, a Docker engine,
# Prometheus, and the tools the integrations are tested against (see scripts/lib.sh).
# A missing dependency is a failure, never a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

start=$(date +%s)
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
say "clippy: server-side crates and tests"
cargo clippy --all-targets -- -D warnings
say "clippy: the browser crate (wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir target/front -- -D warnings

# The browser test serves the real bundle: build it (and the debug server) first.
scripts/build.sh --debug

start_throwaway_postgres
ensure_docker
ensure_github_fixtures
# The production image, run by server/tests/image.rs as docs/deploy.md says (its size printed).
UHUB_TEST_IMAGE="$(scripts/image.sh | tail -1)"
export UHUB_TEST_IMAGE
export UHUB_TEST_CHROMEDRIVER="$(command -v chromedriver)"
export UHUB_TEST_SITE_DIR="$PWD/target/site"

say "cargo test"
test_log="$(mktemp /tmp/uhub-cargo-test.XXXXXX)"
set +e
cargo test --no-fail-fast 2>&1 | tee "$test_log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$test_log"
# What the build left on disk, so a run that fills its machine says how close it came.
say "disk: $(du -sh target | cut -f1) under target/, $(df -h --output=avail . | tail -1 | tr -d ' ') still free"
[ "$status" = 0 ] || die "cargo test failed (exit $status)"
say "all tests passed in $(( $(date +%s) - start )) s"
