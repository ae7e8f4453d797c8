//! GeoJSON coordinates to `geo` geometries, with every problem named (ring, position, what is wrong).

use crate::input::raw::number;
use crate::lang::messages::{Msg, msg};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

/// Reads a position `[x, y]` or `[x, y, z]` (z is dropped).
pub fn position(v: &Value) -> Result<Coord, Msg> {
    let arr = v
        .as_array()
        .ok_or_else(|| msg!(PositionNotArray, value = v))?;
    if arr.len() < 2 {
        return Err(msg!(PositionTooShort, value = v));
    }
    // The axis in Chinese by its name: 横坐标 (x), 纵坐标 (y), 高程 (z).
    let axis = |en: &'static str, zh: &'static str| {
        move |e: Msg| {
            Msg::new(crate::lang::messages::Key::PositionAxis)
                .arg_in("axis", en, zh)
                .arg_msg("why", &e)
        }
    };
    let x = number(&arr[0]).map_err(axis("x", "横坐标"))?;
    let y = number(&arr[1]).map_err(axis("y", "纵坐标"))?;
    if let Some(z) = arr.get(2) {
        number(z).map_err(axis("z", "高程"))?;
    }
    Ok(Coord { x, y })
}

fn ring(v: &Value, polygon: usize, index: usize) -> Result<LineString, Msg> {
    let where_ = if polygon == usize::MAX {
        msg!(RingOf, ring = index)
    } else {
        msg!(RingOfPolygon, polygon = polygon, ring = index)
    };
    let arr = v
        .as_array()
        .ok_or_else(|| msg!(RingNotArray).arg_msg("ring", &where_))?;
    let mut coords = Vec::with_capacity(arr.len());
    for (i, p) in arr.iter().enumerate() {
        coords.push(position(p).map_err(|e| {
            msg!(RingPosition, index = i)
                .arg_msg("ring", &where_)
                .arg_msg("why", &e)
        })?);
    }
    if coords.len() < 4 {
        return Err(msg!(RingTooShort, count = coords.len()).arg_msg("ring", &where_));
    }
    let (first, last) = (coords[0], coords[coords.len() - 1]);
    if first != last {
        return Err(msg!(
            RingNotClosed,
            x0 = first.x,
            y0 = first.y,
            x1 = last.x,
            y1 = last.y
        )
        .arg_msg("ring", &where_));
    }
    Ok(LineString(coords))
}

fn polygon(v: &Value, index: usize) -> Result<Polygon, Msg> {
    let rings = v.as_array().ok_or_else(|| msg!(PolygonNotArray))?;
    if rings.is_empty() {
        return Err(msg!(PolygonNoRings));
    }
    let mut out = Vec::with_capacity(rings.len());
    for (r, v) in rings.iter().enumerate() {
        out.push(ring(v, index, r)?);
    }
    let exterior = out.remove(0);
    Ok(Polygon::new(exterior, out))
}

/// Reads a `Polygon` or `MultiPolygon` geometry's coordinates.
pub fn areal(kind: &str, coordinates: &Value) -> Result<MultiPolygon, Msg> {
    match kind {
        "Polygon" => Ok(MultiPolygon(vec![polygon(coordinates, usize::MAX)?])),
        "MultiPolygon" => {
            let parts = coordinates
                .as_array()
                .ok_or_else(|| msg!(MultiPolygonNotArray))?;
            if parts.is_empty() {
                return Err(msg!(MultiPolygonEmpty));
            }
            parts
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, i))
                .collect::<Result<Vec<_>, _>>()
                .map(MultiPolygon)
        }
        other => Err(msg!(NotAreal, found = other)),
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

/// Polygon or MultiPolygon coordinates parsed straight into positions, without a JSON value per
/// number: the fast path for large clean files. Anything it cannot take (a string, a position of one
/// number) fails the parse, and the file is read again through [`areal`], which names
/// the problem.
#[derive(Debug)]
pub enum Nest {
    Num(f64),
    Pos(Coord),
    /// A list of positions (a ring).
    Coords(Vec<Coord>),
    List(Vec<Nest>),
}

impl<'de> serde::Deserialize<'de> for Nest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Nest, D::Error> {
        d.deserialize_any(NestVisitor)
    }
}

struct NestVisitor;

impl<'de> serde::de::Visitor<'de> for NestVisitor {
    type Value = Nest;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("nested arrays of positions")
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Nest, E> {
        Ok(Nest::Num(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Nest, E> {
        Ok(Nest::Num(v as f64))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Nest, E> {
        Ok(Nest::Num(v as f64))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Nest, A::Error> {
        use serde::de::Error;
        match seq.next_element::<Nest>()? {
            None => Ok(Nest::List(Vec::new())),
            Some(Nest::Num(x)) => {
                let y: f64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("a position of one number"))?;
                let _z: Option<f64> = seq.next_element()?;
                // Anything after z is passed over, as the checked path does.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Nest::Pos(Coord { x, y }))
            }
            Some(Nest::Pos(first)) => {
                let mut coords = Vec::with_capacity(seq.size_hint().unwrap_or(8) + 1);
                coords.push(first);
                while let Some(Position(c)) = seq.next_element()? {
                    coords.push(c);
                }
                Ok(Nest::Coords(coords))
            }
            Some(first) => {
                let mut list = vec![first];
                while let Some(n) = seq.next_element()? {
                    list.push(n);
                }
                Ok(Nest::List(list))
            }
        }
    }
}

/// A position `[x, y]` or `[x, y, z, …]` (what follows y is not kept), for the fast path.
struct Position(Coord);

impl<'de> serde::Deserialize<'de> for Position {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Position, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Position;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a position")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Position, A::Error> {
                use serde::de::Error;
                let x: f64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("an empty position"))?;
                let y: f64 = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("a position of one number"))?;
                let _z: Option<f64> = seq.next_element()?;
                // Anything after z is passed over, as the checked path does.
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Position(Coord { x, y }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// [`areal`] on coordinates parsed by the fast path; `None` for anything [`areal`] would refuse (the
/// caller then reads the file through it, which names the problem).
pub fn areal_nest(kind: &str, coordinates: Nest) -> Option<MultiPolygon> {
    fn ring(n: Nest) -> Option<LineString> {
        let Nest::Coords(c) = n else { return None };
        let finite = c.iter().all(|p| p.x.is_finite() && p.y.is_finite());
        (finite && c.len() >= 4 && c.first() == c.last()).then_some(LineString(c))
    }
    fn polygon(n: Nest) -> Option<Polygon> {
        let Nest::List(rings) = n else { return None };
        let mut rings = rings.into_iter().map(ring);
        let exterior = rings.next()??;
        let holes = rings.collect::<Option<Vec<_>>>()?;
        Some(Polygon::new(exterior, holes))
    }
    match kind {
        "Polygon" => Some(MultiPolygon(vec![polygon(coordinates)?])),
        "MultiPolygon" => {
            let Nest::List(parts) = coordinates else {
                return None;
            };
            if parts.is_empty() {
                return None;
            }
            parts
                .into_iter()
                .map(polygon)
                .collect::<Option<Vec<_>>>()
                .map(MultiPolygon)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path gives exactly what [`areal`] gives, and gives nothing wherever [`areal`] refuses.
    #[test]
    fn the_fast_path_agrees_with_the_checked_one_or_steps_aside() {
        let square = "[[0,0],[10,0],[10,10],[0,10],[0,0]]";
        let hole = "[[2,2],[2,4],[4,4],[2,2]]";
        let cases = [
            ("Polygon", format!("[{square}]")),
            ("Polygon", format!("[{square},{hole}]")),
            ("MultiPolygon", format!("[[{square}],[{square},{hole}]]")),
            (
                "Polygon",
                "[[[0.5,1.5,7],[3,1.5,7],[3,4,7],[0.5,1.5,7]]]".to_string(),
            ),
            // Refused by both: not closed, too short, one number, four numbers, a string, empty.
            ("Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]".to_string()),
            ("Polygon", "[[[0,0],[1,0],[0,0]]]".to_string()),
            ("Polygon", "[[[0,0],[1],[1,1],[0,0]]]".to_string()),
            ("Polygon", "[[[0,0],[1,0,0,0],[1,1],[0,0]]]".to_string()),
            ("Polygon", "[[[0,0],[\"1\",0],[1,1],[0,0]]]".to_string()),
            ("Polygon", "[]".to_string()),
            ("Polygon", "[[]]".to_string()),
            ("MultiPolygon", "[]".to_string()),
            ("MultiPolygon", format!("[{square}]")),
            ("Polygon", format!("[[{square}]]")),
            ("Point", "[1,2]".to_string()),
            ("Polygon", "5".to_string()),
        ];
        for (kind, text) in cases {
            let checked = areal(kind, &serde_json::from_str::<Value>(&text).expect("json"));
            let fast = serde_json::from_str::<Nest>(&text)
                .ok()
                .and_then(|n| areal_nest(kind, n));
            match checked {
                Ok(mp) => assert_eq!(fast, Some(mp), "{kind} {text}"),
                Err(_) => assert_eq!(fast, None, "{kind} {text}"),
            }
        }
    }
}
