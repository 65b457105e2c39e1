//! restore.py on a plain Django site (tests/sites/plain), in a virtualenv
//! holding Django alone: restore.py carries its own loader. Dumped with
//! `--settings` and without metadata, each restored by running restore.py
//! as a script: `dumpdata --natural-foreign --natural-primary` equals the
//! original, auto_now fields included.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dump2py_tests::{
    compare::{assert_same_file, read_dump},
    lino::{django, lino},
    root,
    run::{bin, dump_ok, ok, stderr, stdout},
    sqlite_url,
};

const PLAIN: &str = "plain.settings";

/// `dumpdata` with natural keys, as YAML (keeps microseconds).
fn dumpdata(db: &Path) -> String {
    stdout(&django().admin_ok(
        PLAIN,
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
    restore_of(PLAIN, db, dump, args)
}

fn restore_of(settings: &str, db: &Path, dump: &Path, args: &[&str]) -> Output {
    django()
        .command(settings, db)
        .arg(dump.join("restore.py"))
        .args(args)
        .output()
        .expect("run restore.py")
}

/// `dumpdata --natural-foreign` of `settings` on `db` into `out` (YAML:
/// microseconds kept), without content types (a restore gives them the
/// target's ids) and the apps in `exclude`.
fn dumpdata_to(settings: &str, db: &Path, out: &Path, exclude: &[&str]) {
    let o = out.to_string_lossy().into_owned();
    let mut args = vec![
        "dumpdata",
        "--natural-foreign",
        "--format",
        "yaml",
        "-o",
        &o,
    ];
    args.extend(["-e", "contenttypes"]);
    for e in exclude {
        args.extend(["-e", e]);
    }
    django().admin_ok(settings, db, &args);
}

/// compare_dumpdata.py's verdict on two dumpdata files: None if equal.
fn data_differs(a: &Path, b: &Path) -> Option<String> {
    let out = Command::new(django().python())
        .arg(root().join("tests/python/compare_dumpdata.py"))
        .arg(a)
        .arg(b)
        .output()
        .expect("run compare_dumpdata.py");
    (!out.status.success()).then(|| stdout(&out) + &stderr(&out))
}

/// A database of the plain site with its demo data.
fn prepared() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let out = django()
        .command(PLAIN, &db)
        .arg(root().join("tests/python/plain_demo.py"))
        .output()
        .expect("run plain_demo.py");
    ok(out, "plain_demo.py");
    (t, db)
}

fn dump_with_meta(db: &Path, out: &Path) {
    dump_with_meta_of(PLAIN, db, out, &[]);
}

fn dump_with_meta_of(settings: &str, db: &Path, out: &Path, args: &[&str]) {
    let o = Command::new(bin())
        .args(["-v", "0", "--settings", settings, "--python"])
        .arg(django().python())
        .args(args)
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
    let no_lino = django()
        .command(PLAIN, Path::new("/nonexistent"))
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
            django().admin_ok(PLAIN, &fresh, &["migrate", "--run-syncdb", "-v", "0"]);
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
        // loaddata's way: the forward references (Sales' head, the old
        // item's newer one) wait for the end of the transaction, not deferred.
        assert!(err.contains("0 were deferred and saved later"), "{err}");
        let after = dumpdata(&fresh);
        assert!(
            after == before,
            "{} {args:?}: dumpdata differs:\n{after}",
            dump.display()
        );
    }
}

/// A row the database refuses fails the whole restore, which leaves none
/// of the dump's rows (one transaction), and says so.
#[test]
fn a_failed_restore_leaves_nothing_of_the_dump() {
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
    // Changed by hand: the manifest no longer fits.
    let out = restore(&fresh, &dump, &["--noinput"]);
    assert!(!out.status.success(), "the restore succeeded");
    assert!(
        stderr(&out).contains("- shop_employee.py: 242 bytes, the manifest says 240"),
        "{}",
        stderr(&out)
    );
    let out = restore(&fresh, &dump, &["--noinput", "--no-verify"]);
    assert!(!out.status.success(), "the restore succeeded");
    let err = stderr(&out);
    assert!(err.contains("The restore failed: "), "{err}");
    assert!(
        err.contains("shop_employee.department_id contains a value '999'"),
        "{err}"
    );
    assert!(
        err.contains("the database holds none of the dump's rows"),
        "{err}"
    );
    // Nothing of the dump is in: not even what came before the bad row.
    let after = dumpdata(&fresh);
    for gone in [
        "name: Boss",
        "username: ann",
        "model: shop.",
        "model: auth.permission",
    ] {
        assert!(!after.contains(gone), "{gone} is in:\n{after}");
    }
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
    let out = django()
        .command(PLAIN, &db)
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
    django().admin_ok(SITE, &db, &["migrate", "--run-syncdb", "-v", "0"]);
    let fill = "import django; django.setup()
from composite.pairs.models import Pair, Defaulted
Pair.objects.create(left=1, right='a', note='one')
Pair.objects.create(left=1, right='b')
Pair.objects.create(left=-2, right='ü', note='x')
Defaulted.objects.create()
Defaulted.objects.create(count=3, label='')";
    ok(
        django()
            .command(SITE, &db)
            .args(["-c", fill])
            .output()
            .expect("python"),
        "fill",
    );
    let dumpdata = |db: &Path, format: &str| -> Vec<u8> {
        let out = t.path().join(format!("django.{format}"));
        let o = out.to_string_lossy().into_owned();
        django().admin_ok(SITE, db, &["dumpdata", "--format", format, "-o", &o]);
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
        .arg(django().python())
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
            django()
                .command(SITE, &fresh)
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

/// tests/sites/shapes: a proxy's content type and permissions, a content
/// type of a model left out with `-e`, MTI with an explicit parent link,
/// values full_clean() refuses, a cycle through a nullable key without
/// blank=True. Restored from a dump with metadata (with and without
/// `-e extra`) and without, into a database that has other content-type
/// ids: dumpdata equals the original's, content types compared by
/// natural key; what a field's to_python() refuses comes back as dumped,
/// listed as a warning.
#[test]
fn shapes_restore_by_natural_key_and_lose_nothing() {
    const SITE: &str = "shapes.settings";
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let out = django()
        .command(SITE, &db)
        .arg(root().join("tests/python/shapes_demo.py"))
        .output()
        .expect("run shapes_demo.py");
    ok(out, "shapes_demo.py");
    let (full, kept) = (t.path().join("full.yaml"), t.path().join("kept.yaml"));
    dumpdata_to(SITE, &db, &full, &[]);
    dumpdata_to(SITE, &db, &kept, &["extra"]);
    let text = fs::read_to_string(&full).expect("dumpdata");
    // What the comparison must see: the proxy's own content type.
    assert!(
        text.contains("- add_proxybase\n      - core\n      - proxybase"),
        "{text}"
    );
    assert!(
        text.contains("owner_type:\n    - extra\n    - thing"),
        "{text}"
    );
    let (meta, excluded, raw) = (
        t.path().join("meta"),
        t.path().join("ex"),
        t.path().join("raw"),
    );
    dump_with_meta_of(SITE, &db, &meta, &[]);
    dump_with_meta_of(SITE, &db, &excluded, &["-e", "extra"]);
    dump_without_meta(&db, &raw);
    let perms = fs::read_to_string(excluded.join("auth_permission.py")).expect("data file");
    assert!(
        perms.contains(",core_ProxyBase,'add_proxybase')"),
        "{perms}"
    );
    assert!(perms.contains(",extra_Thing,'add_thing')"), "{perms}");
    for (n, (dump, original, args)) in [
        (&meta, &full, &[][..]),
        (&excluded, &kept, &[][..]),
        (&raw, &full, &[][..]),
        (&raw, &full, &["--bulk"][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let fresh = t.path().join(format!("fresh-{n}.sqlite3"));
        let mut all = vec!["--noinput"];
        all.extend(args);
        let out = ok(restore_of(SITE, &fresh, dump, &all), "restore.py");
        let err = stderr(&out);
        assert!(
            err.contains("1 object(s) were saved as dumped although their validation failed:")
                && err.contains("- core.Measure 2: strict: TypeError: negative: -1"),
            "{}: {err}",
            dump.display()
        );
        let after = t.path().join(format!("after-{n}.yaml"));
        let exclude: &[&str] = if dump == &excluded { &["extra"] } else { &[] };
        dumpdata_to(SITE, &fresh, &after, exclude);
        if let Some(diff) = data_differs(original, &after) {
            panic!("{} {args:?}: dumpdata differs:\n{diff}", dump.display());
        }
    }
}

/// restore.py checks the dump against its manifest and the site before it
/// empties anything: a missing manifest, a truncated, tampered, missing
/// or extra file, and a dump of another site are refused, the database
/// unchanged. After the load, row counts that differ from the manifest's
/// fail the restore (and roll it back).
#[test]
fn restore_checks_the_dump_before_it_empties_the_database() {
    let (t, db) = prepared();
    let before = dumpdata(&db);
    let dump = t.path().join("dump");
    dump_with_meta(&db, &dump);
    let mut pristine = read_dump(&dump);
    let manifest = dump.join("dump2py.json");
    pristine.insert(
        "dump2py.json".into(),
        fs::read(&manifest).expect("manifest"),
    );
    let reset = || {
        for entry in fs::read_dir(&dump).expect("dump") {
            let p = entry.expect("entry").path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !pristine.contains_key(name) {
                fs::remove_file(&p).expect("remove");
            }
        }
        for (name, bytes) in &pristine {
            fs::write(dump.join(name), bytes).expect("write");
        }
    };
    let notes = dump.join("shop_note.py");
    let employees = dump.join("shop_employee.py");
    type Change = Box<dyn Fn()>;
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "no manifest",
            Box::new({
                let d = dump.clone();
                move || fs::remove_file(d.join("dump2py.json")).expect("rm")
            }),
            "dump2py.json is missing: the dump can't be checked. Restore it unchecked with --no-verify.",
        ),
        (
            "truncated",
            Box::new({
                let f = notes.clone();
                move || {
                    let b = fs::read(&f).expect("read");
                    fs::write(&f, &b[..b.len() / 2]).expect("write")
                }
            }),
            "- shop_note.py: ",
        ),
        (
            "a value changed",
            Box::new({
                let f = employees.clone();
                move || {
                    let s = fs::read_to_string(&f).expect("read");
                    let c = s.replace("'Clerk'", "'Clerx'");
                    assert_ne!(s, c);
                    fs::write(&f, c).expect("write")
                }
            }),
            "- shop_employee.py: its SHA-256 differs from the manifest's",
        ),
        (
            "code appended",
            Box::new({
                let f = employees.clone();
                move || {
                    let mut s = fs::read_to_string(&f).expect("read");
                    s.push_str("import shutil; shutil.rmtree('/nonexistent')\n");
                    fs::write(&f, s).expect("write")
                }
            }),
            "- shop_employee.py: ",
        ),
        (
            "a file missing",
            Box::new({
                let f = notes.clone();
                move || fs::remove_file(&f).expect("rm")
            }),
            "- shop_note.py: missing",
        ),
        (
            "an extra file",
            Box::new({
                let d = dump.clone();
                move || fs::write(d.join("zz_more.py"), "x = 1\n").expect("write")
            }),
            "- zz_more.py: not in the manifest",
        ),
    ];
    for (what, change, says) in cases {
        reset();
        change();
        let out = restore(&db, &dump, &["--noinput"]);
        assert!(!out.status.success(), "{what}: the restore succeeded");
        assert!(stderr(&out).contains(says), "{what}: {}", stderr(&out));
        assert!(dumpdata(&db) == before, "{what}: the database changed");
    }
    // Another site's database: refused before anything is emptied.
    reset();
    const SHAPES: &str = "shapes.settings";
    let other = t.path().join("other.sqlite3");
    ok(
        django()
            .command(SHAPES, &other)
            .arg(root().join("tests/python/shapes_demo.py"))
            .output()
            .expect("run shapes_demo.py"),
        "shapes_demo.py",
    );
    let (o1, o2) = (t.path().join("o1.yaml"), t.path().join("o2.yaml"));
    dumpdata_to(SHAPES, &other, &o1, &[]);
    let out = restore_of(SHAPES, &other, &dump, &["--noinput"]);
    assert!(
        !out.status.success(),
        "the restore into another site succeeded"
    );
    let err = stderr(&out);
    assert!(
        err.contains("This dump doesn't fit this site (shapes.settings)"),
        "{err}"
    );
    assert!(
        err.contains("- shop.Employee (table shop_employee): no such model in this site"),
        "{err}"
    );
    dumpdata_to(SHAPES, &other, &o2, &[]);
    assert_eq!(
        data_differs(&o1, &o2),
        None,
        "the other site's database changed"
    );
    // Row counts: a manifest that says 4 notes where the dump has 3.
    let text = fs::read_to_string(&manifest).expect("manifest");
    let wrong = text.replace("\"shop_note\": 3", "\"shop_note\": 4");
    assert_ne!(wrong, text, "{text}");
    fs::write(&manifest, wrong).expect("write manifest");
    let out = restore(&db, &dump, &["--noinput"]);
    assert!(!out.status.success(), "the restore succeeded");
    let err = stderr(&out);
    assert!(
        err.contains("Row counts differ from the manifest's:\n- shop_note: 3 rows, the dump has 4"),
        "{err}"
    );
    assert!(
        err.contains("the database holds none of the dump's rows"),
        "{err}"
    );
    assert!(
        !dumpdata(&db).contains("model: shop."),
        "the dump's rows stayed"
    );
}

/// The shapes site on PostgreSQL and MariaDB (the Lino environment, which
/// has their drivers; the site is plain Django all the same): the restore
/// gives dumpdata's data back, and a restore the database refuses half-way
/// leaves none of the dump's rows.
#[test]
fn shapes_restore_all_or_nothing_on_postgres_and_mariadb() {
    use dump2py_tests::servers::{Backend, TestDb};
    const SITE: &str = "shapes.settings";
    let lino = lino();
    for backend in [Backend::Postgres, Backend::MariaDb] {
        if !backend.up() {
            continue;
        }
        let t = tempfile::tempdir().expect("tempdir");
        let files = t.path().join("files.sqlite3");
        let (src, dst) = (
            TestDb::new(backend, "restore_src"),
            TestDb::new(backend, "restore_dst"),
        );
        let run = |db: &TestDb, script: &Path, args: &[&str]| -> Output {
            lino.command(SITE, &files)
                .env("DUMP2PY_TEST_DB_URL", &db.url)
                .arg(script)
                .args(args)
                .output()
                .expect("run python")
        };
        let demo = root().join("tests/python/shapes_demo.py");
        ok(run(&src, &demo, &[]), "shapes_demo.py");
        dst.admin_ok(SITE, &files, &["migrate", "contenttypes", "-v", "0"]);
        dst.admin_ok(SITE, &files, &["migrate", "--run-syncdb", "-v", "0"]);
        let data = |db: &TestDb, name: &str| -> PathBuf {
            let out = t.path().join(name);
            let o = out.to_string_lossy().into_owned();
            let args = ["dumpdata", "--natural-foreign", "--format", "yaml"];
            db.admin_ok(
                SITE,
                &files,
                &[&args[..], &["-e", "contenttypes", "-o", &o]].concat(),
            );
            out
        };
        let before = data(&src, "before.yaml");
        let dump = t.path().join("dump");
        src.ours_ok(SITE, &files, &dump);
        let restore = dump.join("restore.py");
        for args in [&["--noinput"][..], &["--noinput", "--bulk"][..]] {
            ok(run(&dst, &restore, args), "restore.py");
            let after = data(&dst, "after.yaml");
            lino.assert_same_data(&before, &after);
        }
        let rights = dump.join("core_right.py");
        let text = fs::read_to_string(&rights).expect("core_right.py");
        let broken = text.replace("create_core_right(1,1)", "create_core_right(1,999)");
        assert_ne!(broken, text, "{text}");
        fs::write(&rights, broken).expect("write");
        let out = run(&dst, &restore, &["--noinput", "--no-verify"]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{}: {err}", backend.name());
        assert!(
            err.contains("The restore failed: IntegrityError: "),
            "{err}"
        );
        assert!(
            err.contains("the database holds none of the dump's rows"),
            "{err}"
        );
        let left = dst.admin_ok(
            SITE,
            &files,
            &["dumpdata", "core", "auth.group", "auth.user"],
        );
        assert_eq!(
            stdout(&left).trim(),
            "[]",
            "{}: rows stayed",
            backend.name()
        );
    }
}
