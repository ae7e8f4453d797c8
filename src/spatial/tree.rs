//! The boundary tree: parents, children, leaves and the kind each leaf inherits.

use crate::model::Area;
use crate::problem::{Problem, Problems};
use crate::rules::Rules;
use crate::spatial::geometry;
use geo::BooleanOps;
use std::collections::HashMap;

/// Areas with their hierarchy resolved. Leaves are the units no other unit names as `parent`; grids are
/// drawn inside leaves and never cross them.
#[derive(Debug, Clone)]
pub struct AreaTree {
    pub areas: Vec<Area>,
    by_code: HashMap<String, usize>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    /// Indexes of the leaves, sorted by code.
    leaves: Vec<usize>,
    /// Effective kind of each area (own, else inherited), when any.
    kinds: Vec<Option<String>>,
}

impl AreaTree {
    /// Resolves the hierarchy, reporting every problem: duplicate codes, unknown parents, cycles, leaves
    /// with no kind up their tree, kinds the rules do not define (errors); children poking out of their
    /// parent (warnings, with the area outside).
    pub fn build(file: &str, areas: Vec<Area>, rules: &Rules) -> (AreaTree, Problems) {
        let mut problems = Problems::default();
        let mut by_code = HashMap::with_capacity(areas.len());
        for (i, a) in areas.iter().enumerate() {
            if let Some(&first) = by_code.get(&a.code) {
                let first: usize = first;
                problems.push(
                    Problem::error(
                        file,
                        format!(
                            "duplicate code \"{}\" (also feature {})",
                            a.code, areas[first].feature
                        ),
                    )
                    .at(a.feature, Some(&a.code))
                    .field("code"),
                );
            } else {
                by_code.insert(a.code.clone(), i);
            }
        }
        let mut parent = vec![None; areas.len()];
        let mut children = vec![Vec::new(); areas.len()];
        for (i, a) in areas.iter().enumerate() {
            if let Some(p) = &a.parent {
                match by_code.get(p) {
                    Some(&pi) if pi != i => {
                        parent[i] = Some(pi);
                        children[pi].push(i);
                    }
                    Some(_) => problems.push(
                        Problem::error(file, "a unit cannot be its own parent")
                            .at(a.feature, Some(&a.code))
                            .field("parent"),
                    ),
                    None => problems.push(
                        Problem::error(file, format!("parent \"{p}\" does not exist in the file"))
                            .at(a.feature, Some(&a.code))
                            .field("parent"),
                    ),
                }
            }
        }
        // Cycles: walking up from any unit must end within `n` steps.
        for (i, a) in areas.iter().enumerate() {
            let mut at = i;
            let mut steps = 0;
            while let Some(p) = parent[at] {
                at = p;
                steps += 1;
                if steps > areas.len() {
                    problems.push(
                        Problem::error(file, "the parent chain loops back on itself")
                            .at(a.feature, Some(&a.code))
                            .field("parent"),
                    );
                    break;
                }
            }
        }
        let has_cycle = problems.has_errors();
        let kinds: Vec<Option<String>> = (0..areas.len())
            .map(|i| {
                // The own kind, else the nearest ancestor's (no walking when the chain loops).
                let mut at = i;
                for _ in 0..=areas.len() {
                    if let Some(k) = &areas[at].kind {
                        return Some(k.clone());
                    }
                    match parent[at] {
                        Some(p) if !has_cycle => at = p,
                        _ => return None,
                    }
                }
                None
            })
            .collect();
        let mut leaves: Vec<usize> = (0..areas.len())
            .filter(|&i| children[i].is_empty())
            .collect();
        leaves.sort_by(|&a, &b| areas[a].code.cmp(&areas[b].code));
        for &l in &leaves {
            let a = &areas[l];
            match &kinds[l] {
                None => problems.push(
                    Problem::error(
                        file,
                        "leaf has no `kind` (urban or rural) and none of its parents has one",
                    )
                    .at(a.feature, Some(&a.code))
                    .field("kind"),
                ),
                Some(k) if rules.kind(k).is_none() => problems.push(
                    Problem::error(
                        file,
                        format!(
                            "kind \"{k}\" is not defined by the rules (known: {})",
                            rules.kinds.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .at(a.feature, Some(&a.code))
                    .field("kind"),
                ),
                Some(_) => {}
            }
        }
        let tree = AreaTree {
            areas,
            by_code,
            parent,
            children,
            leaves,
            kinds,
        };
        if !problems.has_errors() {
            tree.report_children_outside_parents(file, rules, &mut problems);
        }
        (tree, problems)
    }

    fn report_children_outside_parents(&self, file: &str, rules: &Rules, problems: &mut Problems) {
        for (i, a) in self.areas.iter().enumerate() {
            let Some(p) = self.parent[i] else { continue };
            let parent = &self.areas[p];
            let outside = geometry::area_m2(&a.geometry.difference(&parent.geometry));
            if outside > rules.check.area_tolerance_m2 {
                problems.push(
                    Problem::warning(
                        file,
                        format!(
                            "unit pokes out of its parent \"{}\" by {:.1} m²",
                            parent.code, outside
                        ),
                    )
                    .at(a.feature, Some(&a.code))
                    .field("geometry"),
                );
            }
        }
    }

    /// The leaves, sorted by code.
    pub fn leaves(&self) -> &[usize] {
        &self.leaves
    }

    pub fn get(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    pub fn is_leaf(&self, i: usize) -> bool {
        self.children[i].is_empty()
    }

    pub fn parent(&self, i: usize) -> Option<usize> {
        self.parent[i]
    }

    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// The kind of an area, its own or inherited.
    pub fn kind(&self, i: usize) -> Option<&str> {
        self.kinds[i].as_deref()
    }

    /// The nearest ancestor (or the area itself) whose `level` names a town or street, else the leaf's
    /// parent: the unit that manages workers.
    pub fn town_of(&self, i: usize) -> Option<usize> {
        let mut at = Some(i);
        while let Some(a) = at {
            if let Some(level) = &self.areas[a].level {
                let l = level.to_ascii_lowercase();
                if l == "town" || l == "street" || l == "township" {
                    return Some(a);
                }
            }
            at = self.parent[a];
        }
        self.parent[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{area, rect};

    fn build(areas: Vec<Area>) -> (AreaTree, Problems) {
        let areas = areas
            .into_iter()
            .enumerate()
            .map(|(i, mut a)| {
                a.feature = i;
                a
            })
            .collect();
        AreaTree::build("boundaries", areas, &Rules::default())
    }

    #[test]
    fn leaves_inherit_their_kind_and_find_their_town() {
        let mut town = area(
            "320116001000",
            Some("320116"),
            Some("urban"),
            rect(0.0, 0.0, 20.0, 10.0),
        );
        town.level = Some("town".to_string());
        let (tree, problems) = build(vec![
            area("320116", None, None, rect(0.0, 0.0, 20.0, 10.0)),
            town,
            area(
                "320116001002",
                Some("320116001000"),
                Some("rural"),
                rect(10.0, 0.0, 20.0, 10.0),
            ),
            area(
                "320116001001",
                Some("320116001000"),
                None,
                rect(0.0, 0.0, 10.0, 10.0),
            ),
        ]);
        assert!(!problems.has_errors(), "{problems:?}");
        let codes: Vec<&str> = tree
            .leaves()
            .iter()
            .map(|&l| tree.areas[l].code.as_str())
            .collect();
        assert_eq!(codes, ["320116001001", "320116001002"]);
        let first = tree.get("320116001001").unwrap_or(usize::MAX);
        let second = tree.get("320116001002").unwrap_or(usize::MAX);
        assert_eq!(tree.kind(first), Some("urban"), "inherited from the town");
        assert_eq!(tree.kind(second), Some("rural"), "its own");
        assert_eq!(tree.town_of(first), tree.get("320116001000"));
        assert!(tree.is_leaf(first) && !tree.is_leaf(tree.parent(first).unwrap_or(first)));
    }

    #[test]
    fn a_missing_parent_a_loop_and_a_leaf_without_kind_are_errors_naming_the_unit() {
        let (_, problems) = build(vec![
            area(
                "A",
                Some("nowhere"),
                Some("urban"),
                rect(0.0, 0.0, 1.0, 1.0),
            ),
            area("B", Some("C"), Some("urban"), rect(0.0, 0.0, 1.0, 1.0)),
            area("C", Some("B"), Some("urban"), rect(0.0, 0.0, 1.0, 1.0)),
            area("D", None, None, rect(5.0, 5.0, 6.0, 6.0)),
        ]);
        let text: Vec<String> = problems.0.iter().map(|p| p.to_string()).collect();
        let said = |what: &str| text.iter().any(|t| t.contains(what));
        assert!(said("parent \"nowhere\" does not exist"), "{text:?}");
        assert!(said("loops back"), "{text:?}");
        assert!(said("has no `kind`"), "{text:?}");
        assert!(problems.has_errors());
    }

    #[test]
    fn a_kind_the_rules_do_not_know_is_an_error() {
        let (_, problems) = build(vec![area(
            "A",
            None,
            Some("lunar"),
            rect(0.0, 0.0, 1.0, 1.0),
        )]);
        assert!(problems.0.iter().any(|p| p.message.contains("\"lunar\"")));
    }

    #[test]
    fn a_unit_poking_out_of_its_parent_is_a_warning() {
        let (_, problems) = build(vec![
            area("P", None, Some("urban"), rect(0.0, 0.0, 10.0, 10.0)),
            area("A", Some("P"), None, rect(0.0, 0.0, 12.0, 10.0)),
        ]);
        assert!(!problems.has_errors());
        assert!(problems.0.iter().any(|p| p.message.contains("pokes out")));
    }
}
