//! The service on the ground layers: `serve --data DIR` loads `blocks.geojson` and `barriers.geojson`
//! and plans with them (the cells engine: no block cut but the reported divided ones, 四至 on every
//! grid); the datasets API takes both kinds, validated as the command line reads them (every problem
//! named, 4xx); the layers are served read-only as OGC collections with their public properties only
//! (no household figure, whatever the uploaded file carried); checks name the blocks grids cut;
//! replacing boundaries re-draws on the layers.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::pg::PgCluster;
use gridplan::service::auth::Tokens;
use gridplan::service::{Config, prepare, router};
use gridplan::store::Location;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

const PLANNER: &str = "planner-token-0123456789";

fn data() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

fn bundled(name: &str) -> Vec<u8> {
    std::fs::read(data().join(name)).unwrap()
}

fn features(name: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&bundled(name)).unwrap();
    v["features"].as_array().unwrap().clone()
}

struct App {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

/// The service on `db`, loading `files` of the bundled demo (none: an empty database).
fn app(files: &[&str], postgres: bool) -> App {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    for f in files {
        std::fs::copy(data().join(f), data_dir.join(f)).unwrap();
    }
    let db = if postgres {
        Location::Postgres(PgCluster::shared().fresh())
    } else {
        Location::Sqlite(dir.path().join("g.db"))
    };
    let config = Config {
        data: (!files.is_empty()).then_some(data_dir),
        db,
        tokens: Tokens::load(Some(PLANNER.to_string()), None).unwrap(),
        tiles: None,
        max_body_bytes: 64 << 20,
        request_timeout: std::time::Duration::from_secs(120),
        limits: Default::default(),
    };
    let state = std::thread::scope(|s| s.spawn(|| prepare(&config)).join().unwrap())
        .unwrap_or_else(|e| panic!("prepare: {} {:?}", e.message, e.problems));
    App {
        router: router(Arc::new(state), &config),
        _dir: dir,
    }
}

struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(app: &App, req: Request<Body>) -> Reply {
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, body }
}

async fn get(app: &App, uri: &str) -> Reply {
    let req = Request::get(uri)
        .header(header::HOST, "example.test")
        .header(header::ACCEPT, "application/geo+json")
        .body(Body::empty())
        .unwrap();
    send(app, req).await
}

async fn post(app: &App, uri: &str, body: impl Into<Body>) -> Reply {
    let req = Request::post(uri)
        .header(header::HOST, "example.test")
        .header(header::AUTHORIZATION, format!("Bearer {PLANNER}"))
        .body(body.into())
        .unwrap();
    send(app, req).await
}

/// Every feature of a collection, page by page.
async fn all_items(app: &App, collection: &str) -> (Vec<Value>, String) {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut uri = format!("/collections/{collection}/items?limit=1000");
    loop {
        let r = get(app, &uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
        text.push_str(&r.text());
        let page = r.json();
        out.extend(page["features"].as_array().unwrap().iter().cloned());
        let next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| {
                l["href"]
                    .as_str()
                    .unwrap()
                    .replace("http://example.test", "")
            });
        match next {
            Some(n) => uri = n,
            None => return (out, text),
        }
    }
}

/// The ground collections hold the public properties only: no household figure of any kind.
fn public_only(items: &[Value], text: &str, keys: &[&str]) {
    for f in items {
        for k in f["properties"].as_object().unwrap().keys() {
            assert!(keys.contains(&k.as_str()), "{k} in {}", f["properties"]);
        }
    }
    for word in [
        "households",
        "population",
        "elderly",
        "key_persons",
        "vulnerable",
    ] {
        assert!(!text.contains(word), "{word} in a ground collection");
    }
}

/// The blocks the plan reported divided (oversize cells), by code.
fn divided(report: &Value) -> BTreeSet<String> {
    report["leaf_plans"]
        .as_array()
        .or(report["changes"].as_array())
        .unwrap()
        .iter()
        .flat_map(|l| l["divided_cells"].as_array().cloned().unwrap_or_default())
        .flat_map(|d| {
            d["cell"]
                .as_str()
                .unwrap()
                .split(", ")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn serve_data_with_blocks_and_barriers_plans_on_them_and_serves_them() {
    let app = app(
        &[
            "households.geojson",
            "boundaries.geojson",
            "blocks.geojson",
            "barriers.geojson",
        ],
        false,
    );
    let ids: Vec<String> = get(&app, "/collections").await.json()["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["communities", "grids", "blocks", "barriers"]);

    // The layers as the files hold them: every block, every barrier line, public properties only.
    let (blocks, text) = all_items(&app, "blocks").await;
    assert_eq!(blocks.len(), features("blocks.geojson").len());
    public_only(&blocks, &text, &["id", "code", "name", "kind"]);
    let (barriers, text) = all_items(&app, "barriers").await;
    let lines: usize = features("barriers.geojson")
        .iter()
        .map(|f| match f["geometry"]["type"].as_str().unwrap() {
            "MultiLineString" => f["geometry"]["coordinates"].as_array().unwrap().len(),
            _ => 1,
        })
        .sum();
    assert_eq!(barriers.len(), lines);
    assert!(
        barriers
            .iter()
            .all(|b| b["geometry"]["type"] == "LineString")
    );
    public_only(&barriers, &text, &["id", "name", "class", "rank"]);
    let one = blocks[0]["id"].as_str().unwrap();
    let r = get(&app, &format!("/collections/blocks/items/{one}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["id"], one);
    // Read-only.
    let r = post(&app, "/collections/barriers/items", "{}").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    // The plan at start was drawn on them: whole cells, every block whole but the divided ones,
    // every grid with its 四至.
    let report = get(&app, "/api/plans/1/report").await.json();
    for l in report["leaf_plans"].as_array().unwrap() {
        if l["households"].as_u64().unwrap() > 0 {
            assert_eq!(l["engine"], "cells", "{l}");
        }
    }
    let ground = &report["ground"];
    assert!(
        ground["populated_blocks_split"].as_u64().unwrap() <= divided(&report).len() as u64,
        "{ground}"
    );
    assert!(ground["share_inner_edges_on_ground"].as_f64().unwrap() > 0.98);
    let (grids, _) = all_items(&app, "grids").await;
    assert_eq!(
        report["bounds_descriptions"].as_object().unwrap().len(),
        grids.len()
    );
    for g in &grids {
        let d = g["properties"]["bounds_description"].as_str().unwrap();
        assert!(d.starts_with("东至") && d.contains("，北至"), "{d}");
    }

    // A check names the blocks existing grids cut (the demo's straight-cut grids).
    let r = post(&app, "/api/check", bundled("grids.geojson")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let cut = r.json()["violations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["rule"] == "split_block")
        .count();
    assert!(cut > 50, "{cut}");

    // Replacing the boundaries (two neighbouring communities merged) re-draws on the layers.
    let mut b: Value = serde_json::from_slice(&bundled("boundaries.geojson")).unwrap();
    let (keep, gone) = ("320116001001", "320116001002");
    let shape = |f: &Value| {
        gridplan::input::geom::areal(
            f["geometry"]["type"].as_str().unwrap(),
            &f["geometry"]["coordinates"],
        )
        .unwrap()
    };
    let fs = b["features"].as_array().unwrap().clone();
    let find = |c: &str| fs.iter().find(|f| f["properties"]["code"] == c).unwrap();
    use geo::BooleanOps;
    let merged = shape(find(keep)).union(&shape(find(gone)));
    assert_eq!(merged.0.len(), 1, "the two communities are neighbours");
    let ring = |r: &geo::LineString| -> Value { r.0.iter().map(|c| json!([c.x, c.y])).collect() };
    let coordinates: Vec<Value> = merged
        .0
        .iter()
        .map(|p| {
            std::iter::once(ring(p.exterior()))
                .chain(p.interiors().iter().map(ring))
                .collect()
        })
        .collect();
    b["features"] = fs
        .iter()
        .filter(|f| f["properties"]["code"] != gone)
        .map(|f| {
            let mut f = f.clone();
            if f["properties"]["code"] == keep {
                f["geometry"] = json!({"type": "MultiPolygon", "coordinates": coordinates});
            }
            f
        })
        .collect();
    let r = post(&app, "/api/boundaries", serde_json::to_vec(&b).unwrap()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let plan = r.json()["plan"]["plan"].as_i64().unwrap();
    let report = get(&app, &format!("/api/plans/{plan}/report")).await.json();
    let changes = report["changes"].as_array().unwrap();
    let merged_change = changes.iter().find(|c| c["leaf"] == keep).unwrap();
    assert_eq!(merged_change["change"], "reshaped");
    assert!(
        changes
            .iter()
            .filter(|c| c["change"] == "unchanged")
            .count()
            >= 10
    );
    let ground = &report["ground"];
    assert!(
        ground["populated_blocks_split"].as_u64().unwrap() <= divided(&report).len() as u64 + 1,
        "{ground}"
    );
    assert_eq!(report["summary"]["multi_part_grids"], 0);
}

/// `blocks` and `barriers` uploads through the datasets API, on SQLite or PostgreSQL.
async fn uploads_of_ground_layers_are_validated_and_planned_with(postgres: bool) {
    let app = app(&[], postgres);
    let blocks = bundled("blocks.geojson");
    // Read in the boundaries' CRS: none yet.
    let r = post(&app, "/api/datasets/blocks", blocks.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.json()["error"].as_str().unwrap().contains("boundaries"));
    for (kind, file) in [
        ("boundaries", "boundaries.geojson"),
        ("households", "households.geojson"),
    ] {
        let r = post(&app, &format!("/api/datasets/{kind}"), bundled(file)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{kind}: {}", r.text());
    }
    // Bad files: every problem named (file, feature, field), 400, nothing written.
    let bad_blocks = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "K1"}, "geometry": {"type": "Point", "coordinates": [118.8, 32.3]}}
    ]});
    let r = post(
        &app,
        "/api/datasets/blocks",
        serde_json::to_vec(&bad_blocks).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let problems = r.json()["problems"].clone();
    assert_eq!(problems[0]["file"], "blocks", "{problems}");
    assert_eq!(problems[0]["feature"]["index"], 0, "{problems}");
    assert_eq!(problems[0]["field"], "geometry", "{problems}");
    let bad_barriers = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "雄州路", "rank": "high"}, "geometry": {"type": "LineString", "coordinates": [[118.8, 32.3], [118.81, 32.3]]}}
    ]});
    let r = post(
        &app,
        "/api/datasets/barriers",
        serde_json::to_vec(&bad_barriers).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let problems = r.json()["problems"].clone();
    assert_eq!(problems[0]["file"], "barriers", "{problems}");
    assert_eq!(problems[0]["field"], "rank", "{problems}");
    let listed = get(&app, "/api/datasets").await.text();
    assert!(!listed.contains("\"blocks\"") && !listed.contains("\"barriers\""));

    // Good files, one carrying household figures per block: they are never served.
    let mut v: Value = serde_json::from_slice(&blocks).unwrap();
    for f in v["features"].as_array_mut().unwrap() {
        f["properties"]["households"] = json!(987);
        f["properties"]["population"] = json!(2345);
        f["properties"]["note"] = json!("LEAK: 987 households");
    }
    let r = post(
        &app,
        "/api/datasets/blocks",
        serde_json::to_vec(&v).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = post(&app, "/api/datasets/barriers", bundled("barriers.geojson")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let (items, text) = all_items(&app, "blocks").await;
    assert_eq!(items.len(), features("blocks.geojson").len());
    public_only(&items, &text, &["id", "code", "name", "kind"]);
    assert!(!text.contains("LEAK"));

    // A plan now follows them.
    let r = post(&app, "/api/plans", "").await;
    assert!(r.status.is_success(), "{}", r.text());
    let id = r.json()["plan"].as_i64().unwrap();
    let report = get(&app, &format!("/api/plans/{id}/report")).await.json();
    assert!(
        report["leaf_plans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["engine"] == "cells")
    );
    assert!(report["layers"]["blocks"].is_i64(), "{}", report["layers"]);
    assert!(
        report["ground"]["share_inner_edges_on_ground"]
            .as_f64()
            .unwrap()
            > 0.98
    );
}

#[tokio::test]
async fn uploads_of_ground_layers_on_sqlite() {
    uploads_of_ground_layers_are_validated_and_planned_with(false).await
}

#[tokio::test]
async fn uploads_of_ground_layers_on_postgres() {
    uploads_of_ground_layers_are_validated_and_planned_with(true).await
}
