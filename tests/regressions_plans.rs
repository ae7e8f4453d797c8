//! Regressions found by a planner trying gridplan: a same-day re-draw (on the command line and in the
//! service), workers whose grid changed without changing id, the solver's proven gap said in words,
//! blocks without households cut, residents named by id in the demo, monthly visits read by the
//! calendar month, and visit logs read strictly.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::pg::PgCluster;
use common::*;
use gridplan::service::auth::Tokens;
use gridplan::service::{Config, prepare, router};
use gridplan::store::Location;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_file(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn retired(grids: &Value) -> Vec<(String, String, String)> {
    grids["retired_grids"]["features"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["id"].as_str().unwrap().to_string(),
                p["valid_from"].as_str().unwrap_or("").to_string(),
                p["valid_to"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------
// A same-day re-draw

/// The demo's households less half the houses of village 320116101206 (846 households in 3 grids,
/// then 423): a re-draw retires one of its grids.
fn fewer_households(dir: &Path) -> PathBuf {
    let mut h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    let features = h["features"].as_array().unwrap().clone();
    let mut houses: Vec<String> = features
        .iter()
        .filter_map(|f| f["properties"]["building"].as_str())
        .filter(|b| b.starts_with("320116101206"))
        .map(str::to_string)
        .collect();
    houses.sort();
    houses.dedup();
    let gone: std::collections::BTreeSet<&String> = houses[..houses.len() / 2].iter().collect();
    h["features"] = features
        .into_iter()
        .filter(|f| {
            f["properties"]["building"]
                .as_str()
                .is_none_or(|b| !gone.contains(&b.to_string()))
        })
        .collect();
    let path = dir.join("fewer.geojson");
    std::fs::write(&path, h.to_string()).unwrap();
    path
}

/// Partition, then re-draw twice the same day (no `--date`): a grid retired the day it took effect
/// (`valid_to` = `valid_from`) is a record like any other, and every later step reads it.
#[test]
fn a_same_day_redraw_leaves_a_file_every_later_step_reads() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let (h, b) = (data("households.geojson"), data("boundaries.geojson"));
    let fewer = fewer_households(d.path());
    let o = run(&[
        "partition",
        "--households",
        &h,
        "--boundaries",
        &b,
        "--out",
        &p("g1.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "partition",
        "--households",
        s(&fewer),
        "--boundaries",
        &b,
        "--previous",
        &p("g1.geojson"),
        "--out",
        &p("g2.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let g2 = json_file(Path::new(&p("g2.geojson")));
    let gone = retired(&g2);
    assert!(!gone.is_empty(), "a grid of 320116101206 is retired");
    for (id, from, to) in &gone {
        assert_eq!(from, to, "{id}: retired the day it took effect");
    }
    // The next re-draw, the same day, reads that record and keeps it.
    let o = run(&[
        "partition",
        "--households",
        &h,
        "--boundaries",
        &b,
        "--previous",
        &p("g2.geojson"),
        "--out",
        &p("g3.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let g3 = json_file(Path::new(&p("g3.geojson")));
    let kept: Vec<String> = retired(&g3).into_iter().map(|g| g.0).collect();
    for (id, _, _) in &gone {
        assert!(kept.contains(id), "{id} stays on record: {kept:?}");
        // Its number is never issued again.
        let reissued = g3["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["properties"]["id"] == id.as_str());
        assert!(!reissued, "{id} reissued");
    }
    // And the other commands read it too.
    let o = run(&[
        "diff",
        "--old",
        &p("g2.geojson"),
        "--new",
        &p("g3.geojson"),
        "--households",
        &h,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&[
        "check",
        "--grids",
        &p("g2.geojson"),
        "--households",
        s(&fewer),
        "--boundaries",
        &b,
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let w = data("workers.geojson");
    let o = run(&[
        "assign",
        "--grids",
        &p("g2.geojson"),
        "--households",
        s(&fewer),
        "--workers",
        &w,
        "--out",
        &p("a2.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A `valid_to` before `valid_from` is still refused, naming the field.
#[test]
fn a_grid_retired_before_it_took_effect_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let mut g = grid(
        "320116001001001",
        "320116001001",
        rect(0.0, 0.0, 1000.0, 1000.0),
    );
    g["properties"]["valid_from"] = json!("2026-12-07");
    g["properties"]["valid_to"] = json!("2026-12-06");
    let grids = write(d.path(), "grids.geojson", &collection_4549(vec![g]));
    let o = run(&[
        "diff",
        "--old",
        s(&grids),
        "--new",
        s(&grids),
        "--households",
        s(&write(d.path(), "h.geojson", &hand_households())),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("valid_to") && stderr(&o).contains("before"),
        "{}",
        stderr(&o)
    );
}

const PLANNER: &str = "planner-token-0123456789";

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

struct App {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

fn app(backend: Backend) -> App {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => Location::Sqlite(dir.path().join("g.db")),
        Backend::Postgres => Location::Postgres(PgCluster::shared().fresh()),
    };
    let config = Config {
        data: Some(common::demo_without_layers()),
        db,
        tokens: Tokens::load(Some(PLANNER.to_string()), None).unwrap(),
        tiles: None,
        max_body_bytes: 64 * 1024 * 1024,
        request_timeout: std::time::Duration::from_secs(120),
        limits: Default::default(),
    };
    let state = std::thread::scope(|s| s.spawn(|| prepare(&config)).join().unwrap())
        .unwrap_or_else(|e| panic!("prepare: {}", e.message));
    App {
        router: router(Arc::new(state), &config),
        _dir: dir,
    }
}

async fn call(app: &App, method: &str, uri: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "example.test:8080")
        .header(header::AUTHORIZATION, format!("Bearer {PLANNER}"))
        .body(body.into())
        .unwrap();
    let res = app.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, v)
}

/// New boundaries the day the demo was planned (a village renamed: its grids retired the day they
/// took effect); then the plans compare, workers are assigned, the plan is re-drawn from it, and
/// the OGC `datetime` filter finds no day the retired grids were in force.
async fn boundaries_replaced_the_same_day_leave_the_service_working(backend: Backend) {
    let app = app(backend);
    let mut b: Value =
        serde_json::from_str(&std::fs::read_to_string(data("boundaries.geojson")).unwrap())
            .unwrap();
    for f in b["features"].as_array_mut().unwrap() {
        if f["properties"]["code"] == "320116101209" {
            f["properties"]["code"] = "320116101210".into();
        }
    }
    let (st, r) = call(&app, "POST", "/api/boundaries", b.to_string()).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let plan = r["plan"]["plan"].as_i64().unwrap();
    assert_eq!(plan, 2, "{r}");
    let (st, d) = call(&app, "GET", "/api/plans/1/diff/2", Body::empty()).await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert!(d["summary"]["removed"].as_u64().unwrap() > 0, "{d}");
    let (st, a) = call(&app, "POST", "/api/assignments", "").await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let (_, grids) = call(
        &app,
        "GET",
        "/collections/grids/items?limit=1000",
        Body::empty(),
    )
    .await;
    let held = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["primary_worker"].is_string())
        .count();
    assert!(held > 20, "the published plan has workers: {held}");
    let (st, r) = call(&app, "POST", "/api/plans", r#"{"previous": 2}"#).await;
    assert_eq!(st, StatusCode::CREATED, "{r}");
    let third = r["plan"].as_i64().unwrap();
    let (st, d) = call(
        &app,
        "GET",
        &format!("/api/plans/2/diff/{third}"),
        Body::empty(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    // The retired grids: on record by id, in force on no day.
    let (_, one) = call(
        &app,
        "GET",
        "/collections/grids/items/320116101209001",
        Body::empty(),
    )
    .await;
    let p = &one["properties"];
    assert_eq!(p["valid_from"], p["valid_to"], "{one}");
    let today = p["valid_to"].as_str().unwrap().to_string();
    for when in [today.clone(), format!("{today}/.."), format!("../{today}")] {
        let (st, found) = call(
            &app,
            "GET",
            &format!("/collections/grids/items?limit=1000&datetime={when}"),
            Body::empty(),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{found}");
        let ids: Vec<&str> = found["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["id"].as_str())
            .collect();
        assert!(
            !ids.iter().any(|i| i.starts_with("320116101209")),
            "{when}: {ids:?}"
        );
        assert!(
            ids.iter().any(|i| i.starts_with("320116101210")),
            "{when}: {ids:?}"
        );
    }
}

mod sqlite {
    #[tokio::test]
    async fn boundaries_replaced_the_same_day_leave_the_service_working() {
        super::boundaries_replaced_the_same_day_leave_the_service_working(super::Backend::Sqlite)
            .await
    }
}

mod postgres {
    #[tokio::test]
    async fn boundaries_replaced_the_same_day_leave_the_service_working() {
        super::boundaries_replaced_the_same_day_leave_the_service_working(super::Backend::Postgres)
            .await
    }
}

// ---------------------------------------------------------------------------------------------------
// Workers whose grid changed

/// Two assignments with the same grid ids and workers, grid A grown over 120 of B's households:
/// both workers are affected, and the terminal says so in either language.
#[test]
fn diff_counts_a_worker_whose_grid_gained_households() {
    let d = tempfile::tempdir().unwrap();
    let mut f = Vec::new();
    for (i, x) in [100.0, 300.0, 500.0].iter().enumerate() {
        f.push(point_feature(
            json!({"id": format!("a{i}"), "households": 120}),
            *x,
            500.0,
        ));
    }
    f.push(point_feature(
        json!({"id": "moved", "households": 120}),
        1100.0,
        500.0,
    ));
    f.push(point_feature(
        json!({"id": "b", "households": 300}),
        1600.0,
        500.0,
    ));
    let h = write(d.path(), "h.geojson", &collection_4549(f));
    let layer = |name: &str, cut: f64| {
        let mut a = grid(
            "320116001001001",
            "320116001001",
            rect(0.0, 0.0, cut, 1000.0),
        );
        a["properties"]["primary_worker"] = json!("W1");
        let mut b = grid(
            "320116001001002",
            "320116001001",
            rect(cut, 0.0, 2000.0, 1000.0),
        );
        b["properties"]["primary_worker"] = json!("W2");
        write(d.path(), name, &collection_4549(vec![a, b]))
    };
    let (old, new) = (layer("a1.geojson", 1000.0), layer("a2.geojson", 1200.0));
    let out = d.path().join("d.json");
    let o = run(&[
        "diff",
        "--old",
        s(&old),
        "--new",
        s(&new),
        "--households",
        s(&h),
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let diff = json_file(&out);
    assert_eq!(diff["summary"]["workers_changed"], 2, "{}", diff["workers"]);
    assert_eq!(diff["workers"][0]["worker"], "W1");
    assert_eq!(
        diff["workers"][0]["changed_grids"],
        json!(["320116001001001"])
    );
    let o = bin()
        .env("LANG", "zh_CN.UTF-8")
        .args([
            "diff",
            "--old",
            s(&old),
            "--new",
            s(&new),
            "--households",
            s(&h),
        ])
        .output()
        .unwrap();
    let text = stdout(&o);
    let line = text
        .lines()
        .find(|l| l.contains("网格有变动的网格员"))
        .unwrap();
    assert!(line.trim_end().ends_with(" 2"), "{line}");
}

// ---------------------------------------------------------------------------------------------------
// The solver's proven gap

/// `assign` says what the solver proved, in words, and `staffing.json`'s `mip_gap` is that proof:
/// with `gap_limit` it is within the rules' `mip_rel_gap`, and `best_bound` is below the objective
/// by no more than it.
#[test]
fn assign_prints_what_the_solver_proved() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("a.geojson");
    let rep = d.path().join("staffing.json");
    for lang in ["C.UTF-8", "zh_CN.UTF-8"] {
        let o = bin()
            .env("LANG", lang)
            .args([
                "assign",
                "--grids",
                &data("grids.geojson"),
                "--households",
                &data("households.geojson"),
                "--workers",
                &data("workers.geojson"),
                "--out",
                s(&out),
                "--report",
                s(&rep),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let text = stdout(&o);
        assert!(
            !text.contains("gap_limit") && !text.contains("time_limit"),
            "{text}"
        );
        let staffing = json_file(&rep);
        for t in staffing["towns"].as_array().unwrap() {
            let gap = t["mip_gap"].as_f64();
            let words = match t["solver_status"].as_str().unwrap() {
                "optimal" => {
                    assert_eq!(gap, Some(0.0), "{t}");
                    if lang == "C.UTF-8" {
                        "optimal"
                    } else {
                        "最优"
                    }
                }
                "gap_limit" => {
                    let gap = gap.unwrap();
                    assert!(gap > 0.0 && gap <= 0.001 + 1e-9, "{t}");
                    if lang == "C.UTF-8" {
                        "of the best possible"
                    } else {
                        "与最优相差不超过"
                    }
                }
                "time_limit" => {
                    if lang == "C.UTF-8" {
                        "time limit"
                    } else {
                        "达到时限"
                    }
                }
                other => panic!("{other}: {t}"),
            };
            if gap.is_none() {
                continue;
            }
            let (objective, bound) = (
                t["objective"].as_f64().unwrap(),
                t["best_bound"].as_f64().unwrap(),
            );
            assert!(bound <= objective + 1e-6, "{t}");
            let slack = 1e-6 * objective.abs().max(1.0);
            assert!(
                objective - bound <= gap.unwrap() * objective.abs() + slack,
                "{t}"
            );
            let row = text
                .lines()
                .find(|l| l.trim_start().starts_with(t["town"].as_str().unwrap()))
                .unwrap();
            assert!(row.contains(words), "{row}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Blocks without households

/// Two grids of 400 households each, split along y = 500; blocks: a strip without households along
/// that line (cut), and the populated blocks inside each grid (whole). `check --blocks` is
/// compliant and notes the strip; with a populated block across the line it is a violation.
#[test]
fn an_empty_block_cut_is_a_note_in_check() {
    let d = tempfile::tempdir().unwrap();
    let b = write(
        d.path(),
        "b.geojson",
        &collection_4549(vec![
            polygon_feature(
                json!({"code": "S", "level": "street", "kind": "urban"}),
                rect(0.0, 0.0, 1000.0, 1000.0),
            ),
            polygon_feature(
                json!({"code": "A", "parent": "S"}),
                rect(0.0, 0.0, 1000.0, 1000.0),
            ),
        ]),
    );
    let h = write(
        d.path(),
        "h.geojson",
        &collection_4549(vec![
            point_feature(json!({"households": 400, "building": "s"}), 500.0, 250.0),
            point_feature(json!({"households": 400, "building": "n"}), 500.0, 750.0),
        ]),
    );
    let g = write(
        d.path(),
        "g.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 500.0)),
            grid("A-G02", "A", rect(0.0, 500.0, 1000.0, 1000.0)),
        ]),
    );
    let blocks = |populated_across: bool| {
        let mut f = vec![
            polygon_feature(json!({"code": "K-strip"}), rect(0.0, 450.0, 300.0, 550.0)),
            polygon_feature(json!({"code": "K-south"}), rect(400.0, 100.0, 600.0, 400.0)),
        ];
        if populated_across {
            f.push(polygon_feature(
                json!({"code": "K-north"}),
                rect(400.0, 400.0, 600.0, 900.0),
            ));
        } else {
            f.push(polygon_feature(
                json!({"code": "K-north"}),
                rect(400.0, 600.0, 600.0, 900.0),
            ));
        }
        write(d.path(), "k.geojson", &collection_4549(f))
    };
    let check = |blocks: &Path| {
        let rep = d.path().join("r.json");
        let o = run(&[
            "check",
            "--grids",
            s(&g),
            "--households",
            s(&h),
            "--boundaries",
            s(&b),
            "--blocks",
            s(blocks),
            "--report",
            s(&rep),
        ]);
        (o.status.code(), stdout(&o), json_file(&rep))
    };
    let (code, text, r) = check(&blocks(false));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        violations(&r, "split_block").is_empty(),
        "{}",
        r["violations"]
    );
    assert_eq!(r["summary"]["empty_blocks_cut"], 1);
    assert_eq!(r["empty_blocks_cut"][0]["block"], "K-strip");
    assert!(text.contains("without households"), "{text}");
    let (code, text, r) = check(&blocks(true));
    assert_eq!(code, Some(1), "{text}");
    let cut = violations(&r, "split_block");
    assert_eq!(cut.len(), 1, "{cut:?}");
    assert!(
        cut[0]["message"].as_str().unwrap().contains("K-north"),
        "{cut:?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Visits

/// The demo's households have ids, unique: residents are named by them, not by `#N`.
#[test]
fn the_demo_names_its_residents() {
    let h = json_file(Path::new(&data("households.geojson")));
    let features = h["features"].as_array().unwrap();
    let ids: std::collections::BTreeSet<&str> = features
        .iter()
        .map(|f| {
            f["properties"]["id"]
                .as_str()
                .expect("every household has an id")
        })
        .collect();
    assert_eq!(ids.len(), features.len(), "ids are unique");
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.geojson");
    let o = run(&[
        "assign",
        "--grids",
        &data("grids.geojson"),
        "--households",
        &data("households.geojson"),
        "--workers",
        &data("workers.geojson"),
        "--out",
        s(&a),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = d.path().join("v.json");
    let o = run(&[
        "visits",
        "--assignment",
        s(&a),
        "--households",
        &data("households.geojson"),
        "--workers",
        &data("workers.geojson"),
        "--month",
        "2026-12",
        "--out",
        s(&out),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let text = stdout(&o) + &stderr(&o);
    assert!(!text.contains("have no `id`"), "{text}");
    let plan = json_file(&out);
    let visit = &plan["workers"][0]["visits"][0];
    let resident = visit["resident"].as_str().unwrap();
    assert!(
        ids.contains(resident) && !resident.starts_with('#'),
        "{visit}"
    );
}

/// A small visits fixture: K1 a key person (monthly) and E1 an elderly person living alone (weekly)
/// in one grid held by W1.
fn visits_fixture(dir: &Path) -> [PathBuf; 3] {
    let h = write(
        dir,
        "h.geojson",
        &collection_4549(vec![
            point_feature(json!({"id": "K1", "key_persons": 1}), 300.0, 300.0),
            point_feature(json!({"id": "E1", "elderly_alone": 1}), 600.0, 300.0),
        ]),
    );
    let mut g = grid(
        "320116001001001",
        "320116001001",
        rect(0.0, 0.0, 1000.0, 1000.0),
    );
    g["properties"]["primary_worker"] = json!("W1");
    let a = write(dir, "a.geojson", &collection_4549(vec![g]));
    let w = write(
        dir,
        "w.geojson",
        &collection_4549(vec![point_feature(
            json!({"id": "W1", "type": "full_time", "town": "320116001"}),
            0.0,
            0.0,
        )]),
    );
    [a, h, w]
}

fn visits_with_log(dir: &Path, log: &str, extra: &[&str]) -> (Option<i32>, String, Value) {
    let [a, h, w] = visits_fixture(dir);
    let path = dir.join("log.csv");
    std::fs::write(&path, log).unwrap();
    let out = dir.join("v.json");
    let _ = std::fs::remove_file(&out);
    let mut args = vec![
        "visits",
        "--assignment",
        s(&a),
        "--households",
        s(&h),
        "--workers",
        s(&w),
        "--month",
        "2026-12",
        "--log",
        s(&path),
        "--out",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let plan = std::fs::read_to_string(&out)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (o.status.code(), stdout(&o) + &stderr(&o), plan)
}

/// Monthly is every calendar month: a key person last visited on 31 October is overdue on
/// 1 December (not seen in November), and `gridplan rules` says so.
#[test]
fn a_monthly_resident_not_seen_in_the_previous_month_is_overdue() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, plan) = visits_with_log(
        d.path(),
        "resident,worker,time\nK1,W1,2026-10-31T16:00:00+08:00\nE1,W1,2026-11-30\n",
        &[],
    );
    assert!(matches!(code, Some(0 | 1)), "{out}");
    let overdue = plan["overdue"].as_array().unwrap();
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0]["resident"], "K1");
    assert_eq!(overdue[0]["days_overdue"], 1);
    assert_eq!(overdue[0]["level"], "warning");
    // Seen in November: on time.
    let (_, _, plan) = visits_with_log(
        d.path(),
        "resident,worker,time\nK1,W1,2026-11-01\nE1,W1,2026-11-30\n",
        &[],
    );
    assert_eq!(plan["overdue"], json!([]));
    // Last seen in September: two calendar months missed, an error.
    let (code, _, plan) = visits_with_log(
        d.path(),
        "resident,worker,time\nK1,W1,2026-09-30\nE1,W1,2026-11-30\n",
        &[],
    );
    assert_eq!(code, Some(1));
    assert_eq!(plan["overdue"][0]["level"], "error");
    let rules = stdout(&run(&["rules"]));
    assert!(
        rules.contains("monthly: in every calendar month"),
        "{rules}"
    );
}

/// A log from the future hid every overdue alert; it is refused, naming the file, row and field.
/// So are impossible times, a JSON object, duplicate columns; unknown residents are reported, and
/// past the cap refused.
#[test]
fn visit_logs_are_read_strictly() {
    let d = tempfile::tempdir().unwrap();
    let refused = |log: &str, extra: &[&str], says: &[&str]| {
        let (code, out, _) = visits_with_log(d.path(), log, extra);
        assert_eq!(code, Some(2), "{log}: {out}");
        assert!(out.contains("log.csv"), "{out}");
        for s in says {
            assert!(out.contains(s), "{log}: wants {s}: {out}");
        }
    };
    refused(
        "resident,worker,time\nK1,W1,2099-01-01\nE1,W1,2026-11-30\n",
        &[],
        &["row 1", "`time`", "after the planning day"],
    );
    refused(
        "resident,worker,time\nK1,W1,9999-12-31\n",
        &[],
        &["row 1", "after the planning day"],
    );
    // An explicit planning day: the same log a day later is refused.
    refused(
        "resident,worker,time\nK1,W1,2026-11-30\n",
        &["--date", "2026-11-29"],
        &["row 1", "2026-11-29"],
    );
    refused(
        "resident,worker,time\nK1,W1,2026-11-30T09:00:60+08:00\n",
        &[],
        &["row 1", "second"],
    );
    refused(
        "resident,worker,time\nK1,W1,2026-11-30T09:00:00+99:00\n",
        &[],
        &["row 1", "offset"],
    );
    let long = format!(
        "resident,worker,time\nK1,W1,2026-11-30T09:00:00.{}\n",
        "9".repeat(1_000)
    );
    refused(&long, &[], &["row 1", "characters"]);
    refused(
        r#"{"resident": "K1", "worker": "W1", "time": "2026-11-30"}"#,
        &[],
        &["JSON object"],
    );
    refused(
        "resident,worker,time,time\nK1,W1,2026-11-30,2026-10-01\n",
        &[],
        &["`time` appears twice"],
    );
    // Unknown residents: counted and named, the plan still made.
    let (code, out, plan) = visits_with_log(
        d.path(),
        "resident,worker,time\nK1,W1,2026-11-30\nE1,W1,2026-11-30\nNOBODY,W1,2026-11-30\n",
        &[],
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("1 of 3 row(s)") && out.contains("NOBODY"),
        "{out}"
    );
    assert!(plan["warnings"].to_string().contains("NOBODY"));
    // Past the cap: refused.
    let mut big = String::from("resident,worker,time\n");
    for i in 0..1_001 {
        big.push_str(&format!("X{i},W1,2026-11-30\n"));
    }
    refused(&big, &[], &["1001 of 1001", "max_unknown_log_rows"]);
    // Inside the planning day: read.
    let (code, out, _) = visits_with_log(
        d.path(),
        "resident,worker,time\nK1,W1,2026-11-30\nE1,W1,2026-11-30\n",
        &["--date", "2026-11-30"],
    );
    assert_eq!(code, Some(0), "{out}");
}
