//! The PostgreSQL + PostGIS store: the same datasets, plans and assignments as the SQLite file, and each
//! plan's grids as rows with a `geometry(MultiPolygon,4326)` column. The view `current_grids` holds the
//! newest plan's grids with their public figures only, for QGIS and GDAL
//! (`ogrinfo PG:"host=… dbname=…" current_grids`).
//!
//! The schema is a list of numbered migrations, applied at open under an advisory lock (so servers
//! starting together apply each once) and recorded in `gridplan_migrations`. Writers take a
//! transaction-scoped advisory lock, so versions are numbered and the data in force compared without
//! races; a write is acknowledged after `COMMIT` returns (synchronous commit, PostgreSQL's default).

use super::{
    DatasetInfo, DatasetKind, Head, JobInfo, JobKind, JobState, Latest, Lease, PlanInfo,
    StoreError, Ticket, Write, WriteError, Written,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient, NoTls, Row};
use std::cell::RefCell;

/// Key of the advisory lock migrations are applied under.
const MIGRATION_LOCK: i64 = 0x6772_6964_706c_616e; // "gridplan"
/// Key of the advisory lock every write holds until it commits.
const WRITE_LOCK: i64 = 0x6772_6964_7772_6974; // "gridwrit"

/// The schema, one migration per entry, applied in order; never edit one that has shipped, add another.
const MIGRATIONS: &[&str] = &[
    // 1: the tables of the SQLite store, the plans' grids with their geometry, and the public view.
    r#"
    CREATE EXTENSION IF NOT EXISTS postgis;
    CREATE TABLE datasets (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('households', 'boundaries', 'workers', 'rules')),
        version BIGINT NOT NULL,
        created TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        filename TEXT NOT NULL,
        content BYTEA NOT NULL,
        UNIQUE (kind, version)
    );
    CREATE TABLE plans (
        id BIGSERIAL PRIMARY KEY,
        created TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        households BIGINT NOT NULL REFERENCES datasets(id),
        boundaries BIGINT NOT NULL REFERENCES datasets(id),
        rules BIGINT REFERENCES datasets(id),
        grid_count BIGINT NOT NULL,
        note TEXT NOT NULL,
        grids TEXT NOT NULL,
        communities TEXT NOT NULL,
        report TEXT NOT NULL
    );
    CREATE TABLE assignments (
        id BIGSERIAL PRIMARY KEY,
        created TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        plan BIGINT NOT NULL REFERENCES plans(id),
        workers BIGINT NOT NULL REFERENCES datasets(id),
        assignment TEXT NOT NULL,
        staffing TEXT NOT NULL
    );
    CREATE INDEX assignments_plan ON assignments (plan, id);
    -- The published grids of every plan (their public GeoJSON, one row a grid).
    CREATE TABLE plan_grids (
        plan BIGINT NOT NULL REFERENCES plans(id),
        grid_id TEXT NOT NULL,
        community TEXT,
        kind TEXT,
        households BIGINT,
        population BIGINT,
        buildings BIGINT,
        status TEXT,
        area_m2 DOUBLE PRECISION,
        compactness DOUBLE PRECISION,
        geom geometry(MultiPolygon, 4326) NOT NULL,
        PRIMARY KEY (plan, grid_id)
    );
    CREATE INDEX plan_grids_geom ON plan_grids USING GIST (geom);
    -- The newest plan's grids: aggregates per grid only, as the open OGC API serves them.
    CREATE VIEW current_grids AS
        SELECT g.plan, g.grid_id, g.community, g.kind, g.households, g.population, g.buildings,
               g.status, g.area_m2, g.compactness, g.geom
        FROM plan_grids g
        WHERE g.plan = (SELECT max(id) FROM plans);
    "#,
    // 2: durable planning jobs held under leases; who holds each grid (the public columns of an
    // assignment); the view with the current plan's workers.
    r#"
    CREATE TABLE jobs (
        id BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('plan', 'boundaries')),
        request TEXT NOT NULL,
        body BYTEA NOT NULL,
        state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
        owner TEXT NOT NULL,
        attempt BIGINT NOT NULL DEFAULT 1,
        lease_until TIMESTAMPTZ NOT NULL,
        created TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
        finished TEXT,
        plan BIGINT REFERENCES plans(id),
        result TEXT,
        error TEXT
    );
    CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
    -- One row a grid of each assignment: who holds it (no workload: it is a function of the
    -- sensitive counts).
    CREATE TABLE assignment_grids (
        assignment BIGINT NOT NULL REFERENCES assignments(id),
        grid_id TEXT NOT NULL,
        town TEXT,
        primary_worker TEXT,
        cadre_responsible BOOLEAN,
        staffing_policy TEXT,
        PRIMARY KEY (assignment, grid_id)
    );
    DROP VIEW current_grids;
    -- The newest plan's grids with who holds them (its newest assignment): the public columns of the
    -- open OGC API's grids, nothing per household and nothing derived from the sensitive counts.
    CREATE VIEW current_grids AS
        SELECT g.plan, g.grid_id, g.community, g.kind, g.households, g.population, g.buildings,
               g.status, g.area_m2, g.compactness, w.town, w.primary_worker, w.cadre_responsible,
               w.staffing_policy, g.geom
        FROM plan_grids g
        LEFT JOIN assignment_grids w
               ON w.grid_id = g.grid_id
              AND w.assignment = (SELECT max(a.id) FROM assignments a WHERE a.plan = g.plan)
        WHERE g.plan = (SELECT max(id) FROM plans);
    "#,
    // 3: ground layers (street blocks and barriers) are datasets too.
    r#"
    ALTER TABLE datasets DROP CONSTRAINT IF EXISTS datasets_kind_check;
    ALTER TABLE datasets ADD CONSTRAINT datasets_kind_check
        CHECK (kind IN ('households', 'boundaries', 'workers', 'rules', 'blocks', 'barriers'));
    "#,
];

/// Key of the session lock a server holds while it loads its data and makes the first plan at start.
pub const START_LOCK: i64 = 0x6772_6964_7374_7274; // "gridstrt"

/// The channel every write notifies on commit, so that every server publishes what another wrote.
const CHANGES: &str = "gridplan_changes";

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    // postgres://user:password@host…: the password sits between the first ':' after the scheme and '@'.
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &rest[..colon],
            &rest[at..]
        ),
        None => url.to_string(),
    }
}

/// One connection to the PostgreSQL database.
pub struct PgStore {
    /// `None` only while dropping.
    client: RefCell<Option<Client>>,
    /// Whether this connection has asked for the writers' notifications.
    listening: bool,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // The synchronous client owns a small runtime of its own, which must not be dropped on a thread
        // that runs asynchronous tasks: there it is dropped on a thread of its own.
        if let Some(client) = self.client.get_mut().take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            let _ = std::thread::Builder::new()
                .name("gridplan-pg-close".into())
                .spawn(move || drop(client));
        }
    }
}

fn pg<T>(what: &str, r: Result<T, postgres::Error>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::new(what, with_causes(&e)))
}

/// The error with its causes (the driver's own message leaves out, say, "connection refused").
fn with_causes(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        source = cause.source();
    }
    text
}

fn dataset_of(r: &Row) -> DatasetInfo {
    let kind: String = r.get(1);
    DatasetInfo {
        id: r.get(0),
        kind: DatasetKind::parse(&kind).unwrap_or(DatasetKind::Rules),
        version: r.get(2),
        created: r.get(3),
        bytes: r.get(4),
        filename: r.get(5),
    }
}

const DATASET_COLUMNS: &str = "id, kind, version, created, octet_length(content)::bigint, filename";

impl PgStore {
    /// Connects and applies the migrations the database lacks.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let what = format!("connect to {}", redact(url));
        let config: postgres::Config = url.parse().map_err(|e| StoreError::new(&what, e))?;
        let mut client = pg(&what, config.connect(NoTls))?;
        migrate(&mut client)?;
        Ok(PgStore {
            client: RefCell::new(Some(client)),
            listening: false,
        })
    }

    fn with<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut guard = self.client.borrow_mut();
        let Some(client) = guard.as_mut() else {
            return Err(StoreError::new(what, "the connection is closed"));
        };
        pg(what, f(client))
    }

    /// The migrations applied so far (the highest number).
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        self.with("read schema version", |c| {
            Ok(c.query_one(
                "SELECT COALESCE(max(version), 0) FROM gridplan_migrations",
                &[],
            )?
            .get(0))
        })
    }

    pub fn add_dataset(
        &mut self,
        kind: DatasetKind,
        filename: &str,
        content: &[u8],
    ) -> Result<DatasetInfo, StoreError> {
        let id = self.with("insert dataset", |c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
            let id = insert_dataset(&mut tx, kind, filename, content)?;
            notify(&mut tx, "dataset")?;
            tx.commit()?;
            Ok(id)
        })?;
        self.dataset_info(id)?
            .ok_or_else(|| StoreError::new("read the dataset just written", "it is not there"))
    }

    fn dataset_info(&self, id: i64) -> Result<Option<DatasetInfo>, StoreError> {
        self.with("read dataset", |c| {
            Ok(c.query_opt(
                &format!("SELECT {DATASET_COLUMNS} FROM datasets WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(dataset_of))
        })
    }

    pub fn latest_dataset(
        &self,
        kind: DatasetKind,
    ) -> Result<Option<(DatasetInfo, Vec<u8>)>, StoreError> {
        self.with("read latest dataset", |c| {
            Ok(c.query_opt(
                &format!(
                    "SELECT {DATASET_COLUMNS}, content FROM datasets WHERE kind = $1 ORDER BY version DESC LIMIT 1"
                ),
                &[&kind.name()],
            )?
            .map(|r| (dataset_of(&r), r.get(6))))
        })
    }

    pub fn dataset_content(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.with("read dataset content", |c| {
            Ok(
                c.query_opt("SELECT content FROM datasets WHERE id = $1", &[&id])?
                    .map(|r| r.get(0)),
            )
        })
    }

    pub fn datasets(&self) -> Result<Vec<DatasetInfo>, StoreError> {
        self.with("list datasets", |c| {
            Ok(c.query(
                &format!("SELECT {DATASET_COLUMNS} FROM datasets ORDER BY id DESC"),
                &[],
            )?
            .iter()
            .map(dataset_of)
            .collect())
        })
    }

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
        self.with("insert plan", |c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
            let id = insert_plan(
                &mut tx,
                [households, boundaries],
                rules,
                grid_count,
                note,
                grids,
                communities,
                report,
            )?;
            notify(&mut tx, "plan")?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn plans(&self) -> Result<Vec<PlanInfo>, StoreError> {
        self.with("list plans", |c| {
            Ok(c.query(
                "SELECT id, created, households, boundaries, rules, grid_count, note FROM plans ORDER BY id DESC",
                &[],
            )?
            .iter()
            .map(|r| PlanInfo {
                id: r.get(0),
                created: r.get(1),
                households: r.get(2),
                boundaries: r.get(3),
                rules: r.get(4),
                grids: r.get(5),
                note: r.get(6),
            })
            .collect())
        })
    }

    pub fn plan_outputs(&self, id: i64) -> Result<Option<(String, String, String)>, StoreError> {
        self.with("read plan", |c| {
            Ok(c.query_opt(
                "SELECT grids, communities, report FROM plans WHERE id = $1",
                &[&id],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    pub fn add_assignment(
        &mut self,
        plan: i64,
        workers: i64,
        assignment: &str,
        staffing: &str,
    ) -> Result<i64, StoreError> {
        self.with("insert assignment", |c| {
            let mut tx = c.transaction()?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO assignments (plan, workers, assignment, staffing) VALUES ($1, $2, $3, $4) RETURNING id",
                    &[&plan, &workers, &assignment, &staffing],
                )?
                .get(0);
            // Only the public keys of the assignment's features (not the planner's workload).
            tx.execute(
                "INSERT INTO assignment_grids (assignment, grid_id, town, primary_worker, cadre_responsible, staffing_policy)
                 SELECT $1, f->'properties'->>'id', f->'properties'->>'town',
                        f->'properties'->>'primary_worker',
                        CASE WHEN jsonb_typeof(f->'properties'->'cadre_responsible') = 'boolean'
                             THEN (f->'properties'->>'cadre_responsible')::boolean END,
                        f->'properties'->>'staffing_policy'
                 FROM jsonb_array_elements(
                          CASE WHEN jsonb_typeof($2::text::jsonb->'features') = 'array'
                               THEN $2::text::jsonb->'features' ELSE '[]'::jsonb END) AS t(f)
                 WHERE f->'properties'->>'id' IS NOT NULL
                 ON CONFLICT (assignment, grid_id) DO NOTHING",
                &[&id, &assignment],
            )?;
            notify(&mut tx, "assignment")?;
            tx.commit()?;
            Ok(id)
        })
    }

    pub fn latest_assignment(
        &self,
        plan: i64,
    ) -> Result<Option<(i64, String, String)>, StoreError> {
        self.with("read assignment", |c| {
            Ok(c.query_opt(
                "SELECT id, assignment, staffing FROM assignments WHERE plan = $1 ORDER BY id DESC LIMIT 1",
                &[&plan],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    pub fn assignment(&self, id: i64) -> Result<Option<(i64, String, String)>, StoreError> {
        self.with("read assignment", |c| {
            Ok(c.query_opt(
                "SELECT plan, assignment, staffing FROM assignments WHERE id = $1",
                &[&id],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    pub fn latest(&self) -> Result<Latest, StoreError> {
        self.with("read latest ids", latest_in)
    }

    pub fn write(&mut self, w: Write) -> Result<Written, WriteError> {
        enum Outcome {
            Conflict,
            JobLost,
            Done(Vec<i64>, Option<i64>),
        }
        let outcome = self.with("write", |c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
            let mut latest = latest_in(&mut tx)?;
            // Workers do not change what households, boundaries and rules mean together.
            if let Some(expected) = w.expected
                && expected.plan_inputs() != latest.plan_inputs()
            {
                return Ok(Outcome::Conflict);
            }
            let mut ids = Vec::new();
            for (kind, filename, content) in &w.datasets {
                let id = insert_dataset(&mut tx, *kind, filename, content)?;
                latest.set(*kind, id);
                ids.push(id);
            }
            let mut plan_id = None;
            if let Some(p) = &w.plan {
                let (Some(h), Some(b)) = (latest.households, latest.boundaries) else {
                    return Ok(Outcome::Conflict);
                };
                plan_id = Some(insert_plan(
                    &mut tx,
                    [h, b],
                    latest.rules,
                    p.grid_count,
                    &p.note,
                    &p.grids,
                    &p.communities,
                    &p.report,
                )?);
            }
            if let Some(f) = &w.job {
                // The fence: the job must still be this server's at this attempt. A server taking it
                // over holds its row locked until it commits; this then sees the new owner.
                let n = tx.execute(
                    "UPDATE jobs SET state = 'done', body = ''::bytea, plan = $1, result = $2,
                            finished = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                     WHERE id = $3 AND owner = $4 AND attempt = $5 AND state = 'running'",
                    &[&plan_id, &f.result, &f.lease.job, &f.lease.owner, &f.lease.attempt],
                )?;
                if n == 0 {
                    return Ok(Outcome::JobLost);
                }
            }
            notify(&mut tx, "write")?;
            tx.commit()?;
            Ok(Outcome::Done(ids, plan_id))
        })?;
        let (ids, plan) = match outcome {
            Outcome::Conflict => return Err(WriteError::Conflict),
            Outcome::JobLost => return Err(WriteError::JobLost),
            Outcome::Done(ids, plan) => (ids, plan),
        };
        let mut datasets = Vec::new();
        for id in ids {
            datasets.extend(self.dataset_info(id)?);
        }
        Ok(Written { datasets, plan })
    }

    pub fn plan_inputs(&self, id: i64) -> Result<Option<(i64, i64, Option<i64>)>, StoreError> {
        self.with("read plan inputs", |c| {
            Ok(c.query_opt(
                "SELECT households, boundaries, rules FROM plans WHERE id = $1",
                &[&id],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2))))
        })
    }

    /// PostgreSQL checks its own pages; this says the connection answers and the schema is current.
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        let version = self.schema_version()?;
        Ok(if version == MIGRATIONS.len() as i32 {
            "ok".to_string()
        } else {
            format!(
                "schema version {version}, this build expects {}",
                MIGRATIONS.len()
            )
        })
    }
}

const JOB_COLUMNS: &str = "id, kind, state, owner, attempt, created, finished, plan, result, error";

fn job_of(r: &Row) -> JobInfo {
    let kind: String = r.get(1);
    let state: String = r.get(2);
    JobInfo {
        id: r.get(0),
        kind: JobKind::parse(&kind).unwrap_or(JobKind::Plan),
        state: JobState::parse(&state),
        owner: r.get(3),
        attempt: r.get(4),
        created: r.get(5),
        finished: r.get(6),
        plan: r.get(7),
        result: r.get(8),
        error: r.get(9),
    }
}

/// Announces a change to every listening server, delivered when the transaction commits.
fn notify(tx: &mut impl GenericClient, what: &str) -> Result<(), postgres::Error> {
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANGES, &what])?;
    Ok(())
}

impl PgStore {
    /// Takes (`true`) or lets go of a session-level advisory lock, waiting for it.
    pub fn advisory_lock(&mut self, key: i64, take: bool) -> Result<(), StoreError> {
        let sql = if take {
            "SELECT pg_advisory_lock($1)"
        } else {
            "SELECT pg_advisory_unlock($1)"
        };
        self.with("start-up lock", |c| c.execute(sql, &[&key]).map(|_| ()))
    }

    pub fn submit_job(
        &mut self,
        kind: JobKind,
        request: &str,
        body: &[u8],
        owner: &str,
        lease_s: f64,
    ) -> Result<Lease, StoreError> {
        let job: i64 = self.with("insert job", |c| {
            Ok(c.query_one(
                "INSERT INTO jobs (kind, request, body, owner, lease_until)
                 VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING id",
                &[&kind.name(), &request, &body, &owner, &lease_s],
            )?
            .get(0))
        })?;
        Ok(Lease {
            job,
            owner: owner.to_string(),
            attempt: 1,
        })
    }

    pub fn renew_leases(&mut self, owner: &str, lease_s: f64) -> Result<u64, StoreError> {
        self.with("renew leases", |c| {
            c.execute(
                "UPDATE jobs SET lease_until = now() + make_interval(secs => $2)
                 WHERE owner = $1 AND state = 'running'",
                &[&owner, &lease_s],
            )
        })
    }

    pub fn take_lapsed_job(
        &mut self,
        owner: &str,
        lease_s: f64,
    ) -> Result<Option<Ticket>, StoreError> {
        // The row is locked from the SELECT to the commit, and rows another server is taking are
        // skipped, so no two servers take the same job.
        let row = self.with("take a lapsed job", |c| {
            c.query_opt(
                "UPDATE jobs SET owner = $1, attempt = attempt + 1,
                                 lease_until = now() + make_interval(secs => $2)
                 WHERE id = (SELECT id FROM jobs WHERE state = 'running' AND lease_until < now()
                             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                 RETURNING id, kind, request, body, attempt",
                &[&owner, &lease_s],
            )
        })?;
        let Some(r) = row else { return Ok(None) };
        let (id, kind): (i64, String) = (r.get(0), r.get(1));
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
                attempt: r.get(4),
            },
            kind,
            request: r.get(2),
            body: r.get(3),
        }))
    }

    pub fn fail_job(&mut self, lease: &Lease, error: &str) -> Result<bool, StoreError> {
        let n = self.with("fail job", |c| {
            c.execute(
                "UPDATE jobs SET state = 'failed', body = ''::bytea, error = $1,
                        finished = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                 WHERE id = $2 AND owner = $3 AND attempt = $4 AND state = 'running'",
                &[&error, &lease.job, &lease.owner, &lease.attempt],
            )
        })?;
        Ok(n == 1)
    }

    pub fn job(&self, id: i64) -> Result<Option<JobInfo>, StoreError> {
        self.with("read job", |c| {
            Ok(c.query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(job_of))
        })
    }

    pub fn jobs(&self, limit: i64) -> Result<Vec<JobInfo>, StoreError> {
        self.with("list jobs", |c| {
            Ok(c.query(
                &format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC LIMIT $1"),
                &[&limit],
            )?
            .iter()
            .map(job_of)
            .collect())
        })
    }

    pub fn head(&self) -> Result<Head, StoreError> {
        self.with("read head", |c| {
            let latest = latest_in(c)?;
            let r = c.query_one(
                "SELECT p.id, (SELECT max(a.id) FROM assignments a WHERE a.plan = p.id)
                 FROM (SELECT max(id) AS id FROM plans) p",
                &[],
            )?;
            Ok(Head {
                latest,
                plan: r.get(0),
                assignment: r.get(1),
            })
        })
    }

    /// Waits up to `timeout` for a writer's notification (listening first, once per connection).
    pub fn wait_for_change(&mut self, timeout: std::time::Duration) -> Result<bool, StoreError> {
        if !self.listening {
            self.with("listen for changes", |c| {
                c.batch_execute(&format!("LISTEN {CHANGES}"))
            })?;
            self.listening = true;
        }
        self.with("wait for changes", |c| {
            let mut notes = c.notifications();
            let mut got = false;
            let mut waiting = notes.timeout_iter(timeout);
            if waiting.next()?.is_some() {
                got = true;
            }
            drop(waiting);
            // Several writes in a row are one change to the reader.
            let mut pending = notes.iter();
            while pending.next()?.is_some() {}
            Ok(got)
        })
    }
}

/// Applies the migrations the database lacks, each in the transaction that records it.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    pg(
        "apply migrations",
        (|| {
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS gridplan_migrations (
                 version INTEGER PRIMARY KEY,
                 applied TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
            )?;
            let done: i32 = tx
                .query_one(
                    "SELECT COALESCE(max(version), 0) FROM gridplan_migrations",
                    &[],
                )?
                .get(0);
            for (i, sql) in MIGRATIONS.iter().enumerate() {
                let version = i as i32 + 1;
                if version <= done {
                    continue;
                }
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO gridplan_migrations (version) VALUES ($1)",
                    &[&version],
                )?;
            }
            tx.commit()
        })(),
    )?;
    Ok(())
}

fn latest_in(c: &mut impl GenericClient) -> Result<Latest, postgres::Error> {
    let mut out = Latest::default();
    for row in c.query(
        "SELECT DISTINCT ON (kind) kind, id FROM datasets ORDER BY kind, version DESC",
        &[],
    )? {
        let kind: String = row.get(0);
        if let Some(kind) = DatasetKind::parse(&kind) {
            out.set(kind, row.get(1));
        }
    }
    Ok(out)
}

/// Inserts the next version of a dataset inside the caller's transaction (which holds the write lock).
fn insert_dataset(
    tx: &mut impl GenericClient,
    kind: DatasetKind,
    filename: &str,
    content: &[u8],
) -> Result<i64, postgres::Error> {
    Ok(tx
        .query_one(
            "INSERT INTO datasets (kind, version, filename, content)
             SELECT $1::text, COALESCE(max(version), 0) + 1, $2::text, $3::bytea FROM datasets WHERE kind = $1::text
             RETURNING id",
            &[&kind.name(), &filename, &content],
        )?
        .get(0))
}

/// Inserts a plan and its grids (one row each, from its public GeoJSON) inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
fn insert_plan(
    tx: &mut impl GenericClient,
    [households, boundaries]: [i64; 2],
    rules: Option<i64>,
    grid_count: usize,
    note: &str,
    grids: &str,
    communities: &str,
    report: &str,
) -> Result<i64, postgres::Error> {
    let grid_count = grid_count as i64;
    let id: i64 = tx
        .query_one(
            "INSERT INTO plans (households, boundaries, rules, grid_count, note, grids, communities, report)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[&households, &boundaries, &rules, &grid_count, &note, &grids, &communities, &report],
        )?
        .get(0);
    // Numbers are read only when they are numbers, so an odd value leaves a column empty rather than
    // failing the plan; features without an areal geometry are left out.
    tx.execute(
        "INSERT INTO plan_grids (plan, grid_id, community, kind, households, population, buildings,
                                 status, area_m2, compactness, geom)
         SELECT $1,
                COALESCE(f->'properties'->>'id', f->>'id', 'feature ' || n),
                f->'properties'->>'community',
                f->'properties'->>'kind',
                CASE WHEN jsonb_typeof(f->'properties'->'households') = 'number'
                     THEN (f->'properties'->>'households')::numeric::bigint END,
                CASE WHEN jsonb_typeof(f->'properties'->'population') = 'number'
                     THEN (f->'properties'->>'population')::numeric::bigint END,
                CASE WHEN jsonb_typeof(f->'properties'->'buildings') = 'number'
                     THEN (f->'properties'->>'buildings')::numeric::bigint END,
                f->'properties'->>'status',
                CASE WHEN jsonb_typeof(f->'properties'->'area_m2') = 'number'
                     THEN (f->'properties'->>'area_m2')::double precision END,
                CASE WHEN jsonb_typeof(f->'properties'->'compactness') = 'number'
                     THEN (f->'properties'->>'compactness')::double precision END,
                ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->'geometry'), 4326))
         FROM jsonb_array_elements(
                  CASE WHEN jsonb_typeof($2::text::jsonb->'features') = 'array'
                       THEN $2::text::jsonb->'features' ELSE '[]'::jsonb END
              ) WITH ORDINALITY AS t(f, n)
         WHERE f->'geometry'->>'type' IN ('Polygon', 'MultiPolygon')
         ON CONFLICT (plan, grid_id) DO NOTHING",
        &[&id, &grids],
    )?;
    Ok(id)
}
