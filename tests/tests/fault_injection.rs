//! A full or failing disk at every step of a dump: an LD_PRELOAD library
//! (tests/fault/fault.c) makes the Nth write-like call under the output's
//! directory fail, for every N of a small dump (min1 into OUTPUT_DIR, JSON
//! and XML). Each run must either fail with one line (exit 1, no panic)
//! and leave the directory exactly as it was, or succeed with exactly the
//! outputs of a run without faults.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dump2py_tests::{
    compare::{tree, Tree},
    min1_url, root,
    run::{bin, dump2py, dump_ok, stderr},
};

/// A directory's contents, manifests without their run ids.
type Snapshot = Tree;

fn snapshot(dir: &Path) -> Snapshot {
    let mut out = tree(dir);
    for (rel, content) in &mut out {
        if let Some(bytes) = content.take() {
            *content = Some(without_run(rel, bytes));
        }
    }
    out
}

/// A manifest with its run id as `*`: each run has an id of its own.
fn without_run(path: &Path, bytes: Vec<u8>) -> Vec<u8> {
    if !path.to_string_lossy().ends_with("dump2py.json") {
        return bytes;
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.split_once("\"run\": \"") {
            Some((head, _)) => {
                out.push_str(head);
                out.push_str("\"run\": \"*\"\n");
            }
            None => out.push_str(line),
        }
    }
    out.into_bytes()
}

/// Makes `dir` hold exactly `snap`.
fn restore(dir: &Path, snap: &Snapshot) {
    fs::remove_dir_all(dir).expect("clear");
    fs::create_dir(dir).expect("mkdir");
    for (rel, content) in snap {
        match content {
            None => fs::create_dir(dir.join(rel)).expect("mkdir"),
            Some(bytes) => fs::write(dir.join(rel), bytes).expect("write"),
        }
    }
}

/// What differs between two snapshots, for a message.
fn changes(before: &Snapshot, after: &Snapshot) -> String {
    let mut out = Vec::new();
    for (p, c) in after {
        match before.get(p) {
            None => out.push(format!("+{}", p.display())),
            Some(old) if old != c => out.push(format!("~{}", p.display())),
            _ => {}
        }
    }
    out.extend(
        (before.keys())
            .filter(|p| !after.contains_key(*p))
            .map(|p| format!("-{}", p.display())),
    );
    let n = out.len();
    out.truncate(6);
    if n > out.len() {
        out.push(format!("and {} more", n - out.len()));
    }
    out.join(" ")
}

/// Compiles the fault library into `dir`.
fn fault_library(dir: &Path) -> PathBuf {
    let lib = dir.join("libdump2py_fault.so");
    let cc = Command::new("cc")
        .args([
            "-shared",
            "-fPIC",
            "-std=gnu99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-o",
        ])
        .arg(&lib)
        .arg(root().join("tests/fault/fault.c"))
        .arg("-ldl")
        .output()
        .expect("run cc");
    assert!(cc.status.success(), "cc: {}", stderr(&cc));
    lib
}

struct Faults {
    lib: PathBuf,
    work: PathBuf,
    /// The failing call kills the process (SIGKILL) instead of failing.
    kill: bool,
}

impl Faults {
    /// The fault library built in `dir`, dump2py's work directory
    /// `dir/work`.
    fn new(dir: &Path, kill: bool) -> Faults {
        let work = dir.join("work");
        fs::create_dir(&work).expect("mkdir");
        Faults {
            lib: fault_library(dir),
            work,
            kill,
        }
    }

    /// dump2py ARGS with the Nth counted call failing (None: none), the
    /// calls logged to `log` if given.
    fn run(&self, args: &[String], at: Option<usize>, log: Option<&Path>) -> Output {
        let mut c = Command::new(bin());
        c.args(args)
            .env_remove("DATABASE_URL")
            .env("LD_PRELOAD", &self.lib)
            .env("DUMP2PY_FAULT_DIR", &self.work)
            .env(
                "DUMP2PY_FAULT_AT",
                at.map_or("0".to_string(), |n| n.to_string()),
            );
        if self.kill {
            c.env("DUMP2PY_FAULT_KILL", "1");
        }
        if let Some(log) = log {
            c.env("DUMP2PY_FAULT_LOG", log);
        }
        c.output().expect("run dump2py")
    }
}

/// The counted calls: (number, call, path).
fn calls(log: &Path) -> Vec<(usize, String, String)> {
    fs::read_to_string(log)
        .expect("read the fault log")
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let n = parts.next()?.parse().ok()?;
            Some((n, parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

/// Which calls to fail: all of them, or for a long run the first and last
/// 20, every rename, and an even spread, about 200 in all.
fn chosen(calls: &[(usize, String, String)]) -> Vec<usize> {
    let total = calls.len();
    if total <= 250 {
        return (1..=total).collect();
    }
    let mut n: Vec<usize> = (1..=20).chain(total - 19..=total).collect();
    n.extend(calls.iter().filter(|c| c.1 == "rename").map(|c| c.0));
    n.extend((1..=160).map(|i| i * total / 161));
    n.sort_unstable();
    n.dedup();
    n
}

/// Every counted call of `dump2py ARGS` over `old` (the work directory's
/// contents before), failed in turn.
fn every_fault(tag: &str, old: impl Fn(&Path), args: impl Fn(&Path) -> Vec<String>) {
    let t = tempfile::tempdir().expect("tempdir");
    let f = Faults::new(t.path(), false);
    let work = f.work.clone();
    old(&work);
    let before = snapshot(&work);
    let args = args(&work);
    let log = t.path().join("calls.log");
    let o = f.run(&args, None, Some(&log));
    assert!(o.status.success(), "{tag}: {}", stderr(&o));
    let complete = snapshot(&work);
    assert_ne!(complete, before, "{tag}: the dump changed nothing");
    let calls = calls(&log);
    assert!(
        calls.iter().any(|c| c.1 == "rename") && calls.iter().any(|c| c.1 == "write"),
        "{tag}: the library counted no renames or writes: {calls:?}"
    );
    let mut bad = Vec::new();
    for n in chosen(&calls) {
        restore(&work, &before);
        let o = f.run(&args, Some(n), None);
        let after = snapshot(&work);
        let (call, path) = calls
            .get(n - 1)
            .map_or(("?", "?"), |c| (c.1.as_str(), c.2.as_str()));
        let err = stderr(&o);
        let what = format!("{tag}: call {n} ({call} {path})");
        if o.status.success() {
            // A fault that changed nothing (mkdir of a directory that is
            // there) may pass unnoticed, if the outputs are whole.
            if after != complete {
                bad.push(format!(
                    "{what}: succeeded, but: {}",
                    changes(&complete, &after)
                ));
            }
            continue;
        }
        let one_line = err.trim_end().lines().count() == 1 && err.starts_with("error: ");
        if o.status.code() != Some(1) || !one_line || err.contains("panicked") {
            bad.push(format!(
                "{what}: exit {:?}, stderr {err:?}",
                o.status.code()
            ));
        }
        if after != before {
            bad.push(format!(
                "{what}: failed with {:?} and changed: {}",
                err.trim_end(),
                changes(&before, &after)
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} faults mishandled:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

fn outputs(work: &Path) -> Vec<String> {
    let p = |name: &str| work.join(name).to_string_lossy().into_owned();
    vec![
        "-v".into(),
        "0".into(),
        "-d".into(),
        min1_url(),
        p("dump"),
        "--json".into(),
        p("min1.json"),
        "--xml".into(),
        p("min1.xml"),
    ]
}

#[test]
fn a_fault_anywhere_leaves_no_output() {
    every_fault("new outputs", |_| {}, outputs);
}

#[test]
fn a_fault_anywhere_with_overwrite_leaves_the_old_outputs() {
    // The old outputs differ from the new: split files, indented.
    let old = |work: &Path| {
        let mut a = outputs(work);
        a.extend(["-m", "3", "--indent", "2"].map(String::from));
        dump_ok(&a);
    };
    let args = |work: &Path| {
        let mut a = outputs(work);
        a.push("-o".into());
        a
    };
    every_fault("--overwrite", old, args);
}

/// `kill -9` at each rename of the commit (and at each step of writing its
/// journal), over old outputs: the next run that writes beside them
/// completes the commit, or finds it never began. Either way every output
/// is whole and one run's, all old or all new, and --verify passes.
#[test]
fn a_kill_between_two_renames_is_completed_by_the_next_run() {
    let t = tempfile::tempdir().expect("tempdir");
    let f = Faults::new(t.path(), true);
    let work = f.work.clone();
    let mut old_args = outputs(&work);
    old_args.extend(["-m", "3", "--indent", "2"].map(String::from));
    dump_ok(&old_args);
    let before = snapshot(&work);
    let mut args = outputs(&work);
    args.push("-o".into());
    let log = t.path().join("calls.log");
    let o = f.run(&args, None, Some(&log));
    assert!(o.status.success(), "{}", stderr(&o));
    let complete = snapshot(&work);
    let calls = calls(&log);
    let chosen: Vec<usize> = calls
        .iter()
        .filter(|c| c.1 == "rename" || c.2.contains(".journal"))
        .map(|c| c.0)
        .collect();
    assert!(chosen.len() >= 6, "{calls:?}");
    let other = work.join("other");
    let min1 = min1_url();
    let mut bad = Vec::new();
    // Outputs --verify found half published: some kill must leave one.
    let mut cut_short = 0;
    for n in chosen {
        restore(&work, &before);
        let o = f.run(&args, Some(n), None);
        let (call, path) = (&calls[n - 1].1, &calls[n - 1].2);
        let what = format!("kill at call {n} ({call} {path})");
        if o.status.code().is_some() {
            bad.push(format!("{what}: not killed: {}", stderr(&o)));
            continue;
        }
        // --verify completes nothing, but says why an output doesn't pass.
        for output in ["dump", "min1.json", "min1.xml"] {
            let v = dump2py(["--verify", &work.join(output).to_string_lossy()]);
            if !v.status.success() {
                cut_short += 1;
                if !stderr(&v).contains("its publishing was cut short") {
                    bad.push(format!("{what}: --verify {output} before: {}", stderr(&v)));
                }
            }
        }
        // The next run writing beside them.
        let r = dump2py(["-v", "0", "-d", &min1, &other.to_string_lossy()]);
        if !r.status.success() {
            bad.push(format!("{what}: the next run failed: {}", stderr(&r)));
            continue;
        }
        fs::remove_dir_all(&other).expect("rm other");
        let after = snapshot(&work);
        if after != before && after != complete {
            bad.push(format!(
                "{what}: neither old nor new: against the new: {}",
                changes(&complete, &after)
            ));
            continue;
        }
        for output in ["dump", "min1.json", "min1.xml"] {
            let v = dump2py(["--verify", &work.join(output).to_string_lossy()]);
            if !v.status.success() {
                bad.push(format!("{what}: --verify {output}: {}", stderr(&v)));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(cut_short > 0, "no kill left an output half published");
}
