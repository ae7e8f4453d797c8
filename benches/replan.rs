//! Re-drawing a county of about 400,000 households where one community changed (a compound moved to
//! its neighbour), against partitioning it from scratch.

use criterion::{Criterion, criterion_group, criterion_main};
use geo::{BooleanOps, BoundingRect, Coord, MultiPolygon, Rect};
use gridplan::dataset::Dataset;
use gridplan::geometry::normalized;
use gridplan::tree::AreaTree;
use gridplan::{Rules, check, generate, partition, replan};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let rules = Rules::default();
    let data =
        generate::dataset(&generate::Spec::new(2026, Some(400_000)), &rules).expect("generate");
    let mut before = partition::partition(&data, &rules, &|| {}).grids;
    let rows = check(&data, &before, &rules).grids;
    for (g, r) in before.iter_mut().zip(rows) {
        g.declared_households = Some(r.households);
    }
    // Move a compound-sized corner of one community to its neighbour.
    let mut areas = data.tree.areas.clone();
    let x = areas
        .iter()
        .position(|a| a.code == "320116001003")
        .expect("community");
    let y = areas
        .iter()
        .position(|a| a.code == "320116001006")
        .expect("neighbour");
    let (bx, by) = (
        areas[x].geometry.bounding_rect().unwrap(),
        areas[y].geometry.bounding_rect().unwrap(),
    );
    let centre = Coord {
        x: (bx.center().x + by.center().x) / 2.0,
        y: bx.max().y.min(by.max().y).max(by.min().y),
    };
    let cut = MultiPolygon(vec![
        Rect::new(
            Coord {
                x: centre.x - 250.0,
                y: centre.y - 160.0,
            },
            Coord {
                x: centre.x + 250.0,
                y: centre.y + 20.0,
            },
        )
        .to_polygon(),
    ]);
    let moved = normalized(areas[x].geometry.intersection(&cut));
    areas[x].geometry = normalized(areas[x].geometry.difference(&moved));
    areas[y].geometry = normalized(areas[y].geometry.union(&moved));
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
