//! Reading an input file into memory, refusing garbage at its first bytes and anything past the input
//! cap (`--max-input-mb`), so that `/dev/zero` or a mistaken multi-gigabyte file is a named error at
//! once, never gigabytes of memory.

use crate::error::{Error, Result};
use crate::lang::messages::msg;
use crate::problem::Problem;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default cap on one input file, in MiB: twice the households file of a 1.2-million-household
/// county (210 MB as points with every property).
pub const DEFAULT_MAX_INPUT_MB: u64 = 512;

const MIB: u64 = 1024 * 1024;

static MAX_INPUT_BYTES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_INPUT_MB * MIB);

/// Sets the cap on one input file (the command line's `--max-input-mb`) for the whole process.
pub fn set_max_input_mb(mb: u64) {
    MAX_INPUT_BYTES.store(mb.saturating_mul(MIB), Ordering::Relaxed);
}

/// The cap on one input file, in bytes.
pub fn max_input_bytes() -> u64 {
    MAX_INPUT_BYTES.load(Ordering::Relaxed)
}

/// What an input file must look like at its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A JSON object: after an optional UTF-8 byte order mark and whitespace, `{`.
    JsonObject,
    /// Text (TOML, CSV or JSON): no NUL byte among the first bytes.
    Text,
    /// A spreadsheet workbook: XLSX or ODS (a ZIP archive), or XLS (an OLE compound file).
    Spreadsheet,
}

/// Whether `bytes` start as a spreadsheet workbook: a ZIP archive (XLSX, ODS) or an OLE compound file
/// (XLS).
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
}

/// How many bytes are read before the first judgement of the content.
const FIRST_CHUNK: usize = 64 * 1024;
/// How many bytes are read at a time after that.
const CHUNK: usize = 4 * 1024 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `path` whole, within the input cap, refusing content that cannot be what `expect` says as soon
/// as its first bytes show it.
pub fn read_input(path: &Path, expect: Expect) -> Result<Vec<u8>> {
    read_input_capped(path, expect, max_input_bytes())
}

/// [`read_input`] with an explicit cap in bytes.
pub fn read_input_capped(path: &Path, expect: Expect, cap: u64) -> Result<Vec<u8>> {
    // A GeoPackage or Shapefile layer (by its name) is read as the GeoJSON collection it holds.
    if expect != Expect::Spreadsheet
        && let Some(format) = crate::formats::gis_format(path)
    {
        return crate::formats::read_as_geojson(path, format, cap);
    }
    let file_name = path.display().to_string();
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read_error)?;
    let known_len = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    if let Some(len) = known_len
        && len > cap
    {
        return Err(over_cap(&file_name, Some(len), cap));
    }
    let mut bytes: Vec<u8> = Vec::with_capacity(known_len.map_or(FIRST_CHUNK, |l| l as usize + 1));
    let mut judged = false;
    let mut chunk = FIRST_CHUNK;
    loop {
        let room = (cap + 1).saturating_sub(bytes.len() as u64);
        let want = (chunk as u64).min(room);
        let before = bytes.len();
        let n = (&mut file)
            .take(want)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if !judged {
            judged = judge_start(&file_name, &bytes, expect)?;
        }
        if bytes.len() as u64 > cap {
            return Err(over_cap(&file_name, None, cap));
        }
        if n == 0 || (bytes.len() - before) < want as usize {
            break;
        }
        chunk = CHUNK;
    }
    Ok(bytes)
}

/// Judges the first bytes read so far: `Ok(true)` when they are acceptable, `Ok(false)` when more are
/// needed to tell (only whitespace so far), an error naming the file when they cannot be `expect`.
fn judge_start(file: &str, bytes: &[u8], expect: Expect) -> Result<bool> {
    match expect {
        Expect::Text => match bytes.iter().take(FIRST_CHUNK).position(|&b| b == 0) {
            Some(at) => Err(Error::Invalid(vec![Problem::error(
                file,
                msg!(NotText, at = at),
            )])),
            None => Ok(bytes.len() >= FIRST_CHUNK),
        },
        Expect::JsonObject => check_json_start(file, bytes).map_err(|p| Error::Invalid(vec![p])),
        Expect::Spreadsheet if is_workbook(bytes) => Ok(true),
        Expect::Spreadsheet => Err(Error::Invalid(vec![Problem::error(
            file,
            msg!(NotSpreadsheet),
        )])),
    }
}

/// Whether `bytes` can start a JSON object (or are a FlatGeobuf layer or a GeoPackage, read as one): after an optional UTF-8 byte order mark and whitespace, the
/// first byte must be `{`. `Ok(false)` when only whitespace (or nothing) has been seen.
pub fn check_json_start(file: &str, bytes: &[u8]) -> Result<bool, Problem> {
    if super::fgb::is_flatgeobuf(bytes) || crate::formats::gpkg::is_sqlite(bytes) {
        return Ok(true);
    }
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    match body
        .iter()
        .enumerate()
        .find(|(_, b)| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        None => Ok(false),
        Some((_, b'{')) => Ok(true),
        Some((at, &b)) => {
            let offset = at + (bytes.len() - body.len());
            let shown = if b.is_ascii_graphic() {
                format!("`{}`", b as char)
            } else {
                format!("0x{b:02X}")
            };
            Err(Problem::error(
                file,
                msg!(NotJson, offset = offset, shown = shown),
            ))
        }
    }
}

fn over_cap(file: &str, len: Option<u64>, cap: u64) -> Error {
    let size = match len {
        Some(l) => format!("is {:.1} MiB", l as f64 / MIB as f64),
        None => "goes on".to_string(),
    };
    let cap_mb = cap / MIB;
    Error::Invalid(vec![Problem::error(
        file,
        msg!(TooLarge, size = size, cap = cap_mb),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        std::io::Write::write_all(&mut f, bytes).expect("write");
        f
    }

    #[test]
    fn zeros_are_refused_at_the_first_bytes() {
        let f = file_with(&[0u8; 10]);
        let e = read_input(f.path(), Expect::JsonObject).unwrap_err();
        assert!(e.to_string().contains("byte 0 is 0x00"), "{e}");
        let e = read_input(f.path(), Expect::Text).unwrap_err();
        assert!(e.to_string().contains("NUL"), "{e}");
    }

    #[test]
    fn a_bom_and_whitespace_may_come_before_the_brace() {
        let f = file_with(b"\xEF\xBB\xBF \n\t{\"type\": \"FeatureCollection\"}");
        assert!(read_input(f.path(), Expect::JsonObject).is_ok());
        let f = file_with(b"  [1, 2]");
        let e = read_input(f.path(), Expect::JsonObject).unwrap_err();
        assert!(e.to_string().contains("byte 2 is `[`"), "{e}");
    }

    #[test]
    fn a_file_past_the_cap_is_refused_naming_the_flag() {
        let f = file_with(&[b' '; 3000]);
        let e = read_input_capped(f.path(), Expect::Text, 1000).unwrap_err();
        assert!(e.to_string().contains("--max-input-mb"), "{e}");
        assert!(e.to_string().contains(&f.path().display().to_string()));
        assert_eq!(
            read_input_capped(f.path(), Expect::Text, 3000)
                .unwrap()
                .len(),
            3000
        );
    }
}
