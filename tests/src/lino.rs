//! The Python reference environments (tests/python: Lino's, and Django's
//! alone), made once per machine by tests/python/setup-env.sh, and the
//! test sites (tests/sites) run in them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::root;
use crate::run::{bin, ok, stderr, stdout};
use crate::{fixture, path_str};

pub const MIN1: &str = "min1tmp.settings";
pub const AWKWARD: &str = "awkward.settings";

/// A Python environment of tests/python, made once per machine by
/// tests/python/setup-env.sh (cached in ~/.cache/dump2py): Lino's
/// ([`lino`]) or Django's alone ([`django`]); its commands run the test
/// sites (tests/sites).
pub struct Venv {
    pub venv: PathBuf,
}

/// setup-env.sh with `args`: the environment it prints last.
fn setup_env(args: &[&str], what: &str) -> Venv {
    let out = Command::new("bash")
        .arg(root().join("tests/python/setup-env.sh"))
        .args(args)
        .output()
        .expect("run setup-env.sh");
    assert!(
        out.status.success(),
        "setting up {what} failed:\n{}",
        stderr(&out)
    );
    let venv = stdout(&out)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_string();
    Venv {
        venv: PathBuf::from(venv),
    }
}

/// The Lino reference environment (tests/python/requirements.txt).
pub fn lino() -> &'static Venv {
    static LINO: OnceLock<Venv> = OnceLock::new();
    LINO.get_or_init(|| setup_env(&[], "the Python reference environment"))
}

/// The environment with Django alone (tests/python/requirements-django.txt).
pub fn django() -> &'static Venv {
    static DJANGO: OnceLock<Venv> = OnceLock::new();
    DJANGO.get_or_init(|| setup_env(&["requirements-django.txt"], "the Django environment"))
}

impl Venv {
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }

    /// `django-admin ARGS` for `settings` on the SQLite file `db`.
    pub fn admin(&self, settings: &str, db: &Path, args: &[&str]) -> Output {
        self.admin_env(settings, db, &[], args)
    }

    /// `django-admin ARGS` with extra environment variables (the test sites'
    /// variants, e.g. AWKWARD_VERSION).
    pub fn admin_env(
        &self,
        settings: &str,
        db: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        let _lock = self.migrations_lock(env);
        self.command(settings, db)
            .envs(env.iter().copied())
            .arg(self.venv.join("bin/django-admin"))
            .args(args)
            .output()
            .expect("run django-admin")
    }

    /// Lino's `initdb` on PostgreSQL writes `migrations/` folders into the
    /// shared venv's Lino packages and deletes them afterwards; any other
    /// Django command loading migrations meanwhile fails or picks them up.
    /// So commands on a PostgreSQL site run alone, all others side by side.
    fn migrations_lock(&self, env: &[(&str, &str)]) -> fs::File {
        let path = self.venv.join(".migrations.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let postgres = env
            .iter()
            .any(|(k, v)| *k == "DUMP2PY_TEST_DB_URL" && v.starts_with("postgres"));
        let locked = if postgres {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
        file
    }

    /// Our dump2py with `--settings` in the site's environment.
    pub fn ours(&self, settings: &str, db: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
        Command::new(bin())
            .args(["--settings", settings, "--python"])
            .arg(self.python())
            .args(args)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", db)
            .env("LC_ALL", "C.UTF-8")
            .env_remove("DATABASE_URL")
            .envs(env.iter().copied())
            .output()
            .expect("run dump2py")
    }

    pub fn ours_ok(
        &self,
        settings: &str,
        db: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        let out = self.ours(settings, db, env, args);
        assert!(
            out.status.success(),
            "dump2py {} failed: {}",
            args.join(" "),
            stderr(&out)
        );
        out
    }

    pub fn admin_ok(&self, settings: &str, db: &Path, args: &[&str]) -> Output {
        self.admin_env_ok(settings, db, &[], args)
    }

    pub fn admin_env_ok(
        &self,
        settings: &str,
        db: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Output {
        ok(
            self.admin_env(settings, db, env, args),
            &format!("django-admin {}", args.join(" ")),
        )
    }

    /// A Python command with the site's environment.
    pub fn command(&self, settings: &str, db: &Path) -> Command {
        let mut c = Command::new(self.python());
        c.env("DJANGO_SETTINGS_MODULE", settings)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", db)
            .env("LC_ALL", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("DUMP2PY_TEST_DB_URL")
            .env_remove("DATABASE_URL");
        c
    }

    /// Runs one of tests/python's scripts.
    pub fn script(&self, name: &str, args: &[&Path]) -> Output {
        Command::new(self.python())
            .arg(root().join("tests/python").join(name))
            .args(args)
            .output()
            .expect("run python script")
    }

    /// The test site `settings` in a fresh directory, on the SQLite file
    /// `db.sqlite3` there: min1 a copy of tests/fixtures/min1.sqlite3, any
    /// other after `prep` in the site's variant `env`.
    pub fn sqlite_site(
        &self,
        settings: &str,
        env: &[(&str, &str)],
    ) -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().expect("tempdir");
        let db = t.path().join("db.sqlite3");
        if settings == MIN1 {
            fs::copy(fixture("min1.sqlite3"), &db).expect("copy fixture");
        } else {
            self.admin_env_ok(settings, &db, env, &["prep", "--noinput", "-v0"]);
        }
        (t, db)
    }

    /// `dumpdata` of the whole database into `out`, in the format its
    /// extension names. YAML keeps microseconds, Django's JSON doesn't.
    pub fn dumpdata(&self, settings: &str, db: &Path, out: &Path) {
        self.dumpdata_with(settings, db, &[], out, &[]);
    }

    /// [`Venv::dumpdata`] with `options`, in the site's variant `env`.
    pub fn dumpdata_with(
        &self,
        settings: &str,
        db: &Path,
        env: &[(&str, &str)],
        out: &Path,
        options: &[&str],
    ) {
        let o = path_str(out);
        let format = out.extension().and_then(|e| e.to_str()).unwrap_or("json");
        let mut args = vec!["dumpdata", "--format", format, "-o", &o];
        args.extend(options);
        self.admin_env_ok(settings, db, env, &args);
    }

    /// `django-admin run DUMP/restore.py --noinput ARGS` (the run may fail).
    pub fn run_restore(
        &self,
        settings: &str,
        db: &Path,
        env: &[(&str, &str)],
        dump: &Path,
        args: &[&str],
    ) -> Output {
        let restore = path_str(&dump.join("restore.py"));
        let mut all = vec!["run", &restore, "--noinput"];
        all.extend(args);
        self.admin_env(settings, db, env, &all)
    }

    /// Restores a Python dump into `db`.
    pub fn restore(&self, settings: &str, db: &Path, dump: &Path) {
        let restore = self.run_restore(settings, db, &[], dump, &[]);
        ok(restore, "django-admin run restore.py --noinput");
    }

    /// Asserts that two dumpdata JSON files hold the same objects.
    pub fn assert_same_data(&self, a: &Path, b: &Path) {
        let out = self.script("compare_dumpdata.py", &[a, b]);
        assert!(
            out.status.success(),
            "dumpdata differs:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}
