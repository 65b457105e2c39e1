//! dumpdata's order and rows as the database gives them (issue 19), on
//! tests/sites/ordering, byte for byte against `django-admin dumpdata` on
//! SQLite, PostgreSQL (an ICU collation, en-US) and MariaDB
//! (utf8mb4_general_ci, its own uuid type): a text primary key in the
//! database's collation, many-to-many lists ordered by text and through a
//! relation (auth.Permission), MTI children by their parent's
//! Meta.ordering, UUID keys as MariaDB orders them (time-based ones with
//! their groups swapped), rows a default manager
//! hides left out (but with `--all`), and a natural_key() that Django never
//! calls (natural keys are followed only where one is written).

use std::fs;
use std::path::{Path, PathBuf};

use dump2py_tests::{
    compare::assert_same_file,
    fixture,
    lino::lino,
    need_server, path_str, root,
    run::{dump2py, stderr},
    servers::{Backend, TestDb},
    sqlite_url,
};

const SITE: &str = "ordering.settings";

/// The options compared; the first with indents too.
const OPTIONS: &[&[&str]] = &[
    &[],
    &["--all"],
    &["--natural-foreign", "--natural-primary"],
    &["--natural-foreign", "--all"],
];

/// The site's tables and rows (tests/sites/ordering/shapes/data.py) in
/// the database of `env` (SQLite at `files` without one).
fn prepare(files: &Path, env: &[(&str, &str)]) {
    let lino = lino();
    // Its app has no migrations: auth's tables first, then the app's.
    lino.admin_env_ok(SITE, files, env, &["migrate", "auth", "-v0"]);
    lino.admin_env_ok(SITE, files, env, &["migrate", "--run-syncdb", "-v0"]);
    let data = root().join("tests/sites/ordering/shapes/data.py");
    let code = format!("exec(open({:?}).read())", path_str(&data));
    lino.admin_env_ok(SITE, files, env, &["shell", "-c", &code]);
}

/// dumpdata's JSON and XML with `options` (and `indent`), and ours from one
/// run: byte-identical. Returns Django's JSON.
fn same_as_dumpdata(
    files: &Path,
    env: &[(&str, &str)],
    dir: &Path,
    options: &[&str],
    indent: Option<&str>,
) -> String {
    let lino = lino();
    let tag = format!("{}-{}", options.join(""), indent.unwrap_or("none"));
    let ours = |f: &str| dir.join(format!("ours{tag}.{f}"));
    let mut args: Vec<String> = vec![
        "--json".into(),
        path_str(&ours("json")),
        "--xml".into(),
        path_str(&ours("xml")),
        "-v".into(),
        "0".into(),
    ];
    args.extend(options.iter().map(|o| o.to_string()));
    if let Some(n) = indent {
        args.extend(["--indent".into(), n.into()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    lino.ours_ok(SITE, files, env, &refs);
    for f in ["json", "xml"] {
        let theirs = dir.join(format!("django{tag}.{f}"));
        let t = path_str(&theirs);
        let mut a = vec!["dumpdata", "--format", f, "-o", &t];
        a.extend(options);
        if let Some(n) = indent {
            a.extend(["--indent", n]);
        }
        lino.admin_env_ok(SITE, files, env, &a);
        assert_same_file(&theirs, &ours(f));
    }
    fs::read_to_string(dir.join(format!("django{tag}.json"))).expect("read")
}

/// The objects of `model` in Django's JSON, in order: `pk` and `fields`.
fn objects(json: &str, model: &str) -> Vec<serde_json::Value> {
    let all: Vec<serde_json::Value> = serde_json::from_str(json).expect("json");
    all.into_iter().filter(|o| o["model"] == model).collect()
}

/// Every option on one database; `collated`: text compares as ICU or
/// utf8mb4_general_ci do (else bytewise, SQLite's BINARY).
fn all_equal(files: &Path, env: &[(&str, &str)], dir: &Path, collated: bool) {
    for (n, options) in OPTIONS.iter().enumerate() {
        let indents: &[Option<&str>] = if n == 0 { &[None, Some("2")] } else { &[None] };
        for indent in indents {
            let json = same_as_dumpdata(files, env, dir, options, *indent);
            // What Django wrote has each shape this test is about.
            let pks = |model: &str| -> Vec<serde_json::Value> {
                objects(&json, model)
                    .iter()
                    .map(|o| o["pk"].clone())
                    .collect()
            };
            let spies = objects(&json, "shapes.spy").len();
            let all = options.contains(&"--all");
            assert_eq!(spies, if all { 3 } else { 1 }, "{options:?}");
            if options.contains(&"--natural-primary") {
                continue;
            }
            let actors: Vec<serde_json::Value> = pks("shapes.actor");
            let expected = match collated {
                true => ["Actor name", "alice", "Bob", "émile", "Zażółć"],
                false => ["Actor name", "Bob", "Zażółć", "alice", "émile"],
            };
            assert_eq!(actors, expected.map(serde_json::Value::from), "{options:?}");
            // Shops 4 zeta, 5 alpha, 6 Beta by their Place's name.
            let shops = if collated { [5, 6, 4] } else { [6, 5, 4] };
            assert_eq!(pks("shapes.shop"), shops.map(serde_json::Value::from));
            let film = &objects(&json, "shapes.film")[0]["fields"];
            assert_eq!(film["shops"], serde_json::json!(shops));
            // Labels 1 beta, 2 Alpha, 3 gamma, 4 Éclair, 5 alpine.
            let labels = if collated {
                [2, 5, 1, 4, 3]
            } else {
                [2, 5, 1, 3, 4]
            };
            assert_eq!(film["labels"], serde_json::json!(labels));
            // As keys: not in key order (natural keys: (codename, app, model)).
            let perms = film["permissions"].as_array().expect("permissions");
            if perms.iter().all(serde_json::Value::is_i64) {
                let mut sorted = perms.clone();
                sorted.sort_by_key(serde_json::Value::as_i64);
                assert_ne!(perms, &sorted, "permissions in key order");
            }
        }
    }
}

fn sqlite_site() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("db.sqlite3");
    prepare(&db, &[]);
    (t, db)
}

#[test]
fn sqlite_equals_dumpdata() {
    let (t, db) = sqlite_site();
    all_equal(&db, &[], t.path(), false);
}

#[test]
fn postgres_with_an_icu_collation_equals_dumpdata() {
    need_server!(Backend::Postgres);
    server_equal(Backend::Postgres, "order_pg");
}

#[test]
fn mariadb_with_general_ci_and_uuids_equals_dumpdata() {
    need_server!(Backend::MariaDb);
    server_equal(Backend::MariaDb, "order_my");
}

fn server_equal(backend: Backend, tag: &str) {
    let db = TestDb::new(backend, tag);
    let t = tempfile::tempdir().expect("tempdir");
    let files = t.path().join("server.sqlite3");
    prepare(&files, &db.site_env());
    all_equal(&files, &db.site_env(), t.path(), true);
    assert!(!files.exists(), "the site wrote to SQLite");
    if backend == Backend::MariaDb {
        // Its uuid type orders by the last group first: not as text.
        // Django's JSON without options, which ours equalled.
        let json = fs::read_to_string(t.path().join("django-none.json")).expect("read");
        let tokens: Vec<String> = objects(&json, "shapes.token")
            .iter()
            .map(|o| o["pk"].as_str().unwrap_or_default().to_string())
            .collect();
        let mut sorted = tokens.clone();
        sorted.sort();
        assert_ne!(tokens, sorted);
    }
}

/// A natural_key() that can't be followed is an error only where a key
/// of that model is written, naming the table, column and primary key of
/// the reference; Django fails there too.
#[test]
fn an_unfollowable_natural_key_fails_only_where_it_is_written() {
    let lino = lino();
    let (t, db) = sqlite_site();
    let schema = t.path().join("site.json");
    lino.ours_ok(
        SITE,
        &db,
        &[],
        &["--export-site-schema", &path_str(&schema)],
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&fs::read(&schema).expect("read")).expect("json");
    let nokey = (meta["models"].as_array().expect("models").iter())
        .find(|m| m["object_name"] == "NoKey")
        .map(|m| m["natural_key"]["error"].clone())
        .unwrap_or_default();
    assert_eq!(
        nokey,
        "natural_key() can't be followed: NotImplementedError: \
         This method was not expected to be called."
    );
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute(
        "UPDATE shapes_holder SET nokey_id = thing_id WHERE id = 2",
        [],
    )
    .expect("update");
    drop(conn);
    let json = t.path().join("a.json");
    let out = lino.ours(
        SITE,
        &db,
        &[],
        &["--json", &path_str(&json), "--natural-foreign", "-v", "0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).trim(),
        "error: table shapes_holder, column nokey_id, primary key 2: model shapes.NoKey: \
         natural_key() can't be followed: NotImplementedError: This method was not \
         expected to be called."
    );
    assert!(!json.exists());
    let theirs = t.path().join("theirs.json");
    let django = lino.admin(
        SITE,
        &db,
        &["dumpdata", "--natural-foreign", "-o", &path_str(&theirs)],
    );
    assert!(!django.status.success());
    assert!(stderr(&django).contains("This method was not expected to be called"));
    // Without natural foreign keys nothing calls it.
    same_as_dumpdata(&db, &[], t.path(), &["--natural-primary"], None);
}

/// A natural foreign key to a row its model's default manager hides: an
/// error naming the reference (Django reads it through the base manager);
/// `--all` reads it, and equals dumpdata.
#[test]
fn a_natural_key_of_a_hidden_row_is_an_error_but_with_all() {
    let lino = lino();
    let (t, db) = sqlite_site();
    let conn = rusqlite::Connection::open(&db).expect("open");
    let n = conn
        .execute(
            "UPDATE shapes_mission SET spy_id = (SELECT p.id FROM shapes_person p \
             WHERE p.name = 'Hidden') WHERE id = 2",
            [],
        )
        .expect("update");
    assert_eq!(n, 1);
    drop(conn);
    let json = t.path().join("a.json");
    let out = lino.ours(
        SITE,
        &db,
        &[],
        &["--json", &path_str(&json), "--natural-foreign", "-v", "0"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).trim().starts_with(
            "error: table shapes_mission, column spy_id, primary key 2: no object with \
             primary key "
        ) && stderr(&out).contains("among the rows its default manager shows (--all"),
        "{}",
        stderr(&out)
    );
    assert!(!json.exists());
    let json = same_as_dumpdata(&db, &[], t.path(), &["--natural-foreign", "--all"], None);
    assert!(json.contains("\"spy\": [\"Hidden\"]"), "{json}");
}

/// What a default manager hides is Django's SQL for the site's database:
/// a schema exported from SQLite can't filter PostgreSQL's rows, and says
/// so; `--all` needs no filter.
#[test]
fn a_manager_filter_for_another_database_is_an_error() {
    need_server!(Backend::Postgres);
    let lino = lino();
    let (t, db) = sqlite_site();
    let schema = t.path().join("site.json");
    lino.ours_ok(
        SITE,
        &db,
        &[],
        &["--export-site-schema", &path_str(&schema)],
    );
    let server = TestDb::new(Backend::Postgres, "order_vendor");
    let files = t.path().join("server.sqlite3");
    prepare(&files, &server.site_env());
    let json = t.path().join("a.json");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--site-schema".to_string(),
            path_str(&schema),
            "-d".into(),
            server.url.clone(),
            "--json".into(),
            path_str(&json),
            "-v".into(),
            "0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        dump2py(args)
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).trim().starts_with(
            "error: model shapes.Spy: its default manager's queryset was compiled for a \
             sqlite database, not postgresql"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!json.exists());
    let out = run(&["--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = fs::read_to_string(&json).expect("read");
    assert_eq!(objects(&text, "shapes.spy").len(), 3);
}

#[test]
fn all_is_for_json_and_xml_and_needs_metadata() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = fixture("min1.sqlite3");
    let out = dump2py([
        "-d",
        &sqlite_url(&db),
        "--all",
        &path_str(&t.path().join("py")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--all is for outputs of format json, xml (--json, --xml)"),
        "{}",
        stderr(&out)
    );
    let json = t.path().join("a.json");
    let out = dump2py(["-d", &sqlite_url(&db), "--all", "--json", &path_str(&json)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--all writes the rows that default managers hide"),
        "{}",
        stderr(&out)
    );
    assert!(!json.exists());
}
