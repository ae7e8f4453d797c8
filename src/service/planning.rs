//! The planning work behind the service, as blocking functions over the store: load the current
//! datasets, plan, assign. The HTTP handlers run them off the async threads.

use crate::assign;
use crate::crs::WGS84;
use crate::dataset::Dataset;
use crate::error::Error;
use crate::output::{FeatureWriter, Shape};
use crate::partition::{PartitionReport, Quality};
use crate::rules::Rules;
use crate::store::{DatasetKind, Store};
use serde_json::{Map, Value, json};
use std::sync::Arc;

use super::error::AppError;

/// The inputs in force: the newest version of each dataset, parsed.
pub struct Inputs {
    pub households: i64,
    pub boundaries: i64,
    pub rules_id: Option<i64>,
    pub rules: Rules,
    pub dataset: Arc<Dataset>,
}

/// Parses boundaries and households bytes into a dataset.
pub fn build_dataset(
    boundaries: Vec<u8>,
    households: Vec<u8>,
    rules: &Rules,
) -> Result<Dataset, Error> {
    Dataset::parse(
        ("boundaries", boundaries),
        ("households", households),
        rules,
        None,
    )
}

/// Rules from a stored rules dataset (TOML), or the defaults.
pub fn parse_rules(bytes: Option<&[u8]>) -> Result<Rules, AppError> {
    match bytes {
        None => Ok(Rules::default()),
        Some(b) => {
            let text = std::str::from_utf8(b)
                .map_err(|_| AppError::bad_request("the rules file is not UTF-8 text"))?;
            Rules::from_toml(text).map_err(|e| AppError::bad_request(format!("rules: {e}")))
        }
    }
}

/// Loads the newest datasets; `None` when households or boundaries are missing.
pub fn load_inputs(store: &Store) -> Result<Option<Inputs>, AppError> {
    let (Some((h, hb)), Some((b, bb))) = (
        store.latest_dataset(DatasetKind::Households)?,
        store.latest_dataset(DatasetKind::Boundaries)?,
    ) else {
        return Ok(None);
    };
    let rules_row = store.latest_dataset(DatasetKind::Rules)?;
    let rules = parse_rules(rules_row.as_ref().map(|r| r.1.as_slice()))?;
    let dataset = build_dataset(bb, hb, &rules)?;
    Ok(Some(Inputs {
        households: h.id,
        boundaries: b.id,
        rules_id: rules_row.map(|r| r.0.id),
        rules,
        dataset: Arc::new(dataset),
    }))
}

/// What a plan run gives back.
pub struct PlanOutcome {
    pub id: i64,
    pub summary: Value,
}

/// Partitions the inputs (re-drawing from `previous`, a stored plan, when given), checks the result and
/// stores the plan.
pub fn run_plan(
    store: &mut Store,
    inputs: &Inputs,
    rules: &Rules,
    note: &str,
    previous: Option<i64>,
) -> Result<PlanOutcome, AppError> {
    let data = &inputs.dataset;
    let (grids, report) = match previous {
        None => {
            let plan = crate::partition::partition(data, rules, &|| {});
            let checked = crate::check::check(data, &plan.grids, rules);
            let report = PartitionReport {
                check: &checked,
                quality: Quality::measure(&checked),
                leaf_plans: &plan.leaves,
                building_splits: &plan.splits,
            };
            let report = serde_json::to_value(&report).map_err(AppError::internal)?;
            (plan.grids, (checked, report))
        }
        Some(id) => {
            let before = plan_grids(store, data, id)?;
            let plan = crate::replan::replan(data, rules, &before);
            let checked = crate::check::check(data, &plan.grids, rules);
            let report = crate::replan::ReplanReport {
                check: &checked,
                quality: Quality::measure(&checked),
                changes: &plan.leaves,
                removed_leaves: &plan.removed_leaves,
                building_splits: &plan.splits,
            };
            let mut report = serde_json::to_value(&report).map_err(AppError::internal)?;
            report["previous_plan"] = json!(id);
            (plan.grids, (checked, report))
        }
    };
    let (checked, report) = report;
    let quality = Quality::measure(&checked);
    let grids_text = crate::output::grids_geojson(data.working, &grids, &checked.grids)?;
    let communities = communities_geojson(data, &checked)?;
    let id = store.add_plan(
        inputs.households,
        inputs.boundaries,
        inputs.rules_id,
        grids.len(),
        note,
        &grids_text,
        &communities,
        &report.to_string(),
    )?;
    Ok(PlanOutcome {
        id,
        summary: json!({"plan": id, "grids": grids.len(), "summary": checked.summary, "quality": quality, "changes": report.get("changes")}),
    })
}

/// A stored plan's grids, read back into the working CRS.
pub fn plan_grids(
    store: &Store,
    data: &Dataset,
    id: i64,
) -> Result<Vec<crate::model::GridShape>, AppError> {
    let (text, _, _) = store
        .plan_outputs(id)?
        .ok_or_else(|| AppError::not_found(format!("no plan {id}")))?;
    let (grids, _, _) =
        crate::io::parse_grids("plan grids", text.into_bytes(), None, Some(data.working))?;
    Ok(grids)
}

/// Household-by-household comparison of two stored plans over the households in force (counts only).
pub fn diff_plans(store: &Store, inputs: &Inputs, a: i64, b: i64) -> Result<Value, AppError> {
    let data = &inputs.dataset;
    let old = plan_grids(store, data, a)?;
    let new = plan_grids(store, data, b)?;
    let d = crate::diff::diff(&data.households, &old, &new, false);
    let mut v = serde_json::to_value(&d).map_err(AppError::internal)?;
    v["old_plan"] = json!(a);
    v["new_plan"] = json!(b);
    Ok(v)
}

/// The leaves with their codes, names, kinds and counts (public aggregates), in WGS84.
fn communities_geojson(
    data: &Dataset,
    checked: &crate::check::CheckReport,
) -> Result<String, Error> {
    let mut w = FeatureWriter::in_memory(data.working, WGS84)?;
    for (row, &l) in checked.leaves.iter().zip(data.tree.leaves()) {
        let a = &data.tree.areas[l];
        let mut props = Map::new();
        props.insert("code".into(), a.code.clone().into());
        props.insert("name".into(), a.name.clone().into());
        props.insert("level".into(), a.level.clone().into());
        props.insert("parent".into(), a.parent.clone().into());
        props.insert("kind".into(), row.kind.clone().into());
        props.insert("households".into(), row.households.into());
        props.insert("grids".into(), row.grids.into());
        props.insert(
            "area_m2".into(),
            ((row.area_m2 * 10.0).round() / 10.0).into(),
        );
        w.feature(Some(&a.code), Shape::Areal(&a.geometry), &props)?;
    }
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

/// Assigns the newest workers to a plan's grids and stores the assignment.
pub fn run_assignment(
    store: &mut Store,
    inputs: &Inputs,
    plan: i64,
) -> Result<(i64, Value), AppError> {
    let Some((workers, wbytes)) = store.latest_dataset(DatasetKind::Workers)? else {
        return Err(AppError::unprocessable(
            "no workers dataset: upload one to POST /api/datasets/workers first",
        ));
    };
    let data = &inputs.dataset;
    let shapes = plan_grids(store, data, plan)?;
    let working = data.working;
    let towns = assign::grid_towns("plan grids", &shapes, Some(&data.tree))?;
    let known = towns.iter().cloned().collect();
    let (people, _) = crate::workers::parse_workers(
        "workers",
        &wbytes,
        None,
        working,
        &inputs.rules.worker_hours,
        &known,
    )?;
    let mut loads = assign::grid_loads(&shapes, &towns, &data.households, &inputs.rules);
    let policies = assign::grid_policies(&shapes, Some(&data.tree), &inputs.rules);
    for (load, policy) in loads.iter_mut().zip(policies) {
        load.policy = policy;
    }
    let result = assign::assign(&loads, &people, &inputs.rules).map_err(AppError::internal)?;
    let geojson = crate::output::assignment_geojson(working, &shapes, &loads, &result, true)?;
    let staffing = serde_json::to_string(&result.staffing).map_err(AppError::internal)?;
    let id = store.add_assignment(plan, workers.id, &geojson, &staffing)?;
    Ok((
        id,
        serde_json::to_value(&result.staffing).map_err(AppError::internal)?,
    ))
}

/// Per-grid sensitive counts of a plan: for planners only.
pub fn sensitive_counts(store: &Store, inputs: &Inputs, plan: i64) -> Result<Value, AppError> {
    let data = &inputs.dataset;
    let shapes = plan_grids(store, data, plan)?;
    let towns = vec![crate::model::TownCode::default(); shapes.len()];
    let loads = assign::grid_loads(&shapes, &towns, &data.households, &inputs.rules);
    Ok(Value::Array(
        loads
            .iter()
            .map(|l| json!({"id": l.id, "households": l.households, "elderly_alone": l.sensitive.elderly_alone, "key_persons": l.sensitive.key_persons, "vulnerable": l.sensitive.vulnerable}))
            .collect(),
    ))
}
