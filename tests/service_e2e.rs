//! The running binary against real clients: GDAL's OGC API driver, headless Chromium on the map page,
//! and the database across restarts and a kill in the middle of writes.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-planner-token-42";

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data"))
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &Path, data: bool) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridplan"));
    cmd.args([
        "serve",
        "--db",
        db.to_str().unwrap(),
        "--addr",
        &format!("127.0.0.1:{port}"),
    ]);
    if data {
        cmd.args(["--data", data_dir().to_str().unwrap()]);
    }
    let mut child = cmd
        .env("GRIDPLAN_PLANNER_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the server did not come up");
        match lines.next() {
            Some(Ok(line)) if line.contains("serving on") => break,
            Some(_) => continue,
            None => panic!("the server exited before listening"),
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
}

/// A minimal HTTP/1.1 exchange: (status, body).
fn http(port: u16, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers end");
    let headers = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = headers[9..12].parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if headers.contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..nl]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[nl + 2..nl + 2 + size]);
            rest = &rest[nl + 2 + size + 2..];
        }
        body = out;
    }
    (status, body)
}

fn json(port: u16, path: &str) -> Value {
    let (status, body) = http(port, "GET", path, None, b"");
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn gdal_reads_every_grid_through_ogc_api_features_with_paging() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("g.db"), true);
    let url = format!("OAPIF:http://127.0.0.1:{}", server.port);
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q", &url, "grids", "-oo", "PAGE_SIZE=10"])
        .output()
        .expect("ogrinfo (gdal-bin) is installed: scripts/setup.sh --e2e installs it");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let features = text.matches("OGRFeature(grids):").count();
    assert_eq!(features, 62, "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("320116001001001"));
    let summary = Command::new("ogrinfo")
        .args(["-ro", "-so", &url, "communities"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&summary.stdout).contains("Feature Count: 16"));
}

#[test]
fn headless_chromium_draws_the_grid_layer() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir.path().join("g.db"), true);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let artifacts = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let chromium = |url: &str, extra: &[&str]| {
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
            "--window-size=1280,900",
        ];
        let user = format!("--user-data-dir={}", profile.path().display());
        args.push(&user);
        args.extend_from_slice(extra);
        args.push(url);
        Command::new("chromium")
            .args(&args)
            .output()
            .expect("chromium is installed: scripts/setup.sh --e2e installs it")
    };
    let dom = chromium(&url, &["--dump-dom"]);
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        html.contains("data-grids=\"62\""),
        "{}",
        &html[..html.len().min(3000)]
    );
    assert!(html.matches("leaflet-interactive").count() >= 62);
    assert!(html.contains("62 grids in 16 communities"));
    let shot = artifacts.join("map.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&url, &[&format!("--screenshot={}", shot.display())]);
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "the screenshot is blank"
    );
    eprintln!("map screenshot kept at {}", shot.display());
    // A worker's month of visits, opened by a planner (the token in the page's hash, which never
    // reaches the server).
    let schedule = format!("{url}#worker=W001-001&month=2026-12&token={TOKEN}");
    let dom = chromium(&schedule, &["--dump-dom"]);
    let html = String::from_utf8_lossy(&dom.stdout);
    let visits: usize = html
        .split("data-schedule=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no schedule drawn: {}", &html[..html.len().min(3000)]));
    assert!(visits > 0);
    assert!(
        html.contains("W001-001</b>: "),
        "the schedule names the worker"
    );
    assert!(
        html.contains("km</td>"),
        "each day has its walking distance"
    );
    let shot = artifacts.join("schedule.png");
    let _ = std::fs::remove_file(&shot);
    let out = chromium(&schedule, &[&format!("--screenshot={}", shot.display())]);
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("schedule screenshot kept at {}", shot.display());
}

#[test]
fn a_restart_keeps_datasets_plans_and_assignments() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    {
        let server = start(&db, true);
        let (status, body) = http(
            server.port,
            "POST",
            "/api/plans",
            Some(TOKEN),
            br#"{"note":"before restart"}"#,
        );
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        // A hard kill, not a shutdown.
        let mut server = server;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
    }
    let server = start(&db, false);
    let plans = json(server.port, "/api/plans");
    assert_eq!(plans["plans"].as_array().unwrap().len(), 2);
    assert_eq!(plans["plans"][0]["note"], "before restart");
    assert_eq!(plans["published"], 2);
    assert!(plans["assignment"].is_null() || plans["assignment"].is_number());
    assert_eq!(
        json(server.port, "/collections/grids/items?limit=1")["numberMatched"],
        62
    );
    let datasets = json(server.port, "/api/datasets");
    assert_eq!(datasets["datasets"].as_array().unwrap().len(), 3);
}

#[test]
fn a_kill_in_the_middle_of_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    let server = start(&db, true);
    let port = server.port;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let writer = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            for n in 0..10_000 {
                let body = format!("[kinds.urban]\nmax_households = {}\n", 450 + n % 50);
                let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                    break;
                };
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let head = format!(
                    "POST /api/datasets/rules HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(head.as_bytes()).is_err() {
                    break;
                }
                let mut raw = String::new();
                if s.read_to_string(&mut raw).is_err() || !raw.starts_with("HTTP/1.1 201") {
                    break;
                }
                let v: Value = serde_json::from_str(raw.split("\r\n\r\n").nth(1).unwrap_or("{}"))
                    .unwrap_or(Value::Null);
                if let Some(version) = v["dataset"]["version"].as_i64() {
                    acked.lock().unwrap().push(version);
                }
            }
        })
    };
    // Kill once a few writes were acknowledged (however busy the machine), mid-stream.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 10 && Instant::now() < deadline && !writer.is_finished() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut server = server;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() > 5,
        "too few writes before the kill: {}",
        acked.len()
    );
    let store = gridplan::store::Store::open(&db.clone().into()).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let stored = store
        .latest_dataset(gridplan::store::DatasetKind::Rules)
        .unwrap()
        .unwrap()
        .0
        .version;
    let last_acked = *acked.iter().max().unwrap();
    assert!(
        stored >= last_acked,
        "acknowledged version {last_acked} lost; the store has {stored}"
    );
    drop(store);
    // And the server comes back on the same file.
    let server = start(&db, false);
    assert_eq!(
        json(server.port, "/api/plans")["plans"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
