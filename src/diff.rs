//! What changed between two grid layers, household by household (`gridplan diff`): households that
//! changed grid (counted per pair of old and new grid), grids created, removed, kept and reshaped, and
//! the workers whose grids changed. Works between any two layers, so it also measures how far apart the
//! departmental grids being merged into one comprehensive grid are (多网合一): household-weighted
//! agreement of each old grid with the new layer.

use crate::model::{GridShape, Household};
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Households moving from one grid to another (either may be none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Move {
    pub from: Option<String>,
    pub to: Option<String>,
    pub households: u64,
}

/// How one old grid's households spread over the new layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub grid: String,
    pub households: u64,
    /// The new grid holding most of them.
    pub main_new_grid: Option<String>,
    /// Share of the old grid's households in that new grid (1.0: the grid survives whole).
    pub share: f64,
}

/// A worker whose grids changed: they hold other grids, or a grid they hold (before or after) gained
/// or lost households or land, or was created or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerChange {
    pub worker: String,
    pub old_grids: Vec<String>,
    pub new_grids: Vec<String>,
    /// Of the worker's grids (old and new), those not kept as they were: reshaped, created or removed.
    pub changed_grids: Vec<String>,
}

/// A household that changed grid: only in the planner's full output (`--include-ids`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdMove {
    pub feature: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffSummary {
    pub households: u64,
    /// Households whose grid id is the same in both layers.
    pub households_kept: u64,
    pub households_moved: u64,
    pub share_kept: f64,
    /// Household-weighted agreement: Σ over old grids of the households in their main new grid, over
    /// all households in an old grid.
    pub agreement: f64,
    pub grids_old: usize,
    pub grids_new: usize,
    pub created: usize,
    pub removed: usize,
    pub kept: usize,
    pub reshaped: usize,
    pub workers_changed: usize,
}

/// `diff.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    pub summary: DiffSummary,
    pub created: Vec<String>,
    pub removed: Vec<String>,
    /// Same id, same households, same land.
    pub kept: Vec<String>,
    /// Same id, different households or land.
    pub reshaped: Vec<String>,
    /// Households per (old grid, new grid) pair where the grid changed.
    pub moves: Vec<Move>,
    pub agreement: Vec<Agreement>,
    pub workers: Vec<WorkerChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub household_moves: Vec<HouseholdMove>,
    /// Warnings from reading the layers and households (the caller adds them): counted, never dropped.
    pub warnings: Vec<crate::problem::Problem>,
}

/// Compares two grid layers (in the same working CRS) over the households.
pub fn diff(
    households: &[Household],
    old: &[GridShape],
    new: &[GridShape],
    include_ids: bool,
) -> Diff {
    let old_index = PolygonIndex::new(old.iter().map(|g| &g.geometry).collect());
    let new_index = PolygonIndex::new(new.iter().map(|g| &g.geometry).collect());
    let place: Vec<(Option<usize>, Option<usize>)> = households
        .par_iter()
        .map(|h| {
            (
                old_index.containing(h.pos).first().copied(),
                new_index.containing(h.pos).first().copied(),
            )
        })
        .collect();
    let id = |layer: &[GridShape], g: Option<usize>| g.map(|g| layer[g].id.clone());
    let mut pairs: BTreeMap<(Option<String>, Option<String>), u64> = BTreeMap::new();
    let mut old_sets: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut new_sets: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut per_old: BTreeMap<String, BTreeMap<Option<String>, u64>> = BTreeMap::new();
    let (mut total, mut kept_households) = (0u64, 0u64);
    let mut household_moves = Vec::new();
    for (i, (h, (o, n))) in households.iter().zip(&place).enumerate() {
        let w = h.households as u64;
        total += w;
        let (o, n) = (id(old, *o), id(new, *n));
        if let Some(o) = &o {
            old_sets.entry(o.clone()).or_default().insert(i);
            *per_old
                .entry(o.clone())
                .or_default()
                .entry(n.clone())
                .or_default() += w;
        }
        if let Some(n) = &n {
            new_sets.entry(n.clone()).or_default().insert(i);
        }
        if o == n {
            kept_households += w;
        } else {
            if include_ids {
                household_moves.push(HouseholdMove {
                    feature: h.feature,
                    id: h.id.as_deref().map(str::to_string),
                    from: o.clone(),
                    to: n.clone(),
                });
            }
            *pairs.entry((o, n)).or_default() += w;
        }
    }
    let old_ids: BTreeSet<&str> = old.iter().map(|g| g.id.as_str()).collect();
    let new_ids: BTreeSet<&str> = new.iter().map(|g| g.id.as_str()).collect();
    let created: Vec<String> = new_ids
        .difference(&old_ids)
        .map(|s| s.to_string())
        .collect();
    let removed: Vec<String> = old_ids
        .difference(&new_ids)
        .map(|s| s.to_string())
        .collect();
    let (mut kept, mut reshaped) = (Vec::new(), Vec::new());
    let new_by_id: BTreeMap<&str, &GridShape> = new.iter().map(|g| (g.id.as_str(), g)).collect();
    for g in old {
        let Some(n) = new_by_id.get(g.id.as_str()) else {
            continue;
        };
        let same_households = old_sets.get(&g.id) == new_sets.get(&g.id);
        let (a, b) = (
            geometry::area_m2(&g.geometry),
            geometry::area_m2(&n.geometry),
        );
        let same_land = (a - b).abs() <= (1e-6 * a).max(1.0)
            && geometry::bbox(&g.geometry)
                .zip(geometry::bbox(&n.geometry))
                .is_some_and(|(x, y)| {
                    (x.min().x - y.min().x).abs() < 0.5
                        && (x.min().y - y.min().y).abs() < 0.5
                        && (x.max().x - y.max().x).abs() < 0.5
                        && (x.max().y - y.max().y).abs() < 0.5
                });
        if same_households && same_land {
            kept.push(g.id.clone());
        } else {
            reshaped.push(g.id.clone());
        }
    }
    let mut agreement = Vec::new();
    let mut agreed = 0u64;
    let mut in_old = 0u64;
    for g in old {
        let spread = per_old.get(&g.id);
        let households: u64 = spread.map(|s| s.values().sum()).unwrap_or(0);
        let main = spread.and_then(|s| s.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))));
        let in_main = main.map(|m| *m.1).unwrap_or(0);
        agreed += in_main;
        in_old += households;
        agreement.push(Agreement {
            grid: g.id.clone(),
            households,
            main_new_grid: main.and_then(|m| m.0.clone()),
            share: if households == 0 {
                1.0
            } else {
                in_main as f64 / households as f64
            },
        });
    }
    let kept_ids: BTreeSet<&str> = kept.iter().map(String::as_str).collect();
    let workers = worker_changes(old, new, &kept_ids);
    let moves: Vec<Move> = pairs
        .into_iter()
        .map(|((from, to), households)| Move {
            from,
            to,
            households,
        })
        .collect();
    Diff {
        summary: DiffSummary {
            households: total,
            households_kept: kept_households,
            households_moved: total - kept_households,
            share_kept: if total == 0 {
                1.0
            } else {
                kept_households as f64 / total as f64
            },
            agreement: if in_old == 0 {
                1.0
            } else {
                agreed as f64 / in_old as f64
            },
            grids_old: old.len(),
            grids_new: new.len(),
            created: created.len(),
            removed: removed.len(),
            kept: kept.len(),
            reshaped: reshaped.len(),
            workers_changed: workers.len(),
        },
        created,
        removed,
        kept,
        reshaped,
        moves,
        agreement,
        workers,
        household_moves,
        warnings: Vec::new(),
    }
}

/// The workers whose grids changed. A worker is affected when the grids they hold differ between the
/// layers, or when a grid they hold in either layer is not among `kept` (same id, same households,
/// same land). When only one layer names workers (`primary_worker`: an assignment compared with a
/// plain grids file), the workers are taken to hold the same grid ids in the other.
fn worker_changes(
    old: &[GridShape],
    new: &[GridShape],
    kept: &BTreeSet<&str>,
) -> Vec<WorkerChange> {
    let holdings = |layer: &[GridShape]| {
        let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for g in layer {
            if let Some(w) = &g.primary_worker {
                m.entry(w.clone()).or_default().insert(g.id.clone());
            }
        }
        m
    };
    let (mut a, mut b) = (holdings(old), holdings(new));
    if b.is_empty() {
        // The new layer names no workers: each keeps their grid ids where the new layer has them.
        let ids: BTreeSet<&str> = new.iter().map(|g| g.id.as_str()).collect();
        b = a
            .iter()
            .map(|(w, gs)| {
                let held = gs.iter().filter(|g| ids.contains(g.as_str())).cloned();
                (w.clone(), held.collect())
            })
            .collect();
    } else if a.is_empty() {
        let ids: BTreeSet<&str> = old.iter().map(|g| g.id.as_str()).collect();
        a = b
            .iter()
            .map(|(w, gs)| {
                let held = gs.iter().filter(|g| ids.contains(g.as_str())).cloned();
                (w.clone(), held.collect())
            })
            .collect();
    }
    let workers: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    workers
        .into_iter()
        .filter_map(|w| {
            let (o, n) = (
                a.get(w).cloned().unwrap_or_default(),
                b.get(w).cloned().unwrap_or_default(),
            );
            let changed: BTreeSet<String> = o
                .iter()
                .chain(&n)
                .filter(|g| !kept.contains(g.as_str()))
                .cloned()
                .collect();
            (o != n || !changed.is_empty()).then(|| WorkerChange {
                worker: w.clone(),
                old_grids: o.into_iter().collect(),
                new_grids: n.into_iter().collect(),
                changed_grids: changed.into_iter().collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{grid, household, rect};

    #[test]
    fn households_that_change_grid_are_counted_per_pair() {
        let households = vec![
            household(10.0, 10.0, 3, None),
            household(60.0, 10.0, 2, None),
            household(90.0, 10.0, 1, None),
        ];
        let old = [
            grid("A", "C", rect(0.0, 0.0, 50.0, 20.0)),
            grid("B", "C", rect(50.0, 0.0, 100.0, 20.0)),
        ];
        // A grows east to 70 m: the 2 households at x = 60 move from B to A.
        let new = [
            grid("A", "C", rect(0.0, 0.0, 70.0, 20.0)),
            grid("B", "C", rect(70.0, 0.0, 100.0, 20.0)),
        ];
        let d = diff(&households, &old, &new, true);
        assert_eq!(d.summary.households, 6);
        assert_eq!(d.summary.households_kept, 4);
        assert_eq!(d.summary.households_moved, 2);
        assert_eq!(d.moves.len(), 1);
        assert_eq!(
            (d.moves[0].from.as_deref(), d.moves[0].to.as_deref()),
            (Some("B"), Some("A"))
        );
        assert_eq!(d.moves[0].households, 2);
        assert_eq!(d.reshaped, vec!["A".to_string(), "B".to_string()]);
        assert_eq!(d.household_moves.len(), 1);
    }

    #[test]
    fn identical_layers_keep_everything() {
        let households = vec![household(10.0, 10.0, 3, None)];
        let layer = [grid("A", "C", rect(0.0, 0.0, 50.0, 20.0))];
        let d = diff(&households, &layer, &layer, false);
        assert_eq!(d.summary.households_kept, 3);
        assert_eq!(d.kept, vec!["A".to_string()]);
        assert!(d.moves.is_empty() && d.created.is_empty() && d.removed.is_empty());
        assert!((d.summary.agreement - 1.0).abs() < 1e-12);
    }

    /// A worker whose grid keeps its id but gains households is affected; a worker whose grid is
    /// kept exactly is not.
    #[test]
    fn a_worker_whose_grid_gained_households_is_affected() {
        let households = vec![
            household(10.0, 10.0, 300, None),
            household(60.0, 10.0, 120, None),
            household(90.0, 10.0, 300, None),
            household(130.0, 10.0, 300, None),
        ];
        let held = |id: &str, w: &str, r| {
            let mut g = grid(id, "C", r);
            g.primary_worker = Some(w.to_string());
            g
        };
        let old = [
            held("A", "W1", rect(0.0, 0.0, 50.0, 20.0)),
            held("B", "W2", rect(50.0, 0.0, 100.0, 20.0)),
            held("C", "W3", rect(100.0, 0.0, 150.0, 20.0)),
        ];
        // A grows east to 70 m: 120 households move from B to A; C stays exactly.
        let new = [
            held("A", "W1", rect(0.0, 0.0, 70.0, 20.0)),
            held("B", "W2", rect(70.0, 0.0, 100.0, 20.0)),
            held("C", "W3", rect(100.0, 0.0, 150.0, 20.0)),
        ];
        let d = diff(&households, &old, &new, false);
        let affected: Vec<&str> = d.workers.iter().map(|w| w.worker.as_str()).collect();
        assert_eq!(affected, ["W1", "W2"]);
        assert_eq!(d.summary.workers_changed, 2);
        assert_eq!(d.workers[0].changed_grids, ["A".to_string()]);
        assert_eq!(d.workers[0].old_grids, d.workers[0].new_grids);
        // Against a plain grids layer (no workers named) the old layer's workers are judged alike.
        let plain: Vec<GridShape> = new
            .iter()
            .cloned()
            .map(|mut g| {
                g.primary_worker = None;
                g
            })
            .collect();
        let d = diff(&households, &old, &plain, false);
        let affected: Vec<&str> = d.workers.iter().map(|w| w.worker.as_str()).collect();
        assert_eq!(affected, ["W1", "W2"]);
    }

    #[test]
    fn grids_only_in_one_layer_are_created_or_removed() {
        let households = vec![household(10.0, 10.0, 1, None)];
        let old = [grid("A", "C", rect(0.0, 0.0, 50.0, 20.0))];
        let new = [grid("Z", "C", rect(0.0, 0.0, 50.0, 20.0))];
        let d = diff(&households, &old, &new, false);
        assert_eq!(d.created, vec!["Z".to_string()]);
        assert_eq!(d.removed, vec!["A".to_string()]);
        assert_eq!(d.summary.households_moved, 1);
    }
}
