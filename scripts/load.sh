#!/usr/bin/env bash
# Throughput of the service with wrk: /api/locate and a 100-feature /items page, on the demo district or
# on a data directory (e.g. one from `gridplan generate --households 400000 --out DIR`).
# Not a test: figures for the README. Usage: bash scripts/load.sh [seconds] [data-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --load
cargo build --release --quiet
secs="${1:-10}"
port=18765
if [ -n "${2:-}" ]; then
  db=$(mktemp -d)/load.db
  target/release/gridplan serve --data "$2" --db "$db" --addr "127.0.0.1:$port" > /tmp/gridplan-load.log 2>&1 &
else
  target/release/gridplan demo --addr "127.0.0.1:$port" > /tmp/gridplan-load.log 2>&1 &
fi
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "serving on" /tmp/gridplan-load.log 2>/dev/null && break
  sleep 0.5
done
base="http://127.0.0.1:$port"
echo "== /api/locate (a point inside a grid), ${secs}s, 2 threads, 64 connections"
wrk -t2 -c64 -d"${secs}s" --latency "$base/api/locate?lon=118.81&lat=32.31"
echo
echo "== /collections/grids/items?limit=100&offset=20 (up to 100 grids), ${secs}s, 2 threads, 32 connections"
wrk -t2 -c32 -d"${secs}s" --latency "$base/collections/grids/items?limit=100&offset=20"
