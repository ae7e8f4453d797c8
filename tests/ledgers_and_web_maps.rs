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
        let g = gridplan::spatial::webmap::wgs84_to_gcj02(w);
        let p = if crs == "BD09" {
            gridplan::spatial::webmap::gcj02_to_bd09(g)
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

/// The demo households as a planner's ledger (CSV with a byte-order mark and Chinese column names):
/// the same recount as the GeoJSON file.
#[test]
fn a_household_ledger_recounts_as_the_geojson_file() {
    let d = tempfile::tempdir().unwrap();
    let h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    let mut csv = String::from("\u{feff}编号,经度,纬度,户数,人口,楼栋,单元,备注\n");
    for (i, f) in h["features"].as_array().unwrap().iter().enumerate() {
        let c = &f["geometry"]["coordinates"];
        let p = &f["properties"];
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        csv.push_str(&format!(
            "H{i},{},{},{},{},{},{},note\n",
            c[0],
            c[1],
            text(&p["households"]),
            text(&p["population"]),
            text(&p["building"]),
            text(&p["entrance"]),
        ));
    }
    let ledger = d.path().join("ledger.csv");
    std::fs::write(&ledger, csv).unwrap();
    let truth = check(&data("households.geojson"), &d.path().join("truth.json"));
    let r = check(&ledger, &d.path().join("ledger.json"));
    let rows = |r: &Value| -> Vec<(u64, Value)> {
        r["grids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["households"].as_u64().unwrap(), g["population"].clone()))
            .collect()
    };
    assert_eq!(rows(&r), rows(&truth));
}

#[test]
fn bad_ledger_rows_are_named_by_row_and_column() {
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.csv");
    std::fs::write(
        &ledger,
        "户号,经度,纬度,户数\nA1,118.80,32.30,2\nA2,118.80,北纬32度,1\nA3,118.81,32.31,-4\nA1,118.82,32.32,1\n",
    )
    .unwrap();
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("ledger.csv: feature 2") && err.contains("`纬度`"),
        "{err}"
    );
    assert!(err.contains("feature 3") && err.contains("户数"), "{err}");
    assert!(err.contains("duplicate id (also row 1)"), "{err}");
    // No longitude column at all.
    std::fs::write(&ledger, "id,latitude\n1,32.3\n").unwrap();
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no lon column"), "{}", stderr(&o));
}
