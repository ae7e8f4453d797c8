//! The operations the command line and the service share: plan, re-plan, check, staff, diff, visits.
//! Each one wires the capabilities below it (read, plan, check, measure, staff) and returns its results
//! together with every warning, so that the binary and the HTTP handlers only parse arguments and
//! present what comes back.

use crate::check::{CheckReport, GroundQuality, Quality};
use crate::plan::partition::{BuildingSplit, LeafPlan};
use crate::plan::replan::LeafChange;
use serde::Serialize;

/// `report.json` of `gridplan partition`: the check of its own output, plus what the partition decided.
#[derive(Debug, Serialize)]
pub struct PartitionReport<'a> {
    #[serde(flatten)]
    pub check: &'a CheckReport,
    pub quality: Quality,
    pub leaf_plans: &'a [LeafPlan],
    pub building_splits: &'a [BuildingSplit],
}

/// `report.json` of `gridplan partition --previous`: the check of the new grids, quality, and what
/// happened to each leaf.
#[derive(Debug, Serialize)]
pub struct ReplanReport<'a> {
    #[serde(flatten)]
    pub check: &'a CheckReport,
    pub quality: Quality,
    pub changes: &'a [LeafChange],
    pub removed_leaves: &'a [String],
    pub building_splits: &'a [BuildingSplit],
}

/// `report.json` of `gridplan partition` with the ground figures and each grid's 四至.
#[derive(Serialize)]
pub struct PartitionReportWithGround<'a> {
    #[serde(flatten)]
    pub report: PartitionReport<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ground: Option<GroundQuality>,
    /// Grid id → 四至.
    pub bounds_descriptions: std::collections::BTreeMap<String, String>,
}
