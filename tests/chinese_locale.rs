//! Under a Chinese locale (`LANG=zh_CN.UTF-8`) every line the commands print is Chinese: the main
//! commands run on the demo district (a plan, a failing check with gaps and overlaps, an assignment,
//! visits with overdue residents, a diff, a re-draw) and a few refusals, and no line may hold an English
//! word outside an allow-list of codes, file names, units, numbers and ids. Communities and towns are
//! named as the boundaries name them; the reports keep English `message`s and add `message_zh`.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Words that may stand in Chinese output: the program and its commands, names of formats, fields
/// and tools that are written in Latin letters in Chinese too, and units.
const ALLOWED: &[&str] = &[
    // The program and its commands (the first word of each summary line), flags' words.
    "gridplan",
    "partition",
    "check",
    "assign",
    "visits",
    "diff",
    // Formats, tools and their words as Chinese planners write them.
    "GeoJSON",
    "FeatureCollection",
    "Feature",
    "Point",
    "Polygon",
    "MultiPolygon",
    "LineString",
    "MultiLineString",
    "JSON",
    "CSV",
    "XLSX",
    "ODS",
    "XLS",
    "OLE",
    "ZIP",
    "PK",
    "NUL",
    "FlatGeobuf",
    "HiGHS",
    "Polsby",
    "Popper",
    "id",
    // Rule codes of one word (the others have a `_`), shown beside their Chinese names.
    "gap",
    "overlap",
    // Units.
    "m",
    "km",
    "MiB",
];

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn zh(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gridplan"))
        .args(args)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "zh_CN.UTF-8")
        .output()
        .expect("the gridplan binary runs")
}

/// The English words of `line`: runs of ASCII letters, leaving out what is not prose: `code` in
/// backticks, values quoted from the data (“…”), paths and file names (with `/` or `.`), flags (`--previous`), ids and codes (with a digit
/// or `_`), and the allowed words.
fn english_words(line: &str) -> Vec<String> {
    // `code` and “values quoted from the data” are not prose.
    let mut prose = String::new();
    let (mut in_code, mut in_quote) = (false, false);
    for c in line.chars() {
        match c {
            '`' => in_code = !in_code,
            '“' => in_quote = true,
            '”' => in_quote = false,
            _ if !in_code && !in_quote => {
                prose.push(c);
                continue;
            }
            _ => {}
        }
        prose.push(' ');
    }
    let mut words = Vec::new();
    // Tokens: split on whitespace and Chinese punctuation / ideographs.
    let token_end = |c: char| c.is_whitespace() || !c.is_ascii();
    for token in prose.split(token_end).filter(|t| !t.is_empty()) {
        let t = token.trim_matches(|c: char| "()[]{},;:!?\"'“”".contains(c));
        let not_prose = t.contains('/')
            || t.contains('.')
            || t.starts_with('-')
            || t.contains('_')
            || t.chars().any(|c| c.is_ascii_digit());
        if not_prose {
            continue;
        }
        for w in t.split(|c: char| !c.is_ascii_alphabetic()) {
            if !w.is_empty() && !ALLOWED.contains(&w) {
                words.push(w.to_string());
            }
        }
    }
    words
}

/// Every line of the run's stdout and stderr is Chinese; returns stdout.
fn all_chinese(what: &str, out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let wrong: Vec<String> = text
        .lines()
        .filter(|l| !english_words(l).is_empty())
        .map(|l| format!("  {l}    ← {:?}", english_words(l)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{what}: lines with English words:\n{}\n--- the whole output:\n{text}",
        wrong.join("\n")
    );
    assert!(!text.trim().is_empty(), "{what}: said nothing");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn the_detector_finds_english_and_lets_codes_pass() {
    assert_eq!(
        english_words("注：社区 320116001002：120 households are fewer"),
        ["households", "are", "fewer"]
    );
    assert!(english_words("  户数不足（band_under）  5").is_empty());
    assert!(english_words("gridplan partition --previous：已写入 /tmp/x/grids.geojson").is_empty());
    assert!(english_words("警告：a.geojson：字段 `geometry`：3 个住户点").is_empty());
    assert_eq!(english_words("warning: x"), ["warning", "x"]);
    assert!(english_words("字段 `households`：“many”是文字").is_empty());
}

#[test]
fn every_command_speaks_chinese_under_a_chinese_locale() {
    let data = demo();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (h, b) = (
        data.join("households.geojson"),
        data.join("boundaries.geojson"),
    );
    let (blocks, barriers) = (data.join("blocks.geojson"), data.join("barriers.geojson"));
    let workers = data.join("workers.geojson");
    let old = data.join("grids.geojson");
    let grids = d.join("grids.geojson");
    let report = d.join("report.json");

    // A plan on the ground layers: infeasible communities are noted by name, in Chinese.
    let out = zh(&[
        "partition",
        "--households",
        p(&h),
        "--boundaries",
        p(&b),
        "--blocks",
        p(&blocks),
        "--barriers",
        p(&barriers),
        "--out",
        p(&grids),
        "--report",
        p(&report),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = all_chinese("partition", &out);
    assert!(
        said.contains("注：瓜埠社区：共 120 户，不足一个网格的下限 300 户"),
        "{said}"
    );

    // The bundled grids fail the check, with a gap and an overlap named by community.
    let check_report = d.join("check.json");
    let out = zh(&[
        "check",
        "--grids",
        p(&old),
        "--households",
        p(&h),
        "--boundaries",
        p(&b),
        "--report",
        p(&check_report),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = all_chinese("check", &out);
    assert!(said.contains("空隙未覆盖：社区（村）内有"), "{said}");
    assert!(said.contains("网格重叠：社区（村）内有"), "{said}");
    assert!(said.contains("冶山村"), "the gap's village by name: {said}");
    // The report keeps its English message and codes, and adds the Chinese beside them.
    let r: Value = serde_json::from_slice(&std::fs::read(&check_report).unwrap()).unwrap();
    let violations = r["violations"].as_array().unwrap();
    assert!(!violations.is_empty());
    for v in violations {
        let (en, zh) = (
            v["message"].as_str().unwrap(),
            v["message_zh"].as_str().unwrap(),
        );
        assert!(en.is_ascii() || en.contains("m²"), "{en}");
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{zh}"
        );
        assert!(v["rule"].as_str().unwrap().is_ascii());
    }
    let infeasible = r["summary"]["leaves_infeasible"].as_array().unwrap();
    assert!(infeasible.iter().all(|l| l["why_zh"].as_str().is_some()));

    // Staffing: towns by name, the solver's outcome in words.
    let assignment = d.join("assignment.geojson");
    let out = zh(&[
        "assign",
        "--grids",
        p(&grids),
        "--households",
        p(&h),
        "--workers",
        p(&workers),
        "--boundaries",
        p(&b),
        "--out",
        p(&assignment),
        "--report",
        p(&d.join("staffing.json")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = all_chinese("assign", &out);
    assert!(
        said.contains("雄州街道") && said.contains("龙池镇"),
        "{said}"
    );

    // Visits: categories in words; with a log, overdue residents.
    let visits = d.join("visits.json");
    let args = |log: Option<&Path>| {
        let mut a = vec![
            "visits".to_string(),
            "--assignment".into(),
            p(&assignment).into(),
            "--households".into(),
            p(&h).into(),
            "--workers".into(),
            p(&workers).into(),
            "--month".into(),
            "2026-12".into(),
            "--out".into(),
            p(&visits).into(),
        ];
        if let Some(l) = log {
            a.extend(["--log".to_string(), p(l).to_string()]);
        }
        a
    };
    let run = |a: Vec<String>| zh(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let out = run(args(None));
    let said = all_chinese("visits", &out);
    assert!(said.contains("走访对象：独居老人"), "{said}");
    let plan: Value = serde_json::from_slice(&std::fs::read(&visits).unwrap()).unwrap();
    let first = &plan["workers"][0];
    let (resident, worker) = (
        first["visits"][0]["resident"].as_str().unwrap(),
        first["id"].as_str().unwrap(),
    );
    let log = d.join("log.csv");
    std::fs::write(
        &log,
        format!("resident,worker,time\n{resident},{worker},2026-06-01T09:00:00+08:00\n"),
    )
    .unwrap();
    let out = run(args(Some(&log)));
    let said = all_chinese("visits --log", &out);
    assert!(said.contains("逾期"), "{said}");

    // A diff and a re-draw against the bundled grids.
    let out = zh(&[
        "diff",
        "--old",
        p(&old),
        "--new",
        p(&grids),
        "--households",
        p(&h),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    all_chinese("diff", &out);
    let out = zh(&[
        "partition",
        "--households",
        p(&h),
        "--boundaries",
        p(&b),
        "--previous",
        p(&old),
        "--out",
        p(&d.join("redrawn.geojson")),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let said = all_chinese("partition --previous", &out);
    assert!(
        said.contains("长芦社区"),
        "changed communities by name: {said}"
    );
}

#[test]
fn refusals_are_said_in_chinese() {
    let data = demo();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (h, b) = (
        data.join("households.geojson"),
        data.join("boundaries.geojson"),
    );
    let old = data.join("grids.geojson");
    let check = |grids: &Path, households: &Path, extra: &[&str]| {
        let mut a = vec![
            "check",
            "--grids",
            p(grids),
            "--households",
            p(households),
            "--boundaries",
            p(&b),
        ];
        a.extend_from_slice(extra);
        zh(&a)
    };
    let refused = |what: &str, out: &Output, needle: &str| {
        assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        all_chinese(what, out);
        assert!(text.contains(needle), "{what}: {text}");
    };

    refused(
        "a missing file",
        &check(&d.join("nowhere.geojson"), &h, &[]),
        "文件或目录不存在",
    );
    let zero = d.join("zero.geojson");
    std::fs::write(
        &zero,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"households":0},"geometry":{"type":"Point","coordinates":[118.8,32.3]}}]}"#,
    )
    .unwrap();
    refused(
        "0 households",
        &check(&old, &zero, &[]),
        "0 户：每个点至少 1 户",
    );
    let words = d.join("words.geojson");
    std::fs::write(
        &words,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"households":"many","population":-1},"geometry":{"type":"Point","coordinates":[118.8,32.3]}}]}"#,
    )
    .unwrap();
    let out = check(&old, &words, &[]);
    refused("counts in words", &out, "“many”是文字，不是整数");
    refused("a negative count", &out, "-1 是负数");
    let not_json = d.join("notes.geojson");
    std::fs::write(&not_json, "households: many\n").unwrap();
    refused(
        "not JSON",
        &check(&old, &not_json, &[]),
        "不是 GeoJSON 文件",
    );
    let empty = d.join("empty.geojson");
    std::fs::write(&empty, r#"{"type":"FeatureCollection","features":[]}"#).unwrap();
    refused(
        "no features",
        &check(&old, &empty, &[]),
        "文件中没有任何要素",
    );
    // Bad polygons: a ring left open, a ring crossing itself, a hole outside its shell.
    let polygons = |name: &str, rings: &str| {
        let path = d.join(name);
        std::fs::write(
            &path,
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":"320116001001001"}},"geometry":{{"type":"Polygon","coordinates":{rings}}}}}]}}"#
            ),
        )
        .unwrap();
        path
    };
    let open = polygons(
        "open.geojson",
        "[[[118.8,32.3],[118.81,32.3],[118.81,32.31],[118.8,32.31]]]",
    );
    refused(
        "a ring left open",
        &check(&open, &h, &[]),
        "环 0没有闭合：起点为 (118.8, 32.3)",
    );
    let bow_tie = polygons(
        "bow_tie.geojson",
        "[[[118.8,32.3],[118.81,32.31],[118.81,32.3],[118.8,32.31],[118.8,32.3]]]",
    );
    refused(
        "a ring crossing itself",
        &check(&bow_tie, &h, &[]),
        "多边形无效：环 0 自相交或自接触",
    );
    let hole_out = polygons(
        "hole_outside.geojson",
        "[[[118.8,32.3],[118.81,32.3],[118.81,32.31],[118.8,32.31],[118.8,32.3]],\
         [[118.82,32.3],[118.83,32.3],[118.83,32.31],[118.82,32.31],[118.82,32.3]]]",
    );
    refused(
        "a hole outside its shell",
        &check(&hole_out, &h, &[]),
        "环 1（内洞）位于外环 0 之外",
    );
    let short = polygons("short.geojson", r#"[[[118.8,32.3],[118.81,"x"]]]"#);
    refused(
        "a position holding a word",
        &check(&short, &h, &[]),
        "环 0的第 1 个坐标：纵坐标有误：“x”是文字，不是数字",
    );
    let projected = polygons(
        "projected.geojson",
        "[[[500000,3500000],[501000,3500000],[501000,3501000],[500000,3500000]]]",
    );
    refused(
        "projected coordinates said to be degrees",
        &check(&projected, &h, &[]),
        "不是 EPSG:4326 的经纬度",
    );

    // A workers file with wrong fields, GeoJSON and CSV.
    let assign = |workers: &Path| {
        zh(&[
            "assign",
            "--grids",
            p(&old),
            "--households",
            p(&h),
            "--workers",
            p(workers),
            "--boundaries",
            p(&b),
            "--out",
            p(&d.join("assignment.geojson")),
        ])
    };
    let bad_workers = d.join("bad_workers.geojson");
    std::fs::write(
        &bad_workers,
        r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"id":"W1","town":"320116001000","type":"boss","hours":-3,"status":"gone"},"geometry":{"type":"Point","coordinates":[118.8,32.3]}},
{"type":"Feature","properties":{"id":"W1","town":"999999999000"},"geometry":{"type":"LineString","coordinates":[[118.8,32.3],[118.9,32.3]]}},
{"type":"Feature","properties":{"town":"320116001000"},"geometry":null}]}"#,
    )
    .unwrap();
    let out = assign(&bad_workers);
    refused("an unknown worker type", &out, "未知类型“boss”");
    refused("negative hours", &out, "工时 -3 是负数");
    refused("an unknown status", &out, "未知状态“gone”");
    refused("a worker id twice", &out, "id 重复（与要素 0 相同）");
    refused("an unknown town", &out, "街镇“999999999000”不管理任何网格");
    refused("a worker on a line", &out, "网格员驻点须为点（Point）");
    refused("a worker without id", &out, "每个网格员都须有 `id`");
    let csv_workers = d.join("workers.csv");
    std::fs::write(&csv_workers, "id,town,lon,lat\nW1,320116001000,east,32.3\n").unwrap();
    refused(
        "a CSV row with a word for a coordinate",
        &assign(&csv_workers),
        "（CSV 第 1 行）`lon` 值“east”不是有限的数",
    );

    let report_txt = d.join("report.txt");
    refused(
        "a report named .txt",
        &check(&old, &h, &["--report", p(&report_txt)]),
        "报告以 JSON 写出",
    );
    let out = zh(&[
        "partition",
        "--households",
        p(&h),
        "--boundaries",
        p(&b),
        "--out",
        p(&d.join("grids.kml")),
    ]);
    refused("a layer named .kml", &out, "gridplan 不写 .kml 文件");
}
