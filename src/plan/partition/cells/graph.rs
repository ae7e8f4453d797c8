//! The cell graph: cells weighted by households, edges by the length of boundary two cells share, and a
//! parting cost per edge that is low where the shared boundary runs along a high-rank barrier.

use super::cells::Cells;
use crate::spatial::segments::SegmentBuckets;
use geo::{Area, Centroid, Coord, Polygon};
use rstar::AABB;
use std::collections::BTreeMap;

/// Largest gap (m) between two boundaries still counted as shared.
const SHARED_TOL_M: f64 = 0.01;
/// Shortest shared boundary (m) that makes two cells neighbours.
const MIN_SHARED_M: f64 = 1.0;
pub use crate::spatial::barriers::{ALONG_BARRIER_M, BarrierIndex};

/// One side of an edge between two cells.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub to: usize,
    /// Length of shared boundary (m); 0 for a link added only to join separate parts of a leaf.
    pub len: f64,
    /// The cost of parting there: the length, reduced along barriers by their rank.
    pub cut: f64,
}

/// The graph of a leaf's cells.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub weight: Vec<u64>,
    pub area: Vec<f64>,
    pub centroid: Vec<Coord>,
    /// Length of each cell's outline not shared with another cell (the leaf's outline).
    pub outer: Vec<f64>,
    pub adj: Vec<Vec<Edge>>,
}

/// How much cheaper parting along a barrier of `rank` is than parting across open land.
pub fn barrier_factor(rank: u32) -> f64 {
    1.0 / (1.0 + rank as f64 / 8.0)
}

fn ring_segments(p: &Polygon) -> impl Iterator<Item = (Coord, Coord)> + '_ {
    std::iter::once(p.exterior())
        .chain(p.interiors())
        .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
        .filter(|(a, b)| a != b)
}

/// Pairs of pieces sharing boundary: (piece a, piece b) with a < b → (length, parting cost).
type PiecePairs = BTreeMap<(usize, usize), (f64, f64)>;

/// The barrier segments near one leaf, bucketed, for the question "which barrier runs here?" asked
/// once per shared stretch of boundary.
struct LocalBarriers {
    segs: Vec<(Coord, Coord)>,
    data: Vec<(usize, u32)>,
    buckets: SegmentBuckets,
}

impl LocalBarriers {
    fn new(index: &BarrierIndex, lo: Coord, hi: Coord) -> LocalBarriers {
        let env = AABB::from_corners(
            [lo.x - ALONG_BARRIER_M, lo.y - ALONG_BARRIER_M],
            [hi.x + ALONG_BARRIER_M, hi.y + ALONG_BARRIER_M],
        );
        let mut segs = Vec::new();
        let mut data = Vec::new();
        for s in index.tree().locate_in_envelope_intersecting(env) {
            let l = s.geom();
            segs.push((
                Coord {
                    x: l.from[0],
                    y: l.from[1],
                },
                Coord {
                    x: l.to[0],
                    y: l.to[1],
                },
            ));
            data.push(s.data);
        }
        let buckets = SegmentBuckets::new(&segs, ALONG_BARRIER_M);
        LocalBarriers {
            segs,
            data,
            buckets,
        }
    }

    /// Same answer as [`BarrierIndex::along`] for segments inside the leaf's box.
    fn along(&self, a: Coord, b: Coord) -> Option<(usize, u32)> {
        let m = Coord {
            x: (a.x + b.x) / 2.0,
            y: (a.y + b.y) / 2.0,
        };
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = dx.hypot(dy);
        if len <= 0.0 || self.segs.is_empty() {
            return None;
        }
        self.buckets
            .near(m)
            .iter()
            .map(|&i| i as usize)
            .filter(|&i| {
                let (f, t) = self.segs[i];
                let (fx, fy) = (t.x - f.x, t.y - f.y);
                let fl = fx.hypot(fy);
                fl > 0.0
                    && point_segment_distance(m, f, t) <= ALONG_BARRIER_M
                    && ((dx * fy - dy * fx) / (len * fl)).abs() < 0.35
            })
            .map(|i| self.data[i])
            .max_by_key(|&(i, rank)| (rank, std::cmp::Reverse(i)))
    }
}

fn point_segment_distance(p: Coord, a: Coord, b: Coord) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.x - a.x - t * dx).hypot(p.y - a.y - t * dy)
}

/// A vertex of one piece lying on a segment of another piece's ring, to be put into that ring:
/// (piece, ring (0 the exterior), index of the segment's first vertex in the ring, position along the
/// segment, the vertex).
type Insertion = (usize, usize, usize, f64, Coord);

fn piece_pairs(cells: &Cells, barriers: Option<&BarrierIndex>) -> (PiecePairs, Vec<Insertion>) {
    let mut segs: Vec<(Coord, Coord)> = Vec::new();
    let mut owner: Vec<usize> = Vec::new();
    // Where each segment starts: (ring, index in the ring).
    let mut at_ring: Vec<(usize, usize)> = Vec::new();
    for (i, piece) in cells.pieces.iter().enumerate() {
        let rings = std::iter::once(piece.polygon.exterior()).chain(piece.polygon.interiors());
        for (r, ring) in rings.enumerate() {
            for (j, w) in ring.0.windows(2).enumerate() {
                if w[0] != w[1] {
                    segs.push((w[0], w[1]));
                    owner.push(i);
                    at_ring.push((r, j));
                }
            }
        }
    }
    let mut insertions: Vec<Insertion> = Vec::new();
    let local = barriers.filter(|b| !b.is_empty()).and_then(|b| {
        let (mut lo, mut hi) = (segs.first()?.0, segs.first()?.0);
        for &(p, q) in &segs {
            for c in [p, q] {
                lo.x = lo.x.min(c.x);
                lo.y = lo.y.min(c.y);
                hi.x = hi.x.max(c.x);
                hi.y = hi.y.max(c.y);
            }
        }
        Some(LocalBarriers::new(b, lo, hi))
    });
    let mut shared: PiecePairs = BTreeMap::new();
    let mut add = |pa: usize, pb: usize, a: Coord, b: Coord, overlap: f64| {
        let factor = local
            .as_ref()
            .and_then(|bi| bi.along(a, b))
            .map_or(1.0, |(_, rank)| barrier_factor(rank));
        let e = shared.entry((pa.min(pb), pa.max(pb))).or_insert((0.0, 0.0));
        e.0 += overlap;
        e.1 += overlap * factor;
    };
    // Neighbouring pieces usually share their vertices: a segment and the same segment run the other
    // way by another piece are one shared stretch, found by hashing. In a tiling no third piece runs
    // along it, so only the others are compared geometrically.
    let key = |a: Coord, b: Coord| (a.x.to_bits(), a.y.to_bits(), b.x.to_bits(), b.y.to_bits());
    let mut by_ends: rustc_hash::FxHashMap<(u64, u64, u64, u64), usize> =
        rustc_hash::FxHashMap::with_capacity_and_hasher(segs.len(), Default::default());
    for (i, &(a, b)) in segs.iter().enumerate() {
        by_ends.entry(key(a, b)).or_insert(i);
    }
    let mut matched = vec![false; segs.len()];
    for (i, &(a, b)) in segs.iter().enumerate() {
        if matched[i] {
            continue;
        }
        if let Some(&j) = by_ends.get(&key(b, a))
            && !matched[j]
            && owner[j] != owner[i]
        {
            matched[i] = true;
            matched[j] = true;
            add(owner[i], owner[j], a, b, (b.x - a.x).hypot(b.y - a.y));
        }
    }
    let rest: Vec<usize> = (0..segs.len()).filter(|&i| !matched[i]).collect();
    let rest_segs: Vec<(Coord, Coord)> = rest.iter().map(|&i| segs[i]).collect();
    let buckets = SegmentBuckets::new(&rest_segs, SHARED_TOL_M);
    for k in 0..buckets.squares() {
        let here = buckets.square(k);
        for (x, &u) in here.iter().enumerate() {
            for &v in &here[x + 1..] {
                let (u, v) = (rest[u as usize], rest[v as usize]);
                if owner[u] == owner[v] {
                    continue;
                }
                // s belongs to the lower piece.
                let (si, ti) = if owner[u] < owner[v] { (u, v) } else { (v, u) };
                let ((a, b), (c, d)) = (segs[si], segs[ti]);
                let (dx, dy) = (b.x - a.x, b.y - a.y);
                let len = dx.hypot(dy);
                if len <= 0.0 {
                    continue;
                }
                // Both ends of t on the line of s, then the overlap of their projections.
                let off = |p: Coord| ((p.x - a.x) * dy - (p.y - a.y) * dx).abs() / len;
                if off(c) > SHARED_TOL_M || off(d) > SHARED_TOL_M {
                    continue;
                }
                let proj = |p: Coord| ((p.x - a.x) * dx + (p.y - a.y) * dy) / len;
                let (t0, t1) = (proj(c), proj(d));
                let lo = t0.min(t1).max(0.0);
                let hi = t0.max(t1).min(len);
                if hi - lo <= SHARED_TOL_M {
                    continue;
                }
                let at = |t: f64| Coord {
                    x: a.x + dx * t / len,
                    y: a.y + dy * t / len,
                };
                // The pair is met in every square both pass; it counts in the one holding the middle
                // of their overlap.
                if buckets.square_of(at((lo + hi) / 2.0)) != k {
                    continue;
                }
                add(owner[si], owner[ti], at(lo), at(hi), hi - lo);
                // Each segment takes the other's ends lying strictly within it, so both pieces run
                // through the same vertices along the stretch they share.
                let ends = |(p, q): (Coord, Coord), of: usize, into: usize| {
                    let (ex, ey) = (q.x - p.x, q.y - p.y);
                    let l2 = ex * ex + ey * ey;
                    let (own, ring) = (owner[into], at_ring[into]);
                    let (sa, sb) = segs[into];
                    [segs[of].0, segs[of].1]
                        .into_iter()
                        .filter(move |&v| v != sa && v != sb)
                        .filter_map(move |v| {
                            let t = ((v.x - p.x) * ex + (v.y - p.y) * ey) / l2;
                            (l2 > 0.0 && t > 1e-9 && t < 1.0 - 1e-9)
                                .then_some((own, ring.0, ring.1, t, v))
                        })
                };
                insertions.extend(ends(segs[si], ti, si));
                insertions.extend(ends(segs[ti], si, ti));
            }
        }
    }
    (shared, insertions)
}

/// Puts every vertex found lying on another piece's segment into that segment (a T-junction becomes a
/// shared vertex), so that neighbouring pieces meet exactly when their vertices are later rounded to
/// the millimetre: a divided block's pieces end on its sides at points where its neighbour has no
/// vertex, and rounding those points alone opened hairline gaps that made a grid of two parts.
fn node(cells: &mut Cells, mut insertions: Vec<Insertion>) {
    insertions.sort_by(|a, b| {
        (a.0, a.1, a.2)
            .cmp(&(b.0, b.1, b.2))
            .then(a.3.total_cmp(&b.3))
    });
    let mut i = 0;
    while i < insertions.len() {
        let piece = insertions[i].0;
        let mut rings: Vec<Vec<Coord>> = std::iter::once(cells.pieces[piece].polygon.exterior())
            .chain(cells.pieces[piece].polygon.interiors())
            .map(|r| r.0.clone())
            .collect();
        let start = i;
        while i < insertions.len() && insertions[i].0 == piece {
            i += 1;
        }
        let mine = &insertions[start..i];
        for (r, ring) in rings.iter_mut().enumerate() {
            let here: Vec<&Insertion> = mine.iter().filter(|x| x.1 == r).collect();
            if here.is_empty() {
                continue;
            }
            let mut out = Vec::with_capacity(ring.len() + here.len());
            let mut k = 0;
            for (j, &c) in ring.iter().enumerate() {
                out.push(c);
                while k < here.len() && here[k].2 == j {
                    if out.last() != Some(&here[k].4) {
                        out.push(here[k].4);
                    }
                    k += 1;
                }
            }
            *ring = out;
        }
        let mut rings = rings.into_iter().map(geo::LineString);
        if let Some(exterior) = rings.next() {
            cells.pieces[piece].polygon = Polygon::new(exterior, rings.collect());
        }
    }
}

/// A cell whose pieces do not touch one another (the positions of one building with another
/// building's between them) would make a grid of two parts: such a cell absorbs the neighbouring
/// cell that joins its parts, until every cell is one connected piece of land.
fn join_split_cells(cells: &mut Cells, pairs: &PiecePairs) {
    let np = cells.pieces.len();
    let mut nb: Vec<Vec<usize>> = vec![Vec::new(); np];
    for &(a, b) in pairs.keys() {
        nb[a].push(b);
        nb[b].push(a);
    }
    for _round in 0..np {
        let mut pieces_of: Vec<Vec<usize>> = vec![Vec::new(); cells.atoms.len()];
        for (p, &c) in cells.cell_of.iter().enumerate() {
            pieces_of[c].push(p);
        }
        let mut changed = false;
        #[allow(clippy::needless_range_loop)]
        for c in 0..pieces_of.len() {
            if pieces_of[c].len() < 2 || cells.cell_of[pieces_of[c][0]] != c {
                continue;
            }
            // Components of the cell's pieces.
            let mut comp: BTreeMap<usize, usize> = BTreeMap::new();
            let mut count = 0;
            for &s in &pieces_of[c] {
                if comp.contains_key(&s) {
                    continue;
                }
                comp.insert(s, count);
                let mut stack = vec![s];
                while let Some(u) = stack.pop() {
                    for &v in &nb[u] {
                        if cells.cell_of[v] == c && !comp.contains_key(&v) {
                            comp.insert(v, count);
                            stack.push(v);
                        }
                    }
                }
                count += 1;
            }
            if count < 2 {
                continue;
            }
            // The neighbouring cell touching the most components, lightest on a tie.
            let mut touching: BTreeMap<usize, std::collections::BTreeSet<usize>> = BTreeMap::new();
            for (&p, &k) in &comp {
                for &v in &nb[p] {
                    let d = cells.cell_of[v];
                    if d != c {
                        touching.entry(d).or_default().insert(k);
                    }
                }
            }
            let Some(d) = touching
                .iter()
                .max_by_key(|(d, ks)| (ks.len(), std::cmp::Reverse(cells.weight[**d])))
                .map(|(d, _)| *d)
            else {
                continue;
            };
            for p in 0..np {
                if cells.cell_of[p] == d {
                    cells.cell_of[p] = c;
                }
            }
            let moved = std::mem::take(&mut cells.atoms[d]);
            cells.atoms[c].extend(moved);
            cells.weight[c] += cells.weight[d];
            cells.weight[d] = 0;
            changed = true;
            break;
        }
        if !changed {
            break;
        }
    }
    // Renumber the cells that still have pieces.
    let mut ids: BTreeMap<usize, usize> = BTreeMap::new();
    for &c in &cells.cell_of {
        let next = ids.len();
        ids.entry(c).or_insert(next);
    }
    let mut atoms = vec![Vec::new(); ids.len()];
    let mut weight = vec![0; ids.len()];
    for (&old, &new) in &ids {
        atoms[new] = std::mem::take(&mut cells.atoms[old]);
        weight[new] = cells.weight[old];
    }
    for c in cells.cell_of.iter_mut() {
        *c = ids[c];
    }
    cells.atoms = atoms;
    cells.weight = weight;
}

/// Builds the graph of `cells` (joining cells whose pieces are apart first); `barriers` lower the
/// parting cost along them.
pub fn build(cells: &mut Cells, barriers: Option<&BarrierIndex>) -> Graph {
    let (pairs, insertions) = piece_pairs(cells, barriers);
    node(cells, insertions);
    join_split_cells(cells, &pairs);
    let n = cells.len();
    let mut g = Graph {
        weight: cells.weight.clone(),
        area: vec![0.0; n],
        centroid: vec![Coord { x: 0.0, y: 0.0 }; n],
        outer: vec![0.0; n],
        adj: vec![Vec::new(); n],
    };
    let mut perimeter = vec![0.0; n];
    for (i, piece) in cells.pieces.iter().enumerate() {
        let c = cells.cell_of[i];
        let a = piece.polygon.unsigned_area();
        if let Some(ct) = piece.polygon.centroid() {
            g.centroid[c].x += ct.x() * a;
            g.centroid[c].y += ct.y() * a;
        }
        g.area[c] += a;
        perimeter[c] += ring_segments(&piece.polygon)
            .map(|(p, q)| (q.x - p.x).hypot(q.y - p.y))
            .sum::<f64>();
    }
    for c in 0..n {
        if g.area[c] > 0.0 {
            g.centroid[c].x /= g.area[c];
            g.centroid[c].y /= g.area[c];
        }
    }
    let mut shared: BTreeMap<(usize, usize), (f64, f64)> = BTreeMap::new();
    for (&(pa, pb), &(len, cut)) in &pairs {
        let (ca, cb) = (cells.cell_of[pa], cells.cell_of[pb]);
        let e = shared.entry((ca.min(cb), ca.max(cb))).or_insert((0.0, 0.0));
        e.0 += len;
        e.1 += cut;
    }
    let mut outer = perimeter;
    for (&(a, b), &(len, cut)) in &shared {
        if a == b {
            outer[a] -= 2.0 * len;
            continue;
        }
        if len < MIN_SHARED_M {
            // Cells meeting at a corner (or along a sliver of boundary) do not make one grid: its
            // outline would pinch there into two parts.
            continue;
        }
        outer[a] -= len;
        outer[b] -= len;
        g.adj[a].push(Edge { to: b, len, cut });
        g.adj[b].push(Edge { to: a, len, cut });
    }
    g.outer = outer.into_iter().map(|o| o.max(0.0)).collect();
    connect_components(&mut g);
    g
}

/// Joins separate parts of the graph (a leaf in several parts, an island of land) by a link of no
/// length between their nearest cells, so every cell can belong to some grid.
fn connect_components(g: &mut Graph) {
    let n = g.weight.len();
    loop {
        let mut comp = vec![usize::MAX; n];
        let mut count = 0;
        for s in 0..n {
            if comp[s] != usize::MAX {
                continue;
            }
            let mut stack = vec![s];
            comp[s] = count;
            while let Some(u) = stack.pop() {
                for e in &g.adj[u] {
                    if comp[e.to] == usize::MAX {
                        comp[e.to] = count;
                        stack.push(e.to);
                    }
                }
            }
            count += 1;
        }
        if count <= 1 {
            return;
        }
        // Link component 0 to its nearest other cell.
        let mut best: Option<(f64, usize, usize)> = None;
        for a in (0..n).filter(|&a| comp[a] == 0) {
            for b in (0..n).filter(|&b| comp[b] != 0) {
                let d =
                    (g.centroid[a].x - g.centroid[b].x).hypot(g.centroid[a].y - g.centroid[b].y);
                if best.is_none_or(|x| d < x.0) {
                    best = Some((d, a, b));
                }
            }
        }
        let Some((_, a, b)) = best else { return };
        g.adj[a].push(Edge {
            to: b,
            len: 0.0,
            cut: 0.0,
        });
        g.adj[b].push(Edge {
            to: a,
            len: 0.0,
            cut: 0.0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::partition::cells::cells::Piece;
    use geo::{LineString, MultiPolygon};

    fn piece(ring: &[(f64, f64)]) -> Piece {
        let mut c: Vec<Coord> = ring.iter().map(|&(x, y)| Coord { x, y }).collect();
        c.push(c[0]);
        Piece {
            polygon: Polygon::new(LineString(c), vec![]),
            block: None,
            site: None,
            divided: false,
        }
    }

    fn union_snapped(cells: &Cells, which: &[usize]) -> MultiPolygon {
        let snapped: Vec<Polygon> = which
            .iter()
            .map(|&i| super::super::snap_mm(&cells.pieces[i].polygon))
            .collect();
        geo::unary_union(snapped.iter())
    }

    /// A block below a slanting street, and the block above it divided in two at a point of the street
    /// where the block below has no vertex: rounded to the millimetre, that point leaves the street's
    /// line, and the lower block and the left piece (one grid) met only at a corner.
    #[test]
    fn pieces_meeting_at_a_t_junction_share_the_vertex_and_one_grid_stays_one_polygon() {
        let q = (10.0, 10.0 / 3.0);
        let m = (5.0, 5.0 / 3.0);
        let below = piece(&[(0.0, -5.0), (10.0, -5.0), q, (0.0, 0.0)]);
        let left = piece(&[(0.0, 0.0), m, (5.0, 10.0), (0.0, 10.0)]);
        let right = piece(&[m, q, (10.0, 10.0), (5.0, 10.0)]);
        let mut cells = Cells {
            pieces: vec![below, left, right],
            cell_of: vec![0, 1, 2],
            atoms: vec![vec![]; 3],
            weight: vec![0; 3],
            ..Default::default()
        };
        let raw = cells.clone();
        assert_eq!(
            union_snapped(&raw, &[0, 1]).0.len(),
            2,
            "without the shared vertex, rounding parts the two pieces"
        );
        let g = build(&mut cells, None);
        let shared =
            |a: usize, b: usize| g.adj[a].iter().find(|e| e.to == b).map_or(0.0, |e| e.len);
        assert!((shared(0, 1) - (5.0f64).hypot(5.0 / 3.0)).abs() < 1e-6);
        assert!((shared(0, 2) - (5.0f64).hypot(5.0 / 3.0)).abs() < 1e-6);
        // The lower block runs through the junction now, exactly.
        let m = Coord { x: m.0, y: m.1 };
        assert!(cells.pieces[0].polygon.exterior().0.contains(&m));
        // Rounded, the two pieces of one grid share their whole side: one polygon, no hole, and the
        // lower block with the right piece too.
        for pair in [[0, 1], [0, 2]] {
            let u = union_snapped(&cells, &pair);
            assert_eq!(u.0.len(), 1, "{pair:?}");
            assert!(u.0[0].interiors().is_empty(), "{pair:?}");
            let want: f64 = pair
                .iter()
                .map(|&i| cells.pieces[i].polygon.unsigned_area())
                .sum();
            assert!((u.unsigned_area() - want).abs() < 1e-2, "{pair:?}");
        }
        // Without the shared vertex the rounded side of the lower block misses the junction.
        let raw_below = super::super::snap_mm(&raw.pieces[0].polygon);
        let snapped_m = super::super::snap_mm(&raw.pieces[1].polygon).exterior().0[1];
        assert!(!raw_below.exterior().0.contains(&snapped_m));
    }
}
