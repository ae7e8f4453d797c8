//! The house rule, checked on the source: every module of the library sits in a layer and imports only
//! from layers below its own, so there is no circle and no upward import; the binary and the service go
//! through `ops` and `output`, never to the capabilities themselves; the crate docs' module table lists
//! every public module.
//!
//! Read from the text of `src/`: every `crate::…` path (in `use` lines, groups included, and inline),
//! every `super::…` path resolved against the file's place, and in `main.rs` every `gridplan::…` path.
//! Comments, string and character literals and `#[cfg(test)]` modules are left out: a test may build
//! its data with anything, and a doc link is no dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import only from layers strictly below its own.
const LAYERS: &[&[&str]] = &[
    &["lang", "timing"],
    &["problem", "rng"],
    &["error"],
    &["model"],
    &["rules"],
    &["spatial"],
    &["formats"],
    &["input"],
    &["plan", "check", "staff", "diff"],
    &["ops"],
    &["output"],
    &["synth", "store"],
    &["service"],
];

/// The capabilities that the binary and the service reach only through `ops`.
const THROUGH_OPS: &[&str] = &["plan", "check", "staff", "diff"];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The crate root's re-exports (`pub use check::{CheckReport, check};` in `lib.rs`): name → module.
fn root_reexports() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(src().join("lib.rs")).unwrap_or_default();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let Some(path) = line.strip_prefix("pub use ") else {
            continue;
        };
        let path = path.trim_end_matches(';');
        let module = path.split("::").next().unwrap_or_default().to_string();
        let names = match path.split_once('{') {
            Some((_, group)) => group.trim_end_matches('}').split(',').collect::<Vec<_>>(),
            None => path.rsplit("::").take(1).collect(),
        };
        for n in names {
            map.insert(n.trim().to_string(), module.clone());
        }
    }
    map
}

/// The source with comments, string and character literals blanked (newlines kept).
fn code_only(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, b[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|h| b.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                blank(&mut out, b[j]);
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = b.get(i) {
                    blank(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime ('a) left as it is.
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else {
                (b.get(i + 2) == Some(&'\'')).then_some(i + 2)
            };
            match close {
                Some(j) => i = j + 1,
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The code without its `#[cfg(test)]` items (a module or a function, up to its closing brace).
fn without_tests(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find(['{', ';']) else {
            rest = "";
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (k, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segments named after `prefix::` in `code`, groups (`prefix::{a, b::c}`) included.
fn heads(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let needle = format!("{prefix}::");
    let mut from = 0;
    while let Some(at) = code[from..].find(&needle) {
        let start = from + at;
        from = start + needle.len();
        if code[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let rest = code[from..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && ch == ',') {
                    let name: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                    if !name.is_empty() {
                        found.insert(name);
                    }
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else if depth == 1 {
                    item.push(ch);
                }
            }
        } else {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The module path of a file under `src/` (`src/plan/partition/mod.rs` → `plan::partition`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Edges between top-level modules: (from, to) → files that make them.
fn library_edges() -> BTreeMap<(String, String), BTreeSet<String>> {
    let src = src();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let reexports = root_reexports();
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let path = module_path(&src, &f);
        // The binary (`main.rs` and its `cli.rs`) is checked on its own.
        if path == ["main"] || path == ["cli"] || path == ["lib"] {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let code = code_only(&text);
        // A module compiled for the unit tests only (`#![cfg(test)]`) is no dependency of the library.
        if code.trim_start().starts_with("#![cfg(test)]") {
            continue;
        }
        let code = without_tests(&code);
        let top = path[0].clone();
        let mut targets = heads(&code, "crate");
        // `super::` from the top module itself is the crate; deeper, it stays inside `top`.
        if path.len() == 1 {
            targets.extend(heads(&code, "super"));
        }
        for t in targets {
            let t = reexports.get(&t).cloned().unwrap_or(t);
            if t != top {
                edges
                    .entry((top.clone(), t))
                    .or_default()
                    .insert(f.strip_prefix(&src).unwrap_or(&f).display().to_string());
            }
        }
    }
    edges
}

#[test]
fn every_module_has_a_layer_and_imports_only_from_below() {
    let mut wrong = Vec::new();
    for ((from, to), files) in library_edges() {
        match (rank(&from), rank(&to)) {
            (Some(a), Some(b)) if b < a => {}
            (None, _) => wrong.push(format!("{from} has no layer (add it to LAYERS)")),
            (_, None) => wrong.push(format!("{to} (imported by {from}) has no layer")),
            _ => wrong.push(format!(
                "{from} imports {to}, which is not below it (in {})",
                files.into_iter().collect::<Vec<_>>().join(", ")
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn nothing_in_the_library_depends_on_the_synthetic_data() {
    let users: Vec<String> = library_edges()
        .into_iter()
        .filter(|((_, to), _)| to == "synth")
        .map(|((from, _), files)| {
            format!(
                "{from} ({})",
                files.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
        .collect();
    assert!(
        users.is_empty(),
        "synth is test and demo data; imported by {users:?}"
    );
}

#[test]
fn the_service_goes_through_ops() {
    let mut wrong = Vec::new();
    for ((from, to), files) in library_edges() {
        if from == "service" && THROUGH_OPS.contains(&to.as_str()) {
            wrong.push(format!(
                "service imports {to} (in {}): go through ops",
                files.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_binary_goes_through_ops_and_output() {
    let text: String = ["main.rs", "cli.rs"]
        .iter()
        .map(|f| std::fs::read_to_string(src().join(f)).unwrap_or_default())
        .collect();
    let reexports = root_reexports();
    let used: BTreeSet<String> = heads(&code_only(&text), "gridplan")
        .into_iter()
        .map(|t| reexports.get(&t).cloned().unwrap_or(t))
        .collect();
    let through: Vec<&String> = used
        .iter()
        .filter(|m| THROUGH_OPS.contains(&m.as_str()))
        .collect();
    assert!(
        through.is_empty(),
        "the binary names {through:?}: go through ops"
    );
}

#[test]
fn the_crate_docs_list_every_module() {
    let text = std::fs::read_to_string(src().join("lib.rs")).unwrap_or_default();
    let modules: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let listed: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("//! | [`"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    let missing: Vec<&String> = modules.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "not in the module table of lib.rs: {missing:?}"
    );
    let unplaced: Vec<&String> = modules.iter().filter(|m| rank(m).is_none()).collect();
    assert!(unplaced.is_empty(), "modules with no layer: {unplaced:?}");
}

/// The checker itself: it sees groups, inline paths and `super::` and ignores comments, strings and
/// test modules.
#[test]
fn the_checker_reads_paths_as_written() {
    let code = code_only(
        "use crate::{a, b::{c, d}};\n// crate::commented\nlet s = \"crate::quoted\";\nlet c = '{';\nfn f() { crate::e::g(); }\n#[cfg(test)]\nmod tests { use crate::tested; fn x() { let y = \"}\"; } }\nfn h<'a>(x: &'a str) { crate::after::k() }",
    );
    let code = without_tests(&code);
    let found: Vec<String> = heads(&code, "crate").into_iter().collect();
    assert_eq!(found, ["a", "after", "b", "e"]);
    assert_eq!(
        module_path(Path::new("/s"), Path::new("/s/plan/partition/mod.rs")),
        ["plan", "partition"]
    );
}
