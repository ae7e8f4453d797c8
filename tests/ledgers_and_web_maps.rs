//! Household points collected with Chinese phone maps arrive in GCJ-02 or BD-09: named by `--crs` or a
//! `crs` member, they are converted to WGS84 and give the same recount as the true positions, and the
//! report says how they were read.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;
use common::*;
use geo::Coord;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/data")).join(name)
}

/// The demo households moved into GCJ-02 (and on to BD-09 by Baidu's forward formula).
fn offset_households(dir: &Path, crs: &str) -> PathBuf {
    let mut h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    for f in h["features"].as_array_mut().unwrap() {
        let c = &mut f["geometry"]["coordinates"];
        let w = Coord {
            x: c[0].as_f64().unwrap(),
            y: c[1].as_f64().unwrap(),
        };
        let g = gridplan::spatial::webmap::wgs84_to_gcj02(w);
        let p = if crs == "BD09" {
            gridplan::spatial::webmap::gcj02_to_bd09(g)
        } else {
            g
        };
        *c = json!([p.x, p.y]);
    }
    h["crs"] = json!({"type": "name", "properties": {"name": crs}});
    write(dir, &format!("households-{crs}.geojson"), &h)
}

fn check(households: &Path, report: &Path) -> Value {
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        households.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    common::report(report)
}

#[test]
fn gcj02_and_bd09_points_recount_as_their_true_positions() {
    let d = tempfile::tempdir().unwrap();
    let truth = check(&data("households.geojson"), &d.path().join("truth.json"));
    let counts = |r: &Value| -> Vec<(String, u64)> {
        r["grids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["id"].as_str().unwrap().to_string(),
                    g["households"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    for crs in ["GCJ02", "BD09"] {
        let h = offset_households(d.path(), crs);
        let r = check(&h, &d.path().join(format!("{crs}.json")));
        assert_eq!(counts(&r), counts(&truth), "{crs}");
        let said = r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains(crs));
        assert!(said, "the report says the points were read as {crs}");
    }
    // Read as plain WGS84, the same GCJ-02 points land hundreds of metres off: the recount differs.
    let h = offset_households(d.path(), "GCJ02");
    let mut raw: Value = serde_json::from_str(&std::fs::read_to_string(&h).unwrap()).unwrap();
    raw.as_object_mut().unwrap().remove("crs");
    let wrong = write(d.path(), "as-wgs84.geojson", &raw);
    let r = check(&wrong, &d.path().join("wrong.json"));
    assert_ne!(counts(&r), counts(&truth));
}

/// The demo households as a planner's ledger (CSV with a byte-order mark and Chinese column names):
/// the same recount as the GeoJSON file.
#[test]
fn a_household_ledger_recounts_as_the_geojson_file() {
    let d = tempfile::tempdir().unwrap();
    let h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    let mut csv = String::from("\u{feff}编号,经度,纬度,户数,人口,楼栋,单元,备注\n");
    for (i, f) in h["features"].as_array().unwrap().iter().enumerate() {
        let c = &f["geometry"]["coordinates"];
        let p = &f["properties"];
        let text = |v: &Value| match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        csv.push_str(&format!(
            "H{i},{},{},{},{},{},{},note\n",
            c[0],
            c[1],
            text(&p["households"]),
            text(&p["population"]),
            text(&p["building"]),
            text(&p["entrance"]),
        ));
    }
    let ledger = d.path().join("ledger.csv");
    std::fs::write(&ledger, csv).unwrap();
    let truth = check(&data("households.geojson"), &d.path().join("truth.json"));
    let r = check(&ledger, &d.path().join("ledger.json"));
    let rows = |r: &Value| -> Vec<(u64, Value)> {
        r["grids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["households"].as_u64().unwrap(), g["population"].clone()))
            .collect()
    };
    assert_eq!(rows(&r), rows(&truth));
}

#[test]
fn bad_ledger_rows_are_named_by_row_and_column() {
    let d = tempfile::tempdir().unwrap();
    let ledger = d.path().join("ledger.csv");
    std::fs::write(
        &ledger,
        "户号,经度,纬度,户数\nA1,118.80,32.30,2\nA2,118.80,北纬32度,1\nA3,118.81,32.31,-4\nA1,118.82,32.32,1\n",
    )
    .unwrap();
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    // Rows as a spreadsheet numbers them (the header is row 1), columns by letter and header.
    assert!(
        err.contains(
            "ledger.csv: row 3 (id A2): column C `纬度 (lat)`: \"北纬32度\" is not a number"
        ),
        "{err}"
    );
    assert!(
        err.contains("row 4 (id A3): column D `户数 (households)`"),
        "{err}"
    );
    assert!(
        err.contains("row 5 (id A1): column A `户号 (id)`: duplicate id (also row 2)"),
        "{err}"
    );
    // No longitude column at all.
    std::fs::write(&ledger, "id,latitude\n1,32.3\n").unwrap();
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no lon column"), "{}", stderr(&o));
}

/// The demo households as an XLSX workbook: a title row above the header, columns named otherwise
/// and told with --ledger-columns, the ledger on the second sheet (--ledger-sheet): the same recount
/// as the GeoJSON file.
#[test]
fn an_xlsx_ledger_with_named_columns_recounts_as_the_geojson_file() {
    use rust_xlsxwriter::Workbook;
    let d = tempfile::tempdir().unwrap();
    let h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("说明")
        .unwrap()
        .write_string(0, 0, "住户台账在第二张表")
        .unwrap();
    let sheet = book.add_worksheet().set_name("住户台账").unwrap();
    sheet
        .write_string(0, 0, "六合区某街道住户台账（2026年）")
        .unwrap();
    for (c, name) in [
        "编号",
        "东经",
        "北纬",
        "户数合计",
        "人口",
        "楼栋",
        "单元",
        "备注",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(1, c as u16, *name).unwrap();
    }
    for (i, f) in h["features"].as_array().unwrap().iter().enumerate() {
        let row = i as u32 + 2;
        let c = &f["geometry"]["coordinates"];
        let p = &f["properties"];
        sheet.write_string(row, 0, format!("H{i}")).unwrap();
        sheet.write_number(row, 1, c[0].as_f64().unwrap()).unwrap();
        sheet.write_number(row, 2, c[1].as_f64().unwrap()).unwrap();
        for (col, key) in [
            (3, "households"),
            (4, "population"),
            (5, "building"),
            (6, "entrance"),
        ] {
            match &p[key] {
                Value::Null => {}
                Value::Number(n) => {
                    sheet.write_number(row, col, n.as_f64().unwrap()).unwrap();
                }
                Value::String(t) => {
                    sheet.write_string(row, col, t).unwrap();
                }
                other => panic!("{other}"),
            }
        }
        sheet.write_string(row, 7, "备注").unwrap();
    }
    let ledger = d.path().join("台账.xlsx");
    std::fs::write(&ledger, book.save_to_buffer().unwrap()).unwrap();
    let truth = check(&data("households.geojson"), &d.path().join("truth.json"));
    let report = d.path().join("xlsx.json");
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
        "--ledger-columns",
        "lon=东经,lat=北纬,households=户数合计",
        "--ledger-sheet",
        "住户台账",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = common::report(&report);
    let rows = |r: &Value| -> Vec<(u64, Value)> {
        r["grids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["households"].as_u64().unwrap(), g["population"].clone()))
            .collect()
    };
    assert_eq!(rows(&r), rows(&truth));
    // Without the column names the coordinates are not found, and the message says how to name them.
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
        "--ledger-sheet",
        "住户台账",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no lon column")
            && err.contains("--ledger-columns lon=")
            && err.contains("东经"),
        "{err}"
    );
    // A sheet that is not there is named, with the ones that are.
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
        "--ledger-sheet",
        "Sheet9",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no sheet \"Sheet9\"") && stderr(&o).contains("说明, 住户台账"));
}

#[test]
fn bad_xlsx_rows_are_named_by_sheet_row_and_column() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};
    let d = tempfile::tempdir().unwrap();
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    // The used range starts at B2: rows and columns are still named as the spreadsheet shows them.
    for (c, name) in ["户号", "经度", "纬度", "户数"].iter().enumerate() {
        sheet.write_string(1, c as u16 + 1, *name).unwrap();
    }
    let text = |sheet: &mut rust_xlsxwriter::Worksheet, r: u32, cells: [&str; 4]| {
        for (c, v) in cells.iter().enumerate() {
            match v.parse::<f64>() {
                Ok(n) => sheet.write_number(r, c as u16 + 1, n).unwrap(),
                Err(_) => sheet.write_string(r, c as u16 + 1, *v).unwrap(),
            };
        }
    };
    text(sheet, 2, ["A1", "118.80", "32.30", "2"]); // row 3: fine
    text(sheet, 3, ["A2", "118.80", "北纬32度", "1"]); // row 4: latitude is text
    text(sheet, 4, ["A3", "118.81", "32.31", "-4"]); // row 5: negative households
    text(sheet, 5, ["A1", "118.82", "32.32", "1"]); // row 6: duplicate id
    text(sheet, 6, ["A5", "0", "32.33", "1"]); // row 7: a date where the longitude is
    let date = ExcelDateTime::from_ymd(2026, 3, 1).unwrap();
    sheet
        .write_datetime_with_format(6, 2, &date, &Format::new().set_num_format("yyyy-mm-dd"))
        .unwrap();
    text(sheet, 7, ["A6", "118.83", "32.34", "1"]); // row 8: an error value in the households
    sheet
        .write_formula(7, 4, Formula::new("=1/0").set_result("#DIV/0!"))
        .unwrap();
    let ledger = d.path().join("ledger.xlsx");
    std::fs::write(&ledger, book.save_to_buffer().unwrap()).unwrap();
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for expected in [
        "ledger.xlsx: sheet Sheet1: row 4 (id A2): column D `纬度 (lat)`: \"北纬32度\" is not a number",
        "ledger.xlsx: sheet Sheet1: row 5 (id A3): column E `户数 (households)`",
        "ledger.xlsx: sheet Sheet1: row 6 (id A1): column B `户号 (id)`: duplicate id (also row 3)",
        "ledger.xlsx: sheet Sheet1: row 7 (id A5): column C `经度 (lon)`: the cell holds a date",
        "ledger.xlsx: sheet Sheet1: row 8 (id A6): column E `户数 (households)`: the cell holds the error value #DIV/0!",
    ] {
        assert!(err.contains(expected), "missing «{expected}» in:\n{err}");
    }
    // Every bad row is named; the good one is not.
    assert!(!err.contains("row 3 "), "{err}");
    // Not a workbook at all, though named .xlsx: refused at its first bytes.
    std::fs::write(&ledger, "户号,经度,纬度\n").unwrap();
    let o = run(&[
        "check",
        "--grids",
        data("grids.geojson").to_str().unwrap(),
        "--households",
        ledger.to_str().unwrap(),
        "--boundaries",
        data("boundaries.geojson").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a spreadsheet"), "{}", stderr(&o));
}

/// A households upload to the service that is an XLSX workbook is read as a ledger (told by its first
/// bytes: an upload has no file name).
#[tokio::test]
async fn the_service_takes_an_xlsx_ledger_upload() {
    use axum::body::Body;
    use axum::http::{Request, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let h: Value =
        serde_json::from_str(&std::fs::read_to_string(data("households.geojson")).unwrap())
            .unwrap();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, name) in ["户号", "经度", "纬度", "户数"].iter().enumerate() {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    for (i, f) in h["features"].as_array().unwrap().iter().enumerate() {
        let c = &f["geometry"]["coordinates"];
        let row = i as u32 + 1;
        sheet.write_string(row, 0, format!("H{i}")).unwrap();
        sheet.write_number(row, 1, c[0].as_f64().unwrap()).unwrap();
        sheet.write_number(row, 2, c[1].as_f64().unwrap()).unwrap();
        if let Some(n) = f["properties"]["households"].as_f64() {
            sheet.write_number(row, 3, n).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let token = "ledger-planner-token-0123456789";
    let config = gridplan::service::Config {
        data: Some(data("")),
        db: dir.path().join("g.db").into(),
        tokens: gridplan::service::auth::Tokens::load(Some(token.to_string()), None).unwrap(),
        tiles: None,
        max_body_bytes: 64 << 20,
        request_timeout: std::time::Duration::from_secs(60),
        limits: Default::default(),
    };
    let state = gridplan::service::prepare(&config).unwrap_or_else(|e| panic!("{}", e.message));
    let app = gridplan::service::router(std::sync::Arc::new(state), &config);
    let res = app
        .oneshot(
            Request::post("/api/datasets/households")
                .header(header::HOST, "example.test")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(book.save_to_buffer().unwrap()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(status.as_u16(), 201, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["dataset"]["version"], 2, "{v}");
}
