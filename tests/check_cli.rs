//! `gridplan check` run as a binary on hand-made fixtures with known answers.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::Path;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn check(&self, grids: Vec<Value>) -> (i32, Value, String) {
        let d = self.dir.path();
        let b = write(d, "boundaries.geojson", &two_leaves());
        let h = write(d, "households.geojson", &hand_households());
        let g = write(d, "grids.geojson", &collection_4549(grids));
        let (code, report, out) = check_files(&b, &h, &g, &[]);
        (code.unwrap_or(-1), report, out)
    }
}

/// Runs `gridplan check` on the files, the report beside the grids; returns (status, report, stdout).
/// The run must end in a verdict (0 or 1), never bad input.
fn check_files(b: &Path, h: &Path, g: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let r = g.with_extension("report.json");
    let mut args = vec![
        "check",
        "--grids",
        g.to_str().unwrap(),
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
        "--report",
        r.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    (out.status.code(), report(&r), stdout(&out))
}

fn exact_grids() -> Vec<Value> {
    vec![
        grid("A-G01", "A", rect(0.0, 0.0, 500.0, 1000.0)),
        grid("A-G02", "A", rect(500.0, 0.0, 1000.0, 1000.0)),
        grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
    ]
}

fn within_a_thousandth(got: f64, want: f64) -> bool {
    (got - want).abs() <= want * 1e-3
}

#[test]
fn compliant_grids_exit_zero_and_counts_equal_the_hand_count() {
    let (code, r, text) = Case::new().check(exact_grids());
    assert_eq!(code, 0, "{text}");
    assert_eq!(r["summary"]["compliant"], true);
    let households: Vec<(String, u64)> = r["grids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_string(),
                g["households"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        households,
        vec![
            ("A-G01".into(), 350),
            ("A-G02".into(), 350),
            ("B-G01".into(), 400)
        ]
    );
    assert_eq!(r["grids"][0]["population"], 800);
    assert_eq!(r["grids"][1]["population"], 700);
    assert_eq!(r["grids"][0]["buildings"], 10);
    assert_eq!(r["summary"]["households_total"], 1100);
    assert_eq!(r["summary"]["households_unassigned"], 0);
    assert!(r["summary"]["gap_area_m2"].as_f64().unwrap() < 1.0);
    assert!(text.contains("COMPLIANT"));
}

#[test]
fn a_gap_of_known_area_is_reported_within_a_thousandth() {
    let mut grids = exact_grids();
    grids[1] = grid("A-G02", "A", rect(520.0, 0.0, 1000.0, 1000.0));
    let (code, r, _) = Case::new().check(grids);
    assert_eq!(code, 1);
    let gaps = violations(&r, "gap");
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0]["leaf"], "A");
    assert!(
        within_a_thousandth(gaps[0]["value"].as_f64().unwrap(), 20_000.0),
        "{}",
        gaps[0]
    );
    assert!(within_a_thousandth(
        r["summary"]["gap_area_m2"].as_f64().unwrap(),
        20_000.0
    ));
}

#[test]
fn an_overlap_of_known_area_is_reported_within_a_thousandth() {
    let mut grids = exact_grids();
    grids[0] = grid("A-G01", "A", rect(0.0, 0.0, 530.0, 1000.0));
    let (code, r, _) = Case::new().check(grids);
    assert_eq!(code, 1);
    let overlaps = violations(&r, "overlap");
    assert_eq!(overlaps.len(), 1);
    assert!(
        within_a_thousandth(overlaps[0]["value"].as_f64().unwrap(), 30_000.0),
        "{}",
        overlaps[0]
    );
    assert!(violations(&r, "gap").is_empty());
}

#[test]
fn a_grid_crossing_into_the_next_leaf_is_named_with_the_area_outside() {
    let mut grids = exact_grids();
    grids[1] = grid("A-G02", "A", rect(500.0, 0.0, 1100.0, 1000.0));
    let (code, r, text) = Case::new().check(grids);
    assert_eq!(code, 1);
    let crossing = violations(&r, "crosses_leaf");
    assert_eq!(crossing.len(), 1, "{text}");
    assert_eq!(crossing[0]["grid"], "A-G02");
    assert!(within_a_thousandth(
        crossing[0]["value"].as_f64().unwrap(),
        100_000.0
    ));
    assert!(crossing[0]["message"].as_str().unwrap().contains("into B"));
    assert!(text.contains("A-G02"));
    // The strip it took from B is also covered by B's own grid.
    assert!(within_a_thousandth(
        violations(&r, "overlap")[0]["value"].as_f64().unwrap(),
        100_000.0
    ));
}

#[test]
fn band_status_multi_part_empty_split_and_uncovered_are_reported() {
    let grids = vec![
        // A-left holds 350 but is drawn in two separate parts.
        grid(
            "A-G01",
            "A",
            json!([
                rect(0.0, 0.0, 500.0, 400.0)[0],
                rect(0.0, 400.0, 500.0, 1000.0)[0]
            ]),
        ),
        grid("A-G02", "A", rect(500.0, 0.0, 1000.0, 1000.0)),
        // B in three: west and east hold two buildings (200) each, a thin strip between them none.
        grid("B-G01", "B", rect(1000.0, 0.0, 1400.0, 1000.0)),
        grid("B-G02", "B", rect(1400.0, 0.0, 1450.0, 1000.0)),
        grid("B-G03", "B", rect(1450.0, 0.0, 2000.0, 1000.0)),
    ];
    // Make A-G01 a real MultiPolygon with a gap between its parts.
    let mut grids = grids;
    grids[0]["geometry"] = json!({"type": "MultiPolygon", "coordinates": [rect(0.0, 0.0, 500.0, 400.0), rect(0.0, 420.0, 500.0, 1000.0)]});
    let (code, r, _) = Case::new().check(grids);
    assert_eq!(code, 1);
    assert_eq!(violations(&r, "multi_part").len(), 1);
    let under: Vec<&str> = violations(&r, "band_under")
        .iter()
        .map(|v| v["grid"].as_str().unwrap())
        .collect();
    assert_eq!(under, vec!["B-G01", "B-G03"]);
    assert_eq!(violations(&r, "empty_grid")[0]["grid"], "B-G02");
    // b0..b3 sit at x = 1200, 1350, 1500, 1650.
    assert_eq!(r["grids"][2]["households"], 200);
    assert_eq!(r["grids"][3]["households"], 0);
    assert_eq!(r["grids"][4]["households"], 200);
    assert_eq!(r["grids"][0]["parts"], 2);
    // The gap between A-G01's two parts is a gap of leaf A: 20 m × 500 m.
    assert!(within_a_thousandth(
        violations(&r, "gap")[0]["value"].as_f64().unwrap(),
        10_000.0
    ));
}

#[test]
fn a_building_split_across_grids_and_households_in_no_grid_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let b = write(d.path(), "b.geojson", &two_leaves());
    let mut h = hand_households();
    // Building "a0" gets a second entrance east of the cut, inside A-G02.
    h["features"].as_array_mut().unwrap().push(point_feature(
        json!({"households": 5, "building": "a0", "population": 9}),
        600.0,
        900.0,
    ));
    let h = write(d.path(), "h.geojson", &h);
    let g = write(
        d.path(),
        "g.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 500.0, 1000.0)),
            grid("A-G02", "A", rect(500.0, 0.0, 1000.0, 1000.0)),
        ]),
    );
    let (code, r, _) = check_files(&b, &h, &g, &[]);
    assert_eq!(code, Some(1));
    let split = violations(&r, "split_building");
    assert_eq!(split.len(), 1);
    assert!(split[0]["message"].as_str().unwrap().contains("\"a0\""));
    assert_eq!(violations(&r, "leaf_without_grid")[0]["leaf"], "B");
    assert_eq!(
        violations(&r, "households_outside_grids")[0]["value"],
        400.0
    );
    assert_eq!(r["summary"]["households_unassigned"], 400);
}

#[test]
fn population_alert_and_unknown_population_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let b = write(d.path(), "b.geojson", &two_leaves());
    let h = write(
        d.path(),
        "h.geojson",
        &collection_4549(vec![
            point_feature(json!({"households": 400, "population": 2100}), 100.0, 100.0),
            point_feature(json!({"households": 400}), 1500.0, 100.0),
        ]),
    );
    let g = write(
        d.path(),
        "g.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
            grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
        ]),
    );
    let (code, r, _) = check_files(&b, &h, &g, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(violations(&r, "population_alert")[0]["grid"], "A-G01");
    assert_eq!(r["summary"]["population_known"], false);
    assert_eq!(r["grids"][1]["population"], Value::Null);
    assert!(r["warnings"].to_string().contains("population"));
}

#[test]
fn infeasible_leaves_are_explained() {
    let d = tempfile::tempdir().unwrap();
    let b = write(d.path(), "b.geojson", &two_leaves());
    let h = write(
        d.path(),
        "h.geojson",
        &collection_4549(vec![
            point_feature(json!({"households": 550}), 100.0, 100.0),
            point_feature(json!({"households": 120}), 1500.0, 100.0),
        ]),
    );
    let g = write(
        d.path(),
        "g.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
            grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
        ]),
    );
    let (code, r, _) = check_files(&b, &h, &g, &[]);
    assert_eq!(code, Some(1));
    let inf = r["summary"]["leaves_infeasible"].as_array().unwrap();
    assert_eq!(inf.len(), 2);
    assert!(inf[0]["why"].as_str().unwrap().contains("no whole number"));
    assert!(
        inf[1]["why"]
            .as_str()
            .unwrap()
            .contains("fewer than one grid")
    );
    assert_eq!(r["grids"][0]["status"], "over");
    assert_eq!(r["grids"][1]["status"], "under");
}

#[test]
fn rules_file_changes_the_band() {
    let d = tempfile::tempdir().unwrap();
    let rules = d.path().join("rules.toml");
    std::fs::write(&rules, "[kinds.urban]\nmin_households = 360\n").unwrap();
    let b = write(d.path(), "b.geojson", &two_leaves());
    let h = write(d.path(), "h.geojson", &hand_households());
    let g = write(d.path(), "g.geojson", &collection_4549(exact_grids()));
    let (code, r, _) = check_files(&b, &h, &g, &["--rules", rules.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert_eq!(violations(&r, "band_under").len(), 2);
    let printed = run(&["rules", "--rules", rules.to_str().unwrap()]);
    assert!(stdout(&printed).contains("min_households = 360"));
}

#[test]
fn data_problems_that_need_not_stop_the_work_are_warnings() {
    let d = tempfile::tempdir().unwrap();
    let mut b = two_leaves();
    // B pokes 50 m out of its street, and overlaps A by 10 m.
    b["features"][2]["geometry"]["coordinates"] = rect(990.0, 0.0, 2050.0, 1000.0);
    let b = write(d.path(), "b.geojson", &b);
    let mut h = hand_households();
    let extra = h["features"].as_array_mut().unwrap();
    // Outside every leaf; inside both A and B; naming a community that does not exist; 3-D coordinates.
    extra.push(point_feature(json!({"households": 2}), 5000.0, 5000.0));
    extra.push(point_feature(json!({"households": 3}), 995.0, 50.0));
    extra.push(point_feature(
        json!({"households": 4, "community": "ZZZ"}),
        100.0,
        100.0,
    ));
    extra.push(json!({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [X0 + 1700.0, Y0 + 900.0, 12.5]}}));
    let h = write(d.path(), "h.geojson", &h);
    let g = write(d.path(), "g.geojson", &collection_4549(exact_grids()));
    let (code, r, _) = check_files(&b, &h, &g, &[]);
    assert_eq!(code, Some(1));
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("pokes out of its parent"), "{warnings}");
    assert!(
        warnings.contains("1 household point(s) holding 2 household(s) lie outside every leaf"),
        "{warnings}"
    );
    assert!(warnings.contains("overlapping leaves"), "{warnings}");
    assert!(warnings.contains("\\\"ZZZ\\\""), "{warnings}");
    assert_eq!(r["summary"]["households_outside_leaves"]["households"], 2);
    assert_eq!(r["summary"]["households_total"], 1100 + 2 + 3 + 4 + 1);
    // Nothing dropped: every household is in a grid or counted as in none.
    assert_eq!(
        r["summary"]["households_assigned"].as_u64().unwrap()
            + r["summary"]["households_unassigned"].as_u64().unwrap(),
        1110
    );
}

/// What `check` prints follows the locale: Chinese under `zh_CN`, English otherwise; the report file
/// is the same either way.
#[test]
fn the_terminal_speaks_the_locale_and_the_report_does_not_change() {
    let d = tempfile::tempdir().unwrap();
    let b = write(d.path(), "boundaries.geojson", &two_leaves());
    let h = write(d.path(), "households.geojson", &hand_households());
    // One grid too many in A: both under the band.
    let mut grids = exact_grids();
    grids[0] = grid("A-G01", "A", rect(0.0, 0.0, 250.0, 1000.0));
    grids.push(grid("A-G03", "A", rect(250.0, 0.0, 500.0, 1000.0)));
    let g = write(d.path(), "grids.geojson", &collection_4549(grids));
    let mut reports = Vec::new();
    let mut outs = Vec::new();
    for lang in ["zh_CN.UTF-8", "en_US.UTF-8"] {
        let r = d.path().join(format!("{lang}.json"));
        let out = bin()
            .env("LANG", lang)
            .args(["check", "--grids", g.to_str().unwrap(), "--households"])
            .args([h.to_str().unwrap(), "--boundaries", b.to_str().unwrap()])
            .args(["--report", r.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        outs.push(stdout(&out));
        reports.push(std::fs::read_to_string(&r).unwrap());
    }
    let (zh, en) = (&outs[0], &outs[1]);
    assert!(zh.contains("gridplan check：不合规（违规"), "{zh}");
    assert!(zh.contains("网格（合格 / 不足 / 超标）"), "{zh}");
    assert!(zh.contains("户数不足（band_under）"), "{zh}");
    assert!(zh.contains("报告已写入"), "{zh}");
    assert!(!zh.contains("NOT COMPLIANT"), "{zh}");
    assert!(en.contains("gridplan check: NOT COMPLIANT"), "{en}");
    assert!(
        en.contains("band_under") && !en.contains("户数不足"),
        "{en}"
    );
    assert_eq!(reports[0], reports[1]);
}
