//! restore.py's loader on Lino sites: each data file in one transaction
//! with savepoints, streamed; auto_now fields kept; `--quick` and
//! `--bulk`; data migrations still run, and `--bulk` refuses a dump that
//! needs one. After each restore, dumpdata equals the original.

use std::path::Path;

use dump2py_tests::{
    compare::{assert_same, read_dump, without_source, Cross},
    copy_db, fixture,
    lino::{lino, Venv, AWKWARD, MIN1},
    path_str,
    run::{dump_ok, stderr, stdout},
    servers::Backend,
    skip_unless_ci, sqlite_url,
};

/// The log of a successful restore (Lino logs to stdout).
fn restore_ok(lino: &Venv, settings: &str, db: &Path, dump: &Path, args: &[&str]) -> String {
    let out = lino.run_restore(settings, db, &[], dump, args);
    assert!(
        out.status.success(),
        "restore.py {args:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out) + &stderr(&out)
}

fn sqlite_rows(lino: &Venv, db: &Path, sql: &str) -> String {
    let out = lino
        .command(AWKWARD, db)
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             print(c.execute(sys.argv[2]).fetchall()); c.commit()",
        ])
        .arg(db)
        .arg(sql)
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_string()
}

#[test]
fn min1_restores_the_same_in_every_mode() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let before = t.path().join("before.yaml");
    lino.dumpdata(MIN1, &db, &before);
    let dump = t.path().join("dump");
    lino.ours_ok(MIN1, &db, &[], &[&dump.to_string_lossy()]);
    for (n, args) in [&[][..], &["--quick"][..], &["--bulk"][..]]
        .into_iter()
        .enumerate()
    {
        let err = restore_ok(lino, MIN1, &db, &dump, args);
        assert!(
            err.contains("contacts_person.py: 69 rows in "),
            "no progress line: {err}"
        );
        assert!(err.contains("Loaded 280 objects in "), "{err}");
        let after = t.path().join(format!("after-{n}.yaml"));
        lino.dumpdata(MIN1, &db, &after);
        lino.assert_same_data(&before, &after);
    }
}

/// min1 with 20,000 more persons (40,000 rows), as bench/restore.sh
/// measures it: restored by our restore.py, in the default mode and with
/// `--bulk`, dumpdata equals the original. (No zip code: with one, Lino's
/// `full_clean()` fills in the city, as it would in Lino's own restore.)
#[test]
fn min1_with_20000_persons_restores_the_same() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let conn = rusqlite::Connection::open(&db).expect("open db");
    conn.execute_batch(
        "WITH RECURSIVE seq(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM seq WHERE i < 20999)
         INSERT INTO contacts_partner (id, email, language, country_id, city_id, zip_code,
           region_id, addr1, street_prefix, street, street_no, street_box, addr2, url, phone,
           gsm, fax, prefix, name, remarks)
         SELECT i, 'person' || i || '@example.com', '', 'BE', NULL, '', NULL, '', '',
           'Rue d''été', '' || (i % 300), '', '', '', '+32 87 ' || i, '', '', '',
           'Müller ' || i, '' FROM seq;
         WITH RECURSIVE seq(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM seq WHERE i < 20999)
         INSERT INTO contacts_person (partner_ptr_id, title, first_name, middle_name,
           last_name, gender, birth_date)
         SELECT i, '', 'Hans ' || i, '', 'Müller', CASE i % 2 WHEN 0 THEN 'M' ELSE 'F' END, ''
           FROM seq;",
    )
    .expect("add persons");
    drop(conn);
    let before = t.path().join("before.json");
    lino.dumpdata(MIN1, &db, &before);
    let dump = t.path().join("dump");
    lino.ours_ok(MIN1, &db, &[], &[&dump.to_string_lossy()]);
    for (n, args) in [&[][..], &["--bulk"][..]].into_iter().enumerate() {
        let log = restore_ok(lino, MIN1, &db, &dump, args);
        assert!(log.contains("Loaded 40280 objects in "), "{log}");
        let after = t.path().join(format!("after-{n}.json"));
        lino.dumpdata(MIN1, &db, &after);
        lino.assert_same_data(&before, &after);
    }
}

/// things.Stamp's auto_now and auto_now_add fields hold values of 2001
/// to 2003: a restore gives them back, in each mode; an FK cycle
/// (things.Alpha and Beta) and a self-FK restore through deferral.
#[test]
fn the_awkward_site_keeps_its_timestamps() {
    let lino = lino();
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    let stamps = "SELECT id, created, modified, day FROM things_stamp ORDER BY id";
    let expected = "[(1, '2001-02-03 04:05:06', '2002-03-04 05:06:07', '2003-04-05'), \
                    (2, '2001-02-03 04:05:06', '2002-03-04 05:06:07', '2003-04-05')]";
    assert_eq!(sqlite_rows(lino, &db, stamps), expected);
    let before = t.path().join("before.yaml");
    lino.dumpdata(AWKWARD, &db, &before);
    let meta = t.path().join("meta");
    lino.ours_ok(AWKWARD, &db, &[], &[&meta.to_string_lossy()]);
    let raw = t.path().join("raw");
    let url = sqlite_url(&db);
    dump_ok([
        "-d",
        &url,
        "--languages",
        "en,de,fr",
        "-v",
        "0",
        &raw.to_string_lossy(),
    ]);
    for (n, (dump, args)) in [
        (&meta, &[][..]),
        (&raw, &["--quick"][..]),
        (&meta, &["--bulk"][..]),
    ]
    .into_iter()
    .enumerate()
    {
        let err = restore_ok(lino, AWKWARD, &db, dump, args);
        assert_eq!(sqlite_rows(lino, &db, stamps), expected, "{args:?}");
        if !args.contains(&"--bulk") {
            assert!(err.contains("were deferred and saved later"), "{err}");
            assert!(!err.contains("; 0 were deferred"), "no deferral: {err}");
        }
        let after = t.path().join(format!("after-{n}.yaml"));
        lino.dumpdata(AWKWARD, &db, &after);
        lino.assert_same_data(&before, &after);
    }
}

/// A dump of version 1.0 into the site at 2.0 (things.Note.text renamed
/// body): `--bulk` refuses it before touching the database; without
/// `--bulk`, migrate_from_1_0 runs through the faster loader.
#[test]
fn bulk_refuses_a_dump_that_needs_a_data_migration() {
    let lino = lino();
    let v1 = [("AWKWARD_VERSION", "1.0")];
    let (t, db) = lino.sqlite_site(AWKWARD, &v1);
    let dump = t.path().join("dump");
    lino.ours_ok(AWKWARD, &db, &v1, &[&dump.to_string_lossy()]);
    let v2 = [("AWKWARD_VERSION", "2.0"), ("AWKWARD_RENAMED", "1")];
    let db2 = t.path().join("db2.sqlite3");
    lino.admin_env_ok(AWKWARD, &db2, &v2, &["prep", "--noinput", "-v0"]);
    let bodies = "SELECT id, body FROM things_note ORDER BY id";
    let expected = "[(1, 'about the root node'), (2, 'about leaf two'), (3, 'about nothing')]";
    // Something only the refused restore could remove.
    sqlite_rows(
        lino,
        &db2,
        "INSERT INTO things_car (id, model, kw) VALUES (99, 'kept', 1) RETURNING id",
    );
    let out = lino.run_restore(AWKWARD, &db2, &v2, &dump, &["--bulk"]);
    assert!(
        !out.status.success(),
        "--bulk restored a dump needing a migration"
    );
    let err = stderr(&out);
    assert!(
        err.contains("--bulk refused: this dump is of version 1.0 and the site is at version 2.0"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");
    assert!(sqlite_rows(lino, &db2, "SELECT model FROM things_car WHERE id = 99").contains("kept"));
    let out = lino.run_restore(AWKWARD, &db2, &v2, &dump, &[]);
    let log = stdout(&out) + &stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Migrating from version 1.0 to 2.0"), "{log}");
    assert_eq!(sqlite_rows(lino, &db2, bodies), expected);
}

/// `--bulk` into PostgreSQL and MariaDB (one transaction, constraints
/// checked at the end) gives the database that the default restore gives.
#[test]
fn bulk_restores_into_postgres_and_mariadb() {
    for backend in [Backend::Postgres, Backend::MariaDb] {
        let Some(c) = Cross::new(backend, AWKWARD, "bulk") else {
            skip_unless_ci(&format!("{} is not running", backend.name()));
            continue;
        };
        let site = c.dir.path().join("server.sqlite3");
        let restore = path_str(&c.sqlite_meta.join("restore.py"));
        let out =
            c.db.admin_ok(AWKWARD, &site, &["run", &restore, "--noinput", "--bulk"]);
        let log = stdout(&out) + &stderr(&out);
        assert!(log.contains("Loaded "), "{log}");
        let bulk = c.dir.path().join("bulk");
        c.db.ours_ok(AWKWARD, &site, &bulk);
        let a = without_source(read_dump(&c.server_meta), &c.db.url);
        let b = without_source(read_dump(&bulk), &c.db.url);
        assert_same(&a, &b, backend.name());
    }
}

/// Lino's loader loses nothing: a value full_clean() refuses (an empty
/// name without blank=True) is saved as dumped and listed as a warning;
/// a cycle through nullable keys without blank=True (AWKWARD_STRICT_CYCLE)
/// restores, with and without `--quick`. dumpdata equals the original's.
#[test]
fn lino_restores_what_full_clean_refuses() {
    let lino = lino();
    let strict = [("AWKWARD_STRICT_CYCLE", "1")];
    // Lino's own fixture loader can't load that cycle: the demo data
    // comes from the default site (the same tables).
    let (t, db) = lino.sqlite_site(AWKWARD, &[]);
    sqlite_rows(
        lino,
        &db,
        "UPDATE things_alpha SET name = '' WHERE id = 1 RETURNING id",
    );
    let cycle = "SELECT a.id, a.beta_id, b.id, b.alpha_id FROM things_alpha a \
                 JOIN things_beta b ON b.id = a.beta_id ORDER BY a.id";
    let linked = sqlite_rows(lino, &db, cycle);
    assert!(linked.contains("(1, 1, 1, 1)"), "no cycle: {linked}");
    let before = t.path().join("before.json");
    lino.dumpdata(AWKWARD, &db, &before);
    let dump = t.path().join("dump");
    lino.ours_ok(AWKWARD, &db, &strict, &[&dump.to_string_lossy()]);
    for (n, args) in [&[][..], &["--quick"][..]].into_iter().enumerate() {
        let out = lino.run_restore(AWKWARD, &db, &strict, &dump, args);
        let log = stdout(&out) + &stderr(&out);
        assert!(out.status.success(), "{args:?}: {log}");
        if args.is_empty() {
            assert!(
                // Beta 2 has no alpha (None, without blank=True).
                log.contains("2 object(s) were saved as dumped although their validation failed:")
                    && log.contains("- things.Alpha 1: name: This field cannot be blank.")
                    && log.contains("- things.Beta 2: alpha: This field cannot be blank."),
                "{log}"
            );
        } else {
            assert!(!log.contains("validation failed"), "{log}");
        }
        assert_eq!(sqlite_rows(lino, &db, cycle), linked);
        let after = t.path().join(format!("after-{n}.json"));
        lino.dumpdata(AWKWARD, &db, &after);
        lino.assert_same_data(&before, &after);
    }
}

/// A dump of min1 into the awkward site is refused before anything is
/// emptied; a restore that fails half-way (a row the database refuses)
/// leaves none of the dump's rows.
#[test]
fn lino_refuses_another_site_and_rolls_back_a_failed_restore() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let dump = t.path().join("dump");
    lino.ours_ok(MIN1, &db, &[], &[&dump.to_string_lossy()]);
    let (_t2, other) = lino.sqlite_site(AWKWARD, &[]);
    let (b1, b2) = (t.path().join("b1.json"), t.path().join("b2.json"));
    lino.dumpdata(AWKWARD, &other, &b1);
    let out = lino.run_restore(AWKWARD, &other, &[], &dump, &[]);
    let log = stdout(&out) + &stderr(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("This dump doesn't fit this site (awkward.settings)"),
        "{log}"
    );
    assert!(
        log.contains("- contacts.Person (table contacts_person): no such model in this site"),
        "{log}"
    );
    lino.dumpdata(AWKWARD, &other, &b2);
    lino.assert_same_data(&b1, &b2);
    // A role of a person who doesn't exist: the database refuses it.
    let roles = dump.join("contacts_role.py");
    let text = std::fs::read_to_string(&roles).expect("contacts_role.py");
    let broken = text.replace(
        "create_contacts_role(1,1,14,2)",
        "create_contacts_role(1,1,9999,2)",
    );
    assert_ne!(broken, text, "{text}");
    std::fs::write(&roles, broken).expect("write");
    let out = lino.run_restore(MIN1, &db, &[], &dump, &[]);
    let log = stdout(&out) + &stderr(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("- contacts_role.py: "), "{log}");
    let out = lino.run_restore(MIN1, &db, &[], &dump, &["--no-verify"]);
    let log = stdout(&out) + &stderr(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("The restore failed: Abandoning with 1 unsaved instances:"),
        "{log}"
    );
    assert!(
        log.contains("the database holds none of the dump's rows"),
        "{log}"
    );
    let conn = rusqlite::Connection::open(&db).expect("open db");
    for table in ["countries_country", "contacts_partner", "contacts_person"] {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 0, "{table} kept rows");
    }
}
