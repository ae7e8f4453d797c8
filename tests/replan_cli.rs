//! `gridplan partition --previous` and `gridplan diff` as a binary.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::path::Path;

fn data(name: &str) -> String {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn re_partition_with_nothing_changed_keeps_every_grid_and_diff_says_so() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let o = run(&[
        "partition",
        "--households",
        &data("households.geojson"),
        "--boundaries",
        &data("boundaries.geojson"),
        "--out",
        &p("g1.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "partition",
        "--households",
        &data("households.geojson"),
        "--boundaries",
        &data("boundaries.geojson"),
        "--out",
        &p("g2.geojson"),
        "--previous",
        &p("g1.geojson"),
        "--report",
        &p("r.json"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("leaves unchanged 16, reshaped 0, new 0, removed 0"),
        "{}",
        stdout(&o)
    );
    let r = report(&d.path().join("r.json"));
    assert_eq!(r["changes"].as_array().unwrap().len(), 16);
    let o = run(&[
        "diff",
        "--old",
        &p("g1.geojson"),
        "--new",
        &p("g2.geojson"),
        "--households",
        &data("households.geojson"),
        "--out",
        &p("diff.json"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let diff = report(&d.path().join("diff.json"));
    assert_eq!(diff["summary"]["households_moved"], 0);
    assert_eq!(diff["summary"]["kept"], 62);
    assert!(diff.get("household_moves").is_none());
}

#[test]
fn diff_between_two_different_layers_counts_moves_and_lists_ids_only_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let o = run(&[
        "partition",
        "--households",
        &data("households.geojson"),
        "--boundaries",
        &data("boundaries.geojson"),
        "--out",
        &p("new.geojson"),
    ]);
    assert!(o.status.success());
    // The demo's existing (departmental-style) grids against the comprehensive plan: 多网合一.
    let o = run(&[
        "diff",
        "--old",
        &data("grids.geojson"),
        "--new",
        &p("new.geojson"),
        "--households",
        &data("households.geojson"),
        "--out",
        &p("d.json"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let diff = report(&d.path().join("d.json"));
    let s = &diff["summary"];
    assert_eq!(s["households"], 19150);
    assert_eq!(
        s["households_kept"].as_u64().unwrap() + s["households_moved"].as_u64().unwrap(),
        19150
    );
    let moved: u64 = diff["moves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["households"].as_u64().unwrap())
        .sum();
    assert_eq!(moved, s["households_moved"].as_u64().unwrap());
    let agreement = s["agreement"].as_f64().unwrap();
    assert!(agreement > 0.3 && agreement <= 1.0, "{agreement}");
    let o = run(&[
        "diff",
        "--old",
        &data("grids.geojson"),
        "--new",
        &p("new.geojson"),
        "--households",
        &data("households.geojson"),
        "--out",
        &p("d2.json"),
        "--include-ids",
    ]);
    assert!(o.status.success());
    let full = report(&d.path().join("d2.json"));
    assert_eq!(
        full["household_moves"].as_array().unwrap().len() as u64,
        s["households_moved"].as_u64().unwrap()
    );
}

#[test]
fn re_assignment_keeps_workers_on_grids_that_kept_their_id() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let h = data("households.geojson");
    let b = data("boundaries.geojson");
    let w = data("workers.geojson");
    assert!(
        run(&[
            "partition",
            "--households",
            &h,
            "--boundaries",
            &b,
            "--out",
            &p("g1.geojson")
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "assign",
            "--grids",
            &p("g1.geojson"),
            "--households",
            &h,
            "--workers",
            &w,
            "--out",
            &p("a1.geojson")
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "partition",
            "--households",
            &h,
            "--boundaries",
            &b,
            "--out",
            &p("g2.geojson"),
            "--previous",
            &p("g1.geojson")
        ])
        .status
        .success()
    );
    let o = run(&[
        "assign",
        "--grids",
        &p("g2.geojson"),
        "--households",
        &h,
        "--workers",
        &w,
        "--out",
        &p("a2.geojson"),
        "--previous-assignment",
        &p("a1.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "diff",
        "--old",
        &p("a1.geojson"),
        "--new",
        &p("a2.geojson"),
        "--households",
        &h,
        "--out",
        &p("d.json"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let diff = report(&d.path().join("d.json"));
    assert_eq!(diff["summary"]["workers_changed"], 0, "{}", diff["workers"]);
    let a1 = report(&d.path().join("a1.geojson"));
    assert!(
        a1["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["properties"]["primary_worker"].is_string())
            .count()
            > 20
    );
}

/// The case that once wrote an invalid ring: four villages change, the grids are re-drawn with the
/// binary, and its own `check` and `diff` accept the output (exit 0 or 1, never 2).
#[test]
fn a_redraw_after_four_villages_changed_passes_check_and_diff() {
    use gridplan::output::{FeatureWriter, Shape};
    use gridplan::spatial::crs::WGS84;
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let (mut areas, working, _) =
        gridplan::input::read_boundaries(Path::new(&data("boundaries.geojson")), None, None)
            .unwrap();
    for (from, to) in [
        ("320116101201", "320116101202"),
        ("320116101203", "320116101206"),
        ("320116101205", "320116101208"),
        ("320116101207", "320116101204"),
    ] {
        assert!(gridplan::synth::move_compound(&mut areas, from, to).is_some());
    }
    let mut w = FeatureWriter::create(&d.path().join("b2.geojson"), working, WGS84).unwrap();
    for a in &areas {
        let mut props = serde_json::Map::new();
        props.insert("code".into(), a.code.clone().into());
        for (k, v) in [
            ("name", &a.name),
            ("level", &a.level),
            ("parent", &a.parent),
            ("kind", &a.kind),
        ] {
            if let Some(v) = v {
                props.insert(k.into(), v.clone().into());
            }
        }
        w.feature(Some(&a.code), Shape::Areal(&a.geometry), &props)
            .unwrap();
    }
    w.finish().unwrap();
    let o = run(&[
        "partition",
        "--households",
        &data("households.geojson"),
        "--boundaries",
        &data("boundaries.geojson"),
        "--out",
        &p("g1.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "partition",
        "--households",
        &data("households.geojson"),
        "--boundaries",
        &p("b2.geojson"),
        "--previous",
        &p("g1.geojson"),
        "--out",
        &p("g2.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "check",
        "--grids",
        &p("g2.geojson"),
        "--households",
        &data("households.geojson"),
        "--boundaries",
        &p("b2.geojson"),
    ]);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "diff",
        "--old",
        &p("g1.geojson"),
        "--new",
        &p("g2.geojson"),
        "--households",
        &data("households.geojson"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
