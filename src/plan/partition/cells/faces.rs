//! Street lines made into blocks: the faces the barrier lines cut a leaf into.
//!
//! A road layer from a survey office or OpenStreetMap is lines, not blocks. The leaf is sliced by every
//! line near it (i_overlay's `slice_by`, the same overlay library the rest of the geometry uses, so the
//! faces share their edges exactly): each face is then a cell as a block is, and grids part along the
//! streets. A line's ends are first carried on by [`SNAP_M`] along their last segment, so a street
//! that stops a few metres short of another (a near-miss of the survey) still closes its block; a
//! dangling line (a cul-de-sac, a lane into a compound) cuts nothing, since a slice only parts land it
//! crosses from side to side. With blocks given too, each block is sliced by the lines (the finer of
//! the two layers).

use crate::spatial::geometry;
use crate::spatial::ground::Ground;
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};
use rstar::AABB;
use std::collections::BTreeSet;

/// How far (m) a line's ends are carried on, to close the near-misses of a surveyed network.
pub const SNAP_M: f64 = 5.0;
/// Faces smaller than this (m²), slivers between a street and an outline drawn a little apart, are not
/// cells of their own: they join the face they share the longest edge with.
const SLIVER_M2: f64 = 50.0;
/// The ids given to faces start here, clear of the blocks' own indexes.
pub const FACE_IDS: usize = 1 << 40;

/// The cells' blocks for `leaf`: `blocks` (index, geometry, label) sliced by the barrier lines near the
/// leaf, or, with no blocks, the leaf itself sliced by them. Empty when no line crosses the leaf (the
/// caller keeps `blocks` as they are).
pub fn street_faces(
    leaf: &MultiPolygon,
    ground: &Ground,
    blocks: &[(usize, &MultiPolygon, String)],
) -> Vec<(usize, MultiPolygon, String)> {
    let lines = lines_near(leaf, ground);
    if lines.is_empty() {
        return Vec::new();
    }
    let mut next = FACE_IDS;
    let mut out = Vec::new();
    if blocks.is_empty() {
        let faces = slice(leaf, &lines);
        if faces.len() <= 1 {
            return Vec::new();
        }
        for (k, face) in faces.into_iter().enumerate() {
            out.push((next, face, format!("(land between streets {})", k + 1)));
            next += 1;
        }
        return out;
    }
    for (b, geom, label) in blocks {
        let faces = slice(geom, &lines);
        if faces.len() <= 1 {
            out.push((*b, (*geom).clone(), label.clone()));
            continue;
        }
        for (k, face) in faces.into_iter().enumerate() {
            let id = if k == 0 { *b } else { next };
            if k > 0 {
                next += 1;
            }
            out.push((id, face, label.clone()));
        }
    }
    out
}

/// The lines of every barrier that may part land (rank above 0) near `area`, ends carried on.
fn lines_near(area: &MultiPolygon, ground: &Ground) -> Vec<Vec<[f64; 2]>> {
    let Some(r) = area.bounding_rect() else {
        return Vec::new();
    };
    let envelope = AABB::from_corners(
        [r.min().x - SNAP_M, r.min().y - SNAP_M],
        [r.max().x + SNAP_M, r.max().y + SNAP_M],
    );
    let ids: BTreeSet<usize> = ground
        .barriers
        .tree()
        .locate_in_envelope_intersecting(envelope)
        .filter(|s| s.data.1 > 0)
        .map(|s| s.data.0)
        .collect();
    ids.into_iter()
        .filter_map(|i| ground.layers.barriers.get(i))
        .flat_map(|b| b.geometry.0.iter())
        .filter_map(extended)
        .collect()
}

/// A line as a path, both ends carried on by [`SNAP_M`]; `None` for a line of no length.
fn extended(line: &LineString) -> Option<Vec<[f64; 2]>> {
    let mut pts: Vec<Coord> = line.0.clone();
    pts.dedup();
    if pts.len() < 2 {
        return None;
    }
    let carry = |from: Coord, to: Coord| -> Coord {
        let (dx, dy) = (to.x - from.x, to.y - from.y);
        let len = dx.hypot(dy);
        Coord {
            x: to.x + dx / len * SNAP_M,
            y: to.y + dy / len * SNAP_M,
        }
    };
    let n = pts.len();
    let start = carry(pts[1], pts[0]);
    let end = carry(pts[n - 2], pts[n - 1]);
    pts[0] = start;
    pts[n - 1] = end;
    Some(pts.iter().map(|c| [c.x, c.y]).collect())
}

/// `area` sliced by `lines`: its faces, slivers joined to a neighbour, each one polygon.
fn slice(area: &MultiPolygon, lines: &[Vec<[f64; 2]>]) -> Vec<MultiPolygon> {
    use i_overlay::core::fill_rule::FillRule;
    use i_overlay::float::slice::FloatSlice;
    let shapes: Vec<Vec<Vec<[f64; 2]>>> = area
        .0
        .iter()
        .map(|p| {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(|ring| {
                    let mut path: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
                    path.pop();
                    path
                })
                .collect()
        })
        .collect();
    let sliced = shapes.slice_by(&lines.to_vec(), FillRule::NonZero);
    let mut faces: Vec<Polygon> = sliced
        .into_iter()
        .filter_map(|shape| {
            let mut rings = shape.into_iter().map(|path| {
                let mut coords: Vec<Coord> =
                    path.iter().map(|p| Coord { x: p[0], y: p[1] }).collect();
                if let Some(&first) = coords.first() {
                    coords.push(first);
                }
                LineString(coords)
            });
            let exterior = rings.next()?;
            Some(Polygon::new(exterior, rings.collect()))
        })
        .filter_map(|p| {
            geometry::normalized(MultiPolygon(vec![p]))
                .0
                .into_iter()
                .next()
        })
        .collect();
    if faces.len() <= 1 {
        return faces.into_iter().map(|p| MultiPolygon(vec![p])).collect();
    }
    join_slivers(&mut faces)
}

/// Faces under [`SLIVER_M2`] joined to the face they share the longest edge with.
fn join_slivers(faces: &mut [Polygon]) -> Vec<MultiPolygon> {
    use geo::{Area, BooleanOps};
    faces.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
    let big = faces
        .iter()
        .take_while(|f| f.unsigned_area() >= SLIVER_M2)
        .count()
        .max(1);
    let mut out: Vec<MultiPolygon> = faces[..big]
        .iter()
        .map(|p| MultiPolygon(vec![p.clone()]))
        .collect();
    for sliver in &faces[big..] {
        let s = MultiPolygon(vec![sliver.clone()]);
        let best = out
            .iter()
            .enumerate()
            .filter(|(_, f)| boxes_meet(f, &s))
            .map(|(i, f)| (i, shared_edge(f, sliver)))
            .filter(|(_, l)| *l > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, _)) => {
                let joined = geometry::normalized(out[i].union(&s));
                // Joining must leave one polygon; a sliver meeting faces at a corner only stays.
                if joined.0.len() == 1 {
                    out[i] = joined;
                } else {
                    out.push(s);
                }
            }
            None => out.push(s),
        }
    }
    out
}

fn boxes_meet(a: &MultiPolygon, b: &MultiPolygon) -> bool {
    match (a.bounding_rect(), b.bounding_rect()) {
        (Some(x), Some(y)) => geometry::rects_overlap(&x, &y),
        _ => false,
    }
}

/// Length of the boundary `face` and `sliver` share: the sliver's edges lying on the face's edges
/// (both come from one slice, so shared edges have the same ends).
fn shared_edge(face: &MultiPolygon, sliver: &Polygon) -> f64 {
    let key = |a: Coord, b: Coord| {
        let (a, b) = if (a.x, a.y) <= (b.x, b.y) {
            (a, b)
        } else {
            (b, a)
        };
        [a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits()]
    };
    let edges: BTreeSet<[u64; 4]> = face
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.windows(2).map(|w| key(w[0], w[1])))
        .collect();
    std::iter::once(sliver.exterior())
        .chain(sliver.interiors())
        .flat_map(|r| r.0.windows(2))
        .filter(|w| edges.contains(&key(w[0], w[1])))
        .map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::rect;
    use crate::model::{Barrier, Layers};
    use geo::{Area, MultiLineString};

    fn street(points: &[(f64, f64)]) -> Barrier {
        Barrier {
            feature: 0,
            name: None,
            class: Some("road".to_string()),
            rank: 2,
            geometry: MultiLineString(vec![LineString::from(points.to_vec())]),
        }
    }

    fn faces_of(leaf: &MultiPolygon, streets: Vec<Barrier>) -> Vec<(usize, MultiPolygon, String)> {
        let layers = Layers {
            blocks: Vec::new(),
            barriers: streets,
        };
        let ground = Ground::new(&layers);
        street_faces(leaf, &ground, &[])
    }

    #[test]
    fn a_cross_of_streets_makes_four_faces_that_tile_the_leaf() {
        let leaf = rect(0.0, 0.0, 200.0, 200.0);
        let faces = faces_of(
            &leaf,
            vec![
                street(&[(-10.0, 100.0), (210.0, 100.0)]),
                street(&[(100.0, -10.0), (100.0, 210.0)]),
            ],
        );
        assert_eq!(faces.len(), 4);
        let sum: f64 = faces.iter().map(|f| f.1.unsigned_area()).sum();
        assert!((sum - 40_000.0).abs() < 1e-3, "{sum}");
        for f in &faces {
            assert!((f.1.unsigned_area() - 10_000.0).abs() < 1e-3);
        }
    }

    #[test]
    fn a_street_stopping_short_of_another_still_closes_its_block_and_a_dangle_cuts_nothing() {
        let leaf = rect(0.0, 0.0, 200.0, 200.0);
        // The north–south street stops 3 m short of the east–west one (a near-miss); a lane runs
        // 40 m into the northern half and stops (a dangle).
        let faces = faces_of(
            &leaf,
            vec![
                street(&[(-10.0, 100.0), (210.0, 100.0)]),
                street(&[(100.0, -10.0), (100.0, 97.0)]),
                street(&[(50.0, 210.0), (50.0, 160.0)]),
            ],
        );
        assert_eq!(faces.len(), 3, "{faces:?}");
        let mut areas: Vec<f64> = faces.iter().map(|f| f.1.unsigned_area()).collect();
        areas.sort_by(f64::total_cmp);
        assert!((areas[0] - 10_000.0).abs() < 1.0, "{areas:?}");
        assert!((areas[2] - 20_000.0).abs() < 1.0, "{areas:?}");
    }

    #[test]
    fn no_street_across_the_leaf_leaves_it_as_it_is() {
        let leaf = rect(0.0, 0.0, 200.0, 200.0);
        assert!(faces_of(&leaf, vec![street(&[(300.0, 0.0), (300.0, 200.0)])]).is_empty());
        assert!(faces_of(&leaf, vec![street(&[(50.0, 210.0), (50.0, 160.0)])]).is_empty());
    }
}
