//! State that survives restarts: datasets (the uploaded files, each upload a new version), plans and
//! assignments, in one SQLite file (the default) or in PostgreSQL with PostGIS ([`pg`], selected by a
//! `postgres://` location).
//!
//! Durability: every write is one transaction, acknowledged only after it commits, so a process killed
//! mid-write leaves the last acknowledged state intact. SQLite: write-ahead log with
//! `synchronous = FULL` (the unfinished transaction is rolled back on the next open). PostgreSQL: its
//! own write-ahead log, committed synchronously.

pub mod pg;

use rusqlite::{Connection, OptionalExtension, params};
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
}

impl DatasetKind {
    pub fn parse(s: &str) -> Option<DatasetKind> {
        match s {
            "households" => Some(DatasetKind::Households),
            "boundaries" => Some(DatasetKind::Boundaries),
            "workers" => Some(DatasetKind::Workers),
            "rules" => Some(DatasetKind::Rules),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::Households => "households",
            DatasetKind::Boundaries => "boundaries",
            DatasetKind::Workers => "workers",
            DatasetKind::Rules => "rules",
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
    Postgres(pg::PgStore),
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
            Location::Postgres(url) => Store::Postgres(pg::PgStore::open(url)?),
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

    /// The database's own consistency check: `ok` when it is sound.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        both!(self, s => s.integrity_check())
    }
}

/// The SQLite store.
pub struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    /// Opens (or creates) the database file; `:memory:` for a throwaway store.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let conn = ctx("open", Connection::open(path))?;
        ctx(
            "configure",
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA busy_timeout = 5000;
                 CREATE TABLE IF NOT EXISTS datasets (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     kind TEXT NOT NULL,
                     version INTEGER NOT NULL,
                     created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                     filename TEXT NOT NULL,
                     content BLOB NOT NULL,
                     UNIQUE (kind, version)
                 );
                 CREATE TABLE IF NOT EXISTS plans (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                     households INTEGER NOT NULL REFERENCES datasets(id),
                     boundaries INTEGER NOT NULL REFERENCES datasets(id),
                     rules INTEGER REFERENCES datasets(id),
                     grid_count INTEGER NOT NULL,
                     note TEXT NOT NULL,
                     grids TEXT NOT NULL,
                     communities TEXT NOT NULL,
                     report TEXT NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS assignments (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                     plan INTEGER NOT NULL REFERENCES plans(id),
                     workers INTEGER NOT NULL REFERENCES datasets(id),
                     assignment TEXT NOT NULL,
                     staffing TEXT NOT NULL
                 );",
            ),
        )?;
        Ok(Sqlite { conn })
    }

    /// Stores a new version of a dataset; returns it.
    pub fn add_dataset(
        &mut self,
        kind: DatasetKind,
        filename: &str,
        content: &[u8],
    ) -> Result<DatasetInfo, StoreError> {
        let tx = ctx(
            "begin",
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
        )?;
        let id = insert_dataset(&tx, kind, filename, content)?;
        ctx("commit", tx.commit())?;
        self.dataset_info(id)?.ok_or_else(|| {
            StoreError::new(
                "read the dataset just written",
                rusqlite::Error::QueryReturnedNoRows,
            )
        })
    }

    fn dataset_info(&self, id: i64) -> Result<Option<DatasetInfo>, StoreError> {
        ctx(
            "read dataset",
            self.conn
                .query_row(
                    "SELECT id, kind, version, created, length(content), filename FROM datasets WHERE id = ?1",
                    params![id],
                    |r| {
                        let kind: String = r.get(1)?;
                        Ok(DatasetInfo {
                            id: r.get(0)?,
                            kind: DatasetKind::parse(&kind).unwrap_or(DatasetKind::Rules),
                            version: r.get(2)?,
                            created: r.get(3)?,
                            bytes: r.get(4)?,
                            filename: r.get(5)?,
                        })
                    },
                )
                .optional(),
        )
    }

    /// The newest version of a dataset kind, with its content.
    pub fn latest_dataset(
        &self,
        kind: DatasetKind,
    ) -> Result<Option<(DatasetInfo, Vec<u8>)>, StoreError> {
        let row: Option<(i64, Vec<u8>)> = ctx(
            "read latest dataset",
            self.conn
                .query_row(
                    "SELECT id, content FROM datasets WHERE kind = ?1 ORDER BY version DESC LIMIT 1",
                    params![kind.name()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional(),
        )?;
        match row {
            None => Ok(None),
            Some((id, content)) => Ok(self.dataset_info(id)?.map(|i| (i, content))),
        }
    }

    /// A dataset version's content.
    pub fn dataset_content(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        ctx(
            "read dataset content",
            self.conn
                .query_row(
                    "SELECT content FROM datasets WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional(),
        )
    }

    /// Every dataset version, newest first.
    pub fn datasets(&self) -> Result<Vec<DatasetInfo>, StoreError> {
        let mut stmt = ctx(
            "list datasets",
            self.conn
                .prepare("SELECT id FROM datasets ORDER BY id DESC"),
        )?;
        let ids: Vec<i64> = ctx(
            "list datasets",
            stmt.query_map([], |r| r.get(0))
                .and_then(|rows| rows.collect()),
        )?;
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.dataset_info(id)?);
        }
        Ok(out)
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
        let tx = ctx(
            "begin",
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
        )?;
        ctx(
            "insert plan",
            tx.execute(
                "INSERT INTO plans (households, boundaries, rules, grid_count, note, grids, communities, report)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![households, boundaries, rules, grid_count as i64, note, grids, communities, report],
            ),
        )?;
        let id = tx.last_insert_rowid();
        ctx("commit", tx.commit())?;
        Ok(id)
    }

    /// Every plan, newest first.
    pub fn plans(&self) -> Result<Vec<PlanInfo>, StoreError> {
        let mut stmt = ctx(
            "list plans",
            self.conn.prepare(
                "SELECT id, created, households, boundaries, rules, grid_count, note FROM plans ORDER BY id DESC",
            ),
        )?;
        ctx(
            "list plans",
            stmt.query_map([], |r| {
                Ok(PlanInfo {
                    id: r.get(0)?,
                    created: r.get(1)?,
                    households: r.get(2)?,
                    boundaries: r.get(3)?,
                    rules: r.get(4)?,
                    grids: r.get(5)?,
                    note: r.get(6)?,
                })
            })
            .and_then(|rows| rows.collect()),
        )
    }

    /// One plan's stored outputs: (grids GeoJSON, communities GeoJSON, report JSON).
    pub fn plan_outputs(&self, id: i64) -> Result<Option<(String, String, String)>, StoreError> {
        ctx(
            "read plan",
            self.conn
                .query_row(
                    "SELECT grids, communities, report FROM plans WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional(),
        )
    }

    /// Stores an assignment of a plan; returns its id.
    pub fn add_assignment(
        &mut self,
        plan: i64,
        workers: i64,
        assignment: &str,
        staffing: &str,
    ) -> Result<i64, StoreError> {
        let tx = ctx(
            "begin",
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
        )?;
        ctx(
            "insert assignment",
            tx.execute(
                "INSERT INTO assignments (plan, workers, assignment, staffing) VALUES (?1, ?2, ?3, ?4)",
                params![plan, workers, assignment, staffing],
            ),
        )?;
        let id = tx.last_insert_rowid();
        ctx("commit", tx.commit())?;
        Ok(id)
    }

    /// The newest assignment of a plan: (id, assignment GeoJSON, staffing JSON).
    pub fn latest_assignment(
        &self,
        plan: i64,
    ) -> Result<Option<(i64, String, String)>, StoreError> {
        ctx(
            "read assignment",
            self.conn
                .query_row(
                    "SELECT id, assignment, staffing FROM assignments WHERE plan = ?1 ORDER BY id DESC LIMIT 1",
                    params![plan],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional(),
        )
    }

    /// An assignment by id: (plan, assignment GeoJSON, staffing JSON).
    pub fn assignment(&self, id: i64) -> Result<Option<(i64, String, String)>, StoreError> {
        ctx(
            "read assignment",
            self.conn
                .query_row(
                    "SELECT plan, assignment, staffing FROM assignments WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional(),
        )
    }
}

/// The newest version of each dataset kind (its row id), as a write saw the data in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latest {
    pub households: Option<i64>,
    pub boundaries: Option<i64>,
    pub workers: Option<i64>,
    pub rules: Option<i64>,
}

impl Latest {
    pub fn get(&self, kind: DatasetKind) -> Option<i64> {
        match kind {
            DatasetKind::Households => self.households,
            DatasetKind::Boundaries => self.boundaries,
            DatasetKind::Workers => self.workers,
            DatasetKind::Rules => self.rules,
        }
    }
    pub fn set(&mut self, kind: DatasetKind, id: i64) {
        match kind {
            DatasetKind::Households => self.households = Some(id),
            DatasetKind::Boundaries => self.boundaries = Some(id),
            DatasetKind::Workers => self.workers = Some(id),
            DatasetKind::Rules => self.rules = Some(id),
        }
    }
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sqlite {
    /// The newest version of each dataset kind.
    pub fn latest(&self) -> Result<Latest, StoreError> {
        latest_in(&self.conn)
    }

    /// Writes datasets and a plan in one transaction: all of it is stored, or (on an error, a conflict
    /// or a crash) none of it.
    pub fn write(&mut self, w: Write) -> Result<Written, WriteError> {
        let tx = ctx(
            "begin",
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
        )?;
        let mut latest = latest_in(&tx)?;
        // Workers do not change what households, boundaries and rules mean together.
        if let Some(expected) = w.expected
            && (expected.households, expected.boundaries, expected.rules)
                != (latest.households, latest.boundaries, latest.rules)
        {
            return Err(WriteError::Conflict);
        }
        let mut ids = Vec::new();
        for (kind, filename, content) in &w.datasets {
            let id = insert_dataset(&tx, *kind, filename, content)?;
            latest.set(*kind, id);
            ids.push(id);
        }
        let mut plan_id = None;
        if let Some(p) = &w.plan {
            let (Some(h), Some(b)) = (latest.households, latest.boundaries) else {
                return Err(WriteError::Conflict);
            };
            ctx(
                "insert plan",
                tx.execute(
                    "INSERT INTO plans (households, boundaries, rules, grid_count, note, grids, communities, report)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![h, b, latest.rules, p.grid_count as i64, p.note, p.grids, p.communities, p.report],
                ),
            )?;
            plan_id = Some(tx.last_insert_rowid());
        }
        ctx("commit", tx.commit())?;
        let mut datasets = Vec::new();
        for id in ids {
            datasets.extend(self.dataset_info(id)?);
        }
        Ok(Written {
            datasets,
            plan: plan_id,
        })
    }

    /// A plan's stored inputs: (households, boundaries, rules) dataset ids.
    pub fn plan_inputs(&self, id: i64) -> Result<Option<(i64, i64, Option<i64>)>, StoreError> {
        ctx(
            "read plan inputs",
            self.conn
                .query_row(
                    "SELECT households, boundaries, rules FROM plans WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional(),
        )
    }
}

fn latest_in(conn: &Connection) -> Result<Latest, StoreError> {
    let mut out = Latest::default();
    for kind in [
        DatasetKind::Households,
        DatasetKind::Boundaries,
        DatasetKind::Workers,
        DatasetKind::Rules,
    ] {
        let id: Option<i64> = ctx(
            "read latest ids",
            conn.query_row(
                "SELECT id FROM datasets WHERE kind = ?1 ORDER BY version DESC LIMIT 1",
                params![kind.name()],
                |r| r.get(0),
            )
            .optional(),
        )?;
        if let Some(id) = id {
            out.set(kind, id);
        }
    }
    Ok(out)
}

impl Sqlite {
    /// SQLite's own consistency check: `ok` when the file is sound.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        ctx(
            "integrity check",
            self.conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0)),
        )
    }
}

/// Inserts the next version of a dataset of `kind` inside the caller's transaction; returns its row id.
fn insert_dataset(
    tx: &rusqlite::Transaction,
    kind: DatasetKind,
    filename: &str,
    content: &[u8],
) -> Result<i64, StoreError> {
    let version: i64 = ctx(
        "next version",
        tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM datasets WHERE kind = ?1",
            params![kind.name()],
            |r| r.get(0),
        ),
    )?;
    ctx(
        "insert dataset",
        tx.execute(
            "INSERT INTO datasets (kind, version, filename, content) VALUES (?1, ?2, ?3, ?4)",
            params![kind.name(), version, filename, content],
        ),
    )?;
    Ok(tx.last_insert_rowid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_per_kind_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.db");
        {
            let mut s = Store::open(&path.clone().into()).unwrap();
            assert_eq!(
                s.add_dataset(DatasetKind::Households, "h.geojson", b"{}")
                    .unwrap()
                    .version,
                1
            );
            assert_eq!(
                s.add_dataset(DatasetKind::Households, "h2.geojson", b"{ }")
                    .unwrap()
                    .version,
                2
            );
            assert_eq!(
                s.add_dataset(DatasetKind::Boundaries, "b.geojson", b"[]")
                    .unwrap()
                    .version,
                1
            );
            let id = s
                .add_plan(2, 3, None, 7, "first", "{}", "{}", "{}")
                .unwrap();
            s.add_assignment(id, 1, "{}", "{\"towns\":[]}").unwrap();
        }
        let s = Store::open(&path.into()).unwrap();
        let (info, content) = s.latest_dataset(DatasetKind::Households).unwrap().unwrap();
        assert_eq!((info.version, content.as_slice()), (2, b"{ }".as_slice()));
        assert_eq!(s.plans().unwrap()[0].grids, 7);
        assert!(s.latest_assignment(1).unwrap().is_some());
    }
}
