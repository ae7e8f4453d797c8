//! Standard grid codes, numbering across re-draws, grid records and dedicated grids, through the
//! binary.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

const LEAF: &str = "320116001001";

/// One urban community [0,1200]×[0,800] in its street.
fn boundaries() -> Value {
    collection_4549(vec![
        polygon_feature(
            json!({"code": "320116001", "level": "street", "kind": "urban"}),
            rect(0.0, 0.0, 1200.0, 800.0),
        ),
        polygon_feature(
            json!({"code": LEAF, "parent": "320116001"}),
            rect(0.0, 0.0, 1200.0, 800.0),
        ),
    ])
}

/// Buildings of `per` households on a 6 × 4 lattice (24 buildings), west of `x_max`.
fn households(per: u32, x_max: f64) -> Value {
    let mut f = Vec::new();
    for i in 0..6 {
        for j in 0..4 {
            let x = 100.0 + 200.0 * i as f64;
            if x > x_max {
                continue;
            }
            f.push(point_feature(
                json!({"households": per, "building": format!("b{i}-{j}")}),
                x,
                100.0 + 200.0 * j as f64,
            ));
        }
    }
    collection_4549(f)
}

fn grids(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("grids written")).expect("JSON")
}

fn ids(layer: &Value) -> Vec<String> {
    layer["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| f["properties"]["id"].as_str().expect("id").to_string())
        .collect()
}

fn number(id: &str) -> u32 {
    assert_eq!(id.len(), 15, "{id}");
    assert!(id.starts_with(LEAF), "{id}");
    id[12..].parse().expect("3 digits")
}

fn partition(dir: &Path, hh: &Value, out: &str, extra: &[&str]) -> std::process::Output {
    let b = write(dir, "b.geojson", &boundaries());
    let h = write(dir, &format!("h-{out}"), hh);
    let out = dir.join(out);
    let mut args = vec![
        "partition",
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn grids_get_standard_codes_numbered_in_reading_order() {
    let d = tempfile::tempdir().unwrap();
    // 24 buildings × 50 = 1,200 households: three grids of 400.
    let o = partition(
        d.path(),
        &households(50, 2000.0),
        "g.geojson",
        &["--date", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let layer = grids(&d.path().join("g.geojson"));
    let got = ids(&layer);
    let mut numbers: Vec<u32> = got.iter().map(|i| number(i)).collect();
    numbers.sort();
    assert_eq!(numbers, vec![1, 2, 3], "{got:?}");
    for f in layer["features"].as_array().unwrap() {
        let p = &f["properties"];
        assert_eq!(p["kind"], "basic");
        assert_eq!(p["valid_from"], "2026-01-01");
        assert_eq!(p["valid_to"], Value::Null);
        assert_eq!(p["responsible"], LEAF);
        assert!(p["name"].as_str().unwrap().contains("网格"), "{p}");
    }
    // The legacy form on request.
    let o = partition(
        d.path(),
        &households(50, 2000.0),
        "l.geojson",
        &["--grid-ids", "legacy"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let legacy = ids(&grids(&d.path().join("l.geojson")));
    let mut want: Vec<String> = (1..=3).map(|n| format!("{LEAF}-G{n:02}")).collect();
    let mut legacy_sorted = legacy.clone();
    legacy_sorted.sort();
    want.sort();
    assert_eq!(legacy_sorted, want);
    // check accepts both forms.
    for f in ["g.geojson", "l.geojson"] {
        let h = write(d.path(), "hc.geojson", &households(50, 2000.0));
        let r = d.path().join(format!("r-{f}.json"));
        let o = run(&[
            "check",
            "--grids",
            d.path().join(f).to_str().unwrap(),
            "--households",
            h.to_str().unwrap(),
            "--boundaries",
            d.path().join("b.geojson").to_str().unwrap(),
            "--report",
            r.to_str().unwrap(),
        ]);
        assert!(o.status.code().is_some(), "{}", stderr(&o));
        let r = report(&r);
        assert_eq!(r["summary"]["malformed_codes"], 0, "{f}");
        assert_eq!(r["summary"]["duplicate_codes"], 0, "{f}");
    }
}

#[test]
fn check_reports_duplicate_and_malformed_codes() {
    let d = tempfile::tempdir().unwrap();
    let b = write(d.path(), "b.geojson", &boundaries());
    let h = write(d.path(), "h.geojson", &households(50, 2000.0));
    let g = write(
        d.path(),
        "g.geojson",
        &collection_4549(vec![
            grid("320116001001001", LEAF, rect(0.0, 0.0, 400.0, 800.0)),
            grid("320116001001-G01", LEAF, rect(400.0, 0.0, 800.0, 800.0)),
            grid("320116001001000", LEAF, rect(800.0, 0.0, 1200.0, 800.0)),
        ]),
    );
    let r = d.path().join("r.json");
    let o = run(&[
        "check",
        "--grids",
        g.to_str().unwrap(),
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        b.to_str().unwrap(),
        "--report",
        r.to_str().unwrap(),
    ]);
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    let r = report(&r);
    let dup = violations(&r, "duplicate_code");
    assert_eq!(dup.len(), 1, "{r}");
    assert!(
        dup[0]["message"]
            .as_str()
            .unwrap()
            .contains("320116001001-G01")
    );
    assert_eq!(violations(&r, "malformed_grid_code").len(), 1, "{r}");
    assert_eq!(r["summary"]["duplicate_codes"], 1);
}

#[test]
fn numbers_survive_two_redraws_and_retired_numbers_are_never_reused() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    // 1: 1,200 households → 3 grids.
    let o = partition(
        d.path(),
        &households(50, 2000.0),
        "g1.geojson",
        &["--date", "2026-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let g1 = ids(&grids(Path::new(&p("g1.geojson"))));
    // 2: twice the households → more grids; kept grids keep their number, new ones come after 3.
    let prev1 = p("g1.geojson");
    let o = partition(
        d.path(),
        &households(100, 2000.0),
        "g2.geojson",
        &["--previous", &prev1, "--date", "2026-06-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let l2 = grids(Path::new(&p("g2.geojson")));
    let g2 = ids(&l2);
    assert!(g2.len() > g1.len(), "{g1:?} → {g2:?}");
    let issued1: BTreeSet<u32> = g1.iter().map(|i| number(i)).collect();
    for id in &g2 {
        if !g1.contains(id) {
            assert!(number(id) > 3, "a new grid takes a number after 3: {id}");
        }
    }
    // 3: the east half empties → fewer grids; new numbers come after every number issued so far.
    let prev2 = p("g2.geojson");
    let o = partition(
        d.path(),
        &households(100, 500.0),
        "g3.geojson",
        &["--previous", &prev2, "--date", "2027-01-01"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let l3 = grids(Path::new(&p("g3.geojson")));
    let g3 = ids(&l3);
    let issued: BTreeSet<u32> = issued1
        .iter()
        .copied()
        .chain(g2.iter().map(|i| number(i)))
        .collect();
    let highest = *issued.iter().max().unwrap();
    for id in &g3 {
        if !g2.contains(id) {
            assert!(
                number(id) > highest,
                "{id} reuses a number (issued so far {issued:?})"
            );
        }
    }
    // Some grids of g2 are gone from g3 (their numbers retired, checked above never to come back).
    assert!(g2.iter().any(|i| !g3.contains(i)), "{g2:?} → {g3:?}");
    assert!(l3["features"].is_array());
}

#[test]
fn a_school_becomes_a_dedicated_grid_inside_its_community() {
    let d = tempfile::tempdir().unwrap();
    // The school [900,1200]×[500,800] in the north-east corner, no households in it.
    let school = write(
        d.path(),
        "s.geojson",
        &collection_4549(vec![polygon_feature(
            json!({"name": "第一小学", "kind": "school"}),
            rect(910.0, 510.0, 1190.0, 790.0),
        )]),
    );
    let mut hh = households(50, 2000.0);
    hh["features"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["properties"]["building"] != "b5-3");
    let s = school.to_str().unwrap().to_string();
    let r = d.path().join("r.json");
    let rs = r.to_str().unwrap().to_string();
    let o = partition(
        d.path(),
        &hh,
        "g.geojson",
        &["--dedicated", &s, "--report", &rs],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let layer = grids(&d.path().join("g.geojson"));
    let feats = layer["features"].as_array().unwrap();
    let dedicated: Vec<&Value> = feats
        .iter()
        .filter(|f| f["properties"]["kind"] == "dedicated")
        .collect();
    assert_eq!(dedicated.len(), 1, "{layer}");
    let p = &dedicated[0]["properties"];
    assert_eq!(p["name"], "第一小学");
    assert_eq!(p["community"], LEAF);
    assert_eq!(p["status"], "exempt");
    assert!(
        feats
            .iter()
            .filter(|f| f["properties"]["kind"] == "basic")
            .count()
            >= 2
    );
    // check of the written grids: compliant, the dedicated grid exempt from the band.
    let h = write(d.path(), "hc.geojson", &hh);
    let rc = d.path().join("rc.json");
    let o = run(&[
        "check",
        "--grids",
        d.path().join("g.geojson").to_str().unwrap(),
        "--households",
        h.to_str().unwrap(),
        "--boundaries",
        d.path().join("b.geojson").to_str().unwrap(),
        "--report",
        rc.to_str().unwrap(),
    ]);
    let rc = report(&rc);
    assert!(o.status.success(), "{} {rc}", stderr(&o));
    assert_eq!(rc["summary"]["dedicated_grids"], 1);
    assert_eq!(rc["summary"]["compliant"], true, "{rc}");
}
