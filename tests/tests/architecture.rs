//! The shape of the code, checked (ARCHITECTURE.md "Crates"): the crate
//! graph goes one way (each crate depends only on the layers below it),
//! no module of a crate imports one that imports it back, the plugin SDK
//! links neither the loader nor the pipeline nor staging, and no source
//! file outside tests is over 600 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use dump2py_tests::root;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cargo {args:?}: {e}"));
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The layer of each of our crates, lowest first; a crate may depend only
/// on crates of lower layers (dev-dependencies aside: tests may use more).
fn layer(name: &str) -> Option<u32> {
    Some(match name {
        "dump2py-model" => 0,
        "dump2py-py" => 1,
        "dump2py-django" => 2,
        "dump2py-plugin" => 3,
        "dump2py-staging" | "dump2py-tls" => 4,
        "dump2py-pipeline" | "dump2py-sdk" => 5,
        // Plugins: backends, sinks, transformers.
        "dump2py-sqlite"
        | "dump2py-postgres"
        | "dump2py-mysql"
        | "dump2py-dump"
        | "dump2py-python"
        | "dump2py-dumpdata"
        | "dump2py-anonymize"
        | "dump2py-demo-plugin" => 6,
        "dump2py-database" => 7,
        "dump2py" => 8,
        "dump2py-tests" => 9,
        _ => return None,
    })
}

/// Our crates and their normal dependencies among our crates.
fn our_graph() -> BTreeMap<String, (PathBuf, BTreeSet<String>)> {
    let meta: serde_json::Value =
        serde_json::from_str(&cargo(&["metadata", "--format-version", "1", "--no-deps"]))
            .expect("cargo metadata prints JSON");
    let mut graph = BTreeMap::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
        let deps = (p["dependencies"].as_array().into_iter().flatten())
            .filter(|d| d["kind"].is_null() && d["path"].is_string())
            .filter_map(|d| d["name"].as_str().map(str::to_string))
            .collect();
        graph.insert(name, (manifest, deps));
    }
    graph
}

#[test]
fn every_crate_depends_only_on_layers_below_it() {
    let graph = our_graph();
    let mut wrong = Vec::new();
    for (name, (_, deps)) in &graph {
        let Some(l) = layer(name) else {
            wrong.push(format!(
                "{name}: not placed in a layer (tests/tests/architecture.rs)"
            ));
            continue;
        };
        for d in deps {
            match layer(d) {
                Some(dl) if dl < l => {}
                _ => wrong.push(format!("{name} depends on {d}")),
            }
        }
    }
    // Backends read databases for the model and the interfaces only.
    for backend in ["dump2py-sqlite", "dump2py-postgres", "dump2py-mysql"] {
        for d in graph.get(backend).map(|g| &g.1).into_iter().flatten() {
            if !["dump2py-model", "dump2py-plugin", "dump2py-tls"].contains(&d.as_str()) {
                wrong.push(format!("backend {backend} depends on {d}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_plugin_sdk_links_no_loader_no_pipeline_no_staging() {
    let tree = cargo(&[
        "tree",
        "-p",
        "dump2py-sdk",
        "-e",
        "normal",
        "--prefix",
        "none",
        "--offline",
    ]);
    assert!(tree.contains("dump2py-plugin"), "{tree}");
    for banned in ["libloading", "dump2py-pipeline", "dump2py-staging"] {
        assert!(!tree.contains(banned), "the SDK links {banned}:\n{tree}");
    }
}

/// The source files of a crate's `src`, by module path (`a::b`).
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap_or(&p).with_extension("");
                let mut parts: Vec<String> = (rel.components())
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                if matches!(
                    parts.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    parts.pop();
                }
                out.insert(parts, p);
            }
        }
    }
    out
}

/// A file's text without comments and without its `#[cfg(test)] mod tests`.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `m` is a test module (`tests`, `*_tests`).
fn is_test_module(m: &[String]) -> bool {
    m.last()
        .is_some_and(|n| n == "tests" || n.ends_with("_tests"))
}

/// Sibling modules that import each other, directly or through others.
fn import_circles(src: &Path) -> Vec<Vec<String>> {
    let mods = modules(src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, path) in &mods {
        if m.is_empty() || is_test_module(m) {
            continue;
        }
        let text = code(path);
        let mut rest = text.as_str();
        while let Some(i) = rest.find("::") {
            // The path before `::`: `crate`, `super`, `super::super`.
            let head = &rest[..i];
            let after = &rest[i + 2..];
            rest = after;
            let start = head
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(0, |k| k + 1);
            let base = &head[start..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let mut target: Vec<String> = match base {
                "crate" => vec![],
                b if b == "super" || b.starts_with("super::super") => {
                    let up = b.matches("super").count();
                    // A directory module (`x/mod.rs`) is `x` itself.
                    m[..m.len().saturating_sub(up)].to_vec()
                }
                _ => continue,
            };
            target.push(name);
            while !target.is_empty() && !mods.contains_key(&target) {
                target.pop();
            }
            if target.is_empty() || target.starts_with(m) || m.starts_with(&target) {
                continue;
            }
            let k = m.iter().zip(&target).take_while(|(a, b)| a == b).count();
            edges
                .entry(m[..=k].to_vec())
                .or_default()
                .insert(target[..=k].to_vec());
        }
    }
    // Tarjan's strongly connected components: a circle is one of two or more.
    struct T<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        found: Vec<Vec<String>>,
    }
    fn visit(t: &mut T, v: &Vec<String>) {
        let n = t.index.len();
        t.index.insert(v.clone(), n);
        t.low.insert(v.clone(), n);
        t.stack.push(v.clone());
        for w in t.edges.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if t.stack.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                let done = &w == v;
                comp.push(w.join("::"));
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                t.found.push(comp);
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.found
}

fn crate_sources() -> Vec<PathBuf> {
    (our_graph().values())
        .filter_map(|(manifest, _)| manifest.parent().map(|d| d.join("src")))
        .filter(|src| src.is_dir())
        .collect()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let mut wrong = Vec::new();
    for src in crate_sources() {
        for circle in import_circles(&src) {
            wrong.push(format!("{}: {}", src.display(), circle.join(" ⇄ ")));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_circle_check_sees_a_circle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").expect("write");
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").expect("write");
    std::fs::write(src.join("b.rs"), "use super::a::A;\npub struct B;\n").expect("write");
    assert_eq!(import_circles(src).len(), 1);
    std::fs::write(src.join("b.rs"), "pub struct B;\n").expect("write");
    assert!(import_circles(src).is_empty());
}

#[test]
fn no_source_file_outside_tests_is_over_600_lines() {
    let mut long = Vec::new();
    for src in crate_sources() {
        if src.starts_with(root().join("tests")) {
            continue;
        }
        for (m, path) in modules(&src) {
            if is_test_module(&m) {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let code = match text.find("#[cfg(test)]\nmod tests {") {
                Some(i) => &text[..i],
                None => &text,
            };
            let n = code.lines().count();
            if n > 600 {
                long.push(format!("{}: {n} lines", path.display()));
            }
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
}
