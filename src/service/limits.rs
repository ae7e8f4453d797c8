//! Bounded resources: how many connections are open at once, how long a client may take to send its
//! headers or the next piece of its body, and how many expensive jobs (checks, diffs) run at once, with
//! planners first.

use super::error::AppError;
use axum::Router;
use axum::http::StatusCode;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The service's resource limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at once; one more is answered 503 and closed.
    pub max_connections: usize,
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
            header_read_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            planner_jobs: 2,
            open_jobs: 2,
            job_lease: DEFAULT_JOB_LEASE,
        }
    }
}

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

/// Serves `app` on `listener` until `shutdown` completes: HTTP/1.1, at most `max_connections` at once,
/// headers within `header_read_timeout` (which also closes idle keep-alive connections).
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let header_timeout = limits.header_read_timeout;
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
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
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
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
