//! Grid workers (网格员): reading them from GeoJSON points or CSV, validated, into the working CRS.

use crate::error::{Error, Result};
use crate::input::raw::{RawFeature, id_text, read_collection, text};
use crate::lang::Lang;
use crate::lang::messages::{Msg, msg};
use crate::model::{Contact, TownCode, Worker, WorkerType};
use crate::problem::{Problem, Problems};
use crate::rules::WorkerHours;
use crate::spatial::crs::{Crs, Transform, WGS84};
use geo::Coord;
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// One worker's fields before validation, whatever the file format.
struct RawWorker {
    index: usize,
    id: Option<String>,
    kind: Option<String>,
    hours: Option<Value>,
    town: Option<String>,
    status: Option<String>,
    previous: Vec<String>,
    /// Personal data (the worker's name and phone), for the planner's ledger and atlas only.
    name: Option<String>,
    phone: Option<String>,
    at: Result<Coord, Msg>,
}

/// Reads workers from GeoJSON (`.geojson`, `.json`) or CSV (anything else, with `lon,lat` columns).
/// `towns` are the known town codes: a worker naming another town is an error.
pub fn read_workers(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
    hours: &WorkerHours,
    towns: &BTreeSet<TownCode>,
) -> Result<(Vec<Worker>, Problems)> {
    let bytes = crate::input::file::read_input(path, crate::input::file::Expect::Text)?;
    parse_workers(
        &path.display().to_string(),
        &bytes,
        crs_flag,
        working,
        hours,
        towns,
    )
}

/// [`read_workers`] from bytes already in memory: GeoJSON when they start with `{`, else CSV.
pub fn parse_workers(
    file: &str,
    bytes: &[u8],
    crs_flag: Option<Crs>,
    working: Crs,
    hours: &WorkerHours,
    towns: &BTreeSet<TownCode>,
) -> Result<(Vec<Worker>, Problems)> {
    let file = file.to_string();
    let bytes = crate::input::raw::strip_bom(bytes);
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let mut problems = Problems::default();
    let (raw, crs, what) = if is_json {
        let (raw, crs) = read_geojson(&file, bytes, crs_flag, &mut problems)?;
        (raw, crs, ("feature", "要素"))
    } else {
        (
            read_csv(&file, bytes, &mut problems)?,
            crs_flag.unwrap_or(WGS84),
            ("row", "CSV 行"),
        )
    };
    let at = |p: Problem, index: usize, id: Option<&str>| {
        let p = p.at(index, id);
        if what.0 == "row" {
            let row = msg!(CsvRow, index = index).arg_in(
                "why",
                p.message.clone(),
                p.message_zh.clone().unwrap_or_else(|| p.message.clone()),
            );
            Problem {
                message: row.text(Lang::En),
                message_zh: p.message_zh.is_some().then(|| row.text(Lang::Zh)),
                ..p
            }
        } else {
            p
        }
    };
    let mut workers = Vec::with_capacity(raw.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in raw {
        let before = problems.0.len();
        let id = match r.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => id.to_string(),
            None => {
                problems.push(at(
                    Problem::error(&file, msg!(WorkerNoId)).field("id"),
                    r.index,
                    None,
                ));
                continue;
            }
        };
        let idr = Some(id.as_str());
        if let Some(first) = seen.insert(id.clone(), r.index) {
            problems.push(at(
                Problem::error(
                    &file,
                    msg!(WorkerDuplicateId, first = first).arg_in("what", what.0, what.1),
                )
                .field("id"),
                r.index,
                idr,
            ));
        }
        let kind = match r.kind.as_deref() {
            None => WorkerType::FullTime,
            Some(k) => match WorkerType::parse(k) {
                Some(t) => t,
                None => {
                    problems.push(at(
                        Problem::error(&file, msg!(UnknownWorkerType, found = k)).field("type"),
                        r.index,
                        idr,
                    ));
                    WorkerType::FullTime
                }
            },
        };
        let hours = match &r.hours {
            None => kind.default_hours(hours),
            Some(v) => match crate::input::raw::number(v) {
                Ok(h) if h >= 0.0 => h,
                Ok(h) => {
                    problems.push(at(
                        Problem::error(&file, msg!(NegativeHours, hours = h)).field("hours"),
                        r.index,
                        idr,
                    ));
                    0.0
                }
                Err(e) => {
                    problems.push(at(Problem::error(&file, e).field("hours"), r.index, idr));
                    0.0
                }
            },
        };
        let town = match r.town.as_deref().map(TownCode::new) {
            Some(t) if towns.contains(&t) => t,
            Some(t) => {
                problems.push(at(
                    Problem::error(
                        &file,
                        msg!(
                            UnknownWorkerTown,
                            town = t,
                            known = towns
                                .iter()
                                .map(TownCode::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .field("town"),
                    r.index,
                    idr,
                ));
                TownCode::default()
            }
            None => {
                problems.push(at(
                    Problem::error(&file, msg!(WorkerNoTown)).field("town"),
                    r.index,
                    idr,
                ));
                TownCode::default()
            }
        };
        let active = match r.status.as_deref().map(|s| s.trim().to_ascii_lowercase()) {
            None => true,
            Some(s) if s == "active" || s.is_empty() => true,
            Some(s) if s == "exited" => false,
            Some(s) => {
                problems.push(at(
                    Problem::error(&file, msg!(UnknownWorkerStatus, found = s)).field("status"),
                    r.index,
                    idr,
                ));
                true
            }
        };
        let home = match r.at {
            Ok(c) => c,
            Err(e) => {
                problems.push(at(Problem::error(&file, e).field("geometry"), r.index, idr));
                Coord { x: 0.0, y: 0.0 }
            }
        };
        if problems.0.len() == before {
            if let Some(m) = crs.implausible(home) {
                problems.push(at(
                    Problem::error(&file, m).field("geometry.coordinates"),
                    r.index,
                    idr,
                ));
                continue;
            }
            workers.push(Worker {
                feature: r.index,
                id,
                kind,
                hours,
                town,
                active,
                previous_grids: r.previous,
                home,
                contact: Contact::new(r.name, r.phone),
            });
        }
    }
    if workers.is_empty() && !problems.has_errors() {
        problems.push(Problem::error(&file, msg!(NoWorkers)));
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    let transform = Transform::new(crs, working)?;
    let mut homes: Vec<Coord> = workers.iter().map(|w| w.home).collect();
    transform.apply(&mut homes)?;
    for (w, h) in workers.iter_mut().zip(homes) {
        w.home = h;
    }
    Ok((workers, problems))
}

/// The towns a workers file names that are not among `towns`, each with how many workers name it
/// (every worker, active or exited: each would be refused). Reads the file as [`parse_workers`] does;
/// a file that cannot be read at all is an error, one with problems of other fields is counted all
/// the same.
pub fn towns_missing(
    file: &str,
    bytes: &[u8],
    towns: &BTreeSet<TownCode>,
) -> Result<std::collections::BTreeMap<TownCode, usize>> {
    let bytes = crate::input::raw::strip_bom(bytes);
    let is_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let mut problems = Problems::default();
    let raw = if is_json {
        read_geojson(file, bytes, None, &mut problems)?.0
    } else {
        read_csv(file, bytes, &mut problems)?
    };
    let mut missing = std::collections::BTreeMap::new();
    for t in raw.iter().filter_map(|r| r.town.as_deref()) {
        let t = TownCode::new(t);
        if !t.as_str().is_empty() && !towns.contains(&t) {
            *missing.entry(t).or_insert(0) += 1;
        }
    }
    Ok(missing)
}

fn previous_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().filter_map(id_text).collect(),
        Value::String(s) => split_list(s),
        _ => Vec::new(),
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split([';', '|', ' ', ','])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn read_geojson(
    file: &str,
    bytes: &[u8],
    crs_flag: Option<Crs>,
    problems: &mut Problems,
) -> Result<(Vec<RawWorker>, Crs)> {
    let mut out = Vec::new();
    let header = read_collection::<Map<String, Value>, _>(
        file,
        bytes,
        |index, f: RawFeature<Map<String, Value>>| {
            let p = f.properties.unwrap_or_default();
            let get = |k: &str| p.get(k).filter(|v| !v.is_null());
            let id =
                f.id.as_ref()
                    .and_then(id_text)
                    .or_else(|| get("id").and_then(id_text));
            let mut str_field = |k: &str| match get(k).map(text) {
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    problems.push(Problem::error(file, e).at(index, id.as_deref()).field(k));
                    None
                }
                None => None,
            };
            let kind = str_field("type");
            let town = str_field("town");
            let status = str_field("status");
            let name = str_field("name");
            let phone = str_field("phone");
            let at = match &f.geometry {
                Some(g) if g.kind.as_deref() == Some("Point") => g
                    .coordinates
                    .as_ref()
                    .ok_or_else(|| msg!(PointNoCoordinates))
                    .and_then(crate::input::geom::position),
                Some(g) => Err(msg!(
                    WorkerNotPoint,
                    found = g.kind.as_deref().unwrap_or("missing")
                )),
                None => Err(msg!(WorkerNoGeometry)),
            };
            out.push(RawWorker {
                index,
                id,
                kind,
                hours: get("hours").cloned(),
                town,
                status,
                previous: get("previous_grids").map(previous_list).unwrap_or_default(),
                name,
                phone,
                at,
            });
        },
    )
    .map_err(|p| Error::Invalid(vec![p]))?;
    let crs = crate::input::resolve_crs(file, header.crs.as_ref(), crs_flag)
        .map_err(|p| Error::Invalid(vec![p]))?;
    crate::input::note_web_map(file, crs, problems);
    Ok((out, crs))
}

fn read_csv(file: &str, bytes: &[u8], problems: &mut Problems) -> Result<Vec<RawWorker>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Invalid(vec![Problem::error(file, msg!(NotCsv, why = e))]))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(lon), Some(lat)) = (col("lon").or(col("x")), col("lat").or(col("y"))) else {
        return Err(Error::Invalid(vec![
            Problem::error(file, msg!(CsvNoLonLat)).field("lon"),
        ]));
    };
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let index = n + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(
                    Problem::error(file, msg!(CsvRowUnreadable, index = index, why = e))
                        .at(index, None),
                );
                continue;
            }
        };
        let get = |name: &str| {
            col(name)
                .and_then(|i| record.get(i))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let coord = |i: usize, name: &str| -> Result<f64, Msg> {
            let s = record.get(i).unwrap_or("");
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| msg!(CsvCoordinate, name = name, value = s))
        };
        let at = coord(lon, "lon").and_then(|x| coord(lat, "lat").map(|y| Coord { x, y }));
        let hours = get("hours").map(|h| match h.parse::<f64>() {
            Ok(v) => serde_json::Number::from_f64(v)
                .map(Value::Number)
                .unwrap_or(Value::String(h)),
            Err(_) => Value::String(h),
        });
        out.push(RawWorker {
            index,
            id: get("id"),
            kind: get("type"),
            hours,
            town: get("town"),
            status: get("status"),
            previous: get("previous_grids")
                .map(|s| split_list(&s))
                .unwrap_or_default(),
            name: get("name"),
            phone: get("phone"),
            at,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(file: &str, bytes: &str) -> Result<Vec<Worker>> {
        let towns: BTreeSet<TownCode> = [TownCode::new("320116001000")].into();
        parse_workers(
            file,
            bytes.as_bytes(),
            None,
            WGS84,
            &WorkerHours::default(),
            &towns,
        )
        .map(|(w, _)| w)
    }

    #[test]
    fn names_and_phones_are_read_from_geojson_and_csv_and_blank_ones_are_absent() {
        let geojson = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[118.8,32.3]},
             "properties":{"id":"W1","town":"320116001000","name":" 王伟 ","phone":13900000001}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[118.8,32.3]},
             "properties":{"id":"W2","town":"320116001000","name":"","phone":null}}]}"#;
        let w = read("workers.geojson", geojson).unwrap_or_default();
        assert_eq!(
            w.iter().map(|w| w.contact.clone()).collect::<Vec<_>>(),
            vec![
                Contact::new(Some("王伟".into()), Some("13900000001".into())),
                Contact::default()
            ]
        );
        let csv = "id,town,lon,lat,name,phone\nW1,320116001000,118.8,32.3,李娜,13900000002\nW2,320116001000,118.8,32.3,,\n";
        let w = read("workers.csv", csv).unwrap_or_default();
        assert_eq!(w[0].contact.name.as_deref(), Some("李娜"));
        assert_eq!(w[0].contact.phone.as_deref(), Some("13900000002"));
        assert_eq!(w[1].contact, Contact::default());
        // Older files without the columns read as before.
        let old = "id,town,lon,lat\nW1,320116001000,118.8,32.3\n";
        assert_eq!(
            read("old.csv", old).unwrap_or_default()[0].contact,
            Contact::default()
        );
    }

    #[test]
    fn a_phone_that_is_not_text_names_the_field() {
        let geojson = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[118.8,32.3]},
             "properties":{"id":"W1","town":"320116001000","phone":{"mobile":1}}}]}"#;
        let e = read("workers.geojson", geojson)
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| e.contains("workers.geojson") && e.contains("`phone`")),
            "{e:?}"
        );
    }
}
