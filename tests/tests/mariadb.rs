//! The MariaDB/MySQL source against the server at 127.0.0.1:3306 (user
//! root, no password): dumps identical to SQLite's, the type table, one
//! snapshot for the whole dump, and bad input.
//!
//! Each test makes its own database and drops it at the end, even on a
//! panic. Without a server the tests say so on stderr and pass, but fail
//! when CI=true (tests/src/servers.rs).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dump2py_tests::{
    backend_checks::{generated_columns_dumped, ALL_BYTES_B64, SCALAR_COLUMNS, SCALAR_ROWS},
    certs::{have_openssl, test_ca, test_cert, CertFor},
    compare::{assert_same, describes_source, read_dump, without_source, Cross, Dump, SOURCE_LINE},
    data_file::{assert_rows, row_args, rows_of},
    lino::{lino, AWKWARD, MIN1},
    need_server,
    passwords::{dump_hiding, dump_tolerating, fails_within, one_line_error},
    path_str,
    private_mariadb::PrivateMariaDb,
    run::{dump2py, dump_ok, spawn_dump2py, stderr, stdout, wait_for},
    servers::{Backend, TestDb, HOST, SECRET},
    skip, unique,
};

const MARIA: Backend = Backend::MariaDb;
const PORT: &str = MARIA.port();

// ---------------------------------------------------------------------
// 1. Identical across backends.

/// The one restore.py line that names the source.
fn header_line(restore: &[u8]) -> String {
    String::from_utf8_lossy(restore)
        .lines()
        .find(|l| l.starts_with(SOURCE_LINE))
        .unwrap_or_default()
        .to_string()
}

fn without_header(restore: &[u8]) -> String {
    String::from_utf8_lossy(restore)
        .lines()
        .filter(|l| !describes_source(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A decimal's value with trailing fraction zeros dropped: `12.5000` → `12.5`.
fn decimal_value(s: &str) -> Option<String> {
    let t = s.strip_prefix('\'')?.strip_suffix('\'')?;
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let ok = !int.is_empty()
        && int
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    let frac = frac.trim_end_matches('0');
    ok.then(|| {
        if frac.is_empty() {
            int.to_string()
        } else {
            format!("{int}.{frac}")
        }
    })
}

/// The kinds of difference between a dump from SQLite and one from
/// MariaDB of the same data; panics on any other difference.
fn kinds_of_difference(sqlite: &Dump, maria: &Dump) -> BTreeSet<&'static str> {
    let mut kinds = BTreeSet::new();
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        maria.keys().collect::<Vec<_>>(),
        "data files"
    );
    for (file, a) in sqlite {
        let b = &maria[file];
        if a == b {
            continue;
        }
        if file == "restore.py" {
            assert_eq!(without_header(a), without_header(b), "restore.py");
            kinds.insert("source line");
            continue;
        }
        let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
        let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
        assert_eq!(la.len(), lb.len(), "{file}: lines");
        for (x, y) in la.iter().zip(&lb) {
            if x == y {
                continue;
            }
            let (Some(ax), Some(ay)) = (row_args(x), row_args(y)) else {
                panic!("{file}: non-row lines differ:\n{x}\n{y}");
            };
            assert_eq!(ax.len(), ay.len(), "{file}: {x}\n{y}");
            for (p, q) in ax.iter().zip(&ay) {
                if p == q {
                    continue;
                }
                if decimal_value(p).is_some() && decimal_value(p) == decimal_value(q) {
                    // SQLite keeps a decimal as REAL; MariaDB keeps the scale.
                    kinds.insert("decimal scale");
                } else if q.len() == 38 && &q.replace('-', "") == p {
                    // MariaDB's uuid type; SQLite's char(32).
                    kinds.insert("uuid hyphens");
                } else {
                    panic!("{file}: value {p} from SQLite is {q} from MariaDB\n{x}\n{y}");
                }
            }
        }
    }
    kinds
}

fn identical_across_backends(settings: &str, tag: &str, expected: &[&str]) {
    let Some(c) = Cross::new(MARIA, settings, tag) else {
        return;
    };
    // With site metadata: byte-identical but for the line naming the source.
    let (a, b) = (read_dump(&c.sqlite_meta), read_dump(&c.server_meta));
    assert_eq!(
        header_line(&b["restore.py"]),
        format!(
            "# This is a Python dump of {}, written by dump2py {}.",
            c.db.url,
            env!("CARGO_PKG_VERSION")
        )
    );
    let (a, b) = (without_source(a, "sqlite:"), without_source(b, &c.db.url));
    assert_same(&a, &b, "with site metadata, SQLite and MariaDB");

    // Without metadata: only the differences the README lists.
    let kinds = kinds_of_difference(&read_dump(&c.sqlite_plain), &read_dump(&c.server_plain));
    assert_eq!(kinds, expected.iter().copied().collect::<BTreeSet<_>>());

    // And the MariaDB dump without metadata restores the same rows.
    let lino = lino();
    lino.restore(settings, &c.sqlite, &c.server_plain);
    let again = c.dir.path().join("again");
    lino.ours_ok(settings, &c.sqlite, &[], &[&path_str(&again)]);
    assert_eq!(read_dump(&c.sqlite_meta), read_dump(&again));
}

#[test]
fn min1_identical_across_backends() {
    identical_across_backends(MIN1, "min1", &["source line"]);
}

#[test]
fn awkward_identical_across_backends() {
    identical_across_backends(
        AWKWARD,
        "awkward",
        &["source line", "decimal scale", "uuid hyphens"],
    );
}

// ---------------------------------------------------------------------
// 2. The type table.

/// Django's own tables on MariaDB (the awkward site's things_scalar, as
/// its demo fixture writes them), with and without site metadata.
#[test]
fn django_types_on_mariadb() {
    need_server!(MARIA);
    let t = tempfile::tempdir().expect("tempdir");
    let db = TestDb::new(MARIA, "djtypes");
    let site_files = t.path().join("site.sqlite3");
    db.admin_ok(AWKWARD, &site_files, &["prep", "--noinput", "-v0"]);
    // What Django declared: these decide the kinds.
    let declared = db.sql(
        "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'things_scalar' ORDER BY ORDINAL_POSITION",
    );
    for expected in [
        "dec\tdecimal(12,4)",
        "flt\tdouble",
        "flag\ttinyint(1)",
        "moment\tdatetime(6)",
        "clock\ttime(6)",
        "blob\tlongblob",
        "uid\tuuid",
        "dur\tbigint(20)",
        "pos\tint(10) unsigned",
    ] {
        assert!(
            declared.lines().any(|l| l == expected),
            "{expected}: {declared}"
        );
    }

    let meta = t.path().join("meta");
    db.ours_ok(AWKWARD, &site_files, &meta);
    let plain = t.path().join("plain");
    dump_ok(["-v0", "-d", &db.url, &path_str(&plain)]);
    // Lino's text for each value (decimal places, duration string, hyphenated UUID,
    // None for an empty choice), as on PostgreSQL.
    assert_rows(&meta, "things_scalar", SCALAR_COLUMNS, SCALAR_ROWS);
    // Without metadata: the database's own text (the duration's microseconds,
    // the choice's stored value); the rest as with metadata.
    let column = |name: &str| SCALAR_COLUMNS.iter().position(|c| *c == name);
    let (dur, color) = (column("dur").expect("dur"), column("color").expect("color"));
    let own = [
        ("93603000004", "'r'"),
        ("-1", "'b'"),
        ("0", "''"),
        ("None", "''"),
        ("None", "''"),
    ];
    let plain_rows: Vec<Vec<&str>> = SCALAR_ROWS
        .iter()
        .zip(own)
        .map(|(row, (d, c))| {
            let mut row = row.to_vec();
            (row[dur], row[color]) = (d, c);
            row
        })
        .collect();
    assert_rows(&plain, "things_scalar", SCALAR_COLUMNS, &plain_rows);
    // MariaDB's JSON is longtext with a check: the text as Django wrote it, 2**64 exact.
    for dump in [&meta, &plain] {
        let docs = rows_of(dump, "things_jsondoc");
        let big = docs.iter().find(|r| r[0] == "13").expect("row 13");
        assert!(
            big[1].contains("'huge': 18446744073709551616"),
            "{}",
            big[1]
        );
        assert!(
            big[1].contains("'big': 1.7976931348623157e+308"),
            "{}",
            big[1]
        );
        let firsts: Vec<&str> = docs.iter().take(5).map(|r| r[1].as_str()).collect();
        assert_eq!(firsts, ["1.5", "1e-05", "0.1", "1e+16", "-2.5e-300"]);
    }
    // The duration column is restored through duration_or_int without metadata.
    let restore = std::fs::read_to_string(plain.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains("dur = duration_or_int('things_scalar', 'dur', dur)"),
        "{restore}"
    );
}

const ALL_TYPES: &str = "CREATE TABLE types_all (
  id int NOT NULL PRIMARY KEY,
  b tinyint(1) NULL, ti tinyint NULL, si smallint NULL, mi mediumint NULL, i int NULL,
  bi bigint NULL, ui int unsigned NULL, ubi bigint unsigned NULL,
  dc decimal(65,30) NULL, f float NULL, d double NULL,
  c char(10) NULL, vc varchar(100) NULL, tx text NULL, lt longtext NULL,
  bn binary(4) NULL, vb varbinary(10) NULL, bl blob NULL, lb longblob NULL,
  dt date NULL, tm time(6) NULL, dtm datetime(6) NULL, ts timestamp(6) NULL,
  j json NULL, u uuid NULL, e enum('a','b') NULL, st set('x','y') NULL, y year NULL)";

const ALL_TYPES_COLUMNS: &[&str] = &[
    "id", "b", "ti", "si", "mi", "i", "bi", "ui", "ubi", "dc", "f", "d", "c", "vc", "tx", "lt",
    "bn", "vb", "bl", "lb", "dt", "tm", "dtm", "ts", "j", "u", "e", "st", "y",
];

/// A hand-made table with every type the source reads, at its edges.
#[test]
fn every_type_at_its_edges() {
    need_server!(MARIA);
    let db = TestDb::new(MARIA, "types");
    let all_bytes: String = (0..=255u8).map(|b| format!("{b:02x}")).collect();
    let max_dec = format!("{}.{}", "9".repeat(35), "9".repeat(30));
    db.sql(ALL_TYPES);
    db.sql(&format!(
        "SET time_zone = '+00:00'; INSERT INTO types_all VALUES
 (1, 0, -128, -32768, -8388608, -2147483648, -9223372036854775808, 0, 0,
  '-{max_dec}', 0.1, 0.1,
  'abc', 'it''s \"q\" \\\\ back', 'line1\\nline2\\r\\ttab', '😀 Zürich 日本',
  'ab', '', '', x'{all_bytes}',
  '0001-01-01', '00:00:00.000001', '0001-01-01 00:00:00', '1970-01-01 00:00:01',
  '{{\"a\": [1, 2.5, {{\"b\": null}}], \"c\": \"é\", \"big\": 18446744073709551616}}',
  '00000000-0000-0000-0000-000000000000', 'a', '', 1901),
 (2, 1, 127, 32767, 8388607, 2147483647, 9223372036854775807, 4294967295, 18446744073709551615,
  '{max_dec}', 1.2345678, 1.7976931348623157e308,
  '', '', '', '', x'00ff', x'00', x'ff', x'',
  '9999-12-31', '23:59:59.999999', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
  '[]', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'b', 'x,y', 2155),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 1, 0, 0, 0, 0, 0, 0, 9223372036854775808, '0.000000000000000000000000000001', 16777217,
  5e-324, 'x', 'y', 'z', 'w', x'', x'', x'', x'',
  '2024-02-29', '12:00:00', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15',
  '\"s\"', '12345678-1234-5678-1234-567812345678', NULL, 'y', 0)"
    ));
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    dump_ok(["-v0", "-d", &db.url, &path_str(&out)]);
    let neg_dec = format!("'-{max_dec}'");
    let pos_dec = format!("'{max_dec}'");
    assert_rows(
        &out,
        "types_all",
        ALL_TYPES_COLUMNS,
        &[
            &[
                "1",
                "False",
                "-128",
                "-32768",
                "-8388608",
                "-2147483648",
                "-9223372036854775808",
                "0",
                "0",
                &neg_dec,
                // FLOAT comes as MariaDB prints it (6 digits), which is what Django reads.
                "'0.1'",
                "'0.1'",
                "'abc'",
                r#"'it\'s "q" \\ back'"#,
                r"'line1\nline2\r\ttab'",
                "'😀 Zürich 日本'",
                // binary(4) pads with zero bytes.
                "'YWIAAA=='",
                "''",
                "''",
                ALL_BYTES_B64,
                "date(1,1,1)",
                "time(0,0,0,1)",
                "dt(1,1,1,0,0,0)",
                "dt(1970,1,1,0,0,1)",
                "{'a': [1, 2.5, {'b': None}], 'c': 'é', 'big': 18446744073709551616}",
                "'00000000-0000-0000-0000-000000000000'",
                "'a'",
                "''",
                "1901",
            ],
            &[
                "2",
                "True",
                "127",
                "32767",
                "8388607",
                "2147483647",
                "9223372036854775807",
                "4294967295",
                "18446744073709551615",
                &pos_dec,
                "'1.23457'",
                "'1.7976931348623157e+308'",
                "''",
                "''",
                "''",
                "''",
                "'AP8AAA=='",
                "'AA=='",
                "'/w=='",
                "''",
                "date(9999,12,31)",
                "time(23,59,59,999999)",
                "dt(9999,12,31,23,59,59,999999)",
                "dt(2038,1,19,3,14,7,999999)",
                "[]",
                "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
                "'b'",
                "'x,y'",
                "2155",
            ],
            &[
                "3", "None", "None", "None", "None", "None", "None", "None", "None", "None",
                "None", "None", "None", "None", "None", "None", "None", "None", "None", "None",
                "None", "None", "None", "None", "None", "None", "None", "None", "None",
            ],
            &[
                "4",
                "True",
                "0",
                "0",
                "0",
                "0",
                "0",
                "0",
                "9223372036854775808",
                "'0.000000000000000000000000000001'",
                "'16777200.0'",
                "'5e-324'",
                "'x'",
                "'y'",
                "'z'",
                "'w'",
                "'AAAAAA=='",
                "''",
                "''",
                "''",
                "date(2024,2,29)",
                "time(12,0,0)",
                "dt(2024,2,29,13,14,15,123456)",
                "dt(2024,2,29,13,14,15)",
                "'s'",
                "'12345678-1234-5678-1234-567812345678'",
                "None",
                "'y'",
                "0",
            ],
        ],
    );
}

/// Types without a Python value, and values their column's type can't
/// hold: one line naming table, column (and primary key); `-t` skips them.
#[test]
fn unsupported_types_and_bad_values() {
    need_server!(MARIA);
    let db = TestDb::new(MARIA, "badval");
    db.sql(
        "CREATE TABLE app_good (id int PRIMARY KEY, name varchar(10));
         INSERT INTO app_good VALUES (1, 'fine');
         CREATE TABLE app_geo (id int PRIMARY KEY, place point NULL);
         CREATE TABLE app_bits (id int PRIMARY KEY, flags bit(8) NULL);
         CREATE TABLE app_span (code varchar(5) PRIMARY KEY, took time);
         INSERT INTO app_span VALUES ('a', '23:00:00'), ('b''x', '-01:00:00');
         CREATE TABLE app_long (id int PRIMARY KEY, took time);
         INSERT INTO app_long VALUES (1, '838:59:59');
         CREATE TABLE app_zero (id int PRIMARY KEY, at datetime);
         INSERT INTO app_zero VALUES (3, '0000-00-00 00:00:00');",
    );
    let t = tempfile::tempdir().expect("tempdir");
    let url = &db.url;
    let cases = [
        ("app_geo", "table app_geo: unsupported type point in app_geo.place"),
        ("app_bits", "table app_bits: unsupported type bit(8) in app_bits.flags"),
        (
            "app_span",
            "table app_span, column took, primary key 'b'x': declared time but holds \"-01:00:00\", not a time of day",
        ),
        (
            "app_long",
            "table app_long, column took, primary key 1: declared time but holds \"838:59:59\", not a time of day",
        ),
        (
            "app_zero",
            "table app_zero, column at, primary key 3: declared datetime but holds \"0000-00-00 00:00:00\", not a datetime",
        ),
    ];
    // Without -t the first bad table stops the dump; find each by dropping the others.
    let out = dump2py(["-v0", "-d", url, &path_str(&t.path().join("x"))]);
    let err = one_line_error(&out, SECRET);
    assert!(cases.iter().any(|(_, msg)| err.contains(msg)), "{err}");
    let dump = t.path().join("tolerated");
    let err = dump_tolerating(url, &dump, SECRET);
    for (table, msg) in cases {
        let line = format!("warning: tolerated: {msg}");
        assert!(err.lines().any(|l| l.starts_with(&line)), "{table}: {err}");
        assert!(!dump.join(format!("{table}.py")).exists());
    }
    assert!(dump.join("app_good.py").exists());
    let restore = std::fs::read_to_string(dump.join("restore.py")).expect("restore.py");
    assert!(restore.contains("'app_geo': 'table app_geo: unsupported type point"));
}

/// A tinyint(1) holding another integer than 0 or 1 is that integer, as
/// Django's converter keeps it (once an error "not a boolean 0 or 1").
#[test]
fn a_boolean_column_holding_2_is_the_integer() {
    need_server!(MARIA);
    let db = TestDb::new(MARIA, "flag");
    db.sql(
        "CREATE TABLE app_flag (id int PRIMARY KEY, on_ tinyint(1));
         INSERT INTO app_flag VALUES (1, 1), (2, 0), (7, 2), (8, -128), (9, NULL);",
    );
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    dump_ok(["-v0", "-d", &db.url, &path_str(&out)]);
    assert_eq!(
        rows_of(&out, "app_flag"),
        [
            ["1", "True"],
            ["2", "False"],
            ["7", "2"],
            ["8", "-128"],
            ["9", "None"]
        ]
    );
}

#[test]
fn generated_columns_are_dumped_never_restored() {
    need_server!(MARIA);
    generated_columns_dumped(&TestDb::new(MARIA, "gen"));
}

// ---------------------------------------------------------------------
// 3. One snapshot.

/// The dump's statement on `table`, from the server's process list.
fn dump_reading(db: &TestDb, table: &str) -> bool {
    let sql = format!(
        "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = '{}' \
         AND INFO LIKE 'SELECT % FROM `{table}` ORDER BY %'",
        db.name
    );
    MARIA.sql(None, &sql).trim() != "0"
}

/// Rows committed after the dump started (while it is in the middle of
/// table snap_a, before it reads snap_b) are not in the dump.
///
/// Deterministic: snap_a is large (40 MB), so the server is still sending
/// it while dump2py is stopped with SIGSTOP; the process list then proves
/// that the dump is inside snap_a's SELECT, and has not sent snap_b's,
/// when the other connection commits its changes to both tables.
#[test]
fn the_dump_reads_one_snapshot() {
    need_server!(MARIA);
    let db = TestDb::new(MARIA, "snap");
    db.sql(
        "CREATE TABLE snap_a (id int PRIMARY KEY, pad varchar(200) NOT NULL);
         INSERT INTO snap_a SELECT seq, repeat('x', 200) FROM seq_1_to_200000;
         CREATE TABLE snap_b (id int PRIMARY KEY, v varchar(20) NOT NULL);
         INSERT INTO snap_b VALUES (1, 'one'), (2, 'two'), (3, 'three');",
    );
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    let child = spawn_dump2py(&["-v0", "-m", "1000000", "-d", &db.url, &path_str(&out)]);
    let pid = child.id().to_string();
    let signal = |sig: &str| {
        let ok = Command::new("kill").args([sig, &pid]).status();
        assert!(ok.is_ok_and(|s| s.success()), "kill {sig}");
    };
    wait_for("the dump to read snap_a", Duration::from_millis(2), || {
        dump_reading(&db, "snap_a")
    });
    signal("-STOP");
    let still_in_a = dump_reading(&db, "snap_a");
    if still_in_a {
        db.sql(
            "INSERT INTO snap_b VALUES (4, 'new');
             UPDATE snap_b SET v = 'changed' WHERE id = 1;
             DELETE FROM snap_b WHERE id = 2;
             UPDATE snap_a SET pad = 'changed' WHERE id = 200000;
             DELETE FROM snap_a WHERE id = 199999;
             INSERT INTO snap_a VALUES (200001, 'new');",
        );
    }
    signal("-CONT");
    let result = child.wait_with_output().expect("dump2py");
    assert!(
        still_in_a,
        "the dump got past snap_a before it could be stopped: make snap_a bigger"
    );
    assert!(result.status.success(), "{}", stderr(&result));
    // The changes are committed, and the dump has none of them.
    assert_eq!(
        db.sql("SELECT v FROM snap_b ORDER BY id"),
        "changed\nthree\nnew\n"
    );
    let b = rows_of(&out, "snap_b");
    assert_eq!(
        b,
        [["1", "'one'"], ["2", "'two'"], ["3", "'three'"]]
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    );
    let a = rows_of(&out, "snap_a");
    assert_eq!(a.len(), 200_000);
    let pad = format!("'{}'", "x".repeat(200));
    assert_eq!(a[199_998], ["199999".to_string(), pad.clone()]);
    assert_eq!(a[199_999], ["200000".to_string(), pad]);
}

// ---------------------------------------------------------------------
// 4. Bad input: one line each, never a password.

#[test]
fn unreachable_server_fails_fast() {
    // No server needed: nothing listens on port 1.
    let url = "mysql://u:Pw-unreach@127.0.0.1:1/x";
    let err = fails_within(Duration::from_secs(10), "Pw-unreach", &["-s", "-d", url]);
    assert!(
        err.starts_with("error: can't connect to MariaDB/MySQL at 127.0.0.1:1: "),
        "{err}"
    );

    // A server that accepts but never greets: the wait is bounded.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = silent.local_addr().expect("addr").port();
    let url = format!("mysql://u:Pw-silent@127.0.0.1:{port}/x?connect_timeout=1");
    let err = fails_within(Duration::from_secs(5), "Pw-silent", &["-s", "-d", &url]);
    assert_eq!(
        err,
        format!("error: can't connect to MariaDB/MySQL at 127.0.0.1:{port}: no answer within 1 s")
    );
    drop(silent);
}

#[test]
fn login_and_privilege_errors() {
    need_server!(MARIA);
    let mut db = TestDb::new(MARIA, "login");
    let secret = "Pw-5ecret-!x";
    let user = db.user("d2p", Some(secret));
    db.sql(&format!(
        "CREATE TABLE app_open (id int PRIMARY KEY, name varchar(10));
         INSERT INTO app_open VALUES (1, 'visible');
         CREATE TABLE app_secret (id int PRIMARY KEY, name varchar(10));
         INSERT INTO app_secret VALUES (1, 'hidden');
         GRANT SELECT ON `{0}`.app_open TO '{user}'@'{HOST}';
         GRANT INSERT ON `{0}`.app_secret TO '{user}'@'{HOST}';",
        db.name
    ));
    let at = |password: &str, database: &str| MARIA.url_as(&user, Some(password), database);

    let out = dump2py(["-s", "-d", &at("Pw-wrong-!y", &db.name)]);
    let err = one_line_error(&out, "Pw-wrong-!y");
    assert_eq!(
        err,
        format!(
            "error: MariaDB/MySQL at {HOST}:{PORT} denied access to user '{user}' \
             (with a password): wrong password or no such user"
        )
    );

    let out = dump2py(["-s", "-d", &at(secret, "no_such_db_here")]);
    let err = one_line_error(&out, secret);
    assert!(
        err == format!("error: database 'no_such_db_here' does not exist on MariaDB/MySQL at {HOST}:{PORT}")
            // MariaDB tells a user without rights on it no more than that.
            || err == format!("error: user '{user}' may not use database 'no_such_db_here' on MariaDB/MySQL at {HOST}:{PORT}"),
        "{err}"
    );
    let out = dump2py(["-s", "-d", &MARIA.url("no_such_db_here")]);
    assert_eq!(
        one_line_error(&out, secret),
        format!(
            "error: database 'no_such_db_here' does not exist on MariaDB/MySQL at {HOST}:{PORT}"
        )
    );

    // A table the user may not read: it stops the dump, or -t skips it.
    let t = tempfile::tempdir().expect("tempdir");
    let url = at(secret, &db.name);
    let out = dump2py(["-d", &url, &path_str(&t.path().join("a"))]);
    let err = one_line_error(&out, secret);
    // Its grants say first that it may not see every table.
    assert!(
        err.starts_with(&format!(
            "error: table (tables invisible to this user)/*: user {user}@{HOST} has no SELECT \
             privilege on database `{}` (SHOW GRANTS)",
            db.name
        )),
        "{err}"
    );
    let dump = t.path().join("b");
    let err = dump_tolerating(&url, &dump, secret);
    assert!(
        err.contains("warning: tolerated: table app_secret: SELECT command denied"),
        "{err}"
    );
    assert!(dump.join("app_open.py").exists() && !dump.join("app_secret.py").exists());
    let restore = std::fs::read_to_string(dump.join("restore.py")).expect("restore.py");
    // The reason quotes the user, so Python's repr uses double quotes.
    assert!(
        restore.contains("'app_secret': \"table app_secret: SELECT command denied"),
        "{restore}"
    );

    // A complete dump with a password in the URL: redacted in its header.
    db.sql(&format!(
        "GRANT SELECT ON `{0}`.* TO '{user}'@'{HOST}'",
        db.name
    ));
    let dump = t.path().join("c");
    let files = dump_hiding(&url, &dump, secret);
    assert_eq!(
        header_line(&files["restore.py"]),
        format!(
            "# This is a Python dump of mysql://{user}:***@{HOST}:{PORT}/{}, written by dump2py {}.",
            db.name,
            env!("CARGO_PKG_VERSION")
        )
    );
}

/// `localhost` means the server's Unix socket, as with libmysqlclient;
/// `?socket=` names one.
#[test]
fn unix_socket() {
    need_server!(MARIA);
    let socket = MARIA.sql(None, "SELECT @@socket");
    let socket = socket.trim();
    if !Path::new(socket).exists() {
        skip(&format!("the server's socket {socket} is not here"));
        return;
    }
    let db = TestDb::new(MARIA, "socket");
    db.sql("CREATE TABLE app_x (id int PRIMARY KEY); INSERT INTO app_x VALUES (1), (2);");
    let t = tempfile::tempdir().expect("tempdir");
    for (i, url) in [
        format!("mysql://root@localhost/{}", db.name),
        format!("mariadb://root@/{}?socket={socket}", db.name),
    ]
    .iter()
    .enumerate()
    {
        let dump: PathBuf = t.path().join(i.to_string());
        let out = dump2py(["-v0", "-d", url, &path_str(&dump)]);
        // root@localhost may be unix_socket-only for another OS user.
        assert!(out.status.success(), "{url}: {}", stderr(&out));
        assert_eq!(rows_of(&dump, "app_x").len(), 2);
    }
}

// ---------------------------------------------------------------------
// 5. TLS, against a private server with certificates of the test's own.

/// A private server with TLS: a CA (`ca.crt`) and a certificate for
/// `names` in its directory, and a database `d` with a table of one row.
fn tls_server(names: &str) -> Option<PrivateMariaDb> {
    if !have_openssl() {
        return None;
    }
    let server = PrivateMariaDb::start(|dir| {
        test_ca(dir, "ca");
        test_cert(dir, "ca", "server", CertFor::Server(names));
        ["ca", "cert", "key"]
            .iter()
            .zip(["ca.crt", "server.crt", "server.key"])
            .map(|(opt, file)| format!("--ssl-{opt}={}", dir.join(file).display()))
            .collect()
    })?;
    server.sql(
        "CREATE DATABASE d;
         CREATE TABLE d.app_x (id int PRIMARY KEY, name varchar(10));
         INSERT INTO d.app_x VALUES (1, 'secret row');",
    );
    Some(server)
}

/// A user of the private server who may read `d`, with `require` (`SSL`,
/// `X509`, `NONE`).
fn tls_user(server: &PrivateMariaDb, name: &str, require: &str) {
    server.sql(&format!(
        "CREATE USER '{name}'@'{HOST}' IDENTIFIED BY '{SECRET}' REQUIRE {require};
         GRANT SELECT ON d.* TO '{name}'@'{HOST}';"
    ));
}

#[test]
fn tls_modes_as_the_mysql_client() {
    let Some(server) = tls_server("DNS:localhost,IP:127.0.0.1") else {
        return;
    };
    // Reads only over TLS: a dump proves TLS was used.
    tls_user(&server, "tls", "SSL");
    tls_user(&server, "plain", "NONE");
    let dir = &server.dir;
    let ca = path_str(&dir.join("ca.crt"));
    let t = tempfile::tempdir().expect("tempdir");
    let out = |name: &str| t.path().join(unique(name));
    let url = |user: &str, query: &str| server.url(user, SECRET, "d", query);
    let dumps = |user: &str, query: &str| {
        let dump = out("dump");
        dump_hiding(&url(user, query), &dump, SECRET);
        assert_eq!(rows_of(&dump, "app_x").len(), 1, "{query}");
    };
    let fails = |user: &str, query: &str| -> String {
        let o = dump2py(["-s", "-d", &url(user, query)]);
        one_line_error(&o, SECRET)
    };
    let place = format!("{HOST}:{}", server.port);

    // TLS when the server offers it: by default (PREFERRED) too. The
    // certificate is not checked without a CA.
    for query in [
        "",
        "ssl-mode=PREFERRED",
        "ssl-mode=REQUIRED",
        "ssl_mode=required",
        "ssl=true",
    ] {
        dumps("tls", query);
    }
    // The chain, and the name 127.0.0.1, checked against the CA.
    for query in [
        format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
        format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        format!("ssl-ca={ca}"),
        format!("ssl-mode=REQUIRED&ssl-ca={ca}"),
        format!("ssl-verify-server-cert=true&ssl-ca={ca}"),
    ] {
        dumps("tls", &query);
    }

    // No TLS: the account is refused, and the message says TLS may be why.
    let err = fails("tls", "ssl-mode=DISABLED");
    assert_eq!(
        err,
        format!(
            "error: MariaDB/MySQL at {place} denied access to user 'tls' (with a password): \
             wrong password or no such user, or the account requires TLS and this connection \
             has none (ssl-mode=DISABLED)"
        )
    );
    dumps("plain", "ssl-mode=DISABLED");

    // A CA that did not issue the server's certificate, and the system's
    // roots (which know nothing of the test's CA).
    test_ca(t.path(), "other");
    let other = path_str(&t.path().join("other.crt"));
    for (query, shown) in [
        (
            format!("ssl-mode=VERIFY_CA&ssl-ca={other}"),
            format!(
                "error: can't connect to MariaDB/MySQL at {place} over TLS: the server's \
                 certificate is not trusted: no CA of ssl-ca issued it (ssl-mode=VERIFY_CA, \
                 ssl-ca={other})"
            ),
        ),
        (
            format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={other}"),
            format!(
                "error: can't connect to MariaDB/MySQL at {place} over TLS: the server's \
                 certificate is not trusted: no CA of ssl-ca issued it \
                 (ssl-mode=VERIFY_IDENTITY, ssl-ca={other})"
            ),
        ),
        // PREFERRED with a CA checks the chain: no silent fallback.
        (
            format!("ssl-mode=PREFERRED&ssl-ca={other}"),
            format!(
                "error: can't connect to MariaDB/MySQL at {place} over TLS: the server's \
                 certificate is not trusted: no CA of ssl-ca issued it (ssl-mode=PREFERRED, \
                 ssl-ca={other})"
            ),
        ),
    ] {
        assert_eq!(fails("plain", &query), shown);
    }
    let err = fails("plain", "ssl-mode=VERIFY_CA");
    assert!(
        err.contains("no CA of the system's root certificates issued it (ssl-mode=VERIFY_CA)")
            || err.contains("needs trusted root certificates"),
        "{err}"
    );

    // Files that can't be used, named.
    let not_pem = t.path().join("not.pem");
    std::fs::write(&not_pem, "no certificate here\n").expect("not.pem");
    let missing = path_str(&t.path().join("missing.pem"));
    let not_pem = path_str(&not_pem);
    let server_key = path_str(&dir.join("server.key"));
    for (query, why) in [
        (
            format!("ssl-mode=VERIFY_CA&ssl-ca={missing}"),
            format!("can't read ssl-ca {missing}: "),
        ),
        (
            format!("ssl-ca={not_pem}"),
            format!("ssl-ca {not_pem} holds no usable CA certificate"),
        ),
        (
            format!("ssl-cert={not_pem}"),
            format!("ssl-cert {not_pem} holds no PEM certificate"),
        ),
        (
            format!("ssl-cert={ca}"),
            format!("ssl-cert {ca} holds no private key: give ssl-key=FILE"),
        ),
        (
            format!("ssl-cert={ca}&ssl-key={not_pem}"),
            format!("ssl-key {not_pem} holds no PEM private key"),
        ),
        (
            format!("ssl-cert={ca}&ssl-key={server_key}"),
            format!("ssl-cert {ca} with ssl-key {server_key}: "),
        ),
    ] {
        let err = fails("plain", &query);
        assert!(
            err.starts_with(&format!("error: MariaDB/MySQL at {place}: {why}")),
            "{query}: {err}"
        );
    }

    // A TLS-only server: no TLS fails clearly, TLS works.
    server.sql("SET GLOBAL require_secure_transport = ON");
    let err = fails("plain", "ssl-mode=DISABLED");
    assert!(
        err.contains(
            "or the account requires TLS and this connection has none (ssl-mode=DISABLED)"
        ),
        "{err}"
    );
    dumps("plain", "");
    server.sql("SET GLOBAL require_secure_transport = OFF");

    // A client certificate, for an account that requires one.
    test_cert(dir, "ca", "client", CertFor::Client);
    tls_user(&server, "x509", "X509");
    let (cert, key) = (
        path_str(&dir.join("client.crt")),
        path_str(&dir.join("client.key")),
    );
    dumps("x509", &format!("ssl-cert={cert}&ssl-key={key}"));
    dumps(
        "x509",
        &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}&ssl-cert={cert}&ssl-key={key}"),
    );
    let err = fails("x509", "ssl-mode=REQUIRED");
    assert!(
        err.contains("denied access to user 'x509'") && !err.contains("has none"),
        "{err}"
    );

    // A certificate for localhost only (FLUSH SSL reloads it): VERIFY_IDENTITY
    // refuses 127.0.0.1, VERIFY_CA takes it.
    test_cert(dir, "ca", "server", CertFor::Server("DNS:localhost"));
    server.sql("FLUSH SSL");
    let err = fails("tls", &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"));
    assert_eq!(
        err,
        format!(
            "error: can't connect to MariaDB/MySQL at {place} over TLS: the server's \
             certificate is not valid for the name {HOST} (it names localhost) \
             (ssl-mode=VERIFY_IDENTITY, ssl-ca={ca}); connect by a name it holds, or use \
             ssl-mode=VERIFY_CA"
        )
    );
    dumps("tls", &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"));
    dumps("tls", "ssl-mode=REQUIRED");

    // A certificate without subjectAltName: rustls can check no name.
    test_cert(dir, "ca", "server", CertFor::Server(""));
    server.sql("FLUSH SSL");
    for mode in ["VERIFY_CA", "VERIFY_IDENTITY"] {
        let err = fails("tls", &format!("ssl-mode={mode}&ssl-ca={ca}"));
        assert_eq!(
            err,
            format!(
                "error: can't connect to MariaDB/MySQL at {place} over TLS: the server's \
                 certificate names no host (no subjectAltName), which rustls needs to check \
                 it (ssl-mode={mode}, ssl-ca={ca}); use ssl-mode=REQUIRED"
            )
        );
    }
    dumps("tls", "ssl-mode=REQUIRED");
}

#[test]
fn preferred_goes_on_without_tls_only_when_the_server_has_none() {
    let Some(server) = PrivateMariaDb::start(|_| vec!["--skip-ssl".to_string()]) else {
        return;
    };
    server.sql(&format!(
        "CREATE DATABASE d;
         CREATE TABLE d.app_x (id int PRIMARY KEY);
         INSERT INTO d.app_x VALUES (1);
         CREATE USER 'u'@'{HOST}' IDENTIFIED BY '{SECRET}';
         GRANT SELECT ON d.* TO 'u'@'{HOST}';"
    ));
    let t = tempfile::tempdir().expect("tempdir");
    let url = |query: &str| server.url("u", SECRET, "d", query);
    for query in ["", "ssl-mode=PREFERRED", "ssl-mode=DISABLED"] {
        let dump = t.path().join(unique("dump"));
        dump_hiding(&url(query), &dump, SECRET);
        assert_eq!(rows_of(&dump, "app_x").len(), 1, "{query}");
    }
    let place = format!("{HOST}:{}", server.port);
    for mode in ["REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] {
        let o = dump2py(["-s", "-d", &url(&format!("ssl-mode={mode}"))]);
        let err = one_line_error(&o, SECRET);
        assert!(
            err == format!(
                "error: can't connect to MariaDB/MySQL at {place}: the server offers no TLS, \
                 which ssl-mode={mode} requires"
            ) || err.contains("needs trusted root certificates"),
            "{mode}: {err}"
        );
    }
    // A wrong password: TLS can't be why here.
    let o = dump2py(["-s", "-d", &server.url("u", "Wrong-pw-1", "d", "")]);
    let err = one_line_error(&o, "Wrong-pw-1");
    assert!(err.ends_with("wrong password or no such user"), "{err}");
}

/// SELECT on the database through the user's default role is SELECT on
/// the database: the dump is complete, with no word about invisible tables.
#[test]
fn select_on_the_database_through_a_role_reads_every_table() {
    need_server!(MARIA);
    let mut db = TestDb::new(MARIA, "role");
    let user = db.user("d2p_role", Some(SECRET));
    let role = unique("d2p_r");
    db.sql(&format!(
        "CREATE TABLE app_a (id int PRIMARY KEY); INSERT INTO app_a VALUES (1);
         CREATE TABLE app_b (id int PRIMARY KEY); INSERT INTO app_b VALUES (1), (2);
         CREATE ROLE {role};
         GRANT SELECT ON `{0}`.* TO {role};
         GRANT {role} TO '{user}'@'{HOST}';
         SET DEFAULT ROLE {role} FOR '{user}'@'{HOST}';",
        db.name
    ));
    let url = MARIA.url_as(&user, Some(SECRET), &db.name);
    let r = dump2py(["-s", "-d", &url]);
    MARIA.sql(None, &format!("DROP ROLE {role}"));
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(stdout(&r), "app_a: 1 rows\napp_b: 2 rows\n");
}

/// A table the user has no privilege on is not in information_schema at
/// all, and one it may read only some columns of shows just those: neither
/// may vanish from the dump. A foreign key to an invisible table tells it;
/// the site's metadata names every model's table.
#[test]
fn invisible_and_partly_readable_tables() {
    need_server!(MARIA);
    let mut db = TestDb::new(MARIA, "invisible");
    let user = db.user("d2p_inv", Some(SECRET));
    db.sql(&format!(
        "CREATE TABLE app_open (id int PRIMARY KEY, name varchar(10));
         INSERT INTO app_open VALUES (1, 'visible');
         CREATE TABLE app_hidden (id int PRIMARY KEY, name varchar(10));
         INSERT INTO app_hidden VALUES (1, 'hidden');
         CREATE TABLE app_ref (id int PRIMARY KEY, hidden_id int,
             FOREIGN KEY (hidden_id) REFERENCES app_hidden (id));
         INSERT INTO app_ref VALUES (1, 1);
         CREATE TABLE app_cols (id int PRIMARY KEY, name varchar(10), secret varchar(10));
         INSERT INTO app_cols VALUES (1, 'shown', 'withheld');
         CREATE TABLE app_unknown (id int PRIMARY KEY, name varchar(10));
         INSERT INTO app_unknown VALUES (1, 'unseen');
         GRANT SELECT ON `{0}`.app_open TO '{user}'@'{HOST}';
         GRANT SELECT ON `{0}`.app_ref TO '{user}'@'{HOST}';
         GRANT SELECT (id, name) ON `{0}`.app_cols TO '{user}'@'{HOST}';",
        db.name
    ));
    let url = MARIA.url_as(&user, Some(SECRET), &db.name);
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("a");
    let err = one_line_error(&dump2py(["-d", &url, &path_str(&out)]), SECRET);
    assert!(
        err.starts_with("error: table (tables invisible to this user)/*: user ")
            && err.contains(&format!(
                "has no SELECT privilege on database `{}`",
                db.name
            )),
        "{err}"
    );
    assert!(!out.exists());

    let out = t.path().join("b");
    let err = dump_tolerating(&url, &out, SECRET);
    assert!(
        err.trim_end().ends_with("3 of 5 tables could not be read."),
        "{err}"
    );
    let restore = std::fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains("'app_cols': \"table app_cols: the user may read only some"),
        "{restore}"
    );
    // (Also: a user with only SELECT sees the foreign keys.)
    assert!(
        restore.contains(
            "'app_hidden': 'table app_hidden: not visible to this user, who has no privilege \
             on it (or it is gone); table app_ref has a foreign key to it'"
        ),
        "{restore}"
    );
    assert_eq!(rows_of(&out, "app_open").len(), 1);
    assert_eq!(rows_of(&out, "app_ref").len(), 1);
    assert!(!out.join("app_cols.py").exists() && !out.join("app_hidden.py").exists());
    // app_unknown isn't named without the site's metadata, but the dump
    // says that tables are invisible to the user (its grants).
    assert!(!restore.contains("app_unknown"));
    assert!(
        restore.contains("'(tables invisible to this user)/*': 'table (tables invisible"),
        "{restore}"
    );

    // With the site's metadata, every model's table is known.
    let schema = t.path().join("schema.json");
    let models = [
        ("Cols", "app_cols"),
        ("Open", "app_open"),
        ("Unknown", "app_unknown"),
    ];
    std::fs::write(
        &schema,
        dump2py_tests::site_schema::site_schema("mysql", &db.name, &models),
    )
    .expect("write schema");
    let with_meta = |out: &Path, tolerate: bool| {
        let (out, schema) = (path_str(out), path_str(&schema));
        let mut args = vec!["--site-schema", &schema, "-d", &url, &out];
        if tolerate {
            args.insert(0, "-t");
        }
        dump2py(args)
    };
    let out = t.path().join("c");
    let err = one_line_error(&with_meta(&out, false), SECRET);
    assert!(err.starts_with("error: table app_cols: "), "{err}");
    assert!(!out.exists());
    let o = with_meta(&out, true);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let restore = std::fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains("'app_unknown': 'table app_unknown: no such table"),
        "{restore}"
    );
    assert!(restore.contains("'app_cols': "), "{restore}");
    assert_eq!(rows_of(&out, "app_open").len(), 1);
}
