//! Durable planning jobs: a request to plan is a row before any work starts, held by one server under a
//! lease it renews while it lives. A server that dies leaves its lease to lapse, and another takes the
//! job over (`FOR UPDATE SKIP LOCKED` in PostgreSQL; SQLite has one writer at a time anyway). The lease
//! carries an attempt number that fences the result: a plan is written, and its job marked done, in one
//! transaction that first checks the job is still held by the same owner at the same attempt, so a
//! server that lost its lease (stopped, cut off, slow) cannot write a plan a second time.
//!
//! A job is held from the start by the server that received the request (it already holds the parsed
//! inputs and the client's connection), rather than queued for any server to pull: no hop, and no race
//! between servers for a fresh job. Other servers take only jobs whose lease has lapsed. A job's body
//! (an uploaded boundaries file) is dropped once the job is done or failed: the dataset keeps it.

use serde::Serialize;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// `POST /api/plans`: plan the data in force (request: rules, note, previous).
    Plan,
    /// `POST /api/boundaries`: new boundaries (the job's body) and a plan re-drawn from them.
    Boundaries,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Plan => "plan",
            JobKind::Boundaries => "boundaries",
        }
    }
    pub fn parse(s: &str) -> Option<JobKind> {
        match s {
            "plan" => Some(JobKind::Plan),
            "boundaries" => Some(JobKind::Boundaries),
            _ => None,
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Held by `owner` (or waiting for another server to take it, once the lease has lapsed).
    Running,
    /// Its plan is written (`plan`), with the answer in `result`.
    Done,
    /// Refused or failed (`error`: the status and message a client was or would have been answered).
    Failed,
}

impl JobState {
    pub fn name(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> JobState {
        match s {
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => JobState::Running,
        }
    }
}

/// A job as the API shows it (without its body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobInfo {
    pub id: i64,
    pub kind: JobKind,
    pub state: JobState,
    /// The server holding (or that last held) the job.
    pub owner: String,
    /// How many servers have taken it: 1, or more after a take-over.
    pub attempt: i64,
    pub created: String,
    pub finished: Option<String>,
    pub plan: Option<i64>,
    /// The answer of a job done (JSON).
    #[serde(skip)]
    pub result: Option<String>,
    /// The error of a failed job (JSON).
    #[serde(skip)]
    pub error: Option<String>,
}

/// A job held by one server: the fence its result is written under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: i64,
    pub owner: String,
    pub attempt: i64,
}

/// A job to run: its lease and what it asks.
#[derive(Debug, Clone)]
pub struct Ticket {
    pub lease: Lease,
    pub kind: JobKind,
    /// The request (JSON).
    pub request: String,
    /// The uploaded file, for a boundaries job.
    pub body: Vec<u8>,
}

/// A job's completion, written in the same transaction as its plan.
#[derive(Debug, Clone)]
pub struct Finish {
    pub lease: Lease,
    /// The answer (JSON), without the plan id (the job row has it).
    pub result: String,
}
