//! Re-drawing after boundary or household changes (`gridplan partition --previous`), keeping what did
//! not change.
//!
//! Per leaf of the new boundaries:
//! - **unchanged**: its previous grids still tile it (their areas sum to the leaf's, their extent is the
//!   leaf's) and every one still holds the households it declared, all of them its own: the grids are
//!   kept exactly (ids, geometry, households);
//! - **reshaped**: the previous grids are clipped to the new leaf; households stay in the grid they fell
//!   in. Only what breaks the rules is re-drawn: grids out of the band, grids whose households now sit in
//!   separate parts, and land no previous grid of the leaf covers (a merged village, a moved compound).
//!   That region grows by the nearest kept grid until a whole number of grids fits its households, then is
//!   cut by the partition engine; new grids inherit ids by largest household overlap, others get new ids;
//! - **new**: no previous grid carries its code: partitioned from scratch.
//!
//! Previous communities that are no longer leaves are reported as removed.

use crate::input::dataset::Dataset;
use crate::model::GridShape;
use crate::plan::partition::{self, Atom, BuildingSplit};
use crate::rules::{KindRules, Rules};
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use geo::{BooleanOps, BoundingRect, Centroid, Coord, MultiPolygon};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What happened to a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Unchanged,
    Reshaped,
    New,
}

/// One leaf's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeafChange {
    pub leaf: String,
    pub change: Change,
    /// Grids kept as they were (same id; clipped when the leaf shrank).
    pub grids_kept: Vec<String>,
    /// Grids drawn anew (inherited or new ids).
    pub grids_redrawn: Vec<String>,
    /// Previous grids of this leaf that no longer exist.
    pub grids_removed: Vec<String>,
}

/// The re-drawn plan.
pub struct Replan {
    pub grids: Vec<GridShape>,
    pub leaves: Vec<LeafChange>,
    /// Previous community codes that are no longer leaves.
    pub removed_leaves: Vec<String>,
    pub splits: Vec<BuildingSplit>,
}

/// The community code of a previous grid: its `community`, else its id up to `-G`.
fn code_of(g: &GridShape) -> String {
    g.community.clone().unwrap_or_else(|| {
        g.id.rsplit_once("-G")
            .map(|(c, _)| c.to_string())
            .unwrap_or_default()
    })
}

fn grid_number(id: &str) -> Option<u32> {
    id.rsplit_once("-G").and_then(|(_, n)| n.parse().ok())
}

/// Re-draws the dataset's leaves against `previous` grids (in the working CRS).
pub fn replan(data: &Dataset, rules: &Rules, previous: &[GridShape]) -> Replan {
    let index = PolygonIndex::new(previous.iter().map(|g| &g.geometry).collect());
    let prev_grid: Vec<Option<usize>> = data
        .households
        .par_iter()
        .map(|h| index.containing(h.pos).first().copied())
        .collect();
    let mut by_code: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, g) in previous.iter().enumerate() {
        by_code.entry(code_of(g)).or_default().push(i);
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, l) in data.leaf_of.iter().enumerate() {
        if let Some(l) = l {
            members.entry(*l).or_default().push(i);
        }
    }
    let leaves = data.tree.leaves();
    let results: Vec<(Vec<GridShape>, LeafChange, Vec<BuildingSplit>)> = leaves
        .par_iter()
        .filter_map(|&l| {
            let band = rules.kind(data.tree.kind(l)?)?;
            let code = &data.tree.areas[l].code;
            let empty = Vec::new();
            let mine = members.get(&l).unwrap_or(&empty);
            let prev = by_code.get(code).map(Vec::as_slice).unwrap_or(&[]);
            Some(replan_leaf(
                data, rules, l, band, mine, previous, prev, &prev_grid,
            ))
        })
        .collect();
    let current: BTreeSet<&str> = leaves
        .iter()
        .map(|&l| data.tree.areas[l].code.as_str())
        .collect();
    let mut removed_leaves: Vec<String> = by_code
        .keys()
        .filter(|c| !current.contains(c.as_str()))
        .cloned()
        .collect();
    removed_leaves.sort();
    let mut grids = Vec::new();
    let mut changes = Vec::new();
    let mut splits = Vec::new();
    for (g, c, s) in results {
        grids.extend(g);
        changes.push(c);
        splits.extend(s);
    }
    for (n, g) in grids.iter_mut().enumerate() {
        g.feature = n;
    }
    Replan {
        grids,
        leaves: changes,
        removed_leaves,
        splits,
    }
}

fn shape(id: String, code: &str, geometry: MultiPolygon) -> GridShape {
    GridShape {
        feature: 0,
        id,
        community: Some(code.to_string()),
        geometry,
        declared_households: None,
        primary_worker: None,
    }
}

/// A previous grid clipped to the new leaf, with the atoms it holds.
struct Piece {
    id: String,
    geometry: MultiPolygon,
    atoms: Vec<usize>,
}

#[allow(clippy::too_many_arguments)]
fn replan_leaf(
    data: &Dataset,
    rules: &Rules,
    l: usize,
    band: &KindRules,
    members: &[usize],
    previous: &[GridShape],
    prev: &[usize],
    prev_grid: &[Option<usize>],
) -> (Vec<GridShape>, LeafChange, Vec<BuildingSplit>) {
    let leaf = &data.tree.areas[l];
    let code = leaf.code.as_str();
    if !prev.is_empty() && unchanged(data, leaf, members, previous, prev, prev_grid) {
        let grids: Vec<GridShape> = prev.iter().map(|&g| previous[g].clone()).collect();
        let change = LeafChange {
            leaf: code.to_string(),
            change: Change::Unchanged,
            grids_kept: grids.iter().map(|g| g.id.clone()).collect(),
            grids_redrawn: vec![],
            grids_removed: vec![],
        };
        return (grids, change, vec![]);
    }
    let (atoms, splits) = partition::atoms(&data.households, members, code, band);
    let total: u64 = atoms.iter().map(|a| a.households).sum();
    let policy = rules.partition.count_policy;
    if prev.is_empty() {
        let (k, _) = partition::grid_count(band, total, policy);
        let pieces = partition::partition_region(&leaf.geometry, &atoms, k, band, &data.households);
        let grids = number(code, pieces);
        let change = LeafChange {
            leaf: code.to_string(),
            change: Change::New,
            grids_kept: vec![],
            grids_redrawn: grids.iter().map(|g| g.id.clone()).collect(),
            grids_removed: vec![],
        };
        return (grids, change, splits);
    }

    // Clip the previous grids to the new leaf; put each atom in the piece holding its centre.
    let tol = rules
        .check
        .tolerance_m2(geometry::perimeter_m(&leaf.geometry));
    let mut pieces: Vec<Piece> = prev
        .iter()
        .filter_map(|&g| {
            let clipped = geometry::normalized(previous[g].geometry.intersection(&leaf.geometry));
            // Slivers that clipping leaves along the new boundary are dropped (below the tolerance).
            let clipped = MultiPolygon(
                clipped
                    .0
                    .into_iter()
                    .filter(|p| geometry::area_m2(&MultiPolygon(vec![p.clone()])) > tol)
                    .collect(),
            );
            let area = geometry::area_m2(&clipped);
            (area > tol).then(|| Piece {
                id: previous[g].id.clone(),
                geometry: clipped,
                atoms: vec![],
            })
        })
        .collect();
    let covered = geometry::normalized(geo::unary_union(pieces.iter().map(|p| &p.geometry)));
    let new_land: Vec<MultiPolygon> = geometry::normalized(leaf.geometry.difference(&covered))
        .0
        .into_iter()
        .map(|p| MultiPolygon(vec![p]))
        .filter(|p| geometry::area_m2(p) > tol)
        .collect();
    let piece_index = PolygonIndex::new(
        pieces
            .iter()
            .map(|p| p.geometry.clone())
            .collect::<Vec<_>>(),
    );
    let mut loose: Vec<usize> = Vec::new();
    for (a, atom) in atoms.iter().enumerate() {
        match piece_index.containing(atom.centre).first() {
            Some(&p) => pieces[p].atoms.push(a),
            None => loose.push(a),
        }
    }
    let weight = |ids: &[usize]| -> u64 { ids.iter().map(|&a| atoms[a].households).sum() };
    let reachable = !band.feasible_counts(total).is_empty();
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let mut in_region: Vec<bool> = pieces
        .iter()
        .map(|p| {
            let w = weight(&p.atoms);
            let out_of_band = reachable && (w < min || w > max);
            out_of_band || fragmented(&p.geometry, &p.atoms, &atoms) || p.atoms.is_empty()
        })
        .collect();
    if in_region.iter().all(|r| !r) && new_land.is_empty() && loose.is_empty() {
        // Households moved within the rules only: every grid kept (clipped where the leaf shrank).
        let grids: Vec<GridShape> = pieces
            .into_iter()
            .map(|p| shape(p.id, code, p.geometry))
            .collect();
        let removed = removed_ids(previous, prev, &grids);
        let change = LeafChange {
            leaf: code.to_string(),
            change: Change::Reshaped,
            grids_kept: grids.iter().map(|g| g.id.clone()).collect(),
            grids_redrawn: vec![],
            grids_removed: removed,
        };
        return (grids, change, splits);
    }
    // Grow the region by the nearest kept grid until its households fit a whole number of grids, or
    // until it has to take land that no piece borders (empty new land alone needs a neighbour).
    let region_weight = |in_region: &[bool]| -> u64 {
        pieces
            .iter()
            .zip(in_region)
            .filter(|(_, r)| **r)
            .map(|(p, _)| weight(&p.atoms))
            .sum::<u64>()
            + weight(&loose)
    };
    let centre_of = |mps: &[&MultiPolygon]| -> Coord {
        let u = geo::unary_union(mps.iter().copied());
        u.centroid()
            .map(|p| p.0)
            .unwrap_or(Coord { x: 0.0, y: 0.0 })
    };
    // The land being re-drawn: the grids marked for it and the land no previous grid covered.
    let region_parts = |in_region: &[bool]| -> Vec<&MultiPolygon> {
        pieces
            .iter()
            .zip(in_region)
            .filter(|(_, r)| **r)
            .map(|(p, _)| &p.geometry)
            .chain(new_land.iter())
            .collect()
    };
    loop {
        let w = region_weight(&in_region);
        let fits = w > 0 && !band.feasible_counts(w).is_empty();
        let any_region = in_region.iter().any(|r| *r);
        if (fits && any_region) || in_region.iter().all(|r| *r) || (!reachable && any_region) {
            break;
        }
        let c = centre_of(&region_parts(&in_region));
        let away = |i: usize| {
            pieces[i]
                .geometry
                .centroid()
                .map_or(f64::INFINITY, |p| (p.x() - c.x).hypot(p.y() - c.y))
        };
        let next = (0..pieces.len())
            .filter(|&i| !in_region[i])
            .min_by(|&a, &b| away(a).total_cmp(&away(b)));
        match next {
            Some(i) => in_region[i] = true,
            None => break,
        }
    }
    let region = geometry::normalized(geo::unary_union(region_parts(&in_region)));
    let region_atoms: Vec<usize> = pieces
        .iter()
        .zip(&in_region)
        .filter(|(_, r)| **r)
        .flat_map(|(p, _)| p.atoms.iter().copied())
        .chain(loose.iter().copied())
        .collect();
    let old_of_atom: HashMap<usize, &str> = pieces
        .iter()
        .flat_map(|p| p.atoms.iter().map(move |&a| (a, p.id.as_str())))
        .collect();
    let region_atom_list: Vec<Atom> = region_atoms.iter().map(|&a| atoms[a].clone()).collect();
    let (k, _) = partition::grid_count(band, weight(&region_atoms), policy);
    let drawn = partition::partition_region(&region, &region_atom_list, k, band, &data.households);

    // Inherit ids by largest household overlap with the region's previous grids of this leaf.
    let drawn_index = PolygonIndex::new(drawn.iter().collect());
    let mut overlap: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for &a in &region_atoms {
        if let (Some(&d), Some(old)) = (
            drawn_index.containing(atoms[a].centre).first(),
            old_of_atom.get(&a),
        ) {
            *overlap.entry((d, old.to_string())).or_default() += atoms[a].households;
        }
    }
    let mut pairs: Vec<((usize, String), u64)> = overlap.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let kept: Vec<GridShape> = pieces
        .iter()
        .zip(&in_region)
        .filter(|(_, r)| !**r)
        .map(|(p, _)| shape(p.id.clone(), code, p.geometry.clone()))
        .collect();
    let mut taken: BTreeSet<String> = kept.iter().map(|g| g.id.clone()).collect();
    let mut ids: Vec<Option<String>> = vec![None; drawn.len()];
    for ((d, old), _) in pairs {
        if ids[d].is_none() && !taken.contains(&old) && old.starts_with(code) {
            taken.insert(old.clone());
            ids[d] = Some(old);
        }
    }
    let mut next = previous
        .iter()
        .filter(|g| code_of(g) == code)
        .filter_map(|g| grid_number(&g.id))
        .max()
        .unwrap_or(0)
        + 1;
    let mut redrawn = Vec::new();
    for (d, geom) in drawn.into_iter().enumerate() {
        let id = ids[d].take().unwrap_or_else(|| {
            let id = format!("{code}-G{next:02}");
            next += 1;
            id
        });
        redrawn.push(shape(id, code, geom));
    }
    let mut grids = kept;
    let grids_kept: Vec<String> = grids.iter().map(|g| g.id.clone()).collect();
    let grids_redrawn: Vec<String> = redrawn.iter().map(|g| g.id.clone()).collect();
    grids.extend(redrawn);
    let mut grids = tidied(grids, data, members);
    grids.sort_by(|a, b| a.id.cmp(&b.id));
    let removed = removed_ids(previous, prev, &grids);
    let change = LeafChange {
        leaf: code.to_string(),
        change: Change::Reshaped,
        grids_kept,
        grids_redrawn,
        grids_removed: removed,
    };
    (grids, change, splits)
}

/// Parts of grids that hold no households (left by clipping) join the neighbour they share most edge with.
fn tidied(grids: Vec<GridShape>, data: &Dataset, members: &[usize]) -> Vec<GridShape> {
    let ids: Vec<(String, Option<String>)> = grids
        .iter()
        .map(|g| (g.id.clone(), g.community.clone()))
        .collect();
    let shapes = partition::tidy(
        grids.into_iter().map(|g| g.geometry).collect(),
        &data.households,
        members,
    );
    ids.into_iter()
        .zip(shapes)
        .map(|((id, community), geometry)| {
            shape(id, community.as_deref().unwrap_or_default(), geometry)
        })
        .collect()
}

fn removed_ids(previous: &[GridShape], prev: &[usize], now: &[GridShape]) -> Vec<String> {
    let now: BTreeSet<&str> = now.iter().map(|g| g.id.as_str()).collect();
    prev.iter()
        .map(|&g| previous[g].id.clone())
        .filter(|id| !now.contains(id.as_str()))
        .collect()
}

/// Ids for a freshly drawn leaf, north to south then west to east.
fn number(code: &str, pieces: Vec<MultiPolygon>) -> Vec<GridShape> {
    let mut ordered: Vec<(Coord, MultiPolygon)> = pieces
        .into_iter()
        .map(|p| {
            (
                p.centroid()
                    .map(|c| c.0)
                    .unwrap_or(Coord { x: 0.0, y: 0.0 }),
                p,
            )
        })
        .collect();
    ordered.sort_by(|a, b| b.0.y.total_cmp(&a.0.y).then(a.0.x.total_cmp(&b.0.x)));
    ordered
        .into_iter()
        .enumerate()
        .map(|(n, (_, g))| shape(format!("{code}-G{:02}", n + 1), code, g))
        .collect()
}

fn fragmented(region: &MultiPolygon, ids: &[usize], atoms: &[Atom]) -> bool {
    if region.0.len() <= 1 {
        return false;
    }
    region
        .0
        .iter()
        .filter(|part| {
            let mp = MultiPolygon(vec![(*part).clone()]);
            ids.iter()
                .any(|&a| geometry::contains(&mp, atoms[a].centre))
        })
        .count()
        > 1
}

/// The leaf is unchanged when its previous grids tile it as before and hold the same households.
fn unchanged(
    data: &Dataset,
    leaf: &crate::model::Area,
    members: &[usize],
    previous: &[GridShape],
    prev: &[usize],
    prev_grid: &[Option<usize>],
) -> bool {
    let mut counts: HashMap<usize, u64> = HashMap::new();
    for &i in members {
        match prev_grid[i] {
            Some(g) if prev.contains(&g) => {
                *counts.entry(g).or_default() += data.households[i].households as u64
            }
            _ => return false,
        }
    }
    for &g in prev {
        if let Some(declared) = previous[g].declared_households
            && counts.get(&g).copied().unwrap_or(0) != declared
        {
            return false;
        }
    }
    let leaf_area = geometry::area_m2(&leaf.geometry);
    let sum: f64 = prev
        .iter()
        .map(|&g| geometry::area_m2(&previous[g].geometry))
        .sum();
    if (sum - leaf_area).abs() > (1e-5 * leaf_area).max(1.0) {
        return false;
    }
    let bbox = prev
        .iter()
        .filter_map(|&g| previous[g].geometry.bounding_rect())
        .reduce(|a, b| {
            geo::Rect::new(
                Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        });
    match (bbox, leaf.geometry.bounding_rect()) {
        (Some(a), Some(b)) => {
            const EDGE_M: f64 = 1.0;
            (a.min().x - b.min().x).abs() < EDGE_M
                && (a.min().y - b.min().y).abs() < EDGE_M
                && (a.max().x - b.max().x).abs() < EDGE_M
                && (a.max().y - b.max().y).abs() < EDGE_M
        }
        _ => false,
    }
}
