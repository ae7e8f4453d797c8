//! The HTTP service: OGC API – Features (Part 1 Core, GeoJSON, OpenAPI 3.0) at the root, the planning
//! API under `/api`, the map page for browsers, state in SQLite. `router` builds the whole application
//! in-process (tests call it with `tower::ServiceExt::oneshot`); `serve` runs it on a socket.

pub mod api;
pub mod auth;
pub mod crs;
pub mod disclosure;
pub mod error;
pub mod map;
pub mod ogc;
pub mod openapi;
pub mod planning;
pub mod public;
pub mod published;

pub mod guard;
pub mod jobs;
pub mod limits;

use crate::store::{DatasetKind, Location, Store, Write};
use auth::Tokens;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use error::AppError;
pub use limits::Limits;
use planning::Inputs;
use published::Published;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// A directory of `households.geojson`, `boundaries.geojson`, optionally `workers.geojson` (or
    /// `.csv`), `rules.toml`, `blocks.geojson` and `barriers.geojson`, loaded when the database holds
    /// no datasets yet.
    pub data: Option<PathBuf>,
    /// The SQLite file, or a PostgreSQL database with PostGIS (`postgres://…`).
    pub db: Location,
    pub tokens: Tokens,
    /// Optional base-map tile URL template for the map page (`https://…/{z}/{x}/{y}.png`).
    pub tiles: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
    /// Connections, timeouts and concurrent expensive jobs.
    pub limits: Limits,
}

/// Largest request body by default, in MiB: a district's households file (tens of MB) fits; a county's
/// may need `--max-body-mb`.
pub const DEFAULT_MAX_BODY_MB: usize = 64;
/// Largest request body by default, in bytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = DEFAULT_MAX_BODY_MB * 1024 * 1024;
/// Longest a request may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// Connections to the database, one per blocking task that needs one. SQLite in write-ahead-log mode
/// (and PostgreSQL) lets readers go on while a writer commits; no connection is shared between threads,
/// and none is held while a plan is computed.
pub struct Db {
    at: Location,
    idle: Mutex<Vec<Store>>,
}

/// Idle connections kept for reuse.
const IDLE_CONNECTIONS: usize = 4;

/// A connection borrowed from [`Db`]; it goes back when dropped.
pub struct Conn<'a> {
    db: &'a Db,
    store: Option<Store>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        // Always `Some` until dropped.
        self.store.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.store.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let (Some(store), Ok(mut idle)) = (self.store.take(), self.db.idle.lock())
            && idle.len() < IDLE_CONNECTIONS
        {
            idle.push(store);
        }
    }
}

impl Db {
    pub fn new(at: &Location, first: Store) -> Db {
        Db {
            at: at.clone(),
            idle: Mutex::new(vec![first]),
        }
    }

    /// Where the database is.
    pub fn location(&self) -> &Location {
        &self.at
    }

    /// A connection: an idle one, or a new one. Blocking (call it on the blocking pool).
    pub fn conn(&self) -> Result<Conn<'_>, AppError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let store = match idle {
            Some(s) => s,
            None => Store::open(&self.at)?,
        };
        Ok(Conn {
            db: self,
            store: Some(store),
        })
    }
}

/// The state every handler shares.
pub struct AppState {
    pub db: Db,
    pub inputs: RwLock<Option<Arc<Inputs>>>,
    pub published: RwLock<Arc<Published>>,
    pub tokens: Tokens,
    pub tiles: Option<String>,
    /// One writing job at a time (uploads, plans, assignments): they validate against the data in force
    /// and write new versions. Reads, checks and diffs do not wait for it.
    pub work: tokio::sync::Mutex<()>,
    /// Concurrency limits of the expensive routes.
    pub lanes: limits::Lanes,
    /// This server's name in the jobs it holds (unique per process start).
    pub server: String,
    /// How long a job stays this server's without a renewal ([`Limits::job_lease`]).
    pub job_lease: Duration,
    /// Called by a plan job once its inputs are read and before it computes (tests hold a plan there
    /// to prove that reads go on meanwhile). It runs the way the plan computes: while it runs, every
    /// thread of the jobs' pool ([`AppState::in_jobs_pool`]) is held.
    pub plan_hook: Mutex<Option<Arc<dyn Fn() + Send + Sync>>>,
    /// The threads the writing jobs (plans, uploads, assignments) compute on. Checks, diffs and the
    /// sensitive counts compute on the process's shared pool: a plan that keeps every thread of its
    /// own pool busy for minutes leaves those free, so they answer while it runs (they share the
    /// cores, not a queue).
    jobs_pool: rayon::ThreadPool,
    /// The public texts of the ground layers in force, by (boundaries, blocks, barriers) dataset ids:
    /// written once per version, not at every publication.
    ground_texts: Mutex<Option<GroundTexts>>,
}

/// The public blocks and barriers texts of one version of the ground layers.
type GroundTexts = ((i64, Option<i64>, Option<i64>), Arc<(String, String)>);

impl AppState {
    pub fn published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn inputs(&self) -> Option<Arc<Inputs>> {
        match self.inputs.read() {
            Ok(i) => i.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set_inputs(&self, inputs: Option<Inputs>) {
        match self.inputs.write() {
            Ok(mut i) => *i = inputs.map(Arc::new),
            Err(poisoned) => *poisoned.into_inner() = inputs.map(Arc::new),
        }
    }

    /// Runs `f` on a database connection of its own. Blocking: call it on the blocking pool.
    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.db.conn()?;
        f(&mut conn)
    }

    /// Runs `f` on the writing jobs' own threads: everything it computes in parallel stays on them.
    /// Blocking: call it on the blocking pool (or a thread of its own).
    pub fn in_jobs_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.jobs_pool.install(f)
    }

    /// Runs the plan hook, if any, holding every thread of the pool the plan computes on until it
    /// returns (one thread runs it, the others wait for it), as a computing plan holds them.
    pub fn plan_started(&self) {
        let hook = self.plan_hook.lock().ok().and_then(|h| h.clone());
        if let Some(h) = hook {
            let threads = rayon::current_num_threads().max(1);
            let all_here = std::sync::Barrier::new(threads);
            rayon::broadcast(|ctx| {
                if ctx.index() == 0 {
                    h();
                }
                all_here.wait();
            });
        }
    }

    /// The ground layers in force as public features (no household figures), when there are any.
    fn ground_texts(&self) -> Result<Option<Arc<(String, String)>>, AppError> {
        let Some(i) = self.inputs().filter(|i| !i.layers.is_empty()) else {
            return Ok(None);
        };
        let key = (i.boundaries, i.blocks_id, i.barriers_id);
        if let Ok(cache) = self.ground_texts.lock()
            && let Some((k, texts)) = cache.as_ref()
            && *k == key
        {
            return Ok(Some(texts.clone()));
        }
        let texts = Arc::new(crate::output::ground_geojson(i.dataset.working, &i.layers)?);
        if let Ok(mut cache) = self.ground_texts.lock() {
            *cache = Some((key, texts.clone()));
        }
        Ok(Some(texts))
    }

    /// Publishes a plan (the newest when `None`) with its newest assignment. The served state is built
    /// with no lock held and swapped in at once.
    pub fn publish(&self, plan: Option<i64>) -> Result<(), AppError> {
        let texts = self.with_store(|s| {
            let id = match plan {
                Some(id) => Some(id),
                None => s.plans()?.first().map(|p| p.id),
            };
            let Some(id) = id else {
                return Ok(None);
            };
            let Some((grids, communities, _)) = s.plan_outputs(id)? else {
                return Err(AppError::not_found(format!("no plan {id}")));
            };
            Ok(Some((id, grids, communities, s.latest_assignment(id)?)))
        })?;
        let ground = self.ground_texts()?;
        let ground = ground.as_ref().map(|t| (t.0.as_str(), t.1.as_str()));
        let published = match &texts {
            // No plan yet: the ground layers in force are served all the same.
            None => Published::build(None, "{}", "{}", None, ground),
            Some((id, grids, communities, assignment)) => Published::build(
                Some(*id),
                grids,
                communities,
                assignment
                    .as_ref()
                    .map(|(aid, text, _)| (*aid, text.as_str())),
                ground,
            ),
        };
        match self.published.write() {
            Ok(mut p) => *p = Arc::new(published),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(published),
        }
        Ok(())
    }
}

fn read_file(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, crate::Error> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    crate::input::file::read_input(&path, crate::input::file::Expect::Text).map(Some)
}

/// Opens the database, loads the data directory when the database has no datasets (validated first,
/// then written in one transaction), plans when there is no plan yet (and assigns when there are
/// workers), and publishes the newest plan. Blocking.
///
/// A database this server wrote always opens: when the newest datasets cannot be read together (a
/// database written by an older version that stored an upload it should have refused), the service
/// starts on the inputs of its newest plan, or with none, and says so on stderr.
pub fn prepare(config: &Config) -> Result<AppState, AppError> {
    prepare_on(config, Store::open(&config.db)?)
}

/// The writing jobs' threads: as many as the machine has cores.
fn jobs_pool() -> Result<rayon::ThreadPool, AppError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("gridplan-job-{i}"))
        .build()
        .map_err(AppError::internal)
}

/// [`prepare`] on a store already opened at `config.db`.
pub fn prepare_on(config: &Config, mut store: Store) -> Result<AppState, AppError> {
    // Servers starting together on one empty database load the data and plan once: the first does it,
    // the others wait and find it done. (On an error this connection closes, which lets go too.)
    store.lock_start()?;
    if let Some(dir) = &config.data
        && store.latest()?.households.is_none()
        && store.latest()?.boundaries.is_none()
    {
        let households = read_file(dir, "households.geojson")?;
        let boundaries = read_file(dir, "boundaries.geojson")?;
        let (Some(h), Some(b)) = (households, boundaries) else {
            return Err(AppError::bad_request(format!(
                "{} needs households.geojson and boundaries.geojson",
                dir.display()
            )));
        };
        let rules = read_file(dir, "rules.toml")?;
        let parsed_rules = planning::parse_rules(rules.as_deref())?;
        // Validate before storing: a bad file is refused with every problem named.
        let dataset = planning::build_dataset(b.clone(), h.clone(), &parsed_rules)?;
        // The ground layers, when the directory has them: the plans then follow them.
        let blocks = read_file(dir, "blocks.geojson")?;
        let barriers = read_file(dir, "barriers.geojson")?;
        planning::parse_layers(blocks.clone(), barriers.clone(), dataset.working)?;
        let mut write = Write::default();
        write
            .datasets
            .push((DatasetKind::Boundaries, "boundaries.geojson".into(), b));
        write
            .datasets
            .push((DatasetKind::Households, "households.geojson".into(), h));
        if let Some(r) = rules {
            write
                .datasets
                .push((DatasetKind::Rules, "rules.toml".into(), r));
        }
        if let Some(k) = blocks {
            write
                .datasets
                .push((DatasetKind::Blocks, "blocks.geojson".into(), k));
        }
        if let Some(r) = barriers {
            write
                .datasets
                .push((DatasetKind::Barriers, "barriers.geojson".into(), r));
        }
        for name in ["workers.geojson", "workers.csv"] {
            if let Some(w) = read_file(dir, name)? {
                write.datasets.push((DatasetKind::Workers, name.into(), w));
                break;
            }
        }
        store.write(write).map_err(api::write_error)?;
    }
    let inputs = match planning::load_inputs(&store) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(
                "the newest datasets cannot be read together ({}{}); serving the inputs of the newest plan",
                e.message,
                problems_text(&e.problems)
            );
            let newest = store.plans()?.first().map(|p| p.id);
            let at = match newest {
                Some(id) => store.plan_inputs(id)?,
                None => None,
            };
            match at {
                Some((h, b, r)) => planning::load_inputs_at(
                    &store,
                    crate::store::Latest {
                        households: Some(h),
                        boundaries: Some(b),
                        workers: None,
                        rules: r,
                        // The plan's ground layers are not recorded with it: served without.
                        blocks: None,
                        barriers: None,
                    },
                )
                .unwrap_or_else(|e| {
                    tracing::warn!(
                        "nor can the newest plan's ({}); serving read-only",
                        e.message
                    );
                    None
                }),
                None => None,
            }
        }
    };
    if store.plans()?.is_empty()
        && let Some(inputs) = &inputs
    {
        let plan = planning::compute_plan(
            inputs,
            &inputs.rules,
            "initial plan at start",
            None,
            crate::model::Date::today(),
        )?;
        let written = store
            .write(Write {
                plan: Some(plan.plan),
                ..Write::default()
            })
            .map_err(api::write_error)?;
        if let (Some(plan_id), Some((w, wbytes))) =
            (written.plan, store.latest_dataset(DatasetKind::Workers)?)
        {
            let (shapes, warnings) = planning::plan_grids(&store, &inputs.dataset, plan_id)?;
            // Staffing that cannot be computed (the solver finds nothing in its time limit) does not
            // stop the service: the plan is served without workers, and a planner can assign later.
            match planning::compute_assignment(inputs, (w.id, &wbytes), &shapes, warnings) {
                Ok(a) => {
                    store.add_assignment(
                        plan_id,
                        a.workers,
                        &a.geojson,
                        &a.staffing.to_string(),
                    )?;
                }
                Err(e) => tracing::warn!(
                    "no assignment at start: {}{}",
                    e.message,
                    problems_text(&e.problems)
                ),
            }
        }
    }
    store.unlock_start()?;
    let state = AppState {
        db: Db::new(&config.db, store),
        inputs: RwLock::new(inputs.map(Arc::new)),
        published: RwLock::new(Arc::new(Published::empty())),
        tokens: config.tokens.clone(),
        tiles: config.tiles.clone(),
        work: tokio::sync::Mutex::new(()),
        lanes: limits::Lanes::new(&config.limits),
        server: jobs::server_name(),
        job_lease: config.limits.job_lease,
        plan_hook: Mutex::new(None),
        jobs_pool: jobs_pool()?,
        ground_texts: Mutex::new(None),
    };
    state.publish(None)?;
    Ok(state)
}

/// The whole application.
pub fn router(state: Arc<AppState>, config: &Config) -> Router {
    let max_body = config.max_body_bytes;
    Router::new()
        .merge(ogc::routes())
        .merge(api::routes())
        .merge(map::routes())
        .fallback(|| async {
            AppError::not_found("no such route; the landing page / lists what is here")
        })
        .method_not_allowed_fallback(guard::method_not_allowed)
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn(guard::query_guard))
        .layer(axum::middleware::from_fn(move |req, next| {
            guard::declared_length(max_body, req, next)
        }))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            config.limits.body_idle_timeout,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::map_response(guard::json_errors))
        // Every request in a span (method, path), its answer logged with status and latency.
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// Environment variable for tests of the running binary: every plan job waits this many seconds
/// once its inputs are read (as [`AppState::plan_hook`] lets in-process tests), so that a test can kill
/// the server in the middle of a plan. Unset in use.
pub const HOLD_PLAN_ENV: &str = "GRIDPLAN_TEST_HOLD_PLAN_SECS";

fn hold_plans_for_tests(state: &AppState) {
    let Some(secs) = std::env::var(HOLD_PLAN_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
    else {
        return;
    };
    tracing::warn!("{HOLD_PLAN_ENV} is set: every plan waits {secs} s before it computes");
    let hook: Arc<dyn Fn() + Send + Sync> =
        Arc::new(move || std::thread::sleep(Duration::from_secs_f64(secs)));
    if let Ok(mut h) = state.plan_hook.lock() {
        *h = Some(hook);
    }
}

/// Runs the service until Ctrl-C; `listening` is told the address once it listens (the command line
/// prints it).
pub async fn serve(
    config: Config,
    addr: &str,
    listening: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<()> {
    let cfg = config.clone();
    let state = tokio::task::spawn_blocking(move || {
        // A database that cannot be opened (a bad or unreachable URL, a file that cannot be created)
        // is the command line's mistake, named as such.
        let store = Store::open(&cfg.db).map_err(|e| crate::Error::Database(e.to_string()))?;
        prepare_on(&cfg, store)
            .map_err(|e| anyhow::anyhow!("{}{}", e.message, problems_text(&e.problems)))
    })
    .await??;
    hold_plans_for_tests(&state);
    let state = Arc::new(state);
    jobs::start(&state);
    let app = router(state, &config);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, planners = config.tokens.has_planner(), "listening");
    listening(local);
    limits::serve_connections(listener, app, &config.limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

fn problems_text(problems: &[crate::problem::Problem]) -> String {
    problems
        .iter()
        .take(50)
        .map(|p| format!("\n  {p}"))
        .collect()
}
