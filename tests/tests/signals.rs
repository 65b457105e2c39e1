//! A dump stopped by a signal mid-table: SIGINT, SIGTERM and SIGHUP abort
//! it like an error (staging and spool removed, the old dump intact, exit
//! 128 + the signal); what a SIGKILL leaves is removed by the next run that
//! writes beside it.

#[path = "common/bigdb.rs"]
mod bigdb;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use bigdb::{big_db, dot_files, wait_for_data_files};
use dump2py_tests::*;

const ROWS: u64 = 1_000_000;

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A dump of the big database over an old dump in `dir/dump`, with a
/// JSON output too (it spools beside its target).
fn start_dump(dir: &Path) -> Child {
    let db = big_db(ROWS);
    Command::new(bin())
        .args(["-o", "-d", &sqlite_url(&db), "-v", "0"])
        .arg(dir.join("dump"))
        .arg("--json")
        .arg(dir.join("data.json"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dump2py")
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(ok.success(), "kill -s {signal} failed");
}

/// A directory with an old dump of min1, and what it holds.
fn with_old_dump() -> (
    tempfile::TempDir,
    std::collections::BTreeMap<String, Vec<u8>>,
) {
    let t = tempfile::tempdir().expect("tempdir");
    let min1 = sqlite_url(&fixture("min1.sqlite3"));
    dump_ok(["-d", &min1, &s(&t.path().join("dump"))]);
    let old = read_dump(&t.path().join("dump"));
    (t, old)
}

#[test]
fn a_signal_aborts_the_dump_and_leaves_nothing() {
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let (t, old) = with_old_dump();
        let mut child = start_dump(t.path());
        wait_for_data_files(&mut child, &t.path().join("dump"));
        kill(&child, signal);
        let out = child.wait_with_output().expect("wait");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "SIG{signal}: {err}");
        assert!(
            err.contains(&format!("interrupted by SIG{signal}")),
            "{err}"
        );
        assert_eq!(dot_files(t.path()), Vec::<String>::new(), "SIG{signal}");
        assert!(!t.path().join("data.json").exists(), "SIG{signal}");
        assert_eq!(read_dump(&t.path().join("dump")), old, "SIG{signal}");
    }
}

#[test]
fn what_a_sigkill_leaves_is_removed_by_the_next_run() {
    let (t, old) = with_old_dump();
    let mut child = start_dump(t.path());
    wait_for_data_files(&mut child, &t.path().join("dump"));
    kill(&child, "KILL");
    let _ = child.wait();
    let left = dot_files(t.path());
    assert!(
        left.iter().any(|n| n.ends_with(".tmp")) && left.iter().any(|n| n.ends_with(".lock")),
        "{left:?}"
    );
    assert_eq!(read_dump(&t.path().join("dump")), old);
    // A run writing another output beside them removes them.
    let min1 = sqlite_url(&fixture("min1.sqlite3"));
    dump_ok(["-d", &min1, &s(&t.path().join("other"))]);
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
    // And the old dump is replaced as usual.
    dump_ok(["-o", "-d", &min1, &s(&t.path().join("dump"))]);
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
    assert!(fs::read_dir(t.path().join("dump")).is_ok());
}
