//! GeoPackage (`.gpkg`) and Shapefile (`.shp`) layers, read and written wherever GeoJSON and FlatGeobuf
//! are. Every dependency on these formats lives in this module.
//!
//! **Library choice.** Shapefiles go through the `shapefile` crate (with `dbase` for the `.dbf`), and
//! GeoPackages through the `rusqlite` gridplan already uses, their geometries encoded and decoded by
//! `geozero`'s WKB reader and writer (already used for FlatGeobuf). GDAL's bindings would add `libgdal-dev`
//! (hundreds of packages) to every build for two formats whose structure is small; GDAL stays the judge in
//! the tests instead (`ogrinfo`, `ogr2ogr`).
//!
//! **Reading** turns a layer into the GeoJSON FeatureCollection it holds (as [`crate::input::fgb`] does for
//! FlatGeobuf), so every reader validates it feature by feature with the same messages: `feature N` is the
//! N-th feature of the layer, counted from 0. The layer's CRS (a Shapefile's `.prj`, a GeoPackage's
//! `srs_id`) becomes the collection's `crs` member; a layer with none is read in `--crs`, else WGS84.
//!
//! **Writing** takes the features the GeoJSON writer would write (geometries already in the output CRS,
//! rounded and valid) and writes them as one layer.

pub mod gpkg;
pub mod prj;
pub mod shp;

use crate::error::{Error, Result};
use crate::problem::Problem;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

/// A GIS format of this module, chosen by the file name's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GisFormat {
    /// `.gpkg`: an OGC GeoPackage (SQLite).
    GeoPackage,
    /// `.shp` (with its `.shx`, `.dbf`, `.prj` and `.cpg`): an ESRI Shapefile.
    Shapefile,
}

/// The format of `path` by its extension (any case), when it is one of this module's.
pub fn gis_format(path: &Path) -> Option<GisFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "gpkg" => Some(GisFormat::GeoPackage),
        "shp" => Some(GisFormat::Shapefile),
        _ => None,
    }
}

/// Reads the layer at `path` as the GeoJSON FeatureCollection it holds (UTF-8 JSON text), refusing a
/// layer larger than `cap` bytes on disk.
pub fn read_as_geojson(path: &Path, format: GisFormat, cap: u64) -> Result<Vec<u8>> {
    match format {
        GisFormat::GeoPackage => gpkg::read(path, cap),
        GisFormat::Shapefile => shp::read(path, cap),
    }
}

/// The text encoding of a Shapefile's `.dbf`, as its `.cpg` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8: what gridplan writes by default, and what QGIS and GDAL read a `.cpg` of `UTF-8` as.
    #[default]
    Utf8,
    /// GBK (code page 936), for older ArcGIS versions that read nothing else.
    Gbk,
    /// GB18030 (read only).
    Gb18030,
}

impl TextEncoding {
    /// The encoding a `.cpg` file (or `--encoding`) names: `UTF-8` (`UTF8`, `65001`, and `ASCII`, which is
    /// a part of it), `GBK` (`CP936`, `936`, `ANSI 936`, `MS936`, `GB2312`, which GBK contains) or
    /// `GB18030` (`54936`), in any case. `None` for any other name.
    pub fn from_name(name: &str) -> Option<TextEncoding> {
        let n = name
            .trim()
            .trim_start_matches('\u{feff}')
            .to_ascii_uppercase()
            .replace(['_', ' '], "-");
        match n.as_str() {
            "UTF-8" | "UTF8" | "65001" | "ASCII" | "US-ASCII" => Some(TextEncoding::Utf8),
            "GBK" | "CP936" | "936" | "ANSI-936" | "MS936" | "WINDOWS-936" | "GB2312"
            | "EUC-CN" | "CP-936" => Some(TextEncoding::Gbk),
            "GB18030" | "54936" | "GB-18030" => Some(TextEncoding::Gb18030),
            _ => None,
        }
    }

    /// What a `.cpg` written in this encoding says (what GDAL writes for it).
    pub fn cpg_name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Gbk => "GBK",
            TextEncoding::Gb18030 => "GB18030",
        }
    }

    pub(crate) fn encoding(self) -> &'static encoding_rs::Encoding {
        match self {
            TextEncoding::Utf8 => encoding_rs::UTF_8,
            TextEncoding::Gbk => encoding_rs::GBK,
            TextEncoding::Gb18030 => encoding_rs::GB18030,
        }
    }

    /// Parses `--encoding`: the encodings gridplan writes a Shapefile in, UTF-8 or GBK.
    pub fn parse_written(name: &str) -> std::result::Result<TextEncoding, String> {
        match TextEncoding::from_name(name) {
            Some(e @ (TextEncoding::Utf8 | TextEncoding::Gbk)) => Ok(e),
            _ => Err(format!(
                "gridplan writes Shapefiles in UTF-8 (the default) or GBK (for older ArcGIS), not \"{}\"",
                name.trim()
            )),
        }
    }
}

/// The encoding Shapefiles are written in, for the whole process (`--encoding`).
static WRITTEN_ENCODING: AtomicU8 = AtomicU8::new(0);

/// Sets the encoding Shapefiles are written in (the command line's `--encoding`).
pub fn set_shapefile_encoding(e: TextEncoding) {
    WRITTEN_ENCODING.store(
        match e {
            TextEncoding::Utf8 => 0,
            TextEncoding::Gbk => 1,
            TextEncoding::Gb18030 => 2,
        },
        Ordering::Relaxed,
    );
}

/// The encoding Shapefiles are written in.
pub fn shapefile_encoding() -> TextEncoding {
    match WRITTEN_ENCODING.load(Ordering::Relaxed) {
        1 => TextEncoding::Gbk,
        2 => TextEncoding::Gb18030,
        _ => TextEncoding::Utf8,
    }
}

/// The separator of a list (such as an assignment's `workers`) written into one Shapefile text field.
pub const LIST_SEPARATOR: &str = ";";

/// The Shapefile field name of each gridplan property longer than a `.dbf` field name may be (10
/// characters). Every other property keeps its name. Reading, each short name (and GDAL's truncation to
/// 10 characters, where it differs) reads as the property, and a field named as a property in another
/// case (`CODE`, `Name`) reads as that property.
pub const SHORT_NAMES: &[(&str, &str)] = &[
    ("bounds_description", "bounds_dsc"),
    ("cadre_responsible", "cadre_resp"),
    ("community_kind", "comm_kind"),
    ("compactness", "compact"),
    ("elderly_alone", "elderly_al"),
    ("key_persons", "key_person"),
    ("population_alert", "pop_alert"),
    ("previous_grids", "prev_grids"),
    ("primary_worker", "primary_wk"),
    ("responsible", "responsibl"),
    ("staffing_policy", "staff_pol"),
    ("workload_hours", "work_hours"),
];

/// Every property name gridplan reads or writes, so that a `.dbf` field named as one of them in
/// another case reads as it.
const PROPERTY_NAMES: &[&str] = &[
    "area_m2",
    "building",
    "buildings",
    "class",
    "code",
    "community",
    "entrance",
    "households",
    "hours",
    "id",
    "kind",
    "last_seq",
    "level",
    "max",
    "min",
    "name",
    "parent",
    "place_code",
    "population",
    "rank",
    "seq",
    "status",
    "town",
    "type",
    "unit",
    "valid_from",
    "valid_to",
    "vulnerable",
    "workers",
];

/// The `.dbf` field name of property `name`: its short name, or the name itself when it fits; any other
/// name longer than 10 bytes is cut to 10 (at a character boundary). Names are made unique by the
/// caller ([`unique_field_names`]).
pub fn field_name(name: &str) -> String {
    if let Some((_, short)) = SHORT_NAMES.iter().find(|(long, _)| *long == name) {
        return (*short).to_string();
    }
    cut_to_bytes(name, 10).to_string()
}

/// The `.dbf` field names of `names`, in order: [`field_name`] each, a repeated one ending in `_2`,
/// `_3`… within 10 bytes.
pub fn unique_field_names(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for n in names {
        let base = field_name(n);
        let mut name = base.clone();
        let mut k = 2;
        while out.iter().any(|o| o.eq_ignore_ascii_case(&name)) {
            let suffix = format!("_{k}");
            name = format!("{}{suffix}", cut_to_bytes(&base, 10 - suffix.len()));
            k += 1;
        }
        out.push(name);
    }
    out
}

/// The gridplan property a `.dbf` field (or a GeoPackage column) named `field` holds: the long name of
/// a short name or of GDAL's 10-character truncation, a property's own name in any case, else `field`.
pub fn property_name(field: &str) -> String {
    let lower = field.to_ascii_lowercase();
    // A property's own name first: GDAL's truncation of `population_alert` is `population`.
    if PROPERTY_NAMES.contains(&lower.as_str())
        || SHORT_NAMES.iter().any(|(long, _)| *long == lower)
    {
        return lower;
    }
    if let Some((long, _)) = SHORT_NAMES
        .iter()
        .find(|(long, short)| *short == lower || cut_to_bytes(long, 10) == lower)
    {
        return (*long).to_string();
    }
    field.to_string()
}

/// `s` cut to at most `n` bytes, at a character boundary.
pub(crate) fn cut_to_bytes(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A layer to write: its features (GeoJSON, geometries in `crs`).
pub struct Layer<'a> {
    pub name: &'a str,
    pub features: &'a [Value],
}

/// Writes `layers` (the first is the layer proper; a GeoPackage also holds the others, such as the
/// retired grids, as tables of their own) to `path`, in `crs` (an EPSG code). A Shapefile holds one
/// layer, so each other layer is written beside it as a Shapefile of its own
/// ([`companion_shapefile`]: `grids.shp` → `grids_retired.shp`).
pub fn write(path: &Path, format: GisFormat, crs: u32, layers: &[Layer]) -> Result<()> {
    match format {
        GisFormat::GeoPackage => gpkg::write(path, crs, layers),
        GisFormat::Shapefile => {
            let encoding = shapefile_encoding();
            match layers.split_first() {
                Some((layer, others)) => {
                    shp::write(path, crs, layer.features, encoding)?;
                    for other in others {
                        shp::write(
                            &companion_shapefile(path, other.name),
                            crs,
                            other.features,
                            encoding,
                        )?;
                    }
                    Ok(())
                }
                None => shp::write(path, crs, &[], encoding),
            }
        }
    }
}

/// The Shapefile beside `path` that holds its layer `name`: `<stem>_retired.shp` for the retired
/// grids, `<stem>_<name>.shp` for any other.
pub fn companion_shapefile(path: &Path, name: &str) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let suffix = if name == gpkg::RETIRED_LAYER {
        "retired"
    } else {
        name
    };
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "shp".into());
    path.with_file_name(format!("{stem}_{suffix}.{ext}"))
}

/// Refuses, before any work, a layer that cannot be written to `path` in `crs`: a Shapefile's `.prj`
/// is written for WGS84, CGCS2000 and its Gauss–Krüger zones only.
pub fn check_target(path: &Path, crs: u32) -> Result<()> {
    if gis_format(path) == Some(GisFormat::Shapefile) && prj::esri_wkt(crs).is_none() {
        let m = crate::lang::messages::msg!(ShapefileCrs, crs = crs);
        return Err(Error::OutputName {
            path: path.to_path_buf(),
            message: m.text(crate::lang::Lang::En),
            message_zh: m.text(crate::lang::Lang::Zh),
        });
    }
    Ok(())
}

/// A GeoJSON geometry value as a `geo` geometry (for writing); `None` for a null geometry.
pub(crate) fn geometry_of(feature: &Value) -> std::result::Result<Option<geo::Geometry>, String> {
    let Some(g) = feature.get("geometry").filter(|g| !g.is_null()) else {
        return Ok(None);
    };
    let g: geojson::Geometry = serde_json::from_value(g.clone()).map_err(|e| e.to_string())?;
    let g: geo::Geometry = g.try_into().map_err(|e: geojson::Error| e.to_string())?;
    Ok(Some(g))
}

/// The start of a collection in `crs` (none: no `crs` member).
pub(crate) fn collection_head(crs: Option<u32>) -> String {
    let mut head = String::from("{\"type\":\"FeatureCollection\",");
    if let Some(code) = crs.filter(|&c| c != 4326) {
        head.push_str(&format!(
            "\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{code}\"}}}},"
        ));
    }
    head.push_str("\"features\":[\n");
    head
}

/// An error naming `file` (and nothing deeper).
pub(crate) fn invalid(file: &str, message: impl Into<crate::problem::Said>) -> Error {
    Error::Invalid(vec![Problem::error(file, message)])
}

/// Refuses a file (or set of files) larger than `cap` bytes on disk, naming the flag that raises it.
pub(crate) fn check_size(file: &str, bytes: u64, cap: u64) -> Result<()> {
    if bytes > cap {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let cap_mb = cap / (1024 * 1024);
        return Err(invalid(
            file,
            format!(
                "is {:.1} MiB, past the input cap of {cap_mb} MiB (--max-input-mb {cap_mb}); pass a \
                 larger --max-input-mb to read it",
                mib(bytes)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retired_grids_are_written_beside_a_shapefile() {
        let d = tempfile::tempdir().unwrap();
        let square = |id: &str| {
            serde_json::json!({"type": "Feature", "properties": {"id": id}, "geometry":
                {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}})
        };
        let (grids, retired) = ([square("G1")], [square("G0"), square("G00")]);
        let path = d.path().join("grids.shp");
        write(
            &path,
            GisFormat::Shapefile,
            4326,
            &[
                Layer {
                    name: "grids",
                    features: &grids,
                },
                Layer {
                    name: gpkg::RETIRED_LAYER,
                    features: &retired,
                },
            ],
        )
        .unwrap();
        let beside = d.path().join("grids_retired.shp");
        assert_eq!(companion_shapefile(&path, gpkg::RETIRED_LAYER), beside);
        let read = |p: &Path| -> Value {
            serde_json::from_slice(&shp::read(p, 1 << 30).unwrap()).unwrap()
        };
        assert_eq!(read(&path)["features"].as_array().unwrap().len(), 1);
        let r = read(&beside);
        assert_eq!(r["features"].as_array().unwrap().len(), 2);
        assert_eq!(r["features"][1]["properties"]["id"], "G00");
    }

    #[test]
    fn every_short_name_fits_and_reads_back() {
        let mut seen = std::collections::HashSet::new();
        for (long, short) in SHORT_NAMES {
            assert!(short.len() <= 10, "{short}");
            assert!(long.len() > 10, "{long} needs no short name");
            assert!(seen.insert(*short), "{short} twice");
            assert_eq!(field_name(long), *short);
            assert_eq!(property_name(short), *long);
            assert_eq!(property_name(&short.to_ascii_uppercase()), *long);
            // GDAL's own truncation (ogr2ogr's laundering) reads back too, unless it is a property's
            // own name (`population_alert` → `population`).
            let cut = cut_to_bytes(long, 10);
            if PROPERTY_NAMES.contains(&cut) {
                assert_eq!(property_name(cut), cut);
            } else {
                assert_eq!(property_name(cut), *long);
            }
            assert_eq!(property_name(long), *long);
        }
        for p in PROPERTY_NAMES {
            assert!(p.len() <= 10, "{p}");
            assert!(!seen.contains(p), "{p} is also a short name");
            assert_eq!(property_name(&p.to_ascii_uppercase()), *p);
        }
        assert_eq!(property_name("户数"), "户数");
    }

    #[test]
    fn field_names_are_unique_within_ten_bytes() {
        let names: Vec<String> = [
            "population",
            "population_x",
            "a_very_long_name",
            "a_very_long_nam2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let f = unique_field_names(&names);
        assert_eq!(f[0], "population");
        assert_eq!(f[1], "populati_2");
        assert!(f.iter().all(|n| n.len() <= 10), "{f:?}");
        let set: std::collections::HashSet<_> = f.iter().collect();
        assert_eq!(set.len(), 4, "{f:?}");
        assert_eq!(
            unique_field_names(&["名称很长的字段名".to_string()])[0],
            "名称很"
        );
    }

    #[test]
    fn encodings_are_named_as_cpg_files_name_them() {
        for (name, e) in [
            ("UTF-8", TextEncoding::Utf8),
            ("utf8\n", TextEncoding::Utf8),
            ("\u{feff}GBK", TextEncoding::Gbk),
            ("CP936", TextEncoding::Gbk),
            ("936", TextEncoding::Gbk),
            ("ANSI 936", TextEncoding::Gbk),
            ("gb18030", TextEncoding::Gb18030),
        ] {
            assert_eq!(TextEncoding::from_name(name), Some(e), "{name}");
        }
        assert_eq!(TextEncoding::from_name("BIG5"), None);
        assert_eq!(TextEncoding::from_name("LATIN1"), None);
        assert!(TextEncoding::parse_written("GB18030").is_err());
        assert_eq!(TextEncoding::parse_written("gbk"), Ok(TextEncoding::Gbk));
    }
}
