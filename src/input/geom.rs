//! GeoJSON coordinates to `geo` geometries, with every problem named (ring, position, what is wrong).

use crate::input::raw::number;
use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

/// Reads a position `[x, y]` or `[x, y, z]` (z is dropped).
pub fn position(v: &Value) -> Result<Coord, String> {
    let arr = v
        .as_array()
        .ok_or_else(|| format!("position {v} is not an array of numbers"))?;
    if arr.len() < 2 {
        return Err(format!("position {v} has fewer than 2 numbers"));
    }
    let x = number(&arr[0]).map_err(|e| format!("x: {e}"))?;
    let y = number(&arr[1]).map_err(|e| format!("y: {e}"))?;
    if let Some(z) = arr.get(2) {
        number(z).map_err(|e| format!("z: {e}"))?;
    }
    Ok(Coord { x, y })
}

fn ring(v: &Value, polygon: usize, index: usize) -> Result<LineString, String> {
    let where_ = if polygon == usize::MAX {
        format!("ring {index}")
    } else {
        format!("polygon {polygon}, ring {index}")
    };
    let arr = v
        .as_array()
        .ok_or_else(|| format!("{where_} is not an array of positions"))?;
    let mut coords = Vec::with_capacity(arr.len());
    for (i, p) in arr.iter().enumerate() {
        coords.push(position(p).map_err(|e| format!("{where_}, position {i}: {e}"))?);
    }
    if coords.len() < 4 {
        return Err(format!(
            "{where_} has {} positions; a closed ring needs at least 4",
            coords.len()
        ));
    }
    let (first, last) = (coords[0], coords[coords.len() - 1]);
    if first != last {
        return Err(format!(
            "{where_} is not closed: it starts at ({}, {}) and ends at ({}, {})",
            first.x, first.y, last.x, last.y
        ));
    }
    Ok(LineString(coords))
}

fn polygon(v: &Value, index: usize) -> Result<Polygon, String> {
    let rings = v
        .as_array()
        .ok_or_else(|| "polygon coordinates are not an array of rings".to_string())?;
    if rings.is_empty() {
        return Err("polygon has no rings".to_string());
    }
    let mut out = Vec::with_capacity(rings.len());
    for (r, v) in rings.iter().enumerate() {
        out.push(ring(v, index, r)?);
    }
    let exterior = out.remove(0);
    Ok(Polygon::new(exterior, out))
}

/// Reads a `Polygon` or `MultiPolygon` geometry's coordinates.
pub fn areal(kind: &str, coordinates: &Value) -> Result<MultiPolygon, String> {
    match kind {
        "Polygon" => Ok(MultiPolygon(vec![polygon(coordinates, usize::MAX)?])),
        "MultiPolygon" => {
            let parts = coordinates.as_array().ok_or_else(|| {
                "MultiPolygon coordinates are not an array of polygons".to_string()
            })?;
            if parts.is_empty() {
                return Err("MultiPolygon has no polygons".to_string());
            }
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, i))
                .collect::<Result<Vec<_>, _>>()
                .map(MultiPolygon)
        }
        other => Err(format!(
            "geometry type is {other}; expected Polygon or MultiPolygon"
        )),
    }
}

/// Applies `f` to every coordinate batch (one ring at a time), in place.
pub fn for_each_ring_mut<E>(
    mp: &mut MultiPolygon,
    mut f: impl FnMut(&mut [Coord]) -> Result<(), E>,
) -> Result<(), E> {
    for p in &mut mp.0 {
        let mut result = Ok(());
        p.exterior_mut(|ls| result = f(&mut ls.0));
        result?;
        let mut result = Ok(());
        p.interiors_mut(|rings| {
            for r in rings {
                if result.is_ok() {
                    result = f(&mut r.0);
                }
            }
        });
        result?;
    }
    Ok(())
}
