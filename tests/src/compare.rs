//! Dumps compared: file by file, line by line; and the same site's data
//! dumped from SQLite and from a server ([`Cross`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::lino::lino;
use crate::run::dump_ok;
use crate::servers::{Backend, TestDb};
use crate::{path_str, sqlite_url};

/// A dump directory: file name → content.
pub type Dump = BTreeMap<String, Vec<u8>>;

/// Every file of a dump directory: name → content; but the manifest
/// (`dump2py.json`, whose checksums differ wherever a file does), which
/// tests/tests/safety_outputs.rs checks.
pub fn read_dump(dir: &Path) -> Dump {
    fs::read_dir(dir)
        .expect("read dump dir")
        .filter(|e| e.as_ref().map_or(true, |e| e.file_name() != "dump2py.json"))
        .map(|e| {
            let e = e.expect("dir entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read dump file"),
            )
        })
        .collect()
}

/// Everything under a directory: relative path → a file's bytes, None
/// for a directory.
pub type Tree = BTreeMap<PathBuf, Option<Vec<u8>>>;

/// The [`Tree`] under `dir`.
pub fn tree(dir: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, out: &mut Tree) {
        for e in fs::read_dir(dir).expect("read dir") {
            let p = e.expect("dir entry").path();
            let rel = p.strip_prefix(root).expect("under root").to_path_buf();
            if p.is_dir() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(fs::read(&p).expect("read")));
            }
        }
    }
    let mut out = Tree::new();
    walk(dir, dir, &mut out);
    out
}

/// Asserts that two files are byte-identical (Django's output and ours),
/// showing where they differ.
pub fn assert_same_file(theirs: &Path, ours: &Path) {
    let (a, b) = (
        fs::read(theirs).expect("theirs"),
        fs::read(ours).expect("ours"),
    );
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let show = |v: &[u8]| {
            String::from_utf8_lossy(&v[at.saturating_sub(80)..(at + 80).min(v.len())]).into_owned()
        };
        panic!(
            "{} and {} differ at byte {at}:\n--- Django:\n{}\n--- ours:\n{}",
            theirs.display(),
            ours.display(),
            show(&a),
            show(&b)
        );
    }
}

/// A site's data dumped from SQLite and from the server, with and without
/// site metadata.
pub struct Cross {
    /// The server's database.
    pub db: TestDb,
    /// The site's SQLite database.
    pub sqlite: PathBuf,
    /// Our dumps with `--settings`.
    pub sqlite_meta: PathBuf,
    pub server_meta: PathBuf,
    /// Our dumps of the databases alone (`-d URL`).
    pub sqlite_plain: PathBuf,
    pub server_plain: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Cross {
    /// The site prepared on SQLite (min1: the fixture; awkward: `prep`)
    /// and dumped; the same site on the server (its tables made by `prep`,
    /// its rows by that dump's restore.py) dumped too. None when the
    /// server is not there.
    pub fn new(backend: Backend, settings: &str, tag: &str) -> Option<Cross> {
        if !backend.up() {
            return None;
        }
        let lino = lino();
        let (dir, sqlite) = lino.sqlite_site(settings, &[]);
        let path = |name: &str| dir.path().join(name);
        let sqlite_meta = path("sqlite");
        lino.ours_ok(settings, &sqlite, &[], &[&path_str(&sqlite_meta)]);

        let db = TestDb::new(backend, tag);
        // The site's files go beside this path; its database is the server's.
        let site = path("server.sqlite3");
        db.admin_ok(settings, &site, &["prep", "--noinput", "-v0"]);
        let restore = path_str(&sqlite_meta.join("restore.py"));
        db.admin_ok(settings, &site, &["run", &restore, "--noinput"]);
        assert!(
            !site.exists(),
            "the site wrote to SQLite, not {}",
            backend.name()
        );
        let server_meta = path("server");
        db.ours_ok(settings, &site, &server_meta);

        let (sqlite_plain, server_plain) = (path("sqlite-plain"), path("server-plain"));
        let langs = ["--languages", "en,de,fr", "-v0"];
        for (url, out) in [
            (sqlite_url(&sqlite), &sqlite_plain),
            (db.url.clone(), &server_plain),
        ] {
            dump_ok(["-d", &url, &path_str(out)].iter().chain(&langs));
        }
        Some(Cross {
            db,
            sqlite,
            sqlite_meta,
            server_meta,
            sqlite_plain,
            server_plain,
            dir,
        })
    }
}

/// The line of restore.py naming the source: with the line saying how it
/// stores decimals (without metadata), what differs between two databases
/// holding the same data.
pub const SOURCE_LINE: &str = "# This is a Python dump of ";

/// A line of restore.py that describes the source: the source line, and
/// (without metadata) how it stores decimals.
pub fn describes_source(line: &str) -> bool {
    line.starts_with(SOURCE_LINE) || line.starts_with(dump2py_python::DECIMALS_AS_REAL)
}

/// The dump with restore.py's source line checked (there once, naming
/// `source_prefix`) and taken out, and its decimals line.
pub fn without_source(mut dump: Dump, source_prefix: &str) -> Dump {
    let restore = dump.get_mut("restore.py").expect("restore.py");
    let text = String::from_utf8(restore.clone()).expect("UTF-8 restore.py");
    let mut found = 0;
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| {
            let is_source = l.starts_with(SOURCE_LINE);
            if is_source {
                assert!(
                    l[SOURCE_LINE.len()..].starts_with(source_prefix),
                    "source line {l:?} does not name {source_prefix}"
                );
                found += 1;
            }
            !is_source && !describes_source(l)
        })
        .collect();
    assert_eq!(found, 1, "restore.py names its source once");
    *restore = kept.concat().into_bytes();
    dump
}

/// Line by line, what differs: (file, a's line, b's line).
fn line_differences(a: &Dump, b: &Dump) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for name in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let text = |d: &Dump| d.get(name).map(|t| String::from_utf8_lossy(t).into_owned());
        let (ta, tb) = (text(a).unwrap_or_default(), text(b).unwrap_or_default());
        let (la, lb): (Vec<&str>, Vec<&str>) = (ta.lines().collect(), tb.lines().collect());
        if la.len() != lb.len() {
            out.push((
                name.clone(),
                format!("{} lines", la.len()),
                format!("{} lines", lb.len()),
            ));
            continue;
        }
        for (x, y) in la.iter().zip(&lb) {
            if x != y {
                out.push((name.clone(), x.to_string(), y.to_string()));
            }
        }
    }
    out
}

/// Asserts that two dumps are the same, listing the lines that differ.
pub fn assert_same(expected: &Dump, got: &Dump, what: &str) {
    let diff = line_differences(expected, got);
    assert!(
        diff.is_empty(),
        "{what}: {} differences (file, expected, got):\n{}",
        diff.len(),
        diff.iter()
            .map(|(f, a, b)| format!("{f}:\n  - {a}\n  + {b}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(expected, got, "{what}");
}
