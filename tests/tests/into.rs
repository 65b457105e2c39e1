//! The database sinks: `--into URL` writes what the source reads into a
//! database that the site's `migrate` made, `--flush` empties the tables
//! it writes first. After each load, `dumpdata` of the target equals the
//! source's: min1 (Lino) and the plain Django site (content types,
//! permissions, MTI, UUID and slug keys, JSON, durations, booleans), from
//! SQLite into SQLite, PostgreSQL and MariaDB, and across servers; with
//! the site's metadata and without. A target that holds rows is refused;
//! a load that fails (a foreign key pointing nowhere in its last row, kill
//! -9) leaves the target as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use dump2py_tests::{
    fixture,
    lino::{django, lino, MIN1},
    path_str, root,
    run::{bin, dump2py, ok, spawn_dump2py, stderr, stdout, wait_for},
    servers::{Backend, TestDb},
    sqlite_url,
};

/// A site and the Python environment that runs it.
#[derive(Clone, Copy)]
struct SiteEnv {
    settings: &'static str,
    /// The Lino environment (else Django alone).
    lino: bool,
}

const MIN1_SITE: SiteEnv = SiteEnv {
    settings: MIN1,
    lino: true,
};
const PLAIN: SiteEnv = SiteEnv {
    settings: "plain.settings",
    lino: false,
};

/// Where a load goes: an SQLite file, or a database on a server.
enum Target {
    Sqlite(PathBuf),
    Server(TestDb),
}

impl Target {
    fn url(&self) -> String {
        match self {
            Target::Sqlite(p) => sqlite_url(p),
            Target::Server(db) => db.url.clone(),
        }
    }

    /// The site's environment on this database; its working files go
    /// beside `files`.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Target::Sqlite(_) => Vec::new(),
            Target::Server(db) => vec![("DUMP2PY_TEST_DB_URL", db.url.clone())],
        }
    }

    fn files(&self, dir: &Path, tag: &str) -> PathBuf {
        match self {
            Target::Sqlite(p) => p.clone(),
            Target::Server(_) => dir.join(format!("{tag}-files.sqlite3")),
        }
    }
}

impl SiteEnv {
    fn python(self) -> PathBuf {
        match self.lino {
            true => lino().python(),
            false => django().venv.join("bin/python"),
        }
    }

    /// `django-admin ARGS` of the site on `target` (files beside `files`).
    fn admin(self, target: &Target, files: &Path, args: &[&str]) -> Output {
        let env = target.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if self.lino {
            return lino().admin_env_ok(self.settings, files, &env, args);
        }
        let out = Command::new(self.python())
            .arg(django().venv.join("bin/django-admin"))
            .args(args)
            .env("DJANGO_SETTINGS_MODULE", self.settings)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", files)
            .env("LC_ALL", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("DUMP2PY_TEST_DB_URL")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .expect("run django-admin");
        ok(out, &format!("django-admin {}", args.join(" ")))
    }

    /// The site's tables, made by its `migrate`, without data.
    fn migrate(self, target: &Target, files: &Path) {
        if !self.lino {
            // The site's app has no migrations and points to auth's tables.
            self.admin(target, files, &["migrate", "auth", "-v", "0"]);
        }
        self.admin(
            target,
            files,
            &["migrate", "--run-syncdb", "--noinput", "-v", "0"],
        );
    }

    /// `dumpdata` with natural foreign keys, as YAML (microseconds kept).
    fn dumpdata(self, target: &Target, files: &Path, out: &Path) -> PathBuf {
        let o = path_str(out);
        let mut args = vec![
            "dumpdata",
            "--natural-foreign",
            "--format",
            "yaml",
            "-o",
            &o,
        ];
        if !self.lino {
            args.push("--natural-primary");
        }
        self.admin(target, files, &args);
        out.to_path_buf()
    }

    fn assert_same_data(self, a: &Path, b: &Path) {
        if !self.lino {
            // Natural primary keys: content types and permissions have no
            // pk to tell them apart by; the texts must be equal.
            let read = |p: &Path| std::fs::read_to_string(p).expect("read dumpdata");
            let (x, y) = (read(a), read(b));
            if x != y {
                let (xl, yl): (Vec<&str>, Vec<&str>) = (x.lines().collect(), y.lines().collect());
                let at = (xl.iter().zip(&yl))
                    .position(|(p, q)| p != q)
                    .unwrap_or(xl.len().min(yl.len()));
                let around = |l: &[&str]| l[at.saturating_sub(8)..(at + 8).min(l.len())].join("\n");
                panic!(
                    "{} and {} differ at line {}:\n{}\n---\n{}",
                    a.display(),
                    b.display(),
                    at + 1,
                    around(&xl),
                    around(&yl)
                );
            }
            return;
        }
        let out = Command::new(self.python())
            .arg(root().join("tests/python/compare_dumpdata.py"))
            .arg(a)
            .arg(b)
            .output()
            .expect("run compare_dumpdata.py");
        assert!(
            out.status.success(),
            "{} and {} differ:\n{}{}",
            a.display(),
            b.display(),
            stdout(&out),
            stderr(&out)
        );
    }

    /// `dump2py -d SOURCE --into TARGET ARGS`, with the site's metadata
    /// when `meta` (the source's files beside `files`).
    fn load(self, source: &str, target: &str, files: &Path, meta: bool, args: &[&str]) -> Output {
        let mut c = Command::new(bin());
        c.args(["-v", "0", "-d", source, "--into", target])
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("DUMP2PY_TEST_DB_URL");
        if meta {
            c.args(["--settings", self.settings, "--python"])
                .arg(self.python())
                .env("PYTHONPATH", root().join("tests/sites"))
                .env("DUMP2PY_TEST_DB", files)
                .env("LC_ALL", "C.UTF-8");
        }
        c.output().expect("run dump2py")
    }
}

/// The targets this machine has: SQLite always, the servers when up.
fn targets(dir: &Path, test: &str) -> Vec<(&'static str, Target)> {
    let mut v = vec![("SQLite", Target::Sqlite(dir.join("target.sqlite3")))];
    for backend in [Backend::Postgres, Backend::MariaDb] {
        if backend.up() {
            v.push((backend.name(), Target::Server(TestDb::new(backend, test))));
        }
    }
    v
}

/// min1's database: a copy of the fixture.
fn min1_source(dir: &Path) -> PathBuf {
    let db = dir.join("min1.sqlite3");
    std::fs::copy(fixture("min1.sqlite3"), &db).expect("copy fixture");
    db
}

/// The plain site's demo database.
fn plain_source(dir: &Path) -> PathBuf {
    let db = dir.join("plain.sqlite3");
    let out = Command::new(PLAIN.python())
        .arg(root().join("tests/python/plain_demo.py"))
        .env("DJANGO_SETTINGS_MODULE", PLAIN.settings)
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", &db)
        .env("LC_ALL", "C.UTF-8")
        .env_remove("DUMP2PY_TEST_DB_URL")
        .output()
        .expect("run plain_demo.py");
    ok(out, "plain_demo.py");
    db
}

/// Loads `source` into each target, freshly migrated, with and without
/// metadata (`--flush` the second time), then from the first server
/// target into the second (a copy across backends): dumpdata equals the
/// source's every time.
fn loads_the_same(site: SiteEnv, source: &Path, t: &Path, test: &str) {
    let source_files = source.to_path_buf();
    let src = Target::Sqlite(source_files.clone());
    let before = site.dumpdata(&src, &source_files, &t.join("before.yaml"));
    let targets = targets(t, test);
    for (name, target) in &targets {
        let files = target.files(t, name);
        site.migrate(target, &files);
        for (n, meta) in [true, false].into_iter().enumerate() {
            let flush: &[&str] = if n == 0 { &[] } else { &["--flush"] };
            let out = site.load(&sqlite_url(source), &target.url(), source, meta, flush);
            ok(out, &format!("dump2py --into {name} (metadata: {meta})"));
            let after = site.dumpdata(target, &files, &t.join(format!("{name}-{n}.yaml")));
            site.assert_same_data(&before, &after);
        }
    }
    let servers: Vec<&Target> = (targets.iter())
        .filter(|(_, t)| matches!(t, Target::Server(_)))
        .map(|(_, t)| t)
        .collect();
    if let [from, to] = servers[..] {
        let files = to.files(t, "across");
        let out = site.load(&from.url(), &to.url(), source, true, &["--flush"]);
        ok(out, "dump2py from one server into the other");
        let after = site.dumpdata(to, &files, &t.join("across.yaml"));
        site.assert_same_data(&before, &after);
    }
}

#[test]
fn min1_loads_into_each_backend_and_across() {
    let t = tempfile::tempdir().expect("tempdir");
    let source = min1_source(t.path());
    loads_the_same(MIN1_SITE, &source, t.path(), "into_min1");
}

#[test]
fn the_plain_site_loads_into_each_backend_and_across() {
    let t = tempfile::tempdir().expect("tempdir");
    let source = plain_source(t.path());
    loads_the_same(PLAIN, &source, t.path(), "into_plain");
}

fn sqlite_count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .expect("count")
}

#[test]
fn a_target_with_rows_is_refused_and_flush_empties_only_what_it_writes() {
    let t = tempfile::tempdir().expect("tempdir");
    let source = min1_source(t.path());
    let db = t.path().join("target.sqlite3");
    let target = Target::Sqlite(db.clone());
    MIN1_SITE.migrate(&target, &db);
    let url = sqlite_url(&db);
    let src = sqlite_url(&source);
    ok(
        MIN1_SITE.load(&src, &url, &source, false, &[]),
        "first load",
    );
    let persons = sqlite_count(&db, "contacts_person");
    assert!(persons > 0);
    let again = MIN1_SITE.load(&src, &url, &source, false, &[]);
    assert!(!again.status.success());
    let err = stderr(&again);
    assert!(
        err.contains("the target holds rows (table ") && err.contains("add --flush"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("Traceback"), "{err}");
    assert_eq!(sqlite_count(&db, "contacts_person"), persons);
    // A session in the target: its table is not written (-e sessions),
    // so --flush leaves it.
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute(
                "INSERT INTO django_session VALUES ('k', 'data', '2100-01-01 00:00:00')",
                [],
            )
        })
        .expect("insert a session");
    let flushed = MIN1_SITE.load(&src, &url, &source, false, &["--flush", "-e", "sessions"]);
    ok(flushed, "--flush");
    assert_eq!(sqlite_count(&db, "contacts_person"), persons);
    assert_eq!(sqlite_count(&db, "django_session"), 1);
    // --flush without --into is a usage error.
    let usage = dump2py(["-d", &src, "--flush", "--json", "-"]);
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
}

/// The source's last person points to no partner (SQLite keeps it with
/// its foreign keys off): the load fails at its foreign-key check, and
/// the target keeps the data it had, whatever the backend.
#[test]
fn a_broken_last_row_leaves_the_target_as_it_was() {
    let t = tempfile::tempdir().expect("tempdir");
    let good = min1_source(t.path());
    let broken = t.path().join("broken.sqlite3");
    std::fs::copy(&good, &broken).expect("copy");
    rusqlite::Connection::open(&broken)
        .and_then(|c| {
            c.execute_batch(
                "PRAGMA foreign_keys = OFF;
                 INSERT INTO contacts_person (partner_ptr_id, title, first_name, middle_name,
                   last_name, gender, birth_date)
                 VALUES (99999, '', 'No', '', 'Partner', 'M', '')",
            )
        })
        .expect("break the source");
    for (name, target) in targets(t.path(), "into_broken") {
        let files = target.files(t.path(), name);
        MIN1_SITE.migrate(&target, &files);
        let url = target.url();
        let out = MIN1_SITE.load(&sqlite_url(&good), &url, &good, false, &[]);
        ok(out, "load");
        let before = MIN1_SITE.dumpdata(&target, &files, &t.path().join(format!("{name}-a.yaml")));
        let out = MIN1_SITE.load(&sqlite_url(&broken), &url, &broken, false, &["--flush"]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{name}: {err}");
        assert!(err.contains("contacts_person"), "{name}: {err}");
        assert!(
            err.contains("foreign key") || err.contains("99999"),
            "{name}: {err}"
        );
        let after = MIN1_SITE.dumpdata(&target, &files, &t.path().join(format!("{name}-b.yaml")));
        MIN1_SITE.assert_same_data(&before, &after);
    }
}

/// min1 with `n` more partners, for a load long enough to be killed.
fn big_source(dir: &Path, n: u32) -> PathBuf {
    let db = min1_source(dir);
    rusqlite::Connection::open(&db)
        .and_then(|c| {
            c.execute_batch(&format!(
                "WITH RECURSIVE seq(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM seq WHERE i < {})
                 INSERT INTO contacts_partner (id, email, language, country_id, city_id, zip_code,
                   region_id, addr1, street_prefix, street, street_no, street_box, addr2, url,
                   phone, gsm, fax, prefix, name, remarks)
                 SELECT i, 'p' || i || '@example.com', '', 'BE', NULL, '', NULL, '', '',
                   'Rue d''été', '', '', '', '', '', '', '', '', 'Müller ' || i, '' FROM seq",
                1000 + n
            ))
        })
        .expect("add partners");
    db
}

/// kill -9 while the rows go in: the target holds none of them.
#[test]
fn kill_9_mid_load_leaves_nothing() {
    let t = tempfile::tempdir().expect("tempdir");
    let source = big_source(t.path(), 400_000);
    for (name, target) in targets(t.path(), "into_kill") {
        let files = target.files(t.path(), name);
        MIN1_SITE.migrate(&target, &files);
        let url = target.url();
        let mut child = spawn_dump2py(&["-v", "0", "-d", &sqlite_url(&source), "--into", &url]);
        // The load is under way once the target's tables are being written.
        let loading = || match &target {
            Target::Sqlite(p) => p.with_extension("sqlite3-journal").exists(),
            Target::Server(db) => match db.backend {
                Backend::Postgres => db
                    .sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY%'")
                    .trim()
                    .parse::<u32>()
                    .is_ok_and(|n| n > 0),
                Backend::MariaDb => db
                    .backend
                    .sql(
                        None,
                        &format!(
                            "SELECT count(*) FROM information_schema.processlist \
                             WHERE db = '{}' AND info LIKE 'INSERT%'",
                            db.name
                        ),
                    )
                    .trim()
                    .parse::<u32>()
                    .is_ok_and(|n| n > 0),
            },
        };
        let mut seen = false;
        wait_for("the load to start", Duration::from_millis(5), || {
            seen = loading();
            seen || child.try_wait().ok().flatten().is_some()
        });
        assert!(seen, "{name}: the load ended before it was seen");
        child.kill().expect("kill -9");
        let _ = child.wait();
        let count = |table: &str| -> String {
            match &target {
                Target::Sqlite(p) => sqlite_count(p, table).to_string(),
                Target::Server(db) => db.sql(&format!("SELECT count(*) FROM {table}")),
            }
        };
        // The server ends the killed session's transaction as it notices.
        wait_for(
            "the killed load's session to end",
            Duration::from_millis(50),
            || match &target {
                Target::Server(db) if db.backend == Backend::Postgres => {
                    db.sql(&format!(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
                         AND pid <> pg_backend_pid()",
                        db.name
                    ))
                    .trim()
                        == "0"
                }
                Target::Server(db) => {
                    db.backend
                        .sql(
                            None,
                            &format!(
                            "SELECT count(*) FROM information_schema.processlist WHERE db = '{}'",
                            db.name
                        ),
                        )
                        .trim()
                        == "0"
                }
                Target::Sqlite(_) => true,
            },
        );
        for table in ["contacts_partner", "contacts_person", "countries_country"] {
            assert_eq!(count(table).trim(), "0", "{name}: {table} kept rows");
        }
    }
}
