//! The ground layers (blocks and barriers) indexed once: the cells engine draws on them and the ground
//! measures and 四至 of the grids drawn are taken on the same indexes.

use crate::model::{Block, Layers};
use crate::spatial::barriers::BarrierIndex;
use crate::spatial::index::PolygonIndex;
use geo::{BoundingRect, MultiPolygon};

/// The ground layers with their indexes.
pub struct Ground<'a> {
    pub layers: &'a Layers,
    pub blocks: &'a [Block],
    pub block_index: PolygonIndex<&'a MultiPolygon>,
    pub barriers: BarrierIndex,
}

impl<'a> Ground<'a> {
    /// Indexes the blocks and the barriers, side by side.
    pub fn new(layers: &'a Layers) -> Ground<'a> {
        let (block_index, barriers) = rayon::join(
            || {
                crate::timing::phase("index the blocks", || {
                    PolygonIndex::new(layers.blocks.iter().map(|b| &b.geometry).collect())
                })
            },
            || {
                crate::timing::phase("index the barriers", || {
                    BarrierIndex::new(layers.barriers.iter().map(|b| (&b.geometry, b.rank)))
                })
            },
        );
        Ground {
            layers,
            blocks: &layers.blocks,
            block_index,
            barriers,
        }
    }

    /// Blocks whose envelope meets the area's: (index, geometry, label).
    pub fn blocks_near(&self, area: &MultiPolygon) -> Vec<(usize, &'a MultiPolygon, String)> {
        let Some(r) = area.bounding_rect() else {
            return Vec::new();
        };
        self.block_index
            .candidates(&r)
            .into_iter()
            .map(|i| (i, &self.blocks[i].geometry, self.blocks[i].label()))
            .collect()
    }
}

/// A value built here or lent by the caller (an index built once for several uses).
pub enum Held<'a, T> {
    Own(T),
    Lent(&'a T),
}

impl<T> std::ops::Deref for Held<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Held::Own(t) => t,
            Held::Lent(t) => t,
        }
    }
}
