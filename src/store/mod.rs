//! State that survives restarts: datasets (the uploaded files, each upload a new version), plans and
//! assignments, in one SQLite file (the default) or in PostgreSQL with PostGIS ([`pg`], selected by a
//! `postgres://` location).
//!
//! Durability: every write is one transaction, acknowledged only after it commits, so a process killed
//! mid-write leaves the last acknowledged state intact. SQLite: write-ahead log with
//! `synchronous = FULL` (the unfinished transaction is rolled back on the next open). PostgreSQL: its
//! own write-ahead log, committed synchronously.

pub mod jobs;
pub mod pg;
mod sqlite;

pub use jobs::{Finish, JobInfo, JobKind, JobState, Lease, Ticket};
pub use sqlite::Sqlite;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Errors of the store, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("database {what}: {source}")]
pub struct StoreError {
    pub what: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        what: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> StoreError {
        StoreError {
            what: what.to_string(),
            source: source.into(),
        }
    }
}

fn ctx<T>(what: &str, r: rusqlite::Result<T>) -> Result<T, StoreError> {
    r.map_err(|source| StoreError::new(what, source))
}

/// Where the state is kept: a SQLite file, or a PostgreSQL database (`postgres://…` or
/// `postgresql://…`, libpq's URL form) with the PostGIS extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL is PostgreSQL (refused when it cannot be parsed);
    /// anything else a SQLite file path.
    pub fn parse(s: &str) -> Result<Location, String> {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            s.parse::<postgres::Config>()
                .map_err(|e| format!("not a PostgreSQL URL ({}): {e}", pg::redact(s)))?;
            Ok(Location::Postgres(s.to_string()))
        } else if s.is_empty() {
            Err("empty database path".to_string())
        } else {
            Ok(Location::Sqlite(PathBuf::from(s)))
        }
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::Sqlite(p)
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::Sqlite(p.to_path_buf())
    }
}

impl std::fmt::Display for Location {
    /// The path, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&pg::redact(url)),
        }
    }
}

/// Which input a dataset is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    Households,
    Boundaries,
    Workers,
    Rules,
    /// Street blocks, compounds, parcels (polygons): grids are drawn as unions of whole blocks.
    Blocks,
    /// Roads, rivers, rail, walls (lines): grid edges prefer them.
    Barriers,
}

impl DatasetKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [DatasetKind; 6] = [
        DatasetKind::Households,
        DatasetKind::Boundaries,
        DatasetKind::Workers,
        DatasetKind::Rules,
        DatasetKind::Blocks,
        DatasetKind::Barriers,
    ];

    pub fn parse(s: &str) -> Option<DatasetKind> {
        DatasetKind::ALL.into_iter().find(|k| k.name() == s)
    }
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Households => "households",
            DatasetKind::Boundaries => "boundaries",
            DatasetKind::Workers => "workers",
            DatasetKind::Rules => "rules",
            DatasetKind::Blocks => "blocks",
            DatasetKind::Barriers => "barriers",
        }
    }
}

/// A stored dataset version (without its content).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub id: i64,
    pub kind: DatasetKind,
    pub version: i64,
    pub created: String,
    pub bytes: i64,
    pub filename: String,
}

/// A stored plan: its inputs and its outputs (public GeoJSON and report).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanInfo {
    pub id: i64,
    pub created: String,
    pub households: i64,
    pub boundaries: i64,
    pub rules: Option<i64>,
    pub grids: i64,
    pub note: String,
}

/// The store: one connection to the database, SQLite or PostgreSQL. Every method does the same on both.
pub enum Store {
    Sqlite(Sqlite),
    /// Boxed: a connection with its own runtime is much larger than SQLite's handle.
    Postgres(Box<pg::PgStore>),
}

/// Calls the same method on whichever backend the store is.
macro_rules! both {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl Store {
    /// Opens the store at `at`: creates a SQLite file if missing; connects to PostgreSQL and applies
    /// the schema's migrations.
    pub fn open(at: &Location) -> Result<Store, StoreError> {
        Ok(match at {
            Location::Sqlite(path) => Store::Sqlite(Sqlite::open(path)?),
            Location::Postgres(url) => Store::Postgres(Box::new(pg::PgStore::open(url)?)),
        })
    }

    /// Stores a new version of a dataset; returns it.
    pub fn add_dataset(
        &mut self,
        kind: DatasetKind,
        filename: &str,
        content: &[u8],
    ) -> Result<DatasetInfo, StoreError> {
        both!(self, s => s.add_dataset(kind, filename, content))
    }

    /// The newest version of a dataset kind, with its content.
    pub fn latest_dataset(
        &self,
        kind: DatasetKind,
    ) -> Result<Option<(DatasetInfo, Vec<u8>)>, StoreError> {
        both!(self, s => s.latest_dataset(kind))
    }

    /// A dataset version's content.
    pub fn dataset_content(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        both!(self, s => s.dataset_content(id))
    }

    /// Every dataset version, newest first.
    pub fn datasets(&self) -> Result<Vec<DatasetInfo>, StoreError> {
        both!(self, s => s.datasets())
    }

    /// Stores a plan; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn add_plan(
        &mut self,
        households: i64,
        boundaries: i64,
        rules: Option<i64>,
        grid_count: usize,
        note: &str,
        grids: &str,
        communities: &str,
        report: &str,
    ) -> Result<i64, StoreError> {
        both!(self, s => s.add_plan(households, boundaries, rules, grid_count, note, grids, communities, report))
    }

    /// Every plan, newest first.
    pub fn plans(&self) -> Result<Vec<PlanInfo>, StoreError> {
        both!(self, s => s.plans())
    }

    /// One plan's stored outputs: (grids GeoJSON, communities GeoJSON, report JSON).
    pub fn plan_outputs(&self, id: i64) -> Result<Option<(String, String, String)>, StoreError> {
        both!(self, s => s.plan_outputs(id))
    }

    /// Stores an assignment of a plan; returns its id.
    pub fn add_assignment(
        &mut self,
        plan: i64,
        workers: i64,
        assignment: &str,
        staffing: &str,
    ) -> Result<i64, StoreError> {
        both!(self, s => s.add_assignment(plan, workers, assignment, staffing))
    }

    /// The newest assignment of a plan: (id, assignment GeoJSON, staffing JSON).
    pub fn latest_assignment(
        &self,
        plan: i64,
    ) -> Result<Option<(i64, String, String)>, StoreError> {
        both!(self, s => s.latest_assignment(plan))
    }

    /// An assignment by id: (plan, assignment GeoJSON, staffing JSON).
    pub fn assignment(&self, id: i64) -> Result<Option<(i64, String, String)>, StoreError> {
        both!(self, s => s.assignment(id))
    }

    /// The newest version of each dataset kind.
    pub fn latest(&self) -> Result<Latest, StoreError> {
        both!(self, s => s.latest())
    }

    /// Writes datasets and a plan in one transaction: all of it is stored, or (on an error, a conflict
    /// or a crash) none of it.
    pub fn write(&mut self, w: Write) -> Result<Written, WriteError> {
        both!(self, s => s.write(w))
    }

    /// A plan's stored inputs: (households, boundaries, rules) dataset ids.
    pub fn plan_inputs(&self, id: i64) -> Result<Option<(i64, i64, Option<i64>)>, StoreError> {
        both!(self, s => s.plan_inputs(id))
    }

    /// Writes a job held by `owner` under a lease of `lease_s` seconds; returns its lease.
    pub fn submit_job(
        &mut self,
        kind: JobKind,
        request: &str,
        body: &[u8],
        owner: &str,
        lease_s: f64,
    ) -> Result<Lease, StoreError> {
        both!(self, s => s.submit_job(kind, request, body, owner, lease_s))
    }

    /// Renews the leases of every running job `owner` holds; returns how many.
    pub fn renew_leases(&mut self, owner: &str, lease_s: f64) -> Result<u64, StoreError> {
        both!(self, s => s.renew_leases(owner, lease_s))
    }

    /// Takes over the oldest running job whose lease has lapsed (its server died or was cut off): it is
    /// `owner`'s now, at the next attempt. Two servers asking at once never take the same job.
    pub fn take_lapsed_job(
        &mut self,
        owner: &str,
        lease_s: f64,
    ) -> Result<Option<Ticket>, StoreError> {
        both!(self, s => s.take_lapsed_job(owner, lease_s))
    }

    /// Marks a job failed with `error` (JSON) when it is still held under `lease`; false when it is not.
    pub fn fail_job(&mut self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        both!(self, s => s.fail_job(lease, error))
    }

    /// One job.
    pub fn job(&self, id: i64) -> Result<Option<JobInfo>, StoreError> {
        both!(self, s => s.job(id))
    }

    /// The newest jobs, newest first.
    pub fn jobs(&self, limit: i64) -> Result<Vec<JobInfo>, StoreError> {
        both!(self, s => s.jobs(limit))
    }

    /// What the served state depends on: the newest datasets, the newest plan and its newest assignment.
    pub fn head(&self) -> Result<Head, StoreError> {
        both!(self, s => s.head())
    }

    /// Waits up to `timeout` for another connection to commit a change; true when one was announced.
    /// PostgreSQL listens for the writers' notifications; SQLite (one server) only waits.
    pub fn wait_for_change(&mut self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(_) => {
                std::thread::sleep(timeout);
                Ok(false)
            }
            Store::Postgres(s) => s.wait_for_change(timeout),
        }
    }

    /// Holds the start-up lock: one server at a time loads the data and makes the first plan (SQLite:
    /// one server per file, nothing to hold). Let go with [`Store::unlock_start`] or by closing.
    pub fn lock_start(&mut self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(s) => s.advisory_lock(pg::START_LOCK, true),
        }
    }

    /// Lets go of the start-up lock.
    pub fn unlock_start(&mut self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(s) => s.advisory_lock(pg::START_LOCK, false),
        }
    }

    /// The database's own consistency check: `ok` when it is sound.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        both!(self, s => s.integrity_check())
    }
}

/// The newest version of each dataset kind (its row id), as a write saw the data in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latest {
    pub households: Option<i64>,
    pub boundaries: Option<i64>,
    pub workers: Option<i64>,
    pub rules: Option<i64>,
    pub blocks: Option<i64>,
    pub barriers: Option<i64>,
}

impl Latest {
    pub fn get(&self, kind: DatasetKind) -> Option<i64> {
        match kind {
            DatasetKind::Households => self.households,
            DatasetKind::Boundaries => self.boundaries,
            DatasetKind::Workers => self.workers,
            DatasetKind::Rules => self.rules,
            DatasetKind::Blocks => self.blocks,
            DatasetKind::Barriers => self.barriers,
        }
    }
    pub fn set(&mut self, kind: DatasetKind, id: i64) {
        match kind {
            DatasetKind::Households => self.households = Some(id),
            DatasetKind::Boundaries => self.boundaries = Some(id),
            DatasetKind::Workers => self.workers = Some(id),
            DatasetKind::Rules => self.rules = Some(id),
            DatasetKind::Blocks => self.blocks = Some(id),
            DatasetKind::Barriers => self.barriers = Some(id),
        }
    }

    /// What a plan is drawn from (all but the workers): a write validated against it is refused when
    /// another writer changed any of it meanwhile.
    pub fn plan_inputs(&self) -> [Option<i64>; 5] {
        [
            self.households,
            self.boundaries,
            self.rules,
            self.blocks,
            self.barriers,
        ]
    }
}

/// What the served state depends on, to tell when another server changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    pub latest: Latest,
    pub plan: Option<i64>,
    /// The newest assignment of the newest plan.
    pub assignment: Option<i64>,
}

/// A plan to store. Its inputs are the datasets in force when the write commits: those written in the
/// same [`Write`], else the newest stored ones.
#[derive(Debug, Clone)]
pub struct NewPlan {
    pub grid_count: usize,
    pub note: String,
    pub grids: String,
    pub communities: String,
    pub report: String,
}

/// Everything one request writes, committed in one transaction or not at all.
#[derive(Debug, Clone, Default)]
pub struct Write {
    /// New dataset versions: (kind, file name, content).
    pub datasets: Vec<(DatasetKind, String, Vec<u8>)>,
    pub plan: Option<NewPlan>,
    /// The data in force the write was validated against: when another writer changed it meanwhile,
    /// nothing is written.
    pub expected: Option<Latest>,
    /// The job whose result this is: marked done in the same transaction, and nothing is written when
    /// the job is no longer held under this lease (another server took it over).
    pub job: Option<Finish>,
}

/// What a [`Write`] stored.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub datasets: Vec<DatasetInfo>,
    pub plan: Option<i64>,
}

/// Why a [`Store::write`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the data in force changed while this request was validated; send it again")]
    Conflict,
    /// The job is no longer held under the lease the write named: another server took it over.
    #[error("this job was taken over by another server")]
    JobLost,
    #[error(transparent)]
    Store(#[from] StoreError),
}
