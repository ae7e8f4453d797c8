//! The rule of grid codes: every grid's id is a code of the community it lies in, in either form
//! (standard `<community><3 digits>` or legacy `<community>-G<nn>`, [`crate::model::grid_code`]), and
//! no number is used twice in a community. Two grids with the very same id are refused when the grids
//! file is read (bad input); two ids for one number (`…003` and `…-G03`, or `…-G3` and `…-G03`) are a
//! `duplicate_code` here.

use super::Ctx;
use super::report::{Rule, Violation};
use crate::model::grid_code;
use std::collections::BTreeMap;

/// Judges every grid's code; every rule broken is pushed onto `violations`.
pub(super) fn judge(cx: &Ctx, violations: &mut Vec<Violation>) {
    let mut numbers: BTreeMap<(&str, u32), Vec<&str>> = BTreeMap::new();
    for (g, grid) in cx.grids.iter().enumerate() {
        // The community the grid lies in; the one its file names when it lies in none.
        let community = cx.layout.home[g]
            .map(|p| cx.data.tree.areas[cx.layout.leaf(p)].code.as_str())
            .or(grid.community.as_deref());
        let Some(community) = community else {
            continue;
        };
        match grid_code::read_for(&grid.id, community) {
            Ok(code) => numbers
                .entry((community, code.number))
                .or_default()
                .push(&grid.id),
            Err(why) => violations.push(Violation {
                rule: Rule::GridCode,
                grid: Some(grid.id.clone()),
                leaf: Some(community.to_string()),
                message: format!(
                    "id \"{}\" is not a grid code of community {community}: {why}",
                    grid.id
                ),
                value: None,
            }),
        }
    }
    for ((community, number), ids) in numbers {
        if ids.len() < 2 {
            continue;
        }
        violations.push(Violation {
            rule: Rule::DuplicateCode,
            grid: Some(ids.join(",")),
            leaf: Some(community.to_string()),
            message: format!(
                "number {number} of community {community} is used by {} grids: {}",
                ids.len(),
                ids.join(", ")
            ),
            value: Some(ids.len() as f64),
        });
    }
}
