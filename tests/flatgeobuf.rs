//! FlatGeobuf in and out: layers written as `.fgb` carry what the GeoJSON would, gridplan's own `check`
//! reads them back with the same answers, households and boundaries may arrive as `.fgb`, and a
//! broken `.fgb` is a named input error.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

mod common;
use common::*;
use gridplan::output::{FeatureWriter, Shape};
use gridplan::spatial::crs::WGS84;
use serde_json::{Map, Value};
use std::path::Path;

const DEMO_B: &str = "data/boundaries.geojson";
const DEMO_H: &str = "data/households.geojson";

fn partition(households: &str, out: &Path) -> Value {
    let report = out.with_extension("report.json");
    let o = run(&[
        "partition",
        "--households",
        households,
        "--boundaries",
        DEMO_B,
        "--out",
        out.to_str().expect("utf-8 path"),
        "--report",
        report.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    common::report(&report)
}

fn check(households: &str, grids: &Path) -> Value {
    let report = grids.with_extension("check.json");
    let o = run(&[
        "check",
        "--households",
        households,
        "--boundaries",
        DEMO_B,
        "--grids",
        grids.to_str().expect("utf-8 path"),
        "--report",
        report.to_str().expect("utf-8 path"),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    common::report(&report)
}

/// The figures of a check report that do not depend on the order of the grids.
fn summary(report: &Value) -> Value {
    let mut rows: Vec<(String, Value)> = report["grids"]
        .as_array()
        .expect("grids")
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap_or("").to_string(),
                g["households"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    serde_json::json!({
        "rows": rows,
        "violations": report["violations"].as_array().map(Vec::len),
    })
}

#[test]
fn grids_written_as_flatgeobuf_are_checked_as_their_geojson() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("grids.geojson");
    let fgb = dir.path().join("grids.fgb");
    partition(DEMO_H, &json);
    partition(DEMO_H, &fgb);
    let bytes = std::fs::read(&fgb).expect("written");
    assert!(
        bytes.starts_with(b"fgb\x03"),
        "a FlatGeobuf file, not GeoJSON"
    );
    let a = check(DEMO_H, &json);
    let b = check(DEMO_H, &fgb);
    assert!(a["grids"].as_array().is_some_and(|g| g.len() > 50));
    assert_eq!(summary(&a), summary(&b));
    // GDAL reads the layer as FlatGeobuf with its columns, where GDAL is installed.
    match std::process::Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(&fgb)
        .output()
    {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.contains("FlatGeobuf"), "{text}");
            assert!(
                text.contains("Feature Count: ") && text.contains("households: Integer"),
                "{text}"
            );
        }
        Err(_) => eprintln!("ogrinfo not installed: GDAL's reading of the file not tried"),
    }
}

#[test]
fn households_given_as_flatgeobuf_give_the_same_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo's households rewritten as FlatGeobuf points with the same properties.
    let text = std::fs::read_to_string(DEMO_H).expect("demo households");
    let demo: Value = serde_json::from_str(&text).expect("json");
    let fgb = dir.path().join("households.fgb");
    let mut w = FeatureWriter::create(&fgb, WGS84, WGS84).expect("create");
    for f in demo["features"].as_array().expect("features") {
        let c = &f["geometry"]["coordinates"];
        let at = geo::Coord {
            x: c[0].as_f64().expect("x"),
            y: c[1].as_f64().expect("y"),
        };
        let props: Map<String, Value> = f["properties"].as_object().cloned().unwrap_or_default();
        w.feature(None, Shape::Point(at), &props).expect("feature");
    }
    w.finish().expect("finish");
    let grids = dir.path().join("grids.geojson");
    partition(DEMO_H, &grids);
    let a = check(DEMO_H, &grids);
    let b = check(fgb.to_str().expect("utf-8"), &grids);
    assert_eq!(summary(&a), summary(&b));
    assert_eq!(a["households_total"], b["households_total"]);
}

#[test]
fn a_broken_flatgeobuf_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fgb = dir.path().join("grids.fgb");
    partition(DEMO_H, &fgb);
    let mut bytes = std::fs::read(&fgb).expect("written");
    bytes.truncate(bytes.len() / 2);
    let broken = dir.path().join("broken.fgb");
    std::fs::write(&broken, bytes).expect("write");
    let o = run(&[
        "check",
        "--households",
        DEMO_H,
        "--boundaries",
        DEMO_B,
        "--grids",
        broken.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("broken.fgb") && e.contains("FlatGeobuf"), "{e}");
}
