//! FlatGeobuf input: a `.fgb` layer (the streaming, indexed binary format GDAL and QGIS write) read as the
//! GeoJSON FeatureCollection it holds, so that every reader validates it feature by feature with the
//! same messages. Features keep their order in the file (`feature N` in a message is the N-th feature
//! read, counted from 0); the layer's CRS becomes the collection's `crs` member.
//!
//! The file is read here, not by the `flatgeobuf` crate's reader, which trusts the file: its header
//! and each feature are checked by the FlatBuffers verifier, and every size, offset and count is checked
//! against the bytes the file has before it is used (an index node size of 1, a feature larger than
//! what is left of the file, a ring end past the coordinates, a property running past its feature):
//! a damaged file is a named error and costs no more memory than its own size.

use crate::problem::Problem;
use flatgeobuf::{ColumnType, GeometryType};
use serde_json::{Map, Value, json};
use std::io::Read;

/// The first bytes of every FlatGeobuf file (format version 3).
const MAGIC: &[u8] = b"fgb\x03";

/// The largest header read (the `flatgeobuf` crate's own limit).
const MAX_HEADER_BYTES: u64 = 10 << 20;

/// The size of one node of the packed R-tree index.
const NODE_BYTES: u64 = 40;

/// Whether `bytes` start as a FlatGeobuf file.
pub fn is_flatgeobuf(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// A FlatGeobuf layer being read: its checked header, and the reader at its first feature.
struct Layer<R: Read> {
    reader: R,
    file: String,
    /// Bytes of the file not read yet.
    left: u64,
    /// The EPSG code of the layer's CRS, when it names one other than WGS84.
    crs: Option<i32>,
    /// The features the header says the layer has (0: not said).
    count: u64,
    /// The layer's geometry type (`Unknown`: each feature says its own).
    kind: GeometryType,
    /// The layer's columns: name and type.
    columns: Vec<(String, ColumnType)>,
    /// Features read so far.
    read: u64,
    buf: Vec<u8>,
}

/// A size or count in a message.
fn bytes_text(n: u64) -> String {
    format!("{n} bytes")
}

impl<R: Read> Layer<R> {
    /// Opens a layer of `len` bytes: the magic bytes, the header (verified), the index (its size
    /// computed from the header and checked against the file, then skipped).
    fn open(file: &str, mut reader: R, len: u64) -> Result<Layer<R>, Problem> {
        let broken =
            |m: String| Problem::error(file, format!("not a readable FlatGeobuf file: {m}"));
        let mut magic = [0u8; 8];
        reader
            .read_exact(&mut magic)
            .map_err(|_| broken("shorter than its 8 magic bytes".into()))?;
        if &magic[0..3] != b"fgb" || &magic[4..7] != b"fgb" || magic[3] > 3 {
            return Err(broken(
                "it does not start with the FlatGeobuf magic bytes".into(),
            ));
        }
        let mut size = [0u8; 4];
        reader
            .read_exact(&mut size)
            .map_err(|_| broken("the file ends before its header".into()))?;
        let header_size = u64::from(u32::from_le_bytes(size));
        let left = len.saturating_sub(12);
        if !(8..=MAX_HEADER_BYTES).contains(&header_size) || header_size > left {
            return Err(broken(format!(
                "its header claims {}, where the file has {} after the magic bytes (and a header is 8 \
                 bytes to 10 MiB)",
                bytes_text(header_size),
                bytes_text(left)
            )));
        }
        let mut header = Vec::with_capacity(header_size as usize + 4);
        header.extend_from_slice(&size);
        header.resize(header_size as usize + 4, 0);
        reader
            .read_exact(&mut header[4..])
            .map_err(|_| broken("the file ends inside its header".into()))?;
        let h = flatgeobuf::size_prefixed_root_as_header(&header)
            .map_err(|e| broken(format!("its header is damaged: {e}")))?;
        let (node_size, count) = (u64::from(h.index_node_size()), h.features_count());
        let kind = h.geometry_type();
        let crs = h.crs().map(|c| c.code()).filter(|&c| c > 0 && c != 4326);
        let columns = h
            .columns()
            .map(|cs| {
                cs.iter()
                    .map(|c| (c.name().to_string(), c.type_()))
                    .collect()
            })
            .unwrap_or_default();
        let mut left = left - header_size;
        let index = match (node_size, count) {
            (0, _) | (_, 0) => 0,
            (1, _) => {
                return Err(broken(
                    "its header gives an index node size of 1 (an index needs 2 or more, or 0 for none)"
                        .into(),
                ));
            }
            _ => index_bytes(count, node_size).filter(|&b| b <= left).ok_or_else(|| {
                broken(format!(
                    "its header claims {count} features indexed with node size {node_size}, an index \
                     larger than the {} left in the file",
                    bytes_text(left)
                ))
            })?,
        };
        let skipped = std::io::copy(&mut (&mut reader).take(index), &mut std::io::sink())
            .map_err(|e| broken(format!("its index cannot be read: {e}")))?;
        if skipped < index {
            return Err(broken("the file ends inside its index".into()));
        }
        left -= index;
        Ok(Layer {
            reader,
            file: file.to_string(),
            left,
            crs,
            count,
            kind,
            columns,
            read: 0,
            buf: Vec::new(),
        })
    }

    /// The next feature as a GeoJSON Feature, `None` after the last.
    fn next(&mut self) -> Result<Option<Value>, Problem> {
        let index = self.read as usize;
        let broken = |m: String| {
            Problem::error(&self.file, format!("not a readable FlatGeobuf file: {m}"))
                .at(index, None)
        };
        let count = self.count;
        if count > 0 && self.read >= count {
            return Ok(None);
        }
        let mut size = [0u8; 4];
        let got = read_up_to(&mut self.reader, &mut size)
            .map_err(|e| broken(format!("the feature cannot be read: {e}")))?;
        if got == 0 && count == 0 {
            return Ok(None);
        }
        if got < 4 {
            return Err(broken(if count > 0 {
                format!(
                    "the file ends after {} features, where its header says {count}",
                    self.read
                )
            } else {
                "the file ends inside a feature's size".to_string()
            }));
        }
        self.left = self.left.saturating_sub(4);
        let feature_size = u64::from(u32::from_le_bytes(size));
        if feature_size > self.left {
            return Err(broken(format!(
                "its size, {}, runs past the end of the file ({} left)",
                bytes_text(feature_size),
                bytes_text(self.left)
            )));
        }
        self.buf.clear();
        self.buf.extend_from_slice(&size);
        self.buf.resize(feature_size as usize + 4, 0);
        self.reader
            .read_exact(&mut self.buf[4..])
            .map_err(|_| broken("the file ends inside the feature".into()))?;
        self.left -= feature_size;
        self.read += 1;
        let feature = flatgeobuf::size_prefixed_root_as_feature(&self.buf)
            .map_err(|e| broken(format!("the feature is damaged: {e}")))?;
        let geometry = match feature.geometry() {
            None => Value::Null,
            Some(g) => geometry_value(&g, self.kind, 0).map_err(|m| {
                Problem::error(&self.file, format!("geometry cannot be read: {m}"))
                    .at(index, None)
                    .field("geometry")
            })?,
        };
        let columns: Vec<(&str, ColumnType)> = match feature.columns() {
            Some(cs) => cs.iter().map(|c| (c.name(), c.type_())).collect(),
            None => self.columns.iter().map(|(n, t)| (n.as_str(), *t)).collect(),
        };
        let properties = match feature.properties() {
            Some(p) if !columns.is_empty() => properties(p.bytes(), &columns).map_err(|m| {
                Problem::error(&self.file, format!("properties cannot be read: {m}"))
                    .at(index, None)
                    .field("properties")
            })?,
            _ => Map::new(),
        };
        Ok(Some(
            json!({"type": "Feature", "geometry": geometry, "properties": properties}),
        ))
    }
}

/// Reads until `buf` is full or the reader ends; the number of bytes read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The size of the packed R-tree index of `count` items with `node_size` children per node, `None`
/// when it overflows.
fn index_bytes(count: u64, node_size: u64) -> Option<u64> {
    // Levels up to the root, which is a level of its own even above a single item.
    let mut n = count;
    let mut nodes = n;
    loop {
        n = n.div_ceil(node_size);
        nodes = nodes.checked_add(n)?;
        if n <= 1 {
            break;
        }
    }
    nodes.checked_mul(NODE_BYTES)
}

/// The name of a FlatGeobuf geometry type, as GeoJSON names it where it can.
fn kind_name(kind: GeometryType) -> String {
    match kind {
        GeometryType::Point => "Point".into(),
        GeometryType::LineString => "LineString".into(),
        GeometryType::Polygon => "Polygon".into(),
        GeometryType::MultiPoint => "MultiPoint".into(),
        GeometryType::MultiLineString => "MultiLineString".into(),
        GeometryType::MultiPolygon => "MultiPolygon".into(),
        GeometryType::GeometryCollection => "GeometryCollection".into(),
        other => other.variant_name().unwrap_or("Unknown").to_string(),
    }
}

/// A FlatGeobuf geometry as GeoJSON, every index checked against the coordinates it points into.
/// Kinds gridplan never reads (collections, curves, surfaces) have `null` coordinates, and the readers
/// name their kind.
fn geometry_value(
    g: &flatgeobuf::Geometry<'_>,
    layer_kind: GeometryType,
    depth: usize,
) -> Result<Value, String> {
    let kind = if layer_kind == GeometryType::Unknown {
        g.type_()
    } else {
        layer_kind
    };
    let xy: Vec<f64> = g.xy().map(|v| v.iter().collect()).unwrap_or_default();
    if !xy.len().is_multiple_of(2) {
        return Err(format!("{} coordinate values, an odd number", xy.len()));
    }
    let positions = |from: usize, to: usize| -> Value {
        Value::Array(
            xy[2 * from..2 * to]
                .chunks_exact(2)
                .map(|p| json!([p[0], p[1]]))
                .collect(),
        )
    };
    let points = xy.len() / 2;
    // The parts of a ring or line list: `ends` (in points), each after the one before and within the
    // coordinates; one part of all the points when there are none.
    let parts = || -> Result<Value, String> {
        let ends: Vec<u32> = g.ends().map(|v| v.iter().collect()).unwrap_or_default();
        if ends.len() <= 1 {
            return Ok(Value::Array(vec![positions(0, points)]));
        }
        let mut out = Vec::with_capacity(ends.len());
        let mut start = 0usize;
        for (i, &end) in ends.iter().enumerate() {
            let end = end as usize;
            if end < start || end > points {
                return Err(format!(
                    "part {i} ends at point {end}, outside points {start} to {points}"
                ));
            }
            out.push(positions(start, end));
            start = end;
        }
        Ok(Value::Array(out))
    };
    let coordinates = match kind {
        GeometryType::Point => {
            if points == 0 {
                return Err("a Point with no coordinates".into());
            }
            json!([xy[0], xy[1]])
        }
        GeometryType::MultiPoint | GeometryType::LineString => positions(0, points),
        GeometryType::MultiLineString | GeometryType::Polygon => parts()?,
        GeometryType::MultiPolygon => {
            if depth > 0 {
                return Err("a MultiPolygon inside a MultiPolygon".into());
            }
            let mut polygons = Vec::new();
            for part in g.parts().iter().flat_map(|p| p.iter()) {
                let polygon = geometry_value(&part, GeometryType::Polygon, depth + 1)?;
                polygons.push(polygon["coordinates"].clone());
            }
            if polygons.is_empty() && points > 0 {
                // A writer that put one polygon's rings in the MultiPolygon itself.
                polygons.push(parts()?);
            }
            Value::Array(polygons)
        }
        other => return Ok(json!({"type": kind_name(other), "coordinates": null})),
    };
    Ok(json!({"type": kind_name(kind), "coordinates": coordinates}))
}

/// A feature's properties, read by the layer's columns: each value a column index (two bytes) and
/// the value, every read checked against the property bytes.
fn properties(bytes: &[u8], columns: &[(&str, ColumnType)]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    let mut at = 0usize;
    let take = |at: &mut usize, n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                format!(
                    "a value of {n} bytes at byte {at} runs past the {} property bytes",
                    bytes.len()
                )
            })?;
        let out = &bytes[*at..end];
        *at = end;
        Ok(out)
    };
    fn array<const N: usize>(s: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(&s[..N]);
        a
    }
    // A trailing byte after the last value is tolerated (some writers leave one).
    while at + 1 < bytes.len() {
        let column = u16::from_le_bytes(array(take(&mut at, 2)?)) as usize;
        if column >= columns.len() {
            return Err(format!(
                "column {column} of a layer with {} columns",
                columns.len()
            ));
        }
        let (name, kind) = columns[column];
        let text = |at: &mut usize| -> Result<String, String> {
            let len = u32::from_le_bytes(array(take(at, 4)?)) as usize;
            let s = take(at, len)?;
            std::str::from_utf8(s)
                .map(str::to_string)
                .map_err(|_| format!("column {name}: not UTF-8 text"))
        };
        let v = match kind {
            ColumnType::Byte => json!(take(&mut at, 1)?[0] as i8),
            ColumnType::UByte => json!(take(&mut at, 1)?[0]),
            ColumnType::Bool => json!(take(&mut at, 1)?[0] != 0),
            ColumnType::Short => json!(i16::from_le_bytes(array(take(&mut at, 2)?))),
            ColumnType::UShort => json!(u16::from_le_bytes(array(take(&mut at, 2)?))),
            ColumnType::Int => json!(i32::from_le_bytes(array(take(&mut at, 4)?))),
            ColumnType::UInt => json!(u32::from_le_bytes(array(take(&mut at, 4)?))),
            ColumnType::Long => json!(i64::from_le_bytes(array(take(&mut at, 8)?))),
            ColumnType::ULong => json!(u64::from_le_bytes(array(take(&mut at, 8)?))),
            ColumnType::Float => json!(f32::from_le_bytes(array(take(&mut at, 4)?))),
            ColumnType::Double => json!(f64::from_le_bytes(array(take(&mut at, 8)?))),
            ColumnType::String | ColumnType::DateTime => json!(text(&mut at)?),
            ColumnType::Json => {
                let t = text(&mut at)?;
                serde_json::from_str(&t).unwrap_or(Value::String(t))
            }
            ColumnType::Binary => {
                let len = u32::from_le_bytes(array(take(&mut at, 4)?)) as usize;
                take(&mut at, len)?;
                Value::Null
            }
            other => {
                return Err(format!("column {name} has an unknown type ({})", other.0));
            }
        };
        out.insert(name.to_string(), v);
    }
    Ok(out)
}

/// The start of a collection in the layer's CRS.
fn collection_head(crs: Option<i32>) -> String {
    let mut head = String::from("{\"type\":\"FeatureCollection\",");
    if let Some(code) = crs {
        head.push_str(&format!(
            "\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{code}\"}}}},"
        ));
    }
    head.push_str("\"features\":[\n");
    head
}

/// The FeatureCollection a FlatGeobuf file holds, as GeoJSON text.
pub fn to_geojson(file: &str, bytes: &[u8]) -> Result<Vec<u8>, Problem> {
    let mut layer = Layer::open(file, bytes, bytes.len() as u64)?;
    let mut out = Vec::with_capacity(bytes.len() * 2);
    out.extend_from_slice(collection_head(layer.crs).as_bytes());
    let mut first = true;
    while let Some(feature) = layer.next()? {
        if !first {
            out.extend_from_slice(b",\n");
        }
        first = false;
        out.extend_from_slice(feature.to_string().as_bytes());
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
    let f = std::fs::File::open(path).map_err(|source| crate::Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    // A file's size bounds every size in it; what is not a plain file is held to the input cap.
    let len = f
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map_or_else(super::file::max_input_bytes, |m| m.len());
    let reader = std::io::BufReader::with_capacity(1 << 20, f);
    let mut layer = Layer::open(file, reader, len).map_err(invalid)?;
    let head = collection_head(layer.crs);
    let mut buf = head.clone().into_bytes();
    let (mut in_buf, mut handed) = (0usize, false);
    while let Some(feature) = layer.next().map_err(invalid)? {
        if in_buf > 0 {
            buf.extend_from_slice(b",\n");
        }
        buf.extend_from_slice(feature.to_string().as_bytes());
        in_buf += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_sizes_match_the_packed_r_tree() {
        for (count, node) in [(1u64, 16u64), (2, 2), (17, 16), (1000, 16), (12345, 3)] {
            assert_eq!(
                index_bytes(count, node),
                Some(
                    flatgeobuf::packed_r_tree::PackedRTree::index_size(count as usize, node as u16)
                        as u64
                ),
                "{count} {node}"
            );
        }
        assert_eq!(index_bytes(u64::MAX, 2), None);
    }
}
