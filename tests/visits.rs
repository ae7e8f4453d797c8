//! `gridplan visits` as a binary: a month's schedule that visits every resident at their cadence within
//! the worker's hours, overdue residents found from a log (the two-month case is an error), visit lists
//! handed over after a re-draw, and bad log rows named by row and column.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// One urban community (two grids side by side) with residents: E1–E3 elderly living alone (weekly),
/// K1 a key person and V1 a vulnerable person (monthly), and 40 ordinary households O1–O40 (quarterly).
/// Grid A is held by worker W1, grid B by W2.
fn fixture(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut h = Vec::new();
    for (i, id) in ["E1", "E2", "E3"].iter().enumerate() {
        h.push(point_feature(
            json!({"id": id, "elderly_alone": 1, "population": 1}),
            100.0 + 100.0 * i as f64,
            200.0,
        ));
    }
    h.push(point_feature(
        json!({"id": "K1", "key_persons": 1}),
        500.0,
        600.0,
    ));
    h.push(point_feature(
        json!({"id": "V1", "vulnerable": 2}),
        700.0,
        300.0,
    ));
    for i in 0..40 {
        h.push(point_feature(
            json!({"id": format!("O{}", i + 1)}),
            1050.0 + 20.0 * (i % 40) as f64,
            100.0 + 10.0 * (i / 10) as f64,
        ));
    }
    let households = write(dir, "households.geojson", &collection_4549(h));
    let mut a = grid(
        "320116001001001",
        "320116001001",
        rect(0.0, 0.0, 1000.0, 1000.0),
    );
    a["properties"]["primary_worker"] = json!("W1");
    let mut b = grid(
        "320116001001002",
        "320116001001",
        rect(1000.0, 0.0, 2000.0, 1000.0),
    );
    b["properties"]["primary_worker"] = json!("W2");
    let assignment = write(dir, "assignment.geojson", &collection_4549(vec![a, b]));
    let workers = write(
        dir,
        "workers.geojson",
        &collection_4549(vec![
            point_feature(
                json!({"id": "W1", "type": "full_time", "town": "320116001"}),
                0.0,
                0.0,
            ),
            point_feature(
                json!({"id": "W2", "type": "full_time", "town": "320116001"}),
                2000.0,
                0.0,
            ),
        ]),
    );
    (assignment, households, workers)
}

fn visits(dir: &Path, log: Option<&Path>, rules: Option<&str>) -> (Option<i32>, String, Value) {
    visits_with(dir, log, rules, None)
}

fn visits_with(
    dir: &Path,
    log: Option<&Path>,
    rules: Option<&str>,
    barriers: Option<&Path>,
) -> (Option<i32>, String, Value) {
    let (assignment, households, workers) = fixture(dir);
    let out = dir.join("visits.json");
    let mut args = vec![
        "visits".to_string(),
        "--assignment".into(),
        s(&assignment).into(),
        "--households".into(),
        s(&households).into(),
        "--workers".into(),
        s(&workers).into(),
        "--month".into(),
        "2026-12".into(),
        "--out".into(),
        s(&out).into(),
    ];
    if let Some(log) = log {
        args.extend(["--log".into(), s(log).into()]);
    }
    if let Some(b) = barriers {
        args.extend(["--barriers".into(), s(b).into()]);
    }
    if let Some(r) = rules {
        let p = dir.join("rules.toml");
        std::fs::write(&p, r).unwrap();
        args.extend(["--rules".into(), s(&p).into()]);
    }
    let o = bin().args(&args).output().expect("runs");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    let plan = std::fs::read_to_string(&out)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (o.status.code(), stdout(&o) + &stderr(&o), plan)
}

fn day(v: &Value) -> u32 {
    v["date"].as_str().unwrap()[8..10].parse().unwrap()
}

#[test]
fn every_resident_is_visited_at_their_cadence_within_the_hours() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, plan) = visits(d.path(), None, None);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(plan["month"], "2026-12");
    assert!(
        plan["unassigned"].as_array().unwrap().is_empty(),
        "{}",
        plan["unassigned"]
    );
    assert!(plan["overdue"].is_null(), "no log: no overdue list");
    let mut per_resident: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for w in plan["workers"].as_array().unwrap() {
        assert!(
            w["minutes"].as_f64().unwrap() <= w["minutes_available"].as_f64().unwrap(),
            "{w}"
        );
        for v in w["visits"].as_array().unwrap() {
            per_resident
                .entry(v["resident"].as_str().unwrap().to_string())
                .or_default()
                .push(day(v));
            // Working days only (December 2026 starts on a Tuesday).
            let weekday = day(v) % 7; // 0 = Monday (1 December 2026 is a Tuesday)
            assert!(weekday < 5, "{v} falls on a weekend");
        }
        // The worker of grid A visits A's residents only.
        if w["id"] == "W1" {
            assert_eq!(w["grids"], json!(["320116001001001"]));
            assert!(
                w["visits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|v| v["grid"] == "320116001001001")
            );
        }
    }
    for e in ["E1", "E2", "E3"] {
        let mut days = per_resident[e].clone();
        days.sort_unstable();
        assert_eq!(days.len(), 4, "{e}: {days:?}");
        for (window, (lo, hi)) in [(1, 7), (8, 14), (15, 21), (22, 31)].iter().enumerate() {
            assert!((*lo..=*hi).contains(&days[window]), "{e}: {days:?}");
        }
    }
    assert_eq!(per_resident["K1"].len(), 1);
    assert_eq!(per_resident["V1"].len(), 1);
    // Never visited quarterly households are due this month: once each.
    for i in 1..=40 {
        assert_eq!(per_resident[&format!("O{i}")].len(), 1, "O{i}");
    }
    assert_eq!(per_resident.len(), 45);
}

#[test]
fn a_worker_without_the_hours_leaves_visits_unassigned_with_the_reason() {
    let d = tempfile::tempdir().unwrap();
    // Patrol takes all but an hour a week; an hour-long visit each.
    let (code, out, plan) = visits(
        d.path(),
        None,
        Some("[workload]\npatrol_hours_per_grid = 39.0\n[visits]\nminutes_per_visit = 60.0\n"),
    );
    assert_eq!(code, Some(0), "{out}");
    let unassigned = plan["unassigned"].as_array().unwrap();
    assert!(!unassigned.is_empty());
    assert!(
        unassigned
            .iter()
            .all(|u| u["reason"].as_str().unwrap().contains("hours")),
        "{unassigned:?}"
    );
    for w in plan["workers"].as_array().unwrap() {
        assert!(w["minutes"].as_f64().unwrap() <= w["minutes_available"].as_f64().unwrap() + 1.0);
    }
}

/// An elderly person living alone last visited two months ago is an error-level alert at the top of
/// the list; a monthly resident a few days late is a warning; a recent visit is not listed.
#[test]
fn overdue_residents_are_found_from_the_log_most_overdue_first() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("visits.csv");
    let mut rows = String::from("resident,worker,time\n");
    rows.push_str("E1,W1,2026-10-01T09:00:00+08:00\n"); // 61 days before 1 December: 54 days late
    rows.push_str("E2,W1,2026-11-28T10:00:00+08:00\n"); // 3 days: on time
    rows.push_str("E3,W1,2026-11-20\n"); // 11 days: 4 days late, a warning
    // Monthly is every calendar month: no visit in November, due by 30 November: 1 day late, a warning.
    rows.push_str("K1,W1,2026-10-25T15:00:00+08:00\n");
    rows.push_str("V1,W1,2026-11-15\n"); // on time
    for i in 1..=40 {
        rows.push_str(&format!("O{i},W2,2026-11-02\n"));
    }
    std::fs::write(&log, rows).unwrap();
    let (code, out, plan) = visits(d.path(), Some(&log), None);
    // An error-level alert makes the exit status 1, like a compliance violation.
    assert_eq!(code, Some(1), "{out}");
    let overdue = plan["overdue"].as_array().unwrap();
    let listed: Vec<(&str, &str, i64)> = overdue
        .iter()
        .map(|o| {
            (
                o["resident"].as_str().unwrap(),
                o["level"].as_str().unwrap(),
                o["days_overdue"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("E1", "error", 54),
            ("E3", "warning", 4),
            ("K1", "warning", 1)
        ]
    );
    assert_eq!(overdue[0]["worker"], "W1");
    assert_eq!(overdue[0]["grid"], "320116001001001");
    assert!(
        out.contains("E1"),
        "the terminal names the worst case: {out}"
    );
    // Quarterly households visited a month ago are not due this month.
    assert!(
        plan["workers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| w["visits"].as_array().unwrap())
            .all(|v| !v["resident"].as_str().unwrap().starts_with('O'))
    );
}

/// After a re-draw a household's grid has another worker: the resident's visit list is handed over.
#[test]
fn visit_lists_follow_households_to_their_new_worker() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("visits.csv");
    // K1 was visited by W2 (its grid's worker before the re-draw); now grid A is W1's.
    std::fs::write(
        &log,
        "resident,worker,time\nK1,W2,2026-11-20\nE1,W1,2026-11-30\n",
    )
    .unwrap();
    let (_, out, plan) = visits(d.path(), Some(&log), None);
    let handovers = plan["handovers"].as_array().unwrap();
    assert_eq!(handovers.len(), 1, "{out}");
    assert_eq!(handovers[0]["resident"], "K1");
    assert_eq!(handovers[0]["from_worker"], "W2");
    assert_eq!(handovers[0]["to_worker"], "W1");
}

#[test]
fn bad_log_rows_are_named_by_row_and_column() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("visits.csv");
    std::fs::write(
        &log,
        "resident,worker,time\nE1,W1,2026-10-01\n,W1,2026-10-02\nE2,W1,yesterday\n",
    )
    .unwrap();
    let (code, out, _) = visits(d.path(), Some(&log), None);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("row 2") && out.contains("`resident`"), "{out}");
    assert!(out.contains("row 3") && out.contains("`time`"), "{out}");
    assert!(out.contains("visits.csv"), "{out}");
}

/// With a street layer the routes follow the walkable streets: every day's walk is at least the
/// straight-line walk through the same visits, and a river is not a street.
#[test]
fn routes_follow_the_streets_when_barriers_are_given() {
    let d = tempfile::tempdir().unwrap();
    let line = |props: Value, pts: &[(f64, f64)]| {
        json!({"type": "Feature", "properties": props, "geometry": {"type": "LineString",
            "coordinates": pts.iter().map(|(x, y)| json!([X0 + x, Y0 + y])).collect::<Vec<_>>()}})
    };
    let streets = write(
        d.path(),
        "barriers.geojson",
        &collection_4549(vec![
            line(
                json!({"name": "South Road", "class": "road"}),
                &[(-50.0, 50.0), (2050.0, 50.0)],
            ),
            line(
                json!({"name": "North Road", "class": "road"}),
                &[(-50.0, 800.0), (2050.0, 800.0)],
            ),
            line(
                json!({"name": "West Lane", "class": "lane"}),
                &[(50.0, -50.0), (50.0, 1050.0)],
            ),
            line(
                json!({"name": "East Lane", "class": "lane"}),
                &[(950.0, -50.0), (950.0, 1050.0)],
            ),
        ]),
    );
    let (code, out, straight) = visits(d.path(), None, None);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(straight["routes_on_streets"], false);
    let (code, out, walked) = visits_with(d.path(), None, None, Some(&streets));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(walked["routes_on_streets"], true);
    let total = |plan: &Value, worker: &str| -> f64 {
        plan["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == worker)
            .unwrap()["routes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["distance_m"].as_f64().unwrap())
            .sum()
    };
    // W1's residents lie between the roads: the walks go out to a street and along it.
    assert!(total(&walked, "W1") > total(&straight, "W1") + 100.0);
    // As many visits either way: only the walking changes.
    let visits_of = |plan: &Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = plan["workers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|w| w["visits"].as_array().unwrap())
            .map(|v| (v["resident"].to_string(), v["date"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(visits_of(&walked).len(), visits_of(&straight).len());
    // A river is an obstacle, not a street.
    let river = write(
        d.path(),
        "river.geojson",
        &collection_4549(vec![line(
            json!({"name": "River", "class": "river"}),
            &[(-50.0, 500.0), (2050.0, 500.0)],
        )]),
    );
    let (_, _, plan) = visits_with(d.path(), None, None, Some(&river));
    assert_eq!(plan["routes_on_streets"], false);
}
