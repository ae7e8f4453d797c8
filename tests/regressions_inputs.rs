//! Hostile input files: a spreadsheet sized by its stray far cell or unpacking to gigabytes, a damaged
//! FlatGeobuf layer, a CSV of a million columns, absurd ground layers. Each is read within the memory
//! its own size allows, or refused by name (exit status 2), never a crash.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use gridplan::input::ledger::{LedgerFormat, parse_ledger_as};
use gridplan::spatial::crs::{Crs, WGS84};
use serde_json::{Map, Value, json};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

const DEMO_B: &str = "data/boundaries.geojson";
const DEMO_G: &str = "data/grids.geojson";
const DEMO_H: &str = "data/households.geojson";

/// Runs the binary with its address space capped at `gib` GiB: an input read whole by the sheet's
/// declared size (gigabytes) fails to allocate and aborts, where one read by what it holds does not.
fn run_capped(gib: u64, args: &[&str]) -> Output {
    let kib = gib << 20;
    let program = bin().get_program().to_owned();
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib}; exec \"$0\" \"$@\""))
        .arg(program)
        .args(args)
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .output()
        .unwrap()
}

fn check_households(households: &Path) -> Vec<String> {
    let h = households.to_str().unwrap();
    vec![
        "check".into(),
        "--grids".into(),
        DEMO_G.into(),
        "--households".into(),
        h.into(),
        "--boundaries".into(),
        DEMO_B.into(),
    ]
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The first `n` demo households' positions and ids.
fn demo_points(n: usize) -> Vec<(f64, f64, String)> {
    let text = std::fs::read_to_string(DEMO_H).unwrap();
    let demo: Value = serde_json::from_str(&text).unwrap();
    demo["features"]
        .as_array()
        .unwrap()
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, f)| {
            let c = &f["geometry"]["coordinates"];
            (
                c[0].as_f64().unwrap(),
                c[1].as_f64().unwrap(),
                format!("H{i}"),
            )
        })
        .collect()
}

/// A ledger workbook of `rows` demo households (columns lon, lat, id), with `extra` written after.
fn ledger_xlsx(rows: usize, extra: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["lon", "lat", "id"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, (x, y, id)) in demo_points(rows).iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_number(r, 0, *x).unwrap();
        ws.write_number(r, 1, *y).unwrap();
        ws.write_string(r, 2, id).unwrap();
    }
    extra(ws);
    wb.save_to_buffer().unwrap()
}

/// The workbook `xlsx` zipped again with the part `name` replaced by `part` (deflated).
fn replace_part(xlsx: &[u8], name: &str, part: &[u8]) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut zout = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let n = f.name().unwrap().to_string();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        zout.start_file(n.as_str(), options).unwrap();
        zout.write_all(if n == name { part } else { &bytes })
            .unwrap();
    }
    zout.finish().unwrap().into_inner()
}

fn part_text(xlsx: &[u8], name: &str) -> String {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut s = String::new();
    zin.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn read_ledger(bytes: &[u8]) -> gridplan::Result<usize> {
    parse_ledger_as(
        "ledger.xlsx",
        bytes,
        &LedgerFormat::default(),
        None,
        Crs(4549),
    )
    .map(|(h, _)| h.len())
}

fn write_to(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn a_cell_at_xfd1048576_costs_one_cell_not_the_whole_sheet() {
    let d = tempfile::tempdir().unwrap();
    let xlsx = ledger_xlsx(49, |ws| {
        ws.write_string(1_048_575, 16_383, "x").unwrap();
    });
    assert!(xlsx.len() < 10_000, "a small file: {} bytes", xlsx.len());
    let p = write_to(d.path(), "far.xlsx", &xlsx);
    // Sized by its dimension the sheet is 17 billion cells; read by what it holds, 150.
    let o = run_capped(2, &args(&check_households(&p)));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("far.xlsx") && e.contains("row 1048576"), "{e}");
    // The same rows without the stray cell are read, every one.
    let clean = ledger_xlsx(49, |_| {});
    assert_eq!(read_ledger(&clean).unwrap(), 49);
}

#[test]
fn a_tall_and_wide_sheet_is_read_by_its_cells() {
    // Cells down column XFD and along row 1: a sheet 16,384 wide and 100,000 tall, holding 200 cells.
    let xlsx = ledger_xlsx(20, |ws| {
        for r in 0..100u32 {
            ws.write_string(1000 * r + 30, 16_383, "x").unwrap();
        }
    });
    let e = read_ledger(&xlsx).unwrap_err().to_string();
    assert!(e.contains("row 31:") && e.contains("column A `lon`"), "{e}");
}

#[test]
fn a_shared_strings_bomb_is_refused_before_it_is_read() {
    let xlsx = ledger_xlsx(3, |_| {});
    let n = 400_000;
    let mut bomb = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"{n}\" uniqueCount=\"{n}\">"
    );
    bomb.push_str(&"<si><t>a</t></si>".repeat(n));
    bomb.push_str("</sst>");
    let bombed = replace_part(&xlsx, "xl/sharedStrings.xml", bomb.as_bytes());
    assert!(bombed.len() < 64_000, "{}", bombed.len());
    let e = read_ledger(&bombed).unwrap_err().to_string();
    assert!(
        e.contains("ledger.xlsx") && e.contains("xl/sharedStrings.xml") && e.contains("zip bomb"),
        "{e}"
    );
}

#[test]
fn a_whitespace_bomb_in_the_sheet_is_refused() {
    let xlsx = ledger_xlsx(3, |_| {});
    let sheet = part_text(&xlsx, "xl/worksheets/sheet1.xml");
    let blank = " ".repeat(8 << 20);
    let bomb = sheet.replacen("<sheetData>", &format!("<sheetData>{blank}"), 1);
    let bombed = replace_part(&xlsx, "xl/worksheets/sheet1.xml", bomb.as_bytes());
    let e = read_ledger(&bombed).unwrap_err().to_string();
    assert!(
        e.contains("xl/worksheets/sheet1.xml") && e.contains("zip bomb"),
        "{e}"
    );
}

#[test]
fn a_shared_strings_count_that_cannot_be_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let xlsx = ledger_xlsx(3, |_| {});
    let strings = part_text(&xlsx, "xl/sharedStrings.xml");
    let at = strings.find("uniqueCount=\"").unwrap() + "uniqueCount=\"".len();
    let end = at + strings[at..].find('"').unwrap();
    let lying = format!("{}999999999999999{}", &strings[..at], &strings[end..]);
    let bytes = replace_part(&xlsx, "xl/sharedStrings.xml", lying.as_bytes());
    let p = write_to(d.path(), "count.xlsx", &bytes);
    let o = run_capped(2, &args(&check_households(&p)));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("count.xlsx") && e.contains("999999999999999"),
        "{e}"
    );
}

#[test]
fn a_workbook_unpacking_past_the_input_cap_is_refused_naming_the_flag() {
    let d = tempfile::tempdir().unwrap();
    // About 3 MB of sheet XML, packed the ordinary 5 to 20 times.
    let xlsx = ledger_xlsx(3, |ws| {
        for r in 0..30_000u32 {
            ws.write_number(r + 10, 3, f64::from(r) * 1.000_123_7)
                .unwrap();
            ws.write_string(r + 10, 4, format!("note {}", r * 7919 % 10007))
                .unwrap();
        }
    });
    let p = write_to(d.path(), "big.xlsx", &xlsx);
    let mut a = check_households(&p);
    a.extend(["--max-input-mb".to_string(), "1".to_string()]);
    let o = run(&args(&a));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("big.xlsx") && e.contains("--max-input-mb"),
        "{e}"
    );
}

#[test]
fn a_csv_of_a_million_columns_is_refused_by_name() {
    let mut csv = String::from("lon,lat");
    csv.push_str(&",".repeat(1_000_000));
    csv.push_str("\n118.8,32.3\n");
    let e = parse_ledger_as(
        "wide.csv",
        csv.as_bytes(),
        &LedgerFormat::default(),
        None,
        WGS84,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("wide.csv") && e.contains("row 1") && e.contains("16384"),
        "{e}"
    );
    // A CSV as wide as a sheet may be is read.
    let mut csv = String::from("lon,lat");
    csv.push_str(&",".repeat(16_000));
    csv.push_str("\n118.8,32.3\n");
    let read = parse_ledger_as(
        "wide.csv",
        csv.as_bytes(),
        &LedgerFormat::default(),
        None,
        WGS84,
    );
    assert_eq!(read.unwrap().0.len(), 1);
}

// ---- FlatGeobuf ----------------------------------------------------------------------------------

/// A real FlatGeobuf layer of demo households (points with text and number properties) as gridplan
/// writes it.
fn households_fgb(dir: &Path, n: usize) -> Vec<u8> {
    let p = dir.join("households.fgb");
    let mut w = gridplan::output::FeatureWriter::create(&p, WGS84, WGS84).unwrap();
    for (x, y, id) in demo_points(n) {
        let mut props = Map::new();
        props.insert("id".into(), json!(id));
        props.insert("households".into(), json!(2));
        props.insert("building".into(), json!("B1"));
        w.feature(
            None,
            gridplan::output::Shape::Point(geo::Coord { x, y }),
            &props,
        )
        .unwrap();
    }
    w.finish().unwrap();
    std::fs::read(&p).unwrap()
}

/// A FlatGeobuf layer of grids (polygons) as gridplan writes it.
fn grids_fgb(dir: &Path) -> Vec<u8> {
    let p = dir.join("grids.fgb");
    let o = run(&[
        "partition",
        "--households",
        DEMO_H,
        "--boundaries",
        DEMO_B,
        "--out",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::read(&p).unwrap()
}

/// The header's `index_node_size` field set to `size` (the field is written by a writer told not to
/// index, as 0): found through the FlatBuffers vtable.
fn with_node_size(mut fgb: Vec<u8>, size: u16) -> Vec<u8> {
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as usize;
    let table = 12 + u32_at(&fgb, 12);
    let vtable = (table as i64
        - i64::from(i32::from_le_bytes(
            fgb[table..table + 4].try_into().unwrap(),
        ))) as usize;
    let vt_len = u16::from_le_bytes(fgb[vtable..vtable + 2].try_into().unwrap()) as usize;
    const VT_INDEX_NODE_SIZE: usize = 22;
    assert!(
        VT_INDEX_NODE_SIZE < vt_len,
        "the header stores its node size"
    );
    let off = u16::from_le_bytes(
        fgb[vtable + VT_INDEX_NODE_SIZE..vtable + VT_INDEX_NODE_SIZE + 2]
            .try_into()
            .unwrap(),
    ) as usize;
    assert!(off > 0, "the header stores its node size");
    fgb[table + off..table + off + 2].copy_from_slice(&size.to_le_bytes());
    fgb
}

/// A layer of `n` points written by the flatgeobuf crate without an index (node size 0, stored).
fn unindexed_fgb(n: usize) -> Vec<u8> {
    use flatgeobuf::{ColumnType, FgbWriter, FgbWriterOptions, GeometryType};
    use geozero::{ColumnValue, PropertyProcessor};
    let mut w = FgbWriter::create_with_options(
        "points",
        GeometryType::Point,
        FgbWriterOptions {
            write_index: false,
            ..Default::default()
        },
    )
    .unwrap();
    w.add_column("id", ColumnType::String, |_, _| {});
    for (x, y, id) in demo_points(n) {
        w.add_feature_geom(geo::Geometry::Point(geo::Point::new(x, y)), |f| {
            f.property(0, "id", &ColumnValue::String(&id)).unwrap();
        })
        .unwrap();
    }
    let mut out = Vec::new();
    w.write(&mut out).unwrap();
    out
}

#[test]
fn an_index_node_size_of_1_is_a_named_error() {
    let d = tempfile::tempdir().unwrap();
    let fgb = with_node_size(unindexed_fgb(5), 1);
    let p = write_to(d.path(), "node1.fgb", &fgb);
    let o = run(&args(&check_households(&p)));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("node1.fgb") && e.contains("node size of 1"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    // Untouched, the same layer is read.
    let p = write_to(d.path(), "node0.fgb", &unindexed_fgb(5));
    let o = run(&args(&check_households(&p)));
    assert_ne!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn a_feature_size_past_the_end_of_the_file_is_a_named_error() {
    let d = tempfile::tempdir().unwrap();
    let mut fgb = households_fgb(d.path(), 30);
    // The first feature's size prefix sits right after the header and the index; the last feature's
    // is found by walking the sizes.
    let header = 12 + u32::from_le_bytes(fgb[8..12].try_into().unwrap()) as usize;
    let count = 30u64;
    let mut n = count;
    let mut nodes = n;
    while n > 1 {
        n = n.div_ceil(16);
        nodes += n;
    }
    let first = header + nodes as usize * 40;
    fgb[first..first + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let p = write_to(d.path(), "huge.fgb", &fgb);
    let o = run_capped(2, &args(&check_households(&p)));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("huge.fgb") && e.contains("feature 0") && e.contains("runs past the end"),
        "{e}"
    );
}

/// A seeded xorshift generator: the same flips every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Reads `bytes` as a FlatGeobuf layer, from memory and from disk; a panic fails the test with the case.
fn read_both_ways(dir: &Path, case: &str, bytes: &[u8]) {
    let read = std::panic::catch_unwind(|| gridplan::input::fgb::to_geojson("fuzz.fgb", bytes));
    match read {
        Err(_) => panic!("{case}: reading from memory panicked"),
        Ok(Err(p)) => assert_eq!(p.file, "fuzz.fgb", "{case}: {p}"),
        Ok(Ok(text)) => {
            serde_json::from_slice::<Value>(&text).unwrap_or_else(|e| panic!("{case}: {e}"));
        }
    }
    let path = dir.join("fuzz.fgb");
    std::fs::write(&path, bytes).unwrap();
    let read = std::panic::catch_unwind(|| {
        gridplan::input::fgb::for_each_piece("fuzz.fgb", &path, 1 << 16, |_, _| Ok(()))
    });
    match read {
        Err(_) => panic!("{case}: reading from disk panicked"),
        Ok(Err(e)) => assert!(e.to_string().contains("fuzz.fgb"), "{case}: {e}"),
        Ok(Ok(())) => {}
    }
}

#[test]
fn damaged_flatgeobuf_layers_are_named_errors_never_panics() {
    let d = tempfile::tempdir().unwrap();
    let layers = [
        households_fgb(d.path(), 40),
        grids_fgb(d.path()),
        unindexed_fgb(20),
    ];
    // Quiet the default hook while panics are being looked for (a panic still fails the test).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (l, layer) in layers.iter().enumerate() {
        read_both_ways(d.path(), &format!("layer {l} untouched"), layer);
        for round in 0..300 {
            let mut bytes = layer.clone();
            let flips = 1 + rng.below(4);
            for _ in 0..flips {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
            read_both_ways(
                d.path(),
                &format!("layer {l} round {round} ({flips} flips)"),
                &bytes,
            );
        }
        for round in 0..60 {
            let at = rng.below(layer.len());
            read_both_ways(
                d.path(),
                &format!("layer {l} cut at {at} (round {round})"),
                &layer[..at],
            );
        }
    }
    std::panic::set_hook(hook);
}
