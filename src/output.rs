//! Writing GeoJSON: geometries go from the working CRS back to WGS84 (RFC 7946), coordinates rounded to
//! 1e-9 degrees (about 0.1 mm), properties as given. Output is deterministic: the same input gives
//! byte-identical files.

use crate::crs::{Crs, Transform, WGS84};
use crate::error::{Error, Result};
use crate::io::geom::for_each_ring_mut;
use geo::{Coord, MultiPolygon};
use serde_json::{Map, Value};
use std::io::Write;
use std::path::Path;

/// Decimal places of degrees written (1e-9° is about 0.1 mm: the slivers rounding leaves along shared
/// edges stay far below the check's tolerance).
const DEGREE_DECIMALS: i32 = 9;
/// Decimal places of metres written (projected output).
const METRE_DECIMALS: i32 = 3;

/// A geometry to write, in the working CRS.
pub enum Shape<'a> {
    Point(Coord),
    Areal(&'a MultiPolygon),
    Line(&'a geo::LineString),
}

/// Streams a FeatureCollection to a file or into memory, reprojecting from `from` to `to`.
pub struct FeatureWriter<W: Write = std::io::BufWriter<std::fs::File>> {
    out: W,
    path: std::path::PathBuf,
    transform: Transform,
    to: Crs,
    first: bool,
}

impl FeatureWriter {
    /// Creates the file. When `to` is not WGS84, a legacy `crs` member names it.
    pub fn create(path: &Path, from: Crs, to: Crs) -> Result<FeatureWriter> {
        let file = std::fs::File::create(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        FeatureWriter::new(
            std::io::BufWriter::with_capacity(1 << 20, file),
            path,
            from,
            to,
        )
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
        };
        let header = if to == WGS84 {
            "{\"type\":\"FeatureCollection\",\"features\":[\n".to_string()
        } else {
            format!(
                "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"urn:ogc:def:crs:EPSG::{}\"}}}},\"features\":[\n",
                to.0
            )
        };
        w.raw(header.as_bytes())?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })
    }

    fn round(&self, v: f64) -> f64 {
        let decimals = if self.to.is_geographic() {
            DEGREE_DECIMALS
        } else {
            METRE_DECIMALS
        };
        let f = 10f64.powi(decimals);
        (v * f).round() / f
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
                let polygons: Vec<Value> =
                    mp.0.iter()
                        .map(|p| {
                            Value::Array(
                                std::iter::once(p.exterior())
                                    .chain(p.interiors())
                                    .map(|ring| {
                                        Value::Array(
                                            ring.0
                                                .iter()
                                                .map(|c| {
                                                    serde_json::json!([
                                                        self.round(c.x),
                                                        self.round(c.y)
                                                    ])
                                                })
                                                .collect(),
                                        )
                                    })
                                    .collect(),
                            )
                        })
                        .collect();
                if polygons.len() == 1 {
                    serde_json::json!({"type": "Polygon", "coordinates": polygons[0]})
                } else {
                    serde_json::json!({"type": "MultiPolygon", "coordinates": polygons})
                }
            }
        };
        let mut feature = Map::new();
        feature.insert("type".into(), "Feature".into());
        if let Some(id) = id {
            feature.insert("id".into(), id.into());
        }
        feature.insert("geometry".into(), geometry);
        feature.insert("properties".into(), Value::Object(properties.clone()));
        let text = serde_json::to_string(&feature).map_err(|e| Error::Write {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        if !self.first {
            self.raw(b",\n")?;
        }
        self.first = false;
        self.raw(text.as_bytes())
    }

    /// Closes the collection and flushes the output, handing it back.
    pub fn finish(mut self) -> Result<W> {
        self.raw(b"\n]}\n")?;
        self.out.flush().map_err(|source| Error::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.out)
    }
}

/// Writes grids with their recounted figures (SPEC §3): aggregates only, never sensitive counts.
pub fn write_grids(
    path: &Path,
    working: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
) -> Result<()> {
    let mut w = FeatureWriter::create(path, working, WGS84)?;
    grid_features(&mut w, grids, rows)?;
    w.finish().map(|_| ())
}

/// [`write_grids`] into a string.
pub fn grids_geojson(
    working: Crs,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
) -> Result<String> {
    let mut w = FeatureWriter::in_memory(working, WGS84)?;
    grid_features(&mut w, grids, rows)?;
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

fn grid_features<W: Write>(
    w: &mut FeatureWriter<W>,
    grids: &[crate::model::GridShape],
    rows: &[crate::check::GridRow],
) -> Result<()> {
    for (g, row) in grids.iter().zip(rows) {
        let mut props = Map::new();
        props.insert("id".into(), row.id.clone().into());
        props.insert("community".into(), row.community.clone().into());
        props.insert("kind".into(), row.kind.clone().into());
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
        w.feature(Some(&row.id), Shape::Areal(&g.geometry), &props)?;
    }
    Ok(())
}

/// Writes grids with their responsible worker and weekly workload (SPEC §3): workload is public as
/// hours; the sensitive counts behind it are not written.
pub fn write_assignment(
    path: &Path,
    working: Crs,
    grids: &[crate::model::GridShape],
    loads: &[crate::assign::GridLoad],
    primary: &[Option<String>],
) -> Result<()> {
    let mut w = FeatureWriter::create(path, working, WGS84)?;
    assignment_features(&mut w, grids, loads, primary)?;
    w.finish().map(|_| ())
}

/// [`write_assignment`] into a string.
pub fn assignment_geojson(
    working: Crs,
    grids: &[crate::model::GridShape],
    loads: &[crate::assign::GridLoad],
    primary: &[Option<String>],
) -> Result<String> {
    let mut w = FeatureWriter::in_memory(working, WGS84)?;
    assignment_features(&mut w, grids, loads, primary)?;
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

fn assignment_features<W: Write>(
    w: &mut FeatureWriter<W>,
    grids: &[crate::model::GridShape],
    loads: &[crate::assign::GridLoad],
    primary: &[Option<String>],
) -> Result<()> {
    for ((g, load), worker) in grids.iter().zip(loads).zip(primary) {
        let mut props = Map::new();
        props.insert("id".into(), g.id.clone().into());
        props.insert("community".into(), g.community.clone().into());
        props.insert("town".into(), load.town.clone().into());
        props.insert("households".into(), load.households.into());
        props.insert(
            "workload_hours".into(),
            ((load.workload_hours * 10.0).round() / 10.0).into(),
        );
        props.insert("primary_worker".into(), worker.clone().into());
        props.insert(
            "workers".into(),
            Value::Array(worker.iter().map(|w| Value::from(w.clone())).collect()),
        );
        w.feature(Some(&g.id), Shape::Areal(&g.geometry), &props)?;
    }
    Ok(())
}
