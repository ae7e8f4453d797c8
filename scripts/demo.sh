#!/usr/bin/env bash
# The main job: builds gridplan and serves the bundled demo district (data/) on 127.0.0.1:8080 — OGC API
# – Features for QGIS and GDAL, the planning API, and the map page for browsers — printing the URL.
# GRIDPLAN_PLANNER_TOKEN, when set, lets a planner write (plan, upload, assign). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --quiet
exec target/release/gridplan demo "$@"
