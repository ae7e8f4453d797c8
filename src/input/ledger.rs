//! Household ledgers: the spreadsheets planners keep (saved as CSV, UTF-8, with or without a byte-order
//! mark), one row per household or per building/address point, with longitude and latitude columns.
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
//! Other columns are ignored. Each row goes through the same validation as a GeoJSON feature; a bad row
//! is named by its data row (1-based after the header) and column. The CRS is `--crs` (WGS84 by default;
//! GCJ-02 and BD-09 for points collected with phone maps).

use super::{HouseholdProps, household, place_households};
use crate::error::{Error, Result};
use crate::model::Household;
use crate::problem::{Problem, Problems};
use crate::spatial::crs::{Crs, WGS84};
use serde_json::{Map, Value, json};
use std::path::Path;

/// Whether a households path names a ledger: a `.csv` file.
pub fn is_ledger_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// Whether a households file is a ledger: named `.csv`, or (an upload, which has no name) text whose
/// first line is a comma-separated header (GeoJSON starts with `{`).
pub fn is_ledger(file: &str, bytes: &[u8]) -> bool {
    let named = is_ledger_path(Path::new(file));
    let text = super::raw::strip_bom(bytes);
    let head = &text[..text.len().min(4096)];
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let looks = head.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        && !head.contains(&0)
        && first_line.contains(&b',')
        && std::str::from_utf8(first_line).is_ok();
    named || looks
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

/// Reads a ledger from bytes in memory; `file` names it in messages.
pub fn parse_ledger(
    file: &str,
    bytes: &[u8],
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    let bytes = super::raw::strip_bom(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| Error::Invalid(vec![Problem::error(file, format!("not a CSV ledger: {e}"))]))?
        .clone();
    // Column index of each field, and the header as written (for messages).
    let mut columns: Vec<(&str, usize, String)> = Vec::new();
    for (field, names) in FIELDS {
        let found = headers
            .iter()
            .enumerate()
            .find(|(_, h)| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
        if let Some((i, h)) = found {
            columns.push((field, i, h.to_string()));
        }
    }
    let mut problems = Problems::default();
    for needed in ["lon", "lat"] {
        if !columns.iter().any(|(f, _, _)| *f == needed) {
            let names = FIELDS
                .iter()
                .find(|(f, _)| *f == needed)
                .map(|(_, n)| n.join(", "))
                .unwrap_or_default();
            problems.push(
                Problem::error(
                    file,
                    format!("the ledger has no {needed} column (one of: {names})"),
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
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem::error(file, format!("row {row}: {e}")).at(row, None));
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut coords = [Value::Null, Value::Null];
        let mut props = Map::new();
        for (field, col, header) in &columns {
            let cell = record.get(*col).unwrap_or("").trim();
            match *field {
                "lon" | "lat" => {
                    let slot = usize::from(*field == "lat");
                    match cell.parse::<f64>() {
                        Ok(v) if v.is_finite() => coords[slot] = json!(v),
                        _ => problems.push(
                            Problem::error(
                                file,
                                format!("\"{cell}\" in column {header} is not a number"),
                            )
                            .at(row, None)
                            .field(header.as_str()),
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
                // Name the ledger's own column in the problems of this row.
                for p in &mut problems.0[before..] {
                    if let Some(field) = &p.field
                        && let Some((_, _, header)) = columns.iter().find(|(f, _, _)| f == field)
                        && header != field
                    {
                        p.field = Some(format!("{header} ({field})"));
                    }
                }
                if let Some(h) = h {
                    if let Some(id) = &h.id
                        && let Some(first) = ids.insert(id.clone(), row)
                    {
                        problems.push(
                            Problem::error(file, format!("duplicate id (also row {first})"))
                                .at(row, Some(id))
                                .field("id"),
                        );
                    }
                    out.push(h);
                }
            }
            Err(e) => problems.push(Problem::error(file, format!("row {row}: {e}")).at(row, None)),
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
