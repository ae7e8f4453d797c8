//! Compliance of a set of grids against households, leaves and rules. Every violation is a value naming
//! the grid or leaf and the rule; the checker returns all of them.
//!
//! Counts are always recounted from the household points, never taken from the grids file.

pub mod ground;
pub mod quality;
pub mod text;

pub use ground::{GroundQuality, SplitBlock, check_blocks};
pub use quality::Quality;

use crate::input::dataset::{Dataset, Outside};
use crate::model::{GridShape, Household};
use crate::problem::Problem;
use crate::rules::{BandStatus, Rules};
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use geo::MultiPolygon;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// The rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Fewer households than the band's minimum.
    BandUnder,
    /// More households than the band's maximum.
    BandOver,
    /// More residents than the population alert.
    PopulationAlert,
    /// Land of a leaf no grid covers.
    Gap,
    /// Land of a leaf two or more grids cover.
    Overlap,
    /// A grid reaching outside its leaf.
    CrossesLeaf,
    /// A grid lying outside every leaf.
    OutsideLeaves,
    /// A grid in several parts where its leaf is one part.
    MultiPart,
    /// A building whose households fall in more than one grid.
    SplitBuilding,
    /// A grid with no households.
    EmptyGrid,
    /// A leaf no grid covers at all.
    LeafWithoutGrid,
    /// Households of a leaf that lie in no grid.
    HouseholdsOutsideGrids,
    /// A block (street block, compound) whose land lies in more than one grid (with `--blocks`).
    SplitBlock,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub rule: Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    pub message: String,
    /// The measured quantity (households, people, m², count), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// A grid's figures. Aggregates only: no household ids, no sensitive counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridRow {
    pub id: String,
    pub community: Option<String>,
    pub kind: Option<String>,
    pub households: u64,
    /// Residents; `None` when some household point in the grid has no `population`.
    pub population: Option<u64>,
    pub buildings: usize,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub status: Option<BandStatus>,
    pub population_alert: bool,
    pub area_m2: f64,
    pub outside_leaf_m2: f64,
    pub parts: usize,
    pub compactness: f64,
}

/// A leaf's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeafRow {
    pub code: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub households: u64,
    pub grids: usize,
    pub area_m2: f64,
    pub gap_area_m2: f64,
    pub overlap_area_m2: f64,
    pub households_outside_grids: u64,
    /// Why no whole number of grids fits the band, when none does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infeasible: Option<String>,
}

/// The report's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub compliant: bool,
    pub violations: usize,
    pub grids: usize,
    pub ok: usize,
    pub under: usize,
    pub over: usize,
    pub households_total: u64,
    pub households_assigned: u64,
    pub households_unassigned: u64,
    pub households_outside_leaves: Outside,
    pub population_known: bool,
    pub population_alerts: usize,
    pub gap_area_m2: f64,
    pub overlap_area_m2: f64,
    pub grids_crossing_leaf: usize,
    pub grids_outside_leaves: usize,
    pub multi_part_grids: usize,
    pub split_buildings: usize,
    pub empty_grids: usize,
    pub leaves: usize,
    pub leaves_without_grid: usize,
    pub leaves_infeasible: Vec<InfeasibleLeaf>,
    pub mean_compactness: f64,
    pub working_crs: String,
}

/// A leaf whose household count fits no whole number of grids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfeasibleLeaf {
    pub leaf: String,
    pub households: u64,
    pub why: String,
}

/// A building larger than a grid's maximum, divided between grids (by entrance): required, so reported
/// as a note rather than a violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OversizeSplit {
    pub leaf: Option<String>,
    pub building: Option<String>,
    pub households: u64,
    pub grids: Vec<String>,
}

/// The full compliance report (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub summary: Summary,
    pub violations: Vec<Violation>,
    pub grids: Vec<GridRow>,
    pub leaves: Vec<LeafRow>,
    /// Oversize buildings divided between grids.
    pub oversize_buildings_split: Vec<OversizeSplit>,
    /// Data problems that did not stop the check.
    pub warnings: Vec<Problem>,
}

/// Key of a building: its id within its leaf, else its exact position (a point with many households).
#[derive(Hash, PartialEq, Eq, Clone, Copy, PartialOrd, Ord)]
enum BuildingKey<'a> {
    Named(Option<usize>, &'a str),
    At(Option<usize>, u64, u64),
}

fn building_key(h: &Household, leaf: Option<usize>) -> BuildingKey<'_> {
    match &h.building {
        Some(b) => BuildingKey::Named(leaf, b),
        None => BuildingKey::At(leaf, h.pos.x.to_bits(), h.pos.y.to_bits()),
    }
}

/// Checks `grids` against the dataset and the rules.
pub fn check(data: &Dataset, grids: &[GridShape], rules: &Rules) -> CheckReport {
    let tree = &data.tree;
    let leaves = tree.leaves();
    let leaf_pos: HashMap<usize, usize> = leaves.iter().enumerate().map(|(p, &l)| (l, p)).collect();
    let grid_index = PolygonIndex::new(grids.iter().map(|g| &g.geometry).collect());
    let grid_area: Vec<f64> = grids
        .par_iter()
        .map(|g| geometry::area_m2(&g.geometry))
        .collect();

    // Each leaf against every grid whose envelope meets it: the pieces of the leaf each grid covers.
    struct LeafCover {
        covered: f64,
        pieces: Vec<(usize, f64, MultiPolygon)>,
    }
    let covers: Vec<LeafCover> = leaves
        .par_iter()
        .map(|&l| {
            let leaf = &tree.areas[l].geometry;
            // The grids a leaf meets are intersected in parallel too: one leaf with a long outline
            // and many grids is otherwise one thread's work.
            let candidates: Vec<usize> = match geometry::bbox(leaf) {
                Some(r) => grid_index.candidates(&r),
                None => Vec::new(),
            };
            // A long outline is prepared once, to prove cheaply that the grids cut from it lie within
            // it: the exact intersection of such a grid with the outline is most of the check's time.
            let proof = (geometry::vertex_count(leaf) > geometry::LARGE_OUTLINE_VERTICES)
                .then(|| geometry::OutlineProof::new(leaf));
            let pieces: Vec<(usize, f64, MultiPolygon)> = candidates
                .par_iter()
                .filter_map(|&g| {
                    let grid = &grids[g].geometry;
                    if proof.as_ref().is_some_and(|p| p.within(grid)) {
                        return (grid_area[g] > 0.0)
                            .then(|| (g, grid_area[g], geometry::normalized(grid.clone())));
                    }
                    let piece = geometry::normalized(geometry::intersection_near(leaf, grid));
                    let a = geometry::area_m2(&piece);
                    (a > 0.0).then_some((g, a, piece))
                })
                .collect();
            let covered = if pieces.is_empty() {
                0.0
            } else {
                geometry::union_area(pieces.iter().map(|p| &p.2))
            };
            LeafCover { covered, pieces }
        })
        .collect();

    // Each grid's home leaf: the `community` it names when that is a leaf, else the leaf it covers most.
    let mut in_leaf: Vec<Vec<(usize, f64)>> = vec![Vec::new(); grids.len()];
    for (pos, cover) in covers.iter().enumerate() {
        for (g, a, _) in &cover.pieces {
            in_leaf[*g].push((pos, *a));
        }
    }
    let home: Vec<Option<usize>> = grids
        .iter()
        .enumerate()
        .map(|(g, grid)| {
            let named = grid
                .community
                .as_deref()
                .and_then(|c| tree.get(c))
                .and_then(|i| leaf_pos.get(&i).copied());
            named.or_else(|| {
                in_leaf[g]
                    .iter()
                    .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|&(pos, _)| pos)
            })
        })
        .collect();

    // Households into grids.
    let grid_of: Vec<Option<usize>> = data
        .households
        .par_iter()
        .map(|h| grid_index.containing(h.pos).first().copied())
        .collect();

    let mut violations = Vec::new();
    let mut hh = vec![0u64; grids.len()];
    let mut pop = vec![0u64; grids.len()];
    let mut pop_known = vec![true; grids.len()];
    let mut buildings: Vec<BTreeSet<BuildingKey>> = vec![BTreeSet::new(); grids.len()];
    let mut building_grids: HashMap<BuildingKey, BTreeSet<usize>> = HashMap::new();
    let mut building_households: HashMap<BuildingKey, u64> = HashMap::new();
    let mut leaf_hh = vec![0u64; leaves.len()];
    let mut leaf_unassigned = vec![0u64; leaves.len()];
    let (mut assigned, mut unassigned) = (0u64, 0u64);
    for (i, h) in data.households.iter().enumerate() {
        let leaf = data.leaf_of[i];
        let lp = leaf.and_then(|l| leaf_pos.get(&l).copied());
        if let Some(lp) = lp {
            leaf_hh[lp] += h.households as u64;
        }
        let key = building_key(h, leaf);
        *building_households.entry(key).or_default() += h.households as u64;
        match grid_of[i] {
            Some(g) => {
                assigned += h.households as u64;
                hh[g] += h.households as u64;
                match h.population {
                    Some(p) => pop[g] += p as u64,
                    None => pop_known[g] = false,
                }
                buildings[g].insert(key);
                building_grids.entry(key).or_default().insert(g);
            }
            None => {
                unassigned += h.households as u64;
                if let Some(lp) = lp {
                    leaf_unassigned[lp] += h.households as u64;
                }
            }
        }
    }
    let population_known = data.households.iter().all(|h| h.population.is_some());

    // Grids.
    let mut rows = Vec::with_capacity(grids.len());
    for (g, grid) in grids.iter().enumerate() {
        let leaf = home[g].map(|p| leaves[p]);
        let leaf_code = leaf.map(|l| tree.areas[l].code.clone());
        let kind = leaf.and_then(|l| tree.kind(l)).map(str::to_string);
        let band = kind.as_deref().and_then(|k| rules.kind(k));
        let inside = home[g]
            .and_then(|p| in_leaf[g].iter().find(|x| x.0 == p))
            .map_or(0.0, |x| x.1);
        let outside = (grid_area[g] - inside).max(0.0);
        let tol = rules
            .check
            .tolerance_m2(geometry::perimeter_m(&grid.geometry));
        let status = band.map(|b| b.status(hh[g]));
        let population = pop_known[g].then_some(pop[g]);
        let alert = band.is_some_and(|b| pop[g] > b.population_alert as u64);
        let v = |rule, message: String, value: f64| Violation {
            rule,
            grid: Some(grid.id.clone()),
            leaf: leaf_code.clone(),
            message,
            value: Some(value),
        };
        match (status, band) {
            (Some(BandStatus::Under), Some(b)) if hh[g] > 0 => violations.push(v(
                Rule::BandUnder,
                format!(
                    "{} households, under the minimum of {}",
                    hh[g], b.min_households
                ),
                hh[g] as f64,
            )),
            (Some(BandStatus::Over), Some(b)) => violations.push(v(
                Rule::BandOver,
                format!(
                    "{} households, over the maximum of {}",
                    hh[g], b.max_households
                ),
                hh[g] as f64,
            )),
            _ => {}
        }
        if hh[g] == 0 {
            violations.push(v(Rule::EmptyGrid, "no households".to_string(), 0.0));
        }
        if let (true, Some(b)) = (alert, band) {
            violations.push(v(
                Rule::PopulationAlert,
                format!(
                    "{} residents, above the alert of {}",
                    pop[g], b.population_alert
                ),
                pop[g] as f64,
            ));
        }
        match home[g] {
            None => violations.push(v(
                Rule::OutsideLeaves,
                "the grid lies outside every leaf".to_string(),
                grid_area[g],
            )),
            Some(p) if outside > tol => {
                let mut into: Vec<String> = in_leaf[g]
                    .iter()
                    .filter(|x| x.0 != p && x.1 > tol)
                    .map(|x| format!("{} ({:.1} m²)", tree.areas[leaves[x.0]].code, x.1))
                    .collect();
                let beyond: f64 = outside
                    - in_leaf[g]
                        .iter()
                        .filter(|x| x.0 != p)
                        .map(|x| x.1)
                        .sum::<f64>();
                if beyond > tol {
                    into.push(format!("no leaf ({beyond:.1} m²)"));
                }
                violations.push(v(
                    Rule::CrossesLeaf,
                    format!(
                        "reaches {:.1} m² outside its leaf {}, into {}",
                        outside,
                        leaf_code.as_deref().unwrap_or("?"),
                        into.join(", ")
                    ),
                    outside,
                ));
            }
            _ => {}
        }
        // Parts smaller than the sliver tolerance are rounding noise, not parts.
        let real_parts: Vec<MultiPolygon> = grid
            .geometry
            .0
            .iter()
            .map(|p| MultiPolygon(vec![p.clone()]))
            .filter(|p| grid.geometry.0.len() == 1 || geometry::area_m2(p) > tol)
            .collect();
        let parts = real_parts.len().max(1);
        if let (true, Some(l)) = (parts > 1, leaf) {
            let leaf_geom = &tree.areas[l].geometry;
            let mut homes = BTreeSet::new();
            let mut distinct = true;
            for part in real_parts {
                let best = (0..leaf_geom.0.len()).max_by(|&a, &b| {
                    let ia = geometry::intersection_area(
                        &part,
                        &MultiPolygon(vec![leaf_geom.0[a].clone()]),
                    );
                    let ib = geometry::intersection_area(
                        &part,
                        &MultiPolygon(vec![leaf_geom.0[b].clone()]),
                    );
                    ia.total_cmp(&ib)
                });
                if let Some(best) = best {
                    distinct &= homes.insert(best);
                }
            }
            if !distinct {
                violations.push(v(
                    Rule::MultiPart,
                    format!("the grid has {parts} separate parts"),
                    parts as f64,
                ));
            }
        }
        rows.push(GridRow {
            id: grid.id.clone(),
            community: leaf_code,
            kind,
            households: hh[g],
            population,
            buildings: buildings[g].len(),
            min: band.map(|b| b.min_households),
            max: band.map(|b| b.max_households),
            status,
            population_alert: alert,
            area_m2: grid_area[g],
            outside_leaf_m2: outside,
            parts,
            compactness: geometry::polsby_popper(&grid.geometry),
        });
    }

    // Buildings split across grids: a fault, unless the building is larger than a grid may be.
    let mut oversize_splits = Vec::new();
    let mut split: Vec<(&BuildingKey, &BTreeSet<usize>)> = building_grids
        .iter()
        .filter(|(_, gs)| gs.len() > 1)
        .collect();
    split.sort();
    for (key, gs) in &split {
        let (leaf, what) = match key {
            BuildingKey::Named(l, b) => (*l, format!("building \"{b}\"")),
            BuildingKey::At(l, _, _) => (*l, "a building (points at one position)".to_string()),
        };
        let names: Vec<&str> = gs.iter().map(|&g| grids[g].id.as_str()).collect();
        let size = building_households.get(*key).copied().unwrap_or(0);
        let max = leaf
            .and_then(|l| tree.kind(l))
            .and_then(|k| rules.kind(k))
            .map(|b| b.max_households as u64);
        if max.is_some_and(|m| size > m) {
            // Larger than any grid may be: splitting it (by entrance) is required, not a fault.
            oversize_splits.push(OversizeSplit {
                leaf: leaf.map(|l| tree.areas[l].code.clone()),
                building: match key {
                    BuildingKey::Named(_, b) => Some(b.to_string()),
                    BuildingKey::At(..) => None,
                },
                households: size,
                grids: names.iter().map(|n| n.to_string()).collect(),
            });
            continue;
        }
        violations.push(Violation {
            rule: Rule::SplitBuilding,
            grid: Some(names.join(",")),
            leaf: leaf.map(|l| tree.areas[l].code.clone()),
            message: format!(
                "{what} ({size} households) is split across grids {}",
                names.join(", ")
            ),
            value: Some(gs.len() as f64),
        });
    }

    // Leaves.
    let mut grids_per_leaf = vec![0usize; leaves.len()];
    for p in home.iter().flatten() {
        grids_per_leaf[*p] += 1;
    }
    let mut leaf_rows = Vec::with_capacity(leaves.len());
    let mut infeasible = Vec::new();
    for (p, &l) in leaves.iter().enumerate() {
        let area = &tree.areas[l];
        let kind = tree.kind(l).map(str::to_string);
        let leaf_area = geometry::area_m2(&area.geometry);
        let tol = rules
            .check
            .tolerance_m2(geometry::perimeter_m(&area.geometry));
        let cover = &covers[p];
        let gap = (leaf_area - cover.covered).max(0.0);
        let overlap = (cover.pieces.iter().map(|x| x.1).sum::<f64>() - cover.covered).max(0.0);
        let why = kind
            .as_deref()
            .and_then(|k| rules.kind(k))
            .and_then(|k| k.infeasibility(leaf_hh[p]));
        if let Some(why) = &why {
            infeasible.push(InfeasibleLeaf {
                leaf: area.code.clone(),
                households: leaf_hh[p],
                why: why.clone(),
            });
        }
        let v = |rule, message: String, value: f64| Violation {
            rule,
            grid: None,
            leaf: Some(area.code.clone()),
            message,
            value: Some(value),
        };
        if cover.pieces.is_empty() {
            violations.push(v(
                Rule::LeafWithoutGrid,
                "no grid covers this leaf".to_string(),
                leaf_area,
            ));
        } else if gap > tol {
            violations.push(v(
                Rule::Gap,
                format!(
                    "{gap:.1} m² of the leaf ({:.3} %) lie in no grid",
                    100.0 * gap / leaf_area.max(f64::MIN_POSITIVE)
                ),
                gap,
            ));
        }
        if overlap > tol {
            violations.push(v(
                Rule::Overlap,
                format!("{overlap:.1} m² of the leaf lie in two or more grids"),
                overlap,
            ));
        }
        if leaf_unassigned[p] > 0 {
            violations.push(v(
                Rule::HouseholdsOutsideGrids,
                format!(
                    "{} household(s) of this leaf lie in no grid",
                    leaf_unassigned[p]
                ),
                leaf_unassigned[p] as f64,
            ));
        }
        leaf_rows.push(LeafRow {
            code: area.code.clone(),
            name: area.name.clone(),
            kind,
            households: leaf_hh[p],
            grids: grids_per_leaf[p],
            area_m2: leaf_area,
            gap_area_m2: gap,
            overlap_area_m2: overlap,
            households_outside_grids: leaf_unassigned[p],
            infeasible: why,
        });
    }
    violations.sort_by(|a, b| (a.rule, &a.leaf, &a.grid).cmp(&(b.rule, &b.leaf, &b.grid)));

    let count = |r: Rule| violations.iter().filter(|v| v.rule == r).count();
    let status_count = |s: BandStatus| rows.iter().filter(|r| r.status == Some(s)).count();
    let summary = Summary {
        compliant: violations.is_empty(),
        violations: violations.len(),
        grids: grids.len(),
        ok: status_count(BandStatus::Ok),
        under: status_count(BandStatus::Under),
        over: status_count(BandStatus::Over),
        households_total: data.total_households(),
        households_assigned: assigned,
        households_unassigned: unassigned,
        households_outside_leaves: data.outside,
        population_known,
        population_alerts: count(Rule::PopulationAlert),
        gap_area_m2: leaf_rows.iter().map(|l| l.gap_area_m2).sum(),
        overlap_area_m2: leaf_rows.iter().map(|l| l.overlap_area_m2).sum(),
        grids_crossing_leaf: count(Rule::CrossesLeaf),
        grids_outside_leaves: count(Rule::OutsideLeaves),
        multi_part_grids: count(Rule::MultiPart),
        split_buildings: count(Rule::SplitBuilding),
        empty_grids: count(Rule::EmptyGrid),
        leaves: leaves.len(),
        leaves_without_grid: count(Rule::LeafWithoutGrid),
        leaves_infeasible: infeasible,
        mean_compactness: if rows.is_empty() {
            0.0
        } else {
            rows.iter().map(|r| r.compactness).sum::<f64>() / rows.len() as f64
        },
        working_crs: data.working.to_string(),
    };
    let mut warnings = data.warnings.0.clone();
    if !population_known {
        let missing = data
            .households
            .iter()
            .filter(|h| h.population.is_none())
            .count();
        warnings.push(
            Problem::warning(
                "households",
                format!(
                    "{missing} household point(s) have no `population`: population rules cannot be fully checked, and grids holding them report population as unknown"
                ),
            )
            .field("population"),
        );
    }
    CheckReport {
        summary,
        violations,
        grids: rows,
        leaves: leaf_rows,
        oversize_buildings_split: oversize_splits,
        warnings,
    }
}
