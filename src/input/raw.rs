//! Streaming FeatureCollection reader.
//!
//! The file is parsed once; each feature is handed to a callback as soon as it is parsed, so a reader keeps
//! only its own compact records, never a tree of the whole document. Properties are parsed into a typed
//! struct `P` (unknown properties are skipped without allocation), coordinates into a `serde_json::Value`
//! so that bad coordinates are reported by the validator, naming the feature, rather than by the parser.

use crate::problem::Problem;
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

/// A feature as it appears in the file, before validation.
#[derive(Debug, Deserialize)]
pub struct RawFeature<P> {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<Value>,
    pub geometry: Option<RawGeometry>,
    pub properties: Option<P>,
}

/// A geometry as it appears in the file.
#[derive(Debug, Deserialize)]
pub struct RawGeometry {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub coordinates: Option<Value>,
}

/// The top-level members of a FeatureCollection other than its features.
#[derive(Debug, Default)]
pub struct CollectionHeader {
    /// The `type` member, when present.
    pub kind: Option<String>,
    /// The legacy `crs` member, when present.
    pub crs: Option<Value>,
    /// Whether a `features` member was present.
    pub has_features: bool,
    /// How many features the file holds.
    pub feature_count: usize,
}

/// Parses `bytes` as a FeatureCollection, calling `on_feature(index, feature)` for each feature.
///
/// Structural problems (not JSON, not a FeatureCollection) come back as one [`Problem`] naming the file,
/// and, for a parse error inside the features array, the feature being read.
pub fn read_collection<P, F>(
    file: &str,
    bytes: &[u8],
    mut on_feature: F,
) -> Result<CollectionHeader, Problem>
where
    P: DeserializeOwned,
    F: FnMut(usize, RawFeature<P>),
{
    let current = Cell::new(None::<usize>);
    let mut de = serde_json::Deserializer::from_slice(strip_bom(bytes));
    let visitor = CollectionVisitor {
        on_feature: &mut on_feature,
        current: &current,
        marker: PhantomData,
    };
    let parsed = de
        .deserialize_map(visitor)
        .and_then(|h| de.end().map(|_| h));
    match parsed {
        Ok(header) => {
            if header.kind.as_deref() != Some("FeatureCollection") {
                let found = header.kind.as_deref().unwrap_or("no `type` member");
                return Err(Problem::error(
                    file,
                    format!("not a GeoJSON FeatureCollection (type: {found})"),
                )
                .field("type"));
            }
            if !header.has_features {
                return Err(
                    Problem::error(file, "FeatureCollection has no `features` array")
                        .field("features"),
                );
            }
            Ok(header)
        }
        Err(e) => {
            let mut message = if e.is_syntax() || e.is_eof() {
                format!("not valid JSON: {e}")
            } else {
                format!("not a GeoJSON FeatureCollection: {e}")
            };
            if e.to_string().contains("expected value") {
                message.push_str(" (NaN, Infinity and unquoted words are not valid JSON numbers)");
            }
            let problem = Problem::error(file, message);
            Err(match current.get() {
                Some(index) => problem.at(index, None),
                None => problem,
            })
        }
    }
}

struct CollectionVisitor<'a, P, F> {
    on_feature: &'a mut F,
    current: &'a Cell<Option<usize>>,
    marker: PhantomData<P>,
}

impl<'de, P, F> Visitor<'de> for CollectionVisitor<'_, P, F>
where
    P: DeserializeOwned,
    F: FnMut(usize, RawFeature<P>),
{
    type Value = CollectionHeader;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut header = CollectionHeader::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "type" => header.kind = map.next_value::<Option<String>>()?,
                "crs" => header.crs = map.next_value::<Option<Value>>()?,
                "features" => {
                    header.has_features = true;
                    header.feature_count = map.next_value_seed(FeaturesSeed {
                        on_feature: &mut *self.on_feature,
                        current: self.current,
                        marker: PhantomData::<P>,
                    })?;
                    self.current.set(None);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

struct FeaturesSeed<'a, P, F> {
    on_feature: &'a mut F,
    current: &'a Cell<Option<usize>>,
    marker: PhantomData<P>,
}

impl<'de, P, F> DeserializeSeed<'de> for FeaturesSeed<'_, P, F>
where
    P: DeserializeOwned,
    F: FnMut(usize, RawFeature<P>),
{
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, P, F> Visitor<'de> for FeaturesSeed<'_, P, F>
where
    P: DeserializeOwned,
    F: FnMut(usize, RawFeature<P>),
{
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut index = 0;
        loop {
            self.current.set(Some(index));
            match seq.next_element::<RawFeature<P>>()? {
                Some(feature) => (self.on_feature)(index, feature),
                None => break,
            }
            index += 1;
        }
        Ok(index)
    }
}

/// The bytes after a UTF-8 byte-order mark, which spreadsheet and Windows tools put at the start of
/// text files (RFC 8259 lets a parser ignore it).
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// A feature's id as text: its `id` member, else the `id` property given by the reader.
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a JSON number as an `f64`, or says what it is instead.
pub fn number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{n} is not a finite number")),
        Value::String(s) => Err(format!("\"{s}\" is a string, not a number")),
        Value::Null => Err("null is not a number".to_string()),
        other => Err(format!("{other} is not a number")),
    }
}

/// Reads a non-negative integer property; `name` is used in the message.
pub fn count(value: &Value) -> Result<u32, String> {
    match value {
        Value::Number(n) => {
            if let Some(v) = n.as_u64() {
                u32::try_from(v).map_err(|_| format!("{v} is too large"))
            } else if let Some(v) = n.as_i64() {
                Err(format!("{v} is negative"))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f >= 0.0 && f <= u32::MAX as f64 {
                    Ok(f as u32)
                } else if f < 0.0 {
                    Err(format!("{n} is negative"))
                } else {
                    Err(format!("{n} is not a whole number"))
                }
            }
        }
        Value::String(s) => Err(format!("\"{s}\" is a string, not a whole number")),
        other => Err(format!("{other} is not a whole number")),
    }
}

/// Reads a string-like property (strings and numbers are both accepted, as codes often arrive as numbers).
pub fn text(value: &Value) -> Result<String, String> {
    id_text(value).ok_or_else(|| format!("{value} is not a string"))
}
