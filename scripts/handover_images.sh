#!/usr/bin/env bash
# Redraws docs/atlas-page.png (the atlas's first page, by pdftoppm) and docs/ledger.png (the ledger's
# first rows, read back from the .xlsx into an HTML table and shot with headless Chromium) from the demo
# district: drawn on its ground layers, staffed, and reported with the workers' (made-up) names and phones.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release/gridplan"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" partition --households data/households.geojson --boundaries data/boundaries.geojson \
  --blocks data/blocks.geojson --barriers data/barriers.geojson --out "$tmp/grids.geojson" >/dev/null
"$bin" assign --grids "$tmp/grids.geojson" --households data/households.geojson --workers data/workers.geojson \
  --boundaries data/boundaries.geojson --out "$tmp/assignment.geojson" >/dev/null
for out in atlas.pdf ledger.xlsx; do
  "$bin" report --grids "$tmp/grids.geojson" --boundaries data/boundaries.geojson --households data/households.geojson \
    --assignment "$tmp/assignment.geojson" --workers data/workers.geojson --out "$tmp/$out" >/dev/null
done
pdftoppm -png -r 110 -f 1 -l 1 -singlefile "$tmp/atlas.pdf" docs/atlas-page
python3 scripts/ledger_html.py "$tmp/ledger.xlsx" 2 9 >"$tmp/ledger.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1640,292 \
  --screenshot="$PWD/docs/ledger.png" "file://$tmp/ledger.html" 2>/dev/null
echo "wrote docs/atlas-page.png and docs/ledger.png"
