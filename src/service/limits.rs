//! Bounded resources: how many connections are open at once (in all, and from one client address),
//! which connection goes first when they run short, how long a client may take to send its headers or
//! the next piece of its body, and how many expensive jobs (checks, diffs) run at once, with planners
//! first.

use super::error::AppError;
use axum::Router;
use axum::http::StatusCode;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The service's resource limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at once. When they are all taken, the oldest connection that has not sent a
    /// whole request yet (of the client holding the most) is closed to make room; when every one has,
    /// the new one is answered 503 and closed.
    pub max_connections: usize,
    /// Open connections from one client address at once: past it, that client's own oldest connection
    /// that has not sent a whole request is closed for the new one, or, when all of them have, the new
    /// one is answered 503. One client opening connections it never uses cannot take the others'.
    pub max_connections_per_client: usize,
    /// Longest a client may take to send a request's headers, and longest an idle keep-alive
    /// connection is kept open waiting for the next request.
    pub header_read_timeout: Duration,
    /// Longest a client may pause while sending a request body.
    pub body_idle_timeout: Duration,
    /// Concurrent checks and diffs for planners (more wait their turn).
    pub planner_jobs: usize,
    /// Concurrent diffs for everyone else (more are answered 429 at once, and none start while a
    /// planner's job runs).
    pub open_jobs: usize,
    /// How long a planning job stays a server's without the server renewing it (a third of it apart):
    /// once it lapses, another server (or this one, restarted) takes the job over.
    pub job_lease: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 512,
            max_connections_per_client: DEFAULT_CONNECTIONS_PER_CLIENT,
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            planner_jobs: 2,
            open_jobs: 2,
            job_lease: DEFAULT_JOB_LEASE,
        }
    }
}

/// Open connections from one client address by default: a browser opens six, a GIS client a dozen or
/// two; a proxy in front of many users should raise it (`--max-connections-per-client`).
pub const DEFAULT_CONNECTIONS_PER_CLIENT: usize = 64;

/// How long a planning job's lease lasts by default: long enough that a busy database does not make a
/// living server lose its job, short enough that a dead server's job is taken over soon.
pub const DEFAULT_JOB_LEASE: Duration = Duration::from_secs(30);

/// The concurrency limits of the expensive routes.
pub struct Lanes {
    planner: Arc<Semaphore>,
    open: Arc<Semaphore>,
}

impl Lanes {
    pub fn new(l: &Limits) -> Lanes {
        Lanes {
            planner: Arc::new(Semaphore::new(l.planner_jobs.max(1))),
            open: Arc::new(Semaphore::new(l.open_jobs)),
        }
    }

    /// A turn for a planner's job: waits for a free planner slot.
    pub async fn planner(&self) -> Result<OwnedSemaphorePermit, AppError> {
        self.planner
            .clone()
            .acquire_owned()
            .await
            .map_err(AppError::internal)
    }

    /// A turn for an anonymous job: a free open slot now, and no planner's job (`planner_busy`) running;
    /// otherwise 429 at once, so that open traffic never queues in front of planners.
    pub fn open(&self, planner_busy: bool) -> Result<OwnedSemaphorePermit, AppError> {
        let busy = || {
            AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "the server is busy with other jobs; try again in a few seconds",
            )
        };
        if planner_busy || self.planner.available_permits() == 0 {
            return Err(busy());
        }
        self.open.clone().try_acquire_owned().map_err(|_| busy())
    }
}

/// One open connection.
struct Open {
    client: IpAddr,
    /// Whether it has sent a whole request (its headers) yet.
    requested: Arc<AtomicBool>,
    /// Told when the connection is to be closed to make room.
    close: Arc<tokio::sync::Notify>,
}

/// The open connections, oldest first, and how many each client address holds.
#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, Open>,
    per_client: HashMap<IpAddr, usize>,
}

impl Registry {
    fn remove(&mut self, id: u64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        if let Some(n) = self.per_client.get_mut(&open.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_client.remove(&open.client);
            }
        }
        Some(open)
    }

    /// Room for a connection from `client`: `Some(id)` once registered (having closed a connection
    /// that sent no request yet when the caps were reached), `None` when there is none to close.
    fn admit(&mut self, client: IpAddr, limits: &Limits) -> Option<(u64, Open)> {
        let held = self.per_client.get(&client).copied().unwrap_or(0);
        let client_full = held >= limits.max_connections_per_client.max(1);
        let all_full = self.open.len() >= limits.max_connections.max(1);
        if client_full || all_full {
            let idle = |o: &Open| !o.requested.load(Ordering::Acquire);
            // This client's own when it is the one at its cap; else that of the client holding the
            // most connections; the oldest of them (BTreeMap order).
            let victim = if client_full {
                self.open
                    .iter()
                    .find(|(_, o)| o.client == client && idle(o))
                    .map(|(id, _)| *id)
            } else {
                self.open
                    .iter()
                    .filter(|(_, o)| idle(o))
                    .max_by_key(|(id, o)| {
                        (
                            self.per_client.get(&o.client).copied().unwrap_or(0),
                            std::cmp::Reverse(**id),
                        )
                    })
                    .map(|(id, _)| *id)
            };
            let victim = self.remove(victim?)?;
            victim.close.notify_one();
        }
        let id = self.next;
        self.next += 1;
        let open = Open {
            client,
            requested: Arc::new(AtomicBool::new(false)),
            close: Arc::new(tokio::sync::Notify::new()),
        };
        let handle = Open {
            client,
            requested: open.requested.clone(),
            close: open.close.clone(),
        };
        self.open.insert(id, open);
        *self.per_client.entry(client).or_default() += 1;
        Some((id, handle))
    }
}

/// Takes a connection out of the registry when its task ends, however it ends.
struct Registered {
    registry: Arc<Mutex<Registry>>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut r) = self.registry.lock() {
            r.remove(self.id);
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes: HTTP/1.1, at most `max_connections` at once
/// and `max_connections_per_client` from one address (connections that never sent a request are
/// closed first to make room), headers within `header_read_timeout` (which also closes idle
/// keep-alive connections).
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    use hyper::service::Service as _;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let registry = Arc::new(Mutex::new(Registry::default()));
    let header_timeout = limits.header_read_timeout;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: pause, then go on accepting.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admitted = match registry.lock() {
            Ok(mut r) => r.admit(peer.ip(), limits),
            Err(_) => None,
        };
        let Some((id, open)) = admitted else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let registered = Registered {
            registry: registry.clone(),
            id,
        };
        let inner = TowerToHyperService::new(app.clone());
        let requested = open.requested.clone();
        let service = hyper::service::service_fn(move |req| {
            requested.store(true, Ordering::Release);
            inner.call(req)
        });
        tokio::spawn(async move {
            let _registered = registered;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            // Closed to make room: the socket is dropped with the connection.
            tokio::select! {
                _ = conn => {}
                _ = open.close.notified() => {}
            }
        });
    }
}

/// Answers a connection over the cap with a JSON 503 and closes it.
async fn refuse(mut stream: tokio::net::TcpStream) {
    let body = serde_json::json!({
        "error": "too many open connections; try again shortly",
        "status": 503
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}
