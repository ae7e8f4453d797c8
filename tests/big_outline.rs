//! A leaf whose outline has 30,000 vertices (a surveyed boundary) is partitioned correctly: every grid
//! in the band, the grids tiling the leaf with neither gap nor overlap, every household in exactly one
//! grid, every grid one valid polygon as written. (Its speed is measured in the README, not here.)

mod common;
#[path = "common/wiggly.rs"]
mod wiggly;

use geo::{Area, BooleanOps, BoundingRect};
use gridplan::plan::partition;
use gridplan::spatial::geometry::{area_m2, contains, rects_overlap};
use gridplan::{Dataset, Rules, check, input, output};

#[test]
fn a_leaf_of_30000_vertices_is_tiled_by_valid_grids_in_the_band() {
    let rules = Rules::default();
    let (boundaries, households) = wiggly::leaf(30_000);
    let data = Dataset::parse(
        ("boundaries", boundaries.to_string().into_bytes()),
        ("households", households.to_string().into_bytes()),
        &rules,
        None,
    )
    .expect("the fixture loads");
    let leaf = data.tree.get("L").expect("leaf L");
    let outline = &data.tree.areas[leaf].geometry;
    assert!(gridplan::spatial::geometry::vertex_count(outline) > 30_000);
    let plan = partition::partition(&data, &rules, &|| {});
    let grids = &plan.grids;
    let total = data.total_households();
    let band = rules.kind("urban").expect("urban band");
    assert!(!band.feasible_counts(total).is_empty());
    assert!(grids.len() >= 9, "{} grids", grids.len());

    // Every household in exactly one grid, and each grid's count in the band.
    let mut count = vec![0u64; grids.len()];
    for h in &data.households {
        let hits: Vec<usize> = (0..grids.len())
            .filter(|&g| contains(&grids[g].geometry, h.pos))
            .collect();
        assert_eq!(hits.len(), 1, "household at {:?} in {hits:?}", h.pos);
        count[hits[0]] += h.households as u64;
    }
    for (g, n) in grids.iter().zip(&count) {
        assert!(
            (band.min_households as u64..=band.max_households as u64).contains(n),
            "{} holds {n}",
            g.id
        );
        assert_eq!(g.geometry.0.len(), 1, "{} has several parts", g.id);
    }

    // The grids tile the leaf: their areas add up to it and no two overlap.
    let leaf_area = area_m2(outline);
    let sum: f64 = grids.iter().map(|g| area_m2(&g.geometry)).sum();
    assert!(
        (sum - leaf_area).abs() < 1e-6 * leaf_area,
        "grids {sum} m², leaf {leaf_area} m²"
    );
    for a in 0..grids.len() {
        for b in a + 1..grids.len() {
            let (ra, rb) = (
                grids[a].geometry.bounding_rect().expect("extent"),
                grids[b].geometry.bounding_rect().expect("extent"),
            );
            if rects_overlap(&ra, &rb) {
                let overlap = grids[a]
                    .geometry
                    .intersection(&grids[b].geometry)
                    .unsigned_area();
                assert!(
                    overlap < 1e-6 * leaf_area,
                    "{} and {} overlap by {overlap} m²",
                    grids[a].id,
                    grids[b].id
                );
            }
        }
    }
    // Nothing of a grid outside the leaf.
    for g in grids {
        let outside = g.geometry.difference(outline).unsigned_area();
        assert!(
            outside < 1e-6 * leaf_area,
            "{} pokes out by {outside} m²",
            g.id
        );
    }

    // The check agrees, and the written grids pass the input validity check.
    let report = check(&data, grids, &rules);
    assert!(report.summary.compliant, "{:?}", report.violations);
    let text = output::grids_geojson(data.working, grids, &report.grids).expect("write");
    let (read, _, problems) =
        input::parse_grids("grids", text.into_bytes(), None, Some(data.working)).expect("valid");
    assert!(!problems.has_errors());
    assert_eq!(read.len(), grids.len());
}
