//! Re-drawing on the ground layers (`partition --previous --blocks --barriers`) after boundary
//! changes on a generated district with street blocks and roads: two neighbouring communities merge
//! and a third takes a new code. The re-draw keeps whole cells: unchanged leaves keep their grids
//! exactly; the re-drawn land is unions of whole blocks (none cut but those reported divided), in the
//! band wherever a whole number fits, one polygon per grid; the file is valid and `check --blocks`
//! accepts it.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use geo::{BooleanOps, MultiPolygon};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn shape(f: &Value) -> MultiPolygon {
    let g = &f["geometry"];
    gridplan::input::geom::areal(g["type"].as_str().unwrap(), &g["coordinates"]).unwrap()
}

fn partition(dir: &Path, out: &str, rep: &str, boundaries: &str, previous: Option<&str>) {
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let mut args = vec![
        "partition".to_string(),
        "--households".into(),
        p("households.geojson"),
        "--boundaries".into(),
        p(boundaries),
        "--blocks".into(),
        p("blocks.geojson"),
        "--barriers".into(),
        p("barriers.geojson"),
        "--out".into(),
        p(out),
        "--report".into(),
        p(rep),
    ];
    if let Some(prev) = previous {
        args.extend(["--previous".to_string(), p(prev)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A MultiPolygon as a GeoJSON geometry.
fn geometry(mp: &MultiPolygon) -> Value {
    let ring = |r: &geo::LineString| -> Value { r.0.iter().map(|c| json!([c.x, c.y])).collect() };
    let polygons: Vec<Value> =
        mp.0.iter()
            .map(|p| {
                std::iter::once(ring(p.exterior()))
                    .chain(p.interiors().iter().map(ring))
                    .collect()
            })
            .collect();
    json!({"type": "MultiPolygon", "coordinates": polygons})
}

/// Two leaves of one parent whose union is one polygon: (kept code, merged code).
fn neighbours(features: &[Value]) -> (usize, usize) {
    let leaves: BTreeSet<&str> = features
        .iter()
        .filter_map(|f| f["properties"]["parent"].as_str())
        .collect();
    let is_leaf = |f: &Value| !leaves.contains(f["properties"]["code"].as_str().unwrap());
    for (i, a) in features.iter().enumerate() {
        for (j, b) in features.iter().enumerate().skip(i + 1) {
            if !is_leaf(a) || !is_leaf(b) || a["properties"]["parent"] != b["properties"]["parent"]
            {
                continue;
            }
            if shape(a).union(&shape(b)).0.len() == 1 {
                return (i, j);
            }
        }
    }
    panic!("no two neighbouring leaves");
}

#[test]
fn a_re_draw_after_boundary_changes_keeps_whole_blocks_and_unchanged_grids() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let o = run(&["generate", "--out", dir.to_str().unwrap(), "--seed", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    partition(dir, "g1.geojson", "r1.json", "boundaries.geojson", None);

    // The changes: leaf `a` absorbs its neighbour `b`; leaf `c` takes a new code.
    let mut boundaries = report(&dir.join("boundaries.geojson"));
    let features = boundaries["features"].as_array().unwrap().clone();
    let (a, b) = neighbours(&features);
    let code = |i: usize| {
        features[i]["properties"]["code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (merged, gone) = (code(a), code(b));
    let merged_shape = shape(&features[a]).union(&shape(&features[b]));
    let leaves: BTreeSet<&str> = features
        .iter()
        .filter_map(|f| f["properties"]["parent"].as_str())
        .collect();
    let c = (0..features.len())
        .find(|&i| {
            i != a
                && i != b
                && !leaves.contains(features[i]["properties"]["code"].as_str().unwrap())
        })
        .unwrap();
    let renamed = code(c);
    let new_code = format!("{}9", &renamed[..renamed.len() - 1]);
    assert!(
        features
            .iter()
            .all(|f| f["properties"]["code"] != new_code.as_str())
    );
    let mut changed = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let mut f = f.clone();
        if i == b {
            continue;
        }
        if i == a {
            f["geometry"] = geometry(&merged_shape);
        }
        if i == c {
            f["properties"]["code"] = json!(new_code);
        }
        changed.push(f);
    }
    boundaries["features"] = Value::Array(changed);
    write(dir, "changed.geojson", &boundaries);
    partition(
        dir,
        "g2.geojson",
        "r2.json",
        "changed.geojson",
        Some("g1.geojson"),
    );

    let g1 = report(&dir.join("g1.geojson"));
    let g2 = report(&dir.join("g2.geojson"));
    let r1 = report(&dir.join("r1.json"));
    let r2 = report(&dir.join("r2.json"));
    let changes = r2["changes"].as_array().unwrap();
    let change_of = |code: &str| {
        changes
            .iter()
            .find(|c| c["leaf"] == code)
            .map(|c| c["change"].as_str().unwrap().to_string())
    };
    assert_eq!(change_of(&merged).as_deref(), Some("reshaped"));
    assert_eq!(change_of(&new_code).as_deref(), Some("new"));
    let removed: Vec<&str> = r2["removed_leaves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(removed.contains(&gone.as_str()) && removed.contains(&renamed.as_str()));

    // Unchanged leaves keep their grids exactly: id, geometry, households.
    let by_id = |layer: &Value| -> BTreeMap<String, Value> {
        layer["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["properties"]["id"].as_str().unwrap().to_string(),
                    f.clone(),
                )
            })
            .collect()
    };
    let (before, after) = (by_id(&g1), by_id(&g2));
    let unchanged: Vec<&Value> = changes
        .iter()
        .filter(|c| c["change"] == "unchanged")
        .collect();
    assert!(unchanged.len() >= 10, "{}", unchanged.len());
    for c in &unchanged {
        for id in c["grids_kept"].as_array().unwrap() {
            let id = id.as_str().unwrap();
            let (old, new) = (&before[id], &after[id]);
            assert_eq!(old["geometry"], new["geometry"], "{id}");
            assert_eq!(
                old["properties"]["households"],
                new["properties"]["households"]
            );
        }
    }
    // The merged leaf was re-drawn where the rules needed it, and only there: some grids kept.
    let merged_change = changes
        .iter()
        .find(|c| c["leaf"] == merged.as_str())
        .unwrap();
    assert!(
        !merged_change["grids_redrawn"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(!merged_change["grids_kept"].as_array().unwrap().is_empty());

    // Every polygon written is valid and `check --blocks` accepts the file (exit 2 would be bad input).
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    let o = run(&[
        "check",
        "--grids",
        &p("g2.geojson"),
        "--households",
        &p("households.geojson"),
        "--boundaries",
        &p("changed.geojson"),
        "--blocks",
        &p("blocks.geojson"),
        "--report",
        &p("check.json"),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let check = report(&dir.join("check.json"));
    assert_eq!(
        check["summary"]["multi_part_grids"], 0,
        "one polygon per grid"
    );
    // No block cut but those the plans reported divided (in the first plan, for grids kept; in the
    // re-draw, for the land re-drawn).
    let divided: BTreeSet<String> = r1["leaf_plans"]
        .as_array()
        .unwrap()
        .iter()
        .chain(changes)
        .flat_map(|l| l["divided_cells"].as_array().cloned().unwrap_or_default())
        .flat_map(|d| {
            d["cell"]
                .as_str()
                .unwrap()
                .split(", ")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let infeasible: BTreeSet<&str> = check["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| !l["infeasible"].is_null())
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    for v in check["violations"].as_array().unwrap() {
        match v["rule"].as_str().unwrap() {
            "split_block" => {
                let block = v["message"]
                    .as_str()
                    .unwrap()
                    .split_whitespace()
                    .nth(1)
                    .unwrap();
                assert!(divided.contains(block), "{block} was cut: {v}");
            }
            // The band only where no whole number of grids fits.
            "band_under" | "band_over" => {
                assert!(
                    infeasible.contains(v["leaf"].as_str().unwrap_or_default()),
                    "{v}"
                );
            }
            other => panic!("{other}: {v}"),
        }
    }
    // The re-drawn leaves in the band (every grid of a leaf where a whole number fits).
    for code in [&merged, &new_code] {
        if infeasible.contains(code.as_str()) {
            continue;
        }
        let grids: Vec<&Value> = g2["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["properties"]["community"] == code.as_str())
            .collect();
        assert!(!grids.is_empty());
        for g in grids {
            assert_eq!(g["properties"]["status"], "ok", "{}", g["properties"]);
        }
    }
    // The re-draw names every grid's four sides and measures how it follows the ground.
    for g in g2["features"].as_array().unwrap() {
        let d = g["properties"]["bounds_description"].as_str().unwrap();
        assert!(d.starts_with("东至"), "{d}");
    }
    assert!(
        r2["ground"]["share_inner_edges_on_ground"]
            .as_f64()
            .unwrap()
            > 0.98
    );

    // The control: the same re-draw without the layers (straight cuts on the re-drawn land) cuts
    // blocks that the re-draw on them kept whole.
    let o = run(&[
        "partition",
        "--households",
        &p("households.geojson"),
        "--boundaries",
        &p("changed.geojson"),
        "--previous",
        &p("g1.geojson"),
        "--out",
        &p("g3.geojson"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&[
        "check",
        "--grids",
        &p("g3.geojson"),
        "--households",
        &p("households.geojson"),
        "--boundaries",
        &p("changed.geojson"),
        "--blocks",
        &p("blocks.geojson"),
        "--report",
        &p("check3.json"),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let cut = |r: &Value| {
        r["violations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["rule"] == "split_block")
            .count()
    };
    let straight = cut(&report(&dir.join("check3.json")));
    assert!(straight > cut(&check), "{straight} vs {}", cut(&check));
}
