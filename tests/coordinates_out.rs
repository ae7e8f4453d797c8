//! Output coordinates: every written layer in WGS84 (the default), CGCS2000 or one of its Gauss–Krüger
//! zones (`--out-crs`), read back by gridplan's own `check` with the same answers; and the service's
//! OGC API – Features Part 2 (`crs`, `bbox-crs`, `Content-Crs`, the collections' `crs` lists).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use geo::Coord;
use gridplan::spatial::crs::{Crs, Transform, WGS84};
use http_body_util::BodyExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

fn data(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data")).join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `check` of `grids` against the demo households and boundaries: the report.
fn check(grids: &Path, dir: &Path, extra: &[&str]) -> Value {
    let report = dir.join(format!(
        "{}.report.json",
        grids.file_name().unwrap().to_str().unwrap()
    ));
    let (h, b) = (data("households.geojson"), data("boundaries.geojson"));
    let mut args = vec![
        "check",
        "--grids",
        s(grids),
        "--households",
        s(&h),
        "--boundaries",
        s(&b),
        "--report",
        s(&report),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "check of {} refused: {}",
        grids.display(),
        stderr(&o)
    );
    common::report(&report)
}

/// Per grid (by id: FlatGeobuf keeps its features in its index's order): id, households,
/// population, status.
fn rows(report: &Value) -> Vec<(String, u64, Value, Value)> {
    let mut rows: Vec<_> = report["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_string(),
                g["households"].as_u64().unwrap(),
                g["population"].clone(),
                g["status"].clone(),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// The EPSG code a layer names in its legacy `crs` member.
fn named_crs(layer: &Value) -> Option<u32> {
    let name = layer.pointer("/crs/properties/name")?.as_str()?;
    Crs::parse(name).map(|c| c.0)
}

/// Every coordinate of a layer's geometries.
fn coordinates(layer: &Value) -> Vec<[f64; 2]> {
    fn walk(v: &Value, out: &mut Vec<[f64; 2]>) {
        match v.as_array() {
            Some(a) if a.len() == 2 && a.iter().all(Value::is_f64) => {
                out.push([a[0].as_f64().unwrap(), a[1].as_f64().unwrap()])
            }
            Some(a) => a.iter().for_each(|x| walk(x, out)),
            None => {}
        }
    }
    let mut out = Vec::new();
    for f in layer["features"].as_array().unwrap() {
        walk(&f["geometry"]["coordinates"], &mut out);
    }
    out
}

fn decimals(v: f64) -> usize {
    let text = format!("{v}");
    text.split_once('.').map_or(0, |(_, d)| d.len())
}

#[test]
fn partition_writes_cgcs2000_and_its_zones_and_check_reads_them_back() {
    let d = tempfile::tempdir().unwrap();
    let wgs84 = d.path().join("wgs84.geojson");
    let (h, b) = (data("households.geojson"), data("boundaries.geojson"));
    let partition = |out: &Path, crs: Option<&str>| {
        let mut args = vec![
            "partition",
            "--households",
            s(&h),
            "--boundaries",
            s(&b),
            "--out",
            s(out),
        ];
        if let Some(c) = crs {
            args.extend_from_slice(&["--out-crs", c]);
        }
        let o = run(&args);
        assert!(o.status.success(), "{crs:?}: {}", stderr(&o));
    };
    partition(&wgs84, None);
    let plain = read(&wgs84);
    assert!(
        plain.get("crs").is_none(),
        "WGS84 files carry no crs member"
    );
    let truth = rows(&check(&wgs84, d.path(), &[]));
    assert_eq!(truth.len(), 62);
    // CGCS2000 geographic; the 3-degree zone of 120°E without and with its zone number; the 6-degree
    // zone of 117°E without and with its zone number.
    for (name, code, (x_lo, x_hi), metres) in [
        ("EPSG:4490", 4490, (118.0, 120.0), false),
        ("CGCS2000", 4490, (118.0, 120.0), false),
        ("EPSG:4549", 4549, (300_000.0, 500_000.0), true),
        ("EPSG:4528", 4528, (40_300_000.0, 40_500_000.0), true),
        ("EPSG:4509", 4509, (600_000.0, 700_000.0), true),
        ("EPSG:4498", 4498, (20_600_000.0, 20_700_000.0), true),
    ] {
        let out = d
            .path()
            .join(format!("grids-{code}-{}.geojson", name.len()));
        partition(&out, Some(name));
        let layer = read(&out);
        assert_eq!(named_crs(&layer), Some(code), "{name}: the crs member");
        let cs = coordinates(&layer);
        assert!(!cs.is_empty());
        for c in &cs {
            assert!(c[0] > x_lo && c[0] < x_hi, "{name}: east first, {c:?}");
            let places = decimals(c[0]).max(decimals(c[1]));
            assert!(
                places <= if metres { 3 } else { 9 },
                "{name}: {c:?} written to {places} places"
            );
        }
        assert_eq!(rows(&check(&out, d.path(), &[])), truth, "{name}");
    }
    // County by county (`--by-county`, each county appended as drawn): the same zone, the same grids.
    let by = d.path().join("grids-by-county-4549.geojson");
    let o = run(&[
        "partition",
        "--households",
        s(&h),
        "--boundaries",
        s(&b),
        "--out",
        s(&by),
        "--by-county",
        "--out-crs",
        "EPSG:4549",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let layer = read(&by);
    assert_eq!(named_crs(&layer), Some(4549), "--by-county: the crs member");
    assert!(
        coordinates(&layer)
            .iter()
            .all(|c| c[0] > 300_000.0 && c[0] < 500_000.0)
    );
    assert_eq!(rows(&check(&by, d.path(), &[])), truth, "--by-county");
    // The same positions as the WGS84 file, through PROJ, within the rounding (1 mm).
    let gk = read(&d.path().join("grids-4549-9.geojson"));
    let to = Transform::new(WGS84, Crs(4549)).unwrap();
    for (a, b) in coordinates(&plain).iter().zip(coordinates(&gk)).take(500) {
        let m = to.point(Coord { x: a[0], y: a[1] }).unwrap();
        assert!(
            (m.x - b[0]).abs() < 0.002 && (m.y - b[1]).abs() < 0.002,
            "{a:?} → {m:?}, written {b:?}"
        );
    }
    // FlatGeobuf in a Gauss–Krüger zone: the CRS in its header, read back the same.
    let fgb = d.path().join("grids-4549.fgb");
    partition(&fgb, Some("EPSG:4549"));
    assert_eq!(rows(&check(&fgb, d.path(), &[])), truth);
}

#[test]
fn a_web_map_crs_is_read_never_written() {
    let d = tempfile::tempdir().unwrap();
    let o = run(&[
        "partition",
        "--households",
        s(&data("households.geojson")),
        "--boundaries",
        s(&data("boundaries.geojson")),
        "--out",
        s(&d.path().join("g.geojson")),
        "--out-crs",
        "GCJ02",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("never written"), "{}", stderr(&o));
    let o = run(&["generate", "--out", s(d.path()), "--out-crs", "EPSG:999999"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("PROJ does not know"), "{}", stderr(&o));
}

#[test]
fn assign_and_generate_write_in_the_named_crs() {
    let d = tempfile::tempdir().unwrap();
    // generate: every file in the 3-degree zone, read back by check exactly as the WGS84 files.
    let gk = d.path().join("gk");
    let o = run(&["generate", "--out", s(&gk), "--out-crs", "EPSG:4549"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in [
        "boundaries",
        "households",
        "grids",
        "blocks",
        "barriers",
        "workers",
    ] {
        let layer = read(&gk.join(format!("{f}.geojson")));
        assert_eq!(named_crs(&layer), Some(4549), "{f}");
    }
    let check_in = |dir: &Path, report: &Path| {
        let o = run(&[
            "check",
            "--grids",
            s(&dir.join("grids.geojson")),
            "--households",
            s(&dir.join("households.geojson")),
            "--boundaries",
            s(&dir.join("boundaries.geojson")),
            "--blocks",
            s(&dir.join("blocks.geojson")),
            "--barriers",
            s(&dir.join("barriers.geojson")),
            "--report",
            s(report),
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        common::report(report)
    };
    let gk_report = check_in(&gk, &d.path().join("gk.json"));
    let in_data = check_in(&data(""), &d.path().join("data.json"));
    assert_eq!(rows(&gk_report), rows(&in_data));
    assert_eq!(
        gk_report["summary"]["violations"],
        in_data["summary"]["violations"]
    );
    // assign: the assignment layer in CGCS2000, with the workers read from the 4549 files.
    let out = d.path().join("assignment.geojson");
    let o = run(&[
        "assign",
        "--grids",
        s(&gk.join("grids.geojson")),
        "--households",
        s(&gk.join("households.geojson")),
        "--workers",
        s(&gk.join("workers.geojson")),
        "--boundaries",
        s(&gk.join("boundaries.geojson")),
        "--out",
        s(&out),
        "--out-crs",
        "EPSG:4490",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let layer = read(&out);
    assert_eq!(named_crs(&layer), Some(4490));
    assert_eq!(rows(&check(&out, d.path(), &[])).len(), 62);
}

#[test]
fn a_files_own_crs_member_wins_over_the_flag() {
    // Households collected in GCJ-02 (named by --crs, no member), grids written in EPSG:4549 and
    // boundaries that name WGS84 (by their members): --crs applies to the households only, and the
    // recount is the true one.
    let d = tempfile::tempdir().unwrap();
    let grids = d.path().join("grids-4549.geojson");
    let o = run(&[
        "partition",
        "--households",
        s(&data("households.geojson")),
        "--boundaries",
        s(&data("boundaries.geojson")),
        "--out",
        s(&grids),
        "--out-crs",
        "EPSG:4549",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let truth = rows(&check(&grids, d.path(), &[]));
    let mut h = read(&data("households.geojson"));
    for f in h["features"].as_array_mut().unwrap() {
        let c = &mut f["geometry"]["coordinates"];
        let g = gridplan::spatial::webmap::wgs84_to_gcj02(Coord {
            x: c[0].as_f64().unwrap(),
            y: c[1].as_f64().unwrap(),
        });
        *c = serde_json::json!([g.x, g.y]);
    }
    let gcj = write(d.path(), "households-gcj02.geojson", &h);
    let mut b = read(&data("boundaries.geojson"));
    b["crs"] = serde_json::json!({"type": "name", "properties": {"name": "EPSG:4326"}});
    let boundaries = write(d.path(), "boundaries.geojson", &b);
    let report = d.path().join("r.json");
    let o = run(&[
        "check",
        "--grids",
        s(&grids),
        "--households",
        s(&gcj),
        "--boundaries",
        s(&boundaries),
        "--crs",
        "GCJ02",
        "--report",
        s(&report),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    assert_eq!(rows(&common::report(&report)), truth);
}

// ---- the service: OGC API – Features Part 2 ----

struct App {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = gridplan::service::Config {
        data: Some(data("")),
        db: dir.path().join("g.db").into(),
        tokens: gridplan::service::auth::Tokens::load(None, None).unwrap(),
        tiles: None,
        max_body_bytes: 64 << 20,
        request_timeout: std::time::Duration::from_secs(60),
        limits: Default::default(),
    };
    let state =
        gridplan::service::prepare(&config).unwrap_or_else(|e| panic!("prepare: {}", e.message));
    App {
        router: gridplan::service::router(Arc::new(state), &config),
        _dir: dir,
    }
}

/// (status, Content-Crs, body)
async fn get(app: &App, uri: &str) -> (StatusCode, String, Value) {
    let res = app
        .router
        .clone()
        .oneshot(
            Request::get(uri)
                .header(header::HOST, "example.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let crs = res
        .headers()
        .get("content-crs")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
    (status, crs, v)
}

const EPSG: &str = "http://www.opengis.net/def/crs/EPSG/0/";
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

#[tokio::test]
async fn the_ogc_api_serves_cgcs2000_and_gauss_kruger_on_request() {
    let app = app();
    let (_, _, conf) = get(&app, "/conformance").await;
    assert!(
        conf["conformsTo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs")
    );
    let (_, _, c) = get(&app, "/collections/grids").await;
    assert_eq!(c["storageCrs"], CRS84);
    let listed: Vec<&str> = c["crs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed[0], CRS84);
    for code in [4490, 4326, 4549, 4528, 4509, 4498] {
        assert!(
            listed.contains(&format!("{EPSG}{code}").as_str()),
            "{code}: {listed:?}"
        );
    }
    let (status, header, plain) = get(&app, "/collections/grids/items?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header, format!("<{CRS84}>"));
    // CGCS2000: latitude first (its EPSG axis order), the same numbers as CRS84 swapped.
    let (status, header, cgcs) = get(
        &app,
        &format!("/collections/grids/items?limit=1000&crs={EPSG}4490"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header, format!("<{EPSG}4490>"));
    let (a, b) = (coordinates(&plain), coordinates(&cgcs));
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(&b) {
        assert!(
            (p[0] - q[1]).abs() < 1e-8 && (p[1] - q[0]).abs() < 1e-8,
            "{p:?} vs {q:?}"
        );
    }
    // The 3-degree zone: northing first, metres to the millimetre, as PROJ places them.
    let (_, header, gk) = get(
        &app,
        &format!("/collections/grids/items?limit=1000&crs={EPSG}4549"),
    )
    .await;
    assert_eq!(header, format!("<{EPSG}4549>"));
    let to = Transform::new(WGS84, Crs(4549)).unwrap();
    for (p, q) in a.iter().zip(coordinates(&gk)) {
        let m = to.point(Coord { x: p[0], y: p[1] }).unwrap();
        assert!(
            (m.y - q[0]).abs() < 0.002 && (m.x - q[1]).abs() < 0.002,
            "{p:?} → {m:?}, served {q:?}"
        );
        assert!(decimals(q[0]) <= 3 && decimals(q[1]) <= 3);
    }
    // A single item, and the next links keep the CRS.
    let (_, header, one) = get(
        &app,
        &format!("/collections/grids/items/320116001001001?crs={EPSG}4490"),
    )
    .await;
    assert_eq!(header, format!("<{EPSG}4490>"));
    assert!(one["geometry"]["coordinates"][0][0][0].as_f64().unwrap() < 40.0);
    let (_, _, page) = get(
        &app,
        &format!("/collections/grids/items?limit=5&crs={EPSG}4549"),
    )
    .await;
    let next = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap();
    assert!(
        next["href"]
            .as_str()
            .unwrap()
            .contains("crs=http://www.opengis.net/def/crs/EPSG/0/4549")
    );
    // bbox-crs: the same box in CGCS2000 (latitude first) selects the same grids as in CRS84.
    let ids = |v: &Value| -> Vec<String> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, _, in84) = get(
        &app,
        "/collections/grids/items?bbox=118.80,32.30,118.83,32.33",
    )
    .await;
    let (status, _, in4490) = get(
        &app,
        &format!("/collections/grids/items?bbox=32.30,118.80,32.33,118.83&bbox-crs={EPSG}4490"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!ids(&in84).is_empty() && ids(&in84).len() < 62);
    assert_eq!(ids(&in84), ids(&in4490));
    // A box in the Gauss–Krüger zone (northing first) around one grid finds it.
    let f = &gk["features"][10];
    let c = f["geometry"]["coordinates"][0][0].clone();
    let (n, e) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    let (_, _, near) = get(
        &app,
        &format!(
            "/collections/grids/items?bbox={},{},{},{}&bbox-crs={EPSG}4549",
            n - 5.0,
            e - 5.0,
            n + 5.0,
            e + 5.0
        ),
    )
    .await;
    assert!(ids(&near).contains(&f["id"].as_str().unwrap().to_string()));
    // Refused, naming what is offered.
    for bad in [
        format!("crs={EPSG}3857"),
        "crs=GCJ02".to_string(),
        format!("bbox-crs={EPSG}4490"),
        format!("bbox=1,2,3,4&bbox-crs={EPSG}999999"),
    ] {
        let (status, _, e) = get(&app, &format!("/collections/grids/items?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(e["error"].as_str().unwrap().len() > 10, "{bad}");
    }
    // The plan's grids as a file in a Gauss–Krüger zone: the legacy crs member, east first.
    let (status, _, file) = get(&app, "/api/plans/1/grids?crs=EPSG:4549").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(named_crs(&file), Some(4549));
    let first = coordinates(&file)[0];
    assert!(first[0] > 300_000.0 && first[0] < 500_000.0, "{first:?}");
    let (status, _, _) = get(&app, "/api/plans/1/grids?crs=BD09").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
