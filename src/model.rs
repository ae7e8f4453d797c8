//! The plain data every capability works on. Coordinates are in the working CRS (metres).

use geo::{Coord, MultiPolygon};
use serde::Serialize;

/// Counts of people who need visits. Sensitive: they leave the process only as workload hours, unless a
/// planner asks for them (SPEC §5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sensitive {
    pub elderly_alone: u32,
    pub key_persons: u32,
    pub vulnerable: u32,
}

impl std::ops::AddAssign for Sensitive {
    fn add_assign(&mut self, o: Sensitive) {
        self.elderly_alone += o.elderly_alone;
        self.key_persons += o.key_persons;
        self.vulnerable += o.vulnerable;
    }
}

/// One household point, or one building/address point carrying several households.
#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    /// Position of the feature in its file (0-based), for messages.
    pub feature: usize,
    pub id: Option<Box<str>>,
    pub pos: Coord,
    /// Households at this point (≥ 1).
    pub households: u32,
    /// Residents, when known.
    pub population: Option<u32>,
    pub building: Option<Box<str>>,
    pub entrance: Option<Box<str>>,
    /// The community code the file gives, if any.
    pub community: Option<Box<str>>,
    pub sensitive: Sensitive,
}

/// One unit of the boundary tree (district, town, community, village, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub feature: usize,
    pub code: String,
    pub name: Option<String>,
    pub level: Option<String>,
    pub parent: Option<String>,
    /// The `kind` the file gives; see [`AreaTree::kind`] for the inherited one.
    pub kind: Option<String>,
    pub geometry: MultiPolygon,
}

/// An existing grid, as read from a grids file.
#[derive(Debug, Clone, PartialEq)]
pub struct GridShape {
    pub feature: usize,
    pub id: String,
    /// The community code the file gives, if any.
    pub community: Option<String>,
    pub geometry: MultiPolygon,
    /// The `households` count the file declares, if any (informative only: counts are recounted).
    pub declared_households: Option<u64>,
    /// The `primary_worker` the file gives (an assignment file), if any.
    pub primary_worker: Option<String>,
}
