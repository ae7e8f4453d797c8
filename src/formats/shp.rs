//! Shapefiles: the `.shp` (geometries) with its `.shx` (index), `.dbf` (attributes), `.prj` (CRS) and
//! `.cpg` (the `.dbf`'s text encoding), read and written through the `shapefile` and `dbase` crates.
//!
//! Reading: the `.cpg` names the encoding (UTF-8, GBK / CP936 / 936, GB18030; any other is refused by
//! name); with no `.cpg`, a `.dbf` whose language driver says code page 936 is read as GBK, any other as
//! UTF-8 (what gridplan and QGIS write), and text that is not UTF-8 is an error saying so. Text that is
//! not valid in its encoding is an error naming the feature and the field, never replacement characters.
//! Polygon rings are told apart by their direction (outer rings clockwise): each hole goes to the
//! smallest outer ring holding it, and a hole inside none is read as an outer ring (as GDAL does).
//! A `.dbf` with records marked deleted is refused, with their count (none is dropped unseen); so is one
//! whose header's record length disagrees with its fields' widths, and a `.shx` whose entries do not
//! follow one another through the `.shp`.
//!
//! Writing: outer rings clockwise and holes counter-clockwise (the `shapefile` crate orders them); field
//! names within 10 characters ([`super::SHORT_NAMES`]); integers, reals, booleans and text typed; a list
//! (an assignment's `workers`) joined by [`super::LIST_SEPARATOR`] into one text field, an object as JSON
//! text; a text longer than a `.dbf` field holds (254 bytes) cut at a character boundary and ending in
//! `…`; the `.prj` in ESRI's WKT and the `.cpg` naming the encoding (`--encoding`: UTF-8 or GBK; a
//! character GBK cannot hold is an error naming the feature and field).

use super::{TextEncoding, check_size, collection_head, invalid, property_name};
use crate::error::{Error, Result};
use crate::problem::Problem;
use geo::{Area, Coord, CoordinatePosition, LineString, Polygon, coordinate_position::CoordPos};
use serde_json::{Map, Value, json};
use shapefile::dbase::{self, FieldValue};
use shapefile::{Point, PolygonRing, Shape};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The most bytes a `.dbf` text field holds.
const MAX_TEXT_BYTES: usize = 254;

/// The path of the file beside `path` with extension `ext`, in the case of `path`'s own extension
/// (`X.SHP` → `X.DBF`).
fn sibling_name(path: &Path, ext: &str) -> PathBuf {
    let upper = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.chars().all(|c| c.is_ascii_uppercase()));
    if upper {
        path.with_extension(ext.to_ascii_uppercase())
    } else {
        path.with_extension(ext)
    }
}

/// The existing file beside `path` with extension `ext`, in either case.
fn sibling(path: &Path, ext: &str) -> Option<PathBuf> {
    [
        sibling_name(path, ext),
        path.with_extension(ext),
        path.with_extension(ext.to_ascii_uppercase()),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// The `.dbf`'s encoding: the `.cpg`'s word, else its language driver's, else UTF-8; with whether a
/// `.cpg` said so.
fn encoding_of(path: &Path, dbf: &Path) -> Result<(TextEncoding, bool)> {
    if let Some(cpg) = sibling(path, "cpg") {
        let mut text = String::new();
        std::fs::File::open(&cpg)
            .and_then(|f| f.take(1024).read_to_string(&mut text))
            .map_err(|source| Error::Read {
                path: cpg.clone(),
                source,
            })?;
        let name = text.trim().trim_start_matches('\u{feff}').trim();
        return match TextEncoding::from_name(name) {
            Some(e) => Ok((e, true)),
            None => Err(invalid(
                &display(&cpg),
                format!(
                    "names the encoding \"{name}\", which gridplan does not read: it reads UTF-8, GBK (also \
                     named CP936 or 936) and GB18030; convert the layer (ogr2ogr -lco ENCODING=UTF-8 out.shp \
                     in.shp) or, if its text really is one of those, write that name in the .cpg"
                ),
            )),
        };
    }
    // The language driver id, byte 29 of the .dbf header: 0x4D and 0x7A are code page 936.
    let mut header = [0u8; 32];
    let ldid = std::fs::File::open(dbf)
        .and_then(|mut f| f.read_exact(&mut header))
        .map(|_| header[29])
        .unwrap_or(0);
    Ok((
        if matches!(ldid, 0x4D | 0x7A) {
            TextEncoding::Gbk
        } else {
            TextEncoding::Utf8
        },
        false,
    ))
}

/// Which records of the `.dbf` are marked deleted (its first byte `*`), in file order, with the record
/// length its header says.
fn deleted_records(dbf: &Path) -> Result<(Vec<bool>, u64)> {
    let read_err = |source| Error::Read {
        path: dbf.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(dbf).map_err(read_err)?;
    let len = f.metadata().map_err(read_err)?.len();
    let mut h = [0u8; 12];
    f.read_exact(&mut h).map_err(|_| {
        invalid(
            &display(dbf),
            "not a readable .dbf: shorter than its 32-byte header",
        )
    })?;
    let count = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
    let header_len = u64::from(u16::from_le_bytes([h[8], h[9]]));
    let record_len = u64::from(u16::from_le_bytes([h[10], h[11]]));
    let mut out = Vec::new();
    for i in 0..count {
        let at = header_len + i * record_len;
        if record_len == 0 || at >= len {
            // The reader below names a file that ends early.
            break;
        }
        let mut flag = [0u8; 1];
        f.seek(SeekFrom::Start(at)).map_err(read_err)?;
        f.read_exact(&mut flag).map_err(read_err)?;
        out.push(flag[0] == b'*');
    }
    Ok((out, record_len))
}

/// Refuses a `.shx` whose entries do not follow one another through the `.shp` (of `shp_len` bytes):
/// each record after the one before it, none overlapping, all inside the file. An index whose entries
/// point at one record again and again would otherwise repeat it without end.
fn check_index(shx: &Path, shp_len: u64) -> Result<()> {
    let bytes = std::fs::read(shx).map_err(|source| Error::Read {
        path: shx.to_path_buf(),
        source,
    })?;
    let name = display(shx);
    let damaged = |m: String| {
        invalid(
            &name,
            format!(
                "not a readable .shx: {m}; the index is damaged: remove the .shx (gridplan then reads the \
                 .shp in order) or rebuild it (ogr2ogr out.shp in.shp)"
            ),
        )
    };
    if bytes.len() < 100 {
        return Err(damaged("shorter than its 100-byte header".into()));
    }
    let be =
        |at: usize| i32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    // The entries the header counts (as the `shapefile` crate reads them), within the file.
    let said = u64::try_from(be(24)).unwrap_or(0).saturating_mul(2);
    let body = said.min(bytes.len() as u64).saturating_sub(100);
    let mut end = 100u64;
    for n in 0..(body / 8) as usize {
        let at = 100 + n * 8;
        let (offset, size) = (be(at), be(at + 4));
        let (Ok(offset), Ok(size)) = (u64::try_from(offset), u64::try_from(size)) else {
            return Err(damaged(format!(
                "entry {n} has a negative offset or length"
            )));
        };
        let start = offset * 2;
        let next = start + 8 + size * 2;
        if start < end {
            return Err(damaged(format!(
                "entry {n} points at byte {start} of the .shp, inside or before the record before it \
                 (each entry must point past the one before)"
            )));
        }
        if next > shp_len {
            return Err(damaged(format!(
                "entry {n} points past the end of the .shp (byte {next} of {shp_len})"
            )));
        }
        end = next;
    }
    Ok(())
}

/// Reads a Shapefile as the GeoJSON FeatureCollection it holds.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let file = display(path);
    let shp_len = std::fs::metadata(path)
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    let dbf = sibling(path, "dbf").ok_or_else(|| {
        invalid(
            &file,
            format!(
                "has no .dbf beside it ({}): a Shapefile's attributes are there; copy it with the .shp",
                display(&sibling_name(path, "dbf"))
            ),
        )
    })?;
    let dbf_len = std::fs::metadata(&dbf).map(|m| m.len()).unwrap_or(0);
    // The `.shx` the `shapefile` crate reads (beside the `.shp`, lower case).
    let shx = Some(path.with_extension("shx")).filter(|p| p.is_file());
    let shx_len = shx
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map_or(0, |m| m.len());
    check_size(
        &file,
        shp_len.saturating_add(dbf_len).saturating_add(shx_len),
        cap,
    )?;
    if let Some(shx) = &shx {
        check_index(shx, shp_len)?;
    }
    let (encoding, from_cpg) = encoding_of(path, &dbf)?;
    let crs = match sibling(path, "prj") {
        None => None,
        Some(prj) => {
            let mut text = String::new();
            std::fs::File::open(&prj)
                .and_then(|f| f.take(1 << 16).read_to_string(&mut text))
                .map_err(|source| Error::Read {
                    path: prj.clone(),
                    source,
                })?;
            Some(super::prj::identify(&text).map_err(|e| invalid(&display(&prj), e))?)
        }
    };
    let (deleted, record_len) = deleted_records(&dbf)?;
    let deleted = deleted.iter().filter(|d| **d).count();

    let broken = |m: String| invalid(&file, format!("not a readable Shapefile: {m}"));
    let mut shapes = shapefile::ShapeReader::from_path(path).map_err(|e| broken(e.to_string()))?;
    let dbf_source = BufReader::new(std::fs::File::open(&dbf).map_err(|source| Error::Read {
        path: dbf.clone(),
        source,
    })?);
    let builder = dbase::ReaderBuilder::new();
    let builder = match encoding {
        // Strict: bytes that are not UTF-8 are an error, not replacement characters.
        TextEncoding::Utf8 => builder.with_encoding(dbase::Unicode),
        other => builder.with_encoding(dbase::encoding::EncodingRs::from(other.encoding())),
    };
    let mut records = builder
        .build(dbf_source)
        .map_err(|e| invalid(&display(&dbf), format!("not a readable .dbf: {e}")))?;
    // The deletion flags are read at the header's record length, the records (by the `dbase` crate) at
    // their fields' widths: where the two disagree, shapes would pair with the wrong attributes.
    let widths: u64 = records.fields().iter().map(|f| u64::from(f.length())).sum();
    if record_len != widths + 1 {
        return Err(invalid(
            &display(&dbf),
            format!(
                "not a readable .dbf: its header says a record is {record_len} bytes, but its fields \
                 take {} (their widths and the deletion flag); the file is damaged",
                widths + 1
            ),
        ));
    }
    // Records marked deleted are refused, not skipped unseen: each would drop a shape from the layer.
    if deleted > 0 {
        return Err(invalid(
            &display(&dbf),
            format!(
                "{deleted} {} marked deleted: gridplan reads every record of a layer and drops none \
                 unseen; write the layer without them (ogr2ogr out.shp in.shp leaves deleted records out)",
                if deleted == 1 { "record" } else { "records" }
            ),
        ));
    }
    let fields: Vec<String> = records
        .fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let names: Vec<String> = fields.iter().map(|f| property_name(f)).collect();
    let not_text = |index: usize, field: &str| {
        let how = if from_cpg {
            format!("its .cpg says {}", encoding.cpg_name())
        } else if encoding == TextEncoding::Utf8 {
            format!(
                "there is no .cpg beside the .shp, so its text is read as UTF-8; if it is GBK (as older \
                 ArcGIS writes), put GBK in {}",
                display(&sibling_name(path, "cpg"))
            )
        } else {
            "there is no .cpg, and the .dbf's language driver says code page 936 (GBK)".to_string()
        };
        Problem::error(
            &file,
            format!("text that is not valid {} ({how})", encoding.cpg_name()),
        )
        .at(index, None)
        .field(field)
    };

    let mut out = collection_head(crs).into_bytes();
    let mut record_iter = records.iter_records();
    let mut index = 0usize;
    for shape in shapes.iter_shapes() {
        let shape = shape.map_err(|e| {
            invalid_at(
                &file,
                index,
                "geometry",
                format!("not a readable Shapefile record: {e}"),
            )
        })?;
        let record = match record_iter.next() {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                let field = e
                    .field_index()
                    .and_then(|f| names.get(f.0))
                    .cloned()
                    .unwrap_or_else(|| "properties".into());
                if matches!(e.kind(), dbase::ErrorKind::StringDecodeError(_)) {
                    return Err(Error::Invalid(vec![not_text(index, &field)]));
                }
                return Err(invalid_at(
                    &file,
                    index,
                    &field,
                    format!("its .dbf record cannot be read: {}", e.kind()),
                ));
            }
            None => {
                return Err(broken(format!(
                    "the .shp has more shapes than its .dbf has records ({index})"
                )));
            }
        };
        let mut props = Map::new();
        for (field, name) in fields.iter().zip(&names) {
            let v = match record.get(field) {
                None => Value::Null,
                Some(v) => value_of(v),
            };
            if encoding != TextEncoding::Utf8 && v.as_str().is_some_and(|s| s.contains('\u{FFFD}'))
            {
                return Err(Error::Invalid(vec![not_text(index, name)]));
            }
            props.insert(name.clone(), v);
        }
        let geometry = geometry_value(shape);
        if index > 0 {
            out.extend_from_slice(b",\n");
        }
        let feature = json!({"type": "Feature", "geometry": geometry, "properties": props});
        out.extend_from_slice(feature.to_string().as_bytes());
        index += 1;
        if out.len() as u64 > cap {
            let cap_mb = cap / (1024 * 1024);
            return Err(invalid(
                &file,
                format!(
                    "holds more than the input cap of {cap_mb} MiB as GeoJSON (at feature {index}); \
                     pass a larger --max-input-mb to read it (--max-input-mb {cap_mb})"
                ),
            ));
        }
    }
    if record_iter.next().is_some() {
        return Err(broken(format!(
            "its .dbf has more records than the .shp has shapes ({index})"
        )));
    }
    out.extend_from_slice(b"\n]}\n");
    Ok(out)
}

fn invalid_at(file: &str, index: usize, field: &str, message: String) -> Error {
    Error::Invalid(vec![
        Problem::error(file, message).at(index, None).field(field),
    ])
}

/// A number as JSON: an integer when it is one (counts and codes), else a real; a value JSON cannot
/// hold (NaN, infinite) as its text, which the readers then name.
fn number(f: f64) -> Value {
    if !f.is_finite() {
        return Value::String(f.to_string());
    }
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        return json!(f as i64);
    }
    json!(f)
}

fn value_of(v: &FieldValue) -> Value {
    match v {
        FieldValue::Character(Some(s)) | FieldValue::Memo(s) => Value::String(s.clone()),
        FieldValue::Numeric(Some(f)) | FieldValue::Currency(f) | FieldValue::Double(f) => {
            number(*f)
        }
        FieldValue::Float(Some(f)) => number(f64::from(*f)),
        FieldValue::Integer(i) => json!(i),
        FieldValue::Logical(Some(b)) => json!(b),
        FieldValue::Date(Some(d)) => {
            json!(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        }
        FieldValue::DateTime(dt) => {
            let (d, t) = (dt.date(), dt.time());
            json!(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                d.year(),
                d.month(),
                d.day(),
                t.hours(),
                t.minutes(),
                t.seconds()
            ))
        }
        FieldValue::Character(None)
        | FieldValue::Numeric(None)
        | FieldValue::Float(None)
        | FieldValue::Logical(None)
        | FieldValue::Date(None) => Value::Null,
    }
}

fn position(x: f64, y: f64) -> Value {
    json!([x, y])
}

fn positions(points: impl Iterator<Item = (f64, f64)>) -> Value {
    Value::Array(points.map(|(x, y)| position(x, y)).collect())
}

/// A shape as a GeoJSON geometry (Z and M dropped); kinds gridplan never reads (multipatches) have
/// `null` coordinates, and the readers name their kind.
fn geometry_value(shape: Shape) -> Value {
    macro_rules! xy {
        ($pts:expr) => {
            $pts.iter().map(|p| (p.x, p.y))
        };
    }
    let lines = |parts: Vec<Value>| {
        if parts.len() == 1 {
            json!({"type": "LineString", "coordinates": parts[0]})
        } else {
            json!({"type": "MultiLineString", "coordinates": parts})
        }
    };
    match shape {
        Shape::NullShape => Value::Null,
        Shape::Point(p) => json!({"type": "Point", "coordinates": position(p.x, p.y)}),
        Shape::PointM(p) => json!({"type": "Point", "coordinates": position(p.x, p.y)}),
        Shape::PointZ(p) => json!({"type": "Point", "coordinates": position(p.x, p.y)}),
        Shape::Multipoint(m) => {
            json!({"type": "MultiPoint", "coordinates": positions(xy!(m.points()))})
        }
        Shape::MultipointM(m) => {
            json!({"type": "MultiPoint", "coordinates": positions(xy!(m.points()))})
        }
        Shape::MultipointZ(m) => {
            json!({"type": "MultiPoint", "coordinates": positions(xy!(m.points()))})
        }
        Shape::Polyline(l) => lines(l.parts().iter().map(|p| positions(xy!(p))).collect()),
        Shape::PolylineM(l) => lines(l.parts().iter().map(|p| positions(xy!(p))).collect()),
        Shape::PolylineZ(l) => lines(l.parts().iter().map(|p| positions(xy!(p))).collect()),
        Shape::Polygon(p) => polygon_value(
            p.rings()
                .iter()
                .map(|r| {
                    (
                        matches!(r, PolygonRing::Outer(_)),
                        xy!(r.points()).collect(),
                    )
                })
                .collect(),
        ),
        Shape::PolygonM(p) => polygon_value(
            p.rings()
                .iter()
                .map(|r| {
                    (
                        matches!(r, PolygonRing::Outer(_)),
                        xy!(r.points()).collect(),
                    )
                })
                .collect(),
        ),
        Shape::PolygonZ(p) => polygon_value(
            p.rings()
                .iter()
                .map(|r| {
                    (
                        matches!(r, PolygonRing::Outer(_)),
                        xy!(r.points()).collect(),
                    )
                })
                .collect(),
        ),
        Shape::Multipatch(_) => json!({"type": "MultiPatch", "coordinates": null}),
    }
}

/// A ring's positions.
type Ring = Vec<(f64, f64)>;

/// Polygon rings (outer or not, by direction) grouped into polygons: each hole in the smallest outer
/// ring holding it; with one outer ring, every hole is its (the readers then check where they lie); a
/// hole inside no outer ring, or a shape of holes only, read as outer rings.
fn polygon_value(rings: Vec<(bool, Ring)>) -> Value {
    let ring_value = |r: &[(f64, f64)]| positions(r.iter().copied());
    let (outer, inner): (Vec<_>, Vec<_>) = rings.into_iter().partition(|(o, _)| *o);
    let mut shells: Vec<(Ring, Vec<Ring>)> =
        outer.into_iter().map(|(_, r)| (r, Vec::new())).collect();
    if shells.is_empty() {
        shells = inner.into_iter().map(|(_, r)| (r, Vec::new())).collect();
    } else if shells.len() == 1 {
        shells[0].1 = inner.into_iter().map(|(_, r)| r).collect();
    } else {
        let polygons: Vec<Polygon> = shells
            .iter()
            .map(|(r, _)| {
                Polygon::new(
                    LineString(r.iter().map(|&(x, y)| Coord { x, y }).collect()),
                    vec![],
                )
            })
            .collect();
        for (_, hole) in inner {
            let holder = polygons
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    let mut inside = false;
                    for &(x, y) in hole.iter().take(8) {
                        match p.coordinate_position(&Coord { x, y }) {
                            CoordPos::Outside => return false,
                            CoordPos::Inside => inside = true,
                            CoordPos::OnBoundary => {}
                        }
                    }
                    inside
                })
                .min_by(|(_, a), (_, b)| a.unsigned_area().total_cmp(&b.unsigned_area()))
                .map(|(i, _)| i);
            match holder {
                Some(i) => shells[i].1.push(hole),
                None => shells.push((hole, Vec::new())),
            }
        }
    }
    let polygon = |(shell, holes): &(Ring, Vec<Ring>)| {
        Value::Array(
            std::iter::once(ring_value(shell))
                .chain(holes.iter().map(|h| ring_value(h)))
                .collect(),
        )
    };
    if shells.len() == 1 {
        json!({"type": "Polygon", "coordinates": polygon(&shells[0])})
    } else {
        json!({"type": "MultiPolygon", "coordinates": shells.iter().map(polygon).collect::<Vec<_>>()})
    }
}

/// A column's type, widened as values are seen.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Bool,
    Long,
    Double,
    Text,
}

impl Kind {
    fn of(v: &Value) -> Option<Kind> {
        match v {
            Value::Null => None,
            Value::Bool(_) => Some(Kind::Bool),
            Value::Number(n) if n.is_i64() => Some(Kind::Long),
            Value::Number(_) => Some(Kind::Double),
            _ => Some(Kind::Text),
        }
    }

    fn widen(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Long, Kind::Double) | (Kind::Double, Kind::Long) => Kind::Double,
            _ => Kind::Text,
        }
    }
}

/// The text a value is written as in a text field: a string as it is, a list joined by
/// [`super::LIST_SEPARATOR`], anything else as JSON.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(super::LIST_SEPARATOR),
        ),
        other => Some(other.to_string()),
    }
}

/// `s` within the bytes a `.dbf` text field holds in `encoding`: cut at a character boundary, ending in
/// `…`, when longer. `Err` names a character the encoding cannot hold.
fn fit_text(s: &str, encoding: TextEncoding) -> std::result::Result<String, char> {
    let enc = encoding.encoding();
    let len = |t: &str| -> std::result::Result<usize, char> {
        if encoding == TextEncoding::Utf8 {
            return Ok(t.len());
        }
        let (bytes, _, bad) = enc.encode(t);
        if bad {
            // The first character the encoding cannot hold.
            let c = t
                .chars()
                .find(|c| enc.encode(&c.to_string()).2)
                .unwrap_or('\u{FFFD}');
            return Err(c);
        }
        Ok(bytes.len())
    };
    if len(s)? <= MAX_TEXT_BYTES {
        return Ok(s.to_string());
    }
    let mut cut: String = String::new();
    for c in s.chars() {
        let mut next = cut.clone();
        next.push(c);
        next.push('…');
        if len(&next)? > MAX_TEXT_BYTES {
            break;
        }
        cut.push(c);
    }
    cut.push('…');
    Ok(cut)
}

/// Writes `features` (GeoJSON, geometries in `crs`) as a Shapefile at `path` (with its `.shx`, `.dbf`,
/// `.prj` and `.cpg`), the `.dbf`'s text in `encoding`.
pub fn write(path: &Path, crs: u32, features: &[Value], encoding: TextEncoding) -> Result<()> {
    let file = display(path);
    let fail = |m: String| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(m),
    };
    let prj = super::prj::esri_wkt(crs).ok_or_else(|| {
        super::check_target(path, crs)
            .err()
            .unwrap_or_else(|| fail(format!("no .prj for EPSG:{crs}")))
    })?;
    // Geometries, all of one kind.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum ShapeKind {
        Point,
        Line,
        Area,
    }
    let mut kind: Option<ShapeKind> = None;
    let mut geometries = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let g = super::geometry_of(f)
            .map_err(|e| fail(format!("feature {i}: {e}")))?
            .ok_or_else(|| fail(format!("feature {i} has no geometry")))?;
        let this = match &g {
            geo::Geometry::Point(_) => ShapeKind::Point,
            geo::Geometry::LineString(_) | geo::Geometry::MultiLineString(_) => ShapeKind::Line,
            geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_) => ShapeKind::Area,
            other => {
                return Err(fail(format!(
                    "feature {i}: a Shapefile holds no {}",
                    geometry_name(other)
                )));
            }
        };
        match kind {
            None => kind = Some(this),
            Some(k) if k != this => {
                return Err(fail(format!(
                    "feature {i} is a {this:?} where the layer's first is a {k:?}: a Shapefile holds one \
                     kind of geometry"
                )));
            }
            Some(_) => {}
        }
        geometries.push(g);
    }

    // Columns: every property in order of first appearance, typed by all its values.
    let mut columns: Vec<(String, Option<Kind>)> = Vec::new();
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
    }
    let long_names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    let field_names = super::unique_field_names(&long_names);
    // Every value as it is written, and the widths it needs.
    let mut rows: Vec<Vec<FieldValue>> = Vec::with_capacity(features.len());
    let mut widths: Vec<(usize, usize)> = vec![(1, 0); columns.len()];
    let empty = Map::new();
    for (i, f) in features.iter().enumerate() {
        let props = match f.get("properties") {
            Some(Value::Object(p)) => p,
            _ => &empty,
        };
        let mut row = Vec::with_capacity(columns.len());
        for (c, (name, k)) in columns.iter().enumerate() {
            let v = props.get(name).unwrap_or(&Value::Null);
            let value = match (k.unwrap_or(Kind::Text), v) {
                (_, Value::Null) => match k.unwrap_or(Kind::Text) {
                    Kind::Bool => FieldValue::Logical(None),
                    Kind::Long | Kind::Double => FieldValue::Numeric(None),
                    Kind::Text => FieldValue::Character(None),
                },
                (Kind::Bool, Value::Bool(b)) => FieldValue::Logical(Some(*b)),
                (Kind::Long, Value::Number(n)) => {
                    let t = n.to_string();
                    widths[c].0 = widths[c].0.max(t.len());
                    FieldValue::Numeric(n.as_f64())
                }
                (Kind::Double, Value::Number(n)) => {
                    let t = n.to_string();
                    let (int, frac) = match t.split_once('.') {
                        Some((a, b)) if !t.contains(['e', 'E']) => (a.len(), b.len()),
                        _ => (t.len(), 6),
                    };
                    widths[c].1 = widths[c].1.max(frac.min(15));
                    widths[c].0 = widths[c].0.max(int);
                    FieldValue::Numeric(n.as_f64())
                }
                (_, other) => {
                    let text = text_of(other).unwrap_or_default();
                    let text = fit_text(&text, encoding).map_err(|ch| {
                        let id = props.get("id").and_then(text_of);
                        Error::Invalid(vec![
                            Problem::error(
                                &file,
                                format!(
                                    "the character '{ch}' has no {} code: write this Shapefile in UTF-8 \
                                     (the default, without --encoding GBK), or as .gpkg",
                                    encoding.cpg_name()
                                ),
                            )
                            .at(i, id.as_deref())
                            .field(name),
                        ])
                    })?;
                    let bytes = match encoding {
                        TextEncoding::Utf8 => text.len(),
                        e => e.encoding().encode(&text).0.len(),
                    };
                    widths[c].0 = widths[c].0.max(bytes);
                    FieldValue::Character(Some(text))
                }
            };
            row.push(value);
        }
        rows.push(row);
    }

    let mut builder = dbase::TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(
        encoding.encoding(),
    ));
    for ((_, k), (name, (width, decimals))) in columns.iter().zip(field_names.iter().zip(&widths)) {
        let field = dbase::FieldName::try_from(name.as_str()).map_err(|e| fail(e.to_string()))?;
        builder = match k.unwrap_or(Kind::Text) {
            Kind::Bool => builder.add_logical_field(field),
            Kind::Long => builder.add_numeric_field(field, (*width).min(20) as u8, 0),
            Kind::Double => {
                let decimals = (*decimals).max(1);
                let width = (width + 1 + decimals + 1).min(32);
                builder.add_numeric_field(field, width as u8, decimals as u8)
            }
            Kind::Text => builder.add_character_field(field, (*width).min(MAX_TEXT_BYTES) as u8),
        };
    }

    let create = |p: &Path| {
        std::fs::File::create(p)
            .map(|f| BufWriter::with_capacity(1 << 20, f))
            .map_err(|source| Error::Write {
                path: p.to_path_buf(),
                source,
            })
    };
    // A spatial index left by an earlier file of this name would describe other shapes.
    for ext in ["qix", "sbn", "sbx"] {
        if let Some(stale) = sibling(path, ext) {
            std::fs::remove_file(&stale).map_err(|source| Error::Write {
                path: stale.clone(),
                source,
            })?;
        }
    }
    let dbf_path = sibling_name(path, "dbf");
    // Every file is written under a temporary name and renamed into place once all are written: a
    // failed write leaves no part-written layer (nor spoils one there before).
    let mut staged = Staged::default();
    let shp_tmp = staged.name(path);
    let shx_tmp = staged.name(&sibling_name(path, "shx"));
    let dbf_tmp = staged.name(&dbf_path);
    let mut shapes = shapefile::ShapeWriter::with_shx(create(&shp_tmp)?, create(&shx_tmp)?);
    let mut table = builder.build_with_dest(create(&dbf_tmp)?);
    let shape_err = |e: shapefile::Error| fail(e.to_string());
    for (g, row) in geometries.iter().zip(rows) {
        match g {
            geo::Geometry::Point(p) => shapes.write_shape(&Point::new(p.x(), p.y())),
            geo::Geometry::LineString(l) => {
                shapes.write_shape(&shapefile::Polyline::new(points(&l.0)))
            }
            geo::Geometry::MultiLineString(ml) => shapes.write_shape(
                &shapefile::Polyline::with_parts(ml.0.iter().map(|l| points(&l.0)).collect()),
            ),
            geo::Geometry::Polygon(p) => {
                shapes.write_shape(&polygon_shape(std::slice::from_ref(p)).map_err(fail)?)
            }
            geo::Geometry::MultiPolygon(mp) => {
                shapes.write_shape(&polygon_shape(&mp.0).map_err(fail)?)
            }
            _ => Ok(()),
        }
        .map_err(shape_err)?;
        let mut record = dbase::Record::default();
        for (name, value) in field_names.iter().zip(row) {
            record.insert(name.clone(), value);
        }
        table
            .write_record(&record)
            .map_err(|e| fail(format!("{}: {e}", display(&dbf_path))))?;
    }
    shapes.finalize().map_err(shape_err)?;
    table
        .finalize()
        .map_err(|e| fail(format!("{}: {e}", display(&dbf_path))))?;
    drop(shapes);
    drop(table);
    let mut write_text = |ext: &str, text: &str| {
        let p = staged.name(&sibling_name(path, ext));
        std::fs::write(&p, text).map_err(|source| Error::Write { path: p, source })
    };
    write_text("prj", &prj)?;
    write_text("cpg", encoding.cpg_name())?;
    staged.commit()
}

/// Files written under temporary names beside their own, renamed to them by [`Staged::commit`];
/// removed if it never comes.
#[derive(Default)]
struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
    done: bool,
}

impl Staged {
    /// The temporary name to write `target` under.
    fn name(&mut self, target: &Path) -> PathBuf {
        let base = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = target.with_file_name(format!(".{base}.{}.partial", std::process::id()));
        self.files.push((tmp.clone(), target.to_path_buf()));
        tmp
    }

    fn commit(mut self) -> Result<()> {
        for (tmp, target) in &self.files {
            std::fs::rename(tmp, target).map_err(|source| Error::Write {
                path: target.clone(),
                source,
            })?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            for (tmp, _) in &self.files {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

fn geometry_name(g: &geo::Geometry) -> &'static str {
    match g {
        geo::Geometry::MultiPoint(_) => "MultiPoint mixed with others",
        geo::Geometry::GeometryCollection(_) => "GeometryCollection",
        _ => "geometry of this kind",
    }
}

fn points(coords: &[Coord]) -> Vec<Point> {
    coords.iter().map(|c| Point::new(c.x, c.y)).collect()
}

/// Polygons as one Shapefile polygon: outer rings clockwise, holes counter-clockwise (the crate turns
/// each ring that runs the other way).
fn polygon_shape(polygons: &[Polygon]) -> std::result::Result<shapefile::Polygon, String> {
    let mut rings = Vec::new();
    for p in polygons {
        if p.exterior().0.len() < 4 {
            continue;
        }
        rings.push(PolygonRing::Outer(points(&p.exterior().0)));
        for hole in p.interiors() {
            rings.push(PolygonRing::Inner(points(&hole.0)));
        }
    }
    if rings.is_empty() {
        return Err("a polygon with no ring of 4 or more points".into());
    }
    Ok(shapefile::Polygon::with_rings(rings))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Shapefile `grids.shp` of `n` unit squares (property `id` G0, G1…) in `dir`.
    fn squares(dir: &Path, n: usize) -> PathBuf {
        let features: Vec<Value> = (0..n)
            .map(|i| {
                // Coordinates of many digits, whose GeoJSON text is longer than their 8 bytes.
                let (x, y) = (i as f64 + 0.123_456_789_1, 0.987_654_321_1);
                json!({"type": "Feature", "properties": {"id": format!("G{i}")}, "geometry":
                    {"type": "Polygon", "coordinates":
                        [[[x, y], [x + 0.5, y], [x + 0.5, y + 0.5], [x, y + 0.5], [x, y]]]}})
            })
            .collect();
        let path = dir.join("grids.shp");
        write(&path, 4326, &features, TextEncoding::Utf8).unwrap();
        path
    }

    fn read_err(path: &Path, cap: u64) -> String {
        match read(path, cap) {
            Ok(out) => panic!("read: {}", String::from_utf8_lossy(&out)),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn an_index_pointing_at_one_record_again_and_again_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let path = squares(d.path(), 50);
        let shx = path.with_extension("shx");
        let mut bytes = std::fs::read(&shx).unwrap();
        let first: [u8; 8] = bytes[100..108].try_into().unwrap();
        for at in (108..bytes.len()).step_by(8) {
            bytes[at..at + 8].copy_from_slice(&first);
        }
        std::fs::write(&shx, &bytes).unwrap();
        let e = read_err(&path, 1 << 30);
        assert!(
            e.contains("grids.shx") && e.contains("entry 1 points at byte 100"),
            "{e}"
        );
        // Without the .shx, the .shp is read in order.
        std::fs::remove_file(&shx).unwrap();
        let out: Value = serde_json::from_slice(&read(&path, 1 << 30).unwrap()).unwrap();
        assert_eq!(out["features"][49]["properties"]["id"], "G49");
    }

    #[test]
    fn the_index_counts_toward_the_cap_and_reading_stops_past_it() {
        let d = tempfile::tempdir().unwrap();
        let path = squares(d.path(), 200);
        let len = |ext: &str| std::fs::metadata(path.with_extension(ext)).unwrap().len();
        let (shp, dbf, shx) = (len("shp"), len("dbf"), len("shx"));
        let e = read_err(&path, shp + dbf + shx - 1);
        assert!(e.contains("input cap"), "{e}");
        // The GeoJSON of 200 squares is larger than the files: reading stops once it passes the cap.
        let all = read(&path, 1 << 30).unwrap().len() as u64;
        assert!(all > shp + dbf + shx, "{all}");
        let e = read_err(&path, shp + dbf + shx);
        assert!(e.contains("as GeoJSON"), "{e}");
    }

    #[test]
    fn a_failed_write_leaves_the_layer_there_before_and_no_part_written_files() {
        let d = tempfile::tempdir().unwrap();
        let path = squares(d.path(), 2);
        let before = std::fs::read(&path).unwrap();
        let good = json!({"type": "Feature", "properties": {"id": "A"}, "geometry":
            {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}});
        // A ring of three points cannot be written, and is found after the first feature is.
        let bad = json!({"type": "Feature", "properties": {"id": "B"}, "geometry":
            {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]]}});
        assert!(write(&path, 4326, &[good, bad], TextEncoding::Utf8).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let mut names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "grids.cpg",
                "grids.dbf",
                "grids.prj",
                "grids.shp",
                "grids.shx"
            ]
        );
    }

    #[test]
    fn records_marked_deleted_are_refused_with_their_count() {
        let d = tempfile::tempdir().unwrap();
        let path = squares(d.path(), 3);
        let dbf = path.with_extension("dbf");
        let mut bytes = std::fs::read(&dbf).unwrap();
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        bytes[header_len] = b'*';
        std::fs::write(&dbf, &bytes).unwrap();
        let e = read_err(&path, 1 << 30);
        assert!(
            e.contains("grids.dbf") && e.contains("1 record marked deleted"),
            "{e}"
        );
    }

    #[test]
    fn a_dbf_whose_record_length_disagrees_with_its_fields_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let path = squares(d.path(), 3);
        let dbf = path.with_extension("dbf");
        let mut bytes = std::fs::read(&dbf).unwrap();
        let len = u16::from_le_bytes([bytes[10], bytes[11]]);
        bytes[10..12].copy_from_slice(&(len + 1).to_le_bytes());
        std::fs::write(&dbf, &bytes).unwrap();
        let e = read_err(&path, 1 << 30);
        assert!(e.contains("grids.dbf") && e.contains("record is"), "{e}");
    }

    fn square(x0: f64, y0: f64, s: f64, clockwise: bool) -> Vec<(f64, f64)> {
        let mut r = vec![
            (x0, y0),
            (x0 + s, y0),
            (x0 + s, y0 + s),
            (x0, y0 + s),
            (x0, y0),
        ];
        if clockwise {
            r.reverse();
        }
        r
    }

    #[test]
    fn holes_go_to_the_smallest_outer_ring_holding_them() {
        // Two shells, the second inside the hole of the first ("island in a lake"), each with a hole.
        let rings = vec![
            (true, square(0.0, 0.0, 100.0, true)),
            (true, square(40.0, 40.0, 20.0, true)),
            (false, square(45.0, 45.0, 5.0, false)),
            (false, square(10.0, 10.0, 50.0, false)),
            // A hole in no shell: read as an outer ring.
            (false, square(500.0, 500.0, 1.0, false)),
        ];
        let v = polygon_value(rings);
        assert_eq!(v["type"], "MultiPolygon");
        let parts = v["coordinates"].as_array().unwrap();
        assert_eq!(parts.len(), 3);
        // The small hole (45..50) belongs to the island (40..60), the big one to the big shell.
        assert_eq!(parts[0].as_array().unwrap().len(), 2);
        assert_eq!(parts[1].as_array().unwrap().len(), 2);
        assert_eq!(parts[1][1][0], json!([45.0, 45.0]));
        assert_eq!(parts[2].as_array().unwrap().len(), 1);
    }

    #[test]
    fn long_text_is_cut_at_a_character_and_gbk_refuses_what_it_cannot_hold() {
        let long = "东至".repeat(100);
        let cut = fit_text(&long, TextEncoding::Utf8).unwrap();
        assert!(
            cut.len() <= MAX_TEXT_BYTES && cut.ends_with('…'),
            "{}",
            cut.len()
        );
        let cut = fit_text(&long, TextEncoding::Gbk).unwrap();
        assert!(encoding_rs::GBK.encode(&cut).0.len() <= MAX_TEXT_BYTES);
        assert!(
            cut.chars().count() > 120,
            "GBK holds a Chinese character in 2 bytes"
        );
        assert_eq!(fit_text("南京路", TextEncoding::Gbk).unwrap(), "南京路");
        assert_eq!(fit_text("a😀b", TextEncoding::Gbk), Err('😀'));
    }

    #[test]
    fn lists_are_joined_and_numbers_read_as_integers_when_whole() {
        assert_eq!(text_of(&json!(["W1", "W2"])).unwrap(), "W1;W2");
        assert_eq!(number(3.0), json!(3));
        assert_eq!(number(2.5), json!(2.5));
        assert_eq!(number(f64::NAN), json!("NaN"));
    }
}
