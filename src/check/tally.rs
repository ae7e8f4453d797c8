//! What the household points add up to: per grid, per leaf, per building, and in all.

use super::layout::Layout;
use crate::input::dataset::Dataset;
use crate::model::BuildingKey;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// A building within its leaf (building ids are unique within a leaf only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct LeafBuilding<'a> {
    /// The leaf's tree index; `None` outside every leaf.
    pub leaf: Option<usize>,
    pub key: BuildingKey<'a>,
}

/// One grid's households.
#[derive(Debug, Clone, Default)]
pub(super) struct GridTally<'a> {
    pub households: u64,
    /// Residents of the points that give a population.
    pub population: u64,
    /// False when some point in the grid has no population.
    pub population_known: bool,
    pub buildings: BTreeSet<LeafBuilding<'a>>,
}

/// One leaf's households.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LeafTally {
    pub households: u64,
    /// Households of the leaf in no grid.
    pub outside_grids: u64,
}

/// One building's households and the grids they fall in.
#[derive(Debug, Clone, Default)]
pub(super) struct BuildingTally {
    pub households: u64,
    pub grids: BTreeSet<usize>,
}

/// The households counted.
pub(super) struct Tally<'a> {
    /// Per grid.
    pub grids: Vec<GridTally<'a>>,
    /// Per leaf, by position.
    pub leaves: Vec<LeafTally>,
    pub buildings: HashMap<LeafBuilding<'a>, BuildingTally>,
    /// Households in some grid, and in none.
    pub assigned: u64,
    pub unassigned: u64,
}

impl<'a> Tally<'a> {
    pub fn count(data: &'a Dataset, layout: &Layout) -> Tally<'a> {
        let grid_of: Vec<Option<usize>> = data
            .households
            .par_iter()
            .map(|h| layout.grid_index.containing(h.pos).first().copied())
            .collect();
        let mut t = Tally {
            grids: vec![
                GridTally {
                    population_known: true,
                    ..GridTally::default()
                };
                layout.grid_area_m2.len()
            ],
            leaves: vec![LeafTally::default(); layout.leaves.len()],
            buildings: HashMap::new(),
            assigned: 0,
            unassigned: 0,
        };
        for (i, h) in data.households.iter().enumerate() {
            let n = h.households as u64;
            let leaf = data.leaf_of[i];
            let pos = leaf.and_then(|l| layout.leaf_pos.get(&l).copied());
            if let Some(p) = pos {
                t.leaves[p].households += n;
            }
            let key = LeafBuilding {
                leaf,
                key: h.building_key(),
            };
            let building = t.buildings.entry(key).or_default();
            building.households += n;
            match grid_of[i] {
                Some(g) => {
                    t.assigned += n;
                    let grid = &mut t.grids[g];
                    grid.households += n;
                    match h.population {
                        Some(p) => grid.population += p as u64,
                        None => grid.population_known = false,
                    }
                    grid.buildings.insert(key);
                    building.grids.insert(g);
                }
                None => {
                    t.unassigned += n;
                    if let Some(p) = pos {
                        t.leaves[p].outside_grids += n;
                    }
                }
            }
        }
        t
    }
}
