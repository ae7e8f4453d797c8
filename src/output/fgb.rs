//! FlatGeobuf output: any layer whose file name ends in `.fgb` is written as FlatGeobuf (GDAL and QGIS
//! read it natively, with its packed R-tree spatial index) instead of GeoJSON. The features are those
//! the GeoJSON writer would write, with the same rounded, valid geometries and the same properties; a
//! property becomes a typed column (integer, real, boolean, text, or JSON for lists and objects).

use crate::error::{Error, Result};
use flatgeobuf::{ColumnType, FgbCrs, FgbWriter, FgbWriterOptions, GeometryType};
use geozero::{ColumnValue, PropertyProcessor};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;

/// Writes a GeoJSON FeatureCollection, given as text, to `path`: as is, or as FlatGeobuf when the name
/// ends in `.fgb`, a GeoPackage for `.gpkg`, a Shapefile for `.shp` (the CRS from the collection's `crs`
/// member, else WGS84).
pub fn write_collection_text(path: &Path, text: &str) -> Result<()> {
    let io = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let format = super::layer_format(path)?;
    if format == super::LayerFormat::GeoJson {
        return std::fs::write(path, text).map_err(io);
    }
    let collection: Value = serde_json::from_str(text).map_err(|e| io(std::io::Error::other(e)))?;
    let crs = collection
        .pointer("/crs/properties/name")
        .and_then(Value::as_str)
        .and_then(|n| n.rsplit(':').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or(4326);
    let features = match collection.get("features") {
        Some(Value::Array(f)) => f.as_slice(),
        _ => &[],
    };
    if format != super::LayerFormat::FlatGeobuf {
        crate::formats::check_target(path, crs)?;
        let retired = match collection
            .get(super::RETIRED_MEMBER)
            .and_then(|r| r.get("features"))
        {
            Some(Value::Array(f)) => Some((super::RETIRED_MEMBER, f.as_slice())),
            _ => None,
        };
        return super::write_gis_layers(path, format, crs, features, retired);
    }
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    write(&mut out, path, crs, features)?;
    out.flush().map_err(io)
}

/// A column's type, widened as values are seen.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Long,
    Double,
    Text,
    Json,
}

impl Kind {
    fn of(v: &Value) -> Option<Kind> {
        match v {
            Value::Null => None,
            Value::Bool(_) => Some(Kind::Bool),
            Value::Number(n) if n.is_i64() => Some(Kind::Long),
            Value::Number(_) => Some(Kind::Double),
            Value::String(_) => Some(Kind::Text),
            Value::Array(_) | Value::Object(_) => Some(Kind::Json),
        }
    }

    fn widen(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Long, Kind::Double) | (Kind::Double, Kind::Long) => Kind::Double,
            _ => Kind::Json,
        }
    }

    fn column(self) -> ColumnType {
        match self {
            Kind::Bool => ColumnType::Bool,
            Kind::Long => ColumnType::Long,
            Kind::Double => ColumnType::Double,
            Kind::Text => ColumnType::String,
            Kind::Json => ColumnType::Json,
        }
    }
}

/// Writes `features` (GeoJSON features, geometries already in `crs` and rounded) as one FlatGeobuf layer.
pub fn write(out: &mut impl Write, path: &Path, crs: u32, features: &[Value]) -> Result<()> {
    let fail = |e: String| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    };
    // The columns: every property name in order of first appearance, typed by all its values.
    let mut columns: Vec<(String, Option<Kind>)> = Vec::new();
    let mut geometries = Vec::with_capacity(features.len());
    let mut kind = GeometryType::Unknown;
    for f in features {
        if let Some(Value::Object(props)) = f.get("properties") {
            for (name, v) in props {
                let seen = Kind::of(v);
                match columns.iter_mut().find(|(n, _)| n == name) {
                    Some((_, k)) => {
                        *k = match (*k, seen) {
                            (Some(a), Some(b)) => Some(a.widen(b)),
                            (a, b) => a.or(b),
                        }
                    }
                    None => columns.push((name.clone(), seen)),
                }
            }
        }
        let geometry = f
            .get("geometry")
            .cloned()
            .ok_or_else(|| fail("a feature without geometry".into()))?;
        let geometry: geojson::Geometry =
            serde_json::from_value(geometry).map_err(|e| fail(e.to_string()))?;
        let geometry: geo::Geometry = geometry
            .try_into()
            .map_err(|e: geojson::Error| fail(e.to_string()))?;
        let this = match geometry {
            geo::Geometry::Point(_) => GeometryType::Point,
            geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_) => {
                GeometryType::MultiLineString
            }
            _ => GeometryType::MultiPolygon,
        };
        kind = if geometries.is_empty() || kind == this {
            this
        } else {
            GeometryType::Unknown
        };
        geometries.push(geometry);
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("layer")
        .to_string();
    let mut fgb = FgbWriter::create_with_options(
        &name,
        kind,
        FgbWriterOptions {
            write_index: true,
            promote_to_multi: true,
            crs: FgbCrs {
                code: i32::try_from(crs).unwrap_or(0),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .map_err(|e| fail(e.to_string()))?;
    for (name, k) in &columns {
        fgb.add_column(name, k.unwrap_or(Kind::Text).column(), |_, col| {
            col.nullable = true;
        });
    }
    for (f, geometry) in features.iter().zip(geometries) {
        let props = match f.get("properties") {
            Some(Value::Object(p)) => p.clone(),
            _ => Map::new(),
        };
        let mut failure = None;
        fgb.add_feature_geom(geometry, |w| {
            for (i, (name, k)) in columns.iter().enumerate() {
                let Some(v) = props.get(name).filter(|v| !v.is_null()) else {
                    continue;
                };
                let json_text;
                let text;
                let value = match (k.unwrap_or(Kind::Text), v) {
                    (Kind::Bool, Value::Bool(b)) => ColumnValue::Bool(*b),
                    (Kind::Long, Value::Number(n)) => ColumnValue::Long(n.as_i64().unwrap_or(0)),
                    (Kind::Double, Value::Number(n)) => {
                        ColumnValue::Double(n.as_f64().unwrap_or(f64::NAN))
                    }
                    (Kind::Text, Value::String(s)) => ColumnValue::String(s),
                    (Kind::Text, other) => {
                        text = other.to_string();
                        ColumnValue::String(&text)
                    }
                    (_, other) => {
                        json_text = other.to_string();
                        ColumnValue::Json(&json_text)
                    }
                };
                if let Err(e) = w.property(i, name, &value) {
                    failure = Some(e.to_string());
                }
            }
        })
        .map_err(|e| fail(e.to_string()))?;
        if let Some(e) = failure {
            return Err(fail(e));
        }
    }
    fgb.write(out).map_err(|e| fail(e.to_string()))
}
