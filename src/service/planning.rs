//! The planning work behind the service, as blocking functions: validate an upload against the data in
//! force, plan, assign, diff. Computing never holds a database connection for long: it reads what it
//! needs, computes with no lock held, and the caller writes the result in one short transaction
//! ([`crate::store::Store::write`]). The HTTP handlers run these functions on the blocking pool.

use crate::error::Error;
use crate::input::GridLayer;
use crate::input::dataset::Dataset;
use crate::model::{Date, GridShape, Layers, TownCode};
use crate::ops;
use crate::output;
use crate::problem::Problem;
use crate::rules::Rules;
use crate::spatial::crs::Crs;
use crate::store::{DatasetKind, Latest, NewPlan, Store};
use serde_json::{Value, json};
use std::sync::Arc;

use super::error::AppError;

/// The inputs in force: the newest version of each dataset, parsed.
#[derive(Clone)]
pub struct Inputs {
    pub households: i64,
    pub boundaries: i64,
    pub rules_id: Option<i64>,
    pub rules: Rules,
    pub dataset: Arc<Dataset>,
    /// The blocks and barriers datasets in force, when any.
    pub blocks_id: Option<i64>,
    pub barriers_id: Option<i64>,
    /// The ground layers (blocks, barriers) in the dataset's working CRS; empty when none are in force.
    pub layers: Arc<Layers>,
}

impl Inputs {
    /// The dataset versions these inputs were read from.
    pub fn latest(&self) -> Latest {
        Latest {
            households: Some(self.households),
            boundaries: Some(self.boundaries),
            workers: None,
            rules: self.rules_id,
            blocks: self.blocks_id,
            barriers: self.barriers_id,
        }
    }

    /// The ground layers, when any are in force.
    pub fn ground(&self) -> Option<&Layers> {
        (!self.layers.is_empty()).then_some(&*self.layers)
    }
}

/// Reads blocks and barriers bytes into `working` (the boundaries' CRS), validated as `partition
/// --blocks --barriers` reads them: every problem named (file, feature, field), all of both files at
/// once. Returns the layers and what did not stop them.
pub fn parse_layers(
    blocks: Option<Vec<u8>>,
    barriers: Option<Vec<u8>>,
    working: Crs,
) -> Result<(Layers, Vec<Problem>), Error> {
    let mut layers = Layers::default();
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    if let Some(b) = blocks {
        match crate::input::layers::parse_blocks("blocks", b, None, working) {
            Ok((b, w)) => {
                layers.blocks = b;
                warnings.extend(w.0);
            }
            Err(Error::Invalid(e)) => errors.extend(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(b) = barriers {
        match crate::input::layers::parse_barriers("barriers", b, None, working) {
            Ok((b, w)) => {
                layers.barriers = b;
                warnings.extend(w.0);
            }
            Err(Error::Invalid(e)) => errors.extend(e),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok((layers, warnings))
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

fn content(store: &Store, id: Option<i64>) -> Result<Option<Vec<u8>>, AppError> {
    match id {
        None => Ok(None),
        Some(id) => Ok(Some(store.dataset_content(id)?.ok_or_else(|| {
            AppError::internal(format!("dataset {id} has no content"))
        })?)),
    }
}

/// Loads given dataset versions into inputs; `None` when households or boundaries are missing.
pub fn load_inputs_at(store: &Store, at: Latest) -> Result<Option<Inputs>, AppError> {
    let (Some(h), Some(b)) = (at.households, at.boundaries) else {
        return Ok(None);
    };
    let rules = parse_rules(content(store, at.rules)?.as_deref())?;
    let (Some(hb), Some(bb)) = (content(store, Some(h))?, content(store, Some(b))?) else {
        return Ok(None);
    };
    let dataset = build_dataset(bb, hb, &rules)?;
    let (layers, _) = parse_layers(
        content(store, at.blocks)?,
        content(store, at.barriers)?,
        dataset.working,
    )?;
    Ok(Some(Inputs {
        households: h,
        boundaries: b,
        rules_id: at.rules,
        rules,
        dataset: Arc::new(dataset),
        blocks_id: at.blocks,
        barriers_id: at.barriers,
        layers: Arc::new(layers),
    }))
}

/// Loads the newest datasets; `None` when households or boundaries are missing.
pub fn load_inputs(store: &Store) -> Result<Option<Inputs>, AppError> {
    load_inputs_at(store, store.latest()?)
}

/// An upload validated against the data in force, not yet written.
pub struct Candidate {
    /// The data in force it was validated against (the write is refused if that changed meanwhile).
    pub expected: Latest,
    /// The inputs as they will be once the upload is written (with `0` for the upload's own id, set
    /// by [`Candidate::written`]); `None` while households or boundaries are missing.
    pub inputs: Option<Inputs>,
    /// Data problems that did not stop the upload.
    pub warnings: Vec<Problem>,
}

impl Candidate {
    /// The inputs once the upload is stored as dataset `id`.
    pub fn written(self, kind: DatasetKind, id: i64) -> Option<Inputs> {
        let mut inputs = self.inputs?;
        match kind {
            DatasetKind::Households => inputs.households = id,
            DatasetKind::Boundaries => inputs.boundaries = id,
            DatasetKind::Rules => inputs.rules_id = Some(id),
            DatasetKind::Blocks => inputs.blocks_id = Some(id),
            DatasetKind::Barriers => inputs.barriers_id = Some(id),
            DatasetKind::Workers => {}
        }
        Some(inputs)
    }
}

/// Validates an upload of `kind` together with the other datasets in force, exactly as a restart would
/// load them: rules against the boundaries' kinds, boundaries with the households, households, blocks
/// and barriers in the boundaries' working CRS, workers against the towns. Nothing is written.
///
/// `in_force` are the inputs the server holds: a rules upload over the same households and boundaries
/// re-validates the boundary tree under the new rules and reuses the parsed households (rules do not
/// change where households lie), instead of reading every household again.
pub fn candidate(
    store: &Store,
    kind: DatasetKind,
    bytes: &[u8],
    in_force: Option<&Inputs>,
) -> Result<Candidate, AppError> {
    let latest = store.latest()?;
    if kind == DatasetKind::Rules
        && let Some(current) = in_force
        && latest.households == Some(current.households)
        && latest.boundaries == Some(current.boundaries)
        && let Some(b) = content(store, latest.boundaries)?
    {
        let rules = parse_rules(Some(bytes))?;
        let (areas, _, mut warnings) = crate::input::parse_boundaries("boundaries", b, None, None)?;
        let (_, problems) = crate::spatial::tree::AreaTree::build("boundaries", areas, &rules);
        if problems.has_errors() {
            return Err(Error::Invalid(problems.0).into());
        }
        warnings.extend(problems);
        return Ok(Candidate {
            expected: latest,
            inputs: Some(Inputs {
                households: current.households,
                boundaries: current.boundaries,
                rules_id: Some(0),
                rules,
                dataset: current.dataset.clone(),
                blocks_id: current.blocks_id,
                barriers_id: current.barriers_id,
                layers: current.layers.clone(),
            }),
            warnings: warnings.0,
        });
    }
    let pick = |k: DatasetKind| -> Result<Option<Vec<u8>>, AppError> {
        if k == kind {
            Ok(Some(bytes.to_vec()))
        } else {
            content(store, latest.get(k))
        }
    };
    let rules_bytes = pick(DatasetKind::Rules)?;
    let rules = parse_rules(rules_bytes.as_deref())?;
    let households = pick(DatasetKind::Households)?;
    let boundaries = pick(DatasetKind::Boundaries)?;
    let blocks = pick(DatasetKind::Blocks)?;
    let barriers = pick(DatasetKind::Barriers)?;
    let ground_upload = matches!(kind, DatasetKind::Blocks | DatasetKind::Barriers);
    if ground_upload && boundaries.is_none() {
        return Err(AppError::unprocessable(format!(
            "upload boundaries before {}: they are read in the boundaries' coordinate system",
            kind.name()
        )));
    }
    let mut warnings = Vec::new();
    let inputs = match (households, boundaries) {
        (Some(h), Some(b)) => {
            let dataset = build_dataset(b, h, &rules)?;
            warnings.extend(dataset.warnings.0.iter().cloned());
            let (layers, w) = parse_layers(blocks, barriers, dataset.working)?;
            warnings.extend(w);
            let id = |k: DatasetKind| if k == kind { Some(0) } else { latest.get(k) };
            Some(Inputs {
                households: id(DatasetKind::Households).unwrap_or(0),
                boundaries: id(DatasetKind::Boundaries).unwrap_or(0),
                rules_id: id(DatasetKind::Rules),
                rules,
                dataset: Arc::new(dataset),
                blocks_id: id(DatasetKind::Blocks),
                barriers_id: id(DatasetKind::Barriers),
                layers: Arc::new(layers),
            })
        }
        (None, Some(b)) => {
            // No households yet: the boundaries alone must build a tree under these rules, and the
            // ground layers must read in their CRS.
            let (areas, working, w) = crate::input::parse_boundaries("boundaries", b, None, None)?;
            let (_, problems) = crate::spatial::tree::AreaTree::build("boundaries", areas, &rules);
            if problems.has_errors() {
                return Err(Error::Invalid(problems.0).into());
            }
            warnings.extend(w.0);
            warnings.extend(problems.0);
            let (_, w) = parse_layers(blocks, barriers, working)?;
            warnings.extend(w);
            None
        }
        (Some(_), None) => {
            return Err(AppError::unprocessable(
                "upload boundaries before households: households are placed in the boundaries",
            ));
        }
        (None, None) => None,
    };
    if kind == DatasetKind::Workers {
        let Some(inputs) = &inputs else {
            return Err(AppError::unprocessable(
                "upload boundaries and households before workers",
            ));
        };
        let towns = towns_of(inputs);
        let (_, w) = crate::input::workers::parse_workers(
            "workers",
            bytes,
            None,
            inputs.dataset.working,
            &inputs.rules.worker_hours,
            &towns,
        )?;
        warnings.extend(w.0);
    }
    Ok(Candidate {
        expected: latest,
        inputs,
        warnings,
    })
}

/// The towns that manage the grids of `inputs`' boundaries (each leaf's town).
fn towns_of(inputs: &Inputs) -> std::collections::BTreeSet<TownCode> {
    let tree = &inputs.dataset.tree;
    tree.leaves()
        .iter()
        .filter_map(|&l| tree.town_of(l))
        .map(|t| TownCode::new(&tree.areas[t].code))
        .collect()
}

/// Workers in force whose towns the boundaries of some inputs do not have: no grid of theirs can be
/// assigned, and the assignment refuses the whole workers file.
pub struct Stranded {
    /// The workers dataset in force.
    pub workers: i64,
    /// Each town missing from the boundaries, with how many workers name it.
    pub towns: std::collections::BTreeMap<TownCode, usize>,
}

impl Stranded {
    /// The towns and their workers, e.g. `320116101000 (32 workers), 320116102000 (1 worker)`.
    pub fn listed(&self) -> String {
        self.towns
            .iter()
            .map(|(t, n)| {
                format!(
                    "{} ({n} worker{})",
                    t.as_str(),
                    if *n == 1 { "" } else { "s" }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// How many workers are stranded in all.
    pub fn count(&self) -> usize {
        self.towns.values().sum()
    }

    /// As an answer's member.
    pub fn json(&self) -> Value {
        json!({
            "workers_dataset": self.workers,
            "workers": self.count(),
            "towns": self.towns.iter().map(|(t, n)| (t.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "message": format!(
                "the workers in force (dataset {}) name towns these boundaries do not have: {}; no assignment can be made until workers for the towns of these boundaries are uploaded (POST /api/datasets/workers)",
                self.workers,
                self.listed()
            ),
        })
    }
}

/// The workers in force (read from `store`) that `inputs`' boundaries leave without their town;
/// `None` when there are no workers, or every town they name is still there.
pub fn stranded_workers(store: &Store, inputs: &Inputs) -> Result<Option<Stranded>, AppError> {
    let Some((w, bytes)) = store.latest_dataset(DatasetKind::Workers)? else {
        return Ok(None);
    };
    let towns = crate::input::workers::towns_missing("workers", &bytes, &towns_of(inputs))?;
    Ok((!towns.is_empty()).then_some(Stranded {
        workers: w.id,
        towns,
    }))
}

/// Refuses boundaries (422) that would leave workers in force without their town, naming the towns
/// and how many workers each has, unless the planner said to accept it (`accept`: then the stranded
/// workers are returned, for the answer to state).
pub fn refuse_stranding(
    store: &Store,
    inputs: Option<&Inputs>,
    accept: bool,
) -> Result<Option<Stranded>, AppError> {
    let Some(inputs) = inputs else {
        return Ok(None);
    };
    let Some(stranded) = stranded_workers(store, inputs)? else {
        return Ok(None);
    };
    if accept {
        return Ok(Some(stranded));
    }
    Err(AppError::unprocessable(format!(
        "boundaries: these boundaries no longer have towns that {} of the workers in force (dataset {}) serve: {}; every assignment would fail. Keep these towns in the boundaries, or send them again with ?stranded_workers=accept and then upload workers for the new towns (POST /api/datasets/workers)",
        stranded.count(),
        stranded.workers,
        stranded.listed()
    )))
}

/// A plan computed, not yet stored.
pub struct ComputedPlan {
    pub plan: NewPlan,
    pub grids: usize,
    /// Summary, quality and (when re-drawn) the changes per leaf, for the API answer.
    pub summary: Value,
}

/// Partitions the inputs (re-drawing from `previous`, a stored plan's id and grids layer with its
/// record of retired grids, when given) on `date` (new grids' `valid_from`, retired grids' `valid_to`)
/// and checks the result. Pure computation: no database.
pub fn compute_plan(
    inputs: &Inputs,
    rules: &Rules,
    note: &str,
    previous: Option<(i64, GridLayer, Vec<Problem>)>,
    date: Date,
) -> Result<ComputedPlan, AppError> {
    let data = &inputs.dataset;
    let layers = inputs.ground();
    let (planned, previous_id) = match previous {
        None => (
            ops::plan_with(data, rules, layers, &ops::Places::default(), date, &())?,
            None,
        ),
        Some((id, before, read_warnings)) => (
            ops::replan_with(data, rules, &before, date, read_warnings, layers),
            Some(id),
        ),
    };
    let mut report = serde_json::to_value(planned.report()).map_err(AppError::internal)?;
    if let Some(id) = previous_id {
        report["previous_plan"] = json!(id);
    }
    // Each grid's 四至, in the layer and the report; on ground layers, how the grids follow them.
    let (descriptions, ground) = ops::describe(data, &planned.grids, layers);
    report["bounds_descriptions"] = planned
        .grids
        .iter()
        .zip(&descriptions)
        .map(|(g, d)| (g.id.clone(), Value::String(d.clone())))
        .collect::<serde_json::Map<String, Value>>()
        .into();
    if let Some(g) = &ground {
        report["ground"] = serde_json::to_value(g).map_err(AppError::internal)?;
        report["layers"] = json!({"blocks": inputs.blocks_id, "barriers": inputs.barriers_id});
    }
    let grids_text = output::grid_layer_geojson(
        data.working,
        &planned.grids,
        &planned.check.grids,
        &planned.retired,
        Some(&descriptions),
    )?;
    let communities = output::communities_geojson(data, &planned.check)?;
    let summary = json!({
        "grids": planned.grids.len(),
        "summary": planned.check.summary,
        "quality": planned.quality,
        "ground": ground,
        "changes": report.get("changes"),
        "warnings": planned.check.warnings.len(),
    });
    Ok(ComputedPlan {
        plan: NewPlan {
            grid_count: planned.grids.len(),
            note: note.to_string(),
            grids: grids_text,
            communities,
            report: report.to_string(),
        },
        grids: planned.grids.len(),
        summary,
    })
}

/// A stored plan's grids, read back into the working CRS, with what the reader warned about.
pub fn plan_grids(
    store: &Store,
    data: &Dataset,
    id: i64,
) -> Result<(Vec<GridShape>, Vec<Problem>), AppError> {
    let (layer, warnings) = plan_layer(store, data, id)?;
    Ok((layer.grids, warnings))
}

/// A stored plan's grids layer whole (its grids and the grids it records as retired), read back into
/// the working CRS, with what the reader warned about: what a re-draw from it starts from.
pub fn plan_layer(
    store: &Store,
    data: &Dataset,
    id: i64,
) -> Result<(GridLayer, Vec<Problem>), AppError> {
    let (text, _, _) = store
        .plan_outputs(id)?
        .ok_or_else(|| AppError::not_found(format!("no plan {id}")))?;
    let (layer, _, warnings) =
        crate::input::parse_grid_layer("plan grids", text.into_bytes(), None, Some(data.working))?;
    Ok((layer, warnings.0))
}

/// Household-by-household comparison of two plans' grids over the households in force (counts only).
pub fn diff_plans(
    inputs: &Inputs,
    (a, old): (i64, &[GridShape]),
    (b, new): (i64, &[GridShape]),
    warnings: Vec<Problem>,
) -> Result<Value, AppError> {
    let d = ops::diff(&inputs.dataset.households, old, new, false);
    let mut v = serde_json::to_value(&d).map_err(AppError::internal)?;
    v["old_plan"] = json!(a);
    v["new_plan"] = json!(b);
    if !warnings.is_empty() {
        v["warnings"] = json!(warnings);
    }
    Ok(v)
}

/// An assignment computed, not yet stored.
pub struct ComputedAssignment {
    pub workers: i64,
    pub geojson: String,
    /// The staffing report, with the readers' warnings under `warnings`.
    pub staffing: Value,
}

/// Assigns the workers (`workers`: dataset id and bytes) to a plan's grids. Pure computation.
pub fn compute_assignment(
    inputs: &Inputs,
    (workers_id, wbytes): (i64, &[u8]),
    shapes: &[GridShape],
    warnings: Vec<Problem>,
) -> Result<ComputedAssignment, AppError> {
    let data = &inputs.dataset;
    // The solver failing (no solution within its time limit, or none at all) is the data and rules
    // in force being unable to do it: 422 with the reason, not a server fault.
    let staffed = ops::staff_dataset(data, &inputs.rules, shapes, ("workers", wbytes), warnings)
        .map_err(|e| match e {
            Error::Solver(e) => AppError::unprocessable(format!(
                "no staffing could be computed with the rules in force: {e}"
            )),
            e => e.into(),
        })?;
    // An assignment in which the solver found nothing in time is not stored: it would publish every
    // grid as uncovered. 422 with the reason (the CLI reports it in staffing.json instead).
    let unsolved = staffed.unsolved_towns();
    if !unsolved.is_empty() {
        return Err(AppError::unprocessable(format!(
            "no staffing could be computed with the rules in force: HiGHS found no assignment within \
             assign.time_limit_s ({} s) for town(s) {}; raise the limit in the rules",
            inputs.rules.assign.time_limit_s,
            unsolved.join(", ")
        )));
    }
    // Stored for planners (the assignment route needs the planner role): workload included.
    let geojson = output::assignment_geojson(
        data.working,
        shapes,
        &staffed.loads,
        &staffed.assignment,
        true,
    )?;
    let staffing =
        serde_json::to_value(&staffed.assignment.staffing).map_err(AppError::internal)?;
    Ok(ComputedAssignment {
        workers: workers_id,
        geojson,
        staffing,
    })
}

/// Per-grid sensitive counts of a plan's grids: for planners only.
pub fn sensitive_counts(inputs: &Inputs, shapes: &[GridShape]) -> Value {
    let data = &inputs.dataset;
    let towns = vec![TownCode::default(); shapes.len()];
    let loads = ops::grid_loads(shapes, &towns, None, &data.households, &inputs.rules);
    Value::Array(
        loads
            .iter()
            .map(|l| json!({"id": l.id, "households": l.households, "elderly_alone": l.sensitive.elderly_alone, "key_persons": l.sensitive.key_persons, "vulnerable": l.sensitive.vulnerable, "workload_hours": (l.workload_hours * 10.0).round() / 10.0}))
            .collect(),
    )
}

/// A month of visits for a stored assignment (its geojson), with an optional log: planner-only. Routes
/// follow the street layer in force (the barriers), when there is one.
pub fn visits(
    inputs: &Inputs,
    assignment_geojson: &str,
    workers: &[u8],
    log: &[u8],
    month: ops::Month,
) -> Result<Value, AppError> {
    let plan = ops::visits_dataset(
        &inputs.dataset,
        &inputs.rules,
        assignment_geojson,
        workers,
        log,
        month,
        &inputs.layers.barriers,
    )?;
    serde_json::to_value(&plan).map_err(AppError::internal)
}

/// What a planner hands over for a stored plan (the ledger and the atlas): its grids with their 四至,
/// the households in force recounted in them, and each grid's worker from the plan's newest assignment,
/// with the names and phones of the workers dataset in force. Planner-only: it carries personal data.
pub fn plan_handover(store: &Store, inputs: &Inputs, id: i64) -> Result<ops::Handover, AppError> {
    let data = &inputs.dataset;
    let (shapes, warnings) = plan_grids(store, data, id)?;
    let mut responsible = std::collections::BTreeMap::new();
    let mut workers = None;
    let mut more = Vec::new();
    if let Some((_, geojson, _)) = store.latest_assignment(id)? {
        let (assigned, _, _) = crate::input::parse_grids(
            "plan assignment",
            geojson.into_bytes(),
            None,
            Some(data.working),
        )?;
        responsible.extend(
            assigned
                .into_iter()
                .filter_map(|g| Some((g.id, g.primary_worker?))),
        );
        if let Some((_, bytes)) = store.latest_dataset(DatasetKind::Workers)? {
            let towns: std::collections::BTreeSet<TownCode> = data
                .tree
                .leaves()
                .iter()
                .filter_map(|&l| data.tree.town_of(l))
                .map(|t| TownCode::new(&data.tree.areas[t].code))
                .collect();
            // Workers the boundaries in force no longer fit are listed by id only, and said so.
            match crate::input::workers::parse_workers(
                "workers",
                &bytes,
                None,
                data.working,
                &inputs.rules.worker_hours,
                &towns,
            ) {
                Ok((w, _)) => workers = Some(w),
                Err(e) => more.push(Problem::warning(
                    "workers",
                    format!("the workers in force cannot be read with the boundaries in force, so workers are listed by id only: {e}"),
                )),
            }
        }
    }
    let bounds = ops::handover::grid_bounds(data, &shapes, inputs.ground());
    let mut h = ops::handover::handover(
        data,
        &shapes,
        &inputs.rules,
        &bounds,
        &responsible,
        workers.as_deref(),
    );
    h.warnings.0.extend(warnings);
    h.warnings.0.extend(more);
    Ok(h)
}
