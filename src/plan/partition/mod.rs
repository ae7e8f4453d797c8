//! The partition engine: draws the grids of every leaf from its households and the rules.
//!
//! ## Method: recursive bisection by straight cuts, scored on the land
//!
//! 1. **Atoms.** A leaf's households are grouped into buildings (the `building` property, else identical
//!    coordinates). A building larger than the band's maximum is split by `entrance` into the fewest
//!    balanced pieces, else by point; each split is reported. Atoms are never divided further.
//! 2. **How many grids.** The feasible counts are `{k : k·min ≤ H ≤ k·max}`; the rules' count policy picks
//!    the one nearest `H / target` or the fewest. With none, the least-bad `k` (smallest worst deviation
//!    from the band) is used and the leaf is reported with the reason.
//! 3. **Bisection.** A region holding `W` households that must become `k` grids is cut by a straight line
//!    into `k1 = ⌊k/2⌋` (or `⌈k/2⌉`) and `k2 = k − k1` grids, the first side's weight within the exact
//!    bounds `[max(k1·min, W − k2·max), min(k1·max, W − k2·min)]`. Twelve directions are swept; in each,
//!    atoms are sorted by projection and every gap between them that no building straddles is a candidate.
//!    Candidates are scored on **land samples** (a lattice of points covering the leaf, so empty land,
//!    lakes and concave outlines count): the normalised second moment of each side's land, relative to the
//!    ideal for the number of grids it will hold. The cell is clipped by the cut line (exact
//!    floating-point Sutherland–Hodgman; both sides share the points on the line), and each final cell is
//!    intersected with the leaf once: one boolean operation per grid, every one against the same leaf.
//! 4. **Clean-up.** Pieces of a grid holding no households that clipping cut off join the neighbouring
//!    grid they share the longest edge with.
//!
//! Every grid is the leaf intersected with half-planes, so the grids of a leaf tile it exactly, land
//! without households included, with straight edges a planner can describe ("from this road to that
//! wall"). Leaves are independent and run in parallel.

pub mod cells;
pub mod repair;

use crate::input::dataset::Dataset;
use crate::model::{
    BuildingKey, Date, Dedicated, GridKind, GridRecord, GridShape, Household, IdStyle,
};
use crate::plan::dedicated::{self, Carved};
use crate::plan::numbering::{self, Community};
use crate::rules::{CountPolicy, KindRules, Rules};
use crate::spatial::geometry;
use geo::{BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Directions swept at every cut (evenly over 180°).
const DIRECTIONS: usize = 12;
/// Directions swept again when none of the first sweep's cuts meets the band.
const DIRECTIONS_RETRY: usize = 72;
/// Other cuts tried at a node whose first choice leaves a grid out of the band.
const MAX_ALTERNATIVES: usize = 8;
/// Extra subtrees tried per leaf while backtracking.
const BACKTRACK_BUDGET: usize = 400;
/// Land samples per grid to be drawn: enough to judge shapes, few enough to stay fast.
const SAMPLES_PER_GRID: f64 = 160.0;
/// Least clearance (m) between a cut and the nearest household point of either side.
const MIN_CLEARANCE_M: f64 = 0.05;

/// A unit the partition never divides: a building, a piece of an oversize building, or a lone point.
#[derive(Debug, Clone)]
pub struct Atom {
    /// Household-weighted centre of its points.
    pub centre: Coord,
    /// Largest distance from the centre to one of its points.
    pub radius: f64,
    pub households: u64,
    /// Indexes into the dataset's households.
    pub members: Vec<usize>,
}

/// A building larger than a grid's maximum, split into pieces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildingSplit {
    pub leaf: String,
    pub building: String,
    pub households: u64,
    pub pieces: Vec<u64>,
    /// `entrance` when split along entrances (单元), `count` when the building had none to split by.
    pub by: &'static str,
    /// Whether the pieces ended in different grids. They cannot when all its entrances share one
    /// location: no boundary can pass between them, and the building stays whole, over the band.
    pub separated: bool,
}

/// What the partition decided for one leaf.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeafPlan {
    pub leaf: String,
    pub kind: String,
    pub households: u64,
    pub grids: usize,
    /// The feasible grid counts, when any.
    pub feasible: Option<(u64, u64)>,
    /// Why no whole number of grids fits, or why the band could not be met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infeasible: Option<String>,
    /// `straight` (recursive straight cuts) or `cells` (unions of whole cells, see [`crate::plan::partition::cells`]).
    pub engine: &'static str,
    /// Cells larger than a grid's maximum, divided by their buildings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub divided_cells: Vec<crate::plan::partition::cells::DividedCell>,
    /// Dedicated grids carved out of the leaf (counted in `grids`; `households` counts the basic
    /// grids' only).
    pub dedicated: usize,
    /// Anything else the planner should know about the leaf.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Proven: no grouping of whole cells (blocks, the land between them in lattice squares,
    /// buildings) fits the band with any grid count tried, so the band is out of reach without
    /// cutting a cell.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub whole_cells_cannot_meet: bool,
    /// What was mended in the grids drawn so that they tile the leaf and hold every household
    /// ([`repair::coverage`]); absent when nothing was.
    #[serde(skip_serializing_if = "repair::Repairs::none")]
    pub coverage_repairs: repair::Repairs,
}

/// The grids of every leaf, with what was decided along the way.
pub struct Partition {
    pub grids: Vec<GridShape>,
    pub leaves: Vec<LeafPlan>,
    pub splits: Vec<BuildingSplit>,
}

/// Builds the atoms of one leaf's households (`members` index `data.households`).
pub fn atoms(
    households: &[Household],
    members: &[usize],
    leaf_code: &str,
    band: &KindRules,
) -> (Vec<Atom>, Vec<BuildingSplit>) {
    let mut groups: BTreeMap<BuildingKey, Vec<usize>> = BTreeMap::new();
    for &i in members {
        groups
            .entry(households[i].building_key())
            .or_default()
            .push(i);
    }
    let max = band.max_households.max(1) as u64;
    let mut atoms = Vec::with_capacity(groups.len());
    let mut splits = Vec::new();
    for (key, group) in groups {
        let total: u64 = group.iter().map(|&i| households[i].households as u64).sum();
        if total <= max || group.len() == 1 {
            atoms.push(atom(households, group));
            continue;
        }
        // Split an oversize building: by entrance when it has them, else point by point, into the fewest
        // pieces, balanced.
        let pieces_wanted = total.div_ceil(max) as usize;
        let mut units: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let by_entrance = group.iter().any(|&i| households[i].entrance.is_some());
        for &i in &group {
            let unit = if by_entrance {
                households[i].entrance.as_deref().unwrap_or("").to_string()
            } else {
                format!("{i:012}")
            };
            units.entry(unit).or_default().push(i);
        }
        let mut units: Vec<Vec<usize>> = units.into_values().collect();
        if by_entrance {
            // Entrances in natural order ("2" before "10").
            units.sort_by_key(|u| {
                let e = households[u[0]].entrance.as_deref().unwrap_or("");
                (e.parse::<u64>().unwrap_or(u64::MAX), e.to_string())
            });
        }
        let share = total as f64 / pieces_wanted as f64;
        let mut pieces: Vec<Vec<usize>> = vec![Vec::new()];
        let mut acc = 0u64;
        let mut done = 0u64;
        for unit in units {
            let w: u64 = unit.iter().map(|&i| households[i].households as u64).sum();
            let boundary = share * pieces.len() as f64;
            if !pieces.last().is_some_and(Vec::is_empty)
                && pieces.len() < pieces_wanted
                && ((done + acc) as f64 + w as f64 / 2.0) > boundary
            {
                done += acc;
                acc = 0;
                pieces.push(Vec::new());
            }
            acc += w;
            if let Some(p) = pieces.last_mut() {
                p.extend(unit);
            }
        }
        let name = match &key {
            BuildingKey::Named(b) => b.to_string(),
            BuildingKey::At(..) => "(unnamed building)".to_string(),
        };
        let built: Vec<Atom> = pieces
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|p| atom(households, p))
            .collect();
        splits.push(BuildingSplit {
            leaf: leaf_code.to_string(),
            building: name,
            households: total,
            pieces: built.iter().map(|a| a.households).collect(),
            by: if by_entrance { "entrance" } else { "count" },
            separated: false,
        });
        atoms.extend(built);
    }
    (atoms, splits)
}

fn atom(households: &[Household], members: Vec<usize>) -> Atom {
    let w: f64 = members
        .iter()
        .map(|&i| households[i].households as f64)
        .sum::<f64>()
        .max(1.0);
    let (sx, sy) = members.iter().fold((0.0, 0.0), |(x, y), &i| {
        let h = &households[i];
        (
            x + h.pos.x * h.households as f64,
            y + h.pos.y * h.households as f64,
        )
    });
    let centre = Coord {
        x: sx / w,
        y: sy / w,
    };
    let radius = members
        .iter()
        .map(|&i| (households[i].pos.x - centre.x).hypot(households[i].pos.y - centre.y))
        .fold(0.0, f64::max);
    Atom {
        centre,
        radius,
        households: members
            .iter()
            .map(|&i| households[i].households as u64)
            .sum(),
        members,
    }
}

/// The number of grids for `households` under `band` and the policy, and why the band cannot be met
/// when it cannot.
pub fn grid_count(
    band: &KindRules,
    households: u64,
    policy: CountPolicy,
) -> (usize, Option<String>) {
    if households == 0 {
        return (1, band.infeasibility(0));
    }
    let feasible = band.feasible_counts(households);
    if !feasible.is_empty() {
        let k = match policy {
            CountPolicy::Fewest => *feasible.start(),
            CountPolicy::NearestTarget => {
                let ideal = households as f64 / band.target();
                feasible
                    .min_by(|&a, &b| {
                        (a as f64 - ideal)
                            .abs()
                            .total_cmp(&(b as f64 - ideal).abs())
                            .then(a.cmp(&b))
                    })
                    .unwrap_or(1)
            }
        };
        return (k as usize, None);
    }
    // Least bad: the smallest worst deviation of an even split from the band; fewer grids on a tie.
    let (min, max) = (band.min_households as f64, band.max_households as f64);
    let lo = (households as f64 / max).floor().max(1.0) as u64;
    let k = (lo..=lo + 1)
        .min_by(|&a, &b| {
            let dev = |k: u64| {
                let each = households as f64 / k as f64;
                (each - max).max(min - each).max(0.0)
            };
            dev(a).total_cmp(&dev(b)).then(a.cmp(&b))
        })
        .unwrap_or(1);
    (k as usize, band.infeasibility(households))
}

/// A land sample: a point of the leaf standing for `area` m² around it.
#[derive(Clone, Copy)]
struct Sample {
    at: Coord,
}

fn land_samples(leaf: &MultiPolygon, grids: usize) -> Vec<Sample> {
    let area = geometry::area_m2(leaf);
    let Some(r) = leaf.bounding_rect() else {
        return Vec::new();
    };
    let wanted = (grids as f64 * SAMPLES_PER_GRID).max(64.0);
    let step = (area / wanted).sqrt().max(1.0);
    let mut out = Vec::new();
    let mut y = r.min().y + step / 2.0;
    while y < r.max().y {
        let mut x = r.min().x + step / 2.0;
        while x < r.max().x {
            let at = Coord { x, y };
            if geometry::contains(leaf, at) {
                out.push(Sample { at });
            }
            x += step;
        }
        y += step;
    }
    out
}

/// Second-moment sums of a set of points: n, Σx, Σy, Σ(x²+y²).
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    x: f64,
    y: f64,
    r2: f64,
}

impl Moments {
    fn add(&mut self, c: Coord) {
        self.n += 1.0;
        self.x += c.x;
        self.y += c.y;
        self.r2 += c.x * c.x + c.y * c.y;
    }
    fn minus(self, o: Moments) -> Moments {
        Moments {
            n: self.n - o.n,
            x: self.x - o.x,
            y: self.y - o.y,
            r2: self.r2 - o.r2,
        }
    }
    /// Normalised polar moment I/A² (in sample units): 1/(2π) for a disc, 1/6 for a square.
    fn shape(self) -> f64 {
        if self.n < 1.0 {
            return 0.0;
        }
        let inertia = self.r2 - (self.x * self.x + self.y * self.y) / self.n;
        inertia.max(0.0) / (self.n * self.n)
    }
}

/// The normalised polar moment of `k` unit squares in a row: the shape a region of `k` grids can have
/// at best when it is cut into squares.
fn ideal_shape(k: usize) -> f64 {
    let k = k.max(1) as f64;
    (k + 1.0 / k) / 12.0
}

struct Cut {
    normal: Coord,
    offset: f64,
    /// Grids on the low side.
    k_low: usize,
    violation: f64,
    score: f64,
}

/// One grid the bisection drew.
struct Piece {
    /// The leaf's land within `cell`.
    land: MultiPolygon,
    households: u64,
    /// Its households sit in separate parts of its land.
    fragmented: bool,
    /// The convex cell it is the leaf's land within.
    cell: Cell,
}

/// How far pieces are from a good answer: households outside the band, then grids whose households
/// sit in separate parts.
fn badness(pieces: &[Piece], band: &KindRules) -> (u64, usize) {
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let outside = pieces
        .iter()
        .map(|p| min.saturating_sub(p.households) + p.households.saturating_sub(max))
        .sum();
    (outside, pieces.iter().filter(|p| p.fragmented).count())
}

/// An atom seen along one direction: the interval its members span, and its households.
#[derive(Debug, Clone, Copy)]
struct Span {
    low: f64,
    high: f64,
    households: u64,
}

/// True when the atoms of `region` lie in more than one of its parts.
fn fragmented(region: &MultiPolygon, atoms: &[&Atom]) -> bool {
    if region.0.len() <= 1 {
        return false;
    }
    let mut holding = 0;
    for part in &region.0 {
        let part = MultiPolygon(vec![part.clone()]);
        if atoms.iter().any(|a| geometry::contains(&part, a.centre)) {
            holding += 1;
        }
    }
    holding > 1
}

/// A convex cell of the plane (counter-clockwise, not closed): the intersection of the half-planes on a
/// path of the bisection, within the leaf's bounding box.
type Cell = Vec<Coord>;

/// The part of a convex cell on one side of the line `normal · p = offset` (Sutherland–Hodgman). Both
/// sides compute the points on the line from the same edges in the same order, so they share them
/// exactly.
fn clip(cell: &Cell, normal: Coord, offset: f64, low: bool) -> Cell {
    let side = |c: &Coord| {
        let d = c.x * normal.x + c.y * normal.y - offset;
        if low { -d } else { d }
    };
    let mut out = Vec::with_capacity(cell.len() + 1);
    for i in 0..cell.len() {
        let a = cell[i];
        let b = cell[(i + 1) % cell.len()];
        let (da, db) = (side(&a), side(&b));
        if da >= 0.0 {
            out.push(a);
        }
        if (da >= 0.0) != (db >= 0.0) {
            // Always interpolate from the edge's first point, whichever side keeps it.
            let (ea, eb) = (
                a.x * normal.x + a.y * normal.y - offset,
                b.x * normal.x + b.y * normal.y - offset,
            );
            let t = ea / (ea - eb);
            out.push(Coord {
                x: a.x + t * (b.x - a.x),
                y: a.y + t * (b.y - a.y),
            });
        }
    }
    out
}

fn cell_polygon(cell: &Cell) -> MultiPolygon {
    if cell.len() < 3 {
        return MultiPolygon(vec![]);
    }
    let mut ring = cell.clone();
    ring.push(cell[0]);
    MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
}

/// What every node of one leaf's bisection shares.
struct LeafContext<'a> {
    leaf: &'a MultiPolygon,
    band: &'a KindRules,
    single_part: bool,
}

/// Recursive bisection of the leaf's land within `cell`, holding `atoms` (with `samples` of its land),
/// into `k` grids. Each grid is the leaf intersected with its cell: one boolean operation per grid, all
/// on the same leaf, so the grids share their edges.
///
/// When the best cut leaves a grid below out of the band although the node's count fits it, or leaves a
/// grid's households in separate parts of a single-part leaf, the next best cuts (other directions) are
/// tried, within `budget` extra subtrees per leaf.
fn bisect(
    ctx: &LeafContext,
    cell: Cell,
    atoms: Vec<&Atom>,
    samples: Vec<Sample>,
    k: usize,
    budget: &mut usize,
) -> Vec<Piece> {
    let band = ctx.band;
    let weight: u64 = atoms.iter().map(|a| a.households).sum();
    if k <= 1 || atoms.len() <= 1 {
        let land = geometry::normalized(ctx.leaf.intersection(&cell_polygon(&cell)));
        let fragmented = ctx.single_part && fragmented(&land, &atoms);
        return vec![Piece {
            land,
            households: weight,
            fragmented,
            cell,
        }];
    }
    let mut cands = cuts(&atoms, &samples, k, band, DIRECTIONS);
    if cands.first().is_some_and(|c| c.violation > 0.0) {
        cands = cuts(&atoms, &samples, k, band, DIRECTIONS_RETRY);
    }
    let reachable = band.feasible_counts(weight).contains(&(k as u64));
    let mut best: Option<((u64, usize), Vec<Piece>)> = None;
    for (n, cut) in cands.iter().enumerate() {
        if n > 0 {
            let bad = best.as_ref().map_or((0, 0), |b| b.0);
            let worth = (reachable && bad.0 > 0) || bad.1 > 0;
            if !worth || cut.violation > 0.0 || *budget == 0 || n > MAX_ALTERNATIVES {
                break;
            }
            *budget -= 1;
        }
        let side = |c: Coord| c.x * cut.normal.x + c.y * cut.normal.y < cut.offset;
        let (low_atoms, high_atoms): (Vec<&Atom>, Vec<&Atom>) =
            atoms.iter().copied().partition(|a| side(a.centre));
        let (low_samples, high_samples): (Vec<Sample>, Vec<Sample>) =
            samples.iter().copied().partition(|s| side(s.at));
        let low_cell = clip(&cell, cut.normal, cut.offset, true);
        let high_cell = clip(&cell, cut.normal, cut.offset, false);
        let mut pieces = bisect(ctx, low_cell, low_atoms, low_samples, cut.k_low, budget);
        pieces.extend(bisect(
            ctx,
            high_cell,
            high_atoms,
            high_samples,
            k - cut.k_low,
            budget,
        ));
        let bad = badness(&pieces, band);
        if best.as_ref().is_none_or(|b| bad < b.0) {
            best = Some((bad, pieces));
        }
        if bad == (0, 0) {
            break;
        }
    }
    match best {
        Some((_, pieces)) => pieces,
        None => vec![Piece {
            land: geometry::normalized(ctx.leaf.intersection(&cell_polygon(&cell))),
            households: weight,
            fragmented: false,
            cell,
        }],
    }
}

/// The best cut in each direction, best first (by band violation, then shape score).
fn cuts(
    atoms: &[&Atom],
    samples: &[Sample],
    k: usize,
    band: &KindRules,
    directions: usize,
) -> Vec<Cut> {
    let total: u64 = atoms.iter().map(|a| a.households).sum();
    let (min, max) = (band.min_households as f64, band.max_households as f64);
    let mut splits = vec![k / 2];
    if k % 2 == 1 {
        splits.push(k - k / 2);
    }
    let mut found: Vec<Cut> = Vec::with_capacity(directions);
    let mut proj: Vec<Span> = Vec::with_capacity(atoms.len());
    let mut sproj: Vec<(f64, Coord)> = Vec::with_capacity(samples.len());
    for d in 0..directions {
        let mut best: Option<Cut> = None;
        let theta = std::f64::consts::PI * d as f64 / directions as f64;
        let normal = Coord {
            x: theta.cos(),
            y: theta.sin(),
        };
        let dot = |c: Coord| c.x * normal.x + c.y * normal.y;
        proj.clear();
        proj.extend(atoms.iter().map(|a| {
            let p = dot(a.centre);
            Span {
                low: p - a.radius,
                high: p + a.radius,
                households: a.households,
            }
        }));
        proj.sort_by(|a, b| a.low.total_cmp(&b.low));
        sproj.clear();
        sproj.extend(samples.iter().map(|s| (dot(s.at), s.at)));
        sproj.sort_by(|a, b| a.0.total_cmp(&b.0));
        let all = sproj.iter().fold(Moments::default(), |mut m, s| {
            m.add(s.1);
            m
        });
        let mut low_m = Moments::default();
        let mut s_at = 0;
        let mut upper = f64::NEG_INFINITY;
        let mut weight = 0u64;
        for i in 1..proj.len() {
            upper = upper.max(proj[i - 1].high);
            weight += proj[i - 1].households;
            if proj[i].low - upper < 2.0 * MIN_CLEARANCE_M {
                continue;
            }
            let offset = (upper + proj[i].low) / 2.0;
            while s_at < sproj.len() && sproj[s_at].0 < offset {
                low_m.add(sproj[s_at].1);
                s_at += 1;
            }
            let high_m = all.minus(low_m);
            for &k_low in &splits {
                let k_high = k - k_low;
                let lo = (k_low as f64 * min).max(total as f64 - k_high as f64 * max);
                let hi = (k_low as f64 * max).min(total as f64 - k_high as f64 * min);
                let w = weight as f64;
                let violation = if lo <= hi {
                    (lo - w).max(w - hi).max(0.0)
                } else {
                    (w - total as f64 * k_low as f64 / k as f64).abs()
                };
                let score =
                    low_m.shape() / ideal_shape(k_low) + high_m.shape() / ideal_shape(k_high);
                let better = match &best {
                    None => true,
                    Some(b) => (violation, score) < (b.violation, b.score),
                };
                if better {
                    best = Some(Cut {
                        normal,
                        offset,
                        k_low,
                        violation,
                        score,
                    });
                }
            }
        }
        found.extend(best);
    }
    found.sort_by(|a, b| {
        (a.violation, a.score)
            .partial_cmp(&(b.violation, b.score))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    found
}

/// Cuts `region` (a leaf, or the part of a leaf being re-drawn) holding `atoms` into `k` grids.
pub fn partition_region(
    region: &MultiPolygon,
    atoms: &[Atom],
    k: usize,
    band: &KindRules,
    households: &[Household],
) -> Vec<MultiPolygon> {
    // The search (land samples, trial grids) runs on an outline of at most SEARCH_VERTICES vertices,
    // so its cost does not grow with the vertices of a surveyed boundary; the grids are then cut from
    // the full outline, once each.
    let simplified = search_outline(region);
    let search = simplified.as_ref().unwrap_or(region);
    let samples = land_samples(search, k);
    let mut budget = BACKTRACK_BUDGET;
    let ctx = LeafContext {
        leaf: search,
        band,
        single_part: region.0.len() == 1,
    };
    let cell: Cell = match region.bounding_rect() {
        Some(r) => vec![
            r.min(),
            Coord {
                x: r.max().x,
                y: r.min().y,
            },
            r.max(),
            Coord {
                x: r.min().x,
                y: r.max().y,
            },
        ],
        None => Vec::new(),
    };
    let pieces = bisect(&ctx, cell, atoms.iter().collect(), samples, k, &mut budget);
    let members: Vec<usize> = atoms
        .iter()
        .flat_map(|a| a.members.iter().copied())
        .collect();
    let shapes: Vec<MultiPolygon> = match &simplified {
        None => pieces.into_iter().map(|p| p.land).collect(),
        Some(_) => {
            let clipper = LeafClipper::new(region);
            pieces.par_iter().map(|p| clipper.clip(&p.cell)).collect()
        }
    };
    tidy(shapes, households, &members)
}

/// Outlines with more vertices than this are searched on a simplified copy.
const SEARCH_VERTICES: usize = geometry::LARGE_OUTLINE_VERTICES;

/// A copy of `region` with at most [`SEARCH_VERTICES`] vertices (Douglas–Peucker, the tolerance
/// doubled until it fits), or `None` when the region is small enough to search as it is.
fn search_outline(region: &MultiPolygon) -> Option<MultiPolygon> {
    use geo::Simplify;
    if geometry::vertex_count(region) <= SEARCH_VERTICES {
        return None;
    }
    let mut epsilon = (geometry::area_m2(region).sqrt() / 2_000.0).max(0.01);
    let mut simplified = region.simplify(epsilon);
    for _ in 0..40 {
        if geometry::vertex_count(&simplified) <= SEARCH_VERTICES {
            break;
        }
        epsilon *= 2.0;
        simplified = region.simplify(epsilon);
    }
    Some(geometry::normalized(simplified))
}

/// Cuts a convex cell out of a large outline without a boolean operation over the whole outline: the
/// outline's rings are first clipped (Sutherland–Hodgman, linear) to the cell's bounding box grown by a
/// margin, which keeps every original vertex near the cell and adds points only outside it; the
/// intersection with the cell then runs on that small remainder. Every cell of a leaf is converted to
/// the same integer grid (the leaf's bounding box), so neighbouring grids still share their edges
/// exactly.
struct LeafClipper<'a> {
    leaf: &'a MultiPolygon,
    boxes: Vec<Vec<Option<geo::Rect>>>,
    bounds: geo::Rect,
    margin: f64,
}

impl<'a> LeafClipper<'a> {
    fn new(leaf: &'a MultiPolygon) -> LeafClipper<'a> {
        let boxes = leaf
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.bounding_rect())
                    .collect()
            })
            .collect();
        let bounds = leaf.bounding_rect().unwrap_or(geo::Rect::new(
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 0.0, y: 0.0 },
        ));
        let margin = 1.0 + 1e-6 * bounds.width().max(bounds.height());
        LeafClipper {
            leaf,
            boxes,
            bounds,
            margin,
        }
    }

    fn clip(&self, cell: &Cell) -> MultiPolygon {
        use i_overlay::core::fill_rule::FillRule;
        use i_overlay::core::overlay::ShapeType;
        use i_overlay::core::overlay_rule::OverlayRule;
        use i_overlay::float::overlay::{FloatOverlay, OverlayOptions};
        use i_overlay::i_float::adapter::FloatPointAdapter;
        use i_overlay::i_float::float::rect::FloatRect;
        if cell.len() < 3 {
            return MultiPolygon(vec![]);
        }
        let (mut lo, mut hi) = (cell[0], cell[0]);
        for c in cell {
            lo = Coord {
                x: lo.x.min(c.x),
                y: lo.y.min(c.y),
            };
            hi = Coord {
                x: hi.x.max(c.x),
                y: hi.y.max(c.y),
            };
        }
        let m = self.margin;
        let (lo, hi) = (
            Coord {
                x: lo.x - m,
                y: lo.y - m,
            },
            Coord {
                x: hi.x + m,
                y: hi.y + m,
            },
        );
        let mut subject: Vec<Vec<[f64; 2]>> = Vec::new();
        for (p, polygon) in self.leaf.0.iter().enumerate() {
            for (r, ring) in std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .enumerate()
            {
                let Some(b) = self.boxes[p][r] else { continue };
                if b.max().x < lo.x || b.min().x > hi.x || b.max().y < lo.y || b.min().y > hi.y {
                    continue;
                }
                let clipped = geometry::clip_ring_to_box(&ring.0, lo, hi);
                if clipped.len() >= 3 {
                    subject.push(clipped);
                }
            }
        }
        if subject.is_empty() {
            return MultiPolygon(vec![]);
        }
        // The same integer grid for every cell of the leaf: its bounding box with room for the margin.
        let pad = 2.0 * m;
        let rect = FloatRect::new(
            self.bounds.min().x - pad,
            self.bounds.max().x + pad,
            self.bounds.min().y - pad,
            self.bounds.max().y + pad,
        );
        let adapter = FloatPointAdapter::<[f64; 2], f64>::new(rect);
        let clip: Vec<[f64; 2]> = cell.iter().map(|c| [c.x, c.y]).collect();
        let capacity = subject.iter().map(Vec::len).sum::<usize>() + clip.len();
        let shapes =
            FloatOverlay::new_custom(adapter, OverlayOptions::ogc(), Default::default(), capacity)
                .unsafe_add_source(&subject, ShapeType::Subject)
                .unsafe_add_contour(&clip, ShapeType::Clip)
                .overlay(OverlayRule::Intersect, FillRule::EvenOdd);
        let ring = |path: &Vec<[f64; 2]>| {
            let mut coords: Vec<Coord> = path.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
            if let Some(&first) = coords.first() {
                coords.push(first);
            }
            LineString(coords)
        };
        let polygons = shapes
            .iter()
            .filter(|shape| !shape.is_empty())
            .map(|shape| Polygon::new(ring(&shape[0]), shape[1..].iter().map(ring).collect()))
            .collect();
        geometry::normalized(MultiPolygon(polygons))
    }
}

/// One leaf as the engine draws it: the land left for its basic grids, the household points its
/// atoms are built from (weighted by the band's measure) and the band.
#[derive(Clone, Copy)]
struct LeafInput<'a> {
    code: &'a str,
    kind: &'a str,
    land: &'a MultiPolygon,
    households: &'a [Household],
    members: &'a [usize],
    band: &'a KindRules,
    policy: CountPolicy,
    ground: Option<&'a crate::plan::partition::cells::Ground<'a>>,
    /// The check's noise for the leaf (m²): gaps and overlaps below it are rounding.
    tol_m2: f64,
}

/// Partitions one leaf into grid geometries. With ground layers the cells engine draws the leaf;
/// without, straight cuts stay where they meet the band and the cells engine takes over where they do
/// not (and wins).
fn partition_leaf(leaf: &LeafInput) -> (Vec<MultiPolygon>, LeafPlan, Vec<BuildingSplit>) {
    let LeafInput {
        code,
        kind,
        land,
        households: points,
        members,
        band,
        policy,
        ground,
        tol_m2,
    } = *leaf;
    let (atoms, splits) = atoms(points, members, code, band);
    let households: u64 = atoms.iter().map(|a| a.households).sum();
    let (k, mut infeasible) = grid_count(band, households, policy);
    let mut engine = "straight";
    let mut divided_cells = Vec::new();
    let mut whole_cells_cannot_meet = false;
    // Whole cells may fit the band with another feasible number of grids.
    let others = if infeasible.is_none() {
        crate::plan::partition::cells::other_counts(band, households, k)
    } else {
        Vec::new()
    };
    let first = ground.and_then(|_| {
        crate::plan::partition::cells::draw_counts(land, &atoms, points, (k, &others), band, ground)
    });
    let pieces = if let Some(drawn) = first {
        engine = "cells";
        divided_cells = drawn.divided;
        if infeasible.is_none() && drawn.violation > 0 {
            infeasible = Some(cells_shortfall(drawn.whole_cells_can_meet));
            whole_cells_cannot_meet = drawn.whole_cells_can_meet == Some(false);
        }
        drawn.grids
    } else {
        let mut straight = partition_region(land, &atoms, k, band, points);
        if infeasible.is_some() && households > 0 {
            // No whole number of grids fits: the least-bad count is judged on the grids each
            // candidate actually produces (buildings are never divided, so an even split is not
            // what one gets).
            let lo = households.div_ceil(u64::from(band.max_households)).max(1) - 1;
            for other in [lo.max(1), lo + 1] {
                let other = other as usize;
                if other == k {
                    continue;
                }
                let alternative = partition_region(land, &atoms, other, band, points);
                let (now, then) = (
                    band_miss(&straight, &atoms, band),
                    band_miss(&alternative, &atoms, band),
                );
                if then < now || (then == now && alternative.len() < straight.len()) {
                    straight = alternative;
                }
            }
        }
        let bad = crate::plan::partition::cells::band_violation(&straight, points, members, band);
        let reachable = infeasible.is_none();
        if reachable && (bad.0 > 0 || bad.1 > 0 || straight.len() != k) {
            let drawn = crate::plan::partition::cells::draw_guarded(
                land,
                &atoms,
                points,
                k,
                band,
                None,
                crate::plan::partition::cells::grow::Search::MovesThenChains,
            );
            match drawn {
                None => straight,
                Some(drawn) => {
                    let cells_bad = crate::plan::partition::cells::band_violation(
                        &drawn.grids,
                        points,
                        members,
                        band,
                    );
                    if (cells_bad.0, cells_bad.1) < bad || (cells_bad <= bad && straight.len() != k)
                    {
                        engine = "cells";
                        divided_cells = drawn.divided;
                        if cells_bad.0 > 0 {
                            infeasible = Some(cells_shortfall(drawn.whole_cells_can_meet));
                        }
                        drawn.grids
                    } else {
                        straight
                    }
                }
            }
        } else {
            straight
        }
    };
    // Whatever drew them, the grids tile the land and hold every household before they go further.
    let (pieces, coverage_repairs) = repair::coverage(land, pieces, points, members, tol_m2);
    let mut splits = splits;
    if !splits.is_empty() {
        let index = crate::spatial::index::PolygonIndex::new(pieces.iter().collect());
        for split in &mut splits {
            let grids: std::collections::BTreeSet<usize> = members
                .iter()
                .filter(|&&i| points[i].building.as_deref() == Some(split.building.as_str()))
                .filter_map(|&i| index.containing(points[i].pos).first().copied())
                .collect();
            split.separated = grids.len() > 1;
        }
    }
    let feasible = band.feasible_counts(households);
    let plan = LeafPlan {
        leaf: code.to_string(),
        kind: kind.to_string(),
        households,
        grids: pieces.len(),
        feasible: (!feasible.is_empty()).then(|| (*feasible.start(), *feasible.end())),
        infeasible,
        engine,
        divided_cells,
        dedicated: 0,
        note: None,
        whole_cells_cannot_meet,
        coverage_repairs,
    };
    (pieces, plan, splits)
}

/// How far `pieces` miss the band: the worst grid's distance from it in households, then the sum over
/// all grids. Atoms count in the piece holding their centre.
fn band_miss(pieces: &[MultiPolygon], atoms: &[Atom], band: &KindRules) -> (u64, u64) {
    let index = crate::spatial::index::PolygonIndex::new(pieces.iter().collect());
    let mut held = vec![0u64; pieces.len()];
    for atom in atoms {
        if let Some(&g) = index.containing(atom.centre).first() {
            held[g] += atom.households;
        }
    }
    let (min, max) = (
        u64::from(band.min_households),
        u64::from(band.max_households),
    );
    let misses = held
        .iter()
        .map(|&h| min.saturating_sub(h) + h.saturating_sub(max));
    (misses.clone().max().unwrap_or(0), misses.sum())
}

/// Why a leaf whose household count fits the band still has grids out of it.
fn cells_shortfall(whole_cells: Option<bool>) -> String {
    match whole_cells {
        Some(false) => "no grouping of whole cells (blocks, buildings) fits the band".to_string(),
        _ => "no connected grouping of whole cells within the band was found".to_string(),
    }
}

/// Gives pieces of a grid that hold no households (cut off by clipping) to the neighbouring grid they
/// share the longest edge with; drops empty geometries.
pub fn tidy(
    pieces: Vec<MultiPolygon>,
    households: &[Household],
    members: &[usize],
) -> Vec<MultiPolygon> {
    let mut grids: Vec<Vec<Polygon>> = pieces.into_iter().map(|mp| mp.0).collect();
    let holds = |p: &Polygon| {
        let mp = MultiPolygon(vec![p.clone()]);
        members
            .iter()
            .any(|&i| geometry::contains(&mp, households[i].pos))
    };
    let mut orphans = Vec::new();
    for (g, parts) in grids.iter_mut().enumerate() {
        if parts.len() <= 1 {
            continue;
        }
        let keep_main = parts
            .iter()
            .enumerate()
            .max_by(|a, b| {
                (
                    holds(a.1),
                    geometry::area_m2(&MultiPolygon(vec![a.1.clone()])),
                )
                    .partial_cmp(&(
                        holds(b.1),
                        geometry::area_m2(&MultiPolygon(vec![b.1.clone()])),
                    ))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|(i, _)| i)
            .unwrap_or(0);
        let mut kept = Vec::new();
        for (i, p) in parts.drain(..).enumerate() {
            if i == keep_main || holds(&p) {
                kept.push(p);
            } else {
                orphans.push((g, p));
            }
        }
        *parts = kept;
    }
    for (owner, part) in orphans {
        let part_mp = MultiPolygon(vec![part.clone()]);
        let part_perimeter = geometry::perimeter_m(&part_mp);
        let mut best: Option<(f64, usize)> = None;
        for (g, parts) in grids.iter().enumerate() {
            if g == owner || parts.is_empty() {
                continue;
            }
            let other = MultiPolygon(parts.clone());
            let (Some(a), Some(b)) = (geometry::bbox(&part_mp), geometry::bbox(&other)) else {
                continue;
            };
            if !geometry::rects_overlap(&a, &b) {
                continue;
            }
            let merged = geometry::normalized(other.union(&part_mp));
            let shared = (part_perimeter + geometry::perimeter_m(&other)
                - geometry::perimeter_m(&merged))
                / 2.0;
            if shared > 1e-6 && best.is_none_or(|b| shared > b.0) {
                best = Some((shared, g));
            }
        }
        match best {
            Some((_, g)) => {
                let merged = geometry::normalized(MultiPolygon(grids[g].clone()).union(&part_mp));
                grids[g] = merged.0;
            }
            None => grids[owner].push(part),
        }
    }
    grids
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| geometry::normalized(MultiPolygon(p)))
        .collect()
}

/// The household points as the partition counts them where a kind's measure is `population`.
struct Counted {
    /// The points, each weighing its residents in the leaves counted by population (its households
    /// elsewhere).
    points: Vec<Household>,
    /// The leaves counted by population: those of a kind measured by population whose every point gives
    /// its residents (a leaf with a point of unknown population is counted by households).
    leaves: std::collections::BTreeSet<usize>,
}

/// The points re-weighed by population for the leaves whose kind is measured by population; `None`
/// when no leaf is.
fn counted_households(data: &Dataset, rules: &Rules, members: &[Vec<usize>]) -> Option<Counted> {
    let leaves: std::collections::BTreeSet<usize> = data
        .tree
        .leaves()
        .iter()
        .copied()
        .filter(|&l| {
            data.tree
                .kind(l)
                .and_then(|k| rules.kind(k))
                .is_some_and(|b| b.measure == crate::rules::Measure::Population)
        })
        .filter(|&l| {
            members[l]
                .iter()
                .all(|&i| data.households[i].population.is_some())
        })
        .collect();
    if leaves.is_empty() {
        return None;
    }
    let mut points = data.households.clone();
    for &l in &leaves {
        for &i in &members[l] {
            if let Some(p) = data.households[i].population {
                points[i].households = p;
            }
        }
    }
    Some(Counted { points, leaves })
}

/// Partitions every leaf of the dataset, in force from today, with no ground layers and no dedicated
/// places. `progress` is told each finished leaf.
pub fn partition(data: &Dataset, rules: &Rules, progress: &(dyn Fn() + Sync)) -> Partition {
    partition_with(data, rules, &Drawing::on(Date::today()), progress)
}

/// What grids are drawn with besides the households, the boundaries and the rules.
#[derive(Clone, Copy)]
pub struct Drawing<'a> {
    /// Ground layers (blocks, barriers): grids are then unions of whole cells.
    pub ground: Option<&'a crate::plan::partition::cells::Ground<'a>>,
    /// Dedicated places, and the land of each in its leaves ([`crate::plan::dedicated::carve`]).
    pub places: &'a [Dedicated],
    pub carved: &'a [Carved],
    /// The day the grids take effect (`valid_from`).
    pub date: Date,
}

impl Drawing<'static> {
    /// Nothing but the date.
    pub fn on(date: Date) -> Drawing<'static> {
        Drawing {
            ground: None,
            places: &[],
            carved: &[],
            date,
        }
    }
}

/// One leaf's grids, its plan and the buildings divided in it.
type DrawnLeaf = (Vec<GridShape>, LeafPlan, Vec<BuildingSplit>);

/// Partitions every leaf of the dataset: the dedicated places first, each a grid of its own, then the
/// basic grids on the rest of the leaf. Grids are numbered per leaf in reading order
/// ([`crate::plan::numbering`]) and written in the rules' id style (standard by default).
pub fn partition_with(
    data: &Dataset,
    rules: &Rules,
    drawing: &Drawing,
    progress: &(dyn Fn() + Sync),
) -> Partition {
    let leaves = data.tree.leaves();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); data.tree.areas.len()];
    for (i, leaf) in data.leaf_of.iter().enumerate() {
        if let Some(l) = leaf {
            members[*l].push(i);
        }
    }
    let counted = counted_households(data, rules, &members);
    let mut carved: Vec<Vec<&Carved>> = vec![Vec::new(); data.tree.areas.len()];
    for c in drawing.carved {
        if let Some(list) = carved.get_mut(c.leaf) {
            list.push(c);
        }
    }
    let style = rules.partition.grid_ids.unwrap_or(IdStyle::Standard);
    // The largest leaves first, each taken by the next core free: they take longest, and one started
    // last would leave the other cores idle at the end.
    let mut order: Vec<usize> = leaves.to_vec();
    order.sort_by_key(|&l| std::cmp::Reverse(members[l].len()));
    let mut results: Vec<(usize, DrawnLeaf)> = order
        .into_iter()
        .par_bridge()
        .filter_map(|l| {
            let kind = data.tree.kind(l)?;
            let band = rules.kind(kind)?;
            let by_population = counted.as_ref().is_some_and(|c| c.leaves.contains(&l));
            let (households, band) = match &counted {
                Some(c) if by_population => (c.points.as_slice(), band.counting()),
                _ => (data.households.as_slice(), std::borrow::Cow::Borrowed(band)),
            };
            let r = draw_leaf(
                data,
                households,
                l,
                kind,
                &members[l],
                &carved[l],
                &band,
                rules,
                drawing,
                style,
            );
            progress();
            Some((l, r))
        })
        .collect();
    // Back in the tree's order of leaves.
    let rank: HashMap<usize, usize> = leaves.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    results.sort_by_key(|(l, _)| rank.get(l).copied());
    let results = results.into_iter().map(|(_, r)| r);
    let mut grids = Vec::new();
    let mut plans = Vec::new();
    let mut splits = Vec::new();
    for (leaf_grids, plan, s) in results {
        for mut g in leaf_grids {
            g.feature = grids.len();
            grids.push(g);
        }
        plans.push(plan);
        splits.extend(s);
    }
    Partition {
        grids,
        leaves: plans,
        splits,
    }
}

/// Draws one leaf: its dedicated grids carved out, its basic grids on the rest, all numbered.
#[allow(clippy::too_many_arguments)]
fn draw_leaf(
    data: &Dataset,
    points: &[Household],
    l: usize,
    kind: &str,
    members: &[usize],
    carved: &[&Carved],
    band: &KindRules,
    rules: &Rules,
    drawing: &Drawing,
    style: IdStyle,
) -> (Vec<GridShape>, LeafPlan, Vec<BuildingSplit>) {
    let area = &data.tree.areas[l];
    let (land, basic): (std::borrow::Cow<MultiPolygon>, Vec<usize>) = if carved.is_empty() {
        (std::borrow::Cow::Borrowed(&area.geometry), members.to_vec())
    } else {
        let taken = geometry::normalized(geo::unary_union(carved.iter().map(|c| &c.land)));
        let land = geometry::normalized(area.geometry.difference(&taken));
        let basic = members
            .iter()
            .copied()
            .filter(|&i| !geometry::contains(&taken, data.households[i].pos))
            .collect();
        (std::borrow::Cow::Owned(land), basic)
    };
    let tol = rules
        .check
        .tolerance_m2(geometry::perimeter_m(&area.geometry));
    let input = LeafInput {
        code: &area.code,
        kind,
        land: &land,
        households: points,
        members: &basic,
        band,
        policy: rules.partition.count_policy,
        ground: drawing.ground,
        tol_m2: tol,
    };
    let (pieces, mut plan, splits) = if geometry::area_m2(&land) > tol {
        let start = std::time::Instant::now();
        let drawn = partition_leaf(&input);
        tracing::debug!(
            target: "gridplan::timing",
            leaf = %area.code,
            households = drawn.1.households,
            grids = drawn.0.len(),
            engine = drawn.1.engine,
            ms = start.elapsed().as_secs_f64() * 1000.0,
            "leaf drawn"
        );
        drawn
    } else {
        // The dedicated places cover the whole leaf: no land is left for basic grids.
        let plan = LeafPlan {
            leaf: area.code.clone(),
            kind: kind.to_string(),
            households: 0,
            grids: 0,
            feasible: None,
            infeasible: None,
            engine: "none",
            divided_cells: Vec::new(),
            dedicated: 0,
            note: Some("the dedicated grids cover the whole leaf".to_string()),
            whole_cells_cannot_meet: false,
            coverage_repairs: repair::Repairs::default(),
        };
        (Vec::new(), plan, Vec::new())
    };
    plan.dedicated = carved.len();
    plan.grids = pieces.len() + carved.len();
    let community = Community {
        code: &area.code,
        name: area.name.as_deref(),
    };
    let records: Vec<GridRecord> = pieces
        .iter()
        .map(|_| None)
        .chain(carved.iter().map(|c| drawing.places.get(c.place)))
        .map(|place| match place {
            Some(p) => dedicated::record(p, community, drawing.date),
            None => GridRecord::default(),
        })
        .collect();
    let shapes: Vec<MultiPolygon> = pieces
        .into_iter()
        .chain(carved.iter().map(|c| c.land.clone()))
        .collect();
    let order = numbering::reading_order(&shapes.iter().collect::<Vec<_>>());
    let last = shapes.len() as u32;
    let mut slots: Vec<Option<(MultiPolygon, GridRecord)>> =
        shapes.into_iter().zip(records).map(Some).collect();
    let mut grids = Vec::with_capacity(slots.len());
    for (n, &i) in order.iter().enumerate() {
        let Some((geometry, record)) = slots[i].take() else {
            continue;
        };
        let number = n as u32 + 1;
        let mut record = match record.kind {
            GridKind::Basic => numbering::basic_record(community, number, drawing.date),
            GridKind::Dedicated => record,
        };
        record.last_number = Some(last);
        grids.push(GridShape {
            feature: 0,
            id: style.id(&area.code, number),
            community: Some(area.code.clone()),
            geometry,
            declared_households: None,
            primary_worker: None,
            record,
        });
    }
    (grids, plan, splits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{area, dataset, household, rect, spread};

    fn urban() -> KindRules {
        Rules::default().kinds["urban"].clone()
    }

    #[test]
    fn the_count_is_the_feasible_one_nearest_the_target() {
        let band = urban();
        // 300–500: 800 fits 2 only; 1,600 fits 4 or 5, target 400 → 4.
        assert_eq!(
            grid_count(&band, 800, CountPolicy::NearestTarget),
            (2, None)
        );
        assert_eq!(grid_count(&band, 1_600, CountPolicy::NearestTarget).0, 4);
        assert_eq!(grid_count(&band, 1_600, CountPolicy::Fewest).0, 4);
        // 2,000 fits 4 to 6: the target gives 5, the fewest 4.
        assert_eq!(grid_count(&band, 2_000, CountPolicy::NearestTarget).0, 5);
        assert_eq!(grid_count(&band, 2_000, CountPolicy::Fewest).0, 4);
        // 1,800 is 4.5 targets: the tie goes to fewer grids.
        assert_eq!(grid_count(&band, 1_800, CountPolicy::NearestTarget).0, 4);
    }

    #[test]
    fn no_whole_number_fits_gives_the_least_bad_count_and_says_why() {
        let band = urban();
        // 550: one grid is 50 over, two are 25 under each: two is less bad.
        let (k, why) = grid_count(&band, 550, CountPolicy::NearestTarget);
        assert_eq!(k, 2);
        assert!(why.is_some_and(|w| w.contains("550")));
        // Fewer than one grid's minimum: one grid, flagged.
        let (k, why) = grid_count(&band, 120, CountPolicy::NearestTarget);
        assert_eq!(k, 1);
        assert!(why.is_some());
    }

    #[test]
    fn an_oversize_building_is_split_by_entrance_into_balanced_pieces() {
        let band = urban();
        let mut hh: Vec<Household> = (0..640)
            .map(|i| {
                let mut h = household(0.0, 0.0, 1, Some("T1"));
                h.entrance = Some(format!("{}", i / 80 + 1).into());
                h
            })
            .collect();
        hh.push(household(50.0, 50.0, 10, Some("small")));
        let members: Vec<usize> = (0..hh.len()).collect();
        let (atoms, splits) = atoms(&hh, &members, "L", &band);
        assert_eq!(splits.len(), 1);
        assert_eq!(splits[0].by, "entrance");
        assert_eq!(splits[0].pieces, vec![320, 320]);
        assert_eq!(atoms.len(), 3);
        let total: u64 = atoms.iter().map(|a| a.households).sum();
        assert_eq!(total, 650);
        // Every household is in exactly one atom.
        let mut seen: Vec<usize> = atoms.iter().flat_map(|a| a.members.clone()).collect();
        seen.sort();
        assert_eq!(seen, members);
    }

    #[test]
    fn the_two_sides_of_a_cut_share_the_points_on_the_line() {
        let square: Cell = vec![
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 10.0, y: 0.0 },
            Coord { x: 10.0, y: 10.0 },
            Coord { x: 0.0, y: 10.0 },
        ];
        let normal = Coord { x: 0.6, y: 0.8 };
        let low = clip(&square, normal, 7.0, true);
        let high = clip(&square, normal, 7.0, false);
        let area = |c: &Cell| geometry::area_m2(&cell_polygon(c));
        assert!((area(&low) + area(&high) - 100.0).abs() < 1e-9);
        let on_line = |c: &Cell| -> Vec<(u64, u64)> {
            let mut v: Vec<(u64, u64)> = c
                .iter()
                .filter(|p| (p.x * normal.x + p.y * normal.y - 7.0).abs() < 1e-9)
                .map(|p| (p.x.to_bits(), p.y.to_bits()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(on_line(&low), on_line(&high));
        assert_eq!(on_line(&low).len(), 2);
    }

    #[test]
    fn a_leaf_is_tiled_by_grids_in_the_band() {
        let leaf = rect(0.0, 0.0, 1_000.0, 600.0);
        let data = dataset(
            vec![area("320116001001", None, Some("urban"), leaf.clone())],
            spread(0.0, 0.0, 1_000.0, 600.0, 1_200, 1),
        );
        let plan = partition(&data, &Rules::default(), &|| {});
        assert_eq!(plan.grids.len(), 3);
        let areas: f64 = plan
            .grids
            .iter()
            .map(|g| geometry::area_m2(&g.geometry))
            .sum();
        assert!((areas - geometry::area_m2(&leaf)).abs() < 1e-3);
        let index = crate::spatial::index::PolygonIndex::new(
            plan.grids.iter().map(|g| &g.geometry).collect(),
        );
        let mut counts = vec![0u64; plan.grids.len()];
        for h in &data.households {
            let inside = index.containing(h.pos);
            assert_eq!(inside.len(), 1, "every household in exactly one grid");
            counts[inside[0]] += h.households as u64;
        }
        assert!(
            counts.iter().all(|&c| (300..=500).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(plan.grids[0].id, "320116001001001");
        assert_eq!(plan.leaves[0].infeasible, None);
    }
}
