//! The planning API under `/api`: datasets, plans, checks, assignments, locate, OpenAPI.

use super::AppState;
use super::auth::Planner;
use super::error::AppError;
use super::jobs;
use super::planning;
use super::public::PublicReport;
use crate::output;
use crate::store::{DatasetKind, JobKind, Write, WriteError};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/locate", get(locate))
        .route("/api/datasets", get(datasets))
        .route("/api/datasets/{kind}", post(upload))
        .route("/api/datasets/{kind}/latest", get(dataset_latest))
        .route("/api/boundaries", post(replace_boundaries))
        .route("/api/plans", get(plans).post(create_plan))
        .route("/api/plans/{id}", get(plan))
        .route("/api/plans/{id}/grids", get(plan_grids))
        .route("/api/plans/{id}/report", get(plan_report))
        .route("/api/plans/{id}/sensitive", get(plan_sensitive))
        .route("/api/plans/{id}/report.xlsx", get(plan_ledger))
        .route("/api/plans/{id}/report.pdf", get(plan_atlas))
        .route("/api/plans/{a}/diff/{b}", get(plan_diff))
        .route("/api/check", post(check))
        .route("/api/jobs", get(jobs_list))
        .route("/api/jobs/{id}", get(job_status))
        .route("/api/assignments", post(create_assignment))
        .route("/api/assignments/{id}", get(assignment))
        .route("/api/assignments/{id}/visits", post(assignment_visits))
}

type QueryMap = Result<Query<HashMap<String, String>>, QueryRejection>;

fn query(q: QueryMap) -> Result<HashMap<String, String>, AppError> {
    q.map(|Query(m)| m)
        .map_err(|e| AppError::bad_request(e.body_text()))
}

async fn openapi() -> Response {
    let mut r = Json(super::openapi::document()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.0"),
    );
    r
}

async fn locate(State(s): State<Arc<AppState>>, q: QueryMap) -> Result<Response, AppError> {
    let q = query(q)?;
    let num = |name: &str, range: f64| -> Result<f64, AppError> {
        let v = q
            .get(name)
            .ok_or_else(|| AppError::bad_request(format!("`{name}` is required")))?;
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && x.abs() <= range)
            .ok_or_else(|| {
                AppError::bad_request(format!("`{name}` \"{v}\" must be a number within ±{range}"))
            })
    };
    let (lon, lat) = (num("lon", 180.0)?, num("lat", 90.0)?);
    if let Some(k) = q.keys().find(|k| *k != "lon" && *k != "lat") {
        return Err(AppError::bad_request(format!(
            "unknown query parameter \"{k}\""
        )));
    }
    Ok(Json(s.published().locate(lon, lat)).into_response())
}

fn id_param(id: &str) -> Result<i64, AppError> {
    id.parse::<i64>()
        .map_err(|_| AppError::bad_request(format!("\"{id}\" is not a plan or assignment number")))
}

/// Runs blocking work (database reads, computation) on the blocking pool, never on the async threads.
async fn read<T: Send + 'static>(
    s: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let state = s.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(AppError::internal)?
}

/// Runs a writing job (it validates against the data in force, then writes new versions): one at a
/// time, on the jobs' own threads ([`AppState::in_jobs_pool`]), so that checks, diffs and reads
/// computing meanwhile find the shared threads free. It holds no database connection while it
/// computes.
async fn job<T: Send + 'static>(
    s: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _turn = s.work.lock().await;
    read(s, move |state| state.in_jobs_pool(|| f(state))).await
}

/// A refused or failed write as an answer.
pub fn write_error(e: WriteError) -> AppError {
    match e {
        WriteError::Conflict | WriteError::JobLost => {
            AppError::new(StatusCode::CONFLICT, e.to_string())
        }
        WriteError::Store(e) => e.into(),
    }
}

async fn datasets(State(s): State<Arc<AppState>>) -> Result<Response, AppError> {
    let list = read(&s, |state| state.with_store(|st| Ok(st.datasets()?))).await?;
    Ok(Json(json!({"datasets": list})).into_response())
}

/// At most this many warnings are listed in an answer (all are counted).
const LISTED_WARNINGS: usize = 200;

pub fn warnings_json(w: &[crate::problem::Problem]) -> Value {
    json!(w.iter().take(LISTED_WARNINGS).collect::<Vec<_>>())
}

/// Whether the query accepts boundaries that leave workers without their town
/// (`stranded_workers=accept`).
fn accepts_stranding(q: QueryMap) -> Result<bool, AppError> {
    match query(q)?.get("stranded_workers").map(String::as_str) {
        None => Ok(false),
        Some("accept") => Ok(true),
        Some(v) => Err(AppError::bad_request(format!(
            "stranded_workers \"{v}\": the only value is `accept`"
        ))),
    }
}

async fn upload(
    State(s): State<Arc<AppState>>,
    Path(kind): Path<String>,
    _planner: Planner,
    q: QueryMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let kind = DatasetKind::parse(&kind).ok_or_else(|| {
        AppError::not_found(format!(
            "no dataset kind \"{kind}\"; use households, boundaries, workers, rules, blocks or barriers"
        ))
    })?;
    let accept_stranding = accepts_stranding(q)?;
    let body = body?;
    if body.is_empty() {
        return Err(AppError::bad_request(
            "the request body is empty: send the file",
        ));
    }
    let info = job(&s, move |state| {
        // Validated with the other datasets in force exactly as a restart will load them; written only
        // when valid, in one transaction that fails if the data in force changed meanwhile.
        let cand = state
            .with_store(|st| planning::candidate(st, kind, &body, state.inputs().as_deref()))?;
        // Boundaries that drop the towns of the workers in force: refused naming them, or accepted
        // with the problem stated.
        let stranded = if kind == DatasetKind::Boundaries {
            state.with_store(|st| {
                planning::refuse_stranding(st, cand.inputs.as_ref(), accept_stranding)
            })?
        } else {
            None
        };
        let name = format!("{}-upload", kind.name());
        let write = Write {
            datasets: vec![(kind, name, body.to_vec())],
            plan: None,
            expected: Some(cand.expected),
            job: None,
        };
        let written = state.with_store(|st| st.write(write).map_err(write_error))?;
        let info = written
            .datasets
            .first()
            .cloned()
            .ok_or_else(|| AppError::internal("the upload was not written"))?;
        let warnings = warnings_json(&cand.warnings);
        let count = cand.warnings.len();
        if kind != DatasetKind::Workers {
            state.set_inputs(cand.written(kind, info.id));
        }
        if matches!(kind, DatasetKind::Blocks | DatasetKind::Barriers) {
            // The ground layers in force are served (`/collections/blocks`, `…/barriers`).
            state.publish(None)?;
        }
        let mut answer = json!({"dataset": info, "warnings": count, "warning_list": warnings});
        if let Some(s) = stranded {
            answer["stranded_workers"] = s.json();
        }
        Ok(answer)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

async fn dataset_latest(
    State(s): State<Arc<AppState>>,
    Path(kind): Path<String>,
    _planner: Planner,
) -> Result<Response, AppError> {
    let kind = DatasetKind::parse(&kind)
        .ok_or_else(|| AppError::not_found(format!("no dataset kind \"{kind}\"")))?;
    let row = read(&s, move |state| {
        state.with_store(|st| Ok(st.latest_dataset(kind)?))
    })
    .await?;
    let (_, content) =
        row.ok_or_else(|| AppError::not_found(format!("no {} dataset yet", kind.name())))?;
    Ok(content.into_response())
}

async fn replace_boundaries(
    State(s): State<Arc<AppState>>,
    _planner: Planner,
    headers: HeaderMap,
    q: QueryMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let accept_stranded_workers = accepts_stranding(q)?;
    let body = body?;
    // Re-drawn from the plan in force, so that what did not change stays as it was.
    let req = jobs::BoundariesRequest {
        previous: s.published().plan,
        accept_stranded_workers,
    };
    let ticket = read(&s, move |state| {
        jobs::submit(state, JobKind::Boundaries, &req, body.to_vec())
    })
    .await?;
    answer_job(&s, ticket, &headers).await
}

/// Runs a job this server holds in its writing turn and answers with its result (201), or, when the
/// client asked `Prefer: respond-async`, answers 202 at once with where to follow it.
async fn answer_job(
    s: &Arc<AppState>,
    ticket: crate::store::Ticket,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let id = ticket.lease.job;
    let respond_async = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("respond-async"))
        });
    let state = s.clone();
    // The job goes on when the client goes away: it is a task of its own.
    let task = tokio::spawn(async move {
        job(&state, move |state| {
            jobs::run(state, &ticket).map_err(AppError::from)
        })
        .await
    });
    if respond_async {
        let location = format!("/api/jobs/{id}");
        let mut r = (
            StatusCode::ACCEPTED,
            Json(json!({"job": id, "state": "running", "location": location})),
        )
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(r);
    }
    match task.await.map_err(AppError::internal)? {
        Ok(v) => Ok((StatusCode::CREATED, Json(v)).into_response()),
        Err(e) if e.status == StatusCode::ACCEPTED => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"job": id, "state": "running", "location": format!("/api/jobs/{id}"), "message": e.message})),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// The newest planning jobs. Planners only.
async fn jobs_list(
    State(s): State<Arc<AppState>>,
    _planner: Planner,
) -> Result<Response, AppError> {
    let list = read(&s, |state| state.with_store(|st| Ok(st.jobs(100)?))).await?;
    let list: Vec<Value> = list.iter().map(jobs::job_json).collect();
    Ok(Json(json!({"jobs": list})).into_response())
}

/// One planning job: running (and which server holds it), done (with its plan) or failed. Planners
/// only.
async fn job_status(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    _planner: Planner,
) -> Result<Response, AppError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| AppError::bad_request(format!("\"{id}\" is not a job number")))?;
    let job = read(&s, move |state| state.with_store(|st| Ok(st.job(id)?)))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no job {id}")))?;
    Ok(Json(jobs::job_json(&job)).into_response())
}

async fn plans(State(s): State<Arc<AppState>>) -> Result<Response, AppError> {
    let list = read(&s, |state| state.with_store(|st| Ok(st.plans()?))).await?;
    let p = s.published();
    Ok(
        Json(json!({"plans": list, "published": p.plan, "assignment": p.assignment}))
            .into_response(),
    )
}

async fn create_plan(
    State(s): State<Arc<AppState>>,
    _planner: Planner,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = body?;
    let req: jobs::PlanRequest = optional_json(&body, "plan request")?;
    req.day()?;
    let ticket = read(&s, move |state| {
        jobs::submit(state, JobKind::Plan, &req, Vec::new())
    })
    .await?;
    answer_job(&s, ticket, &headers).await
}

/// A JSON request body that may be left empty (then every field takes its default).
fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
    what: &str,
) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("{what}: {e}")))
}

async fn plan_texts(s: &Arc<AppState>, id: i64) -> Result<(String, String, String), AppError> {
    read(s, move |state| {
        state.with_store(|st| Ok(st.plan_outputs(id)?))
    })
    .await?
    .ok_or_else(|| AppError::not_found(format!("no plan {id}")))
}

async fn plan(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_param(&id)?;
    let info = read(&s, |state| state.with_store(|st| Ok(st.plans()?)))
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AppError::not_found(format!("no plan {id}")))?;
    let (_, _, report) = plan_texts(&s, id).await?;
    let r = PublicReport::of_text(&report);
    Ok(Json(json!({"plan": info, "summary": r["summary"], "quality": r["quality"], "leaves": r["leaves"]})).into_response())
}

/// A plan's grids as a file: WGS84, or with `?crs=EPSG:NNNN` in that CRS (CGCS2000, a Gauss–Krüger
/// zone, any CRS PROJ knows) with the legacy `crs` member naming it, east first, exactly as
/// `gridplan partition --out-crs` writes it (GDAL's GeoJSON driver reads it in that CRS).
async fn plan_grids(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Response, AppError> {
    let q = query(q)?;
    if let Some(k) = q.keys().find(|k| *k != "crs") {
        return Err(AppError::bad_request(format!(
            "unknown query parameter \"{k}\"; allowed here: crs"
        )));
    }
    let to = match q.get("crs") {
        None => crate::spatial::crs::WGS84,
        Some(name) => crate::spatial::crs::Crs::writable(name)
            .map_err(|e| AppError::bad_request(format!("crs: {e}")))?,
    };
    let (grids, communities, _) = plan_texts(&s, id_param(&id)?).await?;
    let grids = read(&s, move |_| {
        // An open route: the counts of grids of too few households are withheld.
        let public = super::disclosure::public_grids_text(&grids, &communities)
            .map_err(AppError::internal)?;
        Ok(crate::output::collection_in(&public, to)?)
    })
    .await?;
    let mut r = grids.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::ogc::GEOJSON),
    );
    Ok(r)
}

async fn plan_report(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, _, report) = plan_texts(&s, id_param(&id)?).await?;
    Ok(Json(PublicReport::of_text(&report)).into_response())
}

async fn plan_sensitive(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    _planner: Planner,
) -> Result<Response, AppError> {
    let id = id_param(&id)?;
    let _turn = s.lanes.planner().await?;
    let out = read(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no data in force"))?;
        let (shapes, warnings) =
            state.with_store(|st| planning::plan_grids(st, &inputs.dataset, id))?;
        Ok((planning::sensitive_counts(&inputs, &shapes), warnings))
    })
    .await?;
    let (grids, warnings) = out;
    Ok(
        Json(json!({"plan": id, "grids": grids, "warnings": warnings_json(&warnings)}))
            .into_response(),
    )
}

/// The plan's grid ledger (网格台账, .xlsx). Planners only: it lists the workers' names and phones.
async fn plan_ledger(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    planner: Planner,
) -> Result<Response, AppError> {
    plan_handover(s, id, planner, output::handover::ReportFormat::Ledger).await
}

/// The plan's atlas (网格图册, .pdf). Planners only: it lists the workers' names and phones.
async fn plan_atlas(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    planner: Planner,
) -> Result<Response, AppError> {
    plan_handover(s, id, planner, output::handover::ReportFormat::Atlas).await
}

async fn plan_handover(
    s: Arc<AppState>,
    id: String,
    _planner: Planner,
    format: output::handover::ReportFormat,
) -> Result<Response, AppError> {
    use output::handover::ReportFormat;
    let id = id_param(&id)?;
    let _turn = s.lanes.planner().await?;
    let name = match format {
        ReportFormat::Ledger => format!("plan-{id}-ledger.xlsx"),
        ReportFormat::Atlas => format!("plan-{id}-atlas.pdf"),
    };
    let what = std::path::PathBuf::from(format!("/api/plans/{id}/{name}"));
    let bytes = read(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no data in force"))?;
        let h = state.with_store(|st| planning::plan_handover(st, &inputs, id))?;
        // The server lacking what it needs (the atlas's CJK font) is said, with what to install.
        output::handover::report_bytes(&h, format, &what).map_err(|e| {
            tracing::error!("{e}");
            AppError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        })
    })
    .await?;
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.media_type()),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(AppError::internal)?,
            ),
            // Personal data: no shared cache keeps a copy.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn plan_diff(
    State(s): State<Arc<AppState>>,
    Path((a, b)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let (a, b) = (id_param(&a)?, id_param(&b)?);
    let planner = s.tokens.is_planner(&headers);
    // Planners wait for a turn; anyone else gets one now or a 429, and none while a planner's job runs.
    let _turn = if planner {
        s.lanes.planner().await?
    } else {
        let planner_busy = s.work.try_lock().is_err();
        s.lanes.open(planner_busy)?
    };
    let out = read(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no households in force"))?;
        let (old, new, warnings) = state.with_store(|st| {
            let (old, mut w) = planning::plan_grids(st, &inputs.dataset, a)?;
            let (new, w2) = planning::plan_grids(st, &inputs.dataset, b)?;
            w.extend(w2);
            Ok((old, new, w))
        })?;
        planning::diff_plans(&inputs, (a, &old), (b, &new), warnings)
    })
    .await?;
    let mut out = out;
    if !planner {
        super::disclosure::public_diff(&mut out);
    }
    Ok(Json(out).into_response())
}

/// Checks an uploaded grids file against the data in force. Planners only: counting households in
/// shapes of the caller's choosing would locate households (a lattice of small squares finds them).
async fn check(
    State(s): State<Arc<AppState>>,
    _planner: Planner,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = body?;
    if body.is_empty() {
        return Err(AppError::bad_request(
            "send the grids file (GeoJSON) as the request body",
        ));
    }
    let inputs = s.inputs().ok_or_else(|| {
        AppError::unprocessable("no households and boundaries in force to check against")
    })?;
    let _turn = s.lanes.planner().await?;
    let report = tokio::task::spawn_blocking(move || -> Result<Value, AppError> {
        let data = &inputs.dataset;
        let (grids, _, problems) =
            crate::input::parse_grids("uploaded grids", body.to_vec(), None, Some(data.working))?;
        // With blocks in force, every populated block the grids cut is named too (`split_block`),
        // and the blocks without households they cut are noted (`empty_blocks_cut`).
        let layers = inputs
            .ground()
            .map(|l| (l, crate::problem::Problems::default()));
        let report = crate::ops::check(data, &grids, problems, &inputs.rules, layers);
        let value = serde_json::to_value(&report).map_err(AppError::internal)?;
        let public = PublicReport::of(value).ok_or_else(|| AppError::internal("a check report"))?;
        serde_json::to_value(public).map_err(AppError::internal)
    })
    .await
    .map_err(AppError::internal)??;
    Ok(Json(report).into_response())
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AssignRequest {
    plan: Option<i64>,
}

async fn create_assignment(
    State(s): State<Arc<AppState>>,
    _planner: Planner,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = body?;
    let req: AssignRequest = optional_json(&body, "assignment request")?;
    let out = job(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no data in force"))?;
        let plan = match req.plan {
            Some(p) => p,
            None => state
                .published()
                .plan
                .ok_or_else(|| AppError::unprocessable("no plan yet: POST /api/plans first"))?,
        };
        let (workers, shapes, warnings) = state.with_store(|st| {
            let Some((w, bytes)) = st.latest_dataset(DatasetKind::Workers)? else {
                return Err(AppError::unprocessable(
                    "no workers dataset: upload one to POST /api/datasets/workers first",
                ));
            };
            // Workers whose towns the boundaries in force no longer have: said once, by town.
            if let Some(stranded) = planning::stranded_workers(st, &inputs)? {
                return Err(AppError::unprocessable(format!(
                    "cannot assign: the workers in force (dataset {}) name towns the boundaries in force do not have: {}; upload workers for the towns of these boundaries (POST /api/datasets/workers)",
                    stranded.workers,
                    stranded.listed()
                )));
            }
            let (shapes, warnings) = planning::plan_grids(st, &inputs.dataset, plan)?;
            Ok(((w.id, bytes), shapes, warnings))
        })?;
        let a = planning::compute_assignment(&inputs, (workers.0, &workers.1), &shapes, warnings)?;
        let id = state.with_store(|st| {
            Ok(st.add_assignment(plan, a.workers, &a.geojson, &a.staffing.to_string())?)
        })?;
        if state.published().plan == Some(plan) {
            state.publish(Some(plan))?;
        }
        Ok(json!({"assignment": id, "plan": plan, "staffing": a.staffing}))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// A stored assignment's staffing report. Planners only: workloads, uncovered hours and the shortfall
/// are functions of the sensitive counts.
async fn assignment(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    _planner: Planner,
) -> Result<Response, AppError> {
    let id = id_param(&id)?;
    let (plan, _, staffing) = read(&s, move |state| {
        state.with_store(|st| Ok(st.assignment(id)?))
    })
    .await?
    .ok_or_else(|| AppError::not_found(format!("no assignment {id}")))?;
    let staffing: Value = serde_json::from_str(&staffing).unwrap_or(Value::Null);
    Ok(Json(json!({"assignment": id, "plan": plan, "staffing": staffing})).into_response())
}

/// `POST /api/assignments/{id}/visits?month=YYYY-MM`, body: an optional visit log (CSV
/// `resident,worker,time` or a JSON array). Each worker's visits for the month and, with a log, the
/// overdue residents and the handed-over visit lists: resident-level, so planners only.
async fn assignment_visits(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    _planner: Planner,
    q: QueryMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let id = id_param(&id)?;
    let q = query(q)?;
    if let Some(k) = q.keys().find(|k| *k != "month") {
        return Err(AppError::bad_request(format!(
            "unknown query parameter \"{k}\""
        )));
    }
    let month = q
        .get("month")
        .ok_or_else(|| AppError::bad_request("`month` is required (YYYY-MM)"))
        .and_then(|m| {
            crate::ops::Month::parse(m).map_err(|e| AppError::bad_request(format!("`month`: {e}")))
        })?;
    let body = body?;
    let plan = read(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no data in force"))?;
        let (assignment, workers) = state.with_store(|st| {
            let (_, geojson, _) = st
                .assignment(id)?
                .ok_or_else(|| AppError::not_found(format!("no assignment {id}")))?;
            let workers = st.latest_dataset(DatasetKind::Workers)?.map(|(_, b)| b);
            Ok((geojson, workers))
        })?;
        let workers = workers.ok_or_else(|| {
            AppError::unprocessable("no workers dataset: upload one to POST /api/datasets/workers")
        })?;
        planning::visits(&inputs, &assignment, &workers, &body, month)
    })
    .await?;
    Ok(Json(plan).into_response())
}
