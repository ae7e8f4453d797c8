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
//!
//! **Numbers and records.** A kept grid keeps its id, hence its number, and its record (name, kind,
//! who answers for it, `valid_from`); a re-drawn grid that inherits an id inherits that grid's record.
//! A new grid takes the next number after the highest ever issued in its community: the highest of
//! the previous grids' numbers, their `last_seq`, and the numbers of the grids the previous file
//! records as retired ([`crate::plan::numbering`]), so a retired number is never issued again. Every
//! previous grid that is gone is **retired**: it keeps its record, gets `valid_to` = the re-draw's date,
//! and joins the record of retired grids (with those the previous file retired before), which the
//! grids file carries on. New ids are written in the rules' id style, else in the previous grids' form;
//! when the rules name a style, kept grids are rewritten in it with their number.
//!
//! Dedicated grids of the previous plan are kept as they are in a changed leaf (they are never in the
//! band's re-draw); new dedicated places are not taken on a re-draw.

use crate::input::dataset::Dataset;
use crate::model::{Area, Date, GridKind, GridRecord, GridShape, IdStyle, grid_code};
use crate::plan::numbering::{self, Community, Numbers};
use crate::plan::partition::cells::{self, DividedCell, Ground};
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
    /// Cells larger than a grid's maximum that the re-drawn land held, divided by their buildings
    /// (with ground layers only: the one way a block is cut).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub divided_cells: Vec<DividedCell>,
}

/// The re-drawn plan.
pub struct Replan {
    pub grids: Vec<GridShape>,
    pub leaves: Vec<LeafChange>,
    /// Previous community codes that are no longer leaves.
    pub removed_leaves: Vec<String>,
    pub splits: Vec<BuildingSplit>,
    /// Every grid out of force: those retired by this re-draw (`valid_to` = its date) and those the
    /// previous file recorded as retired.
    pub retired: Vec<GridShape>,
}

/// What a re-draw starts from besides the previous grids.
#[derive(Clone, Copy)]
pub struct Redraw<'a> {
    /// The grids the previous file records as retired.
    pub retired: &'a [GridShape],
    /// The re-draw's date: new grids are in force from it, retired grids up to the day before.
    pub date: Date,
    /// Ground layers (blocks, barriers): re-drawn land is then drawn by the cells engine, as unions of
    /// whole cells, and kept grids that cut a block between them join the re-drawn land.
    pub ground: Option<&'a Ground<'a>>,
}

/// The community code of a previous grid: its `community`, else what its id says.
fn code_of(g: &GridShape) -> String {
    g.community
        .clone()
        .or_else(|| grid_code::read(&g.id).map(|c| c.community.to_string()))
        .unwrap_or_default()
}

/// The number of a grid of `community`, when its id is a code of that community.
fn grid_number(id: &str, community: &str) -> Option<u32> {
    grid_code::read_for(id, community).ok().map(|c| c.number)
}

/// The highest number ever issued per community: over the grids' numbers and the `last_seq` their file
/// recorded.
fn marks<'g>(grids: impl Iterator<Item = &'g GridShape>) -> HashMap<String, u32> {
    let mut out: HashMap<String, u32> = HashMap::new();
    for g in grids {
        let code = code_of(g);
        let n = grid_number(&g.id, &code)
            .into_iter()
            .chain(g.record.last_number)
            .max()
            .unwrap_or(0);
        let e = out.entry(code).or_default();
        *e = (*e).max(n);
    }
    out
}

/// The id style of a re-draw: the rules' when they name one, else legacy when every previous grid
/// whose id is a code is in the legacy form, else standard.
fn style_for(rules: &Rules, previous: &[GridShape]) -> IdStyle {
    if let Some(style) = rules.partition.grid_ids {
        return style;
    }
    let styles: BTreeSet<&'static str> = previous
        .iter()
        .filter_map(|g| grid_code::read_with(&g.id, g.community.as_deref()))
        .map(|c| c.style.name())
        .collect();
    if styles.len() == 1 && styles.contains("legacy") {
        IdStyle::Legacy
    } else {
        IdStyle::Standard
    }
}

/// The grids in force before, indexed once for all leaves.
struct Previous<'a> {
    grids: &'a [GridShape],
    /// The previous grid each household of the dataset lies in.
    grid_of: Vec<Option<usize>>,
    /// The previous grids of each community code.
    by_code: HashMap<String, Vec<usize>>,
    /// The highest number ever issued per community code (previous and retired grids).
    marks: HashMap<String, u32>,
    /// The previous grid of each id.
    by_id: HashMap<&'a str, usize>,
    /// How new ids are written.
    style: IdStyle,
    /// The re-draw's date.
    date: Date,
    /// The ground layers, when given.
    ground: Option<&'a Ground<'a>>,
    /// The blocks of the ground layers, indexed.
    blocks: Option<PolygonIndex<&'a MultiPolygon>>,
}

impl<'a> Previous<'a> {
    fn new(
        data: &Dataset,
        rules: &Rules,
        grids: &'a [GridShape],
        redraw: &Redraw<'a>,
    ) -> Previous<'a> {
        let index = PolygonIndex::new(grids.iter().map(|g| &g.geometry).collect());
        let grid_of = data
            .households
            .par_iter()
            .map(|h| index.containing(h.pos).first().copied())
            .collect();
        let mut by_code: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, g) in grids.iter().enumerate() {
            by_code.entry(code_of(g)).or_default().push(i);
        }
        Previous {
            grids,
            grid_of,
            by_code,
            marks: marks(grids.iter().chain(redraw.retired)),
            by_id: grids
                .iter()
                .enumerate()
                .map(|(i, g)| (g.id.as_str(), i))
                .collect(),
            style: style_for(rules, grids),
            date: redraw.date,
            ground: redraw.ground,
            blocks: redraw
                .ground
                .filter(|g| !g.blocks.is_empty())
                .map(|g| PolygonIndex::new(g.blocks.iter().map(|b| &b.geometry).collect())),
        }
    }

    /// Numbering that continues after the highest number `community` ever had.
    fn numbers(&self, community: &str) -> Numbers {
        Numbers::after(self.marks.get(community).copied().unwrap_or(0))
    }
}

/// One leaf of the new boundaries, with what re-drawing it reads.
struct Leaf<'a> {
    data: &'a Dataset,
    rules: &'a Rules,
    area: &'a Area,
    band: &'a KindRules,
    /// Its households (indices into the dataset's).
    members: &'a [usize],
    /// Its previous grids (indices into `previous.grids`).
    prev: &'a [usize],
    previous: &'a Previous<'a>,
}

impl Leaf<'_> {
    fn code(&self) -> &str {
        &self.area.code
    }

    /// A new basic grid of this leaf: number `number` in the re-draw's style, a new record.
    fn new_grid(&self, number: u32, geometry: MultiPolygon) -> GridShape {
        let community = Community {
            code: self.code(),
            name: self.area.name.as_deref(),
        };
        let record = numbering::basic_record(community, number, self.previous.date);
        shape(
            self.previous.style.id(self.code(), number),
            self.code(),
            geometry,
            record,
        )
    }

    /// The outcome with `grids` kept and `redrawn`, and the previous grids now gone.
    fn outcome(
        &self,
        change: Change,
        grids: Vec<GridShape>,
        grids_kept: Vec<String>,
        grids_redrawn: Vec<String>,
        (splits, divided_cells): (Vec<BuildingSplit>, Vec<DividedCell>),
    ) -> LeafOutcome {
        let grids_removed = removed_ids(self.previous.grids, self.prev, &grids);
        LeafOutcome {
            grids,
            change: LeafChange {
                leaf: self.code().to_string(),
                change,
                grids_kept,
                grids_redrawn,
                grids_removed,
                divided_cells,
            },
            splits,
        }
    }
}

/// What re-drawing one leaf gave.
struct LeafOutcome {
    grids: Vec<GridShape>,
    change: LeafChange,
    splits: Vec<BuildingSplit>,
}

/// Re-draws the dataset's leaves against `previous` grids (in the working CRS), dated today, with no
/// record of grids retired before.
pub fn replan(data: &Dataset, rules: &Rules, previous: &[GridShape]) -> Replan {
    let redraw = Redraw {
        retired: &[],
        date: Date::today(),
        ground: None,
    };
    replan_with(data, rules, previous, &redraw)
}

/// Re-draws the dataset's leaves against `previous` grids (in the working CRS) and the grids retired
/// before them, on `redraw.date`.
pub fn replan_with<'a>(
    data: &Dataset,
    rules: &Rules,
    previous: &'a [GridShape],
    redraw: &Redraw<'a>,
) -> Replan {
    let previous = Previous::new(data, rules, previous, redraw);
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, l) in data.leaf_of.iter().enumerate() {
        if let Some(l) = l {
            members.entry(*l).or_default().push(i);
        }
    }
    let leaves = data.tree.leaves();
    let results: Vec<LeafOutcome> = leaves
        .par_iter()
        .filter_map(|&l| {
            let area = &data.tree.areas[l];
            let leaf = Leaf {
                data,
                rules,
                area,
                band: rules.kind(data.tree.kind(l)?)?,
                members: members.get(&l).map(Vec::as_slice).unwrap_or(&[]),
                prev: previous
                    .by_code
                    .get(&area.code)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
                previous: &previous,
            };
            Some(replan_leaf(&leaf))
        })
        .collect();
    let current: BTreeSet<&str> = leaves
        .iter()
        .map(|&l| data.tree.areas[l].code.as_str())
        .collect();
    let mut removed_leaves: Vec<String> = previous
        .by_code
        .keys()
        .filter(|c| !current.contains(c.as_str()))
        .cloned()
        .collect();
    removed_leaves.sort();
    let mut grids = Vec::new();
    let mut changes = Vec::new();
    let mut splits = Vec::new();
    for r in results {
        grids.extend(r.grids);
        changes.push(r.change);
        splits.extend(r.splits);
    }
    let mut retired = retire(&previous, &changes, &removed_leaves, redraw);
    restyle(&mut grids, &mut changes, &previous);
    // Every grid, in force or retired, carries its community's highest number issued.
    let mut issued = previous.marks.clone();
    for (code, n) in marks(grids.iter()) {
        let e = issued.entry(code).or_default();
        *e = (*e).max(n);
    }
    for g in grids.iter_mut().chain(retired.iter_mut()) {
        g.record.last_number = issued.get(&code_of(g)).copied();
    }
    for (n, g) in grids.iter_mut().enumerate() {
        g.feature = n;
    }
    Replan {
        grids,
        leaves: changes,
        removed_leaves,
        splits,
        retired,
    }
}

/// The grids out of force after the re-draw: every previous grid no longer in the plan, with
/// `valid_to` = the re-draw's date (kept when it had one; never before its `valid_from`), then those
/// retired before.
fn retire(
    previous: &Previous,
    changes: &[LeafChange],
    removed_leaves: &[String],
    redraw: &Redraw,
) -> Vec<GridShape> {
    let gone: BTreeSet<&str> = changes
        .iter()
        .flat_map(|c| c.grids_removed.iter().map(String::as_str))
        .collect();
    let removed: BTreeSet<&str> = removed_leaves.iter().map(String::as_str).collect();
    let mut out: Vec<GridShape> = previous
        .grids
        .iter()
        .filter(|g| gone.contains(g.id.as_str()) || removed.contains(code_of(g).as_str()))
        .map(|g| {
            let mut g = g.clone();
            // Retired on the re-draw's day, and never before it took effect: a grid re-drawn the
            // day it was made (or dated later than the re-draw) was in force for no whole day.
            let to = g.record.valid_to.unwrap_or(redraw.date);
            g.record.valid_to = Some(g.record.valid_from.map_or(to, |from| to.max(from)));
            if g.community.is_none() {
                g.community = Some(code_of(&g)).filter(|c| !c.is_empty());
            }
            g
        })
        .collect();
    let now: BTreeSet<&str> = out.iter().map(|g| g.id.as_str()).collect();
    let before: Vec<GridShape> = redraw
        .retired
        .iter()
        .filter(|g| !now.contains(g.id.as_str()))
        .cloned()
        .collect();
    out.extend(before);
    for (n, g) in out.iter_mut().enumerate() {
        g.feature = n;
    }
    out
}

/// Rewrites the ids of kept grids that are codes in another form than the re-draw's style, keeping
/// their number (the change lists follow).
fn restyle(grids: &mut [GridShape], changes: &mut [LeafChange], previous: &Previous) {
    let mut renamed: HashMap<String, String> = HashMap::new();
    for g in grids.iter_mut() {
        let code = code_of(g);
        if let Ok(c) = grid_code::read_for(&g.id, &code)
            && c.style != previous.style
        {
            let id = previous.style.id(&code, c.number);
            renamed.insert(std::mem::replace(&mut g.id, id.clone()), id);
        }
    }
    for c in changes.iter_mut() {
        for id in c.grids_kept.iter_mut().chain(c.grids_redrawn.iter_mut()) {
            if let Some(new) = renamed.get(id.as_str()) {
                *id = new.clone();
            }
        }
    }
}

fn shape(
    id: String,
    code: &str,
    geometry: MultiPolygon,
    record: crate::model::GridRecord,
) -> GridShape {
    GridShape {
        feature: 0,
        id,
        community: Some(code.to_string()),
        geometry,
        declared_households: None,
        primary_worker: None,
        record,
    }
}

/// A previous grid clipped to the new leaf, with the atoms it holds.
struct Piece {
    id: String,
    geometry: MultiPolygon,
    atoms: Vec<usize>,
    record: GridRecord,
}

impl Piece {
    /// A dedicated grid: kept as it is, never re-drawn for the band.
    fn fixed(&self) -> bool {
        self.record.kind == GridKind::Dedicated
    }
}

fn ids(grids: &[GridShape]) -> Vec<String> {
    grids.iter().map(|g| g.id.clone()).collect()
}

/// Re-draws one leaf: kept as it was, drawn from scratch, or reshaped.
fn replan_leaf(leaf: &Leaf) -> LeafOutcome {
    let (data, prev) = (leaf.data, leaf.prev);
    if !prev.is_empty() && unchanged(leaf) {
        let grids: Vec<GridShape> = prev
            .iter()
            .map(|&g| leaf.previous.grids[g].clone())
            .collect();
        let kept = ids(&grids);
        return leaf.outcome(Change::Unchanged, grids, kept, vec![], (vec![], vec![]));
    }
    let (atoms, splits) = partition::atoms(&data.households, leaf.members, leaf.code(), leaf.band);
    if prev.is_empty() {
        let total: u64 = atoms.iter().map(|a| a.households).sum();
        let policy = leaf.rules.partition.count_policy;
        let (k, _) = partition::grid_count(leaf.band, total, policy);
        let (pieces, divided, _) = draw_region(leaf, &leaf.area.geometry, &atoms, k);
        let grids = number(leaf, pieces);
        let drawn = ids(&grids);
        return leaf.outcome(Change::New, grids, vec![], drawn, (splits, divided));
    }
    reshape(leaf, &atoms, splits)
}

/// The previous grids of a leaf clipped to it, the atoms each holds, the land none covers and the
/// atoms that fall in no piece.
struct Clipped {
    pieces: Vec<Piece>,
    new_land: Vec<MultiPolygon>,
    loose: Vec<usize>,
}

/// Clips the previous grids to the new leaf and puts each atom in the piece holding its centre.
fn clip_previous(leaf: &Leaf, atoms: &[Atom]) -> Clipped {
    let geometry_of_leaf = &leaf.area.geometry;
    let tol = leaf
        .rules
        .check
        .tolerance_m2(geometry::perimeter_m(geometry_of_leaf));
    let mut pieces: Vec<Piece> = leaf
        .prev
        .iter()
        .filter_map(|&g| {
            let previous = &leaf.previous.grids[g];
            let clipped = geometry::normalized(previous.geometry.intersection(geometry_of_leaf));
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
                id: previous.id.clone(),
                geometry: clipped,
                atoms: vec![],
                record: previous.record.clone(),
            })
        })
        .collect();
    let covered = geometry::normalized(geo::unary_union(pieces.iter().map(|p| &p.geometry)));
    let new_land: Vec<MultiPolygon> = geometry::normalized(geometry_of_leaf.difference(&covered))
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
    Clipped {
        pieces,
        new_land,
        loose,
    }
}

/// Households of the atoms `ids`.
fn weight(atoms: &[Atom], ids: &[usize]) -> u64 {
    ids.iter().map(|&a| atoms[a].households).sum()
}

/// Reshapes a leaf: previous grids clipped to it are kept where they keep the rules; the rest, with
/// land no previous grid covers, is re-drawn.
fn reshape(leaf: &Leaf, atoms: &[Atom], splits: Vec<BuildingSplit>) -> LeafOutcome {
    let band = leaf.band;
    let code = leaf.code();
    let Clipped {
        pieces,
        new_land,
        loose,
    } = clip_previous(leaf, atoms);
    // Households of dedicated grids are not the band's.
    let total: u64 = atoms.iter().map(|a| a.households).sum::<u64>()
        - pieces
            .iter()
            .filter(|p| p.fixed())
            .map(|p| weight(atoms, &p.atoms))
            .sum::<u64>();
    let reachable = !band.feasible_counts(total).is_empty();
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let mut in_region: Vec<bool> = pieces
        .iter()
        .map(|p| {
            if p.fixed() {
                return false;
            }
            let w = weight(atoms, &p.atoms);
            let out_of_band = reachable && (w < min || w > max);
            out_of_band || fragmented(&p.geometry, &p.atoms, atoms) || p.atoms.is_empty()
        })
        .collect();
    for (r, (cuts, p)) in in_region.iter_mut().zip(
        cutting_blocks(leaf, &pieces, atoms)
            .into_iter()
            .zip(&pieces),
    ) {
        *r |= cuts && !p.fixed();
    }
    if in_region.iter().all(|r| !r) && new_land.is_empty() && loose.is_empty() {
        // Households moved within the rules only: every grid kept (clipped where the leaf shrank).
        let grids: Vec<GridShape> = pieces
            .into_iter()
            .map(|p| shape(p.id, code, p.geometry, p.record))
            .collect();
        let kept = ids(&grids);
        return leaf.outcome(Change::Reshaped, grids, kept, vec![], (splits, vec![]));
    }
    grow_region(
        &pieces,
        &new_land,
        &loose,
        atoms,
        band,
        reachable,
        &mut in_region,
        leaf.previous.ground.is_some(),
    );
    let redraw = |in_region: &[bool]| {
        let region = geometry::normalized(geo::unary_union(region_parts(
            &pieces, &new_land, in_region,
        )));
        let region_atoms: Vec<usize> = pieces
            .iter()
            .zip(in_region)
            .filter(|(_, r)| **r)
            .flat_map(|(p, _)| p.atoms.iter().copied())
            .chain(loose.iter().copied())
            .collect();
        let region_atom_list: Vec<Atom> = region_atoms.iter().map(|&a| atoms[a].clone()).collect();
        let policy = leaf.rules.partition.count_policy;
        let (k, _) = partition::grid_count(band, weight(atoms, &region_atoms), policy);
        let (drawn, divided, violation) = draw_region(leaf, &region, &region_atom_list, k);
        // Grids whose households lie in separate parts count first, then households off the band.
        let members: Vec<usize> = region_atom_list
            .iter()
            .flat_map(|a| a.members.iter().copied())
            .collect();
        let parted = if leaf.previous.ground.is_some() {
            cells::band_violation(&drawn, &leaf.data.households, &members, band).1
        } else {
            0
        };
        (region_atoms, drawn, divided, (parted, violation))
    };
    let (mut region_atoms, mut drawn, mut divided, mut violation) = redraw(&in_region);
    // Whole cells may miss the band on the land first taken (its blocks do not add up): the land
    // grows by the next nearest kept grid, a few times at most, and the best drawing is kept.
    if leaf.previous.ground.is_some() && (reachable || violation.0 > 0) {
        let mut wider = in_region.clone();
        for _ in 0..MAX_GROWTH {
            if violation == (0, 0) || (!reachable && violation.0 == 0) {
                break;
            }
            let Some(next) = nearest_piece(&pieces, &new_land, &wider, true) else {
                break;
            };
            wider[next] = true;
            let again = redraw(&wider);
            if again.3 < violation {
                (region_atoms, drawn, divided, violation) = again;
                in_region.clone_from(&wider);
            }
        }
    }
    let kept: Vec<GridShape> = pieces
        .iter()
        .zip(&in_region)
        .filter(|(_, r)| !**r)
        .map(|(p, _)| shape(p.id.clone(), code, p.geometry.clone(), p.record.clone()))
        .collect();
    let redrawn = name_redrawn(leaf, &pieces, atoms, &region_atoms, &kept, drawn);
    let grids_kept = ids(&kept);
    let grids_redrawn = ids(&redrawn);
    let mut grids = kept;
    grids.extend(redrawn);
    let mut grids = tidied(grids, leaf.data, leaf.members);
    grids.sort_by(|a, b| a.id.cmp(&b.id));
    leaf.outcome(
        Change::Reshaped,
        grids,
        grids_kept,
        grids_redrawn,
        (splits, divided),
    )
}

/// Draws `region` (a new leaf, or the land of a leaf being re-drawn) holding `atoms` into `k` grids:
/// on ground layers by the cells engine, as unions of whole cells (when whole cells miss the band, the
/// other feasible counts are tried, as a fresh plan does), else by straight cuts. Straight cuts also
/// stand in when a geometric operation fails inside the cells engine on this land.
fn draw_region(
    leaf: &Leaf,
    region: &MultiPolygon,
    atoms: &[Atom],
    k: usize,
) -> (Vec<MultiPolygon>, Vec<DividedCell>, u64) {
    let (band, households) = (leaf.band, &leaf.data.households);
    let total: u64 = atoms.iter().map(|a| a.households).sum();
    let others = if band.feasible_counts(total).is_empty() {
        Vec::new()
    } else {
        cells::other_counts(band, total, k)
    };
    if let Some(ground) = leaf.previous.ground
        && let Some(drawn) =
            cells::draw_counts(region, atoms, households, (k, &others), band, Some(ground))
    {
        return (drawn.grids, drawn.divided, drawn.violation);
    }
    // Straight cuts: the band is the re-draw's own business (grown until a whole number fits).
    (
        partition::partition_region(region, atoms, k, band, households),
        Vec::new(),
        0,
    )
}

/// Kept grids a re-drawn region may take, one by one, when whole cells miss the band on it.
const MAX_GROWTH: usize = 3;

/// The kept, not dedicated piece nearest the region (centroid to centroid); with `adjacent_first`,
/// the nearest of those that touch it when any does (a region of whole cells must stay in one piece).
fn nearest_piece(
    pieces: &[Piece],
    new_land: &[MultiPolygon],
    in_region: &[bool],
    adjacent_first: bool,
) -> Option<usize> {
    let parts = region_parts(pieces, new_land, in_region);
    let touches = |i: usize| {
        use geo::Intersects;
        let g = &pieces[i].geometry;
        parts.iter().any(|p| p.intersects(g))
    };
    let u = geo::unary_union(parts.iter().copied());
    let c = u
        .centroid()
        .map(|p| p.0)
        .unwrap_or(Coord { x: 0.0, y: 0.0 });
    let away = |i: usize| {
        pieces[i]
            .geometry
            .centroid()
            .map_or(f64::INFINITY, |p| (p.x() - c.x).hypot(p.y() - c.y))
    };
    let open: Vec<usize> = (0..pieces.len())
        .filter(|&i| !in_region[i] && !pieces[i].fixed())
        .collect();
    let adjacent: Vec<usize> = if adjacent_first {
        open.iter().copied().filter(|&i| touches(i)).collect()
    } else {
        Vec::new()
    };
    let from = if adjacent.is_empty() { open } else { adjacent };
    from.into_iter()
        .min_by(|&a, &b| away(a).total_cmp(&away(b)))
}

/// Kept pieces that cut a block between them (the block's households lie in two or more of them),
/// when the ground layers have blocks: a block no larger than a grid's maximum is never cut, so
/// every piece holding part of one is re-drawn. (Grids drawn on the blocks cut none; grids drawn
/// before the blocks were given may.)
fn cutting_blocks(leaf: &Leaf, pieces: &[Piece], atoms: &[Atom]) -> Vec<bool> {
    let mut out = vec![false; pieces.len()];
    let Some(index) = &leaf.previous.blocks else {
        return out;
    };
    let mut held: HashMap<usize, (BTreeSet<usize>, u64)> = HashMap::new();
    for (p, piece) in pieces.iter().enumerate() {
        for &a in &piece.atoms {
            if let Some(&b) = index.containing(atoms[a].centre).first() {
                let e = held.entry(b).or_default();
                e.0.insert(p);
                e.1 += atoms[a].households;
            }
        }
    }
    let max = leaf.band.max_households as u64;
    for (in_pieces, households) in held.into_values() {
        if in_pieces.len() > 1 && households <= max {
            for p in in_pieces {
                out[p] = true;
            }
        }
    }
    out
}

/// The land being re-drawn: the pieces marked for it and the land no previous grid covered.
fn region_parts<'p>(
    pieces: &'p [Piece],
    new_land: &'p [MultiPolygon],
    in_region: &[bool],
) -> Vec<&'p MultiPolygon> {
    pieces
        .iter()
        .zip(in_region)
        .filter(|(_, r)| **r)
        .map(|(p, _)| &p.geometry)
        .chain(new_land.iter())
        .collect()
}

/// Grows the region by the nearest kept piece until its households fit a whole number of grids, or
/// until it has to take land that no piece borders (empty new land alone needs a neighbour).
#[allow(clippy::too_many_arguments)]
fn grow_region(
    pieces: &[Piece],
    new_land: &[MultiPolygon],
    loose: &[usize],
    atoms: &[Atom],
    band: &KindRules,
    reachable: bool,
    in_region: &mut [bool],
    adjacent_first: bool,
) {
    let region_weight = |in_region: &[bool]| -> u64 {
        pieces
            .iter()
            .zip(in_region)
            .filter(|(_, r)| **r)
            .map(|(p, _)| weight(atoms, &p.atoms))
            .sum::<u64>()
            + weight(atoms, loose)
    };
    loop {
        let w = region_weight(in_region);
        let fits = w > 0 && !band.feasible_counts(w).is_empty();
        let any_region = in_region.iter().any(|r| *r);
        let all_taken = in_region.iter().zip(pieces).all(|(r, p)| *r || p.fixed());
        if (fits && any_region) || all_taken || (!reachable && any_region) {
            break;
        }
        let next = nearest_piece(pieces, new_land, in_region, adjacent_first);
        match next {
            Some(i) => in_region[i] = true,
            None => break,
        }
    }
}

/// Ids for the grids drawn in the region: each inherits the id (and the record) of the previous grid
/// of this leaf it shares most households with (when no kept or other drawn grid has it); the rest, in
/// reading order, take the next numbers after the highest the community ever had, with new records.
fn name_redrawn(
    leaf: &Leaf,
    pieces: &[Piece],
    atoms: &[Atom],
    region_atoms: &[usize],
    kept: &[GridShape],
    drawn: Vec<MultiPolygon>,
) -> Vec<GridShape> {
    let code = leaf.code();
    let old_of_atom: HashMap<usize, &str> = pieces
        .iter()
        .flat_map(|p| p.atoms.iter().map(move |&a| (a, p.id.as_str())))
        .collect();
    let drawn_index = PolygonIndex::new(drawn.iter().collect());
    let mut overlap: BTreeMap<(usize, String), u64> = BTreeMap::new();
    for &a in region_atoms {
        if let (Some(&d), Some(old)) = (
            drawn_index.containing(atoms[a].centre).first(),
            old_of_atom.get(&a),
        ) {
            *overlap.entry((d, old.to_string())).or_default() += atoms[a].households;
        }
    }
    let mut pairs: Vec<((usize, String), u64)> = overlap.into_iter().collect();
    pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut taken: BTreeSet<String> = kept.iter().map(|g| g.id.clone()).collect();
    let mut names: Vec<Option<String>> = vec![None; drawn.len()];
    for ((d, old), _) in pairs {
        if names[d].is_none() && !taken.contains(&old) && old.starts_with(code) {
            taken.insert(old.clone());
            names[d] = Some(old);
        }
    }
    let mut numbers = leaf.previous.numbers(code);
    let order = numbering::reading_order(&drawn.iter().collect::<Vec<_>>());
    let mut slots: Vec<Option<MultiPolygon>> = drawn.into_iter().map(Some).collect();
    let mut redrawn = Vec::new();
    for d in order {
        let Some(geom) = slots[d].take() else {
            continue;
        };
        let grid = match names[d].take() {
            Some(id) => {
                let record = leaf
                    .previous
                    .by_id
                    .get(id.as_str())
                    .map(|&g| leaf.previous.grids[g].record.clone())
                    .unwrap_or_default();
                shape(id, code, geom, record)
            }
            None => leaf.new_grid(numbers.issue(), geom),
        };
        redrawn.push(grid);
    }
    redrawn
}

/// Parts of grids that hold no households (left by clipping) join the neighbour they share most edge with.
fn tidied(grids: Vec<GridShape>, data: &Dataset, members: &[usize]) -> Vec<GridShape> {
    let ids: Vec<(String, Option<String>, GridRecord)> = grids
        .iter()
        .map(|g| (g.id.clone(), g.community.clone(), g.record.clone()))
        .collect();
    let shapes = partition::tidy(
        grids.into_iter().map(|g| g.geometry).collect(),
        &data.households,
        members,
    );
    ids.into_iter()
        .zip(shapes)
        .map(|((id, community, record), geometry)| {
            shape(
                id,
                community.as_deref().unwrap_or_default(),
                geometry,
                record,
            )
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

/// Ids and records for a freshly drawn leaf, in reading order, after the highest number the
/// community ever had (none, unless the code was retired before).
fn number(leaf: &Leaf, pieces: Vec<MultiPolygon>) -> Vec<GridShape> {
    let mut numbers = leaf.previous.numbers(leaf.code());
    let order = numbering::reading_order(&pieces.iter().collect::<Vec<_>>());
    let mut slots: Vec<Option<MultiPolygon>> = pieces.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots[i].take())
        .map(|g| leaf.new_grid(numbers.issue(), g))
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
fn unchanged(leaf: &Leaf) -> bool {
    let (data, members, prev) = (leaf.data, leaf.members, leaf.prev);
    let (previous, prev_grid) = (leaf.previous.grids, &leaf.previous.grid_of);
    let leaf = leaf.area;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{area, dataset, rect, spread};
    use crate::plan::partition::partition;

    /// Two urban communities side by side, 900 and 1,300 households.
    fn district() -> Dataset {
        let mut households = spread(0.0, 0.0, 1_000.0, 500.0, 900, 1);
        households.extend(spread(1_000.0, 0.0, 2_000.0, 500.0, 1_300, 1));
        dataset(
            vec![
                area(
                    "320116001001",
                    None,
                    Some("urban"),
                    rect(0.0, 0.0, 1_000.0, 500.0),
                ),
                area(
                    "320116001002",
                    None,
                    Some("urban"),
                    rect(1_000.0, 0.0, 2_000.0, 500.0),
                ),
            ],
            households,
        )
    }

    #[test]
    fn leaves_that_did_not_change_keep_their_grids_exactly() {
        let data = district();
        let rules = Rules::default();
        let before = partition(&data, &rules, &|| {}).grids;
        let after = replan(&data, &rules, &before);
        assert!(after.leaves.iter().all(|l| l.change == Change::Unchanged));
        assert_eq!(after.grids.len(), before.len());
        for (a, b) in after.grids.iter().zip(&before) {
            assert_eq!(a.id, b.id);
            assert_eq!(a.geometry, b.geometry);
        }
        assert!(after.removed_leaves.is_empty());
    }

    #[test]
    fn a_leaf_without_previous_grids_is_drawn_anew_and_a_gone_one_reported() {
        let data = district();
        let rules = Rules::default();
        let before: Vec<GridShape> = partition(&data, &rules, &|| {})
            .grids
            .into_iter()
            .filter(|g| g.community.as_deref() == Some("320116001001"))
            .map(|mut g| {
                // A grid of a community that is no longer a leaf, named by its id alone.
                if g.id.ends_with("002") {
                    g.id = "320116009009-G01".to_string();
                    g.community = None;
                }
                g
            })
            .collect();
        let after = replan(&data, &rules, &before);
        let new = after
            .leaves
            .iter()
            .find(|l| l.leaf == "320116001002")
            .map(|l| (l.change, l.grids_redrawn.clone()));
        let (change, ids) = new.unwrap_or((Change::Unchanged, vec![]));
        assert_eq!(change, Change::New);
        assert_eq!(ids.first().map(String::as_str), Some("320116001002001"));
        assert_eq!(after.removed_leaves, vec!["320116009009".to_string()]);
    }

    #[test]
    fn grid_ids_are_read_back_in_one_place() {
        let g = |id: &str, community: Option<&str>| GridShape {
            feature: 0,
            id: id.to_string(),
            community: community.map(str::to_string),
            geometry: rect(0.0, 0.0, 1.0, 1.0),
            declared_households: None,
            primary_worker: None,
            record: Default::default(),
        };
        assert_eq!(code_of(&g("320116001001-G07", None)), "320116001001");
        assert_eq!(code_of(&g("x", Some("320116001002"))), "320116001002");
        assert_eq!(code_of(&g("320116001001007", None)), "320116001001");
        assert_eq!(grid_number("320116001001-G07", "320116001001"), Some(7));
        assert_eq!(grid_number("320116001001-G123", "320116001001"), Some(123));
        assert_eq!(grid_number("320116001001007", "320116001001"), Some(7));
        assert_eq!(grid_number("hand-drawn", "320116001001"), None);
    }
}
