//! How well grids follow the ground: blocks cut between grids (the `split_block` rule of `check`), the
//! share of inner grid edges lying on a block edge or a barrier, and each grid's 四至 (its four sides,
//! named from the barriers, leaves and blocks along them).

use super::{CheckReport, Rule, Violation};
use crate::input::dataset::Dataset;
use crate::lang::messages::{Msg, msg};
use crate::model::{GridShape, Layers};
use crate::spatial::barriers::BarrierIndex;
use crate::spatial::geometry;
use crate::spatial::ground::{Ground, Held};
use crate::spatial::index::PolygonIndex;
use crate::spatial::segments::{SegmentBuckets, passes_inside};
use geo::{Area, BooleanOps, BoundingRect, Coord, MultiPolygon};
use serde::Serialize;

/// Largest gap (m) between a grid edge and a block edge still counted as the same line (written
/// coordinates are rounded to about 0.1 mm).
const SAME_LINE_M: f64 = 0.02;
/// Distance (m) within which a barrier names the side of a grid it runs along.
const NAMING_M: f64 = 40.0;

/// A block whose land lies in more than one grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitBlock {
    /// The block's code (or name, or `block #n`).
    pub block: String,
    /// The grids it lies in, each with the area there (m²).
    pub grids: Vec<(String, f64)>,
    pub households: u64,
}

/// Figures on how grids follow the ground.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroundQuality {
    /// Blocks holding at least one household.
    pub populated_blocks: usize,
    /// Of those, blocks whose land lies in more than one grid.
    pub populated_blocks_split: usize,
    pub share_populated_blocks_split: f64,
    /// Length of grid edges inside leaves (between two grids), m.
    pub inner_edge_m: f64,
    /// Of it, the length lying on a block edge or along a barrier.
    pub inner_edge_on_ground_m: f64,
    pub share_inner_edges_on_ground: f64,
}

fn ring_segments(mp: &MultiPolygon) -> impl Iterator<Item = (Coord, Coord)> + '_ {
    mp.0.iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
        .filter(|(a, b)| a != b)
}

/// The indexes the ground measures share, built once (and side by side) for a set of grids.
pub struct GroundIndex<'a> {
    grids: PolygonIndex<&'a MultiPolygon>,
    leaves: PolygonIndex<&'a MultiPolygon>,
    blocks: Option<Held<'a, PolygonIndex<&'a MultiPolygon>>>,
    barriers: Option<Held<'a, BarrierIndex>>,
}

impl<'a> GroundIndex<'a> {
    pub fn new(data: &'a Dataset, grids: &'a [GridShape], layers: Option<&'a Layers>) -> Self {
        Self::on(data, grids, layers, None)
    }

    /// [`GroundIndex::new`] on the layers' indexes already built (`ground`, for the same layers).
    pub fn on(
        data: &'a Dataset,
        grids: &'a [GridShape],
        layers: Option<&'a Layers>,
        ground: Option<&'a Ground<'a>>,
    ) -> Self {
        let ((grids, leaves), (blocks, barriers)) = rayon::join(
            || {
                rayon::join(
                    || PolygonIndex::new(grids.iter().map(|g| &g.geometry).collect()),
                    || {
                        PolygonIndex::new(
                            data.tree
                                .leaves()
                                .iter()
                                .map(|&l| &data.tree.areas[l].geometry)
                                .collect(),
                        )
                    },
                )
            },
            || match ground {
                Some(g) => (
                    Some(Held::Lent(&g.block_index)),
                    Some(Held::Lent(&g.barriers)),
                ),
                None => rayon::join(
                    || {
                        layers.map(|l| {
                            Held::Own(PolygonIndex::new(
                                l.blocks.iter().map(|b| &b.geometry).collect(),
                            ))
                        })
                    },
                    || layers.map(|l| Held::Own(barrier_index(l))),
                ),
            },
        );
        GroundIndex {
            grids,
            leaves,
            blocks,
            barriers,
        }
    }
}

/// Each grid's 四至 and, on ground layers, how the grids follow them, measured side by side on one set
/// of indexes.
pub fn describe(
    data: &Dataset,
    grids: &[GridShape],
    layers: Option<&Layers>,
) -> (Vec<String>, Option<GroundQuality>) {
    describe_on(data, grids, layers, None)
}

/// [`describe`] on the layers' indexes already built (`ground`, for the same layers).
pub fn describe_on(
    data: &Dataset,
    grids: &[GridShape],
    layers: Option<&Layers>,
    ground: Option<&Ground>,
) -> (Vec<String>, Option<GroundQuality>) {
    let index = crate::timing::phase("四至: index", || {
        GroundIndex::on(data, grids, layers, ground)
    });
    rayon::join(
        || {
            crate::timing::phase("四至", || {
                bounds_descriptions_with(data, grids, layers, &index)
            })
        },
        || {
            crate::timing::phase("ground measures", || {
                layers.map(|l| ground_quality_with(data, grids, l, &index))
            })
        },
    )
}

/// Blocks whose land lies in more than one grid of one community (pieces under 1 m² or 0.1 % of the
/// block are rounding noise), with the households of each block. A block that only a community's own
/// boundary crosses is not the grids' cut (grids of different communities always part along it).
///
/// A block no grid's outline passes through lies in one grid (or none) and is passed over; the others
/// are measured exactly, grid by grid.
pub fn split_blocks(
    data: &Dataset,
    grids: &[GridShape],
    layers: &Layers,
) -> (Vec<SplitBlock>, usize) {
    split_blocks_with(
        data,
        grids,
        layers,
        &GroundIndex::new(data, grids, Some(layers)),
    )
}

fn split_blocks_with(
    data: &Dataset,
    grids: &[GridShape],
    layers: &Layers,
    ix: &GroundIndex,
) -> (Vec<SplitBlock>, usize) {
    use rayon::prelude::*;
    let index = &ix.grids;
    let Some(block_index) = ix.blocks.as_deref() else {
        return (Vec::new(), 0);
    };
    // Each household's block found on every core, then counted in one pass.
    let positions: Vec<Coord> = data.households.iter().map(|h| h.pos).collect();
    let block_of = block_index.first_containing_each(&positions);
    let mut households = vec![0u64; layers.blocks.len()];
    for (h, b) in data.households.iter().zip(block_of) {
        if let Some(b) = b {
            households[b] += h.households as u64;
        }
    }
    let populated = households.iter().filter(|&&h| h > 0).count();
    let outline: Vec<(Coord, Coord)> = grids
        .iter()
        .flat_map(|g| ring_segments(&g.geometry))
        .collect();
    let buckets = SegmentBuckets::new(&outline, SAME_LINE_M);
    let split: Vec<SplitBlock> = layers
        .blocks
        .par_iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let r = b.geometry.bounding_rect()?;
            let candidates = index.candidates(&r);
            if candidates.len() < 2 {
                return None;
            }
            let edges: Vec<(Coord, Coord)> = ring_segments(&b.geometry).collect();
            let mut near = Vec::new();
            buckets.in_rect(r.min(), r.max(), &mut near);
            let through = near.iter().any(|&s| {
                let (p, q) = outline[s as usize];
                passes_inside(p, q, &b.geometry, &edges, r, SAME_LINE_M)
            });
            if !through {
                return None;
            }
            let area = b.geometry.unsigned_area();
            let noise = (area * 1e-3).max(1.0);
            let parts: Vec<(usize, f64)> = candidates
                .into_iter()
                .map(|g| {
                    (
                        g,
                        geometry::normalized(b.geometry.intersection(&grids[g].geometry))
                            .unsigned_area(),
                    )
                })
                .filter(|(_, a)| *a > noise)
                .collect();
            // Cut by the grids only where two grids of one community share it: a block that a
            // community's own boundary crosses is cut by the boundary, which the grids follow.
            let mut per_community = std::collections::BTreeMap::new();
            for &(g, _) in &parts {
                *per_community
                    .entry(grids[g].community.as_deref())
                    .or_insert(0usize) += 1;
            }
            // A grid that names no community could be in any: the block counts as cut by grids.
            let unnamed = per_community.contains_key(&None) && parts.len() > 1;
            (unnamed || per_community.values().any(|&n| n > 1)).then(|| SplitBlock {
                block: b.label(),
                grids: parts
                    .iter()
                    .map(|&(g, a)| (grids[g].id.clone(), a))
                    .collect(),
                households: households[i],
            })
        })
        .collect();
    (split, populated)
}

/// The length of segment `a`–`b` covered by the collinear segments (within `tol`) among `candidates`.
fn covered_by(a: Coord, b: Coord, segs: &[(Coord, Coord)], candidates: &[u32], tol: f64) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len = dx.hypot(dy);
    if len <= 0.0 {
        return 0.0;
    }
    let mut spans: Vec<(f64, f64)> = Vec::new();
    for &i in candidates {
        let (c, d) = segs[i as usize];
        let off = |p: Coord| ((p.x - a.x) * dy - (p.y - a.y) * dx).abs() / len;
        if off(c) > tol || off(d) > tol {
            continue;
        }
        let proj = |p: Coord| ((p.x - a.x) * dx + (p.y - a.y) * dy) / len;
        let (t0, t1) = (proj(c), proj(d));
        let (lo, hi) = (t0.min(t1).max(0.0), t0.max(t1).min(len));
        if hi > lo {
            spans.push((lo, hi));
        }
    }
    spans.sort_by(|x, y| x.0.total_cmp(&y.0));
    let (mut total, mut reach) = (0.0, 0.0f64);
    for (lo, hi) in spans {
        let lo = lo.max(reach);
        if hi > lo {
            total += hi - lo;
            reach = hi;
        }
    }
    total
}

/// Segments of `polygons` with a part within `tol` of the box `r`, bucketed.
fn segments_near<'a>(
    polygons: impl Iterator<Item = &'a MultiPolygon>,
    r: geo::Rect,
    tol: f64,
) -> (Vec<(Coord, Coord)>, SegmentBuckets) {
    let segs: Vec<(Coord, Coord)> = polygons
        .flat_map(ring_segments)
        .filter(|(a, b)| {
            a.x.max(b.x) >= r.min().x - tol
                && a.x.min(b.x) <= r.max().x + tol
                && a.y.max(b.y) >= r.min().y - tol
                && a.y.min(b.y) <= r.max().y + tol
        })
        .collect();
    let buckets = SegmentBuckets::new(&segs, tol);
    (segs, buckets)
}

/// Adds a `split_block` violation for every block holding households whose land lies in more than
/// one grid, and notes the blocks without households that are cut (`empty_blocks_cut`): cutting land
/// where no one lives parts no neighbours, so it is not a violation, and `partition`'s figure of blocks
/// cut counts populated blocks only: one rule, one meaning.
pub fn check_blocks(
    report: &mut CheckReport,
    data: &Dataset,
    grids: &[GridShape],
    layers: &Layers,
) {
    let (split, _) = split_blocks(data, grids, layers);
    for s in split {
        if s.households == 0 {
            report.summary.empty_blocks_cut += 1;
            report.empty_blocks_cut.push(s);
            continue;
        }
        let pieces: Vec<Msg> = s
            .grids
            .iter()
            .map(|(g, a)| msg!(AreaOf, what = g, area = format!("{a:.0}")))
            .collect();
        let message = msg!(SplitBlock, block = &s.block, households = s.households)
            .arg_list("grids", &pieces);
        report.violations.push(Violation::new(
            Rule::SplitBlock,
            s.grids.first().map(|g| g.0.clone()),
            None,
            &message,
            Some(s.grids.len() as f64),
        ));
        report.summary.compliant = false;
        report.summary.violations += 1;
    }
}

/// The barriers' lines indexed by rank.
fn barrier_index(layers: &Layers) -> BarrierIndex {
    BarrierIndex::new(layers.barriers.iter().map(|b| (&b.geometry, b.rank)))
}

/// Measures how the grids follow the blocks and barriers.
pub fn ground_quality(data: &Dataset, grids: &[GridShape], layers: &Layers) -> GroundQuality {
    ground_quality_with(
        data,
        grids,
        layers,
        &GroundIndex::new(data, grids, Some(layers)),
    )
}

fn ground_quality_with(
    data: &Dataset,
    grids: &[GridShape],
    layers: &Layers,
    ix: &GroundIndex,
) -> GroundQuality {
    use rayon::prelude::*;
    let (split, populated) = crate::timing::phase("ground: blocks cut", || {
        split_blocks_with(data, grids, layers, ix)
    });
    let populated_split = split.iter().filter(|s| s.households > 0).count();
    let leaf_index = &ix.leaves;
    // An index built without the layers has neither; build them here.
    let (own_blocks, own_barriers);
    let block_index = match ix.blocks.as_deref() {
        Some(b) => b,
        None => {
            own_blocks = PolygonIndex::new(layers.blocks.iter().map(|b| &b.geometry).collect());
            &own_blocks
        }
    };
    let barriers = match ix.barriers.as_deref() {
        Some(b) => b,
        None => {
            own_barriers = barrier_index(layers);
            &own_barriers
        }
    };
    // Per grid: the leaves' outlines and the blocks' edges near it, then each of its edges.
    let (inner, on) = grids
        .par_iter()
        .map(|g| {
            let Some(r) = g.geometry.bounding_rect() else {
                return (0.0, 0.0);
            };
            let (leaf_segs, leaf_b) = segments_near(
                leaf_index
                    .candidates(&r)
                    .into_iter()
                    .map(|l| leaf_index.polygon(l)),
                r,
                SAME_LINE_M,
            );
            let (block_segs, block_b) = segments_near(
                block_index
                    .candidates(&r)
                    .into_iter()
                    .map(|b| &layers.blocks[b].geometry),
                r,
                SAME_LINE_M,
            );
            let (mut inner, mut on) = (0.0, 0.0);
            let mut near = Vec::new();
            for (a, b) in ring_segments(&g.geometry) {
                let len = (b.x - a.x).hypot(b.y - a.y);
                let lo = Coord {
                    x: a.x.min(b.x),
                    y: a.y.min(b.y),
                };
                let hi = Coord {
                    x: a.x.max(b.x),
                    y: a.y.max(b.y),
                };
                leaf_b.in_rect(lo, hi, &mut near);
                let rest = len - covered_by(a, b, &leaf_segs, &near, SAME_LINE_M);
                if rest <= SAME_LINE_M {
                    continue;
                }
                inner += rest;
                block_b.in_rect(lo, hi, &mut near);
                let on_block = covered_by(a, b, &block_segs, &near, SAME_LINE_M).min(rest);
                let on_barrier = if on_block < rest && barriers.along(a, b).is_some() {
                    rest
                } else {
                    0.0
                };
                on += on_block.max(on_barrier);
            }
            (inner, on)
        })
        .reduce(|| (0.0, 0.0), |x, y| (x.0 + y.0, x.1 + y.1));
    GroundQuality {
        populated_blocks: populated,
        populated_blocks_split: populated_split,
        share_populated_blocks_split: if populated == 0 {
            0.0
        } else {
            populated_split as f64 / populated as f64
        },
        inner_edge_m: inner / 2.0,
        inner_edge_on_ground_m: on / 2.0,
        share_inner_edges_on_ground: if inner > 0.0 { on / inner } else { 1.0 },
    }
}

/// Each grid's 四至: for its east, south, west and north sides, the name found along the longest
/// stretch of that side: a named barrier within 40 m, else the neighbouring community or village across
/// the leaf's outline, else the named block across, else the neighbouring grid. Written as planners
/// write it: "东至…，南至…，西至…，北至…".
pub fn bounds_descriptions(
    data: &Dataset,
    grids: &[GridShape],
    layers: Option<&Layers>,
) -> Vec<String> {
    bounds_descriptions_with(data, grids, layers, &GroundIndex::new(data, grids, layers))
}

fn bounds_descriptions_with(
    data: &Dataset,
    grids: &[GridShape],
    layers: Option<&Layers>,
    ix: &GroundIndex,
) -> Vec<String> {
    use rayon::prelude::*;
    let barriers = ix.barriers.as_deref();
    let named_barriers: Vec<Option<String>> = layers
        .map(|l| l.barriers.iter().map(|b| b.name.clone()).collect())
        .unwrap_or_default();
    let block_index = ix.blocks.as_deref();
    let leaves = data.tree.leaves();
    let leaf_index = &ix.leaves;
    let grid_index = &ix.grids;
    grids
        .par_iter()
        .enumerate()
        .map(|(gi, g)| {
            // side → name → length
            let mut sides: [std::collections::BTreeMap<String, f64>; 4] = Default::default();
            let own_leaf = g.community.as_deref();
            for p in &g.geometry.0 {
                for w in p.exterior().0.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    let (dx, dy) = (b.x - a.x, b.y - a.y);
                    let len = dx.hypot(dy);
                    if len < 0.5 {
                        continue;
                    }
                    // Exterior rings run counter-clockwise: the outward normal is (dy, −dx).
                    let (nx, ny) = (dy / len, -dx / len);
                    let side = if nx.abs() >= ny.abs() {
                        if nx > 0.0 { 0 } else { 2 }
                    } else if ny < 0.0 {
                        1
                    } else {
                        3
                    };
                    let mid = Coord {
                        x: (a.x + b.x) / 2.0,
                        y: (a.y + b.y) / 2.0,
                    };
                    let across = Coord {
                        x: mid.x + nx * 1.0,
                        y: mid.y + ny * 1.0,
                    };
                    let name = barriers
                        .and_then(|bi| bi.named_near(a, b, NAMING_M, &named_barriers))
                        .or_else(|| {
                            let other = leaf_index
                                .containing(across)
                                .first()
                                .map(|&k| &data.tree.areas[leaves[k]]);
                            match other {
                                Some(area) if Some(area.code.as_str()) != own_leaf => {
                                    Some(area.name.clone().unwrap_or_else(|| area.code.clone()))
                                }
                                Some(_) => None,
                                None => Some("辖区边界".to_string()),
                            }
                        })
                        .or_else(|| {
                            let l = layers?;
                            let bi = block_index?;
                            let k = *bi.containing(across).first()?;
                            l.blocks[k].name.clone()
                        })
                        .or_else(|| {
                            grid_index
                                .containing(across)
                                .into_iter()
                                .find(|&o| o != gi)
                                .map(|o| format!("{}网格", grids[o].id))
                        });
                    if let Some(name) = name {
                        *sides[side].entry(name).or_default() += len;
                    }
                }
            }
            let pick = |m: &std::collections::BTreeMap<String, f64>| {
                m.iter()
                    .max_by(|x, y| x.1.total_cmp(y.1))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| "—".to_string())
            };
            format!(
                "东至{}，南至{}，西至{}，北至{}",
                pick(&sides[0]),
                pick(&sides[1]),
                pick(&sides[2]),
                pick(&sides[3])
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{area, dataset, grid, household, rect};
    use crate::model::Block;

    fn block(code: &str, geometry: MultiPolygon) -> Block {
        Block {
            feature: 0,
            code: Some(code.to_string()),
            name: None,
            kind: None,
            geometry,
        }
    }

    #[test]
    fn a_block_counts_as_cut_only_where_grids_of_one_community_share_it() {
        // Two communities side by side at x = 500; block A straddles their boundary, block B lies
        // in the first community across the line at y = 250 between its two grids.
        let data = dataset(
            vec![
                area(
                    "320116001001",
                    None,
                    Some("urban"),
                    rect(0.0, 0.0, 500.0, 500.0),
                ),
                area(
                    "320116001002",
                    None,
                    Some("urban"),
                    rect(500.0, 0.0, 1000.0, 500.0),
                ),
            ],
            vec![
                household(450.0, 400.0, 5, Some("a1")),
                household(550.0, 400.0, 5, Some("a2")),
                household(100.0, 240.0, 5, Some("b1")),
                household(100.0, 260.0, 5, Some("b2")),
            ],
        );
        let grids = vec![
            grid("g1", "320116001001", rect(0.0, 0.0, 500.0, 250.0)),
            grid("g2", "320116001001", rect(0.0, 250.0, 500.0, 500.0)),
            grid("g3", "320116001002", rect(500.0, 0.0, 1000.0, 500.0)),
        ];
        let layers = Layers {
            blocks: vec![
                block("A", rect(400.0, 350.0, 600.0, 450.0)),
                block("B", rect(50.0, 200.0, 150.0, 300.0)),
            ],
            barriers: Vec::new(),
        };
        let (split, populated) = split_blocks(&data, &grids, &layers);
        assert_eq!(populated, 2);
        let names: Vec<&str> = split.iter().map(|s| s.block.as_str()).collect();
        assert_eq!(names, ["B"], "{split:?}");
        assert_eq!(split[0].households, 10);
        assert_eq!(split[0].grids.len(), 2);
        // Grids that name no community (a layer checked as given) could be in any: block A, shared
        // by two of them, is cut.
        let unnamed: Vec<GridShape> = grids
            .into_iter()
            .map(|mut g| {
                g.community = None;
                g
            })
            .collect();
        let (split, _) = split_blocks(&data, &unnamed, &layers);
        let names: Vec<&str> = split.iter().map(|s| s.block.as_str()).collect();
        assert_eq!(names, ["A", "B"], "{split:?}");
    }

    /// A block without households that the grids cut is a note, not a violation: the check stays
    /// compliant on its account, as `partition`'s blocks-cut figure counts populated blocks only.
    #[test]
    fn an_empty_block_cut_is_a_note_not_a_violation() {
        let data = dataset(
            vec![area(
                "320116001001",
                None,
                Some("urban"),
                rect(0.0, 0.0, 500.0, 500.0),
            )],
            vec![
                household(100.0, 100.0, 5, Some("a")),
                household(100.0, 400.0, 5, Some("b")),
                household(300.0, 240.0, 3, Some("c")),
                household(300.0, 260.0, 3, Some("d")),
            ],
        );
        let grids = vec![
            grid("g1", "320116001001", rect(0.0, 0.0, 500.0, 250.0)),
            grid("g2", "320116001001", rect(0.0, 250.0, 500.0, 500.0)),
        ];
        let layers = Layers {
            blocks: vec![
                // A strip along the line between the grids where no one lives, and a populated one.
                block("EMPTY", rect(0.0, 200.0, 200.0, 300.0)),
                block("FULL", rect(250.0, 200.0, 350.0, 300.0)),
            ],
            barriers: Vec::new(),
        };
        let mut rules = crate::rules::Rules::default();
        // Any band: only the blocks are judged here.
        for k in rules.kinds.values_mut() {
            k.min_households = 1;
            k.max_households = 1_000;
        }
        let mut report = crate::check::check(&data, &grids, &rules);
        let before = report.summary.violations;
        check_blocks(&mut report, &data, &grids, &layers);
        let cut: Vec<&str> = report
            .violations
            .iter()
            .filter(|v| v.rule == Rule::SplitBlock)
            .map(|v| v.message.split_whitespace().nth(1).unwrap_or(""))
            .collect();
        assert_eq!(cut, ["FULL"]);
        assert_eq!(report.summary.violations, before + 1);
        assert_eq!(report.summary.empty_blocks_cut, 1);
        assert_eq!(report.empty_blocks_cut[0].block, "EMPTY");
        // Only the empty block cut: compliant.
        let layers = Layers {
            blocks: vec![block("EMPTY", rect(0.0, 200.0, 200.0, 300.0))],
            barriers: Vec::new(),
        };
        let mut report = crate::check::check(&data, &grids, &rules);
        let compliant = report.summary.compliant;
        check_blocks(&mut report, &data, &grids, &layers);
        assert_eq!(report.summary.compliant, compliant);
        assert_eq!(report.summary.empty_blocks_cut, 1);
    }
}
