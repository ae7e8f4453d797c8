//! Compliance of a set of grids against households, leaves and rules. Every violation is a value naming
//! the grid or leaf and the rule; the checker returns all of them.
//!
//! Counts are always recounted from the household points, never taken from the grids file.
//!
//! The check runs in passes: where the grids lie against the leaves (`layout`: the land of each leaf
//! each grid covers, each grid's home leaf), what the households add up to per grid, leaf and building
//! (`tally`), then the rules of grids (`grids`), of buildings (`buildings`) and of leaves
//! (`leaves`), and the summary. The report's shape is in [`report`], its text in [`text`]; the
//! figures planners judge a plan by in [`quality`], and how grids follow blocks and barriers in
//! [`ground`].

mod buildings;
mod codes;
mod grids;
pub mod ground;
mod layout;
mod leaves;
pub mod quality;
pub mod report;
mod tally;
pub mod text;

pub use ground::{GroundQuality, SplitBlock, check_blocks};
pub use quality::Quality;
pub use report::{
    CheckReport, GridRow, InfeasibleLeaf, LeafRow, OversizeSplit, Rule, Summary, Violation,
};

use crate::input::dataset::Dataset;
use crate::lang::messages::msg;
use crate::model::GridShape;
use crate::problem::Problem;
use crate::rules::{BandStatus, Rules};
use layout::Layout;
use tally::Tally;

/// What every rule of the check reads: the grids, the data, the rules, where the grids lie, and what
/// the households add up to.
struct Ctx<'a> {
    data: &'a Dataset,
    grids: &'a [GridShape],
    rules: &'a Rules,
    layout: Layout<'a>,
    tally: Tally<'a>,
}

/// Checks `grids` against the dataset and the rules.
pub fn check(data: &Dataset, grids: &[GridShape], rules: &Rules) -> CheckReport {
    let layout = crate::timing::phase("check: layout", || Layout::new(data, grids));
    let tally = crate::timing::phase("check: tally", || Tally::count(data, &layout));
    let cx = Ctx {
        data,
        grids,
        rules,
        layout,
        tally,
    };
    let mut violations = Vec::new();
    let rows: Vec<GridRow> = (0..grids.len())
        .map(|g| grids::judge(&cx, g, &mut violations))
        .collect();
    let oversize = crate::timing::phase("check: buildings", || {
        buildings::judge(&cx, &mut violations)
    });
    codes::judge(&cx, &mut violations);
    let (leaf_rows, infeasible) = leaves::judge(&cx, &mut violations);
    violations.sort_by(|a, b| (a.rule, &a.leaf, &a.grid).cmp(&(b.rule, &b.leaf, &b.grid)));
    let summary = summary(&cx, &violations, &rows, &leaf_rows, infeasible);
    let mut warnings = data.warnings.0.clone();
    if !summary.population_known {
        warnings.push(population_unknown(data));
    }
    CheckReport {
        summary,
        violations,
        grids: rows,
        leaves: leaf_rows,
        oversize_buildings_split: oversize,
        empty_blocks_cut: Vec::new(),
        warnings,
    }
}

/// The summary: counts per rule and per band status, totals, areas, mean compactness.
fn summary(
    cx: &Ctx,
    violations: &[Violation],
    rows: &[GridRow],
    leaf_rows: &[LeafRow],
    infeasible: Vec<InfeasibleLeaf>,
) -> Summary {
    let count = |r: Rule| violations.iter().filter(|v| v.rule == r).count();
    let status_count = |s: BandStatus| rows.iter().filter(|r| r.status == Some(s)).count();
    let data = cx.data;
    Summary {
        compliant: violations.is_empty(),
        violations: violations.len(),
        grids: cx.grids.len(),
        dedicated_grids: rows
            .iter()
            .filter(|r| r.grid_kind == crate::model::GridKind::Dedicated)
            .count(),
        ok: status_count(BandStatus::Ok),
        under: status_count(BandStatus::Under),
        over: status_count(BandStatus::Over),
        households_total: data.total_households(),
        households_assigned: cx.tally.assigned,
        households_unassigned: cx.tally.unassigned,
        households_outside_leaves: data.outside,
        population_known: data.households.iter().all(|h| h.population.is_some()),
        population_alerts: count(Rule::PopulationAlert),
        malformed_codes: count(Rule::MalformedGridCode),
        duplicate_codes: count(Rule::DuplicateCode),
        gap_area_m2: leaf_rows.iter().map(|l| l.gap_area_m2).sum(),
        overlap_area_m2: leaf_rows.iter().map(|l| l.overlap_area_m2).sum(),
        grids_crossing_leaf: count(Rule::CrossesLeaf),
        grids_outside_leaves: count(Rule::OutsideLeaves),
        multi_part_grids: count(Rule::MultiPart),
        split_buildings: count(Rule::SplitBuilding),
        empty_grids: count(Rule::EmptyGrid),
        empty_blocks_cut: 0,
        leaves: cx.layout.leaves.len(),
        leaves_without_grid: count(Rule::LeafWithoutGrid),
        leaves_infeasible: infeasible,
        mean_compactness: if rows.is_empty() {
            0.0
        } else {
            rows.iter().map(|r| r.compactness).sum::<f64>() / rows.len() as f64
        },
        working_crs: data.working.to_string(),
    }
}

/// Reports of the parts of one dataset checked one by one (county by county) as one report: lists
/// joined, counts summed, the mean compactness taken over all grids, violations in the usual order.
/// `outside` is what lay outside every leaf, `warnings` those of reading the data (each part's own
/// warnings follow them, bar the population one, which is said once for all).
pub fn merge_reports(
    parts: Vec<CheckReport>,
    working: &str,
    outside: crate::input::dataset::Outside,
    mut warnings: Vec<Problem>,
) -> CheckReport {
    let mut s = Summary {
        compliant: true,
        violations: 0,
        grids: 0,
        dedicated_grids: 0,
        ok: 0,
        under: 0,
        over: 0,
        households_total: outside.households,
        households_assigned: 0,
        // Households outside every leaf are in no grid (as when the dataset is checked at once).
        households_unassigned: outside.households,
        households_outside_leaves: outside,
        population_known: true,
        population_alerts: 0,
        malformed_codes: 0,
        duplicate_codes: 0,
        gap_area_m2: 0.0,
        overlap_area_m2: 0.0,
        grids_crossing_leaf: 0,
        grids_outside_leaves: 0,
        multi_part_grids: 0,
        split_buildings: 0,
        empty_grids: 0,
        empty_blocks_cut: 0,
        leaves: 0,
        leaves_without_grid: 0,
        leaves_infeasible: Vec::new(),
        mean_compactness: 0.0,
        working_crs: working.to_string(),
    };
    let (mut violations, mut grids, mut leaves, mut oversize) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut missing = 0usize;
    for part in parts {
        let p = part.summary;
        s.compliant &= p.compliant;
        s.violations += p.violations;
        s.grids += p.grids;
        s.dedicated_grids += p.dedicated_grids;
        s.malformed_codes += p.malformed_codes;
        s.duplicate_codes += p.duplicate_codes;
        s.ok += p.ok;
        s.under += p.under;
        s.over += p.over;
        s.households_total += p.households_total;
        s.households_assigned += p.households_assigned;
        s.households_unassigned += p.households_unassigned;
        s.population_alerts += p.population_alerts;
        s.gap_area_m2 += p.gap_area_m2;
        s.overlap_area_m2 += p.overlap_area_m2;
        s.grids_crossing_leaf += p.grids_crossing_leaf;
        s.grids_outside_leaves += p.grids_outside_leaves;
        s.multi_part_grids += p.multi_part_grids;
        s.split_buildings += p.split_buildings;
        s.empty_grids += p.empty_grids;
        s.empty_blocks_cut += p.empty_blocks_cut;
        s.leaves += p.leaves;
        s.leaves_without_grid += p.leaves_without_grid;
        s.leaves_infeasible.extend(p.leaves_infeasible);
        violations.extend(part.violations);
        grids.extend(part.grids);
        leaves.extend(part.leaves);
        oversize.extend(part.oversize_buildings_split);
        for w in part.warnings {
            match population_unknown_count(&w) {
                Some(n) => missing += n,
                None => warnings.push(w),
            }
        }
    }
    violations.sort_by(|a, b| (a.rule, &a.leaf, &a.grid).cmp(&(b.rule, &b.leaf, &b.grid)));
    s.leaves_infeasible.sort_by(|a, b| a.leaf.cmp(&b.leaf));
    leaves.sort_by(|a: &LeafRow, b: &LeafRow| a.code.cmp(&b.code));
    s.mean_compactness = if grids.is_empty() {
        0.0
    } else {
        grids.iter().map(|r: &GridRow| r.compactness).sum::<f64>() / grids.len() as f64
    };
    if missing > 0 {
        s.population_known = false;
        warnings.push(population_unknown_warning(missing));
    }
    CheckReport {
        summary: s,
        violations,
        grids,
        leaves,
        oversize_buildings_split: oversize,
        empty_blocks_cut: Vec::new(),
        warnings,
    }
}

/// How many household points the population warning counts, if `w` is that warning.
fn population_unknown_count(w: &Problem) -> Option<usize> {
    let (n, rest) = w.message.split_once(' ')?;
    let n: usize = n.parse().ok()?;
    (w.field.as_deref() == Some("population")
        && population_unknown_warning(n).message == w.message
        && rest.starts_with("household point(s)"))
    .then_some(n)
}

/// The warning when some household points carry no population.
fn population_unknown(data: &Dataset) -> Problem {
    let missing = data
        .households
        .iter()
        .filter(|h| h.population.is_none())
        .count();
    population_unknown_warning(missing)
}

fn population_unknown_warning(missing: usize) -> Problem {
    Problem::warning("households", msg!(PopulationUnknown, points = missing)).field("population")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{area, dataset, grid, household, rect, spread};

    /// One urban community of 800 households, 1 km × 400 m, households spread over it.
    fn community() -> Dataset {
        dataset(
            vec![area(
                "320116001001",
                None,
                Some("urban"),
                rect(0.0, 0.0, 1_000.0, 400.0),
            )],
            spread(0.0, 0.0, 1_000.0, 400.0, 800, 1),
        )
    }

    fn rules_broken(report: &CheckReport) -> Vec<Rule> {
        let mut r: Vec<Rule> = report.violations.iter().map(|v| v.rule).collect();
        r.dedup();
        r
    }

    #[test]
    fn two_halves_are_compliant_and_counted() {
        let data = community();
        let grids = [
            grid("A", "320116001001", rect(0.0, 0.0, 500.0, 400.0)),
            grid("B", "320116001001", rect(500.0, 0.0, 1_000.0, 400.0)),
        ];
        let report = check(&data, &grids, &Rules::default());
        assert!(report.summary.compliant, "{:?}", report.violations);
        assert_eq!(report.summary.households_assigned, 800);
        assert_eq!(report.grids[0].households + report.grids[1].households, 800);
        assert_eq!(report.grids[0].status, Some(BandStatus::Ok));
        assert_eq!(report.leaves[0].grids, 2);
        assert!(report.leaves[0].gap_area_m2 < 1e-6);
    }

    #[test]
    fn a_gap_an_overlap_and_a_grid_beyond_its_leaf_are_each_named() {
        let data = community();
        let grids = [
            // Overlaps B by 10 m, leaves 20 m uncovered at the east end, reaches 30 m south.
            grid("A", "320116001001", rect(0.0, -30.0, 510.0, 400.0)),
            grid("B", "320116001001", rect(500.0, 0.0, 980.0, 400.0)),
        ];
        let report = check(&data, &grids, &Rules::default());
        let broken = rules_broken(&report);
        for rule in [
            Rule::Gap,
            Rule::Overlap,
            Rule::CrossesLeaf,
            Rule::HouseholdsOutsideGrids,
        ] {
            assert!(broken.contains(&rule), "{rule:?} missing from {broken:?}");
        }
        let overlap = &report.leaves[0].overlap_area_m2;
        assert!((overlap - 4_000.0).abs() < 1.0, "{overlap}");
        let gap = &report.leaves[0].gap_area_m2;
        assert!((gap - 8_000.0).abs() < 1.0, "{gap}");
        let crossing = report
            .violations
            .iter()
            .find(|v| v.rule == Rule::CrossesLeaf)
            .and_then(|v| v.grid.clone());
        assert_eq!(crossing.as_deref(), Some("A"));
    }

    #[test]
    fn band_empty_grids_and_split_buildings_are_violations() {
        let mut households = spread(0.0, 0.0, 1_000.0, 400.0, 800, 1);
        // One building straddling the two grids.
        households.push(household(490.0, 200.0, 1, Some("X")));
        households.push(household(510.0, 200.0, 1, Some("X")));
        let data = dataset(
            vec![area(
                "320116001001",
                None,
                Some("urban"),
                rect(0.0, 0.0, 1_000.0, 400.0),
            )],
            households,
        );
        let grids = [
            grid("A", "320116001001", rect(0.0, 0.0, 200.0, 400.0)),
            grid("B", "320116001001", rect(200.0, 0.0, 1_000.0, 400.0)),
        ];
        let report = check(&data, &grids, &Rules::default());
        let broken = rules_broken(&report);
        assert!(broken.contains(&Rule::BandUnder), "{broken:?}");
        assert!(broken.contains(&Rule::BandOver), "{broken:?}");
        let data = community();
        let grids = [
            grid("A", "320116001001", rect(0.0, 0.0, 1_000.0, 400.0)),
            grid("E", "320116001001", rect(2_000.0, 0.0, 2_100.0, 100.0)),
        ];
        let report = check(&data, &grids, &Rules::default());
        let broken = rules_broken(&report);
        assert!(broken.contains(&Rule::EmptyGrid), "{broken:?}");
        assert!(broken.contains(&Rule::OutsideLeaves) || broken.contains(&Rule::CrossesLeaf));
        assert!(broken.contains(&Rule::BandOver), "{broken:?}");
    }

    #[test]
    fn a_building_across_two_grids_is_split_unless_larger_than_a_grid() {
        let mut households = spread(0.0, 0.0, 1_000.0, 400.0, 780, 1);
        households.push(household(490.0, 200.0, 5, Some("X")));
        households.push(household(510.0, 200.0, 5, Some("X")));
        let data = dataset(
            vec![area(
                "320116001001",
                None,
                Some("urban"),
                rect(0.0, 0.0, 1_000.0, 400.0),
            )],
            households,
        );
        let grids = [
            grid("A", "320116001001", rect(0.0, 0.0, 500.0, 400.0)),
            grid("B", "320116001001", rect(500.0, 0.0, 1_000.0, 400.0)),
        ];
        let report = check(&data, &grids, &Rules::default());
        let split: Vec<&Violation> = report
            .violations
            .iter()
            .filter(|v| v.rule == Rule::SplitBuilding)
            .collect();
        assert_eq!(split.len(), 1);
        assert_eq!(split[0].grid.as_deref(), Some("A,B"));
        assert!(report.oversize_buildings_split.is_empty());
    }

    #[test]
    fn a_leaf_whose_count_fits_no_whole_number_is_noted_not_violated() {
        let data = dataset(
            vec![area(
                "320116001001",
                None,
                Some("urban"),
                rect(0.0, 0.0, 1_000.0, 400.0),
            )],
            spread(0.0, 0.0, 1_000.0, 400.0, 550, 1),
        );
        let grids = [grid("A", "320116001001", rect(0.0, 0.0, 1_000.0, 400.0))];
        let report = check(&data, &grids, &Rules::default());
        assert_eq!(report.summary.leaves_infeasible.len(), 1);
        assert!(report.leaves[0].infeasible.is_some());
        assert_eq!(rules_broken(&report), vec![Rule::BandOver]);
    }
}
