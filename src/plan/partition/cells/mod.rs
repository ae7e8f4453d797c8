//! The cells engine: grids that follow the ground.
//!
//! Each leaf is divided into **cells** ([`cells`]): the blocks clipped to it and the land left over
//! (cut into pieces no larger than a street block), or, with no blocks, the Voronoi cells of the
//! households' positions clipped to it. A cell never splits a building; a cell holding more than a
//! grid's maximum is divided by its buildings and reported. The cells form a graph ([`graph`]) weighted
//! by households, with edges as long as the boundary two cells share and cheaper to part along
//! high-rank barriers. The graph is partitioned into `k` connected parts within the band ([`grow`]),
//! and each grid is the union of its cells, so the grids tile the leaf exactly and every inner grid edge
//! is a cell edge: a block's edge, or the leaf's own outline.

#[allow(clippy::module_inception)]
pub mod cells;
pub mod compounds;
pub mod faces;
pub mod graph;
pub mod grow;

use crate::model::Household;
use crate::plan::partition::Atom;
use crate::rules::KindRules;
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use geo::{BooleanOps, MultiPolygon};
use serde::Serialize;

pub use crate::spatial::ground::Ground;

/// A cell larger than a grid's maximum, divided by its buildings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DividedCell {
    /// The block's code (or name), or "(land without a block)".
    pub cell: String,
    pub households: u64,
    pub pieces: Vec<u64>,
}

/// What the cells engine drew for one leaf.
pub struct LeafCells {
    pub grids: Vec<MultiPolygon>,
    /// Households outside the band, summed over the grids.
    pub violation: u64,
    pub cells: usize,
    pub divided: Vec<DividedCell>,
    /// Whether whole cells can meet the band at all (ignoring where they lie), when known.
    pub whole_cells_can_meet: Option<bool>,
}

/// A leaf's cells and their graph, built once for every grid count tried on it.
pub struct Prepared {
    cells: cells::Cells,
    graph: graph::Graph,
}

/// Divides `leaf` into cells and builds their graph.
pub fn prepare(
    leaf: &MultiPolygon,
    atoms: &[Atom],
    households: &[Household],
    band: &KindRules,
    ground: Option<&Ground>,
) -> Prepared {
    let max = band.max_households as u64;
    let near = ground.map(|g| g.blocks_near(leaf)).unwrap_or_default();
    // Street lines cut the leaf (or its blocks) into the faces they make, which are then the blocks.
    let faces = ground
        .map(|g| faces::street_faces(leaf, g, &near))
        .unwrap_or_default();
    let blocks: Vec<(usize, &MultiPolygon, String)> = if faces.is_empty() {
        near
    } else {
        faces.iter().map(|(i, f, l)| (*i, f, l.clone())).collect()
    };
    let mut cells = cells::build(leaf, atoms, households, &blocks, max);
    let barriers = ground.map(|g| &g.barriers);
    let graph = graph::build(&mut cells, barriers);
    Prepared { cells, graph }
}

/// The seed of every partition: identical input gives identical grids.
const SEED: u64 = 0x5EED_CE11;

/// Draws `k` grids of `leaf` from its cells.
pub fn draw(
    leaf: &MultiPolygon,
    atoms: &[Atom],
    households: &[Household],
    k: usize,
    band: &KindRules,
    ground: Option<&Ground>,
    search: grow::Search,
) -> LeafCells {
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let prepared = prepare(leaf, atoms, households, band, ground);
    let solution = grow::partition_by(&prepared.graph, k, min, max, SEED, search);
    assemble(prepared, solution, k, leaf, atoms, households, band)
}

/// The grids of a partition of the prepared cells into `k` parts: each the union of its cells.
fn assemble(
    prepared: Prepared,
    solution: grow::Solution,
    k: usize,
    leaf: &MultiPolygon,
    atoms: &[Atom],
    households: &[Household],
    band: &KindRules,
) -> LeafCells {
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let Prepared { cells, graph: g } = prepared;
    let parts = solution.part.iter().copied().max().map_or(0, |m| m + 1);
    let mut polys: Vec<Vec<geo::Polygon>> = vec![Vec::new(); parts];
    // The unclipped Voronoi cells stand for their pieces when every site's pieces are in one part.
    let whole_sites = !cells.sites.is_empty() && {
        let mut part_of_site = vec![usize::MAX; cells.sites.len()];
        cells.pieces.iter().enumerate().all(|(i, piece)| {
            let part = solution.part[cells.cell_of[i]];
            piece.site.is_some_and(|s| {
                let seen = &mut part_of_site[s];
                let same = *seen == usize::MAX || *seen == part;
                *seen = part;
                same
            })
        })
    };
    let mut site_done = vec![false; cells.sites.len()];
    for (i, piece) in cells.pieces.iter().enumerate() {
        let part = solution.part[cells.cell_of[i]];
        match piece.site {
            // The unclipped Voronoi cells share their vertices exactly; the union is clipped once.
            Some(s) if whole_sites => {
                if !site_done[s] {
                    site_done[s] = true;
                    polys[part].push(cells.sites[s].clone());
                }
            }
            _ => polys[part].extend(snapped_piece(&piece.polygon)),
        }
    }
    // The union of one part's pieces, each snapped to the millimetre (neighbours then meet exactly).
    let snapped_union = |part: usize| {
        let pieces: Vec<geo::Polygon> = cells
            .pieces
            .iter()
            .enumerate()
            .filter(|&(i, _)| solution.part[cells.cell_of[i]] == part)
            .flat_map(|(_, piece)| snapped_piece(&piece.polygon))
            .collect();
        clean(geometry::normalized(geo::unary_union(pieces.iter())))
    };
    let grids: Vec<MultiPolygon> = polys
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.is_empty())
        .map(|(part, p)| {
            let union = geometry::normalized(geo::unary_union(p.iter()));
            if !whole_sites {
                return clean(union);
            }
            let shape = clean(geometry::normalized(union.intersection(leaf)));
            // Voronoi cells clipped by a concave leaf can leave a hairline gap (under a millimetre)
            // in the union of their unclipped sites: a grid in two parts that is one. The union of
            // the clipped pieces, snapped, is then taken when it has fewer parts.
            if shape.0.len() > leaf.0.len() {
                use geo::Area;
                let welded = snapped_union(part);
                // Welded, not shrunk: the same land (to a square metre) in fewer parts.
                let same = (welded.unsigned_area() - shape.unsigned_area()).abs() < 1.0;
                if same && !welded.0.is_empty() && welded.0.len() < shape.0.len() {
                    return welded;
                }
            }
            shape
        })
        .collect();
    let members: Vec<usize> = atoms
        .iter()
        .flat_map(|a| a.members.iter().copied())
        .collect();
    let grids: Vec<MultiPolygon> = crate::plan::partition::tidy(grids, households, &members)
        .into_iter()
        .map(clean)
        .collect();
    let whole_cells_can_meet = if solution.violation > 0 {
        grow::whole_cells_can_meet(&g.weight, k, min, max)
    } else {
        Some(true)
    };
    LeafCells {
        grids,
        violation: solution.violation,
        cells: cells.len(),
        divided: cells
            .divided
            .into_iter()
            .map(|(cell, households, pieces)| DividedCell {
                cell,
                households,
                pieces,
            })
            .collect(),
        whole_cells_can_meet,
    }
}

/// Households outside the band, summed over `grids` (each household counted in the grid holding its
/// point), and the grids whose households lie in more than one of their parts.
pub fn band_violation(
    grids: &[MultiPolygon],
    households: &[Household],
    members: &[usize],
    band: &KindRules,
) -> (u64, usize) {
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let index = PolygonIndex::new(grids.iter().collect());
    let mut w = vec![0u64; grids.len()];
    let mut parts_holding: Vec<std::collections::BTreeSet<usize>> =
        vec![Default::default(); grids.len()];
    for &m in members {
        let p = households[m].pos;
        if let Some(&g) = index.containing(p).first() {
            w[g] += households[m].households as u64;
            if grids[g].0.len() > 1 {
                let part = grids[g]
                    .0
                    .iter()
                    .position(|poly| geometry::contains(&MultiPolygon(vec![poly.clone()]), p));
                parts_holding[g].extend(part);
            }
        }
    }
    (
        w.iter()
            .map(|&w| min.saturating_sub(w) + w.saturating_sub(max))
            .sum(),
        parts_holding.iter().filter(|s| s.len() > 1).count(),
    )
}

/// A piece snapped to the millimetre ([`snap_mm`]) and made valid there: rounding can twist a ring
/// by a hair where a neighbour's vertex was put into its side (a loop of 40 µm at a divided block's
/// piece), and the union of a grid's pieces then lost the whole piece, leaving a gap with households
/// in it. Empty when nothing of the piece is left.
fn snapped_piece(piece: &geo::Polygon) -> Vec<geo::Polygon> {
    use geo::Area;
    let snapped = snap_mm(piece);
    if snapped.exterior().0.len() < 4 || snapped.unsigned_area() <= 0.0 {
        return Vec::new();
    }
    geometry::valid_on_lattice(geometry::normalized(MultiPolygon(vec![snapped])), 3).0
}

/// The polygon with its vertices on a millimetre lattice (neighbouring pieces then meet exactly).
fn snap_mm(p: &geo::Polygon) -> geo::Polygon {
    let mm = |r: &geo::LineString| -> geo::LineString {
        let mut out: Vec<geo::Coord> =
            r.0.iter()
                .map(|c| geo::Coord {
                    x: (c.x * 1000.0).round() / 1000.0,
                    y: (c.y * 1000.0).round() / 1000.0,
                })
                .collect();
        out.dedup();
        geo::LineString(out)
    };
    geo::Polygon::new(mm(p.exterior()), p.interiors().iter().map(mm).collect())
}

/// Splits rings that touch themselves at a vertex (two cells of a grid meeting at a corner, the grid
/// going round between them) into a ring and a hole touching it there, or into two polygons, as simple
/// features require.
fn split_pinches(mp: MultiPolygon) -> MultiPolygon {
    use geo::Area;
    /// Puts every vertex lying on another (non-adjacent) segment of the ring into that segment too,
    /// so a touch becomes a repeated vertex.
    fn mark_touches(ring: &mut Vec<geo::Coord>) {
        let mut i = 0;
        while i + 1 < ring.len() && ring.len() < 20_000 {
            let (a, b) = (ring[i], ring[i + 1]);
            let mut hit = None;
            for (j, &v) in ring.iter().enumerate().take(ring.len() - 1) {
                if j == i || j == i + 1 || v == a || v == b {
                    continue;
                }
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                let l2 = dx * dx + dy * dy;
                if l2 <= 0.0 {
                    continue;
                }
                let t = ((v.x - a.x) * dx + (v.y - a.y) * dy) / l2;
                if t <= 0.0 || t >= 1.0 {
                    continue;
                }
                let d = (v.x - a.x - t * dx).hypot(v.y - a.y - t * dy);
                if d < 1e-3 {
                    hit = Some(v);
                    break;
                }
            }
            match hit {
                Some(v) => ring.insert(i + 1, v),
                None => i += 1,
            }
        }
    }
    fn split_ring(ring: Vec<geo::Coord>, out: &mut Vec<Vec<geo::Coord>>) {
        // Rings still to split (a stack, not recursion: a ring can touch itself thousands of times).
        let mut todo = vec![ring];
        'rings: while let Some(mut ring) = todo.pop() {
            mark_touches(&mut ring);
            // `ring` is closed. Find a vertex that repeats (not the closing one).
            let n = ring.len().saturating_sub(1);
            let mut seen: rustc_hash::FxHashMap<(u64, u64), usize> = Default::default();
            for i in 0..n {
                let key = (ring[i].x.to_bits(), ring[i].y.to_bits());
                if let Some(&j) = seen.get(&key) {
                    let inner: Vec<geo::Coord> = ring[j..=i].to_vec();
                    let mut outer: Vec<geo::Coord> = ring[..j].to_vec();
                    outer.extend_from_slice(&ring[i..]);
                    todo.push(outer);
                    todo.push(inner);
                    continue 'rings;
                }
                seen.insert(key, i);
            }
            if ring.len() >= 4 {
                out.push(ring);
            }
        }
    }
    let mut polys: Vec<geo::Polygon> = Vec::new();
    for p in mp.0 {
        let mut shells = Vec::new();
        split_ring(p.exterior().0.clone(), &mut shells);
        let mut holes: Vec<geo::LineString> = Vec::new();
        for h in p.interiors() {
            let mut parts = Vec::new();
            split_ring(h.0.clone(), &mut parts);
            holes.extend(parts.into_iter().map(geo::LineString));
        }
        // Pieces of the shell running the other way are holes.
        let (outer, inner): (Vec<_>, Vec<_>) = shells
            .into_iter()
            .map(geo::LineString)
            .partition(|r| geo::Polygon::new(r.clone(), vec![]).signed_area() > 0.0);
        holes.extend(inner);
        let mut made: Vec<geo::Polygon> = outer
            .into_iter()
            .map(|r| geo::Polygon::new(r, vec![]))
            .collect();
        for h in holes {
            let probe = geo::Polygon::new(h.clone(), vec![]);
            let at = geo::InteriorPoint::interior_point(&probe).map(|p| p.0);
            let home = made.iter().position(|m| {
                at.is_some_and(|c| geometry::contains(&MultiPolygon(vec![m.clone()]), c))
            });
            match home {
                Some(i) => made[i].interiors_push(h),
                None => {
                    if let Some(m) = made.first_mut() {
                        m.interiors_push(h);
                    }
                }
            }
        }
        polys.extend(made);
    }
    geometry::normalized(MultiPolygon(polys))
}

/// Removes what boolean operations on many small cells can leave behind: holes and parts under 1 m²
/// (the leaf's own holes are far larger) and vertices within a millimetre of the previous one.
pub fn clean(mp: MultiPolygon) -> MultiPolygon {
    use geo::Area;
    let ring = |ls: &geo::LineString| -> geo::LineString {
        let mut out: Vec<geo::Coord> = Vec::with_capacity(ls.0.len());
        for &c in &ls.0 {
            if out
                .last()
                .is_none_or(|l: &geo::Coord| (l.x - c.x).hypot(l.y - c.y) > 1e-3)
            {
                out.push(c);
            }
        }
        if let (Some(&f), Some(l)) = (ls.0.first(), out.last_mut()) {
            *l = f;
        }
        geo::LineString(out)
    };
    let polys: Vec<geo::Polygon> =
        mp.0.into_iter()
            .filter(|p| p.unsigned_area() >= 1.0)
            .map(|p| {
                let holes: Vec<geo::LineString> = p
                    .interiors()
                    .iter()
                    .filter(|h| geo::Polygon::new((*h).clone(), vec![]).unsigned_area() >= 1.0)
                    .map(ring)
                    .filter(|r| r.0.len() >= 4)
                    .collect();
                geo::Polygon::new(ring(p.exterior()), holes)
            })
            .filter(|p| p.exterior().0.len() >= 4)
            .collect();
    split_pinches(geometry::normalized(MultiPolygon(polys)))
}

/// The other feasible grid counts for `households`, nearest `k` first (at most three).
pub fn other_counts(band: &KindRules, households: u64, k: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = band
        .feasible_counts(households)
        .map(|c| c as usize)
        .filter(|&c| c != k)
        .collect();
    ks.sort_by_key(|&c| (c.abs_diff(k), c));
    ks.truncate(3);
    ks
}

/// [`draw`], or `None` when a geometric operation failed inside the boolean-operations library on
/// this leaf's data (the caller then keeps straight cuts).
pub fn draw_guarded(
    leaf: &MultiPolygon,
    atoms: &[Atom],
    households: &[Household],
    k: usize,
    band: &KindRules,
    ground: Option<&Ground>,
    search: grow::Search,
) -> Option<LeafCells> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        draw(leaf, atoms, households, k, band, ground, search)
    }))
    .ok()
}

/// The grids of `leaf` with `k` grids or, where whole cells miss the band with `k`, with one of the
/// `others` counts: first every count with single-cell moves (cheap, and they meet the band in almost
/// every leaf), then every count from starts drawn on random spanning trees (they find the groupings
/// of a few heavy cells that moves cannot reach), then `k` and the nearest other count with ejection
/// chains as well (their search costs far more, and a leaf whose band no count meets would pay it for
/// every count). The first in the band
/// is kept, else the one missing it least; `None` when the geometry library failed on this leaf.
///
/// The cells and their graph are built once for all counts; the other counts are searched side by
/// side, each given up as soon as one before it in that order meets the band (the choice is the one
/// the searches made one after another would give).
pub fn draw_counts(
    leaf: &MultiPolygon,
    atoms: &[Atom],
    households: &[Household],
    (k, others): (usize, &[usize]),
    band: &KindRules,
    ground: Option<&Ground>,
) -> Option<LeafCells> {
    use grow::Search;
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (min, max) = (band.min_households as u64, band.max_households as u64);
    let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prepare(leaf, atoms, households, band, ground)
    }))
    .ok()?;
    let g = &prepared.graph;
    // A leaf of large compounds: each compound that fits whole grids gets its own, where that meets the
    // band.
    let wanted: Vec<usize> = std::iter::once(k).chain(others.iter().copied()).collect();
    let by_compound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        compounds::partition(&prepared.cells, g, &wanted, min, max, SEED)
    }))
    .ok()
    .flatten();
    let by_compound = match by_compound {
        Some((count, solution)) if solution.violation == 0 => {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                assemble(prepared, solution, count, leaf, atoms, households, band)
            }))
            .ok();
        }
        other => other,
    };
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        grow::partition_by(g, k, min, max, SEED, Search::Moves)
    }))
    .ok()?;
    let mut best = (k, first);
    let rounds: [Vec<(usize, Search)>; 3] = [
        others.iter().map(|&c| (c, Search::Moves)).collect(),
        std::iter::once(k)
            .chain(others.iter().copied())
            .map(|c| (c, Search::Trees))
            .collect(),
        std::iter::once(k)
            .chain(others.iter().copied())
            .take(2)
            .map(|c| (c, Search::Chains))
            .collect(),
    ];
    for tries in rounds {
        if best.1.violation == 0 {
            break;
        }
        // The first try (in order) that met the band: the ones after it are not needed.
        let met = AtomicUsize::new(usize::MAX);
        let found: Vec<grow::Solution> = tries
            .par_iter()
            .enumerate()
            .map(|(i, &(count, search))| {
                let stop = || met.load(Ordering::Relaxed) < i;
                // A search that failed is a try that missed (as a failed draw was before).
                let s = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    grow::partition_until(g, count, min, max, SEED, search, &stop)
                }));
                let Ok(s) = s else {
                    return grow::Solution {
                        part: Vec::new(),
                        violation: u64::MAX,
                        objective: f64::INFINITY,
                    };
                };
                if stop() {
                    return grow::Solution {
                        part: Vec::new(),
                        violation: u64::MAX,
                        objective: f64::INFINITY,
                    };
                }
                if s.violation == 0 {
                    met.fetch_min(i, Ordering::Relaxed);
                }
                s
            })
            .collect();
        for ((count, _), s) in tries.iter().zip(found) {
            if best.1.violation == 0 {
                break;
            }
            if s.violation < best.1.violation {
                best = (*count, s);
            }
        }
    }
    // Compound by compound, where that misses the band no more than the whole leaf's search.
    let best = match by_compound {
        Some(c) if c.1.violation <= best.1.violation => c,
        _ => best,
    };
    let (count, solution) = best;
    // Whether whole cells could meet the band with any of the counts tried (not only the one kept),
    // decided exactly where that is cheap.
    let can_meet = (solution.violation > 0).then(|| {
        let each: Vec<Option<bool>> = std::iter::once(k)
            .chain(others.iter().copied())
            .map(|c| grow::whole_cells_can_meet_exactly(&g.weight, c, min, max))
            .collect();
        if each.contains(&Some(true)) {
            Some(true)
        } else if each.iter().all(|c| *c == Some(false)) {
            Some(false)
        } else {
            None
        }
    });
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut drawn = assemble(prepared, solution, count, leaf, atoms, households, band);
        if let Some(can_meet) = can_meet {
            drawn.whole_cells_can_meet = can_meet;
        }
        drawn
    }))
    .ok()
}
