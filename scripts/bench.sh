#!/usr/bin/env bash
# Benchmarks (not tests): prints the figures the README and docs/benchmarks.md quote; never
# fails on a number (shared machines are noisy). Usage: scripts/bench.sh
# Needs what scripts/test.sh installs (PostgreSQL, Chromium); installs wrk (Debian) and
# FullCalendar (npm) itself. UHUB_BENCH_SOAK_SECONDS (600) shortens the memory soak.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_test_services
start_throwaway_postgres
ensure_wasm_tools
ensure_wrk
scripts/build.sh
export UHUB_TEST_CHROMEDRIVER="$(command -v chromedriver)"
export UHUB_TEST_SITE_DIR="$PWD/target/site"
ensure_fullcalendar

say "code per first page: the WASM and JavaScript each page loads (release bundle, headless Chromium)"
cargo bench -p end2end --bench bundle
say "calendar: the 2,000-job month through REST, and in headless Chromium (release bundle and server)"
cargo bench -p end2end --bench calendar_render
say "memory and throughput: the release server under a login burst, a soak of mixed load, and wrk"
cargo bench -p server --bench load
say "run overhead: a local run of true through uHub against spawning it directly"
cargo bench -p server --bench run_overhead
say "jobs API latency, 10,000 jobs, SQLite and PostgreSQL (release build)"
cargo bench -p server --bench jobs_latency
say "Ansible: analysing a 1 MB INI and a 1 MB YAML inventory (release)"
cargo bench -p services --bench inventory_analysis
say "Terraform: analysing a plan of 5,000 resource changes (release)"
cargo bench -p services --bench plan_analysis
say "host sampler: CPU per reading and per stored cycle (release)"
cargo bench -p server --bench host_sampler
