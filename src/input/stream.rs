//! A households file too large to hold: read piece by piece, each household placed in its leaf and
//! written to a spill file per group of leaves (a county), so that the work goes on county by county
//! with memory bounded by the largest county, not the whole file (`partition --by-county`).
//!
//! A GeoJSON file is cut into pieces of about [`PIECE_BYTES`] at boundaries between features; each
//! piece is parsed as a collection of its own (the file's members before `features`, such as `crs`,
//! then the piece's features) on every core, exactly as a whole file is, and proved by parsing: a cut
//! that fell inside a string makes the piece fail, and the piece is then read again with more of the
//! file. A file with problems is therefore read whole in the end, so that every problem is named, with
//! its feature numbered from the start of the file. Ledgers (CSV) and FlatGeobuf files are read whole.

use crate::error::{Error, Result};
use crate::input::{self, dataset::Outside, display, ledger, raw};
use crate::model::{Household, Sensitive};
use crate::problem::{Problem, Problems};
use crate::spatial::crs::Crs;
use crate::spatial::index::PolygonIndex;
use crate::spatial::tree::AreaTree;
use geo::Coord;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The size of a piece of a GeoJSON file parsed at once.
pub const PIECE_BYTES: usize = 64 << 20;

/// What reading a file piece by piece found, beside the households.
#[derive(Debug, Default)]
pub struct Streamed {
    /// Features read.
    pub features: usize,
    /// Warnings of the reading, features numbered from the start of the file.
    pub warnings: Problems,
}

/// Reads the households of `path` into the working CRS, about `piece` bytes of the file at a time,
/// handing each piece's households to `each` (in file order; `feature` numbered from the start of the
/// file). Every problem of the file is an error as when it is read whole.
pub fn for_each_piece(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
    piece: usize,
    mut each: impl FnMut(Vec<Household>) -> Result<()>,
) -> Result<Streamed> {
    let name = display(path);
    let whole = |each: &mut dyn FnMut(Vec<Household>) -> Result<()>| -> Result<Streamed> {
        let (households, warnings) = input::read_households(path, crs_flag, working)?;
        let features = households.len();
        each(households)?;
        Ok(Streamed { features, warnings })
    };
    let is_fgb = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("fgb"));
    if ledger::is_ledger_path(path) || is_fgb {
        return whole(&mut each);
    }
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    // The members after the features array, and where the array closes.
    let Some((close, trailer)) = find_trailer(path)? else {
        return whole(&mut each);
    };
    let mut reader =
        BufReader::with_capacity(1 << 20, File::open(path).map_err(read_err)?).take(close);
    let mut rest: Vec<u8> = Vec::new();
    let mut eof = false;
    // Read more of the file into `rest`, about `n` bytes; false at the end of the file.
    let mut more = |rest: &mut Vec<u8>, n: usize| -> Result<bool> {
        let before = rest.len();
        Read::by_ref(&mut reader)
            .take(n as u64)
            .read_to_end(rest)
            .map_err(read_err)?;
        Ok(rest.len() > before)
    };
    // The members before `features`, up to its `[`.
    let prefix = loop {
        if !eof && !more(&mut rest, 1 << 20)? {
            eof = true;
        }
        let bytes = raw::strip_bom(&rest);
        if let Some(open) = raw::features_array_start(bytes) {
            let skip = rest.len() - bytes.len();
            let prefix = bytes[..=open].to_vec();
            rest.drain(..skip + open + 1);
            break prefix;
        }
        if eof || rest.len() > 16 << 20 {
            // Not a plain collection with its features early on: the whole-file reader names why.
            return whole(&mut each);
        }
    };

    let mut out = Streamed::default();
    let mut ids: HashMap<u64, usize> = HashMap::new();
    let mut duplicates = Problems::default();
    let mut want = piece.max(1 << 16);
    loop {
        while rest.len() < want && !eof {
            let n = want - rest.len();
            if !more(&mut rest, n)? {
                eof = true;
            }
        }
        // Where this piece's features end, and where the next piece's begin.
        let last = eof && rest.len() <= want;
        let (end, next) = if last {
            (rest.len(), rest.len())
        } else {
            match raw::last_boundary(&rest[..want.min(rest.len())]) {
                Some((comma, open)) => (comma, open),
                None => {
                    want = want.saturating_mul(2);
                    continue;
                }
            }
        };
        let body = &rest[..end];
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            if out.features == 0 {
                return whole(&mut each);
            }
            break;
        }
        let mut doc = Vec::with_capacity(prefix.len() + end + 1 + trailer.len());
        doc.extend_from_slice(&prefix);
        doc.extend_from_slice(body);
        doc.push(b']');
        doc.extend_from_slice(&trailer);
        match input::parse_households_geojson(&name, doc, crs_flag, working, true) {
            Ok((mut households, warnings, features)) => {
                let base = out.features;
                for h in &mut households {
                    h.feature += base;
                    if let Some(id) = &h.id {
                        let mut hasher = std::collections::hash_map::DefaultHasher::new();
                        id.hash(&mut hasher);
                        if let Some(first) = ids.insert(hasher.finish(), h.feature) {
                            duplicates.push(
                                Problem::error(
                                    &name,
                                    format!("duplicate id (also feature {first})"),
                                )
                                .at(h.feature, Some(id))
                                .field("id"),
                            );
                        }
                    }
                }
                out.warnings.extend(Problems(renumbered(warnings.0, base)));
                out.features += features;
                if !duplicates.has_errors() {
                    each(households)?;
                }
                rest.drain(..next);
                want = piece.max(1 << 16);
                if last {
                    break;
                }
            }
            // A piece with a problem, or a cut inside a string: read on, so that the problems are
            // named exactly (at the end of the file, they are).
            Err(Error::Invalid(_)) if !last => want = want.saturating_mul(2),
            Err(Error::Invalid(problems)) => {
                return Err(Error::Invalid(renumbered(problems, out.features)));
            }
            Err(e) => return Err(e),
        }
    }
    if duplicates.has_errors() {
        return Err(Error::Invalid(duplicates.0));
    }
    Ok(out)
}

/// Where the top-level features array closes (the offset of its `]`) and what follows it (the
/// collection's other members and its `}`), found in the last MiB of the file: the leftmost `]` after
/// which the rest completes `{"features":[]` as a JSON object. A `]` inside a feature cannot (what
/// follows closes more than the object), nor one inside a string; one inside a later member (a `bbox`)
/// can, but lies to the right of the real one. `None` when no such place is found.
fn find_trailer(path: &Path) -> Result<Option<(u64, Vec<u8>)>> {
    use std::io::{Cursor, Seek, SeekFrom};
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(read_err)?;
    let size = f.metadata().map_err(read_err)?.len();
    let start = size.saturating_sub(1 << 20);
    f.seek(SeekFrom::Start(start)).map_err(read_err)?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).map_err(read_err)?;
    for (at, _) in tail.iter().enumerate().filter(|(_, b)| **b == b']') {
        let after = &tail[at + 1..];
        let first = after.iter().find(|b| !b.is_ascii_whitespace());
        if !matches!(first, Some(b'}' | b',')) {
            continue;
        }
        let doc = Cursor::new(&b"{\"features\":[]"[..]).chain(Cursor::new(after));
        if serde_json::from_reader::<_, serde::de::IgnoredAny>(doc).is_ok() {
            return Ok(Some((start + at as u64, after.to_vec())));
        }
    }
    Ok(None)
}

/// Problems of a piece with their features numbered from the start of the file.
fn renumbered(mut problems: Vec<Problem>, base: usize) -> Vec<Problem> {
    for p in &mut problems {
        if let Some(f) = &mut p.feature {
            f.index += base;
        }
    }
    problems
}

/// Households placed in their groups of leaves and written to disk, one file per group.
pub struct Spilled {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
    /// Household points per group.
    pub points: Vec<usize>,
    /// Features read.
    pub features: usize,
    /// What lies outside every leaf (counted, not planned).
    pub outside: Outside,
    /// Warnings of the reading and the placing.
    pub warnings: Problems,
}

impl Spilled {
    /// The households of group `g`, in file order.
    pub fn read(&self, g: usize) -> Result<Vec<Household>> {
        let path = &self.files[g];
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let mut at = Decoder {
            bytes: &bytes,
            at: 0,
        };
        let mut out = Vec::with_capacity(self.points[g]);
        while at.at < bytes.len() {
            out.push(at.household().ok_or_else(|| {
                Error::Invalid(vec![Problem::error(
                    &path.display().to_string(),
                    "a spill file of gridplan's own is cut short (disk full?)",
                )])
            })?);
        }
        Ok(out)
    }

    /// Where the spill files are (removed when this is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Reads the households of `path` piece by piece, places each in its leaf of `tree` (by its
/// `community` when that names a leaf, else by position; the lowest code where leaves overlap, as
/// [`crate::input::dataset::Dataset::new`] does) and writes it to the spill file of the leaf's group
/// (`group_of[leaf]`, below `groups`).
pub fn spill_by_group(
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
    tree: &AreaTree,
    group_of: &[Option<usize>],
    groups: usize,
) -> Result<Spilled> {
    let name = display(path);
    let dir = tempfile::Builder::new()
        .prefix("gridplan-spill-")
        .tempdir()
        .map_err(|source| Error::Write {
            path: std::env::temp_dir(),
            source,
        })?;
    let files: Vec<PathBuf> = (0..groups)
        .map(|g| dir.path().join(format!("{g}.bin")))
        .collect();
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    let mut writers = files
        .iter()
        .map(|p| {
            File::create(p)
                .map(|f| BufWriter::with_capacity(1 << 16, f))
                .map_err(write_err(p))
        })
        .collect::<Result<Vec<_>>>()?;
    let leaves = tree.leaves();
    let index = PolygonIndex::new(leaves.iter().map(|&l| &tree.areas[l].geometry).collect());
    let mut points = vec![0usize; groups];
    let mut outside = Outside::default();
    let mut overlaps = 0usize;
    let mut bad_codes: BTreeMap<Box<str>, usize> = BTreeMap::new();
    let mut buf = Vec::new();
    let streamed = for_each_piece(path, crs_flag, working, PIECE_BYTES, |households| {
        // (leaf, overlap, bad code) per household, on every core.
        let placed: Vec<(Option<usize>, bool, bool)> = households
            .par_iter()
            .map(|h| {
                let mut bad = false;
                if let Some(code) = &h.community {
                    match tree.get(code) {
                        Some(i) if tree.is_leaf(i) => return (Some(i), false, false),
                        _ => bad = true,
                    }
                }
                let hits = index.containing(h.pos);
                (hits.first().map(|&k| leaves[k]), hits.len() > 1, bad)
            })
            .collect();
        for (h, (leaf, overlap, bad)) in households.iter().zip(placed) {
            overlaps += overlap as usize;
            if let (true, Some(c)) = (bad, &h.community) {
                *bad_codes.entry(c.clone()).or_default() += 1;
            }
            match leaf.and_then(|l| group_of.get(l).copied().flatten()) {
                Some(g) => {
                    buf.clear();
                    encode(h, &mut buf);
                    writers[g].write_all(&buf).map_err(write_err(&files[g]))?;
                    points[g] += 1;
                }
                None => {
                    outside.points += 1;
                    outside.households += h.households as u64;
                }
            }
        }
        Ok(())
    })?;
    for (w, p) in writers.into_iter().zip(&files) {
        w.into_inner()
            .map_err(|e| Error::Write {
                path: p.clone(),
                source: e.into_error(),
            })?
            .sync_data()
            .map_err(write_err(p))?;
    }
    let mut warnings = streamed.warnings;
    if outside.points > 0 {
        warnings.push(
            Problem::warning(
                &name,
                format!(
                    "{} household point(s) holding {} household(s) lie outside every leaf; they are counted, not planned",
                    outside.points, outside.households
                ),
            )
            .field("geometry"),
        );
    }
    if overlaps > 0 {
        warnings.push(
            Problem::warning(
                &name,
                format!(
                    "{overlaps} household point(s) lie inside two or more overlapping leaves; each went to the leaf with the lowest code"
                ),
            )
            .field("geometry"),
        );
    }
    for (code, n) in bad_codes {
        warnings.push(
            Problem::warning(
                &name,
                format!(
                    "{n} household point(s) name community \"{code}\", which is not a leaf of the boundaries; they were placed by location"
                ),
            )
            .field("community"),
        );
    }
    Ok(Spilled {
        dir,
        files,
        points,
        features: streamed.features,
        outside,
        warnings,
    })
}

// A household on disk: little-endian numbers, strings as a length (u32::MAX for none) and bytes.

fn encode(h: &Household, out: &mut Vec<u8>) {
    out.extend_from_slice(&(h.feature as u64).to_le_bytes());
    out.extend_from_slice(&h.pos.x.to_le_bytes());
    out.extend_from_slice(&h.pos.y.to_le_bytes());
    out.extend_from_slice(&h.households.to_le_bytes());
    out.extend_from_slice(&h.population.map_or(u32::MAX, |p| p).to_le_bytes());
    out.push(h.population.is_some() as u8);
    for s in [&h.id, &h.building, &h.entrance, &h.community] {
        match s {
            Some(s) => {
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
    }
    let s = &h.sensitive;
    for v in [s.elderly_alone, s.key_persons, s.vulnerable] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Decoder<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let b = self.bytes.get(self.at..self.at + N)?.try_into().ok()?;
        self.at += N;
        Some(b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn f64(&mut self) -> Option<f64> {
        self.take::<8>().map(f64::from_le_bytes)
    }
    fn text(&mut self) -> Option<Option<Box<str>>> {
        let n = self.u32()?;
        if n == u32::MAX {
            return Some(None);
        }
        let s = self.bytes.get(self.at..self.at + n as usize)?;
        self.at += n as usize;
        Some(Some(std::str::from_utf8(s).ok()?.into()))
    }
    fn household(&mut self) -> Option<Household> {
        let feature = u64::from_le_bytes(self.take::<8>()?) as usize;
        let pos = Coord {
            x: self.f64()?,
            y: self.f64()?,
        };
        let households = self.u32()?;
        let population = self.u32()?;
        let known = self.take::<1>()?[0] == 1;
        let id = self.text()?;
        let building = self.text()?;
        let entrance = self.text()?;
        let community = self.text()?;
        let sensitive = Sensitive {
            elderly_alone: self.u32()?,
            key_persons: self.u32()?,
            vulnerable: self.u32()?,
        };
        Some(Household {
            feature,
            id,
            pos,
            households,
            population: known.then_some(population),
            building,
            entrance,
            community,
            sensitive,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_household_comes_back_from_disk_as_it_went() {
        let h = Household {
            feature: 123_456_789,
            id: Some("户-1".into()),
            pos: Coord {
                x: 512_345.25,
                y: 3_571_000.5,
            },
            households: 3,
            population: Some(7),
            building: Some("B12".into()),
            entrance: None,
            community: Some("320116001001".into()),
            sensitive: Sensitive {
                elderly_alone: 1,
                key_persons: 0,
                vulnerable: 2,
            },
        };
        let mut buf = Vec::new();
        encode(&h, &mut buf);
        let first_len = buf.len();
        let plain = Household {
            population: None,
            id: None,
            building: None,
            community: None,
            ..h.clone()
        };
        encode(&plain, &mut buf);
        let mut d = Decoder { bytes: &buf, at: 0 };
        let back = d.household().expect("first");
        assert_eq!(format!("{back:?}"), format!("{h:?}"));
        let back = d.household().expect("second");
        assert_eq!(format!("{back:?}"), format!("{plain:?}"));
        assert_eq!(d.at, buf.len());
        // Cut short: refused, not misread.
        let mut d = Decoder {
            bytes: &buf[..buf.len() - 1],
            at: first_len,
        };
        assert!(d.household().is_none());
    }
}
