//! Regressions of the HTTP service: planner routes while a plan computes, one client holding many
//! connections, `datetime` and boundaries that strand the workers, visits on the street layer, and
//! grids too small to publish their counts.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use gridplan::service::auth::Tokens;
use gridplan::service::{AppState, Config, Limits, prepare, router};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const PLANNER: &str = "planner-token-0123456789";

/// Longest any single step may take before the test calls it a deadlock (never a performance bound).
const DEADLOCK: Duration = Duration::from_secs(120);

fn tokens() -> Tokens {
    Tokens::load(Some(PLANNER.to_string()), None).unwrap()
}

struct App {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    router: axum::Router,
}

fn config(db: &Path, data: Option<PathBuf>, limits: Limits) -> Config {
    Config {
        data,
        db: db.to_path_buf().into(),
        tokens: tokens(),
        tiles: None,
        max_body_bytes: 64 * 1024 * 1024,
        request_timeout: Duration::from_secs(600),
        limits,
    }
}

fn app_with(data: Option<PathBuf>, limits: Limits) -> App {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir.path().join("g.db"), data, limits);
    let state = Arc::new(prepare(&cfg).unwrap_or_else(|e| panic!("prepare: {}", e.message)));
    App {
        router: router(state.clone(), &cfg),
        state,
        _dir: dir,
    }
}

/// The demo district without its ground layers.
fn demo() -> App {
    app_with(Some(common::demo_without_layers()), Limits::default())
}

struct Reply {
    status: StatusCode,
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
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, body }
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
// Planner routes while a plan computes

/// A plan held in its hook holds the threads it computes on, as a computing plan does; a check, a
/// planner's diff and the sensitive counts compute all the same, and answer before it is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_diff_and_sensitive_answer_while_a_plan_holds_its_threads() {
    let app = demo();
    // A second plan, so that there are two to diff.
    let r = post(&app, "/api/plans", Some(PLANNER), "").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let grids = get(&app, "/api/plans/1/grids", None).await;
    assert_eq!(grids.status, StatusCode::OK);
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let started_tx = std::sync::Mutex::new(started_tx);
    // Set by the hook once it lets the plan go: only when the test says so (or ends).
    let let_go = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hook_let_go = let_go.clone();
    *app.state.plan_hook.lock().unwrap() = Some(Arc::new(move || {
        let _ = started_tx.lock().unwrap().send(());
        let _ = release_rx.lock().unwrap().recv();
        hook_let_go.store(true, std::sync::atomic::Ordering::SeqCst);
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
    // Each planner route answers while the plan is held: nothing has let it go yet.
    let check = post(&app, "/api/check", Some(PLANNER), grids.body.clone()).await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.text());
    assert!(check.json()["summary"]["grids"].as_u64().unwrap() > 0);
    let diff = get(&app, "/api/plans/1/diff/2", Some(PLANNER)).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.text());
    let sensitive = get(&app, "/api/plans/1/sensitive", Some(PLANNER)).await;
    assert_eq!(sensitive.status, StatusCode::OK, "{}", sensitive.text());
    assert!(
        !let_go.load(std::sync::atomic::Ordering::SeqCst) && !plan.is_finished(),
        "the plan was let go before the planner routes answered"
    );
    release_tx.send(()).unwrap();
    let done = plan.await.unwrap();
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert_eq!(done.json()["plan"], 3);
}

// ---------------------------------------------------------------------------------------------------
// One client holding many connections

async fn serve_with(limits: Limits) -> (u16, tokio::sync::oneshot::Sender<()>, App) {
    let app = app_with(Some(common::demo_without_layers()), limits.clone());
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

/// A connection to the server on 127.0.0.1 from `from` (any 127.x.y.z is this machine on Linux: each
/// address is another client to the server).
async fn connect_from(from: &str, port: u16) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket
        .connect(format!("127.0.0.1:{port}").parse().unwrap())
        .await
        .unwrap()
}

/// One whole request from `from` on a fresh connection: the answer, until the server closes.
async fn whole_request(from: &str, port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = connect_from(from, port).await;
    s.write_all(b"GET /conformance HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(DEADLOCK, s.read_to_end(&mut out))
        .await
        .expect("the server answers and closes")
        .ok();
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server has closed `s` (a read finds the end) rather than holding it open.
async fn closed_by_server(s: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (a 503) before the close: read on.
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_holding_half_open_connections_do_not_starve_the_others() {
    use tokio::io::AsyncWriteExt;
    let limits = Limits {
        max_connections: 6,
        max_connections_per_client: 4,
        // Long enough that no half-open connection is cut off by the clock in this test.
        header_read_timeout: Duration::from_secs(600),
        ..Limits::default()
    };
    let (port, _stop, _app) = serve_with(limits).await;
    // Two clients each open ten connections and send half a request on each.
    let mut held = Vec::new();
    for from in ["127.0.0.1", "127.0.0.3"] {
        for _ in 0..10 {
            let mut s = connect_from(from, port).await;
            s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
            held.push(s);
        }
    }
    // A third client is served, request after request: the half-open connections make room.
    for _ in 0..5 {
        let answer = whole_request("127.0.0.2", port).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // So is a whole request from one of the clients holding them (its own half-open ones go first).
    let answer = whole_request("127.0.0.1", port).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Of the twenty half-open connections, the server holds at most its cap.
    let mut open = 0;
    for s in &mut held {
        if !closed_by_server(s).await {
            open += 1;
        }
    }
    assert!(open <= 6, "{open} half-open connections still held");
}

// ---------------------------------------------------------------------------------------------------
// Visits on the street layer

fn bundled() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

/// The service loaded with the bundled district and its street layer routes visits on the streets,
/// exactly as `gridplan visits --barriers` does on the same assignment, and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visit_routes_follow_the_street_layer_the_service_holds() {
    let app = app_with(Some(bundled()), Limits::default());
    let plans = get(&app, "/api/plans", None).await.json();
    let assignment = plans["assignment"]
        .as_i64()
        .expect("an assignment at start");
    let r = post(
        &app,
        &format!("/api/assignments/{assignment}/visits?month=2026-12"),
        Some(PLANNER),
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let served = r.json();
    assert_eq!(served["routes_on_streets"], true);
    // The command line's path on the same assignment, households, workers and barriers.
    let state = app.state.clone();
    let (_, geojson, _) =
        tokio::task::spawn_blocking(move || state.with_store(|st| Ok(st.assignment(assignment)?)))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{}", e.message))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("assignment.geojson");
    std::fs::write(&file, geojson).unwrap();
    let files = gridplan::ops::VisitFiles {
        staff: gridplan::ops::StaffFiles {
            grids: file,
            households: bundled().join("households.geojson"),
            workers: bundled().join("workers.geojson"),
            boundaries: Some(bundled().join("boundaries.geojson")),
            rules: None,
            crs: None,
        },
        log: None,
        barriers: Some(bundled().join("barriers.geojson")),
        planning_day: None,
    };
    let month = gridplan::ops::Month::parse("2026-12").unwrap();
    let cli = serde_json::to_value(gridplan::ops::visits_files(&files, month).unwrap()).unwrap();
    assert_eq!(cli["routes_on_streets"], true);
    assert_eq!(served["workers"], cli["workers"]);
    assert!(
        served["workers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| !w["routes"].as_array().unwrap().is_empty()),
        "no worker has a route to compare"
    );
}

// ---------------------------------------------------------------------------------------------------
// `datetime` and boundaries that strand the workers

#[tokio::test]
async fn days_the_calendar_lacks_and_inverted_intervals_are_400() {
    let app = demo();
    for bad in [
        "2026-02-30",
        "2026-05-01/2026-01-01",
        "2026-01-02T00:00:00Z/2026-01-01T23:59:59Z",
    ] {
        let r = get(
            &app,
            &format!("/collections/grids/items?datetime={bad}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
        assert!(r.json()["error"].as_str().unwrap().contains("datetime"));
    }
    for good in [
        "2024-02-29",
        "2026-01-01/2026-05-01",
        "2026-01-01/2026-01-01",
    ] {
        let r = get(
            &app,
            &format!("/collections/grids/items?datetime={good}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{good}: {}", r.text());
    }
}

/// The demo's boundaries with the rural town 320116101000 renumbered 320116102000 (its villages with
/// it): the 32 workers of the old town have no town left.
fn boundaries_without_the_rural_town() -> String {
    let text =
        std::fs::read_to_string(common::demo_without_layers().join("boundaries.geojson")).unwrap();
    let mut b: Value = serde_json::from_str(&text).unwrap();
    for f in b["features"].as_array_mut().unwrap() {
        for key in ["code", "parent"] {
            if f["properties"][key] == "320116101000" {
                f["properties"][key] = json!("320116102000");
            }
        }
    }
    b.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boundaries_that_strand_the_workers_are_refused_naming_the_towns() {
    let app = demo();
    let before = get(&app, "/api/datasets", None).await.json();
    let body = boundaries_without_the_rural_town();
    for uri in ["/api/boundaries", "/api/datasets/boundaries"] {
        let r = post(&app, uri, Some(PLANNER), body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.text()
        );
        let e = r.json()["error"].as_str().unwrap().to_string();
        assert!(
            e.contains("320116101000 (32 workers)") && e.contains("stranded_workers=accept"),
            "{e}"
        );
    }
    // Nothing was written.
    assert_eq!(get(&app, "/api/datasets", None).await.json(), before);
    assert_eq!(
        get(&app, "/api/plans", None).await.json()["plans"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Accepted when the planner says so, with the problem stated; the assignment then says the same.
    let r = post(
        &app,
        "/api/boundaries?stranded_workers=accept",
        Some(PLANNER),
        body,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let stranded = &r.json()["stranded_workers"];
    assert_eq!(stranded["workers"], 32, "{stranded}");
    assert_eq!(stranded["towns"]["320116101000"], 32, "{stranded}");
    let r = post(&app, "/api/assignments", Some(PLANNER), "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains("320116101000 (32 workers)"), "{e}");
    let r = post(
        &app,
        "/api/boundaries?stranded_workers=maybe",
        Some(PLANNER),
        "{}",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
}

// ---------------------------------------------------------------------------------------------------
// Grids too small to publish

const ONE_HOUSEHOLD_BANDS: &str = "[kinds.urban]\nmin_households = 1\nmax_households = 1\n[kinds.rural]\nmin_households = 1\nmax_households = 1\n";

#[tokio::test]
async fn rules_of_grids_below_the_smallest_published_are_refused_by_name() {
    let app = demo();
    let r = post(
        &app,
        "/api/datasets/rules",
        Some(PLANNER),
        ONE_HOUSEHOLD_BANDS,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let e = r.json()["error"].as_str().unwrap().to_string();
    assert!(e.contains("min_households 1 is below 20"), "{e}");
    let r = post(
        &app,
        "/api/plans",
        Some(PLANNER),
        json!({ "rules": ONE_HOUSEHOLD_BANDS }).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("below 20"), "{}", r.text());
}

#[test]
fn the_command_line_refuses_such_rules_and_states_the_smallest_published_grid() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, ONE_HOUSEHOLD_BANDS).unwrap();
    let out = common::run(&["rules", "--rules", rules.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = common::stderr(&out);
    assert!(
        err.contains("rules.toml") && err.contains("min_households 1 is below 20"),
        "{err}"
    );
    let out = common::run(&["rules"]);
    assert!(out.status.success());
    assert!(
        common::stdout(&out).contains("fewer than 20 households"),
        "{}",
        common::stdout(&out)
    );
}

/// The demo (no ground layers) with village 320116101209 down to five households.
fn demo_with_a_village_of_five() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("demo-village-of-five");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = common::demo_without_layers();
    for name in ["boundaries.geojson", "workers.geojson"] {
        std::fs::copy(src.join(name), dir.join(name)).unwrap();
    }
    let mut h: Value =
        serde_json::from_slice(&std::fs::read(src.join("households.geojson")).unwrap()).unwrap();
    let mut kept = 0;
    h["features"].as_array_mut().unwrap().retain(|f| {
        let b = f["properties"]["building"].as_str().unwrap_or_default();
        if !b.starts_with("320116101209") {
            return true;
        }
        kept += 1;
        kept <= 5
    });
    std::fs::write(dir.join("households.geojson"), h.to_string()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_of_five_households_is_published_without_its_counts() {
    let app = app_with(Some(demo_with_a_village_of_five()), Limits::default());
    let village = "320116101209";
    let grids = get(&app, "/collections/grids/items?limit=1000", None)
        .await
        .json();
    let small: Vec<&Value> = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["community"] == village)
        .collect();
    assert_eq!(small.len(), 1);
    let p = &small[0]["properties"];
    assert_eq!(p["counts_withheld"], true, "{p}");
    for key in ["households", "population", "buildings", "population_alert"] {
        assert!(p[key].is_null(), "{key}: {p}");
    }
    // The others keep theirs.
    assert!(grids["features"].as_array().unwrap().iter().any(|f| {
        f["properties"]["community"] != village && f["properties"]["households"].as_u64() > Some(20)
    }));
    // The village on the communities layer, on its grids file, in the report, at a point of it.
    let communities = get(&app, "/collections/communities/items?limit=1000", None)
        .await
        .json();
    let c = communities["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == village)
        .unwrap();
    assert!(c["properties"]["households"].is_null(), "{c}");
    let file = get(&app, "/api/plans/1/grids", None).await.json();
    let g = file["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["community"] == village)
        .unwrap();
    assert!(g["properties"]["households"].is_null(), "{g}");
    let report = get(&app, "/api/plans/1/report", None).await.json();
    let row = report["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["community"] == village)
        .unwrap();
    assert!(
        row["households"].is_null() && row["population"].is_null(),
        "{row}"
    );
    let leaf = report["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == village)
        .unwrap();
    assert!(leaf["households"].is_null(), "{leaf}");
    // The district's total less the published villages would be the five: withheld too.
    assert!(
        report["summary"]["households_total"].is_null(),
        "{}",
        report["summary"]
    );
    let text = report.to_string();
    assert!(!text.contains("\"households\":5,"), "{text}");
    // A point in the village.
    let coords = &g["geometry"]["coordinates"];
    let first = if g["geometry"]["type"] == "MultiPolygon" {
        &coords[0][0]
    } else {
        &coords[0]
    };
    let ring = first.as_array().unwrap();
    let (mut x, mut y) = (0.0, 0.0);
    for p in &ring[..ring.len() - 1] {
        x += p[0].as_f64().unwrap();
        y += p[1].as_f64().unwrap();
    }
    let n = (ring.len() - 1) as f64;
    let located = get(
        &app,
        &format!("/api/locate?lon={}&lat={}", x / n, y / n),
        None,
    )
    .await
    .json();
    if located["grid"]["id"] == g["properties"]["id"] {
        assert!(located["grid"]["households"].is_null(), "{located}");
        assert!(located["community"]["households"].is_null(), "{located}");
    }
    // A planner still reads the counts.
    let sensitive = get(&app, "/api/plans/1/sensitive", Some(PLANNER))
        .await
        .json();
    let id = g["properties"]["id"].as_str().unwrap();
    let row = sensitive["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap();
    assert_eq!(row["households"], 5);
}
