//! Problems found in input data, as values.
//!
//! Validation never stops at the first problem: readers collect every [`Problem`] they find, each naming
//! the file, the feature (index and id, when known) and the field. Errors stop the work (exit status 2);
//! warnings are counted and reported but let the work go on.

use serde::Serialize;
use std::fmt;

/// How serious a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input cannot be used as it is.
    Error,
    /// The input can be used; what could not be used is counted and reported.
    Warning,
}

/// The feature a problem is about: its position in the file (0-based) and its id, when it has one; in
/// a ledger (a spreadsheet), its row as the spreadsheet numbers it (header row 1), the column's
/// letter and, in a workbook, the sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureRef {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
}

/// One problem in one input file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<Box<FeatureRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn error(file: &str, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            file: file.to_string(),
            feature: None,
            field: None,
            message: message.into(),
        }
    }

    pub fn warning(file: &str, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, message)
        }
    }

    /// Names the feature the problem is about.
    pub fn at(mut self, index: usize, id: Option<&str>) -> Self {
        self.feature = Some(Box::new(FeatureRef {
            index,
            id: id.map(str::to_string),
            row: None,
            column: None,
            sheet: None,
        }));
        self
    }

    /// Names the ledger row the problem is about, as the spreadsheet numbers it (header row 1).
    pub fn at_row(mut self, row: usize, id: Option<&str>) -> Self {
        let old = self.feature.take();
        let id = id
            .map(str::to_string)
            .or_else(|| old.as_ref().and_then(|f| f.id.clone()));
        self.feature = Some(Box::new(FeatureRef {
            index: row,
            id,
            row: Some(row),
            column: None,
            sheet: old.and_then(|f| f.sheet),
        }));
        self
    }

    /// Names the ledger column (its letter, `A`, `B`, …) of a problem already at a row.
    pub fn in_column(mut self, letter: impl Into<String>) -> Self {
        if let Some(f) = &mut self.feature {
            f.column = Some(letter.into());
        }
        self
    }

    /// Names the workbook sheet of a problem at a ledger row (or, when the problem names no row, the
    /// sheet as a whole).
    pub fn on_sheet(mut self, sheet: &str) -> Self {
        match &mut self.feature {
            Some(f) => f.sheet = Some(sheet.to_string()),
            None => {
                self.file = format!("{} (sheet {sheet})", self.file);
            }
        }
        self
    }

    /// Names the field (a property name, or `geometry`, `geometry.coordinates`, …).
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", self.file)?;
        if let Some(sheet) = self.feature.as_ref().and_then(|r| r.sheet.as_deref()) {
            write!(f, ": sheet {sheet}")?;
        }
        let row = self.feature.as_ref().and_then(|r| r.row);
        if let Some(feature) = &self.feature {
            match row {
                Some(r) => write!(f, ": row {r}")?,
                None => write!(f, ": feature {}", feature.index)?,
            }
            if let Some(id) = &feature.id {
                write!(f, " (id {id})")?;
            }
        }
        let column = self.feature.as_ref().and_then(|r| r.column.as_deref());
        match (&self.field, column) {
            (Some(field), Some(letter)) => write!(f, ": column {letter} `{field}`")?,
            (Some(field), None) if row.is_some() => write!(f, ": column `{field}`")?,
            (Some(field), None) => write!(f, ": field `{field}`")?,
            (None, Some(letter)) => write!(f, ": column {letter}")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Collected problems of one reading step.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Problem::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| p.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter().filter(|p| !p.is_error())
    }

    pub fn extend(&mut self, other: Problems) {
        self.0.extend(other.0);
    }
}

/// The warnings as terminal text: a count, the first `shown` in full, and how many more the report has.
/// Empty when there are none.
pub fn render_warnings(warnings: &[Problem], shown: usize) -> String {
    render_warnings_in(crate::lang::Lang::En, warnings, shown)
}

/// [`render_warnings`] with its headings in `lang` (the warnings themselves stay as written).
pub fn render_warnings_in(lang: crate::lang::Lang, warnings: &[Problem], shown: usize) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut out = format!("\n  {}\n", lang.warnings_heading(warnings.len()));
    for w in warnings.iter().take(shown) {
        out.push_str(&format!("    {w}\n"));
    }
    if warnings.len() > shown {
        out.push_str(&format!(
            "    {}\n",
            lang.more_warnings(warnings.len() - shown)
        ));
    }
    out
}
