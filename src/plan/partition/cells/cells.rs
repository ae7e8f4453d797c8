//! Building the cells of a leaf.
//!
//! A cell is made of **pieces**: polygons that tile the leaf. With blocks, the pieces are the blocks
//! clipped to the leaf and the land no block covers (cut by a lattice so that no single piece of road
//! or open land spans the leaf). Without blocks, they are the Voronoi cells of the households'
//! positions clipped to the leaf. Pieces holding households of one building are joined into one cell,
//! so a cell never splits a building; a cell holding more households than a grid's maximum is divided
//! again by its buildings (Voronoi cells of their positions within it) and reported.

use crate::model::Household;
use crate::plan::partition::Atom;
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use crate::spatial::segments::{SegmentBuckets, passes_inside};
use geo::{Area, BooleanOps, BoundingRect, Coord, LineString, MultiPolygon, Polygon, Rect};
use rstar::RTree;
use rstar::primitives::GeomWithData;
use std::collections::BTreeMap;

/// Side of the lattice cutting land no block covers (m).
pub const REMAINDER_LATTICE_M: f64 = 120.0;
/// Distance (m) within which a point counts as lying on a boundary.
const ON_EDGE_M: f64 = 1e-3;

/// A polygon of the leaf's tiling, and the cell it belongs to.
#[derive(Debug, Clone)]
pub struct Piece {
    pub polygon: Polygon,
    /// The block it comes from (index into the blocks given), if any.
    pub block: Option<usize>,
    /// The Voronoi site it comes from (index into [`Cells::sites`]), if any.
    pub site: Option<usize>,
    /// A piece of a block divided by its buildings (it does not rejoin the rest of the block).
    pub divided: bool,
}

/// The pieces of a leaf grouped into cells, with the atoms each cell holds.
#[derive(Debug, Clone, Default)]
pub struct Cells {
    pub pieces: Vec<Piece>,
    /// The cell of each piece.
    pub cell_of: Vec<usize>,
    /// Atoms (indexes into the leaf's atoms) of each cell.
    pub atoms: Vec<Vec<usize>>,
    pub weight: Vec<u64>,
    /// Cells divided because they held more than a grid's maximum: (label, households, pieces' households).
    pub divided: Vec<(String, u64, Vec<u64>)>,
    /// With no blocks: the Voronoi cell of each site before clipping to the leaf (vertices on a
    /// millimetre lattice, so neighbouring cells share them exactly).
    pub sites: Vec<Polygon>,
}

impl Cells {
    pub fn len(&self) -> usize {
        self.atoms.len()
    }
    pub fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }
}

/// Union–find over piece indexes.
struct Dsu(Vec<usize>);

impl Dsu {
    fn new(n: usize) -> Dsu {
        Dsu((0..n).collect())
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }
    fn join(&mut self, a: usize, b: usize) {
        let (a, b) = (self.find(a), self.find(b));
        if a != b {
            self.0[a.max(b)] = a.min(b);
        }
    }
}

fn rect_ring(r: Rect, pad: f64) -> Vec<Coord> {
    vec![
        Coord {
            x: r.min().x - pad,
            y: r.min().y - pad,
        },
        Coord {
            x: r.max().x + pad,
            y: r.min().y - pad,
        },
        Coord {
            x: r.max().x + pad,
            y: r.max().y + pad,
        },
        Coord {
            x: r.min().x - pad,
            y: r.max().y + pad,
        },
    ]
}

/// The part of a convex counter-clockwise polygon where `n · p ≤ offset`.
fn clip_half(poly: &[Coord], n: Coord, offset: f64) -> Vec<Coord> {
    let d = |c: &Coord| c.x * n.x + c.y * n.y - offset;
    let mut out = Vec::with_capacity(poly.len() + 1);
    for i in 0..poly.len() {
        let a = poly[i];
        let b = poly[(i + 1) % poly.len()];
        let (da, db) = (d(&a), d(&b));
        if da <= 0.0 {
            out.push(a);
        }
        if (da <= 0.0) != (db <= 0.0) {
            let t = da / (da - db);
            out.push(Coord {
                x: a.x + t * (b.x - a.x),
                y: a.y + t * (b.y - a.y),
            });
        }
    }
    out
}

/// Voronoi cells of `sites` (distinct points) within `bounds`, as convex counter-clockwise rings (not
/// closed), by clipping with the bisectors of the nearest sites until no farther site can matter.
pub fn voronoi(sites: &[Coord], bounds: Rect) -> Vec<Vec<Coord>> {
    let tree: RTree<GeomWithData<[f64; 2], usize>> = RTree::bulk_load(
        sites
            .iter()
            .enumerate()
            .map(|(i, c)| GeomWithData::new([c.x, c.y], i))
            .collect(),
    );
    let start = rect_ring(bounds, 1.0);
    sites
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let mut poly = start.clone();
            for (nb, d2) in tree.nearest_neighbor_iter_with_distance_2([s.x, s.y]) {
                if nb.data == i {
                    continue;
                }
                let reach2 = poly
                    .iter()
                    .map(|c| (c.x - s.x).powi(2) + (c.y - s.y).powi(2))
                    .fold(0.0, f64::max);
                if d2 > 4.0 * reach2 {
                    break;
                }
                let o = sites[nb.data];
                let n = Coord {
                    x: o.x - s.x,
                    y: o.y - s.y,
                };
                let offset = (o.x * o.x + o.y * o.y - s.x * s.x - s.y * s.y) / 2.0;
                poly = clip_half(&poly, n, offset);
                if poly.len() < 3 {
                    break;
                }
            }
            poly
        })
        .collect()
}

fn ring_polygon(ring: Vec<Coord>) -> Option<Polygon> {
    let mm = |v: f64| (v * 1000.0).round() / 1000.0;
    let mut ring: Vec<Coord> = ring
        .into_iter()
        .map(|c| Coord {
            x: mm(c.x),
            y: mm(c.y),
        })
        .collect();
    ring.dedup();
    while ring.len() > 1 && ring.first() == ring.last() {
        ring.pop();
    }
    if ring.len() < 3 {
        return None;
    }
    ring.push(ring[0]);
    Some(Polygon::new(LineString(ring), vec![]))
}

fn dist_to_segment(p: Coord, a: Coord, b: Coord) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.x - a.x - t * dx).hypot(p.y - a.y - t * dy)
}

/// A region (a leaf, or a cell being divided) prepared for clipping many pieces to it: its edges in
/// horizontal bands for point-in-polygon tests and on a lattice for "is this point on the outline".
struct Clipper<'a> {
    region: &'a MultiPolygon,
    banded: geometry::BandedPolygon,
    segs: Vec<(Coord, Coord)>,
    buckets: SegmentBuckets,
}

impl<'a> Clipper<'a> {
    fn new(region: &'a MultiPolygon) -> Clipper<'a> {
        let segs: Vec<(Coord, Coord)> = region
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|r| r.0.windows(2).map(|w| (w[0], w[1])))
            .collect();
        Clipper {
            region,
            banded: geometry::BandedPolygon::new(region),
            buckets: SegmentBuckets::new(&segs, ON_EDGE_M),
            segs,
        }
    }

    fn on_outline(&self, p: Coord) -> bool {
        self.buckets.near(p).iter().any(|&i| {
            let (a, b) = self.segs[i as usize];
            dist_to_segment(p, a, b) <= ON_EDGE_M
        })
    }

    /// `piece ∩ region`. A polygon of the piece that the region's outline does not pass through lies
    /// wholly inside the region or wholly outside it, which one point tells; only the others take a
    /// boolean operation.
    fn clip(&self, piece: &MultiPolygon) -> MultiPolygon {
        let mut kept = Vec::new();
        let mut across = Vec::new();
        let mut near = Vec::new();
        for poly in &piece.0 {
            let Some(r) = poly.bounding_rect() else {
                continue;
            };
            let mp = MultiPolygon(vec![poly.clone()]);
            let edges: Vec<(Coord, Coord)> = std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .flat_map(|ring| ring.0.windows(2).map(|w| (w[0], w[1])))
                .collect();
            self.buckets.in_rect(r.min(), r.max(), &mut near);
            let crossed = near.iter().any(|&i| {
                let (p, q) = self.segs[i as usize];
                passes_inside(p, q, &mp, &edges, r, ON_EDGE_M)
            });
            if crossed {
                across.push(poly.clone());
                continue;
            }
            let probe = poly
                .exterior()
                .0
                .iter()
                .copied()
                .find(|&c| !self.on_outline(c))
                .or_else(|| geo::InteriorPoint::interior_point(poly).map(|p| p.0));
            if probe.is_some_and(|c| self.banded.contains(c)) {
                kept.push(poly.clone());
            }
        }
        if !across.is_empty() {
            let cut = geometry::normalized(MultiPolygon(across).intersection(self.region));
            kept.extend(cut.0);
        }
        MultiPolygon(kept)
    }
}

/// Polygons of a multipolygon with a real area.
fn parts(mp: MultiPolygon) -> impl Iterator<Item = Polygon> {
    mp.0.into_iter().filter(|p| p.unsigned_area() > 1e-6)
}

/// A Voronoi piece of one site within the region.
struct SitePiece {
    polygon: Polygon,
    /// The atoms at the site.
    atoms: Vec<usize>,
    /// The site's index in [`SitePieces::cells`].
    site: usize,
}

/// Voronoi pieces of the positions of `atoms` within `region`: one piece per position, tagged with
/// the atoms at that position, and each site's whole (unclipped) Voronoi cell.
struct SitePieces {
    pieces: Vec<SitePiece>,
    cells: Vec<Polygon>,
}

/// One site per household position, so every household lies in a piece of its own building (a site
/// per building centre left a tower's entrance in the piece of a nearer tower, which `check` then
/// counted in another grid).
fn voronoi_pieces(
    region: &MultiPolygon,
    atoms: &[(usize, &Atom)],
    households: &[Household],
) -> SitePieces {
    let Some(bounds) = region.bounding_rect() else {
        return SitePieces {
            pieces: Vec::new(),
            cells: Vec::new(),
        };
    };
    let mut at: BTreeMap<(u64, u64), Vec<usize>> = BTreeMap::new();
    for (a, atom) in atoms {
        for p in atom.members.iter().map(|&m| households[m].pos) {
            let e = at.entry((p.x.to_bits(), p.y.to_bits())).or_default();
            if e.last() != Some(a) {
                e.push(*a);
            }
        }
    }
    let sites: Vec<Coord> = at
        .keys()
        .map(|&(x, y)| Coord {
            x: f64::from_bits(x),
            y: f64::from_bits(y),
        })
        .collect();
    let owners: Vec<Vec<usize>> = at.into_values().collect();
    let rings = voronoi(&sites, bounds);
    let clipper = Clipper::new(region);
    let mut out = Vec::new();
    let mut raw = Vec::new();
    for ((ring, owner), site) in rings.into_iter().zip(owners).zip(&sites) {
        let Some(poly) = ring_polygon(ring) else {
            continue;
        };
        let clipped: Vec<Polygon> =
            parts(clipper.clip(&MultiPolygon(vec![poly.clone()]))).collect();
        // A concave leaf can cut a site's cell in two: the households go with the part holding
        // their position, the other parts are land of no one's (joined with them, a grid would be
        // in two parts).
        let home = if clipped.len() > 1 {
            let at = geo::Point::from(*site);
            clipped
                .iter()
                .position(|p| geo::Intersects::intersects(p, &at))
                .unwrap_or(0)
        } else {
            0
        };
        for (j, p) in clipped.into_iter().enumerate() {
            out.push(SitePiece {
                polygon: p,
                atoms: if j == home { owner.clone() } else { Vec::new() },
                site: raw.len(),
            });
        }
        raw.push(poly);
    }
    SitePieces {
        pieces: out,
        cells: raw,
    }
}

/// Cuts `region` by a square lattice of side `step`.
fn lattice_pieces(region: &MultiPolygon, step: f64) -> Vec<Polygon> {
    let Some(r) = region.bounding_rect() else {
        return Vec::new();
    };
    if r.width() <= step && r.height() <= step {
        return parts(region.clone()).collect();
    }
    let x0 = (r.min().x / step).floor() as i64;
    let y0 = (r.min().y / step).floor() as i64;
    let x1 = (r.max().x / step).ceil() as i64;
    let y1 = (r.max().y / step).ceil() as i64;
    let mut out = Vec::new();
    for i in x0..x1 {
        for j in y0..y1 {
            let sq = MultiPolygon(vec![
                Rect::new(
                    Coord {
                        x: i as f64 * step,
                        y: j as f64 * step,
                    },
                    Coord {
                        x: (i + 1) as f64 * step,
                        y: (j + 1) as f64 * step,
                    },
                )
                .to_polygon(),
            ]);
            out.extend(parts(geometry::normalized(region.intersection(&sq))));
        }
    }
    out
}

/// Builds the cells of one leaf. `blocks` are the blocks that may meet the leaf (index, geometry).
pub fn build(
    leaf: &MultiPolygon,
    atoms: &[Atom],
    households: &[Household],
    blocks: &[(usize, &MultiPolygon, String)],
    max: u64,
) -> Cells {
    let mut pieces: Vec<Piece> = Vec::new();
    // Atoms of each piece, before joining.
    let mut piece_atoms: Vec<Vec<usize>> = Vec::new();
    let mut sites = Vec::new();
    if blocks.is_empty() {
        let all: Vec<(usize, &Atom)> = atoms.iter().enumerate().collect();
        let found = voronoi_pieces(leaf, &all, households);
        sites = found.cells;
        for p in found.pieces {
            pieces.push(Piece {
                polygon: p.polygon,
                block: None,
                site: Some(p.site),
                divided: false,
            });
            piece_atoms.push(p.atoms);
        }
        if pieces.is_empty() {
            sites.clear();
            for p in parts(leaf.clone()) {
                pieces.push(Piece {
                    polygon: p,
                    block: None,
                    site: None,
                    divided: false,
                });
                piece_atoms.push(Vec::new());
            }
        }
    } else {
        let mut covered: Vec<MultiPolygon> = Vec::new();
        let mut area_sum = 0.0;
        let clipper = Clipper::new(leaf);
        for (b, geom, _) in blocks {
            let clipped = clipper.clip(geom);
            for p in parts(clipped.clone()) {
                area_sum += p.unsigned_area();
                pieces.push(Piece {
                    polygon: p,
                    block: Some(*b),
                    site: None,
                    divided: false,
                });
            }
            if !clipped.0.is_empty() {
                covered.push(clipped);
            }
        }
        let leaf_area = geometry::area_m2(leaf);
        if area_sum > leaf_area * (1.0 + 1e-9) + 1.0 {
            // Blocks overlap: each keeps only what earlier blocks did not take.
            let mut taken = MultiPolygon(vec![]);
            let mut fixed = Vec::new();
            for piece in pieces.drain(..) {
                let mp = MultiPolygon(vec![piece.polygon]);
                let own = geometry::normalized(mp.difference(&taken));
                taken = geometry::normalized(taken.union(&mp));
                fixed.extend(parts(own).map(|p| Piece {
                    polygon: p,
                    block: piece.block,
                    site: None,
                    divided: false,
                }));
            }
            pieces = fixed;
        }
        // Land no block covers: none when the blocks tile the leaf (as street blocks do).
        let rest = if area_sum >= leaf_area - 1.0 {
            MultiPolygon(vec![])
        } else {
            let union = geometry::normalized(geo::unary_union(covered.iter()));
            geometry::normalized(leaf.difference(&union))
        };
        // Slivers under 1 m² between blocks are rounding noise (the check's tolerance), not land.
        let rest: Vec<Polygon> = rest
            .0
            .into_iter()
            .filter(|p| p.unsigned_area() >= 1.0)
            .collect();
        let rest_pieces = rest
            .into_iter()
            .flat_map(|p| lattice_pieces(&MultiPolygon(vec![p]), REMAINDER_LATTICE_M));
        for p in rest_pieces {
            pieces.push(Piece {
                polygon: p,
                block: None,
                site: None,
                divided: false,
            });
        }
        piece_atoms = vec![Vec::new(); pieces.len()];
        let index = PolygonIndex::new(
            pieces
                .iter()
                .map(|p| MultiPolygon(vec![p.polygon.clone()]))
                .collect(),
        );
        for (a, atom) in atoms.iter().enumerate() {
            let mut hit = false;
            for &m in &atom.members {
                if let Some(&p) = index.containing(households[m].pos).first() {
                    if piece_atoms[p].last() != Some(&a) {
                        piece_atoms[p].push(a);
                    }
                    hit = true;
                }
            }
            if !hit {
                // Outside every piece (a household placed by its `community` code): the nearest piece.
                let near = pieces
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let c = geo::Centroid::centroid(&p.polygon)
                            .map(|c| c.0)
                            .unwrap_or(atom.centre);
                        (i, (c.x - atom.centre.x).hypot(c.y - atom.centre.y))
                    })
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((p, _)) = near {
                    piece_atoms[p].push(a);
                }
            }
        }
    }
    let mut cells = group(pieces, &piece_atoms, atoms);
    cells.sites = sites;
    // Divide cells larger than a grid by their buildings.
    let over: Vec<usize> = (0..cells.len())
        .filter(|&c| cells.weight[c] > max && cells.atoms[c].len() > 1)
        .collect();
    if over.is_empty() {
        return cells;
    }
    // Divided cells are drawn from their clipped pieces.
    cells.sites.clear();
    for p in &mut cells.pieces {
        p.site = None;
    }
    let mut pieces = Vec::new();
    let mut piece_atoms = Vec::new();
    let mut divided = Vec::new();
    for (i, piece) in cells.pieces.iter().enumerate() {
        if !over.contains(&cells.cell_of[i]) {
            pieces.push(piece.clone());
            // Every piece of a cell lists the cell's atoms, so the grouping joins them again.
            piece_atoms.push(cells.atoms[cells.cell_of[i]].clone());
        }
    }
    for &c in &over {
        let region = geometry::normalized(MultiPolygon(
            cells
                .pieces
                .iter()
                .enumerate()
                .filter(|(i, _)| cells.cell_of[*i] == c)
                .map(|(_, p)| p.polygon.clone())
                .collect(),
        ));
        let in_cell: Vec<usize> = cells
            .pieces
            .iter()
            .enumerate()
            .filter(|(i, _)| cells.cell_of[*i] == c)
            .filter_map(|(_, p)| p.block)
            .collect();
        let block = in_cell.first().copied();
        let mut labels: Vec<String> = in_cell
            .iter()
            .filter_map(|b| blocks.iter().find(|x| x.0 == *b).map(|x| x.2.clone()))
            .collect();
        labels.sort();
        labels.dedup();
        let label = if labels.is_empty() {
            "(land without a block)".to_string()
        } else {
            labels.join(", ")
        };
        let members: Vec<(usize, &Atom)> = cells.atoms[c].iter().map(|&a| (a, &atoms[a])).collect();
        let start = pieces.len();
        for p in voronoi_pieces(&region, &members, households).pieces {
            let owners = p.atoms;
            pieces.push(Piece {
                polygon: p.polygon,
                block,
                site: None,
                divided: true,
            });
            piece_atoms.push(owners);
        }
        let sub = group(pieces[start..].to_vec(), &piece_atoms[start..], atoms);
        divided.push((label, cells.weight[c], sub.weight.clone()));
    }
    cells = group(pieces, &piece_atoms, atoms);
    cells.divided = divided;
    cells
}

/// Joins pieces sharing an atom into cells and sums their weights.
fn group(pieces: Vec<Piece>, piece_atoms: &[Vec<usize>], atoms: &[Atom]) -> Cells {
    let mut dsu = Dsu::new(pieces.len());
    // Parts of one block that the leaf's outline cuts apart are separate cells: joining them would
    // join everything between them.
    let mut first_piece: BTreeMap<usize, usize> = BTreeMap::new();
    for (p, list) in piece_atoms.iter().enumerate() {
        for &a in list {
            match first_piece.get(&a) {
                Some(&q) => dsu.join(p, q),
                None => {
                    first_piece.insert(a, p);
                }
            }
        }
    }
    let mut cell_ids: BTreeMap<usize, usize> = BTreeMap::new();
    let mut cell_of = Vec::with_capacity(pieces.len());
    for p in 0..pieces.len() {
        let root = dsu.find(p);
        let next = cell_ids.len();
        cell_of.push(*cell_ids.entry(root).or_insert(next));
    }
    let n = cell_ids.len();
    let mut cell_atoms: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (&a, &p) in &first_piece {
        cell_atoms[cell_of[p]].push(a);
    }
    let weight = cell_atoms
        .iter()
        .map(|list| list.iter().map(|&a| atoms[a].households).sum())
        .collect();
    Cells {
        pieces,
        cell_of,
        atoms: cell_atoms,
        weight,
        divided: Vec::new(),
        sites: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voronoi_cells_tile_the_bounds() {
        let mut rng = crate::rng::Rng::new(7);
        let sites: Vec<Coord> = (0..200)
            .map(|_| Coord {
                x: rng.range(0.0, 500.0),
                y: rng.range(0.0, 300.0),
            })
            .collect();
        let bounds = Rect::new(Coord { x: -5.0, y: -5.0 }, Coord { x: 505.0, y: 305.0 });
        let rings = voronoi(&sites, bounds);
        let total: f64 = rings
            .into_iter()
            .filter_map(ring_polygon)
            .map(|p| p.unsigned_area())
            .sum();
        let want = 512.0 * 312.0;
        assert!((total - want).abs() < 1e-6 * want, "{total} vs {want}");
    }

    #[test]
    fn each_site_is_inside_its_own_cell() {
        let sites = vec![
            Coord { x: 0.0, y: 0.0 },
            Coord { x: 10.0, y: 0.0 },
            Coord { x: 5.0, y: 8.0 },
            Coord { x: 5.0, y: 3.0 },
        ];
        let bounds = Rect::new(Coord { x: -20.0, y: -20.0 }, Coord { x: 30.0, y: 30.0 });
        for (s, ring) in sites.iter().zip(voronoi(&sites, bounds)) {
            let poly = MultiPolygon(vec![ring_polygon(ring).expect("cell")]);
            assert!(geometry::contains(&poly, *s));
        }
    }

    #[test]
    fn a_site_cell_cut_in_two_by_a_concave_leaf_keeps_its_households_in_one_part() {
        use crate::fixtures::{household, rect};
        // A U-shaped leaf (two arms 100 m wide joined at the bottom) and two households: one at the
        // top of the left arm, one low in the middle. The first one's Voronoi cell reaches over the
        // gap into the right arm; clipped, it is in two parts, and only the part holding the
        // household may carry it.
        let u = rect(0.0, 0.0, 300.0, 300.0).difference(&rect(100.0, 100.0, 200.0, 300.0));
        let households = vec![
            household(50.0, 290.0, 1, Some("a")),
            household(150.0, 20.0, 1, Some("b")),
        ];
        let atoms: Vec<Atom> = households
            .iter()
            .enumerate()
            .map(|(i, h)| Atom {
                centre: h.pos,
                radius: 0.0,
                households: 1,
                members: vec![i],
            })
            .collect();
        let indexed: Vec<(usize, &Atom)> = atoms.iter().enumerate().collect();
        let found = voronoi_pieces(&u, &indexed, &households);
        let of_first: Vec<&SitePiece> = found
            .pieces
            .iter()
            .filter(|p| p.atoms.contains(&0) || p.site == found.pieces[0].site)
            .collect();
        assert!(of_first.len() >= 2, "the first site's cell is cut in two");
        let holding: Vec<&&SitePiece> = of_first.iter().filter(|p| p.atoms.contains(&0)).collect();
        assert_eq!(holding.len(), 1, "one part carries the household");
        assert!(geometry::contains(
            &MultiPolygon(vec![holding[0].polygon.clone()]),
            households[0].pos
        ));
    }
}
