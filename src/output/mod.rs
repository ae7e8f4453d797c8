//! Writing GeoJSON: geometries go from the working CRS back to WGS84 (RFC 7946), or into the CRS named by
//! `--out-crs` (CGCS2000, its Gauss–Krüger zones, any CRS PROJ knows) with the legacy `crs` member
//! naming it; coordinates rounded to 1e-9 degrees (about 0.1 mm) or to 1 mm in metres, east first
//! (the order GDAL and QGIS read files in); properties as given. Output is deterministic: the same input
//! gives byte-identical files.

pub mod fgb;
pub mod handover;
pub mod text;

use crate::error::{Error, Result};
use crate::input::geom::for_each_ring_mut;
use crate::lang::Lang;
use crate::lang::messages::msg;
use crate::spatial::crs::{Crs, Transform, WGS84};
use geo::{Coord, MultiPolygon, Polygon};
use rayon::prelude::*;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;

/// Decimal places of degrees written (1e-9° is about 0.1 mm: the slivers rounding leaves along shared
/// edges stay far below the check's tolerance).
const DEGREE_DECIMALS: i32 = 9;
/// Decimal places of metres written (projected output).
const METRE_DECIMALS: i32 = 3;

/// The format a layer is written in, chosen by its file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerFormat {
    /// `.geojson` or `.json` (or no extension at all, such as `/dev/stdout`).
    GeoJson,
    /// `.fgb`.
    FlatGeobuf,
    /// `.gpkg` ([`crate::formats::gpkg`]).
    GeoPackage,
    /// `.shp`, with its `.shx`, `.dbf`, `.prj` and `.cpg` ([`crate::formats::shp`]).
    Shapefile,
}

/// The extensions of the formats a layer is written in.
const LAYER_EXTENSIONS: &str =
    ".geojson, .json (GeoJSON), .fgb (FlatGeobuf), .gpkg (GeoPackage) or .shp (Shapefile)";

/// The format of a layer written to `path`; an extension gridplan does not write (`.kml`, `.csv`, a
/// typo) is refused by name before any work is done, instead of writing GeoJSON under a name that
/// promises something else.
pub fn layer_format(path: &Path) -> Result<LayerFormat> {
    let Some(ext) = path.extension() else {
        return Ok(LayerFormat::GeoJson);
    };
    let ext = ext.to_string_lossy().to_ascii_lowercase();
    match ext.as_str() {
        "geojson" | "json" => Ok(LayerFormat::GeoJson),
        "fgb" => Ok(LayerFormat::FlatGeobuf),
        "gpkg" => Ok(LayerFormat::GeoPackage),
        "shp" => Ok(LayerFormat::Shapefile),
        _ => {
            let m = msg!(LayerExtension, ext = ext).arg_in(
                "names",
                LAYER_EXTENSIONS,
                ".geojson、.json、.fgb、.gpkg 或 .shp",
            );
            Err(Error::OutputName {
                path: path.to_path_buf(),
                message: m.text(Lang::En),
                message_zh: m.text(Lang::Zh),
            })
        }
    }
}

/// [`layer_format`], and whether a layer can be written there in `to`: a Shapefile's `.prj` is written
/// for WGS84, CGCS2000 and its Gauss–Krüger zones only. Refused by name before any work is done.
pub fn check_layer(path: &Path, to: Crs) -> Result<LayerFormat> {
    let format = layer_format(path)?;
    crate::formats::check_target(path, to.0)?;
    Ok(format)
}

/// Refuses a report (JSON) file name whose extension promises another format: `.json` or no
/// extension are written; anything else is refused by name before any work is done.
pub fn check_report_name(path: &Path) -> Result<()> {
    match path.extension() {
        None => Ok(()),
        Some(ext) if ext.eq_ignore_ascii_case("json") => Ok(()),
        Some(ext) => {
            let m = msg!(ReportExtension, ext = ext.to_string_lossy());
            Err(Error::OutputName {
                path: path.to_path_buf(),
                message: m.text(Lang::En),
                message_zh: m.text(Lang::Zh),
            })
        }
    }
}

/// A geometry to write, in the working CRS.
pub enum Shape<'a> {
    Point(Coord),
    Areal(&'a MultiPolygon),
    Line(&'a geo::LineString),
}

/// Streams a FeatureCollection to a file or into memory, reprojecting from `from` to `to`. A file whose
/// name ends in `.fgb` is written as FlatGeobuf instead ([`fgb`]), `.gpkg` as a GeoPackage and `.shp` as
/// a Shapefile ([`crate::formats`]): the same features, collected and written as one layer when the
/// writer finishes.
pub struct FeatureWriter<W: Write = std::io::BufWriter<std::fs::File>> {
    out: W,
    path: std::path::PathBuf,
    transform: Transform,
    to: Crs,
    first: bool,
    /// The features of a FlatGeobuf, GeoPackage or Shapefile layer, as the GeoJSON features they would
    /// have been, with the format.
    collected: Option<(LayerFormat, Vec<Value>)>,
}

impl FeatureWriter {
    /// Creates the file. When `to` is not WGS84, a legacy `crs` member names it.
    pub fn create(path: &Path, from: Crs, to: Crs) -> Result<FeatureWriter> {
        let format = check_layer(path, to)?;
        let file = std::fs::File::create(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let out = std::io::BufWriter::with_capacity(1 << 20, file);
        if format != LayerFormat::GeoJson {
            return Ok(FeatureWriter {
                out,
                path: path.to_path_buf(),
                transform: Transform::new(from, to)?,
                to,
                first: true,
                collected: Some((format, Vec::new())),
            });
        }
        FeatureWriter::new(out, path, from, to)
    }
}

impl FeatureWriter<Vec<u8>> {
    /// Writes into memory; `finish` returns the bytes.
    pub fn in_memory(from: Crs, to: Crs) -> Result<FeatureWriter<Vec<u8>>> {
        FeatureWriter::new(Vec::new(), Path::new("(memory)"), from, to)
    }
}

impl<W: Write> FeatureWriter<W> {
    fn new(out: W, path: &Path, from: Crs, to: Crs) -> Result<FeatureWriter<W>> {
        let mut w = FeatureWriter {
            out,
            path: path.to_path_buf(),
            transform: Transform::new(from, to)?,
            to,
            first: true,
            collected: None,
        };
        let header = collection_header(to);
        w.raw(header.as_bytes())?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn decimals(&self) -> i32 {
        decimals_for(self.to)
    }

    fn round(&self, v: f64) -> f64 {
        round(v, self.decimals())
    }

    /// Writes one feature.
    pub fn feature(
        &mut self,
        id: Option<&str>,
        shape: Shape,
        properties: &Map<String, Value>,
    ) -> Result<()> {
        let geometry = match shape {
            Shape::Point(c) => {
                let c = self.transform.point(c)?;
                serde_json::json!({"type": "Point", "coordinates": [self.round(c.x), self.round(c.y)]})
            }
            Shape::Line(ls) => {
                let mut coords = ls.0.clone();
                self.transform.apply(&mut coords)?;
                let coords: Vec<Value> = coords
                    .iter()
                    .map(|c| serde_json::json!([self.round(c.x), self.round(c.y)]))
                    .collect();
                serde_json::json!({"type": "LineString", "coordinates": coords})
            }
            Shape::Areal(mp) => {
                let mut mp = mp.clone();
                for_each_ring_mut(&mut mp, |ring| self.transform.apply(ring))?;
                let text = areal_feature_text(id, mp, self.decimals(), properties)
                    .map_err(|e| self.json_error(e))?;
                return self.record(text.as_bytes());
            }
        };
        let mut feature = Map::new();
        feature.insert("type".into(), "Feature".into());
        if let Some(id) = id {
            feature.insert("id".into(), id.into());
        }
        feature.insert("geometry".into(), geometry);
        feature.insert("properties".into(), Value::Object(properties.clone()));
        let text = serde_json::to_string(&feature).map_err(|e| self.json_error(e))?;
        self.record(text.as_bytes())
    }

    /// Writes many areal features, in order. The geometries are reprojected one after the other (a
    /// PROJ transformation serves one thread), then made valid on the lattice and rendered in parallel:
    /// a grid layer whose grids follow a surveyed outline of tens of thousands of vertices is otherwise
    /// one thread's work.
    pub fn areal_features(
        &mut self,
        features: Vec<(Option<&str>, &MultiPolygon, Map<String, Value>)>,
    ) -> Result<()> {
        let mut staged = Vec::with_capacity(features.len());
        for (id, mp, props) in features {
            let mut mp = mp.clone();
            for_each_ring_mut(&mut mp, |ring| self.transform.apply(ring))?;
            staged.push((id, mp, props));
        }
        let decimals = self.decimals();
        let texts: Vec<std::result::Result<String, serde_json::Error>> = staged
            .into_par_iter()
            .map(|(id, mp, props)| areal_feature_text(id, mp, decimals, &props))
            .collect();
        for text in texts {
            let text = text.map_err(|e| self.json_error(e))?;
            self.record(text.as_bytes())?;
        }
        Ok(())
    }

    /// One feature's text into the collection, after a separator when it is not the first.
    fn record(&mut self, text: &[u8]) -> Result<()> {
        if self.collected.is_some() {
            let feature: Value = serde_json::from_slice(text).map_err(|e| self.json_error(e))?;
            if let Some((_, features)) = &mut self.collected {
                features.push(feature);
            }
            return Ok(());
        }
        if !self.first {
            self.raw(b",\n")?;
        }
        self.first = false;
        self.raw(text)
    }

    fn json_error(&self, e: serde_json::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        }
    }

    /// Closes the collection and flushes the output, handing it back.
    pub fn finish(self) -> Result<W> {
        self.finish_with(None)
    }

    /// [`FeatureWriter::finish`], adding a foreign member `(key, JSON text)` to a GeoJSON collection
    /// (readers that do not know it ignore it, RFC 7946 §6.1); a GeoPackage holds the member's features
    /// as a layer of their own, named `key`. A FlatGeobuf or Shapefile layer holds features only: the
    /// member is not written there.
    pub fn finish_with(mut self, member: Option<(&str, &str)>) -> Result<W> {
        match self.collected.take() {
            Some((LayerFormat::FlatGeobuf, features)) => {
                fgb::write(&mut self.out, &self.path, self.to.0, &features)?
            }
            Some((format, features)) => {
                let member_features: Vec<Value> = match member {
                    Some((_, json)) => {
                        let v: Value =
                            serde_json::from_str(json).map_err(|e| self.json_error(e))?;
                        match v.get("features") {
                            Some(Value::Array(f)) => f.clone(),
                            _ => Vec::new(),
                        }
                    }
                    None => Vec::new(),
                };
                write_gis_layers(
                    &self.path,
                    format,
                    self.to.0,
                    &features,
                    member.map(|(key, _)| (key, member_features.as_slice())),
                )?;
            }
            None => {
                self.raw(b"\n]")?;
                if let Some((key, json)) = member {
                    let key = serde_json::to_string(key).map_err(|e| self.json_error(e))?;
                    self.raw(format!(",{key}:{}", json.trim_end()).as_bytes())?;
                }
                self.raw(b"}\n")?
            }
        }
        self.out.flush().map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.out)
    }
}

/// Writes a GeoPackage or Shapefile layer (and, in a GeoPackage, the member's features as a layer of
/// their own).
fn write_gis_layers(
    path: &Path,
    format: LayerFormat,
    crs: u32,
    features: &[Value],
    member: Option<(&str, &[Value])>,
) -> Result<()> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("layer")
        .to_string();
    let mut layers = vec![crate::formats::Layer {
        name: &name,
        features,
    }];
    if let Some((key, features)) = member {
        layers.push(crate::formats::Layer {
            name: key,
            features,
        });
    }
    let format = match format {
        LayerFormat::Shapefile => crate::formats::GisFormat::Shapefile,
        _ => crate::formats::GisFormat::GeoPackage,
    };
    crate::formats::write(path, format, crs, &layers)
}

fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

/// The geometry with every coordinate rounded as written.
fn rounded(mut mp: MultiPolygon, decimals: i32) -> MultiPolygon {
    let _ = for_each_ring_mut(&mut mp, |ring| {
        for c in ring {
            *c = Coord {
                x: round(c.x, decimals),
                y: round(c.y, decimals),
            };
        }
        Ok::<(), ()>(())
    });
    mp
}

/// The text of one areal feature whose geometry is already in the output CRS: rounded, made valid on
/// the written lattice, a `Polygon` when it has one part. Keys in the order `serde_json` writes a map
/// (sorted), so the text is what serialising the whole feature as one value would give; coordinates are
/// written without building a JSON value per number.
fn areal_feature_text(
    id: Option<&str>,
    mp: MultiPolygon,
    decimals: i32,
    properties: &Map<String, Value>,
) -> std::result::Result<String, serde_json::Error> {
    let (kind, coordinates) = areal_geometry_text(mp, decimals, false)?;
    let mut rest = Map::new();
    if let Some(id) = id {
        rest.insert("id".into(), id.into());
    }
    rest.insert("properties".into(), Value::Object(properties.clone()));
    rest.insert("type".into(), "Feature".into());
    let rest = serde_json::to_string(&rest)?;
    Ok(format!(
        "{{\"geometry\":{{\"coordinates\":{coordinates},\"type\":\"{kind}\"}},{}",
        &rest[1..]
    ))
}

/// The type and coordinates text of an areal geometry already in the output CRS: rounded, made valid
/// on the written lattice, a `Polygon` when it has one part; with `north_first`, each position written
/// (y, x), as OGC API – Features Part 2 answers in a CRS whose first axis points north.
fn areal_geometry_text(
    mp: MultiPolygon,
    decimals: i32,
    north_first: bool,
) -> std::result::Result<(&'static str, String), serde_json::Error> {
    let mp = valid_on_lattice(rounded(mp, decimals), decimals);
    let position = |c: &Coord| {
        let (x, y) = (round(c.x, decimals), round(c.y, decimals));
        if north_first { [y, x] } else { [x, y] }
    };
    let rings = |p: &Polygon| -> Vec<Vec<[f64; 2]>> {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .map(|ring| ring.0.iter().map(position).collect())
            .collect()
    };
    Ok(if mp.0.len() == 1 {
        ("Polygon", serde_json::to_string(&rings(&mp.0[0]))?)
    } else {
        let parts: Vec<_> = mp.0.iter().map(rings).collect();
        ("MultiPolygon", serde_json::to_string(&parts)?)
    })
}

/// Decimal places written in `crs`: 9 for degrees (about 0.1 mm), 3 for metres (1 mm).
pub fn decimals_for(crs: Crs) -> i32 {
    if crs.is_geographic() {
        DEGREE_DECIMALS
    } else {
        METRE_DECIMALS
    }
}

/// Areal GeoJSON geometries in WGS84 (as the service stores its plans) re-expressed in another CRS:
/// reprojected with PROJ, rounded for that CRS (degrees or metres) and made valid on the written
/// lattice, as a file written there would hold them.
pub struct Reprojection {
    transform: Transform,
    decimals: i32,
    north_first: bool,
}

impl Reprojection {
    /// From WGS84 to `to`; `north_first` writes each position (y, x), for OGC API – Features Part 2
    /// answers in a CRS whose first axis points north (EPSG:4490, the Gauss–Krüger zones).
    pub fn from_wgs84(to: Crs, north_first: bool) -> Result<Reprojection> {
        Ok(Reprojection {
            transform: Transform::new(WGS84, to)?,
            decimals: decimals_for(to),
            north_first,
        })
    }

    /// One `Polygon` or `MultiPolygon` geometry (a JSON value) in the target CRS, as JSON text.
    pub fn geometry_text(&self, geometry: &Value) -> Result<String> {
        let bad = |why: crate::problem::Said| {
            Error::Invalid(vec![crate::problem::Problem::error("(stored plan)", why)])
        };
        let kind = geometry
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("a geometry without a type".into()))?;
        let coordinates = geometry
            .get("coordinates")
            .ok_or_else(|| bad("a geometry without coordinates".into()))?;
        let mut mp = crate::input::geom::areal(kind, coordinates).map_err(|m| bad(m.into()))?;
        for_each_ring_mut(&mut mp, |ring| self.transform.apply(ring))?;
        let (kind, coordinates) = areal_geometry_text(mp, self.decimals, self.north_first)
            .map_err(|e| bad(e.to_string().into()))?;
        Ok(format!(
            "{{\"type\":\"{kind}\",\"coordinates\":{coordinates}}}"
        ))
    }
}

/// A WGS84 FeatureCollection of areal features (a stored plan's grids) as a file in `to`: every
/// geometry reprojected ([`Reprojection`], east first), the legacy `crs` member naming `to` unless
/// it is WGS84, the rest of each feature as it was.
pub fn collection_in(text: &str, to: Crs) -> Result<String> {
    if to == WGS84 {
        return Ok(text.to_string());
    }
    let bad =
        |why: String| Error::Invalid(vec![crate::problem::Problem::error("(stored plan)", why)]);
    let v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let features = v
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no features".into()))?;
    let r = Reprojection::from_wgs84(to, false)?;
    let mut out = collection_header(to);
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let mut f = f.clone();
        let geometry = match f.get("geometry") {
            Some(g) if !g.is_null() => r.geometry_text(g)?,
            _ => "null".to_string(),
        };
        let geometry: Value = serde_json::from_str(&geometry).map_err(|e| bad(e.to_string()))?;
        if let Some(o) = f.as_object_mut() {
            o.insert("geometry".into(), geometry);
        }
        out.push_str(&f.to_string());
    }
    out.push_str("\n]}\n");
    Ok(out)
}

/// The opening of a FeatureCollection written in `to`: with the legacy `crs` member unless WGS84.
fn collection_header(to: Crs) -> String {
    if to == WGS84 {
        "{\"type\":\"FeatureCollection\",\"features\":[\n".to_string()
    } else {
        format!(
            "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{}\"}}}},\"features\":[\n",
            to.0
        )
    }
}

pub use crate::spatial::geometry::valid_on_lattice;

/// Writes grids with their recounted figures and records, and the record of retired grids (the
/// `retired_grids` member: a FeatureCollection of the grids out of force, each with its record and
/// `valid_to`, no counts). Aggregates only, never sensitive counts.
pub fn write_grid_layer(
    path: &Path,
    working: Crs,
    to: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
    retired: &[crate::model::GridShape],
) -> Result<()> {
    write_grid_layer_described(path, working, to, grids, rows, retired, None)
}

/// [`write_grid_layer`] with each grid's 四至 (`bounds_description`) when given.
pub fn write_grid_layer_described(
    path: &Path,
    working: Crs,
    to: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
    retired: &[crate::model::GridShape],
    descriptions: Option<&[String]>,
) -> Result<()> {
    let member = retired_member(working, to, retired)?;
    let mut w = FeatureWriter::create(path, working, to)?;
    grid_features(&mut w, grids, rows, descriptions)?;
    w.finish_with(member.as_deref().map(|m| (RETIRED_MEMBER, m)))
        .map(|_| ())
}

/// A grids layer as GeoJSON text in CRS84 (what the service stores for a plan): the grids with their
/// recounted figures and, when given, their 四至, and the record of retired grids.
pub fn grid_layer_geojson(
    working: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
    retired: &[crate::model::GridShape],
    descriptions: Option<&[String]>,
) -> Result<String> {
    let member = retired_member(working, WGS84, retired)?;
    let mut w = FeatureWriter::in_memory(working, WGS84)?;
    grid_features(&mut w, grids, rows, descriptions)?;
    let bytes = w.finish_with(member.as_deref().map(|m| (RETIRED_MEMBER, m)))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The foreign member of a grids file that records the grids out of force.
pub const RETIRED_MEMBER: &str = crate::formats::gpkg::RETIRED_LAYER;

/// The retired grids as a FeatureCollection's text, or `None` when there are none.
fn retired_member(
    working: Crs,
    to: Crs,
    retired: &[crate::model::GridShape],
) -> Result<Option<String>> {
    if retired.is_empty() {
        return Ok(None);
    }
    let mut w = FeatureWriter::in_memory(working, to)?;
    let features = retired
        .iter()
        .map(|g| {
            let mut props = Map::new();
            props.insert("id".into(), g.id.clone().into());
            props.insert("community".into(), g.community.clone().into());
            record_properties(&mut props, g);
            (Some(g.id.as_str()), &g.geometry, props)
        })
        .collect();
    w.areal_features(features)?;
    Ok(Some(String::from_utf8_lossy(&w.finish()?).into_owned()))
}

/// A grid's record as properties: `kind` (basic or dedicated), `name`, `responsible`, `valid_from`,
/// `valid_to` (null while in force), `seq` (its number, when its id is a code of its community),
/// `last_seq` (the community's highest number ever issued), and for dedicated grids `unit` and
/// `place_code`.
fn record_properties(props: &mut Map<String, Value>, g: &crate::model::GridShape) {
    let r = &g.record;
    let day = |d: Option<crate::model::Date>| d.map(|d| d.to_string());
    let seq = g
        .community
        .as_deref()
        .and_then(|c| crate::model::grid_code::read_for(&g.id, c).ok())
        .map(|c| c.number);
    props.insert("kind".into(), r.kind.name().into());
    props.insert("name".into(), r.name.clone().into());
    props.insert("responsible".into(), r.responsible.clone().into());
    props.insert("valid_from".into(), day(r.valid_from).into());
    props.insert("valid_to".into(), day(r.valid_to).into());
    props.insert("seq".into(), seq.into());
    props.insert("last_seq".into(), r.last_number.into());
    if r.kind == crate::model::GridKind::Dedicated {
        props.insert("unit".into(), r.unit.clone().into());
        props.insert("place_code".into(), r.place_code.clone().into());
    }
}

/// Writes grids with their recounted figures, in `to` (WGS84 unless `--out-crs` names another):
/// aggregates only, never sensitive counts.
pub fn write_grids(
    path: &Path,
    working: Crs,
    to: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
) -> Result<()> {
    let mut w = FeatureWriter::create(path, working, to)?;
    grid_features(&mut w, grids, rows, None)?;
    w.finish().map(|_| ())
}

/// A grids layer written part by part (`partition --by-county`): each county's grids, with their 四至,
/// appended as they are drawn, so the whole plan is never held at once.
pub struct GridStream(FeatureWriter);

impl GridStream {
    /// Creates the layer (GeoJSON, or FlatGeobuf for a `.fgb` path), in `to`.
    pub fn create(path: &Path, working: Crs, to: Crs) -> Result<GridStream> {
        Ok(GridStream(FeatureWriter::create(path, working, to)?))
    }

    /// Appends grids with their recounted figures (aggregates only) and their 四至.
    pub fn write(
        &mut self,
        grids: &[crate::model::GridShape],
        rows: &[crate::check::GridRow],
        descriptions: &[String],
    ) -> Result<()> {
        grid_features(&mut self.0, grids, rows, Some(descriptions))
    }

    /// Closes the layer.
    pub fn finish(self) -> Result<()> {
        self.0.finish().map(|_| ())
    }
}

/// [`write_grids`] into a string, in WGS84.
pub fn grids_geojson(
    working: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
) -> Result<String> {
    grids_geojson_in(working, WGS84, grids, rows)
}

/// [`write_grids`] into a string, in `to`.
pub fn grids_geojson_in(
    working: Crs,
    to: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
) -> Result<String> {
    let mut w = FeatureWriter::in_memory(working, to)?;
    grid_features(&mut w, grids, rows, None)?;
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

fn grid_features<W: Write>(
    w: &mut FeatureWriter<W>,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
    descriptions: Option<&[String]>,
) -> Result<()> {
    let mut features = Vec::with_capacity(grids.len());
    for (i, (g, row)) in grids.iter().zip(rows).enumerate() {
        let mut props = Map::new();
        props.insert("id".into(), row.id.clone().into());
        props.insert("community".into(), row.community.clone().into());
        record_properties(&mut props, g);
        props.insert("community_kind".into(), row.kind.clone().into());
        props.insert("households".into(), row.households.into());
        props.insert("population".into(), row.population.into());
        props.insert("buildings".into(), row.buildings.into());
        props.insert("min".into(), row.min.into());
        props.insert("max".into(), row.max.into());
        let status = row.status.map(|s| match s {
            crate::rules::BandStatus::Ok => "ok",
            crate::rules::BandStatus::Under => "under",
            crate::rules::BandStatus::Over => "over",
        });
        // A dedicated grid is exempt from the band.
        let status =
            status.or((g.record.kind == crate::model::GridKind::Dedicated).then_some("exempt"));
        props.insert("status".into(), status.into());
        props.insert("population_alert".into(), row.population_alert.into());
        props.insert(
            "area_m2".into(),
            ((row.area_m2 * 10.0).round() / 10.0).into(),
        );
        props.insert(
            "compactness".into(),
            ((row.compactness * 1e4).round() / 1e4).into(),
        );
        if let Some(d) = descriptions.and_then(|d| d.get(i)) {
            props.insert("bounds_description".into(), d.clone().into());
        }
        features.push((Some(row.id.as_str()), &g.geometry, props));
    }
    w.areal_features(features)
}

/// Writes grids with their responsible worker (and, for planners, the weekly workload), in `to`.
pub fn write_assignment(
    path: &Path,
    working: Crs,
    to: Crs,
    grids: &[crate::model::GridShape],
    loads: &[crate::staff::assign::GridLoad],
    assignment: &crate::staff::assign::Assignment,
    include_sensitive: bool,
) -> Result<()> {
    let mut w = FeatureWriter::create(path, working, to)?;
    assignment_features(&mut w, grids, loads, assignment, include_sensitive)?;
    w.finish().map(|_| ())
}

/// [`write_assignment`] into a string.
pub fn assignment_geojson(
    working: Crs,
    grids: &[crate::model::GridShape],
    loads: &[crate::staff::assign::GridLoad],
    assignment: &crate::staff::assign::Assignment,
    include_sensitive: bool,
) -> Result<String> {
    let mut w = FeatureWriter::in_memory(working, WGS84)?;
    assignment_features(&mut w, grids, loads, assignment, include_sensitive)?;
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

/// One feature per grid: its responsible worker, the staffing policy, whether a cadre holds it, and,
/// only when `include_sensitive` (a planner's file), the weekly workload: it is a function of the
/// counts of people needing visits, so it never goes into a file meant to be shared.
fn assignment_features<W: Write>(
    w: &mut FeatureWriter<W>,
    grids: &[crate::model::GridShape],
    loads: &[crate::staff::assign::GridLoad],
    assignment: &crate::staff::assign::Assignment,
    include_sensitive: bool,
) -> Result<()> {
    let rows = grids
        .iter()
        .zip(loads)
        .zip(&assignment.primary)
        .zip(&assignment.primary_kind);
    let mut features = Vec::with_capacity(grids.len());
    for (((g, load), worker), kind) in rows {
        let mut props = Map::new();
        props.insert("id".into(), g.id.clone().into());
        props.insert("community".into(), g.community.clone().into());
        props.insert("town".into(), load.town.as_str().into());
        props.insert("households".into(), load.households.into());
        if include_sensitive {
            props.insert(
                "workload_hours".into(),
                ((load.workload_hours * 10.0).round() / 10.0).into(),
            );
        }
        props.insert("staffing_policy".into(), load.policy.name().into());
        props.insert(
            "cadre_responsible".into(),
            (*kind == Some(crate::model::WorkerType::Cadre)).into(),
        );
        props.insert("primary_worker".into(), worker.clone().into());
        props.insert(
            "workers".into(),
            Value::Array(worker.iter().map(|w| Value::from(w.clone())).collect()),
        );
        features.push((Some(g.id.as_str()), &g.geometry, props));
    }
    w.areal_features(features)
}

/// The leaves with their codes, names, kinds and counts (public aggregates), in WGS84.
pub fn communities_geojson(
    data: &crate::input::dataset::Dataset,
    checked: &crate::check::CheckReport,
) -> Result<String> {
    let mut w = FeatureWriter::in_memory(data.working, WGS84)?;
    for (row, &l) in checked.leaves.iter().zip(data.tree.leaves()) {
        let a = &data.tree.areas[l];
        let mut props = Map::new();
        props.insert("code".into(), a.code.clone().into());
        props.insert("name".into(), a.name.clone().into());
        props.insert("level".into(), a.level.clone().into());
        props.insert("parent".into(), a.parent.clone().into());
        props.insert("kind".into(), row.kind.clone().into());
        props.insert("households".into(), row.households.into());
        props.insert("grids".into(), row.grids.into());
        props.insert(
            "area_m2".into(),
            ((row.area_m2 * 10.0).round() / 10.0).into(),
        );
        w.feature(Some(&a.code), Shape::Areal(&a.geometry), &props)?;
    }
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

/// Writes a plan's grids in `to`: with each grid's 四至 (`bounds_description`) when the plan has them.
pub fn write_plan(path: &Path, outcome: &crate::ops::PlanOutcome, to: Crs) -> Result<()> {
    let p = &outcome.planned;
    write_grid_layer_described(
        path,
        outcome.working,
        to,
        &p.grids,
        &p.check.grids,
        &p.retired,
        outcome.descriptions.as_deref(),
    )
}

/// `gridplan partition --by-county`: draws county by county ([`crate::ops::plan_files_by_county`]),
/// appending each county's grids to `out` (in `to`) as it is drawn, and writes the report.
pub fn plan_by_county(
    files: &crate::ops::PlanFiles,
    out: &Path,
    to: Crs,
    report: Option<&Path>,
    progress: &dyn crate::ops::Progress,
) -> Result<crate::ops::CountyByCounty> {
    let mut stream: Option<GridStream> = None;
    let mut sink = |grids: &[crate::model::GridShape],
                    rows: &[crate::check::GridRow],
                    descriptions: &[String],
                    working: Crs|
     -> Result<()> {
        let s = match &mut stream {
            Some(s) => s,
            None => stream.insert(GridStream::create(out, working, to)?),
        };
        s.write(grids, rows, descriptions)
    };
    let done = crate::ops::plan_files_by_county(files, progress, &mut sink)?;
    match stream {
        Some(s) => s.finish()?,
        None => GridStream::create(out, done.working, to)?.finish()?,
    }
    if let Some(path) = report {
        write_json(path, &done.report())?;
    }
    Ok(done)
}

/// Writes `value` as indented JSON.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    check_report_name(path)?;
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_text(path, &text)
}

/// Writes `text` to `path`.
pub fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Adds `bounds_description` (the 四至) to each feature of a grids GeoJSON text, in order.
pub fn add_descriptions(geojson: &str, descriptions: &[String]) -> crate::Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(geojson).map_err(|e| {
        crate::Error::Invalid(vec![crate::problem::Problem::error("grids", e.to_string())])
    })?;
    if let Some(features) = v.get_mut("features").and_then(|f| f.as_array_mut()) {
        for (f, d) in features.iter_mut().zip(descriptions) {
            if let Some(props) = f.get_mut("properties").and_then(|p| p.as_object_mut()) {
                props.insert("bounds_description".into(), d.clone().into());
            }
        }
    }
    // The collection's `crs` member (a layer written with --out-crs) stays.
    let to = v
        .get("crs")
        .and_then(|m| Crs::from_member(m).ok())
        .unwrap_or(WGS84);
    let mut out = collection_header(to);
    if let Some(features) = v.get("features").and_then(|f| f.as_array()) {
        for (i, f) in features.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str(&f.to_string());
        }
    }
    out.push_str("\n]}\n");
    Ok(out)
}

/// The ground layers as public GeoJSON texts in CRS84, (blocks, barriers), for the service's read-only
/// collections: each block with its `code`, `name` and `kind`, each barrier line with its `name`,
/// `class` and `rank`, and nothing else (whatever else the uploaded files carried, household counts
/// included, stays out). A barrier of several lines is written line by line, `id` `n` then `n-2`, `n-3`…
pub fn ground_geojson(working: Crs, layers: &crate::model::Layers) -> Result<(String, String)> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let mut w = FeatureWriter::in_memory(working, WGS84)?;
    for b in &layers.blocks {
        let mut props = Map::new();
        let id = b
            .code
            .clone()
            .unwrap_or_else(|| format!("block-{}", b.feature));
        props.insert("id".into(), id.clone().into());
        props.insert("code".into(), text(&b.code));
        props.insert("name".into(), text(&b.name));
        props.insert("kind".into(), text(&b.kind));
        w.feature(Some(&id), Shape::Areal(&b.geometry), &props)?;
    }
    let blocks = String::from_utf8_lossy(&w.finish()?).into_owned();
    let mut w = FeatureWriter::in_memory(working, WGS84)?;
    for b in &layers.barriers {
        for (n, line) in b.geometry.0.iter().enumerate() {
            let id = if n == 0 {
                format!("{}", b.feature)
            } else {
                format!("{}-{}", b.feature, n + 1)
            };
            let mut props = Map::new();
            props.insert("id".into(), id.clone().into());
            props.insert("name".into(), text(&b.name));
            props.insert("class".into(), text(&b.class));
            props.insert("rank".into(), b.rank.into());
            w.feature(Some(&id), Shape::Line(line), &props)?;
        }
    }
    let barriers = String::from_utf8_lossy(&w.finish()?).into_owned();
    Ok((blocks, barriers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spatial::geometry;
    use geo::{Area, polygon};

    #[test]
    fn a_valid_geometry_is_returned_unchanged() {
        let p = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0), (x: 0.0, y: 0.0)];
        let mp = MultiPolygon(vec![p]);
        assert_eq!(valid_on_lattice(mp.clone(), 3), mp);
    }

    #[test]
    fn spikes_and_self_touching_rings_become_valid_on_the_lattice() {
        // A square with a zero-width spike out of its top edge and a slightly crossing one.
        let spiky = polygon![
            (x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 5.0, y: 10.0),
            (x: 5.0, y: 15.0), (x: 5.0, y: 10.0), (x: 2.0, y: 10.0), (x: 2.001, y: 13.0),
            (x: 1.999, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)
        ];
        // A ring touching itself: an inverted hole.
        let inverted = polygon![
            (x: 20.0, y: 0.0), (x: 30.0, y: 0.0), (x: 30.0, y: 10.0), (x: 25.0, y: 10.0),
            (x: 26.0, y: 5.0), (x: 24.0, y: 5.0), (x: 25.0, y: 10.0), (x: 20.0, y: 10.0), (x: 20.0, y: 0.0)
        ];
        for p in [spiky, inverted] {
            assert!(geometry::polygon_problem(&p).is_some());
            let area = MultiPolygon(vec![p.clone()]).unsigned_area();
            let fixed = valid_on_lattice(MultiPolygon(vec![p]), 3);
            assert!(!fixed.0.is_empty());
            for q in &fixed.0 {
                assert_eq!(geometry::polygon_problem(q), None, "{q:?}");
                for c in q
                    .exterior()
                    .0
                    .iter()
                    .chain(q.interiors().iter().flat_map(|r| r.0.iter()))
                {
                    assert_eq!((c.x * 1e3).round() / 1e3, c.x);
                }
            }
            assert!(
                (fixed.unsigned_area() - area).abs() < 0.01,
                "{} vs {area}",
                fixed.unsigned_area()
            );
        }
    }
}
