//! The library's error type: typed where the error is made, mapped to exit codes in `main` and to HTTP
//! statuses in exactly one place.

use crate::problem::Problem;
use std::path::PathBuf;

/// Everything that can stop a gridplan operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input has problems that stop the work; every one of them is listed.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
    #[error("coordinate reference system: {0}")]
    Crs(String),
    #[error("rules file {path}: {message}")]
    Rules { path: PathBuf, message: String },
    /// An output file named with an extension gridplan does not write (a `.gpkg` name would otherwise
    /// get GeoJSON inside it).
    #[error("{path}: {message}")]
    OutputName { path: PathBuf, message: String },
    /// The assignment solver failed outright (not a town it found nothing for in time: that is part
    /// of the staffing answer).
    #[error("the solver failed: {0}")]
    Solver(String),
    /// The database given (`--db`) cannot be opened: a bad or unreachable URL, a file that cannot be
    /// created.
    #[error("{0}")]
    Database(String),
}

/// At most this many problems are written out in full in an error message; the rest are counted.
const MAX_PROBLEMS_SHOWN: usize = 50;

fn render_problems(problems: &[Problem]) -> String {
    let errors: Vec<&Problem> = problems.iter().filter(|p| p.is_error()).collect();
    let mut out = format!("invalid input: {} problem(s)", errors.len());
    for p in errors.iter().take(MAX_PROBLEMS_SHOWN) {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    if errors.len() > MAX_PROBLEMS_SHOWN {
        out.push_str(&format!(
            "\n  … and {} more",
            errors.len() - MAX_PROBLEMS_SHOWN
        ));
    }
    out
}

impl Error {
    /// True when the error is the user's input (exit status 2, HTTP 400), not the machine.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::Crs(_)
                | Error::Rules { .. }
                | Error::OutputName { .. }
                | Error::Read { .. }
                | Error::Database(_)
        )
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
