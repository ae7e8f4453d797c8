//! How good a set of grids is, by the measures planners care about: the share in the band where the band
//! can be reached, grids in several parts, and Polsby–Popper compactness (mean and 10th percentile).
//! Measured from the check of the grids, so a plan and any other grid layer are judged alike.

use super::{CheckReport, GridRow};
use crate::rules::BandStatus;
use serde::Serialize;
use std::collections::BTreeSet;

/// How good a set of grids is, by the measures planners care about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// Grids in leaves where some whole number of grids fits the band.
    pub grids_where_band_reachable: usize,
    /// Share of those grids inside the band (goal 1.0).
    pub share_in_band_where_reachable: f64,
    /// Grids in several parts where their leaf is one part (goal 0).
    pub multi_part_grids: usize,
    /// Mean Polsby–Popper compactness (goal ≥ 0.60).
    pub mean_compactness: f64,
    /// 10th percentile of Polsby–Popper compactness (goal ≥ 0.40).
    pub p10_compactness: f64,
    /// In a plan drawn afresh on ground layers: grids in leaves where the band is reachable with whole
    /// cells too (blocks kept whole, the land between them in its lattice squares, buildings whole):
    /// leaves where no grouping of whole cells fits the band with any count tried, proven, are left
    /// out. Not given for re-draws.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grids_where_whole_cells_reach: Option<usize>,
    /// Share of those grids inside the band (goal 1.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_in_band_where_whole_cells_reach: Option<f64>,
}

impl Quality {
    /// Measures grids from their check.
    pub fn measure(report: &CheckReport) -> Quality {
        let (in_reach, ok) = in_band(report, &Default::default());
        let mut pp: Vec<f64> = report.grids.iter().map(|g| g.compactness).collect();
        pp.sort_by(f64::total_cmp);
        let p10 = if pp.is_empty() {
            0.0
        } else {
            pp[(pp.len() - 1) / 10]
        };
        Quality {
            grids_where_band_reachable: in_reach,
            share_in_band_where_reachable: share(ok, in_reach),
            multi_part_grids: report.summary.multi_part_grids,
            mean_compactness: report.summary.mean_compactness,
            p10_compactness: p10,
            grids_where_whole_cells_reach: None,
            share_in_band_where_whole_cells_reach: None,
        }
    }

    /// The band's share and grid count where whole cells can reach it, when given and not the same
    /// grids as [`Quality::share_in_band_where_reachable`] (worth a line of its own then).
    pub fn where_whole_cells_reach(&self) -> Option<(f64, usize)> {
        let share = self.share_in_band_where_whole_cells_reach?;
        let of = self.grids_where_whole_cells_reach?;
        (of != self.grids_where_band_reachable).then_some((share, of))
    }

    /// [`Quality::measure`] of a plan drawn on ground layers, with the band's figure also taken
    /// without the leaves (codes) where no grouping of whole cells can meet it.
    pub fn measure_on_cells(report: &CheckReport, unreachable: &BTreeSet<&str>) -> Quality {
        let (in_reach, ok) = in_band(report, unreachable);
        Quality {
            grids_where_whole_cells_reach: Some(in_reach),
            share_in_band_where_whole_cells_reach: Some(share(ok, in_reach)),
            ..Quality::measure(report)
        }
    }
}

/// Grids in leaves where a whole number of grids fits the band, bar the `excluded` leaves, and how
/// many of them are in it.
fn in_band(report: &CheckReport, excluded: &BTreeSet<&str>) -> (usize, usize) {
    let reachable: std::collections::HashSet<&str> = report
        .leaves
        .iter()
        .filter(|l| l.infeasible.is_none() && !excluded.contains(l.code.as_str()))
        .map(|l| l.code.as_str())
        .collect();
    let in_reach: Vec<&GridRow> = report
        .grids
        .iter()
        .filter(|g| {
            g.community
                .as_deref()
                .is_some_and(|c| reachable.contains(c))
        })
        .collect();
    let ok = in_reach
        .iter()
        .filter(|g| g.status == Some(BandStatus::Ok))
        .count();
    (in_reach.len(), ok)
}

fn share(ok: usize, of: usize) -> f64 {
    if of == 0 { 1.0 } else { ok as f64 / of as f64 }
}
