//! Line segments bucketed on a square lattice, for the questions the cells engine asks of one leaf many
//! times: which segments of other cells run along this one, which barrier runs here. Within a leaf the
//! segments are short and evenly spread, so a lattice answers with a few comparisons per question and is
//! built in one pass (an R-tree's bulk load was most of the graph's cost). And whether a segment passes
//! through a polygon's interior, the test that tells a block cut by a grid's edge, or a piece lying
//! across a leaf's outline, without a boolean operation.

use geo::{Coord, MultiPolygon};

/// Segments registered in every lattice square they pass within `tol` of.
pub struct SegmentBuckets {
    origin: Coord,
    step: f64,
    nx: usize,
    ny: usize,
    /// Compressed rows: the segments of square `b` are `items[start[b]..start[b + 1]]`.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl SegmentBuckets {
    /// Buckets `segs` (each within `tol` of the squares it is listed in), with squares sized so that a
    /// square holds a few segments on average.
    pub fn new(segs: &[(Coord, Coord)], tol: f64) -> SegmentBuckets {
        let (mut lo, mut hi) = (
            Coord {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            Coord {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
        );
        let mut length = 0.0;
        for &(a, b) in segs {
            for c in [a, b] {
                lo.x = lo.x.min(c.x);
                lo.y = lo.y.min(c.y);
                hi.x = hi.x.max(c.x);
                hi.y = hi.y.max(c.y);
            }
            length += (b.x - a.x).hypot(b.y - a.y);
        }
        if segs.is_empty() || !(lo.x.is_finite() && hi.x.is_finite()) {
            return SegmentBuckets {
                origin: Coord { x: 0.0, y: 0.0 },
                step: 1.0,
                nx: 1,
                ny: 1,
                start: vec![0, 0],
                items: Vec::new(),
            };
        }
        lo.x -= tol;
        lo.y -= tol;
        hi.x += tol;
        hi.y += tol;
        let (w, h) = ((hi.x - lo.x).max(1e-9), (hi.y - lo.y).max(1e-9));
        // Squares about twice the mean segment length, and no more squares than about 4 per segment.
        let mean = length / segs.len() as f64;
        let mut step = (2.0 * mean).max(4.0 * tol).max(1e-6);
        let most = (4 * segs.len()).max(16) as f64;
        if (w / step) * (h / step) > most {
            step = (w * h / most).sqrt();
        }
        let nx = ((w / step).floor() as usize + 1).min(1 << 15);
        let ny = ((h / step).floor() as usize + 1).min(1 << 15);
        let mut out = SegmentBuckets {
            origin: lo,
            step,
            nx,
            ny,
            start: Vec::new(),
            items: Vec::new(),
        };
        // Two passes (count, then fill) over the squares each segment passes.
        let mut count = vec![0u32; nx * ny + 1];
        for &(a, b) in segs {
            out.each_square(a, b, tol, |k| count[k] += 1);
        }
        let mut start = Vec::with_capacity(count.len() + 1);
        let mut sum = 0u32;
        start.push(0);
        for c in &count[..nx * ny] {
            sum += c;
            start.push(sum);
        }
        let mut fill = start.clone();
        let mut items = vec![0u32; sum as usize];
        for (i, &(a, b)) in segs.iter().enumerate() {
            out.each_square(a, b, tol, |k| {
                items[fill[k] as usize] = i as u32;
                fill[k] += 1;
            });
        }
        out.start = start;
        out.items = items;
        out
    }

    // The casts truncate toward zero (as `floor` for the non-negative values that matter; anything
    // below the origin goes to the first square anyway), send NaN to 0 and saturate.
    fn col(&self, x: f64) -> usize {
        (((x - self.origin.x) / self.step) as usize).min(self.nx - 1)
    }

    fn row(&self, y: f64) -> usize {
        (((y - self.origin.y) / self.step) as usize).min(self.ny - 1)
    }

    /// The square holding `p` (points outside the lattice go to the nearest square).
    pub fn square_of(&self, p: Coord) -> usize {
        self.row(p.y) * self.nx + self.col(p.x)
    }

    /// Calls `f` with every square the segment `a`–`b` passes within `tol` of (each once).
    fn each_square(&self, a: Coord, b: Coord, tol: f64, mut f: impl FnMut(usize)) {
        let (x0, x1) = (a.x.min(b.x) - tol, a.x.max(b.x) + tol);
        let (c0, c1) = (self.col(x0), self.col(x1));
        for c in c0..=c1 {
            // The segment's y range over this column's slab of x, widened by `tol`.
            let sx0 = (self.origin.x + c as f64 * self.step).max(x0);
            let sx1 = (self.origin.x + (c + 1) as f64 * self.step).min(x1);
            let (ya, yb) = if (b.x - a.x).abs() <= f64::EPSILON * a.x.abs().max(1.0) {
                (a.y.min(b.y), a.y.max(b.y))
            } else {
                let at = |x: f64| {
                    let t = ((x - a.x) / (b.x - a.x)).clamp(0.0, 1.0);
                    a.y + t * (b.y - a.y)
                };
                let (p, q) = (at(sx0 - tol), at(sx1 + tol));
                (p.min(q), p.max(q))
            };
            let (r0, r1) = (self.row(ya - tol), self.row(yb + tol));
            for r in r0..=r1 {
                f(r * self.nx + c);
            }
        }
    }

    /// The segments listed in square `k`.
    pub fn square(&self, k: usize) -> &[u32] {
        &self.items[self.start[k] as usize..self.start[k + 1] as usize]
    }

    pub fn squares(&self) -> usize {
        self.nx * self.ny
    }

    /// The segments listed in the square holding `p`: every segment within `tol` of `p` is among them.
    pub fn near(&self, p: Coord) -> &[u32] {
        self.square(self.square_of(p))
    }

    /// Every segment listed in a square meeting the rectangle `lo`–`hi` (each once, ascending) into
    /// `out`: every segment passing within `tol` of the rectangle is among them.
    pub fn in_rect(&self, lo: Coord, hi: Coord, out: &mut Vec<u32>) {
        out.clear();
        for r in self.row(lo.y)..=self.row(hi.y) {
            for c in self.col(lo.x)..=self.col(hi.x) {
                out.extend_from_slice(self.square(r * self.nx + c));
            }
        }
        out.sort_unstable();
        out.dedup();
    }
}

fn dist2_to_segment(p: Coord, a: Coord, b: Coord) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (ex, ey) = (p.x - a.x - t * dx, p.y - a.y - t * dy);
    ex * ex + ey * ey
}

/// Whether the segment `p`–`q` passes through the interior of `poly` (farther than `tol` from its
/// outline `edges`; `r` is its bounding box): the segment is cut where it meets the outline, and each stretch between two such
/// places lies wholly inside or wholly outside, which points along it tell.
pub fn passes_inside(
    p: Coord,
    q: Coord,
    poly: &MultiPolygon,
    edges: &[(Coord, Coord)],
    r: geo::Rect,
    tol: f64,
) -> bool {
    if p.x.max(q.x) <= r.min().x
        || p.x.min(q.x) >= r.max().x
        || p.y.max(q.y) <= r.min().y
        || p.y.min(q.y) >= r.max().y
    {
        return false;
    }
    let (rx, ry) = (q.x - p.x, q.y - p.y);
    let rr = rx * rx + ry * ry;
    if rr <= 0.0 {
        return false;
    }
    let mut ts = vec![0.0, 1.0];
    for &(c, d) in edges {
        if c.x.max(d.x) < p.x.min(q.x)
            || c.x.min(d.x) > p.x.max(q.x)
            || c.y.max(d.y) < p.y.min(q.y)
            || c.y.min(d.y) > p.y.max(q.y)
        {
            continue;
        }
        let (sx, sy) = (d.x - c.x, d.y - c.y);
        let denom = rx * sy - ry * sx;
        let (qx, qy) = (c.x - p.x, c.y - p.y);
        if denom * denom <= 1e-24 * rr * (sx * sx + sy * sy) {
            // Parallel: where the edge's ends project, if it runs on the segment's line.
            for e in [c, d] {
                let t = ((e.x - p.x) * rx + (e.y - p.y) * ry) / rr;
                if (0.0..=1.0).contains(&t) {
                    ts.push(t);
                }
            }
            continue;
        }
        let t = (qx * sy - qy * sx) / denom;
        let u = (qx * ry - qy * rx) / denom;
        if (-1e-9..=1.0 + 1e-9).contains(&u) && (0.0..=1.0).contains(&t) {
            ts.push(t);
        }
    }
    ts.sort_by(f64::total_cmp);
    let tol2 = tol * tol;
    ts.windows(2).any(|w| {
        w[1] - w[0] > 1e-12
            && [0.25, 0.5, 0.75].iter().any(|f| {
                let t = w[0] + f * (w[1] - w[0]);
                let m = Coord {
                    x: p.x + t * rx,
                    y: p.y + t * ry,
                };
                m.x > r.min().x
                    && m.x < r.max().x
                    && m.y > r.min().y
                    && m.y < r.max().y
                    && edges.iter().all(|&(c, d)| dist2_to_segment(m, c, d) > tol2)
                    && crate::spatial::geometry::contains(poly, m)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(p: Coord, a: Coord, b: Coord) -> f64 {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let l2 = dx * dx + dy * dy;
        let t = if l2 > 0.0 {
            (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        (p.x - a.x - t * dx).hypot(p.y - a.y - t * dy)
    }

    #[test]
    fn every_segment_near_a_point_is_in_its_square() {
        let mut rng = crate::rng::Rng::new(11);
        let mut segs = Vec::new();
        for _ in 0..400 {
            let a = Coord {
                x: rng.range(0.0, 1000.0),
                y: rng.range(0.0, 600.0),
            };
            // Mostly short segments, a few long ones at any angle.
            let len = if rng.unit() < 0.05 { 800.0 } else { 25.0 };
            let ang = rng.range(0.0, std::f64::consts::TAU);
            segs.push((
                a,
                Coord {
                    x: a.x + len * ang.cos(),
                    y: a.y + len * ang.sin(),
                },
            ));
        }
        // Axis-parallel ones too.
        segs.push((Coord { x: 10.0, y: 5.0 }, Coord { x: 10.0, y: 590.0 }));
        segs.push((Coord { x: 3.0, y: 77.0 }, Coord { x: 990.0, y: 77.0 }));
        let tol = 3.0;
        let b = SegmentBuckets::new(&segs, tol);
        for _ in 0..20_000 {
            let p = Coord {
                x: rng.range(-50.0, 1050.0),
                y: rng.range(-50.0, 650.0),
            };
            let listed = b.near(p);
            for (i, &(s, e)) in segs.iter().enumerate() {
                if dist(p, s, e) <= tol {
                    assert!(listed.contains(&(i as u32)), "segment {i} near {p:?}");
                }
            }
        }
    }
}
