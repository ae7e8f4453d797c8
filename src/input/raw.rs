//! Streaming FeatureCollection reader.
//!
//! The file is parsed once; each feature is handed to a callback as soon as it is parsed, so a reader keeps
//! only its own compact records, never a tree of the whole document. Properties are parsed into a typed
//! struct `P` (unknown properties are skipped without allocation), coordinates into a `serde_json::Value`
//! so that bad coordinates are reported by the validator, naming the feature, rather than by the parser.

use crate::lang::messages::{Msg, msg};
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

/// A polygon feature as it appears in a large clean file: its coordinates parsed without a JSON value
/// per number (see [`crate::input::geom::Nest`]).
#[derive(Debug, Deserialize)]
pub struct RawAreaFeature<P> {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<Value>,
    pub geometry: Option<RawAreaGeometry>,
    pub properties: Option<P>,
}

/// The geometry of a [`RawAreaFeature`].
#[derive(Debug, Deserialize)]
pub struct RawAreaGeometry {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub coordinates: Option<crate::input::geom::Nest>,
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
    // A FlatGeobuf layer (or a GeoPackage) is read as the FeatureCollection it holds.
    let converted;
    let bytes = if super::fgb::is_flatgeobuf(bytes) {
        converted = super::fgb::to_geojson(file, bytes)?;
        &converted[..]
    } else if crate::formats::gpkg::is_sqlite(bytes) {
        // A GeoPackage given as bytes (an upload) is read as the collection it holds.
        converted = crate::formats::gpkg::read_bytes(file, bytes, super::file::max_input_bytes())?;
        &converted[..]
    } else {
        bytes
    };
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
                return Err(
                    Problem::error(file, msg!(NotFeatureCollection, found = found)).field("type"),
                );
            }
            if !header.has_features {
                return Err(Problem::error(file, msg!(NoFeaturesArray)).field("features"));
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

/// Features parsed in parallel: the chunks of the features array, in file order, each with what `parse`
/// made of its features (`parse` gets the index *within the chunk*; chunk `i` starts at the sum of the
/// lengths of the chunks before it).
pub struct Chunks<T> {
    pub header: CollectionHeader,
    pub chunks: Vec<Vec<T>>,
}

/// Below this size a file is parsed on one thread: splitting costs more than it saves.
pub(crate) const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Parses the features of a large FeatureCollection on every core.
///
/// The features array is cut at guessed boundaries (a `}` then a comma then a `{`); each piece is parsed
/// feature by feature, and a guess is kept only if the piece before it ends exactly there, which proves
/// it was a boundary between two features (a guess inside a string is caught the same way). Returns
/// `None` when the file is small, when the structure is not the plain one (a guess fails, a feature does
/// not parse, the features array is not found where expected) or when `parse` says `None` for a
/// feature: the caller then reads the file with [`read_collection`], which names every problem exactly.
pub fn read_collection_parallel<'a, R, T, F>(bytes: &'a [u8], parse: F) -> Option<Chunks<T>>
where
    R: Deserialize<'a>,
    T: Send,
    F: Fn(usize, R) -> Option<T> + Sync,
{
    use rayon::prelude::*;
    let bytes = strip_bom(bytes);
    if bytes.len() < PARALLEL_MIN_BYTES {
        return None;
    }
    // Checked as UTF-8 once, so that strings are not checked again one by one.
    let text = std::str::from_utf8(bytes).ok()?;
    let open = features_array_start(bytes)?;
    // The first feature starts after the `[` and any space.
    let first = open + 1 + skip_space(&bytes[open + 1..]);
    if bytes.get(first) != Some(&b'{') {
        return None;
    }
    let pieces = rayon::current_num_threads().max(1) * 4;
    let step = (bytes.len() - first) / pieces;
    let mut starts = vec![first];
    for k in 1..pieces {
        if let Some(at) = guess_boundary(bytes, first + k * step)
            && at > *starts.last()?
        {
            starts.push(at);
        }
    }
    starts.dedup();
    let mut parsed: Vec<Option<Piece<T>>> = starts
        .par_iter()
        .enumerate()
        .map(|(i, &start)| parse_piece::<R, T, F>(text, start, starts.get(i + 1).copied(), &parse))
        .collect();
    // Stitch the pieces from the first feature on. A piece is used only where the one before it ended,
    // which is a boundary between features; a piece that started inside a string (its guess was wrong)
    // is passed over, and where no parsed piece starts, the features are parsed here, on this thread.
    let mut chunks = Vec::with_capacity(parsed.len());
    let mut at = first;
    let close = loop {
        let k = starts.partition_point(|&s| s < at);
        let piece = if starts.get(k) == Some(&at) {
            parsed[k].take()?
        } else {
            parse_piece::<R, T, F>(text, at, starts.get(k).copied(), &parse)?
        };
        chunks.push(piece.items);
        at = piece.end;
        if piece.closed {
            break at;
        }
    };
    // The rest of the document: the same collection with an empty features array, parsed as usual.
    let mut rest = Vec::with_capacity(open + 2 + bytes.len() - close);
    rest.extend_from_slice(&bytes[..open]);
    rest.extend_from_slice(b"[]");
    rest.extend_from_slice(&bytes[close..]);
    let mut more = 0usize;
    let mut header = read_collection::<IgnoredAny, _>("", &rest, |_, _| more += 1).ok()?;
    if more > 0 {
        return None;
    }
    header.feature_count = chunks.iter().map(Vec::len).sum();
    Some(Chunks { header, chunks })
}

/// Features parsed from one place in the array.
struct Piece<T> {
    items: Vec<T>,
    /// Where parsing stopped: the start of the feature at or after the next piece's start, or just past
    /// the closing `]`.
    end: usize,
    /// Whether the array closed.
    closed: bool,
}

/// Parses features from `start` on, each followed by a comma or (the last) the closing `]`, until the
/// next feature starts at or after `stop` or the array closes. `None` when something does not parse or
/// `parse` refuses a feature.
fn parse_piece<'a, R, T, F>(
    text: &'a str,
    start: usize,
    stop: Option<usize>,
    parse: &F,
) -> Option<Piece<T>>
where
    R: Deserialize<'a>,
    F: Fn(usize, R) -> Option<T>,
{
    let bytes = text.as_bytes();
    // About one item per 150 bytes (a household point), to spare most of the growing.
    let mut items = Vec::with_capacity(stop.map_or(1024, |s| s.saturating_sub(start) / 150));
    let mut at = start;
    loop {
        // `at` is at a `{` (ASCII), so on a character boundary.
        let mut stream = serde_json::Deserializer::from_str(text.get(at..)?).into_iter::<R>();
        let feature = stream.next()?.ok()?;
        at += stream.byte_offset();
        items.push(parse(items.len(), feature)?);
        at += skip_space(&bytes[at..]);
        match bytes.get(at) {
            Some(b',') => {
                at += 1;
                at += skip_space(&bytes[at..]);
                if stop.is_some_and(|s| at >= s) {
                    return Some(Piece {
                        items,
                        end: at,
                        closed: false,
                    });
                }
            }
            Some(b']') => {
                return Some(Piece {
                    items,
                    end: at + 1,
                    closed: true,
                });
            }
            _ => return None,
        }
    }
}

/// The offset of the `[` opening the top-level `features` member, found by scanning the members before
/// it (strings and nesting followed); `None` if the document does not start as a plain object whose
/// `features` member holds an array.
pub(crate) fn features_array_start(bytes: &[u8]) -> Option<usize> {
    let mut at = skip_space(bytes);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at += 1;
    loop {
        at += skip_space(&bytes[at..]);
        // A key.
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let end = string_end(bytes, at)?;
        let key = &bytes[at + 1..end - 1];
        at = end + skip_space(&bytes[end..]);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at += 1;
        at += skip_space(&bytes[at..]);
        if key == b"features" {
            return (bytes.get(at) == Some(&b'[')).then_some(at);
        }
        at = value_end(bytes, at)?;
        at += skip_space(&bytes[at..]);
        match bytes.get(at) {
            Some(b',') => at += 1,
            _ => return None,
        }
    }
}

/// The offset just past the string starting at `at` (a `"`).
fn string_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The offset just past the JSON value starting at `at` (a member before `features`: small).
fn value_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = at;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = string_end(bytes, i)?;
                if depth == 0 {
                    return Some(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b',' if depth == 0 => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The first place at or after `from` that looks like the start of a feature following another: a `{`
/// after a `}`, a comma and any space. A guess: [`read_collection_parallel`] proves it.
fn guess_boundary(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < bytes.len() {
        let close = i + bytes[i..].iter().position(|&b| b == b'}')?;
        let mut j = close + 1;
        j += skip_space(&bytes[j..]);
        if bytes.get(j) == Some(&b',') {
            j += 1;
            j += skip_space(&bytes[j..]);
            if bytes.get(j) == Some(&b'{') {
                return Some(j);
            }
        }
        i = close + 1;
    }
    None
}

/// The last place in `bytes` that looks like a boundary between two features (a `}`, a comma and a
/// `{`, with any space between): the offsets of the comma and of the `{`. A guess, as
/// [`guess_boundary`]'s: the caller proves it by parsing.
pub(crate) fn last_boundary(bytes: &[u8]) -> Option<(usize, usize)> {
    let is_space = |b: u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    let mut end = bytes.len();
    while let Some(open) = bytes[..end].iter().rposition(|&b| b == b'{') {
        let mut i = open;
        while i > 0 && is_space(bytes[i - 1]) {
            i -= 1;
        }
        if i > 0 && bytes[i - 1] == b',' {
            let comma = i - 1;
            let mut j = comma;
            while j > 0 && is_space(bytes[j - 1]) {
                j -= 1;
            }
            if j > 0 && bytes[j - 1] == b'}' {
                return Some((comma, open));
            }
        }
        end = open;
    }
    None
}

/// How many JSON whitespace bytes `bytes` starts with.
fn skip_space(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        .unwrap_or(bytes.len())
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
pub fn number(value: &Value) -> Result<f64, Msg> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| msg!(NotFinite, value = n)),
        Value::String(s) => Err(msg!(NumberIsString, value = s)),
        Value::Null => Err(msg!(NumberIsNull)),
        other => Err(msg!(NotANumber, value = other)),
    }
}

/// Reads a non-negative integer property, or says (in both languages) what it is instead.
pub fn count(value: &Value) -> Result<u32, Msg> {
    match value {
        Value::Number(n) => {
            if let Some(v) = n.as_u64() {
                u32::try_from(v).map_err(|_| msg!(TooLargeCount, value = v))
            } else if let Some(v) = n.as_i64() {
                Err(msg!(Negative, value = v))
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f >= 0.0 && f <= u32::MAX as f64 {
                    Ok(f as u32)
                } else if f < 0.0 {
                    Err(msg!(Negative, value = n))
                } else {
                    Err(msg!(NotWholeNumber, value = n))
                }
            }
        }
        Value::String(s) => Err(msg!(StringNotWholeNumber, value = s)),
        other => Err(msg!(NotWholeNumber, value = other)),
    }
}

/// Reads a string-like property (strings and numbers are both accepted, as codes often arrive as numbers).
pub fn text(value: &Value) -> Result<String, Msg> {
    id_text(value).ok_or_else(|| msg!(NotAString, value = value))
}
