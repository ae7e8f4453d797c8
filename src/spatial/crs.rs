//! Coordinate reference systems: naming them, choosing the metric working CRS, and reprojecting with PROJ.
//!
//! Every input file is read in its own CRS (named by `--crs`, else by a legacy `crs` member, else WGS84,
//! as RFC 7946 says) and reprojected into one **working CRS** in metres, where all distances and areas are
//! computed. The working CRS is the CRS of the boundaries when they are projected; otherwise it is the
//! CGCS2000 3-degree Gauss–Krüger zone (EPSG:4534–4554) whose central meridian is nearest the boundaries'
//! mean longitude, which keeps scale error below 0.04 % within a zone. Outputs go back to WGS84 unless
//! another output CRS is named (`--out-crs`: CGCS2000, one of its Gauss–Krüger zones, any CRS PROJ knows).

use crate::error::{Error, Result};
use geo::Coord;
use serde_json::Value;
use std::fmt;

/// An EPSG coordinate reference system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Crs(pub u32);

/// WGS84 longitude/latitude, the GeoJSON default.
pub const WGS84: Crs = Crs(4326);
/// CGCS2000 geographic, China's national datum.
pub const CGCS2000: Crs = Crs(4490);
/// GCJ-02, the offset lon/lat of Chinese web and phone maps (no EPSG code: a number of gridplan's own,
/// outside EPSG's range). Read only, converted to WGS84 by [`crate::spatial::webmap`].
pub const GCJ02: Crs = Crs(900_002);
/// BD-09, Baidu's offset of GCJ-02 (likewise).
pub const BD09: Crs = Crs(900_009);

/// Geographic (degree) CRSs recognised without asking PROJ; every other code is taken as projected metres.
const GEOGRAPHIC: &[u32] = &[4326, 4490, 4214, 4610, 4555, 4979, 4480, 4258, 4269];

impl Crs {
    /// Parses `EPSG:4549`, `urn:ogc:def:crs:EPSG::4549`, `http://www.opengis.net/def/crs/EPSG/0/4549`,
    /// `CRS84`/`urn:ogc:def:crs:OGC:1.3:CRS84` (WGS84), `WGS84`, `CGCS2000` (EPSG:4490), or `GCJ02` /
    /// `BD09` (Chinese web maps).
    pub fn parse(name: &str) -> Option<Crs> {
        let name = name.trim();
        let upper = name.to_ascii_uppercase();
        match upper.replace(['-', '_', ' '], "").as_str() {
            "GCJ02" => return Some(GCJ02),
            "BD09" | "BD09LL" => return Some(BD09),
            "WGS84" => return Some(WGS84),
            "CGCS2000" => return Some(CGCS2000),
            _ => {}
        }
        if upper.ends_with("CRS84") {
            return Some(WGS84);
        }
        let digits = upper
            .strip_prefix("EPSG:")
            .or_else(|| upper.rsplit_once("EPSG::").map(|(_, d)| d))
            .or_else(|| upper.rsplit_once("/EPSG/0/").map(|(_, d)| d))?;
        digits.parse::<u32>().ok().filter(|&c| c > 0).map(Crs)
    }

    /// Parses a CRS name (as [`Crs::parse`]) and makes sure PROJ knows it, learning whether it is
    /// geographic. The error says which name is unknown and why.
    pub fn known(name: &str) -> std::result::Result<Crs, String> {
        let crs = Crs::parse(name).ok_or_else(|| {
            format!(
                "unknown CRS name \"{}\"; use EPSG:NNNN, e.g. EPSG:4549",
                name.trim()
            )
        })?;
        crs.verify()?;
        Ok(crs)
    }

    /// Asks PROJ (once per code) whether it knows this CRS and whether it is geographic; the codes
    /// gridplan knows already (WGS84, CGCS2000 and its Gauss–Krüger zones) need no asking.
    pub fn verify(self) -> std::result::Result<(), String> {
        if GEOGRAPHIC.contains(&self.0) || (4491..=4554).contains(&self.0) || self.is_web_map() {
            return Ok(());
        }
        let learned = LEARNED.get_or_init(Default::default);
        if let Some(known) = learned
            .lock()
            .map(|m| m.get(&self.0).cloned())
            .ok()
            .flatten()
        {
            return known.map(|_| ());
        }
        let probed = probe(self);
        if let Ok(mut m) = learned.lock() {
            m.insert(self.0, probed.clone());
        }
        probed.map(|_| ())
    }

    /// Parses and verifies a CRS to write (`--out-crs`): any CRS PROJ knows, but not the Chinese
    /// web-map offsets, which gridplan reads and never writes.
    pub fn writable(name: &str) -> std::result::Result<Crs, String> {
        let crs = Crs::known(name)?;
        if crs.is_web_map() {
            return Err(format!(
                "{crs} is read (converted to WGS84), never written: write WGS84 (the default), \
                 CGCS2000 (EPSG:4490) or one of its Gauss–Krüger zones (EPSG:4491–4554)"
            ));
        }
        Ok(crs)
    }

    /// Whether the CRS's first axis points north in its EPSG definition: latitude first for the
    /// geographic CRSs, northing (X) first for the CGCS2000 Gauss–Krüger zones (EPSG:4491–4554). Files
    /// are written east first all the same (GeoJSON and GDAL order); OGC API – Features Part 2 answers
    /// in the CRS's own order.
    pub fn north_first(self) -> bool {
        !self.is_web_map() && (self.is_geographic() || (4491..=4554).contains(&self.0))
    }

    /// The CGCS2000 6-degree Gauss–Krüger zone (no zone prefix, EPSG:4502–4512) holding `lon`.
    pub fn gauss_kruger_6_for(lon: f64) -> Crs {
        let zone = ((lon / 6.0).floor() as i64 + 1).clamp(13, 23);
        Crs(4502 + (zone - 13) as u32)
    }

    /// The CGCS2000 3-degree zone with the zone number in its false easting (EPSG:4513–4533) of the
    /// central meridian nearest `lon`.
    pub fn gauss_kruger_zoned_for(lon: f64) -> Crs {
        Crs(Crs::gauss_kruger_for(lon).0 - 4534 + 4513)
    }

    /// The CGCS2000 6-degree zone with the zone number in its false easting (EPSG:4491–4501).
    pub fn gauss_kruger_6_zoned_for(lon: f64) -> Crs {
        Crs(Crs::gauss_kruger_6_for(lon).0 - 4502 + 4491)
    }

    /// Reads a legacy GeoJSON `crs` member: `{"type":"name","properties":{"name":"…"}}`.
    pub fn from_member(member: &Value) -> std::result::Result<Crs, String> {
        let name = member
            .get("properties")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                "the `crs` member has no properties.name; use {\"type\":\"name\",\"properties\":{\"name\":\"EPSG:4549\"}}"
                    .to_string()
            })?;
        Crs::known(name)
    }

    /// Whether coordinates are degrees: the codes gridplan knows, else what PROJ said when the CRS was
    /// verified ([`Crs::verify`]).
    /// GCJ-02 or BD-09: offset lon/lat, converted to WGS84 before PROJ sees them.
    pub fn is_web_map(self) -> bool {
        self == GCJ02 || self == BD09
    }

    pub fn is_geographic(self) -> bool {
        self.is_web_map()
            || GEOGRAPHIC.contains(&self.0)
            || LEARNED
                .get()
                .and_then(|m| m.lock().ok().and_then(|m| m.get(&self.0).cloned()))
                .is_some_and(|k| k == Ok(true))
    }

    /// The CGCS2000 3-degree Gauss–Krüger zone (no zone prefix) whose central meridian is nearest `lon`.
    pub fn gauss_kruger_for(lon: f64) -> Crs {
        let cm = ((lon / 3.0).round() * 3.0).clamp(75.0, 135.0);
        Crs(4534 + ((cm - 75.0) / 3.0) as u32)
    }

    /// Plausible coordinate ranges: degrees for geographic CRSs, metres for projected ones.
    /// Returns a message when `c` does not look like a coordinate of this CRS.
    pub fn implausible(self, c: Coord) -> Option<crate::lang::messages::Msg> {
        use crate::lang::messages::msg;
        if self.is_geographic() {
            if c.x.abs() > 180.0 || c.y.abs() > 90.0 {
                return Some(msg!(NotLonLat, x = c.x, y = c.y, crs = self));
            }
        } else if c.x.abs() <= 180.0 && c.y.abs() <= 90.0 {
            return Some(msg!(LooksLonLat, x = c.x, y = c.y, crs = self));
        }
        None
    }
}

/// What PROJ said of each code asked about: `Ok(geographic?)` or why it does not know it.
type Learned = std::sync::Mutex<std::collections::HashMap<u32, std::result::Result<bool, String>>>;
static LEARNED: std::sync::OnceLock<Learned> = std::sync::OnceLock::new();

/// Asks PROJ for a CRS: unknown → the error; known → whether it is geographic. A geographic CRS maps a
/// WGS84 point of its area of use to (nearly) the same longitude and latitude; a projected one to metres.
fn probe(crs: Crs) -> std::result::Result<bool, String> {
    let name = crs.to_string();
    // PROJ's own error text for an unknown code is "Unknown error (code 4096)": say it plainly instead.
    let unknown = |_| {
        format!(
            "PROJ does not know {name}: its database has no such CRS; name one it has, e.g. EPSG:4490 \
             (CGCS2000) or EPSG:4549 (CGCS2000 / 3-degree Gauss–Krüger CM 120E)"
        )
    };
    let object = proj::Proj::new(&name).map_err(unknown)?;
    let (west, south, east, north) = match object.area_of_use() {
        Ok((Some(a), _)) => (a.west, a.south, a.east, a.north),
        _ => (-180.0, -80.0, 180.0, 80.0),
    };
    let to = proj::Proj::new_known_crs("EPSG:4326", &name, None).map_err(unknown)?;
    // Two points of the area of use, neither at the origin (where a world-wide projection such as Web
    // Mercator maps (0°, 0°) to (0 m, 0 m)).
    let mut geographic = true;
    for share in [0.3, 0.7] {
        let (lon, lat) = (
            west + share * (east - west),
            south + share * (north - south),
        );
        let (x, y) = to
            .convert((lon, lat))
            .map_err(|e| format!("PROJ cannot place a point of {name}'s area of use: {e}"))?;
        geographic &= (x - lon).abs() < 1.0 && (y - lat).abs() < 1.0;
    }
    Ok(geographic)
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GCJ02 => f.write_str("GCJ02"),
            BD09 => f.write_str("BD09"),
            Crs(code) => write!(f, "EPSG:{code}"),
        }
    }
}

impl serde::Serialize for Crs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A PROJ transformation between two CRSs (axis order normalised to x = east/longitude, y = north/latitude).
pub struct Transform {
    from: Crs,
    to: Crs,
    /// GCJ-02 or BD-09 input: undone to WGS84 first.
    web_map: Option<Crs>,
    proj: Option<proj::Proj>,
}

impl Transform {
    /// Builds the transformation with PROJ; the identity when both CRSs are the same. GCJ-02 and BD-09
    /// are converted to WGS84 first ([`crate::spatial::webmap`]), then by PROJ; they cannot be written.
    pub fn new(from: Crs, to: Crs) -> Result<Transform> {
        if to.is_web_map() && from != to {
            return Err(Error::Crs(format!(
                "gridplan reads {to} but does not write it; write WGS84 or a CGCS2000 CRS"
            )));
        }
        let (web_map, proj_from) = if from.is_web_map() && from != to {
            (Some(from), WGS84)
        } else {
            (None, from)
        };
        let proj = if proj_from == to {
            None
        } else {
            Some(build_proj(proj_from, to)?)
        };
        Ok(Transform {
            from,
            to,
            web_map,
            proj,
        })
    }

    pub fn is_identity(&self) -> bool {
        self.proj.is_none() && self.web_map.is_none()
    }

    /// Transforms the coordinates in place.
    pub fn apply(&self, coords: &mut [Coord]) -> Result<()> {
        match self.web_map {
            Some(GCJ02) => coords
                .iter_mut()
                .for_each(|c| *c = crate::spatial::webmap::gcj02_to_wgs84(*c)),
            Some(_) => coords
                .iter_mut()
                .for_each(|c| *c = crate::spatial::webmap::bd09_to_wgs84(*c)),
            None => {}
        }
        let Some(proj) = &self.proj else {
            return Ok(());
        };
        // PROJ's array call stops at the first failure; go point by point only then, to name it.
        let mut pairs: Vec<(f64, f64)> = coords.iter().map(|c| (c.x, c.y)).collect();
        if proj.convert_array(&mut pairs).is_err() {
            for (i, c) in coords.iter().enumerate() {
                pairs[i] = proj.convert((c.x, c.y)).map_err(|e| {
                    Error::Crs(format!(
                        "PROJ cannot transform coordinate {i} ({}, {}) from {} to {}: {e}",
                        c.x, c.y, self.from, self.to
                    ))
                })?;
            }
        }
        for (c, (x, y)) in coords.iter_mut().zip(pairs) {
            if !x.is_finite() || !y.is_finite() {
                return Err(Error::Crs(format!(
                    "PROJ gave a non-finite result transforming ({}, {}) from {} to {}",
                    c.x, c.y, self.from, self.to
                )));
            }
            *c = Coord { x, y };
        }
        Ok(())
    }

    /// [`Transform::apply`] on every core for many coordinates: a PROJ object of its own per piece
    /// (PROJ objects are not shared between threads); the first error of a piece, as `apply` says it,
    /// with its place counted from the start of `coords`.
    pub fn apply_parallel(&self, coords: &mut [Coord]) -> Result<()> {
        use rayon::prelude::*;
        const MIN: usize = 50_000;
        let threads = rayon::current_num_threads();
        if self.is_identity() || threads < 2 || coords.len() < 2 * MIN {
            return self.apply(coords);
        }
        let piece = coords.len().div_ceil(threads);
        let (from, to) = (self.from, self.to);
        coords
            .par_chunks_mut(piece)
            .enumerate()
            .try_for_each(|(k, chunk)| {
                Transform::new(from, to)?.apply(chunk).map_err(|e| match e {
                    Error::Crs(m) => Error::Crs(renumber_coordinate(&m, k * piece)),
                    other => other,
                })
            })
    }

    /// Transforms one coordinate.
    pub fn point(&self, c: Coord) -> Result<Coord> {
        let mut one = [c];
        self.apply(&mut one)?;
        Ok(one[0])
    }
}

/// The PROJ object from `from` to `to`. Choosing the operation (a search of PROJ's database) costs
/// more than transforming a county's households (44 ms from WGS84 to EPSG:4549); the operation chosen
/// is kept as its pipeline string, where that string rebuilds it exactly (checked on probe points), and
/// later objects for the same pair, in any thread, are built from it.
fn build_proj(from: Crs, to: Crs) -> Result<proj::Proj> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PIPELINES: OnceLock<Mutex<HashMap<(Crs, Crs), String>>> = OnceLock::new();
    let pipelines = PIPELINES.get_or_init(Default::default);
    let known = pipelines
        .lock()
        .ok()
        .and_then(|m| m.get(&(from, to)).cloned());
    if let Some(p) = known.and_then(|d| proj::Proj::new(&d).ok()) {
        return Ok(p);
    }
    let chosen = proj::Proj::new_known_crs(&from.to_string(), &to.to_string(), None)
        .map_err(|e| Error::Crs(format!("PROJ cannot transform {from} to {to}: {e}")))?;
    // Probed with longitudes and latitudes: kept for geographic sources only (a projected one would
    // need points of its own domain, and PROJ prints a line for each point out of it).
    let kept = from.is_geographic().then(|| pipeline_of(&chosen)).flatten();
    if let (Some(d), Ok(mut m)) = (kept, pipelines.lock()) {
        m.insert((from, to), d);
    }
    Ok(chosen)
}

/// The pipeline string of a PROJ object from a geographic CRS, when an object built from it gives the
/// same results at points across China.
fn pipeline_of(chosen: &proj::Proj) -> Option<String> {
    let def = chosen.def().ok()?;
    if !def.trim_start_matches('+').starts_with("proj=pipeline") {
        return None;
    }
    let plus: Vec<String> = def
        .split_whitespace()
        .map(|t| format!("+{}", t.trim_start_matches('+')))
        .collect();
    let plus = plus.join(" ");
    let plain = proj::Proj::new(&plus).ok()?;
    let probes: [(f64, f64); 4] = [(118.8, 32.3), (104.1, 30.6), (87.6, 43.8), (126.6, 45.7)];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    let same = probes.iter().all(|&p| {
        let a: Result<(f64, f64), _> = chosen.convert(p);
        let b: Result<(f64, f64), _> = plain.convert(p);
        match (a, b) {
            (Ok(a), Ok(b)) => close(a.0, b.0) && close(a.1, b.1),
            (Err(_), Err(_)) => true,
            _ => false,
        }
    });
    same.then_some(plus)
}

/// A message of [`Transform::apply`] naming "coordinate i", with `i` counted `base` further on.
fn renumber_coordinate(message: &str, base: usize) -> String {
    let Some((head, tail)) = message.split_once("coordinate ") else {
        return message.to_string();
    };
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<usize>() {
        Ok(i) => format!("{head}coordinate {}{}", i + base, &tail[digits.len()..]),
        Err(_) => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_coordinates_on_every_core_come_out_as_on_one() {
        let t = Transform::new(WGS84, Crs(4549)).expect("transform");
        let coords: Vec<Coord> = (0..120_000)
            .map(|i| Coord {
                x: 118.0 + (i % 1000) as f64 * 1e-3,
                y: 32.0 + (i / 1000) as f64 * 1e-3,
            })
            .collect();
        let (mut one, mut all) = (coords.clone(), coords);
        t.apply(&mut one).expect("one");
        t.apply_parallel(&mut all).expect("all");
        assert_eq!(one, all);
        // Built again from the pipeline kept for the pair: the same numbers.
        let again = Transform::new(WGS84, Crs(4549)).expect("again");
        let p = again.point(Coord { x: 118.8, y: 32.3 }).expect("point");
        assert_eq!(p, t.point(Coord { x: 118.8, y: 32.3 }).expect("point"));
        assert_eq!(
            renumber_coordinate(
                "PROJ cannot transform coordinate 12 (1, 2) from A to B",
                60_000
            ),
            "PROJ cannot transform coordinate 60012 (1, 2) from A to B"
        );
    }

    #[test]
    fn parses_the_usual_spellings() {
        assert_eq!(Crs::parse("EPSG:4549"), Some(Crs(4549)));
        assert_eq!(Crs::parse("urn:ogc:def:crs:EPSG::4549"), Some(Crs(4549)));
        assert_eq!(
            Crs::parse("http://www.opengis.net/def/crs/EPSG/0/4490"),
            Some(Crs(4490))
        );
        assert_eq!(Crs::parse("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(WGS84));
        assert_eq!(Crs::parse("EPSG:abc"), None);
    }

    #[test]
    fn proj_tells_unknown_geographic_and_projected_codes() {
        assert!(Crs::known("EPSG:999999").is_err());
        // Xian 1980 (geographic) and its Gauss–Krüger zone 40 (projected): not in gridplan's own lists.
        assert_eq!(Crs::known("EPSG:4610"), Ok(Crs(4610)));
        assert!(Crs(4610).is_geographic());
        let web_mercator = Crs::known("EPSG:3857").expect("PROJ knows EPSG:3857");
        assert!(!web_mercator.is_geographic());
        let gda94 = Crs::known("EPSG:4283").expect("PROJ knows EPSG:4283");
        assert!(gda94.is_geographic());
        let utm = Crs::known("EPSG:32650").expect("PROJ knows EPSG:32650");
        assert!(!utm.is_geographic());
    }

    #[test]
    fn gauss_kruger_zone_120e_is_4549() {
        assert_eq!(Crs::gauss_kruger_for(118.8), Crs(4549));
        assert_eq!(Crs::gauss_kruger_for(116.4), Crs(4548));
        // Nanjing (118.8°E): 3-degree zone 40 (CM 120°E), 6-degree zone 20 (CM 117°E).
        assert_eq!(Crs::gauss_kruger_zoned_for(118.8), Crs(4528));
        assert_eq!(Crs::gauss_kruger_6_for(118.8), Crs(4509));
        assert_eq!(Crs::gauss_kruger_6_zoned_for(118.8), Crs(4498));
        assert_eq!(Crs::parse("cgcs2000"), Some(CGCS2000));
        assert!(Crs::writable("GCJ02").is_err());
        assert!(CGCS2000.north_first() && Crs(4549).north_first() && !Crs(3857).north_first());
    }

    #[test]
    fn the_zones_are_the_ones_proj_names() {
        for (crs, central_meridian) in [
            (Crs(4549), 120.0),
            (Crs(4528), 120.0),
            (Crs(4509), 117.0),
            (Crs(4498), 117.0),
        ] {
            let to = Transform::new(WGS84, crs).expect("PROJ knows the zone");
            let m = to
                .point(Coord {
                    x: central_meridian,
                    y: 32.0,
                })
                .expect("transform");
            // On the central meridian the easting is the false easting: 500 km, after the zone
            // number for the zoned codes (40 or 20).
            let prefix = if crs.0 < 4502 {
                20.0e6
            } else if crs.0 >= 4513 && crs.0 < 4534 {
                40.0e6
            } else {
                0.0
            };
            assert!((m.x - prefix - 500_000.0).abs() < 1e-3, "{crs}: {m:?}");
        }
    }

    #[test]
    fn proj_round_trips_through_cgcs2000_gauss_kruger() {
        let forward = Transform::new(WGS84, Crs(4549)).expect("PROJ knows EPSG:4549");
        let back = Transform::new(Crs(4549), WGS84).expect("PROJ knows EPSG:4326");
        let p = Coord { x: 120.0, y: 32.0 };
        let m = forward.point(p).expect("transform");
        // On the central meridian the false easting is 500 km exactly.
        assert!((m.x - 500_000.0).abs() < 1e-3, "{m:?}");
        assert!((m.y - 3_542_000.0).abs() < 5_000.0, "{m:?}");
        let q = back.point(m).expect("inverse");
        assert!((q.x - p.x).abs() < 1e-9 && (q.y - p.y).abs() < 1e-9);
    }
}
