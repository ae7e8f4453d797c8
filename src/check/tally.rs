//! What the household points add up to: per grid, per leaf, per building, and in all.

use super::layout::Layout;
use crate::input::dataset::Dataset;
use crate::model::BuildingKey;
use foldhash::{HashMap, HashMapExt};
use rayon::prelude::*;
use std::collections::BTreeSet;

/// A building within its leaf (building ids are unique within a leaf only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct LeafBuilding<'a> {
    /// The leaf's tree index; `None` outside every leaf.
    pub leaf: Option<usize>,
    pub key: BuildingKey<'a>,
}

/// One grid's households.
#[derive(Debug, Clone, Default)]
pub(super) struct GridTally {
    pub households: u64,
    /// Residents of the points that give a population.
    pub population: u64,
    /// False when some point in the grid has no population.
    pub population_known: bool,
    /// Buildings with households in the grid.
    pub buildings: usize,
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
    pub grids: Vec<GridTally>,
    /// Per leaf, by position.
    pub leaves: Vec<LeafTally>,
    pub buildings: HashMap<LeafBuilding<'a>, BuildingTally>,
    /// Households in some grid, and in none.
    pub assigned: u64,
    pub unassigned: u64,
}

impl<'a> Tally<'a> {
    pub fn count(data: &'a Dataset, layout: &Layout) -> Tally<'a> {
        let positions: Vec<geo::Coord> = data.households.iter().map(|h| h.pos).collect();
        let grid_of = layout.grid_index.first_containing_each(&positions);
        // Building ids are unique within a leaf only, so the households of each leaf are tallied on
        // their own, side by side (those outside every leaf form one group more).
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); data.tree.areas.len() + 1];
        for (i, leaf) in data.leaf_of.iter().enumerate() {
            groups[leaf.map_or(0, |l| l + 1)].push(i);
        }
        let parts: Vec<Part> = groups
            .par_iter()
            .filter(|members| !members.is_empty())
            .map(|members| Part::count(data, layout, members, &grid_of))
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
            buildings: HashMap::with_capacity(parts.iter().map(|p| p.buildings.len()).sum()),
            assigned: 0,
            unassigned: 0,
        };
        for part in parts {
            if let Some(p) = part.leaf_pos {
                t.leaves[p].households += part.leaf.households;
                t.leaves[p].outside_grids += part.leaf.outside_grids;
            }
            t.assigned += part.assigned;
            t.unassigned += part.unassigned;
            for (g, counted) in part.grids {
                let grid = &mut t.grids[g];
                grid.households += counted.households;
                grid.population += counted.population;
                grid.population_known &= counted.population_known;
            }
            t.buildings.extend(part.buildings);
        }
        for building in t.buildings.values() {
            for &g in &building.grids {
                t.grids[g].buildings += 1;
            }
        }
        t
    }
}

/// The tally of one leaf's households.
struct Part<'a> {
    leaf_pos: Option<usize>,
    leaf: LeafTally,
    grids: HashMap<usize, GridTally>,
    buildings: HashMap<LeafBuilding<'a>, BuildingTally>,
    assigned: u64,
    unassigned: u64,
}

impl<'a> Part<'a> {
    fn count(
        data: &'a Dataset,
        layout: &Layout,
        members: &[usize],
        grid_of: &[Option<usize>],
    ) -> Part<'a> {
        let leaf = members.first().and_then(|&i| data.leaf_of[i]);
        let mut part = Part {
            leaf_pos: leaf.and_then(|l| layout.leaf_pos.get(&l).copied()),
            leaf: LeafTally::default(),
            grids: HashMap::new(),
            buildings: HashMap::new(),
            assigned: 0,
            unassigned: 0,
        };
        for &i in members {
            let h = &data.households[i];
            let n = h.households as u64;
            part.leaf.households += n;
            let key = LeafBuilding {
                leaf,
                key: h.building_key(),
            };
            let building = part.buildings.entry(key).or_default();
            building.households += n;
            match grid_of[i] {
                Some(g) => {
                    part.assigned += n;
                    let grid = part.grids.entry(g).or_insert_with(|| GridTally {
                        population_known: true,
                        ..GridTally::default()
                    });
                    grid.households += n;
                    match h.population {
                        Some(p) => grid.population += p as u64,
                        None => grid.population_known = false,
                    }
                    building.grids.insert(g);
                }
                None => {
                    part.unassigned += n;
                    part.leaf.outside_grids += n;
                }
            }
        }
        part
    }
}
