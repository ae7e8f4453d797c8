//! Helpers for the integration tests: small fixtures written by hand, and running the real binary.
#![allow(dead_code)]

pub mod pg;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// False easting and northing of the metric fixtures (EPSG:4549, around 120°E, 31.6°N).
pub const X0: f64 = 500_000.0;
pub const Y0: f64 = 3_500_000.0;

/// The binary, in an English locale whatever the machine's (a test that wants another sets `LANG`).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gridplan"));
    c.env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the gridplan binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A rectangle ring in fixture metres, offsets from (X0, Y0).
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    json!([[
        [X0 + x0, Y0 + y0],
        [X0 + x1, Y0 + y0],
        [X0 + x1, Y0 + y1],
        [X0 + x0, Y0 + y1],
        [X0 + x0, Y0 + y0]
    ]])
}

pub fn collection_4549(features: Vec<Value>) -> Value {
    json!({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
        "features": features
    })
}

pub fn polygon_feature(props: Value, coordinates: Value) -> Value {
    json!({"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": coordinates}})
}

pub fn point_feature(props: Value, x: f64, y: f64) -> Value {
    json!({"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [X0 + x, Y0 + y]}})
}

pub fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).expect("json"))
        .expect("write fixture");
    path
}

/// Two urban communities side by side, A = [0,1000]×[0,1000] and B = [1000,2000]×[0,1000], in a street.
pub fn two_leaves() -> Value {
    collection_4549(vec![
        polygon_feature(
            json!({"code": "S", "level": "street", "kind": "urban"}),
            rect(0.0, 0.0, 2000.0, 1000.0),
        ),
        polygon_feature(
            json!({"code": "A", "parent": "S"}),
            rect(0.0, 0.0, 1000.0, 1000.0),
        ),
        polygon_feature(
            json!({"code": "B", "parent": "S"}),
            rect(1000.0, 0.0, 2000.0, 1000.0),
        ),
    ])
}

/// Households counted by hand: A-left 350 (10 × 35), A-right 350 (200 + 100 + 50), B 400 (4 × 100).
pub fn hand_households() -> Value {
    let mut f = Vec::new();
    for i in 0..10 {
        f.push(point_feature(
            json!({"households": 35, "population": 80, "building": format!("a{i}")}),
            50.0 + 40.0 * i as f64,
            500.0,
        ));
    }
    for (n, h) in [200, 100, 50].iter().enumerate() {
        f.push(point_feature(
            json!({"households": h, "population": 2 * h, "building": format!("r{n}")}),
            700.0 + 80.0 * n as f64,
            300.0,
        ));
    }
    for i in 0..4 {
        f.push(point_feature(
            json!({"households": 100, "population": 250, "building": format!("b{i}")}),
            1200.0 + 150.0 * i as f64,
            600.0,
        ));
    }
    collection_4549(f)
}

pub fn grid(id: &str, community: &str, coordinates: Value) -> Value {
    let mut f = polygon_feature(json!({"id": id, "community": community}), coordinates);
    f["id"] = json!(id);
    f
}

pub fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report written"))
        .expect("report is JSON")
}

pub fn violations<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["violations"]
        .as_array()
        .expect("violations array")
        .iter()
        .filter(|v| v["rule"] == rule)
        .collect()
}

/// The bundled demo district without its ground layers (households, boundaries, workers, rules when
/// bundled; no `blocks.geojson` or `barriers.geojson`): what `serve --data` plans by straight cuts.
/// The tests of the service written before the ground layers keep their figures (62 grids) on it;
/// the ground layers are tested on the whole directory. Copied once into the target's tmp directory.
pub fn demo_without_layers() -> PathBuf {
    // The tests of one program run at once: one copies, the others wait and find it done.
    static COPYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = COPYING.lock().unwrap_or_else(|e| e.into_inner());
    let data = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data"));
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.join("demo-without-layers");
    let names = [
        "households.geojson",
        "boundaries.geojson",
        "workers.geojson",
        "workers.csv",
        "rules.toml",
        // Not loaded by `serve`; tests send it to `/api/check`.
        "grids.geojson",
    ];
    let fresh = |dir: &Path| {
        names.iter().all(|n| {
            let (a, b) = (data.join(n), dir.join(n));
            match (std::fs::read(&a), std::fs::read(&b)) {
                (Ok(x), Ok(y)) => x == y,
                (Err(_), Err(_)) => true,
                _ => false,
            }
        })
    };
    if fresh(&dir) {
        return dir;
    }
    // Written beside, then renamed into place: test programs running at once never see half a copy.
    let staging = tmp.join(format!("demo-without-layers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("the target's tmp directory is writable");
    for n in names {
        if data.join(n).exists() {
            std::fs::copy(data.join(n), staging.join(n)).expect("the demo data copies");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::rename(&staging, &dir).is_err() {
        // Another test program put its copy there first (the same files).
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(fresh(&dir), "the copy of the demo without layers");
    dir
}
