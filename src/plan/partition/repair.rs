//! The last step before a leaf's grids are written: coverage made whole, whatever drew them.
//!
//! The grids of a leaf must tile its land: no gap, no overlap, nothing outside it, every grid one
//! polygon (one per part of a leaf in several parts), and every household of the leaf inside a grid.
//! The engines draw grids that way by construction, but boolean operations on many small pieces,
//! rounding to the millimetre and hostile data (points on outlines, pieces meeting at a hair) can
//! leave a sliver, a detached piece or a household on the wrong side of an edge. Here each is given
//! to a neighbour:
//!
//! - land of two grids stays with the first;
//! - land outside the leaf is cut off;
//! - a grid's piece detached from its main part (the part holding most households, then the largest)
//!   and land no grid covers go to the grid they share the longest edge with (the grid that surrounds
//!   them, for an enclave), or back to their own grid when they touch no other;
//! - a household still outside every grid takes a few centimetres of land around it into the grid
//!   nearest it.
//!
//! Nothing is done to a leaf whose grids are already whole, beyond measuring that they are.

use crate::model::Household;
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon, Polygon, Rect};

/// Gap pieces smaller than this (m²) and holding no household are rounding noise left alone.
const NOISE_M2: f64 = 0.01;
/// Half the side (m) of the square of land a household outside every grid takes into the nearest grid.
const HOUSEHOLD_SQUARE_M: f64 = 0.05;

/// What the repair changed in one leaf.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Repairs {
    /// Pieces of land given to another grid (detached parts, gaps).
    pub pieces: usize,
    /// Grids cut back where they overlapped another or left the leaf.
    pub trimmed: usize,
    /// Households outside every grid taken into the nearest.
    pub households: usize,
}

impl Repairs {
    /// Nothing was mended.
    pub fn none(&self) -> bool {
        *self == Repairs::default()
    }
}

/// The grids of `land` made to tile it and to hold every household of `members` (indexes into
/// `households`) that lies in it. `tol_m2` is the check's noise for the leaf: overlaps and land outside
/// the leaf below a quarter of it are left as they are.
pub fn coverage(
    land: &MultiPolygon,
    grids: Vec<MultiPolygon>,
    households: &[Household],
    members: &[usize],
    tol_m2: f64,
) -> (Vec<MultiPolygon>, Repairs) {
    let mut repairs = Repairs::default();
    let mut grids: Vec<MultiPolygon> = grids
        .into_iter()
        .filter(|g| !g.0.is_empty())
        .map(geometry::normalized)
        .collect();
    if grids.is_empty() || land.0.is_empty() {
        return (grids, repairs);
    }
    let noise = (tol_m2 / 4.0).max(NOISE_M2);
    let land_area = geometry::area_m2(land);
    let sum: f64 = grids.iter().map(geometry::area_m2).sum();
    if already_whole(land, &grids, land_area, sum, noise, households, members) {
        return (grids, repairs);
    }
    let mut union = geometry::normalized(geo::unary_union(grids.iter()));
    let mut union_area = geometry::area_m2(&union);
    // Overlaps: each grid keeps only what the grids before it did not take.
    if sum - union_area > noise {
        for j in 1..grids.len() {
            for i in 0..j {
                if !boxes_meet(&grids[i], &grids[j]) {
                    continue;
                }
                let shared = geometry::area_m2(&grids[i].intersection(&grids[j]));
                if shared > NOISE_M2 {
                    grids[j] = geometry::normalized(grids[j].difference(&grids[i]));
                    repairs.trimmed += 1;
                }
            }
        }
    }
    // Land outside the leaf.
    let outside = geometry::area_m2(&union.difference(land));
    if outside > noise {
        for g in &mut grids {
            let out = geometry::area_m2(&g.difference(land));
            if out > NOISE_M2 {
                *g = geometry::normalized(g.intersection(land));
                repairs.trimmed += 1;
            }
        }
    }
    if repairs.trimmed > 0 {
        union = geometry::normalized(geo::unary_union(grids.iter()));
        union_area = geometry::area_m2(&union);
    }
    // Households of the leaf inside a polygon.
    let holds = |p: &Polygon| -> usize {
        let Some(r) = p.bounding_rect() else {
            return 0;
        };
        let mp = MultiPolygon(vec![p.clone()]);
        members
            .iter()
            .map(|&i| households[i].pos)
            .filter(|c| {
                c.x >= r.min().x && c.x <= r.max().x && c.y >= r.min().y && c.y <= r.max().y
            })
            .filter(|&c| geometry::contains(&mp, c))
            .count()
    };
    // Pieces to give away: (the grid they came from, if any; the piece).
    let mut loose: Vec<(Option<usize>, Polygon)> = Vec::new();
    // Detached parts: within each part of the land, a grid keeps its main part.
    for (g, grid) in grids.iter_mut().enumerate() {
        if grid.0.len() < 2 {
            continue;
        }
        let home = |p: &Polygon| -> usize {
            geo::InteriorPoint::interior_point(p)
                .and_then(|c| {
                    land.0
                        .iter()
                        .position(|l| geometry::contains(&MultiPolygon(vec![l.clone()]), c.0))
                })
                .unwrap_or(0)
        };
        let parts: Vec<(usize, usize, f64, Polygon)> = std::mem::take(&mut grid.0)
            .into_iter()
            .map(|p| (home(&p), holds(&p), p.unsigned_area(), p))
            .collect();
        let mut main: std::collections::BTreeMap<usize, (usize, f64, usize)> = Default::default();
        for (k, (h, n, a, _)) in parts.iter().enumerate() {
            let better = main.get(h).is_none_or(|&(bn, ba, _)| (*n, *a) > (bn, ba));
            if better {
                main.insert(*h, (*n, *a, k));
            }
        }
        for (k, (h, _, _, p)) in parts.into_iter().enumerate() {
            if main.get(&h).is_some_and(|m| m.2 == k) {
                grid.0.push(p);
            } else {
                loose.push((Some(g), p));
            }
        }
    }
    // Land no grid covers: every piece when they add up to a gap the check would see, else the
    // pieces of more than a square metre (or of a quarter of the noise) and those holding households.
    let missing = land_area - union_area;
    if missing > NOISE_M2 {
        let gap = geometry::normalized(land.difference(&union));
        let least = if missing > tol_m2 / 2.0 {
            NOISE_M2
        } else {
            noise.min(1.0)
        };
        for p in gap.0 {
            if p.unsigned_area() > least || holds(&p) > 0 {
                loose.push((None, p));
            }
        }
    }
    // The largest first: a small piece may touch only what a larger one fills.
    loose.sort_by(|a, b| b.1.unsigned_area().total_cmp(&a.1.unsigned_area()));
    for (from, piece) in loose {
        repairs.pieces += 1;
        let piece = MultiPolygon(vec![piece]);
        let to = best_neighbour(&grids, &piece, from);
        match to {
            Some(g) => grids[g] = geometry::normalized(grids[g].union(&piece)),
            None => {
                // Touching no grid: back where it came from, else to the nearest grid.
                let g = from.unwrap_or_else(|| nearest(&grids, &piece));
                grids[g] = geometry::normalized(grids[g].union(&piece));
            }
        }
    }
    // Households still outside every grid (on an edge that rounding moved by a hair).
    let index = PolygonIndex::new(grids.iter().collect());
    let positions: Vec<Coord> = members.iter().map(|&i| households[i].pos).collect();
    let found = index.first_containing_each(&positions);
    let mut out: Vec<Coord> = positions
        .iter()
        .zip(&found)
        .filter(|(p, g)| g.is_none() && geometry::contains(land, **p))
        .map(|(p, _)| *p)
        .collect();
    drop(index);
    out.dedup();
    for p in out {
        let square = geometry::normalized(MultiPolygon(vec![
            Rect::new(
                Coord {
                    x: p.x - HOUSEHOLD_SQUARE_M,
                    y: p.y - HOUSEHOLD_SQUARE_M,
                },
                Coord {
                    x: p.x + HOUSEHOLD_SQUARE_M,
                    y: p.y + HOUSEHOLD_SQUARE_M,
                },
            )
            .to_polygon(),
        ]));
        let square = geometry::normalized(square.intersection(land));
        let g = nearest(&grids, &square);
        for (o, other) in grids.iter_mut().enumerate() {
            if o != g && boxes_meet(other, &square) {
                *other = geometry::normalized(other.difference(&square));
            }
        }
        grids[g] = geometry::normalized(grids[g].union(&square));
        repairs.households += 1;
    }
    (
        grids.into_iter().filter(|g| !g.0.is_empty()).collect(),
        repairs,
    )
}

/// Whether the grids provably tile `land` already and hold every household of it: each grid one
/// polygon (the land in one part) lying within the land, their areas adding up to the land's and to
/// their union's (so no overlap and no gap beyond the noise), and every household inside a grid.
///
/// Only measurements are made here, no polygon is rebuilt: the exact union of grids cut from a
/// surveyed outline of tens of thousands of vertices costs minutes, and nearly every leaf is whole.
fn already_whole(
    land: &MultiPolygon,
    grids: &[MultiPolygon],
    land_area: f64,
    sum: f64,
    noise: f64,
    households: &[Household],
    members: &[usize],
) -> bool {
    if land.0.len() != 1 || grids.iter().any(|g| g.0.len() != 1) {
        return false;
    }
    if (sum - land_area).abs() > noise {
        return false;
    }
    // Within the land: proved along a long outline, measured exactly along a short one.
    let long = geometry::vertex_count(land) > geometry::LARGE_OUTLINE_VERTICES;
    let within = if long {
        let proof = geometry::OutlineProof::new(land);
        grids.iter().all(|g| proof.within(g))
    } else {
        grids
            .iter()
            .all(|g| geometry::area_m2(&g.difference(land)) <= NOISE_M2)
    };
    if !within {
        return false;
    }
    // Within the land and adding up to it, the grids leave a gap exactly as large as they overlap.
    if sum - geometry::union_area(grids.iter()) > noise {
        return false;
    }
    let index = PolygonIndex::new(grids.iter().collect());
    let positions: Vec<Coord> = members.iter().map(|&i| households[i].pos).collect();
    index
        .first_containing_each(&positions)
        .iter()
        .zip(&positions)
        .all(|(g, p)| g.is_some() || !geometry::contains(land, *p))
}

fn boxes_meet(a: &MultiPolygon, b: &MultiPolygon) -> bool {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(x), Some(y)) => geometry::rects_overlap(&x, &y),
        _ => false,
    }
}

/// The grid sharing the longest stretch of boundary with `piece` (0 when they only touch), preferring
/// one that the piece joins into a single polygon.
fn best_neighbour(
    grids: &[MultiPolygon],
    piece: &MultiPolygon,
    from: Option<usize>,
) -> Option<usize> {
    let perimeter = geometry::perimeter_m(piece);
    let mut best: Option<(bool, f64, usize)> = None;
    for (g, grid) in grids.iter().enumerate() {
        if grid.0.is_empty() || !boxes_meet(grid, piece) {
            continue;
        }
        let merged = geometry::normalized(grid.union(piece));
        let shared =
            (perimeter + geometry::perimeter_m(grid) - geometry::perimeter_m(&merged)) / 2.0;
        if shared <= 1e-6 {
            continue;
        }
        // Joining must not add a part (a piece meeting this grid at a corner only).
        let whole = merged.0.len() <= grid.0.len();
        let key = (whole, shared, g);
        let better = best.is_none_or(|b| (key.0, key.1) > (b.0, b.1));
        if better || (best.is_some_and(|b| (key.0, key.1) == (b.0, b.1)) && Some(g) == from) {
            best = Some(key);
        }
    }
    best.map(|b| b.2)
}

/// The grid whose outline comes nearest `piece`'s first vertex.
fn nearest(grids: &[MultiPolygon], piece: &MultiPolygon) -> usize {
    let Some(c) = piece
        .0
        .first()
        .and_then(|p| p.exterior().0.first().copied())
    else {
        return 0;
    };
    let dist = |g: &MultiPolygon| -> f64 {
        g.0.iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.windows(2))
            .map(|w| segment_distance(c, w[0], w[1]))
            .fold(f64::INFINITY, f64::min)
    };
    (0..grids.len())
        .min_by(|&a, &b| dist(&grids[a]).total_cmp(&dist(&grids[b])))
        .unwrap_or(0)
}

fn segment_distance(p: Coord, a: Coord, b: Coord) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.x - a.x - t * dx).hypot(p.y - a.y - t * dy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{household, rect};

    fn covers_exactly(land: &MultiPolygon, grids: &[MultiPolygon]) {
        let sum: f64 = grids.iter().map(geometry::area_m2).sum();
        let union = geometry::normalized(geo::unary_union(grids.iter()));
        assert!((sum - geometry::area_m2(land)).abs() < 1e-6, "{sum}");
        assert!((geometry::area_m2(&union) - sum).abs() < 1e-6);
        assert!(geometry::area_m2(&land.difference(&union)) < 1e-6);
        for g in grids {
            assert_eq!(g.0.len(), 1, "{g:?}");
        }
    }

    #[test]
    fn whole_grids_are_left_as_they_are() {
        let land = rect(0.0, 0.0, 200.0, 100.0);
        let grids = vec![rect(0.0, 0.0, 100.0, 100.0), rect(100.0, 0.0, 200.0, 100.0)];
        let hh = vec![
            household(50.0, 50.0, 1, None),
            household(150.0, 50.0, 1, None),
        ];
        let (out, repairs) = coverage(&land, grids.clone(), &hh, &[0, 1], 1.0);
        assert!(repairs.none());
        assert_eq!(out, grids);
    }

    #[test]
    fn a_gap_holding_a_household_goes_to_the_grid_sharing_most_edge() {
        // Three grids of a 300 × 100 leaf, with a 10 × 40 hole at the edge between the first two
        // (its long side on the first grid) and a household in it.
        let land = rect(0.0, 0.0, 300.0, 100.0);
        let first = geometry::normalized(
            rect(0.0, 0.0, 100.0, 100.0).difference(&rect(90.0, 30.0, 100.0, 70.0)),
        );
        let grids = vec![
            first,
            rect(100.0, 0.0, 200.0, 100.0),
            rect(200.0, 0.0, 300.0, 100.0),
        ];
        let hh = vec![household(95.0, 50.0, 1, None)];
        let (out, repairs) = coverage(&land, grids, &hh, &[0], 1.0);
        assert_eq!(repairs.pieces, 1);
        covers_exactly(&land, &out);
        assert!(geometry::contains(&out[0], hh[0].pos));
        assert!((geometry::area_m2(&out[0]) - 10_000.0).abs() < 1e-6);
    }

    #[test]
    fn a_detached_piece_goes_to_the_grid_around_it() {
        // The second grid holds an enclave inside the first (a piece cut off from it): the enclave
        // goes to the first, which surrounds it.
        let land = rect(0.0, 0.0, 200.0, 100.0);
        let enclave = rect(40.0, 40.0, 60.0, 60.0);
        let first = geometry::normalized(rect(0.0, 0.0, 100.0, 100.0).difference(&enclave));
        let second = geometry::normalized(rect(100.0, 0.0, 200.0, 100.0).union(&enclave));
        let hh = vec![
            household(150.0, 50.0, 5, None),
            household(50.0, 50.0, 1, None),
            household(10.0, 10.0, 1, None),
        ];
        let (out, repairs) = coverage(&land, vec![first, second], &hh, &[0, 1, 2], 1.0);
        assert_eq!(repairs.pieces, 1);
        covers_exactly(&land, &out);
        assert!(geometry::contains(&out[0], hh[1].pos));
        // The second grid kept its main part, the one holding its households.
        assert!(geometry::contains(&out[1], hh[0].pos));
    }

    #[test]
    fn overlaps_and_land_outside_the_leaf_are_cut_back() {
        let land = rect(0.0, 0.0, 200.0, 100.0);
        // The second grid reaches 5 m into the first and 5 m out of the leaf.
        let grids = vec![rect(0.0, 0.0, 100.0, 100.0), rect(95.0, 0.0, 205.0, 100.0)];
        let hh = vec![
            household(50.0, 50.0, 1, None),
            household(150.0, 50.0, 1, None),
        ];
        let (out, repairs) = coverage(&land, grids, &hh, &[0, 1], 1.0);
        assert_eq!(repairs.trimmed, 2);
        covers_exactly(&land, &out);
    }

    #[test]
    fn a_household_on_an_edge_outside_every_grid_is_taken_into_the_nearest() {
        // The grids stop 10 µm short of the leaf's east side (a sliver of 0.001 m², noise), where a
        // household stands.
        let land = rect(0.0, 0.0, 200.0, 100.0);
        let grids = vec![
            rect(0.0, 0.0, 100.0, 100.0),
            rect(100.0, 0.0, 199.99999, 100.0),
        ];
        let hh = vec![household(199.999995, 50.0, 1, None)];
        let (out, repairs) = coverage(&land, grids, &hh, &[0], 1.0);
        assert_eq!(repairs.households, 1);
        assert!(geometry::contains(&out[1], hh[0].pos));
        assert!(!geometry::contains(&out[0], hh[0].pos));
        assert!(geometry::area_m2(&out[1].difference(&land)) < 1e-9);
        assert_eq!(out[1].0.len(), 1);
    }
}
