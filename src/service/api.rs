//! The planning API under `/api`: datasets, plans, checks, assignments, locate, OpenAPI.

use super::AppState;
use super::auth::Tokens;
use super::error::AppError;
use super::planning;
use crate::store::DatasetKind;
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
        .route("/api/plans/{a}/diff/{b}", get(plan_diff))
        .route("/api/check", post(check))
        .route("/api/assignments", post(create_assignment))
        .route("/api/assignments/{id}", get(assignment))
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

/// Runs blocking planning work off the async threads, one job at a time.
async fn blocking<T: Send + 'static>(
    s: &Arc<AppState>,
    f: impl FnOnce(&AppState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let _turn = s.work.lock().await;
    let state = s.clone();
    tokio::task::spawn_blocking(move || f(&state))
        .await
        .map_err(AppError::internal)?
}

async fn datasets(State(s): State<Arc<AppState>>) -> Result<Response, AppError> {
    let list = s.with_store(|st| Ok(st.datasets()?))?;
    Ok(Json(json!({"datasets": list})).into_response())
}

fn require(tokens: &Tokens, headers: &HeaderMap) -> Result<(), AppError> {
    tokens.require_planner(headers)
}

/// Validates an uploaded file of `kind` against the data in force; returns the number of warnings.
fn validate_upload(state: &AppState, kind: DatasetKind, bytes: &[u8]) -> Result<usize, AppError> {
    let inputs = state.inputs();
    match kind {
        DatasetKind::Rules => {
            planning::parse_rules(Some(bytes))?;
            Ok(0)
        }
        DatasetKind::Boundaries => {
            let rules = inputs.as_ref().map(|i| i.rules.clone()).unwrap_or_default();
            let (areas, _, warnings) =
                crate::io::parse_boundaries("boundaries", bytes.to_vec(), None, None)?;
            let (_, problems) = crate::tree::AreaTree::build("boundaries", areas, &rules);
            if problems.has_errors() {
                return Err(crate::Error::Invalid(problems.0).into());
            }
            Ok(warnings.0.len() + problems.0.len())
        }
        DatasetKind::Households => {
            let working = inputs
                .as_ref()
                .map(|i| i.dataset.working)
                .ok_or_else(|| AppError::unprocessable("upload boundaries before households"))?;
            let (_, warnings) =
                crate::io::parse_households("households", bytes.to_vec(), None, working)?;
            Ok(warnings.0.len())
        }
        DatasetKind::Workers => {
            let inputs = inputs.ok_or_else(|| {
                AppError::unprocessable("upload boundaries and households before workers")
            })?;
            let tree = &inputs.dataset.tree;
            let towns = tree
                .leaves()
                .iter()
                .filter_map(|&l| tree.town_of(l))
                .map(|t| crate::model::TownCode::new(&tree.areas[t].code))
                .collect();
            let (_, warnings) = crate::workers::parse_workers(
                "workers",
                bytes,
                None,
                inputs.dataset.working,
                &inputs.rules.worker_hours,
                &towns,
            )?;
            Ok(warnings.0.len())
        }
    }
}

async fn upload(
    State(s): State<Arc<AppState>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require(&s.tokens, &headers)?;
    let kind = DatasetKind::parse(&kind).ok_or_else(|| {
        AppError::not_found(format!(
            "no dataset kind \"{kind}\"; use households, boundaries, workers or rules"
        ))
    })?;
    let body = body?;
    if body.is_empty() {
        return Err(AppError::bad_request(
            "the request body is empty: send the file",
        ));
    }
    let info = blocking(&s, move |state| {
        let warnings = validate_upload(state, kind, &body)?;
        let name = format!("{}-upload", kind.name());
        let info = state.with_store(|st| Ok(st.add_dataset(kind, &name, &body)?))?;
        if kind != DatasetKind::Workers {
            state.reload_inputs()?;
        }
        Ok(json!({"dataset": info, "warnings": warnings}))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

async fn dataset_latest(
    State(s): State<Arc<AppState>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    require(&s.tokens, &headers)?;
    let kind = DatasetKind::parse(&kind)
        .ok_or_else(|| AppError::not_found(format!("no dataset kind \"{kind}\"")))?;
    let row = s.with_store(|st| Ok(st.latest_dataset(kind)?))?;
    let (_, content) =
        row.ok_or_else(|| AppError::not_found(format!("no {} dataset yet", kind.name())))?;
    Ok(content.into_response())
}

async fn replace_boundaries(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require(&s.tokens, &headers)?;
    let body = body?;
    let out = blocking(&s, move |state| {
        validate_upload(state, DatasetKind::Boundaries, &body)?;
        let info = state.with_store(|st| {
            Ok(st.add_dataset(DatasetKind::Boundaries, "boundaries-upload", &body)?)
        })?;
        state.reload_inputs()?;
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("households are needed to plan"))?;
        // Re-drawn from the plan in force, so that what did not change stays as it was.
        let previous = state.published().plan;
        let plan = state.with_store(|st| {
            planning::run_plan(st, &inputs, &inputs.rules, "boundaries replaced", previous)
        })?;
        state.publish(Some(plan.id))?;
        Ok(json!({"dataset": info, "plan": plan.summary}))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn plans(State(s): State<Arc<AppState>>) -> Result<Response, AppError> {
    let list = s.with_store(|st| Ok(st.plans()?))?;
    let p = s.published();
    Ok(
        Json(json!({"plans": list, "published": p.plan, "assignment": p.assignment}))
            .into_response(),
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    rules: Option<String>,
    note: Option<String>,
    /// Re-draw from this plan, keeping what did not change.
    previous: Option<i64>,
}

async fn create_plan(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require(&s.tokens, &headers)?;
    let body = body?;
    let req: PlanRequest = optional_json(&body, "plan request")?;
    let out = blocking(&s, move |state| {
        if let Some(r) = &req.rules {
            planning::parse_rules(Some(r.as_bytes()))?;
            state.with_store(|st| {
                Ok(st.add_dataset(DatasetKind::Rules, "rules-request", r.as_bytes())?)
            })?;
            state.reload_inputs()?;
        }
        let inputs = state.inputs().ok_or_else(|| {
            AppError::unprocessable("households and boundaries are needed to plan")
        })?;
        let note = req
            .note
            .unwrap_or_else(|| "planned through the API".to_string());
        let plan = state
            .with_store(|st| planning::run_plan(st, &inputs, &inputs.rules, &note, req.previous))?;
        state.publish(Some(plan.id))?;
        Ok(plan.summary)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
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

fn plan_texts(s: &AppState, id: i64) -> Result<(String, String, String), AppError> {
    s.with_store(|st| Ok(st.plan_outputs(id)?))?
        .ok_or_else(|| AppError::not_found(format!("no plan {id}")))
}

/// The report without building identifiers (public: aggregates only).
pub fn public_report(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    for key in ["building_splits", "oversize_buildings_split"] {
        if let Some(a) = v.get_mut(key).and_then(Value::as_array_mut) {
            for item in a {
                if let Some(o) = item.as_object_mut() {
                    o.remove("building");
                }
            }
        }
    }
    if let Some(a) = v.get_mut("violations").and_then(Value::as_array_mut) {
        for item in a {
            if item.get("rule").and_then(Value::as_str) == Some("split_building") {
                let grids = item
                    .get("grid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .replace(',', ", ");
                item["message"] = json!(format!("a building is split across grids {grids}"));
            }
        }
    }
    v
}

async fn plan(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_param(&id)?;
    let info = s
        .with_store(|st| Ok(st.plans()?))?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AppError::not_found(format!("no plan {id}")))?;
    let (_, _, report) = plan_texts(&s, id)?;
    let r = public_report(&report);
    Ok(Json(json!({"plan": info, "summary": r["summary"], "quality": r["quality"], "leaves": r["leaves"]})).into_response())
}

async fn plan_grids(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (grids, _, _) = plan_texts(&s, id_param(&id)?)?;
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
    let (_, _, report) = plan_texts(&s, id_param(&id)?)?;
    Ok(Json(public_report(&report)).into_response())
}

async fn plan_sensitive(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    require(&s.tokens, &headers)?;
    let id = id_param(&id)?;
    let out = blocking(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no data in force"))?;
        state.with_store(|st| planning::sensitive_counts(st, &inputs, id))
    })
    .await?;
    Ok(Json(json!({"plan": id, "grids": out})).into_response())
}

async fn plan_diff(
    State(s): State<Arc<AppState>>,
    Path((a, b)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (a, b) = (id_param(&a)?, id_param(&b)?);
    let out = blocking(&s, move |state| {
        let inputs = state
            .inputs()
            .ok_or_else(|| AppError::unprocessable("no households in force"))?;
        state.with_store(|st| planning::diff_plans(st, &inputs, a, b))
    })
    .await?;
    Ok(Json(out).into_response())
}

async fn check(
    State(s): State<Arc<AppState>>,
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
    let report = tokio::task::spawn_blocking(move || -> Result<Value, AppError> {
        let data = &inputs.dataset;
        let (grids, _, problems) =
            crate::io::parse_grids("uploaded grids", body.to_vec(), None, Some(data.working))?;
        let mut report = crate::check::check(data, &grids, &inputs.rules);
        report.warnings.extend(problems.0);
        let text = serde_json::to_string(&report).map_err(AppError::internal)?;
        Ok(public_report(&text))
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
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    require(&s.tokens, &headers)?;
    let body = body?;
    let req: AssignRequest = optional_json(&body, "assignment request")?;
    let out = blocking(&s, move |state| {
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
        let (id, staffing) = state.with_store(|st| planning::run_assignment(st, &inputs, plan))?;
        if state.published().plan == Some(plan) {
            state.publish(Some(plan))?;
        }
        Ok(json!({"assignment": id, "plan": plan, "staffing": staffing}))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

async fn assignment(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = id_param(&id)?;
    let (plan, _, staffing) = s
        .with_store(|st| Ok(st.assignment(id)?))?
        .ok_or_else(|| AppError::not_found(format!("no assignment {id}")))?;
    let staffing: Value = serde_json::from_str(&staffing).unwrap_or(Value::Null);
    Ok(Json(json!({"assignment": id, "plan": plan, "staffing": staffing})).into_response())
}
