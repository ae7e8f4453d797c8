//! GeoPackage and Shapefile in and out: layers written as `.gpkg` and `.shp` open in GDAL (`ogrinfo`) with
//! their Chinese text intact and the right number of grids, and gridplan's own `check` accepts them;
//! a GBK Shapefile written by GDAL reads as the GeoJSON it came from; a `.cpg` naming an encoding
//! gridplan does not read is refused by name; GeoPackage inputs go round through partition and check.
//! GDAL's programs (gdal-bin) are installed by `scripts/setup.sh --e2e`, as the tests run.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a program of its own: it prints

mod common;
use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

const DEMO_B: &str = "data/boundaries.geojson";
const DEMO_H: &str = "data/households.geojson";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs a GDAL program; its standard output.
fn gdal(program: &str, args: &[&str]) -> String {
    let o = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program} (gdal-bin) runs: scripts/setup.sh --e2e installs it: {e}")
        });
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn partition(out: &Path, extra: &[&str]) -> Value {
    partition_from(DEMO_H, DEMO_B, out, extra)
}

fn partition_from(households: &str, boundaries: &str, out: &Path, extra: &[&str]) -> Value {
    let report = out.with_extension("report.json");
    let mut args = vec![
        "partition",
        "--households",
        households,
        "--boundaries",
        boundaries,
        "--out",
        s(out),
        "--report",
        s(&report),
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    common::report(&report)
}

/// `gridplan check` of `grids`; the report, with the exit status.
fn check_with(households: &str, boundaries: &str, grids: &Path) -> (Value, Option<i32>) {
    // The report in a directory of its own, never beside the grids (which may be the repository's).
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report = dir.path().join("check.json");
    let o = run(&[
        "check",
        "--households",
        households,
        "--boundaries",
        boundaries,
        "--grids",
        s(grids),
        "--report",
        s(&report),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    (common::report(&report), o.status.code())
}

/// What a check found, whatever the files were called: the summary and every grid's id and counts.
fn findings(report: &Value) -> Value {
    let mut grids: Vec<Value> = report["grids"]
        .as_array()
        .expect("grids")
        .iter()
        .map(|g| {
            json!([
                g["id"],
                g["community"],
                g["households"],
                g["population"],
                g["status"]
            ])
        })
        .collect();
    grids.sort_by_key(|g| g.to_string());
    let mut violations: Vec<Value> = report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| json!([v["rule"], v["grid"], v["leaf"]]))
        .collect();
    violations.sort_by_key(|v| v.to_string());
    json!({"summary": report["summary"], "grids": grids, "violations": violations})
}

/// [`findings`] but for the slivers between grids and their compactness, which rounding in another CRS
/// (millimetres, not 1e-9 degrees) moves by a fraction of a square metre.
fn findings_in_any_crs(report: &Value) -> Value {
    let mut f = findings(report);
    for key in ["gap_area_m2", "overlap_area_m2", "mean_compactness"] {
        f["summary"][key] = Value::Null;
    }
    f
}

fn geojson(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

/// The grid features a partition wrote as GeoJSON.
fn features(path: &Path) -> Vec<Value> {
    geojson(path)["features"]
        .as_array()
        .expect("features")
        .clone()
}

/// A Chinese text some grid carries (its 四至, or its name), with the property it is in.
fn some_chinese(features: &[Value]) -> (String, String) {
    for f in features {
        for (k, v) in f["properties"].as_object().expect("properties") {
            if let Some(t) = v.as_str()
                && t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
            {
                return (k.clone(), t.to_string());
            }
        }
    }
    panic!("no Chinese text in the grids");
}

#[test]
fn partition_writes_geopackages_and_shapefiles_gdal_opens_and_check_accepts() {
    let d = tempfile::tempdir().unwrap();
    let reference = d.path().join("grids.geojson");
    partition(&reference, &[]);
    let want = features(&reference);
    let (key, chinese) = some_chinese(&want);
    let (reference_check, reference_status) = check_with(DEMO_H, DEMO_B, &reference);

    for name in ["grids.gpkg", "grids.shp"] {
        let out = d.path().join(name);
        partition(&out, &[]);
        // GDAL opens it: one layer, the grid count right, the CRS WGS84.
        let summary = gdal("ogrinfo", &["-al", "-so", s(&out)]);
        assert!(
            summary.contains(&format!("Feature Count: {}", want.len())),
            "{name}: {summary}"
        );
        assert!(
            summary.contains("WGS") && summary.contains("84"),
            "{name}: {summary}"
        );
        // The Chinese text reads back intact.
        let all = gdal("ogrinfo", &["-al", s(&out)]);
        assert!(all.contains(&chinese), "{name}: {key} = {chinese} missing");
        // gridplan's own check accepts what it wrote, with the same answers as the GeoJSON.
        let (found, status) = check_with(DEMO_H, DEMO_B, &out);
        assert_eq!(status, reference_status, "{name}");
        assert_eq!(findings(&found), findings(&reference_check), "{name}");
    }

    // The Shapefile: its companions, the encoding it says, the short field names, the .prj.
    let shp = d.path().join("grids.shp");
    for ext in ["shx", "dbf", "prj", "cpg"] {
        assert!(shp.with_extension(ext).is_file(), ".{ext} written");
    }
    assert_eq!(
        std::fs::read_to_string(shp.with_extension("cpg")).unwrap(),
        "UTF-8"
    );
    let summary = gdal("ogrinfo", &["-al", "-so", s(&shp)]);
    for field in [
        "comm_kind",
        "pop_alert",
        "compact",
        "households",
        "valid_from",
    ] {
        assert!(summary.contains(&format!("{field}:")), "{field}: {summary}");
    }
    // Outer rings clockwise, holes counter-clockwise, as the format says.
    let shapes = shapefile::read_shapes_as::<_, shapefile::Polygon>(&shp).expect("read .shp");
    assert_eq!(shapes.len(), want.len());
    for p in &shapes {
        for ring in p.rings() {
            let pts = ring.points();
            let twice_area: f64 = pts
                .windows(2)
                .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
                .sum();
            match ring {
                shapefile::PolygonRing::Outer(_) => {
                    assert!(twice_area < 0.0, "outer ring clockwise")
                }
                shapefile::PolygonRing::Inner(_) => assert!(twice_area > 0.0, "hole anticlockwise"),
            }
        }
    }

    // The GeoPackage: one table named as the file, a valid GeoPackage by its header.
    let gpkg = d.path().join("grids.gpkg");
    let db = rusqlite::Connection::open(&gpkg).unwrap();
    let app: i64 = db
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, 0x4750_4B47, "GPKG application id");
    let tables: Vec<String> = db
        .prepare("SELECT table_name FROM gpkg_contents")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(tables, ["grids"]);
}

#[test]
fn a_gbk_shapefile_and_a_projected_one_are_written_and_read_back() {
    let d = tempfile::tempdir().unwrap();
    let reference = d.path().join("grids.geojson");
    partition(&reference, &[]);
    let (_, chinese) = some_chinese(&features(&reference));
    let (reference_check, _) = check_with(DEMO_H, DEMO_B, &reference);

    // --encoding GBK: the .cpg says so, the .dbf holds GBK bytes, GDAL and gridplan read the same text.
    let gbk = d.path().join("gbk.shp");
    partition(&gbk, &["--encoding", "GBK"]);
    assert_eq!(
        std::fs::read_to_string(gbk.with_extension("cpg")).unwrap(),
        "GBK"
    );
    let dbf = std::fs::read(gbk.with_extension("dbf")).unwrap();
    let (encoded, _, _) = encoding_rs::GBK.encode(&chinese);
    assert!(
        dbf.windows(encoded.len()).any(|w| w == &encoded[..]),
        "the .dbf holds {chinese} in GBK"
    );
    assert!(gdal("ogrinfo", &["-al", s(&gbk)]).contains(&chinese));
    let (found, _) = check_with(DEMO_H, DEMO_B, &gbk);
    assert_eq!(findings(&found), findings(&reference_check));

    // A Gauss–Krüger zone: its .prj is the one ArcGIS writes, and GDAL and check read it as EPSG:4549.
    let gk = d.path().join("gk.shp");
    partition(&gk, &["--out-crs", "EPSG:4549"]);
    let prj = std::fs::read_to_string(gk.with_extension("prj")).unwrap();
    assert!(
        prj.starts_with("PROJCS[\"CGCS2000_3_Degree_GK_CM_120E\""),
        "{prj}"
    );
    let srs = gdal(
        "gdalsrsinfo",
        &["-e", "-o", "epsg", s(&gk.with_extension("prj"))],
    );
    assert!(srs.contains("EPSG:4549"), "{srs}");
    let (found, _) = check_with(DEMO_H, DEMO_B, &gk);
    assert_eq!(
        findings_in_any_crs(&found),
        findings_in_any_crs(&reference_check)
    );

    // A CRS it has no .prj for is refused by name, before any work.
    let o = run(&[
        "partition",
        "--households",
        DEMO_H,
        "--boundaries",
        DEMO_B,
        "--out",
        s(&d.path().join("merc.shp")),
        "--out-crs",
        "EPSG:3857",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("EPSG:3857") && stderr(&o).contains(".gpkg"),
        "{}",
        stderr(&o)
    );
    assert!(!d.path().join("merc.shp").exists());
    // And an encoding it does not write.
    let o = run(&["rules", "--encoding", "BIG5"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("BIG5"), "{}", stderr(&o));
}

/// Copies the demo's boundaries into a GBK Shapefile with GDAL (as older ArcGIS exchanges them).
fn gbk_boundaries(dir: &Path) -> PathBuf {
    let shp = dir.join("boundaries.shp");
    gdal("ogr2ogr", &["-lco", "ENCODING=GBK", s(&shp), DEMO_B]);
    shp
}

#[test]
fn a_gbk_shapefile_gdal_wrote_reads_as_the_geojson_it_came_from() {
    let d = tempfile::tempdir().unwrap();
    let shp = gbk_boundaries(d.path());
    assert_eq!(
        std::fs::read_to_string(shp.with_extension("cpg"))
            .unwrap()
            .trim(),
        "GBK"
    );
    let dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
    let (gbk, _, _) = encoding_rs::GBK.encode("长芦社区");
    assert!(
        dbf.windows(gbk.len()).any(|w| w == &gbk[..]),
        "GBK in the .dbf"
    );

    // The demo's grids checked against the boundaries as GeoJSON and as the GBK Shapefile: the same.
    let grids = Path::new("data/grids.geojson");
    let copy = d.path().join("grids.geojson");
    std::fs::copy(grids, &copy).unwrap();
    let (from_geojson, status_geojson) = check_with(DEMO_H, DEMO_B, &copy);
    let (from_shp, status_shp) = check_with(DEMO_H, s(&shp), &copy);
    assert_eq!(status_shp, status_geojson);
    assert_eq!(findings(&from_shp), findings(&from_geojson));
    // The leaves' names came through: the report names them as the GeoJSON run does.
    let names = |r: &Value| {
        let mut n: Vec<String> = r["leaves"]
            .as_array()
            .map(|l| l.iter().map(|x| x["name"].to_string()).collect())
            .unwrap_or_default();
        n.sort();
        n
    };
    assert_eq!(names(&from_shp), names(&from_geojson));
    assert!(
        serde_json::to_string(&from_shp)
            .unwrap()
            .contains("长芦社区"),
        "the Chinese names read back"
    );

    // Without its .cpg (GDAL's .dbf says no code page): read as UTF-8, and the error says so, naming
    // the feature and the field.
    std::fs::remove_file(shp.with_extension("cpg")).unwrap();
    let o = run(&[
        "check",
        "--households",
        DEMO_H,
        "--boundaries",
        s(&shp),
        "--grids",
        s(&copy),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("boundaries.shp") && e.contains("UTF-8"), "{e}");
    assert!(e.contains(".cpg") && e.contains("GBK"), "{e}");
    assert!(e.contains("feature") && e.contains("name"), "{e}");
}

#[test]
fn a_cpg_naming_an_unknown_encoding_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let shp = gbk_boundaries(d.path());
    std::fs::write(shp.with_extension("cpg"), "KOI8-R\n").unwrap();
    let o = run(&[
        "check",
        "--households",
        DEMO_H,
        "--boundaries",
        s(&shp),
        "--grids",
        "data/grids.geojson",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("boundaries.cpg") && e.contains("KOI8-R"), "{e}");
    assert!(
        e.contains("GBK") && e.contains("UTF-8"),
        "says what it reads: {e}"
    );
}

#[test]
fn geopackage_inputs_go_round_through_partition_and_check() {
    let d = tempfile::tempdir().unwrap();
    let households = d.path().join("households.gpkg");
    let boundaries = d.path().join("boundaries.gpkg");
    gdal("ogr2ogr", &[s(&households), DEMO_H]);
    gdal("ogr2ogr", &[s(&boundaries), DEMO_B]);

    let from_geojson = d.path().join("ref.geojson");
    let want = partition(&from_geojson, &[]);
    let out = d.path().join("grids.gpkg");
    let got = partition_from(s(&households), s(&boundaries), &out, &[]);
    assert_eq!(got["summary"], want["summary"]);

    let (a, sa) = check_with(DEMO_H, DEMO_B, &from_geojson);
    let (b, sb) = check_with(s(&households), s(&boundaries), &out);
    assert_eq!(sa, sb);
    assert_eq!(findings(&a), findings(&b));

    // A GeoPackage of several layers: the one named as the file is read, else the layers are named.
    let two = d.path().join("two.gpkg");
    gdal("ogr2ogr", &["-nln", "households", s(&two), DEMO_H]);
    gdal(
        "ogr2ogr",
        &["-update", "-nln", "grids", s(&two), "data/grids.geojson"],
    );
    let o = run(&[
        "check",
        "--households",
        s(&two),
        "--boundaries",
        DEMO_B,
        "--grids",
        "data/grids.geojson",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("\"households\"") && e.contains("\"grids\""),
        "{e}"
    );
    let named = d.path().join("households.gpkg");
    std::fs::copy(&two, &named).unwrap();
    let (c, _) = check_with(s(&named), DEMO_B, Path::new("data/grids.geojson"));
    let (r, _) = check_with(DEMO_H, DEMO_B, Path::new("data/grids.geojson"));
    assert_eq!(findings(&c), findings(&r));
}

#[test]
fn retired_grids_travel_in_a_layer_of_their_own() {
    let d = tempfile::tempdir().unwrap();
    let square = |x: f64| {
        json!([[
            [x, 32.0],
            [x + 0.01, 32.0],
            [x + 0.01, 32.01],
            [x, 32.01],
            [x, 32.0]
        ]])
    };
    let collection = json!({
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(118.8)},
                      "properties": {"id": "320116001001001", "community": "320116001001", "name": "长芦一网格",
                                     "valid_from": "2025-01-01", "valid_to": null}}],
        "retired_grids": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": square(118.81)},
             "properties": {"id": "320116001001002", "community": "320116001001", "name": "长芦二网格",
                            "valid_from": "2024-01-01", "valid_to": "2025-01-01"}}]}
    });
    let path = d.path().join("plan.gpkg");
    gridplan::output::fgb::write_collection_text(&path, &collection.to_string()).unwrap();
    let layers = gdal("ogrinfo", &["-ro", "-q", s(&path)]);
    assert!(
        layers.contains("plan") && layers.contains("retired_grids"),
        "{layers}"
    );
    let (layer, _, _) =
        gridplan::input::read_grid_layer(&path, None, None).expect("the GeoPackage reads back");
    assert_eq!(layer.grids.len(), 1);
    assert_eq!(layer.retired.len(), 1);
    assert_eq!(layer.retired[0].id, "320116001001002");
    assert_eq!(layer.retired[0].record.name.as_deref(), Some("长芦二网格"));
    assert!(layer.retired[0].record.valid_to.is_some());
    // The same GeoPackage given as bytes (an upload to the service).
    let bytes = std::fs::read(&path).unwrap();
    let (layer, _, _) = gridplan::input::parse_grid_layer("upload.gpkg", bytes, None, None)
        .expect("the GeoPackage's bytes read");
    assert_eq!((layer.grids.len(), layer.retired.len()), (1, 1));
}

/// Damaged files of either format are named input errors (exit status 2), never a crash: a Shapefile
/// and a GeoPackage cut short at many places, bytes of their headers overwritten, a missing `.dbf`.
#[test]
fn damaged_files_are_named_errors_never_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let good_shp = gbk_boundaries(d.path());
    let good_gpkg = d.path().join("boundaries.gpkg");
    gdal("ogr2ogr", &[s(&good_gpkg), DEMO_B]);
    let try_boundaries = |path: &Path| {
        let o = run(&[
            "check",
            "--households",
            DEMO_H,
            "--boundaries",
            s(path),
            "--grids",
            "data/grids.geojson",
        ]);
        let code = o.status.code();
        assert!(
            matches!(code, Some(0..=2)),
            "{}: exit {code:?}: {}",
            path.display(),
            stderr(&o)
        );
        if code == Some(2) {
            assert!(
                stderr(&o).contains("boundaries") || stderr(&o).contains("bad"),
                "{}",
                stderr(&o)
            );
        }
        code
    };
    let bad = d.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for (ext, good) in [("shp", &good_shp), ("dbf", &good_shp), ("gpkg", &good_gpkg)] {
        let whole = std::fs::read(good.with_extension(ext)).unwrap();
        let n = whole.len();
        let mut variants: Vec<Vec<u8>> = [0, 7, 50, 100, 108, 140, n / 3, n / 2, n - 9]
            .iter()
            .map(|&cut| whole[..cut.min(n)].to_vec())
            .collect();
        for at in [4usize, 24, 32, 36, 44, 104, 112, 136] {
            let mut v = whole.clone();
            if at + 4 <= n {
                v[at..at + 4].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0x7F]);
            }
            variants.push(v);
        }
        for v in variants {
            let target = bad.join(format!("boundaries.{ext}"));
            for sibling in ["shp", "shx", "dbf", "prj", "cpg"] {
                let _ = std::fs::copy(
                    good_shp.with_extension(sibling),
                    bad.join(format!("boundaries.{sibling}")),
                );
            }
            std::fs::write(&target, &v).unwrap();
            let path = if ext == "gpkg" {
                target
            } else {
                bad.join("boundaries.shp")
            };
            try_boundaries(&path);
        }
    }
    // A .shp without its .dbf.
    std::fs::remove_file(bad.join("boundaries.dbf")).unwrap();
    let o = run(&[
        "check",
        "--households",
        DEMO_H,
        "--boundaries",
        s(&bad.join("boundaries.shp")),
        "--grids",
        "data/grids.geojson",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains(".dbf"), "{}", stderr(&o));
    // Not a GeoPackage at all.
    let fake = bad.join("fake.gpkg");
    std::fs::write(&fake, b"{\"type\": \"FeatureCollection\"}").unwrap();
    assert_eq!(try_boundaries(&fake), Some(2));
}

#[test]
fn assignments_join_their_workers_in_a_shapefile() {
    let d = tempfile::tempdir().unwrap();
    let assign = |out: &Path| {
        let o = run(&[
            "assign",
            "--grids",
            "data/grids.geojson",
            "--households",
            DEMO_H,
            "--workers",
            "data/workers.geojson",
            "--boundaries",
            DEMO_B,
            "--out",
            s(out),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    let reference = d.path().join("assignment.geojson");
    assign(&reference);
    let shp = d.path().join("assignment.shp");
    assign(&shp);
    let all = gdal("ogrinfo", &["-al", s(&shp)]);
    assert!(
        all.contains("primary_wk (String)"),
        "short name of primary_worker"
    );
    assert!(
        all.contains("staff_pol (String)"),
        "short name of staffing_policy"
    );
    for f in features(&reference) {
        let workers: Vec<&str> = f["properties"]["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .map(|w| w.as_str().expect("worker id"))
            .collect();
        if !workers.is_empty() {
            let joined = workers.join(";");
            assert!(
                all.contains(&format!("workers (String) = {joined}")),
                "{joined}"
            );
        }
    }
}

/// Hostile layers are refused by name (exit status 2) before any work: a GeoPackage whose layer is a
/// view (whose query the file chooses and which may never end), a Shapefile whose `.shx` points at one
/// record again and again (which would repeat it without end), a `.dbf` with records marked deleted.
#[test]
fn hostile_layers_are_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let check_boundaries = |path: &Path| {
        let o = run(&[
            "check",
            "--households",
            DEMO_H,
            "--boundaries",
            s(path),
            "--grids",
            "data/grids.geojson",
        ]);
        (o.status.code(), stderr(&o))
    };
    // A view named as the layer.
    let gpkg = d.path().join("boundaries.gpkg");
    gdal("ogr2ogr", &[s(&gpkg), DEMO_B]);
    let db = rusqlite::Connection::open(&gpkg).unwrap();
    db.execute_batch(
        "ALTER TABLE boundaries RENAME TO seed;
         CREATE VIEW boundaries AS SELECT s.* FROM seed s, (SELECT 1 UNION ALL SELECT 2);",
    )
    .unwrap();
    drop(db);
    let (code, e) = check_boundaries(&gpkg);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("boundaries.gpkg") && e.contains("is a view"),
        "{e}"
    );
    // No -wal or -shm file is left beside it.
    let left: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with("-wal") || n.ends_with("-shm"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A .shx whose every entry points at the first record.
    let shp = gbk_boundaries(d.path());
    let shx = shp.with_extension("shx");
    let good_shx = std::fs::read(&shx).unwrap();
    let mut bytes = good_shx.clone();
    let first: [u8; 8] = bytes[100..108].try_into().unwrap();
    for at in (108..bytes.len()).step_by(8) {
        bytes[at..at + 8].copy_from_slice(&first);
    }
    std::fs::write(&shx, &bytes).unwrap();
    let (code, e) = check_boundaries(&shp);
    assert_eq!(code, Some(2), "{e}");
    assert!(e.contains("boundaries.shx") && e.contains("entry 1"), "{e}");
    std::fs::write(&shx, &good_shx).unwrap();

    // A record marked deleted is refused with the count, not skipped unseen.
    let dbf = shp.with_extension("dbf");
    let mut bytes = std::fs::read(&dbf).unwrap();
    let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    bytes[header_len] = b'*';
    std::fs::write(&dbf, &bytes).unwrap();
    let (code, e) = check_boundaries(&shp);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("boundaries.dbf") && e.contains("1 record marked deleted"),
        "{e}"
    );
}
