//! Public views of the reports: what anyone may read, as types. A plan's or a check's report holds
//! aggregates, except the identifiers of buildings: in the notes on buildings divided between grids and
//! in the messages of `split_building` violations. The public view has no field that writes them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A report (a plan's, stored as JSON text, or a check's) as the public may read it.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicReport {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    violations: Option<Vec<PublicViolation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    building_splits: Option<Vec<PublicBuilding>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oversize_buildings_split: Option<Vec<PublicBuilding>>,
    /// Every other part of the report: summary, grid and leaf rows, quality, plans per leaf, warnings.
    #[serde(flatten)]
    figures: Map<String, Value>,
}

/// A building divided between grids: its leaf, households, pieces or grids; its identifier is read
/// and never written.
#[derive(Debug, Deserialize, Serialize)]
pub struct PublicBuilding {
    #[serde(default, skip_serializing, rename = "building")]
    _building: Option<Value>,
    #[serde(flatten)]
    figures: Map<String, Value>,
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
    value: Option<f64>,
}

impl PublicViolation {
    fn public(mut self) -> Self {
        if self.rule == "split_building" {
            let grids = self.grid.as_deref().unwrap_or_default().replace(',', ", ");
            self.message = format!("a building is split across grids {grids}");
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

    /// The public view of a report's JSON text, as JSON (`null` when the text is not a report).
    pub fn of_text(text: &str) -> Value {
        serde_json::from_str(text)
            .ok()
            .and_then(PublicReport::of)
            .and_then(|r| serde_json::to_value(r).ok())
            .unwrap_or(Value::Null)
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
}
