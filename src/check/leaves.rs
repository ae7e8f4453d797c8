//! The rules of one leaf: covered by grids, without gaps or overlaps, every household in a grid; and
//! whether any whole number of grids fits its households (a note, not a violation).

use super::Ctx;
use super::report::{InfeasibleLeaf, LeafRow, Rule, Violation};
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
            .and_then(|k| k.infeasibility(basic));
        if let Some(why) = &why {
            infeasible.push(InfeasibleLeaf {
                leaf: area.code.clone(),
                households: basic,
                why: why.clone(),
            });
        }
        let v = |rule, message: String, value: f64| Violation {
            rule,
            grid: None,
            leaf: Some(area.code.clone()),
            message,
            value: Some(value),
        };
        if cover.pieces.is_empty() {
            violations.push(v(
                Rule::LeafWithoutGrid,
                "no grid covers this leaf".to_string(),
                leaf_area,
            ));
        } else if gap > tol {
            violations.push(v(
                Rule::Gap,
                format!(
                    "{gap:.1} m² of the leaf ({:.3} %) lie in no grid",
                    100.0 * gap / leaf_area.max(f64::MIN_POSITIVE)
                ),
                gap,
            ));
        }
        if overlap > tol {
            violations.push(v(
                Rule::Overlap,
                format!("{overlap:.1} m² of the leaf lie in two or more grids"),
                overlap,
            ));
        }
        if counted.outside_grids > 0 {
            violations.push(v(
                Rule::HouseholdsOutsideGrids,
                format!(
                    "{} household(s) of this leaf lie in no grid",
                    counted.outside_grids
                ),
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
            infeasible: why,
        });
    }
    (rows, infeasible)
}
