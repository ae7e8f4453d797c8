//! Several `gridplan serve` processes on one PostgreSQL + PostGIS database (a throwaway cluster): a plan
//! submitted to one is served by the other; a server killed (or stopped) in the middle of a plan has
//! its job finished by the other, and the plan is written exactly once.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::pg::PgCluster;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "many-servers-planner-token";

/// Longest a test waits for something another process does (generous: the machine may be busy).
const PATIENCE: Duration = Duration::from_secs(180);

/// The demo district without its ground layers (straight cuts: 62 grids); the layers are tested in
/// `service_ground`.
fn data_dir() -> PathBuf {
    common::demo_without_layers()
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {}", self.pid());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `gridplan serve` on database `url` with the demo data and leases of `lease_s` seconds;
/// `hold_s` makes each of its plan jobs wait that long before computing.
fn start(url: &str, lease_s: &str, hold_s: Option<&str>) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gridplan"));
    cmd.args([
        "serve",
        "--db",
        url,
        "--data",
        data_dir().to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
        "--job-lease-secs",
        lease_s,
    ])
    .env("GRIDPLAN_PLANNER_TOKEN", TOKEN)
    .env_remove(gridplan::service::HOLD_PLAN_ENV);
    if let Some(h) = hold_s {
        cmd.env(gridplan::service::HOLD_PLAN_ENV, h);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("serving on") => {
                let port = line
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok())
                    .unwrap_or_else(|| panic!("no port in {line:?}"));
                break port;
            }
            Some(_) => continue,
            None => panic!("the server exited before listening"),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, port }
}

/// A minimal HTTP/1.1 exchange as a planner: (status, body as JSON).
fn http(port: u16, method: &str, path: &str, headers: &[&str], body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
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
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
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
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, v)
}

fn get(port: u16, path: &str) -> Value {
    let (status, v) = http(port, "GET", path, &[], b"");
    assert_eq!(status, 200, "{path}: {v}");
    v
}

/// Polls `f` until it gives something, for at most [`PATIENCE`].
fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn plans_with_note(port: u16, note: &str) -> Vec<Value> {
    get(port, "/api/plans")["plans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["note"] == note)
        .cloned()
        .collect()
}

#[test]
fn a_plan_submitted_to_one_server_is_served_by_the_other() {
    let url = PgCluster::shared().fresh();
    let a = start(&url, "5", None);
    let b = start(&url, "5", None);
    // Both started on the same data: the data (households, boundaries, workers) was loaded, and the
    // first plan made, once.
    let first = get(a.port, "/api/plans");
    assert_eq!(first["plans"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(get(b.port, "/api/plans")["published"], first["published"]);
    assert_eq!(
        get(a.port, "/api/datasets")["datasets"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let (status, answer) = http(
        a.port,
        "POST",
        "/api/plans",
        &[],
        br#"{"note": "submitted to a"}"#,
    );
    assert_eq!(status, 201, "{answer}");
    let plan = answer["plan"].as_i64().unwrap();
    let job = answer["job"].as_i64().unwrap();
    // Server b publishes it without being told.
    wait_for("b publishes a's plan", || {
        (get(b.port, "/api/plans")["published"] == plan).then_some(())
    });
    let items = |port| get(port, "/collections/grids/items?limit=1000");
    assert_eq!(items(b.port)["features"], items(a.port)["features"]);
    assert_eq!(
        get(b.port, "/api/locate?lon=118.81&lat=32.31")["plan"],
        plan
    );
    // The job is on record for both, done by a.
    let j = get(b.port, &format!("/api/jobs/{job}"));
    assert_eq!(
        (j["state"].as_str(), j["plan"].as_i64()),
        (Some("done"), Some(plan)),
        "{j}"
    );
    assert!(
        j["owner"]
            .as_str()
            .unwrap()
            .contains(&format!("/{}/", a.pid())),
        "{j}"
    );
    assert_eq!(j["result"]["plan"], plan);

    // The other way round: workers assigned through b are served by a.
    let (status, assigned) = http(b.port, "POST", "/api/assignments", &[], b"");
    assert_eq!(status, 201, "{assigned}");
    let assignment = assigned["assignment"].as_i64().unwrap();
    wait_for("a publishes b's assignment", || {
        (get(a.port, "/api/plans")["assignment"] == assignment).then_some(())
    });
    // New rules through b: a plans with them afterwards (its inputs follow the database).
    let rules = gridplan::rules::Rules::default().to_commented_toml();
    let body = serde_json::json!({"rules": rules, "note": "rules through b"}).to_string();
    let (status, answer) = http(b.port, "POST", "/api/plans", &[], body.as_bytes());
    assert_eq!(status, 201, "{answer}");
    let rules_id = get(b.port, "/api/plans")["plans"][0]["rules"].clone();
    assert!(rules_id.is_i64(), "{rules_id}");
    wait_for("a loads b's rules", || {
        let (status, answer) = http(
            a.port,
            "POST",
            "/api/plans",
            &[],
            br#"{"note": "after b's rules"}"#,
        );
        // 409 until a has read the new rules (it refuses to plan on stale data).
        (status == 201).then_some(answer)
    });
    let newest = &get(a.port, "/api/plans")["plans"][0];
    assert_eq!(
        (&newest["note"], &newest["rules"]),
        (&Value::from("after b's rules"), &rules_id)
    );
}

#[test]
fn a_server_killed_in_the_middle_of_a_plan_has_its_job_finished_by_another_once() {
    let url = PgCluster::shared().fresh();
    // Server a holds every plan for ten minutes before computing: it will not finish on its own.
    let mut a = start(&url, "1", Some("600"));
    let b = start(&url, "1", None);
    let before = get(b.port, "/api/plans")["plans"].as_array().unwrap().len();
    let (status, accepted) = http(
        a.port,
        "POST",
        "/api/plans",
        &["Prefer: respond-async"],
        br#"{"note": "killed mid-plan"}"#,
    );
    assert_eq!(status, 202, "{accepted}");
    let job = accepted["job"].as_i64().unwrap();
    let a_pid = a.pid();
    wait_for("a holds the job", || {
        let j = get(b.port, &format!("/api/jobs/{job}"));
        (j["state"] == "running" && j["owner"].as_str()?.contains(&format!("/{a_pid}/")))
            .then_some(())
    });
    a.child.kill().unwrap();
    a.child.wait().unwrap();

    let done = wait_for("b finishes the job", || {
        let j = get(b.port, &format!("/api/jobs/{job}"));
        (j["state"] != "running").then_some(j)
    });
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["attempt"], 2, "{done}");
    assert!(
        done["owner"]
            .as_str()
            .unwrap()
            .contains(&format!("/{}/", b.pid())),
        "{done}"
    );
    let plans = plans_with_note(b.port, "killed mid-plan");
    assert_eq!(plans.len(), 1, "{plans:?}");
    assert_eq!(plans[0]["id"], done["plan"]);
    assert_eq!(
        get(b.port, "/api/plans")["plans"].as_array().unwrap().len(),
        before + 1
    );
    assert_eq!(get(b.port, "/api/plans")["published"], done["plan"]);
}

#[test]
fn a_server_stopped_in_the_middle_of_a_plan_cannot_write_it_again_when_it_wakes() {
    let url = PgCluster::shared().fresh();
    // Server a holds each plan a few seconds: long enough to be stopped first.
    let a = start(&url, "1", Some("5"));
    let b = start(&url, "1", None);
    let port = a.port;
    // The client waits on a for the answer.
    let client = std::thread::spawn(move || {
        http(
            port,
            "POST",
            "/api/plans",
            &[],
            br#"{"note": "stopped mid-plan"}"#,
        )
    });
    let a_pid = a.pid();
    let job = wait_for("a holds the job", || {
        let jobs = get(b.port, "/api/jobs");
        jobs["jobs"].as_array()?.iter().find_map(|j| {
            (j["state"] == "running" && j["owner"].as_str()?.contains(&format!("/{a_pid}/")))
                .then(|| j["id"].as_i64())
                .flatten()
        })
    });
    a.signal("-STOP");
    let done = wait_for("b finishes the job", || {
        let j = get(b.port, &format!("/api/jobs/{job}"));
        (j["state"] != "running").then_some(j)
    });
    assert_eq!(
        (done["state"].as_str(), done["attempt"].as_i64()),
        (Some("done"), Some(2)),
        "{done}"
    );
    // Server a wakes, computes, and finds the job no longer its own: it writes nothing and says where
    // the job went.
    a.signal("-CONT");
    let (status, answer) = client.join().unwrap();
    assert_eq!(status, 202, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("taken over"),
        "{answer}"
    );
    assert_eq!(answer["job"], job);
    let plans = plans_with_note(b.port, "stopped mid-plan");
    assert_eq!(plans.len(), 1, "{plans:?}");
    assert_eq!(plans[0]["id"], done["plan"]);
    // Server a serves the plan b wrote.
    wait_for("a publishes b's plan", || {
        (get(a.port, "/api/plans")["published"] == done["plan"]).then_some(())
    });
}
