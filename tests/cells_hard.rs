//! Hard leaves straight cuts cannot draw within the band (tight clusters of towers, a ring-shaped
//! village, an enclave): `gridplan partition` with no ground layers hands them to the cells engine, and
//! `gridplan check` of its output finds every grid in the band, one polygon each, no building split, no
//! gap or overlap.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};

/// A small seeded generator (the tests must not depend on the library's).
struct Lcg(u64);
impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn ring(points: &[(f64, f64)]) -> Vec<Value> {
    let mut r: Vec<Value> = points
        .iter()
        .map(|(x, y)| json!([X0 + x, Y0 + y]))
        .collect();
    r.push(r[0].clone());
    r
}

fn circle(cx: f64, cy: f64, r: f64, n: usize, clockwise: bool) -> Vec<Value> {
    let mut pts: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            (cx + r * a.cos(), cy + r * a.sin())
        })
        .collect();
    if clockwise {
        pts.reverse();
    }
    ring(&pts)
}

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Value> {
    ring(&[(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

fn hole(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<Value> {
    ring(&[(x0, y0), (x0, y1), (x1, y1), (x1, y0)])
}

/// `n` households of building `b` at one point.
fn building(b: &str, n: usize, x: f64, y: f64, out: &mut Vec<Value>) {
    for _ in 0..n {
        out.push(point_feature(json!({"building": b, "population": 2}), x, y));
    }
}

/// A tower of `n` households with two entrances (单元) 12 m apart along direction `a`.
fn tower(b: &str, n: usize, x: f64, y: f64, a: f64, out: &mut Vec<Value>) {
    for i in 0..n {
        let s = if i % 2 == 0 { -6.0 } else { 6.0 };
        out.push(point_feature(
            json!({"building": b, "entrance": 1 + i % 2, "population": 2}),
            x + s * a.cos(),
            y + s * a.sin(),
        ));
    }
}

struct Run {
    _dir: tempfile::TempDir,
    report: Value,
    check: Value,
    grids: Value,
}

fn run_case(leaves: Vec<Value>, households: Vec<Value>) -> Run {
    run_case_on(leaves, households, None)
}

/// Partitions and checks, with `blocks` (street blocks) given to both when there are some.
fn run_case_on(leaves: Vec<Value>, households: Vec<Value>, blocks: Option<Vec<Value>>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if let Ok(keep) = std::env::var("GRIDPLAN_KEEP_FIXTURE") {
        // For comparing engines by hand: the inputs are copied there.
        let _ = std::fs::create_dir_all(&keep);
        write(
            std::path::Path::new(&keep),
            "boundaries.geojson",
            &collection_4549(leaves.clone()),
        );
        write(
            std::path::Path::new(&keep),
            "households.geojson",
            &collection_4549(households.clone()),
        );
    }
    let b = write(d, "boundaries.geojson", &collection_4549(leaves));
    let h = write(d, "households.geojson", &collection_4549(households));
    let out = d.join("grids.geojson");
    let rep = d.join("report.json");
    let blocks = blocks.map(|bl| write(d, "blocks.geojson", &collection_4549(bl)));
    let with_blocks: Vec<&str> = match &blocks {
        Some(p) => vec!["--blocks", p.to_str().unwrap()],
        None => vec![],
    };
    let mut args = vec![
        "partition",
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--report",
        rep.to_str().unwrap(),
    ];
    args.extend(&with_blocks);
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let crep = d.join("check.json");
    let mut args = vec![
        "check",
        "--grids",
        out.to_str().unwrap(),
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
        "--report",
        crep.to_str().unwrap(),
    ];
    args.extend(&with_blocks);
    let c = run(&args);
    assert!(!stderr(&c).contains("panicked"), "{}", stderr(&c));
    assert!(c.status.code().is_some_and(|c| c < 2), "{}", stderr(&c));
    Run {
        report: report(&rep),
        check: report(&crep),
        grids: report(&out),
        _dir: dir,
    }
}

/// Every grid of `leaf` in the band and one polygon; the check of the output finds nothing wrong.
fn assert_drawn(r: &Run, leaf: &str, grids: std::ops::RangeInclusive<usize>) {
    let mine: Vec<&Value> = r.grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["properties"]["community"] == leaf)
        .collect();
    assert!(
        grids.contains(&mine.len()),
        "{leaf}: {} grids, want {grids:?}",
        mine.len()
    );
    for g in &mine {
        assert_eq!(
            g["properties"]["status"], "ok",
            "{leaf}: {}",
            g["properties"]
        );
    }
    let plan = r.report["leaf_plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["leaf"] == leaf)
        .unwrap();
    assert_eq!(plan["engine"], "cells", "{plan}");
    assert!(plan.get("infeasible").is_none(), "{plan}");
    assert_eq!(
        r.check["summary"]["compliant"], true,
        "{}",
        r.check["violations"]
    );
}

fn urban(code: &str, rings: Vec<Vec<Value>>) -> Value {
    polygon_feature(json!({"code": code, "kind": "urban"}), json!(rings))
}

#[test]
fn twenty_towers_within_sixty_metres() {
    // 20 high-rise buildings scattered within a 60 m circle, 1,400 households in all (40 to 100 each).
    let mut rng = Lcg(12);
    // In pairs of 70 − d and 70 + d households, d up to 30.
    let sizes: Vec<usize> = (0..10)
        .flat_map(|_| {
            let d = (rng.unit() * 30.0) as usize;
            [70 - d, 70 + d]
        })
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), 1400);
    let mut h = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let a = rng.unit() * std::f64::consts::TAU;
        let d = 30.0 * rng.unit().sqrt();
        tower(
            &format!("T{i}"),
            n,
            450.0 + d * a.cos(),
            430.0 + d * a.sin(),
            rng.unit() * 3.2,
            &mut h,
        );
    }
    let r = run_case(
        vec![urban("TOWERS", vec![square(0.0, 0.0, 900.0, 900.0)])],
        h,
    );
    assert_drawn(&r, "TOWERS", 3..=4);
}

#[test]
fn a_leaf_of_1573_households_becomes_four_or_five_grids() {
    // Most households in a tight cluster of towers, a few low-rise houses around.
    let mut rng = Lcg(5);
    let mut h = Vec::new();
    let mut left = 1573usize;
    for i in 0..16 {
        let n = 75;
        let a = rng.unit() * std::f64::consts::TAU;
        let d = 25.0 * rng.unit().sqrt();
        let turn = rng.unit() * 3.2;
        tower(
            &format!("T{i}"),
            n,
            300.0 + d * a.cos(),
            600.0 + d * a.sin(),
            turn,
            &mut h,
        );
        left -= n;
    }
    for i in 0..left {
        building(
            &format!("L{i}"),
            1,
            100.0 + 700.0 * rng.unit(),
            100.0 + 300.0 * rng.unit(),
            &mut h,
        );
    }
    let r = run_case(
        vec![urban("C1573", vec![square(0.0, 0.0, 900.0, 900.0)])],
        h,
    );
    assert_drawn(&r, "C1573", 4..=5);
}

#[test]
fn a_ring_shaped_village() {
    // A village around a lake: the land is an annulus, houses all round it.
    let mut rng = Lcg(9);
    let mut h = Vec::new();
    for i in 0..1250 {
        let a = rng.unit() * std::f64::consts::TAU;
        let d = 720.0 + 160.0 * rng.unit();
        building(
            &format!("H{i}"),
            1,
            1000.0 + d * a.cos(),
            1000.0 + d * a.sin(),
            &mut h,
        );
    }
    let village = polygon_feature(
        json!({"code": "RING", "kind": "rural"}),
        json!([
            circle(1000.0, 1000.0, 950.0, 48, false),
            circle(1000.0, 1000.0, 650.0, 36, true)
        ]),
    );
    let r = run_case(vec![village], h);
    let n = r.grids["features"].as_array().unwrap().len();
    assert!((5..=6).contains(&n), "{n}");
    for g in r.grids["features"].as_array().unwrap() {
        assert_eq!(g["properties"]["status"], "ok", "{}", g["properties"]);
        assert_eq!(g["geometry"]["type"], "Polygon", "{}", g["properties"]);
    }
    assert_eq!(
        r.check["summary"]["compliant"], true,
        "{}",
        r.check["violations"]
    );
}

#[test]
fn an_enclave_with_a_tower_cluster() {
    // E: a main part and an enclave inside F (F has it as a hole); the enclave holds a cluster of
    // towers, the main part low-rise houses.
    let mut h = Vec::new();
    let mut rng = Lcg(3);
    for i in 0..9 {
        let (x, y, turn) = (
            1470.0 + 60.0 * rng.unit(),
            470.0 + 60.0 * rng.unit(),
            rng.unit() * 3.2,
        );
        tower(&format!("ET{i}"), 80, x, y, turn, &mut h);
    }
    for i in 0..500 {
        building(
            &format!("E{i}"),
            1,
            50.0 + 900.0 * rng.unit(),
            50.0 + 900.0 * rng.unit(),
            &mut h,
        );
    }
    for i in 0..700 {
        let (x, y) = (1050.0 + 900.0 * rng.unit(), 50.0 + 900.0 * rng.unit());
        if (1380.0..1620.0).contains(&x) && (380.0..620.0).contains(&y) {
            continue;
        }
        building(&format!("F{i}"), 1, x, y, &mut h);
    }
    let e = json!({"type": "Feature", "properties": {"code": "E", "kind": "urban"},
        "geometry": {"type": "MultiPolygon", "coordinates": [
            [square(0.0, 0.0, 1000.0, 1000.0)],
            [square(1400.0, 400.0, 1600.0, 600.0)]]}});
    let f = urban(
        "F",
        vec![
            square(1000.0, 0.0, 2000.0, 1000.0),
            hole(1400.0, 400.0, 1600.0, 600.0),
        ],
    );
    let r = run_case(vec![e, f], h);
    for g in r.grids["features"].as_array().unwrap() {
        assert_eq!(g["properties"]["status"], "ok", "{}", g["properties"]);
    }
    assert_eq!(
        r.check["summary"]["compliant"], true,
        "{}",
        r.check["violations"]
    );
}

/// Street blocks: a lattice of `step`-metre squares over `[x0, x1] × [y0, y1]`, coded `K{i}`.
fn lattice(x0: f64, y0: f64, x1: f64, y1: f64, step: f64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut y = y0;
    while y < y1 - 1e-9 {
        let mut x = x0;
        while x < x1 - 1e-9 {
            let code = format!("K{}", out.len());
            out.push(polygon_feature(
                json!({"code": code}),
                json!([square(x, y, x + step, y + step)]),
            ));
            x += step;
        }
        y += step;
    }
    out
}

/// With blocks: every grid in the band (each leaf here can meet it), one polygon each, no gap or
/// overlap, and no block cut between grids but the oversize ones the partition reported as divided.
fn assert_on_blocks(r: &Run, step: f64) {
    let divided: Vec<String> = r.report["leaf_plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["divided_cells"].as_array().cloned().unwrap_or_default())
        .map(|d| d["cell"].as_str().unwrap().to_string())
        .collect();
    for g in r.grids["features"].as_array().unwrap() {
        assert_eq!(g["properties"]["status"], "ok", "{}", g["properties"]);
    }
    for l in r.report["leaf_plans"].as_array().unwrap() {
        assert_eq!(l["engine"], "cells", "{l}");
        assert!(l.get("infeasible").is_none(), "{l}");
    }
    for v in r.check["violations"].as_array().unwrap() {
        assert_eq!(v["rule"], "split_block", "{v}");
        let block = v["message"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap();
        assert!(
            divided.iter().any(|d| d.split(", ").any(|b| b == block)),
            "{block} was cut and not reported: {}",
            v["message"]
        );
    }
    // One polygon per grid: `check` counts a grid in two parts unless its parts lie in distinct parts
    // of a multi-part leaf (the enclave).
    let s = &r.check["summary"];
    assert_eq!(s["multi_part_grids"], 0, "{s}");
    assert!(s["gap_area_m2"].as_f64().unwrap() < 1.0, "{s}");
    assert!(s["overlap_area_m2"].as_f64().unwrap() < 1.0, "{s}");
    assert_eq!(s["grids_crossing_leaf"], 0, "{s}");
    assert_eq!(s["households_unassigned"], 0, "{s}");
    // Inner grid edges on block edges (lattice lines or a leaf's outline), but inside the divided
    // blocks: the length off the blocks' edges is at most what cutting each divided cell into its
    // pieces can take, (pieces - 1) straight cuts across each of its blocks.
    let ground = &r.report["ground"];
    let off = ground["inner_edge_m"].as_f64().unwrap()
        - ground["inner_edge_on_ground_m"].as_f64().unwrap();
    let allowed: f64 = r.report["leaf_plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| l["divided_cells"].as_array().cloned().unwrap_or_default())
        .map(|d| {
            let blocks = d["cell"].as_str().unwrap().split(", ").count() as f64;
            let pieces = d["pieces"].as_array().unwrap().len() as f64;
            (pieces - 1.0) * blocks * step * std::f64::consts::SQRT_2
        })
        .sum();
    // (and 0.5 % for where clipped blocks meet a curved outline in slivers).
    let slack = 0.005 * ground["inner_edge_m"].as_f64().unwrap();
    assert!(
        off <= allowed + slack,
        "{off:.0} m off the blocks, {allowed:.0} m allowed: {ground}"
    );
}

#[test]
fn an_enclave_with_a_tower_cluster_on_street_blocks() {
    // The enclave case again on 50 m street blocks: the towers (720 households within 60 m) fill a
    // few blocks, one of which may hold more than a grid's maximum and is divided (and reported).
    let mut h = Vec::new();
    let mut rng = Lcg(3);
    for i in 0..9 {
        let (x, y, turn) = (
            1470.0 + 60.0 * rng.unit(),
            470.0 + 60.0 * rng.unit(),
            rng.unit() * 3.2,
        );
        tower(&format!("ET{i}"), 80, x, y, turn, &mut h);
    }
    for i in 0..500 {
        let (x, y) = (50.0 + 900.0 * rng.unit(), 50.0 + 900.0 * rng.unit());
        building(&format!("E{i}"), 1, x, y, &mut h);
    }
    for i in 0..700 {
        let (x, y) = (1050.0 + 900.0 * rng.unit(), 50.0 + 900.0 * rng.unit());
        if (1380.0..1620.0).contains(&x) && (380.0..620.0).contains(&y) {
            continue;
        }
        building(&format!("F{i}"), 1, x, y, &mut h);
    }
    let e = json!({"type": "Feature", "properties": {"code": "E", "kind": "urban"},
        "geometry": {"type": "MultiPolygon", "coordinates": [
            [square(0.0, 0.0, 1000.0, 1000.0)],
            [square(1400.0, 400.0, 1600.0, 600.0)]]}});
    let f = urban(
        "F",
        vec![
            square(1000.0, 0.0, 2000.0, 1000.0),
            hole(1400.0, 400.0, 1600.0, 600.0),
        ],
    );
    let r = run_case_on(vec![e, f], h, Some(lattice(0.0, 0.0, 2000.0, 1000.0, 50.0)));
    assert_on_blocks(&r, 50.0);
}

#[test]
fn a_ring_shaped_village_on_street_blocks() {
    // The village around a lake on 60 m blocks, clipped by the lake shore and the village's edge.
    let mut rng = Lcg(9);
    let mut h = Vec::new();
    for i in 0..1250 {
        let a = rng.unit() * std::f64::consts::TAU;
        let d = 720.0 + 160.0 * rng.unit();
        building(
            &format!("H{i}"),
            1,
            1000.0 + d * a.cos(),
            1000.0 + d * a.sin(),
            &mut h,
        );
    }
    let village = polygon_feature(
        json!({"code": "RING", "kind": "rural"}),
        json!([
            circle(1000.0, 1000.0, 950.0, 48, false),
            circle(1000.0, 1000.0, 650.0, 36, true)
        ]),
    );
    let r = run_case_on(
        vec![village],
        h,
        Some(lattice(20.0, 20.0, 1980.0, 1980.0, 60.0)),
    );
    let n = r.grids["features"].as_array().unwrap().len();
    assert!((5..=6).contains(&n), "{n}");
    for g in r.grids["features"].as_array().unwrap() {
        assert_eq!(g["geometry"]["type"], "Polygon", "{}", g["properties"]);
    }
    assert_on_blocks(&r, 60.0);
}

#[test]
fn a_tract_whose_whole_blocks_cannot_meet_the_band_is_said_so_and_left_out_of_that_figure() {
    // Seven street blocks in a row (a real census tract's counts): 1,031 households, so only three
    // grids fit 300–500; but the block of 497 needs a grid of its own and leaves 534 for two grids.
    // Blocks kept whole cannot meet the band, the plan says so (proven), and the figure "where whole
    // cells can reach it" leaves the leaf out; the next leaf is drawn in the band.
    let counts = [120, 497, 110, 100, 90, 60, 54];
    let mut h = Vec::new();
    let mut blocks = Vec::new();
    for (i, &n) in counts.iter().enumerate() {
        let x0 = 100.0 * i as f64;
        blocks.push(polygon_feature(
            json!({"code": format!("T-K{i}")}),
            json!([square(x0, 0.0, x0 + 100.0, 100.0)]),
        ));
        building(&format!("T{i}"), n, x0 + 50.0, 50.0, &mut h);
    }
    // A second leaf, north of the first, of eight blocks of 100 that meet the band easily.
    for i in 0..8 {
        let x0 = 100.0 * i as f64;
        blocks.push(polygon_feature(
            json!({"code": format!("U-K{i}")}),
            json!([square(x0, 100.0, x0 + 100.0, 200.0)]),
        ));
        building(&format!("U{i}"), 100, x0 + 50.0, 150.0, &mut h);
    }
    blocks.push(polygon_feature(
        json!({"code": "U-K8"}),
        json!([square(700.0, 0.0, 800.0, 100.0)]),
    ));
    let t = urban("T", vec![square(0.0, 0.0, 700.0, 100.0)]);
    let u = urban(
        "U",
        vec![ring(&[
            (0.0, 100.0),
            (700.0, 100.0),
            (700.0, 0.0),
            (800.0, 0.0),
            (800.0, 200.0),
            (0.0, 200.0),
            (0.0, 100.0),
        ])],
    );
    let r = run_case_on(vec![t, u], h, Some(blocks));
    let plan = |leaf: &str| {
        r.report["leaf_plans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["leaf"] == leaf)
            .unwrap()
            .clone()
    };
    let t = plan("T");
    assert_eq!(t["whole_cells_cannot_meet"], true, "{t}");
    assert!(
        t["infeasible"]
            .as_str()
            .unwrap()
            .contains("no grouping of whole cells"),
        "{t}"
    );
    assert!(plan("U").get("whole_cells_cannot_meet").is_none());
    let q = &r.report["quality"];
    let t_grids = t["grids"].as_u64().unwrap();
    assert_eq!(
        q["grids_where_whole_cells_reach"].as_u64().unwrap() + t_grids,
        q["grids_where_band_reachable"].as_u64().unwrap(),
        "{q}"
    );
    assert_eq!(q["share_in_band_where_whole_cells_reach"], 1.0, "{q}");
    assert!(
        q["share_in_band_where_reachable"].as_f64().unwrap() < 1.0,
        "{q}"
    );
    // No block is cut: the band was not bought by cutting the 497.
    assert!(
        r.report["ground"]["populated_blocks_split"] == 0,
        "{}",
        r.report["ground"]
    );
}
