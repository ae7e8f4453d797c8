#!/usr/bin/env bash
# The main job: builds gridplan and checks the bundled demo district's grids, printing the report.
# Exit status is the check's: 1 here, because the demo grids carry known violations.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
mkdir -p target/demo
exec target/release/gridplan check \
  --grids data/grids.geojson \
  --households data/households.geojson \
  --boundaries data/boundaries.geojson \
  --report target/demo/report.json
