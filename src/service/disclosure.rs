//! Small figures on the open routes: no open figure describes fewer than
//! [`MIN_PUBLISHED_HOUSEHOLDS`] households. A grid or community of fewer (but some) households is
//! published with its geometry, code, band and status, and without its household and population
//! counts and what is computed from them (`counts_withheld: true`). Where the withheld grids of a
//! community hold fewer than the minimum together, the community's count less the published ones
//! would give them away: the community's next smallest grids are withheld with them until the
//! withheld hold at least the minimum. Likewise the district's totals, when the withheld communities
//! hold fewer than the minimum together. Planner routes (checks, sensitive counts, jobs) are not
//! touched.

use crate::rules::MIN_PUBLISHED_HOUSEHOLDS;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// The properties of a grid that count its households or are computed from those counts.
pub const GRID_COUNTS: &[&str] = &[
    "households",
    "population",
    "buildings",
    "population_status",
    "population_alert",
];

/// The properties of a community that count its households.
pub const COMMUNITY_COUNTS: &[&str] = &["households", "households_outside_grids"];

/// The property that marks a feature or row whose counts are withheld.
pub const WITHHELD: &str = "counts_withheld";

/// Whether a count of `n` households may be published: none at all, or at least the minimum.
pub fn publishable(n: u64) -> bool {
    n == 0 || n >= u64::from(MIN_PUBLISHED_HOUSEHOLDS)
}

/// `n` when it may be published, else `null`.
pub fn figure(n: u64) -> Value {
    if publishable(n) {
        Value::from(n)
    } else {
        Value::Null
    }
}

/// Which grids and communities of one plan are published without their counts.
#[derive(Debug, Default, Clone)]
pub struct Withheld {
    grids: HashSet<String>,
    communities: HashSet<String>,
    /// Whether the district's household totals are withheld too.
    pub totals: bool,
}

impl Withheld {
    /// From each grid's id, community and households and each community's code and households.
    pub fn compute(
        grids: impl IntoIterator<Item = (String, String, u64)>,
        communities: impl IntoIterator<Item = (String, u64)>,
    ) -> Withheld {
        let min = u64::from(MIN_PUBLISHED_HOUSEHOLDS);
        let mut out = Withheld::default();
        let mut by_community: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
        for (id, community, households) in grids {
            if !publishable(households) {
                out.grids.insert(id.clone());
            }
            by_community
                .entry(community)
                .or_default()
                .push((households, id));
        }
        for list in by_community.values_mut() {
            list.sort();
            let mut hidden: u64 = list
                .iter()
                .filter(|(_, id)| out.grids.contains(id))
                .map(|(h, _)| h)
                .sum();
            for (h, id) in list.iter() {
                if hidden == 0 || hidden >= min {
                    break;
                }
                if *h > 0 && out.grids.insert(id.clone()) {
                    hidden += h;
                }
            }
        }
        let mut hidden = 0;
        for (code, households) in communities {
            if !publishable(households) {
                out.communities.insert(code);
                hidden += households;
            }
        }
        out.totals = !publishable(hidden);
        out
    }

    /// From a plan's stored grids and communities layers (GeoJSON).
    pub fn of_layers(grids: &Value, communities: &Value) -> Withheld {
        fn features(v: &Value) -> &[Value] {
            v.get("features")
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice)
        }
        Withheld::of_features(features(grids), features(communities))
    }

    /// From the features of a plan's grids and communities layers.
    pub fn of_features(grids: &[Value], communities: &[Value]) -> Withheld {
        let props = |fs: &[Value]| -> Vec<Map<String, Value>> {
            fs.iter()
                .filter_map(|f| f.get("properties").and_then(Value::as_object).cloned())
                .collect()
        };
        let text = |p: &Map<String, Value>, k: &str| {
            p.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let count = |p: &Map<String, Value>| p.get("households").and_then(Value::as_u64);
        Withheld::compute(
            props(grids)
                .iter()
                .filter_map(|p| Some((text(p, "id"), text(p, "community"), count(p)?))),
            props(communities)
                .iter()
                .filter_map(|p| Some((text(p, "code"), count(p)?))),
        )
    }

    pub fn grid(&self, id: &str) -> bool {
        self.grids.contains(id)
    }

    pub fn community(&self, code: &str) -> bool {
        self.communities.contains(code)
    }

    /// Blanks a grid's counts when they are withheld.
    pub fn grid_properties(&self, p: &mut Map<String, Value>) {
        let id = p.get("id").and_then(Value::as_str).unwrap_or_default();
        if self.grid(id) {
            blank(p, GRID_COUNTS);
        }
    }

    /// Blanks a community's counts when they are withheld.
    pub fn community_properties(&self, p: &mut Map<String, Value>) {
        let code = p.get("code").and_then(Value::as_str).unwrap_or_default();
        if self.community(code) {
            blank(p, COMMUNITY_COUNTS);
        }
    }
}

/// Sets `keys` (those present) to `null` and marks the counts withheld.
pub fn blank(p: &mut Map<String, Value>, keys: &[&str]) {
    for k in keys {
        if let Some(v) = p.get_mut(*k) {
            *v = Value::Null;
        }
    }
    p.insert(WITHHELD.into(), Value::Bool(true));
}

/// Applies `blank_one` to the properties of a feature collection's features.
fn blank_features(layer: &mut Value, mut blank_one: impl FnMut(&mut Map<String, Value>)) {
    if let Some(fs) = layer.get_mut("features").and_then(Value::as_array_mut) {
        for f in fs {
            if let Some(p) = f.get_mut("properties").and_then(Value::as_object_mut) {
                blank_one(p);
            }
        }
    }
}

/// A stored grids layer as the open routes publish it: the counts of withheld grids blanked (and of
/// retired grids too small to publish). The text unchanged when nothing is withheld.
pub fn public_grids_text(grids: &str, communities: &str) -> Result<String, serde_json::Error> {
    let mut layer: Value = serde_json::from_str(grids)?;
    let withheld = Withheld::of_layers(&layer, &serde_json::from_str(communities)?);
    let mut changed = false;
    blank_features(&mut layer, |p| {
        let before = p.contains_key(WITHHELD);
        withheld.grid_properties(p);
        changed |= p.contains_key(WITHHELD) != before;
    });
    if let Some(retired) = layer.get_mut(crate::output::RETIRED_MEMBER) {
        blank_features(retired, |p| {
            if let Some(h) = p.get("households").and_then(Value::as_u64)
                && !publishable(h)
            {
                blank(p, GRID_COUNTS);
                changed = true;
            }
        });
    }
    if changed {
        serde_json::to_string(&layer)
    } else {
        Ok(grids.to_string())
    }
}

/// An open diff: which grids were created, removed, kept and reshaped, and where each old grid's
/// households mostly went, without any household figure. Counts of households moved between two grids,
/// or of one grid's households, describe a few households whenever a few moved; and with the open
/// layers' counts, any published figure of a diff (a total, a share, a pair's count) gives the counts
/// withheld there by subtraction. Planners get the whole diff.
pub fn public_diff(diff: &mut Value) {
    if let Some(summary) = diff.get_mut("summary").and_then(Value::as_object_mut) {
        blank(
            summary,
            &[
                "households",
                "households_kept",
                "households_moved",
                "share_kept",
                "agreement",
            ],
        );
    }
    for member in ["moves", "agreement"] {
        if let Some(rows) = diff.get_mut(member).and_then(Value::as_array_mut) {
            for row in rows {
                if let Some(p) = row.as_object_mut() {
                    blank(p, &["households", "share"]);
                }
            }
        }
    }
    if let Some(d) = diff.as_object_mut() {
        d.insert("counts_withheld".into(), Value::Bool(true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grids(list: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
        list.iter()
            .map(|(i, c, h)| (i.to_string(), c.to_string(), *h))
            .collect()
    }

    #[test]
    fn small_grids_are_withheld_with_enough_neighbours_that_no_subtraction_finds_them() {
        let w = Withheld::compute(
            grids(&[
                ("a1", "A", 1),
                ("a2", "A", 300),
                ("a3", "A", 250),
                ("b1", "B", 5),
                ("b2", "B", 30),
                ("c1", "C", 0),
                ("c2", "C", 400),
                ("d1", "D", 7),
            ]),
            [
                ("A".to_string(), 551),
                ("B".to_string(), 35),
                ("C".to_string(), 400),
                ("D".to_string(), 7),
            ],
        );
        // a1 alone would be A's count less a2 and a3: the smaller of those goes with it.
        assert!(w.grid("a1") && w.grid("a3") && !w.grid("a2"));
        assert!(w.grid("b1") && w.grid("b2"));
        // An empty grid describes no one.
        assert!(!w.grid("c1") && !w.grid("c2"));
        assert!(w.grid("d1") && w.community("D") && !w.community("A"));
        // D alone is withheld: the district's total less the published communities would be it.
        assert!(w.totals);
    }

    #[test]
    fn an_open_diff_says_which_grids_changed_and_no_household_figure() {
        let mut d = serde_json::json!({
            "summary": {"households": 551, "households_kept": 550, "households_moved": 1,
                        "share_kept": 0.998, "agreement": 0.998, "kept": 1, "reshaped": 2},
            "kept": ["a2"], "reshaped": ["a1", "a3"],
            "moves": [{"from": "a1", "to": "a3", "households": 1}],
            "agreement": [{"grid": "a3", "households": 250, "main_new_grid": "a3", "share": 1.0}],
        });
        public_diff(&mut d);
        for k in [
            "households",
            "households_kept",
            "households_moved",
            "share_kept",
            "agreement",
        ] {
            assert!(d["summary"][k].is_null(), "{k}: {d}");
        }
        assert!(d["moves"][0]["households"].is_null() && d["moves"][0]["from"] == "a1");
        assert!(d["agreement"][0]["households"].is_null() && d["agreement"][0]["share"].is_null());
        assert_eq!(d["agreement"][0]["main_new_grid"], "a3");
        assert_eq!(d["summary"]["reshaped"], 2);
        assert_eq!(d["counts_withheld"], true);
    }
}
