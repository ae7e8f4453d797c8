//! Polygons that are not valid are refused with exit status 2, naming the file, the feature and the
//! ring: a hole outside its exterior ring, a hole inside another hole, a hole crossing its exterior.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};

/// A ring in fixture metres (offsets from X0, Y0), closed.
fn ring(points: &[(f64, f64)]) -> Value {
    let mut r: Vec<Value> = points
        .iter()
        .map(|(x, y)| json!([X0 + x, Y0 + y]))
        .collect();
    r.push(r[0].clone());
    Value::Array(r)
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

/// Runs `check` with community A's geometry (in the boundaries) or grid A-G01's (in the grids)
/// replaced by `rings`.
fn check_with_rings(which: &str, rings: Value) -> (Option<i32>, String) {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut boundaries = two_leaves();
    let mut grids = collection_4549(vec![
        grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
        grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
    ]);
    match which {
        "boundaries" => boundaries["features"][1]["geometry"]["coordinates"] = rings,
        _ => grids["features"][0]["geometry"]["coordinates"] = rings,
    }
    let b = write(dir, "boundaries.geojson", &boundaries);
    let h = write(dir, "households.geojson", &hand_households());
    let g = write(dir, "grids.geojson", &grids);
    let out = run(&[
        "check",
        "--grids",
        g.to_str().unwrap(),
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code(), err)
}

fn assert_refused(result: (Option<i32>, String), needles: &[&str]) {
    let (code, err) = result;
    assert_eq!(code, Some(2), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
}

#[test]
fn a_hole_outside_its_shell_is_refused_in_boundaries_and_grids() {
    // The leaf's exterior and a 10 km × 10 km "hole" far from it: accepted, it made the leaf's area
    // jump from 1 to 101 km² and reported a 100 km² gap.
    let rings = json!([
        square(0.0, 0.0, 1000.0, 1000.0),
        square(5000.0, 5000.0, 15000.0, 15000.0)
    ]);
    for which in ["boundaries", "grids"] {
        assert_refused(
            check_with_rings(which, rings.clone()),
            &[
                &format!("{which}.geojson"),
                "feature ",
                "ring 1 (a hole) lies outside the exterior ring 0",
            ],
        );
    }
}

#[test]
fn a_hole_inside_another_hole_is_refused() {
    let rings = json!([
        square(0.0, 0.0, 1000.0, 1000.0),
        square(100.0, 100.0, 400.0, 400.0),
        square(200.0, 200.0, 300.0, 300.0)
    ]);
    assert_refused(
        check_with_rings("boundaries", rings),
        &["boundaries.geojson", "feature 1", "a hole inside a hole"],
    );
}

#[test]
fn a_hole_crossing_its_shell_is_refused() {
    let rings = json!([
        square(0.0, 0.0, 1000.0, 1000.0),
        square(900.0, 400.0, 1100.0, 600.0)
    ]);
    assert_refused(
        check_with_rings("grids", rings),
        &["grids.geojson", "feature 0", "rings 0 and 1 cross"],
    );
}

#[test]
fn a_hole_touching_its_shell_at_one_point_is_still_accepted() {
    // OGC allows it: a hole with a corner on the exterior.
    let rings = json!([
        square(0.0, 0.0, 1000.0, 1000.0),
        ring(&[(1000.0, 500.0), (900.0, 450.0), (900.0, 550.0)])
    ]);
    let (code, err) = check_with_rings("grids", rings);
    assert!(matches!(code, Some(0 | 1)), "{err}");
}
