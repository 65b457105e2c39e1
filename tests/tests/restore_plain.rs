//! restore.py on a plain Django site (tests/sites/plain), in a virtualenv
//! holding Django alone: restore.py carries its own loader. Dumped with
//! `--settings` and without metadata, each restored by running restore.py
//! as a script: `dumpdata --natural-foreign --natural-primary` equals the
//! original, auto_now fields included.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dump2py_tests::*;

const PLAIN: &str = "plain.settings";

/// The virtualenv with Django alone (tests/python/requirements-django.txt).
fn venv() -> &'static Path {
    django_env()
}

fn python(db: &Path) -> Command {
    python_of(PLAIN, db)
}

/// The Django environment's python for the site `settings` on `db`.
fn python_of(settings: &str, db: &Path) -> Command {
    let mut c = Command::new(venv().join("bin/python"));
    c.env("DJANGO_SETTINGS_MODULE", settings)
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", db)
        .env("LC_ALL", "C.UTF-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DUMP2PY_TEST_DB_URL")
        .env_remove("DATABASE_URL");
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn admin(db: &Path, args: &[&str]) -> Output {
    admin_of(PLAIN, db, args)
}

fn admin_of(settings: &str, db: &Path, args: &[&str]) -> Output {
    let out = python_of(settings, db)
        .arg(venv().join("bin/django-admin"))
        .args(args)
        .output()
        .expect("run django-admin");
    ok(out, &format!("django-admin {}", args.join(" ")))
}

/// `dumpdata` with natural keys, as YAML (keeps microseconds).
fn dumpdata(db: &Path) -> String {
    stdout(&admin(
        db,
        &[
            "dumpdata",
            "--natural-foreign",
            "--natural-primary",
            "--format",
            "yaml",
        ],
    ))
}

/// `DJANGO_SETTINGS_MODULE=plain.settings python DUMP/restore.py ARGS`.
fn restore(db: &Path, dump: &Path, args: &[&str]) -> Output {
    python(db)
        .arg(dump.join("restore.py"))
        .args(args)
        .output()
        .expect("run restore.py")
}

/// A database of the plain site with its demo data.
fn prepared() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let out = python(&db)
        .arg(root().join("tests/python/plain_demo.py"))
        .output()
        .expect("run plain_demo.py");
    ok(out, "plain_demo.py");
    (t, db)
}

fn dump_with_meta(db: &Path, out: &Path) {
    let o = Command::new(bin())
        .args(["-v", "0", "--settings", PLAIN, "--python"])
        .arg(venv().join("bin/python"))
        .arg(out)
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", db)
        .env_remove("DUMP2PY_TEST_DB_URL")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run dump2py");
    ok(o, "dump2py --settings");
}

fn dump_without_meta(db: &Path, out: &Path) {
    dump_ok(["-v", "0", "-d", &sqlite_url(db), &out.to_string_lossy()]);
}

#[test]
fn a_plain_django_site_restores_with_and_without_metadata() {
    // Django alone: restore.py can't lean on Lino.
    let no_lino = python(Path::new("/nonexistent"))
        .args(["-c", "import lino"])
        .output()
        .expect("run python");
    assert!(!no_lino.status.success(), "Lino is importable");
    let (t, db) = prepared();
    let before = dumpdata(&db);
    assert!(before.contains("created: 2001-02-03 04:05:06.000007+00:00"));
    assert!(before.contains("model: auth.permission"));
    let meta = t.path().join("meta");
    dump_with_meta(&db, &meta);
    let raw = t.path().join("raw");
    dump_without_meta(&db, &raw);
    for (n, (dump, args, migrated)) in [
        (&meta, &["--noinput"][..], true),
        (&raw, &["--noinput"][..], true),
        (&raw, &["--noinput", "--quick"][..], true),
        (&meta, &["--noinput", "--bulk"][..], true),
        // Not even migrated: restore.py migrates first.
        (&raw, &["--noinput"][..], false),
    ]
    .into_iter()
    .enumerate()
    {
        let fresh = t.path().join(format!("fresh-{n}.sqlite3"));
        if migrated {
            admin(&fresh, &["migrate", "--run-syncdb", "-v", "0"]);
        }
        let out = ok(restore(&fresh, dump, args), "restore.py");
        let err = stderr(&out);
        assert!(
            err.contains("shop_note.py: 3 rows in "),
            "no progress line: {err}"
        );
        assert!(
            err.contains("Loaded 83 objects in "),
            "no closing line: {err}"
        );
        if !args.contains(&"--bulk") {
            // Sales (its head, an employee) and the old item (a newer one).
            assert!(err.contains("2 were deferred and saved later"), "{err}");
        }
        let after = dumpdata(&fresh);
        assert!(
            after == before,
            "{} {args:?}: dumpdata differs:\n{after}",
            dump.display()
        );
    }
}

#[test]
fn an_object_that_can_never_be_saved_fails_the_restore() {
    let (t, db) = prepared();
    let dump = t.path().join("dump");
    dump_without_meta(&db, &dump);
    let employees = dump.join("shop_employee.py");
    let text = fs::read_to_string(&employees).expect("shop_employee.py");
    let broken = text.replace(
        "create_shop_employee(2,'Clerk',1)",
        "create_shop_employee(2,'Clerk',999)",
    );
    assert_ne!(broken, text, "{text}");
    fs::write(&employees, broken).expect("write shop_employee.py");
    let fresh = t.path().join("fresh.sqlite3");
    let out = restore(&fresh, &dump, &["--noinput"]);
    assert!(!out.status.success(), "the restore succeeded");
    let err = stderr(&out);
    assert!(
        err.contains("Abandoning with 1 unsaved instances:"),
        "{err}"
    );
    assert!(err.contains("- shop.Employee"), "{err}");
    assert!(err.contains("with primary key 2)"), "{err}");
    // The others are in.
    assert!(dumpdata(&fresh).contains("name: Boss"));
}

/// A data file runs a hundred statements at a time, and a statement that
/// spans lines (a data file repaired by hand) is kept whole.
#[test]
fn data_files_run_in_chunks_of_whole_statements() {
    let (t, db) = prepared();
    let dump = t.path().join("dump");
    dump_without_meta(&db, &dump);
    let data = t.path().join("data.py");
    // Line 100 opens a dict: the chunk that ends there doesn't compile,
    // so it grows to the next boundary (200 lines) and stays whole.
    let mut text = String::from("# -*- coding: UTF-8 -*-\nseen = []\n");
    for i in 0..97 {
        text.push_str(&format!("seen.append({i})\n"));
    }
    text.push_str("d = {\n'a': 1,\n}\nseen.append(d)\n");
    text.push_str("if len(seen) == 98:\n    seen.append('if')\nelse:\n    seen.append('else')\n");
    for i in 0..150 {
        text.push_str(&format!("seen.append({i})\n"));
    }
    fs::write(&data, text).expect("write data.py");
    let script = "import runpy, sys\n\
         g = runpy.run_path(sys.argv[1], run_name='restore')\n\
         chunks = list(g['_dump2py_statements'](sys.argv[2]))\n\
         ns = {}\n\
         for c in chunks:\n    exec(c, ns)\n\
         print(len(chunks), len(ns['seen']), ns['seen'][97:99])\n";
    let out = python(&db)
        .args(["-c", script])
        .arg(dump.join("restore.py"))
        .arg(&data)
        .output()
        .expect("run python");
    let out = ok(out, "chunks");
    assert_eq!(stdout(&out).trim(), "2 249 [{'a': 1}, 'if']");
}

/// Django 5's keys and defaults (tests/sites/composite; Lino can't start
/// with a CompositePrimaryKey model, so only plain Django has them): our
/// JSON and XML equal dumpdata's, and our dump, with metadata and without,
/// restores to the same data.
#[test]
fn composite_keys_and_db_defaults_dump_and_restore() {
    const SITE: &str = "composite.settings";
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    admin_of(SITE, &db, &["migrate", "--run-syncdb", "-v", "0"]);
    let fill = "import django; django.setup()
from composite.pairs.models import Pair, Defaulted
Pair.objects.create(left=1, right='a', note='one')
Pair.objects.create(left=1, right='b')
Pair.objects.create(left=-2, right='ü', note='x')
Defaulted.objects.create()
Defaulted.objects.create(count=3, label='')";
    ok(
        python_of(SITE, &db)
            .args(["-c", fill])
            .output()
            .expect("python"),
        "fill",
    );
    let dumpdata = |db: &Path, format: &str| -> Vec<u8> {
        let out = t.path().join(format!("django.{format}"));
        let o = out.to_string_lossy().into_owned();
        admin_of(SITE, db, &["dumpdata", "--format", format, "-o", &o]);
        fs::read(&out).expect("dumpdata")
    };
    let (json, xml) = (dumpdata(&db, "json"), dumpdata(&db, "xml"));
    // What dumpdata writes of a composite key.
    assert!(String::from_utf8_lossy(&json).contains(r#""pk": [-2, "ü"]"#));
    assert!(String::from_utf8_lossy(&xml).contains(r#"pk='["-2", "ü"]'"#));
    let meta = t.path().join("meta");
    let (oj, ox) = (t.path().join("ours.json"), t.path().join("ours.xml"));
    let o = Command::new(bin())
        .args(["-v", "0", "--settings", SITE, "--python"])
        .arg(venv().join("bin/python"))
        .arg("--json")
        .arg(&oj)
        .arg("--xml")
        .arg(&ox)
        .arg(&meta)
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", &db)
        .env_remove("DUMP2PY_TEST_DB_URL")
        .env_remove("DATABASE_URL")
        .output()
        .expect("run dump2py");
    ok(o, "dump2py --settings");
    assert_same_file(&t.path().join("django.json"), &oj);
    assert_same_file(&t.path().join("django.xml"), &ox);
    let raw = t.path().join("raw");
    dump_without_meta(&db, &raw);
    for (n, dump) in [&meta, &raw].into_iter().enumerate() {
        let fresh = t.path().join(format!("fresh-{n}.sqlite3"));
        ok(
            python_of(SITE, &fresh)
                .arg(dump.join("restore.py"))
                .arg("--noinput")
                .output()
                .expect("restore.py"),
            "restore.py",
        );
        assert!(
            dumpdata(&fresh, "json") == json,
            "{}: restored data differs",
            dump.display()
        );
    }
}
