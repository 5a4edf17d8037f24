#!/usr/bin/env bash
# Benchmarks (not tests): prints latency figures; never fails on a number (shared machines are
# noisy). Usage: scripts/bench.sh   — needs what scripts/test.sh installs (PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_test_services
start_throwaway_postgres
say "jobs API latency, 10,000 jobs, SQLite and PostgreSQL (release build)"
cargo bench -p server --bench jobs_latency
say "run overhead: a local run of true through uHub against spawning it directly"
cargo bench -p server --bench run_overhead
say "calendar: the 2,000-job month through REST, and in headless Chromium (release bundle and server)"
ensure_wasm_tools
scripts/build.sh
export UHUB_TEST_CHROMEDRIVER="$(command -v chromedriver)"
export UHUB_TEST_SITE_DIR="$PWD/target/site"
ensure_fullcalendar
cargo bench -p end2end --bench calendar_render
say "Ansible: analysing a 1 MB INI and a 1 MB YAML inventory (release)"
cargo bench -p services --bench inventory_analysis
say "Terraform: analysing a plan of 5,000 resource changes (release)"
cargo bench -p services --bench plan_analysis
say "host sampler: CPU per reading, and uhub's idle memory (release)"
cargo bench -p server --bench host_sampler
