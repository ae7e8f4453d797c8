#!/usr/bin/env bash
# Every test: formatting, lints, unit, integration and doc tests (release profile, so the solver and
# PROJ bindings are built once for the demo and the tests alike), and the end-to-end tests against the
# running binary with GDAL and headless Chromium (installed by setup.sh --e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --e2e
cargo fmt --check
cargo clippy --release --all-targets --quiet -- -D warnings
cargo test --release
