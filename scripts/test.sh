#!/usr/bin/env bash
# Runs uHub's whole test suite. Installs and starts what it needs: the wasm32 toolchain,
# PostgreSQL (a throwaway cluster owned by this run), Chromium and ChromeDriver.
# A missing dependency is a failure, never a skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

start=$(date +%s)
ensure_wasm_tools
ensure_test_services

say "cargo fmt --check"
cargo fmt --all --check
say "clippy: server-side crates and tests"
cargo clippy --all-targets -- -D warnings
say "clippy: the browser crate (wasm32)"
cargo clippy -p frontend --target wasm32-unknown-unknown --target-dir target/front -- -D warnings

# The browser test serves the real bundle: build it (and the debug server) first.
scripts/build.sh --debug

# A throwaway PostgreSQL cluster on a free port, stopped however this script ends.
pg_bin=$(pg_bin_dir)
pg_dir=$(mktemp -d /tmp/uhub-test-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres: "$pg_dir"
stop_pg() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap stop_pg EXIT
say "starting PostgreSQL ($pg_bin) on 127.0.0.1:$pg_port"
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off -c max_connections=200" start >/dev/null \
  || { cat "$pg_dir/log" >&2; die "PostgreSQL did not start"; }

export UHUB_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
export UHUB_TEST_CHROMEDRIVER="$(command -v chromedriver)"
export UHUB_TEST_SITE_DIR="$PWD/target/site"

say "cargo test"
test_log="$pg_dir/cargo-test.log"
set +e
cargo test --no-fail-fast 2>&1 | tee "$test_log"
status=${PIPESTATUS[0]}
set -e
# One closing line with the totals of every test binary.
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$test_log"
[ "$status" = 0 ] || die "cargo test failed (exit $status)"
say "all tests passed in $(( $(date +%s) - start )) s"
