//! `-j/--jobs`: several readers on one snapshot give exactly the outputs of
//! one (PostgreSQL, MariaDB; SQLite says it reads alone), a writer's
//! commits during the dump show up in none of them, a reader's error stops
//! the dump with no output, and a MariaDB user who may not lock is told
//! that the dump reads on one connection.

use std::path::Path;
use std::time::Duration;

use dump2py_tests::{
    compare::{assert_same, read_dump, Dump},
    copy_db,
    data_file::rows_of,
    fixture, need_server, path_str,
    run::{dump2py, dump_ok, spawn_dump2py, stderr},
    servers::{Backend, TestDb, SECRET},
    sqlite_url,
};

/// Rows of the big table: more than the pipeline's split threshold, so
/// that it is read in key ranges.
const BIG: i64 = 150_000;

/// The big table (keys from -50,000, so negative ones too), a small one,
/// and one that a writer fills during the dump.
fn fill(db: &TestDb) {
    let (lo, hi) = (-50_000, BIG - 50_001);
    match db.backend {
        Backend::Postgres => db.sql(&format!(
            "CREATE TABLE app_big (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(10,2));
             INSERT INTO app_big SELECT g, 'n' || g, g / 100.0 FROM generate_series({lo}, {hi}) g;
             CREATE TABLE app_note (id integer PRIMARY KEY, big_id bigint REFERENCES app_big(id));
             INSERT INTO app_note SELECT g, g FROM generate_series(1, 500) g;"
        )),
        Backend::MariaDb => db.sql(&format!(
            "CREATE TABLE app_big (id bigint PRIMARY KEY, name text NOT NULL, amount decimal(10,2));
             INSERT INTO app_big SELECT k, concat('n', k), k / 100.0
               FROM (SELECT CAST(seq AS SIGNED) + {lo} - 1 AS k FROM seq_1_to_{BIG}) s;
             CREATE TABLE app_note (id integer PRIMARY KEY, big_id bigint REFERENCES app_big(id));
             INSERT INTO app_note SELECT seq, seq FROM seq_1_to_500;"
        )),
    };
}

/// Our Python dump and JSON of `url` with `-j jobs`: the dump's files,
/// the JSON, stderr.
fn dump(url: &str, jobs: &str, dir: &Path) -> (Dump, Vec<u8>, String) {
    dump_at(url, jobs, "1", dir)
}

/// [`dump`] at verbosity `v`.
fn dump_at(url: &str, jobs: &str, v: &str, dir: &Path) -> (Dump, Vec<u8>, String) {
    let out = dir.join(format!("dump-{jobs}-{v}"));
    let json = dir.join(format!("dump-{jobs}-{v}.json"));
    let o = dump_ok([
        "-d",
        url,
        "-j",
        jobs,
        "-v",
        v,
        "--json",
        &path_str(&json),
        &path_str(&out),
    ]);
    let json = std::fs::read(&json).expect("json");
    (read_dump(&out), json, stderr(&o))
}

fn same_outputs_for_every_job_count(backend: Backend) {
    need_server!(backend);
    let db = TestDb::new(backend, "jobs");
    fill(&db);
    let t = tempfile::tempdir().expect("tempdir");
    let (one, one_json, _) = dump(&db.url, "1", t.path());
    assert!(
        one.keys().any(|f| f.starts_with("app_big")),
        "{:?}",
        one.keys()
    );
    // Every verbosity too: -v 3's line per table read changes nothing.
    for (jobs, v) in [("2", "1"), ("4", "1"), ("1", "3"), ("2", "3"), ("1", "0")] {
        let (got, json, err) = dump_at(&db.url, jobs, v, t.path());
        assert_same(&one, &got, &format!("-j {jobs} -v {v}"));
        assert!(json == one_json, "-j {jobs} -v {v}: the JSON differs");
        assert!(!err.contains("warning"), "-j {jobs} -v {v}: {err}");
        if v == "3" {
            assert!(err.contains("read table app_big: 150000 rows"), "{err}");
        }
    }
}

/// On SQLite too (issue 20: `-v 3` lost the source's storage, and the
/// dump said `decimals_as_real = False`): every verbosity, and `-j 2`,
/// give byte-identical outputs.
#[test]
fn sqlite_outputs_are_the_same_at_every_verbosity() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let url = sqlite_url(&db);
    let (one, one_json, _) = dump_at(&url, "1", "1", t.path());
    let restore = String::from_utf8_lossy(&one["restore.py"]).into_owned();
    assert!(
        restore.contains("Dump2pyLoader.decimals_as_real = True"),
        "{restore}"
    );
    for (jobs, v) in [("1", "0"), ("1", "2"), ("1", "3"), ("2", "3"), ("2", "1")] {
        let (got, json, _) = dump_at(&url, jobs, v, t.path());
        assert_same(&one, &got, &format!("-j {jobs} -v {v}"));
        assert!(json == one_json, "-j {jobs} -v {v}: the JSON differs");
    }
}

#[test]
fn postgres_outputs_are_the_same_for_every_job_count() {
    same_outputs_for_every_job_count(Backend::Postgres);
}

#[test]
fn mariadb_outputs_are_the_same_for_every_job_count() {
    same_outputs_for_every_job_count(Backend::MariaDb);
}

/// A table of 5,000 rows with text to escape: batches big enough that
/// `-j` formats them on several threads.
fn add_many(db: &Path) {
    let c = rusqlite::Connection::open(db).expect("open");
    c.execute_batch(
        "CREATE TABLE app_many (id integer PRIMARY KEY, name text NOT NULL, day date, doc json);
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000)
         INSERT INTO app_many SELECT i, 'n' || i || ' d''été \"' || char(10) || 'ü',
           date(2451545 + i), '{\"a\": [' || i || ', 0.5]}' FROM s;",
    )
    .expect("fill");
}

#[test]
fn sqlite_reads_alone_and_says_so() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = common_db(t.path());
    add_many(&db);
    let url = sqlite_url(&db);
    let (one, one_json, _) = dump(&url, "1", t.path());
    let (got, json, err) = dump(&url, "3", t.path());
    assert_same(&one, &got, "-j 3");
    assert!(json == one_json, "-j 3: the JSON differs");
    assert!(
        err.contains("warning: SQLite") && err.contains("one reader"),
        "{err}"
    );
}

/// Values the Python sink can't write (JSON nested deeper than a data
/// file's Python parses) in different slices of one batch formatted on
/// several threads: the error of `-j 1`, the first row's.
#[test]
fn a_bad_value_formatted_on_several_threads_is_the_same_error() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = common_db(t.path());
    add_many(&db);
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            let deep = format!("{}{}", "[".repeat(300), "]".repeat(300));
            c.execute(
                "UPDATE app_many SET doc = ?1 WHERE id IN (3001, 3900, 4500)",
                [deep],
            )
        })
        .expect("break");
    let url = sqlite_url(&db);
    let mut errors = Vec::new();
    for jobs in ["1", "4"] {
        let out = t.path().join(format!("bad-{jobs}"));
        let o = dump2py(["-d", &url, "-j", jobs, &path_str(&out)]);
        assert!(!o.status.success() && !out.exists(), "-j {jobs}");
        let err = stderr(&o);
        let line = err
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("")
            .to_string();
        errors.push(line);
    }
    assert!(
        errors[0].contains("app_many") && errors[0].contains("3001") && errors[0].contains("doc"),
        "{errors:?}"
    );
    assert_eq!(errors[0], errors[1]);
}

/// A copy of the min1 fixture.
fn common_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("min1.sqlite3");
    std::fs::copy(fixture("min1.sqlite3"), &db).expect("copy");
    db
}

/// A writer commits pairs of rows (one in each of two tables, one
/// transaction) while a `-j 4` dump runs: in the dump both tables hold the
/// same pairs, all committed before it started.
fn commits_during_the_dump_are_in_no_reader(backend: Backend) {
    need_server!(backend);
    let db = TestDb::new(backend, "jobs_snap");
    fill(&db);
    db.sql("CREATE TABLE app_pair (id bigint PRIMARY KEY)");
    let pair = |k: i64| {
        format!(
            "BEGIN; INSERT INTO app_big (id, name) VALUES ({}, 'w'); \
             INSERT INTO app_pair (id) VALUES ({k}); COMMIT;",
            1_000_000 + k
        )
    };
    for k in 1..=5 {
        db.sql(&pair(k));
    }
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    // One data file per table (rows_of reads it).
    let mut child = spawn_dump2py(&["-d", &db.url, "-j", "4", "-m", "1000000", &path_str(&out)]);
    // Commit until the dump is done (at least a few during it).
    let mut k = 5;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        k += 1;
        db.sql(&pair(k));
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "the dump failed");
    assert!(
        k > 8,
        "the writer committed only {} pairs during the dump",
        k - 5
    );
    let ids = |table: &str| -> Vec<i64> {
        (rows_of(&out, table).iter())
            .filter_map(|r| r.first()?.parse().ok())
            .collect()
    };
    let pairs = ids("app_pair");
    let writer_rows: Vec<i64> = (ids("app_big").into_iter())
        .filter(|&id| id > 1_000_000)
        .map(|id| id - 1_000_000)
        .collect();
    assert!(pairs.starts_with(&[1, 2, 3, 4, 5]), "{pairs:?}");
    assert!(
        pairs.len() < k as usize,
        "all {k} pairs are in the dump: it read after the writer"
    );
    assert_eq!(
        writer_rows, pairs,
        "one snapshot: the same pairs in both tables"
    );
}

#[test]
fn postgres_commits_during_the_dump_are_in_no_reader() {
    commits_during_the_dump_are_in_no_reader(Backend::Postgres);
}

#[test]
fn mariadb_commits_during_the_dump_are_in_no_reader() {
    commits_during_the_dump_are_in_no_reader(Backend::MariaDb);
}

/// A value that can't be dumped, in the big table's last key range: the
/// reader that meets it stops the dump; nothing is written.
#[test]
fn postgres_a_readers_error_stops_the_dump_with_no_output() {
    need_server!(Backend::Postgres);
    let db = TestDb::new(Backend::Postgres, "jobs_err");
    fill(&db);
    db.sql(&format!(
        "UPDATE app_big SET amount = 'NaN' WHERE id = {}",
        BIG - 50_010
    ));
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    let o = dump2py(["-d", &db.url, "-j", "4", &path_str(&out)]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "table app_big, column amount, primary key {}",
            BIG - 50_010
        )) && err.contains("NaN"),
        "{err}"
    );
    let left: Vec<_> = std::fs::read_dir(t.path())
        .expect("dir")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A MariaDB user that may read but not lock: the dump says it reads on
/// one connection, and writes what -j 1 writes.
#[test]
fn mariadb_without_reload_reads_on_one_connection_and_says_so() {
    need_server!(Backend::MariaDb);
    let mut db = TestDb::new(Backend::MariaDb, "jobs_priv");
    fill(&db);
    let user = db.user("jobs_reader", Some(SECRET));
    db.sql(&format!(
        "GRANT SELECT ON `{}`.* TO '{user}'@'127.0.0.1'",
        db.name
    ));
    let url = Backend::MariaDb.url_as(&user, Some(SECRET), &db.name);
    let t = tempfile::tempdir().expect("tempdir");
    let (one, _, _) = dump(&url, "1", t.path());
    let (got, _, err) = dump(&url, "4", t.path());
    assert_same(&one, &got, "-j 4 without RELOAD");
    assert!(
        err.contains("warning: -j") && err.contains("one connection") && err.contains(&user),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
}
