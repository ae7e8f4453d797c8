//! Compounds first: in a leaf made of gated compounds (小区), each compound that can be divided into
//! whole grids of the band gets grids of its own, and only what cannot (compounds too small for a grid
//! or whose count fits no whole number of grids, the land between compounds, an urban village) is
//! grouped with a neighbour.
//!
//! The leaf's cells are put into **regions**: every block (compound) whose households fit a whole
//! number of grids is a region; the cells of no such block form regions by connected component. A
//! region that fits no whole number of grids (or holds no household, as a park between compounds)
//! joins the neighbouring region it would cost most to part from (the longest shared boundary, cheaper
//! across a road, cheaper still across an arterial), until every region fits. Each region is then given
//! a grid count (the one nearest its households over the band's middle, moved so that the counts add
//! up to the leaf's), and partitioned on its own by the same search as the whole leaf. Grids then take
//! households from two compounds only where a region had to be joined.
//!
//! Used where compounds larger than a grid hold most of the leaf's households; a leaf of small street
//! blocks is drawn as a whole, as before.

use super::cells::Cells;
use super::graph::{Edge, Graph};
use super::grow::{self, Search, Solution};
use std::collections::BTreeMap;

/// The share of a leaf's households that blocks larger than a grid must hold for the leaf to be drawn
/// compound by compound.
const LARGE_SHARE: f64 = 0.5;

/// A region: its cells and households.
struct Region {
    cells: Vec<usize>,
    households: u64,
}

/// The whole numbers of grids of `min..=max` households that `h` households fit: `lo..=hi`, empty
/// when `lo > hi`.
fn counts(h: u64, min: u64, max: u64) -> (u64, u64) {
    if h == 0 {
        return (1, 0);
    }
    (h.div_ceil(max.max(1)), h / min.max(1))
}

fn fits(h: u64, min: u64, max: u64) -> bool {
    let (lo, hi) = counts(h, min, max);
    lo >= 1 && lo <= hi
}

/// The leaf's partition drawn compound by compound, with its grid count; `None` where the leaf is not
/// made of large compounds or its regions cannot be made to fit (the caller draws the leaf as a whole).
/// `wanted` are the grid counts the caller would try, best first.
pub fn partition(
    cells: &Cells,
    g: &Graph,
    wanted: &[usize],
    min: u64,
    max: u64,
    seed: u64,
) -> Option<(usize, Solution)> {
    let n = g.weight.len();
    if n == 0 {
        return None;
    }
    let mut block: Vec<Option<usize>> = vec![None; n];
    for (i, p) in cells.pieces.iter().enumerate() {
        if let Some(b) = p.block {
            block[cells.cell_of[i]].get_or_insert(b);
        }
    }
    let mut by_block: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (c, b) in block.iter().enumerate() {
        if let Some(b) = b {
            by_block.entry(*b).or_default().push(c);
        }
    }
    let weight = |list: &[usize]| -> u64 { list.iter().map(|&c| g.weight[c]).sum() };
    let total: u64 = g.weight.iter().sum();
    let large: u64 = by_block
        .values()
        .map(|l| weight(l))
        .filter(|&h| h > max)
        .sum();
    if total == 0 || (large as f64) < LARGE_SHARE * total as f64 {
        return None;
    }
    let mut region_of = vec![usize::MAX; n];
    let mut regions: Vec<Region> = Vec::new();
    for list in by_block.values() {
        let h = weight(list);
        if fits(h, min, max) && connected(g, list) {
            for &c in list {
                region_of[c] = regions.len();
            }
            regions.push(Region {
                cells: list.clone(),
                households: h,
            });
        }
    }
    // The rest, by connected component.
    for start in 0..n {
        if region_of[start] != usize::MAX {
            continue;
        }
        let r = regions.len();
        let mut stack = vec![start];
        region_of[start] = r;
        let mut list = Vec::new();
        while let Some(c) = stack.pop() {
            list.push(c);
            for e in &g.adj[c] {
                if region_of[e.to] == usize::MAX {
                    region_of[e.to] = r;
                    stack.push(e.to);
                }
            }
        }
        let households = weight(&list);
        regions.push(Region {
            cells: list,
            households,
        });
    }
    // Regions that fit no whole number of grids join a neighbour, the smallest first.
    let mut alive: Vec<bool> = vec![true; regions.len()];
    loop {
        let misfit = (0..regions.len())
            .filter(|&r| alive[r] && !fits(regions[r].households, min, max))
            .min_by_key(|&r| (regions[r].households, r));
        let Some(r) = misfit else { break };
        // What parting from each neighbouring region would cost.
        let mut shared: BTreeMap<usize, f64> = BTreeMap::new();
        for &c in &regions[r].cells {
            for e in &g.adj[c] {
                let s = region_of[e.to];
                if s != r {
                    *shared.entry(s).or_default() += e.cut.max(1e-9);
                }
            }
        }
        // A neighbour the union fits with first, then the costliest boundary to keep.
        let into = shared
            .iter()
            .map(|(&s, &cost)| {
                let joined = fits(regions[s].households + regions[r].households, min, max);
                (joined, cost, s)
            })
            .max_by(|a, b| {
                (a.0, a.1)
                    .partial_cmp(&(b.0, b.1))
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .map(|x| x.2)?;
        let moved = std::mem::take(&mut regions[r].cells);
        for &c in &moved {
            region_of[c] = into;
        }
        regions[into].households += regions[r].households;
        regions[into].cells.extend(moved);
        regions[r].households = 0;
        alive[r] = false;
    }
    let live: Vec<usize> = (0..regions.len()).filter(|&r| alive[r]).collect();
    if live.len() < 2 {
        return None;
    }
    // Grid counts: nearest the band's middle, then moved to add up to a count the leaf wants.
    let middle = (min + max) as f64 / 2.0;
    let mut count: Vec<u64> = live
        .iter()
        .map(|&r| {
            let h = regions[r].households;
            let (lo, hi) = counts(h, min, max);
            ((h as f64 / middle).round() as u64).clamp(lo, hi)
        })
        .collect();
    let lo_sum: u64 = live
        .iter()
        .map(|&r| counts(regions[r].households, min, max).0)
        .sum();
    let hi_sum: u64 = live
        .iter()
        .map(|&r| counts(regions[r].households, min, max).1)
        .sum();
    let mut sum: u64 = count.iter().sum();
    if let Some(&target) = wanted
        .iter()
        .find(|&&k| (lo_sum..=hi_sum).contains(&(k as u64)))
    {
        let target = target as u64;
        while sum < target {
            // The most crowded region that can take another grid.
            let i = (0..live.len())
                .filter(|&i| count[i] < counts(regions[live[i]].households, min, max).1)
                .max_by(|&a, &b| {
                    let load = |i: usize| regions[live[i]].households as f64 / count[i] as f64;
                    load(a).total_cmp(&load(b))
                })?;
            count[i] += 1;
            sum += 1;
        }
        while sum > target {
            let i = (0..live.len())
                .filter(|&i| count[i] > counts(regions[live[i]].households, min, max).0)
                .min_by(|&a, &b| {
                    let load = |i: usize| regions[live[i]].households as f64 / count[i] as f64;
                    load(a).total_cmp(&load(b))
                })?;
            count[i] -= 1;
            sum -= 1;
        }
    }
    let mut part = vec![0usize; n];
    let mut violation = 0u64;
    let mut objective = 0.0;
    let mut offset = 0usize;
    for (i, &r) in live.iter().enumerate() {
        let list = &regions[r].cells;
        let sub = subgraph(g, list);
        let (k, s) = region_partition(&sub, count[i], regions[r].households, min, max, seed);
        if s.part.len() != list.len() {
            return None;
        }
        for (local, &c) in list.iter().enumerate() {
            part[c] = offset + s.part[local];
        }
        violation += s.violation;
        objective += s.objective;
        offset += k;
    }
    Some((
        offset,
        Solution {
            part,
            violation,
            objective,
        },
    ))
}

/// One region's partition: its count with single-cell moves, then every other count that fits it
/// (nearest first), then its count from spanning trees and with ejection chains; the first in the band,
/// else the one missing it least.
fn region_partition(
    sub: &Graph,
    count: u64,
    households: u64,
    min: u64,
    max: u64,
    seed: u64,
) -> (usize, Solution) {
    let (lo, hi) = counts(households, min, max);
    let mut others: Vec<u64> = (lo..=hi).filter(|&c| c != count).collect();
    others.sort_by_key(|&c| c.abs_diff(count));
    let tries = std::iter::once((count, Search::Moves))
        .chain(others.into_iter().map(|c| (c, Search::Moves)))
        .chain([(count, Search::Trees), (count, Search::Chains)]);
    let mut best: Option<(usize, Solution)> = None;
    for (c, search) in tries {
        let s = grow::partition_by(sub, c as usize, min, max, seed, search);
        let better = best.as_ref().is_none_or(|b| s.violation < b.1.violation);
        if better {
            best = Some((c as usize, s));
        }
        if best.as_ref().is_some_and(|b| b.1.violation == 0) {
            break;
        }
    }
    best.unwrap_or_else(|| {
        (
            count as usize,
            grow::partition_by(sub, count as usize, min, max, seed, Search::Moves),
        )
    })
}

/// Whether the cells of `list` are connected among themselves.
fn connected(g: &Graph, list: &[usize]) -> bool {
    let Some(&first) = list.first() else {
        return false;
    };
    let inside: std::collections::HashSet<usize> = list.iter().copied().collect();
    let mut seen = std::collections::HashSet::from([first]);
    let mut stack = vec![first];
    while let Some(c) = stack.pop() {
        for e in &g.adj[c] {
            if inside.contains(&e.to) && seen.insert(e.to) {
                stack.push(e.to);
            }
        }
    }
    seen.len() == list.len()
}

/// The graph of the cells of `nodes` alone: edges to other cells become outline.
fn subgraph(g: &Graph, nodes: &[usize]) -> Graph {
    let mut local = vec![usize::MAX; g.weight.len()];
    for (i, &c) in nodes.iter().enumerate() {
        local[c] = i;
    }
    let mut sub = Graph::default();
    for &c in nodes {
        sub.weight.push(g.weight[c]);
        sub.area.push(g.area[c]);
        sub.centroid.push(g.centroid[c]);
        let mut outer = g.outer[c];
        let mut adj = Vec::new();
        for e in &g.adj[c] {
            if local[e.to] == usize::MAX {
                outer += e.len;
            } else {
                adj.push(Edge {
                    to: local[e.to],
                    len: e.len,
                    cut: e.cut,
                });
            }
        }
        sub.outer.push(outer);
        sub.adj.push(adj);
    }
    sub
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_the_whole_numbers_of_grids_that_fit() {
        assert_eq!(counts(2900, 300, 500), (6, 9));
        assert!(fits(2900, 300, 500));
        assert!(!fits(550, 300, 500));
        assert!(!fits(120, 300, 500));
        assert!(!fits(0, 300, 500));
        assert!(fits(600, 300, 500));
    }

    /// A row of cells: `weights` left to right, each 10 m wide, with blocks given per cell.
    fn row(weights: &[u64]) -> Graph {
        let n = weights.len();
        let mut g = Graph::default();
        for (i, &w) in weights.iter().enumerate() {
            g.weight.push(w);
            g.area.push(100.0);
            g.centroid.push(geo::Coord {
                x: i as f64 * 10.0 + 5.0,
                y: 5.0,
            });
            g.outer.push(if i == 0 || i == n - 1 { 30.0 } else { 20.0 });
            let mut adj = Vec::new();
            for j in [i.wrapping_sub(1), i + 1] {
                if j < n {
                    adj.push(Edge {
                        to: j,
                        len: 10.0,
                        cut: 10.0,
                    });
                }
            }
            g.adj.push(adj);
        }
        g
    }

    fn cells_of(blocks: &[Option<usize>]) -> Cells {
        use super::super::cells::Piece;
        use geo::{LineString, Polygon};
        let square = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]),
            vec![],
        );
        Cells {
            pieces: blocks
                .iter()
                .map(|b| Piece {
                    polygon: square.clone(),
                    block: *b,
                    site: None,
                    divided: false,
                })
                .collect(),
            cell_of: (0..blocks.len()).collect(),
            atoms: vec![Vec::new(); blocks.len()],
            weight: Vec::new(),
            divided: Vec::new(),
            sites: Vec::new(),
        }
    }

    #[test]
    fn each_compound_gets_grids_of_its_own_and_a_small_group_joins_a_neighbour() {
        // Compound A: four cells of 200 (800: two grids of 400); compound B: three of 300 (900:
        // two or three grids); between them a shop row of 100 households in no compound.
        let g = row(&[200, 200, 200, 200, 100, 300, 300, 300]);
        let blocks = [
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            None,
            Some(1),
            Some(1),
            Some(1),
        ];
        let cells = cells_of(&blocks);
        let (k, s) = partition(&cells, &g, &[5, 4], 300, 500, 7).expect("drawn by compounds");
        assert_eq!(s.violation, 0);
        assert_eq!(k, s.part.iter().max().map_or(0, |m| m + 1));
        // No grid holds cells of both compounds.
        for p in 0..k {
            let a = (0..4).any(|c| s.part[c] == p);
            let b = (5..8).any(|c| s.part[c] == p);
            assert!(!(a && b), "grid {p} mixes the compounds: {:?}", s.part);
        }
    }

    #[test]
    fn a_leaf_of_small_blocks_is_left_to_the_whole_leaf_search() {
        let g = row(&[100, 100, 100, 100, 100, 100]);
        let cells = cells_of(&[Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)]);
        assert!(partition(&cells, &g, &[2], 300, 500, 7).is_none());
    }
}
