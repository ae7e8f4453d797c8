//! A households file too large to hold: read piece by piece, each household placed in its leaf and
//! written to a spill file per group of leaves (a county), so that the work goes on county by county
//! with memory bounded by the largest county, not the whole file (`partition --by-county`).
//!
//! A GeoJSON file is cut into pieces of about [`PIECE_BYTES`] at boundaries between features; each
//! piece is parsed as a collection of its own (the file's members before `features`, such as `crs`,
//! then the piece's features) on every core, exactly as a whole file is, and proved by parsing: a cut
//! that fell inside a string makes the piece fail, and the piece is then read again with more of the
//! file. A file with problems is therefore read whole in the end, so that every problem is named, with
//! its feature numbered from the start of the file. Ledgers (CSV), GeoPackages and Shapefiles are read
//! whole; FlatGeobuf files feature by feature.

use crate::error::{Error, Result};
use crate::input::dataset::{Outside, Placed, Placement, Placer};
use crate::input::{self, display, ledger, raw};
use crate::model::{Household, Sensitive};
use crate::problem::{Problem, Problems};
use crate::spatial::crs::Crs;
use crate::spatial::tree::AreaTree;
use geo::Coord;
use rayon::prelude::*;
use std::collections::HashMap;
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
    if is_fgb {
        return fgb_pieces(&name, path, crs_flag, working, piece, &mut each);
    }
    // Ledgers, GeoPackages and Shapefiles are read whole.
    if ledger::is_ledger_path(path) || crate::formats::gis_format(path).is_some() {
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
    let mut duplicates: Vec<Problem> = Vec::new();
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
                renumber_and_find_duplicates(
                    &name,
                    &mut households,
                    base,
                    &mut ids,
                    &mut duplicates,
                );
                out.warnings.extend(Problems(renumbered(warnings.0, base)));
                out.features += features;
                if duplicates.is_empty() {
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
    if !duplicates.is_empty() {
        return Err(Error::Invalid(duplicates));
    }
    Ok(out)
}

/// [`for_each_piece`] for a FlatGeobuf layer: read feature by feature ([`super::fgb::for_each_piece`]),
/// each piece validated as the GeoJSON it holds; the problems of every piece are gathered and named
/// together at the end, features numbered from the start of the layer.
fn fgb_pieces(
    name: &str,
    path: &Path,
    crs_flag: Option<Crs>,
    working: Crs,
    piece: usize,
    each: &mut dyn FnMut(Vec<Household>) -> Result<()>,
) -> Result<Streamed> {
    let mut out = Streamed::default();
    let mut ids: HashMap<u64, usize> = HashMap::new();
    let mut errors: Vec<Problem> = Vec::new();
    super::fgb::for_each_piece(name, path, piece, |doc, features| {
        let base = out.features;
        out.features += features;
        match input::parse_households_geojson(name, doc, crs_flag, working, true) {
            Ok((mut households, warnings, _)) => {
                renumber_and_find_duplicates(name, &mut households, base, &mut ids, &mut errors);
                out.warnings.extend(Problems(renumbered(warnings.0, base)));
                if errors.is_empty() {
                    each(households)?;
                }
                Ok(())
            }
            Err(Error::Invalid(problems)) => {
                errors.extend(renumbered(problems, base));
                Ok(())
            }
            Err(e) => Err(e),
        }
    })?;
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Numbers a piece's households from the start of the file and names every id seen before.
fn renumber_and_find_duplicates(
    name: &str,
    households: &mut [Household],
    base: usize,
    ids: &mut HashMap<u64, usize>,
    errors: &mut Vec<Problem>,
) {
    for h in households {
        h.feature += base;
        if let Some(id) = &h.id {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            id.hash(&mut hasher);
            if let Some(first) = ids.insert(hasher.finish(), h.feature) {
                errors.push(
                    Problem::error(name, format!("duplicate id (also feature {first})"))
                        .at(h.feature, Some(id))
                        .field("id"),
                );
            }
        }
    }
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
    let mut builder = tempfile::Builder::new();
    builder.prefix("gridplan-spill-");
    // Household-level data: the running user's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let dir = builder.tempdir().map_err(|source| Error::Write {
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
    let placer = Placer::new(tree);
    let mut points = vec![0usize; groups];
    let mut tally = Placement::default();
    let mut buf = Vec::new();
    let streamed = for_each_piece(path, crs_flag, working, PIECE_BYTES, |households| {
        let placed: Vec<Placed> = households.par_iter().map(|h| placer.place(h)).collect();
        for (h, p) in households.iter().zip(&placed) {
            tally.count(h, p);
            if let Some(g) = p.leaf.and_then(|l| group_of.get(l).copied().flatten()) {
                buf.clear();
                encode(h, &mut buf);
                writers[g].write_all(&buf).map_err(write_err(&files[g]))?;
                points[g] += 1;
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
    tally.warn(&name, &mut warnings);
    Ok(Spilled {
        dir,
        files,
        points,
        features: streamed.features,
        outside: tally.outside,
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
    use crate::fixtures::{area, rect};

    #[test]
    fn households_are_spilled_per_county_where_only_the_user_can_read_them_and_removed() {
        let rules = crate::rules::Rules::default();
        let areas = vec![
            area(
                "A",
                None,
                Some("urban"),
                rect(5e5, 35e5, 5e5 + 100.0, 35e5 + 100.0),
            ),
            area(
                "B",
                None,
                Some("urban"),
                rect(5e5 + 100.0, 35e5, 5e5 + 200.0, 35e5 + 100.0),
            ),
        ];
        let (tree, _) = AreaTree::build("b", areas, &rules);
        let features: Vec<String> = [(10.0, 10.0), (150.0, 50.0), (160.0, 20.0), (500.0, 500.0)]
            .iter()
            .map(|(x, y)| {
                let (x, y) = (5e5 + x, 35e5 + y);
                format!(
                    "{{\"type\":\"Feature\",\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x},{y}]}},\"properties\":{{\"vulnerable\":1}}}}"
                )
            })
            .collect();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("h.geojson");
        std::fs::write(
            &path,
            format!(
                "{{\"type\":\"FeatureCollection\",\"crs\":{{\"type\":\"name\",\"properties\":{{\"name\":\"EPSG:4549\"}}}},\"features\":[{}]}}",
                features.join(",")
            ),
        )
        .expect("write");
        // County 0 is leaf A, county 1 leaf B.
        let mut group_of = vec![None; tree.areas.len()];
        group_of[tree.get("A").expect("A")] = Some(0);
        group_of[tree.get("B").expect("B")] = Some(1);
        let spilled = spill_by_group(&path, None, Crs(4549), &tree, &group_of, 2).expect("spilled");
        assert_eq!(spilled.points, vec![1, 2]);
        assert_eq!(spilled.outside.points, 1);
        let b = spilled.read(1).expect("read B");
        assert_eq!(b.iter().map(|h| h.feature).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(b[0].sensitive.vulnerable, 1);
        let spill_dir = spilled.dir().to_path_buf();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&spill_dir)
                .expect("dir")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        drop(spilled);
        assert!(!spill_dir.exists());
    }

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
