//! Grids that follow the ground, on generated districts with street blocks and named roads:
//! `gridplan partition --blocks --barriers` keeps every block whole (bar the oversize ones it reports),
//! puts inner grid edges on block edges and barriers, meets the band wherever a whole number of grids
//! fits, draws one polygon per grid, tiles every leaf exactly, and names each grid's four sides.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

struct Planned {
    report: Value,
    check: Value,
    check_code: Option<i32>,
    grids: Value,
}

fn plan(dir: &Path) -> Planned {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let o = run(&[
        "partition",
        "--households",
        &p("households.geojson"),
        "--boundaries",
        &p("boundaries.geojson"),
        "--blocks",
        &p("blocks.geojson"),
        "--barriers",
        &p("barriers.geojson"),
        "--out",
        &p("cells-grids.geojson"),
        "--report",
        &p("cells-report.json"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = run(&[
        "check",
        "--grids",
        &p("cells-grids.geojson"),
        "--households",
        &p("households.geojson"),
        "--boundaries",
        &p("boundaries.geojson"),
        "--blocks",
        &p("blocks.geojson"),
        "--report",
        &p("cells-check.json"),
    ]);
    assert!(!stderr(&c).contains("panicked"), "{}", stderr(&c));
    Planned {
        report: report(&dir.join("cells-report.json")),
        check: report(&dir.join("cells-check.json")),
        check_code: c.status.code(),
        grids: report(&dir.join("cells-grids.geojson")),
    }
}

/// `band`: the least share of grids in the band where a whole number fits (1.0: all of them).
fn assert_follows_the_ground(p: &Planned, band: f64) {
    // Every polygon written is valid: `check` read it (exit 2 would mean bad input).
    assert_eq!(p.check_code, Some(1), "{}", p.check["violations"]);
    // Blocks cut between grids: only those the partition reported as divided by their buildings.
    let divided: BTreeSet<String> = p.report["leaf_plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["divided_cells"].as_array().cloned().unwrap_or_default())
        .map(|d| d["cell"].as_str().unwrap().to_string())
        .collect();
    let rules: BTreeSet<&str> = p.check["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["rule"].as_str().unwrap())
        .collect();
    // Only the leaves where no whole number of grids fits break the band; nothing else is wrong (no
    // grid in two parts, none crossing its leaf, no building split).
    for v in p.check["violations"].as_array().unwrap() {
        let rule = v["rule"].as_str().unwrap();
        assert!(
            ["band_under", "band_over", "split_block"].contains(&rule),
            "{rule}: {}",
            p.check["violations"]
        );
    }
    for v in p.check["violations"].as_array().unwrap() {
        if v["rule"] == "split_block" {
            let block = v["message"]
                .as_str()
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap();
            assert!(
                divided.iter().any(|d| d.split(", ").any(|b| b == block)),
                "{block} was cut: {}",
                v["message"]
            );
        }
    }
    // The band wherever it is reachable.
    let share = p.report["quality"]["share_in_band_where_reachable"]
        .as_f64()
        .unwrap();
    assert!(share >= band, "{share}");
    if band >= 1.0 {
        for l in p.check["leaves"].as_array().unwrap() {
            if l["infeasible"].is_null() {
                let code = l["code"].as_str().unwrap();
                for g in p.grids["features"].as_array().unwrap() {
                    if g["properties"]["community"] == code {
                        assert_eq!(g["properties"]["status"], "ok", "{}", g["properties"]);
                    }
                }
            }
        }
    }
    // Exact tiling (no gap, no overlap, nothing outside its leaf).
    assert!(
        !rules.contains("gap") && !rules.contains("overlap") && !rules.contains("crosses_leaf")
    );
    // Inner edges on block edges or barriers (the rest are inside the divided blocks).
    let ground = &p.report["ground"];
    assert!(
        ground["share_inner_edges_on_ground"].as_f64().unwrap() > 0.98,
        "{ground}"
    );
    // 四至 on every grid, in the layer and the report.
    for g in p.grids["features"].as_array().unwrap() {
        let d = g["properties"]["bounds_description"].as_str().unwrap();
        assert!(
            d.starts_with("东至") && d.contains("，南至") && d.contains("，北至"),
            "{d}"
        );
        assert!(!d.contains('—'), "a side without a name: {d}");
    }
    assert_eq!(
        p.report["bounds_descriptions"].as_object().unwrap().len(),
        p.grids["features"].as_array().unwrap().len()
    );
}

#[test]
fn the_demo_district_with_its_blocks_and_roads() {
    let d = tempfile::tempdir().unwrap();
    for f in [
        "households.geojson",
        "boundaries.geojson",
        "blocks.geojson",
        "barriers.geojson",
    ] {
        std::fs::copy(data().join(f), d.path().join(f)).unwrap();
    }
    let p = plan(d.path());
    assert_follows_the_ground(&p, 1.0);
    // One polygon per grid.
    assert_eq!(p.check["summary"]["multi_part_grids"], 0);
    // Compactness with whole, irregular street blocks: the goals.
    assert!(p.report["quality"]["mean_compactness"].as_f64().unwrap() >= 0.50);
    assert!(p.report["quality"]["p10_compactness"].as_f64().unwrap() >= 0.30);
    // Most grids are named by roads on some side.
    let by_road = p.grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            let d = g["properties"]["bounds_description"].as_str().unwrap();
            d.contains('路') || d.contains("大道")
        })
        .count();
    assert!(by_road * 2 > p.grids["features"].as_array().unwrap().len());
}

#[test]
fn a_generated_county_with_its_blocks_and_roads() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "generate",
        "--out",
        d.path().to_str().unwrap(),
        "--households",
        "40000",
        "--seed",
        "7",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = plan(d.path());
    // One leaf of 4,200 households here (L-shaped, cut by blocks into ragged pieces) kept one grid
    // out of the band until starts were drawn on spanning trees.
    assert_follows_the_ground(&p, 1.0);
}

#[test]
fn check_names_the_blocks_existing_grids_cut() {
    // The bundled naive grids are straight cuts: they cut many blocks, each named by its code.
    let d = tempfile::tempdir().unwrap();
    let rep = d.path().join("check.json");
    let o = run(&[
        "check",
        "--grids",
        data().join("grids.geojson").to_str().unwrap(),
        "--households",
        data().join("households.geojson").to_str().unwrap(),
        "--boundaries",
        data().join("boundaries.geojson").to_str().unwrap(),
        "--blocks",
        data().join("blocks.geojson").to_str().unwrap(),
        "--report",
        rep.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("split_block"));
    let r = report(&rep);
    let split: Vec<&Value> = r["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "split_block")
        .collect();
    assert!(split.len() > 50, "{}", split.len());
    assert!(
        split
            .iter()
            .all(|v| v["message"].as_str().unwrap().contains("-K")),
        "each names the block's code"
    );
    // Without --blocks there is no such rule.
    let o = run(&[
        "check",
        "--grids",
        data().join("grids.geojson").to_str().unwrap(),
        "--households",
        data().join("households.geojson").to_str().unwrap(),
        "--boundaries",
        data().join("boundaries.geojson").to_str().unwrap(),
    ]);
    assert!(!stdout(&o).contains("split_block"));
}

#[test]
fn bad_layers_are_refused_with_every_problem_named() {
    let d = tempfile::tempdir().unwrap();
    let bad_blocks = write(
        d.path(),
        "blocks.geojson",
        &serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "K1"}, "geometry": {"type": "Point", "coordinates": [118.8, 32.3]}}
        ]}),
    );
    let bad_barriers = write(
        d.path(),
        "barriers.geojson",
        &serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "雄州路", "rank": "high"}, "geometry": {"type": "LineString", "coordinates": [[118.8, 32.3], [118.81, 32.3]]}}
        ]}),
    );
    let o = run(&[
        "partition",
        "--households",
        data().join("households.geojson").to_str().unwrap(),
        "--boundaries",
        data().join("boundaries.geojson").to_str().unwrap(),
        "--blocks",
        bad_blocks.to_str().unwrap(),
        "--barriers",
        bad_barriers.to_str().unwrap(),
        "--out",
        d.path().join("g.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("blocks.geojson: feature 0"), "{err}");
    assert!(err.contains("barriers.geojson: feature 0"), "{err}");
    assert!(err.contains("`rank`"), "{err}");
}
