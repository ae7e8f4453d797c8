#!/usr/bin/env bash
# The long-outline figures, medians of RUNS alternating runs each, and their ratio:
#   (default)   `partition` on one leaf with a 300-vertex and a 30,000-vertex outline (examples/wiggly_leaf.rs);
#   --district  `partition` on the whole demo district with plain outlines and with every outline (the
#               district, its towns and its communities) at 30,000 vertices (scripts/survey_outlines.py).
# Usage: bash scripts/outline_ratio.sh [--district] [RUNS]   (from the repository root; builds what it needs)
set -euo pipefail
mode=leaf
if [ "${1:-}" = "--district" ]; then
  mode=district
  shift
fi
runs="${1:-21}"
cargo build --release --quiet
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
if [ "$mode" = leaf ]; then
  cargo build --release --quiet --example wiggly_leaf
  names=(300 30000)
  for n in "${names[@]}"; do
    target/release/examples/wiggly_leaf "$n" "$dir/w$n" >/dev/null
  done
else
  names=(plain surveyed)
  target/release/gridplan generate --out "$dir/wplain" --out-crs EPSG:4549 >/dev/null
  mkdir -p "$dir/wsurveyed"
  cp "$dir/wplain/households.geojson" "$dir/wsurveyed/"
  python3 scripts/survey_outlines.py "$dir/wplain/boundaries.geojson" "$dir/wsurveyed/boundaries.geojson" 30000
fi
for _ in $(seq 1 "$runs"); do
  for n in "${names[@]}"; do
    start=$(date +%s%N)
    target/release/gridplan partition --boundaries "$dir/w$n/boundaries.geojson" \
      --households "$dir/w$n/households.geojson" --out "$dir/w$n/g.geojson" \
      --report "$dir/w$n/r.json" >/dev/null 2>&1 || true
    echo "$n $(( ($(date +%s%N) - start) / 1000 ))"
  done
done | python3 -c '
import statistics, sys
times = {}
order = []
for line in sys.stdin:
    n, us = line.split()
    if n not in times:
        order.append(n)
    times.setdefault(n, []).append(int(us) / 1000)
m = {n: statistics.median(v) for n, v in times.items()}
for n in order:
    print(f"{n:>9}: median {m[n]:.1f} ms of {len(times[n])} runs")
a, b = order
print(f"ratio {b} / {a}: {m[b] / m[a]:.2f}")
'
