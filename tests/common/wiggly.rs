//! A fixture leaf with a surveyed-looking outline of any number of vertices: a lumpy disc about 2.4 km
//! across whose edge zigzags at every scale down to the spacing of its vertices (as boundaries digitised
//! along walls, ditches and field edges do), in an urban street, with buildings of households inside.
//! Shared by the tests, the benchmark and the example that writes it to files (EPSG:4549 metres).

use serde_json::{Value, json};

/// Centre of the leaf (EPSG:4549 metres, near Nanjing).
pub const CENTRE: (f64, f64) = (502_000.0, 3_502_000.0);
/// Mean radius of the leaf (m).
pub const RADIUS: f64 = 1200.0;
/// Spacing of the building lattice (m).
const BUILDING_SPACING: f64 = 70.0;
/// Households per building.
const HOUSEHOLDS_PER_BUILDING: u64 = 6;

/// The outline's radius at angle `theta`: a few lumps, then zigzags whose amplitude shrinks with their
/// frequency, the finest at the vertex spacing.
fn radius(theta: f64, vertices: usize) -> f64 {
    let mut r = 1.0
        + 0.10 * (2.0 * theta + 0.3).sin()
        + 0.06 * (3.0 * theta + 1.1).sin()
        + 0.04 * (5.0 * theta + 2.0).sin();
    // Wiggles at frequencies 16, 64, 256, … up to the vertex count, each a quarter of the last.
    let mut f = 16.0;
    let mut a = 0.012;
    while f < vertices as f64 / 2.0 {
        r += a * (f * theta + f.sqrt()).sin();
        f *= 4.0;
        a /= 3.0;
    }
    RADIUS * r
}

/// The leaf's outline ring (closed) with `vertices` distinct vertices.
pub fn outline(vertices: usize) -> Vec<(f64, f64)> {
    let mut ring: Vec<(f64, f64)> = (0..vertices)
        .map(|i| {
            let theta = std::f64::consts::TAU * i as f64 / vertices as f64;
            let r = radius(theta, vertices);
            (CENTRE.0 + r * theta.cos(), CENTRE.1 + r * theta.sin())
        })
        .collect();
    ring.push(ring[0]);
    ring
}

/// True when `p` is inside the outline by more than `margin` metres radially.
fn well_inside(p: (f64, f64), vertices: usize, margin: f64) -> bool {
    let (dx, dy) = (p.0 - CENTRE.0, p.1 - CENTRE.1);
    let theta = dy.atan2(dx).rem_euclid(std::f64::consts::TAU);
    dx.hypot(dy) < radius(theta, vertices) - margin
}

fn crs() -> Value {
    json!({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}})
}

/// Boundaries (street S, leaf L with the wiggly outline) and households (one point per building,
/// carrying its households) as GeoJSON values.
pub fn leaf(vertices: usize) -> (Value, Value) {
    let ring: Vec<Value> = outline(vertices)
        .into_iter()
        .map(|(x, y)| json!([x, y]))
        .collect();
    let half = RADIUS * 1.5;
    let (x0, y0, x1, y1) = (
        CENTRE.0 - half,
        CENTRE.1 - half,
        CENTRE.0 + half,
        CENTRE.1 + half,
    );
    let street = json!([[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]);
    let boundaries = json!({
        "type": "FeatureCollection",
        "crs": crs(),
        "features": [
            {"type": "Feature", "properties": {"code": "S", "level": "street", "kind": "urban"},
             "geometry": {"type": "Polygon", "coordinates": street}},
            {"type": "Feature", "properties": {"code": "L", "parent": "S"},
             "geometry": {"type": "Polygon", "coordinates": [ring]}}
        ]
    });
    // Buildings on a slightly sheared lattice, the same for every vertex count (judged against the
    // coarsest outline with a margin, so that the households do not depend on the wiggles).
    let mut features = Vec::new();
    let n = (2.0 * half / BUILDING_SPACING) as i64;
    for i in 0..n {
        for j in 0..n {
            let p = (
                x0 + (i as f64 + 0.5) * BUILDING_SPACING + 7.0 * (j % 3) as f64,
                y0 + (j as f64 + 0.5) * BUILDING_SPACING,
            );
            if well_inside(p, 16, 0.08 * RADIUS) {
                features.push(json!({
                    "type": "Feature",
                    "properties": {"households": HOUSEHOLDS_PER_BUILDING, "building": format!("b{i}-{j}")},
                    "geometry": {"type": "Point", "coordinates": [p.0, p.1]}
                }));
            }
        }
    }
    let households = json!({"type": "FeatureCollection", "crs": crs(), "features": features});
    (boundaries, households)
}
