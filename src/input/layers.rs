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
use crate::lang::messages::{Msg, msg};
use crate::model::{Barrier, Block, Dedicated, Layers};
use crate::problem::{Problem, Problems};
use crate::spatial::crs::{Crs, Transform};
use geo::{Coord, LineString, MultiLineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};
use std::path::Path;

/// Highest `rank` a barrier may have.
pub const MAX_RANK: u32 = 9;

/// A vertex of a block or barrier closer than this (metres, in the working CRS) to the vertex kept
/// before it is dropped: far below a building's size, it cannot change which grid a household or a
/// block falls in, and a surveyed outline of a million such points costs the drawing minutes.
pub const THIN_METRES: f64 = 0.1;

/// The most vertices one block or barrier may keep once thinned ([`THIN_METRES`]); past it the
/// feature is refused, named. A street block's outline has tens; a surveyed park's, thousands.
pub const MAX_FEATURE_VERTICES: usize = 100_000;

/// The most polygons one block (or lines one barrier) may have; past it the feature is refused.
pub const MAX_FEATURE_PARTS: usize = 10_000;

/// The most features a blocks or barriers layer may have; past it the layer is refused. A county
/// of 400,000 households has about 100,000 street blocks, compounds and lattice-sized parcels.
pub const MAX_LAYER_FEATURES: usize = 250_000;

/// How many repeated features are named one by one in the warnings; the rest are counted.
const DUPLICATES_NAMED: usize = 20;

/// `ring` without the vertices closer than `tol` to the vertex kept before them; a closed ring stays
/// closed. `None` when nothing would be dropped or too little would be left (`min` points).
fn thinned(ring: &[Coord], tol: f64, closed: bool, min: usize) -> Option<Vec<Coord>> {
    let (&first, &last) = (ring.first()?, ring.last()?);
    let tol2 = tol * tol;
    let near = |a: Coord, b: Coord| (a.x - b.x).powi(2) + (a.y - b.y).powi(2) < tol2;
    let mut out: Vec<Coord> = Vec::with_capacity(ring.len());
    out.push(first);
    for &c in &ring[1..ring.len() - 1] {
        if out.last().is_some_and(|&k| !near(k, c)) {
            out.push(c);
        }
    }
    // The end stays where it is: drop the kept vertex next to it instead.
    if out.len() > 1 && out.last().is_some_and(|&k| near(k, last)) {
        out.pop();
    }
    out.push(last);
    let enough = if closed {
        out.len() >= min
    } else {
        out.len() >= 2
    };
    (enough && out.len() < ring.len()).then_some(out)
}

/// A block's polygons thinned ([`THIN_METRES`]), polygon by polygon; a polygon thinning would make
/// invalid (a ring narrower than the tolerance somewhere) is kept as it was.
fn thin_polygons(mp: &mut MultiPolygon) {
    for p in &mut mp.0 {
        let ext = thinned(&p.exterior().0, THIN_METRES, true, 4);
        let holes: Vec<Option<Vec<Coord>>> = p
            .interiors()
            .iter()
            .map(|h| thinned(&h.0, THIN_METRES, true, 4))
            .collect();
        if ext.is_none() && holes.iter().all(Option::is_none) {
            continue;
        }
        let exterior = ext.map_or_else(|| p.exterior().clone(), LineString);
        let interiors = p
            .interiors()
            .iter()
            .zip(holes)
            .map(|(h, t)| t.map_or_else(|| h.clone(), LineString))
            .collect();
        let candidate = Polygon::new(exterior, interiors);
        if crate::spatial::geometry::polygon_problem(&candidate).is_none() {
            *p = candidate;
        }
    }
}

fn vertex_count(mp: &MultiPolygon) -> usize {
    mp.0.iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|h| h.0.len()).sum::<usize>())
        .sum()
}

/// A hash of a geometry's coordinates, exactly (bit for bit).
fn coordinates_hash<'a>(coords: impl Iterator<Item = &'a Coord>, parts: usize) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    for c in coords {
        c.x.to_bits().hash(&mut h);
        c.y.to_bits().hash(&mut h);
    }
    h.finish()
}

/// The features of a layer whose geometry repeats an earlier feature's exactly, as (repeat, first)
/// positions in `items`.
fn repeats<T, G: PartialEq>(
    items: &[T],
    geometry: impl Fn(&T) -> &G,
    hash: impl Fn(&G) -> u64,
) -> Vec<(usize, usize)> {
    let mut seen: std::collections::HashMap<u64, Vec<usize>> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let g = geometry(item);
        let same = seen.entry(hash(g)).or_default();
        match same.iter().find(|&&j| geometry(&items[j]) == g) {
            Some(&j) => out.push((i, j)),
            None => same.push(i),
        }
    }
    out
}

/// Drops the features of a layer that repeat an earlier one's geometry exactly, each named in a
/// warning (the first [`DUPLICATES_NAMED`], then one counting the rest): a repeated block would be two
/// blocks on the same ground, one of them cut by every grid edge along the other.
fn drop_repeats<T, G: PartialEq>(
    file: &str,
    what: &str,
    items: &mut Vec<T>,
    geometry: impl Fn(&T) -> &G,
    hash: impl Fn(&G) -> u64,
    feature: impl Fn(&T) -> (usize, Option<String>),
    problems: &mut Problems,
) {
    let found = repeats(items, &geometry, hash);
    if found.is_empty() {
        return;
    }
    for &(i, j) in found.iter().take(DUPLICATES_NAMED) {
        let (index, id) = feature(&items[i]);
        let (first, _) = feature(&items[j]);
        problems.push(
            Problem::warning(
                file,
                format!("the same {what} as feature {first}, exactly: dropped"),
            )
            .at(index, id.as_deref())
            .field("geometry"),
        );
    }
    if found.len() > DUPLICATES_NAMED {
        problems.push(
            Problem::warning(
                file,
                format!(
                    "{} more features repeat an earlier {what} exactly: dropped ({} repeats in all)",
                    found.len() - DUPLICATES_NAMED,
                    found.len()
                ),
            )
            .field("geometry"),
        );
    }
    let drop: std::collections::HashSet<usize> = found.iter().map(|&(i, _)| i).collect();
    let mut at = 0;
    items.retain(|_| {
        at += 1;
        !drop.contains(&(at - 1))
    });
}

fn too_many_features(file: &str, what: &str, n: usize) -> Error {
    Error::Invalid(vec![
        Problem::error(
            file,
            format!(
                "{n} {what}, past the {MAX_LAYER_FEATURES} a layer may have (a county has some thousands)"
            ),
        )
        .field("features"),
    ])
}

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
    if features.len() > MAX_LAYER_FEATURES {
        return Err(too_many_features(file, "blocks", features.len()));
    }
    let mut blocks = Vec::with_capacity(features.len());
    let mut ids = Vec::with_capacity(features.len());
    for f in features {
        let mut f: AreaFeature = f;
        let code = prop_text(file, &f, "code", &mut problems).filter(|c| !c.is_empty());
        let name = prop_text(file, &f, "name", &mut problems).filter(|c| !c.is_empty());
        let kind = prop_text(file, &f, "kind", &mut problems);
        let parts = f.geometry.0.len();
        if parts > MAX_FEATURE_PARTS {
            problems.push(
                Problem::error(
                    file,
                    format!("{parts} polygons, past the {MAX_FEATURE_PARTS} a block may have"),
                )
                .at(f.index, f.id.as_deref())
                .field("geometry"),
            );
            continue;
        }
        if !working.is_geographic() {
            thin_polygons(&mut f.geometry);
        }
        let vertices = vertex_count(&f.geometry);
        if vertices > MAX_FEATURE_VERTICES {
            problems.push(
                Problem::error(
                    file,
                    format!(
                        "{vertices} vertices once those within {THIN_METRES} m of the one before are \
                         dropped, past the {MAX_FEATURE_VERTICES} a block may have"
                    ),
                )
                .at(f.index, f.id.as_deref())
                .field("geometry"),
            );
            continue;
        }
        ids.push((f.index, f.id.clone()));
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
    let id_of: std::collections::HashMap<usize, Option<String>> = ids.into_iter().collect();
    drop_repeats(
        file,
        "block",
        &mut blocks,
        |b| &b.geometry,
        |g| coordinates_hash(g.0.iter().flat_map(|p| p.exterior().0.iter()), g.0.len()),
        |b| (b.feature, id_of.get(&b.feature).cloned().flatten()),
        &mut problems,
    );
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

fn line(v: &Value, part: Option<usize>) -> std::result::Result<LineString, Msg> {
    let in_part = |m: Msg| match part {
        Some(p) => msg!(LinePart, line = p).arg_msg("why", &m),
        None => m,
    };
    let arr = v.as_array().ok_or_else(|| in_part(msg!(LineNotArray)))?;
    let mut coords: Vec<Coord> = Vec::with_capacity(arr.len());
    for (i, p) in arr.iter().enumerate() {
        coords.push(
            geom::position(p)
                .map_err(|e| in_part(msg!(LinePosition, index = i).arg_msg("why", &e)))?,
        );
    }
    if coords.len() < 2 {
        return Err(in_part(msg!(LineTooShort, count = coords.len())));
    }
    Ok(LineString(coords))
}

fn lineal(kind: &str, coordinates: &Value) -> std::result::Result<MultiLineString, Msg> {
    match kind {
        "LineString" => Ok(MultiLineString(vec![line(coordinates, None)?])),
        "MultiLineString" => {
            let parts = coordinates
                .as_array()
                .ok_or_else(|| msg!(MultiLineNotArray))?;
            if parts.is_empty() {
                return Err(msg!(MultiLineEmpty));
            }
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| line(p, Some(i)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(MultiLineString)
        }
        other => Err(msg!(NotLineal, found = other)),
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
                Problem::error(file, msg!(BarrierNoGeometry))
                    .at(index, idr)
                    .field("geometry"),
            );
            return;
        };
        let kind = g.kind.as_deref().unwrap_or("missing");
        let geometry = match g.coordinates.as_ref() {
            None => Err(msg!(ArealNoCoordinates, found = kind)),
            Some(c) => lineal(kind, c),
        };
        let geometry = match geometry {
            Ok(g) if g.0.len() > MAX_FEATURE_PARTS => Err(msg!(
                TooManyLines,
                count = g.0.len(),
                max = MAX_FEATURE_PARTS
            )),
            other => other,
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
    if out.len() > MAX_LAYER_FEATURES {
        return Err(too_many_features(file, "barriers", out.len()));
    }
    let transform = Transform::new(crs, working)?;
    for (b, id) in out.iter_mut().zip(&ids) {
        for l in &mut b.geometry.0 {
            transform.apply(&mut l.0)?;
            if !working.is_geographic()
                && let Some(t) = thinned(&l.0, THIN_METRES, false, 2)
            {
                l.0 = t;
            }
        }
        let vertices: usize = b.geometry.0.iter().map(|l| l.0.len()).sum();
        if vertices > MAX_FEATURE_VERTICES {
            problems.push(
                Problem::error(
                    file,
                    format!(
                        "{vertices} vertices once those within {THIN_METRES} m of the one before are \
                         dropped, past the {MAX_FEATURE_VERTICES} a barrier may have"
                    ),
                )
                .at(b.feature, id.as_deref())
                .field("geometry"),
            );
        }
    }
    if problems.has_errors() {
        return Err(Error::Invalid(problems.0));
    }
    let id_of: std::collections::HashMap<usize, Option<String>> =
        out.iter().map(|b| b.feature).zip(ids).collect();
    drop_repeats(
        file,
        "line",
        &mut out,
        |b| &b.geometry,
        |g| coordinates_hash(g.0.iter().flat_map(|l| l.0.iter()), g.0.len()),
        |b| (b.feature, id_of.get(&b.feature).cloned().flatten()),
        &mut problems,
    );
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
               {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[118.801,32.3],[118.802,32.3],[118.802,32.301],[118.801,32.3]]]},"properties":{}}"#,
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

    /// A block ring: a circle of `n` vertices of `radius` degrees around a point of the demo district.
    fn circle(n: usize, radius: f64) -> String {
        let (cx, cy) = (118.81, 32.31);
        let mut ring: Vec<String> = (0..n)
            .map(|i| {
                let a = std::f64::consts::TAU * i as f64 / n as f64;
                format!("[{},{}]", cx + radius * a.cos(), cy + radius * a.sin())
            })
            .collect();
        ring.push(ring[0].clone());
        format!("[{}]", ring.join(","))
    }

    fn block(coordinates: &str, kind: &str) -> String {
        format!(
            r#"{{"type":"Feature","geometry":{{"type":"{kind}","coordinates":{coordinates}}},"properties":{{}}}}"#
        )
    }

    #[test]
    fn a_block_of_a_million_close_vertices_is_thinned_to_what_matters() {
        // 200,000 vertices around a 100 m circle: 3 mm apart.
        let text = fc(&block(&format!("[{}]", circle(200_000, 0.001)), "Polygon"));
        let (b, _) = parse_blocks("k.geojson", text, None, Crs(4549)).expect("valid");
        let kept = vertex_count(&b[0].geometry);
        assert!(kept < 8_000 && kept > 1_000, "{kept} vertices kept");
        let area = crate::spatial::geometry::area_m2(&b[0].geometry);
        let whole = std::f64::consts::PI * 94.1 * 110.9; // an ellipse: 0.001° of longitude and latitude
        assert!(
            (area / whole - 1.0).abs() < 0.01,
            "{area} m² of about {whole}"
        );
        assert!(crate::spatial::geometry::polygon_problem(&b[0].geometry.0[0]).is_none());
    }

    #[test]
    fn absurd_blocks_are_refused_by_name_with_the_figure_and_the_limit() {
        // A block of 150,000 vertices a metre apart (a 25 km circle) and one of 10,001 polygons.
        let square = |i: usize| {
            let (x, y) = (
                118.7 + (i % 100) as f64 * 4e-5,
                32.2 + (i / 100) as f64 * 4e-5,
            );
            format!(
                "[[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]]",
                x + 2e-5,
                x + 2e-5,
                y + 2e-5,
                y + 2e-5
            )
        };
        let parts: Vec<String> = (0..MAX_FEATURE_PARTS + 1).map(square).collect();
        let text = fc(&format!(
            "{},{}",
            block(&format!("[{}]", circle(150_000, 0.23)), "Polygon"),
            block(&format!("[{}]", parts.join(",")), "MultiPolygon")
        ));
        let Err(Error::Invalid(problems)) = parse_blocks("k.geojson", text, None, Crs(4549)) else {
            panic!("must be refused");
        };
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter().any(|t| t.contains("feature 0")
                && t.contains("geometry")
                && t.contains("150001 vertices")
                && t.contains("100000")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t.contains("feature 1")
                && t.contains("10001 polygons")
                && t.contains("10000")),
            "{text:?}"
        );
    }

    #[test]
    fn a_layer_of_too_many_blocks_is_refused() {
        let one = block(
            "[[[118.8,32.3],[118.80001,32.3],[118.80001,32.30001],[118.8,32.3]]]",
            "Polygon",
        );
        let text = fc(&vec![one; MAX_LAYER_FEATURES + 1].join(","));
        let Err(Error::Invalid(problems)) = parse_blocks("k.geojson", text, None, Crs(4549)) else {
            panic!("must be refused");
        };
        let t = problems[0].to_string();
        assert!(
            t.contains("k.geojson")
                && t.contains(&format!("{} blocks", MAX_LAYER_FEATURES + 1))
                && t.contains(&MAX_LAYER_FEATURES.to_string()),
            "{t}"
        );
    }

    #[test]
    fn repeated_blocks_and_barriers_are_dropped_and_named() {
        let a = block(&format!("[{}]", circle(40, 0.001)), "Polygon");
        let b = block(&format!("[{}]", circle(40, 0.002)), "Polygon");
        let text = fc(&[a.clone(), b, a.clone(), a].join(","));
        let (blocks, warnings) = parse_blocks("k.geojson", text, None, Crs(4549)).expect("valid");
        assert_eq!(
            blocks.iter().map(|b| b.feature).collect::<Vec<_>>(),
            vec![0, 1]
        );
        let w: Vec<String> = warnings.warnings().map(|p| p.to_string()).collect();
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(
            w[0].contains("feature 2") && w[0].contains("feature 0") && w[0].contains("dropped"),
            "{w:?}"
        );
        assert!(w[1].contains("feature 3"), "{w:?}");
        let line = r#"{"type":"Feature","geometry":{"type":"LineString","coordinates":[[118.8,32.3],[118.81,32.3]]},"properties":{"name":"雄州路"}}"#;
        let (barriers, warnings) =
            parse_barriers("b.geojson", fc(&[line, line].join(",")), None, Crs(4549))
                .expect("valid");
        assert_eq!(barriers.len(), 1);
        let w: Vec<String> = warnings.warnings().map(|p| p.to_string()).collect();
        assert!(
            w.iter()
                .any(|t| t.contains("feature 1") && t.contains("雄州路")),
            "{w:?}"
        );
    }
}
