//! Every polygon gridplan writes is valid after rounding to the output precision: the grids of a fresh
//! partition and of re-draws after scripted boundary changes (villages merging, compounds moving between
//! four villages, a community split), on several seeds, are written as the CLI and the service write
//! them and read back through the same input validity check `check --grids` runs.

use geo::Validation;
use gridplan::input::dataset::Dataset;
use gridplan::model::{Area, GridShape};
use gridplan::plan::partition;
use gridplan::plan::replan;
use gridplan::spatial::tree::AreaTree;
use gridplan::{Rules, check, input, output, synth};

/// Writes grids as `partition` does, reads them back as `check --grids` does, and returns them (with
/// their declared households, as `--previous` reads them). Panics naming the case on any problem.
fn write_and_read_back(case: &str, data: &Dataset, grids: &[GridShape]) -> Vec<GridShape> {
    let rules = Rules::default();
    let report = check(data, grids, &rules);
    let text = output::grids_geojson(data.working, grids, &report.grids).expect("write");
    let keep = || {
        let path = std::env::temp_dir().join(format!("gridplan-invalid-{case}.geojson"));
        std::fs::write(&path, &text).expect("keep the failing output");
        path
    };
    let (read, _, problems) =
        match input::parse_grids(case, text.clone().into_bytes(), None, Some(data.working)) {
            Ok(r) => r,
            Err(e) => panic!(
                "{case}: gridplan's own output is refused ({}):\n{e}",
                keep().display()
            ),
        };
    assert!(!problems.has_errors(), "{case}: {:?}", problems.0);
    // An independent validity check (OGC rules as geo implements them) on the written coordinates.
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    for (n, f) in value["features"]
        .as_array()
        .expect("features")
        .iter()
        .enumerate()
    {
        let g = &f["geometry"];
        let mp = input::geom::areal(g["type"].as_str().expect("type"), &g["coordinates"])
            .expect("areal");
        if let Err(e) = mp.check_validation() {
            panic!(
                "{case}: feature {n} ({}) is not OGC-valid: {e:?} ({})",
                f["id"],
                keep().display()
            );
        }
    }
    read
}

fn rebuild(data: &Dataset, areas: Vec<Area>) -> Dataset {
    let rules = Rules::default();
    let (tree, problems) = AreaTree::build("changed", areas, &rules);
    assert!(!problems.has_errors(), "{:?}", problems.0);
    Dataset::new(
        "households",
        data.working,
        tree,
        data.households.clone(),
        Default::default(),
    )
}

type Script = fn(&mut Vec<Area>);

fn scripts() -> Vec<(&'static str, Script)> {
    vec![
        ("four-villages", |a| {
            for (from, to) in [
                ("320116101201", "320116101202"),
                ("320116101203", "320116101206"),
                ("320116101205", "320116101208"),
                ("320116101207", "320116101204"),
            ] {
                synth::move_compound(a, from, to);
            }
        }),
        ("villages-merge", |a| {
            synth::merge_units(a, "320116101201", "320116101202");
            synth::merge_units(a, "320116101208", "320116101209");
        }),
        ("compounds-move", |a| {
            synth::move_compound(a, "320116001003", "320116001006");
            synth::move_compound(a, "320116001001", "320116001002");
            synth::move_compound(a, "320116101204", "320116101205");
        }),
        ("community-split", |a| {
            synth::split_community(a, "320116001003", "320116001008", "320116001009");
            synth::split_community(a, "320116101205", "320116101210", "320116101211");
        }),
    ]
}

#[test]
fn every_written_grid_is_valid_after_rounding_fresh_and_redrawn() {
    let rules = Rules::default();
    for seed in [1u64, 7, 11, 42, 2024] {
        let data = synth::dataset(
            &synth::Spec {
                seed,
                replicas: 1,
                counties: 1,
            },
            &rules,
        )
        .expect("generate");
        let fresh = partition::partition(&data, &rules, &|| {}).grids;
        let previous = write_and_read_back(&format!("seed{seed}-partition"), &data, &fresh);
        for (name, script) in scripts() {
            let mut areas = data.tree.areas.clone();
            script(&mut areas);
            let changed = rebuild(&data, areas);
            let plan = replan::replan(&changed, &rules, &previous);
            let case = format!("seed{seed}-{name}");
            let again = write_and_read_back(&case, &changed, &plan.grids);
            // A second re-draw from the re-drawn output (what a planner does next month).
            let plan = replan::replan(&changed, &rules, &again);
            write_and_read_back(&format!("{case}-again"), &changed, &plan.grids);
        }
    }
}
