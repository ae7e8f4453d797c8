//! The population rule: a kind's `measure` (households | population | either) decides which band a grid
//! is judged by in `check`, and what `partition` counts, run as a binary on fixtures with known answers.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

/// Households of community A (`a_households` in 4 buildings, `a_people` residents) and of B (400
/// households, 1,000 residents).
fn households(a_households: u32, a_people: u32) -> Value {
    let mut f = Vec::new();
    for i in 0..4 {
        f.push(point_feature(
            json!({"households": a_households / 4, "population": a_people / 4, "building": format!("a{i}")}),
            200.0 + 200.0 * i as f64,
            500.0,
        ));
        f.push(point_feature(
            json!({"households": 100, "population": 250, "building": format!("b{i}")}),
            1200.0 + 200.0 * i as f64,
            500.0,
        ));
    }
    collection_4549(f)
}

fn rules(dir: &Path, measure: &str) -> String {
    let path = dir.join(format!("rules-{measure}.toml"));
    std::fs::write(&path, format!("[kinds.urban]\nmeasure = \"{measure}\"\n")).expect("rules");
    path.to_str().expect("utf-8 path").to_string()
}

/// `gridplan check` of one grid per community, under `measure`; returns (status, report).
fn check(a_households: u32, a_people: u32, measure: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let b = write(d, "boundaries.geojson", &two_leaves());
    let h = write(d, "households.geojson", &households(a_households, a_people));
    let g = write(
        d,
        "grids.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
            grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
        ]),
    );
    let r = d.join("report.json");
    let rules = rules(d, measure);
    let out = run(&[
        "check",
        "--grids",
        g.to_str().unwrap(),
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
        "--rules",
        &rules,
        "--report",
        r.to_str().unwrap(),
    ]);
    let code = out.status.code().expect("exit code");
    assert!(code < 2, "{}", stderr(&out));
    (code, report(&r))
}

fn rules_broken(report: &Value) -> Vec<(String, String)> {
    report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap_or("").to_string(),
                v["grid"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_grid_failing_only_the_population_rule() {
    // A: 400 households (in 300–500), 1,900 residents (over the urban 800–1,200).
    let (code, r) = check(400, 1_900, "households");
    assert_eq!(code, 0, "{r:#}");
    assert!(rules_broken(&r).is_empty());

    let (code, r) = check(400, 1_900, "population");
    assert_eq!(code, 1);
    assert_eq!(
        rules_broken(&r),
        vec![("population_band".to_string(), "A-G01".to_string())]
    );
    let v = violations(&r, "population_band")[0];
    assert_eq!(v["value"], json!(1900.0));
    assert_eq!(v["leaf"], "A");
    let a = &r["grids"][0];
    assert_eq!(a["id"], "A-G01");
    assert_eq!(a["measure"], "population");
    assert_eq!(a["status"], "over");
    assert_eq!(a["population_status"], "over");
    assert_eq!(r["grids"][1]["status"], "ok");
    assert_eq!(r["summary"]["over"], 1);

    // Under `either` the households are in band, so the grid passes.
    let (code, r) = check(400, 1_900, "either");
    assert_eq!(code, 0, "{r:#}");
    assert!(rules_broken(&r).is_empty());
    assert_eq!(r["grids"][0]["status"], "ok");
    assert_eq!(r["grids"][0]["population_status"], "over");
}

#[test]
fn under_either_a_grid_fails_only_when_both_measures_are_out() {
    // A: 600 households (over 500) and 1,900 residents (over 1,200): out on both counts.
    let (code, r) = check(600, 1_900, "either");
    assert_eq!(code, 1);
    let mut broken = rules_broken(&r);
    broken.sort();
    assert_eq!(
        broken,
        vec![
            ("band_over".to_string(), "A-G01".to_string()),
            ("population_band".to_string(), "A-G01".to_string())
        ]
    );
    // 600 households but 1,000 residents: the population is in band, so `either` passes it, and
    // `population` does not judge the households at all.
    let (code, r) = check(600, 1_000, "either");
    assert_eq!(code, 0, "{r:#}");
    let (code, r) = check(600, 1_000, "population");
    assert_eq!(code, 0, "{r:#}");
    assert!(violations(&r, "band_over").is_empty());
    // …while by households it is over.
    let (_, r) = check(600, 1_000, "households");
    assert_eq!(violations(&r, "band_over").len(), 1);
}

#[test]
fn a_bad_measure_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rules.toml");
    for (text, key) in [
        (
            "[kinds.urban]\nmeasure = \"people\"\n",
            "kinds.urban.measure",
        ),
        (
            "[kinds.urban]\nmin_population = 1300\n",
            "min_population (1300)",
        ),
    ] {
        std::fs::write(&path, text).expect("rules");
        let out = run(&["rules", "--rules", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(key), "{}", stderr(&out));
    }
}

/// One urban community of 30 buildings on a lattice, 20 households and 100 residents each: 600
/// households (two grids of 300 by households) and 3,000 residents (three grids of 1,000 by population).
#[test]
fn partition_counts_residents_under_the_population_measure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let boundaries = collection_4549(vec![
        polygon_feature(
            json!({"code": "S", "level": "street", "kind": "urban"}),
            rect(0.0, 0.0, 1000.0, 1000.0),
        ),
        polygon_feature(
            json!({"code": "A", "parent": "S"}),
            rect(0.0, 0.0, 1000.0, 1000.0),
        ),
    ]);
    let mut points = Vec::new();
    for i in 0..30 {
        points.push(point_feature(
            json!({"households": 20, "population": 100, "building": format!("a{i}")}),
            50.0 + 180.0 * (i % 6) as f64,
            100.0 + 180.0 * (i / 6) as f64,
        ));
    }
    let b = write(d, "boundaries.geojson", &boundaries);
    let h = write(d, "households.geojson", &collection_4549(points));
    for (measure, grids) in [("households", 2), ("population", 3)] {
        let rules = rules(d, measure);
        let g = d.join(format!("grids-{measure}.geojson"));
        let out = run(&[
            "partition",
            "--households",
            h.to_str().unwrap(),
            "--boundaries",
            b.to_str().unwrap(),
            "--rules",
            &rules,
            "--out",
            g.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let drawn: Value =
            serde_json::from_str(&std::fs::read_to_string(&g).expect("grids")).expect("json");
        assert_eq!(
            drawn["features"].as_array().map(Vec::len),
            Some(grids),
            "{measure}"
        );
        let r = d.join(format!("check-{measure}.json"));
        let out = run(&[
            "check",
            "--grids",
            g.to_str().unwrap(),
            "--households",
            h.to_str().unwrap(),
            "--boundaries",
            b.to_str().unwrap(),
            "--rules",
            &rules,
            "--report",
            r.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{measure}: {}", stderr(&out));
        let r = report(&r);
        for row in r["grids"].as_array().expect("grids") {
            assert_eq!(row["status"], "ok", "{measure}: {row}");
            if measure == "population" {
                let p = row["population"].as_u64().expect("population known");
                assert!((800..=1_200).contains(&p), "{row}");
            }
        }
    }
}
