//! Partitioning the cell graph into `k` connected parts within the band.
//!
//! 1. **Seeds** by weighted k-means (k-means++ start, a few Lloyd rounds) on the cells' centres, each
//!    cell weighing its households plus a little of its land.
//! 2. **Balanced growth**: the lightest part takes the frontier cell nearest its seed, until every cell
//!    belongs to a part. Parts grow through the graph, so each is connected.
//! 3. **Repair** of the band: boundary cells move to a neighbouring part, and pairs of cells are swapped
//!    between neighbouring parts, whenever that lowers the households outside the band. A part never
//!    loses a cell whose removal would disconnect it.
//! 4. **Local search on shape**: boundary cells move while the band and connectivity hold and the sum
//!    of `P²/A` (the inverse of Polsby–Popper compactness, with parting along barriers made cheaper)
//!    goes down.
//! 5. **Restarts** from other seeds; the best answer (band first, then shape) wins.

use super::graph::Graph;
use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A partition of the cells.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The part of each cell.
    pub part: Vec<usize>,
    /// Households outside the band, summed over the parts.
    pub violation: u64,
    /// Sum over parts of P²/A.
    pub objective: f64,
}

struct State<'g> {
    g: &'g Graph,
    k: usize,
    min: u64,
    max: u64,
    part: Vec<usize>,
    w: Vec<u64>,
    area: Vec<f64>,
    perim: Vec<f64>,
    size: Vec<usize>,
    /// Scratch for connectivity checks.
    mark: Vec<u32>,
    stamp: u32,
    /// Cells visited by the group search in this partition's restarts so far.
    work: u64,
    /// Where this restart's group search stops.
    work_cap: u64,
    /// Whether the caller no longer needs this partition (another search met the band first).
    stop: Stop<'g>,
}

/// Asked between steps of the search: `true` when its result is no longer needed.
pub type Stop<'a> = &'a (dyn Fn() -> bool + Sync);

/// A search nobody stops.
const NEVER: Stop<'static> = &|| false;

/// Cells the group search may visit for one part outside the band, in one restart, and in all the
/// restarts of one partition (bounds on its time).
const PART_WORK: u64 = 3_000_000;
const RESTART_WORK: u64 = 20_000_000;
const CHAIN_WORK: u64 = 60_000_000;

fn dev(w: u64, min: u64, max: u64) -> u64 {
    min.saturating_sub(w) + w.saturating_sub(max)
}

fn shape(p: f64, a: f64) -> f64 {
    if a <= 0.0 { p * p * 1e6 } else { p * p / a }
}

impl<'g> State<'g> {
    fn new(g: &'g Graph, k: usize, min: u64, max: u64, part: Vec<usize>) -> State<'g> {
        let n = g.weight.len();
        let mut s = State {
            g,
            k,
            min,
            max,
            part,
            w: vec![0; k],
            area: vec![0.0; k],
            perim: vec![0.0; k],
            size: vec![0; k],
            mark: vec![0; n],
            stamp: 0,
            work: 0,
            work_cap: RESTART_WORK,
            stop: NEVER,
        };
        for c in 0..n {
            let p = s.part[c];
            s.w[p] += g.weight[c];
            s.area[p] += g.area[c];
            s.size[p] += 1;
            s.perim[p] += g.outer[c];
            for e in &g.adj[c] {
                if s.part[e.to] != p {
                    s.perim[p] += e.cut;
                }
            }
        }
        s
    }

    fn violation(&self) -> u64 {
        self.w.iter().map(|&w| dev(w, self.min, self.max)).sum()
    }

    fn objective(&self) -> f64 {
        (0..self.k)
            .map(|p| shape(self.perim[p], self.area[p]))
            .sum()
    }

    /// The new perimeters of `a` (losing `c`) and `b` (gaining it).
    fn perims_after(&self, c: usize, a: usize, b: usize) -> (f64, f64) {
        let (mut to_a, mut to_b, mut total) = (0.0, 0.0, 0.0);
        for e in &self.g.adj[c] {
            total += e.cut;
            let p = self.part[e.to];
            if p == a {
                to_a += e.cut;
            } else if p == b {
                to_b += e.cut;
            }
        }
        let outer = self.g.outer[c];
        (
            self.perim[a] - outer - (total - to_a) + to_a,
            self.perim[b] + outer + (total - to_b) - to_b,
        )
    }

    fn delta_objective(&self, c: usize, a: usize, b: usize) -> f64 {
        let (pa, pb) = self.perims_after(c, a, b);
        let ar = self.g.area[c];
        shape(pa, self.area[a] - ar) + shape(pb, self.area[b] + ar)
            - shape(self.perim[a], self.area[a])
            - shape(self.perim[b], self.area[b])
    }

    fn delta_violation(&self, c: usize, a: usize, b: usize) -> i64 {
        let wc = self.g.weight[c];
        let (min, max) = (self.min, self.max);
        (dev(self.w[a] - wc, min, max) + dev(self.w[b] + wc, min, max)) as i64
            - (dev(self.w[a], min, max) + dev(self.w[b], min, max)) as i64
    }

    /// Whether part `a` stays connected (and non-empty) without cell `c`.
    fn stays_connected(&mut self, c: usize, a: usize) -> bool {
        if self.size[a] <= 1 {
            return false;
        }
        let g = self.g;
        let neighbours: Vec<usize> = g.adj[c]
            .iter()
            .map(|e| e.to)
            .filter(|&t| self.part[t] == a && t != c)
            .collect();
        if neighbours.len() <= 1 {
            return !neighbours.is_empty();
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        self.mark[c] = stamp;
        let start = neighbours[0];
        self.mark[start] = stamp;
        let mut stack = vec![start];
        let mut reached = 1;
        let mut found = 1;
        while let Some(u) = stack.pop() {
            for e in &g.adj[u] {
                let t = e.to;
                if self.part[t] == a && self.mark[t] != stamp {
                    self.mark[t] = stamp;
                    reached += 1;
                    if neighbours.contains(&t) {
                        found += 1;
                        if found == neighbours.len() {
                            return true;
                        }
                    }
                    stack.push(t);
                }
            }
        }
        reached == self.size[a] - 1
    }

    fn apply(&mut self, c: usize, a: usize, b: usize) {
        let (pa, pb) = self.perims_after(c, a, b);
        let wc = self.g.weight[c];
        let ar = self.g.area[c];
        self.perim[a] = pa;
        self.perim[b] = pb;
        self.w[a] -= wc;
        self.w[b] += wc;
        self.area[a] -= ar;
        self.area[b] += ar;
        self.size[a] -= 1;
        self.size[b] += 1;
        self.part[c] = b;
    }

    /// Parts next to cell `c` other than its own.
    fn neighbour_parts(&self, c: usize) -> Vec<usize> {
        let a = self.part[c];
        let mut out: Vec<usize> = self.g.adj[c]
            .iter()
            .map(|e| self.part[e.to])
            .filter(|&p| p != a)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Moves and swaps of single cells that lower the households outside the band, until none does;
    /// then, with `chains`, moves of connected groups of cells along chains of parts
    /// ([`State::chains`]).
    fn repair(&mut self, chains: bool) {
        let n = self.g.weight.len();
        for _ in 0..400 {
            if self.violation() == 0 || (self.stop)() {
                return;
            }
            let mut improved = false;
            for c in 0..n {
                let a = self.part[c];
                for b in self.neighbour_parts(c) {
                    let dv = self.delta_violation(c, a, b);
                    if dv < 0 && self.stays_connected(c, a) {
                        self.apply(c, a, b);
                        improved = true;
                        break;
                    }
                }
            }
            if !(improved || self.swap() || (chains && self.chains())) {
                return;
            }
        }
    }

    /// The cells of part `p`, in order.
    fn cells_of(&self, p: usize) -> Vec<usize> {
        (0..self.part.len())
            .filter(|&c| self.part[c] == p)
            .collect()
    }

    /// Whether the cells of `cells` still in part `q` are connected and at least one is left.
    fn rest_connected(&mut self, q: usize, cells: &[usize]) -> bool {
        let left = cells.iter().filter(|&&c| self.part[c] == q).count();
        let Some(&start) = cells.iter().find(|&&c| self.part[c] == q) else {
            return false;
        };
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        self.mark[start] = stamp;
        let mut stack = vec![start];
        let mut reached = 1;
        self.work += cells.len() as u64;
        while let Some(u) = stack.pop() {
            for e in &self.g.adj[u] {
                if self.part[e.to] == q && self.mark[e.to] != stamp {
                    self.mark[e.to] = stamp;
                    reached += 1;
                    stack.push(e.to);
                }
            }
        }
        reached == left
    }

    /// Connected groups of cells of part `from` touching part `to`, weighing `lo..=hi` households,
    /// whose removal leaves `from` connected: from every cell of `from` on the border, the group grows
    /// cell by cell, either compactly (nearest the first cell) or along the border (the cell with the
    /// most boundary on `to` and the group), and each of its prefixes in the range is a candidate.
    ///
    /// At most two groups of each kind are kept per start: weighing at most `fit` (which would leave
    /// the other part in the band) and above it.
    fn groups(&mut self, from: usize, to: usize, lo: u64, hi: u64, fit: u64) -> Vec<Vec<usize>> {
        const PARKED: usize = usize::MAX;
        const MAX_CELLS: usize = 48;
        let g = self.g;
        let from_cells = self.cells_of(from);
        let border: Vec<usize> = from_cells
            .iter()
            .copied()
            .filter(|&c| g.adj[c].iter().any(|e| self.part[e.to] == to))
            .collect();
        let mut out: Vec<Vec<usize>> = Vec::new();
        // Groups already seen, by the exclusive-or of their cells' hashes (and their size).
        let mut seen: rustc_hash::FxHashSet<(u64, usize)> = Default::default();
        let hash = |c: usize| Rng::new(c as u64).next_u64();
        for &c in &border {
            for hug in [false, true] {
                let mut group = vec![c];
                let mut key = hash(c);
                let mut weight = g.weight[c];
                self.part[c] = PARKED;
                let mut frontier: Vec<usize> = Vec::new();
                let mut kept = [0usize; 2];
                loop {
                    let kind = usize::from(weight > fit);
                    if weight >= lo
                        && weight <= hi
                        && kept[kind] < 2
                        && group.len() < from_cells.len()
                        && seen.insert((key, group.len()))
                        && self.rest_connected(from, &from_cells)
                    {
                        out.push(group.clone());
                        kept[kind] += 1;
                    }
                    if weight > hi || group.len() >= MAX_CELLS || kept == [2, 2] {
                        break;
                    }
                    let last = group[group.len() - 1];
                    for e in &g.adj[last] {
                        if self.part[e.to] == from && !frontier.contains(&e.to) {
                            frontier.push(e.to);
                        }
                    }
                    frontier.retain(|&f| self.part[f] == from);
                    let origin = g.centroid[c];
                    let d2 = |f: usize| {
                        let p = g.centroid[f];
                        (p.x - origin.x).powi(2) + (p.y - origin.y).powi(2)
                    };
                    let score = |f: usize| -> f64 {
                        if hug {
                            -g.adj[f]
                                .iter()
                                .filter(|e| {
                                    let p = self.part[e.to];
                                    p == to || p == PARKED
                                })
                                .map(|e| e.len.max(1e-3))
                                .sum::<f64>()
                        } else {
                            d2(f)
                        }
                    };
                    let Some(next) = frontier
                        .iter()
                        .copied()
                        .min_by(|&a, &b| score(a).total_cmp(&score(b)).then(a.cmp(&b)))
                    else {
                        break;
                    };
                    self.part[next] = PARKED;
                    self.work += frontier.len() as u64 + 1;
                    key ^= hash(next);
                    group.push(next);
                    weight += g.weight[next];
                }
                for &x in &group {
                    self.part[x] = from;
                }
            }
        }
        out
    }

    /// Moves the cells of `group` from `from` to `to`.
    fn move_group(&mut self, group: &[usize], from: usize, to: usize) {
        for &c in group {
            self.apply(c, from, to);
        }
    }

    /// Ejection chains: for each part outside the band, a connected group of cells crosses to or from
    /// a neighbouring part, which, pushed out of the band, passes a group on to a part of its own
    /// (never back along the chain unless that part stays in the band), until every part on the chain
    /// is in the band. Shorter chains are tried first (iterative deepening, up to six parts passing
    /// cells on). Applied when found; true when some part was brought into the band.
    fn chains(&mut self) -> bool {
        let mut improved = false;
        for p in 0..self.k {
            if dev(self.w[p], self.min, self.max) == 0 || self.work > self.work_cap {
                continue;
            }
            if (self.stop)() {
                break;
            }
            let before = self.violation();
            let limit = (self.work + PART_WORK).min(self.work_cap);
            for depth in 0..=6 {
                let saved = (self.part.clone(), self.perim.clone());
                let mut on_chain = vec![p];
                if self.chain(p, depth, &mut on_chain, limit) {
                    if self.violation() < before {
                        improved = true;
                    } else {
                        self.restore(saved);
                    }
                    break;
                }
                if self.work > limit {
                    break;
                }
            }
        }
        improved
    }

    /// Puts back a saved assignment (and its perimeters), recounting the rest.
    fn restore(&mut self, (part, perim): (Vec<usize>, Vec<f64>)) {
        let fresh = State::new(self.g, self.k, self.min, self.max, part);
        self.part = fresh.part;
        self.w = fresh.w;
        self.area = fresh.area;
        self.size = fresh.size;
        self.perim = perim;
    }

    /// One step of an ejection chain from part `p` (outside the band); see [`State::chains`].
    fn chain(&mut self, p: usize, depth: usize, on_chain: &mut Vec<usize>, limit: u64) -> bool {
        let (min, max) = (self.min, self.max);
        let w = self.w[p];
        let pull = w < min;
        let (lo, hi) = if pull {
            (min - w, max - w)
        } else {
            (w - max, w - min)
        };
        // Neighbouring parts, the roomiest first.
        let mut qs: Vec<usize> = {
            let mut v: Vec<usize> = (0..self.part.len())
                .filter(|&c| self.part[c] == p)
                .flat_map(|c| self.g.adj[c].iter().map(|e| e.to))
                .map(|t| self.part[t])
                .filter(|&q| q != p)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let room = |wq: u64| -> i64 {
            if pull {
                wq as i64 - min as i64
            } else {
                max as i64 - wq as i64
            }
        };
        qs.sort_by_key(|&q| (Reverse(room(self.w[q])), q));
        for q in qs {
            if self.work > limit {
                return false;
            }
            let back = on_chain.contains(&q);
            let (from, to) = if pull { (q, p) } else { (p, q) };
            let fit = if pull {
                self.w[q].saturating_sub(min)
            } else {
                max.saturating_sub(self.w[q])
            };
            let mut cands: Vec<(bool, (u64, u64), Vec<usize>)> = self
                .groups(from, to, lo, hi, fit)
                .into_iter()
                .map(|grp| {
                    let gw: u64 = grp.iter().map(|&c| self.g.weight[c]).sum();
                    let wq = if pull { self.w[q] - gw } else { self.w[q] + gw };
                    let terminal = dev(wq, min, max) == 0;
                    // A group that ends the chain: the fewest cells. One that does not: the fewest
                    // households, so the next part has the least to pass on.
                    let key = if terminal {
                        (grp.len() as u64, gw)
                    } else {
                        (gw, grp.len() as u64)
                    };
                    (!terminal, key, grp)
                })
                .filter(|c| !(back && c.0))
                .collect();
            cands.sort_by_key(|c| (c.0, c.1));
            cands.truncate(if depth == 0 { 12 } else { 4 });
            for (open, _, grp) in cands {
                if self.work > limit {
                    return false;
                }
                let saved = (self.perim[from], self.perim[to]);
                self.move_group(&grp, from, to);
                if !open {
                    return true;
                }
                if depth > 0 && !back {
                    on_chain.push(q);
                    if self.chain(q, depth - 1, on_chain, limit) {
                        return true;
                    }
                    on_chain.pop();
                }
                for &c in grp.iter().rev() {
                    self.apply(c, to, from);
                }
                self.perim[from] = saved.0;
                self.perim[to] = saved.1;
            }
        }
        false
    }

    /// One swap of two cells between neighbouring parts that lowers the violation; false when none.
    fn swap(&mut self) -> bool {
        let n = self.g.weight.len();
        let before = self.violation();
        for c in 0..n {
            let a = self.part[c];
            for b in self.neighbour_parts(c) {
                // Cells of b next to a (d may be anywhere on the a–b border).
                let ds: Vec<usize> = (0..n)
                    .filter(|&d| {
                        self.part[d] == b && self.g.adj[d].iter().any(|e| self.part[e.to] == a)
                    })
                    .collect();
                for d in ds {
                    let (wc, wd) = (self.g.weight[c], self.g.weight[d]);
                    if wc == wd {
                        continue;
                    }
                    let wa = self.w[a] - wc + wd;
                    let wb = self.w[b] + wc - wd;
                    let gain =
                        dev(self.w[a], self.min, self.max) + dev(self.w[b], self.min, self.max);
                    if dev(wa, self.min, self.max) + dev(wb, self.min, self.max) >= gain {
                        continue;
                    }
                    if !self.stays_connected(c, a) {
                        break;
                    }
                    self.apply(c, a, b);
                    if self.part[d] == b
                        && self.g.adj[d].iter().any(|e| self.part[e.to] == a)
                        && self.stays_connected(d, b)
                    {
                        self.apply(d, b, a);
                        if self.violation() < before {
                            return true;
                        }
                        self.apply(d, a, b);
                    }
                    self.apply(c, b, a);
                }
            }
        }
        false
    }

    /// Moves that keep the band (or do not worsen it) and connectivity and lower the shape objective.
    fn improve_shape(&mut self, passes: usize) {
        let n = self.g.weight.len();
        for _ in 0..passes {
            let mut moved = 0;
            let total = self.objective();
            for c in 0..n {
                let a = self.part[c];
                let mut best: Option<(f64, usize)> = None;
                for b in self.neighbour_parts(c) {
                    if self.delta_violation(c, a, b) > 0 {
                        continue;
                    }
                    let d = self.delta_objective(c, a, b);
                    if d < -1e-9 * total.max(1.0) && best.is_none_or(|x| d < x.0) {
                        best = Some((d, b));
                    }
                }
                if let Some((_, b)) = best
                    && self.stays_connected(c, a)
                {
                    self.apply(c, a, b);
                    moved += 1;
                }
            }
            if moved == 0 {
                return;
            }
        }
    }
}

/// Seeds: weighted k-means (k-means++ start, Lloyd rounds) on the cells' centres.
fn seeds(g: &Graph, k: usize, rng: &mut Rng) -> Vec<usize> {
    let n = g.weight.len();
    let total_w: f64 = g.weight.iter().sum::<u64>() as f64;
    let total_a: f64 = g.area.iter().sum::<f64>().max(1e-9);
    let mass: Vec<f64> = (0..n)
        .map(|c| g.weight[c] as f64 + 0.15 * total_w.max(1.0) * g.area[c] / total_a)
        .collect();
    let d2 = |a: geo::Coord, b: geo::Coord| (a.x - b.x).powi(2) + (a.y - b.y).powi(2);
    let mut centres: Vec<geo::Coord> = Vec::with_capacity(k);
    let pick = |weights: &[f64], rng: &mut Rng| -> usize {
        let sum: f64 = weights.iter().sum();
        if sum <= 0.0 {
            return (rng.next_u64() % n as u64) as usize;
        }
        let mut x = rng.unit() * sum;
        for (i, &w) in weights.iter().enumerate() {
            x -= w;
            if x <= 0.0 {
                return i;
            }
        }
        n - 1
    };
    centres.push(g.centroid[pick(&mass, rng)]);
    while centres.len() < k {
        let weights: Vec<f64> = (0..n)
            .map(|c| {
                mass[c]
                    * centres
                        .iter()
                        .map(|&z| d2(g.centroid[c], z))
                        .fold(f64::INFINITY, f64::min)
            })
            .collect();
        centres.push(g.centroid[pick(&weights, rng)]);
    }
    for _ in 0..6 {
        let mut sum = vec![(0.0, 0.0, 0.0); k];
        #[allow(clippy::needless_range_loop)]
        for c in 0..n {
            let j = (0..k)
                .min_by(|&x, &y| {
                    d2(g.centroid[c], centres[x]).total_cmp(&d2(g.centroid[c], centres[y]))
                })
                .unwrap_or(0);
            sum[j].0 += mass[c] * g.centroid[c].x;
            sum[j].1 += mass[c] * g.centroid[c].y;
            sum[j].2 += mass[c];
        }
        for j in 0..k {
            if sum[j].2 > 0.0 {
                centres[j] = geo::Coord {
                    x: sum[j].0 / sum[j].2,
                    y: sum[j].1 / sum[j].2,
                };
            }
        }
    }
    // The nearest distinct cell to each centre.
    let mut taken = vec![false; n];
    let mut out = Vec::with_capacity(k);
    for z in centres {
        let best = (0..n)
            .filter(|&c| !taken[c])
            .min_by(|&x, &y| d2(g.centroid[x], z).total_cmp(&d2(g.centroid[y], z)));
        if let Some(c) = best {
            taken[c] = true;
            out.push(c);
        }
    }
    out
}

/// Balanced growth from the seeds: the lightest part with a frontier takes its frontier cell nearest
/// its seed.
fn grow(g: &Graph, seeds: &[usize]) -> Vec<usize> {
    let n = g.weight.len();
    let k = seeds.len();
    let mut part = vec![usize::MAX; n];
    let mut w = vec![0u64; k];
    let mut heaps: Vec<BinaryHeap<(Reverse<u64>, usize)>> = vec![BinaryHeap::new(); k];
    let dist = |c: usize, s: usize| {
        let (a, b) = (g.centroid[c], g.centroid[seeds[s]]);
        // Millimetres, as an integer key.
        ((a.x - b.x).hypot(a.y - b.y) * 1000.0) as u64
    };
    for (p, &s) in seeds.iter().enumerate() {
        part[s] = p;
        w[p] += g.weight[s];
        for e in &g.adj[s] {
            heaps[p].push((Reverse(dist(e.to, p)), e.to));
        }
    }
    let mut left = n - seeds.len();
    while left > 0 {
        // The lightest part that can still grow.
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by_key(|&p| (w[p], p));
        let mut grew = false;
        for p in order {
            while let Some(&(_, c)) = heaps[p].peek() {
                if part[c] == usize::MAX {
                    break;
                }
                heaps[p].pop();
            }
            let Some((_, c)) = heaps[p].pop() else {
                continue;
            };
            part[c] = p;
            w[p] += g.weight[c];
            left -= 1;
            for e in &g.adj[c] {
                if part[e.to] == usize::MAX {
                    heaps[p].push((Reverse(dist(e.to, p)), e.to));
                }
            }
            grew = true;
            break;
        }
        if !grew {
            break;
        }
    }
    // Cells no part reached (cannot happen in a connected graph): the first part.
    for p in part.iter_mut() {
        if *p == usize::MAX {
            *p = 0;
        }
    }
    part
}

/// Cells and edges the spanning-tree search may visit in one start, and in all the starts of one
/// partition. What each visit costs besides is bounded by it: the scan of a tree's cuts (cells ×
/// grids), and at most [`CUTS_TRIED`] weight checks per tree (for two grids a table of subset sums as
/// long as the side's households): some ten times the visits counted at most.
const TREE_WORK: u64 = 4_000_000;
const TREES_WORK: u64 = 12_000_000;
/// Trees drawn for one set of cells before its split is given up (its parent then draws again).
const TREE_TRIES: usize = 12;
/// Cuts of one tree tried before another tree is drawn.
const CUTS_TRIED: usize = 6;

/// A start drawn by recursive bisection on random spanning trees (the way GerryChain draws whole
/// plans): a random spanning tree of the cells is cut at an edge whose two sides can each hold a
/// whole number of grids within the band (`k₁·min ≤ w ≤ k₁·max`), and each side, connected because it
/// is a subtree, is split again the same way until every part holds one grid. Unlike growth from
/// seeds, it does not settle on where the parts sit before it knows the weights fit: on leaves whose
/// households sit in a few heavy cells (tight clusters of towers), it finds the groupings that
/// moving cells one by one cannot reach. Bounded by `cap` cells visited; `None` when no split was
/// found within it.
struct TreeSplit<'g> {
    g: &'g Graph,
    min: u64,
    max: u64,
    part: Vec<usize>,
    next: usize,
    /// Each cell's index in the set being split (`u32::MAX` outside it).
    local: Vec<u32>,
    work: u64,
    cap: u64,
    rng: Rng,
    stop: Stop<'g>,
}

impl TreeSplit<'_> {
    /// Splits the connected `cells` into `k` parts within the band.
    fn split(&mut self, cells: &[usize], k: usize) -> bool {
        let total: u64 = cells.iter().map(|&c| self.g.weight[c]).sum();
        if total < k as u64 * self.min || total > k as u64 * self.max {
            return false;
        }
        if k == 1 {
            for &c in cells {
                self.part[c] = self.next;
            }
            self.next += 1;
            return true;
        }
        for _ in 0..TREE_TRIES {
            if self.work > self.cap || (self.stop)() {
                return false;
            }
            let Some((a, b, ka)) = self.bisect(cells, k, total) else {
                continue;
            };
            let next = self.next;
            if self.split(&a, ka) && self.split(&b, k - ka) {
                return true;
            }
            self.next = next;
        }
        false
    }

    /// One random spanning tree of `cells` cut where both sides can hold their grids: the two sides
    /// and the grids of the first.
    fn bisect(
        &mut self,
        cells: &[usize],
        k: usize,
        total: u64,
    ) -> Option<(Vec<usize>, Vec<usize>, usize)> {
        let g = self.g;
        let n = cells.len();
        for (i, &c) in cells.iter().enumerate() {
            self.local[c] = i as u32;
        }
        // Kruskal on random keys.
        let mut edges: Vec<(u64, u32, u32)> = Vec::with_capacity(3 * n);
        for (i, &c) in cells.iter().enumerate() {
            for e in &g.adj[c] {
                let j = self.local[e.to];
                if j != u32::MAX && (j as usize) > i {
                    edges.push((self.rng.next_u64(), i as u32, j));
                }
            }
        }
        self.work += (n + edges.len()) as u64;
        edges.sort_unstable_by_key(|e| e.0);
        let mut root: Vec<u32> = (0..n as u32).collect();
        fn find(root: &mut [u32], mut x: u32) -> u32 {
            while root[x as usize] != x {
                root[x as usize] = root[root[x as usize] as usize];
                x = root[x as usize];
            }
            x
        }
        let mut tree: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut joined = 0;
        for &(_, a, b) in &edges {
            let (ra, rb) = (find(&mut root, a), find(&mut root, b));
            if ra != rb {
                root[ra as usize] = rb;
                tree[a as usize].push(b);
                tree[b as usize].push(a);
                joined += 1;
            }
        }
        for &c in cells {
            self.local[c] = u32::MAX;
        }
        if joined + 1 != n {
            return None; // not connected: no tree spans it
        }
        // Preorder from a random root, with each node's parent; subtree weights from the leaves up.
        let start = (self.rng.next_u64() % n as u64) as u32;
        let mut parent = vec![u32::MAX; n];
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![start];
        parent[start as usize] = start;
        while let Some(v) = stack.pop() {
            order.push(v);
            for &u in &tree[v as usize] {
                if parent[u as usize] == u32::MAX {
                    parent[u as usize] = v;
                    stack.push(u);
                }
            }
        }
        let mut sub: Vec<u64> = cells.iter().map(|&c| g.weight[c]).collect();
        for &v in order.iter().rev() {
            let p = parent[v as usize];
            if p != v {
                sub[p as usize] += sub[v as usize];
            }
        }
        let (min, max) = (self.min, self.max);
        let fits = |w: u64, k: usize| w >= k as u64 * min && w <= k as u64 * max;
        let mut cuts: Vec<(u32, usize)> = Vec::new();
        for &v in &order[1..] {
            let w = sub[v as usize];
            for ka in 1..k {
                if fits(w, ka) && fits(total - w, k - ka) {
                    cuts.push((v, ka));
                }
            }
        }
        // A few of the cuts, at random, until one leaves both sides weights that can be grouped
        // into their grids at all (exact for one and two grids).
        let mut inside = vec![false; n];
        for _ in 0..CUTS_TRIED.min(cuts.len()) {
            let pick = (self.rng.next_u64() % cuts.len() as u64) as usize;
            let (cut, ka) = cuts.swap_remove(pick);
            // The subtree under `cut`: in preorder, a node is in it when its parent is.
            inside.fill(false);
            inside[cut as usize] = true;
            let (mut a, mut b) = (Vec::new(), Vec::new());
            for &v in &order {
                if v != cut && v != start && inside[parent[v as usize] as usize] {
                    inside[v as usize] = true;
                }
                if inside[v as usize] {
                    a.push(cells[v as usize]);
                } else {
                    b.push(cells[v as usize]);
                }
            }
            self.work += n as u64;
            if self.can_group(&a, ka) && self.can_group(&b, k - ka) {
                return Some((a, b, ka));
            }
        }
        None
    }

    /// Whether the households of `cells` could form `k` grids within the band, ignoring where the
    /// cells lie (`false` only when provably not).
    fn can_group(&self, cells: &[usize], k: usize) -> bool {
        let weights: Vec<u64> = cells
            .iter()
            .map(|&c| self.g.weight[c])
            .filter(|&w| w > 0)
            .collect();
        whole_cells_can_meet(&weights, k, self.min, self.max) != Some(false)
    }
}

/// A start for [`partition_using`] by [`TreeSplit`], within `cap` cells visited (added to `work`).
fn tree_start(
    g: &Graph,
    k: usize,
    (min, max): (u64, u64),
    rng: &mut Rng,
    (work, cap): (&mut u64, u64),
    stop: Stop,
) -> Option<Vec<usize>> {
    let n = g.weight.len();
    let mut t = TreeSplit {
        g,
        min,
        max,
        part: vec![0; n],
        next: 0,
        local: vec![u32::MAX; n],
        work: 0,
        cap,
        rng: Rng::new(rng.next_u64()),
        stop,
    };
    let all: Vec<usize> = (0..n).collect();
    let found = t.split(&all, k);
    *work += t.work;
    found.then_some(t.part)
}

/// Partitions the graph into `k` connected parts, each within `[min, max]` households when it can.
///
/// First with single-cell moves and swaps only (they meet the band in almost every leaf, cheaply);
/// where they do not, again from the same seeds with ejection chains as well (their search is far
/// costlier), keeping the better of the two.
pub fn partition(g: &Graph, k: usize, min: u64, max: u64, seed: u64) -> Solution {
    partition_by(g, k, min, max, seed, Search::MovesThenChains)
}

/// How the band repair searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    /// Single-cell moves and swaps only.
    Moves,
    /// Moves and swaps from starts drawn on random spanning trees ([`TreeSplit`]) instead of grown
    /// from seeds.
    Trees,
    /// Moves, swaps and ejection chains in every restart.
    Chains,
    /// [`Search::Moves`]; where they miss the band, [`Search::Trees`], then [`Search::Chains`] (the
    /// best kept).
    MovesThenChains,
}

/// [`partition`] with the search named.
pub fn partition_by(
    g: &Graph,
    k: usize,
    min: u64,
    max: u64,
    seed: u64,
    search: Search,
) -> Solution {
    partition_until(g, k, min, max, seed, search, NEVER)
}

/// [`partition_by`], given up (with whatever it holds then) as soon as `stop` says so.
pub fn partition_until(
    g: &Graph,
    k: usize,
    min: u64,
    max: u64,
    seed: u64,
    search: Search,
    stop: Stop,
) -> Solution {
    if search != Search::MovesThenChains {
        return partition_using(g, k, min, max, seed, search, stop);
    }
    let mut best = partition_using(g, k, min, max, seed, Search::Moves, stop);
    for next in [Search::Trees, Search::Chains] {
        if best.violation == 0 {
            break;
        }
        let other = partition_using(g, k, min, max, seed, next, stop);
        if (other.violation, other.objective) < (best.violation, best.objective) {
            best = other;
        }
    }
    best
}

/// [`partition`] by one [`Search`] (not [`Search::MovesThenChains`]): starts grown from seeds or
/// drawn on spanning trees, and the band repair's moves of single cells, or of groups (`Chains`).
fn partition_using(
    g: &Graph,
    k: usize,
    min: u64,
    max: u64,
    seed: u64,
    search: Search,
    stop: Stop,
) -> Solution {
    let chains = search == Search::Chains;
    let trees = search == Search::Trees;
    let n = g.weight.len();
    let k = k.min(n).max(1);
    if k == 1 || n == 0 {
        let part = vec![0; n];
        let s = State::new(g, 1, min, max, part.clone());
        return Solution {
            violation: s.violation(),
            objective: s.objective(),
            part,
        };
    }
    let restarts = if n <= 300 {
        8
    } else if n <= 2_000 {
        4
    } else {
        2
    };
    let mut rng = Rng::new(seed);
    let mut best: Option<Solution> = None;
    // Chains of group moves only where the band can be met by whole cells at all; their search
    // shares one bound over all restarts.
    let total: u64 = g.weight.iter().sum();
    let chains = chains
        && total >= k as u64 * min
        && total <= k as u64 * max
        && g.weight.iter().all(|&w| w <= max);
    let mut chain_work = 0;
    let mut tree_work = 0;
    let whole_cells_fit =
        !trees || whole_cells_can_meet_exactly(&g.weight, k, min, max) != Some(false);
    // Up to four times the restarts while the band is still missed.
    for r in 0..4 * restarts {
        if (r >= restarts && best.as_ref().is_some_and(|b| b.violation == 0)) || stop() {
            break;
        }
        let (kk, part) = if trees {
            // Only where whole cells can meet the band at all (a tree split would search in vain).
            if tree_work >= TREES_WORK || !whole_cells_fit {
                break;
            }
            let cap = TREE_WORK.min(TREES_WORK - tree_work);
            match tree_start(g, k, (min, max), &mut rng, (&mut tree_work, cap), stop) {
                Some(part) => (k, part),
                None => continue,
            }
        } else {
            let s = seeds(g, k, &mut rng);
            (s.len(), grow(g, &s))
        };
        let mut st = State::new(g, kk, min, max, part);
        st.stop = stop;
        st.work = chain_work;
        st.work_cap = (chain_work + RESTART_WORK).min(CHAIN_WORK);
        st.repair(chains);
        st.improve_shape(60);
        st.repair(chains);
        chain_work = st.work;
        let sol = Solution {
            violation: st.violation(),
            objective: st.objective(),
            part: st.part,
        };
        let better = best
            .as_ref()
            .is_none_or(|b| (sol.violation, sol.objective) < (b.violation, b.objective));
        if better {
            best = Some(sol);
        }
        if r + 1 >= restarts.min(3) && best.as_ref().is_some_and(|b| b.violation == 0) {
            break;
        }
    }
    best.unwrap_or(Solution {
        part: vec![0; n],
        violation: u64::MAX,
        objective: f64::INFINITY,
    })
}

/// [`whole_cells_can_meet`], decided exactly for three groups as well where it was left open (a
/// table of the sums two groups can hold, `(max + 1)²` entries per weight, for bands up to 600 and
/// up to 200 heavy cells): the cost of a proof, paid only for a leaf that misses the band (and once
/// before its tree starts), never inside the search.
pub fn whole_cells_can_meet_exactly(weights: &[u64], k: usize, min: u64, max: u64) -> Option<bool> {
    let cheap = whole_cells_can_meet(weights, k, min, max);
    let heavy: Vec<usize> = weights
        .iter()
        .filter(|&&w| w > 0)
        .map(|&w| w as usize)
        .collect();
    // At most (601² / 2) × 200 ≈ 36 million steps.
    if cheap.is_some() || k != 3 || max > 600 || heavy.len() > 200 {
        return cheap;
    }
    let total: usize = heavy.iter().sum();
    let (lo, hi) = (min as usize, max as usize);
    let m = hi + 1;
    // reach[a * m + b]: the weights so far can be split with `a` in the first group, `b` in the
    // second (a ≥ b, the groups being alike) and the rest in the third, none over the maximum.
    let mut reach = vec![false; m * m];
    let mut next = vec![false; m * m];
    reach[0] = true;
    let mut placed = 0;
    for w in heavy {
        next.fill(false);
        // No group holds more than was placed so far.
        for a in 0..=placed.min(hi) {
            for b in 0..=a.min(placed - a) {
                if !reach[a * m + b] {
                    continue;
                }
                let c = placed - a - b;
                let mut put = |x: usize, y: usize| {
                    let (x, y) = (x.max(y), x.min(y));
                    next[x * m + y] = true;
                };
                if a + w <= hi {
                    put(a + w, b);
                }
                if b + w <= hi {
                    put(a, b + w);
                }
                if c + w <= hi {
                    put(a, b);
                }
            }
        }
        placed += w;
        std::mem::swap(&mut reach, &mut next);
    }
    let met =
        (lo..m).any(|a| (lo..=a).any(|b| reach[a * m + b] && (lo..=hi).contains(&(total - a - b))));
    Some(met)
}

/// Whether whole cells of these weights can form `k` groups each within `[min, max]`, ignoring where
/// the cells lie: `Some(false)` when provably not, `Some(true)` when a grouping was found, `None` when
/// neither could be shown. Groups of consecutive weights in every order of a greedy search are tried,
/// and for two groups the subset sums are enumerated exactly.
pub fn whole_cells_can_meet(weights: &[u64], k: usize, min: u64, max: u64) -> Option<bool> {
    let total: u64 = weights.iter().sum();
    if k == 0 || total < k as u64 * min || total > k as u64 * max {
        return Some(false);
    }
    if weights.iter().any(|&w| w > max) {
        return Some(false);
    }
    if k == 1 {
        return Some(true);
    }
    if k == 2 && total <= 1_000_000 {
        let lo = min.max(total.saturating_sub(max));
        let hi = max.min(total - min);
        let mut reach = vec![false; total as usize + 1];
        reach[0] = true;
        for &w in weights.iter().filter(|&&w| w > 0) {
            let w = w as usize;
            for s in (w..reach.len()).rev() {
                if reach[s - w] {
                    reach[s] = true;
                }
            }
        }
        return Some((lo..=hi).any(|s| reach[s as usize]));
    }
    // Greedy: heaviest first into the group furthest below the mean.
    let mut sorted: Vec<u64> = weights.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut groups = vec![0u64; k];
    for w in sorted {
        if let Some(g) = groups.iter_mut().min() {
            *g += w;
        }
    }
    if groups.iter().all(|&g| g >= min && g <= max) {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::partition::cells::graph::{Edge, Graph};

    /// A `w × h` lattice of unit cells with the given weights (row-major).
    fn lattice(w: usize, h: usize, weight: impl Fn(usize, usize) -> u64) -> Graph {
        lattice_where(w, h, |_, _| true, weight).0
    }

    /// The unit squares `(x, y)` of a `w × h` lattice where `keep` holds (a leaf of any shape), and
    /// the cell of each kept square.
    fn lattice_where(
        w: usize,
        h: usize,
        keep: impl Fn(usize, usize) -> bool,
        weight: impl Fn(usize, usize) -> u64,
    ) -> (Graph, Vec<Option<usize>>) {
        let mut id = vec![None; w * h];
        let mut n = 0;
        for y in 0..h {
            for x in 0..w {
                if keep(x, y) {
                    id[y * w + x] = Some(n);
                    n += 1;
                }
            }
        }
        let mut g = Graph {
            weight: vec![0; n],
            area: vec![1.0; n],
            centroid: vec![geo::Coord { x: 0.0, y: 0.0 }; n],
            outer: vec![0.0; n],
            adj: vec![Vec::new(); n],
        };
        for y in 0..h {
            for x in 0..w {
                let Some(c) = id[y * w + x] else { continue };
                g.weight[c] = weight(x, y);
                g.centroid[c] = geo::Coord {
                    x: x as f64 + 0.5,
                    y: y as f64 + 0.5,
                };
                let mut deg = 0;
                for (dx, dy) in [(1i64, 0i64), (-1, 0), (0, 1), (0, -1)] {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx >= 0
                        && ny >= 0
                        && (nx as usize) < w
                        && (ny as usize) < h
                        && let Some(t) = id[ny as usize * w + nx as usize]
                    {
                        g.adj[c].push(Edge {
                            to: t,
                            len: 1.0,
                            cut: 1.0,
                        });
                        deg += 1;
                    }
                }
                g.outer[c] = (4 - deg) as f64;
            }
        }
        (g, id)
    }

    fn connected(g: &Graph, part: &[usize], p: usize) -> bool {
        let cells: Vec<usize> = (0..part.len()).filter(|&c| part[c] == p).collect();
        let Some(&s) = cells.first() else {
            return false;
        };
        let mut seen = vec![false; part.len()];
        seen[s] = true;
        let mut stack = vec![s];
        let mut n = 1;
        while let Some(u) = stack.pop() {
            for e in &g.adj[u] {
                if part[e.to] == p && !seen[e.to] {
                    seen[e.to] = true;
                    n += 1;
                    stack.push(e.to);
                }
            }
        }
        n == cells.len()
    }

    #[test]
    fn uneven_weights_reach_the_band_with_connected_parts() {
        // A dense corner (like a cluster of towers) and sparse land elsewhere.
        let g = lattice(12, 12, |x, y| if x < 3 && y < 3 { 90 } else { 4 });
        let total: u64 = g.weight.iter().sum();
        let k = 4;
        let (min, max) = (300, 500);
        assert!(
            total >= k as u64 * min && total <= k as u64 * max,
            "{total}"
        );
        let s = partition(&g, k, min, max, 1);
        assert_eq!(s.violation, 0);
        for p in 0..k {
            let w: u64 = (0..g.weight.len())
                .filter(|&c| s.part[c] == p)
                .map(|c| g.weight[c])
                .sum();
            assert!((min..=max).contains(&w), "part {p}: {w}");
            assert!(connected(&g, &s.part, p), "part {p} is not connected");
        }
    }

    fn assert_in_band_and_connected(g: &Graph, part: &[usize], k: usize, min: u64, max: u64) {
        for p in 0..k {
            let w: u64 = (0..g.weight.len())
                .filter(|&c| part[c] == p)
                .map(|c| g.weight[c])
                .sum();
            assert!((min..=max).contains(&w), "part {p}: {w}");
            assert!(connected(g, part, p), "part {p} is not connected");
        }
    }

    #[test]
    fn a_part_short_of_the_band_behind_a_full_one_takes_a_group_of_cells() {
        // Three parts in a row, 4 columns of 3 cells each: 290 | 300 | 420 households, band 300–500.
        // The middle part's column next to the short one is open land (no households). Any single
        // cell moved or swapped leaves as many households outside the band or more: the short part
        // can only gain from the full one, which then falls short itself. A group (open land and the
        // populated cell behind it) must cross, and the middle part take a group from the third.
        let weight = |x: usize, y: usize| -> u64 {
            match x {
                0..=3 if x == 0 && y == 0 => 15,
                0..=3 => 25,
                4 => 0,
                5..=7 => 300 / 9 + u64::from(y == 0 && x == 5) * 3,
                _ => 35,
            }
        };
        let g = lattice(12, 3, weight);
        let part: Vec<usize> = (0..36).map(|c| (c % 12) / 4).collect();
        let w = |p: usize| -> u64 { (0..36).filter(|&c| part[c] == p).map(|c| g.weight[c]).sum() };
        assert_eq!((w(0), w(1), w(2)), (290, 300, 420));
        let (min, max) = (300, 500);
        let mut single = State::new(&g, 3, min, max, part.clone());
        single.repair(false);
        assert_eq!(single.violation(), 10, "single cells cannot fix it");
        let mut groups = State::new(&g, 3, min, max, part);
        groups.repair(true);
        assert_eq!(groups.violation(), 0);
        assert_in_band_and_connected(&g, &groups.part, 3, min, max);
    }

    /// A leaf of `w × h` squares shaped by `keep`, planted with `k` connected parts each holding
    /// `min..=min + slack` households, most of them in tight clusters of towers: the band is reachable
    /// by construction, and only just.
    fn planted(
        seed: u64,
        w: usize,
        h: usize,
        keep: &dyn Fn(usize, usize) -> bool,
        k: usize,
        min: u64,
        slack: u64,
    ) -> Graph {
        let mut rng = Rng::new(seed);
        let (shape, id) = lattice_where(w, h, keep, |_, _| 0);
        let n = shape.weight.len();
        // Parts grown from random seeds, one cell at a time round robin.
        let mut part = vec![usize::MAX; n];
        let mut frontier: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (p, f) in frontier.iter_mut().enumerate() {
            let mut s = (rng.next_u64() % n as u64) as usize;
            while part[s] != usize::MAX {
                s = (s + 1) % n;
            }
            part[s] = p;
            f.push(s);
        }
        let mut left = n - k;
        while left > 0 {
            for (p, f) in frontier.iter_mut().enumerate() {
                let mut grown = false;
                while !f.is_empty() && !grown {
                    let at = (rng.next_u64() % f.len() as u64) as usize;
                    let c = f[at];
                    let free: Vec<usize> = shape.adj[c]
                        .iter()
                        .map(|e| e.to)
                        .filter(|&t| part[t] == usize::MAX)
                        .collect();
                    if free.is_empty() {
                        f.swap_remove(at);
                        continue;
                    }
                    let t = free[(rng.next_u64() % free.len() as u64) as usize];
                    part[t] = p;
                    f.push(t);
                    left -= 1;
                    grown = true;
                }
            }
            if frontier.iter().all(|f| f.is_empty()) {
                break;
            }
        }
        let mut weight = vec![0u64; n];
        for p in 0..k {
            let cells: Vec<usize> = (0..n).filter(|&c| part[c] == p).collect();
            let target = min + rng.int(0, slack);
            // One or two clusters of towers (neighbouring cells of 40–150 households), scattered
            // houses on the rest, then the remainder on random cells.
            let mut total = 0;
            for _ in 0..1 + rng.int(0, 2) {
                let c = cells[(rng.next_u64() % cells.len() as u64) as usize];
                let mut cluster = vec![c];
                cluster.extend(
                    shape.adj[c]
                        .iter()
                        .map(|e| e.to)
                        .filter(|&t| part[t] == p)
                        .take(2),
                );
                for t in cluster {
                    let add = rng.int(40, 150).min(target.saturating_sub(total + 30));
                    weight[t] += add;
                    total += add;
                }
            }
            while total < target {
                let c = cells[(rng.next_u64() % cells.len() as u64) as usize];
                let add = rng.int(1, 6).min(target - total);
                weight[c] += add;
                total += add;
            }
        }
        let mut g = shape;
        g.weight = weight;
        let _ = id;
        g
    }

    #[test]
    fn planted_bands_on_rings_and_concave_leaves_are_found() {
        let (min, max) = (300, 500);
        // A ring (a village round a lake), a U (a concave leaf round a park), a comb (three fingers).
        let ring = |x: usize, y: usize| !((7..17).contains(&x) && (7..17).contains(&y));
        let u = |x: usize, y: usize| !((6..18).contains(&x) && y >= 6);
        let comb = |x: usize, y: usize| y < 5 || x % 8 < 4;
        type Shape<'a> = (&'a str, &'a dyn Fn(usize, usize) -> bool);
        let shapes: [Shape; 3] = [("ring", &ring), ("U", &u), ("comb", &comb)];
        let (mut cases, mut single_failed, mut trees_failed) = (0, 0, 0);
        for (name, keep) in shapes {
            for seed in 0..12u64 {
                let k = 5 + (seed % 4) as usize;
                let g = planted(seed * 7 + 1, 24, 24, keep, k, min, 12);
                let total: u64 = g.weight.iter().sum();
                assert!(total >= k as u64 * min && total <= k as u64 * max);
                let s = partition(&g, k, min, max, 0x5EED_CE11);
                assert_eq!(
                    s.violation, 0,
                    "{name} seed {seed}: {total} households, k {k}"
                );
                assert_in_band_and_connected(&g, &s.part, k, min, max);
                cases += 1;
                if partition_using(&g, k, min, max, 0x5EED_CE11, Search::Moves, NEVER).violation > 0
                {
                    single_failed += 1;
                }
                let trees = partition_using(&g, k, min, max, 0x5EED_CE11, Search::Trees, NEVER);
                if trees.violation > 0 {
                    trees_failed += 1;
                } else {
                    assert_in_band_and_connected(&g, &trees.part, k, min, max);
                }
            }
        }
        // The fixtures are hard: moves of single cells alone miss the band in some of them.
        assert!(
            single_failed > 0,
            "single-cell moves met the band in all {cases}"
        );
        // Starts drawn on spanning trees meet the band in every one (single-cell moves miss 8 of 36).
        assert_eq!(
            trees_failed, 0,
            "tree starts missed {trees_failed} of {cases}"
        );
    }

    /// A leaf whose households sit in a few heavy cells (compounds of towers, 40–360 households
    /// each) among many empty ones, as in the generated county's hardest leaves: a ring of 26 × 26
    /// cells round a lake, `heavy` cells placed at random.
    fn lumpy(seed: u64, heavy: usize) -> Graph {
        let mut rng = Rng::new(seed);
        let keep = |x: usize, y: usize| !((9..17).contains(&x) && (9..17).contains(&y));
        let (mut g, _) = lattice_where(26, 26, keep, |_, _| 0);
        let n = g.weight.len();
        for _ in 0..heavy {
            let c = (rng.next_u64() % n as u64) as usize;
            g.weight[c] = rng.int(40, 360);
        }
        g
    }

    #[test]
    fn few_heavy_cells_among_empty_ones_reach_the_band_from_spanning_trees() {
        let (min, max) = (300, 500);
        let (mut cases, mut moves_missed, mut trees_missed) = (0, 0, Vec::new());
        for seed in 0..40u64 {
            let g = lumpy(seed, 30);
            let total: u64 = g.weight.iter().sum();
            // Every feasible grid count, the middle one first (as a leaf is drawn).
            let (lo, hi) = (total.div_ceil(max) as usize, (total / min) as usize);
            let mut counts: Vec<usize> = (lo..=hi)
                .filter(|&k| whole_cells_can_meet(&g.weight, k, min, max) == Some(true))
                .collect();
            let mid = (lo + hi) / 2;
            counts.sort_by_key(|&k| (k.abs_diff(mid), k));
            if counts.is_empty() {
                continue;
            }
            cases += 1;
            let met = |search: Search| {
                counts.iter().find_map(|&k| {
                    let s = partition_using(&g, k, min, max, 0x5EED_CE11, search, NEVER);
                    (s.violation == 0).then_some((k, s))
                })
            };
            match met(Search::Trees) {
                Some((k, trees)) => assert_in_band_and_connected(&g, &trees.part, k, min, max),
                None => trees_missed.push(seed),
            }
            if met(Search::Moves).is_none() {
                moves_missed += 1;
            }
        }
        assert!(cases >= 30, "only {cases} cases");
        // The fixture is hard: moves of single cells from grown starts miss every count in many.
        assert!(
            moves_missed >= 10,
            "moves missed only {moves_missed} of {cases}"
        );
        // Tree starts meet the band in all but the rarest (one in forty here: seed 39, whose
        // 30 cells hold 6,243 households, which no count from 14 to 17 was found to fit).
        assert!(
            trees_missed.len() <= 1,
            "tree starts missed {trees_missed:?} of {cases}"
        );
    }

    #[test]
    fn whole_cell_feasibility_is_decided_honestly() {
        assert_eq!(
            whole_cells_can_meet(&[400, 400, 20], 2, 300, 500),
            Some(true)
        );
        // 450 + 450: two grids of 450 are fine, but 900 + 10 leaves one at 10 or 910.
        assert_eq!(whole_cells_can_meet(&[460, 460], 2, 300, 500), Some(true));
        assert_eq!(whole_cells_can_meet(&[600, 100], 2, 300, 500), Some(false));
        assert_eq!(
            whole_cells_can_meet(&[290, 290, 290], 2, 300, 500),
            Some(false)
        );
        // Three grids: a block of 497 needs a grid of its own (anything beside it goes over 500),
        // leaving 534 for two grids, under 300 each (a real census tract's blocks). The greedy
        // grouping cannot tell; the table proves it.
        let tract = [497, 120, 110, 100, 90, 60, 54];
        assert_eq!(whole_cells_can_meet(&tract, 3, 300, 500), None);
        assert_eq!(
            whole_cells_can_meet_exactly(&tract, 3, 300, 500),
            Some(false)
        );
        // And it agrees with trying every assignment of the weights to three groups.
        let mut rng = Rng::new(3);
        for _ in 0..300 {
            let n = 4 + (rng.next_u64() % 5) as usize;
            let w: Vec<u64> = (0..n).map(|_| rng.int(20, 480)).collect();
            let brute = (0..3usize.pow(n as u32)).any(|mut code| {
                let mut sums = [0u64; 3];
                for &x in &w {
                    sums[code % 3] += x;
                    code /= 3;
                }
                sums.iter().all(|&s| (300..=500).contains(&s))
            });
            assert_eq!(
                whole_cells_can_meet_exactly(&w, 3, 300, 500),
                Some(brute),
                "{w:?}"
            );
        }
    }
}
