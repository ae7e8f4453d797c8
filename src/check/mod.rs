//! Compliance of a set of grids against households, leaves and rules. Every violation is a value naming
//! the grid or leaf and the rule; the checker returns all of them.
//!
//! Counts are always recounted from the household points, never taken from the grids file.
//!
//! The check runs in passes: where the grids lie against the leaves ([`layout`]: the land of each leaf
//! each grid covers, each grid's home leaf), what the households add up to per grid, leaf and building
//! ([`tally`]), then the rules of grids ([`grids`]), of buildings ([`buildings`]) and of leaves
//! ([`leaves`]), and the summary. The report's shape is in [`report`], its text in [`text`]; the
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
    let layout = Layout::new(data, grids);
    let tally = Tally::count(data, &layout);
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
    let oversize = buildings::judge(&cx, &mut violations);
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
            .filter(|r| r.kind == crate::model::GridKind::Dedicated)
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
        outside_population_band: rows
            .iter()
            .filter(|r| {
                r.status == Some(BandStatus::Ok)
                    && r.population_status.is_some_and(|p| p != BandStatus::Ok)
            })
            .count(),
        malformed_codes: count(Rule::GridCode),
        duplicate_codes: count(Rule::DuplicateCode),
        gap_area_m2: leaf_rows.iter().map(|l| l.gap_area_m2).sum(),
        overlap_area_m2: leaf_rows.iter().map(|l| l.overlap_area_m2).sum(),
        grids_crossing_leaf: count(Rule::CrossesLeaf),
        grids_outside_leaves: count(Rule::OutsideLeaves),
        multi_part_grids: count(Rule::MultiPart),
        split_buildings: count(Rule::SplitBuilding),
        empty_grids: count(Rule::EmptyGrid),
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

/// The warning when some household points carry no population.
fn population_unknown(data: &Dataset) -> Problem {
    let missing = data
        .households
        .iter()
        .filter(|h| h.population.is_none())
        .count();
    Problem::warning(
        "households",
        format!(
            "{missing} household point(s) have no `population`: population rules cannot be fully checked, and grids holding them report population as unknown"
        ),
    )
    .field("population")
}
