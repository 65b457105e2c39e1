//! The database servers of the PostgreSQL and MariaDB tests.
//!
//! The servers are this machine's: PostgreSQL at 127.0.0.1:5432 (user
//! postgres, trust auth) and MariaDB at 127.0.0.1:3306 (root, no
//! password). Without a server a test says so on stderr and passes, but
//! fails when CI=true ([`need_server!`]). Each test makes its own database
//! ([`TestDb`]), dropped at the end, also after a panic.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use crate::lino::lino;
use crate::run::{stderr, stdout};
use crate::{path_str, skip_unless_ci, unique};

pub const HOST: &str = "127.0.0.1";

/// A password put into URLs to check that it is never shown.
pub const SECRET: &str = "Sup3r-s3cret";

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
