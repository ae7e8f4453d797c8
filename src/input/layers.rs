//! Ground layers: **blocks** (street blocks, compounds, parcels, schools…: polygons with optional `code`,
//! `name`, `kind`) and **barriers** (roads, rivers, rail, walls: lines with optional `name`, `class`,
//! `rank`). Read with the same CRS handling and validation as the other inputs: every problem names the
//! file, the feature and the field, and a file with errors is refused as a whole.

use super::raw::{RawFeature, read_collection};
use super::{
    AreaFeature, check_feature_type, display, feature_id, geom, prop_text, read_areal, read_bytes,
    resolve_crs,
};
use crate::error::{Error, Result};
use crate::model::{Barrier, Block, Dedicated, Layers};
use crate::problem::{Problem, Problems};
use crate::spatial::crs::{Crs, Transform};
use geo::{Coord, LineString, MultiLineString};
use serde_json::{Map, Value};
use std::path::Path;

/// Highest `rank` a barrier may have.
pub const MAX_RANK: u32 = 9;

/// Reads the layers named by `--blocks` and `--barriers` into `working`.
pub fn load(
    blocks: Option<&Path>,
    barriers: Option<&Path>,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Layers, Problems)> {
    let mut problems = Problems::default();
    let mut layers = Layers::default();
    let mut errors = Vec::new();
    // The two files are read side by side.
    let (blocks_read, barriers_read) = rayon::join(
        || {
            blocks.map(|p| {
                read_bytes(p).and_then(|b| parse_blocks(&display(p), b, crs_flag, working))
            })
        },
        || {
            barriers.map(|p| {
                read_bytes(p).and_then(|b| parse_barriers(&display(p), b, crs_flag, working))
            })
        },
    );
    if let Some(read) = blocks_read {
        match read {
            Ok((b, w)) => {
                layers.blocks = b;
                problems.extend(w);
            }
            Err(Error::Invalid(e)) => errors.extend(e),
            Err(e) => return Err(e),
        }
    }
    if let Some(read) = barriers_read {
        match read {
            Ok((b, w)) => {
                layers.barriers = b;
                problems.extend(w);
            }
            Err(Error::Invalid(e)) => errors.extend(e),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok((layers, problems))
}

/// Reads a blocks file (polygons) into `working`.
pub fn parse_blocks(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Block>, Problems)> {
    let (features, _, mut problems) = read_areal(file, bytes, crs_flag, "code", |_, _| working)?;
    let mut blocks = Vec::with_capacity(features.len());
    for f in features {
        let f: AreaFeature = f;
        let code = prop_text(file, &f, "code", &mut problems).filter(|c| !c.is_empty());
        let name = prop_text(file, &f, "name", &mut problems).filter(|c| !c.is_empty());
        let kind = prop_text(file, &f, "kind", &mut problems);
        blocks.push(Block {
            feature: f.index,
            code,
            name,
            kind,
            geometry: f.geometry,
        });
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    Ok((blocks, problems))
}

/// Reads a dedicated-places file (`--dedicated`) into `working`.
pub fn read_dedicated(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Dedicated>, Problems)> {
    parse_dedicated(&display(path), read_bytes(path)?, crs_flag, working)
}

/// Reads dedicated places (polygons of schools, hospitals, enterprises, parks, markets: `name`,
/// `unit` or `kind`, optional `code` and `responsible`) into `working`. A place with neither a name nor
/// a code is refused: its grid could not be told from the others on a platform.
pub fn parse_dedicated(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Dedicated>, Problems)> {
    let (features, _, mut problems) = read_areal(file, bytes, crs_flag, "code", |_, _| working)?;
    let mut places = Vec::with_capacity(features.len());
    for f in features {
        let text = |name: &str, problems: &mut Problems| {
            prop_text(file, &f, name, problems).filter(|c| !c.trim().is_empty())
        };
        let code = text("code", &mut problems);
        let name = text("name", &mut problems);
        let unit = text("unit", &mut problems);
        let kind = text("kind", &mut problems);
        let responsible = text("responsible", &mut problems);
        if code.is_none() && name.is_none() {
            problems.push(
                Problem::error(file, "a dedicated place needs a `name` (or a `code`)")
                    .at(f.index, f.id.as_deref())
                    .field("name"),
            );
            continue;
        }
        places.push(Dedicated {
            feature: f.index,
            code,
            name,
            unit: unit.or(kind),
            responsible,
            geometry: f.geometry,
        });
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    Ok((places, problems))
}

/// The rank a barrier of `class` has when the file gives none.
pub fn default_rank(class: Option<&str>) -> u32 {
    match class.map(str::to_ascii_lowercase).as_deref() {
        Some("river" | "rail" | "railway" | "arterial" | "expressway" | "motorway" | "canal") => 3,
        Some("road" | "street" | "primary" | "secondary") => 2,
        _ => 1,
    }
}

fn line(v: &Value, part: Option<usize>) -> std::result::Result<LineString, String> {
    let where_ = part.map(|p| format!("line {p}: ")).unwrap_or_default();
    let arr = v
        .as_array()
        .ok_or_else(|| format!("{where_}coordinates are not an array of positions"))?;
    let mut coords: Vec<Coord> = Vec::with_capacity(arr.len());
    for (i, p) in arr.iter().enumerate() {
        coords.push(geom::position(p).map_err(|e| format!("{where_}position {i}: {e}"))?);
    }
    if coords.len() < 2 {
        return Err(format!(
            "{where_}a line needs at least 2 positions, it has {}",
            coords.len()
        ));
    }
    Ok(LineString(coords))
}

fn lineal(kind: &str, coordinates: &Value) -> std::result::Result<MultiLineString, String> {
    match kind {
        "LineString" => Ok(MultiLineString(vec![line(coordinates, None)?])),
        "MultiLineString" => {
            let parts = coordinates.as_array().ok_or_else(|| {
                "MultiLineString coordinates are not an array of lines".to_string()
            })?;
            if parts.is_empty() {
                return Err("MultiLineString has no lines".to_string());
            }
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| line(p, Some(i)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(MultiLineString)
        }
        other => Err(format!(
            "geometry type is {other}; expected LineString or MultiLineString"
        )),
    }
}

/// Reads a barriers file (lines) into `working`.
pub fn parse_barriers(
    file: &str,
    bytes: Vec<u8>,
    crs_flag: Option<Crs>,
    working: Crs,
) -> Result<(Vec<Barrier>, Problems)> {
    let mut problems = Problems::default();
    let mut out: Vec<Barrier> = Vec::new();
    let mut ids: Vec<Option<String>> = Vec::new();
    let header = read_collection::<Map<String, Value>, _>(file, &bytes, |index, f| {
        let f: RawFeature<Map<String, Value>> = f;
        let props = f.properties.unwrap_or_default();
        let id = feature_id(f.id.as_ref(), props.get("name"));
        let idr = id.as_deref();
        if let Some(p) = check_feature_type(file, index, idr, f.kind.as_deref()) {
            problems.push(p);
            return;
        }
        let Some(g) = f.geometry else {
            problems.push(
                Problem::error(
                    file,
                    "has no geometry; expected a LineString or MultiLineString",
                )
                .at(index, idr)
                .field("geometry"),
            );
            return;
        };
        let kind = g.kind.as_deref().unwrap_or("missing");
        let geometry = match g.coordinates.as_ref() {
            None => Err(format!("{kind} has no coordinates")),
            Some(c) => lineal(kind, c),
        };
        let geometry = match geometry {
            Ok(g) => g,
            Err(e) => {
                problems.push(Problem::error(file, e).at(index, idr).field("geometry"));
                return;
            }
        };
        let mut text_of = |name: &str| -> Option<String> {
            match props.get(name) {
                None | Some(Value::Null) => None,
                Some(v) => match super::raw::text(v) {
                    Ok(s) => Some(s).filter(|s| !s.is_empty()),
                    Err(e) => {
                        problems.push(Problem::error(file, e).at(index, idr).field(name));
                        None
                    }
                },
            }
        };
        let name = text_of("name");
        let class = text_of("class");
        let rank = match props.get("rank") {
            None | Some(Value::Null) => default_rank(class.as_deref()),
            Some(v) => match super::raw::count(v) {
                Ok(r) if r <= MAX_RANK => r,
                Ok(r) => {
                    problems.push(
                        Problem::error(file, format!("rank {r} is above {MAX_RANK}"))
                            .at(index, idr)
                            .field("rank"),
                    );
                    return;
                }
                Err(e) => {
                    problems.push(Problem::error(file, e).at(index, idr).field("rank"));
                    return;
                }
            },
        };
        out.push(Barrier {
            feature: index,
            name,
            class,
            rank,
            geometry,
        });
        ids.push(id);
    })
    .map_err(|p| Error::Invalid(vec![p]))?;
    drop(bytes);
    if header.feature_count == 0 {
        problems.push(Problem::error(file, "the collection holds no features").field("features"));
    }
    let crs =
        resolve_crs(file, header.crs.as_ref(), crs_flag).map_err(|p| Error::Invalid(vec![p]))?;
    for (b, id) in out.iter().zip(&ids) {
        if let Some(m) = b
            .geometry
            .0
            .iter()
            .flat_map(|l| l.0.iter())
            .find_map(|&c| crs.implausible(c))
        {
            problems.push(
                Problem::error(file, m)
                    .at(b.feature, id.as_deref())
                    .field("geometry.coordinates"),
            );
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    let transform = Transform::new(crs, working)?;
    for b in &mut out {
        for l in &mut b.geometry.0 {
            transform.apply(&mut l.0)?;
        }
    }
    Ok((out, problems))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::crs::WGS84;

    fn fc(features: &str) -> Vec<u8> {
        format!("{{\"type\":\"FeatureCollection\",\"features\":[{features}]}}").into_bytes()
    }

    #[test]
    fn barriers_are_read_with_default_ranks_and_every_problem_named() {
        let ok = fc(
            r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[118.8,32.3],[118.81,32.3]]},"properties":{"name":"雄州路","class":"arterial"}},
               {"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[118.8,32.3],[118.8,32.31]]]},"properties":{"class":"lane","rank":2}}"#,
        );
        let (b, _) = parse_barriers("b.geojson", ok, None, Crs(4549)).expect("valid");
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].rank, 3);
        assert_eq!(b[1].rank, 2);
        assert!(b[0].geometry.0[0].0[0].x > 100_000.0, "reprojected");
        let bad = fc(
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[118.8,32.3]},"properties":{}},
               {"type":"Feature","geometry":{"type":"LineString","coordinates":[[118.8,32.3]]},"properties":{}},
               {"type":"Feature","geometry":{"type":"LineString","coordinates":[[118.8,32.3],[118.9,32.3]]},"properties":{"rank":-1}},
               {"type":"Feature","geometry":{"type":"LineString","coordinates":[[118.8,32.3],[918.9,32.3]]},"properties":{"rank":12}}"#,
        );
        let Err(Error::Invalid(problems)) = parse_barriers("b.geojson", bad, None, Crs(4549))
        else {
            panic!("must be refused");
        };
        let at: Vec<(Option<usize>, Option<&str>)> = problems
            .iter()
            .map(|p| (p.feature.as_ref().map(|f| f.index), p.field.as_deref()))
            .collect();
        assert!(at.contains(&(Some(0), Some("geometry"))), "{problems:?}");
        assert!(at.contains(&(Some(1), Some("geometry"))), "{problems:?}");
        assert!(at.contains(&(Some(2), Some("rank"))), "{problems:?}");
        assert!(at.contains(&(Some(3), Some("rank"))), "{problems:?}");
        assert!(problems.iter().all(|p| p.file == "b.geojson"));
    }

    #[test]
    fn blocks_are_polygons_with_optional_codes() {
        let ok = fc(
            r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[118.8,32.3],[118.801,32.3],[118.801,32.301],[118.8,32.3]]]},"properties":{"code":"K1","name":"金牛小区","kind":"compound"}},
               {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[118.8,32.3],[118.801,32.3],[118.801,32.301],[118.8,32.3]]]},"properties":{}}"#,
        );
        let (b, _) = parse_blocks("k.geojson", ok, None, Crs(4549)).expect("valid");
        assert_eq!(b[0].label(), "K1");
        assert_eq!(b[1].label(), "block #1");
        let bad = fc(
            r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[118.8,32.3],[118.9,32.3]]},"properties":{}}"#,
        );
        let Err(Error::Invalid(problems)) = parse_blocks("k.geojson", bad, Some(WGS84), Crs(4549))
        else {
            panic!("must be refused");
        };
        assert_eq!(problems[0].field.as_deref(), Some("geometry"));
    }
}
