//! Public views of the reports: what anyone may read, as types. A plan's or a check's report holds
//! aggregates, except the identifiers of buildings (in the notes on buildings divided between grids and
//! in the messages of `split_building` violations) and the data warnings, which name household
//! features by their id and can quote their fields. The public view is an allow-list: every member
//! it writes is a field below, rows are typed field by field, and a member a later report gains
//! reaches no open route until it is added here.

use crate::lang::Lang;
use crate::lang::messages::{Key, Msg};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A report (a plan's, stored as JSON text, or a check's) as the public may read it.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicReport {
    /// Counts and areas over all grids and leaves (the check's `Summary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    violations: Option<Vec<PublicViolation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grids: Option<Vec<PublicGrid>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaves: Option<Vec<PublicLeaf>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oversize_buildings_split: Option<Vec<PublicBuilding>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    building_splits: Option<Vec<PublicBuilding>>,
    /// Blocks without households the grids cut (a check's note): the block's code and the grids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    empty_blocks_cut: Option<Vec<PublicBlockCut>>,
    /// The data warnings, counted by file, field and severity: their messages stay with planners.
    #[serde(
        default,
        deserialize_with = "warning_counts",
        skip_serializing_if = "Option::is_none"
    )]
    warnings: Option<Vec<WarningCount>>,
    /// Band share, compactness, multi-part grids: figures over all grids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quality: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaf_plans: Option<Vec<PublicLeafPlan>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<PublicChange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    removed_leaves: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_plan: Option<i64>,
    /// Blocks cut and inner edges on the ground: figures over all grids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ground: Option<Value>,
    /// The blocks and barriers datasets the plan followed (their version ids).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    layers: Option<PublicLayers>,
    /// Grid id → 四至.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bounds_descriptions: Option<BTreeMap<String, String>>,
}

/// The ground datasets a plan followed.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicLayers {
    blocks: Option<i64>,
    barriers: Option<i64>,
}

/// A grid's row: its figures (aggregates over its households, never one household).
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicGrid {
    id: String,
    community: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    grid_kind: Option<String>,
    households: Option<u64>,
    population: Option<u64>,
    buildings: Option<u64>,
    min: Option<u32>,
    max: Option<u32>,
    status: Option<String>,
    #[serde(default)]
    measure: Option<String>,
    #[serde(default)]
    population_status: Option<String>,
    #[serde(default)]
    min_population: Option<u32>,
    #[serde(default)]
    max_population: Option<u32>,
    population_alert: Option<bool>,
    area_m2: f64,
    outside_leaf_m2: f64,
    parts: u64,
    compactness: f64,
    /// Its counts are withheld: too few households to publish ([`super::disclosure`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    counts_withheld: bool,
}

/// A leaf's row.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicLeaf {
    code: String,
    name: Option<String>,
    kind: Option<String>,
    households: Option<u64>,
    grids: u64,
    area_m2: f64,
    gap_area_m2: f64,
    overlap_area_m2: f64,
    households_outside_grids: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    infeasible: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    infeasible_zh: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    counts_withheld: bool,
}

/// What the partition decided for a leaf.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicLeafPlan {
    leaf: String,
    kind: String,
    households: Option<u64>,
    grids: u64,
    feasible: Option<(u64, u64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    infeasible: Option<String>,
    engine: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    divided_cells: Vec<PublicDividedCell>,
    #[serde(default)]
    dedicated: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    counts_withheld: bool,
}

/// A block or cell larger than a grid, divided: its code and the households of its pieces.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicDividedCell {
    cell: String,
    households: Option<u64>,
    pieces: Option<Vec<u64>>,
}

/// What a re-draw did to a leaf: which grids it kept, re-drew and removed.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicChange {
    leaf: String,
    change: String,
    #[serde(default)]
    grids_kept: Vec<String>,
    #[serde(default)]
    grids_redrawn: Vec<String>,
    #[serde(default)]
    grids_removed: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    divided_cells: Vec<PublicDividedCell>,
}

/// A block without households cut between grids: its code (as `split_block` messages name it) and
/// each grid with the area there (m²).
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicBlockCut {
    block: String,
    grids: Vec<(String, f64)>,
}

/// A building divided between grids: its leaf, households, pieces or grids; its identifier is read
/// and never written.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicBuilding {
    #[serde(default)]
    leaf: Option<String>,
    households: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pieces: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    separated: Option<bool>,
}

/// How many data warnings one file's field drew.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
pub struct WarningCount {
    severity: String,
    file: String,
    field: Option<String>,
    count: u64,
}

/// The warnings of a report, counted by severity, file and field (in that order).
fn warning_counts<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<WarningCount>>, D::Error> {
    #[derive(Deserialize)]
    struct Warning {
        #[serde(default)]
        severity: Option<String>,
        #[serde(default)]
        file: Option<String>,
        #[serde(default)]
        field: Option<String>,
    }
    let Some(list) = Option::<Vec<Warning>>::deserialize(d)? else {
        return Ok(None);
    };
    let mut counts: BTreeMap<(String, String, Option<String>), u64> = BTreeMap::new();
    for w in list {
        let key = (
            w.severity.unwrap_or_else(|| "warning".to_string()),
            w.file.unwrap_or_default(),
            w.field,
        );
        *counts.entry(key).or_default() += 1;
    }
    Ok(Some(
        counts
            .into_iter()
            .map(|((severity, file, field), count)| WarningCount {
                severity,
                file,
                field,
                count,
            })
            .collect(),
    ))
}

/// A violation, with the message of a split building naming the grids only.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicViolation {
    rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leaf: Option<String>,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<f64>,
}

impl PublicViolation {
    fn public(mut self) -> Self {
        if self.rule == "split_building" {
            let grids = self.grid.as_deref().unwrap_or_default();
            let m = Msg::new(Key::SplitBuildingPublic).arg_in(
                "grids",
                grids.replace(',', ", "),
                grids.replace(',', "、"),
            );
            self.message = m.text(Lang::En);
            self.message_zh = Some(m.text(Lang::Zh));
        }
        self
    }
}

impl PublicReport {
    /// The public view of a report; `None` when the value is not one.
    pub fn of(report: Value) -> Option<PublicReport> {
        let mut r: PublicReport = serde_json::from_value(report).ok()?;
        r.violations = r
            .violations
            .map(|v| v.into_iter().map(PublicViolation::public).collect());
        Some(r)
    }

    /// The public view of a plan's report's JSON text, as the open routes publish it (the counts of
    /// too few households withheld, [`PublicReport::withhold_small`]), as JSON (`null` when the text
    /// is not a report).
    pub fn of_text(text: &str) -> Value {
        serde_json::from_str(text)
            .ok()
            .and_then(PublicReport::of)
            .map(PublicReport::withhold_small)
            .and_then(|r| serde_json::to_value(r).ok())
            .unwrap_or(Value::Null)
    }

    /// Withholds every figure of fewer than [`crate::rules::MIN_PUBLISHED_HOUSEHOLDS`] households
    /// ([`super::disclosure`]): the counts of the grids and leaves withheld on the open layers, and of
    /// the pieces of divided buildings and cells, the counts of households outside grids or leaves,
    /// the messages and values of violations about withheld grids and leaves, and the district's
    /// totals when the withheld leaves would be found by subtraction.
    pub fn withhold_small(mut self) -> PublicReport {
        use super::disclosure::publishable;
        let withheld = super::disclosure::Withheld::compute(
            self.grids.iter().flatten().filter_map(|g| {
                Some((
                    g.id.clone(),
                    g.community.clone().unwrap_or_default(),
                    g.households?,
                ))
            }),
            self.leaves
                .iter()
                .flatten()
                .filter_map(|l| Some((l.code.clone(), l.households?))),
        );
        let small = |n: Option<u64>| n.is_some_and(|n| !publishable(n));
        let pieces = |p: Option<Vec<u64>>| p.filter(|p| p.iter().all(|&n| publishable(n)));
        for g in self.grids.iter_mut().flatten() {
            if withheld.grid(&g.id) {
                g.households = None;
                g.population = None;
                g.buildings = None;
                g.population_status = None;
                g.population_alert = None;
                g.counts_withheld = true;
            }
        }
        let leaf_withheld = |code: &str| withheld.community(code);
        let reason = Key::Withheld.template(Lang::En);
        let reason_zh = Key::Withheld.template(Lang::Zh);
        for l in self.leaves.iter_mut().flatten() {
            if leaf_withheld(&l.code) {
                l.households = None;
                l.households_outside_grids = None;
                l.infeasible = l.infeasible.as_ref().map(|_| reason.to_string());
                l.infeasible_zh = l.infeasible.as_ref().map(|_| reason_zh.to_string());
                l.counts_withheld = true;
            } else if small(l.households_outside_grids) {
                l.households_outside_grids = None;
            }
        }
        let cells = |cells: &mut Vec<PublicDividedCell>| {
            for c in cells {
                if small(c.households) {
                    c.households = None;
                }
                c.pieces = pieces(c.pieces.take());
            }
        };
        for p in self.leaf_plans.iter_mut().flatten() {
            if leaf_withheld(&p.leaf) {
                p.households = None;
                p.feasible = None;
                p.infeasible = p.infeasible.as_ref().map(|_| reason.to_string());
                p.note = None;
                p.counts_withheld = true;
            }
            cells(&mut p.divided_cells);
        }
        for c in self.changes.iter_mut().flatten() {
            cells(&mut c.divided_cells);
        }
        for b in [
            &mut self.oversize_buildings_split,
            &mut self.building_splits,
        ]
        .into_iter()
        .flatten()
        .flatten()
        {
            if small(b.households) {
                b.households = None;
            }
            b.pieces = pieces(b.pieces.take());
        }
        for v in self.violations.iter_mut().flatten() {
            let about_withheld = v
                .grid
                .as_deref()
                .is_some_and(|g| g.split(',').any(|g| withheld.grid(g.trim())))
                || v.leaf.as_deref().is_some_and(leaf_withheld);
            // "N households of this leaf lie in no grid" describes those N.
            let small_count = v.rule == "households_outside_grids"
                && v.value.is_some_and(|n| n > 0.0 && !publishable(n as u64));
            if (about_withheld || small_count) && v.rule != "split_building" {
                v.message = format!("{}: {reason}", v.rule);
                v.message_zh = Some(format!("{}：{reason_zh}", v.rule));
                v.value = None;
            }
        }
        if let Some(summary) = self.summary.as_mut().and_then(Value::as_object_mut) {
            // The total less the assigned is the unassigned, and the total less the published
            // leaves is the households outside them: where either is too small to publish, the
            // totals go with it.
            let small_remainder =
                small(summary.get("households_unassigned").and_then(Value::as_u64))
                    || small(
                        summary
                            .get("households_outside_leaves")
                            .and_then(|o| o.get("households"))
                            .and_then(Value::as_u64),
                    );
            if withheld.totals || small_remainder {
                for k in ["households_total", "households_assigned"] {
                    if let Some(v) = summary.get_mut(k) {
                        *v = Value::Null;
                    }
                }
            }
            if let Some(v) = summary.get_mut("households_unassigned")
                && small(v.as_u64())
            {
                *v = Value::Null;
            }
            if let Some(o) = summary
                .get_mut("households_outside_leaves")
                .and_then(Value::as_object_mut)
                && small(o.get("households").and_then(Value::as_u64))
            {
                o.insert("households".into(), Value::Null);
                o.insert("points".into(), Value::Null);
            }
            if let Some(rows) = summary
                .get_mut("leaves_infeasible")
                .and_then(Value::as_array_mut)
            {
                for r in rows {
                    let code = r.get("leaf").and_then(Value::as_str).unwrap_or_default();
                    if leaf_withheld(code)
                        && let Some(o) = r.as_object_mut()
                    {
                        o.insert("households".into(), Value::Null);
                        o.insert("why".into(), reason.into());
                        o.insert("why_zh".into(), reason_zh.into());
                    }
                }
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn building_identifiers_never_leave_and_figures_stay() {
        let report = json!({
            "summary": {"grids": 2},
            "building_splits": [{"leaf": "L", "building": "T1", "households": 640, "pieces": [320, 320]}],
            "oversize_buildings_split": [{"leaf": "L", "building": "T1", "households": 640, "grids": ["A", "B"]}],
            "violations": [
                {"rule": "split_building", "grid": "A,B", "leaf": "L", "message": "building \"T9\" (12 households) is split across grids A, B", "value": 2.0},
                {"rule": "gap", "leaf": "L", "message": "3.0 m² of the leaf lie in no grid", "value": 3.0}
            ]
        });
        let text = PublicReport::of_text(&report.to_string());
        let s = text.to_string();
        assert!(!s.contains("T1") && !s.contains("T9"), "{s}");
        assert_eq!(text["summary"]["grids"], 2);
        assert_eq!(text["building_splits"][0]["households"], 640);
        assert_eq!(
            text["oversize_buildings_split"][0]["grids"],
            json!(["A", "B"])
        );
        assert_eq!(
            text["violations"][0]["message"],
            "a building is split across grids A, B"
        );
        assert_eq!(
            text["violations"][1]["message"],
            "3.0 m² of the leaf lie in no grid"
        );
        assert_eq!(PublicReport::of_text("not json"), Value::Null);
    }

    #[test]
    fn warnings_are_counted_and_unlisted_members_never_leave() {
        let report = json!({
            "summary": {"grids": 1},
            "warnings": [
                {"severity": "warning", "file": "households", "feature": {"index": 4, "id": "H-0042"}, "field": "population", "message": "population \"x\" is not a number"},
                {"severity": "warning", "file": "households", "feature": {"index": 9, "id": "H-0077"}, "field": "population", "message": "population -1"},
                {"severity": "warning", "file": "boundaries", "message": "a leaf has no kind"}
            ],
            "household_positions": [[118.8, 32.3]],
            "grids": [{"id": "G1", "community": "L", "kind": "urban", "grid_kind": "basic", "households": 320,
                       "population": 900, "buildings": 4, "min": 300, "max": 500, "status": "ok",
                       "measure": "households", "population_status": null, "min_population": 800,
                       "max_population": 1200, "population_alert": false, "area_m2": 1.0,
                       "outside_leaf_m2": 0.0, "parts": 1, "compactness": 0.7, "elderly_alone": 3}]
        });
        let text = PublicReport::of_text(&report.to_string());
        let s = text.to_string();
        for secret in [
            "H-0042",
            "H-0077",
            "not a number",
            "household_positions",
            "elderly_alone",
            "118.8",
        ] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert_eq!(
            text["warnings"],
            json!([
                {"severity": "warning", "file": "boundaries", "field": null, "count": 1},
                {"severity": "warning", "file": "households", "field": "population", "count": 2}
            ])
        );
        assert_eq!(text["grids"][0]["households"], 320);
        assert_eq!(text["grids"][0]["status"], "ok");
    }
}
