#!/usr/bin/env bash
# Builds and starts uHub on http://127.0.0.1:3000 with embedded SQLite and the demo data.
# Every UHUB_* variable is honoured (see the README); UHUB_SEED_DEMO defaults to true here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
export UHUB_SEED_DEMO="${UHUB_SEED_DEMO:-true}"
exec target/release/uhub
