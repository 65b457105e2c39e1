//! The Python reference environments (tests/python: Lino's, and Django's
//! alone), made once per machine by tests/python/setup-env.sh, and the
//! test sites (tests/sites) run in them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::root;
use crate::run::{bin, stderr, stdout};

pub const MIN1: &str = "min1tmp.settings";
pub const AWKWARD: &str = "awkward.settings";

/// The virtualenv with Django alone (tests/python/requirements-django.txt),
/// created once per machine by tests/python/setup-env.sh.
pub fn django_env() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let out = Command::new("bash")
            .arg(root().join("tests/python/setup-env.sh"))
            .arg("requirements-django.txt")
            .output()
            .expect("run setup-env.sh");
        assert!(
            out.status.success(),
            "setting up the Django environment failed:\n{}",
            stderr(&out)
        );
        PathBuf::from(stdout(&out).lines().last().unwrap_or_default().trim())
    })
}

/// The Lino reference environment, created once per machine by
/// tests/python/setup-env.sh.
pub struct Lino {
    pub venv: PathBuf,
}

static LINO: OnceLock<Lino> = OnceLock::new();

pub fn lino() -> &'static Lino {
    LINO.get_or_init(|| {
        let script = root().join("tests/python/setup-env.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run setup-env.sh");
        assert!(
            out.status.success(),
            "setting up the Python reference environment failed:\n{}",
            stderr(&out)
        );
        let venv = stdout(&out)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        Lino {
            venv: PathBuf::from(venv),
        }
    })
}

impl Lino {
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
        let out = self.admin_env(settings, db, env, args);
        assert!(
            out.status.success(),
            "django-admin {} failed:\n{}\n{}",
            args.join(" "),
            stdout(&out),
            stderr(&out)
        );
        out
    }

    /// A Python command with the site's environment.
    pub fn command(&self, settings: &str, db: &Path) -> Command {
        let mut c = Command::new(self.python());
        c.env("DJANGO_SETTINGS_MODULE", settings)
            .env("PYTHONPATH", root().join("tests/sites"))
            .env("DUMP2PY_TEST_DB", db)
            .env("LC_ALL", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
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

    /// `dumpdata` of the whole database into `out`, in the format its
    /// extension names. YAML keeps microseconds, Django's JSON doesn't.
    pub fn dumpdata(&self, settings: &str, db: &Path, out: &Path) {
        let o = out.to_string_lossy();
        let format = out.extension().and_then(|e| e.to_str()).unwrap_or("json");
        self.admin_ok(settings, db, &["dumpdata", "--format", format, "-o", &o]);
    }

    /// Restores a Python dump into `db`.
    pub fn restore(&self, settings: &str, db: &Path, dump: &Path) {
        let restore = dump.join("restore.py");
        self.admin_ok(
            settings,
            db,
            &["run", &restore.to_string_lossy(), "--noinput"],
        );
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
