//! Barrier lines (roads, rivers, rail, walls) indexed for the questions grid edges ask of them: which
//! barrier runs along this edge, and which named one lies near it.

use geo::{Coord, MultiLineString};
use rstar::RTree;
use rstar::primitives::{CachedEnvelope, GeomWithData, Line};

/// Largest distance (m) between an edge and a barrier line for the edge to run along it.
pub const ALONG_BARRIER_M: f64 = 3.0;

/// A barrier segment with (barrier index, rank). The envelope is kept with it: computing it again at
/// every comparison was most of the bulk load.
pub type BarrierSeg = GeomWithData<CachedEnvelope<Line<[f64; 2]>>, (usize, u32)>;

/// Barrier lines indexed for the question "which barrier runs here?".
#[derive(Debug, Clone)]
pub struct BarrierIndex {
    tree: RTree<BarrierSeg>,
}

impl BarrierIndex {
    /// Indexes the barriers' lines, each with its rank; barriers are referred to by their position.
    pub fn new<'a>(barriers: impl IntoIterator<Item = (&'a MultiLineString, u32)>) -> BarrierIndex {
        let mut segs = Vec::new();
        for (i, (lines, rank)) in barriers.into_iter().enumerate() {
            for l in &lines.0 {
                for w in l.0.windows(2) {
                    if w[0] != w[1] {
                        segs.push(GeomWithData::new(
                            CachedEnvelope::new(Line::new([w[0].x, w[0].y], [w[1].x, w[1].y])),
                            (i, rank),
                        ));
                    }
                }
            }
        }
        BarrierIndex {
            tree: RTree::bulk_load(segs),
        }
    }

    /// The barrier segments, each with (barrier, rank).
    pub fn tree(&self) -> &RTree<BarrierSeg> {
        &self.tree
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The name of the highest-ranked named barrier within `dist` of the segment's midpoint and
    /// roughly parallel to it.
    pub fn named_near(
        &self,
        a: Coord,
        b: Coord,
        dist: f64,
        names: &[Option<String>],
    ) -> Option<String> {
        let m = [(a.x + b.x) / 2.0, (a.y + b.y) / 2.0];
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = dx.hypot(dy);
        if len <= 0.0 {
            return None;
        }
        self.tree
            .locate_within_distance(m, dist * dist)
            .filter(|s| {
                let (fx, fy) = (
                    s.geom().to[0] - s.geom().from[0],
                    s.geom().to[1] - s.geom().from[1],
                );
                let fl = fx.hypot(fy);
                fl > 0.0 && ((dx * fy - dy * fx) / (len * fl)).abs() < 0.35
            })
            .filter_map(|s| names.get(s.data.0)?.as_ref().map(|n| (s.data.1, n)))
            .max_by(|x, y| x.0.cmp(&y.0).then(y.1.cmp(x.1)))
            .map(|(_, n)| n.clone())
    }

    /// The highest-ranked barrier running along the segment `a`–`b` (its midpoint within
    /// [`ALONG_BARRIER_M`] of the barrier and the directions within about 20°): (barrier, rank).
    pub fn along(&self, a: Coord, b: Coord) -> Option<(usize, u32)> {
        if self.is_empty() {
            return None;
        }
        let m = [(a.x + b.x) / 2.0, (a.y + b.y) / 2.0];
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = dx.hypot(dy);
        if len <= 0.0 {
            return None;
        }
        self.tree
            .locate_within_distance(m, ALONG_BARRIER_M * ALONG_BARRIER_M)
            .filter(|s| {
                let (fx, fy) = (
                    s.geom().to[0] - s.geom().from[0],
                    s.geom().to[1] - s.geom().from[1],
                );
                let fl = fx.hypot(fy);
                fl > 0.0 && ((dx * fy - dy * fx) / (len * fl)).abs() < 0.35
            })
            .map(|s| s.data)
            .max_by_key(|&(i, rank)| (rank, std::cmp::Reverse(i)))
    }
}
