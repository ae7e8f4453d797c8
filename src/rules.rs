//! The rules in force: household bands per kind of area, population alerts, workload weights and worker
//! hours. Built-in defaults follow national practice (urban 300–500 households, rural
//! 200–300, a population alert above 2,000 people); a TOML file overrides any number,
//! per kind, and may add kinds. Every number has a name and a documented meaning; none is hidden in code.

use crate::lang::messages::{Msg, msg};
use crate::model::{IdStyle, WorkerType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rules for grids of one kind of area (`urban`, `rural`, or a kind a rules file adds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindRules {
    /// Fewest households a grid should hold (inclusive).
    pub min_households: u32,
    /// Most households a grid should hold (inclusive).
    pub max_households: u32,
    /// Household count the partition aims at; `None` means the middle of the band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_households: Option<u32>,
    /// Population the partition aims at when the kind's measure is `population`; `None` means the middle
    /// of the population band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_population: Option<u32>,
    /// Which count decides whether a grid is in band: households (the default), population, or either.
    #[serde(default)]
    pub measure: Measure,
    /// Fewest residents a grid should hold (inclusive), judged when the measure is `population` or `either`.
    pub min_population: u32,
    /// Most residents a grid should hold (inclusive), judged when the measure is `population` or `either`.
    pub max_population: u32,
    /// A grid with more residents than this is flagged (population alert).
    pub population_alert: u32,
}

/// Which count decides whether a grid is in band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The household band (`min_households`–`max_households`) alone.
    #[default]
    Households,
    /// The population band (`min_population`–`max_population`) alone.
    Population,
    /// In band when either the households or the population are in their band.
    Either,
}

impl Measure {
    /// The measure named `s`, if any.
    pub fn parse(s: &str) -> Option<Measure> {
        [Measure::Households, Measure::Population, Measure::Either]
            .into_iter()
            .find(|m| m.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Measure::Households => "households",
            Measure::Population => "population",
            Measure::Either => "either",
        }
    }
}

impl KindRules {
    /// The household count the partition aims at.
    pub fn target(&self) -> f64 {
        self.target_households
            .map(f64::from)
            .unwrap_or((self.min_households as f64 + self.max_households as f64) / 2.0)
    }

    /// The population the partition aims at under the `population` measure.
    pub fn population_target(&self) -> u32 {
        self.target_population.unwrap_or(
            ((u64::from(self.min_population) + u64::from(self.max_population)) / 2) as u32,
        )
    }

    /// Band status of a grid of `population` residents against the population band.
    pub fn population_status(&self, population: u64) -> BandStatus {
        if population < self.min_population as u64 {
            BandStatus::Under
        } else if population > self.max_population as u64 {
            BandStatus::Over
        } else {
            BandStatus::Ok
        }
    }

    /// The rules the partition counts with: these rules as they are, or, under the `population`
    /// measure, the population band and target in the places of the household band and target (the
    /// partition then weighs each point by its residents).
    pub fn counting(&self) -> std::borrow::Cow<'_, KindRules> {
        match self.measure {
            Measure::Population => std::borrow::Cow::Owned(KindRules {
                min_households: self.min_population,
                max_households: self.max_population,
                target_households: Some(self.population_target()),
                ..self.clone()
            }),
            _ => std::borrow::Cow::Borrowed(self),
        }
    }

    /// Band status of a grid holding `households`.
    pub fn status(&self, households: u64) -> BandStatus {
        if households < self.min_households as u64 {
            BandStatus::Under
        } else if households > self.max_households as u64 {
            BandStatus::Over
        } else {
            BandStatus::Ok
        }
    }

    /// The grid counts `k` with `k·min ≤ H ≤ k·max`, smallest first (empty when none fits).
    pub fn feasible_counts(&self, households: u64) -> std::ops::RangeInclusive<u64> {
        let (min, max) = (
            self.min_households.max(1) as u64,
            self.max_households.max(1) as u64,
        );
        let lo = households.div_ceil(max).max(1);
        let hi = households / min;
        lo..=hi
    }

    /// Why `households` fits no whole number of grids of this band, or `None` when some number does.
    pub fn infeasibility(&self, households: u64) -> Option<String> {
        self.infeasibility_msg(households)
            .map(|m| m.text(crate::lang::Lang::En))
    }

    /// [`infeasibility`](Self::infeasibility) as a message of the catalogue (said in either language).
    pub fn infeasibility_msg(&self, households: u64) -> Option<Msg> {
        if households == 0 {
            return Some(msg!(LeafNoHouseholds));
        }
        if !self.feasible_counts(households).is_empty() {
            return None;
        }
        let (min, max) = (self.min_households as u64, self.max_households as u64);
        if households < min {
            return Some(msg!(FewerThanOneGrid, households = households, min = min));
        }
        let fewer = households / max.max(1);
        let more = fewer + 1;
        Some(msg!(
            NoWholeNumber,
            households = households,
            min = min,
            max = max,
            fewer = fewer,
            more = more,
            each_fewer = format!("{:.0}", households as f64 / fewer.max(1) as f64),
            each_more = format!("{:.0}", households as f64 / more as f64),
        ))
    }
}

/// Where a grid's household count stands against its band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandStatus {
    Ok,
    Under,
    Over,
}

/// Weekly workload weights, in hours. These are **assumptions**: the national rules give no number
/// for them. Adjust them in the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
    /// How a grid's weekly workload is reckoned: `visits` (patrol plus the visits its residents need at
    /// their cadence, `[visits]`) or `weights` (patrol plus the hours per household and per person below).
    pub model: WorkloadModel,
    /// Hours per week per household (routine visits and information upkeep).
    pub hours_per_household: f64,
    /// Hours per week per elderly person living alone (regular check-in visits).
    pub hours_per_elderly_alone: f64,
    /// Hours per week per key person (community correction, released prisoners, …).
    pub hours_per_key_person: f64,
    /// Hours per week per person of another vulnerable group.
    pub hours_per_vulnerable: f64,
    /// Fixed patrol hours per grid per week: patrol stays the main duty whatever the household count.
    pub patrol_hours_per_grid: f64,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            model: WorkloadModel::Visits,
            hours_per_household: 0.05,
            hours_per_elderly_alone: 0.5,
            hours_per_key_person: 0.75,
            hours_per_vulnerable: 0.25,
            patrol_hours_per_grid: 8.0,
        }
    }
}

/// How a grid's weekly workload is reckoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WorkloadModel {
    /// Patrol plus visits × minutes per visit, from `[visits]`.
    #[default]
    Visits,
    /// Patrol plus assumed hours per household and per person needing visits (the weights).
    Weights,
}

/// How often a resident of a category must be visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Once in each of days 1–7, 8–14, 15–21 and 22–end of every month.
    Weekly,
    /// In every calendar month (last visited in October: overdue on 1 December).
    Monthly,
    /// In every run of three calendar months (last visited in September: due by 31 December).
    Quarterly,
    /// Not visited on a schedule.
    None,
}

impl Cadence {
    /// Visits in one month (a weekly resident is visited in each of the month's four windows).
    pub fn visits_per_month(self) -> f64 {
        match self {
            Cadence::Weekly => 4.0,
            Cadence::Monthly => 1.0,
            Cadence::Quarterly => 1.0 / 3.0,
            Cadence::None => 0.0,
        }
    }

    /// The longest a resident may go without a visit, in days; `None` when not scheduled.
    pub fn days(self) -> Option<i64> {
        match self {
            Cadence::Weekly => Some(7),
            Cadence::Monthly => Some(31),
            Cadence::Quarterly => Some(92),
            Cadence::None => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cadence::Weekly => "weekly",
            Cadence::Monthly => "monthly",
            Cadence::Quarterly => "quarterly",
            Cadence::None => "none",
        }
    }
}

/// Visits to residents: cadence per category (current elderly-care guidance: high-risk elderly people
/// living alone weekly, other priority groups monthly, the rest quarterly) and the time one visit takes.
/// A resident is a household point with a count above 0 in the category; `others` are every other
/// household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VisitRules {
    pub elderly_alone: Cadence,
    pub key_persons: Cadence,
    pub vulnerable: Cadence,
    /// Every household that is not a resident of a category above.
    pub others: Cadence,
    /// Minutes one visit takes, travel within the grid included (an ASSUMPTION: no national number).
    pub minutes_per_visit: f64,
    /// Rows of a visit log that name no household are counted and reported; more than this many and
    /// the log is refused (the log of another district, or ids from another system).
    pub max_unknown_log_rows: u64,
}

impl Default for VisitRules {
    fn default() -> Self {
        VisitRules {
            elderly_alone: Cadence::Weekly,
            key_persons: Cadence::Monthly,
            vulnerable: Cadence::Monthly,
            others: Cadence::Quarterly,
            minutes_per_visit: 20.0,
            max_unknown_log_rows: 1_000,
        }
    }
}

/// Who may hold a grid, and how many grids a worker may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffingPolicy {
    /// Every grid has its own full-time worker (专职化): a full-time worker holding such a grid holds
    /// no other; the shortfall is the number of grids without one.
    OneFullTimePerGrid,
    /// A worker of an allowed type holds grids as long as their weekly hours cover the workload; the
    /// shortfall is the uncovered workload packed into full-time weeks.
    ByHours,
}

impl StaffingPolicy {
    pub fn name(self) -> &'static str {
        match self {
            StaffingPolicy::OneFullTimePerGrid => "one_full_time_per_grid",
            StaffingPolicy::ByHours => "by_hours",
        }
    }
}

/// The staffing policy per kind of area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffingRules {
    /// The policy for grids whose kind is not listed in `kinds` (or not known).
    pub policy: StaffingPolicy,
    /// The policy per kind: by default full-time workers for urban grids, as the policy asks.
    pub kinds: BTreeMap<String, StaffingPolicy>,
}

impl Default for StaffingRules {
    fn default() -> Self {
        StaffingRules {
            policy: StaffingPolicy::ByHours,
            kinds: BTreeMap::from([("urban".to_string(), StaffingPolicy::OneFullTimePerGrid)]),
        }
    }
}

impl StaffingRules {
    /// The policy for a grid of this kind.
    pub fn for_kind(&self, kind: Option<&str>) -> StaffingPolicy {
        kind.and_then(|k| self.kinds.get(k))
            .copied()
            .unwrap_or(self.policy)
    }
}

/// Weekly hours a worker has for grid work when the workers file gives none. Assumptions, adjustable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerHours {
    /// Full-time grid workers (专职).
    pub full_time: f64,
    /// Part-time grid workers.
    pub part_time: f64,
    /// Village cadres holding the post alongside their own (兼任): their time is squeezed.
    pub cadre: f64,
}

impl Default for WorkerHours {
    fn default() -> Self {
        WorkerHours {
            full_time: 40.0,
            part_time: 20.0,
            cadre: 10.0,
        }
    }
}

/// Worker types take their default hours here, beside the hours themselves (the type is plain data in
/// [`crate::model`]; the numbers are rules).
impl WorkerType {
    /// Default weekly hours of this type, from the rules.
    pub fn default_hours(self, h: &WorkerHours) -> f64 {
        match self {
            WorkerType::FullTime => h.full_time,
            WorkerType::PartTime => h.part_time,
            WorkerType::Cadre => h.cadre,
        }
    }
}

/// Settings of the worker assignment (`gridplan assign`). Penalties are in metres of travel, so the
/// objective reads as "metres, plus metres-equivalent penalties".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssignRules {
    /// Worker types that may be a grid's responsible worker.
    pub allowed_types: Vec<String>,
    /// Nearest eligible workers considered per grid (previous holders are always considered).
    pub candidates_per_grid: usize,
    /// Penalty for moving a worker off a grid they held before, in metres of travel.
    pub move_penalty_m: f64,
    /// Penalty per weekly hour of workload left uncovered, in metres of travel: large, so that
    /// uncovering is the last resort and becomes the shortfall.
    pub uncovered_penalty_m_per_hour: f64,
    /// Time limit per town for the solver, in seconds.
    pub time_limit_s: f64,
    /// Relative MIP gap at which the solver may stop (0.001 = 0.1 %).
    pub mip_rel_gap: f64,
}

impl Default for AssignRules {
    fn default() -> Self {
        AssignRules {
            allowed_types: vec!["full_time".into(), "part_time".into(), "cadre".into()],
            candidates_per_grid: 12,
            move_penalty_m: 50_000.0,
            uncovered_penalty_m_per_hour: 10_000_000.0,
            time_limit_s: 10.0,
            mip_rel_gap: 0.001,
        }
    }
}

/// How the partition chooses the number of grids in a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CountPolicy {
    /// The feasible count nearest `households / target`.
    #[default]
    NearestTarget,
    /// The fewest feasible grids (fewer workers).
    Fewest,
}

/// Settings of the partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PartitionRules {
    pub count_policy: CountPolicy,
    /// How new grid ids are written: `standard` (`<community code><3 digits>`) or `legacy`
    /// (`<community code>-G<nn>`). `None`: standard when drawing afresh, the previous grids' form when
    /// re-drawing. `partition --grid-ids` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grid_ids: Option<IdStyle>,
}

/// Settings of the compliance check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckRules {
    /// Gaps, overlaps and areas outside a leaf smaller than this (m²) are rounding, not violations.
    pub area_tolerance_m2: f64,
    /// Slivers along a boundary are digitising and rounding noise (coordinates rounded to a millimetre
    /// leave slivers of that width along every edge): a gap, overlap or area outside the leaf smaller than
    /// the boundary's perimeter times this width (m) is not a violation.
    pub sliver_width_m: f64,
}

impl CheckRules {
    /// The area below which a gap, overlap or overhang along a boundary of `perimeter_m` is noise.
    pub fn tolerance_m2(&self, perimeter_m: f64) -> f64 {
        self.area_tolerance_m2
            .max(perimeter_m * self.sliver_width_m)
    }
}

impl Default for CheckRules {
    fn default() -> Self {
        CheckRules {
            area_tolerance_m2: 1.0,
            sliver_width_m: 0.005,
        }
    }
}

/// All rules in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    pub kinds: BTreeMap<String, KindRules>,
    pub workload: Workload,
    pub worker_hours: WorkerHours,
    pub partition: PartitionRules,
    pub check: CheckRules,
    pub assign: AssignRules,
    pub staffing: StaffingRules,
    pub visits: VisitRules,
}

/// The fewest households an open figure may describe. A grid (or community) of fewer households is
/// published on the open routes (OGC API collections, the public JSON, the map page) without its
/// household and population counts and what is computed from them, and neighbouring counts that
/// would give its count away by subtraction are withheld with it; a rules band whose minimum is
/// below it is refused, so that plans are not drawn to grids too small to publish. Twenty
/// households: the size at which one household's presence is no longer singled out by its grid's
/// count and centroid (a grid of one household puts its count and its position on the map).
pub const MIN_PUBLISHED_HOUSEHOLDS: u32 = 20;

/// National default: a grid of more than 2,000 residents is flagged.
pub const DEFAULT_POPULATION_ALERT: u32 = 2_000;
/// Default population band of an urban grid ("about 1,000 people"): 1,000 ± 20 %.
pub const URBAN_MIN_POPULATION: u32 = 800;
pub const URBAN_MAX_POPULATION: u32 = 1_200;
/// Default population band of a rural grid and of a kind a rules file adds: 200–300 households at
/// about three residents each.
pub const DEFAULT_MIN_POPULATION: u32 = 600;
pub const DEFAULT_MAX_POPULATION: u32 = 900;

impl Default for Rules {
    fn default() -> Self {
        let mut kinds = BTreeMap::new();
        kinds.insert(
            "urban".to_string(),
            KindRules {
                min_households: 300,
                max_households: 500,
                target_households: None,
                target_population: Some(1_000),
                measure: Measure::Households,
                min_population: URBAN_MIN_POPULATION,
                max_population: URBAN_MAX_POPULATION,
                population_alert: DEFAULT_POPULATION_ALERT,
            },
        );
        kinds.insert(
            "rural".to_string(),
            KindRules {
                min_households: 200,
                max_households: 300,
                target_households: None,
                target_population: None,
                measure: Measure::Households,
                min_population: DEFAULT_MIN_POPULATION,
                max_population: DEFAULT_MAX_POPULATION,
                population_alert: DEFAULT_POPULATION_ALERT,
            },
        );
        Rules {
            kinds,
            workload: Workload::default(),
            worker_hours: WorkerHours::default(),
            partition: PartitionRules::default(),
            check: CheckRules::default(),
            assign: AssignRules::default(),
            staffing: StaffingRules::default(),
            visits: VisitRules::default(),
        }
    }
}

/// What a rules file may say: any subset of the numbers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    kinds: BTreeMap<String, KindOverride>,
    workload: Option<Workload>,
    worker_hours: Option<WorkerHours>,
    partition: Option<PartitionRules>,
    check: Option<CheckRules>,
    assign: Option<AssignRules>,
    staffing: Option<StaffingRules>,
    visits: Option<VisitRules>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindOverride {
    min_households: Option<u32>,
    max_households: Option<u32>,
    target_households: Option<u32>,
    target_population: Option<u32>,
    /// Read as text so that a bad value is named with its key.
    measure: Option<String>,
    min_population: Option<u32>,
    max_population: Option<u32>,
    population_alert: Option<u32>,
}

/// Hours in a week: no weekly workload weight or worker's hours can exceed it.
const HOURS_IN_A_WEEK: f64 = 168.0;
/// The largest penalty (in metres of travel) the assignment accepts: far above any town's distances,
/// far below what the solver would read as infinite.
const MAX_PENALTY_M: f64 = 1e12;
/// The largest sliver tolerance (m² or m) the check accepts.
const MAX_TOLERANCE: f64 = 1e9;

/// `Ok` when `v` is a finite number in `[lo, hi]`; else a message naming the key and the range.
fn within(key: &str, v: f64, lo: f64, hi: f64) -> std::result::Result<(), String> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("{key}: {v} must be a number from {lo} to {hi}"))
    }
}

impl Rules {
    /// Parses TOML over the defaults; the error names the offending key.
    pub fn from_toml(text: &str) -> std::result::Result<Rules, String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Rules::default();
        for (name, o) in file.kinds {
            let measure = match o.measure.as_deref() {
                None => None,
                Some(m) => Some(Measure::parse(m).ok_or_else(|| {
                    format!(
                        "kinds.{name}.measure: unknown measure \"{m}\" (households | population | either)"
                    )
                })?),
            };
            let merged = match rules.kinds.get(&name) {
                Some(base) => KindRules {
                    min_households: o.min_households.unwrap_or(base.min_households),
                    max_households: o.max_households.unwrap_or(base.max_households),
                    target_households: o.target_households.or(base.target_households),
                    target_population: o.target_population.or(base.target_population),
                    measure: measure.unwrap_or(base.measure),
                    min_population: o.min_population.unwrap_or(base.min_population),
                    max_population: o.max_population.unwrap_or(base.max_population),
                    population_alert: o.population_alert.unwrap_or(base.population_alert),
                },
                None => KindRules {
                    min_households: o
                        .min_households
                        .ok_or_else(|| format!("kinds.{name}: a new kind needs min_households"))?,
                    max_households: o
                        .max_households
                        .ok_or_else(|| format!("kinds.{name}: a new kind needs max_households"))?,
                    target_households: o.target_households,
                    target_population: o.target_population,
                    measure: measure.unwrap_or_default(),
                    min_population: o.min_population.unwrap_or(DEFAULT_MIN_POPULATION),
                    max_population: o.max_population.unwrap_or(DEFAULT_MAX_POPULATION),
                    population_alert: o.population_alert.unwrap_or(DEFAULT_POPULATION_ALERT),
                },
            };
            if merged.min_households == 0 || merged.min_households > merged.max_households {
                return Err(format!(
                    "kinds.{name}: need 1 ≤ min_households ({}) ≤ max_households ({})",
                    merged.min_households, merged.max_households
                ));
            }
            if merged.min_households < MIN_PUBLISHED_HOUSEHOLDS {
                return Err(format!(
                    "kinds.{name}: min_households {} is below {MIN_PUBLISHED_HOUSEHOLDS}, the smallest grid gridplan publishes with its counts: grids drawn that small would be published without them (their figures would single out households); use {MIN_PUBLISHED_HOUSEHOLDS} or more",
                    merged.min_households
                ));
            }
            if let Some(t) = merged.target_households
                && !(merged.min_households..=merged.max_households).contains(&t)
            {
                return Err(format!(
                    "kinds.{name}: target_households {t} lies outside the band {}–{}",
                    merged.min_households, merged.max_households
                ));
            }
            if merged.min_population == 0 || merged.min_population > merged.max_population {
                return Err(format!(
                    "kinds.{name}: need 1 ≤ min_population ({}) ≤ max_population ({})",
                    merged.min_population, merged.max_population
                ));
            }
            if let Some(t) = merged.target_population
                && !(merged.min_population..=merged.max_population).contains(&t)
            {
                return Err(format!(
                    "kinds.{name}: target_population {t} lies outside the population band {}–{}",
                    merged.min_population, merged.max_population
                ));
            }
            rules.kinds.insert(name, merged);
        }
        if let Some(w) = file.workload {
            for (name, v) in [
                ("hours_per_household", w.hours_per_household),
                ("hours_per_elderly_alone", w.hours_per_elderly_alone),
                ("hours_per_key_person", w.hours_per_key_person),
                ("hours_per_vulnerable", w.hours_per_vulnerable),
                ("patrol_hours_per_grid", w.patrol_hours_per_grid),
            ] {
                within(&format!("workload.{name}"), v, 0.0, HOURS_IN_A_WEEK)?;
            }
            rules.workload = w;
        }
        if let Some(h) = file.worker_hours {
            for (name, v) in [
                ("full_time", h.full_time),
                ("part_time", h.part_time),
                ("cadre", h.cadre),
            ] {
                within(&format!("worker_hours.{name}"), v, 0.0, HOURS_IN_A_WEEK)?;
            }
            rules.worker_hours = h;
        }
        if let Some(p) = file.partition {
            rules.partition = p;
        }
        if let Some(a) = file.assign {
            for t in &a.allowed_types {
                if WorkerType::parse(t).is_none() {
                    return Err(format!("assign.allowed_types: unknown type \"{t}\""));
                }
            }
            // Ranges the solver can work with: HiGHS takes coefficients of 1e20 and more as infinite,
            // and a zero time limit lets it find nothing.
            within(
                "assign.move_penalty_m",
                a.move_penalty_m,
                0.0,
                MAX_PENALTY_M,
            )?;
            within(
                "assign.uncovered_penalty_m_per_hour",
                a.uncovered_penalty_m_per_hour,
                0.0,
                MAX_PENALTY_M,
            )?;
            within("assign.mip_rel_gap", a.mip_rel_gap, 0.0, 1.0)?;
            within("assign.time_limit_s", a.time_limit_s, 0.0, 86_400.0)?;
            if a.time_limit_s <= 0.0 {
                return Err(format!(
                    "assign.time_limit_s: {} must be more than 0 seconds (at most 86400)",
                    a.time_limit_s
                ));
            }
            if !(1..=1_000).contains(&a.candidates_per_grid) {
                return Err(format!(
                    "assign.candidates_per_grid: {} must be between 1 and 1000",
                    a.candidates_per_grid
                ));
            }
            rules.assign = a;
        }
        if let Some(c) = file.check {
            for (name, v) in [
                ("area_tolerance_m2", c.area_tolerance_m2),
                ("sliver_width_m", c.sliver_width_m),
            ] {
                within(&format!("check.{name}"), v, 0.0, MAX_TOLERANCE)?;
            }
            rules.check = c;
        }
        if let Some(st) = file.staffing {
            rules.staffing = st;
        }
        if let Some(v) = file.visits {
            within(
                "visits.minutes_per_visit",
                v.minutes_per_visit,
                0.0,
                24.0 * 60.0,
            )?;
            rules.visits = v;
        }
        Ok(rules)
    }

    /// The rules of a kind, when the kind is known.
    pub fn kind(&self, kind: &str) -> Option<&KindRules> {
        self.kinds.get(kind)
    }

    /// The rules in force as commented TOML, itself a valid rules file.
    pub fn to_commented_toml(&self) -> String {
        let mut out = String::from(
            "# gridplan rules in force. Save as a file, edit, and pass with --rules.\n\
             # Defaults follow national practice: urban grids 300–500 households (about 1,000 people),\n\
             # rural grids 200–300 households, a population alert above 2,000 people.\n",
        );
        out.push_str(&format!(
            "# Privacy: no open figure describes fewer than {MIN_PUBLISHED_HOUSEHOLDS} households. Grids of fewer are published\n\
             # without their household and population counts, and min_households may not be below {MIN_PUBLISHED_HOUSEHOLDS}.\n\n"
        ));
        for (name, k) in &self.kinds {
            out.push_str(&format!("[kinds.{name}]\n"));
            out.push_str(&format!(
                "min_households = {}      # fewest households in a grid (inclusive)\n",
                k.min_households
            ));
            out.push_str(&format!(
                "max_households = {}      # most households in a grid (inclusive)\n",
                k.max_households
            ));
            match k.target_households {
                Some(t) => out.push_str(&format!(
                    "target_households = {t}   # size the partition aims at\n"
                )),
                None => out.push_str(&format!(
                    "# target_households = {}  # size the partition aims at (default: middle of the band)\n",
                    k.target()
                )),
            }
            out.push_str(&format!(
                "measure = \"{}\"   # households | population | either: which band decides\n",
                k.measure.name()
            ));
            out.push_str(&format!(
                "min_population = {}   # fewest residents in a grid (measure population or either)\n",
                k.min_population
            ));
            out.push_str(&format!(
                "max_population = {}   # most residents in a grid (measure population or either)\n",
                k.max_population
            ));
            match k.target_population {
                Some(p) => out.push_str(&format!(
                    "target_population = {p}  # residents the partition aims at (measure population)\n"
                )),
                None => out.push_str(&format!(
                    "# target_population = {}  # residents the partition aims at (default: middle of the band)\n",
                    k.population_target()
                )),
            }
            out.push_str(&format!(
                "population_alert = {}   # grids with more residents are flagged\n\n",
                k.population_alert
            ));
        }
        let w = &self.workload;
        out.push_str("# Workload weights, hours per week: ASSUMPTIONS the field gives no number for; adjust.\n");
        out.push_str("[workload]\n");
        out.push_str(&format!(
            "hours_per_household = {}      # routine visits, information upkeep\n",
            w.hours_per_household
        ));
        out.push_str(&format!(
            "hours_per_elderly_alone = {}  # check-in visits to elderly people living alone\n",
            w.hours_per_elderly_alone
        ));
        out.push_str(&format!(
            "hours_per_key_person = {}    # key persons (community correction, …)\n",
            w.hours_per_key_person
        ));
        out.push_str(&format!(
            "hours_per_vulnerable = {}    # other vulnerable people\n",
            w.hours_per_vulnerable
        ));
        out.push_str(&format!(
            "patrol_hours_per_grid = {}   # patrol, the main duty, per grid\n",
            w.patrol_hours_per_grid
        ));
        let model = match w.model {
            WorkloadModel::Visits => "visits",
            WorkloadModel::Weights => "weights",
        };
        out.push_str(&format!(
            "model = \"{model}\"   # visits: patrol + [visits] at their cadence | weights: patrol + the hours above\n\n"
        ));
        let v = &self.visits;
        out.push_str("# Visits: how often a resident of each category is visited (weekly | monthly | quarterly | none).\n");
        out.push_str("# Defaults follow current elderly-care guidance. A resident is a household point with a count > 0.\n");
        out.push_str("# weekly: within 7 days of the last visit (the month's visits fall in days 1-7, 8-14, 15-21, 22-end);\n");
        out.push_str("# monthly: in every calendar month (last visited on 31 October or on 1 October: overdue on 1 December);\n");
        out.push_str("# quarterly: in every run of three calendar months (last visited in September: due by 31 December).\n");
        out.push_str("[visits]\n");
        out.push_str(&format!(
            "elderly_alone = \"{}\"   # elderly people living alone (high risk)\n",
            v.elderly_alone.name()
        ));
        out.push_str(&format!(
            "key_persons = \"{}\"    # key persons (community correction, …)\n",
            v.key_persons.name()
        ));
        out.push_str(&format!(
            "vulnerable = \"{}\"     # other vulnerable people\n",
            v.vulnerable.name()
        ));
        out.push_str(&format!(
            "others = \"{}\"       # every other household\n",
            v.others.name()
        ));
        out.push_str(&format!(
            "minutes_per_visit = {:?}   # ASSUMPTION: one visit, walking within the grid included\n",
            v.minutes_per_visit
        ));
        out.push_str(&format!(
            "max_unknown_log_rows = {}   # visit-log rows naming no household: reported; more than this refuses the log\n\n",
            v.max_unknown_log_rows
        ));
        let st = &self.staffing;
        out.push_str("# Staffing policy: one_full_time_per_grid (every grid its own full-time worker) | by_hours\n");
        out.push_str("[staffing]\n");
        out.push_str(&format!(
            "policy = \"{}\"   # for kinds not listed below\n",
            st.policy.name()
        ));
        out.push_str("[staffing.kinds]\n");
        for (kind, policy) in &st.kinds {
            out.push_str(&format!("{kind} = \"{}\"\n", policy.name()));
        }
        out.push('\n');
        let h = &self.worker_hours;
        out.push_str("# Weekly hours a worker has for grid work when the workers file gives none: ASSUMPTIONS.\n");
        out.push_str("[worker_hours]\n");
        out.push_str(&format!(
            "full_time = {}   # full-time grid workers\n",
            h.full_time
        ));
        out.push_str(&format!(
            "part_time = {}   # part-time workers\n",
            h.part_time
        ));
        out.push_str(&format!(
            "cadre = {}       # village cadres holding the post alongside their own\n\n",
            h.cadre
        ));
        out.push_str("[partition]\n");
        let policy = match self.partition.count_policy {
            CountPolicy::NearestTarget => "nearest_target",
            CountPolicy::Fewest => "fewest",
        };
        out.push_str(&format!(
            "count_policy = \"{policy}\"   # nearest_target | fewest: how many grids a community gets\n"
        ));
        match self.partition.grid_ids {
            Some(style) => out.push_str(&format!(
                "grid_ids = \"{style}\"   # standard (<community code><3 digits>) | legacy (<community code>-G<nn>)\n\n"
            )),
            None => out.push_str(
                "# grid_ids = \"standard\"   # standard (<community code><3 digits>) | legacy (<community code>-G<nn>); unset: standard, or the previous grids' form on a re-draw\n\n",
            ),
        }
        let a = &self.assign;
        out.push_str("# Worker assignment. Penalties are in metres of travel.\n[assign]\n");
        out.push_str(&format!(
            "allowed_types = [{}]   # who may be a grid's responsible worker\n",
            a.allowed_types
                .iter()
                .map(|t| format!("\"{t}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push_str(&format!(
            "candidates_per_grid = {}   # nearest eligible workers considered per grid\n",
            a.candidates_per_grid
        ));
        out.push_str(&format!(
            "move_penalty_m = {:?}   # moving a worker off a grid they held\n",
            a.move_penalty_m
        ));
        out.push_str(&format!("uncovered_penalty_m_per_hour = {:?}   # per weekly hour left uncovered (the shortfall)\n", a.uncovered_penalty_m_per_hour));
        out.push_str(&format!(
            "time_limit_s = {:?}   # solver time limit per town\n",
            a.time_limit_s
        ));
        out.push_str(&format!(
            "mip_rel_gap = {:?}   # the solver may stop within this relative gap\n\n",
            a.mip_rel_gap
        ));
        out.push_str("[check]\n");
        out.push_str(&format!(
            "area_tolerance_m2 = {}   # gaps/overlaps smaller than this are rounding, not violations\n",
            self.check.area_tolerance_m2
        ));
        out.push_str(&format!(
            "sliver_width_m = {}   # …nor are slivers thinner than this along a boundary (perimeter × width)\n",
            self.check.sliver_width_m
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_national_practice() {
        let r = Rules::default();
        assert_eq!(r.kinds["urban"].min_households, 300);
        assert_eq!(r.kinds["urban"].max_households, 500);
        assert_eq!(r.kinds["rural"].min_households, 200);
        assert_eq!(r.kinds["rural"].max_households, 300);
        assert_eq!(r.kinds["rural"].population_alert, 2_000);
    }

    #[test]
    fn a_file_overrides_per_kind_and_adds_kinds() {
        let r = Rules::from_toml(
            "[kinds.urban]\nmax_households = 600\n[kinds.mountain]\nmin_households = 50\nmax_households = 150\n",
        )
        .expect("valid");
        assert_eq!(r.kinds["urban"].min_households, 300);
        assert_eq!(r.kinds["urban"].max_households, 600);
        assert_eq!(r.kinds["mountain"].max_households, 150);
        assert!(Rules::from_toml("[kinds.urban]\nmax_houshold = 6\n").is_err());
        assert!(Rules::from_toml("[kinds.x]\nmin_households = 5\n").is_err());
    }

    #[test]
    fn a_band_below_the_smallest_published_grid_is_refused_by_name() {
        for text in [
            "[kinds.urban]\nmin_households = 1\nmax_households = 1\n",
            "[kinds.rural]\nmin_households = 19\n",
            "[kinds.mountain]\nmin_households = 5\nmax_households = 50\n",
        ] {
            let e = Rules::from_toml(text).unwrap_err();
            assert!(
                e.contains("min_households") && e.contains("below 20"),
                "{e}"
            );
        }
        let r = Rules::from_toml("[kinds.urban]\nmin_households = 20\nmax_households = 40\n");
        assert_eq!(r.expect("valid").kinds["urban"].min_households, 20);
        assert!(
            Rules::default()
                .to_commented_toml()
                .contains("fewer than 20 households")
        );
    }

    #[test]
    fn the_printed_rules_read_back_to_the_same_rules() {
        let r = Rules::default();
        assert_eq!(Rules::from_toml(&r.to_commented_toml()).expect("parses"), r);
    }

    #[test]
    fn the_measure_and_population_band_are_read_and_checked() {
        let r = Rules::default();
        assert_eq!(r.kinds["urban"].measure, Measure::Households);
        assert_eq!(
            (
                r.kinds["urban"].min_population,
                r.kinds["urban"].max_population
            ),
            (800, 1_200)
        );
        let r = Rules::from_toml(
            "[kinds.urban]\nmeasure = \"population\"\nmin_population = 900\n[kinds.rural]\nmeasure = \"either\"\n",
        )
        .expect("valid");
        assert_eq!(r.kinds["urban"].measure, Measure::Population);
        assert_eq!(r.kinds["urban"].min_population, 900);
        assert_eq!(r.kinds["urban"].max_population, 1_200);
        assert_eq!(r.kinds["rural"].measure, Measure::Either);
        assert_eq!(Rules::from_toml(&r.to_commented_toml()).expect("parses"), r);
        // Under `population` the partition counts with the population band and target.
        let counting = r.kinds["urban"].counting();
        assert_eq!(
            (counting.min_households, counting.max_households),
            (900, 1_200)
        );
        assert_eq!(counting.target(), 1_000.0);
        assert_eq!(r.kinds["rural"].counting().max_households, 300);
        for (text, key) in [
            (
                "[kinds.urban]\nmeasure = \"people\"\n",
                "kinds.urban.measure",
            ),
            ("[kinds.urban]\nmin_population = 1500\n", "min_population"),
            ("[kinds.urban]\nmin_population = 0\n", "min_population"),
            (
                "[kinds.rural]\ntarget_population = 5000\n",
                "target_population",
            ),
            ("[kinds.urban]\nmax_population = -3\n", "max_population"),
        ] {
            let e = Rules::from_toml(text).expect_err(text);
            assert!(e.contains(key), "{text}: {e}");
        }
    }

    #[test]
    fn feasible_counts_follow_the_band() {
        let urban = &Rules::default().kinds["urban"];
        assert_eq!(urban.feasible_counts(550).count(), 0);
        assert_eq!(urban.feasible_counts(900).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(urban.feasible_counts(120).count(), 0);
    }
}
