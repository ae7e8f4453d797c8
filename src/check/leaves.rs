//! The rules of one leaf: covered by grids, without gaps or overlaps, every household in a grid; and
//! whether any whole number of grids fits its households (a note, not a violation).

use super::Ctx;
use super::report::{InfeasibleLeaf, LeafRow, Rule, Violation};
use crate::lang::Lang;
use crate::lang::messages::{Msg, msg};
use crate::model::GridKind;
use crate::spatial::geometry;

/// Judges every leaf: their figures and the leaves with no feasible grid count; every rule broken is
/// pushed onto `violations`.
pub(super) fn judge(
    cx: &Ctx,
    violations: &mut Vec<Violation>,
) -> (Vec<LeafRow>, Vec<InfeasibleLeaf>) {
    let tree = &cx.data.tree;
    let mut grids_per_leaf = vec![0usize; cx.layout.leaves.len()];
    // What the dedicated grids of each leaf hold: not the band's.
    let mut dedicated = vec![0u64; cx.layout.leaves.len()];
    for (g, home) in cx.layout.home.iter().enumerate() {
        let Some(p) = home else { continue };
        grids_per_leaf[*p] += 1;
        if cx.grids[g].record.kind == GridKind::Dedicated {
            dedicated[*p] += cx.tally.grids[g].households;
        }
    }
    let mut rows = Vec::with_capacity(cx.layout.leaves.len());
    let mut infeasible = Vec::new();
    for (p, &l) in cx.layout.leaves.iter().enumerate() {
        let area = &tree.areas[l];
        let counted = cx.tally.leaves[p];
        let kind = tree.kind(l).map(str::to_string);
        let leaf_area = geometry::area_m2(&area.geometry);
        let tol = cx
            .rules
            .check
            .tolerance_m2(geometry::perimeter_m(&area.geometry));
        let cover = &cx.layout.covers[p];
        let gap = (leaf_area - cover.covered_m2).max(0.0);
        let overlap =
            (cover.pieces.iter().map(|x| x.area_m2).sum::<f64>() - cover.covered_m2).max(0.0);
        // The dedicated grids are exempt from the band: the basic grids share the rest.
        let basic = counted.households.saturating_sub(dedicated[p]);
        let why = kind
            .as_deref()
            .and_then(|k| cx.rules.kind(k))
            .and_then(|k| k.infeasibility_msg(basic));
        if let Some(why) = &why {
            infeasible.push(InfeasibleLeaf {
                leaf: area.code.clone(),
                households: basic,
                why: why.text(Lang::En),
                why_zh: why.text(Lang::Zh),
            });
        }
        let v = |rule, message: Msg, value: f64| {
            Violation::new(rule, None, Some(area.code.clone()), &message, Some(value))
        };
        if cover.pieces.is_empty() {
            violations.push(v(Rule::LeafWithoutGrid, msg!(LeafWithoutGrid), leaf_area));
        } else if gap > tol {
            let share = 100.0 * gap / leaf_area.max(f64::MIN_POSITIVE);
            let m = msg!(
                Gap,
                area = format!("{gap:.1}"),
                share = format!("{share:.3}")
            );
            violations.push(v(Rule::Gap, m, gap));
        }
        if overlap > tol {
            let m = msg!(Overlap, area = format!("{overlap:.1}"));
            violations.push(v(Rule::Overlap, m, overlap));
        }
        if counted.outside_grids > 0 {
            let m = msg!(HouseholdsOutsideGrids, households = counted.outside_grids);
            violations.push(v(
                Rule::HouseholdsOutsideGrids,
                m,
                counted.outside_grids as f64,
            ));
        }
        rows.push(LeafRow {
            code: area.code.clone(),
            name: area.name.clone(),
            kind,
            households: counted.households,
            grids: grids_per_leaf[p],
            area_m2: leaf_area,
            gap_area_m2: gap,
            overlap_area_m2: overlap,
            households_outside_grids: counted.outside_grids,
            infeasible: why.as_ref().map(|m| m.text(Lang::En)),
            infeasible_zh: why.as_ref().map(|m| m.text(Lang::Zh)),
        });
    }
    (rows, infeasible)
}
