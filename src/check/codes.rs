//! Duplicate grid codes: no number is used twice in one community. Ids are read in either form
//! (standard `<community><3 digits>` or legacy `<community>-G<nn>`, [`crate::model::grid_code`]); two
//! ids for one number (`…003` and `…-G03`, or `…-G3` and `…-G03`) are a `duplicate_code`. Two grids
//! with the very same id are refused when the grids file is read (bad input). Ids of no code form
//! (names given by hand) are not judged here; a digits-only id that is not a standard code is a
//! `malformed_grid_code` ([`super::grids`]).

use super::Ctx;
use super::report::{Rule, Violation};
use crate::lang::messages::msg;
use crate::model::grid_code;
use std::collections::BTreeMap;

/// Judges every grid's code; every duplicate number is pushed onto `violations`.
pub(super) fn judge(cx: &Ctx, violations: &mut Vec<Violation>) {
    let mut numbers: BTreeMap<(&str, u32), Vec<&str>> = BTreeMap::new();
    for grid in cx.grids {
        if let Some(code) = grid_code::read(&grid.id) {
            numbers
                .entry((code.community, code.number))
                .or_default()
                .push(&grid.id);
        }
    }
    for ((community, number), ids) in numbers {
        if ids.len() < 2 {
            continue;
        }
        let message = msg!(
            DuplicateCode,
            number = number,
            community = community,
            count = ids.len()
        )
        .arg_in("grids", ids.join(", "), ids.join("、"));
        violations.push(Violation::new(
            Rule::DuplicateCode,
            Some(ids.join(",")),
            Some(community.to_string()),
            &message,
            Some(ids.len() as f64),
        ));
    }
}
