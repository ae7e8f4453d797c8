//! OGC API – Features Part 2 (Coordinate Reference Systems by Reference): the CRSs the collections are
//! served in, the `crs` and `bbox-crs` parameters, the `Content-Crs` header.
//!
//! The plans are stored in WGS84 longitude/latitude (CRS84, the default of Part 1). On request a page is
//! reprojected with PROJ into CGCS2000 (EPSG:4490), WGS84 as EPSG:4326, or the CGCS2000 Gauss–Krüger
//! zones around the collection (3-degree and 6-degree, with and without the zone number in the
//! easting), rounded as a file in that CRS would be (1e-9° or 1 mm) and made valid on that lattice.
//! Positions are written in the CRS's own axis order, as Part 2 requires: latitude first for EPSG:4490
//! and EPSG:4326, northing first for the Gauss–Krüger zones (their EPSG axes are X north, Y east).

use super::error::AppError;
use crate::output::Reprojection;
use crate::spatial::crs::{CGCS2000, Crs, Transform, WGS84};
use axum::http::HeaderValue;
use geo::Coord;
use serde_json::{Map, Value};

/// WGS84 longitude/latitude: the default CRS of OGC API – Features, and the storage CRS.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
/// The conformance class of Part 2.
pub const CONFORMANCE: &str = "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs";

/// A CRS the service answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServedCrs {
    /// WGS84, longitude first (the GeoJSON order).
    Crs84,
    /// An EPSG CRS, in its own axis order.
    Epsg(Crs),
}

impl ServedCrs {
    /// The CRS's URI, as the `crs` lists and the `Content-Crs` header give it.
    pub fn uri(self) -> String {
        match self {
            ServedCrs::Crs84 => CRS84.to_string(),
            ServedCrs::Epsg(c) => format!("http://www.opengis.net/def/crs/EPSG/0/{}", c.0),
        }
    }

    /// Reads a CRS URI (`http://www.opengis.net/def/crs/EPSG/0/4490`, also `EPSG:4490` and
    /// `urn:ogc:def:crs:EPSG::4490`) or CRS84 in any of its spellings.
    fn parse(text: &str) -> Option<ServedCrs> {
        let t = text.trim();
        if t.to_ascii_uppercase().ends_with("CRS84") {
            return Some(ServedCrs::Crs84);
        }
        Crs::parse(t)
            .filter(|c| !c.is_web_map())
            .map(ServedCrs::Epsg)
    }

    /// The CRS in PROJ's terms (east first).
    fn crs(self) -> Crs {
        match self {
            ServedCrs::Crs84 => WGS84,
            ServedCrs::Epsg(c) => c,
        }
    }

    /// Whether positions are written north first.
    fn north_first(self) -> bool {
        match self {
            ServedCrs::Crs84 => false,
            ServedCrs::Epsg(c) => c.north_first(),
        }
    }

    /// The `Content-Crs` header value: the URI in angle brackets.
    pub fn header(self) -> HeaderValue {
        HeaderValue::from_str(&format!("<{}>", self.uri())).unwrap_or_else(|_| {
            HeaderValue::from_static("<http://www.opengis.net/def/crs/OGC/1.3/CRS84>")
        })
    }
}

/// The CRSs a collection whose CRS84 extent is `bbox` is served in: CRS84 first (the default), then
/// CGCS2000, WGS84 as EPSG:4326, and the CGCS2000 Gauss–Krüger zones at the extent's centre.
pub fn offered(bbox: [f64; 4]) -> Vec<ServedCrs> {
    let lon = if bbox[0].is_finite() && bbox[2].is_finite() && bbox[0] > -180.0 {
        (bbox[0] + bbox[2]) / 2.0
    } else {
        // An empty collection: the zones of the present demo district's longitude would be a guess;
        // offer the national ones only.
        f64::NAN
    };
    let mut out = vec![
        ServedCrs::Crs84,
        ServedCrs::Epsg(CGCS2000),
        ServedCrs::Epsg(WGS84),
    ];
    if lon.is_finite() {
        for c in [
            Crs::gauss_kruger_for(lon),
            Crs::gauss_kruger_zoned_for(lon),
            Crs::gauss_kruger_6_for(lon),
            Crs::gauss_kruger_6_zoned_for(lon),
        ] {
            out.push(ServedCrs::Epsg(c));
        }
    }
    out
}

/// The CRS named by query parameter `name` (`crs` or `bbox-crs`): CRS84 when absent; a 400 naming the
/// offered CRSs when it is not one of them.
pub fn requested(
    q: &std::collections::HashMap<String, String>,
    name: &str,
    offered: &[ServedCrs],
) -> Result<ServedCrs, AppError> {
    let Some(text) = q.get(name) else {
        return Ok(ServedCrs::Crs84);
    };
    ServedCrs::parse(text)
        .filter(|c| offered.contains(c))
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "{name} \"{text}\" is not offered here; use one of: {}",
                offered
                    .iter()
                    .map(|c| c.uri())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// A `bbox` given in `crs` (in that CRS's axis order) as the CRS84 rectangle that holds it: its edges,
/// densified, reprojected with PROJ.
pub fn bbox_to_crs84(bbox: [f64; 4], crs: ServedCrs) -> Result<[f64; 4], AppError> {
    if crs == ServedCrs::Crs84 {
        return Ok(bbox);
    }
    let [a, b, c, d] = bbox;
    let (x0, y0, x1, y1) = if crs.north_first() {
        (b, a, d, c)
    } else {
        (a, b, c, d)
    };
    const STEPS: usize = 16;
    let mut ring = Vec::with_capacity(4 * STEPS);
    for i in 0..STEPS {
        let t = i as f64 / STEPS as f64;
        ring.push(Coord {
            x: x0 + t * (x1 - x0),
            y: y0,
        });
        ring.push(Coord {
            x: x1,
            y: y0 + t * (y1 - y0),
        });
        ring.push(Coord {
            x: x1 - t * (x1 - x0),
            y: y1,
        });
        ring.push(Coord {
            x: x0,
            y: y1 - t * (y1 - y0),
        });
    }
    let to_wgs84 = Transform::new(crs.crs(), WGS84)?;
    to_wgs84.apply(&mut ring).map_err(|e| {
        AppError::bad_request(format!("bbox cannot be placed in {}: {e}", crs.uri()))
    })?;
    Ok(ring.iter().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |r, p| [r[0].min(p.x), r[1].min(p.y), r[2].max(p.x), r[3].max(p.y)],
    ))
}

/// Re-expresses stored CRS84 features in the requested CRS.
pub struct Reprojector(Option<Reprojection>);

impl Reprojector {
    pub fn new(crs: ServedCrs) -> Result<Reprojector, AppError> {
        Ok(Reprojector(match crs {
            ServedCrs::Crs84 => None,
            other => Some(Reprojection::from_wgs84(other.crs(), other.north_first())?),
        }))
    }

    /// One stored feature's text, its geometry in the requested CRS.
    pub fn feature(&self, stored: &str) -> Result<String, AppError> {
        let Some(r) = &self.0 else {
            return Ok(stored.to_string());
        };
        let mut f: Map<String, Value> = serde_json::from_str(stored).map_err(AppError::internal)?;
        let geometry = match f.remove("geometry") {
            Some(g) if !g.is_null() => r.geometry_text(&g)?,
            _ => "null".to_string(),
        };
        let rest = Value::Object(f).to_string();
        Ok(format!("{{\"geometry\":{geometry},{}", &rest[1..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_orders() {
        assert_eq!(ServedCrs::parse(CRS84), Some(ServedCrs::Crs84));
        assert_eq!(
            ServedCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4490"),
            Some(ServedCrs::Epsg(CGCS2000))
        );
        assert_eq!(
            ServedCrs::parse("EPSG:4549"),
            Some(ServedCrs::Epsg(Crs(4549)))
        );
        assert_eq!(ServedCrs::parse("GCJ02"), None);
        let offered = offered([118.6, 32.2, 119.0, 32.5]);
        assert!(offered.contains(&ServedCrs::Epsg(Crs(4549))));
        assert!(offered.contains(&ServedCrs::Epsg(Crs(4509))));
    }

    #[test]
    fn a_bbox_in_cgcs2000_is_read_latitude_first() {
        let b = bbox_to_crs84([32.2, 118.6, 32.5, 119.0], ServedCrs::Epsg(CGCS2000)).unwrap();
        assert!(
            (b[0] - 118.6).abs() < 1e-6 && (b[1] - 32.2).abs() < 1e-6,
            "{b:?}"
        );
        assert!(
            (b[2] - 119.0).abs() < 1e-6 && (b[3] - 32.5).abs() < 1e-6,
            "{b:?}"
        );
    }
}
