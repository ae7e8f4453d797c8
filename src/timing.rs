//! How long each phase of a command took, logged at `debug` (`RUST_LOG=gridplan=debug gridplan …`):
//! what a user reports when a run is slow, and what the figures in the README are broken down by.

use std::time::Instant;

/// Runs `f`, logging its wall time under `phase`.
pub fn phase<T>(phase: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    tracing::debug!(
        target: "gridplan::timing",
        phase,
        ms = start.elapsed().as_secs_f64() * 1000.0,
        "done"
    );
    out
}

/// Logs the wall time from its making to its drop under `phase`.
pub struct Span {
    phase: &'static str,
    start: Instant,
}

impl Span {
    pub fn new(phase: &'static str) -> Span {
        Span {
            phase,
            start: Instant::now(),
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        tracing::debug!(
            target: "gridplan::timing",
            phase = self.phase,
            ms = self.start.elapsed().as_secs_f64() * 1000.0,
            "done"
        );
    }
}
