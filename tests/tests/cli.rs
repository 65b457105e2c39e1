//! The command line without Python: output safety, --tolerate, --simulate,
//! splitting, determinism and bad input.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dump2py_tests::{
    backend_checks::{check_generated_dump, GENERATED_SQL},
    compare::read_dump,
    data_file::rows_of,
    min1_url, path_str,
    run::{bin, dump2py, dump_ok, one_line, stderr, stdout},
    sqlite_url, tmp,
};
use rusqlite::Connection;

/// A small database: a parent table, a child table and some awkward rows.
fn make_db(dir: &Path, rows: i64) -> PathBuf {
    let path = dir.join("small.sqlite3");
    let conn = Connection::open(&path).expect("create db");
    conn.execute_batch(
        r#"
        CREATE TABLE "shop_kind" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(20) NOT NULL);
        CREATE TABLE "shop_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "kind_id" bigint NULL REFERENCES "shop_kind" ("id") DEFERRABLE INITIALLY DEFERRED,
            "name" varchar(50) NOT NULL, "flag" bool NOT NULL, "price" decimal NULL,
            "made" datetime NULL, "day" date NULL);
        INSERT INTO shop_kind (name) VALUES ('tools'), ('toys');
        "#,
    )
    .expect("schema");
    for i in 1..=rows {
        conn.execute(
            "INSERT INTO shop_item (kind_id, name, flag, price, made, day) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            rusqlite::params![
                1 + i % 2,
                format!("item '{i}'\n\u{a0}"),
                i % 3 == 0,
                i as f64 * 1.25,
                format!("2024-03-31 01:30:{:02}.{:06}", i % 60, i * 7),
                "2024-02-29"
            ],
        )
        .expect("insert");
    }
    path
}

#[test]
fn same_database_twice_gives_identical_dumps() {
    let t = tmp();
    let db = make_db(t.path(), 25);
    let url = sqlite_url(&db);
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    dump_ok(["-d", &url, a.to_str().unwrap_or_default(), "-m", "10"]);
    dump_ok(["-d", &url, b.to_str().unwrap_or_default(), "-m", "10"]);
    let (a, b) = (read_dump(&a), read_dump(&b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    assert_eq!(a, b);
    let min1 = min1_url();
    let (c, d) = (t.path().join("c"), t.path().join("d"));
    dump_ok([
        "-d",
        &min1,
        c.to_str().unwrap_or_default(),
        "--languages",
        "en,de,fr",
    ]);
    dump_ok([
        "-d",
        &min1,
        d.to_str().unwrap_or_default(),
        "--languages",
        "en,de,fr",
    ]);
    assert_eq!(read_dump(&c), read_dump(&d));
}

#[test]
fn existing_output_dir_is_refused_and_untouched() {
    let t = tmp();
    let db = make_db(t.path(), 3);
    let out = t.path().join("dump");
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("keep.txt"), "mine").expect("write");
    let r = dump2py(["-d", &sqlite_url(&db), out.to_str().unwrap_or_default()]);
    assert_eq!(r.status.code(), Some(1));
    let err = one_line(&r);
    assert!(
        err.contains("already exists") && err.contains("--overwrite"),
        "{err}"
    );
    assert_eq!(
        read_dump(&out).into_keys().collect::<Vec<_>>(),
        ["keep.txt"]
    );
}

#[test]
fn overwrite_replaces_the_old_dump_whole() {
    let t = tmp();
    let db = make_db(t.path(), 7);
    let url = sqlite_url(&db);
    let out = t.path().join("dump");
    let o = out.to_str().unwrap_or_default();
    dump_ok(["-d", &url, o, "-m", "3"]);
    assert!(out.join("shop_item_3.py").exists());
    dump_ok(["-d", &url, o, "-m", "50", "-o"]);
    let names: Vec<String> = read_dump(&out).into_keys().collect();
    assert_eq!(names, ["restore.py", "shop_item.py", "shop_kind.py"]);
    // Nothing of the staging is left beside the dump.
    let beside: Vec<_> = fs::read_dir(t.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn a_failure_leaves_output_dir_as_it_was() {
    let t = tmp();
    let db = make_db(t.path(), 3);
    Connection::open(&db)
        .and_then(|c| c.execute("UPDATE shop_item SET day = 'soon' WHERE id = 2", []))
        .expect("corrupt");
    let url = sqlite_url(&db);
    let out = t.path().join("dump");
    let o = out.to_str().unwrap_or_default();
    // Absent before: absent after.
    let r = dump2py(["-d", &url, o]);
    assert_eq!(r.status.code(), Some(1));
    assert!(!out.exists());
    // An old dump: kept whole even with --overwrite.
    fs::create_dir(&out).expect("mkdir");
    fs::write(out.join("restore.py"), "old").expect("write");
    let r = dump2py(["-d", &url, o, "-o"]);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        fs::read_to_string(out.join("restore.py")).ok().as_deref(),
        Some("old")
    );
    assert_eq!(read_dump(&out).len(), 1);
}

#[test]
fn bad_value_stops_with_table_column_and_key() {
    let t = tmp();
    let db = make_db(t.path(), 3);
    Connection::open(&db)
        .and_then(|c| c.execute("UPDATE shop_item SET day = 'soon' WHERE id = 3", []))
        .expect("corrupt");
    let r = dump2py([
        "-d",
        &sqlite_url(&db),
        t.path().join("d").to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.status.code(), Some(1));
    let err = one_line(&r);
    assert!(
        err.contains("table shop_item, column day, primary key 3") && err.contains("\"soon\""),
        "{err}"
    );
}

/// Values read as Django's SQLite backend reads them: a `bool` holding 2
/// is false (Python's sqlite3 converter), dates and times as dateparse
/// takes them, also from the integer that NUMERIC affinity made of '12';
/// generated columns are dumped, never restored.
#[test]
fn sqlite_values_as_django_reads_them() {
    let t = tmp();
    let db = t.path().join("db.sqlite3");
    Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(GENERATED_SQL)?;
            c.execute_batch(
                "CREATE TABLE app_kinds (id integer PRIMARY KEY, b bool, d date, t time, at datetime);
                 INSERT INTO app_kinds VALUES (1, 2, '2024-2-3', '8:05', '2024-2-3 8:05:03,5'),
                   (2, '1', 20240203, '12', '2024-02-03T12:30+01:00');",
            )
        })
        .expect("db");
    let out = t.path().join("d");
    let r = dump2py(["-v0", "-d", &sqlite_url(&db), &path_str(&out)]);
    assert!(r.status.success(), "{}", stderr(&r));
    check_generated_dump(&out);
    assert_eq!(
        rows_of(&out, "app_kinds"),
        [
            [
                "1",
                "False",
                "date(2024,2,3)",
                "time(8,5,0)",
                "dt(2024,2,3,8,5,3,500000)"
            ],
            [
                "2",
                "True",
                "date(2024,2,3)",
                "time(12,0,0)",
                "dt(2024,2,3,11,30,0)"
            ]
        ]
    );
}

/// A database with one table holding a bad value and one view on a
/// dropped table.
fn broken_db(dir: &Path) -> PathBuf {
    let db = make_db(dir, 4);
    Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(
                "UPDATE shop_item SET day = 'soon' WHERE id = 4;
                 CREATE TABLE shop_old (id integer PRIMARY KEY);
                 CREATE VIEW shop_gone AS SELECT id FROM shop_old;
                 DROP TABLE shop_old;",
            )
        })
        .expect("break db");
    db
}

#[test]
fn tolerate_skips_unreadable_tables_and_says_so() {
    let t = tmp();
    let db = broken_db(t.path());
    let out = t.path().join("dump");
    let r = dump2py([
        "-d",
        &sqlite_url(&db),
        out.to_str().unwrap_or_default(),
        "-t",
    ]);
    assert_eq!(r.status.code(), Some(3), "{}", stderr(&r));
    let err = stderr(&r);
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("is incomplete") && last.contains("2 of 3 tables"),
        "{err}"
    );
    let files: Vec<String> = read_dump(&out).into_keys().collect();
    assert_eq!(files, ["restore.py", "shop_kind.py"]);
    let restore = fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(restore.contains("'shop_item': 'table shop_item, column day, primary key 4"));
    assert!(
        restore.contains("'shop_gone': 'table shop_gone: no such table: main.shop_old'"),
        "{restore}"
    );
    assert!(!restore.contains("def create_shop_item("));
    let check = Command::new("python3")
        .args(["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(out.join("restore.py"))
        .status()
        .expect("python3");
    assert!(check.success(), "restore.py is not valid Python");
}

#[test]
fn without_tolerate_the_first_unreadable_table_stops() {
    let t = tmp();
    let db = broken_db(t.path());
    let out = t.path().join("dump");
    let r = dump2py(["-d", &sqlite_url(&db), out.to_str().unwrap_or_default()]);
    assert_eq!(r.status.code(), Some(1));
    let err = one_line(&r);
    assert!(err.contains("table shop_gone: no such table"), "{err}");
    assert!(!out.exists());
}

#[test]
fn simulate_reads_everything_and_writes_nothing() {
    let t = tmp();
    let db = make_db(t.path(), 12);
    let out = t.path().join("dump");
    let r = dump_ok([
        "-d",
        &sqlite_url(&db),
        out.to_str().unwrap_or_default(),
        "-s",
    ]);
    assert!(!out.exists());
    assert_eq!(stdout(&r), "shop_kind: 2 rows\nshop_item: 12 rows\n");
    assert_eq!(fs::read_dir(t.path()).map(|d| d.count()).unwrap_or(0), 1);
    // Database errors do show up.
    let bad = broken_db(&t.path().join("x").tap_mkdir());
    let r = dump2py(["-d", &sqlite_url(&bad), "-s"]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("table shop_gone: no such table"),
        "{}",
        stderr(&r)
    );
}

trait TapMkdir {
    fn tap_mkdir(self) -> PathBuf;
}
impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> PathBuf {
        fs::create_dir_all(&self).expect("mkdir");
        self
    }
}

fn part_header(path: &Path) -> String {
    fs::read_to_string(path)
        .expect("part")
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn split_has_no_empty_trailing_part() {
    let t = tmp();
    let db = make_db(t.path(), 6);
    let url = sqlite_url(&db);
    for (m, expect) in [
        (3u32, vec![3usize, 3]),
        (4, vec![4, 2]),
        (6, vec![6]),
        (1, vec![1; 6]),
    ] {
        let out = t.path().join(format!("m{m}"));
        dump_ok([
            "-d",
            &url,
            out.to_str().unwrap_or_default(),
            "-m",
            &m.to_string(),
        ]);
        let files = read_dump(&out);
        let parts: Vec<&String> = files
            .keys()
            .filter(|k| k.starts_with("shop_item"))
            .collect();
        assert_eq!(parts.len(), expect.len(), "-m {m}: {parts:?}");
        for (i, want) in expect.iter().enumerate() {
            let name = if expect.len() == 1 {
                "shop_item.py".to_string()
            } else {
                format!("shop_item_{}.py", i + 1)
            };
            let text = String::from_utf8_lossy(&files[&name]).into_owned();
            let rows = text
                .lines()
                .filter(|l| l.starts_with("loader.save("))
                .count();
            assert_eq!(rows, *want, "{name}");
            let last = i + 1 == expect.len();
            assert_eq!(
                text.ends_with("\nloader.flush_deferred_objects()\n"),
                last,
                "{name}"
            );
            if expect.len() > 1 {
                assert_eq!(
                    part_header(&out.join(&name)),
                    format!(
                        "logger.info(\"Loading 6 objects (part {} of {}) to table shop_item...\")",
                        i + 1,
                        expect.len()
                    )
                );
            }
        }
        let restore = String::from_utf8_lossy(&files["restore.py"]).into_owned();
        let execs: Vec<&str> = restore
            .lines()
            .filter(|l| l.contains("execfile(\"shop_item") || l.contains("execfile('shop_item"))
            .collect();
        assert_eq!(execs.len(), expect.len());
    }
}

#[test]
fn bad_input_gets_one_clear_line() {
    let t = tmp();
    let out = t.path().join("d");
    let o = out.to_str().unwrap_or_default();
    let junk = t.path().join("junk.db");
    fs::write(&junk, vec![b'x'; 4096]).expect("write");
    let db = make_db(t.path(), 1);
    let ro = t.path().join("ro");
    fs::create_dir(&ro).expect("mkdir");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-d".into(), "sqlite:/nonexistent/x.db".into(), o.into()],
            "database file /nonexistent/x.db does not exist",
        ),
        (
            vec!["-d".into(), sqlite_url(&junk), o.into()],
            "is not an SQLite database",
        ),
        (
            vec!["-d".into(), "oracle://scott:tiger@db/x".into(), o.into()],
            "unknown database URL scheme 'oracle:'",
        ),
        (
            vec!["-d".into(), sqlite_url(&db), "/proc/dump2py-out".into()],
            "/proc/dump2py-out",
        ),
        (
            vec![
                "-d".into(),
                sqlite_url(&db),
                o.into(),
                "-m".into(),
                "0".into(),
            ],
            "--max-row-count must be at least 1",
        ),
        (vec![o.into()], "no database given"),
        (
            vec![
                "-d".into(),
                sqlite_url(&db),
                o.into(),
                "-v".into(),
                "5".into(),
            ],
            "--verbosity",
        ),
    ];
    for (args, want) in cases {
        let r = dump2py(&args);
        assert!(!r.status.success(), "{args:?} succeeded");
        let err = one_line(&r);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("tiger"), "password shown: {err}");
        assert!(!out.exists());
    }
}

/// Mistakes on the command line, found before any database is opened,
/// exit with status 2 and say what to do.
#[test]
fn command_line_mistakes_exit_2_and_say_what_to_do() {
    let t = tmp();
    let db = make_db(t.path(), 1);
    let out = t.path().join("d");
    let o = out.to_str().unwrap_or_default();
    let url = sqlite_url(&db);
    let yaml = t.path().join("x.yaml");
    let format = format!("yaml={}", yaml.display());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["-d", "oracle://scott:tiger@db/x", o],
            "unknown database URL scheme 'oracle:'; supported: dump:, mysql:, mariadb:, postgres:, \
             postgresql:, sqlite:, sqlite3:",
        ),
        (
            vec!["-d", &url, "-f", &format, o],
            "unknown output format 'yaml'; supported: json, python, xml",
        ),
        // A backup names its database: not the server's default one.
        (
            vec!["-d", "postgres://postgres:tiger@127.0.0.1", o],
            "names no database",
        ),
        (
            vec!["-d", "postgresql://127.0.0.1:5432/", o],
            "names no database",
        ),
        (
            vec!["-d", "mariadb://root@127.0.0.1", o],
            "names no database",
        ),
        (
            vec!["-d", "mysql://root:tiger@127.0.0.1:3306/", o],
            "names no database",
        ),
        (
            vec!["-d", &url, "--export-site-schema", "s.json"],
            "give --settings MODULE (or set DJANGO_SETTINGS_MODULE)",
        ),
    ];
    for (args, want) in cases {
        let r = dump2py(&args);
        let err = one_line(&r);
        assert_eq!(r.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("tiger"), "password shown: {err}");
        assert!(!out.exists() && !yaml.exists());
    }
}

/// A transformer that isn't loaded: the error says that a plugin's
/// transformer needs `--plugin`, and names the library built beside the
/// binary.
#[test]
fn an_unknown_transformer_points_to_the_plugin() {
    let t = tmp();
    let db = make_db(t.path(), 1);
    let out = t.path().join("d");
    let lib = bin().with_file_name(format!(
        "{}dump2py_anonymize{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));
    assert!(lib.exists(), "{} (cargo build --workspace)", lib.display());
    let r = dump2py([
        "-d",
        &sqlite_url(&db),
        "-T",
        "anonymize:columns=name",
        &path_str(&out),
    ]);
    let err = one_line(&r);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "unknown transformer 'anonymize'; available: none; a plugin's transformer needs \
             its library: --plugin {}",
            lib.display()
        )),
        "{err}"
    );
    // No such library: how to load one.
    let r = dump2py(["-d", &sqlite_url(&db), "-T", "nosuch", &path_str(&out)]);
    let err = one_line(&r);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--plugin PATH (or its directory in DUMP2PY_PLUGIN_PATH)"),
        "{err}"
    );
    assert!(!out.exists());
}

/// `--help` lists the URL schemes of every built-in source.
#[test]
fn help_lists_the_url_schemes() {
    let r = dump2py(["--help"]);
    assert!(r.status.success());
    let help = stdout(&r);
    assert!(
        help.contains(
            "Database URL schemes (-d): dump:, mysql:, mariadb:, postgres:, postgresql:, sqlite:, sqlite3:"
        ),
        "{help}"
    );
    assert!(help.ends_with('\n'), "{help:?}");
}

#[test]
fn database_url_comes_from_the_environment() {
    let t = tmp();
    let db = make_db(t.path(), 2);
    let out = t.path().join("d");
    let r = Command::new(bin())
        .arg(&out)
        .env("DATABASE_URL", sqlite_url(&db))
        .output()
        .expect("run");
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(out.join("shop_item.py").exists());
}
