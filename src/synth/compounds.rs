//! A compound city (`gridplan generate --fabric compounds`): the urban fabric of Chinese cities, where
//! arterials 450–750 m apart make superblocks, branch roads cut each superblock into one to four gated
//! compounds (小区) of 1,000–6,000 households, and the households live in rows of six-storey walk-ups
//! (three to five entrances of twelve households) or in towers (two entrances, 66–200 households).
//! Among them: an urban village of small houses, blocks holding no households (schools,
//! kindergartens, parks, a hospital), shops addressed to the arterials, and, for some seeds, compounds
//! whose every household is geocoded to the compound's gate, two compounds facing each other across a
//! branch road sharing one gate point on the road.
//!
//! Communities (the leaves) are one superblock, two neighbouring superblocks, or half a superblock cut
//! along its branch road; a street holds at most 6 × 6 superblocks, and more households make more
//! streets. The blocks layer is the compounds' walls (inset from the roads' centrelines by half the
//! road's width, so road land lies between them), the barriers layer the arterials' and branch roads'
//! centrelines. The street-lines variant (`--fabric street-lines`) is the same city without the
//! blocks layer.
//!
//! Everything is laid out in a plan of straight lines (arterials slightly tilted, branch roads slightly
//! askew), then bent by a smooth warp of a few metres and turned a few degrees, so no road is
//! rectilinear. Every shared boundary is built from the same nodes, so the leaves tile the street
//! exactly. The same seed gives the same city.

use super::{District, GenWorker, Unit, people, place};
use crate::rng::Rng;
use crate::spatial::geometry;
use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon};

/// Households per superblock, about: sizes the lattice for the households asked for.
const HOUSEHOLDS_PER_SUPERBLOCK: f64 = 6_300.0;
/// Superblocks per street, at most, along each axis.
const STREET_SUPERBLOCKS: usize = 6;
/// The spacing of arterials (m).
const ARTERIAL_SPACING_M: (f64, f64) = (450.0, 750.0);
/// Households of a compound.
const COMPOUND_HOUSEHOLDS: (u64, u64) = (1_000, 6_000);
/// Households per entrance of a walk-up (six storeys, two flats a landing).
const PER_ENTRANCE: u64 = 12;
/// Households of a tower.
const TOWER_HOUSEHOLDS: (u64, u64) = (66, 200);
/// Compounds geocoded to their gates, in the cities (half the seeds) that have any.
const GATE_SHARE: f64 = 0.15;
/// Longest straight piece of an outline before the warp bends it (m).
const DENSIFY_M: f64 = 30.0;

/// Which kind of district `gridplan generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fabric {
    /// The demo's towns: a street of compounds on a lattice and a rural town of villages.
    #[default]
    Towns,
    /// The compound city, with its blocks and roads.
    Compounds,
    /// The compound city with its roads only (no blocks layer).
    StreetLines,
}

/// What compound city to generate.
#[derive(Debug, Clone, Copy)]
pub struct CitySpec {
    pub seed: u64,
    /// Households, about.
    pub households: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    Arterial,
    Branch,
}

/// A straight road centreline in the plan, with the nodes lying on it.
struct Line {
    p: Coord,
    /// Unit direction.
    d: Coord,
    /// Half the road's width (m).
    half_width: f64,
    class: Class,
    /// Nodes on the line: (position along it, node).
    stations: Vec<(f64, usize)>,
}

/// One side of a face: along `line` from node `from` to node `to`.
#[derive(Debug, Clone, Copy)]
struct Side {
    line: usize,
    from: usize,
    to: usize,
}

/// A convex face of the plan: four sides, counter-clockwise.
#[derive(Debug, Clone)]
struct Face {
    sides: Vec<Side>,
}

/// Lines and their crossings.
#[derive(Default)]
struct Plan {
    nodes: Vec<Coord>,
    lines: Vec<Line>,
    crossings: std::collections::HashMap<(usize, usize), usize>,
}

fn sub(a: Coord, b: Coord) -> Coord {
    Coord {
        x: a.x - b.x,
        y: a.y - b.y,
    }
}

fn lerp(a: Coord, b: Coord, t: f64) -> Coord {
    Coord {
        x: a.x + (b.x - a.x) * t,
        y: a.y + (b.y - a.y) * t,
    }
}

fn cross(a: Coord, b: Coord) -> f64 {
    a.x * b.y - a.y * b.x
}

/// Where the lines `p + t·d` and `q + s·e` meet.
fn meet(p: Coord, d: Coord, q: Coord, e: Coord) -> Coord {
    let den = cross(d, e);
    let t = if den.abs() < 1e-12 {
        0.0
    } else {
        cross(sub(q, p), e) / den
    };
    Coord {
        x: p.x + t * d.x,
        y: p.y + t * d.y,
    }
}

impl Plan {
    fn add_line(&mut self, p: Coord, q: Coord, half_width: f64, class: Class) -> usize {
        let v = sub(q, p);
        let l = v.x.hypot(v.y).max(1e-9);
        self.lines.push(Line {
            p,
            d: Coord {
                x: v.x / l,
                y: v.y / l,
            },
            half_width,
            class,
            stations: Vec::new(),
        });
        self.lines.len() - 1
    }

    /// The node where lines `a` and `b` cross (made once, and put on both lines).
    fn node(&mut self, a: usize, b: usize) -> usize {
        let key = (a.min(b), a.max(b));
        if let Some(&n) = self.crossings.get(&key) {
            return n;
        }
        let (la, lb) = (&self.lines[a], &self.lines[b]);
        let c = meet(la.p, la.d, lb.p, lb.d);
        let n = self.nodes.len();
        self.nodes.push(c);
        for l in [a, b] {
            let line = &mut self.lines[l];
            let t = (c.x - line.p.x) * line.d.x + (c.y - line.p.y) * line.d.y;
            line.stations.push((t, n));
        }
        self.crossings.insert(key, n);
        n
    }

    /// The nodes along `side`, from its first node up to (not including) its last.
    fn side_nodes(&self, side: Side) -> Vec<usize> {
        let line = &self.lines[side.line];
        let at = |n: usize| line.stations.iter().find(|s| s.1 == n).map_or(0.0, |s| s.0);
        let (t0, t1) = (at(side.from), at(side.to));
        let mut on: Vec<(f64, usize)> = line
            .stations
            .iter()
            .copied()
            .filter(|&(t, n)| {
                n != side.to && (n == side.from || (t > t0.min(t1) && t < t0.max(t1)))
            })
            .collect();
        on.sort_by(|a, b| a.0.total_cmp(&b.0));
        if t1 < t0 {
            on.reverse();
        }
        on.into_iter().map(|(_, n)| n).collect()
    }

    /// The face's outline in the plan (every node on its sides), closed.
    fn ring(&self, face: &Face) -> Vec<Coord> {
        let mut ring: Vec<Coord> = face
            .sides
            .iter()
            .flat_map(|&s| self.side_nodes(s))
            .map(|n| self.nodes[n])
            .collect();
        if let Some(&f) = ring.first() {
            ring.push(f);
        }
        ring
    }

    fn corners(&self, face: &Face) -> Vec<Coord> {
        face.sides.iter().map(|s| self.nodes[s.from]).collect()
    }

    /// Splits `face` along line `l`, which crosses its sides `a` and `b` (a < b): the part before
    /// the line, then the part after it.
    fn split(&mut self, face: &Face, a: usize, b: usize, l: usize) -> (Face, Face) {
        let (sa, sb) = (face.sides[a], face.sides[b]);
        let xa = self.node(sa.line, l);
        let xb = self.node(sb.line, l);
        let mut one: Vec<Side> = face.sides[..a].to_vec();
        one.push(Side {
            line: sa.line,
            from: sa.from,
            to: xa,
        });
        one.push(Side {
            line: l,
            from: xa,
            to: xb,
        });
        one.push(Side {
            line: sb.line,
            from: xb,
            to: sb.to,
        });
        one.extend_from_slice(&face.sides[b + 1..]);
        let mut two = vec![Side {
            line: sa.line,
            from: xa,
            to: sa.to,
        }];
        two.extend_from_slice(&face.sides[a + 1..b]);
        two.push(Side {
            line: sb.line,
            from: sb.from,
            to: xb,
        });
        two.push(Side {
            line: l,
            from: xb,
            to: xa,
        });
        (Face { sides: one }, Face { sides: two })
    }

    /// A branch road across `face` from side `a` (at fraction `f` along it) to the opposite side `b`.
    fn branch_across(&mut self, rng: &mut Rng, face: &Face, a: usize, b: usize) -> usize {
        let c = self.corners(face);
        let n = c.len();
        let f = rng.range(0.36, 0.64);
        let p = lerp(c[a], c[(a + 1) % n], f);
        let q = lerp(
            c[(b + 1) % n],
            c[b],
            (f + rng.range(-0.05, 0.05)).clamp(0.2, 0.8),
        );
        let half = rng.range(4.0, 8.0);
        self.add_line(p, q, half, Class::Branch)
    }

    /// The face inset from every side by the side's road half-width plus `setback` (m): a convex
    /// quadrilateral, counter-clockwise.
    fn inset(&self, face: &Face, setback: f64) -> Vec<Coord> {
        let n = face.sides.len();
        let offset: Vec<(Coord, Coord)> = face
            .sides
            .iter()
            .map(|s| {
                let (a, b) = (self.nodes[s.from], self.nodes[s.to]);
                let v = sub(b, a);
                let l = v.x.hypot(v.y).max(1e-9);
                let d = Coord {
                    x: v.x / l,
                    y: v.y / l,
                };
                // Inward is to the left of a counter-clockwise ring.
                let w = self.lines[s.line].half_width + setback;
                (
                    Coord {
                        x: a.x - d.y * w,
                        y: a.y + d.x * w,
                    },
                    d,
                )
            })
            .collect();
        (0..n)
            .map(|k| {
                let (p, d) = offset[(k + n - 1) % n];
                let (q, e) = offset[k];
                meet(p, d, q, e)
            })
            .collect()
    }
}

/// The smooth bend and turn laid over the plan: a few metres of sine waves and a few degrees.
struct Warp {
    origin: Coord,
    cos: f64,
    sin: f64,
    amp: (f64, f64),
    wave: (f64, f64),
    phase: (f64, f64),
}

impl Warp {
    fn new(rng: &mut Rng, origin: Coord) -> Warp {
        let turn = rng.range(-0.15, 0.15);
        Warp {
            origin,
            cos: turn.cos(),
            sin: turn.sin(),
            amp: (rng.range(4.0, 16.0), rng.range(4.0, 16.0)),
            wave: (rng.range(1_200.0, 2_600.0), rng.range(1_200.0, 2_600.0)),
            phase: (rng.range(0.0, 6.3), rng.range(0.0, 6.3)),
        }
    }

    fn at(&self, c: Coord) -> Coord {
        let tau = std::f64::consts::TAU;
        let x = c.x + self.amp.0 * (tau * c.y / self.wave.0 + self.phase.0).sin();
        let y = c.y + self.amp.1 * (tau * c.x / self.wave.1 + self.phase.1).sin();
        Coord {
            x: self.origin.x + self.cos * x - self.sin * y,
            y: self.origin.y + self.sin * x + self.cos * y,
        }
    }

    /// A plan polyline bent by the warp: each straight piece cut into pieces of at most
    /// [`DENSIFY_M`], the cut points computed from the lower end, so two rings running along the same
    /// piece either way get the same points.
    fn polyline(&self, pts: &[Coord]) -> Vec<Coord> {
        let mut out = Vec::with_capacity(pts.len() * 4);
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            out.push(self.at(a));
            let len = (b.x - a.x).hypot(b.y - a.y);
            let steps = (len / DENSIFY_M).ceil() as usize;
            if steps < 2 {
                continue;
            }
            let forward = (a.x, a.y) <= (b.x, b.y);
            let (lo, hi) = if forward { (a, b) } else { (b, a) };
            let mut inner: Vec<Coord> = (1..steps)
                .map(|k| self.at(lerp(lo, hi, k as f64 / steps as f64)))
                .collect();
            if !forward {
                inner.reverse();
            }
            out.extend(inner);
        }
        if let Some(&l) = pts.last() {
            out.push(self.at(l));
        }
        out
    }

    fn polygon(&self, ring: &[Coord]) -> Polygon {
        Polygon::new(LineString(self.polyline(ring)), vec![])
    }
}

/// A point of a quadrilateral (corners q0..q3, counter-clockwise) by its bilinear coordinates:
/// `a` along q0 → q1, `b` along q0 → q3.
fn bilinear(q: &[Coord], a: f64, b: f64) -> Coord {
    let bottom = lerp(q[0], q[1], a);
    let top = lerp(q[3], q[2], a);
    lerp(bottom, top, b)
}

/// A building placed in a compound, in the compound's bilinear coordinates.
struct Building {
    a: f64,
    b: f64,
    /// Length along `a` (m).
    length: f64,
    /// Households at each entrance.
    entrances: Vec<u64>,
}

/// How a compound's households are addressed.
#[derive(Clone, Copy, PartialEq)]
enum Address {
    /// Every household of a building at the building's address point.
    Building,
    /// One point per entrance.
    Entrance,
    /// Every household of the compound at its gate.
    Gate,
}

/// Rows of walk-ups within the region `[a0, a1] × [b0, b1]` of a compound `w` × `d` metres, holding
/// about `households`, rows spread over the region's depth. `None` when they do not fit.
fn slab_rows(
    rng: &mut Rng,
    (a0, a1, b0, b1): (f64, f64, f64, f64),
    (w, d): (f64, f64),
    households: u64,
) -> Option<Vec<Building>> {
    let margin = 12.0;
    let width = (a1 - a0) * w - 2.0 * margin;
    let depth = (b1 - b0) * d - 2.0 * margin;
    if width < 40.0 || depth < 0.0 {
        return None;
    }
    let spacing = rng.range(30.0, 38.0);
    let gap = rng.range(10.0, 18.0);
    let entrances = rng.int(3, 5);
    let rows_max = (depth / spacing).floor() as u64 + 1;
    // One row: slabs of `entrances` ± 1 entrances, left to right.
    let mut row_lengths = Vec::new();
    let mut used = 0.0;
    loop {
        let e = (entrances + rng.int(0, 2)).saturating_sub(1).clamp(3, 5);
        let len = 13.0 * e as f64;
        if used + len > width {
            break;
        }
        row_lengths.push(e);
        used += len + gap;
    }
    let per_row: u64 = row_lengths.iter().sum::<u64>() * PER_ENTRANCE;
    if per_row == 0 {
        return None;
    }
    let rows = households.div_ceil(per_row);
    if rows > rows_max {
        return None;
    }
    let used = used - gap;
    let mut out = Vec::new();
    let mut left = households;
    for r in 0..rows {
        let y = if rows == 1 {
            depth / 2.0
        } else {
            depth * r as f64 / (rows - 1) as f64
        };
        let mut x = (width - used) / 2.0;
        for &e in &row_lengths {
            if left == 0 {
                break;
            }
            let len = 13.0 * e as f64;
            let entrances: Vec<u64> = (0..e)
                .map(|_| {
                    let h = PER_ENTRANCE.min(left);
                    left -= h;
                    h
                })
                .filter(|&h| h > 0)
                .collect();
            out.push(Building {
                a: a0 + (margin + x + len / 2.0) / w,
                b: b0 + (margin + y) / d,
                length: len,
                entrances,
            });
            x += len + gap;
        }
    }
    Some(out)
}

/// Towers (two entrances each) within the region, holding about `households` (fewer when even
/// towers of 200 households do not fit).
fn towers(
    rng: &mut Rng,
    (a0, a1, b0, b1): (f64, f64, f64, f64),
    (w, d): (f64, f64),
    households: u64,
) -> Vec<Building> {
    let margin = 15.0;
    let width = ((a1 - a0) * w - 2.0 * margin).max(0.0);
    let depth = ((b1 - b0) * d - 2.0 * margin).max(0.0);
    let step = rng.range(38.0, 52.0);
    let cols = (width / step).floor() as u64 + 1;
    let rows = (depth / step).floor() as u64 + 1;
    let capacity = cols * rows;
    let per = households
        .div_ceil(capacity)
        .clamp(TOWER_HOUSEHOLDS.0, TOWER_HOUSEHOLDS.1);
    // Towers of even size, each within 66–200 households (fewer households when they do not fit).
    let mut count = households.div_ceil(per).clamp(1, capacity);
    while count > 1 && households / count < TOWER_HOUSEHOLDS.0 {
        count -= 1;
    }
    let total = households.min(count * TOWER_HOUSEHOLDS.1);
    let rows_used = count.div_ceil(cols);
    let mut out = Vec::new();
    for k in 0..count {
        let (r, c) = (k / cols, k % cols);
        let y = if rows_used <= 1 {
            depth / 2.0
        } else {
            depth * r as f64 / (rows_used - 1) as f64
        };
        let stagger = if r % 2 == 1 { step / 3.0 } else { 0.0 };
        let x = (c as f64 * step + stagger).min(width);
        let h = total / count + u64::from(k < total % count);
        out.push(Building {
            a: a0 + (margin + x) / w,
            b: b0 + (margin + y) / d,
            length: 24.0,
            entrances: vec![h.div_ceil(2), h / 2],
        });
    }
    out
}

/// What a compound slot (a final face of a superblock) holds.
#[derive(Clone, Copy, PartialEq)]
enum Use {
    Compound,
    Village,
    School,
    Park,
    Hospital,
}

/// A face of the plan with its use and community.
struct Slot {
    face: Face,
    superblock: usize,
    /// 0 or 1: the side of the superblock's first branch road it lies on.
    half: usize,
    community: usize,
    usage: Use,
}

/// One community (leaf) of a street: the faces of its land.
struct Community {
    street: usize,
    faces: Vec<Face>,
}

/// The compound city in the build CRS, with its blocks layer (written only by
/// [`Fabric::Compounds`]).
pub fn district(spec: &CitySpec) -> crate::error::Result<District> {
    let to_build =
        crate::spatial::crs::Transform::new(crate::spatial::crs::WGS84, super::BUILD_CRS)?;
    let origin = to_build.point(Coord {
        x: super::ORIGIN_LON_LAT.0,
        y: super::ORIGIN_LON_LAT.1,
    })?;
    let mut rng = Rng::new(spec.seed ^ 0xC04D_C17F);
    let warp = Warp::new(&mut rng, origin);
    let superblocks =
        ((spec.households as f64 / HOUSEHOLDS_PER_SUPERBLOCK).round() as usize).max(2);
    let nx = (superblocks as f64).sqrt().round().max(1.0) as usize;
    let ny = ((superblocks as f64 / nx as f64).round() as usize).max(1);
    let mut plan = Plan::default();
    // Arterials: irregularly spaced, slightly tilted.
    let mut xs = vec![0.0];
    for _ in 0..nx {
        let last = xs[xs.len() - 1];
        xs.push(last + rng.range(ARTERIAL_SPACING_M.0, ARTERIAL_SPACING_M.1));
    }
    let mut ys = vec![0.0];
    for _ in 0..ny {
        let last = ys[ys.len() - 1];
        ys.push(last + rng.range(ARTERIAL_SPACING_M.0, ARTERIAL_SPACING_M.1));
    }
    let (w, h) = (xs[nx], ys[ny]);
    let vertical: Vec<usize> = xs
        .iter()
        .map(|&x| {
            let tilt = rng.range(-0.025, 0.025);
            let half = rng.range(14.0, 24.0);
            plan.add_line(
                Coord { x, y: 0.0 },
                Coord {
                    x: x + tilt * h,
                    y: h,
                },
                half,
                Class::Arterial,
            )
        })
        .collect();
    let horizontal: Vec<usize> = ys
        .iter()
        .map(|&y| {
            let tilt = rng.range(-0.025, 0.025);
            let half = rng.range(14.0, 24.0);
            plan.add_line(
                Coord { x: 0.0, y },
                Coord {
                    x: w,
                    y: y + tilt * w,
                },
                half,
                Class::Arterial,
            )
        })
        .collect();
    let mut corner = vec![vec![0usize; ny + 1]; nx + 1];
    for i in 0..=nx {
        for j in 0..=ny {
            corner[i][j] = plan.node(vertical[i], horizontal[j]);
        }
    }
    let rect_face = |(i0, j0): (usize, usize), (i1, j1): (usize, usize)| Face {
        sides: vec![
            Side {
                line: horizontal[j0],
                from: corner[i0][j0],
                to: corner[i1][j0],
            },
            Side {
                line: vertical[i1],
                from: corner[i1][j0],
                to: corner[i1][j1],
            },
            Side {
                line: horizontal[j1],
                from: corner[i1][j1],
                to: corner[i0][j1],
            },
            Side {
                line: vertical[i0],
                from: corner[i0][j1],
                to: corner[i0][j0],
            },
        ],
    };
    // Superblocks (column-major within rows), each cut by branch roads into one to four faces.
    let mut whole: Vec<Face> = Vec::new();
    let mut halves: Vec<Option<(Face, Face)>> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
    let mut at: Vec<(usize, usize)> = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let sb = whole.len();
            let face = rect_face((i, j), (i + 1, j + 1));
            at.push((i, j));
            let roll = rng.unit();
            let parts = if roll < 0.2 {
                1
            } else if roll < 0.55 {
                2
            } else if roll < 0.8 {
                3
            } else {
                4
            };
            let mut push = |f: Face, half: usize| {
                slots.push(Slot {
                    face: f,
                    superblock: sb,
                    half,
                    community: usize::MAX,
                    usage: Use::Compound,
                })
            };
            if parts == 1 {
                push(face.clone(), 0);
                halves.push(None);
            } else {
                let (a, b) = if rng.unit() < 0.5 { (0, 2) } else { (1, 3) };
                let first = plan.branch_across(&mut rng, &face, a, b);
                let (one, two) = plan.split(&face, a, b, first);
                // The sides of a half that a road across the first one meets: the first road
                // (side a + 1 of `one`, the last side of `two`) and the side facing it.
                let across = |first: bool| {
                    if first {
                        let (x, y) = ((a + 1) % 4, (a + 3) % 4);
                        (x.min(y), x.max(y))
                    } else {
                        (1, 3)
                    }
                };
                let (c, d) = if (a, b) == (0, 2) { (1, 3) } else { (0, 2) };
                match parts {
                    2 => {
                        push(one.clone(), 0);
                        push(two.clone(), 1);
                    }
                    3 => {
                        let cut_first = rng.unit() < 0.5;
                        let (cut, keep, half) = if cut_first {
                            (&one, &two, 0)
                        } else {
                            (&two, &one, 1)
                        };
                        let (e, f) = across(cut_first);
                        let second = plan.branch_across(&mut rng, cut, e, f);
                        let (x, y) = plan.split(cut, e, f, second);
                        push(x, half);
                        push(y, half);
                        push(keep.clone(), 1 - half);
                    }
                    _ => {
                        // One road across the whole superblock, crossing the first.
                        let second = plan.branch_across(&mut rng, &face, c, d);
                        for (half, f) in [(0, &one), (1, &two)] {
                            let (e, g) = across(half == 0);
                            let (x, y) = plan.split(f, e, g, second);
                            push(x, half);
                            push(y, half);
                        }
                    }
                }
                halves.push(Some((one, two)));
            }
            whole.push(face);
        }
    }
    // Streets: chunks of at most 6 × 6 superblocks; communities within them.
    let streets_x = nx.div_ceil(STREET_SUPERBLOCKS);
    let street_of =
        |(i, j): (usize, usize)| (j / STREET_SUPERBLOCKS) * streets_x + i / STREET_SUPERBLOCKS;
    let mut communities: Vec<Community> = Vec::new();
    let mut community_of_sb = vec![usize::MAX; whole.len()];
    let mut split_sb = vec![false; whole.len()];
    for sb in 0..whole.len() {
        if community_of_sb[sb] != usize::MAX {
            continue;
        }
        let (i, _) = at[sb];
        let right = (i + 1 < nx).then_some(sb + 1);
        let roll = rng.unit();
        if let Some(r) = right.filter(|&r| {
            roll < 0.2 && community_of_sb[r] == usize::MAX && street_of(at[r]) == street_of(at[sb])
        }) {
            community_of_sb[sb] = communities.len();
            community_of_sb[r] = communities.len();
            communities.push(Community {
                street: street_of(at[sb]),
                faces: vec![whole[sb].clone(), whole[r].clone()],
            });
        } else if let (true, Some((one, two))) = (roll > 0.82, &halves[sb]) {
            split_sb[sb] = true;
            community_of_sb[sb] = communities.len();
            communities.push(Community {
                street: street_of(at[sb]),
                faces: vec![one.clone()],
            });
            communities.push(Community {
                street: street_of(at[sb]),
                faces: vec![two.clone()],
            });
        } else {
            community_of_sb[sb] = communities.len();
            communities.push(Community {
                street: street_of(at[sb]),
                faces: vec![whole[sb].clone()],
            });
        }
    }
    for s in &mut slots {
        s.community = community_of_sb[s.superblock] + usize::from(split_sb[s.superblock]) * s.half;
    }
    // Uses: per street a hospital and an urban village; schools and parks here and there.
    let streets = streets_x * ny.div_ceil(STREET_SUPERBLOCKS);
    for street in 0..streets {
        let mine: Vec<usize> = (0..slots.len())
            .filter(|&k| communities[slots[k].community].street == street)
            .collect();
        if mine.is_empty() {
            continue;
        }
        // A compound slot whose community keeps another compound or village if it is given over
        // to a use without households (every community has residents).
        let residents = |slots: &[Slot], k: usize| {
            mine.iter()
                .filter(|&&o| o != k && slots[o].community == slots[k].community)
                .any(|&o| matches!(slots[o].usage, Use::Compound | Use::Village))
        };
        let pick = |rng: &mut Rng, slots: &[Slot], spare: bool| {
            let free: Vec<usize> = mine
                .iter()
                .copied()
                .filter(|&k| slots[k].usage == Use::Compound && (!spare || residents(slots, k)))
                .collect();
            (!free.is_empty()).then(|| free[rng.int(0, free.len() as u64 - 1) as usize])
        };
        if let Some(k) = pick(&mut rng, &slots, false) {
            slots[k].usage = Use::Village;
        }
        if mine.len() > 3
            && let Some(k) = pick(&mut rng, &slots, true)
        {
            slots[k].usage = Use::Hospital;
        }
        for &k in &mine {
            if slots[k].usage == Use::Compound {
                let r = rng.unit();
                if r < 0.16 && residents(&slots, k) {
                    slots[k].usage = if r < 0.1 { Use::School } else { Use::Park };
                }
            }
        }
    }
    // Every node is on its lines now: the outlines.
    let mut d = District {
        units: Vec::new(),
        points: Vec::new(),
        grids: Vec::new(),
        workers: Vec::new(),
        blocks: Vec::new(),
        barriers: Vec::new(),
    };
    let county = "320116000000".to_string();
    d.units.push(Unit {
        code: county.clone(),
        name: "六合区 (synthetic)".to_string(),
        level: "district",
        parent: None,
        kind: None,
        geometry: MultiPolygon(vec![]),
    });
    let street_codes: Vec<String> = (0..streets)
        .map(|s| format!("320116{:03}000", 1 + s))
        .collect();
    let mut street_polys = Vec::new();
    for (s, code) in street_codes.iter().enumerate() {
        let (sx, sy) = (s % streets_x, s / streets_x);
        let i0 = sx * STREET_SUPERBLOCKS;
        let j0 = sy * STREET_SUPERBLOCKS;
        let i1 = (i0 + STREET_SUPERBLOCKS).min(nx);
        let j1 = (j0 + STREET_SUPERBLOCKS).min(ny);
        // The street's superblocks may not fill its rectangle (the last row of the city).
        let faces: Vec<usize> = (0..whole.len())
            .filter(|&sb| street_of(at[sb]) == s)
            .collect();
        let full = faces.len() == (i1 - i0) * (j1 - j0);
        let geometry = if full {
            MultiPolygon(vec![
                warp.polygon(&plan.ring(&rect_face((i0, j0), (i1, j1)))),
            ])
        } else {
            let polys: Vec<Polygon> = faces
                .iter()
                .map(|&sb| warp.polygon(&plan.ring(&whole[sb])))
                .collect();
            geometry::normalized(geo::unary_union(polys.iter()))
        };
        street_polys.push(geometry.clone());
        d.units.push(Unit {
            code: code.clone(),
            name: format!("{}街道", place(3 * s + 2)),
            level: "street",
            parent: Some(county.clone()),
            kind: Some("urban"),
            geometry,
        });
    }
    d.units[0].geometry = geometry::normalized(geo::unary_union(street_polys.iter()));
    let mut leaf_codes = Vec::new();
    let mut numbered = vec![0usize; streets];
    let mut leaf_geoms = Vec::new();
    for (k, c) in communities.iter().enumerate() {
        numbered[c.street] += 1;
        let code = format!("{}{:03}", &street_codes[c.street][..9], numbered[c.street]);
        let polys: Vec<Polygon> = c
            .faces
            .iter()
            .map(|f| warp.polygon(&plan.ring(f)))
            .collect();
        let geometry = if polys.len() == 1 {
            geometry::normalized(MultiPolygon(polys))
        } else {
            geometry::normalized(geo::unary_union(polys.iter()))
        };
        d.units.push(Unit {
            code: code.clone(),
            name: format!("{}社区", place(5 * k + 3)),
            level: "community",
            parent: Some(street_codes[c.street].clone()),
            kind: None,
            geometry: geometry.clone(),
        });
        leaf_codes.push(code);
        leaf_geoms.push(geometry);
    }
    // Roads: every line, through every node on it.
    let mut names = 0usize;
    for (l, line) in plan.lines.iter().enumerate() {
        let mut on = line.stations.clone();
        on.sort_by(|a, b| a.0.total_cmp(&b.0));
        let pts: Vec<Coord> = on.iter().map(|&(_, n)| plan.nodes[n]).collect();
        if pts.len() < 2 {
            continue;
        }
        names += 1;
        let (name, class, rank) = match line.class {
            Class::Arterial => (format!("{}大道", place(names)), "arterial", 3),
            Class::Branch => (
                format!(
                    "{}{}",
                    place(names + 7),
                    if l % 2 == 0 { "路" } else { "街" }
                ),
                "road",
                2,
            ),
        };
        d.barriers
            .push((name, class, rank, LineString(warp.polyline(&pts))));
    }
    // Compounds, villages, schools, parks, the hospital; their households.
    let gates_on = rng.unit() < 0.5;
    let mut gate_points: std::collections::HashMap<(usize, usize, usize), Coord> =
        Default::default();
    let mut point_leaf: Vec<Option<usize>> = Vec::new();
    let mut n_block = 0usize;
    let mut n_compound = 0usize;
    for slot in &slots {
        let leaf = slot.community;
        let code = &leaf_codes[leaf];
        // Side 0 runs most nearly east: slabs face south.
        let mut face = slot.face.clone();
        let corners = plan.corners(&face);
        let east = (0..4)
            .max_by(|&x, &y| {
                let dx = sub(corners[(x + 1) % 4], corners[x]);
                let dy = sub(corners[(y + 1) % 4], corners[y]);
                (dx.x / dx.x.hypot(dx.y)).total_cmp(&(dy.x / dy.x.hypot(dy.y)))
            })
            .unwrap_or(0);
        face.sides.rotate_left(east);
        let q = plan.inset(&face, rng.range(1.5, 5.0));
        let (w, dd) = (
            ((q[1].x - q[0].x).hypot(q[1].y - q[0].y) + (q[2].x - q[3].x).hypot(q[2].y - q[3].y))
                / 2.0,
            ((q[3].x - q[0].x).hypot(q[3].y - q[0].y) + (q[2].x - q[1].x).hypot(q[2].y - q[1].y))
                / 2.0,
        );
        if w < 60.0 || dd < 60.0 {
            continue;
        }
        let quad = |pts: &[(f64, f64)]| -> MultiPolygon {
            let mut ring: Vec<Coord> = pts.iter().map(|&(a, b)| bilinear(&q, a, b)).collect();
            ring.push(ring[0]);
            MultiPolygon(vec![warp.polygon(&ring)])
        };
        // A block named after a place, or `named`, with `suffix` (小学, 公园…).
        let mut block = |d: &mut District,
                         named: Option<&str>,
                         suffix: &str,
                         kind: &'static str,
                         g: MultiPolygon| {
            n_block += 1;
            let name = format!(
                "{}{suffix}",
                named.map_or_else(|| place(n_block), str::to_string)
            );
            d.blocks
                .push((format!("{code}-K{n_block:04}"), name, kind, g));
        };
        let whole_quad = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        match slot.usage {
            Use::School => block(&mut d, None, "小学", "school", quad(&whole_quad)),
            Use::Park => block(&mut d, None, "公园", "park", quad(&whole_quad)),
            Use::Hospital => block(&mut d, None, "医院", "hospital", quad(&whole_quad)),
            Use::Village => {
                // Some villages have no wall in the blocks layer: land no block covers.
                if rng.unit() < 0.5 {
                    block(&mut d, None, "村", "village", quad(&whole_quad));
                }
                let target = rng.int(800, 3_000);
                let mut placed = 0;
                let mut house = 0;
                while placed < target {
                    house += 1;
                    let (a, b) = (rng.range(0.02, 0.98), rng.range(0.02, 0.98));
                    let pos = warp.at(bilinear(&q, a, b));
                    let size = match rng.unit() {
                        r if r < 0.5 => 1,
                        r if r < 0.8 => 2,
                        _ => 3,
                    };
                    for _ in 0..size {
                        let mut p = people(&mut rng, true);
                        p.pos = pos;
                        p.building = format!("{code}-V{house:04}");
                        d.points.push(p);
                        point_leaf.push(Some(leaf));
                    }
                    placed += size;
                }
            }
            Use::Compound => {
                n_compound += 1;
                let (named, suffix) = (
                    place(n_compound + 11),
                    ["小区", "花园", "新村", "苑"][n_compound % 4],
                );
                let compound = format!("{code}-C{n_compound:03}");
                // A kindergarten in one corner, for some.
                let corner = rng.unit() < 0.2;
                let (ca, cb) = (rng.range(0.22, 0.32), rng.range(0.22, 0.32));
                if corner {
                    let (ga, gb) = (6.0 / w, 6.0 / dd);
                    block(
                        &mut d,
                        None,
                        "幼儿园",
                        "kindergarten",
                        quad(&[
                            (0.0, 0.0),
                            (ca - ga, 0.0),
                            (ca - ga, cb - gb),
                            (0.0, cb - gb),
                        ]),
                    );
                    block(
                        &mut d,
                        Some(&named),
                        suffix,
                        "compound",
                        quad(&[
                            (ca, 0.0),
                            (1.0, 0.0),
                            (1.0, 1.0),
                            (0.0, 1.0),
                            (0.0, cb),
                            (ca, cb),
                        ]),
                    );
                } else {
                    block(&mut d, Some(&named), suffix, "compound", quad(&whole_quad));
                }
                let target = rng.int(COMPOUND_HOUSEHOLDS.0, COMPOUND_HOUSEHOLDS.1);
                let mixed = rng.unit() < 0.25;
                let mut buildings = Vec::new();
                if mixed {
                    buildings.extend(
                        slab_rows(&mut rng, (0.0, 1.0, 0.0, 0.5), (w, dd), target / 2)
                            .unwrap_or_default(),
                    );
                    buildings.extend(towers(&mut rng, (0.0, 1.0, 0.5, 1.0), (w, dd), target / 2));
                } else {
                    match slab_rows(&mut rng, (0.0, 1.0, 0.0, 1.0), (w, dd), target) {
                        Some(rows) if rng.unit() < 0.7 => buildings = rows,
                        _ => buildings = towers(&mut rng, (0.0, 1.0, 0.0, 1.0), (w, dd), target),
                    }
                }
                if corner {
                    buildings.retain(|b| b.a > ca + 0.02 || b.b > cb + 0.02);
                }
                let address = if gates_on && rng.unit() < GATE_SHARE {
                    Address::Gate
                } else if rng.unit() < 0.5 {
                    Address::Building
                } else {
                    Address::Entrance
                };
                let gate = (address == Address::Gate).then(|| {
                    // The gate on a branch road if the compound has one, else on the south side;
                    // compounds facing each other across a branch road share the gate's point on it.
                    let branch =
                        (0..4).find(|&s| plan.lines[face.sides[s].line].class == Class::Branch);
                    match branch {
                        Some(s) => {
                            let side = face.sides[s];
                            let key = (side.line, side.from.min(side.to), side.from.max(side.to));
                            *gate_points.entry(key).or_insert_with(|| {
                                warp.at(lerp(plan.nodes[side.from], plan.nodes[side.to], 0.5))
                            })
                        }
                        None => warp.at(bilinear(&q, 0.5, 1.0 / dd)),
                    }
                });
                for (n, b) in buildings.iter().enumerate() {
                    let centre = warp.at(bilinear(&q, b.a, b.b));
                    for (e, &hh) in b.entrances.iter().enumerate() {
                        let pos = match (address, gate) {
                            (Address::Gate, Some(g)) => g,
                            (Address::Entrance, _) => {
                                let step = b.length / b.entrances.len() as f64;
                                let off = (e as f64 + 0.5) * step - b.length / 2.0;
                                warp.at(bilinear(&q, b.a + off / w, b.b))
                            }
                            _ => centre,
                        };
                        for _ in 0..hh {
                            let mut p = people(&mut rng, true);
                            p.pos = pos;
                            p.building = format!("{compound}-B{:03}", n + 1);
                            p.entrance = Some(e as u32 + 1);
                            d.points.push(p);
                            point_leaf.push((address != Address::Gate).then_some(leaf));
                        }
                    }
                }
            }
        }
    }
    // Shops addressed to the arterials: on the road's land, off its centreline, between nodes.
    let mut shop = 0usize;
    for line in plan.lines.iter().filter(|l| l.class == Class::Arterial) {
        let mut on = line.stations.clone();
        on.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in on.windows(2) {
            if rng.unit() > 0.35 {
                continue;
            }
            let (a, b) = (plan.nodes[pair[0].1], plan.nodes[pair[1].1]);
            for _ in 0..rng.int(3, 25) {
                let t = rng.range(0.1, 0.9);
                let side = if rng.unit() < 0.5 { -1.0 } else { 1.0 };
                let off = side * (line.half_width - 3.0).max(1.0);
                let c = lerp(a, b, t);
                // On the street's side of an arterial along its outline.
                let at = |off: f64| {
                    warp.at(Coord {
                        x: c.x - line.d.y * off,
                        y: c.y + line.d.x * off,
                    })
                };
                let inside = |p: Coord| leaf_geoms.iter().any(|g| geometry::contains(g, p));
                let pos = if inside(at(off)) { at(off) } else { at(-off) };
                if !inside(pos) {
                    continue;
                }
                shop += 1;
                let mut p = people(&mut rng, true);
                p.pos = pos;
                p.building = format!("{}-S{shop:04}", &street_codes[0][..9]);
                d.points.push(p);
                point_leaf.push(None);
            }
        }
    }
    // Where the points whose leaf is not known lie (gates, shops).
    let boxes: Vec<Option<geo::Rect>> = leaf_geoms.iter().map(|g| g.bounding_rect()).collect();
    for (p, leaf) in d.points.iter().zip(point_leaf.iter_mut()) {
        if leaf.is_none() {
            *leaf = (0..leaf_geoms.len()).find(|&l| {
                boxes[l].is_some_and(|r| {
                    p.pos.x >= r.min().x
                        && p.pos.x <= r.max().x
                        && p.pos.y >= r.min().y
                        && p.pos.y <= r.max().y
                }) && geometry::contains(&leaf_geoms[l], p.pos)
            });
        }
    }
    naive_grids_and_workers(&mut rng, &mut d, &leaf_codes, &leaf_geoms, &point_leaf);
    Ok(d)
}

/// A baseline plan (straight cuts between buildings, as for the towns) and full-time workers, per
/// community.
fn naive_grids_and_workers(
    rng: &mut Rng,
    d: &mut District,
    codes: &[String],
    geoms: &[MultiPolygon],
    point_leaf: &[Option<usize>],
) {
    let mut atoms: Vec<std::collections::BTreeMap<&str, (Coord, u64)>> =
        vec![Default::default(); codes.len()];
    for (p, leaf) in d.points.iter().zip(point_leaf) {
        if let Some(l) = *leaf {
            atoms[l].entry(p.building.as_str()).or_insert((p.pos, 0)).1 += 1;
        }
    }
    let mut grids = Vec::new();
    let mut workers = Vec::new();
    for (l, found) in atoms.into_iter().enumerate() {
        let mut list: Vec<(Coord, u64)> = found.into_values().collect();
        let total: u64 = list.iter().map(|a| a.1).sum();
        let k = ((total as f64 / 400.0).round() as usize).max(1);
        let mut out = Vec::new();
        super::cut(geoms[l].clone(), &mut list, k, &mut out, super::Fault::None);
        for (n, g) in out.into_iter().enumerate() {
            grids.push((
                crate::model::IdStyle::Legacy.id(&codes[l], n as u32 + 1),
                codes[l].clone(),
                g,
            ));
        }
        let town = format!("{}000", &codes[l][..9]);
        for n in 0..((k as f64) * 0.85).round() as usize {
            let Some(home) = super::random_inside(rng, &geoms[l], 20.0) else {
                continue;
            };
            workers.push(GenWorker {
                id: format!("W{}-{}-{n:02}", &codes[l][6..9], &codes[l][9..12]),
                kind: "full_time",
                town: town.clone(),
                home,
                exited: n % 17 == 16,
            });
        }
    }
    d.grids = grids;
    d.workers = workers;
}
