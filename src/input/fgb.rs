//! FlatGeobuf input: a `.fgb` layer (the streaming, indexed binary format GDAL and QGIS write) read as the
//! GeoJSON FeatureCollection it holds, so that every reader validates it feature by feature with the
//! same messages. Features keep their order in the file (`feature N` in a message is the N-th feature
//! read, counted from 0); the layer's CRS becomes the collection's `crs` member.

use crate::problem::Problem;
use fallible_streaming_iterator::FallibleStreamingIterator;
use flatgeobuf::FgbReader;
use geo::Geometry;
use geozero::{ColumnValue, FeatureProperties, PropertyProcessor, ToGeo};
use serde_json::{Map, Value, json};

/// The first bytes of every FlatGeobuf file (format version 3).
const MAGIC: &[u8] = b"fgb\x03";

/// Whether `bytes` start as a FlatGeobuf file.
pub fn is_flatgeobuf(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The FeatureCollection a FlatGeobuf file holds, as GeoJSON text.
pub fn to_geojson(file: &str, bytes: &[u8]) -> Result<Vec<u8>, Problem> {
    let broken =
        |e: flatgeobuf::Error| Problem::error(file, format!("not a readable FlatGeobuf file: {e}"));
    let mut cursor = std::io::Cursor::new(bytes);
    let reader = FgbReader::open(&mut cursor).map_err(broken)?;
    let crs = reader
        .header()
        .crs()
        .map(|c| c.code())
        .filter(|&c| c > 0 && c != 4326);
    let mut features = reader.select_all_seq().map_err(broken)?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",");
    if let Some(code) = crs {
        out.extend_from_slice(
            format!("\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{code}\"}}}},").as_bytes(),
        );
    }
    out.extend_from_slice(b"\"features\":[\n");
    let mut index = 0usize;
    while let Some(feature) = features.next().map_err(|e| broken(e).at(index, None))? {
        let geometry = match feature.to_geo() {
            Ok(g) => geometry_json(&g),
            Err(e) => {
                return Err(
                    Problem::error(file, format!("geometry cannot be read: {e}"))
                        .at(index, None)
                        .field("geometry"),
                );
            }
        };
        let mut properties = Properties(Map::new());
        feature.process_properties(&mut properties).map_err(|e| {
            Problem::error(file, format!("properties cannot be read: {e}"))
                .at(index, None)
                .field("properties")
        })?;
        let text = json!({"type": "Feature", "geometry": geometry, "properties": properties.0});
        if index > 0 {
            out.extend_from_slice(b",\n");
        }
        out.extend_from_slice(text.to_string().as_bytes());
        index += 1;
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

/// A FlatGeobuf layer read feature by feature from disk and handed on as GeoJSON collections of about
/// `piece` bytes each (the layer's CRS as their `crs` member) with the number of features in each, so a
/// layer larger than the memory is read in bounded space. A feature that cannot be decoded stops the
/// reading, named by its place in the layer.
pub fn for_each_piece(
    file: &str,
    path: &std::path::Path,
    piece: usize,
    mut each: impl FnMut(Vec<u8>, usize) -> crate::Result<()>,
) -> crate::Result<()> {
    let invalid = |p: Problem| crate::Error::Invalid(vec![p]);
    let broken =
        |e: flatgeobuf::Error| Problem::error(file, format!("not a readable FlatGeobuf file: {e}"));
    let f = std::fs::File::open(path).map_err(|source| crate::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, f);
    let reader = FgbReader::open(&mut reader).map_err(|e| invalid(broken(e)))?;
    let crs = reader
        .header()
        .crs()
        .map(|c| c.code())
        .filter(|&c| c > 0 && c != 4326);
    let mut head = String::from("{\"type\":\"FeatureCollection\",");
    if let Some(code) = crs {
        head.push_str(&format!(
            "\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{code}\"}}}},"
        ));
    }
    head.push_str("\"features\":[\n");
    let mut features = reader.select_all_seq().map_err(|e| invalid(broken(e)))?;
    let mut buf = head.clone().into_bytes();
    let (mut in_buf, mut index, mut handed) = (0usize, 0usize, false);
    while let Some(feature) = features
        .next()
        .map_err(|e| invalid(broken(e).at(index, None)))?
    {
        let geometry = feature.to_geo().map(|g| geometry_json(&g)).map_err(|e| {
            invalid(
                Problem::error(file, format!("geometry cannot be read: {e}"))
                    .at(index, None)
                    .field("geometry"),
            )
        })?;
        let mut properties = Properties(Map::new());
        feature.process_properties(&mut properties).map_err(|e| {
            invalid(
                Problem::error(file, format!("properties cannot be read: {e}"))
                    .at(index, None)
                    .field("properties"),
            )
        })?;
        if in_buf > 0 {
            buf.extend_from_slice(b",\n");
        }
        let text = json!({"type": "Feature", "geometry": geometry, "properties": properties.0});
        buf.extend_from_slice(text.to_string().as_bytes());
        in_buf += 1;
        index += 1;
        if buf.len() >= piece {
            buf.extend_from_slice(b"\n]}\n");
            each(
                std::mem::replace(&mut buf, head.clone().into_bytes()),
                in_buf,
            )?;
            (in_buf, handed) = (0, true);
        }
    }
    if in_buf > 0 || !handed {
        buf.extend_from_slice(b"\n]}\n");
        each(buf, in_buf)?;
    }
    Ok(())
}

/// A geometry as GeoJSON (`null` for kinds gridplan never reads, which the readers then name).
fn geometry_json(g: &Geometry) -> Value {
    let xy = |c: &geo::Coord| json!([c.x, c.y]);
    let line = |l: &geo::LineString| Value::Array(l.0.iter().map(xy).collect());
    let polygon = |p: &geo::Polygon| {
        Value::Array(
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(line)
                .collect(),
        )
    };
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": xy(&p.0)}),
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": line(l)}),
        Geometry::MultiLineString(m) => json!({"type": "MultiLineString",
            "coordinates": Value::Array(m.0.iter().map(line).collect())}),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": polygon(p)}),
        Geometry::MultiPolygon(m) => json!({"type": "MultiPolygon",
            "coordinates": Value::Array(m.0.iter().map(polygon).collect())}),
        Geometry::MultiPoint(m) => json!({"type": "MultiPoint",
            "coordinates": Value::Array(m.0.iter().map(|p| xy(&p.0)).collect())}),
        other => json!({"type": geometry_kind(other), "coordinates": null}),
    }
}

fn geometry_kind(g: &Geometry) -> &'static str {
    match g {
        Geometry::Line(_) => "Line",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
        _ => "Geometry",
    }
}

/// A feature's properties as JSON values.
struct Properties(Map<String, Value>);

impl PropertyProcessor for Properties {
    fn property(
        &mut self,
        _: usize,
        name: &str,
        value: &ColumnValue,
    ) -> geozero::error::Result<bool> {
        let v = match value {
            ColumnValue::Byte(v) => json!(v),
            ColumnValue::UByte(v) => json!(v),
            ColumnValue::Bool(v) => json!(v),
            ColumnValue::Short(v) => json!(v),
            ColumnValue::UShort(v) => json!(v),
            ColumnValue::Int(v) => json!(v),
            ColumnValue::UInt(v) => json!(v),
            ColumnValue::Long(v) => json!(v),
            ColumnValue::ULong(v) => json!(v),
            ColumnValue::Float(v) => json!(v),
            ColumnValue::Double(v) => json!(v),
            ColumnValue::String(v) | ColumnValue::DateTime(v) => json!(v),
            ColumnValue::Json(v) => serde_json::from_str(v).unwrap_or_else(|_| json!(v)),
            ColumnValue::Binary(_) => Value::Null,
        };
        self.0.insert(name.to_string(), v);
        Ok(false)
    }
}
