//! Django's `dumpdata` formats beside the Python dump (issue 5): with site
//! metadata our JSON and XML are byte-identical to `django-admin dumpdata`;
//! without it they hold the same objects with only the README's listed
//! differences; `loaddata` of either restores the data; one run that
//! writes several outputs reads each table once.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dump2py_tests::{
    compare::{assert_same_file, read_dump},
    copy_db, fixture,
    lino::{lino, Venv, AWKWARD, MIN1},
    path_str,
    run::{dump2py, dump_ok, stderr, stdout},
    sqlite_url,
};

/// The differences that the README lists for JSON without site metadata
/// (the kinds of tests/python/dumpdata_diff.py).
const WITHOUT_METADATA: &[&str] = &[
    "model-order",
    "field-order",
    "label",
    "decimal-places",
    "naive-datetime",
    "uuid-hex",
    "duration-int",
    "choice-empty",
    "m2m-order",
    "unserialized",
];

/// What loaddata of Django's own formats loses: JSON keeps milliseconds;
/// XML parsers read carriage returns as newlines and Django's XML
/// deserializer strips texts.
const JSON_LOSSES: &[&str] = &["milliseconds"];
const XML_LOSSES: &[&str] = &["carriage-return", "stripped"];

fn min1() -> (tempfile::TempDir, PathBuf) {
    copy_db(&fixture("min1.sqlite3"))
}

/// A copy of the awkward database that XML can hold: Django refuses the
/// control characters of things.Text 10.
fn without_control_chars(db: &Path, dir: &Path) -> PathBuf {
    let clean = dir.join("clean.sqlite3");
    fs::copy(db, &clean).expect("copy");
    let conn = rusqlite::Connection::open(&clean).expect("open");
    let n = conn
        .execute(
            "UPDATE things_text SET short = 'no controls', body = 'no controls' WHERE id = 10",
            [],
        )
        .expect("update");
    assert_eq!(n, 1);
    clean
}

/// `dumpdata --format FORMAT [--indent N] -o OUT`; its output (it fails on
/// what XML can't hold).
fn django(
    lino: &Venv,
    settings: &str,
    db: &Path,
    format: &str,
    indent: Option<&str>,
    out: &Path,
) -> std::process::Output {
    django_with(lino, settings, db, format, indent, &[], out)
}

/// `dumpdata` with more options (`-e`, `--natural-foreign`…).
fn django_with(
    lino: &Venv,
    settings: &str,
    db: &Path,
    format: &str,
    indent: Option<&str>,
    options: &[&str],
    out: &Path,
) -> std::process::Output {
    let mut args = vec!["dumpdata", "--format", format];
    if let Some(n) = indent {
        args.extend(["--indent", n]);
    }
    args.extend(options);
    let o = path_str(out);
    args.extend(["-o", &o]);
    lino.admin(settings, db, &args)
}

/// With --settings: each format and indent byte-identical to Django's.
fn same_as_dumpdata(
    lino: &Venv,
    settings: &str,
    db: &Path,
    dir: &Path,
    formats: &[&str],
    indents: &[Option<&str>],
) {
    same_as_dumpdata_with(lino, settings, db, dir, formats, indents, &[]);
}

/// As [`same_as_dumpdata`], with `options` given to both.
fn same_as_dumpdata_with(
    lino: &Venv,
    settings: &str,
    db: &Path,
    dir: &Path,
    formats: &[&str],
    indents: &[Option<&str>],
    options: &[&str],
) {
    for indent in indents {
        let tag = indent.unwrap_or("none");
        let mut args: Vec<String> = Vec::new();
        for f in formats {
            args.extend([
                format!("--{f}"),
                path_str(&dir.join(format!("ours-{tag}.{f}"))),
            ]);
        }
        if let Some(n) = indent {
            args.extend(["--indent".into(), n.to_string()]);
        }
        args.extend(["-v".into(), "0".into(), "-o".into()]);
        args.extend(options.iter().map(|o| o.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        lino.ours_ok(settings, db, &[], &refs);
        for f in formats {
            let theirs = dir.join(format!("django-{tag}.{f}"));
            let out = django_with(lino, settings, db, f, *indent, options, &theirs);
            assert!(out.status.success(), "dumpdata failed: {}", stderr(&out));
            assert_same_file(&theirs, &dir.join(format!("ours-{tag}.{f}")));
        }
    }
}

#[test]
fn min1_json_and_xml_equal_dumpdata() {
    let lino = lino();
    let (t, db) = min1();
    same_as_dumpdata(
        lino,
        MIN1,
        &db,
        t.path(),
        &["json", "xml"],
        &[None, Some("2"), Some("0")],
    );
}

#[test]
fn awkward_json_equals_dumpdata() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    same_as_dumpdata(
        lino,
        AWKWARD,
        &db,
        t.path(),
        &["json"],
        &[None, Some("2"), Some("0")],
    );
}

#[test]
fn awkward_xml_equals_dumpdata_or_fails_where_django_fails() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    // Control characters: Django fails, and so do we, naming the value.
    let theirs = django(
        lino,
        AWKWARD,
        &db,
        "xml",
        None,
        &t.path().join("django.xml"),
    );
    assert!(!theirs.status.success());
    assert!(
        stderr(&theirs).contains("Text.short (pk:10) contains unserializable characters"),
        "{}",
        stderr(&theirs)
    );
    let xml = t.path().join("ours.xml");
    let ours = lino.ours(AWKWARD, &db, &[], &["--xml", &path_str(&xml)]);
    assert_eq!(ours.status.code(), Some(1));
    assert!(
        stderr(&ours).contains(
            "table things_text, column short, primary key 10: contains control characters"
        ),
        "{}",
        stderr(&ours)
    );
    assert!(!xml.exists(), "a failed dump left its output");
    let leftovers: Vec<_> = fs::read_dir(t.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dump2py"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let clean = without_control_chars(&db, t.path());
    same_as_dumpdata(
        lino,
        AWKWARD,
        &clean,
        t.path(),
        &["xml"],
        &[None, Some("2")],
    );
}

/// Runs dumpdata_diff.py; returns the kinds of differences found.
fn dumpdata_differences(
    lino: &Venv,
    theirs: &Path,
    ours: &Path,
    allow: &[&str],
) -> BTreeMap<String, u64> {
    let mut args: Vec<PathBuf> = vec![theirs.into(), ours.into()];
    args.extend(allow.iter().map(|k| PathBuf::from(format!("--allow={k}"))));
    let refs: Vec<&Path> = args.iter().map(PathBuf::as_path).collect();
    let out = lino.script("dumpdata_diff.py", &refs);
    assert!(
        out.status.success(),
        "unexpected differences:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    let first = stdout(&out).lines().next().unwrap_or_default().to_string();
    let summary: serde_json::Value = serde_json::from_str(&first).expect("summary");
    summary["kinds"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

/// Without metadata: the same objects and values as dumpdata's JSON but
/// for the README's list, and each listed difference shows on a test site.
#[test]
fn without_metadata_only_the_listed_differences() {
    let lino = lino();
    let mut seen = BTreeMap::new();
    for (settings, (t, db)) in [(MIN1, min1()), (AWKWARD, lino.sqlite_site(AWKWARD, &[]))] {
        let theirs = t.path().join("django.json");
        let out = django(lino, settings, &db, "json", None, &theirs);
        assert!(out.status.success(), "{}", stderr(&out));
        let ours = t.path().join("ours.json");
        dump_ok([
            "-d",
            &sqlite_url(&db),
            "--json",
            &path_str(&ours),
            "-v",
            "0",
        ]);
        let kinds = dumpdata_differences(lino, &theirs, &ours, WITHOUT_METADATA);
        seen.extend(kinds.clone());
        if settings == MIN1 {
            // No content types: models by label; gender is a choice list.
            assert_eq!(
                kinds.keys().collect::<Vec<_>>(),
                ["choice-empty", "model-order"]
            );
        } else {
            // Scalar rows 1-4 hold the decimals, datetimes, UUIDs and durations;
            // Stamp rows 1-2 two datetimes each.
            assert_eq!(kinds["naive-datetime"], 8, "{kinds:?}");
            assert_eq!(kinds["uuid-hex"], 3, "{kinds:?}");
            assert_eq!(kinds["duration-int"], 3, "{kinds:?}");
            assert_eq!(kinds["label"], 1, "{kinds:?}");
            // The tags of things 1 and 4 by name (Tag's Meta.ordering).
            assert_eq!(kinds["m2m-order"], 2, "{kinds:?}");
            // things.Text.digest (serialize=False), once per text.
            let texts = fs::read_to_string(&theirs)
                .expect("read")
                .matches("\"model\": \"things.text\"")
                .count();
            assert!(texts > 0);
            assert_eq!(kinds["unserialized"], texts as u64, "{kinds:?}");
        }
    }
    // Every listed difference but the field order shows on one of the sites.
    let listed: Vec<&str> = WITHOUT_METADATA
        .iter()
        .copied()
        .filter(|k| *k != "field-order")
        .collect();
    assert_eq!(
        seen.keys().map(String::as_str).collect::<Vec<_>>().len(),
        listed.len(),
        "{seen:?}"
    );
}

/// loaddata of `file` into an empty database of the site; returns the data
/// as dumpdata's YAML.
fn loaded(lino: &Venv, settings: &str, dir: &Path, name: &str, file: &Path) -> PathBuf {
    let db = dir.join(format!("{name}.sqlite3"));
    lino.admin_ok(settings, &db, &["initdb", "--noinput", "-v0"]);
    let empty = dir.join(format!("{name}-empty.json"));
    lino.dumpdata(settings, &db, &empty);
    // Only the content types that migrate creates.
    let objects: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&empty).expect("read")).expect("json");
    let non_ct = objects.as_array().map(|a| {
        a.iter()
            .filter(|o| o["model"] != "contenttypes.contenttype")
            .count()
    });
    assert_eq!(non_ct, Some(0), "initdb left data: {objects}");
    lino.admin_ok(settings, &db, &["loaddata", &path_str(file), "-v0"]);
    let yaml = dir.join(format!("{name}-after.yaml"));
    lino.dumpdata(settings, &db, &yaml);
    yaml
}

fn round_trip(settings: &str, prepare: fn(&Venv) -> (tempfile::TempDir, PathBuf)) {
    let lino = lino();
    let (t, db) = prepare(lino);
    let dir = t.path();
    let before = dir.join("before.yaml");
    lino.dumpdata(settings, &db, &before);
    let json = dir.join("ours.json");
    lino.ours_ok(settings, &db, &[], &["--json", &path_str(&json), "-v", "0"]);
    let after = loaded(lino, settings, dir, "json", &json);
    let lost = dumpdata_differences(lino, &before, &after, JSON_LOSSES);
    // The awkward site's datetimes and times have microseconds.
    assert!(lost.keys().all(|k| k == "milliseconds"), "{lost:?}");
    // XML: of a database it can hold.
    let clean = if settings == AWKWARD {
        without_control_chars(&db, dir)
    } else {
        db.clone()
    };
    let before = dir.join("before-clean.yaml");
    lino.dumpdata(settings, &clean, &before);
    let xml = dir.join("ours.xml");
    lino.ours_ok(
        settings,
        &clean,
        &[],
        &["--xml", &path_str(&xml), "-v", "0"],
    );
    let after = loaded(lino, settings, dir, "xml", &xml);
    let lost = dumpdata_differences(lino, &before, &after, XML_LOSSES);
    if settings == AWKWARD {
        // things.Text 8, short and body.
        assert_eq!(lost.get("carriage-return"), Some(&2), "{lost:?}");
    }
}

#[test]
fn loaddata_restores_min1() {
    round_trip(MIN1, |_| min1());
}

#[test]
fn loaddata_restores_awkward() {
    round_trip(AWKWARD, |lino| lino.sqlite_site(AWKWARD, &[]));
}

/// Without metadata, min1's JSON restores too (the awkward site's
/// durations, integers without metadata, are refused by loaddata).
#[test]
fn loaddata_restores_min1_without_metadata() {
    let lino = lino();
    let (t, db) = min1();
    let before = t.path().join("before.yaml");
    lino.dumpdata(MIN1, &db, &before);
    let json = t.path().join("ours.json");
    dump_ok([
        "-d",
        &sqlite_url(&db),
        "--json",
        &path_str(&json),
        "-v",
        "0",
    ]);
    let after = loaded(lino, MIN1, t.path(), "json", &json);
    let lost = dumpdata_differences(lino, &before, &after, JSON_LOSSES);
    assert_eq!(lost.keys().collect::<Vec<_>>(), ["milliseconds"]);
}

/// Tables read, from `-v 3`'s `read table NAME: N rows` lines.
fn reads(stderr: &str) -> BTreeMap<String, u32> {
    let mut n = BTreeMap::new();
    for l in stderr.lines() {
        if let Some(rest) = l.strip_prefix("read table ") {
            let name = rest.split(':').next().unwrap_or_default().to_string();
            *n.entry(name).or_insert(0) += 1;
        }
    }
    n
}

#[test]
fn one_run_reads_each_table_once_per_order_and_equals_separate_runs() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let db = without_control_chars(&db, t.path());
    let d = |n: &str| path_str(&t.path().join(n));
    let all = lino.ours_ok(
        AWKWARD,
        &db,
        &[],
        &[
            &d("py"),
            "--json",
            &d("all.json"),
            "--xml",
            &d("all.xml"),
            "--indent",
            "1",
            "-v",
            "3",
        ],
    );
    let n = reads(&stderr(&all));
    // The many-to-many link tables twice: in key order for the Python
    // dump, in the targets' order for JSON and XML together (README,
    // "Order"); every other table once (SQLite orders text keys alike).
    let twice = ["things_thing_tags", "things_leaf_codes"];
    for (table, &c) in &n {
        let expected = if twice.contains(&table.as_str()) {
            2
        } else {
            1
        };
        assert_eq!(c, expected, "{table} in {n:?}");
    }
    // Those the Python dump skips and those of the many-to-many fields too.
    for table in ["django_content_type", "things_scalar", "things_code"] {
        assert_eq!(n.get(table), Some(&1), "{table} in {n:?}");
    }
    for table in twice {
        assert_eq!(n.get(table), Some(&2), "{table} in {n:?}");
    }
    lino.ours_ok(AWKWARD, &db, &[], &[&d("py-alone"), "-v", "0"]);
    lino.ours_ok(
        AWKWARD,
        &db,
        &[],
        &["--json", &d("alone.json"), "--indent", "1", "-v", "0"],
    );
    let xml = lino.ours_ok(
        AWKWARD,
        &db,
        &[],
        &["-f", "xml=-", "--indent", "1", "-v", "0"],
    );
    assert_eq!(
        read_dump(&t.path().join("py")),
        read_dump(&t.path().join("py-alone"))
    );
    assert_same_file(&t.path().join("alone.json"), &t.path().join("all.json"));
    assert!(
        fs::read(t.path().join("all.xml")).expect("xml") == xml.stdout,
        "XML on stdout differs"
    );
}

/// Decompresses with Python's gzip, bz2 and lzma modules, as loaddata does.
fn decompressed(path: &Path) -> Vec<u8> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, gzip, bz2, lzma; p = sys.argv[1]; \
             o = {'gz': gzip.open, 'bz2': bz2.open, 'xz': lzma.open}[p.rsplit('.', 1)[1]]; \
             sys.stdout.buffer.write(o(p).read())",
        ])
        .arg(path)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", stderr(&out));
    out.stdout
}

#[test]
fn outputs_without_output_dir_compressed_and_checked() {
    let (t, db) = min1();
    let url = sqlite_url(&db);
    let d = |n: &str| path_str(&t.path().join(n));
    dump_ok([
        "-d",
        &url,
        "--json",
        &d("a.json"),
        "--xml",
        &d("a.xml"),
        "-v",
        "0",
    ]);
    dump_ok([
        "-d",
        &url,
        "--json",
        &d("a.json.gz"),
        "--xml",
        &d("a.xml.bz2"),
        "-f",
        &format!("json={}", d("b.json.xz")),
        "-v",
        "0",
    ]);
    let plain = |n: &str| fs::read(t.path().join(n)).expect("read");
    assert!(decompressed(&t.path().join("a.json.gz")) == plain("a.json"));
    assert!(decompressed(&t.path().join("b.json.xz")) == plain("a.json"));
    assert!(decompressed(&t.path().join("a.xml.bz2")) == plain("a.xml"));
    let out = dump_ok(["-d", &url, "--json", "-", "-v", "0"]);
    assert!(out.stdout == plain("a.json"));
    // An existing output is kept unless --overwrite; one failing output
    // leaves no other behind.
    let out = dump2py(["-d", &url, &d("py"), "--json", &d("a.json"), "-v", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(!t.path().join("py").exists());
    dump_ok([
        "-d",
        &url,
        "--json",
        &d("a.json"),
        "--indent",
        "4",
        "-o",
        "-v",
        "0",
    ]);
    assert!(plain("a.json").starts_with(b"[\n{\n    \"model\": "));
    let out = dump2py(["-d", &url, "--json", "-", "--xml", "-"]);
    assert!(stderr(&out).contains("only one output can go to standard output"));
    let out = dump2py(["-d", &url, "-f", "yaml=x.yaml"]);
    assert!(
        stderr(&out).contains("unknown output format 'yaml'"),
        "{}",
        stderr(&out)
    );
    let out = dump2py(["-d", &url]);
    assert!(
        stderr(&out).contains("no OUTPUT_DIR given"),
        "{}",
        stderr(&out)
    );
}

/// `-e` with apps and models, several at once: what dumpdata writes with
/// the same excludes, with and without --indent.
#[test]
fn excludes_equal_dumpdata() {
    let lino = lino();
    let (t, db) = min1();
    for excludes in [
        &["-e", "countries", "-e", "contacts.Person"][..],
        &[
            "-e",
            "contacts.partner",
            "-e",
            "users",
            "-e",
            "system.SiteConfig",
        ][..],
    ] {
        same_as_dumpdata_with(
            lino,
            MIN1,
            &db,
            t.path(),
            &["json", "xml"],
            &[None, Some("2")],
            excludes,
        );
    }
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let db = without_control_chars(&db, t.path());
    // Content types (Lino's dump skips them, dumpdata doesn't), the
    // owner and the target of many-to-many fields.
    for excludes in [
        &[
            "-e",
            "contenttypes",
            "-e",
            "things.Tag",
            "-e",
            "things.leaf",
        ][..],
        &["-e", "things.Thing", "-e", "things.Code", "-e", "system"][..],
    ] {
        same_as_dumpdata_with(
            lino,
            AWKWARD,
            &db,
            t.path(),
            &["json", "xml"],
            &[None, Some("0")],
            excludes,
        );
    }
}

/// `--natural-foreign` and `--natural-primary`, alone and together, with
/// and without --indent and with `-e`: what dumpdata writes with them.
#[test]
fn natural_keys_equal_dumpdata() {
    let lino = lino();
    let options: [&[&str]; 4] = [
        &["--natural-foreign"],
        &["--natural-primary"],
        &["--natural-foreign", "--natural-primary"],
        &["--natural-foreign", "--natural-primary", "-e", "users.User"],
    ];
    let (t, db) = min1();
    for o in options {
        same_as_dumpdata_with(
            lino,
            MIN1,
            &db,
            t.path(),
            &["json", "xml"],
            &[None, Some("2")],
            o,
        );
    }
    // Content types have natural keys: things.Note's owner is one, and
    // with -e contenttypes they are read for the keys, not written.
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let db = without_control_chars(&db, t.path());
    let options: [&[&str]; 4] = [
        &["--natural-foreign"],
        &["--natural-primary"],
        &["--natural-foreign", "--natural-primary"],
        &[
            "--natural-foreign",
            "-e",
            "contenttypes",
            "-e",
            "things.Tag",
        ],
    ];
    for o in options {
        same_as_dumpdata_with(
            lino,
            AWKWARD,
            &db,
            t.path(),
            &["json", "xml"],
            &[None, Some("0")],
            o,
        );
    }
}

/// Natural keys come from the site: without its metadata they are refused.
#[test]
fn natural_keys_need_site_metadata() {
    let (t, db) = min1();
    let json = t.path().join("a.json");
    let out = dump2py([
        "-d",
        &sqlite_url(&db),
        "--json",
        &path_str(&json),
        "--natural-foreign",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("they need its metadata (--settings or --site-schema)"),
        "{}",
        stderr(&out)
    );
    assert!(!json.exists());
    let out = dump2py([
        "-d",
        &sqlite_url(&db),
        &path_str(&t.path().join("dump")),
        "--natural-primary",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--natural-primary is for outputs of format json, xml (--json, --xml)"),
        "{}",
        stderr(&out)
    );
}
