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
//!
//! A ledger is read row by row, within the memory its own size allows: a CSV record by record, an
//! XLSX sheet cell by cell as stored (a stray cell at XFD1048576 is one more cell, not a sheet of
//! 17 billion). A row of more than 16,384 columns is refused, named. A workbook's parts are sized
//! before any is read: unpacked, all of them within the input cap (`--max-input-mb`), its shared
//! strings within a quarter of it, and no part larger than 1 MiB packed more than 100 times (a zip
//! bomb). XLS and ODS workbooks are read through calamine's whole-sheet range.

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

/// The most columns a ledger row may have: a sheet's own limit (column XFD). A row past it is refused,
/// named, before its cells are kept.
pub const MAX_COLUMNS: usize = 16_384;

/// The most a workbook's shared strings (its table of distinct texts, read whole) may unpack to, as a
/// share of the input cap (`--max-input-mb`): a quarter.
const SHARED_STRINGS_SHARE: u64 = 4;

/// The most a part of a workbook larger than [`RATIO_CHECKED_FROM`] may unpack to per byte packed.
/// Spreadsheet XML packs 5 to 30 times; a part packed further is a zip bomb (the rule Apache POI
/// applies to the same files).
const MAX_UNPACK_RATIO: u64 = 100;

/// Parts smaller than this unpacked are not held to [`MAX_UNPACK_RATIO`].
const RATIO_CHECKED_FROM: u64 = 1 << 20;

/// One row as read: its number as the spreadsheet shows it (1-based) and its cells that are not blank,
/// each with its column (0-based from column A), left to right.
struct Row {
    number: usize,
    cells: Vec<(usize, Cell)>,
}

impl Row {
    fn get(&self, column: usize) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, cell)| cell)
    }

    fn is_blank(&self) -> bool {
        self.cells.iter().all(|(_, c)| c.is_blank())
    }
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

fn too_wide(file: &str, row: usize, columns: usize) -> Error {
    Error::Invalid(vec![
        Problem::error(
            file,
            format!(
                "the row has {columns} columns, past the {MAX_COLUMNS} a ledger may have (a sheet's \
                 own limit, column XFD)"
            ),
        )
        .at_row(row, None),
    ])
}

/// A CSV ledger read record by record: only the row in hand is held as cells.
fn csv_rows(file: &str, bytes: &[u8], sink: &mut dyn RowSink) -> Result<()> {
    let bytes = super::raw::strip_bom(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let mut i = 0usize;
    loop {
        i += 1;
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(i, |p| p.line() as usize);
                if record.len() > MAX_COLUMNS {
                    return Err(too_wide(file, line, record.len()));
                }
                let cells = record
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.is_empty())
                    .map(|(k, c)| (k, Cell::Text(c.to_string())))
                    .collect();
                if sink.row(Row {
                    number: line,
                    cells,
                })? {
                    return Ok(());
                }
            }
            Err(e) => {
                let line = e.position().map_or(i, |p| p.line() as usize);
                sink.problem(Problem::error(file, format!("unreadable: {e}")).at_row(line, None));
            }
        }
    }
}

/// Where a ledger's rows go as they are read: `row` answers `true` when no more are wanted.
trait RowSink {
    fn row(&mut self, row: Row) -> Result<bool>;
    fn problem(&mut self, problem: Problem);
}

fn cell_of(d: &calamine::DataRef<'_>) -> Cell {
    use calamine::{DataRef, DataType};
    match d {
        DataRef::Empty => Cell::Text(String::new()),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Cell::Text(s.clone())
        }
        DataRef::SharedString(s) => Cell::Text(s.to_string()),
        DataRef::Int(i) => Cell::Text(i.to_string()),
        // Spreadsheets store every number as a float: a whole one reads as an integer.
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
            Cell::Text((*f as i64).to_string())
        }
        DataRef::Float(f) => Cell::Text(f.to_string()),
        DataRef::Bool(b) => Cell::Text(b.to_string()),
        DataRef::DateTime(_) => Cell::Bad(format!(
            "the cell holds a date or time ({}), not text or a number",
            d.as_f64().unwrap_or_default()
        )),
        DataRef::Error(e) => Cell::Bad(format!("the cell holds the error value {e}")),
    }
}

/// Cells in sheet order (`(row, column)` 0-based, as calamine's streaming readers give them) grouped
/// into rows and handed on one at a time, blank cells left out.
fn rows_of_cells(
    file: &str,
    mut next: impl FnMut() -> std::result::Result<Option<((u32, u32), Cell)>, String>,
    sink: &mut dyn RowSink,
) -> Result<()> {
    let unreadable = |e: String| Error::Invalid(vec![Problem::error(file, e)]);
    let mut row: Option<Row> = None;
    loop {
        let cell = next().map_err(|e| unreadable(format!("the sheet cannot be read: {e}")))?;
        let number = cell.as_ref().map(|((r, _), _)| *r as usize + 1);
        if let Some(done) = row.take_if(|r| Some(r.number) != number)
            && sink.row(done)?
        {
            return Ok(());
        }
        let Some(((r, c), cell)) = cell else {
            return Ok(());
        };
        let (r, c) = (r as usize + 1, c as usize);
        if c >= MAX_COLUMNS {
            return Err(too_wide(file, r, c + 1));
        }
        if cell.is_blank() {
            row.get_or_insert_with(|| Row {
                number: r,
                cells: Vec::new(),
            });
            continue;
        }
        let held = row.get_or_insert_with(|| Row {
            number: r,
            cells: Vec::new(),
        });
        if held.cells.len() >= MAX_COLUMNS {
            return Err(too_wide(file, r, held.cells.len() + 1));
        }
        held.cells.push((c, cell));
    }
}

/// A workbook's parts checked before any is read: a ZIP workbook (XLSX, XLSB, ODS) may unpack to no
/// more than the input cap in all, its shared strings (read whole) to a quarter of it, and no large part
/// may unpack more than [`MAX_UNPACK_RATIO`] times its packed size. The ZIP reader then holds every part
/// to its declared size.
fn check_zip(file: &str, bytes: &[u8]) -> Result<()> {
    use std::io::Read;
    let refuse = |message: String| Error::Invalid(vec![Problem::error(file, message)]);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| refuse(format!("not a readable workbook (XLSX, XLS or ODS): {e}")))?;
    let cap = super::file::max_input_bytes();
    let cap_mb = cap >> 20;
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    let mut total: u64 = 0;
    let mut shared: Option<usize> = None;
    for i in 0..zip.len() {
        let part = zip
            .by_index_raw(i)
            .map_err(|e| refuse(format!("not a readable workbook: {e}")))?;
        let name = part.name().map(|n| n.to_string()).unwrap_or_default();
        let (size, packed) = (part.size(), part.compressed_size());
        total = total.saturating_add(size);
        if size >= RATIO_CHECKED_FROM && size / packed.max(1) > MAX_UNPACK_RATIO {
            return Err(refuse(format!(
                "part {name} unpacks to {:.1} MiB from {} bytes ({} times), past the {MAX_UNPACK_RATIO} \
                 times a spreadsheet packs: a zip bomb, not a ledger",
                mib(size),
                packed,
                size / packed.max(1)
            )));
        }
        let base = name.rsplit('/').next().unwrap_or_default();
        if base.eq_ignore_ascii_case("sharedStrings.xml")
            || base.eq_ignore_ascii_case("sharedStrings.bin")
        {
            if size > cap / SHARED_STRINGS_SHARE {
                return Err(refuse(format!(
                    "part {name} (the workbook's shared strings, read whole) unpacks to {:.1} MiB, past \
                     a quarter of the input cap of {cap_mb} MiB (--max-input-mb {cap_mb}); pass a larger \
                     --max-input-mb to read it",
                    mib(size)
                )));
            }
            if base.ends_with(".xml") {
                shared = Some(i);
            }
        }
    }
    if total > cap {
        return Err(refuse(format!(
            "the workbook unpacks to {:.1} MiB, past the input cap of {cap_mb} MiB (--max-input-mb \
             {cap_mb}); pass a larger --max-input-mb to read it",
            mib(total)
        )));
    }
    // The shared strings' declared count is reserved at once: it may not claim more strings than
    // its part could hold (five bytes, `<si/>`, each at least).
    if let Some(i) = shared {
        let mut part = zip
            .by_index(i)
            .map_err(|e| refuse(format!("not a readable workbook: {e}")))?;
        let size = part.size();
        let mut head = Vec::with_capacity(4096);
        (&mut part)
            .take(4096)
            .read_to_end(&mut head)
            .map_err(|e| refuse(format!("the shared strings cannot be read: {e}")))?;
        if let Some(n) = declared_unique_count(&head)
            && n > size / 5 + 1
        {
            return Err(refuse(format!(
                "the shared strings claim {n} distinct texts in {size} bytes: a damaged or hostile workbook"
            )));
        }
    }
    Ok(())
}

/// The `uniqueCount` attribute of a shared-strings part's `<sst>` element, when its first bytes hold it.
fn declared_unique_count(head: &[u8]) -> Option<u64> {
    let at = head.windows(3).position(|w| w == b"sst")?;
    let tag = &head[at..];
    let tag = &tag[..tag.iter().position(|&b| b == b'>').unwrap_or(tag.len())];
    let key = b"uniqueCount";
    let k = tag.windows(key.len()).position(|w| w == key)?;
    let rest = &tag[k + key.len()..];
    let digits: Vec<u8> = rest
        .iter()
        .skip_while(|b| matches!(b, b'=' | b'"' | b'\'' | b' '))
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    // A count too long for a u64 is as absurd as the largest one.
    Some(
        std::str::from_utf8(&digits)
            .ok()?
            .parse()
            .unwrap_or(u64::MAX),
    )
}

/// The sheet a ledger is read from: the one named, else the first.
fn pick_sheet(file: &str, names: &[String], sheet: Option<&str>) -> Result<String> {
    let invalid = |message: String| Error::Invalid(vec![Problem::error(file, message)]);
    match sheet {
        Some(s) => names
            .iter()
            .find(|n| n.as_str() == s)
            .cloned()
            .ok_or_else(|| {
                invalid(format!(
                    "no sheet \"{s}\" (--ledger-sheet); the workbook has: {}",
                    names.join(", ")
                ))
            }),
        None => names
            .first()
            .cloned()
            .ok_or_else(|| invalid("the workbook has no sheet".to_string())),
    }
}

/// A workbook's sheet read row by row into `sink`; the sheet's name. XLSX and XLSB are read cell by
/// cell as stored (a cell far off, at XFD1048576, costs one cell, not the sheet's whole rectangle);
/// XLS and ODS through calamine's whole-sheet range.
fn workbook_rows(
    file: &str,
    bytes: &[u8],
    sheet: Option<&str>,
    sink: &mut dyn RowSink,
) -> Result<String> {
    use calamine::Reader;
    let invalid = |message: String| Error::Invalid(vec![Problem::error(file, message)]);
    let cursor = || std::io::Cursor::new(bytes);
    if bytes.starts_with(b"PK") {
        check_zip(file, bytes)?;
        if let Ok(mut book) = calamine::Xlsx::new(cursor()) {
            let name = pick_sheet(file, &book.sheet_names(), sheet)?;
            let mut cells = book
                .worksheet_cells_reader(&name)
                .map_err(|e| invalid(format!("sheet \"{name}\" cannot be read: {e}")))?;
            rows_of_cells(
                file,
                || {
                    cells
                        .next_cell()
                        .map(|c| c.map(|c| (c.get_position(), cell_of(c.get_value()))))
                        .map_err(|e| e.to_string())
                },
                sink,
            )
            .map_err(|e| on_sheet(e, &name))?;
            return Ok(name);
        }
        if let Ok(mut book) = calamine::Xlsb::new(cursor()) {
            let name = pick_sheet(file, &book.sheet_names(), sheet)?;
            let mut cells = book
                .worksheet_cells_reader(&name)
                .map_err(|e| invalid(format!("sheet \"{name}\" cannot be read: {e}")))?;
            rows_of_cells(
                file,
                || {
                    cells
                        .next_cell()
                        .map(|c| c.map(|c| (c.get_position(), cell_of(c.get_value()))))
                        .map_err(|e| e.to_string())
                },
                sink,
            )
            .map_err(|e| on_sheet(e, &name))?;
            return Ok(name);
        }
    }
    let mut book = calamine::open_workbook_auto_from_rs(cursor())
        .map_err(|e| invalid(format!("not a readable workbook (XLSX, XLS or ODS): {e}")))?;
    let name = pick_sheet(file, &book.sheet_names(), sheet)?;
    let range = book
        .worksheet_range(&name)
        .map_err(|e| invalid(format!("sheet \"{name}\" cannot be read: {e}")))?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let mut used = range
        .used_cells()
        .map(|(r, c, d)| ((top + r as u32, left + c as u32), data_cell(d)));
    rows_of_cells(file, || Ok(used.next()), sink).map_err(|e| on_sheet(e, &name))?;
    Ok(name)
}

/// A whole-sheet reader's cell as read.
fn data_cell(d: &calamine::Data) -> Cell {
    use calamine::Data;
    match d {
        Data::Empty => Cell::Text(String::new()),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Text(i.to_string()),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Cell::Text((*f as i64).to_string()),
        Data::Float(f) => Cell::Text(f.to_string()),
        Data::Bool(b) => Cell::Text(b.to_string()),
        Data::DateTime(d) => Cell::Bad(format!(
            "the cell holds a date or time ({}), not text or a number",
            d.as_f64()
        )),
        Data::Error(e) => Cell::Bad(format!("the cell holds the error value {e}")),
    }
}

/// An error met reading a sheet, its problems named by the sheet.
fn on_sheet(e: Error, sheet: &str) -> Error {
    match e {
        Error::Invalid(ps) => Error::Invalid(ps.into_iter().map(|p| p.on_sheet(sheet)).collect()),
        e => e,
    }
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

/// One column the ledger reads: the field, its column (0-based from A), its header as written, its
/// letter.
struct Column {
    field: &'static str,
    index: usize,
    header: String,
    letter: String,
}

/// [`parse_ledger`] with a format of the caller's choosing. In a workbook, every problem also names
/// the sheet. Rows are read one at a time: what is held is the rows above the header (at most ten),
/// the row in hand and the households read so far.
pub fn parse_ledger_as(
    file: &str,
    bytes: &[u8],
    format: &LedgerFormat,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    let mut reader = Ledger {
        file,
        format,
        problems: Problems::default(),
        top: Vec::new(),
        columns: None,
        out: Vec::new(),
        ids: std::collections::HashMap::new(),
    };
    if !super::file::is_workbook(bytes) {
        let read = csv_rows(file, bytes, &mut reader);
        return read.and_then(|()| reader.finish(crs_flag, working));
    }
    let sheet = workbook_rows(file, bytes, format.sheet.as_deref(), &mut reader)?;
    let name =
        |ps: Vec<Problem>| -> Vec<Problem> { ps.into_iter().map(|p| p.on_sheet(&sheet)).collect() };
    match reader.finish(crs_flag, working) {
        Ok((out, problems)) => Ok((out, Problems(name(problems.0)))),
        Err(Error::Invalid(ps)) => Err(Error::Invalid(name(ps))),
        Err(e) => Err(e),
    }
}

/// A ledger being read row by row.
struct Ledger<'a> {
    file: &'a str,
    format: &'a LedgerFormat,
    problems: Problems,
    /// The non-blank rows read while looking for the header row.
    top: Vec<Row>,
    /// The columns read, once the header row is found.
    columns: Option<Vec<Column>>,
    out: Vec<Household>,
    ids: std::collections::HashMap<Box<str>, usize>,
}

impl RowSink for Ledger<'_> {
    fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn row(&mut self, row: Row) -> Result<bool> {
        if row.is_blank() {
            return Ok(false);
        }
        if self.columns.is_some() {
            self.household_row(&row);
            return Ok(false);
        }
        // The header row: the first of the top rows naming both coordinates.
        let both = ["lon", "lat"]
            .iter()
            .all(|f| row.cells.iter().any(|(_, h)| self.matches(f, h)));
        if both {
            self.columns = Some(self.columns_of(&row));
            self.top.clear();
            return Ok(false);
        }
        self.top.push(row);
        Ok(self.top.len() >= HEADER_SEARCH_ROWS)
    }
}

impl Ledger<'_> {
    fn matches(&self, field: &str, header: &Cell) -> bool {
        match header {
            Cell::Text(h) => self
                .format
                .names(field)
                .iter()
                .any(|n| h.trim().eq_ignore_ascii_case(n.trim())),
            Cell::Bad(_) => false,
        }
    }

    fn columns_of(&self, header: &Row) -> Vec<Column> {
        let mut columns = Vec::new();
        for (field, _) in FIELDS {
            if let Some((index, Cell::Text(h))) =
                header.cells.iter().find(|(_, h)| self.matches(field, h))
            {
                columns.push(Column {
                    field,
                    index: *index,
                    header: h.trim().to_string(),
                    letter: column_letter(*index),
                });
            }
        }
        columns
    }

    fn finish(mut self, crs_flag: Option<Crs>, working: Crs) -> Result<(Vec<Household>, Problems)> {
        let file = self.file;
        if self.columns.is_none() {
            // No row names both coordinates: name what the header row has (the first with two cells
            // or more: a title row has one; else the first non-blank).
            let Some(header) = self
                .top
                .iter()
                .find(|r| r.cells.iter().filter(|(_, c)| !c.is_blank()).count() >= 2)
                .or_else(|| self.top.first())
            else {
                return Err(Error::Invalid(vec![Problem::error(
                    file,
                    "the ledger holds no rows",
                )]));
            };
            let columns = self.columns_of(header);
            for needed in ["lon", "lat"] {
                if columns.iter().any(|c| c.field == needed) {
                    continue;
                }
                let names = self.format.names(needed).join(", ");
                let how = if self.format.named_by_flag(needed) {
                    format!("the column --ledger-columns names for it, {names}")
                } else {
                    format!("one of: {names}; or name it with --ledger-columns {needed}=<header>")
                };
                let seen: Vec<String> = header
                    .cells
                    .iter()
                    .filter_map(|(_, h)| match h {
                        Cell::Text(t) if !t.trim().is_empty() => Some(t.trim().to_string()),
                        _ => None,
                    })
                    .collect();
                self.problems.push(
                    Problem::error(
                        file,
                        format!(
                            "the ledger has no {needed} column ({how}); its header row {} has: {}",
                            header.number,
                            seen.join(", ")
                        ),
                    )
                    .field(needed),
                );
            }
            return Err(Error::Invalid(self.problems.0));
        }
        let mut problems = self.problems;
        if self.out.is_empty() && !problems.has_errors() {
            problems.push(Problem::error(file, "the ledger holds no household rows"));
        }
        if problems.has_errors() {
            return Err(Error::Invalid(problems.0));
        }
        place_households(file, self.out, problems, crs_flag.unwrap_or(WGS84), working)
    }

    /// One row below the header read as a household; its problems named by row and column.
    fn household_row(&mut self, row: &Row) {
        let file = self.file;
        let Some(columns) = &self.columns else {
            return;
        };
        let problems = &mut self.problems;
        let number = row.number;
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
                .and_then(|c| match row.get(c.index) {
                    Some(Cell::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
                    _ => None,
                });
        let row_id = row_id.as_deref();
        let mut coords = [Value::Null, Value::Null];
        let mut props = Map::new();
        for c in columns {
            let cell = match row.get(c.index) {
                Some(Cell::Text(t)) => t.trim(),
                None => "",
                Some(Cell::Bad(why)) => {
                    problems.push(
                        Problem::error(file, why.clone())
                            .at_row(number, row_id)
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
                            .at_row(number, row_id)
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
            return;
        }
        let feature = json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coords},
            "properties": props,
        });
        match serde_json::from_value::<super::raw::RawFeature<HouseholdProps>>(feature) {
            Ok(raw) => {
                let before = problems.0.len();
                let h = household(file, number, raw, problems);
                // Name the ledger's own row and column in the problems of this row.
                for p in &mut problems.0[before..] {
                    let mut q = p.clone().at_row(number, row_id);
                    if let Some(field) = &p.field
                        && let Some(c) = columns.iter().find(|c| c.field == field.as_str())
                    {
                        q = q.in_column(c.letter.clone()).field(named(c));
                    }
                    *p = q;
                }
                if let Some(h) = h {
                    if let Some(id) = &h.id
                        && let Some(first) = self.ids.insert(id.clone(), number)
                    {
                        let mut p =
                            Problem::error(file, format!("duplicate id (also row {first})"))
                                .at_row(number, Some(id))
                                .field("id");
                        if let Some(c) = columns.iter().find(|c| c.field == "id") {
                            p = p.in_column(c.letter.clone()).field(named(c));
                        }
                        problems.push(p);
                    }
                    self.out.push(h);
                }
            }
            Err(e) => problems.push(Problem::error(file, e.to_string()).at_row(number, row_id)),
        }
    }
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
