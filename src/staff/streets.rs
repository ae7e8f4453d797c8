//! Walking distances on the street network: the walkable barrier lines (roads, lanes, arterials: not
//! rivers, rail or walls) noded where they cross, as a graph whose edges are their segments, in metres
//! in the working CRS.
//!
//! A walk from `a` to `b` goes straight to the foot of `a` on its nearest street, along the streets by
//! the shortest path (Dijkstra), and from the foot of `b` to `b`; when the network does not connect
//! them, or there is none, it is the straight line.

use crate::model::Barrier;
use geo::{Coord, Line};
use rstar::RTree;
use rstar::primitives::{CachedEnvelope, GeomWithData};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// Barrier classes a grid worker walks along.
const WALKABLE: &[&str] = &[
    "road",
    "lane",
    "street",
    "arterial",
    "path",
    "alley",
    "footway",
    "residential",
];

/// Whether a barrier is walked along (a barrier with no class counts as a road).
pub fn walkable(b: &Barrier) -> bool {
    b.class
        .as_deref()
        .is_none_or(|c| WALKABLE.contains(&c.trim().to_ascii_lowercase().as_str()))
}

/// The street graph.
#[derive(Debug, Clone, Default)]
pub struct Streets {
    nodes: Vec<Coord>,
    adjacency: Vec<Vec<(usize, f64)>>,
    /// Every edge (node, node), for finding the street a door is on.
    edges: Vec<(usize, usize)>,
    edge_index: RTree<GeomWithData<CachedEnvelope<rstar::primitives::Line<[f64; 2]>>, usize>>,
}

#[derive(PartialEq)]
struct Item(f64, usize);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl Streets {
    /// Builds the graph from the walkable barriers, keeping only segments that touch `window`
    /// (min, max) when given (a worker's area and a margin), noding crossings.
    pub fn new(barriers: &[Barrier], window: Option<(Coord, Coord)>) -> Streets {
        let inside = |l: &Line| match window {
            None => true,
            Some((lo, hi)) => {
                l.start.x.max(l.end.x) >= lo.x
                    && l.start.x.min(l.end.x) <= hi.x
                    && l.start.y.max(l.end.y) >= lo.y
                    && l.start.y.min(l.end.y) <= hi.y
            }
        };
        let segments: Vec<Line> = barriers
            .iter()
            .filter(|b| walkable(b))
            .flat_map(|b| b.geometry.0.iter())
            .flat_map(|ls| ls.lines())
            .filter(|l| l.start != l.end && inside(l))
            .collect();
        // Cut points along each segment: its ends and every crossing with another segment.
        let tree = RTree::bulk_load(
            segments
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    GeomWithData::new(
                        CachedEnvelope::new(rstar::primitives::Line::new(
                            [l.start.x, l.start.y],
                            [l.end.x, l.end.y],
                        )),
                        i,
                    )
                })
                .collect(),
        );
        let mut cuts: Vec<Vec<f64>> = vec![vec![0.0, 1.0]; segments.len()];
        for (i, s) in segments.iter().enumerate() {
            let env = rstar::AABB::from_corners(
                [s.start.x.min(s.end.x), s.start.y.min(s.end.y)],
                [s.start.x.max(s.end.x), s.start.y.max(s.end.y)],
            );
            for other in tree.locate_in_envelope_intersecting(env) {
                let j = other.data;
                if j <= i {
                    continue;
                }
                if let Some((t, u)) = crossing(s, &segments[j]) {
                    cuts[i].push(t);
                    cuts[j].push(u);
                }
            }
        }
        let mut streets = Streets::default();
        let mut ids: HashMap<(i64, i64), usize> = HashMap::new();
        let mut node = |streets: &mut Streets, c: Coord| -> usize {
            // Snapped to 5 cm so that ends meeting at one place are one node.
            let key = ((c.x * 20.0).round() as i64, (c.y * 20.0).round() as i64);
            *ids.entry(key).or_insert_with(|| {
                streets.nodes.push(c);
                streets.adjacency.push(Vec::new());
                streets.nodes.len() - 1
            })
        };
        for (s, mut ts) in segments.iter().zip(cuts) {
            ts.sort_by(f64::total_cmp);
            ts.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
            let at = |t: f64| Coord {
                x: s.start.x + t * (s.end.x - s.start.x),
                y: s.start.y + t * (s.end.y - s.start.y),
            };
            for w in ts.windows(2) {
                let (a, b) = (at(w[0]), at(w[1]));
                let (na, nb) = (node(&mut streets, a), node(&mut streets, b));
                if na != nb {
                    let d = (a.x - b.x).hypot(a.y - b.y);
                    streets.adjacency[na].push((nb, d));
                    streets.adjacency[nb].push((na, d));
                    streets.edges.push((na, nb));
                }
            }
        }
        streets.edge_index = RTree::bulk_load(
            streets
                .edges
                .iter()
                .enumerate()
                .map(|(i, &(a, b))| {
                    let (pa, pb) = (streets.nodes[a], streets.nodes[b]);
                    GeomWithData::new(
                        CachedEnvelope::new(rstar::primitives::Line::new(
                            [pa.x, pa.y],
                            [pb.x, pb.y],
                        )),
                        i,
                    )
                })
                .collect(),
        );
        streets
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The street a point is on (its nearest edge): the edge, the point's foot on it as a share of the
    /// way from its first node, and the distance from the point to its foot.
    fn foot(&self, c: Coord) -> Option<(usize, f64, f64)> {
        let e = self.edge_index.nearest_neighbor([c.x, c.y])?.data;
        let (a, b) = (self.nodes[self.edges[e].0], self.nodes[self.edges[e].1]);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (((c.x - a.x) * dx + (c.y - a.y) * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let f = Coord {
            x: a.x + t * dx,
            y: a.y + t * dy,
        };
        Some((e, t, (c.x - f.x).hypot(c.y - f.y)))
    }

    /// Shortest network distance from `from` to every node (infinite where unreachable).
    fn dijkstra(&self, from: usize) -> Vec<f64> {
        let mut dist = vec![f64::INFINITY; self.nodes.len()];
        let mut heap = BinaryHeap::new();
        dist[from] = 0.0;
        heap.push(Item(0.0, from));
        while let Some(Item(d, n)) = heap.pop() {
            if d > dist[n] {
                continue;
            }
            for &(m, w) in &self.adjacency[n] {
                let nd = d + w;
                if nd < dist[m] {
                    dist[m] = nd;
                    heap.push(Item(nd, m));
                }
            }
        }
        dist
    }

    /// Walking distances between every pair of `points` (metres): from each point to the foot of its
    /// street, along the streets, and from the foot to the other point; straight where the network does
    /// not connect them (counted in the second value).
    pub fn matrix(&self, points: &[Coord]) -> (Vec<Vec<f64>>, usize) {
        let n = points.len();
        let straight = |a: Coord, b: Coord| (a.x - b.x).hypot(a.y - b.y);
        let mut m = vec![vec![0.0; n]; n];
        let feet: Vec<Option<(usize, f64, f64)>> = points.iter().map(|&p| self.foot(p)).collect();
        let mut from_node: HashMap<usize, Vec<f64>> = HashMap::new();
        let mut unconnected = 0;
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let (Some((ei, ti, oi)), Some((ej, tj, oj))) = (feet[i], feet[j]) else {
                    m[i][j] = straight(points[i], points[j]);
                    continue;
                };
                let len =
                    |e: usize| straight(self.nodes[self.edges[e].0], self.nodes[self.edges[e].1]);
                let mut best = f64::INFINITY;
                if ei == ej {
                    best = oi + (ti - tj).abs() * len(ei) + oj;
                }
                let ends = |e: usize, t: f64| {
                    let (a, b) = self.edges[e];
                    [(a, t * len(e)), (b, (1.0 - t) * len(e))]
                };
                for (ni, di) in ends(ei, ti) {
                    let d = from_node.entry(ni).or_insert_with(|| self.dijkstra(ni));
                    for (nj, dj) in ends(ej, tj) {
                        best = best.min(oi + di + d[nj] + dj + oj);
                    }
                }
                m[i][j] = if best.is_finite() {
                    best
                } else {
                    unconnected += 1;
                    straight(points[i], points[j])
                };
            }
        }
        (m, unconnected)
    }
}

/// Where two segments cross: the parameters along each, when they do (touching ends included).
fn crossing(a: &Line, b: &Line) -> Option<(f64, f64)> {
    let r = a.end - a.start;
    let s = b.end - b.start;
    let denom = r.x * s.y - r.y * s.x;
    if denom.abs() < 1e-12 {
        return None;
    }
    let q = b.start - a.start;
    let t = (q.x * s.y - q.y * s.x) / denom;
    let u = (q.x * r.y - q.y * r.x) / denom;
    ((-1e-9..=1.0 + 1e-9).contains(&t) && (-1e-9..=1.0 + 1e-9).contains(&u))
        .then(|| (t.clamp(0.0, 1.0), u.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, MultiLineString};

    fn road(points: &[(f64, f64)], class: &str) -> Barrier {
        Barrier {
            feature: 0,
            name: None,
            class: Some(class.to_string()),
            rank: 1,
            geometry: MultiLineString(vec![LineString::from(points.to_vec())]),
        }
    }

    /// Two doors on either side of a wall-like block: the walk goes round by the streets, crossing
    /// roads meet at a node even without a shared vertex, and a river is not walked along.
    #[test]
    fn walks_follow_the_streets() {
        // A square of roads 0..100 × 0..100 drawn as two L-shaped lines that cross at no vertex,
        // and a river straight through the middle.
        let streets = Streets::new(
            &[
                road(&[(0.0, 0.0), (100.0, 0.0), (100.0, 100.0)], "road"),
                road(&[(-10.0, 100.0), (0.0, 100.0), (0.0, -10.0)], "lane"),
                road(&[(-10.0, 100.0), (110.0, 100.0)], "arterial"),
                road(&[(50.0, -20.0), (50.0, 120.0)], "river"),
            ],
            None,
        );
        // From near (0, 50) to near (100, 50): by the streets 50 + 100 + 50 = 200 m (plus 1 m off
        // the street at each end), never the straight 100 m across the block.
        let (m, unconnected) =
            streets.matrix(&[Coord { x: 1.0, y: 50.0 }, Coord { x: 99.0, y: 50.0 }]);
        assert_eq!(unconnected, 0);
        assert!((m[0][1] - 200.0).abs() < 2.5, "{}", m[0][1]);
        assert!((m[0][1] - m[1][0]).abs() < 1e-9);
        // Two doors a metre off one street: a metre to it, ten along, a metre back.
        let (m, _) = streets.matrix(&[Coord { x: 10.0, y: 1.0 }, Coord { x: 20.0, y: 1.0 }]);
        assert!((m[0][1] - 12.0).abs() < 1e-9, "{}", m[0][1]);
    }
}
