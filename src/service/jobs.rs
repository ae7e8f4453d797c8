//! Planning as durable jobs, so that several servers on one database serve the same plans and a server
//! that dies in the middle of a plan loses nothing.
//!
//! A plan request (`POST /api/plans`, `POST /api/boundaries`) is first written as a job row held by
//! the server that received it, under a lease ([`crate::store::Lease`]); that server then computes it
//! (one writing job at a time, as before) and writes the plan and the job's completion in one
//! transaction fenced by the lease. While the server lives, a heartbeat thread renews the leases of the
//! jobs it holds. When it dies, the leases lapse and another server's taker thread takes the job over
//! (`FOR UPDATE SKIP LOCKED` in PostgreSQL) at the next attempt and computes it from the request stored
//! in the row; should the first server come back and finish too, its write finds the job no longer its
//! own and writes nothing. So each job is done exactly once, whoever does it.
//!
//! A watcher thread (PostgreSQL) listens for the writers' notifications (and polls, in case one is
//! missed while the connection is re-made) and publishes whatever another server wrote: a new plan, a
//! new assignment, new datasets in force.

use super::AppState;
use super::error::AppError;
use super::planning::{self, Inputs};
use crate::model::Date;
use crate::store::{
    DatasetKind, Finish, JobKind, Latest, Lease, Location, Store, Ticket, Write, WriteError,
};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What `POST /api/plans` asks, as its job row keeps it.
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Rules (TOML) to plan with, stored as a new rules version with the plan.
    pub rules: Option<String>,
    pub note: Option<String>,
    /// Re-draw from this plan, keeping what did not change.
    pub previous: Option<i64>,
    /// The day the plan takes effect (`YYYY-MM-DD`): new grids' `valid_from`, and the `valid_to` of the
    /// grids a re-draw retires. Today (UTC) when absent.
    pub date: Option<String>,
}

impl PlanRequest {
    /// The day the plan takes effect: `date`, or today (UTC). A date that is no calendar day is a bad
    /// request, refused before the job is queued.
    pub fn day(&self) -> Result<Date, AppError> {
        match &self.date {
            None => Ok(Date::today()),
            Some(d) => Date::parse(d).ok_or_else(|| {
                AppError::bad_request(format!(
                    "plan request: date \"{d}\" is not a calendar day as YYYY-MM-DD, e.g. 2026-07-01"
                ))
            }),
        }
    }
}

/// What `POST /api/boundaries` asks besides the file (the job's body).
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct BoundariesRequest {
    /// The plan in force when the request came: the new plan is re-drawn from it.
    pub previous: Option<i64>,
    /// Whether the planner accepts boundaries that leave workers in force without their town
    /// (`?stranded_workers=accept`); else they are refused naming the towns.
    #[serde(default)]
    pub accept_stranded_workers: bool,
}

/// A name for this server that no other server, nor this one after a restart, has: host, process and a
/// counter (in-process tests run several servers in one process) with the start time.
pub fn server_name() -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!(
        "{host}/{}/{}-{started}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Writes a job held by this server. Blocking.
pub fn submit(
    state: &AppState,
    kind: JobKind,
    request: &impl Serialize,
    body: Vec<u8>,
) -> Result<Ticket, AppError> {
    let text = serde_json::to_string(request).map_err(AppError::internal)?;
    let lease = state.with_store(|st| {
        Ok(st.submit_job(
            kind,
            &text,
            &body,
            &state.server,
            state.job_lease.as_secs_f64(),
        )?)
    })?;
    Ok(Ticket {
        lease,
        kind,
        request: text,
        body,
    })
}

/// Why a job ended without an answer of its own.
pub enum Ended {
    /// It failed: the error the client is answered (also kept in the job row).
    Failed(AppError),
    /// Another server took it over (this one's lease lapsed): the job goes on there.
    TakenOver(i64),
}

impl From<Ended> for AppError {
    fn from(e: Ended) -> AppError {
        match e {
            Ended::Failed(e) => e,
            Ended::TakenOver(job) => AppError::new(
                StatusCode::ACCEPTED,
                format!(
                    "job {job} was taken over by another server; GET /api/jobs/{job} follows it"
                ),
            ),
        }
    }
}

/// Runs a job held by this server (the caller holds the writing turn). Blocking. A failure is written
/// to the job row unless the job is no longer this server's.
pub fn run(state: &AppState, ticket: &Ticket) -> Result<Value, Ended> {
    let result = match ticket.kind {
        JobKind::Plan => serde_json::from_str::<PlanRequest>(&ticket.request)
            .map_err(|e| AppError::bad_request(format!("plan request: {e}")))
            .and_then(|req| plan(state, &ticket.lease, &req)),
        JobKind::Boundaries => serde_json::from_str::<BoundariesRequest>(&ticket.request)
            .map_err(|e| AppError::bad_request(format!("boundaries request: {e}")))
            .and_then(|req| boundaries(state, &ticket.lease, &req, &ticket.body)),
    };
    match result {
        Ok(v) => Ok(v),
        Err(e) if e.status == LOST => Err(Ended::TakenOver(ticket.lease.job)),
        Err(e) => {
            let error = json!({"status": e.status.as_u16(), "error": e.message, "problems": e.problems.len()});
            // When the job cannot be marked (the database is out of reach), its lease lapses and
            // another server, or this one, tries it again.
            if let Err(fail) =
                state.with_store(|st| Ok(st.fail_job(&ticket.lease, &error.to_string())?))
            {
                tracing::error!(
                    "job {} failed ({}) and could not be marked: {}",
                    ticket.lease.job,
                    e.message,
                    fail.message
                );
            }
            Err(Ended::Failed(e))
        }
    }
}

/// The status a [`WriteError::JobLost`] travels under inside this module (never answered as such).
const LOST: StatusCode = StatusCode::GONE;

fn write_error(e: WriteError) -> AppError {
    match e {
        WriteError::JobLost => AppError::new(LOST, e.to_string()),
        e => super::api::write_error(e),
    }
}

/// `POST /api/plans`: the data in force (or new rules with it), re-drawn from `previous` when given.
fn plan(state: &AppState, lease: &Lease, req: &PlanRequest) -> Result<Value, AppError> {
    let needed = || AppError::unprocessable("households and boundaries are needed to plan");
    let (inputs, datasets, expected) = match &req.rules {
        Some(r) => {
            let cand = state.with_store(|st| {
                planning::candidate(
                    st,
                    DatasetKind::Rules,
                    r.as_bytes(),
                    state.inputs().as_deref(),
                )
            })?;
            let expected = cand.expected;
            let inputs = cand.inputs.ok_or_else(needed)?;
            let datasets = vec![(
                DatasetKind::Rules,
                "rules-request".to_string(),
                r.as_bytes().to_vec(),
            )];
            (inputs, datasets, expected)
        }
        None => {
            let inputs = state.inputs().ok_or_else(needed)?;
            let expected = inputs.latest();
            ((*inputs).clone(), Vec::new(), expected)
        }
    };
    let note = req
        .note
        .clone()
        .unwrap_or_else(|| "planned through the API".to_string());
    plan_and_write(
        state,
        lease,
        inputs,
        datasets,
        expected,
        &note,
        (req.previous, req.day()?),
    )
}

/// `POST /api/boundaries`: new boundaries and a plan re-drawn from the plan in force at the request.
fn boundaries(
    state: &AppState,
    lease: &Lease,
    req: &BoundariesRequest,
    body: &[u8],
) -> Result<Value, AppError> {
    let cand =
        state.with_store(|st| planning::candidate(st, DatasetKind::Boundaries, body, None))?;
    let expected = cand.expected;
    let warnings = cand.warnings.clone();
    let stranded = state.with_store(|st| {
        planning::refuse_stranding(st, cand.inputs.as_ref(), req.accept_stranded_workers)
    })?;
    let inputs = cand
        .inputs
        .ok_or_else(|| AppError::unprocessable("households are needed to plan"))?;
    let datasets = vec![(
        DatasetKind::Boundaries,
        "boundaries-upload".to_string(),
        body.to_vec(),
    )];
    let plan = plan_and_write(
        state,
        lease,
        inputs,
        datasets,
        expected,
        "boundaries replaced",
        (req.previous, Date::today()),
    )?;
    let dataset = plan.get("dataset").cloned().unwrap_or(Value::Null);
    let mut answer = json!({"dataset": dataset, "plan": plan, "warnings": warnings.len(), "warning_list": super::api::warnings_json(&warnings)});
    if let Some(s) = stranded {
        answer["stranded_workers"] = s.json();
    }
    Ok(answer)
}

/// Computes a plan from `inputs` (re-drawn from `previous` when given, its retired grids kept, on
/// `date`) and writes it with `datasets` and the job's completion in one transaction; publishes it. The
/// plan hook runs before the computation.
fn plan_and_write(
    state: &AppState,
    lease: &Lease,
    inputs: Inputs,
    datasets: Vec<(DatasetKind, String, Vec<u8>)>,
    expected: Latest,
    note: &str,
    (previous, date): (Option<i64>, Date),
) -> Result<Value, AppError> {
    let previous = match previous {
        None => None,
        Some(id) => {
            let (layer, warnings) =
                state.with_store(|st| planning::plan_layer(st, &inputs.dataset, id))?;
            Some((id, layer, warnings))
        }
    };
    state.plan_started();
    let computed = planning::compute_plan(&inputs, &inputs.rules, note, previous, date)?;
    let write = Write {
        datasets,
        plan: Some(computed.plan),
        expected: Some(expected),
        job: Some(Finish {
            lease: lease.clone(),
            result: computed.summary.to_string(),
        }),
    };
    let written = state.with_store(|st| st.write(write).map_err(write_error))?;
    let id = written
        .plan
        .ok_or_else(|| AppError::internal("the plan was not written"))?;
    let mut inputs = inputs;
    for d in &written.datasets {
        match d.kind {
            DatasetKind::Households => inputs.households = d.id,
            DatasetKind::Boundaries => inputs.boundaries = d.id,
            DatasetKind::Rules => inputs.rules_id = Some(d.id),
            DatasetKind::Blocks => inputs.blocks_id = Some(d.id),
            DatasetKind::Barriers => inputs.barriers_id = Some(d.id),
            DatasetKind::Workers => {}
        }
    }
    if !written.datasets.is_empty() {
        state.set_inputs(Some(inputs));
    }
    state.publish(Some(id))?;
    let mut summary = computed.summary;
    summary["plan"] = json!(id);
    summary["job"] = json!(lease.job);
    if let Some(d) = written.datasets.first() {
        summary["dataset"] = json!(d);
    }
    Ok(summary)
}

/// A job as `GET /api/jobs/{id}` answers it: the row, and its answer or error.
pub fn job_json(job: &crate::store::JobInfo) -> Value {
    let mut v = json!(job);
    let parse = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
    };
    if let Some(mut r) = parse(&job.result) {
        r["plan"] = json!(job.plan);
        v["result"] = r;
    }
    if let Some(e) = parse(&job.error) {
        v["error"] = e;
    }
    v
}

/// Starts this server's background threads: the heartbeat that renews its jobs' leases, the taker of
/// jobs whose server died, and (PostgreSQL) the watcher that publishes what other servers write. Each
/// stops by itself once the state is dropped.
pub fn start(state: &Arc<AppState>) {
    let lease = state.job_lease;
    let beat = (lease / 3).max(Duration::from_millis(100));
    spawn("gridplan-heartbeat", Arc::downgrade(state), beat, heartbeat);
    spawn("gridplan-taker", Arc::downgrade(state), beat, take_lapsed);
    if let Location::Postgres(_) = state.db.location() {
        let weak = Arc::downgrade(state);
        let at = state.db.location().clone();
        let _ = std::thread::Builder::new()
            .name("gridplan-watcher".into())
            .spawn(move || watch(weak, at));
    }
}

/// Runs `tick` every `every` while the state lives.
fn spawn(name: &str, weak: Weak<AppState>, every: Duration, tick: fn(&AppState)) {
    let _ = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                let Some(state) = weak.upgrade() else { return };
                tick(&state);
            }
        });
}

fn heartbeat(state: &AppState) {
    let lease = state.job_lease.as_secs_f64();
    if let Err(e) = state.with_store(|st| Ok(st.renew_leases(&state.server, lease)?)) {
        tracing::error!(
            "cannot renew the leases of this server's jobs: {}",
            e.message
        );
    }
}

/// Takes over the jobs whose server died, one at a time, each in this server's writing turn.
fn take_lapsed(state: &AppState) {
    loop {
        let lease = state.job_lease.as_secs_f64();
        let ticket = match state.with_store(|st| Ok(st.take_lapsed_job(&state.server, lease)?)) {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                tracing::error!("cannot look for lapsed jobs: {}", e.message);
                return;
            }
        };
        tracing::info!(
            "took over job {} ({}, attempt {})",
            ticket.lease.job,
            ticket.kind.name(),
            ticket.lease.attempt
        );
        let _turn = state.work.blocking_lock();
        match state.in_jobs_pool(|| run(state, &ticket)) {
            Ok(v) => {
                let plan = v
                    .get("plan")
                    .and_then(|p| p.get("plan").or(Some(p)))
                    .cloned()
                    .unwrap_or(Value::Null);
                tracing::info!("job {} done: plan {plan}", ticket.lease.job)
            }
            Err(Ended::Failed(e)) => {
                tracing::warn!("job {} failed: {}", ticket.lease.job, e.message)
            }
            Err(Ended::TakenOver(_)) => {}
        }
    }
}

/// How often the watcher looks even when no notification came.
const WATCH_POLL: Duration = Duration::from_secs(2);

/// Publishes what other servers write: waits for a notification (or the poll), then compares the
/// database's head with what this server serves.
fn watch(weak: Weak<AppState>, at: Location) {
    let mut store: Option<Store> = None;
    // The datasets whose loading failed: not tried again until they change.
    let mut failed: Option<Latest> = None;
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        let conn = match store.as_mut() {
            Some(s) => s,
            None => match Store::open(&at) {
                Ok(s) => store.insert(s),
                Err(e) => {
                    tracing::warn!("the watcher cannot connect: {e}");
                    std::thread::sleep(WATCH_POLL);
                    continue;
                }
            },
        };
        let head = conn.wait_for_change(WATCH_POLL).and_then(|_| conn.head());
        let head = match head {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("the watcher lost its connection: {e}");
                store = None;
                continue;
            }
        };
        let Some(state) = weak.upgrade() else { return };
        let served = state.inputs().map(|i| i.latest());
        let wanted = Latest {
            workers: None,
            ..head.latest
        };
        if head.latest.households.is_some() && served != Some(wanted) && failed != Some(wanted) {
            match planning::load_inputs_at(conn, wanted) {
                Ok(inputs) => {
                    state.set_inputs(inputs);
                    failed = None;
                }
                Err(e) => {
                    tracing::warn!(
                        "the datasets another server wrote cannot be read together: {}",
                        e.message
                    );
                    failed = Some(wanted);
                }
            }
        }
        let published = state.published();
        if (published.plan, published.assignment) != (head.plan, head.assignment)
            && let Err(e) = state.publish(None)
        {
            tracing::error!("cannot publish the newest plan: {}", e.message);
        }
    }
}
