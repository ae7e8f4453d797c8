//! `partition --by-county` and the piece-by-piece households reader it stands on: the same grids and
//! the same report as drawing the whole file at once, on a generated province of three counties; every
//! problem of a file read in pieces named with its feature numbered from the start of the file.
#![cfg(feature = "synth")]

mod common;

use common::{collection_4549, point_feature, run, stderr};
use gridplan::input::stream::for_each_piece;
use gridplan::model::Household;
use gridplan::spatial::crs::Crs;
use serde_json::{Value, json};
use std::path::Path;

const WGS84: Crs = Crs(4326);
const CGCS_GK_120: Crs = Crs(4549);

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

#[test]
fn county_by_county_draws_the_same_grids_and_report_as_all_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let out = run(&[
        "generate",
        "--households",
        "58000",
        "--counties",
        "3",
        "--seed",
        "77",
        "--out",
        d.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let boundaries = read_json(&d.join("boundaries.geojson"));
    let counties: Vec<&str> = boundaries["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter(|f| f["properties"]["level"] == "district")
        .filter_map(|f| f["properties"]["code"].as_str())
        .collect();
    assert_eq!(counties.len(), 3, "{counties:?}");

    let households = d.join("households.geojson");
    let boundaries = d.join("boundaries.geojson");
    let args = |out: &str, report: &str| {
        vec![
            "partition".to_string(),
            "--households".into(),
            households.display().to_string(),
            "--boundaries".into(),
            boundaries.display().to_string(),
            "--out".into(),
            d.join(out).display().to_string(),
            "--report".into(),
            d.join(report).display().to_string(),
        ]
    };
    let whole = common::bin()
        .args(args("whole.geojson", "whole.json"))
        .output()
        .expect("run");
    assert!(whole.status.code() == Some(0) || whole.status.code() == Some(1));
    let mut by = args("by.geojson", "by.json");
    by.push("--by-county".into());
    let by = common::bin().args(by).output().expect("run");
    assert_eq!(by.status.code(), whole.status.code(), "{}", stderr(&by));
    let text = String::from_utf8_lossy(&by.stdout);
    for code in &counties {
        assert!(text.contains(code), "{code} missing from:\n{text}");
    }

    let (a, b) = (
        read_json(&d.join("whole.geojson")),
        read_json(&d.join("by.geojson")),
    );
    let fa = a["features"].as_array().expect("features");
    let fb = b["features"].as_array().expect("features");
    assert!(fa.len() > 150, "{}", fa.len());
    assert_eq!(fa, fb, "the grids differ");
    assert!(
        fb.iter()
            .all(|f| f["properties"]["bounds_description"].is_string())
    );

    let (mut ra, mut rb) = (
        read_json(&d.join("whole.json")),
        read_json(&d.join("by.json")),
    );
    let counted = rb["counties"].as_array().expect("counties").clone();
    assert_eq!(counted.len(), 3);
    let grids: u64 = counted.iter().filter_map(|c| c["grids"].as_u64()).sum();
    assert_eq!(grids as usize, fa.len());
    rb.as_object_mut().expect("object").remove("counties");
    // The same report, bar the order of the warnings (said once for the file either way).
    for r in [&mut ra, &mut rb] {
        if let Some(w) = r["warnings"].as_array_mut() {
            w.sort_by_key(|p| p.to_string());
        }
    }
    assert_eq!(ra, rb, "the reports differ");
}

/// A households file of `n` points in EPSG:4549 (crs member first), one `note` property holding text
/// that looks like a boundary between features.
fn households_file(n: usize) -> Value {
    let features = (0..n)
        .map(|i| {
            let mut f = point_feature(
                json!({"id": format!("h{i}"), "households": 1 + i % 3, "building": format!("b{}", i / 7)}),
                (i % 400) as f64 * 2.5,
                (i / 400) as f64 * 2.5,
            );
            if i % 97 == 0 {
                f["properties"]["note"] = json!("} , {\"type\": \"Feature\"}, {");
            }
            f
        })
        .collect();
    collection_4549(features)
}

fn read_in_pieces(path: &Path) -> gridplan::Result<(Vec<Household>, usize)> {
    let mut all = Vec::new();
    let mut pieces = 0;
    let s = for_each_piece(path, None, CGCS_GK_120, 1 << 16, |h| {
        pieces += 1;
        all.extend(h);
        Ok(())
    })?;
    assert_eq!(s.features, all.len());
    Ok((all, pieces))
}

fn problems(e: gridplan::Error) -> Vec<gridplan::problem::Problem> {
    match e {
        gridplan::Error::Invalid(p) => p,
        other => panic!("expected problems, got {other}"),
    }
}

#[test]
fn a_file_read_in_pieces_gives_what_it_gives_read_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = common::write(dir.path(), "h.geojson", &households_file(6_000));
    let (whole, _) =
        gridplan::input::read_households(&path, None, CGCS_GK_120).expect("read whole");
    let (pieces, n) = read_in_pieces(&path).expect("read in pieces");
    assert!(n > 5, "only {n} pieces");
    assert_eq!(whole, pieces);
    // Also reprojected: the file's crs member applies to every piece.
    let mut all = Vec::new();
    for_each_piece(&path, None, WGS84, 1 << 16, |h| {
        all.extend(h);
        Ok(())
    })
    .expect("read into WGS84");
    assert!(all.iter().all(|h| (h.pos.x - 120.0).abs() < 1.0));
}

#[test]
fn problems_deep_in_a_file_read_in_pieces_are_named_from_its_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |p: &[gridplan::problem::Problem], i: usize| {
        p.iter()
            .find(|p| p.feature.as_ref().is_some_and(|f| f.index == i))
            .cloned()
    };
    let mut v = households_file(6_000);
    v["features"][4_321]["geometry"] = Value::Null;
    let path = common::write(dir.path(), "bad.geojson", &v);
    let p = problems(read_in_pieces(&path).expect_err("refused"));
    assert_eq!(
        at(&p, 4_321).and_then(|p| p.field),
        Some("geometry".to_string()),
        "{p:?}"
    );
    // An id repeated in another piece.
    let mut v = households_file(6_000);
    v["features"][5_555]["properties"]["id"] = json!("h12");
    let path = common::write(dir.path(), "dup.geojson", &v);
    let p = problems(read_in_pieces(&path).expect_err("refused"));
    let dup = at(&p, 5_555).expect("the duplicate id named");
    assert!(dup.message.contains("feature 12"), "{}", dup.message);
}

#[test]
fn members_after_the_features_apply_to_every_piece() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = households_file(3_000);
    // `crs` (and `type`) after the features array, and a bbox whose `]` must not be taken for its end.
    let text = format!(
        "{{\"features\":{},\"crs\":{},\"bbox\":[1,2,3,4],\"type\":\"FeatureCollection\"}}\n",
        v["features"], v["crs"]
    );
    let path = dir.path().join("late.geojson");
    std::fs::write(&path, text).expect("write");
    let (whole, _) =
        gridplan::input::read_households(&path, None, CGCS_GK_120).expect("read whole");
    let (pieces, n) = read_in_pieces(&path).expect("read in pieces");
    assert!(n > 2, "only {n} pieces");
    assert_eq!(whole.len(), 3_000);
    assert_eq!(whole, pieces);
}

#[test]
fn checked_county_by_county_the_report_is_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let s = |p: &str| d.join(p).display().to_string();
    let out = run(&[
        "generate",
        "--households",
        "40000",
        "--counties",
        "2",
        "--seed",
        "5",
        "--out",
        &s(""),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The generated grids have faults (an overlap, a gap, a grid reaching into its neighbours).
    let check = |extra: Option<&str>, report: &str| {
        let mut args = vec![
            "check".to_string(),
            "--grids".into(),
            s("grids.geojson"),
            "--households".into(),
            s("households.geojson"),
            "--boundaries".into(),
            s("boundaries.geojson"),
            "--report".into(),
            s(report),
        ];
        args.extend(extra.map(str::to_string));
        let o = common::bin().args(args).output().expect("run");
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let mut r = read_json(&d.join(report));
        if let Some(w) = r["warnings"].as_array_mut() {
            w.sort_by_key(|p| p.to_string());
        }
        r
    };
    let whole = check(None, "whole.json");
    let by = check(Some("--by-county"), "by.json");
    assert!(whole["summary"]["violations"].as_u64() > Some(2));
    assert!(whole["summary"]["overlap_area_m2"].as_f64() > Some(100.0));
    assert_eq!(whole, by);
}
