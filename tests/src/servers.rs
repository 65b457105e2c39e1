//! The database servers of the PostgreSQL and MariaDB tests, and what those
//! tests check alike.
//!
//! The servers are this machine's: PostgreSQL at 127.0.0.1:5432 (user
//! postgres, trust auth) and MariaDB at 127.0.0.1:3306 (root, no
//! password). Without a server a test says so on stderr and passes, but
//! fails when CI=true ([`need_server!`]). Each test makes its own database
//! ([`TestDb`]), dropped at the end, also after a panic.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{bin, dump2py, dump_ok, fixture, lino, read_dump, sqlite_url, stderr, stdout, MIN1};

pub const HOST: &str = "127.0.0.1";

/// A password put into URLs to check that it is never shown.
pub const SECRET: &str = "Sup3r-s3cret";

/// A dump directory: file name → content.
pub type Dump = BTreeMap<String, Vec<u8>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    MariaDb,
}

impl Backend {
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::MariaDb => "MariaDB",
        }
    }

    pub const fn port(self) -> &'static str {
        match self {
            Backend::Postgres => "5432",
            Backend::MariaDb => "3306",
        }
    }

    /// The user the tests administer the server as, without a password.
    pub const fn admin(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::MariaDb => "root",
        }
    }

    const fn scheme(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::MariaDb => "mysql",
        }
    }

    /// `SCHEME://USER[:PASSWORD]@HOST:PORT/DB` on this machine's server.
    pub fn url_as(self, user: &str, password: Option<&str>, db: &str) -> String {
        let password = password.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{user}{password}@{HOST}:{}/{db}",
            self.scheme(),
            self.port()
        )
    }

    /// The URL of `db` as the administrator.
    pub fn url(self, db: &str) -> String {
        self.url_as(self.admin(), None, db)
    }

    /// The command-line client as the administrator, on `db` (None: on no
    /// database in particular).
    pub fn client(self, db: Option<&str>) -> Command {
        let port = self.port();
        match self {
            Backend::Postgres => {
                let mut c = Command::new("psql");
                c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", port])
                    .args(["-U", self.admin(), "-d", db.unwrap_or("postgres")])
                    .env("PGCONNECT_TIMEOUT", "5")
                    .env_remove("PGPASSWORD");
                c
            }
            Backend::MariaDb => {
                let mut c = Command::new("mariadb");
                c.args(["-h", HOST, "-P", port, "-u", self.admin()]).args([
                    "--connect-timeout=5",
                    "--batch",
                    "--skip-column-names",
                    "--default-character-set=utf8mb4",
                ]);
                c.args(db);
                c
            }
        }
    }

    /// Runs SQL (several statements allowed, each on its own outside a
    /// transaction): psql's unaligned, tuples-only output; mariadb's batch
    /// output without column names.
    pub fn try_sql(self, db: Option<&str>, sql: &str) -> std::io::Result<Output> {
        match self {
            Backend::Postgres => {
                let mut child = self
                    .client(db)
                    .args(["-A", "-t", "-f", "-"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()?;
                let written = child.stdin.take().expect("stdin").write_all(sql.as_bytes());
                let out = child.wait_with_output()?;
                match written {
                    Err(e) if out.status.success() => Err(e),
                    _ => Ok(out),
                }
            }
            Backend::MariaDb => self.client(db).arg("-e").arg(sql).output(),
        }
    }

    /// [`Backend::try_sql`], which must succeed: its output.
    pub fn sql(self, db: Option<&str>, sql: &str) -> String {
        let out = self
            .try_sql(db, sql)
            .unwrap_or_else(|e| panic!("can't run the {} client: {e}", self.name()));
        assert!(
            out.status.success(),
            "the {} client failed on {sql}:\n{}",
            self.name(),
            stderr(&out)
        );
        stdout(&out)
    }

    /// Whether the server answers (asked once per test process); if not,
    /// [`skip_unless_ci`].
    pub fn up(self) -> bool {
        static UP: [OnceLock<Result<(), String>>; 2] = [OnceLock::new(), OnceLock::new()];
        let up = UP[self as usize].get_or_init(|| match self.try_sql(None, "SELECT 1") {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(stderr(&o).trim().to_string()),
            Err(e) => Err(format!("can't run the {} client: {e}", self.name())),
        });
        match up {
            Ok(()) => true,
            Err(why) => {
                skip_unless_ci(&format!(
                    "no {} server at {HOST}:{} (user {}): {why}",
                    self.name(),
                    self.port(),
                    self.admin()
                ));
                false
            }
        }
    }

    fn create_database(self, name: &str) -> String {
        match self {
            Backend::Postgres => format!("CREATE DATABASE \"{name}\""),
            Backend::MariaDb => {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            }
        }
    }

    fn drop_database(self, name: &str) -> String {
        match self {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            Backend::MariaDb => format!("DROP DATABASE IF EXISTS `{name}`"),
        }
    }

    fn create_user(self, user: &str, password: Option<&str>) -> String {
        match (self, password) {
            (Backend::Postgres, None) => format!("CREATE ROLE \"{user}\" LOGIN"),
            (Backend::Postgres, Some(p)) => format!("CREATE ROLE \"{user}\" LOGIN PASSWORD '{p}'"),
            (Backend::MariaDb, None) => format!("CREATE USER '{user}'@'{HOST}'"),
            (Backend::MariaDb, Some(p)) => {
                format!("CREATE USER '{user}'@'{HOST}' IDENTIFIED BY '{p}'")
            }
        }
    }

    fn drop_user(self, user: &str) -> String {
        match self {
            Backend::Postgres => format!("DROP ROLE IF EXISTS \"{user}\""),
            Backend::MariaDb => format!("DROP USER IF EXISTS '{user}'@'{HOST}'"),
        }
    }
}

/// Returns from the test when `backend`'s server is not there (which fails
/// the test when CI=true).
#[macro_export]
macro_rules! need_server {
    ($backend:expr) => {
        if !$backend.up() {
            return;
        }
    };
}

/// The running test's name (libtest runs each test in a thread so named).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// Says why the running test did nothing, on stderr past the test
/// harness's capture.
pub fn skip(why: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {}: {why}", test_name());
}

/// [`skip`], but a failure when CI=true, where every test must run.
pub fn skip_unless_ci(why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{}: {why}, and CI=true: the test must run", test_name());
    }
    skip(why);
}

/// `PREFIX_PID_NANOS`: a name no other test (or test run) uses.
pub fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}_{}_{nanos}", std::process::id())
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A database of the test's own, dropped (with the users it made) on drop,
/// also after a panic.
pub struct TestDb {
    pub backend: Backend,
    pub name: String,
    /// Its URL as the administrator.
    pub url: String,
    users: Vec<String>,
}

impl TestDb {
    pub fn new(backend: Backend, test: &str) -> TestDb {
        let name = unique(&format!("dump2py_{test}"));
        let create = backend.create_database(&name);
        TestDb::create(backend, name, &create)
    }

    /// A database whose text orders as people's (a non-C collation, as
    /// production sites have): PostgreSQL's ICU `en-US`, MariaDB's
    /// `utf8mb4_general_ci`.
    pub fn with_collation(backend: Backend, test: &str) -> TestDb {
        let name = unique(&format!("dump2py_{test}"));
        let create = match backend {
            Backend::Postgres => format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu \
                 ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ),
            Backend::MariaDb => {
                format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            }
        };
        TestDb::create(backend, name, &create)
    }

    fn create(backend: Backend, name: String, create: &str) -> TestDb {
        backend.sql(None, create);
        TestDb {
            backend,
            url: backend.url(&name),
            name,
            users: Vec::new(),
        }
    }

    pub fn sql(&self, sql: &str) -> String {
        self.backend.sql(Some(&self.name), sql)
    }

    /// A user named `PREFIX_…` that may log in (on MariaDB, from 127.0.0.1),
    /// dropped with the database.
    pub fn user(&mut self, prefix: &str, password: Option<&str>) -> String {
        let user = unique(prefix);
        self.backend
            .sql(None, &self.backend.create_user(&user, password));
        self.users.push(user.clone());
        user
    }

    /// The test sites' environment for this database.
    pub fn site_env(&self) -> [(&'static str, &str); 1] {
        [("DUMP2PY_TEST_DB_URL", &self.url)]
    }

    /// `django-admin ARGS` of the site `settings` on this database; the
    /// site's working files go beside `files`.
    pub fn admin_ok(&self, settings: &str, files: &Path, args: &[&str]) -> Output {
        lino().admin_env_ok(settings, files, &self.site_env(), args)
    }

    /// Our dump with `--settings` of the site on this database into `out`.
    pub fn ours_ok(&self, settings: &str, files: &Path, out: &Path) -> Output {
        lino().ours_ok(settings, files, &self.site_env(), &[&path_str(out)])
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let mut sql = vec![self.backend.drop_database(&self.name)];
        sql.extend(self.users.iter().map(|u| self.backend.drop_user(u)));
        let dropped = self.backend.try_sql(None, &sql.join(";\n"));
        if !dropped.is_ok_and(|o| o.status.success()) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

// ---------------------------------------------------------------------------
// The same site's data from SQLite and from the server.

/// A site's data dumped from SQLite and from the server, with and without
/// site metadata.
pub struct Cross {
    /// The server's database.
    pub db: TestDb,
    /// The site's SQLite database.
    pub sqlite: PathBuf,
    /// Our dumps with `--settings`.
    pub sqlite_meta: PathBuf,
    pub server_meta: PathBuf,
    /// Our dumps of the databases alone (`-d URL`).
    pub sqlite_plain: PathBuf,
    pub server_plain: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Cross {
    /// The site prepared on SQLite (min1: the fixture; awkward: `prep`)
    /// and dumped; the same site on the server (its tables made by `prep`,
    /// its rows by that dump's restore.py) dumped too. None when the
    /// server is not there.
    pub fn new(backend: Backend, settings: &str, tag: &str) -> Option<Cross> {
        if !backend.up() {
            return None;
        }
        let lino = lino();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name);
        let sqlite = path("db.sqlite3");
        if settings == MIN1 {
            std::fs::copy(fixture("min1.sqlite3"), &sqlite).expect("copy fixture");
        } else {
            lino.admin_ok(settings, &sqlite, &["prep", "--noinput", "-v0"]);
        }
        let sqlite_meta = path("sqlite");
        lino.ours_ok(settings, &sqlite, &[], &[&path_str(&sqlite_meta)]);

        let db = TestDb::new(backend, tag);
        // The site's files go beside this path; its database is the server's.
        let site = path("server.sqlite3");
        db.admin_ok(settings, &site, &["prep", "--noinput", "-v0"]);
        let restore = path_str(&sqlite_meta.join("restore.py"));
        db.admin_ok(settings, &site, &["run", &restore, "--noinput"]);
        assert!(
            !site.exists(),
            "the site wrote to SQLite, not {}",
            backend.name()
        );
        let server_meta = path("server");
        db.ours_ok(settings, &site, &server_meta);

        let (sqlite_plain, server_plain) = (path("sqlite-plain"), path("server-plain"));
        let langs = ["--languages", "en,de,fr", "-v0"];
        for (url, out) in [
            (sqlite_url(&sqlite), &sqlite_plain),
            (db.url.clone(), &server_plain),
        ] {
            dump_ok(["-d", &url, &path_str(out)].iter().chain(&langs));
        }
        Some(Cross {
            db,
            sqlite,
            sqlite_meta,
            server_meta,
            sqlite_plain,
            server_plain,
            dir,
        })
    }
}

/// The line of restore.py naming the source: with the line saying how it
/// stores decimals (without metadata), what differs between two databases
/// holding the same data.
pub const SOURCE_LINE: &str = "# This is a Python dump of ";

/// A line of restore.py that describes the source: the source line, and
/// (without metadata) how it stores decimals.
pub fn describes_source(line: &str) -> bool {
    line.starts_with(SOURCE_LINE) || line.starts_with(dump2py_python::DECIMALS_AS_REAL)
}

/// The dump with restore.py's source line checked (there once, naming
/// `source_prefix`) and taken out, and its decimals line.
pub fn without_source(mut dump: Dump, source_prefix: &str) -> Dump {
    let restore = dump.get_mut("restore.py").expect("restore.py");
    let text = String::from_utf8(restore.clone()).expect("UTF-8 restore.py");
    let mut found = 0;
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| {
            let is_source = l.starts_with(SOURCE_LINE);
            if is_source {
                assert!(
                    l[SOURCE_LINE.len()..].starts_with(source_prefix),
                    "source line {l:?} does not name {source_prefix}"
                );
                found += 1;
            }
            !is_source && !describes_source(l)
        })
        .collect();
    assert_eq!(found, 1, "restore.py names its source once");
    *restore = kept.concat().into_bytes();
    dump
}

/// Line by line, what differs: (file, a's line, b's line).
fn differences(a: &Dump, b: &Dump) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for name in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let text = |d: &Dump| d.get(name).map(|t| String::from_utf8_lossy(t).into_owned());
        let (ta, tb) = (text(a).unwrap_or_default(), text(b).unwrap_or_default());
        let (la, lb): (Vec<&str>, Vec<&str>) = (ta.lines().collect(), tb.lines().collect());
        if la.len() != lb.len() {
            out.push((
                name.clone(),
                format!("{} lines", la.len()),
                format!("{} lines", lb.len()),
            ));
            continue;
        }
        for (x, y) in la.iter().zip(&lb) {
            if x != y {
                out.push((name.clone(), x.to_string(), y.to_string()));
            }
        }
    }
    out
}

/// Asserts that two dumps are the same, listing the lines that differ.
pub fn assert_same(expected: &Dump, got: &Dump, what: &str) {
    let diff = differences(expected, got);
    assert!(
        diff.is_empty(),
        "{what}: {} differences (file, expected, got):\n{}",
        diff.len(),
        diff.iter()
            .map(|(f, a, b)| format!("{f}:\n  - {a}\n  + {b}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(expected, got, "{what}");
}

// ---------------------------------------------------------------------------
// Rows of a data file.

/// A Python call's arguments, split at its top-level commas.
fn split_args(s: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    let (mut depth, mut quote, mut escaped) = (0i32, None::<char>, false);
    for c in s.chars() {
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

/// `loader.save(create_t(1,'a,b',date(1,2,3)))` → `["1", "'a,b'",
/// "date(1,2,3)"]`; None for any other line.
pub fn row_args(line: &str) -> Option<Vec<String>> {
    let inner = line
        .strip_prefix("loader.save(create_")?
        .strip_suffix("))")?;
    Some(split_args(&inner[inner.find('(')? + 1..]))
}

/// The arguments of each `loader.save(create_<table>(...))` line of the
/// table's data file: its columns' Python literals.
pub fn rows_of(dump: &Path, table: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dump.join(format!("{table}.py"))).expect("data file");
    let prefix = format!("loader.save(create_{table}(");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .map(|l| row_args(l).unwrap_or_else(|| panic!("{table}: not a call: {l}")))
        .collect()
}

/// A table with a generated column, in SQL that every backend takes.
pub const GENERATED_SQL: &str = "CREATE TABLE app_gen (id int PRIMARY KEY, base int, \
     twice int GENERATED ALWAYS AS (base * 2) STORED, note varchar(10)); \
     INSERT INTO app_gen (id, base, note) VALUES (1, 21, 'x'), (2, NULL, NULL)";

/// [`GENERATED_SQL`] on `db`, dumped: see [`check_generated_dump`].
pub fn generated_columns_dumped(db: &TestDb) {
    db.sql(GENERATED_SQL);
    let t = tempfile::tempdir().expect("tempdir");
    let out = t.path().join("dump");
    dump_ok(["-v0", "-d", &db.url, &path_str(&out)]);
    check_generated_dump(&out);
}

/// The dump in `dir` of [`GENERATED_SQL`]'s table: the generated column's
/// values are dumped as read; restore.py never sets it.
pub fn check_generated_dump(dir: &Path) {
    let rows = rows_of(dir, "app_gen");
    assert_eq!(
        rows,
        [["1", "21", "42", "'x'"], ["2", "None", "None", "None"]]
    );
    let restore = std::fs::read_to_string(dir.join("restore.py")).expect("restore.py");
    assert!(
        restore.contains(
            "def create_app_gen(id, base, twice, note):\n    kw = dict()\n    \
             kw.update(id=id)\n    kw.update(base=base)\n    kw.update(note=note)\n"
        ),
        "{restore}"
    );
}

/// Checks one row: each column's Python literal.
pub fn check_row(table: &str, row: &[String], expected: &[(&str, &str)]) {
    assert_eq!(row.len(), expected.len(), "{table}: columns of {row:?}");
    for (got, (column, want)) in row.iter().zip(expected) {
        assert_eq!(got, want, "{table}.{column} of row {}", row[0]);
    }
}

/// Checks a table's rows column by column.
pub fn assert_rows<'a, R: AsRef<[&'a str]>>(
    dump: &Path,
    table: &str,
    columns: &[&str],
    expected: &[R],
) {
    let got = rows_of(dump, table);
    assert_eq!(got.len(), expected.len(), "{table}: rows");
    for (row, want) in got.iter().zip(expected) {
        let want = want.as_ref();
        assert_eq!(want.len(), columns.len(), "{table}: expected {want:?}");
        let pairs: Vec<(&str, &str)> = columns.iter().copied().zip(want.iter().copied()).collect();
        check_row(table, row, &pairs);
    }
}

/// The bytes 0 to 255 as a dump writes them.
pub const ALL_BYTES_B64: &str = "'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=='";

/// The awkward site's things_scalar.
pub const SCALAR_COLUMNS: &[&str] = &[
    "id", "dec", "flt", "flag", "maybe", "day", "moment", "clock", "blob", "uid", "big", "pos",
    "dur", "color",
];

/// things_scalar as the awkward site's `prep` writes it on a server,
/// dumped with site metadata: the same on PostgreSQL and MariaDB.
pub const SCALAR_ROWS: &[&[&str]] = &[
    &[
        "1",
        "'12.5000'",
        "'1.5'",
        "True",
        "None",
        "date(2024,2,29)",
        "dt(2024,3,31,1,30,5,123456)",
        "time(8,5,3,250000)",
        "'AAH/IGJpbmFyeSAK'",
        "'12345678-1234-5678-1234-567812345678'",
        "9223372036854775807",
        "0",
        "'1 02:00:03.000004'",
        "'r'",
    ],
    &[
        "2",
        "'-0.0001'",
        "'1e-05'",
        "False",
        "True",
        "date(1,1,1)",
        "dt(1850,6,1,23,59,59,999999)",
        "time(23,59,59,999999)",
        "''",
        "'cfbff0d1-9375-5685-968c-48ce8b15ae17'",
        "-9223372036854775808",
        "2147483647",
        "'-1 23:59:59.999999'",
        "'b'",
    ],
    &[
        "3",
        "'99999999.9999'",
        "'1e+16'",
        "False",
        "False",
        "date(9999,12,31)",
        "dt(2038,1,19,3,14,8,1)",
        "time(0,0,0,1)",
        ALL_BYTES_B64,
        "'00000000-0000-0000-0000-000000000000'",
        "-9223372036854775807",
        "7",
        "'00:00:00'",
        "None",
    ],
    &[
        "4",
        "'0.0000'",
        "'0.1'",
        "True",
        "None",
        "date(1970,1,1)",
        "dt(2024,10,27,1,30,0)",
        "time(12,0,0)",
        "None",
        "None",
        "0",
        "1",
        "None",
        "None",
    ],
    &[
        "5", "None", "None", "False", "None", "None", "None", "None", "None", "None", "None",
        "None", "None", "None",
    ],
];

// ---------------------------------------------------------------------------
// Running dump2py: errors, passwords, a dump in the background.

/// Asserts that `secret` is neither on stdout nor on stderr.
pub fn assert_no_secret(o: &Output, secret: &str) {
    for text in [stdout(o), stderr(o)] {
        assert!(!text.contains(secret), "password shown: {text}");
    }
}

/// The error of a run that failed (exit code 1) with one line, not a
/// panic, that does not show `secret`.
pub fn one_line_error(o: &Output, secret: &str) -> String {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert_no_secret(o, secret);
    err.trim().to_string()
}

/// [`one_line_error`] of dump2py ARGS, which must fail within `limit`.
pub fn fails_within(limit: Duration, secret: &str, args: &[&str]) -> String {
    let start = Instant::now();
    let err = one_line_error(&dump2py(args), secret);
    assert!(start.elapsed() < limit, "{:?}: {err}", start.elapsed());
    err
}

/// The stderr of `dump2py -t -d URL OUT`, which must skip tables it can't
/// read (exit code 3) and not show `secret`.
pub fn dump_tolerating(url: &str, out: &Path, secret: &str) -> String {
    let o = dump2py(["-t", "-d", url, &path_str(out)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_no_secret(&o, secret);
    stderr(&o)
}

/// A dump from `url`, which holds the password `secret`: it succeeds and
/// shows the password nowhere, not even with `-v 2`, nor in a file.
pub fn dump_hiding(url: &str, out: &Path, secret: &str) -> Dump {
    let o = dump_ok(["-d", url, &path_str(out), "-v", "2"]);
    assert_no_secret(&o, secret);
    let files = read_dump(out);
    for (name, content) in &files {
        let text = String::from_utf8_lossy(content);
        assert!(!text.contains(secret), "{name} shows the password");
    }
    files
}

/// dump2py ARGS started in the background, stdout and stderr piped.
pub fn spawn_dump2py(args: &[&str]) -> Child {
    Command::new(bin())
        .args(args)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dump2py")
}

/// Polls `done` every `every` until it holds, for a minute at the most.
pub fn wait_for(what: &str, every: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

// ---------------------------------------------------------------------------
// Certificates of the tests' own, made with the openssl tool.

/// Whether the openssl tool is here; if not, [`skip_unless_ci`].
pub fn have_openssl() -> bool {
    let here = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !here {
        skip_unless_ci("no openssl tool to make certificates: TLS not tested");
    }
    here
}

/// Runs the openssl tool in `dir`; panics when it fails.
pub fn openssl_in(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(o.status.success(), "openssl {args:?}: {}", stderr(&o));
}

/// openssl's options for a new P-256 key without a passphrase.
const NEW_EC_KEY: &[&str] = &[
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A CA of the test's own (NAME.crt, NAME.key) in `dir`.
pub fn test_ca(dir: &Path, name: &str) -> PathBuf {
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    let subject = format!("/CN=dump2py test {name}");
    let rest = [
        "-keyout",
        &key,
        "-out",
        &crt,
        "-days",
        "2",
        "-subj",
        &subject,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    openssl_in(dir, &[&["req", "-x509"], NEW_EC_KEY, &rest[..]].concat());
    dir.join(crt)
}

/// What a certificate of [`test_cert`] is for.
#[derive(Clone, Copy, Debug)]
pub enum CertFor<'a> {
    /// A server, with this subjectAltName (`DNS:localhost,IP:127.0.0.1`;
    /// none when empty).
    Server(&'a str),
    Client,
}

/// A certificate (NAME.crt, NAME.key) issued by the CA `ca` of [`test_ca`].
pub fn test_cert(dir: &Path, ca: &str, name: &str, purpose: CertFor) {
    let ext = format!("{name}.ext");
    let usage = match purpose {
        CertFor::Client => "extendedKeyUsage=clientAuth\n".to_string(),
        CertFor::Server("") => "extendedKeyUsage=serverAuth\n".to_string(),
        CertFor::Server(alt_names) => {
            format!("subjectAltName={alt_names}\nextendedKeyUsage=serverAuth\n")
        }
    };
    std::fs::write(
        dir.join(&ext),
        format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n{usage}"),
    )
    .expect("extensions file");
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let subject = format!("/CN=dump2py test {name}");
    let rest = ["-keyout", &key, "-out", &csr, "-subj", &subject];
    openssl_in(dir, &[&["req", "-new"], NEW_EC_KEY, &rest[..]].concat());
    openssl_in(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
}

// ---------------------------------------------------------------------------
// A MariaDB server of the test's own.

/// A MariaDB server in a temporary directory, on a free port of
/// 127.0.0.1 and a socket in that directory, `root` without a password
/// (over the socket). Killed and its directory removed on drop, also after
/// a panic.
pub struct PrivateMariaDb {
    pub port: u16,
    pub socket: PathBuf,
    /// The server's directory: its data, log, and whatever the test puts there.
    pub dir: PathBuf,
    child: Child,
    _tmp: tempfile::TempDir,
}

/// Where the MariaDB server and its tools are, or None.
fn mariadb_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/usr/libexec"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl PrivateMariaDb {
    /// Starts a server (within 30 s, else a panic saying why), with the
    /// options `extra` returns (`--ssl-cert=…`), given the server's
    /// directory to put files in. None, with a skip message (a failure
    /// when CI=true), when mariadbd or mariadb-install-db is missing.
    pub fn start(extra: impl FnOnce(&Path) -> Vec<String>) -> Option<PrivateMariaDb> {
        let (Some(server), Some(install)) = (
            mariadb_tool("mariadbd").or_else(|| mariadb_tool("mysqld")),
            mariadb_tool("mariadb-install-db").or_else(|| mariadb_tool("mysql_install_db")),
        ) else {
            skip_unless_ci("no mariadbd and mariadb-install-db: a private MariaDB can't start");
            return None;
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let data = dir.join("data");
        // mariadbd refuses to run as root unless told to.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| stdout(&o).trim() == "0");
        let as_root: &[&str] = if root { &["--user=root"] } else { &[] };
        let o = Command::new(&install)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(as_root)
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .output()
            .expect("run mariadb-install-db");
        assert!(
            o.status.success(),
            "mariadb-install-db: {}{}",
            stdout(&o),
            stderr(&o)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let socket = dir.join("mysqld.sock");
        let log = dir.join("error.log");
        let extra = extra(&dir);
        let child = Command::new(&server)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .args(["--innodb-buffer-pool-size=16M", "--skip-log-bin"])
            .args(as_root)
            .args(&extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let mut server = PrivateMariaDb {
            port,
            socket,
            dir,
            child,
            _tmp: tmp,
        };
        let start = Instant::now();
        loop {
            if server.try_sql("SELECT 1").is_ok_and(|o| o.status.success()) {
                break;
            }
            let log = || std::fs::read_to_string(&log).unwrap_or_default();
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the private mariadbd stopped ({status}): {}", log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the private mariadbd did not answer within 30 s: {}",
                log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(server)
    }

    /// The client as root, over the socket.
    pub fn try_sql(&self, sql: &str) -> std::io::Result<Output> {
        Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket.display()))
            .args(["-u", "root", "--batch", "--skip-column-names"])
            .arg("-e")
            .arg(sql)
            .output()
    }

    /// [`PrivateMariaDb::try_sql`], which must succeed: its output.
    pub fn sql(&self, sql: &str) -> String {
        let o = self.try_sql(sql).expect("run the mariadb client");
        assert!(o.status.success(), "mariadb on {sql}: {}", stderr(&o));
        stdout(&o)
    }

    /// `mysql://USER:PASSWORD@127.0.0.1:PORT/DB?QUERY`.
    pub fn url(&self, user: &str, password: &str, db: &str, query: &str) -> String {
        format!(
            "mysql://{user}:{password}@{HOST}:{}/{db}?{query}",
            self.port
        )
    }
}

impl Drop for PrivateMariaDb {
    fn drop(&mut self) {
        // SIGKILL: nothing in it is worth keeping, and it stops at once.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
