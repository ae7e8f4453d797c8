//! CRS definitions in well-known text: a Shapefile's `.prj` (ESRI's dialect, as ArcGIS and GDAL write it)
//! and a GeoPackage's `gpkg_spatial_ref_sys.definition` (OGC WKT 1), written for the CRSs gridplan names
//! (WGS84, CGCS2000 and its Gauss–Krüger zones), and told back as an EPSG code when read: by the EPSG
//! authority the text names, else by its name, looked up among those and then in PROJ's own database
//! (`proj.db`, which knows every EPSG name and ESRI's alias of each).

use std::path::PathBuf;

/// The parameters of a CRS gridplan writes definitions for.
struct Known {
    code: u32,
    /// EPSG's name.
    name: String,
    /// ESRI's name.
    esri: String,
    /// Transverse Mercator on CGCS2000: (central meridian, false easting); `None`: geographic.
    tm: Option<(u32, u32)>,
}

fn known(code: u32) -> Option<Known> {
    let gk = |esri: String, name: String, cm: u32, fe: u32| Known {
        code,
        name,
        esri,
        tm: Some((cm, fe)),
    };
    match code {
        4326 => Some(Known {
            code,
            name: "WGS 84".into(),
            esri: "GCS_WGS_1984".into(),
            tm: None,
        }),
        4490 => Some(Known {
            code,
            name: "China Geodetic Coordinate System 2000".into(),
            esri: "GCS_China_Geodetic_Coordinate_System_2000".into(),
            tm: None,
        }),
        // 6-degree zones 13–23, the zone number in the false easting.
        4491..=4501 => {
            let zone = code - 4491 + 13;
            Some(gk(
                format!("CGCS2000_GK_Zone_{zone}"),
                format!("CGCS2000 / Gauss-Kruger zone {zone}"),
                75 + (zone - 13) * 6,
                zone * 1_000_000 + 500_000,
            ))
        }
        // 6-degree zones by central meridian, 75°E–135°E.
        4502..=4512 => {
            let cm = 75 + (code - 4502) * 6;
            Some(gk(
                format!("CGCS2000_GK_CM_{cm}E"),
                format!("CGCS2000 / Gauss-Kruger CM {cm}E"),
                cm,
                500_000,
            ))
        }
        // 3-degree zones 25–45, the zone number in the false easting.
        4513..=4533 => {
            let zone = code - 4513 + 25;
            Some(gk(
                format!("CGCS2000_3_Degree_GK_Zone_{zone}"),
                format!("CGCS2000 / 3-degree Gauss-Kruger zone {zone}"),
                75 + (zone - 25) * 3,
                zone * 1_000_000 + 500_000,
            ))
        }
        // 3-degree zones by central meridian, 75°E–135°E.
        4534..=4554 => {
            let cm = 75 + (code - 4534) * 3;
            Some(gk(
                format!("CGCS2000_3_Degree_GK_CM_{cm}E"),
                format!("CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"),
                cm,
                500_000,
            ))
        }
        _ => None,
    }
}

/// The `.prj` text (ESRI WKT) of `code`, for the CRSs gridplan writes Shapefiles in.
pub fn esri_wkt(code: u32) -> Option<String> {
    let k = known(code)?;
    const CGCS2000: &str = "GEOGCS[\"GCS_China_Geodetic_Coordinate_System_2000\",DATUM[\"D_China_2000\",\
        SPHEROID[\"CGCS2000\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],\
        UNIT[\"Degree\",0.0174532925199433]]";
    Some(match (code, k.tm) {
        (4326, _) => {
            "GEOGCS[\"GCS_WGS_1984\",DATUM[\"D_WGS_1984\",SPHEROID[\"WGS_1984\",6378137.0,\
            298.257223563]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]"
                .to_string()
        }
        (_, None) => CGCS2000.to_string(),
        (_, Some((cm, fe))) => format!(
            "PROJCS[\"{}\",{CGCS2000},PROJECTION[\"Gauss_Kruger\"],PARAMETER[\"False_Easting\",{fe}.0],\
             PARAMETER[\"False_Northing\",0.0],PARAMETER[\"Central_Meridian\",{cm}.0],\
             PARAMETER[\"Scale_Factor\",1.0],PARAMETER[\"Latitude_Of_Origin\",0.0],UNIT[\"Meter\",1.0]]",
            k.esri
        ),
    })
}

/// The OGC WKT 1 of `code` (with its EPSG authority), for a GeoPackage's `gpkg_spatial_ref_sys`.
pub fn ogc_wkt(code: u32) -> Option<String> {
    let k = known(code)?;
    let auth = |c: u32| format!("AUTHORITY[\"EPSG\",\"{c}\"]");
    let geog = |name: &str, datum: &str, spheroid: &str, inv_f: &str, s: u32, d: u32, g: u32| {
        format!(
            "GEOGCS[\"{name}\",DATUM[\"{datum}\",SPHEROID[\"{spheroid}\",6378137,{inv_f},{}],{}],\
             PRIMEM[\"Greenwich\",0,{}],UNIT[\"degree\",0.0174532925199433,{}],{}]",
            auth(s),
            auth(d),
            auth(8901),
            auth(9122),
            auth(g)
        )
    };
    let cgcs2000 = || {
        geog(
            "China Geodetic Coordinate System 2000",
            "China_2000",
            "CGCS2000",
            "298.257222101",
            1024,
            1043,
            4490,
        )
    };
    Some(match (code, k.tm) {
        (4326, _) => geog(
            "WGS 84",
            "WGS_1984",
            "WGS 84",
            "298.257223563",
            7030,
            6326,
            4326,
        ),
        (_, None) => cgcs2000(),
        (_, Some((cm, fe))) => format!(
            "PROJCS[\"{}\",{},PROJECTION[\"Transverse_Mercator\"],PARAMETER[\"latitude_of_origin\",0],\
             PARAMETER[\"central_meridian\",{cm}],PARAMETER[\"scale_factor\",1],\
             PARAMETER[\"false_easting\",{fe}],PARAMETER[\"false_northing\",0],\
             UNIT[\"metre\",1,{}],{}]",
            k.name,
            cgcs2000(),
            auth(9001),
            auth(k.code)
        ),
    })
}

/// The EPSG name of `code` when gridplan writes definitions for it.
pub fn epsg_name(code: u32) -> Option<String> {
    known(code).map(|k| k.name)
}

/// The root of a WKT text: its keyword, its name, and the EPSG code its own authority gives
/// (`AUTHORITY["EPSG","4549"]` in WKT 1, `ID["EPSG",4549]` in WKT 2), when it gives one.
fn root(wkt: &str) -> Option<(String, String, Option<u32>)> {
    let wkt = wkt.trim().trim_start_matches('\u{feff}');
    let open = wkt.find(['[', '('])?;
    let keyword = wkt[..open].trim().to_ascii_uppercase();
    let rest = &wkt[open + 1..];
    let name_start = rest.find('"')? + 1;
    let name_len = rest[name_start..].find('"')?;
    let name = rest[name_start..name_start + name_len].to_string();
    // The children at depth 1 (directly under the root): the last AUTHORITY or ID among them.
    let mut depth = 1usize;
    let mut code = None;
    let mut in_quote = false;
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            in_quote = !in_quote;
        } else if !in_quote {
            match b {
                b'[' | b'(' => depth += 1,
                b']' | b')' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b',' if depth == 1 => {
                    let child = rest[i + 1..].trim_start();
                    let upper = child.get(..10).unwrap_or(child).to_ascii_uppercase();
                    if upper.starts_with("AUTHORITY") || upper.starts_with("ID[") {
                        code = authority_code(child).or(code);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    Some((keyword, name, code))
}

/// The code of `AUTHORITY["EPSG","4549"]` or `ID["EPSG",4549]` at the start of `s`.
fn authority_code(s: &str) -> Option<u32> {
    let open = s.find(['[', '('])?;
    let close = s.find([']', ')'])?;
    let inner = s.get(open + 1..close)?;
    let mut parts = inner.split(',').map(|p| p.trim().trim_matches('"'));
    let auth = parts.next()?;
    if !auth.eq_ignore_ascii_case("EPSG") {
        return None;
    }
    parts.next()?.parse().ok()
}

/// The EPSG code of a CRS given as WKT (a `.prj`, a GeoPackage's definition), or why it cannot be told.
pub fn identify(wkt: &str) -> Result<u32, String> {
    let (keyword, name, code) = root(wkt).ok_or_else(|| {
        "not a CRS in well-known text (it should start like GEOGCS[\"…\" or PROJCS[\"…\")"
            .to_string()
    })?;
    if let Some(code) = code {
        return Ok(code);
    }
    let geographic = keyword.starts_with("GEOG");
    // gridplan's own names, then PROJ's database.
    let own = [4326, 4490].into_iter().chain(4491..=4554).find(|&c| {
        known(c).is_some_and(|k| {
            same_name(&k.esri, &name) || same_name(&k.name, &name) || {
                // GEOGCS names of the datum alone ("GCS_WGS_1984" / "WGS 84").
                geographic && c == 4326 && same_name("WGS_1984", &name)
            }
        })
    });
    if let Some(c) = own {
        return Ok(c);
    }
    if let Some(c) = proj_db_lookup(&name) {
        return Ok(c);
    }
    Err(format!(
        "the CRS \"{name}\" has no EPSG code gridplan can tell (neither the text nor PROJ's database \
         names one); write the layer again in an EPSG CRS (ogr2ogr -t_srs EPSG:4490 …), or delete the \
         definition and name the CRS with --crs EPSG:NNNN"
    ))
}

/// Names equal but for case and the underscores ESRI writes for spaces.
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace(['_', ' ', '-'], "").to_ascii_lowercase();
    norm(a) == norm(b)
}

/// Where PROJ's database is: `PROJ_DATA` or `PROJ_LIB` when set, else where Debian and most systems
/// install it.
fn proj_db() -> Option<PathBuf> {
    let from_env = ["PROJ_DATA", "PROJ_LIB"]
        .into_iter()
        .filter_map(std::env::var_os)
        .flat_map(|v| std::env::split_paths(&v).collect::<Vec<_>>());
    from_env
        .chain(["/usr/share/proj", "/usr/local/share/proj"].map(PathBuf::from))
        .map(|d| d.join("proj.db"))
        .find(|p| p.is_file())
}

/// The EPSG code of a CRS named `name` (EPSG's name or an alias, ESRI's included) in PROJ's database.
fn proj_db_lookup(name: &str) -> Option<u32> {
    let path = proj_db()?;
    let db = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    let spaced = name.replace('_', " ");
    let query = "SELECT code FROM projected_crs WHERE auth_name = 'EPSG' AND (name = ?1 OR name = ?2) \
         AND NOT deprecated \
         UNION ALL SELECT code FROM geodetic_crs WHERE auth_name = 'EPSG' AND (name = ?1 OR name = ?2) \
         AND NOT deprecated AND type = 'geographic 2D' \
         UNION ALL SELECT code FROM alias_name WHERE auth_name = 'EPSG' \
         AND table_name IN ('projected_crs', 'geodetic_crs') AND (alt_name = ?1 OR alt_name = ?2)";
    let mut stmt = db.prepare(query).ok()?;
    let code: Option<String> = stmt
        .query_row([name, spaced.as_str()], |row| {
            row.get::<_, rusqlite::types::Value>(0).map(|v| match v {
                rusqlite::types::Value::Integer(i) => i.to_string(),
                rusqlite::types::Value::Text(t) => t,
                _ => String::new(),
            })
        })
        .ok();
    code?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_definitions_are_told_back() {
        for code in [
            4326u32, 4490, 4491, 4501, 4502, 4512, 4513, 4533, 4534, 4549, 4554,
        ] {
            let esri = esri_wkt(code).expect("esri");
            assert_eq!(identify(&esri), Ok(code), "{esri}");
            let ogc = ogc_wkt(code).expect("ogc");
            assert_eq!(identify(&ogc), Ok(code), "{ogc}");
        }
        assert!(esri_wkt(3857).is_none());
    }

    #[test]
    fn the_names_are_those_proj_gives() {
        // PROJ's database, when installed, names every zone as gridplan does (EPSG and ESRI names).
        let Some(path) = proj_db() else { return };
        let db = rusqlite::Connection::open(path).expect("proj.db");
        for code in 4491u32..=4554 {
            let k = known(code).expect("known");
            let esri: String = db
                .query_row(
                    "SELECT alt_name FROM alias_name WHERE table_name = 'projected_crs' AND \
                     auth_name = 'EPSG' AND code = ?1 AND source = 'ESRI'",
                    [code.to_string()],
                    |r| r.get(0),
                )
                .expect("esri alias");
            assert_eq!(esri, k.esri, "{code}");
            assert_eq!(proj_db_lookup(&k.esri), Some(code));
        }
        // A CRS gridplan writes no definition for, found by its ESRI name: Xian 1980 / 3-degree GK CM 117E.
        assert_eq!(proj_db_lookup("Xian_1980_3_Degree_GK_CM_117E"), Some(2384));
    }

    #[test]
    fn authorities_and_unknown_names() {
        let wkt =
            "PROJCS[\"x\",GEOGCS[\"y\",AUTHORITY[\"EPSG\",\"4490\"]],AUTHORITY[\"EPSG\",\"4549\"]]";
        assert_eq!(identify(wkt), Ok(4549));
        let wkt2 = "PROJCRS[\"x\",BASEGEOGCRS[\"y\",ID[\"EPSG\",4490]],ID[\"EPSG\",4547]]";
        assert_eq!(identify(wkt2), Ok(4547));
        let e = identify("PROJCS[\"My_Local_Grid\",GEOGCS[\"z\"]]").unwrap_err();
        assert!(e.contains("My_Local_Grid"), "{e}");
        assert!(identify("garbage").is_err());
    }
}
