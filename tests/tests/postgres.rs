//! The PostgreSQL source against the server on this machine
//! (127.0.0.1:5432, user postgres, trust auth): dumps identical to SQLite's
//! of the same site, every type, one snapshot, and bad input.
//!
//! Each test makes its own database and drops it at the end, also when it
//! fails. Without a server the tests print a skip message, unless CI=true,
//! where they fail (tests/src/servers.rs).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use dump2py_tests::{
    backend_checks::{generated_columns_dumped, ALL_BYTES_B64, SCALAR_COLUMNS, SCALAR_ROWS},
    certs::{openssl_in, test_ca, test_cert, CertFor},
    compare::{assert_same, read_dump, without_source, Cross, Dump},
    data_file::{assert_rows, check_row, rows_of},
    lino::{AWKWARD, MIN1},
    need_server,
    passwords::{assert_no_secret, dump_hiding, dump_tolerating, fails_within, one_line_error},
    path_str,
    run::{bin, dump2py, dump_ok, spawn_dump2py, stderr, stdout, wait_for},
    servers::{Backend, TestDb, HOST, SECRET},
    skip_unless_ci, unique,
};

const PG: Backend = Backend::Postgres;
const PORT: &str = PG.port();

/// Applies the expected differences to SQLite's dump: each `from` must
/// occur exactly once in its file.
fn expect_changes(mut dump: Dump, changes: &[(&str, String, String)]) -> Dump {
    for (file, from, to) in changes {
        let content = dump.get_mut(*file).unwrap_or_else(|| panic!("no {file}"));
        let text = String::from_utf8(content.clone()).expect("UTF-8");
        assert_eq!(
            text.matches(from.as_str()).count(),
            1,
            "expected difference {from:?} is not once in {file}"
        );
        *content = text.replacen(from.as_str(), to, 1).into_bytes();
    }
    dump
}

// ---------------------------------------------------------------------------
// a. Identical across backends

/// What differs between the backends without site metadata on the awkward
/// site, besides jsonb: SQLite stores a decimal as REAL (the shortest text
/// that reads back, `'12.5'`; PostgreSQL's numeric keeps its scale,
/// `'12.5000'`), a UUID as 32 hex digits (PostgreSQL's uuid is written
/// with hyphens, as Django writes it) and a DurationField as a bigint of
/// microseconds (PostgreSQL's interval is written as Django's duration
/// text, and restore.py needs no `duration_or_int` guess for it).
fn awkward_plain_changes() -> Vec<(&'static str, String, String)> {
    let mut changes = awkward_jsonb_changes();
    let scalar = [
        // decimals
        (
            "create_things_scalar(1,'12.5',",
            "create_things_scalar(1,'12.5000',",
        ),
        (
            "create_things_scalar(4,'0',",
            "create_things_scalar(4,'0.0000',",
        ),
        // UUIDs
        (
            "'12345678123456781234567812345678'",
            "'12345678-1234-5678-1234-567812345678'",
        ),
        (
            "'cfbff0d193755685968c48ce8b15ae17'",
            "'cfbff0d1-9375-5685-968c-48ce8b15ae17'",
        ),
        (
            "'00000000000000000000000000000000'",
            "'00000000-0000-0000-0000-000000000000'",
        ),
        // durations
        (",93603000004,", ",'1 02:00:03.000004',"),
        (",2147483647,-1,", ",2147483647,'-1 23:59:59.999999',"),
        (
            ",-9223372036854775807,7,0,",
            ",-9223372036854775807,7,'00:00:00',",
        ),
    ];
    changes.extend(
        scalar
            .iter()
            .map(|(a, b)| ("things_scalar.py", a.to_string(), b.to_string())),
    );
    changes.push((
        "restore.py",
        "    dur = duration_or_int('things_scalar', 'dur', dur)\n".into(),
        String::new(),
    ));
    changes
}

/// jsonb keeps neither key order nor a number's notation: keys are sorted
/// by length, then bytes, and a float written without a point (`1e16`,
/// `1.7976931348623157e308` is `17976931348623157e292`) comes back as an
/// integer's digits, which Python reads as an int. Django on PostgreSQL
/// reads the same values: the difference is in the database, not the dump.
fn awkward_jsonb_changes() -> Vec<(&'static str, String, String)> {
    let file = "things_jsondoc.py";
    let sqlite_13 = "{'float': 1.5, 'small': 1e-05, 'big': 1.7976931348623157e+308, \
        'null': None, 'int': -9223372036854775808, 'huge': 18446744073709551616, \
        'nested': {'list': [1, [2, [3, {'deep': 'é'}]]], 'empty': {}}, \
        'unicode 😀': 'Zürich\\xa0\\u200b 日本', 'quotes': '\\'\"\\\\', \
        'bools': [True, False]}";
    let pg_13 = format!(
        "{{'big': 17976931348623157{}, 'int': -9223372036854775808, \
         'huge': 18446744073709551616, 'null': None, 'bools': [True, False], \
         'float': 1.5, 'small': 1e-05, \
         'nested': {{'list': [1, [2, [3, {{'deep': 'é'}}]]], 'empty': {{}}}}, \
         'quotes': '\\'\"\\\\', 'unicode 😀': 'Zürich\\xa0\\u200b 日本'}}",
        "0".repeat(292)
    );
    vec![
        (
            file,
            "create_things_jsondoc(4,1e+16)".into(),
            "create_things_jsondoc(4,10000000000000000)".into(),
        ),
        (
            file,
            format!("create_things_jsondoc(13,{sqlite_13})"),
            format!("create_things_jsondoc(13,{pg_13})"),
        ),
    ]
}

/// The site prepared on SQLite (min1: the fixture; awkward: `prep`),
/// restored into a PostgreSQL copy with Lino: both dumped with --settings,
/// and without metadata.
fn cross_backend(
    settings: &str,
    with_meta: &[(&str, String, String)],
    plain: &[(&str, String, String)],
) {
    let Some(c) = Cross::new(PG, settings, "cross") else {
        return;
    };
    let a = without_source(read_dump(&c.sqlite_meta), "sqlite:");
    let b = without_source(read_dump(&c.server_meta), &c.db.url);
    assert!(a.len() > 5, "{} files", a.len());
    assert_same(&expect_changes(a, with_meta), &b, "with site metadata");

    // Without metadata: the database alone.
    let a = without_source(read_dump(&c.sqlite_plain), "sqlite:");
    let b = without_source(read_dump(&c.server_plain), &c.db.url);
    assert_same(&expect_changes(a, plain), &b, "without site metadata");
}

#[test]
fn min1_is_identical_on_sqlite_and_postgres() {
    cross_backend(MIN1, &[], &[]);
}

#[test]
fn awkward_is_identical_on_sqlite_and_postgres() {
    cross_backend(AWKWARD, &awkward_jsonb_changes(), &awkward_plain_changes());
}

// ---------------------------------------------------------------------------
// b. Every type, column by column

const TYPES_DDL: &str = r#"
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE app_types (
    id integer PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint,
    ser bigserial, n numeric(40,20), nu numeric, f8 double precision, f4 real,
    ch char(5), vc varchar(30), tx text, ci citext, by bytea, d date, tm time,
    ts timestamp, tz timestamptz, iv interval, u uuid, jb jsonb, js json,
    ip inet, cn cidr);
INSERT INTO app_types (id, b, i2, i4, i8, n, nu, f8, f4, ch, vc, tx, ci, by, d, tm,
    ts, tz, iv, u, jb, js, ip, cn) VALUES
 (1, true, -32768, -2147483648, -9223372036854775808,
  '12345678901234567890.12345678901234567890', '1e-30', '-0', '0.1', 'ab',
  'it''s "x"', E'emoji 😀 tab\t nl\n cr\r \x01 \x7f', 'MiXeD',
  (SELECT string_agg(set_byte('\x00'::bytea, 0, g), ''::bytea ORDER BY g)
     FROM generate_series(0, 255) g),
  '0001-01-01', '00:00:00.000001', '2024-02-29 23:59:59.999999',
  '2024-03-31 01:30:05.123456+05:30', '3 days 04:05:06.000007',
  'A0EEBC99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"b": [1, 2.5, {"c": null}], "a": true, "long key": "é"}',
  '{"z": 1, "a": [1.0, 1e16]}', '192.168.1.1', '10.0.0.0/8'),
 (2, false, 32767, 2147483647, 9223372036854775807, '-0.00000000000000000001', '0',
  'NaN', '-Infinity', '', '', '', '', '', '9999-12-31', '23:59:59.999999',
  '0001-01-01 00:00:00', '9999-12-31 23:59:59.999999+00', '-00:00:00.000001',
  '00000000-0000-0000-0000-000000000000', '[]', 'null', '2001:db8::1/64', '2001:db8::/32');
INSERT INTO app_types (id) VALUES (3);
INSERT INTO app_types (id, f8, f4) VALUES (4, 'Infinity', '3.4028235e38'), (5, '1e300', '1e-45');
"#;

#[test]
fn every_type_column_by_column() {
    need_server!(PG);
    let db = TestDb::new(PG, "types");
    db.sql(TYPES_DDL);
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    dump_ok(["-d", &db.url, &path_str(&out)]);
    let rows = rows_of(&out, "app_types");
    assert_eq!(rows.len(), 5);
    check_row(
        "app_types",
        &rows[0],
        &[
            ("id", "1"),
            ("b", "True"),
            ("i2", "-32768"),
            ("i4", "-2147483648"),
            ("i8", "-9223372036854775808"),
            ("ser", "1"),
            ("n", "'12345678901234567890.12345678901234567890'"),
            ("nu", "'0.000000000000000000000000000001'"),
            ("f8", "'-0.0'"),
            ("f4", "'0.1'"),
            ("ch", "'ab   '"),
            ("vc", r#"'it\'s "x"'"#),
            ("tx", r"'emoji 😀 tab\t nl\n cr\r \x01 \x7f'"),
            ("ci", "'MiXeD'"),
            ("by", ALL_BYTES_B64),
            ("d", "date(1,1,1)"),
            ("tm", "time(0,0,0,1)"),
            ("ts", "dt(2024,2,29,23,59,59,999999)"),
            // +05:30 normalised to UTC, microseconds kept.
            ("tz", "dt(2024,3,30,20,0,5,123456)"),
            ("iv", "'3 04:05:06.000007'"),
            ("u", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"),
            // jsonb sorts keys (by length, then bytes); json keeps the text.
            (
                "jb",
                "{'a': True, 'b': [1, 2.5, {'c': None}], 'long key': 'é'}",
            ),
            ("js", "{'z': 1, 'a': [1.0, 1e+16]}"),
            ("ip", "'192.168.1.1'"),
            ("cn", "'10.0.0.0/8'"),
        ],
    );
    check_row(
        "app_types",
        &rows[1],
        &[
            ("id", "2"),
            ("b", "False"),
            ("i2", "32767"),
            ("i4", "2147483647"),
            ("i8", "9223372036854775807"),
            ("ser", "2"),
            ("n", "'-0.00000000000000000001'"),
            ("nu", "'0'"),
            ("f8", "'nan'"),
            ("f4", "'-inf'"),
            ("ch", "'     '"),
            ("vc", "''"),
            ("tx", "''"),
            ("ci", "''"),
            ("by", "''"),
            ("d", "date(9999,12,31)"),
            ("tm", "time(23,59,59,999999)"),
            ("ts", "dt(1,1,1,0,0,0)"),
            ("tz", "dt(9999,12,31,23,59,59,999999)"),
            ("iv", "'-1 23:59:59.999999'"),
            ("u", "'00000000-0000-0000-0000-000000000000'"),
            ("jb", "[]"),
            ("js", "None"),
            ("ip", "'2001:db8::1/64'"),
            ("cn", "'2001:db8::/32'"),
        ],
    );
    let nulls = |id: &'static str, ser: &'static str, f8: &'static str, f4: &'static str| {
        let mut row = vec![("id", id)];
        for c in [
            "b", "i2", "i4", "i8", "ser", "n", "nu", "f8", "f4", "ch", "vc", "tx", "ci", "by", "d",
            "tm", "ts", "tz", "iv", "u", "jb", "js", "ip", "cn",
        ] {
            row.push((
                c,
                match c {
                    "ser" => ser,
                    "f8" => f8,
                    "f4" => f4,
                    _ => "None",
                },
            ));
        }
        row
    };
    check_row("app_types", &rows[2], &nulls("3", "3", "None", "None"));
    check_row(
        "app_types",
        &rows[3],
        &nulls("4", "4", "'inf'", "'3.4028235e+38'"),
    );
    check_row(
        "app_types",
        &rows[4],
        &nulls("5", "5", "'1e+300'", "'1e-45'"),
    );
}

/// Values written by Django on PostgreSQL: the awkward site's `prep`.
#[test]
fn django_written_values_column_by_column() {
    need_server!(PG);
    let db = TestDb::new(PG, "django");
    let t = tempfile::tempdir().expect("tempdir");
    let site = t.path().join("site.sqlite3");
    db.admin_ok(AWKWARD, &site, &["prep", "--noinput", "-v0"]);
    let declared = db.sql(
        "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
         FROM information_schema.columns WHERE table_name = 'things_scalar'",
    );
    assert!(
        declared.contains("dur interval") && declared.contains("uid uuid"),
        "{declared}"
    );
    let out = t.path().join("dump");
    db.ours_ok(AWKWARD, &site, &out);
    assert_rows(&out, "things_scalar", SCALAR_COLUMNS, SCALAR_ROWS);
}

/// Values that Python can't hold, and a type dump2py doesn't read: each
/// table fails with one line naming table, column and primary key; `-t`
/// skips them all.
#[test]
fn values_without_a_python_equivalent() {
    need_server!(PG);
    let db = TestDb::new(PG, "bad_values");
    db.sql(
        "CREATE TABLE app_ok (id int PRIMARY KEY);
         INSERT INTO app_ok VALUES (1);
         CREATE TABLE app_nan (id int PRIMARY KEY, n numeric);
         INSERT INTO app_nan VALUES (1, 1.5), (2, 'NaN');
         CREATE TABLE app_inf (id int PRIMARY KEY, ts timestamptz);
         INSERT INTO app_inf VALUES (7, 'infinity');
         CREATE TABLE app_month (id int PRIMARY KEY, iv interval);
         INSERT INTO app_month VALUES (3, '1 mon 2 days');
         CREATE TABLE app_bc (code text PRIMARY KEY, d date);
         INSERT INTO app_bc VALUES ('caesar', '0044-03-15 BC');
         CREATE TABLE app_midnight (id int PRIMARY KEY, t time);
         INSERT INTO app_midnight VALUES (4, '24:00:00');
         CREATE TABLE app_geo (id int PRIMARY KEY, p point);
         INSERT INTO app_geo VALUES (1, '(1,2)');",
    );
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    one_line_error(&dump2py(["-d", &db.url, &path_str(&out)]), SECRET);
    assert!(!out.exists());
    let err = dump_tolerating(&db.url, &out, SECRET);
    for want in [
        "table app_nan, column n, primary key 2: declared numeric but numeric NaN",
        "table app_inf, column ts, primary key 7: declared timestamp with time zone but timestamp 'infinity'",
        "table app_month, column iv, primary key 3: declared interval but interval with 1 month(s)",
        "table app_bc, column d, primary key 'caesar': declared date but 0044-03-15 BC is outside Python's years",
        "table app_midnight, column t, primary key 4: declared time without time zone but time 24:00:00",
        "table app_geo: unsupported type point in app_geo.p",
    ] {
        assert!(err.contains(want), "{want:?} not in\n{err}");
    }
    assert!(err.contains("6 of 7 tables could not be read"), "{err}");
    let restore = fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(restore.contains("'app_geo': "), "{restore}");
    assert_eq!(rows_of(&out, "app_ok"), vec![vec!["1".to_string()]]);
}

#[test]
fn generated_columns_are_dumped_never_restored() {
    need_server!(PG);
    generated_columns_dumped(&TestDb::new(PG, "gen"));
}

// ---------------------------------------------------------------------------
// c. One snapshot

/// Rows committed while the dump runs are not in it. Made deterministic
/// with a lock rather than timing: another session holds an ACCESS
/// EXCLUSIVE lock on `app_a`, so the dump, once it has read the catalog
/// (which takes its snapshot), waits on its first statement on `app_a`.
/// pg_stat_activity shows it waiting; only then `app_b` is changed and
/// committed, and the lock released. The dump must show `app_b` as it was
/// before: with READ COMMITTED, or a snapshot taken late, it would show the
/// change.
#[test]
fn dump_reads_one_snapshot() {
    need_server!(PG);
    let db = TestDb::new(PG, "snapshot");
    db.sql(
        "CREATE TABLE app_a (id int PRIMARY KEY, v text);
         INSERT INTO app_a SELECT g, 'a' || g FROM generate_series(1, 3000) g;
         CREATE TABLE app_b (id int PRIMARY KEY, v text);
         INSERT INTO app_b VALUES (1, 'old one'), (2, 'old two'), (3, 'old three');",
    );
    let mut locker = PG
        .client(Some(&db.name))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql");
    let mut to_locker = locker.stdin.take().expect("stdin");
    to_locker
        .write_all(b"BEGIN;\nLOCK TABLE app_a IN ACCESS EXCLUSIVE MODE;\nSELECT 'locked';\n")
        .expect("lock");
    let mut from_locker = BufReader::new(locker.stdout.take().expect("stdout"));
    let mut line = String::new();
    while !line.contains("locked") {
        line.clear();
        let n = from_locker.read_line(&mut line).expect("psql output");
        assert!(n > 0, "psql holding the lock ended");
    }
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    let dump = spawn_dump2py(&["-d", &db.url, &path_str(&out)]);
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
         AND application_name = 'dump2py' AND wait_event_type = 'Lock'",
        db.name
    );
    wait_for(
        "dump2py to wait for the lock on app_a",
        Duration::from_millis(50),
        || db.sql(&waiting).trim() == "1",
    );
    db.sql(
        "UPDATE app_b SET v = 'new two' WHERE id = 2;
         DELETE FROM app_b WHERE id = 3;
         INSERT INTO app_b VALUES (4, 'new four');",
    );
    to_locker.write_all(b"ROLLBACK;\n").expect("unlock");
    drop(to_locker);
    let _ = locker.wait();
    let o = dump.wait_with_output().expect("dump2py");
    assert!(o.status.success(), "{}", stderr(&o));
    let b = rows_of(&out, "app_b");
    let want: Vec<Vec<String>> = [("1", "'old one'"), ("2", "'old two'"), ("3", "'old three'")]
        .iter()
        .map(|(i, v)| vec![i.to_string(), v.to_string()])
        .collect();
    assert_eq!(b, want);
    assert_eq!(rows_of(&out, "app_a").len(), 3000);
    // The database did change: a new dump shows it.
    let later = t.path().join("later");
    dump_ok(["-d", &db.url, &path_str(&later)]);
    assert_eq!(rows_of(&later, "app_b")[1][1], "'new two'");
    assert_eq!(rows_of(&later, "app_b").len(), 3);
}

/// A table stored out of its key's order (its statistics say so) is read
/// in key order by a scan and a sort, not by the key's index, which the
/// planner would take and which reads such a table 2.5 times slower
/// (bench/pg-order.sh); a table stored in key order keeps the index. The
/// rows are in key order either way, and `-j 2` reads the same.
#[test]
fn a_table_stored_out_of_key_order_is_read_by_a_sort() {
    need_server!(PG);
    let db = TestDb::new(PG, "order");
    db.sql(
        "CREATE TABLE app_scattered (id int PRIMARY KEY, v text);
         INSERT INTO app_scattered SELECT g, 'v' || g FROM generate_series(1, 20000) g ORDER BY md5(g::text);
         CREATE TABLE app_ordered (id int PRIMARY KEY, v text);
         INSERT INTO app_ordered SELECT g, 'v' || g FROM generate_series(1, 20000) g;
         ANALYZE app_scattered; ANALYZE app_ordered;",
    );
    let scans = |table: &str| -> (i64, i64) {
        let got = db.sql(&format!(
            "SELECT pg_stat_clear_snapshot(); SELECT coalesce(idx_scan, 0) || ' ' || seq_scan \
             FROM pg_stat_user_tables WHERE relname = '{table}'"
        ));
        let mut n = got.split_whitespace().filter_map(|w| w.parse::<i64>().ok());
        (n.next().unwrap_or(-1), n.next().unwrap_or(-1))
    };
    let before = (scans("app_scattered"), scans("app_ordered"));
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    dump_ok(["-d", &db.url, &path_str(&out)]);
    let want: Vec<String> = (1..=20000).map(|i| i.to_string()).collect();
    for table in ["app_scattered", "app_ordered"] {
        let ids: Vec<String> = rows_of(&out, table)
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        assert!(ids == want, "{table} not in key order");
    }
    // The server counts the dump's scans once its session has ended.
    wait_for(
        "the dump's index scan of app_ordered in the statistics",
        Duration::from_millis(100),
        || scans("app_ordered").0 > before.1 .0,
    );
    let (idx, seq) = scans("app_scattered");
    assert_eq!(idx, before.0 .0, "app_scattered was read by its index");
    assert!(seq > before.0 .1, "app_scattered was not scanned");
    let again = t.path().join("again");
    dump_ok(["-j", "2", "-d", &db.url, &path_str(&again)]);
    assert_eq!(read_dump(&out), read_dump(&again));
}

// ---------------------------------------------------------------------------
// d. Bad input

#[test]
fn unreachable_server_fails_fast_and_clearly() {
    let t = tempfile::tempdir().expect("tempdir");
    let out = path_str(&t.path().join("dump"));
    // A closed port: refused at once.
    let url = format!("postgres://postgres:{SECRET}@127.0.0.1:1/x");
    let err = fails_within(Duration::from_secs(15), SECRET, &["-d", &url, &out]);
    assert!(
        err.contains("can't connect to PostgreSQL at 127.0.0.1:1"),
        "{err}"
    );
    // A server that accepts and never answers: the wait is bounded.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(8));
        drop(conn);
    });
    let url = format!("postgres://postgres:{SECRET}@127.0.0.1:{port}/x?connect_timeout=2");
    let err = fails_within(Duration::from_secs(5), SECRET, &["-d", &url, &out]);
    assert!(
        err.contains(&format!(
            "PostgreSQL at 127.0.0.1:{port}: no answer within 2 s"
        )),
        "{err}"
    );
    let _ = holder.join();
}

#[test]
fn unknown_database_and_user() {
    need_server!(PG);
    let t = tempfile::tempdir().expect("tempdir");
    let out = path_str(&t.path().join("dump"));
    let missing = unique("dump2py_missing");
    let url = PG.url_as("postgres", Some(SECRET), &missing);
    let err = one_line_error(&dump2py(["-d", &url, &out]), SECRET);
    assert!(
        err.contains(&format!(
            "PostgreSQL at {HOST}:{PORT} has no database \"{missing}\""
        )),
        "{err}"
    );
    // This server trusts every user on 127.0.0.1 (pg_hba.conf: trust), so a
    // wrong password can't be tried here; a role that doesn't exist can.
    let nobody = unique("dump2py_nobody");
    let url = PG.url_as(&nobody, Some(SECRET), "postgres");
    let err = one_line_error(&dump2py(["-d", &url, &out]), SECRET);
    assert!(
        err.contains(&format!("refused user \"{nobody}\"")) && err.contains("does not exist"),
        "{err}"
    );
    assert!(!Path::new(&out).exists());
}

#[test]
fn password_is_never_shown() {
    need_server!(PG);
    let db = TestDb::new(PG, "password");
    db.sql("CREATE TABLE app_x (id int PRIMARY KEY); INSERT INTO app_x VALUES (1);");
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    // Trust auth accepts any password: the dump succeeds, and shows none.
    let url = format!(
        "postgresql://postgres:{SECRET}@{HOST}:{PORT}/{}?sslmode=prefer&application_name=dump2py",
        db.name
    );
    let files = dump_hiding(&url, &out, SECRET);
    let restore = String::from_utf8_lossy(&files["restore.py"]);
    assert!(
        restore.contains(&format!(
            "# This is a Python dump of postgres://postgres@{HOST}:{PORT}/{},",
            db.name
        )),
        "{restore}"
    );
    // The password as a parameter, and a root certificate that isn't there.
    let url = format!(
        "postgres://{HOST}/{}?user=postgres&password={SECRET}&sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
        db.name
    );
    let o = dump2py(["-d", &url, &path_str(&t.path().join("tls"))]);
    let err = one_line_error(&o, SECRET);
    assert!(
        err.contains(&format!(
            "PostgreSQL at {HOST}:{PORT}: can't read sslrootcert /nonexistent/ca.pem"
        )),
        "{err}"
    );
    // A Unix socket, as a parameter and as a percent-encoded host.
    for url in [
        format!("postgres://postgres@/{}?host=/var/run/postgresql", db.name),
        format!("postgres://postgres@%2Fvar%2Frun%2Fpostgresql/{}", db.name),
    ] {
        if Path::new("/var/run/postgresql").is_dir() {
            let sock = t.path().join(unique("sock"));
            dump_ok(["-d", &url, &path_str(&sock)]);
            assert_eq!(rows_of(&sock, "app_x"), vec![vec!["1".to_string()]]);
        }
    }
}

#[test]
fn unreadable_table_is_reported_and_skipped_with_t() {
    need_server!(PG);
    let mut db = TestDb::new(PG, "privileges");
    let reader = db.user("dump2py_reader", None);
    db.sql(&format!(
        "CREATE TABLE app_open (id int PRIMARY KEY, v text);
         INSERT INTO app_open VALUES (1, 'visible');
         CREATE TABLE app_secret (id int PRIMARY KEY, v text);
         INSERT INTO app_secret VALUES (1, 'hidden');
         GRANT SELECT ON app_open TO \"{reader}\";"
    ));
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    let url = PG.url_as(&reader, Some(SECRET), &db.name);
    let err = one_line_error(&dump2py(["-d", &url, &path_str(&out)]), SECRET);
    assert!(
        err.contains("table app_secret: permission denied for table app_secret"),
        "{err}"
    );
    assert!(!out.exists());
    let err = dump_tolerating(&url, &out, SECRET);
    assert!(
        err.contains("warning: tolerated: table app_secret: permission denied"),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("1 of 2 tables could not be read."),
        "{err}"
    );
    assert_eq!(
        rows_of(&out, "app_open"),
        vec![vec!["1".to_string(), "'visible'".to_string()]]
    );
    let restore = fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(restore.contains("'app_secret': "), "{restore}");
    assert!(!restore.contains(SECRET));
}

/// With the site's metadata, a model whose table is gone, or that the
/// user may not read, stops the dump, or `-t` skips it and lists it.
/// A table with a row-level security policy, read by a role the policy
/// filters: as pg_dump, row_security is off, so the server refuses the
/// read instead of giving the rows the policy lets through.
#[test]
fn a_row_level_security_policy_is_an_error_never_part_of_the_rows() {
    need_server!(PG);
    let mut db = TestDb::new(PG, "rls");
    let reader = db.user("dump2py_reader", None);
    db.sql(&format!(
        "CREATE TABLE app_note (id int PRIMARY KEY, who text);
         INSERT INTO app_note VALUES (1, '{reader}'), (2, 'someone else');
         ALTER TABLE app_note ENABLE ROW LEVEL SECURITY;
         CREATE POLICY mine ON app_note USING (who = current_user);
         GRANT SELECT ON app_note TO \"{reader}\";"
    ));
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    let url = PG.url_as(&reader, None, &db.name);
    let err = one_line_error(&dump2py(["-d", &url, &path_str(&out)]), SECRET);
    assert!(
        err.contains("table app_note: query would be affected by row-level security policy")
            && err.contains("BYPASSRLS"),
        "{err}"
    );
    assert!(!out.exists());
    // The owner reads every row.
    let r = dump_ok(["-d", &db.url, "--json", "-", "-v", "0"]);
    assert!(stdout(&r).contains("someone else"), "{}", stdout(&r));
}

/// The role's search_path chooses the schema dumped (as Django's connection
/// sees it), but never the functions the read calls: a schema before
/// pg_catalog with its own `host(inet)` changes nothing.
#[test]
fn the_roles_search_path_never_changes_what_a_value_reads_as() {
    need_server!(PG);
    let mut db = TestDb::new(PG, "search_path");
    let reader = db.user("dump2py_reader", None);
    db.sql(&format!(
        "CREATE SCHEMA other;
         CREATE TABLE other.app_host (id int PRIMARY KEY, ip inet);
         INSERT INTO other.app_host VALUES (1, '10.1.2.3');
         CREATE TABLE public.app_host (id int PRIMARY KEY, ip inet);
         INSERT INTO public.app_host VALUES (1, '10.9.9.9'), (2, '10.9.9.8');
         CREATE FUNCTION other.host(inet) RETURNS text LANGUAGE sql AS $$ SELECT 'hijacked' $$;
         GRANT USAGE ON SCHEMA other TO \"{reader}\";
         GRANT SELECT ON ALL TABLES IN SCHEMA other, public TO \"{reader}\";
         GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA other TO \"{reader}\";
         ALTER ROLE \"{reader}\" IN DATABASE \"{}\" SET search_path = other, pg_catalog, public;",
        db.name
    ));
    let url = PG.url_as(&reader, None, &db.name);
    let r = dump_ok(["-d", &url, "--json", "-", "-v", "0"]);
    let json = stdout(&r);
    assert!(json.contains("\"ip\": \"10.1.2.3\""), "{json}");
    assert!(
        !json.contains("hijacked") && !json.contains("10.9.9"),
        "{json}"
    );
    let r = dump_ok(["-d", &url, "-s"]);
    assert_eq!(stdout(&r).trim(), "app_host: 1 rows", "{}", stdout(&r));
}

#[test]
fn site_models_without_a_readable_table_are_errors_or_skipped() {
    need_server!(PG);
    let mut db = TestDb::new(PG, "site_tables");
    let reader = db.user("dump2py_reader", None);
    db.sql(&format!(
        "CREATE TABLE app_open (id int PRIMARY KEY, name text);
         INSERT INTO app_open VALUES (1, 'visible');
         CREATE TABLE app_secret (id int PRIMARY KEY, name text);
         INSERT INTO app_secret VALUES (1, 'hidden');
         GRANT SELECT ON app_open TO \"{reader}\";"
    ));
    let t = tempfile::tempdir().expect("tempdir");
    let schema = t.path().join("schema.json");
    let models = [
        ("Gone", "app_gone"),
        ("Open", "app_open"),
        ("Secret", "app_secret"),
    ];
    let text = dump2py_tests::site_schema::site_schema("postgresql", &db.name, &models);
    fs::write(&schema, text).expect("write schema");
    let url = PG.url_as(&reader, Some(SECRET), &db.name);
    let (schema, out) = (path_str(&schema), t.path().join("dump"));
    let run = |tolerate: &[&str]| {
        let mut args = tolerate.to_vec();
        args.extend(["--site-schema", &schema, "-d", &url]);
        let out = path_str(&out);
        args.push(&out);
        dump2py(args)
    };
    let err = one_line_error(&run(&[]), SECRET);
    assert_eq!(
        err, "error: table app_gone: no such table (model app.Gone)",
        "{err}"
    );
    assert!(!out.exists());
    let o = run(&["-t"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let restore = fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains("'app_gone': 'table app_gone: no such table (model app.Gone)'"),
        "{restore}"
    );
    assert!(
        restore.contains("'app_secret': 'table app_secret: permission denied"),
        "{restore}"
    );
    assert_eq!(
        rows_of(&out, "app_open"),
        vec![vec!["1".to_string(), "'visible'".to_string()]]
    );
}

/// How a [`PrivateServer`] lets clients in over TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    /// A password, with or without TLS.
    Password,
    /// A password, over TLS only.
    Tls,
    /// A client certificate from the server's CA whose CN is the user
    /// (pg_hba's `cert`), over TLS only. The server has the role
    /// [`CLIENT_USER`], and its directory holds that role's certificate
    /// (`client.crt`, `client.key`).
    ClientCert,
}

/// The role of [`Auth::ClientCert`]: the CN `test_cert` gives `client`.
const CLIENT_USER: &str = "dump2py test client";

/// A private server with password authentication (this machine's server
/// trusts everyone, so a wrong password can't fail there): initdb in a
/// temporary directory, stopped on drop. With TLS, it accepts TLS
/// connections only, with a certificate for `localhost` from a CA of its
/// own (`ca`).
struct PrivateServer {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
    /// The CA certificate, with TLS.
    ca: Option<std::path::PathBuf>,
    _dir: tempfile::TempDir,
}

impl PrivateServer {
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.args(args).output().expect("run a PostgreSQL tool")
    }

    fn start(password: &str) -> Option<PrivateServer> {
        PrivateServer::start_with(password, Auth::Password)
    }

    /// The server's directory: its data directory, socket and certificates.
    fn dir(&self) -> &Path {
        self._dir.path()
    }

    /// None (with a skip message, or a failure on CI) when initdb (or, for
    /// TLS, openssl) is missing.
    fn start_with(password: &str, auth: Auth) -> Option<PrivateServer> {
        let tls = auth != Auth::Password;
        if tls && Command::new("openssl").arg("version").output().is_err() {
            skip_unless_ci("no openssl tool to make certificates: TLS not tested");
            return None;
        }
        let bin = fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).max())
            .filter(|b| b.join("initdb").exists());
        let Some(bin) = bin else {
            skip_unless_ci("no initdb under /usr/lib/postgresql: wrong password not tested");
            return None;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        // initdb refuses to run as root: as root, run it as postgres.
        let as_postgres = stdout(&Command::new("id").arg("-u").output().expect("id")).trim() == "0";
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of the server's directory");
        }
        let pwfile = dir.path().join("pw");
        fs::write(&pwfile, password).expect("password file");
        if as_postgres {
            let _ = Command::new("chown").arg("postgres:").arg(&pwfile).status();
        }
        let ca = tls.then(|| {
            test_ca(dir.path(), "ca");
            test_cert(dir.path(), "ca", "server", CertFor::Server("DNS:localhost"));
            if auth == Auth::ClientCert {
                test_cert(dir.path(), "ca", "client", CertFor::Client);
            }
            for f in ["server.crt", "server.key"] {
                let f = dir.path().join(f);
                if as_postgres {
                    let _ = Command::new("chown").arg("postgres:").arg(&f).status();
                }
            }
            dir.path().join("ca.crt")
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = PrivateServer {
            bin,
            data: dir.path().join("data"),
            port,
            as_postgres,
            ca,
            _dir: dir,
        };
        let data = path_str(&server.data);
        let o = server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                "--pwfile",
                &path_str(&pwfile),
            ],
        );
        assert!(o.status.success(), "initdb: {}", stderr(&o));
        let dir = server.data.parent().expect("dir").to_path_buf();
        let mut opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            path_str(&dir)
        );
        if tls {
            // TLS connections only: plain TCP has no pg_hba.conf line. With
            // client certificates, the socket trusts (the test makes its
            // role over it).
            let (local, tcp) = match auth {
                Auth::ClientCert => ("trust", "cert"),
                _ => ("scram-sha-256", "scram-sha-256"),
            };
            fs::write(
                server.data.join("pg_hba.conf"),
                format!(
                    "local all all {local}\n\
                     hostssl all all 127.0.0.1/32 {tcp}\n\
                     hostssl all all ::1/128 {tcp}\n"
                ),
            )
            .expect("pg_hba.conf");
            opts += &format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                path_str(&dir.join("server.crt")),
                path_str(&dir.join("server.key"))
            );
            if auth == Auth::ClientCert {
                // The CA the clients' certificates are checked against.
                opts += &format!(" -c ssl_ca_file={}", path_str(&dir.join("ca.crt")));
            }
        }
        let log = path_str(&server.data.join("log"));
        let o = server.run(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        );
        assert!(
            o.status.success(),
            "pg_ctl start: {}{}",
            stdout(&o),
            stderr(&o)
        );
        if auth == Auth::ClientCert {
            let (dir, port) = (path_str(&dir), port.to_string());
            let sql = format!("CREATE ROLE \"{CLIENT_USER}\" LOGIN");
            let o = server.run(
                "psql",
                &[
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-h",
                    &dir,
                    "-p",
                    &port,
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-c",
                    &sql,
                ],
            );
            assert!(o.status.success(), "psql: {}", stderr(&o));
        }
        Some(server)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let data = path_str(&self.data);
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
    }
}

#[test]
fn wrong_password_is_refused_clearly() {
    let Some(server) = PrivateServer::start("the-right-one") else {
        return;
    };
    let t = tempfile::tempdir().expect("tempdir");
    let out = path_str(&t.path().join("dump"));
    let url = format!(
        "postgres://postgres:{SECRET}@127.0.0.1:{}/postgres",
        server.port
    );
    let err = one_line_error(&dump2py(["-d", &url, &out]), SECRET);
    assert!(
        err.contains(&format!(
            "PostgreSQL at 127.0.0.1:{} refused the password of user \"postgres\"",
            server.port
        )),
        "{err}"
    );
    // No password at all.
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);
    let o = Command::new(bin())
        .args(["-d", &url, &out])
        .env_remove("DATABASE_URL")
        .env_remove("PGPASSWORD")
        .output()
        .expect("dump2py");
    let err = one_line_error(&o, SECRET);
    assert!(
        err.contains("asks user \"postgres\" for a password"),
        "{err}"
    );
    // The right one works.
    let url = format!(
        "postgres://postgres:the-right-one@127.0.0.1:{}/postgres",
        server.port
    );
    let o = dump_ok(["-d", &url, &out, "-v", "2"]);
    assert!(!stderr(&o).contains("the-right-one"));
    assert!(!fs::read_to_string(Path::new(&out).join("restore.py"))
        .expect("restore.py")
        .contains("the-right-one"));
}

#[test]
fn tls_modes_as_libpq() {
    let Some(server) = PrivateServer::start_with(SECRET, Auth::Tls) else {
        return;
    };
    let ca = path_str(server.ca.as_deref().expect("a CA"));
    let port = server.port;
    let t = tempfile::tempdir().expect("tempdir");
    let out = |name: &str| path_str(&t.path().join(name));
    let url = |host: &str, params: &str| {
        format!("postgres://postgres:{SECRET}@{host}:{port}/postgres?{params}")
    };
    // No TLS: the server has no line for it.
    let err = one_line_error(
        &dump2py(["-d", &url(HOST, "sslmode=disable"), &out("plain")]),
        SECRET,
    );
    assert!(
        err.contains(&format!(
            "PostgreSQL at {HOST}:{port} refused user \"postgres\""
        )) && err.contains("no pg_hba.conf entry")
            && err.contains("no encryption"),
        "{err}"
    );
    // TLS whenever offered, the certificate unchecked (also by the default
    // mode, prefer).
    for params in ["sslmode=require", "sslmode=prefer", "sslmode=allow", ""] {
        let dir = out(&unique("tls"));
        dump_hiding(&url(HOST, params), Path::new(&dir), SECRET);
    }
    // The chain and the host name checked.
    let full = format!("sslmode=verify-full&sslrootcert={ca}");
    dump_hiding(&url("localhost", &full), Path::new(&out("full")), SECRET);
    // require with a root certificate is verify-ca: the name is not checked.
    for mode in ["require", "verify-ca"] {
        let dir = out(&unique(mode));
        let params = format!("sslmode={mode}&sslrootcert={ca}");
        dump_hiding(&url(HOST, &params), Path::new(&dir), SECRET);
    }
    // The certificate names localhost, not 127.0.0.1.
    let err = one_line_error(&dump2py(["-d", &url(HOST, &full), &out("name")]), SECRET);
    assert!(
        err.contains(&format!("can't connect to PostgreSQL at {HOST}:{port}"))
            && err.contains("TLS")
            && err.contains("not valid for name \"127.0.0.1\""),
        "{err}"
    );
    // A CA that did not issue the server's certificate, and the system's
    // roots (which know nothing of the test's CA).
    test_ca(t.path(), "other");
    let other = path_str(&t.path().join("other.crt"));
    for params in [
        format!("sslmode=verify-ca&sslrootcert={other}"),
        format!("sslmode=verify-full&sslrootcert={other}"),
        format!("sslmode=require&sslrootcert={other}"),
        "sslmode=verify-ca".to_string(),
    ] {
        let err = one_line_error(
            &dump2py(["-d", &url("localhost", &params), &out("untrusted")]),
            SECRET,
        );
        assert!(
            err.contains(&format!("PostgreSQL at localhost:{port}"))
                && (err.contains("UnknownIssuer") || err.contains("needs trusted root")),
            "{params}: {err}"
        );
    }
    // Roots that can't be used.
    let not_pem = t.path().join("not.pem");
    fs::write(&not_pem, "no certificate here\n").expect("not.pem");
    for (root, why) in [
        (
            path_str(&t.path().join("missing.pem")),
            "can't read sslrootcert",
        ),
        (path_str(&not_pem), "holds no usable CA certificate"),
    ] {
        let params = format!("sslmode=verify-ca&sslrootcert={root}");
        let err = one_line_error(&dump2py(["-d", &url(HOST, &params), &out("bad")]), SECRET);
        assert!(
            err.contains(&format!("PostgreSQL at {HOST}:{port}: "))
                && err.contains(&root)
                && err.contains(why),
            "{err}"
        );
    }
    assert!(!Path::new(&out("untrusted")).exists());
}

/// PostgreSQL's own recipe for a self-signed server certificate
/// (`openssl req -new -x509 -nodes -subj /CN=…`) makes a CA certificate;
/// given as sslrootcert itself, libpq takes it under verify-ca, and so does
/// dump2py. Another self-signed certificate is still refused.
#[test]
fn a_self_signed_server_certificate_given_as_its_root_passes_verify_ca() {
    let Some(server) = PrivateServer::start_with(SECRET, Auth::Tls) else {
        return;
    };
    let t = tempfile::tempdir().expect("tempdir");
    let selfsigned = |name: &str| {
        let o = Command::new("openssl")
            .current_dir(t.path())
            .args(["req", "-new", "-x509", "-days", "2", "-nodes", "-text"])
            .args([
                "-out",
                &format!("{name}.crt"),
                "-keyout",
                &format!("{name}.key"),
            ])
            .args(["-subj", "/CN=localhost"])
            .output()
            .expect("openssl");
        assert!(o.status.success(), "openssl: {}", stderr(&o));
    };
    selfsigned("self");
    selfsigned("stranger");
    // The server's certificate replaced by it (same files), and reloaded.
    for f in ["crt", "key"] {
        let bytes = fs::read(t.path().join(format!("self.{f}"))).expect("read");
        fs::write(server.dir().join(format!("server.{f}")), bytes).expect("write");
    }
    let data = path_str(&server.data);
    let o = server.run("pg_ctl", &["-D", &data, "reload"]);
    assert!(o.status.success(), "pg_ctl reload: {}", stderr(&o));
    std::thread::sleep(Duration::from_secs(1));
    let url = |root: &str| {
        format!(
            "postgres://postgres:{SECRET}@{HOST}:{}/postgres?sslmode=verify-ca&sslrootcert={}",
            server.port,
            path_str(&t.path().join(root))
        )
    };
    let out = t.path().join("dump");
    dump_hiding(&url("self.crt"), &out, SECRET);
    let err = one_line_error(
        &dump2py(["-d", &url("stranger.crt"), &path_str(&t.path().join("no"))]),
        SECRET,
    );
    assert!(
        err.contains("TLS") && err.contains("CaUsedAsEndEntity"),
        "{err}"
    );
}

#[test]
fn client_certificates_as_libpq() {
    let Some(server) = PrivateServer::start_with(SECRET, Auth::ClientCert) else {
        return;
    };
    let file = |name: &str| path_str(&server.dir().join(name));
    let (ca, cert, key) = (file("ca.crt"), file("client.crt"), file("client.key"));
    let port = server.port;
    let t = tempfile::tempdir().expect("tempdir");
    let mine = |name: &str| path_str(&t.path().join(name));
    let out = |name: &str| mine(&unique(name));
    // The certificate is the proof: the password is not asked for, but
    // must not be shown either.
    let user = CLIENT_USER.replace(' ', "%20");
    let url =
        |params: &str| format!("postgres://{user}:{SECRET}@localhost:{port}/postgres?{params}");
    let with = |cert: &str, key: &str| format!("sslcert={cert}&sslkey={key}");
    let fails =
        |params: &str| one_line_error(&dump2py(["-d", &url(params), &mine("refused")]), SECRET);
    // A URL that can't be right: a bad command line, exit status 2.
    let bad_url = |params: &str| {
        let o = dump2py(["-d", &url(params), &mine("refused")]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_no_secret(&o, SECRET);
        stderr(&o)
    };

    // The certificate with its key as PKCS#8 (openssl's), SEC1 and, for an
    // RSA certificate, PKCS#1; the server checked or not. The RSA one is
    // made by PostgreSQL's recipe (x509 -req without extensions): X.509 v1
    // with openssl 3.0, which webpki can't read, but the server takes.
    openssl_in(t.path(), &["ec", "-in", &key, "-out", "sec1.key"]);
    let csr = [
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa8.key", "-out", "rsa.csr",
        "-subj",
    ];
    openssl_in(
        t.path(),
        &[&csr[..], &[&format!("/CN={CLIENT_USER}")]].concat(),
    );
    let ca_key = file("ca.key");
    openssl_in(
        t.path(),
        &[
            "x509", "-req", "-in", "rsa.csr", "-CA", &ca, "-CAkey", &ca_key, "-out", "rsa.crt",
            "-days", "2",
        ],
    );
    let rsa1 = ["rsa", "-in", "rsa8.key", "-traditional", "-out", "rsa1.key"];
    openssl_in(t.path(), &rsa1);
    for (label, key) in [
        ("-----BEGIN PRIVATE KEY-----", key.clone()),
        ("-----BEGIN EC PRIVATE KEY-----", mine("sec1.key")),
    ] {
        let text = fs::read_to_string(&key).expect("key");
        assert!(text.starts_with(label), "{key}: {text:.40}");
        for mode in [
            format!("sslmode=verify-full&sslrootcert={ca}"),
            String::new(),
        ] {
            let params = format!("{mode}&{}", with(&cert, &key));
            dump_hiding(&url(&params), Path::new(&out("ok")), SECRET);
        }
    }
    let text = fs::read_to_string(mine("rsa1.key")).expect("key");
    assert!(
        text.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{text:.40}"
    );
    let params = with(&mine("rsa.crt"), &mine("rsa1.key"));
    dump_hiding(&url(&params), Path::new(&out("rsa")), SECRET);

    // No certificate: the server says what it wants.
    for params in ["sslmode=require", ""] {
        let err = fails(params);
        assert!(
            err.contains(&format!(
                "PostgreSQL at localhost:{port} refused user \"{CLIENT_USER}\""
            )) && err.contains("requires a valid client certificate"),
            "{err}"
        );
    }
    // A certificate for another user, from the server's CA.
    test_cert(server.dir(), "ca", "intruder", CertFor::Client);
    let err = fails(&with(&file("intruder.crt"), &file("intruder.key")));
    assert!(
        err.contains(&format!("refused user \"{CLIENT_USER}\""))
            && err.contains("certificate authentication failed"),
        "{err}"
    );
    // A certificate for the user from a CA the server doesn't know.
    test_ca(t.path(), "other");
    test_cert(t.path(), "other", "client", CertFor::Client);
    let (stranger, stranger_key) = (mine("client.crt"), mine("client.key"));
    let err = fails(&with(&stranger, &stranger_key));
    assert!(
        err.contains(&format!("can't connect to PostgreSQL at localhost:{port}"))
            && err.contains("UnknownCA")
            && err.contains("the server refused the client certificate of sslcert"),
        "{err}"
    );
    // The key of another certificate.
    let err = fails(&with(&cert, &stranger_key));
    assert!(
        err.contains(&format!(
            "PostgreSQL at localhost:{port}: sslkey {stranger_key} is not the private key \
             of the certificate in sslcert {cert}"
        )),
        "{err}"
    );
    // A v1 certificate's key can't be matched before: the server finds out.
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in", &mine("rsa.crt")])
        .output()
        .expect("openssl");
    let v1 = stdout(&text).contains("Version: 1 ");
    let err = fails(&with(&mine("rsa.crt"), &key));
    let why = if v1 {
        "the server refused the client certificate of sslcert, or its sslkey"
    } else {
        "is not the private key of the certificate in sslcert"
    };
    assert!(
        err.contains(&format!("PostgreSQL at localhost:{port}")) && err.contains(why),
        "{err}"
    );
    // One without the other (libpq's ~/.postgresql is not looked at).
    let err = bad_url(&format!("sslcert={cert}"));
    assert!(err.contains("sslcert needs sslkey=FILE"), "{err}");
    let err = bad_url(&format!("sslkey={key}"));
    assert!(err.contains("sslkey needs sslcert=FILE"), "{err}");
    // Files that are missing, or not what they should be.
    for (params, why) in [
        (
            with(&mine("none.crt"), &key),
            format!("can't read sslcert {}", mine("none.crt")),
        ),
        (
            with(&cert, &mine("none.key")),
            format!("can't read sslkey {}", mine("none.key")),
        ),
        (
            with(&key, &key),
            format!("sslcert {key} holds no PEM certificate"),
        ),
        (
            with(&cert, &cert),
            format!("sslkey {cert} holds no PEM private key"),
        ),
    ] {
        let err = fails(&params);
        assert!(
            err.contains(&format!("PostgreSQL at localhost:{port}: {why}")),
            "{err}"
        );
    }
    // Encrypted keys, new style and old, and a passphrase.
    let pass = format!("pass:{SECRET}");
    openssl_in(
        t.path(),
        &[
            "pkey", "-in", &key, "-aes256", "-passout", &pass, "-out", "enc8.key",
        ],
    );
    openssl_in(
        t.path(),
        &[
            "ec", "-in", &key, "-aes256", "-passout", &pass, "-out", "enc1.key",
        ],
    );
    for enc in [mine("enc8.key"), mine("enc1.key")] {
        let err = fails(&with(&cert, &enc));
        assert!(
            err.contains(&format!(
                "sslkey {enc} is encrypted: encrypted keys are not supported"
            )),
            "{err}"
        );
    }
    let err = bad_url(&format!(
        "{}&sslpassword={SECRET}",
        with(&cert, &mine("enc8.key"))
    ));
    assert!(err.contains("encrypted keys are not supported"), "{err}");
    assert!(!Path::new(&mine("refused")).exists());
}
