//! The map page in a real headless Chromium: grid labels where grids are big enough on screen, the
//! selected grid, the current plan's violations drawn as a clickable layer, a scale bar, distinct
//! community lines; at phone width (390 × 844) the map fills most of the screen; a base map configured
//! with `serve --basemap URL` is fetched from that URL (a tile server on this machine: no network).
//! Screenshots are kept in the target's artifacts directory (docs/map-labels.png and
//! docs/map-phone.png are copies).
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(clippy::print_stderr)] // says where the screenshots are

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `gridplan serve` on the demo district (straight cuts: 62 grids), with the extra arguments.
fn serve(db: &Path, extra: &[&str]) -> Server {
    let port = free_port();
    let data = common::demo_without_layers();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridplan"))
        .args([
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra)
        .env_remove("GRIDPLAN_PLANNER_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "the server did not come up");
        match lines.next() {
            Some(Ok(line)) if line.contains("serving on") => break,
            Some(_) => continue,
            None => panic!("the server exited before listening"),
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
}

/// Headless Chromium on `url` at `width` × `height`, with `extra` (`--dump-dom`, `--screenshot=…`).
fn chromium(url: &str, width: u32, height: u32, extra: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--hide-scrollbars".into(),
        "--virtual-time-budget=15000".into(),
        format!("--window-size={width},{height}"),
        "--lang=zh-CN".into(),
        "--accept-lang=zh-CN".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    args.extend(extra.iter().cloned());
    args.push(url.to_string());
    Command::new("chromium")
        .args(&args)
        .output()
        .expect("chromium is installed: scripts/setup.sh --e2e installs it")
}

fn dom(url: &str, width: u32, height: u32) -> String {
    let out = chromium(url, width, height, &["--dump-dom".to_string()]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `data-<name>` on the page's body.
fn data(html: &str, name: &str) -> Option<String> {
    let key = format!("data-{name}=\"");
    let rest = html.split(&key).nth(1)?;
    Some(rest.split('"').next()?.to_string())
}

fn number(html: &str, name: &str) -> f64 {
    data(html, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no data-{name}: {}", &html[..html.len().min(3000)]))
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn screenshot(url: &str, width: u32, height: u32, name: &str) -> PathBuf {
    let shot = artifacts().join(name);
    let _ = std::fs::remove_file(&shot);
    let out = chromium(
        url,
        width,
        height,
        &[format!("--screenshot={}", shot.display())],
    );
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a blank screenshot"
    );
    eprintln!("screenshot kept at {}", shot.display());
    shot
}

/// The grid of 瓜埠社区: its 120 households are under the band, a violation of the plan's check.
const UNDER: &str = "320116001002001";

#[test]
fn labels_the_selected_grid_and_the_plans_violations_are_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("g.db"), &[]);
    let base = format!("http://127.0.0.1:{}/", server.port);

    // Zoomed out on the whole district: labels only where a grid is wide enough to carry one.
    let html = dom(&base, 1280, 900);
    assert_eq!(data(&html, "grids").as_deref(), Some("62"));
    let labels_out = number(&html, "labels");
    assert!(labels_out < 62.0, "every label shown zoomed out");
    assert!(html.contains("leaflet-control-scale"), "no scale bar");
    // The plan's check has violations (communities too small for the band), drawn and clickable.
    let drawn = number(&html, "violations");
    assert!(drawn >= 1.0, "no violation drawn");
    assert!(
        html.matches("violation leaflet-interactive").count() as f64 >= drawn,
        "the violations are not clickable shapes"
    );
    // Community lines, grid edges and violations are drawn apart.
    assert!(
        html.contains("stroke-dasharray=\"10 5\""),
        "community lines"
    );
    assert!(
        html.contains("stroke-dasharray=\"5 4\""),
        "violation outlines"
    );
    assert_eq!(
        data(&html, "basemap").as_deref(),
        Some(""),
        "no base map by default"
    );

    // Opened on a grid: it is selected and zoomed to, and the grids around it carry labels.
    let url = format!("{base}#grid={UNDER}");
    let html = dom(&url, 1280, 900);
    assert_eq!(data(&html, "selected").as_deref(), Some(UNDER));
    let labels_in = number(&html, "labels");
    assert!(labels_in >= 1.0, "no label at the grid's zoom");
    let tooltips = html.matches("grid-label").count() as f64;
    assert!(
        tooltips >= labels_in,
        "{tooltips} label elements for {labels_in}"
    );
    // Its label is its name (the service names its grids after their community).
    assert!(
        html.contains(">瓜埠社区第1网格</div>"),
        "the grid's name as its label"
    );
    assert!(
        html.contains("stroke=\"#0057b8\""),
        "the selected grid is highlighted"
    );
    let shot = screenshot(&url, 1280, 900, "map-labels.png");
    let _ = shot;
}

#[test]
fn the_map_fills_most_of_a_phone_screen() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("g.db"), &[]);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let html = dom(&url, 390, 844);
    let (map, viewport) = (
        number(&html, "map-height"),
        number(&html, "viewport-height"),
    );
    assert!(viewport > 700.0, "viewport {viewport}");
    assert!(
        map >= 0.6 * viewport,
        "the map is {map} px of a {viewport} px screen"
    );
    assert_eq!(data(&html, "grids").as_deref(), Some("62"));
    screenshot(&url, 390, 844, "map-phone.png");
}

/// A tile server on this machine answering every request with a small PNG, counting them.
fn tile_server() -> (u16, Arc<AtomicUsize>) {
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x78,
        0xf1, 0xec, 0x21, 0x00, 0x05, 0x69, 0x02, 0xb0, 0x78, 0xe2, 0x73, 0x9f, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                if String::from_utf8_lossy(&buf[..n]).starts_with("GET /tiles/") {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nAccess-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n",
                    PNG.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(PNG);
            });
        }
    });
    (port, count)
}

#[test]
fn a_configured_base_map_is_fetched_from_its_url() {
    let (tiles_port, requests) = tile_server();
    let template = format!("http://127.0.0.1:{tiles_port}/tiles/{{z}}/{{x}}/{{y}}.png");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir.path().join("g.db"), &["--basemap", &template]);
    let html = dom(&format!("http://127.0.0.1:{}/", server.port), 1280, 900);
    assert_eq!(data(&html, "basemap").as_deref(), Some(template.as_str()));
    assert!(
        requests.load(Ordering::SeqCst) > 0,
        "the page asked the tile server for nothing"
    );
    assert!(html.contains("leaflet-tile"), "no tile in the page");
}
