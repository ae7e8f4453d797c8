//! Where the grids lie against the leaves: the land of each leaf each grid covers, and each grid's home
//! leaf.

use crate::input::dataset::Dataset;
use crate::model::GridShape;
use crate::spatial::geometry;
use crate::spatial::index::PolygonIndex;
use geo::MultiPolygon;
use rayon::prelude::*;
use std::collections::HashMap;

/// The land of a leaf one grid covers.
pub(super) struct CoverPiece {
    pub grid: usize,
    pub area_m2: f64,
    pub land: MultiPolygon,
}

/// How the grids cover one leaf.
pub(super) struct LeafCover {
    /// Area of the union of the pieces (m²).
    pub covered_m2: f64,
    pub pieces: Vec<CoverPiece>,
}

/// The share of a leaf a grid covers: (position of the leaf in `leaves`, m²).
#[derive(Debug, Clone, Copy)]
pub(super) struct InLeaf {
    pub leaf: usize,
    pub area_m2: f64,
}

/// The grids laid over the leaves.
pub(super) struct Layout<'a> {
    /// The leaves (indices into the tree's areas), in tree order.
    pub leaves: &'a [usize],
    /// Tree index → position in `leaves`.
    pub leaf_pos: HashMap<usize, usize>,
    pub grid_index: PolygonIndex<&'a MultiPolygon>,
    pub grid_area_m2: Vec<f64>,
    /// Per leaf (by position), how the grids cover it.
    pub covers: Vec<LeafCover>,
    /// Per grid, the leaves it covers land of.
    pub in_leaf: Vec<Vec<InLeaf>>,
    /// Per grid, its home leaf (position): the `community` it names when that is a leaf, else the leaf
    /// it covers most.
    pub home: Vec<Option<usize>>,
}

impl<'a> Layout<'a> {
    pub fn new(data: &'a Dataset, grids: &'a [GridShape]) -> Layout<'a> {
        let tree = &data.tree;
        let leaves = tree.leaves();
        let leaf_pos: HashMap<usize, usize> =
            leaves.iter().enumerate().map(|(p, &l)| (l, p)).collect();
        let grid_index = PolygonIndex::new(grids.iter().map(|g| &g.geometry).collect());
        let grid_area_m2: Vec<f64> = grids
            .par_iter()
            .map(|g| geometry::area_m2(&g.geometry))
            .collect();
        let covers: Vec<LeafCover> = leaves
            .par_iter()
            .map(|&l| cover(&tree.areas[l].geometry, grids, &grid_index, &grid_area_m2))
            .collect();
        let mut in_leaf: Vec<Vec<InLeaf>> = vec![Vec::new(); grids.len()];
        for (leaf, c) in covers.iter().enumerate() {
            for p in &c.pieces {
                in_leaf[p.grid].push(InLeaf {
                    leaf,
                    area_m2: p.area_m2,
                });
            }
        }
        let home = grids
            .iter()
            .zip(&in_leaf)
            .map(|(grid, inside)| {
                let named = grid
                    .community
                    .as_deref()
                    .and_then(|c| tree.get(c))
                    .and_then(|i| leaf_pos.get(&i).copied());
                named.or_else(|| {
                    inside
                        .iter()
                        .max_by(|a, b| a.area_m2.total_cmp(&b.area_m2).then(b.leaf.cmp(&a.leaf)))
                        .map(|x| x.leaf)
                })
            })
            .collect();
        Layout {
            leaves,
            leaf_pos,
            grid_index,
            grid_area_m2,
            covers,
            in_leaf,
            home,
        }
    }

    /// The tree index of the leaf at `pos`.
    pub fn leaf(&self, pos: usize) -> usize {
        self.leaves[pos]
    }
}

/// A leaf against every grid whose envelope meets it: the pieces of the leaf each grid covers.
fn cover(
    leaf: &MultiPolygon,
    grids: &[GridShape],
    grid_index: &PolygonIndex<&MultiPolygon>,
    grid_area_m2: &[f64],
) -> LeafCover {
    // The grids a leaf meets are intersected in parallel too: one leaf with a long outline and many
    // grids is otherwise one thread's work.
    let candidates: Vec<usize> = match geometry::bbox(leaf) {
        Some(r) => grid_index.candidates(&r),
        None => Vec::new(),
    };
    // A long outline is prepared once, to prove cheaply that the grids cut from it lie within it: the
    // exact intersection of such a grid with the outline is most of the check's time.
    let proof = (geometry::vertex_count(leaf) > geometry::LARGE_OUTLINE_VERTICES)
        .then(|| geometry::OutlineProof::new(leaf));
    let pieces: Vec<CoverPiece> = candidates
        .par_iter()
        .filter_map(|&g| {
            let grid = &grids[g].geometry;
            // A grid of a neighbouring leaf that only runs along this one covers none of it (but for
            // slivers under the tolerance); its exact intersection with a long outline is the costliest
            // operation of the check.
            if proof.as_ref().is_some_and(|p| p.outside(grid)) {
                return None;
            }
            if proof.as_ref().is_some_and(|p| p.within(grid)) {
                return (grid_area_m2[g] > 0.0).then(|| CoverPiece {
                    grid: g,
                    area_m2: grid_area_m2[g],
                    land: geometry::normalized(grid.clone()),
                });
            }
            let land = geometry::normalized(geometry::intersection_near(leaf, grid));
            let area_m2 = geometry::area_m2(&land);
            (area_m2 > 0.0).then_some(CoverPiece {
                grid: g,
                area_m2,
                land,
            })
        })
        .collect();
    let covered_m2 = if pieces.is_empty() {
        0.0
    } else {
        geometry::union_area(pieces.iter().map(|p| &p.land))
    };
    LeafCover { covered_m2, pieces }
}
