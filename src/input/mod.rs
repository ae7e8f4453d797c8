//! Reading inputs: GeoJSON households, boundaries and grids, in any CRS PROJ knows, into the working CRS.
//!
//! Each reader parses its file once, streaming the features (see [`raw`]), checks every feature and
//! collects every problem, then reprojects the coordinates into the working CRS in place. A file with
//! errors gives [`Error::Invalid`] listing all of them; warnings come back beside the data.

pub mod dataset;
pub mod fast;
pub mod fgb;
pub mod file;
pub mod geom;
pub mod layers;
pub mod ledger;
pub mod raw;
pub mod stream;
pub mod workers;

use crate::error::{Error, Result};
use crate::lang::messages::msg;
use crate::model::{Area, Date, GridKind, GridRecord, GridShape, Household, Sensitive};
use crate::problem::{Problem, Problems};
use crate::rules::Rules;
use crate::spatial::crs::{Crs, Transform, WGS84};
use crate::spatial::geometry;
use geo::{BoundingRect, Coord, MultiPolygon};
use raw::{RawFeature, count, id_text, read_collection, text};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::Path;

pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    file::read_input(path, file::Expect::JsonObject)
}

/// Reads a rules file over the defaults.
pub fn read_rules(path: &Path) -> Result<Rules> {
    let bytes = file::read_input(path, file::Expect::Text)?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Rules {
        path: path.to_path_buf(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    Rules::from_toml(&text).map_err(|message| Error::Rules {
        path: path.to_path_buf(),
        message,
    })
}

/// The rules file when one is given, else the defaults.
pub fn load_rules(path: Option<&Path>) -> Result<Rules> {
    path.map_or_else(|| Ok(Rules::default()), read_rules)
}

pub(crate) fn display(path: &Path) -> String {
    path.display().to_string()
}

/// The CRS of a file: the file's own legacy `crs` member (or FlatGeobuf header) when it names one,
/// else `--crs`, else WGS84 (RFC 7946). The file's own word wins: a grids file gridplan wrote in
/// CGCS2000 (`--out-crs`) stays CGCS2000 when the households beside it are read with `--crs GCJ02`.
pub(crate) fn resolve_crs(
    file: &str,
    member: Option<&Value>,
    flag: Option<Crs>,
) -> Result<Crs, Problem> {
    match member {
        None | Some(Value::Null) => Ok(flag.unwrap_or(WGS84)),
        Some(m) => Crs::from_member(m).map_err(|e| Problem::error(file, e).field("crs")),
    }
}

/// Says in the report how a Chinese web-map CRS was read (a note at warning level: never silent).
pub fn note_web_map(file: &str, crs: Crs, problems: &mut Problems) {
    if crs.is_web_map() {
        problems.push(Problem::warning(
            file,
            format!(
                "coordinates read as {crs} (Chinese web-map offset) and converted to WGS84 with the published \
                 GCJ-02 offset formulas{}, inverted by iteration to under a millimetre",
                if crs == crate::spatial::crs::BD09 { " after Baidu's BD-09 → GCJ-02 inverse" } else { "" }
            ),
        ));
    }
}

fn finish<T>(items: T, problems: Problems) -> Result<(T, Problems)> {
    if problems.has_errors() {
        Err(Error::Invalid(problems.0))
    } else {
        Ok((items, problems))
    }
}

/// The text of a feature's id: the `id` member, else the `id` property.
pub(crate) fn feature_id(member: Option<&Value>, property: Option<&Value>) -> Option<String> {
    member
        .and_then(id_text)
        .or_else(|| property.and_then(id_text))
}

pub(crate) fn check_feature_type(
    file: &str,
    index: usize,
    id: Option<&str>,
    kind: Option<&str>,
) -> Option<Problem> {
    match kind {
        Some("Feature") => None,
        Some(other) => Some(
            Problem::error(file, msg!(NotAFeature, found = other))
                .at(index, id)
                .field("type"),
        ),
        None => Some(
            Problem::error(file, msg!(NoFeatureType))
                .at(index, id)
                .field("type"),
        ),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HouseholdProps {
    id: Option<Value>,
    households: Option<Value>,
    population: Option<Value>,
    building: Option<Value>,
    entrance: Option<Value>,
    community: Option<Value>,
    elderly_alone: Option<Value>,
    key_persons: Option<Value>,
    vulnerable: Option<Value>,
}

/// Reads a households file into the working CRS: GeoJSON, or a household ledger (`.csv`) with
/// longitude/latitude columns (see [`ledger`]).
pub fn read_households(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    parse_households(
        &display(path),
        read_households_bytes(path)?,
        crs_flag,
        working,
    )
}

/// Reads a households file's bytes: a ledger as text (`.csv`) or a workbook (`.xlsx`, `.xls`, `.ods`),
/// anything else as GeoJSON.
pub fn read_households_bytes(path: &Path) -> Result<Vec<u8>> {
    let expect = if ledger::is_workbook_path(path) {
        file::Expect::Spreadsheet
    } else if ledger::is_ledger_path(path) {
        file::Expect::Text
    } else {
        file::Expect::JsonObject
    };
    file::read_input(path, expect)
}

/// [`read_households`] from bytes already in memory; `file` names them in messages. A ledger (CSV) is
/// told from GeoJSON by its extension or its first line.
pub fn parse_households(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    parse_households_on(file, bytes, crs_flag, working, true)
}

/// [`parse_households`], on every core when `parallel` and the file is large and clean.
fn parse_households_on(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Crs,
    parallel: bool,
) -> Result<(Vec<Household>, Problems)> {
    if ledger::is_ledger(file, &bytes) {
        return ledger::parse_ledger(file, &bytes, crs_flag, working);
    }
    parse_households_geojson(file, bytes, crs_flag, working, parallel)
        .map(|(households, problems, _)| (households, problems))
}

/// A GeoJSON households collection read into the working CRS, with the number of features it holds.
pub(crate) fn parse_households_geojson(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Crs,
    parallel: bool,
) -> Result<(Vec<Household>, Problems, usize)> {
    let file = file.to_string();
    if let Some((out, crs_member)) = parallel.then(|| households_parallel(&bytes)).flatten() {
        drop(bytes);
        let crs = resolve_crs(&file, crs_member.as_ref(), crs_flag)
            .map_err(|p| Error::Invalid(vec![p]))?;
        let features = out.len();
        return place_households(&file, out, Problems::default(), crs, working)
            .map(|(h, p)| (h, p, features));
    }
    let mut problems = Problems::default();
    let mut out: Vec<Household> = Vec::new();
    let mut ids: HashMap<Box<str>, usize> = HashMap::new();
    let header = read_collection::<HouseholdProps, _>(&file, &bytes, |index, f| {
        if let Some(h) = household(&file, index, f, &mut problems) {
            if let Some(id) = &h.id
                && let Some(first) = ids.insert(id.clone(), index)
            {
                problems.push(
                    Problem::error(&file, msg!(DuplicateId, first = first))
                        .at(index, Some(id))
                        .field("id"),
                );
            }
            out.push(h);
        }
    })
    .map_err(|p| Error::Invalid(vec![p]))?;
    drop(ids);
    drop(bytes);
    if header.feature_count == 0 {
        problems.push(Problem::error(&file, msg!(NoFeatures)).field("features"));
    }
    let crs =
        resolve_crs(&file, header.crs.as_ref(), crs_flag).map_err(|p| Error::Invalid(vec![p]))?;
    place_households(&file, out, problems, crs, working).map(|(h, p)| (h, p, header.feature_count))
}

/// The households of a large, clean file parsed on every core (see [`raw::read_collection_parallel`]),
/// with the collection's `crs` member. `None` when the file is small or anything in it is not clean (a
/// feature with a problem, a repeated id, no features): the one-thread reader then names every problem.
fn households_parallel(bytes: &[u8]) -> Option<(Vec<Household>, Option<Value>)> {
    let parsed = raw::read_collection_parallel::<fast::Feature, _, _>(bytes, fast::household)?;
    if parsed.header.feature_count == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(parsed.header.feature_count);
    for chunk in parsed.chunks {
        let base = out.len();
        out.extend(chunk.into_iter().map(|mut h| {
            h.feature += base;
            h
        }));
    }
    let mut ids: HashSet<&str> = HashSet::new();
    if out
        .iter()
        .any(|h| h.id.as_deref().is_some_and(|id| !ids.insert(id)))
    {
        return None;
    }
    drop(ids);
    Some((out, parsed.header.crs))
}

/// The last steps of reading households, whatever the format: the CRS noted, implausible coordinates
/// named, the points reprojected into `working`.
fn place_households(
    file: &str,
    mut out: Vec<Household>,
    mut problems: Problems,
    crs: Crs,
    working: Crs,
) -> Result<(Vec<Household>, Problems)> {
    let file = file.to_string();
    note_web_map(&file, crs, &mut problems);
    for h in &out {
        if let Some(m) = crs.implausible(h.pos) {
            problems.push(
                Problem::error(&file, m)
                    .at(h.feature, h.id.as_deref())
                    .field("geometry.coordinates"),
            );
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    let transform = Transform::new(crs, working)?;
    if !transform.is_identity() {
        let mut coords: Vec<Coord> = out.iter().map(|h| h.pos).collect();
        transform.apply_parallel(&mut coords)?;
        for (h, c) in out.iter_mut().zip(coords) {
            h.pos = c;
        }
    }
    finish(out, problems)
}

pub(crate) fn household(
    file: &str,
    index: usize,
    f: RawFeature<HouseholdProps>,
    problems: &mut Problems,
) -> Option<Household> {
    let props = f.properties.unwrap_or_default();
    let id = feature_id(f.id.as_ref(), props.id.as_ref());
    let idr = id.as_deref();
    let before = problems.0.len();
    if let Some(p) = check_feature_type(file, index, idr, f.kind.as_deref()) {
        problems.push(p);
    }
    let pos = match &f.geometry {
        None => {
            problems.push(
                Problem::error(file, msg!(HouseholdNoGeometry))
                    .at(index, idr)
                    .field("geometry"),
            );
            None
        }
        Some(g) if g.kind.as_deref() != Some("Point") => {
            problems.push(
                Problem::error(
                    file,
                    msg!(
                        HouseholdNotPoint,
                        found = g.kind.as_deref().unwrap_or("missing")
                    ),
                )
                .at(index, idr)
                .field("geometry.type"),
            );
            None
        }
        Some(g) => match g.coordinates.as_ref().map(geom::position) {
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                problems.push(
                    Problem::error(file, e)
                        .at(index, idr)
                        .field("geometry.coordinates"),
                );
                None
            }
            None => {
                problems.push(
                    Problem::error(file, msg!(PointNoCoordinates))
                        .at(index, idr)
                        .field("geometry.coordinates"),
                );
                None
            }
        },
    };
    let mut get_count = |name: &str, v: &Option<Value>| -> Option<u32> {
        let v = v.as_ref()?;
        match count(v) {
            Ok(n) => Some(n),
            Err(e) => {
                problems.push(Problem::error(file, e).at(index, idr).field(name));
                None
            }
        }
    };
    let households = get_count("households", &props.households);
    let population = get_count("population", &props.population);
    let sensitive = Sensitive {
        elderly_alone: get_count("elderly_alone", &props.elderly_alone).unwrap_or(0),
        key_persons: get_count("key_persons", &props.key_persons).unwrap_or(0),
        vulnerable: get_count("vulnerable", &props.vulnerable).unwrap_or(0),
    };
    if households == Some(0) {
        problems.push(
            Problem::error(file, msg!(ZeroHouseholds))
                .at(index, idr)
                .field("households"),
        );
    }
    let mut get_text = |name: &str, v: &Option<Value>| -> Option<Box<str>> {
        let v = v.as_ref()?;
        match text(v) {
            Ok(s) => Some(s.into_boxed_str()),
            Err(e) => {
                problems.push(Problem::error(file, e).at(index, idr).field(name));
                None
            }
        }
    };
    let building = get_text("building", &props.building);
    let entrance = get_text("entrance", &props.entrance);
    let community = get_text("community", &props.community);
    if problems.0.len() > before {
        return None;
    }
    Some(Household {
        feature: index,
        id: id.map(String::into_boxed_str),
        pos: pos?,
        households: households.unwrap_or(1),
        population,
        building,
        entrance,
        community,
        sensitive,
    })
}

/// A polygon feature before reprojection.
pub(crate) struct AreaFeature {
    pub(crate) index: usize,
    pub(crate) id: Option<String>,
    pub(crate) props: Map<String, Value>,
    pub(crate) geometry: MultiPolygon,
}

/// Reads the polygon features of a file, checks them, and reprojects them into the working CRS chosen by
/// `choose_working` from the file's own CRS and its geometries.
pub(crate) fn read_areal(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    id_property: &str,
    choose_working: impl FnOnce(Crs, &[AreaFeature]) -> Crs,
) -> Result<(Vec<AreaFeature>, Crs, Problems)> {
    use rayon::prelude::*;
    let file = file.to_string();
    let mut problems = Problems::default();
    // A large clean file is parsed on every core; anything unusual is read again on one thread,
    // which names every problem.
    let parallel = raw::read_collection_parallel::<raw::RawAreaFeature<Map<String, Value>>, _, _>(
        &bytes,
        |index, f| area_feature_fast(index, f, id_property),
    )
    .filter(|p| p.header.feature_count > 0);
    let (mut out, header) = match parallel {
        Some(parsed) => {
            let mut out = Vec::with_capacity(parsed.header.feature_count);
            for chunk in parsed.chunks {
                let base = out.len();
                out.extend(chunk.into_iter().map(|mut f: AreaFeature| {
                    f.index += base;
                    f
                }));
            }
            (out, parsed.header)
        }
        None => {
            let mut out = Vec::new();
            let header = read_collection::<Map<String, Value>, _>(&file, &bytes, |index, f| {
                if let Some(a) = area_feature(&file, index, f, id_property, &mut problems) {
                    out.push(a);
                }
            })
            .map_err(|p| Error::Invalid(vec![p]))?;
            (out, header)
        }
    };
    drop(bytes);
    if header.feature_count == 0 {
        problems.push(Problem::error(&file, msg!(NoFeatures)).field("features"));
    }
    let crs =
        resolve_crs(&file, header.crs.as_ref(), crs_flag).map_err(|p| Error::Invalid(vec![p]))?;
    note_web_map(&file, crs, &mut problems);
    let found: Vec<Vec<Problem>> = out
        .par_iter()
        .map(|f| {
            let bad = f
                .geometry
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter())
                .find_map(|&c| crs.implausible(c));
            if let Some(m) = bad {
                return vec![
                    Problem::error(&file, m)
                        .at(f.index, f.id.as_deref())
                        .field("geometry.coordinates"),
                ];
            }
            let mut found = Vec::new();
            for (pi, polygon) in f.geometry.0.iter().enumerate() {
                if let Some(c) = geometry::polygon_problem(polygon) {
                    let what = if f.geometry.0.len() > 1 {
                        msg!(PolygonPart, part = pi).arg_msg("what", &c.what)
                    } else {
                        c.what
                    };
                    found.push(
                        Problem::error(
                            &file,
                            msg!(InvalidPolygon, x = c.at.x, y = c.at.y, crs = crs)
                                .arg_msg("what", &what),
                        )
                        .at(f.index, f.id.as_deref())
                        .field("geometry"),
                    );
                }
            }
            found
        })
        .collect();
    problems.extend(Problems(found.into_iter().flatten().collect()));
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    let working = choose_working(crs, &out);
    let transform = Transform::new(crs, working)?;
    reproject_areal(&transform, &mut out)?;
    out.par_iter_mut().for_each(|f| {
        f.geometry = geometry::normalized(std::mem::replace(&mut f.geometry, MultiPolygon(vec![])));
    });
    Ok((out, working, problems))
}

/// Reprojects the features' rings: every coordinate gathered and transformed on every core, put back in
/// order; on a failure, ring by ring on one thread, so the error names its coordinate as before.
fn reproject_areal(transform: &Transform, out: &mut [AreaFeature]) -> Result<()> {
    if transform.is_identity() {
        return Ok(());
    }
    let mut flat: Vec<Coord> = Vec::new();
    for f in out.iter_mut() {
        geom::for_each_ring_mut(&mut f.geometry, |ring| {
            flat.extend_from_slice(ring);
            Ok::<(), Error>(())
        })?;
    }
    if transform.apply_parallel(&mut flat).is_err() {
        for f in out.iter_mut() {
            geom::for_each_ring_mut(&mut f.geometry, |ring| transform.apply(ring))?;
        }
        return Ok(());
    }
    let mut at = 0;
    for f in out.iter_mut() {
        geom::for_each_ring_mut(&mut f.geometry, |ring| {
            ring.copy_from_slice(&flat[at..at + ring.len()]);
            at += ring.len();
            Ok::<(), Error>(())
        })?;
    }
    Ok(())
}

/// One polygon feature of a large clean file, or `None` when anything is amiss (the file is then read
/// through [`area_feature`], which names the problem).
fn area_feature_fast(
    index: usize,
    f: raw::RawAreaFeature<Map<String, Value>>,
    id_property: &str,
) -> Option<AreaFeature> {
    if f.kind.as_deref() != Some("Feature") {
        return None;
    }
    let props = f.properties.unwrap_or_default();
    let id = feature_id(f.id.as_ref(), props.get(id_property));
    let g = f.geometry?;
    let geometry = geom::areal_nest(g.kind.as_deref()?, g.coordinates?)?;
    Some(AreaFeature {
        index,
        id,
        props,
        geometry,
    })
}

/// One polygon feature as read, or `None` with its problems pushed.
fn area_feature(
    file: &str,
    index: usize,
    f: RawFeature<Map<String, Value>>,
    id_property: &str,
    problems: &mut Problems,
) -> Option<AreaFeature> {
    let props = f.properties.unwrap_or_default();
    let id = feature_id(f.id.as_ref(), props.get(id_property));
    let idr = id.as_deref();
    if let Some(p) = check_feature_type(file, index, idr, f.kind.as_deref()) {
        problems.push(p);
        return None;
    }
    let Some(g) = f.geometry else {
        problems.push(
            Problem::error(file, msg!(BoundaryNoGeometry))
                .at(index, idr)
                .field("geometry"),
        );
        return None;
    };
    let kind = g.kind.as_deref().unwrap_or("missing");
    let Some(coordinates) = g.coordinates.as_ref() else {
        let message = if kind == "Polygon" || kind == "MultiPolygon" {
            msg!(ArealNoCoordinates, found = kind)
        } else {
            msg!(NotAreal, found = kind)
        };
        problems.push(
            Problem::error(file, message)
                .at(index, idr)
                .field("geometry"),
        );
        return None;
    };
    match geom::areal(kind, coordinates) {
        Ok(geometry) => Some(AreaFeature {
            index,
            id,
            props,
            geometry,
        }),
        Err(e) => {
            problems.push(Problem::error(file, e).at(index, idr).field("geometry"));
            None
        }
    }
}

pub(crate) fn prop_text(
    file: &str,
    f: &AreaFeature,
    name: &str,
    problems: &mut Problems,
) -> Option<String> {
    let v = f.props.get(name)?;
    if v.is_null() {
        return None;
    }
    match text(v) {
        Ok(s) => Some(s),
        Err(e) => {
            problems.push(
                Problem::error(file, e)
                    .at(f.index, f.id.as_deref())
                    .field(name),
            );
            None
        }
    }
}

/// The working CRS for boundaries in `crs`: that CRS when it is projected, else the CGCS2000 3-degree
/// Gauss–Krüger zone nearest the boundaries' centre.
fn working_crs_for(crs: Crs, features: &[AreaFeature]) -> Crs {
    if !crs.is_geographic() {
        return crs;
    }
    let lon = features
        .iter()
        .filter_map(|f| f.geometry.bounding_rect())
        .map(|r| r.center().x)
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if lon.1 == 0 {
        return Crs::gauss_kruger_for(120.0);
    }
    Crs::gauss_kruger_for(lon.0 / lon.1 as f64)
}

/// Reads a boundaries file. Returns the areas in the working CRS, which it chooses (see
/// [`crate::spatial::crs`]) unless `working` names one.
pub fn read_boundaries(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Option<Crs>,
) -> Result<(Vec<Area>, Crs, Problems)> {
    parse_boundaries(&display(path), read_bytes(path)?, crs_flag, working)
}

/// [`read_boundaries`] from bytes already in memory; `file` names them in messages.
pub fn parse_boundaries(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Option<Crs>,
) -> Result<(Vec<Area>, Crs, Problems)> {
    let file = file.to_string();
    let (features, working, mut problems) =
        read_areal(&file, bytes, crs_flag, "code", |crs, fs| {
            working.unwrap_or_else(|| working_crs_for(crs, fs))
        })?;
    let mut areas = Vec::with_capacity(features.len());
    for f in features {
        let code = prop_text(&file, &f, "code", &mut problems);
        let name = prop_text(&file, &f, "name", &mut problems);
        let level = prop_text(&file, &f, "level", &mut problems);
        let parent = prop_text(&file, &f, "parent", &mut problems);
        let kind = prop_text(&file, &f, "kind", &mut problems);
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            problems.push(
                Problem::error(&file, msg!(BoundaryNoCode))
                    .at(f.index, None)
                    .field("code"),
            );
            continue;
        };
        areas.push(Area {
            feature: f.index,
            code,
            name,
            level,
            parent,
            kind,
            geometry: f.geometry,
        });
    }
    let (areas, problems) = finish(areas, problems)?;
    Ok((areas, working, problems))
}

/// Reads a grids file (the layout `partition` writes; only `id` and `community` are read: counts are always recounted).
pub fn read_grids(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<GridShape>, Problems)> {
    read_grids_in(path, crs_flag, Some(working)).map(|(g, _, p)| (g, p))
}

/// Reads a grids file into `working`, or, when `None`, into a working CRS chosen from the grids as for
/// boundaries (for commands that take no boundaries, such as `assign`).
pub fn read_grids_in(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Option<Crs>,
) -> Result<(Vec<GridShape>, Crs, Problems)> {
    parse_grids(&display(path), read_bytes(path)?, crs_flag, working)
}

/// [`read_grids_in`] from bytes already in memory; `file` names them in messages.
pub fn parse_grids(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Option<Crs>,
) -> Result<(Vec<GridShape>, Crs, Problems)> {
    let file = file.to_string();
    let (features, working, mut problems) = read_areal(&file, bytes, crs_flag, "id", |crs, fs| {
        working.unwrap_or_else(|| working_crs_for(crs, fs))
    })?;
    let mut grids = Vec::with_capacity(features.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for f in features {
        let community = prop_text(&file, &f, "community", &mut problems);
        let id = match &f.id {
            Some(id) => id.clone(),
            None => {
                problems.push(
                    Problem::error(&file, msg!(GridNoId))
                        .at(f.index, None)
                        .field("id"),
                );
                continue;
            }
        };
        if let Some(first) = seen.insert(id.clone(), f.index) {
            problems.push(
                Problem::error(&file, msg!(DuplicateId, first = first))
                    .at(f.index, Some(&id))
                    .field("id"),
            );
        }
        // The count a grids file declares (never trusted by `check`; `--previous` compares it).
        let declared_households = f
            .props
            .get("households")
            .and_then(|v| count(v).ok())
            .map(u64::from);
        // An assignment's responsible worker, when the file is one.
        let primary_worker = f.props.get("primary_worker").and_then(id_text);
        let record = grid_record(&file, &f, &id, &mut problems);
        grids.push(GridShape {
            feature: f.index,
            id,
            community,
            geometry: f.geometry,
            declared_households,
            primary_worker,
            record,
        });
    }
    let (grids, problems) = finish(grids, problems)?;
    Ok((grids, working, problems))
}

/// A grid's record as its file gives it (every field optional): `kind` (`basic` or `dedicated`; the
/// `urban`/`rural` older files wrote there reads as basic), `name`, `responsible`, `valid_from` and
/// `valid_to` (`YYYY-MM-DD`), `unit` and `place_code` (dedicated grids), `last_seq` (the community's
/// highest number issued). A value of the wrong type, a date that is not one, or a `valid_to` before
/// `valid_from` is an error naming the field. `valid_to` equal to `valid_from` is a record like any
/// other: a grid retired the day it took effect (a same-day re-draw), in force for no whole day.
fn grid_record(file: &str, f: &AreaFeature, id: &str, problems: &mut Problems) -> GridRecord {
    let at = |p: Problem| p.at(f.index, Some(id));
    let mut text = |name: &str| prop_text(file, f, name, problems).filter(|t| !t.trim().is_empty());
    let kind_text = text("kind");
    let name = text("name");
    let responsible = text("responsible");
    let unit = text("unit");
    let place_code = text("place_code");
    let bounds_description = text("bounds_description");
    let (from_text, to_text) = (text("valid_from"), text("valid_to"));
    let kind = match kind_text.as_deref() {
        None => GridKind::Basic,
        Some(k) => GridKind::parse(k).unwrap_or_else(|| {
            if !matches!(k.trim(), "urban" | "rural") {
                problems.push(at(Problem::warning(
                    file,
                    format!("grid kind \"{k}\" is neither basic nor dedicated: read as basic"),
                )
                .field("kind")));
            }
            GridKind::Basic
        }),
    };
    let mut date = |field: &str, value: Option<String>| {
        let value = value?;
        let day = Date::parse(&value).filter(|_| value.trim().len() == 10);
        if day.is_none() {
            problems.push(at(Problem::error(
                file,
                format!("\"{value}\" is not a date: write YYYY-MM-DD"),
            )
            .field(field)));
        }
        day
    };
    let valid_from = date("valid_from", from_text);
    let valid_to = date("valid_to", to_text);
    if let (Some(a), Some(b)) = (valid_from, valid_to)
        && b < a
    {
        problems.push(at(Problem::error(
            file,
            format!("valid_to {b} is before valid_from {a}: a grid is in force from valid_from up to the day before valid_to (the same day: retired the day it took effect)"),
        )
        .field("valid_to")));
    }
    let last_number = match f.props.get("last_seq") {
        None | Some(Value::Null) => None,
        Some(v) => match count(v) {
            Ok(n) => Some(n),
            Err(e) => {
                problems.push(at(Problem::error(file, e).field("last_seq")));
                None
            }
        },
    };
    GridRecord {
        kind,
        name,
        responsible,
        valid_from,
        valid_to,
        unit,
        place_code,
        last_number,
        bounds_description,
    }
}

/// A grids file whole: its grids, and the grids it records as retired (the `retired_grids` member a
/// re-draw writes: a FeatureCollection of the grids taken out of force, each with its `valid_to`).
#[derive(Debug, Clone, Default)]
pub struct GridLayer {
    pub grids: Vec<GridShape>,
    pub retired: Vec<GridShape>,
}

/// Reads a grids file with its record of retired grids, into `working` (or, when `None`, a working CRS
/// chosen from the grids). A FlatGeobuf layer holds no retired grids.
pub fn read_grid_layer(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Option<Crs>,
) -> Result<(GridLayer, Crs, Problems)> {
    parse_grid_layer(&display(path), read_bytes(path)?, crs_flag, working)
}

/// [`read_grid_layer`] from bytes already in memory; `file` names them in messages.
pub fn parse_grid_layer(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Option<Crs>,
) -> Result<(GridLayer, Crs, Problems)> {
    // A GeoPackage (an upload) as the collection it holds, with its `retired_grids` layer as the member.
    let bytes = if crate::formats::gpkg::is_sqlite(&bytes) {
        crate::formats::gpkg::read_bytes(file, &bytes, file::max_input_bytes())
            .map_err(|p| Error::Invalid(vec![p]))?
    } else {
        bytes
    };
    let retired = retired_member(file, &bytes)?;
    let (grids, working, mut problems) = parse_grids(file, bytes, crs_flag, working)?;
    let retired = match retired {
        None => Vec::new(),
        Some(bytes) => {
            let name = format!("{file} (retired_grids)");
            let (retired, _, more) = parse_grids(&name, bytes, crs_flag, Some(working))?;
            problems.extend(more);
            retired
        }
    };
    Ok((GridLayer { grids, retired }, working, problems))
}

/// The `retired_grids` member of a grids file, as a FeatureCollection of its own (with the file's `crs`
/// member when it has none), or `None`.
fn retired_member(file: &str, bytes: &[u8]) -> Result<Option<Vec<u8>>> {
    const KEY: &[u8] = b"\"retired_grids\"";
    if fgb::is_flatgeobuf(bytes) || !bytes.windows(KEY.len()).any(|w| w == KEY) {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Foreign {
        crs: Option<Value>,
        retired_grids: Option<Value>,
    }
    let bad = |e: String| {
        Error::Invalid(vec![
            Problem::error(file, format!("retired_grids: {e}")).field("retired_grids"),
        ])
    };
    let foreign: Foreign =
        serde_json::from_slice(raw::strip_bom(bytes)).map_err(|e| bad(e.to_string()))?;
    let Some(mut retired) = foreign.retired_grids else {
        return Ok(None);
    };
    let Some(members) = retired.as_object_mut() else {
        return Err(bad("must be a FeatureCollection".to_string()));
    };
    if let Some(crs) = foreign.crs
        && !members.contains_key("crs")
    {
        members.insert("crs".into(), crs);
    }
    serde_json::to_vec(&retired)
        .map(Some)
        .map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::crs::Crs;

    /// A households file of `n` features (several megabytes), with strings that look like feature
    /// boundaries (`}, {`) and a `crs` member after the features.
    fn big_file(n: usize, bad: Option<usize>) -> Vec<u8> {
        let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
        for i in 0..n {
            if i > 0 {
                s.push_str(if i % 3 == 0 { ",\n" } else { " , " });
            }
            let households = if Some(i) == bad {
                "-2".to_string()
            } else {
                (1 + i % 4).to_string()
            };
            s.push_str(&format!(
                "{{\"type\":\"Feature\",\"id\":\"h{i}\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{:.9},{:.9}]}},\"properties\":{{\"households\":{households},\"building\":\"B{}}}, {{\\\"x\\\": {{ }}\",\"population\":{}}}}}",
                118.8 + (i % 997) as f64 * 1e-5,
                32.3 + (i / 997) as f64 * 1e-5,
                i / 7,
                i % 5
            ));
        }
        s.push_str("],\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:OGC:1.3:CRS84\"}}}");
        s.into_bytes()
    }

    fn read(bytes: Vec<u8>, parallel: bool) -> Result<(Vec<Household>, Problems)> {
        parse_households_on("h.geojson", bytes, None, Crs(32650), parallel)
    }

    #[test]
    fn a_large_file_read_on_every_core_gives_what_one_thread_gives() {
        let bytes = big_file(40_000, None);
        assert!(bytes.len() > raw::PARALLEL_MIN_BYTES);
        assert!(
            households_parallel(&bytes).is_some(),
            "the parallel path is taken"
        );
        let (one, _) = read(bytes.clone(), false).expect("valid");
        let (all, _) = read(bytes, true).expect("valid");
        assert_eq!(one.len(), 40_000);
        assert_eq!(one.len(), all.len());
        for (a, b) in one.iter().zip(&all) {
            assert_eq!(
                (
                    a.feature,
                    &a.id,
                    a.pos,
                    a.households,
                    a.population,
                    &a.building
                ),
                (
                    b.feature,
                    &b.id,
                    b.pos,
                    b.households,
                    b.population,
                    &b.building
                )
            );
        }
    }

    /// A large file whose members take every form the readers accept: ids as member or property,
    /// strings or numbers; codes as numbers; counts absent, null or given; escaped strings; a third
    /// coordinate; `extra` replaces the households of feature 1,000 (to test what the fast reader
    /// leaves to the exact one).
    fn varied_file(extra: &str) -> Vec<u8> {
        let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
        for i in 0..40_000usize {
            if i > 0 {
                s.push(',');
            }
            let id = match i % 4 {
                0 => format!("\"id\":\"m{i}\","),
                1 => format!("\"id\":{i},"),
                _ => String::new(),
            };
            let pid = match i % 5 {
                0 => format!("\"id\":\"p{i}\","),
                2 => format!("\"id\":{},", 1_000_000 + i),
                _ => String::new(),
            };
            let households = if i == 1_000 {
                extra.to_string()
            } else {
                ["1", "2", "null", "7"][i % 4].to_string()
            };
            let z = if i % 11 == 0 { ",12.5" } else { "" };
            s.push_str(&format!(
                "{{{id}\"type\":\"Feature\",\"geometry\":{{\"coordinates\":[{:.9},{:.9}{z}],\"type\":\"Point\"}},\"properties\":{{{pid}\"households\":{households},\"population\":{},\"building\":\"楼\\u0042{}\\\"\",\"entrance\":{},\"community\":{},\"elderly_alone\":{},\"note\":[1,{{\"a\":null}}]}}}}",
                118.8 + (i % 997) as f64 * 1e-5,
                32.3 + (i / 997) as f64 * 1e-5,
                if i % 3 == 0 { "null".to_string() } else { (i % 6).to_string() },
                i / 9,
                i % 4,
                320_116_001_001u64 + (i % 3) as u64,
                i % 2,
            ));
        }
        s.push_str("]}");
        s.into_bytes()
    }

    #[test]
    fn the_fast_reader_gives_what_the_exact_reader_gives() {
        let bytes = varied_file("3");
        // Points with a third coordinate are left to the exact reader: taken whole by it.
        assert!(households_parallel(&bytes).is_none());
        let clean = String::from_utf8(bytes)
            .expect("utf-8")
            .replace(",12.5]", "]")
            .into_bytes();
        assert!(
            households_parallel(&clean).is_some(),
            "the fast path is taken"
        );
        let (one, _) = read(clean.clone(), false).expect("valid");
        let (all, _) = read(clean, true).expect("valid");
        assert_eq!(one.len(), 40_000);
        assert_eq!(one, all);
        assert!(one.iter().any(|h| h.id.as_deref() == Some("1000002")));
        assert!(one.iter().any(|h| h.building.as_deref() == Some("楼B0\"")));
        // A count the fast reader does not take as it is: the exact reader decides, the same way.
        for extra in ["3.0", "-1", "\"3\"", "4294967296", "true"] {
            let text = String::from_utf8(varied_file(extra))
                .expect("utf-8")
                .replace(",12.5]", "]");
            let bytes = text.into_bytes();
            assert!(households_parallel(&bytes).is_none(), "{extra}");
            let one = read(bytes.clone(), false)
                .map(|(h, _)| h)
                .map_err(|e| e.to_string());
            let all = read(bytes, true).map(|(h, _)| h).map_err(|e| e.to_string());
            assert_eq!(one, all, "{extra}");
        }
    }

    #[test]
    fn a_bad_feature_in_a_large_file_is_named_as_one_thread_names_it() {
        let bytes = big_file(40_000, Some(23_456));
        assert!(households_parallel(&bytes).is_none());
        let Err(Error::Invalid(problems)) = read(bytes, true) else {
            panic!("the bad feature is refused");
        };
        assert_eq!(problems.len(), 1);
        let text = problems[0].to_string();
        assert!(
            text.contains("23456") && text.contains("households"),
            "{text}"
        );
    }

    #[test]
    fn a_repeated_id_in_a_large_file_is_named() {
        let text = String::from_utf8(big_file(40_000, None)).expect("utf-8");
        let bytes = text
            .replacen("\"id\":\"h30000\"", "\"id\":\"h12\"", 1)
            .into_bytes();
        assert!(households_parallel(&bytes).is_none());
        let Err(Error::Invalid(problems)) = read(bytes, true) else {
            panic!("the repeated id is refused");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.to_string().contains("duplicate id"))
        );
    }

    #[test]
    fn broken_json_in_a_large_file_is_refused_with_the_feature() {
        let mut bytes = big_file(40_000, None);
        let at = bytes.len() / 2;
        bytes.truncate(at);
        let Err(Error::Invalid(problems)) = read(bytes, true) else {
            panic!("a truncated file is refused");
        };
        assert!(
            problems[0].to_string().contains("not valid JSON"),
            "{}",
            problems[0]
        );
    }
}

#[cfg(test)]
mod readers {
    use super::*;

    const EPSG4549: &str =
        r#""crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}"#;

    fn collection(features: &str) -> Vec<u8> {
        format!(r#"{{"type": "FeatureCollection", {EPSG4549}, "features": [{features}]}}"#)
            .into_bytes()
    }

    #[test]
    fn households_are_read_in_the_working_crs_with_their_fields() {
        let bytes = collection(
            r#"{"type": "Feature", "properties": {"households": 3, "population": 7, "building": "B1", "entrance": "2", "elderly_alone": 1}, "geometry": {"type": "Point", "coordinates": [500100.0, 3500200.0]}}"#,
        );
        let (points, problems) =
            parse_households("households", bytes, None, Crs(4549)).unwrap_or_default();
        assert!(!problems.has_errors(), "{problems:?}");
        assert_eq!(points.len(), 1);
        let h = &points[0];
        assert_eq!((h.pos.x, h.pos.y), (500_100.0, 3_500_200.0));
        assert_eq!((h.households, h.population), (3, Some(7)));
        assert_eq!(h.building.as_deref(), Some("B1"));
        assert_eq!(h.entrance.as_deref(), Some("2"));
        assert_eq!(h.sensitive.elderly_alone, 1);
    }

    #[test]
    fn every_bad_household_is_named_by_feature_and_field() {
        let bytes = collection(
            r#"{"type": "Feature", "properties": {"households": -2}, "geometry": {"type": "Point", "coordinates": [500100.0, 3500200.0]}},
               {"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}"#,
        );
        let Err(Error::Invalid(problems)) = parse_households("households", bytes, None, Crs(4549))
        else {
            panic!("bad households must be refused");
        };
        let at: Vec<(Option<usize>, Option<&str>)> = problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| (p.feature.as_ref().map(|f| f.index), p.field.as_deref()))
            .collect();
        assert!(at.contains(&(Some(0), Some("households"))), "{problems:?}");
        assert!(at.iter().any(|(f, _)| *f == Some(1)), "{problems:?}");
        assert!(problems.iter().all(|p| p.file == "households"));
    }

    #[test]
    fn grids_need_an_id_and_keep_their_community() {
        let square = "[[[500000, 3500000], [500100, 3500000], [500100, 3500100], [500000, 3500100], [500000, 3500000]]]";
        let ok = collection(&format!(
            r#"{{"type": "Feature", "properties": {{"id": "G1", "community": "320116001001", "households": 12}}, "geometry": {{"type": "Polygon", "coordinates": {square}}}}}"#
        ));
        let (grids, working, problems) =
            parse_grids("grids", ok, None, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(working, Crs(4549));
        assert!(!problems.has_errors());
        assert_eq!(grids[0].id, "G1");
        assert_eq!(grids[0].community.as_deref(), Some("320116001001"));
        assert_eq!(grids[0].declared_households, Some(12));
        assert!((crate::spatial::geometry::area_m2(&grids[0].geometry) - 10_000.0).abs() < 1e-6);
        let no_id = collection(&format!(
            r#"{{"type": "Feature", "properties": {{}}, "geometry": {{"type": "Polygon", "coordinates": {square}}}}}"#
        ));
        let refused = parse_grids("grids", no_id, None, None);
        assert!(
            matches!(&refused, Err(Error::Invalid(p)) if p.iter().any(|p| p.field.as_deref() == Some("id"))),
            "{:?}",
            refused.err()
        );
    }

    #[test]
    fn a_rules_file_is_read_over_the_defaults_and_named_when_wrong() {
        let dir = std::env::temp_dir().join(format!("gridplan-rules-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let good = dir.join("good.toml");
        let bad = dir.join("bad.toml");
        let _ = std::fs::write(&good, "[kinds.urban]\nmin_households = 250\n");
        let _ = std::fs::write(&bad, "[kinds.urban]\nmin_households = \"many\"\n");
        let rules = read_rules(&good).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.kinds["urban"].min_households, 250);
        assert_eq!(rules.kinds["urban"].max_households, 500);
        assert!(matches!(read_rules(&bad), Err(Error::Rules { path, .. }) if path == bad));
        assert_eq!(load_rules(None).ok(), Some(Rules::default()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
