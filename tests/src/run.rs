//! Running dump2py: the binary, its output, its errors; a dump in the
//! background.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The dump2py binary that cargo built beside this test (target/debug),
/// the one place the tests find it. Not `env!("CARGO_BIN_EXE_dump2py")`:
/// cargo sets that only for a binary of the test's own package, and
/// dump2py is the `cli` package's.
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join(format!("dump2py{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p dump2py` (tests/run does)",
        bin.display()
    );
    bin
}

pub fn dump2py<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(bin())
        .args(args)
        .env_remove("DATABASE_URL")
        // Else --settings' default (as Django's commands).
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .expect("run dump2py")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `out` of `what`, which must have succeeded (else its stdout and stderr
/// are shown).
pub fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// Runs dump2py and insists on success.
pub fn dump_ok<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = dump2py(args);
    assert!(out.status.success(), "dump2py failed: {}", stderr(&out));
    out
}

/// The stderr of a run: one line, not a panic.
pub fn one_line(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// [`one_line`] of a run that failed with exit status `code`.
pub fn fails_with(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    one_line(o)
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
