//! Inputs that are not what they claim, or too large, are refused at once with exit status 2 and a
//! message naming the file (and, for size, the flag that raises the cap): never gigabytes of memory.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use std::path::Path;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

struct Files {
    _dir: tempfile::TempDir,
    boundaries: std::path::PathBuf,
    households: std::path::PathBuf,
    grids: std::path::PathBuf,
    zeros: std::path::PathBuf,
}

fn files() -> Files {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let boundaries = write(dir, "boundaries.geojson", &two_leaves());
    let households = write(dir, "households.geojson", &hand_households());
    let grids = write(
        dir,
        "grids.geojson",
        &collection_4549(vec![
            grid("A-G01", "A", rect(0.0, 0.0, 1000.0, 1000.0)),
            grid("B-G01", "B", rect(1000.0, 0.0, 2000.0, 1000.0)),
        ]),
    );
    // 8 MiB of zero bytes: what `/dev/zero` or a broken download gives.
    let zeros = dir.join("zeros.geojson");
    std::fs::write(&zeros, vec![0u8; 8 << 20]).unwrap();
    Files {
        _dir: d,
        boundaries,
        households,
        grids,
        zeros,
    }
}

fn assert_refused(out: &std::process::Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in:\n{err}");
    }
}

#[test]
fn a_file_of_zeros_is_refused_at_its_first_byte_in_every_role() {
    let f = files();
    for role in ["households", "boundaries", "grids"] {
        let pick = |r: &str, good: &Path| -> String {
            if r == role {
                p(&f.zeros).to_string()
            } else {
                p(good).to_string()
            }
        };
        let out = run(&[
            "check",
            "--grids",
            &pick("grids", &f.grids),
            "--households",
            &pick("households", &f.households),
            "--boundaries",
            &pick("boundaries", &f.boundaries),
        ]);
        assert_refused(
            &out,
            &["zeros.geojson", "not a GeoJSON file", "byte 0 is 0x00"],
        );
    }
    let out = run(&[
        "check",
        "--grids",
        p(&f.grids),
        "--households",
        p(&f.households),
        "--boundaries",
        p(&f.boundaries),
        "--rules",
        p(&f.zeros),
    ]);
    assert_refused(&out, &["zeros.geojson", "not a text file"]);
}

#[test]
fn an_endless_stream_of_zeros_is_refused_without_reading_it() {
    let zero = Path::new("/dev/zero");
    if !zero.exists() {
        return;
    }
    let f = files();
    let out = run(&[
        "check",
        "--grids",
        p(&f.grids),
        "--households",
        "/dev/zero",
        "--boundaries",
        p(&f.boundaries),
    ]);
    assert_refused(&out, &["/dev/zero", "not a GeoJSON file"]);
    let out = run(&["rules", "--rules", "/dev/zero"]);
    assert_refused(&out, &["/dev/zero", "not a text file"]);
}

#[test]
fn a_file_past_the_cap_is_refused_naming_the_file_and_the_flag() {
    let f = files();
    // A valid households file made 2 MiB long with trailing whitespace.
    let mut text = std::fs::read_to_string(&f.households).unwrap();
    text.push_str(&" ".repeat(2 << 20));
    let big = f.households.with_file_name("big-households.geojson");
    std::fs::write(&big, text).unwrap();
    let args = |h: &Path| {
        vec![
            "check".to_string(),
            "--grids".into(),
            p(&f.grids).into(),
            "--households".into(),
            p(h).into(),
            "--boundaries".into(),
            p(&f.boundaries).into(),
        ]
    };
    let mut capped = args(&big);
    capped.extend(["--max-input-mb".to_string(), "1".to_string()]);
    let out = bin().args(&capped).output().unwrap();
    assert_refused(
        &out,
        &[
            "big-households.geojson",
            "--max-input-mb",
            "input cap of 1 MiB",
        ],
    );
    // The same file under the default cap is read (the check runs: 0 or 1).
    let out = bin().args(args(&big)).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    // The flag is accepted by every command that reads files.
    for cmd in ["check", "partition", "diff", "assign", "serve", "rules"] {
        let out = run(&[cmd, "--help"]);
        assert!(
            stdout(&out).contains("--max-input-mb"),
            "{cmd} --help lacks --max-input-mb"
        );
    }
}
