//! The households of a clean file, parsed without building a JSON value per member: strings borrowed
//! from the file, coordinates straight into numbers, counts straight into integers. Anything this
//! reader does not take as it is (a member of another JSON type, a float where a count belongs, a
//! position with a third number, a missing `type`) makes it give up on the file, and the exact reader
//! (`input::household`) reads it instead and names every problem. Both give the same households
//! for a file this one takes (tested).

use crate::model::{Household, Sensitive};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A feature of a households file.
#[derive(Deserialize)]
pub(crate) struct Feature<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
    #[serde(borrow)]
    geometry: Option<Point<'a>>,
    #[serde(borrow)]
    properties: Option<Props<'a>>,
}

#[derive(Deserialize)]
struct Point<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    coordinates: [f64; 2],
}

#[derive(Deserialize, Default)]
struct Props<'a> {
    #[serde(borrow)]
    id: Option<Scalar<'a>>,
    households: Option<Scalar<'a>>,
    population: Option<Scalar<'a>>,
    #[serde(borrow)]
    building: Option<Scalar<'a>>,
    #[serde(borrow)]
    entrance: Option<Scalar<'a>>,
    #[serde(borrow)]
    community: Option<Scalar<'a>>,
    elderly_alone: Option<Scalar<'a>>,
    key_persons: Option<Scalar<'a>>,
    vulnerable: Option<Scalar<'a>>,
}

/// A JSON string or integer; anything else is not taken (the exact reader decides).
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Unsigned(u64),
    Negative(i64),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'a>, E> {
                Ok(Scalar::Negative(v))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl Scalar<'_> {
    /// As [`super::raw::id_text`] and [`super::raw::text`] read it.
    fn text(&self) -> Box<str> {
        match self {
            Scalar::Text(s) => s.as_ref().into(),
            Scalar::Unsigned(n) => n.to_string().into(),
            Scalar::Negative(n) => n.to_string().into(),
        }
    }

    /// As [`super::raw::count`] reads it; `None` where it would name a problem.
    fn count(&self) -> Option<u32> {
        match self {
            Scalar::Unsigned(n) => u32::try_from(*n).ok(),
            _ => None,
        }
    }
}

/// A count that is absent or good: `Some(None)` absent, `Some(Some(n))` good, `None` a problem.
fn count(v: &Option<Scalar>) -> Option<Option<u32>> {
    match v {
        None => Some(None),
        Some(s) => s.count().map(Some),
    }
}

/// The household of a clean feature (`index` its place in the file); `None` where the exact reader
/// would say anything.
pub(crate) fn household(index: usize, f: Feature) -> Option<Household> {
    if f.kind.as_deref() != Some("Feature") {
        return None;
    }
    let g = f.geometry?;
    if g.kind != "Point" {
        return None;
    }
    let [x, y] = g.coordinates;
    let props = f.properties.unwrap_or_default();
    let id = f.id.as_ref().or(props.id.as_ref()).map(Scalar::text);
    let households = count(&props.households)?.unwrap_or(1);
    if households == 0 {
        return None;
    }
    Some(Household {
        feature: index,
        id,
        pos: geo::Coord { x, y },
        households,
        population: count(&props.population)?,
        building: props.building.as_ref().map(Scalar::text),
        entrance: props.entrance.as_ref().map(Scalar::text),
        community: props.community.as_ref().map(Scalar::text),
        sensitive: Sensitive {
            elderly_alone: count(&props.elderly_alone)?.unwrap_or(0),
            key_persons: count(&props.key_persons)?.unwrap_or(0),
            vulnerable: count(&props.vulnerable)?.unwrap_or(0),
        },
    })
}
