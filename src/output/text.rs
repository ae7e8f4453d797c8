//! What the command line prints: a short summary of each operation's result for the terminal. The
//! check's own table is [`CheckReport::render_text`](crate::check::CheckReport::render_text).

use crate::diff::Diff;
use crate::ops::{Drawn, PlanOutcome, Staffed};
use crate::plan::replan::Change;
use crate::problem::render_warnings;
use crate::staff::assign::SolveStatus;
use crate::staff::visits::{Level, Month, VisitPlan};
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
pub fn partition(outcome: &PlanOutcome, out: &Path, report: Option<&Path>) -> String {
    let p = &outcome.planned;
    let q = &p.quality;
    let mut s = String::new();
    match &p.drawn {
        Drawn::Redrawn {
            changes,
            removed_leaves,
        } => {
            let count = |c: Change| changes.iter().filter(|l| l.change == c).count();
            line!(
                s,
                "gridplan partition --previous: {} grids in {} leaves written to {}\n",
                p.grids.len(),
                changes.len(),
                out.display()
            );
            line!(
                s,
                "  leaves unchanged {}, reshaped {}, new {}, removed {}",
                count(Change::Unchanged),
                count(Change::Reshaped),
                count(Change::New),
                removed_leaves.len()
            );
            for l in changes.iter().filter(|l| l.change != Change::Unchanged) {
                line!(
                    s,
                    "    {:<14} {:?}: kept {}, redrawn {}, removed {}",
                    l.leaf,
                    l.change,
                    l.grids_kept.len(),
                    l.grids_redrawn.len(),
                    l.grids_removed.len()
                );
            }
            for code in removed_leaves {
                line!(s, "    {code:<14} removed");
            }
            line!(
                s,
                "  in band where reachable {:.1} %, multi-part grids {}, mean compactness {:.3}\n",
                100.0 * q.share_in_band_where_reachable,
                q.multi_part_grids,
                q.mean_compactness
            );
            s.push_str(&p.check.render_text_titled("check of the new grids"));
            return s;
        }
        Drawn::Fresh { leaves } => {
            line!(
                s,
                "gridplan partition: {} grids in {} leaves written to {}\n",
                p.grids.len(),
                leaves.len(),
                out.display()
            );
        }
    }
    line!(
        s,
        "  in band where reachable            {:.1} % of {} grids",
        100.0 * q.share_in_band_where_reachable,
        q.grids_where_band_reachable
    );
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
    if let Some(gq) = &outcome.ground {
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
    for b in &p.splits {
        if b.separated {
            line!(
                s,
                "  note: building {} of {} ({} households) split by {} into {:?}",
                b.building,
                b.leaf,
                b.households,
                b.by,
                b.pieces
            );
        } else {
            line!(
                s,
                "  note: building {} of {} ({} households) is larger than a grid, but its {}s share one location and could not be divided",
                b.building,
                b.leaf,
                b.households,
                b.by
            );
        }
    }
    line!(s);
    s.push_str(&p.check.render_text_titled("check of the new grids"));
    if let Some(path) = report {
        line!(s, "\n  report written to {}", path.display());
    }
    s
}

/// `gridplan partition --by-county`: the counties, then the figures and the check as for one plan.
pub fn partition_by_county(
    done: &crate::ops::CountyByCounty,
    out: &Path,
    report: Option<&Path>,
) -> String {
    let q = &done.quality;
    let mut s = String::new();
    line!(
        s,
        "gridplan partition --by-county: {} grids in {} leaves of {} counties written to {}\n",
        done.check.summary.grids,
        done.leaf_plans.len(),
        done.counties.len(),
        out.display()
    );
    for c in &done.counties {
        line!(
            s,
            "  {:<14} {:<24} {:>6} leaves {:>10} households {:>6} grids",
            c.code,
            c.name.as_deref().unwrap_or(""),
            c.leaves,
            c.households,
            c.grids
        );
    }
    line!(s);
    line!(
        s,
        "  in band where reachable            {:.1} % of {} grids",
        100.0 * q.share_in_band_where_reachable,
        q.grids_where_band_reachable
    );
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
    line!(s);
    s.push_str(&done.check.render_text_titled("check of the new grids"));
    if let Some(path) = report {
        line!(s, "\n  report written to {}", path.display());
    }
    s
}

/// `gridplan assign`: the staffing per town, the shortfall, towns left unsolved, warnings.
pub fn assign(staffed: &Staffed, out: &Path, report: Option<&Path>) -> String {
    let st = &staffed.assignment.staffing;
    let time_limit_s = staffed.time_limit_s;
    let mut s = String::new();
    line!(
        s,
        "gridplan assign: {} grids, {:.0} workload hours a week, {} towns (solver: {})\n",
        st.total_grids,
        st.total_workload_hours,
        st.towns.len(),
        st.solver
    );
    line!(
        s,
        "  {:<14} {:>5} {:>8} {:>9} {:>5} {:>9} {:>10} {:>11} {:>8}",
        "town",
        "grids",
        "hours",
        "available",
        "used",
        "uncovered",
        "shortfall",
        "status",
        "gap"
    );
    for t in &st.towns {
        line!(
            s,
            "  {:<14} {:>5} {:>8.0} {:>9} {:>5} {:>9} {:>10} {:>11} {:>8}",
            t.town,
            t.grids,
            t.workload_hours,
            t.workers_available,
            t.workers_used,
            t.grids_uncovered.len(),
            t.shortfall_workers,
            serde_json::to_value(t.solver_status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            if t.mip_gap.is_finite() {
                format!("{:.3}%", 100.0 * t.mip_gap)
            } else {
                "unknown".to_string()
            }
        );
    }
    line!(
        s,
        "\n  workers to recruit in all: {}",
        st.total_shortfall_workers
    );
    if st.total_cadre_responsible > 0 {
        line!(
            s,
            "  grids whose responsible worker is a village cadre (flagged): {}",
            st.total_cadre_responsible
        );
    }
    let unsolved = st
        .towns
        .iter()
        .filter(|t| t.solver_status == SolveStatus::NoSolution)
        .count();
    if unsolved > 0 {
        line!(
            s,
            "  note: in {unsolved} town(s) the solver found no assignment within assign.time_limit_s \
             ({time_limit_s} s): their grids are reported uncovered; raise the limit in the rules"
        );
    }
    s.push_str(&render_warnings(&st.warnings, 10));
    line!(s, "  assignment written to {}", out.display());
    if let Some(path) = report {
        line!(s, "  staffing report written to {}", path.display());
    }
    s
}

/// `gridplan visits`: visits planned, residents per category, overdue residents, handovers.
pub fn visits(plan: &VisitPlan, month: Month, out: &Path) -> String {
    let mut s = String::new();
    let visits: usize = plan.workers.iter().map(|w| w.visits.len()).sum();
    line!(
        s,
        "gridplan visits {month}: {visits} visits for {} workers, {} not placed",
        plan.workers.len(),
        plan.unassigned.len()
    );
    for (category, n) in &plan.residents {
        line!(s, "  residents {category:<14} {n}");
    }
    if let Some(overdue) = &plan.overdue {
        let errors = overdue.iter().filter(|o| o.level == Level::Error).count();
        line!(
            s,
            "  overdue: {} ({errors} errors: more than one cadence late or never visited)",
            overdue.len()
        );
        for o in overdue.iter().take(10) {
            line!(
                s,
                "    {:?} {} in {} ({}): {}",
                o.level,
                o.resident,
                o.grid,
                o.worker.as_deref().unwrap_or("no worker"),
                match o.days_overdue {
                    Some(d) => format!("{d} days past the cadence"),
                    None => "never visited".to_string(),
                }
            );
        }
        line!(
            s,
            "  visit lists handed over to a new worker: {}",
            plan.handovers.len()
        );
    }
    s.push_str(&render_warnings(&plan.warnings, 10));
    line!(
        s,
        "  written to {} (planner-only: it names residents)",
        out.display()
    );
    s
}

/// `gridplan diff`: households kept, grids kept, reshaped, created and removed, the largest moves.
pub fn diff(d: &Diff, old: &Path, new: &Path, out: Option<&Path>) -> String {
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
    s.push_str(&render_warnings(&d.warnings, 10));
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
