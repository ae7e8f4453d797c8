#!/usr/bin/env python3
"""Gives every outline of a boundaries file the vertex count of a surveyed one: each feature's rings
are resampled to VERTICES vertices in all (shared among its rings by perimeter) and moved by one smooth
displacement field of a metre or two, the same field for every feature, so neighbours stay neighbours
the way surveyed outlines drawn apart do (their shared edges sampled differently, never crossing).
Metric coordinates only (write the district with `gridplan generate --out-crs EPSG:4549`).

    python3 scripts/survey_outlines.py IN/boundaries.geojson OUT/boundaries.geojson [VERTICES]
"""

import json
import math
import sys

AMPLITUDE_M = 1.5


def field(x, y):
    """A smooth displacement (metres) with gradient well under one: it moves, never folds."""
    dx = AMPLITUDE_M * math.sin(x / 37.0 + 0.7 * math.sin(y / 53.0))
    dy = AMPLITUDE_M * math.sin(y / 41.0 + 0.7 * math.sin(x / 59.0))
    return x + dx, y + dy


def perimeter(ring):
    return sum(math.dist(ring[i], ring[i + 1]) for i in range(len(ring) - 1))


def resample(ring, n):
    """`n` points evenly along the closed ring (corners kept), closed again."""
    n = max(n, len(ring) - 1, 4)
    total = perimeter(ring)
    step = total / n
    out = []
    carry = 0.0
    for i in range(len(ring) - 1):
        (x0, y0), (x1, y1) = ring[i][:2], ring[i + 1][:2]
        length = math.dist((x0, y0), (x1, y1))
        out.append((x0, y0))
        t = step - carry if carry > 0 else step
        while t < length - 1e-9:
            f = t / length
            out.append((x0 + f * (x1 - x0), y0 + f * (y1 - y0)))
            t += step
        carry = length - (t - step)
    moved = [list(field(x, y)) for x, y in out]
    moved.append(moved[0])
    return moved


def polygons(geometry):
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return geometry["coordinates"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    source, target = sys.argv[1], sys.argv[2]
    vertices = int(sys.argv[3]) if len(sys.argv) > 3 else 30000
    collection = json.load(open(source))
    for feature in collection["features"]:
        geometry = feature["geometry"]
        polys = polygons(geometry)
        total = sum(perimeter(r) for p in polys for r in p) or 1.0
        new = [[resample(r, round(vertices * perimeter(r) / total)) for r in p] for p in polys]
        geometry["coordinates"] = new[0] if geometry["type"] == "Polygon" else new
    json.dump(collection, open(target, "w"))


if __name__ == "__main__":
    main()
