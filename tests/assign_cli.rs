//! `gridplan assign` as a binary: the demo district end to end, CSV workers, and bad worker rows.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data")).join(name)
}

/// Partitions the demo district into `dir` and returns the grids file.
fn demo_grids(dir: &Path) -> PathBuf {
    let g = dir.join("grids.geojson");
    let o = run(&[
        "partition",
        "--households",
        data("households.geojson").to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
        "--out",
        g.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    g
}

fn assign(
    dir: &Path,
    grids: &Path,
    workers: &Path,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let out = dir.join("assignment.geojson");
    let rep = dir.join("staffing.json");
    let households = data("households.geojson");
    let mut args = vec![
        "assign",
        "--grids",
        grids.to_str().unwrap(),
        "--households",
        households.to_str().unwrap(),
        "--workers",
        workers.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--report",
        rep.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = run(&args);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    (o.status.code(), stdout(&o), stderr(&o))
}

#[test]
fn the_demo_district_gets_its_workers_and_a_staffing_answer() {
    let d = tempfile::tempdir().unwrap();
    let g = demo_grids(d.path());
    let boundaries = data("boundaries.geojson");
    let (code, out, err) = assign(
        d.path(),
        &g,
        &data("workers.geojson"),
        &["--boundaries", boundaries.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("workers to recruit"));
    let a = report(&d.path().join("assignment.geojson"));
    let s = report(&d.path().join("staffing.json"));
    let features = a["features"].as_array().unwrap();
    assert_eq!(features.len(), 62);
    let workers: Vec<Value> = report(&data("workers.geojson"))["features"]
        .as_array()
        .unwrap()
        .clone();
    let exited: Vec<&str> = workers
        .iter()
        .filter(|w| w["properties"]["status"] == "exited")
        .map(|w| w["properties"]["id"].as_str().unwrap())
        .collect();
    assert!(!exited.is_empty());
    let town_of = |id: &str| {
        workers
            .iter()
            .find(|w| w["properties"]["id"] == id)
            .unwrap()["properties"]["town"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for f in features {
        let p = &f["properties"];
        // Workload is a function of the sensitive counts: only in a planner's file (--include-sensitive).
        assert!(p.get("workload_hours").is_none());
        assert!(p["cadre_responsible"].is_boolean());
        if let Some(w) = p["primary_worker"].as_str() {
            assert!(!exited.contains(&w), "exited worker {w} assigned");
            assert_eq!(
                town_of(w),
                p["town"].as_str().unwrap(),
                "worker {w} crosses towns"
            );
            assert_eq!(p["workers"], json!([w]));
        }
        // Nor the counts themselves.
        for k in ["elderly_alone", "key_persons", "vulnerable"] {
            assert!(p.get(k).is_none());
        }
    }
    let towns = s["towns"].as_array().unwrap();
    assert_eq!(towns.len(), 2);
    for t in towns {
        assert!(["optimal", "gap_limit"].contains(&t["solver_status"].as_str().unwrap()));
        let uncovered = t["grids_uncovered"].as_array().unwrap().len();
        assert_eq!(uncovered > 0, t["shortfall_workers"].as_u64().unwrap() > 0);
    }
    // The same run without boundaries finds the towns from the 12-digit codes: the same answer.
    let primaries = |a: &Value| -> Vec<Value> {
        a["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["primary_worker"].clone())
            .collect()
    };
    // (Without boundaries the grids' kinds are unknown: every grid takes the default policy, so both
    // runs use one policy for every kind.)
    let rules = d.path().join("by-hours.toml");
    std::fs::write(
        &rules,
        "[staffing]\npolicy = \"by_hours\"\n[staffing.kinds]\n",
    )
    .unwrap();
    let (code, _, err) = assign(
        d.path(),
        &g,
        &data("workers.geojson"),
        &[
            "--boundaries",
            boundaries.to_str().unwrap(),
            "--rules",
            rules.to_str().unwrap(),
            "--include-sensitive",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let a = report(&d.path().join("assignment.geojson"));
    let with_boundaries = primaries(&a);
    // A planner's file carries the workload.
    for f in a["features"].as_array().unwrap() {
        assert!(f["properties"]["workload_hours"].as_f64().unwrap() > 0.0);
    }
    let (code, _, err) = assign(
        d.path(),
        &g,
        &data("workers.geojson"),
        &["--rules", rules.to_str().unwrap()],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        primaries(&report(&d.path().join("assignment.geojson"))),
        with_boundaries
    );
}

fn workers_csv(dir: &Path, rows: &str) -> PathBuf {
    let p = dir.join("workers.csv");
    std::fs::write(
        &p,
        format!("id,lon,lat,type,hours,town,status,previous_grids\n{rows}"),
    )
    .unwrap();
    p
}

#[test]
fn workers_from_csv() {
    let d = tempfile::tempdir().unwrap();
    let g = demo_grids(d.path());
    let w = workers_csv(
        d.path(),
        "c1,118.81,32.31,full_time,40,320116001000,active,\nc2,118.82,32.31,part_time,,320116001,,\nc3,118.90,32.33,cadre,12,320116101000,exited,320116101201-G01\n",
    );
    let (code, _, err) = assign(d.path(), &g, &w, &[]);
    assert_eq!(code, Some(0), "{err}");
    let s = report(&d.path().join("staffing.json"));
    let street = s["towns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["town"] == "320116001000")
        .unwrap();
    assert_eq!(street["workers_available"], 2);
    let rural = s["towns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["town"] == "320116101000")
        .unwrap();
    assert_eq!(rural["workers_available"], 0);
    assert_eq!(rural["workers_exited"], 1);
}

#[test]
fn bad_worker_rows_are_named() {
    let d = tempfile::tempdir().unwrap();
    let g = demo_grids(d.path());
    let w = workers_csv(
        d.path(),
        "a,118.81,32.31,full_time,40,999999999000,,\nb,118.81,32.31,full_time,-5,320116001000,,\nb,118.81,32.31,full_time,40,320116001000,,\nc,118.81,32.31,wizard,40,320116001000,,\n",
    );
    let (code, _, err) = assign(d.path(), &g, &w, &[]);
    assert_eq!(code, Some(2), "{err}");
    for needle in [
        "row 1",
        "`town`",
        "999999999000",
        "row 2",
        "`hours`",
        "negative",
        "row 3",
        "duplicate id",
        "row 4",
        "`type`",
        "wizard",
    ] {
        assert!(err.contains(needle), "expected {needle:?} in {err}");
    }
    let gj = d.path().join("w.geojson");
    std::fs::write(&gj, json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "x", "town": "320116001000", "hours": "lots"}, "geometry": {"type": "Point", "coordinates": [118.81, 32.31]}}]}).to_string()).unwrap();
    let (code, _, err) = assign(d.path(), &g, &gj, &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("feature 0") && err.contains("`hours`"),
        "{err}"
    );
}
