//! GeoPackages (OGC 12-128r18): an SQLite database with the `gpkg_*` tables naming its layers, read and
//! written on `rusqlite`, each geometry a GeoPackage binary (a short header, then WKB) decoded and encoded
//! by `geozero`.
//!
//! Reading picks the layer by a fixed rule: a GeoPackage's only feature layer; of several, the one named
//! as the file (`grids.gpkg` → layer `grids`), the `retired_grids` layer aside; anything else is refused
//! naming the layers. A `retired_grids` layer beside the one read is the record of retired grids, as the
//! GeoJSON member of that name. The layer's `srs_id` gives its CRS: the EPSG code its organisation names,
//! else its definition told by [`super::prj::identify`]; an undefined one (0 or −1) is read in `--crs`,
//! else WGS84.
//!
//! Writing makes one table per layer (named as the file, and `retired_grids` beside it when a re-draw
//! retired grids), geometries promoted to MULTIPOLYGON (or MULTILINESTRING) so that a layer has one type,
//! each with its envelope; a property becomes a typed column (INTEGER, REAL, BOOLEAN, TEXT; a list or
//! object is JSON text, as GDAL writes them).

use super::{Layer, check_size, collection_head, invalid, property_name};
use crate::error::{Error, Result};
use crate::problem::Problem;
use geo::BoundingRect;
use geozero::error::GeozeroError;
use geozero::{CoordDimensions, GeomProcessor, ToWkb};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use serde_json::{Map, Value, json};
use std::io::Read;
use std::path::Path;

/// The layer of retired grids beside a grids layer.
pub const RETIRED_LAYER: &str = "retired_grids";

/// The first bytes of every SQLite database.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Whether `bytes` start as an SQLite database (a GeoPackage is one).
pub fn is_sqlite(bytes: &[u8]) -> bool {
    bytes.starts_with(SQLITE_MAGIC)
}

/// Quotes an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A feature layer of the GeoPackage: table, geometry column, srs_id.
struct LayerInfo {
    table: String,
    geometry: String,
    srs_id: i64,
}

/// Reads a GeoPackage's layer as the GeoJSON FeatureCollection it holds.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let file = path.display().to_string();
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(read_err)?;
    let len = f.metadata().map_err(read_err)?.len();
    check_size(&file, len, cap)?;
    let mut magic = [0u8; 16];
    if f.read_exact(&mut magic).is_err() || !is_sqlite(&magic) {
        return Err(invalid(
            &file,
            "not a GeoPackage: a GeoPackage is an SQLite database, which starts with \"SQLite format 3\"",
        ));
    }
    drop(f);
    let db = open_untrusted(path, len, cap)
        .map_err(|e| invalid(&file, format!("not a readable GeoPackage: {e}")))?;
    read_db(&file, path, &db, cap)
}

/// Reads a GeoPackage held in memory (an upload), through a temporary file; `cap` is the most bytes of
/// GeoJSON it may become (the input cap).
pub fn read_bytes(file: &str, bytes: &[u8], cap: u64) -> std::result::Result<Vec<u8>, Problem> {
    let problem = |e: Error| match e {
        Error::Invalid(mut p) if !p.is_empty() => p.remove(0),
        other => Problem::error(file, other.to_string()),
    };
    let tmp = tempfile::Builder::new()
        .suffix(".gpkg")
        .tempfile()
        .map_err(|e| Problem::error(file, format!("cannot hold the GeoPackage to read it: {e}")))?;
    std::fs::write(tmp.path(), bytes)
        .map_err(|e| Problem::error(file, format!("cannot hold the GeoPackage to read it: {e}")))?;
    let db = open_untrusted(tmp.path(), bytes.len() as u64, cap)
        .map_err(|e| Problem::error(file, format!("not a readable GeoPackage: {e}")))?;
    read_db(file, Path::new(file), &db, cap).map_err(problem)
}

/// The SQLite virtual-machine steps a GeoPackage's reading may take: a fixed allowance and more per
/// byte of the file, far past what reading a table in order takes, short of a view that never ends.
fn step_budget(len: u64) -> u64 {
    50_000_000u64.saturating_add(len.saturating_mul(2_000))
}

/// How often (in SQLite virtual-machine steps) the step budget is checked.
const STEP_CHECK: i32 = 10_000;

/// Opens an untrusted GeoPackage of `len` bytes for reading only: `immutable=1` (no `-wal` or `-shm`
/// file is made, and none is read), the schema untrusted (no function with side effects from a view or
/// trigger), defensive mode, scratch space in memory, no string or blob longer than the input cap, and a
/// step budget ([`step_budget`]) that stops a query running away.
fn open_untrusted(path: &Path, len: u64, cap: u64) -> rusqlite::Result<Connection> {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for c in abs.to_string_lossy().chars() {
        match c {
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            '%' => uri.push_str("%25"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    let mut db = Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    db.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    db.set_db_config(DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false)?;
    db.execute_batch("PRAGMA trusted_schema = OFF; PRAGMA temp_store = MEMORY;")?;
    let longest = i32::try_from(cap.max(1 << 20)).unwrap_or(i32::MAX);
    db.set_limit(Limit::SQLITE_LIMIT_LENGTH, longest)?;
    let budget = step_budget(len) / STEP_CHECK as u64;
    let mut checks = 0u64;
    db.progress_handler(
        STEP_CHECK,
        Some(move || {
            checks += 1;
            checks > budget
        }),
    )?;
    Ok(db)
}

/// The message of an SQLite error while reading: a query stopped by the step budget says so.
fn sql_message(e: &rusqlite::Error) -> String {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
        "reading it was stopped: it ran past gridplan's budget for reading a GeoPackage (a view or \
         trigger that does not end?); gridplan reads a layer from a table"
            .to_string()
    } else {
        e.to_string()
    }
}

/// Refuses a layer that is not a table of its own: a view (whose query the file chooses, and which can
/// run without end) or a virtual table.
fn check_is_table(file: &str, db: &Connection, table: &str) -> Result<()> {
    let row: Option<(String, Option<String>)> = db
        .query_row(
            "SELECT type, sql FROM sqlite_master WHERE name = ?1 COLLATE NOCASE \
             AND type IN ('table', 'view')",
            [table],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let what = match &row {
        None => "names no table of the file".to_string(),
        Some((kind, _)) if kind != "table" => format!("is a {kind}, not a table"),
        Some((_, Some(sql)))
            if sql
                .trim_start()
                .to_ascii_uppercase()
                .starts_with("CREATE VIRTUAL") =>
        {
            "is a virtual table".to_string()
        }
        Some(_) => return Ok(()),
    };
    Err(invalid(
        file,
        format!(
            "layer \"{table}\" {what}: gridplan reads a GeoPackage's layers from tables only; write the \
             layer to a table (ogr2ogr -f GPKG out.gpkg in.gpkg)"
        ),
    ))
}

fn read_db(file: &str, path: &Path, db: &Connection, cap: u64) -> Result<Vec<u8>> {
    let sql_err = |e: rusqlite::Error| {
        invalid(
            file,
            format!("not a readable GeoPackage: {}", sql_message(&e)),
        )
    };
    let mut layers: Vec<LayerInfo> = Vec::new();
    {
        let mut stmt = db
            .prepare(
                "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c \
                 JOIN gpkg_geometry_columns g ON g.table_name = c.table_name \
                 WHERE c.data_type = 'features' ORDER BY c.table_name",
            )
            .map_err(|e| {
                if e.to_string().contains("no such table") {
                    invalid(
                        file,
                        format!(
                            "not a GeoPackage: it has no layer tables (gpkg_contents, gpkg_geometry_columns): {e}"
                        ),
                    )
                } else {
                    sql_err(e)
                }
            })?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LayerInfo {
                    table: r.get(0)?,
                    geometry: r.get(1)?,
                    srs_id: r.get(2)?,
                })
            })
            .map_err(sql_err)?;
        for row in rows {
            layers.push(row.map_err(sql_err)?);
        }
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    let candidates: Vec<&LayerInfo> = layers.iter().filter(|l| l.table != RETIRED_LAYER).collect();
    let main = match candidates.as_slice() {
        [] => match layers.first() {
            Some(only) => only,
            None => return Err(invalid(file, "the GeoPackage holds no feature layer")),
        },
        [only] => only,
        many => many
            .iter()
            .find(|l| l.table.eq_ignore_ascii_case(&stem))
            .copied()
            .ok_or_else(|| {
                let names: Vec<String> = many.iter().map(|l| format!("\"{}\"", l.table)).collect();
                invalid(
                    file,
                    format!(
                        "holds {} layers ({}): gridplan reads a GeoPackage's only layer, or the layer named \
                         as the file (\"{stem}\"); name the file after the layer to read, or write that \
                         layer to a file of its own (ogr2ogr -f GPKG one.gpkg {} LAYER)",
                        many.len(),
                        names.join(", "),
                        path.display()
                    ),
                )
            })?,
    };
    check_is_table(file, db, &main.table)?;
    let crs = srs(file, db, main)?;
    let mut out = collection_head(crs).into_bytes();
    features(file, db, main, &mut out, cap)?;
    out.extend_from_slice(b"\n]");
    if let Some(retired) = layers
        .iter()
        .find(|l| l.table == RETIRED_LAYER && l.table != main.table)
    {
        check_is_table(file, db, &retired.table)?;
        let rcrs = srs(file, db, retired)?;
        let mut member = collection_head(rcrs).into_bytes();
        features(
            &format!("{file} ({RETIRED_LAYER})"),
            db,
            retired,
            &mut member,
            cap.saturating_sub(out.len() as u64),
        )?;
        member.extend_from_slice(b"\n]}");
        out.extend_from_slice(format!(",\"{RETIRED_LAYER}\":").as_bytes());
        out.extend_from_slice(&member);
    }
    out.extend_from_slice(b"}\n");
    Ok(out)
}

/// The EPSG code of a layer's CRS, `None` when undefined.
fn srs(file: &str, db: &Connection, layer: &LayerInfo) -> Result<Option<u32>> {
    if layer.srs_id == 0 || layer.srs_id == -1 {
        return Ok(None);
    }
    let row: Option<(String, i64, String)> = db
        .query_row(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys \
             WHERE srs_id = ?1",
            [layer.srs_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .ok();
    let named = |m: String| {
        invalid(
            file,
            format!("layer \"{}\", srs_id {}: {m}", layer.table, layer.srs_id),
        )
    };
    let Some((org, code, definition)) = row else {
        return Err(named(
            "no such row in gpkg_spatial_ref_sys, so its CRS is unknown".into(),
        ));
    };
    if org.eq_ignore_ascii_case("NONE") {
        return Ok(None);
    }
    if org.eq_ignore_ascii_case("EPSG") && code > 0 {
        return u32::try_from(code)
            .map(Some)
            .map_err(|_| named(format!("EPSG code {code} is not one")));
    }
    super::prj::identify(&definition).map(Some).map_err(named)
}

/// Appends the features of `layer` (GeoJSON, comma-separated) to `out`.
fn features(
    file: &str,
    db: &Connection,
    layer: &LayerInfo,
    out: &mut Vec<u8>,
    cap: u64,
) -> Result<()> {
    let sql_err = |e: rusqlite::Error| {
        invalid(
            file,
            format!(
                "layer \"{}\" cannot be read: {}",
                layer.table,
                sql_message(&e)
            ),
        )
    };
    // The columns: the primary key (the feature id, not a property) and the geometry aside.
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut pk: Option<String> = None;
    {
        let mut stmt = db
            .prepare(&format!("PRAGMA table_info({})", ident(&layer.table)))
            .map_err(sql_err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(sql_err)?;
        let mut all = Vec::new();
        for row in rows {
            all.push(row.map_err(sql_err)?);
        }
        // The feature id is a single INTEGER PRIMARY KEY (the table's rowid); any other key (a TEXT
        // `id`, a key of several columns) is data, read as properties.
        let keys: Vec<&(String, String, i64)> = all.iter().filter(|c| c.2 > 0).collect();
        if let [only] = keys.as_slice()
            && only.1.eq_ignore_ascii_case("INTEGER")
        {
            pk = Some(only.0.clone());
        }
        for (name, kind, _) in all {
            if pk.as_deref() != Some(name.as_str()) && !name.eq_ignore_ascii_case(&layer.geometry) {
                columns.push((name, kind.to_ascii_uppercase()));
            }
        }
    }
    let names: Vec<String> = columns.iter().map(|(n, _)| property_name(n)).collect();
    let mut select = vec![ident(&layer.geometry)];
    select.extend(columns.iter().map(|(n, _)| ident(n)));
    let order = pk.as_deref().map(ident).unwrap_or_else(|| "rowid".into());
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        select.join(", "),
        ident(&layer.table)
    );
    // A table WITHOUT ROWID has no rowid: it is read in its key's order.
    let mut stmt = match db.prepare(&sql) {
        Ok(stmt) => stmt,
        Err(_) if pk.is_none() => db
            .prepare(&format!(
                "SELECT {} FROM {}",
                select.join(", "),
                ident(&layer.table)
            ))
            .map_err(sql_err)?,
        Err(e) => return Err(sql_err(e)),
    };
    let mut rows = stmt.query([]).map_err(sql_err)?;
    let mut index = 0usize;
    while let Some(row) = rows.next().map_err(sql_err)? {
        let at = |field: &str, m: String| {
            Error::Invalid(vec![Problem::error(file, m).at(index, None).field(field)])
        };
        let geometry = match row.get_ref(0).map_err(sql_err)? {
            ValueRef::Null => Value::Null,
            ValueRef::Blob(b) => geometry_value(b)
                .map_err(|m| at("geometry", format!("geometry cannot be read: {m}")))?,
            _ => {
                return Err(at(
                    "geometry",
                    "the geometry column holds no GeoPackage geometry (a blob)".into(),
                ));
            }
        };
        let mut props = Map::new();
        for (i, ((_, kind), name)) in columns.iter().zip(&names).enumerate() {
            let v = match row.get_ref(i + 1).map_err(sql_err)? {
                ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                ValueRef::Integer(n) if kind == "BOOLEAN" => json!(n != 0),
                ValueRef::Integer(n) => json!(n),
                ValueRef::Real(x) if x.is_finite() => json!(x),
                ValueRef::Real(x) => Value::String(x.to_string()),
                ValueRef::Text(t) => match std::str::from_utf8(t) {
                    Ok(s) => Value::String(s.to_string()),
                    Err(_) => {
                        return Err(at(
                            name,
                            "text that is not UTF-8 (a GeoPackage's text is UTF-8)".into(),
                        ));
                    }
                },
            };
            props.insert(name.clone(), v);
        }
        if index > 0 {
            out.extend_from_slice(b",\n");
        }
        let feature = json!({"type": "Feature", "geometry": geometry, "properties": props});
        out.extend_from_slice(feature.to_string().as_bytes());
        index += 1;
        if out.len() as u64 > cap {
            let cap_mb = cap / (1024 * 1024);
            return Err(invalid(
                file,
                format!(
                    "layer \"{}\" holds more than the input cap of {cap_mb} MiB as GeoJSON (at feature \
                     {index}); pass a larger --max-input-mb to read it (--max-input-mb {cap_mb})",
                    layer.table
                ),
            ));
        }
    }
    Ok(())
}

/// A GeoPackage geometry blob as a GeoJSON geometry.
fn geometry_value(blob: &[u8]) -> std::result::Result<Value, String> {
    let mut p = JsonGeometry::default();
    let mut reader = blob;
    match geozero::wkb::process_gpkg_geom(&mut reader, &mut p) {
        Ok(()) => {}
        Err(_) if p.unsupported.is_some() => {}
        Err(e) => return Err(e.to_string()),
    }
    if let Some(kind) = p.unsupported {
        return Ok(json!({"type": kind, "coordinates": null}));
    }
    p.done.ok_or_else(|| "an empty geometry".to_string())
}

/// Builds a GeoJSON geometry from what `geozero`'s WKB reader reports, never reserving room by the
/// counts the blob claims (a damaged blob runs out of bytes first). Kinds gridplan never reads
/// (collections, curves, surfaces) stop the reading, and are reported with `null` coordinates.
#[derive(Default)]
struct JsonGeometry {
    /// Open parts: their GeoJSON type and what they hold so far.
    stack: Vec<(&'static str, Vec<Value>)>,
    done: Option<Value>,
    unsupported: Option<&'static str>,
}

impl JsonGeometry {
    fn begin(&mut self, kind: &'static str) -> geozero::error::Result<()> {
        self.stack.push((kind, Vec::new()));
        Ok(())
    }

    /// Closes the innermost part: into its parent, or as the geometry.
    fn end(&mut self) -> geozero::error::Result<()> {
        let (kind, items) = self
            .stack
            .pop()
            .ok_or_else(|| GeozeroError::Geometry("a part closed twice".into()))?;
        let coordinates = if kind == "Point" {
            items.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(items)
        };
        match self.stack.last_mut() {
            Some((_, parent)) => parent.push(coordinates),
            None => self.done = Some(json!({"type": kind, "coordinates": coordinates})),
        }
        Ok(())
    }

    fn unsupported(&mut self, kind: &'static str) -> geozero::error::Result<()> {
        self.unsupported = Some(kind);
        Err(GeozeroError::Geometry(format!("a {kind}")))
    }
}

impl GeomProcessor for JsonGeometry {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> geozero::error::Result<()> {
        match self.stack.last_mut() {
            Some((_, items)) => {
                items.push(json!([x, y]));
                Ok(())
            }
            None => Err(GeozeroError::Geometry(
                "a coordinate outside a geometry".into(),
            )),
        }
    }
    fn empty_point(&mut self, _idx: usize) -> geozero::error::Result<()> {
        match self.stack.last_mut() {
            Some((_, items)) => items.push(Value::Null),
            None => self.done = Some(json!({"type": "Point", "coordinates": []})),
        }
        Ok(())
    }
    fn point_begin(&mut self, _idx: usize) -> geozero::error::Result<()> {
        self.begin("Point")
    }
    fn point_end(&mut self, _idx: usize) -> geozero::error::Result<()> {
        self.end()
    }
    fn multipoint_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.begin("MultiPoint")
    }
    fn multipoint_end(&mut self, _idx: usize) -> geozero::error::Result<()> {
        self.end()
    }
    fn linestring_begin(
        &mut self,
        _tagged: bool,
        _size: usize,
        _idx: usize,
    ) -> geozero::error::Result<()> {
        self.begin("LineString")
    }
    fn linestring_end(&mut self, _tagged: bool, _idx: usize) -> geozero::error::Result<()> {
        self.end()
    }
    fn multilinestring_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.begin("MultiLineString")
    }
    fn multilinestring_end(&mut self, _idx: usize) -> geozero::error::Result<()> {
        self.end()
    }
    fn polygon_begin(
        &mut self,
        _tagged: bool,
        _size: usize,
        _idx: usize,
    ) -> geozero::error::Result<()> {
        self.begin("Polygon")
    }
    fn polygon_end(&mut self, _tagged: bool, _idx: usize) -> geozero::error::Result<()> {
        self.end()
    }
    fn multipolygon_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.begin("MultiPolygon")
    }
    fn multipolygon_end(&mut self, _idx: usize) -> geozero::error::Result<()> {
        self.end()
    }
    fn geometrycollection_begin(
        &mut self,
        _size: usize,
        _idx: usize,
    ) -> geozero::error::Result<()> {
        self.unsupported("GeometryCollection")
    }
    fn circularstring_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("CircularString")
    }
    fn compoundcurve_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("CompoundCurve")
    }
    fn curvepolygon_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("CurvePolygon")
    }
    fn multicurve_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("MultiCurve")
    }
    fn multisurface_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("MultiSurface")
    }
    fn triangle_begin(
        &mut self,
        _tagged: bool,
        _size: usize,
        _idx: usize,
    ) -> geozero::error::Result<()> {
        self.unsupported("Triangle")
    }
    fn polyhedralsurface_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("PolyhedralSurface")
    }
    fn tin_begin(&mut self, _size: usize, _idx: usize) -> geozero::error::Result<()> {
        self.unsupported("Tin")
    }
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
            _ => Kind::Text,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Kind::Bool => "BOOLEAN",
            Kind::Long => "INTEGER",
            Kind::Double => "REAL",
            Kind::Text | Kind::Json => "TEXT",
        }
    }
}

/// The table name of a layer: its name, unless SQLite or the GeoPackage reserve it.
fn table_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if name.is_empty()
        || lower.starts_with("gpkg_")
        || lower.starts_with("sqlite_")
        || lower.starts_with("rtree_")
    {
        format!("layer_{name}")
    } else {
        name.to_string()
    }
}

/// Writes `layers` (GeoJSON features, geometries in `crs`) as a GeoPackage at `path`, replacing any file
/// there.
pub fn write(path: &Path, crs: u32, layers: &[Layer]) -> Result<()> {
    let fail = |m: String| Error::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(m),
    };
    let sql = |e: rusqlite::Error| fail(e.to_string());
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::remove_file(&p).map_err(|source| Error::Write { path: p, source })?;
        }
    }
    let mut db = Connection::open(path).map_err(sql)?;
    db.execute_batch(
        "PRAGMA application_id = 1196444487; PRAGMA user_version = 10300;
         CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
           organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
           definition TEXT NOT NULL, description TEXT);
         CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
           identifier TEXT UNIQUE, description TEXT DEFAULT '',
           last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
           min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
           srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
         CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
           geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
           CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
           CONSTRAINT uk_gc_table_name UNIQUE (table_name),
           CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
           CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));",
    )
    .map_err(sql)?;
    let tx = db.transaction().map_err(sql)?;
    let wgs84 = super::prj::ogc_wkt(4326).unwrap_or_default();
    tx.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES
           ('Undefined Cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined Cartesian coordinate reference system'),
           ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
           ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?1, 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        [wgs84],
    )
    .map_err(sql)?;
    if crs != 4326 {
        // GDAL and QGIS take the CRS from its EPSG code; the definition is written for those gridplan
        // names, `undefined` for any other.
        let definition = super::prj::ogc_wkt(crs).unwrap_or_else(|| "undefined".into());
        let name = super::prj::epsg_name(crs).unwrap_or_else(|| format!("EPSG:{crs}"));
        tx.execute(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?1, ?2, 'EPSG', ?2, ?3, NULL)",
            rusqlite::params![name, crs, definition],
        )
        .map_err(sql)?;
    }
    for layer in layers {
        write_layer(&tx, layer, crs).map_err(|m| fail(format!("layer {}: {m}", layer.name)))?;
    }
    tx.commit().map_err(sql)?;
    db.close().map_err(|(_, e)| sql(e))
}

fn write_layer(
    tx: &rusqlite::Transaction,
    layer: &Layer,
    crs: u32,
) -> std::result::Result<(), String> {
    let table = table_name(layer.name);
    // Geometries: one type for the layer, areas and lines promoted to their multi kind.
    let mut geometries: Vec<Option<geo::Geometry>> = Vec::with_capacity(layer.features.len());
    let mut kind: Option<&'static str> = None;
    for (i, f) in layer.features.iter().enumerate() {
        let g = super::geometry_of(f).map_err(|e| format!("feature {i}: {e}"))?;
        let g = g.map(|g| match g {
            geo::Geometry::Polygon(p) => geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![p])),
            geo::Geometry::LineString(l) => {
                geo::Geometry::MultiLineString(geo::MultiLineString(vec![l]))
            }
            other => other,
        });
        if let Some(g) = &g {
            let this = match g {
                geo::Geometry::Point(_) => "POINT",
                geo::Geometry::MultiPoint(_) => "MULTIPOINT",
                geo::Geometry::MultiLineString(_) => "MULTILINESTRING",
                geo::Geometry::MultiPolygon(_) => "MULTIPOLYGON",
                _ => "GEOMETRY",
            };
            kind = match kind {
                None => Some(this),
                Some(k) if k == this => Some(k),
                Some(_) => Some("GEOMETRY"),
            };
        }
        geometries.push(g);
    }
    // Columns: every property in order of first appearance, typed by all its values.
    let mut columns: Vec<(String, Option<Kind>)> = Vec::new();
    for f in layer.features {
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
    // The feature id and the geometry have columns of their own.
    let column_name = |n: &str| {
        if n.eq_ignore_ascii_case("fid") || n.eq_ignore_ascii_case("geom") {
            format!("{n}_")
        } else {
            n.to_string()
        }
    };
    let mut create = format!(
        "CREATE TABLE {} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom {}",
        ident(&table),
        kind.unwrap_or("GEOMETRY")
    );
    for (name, k) in &columns {
        create.push_str(&format!(
            ", {} {}",
            ident(&column_name(name)),
            k.unwrap_or(Kind::Text).sql()
        ));
    }
    create.push(')');
    let e = |e: rusqlite::Error| e.to_string();
    tx.execute_batch(&create).map_err(e)?;
    // Bounds of the layer.
    let mut bounds: Option<geo::Rect> = None;
    for g in geometries.iter().flatten() {
        if let Some(r) = g.bounding_rect() {
            bounds = Some(match bounds {
                None => r,
                Some(b) => geo::Rect::new(
                    geo::Coord {
                        x: b.min().x.min(r.min().x),
                        y: b.min().y.min(r.min().y),
                    },
                    geo::Coord {
                        x: b.max().x.max(r.max().x),
                        y: b.max().y.max(r.max().y),
                    },
                ),
            });
        }
    }
    tx.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, max_x, max_y, srs_id) \
         VALUES (?1, 'features', ?1, '', ?2, ?3, ?4, ?5, ?6)",
        rusqlite::params![
            table,
            bounds.map(|b| b.min().x),
            bounds.map(|b| b.min().y),
            bounds.map(|b| b.max().x),
            bounds.map(|b| b.max().y),
            crs
        ],
    )
    .map_err(e)?;
    tx.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, 'geom', ?2, ?3, 0, 0)",
        rusqlite::params![table, kind.unwrap_or("GEOMETRY"), crs],
    )
    .map_err(e)?;
    let placeholders: Vec<String> = (0..=columns.len()).map(|i| format!("?{}", i + 1)).collect();
    let mut names = vec!["geom".to_string()];
    names.extend(columns.iter().map(|(n, _)| ident(&column_name(n))));
    let mut insert = tx
        .prepare(&format!(
            "INSERT INTO {} ({}) VALUES ({})",
            ident(&table),
            names.join(", "),
            placeholders.join(", ")
        ))
        .map_err(e)?;
    let empty = Map::new();
    for (i, (f, g)) in layer.features.iter().zip(&geometries).enumerate() {
        let blob = match g {
            None => None,
            Some(g) => {
                let envelope = g
                    .bounding_rect()
                    .map(|r| vec![r.min().x, r.max().x, r.min().y, r.max().y])
                    .unwrap_or_default();
                Some(
                    g.to_gpkg_wkb(CoordDimensions::xy(), i32::try_from(crs).ok(), envelope)
                        .map_err(|err| format!("feature {i}: {err}"))?,
                )
            }
        };
        let props = match f.get("properties") {
            Some(Value::Object(p)) => p,
            _ => &empty,
        };
        let mut values: Vec<rusqlite::types::Value> = vec![match blob {
            Some(b) => rusqlite::types::Value::Blob(b),
            None => rusqlite::types::Value::Null,
        }];
        for (name, k) in &columns {
            use rusqlite::types::Value as V;
            let v = props.get(name).unwrap_or(&Value::Null);
            values.push(match (k.unwrap_or(Kind::Text), v) {
                (_, Value::Null) => V::Null,
                (Kind::Bool, Value::Bool(b)) => V::Integer(i64::from(*b)),
                (Kind::Long, Value::Number(n)) => n.as_i64().map_or(V::Null, V::Integer),
                (Kind::Double, Value::Number(n)) => n.as_f64().map_or(V::Null, V::Real),
                (_, Value::String(s)) => V::Text(s.clone()),
                (_, other) => V::Text(other.to_string()),
            });
        }
        insert.execute(params_from_iter(values)).map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GeoPackage of one layer `grids` (one square with `id` "G1"), then `ddl` run on it.
    fn gpkg_then(dir: &Path, ddl: &str) -> std::path::PathBuf {
        let path = dir.join("grids.gpkg");
        let square = json!({"type": "Feature", "properties": {"id": "G1"}, "geometry":
            {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}});
        write(
            &path,
            4326,
            &[Layer {
                name: "grids",
                features: &[square],
            }],
        )
        .unwrap();
        let db = Connection::open(&path).unwrap();
        db.execute_batch(ddl).unwrap();
        db.close().unwrap();
        path
    }

    fn read_err(path: &Path, cap: u64) -> String {
        match read(path, cap) {
            Ok(out) => panic!("read: {}", String::from_utf8_lossy(&out)),
            Err(e) => format!("{e:?}"),
        }
    }

    #[test]
    fn a_view_named_as_the_layer_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let path = gpkg_then(
            d.path(),
            "ALTER TABLE grids RENAME TO seed;
             CREATE VIEW grids AS SELECT a.fid * 100 + b.fid AS rowid, a.geom AS geom, a.id AS id
               FROM seed a, seed b;",
        );
        let e = read_err(&path, 1 << 30);
        assert!(e.contains("is a view, not a table"), "{e}");
        // Also as an upload.
        let bytes = std::fs::read(&path).unwrap();
        let p = read_bytes("up.gpkg", &bytes, 512 << 20).unwrap_err();
        assert!(format!("{p:?}").contains("is a view"), "{p:?}");
    }

    #[test]
    fn a_runaway_query_is_stopped_by_the_step_budget() {
        let d = tempfile::tempdir().unwrap();
        let path = gpkg_then(d.path(), "");
        let db = open_untrusted(&path, 1000, 1 << 30).unwrap();
        let e = db
            .query_row(
                "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) \
                 SELECT count(*) FROM c",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_err();
        assert!(sql_message(&e).contains("budget"), "{e}");
        // A string longer than the cap cannot be made.
        let db = open_untrusted(&path, 1000, 1 << 20).unwrap();
        assert!(
            db.query_row("SELECT length(zeroblob(4000000))", [], |r| r
                .get::<_, i64>(0))
                .is_err()
        );
    }

    #[test]
    fn reading_stops_once_the_geojson_passes_the_cap() {
        let d = tempfile::tempdir().unwrap();
        // A long column name, stored once, is written into every feature's properties.
        let long = "n".repeat(2000);
        let path = gpkg_then(
            d.path(),
            &format!(
                "ALTER TABLE grids ADD COLUMN {long} TEXT;
                 WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 500)
                 INSERT INTO grids (geom, id) SELECT (SELECT geom FROM grids), 'G' || n FROM c;"
            ),
        );
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len < 200_000, "{len}");
        let e = read_err(&path, 200_000);
        assert!(e.contains("input cap"), "{e}");
        assert!(read(&path, 10 << 20).is_ok());
    }

    #[test]
    fn a_text_primary_key_is_a_property() {
        let d = tempfile::tempdir().unwrap();
        let path = gpkg_then(
            d.path(),
            "CREATE TABLE t2 (id TEXT PRIMARY KEY, geom MULTIPOLYGON, name TEXT);
             INSERT INTO t2 SELECT 'G7', geom, 'x' FROM grids;
             DROP TABLE grids; ALTER TABLE t2 RENAME TO grids;",
        );
        let out: Value = serde_json::from_slice(&read(&path, 1 << 30).unwrap()).unwrap();
        assert_eq!(out["features"][0]["properties"]["id"], "G7", "{out}");
        assert_eq!(out["features"][0]["properties"]["name"], "x");
        // A single INTEGER PRIMARY KEY stays the feature id.
        let d = tempfile::tempdir().unwrap();
        let path = gpkg_then(d.path(), "");
        let out: Value = serde_json::from_slice(&read(&path, 1 << 30).unwrap()).unwrap();
        assert!(
            out["features"][0]["properties"].get("fid").is_none(),
            "{out}"
        );
    }

    #[test]
    fn a_wal_geopackage_is_read_without_leaving_files() {
        let d = tempfile::tempdir().unwrap();
        let path = gpkg_then(d.path(), "PRAGMA journal_mode = WAL;");
        let mode: String = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        for s in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", path.display()));
        }
        read(&path, 1 << 30).unwrap();
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["grids.gpkg"]);
    }

    #[test]
    fn blobs_decode_into_geojson_and_collections_are_named() {
        let mp: geo::Geometry =
            geo::Geometry::MultiPolygon(geo::MultiPolygon(vec![geo::Polygon::new(
                geo::LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
                vec![geo::LineString::from(vec![
                    (0.2, 0.1),
                    (0.8, 0.1),
                    (0.8, 0.7),
                    (0.2, 0.1),
                ])],
            )]));
        let mp_blob = mp
            .to_gpkg_wkb(CoordDimensions::xy(), Some(4326), vec![0.0, 1.0, 0.0, 1.0])
            .unwrap();
        let v = geometry_value(&mp_blob).unwrap();
        assert_eq!(v["type"], "MultiPolygon");
        assert_eq!(v["coordinates"][0][1][2], json!([0.8, 0.7]));
        let gc = geo::Geometry::GeometryCollection(geo::GeometryCollection(vec![mp]));
        let blob = gc
            .to_gpkg_wkb(CoordDimensions::xy(), Some(4326), vec![])
            .unwrap();
        assert_eq!(geometry_value(&blob).unwrap()["type"], "GeometryCollection");
        // A blob cut short is an error, not a crash.
        assert!(geometry_value(&mp_blob[..mp_blob.len() / 2]).is_err());
        assert!(geometry_value(b"GP").is_err());
    }
}
