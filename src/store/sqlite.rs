//! The SQLite backend: one file, write-ahead log with `synchronous = FULL`, every write one
//! transaction.

use super::*;
use rusqlite::{Connection, OptionalExtension, params};

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
                 );
                 CREATE TABLE IF NOT EXISTS jobs (
                     id INTEGER PRIMARY KEY AUTOINCREMENT,
                     kind TEXT NOT NULL,
                     request TEXT NOT NULL,
                     body BLOB NOT NULL,
                     state TEXT NOT NULL DEFAULT 'running',
                     owner TEXT NOT NULL,
                     attempt INTEGER NOT NULL DEFAULT 1,
                     lease_until REAL NOT NULL,
                     created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
                     finished TEXT,
                     plan INTEGER REFERENCES plans(id),
                     result TEXT,
                     error TEXT
                 );
                 CREATE INDEX IF NOT EXISTS jobs_running ON jobs (state, lease_until);",
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
            && expected.plan_inputs() != latest.plan_inputs()
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
        if let Some(f) = &w.job {
            let n = ctx(
                "finish job",
                tx.execute(
                    &format!(
                        "UPDATE jobs SET state = 'done', body = x'', plan = ?1, result = ?2, finished = {NOW_TEXT}
                         WHERE id = ?3 AND owner = ?4 AND attempt = ?5 AND state = 'running'"
                    ),
                    params![plan_id, f.result, f.lease.job, f.lease.owner, f.lease.attempt],
                ),
            )?;
            if n == 0 {
                return Err(WriteError::JobLost);
            }
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
    for kind in DatasetKind::ALL {
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

/// Now, as SQLite writes the other timestamps.
const NOW_TEXT: &str = "strftime('%Y-%m-%dT%H:%M:%SZ','now')";
/// Now in seconds since 1970 (fractional), for leases.
const NOW_S: &str = "((julianday('now') - 2440587.5) * 86400.0)";
const JOB_COLUMNS: &str = "id, kind, state, owner, attempt, created, finished, plan, result, error";

fn job_of(r: &rusqlite::Row) -> rusqlite::Result<JobInfo> {
    let kind: String = r.get(1)?;
    let state: String = r.get(2)?;
    Ok(JobInfo {
        id: r.get(0)?,
        kind: JobKind::parse(&kind).unwrap_or(JobKind::Plan),
        state: JobState::parse(&state),
        owner: r.get(3)?,
        attempt: r.get(4)?,
        created: r.get(5)?,
        finished: r.get(6)?,
        plan: r.get(7)?,
        result: r.get(8)?,
        error: r.get(9)?,
    })
}

impl Sqlite {
    pub fn submit_job(
        &mut self,
        kind: JobKind,
        request: &str,
        body: &[u8],
        owner: &str,
        lease_s: f64,
    ) -> Result<Lease, StoreError> {
        let tx = ctx(
            "begin",
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
        )?;
        ctx(
            "insert job",
            tx.execute(
                &format!(
                    "INSERT INTO jobs (kind, request, body, owner, lease_until)
                     VALUES (?1, ?2, ?3, ?4, {NOW_S} + ?5)"
                ),
                params![kind.name(), request, body, owner, lease_s],
            ),
        )?;
        let job = tx.last_insert_rowid();
        ctx("commit", tx.commit())?;
        Ok(Lease {
            job,
            owner: owner.to_string(),
            attempt: 1,
        })
    }

    pub fn renew_leases(&mut self, owner: &str, lease_s: f64) -> Result<u64, StoreError> {
        let n = ctx(
            "renew leases",
            self.conn.execute(
                &format!(
                    "UPDATE jobs SET lease_until = {NOW_S} + ?2 WHERE owner = ?1 AND state = 'running'"
                ),
                params![owner, lease_s],
            ),
        )?;
        Ok(n as u64)
    }

    pub fn take_lapsed_job(
        &mut self,
        owner: &str,
        lease_s: f64,
    ) -> Result<Option<Ticket>, StoreError> {
        // One writer at a time (BEGIN IMMEDIATE): the read and the take are one step.
        let tx = ctx(
            "begin",
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
        )?;
        let row: Option<(i64, String, String, Vec<u8>, i64)> = ctx(
            "find a lapsed job",
            tx.query_row(
                &format!(
                    "SELECT id, kind, request, body, attempt FROM jobs
                     WHERE state = 'running' AND lease_until < {NOW_S} ORDER BY id LIMIT 1"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional(),
        )?;
        let Some((id, kind, request, body, attempt)) = row else {
            return Ok(None);
        };
        ctx(
            "take a lapsed job",
            tx.execute(
                &format!(
                    "UPDATE jobs SET owner = ?2, attempt = ?3, lease_until = {NOW_S} + ?4 WHERE id = ?1"
                ),
                params![id, owner, attempt + 1, lease_s],
            ),
        )?;
        ctx("commit", tx.commit())?;
        let Some(kind) = JobKind::parse(&kind) else {
            return Err(StoreError::new(
                "take a lapsed job",
                format!("job {id} has an unknown kind \"{kind}\""),
            ));
        };
        Ok(Some(Ticket {
            lease: Lease {
                job: id,
                owner: owner.to_string(),
                attempt: attempt + 1,
            },
            kind,
            request,
            body,
        }))
    }

    pub fn fail_job(&mut self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        let n = ctx(
            "fail job",
            self.conn.execute(
                &format!(
                    "UPDATE jobs SET state = 'failed', body = x'', error = ?1, finished = {NOW_TEXT}
                     WHERE id = ?2 AND owner = ?3 AND attempt = ?4 AND state = 'running'"
                ),
                params![error, lease.job, lease.owner, lease.attempt],
            ),
        )?;
        Ok(n == 1)
    }

    pub fn job(&self, id: i64) -> Result<Option<JobInfo>, StoreError> {
        ctx(
            "read job",
            self.conn
                .query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                    params![id],
                    job_of,
                )
                .optional(),
        )
    }

    pub fn jobs(&self, limit: i64) -> Result<Vec<JobInfo>, StoreError> {
        let mut stmt = ctx(
            "list jobs",
            self.conn.prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT ?1"
            )),
        )?;
        ctx(
            "list jobs",
            stmt.query_map(params![limit], job_of)
                .and_then(|rows| rows.collect()),
        )
    }

    pub fn head(&self) -> Result<Head, StoreError> {
        let latest = latest_in(&self.conn)?;
        let (plan, assignment) = ctx(
            "read head",
            self.conn.query_row(
                "SELECT p.id, (SELECT max(a.id) FROM assignments a WHERE a.plan = p.id)
                 FROM (SELECT max(id) AS id FROM plans) p",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            ),
        )?;
        Ok(Head {
            latest,
            plan,
            assignment,
        })
    }
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
