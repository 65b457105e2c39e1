//! The wheel (pyproject.toml, maturin): what a Lino administrator installs
//! with pip. Built by tests/python/build-wheel.sh (tests/run runs it first).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use dump2py_tests::{
    copy_db, fixture,
    lino::{lino, MIN1},
    root,
    run::{stderr, stdout},
};

/// The wheel, built once per test process (a no-op rebuild when it's current).
fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| {
        // tests/run builds it first and says where.
        if let Some(w) = std::env::var_os("DUMP2PY_WHEEL").filter(|w| Path::new(w).is_file()) {
            return PathBuf::from(w);
        }
        let mut build = Command::new("bash");
        build.arg(root().join("tests/python/build-wheel.sh"));
        let out = build.output().expect("run build-wheel.sh");
        assert!(
            out.status.success(),
            "building the wheel failed:\n{}",
            stderr(&out)
        );
        let path = stdout(&out)
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_string();
        PathBuf::from(path)
    })
}

fn venv(dir: &Path) -> PathBuf {
    let venv = dir.join("venv");
    let out = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("python3 -m venv");
    assert!(out.status.success(), "{}", stderr(&out));
    venv
}

fn pip_install(python: &Path, wheel: &Path) {
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--no-index",
            "--force-reinstall",
            "-q",
        ])
        .args(["--disable-pip-version-check"])
        .arg(wheel)
        .output()
        .expect("pip install");
    assert!(
        out.status.success(),
        "pip install failed:\n{}",
        stderr(&out)
    );
}

/// A PATH without any virtualenv: the system's directories only.
fn plain_path() -> String {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !Path::new(d).join("activate").exists())
        .collect::<Vec<_>>()
        .join(":")
}

#[test]
fn the_wheel_installs_a_working_binary() {
    let wheel = wheel();
    let size = std::fs::metadata(wheel).expect("wheel").len();
    assert!(size < 25 << 20, "the wheel is {size} bytes, over 25 MB");
    let t = tempfile::tempdir().expect("tmp");
    let venv = venv(t.path());
    pip_install(&venv.join("bin/python"), wheel);
    let want = format!("dump2py {}", env!("CARGO_PKG_VERSION"));
    let direct = Command::new(venv.join("bin/dump2py"))
        .arg("--version")
        .env("PATH", plain_path())
        .output()
        .expect("run the installed dump2py");
    assert_eq!(stdout(&direct).trim(), want, "{}", stderr(&direct));
    let module = Command::new(venv.join("bin/python"))
        .args(["-m", "dump2py", "--version"])
        .env("PATH", plain_path())
        .output()
        .expect("python -m dump2py");
    assert_eq!(stdout(&module).trim(), want, "{}", stderr(&module));
    // The installed binary is stripped: no debug sections, no symbol table.
    let sections = Command::new("readelf")
        .args(["-S", "--wide"])
        .arg(venv.join("bin/dump2py"))
        .output()
        .expect("readelf (binutils)");
    let sections = stdout(&sections);
    assert!(
        sections.contains(".text"),
        "readelf listed no sections:\n{sections}"
    );
    assert!(
        !sections.contains(".debug_") && !sections.contains(".symtab"),
        "the installed binary is not stripped:\n{sections}"
    );
}

#[test]
fn installed_in_the_site_environment_it_finds_the_sites_python() {
    let lino = lino();
    pip_install(&lino.python(), wheel());
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let out = t.path().join("dump");
    // Neither --python nor the venv on the PATH: the python beside the binary.
    let run = Command::new(lino.venv.join("bin/dump2py"))
        .args(["--settings", MIN1, "-v", "2"])
        .arg(&out)
        .env("PATH", plain_path())
        .env("PYTHONPATH", root().join("tests/sites"))
        .env("DUMP2PY_TEST_DB", &db)
        .env("LC_ALL", "C.UTF-8")
        .env_remove("DATABASE_URL")
        .env_remove("VIRTUAL_ENV")
        .output()
        .expect("run the installed dump2py");
    assert!(run.status.success(), "{}", stderr(&run));
    let said = stderr(&run);
    assert!(
        said.contains(&format!("{}", lino.python().display())),
        "-v 2 should name the interpreter it used:\n{said}"
    );
    let restore = std::fs::read_to_string(out.join("restore.py")).expect("restore.py");
    assert!(restore.contains("DJANGO_SETTINGS_MODULE was 'min1tmp.settings'"));
}
