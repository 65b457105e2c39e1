//! A dump stopped by a signal mid-table: SIGINT, SIGTERM, SIGHUP, SIGQUIT,
//! SIGUSR1, SIGALRM and SIGXFSZ (`ulimit -f`) abort it like an error (staging and spool removed, the old dump intact, exit
//! 128 + the signal); what a SIGKILL leaves is removed by the next run that
//! writes beside it.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::bigdb::{big_db, dot_files, wait_for_data_files};
use dump2py_tests::{
    compare::read_dump,
    fixture, min1_url, path_str,
    run::{bin, dump_ok, stderr, stdout},
    sqlite_url,
};

const ROWS: u64 = 1_000_000;

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
    let min1 = min1_url();
    dump_ok(["-d", &min1, &path_str(&t.path().join("dump"))]);
    let old = read_dump(&t.path().join("dump"));
    (t, old)
}

#[test]
fn a_signal_aborts_the_dump_and_leaves_nothing() {
    for (signal, code) in [
        ("INT", 130),
        ("TERM", 143),
        ("HUP", 129),
        ("QUIT", 131),
        ("USR1", 138),
        ("ALRM", 142),
    ] {
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
    let min1 = min1_url();
    dump_ok(["-d", &min1, &path_str(&t.path().join("other"))]);
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
    // And the old dump is replaced as usual.
    dump_ok(["-o", "-d", &min1, &path_str(&t.path().join("dump"))]);
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
    assert!(fs::read_dir(t.path().join("dump")).is_ok());
}

/// A file over `ulimit -f` raises SIGXFSZ: handled as SIGTERM is.
#[test]
fn a_file_over_ulimit_f_aborts_like_a_signal() {
    let (t, old) = with_old_dump();
    let min1 = min1_url();
    // 100 blocks of 512 bytes: the JSON of min1 is bigger.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -f 100 && exec \"$0\" \"$@\"")
        .arg(bin())
        .args(["-o", "-d", &min1, "-v", "0"])
        .arg(t.path().join("dump"))
        .arg("--json")
        .arg(t.path().join("data.json"))
        .output()
        .expect("run sh");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(128 + 25), "{err}");
    assert!(err.contains("interrupted by SIGXFSZ"), "{err}");
    assert_eq!(dot_files(t.path()), Vec::<String>::new());
    assert!(!t.path().join("data.json").exists());
    assert_eq!(read_dump(&t.path().join("dump")), old);
}

/// Whether process `pid` is gone (or a zombie about to be reaped).
fn gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// SIGTERM while the site's Python reads its metadata (--settings) kills
/// that Python too.
#[test]
fn a_signal_during_settings_kills_the_sites_python() {
    let t = tempfile::tempdir().expect("tempdir");
    let pidfile = t.path().join("pid");
    let python = t.path().join("python");
    fs::write(
        &python,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 120\n",
            path_str(&pidfile)
        ),
    )
    .expect("write");
    let made = Command::new("chmod").arg("+x").arg(&python).status();
    assert!(made.expect("chmod").success());
    let child = Command::new(bin())
        .args([
            "--settings",
            "site.settings",
            "--python",
            &path_str(&python),
        ])
        .arg(t.path().join("dump"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dump2py");
    let mut pid = String::new();
    for _ in 0..200 {
        pid = fs::read_to_string(&pidfile).unwrap_or_default();
        if !pid.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = pid.trim().to_string();
    assert!(!pid.is_empty(), "the site's Python never started");
    kill(&child, "TERM");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    let mut dead = false;
    for _ in 0..100 {
        dead = gone(&pid);
        if dead {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if !dead {
        let _ = Command::new("kill").args(["-9", &pid]).status();
    }
    assert!(dead, "the site's Python ({pid}) still runs");
}

/// A umask that takes the owner's permissions (777) is refused before
/// anything is made; what a run under one left (mode 000) is removed by
/// the next run. Run as an unprivileged user (root may write
/// anywhere): as `nobody` through setpriv when the tests run as root.
#[test]
fn what_a_run_under_umask_777_makes_is_removed() {
    let t = tempfile::tempdir().expect("tempdir");
    let root = Command::new("id").arg("-u").output().expect("id");
    let as_root = stdout(&root).trim() == "0";
    let work = t.path().join("work");
    fs::create_dir(&work).expect("mkdir");
    let mut prefix: Vec<String> = Vec::new();
    if as_root {
        let ok = Command::new("setpriv").arg("--version").output();
        if !ok.is_ok_and(|o| o.status.success()) {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("setpriv is missing: can't run as another user");
            }
            eprintln!("SKIPPED: setpriv is missing: can't run as another user");
            return;
        }
        let chown = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(t.path())
            .status()
            .expect("chown");
        assert!(chown.success());
        prefix = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
        .map(String::from)
        .to_vec();
    }
    // The fixture must be readable by that user: a copy of its own.
    let db = work.join("db.sqlite3");
    fs::copy(fixture("min1.sqlite3"), &db).expect("copy");
    if as_root {
        let _ = Command::new("chown")
            .args(["65534:65534"])
            .arg(&db)
            .status();
    }
    let run = |umask: &str, extra: &[&str]| {
        let mut args = prefix.clone();
        args.extend(["sh".into(), "-c".into()]);
        args.push(format!("umask {umask} && exec \"$0\" \"$@\""));
        args.push(path_str(&bin()));
        args.extend(extra.iter().map(|a| a.to_string()));
        args.extend([
            "-d".into(),
            sqlite_url(&db),
            "--json".into(),
            path_str(&work.join("o.json")),
        ]);
        args.push(path_str(&work.join("dump")));
        Command::new(&args[0])
            .args(&args[1..])
            .current_dir(&work)
            .output()
            .expect("run")
    };
    for umask in ["777", "200"] {
        let out = run(umask, &[]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with(&format!(
                "error: the umask {umask} takes the owner's permissions"
            )),
            "{err}"
        );
        assert!(fs::read_dir(&work).expect("ls").count() == 1, "{err}");
    }
    // What a run killed under such a umask (an older dump2py) left: a
    // staging of mode 000, and a file in it.
    let left = work.join(".dump.dump2py-999999.tmp");
    fs::create_dir(&left).expect("mkdir");
    fs::write(left.join("x.py"), "x").expect("write");
    let inner = left.join("sub");
    fs::create_dir(&inner).expect("mkdir");
    for p in [&inner, &left] {
        let _ = Command::new("chown").args(["65534:65534"]).arg(p).status();
        fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o000)).expect("chmod");
    }
    let out = run("022", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(dot_files(&work), Vec::<String>::new());
    assert!(work.join("dump/restore.py").exists());
}
