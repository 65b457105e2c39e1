//! Support for the integration tests (tests/tests), one module per
//! concern; here, what they all use: paths, names, skipping.
//!
//! - [`run`]: the dump2py binary, its output, its errors;
//! - [`passwords`]: a password in a URL, never shown;
//! - [`lino`]: the Lino and Django environments (tests/python) and the
//!   test sites (tests/sites);
//! - [`servers`]: the PostgreSQL and MariaDB servers, a database of the
//!   test's own;
//! - [`compare`]: dumps compared, also the same site's from SQLite and
//!   from a server;
//! - [`data_file`]: the rows of a Python dump's data file;
//! - [`backend_checks`]: what the backends' tests check alike;
//! - [`certs`]: certificates of the tests' own;
//! - [`private_mariadb`]: a MariaDB server of the test's own;
//! - [`site_schema`]: site schemas written by hand.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub mod backend_checks;
pub mod certs;
pub mod compare;
pub mod data_file;
pub mod lino;
pub mod passwords;
pub mod private_mariadb;
pub mod run;
pub mod servers;
pub mod site_schema;

/// The workspace's root.
pub fn root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// The URL of the min1 fixture, which no test writes to.
pub fn min1_url() -> String {
    sqlite_url(&fixture("min1.sqlite3"))
}

/// A fresh temporary directory, removed on drop.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A copy of `db` in a fresh temporary directory.
pub fn copy_db(db: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db.sqlite3");
    fs::copy(db, &path).expect("copy database");
    (dir, path)
}

pub fn sqlite_url(db: &Path) -> String {
    format!("sqlite:{}", db.display())
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
