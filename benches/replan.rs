//! Re-drawing a county of about 400,000 households where one community changed (a compound moved to
//! its neighbour), against partitioning it from scratch.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

use criterion::{Criterion, criterion_group, criterion_main};
use gridplan::input::dataset::Dataset;
use gridplan::plan::partition;
use gridplan::plan::replan;
use gridplan::spatial::tree::AreaTree;
use gridplan::{Rules, check, synth};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    let data = synth::dataset(&synth::Spec::new(2026, Some(400_000)), &rules).expect("generate");
    let mut before = partition::partition(&data, &rules, &|| {}).grids;
    let rows = check(&data, &before, &rules).grids;
    for (g, r) in before.iter_mut().zip(rows) {
        g.declared_households = Some(r.households);
    }
    // Move a compound-sized corner of one community to its neighbour.
    let mut areas = data.tree.areas.clone();
    synth::move_compound(&mut areas, "320116001003", "320116001006").expect("communities exist");
    let (tree, _) = AreaTree::build("changed", areas, &rules);
    let changed = Dataset::new(
        "households",
        data.working,
        tree,
        data.households.clone(),
        Default::default(),
    );
    let plan = replan::replan(&changed, &rules, &before);
    let unchanged = plan
        .leaves
        .iter()
        .filter(|l| l.change == replan::Change::Unchanged)
        .count();
    eprintln!("{} leaves, {unchanged} unchanged", plan.leaves.len());

    let mut group = c.benchmark_group("county_400k_one_leaf_changed");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("partition_from_scratch", |b| {
        b.iter(|| partition::partition(&changed, &rules, &|| {}))
    });
    group.bench_function("replan_from_previous", |b| {
        b.iter(|| replan::replan(&changed, &rules, &before))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
