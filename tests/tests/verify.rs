//! `--verify DUMP` (issue 13): an intact dump passes; a flipped bit, a
//! missing, an extra or a truncated file fails naming it; with `-d URL`
//! the rows per table are compared with the database.

use std::fs;
use std::path::{Path, PathBuf};

use dump2py_tests::{
    copy_db, fixture,
    lino::{lino, MIN1},
    path_str,
    run::{dump2py, dump_ok, stderr, stdout},
    sqlite_url,
};

/// min1 dumped as a Python dump and as JSON and XML, in a fresh directory.
fn dumped() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let d = |n: &str| path_str(&t.path().join(n));
    dump_ok([
        "-d",
        &sqlite_url(&db),
        &d("dump"),
        "--json",
        &d("a.json"),
        "--xml",
        &d("a.xml.gz"),
        "-v",
        "0",
    ]);
    let dump = t.path().join("dump");
    (t, db, dump)
}

/// `--verify` of `what` fails with status 1 and this error.
fn fails(what: &Path, error: &str) {
    let out = dump2py(["--verify", &path_str(what)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out).trim(), format!("error: {error}"));
}

#[test]
fn an_intact_dump_and_its_json_and_xml_pass() {
    let (t, _db, dump) = dumped();
    let out = dump_ok(["--verify", &path_str(&dump)]);
    assert_eq!(
        stdout(&out).trim(),
        format!(
            "{}: intact (12 files, 280 rows in 11 tables, written by dump2py {})",
            dump.display(),
            env!("CARGO_PKG_VERSION")
        )
    );
    for file in ["a.json", "a.xml.gz"] {
        let out = dump_ok(["--verify", &path_str(&t.path().join(file))]);
        // The JSON and XML also hold the sessions (none).
        assert!(
            stdout(&out).contains("intact (1 file, 280 rows in 12 tables"),
            "{}",
            stdout(&out)
        );
    }
    // The manifest lists rows per table.
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dump.join("dump2py.json")).expect("read")).expect("json");
    assert_eq!(manifest["tables"]["contacts_partner"], 81);
    assert_eq!(manifest["tables"]["countries_place"], 80);
}

#[test]
fn a_flipped_bit_is_named() {
    let (t, _db, dump) = dumped();
    let file = dump.join("contacts_partner.py");
    let mut bytes = fs::read(&file).expect("read");
    bytes[100] ^= 0x04;
    fs::write(&file, &bytes).expect("write");
    fails(
        &dump,
        &format!(
            "{}: damaged: its SHA-256 is not the manifest's",
            file.display()
        ),
    );
    let json = t.path().join("a.json");
    let mut bytes = fs::read(&json).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    fs::write(&json, &bytes).expect("write");
    fails(
        &json,
        &format!(
            "{}: damaged: its SHA-256 is not the manifest's",
            json.display()
        ),
    );
}

#[test]
fn a_missing_an_extra_and_a_truncated_file_are_named() {
    let (t, _db, dump) = dumped();
    let restore = dump.join("restore.py");
    let text = fs::read(&restore).expect("read");
    fs::write(&restore, &text[..text.len() - 10]).expect("write");
    fails(
        &dump,
        &format!(
            "{}: truncated: {} bytes, the manifest says {}",
            restore.display(),
            text.len() - 10,
            text.len()
        ),
    );
    fs::write(&restore, &text).expect("write");
    dump_ok(["--verify", &path_str(&dump), "-v", "0"]);
    let extra = dump.join("notes.txt");
    fs::write(&extra, "mine").expect("write");
    fails(
        &dump,
        &format!("{}: extra file, not in the manifest", extra.display()),
    );
    fs::remove_file(&extra).expect("rm");
    let place = dump.join("countries_place.py");
    fs::remove_file(&place).expect("rm");
    fails(
        &dump,
        &format!("{}: missing (the manifest lists it)", place.display()),
    );
    // Without its manifest nothing tells what the dump held.
    fs::remove_file(dump.join("dump2py.json")).expect("rm");
    let out = dump2py(["--verify", &path_str(&dump)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no manifest"), "{}", stderr(&out));
    let side = t.path().join("a.json.dump2py.json");
    fs::remove_file(side).expect("rm");
    let out = dump2py(["--verify", &path_str(&t.path().join("a.json"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no manifest"), "{}", stderr(&out));
}

#[test]
fn verify_with_the_database_names_the_tables_that_changed() {
    let (t, db, dump) = dumped();
    let url = sqlite_url(&db);
    let out = dump_ok(["--verify", &path_str(&dump), "-d", &url]);
    assert!(
        stdout(&out).contains("the database has the same rows per table"),
        "{}",
        stdout(&out)
    );
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "INSERT INTO countries_place (id, name, name_de, name_fr, country_id, zip_code, type, show_type)
           SELECT 1000, 'New', 'Neu', 'Nouveau', country_id, zip_code, type, show_type
           FROM countries_place WHERE id = (SELECT min(id) FROM countries_place);
         DELETE FROM contacts_role;",
    )
    .expect("change");
    drop(conn);
    for target in [dump, t.path().join("a.json")] {
        let out = dump2py(["--verify", &path_str(&target), "-d", &url]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("changed: table contacts_role: 3 rows in the dump, 0 in the database\n"),
            "{err}"
        );
        assert!(
            err.contains(
                "changed: table countries_place: 80 rows in the dump, 81 in the database\n"
            ),
            "{err}"
        );
        assert!(err.contains("the database changed since: 2 of"), "{err}");
    }
}

#[test]
fn verify_writes_nothing() {
    let (t, _db, dump) = dumped();
    let out = dump2py([
        "--verify",
        &path_str(&dump),
        &path_str(&t.path().join("out")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--verify checks a dump"),
        "{}",
        stderr(&out)
    );
    let out = dump2py(["--verify", &path_str(&t.path().join("nothing"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing"), "{}", stderr(&out));
}

/// `--settings` finds the database in the site's settings.
#[test]
fn verify_with_settings_compares_with_the_sites_database() {
    let lino = lino();
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let dump = t.path().join("dump");
    lino.ours_ok(MIN1, &db, &[], &[&path_str(&dump), "-v", "0"]);
    let out = lino.ours_ok(MIN1, &db, &[], &["--verify", &path_str(&dump)]);
    assert!(
        stdout(&out).contains("the database has the same rows per table"),
        "{}",
        stdout(&out)
    );
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute("DELETE FROM contacts_role", [])
        .expect("delete");
    drop(conn);
    let out = lino.ours(MIN1, &db, &[], &["--verify", &path_str(&dump)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("changed: table contacts_role: 3 rows in the dump, 0 in the database"),
        "{}",
        stderr(&out)
    );
}
