//! Every kind of bad input gives exit status 2 and one clear message naming the file, feature and field.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

/// Runs `check` with one file replaced by `text`; the other two are valid fixtures.
fn check_with(which: &str, text: &str) -> (Option<i32>, String) {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let mut b = write(dir, "boundaries.geojson", &two_leaves());
    let mut h = write(dir, "households.geojson", &hand_households());
    let mut g = write(
        dir,
        "grids.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
            grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
        ]),
    );
    let bad = dir.join(format!("bad-{which}.geojson"));
    std::fs::write(&bad, text).unwrap();
    match which {
        "boundaries" => b = bad,
        "households" => h = bad,
        _ => g = bad,
    }
    let out = run(&[
        "check",
        "--grids",
        p(&g),
        "--households",
        p(&h),
        "--boundaries",
        p(&b),
    ]);
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code(), err)
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn households_with(extra: Value) -> String {
    let mut h = hand_households();
    h["features"].as_array_mut().unwrap().push(extra);
    h.to_string()
}

fn assert_names(result: (Option<i32>, String), needles: &[&str]) {
    let (code, err) = result;
    assert_eq!(code, Some(2), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
}

#[test]
fn not_json() {
    assert_names(
        check_with("households", "this is not json"),
        &["bad-households.geojson", "not valid JSON"],
    );
}

#[test]
fn not_a_feature_collection() {
    assert_names(
        check_with(
            "households",
            r#"{"type":"Feature","geometry":null,"properties":{}}"#,
        ),
        &[
            "bad-households.geojson",
            "not a GeoJSON FeatureCollection",
            "`type`",
        ],
    );
}

#[test]
fn empty_collection() {
    assert_names(
        check_with(
            "boundaries",
            r#"{"type":"FeatureCollection","features":[]}"#,
        ),
        &["bad-boundaries.geojson", "no features"],
    );
}

#[test]
fn wrong_geometry_type() {
    let f = json!({"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[X0, Y0],[X0 + 1.0, Y0]]}});
    assert_names(
        check_with("households", &households_with(f)),
        &["feature 17", "geometry.type", "LineString"],
    );
}

#[test]
fn non_numeric_coordinates() {
    let f = json!({"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":["500100", Y0]}});
    assert_names(
        check_with("households", &households_with(f)),
        &["feature 17", "geometry.coordinates", "string"],
    );
}

#[test]
fn nan_coordinates() {
    let text = households_with(
        json!({"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1, 2]}}),
    )
    .replace("[1,2]", "[NaN,2]");
    assert_names(check_with("households", &text), &["feature 17", "NaN"]);
}

#[test]
fn infinite_coordinates() {
    let text = households_with(
        json!({"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1, 2]}}),
    )
    .replace("[1,2]", "[1e999,2]");
    assert_names(check_with("households", &text), &["feature 17"]);
}

#[test]
fn wgs84_declared_but_projected() {
    let mut h = hand_households();
    h.as_object_mut().unwrap().remove("crs");
    assert_names(
        check_with("households", &h.to_string()),
        &[
            "feature 0",
            "geometry.coordinates",
            "look projected",
            "--crs",
        ],
    );
}

#[test]
fn self_intersecting_polygon_says_where() {
    let mut b = two_leaves();
    b["features"][2]["geometry"]["coordinates"] = json!([[
        [X0 + 1000.0, Y0],
        [X0 + 2000.0, Y0 + 1000.0],
        [X0 + 2000.0, Y0],
        [X0 + 1000.0, Y0 + 1000.0],
        [X0 + 1000.0, Y0]
    ]]);
    assert_names(
        check_with("boundaries", &b.to_string()),
        &[
            "feature 2",
            "(id B)",
            "`geometry`",
            "crosses or touches itself at (501500, 3500500)",
        ],
    );
}

#[test]
fn unclosed_ring_says_where() {
    let mut b = two_leaves();
    b["features"][1]["geometry"]["coordinates"][0]
        .as_array_mut()
        .unwrap()
        .pop();
    assert_names(
        check_with("boundaries", &b.to_string()),
        &["feature 1", "ring 0 is not closed"],
    );
}

#[test]
fn duplicate_household_ids() {
    let mut h = hand_households();
    h["features"][3]["properties"]["id"] = json!("hh-1");
    h["features"][7]["properties"]["id"] = json!("hh-1");
    assert_names(
        check_with("households", &h.to_string()),
        &["feature 7", "(id hh-1)", "duplicate id (also feature 3)"],
    );
}

#[test]
fn duplicate_codes() {
    let mut b = two_leaves();
    b["features"][2]["properties"]["code"] = json!("A");
    assert_names(
        check_with("boundaries", &b.to_string()),
        &["feature 2", "`code`", "duplicate code \"A\""],
    );
}

#[test]
fn duplicate_grid_ids() {
    let g = collection_4549(vec![
        grid("X", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
        grid("X", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
    ]);
    assert_names(
        check_with("grids", &g.to_string()),
        &["feature 1", "duplicate id"],
    );
}

#[test]
fn missing_parent() {
    let mut b = two_leaves();
    b["features"][2]["properties"]["parent"] = json!("NOPE");
    assert_names(
        check_with("boundaries", &b.to_string()),
        &["feature 2", "`parent`", "\"NOPE\" does not exist"],
    );
}

#[test]
fn leaf_with_no_kind_up_its_tree() {
    let mut b = two_leaves();
    b["features"][0]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("kind");
    assert_names(
        check_with("boundaries", &b.to_string()),
        &["feature 1", "(id A)", "`kind`"],
    );
}

#[test]
fn negative_households() {
    let f = point_feature(json!({"households": -3}), 10.0, 10.0);
    assert_names(
        check_with("households", &households_with(f)),
        &["feature 17", "`households`", "negative"],
    );
}

#[test]
fn non_integer_households() {
    let f = point_feature(json!({"households": 2.5}), 10.0, 10.0);
    assert_names(
        check_with("households", &households_with(f)),
        &["feature 17", "`households`", "not a whole number"],
    );
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let mut h = hand_households();
    h["features"][2]["properties"]["households"] = json!(-1);
    h["features"][5]["properties"]["population"] = json!("many");
    let (code, err) = check_with("households", &h.to_string());
    assert_eq!(code, Some(2));
    assert!(
        err.contains("feature 2") && err.contains("feature 5"),
        "{err}"
    );
    assert!(err.contains("2 problem(s)"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let out = run(&[
        "check",
        "--grids",
        "/nonexistent/g.geojson",
        "--households",
        "/nonexistent/h.geojson",
        "--boundaries",
        "/nonexistent/b.geojson",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/b.geojson"));
}

#[test]
fn a_bad_rules_file_is_named() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules.toml");
    std::fs::write(&rules, "[kinds.urban]\nmin_households = 600\n").unwrap();
    let out = run(&["rules", "--rules", rules.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("kinds.urban"));
}

#[test]
fn truncated_and_garbled_files_never_panic() {
    let households = hand_households().to_string();
    let boundaries = two_leaves().to_string();
    for (which, text) in [("households", &households), ("boundaries", &boundaries)] {
        let n = text.len();
        for k in 1..24 {
            let cut = n * k / 24;
            let (code, err) = check_with(which, &text[..cut]);
            assert_eq!(code, Some(2), "{which} cut at {cut}: {err}");
            assert!(err.contains(&format!("bad-{which}.geojson")), "{err}");
        }
        // Swapped brackets and stray values inside the features.
        for (from, to) in [
            ("[", "{"),
            ("]", "}"),
            ("\"Feature\"", "17"),
            ("coordinates", "coords"),
            (":", ":null,\"x\":"),
        ] {
            let garbled = text.replacen(from, to, 3);
            let (code, err) = check_with(which, &garbled);
            assert!(
                code == Some(2) || code == Some(0) || code == Some(1),
                "{which} {from}->{to}: {err}"
            );
        }
    }
}
