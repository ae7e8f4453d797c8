//! The rule of buildings: a building's households stay in one grid, unless the building holds more
//! households than a grid may (then dividing it, by entrance, is required and only noted).

use super::Ctx;
use super::report::{OversizeSplit, Rule, Violation};
use super::tally::{BuildingTally, LeafBuilding};
use crate::lang::messages::msg;
use crate::model::BuildingKey;

/// Every building split across grids: a violation pushed onto `violations`, or, for a building larger
/// than a grid's maximum, a note returned.
pub(super) fn judge(cx: &Ctx, violations: &mut Vec<Violation>) -> Vec<OversizeSplit> {
    let tree = &cx.data.tree;
    let mut split: Vec<(&LeafBuilding, &BuildingTally)> = cx
        .tally
        .buildings
        .iter()
        .filter(|(_, b)| b.grids.len() > 1)
        .collect();
    // Named buildings first, then unnamed ones (points sharing a position), each by leaf.
    split.sort_by_key(|(k, _)| (matches!(k.key, BuildingKey::At(..)), **k));
    let mut oversize = Vec::new();
    for (key, building) in split {
        let leaf = key.leaf;
        let names: Vec<&str> = building
            .grids
            .iter()
            .map(|&g| cx.grids[g].id.as_str())
            .collect();
        let size = building.households;
        let max = leaf
            .and_then(|l| tree.kind(l))
            .and_then(|k| cx.rules.kind(k))
            .map(|b| b.max_households as u64);
        if max.is_some_and(|m| size > m) {
            oversize.push(OversizeSplit {
                leaf: leaf.map(|l| tree.areas[l].code.clone()),
                building: match key.key {
                    BuildingKey::Named(b) => Some(b.to_string()),
                    BuildingKey::At(..) => None,
                },
                households: size,
                grids: names.iter().map(|n| n.to_string()).collect(),
            });
            continue;
        }
        let message = match key.key {
            BuildingKey::Named(b) => msg!(SplitBuilding, building = b),
            BuildingKey::At(..) => msg!(SplitBuildingAt),
        }
        .arg("households", size)
        .arg_in("grids", names.join(", "), names.join("、"));
        violations.push(Violation::new(
            Rule::SplitBuilding,
            Some(names.join(",")),
            leaf.map(|l| tree.areas[l].code.clone()),
            &message,
            Some(building.grids.len() as f64),
        ));
    }
    oversize
}
