//! The check's report: every violation as a value naming the rule and the grid or leaf, the figures of
//! every grid and leaf, and the summary. Aggregates only: no household ids, no sensitive counts.

use crate::input::dataset::Outside;
use crate::lang::Lang;
use crate::lang::messages::Msg;
use crate::model::GridKind;
use crate::problem::Problem;
use crate::rules::{BandStatus, Measure};
use serde::Serialize;

/// The rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Fewer households than the band's minimum.
    BandUnder,
    /// More households than the band's maximum.
    BandOver,
    /// More residents than the population alert.
    PopulationAlert,
    /// Residents outside the population band (`min_population`–`max_population`), judged when the
    /// kind's measure is `population`, or `either` with the households out of band too.
    PopulationBand,
    /// Land of a leaf no grid covers.
    Gap,
    /// Land of a leaf two or more grids cover.
    Overlap,
    /// A grid reaching outside its leaf.
    CrossesLeaf,
    /// A grid lying outside every leaf.
    OutsideLeaves,
    /// A grid in several parts where its leaf is one part.
    MultiPart,
    /// A building whose households fall in more than one grid.
    SplitBuilding,
    /// A grid with no households.
    EmptyGrid,
    /// A leaf no grid covers at all.
    LeafWithoutGrid,
    /// Households of a leaf that lie in no grid.
    HouseholdsOutsideGrids,
    /// A block (street block, compound) whose land lies in more than one grid (with `--blocks`).
    SplitBlock,
    /// A grid id written as a standard code (digits only) that is not one: not a 12- or 15-digit
    /// community code and a 3-digit number from 001, or naming another community than its own.
    MalformedGridCode,
    /// Two grids of one community with the same number (in either form: `…007`, `…-G07`, `…-G7`).
    DuplicateCode,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub rule: Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf: Option<String>,
    /// What is wrong, in English (scripts read it).
    pub message: String,
    /// What is wrong, in Chinese (the same message of the catalogue).
    pub message_zh: String,
    /// The measured quantity (households, people, m², count), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

impl Violation {
    /// A violation of `rule` about `grid` and/or `leaf`, saying `message` in both languages.
    pub fn new(
        rule: Rule,
        grid: Option<String>,
        leaf: Option<String>,
        message: &Msg,
        value: Option<f64>,
    ) -> Violation {
        Violation {
            rule,
            grid,
            leaf,
            message: message.text(Lang::En),
            message_zh: message.text(Lang::Zh),
            value,
        }
    }

    /// The message in `lang`.
    pub fn message_in(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.message,
            Lang::Zh => &self.message_zh,
        }
    }
}

/// A grid's figures. Aggregates only: no household ids, no sensitive counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridRow {
    pub id: String,
    pub community: Option<String>,
    /// The community's kind (`urban`, `rural`, …), which picks the rules.
    pub kind: Option<String>,
    /// `basic` or `dedicated` (a dedicated grid is exempt from the band: its `status` is null).
    pub grid_kind: GridKind,
    pub households: u64,
    /// Residents; `None` when some household point in the grid has no `population`.
    pub population: Option<u64>,
    pub buildings: usize,
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// In band or not by the kind's measure (households, population, or either); `None` for a grid of
    /// no known kind, or judged by population when its population is unknown.
    pub status: Option<BandStatus>,
    /// Which count decides `status`.
    pub measure: Option<Measure>,
    /// Where the population stands against the population band, when it is known.
    pub population_status: Option<BandStatus>,
    pub min_population: Option<u32>,
    pub max_population: Option<u32>,
    pub population_alert: bool,
    pub area_m2: f64,
    pub outside_leaf_m2: f64,
    pub parts: usize,
    pub compactness: f64,
}

/// A leaf's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeafRow {
    pub code: String,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub households: u64,
    pub grids: usize,
    pub area_m2: f64,
    pub gap_area_m2: f64,
    pub overlap_area_m2: f64,
    pub households_outside_grids: u64,
    /// Why no whole number of grids fits the band, when none does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infeasible: Option<String>,
    /// [`infeasible`](Self::infeasible) in Chinese.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infeasible_zh: Option<String>,
}

/// The report's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub compliant: bool,
    pub violations: usize,
    pub grids: usize,
    /// Dedicated grids (counted in `grids`; exempt from the band, so in none of ok/under/over).
    pub dedicated_grids: usize,
    pub ok: usize,
    pub under: usize,
    pub over: usize,
    pub households_total: u64,
    pub households_assigned: u64,
    pub households_unassigned: u64,
    pub households_outside_leaves: Outside,
    pub population_known: bool,
    pub population_alerts: usize,
    /// Grid ids written as standard codes that are not, and numbers used twice in one community.
    pub malformed_codes: usize,
    pub duplicate_codes: usize,
    pub gap_area_m2: f64,
    pub overlap_area_m2: f64,
    pub grids_crossing_leaf: usize,
    pub grids_outside_leaves: usize,
    pub multi_part_grids: usize,
    pub split_buildings: usize,
    pub empty_grids: usize,
    /// Blocks without households whose land lies in more than one grid (with `--blocks`): a note, not
    /// a violation (the `split_block` rule counts blocks holding households, as `partition` does).
    pub empty_blocks_cut: usize,
    pub leaves: usize,
    pub leaves_without_grid: usize,
    pub leaves_infeasible: Vec<InfeasibleLeaf>,
    pub mean_compactness: f64,
    pub working_crs: String,
}

/// A leaf whose household count fits no whole number of grids.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfeasibleLeaf {
    pub leaf: String,
    pub households: u64,
    pub why: String,
    /// [`why`](Self::why) in Chinese.
    pub why_zh: String,
}

/// A building larger than a grid's maximum, divided between grids (by entrance): required, so reported
/// as a note rather than a violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OversizeSplit {
    pub leaf: Option<String>,
    pub building: Option<String>,
    pub households: u64,
    pub grids: Vec<String>,
}

/// The full compliance report (`report.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub summary: Summary,
    pub violations: Vec<Violation>,
    pub grids: Vec<GridRow>,
    pub leaves: Vec<LeafRow>,
    /// Oversize buildings divided between grids.
    pub oversize_buildings_split: Vec<OversizeSplit>,
    /// Blocks without households cut between grids (with `--blocks`): noted, not violations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub empty_blocks_cut: Vec<super::SplitBlock>,
    /// Data problems that did not stop the check.
    pub warnings: Vec<Problem>,
}
