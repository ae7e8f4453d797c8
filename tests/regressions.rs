//! Regression tests for defects found by trying gridplan on data it had never seen: each is named after
//! what it guards, and each failed before its fix.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn data(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data")).join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A district (`320116`) of two towns with the given codes, each with two communities of 400 households
/// (8 buildings of 50), and workers naming the towns as `worker_towns` say.
fn nine_digit_district(dir: &Path, town_codes: [&str; 2], worker_towns: [&str; 2]) {
    let mut units = vec![polygon_feature(
        json!({"code": "320116", "level": "district", "name": "Liuhe"}),
        rect(0.0, 0.0, 4000.0, 1000.0),
    )];
    let mut households = Vec::new();
    let mut workers = Vec::new();
    for (t, town) in town_codes.iter().enumerate() {
        let x = 2000.0 * t as f64;
        units.push(polygon_feature(
            json!({"code": town, "level": "town", "parent": "320116", "kind": "urban"}),
            rect(x, 0.0, x + 2000.0, 1000.0),
        ));
        for c in 0..2 {
            let cx = x + 1000.0 * c as f64;
            let code = format!("{}{:03}", &town[..9], 201 + c);
            units.push(polygon_feature(
                json!({"code": code, "level": "community", "parent": town}),
                rect(cx, 0.0, cx + 1000.0, 1000.0),
            ));
            for b in 0..8 {
                households.push(point_feature(
                    json!({"households": 50, "population": 120, "building": format!("{code}-b{b}")}),
                    cx + 60.0 + 110.0 * b as f64,
                    500.0,
                ));
            }
        }
        for w in 0..3 {
            workers.push(point_feature(
                json!({"id": format!("W{t}{w}"), "type": "full_time", "town": worker_towns[t]}),
                x + 300.0 + 500.0 * w as f64,
                400.0,
            ));
        }
    }
    write(dir, "boundaries.geojson", &collection_4549(units));
    write(dir, "households.geojson", &collection_4549(households));
    write(dir, "workers.geojson", &collection_4549(workers));
}

fn partition(dir: &Path) -> PathBuf {
    let grids = dir.join("grids.geojson");
    let o = run(&[
        "partition",
        "--households",
        s(&dir.join("households.geojson")),
        "--boundaries",
        s(&dir.join("boundaries.geojson")),
        "--out",
        s(&grids),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    grids
}

fn assign_staffing(dir: &Path, grids: &Path, with_boundaries: bool) -> Value {
    let report = dir.join("staffing.json");
    let mut args = vec![
        "assign".to_string(),
        "--grids".into(),
        s(grids).into(),
        "--households".into(),
        s(&dir.join("households.geojson")).into(),
        "--workers".into(),
        s(&dir.join("workers.geojson")).into(),
        "--out".into(),
        s(&dir.join("assignment.geojson")).into(),
        "--report".into(),
        s(&report).into(),
    ];
    if with_boundaries {
        args.extend([
            "--boundaries".into(),
            s(&dir.join("boundaries.geojson")).into(),
        ]);
    }
    let o = bin().args(&args).output().expect("runs");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    common::report(&report)
}

#[test]
fn nine_and_twelve_digit_town_codes_name_the_same_town_on_both_sides() {
    for (towns, worker_towns) in [
        (["320116001", "320116002"], ["320116001", "320116002"]),
        (["320116001", "320116002"], ["320116001000", "320116002000"]),
        (["320116001000", "320116002000"], ["320116001", "320116002"]),
        (
            ["320116001000", "320116002000"],
            ["320116001000", "320116002"],
        ),
    ] {
        let d = tempfile::tempdir().unwrap();
        nine_digit_district(d.path(), towns, worker_towns);
        let grids = partition(d.path());
        for with_boundaries in [true, false] {
            let staffing = assign_staffing(d.path(), &grids, with_boundaries);
            let by_town: Vec<(&str, u64)> = staffing["towns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["town"].as_str().unwrap(),
                        t["workers_used"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                by_town,
                vec![("320116001000", 2), ("320116002000", 2)],
                "towns {towns:?}, workers {worker_towns:?}, boundaries {with_boundaries}"
            );
        }
    }
}

#[test]
fn the_service_starts_on_nine_digit_towns_with_workers() {
    let d = tempfile::tempdir().unwrap();
    nine_digit_district(
        d.path(),
        ["320116001", "320116002"],
        ["320116001", "320116002"],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gridplan"))
        .args([
            "serve",
            "--data",
            s(d.path()),
            "--db",
            s(&d.path().join("gridplan.db")),
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut came_up = false;
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) if line.contains("serving on") => {
                came_up = true;
                break;
            }
            Some(_) => continue,
            None => break,
        }
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("waits");
    assert!(
        came_up,
        "the server did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// 550 urban households in two buildings of 486 and 64: no whole number of grids fits, and two grids
/// would be 64 and 486 (236 under the minimum), so the least-bad answer is one grid of 550 (50 over).
#[test]
fn the_least_bad_grid_count_is_judged_on_whole_buildings() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "boundaries.geojson",
        &collection_4549(vec![
            polygon_feature(
                json!({"code": "ST", "level": "street", "kind": "urban"}),
                rect(0.0, 0.0, 1000.0, 1000.0),
            ),
            polygon_feature(
                json!({"code": "C", "parent": "ST"}),
                rect(0.0, 0.0, 1000.0, 1000.0),
            ),
        ]),
    );
    write(
        d.path(),
        "households.geojson",
        &collection_4549(vec![
            point_feature(json!({"households": 486, "building": "big"}), 300.0, 500.0),
            point_feature(json!({"households": 64, "building": "small"}), 700.0, 500.0),
        ]),
    );
    let grids = partition(d.path());
    let g: Value = serde_json::from_str(&std::fs::read_to_string(&grids).unwrap()).unwrap();
    let counts: Vec<u64> = g["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["households"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![550]);
}

fn demo_assign_with_rules(rules: &str) -> (Option<i32>, String, String, Option<Value>) {
    let d = tempfile::tempdir().unwrap();
    let grids = d.path().join("grids.geojson");
    let o = run(&[
        "partition",
        "--households",
        s(&data("households.geojson")),
        "--boundaries",
        s(&data("boundaries.geojson")),
        "--out",
        s(&grids),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = d.path().join("rules.toml");
    std::fs::write(&r, rules).unwrap();
    let report = d.path().join("staffing.json");
    let o = run(&[
        "assign",
        "--grids",
        s(&grids),
        "--households",
        s(&data("households.geojson")),
        "--workers",
        s(&data("workers.geojson")),
        "--boundaries",
        s(&data("boundaries.geojson")),
        "--rules",
        s(&r),
        "--out",
        s(&d.path().join("a.geojson")),
        "--report",
        s(&report),
    ]);
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let staffing = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    (o.status.code(), stdout(&o), stderr(&o), staffing)
}

#[test]
fn solver_settings_out_of_range_are_bad_input_naming_the_key() {
    for (rules, key) in [
        ("[assign]\ntime_limit_s = 0\n", "assign.time_limit_s"),
        ("[assign]\nmip_rel_gap = 1e308\n", "assign.mip_rel_gap"),
        (
            "[assign]\nuncovered_penalty_m_per_hour = 1e308\n",
            "assign.uncovered_penalty_m_per_hour",
        ),
        (
            "[assign]\nmove_penalty_m = 1e300\n",
            "assign.move_penalty_m",
        ),
        (
            "[workload]\nhours_per_household = 1e300\n",
            "workload.hours_per_household",
        ),
        (
            "[worker_hours]\nfull_time = 1e9\n",
            "worker_hours.full_time",
        ),
    ] {
        let message = gridplan::Rules::from_toml(rules).expect_err(rules);
        assert!(message.contains(key), "{rules}: {message}");
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("rules.toml");
        std::fs::write(&path, rules).unwrap();
        let o = run(&[
            "check",
            "--grids",
            s(&data("grids.geojson")),
            "--households",
            s(&data("households.geojson")),
            "--boundaries",
            s(&data("boundaries.geojson")),
            "--rules",
            s(&path),
        ]);
        assert_eq!(o.status.code(), Some(2), "{rules}: {}", stderr(&o));
        assert!(stderr(&o).contains(key), "{}", stderr(&o));
    }
}

/// A solver that runs out of time before finding any assignment is an outcome to report (every grid
/// uncovered, status `no_solution`), not an internal error (exit 3).
#[test]
fn a_solver_without_a_solution_in_time_is_reported_not_a_failure() {
    let (code, out, err, staffing) = demo_assign_with_rules("[assign]\ntime_limit_s = 0.000001\n");
    assert_eq!(code, Some(0), "{out}\n{err}");
    let staffing = staffing.expect("staffing report written");
    for town in staffing["towns"].as_array().unwrap() {
        let status = town["solver_status"].as_str().unwrap();
        assert!(
            ["no_solution", "time_limit", "gap_limit", "optimal"].contains(&status),
            "{status}"
        );
        if status == "no_solution" {
            assert_eq!(
                town["grids_uncovered"].as_array().unwrap().len() as u64,
                town["grids"].as_u64().unwrap()
            );
            assert!(out.contains("time_limit_s"), "{out}");
        }
    }
}

/// Spreadsheet tools write a UTF-8 byte-order mark at the start of the file: it is accepted.
#[test]
fn a_utf8_bom_is_accepted() {
    let d = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for name in ["households.geojson", "boundaries.geojson", "grids.geojson"] {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend(std::fs::read(data(name)).unwrap());
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    let o = run(&[
        "check",
        "--households",
        s(&paths[0]),
        "--boundaries",
        s(&paths[1]),
        "--grids",
        s(&paths[2]),
    ]);
    // The demo grids carry injected faults: exit 1 (violations), not 2 (bad input).
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn an_unknown_crs_is_a_named_input_error() {
    let d = tempfile::tempdir().unwrap();
    // On the command line.
    let o = run(&[
        "check",
        "--crs",
        "EPSG:999999",
        "--households",
        s(&data("households.geojson")),
        "--boundaries",
        s(&data("boundaries.geojson")),
        "--grids",
        s(&data("grids.geojson")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("EPSG:999999"), "{err}");
    assert!(!err.contains("projected CRS in metres"), "{err}");
    assert!(!err.contains("Unknown error"), "{err}");
    // In a file's `crs` member: the error names the file and the field.
    let mut boundaries: Value =
        serde_json::from_str(&std::fs::read_to_string(data("boundaries.geojson")).unwrap())
            .unwrap();
    boundaries["crs"] = json!({"type": "name", "properties": {"name": "EPSG:999999"}});
    let b = write(d.path(), "boundaries.geojson", &boundaries);
    let o = run(&[
        "check",
        "--households",
        s(&data("households.geojson")),
        "--boundaries",
        s(&b),
        "--grids",
        s(&data("grids.geojson")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("boundaries.geojson") && err.contains("EPSG:999999"),
        "{err}"
    );
    assert!(err.contains("`crs`"), "{err}");
    assert!(!err.contains("Unknown error"), "{err}");
}

#[test]
fn a_grid_without_a_usable_id_is_a_named_problem() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "boundaries.geojson", &two_leaves());
    write(d.path(), "households.geojson", &hand_households());
    for id in [
        Value::Null,
        json!({"nested": 1}),
        json!([1, 2]),
        json!(true),
    ] {
        let mut g = polygon_feature(json!({"community": "A"}), rect(0.0, 0.0, 1000.0, 1000.0));
        g["id"] = id.clone();
        let mut second = grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0));
        second["properties"]["households"] = json!(400);
        let grids = write(d.path(), "grids.geojson", &collection_4549(vec![g, second]));
        let o = run(&[
            "check",
            "--grids",
            s(&grids),
            "--households",
            s(&d.path().join("households.geojson")),
            "--boundaries",
            s(&d.path().join("boundaries.geojson")),
        ]);
        assert_eq!(o.status.code(), Some(2), "id {id}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("grids.geojson") && err.contains("feature 0") && err.contains("`id`"),
            "id {id}: {err}"
        );
        assert!(!err.contains("feature-0"), "{err}");
    }
}

/// The set-up script looks for the libclang that bindgen loads, not for the C++ interface library
/// (`libclang-cpp.so.14`) that Debian's base image ships on its own.
#[test]
fn setup_tells_libclang_from_libclang_cpp() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/setup.sh");
    let probe = |files: &[&str]| -> bool {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source '{script}' && has_libclang '{}'",
                s(dir.path())
            ))
            .output()
            .expect("bash runs");
        assert!(
            o.status.code() == Some(0) || o.status.code() == Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.status.success()
    };
    assert!(!probe(&["libclang-cpp.so.14"]));
    assert!(!probe(&["libclang-cpp.so", "libclang-cpp.so.14"]));
    assert!(!probe(&[]));
    assert!(probe(&["libclang-cpp.so.14", "libclang-14.so"]));
    assert!(probe(&["libclang.so"]));
    assert!(probe(&["libclang.so.1"]));
    assert!(probe(&["libclang-14.so.1", "libclang-14.so"]));
}

/// A layer named with an extension gridplan does not write (`.kml`, `.xlsx`) is refused by name before
/// any work, instead of GeoJSON written under a name that promises something else; so is a report that
/// is not `.json`. GeoPackages and Shapefiles (`.gpkg`, `.shp`) are written.
#[test]
fn an_output_name_gridplan_does_not_write_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    nine_digit_district(
        d.path(),
        ["320116001", "320116002"],
        ["320116001", "320116002"],
    );
    for (out, report) in [
        ("grids.kml", "r.json"),
        ("grids.xlsx", "r.json"),
        ("grids.geojson", "r.xlsx"),
    ] {
        let o = run(&[
            "partition",
            "--households",
            s(&d.path().join("households.geojson")),
            "--boundaries",
            s(&d.path().join("boundaries.geojson")),
            "--out",
            s(&d.path().join(out)),
            "--report",
            s(&d.path().join(report)),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let bad = if out.ends_with("geojson") {
            report
        } else {
            out
        };
        assert!(stderr(&o).contains(bad), "names the file: {}", stderr(&o));
        assert!(!d.path().join(out).exists(), "nothing written to {out}");
    }
    // The formats it writes are still written.
    for out in [
        "grids.geojson",
        "grids.fgb",
        "grids.JSON",
        "grids.gpkg",
        "grids.shp",
        "grids.SHP",
    ] {
        let o = run(&[
            "partition",
            "--households",
            s(&d.path().join("households.geojson")),
            "--boundaries",
            s(&d.path().join("boundaries.geojson")),
            "--out",
            s(&d.path().join(out)),
        ]);
        assert_eq!(o.status.code(), Some(0), "{out}: {}", stderr(&o));
    }
}

/// `gridplan demo` outside the repository finds the demo district the binary was built with, and a
/// directory without one is refused saying where to run it from.
#[test]
fn demo_outside_the_repository_finds_its_data_or_says_what_to_run() {
    let d = tempfile::tempdir().unwrap();
    let o = bin()
        .current_dir(d.path())
        .args(["demo", "--data", "nowhere", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--data") && stderr(&o).contains("repository"),
        "says what to run: {}",
        stderr(&o)
    );
    let mut child = bin()
        .current_dir(d.path())
        .env_remove("GRIDPLAN_PLANNER_TOKEN")
        .args(["demo", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let came_up = lines.any(|l| l.is_ok_and(|l| l.contains("serving on")));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(
        came_up,
        "the demo did not start outside the repository: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
