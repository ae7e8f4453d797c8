#!/usr/bin/env bash
# The long-outline figure: `partition` on one leaf with a 300-vertex and a 30,000-vertex outline
# (examples/wiggly_leaf.rs), run alternately RUNS times each; prints the medians and their ratio.
# Usage: bash scripts/outline_ratio.sh [RUNS]   (from the repository root; builds what it needs)
set -euo pipefail
runs="${1:-21}"
cargo build --release --quiet
cargo build --release --quiet --example wiggly_leaf
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for n in 300 30000; do
  target/release/examples/wiggly_leaf "$n" "$dir/w$n" >/dev/null
done
for _ in $(seq 1 "$runs"); do
  for n in 300 30000; do
    start=$(date +%s%N)
    target/release/gridplan partition --boundaries "$dir/w$n/boundaries.geojson" \
      --households "$dir/w$n/households.geojson" --out "$dir/w$n/g.geojson" \
      --report "$dir/w$n/r.json" >/dev/null 2>&1
    echo "$n $(( ($(date +%s%N) - start) / 1000 ))"
  done
done | python3 -c '

import statistics, sys
times = {}
for line in sys.stdin:
    n, us = line.split()
    times.setdefault(n, []).append(int(us) / 1000)
m = {n: statistics.median(v) for n, v in times.items()}
for n, v in m.items():
    print(f"{n:>6} vertices: median {v:.1f} ms of {len(times[n])} runs")
ratio = m["30000"] / m["300"]
print(f"ratio 30,000 / 300: {ratio:.2f}")
'
