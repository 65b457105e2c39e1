//! The dump source, `-d dump:PATH`: a Python dump read back gives what the
//! database gave (min1 and the awkward test site, with site metadata and
//! without), a dump that doesn't match its manifest is refused with
//! nothing published, and the parser survives mutated dumps (no panic,
//! every error names the file and its line).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::common::rng::Rng;
use dump2py_tests::{
    compare::{assert_same_file, read_dump},
    copy_db, fixture,
    lino::{django, lino, AWKWARD, MIN1},
    root,
    run::{bin, dump2py, dump_ok, ok, stderr, stdout},
    sqlite_url,
};
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

/// The site schema of `settings` (a Lino site, or with `python` a plain
/// Django one), saved to `dir`.
fn site_schema(settings: &str, python: &Path, dir: &Path, db: &Path) -> PathBuf {
    let schema = dir.join("site.schema.json");
    let out = std::process::Command::new(bin())
        .args(["-v", "0", "-s", "--settings", settings, "--python"])
        .arg(python)
        .args(["--export-site-schema", s(&schema)])
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", db)
        .env("LC_ALL", "C.UTF-8")
        .env_remove("DUMP2PY_TEST_DB_URL")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run dump2py");
    ok(out, "--export-site-schema");
    schema
}

/// Dumps `db` (with the site schema or without) to a Python dump, JSON
/// and XML, then that dump to the same outputs: every data file is the
/// same; with metadata also restore.py (but the line naming its source)
/// and the JSON and XML, byte for byte. `extra` goes to both runs. Returns
/// the two JSON files.
fn dump_of_dump(
    dir: &Path,
    url: &str,
    schema: Option<&Path>,
    extra: &[&str],
    xml: bool,
) -> (PathBuf, PathBuf) {
    let tag = if schema.is_some() { "meta" } else { "bare" };
    let p = |n: &str| dir.join(format!("{n}-{tag}"));
    let run = |url: &str, name: &str| {
        let (out, json, x) = (
            p(name),
            p(&format!("{name}.json")),
            p(&format!("{name}.xml")),
        );
        let mut args = vec!["-v", "0", "-d", url, s(&out), "--json", s(&json)];
        if xml {
            args.extend(["--xml", s(&x)]);
        }
        if let Some(schema) = schema {
            args.extend(["--site-schema", s(schema)]);
        }
        args.extend(extra);
        dump_ok(&args);
        (out, json, x)
    };
    let (direct, json_d, xml_d) = run(url, "direct");
    let (again, json_a, xml_a) = run(&format!("dump:{}", p("direct").display()), "again");
    let (a, b) = (files_but_source(&direct), files_but_source(&again));
    let data = |m: &BTreeMap<String, Vec<u8>>| -> BTreeMap<String, Vec<u8>> {
        (m.iter())
            .filter(|(k, _)| *k != "restore.py")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (da, db) = (data(&a), data(&b));
    let differ: Vec<&String> = (da.keys().chain(db.keys()))
        .filter(|k| da.get(*k) != db.get(*k))
        .collect();
    assert!(differ.is_empty(), "{tag}: data files differ: {differ:?}");
    assert!(a.len() > 2, "{tag}: the dump has data files");
    if schema.is_some() {
        assert!(
            a.get("restore.py") == b.get("restore.py"),
            "{tag}: restore.py differs"
        );
        assert_same_file(&json_d, &json_a);
        if xml {
            assert_same_file(&xml_d, &xml_a);
        }
    }
    (json_d, json_a)
}

/// min1: with site metadata the dump converts to the very JSON and XML
/// the database gives, and to the same Python dump but the line that names
/// its source (content types: min1 has none). Without metadata the data
/// files are the same, the JSON is not: the dump doesn't say which column
/// is the primary key (countries_country's is `isocode`) nor where a
/// foreign key points (Partner.city's target is guessed by its name).
#[test]
fn min1_dump_converts_as_the_database_does() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let schema = site_schema(MIN1, &lino.python(), t.path(), &db);
    dump_of_dump(t.path(), &sqlite_url(&db), Some(&schema), &[], true);
    let (direct, again) = dump_of_dump(t.path(), &sqlite_url(&db), None, &[], true);
    assert_ne!(fs::read(direct).ok(), fs::read(again).ok());
}

/// The awkward site (MTI two levels deep, many-to-many links read in
/// their target's order, JSON floats, hard strings, a text primary key,
/// cycles, content types): the Python dump of the dump is the dump, and
/// its JSON the database's. Content types are left out and referred to
/// by natural key: a dump holds models, not the database's ids of them.
/// No XML: the site holds control characters, which XML can't.
#[test]
fn awkward_dump_of_the_dump_is_the_dump() {
    let lino = lino();
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    lino.admin_ok(AWKWARD, &db, &["prep", "--noinput", "-v0"]);
    let schema = site_schema(AWKWARD, &lino.python(), t.path(), &db);
    let natural = ["-e", "contenttypes", "--natural-foreign"];
    dump_of_dump(t.path(), &sqlite_url(&db), Some(&schema), &natural, false);
}

/// The plain Django site (tests/sites/plain), migrated from scratch: the
/// same, XML too, content types and their ids included.
#[test]
fn plain_django_dump_of_the_dump_is_the_dump() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let venv = &django().venv;
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(root().join("tests/python/plain_demo.py"))
        .env("DJANGO_SETTINGS_MODULE", "plain.settings")
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", &db)
        .env_remove("DUMP2PY_TEST_DB_URL")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run plain_demo.py");
    ok(out, "plain_demo.py");
    let schema = site_schema("plain.settings", &venv.join("bin/python"), t.path(), &db);
    // Content types too: made in the order `migrate` made the database's.
    let (direct, _) = dump_of_dump(t.path(), &sqlite_url(&db), Some(&schema), &[], true);
    let json = fs::read_to_string(direct).expect("json");
    assert!(json.contains("\"model\": \"contenttypes.contenttype\""));
    dump_of_dump(t.path(), &sqlite_url(&db), None, &[], true);
}

/// Django 5's composite primary keys (tests/sites/composite), which the
/// site metadata names only through dumpdata's order: the same.
#[test]
fn composite_keys_dump_of_the_dump_is_the_dump() {
    const SITE: &str = "composite.settings";
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let python = django().venv.join("bin/python");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&python)
            .args(args)
            .env("DJANGO_SETTINGS_MODULE", SITE)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", &db)
            .env_remove("DUMP2PY_TEST_DB_URL")
            .env_remove("DATABASE_URL")
            .output()
            .expect("run python");
        ok(out, &args.join(" "));
    };
    let admin = django().venv.join("bin/django-admin");
    run(&[s(&admin), "migrate", "--run-syncdb", "-v", "0"]);
    run(&[
        "-c",
        "import django; django.setup()
from composite.pairs.models import Pair, Defaulted
Pair.objects.create(left=1, right='a', note='one')
Pair.objects.create(left=-2, right='ü', note='x')
Defaulted.objects.create(count=3, label='')",
    ]);
    let schema = site_schema(SITE, &python, t.path(), &db);
    let (direct, _) = dump_of_dump(
        t.path(),
        &sqlite_url(&db),
        Some(&schema),
        &["-e", "contenttypes"],
        true,
    );
    let json = fs::read_to_string(direct).expect("json");
    assert!(json.contains(r#""pk": [-2, "ü"]"#), "{json}");
}

/// The tests/ directory of Django's sdist (tests/python/django-tests.sh).
fn django_tests() -> String {
    let out = std::process::Command::new("bash")
        .arg(root().join("tests/python/django-tests.sh"))
        .arg(&django().venv)
        .output()
        .expect("run django-tests.sh");
    let out = ok(out, "django-tests.sh");
    stdout(&out)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Django's serializer test data (tests/sites/django_data) in SQLite, or
/// with `server` in that database (PostgreSQL: with the pgkinds app's
/// arrays, hstore and ranges), dumped, and the dump dumped again.
fn django_data_case(use_tz: &str, server: Option<&dump2py_tests::servers::TestDb>) {
    let tests_dir = django_tests();
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let venv = &django().venv;
    let python = venv.join("bin/python");
    let pgkinds = if server.is_some() { "1" } else { "0" };
    let with_env = |c: &mut std::process::Command| {
        c.env("DJANGO_SETTINGS_MODULE", "django_data.settings")
            .env("DJANGO_TESTS_DIR", &tests_dir)
            .env("DJANGO_DATA_USE_TZ", use_tz)
            .env("DJANGO_DATA_PGKINDS", pgkinds)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", &db)
            .env("LC_ALL", "C.UTF-8")
            .env_remove("DUMP2PY_TEST_DB_URL")
            .env_remove("DATABASE_URL");
        if let Some(server) = server {
            c.env("DUMP2PY_TEST_DB_URL", &server.url);
        }
    };
    let run = |args: &[&str]| {
        let mut c = std::process::Command::new(&python);
        c.args(args);
        with_env(&mut c);
        ok(c.output().expect("run python"), &args.join(" "));
    };
    let admin = venv.join("bin/django-admin");
    run(&[s(&admin), "migrate", "auth", "-v", "0"]);
    run(&[s(&admin), "migrate", "--run-syncdb", "-v", "0"]);
    run(&[s(&root().join("tests/sites/django_data/fill.py"))]);
    let schema = t.path().join("site.schema.json");
    let mut c = std::process::Command::new(bin());
    c.args([
        "-v",
        "0",
        "-s",
        "--settings",
        "django_data.settings",
        "--python",
    ])
    .arg(&python)
    .args(["--export-site-schema", s(&schema)]);
    with_env(&mut c);
    ok(c.output().expect("run dump2py"), "--export-site-schema");
    let url = server.map_or_else(|| sqlite_url(&db), |d| d.url.clone());
    let args = [
        "-e",
        "contenttypes",
        "-e",
        "fixtures.Spy",
        "--natural-foreign",
    ];
    let (direct, _) = dump_of_dump(t.path(), &url, Some(&schema), &args, true);
    let json = fs::read_to_string(direct).expect("json");
    assert!(json.contains("\"model\": \"serializers.binarydata\""));
    assert_eq!(
        json.contains("\"model\": \"pgkinds.ranges\""),
        server.is_some()
    );
}

/// Django's own serializer test data on SQLite, with time zones and
/// without: every field type Django has, read back from the dump as the
/// database gave it. Without fixtures.Spy, whose default manager filters
/// its rows with SQL, which a dump can't run.
#[test]
fn djangos_test_data_dump_of_the_dump_is_the_dump() {
    for use_tz in ["0", "1"] {
        django_data_case(use_tz, None);
    }
}

/// The same on PostgreSQL with django.contrib.postgres' arrays, hstore
/// and ranges (a USE_TZ site's datetimes inside them were aware: the
/// sink wrote them as naive UTC).
#[test]
fn postgres_kinds_dump_of_the_dump_is_the_dump() {
    use dump2py_tests::servers::{Backend, TestDb};
    if !Backend::Postgres.up() {
        dump2py_tests::skip_unless_ci("PostgreSQL is not running");
        return;
    }
    let db = TestDb::new(Backend::Postgres, "dump_source");
    db.sql("CREATE EXTENSION IF NOT EXISTS hstore");
    django_data_case("1", Some(&db));
}

/// Hostile table and column names (tests/tests/hostile_names.rs has
/// more): a dump of them, split into parts, reads back to the same data
/// files and JSON (no XML: a name holds control characters).
#[test]
fn hostile_names_dump_of_the_dump_is_the_dump() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let c = rusqlite::Connection::open(&db).expect("open");
    let q = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let tables: &[(&str, &[&str], u32)] = &[
        (
            "x\")\nimport os; os.system('touch PWNED')\n#",
            &["a\")\nos.system('x')\n#", "b]", "c d", "😀", "e\r\u{c}f"],
            2,
        ),
        ("q'\"\\", &["'", "\u{2028}", "\u{85}"], 1),
        ("sp ace]", &["class", "from", "None", "__debug__"], 1),
        ("cars_car", &["kw", "model", "kw_", "dict", "Decimal"], 2),
        ("restore", &["a"], 3),
        ("app_t", &["a"], 2),
        ("app_t_1", &["b"], 2),
        ("t_eq", &["a = b", "a] = b"], 1),
        (".hidden", &[], 1),
    ];
    for (name, cols, rows) in tables {
        let mut defs = vec!["id integer primary key".to_string()];
        defs.extend(cols.iter().map(|c| format!("{} text", q(c))));
        c.execute_batch(&format!("CREATE TABLE {} ({})", q(name), defs.join(", ")))
            .expect("create");
        for i in 1..=*rows {
            let mut values = vec![i.to_string()];
            values.extend(cols.iter().map(|_| format!("'v{i}'")));
            c.execute_batch(&format!(
                "INSERT INTO {} VALUES ({})",
                q(name),
                values.join(", ")
            ))
            .expect("insert");
        }
    }
    drop(c);
    let (direct, again) = dump_of_dump(t.path(), &sqlite_url(&db), None, &["-m", "1"], false);
    assert_same_file(&direct, &again);
}

/// An incomplete dump (a table `-t` skipped): refused, naming the table
/// and why; with `-t` that table is skipped again, and the dump of the
/// dump says so as the dump did.
#[test]
fn an_incomplete_dump_is_refused_unless_tolerated() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let c = rusqlite::Connection::open(&db).expect("open");
    c.execute_batch(
        "CREATE TABLE app_a (id integer primary key, name text);
         INSERT INTO app_a VALUES (1, 'x');
         CREATE TABLE app_gone (id integer primary key);
         CREATE VIEW app_v AS SELECT * FROM app_gone;
         DROP TABLE app_gone;",
    )
    .expect("schema");
    drop(c);
    let dump = t.path().join("incomplete");
    let o = dump2py(["-v", "0", "-t", "-d", &sqlite_url(&db), s(&dump)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = refused(&dump, &t.path().join("out.json"));
    assert!(
        e.contains("table app_v: not in the dump, which couldn't read it: no such table"),
        "{e}"
    );
    let again = t.path().join("again");
    let url = format!("dump:{}", dump.display());
    let o = dump2py(["-v", "0", "-t", "-d", &url, s(&again)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let restore = fs::read_to_string(again.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains("MISSING_TABLES = {\n    'app_v': "),
        "{restore}"
    );
    assert_eq!(
        fs::read(dump.join("app_a.py")).ok(),
        fs::read(again.join("app_a.py")).ok()
    );
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

/// A datetime's text without its fraction of a second, everywhere in a
/// JSON document: Lino's dump2py drops microseconds.
fn without_fractions(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(t) => {
            let datetime = t.len() > 19 && t.as_bytes().get(10) == Some(&b'T');
            if let (true, Some(dot)) = (datetime, t.find('.')) {
                t.truncate(dot);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(without_fractions),
        serde_json::Value::Object(map) => map.values_mut().for_each(without_fractions),
        _ => {}
    }
}

/// A dump written by Lino's own dump2py has no manifest: read with the
/// site's metadata (which says its columns; nothing to check it against),
/// it gives the database's JSON but the microseconds Lino drops; without
/// metadata it is refused in one line that says so.
#[test]
fn linos_own_dump_is_read_with_the_sites_metadata() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let theirs = t.path().join("theirs");
    lino.admin_ok(MIN1, &db, &["dump2py", s(&theirs)]);
    let e = refused(&theirs, &t.path().join("out.json"));
    assert!(e.contains("a dump of Lino's own dump2py"), "{e}");
    assert!(e.contains("--settings or --site-schema"), "{e}");
    let schema = site_schema(MIN1, &lino.python(), t.path(), &db);
    let (direct, read) = (t.path().join("direct.json"), t.path().join("read.json"));
    let url = sqlite_url(&db);
    dump_ok([
        "-v",
        "0",
        "-d",
        &url,
        "--site-schema",
        s(&schema),
        "--json",
        s(&direct),
    ]);
    let dump_url = format!("dump:{}", theirs.display());
    dump_ok([
        "-v",
        "0",
        "-d",
        &dump_url,
        "--site-schema",
        s(&schema),
        "--json",
        s(&read),
    ]);
    let json = |p: &Path| -> serde_json::Value {
        let mut v = serde_json::from_slice(&fs::read(p).expect("read")).expect("json");
        without_fractions(&mut v);
        v
    };
    assert_eq!(json(&direct), json(&read));
    assert_ne!(
        fs::read(&direct).ok(),
        fs::read(&read).ok(),
        "min1 has microseconds"
    );
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
