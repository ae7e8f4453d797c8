//! R-tree over polygons (leaves or grids): which polygons contain a point, which may meet a rectangle.

use crate::spatial::geometry;
use geo::{Coord, MultiPolygon, Rect};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use std::borrow::Borrow;

type Entry = GeomWithData<Rectangle<[f64; 2]>, usize>;

/// An R-tree of polygon envelopes with exact containment tests. Items are referred to by their position
/// in the vector the index was built from; the index holds the polygons or references to them.
pub struct PolygonIndex<P: Borrow<MultiPolygon>> {
    polygons: Vec<P>,
    tree: RTree<Entry>,
    /// Polygons of many vertices (grids, surveyed outlines) prepared for fast containment tests.
    banded: Vec<Option<geometry::BandedPolygon>>,
}

impl<P: Borrow<MultiPolygon> + Sync> PolygonIndex<P> {
    /// Bulk-loads the envelopes of `polygons`; large outlines are prepared in parallel.
    pub fn new(polygons: Vec<P>) -> Self {
        let entries = polygons
            .iter()
            .enumerate()
            .filter_map(|(i, mp)| {
                geometry::bbox(mp.borrow()).map(|r| {
                    GeomWithData::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i,
                    )
                })
            })
            .collect();
        let banded = polygons
            .par_iter()
            .map(|mp| {
                (geometry::vertex_count(mp.borrow()) > geometry::BANDED_VERTICES)
                    .then(|| geometry::BandedPolygon::new(mp.borrow()))
            })
            .collect();
        PolygonIndex {
            polygons,
            tree: RTree::bulk_load(entries),
            banded,
        }
    }

    /// Every polygon containing `p`, in ascending item order. On shared edges the half-open rule of
    /// [`geometry::contains`] gives each point to exactly one of the polygons sharing the edge.
    pub fn containing(&self, p: Coord) -> Vec<usize> {
        let mut hits: Vec<usize> = self
            .tree
            .locate_all_at_point([p.x, p.y])
            .map(|e| e.data)
            .filter(|&i| match &self.banded[i] {
                Some(b) => b.contains(p),
                None => geometry::contains(self.polygons[i].borrow(), p),
            })
            .collect();
        hits.sort_unstable();
        hits
    }

    /// The first polygon containing each of `points` (as [`PolygonIndex::containing`]), found on every
    /// core; a run of equal points is looked up once (the households of one building usually stand
    /// together in a file, at one position).
    pub fn first_containing_each(&self, points: &[Coord]) -> Vec<Option<usize>> {
        points
            .par_chunks(4096)
            .map(|chunk| {
                let mut out = Vec::with_capacity(chunk.len());
                let mut last: Option<(Coord, Option<usize>)> = None;
                for &p in chunk {
                    let hit = match last {
                        Some((q, hit)) if q == p => hit,
                        _ => self.containing(p).first().copied(),
                    };
                    last = Some((p, hit));
                    out.push(hit);
                }
                out
            })
            .flatten()
            .collect()
    }

    /// Items whose envelope meets `r`, in ascending order.
    pub fn candidates(&self, r: &Rect) -> Vec<usize> {
        let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        let mut hits: Vec<usize> = self
            .tree
            .locate_in_envelope_intersecting(env)
            .map(|e| e.data)
            .collect();
        hits.sort_unstable();
        hits
    }

    pub fn polygon(&self, i: usize) -> &MultiPolygon {
        self.polygons[i].borrow()
    }

    pub fn len(&self) -> usize {
        self.polygons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.polygons.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    /// Seeded xorshift, enough for test data.
    fn rng(seed: &mut u64) -> f64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn index_agrees_with_a_brute_force_scan() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let polys: Vec<MultiPolygon> = (0..200)
            .map(|_| {
                let (x, y) = (rng(&mut seed) * 1000.0, rng(&mut seed) * 1000.0);
                let (w, h) = (10.0 + rng(&mut seed) * 80.0, 10.0 + rng(&mut seed) * 80.0);
                MultiPolygon(vec![polygon![
                    (x: x, y: y), (x: x + w, y: y + h * 0.2), (x: x + w * 0.8, y: y + h), (x: x, y: y),
                ]])
            })
            .collect();
        let index = PolygonIndex::new(polys.iter().collect());
        for _ in 0..5000 {
            let p = Coord {
                x: rng(&mut seed) * 1100.0,
                y: rng(&mut seed) * 1100.0,
            };
            let brute: Vec<usize> = (0..polys.len())
                .filter(|&i| geometry::contains(&polys[i], p))
                .collect();
            assert_eq!(index.containing(p), brute);
        }
    }
}
