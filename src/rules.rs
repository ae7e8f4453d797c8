//! The rules in force: household bands per kind of area, population alerts, workload weights and worker
//! hours. Built-in defaults follow national practice (see `DOMAIN.md`); a TOML file overrides any number,
//! per kind, and may add kinds. Every number has a name and a documented meaning; none is hidden in code.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

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
    /// Soft population target per grid ("about 1,000 people" for urban grids); reported, never enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_population: Option<u32>,
    /// A grid with more residents than this is flagged (population alert).
    pub population_alert: u32,
}

impl KindRules {
    /// The household count the partition aims at.
    pub fn target(&self) -> f64 {
        self.target_households
            .map(f64::from)
            .unwrap_or((self.min_households as f64 + self.max_households as f64) / 2.0)
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
}

/// Where a grid's household count stands against its band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BandStatus {
    Ok,
    Under,
    Over,
}

/// Weekly workload weights, in hours. These are **assumptions** the field gives no number for
/// (`DOMAIN.md`, "Assumptions"): adjust them in the rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Workload {
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
            hours_per_household: 0.05,
            hours_per_elderly_alone: 0.5,
            hours_per_key_person: 0.75,
            hours_per_vulnerable: 0.25,
            patrol_hours_per_grid: 8.0,
        }
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
}

/// National default: a grid of more than 2,000 residents is flagged.
pub const DEFAULT_POPULATION_ALERT: u32 = 2_000;

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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindOverride {
    min_households: Option<u32>,
    max_households: Option<u32>,
    target_households: Option<u32>,
    target_population: Option<u32>,
    population_alert: Option<u32>,
}

impl Rules {
    /// Reads a rules file over the defaults.
    pub fn from_file(path: &Path) -> Result<Rules> {
        let bytes = crate::io::input::read_input(path, crate::io::input::Expect::Text)?;
        let text = String::from_utf8(bytes).map_err(|e| Error::Rules {
            path: path.to_path_buf(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        Rules::from_toml(&text).map_err(|message| Error::Rules {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Loads the rules file when one is given, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Rules> {
        path.map_or_else(|| Ok(Rules::default()), Rules::from_file)
    }

    /// Parses TOML over the defaults; the error names the offending key.
    pub fn from_toml(text: &str) -> std::result::Result<Rules, String> {
        let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut rules = Rules::default();
        for (name, o) in file.kinds {
            let merged = match rules.kinds.get(&name) {
                Some(base) => KindRules {
                    min_households: o.min_households.unwrap_or(base.min_households),
                    max_households: o.max_households.unwrap_or(base.max_households),
                    target_households: o.target_households.or(base.target_households),
                    target_population: o.target_population.or(base.target_population),
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
                    population_alert: o.population_alert.unwrap_or(DEFAULT_POPULATION_ALERT),
                },
            };
            if merged.min_households == 0 || merged.min_households > merged.max_households {
                return Err(format!(
                    "kinds.{name}: need 1 ≤ min_households ({}) ≤ max_households ({})",
                    merged.min_households, merged.max_households
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
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!("workload.{name}: {v} must be a number ≥ 0"));
                }
            }
            rules.workload = w;
        }
        if let Some(h) = file.worker_hours {
            for (name, v) in [
                ("full_time", h.full_time),
                ("part_time", h.part_time),
                ("cadre", h.cadre),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!("worker_hours.{name}: {v} must be a number ≥ 0"));
                }
            }
            rules.worker_hours = h;
        }
        if let Some(p) = file.partition {
            rules.partition = p;
        }
        if let Some(a) = file.assign {
            for t in &a.allowed_types {
                if crate::workers::WorkerType::parse(t).is_none() {
                    return Err(format!("assign.allowed_types: unknown type \"{t}\""));
                }
            }
            for (name, v) in [
                ("move_penalty_m", a.move_penalty_m),
                (
                    "uncovered_penalty_m_per_hour",
                    a.uncovered_penalty_m_per_hour,
                ),
                ("time_limit_s", a.time_limit_s),
                ("mip_rel_gap", a.mip_rel_gap),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!("assign.{name}: {v} must be a number ≥ 0"));
                }
            }
            if a.candidates_per_grid == 0 {
                return Err("assign.candidates_per_grid must be at least 1".to_string());
            }
            rules.assign = a;
        }
        if let Some(c) = file.check {
            for (name, v) in [
                ("area_tolerance_m2", c.area_tolerance_m2),
                ("sliver_width_m", c.sliver_width_m),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!("check.{name}: {v} must be a number ≥ 0"));
                }
            }
            rules.check = c;
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
             # rural grids 200–300 households, a population alert above 2,000 people.\n\n",
        );
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
            if let Some(p) = k.target_population {
                out.push_str(&format!(
                    "target_population = {p}  # soft population target per grid, reported only\n"
                ));
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
            "patrol_hours_per_grid = {}   # patrol, the main duty, per grid\n\n",
            w.patrol_hours_per_grid
        ));
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
            "count_policy = \"{policy}\"   # nearest_target | fewest: how many grids a community gets\n\n"
        ));
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
    fn the_printed_rules_read_back_to_the_same_rules() {
        let r = Rules::default();
        assert_eq!(Rules::from_toml(&r.to_commented_toml()).expect("parses"), r);
    }

    #[test]
    fn feasible_counts_follow_the_band() {
        let urban = &Rules::default().kinds["urban"];
        assert_eq!(urban.feasible_counts(550).count(), 0);
        assert_eq!(urban.feasible_counts(900).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(urban.feasible_counts(120).count(), 0);
    }
}
