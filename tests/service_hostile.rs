//! The service under hostile use: inference attacks on the open routes, uploads that must leave no
//! trace, bootstrapping from an empty database, reads while a plan runs, resource limits, and every
//! refusal answered in JSON.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridplan::service::auth::Tokens;
use gridplan::service::{AppState, Config, Limits, prepare, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const PLANNER: &str = "planner-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";

/// Longest any single step may take before the test calls it a deadlock (never a performance bound).
const DEADLOCK: Duration = Duration::from_secs(120);

/// The demo district without its ground layers (straight cuts: 62 grids); the layers are tested in
/// `service_ground`.
fn data_dir() -> PathBuf {
    common::demo_without_layers()
}

fn tokens() -> Tokens {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tokens");
    std::fs::write(&f, format!("{VIEWER} viewer\n")).unwrap();
    Tokens::load(Some(PLANNER.to_string()), Some(&f)).unwrap()
}

fn config(db: &Path, data: Option<PathBuf>) -> Config {
    Config {
        data,
        db: db.to_path_buf().into(),
        tokens: tokens(),
        tiles: None,
        max_body_bytes: 64 * 1024 * 1024,
        request_timeout: Duration::from_secs(600),
        limits: Limits::default(),
    }
}

struct App {
    _dir: tempfile::TempDir,
    db: PathBuf,
    state: Arc<AppState>,
    router: axum::Router,
}

fn app_on(data: Option<PathBuf>) -> App {
    app_with(data, Limits::default())
}

fn app_with(data: Option<PathBuf>, limits: Limits) -> App {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let cfg = Config {
        limits,
        ..config(&db, data)
    };
    let state = Arc::new(prepare(&cfg).unwrap_or_else(|e| panic!("prepare: {}", e.message)));
    App {
        router: router(state.clone(), &cfg),
        state,
        db,
        _dir: dir,
    }
}

fn demo() -> App {
    app_on(Some(data_dir()))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(router: &axum::Router, req: Request<Body>) -> Reply {
    let res = tokio::time::timeout(DEADLOCK, router.clone().oneshot(req))
        .await
        .expect("the service answers")
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn request(method: &str, uri: &str, token: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "example.test");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(body.into()).unwrap()
}

async fn get(app: &App, uri: &str, token: Option<&str>) -> Reply {
    send(&app.router, request("GET", uri, token, Body::empty())).await
}

async fn post(app: &App, uri: &str, token: Option<&str>, body: impl Into<Body>) -> Reply {
    send(&app.router, request("POST", uri, token, body)).await
}

// ---------------------------------------------------------------------------------------------------
// 1. Privacy by inference

/// Household points of the demo (WGS84), one per household.
fn household_points() -> Vec<(f64, f64)> {
    let h: Value =
        serde_json::from_slice(&std::fs::read(data_dir().join("households.geojson")).unwrap())
            .unwrap();
    let mut out = Vec::new();
    for f in h["features"].as_array().unwrap() {
        let c = &f["geometry"]["coordinates"];
        let n = f["properties"]["households"].as_u64().unwrap_or(1);
        for _ in 0..n {
            out.push((c[0].as_f64().unwrap(), c[1].as_f64().unwrap()));
        }
    }
    out
}

struct Lattice {
    cells: Vec<[f64; 4]>,
    truth: Vec<u64>,
}

/// `n`×`n` squares over `bbox`, with the true number of households in each (half-open cells).
fn lattice(points: &[(f64, f64)], bbox: [f64; 4], n: usize) -> Lattice {
    let (w, h) = (
        (bbox[2] - bbox[0]) / n as f64,
        (bbox[3] - bbox[1]) / n as f64,
    );
    let mut cells = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let x0 = bbox[0] + i as f64 * w;
            let y0 = bbox[1] + j as f64 * h;
            cells.push([x0, y0, x0 + w, y0 + h]);
        }
    }
    let mut truth = vec![0u64; cells.len()];
    for &(x, y) in points {
        let i = ((x - bbox[0]) / w).floor();
        let j = ((y - bbox[1]) / h).floor();
        if i >= 0.0 && j >= 0.0 && (i as usize) < n && (j as usize) < n {
            truth[j as usize * n + i as usize] += 1;
        }
    }
    Lattice { cells, truth }
}

fn lattice_geojson(l: &Lattice) -> Vec<u8> {
    let features: Vec<Value> = l
        .cells
        .iter()
        .enumerate()
        .map(|(k, c)| {
            json!({"type": "Feature", "properties": {"id": format!("L{k:05}")}, "geometry": {"type": "Polygon",
                "coordinates": [[[c[0], c[1]], [c[2], c[1]], [c[2], c[3]], [c[0], c[3]], [c[0], c[1]]]]}})
        })
        .collect();
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features})).unwrap()
}

/// Per lattice cell (by id `L00000`), the households a check report counted in it.
fn counted_by_check(report: &Value) -> HashMap<usize, u64> {
    let mut out = HashMap::new();
    for row in report["grids"].as_array().into_iter().flatten() {
        if let (Some(id), Some(h)) = (row["id"].as_str(), row["households"].as_u64())
            && let Ok(k) = id.trim_start_matches('L').parse::<usize>()
        {
            out.insert(k, h);
        }
    }
    out
}

/// Every number in a JSON value whose key says it counts households.
fn household_numbers(v: &Value, out: &mut Vec<u64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "households"
                    && let Some(n) = x.as_u64()
                {
                    out.push(n);
                }
                household_numbers(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| household_numbers(x, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lattice_of_small_squares_recovers_no_household_counts_through_the_open_routes() {
    let app = demo();
    let points = household_points();
    let bbox = points
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, &(x, y)| {
            [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)]
        });
    let bbox = [bbox[0], bbox[1], bbox[2] + 1e-9, bbox[3] + 1e-9];
    let l = lattice(&points, bbox, 40);
    let body = lattice_geojson(&l);
    let nonempty: Vec<usize> = (0..l.cells.len()).filter(|&k| l.truth[k] > 0).collect();
    assert!(nonempty.len() > 100, "{}", nonempty.len());

    // The attack works when it is allowed: a planner's check counts every cell exactly. This is what an
    // anonymous caller used to get.
    let planner = post(&app, "/api/check", Some(PLANNER), body.clone()).await;
    assert_eq!(planner.status, StatusCode::OK, "{}", planner.text());
    let counted = counted_by_check(&planner.json());
    let exact = nonempty
        .iter()
        .filter(|&&k| counted.get(&k) == Some(&l.truth[k]))
        .count();
    assert!(
        exact * 10 >= nonempty.len() * 9,
        "the lattice itself is wrong: {exact} of {}",
        nonempty.len()
    );

    // Anonymous and viewer callers get no count at all.
    for token in [None, Some(VIEWER), Some("not-a-token-at-all-0123456789")] {
        let r = post(&app, "/api/check", token, body.clone()).await;
        assert!(
            matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "{token:?}: {}",
            r.status
        );
        assert!(counted_by_check(&r.json()).is_empty());
    }
    // Nor with a second lattice of 1 m squares inside one cell.
    let k = nonempty[nonempty.len() / 2];
    let c = l.cells[k];
    let fine = lattice(&points, c, 20);
    let r = post(&app, "/api/check", None, lattice_geojson(&fine)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Every other open route that counts, asked about every cell: what it answers depends on the
    // published grid or community the cell falls in, never on the cell.
    let mut recovered = 0;
    let mut by_grid: HashMap<String, Value> = HashMap::new();
    for &k in &nonempty {
        let c = l.cells[k];
        let (x, y) = ((c[0] + c[2]) / 2.0, (c[1] + c[3]) / 2.0);
        let mut numbers = Vec::new();
        let located = get(&app, &format!("/api/locate?lon={x}&lat={y}"), None).await;
        assert_eq!(located.status, StatusCode::OK);
        let mut located = located.json();
        household_numbers(&located["grid"], &mut numbers);
        household_numbers(&located["community"], &mut numbers);
        if let Some(id) = located["grid"]["id"].as_str() {
            let id = id.to_string();
            located.as_object_mut().unwrap().remove("lon");
            located.as_object_mut().unwrap().remove("lat");
            let seen = by_grid.entry(id.clone()).or_insert_with(|| located.clone());
            assert_eq!(*seen, located, "locate answers differ inside grid {id}");
        }
        let items = get(
            &app,
            &format!(
                "/collections/grids/items?bbox={},{},{},{}&limit=1000",
                c[0], c[1], c[2], c[3]
            ),
            None,
        )
        .await
        .json();
        household_numbers(&items, &mut numbers);
        let cell_holds_a_whole_published_unit = numbers.contains(&l.truth[k]);
        if cell_holds_a_whole_published_unit {
            recovered += 1;
        }
    }
    eprintln!(
        "lattice: a planner's check counts {exact} of {} non-empty cells exactly; the open routes {recovered}",
        nonempty.len()
    );
    // A cell's count could equal an open household number only where the cell holds exactly a whole
    // published grid or community (the published aggregate itself) or by coincidence: on the demo,
    // never.
    assert_eq!(
        recovered,
        0,
        "{recovered} of {} cells recovered through the open routes",
        nonempty.len()
    );
}

/// Least-squares fit of `y` on the columns of `x` (with an intercept): the fitted values.
#[allow(clippy::needless_range_loop)] // Gauss–Jordan elimination reads best with indices.
fn least_squares(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let n = y.len();
    // Standardise the columns; drop the constant ones.
    let mut cols: Vec<Vec<f64>> = vec![vec![1.0; n]];
    for c in x {
        let mean = c.iter().sum::<f64>() / n as f64;
        let sd = (c.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        if sd > 1e-12 {
            cols.push(c.iter().map(|v| (v - mean) / sd).collect());
        }
    }
    let p = cols.len();
    let mut a = vec![vec![0.0; p + 1]; p];
    for i in 0..p {
        for j in 0..p {
            a[i][j] = (0..n).map(|r| cols[i][r] * cols[j][r]).sum::<f64>();
        }
        a[i][i] += 1e-9;
        a[i][p] = (0..n).map(|r| cols[i][r] * y[r]).sum::<f64>();
    }
    for i in 0..p {
        let piv = (i..p)
            .max_by(|&r, &s| a[r][i].abs().total_cmp(&a[s][i].abs()))
            .unwrap();
        a.swap(i, piv);
        let d = a[i][i];
        for j in i..=p {
            a[i][j] /= d;
        }
        for r in 0..p {
            if r != i {
                let f = a[r][i];
                for j in i..=p {
                    a[r][j] -= f * a[i][j];
                }
            }
        }
    }
    (0..n)
        .map(|r| (0..p).map(|i| a[i][p] * cols[i][r]).sum())
        .collect()
}

/// The share of the variance of `y` the fit explains.
fn r_squared(fit: &[f64], y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let residual: f64 = fit.iter().zip(y).map(|(f, v)| (f - v).powi(2)).sum();
    if total == 0.0 {
        1.0
    } else {
        1.0 - residual / total
    }
}

/// How many fitted values round to the truth.
fn exact_fits(fit: &[f64], y: &[f64]) -> usize {
    fit.iter()
        .zip(y)
        .filter(|(f, y)| (f.round() - **y).abs() < 1e-9)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_open_number_is_a_function_of_the_sensitive_counts() {
    let app = demo();
    // The truth, as a planner sees it.
    let s = get(&app, "/api/plans/1/sensitive", Some(PLANNER)).await;
    assert_eq!(s.status, StatusCode::OK, "{}", s.text());
    let truth: BTreeMap<String, Value> = s.json()["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["id"].as_str().unwrap().to_string(), g.clone()))
        .collect();
    // Every number the open routes give about each grid: its item, and locate at a point inside it.
    let items = get(&app, "/collections/grids/items?limit=1000", None)
        .await
        .json();
    let mut open: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for f in items["features"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap().to_string();
        let row = open.entry(id).or_default();
        for (k, v) in f["properties"].as_object().unwrap() {
            if let Some(x) = v.as_f64() {
                row.insert(format!("item.{k}"), x);
            }
        }
    }
    for (id, row) in open.iter_mut() {
        let one = get(&app, &format!("/collections/grids/items/{id}"), None)
            .await
            .json();
        let ring = &one["geometry"]["coordinates"];
        let ring = if one["geometry"]["type"] == "MultiPolygon" {
            &ring[0][0]
        } else {
            &ring[0]
        };
        // A point inside: the centre of the ring's first triangle's... use the mean of its vertices,
        // and keep the locate numbers only when it lands in this grid.
        let pts = ring.as_array().unwrap();
        let (mut x, mut y) = (0.0, 0.0);
        for p in pts {
            x += p[0].as_f64().unwrap();
            y += p[1].as_f64().unwrap();
        }
        let (x, y) = (x / pts.len() as f64, y / pts.len() as f64);
        let at = get(&app, &format!("/api/locate?lon={x}&lat={y}"), None)
            .await
            .json();
        if at["grid"]["id"].as_str() == Some(id.as_str()) {
            for (k, v) in at["grid"].as_object().unwrap() {
                if let Some(n) = v.as_f64() {
                    row.insert(format!("locate.{k}"), n);
                }
            }
        }
    }
    let ids: Vec<&String> = open.keys().filter(|id| truth.contains_key(*id)).collect();
    assert_eq!(ids.len(), 62);
    let mut names: Vec<String> = open
        .values()
        .flat_map(|r| r.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    names.retain(|k| ids.iter().all(|id| open[*id].contains_key(k)));
    let x: Vec<Vec<f64>> = names
        .iter()
        .map(|k| ids.iter().map(|id| open[*id][k]).collect())
        .collect();
    let count = |id: &String, k: &str| truth[id][k].as_f64().unwrap();
    let targets: Vec<(&str, Vec<f64>)> = vec![
        (
            "elderly_alone",
            ids.iter().map(|id| count(id, "elderly_alone")).collect(),
        ),
        (
            "key_persons",
            ids.iter().map(|id| count(id, "key_persons")).collect(),
        ),
        (
            "vulnerable",
            ids.iter().map(|id| count(id, "vulnerable")).collect(),
        ),
        (
            "2·elderly_alone + 3·key_persons + vulnerable",
            ids.iter()
                .map(|id| {
                    2.0 * count(id, "elderly_alone")
                        + 3.0 * count(id, "key_persons")
                        + count(id, "vulnerable")
                })
                .collect(),
        ),
    ];
    let n = ids.len();
    for (name, y) in &targets {
        let fit = least_squares(&x, y);
        let exact = exact_fits(&fit, y);
        // What guessing the mean alone gets right (small counts are often the mean).
        let baseline = exact_fits(&least_squares(&[], y), y);
        let r2 = r_squared(&fit, y);
        eprintln!("{name}: exact {exact} of {n} (mean alone: {baseline}), R² {r2:.3}");
        assert!(
            r2 < 0.95 && exact <= baseline + n / 5,
            "{name}: recovered from the open numbers {names:?}: exact for {exact} of {n} grids (the mean alone: {baseline}), R² {r2:.3}"
        );
    }
    // The regression is a real detector: given the planner-only workload, it recovers the combination
    // for every grid (the open layer used to carry it).
    // Under the default visits model the workload is patrol + (4·elderly + key + vulnerable + the
    // other households / 3) visits a month × minutes: with the households it gives
    // 11·elderly_alone + 2·key_persons + 2·vulnerable (each demo resident counts 1 and is in one
    // category).
    let mut with_workload = x.clone();
    with_workload.push(ids.iter().map(|id| count(id, "workload_hours")).collect());
    let y: Vec<f64> = ids
        .iter()
        .map(|id| {
            11.0 * count(id, "elderly_alone")
                + 2.0 * count(id, "key_persons")
                + 2.0 * count(id, "vulnerable")
        })
        .collect();
    let fit = least_squares(&with_workload, &y);
    assert!(r_squared(&fit, &y) > 0.99, "R² {}", r_squared(&fit, &y));
    // And the workload is nowhere on the open layer.
    assert!(!names.iter().any(|n| n.contains("workload")), "{names:?}");
}

#[tokio::test]
async fn the_staffing_report_and_workload_are_planner_only() {
    let app = demo();
    let plans = get(&app, "/api/plans", None).await.json();
    let a = plans["assignment"].as_i64().expect("the demo is assigned");
    let uri = format!("/api/assignments/{a}");
    assert_eq!(get(&app, &uri, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&app, &uri, Some(VIEWER)).await.status,
        StatusCode::FORBIDDEN
    );
    let r = get(&app, &uri, Some(PLANNER)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.json()["staffing"]["total_workload_hours"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let items = get(&app, "/collections/grids/items?limit=1000", None)
        .await
        .text();
    assert!(!items.contains("workload"));
    // Workers stay public: a resident may find their grid worker.
    assert!(items.contains("primary_worker"));
}

// ---------------------------------------------------------------------------------------------------
// 2. No half-written state

fn demo_boundaries_with_mountain() -> Vec<u8> {
    let mut b: Value =
        serde_json::from_slice(&std::fs::read(data_dir().join("boundaries.geojson")).unwrap())
            .unwrap();
    let mut set = 0;
    for f in b["features"].as_array_mut().unwrap() {
        if f["properties"]["code"] == "320116101203" {
            f["properties"]["kind"] = json!("mountain");
            set += 1;
        }
    }
    assert_eq!(set, 1);
    serde_json::to_vec(&b).unwrap()
}

const MOUNTAIN_RULES: &str = "[kinds.mountain]\nmin_households = 50\nmax_households = 300\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upload_leaves_no_trace_and_the_database_restarts() {
    let app = demo();
    let r = post(&app, "/api/datasets/rules", Some(PLANNER), MOUNTAIN_RULES).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = post(
        &app,
        "/api/datasets/boundaries",
        Some(PLANNER),
        demo_boundaries_with_mountain(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let before = get(&app, "/api/datasets", None).await.json();
    let plans_before = get(&app, "/api/plans", None).await.json();
    // Rules that drop the kind the boundaries in force use: refused, and nothing is stored.
    let r = post(
        &app,
        "/api/datasets/rules",
        Some(PLANNER),
        "[kinds.urban]\nmax_households = 450\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("mountain"), "{}", r.text());
    // The same through a plan request.
    let r = post(
        &app,
        "/api/plans",
        Some(PLANNER),
        r#"{"rules": "[kinds.urban]\nmax_households = 450\n"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // Households that the boundaries in force cannot take (not GeoJSON) and boundaries without the
    // households' leaves' kinds are refused too.
    let r = post(&app, "/api/datasets/households", Some(PLANNER), "{}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(get(&app, "/api/datasets", None).await.json(), before);
    assert_eq!(get(&app, "/api/plans", None).await.json(), plans_before);
    // The server keeps working on what it has, and a planner can plan with it.
    let r = post(&app, "/api/plans", Some(PLANNER), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // A restart on this database succeeds and serves the same state.
    let db = app.db.clone();
    let again = tokio::task::spawn_blocking(move || prepare(&config(&db, None)))
        .await
        .unwrap();
    let again = again.unwrap_or_else(|e| panic!("restart: {} {:?}", e.message, e.problems));
    let inputs = again.inputs().expect("inputs in force after the restart");
    assert_eq!(
        inputs.rules_id,
        app.state.inputs().unwrap().rules_id,
        "the restart loads the rules in force"
    );
}

#[test]
fn a_database_left_inconsistent_by_an_older_version_still_starts() {
    use gridplan::store::{DatasetKind, Store};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    {
        // What the previous version stored: rules with a kind, boundaries using it, a plan, then rules
        // without that kind (answered 400 but committed).
        let cfg = config(&db, Some(data_dir()));
        drop(prepare(&cfg).unwrap_or_else(|e| panic!("{}", e.message)));
        let mut st = Store::open(&db.clone().into()).unwrap();
        st.add_dataset(DatasetKind::Rules, "r", MOUNTAIN_RULES.as_bytes())
            .unwrap();
        st.add_dataset(
            DatasetKind::Boundaries,
            "b",
            &demo_boundaries_with_mountain(),
        )
        .unwrap();
        st.add_dataset(
            DatasetKind::Rules,
            "r2",
            b"[kinds.urban]\nmax_households = 450\n",
        )
        .unwrap();
    }
    let state = prepare(&config(&db, None)).unwrap_or_else(|e| panic!("restart: {}", e.message));
    // It serves the newest plan on that plan's own inputs.
    assert_eq!(state.published().plan, Some(1));
    let inputs = state.inputs().expect("the newest plan's inputs");
    assert_eq!(inputs.rules_id, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_database_is_loaded_through_the_api_alone() {
    let app = app_on(None);
    assert!(
        get(&app, "/api/plans", None).await.json()["plans"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let b = std::fs::read(data_dir().join("boundaries.geojson")).unwrap();
    let h = std::fs::read(data_dir().join("households.geojson")).unwrap();
    let w = std::fs::read(data_dir().join("workers.geojson")).unwrap();
    // Households before boundaries cannot be placed: 422, nothing stored.
    let r = post(&app, "/api/datasets/households", Some(PLANNER), h.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = post(&app, "/api/datasets/boundaries", Some(PLANNER), b).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = post(&app, "/api/datasets/households", Some(PLANNER), h).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // The readers' warnings are reported, not dropped: the demo has households outside every leaf.
    let answer = r.json();
    assert!(answer["warnings"].as_u64().unwrap() > 0, "{answer}");
    assert!(
        answer["warning_list"].to_string().contains("outside"),
        "{answer}"
    );
    let r = post(&app, "/api/plans", Some(PLANNER), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["plan"], 1);
    let r = post(&app, "/api/datasets/workers", Some(PLANNER), w).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = post(&app, "/api/assignments", Some(PLANNER), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let items = get(&app, "/collections/grids/items?limit=1000", None)
        .await
        .json();
    assert_eq!(items["numberMatched"], 62);
    let located = get(&app, "/api/locate?lon=118.81&lat=32.31", None)
        .await
        .json();
    assert!(located["worker"].is_string(), "{located}");
}

// ---------------------------------------------------------------------------------------------------
// 3. No stalls

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn reads_and_locate_answer_while_a_plan_is_running() {
    let app = demo();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let started_tx = std::sync::Mutex::new(started_tx);
    *app.state.plan_hook.lock().unwrap() = Some(Arc::new(move || {
        let _ = started_tx.lock().unwrap().send(());
        // Held here, mid-plan, until the test has read everything it wants.
        let _ = release_rx.lock().unwrap().recv_timeout(DEADLOCK);
    }));
    let router = app.router.clone();
    let plan = tokio::spawn(async move {
        send(
            &router,
            request("POST", "/api/plans", Some(PLANNER), r#"{"note": "held"}"#),
        )
        .await
    });
    tokio::task::spawn_blocking(move || started_rx.recv_timeout(DEADLOCK))
        .await
        .unwrap()
        .expect("the plan started");
    // The plan is provably running (held in its hook). Every read answers meanwhile, on a runtime
    // with a single worker thread: nothing blocks it.
    for uri in [
        "/api/locate?lon=118.81&lat=32.31",
        "/api/plans",
        "/api/datasets",
        "/api/plans/1",
        "/api/plans/1/report",
        "/collections/grids/items?limit=10",
        "/collections/grids/items/320116001003001",
    ] {
        let r = get(&app, uri, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    }
    let r = get(&app, "/api/plans/1/sensitive", Some(PLANNER)).await;
    assert_eq!(r.status, StatusCode::OK);
    // A planner's diff runs; an anonymous one is told to come back (planners first).
    assert_eq!(
        get(&app, "/api/plans/1/diff/1", Some(PLANNER)).await.status,
        StatusCode::OK
    );
    let anon = get(&app, "/api/plans/1/diff/1", None).await;
    assert_eq!(
        anon.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        anon.text()
    );
    assert!(anon.headers.contains_key(header::RETRY_AFTER));
    assert!(!plan.is_finished(), "the plan finished before the reads");
    assert_eq!(
        get(&app, "/api/plans", None).await.json()["plans"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    release_tx.send(()).unwrap();
    let done = plan.await.unwrap();
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(get(&app, "/api/plans", None).await.json()["published"], 2);
    // With the planner done, an anonymous diff runs.
    assert_eq!(
        get(&app, "/api/plans/1/diff/2", None).await.status,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------------
// 4. Bounded resources

#[test]
fn the_default_body_limit_is_proportionate() {
    // Tens of MB: a district's households file fits, a 512 MB body does not.
    let mb = gridplan::service::DEFAULT_MAX_BODY_MB;
    assert!((16..=128).contains(&mb), "{mb}");
}

#[tokio::test]
async fn a_body_declared_over_the_limit_is_refused_before_it_is_read() {
    let app = demo();
    let mut req = request("POST", "/api/check", Some(PLANNER), "{}");
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, "600000000".parse().unwrap());
    let r = send(&app.router, req).await;
    assert_json_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "larger");
}

async fn serve_with(limits: Limits) -> (u16, tokio::sync::oneshot::Sender<()>, App) {
    let app = app_with(Some(data_dir()), limits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    tokio::spawn(async move {
        gridplan::service::limits::serve_connections(listener, router, &limits, async {
            let _ = stopped.await;
        })
        .await;
    });
    (port, stop, app)
}

/// Reads until the server closes the connection (or the deadlock guard fires).
async fn read_to_close(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    tokio::time::timeout(DEADLOCK, s.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .ok();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_headers_bodies_and_idle_connections() {
    use tokio::io::AsyncWriteExt;
    let limits = Limits {
        header_read_timeout: Duration::from_millis(300),
        body_idle_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let (port, _stop, _app) = serve_with(limits).await;
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(b"GET /api/plans HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut s).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // A client that stops in the middle of its body gets a JSON 408.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(
        format!("POST /api/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {PLANNER}\r\nContent-Length: 1000\r\n\r\n{{\"type\":")
            .as_bytes(),
    )
    .await
    .unwrap();
    let answer = read_to_close(&mut s).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"status\":408"), "{text}");
    // An idle keep-alive connection is closed too, after a complete exchange.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    s.write_all(b"GET /conformance HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut s).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_in_json() {
    use tokio::io::AsyncWriteExt;
    let limits = Limits {
        max_connections: 2,
        header_read_timeout: Duration::from_secs(600),
        ..Limits::default()
    };
    let (port, _stop, _app) = serve_with(limits).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        // A whole request, answered, and the connection kept alive: it is in use, not to be closed
        // to make room (a connection that never sent a request would be).
        s.write_all(b"GET /conformance HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 12];
        tokio::io::AsyncReadExt::read_exact(&mut s, &mut answer)
            .await
            .unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
        held.push(s);
    }
    // Let the server take both before the third arrives.
    let probe = tokio::time::timeout(DEADLOCK, async {
        loop {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            s.write_all(b"GET /conformance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let answer = read_to_close(&mut s).await;
            let text = String::from_utf8_lossy(&answer).to_string();
            if text.starts_with("HTTP/1.1 503") {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a connection over the cap is refused");
    let body = probe.split("\r\n\r\n").nth(1).unwrap();
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["status"], 503);
    // Free one: a new connection is served again.
    drop(held.pop());
    let served = tokio::time::timeout(DEADLOCK, async {
        loop {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            s.write_all(b"GET /conformance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let answer = read_to_close(&mut s).await;
            if answer.starts_with(b"HTTP/1.1 200") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert!(served);
}

// ---------------------------------------------------------------------------------------------------
// 5. Fail closed, answer in JSON

fn assert_json_error(r: &Reply, status: StatusCode, mentions: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let ct = r
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(ct.starts_with("application/json"), "{ct}: {}", r.text());
    let v = r.json();
    assert_eq!(v["status"], status.as_u16());
    let e = v["error"].as_str().unwrap();
    assert!(e.contains(mentions), "{e}");
}

#[tokio::test]
async fn every_refusal_is_the_json_error_body() {
    let app = demo();
    let r = post(&app, "/api/locate?lon=1&lat=1", None, "").await;
    assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "POST");
    let r = send(
        &app.router,
        request("DELETE", "/collections/grids", None, Body::empty()),
    )
    .await;
    assert_json_error(&r, StatusCode::METHOD_NOT_ALLOWED, "DELETE");
    let long = format!("/api/locate?lon=118.81&lat=32.31&x={}", "a".repeat(10_000));
    assert_json_error(
        &get(&app, &long, None).await,
        StatusCode::URI_TOO_LONG,
        "longer",
    );
    // A path segment that is not UTF-8 once decoded.
    let r = get(&app, "/collections/%FF%FE/items", None).await;
    assert!(r.status.is_client_error());
    assert_json_error(&r, r.status, "");
    let r = get(&app, "/api/plans/%FF/report", None).await;
    assert_json_error(&r, r.status, "");
    assert!(r.status.is_client_error());
}

#[tokio::test]
async fn repeated_unknown_and_garbage_parameters_are_400_naming_them() {
    let app = demo();
    for (uri, name) in [
        ("/api/locate?lon=118.81&lat=32.31&lon=0", "lon"),
        ("/collections/grids/items?limit=1&limit=1000", "limit"),
        ("/collections/grids/items?datetime=garbage", "datetime"),
        ("/collections/grids/items?datetime=2026-13-01", "datetime"),
        ("/collections/grids/items?datetime=../..", "datetime"),
        ("/api/plans?foo=1", "foo"),
        ("/api/datasets?limit=5", "limit"),
        ("/api/plans/1/report?bar=2", "bar"),
        ("/api/locate?lon=118.81&lat=32.31&radius=5", "radius"),
    ] {
        assert_json_error(&get(&app, uri, None).await, StatusCode::BAD_REQUEST, name);
    }
    for ok in [
        "/collections/grids/items?datetime=2026-01-01T00:00:00Z",
        "/collections/grids/items?datetime=2026-01-01",
        "/collections/grids/items?datetime=2026-01-01T08:00:00%2B08:00/..",
        "/collections/grids/items?datetime=../2026-01-01T00:00:00.5Z",
    ] {
        let r = get(&app, ok, None).await;
        assert_eq!(r.status, StatusCode::OK, "{ok}: {}", r.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assignment_the_solver_cannot_finish_is_422_with_the_reason() {
    let app = demo();
    let r = post(
        &app,
        "/api/plans",
        Some(PLANNER),
        r#"{"rules": "[assign]\ntime_limit_s = 0.000001\n"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = post(&app, "/api/assignments", Some(PLANNER), "").await;
    // HiGHS given no time finds no solution: the rules in force cannot staff the grids.
    assert_json_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "staffing");
    assert!(r.json()["error"].as_str().unwrap().contains("time_limit_s"));
}

#[test]
fn a_tokens_file_line_without_a_role_stops_the_server_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tokens");
    std::fs::write(&f, format!("{VIEWER} viewer\n{PLANNER}\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridplan"))
        .args(["serve", "--addr", "127.0.0.1:0", "--tokens"])
        .arg(&f)
        .arg("--db")
        .arg(dir.path().join("g.db"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("no role"), "{err}");
}
