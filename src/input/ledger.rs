//! Household ledgers: the spreadsheets planners keep, one row per household or per building/address
//! point, with longitude and latitude columns: a CSV file (UTF-8, with or without a byte-order mark) or
//! a workbook (XLSX; XLS and ODS are read by the same reader, `calamine`), its first sheet unless
//! `--ledger-sheet` names another.
//!
//! Columns are recognised by name, in English or Chinese, case-insensitively:
//!
//! | field | column names |
//! |---|---|
//! | longitude | `lon`, `lng`, `longitude`, `x`, `经度` |
//! | latitude | `lat`, `latitude`, `y`, `纬度` |
//! | `id` | `id`, `户号`, `编号` |
//! | `households` | `households`, `户数` |
//! | `population` | `population`, `人口`, `人数` |
//! | `building` | `building`, `楼栋`, `楼号` |
//! | `entrance` | `entrance`, `单元` |
//! | `community` | `community`, `社区`, `社区代码` |
//! | `elderly_alone` | `elderly_alone`, `独居老人` |
//! | `key_persons` | `key_persons`, `重点人员` |
//! | `vulnerable` | `vulnerable`, `困难群众` |
//!
//! A ledger whose columns are named otherwise says which column holds which field with
//! `--ledger-columns lon=东经,lat=北纬,households=户数合计` ([`LedgerFormat`]): a field named there is
//! read from that column only; the others keep their recognised names.
//!
//! The header row is the first row (of the first ten) that names both coordinate columns, so a title row
//! above it ("某某社区住户台账") is fine. Other columns are ignored. Each row goes through the same
//! validation as a GeoJSON feature; a bad row is named by its row as the spreadsheet numbers it (the
//! header row of a plain sheet is row 1) and by its column's letter and header, e.g.
//! `ledger.xlsx: sheet Sheet1: row 4 (id A2): column D `纬度 (lat)`: "北纬32度" is not a number`. The CRS is `--crs`
//! (WGS84 by default; GCJ-02 and BD-09 for points collected with phone maps).

use super::{HouseholdProps, household, place_households};
use crate::error::{Error, Result};
use crate::model::Household;
use crate::problem::{Problem, Problems};
use crate::spatial::crs::{Crs, WGS84};
use serde_json::{Map, Value, json};
use std::path::Path;
use std::sync::OnceLock;

/// Whether a households path names a ledger: a `.csv` file or a workbook.
pub fn is_ledger_path(path: &Path) -> bool {
    extension_is(path, &["csv"]) || is_workbook_path(path)
}

/// Whether a households path names a workbook: `.xlsx`, `.xlsm`, `.xls` or `.ods`.
pub fn is_workbook_path(path: &Path) -> bool {
    extension_is(path, &["xlsx", "xlsm", "xls", "ods"])
}

fn extension_is(path: &Path, any: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| any.iter().any(|a| e.eq_ignore_ascii_case(a)))
}

/// Whether a households file is a ledger: named `.csv` or as a workbook, a workbook by its first bytes,
/// or (an upload, which has no name) text whose first line is a comma-separated header (GeoJSON starts
/// with `{`).
pub fn is_ledger(file: &str, bytes: &[u8]) -> bool {
    let named = is_ledger_path(Path::new(file));
    let text = super::raw::strip_bom(bytes);
    let head = &text[..text.len().min(4096)];
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let looks = head.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        && !head.contains(&0)
        && first_line.contains(&b',')
        && std::str::from_utf8(first_line).is_ok();
    named || looks || super::file::is_workbook(bytes)
}

const FIELDS: &[(&str, &[&str])] = &[
    ("lon", &["lon", "lng", "longitude", "x", "经度"]),
    ("lat", &["lat", "latitude", "y", "纬度"]),
    ("id", &["id", "户号", "编号"]),
    ("households", &["households", "户数"]),
    ("population", &["population", "人口", "人数"]),
    ("building", &["building", "楼栋", "楼号"]),
    ("entrance", &["entrance", "单元"]),
    ("community", &["community", "社区", "社区代码"]),
    ("elderly_alone", &["elderly_alone", "独居老人"]),
    ("key_persons", &["key_persons", "重点人员"]),
    ("vulnerable", &["vulnerable", "困难群众"]),
];

/// Fields whose cells are counts: a cell that reads as a whole number is given as a number.
const COUNTS: &[&str] = &[
    "households",
    "population",
    "elderly_alone",
    "key_persons",
    "vulnerable",
];

/// How many rows from the top are searched for the header row.
const HEADER_SEARCH_ROWS: usize = 10;

/// How a ledger's columns are named and which sheet of a workbook holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerFormat {
    /// Field → the header of its column, for the fields the planner named.
    columns: Vec<(&'static str, String)>,
    /// The workbook's sheet; the first when `None`.
    sheet: Option<String>,
}

impl LedgerFormat {
    /// Reads `--ledger-columns`: `field=header` pairs separated by commas, e.g.
    /// `lon=东经,lat=北纬,households=户数合计`. Fields are the names in the module's table (`lon`, `lat`,
    /// `id`, `households`, …); an unknown field, an empty header or a field named twice is refused.
    pub fn with_columns(mut self, spec: &str) -> std::result::Result<LedgerFormat, String> {
        let known = || {
            FIELDS
                .iter()
                .map(|(f, _)| *f)
                .collect::<Vec<_>>()
                .join(", ")
        };
        for pair in spec
            .split([',', '，'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (field, header) = pair.split_once(['=', '＝']).ok_or_else(|| {
                format!(
                    "\"{pair}\" is not field=column, e.g. lon=经度 (fields: {})",
                    known()
                )
            })?;
            let (field, header) = (field.trim(), header.trim());
            let Some((name, _)) = FIELDS.iter().find(|(f, _)| f.eq_ignore_ascii_case(field)) else {
                return Err(format!(
                    "unknown ledger field \"{field}\"; use one of: {}",
                    known()
                ));
            };
            if header.is_empty() {
                return Err(format!("no column named for {name} in \"{pair}\""));
            }
            if self.columns.iter().any(|(f, _)| f == name) {
                return Err(format!("{name} is named twice"));
            }
            self.columns.push((name, header.to_string()));
        }
        Ok(self)
    }

    /// The workbook sheet to read (`--ledger-sheet`); the first when `None`.
    pub fn with_sheet(mut self, sheet: Option<String>) -> LedgerFormat {
        self.sheet = sheet;
        self
    }

    /// The header names that hold `field`: the planner's, else the recognised ones.
    fn names(&self, field: &str) -> Vec<&str> {
        match self.columns.iter().find(|(f, _)| *f == field) {
            Some((_, h)) => vec![h.as_str()],
            None => FIELDS
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, n)| n.to_vec())
                .unwrap_or_default(),
        }
    }

    fn named_by_flag(&self, field: &str) -> bool {
        self.columns.iter().any(|(f, _)| *f == field)
    }
}

static FORMAT: OnceLock<LedgerFormat> = OnceLock::new();

/// Sets the ledger format every reader in this process uses (`--ledger-columns`, `--ledger-sheet`:
/// the command line sets it once, at start). Later calls are ignored.
pub fn set_format(format: LedgerFormat) {
    let _ = FORMAT.set(format);
}

/// The ledger format in force: what [`set_format`] set, else the recognised names and the first sheet.
pub fn format() -> &'static LedgerFormat {
    FORMAT.get_or_init(LedgerFormat::default)
}

/// One cell as read: its text, or why it cannot be read (an error value such as `#N/A`, a date where
/// a number is wanted).
#[derive(Debug, Clone)]
enum Cell {
    Text(String),
    Bad(String),
}

impl Cell {
    fn is_blank(&self) -> bool {
        matches!(self, Cell::Text(t) if t.trim().is_empty())
    }
}

/// A sheet's rows, each with its number as the spreadsheet shows it (1-based), and the letter of the
/// first column read (a workbook's used range may start right of column A).
struct Table {
    rows: Vec<(usize, Vec<Cell>)>,
    first_column: usize,
    /// The workbook sheet read (none for CSV).
    sheet: Option<String>,
}

/// The letter of a column, 0-based (`A`, …, `Z`, `AA`, …).
fn column_letter(mut i: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn csv_table(file: &str, bytes: &[u8], problems: &mut Problems) -> Result<Table> {
    let bytes = super::raw::strip_bom(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(i + 1, |p| p.line() as usize);
                rows.push((line, r.iter().map(|c| Cell::Text(c.to_string())).collect()));
            }
            Err(e) => {
                let line = e.position().map_or(i + 1, |p| p.line() as usize);
                problems.push(Problem::error(file, format!("unreadable: {e}")).at_row(line, None));
            }
        }
    }
    Ok(Table {
        rows,
        first_column: 0,
        sheet: None,
    })
}

fn workbook_table(file: &str, bytes: &[u8], sheet: Option<&str>) -> Result<Table> {
    use calamine::{Data, Reader};
    let invalid = |message: String| Error::Invalid(vec![Problem::error(file, message)]);
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| invalid(format!("not a readable workbook (XLSX, XLS or ODS): {e}")))?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                invalid(format!(
                    "no sheet \"{s}\" (--ledger-sheet); the workbook has: {}",
                    names.join(", ")
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| invalid("the workbook has no sheet".to_string()))?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| invalid(format!("sheet \"{name}\" cannot be read: {e}")))?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let cell = |d: &Data| match d {
        Data::Empty => Cell::Text(String::new()),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Text(i.to_string()),
        // Spreadsheets store every number as a float: a whole one reads as an integer.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Cell::Text((*f as i64).to_string()),
        Data::Float(f) => Cell::Text(f.to_string()),
        Data::Bool(b) => Cell::Text(b.to_string()),
        Data::DateTime(d) => Cell::Bad(format!(
            "the cell holds a date or time ({}), not text or a number",
            d.as_f64()
        )),
        Data::Error(e) => Cell::Bad(format!("the cell holds the error value {e}")),
    };
    let rows = range
        .rows()
        .enumerate()
        .map(|(i, r)| (top as usize + i + 1, r.iter().map(cell).collect()))
        .collect();
    Ok(Table {
        rows,
        first_column: left as usize,
        sheet: Some(name),
    })
}

/// Reads a ledger from bytes in memory with the format in force ([`format()`]); `file` names it in
/// messages.
pub fn parse_ledger(
    file: &str,
    bytes: &[u8],
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    parse_ledger_as(file, bytes, format(), crs_flag, working)
}

/// One column the ledger reads: the field, its index in the row, its header as written, its letter.
struct Column {
    field: &'static str,
    index: usize,
    header: String,
    letter: String,
}

/// [`parse_ledger`] with a format of the caller's choosing. In a workbook, every problem also names
/// the sheet.
pub fn parse_ledger_as(
    file: &str,
    bytes: &[u8],
    format: &LedgerFormat,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    let mut problems = Problems::default();
    let table = if super::file::is_workbook(bytes) {
        workbook_table(file, bytes, format.sheet.as_deref())?
    } else {
        csv_table(file, bytes, &mut problems)?
    };
    let Some(sheet) = table.sheet.clone() else {
        return read_table(file, table, problems, format, crs_flag, working);
    };
    let name =
        |ps: Vec<Problem>| -> Vec<Problem> { ps.into_iter().map(|p| p.on_sheet(&sheet)).collect() };
    match read_table(file, table, problems, format, crs_flag, working) {
        Ok((out, problems)) => Ok((out, Problems(name(problems.0)))),
        Err(Error::Invalid(ps)) => Err(Error::Invalid(name(ps))),
        Err(e) => Err(e),
    }
}

fn read_table(
    file: &str,
    table: Table,
    mut problems: Problems,
    format: &LedgerFormat,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    let matches = |field: &str, header: &Cell| match header {
        Cell::Text(h) => format
            .names(field)
            .iter()
            .any(|n| h.trim().eq_ignore_ascii_case(n.trim())),
        Cell::Bad(_) => false,
    };
    let non_blank: Vec<usize> = table
        .rows
        .iter()
        .enumerate()
        .filter(|(_, (_, cells))| !cells.iter().all(Cell::is_blank))
        .map(|(i, _)| i)
        .collect();
    // The header row: the first of the top rows naming both coordinates, else (to name what it has)
    // the first with two cells or more (a title row has one), else the first non-blank.
    let top = || non_blank.iter().take(HEADER_SEARCH_ROWS).copied();
    let header_at = top()
        .find(|&i| {
            ["lon", "lat"]
                .iter()
                .all(|f| table.rows[i].1.iter().any(|h| matches(f, h)))
        })
        .or_else(|| top().find(|&i| table.rows[i].1.iter().filter(|c| !c.is_blank()).count() >= 2))
        .or_else(|| non_blank.first().copied());
    let Some(header_at) = header_at else {
        return Err(Error::Invalid(vec![Problem::error(
            file,
            "the ledger holds no rows",
        )]));
    };
    let (header_row, headers) = &table.rows[header_at];
    let mut columns: Vec<Column> = Vec::new();
    for (field, _) in FIELDS {
        if let Some((index, Cell::Text(h))) =
            headers.iter().enumerate().find(|(_, h)| matches(field, h))
        {
            columns.push(Column {
                field,
                index,
                header: h.trim().to_string(),
                letter: column_letter(table.first_column + index),
            });
        }
    }
    for needed in ["lon", "lat"] {
        if !columns.iter().any(|c| c.field == needed) {
            let names = format.names(needed).join(", ");
            let how = if format.named_by_flag(needed) {
                format!("the column --ledger-columns names for it, {names}")
            } else {
                format!("one of: {names}; or name it with --ledger-columns {needed}=<header>")
            };
            let seen: Vec<String> = headers
                .iter()
                .filter_map(|h| match h {
                    Cell::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                    _ => None,
                })
                .collect();
            problems.push(
                Problem::error(
                    file,
                    format!(
                        "the ledger has no {needed} column ({how}); its header row {header_row} has: {}",
                        seen.join(", ")
                    ),
                )
                .field(needed),
            );
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    let mut out: Vec<Household> = Vec::new();
    let mut ids: std::collections::HashMap<Box<str>, usize> = std::collections::HashMap::new();
    for (row, cells) in &table.rows[header_at + 1..] {
        let row = *row;
        if cells.iter().all(Cell::is_blank) {
            continue;
        }
        let named = |c: &Column| {
            if c.header == c.field {
                c.header.clone()
            } else {
                format!("{} ({})", c.header, c.field)
            }
        };
        // The row's id, to name it in every problem of the row.
        let row_id: Option<String> =
            columns
                .iter()
                .find(|c| c.field == "id")
                .and_then(|c| match cells.get(c.index) {
                    Some(Cell::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
                    _ => None,
                });
        let row_id = row_id.as_deref();
        let mut coords = [Value::Null, Value::Null];
        let mut props = Map::new();
        for c in &columns {
            let cell = match cells.get(c.index) {
                Some(Cell::Text(t)) => t.trim(),
                None => "",
                Some(Cell::Bad(why)) => {
                    problems.push(
                        Problem::error(file, why.clone())
                            .at_row(row, row_id)
                            .in_column(c.letter.clone())
                            .field(named(c)),
                    );
                    continue;
                }
            };
            match c.field {
                "lon" | "lat" => {
                    let slot = usize::from(c.field == "lat");
                    match cell.parse::<f64>() {
                        Ok(v) if v.is_finite() => coords[slot] = json!(v),
                        _ => problems.push(
                            Problem::error(
                                file,
                                if cell.is_empty() {
                                    "the cell is empty; every row needs a position".to_string()
                                } else {
                                    format!("\"{cell}\" is not a number")
                                },
                            )
                            .at_row(row, row_id)
                            .in_column(c.letter.clone())
                            .field(named(c)),
                        ),
                    }
                }
                _ if cell.is_empty() => {}
                f if COUNTS.contains(&f) => {
                    let v = cell
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or_else(|_| Value::from(cell));
                    props.insert(f.to_string(), v);
                }
                f => {
                    props.insert(f.to_string(), Value::from(cell));
                }
            }
        }
        if coords.iter().any(Value::is_null) {
            continue;
        }
        let feature = json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coords},
            "properties": props,
        });
        match serde_json::from_value::<super::raw::RawFeature<HouseholdProps>>(feature) {
            Ok(raw) => {
                let before = problems.0.len();
                let h = household(file, row, raw, &mut problems);
                // Name the ledger's own row and column in the problems of this row.
                for p in &mut problems.0[before..] {
                    let mut q = p.clone().at_row(row, row_id);
                    if let Some(field) = &p.field
                        && let Some(c) = columns.iter().find(|c| c.field == field.as_str())
                    {
                        q = q.in_column(c.letter.clone()).field(named(c));
                    }
                    *p = q;
                }
                if let Some(h) = h {
                    if let Some(id) = &h.id
                        && let Some(first) = ids.insert(id.clone(), row)
                    {
                        let mut p =
                            Problem::error(file, format!("duplicate id (also row {first})"))
                                .at_row(row, Some(id))
                                .field("id");
                        if let Some(c) = columns.iter().find(|c| c.field == "id") {
                            p = p.in_column(c.letter.clone()).field(named(c));
                        }
                        problems.push(p);
                    }
                    out.push(h);
                }
            }
            Err(e) => problems.push(Problem::error(file, e.to_string()).at_row(row, row_id)),
        }
    }
    if out.is_empty() && !problems.has_errors() {
        problems.push(Problem::error(file, "the ledger holds no household rows"));
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    place_households(file, out, problems, crs_flag.unwrap_or(WGS84), working)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn the_columns_flag_is_read_and_checked() {
        let f = LedgerFormat::default()
            .with_columns("lon=东经, lat = 北纬，households＝户数合计")
            .unwrap();
        assert_eq!(f.names("lon"), vec!["东经"]);
        assert_eq!(f.names("households"), vec!["户数合计"]);
        assert_eq!(f.names("id"), vec!["id", "户号", "编号"]);
        assert!(LedgerFormat::default().with_columns("lon").is_err());
        assert!(LedgerFormat::default().with_columns("where=地址").is_err());
        assert!(LedgerFormat::default().with_columns("lon=").is_err());
        assert!(LedgerFormat::default().with_columns("lon=a,lon=b").is_err());
    }
}
