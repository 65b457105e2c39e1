//! With the site's own metadata (`--settings`): the dump follows Lino's
//! exactly, data migrations work, and the helper fails clearly.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dump2py_tests::{
    compare::read_dump,
    lino::{lino, Venv, AWKWARD, MIN1},
    root,
    run::{bin, dump_ok, stderr, stdout},
    sqlite_url,
};

/// Flags for compare_dumps.py on the awkward site: what Lino loses there.
const AWKWARD_LOSSES: &[&str] = &[
    "--extra-ok=things_thing_tags.py",
    "--extra-ok=things_leaf_codes.py",
    "--ignore-param=things_thing.tags",
    "--ignore-param=things_leaf.codes",
    "--lino-drops-microseconds",
    "--lino-quotes-json-floats",
];

fn compare(lino: &Venv, theirs: &Path, ours: &Path, flags: &[&str]) -> String {
    let mut args: Vec<&Path> = vec![theirs, ours, Path::new("--exact")];
    args.extend(flags.iter().map(Path::new));
    let out = lino.script("compare_dumps.py", &args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

fn same_as_lino(settings: &str, env: &[(&str, &str)], flags: &[&str], m2m: &[&str]) {
    let lino = lino();
    let (t, db) = lino.sqlite_site(settings, env);
    let theirs = t.path().join("lino");
    lino.admin_env_ok(settings, &db, env, &["dump2py", &theirs.to_string_lossy()]);
    let ours = t.path().join("ours");
    lino.ours_ok(settings, &db, env, &[&ours.to_string_lossy()]);
    let report = compare(lino, &theirs, &ours, flags);
    assert!(report.contains("row lines identical"), "{report}");
    // restore.py defines every name Lino's does.
    let mut args: Vec<PathBuf> = vec![theirs.join("restore.py"), ours.join("restore.py")];
    args.extend(m2m.iter().map(|m| PathBuf::from(format!("--m2m={m}"))));
    let refs: Vec<&Path> = args.iter().map(PathBuf::as_path).collect();
    let names = lino.script("restore_names.py", &refs);
    assert!(
        names.status.success(),
        "{}{}",
        stdout(&names),
        stderr(&names)
    );
}

#[test]
fn min1_data_files_equal_linos() {
    same_as_lino(MIN1, &[], &["--lino-drops-microseconds"], &[]);
}

#[test]
fn awkward_data_files_equal_linos() {
    same_as_lino(
        AWKWARD,
        &[],
        AWKWARD_LOSSES,
        &["things_thing.tags", "things_leaf.codes"],
    );
}

/// On a one-language site a babel field is still a list of one value.
#[test]
fn one_language_site_equals_linos() {
    same_as_lino(
        AWKWARD,
        &[("AWKWARD_LANGUAGES", "en")],
        AWKWARD_LOSSES,
        &["things_thing.tags", "things_leaf.codes"],
    );
}

#[test]
fn proxy_models_are_skipped() {
    let lino = lino();
    let proxy = [("AWKWARD_PROXY", "1")];
    let (t, db) = lino.sqlite_site(AWKWARD, &proxy);
    let theirs = t.path().join("lino");
    let r = lino.admin_env(
        AWKWARD,
        &db,
        &proxy,
        &["dump2py", &theirs.to_string_lossy()],
    );
    assert!(
        !r.status.success(),
        "Lino's dump2py now handles proxy models"
    );
    let ours = t.path().join("ours");
    lino.ours_ok(AWKWARD, &db, &proxy, &[&ours.to_string_lossy()]);
    let restore = fs::read_to_string(ours.join("restore.py")).expect("restore.py");
    assert!(restore.contains("things_Node = resolve_model(\"things.Node\")"));
    // No data of its own; its global only names its content type.
    assert!(!restore.contains("specialnode("));
    assert!(restore.contains("\nthings_SpecialNode = ct_model('things', 'specialnode')\n"));
    let yaml = |name: &str| t.path().join(name).to_string_lossy().into_owned();
    lino.admin_env_ok(
        AWKWARD,
        &db,
        &proxy,
        &["dumpdata", "--format", "yaml", "-o", &yaml("before.yaml")],
    );
    let script = ours.join("restore.py").to_string_lossy().into_owned();
    lino.admin_env_ok(AWKWARD, &db, &proxy, &["run", &script, "--noinput"]);
    lino.admin_env_ok(
        AWKWARD,
        &db,
        &proxy,
        &["dumpdata", "--format", "yaml", "-o", &yaml("after.yaml")],
    );
    lino.assert_same_data(
        Path::new(&yaml("before.yaml")),
        Path::new(&yaml("after.yaml")),
    );
}

#[test]
fn double_dump_with_and_without_settings() {
    let lino = lino();
    for settings in [MIN1, AWKWARD] {
        let (t, db) = lino.sqlite_site(settings, &[]);
        let before = t.path().join("before.yaml");
        lino.dumpdata(settings, &db, &before);
        for with_meta in [true, false] {
            let dump = |name: &str| {
                let out = t.path().join(format!("{name}-{with_meta}"));
                let o = out.to_string_lossy().into_owned();
                if with_meta {
                    lino.ours_ok(settings, &db, &[], &[&o]);
                } else {
                    dump_ok(["-d", &sqlite_url(&db), &o, "--languages", "en,de,fr"]);
                }
                out
            };
            let first = dump("first");
            lino.restore(settings, &db, &first);
            let after = t.path().join(format!("after-{with_meta}.yaml"));
            lino.dumpdata(settings, &db, &after);
            lino.assert_same_data(&before, &after);
            let second = dump("second");
            assert_eq!(
                read_dump(&first),
                read_dump(&second),
                "{settings} with_meta={with_meta}"
            );
        }
    }
}

#[test]
fn a_data_migration_runs_through_our_dump() {
    let lino = lino();
    let v1 = [("AWKWARD_VERSION", "1.0")];
    let (t, db) = lino.sqlite_site(AWKWARD, &v1);
    let dump = t.path().join("dump");
    lino.ours_ok(AWKWARD, &db, &v1, &[&dump.to_string_lossy()]);
    let restore = fs::read_to_string(dump.join("restore.py")).expect("restore.py");
    assert!(restore.contains("SOURCE_VERSION = '1.0'"));
    let notes_before = fs::read_to_string(dump.join("things_note.py")).expect("notes");
    // Version 2.0 renamed Note.text to Note.body; migrate_from_1_0 knows.
    let v2 = [("AWKWARD_VERSION", "2.0"), ("AWKWARD_RENAMED", "1")];
    let db2 = t.path().join("db2.sqlite3");
    lino.admin_env_ok(AWKWARD, &db2, &v2, &["prep", "--noinput", "-v0"]);
    lino.admin_env_ok(
        AWKWARD,
        &db2,
        &v2,
        &[
            "run",
            &dump.join("restore.py").to_string_lossy(),
            "--noinput",
        ],
    );
    let after = t.path().join("after");
    lino.ours_ok(AWKWARD, &db2, &v2, &[&after.to_string_lossy()]);
    let notes_after = fs::read_to_string(after.join("things_note.py")).expect("notes");
    assert!(
        notes_after.contains("# fields: id, owner_type, owner_id, body"),
        "{notes_after}"
    );
    // The same rows: only the field's name changed.
    let rows = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with("loader.save("))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&notes_before), rows(&notes_after));
    assert!(!rows(&notes_before).is_empty());
}

#[test]
fn babel_values_follow_a_change_of_languages() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let dump = t.path().join("dump");
    lino.ours_ok(AWKWARD, &db, &[], &[&dump.to_string_lossy()]);
    let en_fr = [("AWKWARD_LANGUAGES", "en fr")];
    let db2 = t.path().join("db2.sqlite3");
    lino.admin_env_ok(AWKWARD, &db2, &en_fr, &["prep", "--noinput", "-v0"]);
    lino.admin_env_ok(
        AWKWARD,
        &db2,
        &en_fr,
        &[
            "run",
            &dump.join("restore.py").to_string_lossy(),
            "--noinput",
        ],
    );
    let tags = |db: &Path| -> Vec<(i64, String, String)> {
        let c = rusqlite::Connection::open(db).expect("open");
        let mut st = c
            .prepare("SELECT id, name, name_fr FROM things_tag ORDER BY id")
            .expect("prepare");
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        rows
    };
    let (before, after) = (tags(&db), tags(&db2));
    assert!(before.iter().any(|(_, _, fr)| !fr.is_empty()));
    assert_eq!(before, after);
}

#[test]
fn saved_site_schema_gives_the_same_dump() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let schema = t.path().join("site.json");
    lino.ours_ok(
        AWKWARD,
        &db,
        &[],
        &["--export-site-schema", &schema.to_string_lossy()],
    );
    let a = t.path().join("a");
    lino.ours_ok(AWKWARD, &db, &[], &[&a.to_string_lossy()]);
    let b = t.path().join("b");
    dump_ok([
        "--site-schema",
        &schema.to_string_lossy(),
        "-d",
        &sqlite_url(&db),
        &b.to_string_lossy(),
    ]);
    assert_eq!(read_dump(&a), read_dump(&b));
    // The schema names the database, so --site-schema alone is enough too.
    let c = t.path().join("c");
    dump_ok([
        "--site-schema",
        &schema.to_string_lossy(),
        &c.to_string_lossy(),
    ]);
    assert_eq!(read_dump(&a), read_dump(&c));
}

#[test]
fn the_python_helper_fails_clearly() {
    let lino = lino();
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    let bad = t.path().join("badsite");
    fs::create_dir_all(&bad).expect("mkdir");
    fs::write(bad.join("__init__.py"), "").expect("write");
    fs::write(
        bad.join("settings.py"),
        "raise ValueError('broken on purpose')\n",
    )
    .expect("write");
    // A Python without Django: a bare virtualenv.
    let bare = t.path().join("bare");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&bare)
        .status()
        .expect("python3 -m venv");
    assert!(made.success());
    let bare_python = bare.join("bin/python").to_string_lossy().into_owned();
    let out_dir = t.path().join("out");
    let o = out_dir.to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "--settings".into(),
                "min1tmp.settings".into(),
                "--python".into(),
                "/nonexistent/python3".into(),
                o.clone(),
            ],
            "/nonexistent/python3",
        ),
        (
            vec![
                "--settings".into(),
                "nosuch.settings".into(),
                "--python".into(),
                lino.python().to_string_lossy().into(),
                o.clone(),
            ],
            "settings module nosuch.settings not found",
        ),
        (
            vec![
                "--settings".into(),
                "min1tmp.settings".into(),
                "--python".into(),
                bare_python.clone(),
                o.clone(),
            ],
            "Django",
        ),
        (
            vec![
                "--settings".into(),
                "badsite.settings".into(),
                "--pythonpath".into(),
                t.path().to_string_lossy().into(),
                "--python".into(),
                lino.python().to_string_lossy().into(),
                o.clone(),
            ],
            "broken on purpose",
        ),
    ];
    for (args, want) in cases {
        let r = std::process::Command::new(bin())
            .args(&args)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", &db)
            .env_remove("DATABASE_URL")
            .output()
            .expect("run");
        assert_eq!(r.status.code(), Some(1), "{args:?}");
        let err = stderr(&r);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!out_dir.exists());
    }
}

#[test]
fn a_stale_content_type_is_dumped_as_none_with_a_warning() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(
                "INSERT INTO django_content_type (id, app_label, model) VALUES (99, 'gone', 'thing');
                 UPDATE things_note SET owner_type_id = 99 WHERE id IN (1, 3);",
            )
        })
        .expect("stale content type");
    // Lino's dump2py crashes on it.
    let theirs = t.path().join("lino");
    let r = lino.admin(AWKWARD, &db, &["dump2py", &theirs.to_string_lossy()]);
    assert!(
        !r.status.success(),
        "Lino's dump2py now handles stale content types"
    );
    let ours = t.path().join("ours");
    let r = lino.ours_ok(AWKWARD, &db, &[], &[&ours.to_string_lossy()]);
    let err = stderr(&r);
    // Once per content type and table, however many rows refer to it.
    let warning = "warning: content type 99 (gone.thing) has no model in the site: \
                   dumped as None (2 rows of things_note)";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    let notes = fs::read_to_string(ours.join("things_note.py")).expect("notes");
    assert!(
        notes.contains("loader.save(create_things_note(1,None,5,"),
        "{notes}"
    );
    assert!(
        notes.contains("loader.save(create_things_note(3,None,None,"),
        "{notes}"
    );
    assert!(
        notes.contains("loader.save(create_things_note(2,things_Leaf,2,"),
        "{notes}"
    );
}

/// tests/python/test_sitemeta.py: the metadata of both sites, their
/// variants, a plain Django site, and the helper's failures, in detail.
#[test]
fn sitemeta_reports_what_the_site_knows() {
    let lino = lino();
    let out = std::process::Command::new(lino.python())
        .arg(root().join("tests/python/test_sitemeta.py"))
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("LC_ALL", "C.UTF-8")
        .output()
        .expect("run test_sitemeta.py");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// As every Django command: DJANGO_SETTINGS_MODULE is `--settings`'
/// default, and the site's Python gets PYTHONPATH (where the test sites
/// are found, as with `--pythonpath`); `--site-schema` wins over the
/// variable.
#[test]
fn django_settings_module_and_pythonpath_as_django_commands() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(MIN1, &[]);
    let path = |n: &str| t.path().join(n).to_string_lossy().into_owned();
    let schema = path("site.json");
    lino.ours_ok(
        MIN1,
        &db,
        &[],
        &[&path("a"), "--export-site-schema", &schema],
    );
    let ours = |settings: &str, pythonpath: Option<PathBuf>, args: &[&str]| {
        let mut c = Command::new(bin());
        c.arg("--python")
            .arg(lino.python())
            .args(args)
            .env("DJANGO_SETTINGS_MODULE", settings)
            .env("DUMP2PY_TEST_DB", &db)
            .env("LC_ALL", "C.UTF-8")
            .env_remove("DATABASE_URL")
            .env_remove("PYTHONPATH");
        if let Some(p) = pythonpath {
            c.env("PYTHONPATH", p);
        }
        c.output().expect("run dump2py")
    };
    let sites = root().join("tests/sites");
    let o = ours(MIN1, Some(sites.clone()), &[&path("b")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_dump(Path::new(&path("a"))),
        read_dump(Path::new(&path("b")))
    );
    // --pythonpath as Django's.
    let o = ours(
        MIN1,
        None,
        &["--pythonpath", &sites.to_string_lossy(), &path("c")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_dump(Path::new(&path("a"))),
        read_dump(Path::new(&path("c")))
    );
    // Without the path the site isn't found: the error says where the
    // settings module came from.
    let o = ours(MIN1, None, &[&path("d")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error: DJANGO_SETTINGS_MODULE=min1tmp.settings: "),
        "{}",
        stderr(&o)
    );
    // A saved schema replaces the site: the variable isn't used.
    let o = ours(
        "nosuchsite.settings",
        None,
        &["--site-schema", &schema, "-d", &sqlite_url(&db), &path("e")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        read_dump(Path::new(&path("a"))),
        read_dump(Path::new(&path("e")))
    );
}
