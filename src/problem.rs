//! Problems found in input data, as values.
//!
//! Validation never stops at the first problem: readers collect every [`Problem`] they find, each naming
//! the file, the feature (index and id, when known) and the field. Errors stop the work (exit status 2);
//! warnings are counted and reported but let the work go on.

use crate::lang::Lang;
use crate::lang::messages::Msg;
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
    /// What is wrong, in English (scripts read it).
    pub message: String,
    /// What is wrong, in Chinese, for messages of the catalogue ([`crate::lang::messages`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
}

/// A problem's message: a sentence of the catalogue (said in both languages) or, for the few not yet
/// in it, English text.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    en: String,
    zh: Option<String>,
}

impl From<Msg> for Said {
    fn from(m: Msg) -> Said {
        Said {
            en: m.text(Lang::En),
            zh: Some(m.text(Lang::Zh)),
        }
    }
}

impl From<String> for Said {
    fn from(en: String) -> Said {
        Said { en, zh: None }
    }
}

impl From<&str> for Said {
    fn from(en: &str) -> Said {
        Said::from(en.to_string())
    }
}

impl From<&String> for Said {
    fn from(en: &String) -> Said {
        Said::from(en.clone())
    }
}

impl Problem {
    pub fn error(file: &str, message: impl Into<Said>) -> Self {
        let said = message.into();
        Problem {
            severity: Severity::Error,
            file: file.to_string(),
            feature: None,
            field: None,
            message: said.en,
            message_zh: said.zh,
        }
    }

    pub fn warning(file: &str, message: impl Into<Said>) -> Self {
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
        f.write_str(&self.render(Lang::En))
    }
}

impl Problem {
    /// The message in `lang` (the English where the catalogue has no Chinese for it).
    pub fn message_in(&self, lang: Lang) -> &str {
        match (lang, &self.message_zh) {
            (Lang::Zh, Some(zh)) => zh,
            _ => &self.message,
        }
    }

    /// The problem as one line in `lang`: severity, file, sheet, feature or row, id, field, message.
    pub fn render(&self, lang: Lang) -> String {
        use std::fmt::Write as _;
        let zh = lang == Lang::Zh;
        let mut f = String::new();
        let label = match (self.severity, zh) {
            (Severity::Error, false) => "error",
            (Severity::Warning, false) => "warning",
            (Severity::Error, true) => "错误",
            (Severity::Warning, true) => "警告",
        };
        let sep = if zh { "：" } else { ": " };
        let _ = write!(f, "{label}{sep}{}", self.file);
        if let Some(sheet) = self.feature.as_ref().and_then(|r| r.sheet.as_deref()) {
            let _ = match zh {
                false => write!(f, ": sheet {sheet}"),
                true => write!(f, "：工作表 {sheet}"),
            };
        }
        let row = self.feature.as_ref().and_then(|r| r.row);
        if let Some(feature) = &self.feature {
            let _ = match (row, zh) {
                (Some(r), false) => write!(f, ": row {r}"),
                (None, false) => write!(f, ": feature {}", feature.index),
                (Some(r), true) => write!(f, "：第 {r} 行"),
                (None, true) => write!(f, "：要素 {}", feature.index),
            };
            if let Some(id) = &feature.id {
                let _ = match zh {
                    false => write!(f, " (id {id})"),
                    true => write!(f, "（id {id}）"),
                };
            }
        }
        let column = self.feature.as_ref().and_then(|r| r.column.as_deref());
        let _ = match (&self.field, column, zh) {
            (Some(field), Some(letter), false) => write!(f, ": column {letter} `{field}`"),
            (Some(field), None, false) if row.is_some() => write!(f, ": column `{field}`"),
            (Some(field), None, false) => write!(f, ": field `{field}`"),
            (None, Some(letter), false) => write!(f, ": column {letter}"),
            (Some(field), Some(letter), true) => write!(f, "：{letter} 列 `{field}`"),
            (Some(field), None, true) if row.is_some() => write!(f, "：列 `{field}`"),
            (Some(field), None, true) => write!(f, "：字段 `{field}`"),
            (None, Some(letter), true) => write!(f, "：{letter} 列"),
            (None, None, _) => Ok(()),
        };
        let _ = write!(f, "{sep}{}", self.message_in(lang));
        f
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

/// [`render_warnings`] in `lang`.
pub fn render_warnings_in(lang: crate::lang::Lang, warnings: &[Problem], shown: usize) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut out = format!("\n  {}\n", lang.warnings_heading(warnings.len()));
    for w in warnings.iter().take(shown) {
        out.push_str(&format!("    {}\n", w.render(lang)));
    }
    if warnings.len() > shown {
        out.push_str(&format!(
            "    {}\n",
            lang.more_warnings(warnings.len() - shown)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::messages::msg;

    /// A problem of the catalogue reads in Chinese, place and all; one not in it keeps its English
    /// message inside the Chinese frame; the English line is as it always was.
    #[test]
    fn a_problem_is_said_in_the_readers_language() {
        let p = Problem::error("h.geojson", msg!(ZeroHouseholds))
            .at(4, Some("H5"))
            .field("households");
        assert_eq!(
            p.to_string(),
            "error: h.geojson: feature 4 (id H5): field `households`: 0 households; a point must carry at least 1"
        );
        assert_eq!(
            p.render(Lang::Zh),
            "错误：h.geojson：要素 4（id H5）：字段 `households`：0 户：每个点至少 1 户"
        );
        let w = Problem::warning("台账.xlsx", "something new").at_row(3, None);
        assert_eq!(
            w.render(Lang::Zh),
            "警告：台账.xlsx：第 3 行：something new"
        );
        assert_eq!(w.message_zh, None);
    }
}
