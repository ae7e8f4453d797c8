//! The plain data every capability works on. Coordinates are in the working CRS (metres).

use geo::{Coord, MultiLineString, MultiPolygon};
use serde::Serialize;
use std::fmt;

pub mod date;
pub mod grid_code;

pub use date::Date;
pub use grid_code::{GridCode, IdStyle};

/// The code of a town or street (镇/街道), the unit that manages grid workers, in one form whatever its
/// source: a 9-digit statistical town code (`320116002`, common in county data) becomes its 12-digit form
/// (`320116002000`); any other code is kept as written (trimmed). Boundary trees, grid community codes and
/// workers files all go through [`TownCode::new`], so the same town is the same code on every side.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TownCode(String);

impl TownCode {
    /// Normalises a town code as written in a file.
    pub fn new(code: &str) -> Self {
        let c = code.trim();
        if c.len() == 9 && c.bytes().all(|b| b.is_ascii_digit()) {
            TownCode(format!("{c}000"))
        } else {
            TownCode(c.to_string())
        }
    }

    /// The town of a community from its statistical code alone: the first nine digits of a 12-digit
    /// (or 15-digit) community code. `None` for any other code.
    pub fn of_community(community: &str) -> Option<Self> {
        let c = community.trim();
        ((c.len() == 12 || c.len() == 15) && c.bytes().all(|b| b.is_ascii_digit()))
            .then(|| TownCode::new(&c[..9]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for TownCode {
    fn from(code: &str) -> Self {
        TownCode::new(code)
    }
}

impl fmt::Display for TownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Counts of people who need visits. Sensitive: they leave the process only as workload hours, unless a
/// planner asks for them (see the README, "Privacy").
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

/// Which building a household point belongs to: its `building` id, else its exact position (one point
/// carrying several households). Building ids are unique within a leaf only: code that looks across
/// leaves pairs the key with the leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuildingKey<'a> {
    Named(&'a str),
    /// The bits of the point's x and y (metres in the working CRS).
    At(u64, u64),
}

impl Household {
    /// The building this point belongs to.
    pub fn building_key(&self) -> BuildingKey<'_> {
        match &self.building {
            Some(b) => BuildingKey::Named(b),
            None => BuildingKey::At(self.pos.x.to_bits(), self.pos.y.to_bits()),
        }
    }
}

/// One unit of the boundary tree (district, town, community, village, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub feature: usize,
    pub code: String,
    pub name: Option<String>,
    pub level: Option<String>,
    pub parent: Option<String>,
    /// The `kind` the file gives; see [`crate::spatial::tree::AreaTree::kind`] for the inherited one.
    pub kind: Option<String>,
    pub geometry: MultiPolygon,
}

/// What a grid is for (Xi'an DB6101/T 3185-2024): a **basic** grid (基础网格) holds the households of
/// part of a community, under the band; a **dedicated** grid (专属网格) is a place run by its own
/// organisation (a school, a hospital, an enterprise, an industrial park, a market), exempt from it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GridKind {
    #[default]
    Basic,
    Dedicated,
}

impl GridKind {
    pub fn name(self) -> &'static str {
        match self {
            GridKind::Basic => "basic",
            GridKind::Dedicated => "dedicated",
        }
    }

    /// `basic` or `dedicated`.
    pub fn parse(text: &str) -> Option<GridKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "basic" => Some(GridKind::Basic),
            "dedicated" => Some(GridKind::Dedicated),
            _ => None,
        }
    }
}

/// A grid's record, as the grid platforms keep it: what it is called, what kind it is, who answers for
/// it (属地兜底), and the dates it is in force. Kept across re-draws: a grid that is kept keeps its
/// record; a grid that is retired gets `valid_to`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridRecord {
    pub kind: GridKind,
    pub name: Option<String>,
    /// The community (basic grids) or the unit (dedicated grids) answerable for the grid.
    pub responsible: Option<String>,
    /// The first day the grid is in force (`None`: not recorded).
    pub valid_from: Option<Date>,
    /// The first day the grid is no longer in force: the day it was retired (`None`: in force).
    pub valid_to: Option<Date>,
    /// For a dedicated grid: what the place is (`school`, `hospital`, …).
    pub unit: Option<String>,
    /// For a dedicated grid: the place's own code, when its file gives one.
    pub place_code: Option<String>,
    /// The highest sequence number ever issued in the grid's community, as the grids file records it
    /// on each of its grids (`last_seq`): numbers up to it are never issued again.
    pub last_number: Option<u32>,
    /// The 四至 the grids file gives (`bounds_description`, as `partition` writes it), if any: what the
    /// ledger and the atlas print; not read back into a plan (each drawing describes its grids afresh).
    pub bounds_description: Option<String>,
}

impl GridRecord {
    /// Whether the grid is in force on `day` (`valid_from ≤ day < valid_to`, open ends unrecorded).
    pub fn in_force_on(&self, day: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_to.is_none_or(|t| day < t)
    }
}

/// The standard code of a grid: the community's statistical code (12 digits, or 15 for communities
/// already on GA/T 2000.33 codes) followed by a 3-digit sequence number (1–999): 15 or 18 digits. An
/// error names what is wrong when the community code is not 12 or 15 digits or the number does not fit.
pub fn standard_grid_id(community: &str, number: u32) -> Result<String, String> {
    if !matches!(community.len(), 12 | 15) || !community.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "community code \"{community}\" is not a 12- or 15-digit statistical code"
        ));
    }
    if !(1..=999).contains(&number) {
        return Err(format!(
            "grid number {number} of community {community} does not fit 3 digits (1–999)"
        ));
    }
    Ok(format!("{community}{number:03}"))
}

/// A standard grid code read back: (community code, number); `None` when `id` is not 15 or 18 digits
/// or its sequence is 000.
pub fn parse_standard_grid_id(id: &str) -> Option<(&str, u32)> {
    if !matches!(id.len(), 15 | 18) || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (community, seq) = id.split_at(id.len() - 3);
    let n: u32 = seq.parse().ok()?;
    (n > 0).then_some((community, n))
}

/// The reading order of grids by their centroids: rows taken north→south, west→east within a row. A
/// row is a band `row_height` metres tall from the northernmost centroid down (the typical grid
/// height); returns the grid indexes in order (the first gets number 1).
pub fn reading_order(centroids: &[(f64, f64)], row_height: f64) -> Vec<usize> {
    let top = centroids
        .iter()
        .map(|c| c.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let height = if row_height.is_finite() && row_height > 0.0 {
        row_height
    } else {
        f64::INFINITY
    };
    let row = |y: f64| {
        if height.is_infinite() {
            0
        } else {
            ((top - y) / height).floor() as i64
        }
    };
    let mut order: Vec<usize> = (0..centroids.len()).collect();
    order.sort_by(|&a, &b| {
        let (ca, cb) = (centroids[a], centroids[b]);
        row(ca.1)
            .cmp(&row(cb.1))
            .then(ca.0.total_cmp(&cb.0))
            .then(cb.1.total_cmp(&ca.1))
    });
    order
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
    /// Its record: name, kind, who answers for it, when it is in force.
    pub record: GridRecord,
}

/// What kind of grid worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerType {
    /// Full-time grid worker (专职), the policy direction.
    FullTime,
    /// Part-time worker.
    PartTime,
    /// Village cadre holding the post alongside their own (兼任).
    Cadre,
}

impl WorkerType {
    pub fn parse(s: &str) -> Option<WorkerType> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "full_time" | "fulltime" => Some(WorkerType::FullTime),
            "part_time" | "parttime" => Some(WorkerType::PartTime),
            "cadre" => Some(WorkerType::Cadre),
            _ => None,
        }
    }
}

/// One grid worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// Feature index (GeoJSON) or data row (CSV, 1-based after the header) in its file.
    pub feature: usize,
    pub id: String,
    pub kind: WorkerType,
    /// Weekly hours available for grid work.
    pub hours: f64,
    /// Code of the managing town or street.
    pub town: TownCode,
    /// `false` for workers who exited: never assigned.
    pub active: bool,
    /// Grid ids held before.
    pub previous_grids: Vec<String>,
    /// Base or home location, in the working CRS.
    pub home: Coord,
    /// Name and phone, when the workers file gives them: personal data, written only to planner files
    /// (the ledger and the atlas of `gridplan report`, the planner's download), never on an open route.
    pub contact: Contact,
}

/// A worker's name and phone (`name`, `phone` in the workers file), each optional. Personal data:
/// deliberately not `Serialize`, so that no JSON the service or the command line writes can carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<String>,
}

impl Contact {
    /// A contact from the file's fields, blank ones taken as absent.
    pub fn new(name: Option<String>, phone: Option<String>) -> Contact {
        let keep = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Contact {
            name: keep(name),
            phone: keep(phone),
        }
    }
}

/// A block: land a grid should never cut (a street block, a compound, a school…), in the working CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub feature: usize,
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub geometry: MultiPolygon,
}

impl Block {
    /// How the block is called in messages: its code, else its name, else its feature index.
    pub fn label(&self) -> String {
        self.code
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| format!("block #{}", self.feature))
    }
}

/// A place run by its own organisation (a school, a hospital, an enterprise, an industrial park, a
/// market) that becomes a dedicated grid (专属网格) of its own, in the working CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Dedicated {
    pub feature: usize,
    /// The place's own code, when the file gives one.
    pub code: Option<String>,
    pub name: Option<String>,
    /// What the place is (`school`, `hospital`, `enterprise`, `park`, `market`, …): the file's `unit`,
    /// else its `kind`.
    pub unit: Option<String>,
    /// Who answers for it, when the file says (else the place itself, by its name).
    pub responsible: Option<String>,
    pub geometry: MultiPolygon,
}

impl Dedicated {
    /// How the place is called in messages: its name, else its code, else its feature index.
    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.code.clone())
            .unwrap_or_else(|| format!("dedicated place #{}", self.feature))
    }
}

/// A barrier: a line grid edges should follow (a road, a river, a railway, a wall), in the working CRS.
#[derive(Debug, Clone, PartialEq)]
pub struct Barrier {
    pub feature: usize,
    pub name: Option<String>,
    pub class: Option<String>,
    /// How strongly a grid edge should follow it: 0 (not at all) to 9; by default from the class
    /// (river, rail, arterial, expressway 3; road, street 2; anything else 1).
    pub rank: u32,
    pub geometry: MultiLineString,
}

/// The ground layers given to a command (either, both or neither).
#[derive(Debug, Clone, Default)]
pub struct Layers {
    pub blocks: Vec<Block>,
    pub barriers: Vec<Barrier>,
}

impl Layers {
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty() && self.barriers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::TownCode;

    #[test]
    fn nine_and_twelve_digit_town_codes_are_one_code() {
        assert_eq!(TownCode::new("320116002"), TownCode::new("320116002000"));
        assert_eq!(TownCode::new(" 320116002 ").as_str(), "320116002000");
        assert_eq!(TownCode::new("street-7").as_str(), "street-7");
        assert_eq!(
            TownCode::of_community("320116002203"),
            Some(TownCode::new("320116002"))
        );
        assert_eq!(
            TownCode::of_community("320116002203001"),
            Some(TownCode::new("320116002"))
        );
        assert_eq!(TownCode::of_community("village-3"), None);
    }
}

#[cfg(test)]
mod grid_code_tests {
    use super::*;

    #[test]
    fn standard_codes_are_the_community_code_and_three_digits() {
        assert_eq!(
            standard_grid_id("320116001003", 7).as_deref(),
            Ok("320116001003007")
        );
        assert_eq!(
            standard_grid_id("320116001003001", 12).as_deref(),
            Ok("320116001003001012")
        );
        assert!(standard_grid_id("3201160010", 1).is_err());
        assert!(standard_grid_id("32011600100A", 1).is_err());
        assert!(standard_grid_id("320116001003", 1000).is_err());
        assert!(standard_grid_id("320116001003", 0).is_err());
        assert_eq!(
            parse_standard_grid_id("320116001003007"),
            Some(("320116001003", 7))
        );
        assert_eq!(
            parse_standard_grid_id("320116001003001012"),
            Some(("320116001003001", 12))
        );
        assert_eq!(parse_standard_grid_id("320116001003000"), None);
        assert_eq!(parse_standard_grid_id("320116001003-G07"), None);
        assert_eq!(parse_standard_grid_id("32011600100307"), None);
    }

    #[test]
    fn grids_are_numbered_west_to_east_in_rows_north_to_south() {
        // Two rows of grids 500 m tall; the northern row's centroids wobble by up to 120 m.
        //   row 1 (y ≈ 1000): 2 at x=900, 0 at x=100 (a little lower), 4 at x=500 (a little higher)
        //   row 2 (y ≈  500): 3 at x=50, 1 at x=700
        let c = [
            (100.0, 900.0),
            (700.0, 500.0),
            (900.0, 1000.0),
            (50.0, 480.0),
            (500.0, 1020.0),
        ];
        assert_eq!(reading_order(&c, 500.0), vec![0, 4, 2, 3, 1]);
        // North→south alone (a row height of nothing) would put grid 4 first.
        let by_y: Vec<usize> = {
            let mut o: Vec<usize> = (0..c.len()).collect();
            o.sort_by(|&a, &b| c[b].1.total_cmp(&c[a].1));
            o
        };
        assert_eq!(by_y[0], 4);
        // No usable height: one row, west to east.
        assert_eq!(reading_order(&c, 0.0), vec![3, 0, 4, 1, 2]);
    }
}
