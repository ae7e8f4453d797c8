//! What a planner hands over (`gridplan report`, and the service's planner downloads): the grid ledger
//! (.xlsx) read back with calamine, the atlas (.pdf) read with poppler (`pdfinfo`, `pdftotext`,
//! `pdftoppm`), on the bundled demo district drawn on its ground layers; the workers' names and phones
//! in planner files only, never on an open route.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use calamine::{Data, Reader};
use common::{run, stderr};
use gridplan::service::auth::Tokens;
use gridplan::service::{Config, Limits, prepare, router};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The demo district drawn on its ground layers and staffed, once for all the tests here.
struct Demo {
    dir: PathBuf,
    grids: PathBuf,
    assignment: PathBuf,
    /// The grids as written: id → (community, 四至, primary worker).
    rows: BTreeMap<String, (String, String, Option<String>)>,
    /// The workers file: id → (name, phone).
    contacts: BTreeMap<String, (String, String)>,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("handover-reports-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let grids = dir.join("grids.geojson");
        let out = run(&[
            "partition",
            "--households",
            s(&data("households.geojson")),
            "--boundaries",
            s(&data("boundaries.geojson")),
            "--blocks",
            s(&data("blocks.geojson")),
            "--barriers",
            s(&data("barriers.geojson")),
            "--out",
            s(&grids),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let assignment = dir.join("assignment.geojson");
        let out = run(&[
            "assign",
            "--grids",
            s(&grids),
            "--households",
            s(&data("households.geojson")),
            "--workers",
            s(&data("workers.geojson")),
            "--boundaries",
            s(&data("boundaries.geojson")),
            "--out",
            s(&assignment),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let read =
            |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
        let worker_of: BTreeMap<String, String> = read(&assignment)["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| {
                let p = &f["properties"];
                Some((
                    p["id"].as_str()?.to_string(),
                    p["primary_worker"].as_str()?.to_string(),
                ))
            })
            .collect();
        let rows = read(&grids)["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let p = &f["properties"];
                let id = p["id"].as_str().unwrap().to_string();
                let row = (
                    p["community"].as_str().unwrap().to_string(),
                    p["bounds_description"].as_str().unwrap().to_string(),
                    worker_of.get(&id).cloned(),
                );
                (id, row)
            })
            .collect();
        let contacts: BTreeMap<String, (String, String)> =
            read(&data("workers.geojson"))["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let p = &f["properties"];
                    (
                        p["id"].as_str().unwrap().to_string(),
                        (
                            p["name"].as_str().unwrap().to_string(),
                            p["phone"].as_str().unwrap().to_string(),
                        ),
                    )
                })
                .collect();
        // The assignment is a shared file: the workers' names and phones stay out of it.
        let shared = std::fs::read_to_string(&assignment).unwrap();
        for (n, p) in contacts.values() {
            assert!(
                !shared.contains(p.as_str()) && !shared.contains(n.as_str()),
                "{n} {p}"
            );
        }
        Demo {
            dir,
            grids,
            assignment,
            rows,
            contacts,
        }
    })
}

/// Runs `gridplan report` on the demo into `name`, with the workers file or not.
fn report(name: &str, workers: bool) -> PathBuf {
    let d = demo();
    let out = d.dir.join(name);
    let workers_file = data("workers.geojson");
    let (boundaries, households) = (data("boundaries.geojson"), data("households.geojson"));
    let mut args = vec![
        "report",
        "--grids",
        s(&d.grids),
        "--boundaries",
        s(&boundaries),
        "--households",
        s(&households),
        "--assignment",
        s(&d.assignment),
        "--out",
        s(&out),
    ];
    if workers {
        args.extend(["--workers", s(&workers_file)]);
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

/// Every sheet of a workbook as rows of text.
fn sheets(bytes: Vec<u8>) -> Vec<(String, Vec<Vec<String>>)> {
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let names = book.sheet_names().to_vec();
    names
        .into_iter()
        .map(|n| {
            let range = book.worksheet_range(&n).unwrap();
            let rows = range
                .rows()
                .map(|r| {
                    r.iter()
                        .map(|c| match c {
                            Data::String(s) => s.clone(),
                            Data::Float(f) => f.to_string(),
                            Data::Int(i) => i.to_string(),
                            Data::Empty => String::new(),
                            other => other.to_string(),
                        })
                        .collect()
                })
                .collect();
            (n, rows)
        })
        .collect()
}

fn column(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|h| h == name)
}

#[test]
fn the_ledger_has_a_row_per_grid_with_its_bounds_and_its_workers_name_and_phone() {
    let d = demo();
    let book = sheets(std::fs::read(report("ledger.xlsx", true)).unwrap());
    assert_eq!(book[0].0, "社区汇总");
    let mut seen = BTreeSet::new();
    let mut named = 0;
    for (sheet, rows) in &book[1..] {
        let header = &rows[0];
        let (id, bounds, name, phone, worker) = (
            column(header, "网格编码").unwrap(),
            column(header, "四至").unwrap(),
            column(header, "网格员姓名").unwrap(),
            column(header, "联系电话").unwrap(),
            column(header, "网格员编号").unwrap(),
        );
        for r in &rows[1..] {
            let (community, described, primary) = d
                .rows
                .get(&r[id])
                .unwrap_or_else(|| panic!("{sheet}: {} is no grid", r[id]));
            assert!(seen.insert(r[id].clone()), "{} twice", r[id]);
            assert!(!described.is_empty());
            assert_eq!(&r[bounds], described, "{}", r[id]);
            assert!(
                r.iter().any(|c| c.contains("社区") || c.contains("村")),
                "{community}"
            );
            match primary {
                Some(w) => {
                    let (n, p) = &d.contacts[w];
                    assert_eq!((&r[worker], &r[name], &r[phone]), (w, n, p));
                    named += 1;
                }
                None => assert!(r[name].is_empty() && r[phone].is_empty()),
            }
        }
    }
    assert_eq!(seen.len(), d.rows.len(), "a row per grid");
    assert!(
        named > d.rows.len() / 2,
        "{named} grids with a named worker"
    );
}

#[test]
fn an_assignment_given_as_the_grids_names_their_workers_and_workers_without_one_are_warned_about() {
    let d = demo();
    let run_report = |grids: &Path, out: &str| {
        let out = d.dir.join(out);
        let o = run(&[
            "report",
            "--grids",
            s(grids),
            "--boundaries",
            s(&data("boundaries.geojson")),
            "--households",
            s(&data("households.geojson")),
            "--workers",
            s(&data("workers.geojson")),
            "--out",
            s(&out),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        (sheets(std::fs::read(out).unwrap()), common::stdout(&o))
    };
    // The assignment file as the grids: its own primary_worker, its 四至 described afresh.
    let (book, said) = run_report(&d.assignment, "from-assignment.xlsx");
    let rows: Vec<&Vec<String>> = book[1..].iter().flat_map(|(_, r)| r[1..].iter()).collect();
    assert_eq!(rows.len(), d.rows.len());
    let header = &book[1].1[0];
    let (name, bounds) = (
        column(header, "网格员姓名").unwrap(),
        column(header, "四至").unwrap(),
    );
    for r in &rows {
        let (_, _, primary) = &d.rows[&r[0]];
        let expected = primary.as_ref().map_or("", |w| d.contacts[w].0.as_str());
        assert_eq!(r[name], expected, "{}", r[0]);
        assert!(r[bounds].starts_with("东至"), "{}: {}", r[0], r[bounds]);
    }
    assert!(!said.contains("names its worker"), "{said}");
    assert!(said.contains("personal data"), "{said}");
    // Plain grids with workers but no assignment: said, not silently blank.
    let (_, said) = run_report(&d.grids, "no-assignment.xlsx");
    assert!(
        said.contains("names its worker") && said.contains("--assignment"),
        "{said}"
    );
    assert!(!said.contains("personal data"), "{said}");
}

#[test]
fn without_workers_the_ledger_has_no_names_or_phones() {
    let d = demo();
    let book = sheets(std::fs::read(report("ledger-no-workers.xlsx", false)).unwrap());
    let grids: usize = book[1..].iter().map(|(_, r)| r.len() - 1).sum();
    assert_eq!(grids, d.rows.len());
    for (sheet, rows) in &book {
        assert!(column(&rows[0], "网格员姓名").is_none(), "{sheet}");
        assert!(column(&rows[0], "联系电话").is_none(), "{sheet}");
        for r in rows {
            for c in r {
                for (n, p) in d.contacts.values() {
                    assert!(c != n && !c.contains(p.as_str()), "{sheet}: {c}");
                }
            }
        }
    }
}

#[test]
fn the_summary_has_a_row_per_community_that_adds_up() {
    let d = demo();
    let book = sheets(std::fs::read(report("ledger-summary.xlsx", true)).unwrap());
    let summary = &book[0].1;
    let header = &summary[0];
    let (code, grids, households) = (
        column(header, "社区（村）编码").unwrap(),
        column(header, "网格数").unwrap(),
        column(header, "户数").unwrap(),
    );
    let communities: BTreeSet<&str> = d.rows.values().map(|r| r.0.as_str()).collect();
    let body = &summary[1..summary.len() - 1];
    assert_eq!(body.len(), communities.len());
    // Households per community, summed from the town sheets.
    let mut per: BTreeMap<String, f64> = BTreeMap::new();
    for (_, rows) in &book[1..] {
        let h = column(&rows[0], "户数").unwrap();
        for r in &rows[1..] {
            *per.entry(d.rows[&r[0]].0.clone()).or_default() += r[h].parse::<f64>().unwrap();
        }
    }
    let mut total = 0.0;
    for r in body {
        let n = d.rows.values().filter(|x| x.0 == r[code]).count();
        assert_eq!(r[grids].parse::<f64>().unwrap() as usize, n, "{}", r[code]);
        assert_eq!(r[households].parse::<f64>().unwrap(), per[&r[code]]);
        total += per[&r[code]];
    }
    let last = summary.last().unwrap();
    assert_eq!(last[0], "合计");
    assert_eq!(last[households].parse::<f64>().unwrap(), total);
    // The district's households, in grids (the demo's grids tile every leaf).
    assert!(total > 19_000.0, "{total}");
}

fn poppler(tool: &str, args: &[&str]) -> std::process::Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool} runs ({e}): install poppler-utils (bash scripts/setup.sh --e2e does)")
    })
}

fn pages(pdf: &Path) -> usize {
    let info = String::from_utf8_lossy(&poppler("pdfinfo", &[s(pdf)]).stdout).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo: {info}"))
}

/// The text of a PDF with all white space taken out (table cells wrap 四至 over lines).
fn text_of(pdf: &Path) -> String {
    let out = poppler("pdftotext", &[s(pdf), "-"]);
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

#[test]
fn the_atlas_has_a_page_per_community_with_every_grid_code_and_its_bounds_as_text() {
    let d = demo();
    let pdf = report("atlas.pdf", true);
    let communities: BTreeSet<&str> = d.rows.values().map(|r| r.0.as_str()).collect();
    assert_eq!(pages(&pdf), communities.len());
    let text = text_of(&pdf);
    for (id, (_, bounds, worker)) in &d.rows {
        assert!(text.contains(id.as_str()), "{id} not in the atlas's text");
        // Each side (东至…, 南至…): a 四至 that wraps in its cell reads in pieces, column by column.
        for side in bounds.split('，') {
            let side: String = side.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(
                text.contains(&side),
                "{id}'s 四至: {side} not in the atlas's text"
            );
        }
        if let Some(w) = worker {
            assert!(text.contains(&d.contacts[w].1), "{id}'s worker's phone");
        }
    }
    for word in ["网格图", "北", "符合标准", "户数偏少", "户数偏多", "米"] {
        assert!(text.contains(word), "{word}");
    }
    // The font travels with the file.
    let fonts = String::from_utf8_lossy(&poppler("pdffonts", &[s(&pdf)]).stdout).into_owned();
    let embedded = fonts
        .lines()
        .skip(2)
        .all(|l| l.split_whitespace().rev().nth(4) == Some("yes"));
    assert!(embedded && fonts.lines().count() > 2, "{fonts}");
}

/// Pixels of the page not (near) white, from a greyscale rendering (PGM) by `pdftoppm`.
fn inked_share(pdf: &Path, page: usize) -> f64 {
    let stem = pdf.with_extension(format!("p{page}"));
    let page = page.to_string();
    let out = poppler(
        "pdftoppm",
        &[
            "-gray",
            "-r",
            "40",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            s(pdf),
            s(&stem),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(format!("{}.pgm", stem.display())).unwrap();
    // P5 <width> <height> <max>\n<pixels>
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = &bytes[at + 1..];
    assert_eq!(pixels.len(), w * h);
    pixels.iter().filter(|&&p| p < 235).count() as f64 / (w * h) as f64
}

#[test]
fn a_rendered_atlas_page_is_drawn_not_blank() {
    let pdf = report("atlas-render.pdf", false);
    let inked = inked_share(&pdf, 1);
    // The map fills about half the page with coloured grids.
    assert!(inked > 0.15, "{inked}");
}

#[test]
fn a_long_table_goes_on_over_further_pages() {
    use gridplan::ops::handover::{CommunityPart, GridEntry, GridStatus, Handover, TownPart};
    use gridplan::output::handover::{CjkFont, atlas};
    let square = |i: usize| {
        let (x, y) = ((i % 10) as f64 * 100.0, (i / 10) as f64 * 100.0);
        geo::MultiPolygon::new(vec![geo::Polygon::new(
            geo::LineString::from(vec![
                (x, y),
                (x + 100.0, y),
                (x + 100.0, y + 100.0),
                (x, y + 100.0),
                (x, y),
            ]),
            vec![],
        )])
    };
    let grids: Vec<GridEntry> = (0..90)
        .map(|i| GridEntry {
            id: format!("320116001001{:03}", i + 1),
            name: Some(format!("测试社区第{}网格", i + 1)),
            bounds: format!("东至第{i}路，南至第{i}街，西至第{i}巷，北至第{i}河"),
            households: 300 + i as u64,
            population: None,
            area_m2: 10_000.0,
            status: GridStatus::InBand,
            worker: None,
            geometry: square(i),
        })
        .collect();
    let h = Handover {
        working: gridplan::Crs(4549),
        district: Some("测试区".into()),
        towns: vec![TownPart {
            code: "320116001".into(),
            name: "测试街道".into(),
            communities: vec![CommunityPart {
                code: "320116001001".into(),
                name: "测试社区".into(),
                kind: Some("urban".into()),
                outline: None,
                grids,
            }],
        }],
        contacts: false,
        warnings: Default::default(),
    };
    let font = CjkFont::find().unwrap();
    let pdf = demo().dir.join("long-table.pdf");
    std::fs::write(&pdf, atlas::atlas_pdf(&h, &font).unwrap()).unwrap();
    assert!(pages(&pdf) >= 2, "{}", pages(&pdf));
    // A community of many grids gets an A3 page.
    let info = String::from_utf8_lossy(&poppler("pdfinfo", &[s(&pdf)]).stdout).into_owned();
    assert!(info.contains("(A3)"), "{info}");
    let out = poppler("pdftotext", &[s(&pdf), "-"]);
    let words: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    for i in 1..=90 {
        let id = format!("320116001001{i:03}");
        let n = words.iter().filter(|w| **w == id).count();
        assert_eq!(n, 2, "{id}: on the map and once in the table");
    }
    let text = text_of(&pdf);
    assert!(text.contains("网格表续"));
}

#[test]
fn other_extensions_are_refused_by_name_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["ledger.xls", "atlas.docx", "report.json", "noextension"] {
        let out = dir.path().join(name);
        let o = run(&[
            "report",
            "--grids",
            "missing-grids.geojson",
            "--boundaries",
            "missing-boundaries.geojson",
            "--households",
            "missing-households.geojson",
            "--out",
            s(&out),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let e = stderr(&o);
        assert!(
            e.contains(".xlsx") && e.contains(".pdf") && e.contains(name),
            "{e}"
        );
        assert!(!e.contains("missing-"), "refused before reading: {e}");
        assert!(!out.exists());
    }
}

#[test]
fn bad_input_names_the_file_the_feature_and_the_field() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    // A worker whose phone is an object.
    let mut workers: Value =
        serde_json::from_slice(&std::fs::read(data("workers.geojson")).unwrap()).unwrap();
    workers["features"][3]["properties"]["phone"] = serde_json::json!({"mobile": 1});
    let bad_workers = common::write(dir.path(), "workers.geojson", &workers);
    // An assignment of a grid the grids file does not have.
    let mut assignment: Value =
        serde_json::from_slice(&std::fs::read(&d.assignment).unwrap()).unwrap();
    assignment["features"][0]["id"] = "320116999999001".into();
    assignment["features"][0]["properties"]["id"] = "320116999999001".into();
    let bad_assignment = common::write(dir.path(), "assignment.geojson", &assignment);
    for (workers, assignment, field) in [
        (&bad_workers, &d.assignment, "phone"),
        (&data("workers.geojson"), &bad_assignment, "id"),
    ] {
        let o = run(&[
            "report",
            "--grids",
            s(&d.grids),
            "--boundaries",
            s(&data("boundaries.geojson")),
            "--households",
            s(&data("households.geojson")),
            "--assignment",
            s(assignment),
            "--workers",
            s(workers),
            "--out",
            s(&dir.path().join("x.xlsx")),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let e = stderr(&o);
        assert!(!e.contains("panicked"), "{e}");
        let file = if field == "phone" {
            workers
        } else {
            assignment
        };
        assert!(e.contains(s(file)) && e.contains(field), "{e}");
    }
}

#[test]
fn without_a_cjk_font_the_atlas_is_refused_naming_what_to_install_or_set() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("atlas.pdf");
    for (font, says) in [
        ("/no/such/font.ttc", "cannot read the font"),
        (
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "no Chinese characters",
        ),
    ] {
        if !font.starts_with("/no/") && !Path::new(font).exists() {
            continue;
        }
        let o = common::bin()
            .env("GRIDPLAN_CJK_FONT", font)
            .args([
                "report",
                "--grids",
                s(&d.grids),
                "--boundaries",
                s(&data("boundaries.geojson")),
                "--households",
                s(&data("households.geojson")),
                "--out",
                s(&out),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(3), "{font}");
        let e = stderr(&o);
        assert!(e.contains(says) && e.contains("GRIDPLAN_CJK_FONT"), "{e}");
        assert!(!out.exists());
    }
}

// ---------------------------------------------------------------------------------------------------
// The service

const PLANNER: &str = "planner-token-0123456789";

async fn get(
    router: &axum::Router,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, Vec<u8>, String) {
    let mut r = Request::builder()
        .uri(uri)
        .header(header::HOST, "example.test");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = router
        .clone()
        .oneshot(r.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body, kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planners_download_the_ledger_and_the_atlas_and_no_open_route_carries_names_or_phones() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config {
        data: Some(common::demo_without_layers()),
        db: dir.path().join("g.db").into(),
        tokens: Tokens::load(Some(PLANNER.to_string()), None).unwrap(),
        tiles: None,
        max_body_bytes: 64 * 1024 * 1024,
        request_timeout: std::time::Duration::from_secs(600),
        limits: Limits::default(),
    };
    let state = Arc::new(prepare(&cfg).unwrap_or_else(|e| panic!("prepare: {}", e.message)));
    let app = router(state, &cfg);
    let plans: Value = serde_json::from_slice(&get(&app, "/api/plans", None).await.1).unwrap();
    let plan = plans["published"].as_i64().unwrap();
    if plans["assignment"].is_null() {
        let r = app
            .clone()
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri("/api/assignments")
                    .header(header::AUTHORIZATION, format!("Bearer {PLANNER}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Planners only.
    for ext in ["xlsx", "pdf"] {
        let uri = format!("/api/plans/{plan}/report.{ext}");
        assert_eq!(
            get(&app, &uri, None).await.0,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
        assert_eq!(
            get(&app, &uri, Some("wrong")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, xlsx, kind) = get(
        &app,
        &format!("/api/plans/{plan}/report.xlsx"),
        Some(PLANNER),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&xlsx));
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let book = sheets(xlsx);
    let header = &book[1].1[0];
    let name = column(header, "网格员姓名").unwrap();
    let names: BTreeSet<&str> = d.contacts.values().map(|c| c.0.as_str()).collect();
    let listed = book[1..]
        .iter()
        .flat_map(|(_, rows)| rows[1..].iter())
        .filter(|r| names.contains(r[name].as_str()))
        .count();
    assert!(listed > 0, "the planner's ledger names the workers");
    let (status, pdf, kind) = get(
        &app,
        &format!("/api/plans/{plan}/report.pdf"),
        Some(PLANNER),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/pdf");
    assert!(pdf.starts_with(b"%PDF"));
    let path = d.dir.join("service-atlas.pdf");
    std::fs::write(&path, &pdf).unwrap();
    assert!(pages(&path) >= 10);
    // The map page offers the downloads (shown once a token is entered).
    let (_, html, _) = {
        let r = Request::builder()
            .uri("/")
            .header(header::ACCEPT, "text/html")
            .header(header::HOST, "example.test")
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(r).await.unwrap();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        (StatusCode::OK, body, String::new())
    };
    let html = String::from_utf8_lossy(&html).into_owned();
    assert!(html.contains("report.${a.dataset.report}") && html.contains("id=\"downloads\""));
    // No open route carries a name or a phone.
    let mut routes: Vec<String> = [
        "/",
        "/?f=html",
        "/?f=json",
        "/collections",
        "/collections/grids",
        "/collections/grids/items?limit=1000",
        "/collections/communities/items?limit=1000",
        "/api/openapi.json",
        "/api/plans",
        "/api/datasets",
        "/api/locate?lon=118.81&lat=32.31",
        "/api/locate?lon=118.86&lat=32.33",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for r in ["", "/grids", "/report"] {
        routes.push(format!("/api/plans/{plan}{r}"));
    }
    routes.push(format!("/api/plans/{plan}/diff/{plan}"));
    let grids: Value = serde_json::from_slice(
        &get(&app, "/collections/grids/items?limit=1000", None)
            .await
            .1,
    )
    .unwrap();
    for f in grids["features"].as_array().unwrap() {
        routes.push(format!(
            "/collections/grids/items/{}",
            f["id"].as_str().unwrap()
        ));
    }
    for r in &routes {
        let (status, body, _) = get(&app, r, None).await;
        assert_eq!(status, StatusCode::OK, "{r}");
        let text = String::from_utf8_lossy(&body);
        for (n, p) in d.contacts.values() {
            assert!(!text.contains(p.as_str()), "{r} shows the phone {p}");
            // A one-character given name could be any word; full names are two or three characters.
            assert!(!text.contains(n.as_str()), "{r} shows the name {n}");
        }
    }
    // The OpenAPI document lists both downloads, for planners.
    let doc: Value = serde_json::from_slice(&get(&app, "/api/openapi.json", None).await.1).unwrap();
    for ext in ["xlsx", "pdf"] {
        let op = &doc["paths"][format!("/api/plans/{{planId}}/report.{ext}")]["get"];
        assert_eq!(op["security"][0]["planner"], serde_json::json!([]), "{ext}");
        assert!(op["responses"]["200"]["content"].is_object(), "{ext}");
    }
    // The workers file itself is planner-only.
    assert_eq!(
        get(&app, "/api/datasets/workers/latest", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}
