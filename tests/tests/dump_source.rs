//! The dump source, `-d dump:PATH`: a Python dump read back gives what the
//! database gave (min1 and the awkward test site, with site metadata and
//! without), a dump that doesn't match its manifest is refused with
//! nothing published, and the parser survives mutated dumps (no panic,
//! every error names the file and its line).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use dump2py_tests::*;
use sha2_free::sha256_hex;

/// The dump's files but its manifest, restore.py's line naming the
/// source left out (it names the database, or the dump).
fn files_but_source(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = read_dump(dir);
    if let Some(r) = files.get_mut("restore.py") {
        let text = String::from_utf8_lossy(r).into_owned();
        let kept: Vec<&str> = text
            .split('\n')
            .filter(|l| !l.starts_with("# This is a Python dump of "))
            .collect();
        *r = kept.join("\n").into_bytes();
    }
    files
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// min1's site schema, saved once from the Lino site.
fn min1_schema(lino: &Lino, dir: &Path, db: &Path) -> PathBuf {
    let schema = dir.join("min1.schema.json");
    let out = lino.ours(MIN1, db, &[], &["--export-site-schema", s(&schema), "-s"]);
    ok(out, "--export-site-schema");
    schema
}

/// With site metadata the dump converts to the very JSON and XML the
/// database gives, and to the same Python dump but the line that names
/// its source.
#[test]
fn min1_dump_converts_as_the_database_does() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let schema = min1_schema(lino, t.path(), &db);
    let url = sqlite_url(&db);
    let p = |n: &str| t.path().join(n);
    for (tag, meta) in [("meta", true), ("bare", false)] {
        let direct = p(&format!("direct-{tag}"));
        let again = p(&format!("again-{tag}"));
        let mut args = vec!["-v", "0", "-d", &url, s(&direct)];
        let json_d = p(&format!("direct-{tag}.json"));
        let xml_d = p(&format!("direct-{tag}.xml"));
        args.extend(["--json", s(&json_d), "--xml", s(&xml_d)]);
        if meta {
            args.extend(["--site-schema", s(&schema)]);
        }
        dump_ok(&args);
        let dump_url = format!("dump:{}", direct.display());
        let json_a = p(&format!("again-{tag}.json"));
        let xml_a = p(&format!("again-{tag}.xml"));
        let mut args = vec!["-v", "0", "-d", &dump_url, s(&again)];
        args.extend(["--json", s(&json_a), "--xml", s(&xml_a)]);
        if meta {
            args.extend(["--site-schema", s(&schema)]);
        }
        dump_ok(&args);
        // Every data file is the same, with metadata and without.
        let (a, b) = (files_but_source(&direct), files_but_source(&again));
        let data = |m: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
            (m.iter())
                .filter(|(k, _)| *k != "restore.py")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        assert_eq!(data(&a), data(&b), "{tag}: data files");
        assert!(a.len() > 5, "{tag}: a dump of min1 has data files");
        if meta {
            assert_eq!(a, b, "{tag}: restore.py");
            assert_same_file(&json_d, &json_a);
            assert_same_file(&xml_d, &xml_a);
        } else {
            // Without metadata the dump doesn't say which column is the
            // primary key nor where a foreign key points: countries_country's
            // key is `isocode`, and Partner.city's target is guessed.
            assert_ne!(fs::read(&json_d).ok(), fs::read(&json_a).ok());
        }
    }
}

/// The awkward site (MTI two levels deep, many-to-many links, JSON
/// floats, hard strings, a text primary key, cycles): the Python dump of
/// the dump is the dump.
#[test]
fn awkward_dump_of_the_dump_is_the_dump() {
    let lino = lino();
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    lino.admin_ok(AWKWARD, &db, &["prep", "--noinput", "-v0"]);
    let schema = t.path().join("aw.schema.json");
    let direct = t.path().join("direct");
    let out = lino.ours(
        AWKWARD,
        &db,
        &[],
        &["-v", "0", "--export-site-schema", s(&schema), s(&direct)],
    );
    ok(out, "dump the awkward site");
    let again = t.path().join("again");
    let url = format!("dump:{}", direct.display());
    dump_ok([
        "-v",
        "0",
        "-d",
        &url,
        "--site-schema",
        s(&schema),
        s(&again),
    ]);
    assert_eq!(files_but_source(&direct), files_but_source(&again));
}

/// A dump of min1 without metadata, and its manifest's file entries.
fn a_dump(dir: &Path) -> PathBuf {
    let out = dir.join("snap");
    let url = sqlite_url(&fixture("min1.sqlite3"));
    dump_ok(["-v", "0", "-d", &url, s(&out)]);
    out
}

/// Rewrites the manifest so that it lists `name` as it is now.
fn reseal(dump: &Path, name: &str) {
    let path = dump.join("dump2py.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).expect("manifest")).expect("json");
    let bytes = fs::read(dump.join(name)).expect("file");
    if let Some(files) = m["files"].as_array_mut() {
        for f in files.iter_mut().filter(|f| f["name"] == name) {
            f["size"] = serde_json::json!(bytes.len());
            f["sha256"] = serde_json::json!(sha256_hex(&bytes));
        }
    }
    fs::write(&path, serde_json::to_vec_pretty(&m).expect("json")).expect("write manifest");
}

fn refused(dump: &Path, out: &Path) -> String {
    let url = format!("dump:{}", dump.display());
    let o = dump2py(["-v", "0", "-d", &url, "--json", s(out)]);
    assert!(!o.status.success(), "accepted: {}", stderr(&o));
    assert!(!out.exists(), "{} was published", out.display());
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
    e
}

#[test]
fn a_dump_that_does_not_match_its_manifest_is_refused() {
    let t = tempfile::tempdir().expect("tempdir");
    let json = t.path().join("out.json");
    // A value changed in place: the file still parses, its checksum fails.
    let dump = a_dump(t.path());
    let file = dump.join("countries_country.py");
    let text = fs::read_to_string(&file).expect("read");
    let changed = text.replacen("'Belgium'", "'Belgiun'", 1);
    assert_ne!(text, changed);
    fs::write(&file, changed).expect("write");
    let e = refused(&dump, &json);
    assert!(
        e.contains("countries_country.py: damaged: its SHA-256"),
        "{e}"
    );
    // A row added: the size is not the manifest's.
    fs::write(
        &file,
        format!("{text}loader.save(create_countries_country('X','XX','','','',''))\n"),
    )
    .expect("write");
    let e = refused(&dump, &json);
    assert!(
        e.contains("countries_country.py: damaged:") && e.contains("bytes"),
        "{e}"
    );
    fs::write(&file, &text).expect("restore");
    // An extra file, a missing one.
    fs::write(dump.join("evil.py"), "import os\n").expect("write");
    let e = refused(&dump, &json);
    assert!(e.contains("evil.py: extra file"), "{e}");
    fs::remove_file(dump.join("evil.py")).expect("rm");
    fs::rename(&file, t.path().join("aside.py")).expect("mv");
    let e = refused(&dump, &json);
    assert!(e.contains("countries_country.py: missing"), "{e}");
    fs::rename(t.path().join("aside.py"), &file).expect("mv back");
    // A statement that is not the sink's, sealed into the manifest: refused
    // by the parser, naming the file and line, nothing executed.
    let marker = t.path().join("executed");
    let evil = text.replacen(
        "loader.save(",
        &format!(
            "__import__('os').system('touch {}')\nloader.save(",
            marker.display()
        ),
        1,
    );
    fs::write(&file, evil).expect("write");
    reseal(&dump, "countries_country.py");
    let e = refused(&dump, &json);
    assert!(e.contains("countries_country.py: line 4:"), "{e}");
    assert!(!marker.exists());
    // It converts once whole again.
    fs::write(&file, &text).expect("restore");
    reseal(&dump, "countries_country.py");
    let url = format!("dump:{}", dump.display());
    dump_ok(["-v", "0", "-d", &url, "--json", s(&json)]);
}

/// Lino's own dump2py writes no manifest: refused in one line that says so.
#[test]
fn linos_own_dump_is_refused_in_one_line() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let theirs = t.path().join("theirs");
    lino.admin_ok(MIN1, &db, &["dump2py", s(&theirs)]);
    let e = refused(&theirs, &t.path().join("out.json"));
    assert!(e.contains("as Lino's own dump2py writes them"), "{e}");
}

/// SplitMix64.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A line mutated: bytes replaced, inserted, removed, or a piece of
/// another line spliced in.
fn mutate(rng: &mut Rng, line: &str, other: &str) -> String {
    let mut b = line.as_bytes().to_vec();
    const PIECES: &[&[u8]] = &[
        b"(",
        b")",
        b"[",
        b"]",
        b"{",
        b"}",
        b"'",
        b"\"",
        b"\\",
        b",",
        b"=",
        b"**",
        b"0x",
        b"__import__('os')",
        b"\\u",
        b"\\U0011ffff",
        b"dt(",
        b"None",
        b"1e",
        b"-",
    ];
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(4) {
            0 if !b.is_empty() => {
                let end = (at + 1 + rng.below(4)).min(b.len());
                b.drain(at.min(end)..end);
            }
            1 => {
                let p = PIECES[rng.below(PIECES.len())];
                b.splice(at..at, p.iter().copied());
            }
            2 if !other.is_empty() => {
                let o = other.as_bytes();
                let from = rng.below(o.len());
                let to = (from + rng.below(40)).min(o.len());
                b.splice(at..at, o[from..to].iter().copied());
            }
            _ => {
                if let Some(x) = b.get_mut(at) {
                    *x = rng.next() as u8;
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// The expression parser on mutated lines of real dumps: never a panic.
#[test]
fn the_parser_never_panics_on_mutated_lines() {
    let t = tempfile::tempdir().expect("tempdir");
    let dump = a_dump(t.path());
    let mut lines = Vec::new();
    for (_, bytes) in read_dump(&dump) {
        lines.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_string));
    }
    lines.push("loader.save(create_x(__import__('django.db.backends.postgresql.psycopg_any', fromlist=['NumericRange']).NumericRange(Decimal('1.5'), None, '[)'),{'a': [1, 1.5, None, float('nan')]}))".into());
    let mut rng = Rng(0x5eed_d2b7);
    let cases = 20_000;
    for _ in 0..cases {
        let line = &lines[rng.below(lines.len())];
        let other = &lines[rng.below(lines.len())];
        let m = mutate(&mut rng, line, other);
        let r = std::panic::catch_unwind(|| dump2py_dump::parse_expr(&m).map(|_| ()));
        assert!(r.is_ok(), "panicked on {m:?}");
    }
}

/// Mutated data files, sealed into the manifest so that the parser reads
/// them: each is refused in one line naming the file and its line, or
/// read whole; nothing is published on an error, and no process panics.
#[test]
fn mutated_dumps_are_refused_naming_file_and_line() {
    let t = tempfile::tempdir().expect("tempdir");
    let dump = a_dump(t.path());
    let url = format!("dump:{}", dump.display());
    let names = ["contacts_partner.py", "countries_place.py", "users_user.py"];
    let originals: Vec<String> = (names.iter())
        .map(|n| fs::read_to_string(dump.join(n)).expect("read"))
        .collect();
    let mut rng = Rng(0xd0_5eed);
    let (mut refused_n, mut read_n) = (0, 0);
    for case in 0..36 {
        let k = case % names.len();
        let text = &originals[k];
        let lines: Vec<&str> = text.split('\n').collect();
        let at = 3 + rng.below(lines.len().saturating_sub(5).max(1));
        let other = lines[rng.below(lines.len())];
        let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        changed[at] = mutate(&mut rng, lines[at], other);
        fs::write(dump.join(names[k]), changed.join("\n")).expect("write");
        reseal(&dump, names[k]);
        let json = t.path().join(format!("out{case}.json"));
        let o = dump2py(["-v", "0", "-d", &url, "--json", s(&json)]);
        let e = stderr(&o);
        assert!(!e.contains("panicked"), "{e}");
        if o.status.success() {
            read_n += 1;
        } else {
            refused_n += 1;
            assert!(!json.exists(), "published after: {e}");
            assert_eq!(e.trim_end().lines().count(), 1, "one line: {e}");
            assert!(
                e.contains(&format!("{}: line {}", names[k], at + 1)),
                "the error names {} line {}: {e}",
                names[k],
                at + 1
            );
        }
        fs::write(dump.join(names[k]), text).expect("restore");
        reseal(&dump, names[k]);
    }
    assert!(refused_n > 10, "{refused_n} refused, {read_n} read");
}

/// SHA-256 for the manifest, by sha256sum (the tests crate has no hasher).
mod sha2_free {
    pub fn sha256_hex(bytes: &[u8]) -> String {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("sha256sum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("sha256sum");
        if let Some(mut i) = child.stdin.take() {
            i.write_all(bytes).expect("write");
        }
        let out = child.wait_with_output().expect("sha256sum");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }
}
