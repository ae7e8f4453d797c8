//! Re-drawing after scripted boundary changes on a generated district: unchanged leaves keep every grid,
//! changed leaves meet the rules, a community that lost one compound keeps ≥ 90 % of its households in
//! their grids, and `diff` agrees with an independent recount.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

use gridplan::input::dataset::Dataset;
use gridplan::model::{Area, GridShape};
use gridplan::plan::partition;
use gridplan::plan::replan;
use gridplan::spatial::geometry::contains;
use gridplan::spatial::tree::AreaTree;
use gridplan::{Rules, check, diff, synth};
use std::collections::BTreeSet;

fn base() -> (Dataset, Vec<GridShape>) {
    let rules = Rules::default();
    let data = synth::dataset(
        &synth::Spec {
            seed: 11,
            replicas: 1,
            counties: 1,
        },
        &rules,
    )
    .unwrap();
    let mut grids = partition::partition(&data, &rules, &|| {}).grids;
    // As read back from a grids file: each grid declares its households.
    let report = check(&data, &grids, &rules);
    for (g, row) in grids.iter_mut().zip(&report.grids) {
        g.declared_households = Some(row.households);
    }
    (data, grids)
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

fn areas(data: &Dataset) -> Vec<Area> {
    data.tree.areas.clone()
}

fn find(areas: &[Area], code: &str) -> usize {
    areas.iter().position(|a| a.code == code).unwrap()
}

/// The grid (id) holding each household, by brute force.
fn grid_of(households: &[gridplan::model::Household], grids: &[GridShape]) -> Vec<Option<String>> {
    households
        .iter()
        .map(|h| {
            grids
                .iter()
                .find(|g| contains(&g.geometry, h.pos))
                .map(|g| g.id.clone())
        })
        .collect()
}

struct Outcome {
    before: Vec<Option<String>>,
    after: Vec<Option<String>>,
    new_data: Dataset,
    plan: replan::Replan,
}

fn run(old_data: &Dataset, old: &[GridShape], new_data: Dataset) -> Outcome {
    let rules = Rules::default();
    let plan = replan::replan(&new_data, &rules, old);
    let report = check(&new_data, &plan.grids, &rules);
    // Changed leaves meet the rules: no gap, overlap, crossing or multi-part grid; the band wherever
    // a whole number of grids fits.
    let infeasible: BTreeSet<&str> = report
        .leaves
        .iter()
        .filter(|l| l.infeasible.is_some())
        .map(|l| l.code.as_str())
        .collect();
    for v in &report.violations {
        let in_infeasible_leaf = v.leaf.as_deref().is_some_and(|l| infeasible.contains(l));
        match v.rule {
            check::Rule::BandUnder | check::Rule::BandOver | check::Rule::EmptyGrid
                if in_infeasible_leaf => {}
            _ => panic!("violation after re-drawing: {v:?}"),
        }
    }
    // diff agrees with a brute-force recount.
    let before = grid_of(&old_data.households, old);
    let after = grid_of(&new_data.households, &plan.grids);
    let d = diff::diff(&new_data.households, old, &plan.grids, false);
    let kept: u64 = before
        .iter()
        .zip(&after)
        .zip(&new_data.households)
        .filter(|((a, b), _)| a == b)
        .map(|(_, h)| h.households as u64)
        .sum();
    assert_eq!(d.summary.households_kept, kept);
    assert_eq!(
        d.summary.households_moved + d.summary.households_kept,
        d.summary.households
    );
    let moved_pairs: u64 = d.moves.iter().map(|m| m.households).sum();
    assert_eq!(moved_pairs, d.summary.households_moved);
    Outcome {
        before,
        after,
        new_data,
        plan,
    }
}

/// Every household of every leaf whose geometry and households did not change keeps its grid id.
fn unchanged_leaves_keep_everything(old_data: &Dataset, o: &Outcome, changed: &[&str]) {
    for &l in o.new_data.tree.leaves() {
        let code = &o.new_data.tree.areas[l].code;
        if changed.contains(&code.as_str()) {
            continue;
        }
        let mut n = 0;
        for (i, leaf) in o.new_data.leaf_of.iter().enumerate() {
            if *leaf == Some(l)
                && old_data.leaf_of[i].map(|x| &old_data.tree.areas[x].code) == Some(code)
            {
                assert_eq!(o.before[i], o.after[i], "leaf {code}: household {i} moved");
                n += 1;
            }
        }
        let change = o.plan.leaves.iter().find(|c| &c.leaf == code).unwrap();
        assert_eq!(
            change.change,
            replan::Change::Unchanged,
            "{code} should be unchanged (with {n} households)"
        );
    }
}

#[test]
fn a_compound_moves_to_the_next_community() {
    let (data, old) = base();
    let mut a = areas(&data);
    // 320116001003 gives the land around its shared corner with 320116001006 to its neighbour.
    let moved = synth::move_compound(&mut a, "320116001003", "320116001006").unwrap();
    assert!(moved > 10_000.0);
    let new_data = rebuild(&data, a);
    let o = run(&data, &old, new_data);
    unchanged_leaves_keep_everything(&data, &o, &["320116001003", "320116001006"]);
    // The community that lost the compound keeps ≥ 90 % of its remaining households in their grids.
    let x_new = o.new_data.tree.get("320116001003").unwrap();
    let (mut stay, mut total) = (0u64, 0u64);
    for (i, h) in o.new_data.households.iter().enumerate() {
        if o.new_data.leaf_of[i] == Some(x_new) {
            total += h.households as u64;
            if o.before[i] == o.after[i] {
                stay += h.households as u64;
            }
        }
    }
    assert!(total > 0);
    assert!(
        stay as f64 >= 0.9 * total as f64,
        "only {stay} of {total} kept their grid"
    );
    eprintln!(
        "the community that lost a compound kept {stay} of {total} households in their grids"
    );
}

#[test]
fn two_villages_merge() {
    let (data, old) = base();
    let mut a = areas(&data);
    synth::merge_units(&mut a, "320116101201", "320116101202").unwrap();
    let new_data = rebuild(&data, a);
    let o = run(&data, &old, new_data);
    unchanged_leaves_keep_everything(&data, &o, &["320116101201"]);
    assert_eq!(o.plan.removed_leaves, vec!["320116101202".to_string()]);
    let merged = o
        .plan
        .leaves
        .iter()
        .find(|c| c.leaf == "320116101201")
        .unwrap();
    assert_eq!(merged.change, replan::Change::Reshaped);
    assert!(
        !merged.grids_kept.is_empty(),
        "the surviving village keeps grids: {merged:?}"
    );
}

#[test]
fn a_community_is_split_in_two() {
    let (data, old) = base();
    let mut a = areas(&data);
    synth::split_community(&mut a, "320116001003", "320116001008", "320116001009").unwrap();
    let new_data = rebuild(&data, a);
    // The enclave community's hole sits in the old community: both halves are new leaves.
    let o = run(&data, &old, new_data);
    unchanged_leaves_keep_everything(&data, &o, &["320116001008", "320116001009"]);
    assert_eq!(o.plan.removed_leaves, vec!["320116001003".to_string()]);
    for code in ["320116001008", "320116001009"] {
        let c = o.plan.leaves.iter().find(|c| c.leaf == code).unwrap();
        assert_eq!(c.change, replan::Change::New);
        assert!(c.grids_redrawn.iter().all(|id| id.starts_with(code)));
    }
}

#[test]
fn a_level_is_removed() {
    let (data, old) = base();
    let mut a = areas(&data);
    // The rural town is abolished: its villages report to the district, and carry their kind themselves.
    let town = find(&a, "320116101000");
    for area in a.iter_mut() {
        if area.parent.as_deref() == Some("320116101000") {
            area.parent = Some("320116000000".into());
            area.kind = Some("rural".into());
        }
    }
    a.remove(town);
    let new_data = rebuild(&data, a);
    let o = run(&data, &old, new_data);
    unchanged_leaves_keep_everything(&data, &o, &[]);
    assert!(o.plan.removed_leaves.is_empty());
    let moved = o
        .before
        .iter()
        .zip(&o.after)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(moved, 0);
}

#[test]
fn worker_changes_are_listed() {
    let (data, old) = base();
    let mut old_with = old.clone();
    let mut new_with = old.clone();
    old_with[0].primary_worker = Some("W1".into());
    new_with[1].primary_worker = Some("W1".into());
    let d = diff::diff(&data.households, &old_with, &new_with, false);
    assert_eq!(d.workers.len(), 1);
    assert_eq!(d.workers[0].old_grids, vec![old[0].id.clone()]);
    assert_eq!(d.workers[0].new_grids, vec![old[1].id.clone()]);
}
