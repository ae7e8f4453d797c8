//! The library's error type: typed where the error is made, mapped to exit codes in `main` and to HTTP
//! statuses in exactly one place.

use crate::lang::Lang;
use crate::lang::messages::{Key, Msg, msg};
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
    OutputName {
        path: PathBuf,
        message: String,
        /// The message in Chinese.
        message_zh: String,
    },
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
    render_problems_in(Lang::En, problems)
}

/// The problems that stop the work, in `lang`: a count, then each (at most [`MAX_PROBLEMS_SHOWN`]).
fn render_problems_in(lang: Lang, problems: &[Problem]) -> String {
    let errors: Vec<&Problem> = problems.iter().filter(|p| p.is_error()).collect();
    let mut out = msg!(InvalidInput, count = errors.len()).text(lang);
    for p in errors.iter().take(MAX_PROBLEMS_SHOWN) {
        out.push_str("\n  ");
        out.push_str(&p.render(lang));
    }
    if errors.len() > MAX_PROBLEMS_SHOWN {
        out.push_str("\n  ");
        out.push_str(&msg!(MoreProblems, count = errors.len() - MAX_PROBLEMS_SHOWN).text(lang));
    }
    out
}

/// Why a file could not be read or written, in `lang`: the system's reason for the usual ones; an
/// error made with its own words (or of a kind the catalogue does not have) as it is.
fn io_reason(lang: Lang, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    if let Some(inner) = e.get_ref() {
        return inner.to_string();
    }
    let key = match e.kind() {
        ErrorKind::NotFound => Key::NoSuchFile,
        ErrorKind::PermissionDenied => Key::NoPermission,
        ErrorKind::IsADirectory => Key::IsADirectory,
        _ => return e.to_string(),
    };
    Msg::new(key).text(lang)
}

impl Error {
    /// The error in `lang`: the same facts as its English (`Display`), in the reader's language.
    pub fn render(&self, lang: Lang) -> String {
        let reason = |e: &std::io::Error| io_reason(lang, e);
        match self {
            Error::Read { path, source } => msg!(CannotRead, path = path.display())
                .arg("why", reason(source))
                .text(lang),
            Error::Write { path, source } => msg!(CannotWrite, path = path.display())
                .arg("why", reason(source))
                .text(lang),
            Error::Invalid(problems) => render_problems_in(lang, problems),
            Error::Crs(why) => msg!(CrsProblem, why = why).text(lang),
            Error::Rules { path, message } => {
                msg!(RulesFile, path = path.display(), why = message).text(lang)
            }
            Error::OutputName {
                path,
                message,
                message_zh,
            } => {
                let why = lang.pick(message, message_zh);
                msg!(OutputName, path = path.display(), why = why).text(lang)
            }
            Error::Solver(why) => msg!(SolverFailed, why = why).text(lang),
            Error::Database(why) => why.clone(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals read in Chinese: the system's reason for a missing file, the problems listed.
    #[test]
    fn errors_are_said_in_the_readers_language() {
        let e = Error::Read {
            path: "g.geojson".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(e.render(Lang::Zh), "无法读取 g.geojson：文件或目录不存在");
        assert!(e.render(Lang::En).starts_with("cannot read g.geojson: "));
        let e = Error::Invalid(vec![
            Problem::error("h.geojson", msg!(NoFeatures)).field("features"),
        ]);
        assert_eq!(
            e.render(Lang::Zh),
            "输入有误：共 1 处问题\n  错误：h.geojson：字段 `features`：文件中没有任何要素"
        );
        assert_eq!(e.render(Lang::En), e.to_string());
    }
}
