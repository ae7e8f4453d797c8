//! The check's report as a short table for the terminal, in English or Chinese ([`Lang`]). Rule codes
//! stay as in the JSON report beside their Chinese names.

use super::{CheckReport, Rule};
use crate::lang::{Lang, pad};
use std::collections::BTreeMap;

/// What a planner calls a rule, in Chinese.
pub fn rule_zh(rule: Rule) -> &'static str {
    match rule {
        Rule::BandUnder => "户数不足",
        Rule::BandOver => "户数超标",
        Rule::PopulationAlert => "人口提示",
        Rule::PopulationBand => "人口不符",
        Rule::Gap => "空隙未覆盖",
        Rule::Overlap => "网格重叠",
        Rule::CrossesLeaf => "跨越社区边界",
        Rule::OutsideLeaves => "超出辖区",
        Rule::MultiPart => "网格不连片",
        Rule::SplitBuilding => "楼栋被分割",
        Rule::EmptyGrid => "空网格",
        Rule::LeafWithoutGrid => "社区无网格",
        Rule::HouseholdsOutsideGrids => "住户不在网格内",
        Rule::SplitBlock => "街区被分割",
        Rule::MalformedGridCode => "网格编码格式错误",
        Rule::DuplicateCode => "网格编码重复",
    }
}

impl CheckReport {
    /// The name of leaf `code` as the boundaries give it, else the code.
    pub fn leaf_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.leaves
            .iter()
            .find(|l| l.code == code)
            .and_then(|l| l.name.as_deref())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(code)
    }

    /// A short table for the terminal.
    pub fn render_text(&self) -> String {
        self.render_text_in(Lang::En, "gridplan check")
    }

    /// [`render_text`](Self::render_text) under another title (the check of a plan's new grids).
    pub fn render_text_titled(&self, title: &str) -> String {
        self.render_text_in(Lang::En, title)
    }

    /// The table in `lang` under `title`.
    pub fn render_text_in(&self, lang: Lang, title: &str) -> String {
        let t = |en, zh| lang.pick(en, zh);
        let s = &self.summary;
        let mut out = String::new();
        let verdict = match (s.compliant, lang) {
            (true, Lang::En) => "COMPLIANT".to_string(),
            (false, Lang::En) => "NOT COMPLIANT".to_string(),
            (true, Lang::Zh) => "合规".to_string(),
            (false, Lang::Zh) => "不合规".to_string(),
        };
        match lang {
            Lang::En => out.push_str(&format!(
                "{title}: {verdict} ({} violation(s))\n\n",
                s.violations
            )),
            Lang::Zh => out.push_str(&format!(
                "{title}：{verdict}（违规 {} 项）\n\n",
                s.violations
            )),
        }
        let line =
            |out: &mut String, k: &str, v: String| out.push_str(&format!("  {} {v}\n", pad(k, 34)));
        line(
            &mut out,
            t("grids (ok / under / over)", "网格（合格 / 不足 / 超标）"),
            format!("{} ({} / {} / {})", s.grids, s.ok, s.under, s.over),
        );
        line(
            &mut out,
            t("households in grids / in none", "网格内住户 / 未入网格"),
            format!("{} / {}", s.households_assigned, s.households_unassigned),
        );
        line(
            &mut out,
            t("households outside every leaf", "辖区外住户"),
            format!("{}", s.households_outside_leaves.households),
        );
        line(
            &mut out,
            t("gap area / overlap area (m²)", "空隙面积 / 重叠面积（m²）"),
            format!("{:.1} / {:.1}", s.gap_area_m2, s.overlap_area_m2),
        );
        line(
            &mut out,
            t("grids crossing a leaf boundary", "跨越社区边界的网格"),
            s.grids_crossing_leaf.to_string(),
        );
        line(
            &mut out,
            t("multi-part grids", "不连片网格"),
            s.multi_part_grids.to_string(),
        );
        line(
            &mut out,
            t("split buildings", "被分割的楼栋"),
            s.split_buildings.to_string(),
        );
        line(
            &mut out,
            t("empty grids", "空网格"),
            s.empty_grids.to_string(),
        );
        line(
            &mut out,
            t("leaves without a grid", "无网格的社区"),
            match lang {
                Lang::En => format!("{} of {}", s.leaves_without_grid, s.leaves),
                Lang::Zh => format!("{} / {}", s.leaves_without_grid, s.leaves),
            },
        );
        line(
            &mut out,
            t("population alerts", "人口提示"),
            format!(
                "{}{}",
                s.population_alerts,
                if s.population_known {
                    ""
                } else {
                    t(" (population partly unknown)", "（部分人口未知）")
                }
            ),
        );
        line(
            &mut out,
            t("leaves with no feasible grid count", "无可行网格数的社区"),
            s.leaves_infeasible.len().to_string(),
        );
        line(
            &mut out,
            t(
                "mean compactness (Polsby–Popper)",
                "平均紧凑度（Polsby–Popper）",
            ),
            format!("{:.3}", s.mean_compactness),
        );
        if !self.violations.is_empty() {
            let mut by_rule: BTreeMap<Rule, usize> = BTreeMap::new();
            for v in &self.violations {
                *by_rule.entry(v.rule).or_default() += 1;
            }
            out.push_str(t("\n  violations by rule:\n", "\n  各规则违规数：\n"));
            let code = |rule: Rule| {
                serde_json::to_value(rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            let named = |rule: Rule| match lang {
                Lang::En => code(rule),
                Lang::Zh => format!("{}（{}）", rule_zh(rule), code(rule)),
            };
            for (rule, n) in by_rule {
                out.push_str(&format!("    {} {n}\n", pad(&named(rule), 28)));
            }
            const SHOWN: usize = 15;
            out.push_str(t("\n  first violations:\n", "\n  前几项违规：\n"));
            for v in self.violations.iter().take(SHOWN) {
                // A grid by its code, a leaf by its name.
                let at = match (&v.grid, &v.leaf) {
                    (Some(g), _) => g.as_str(),
                    (None, Some(l)) => self.leaf_name(l),
                    (None, None) => "-",
                };
                let at = pad(at, 24);
                match lang {
                    Lang::En => out.push_str(&format!("    {at} {}\n", v.message)),
                    Lang::Zh => out.push_str(&format!(
                        "    {at} {}：{}\n",
                        rule_zh(v.rule),
                        v.message_in(lang)
                    )),
                }
            }
            if self.violations.len() > SHOWN {
                let more = self.violations.len() - SHOWN;
                match lang {
                    Lang::En => out.push_str(&format!("    … {more} more in the report\n")),
                    Lang::Zh => out.push_str(&format!("    ……另有 {more} 项，见报告\n")),
                }
            }
        }
        if s.empty_blocks_cut > 0 {
            let n = s.empty_blocks_cut;
            match lang {
                Lang::En => out.push_str(&format!(
                    "\n  note: {n} block(s) without households are cut between grids (not a violation; listed in the report)\n"
                )),
                Lang::Zh => out.push_str(&format!(
                    "\n  注：{n} 个无住户的街区被网格分割（不计违规，见报告）\n"
                )),
            }
        }
        for l in &s.leaves_infeasible {
            let name = self.leaf_name(&l.leaf);
            match lang {
                Lang::En => out.push_str(&format!("\n  note: {name}: {}", l.why)),
                Lang::Zh => out.push_str(&format!("\n  注：{name}：{}", l.why_zh)),
            }
        }
        if !s.leaves_infeasible.is_empty() {
            out.push('\n');
        }
        out.push_str(&crate::problem::render_warnings_in(
            lang,
            &self.warnings,
            10,
        ));
        out
    }
}
