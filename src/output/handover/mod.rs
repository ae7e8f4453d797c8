//! What a planner hands over, written by `gridplan report` and the service's planner download: the
//! grid ledger (网格台账, [`ledger`], .xlsx) and the atlas (网格图册, [`atlas`], .pdf), both from a
//! [`Handover`]. Planner files: they carry the workers' names and phones when given.

pub mod atlas;
mod font;
pub mod ledger;

pub use font::{CjkFont, FONT_ENV};

use crate::error::{Error, Result};
use crate::ops::handover::Handover;
use std::path::Path;

/// What a report file is, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `.xlsx`: the grid ledger.
    Ledger,
    /// `.pdf`: the atlas.
    Atlas,
}

impl ReportFormat {
    /// The media type served for it.
    pub fn media_type(self) -> &'static str {
        match self {
            ReportFormat::Ledger => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ReportFormat::Atlas => "application/pdf",
        }
    }
}

/// The format of the report written to `path`: `.xlsx` (the ledger) or `.pdf` (the atlas). Any other
/// extension, or none, is refused by name before any work is done.
pub fn report_format(path: &Path) -> Result<ReportFormat> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("xlsx") => Ok(ReportFormat::Ledger),
        Some("pdf") => Ok(ReportFormat::Atlas),
        other => {
            let (en, zh) = match other {
                Some(e) => (format!(".{e}"), format!(" .{e}")),
                None => (
                    "a name with no extension".to_string(),
                    "无扩展名的文件名".to_string(),
                ),
            };
            let m = crate::lang::messages::msg!(HandoverExtension).arg_in("ext", en, zh);
            Err(Error::OutputName {
                path: path.to_path_buf(),
                message: m.text(crate::lang::Lang::En),
                message_zh: m.text(crate::lang::Lang::Zh),
            })
        }
    }
}

/// The report's bytes; `what` names it in errors (the file, or the route).
pub fn report_bytes(h: &Handover, format: ReportFormat, what: &Path) -> Result<Vec<u8>> {
    let failed = |message: String| Error::Write {
        path: what.to_path_buf(),
        source: std::io::Error::other(message),
    };
    match format {
        ReportFormat::Ledger => {
            ledger::ledger_xlsx(h).map_err(|e| failed(format!("the ledger: {e}")))
        }
        ReportFormat::Atlas => {
            let font = CjkFont::find().map_err(|e| failed(e.to_string()))?;
            atlas::atlas_pdf(h, &font).map_err(|e| failed(format!("the atlas: {e}")))
        }
    }
}

/// Writes the ledger or the atlas to `path`, by its extension.
pub fn write_report(path: &Path, h: &Handover) -> Result<()> {
    let format = report_format(path)?;
    let bytes = report_bytes(h, format, path)?;
    std::fs::write(path, bytes).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_xlsx_and_pdf_are_written() {
        assert_eq!(
            report_format(Path::new("a.XLSX")).ok(),
            Some(ReportFormat::Ledger)
        );
        assert_eq!(
            report_format(Path::new("a.pdf")).ok(),
            Some(ReportFormat::Atlas)
        );
        for bad in ["a.xls", "a.csv", "a", "a.json"] {
            let e = report_format(Path::new(bad)).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains(".xlsx")),
                "{bad}: {e:?}"
            );
        }
    }
}
