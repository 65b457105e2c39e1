//! The sources' side of `-j`: workers that read the main source's very
//! snapshot (`Source::workers`), key bounds and key ranges
//! (`Source::key_bounds`, `Source::read_range`), on PostgreSQL, MariaDB and
//! SQLite. Each server test makes its own database (and users), dropped at
//! the end; without a server it is skipped, unless CI=true.

use dump2py_model::schema::{Schema, Table};
use dump2py_model::Value;
use dump2py_plugin::{KeyRange, Source, Workers};
use dump2py_tests::{
    need_server,
    run::wait_for,
    servers::{Backend, TestDb, HOST, SECRET},
};

// Linked for their registrations; opened by URL as the CLI opens them.
use dump2py_mysql as _;
use dump2py_postgres as _;
use dump2py_sqlite as _;

const PG: Backend = Backend::Postgres;
const MARIADB: Backend = Backend::MariaDb;

fn open(url: &str) -> Box<dyn Source> {
    dump2py_plugin::registry::open_source(url)
        .unwrap_or_else(|e| panic!("open {}: {e}", dump2py_model::url::redact(url)))
}

fn table<'a>(schema: &'a Schema, name: &str) -> &'a Table {
    schema
        .tables
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name} in {schema:?}"))
}

type Rows = Vec<Vec<Value>>;

/// The rows `read` gives, in order, read in batches of at most 2 rows.
fn collect(
    read: impl FnOnce(
        &mut dyn FnMut(dump2py_model::Batch) -> dump2py_model::error::Result<bool>,
    ) -> dump2py_model::error::Result<()>,
) -> Rows {
    let mut rows = Rows::new();
    read(&mut |b| {
        assert!(b.len() <= 2, "a batch of {} rows", b.len());
        rows.extend(b.rows().map(<[Value]>::to_vec));
        Ok(true)
    })
    .expect("read");
    rows
}

fn read_all(s: &mut dyn Source, t: &Table) -> Rows {
    collect(|out| s.read_table(t, 2, out))
}

fn read_range(s: &mut dyn Source, t: &Table, from: Option<i64>, to: Option<i64>) -> Rows {
    collect(|out| s.read_range(t, KeyRange { from, to }, 2, out))
}

/// The first column (the key) of each row.
fn keys(rows: &Rows) -> Vec<i64> {
    rows.iter()
        .map(|r| match r.first() {
            Some(Value::Int(i)) => *i,
            other => panic!("key {other:?}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------
// One snapshot for all.

/// jobs_a and jobs_b, each with the rows `values`.
fn two_tables(db: &TestDb, values: &str) {
    for t in ["jobs_a", "jobs_b"] {
        db.sql(&format!(
            "CREATE TABLE {t} (id integer PRIMARY KEY, v varchar(20)); \
             INSERT INTO {t} VALUES {values};"
        ));
    }
}

/// The main source, then its workers.
fn with_workers(main: Box<dyn Source>, workers: Workers) -> Vec<Box<dyn Source>> {
    let mut sources = vec![main];
    sources.extend(workers.sources.into_iter().map(|w| w as Box<dyn Source>));
    sources
}

/// Rows committed before `workers()` are seen by the main source and every
/// worker; a writer's commit into two tables after it, by none.
fn one_snapshot(backend: Backend) {
    let db = TestDb::new(backend, "jobs_snapshot");
    two_tables(&db, "(1, 'one'), (2, 'two')");
    let mut main = open(&db.url);
    let workers = main.workers(2).expect("workers");
    assert_eq!(workers.note, None);
    assert_eq!(workers.sources.len(), 2);
    let commit = match backend {
        Backend::Postgres => "BEGIN",
        Backend::MariaDb => "START TRANSACTION",
    };
    db.sql(&format!(
        "{commit}; INSERT INTO jobs_a VALUES (3, 'three'); DELETE FROM jobs_b WHERE id = 2; \
         UPDATE jobs_b SET v = 'changed' WHERE id = 1; COMMIT;"
    ));
    let schema = main.schema().expect("schema");
    let (a, b) = (table(&schema, "jobs_a"), table(&schema, "jobs_b"));
    let want = |t: &Table| -> Rows {
        let rows: &[(i64, &str)] = &[(1, "one"), (2, "two")];
        assert_eq!(t.columns.len(), 2, "{t:?}");
        rows.iter()
            .map(|(k, v)| vec![Value::Int(*k), Value::Text(v.to_string())])
            .collect()
    };
    let mut sources = with_workers(main, workers);
    for (i, s) in sources.iter_mut().enumerate() {
        for t in [a, b] {
            assert_eq!(read_all(s.as_mut(), t), want(t), "source {i}, {}", t.name);
            assert_eq!(s.count_rows(t).expect("count"), 2, "source {i}, {}", t.name);
            assert_eq!(read_range(s.as_mut(), t, Some(2), None), want(t)[1..]);
        }
    }
    // The writer's rows are there for a new reader.
    let mut after = open(&db.url);
    let schema = after.schema().expect("schema");
    assert_eq!(
        keys(&read_all(after.as_mut(), table(&schema, "jobs_a"))),
        [1, 2, 3]
    );
}

#[test]
fn postgres_workers_read_one_snapshot() {
    need_server!(PG);
    one_snapshot(PG);
}

#[test]
fn mariadb_workers_read_one_snapshot() {
    need_server!(MARIADB);
    one_snapshot(MARIADB);
}

/// A writer that commits a row into both tables about every millisecond
/// (for 30 s at most), until a row in jobs_stop stops it, on drop.
struct Writer {
    child: std::process::Child,
    backend: Backend,
    db: String,
}

impl Writer {
    fn start(db: &TestDb) -> Writer {
        use std::io::Write;
        db.sql("CREATE TABLE jobs_stop (id integer PRIMARY KEY)");
        let mut client = db.backend.client(Some(&db.name));
        let script = match db.backend {
            Backend::Postgres => {
                client.args(["-f", "-"]);
                PG_WRITER
            }
            Backend::MariaDb => MARIADB_WRITER,
        };
        let mut child = client
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the writer");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(script.as_bytes())
            .expect("the writer's script");
        Writer {
            child,
            backend: db.backend,
            db: db.name.clone(),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let stop = "INSERT INTO jobs_stop VALUES (1)";
        if !self
            .backend
            .try_sql(Some(&self.db), stop)
            .is_ok_and(|o| o.status.success())
        {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

const PG_WRITER: &str = "DO $$ DECLARE i int := 0; t0 timestamptz := clock_timestamp(); BEGIN
    WHILE clock_timestamp() < t0 + interval '30 seconds'
        AND NOT EXISTS (SELECT 1 FROM jobs_stop) LOOP i := i + 1;
    INSERT INTO jobs_a VALUES (1000 + i, 'w'); INSERT INTO jobs_b VALUES (1000 + i, 'w');
    COMMIT; PERFORM pg_sleep(0.001); END LOOP; END $$;
";

const MARIADB_WRITER: &str = "DELIMITER //
BEGIN NOT ATOMIC
    DECLARE i INT DEFAULT 0; DECLARE t0 DATETIME(6) DEFAULT SYSDATE(6);
    WHILE SYSDATE(6) < t0 + INTERVAL 30 SECOND AND NOT EXISTS (SELECT 1 FROM jobs_stop) DO
    SET i = i + 1; START TRANSACTION;
    INSERT INTO jobs_a VALUES (1000 + i, 'w'); INSERT INTO jobs_b VALUES (1000 + i, 'w');
    COMMIT; DO SLEEP(0.001); END WHILE;
END //
";

fn count(db: &TestDb, table: &str) -> usize {
    let n = db.sql(&format!("SELECT count(*) FROM {table}"));
    n.trim().parse().unwrap_or_else(|_| panic!("count {n:?}"))
}

/// While a writer commits into two tables, the main source and its
/// workers all see the same rows, which are the same in both tables.
fn one_snapshot_under_writes(backend: Backend) {
    let db = TestDb::new(backend, "jobs_writes");
    two_tables(&db, "(1, 'one')");
    let writer = Writer::start(&db);
    wait_for("the writer", std::time::Duration::from_millis(20), || {
        count(&db, "jobs_b") > 20
    });
    let mut main = open(&db.url);
    let workers = main.workers(3).expect("workers");
    assert_eq!(workers.sources.len(), 3);
    let seen_at = count(&db, "jobs_b");
    let schema = main.schema().expect("schema");
    let (a, b) = (table(&schema, "jobs_a"), table(&schema, "jobs_b"));
    let mut sources = with_workers(main, workers);
    let mut seen: Vec<Vec<i64>> = Vec::new();
    for s in &mut sources {
        let in_a = keys(&read_all(s.as_mut(), a));
        assert_eq!(
            keys(&read_all(s.as_mut(), b)),
            in_a,
            "a commit seen in half"
        );
        seen.push(in_a);
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    assert!(seen[0].len() > 20 && seen[0][0] == 1, "{:?}", seen[0]);
    for (i, keys) in seen.iter().enumerate() {
        assert_eq!(
            keys, &seen[0],
            "worker {i} saw another snapshot than the main source"
        );
    }
    // The writer went on (nothing holds its commits), unseen by all.
    wait_for("more commits", std::time::Duration::from_millis(20), || {
        count(&db, "jobs_b") > seen_at + 20
    });
    drop(writer);
}

#[test]
fn postgres_workers_read_one_snapshot_under_writes() {
    need_server!(PG);
    one_snapshot_under_writes(PG);
}

#[test]
fn mariadb_workers_read_one_snapshot_under_writes() {
    need_server!(MARIADB);
    one_snapshot_under_writes(MARIADB);
}

// ---------------------------------------------------------------------------
// Key ranges.

/// Consecutive ranges give read_table's rows in order; empty ranges give
/// none; key_bounds are the ends, and None where the key can't be split.
fn ranges(backend: Backend) {
    let db = TestDb::new(backend, "jobs_ranges");
    let big: &[i64] = &[i64::MIN, -7, -1, 0, 1, 2, 3, 40, 41, 1000, i64::MAX];
    let values: Vec<String> = big.iter().map(|k| format!("({k}, 'k{k}')")).collect();
    db.sql(&format!(
        "CREATE TABLE jobs_big (id bigint PRIMARY KEY, v varchar(30)); \
         INSERT INTO jobs_big VALUES {}; \
         CREATE TABLE jobs_small (id smallint PRIMARY KEY, v varchar(30)); \
         INSERT INTO jobs_small VALUES (-3, 'a'), (-2, 'b'), (5, 'c'); \
         CREATE TABLE jobs_empty (id integer PRIMARY KEY); \
         CREATE TABLE jobs_code (code varchar(10) PRIMARY KEY, n integer); \
         INSERT INTO jobs_code VALUES ('a', 1); \
         CREATE TABLE jobs_pair (a integer, b integer, PRIMARY KEY (a, b)); \
         INSERT INTO jobs_pair VALUES (1, 2);",
        values.join(", ")
    ));
    let mut s = open(&db.url);
    let schema = s.schema().expect("schema");
    let t = table(&schema, "jobs_big");
    let all = read_all(s.as_mut(), t);
    assert_eq!(keys(&all), big);
    assert_eq!(s.key_bounds(t).expect("bounds"), Some((i64::MIN, i64::MAX)));
    let cuts: &[&[Option<i64>]] = &[
        &[None, None],
        &[
            None,
            Some(-7),
            Some(0),
            Some(0),
            Some(3),
            Some(41),
            Some(i64::MAX),
            None,
        ],
        &[Some(i64::MIN), Some(-1), Some(2), Some(1001), None],
        &[
            None,
            Some(i64::MIN),
            Some(i64::MIN + 1),
            Some(i64::MAX),
            None,
        ],
    ];
    for cut in cuts {
        let mut got = Rows::new();
        for w in cut.windows(2) {
            got.extend(read_range(s.as_mut(), t, w[0], w[1]));
        }
        assert_eq!(got, all, "cut at {cut:?}");
    }
    assert_eq!(read_range(s.as_mut(), t, Some(5), Some(5)), Rows::new());
    assert_eq!(read_range(s.as_mut(), t, Some(4), Some(40)), Rows::new());
    assert_eq!(read_range(s.as_mut(), t, Some(9), Some(-9)), Rows::new());
    assert_eq!(
        keys(&read_range(s.as_mut(), t, Some(i64::MAX), None)),
        [i64::MAX]
    );
    assert_eq!(
        keys(&read_range(s.as_mut(), t, None, Some(i64::MIN + 1))),
        [i64::MIN]
    );
    assert_eq!(
        keys(&read_range(s.as_mut(), t, Some(-1), Some(3))),
        [-1, 0, 1, 2]
    );

    let small = table(&schema, "jobs_small");
    assert_eq!(s.key_bounds(small).expect("bounds"), Some((-3, 5)));
    assert_eq!(
        keys(&read_range(s.as_mut(), small, Some(-2), Some(6))),
        [-2, 5]
    );
    assert_eq!(
        read_range(s.as_mut(), small, Some(i64::MIN), Some(i64::MAX)),
        read_all(s.as_mut(), small)
    );

    for name in ["jobs_empty", "jobs_code", "jobs_pair"] {
        let t = table(&schema, name);
        assert_eq!(s.key_bounds(t).expect("bounds"), None, "{name}");
    }
    let code = table(&schema, "jobs_code");
    let refused = s
        .read_range(
            code,
            KeyRange {
                from: None,
                to: Some(1),
            },
            2,
            &mut |_| Ok(true),
        )
        .expect_err("a text key has no integer ranges")
        .to_string();
    assert!(
        refused.contains("table jobs_code") && refused.contains("integer"),
        "{refused}"
    );
    // The source reads on after the refusal, in its snapshot.
    assert_eq!(read_all(s.as_mut(), t).len(), big.len());
}

#[test]
fn postgres_key_ranges_are_read_tables_rows() {
    need_server!(PG);
    ranges(PG);
}

#[test]
fn mariadb_key_ranges_are_read_tables_rows() {
    need_server!(MARIADB);
    ranges(MARIADB);
}

// ---------------------------------------------------------------------------
// When there are no workers, and when one can't connect.

#[test]
fn mariadb_user_without_reload_reads_on_one_connection() {
    need_server!(MARIADB);
    let mut db = TestDb::new(MARIADB, "jobs_noreload");
    db.sql("CREATE TABLE jobs_t (id integer PRIMARY KEY); INSERT INTO jobs_t VALUES (1), (2);");
    let user = db.user("jobs_noreload", Some(SECRET));
    db.sql(&format!(
        "GRANT SELECT ON `{}`.* TO '{user}'@'{HOST}'",
        db.name
    ));
    let url = MARIADB.url_as(&user, Some(SECRET), &db.name);
    let mut s = open(&url);
    let workers = s.workers(3).expect("no workers, no error");
    assert!(workers.sources.is_empty());
    assert_eq!(
        workers.note.as_deref(),
        Some(
            format!(
                "-j: user '{user}' may not FLUSH TABLES WITH READ LOCK (needs RELOAD): \
                 reading on one connection"
            )
            .as_str()
        )
    );
    // It reads on, in a snapshot: a later commit is not seen.
    db.sql("INSERT INTO jobs_t VALUES (3)");
    let schema = s.schema().expect("schema");
    assert_eq!(
        keys(&read_all(s.as_mut(), table(&schema, "jobs_t"))),
        [1, 2]
    );
}

/// A user that may open one connection (PostgreSQL) or two (MariaDB: the
/// main one and the one holding commits): the worker's fails, naming the
/// server and not the password.
#[test]
fn a_workers_failed_connection_is_a_clear_error() {
    for backend in [PG, MARIADB] {
        if !backend.up() {
            continue;
        }
        let mut db = TestDb::new(backend, "jobs_refused");
        db.sql("CREATE TABLE jobs_t (id integer PRIMARY KEY); INSERT INTO jobs_t VALUES (1);");
        let user = db.user("jobs_limited", Some(SECRET));
        match backend {
            Backend::Postgres => db.sql(&format!(
                "ALTER ROLE \"{user}\" CONNECTION LIMIT 1; GRANT SELECT ON jobs_t TO \"{user}\";"
            )),
            Backend::MariaDb => db.sql(&format!(
                "GRANT SELECT ON `{}`.* TO '{user}'@'{HOST}'; \
                 GRANT RELOAD ON *.* TO '{user}'@'{HOST}'; \
                 ALTER USER '{user}'@'{HOST}' WITH MAX_USER_CONNECTIONS 2;",
                db.name
            )),
        };
        let mut s = open(&backend.url_as(&user, Some(SECRET), &db.name));
        let err = match s.workers(1) {
            Ok(w) => panic!(
                "{}: {} workers, note {:?}",
                backend.name(),
                w.sources.len(),
                w.note
            ),
            Err(e) => e.to_string(),
        };
        let at = format!("{HOST}:{}", backend.port());
        assert!(err.starts_with("-j: another connection: "), "{err}");
        assert!(err.contains(&at) && !err.contains(SECRET), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        // Nothing stays locked: a writer commits at once.
        db.sql("INSERT INTO jobs_t VALUES (2)");
    }
}

#[test]
fn sqlite_has_one_reader_and_says_so_when_asked_for_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.sqlite3");
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch("PRAGMA journal_mode = wal; CREATE TABLE t (id integer PRIMARY KEY);")
        .expect("schema");
    let mut s = open(&format!("sqlite:{}", path.display()));
    let none = s.workers(0).expect("workers(0)");
    assert!(none.sources.is_empty() && none.note.is_none());
    let asked = s.workers(2).expect("workers(2)");
    assert!(asked.sources.is_empty());
    assert_eq!(
        asked.note.as_deref(),
        Some("SQLite: one reader (its snapshot can't be shared)")
    );
}
