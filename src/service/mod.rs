//! The HTTP service: OGC API – Features (Part 1 Core, GeoJSON, OpenAPI 3.0) at the root, the planning
//! API under `/api`, the map page for browsers, state in SQLite. `router` builds the whole application
//! in-process (tests call it with `tower::ServiceExt::oneshot`); `serve` runs it on a socket.

pub mod api;
pub mod auth;
pub mod error;
pub mod map;
pub mod ogc;
pub mod openapi;
pub mod planning;
pub mod published;

use crate::store::{DatasetKind, Store};
use auth::Tokens;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use error::AppError;
use planning::Inputs;
use published::Published;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// A directory of `households.geojson`, `boundaries.geojson`, optionally `workers.geojson` (or
    /// `.csv`) and `rules.toml`, loaded when the database holds no datasets yet.
    pub data: Option<PathBuf>,
    /// The SQLite file.
    pub db: PathBuf,
    pub tokens: Tokens,
    /// Optional base-map tile URL template for the map page (`https://…/{z}/{x}/{y}.png`).
    pub tiles: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest a request may take before it is answered 408.
    pub request_timeout: Duration,
}

/// Largest request body by default: a county's households file fits.
pub const DEFAULT_MAX_BODY_BYTES: usize = 512 * 1024 * 1024;
/// Longest a request may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// The state every handler shares.
pub struct AppState {
    pub store: Mutex<Store>,
    pub inputs: RwLock<Option<Arc<Inputs>>>,
    pub published: RwLock<Arc<Published>>,
    pub tokens: Tokens,
    pub tiles: Option<String>,
    /// One planning job at a time (they write versions); reads go on meanwhile.
    pub work: tokio::sync::Mutex<()>,
}

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

    pub fn with_store<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut guard = self
            .store
            .lock()
            .map_err(|_| AppError::internal("the database lock is poisoned"))?;
        f(&mut guard)
    }

    /// Publishes a plan (the newest when `None`) with its newest assignment.
    pub fn publish(&self, plan: Option<i64>) -> Result<(), AppError> {
        let published = self.with_store(|s| {
            let id = match plan {
                Some(id) => Some(id),
                None => s.plans()?.first().map(|p| p.id),
            };
            let Some(id) = id else {
                return Ok(Published::empty());
            };
            let Some((grids, communities, _)) = s.plan_outputs(id)? else {
                return Err(AppError::not_found(format!("no plan {id}")));
            };
            let assignment = s.latest_assignment(id)?;
            Ok(Published::build(
                Some(id),
                &grids,
                &communities,
                assignment
                    .as_ref()
                    .map(|(aid, text, _)| (*aid, text.as_str())),
            ))
        })?;
        if let Ok(mut p) = self.published.write() {
            *p = Arc::new(published);
        }
        Ok(())
    }

    pub fn reload_inputs(&self) -> Result<(), AppError> {
        let inputs = self.with_store(|s| planning::load_inputs(s))?;
        if let Ok(mut i) = self.inputs.write() {
            *i = inputs.map(Arc::new);
        }
        Ok(())
    }
}

fn read_file(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, crate::Error> {
    let path = dir.join(name);
    if !path.exists() {
        return Ok(None);
    }
    crate::io::input::read_input(&path, crate::io::input::Expect::Text).map(Some)
}

/// Opens the database, loads the data directory when the database has no datasets, plans when there is
/// no plan yet (and assigns when there are workers), and publishes the newest plan. Blocking.
pub fn prepare(config: &Config) -> Result<AppState, AppError> {
    let mut store = Store::open(&config.db)?;
    if let Some(dir) = &config.data
        && store.latest_dataset(DatasetKind::Households)?.is_none()
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
        planning::build_dataset(b.clone(), h.clone(), &parsed_rules)?;
        store.add_dataset(DatasetKind::Boundaries, "boundaries.geojson", &b)?;
        store.add_dataset(DatasetKind::Households, "households.geojson", &h)?;
        if let Some(r) = rules {
            store.add_dataset(DatasetKind::Rules, "rules.toml", &r)?;
        }
        for name in ["workers.geojson", "workers.csv"] {
            if let Some(w) = read_file(dir, name)? {
                store.add_dataset(DatasetKind::Workers, name, &w)?;
                break;
            }
        }
    }
    let inputs = planning::load_inputs(&store)?.map(Arc::new);
    if store.plans()?.is_empty()
        && let Some(inputs) = &inputs
    {
        let plan = planning::run_plan(
            &mut store,
            inputs,
            &inputs.rules,
            "initial plan at start",
            None,
        )?;
        if store.latest_dataset(DatasetKind::Workers)?.is_some() {
            planning::run_assignment(&mut store, inputs, plan.id)?;
        }
    }
    let state = AppState {
        store: Mutex::new(store),
        inputs: RwLock::new(inputs),
        published: RwLock::new(Arc::new(Published::empty())),
        tokens: config.tokens.clone(),
        tiles: config.tiles.clone(),
        work: tokio::sync::Mutex::new(()),
    };
    state.publish(None)?;
    Ok(state)
}

/// The whole application.
pub fn router(state: Arc<AppState>, config: &Config) -> Router {
    Router::new()
        .merge(ogc::routes())
        .merge(api::routes())
        .merge(map::routes())
        .fallback(|| async {
            AppError::not_found("no such route; the landing page / lists what is here")
        })
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .with_state(state)
}

/// Runs the service until Ctrl-C, printing its URL once it listens.
pub async fn serve(config: Config, addr: &str) -> anyhow::Result<()> {
    let cfg = config.clone();
    let state = tokio::task::spawn_blocking(move || prepare(&cfg))
        .await?
        .map_err(|e| anyhow::anyhow!("{}{}", e.message, problems_text(&e.problems)))?;
    let app = router(Arc::new(state), &config);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    println!("gridplan serving on http://{local}/");
    if !config.tokens.has_planner() {
        println!("  (read-only: set GRIDPLAN_PLANNER_TOKEN to allow planners to write)");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn problems_text(problems: &[crate::problem::Problem]) -> String {
    problems
        .iter()
        .take(50)
        .map(|p| format!("\n  {p}"))
        .collect()
}
