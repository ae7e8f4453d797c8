//! Household points collected with Chinese phone maps arrive in GCJ-02 or BD-09: named by `--crs` or a
//! `crs` member, they are converted to WGS84 and give the same recount as the true positions, and the
//! report says how they were read.

mod common;
use common::*;
use geo::Coord;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data")).join(name)
}

/// The demo households moved into GCJ-02 (and on to BD-09 by Baidu's forward formula).
fn offset_households(dir: &Path, crs: &str) -> PathBuf {
    let mut h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    for f in h["features"].as_array_mut().unwrap() {
        let c = &mut f["geometry"]["coordinates"];
        let w = Coord {
            x: c[0].as_f64().unwrap(),
            y: c[1].as_f64().unwrap(),
        };
        let g = gridplan::webmap::wgs84_to_gcj02(w);
        let p = if crs == "BD09" {
            gridplan::webmap::gcj02_to_bd09(g)
        } else {
            g
        };
        *c = json!([p.x, p.y]);
    }
    h["crs"] = json!({"type": "name", "properties": {"name": crs}});
    write(dir, &format!("households-{crs}.geojson"), &h)
}

fn check(households: &Path, report: &Path) -> Value {
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        households.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    common::report(report)
}

#[test]
fn gcj02_and_bd09_points_recount_as_their_true_positions() {
    let d = tempfile::tempdir().unwrap();
    let truth = check(&data("households.geojson"), &d.path().join("truth.json"));
    let counts = |r: &Value| -> Vec<(String, u64)> {
        r["grids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["id"].as_str().unwrap().to_string(),
                    g["households"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    for crs in ["GCJ02", "BD09"] {
        let h = offset_households(d.path(), crs);
        let r = check(&h, &d.path().join(format!("{crs}.json")));
        assert_eq!(counts(&r), counts(&truth), "{crs}");
        let said = r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains(crs));
        assert!(said, "the report says the points were read as {crs}");
    }
    // Read as plain WGS84, the same GCJ-02 points land hundreds of metres off: the recount differs.
    let h = offset_households(d.path(), "GCJ02");
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(&h).unwrap()).unwrap();
    raw.as_object_mut().unwrap().remove("crs");
    let wrong = write(d.path(), "as-wgs84.geojson", &raw);
    let r = check(&wrong, &d.path().join("wrong.json"));
    assert_ne!(counts(&r), counts(&truth));
}
