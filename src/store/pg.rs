//! The PostgreSQL + PostGIS store: the same datasets, plans and assignments as the SQLite file, and each
//! plan's grids as rows with a `geometry(MultiPolygon,4326)` column. The view `current_grids` holds the
//! newest plan's grids with their public figures only, for QGIS and GDAL
//! (`ogrinfo PG:"host=… dbname=…" current_grids`).
//!
//! The schema is a list of numbered migrations, applied at open under an advisory lock (so servers
//! starting together apply each once) and recorded in `gridplan_migrations`. Writers take a
//! transaction-scoped advisory lock, so versions are numbered and the data in force compared without
//! races; a write is acknowledged after `COMMIT` returns (synchronous commit, PostgreSQL's default).

use super::{DatasetInfo, DatasetKind, Latest, PlanInfo, StoreError, Write, WriteError, Written};
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
];

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
            Done(Vec<i64>, Option<i64>),
        }
        let outcome = self.with("write", |c| {
            let mut tx = c.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
            let mut latest = latest_in(&mut tx)?;
            // Workers do not change what households, boundaries and rules mean together.
            if let Some(expected) = w.expected
                && (expected.households, expected.boundaries, expected.rules)
                    != (latest.households, latest.boundaries, latest.rules)
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
            tx.commit()?;
            Ok(Outcome::Done(ids, plan_id))
        })?;
        let (ids, plan) = match outcome {
            Outcome::Conflict => return Err(WriteError::Conflict),
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
