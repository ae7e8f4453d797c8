//! The check's report as a short table for the terminal.

use super::{CheckReport, Rule};
use std::collections::BTreeMap;

impl CheckReport {
    /// A short table for the terminal.
    pub fn render_text(&self) -> String {
        self.render_text_titled("gridplan check")
    }

    /// [`render_text`](Self::render_text) under another title (the check of a plan's new grids).
    pub fn render_text_titled(&self, title: &str) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let verdict = if s.compliant {
            "COMPLIANT"
        } else {
            "NOT COMPLIANT"
        };
        out.push_str(&format!(
            "{title}: {verdict} ({} violation(s))\n\n",
            s.violations
        ));
        let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("  {k:<34} {v}\n"));
        line(
            &mut out,
            "grids (ok / under / over)",
            format!("{} ({} / {} / {})", s.grids, s.ok, s.under, s.over),
        );
        line(
            &mut out,
            "households in grids / in none",
            format!("{} / {}", s.households_assigned, s.households_unassigned),
        );
        line(
            &mut out,
            "households outside every leaf",
            format!("{}", s.households_outside_leaves.households),
        );
        line(
            &mut out,
            "gap area / overlap area (m²)",
            format!("{:.1} / {:.1}", s.gap_area_m2, s.overlap_area_m2),
        );
        line(
            &mut out,
            "grids crossing a leaf boundary",
            s.grids_crossing_leaf.to_string(),
        );
        line(&mut out, "multi-part grids", s.multi_part_grids.to_string());
        line(&mut out, "split buildings", s.split_buildings.to_string());
        line(&mut out, "empty grids", s.empty_grids.to_string());
        line(
            &mut out,
            "leaves without a grid",
            format!("{} of {}", s.leaves_without_grid, s.leaves),
        );
        line(
            &mut out,
            "population alerts",
            format!(
                "{}{}",
                s.population_alerts,
                if s.population_known {
                    ""
                } else {
                    " (population partly unknown)"
                }
            ),
        );
        line(
            &mut out,
            "leaves with no feasible grid count",
            s.leaves_infeasible.len().to_string(),
        );
        line(
            &mut out,
            "mean compactness (Polsby–Popper)",
            format!("{:.3}", s.mean_compactness),
        );
        if !self.violations.is_empty() {
            let mut by_rule: BTreeMap<Rule, usize> = BTreeMap::new();
            for v in &self.violations {
                *by_rule.entry(v.rule).or_default() += 1;
            }
            out.push_str("\n  violations by rule:\n");
            for (rule, n) in by_rule {
                let name = serde_json::to_value(rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                out.push_str(&format!("    {name:<28} {n}\n"));
            }
            const SHOWN: usize = 15;
            out.push_str("\n  first violations:\n");
            for v in self.violations.iter().take(SHOWN) {
                let at = v.grid.as_deref().or(v.leaf.as_deref()).unwrap_or("-");
                out.push_str(&format!("    {at:<24} {}\n", v.message));
            }
            if self.violations.len() > SHOWN {
                out.push_str(&format!(
                    "    … {} more in the report\n",
                    self.violations.len() - SHOWN
                ));
            }
        }
        for l in &s.leaves_infeasible {
            out.push_str(&format!("\n  note: leaf {}: {}", l.leaf, l.why));
        }
        if !s.leaves_infeasible.is_empty() {
            out.push('\n');
        }
        out.push_str(&crate::problem::render_warnings(&self.warnings, 10));
        out
    }
}
