//! What the command line prints: a short summary of each operation's result for the terminal, in the
//! locale's language ([`Lang`]: Chinese for `zh…`, else English). The check's own table is
//! [`CheckReport::render_text_in`](crate::check::CheckReport::render_text_in).

use crate::diff::Diff;
use crate::lang::{Lang, pad};
use crate::ops::{Drawn, PlanOutcome, Staffed};
use crate::plan::replan::Change;
use crate::problem::render_warnings_in;
use crate::staff::assign::SolveStatus;
use crate::staff::visits::{Level, Month, VisitPlan};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Appends one formatted line to a `String` (writing to a `String` cannot fail).
macro_rules! line {
    ($out:expr) => {
        $out.push('\n')
    };
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// `gridplan partition`: grids written, quality, oversize buildings split, the check of the new grids
/// (a re-draw: what happened to each leaf, quality, the check).
pub fn partition(lang: Lang, outcome: &PlanOutcome, out: &Path, report: Option<&Path>) -> String {
    let t = |en, zh| lang.pick(en, zh);
    let p = &outcome.planned;
    let q = &p.quality;
    let mut s = String::new();
    match &p.drawn {
        Drawn::Redrawn {
            changes,
            removed_leaves,
        } => {
            let count = |c: Change| changes.iter().filter(|l| l.change == c).count();
            match lang {
                Lang::En => line!(
                    s,
                    "gridplan partition --previous: {} grids in {} leaves written to {}\n",
                    p.grids.len(),
                    changes.len(),
                    out.display()
                ),
                Lang::Zh => line!(
                    s,
                    "gridplan partition --previous：{} 个社区共 {} 个网格，已写入 {}\n",
                    changes.len(),
                    p.grids.len(),
                    out.display()
                ),
            }
            match lang {
                Lang::En => line!(
                    s,
                    "  leaves unchanged {}, reshaped {}, new {}, removed {}",
                    count(Change::Unchanged),
                    count(Change::Reshaped),
                    count(Change::New),
                    removed_leaves.len()
                ),
                Lang::Zh => line!(
                    s,
                    "  社区未变 {}，边界调整 {}，新增 {}，撤销 {}",
                    count(Change::Unchanged),
                    count(Change::Reshaped),
                    count(Change::New),
                    removed_leaves.len()
                ),
            }
            let name = |code: &str| pad(p.check.leaf_name(code), 14);
            for l in changes.iter().filter(|l| l.change != Change::Unchanged) {
                let leaf = name(&l.leaf);
                match lang {
                    Lang::En => line!(
                        s,
                        "    {leaf} {:?}: kept {}, redrawn {}, removed {}",
                        l.change,
                        l.grids_kept.len(),
                        l.grids_redrawn.len(),
                        l.grids_removed.len()
                    ),
                    Lang::Zh => line!(
                        s,
                        "    {leaf} {}：保留 {}，重划 {}，撤销 {}",
                        change_zh(l.change),
                        l.grids_kept.len(),
                        l.grids_redrawn.len(),
                        l.grids_removed.len()
                    ),
                }
            }
            for code in removed_leaves {
                line!(s, "    {} {}", name(code), t("removed", "已撤销"));
            }
            match lang {
                Lang::En => line!(
                    s,
                    "  in band where reachable {:.1} %, multi-part grids {}, mean compactness {:.3}\n",
                    floor_pct(q.share_in_band_where_reachable),
                    q.multi_part_grids,
                    q.mean_compactness
                ),
                Lang::Zh => line!(
                    s,
                    "  可达处户数达标 {:.1} %，不连片网格 {}，平均紧凑度 {:.3}\n",
                    floor_pct(q.share_in_band_where_reachable),
                    q.multi_part_grids,
                    q.mean_compactness
                ),
            }
            s.push_str(&new_grids_check(lang, &p.check));
            return s;
        }
        Drawn::Fresh { leaves } => match lang {
            Lang::En => line!(
                s,
                "gridplan partition: {} grids in {} leaves written to {}\n",
                p.grids.len(),
                leaves.len(),
                out.display()
            ),
            Lang::Zh => line!(
                s,
                "gridplan partition：{} 个社区共 {} 个网格，已写入 {}\n",
                leaves.len(),
                p.grids.len(),
                out.display()
            ),
        },
    }
    s.push_str(&quality_lines(lang, q));
    if let Some(gq) = &outcome.ground {
        match lang {
            Lang::En => {
                line!(
                    s,
                    "  populated blocks cut between grids {} of {} ({:.1} %)",
                    gq.populated_blocks_split,
                    gq.populated_blocks,
                    100.0 * gq.share_populated_blocks_split
                );
                line!(
                    s,
                    "  inner grid edges on blocks/barriers {:.1} % of {:.0} m",
                    100.0 * gq.share_inner_edges_on_ground,
                    gq.inner_edge_m
                );
            }
            Lang::Zh => {
                line!(
                    s,
                    "  {} {} / {}（{:.1} %）",
                    pad("被网格分割的有住户街区", 34),
                    gq.populated_blocks_split,
                    gq.populated_blocks,
                    100.0 * gq.share_populated_blocks_split
                );
                line!(
                    s,
                    "  {} {:.1} %（共 {:.0} 米）",
                    pad("沿街区边或道路河流的网格内边", 34),
                    100.0 * gq.share_inner_edges_on_ground,
                    gq.inner_edge_m
                );
            }
        }
    }
    for b in &p.splits {
        let leaf = p.check.leaf_name(&b.leaf);
        if lang == Lang::Zh {
            if b.separated {
                line!(
                    s,
                    "  注：{leaf}的楼栋 {}（{} 户）按{}分入 {}",
                    b.building,
                    b.households,
                    by_zh(b.by),
                    pieces_zh(&b.pieces)
                );
            } else {
                line!(
                    s,
                    "  注：{leaf}的楼栋 {}（{} 户）超过一个网格的上限，但其各{}位置相同，无法再分",
                    b.building,
                    b.households,
                    by_zh(b.by)
                );
            }
        } else if b.separated {
            line!(
                s,
                "  note: building {} of {leaf} ({} households) split by {} into {:?}",
                b.building,
                b.households,
                b.by,
                b.pieces
            );
        } else {
            line!(
                s,
                "  note: building {} of {leaf} ({} households) is larger than a grid, but its {}s share one location and could not be divided",
                b.building,
                b.households,
                b.by
            );
        }
    }
    line!(s);
    s.push_str(&new_grids_check(lang, &p.check));
    if let Some(path) = report {
        line!(
            s,
            "\n  {} {}",
            t("report written to", "报告已写入"),
            path.display()
        );
    }
    s
}

/// The check of a plan's new grids, titled in `lang`.
fn new_grids_check(lang: Lang, check: &crate::check::CheckReport) -> String {
    check.render_text_in(lang, lang.pick("check of the new grids", "新网格检查"))
}

/// What a building was divided by, in Chinese.
fn by_zh(by: &str) -> &str {
    match by {
        "entrance" => "单元",
        "count" => "户数",
        other => other,
    }
}

/// The households of each piece of a divided building, in Chinese: "320 户、320 户".
fn pieces_zh(pieces: &[u64]) -> String {
    let each: Vec<String> = pieces.iter().map(|n| format!("{n} 户")).collect();
    each.join("、")
}

/// What happened to a leaf on a re-draw, in Chinese.
fn change_zh(c: Change) -> &'static str {
    match c {
        Change::Unchanged => "未变",
        Change::Reshaped => "边界调整",
        Change::New => "新增",
    }
}

/// The quality figures of a plan.
fn quality_lines(lang: Lang, q: &crate::check::Quality) -> String {
    let mut s = String::new();
    match lang {
        Lang::En => {
            line!(
                s,
                "  in band where reachable            {:.1} % of {} grids",
                floor_pct(q.share_in_band_where_reachable),
                q.grids_where_band_reachable
            );
            if let Some((share, of)) = q.where_whole_cells_reach() {
                line!(
                    s,
                    "  … where whole cells can reach it   {:.1} % of {} grids",
                    floor_pct(share),
                    of
                );
            }
            line!(
                s,
                "  multi-part grids                   {}",
                q.multi_part_grids
            );
            line!(
                s,
                "  compactness (Polsby–Popper)        mean {:.3}, 10th percentile {:.3}",
                q.mean_compactness,
                q.p10_compactness
            );
        }
        Lang::Zh => {
            line!(
                s,
                "  {} {:.1} %（共 {} 个网格）",
                pad("可达处户数达标", 34),
                floor_pct(q.share_in_band_where_reachable),
                q.grids_where_band_reachable
            );
            if let Some((share, of)) = q.where_whole_cells_reach() {
                line!(
                    s,
                    "  {} {:.1} %（共 {} 个网格）",
                    pad("其中不拆单元可达处达标", 34),
                    floor_pct(share),
                    of
                );
            }
            line!(s, "  {} {}", pad("不连片网格", 34), q.multi_part_grids);
            line!(
                s,
                "  {} 平均 {:.3}，第 10 百分位 {:.3}",
                pad("紧凑度（Polsby–Popper）", 34),
                q.mean_compactness,
                q.p10_compactness
            );
        }
    }
    s
}

/// `gridplan partition --by-county`: the counties, then the figures and the check as for one plan.
pub fn partition_by_county(
    lang: Lang,
    done: &crate::ops::CountyByCounty,
    out: &Path,
    report: Option<&Path>,
) -> String {
    let q = &done.quality;
    let mut s = String::new();
    match lang {
        Lang::En => line!(
            s,
            "gridplan partition --by-county: {} grids in {} leaves of {} counties written to {}\n",
            done.check.summary.grids,
            done.leaf_plans.len(),
            done.counties.len(),
            out.display()
        ),
        Lang::Zh => line!(
            s,
            "gridplan partition --by-county：{} 个县区 {} 个社区共 {} 个网格，已写入 {}\n",
            done.counties.len(),
            done.leaf_plans.len(),
            done.check.summary.grids,
            out.display()
        ),
    }
    for c in &done.counties {
        let name = pad(c.name.as_deref().unwrap_or(""), 24);
        match lang {
            Lang::En => line!(
                s,
                "  {:<14} {name} {:>6} leaves {:>10} households {:>6} grids",
                c.code,
                c.leaves,
                c.households,
                c.grids
            ),
            Lang::Zh => line!(
                s,
                "  {:<14} {name} 社区 {:>6} 户 {:>10} 网格 {:>6}",
                c.code,
                c.leaves,
                c.households,
                c.grids
            ),
        }
    }
    line!(s);
    s.push_str(&quality_lines(lang, q));
    line!(s);
    s.push_str(&new_grids_check(lang, &done.check));
    if let Some(path) = report {
        line!(
            s,
            "\n  {} {}",
            lang.pick("report written to", "报告已写入"),
            path.display()
        );
    }
    s
}

/// `gridplan assign`: the staffing per town, the shortfall, towns left unsolved, warnings.
/// Town names (`names`: code → name, from the boundaries when given) stand for their codes.
pub fn assign(
    lang: Lang,
    staffed: &Staffed,
    names: &BTreeMap<String, String>,
    out: &Path,
    report: Option<&Path>,
) -> String {
    let t = |en, zh| lang.pick(en, zh);
    let st = &staffed.assignment.staffing;
    let time_limit_s = staffed.time_limit_s;
    let mut s = String::new();
    match lang {
        Lang::En => line!(
            s,
            "gridplan assign: {} grids, {:.0} workload hours a week, {} towns (solver: {})\n",
            st.total_grids,
            st.total_workload_hours,
            st.towns.len(),
            st.solver
        ),
        Lang::Zh => line!(
            s,
            "gridplan assign：{} 个街镇 {} 个网格，每周工作量 {:.0} 小时（求解器：{}）\n",
            st.towns.len(),
            st.total_grids,
            st.total_workload_hours,
            st.solver
        ),
    }
    match lang {
        Lang::En => line!(
            s,
            "  {:<14} {:>5} {:>8} {:>9} {:>5} {:>9} {:>10}  {}",
            "town",
            "grids",
            "hours",
            "available",
            "used",
            "uncovered",
            "shortfall",
            "solver"
        ),
        // Each heading padded to its column (a Chinese character takes two).
        Lang::Zh => line!(
            s,
            "  {}{}{}{}{}{}{}  {}",
            pad("街镇", 15),
            pad(" 网格", 6),
            pad("    工时", 9),
            pad(" 可用人员", 10),
            pad(" 已用", 6),
            pad(" 未覆盖", 10),
            pad("   缺员", 11),
            "求解结果"
        ),
    }
    for t in &st.towns {
        let status = serde_json::to_value(t.solver_status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let code = t.town.to_string();
        let town = pad(names.get(&code).unwrap_or(&code), 14);
        line!(
            s,
            "  {town} {:>5} {:>8.0} {:>9} {:>5} {:>9} {:>10}  {}",
            t.grids,
            t.workload_hours,
            t.workers_available,
            t.workers_used,
            t.grids_uncovered.len(),
            t.shortfall_workers,
            lang.solver_outcome(&status, t.mip_gap)
        );
    }
    line!(
        s,
        "\n  {} {}",
        t("workers to recruit in all:", "共需补充网格员："),
        st.total_shortfall_workers
    );
    if st.total_cadre_responsible > 0 {
        line!(
            s,
            "  {} {}",
            t(
                "grids whose responsible worker is a village cadre (flagged):",
                "由村干部兼任网格员的网格（已标记）："
            ),
            st.total_cadre_responsible
        );
    }
    let unsolved = st
        .towns
        .iter()
        .filter(|t| t.solver_status == SolveStatus::NoSolution)
        .count();
    if unsolved > 0 && lang == Lang::Zh {
        line!(
            s,
            "  注：{unsolved} 个街镇在 assign.time_limit_s（{time_limit_s} 秒）内未求得分配，其网格记为未覆盖；请在规则中调高该限值"
        );
    } else if unsolved > 0 {
        line!(
            s,
            "  note: in {unsolved} town(s) the solver found no assignment within assign.time_limit_s \
             ({time_limit_s} s): their grids are reported uncovered; raise the limit in the rules"
        );
    }
    s.push_str(&render_warnings_in(lang, &st.warnings, 10));
    line!(
        s,
        "  {} {}",
        t("assignment written to", "分配结果已写入"),
        out.display()
    );
    if let Some(path) = report {
        line!(
            s,
            "  {} {}",
            t("staffing report written to", "配员报告已写入"),
            path.display()
        );
    }
    s
}

/// `gridplan visits`: visits planned, residents per category, overdue residents, handovers.
pub fn visits(lang: Lang, plan: &VisitPlan, month: Month, out: &Path) -> String {
    let t = |en, zh| lang.pick(en, zh);
    let mut s = String::new();
    let visits: usize = plan.workers.iter().map(|w| w.visits.len()).sum();
    match lang {
        Lang::En => line!(
            s,
            "gridplan visits {month}: {visits} visits for {} workers, {} not placed",
            plan.workers.len(),
            plan.unassigned.len()
        ),
        Lang::Zh => line!(
            s,
            "gridplan visits {month}：{} 名网格员共 {visits} 次走访，{} 次未能安排",
            plan.workers.len(),
            plan.unassigned.len()
        ),
    }
    for (category, n) in &plan.residents {
        match lang {
            Lang::En => line!(s, "  residents {category:<14} {n}"),
            Lang::Zh => line!(s, "  走访对象：{} {n}", pad(category_zh(category), 12)),
        }
    }
    if let Some(overdue) = &plan.overdue {
        let errors = overdue.iter().filter(|o| o.level == Level::Error).count();
        match lang {
            Lang::En => line!(
                s,
                "  overdue: {} ({errors} errors: more than one cadence late or never visited)",
                overdue.len()
            ),
            Lang::Zh => line!(
                s,
                "  逾期：{}（其中严重 {errors}：超过一个周期或从未走访）",
                overdue.len()
            ),
        }
        for o in overdue.iter().take(10) {
            let level = match (o.level, lang) {
                (Level::Error, Lang::Zh) => "严重",
                (Level::Warning, Lang::Zh) => "提醒",
                (Level::Error, Lang::En) => "Error",
                (Level::Warning, Lang::En) => "Warning",
            };
            line!(
                s,
                "    {level} {} {} {} ({}): {}",
                o.resident,
                t("in", "所在网格"),
                o.grid,
                o.worker.as_deref().unwrap_or(t("no worker", "无网格员")),
                match (o.days_overdue, lang) {
                    (Some(d), Lang::En) => format!("{d} days past the cadence"),
                    (Some(d), Lang::Zh) => format!("超过周期 {d} 天"),
                    (None, _) => t("never visited", "从未走访").to_string(),
                }
            );
        }
        line!(
            s,
            "  {} {}",
            t(
                "visit lists handed over to a new worker:",
                "移交给新网格员的走访名单："
            ),
            plan.handovers.len()
        );
    }
    s.push_str(&render_warnings_in(lang, &plan.warnings, 10));
    match lang {
        Lang::En => line!(
            s,
            "  written to {} (planner-only: it names residents)",
            out.display()
        ),
        Lang::Zh => line!(s, "  已写入 {}（仅限规划人员：含居民姓名）", out.display()),
    }
    s
}

/// A category of residents to visit, in Chinese (`elderly_alone` → 独居老人).
pub fn category_zh(category: &str) -> &str {
    match category {
        "elderly_alone" => "独居老人",
        "key_persons" => "重点人员",
        "vulnerable" => "困难群体",
        "others" => "其他住户",
        other => other,
    }
}

/// `gridplan diff`: households kept, grids kept, reshaped, created and removed, the largest moves.
pub fn diff(lang: Lang, d: &Diff, old: &Path, new: &Path, out: Option<&Path>) -> String {
    if lang == Lang::Zh {
        return diff_zh(d, old, new, out);
    }
    let mut s = String::new();
    let sm = &d.summary;
    line!(s, "gridplan diff: {} → {}\n", old.display(), new.display());
    line!(
        s,
        "  households kept in their grid      {} of {} ({:.1} %)",
        sm.households_kept,
        sm.households,
        100.0 * sm.share_kept
    );
    line!(
        s,
        "  household-weighted agreement       {:.1} %",
        100.0 * sm.agreement
    );
    line!(
        s,
        "  grids old / new                    {} / {}",
        sm.grids_old,
        sm.grids_new
    );
    line!(
        s,
        "  kept / reshaped / created / removed {} / {} / {} / {}",
        sm.kept,
        sm.reshaped,
        sm.created,
        sm.removed
    );
    line!(
        s,
        "  workers whose grids changed        {}",
        sm.workers_changed
    );
    s.push_str(&render_warnings_in(Lang::En, &d.warnings, 10));
    for m in d.moves.iter().take(15) {
        line!(
            s,
            "    {:>6} households  {} → {}",
            m.households,
            m.from.as_deref().unwrap_or("(none)"),
            m.to.as_deref().unwrap_or("(none)")
        );
    }
    if let Some(path) = out {
        line!(s, "\n  diff written to {}", path.display());
    }
    s
}

/// [`diff`] in Chinese.
fn diff_zh(d: &Diff, old: &Path, new: &Path, out: Option<&Path>) -> String {
    let mut s = String::new();
    let sm = &d.summary;
    let row = |s: &mut String, k: &str, v: String| line!(s, "  {} {v}", pad(k, 34));
    line!(s, "gridplan diff：{} → {}\n", old.display(), new.display());
    row(
        &mut s,
        "留在原网格的住户",
        format!(
            "{} / {}（{:.1} %）",
            sm.households_kept,
            sm.households,
            100.0 * sm.share_kept
        ),
    );
    row(
        &mut s,
        "按户加权的一致度",
        format!("{:.1} %", 100.0 * sm.agreement),
    );
    row(
        &mut s,
        "网格数 原 / 新",
        format!("{} / {}", sm.grids_old, sm.grids_new),
    );
    row(
        &mut s,
        "保留 / 调整 / 新建 / 撤销",
        format!(
            "{} / {} / {} / {}",
            sm.kept, sm.reshaped, sm.created, sm.removed
        ),
    );
    row(&mut s, "网格有变动的网格员", sm.workers_changed.to_string());
    s.push_str(&render_warnings_in(Lang::Zh, &d.warnings, 10));
    for m in d.moves.iter().take(15) {
        line!(
            s,
            "    {:>6} 户  {} → {}",
            m.households,
            m.from.as_deref().unwrap_or("（无）"),
            m.to.as_deref().unwrap_or("（无）")
        );
    }
    if let Some(path) = out {
        line!(s, "\n  差异已写入 {}", path.display());
    }
    s
}

/// A share as a percentage to one decimal, rounded down: a share short of all is never shown as
/// 100.0 % (one grid out of band in 3,704 reads 99.9 %, not 100.0 %).
fn floor_pct(share: f64) -> f64 {
    (share * 1000.0 + 1e-9).floor() / 10.0
}

/// `gridplan report`: what was written, how many towns, communities and grids, and the warnings.
pub fn report(lang: Lang, h: &crate::ops::Handover, out: &Path) -> String {
    let mut s = String::new();
    let communities = h.communities().count();
    let grids = h.grid_count();
    let towns = h.towns.len();
    let pdf = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
    match lang {
        Lang::En => line!(
            s,
            "gridplan report: {} of {grids} grids in {communities} communities, {towns} towns, written to {}",
            if pdf { "atlas" } else { "ledger" },
            out.display()
        ),
        Lang::Zh => line!(
            s,
            "gridplan report：{}已写入 {}（{towns} 个街镇、{communities} 个社区、{grids} 个网格）",
            if pdf { "网格图册" } else { "网格台账" },
            out.display()
        ),
    }
    let named = h.communities().any(|(_, c)| {
        c.grids.iter().any(|g| {
            g.worker
                .as_ref()
                .is_some_and(|w| w.contact.name.is_some() || w.contact.phone.is_some())
        })
    });
    if named {
        line!(
            s,
            "  {}",
            lang.pick(
                "it lists the workers' names and phones: personal data, for planners only",
                "其中含网格员姓名、电话：个人信息，仅供规划人员使用"
            )
        );
    }
    s.push_str(&render_warnings_in(lang, &h.warnings.0, 10));
    s
}
