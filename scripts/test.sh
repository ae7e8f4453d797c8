#!/usr/bin/env bash
# Every test: formatting, lints, unit, integration and doc tests (release profile, so the solver and
# PROJ bindings are built once for the demo and the tests alike).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --release --all-targets --quiet -- -D warnings
cargo test --release
