//! The bundled demo district: reproducible from its seed, and checked the same in WGS84 and EPSG:4549.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

fn data() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

fn check(dir: &Path, households: &Path) -> (Option<i32>, Value) {
    let r = dir.join(format!(
        "report-{}.json",
        households.file_stem().unwrap().to_string_lossy()
    ));
    let out = run(&[
        "check",
        "--grids",
        data().join("grids.geojson").to_str().unwrap(),
        "--households",
        households.to_str().unwrap(),
        "--boundaries",
        data().join("boundaries.geojson").to_str().unwrap(),
        "--report",
        r.to_str().unwrap(),
    ]);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (out.status.code(), report(&r))
}

#[test]
fn the_bundled_data_is_what_the_seeded_generator_writes() {
    let d = tempfile::tempdir().unwrap();
    let out = run(&["generate", "--out", d.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for name in [
        "boundaries.geojson",
        "households.geojson",
        "grids.geojson",
        "workers.geojson",
        "blocks.geojson",
        "barriers.geojson",
    ] {
        let fresh = std::fs::read(d.path().join(name)).unwrap();
        let bundled = std::fs::read(data().join(name)).unwrap();
        assert!(
            fresh == bundled,
            "{name} differs from a fresh `gridplan generate`"
        );
    }
}

#[test]
fn the_demo_check_finds_the_known_violations() {
    let d = tempfile::tempdir().unwrap();
    let (code, r) = check(d.path(), &data().join("households.geojson"));
    assert_eq!(code, Some(1));
    let s = &r["summary"];
    assert_eq!(s["leaves"], 16);
    // The three injected faults.
    assert!(!violations(&r, "overlap").is_empty());
    assert!(!violations(&r, "gap").is_empty());
    let crossing = violations(&r, "crosses_leaf");
    assert!(
        crossing
            .iter()
            .any(|v| v["grid"].as_str().unwrap().starts_with("320116001001-")),
        "{crossing:?}"
    );
    // The small community, the 550 one and the tower.
    let infeasible: Vec<&str> = s["leaves_infeasible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["leaf"].as_str().unwrap())
        .collect();
    assert!(infeasible.contains(&"320116001002"), "{infeasible:?}");
    assert!(infeasible.contains(&"320116001006"), "{infeasible:?}");
    let small = r["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["community"] == "320116001002")
        .unwrap();
    assert_eq!(small["households"], 120);
    assert_eq!(small["status"], "under");
    // Households in the river are counted, not dropped.
    assert_eq!(s["households_outside_leaves"]["points"], 3);
    assert_eq!(
        s["households_total"].as_u64().unwrap(),
        s["households_assigned"].as_u64().unwrap() + s["households_unassigned"].as_u64().unwrap()
    );
    // No household-level data in the report.
    let text = r.to_string();
    assert!(!text.contains("elderly_alone") && !text.contains("key_persons"));
}

#[test]
fn households_in_wgs84_and_in_epsg_4549_give_the_same_report() {
    let d = tempfile::tempdir().unwrap();
    let projected = d.path().join("gk");
    let out = run(&[
        "generate",
        "--out",
        projected.to_str().unwrap(),
        "--households-crs",
        "EPSG:4549",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(projected.join("households.geojson")).unwrap();
    assert!(text.contains("EPSG::4549"));
    let (code_a, mut a) = check(d.path(), &data().join("households.geojson"));
    let (code_b, mut b) = check(d.path(), &projected.join("households.geojson"));
    assert_eq!(code_a, code_b);
    // File names differ in the warnings; everything else must be equal.
    a.as_object_mut().unwrap().remove("warnings");
    b.as_object_mut().unwrap().remove("warnings");
    assert_eq!(a, b);
}
