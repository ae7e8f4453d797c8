//! Properties of the partition on seeded generated districts, checked independently of the engine:
//! bands, whole buildings, one polygon per grid, exact tiling of every leaf, every household in exactly
//! one grid.

use geo::BooleanOps;
use gridplan::plan::partition;
use gridplan::spatial::geometry::{area_m2, contains, normalized};
use gridplan::spatial::index::PolygonIndex;
use gridplan::{Rules, synth};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn partitions_of_generated_districts_keep_every_rule_that_can_be_kept() {
    let rules = Rules::default();
    for seed in [1u64, 7, 42, 2024, 31337] {
        let data = synth::dataset(
            &synth::Spec {
                seed,
                replicas: 1,
                counties: 1,
            },
            &rules,
        )
        .expect("generate");
        let plan = partition::partition(&data, &rules, &|| {});
        let tree = &data.tree;

        // Every leaf is covered exactly: no gap, no overlap beyond 1e-6 of its area, nothing outside.
        for &l in tree.leaves() {
            let leaf = &tree.areas[l];
            let mine: Vec<&geo::MultiPolygon> = plan
                .grids
                .iter()
                .filter(|g| g.community.as_deref() == Some(leaf.code.as_str()))
                .map(|g| &g.geometry)
                .collect();
            assert!(
                !mine.is_empty(),
                "seed {seed}: leaf {} has no grid",
                leaf.code
            );
            let leaf_area = area_m2(&leaf.geometry);
            let union = normalized(geo::unary_union(mine.iter().copied()));
            let sum: f64 = mine.iter().map(|g| area_m2(g)).sum();
            let gap = area_m2(&leaf.geometry.difference(&union));
            let overlap = sum - area_m2(&union);
            let outside = area_m2(&union.difference(&leaf.geometry));
            for (what, v) in [("gap", gap), ("overlap", overlap), ("outside", outside)] {
                assert!(
                    v.abs() < 1e-6 * leaf_area,
                    "seed {seed}: leaf {}: {what} {v} m² of {leaf_area}",
                    leaf.code
                );
            }
            // One polygon per grid where the leaf is one polygon.
            if leaf.geometry.0.len() == 1 {
                for g in &mine {
                    assert_eq!(
                        g.0.len(),
                        1,
                        "seed {seed}: a grid of {} has {} parts",
                        leaf.code,
                        g.0.len()
                    );
                }
            }
        }

        // Every household of a leaf in exactly one grid; recount per grid; buildings whole.
        let index = PolygonIndex::new(plan.grids.iter().map(|g| &g.geometry).collect());
        let mut count = vec![0u64; plan.grids.len()];
        let mut building_grids: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        for (i, h) in data.households.iter().enumerate() {
            let hits: Vec<usize> = (0..plan.grids.len())
                .filter(|&g| contains(&plan.grids[g].geometry, h.pos))
                .collect();
            assert_eq!(hits, index.containing(h.pos));
            match data.leaf_of[i] {
                Some(_) => assert_eq!(
                    hits.len(),
                    1,
                    "seed {seed}: household {i} in {} grids",
                    hits.len()
                ),
                None => assert!(hits.is_empty()),
            }
            if let Some(&g) = hits.first() {
                count[g] += h.households as u64;
                building_grids
                    .entry(h.building.as_deref().unwrap_or(""))
                    .or_default()
                    .insert(g);
            }
        }
        let oversize: BTreeSet<&str> = plan.splits.iter().map(|s| s.building.as_str()).collect();
        for (b, gs) in &building_grids {
            assert!(
                gs.len() == 1 || oversize.contains(b),
                "seed {seed}: building {b} split across {gs:?}"
            );
        }

        // The band holds wherever a whole number of grids fits it.
        for (g, grid) in plan.grids.iter().enumerate() {
            let leaf = tree.get(grid.community.as_deref().unwrap()).unwrap();
            let band = rules.kind(tree.kind(leaf).unwrap()).unwrap();
            let leaf_households: u64 = data
                .households
                .iter()
                .zip(&data.leaf_of)
                .filter(|(_, l)| **l == Some(leaf))
                .map(|(h, _)| h.households as u64)
                .sum();
            if !band.feasible_counts(leaf_households).is_empty() {
                assert!(
                    (band.min_households as u64..=band.max_households as u64).contains(&count[g]),
                    "seed {seed}: {} holds {} households, band {}–{}",
                    grid.id,
                    count[g],
                    band.min_households,
                    band.max_households
                );
            }
        }
    }
}

#[test]
fn identical_input_gives_identical_grids() {
    let rules = Rules::default();
    let data = synth::dataset(
        &synth::Spec {
            seed: 5,
            replicas: 1,
            counties: 1,
        },
        &rules,
    )
    .unwrap();
    let a = partition::partition(&data, &rules, &|| {});
    let b = partition::partition(&data, &rules, &|| {});
    assert_eq!(a.grids, b.grids);
}
