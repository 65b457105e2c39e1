//! The progress line on a terminal (issue 13): the CLI runs in a
//! pseudo-terminal of 80 columns (Python's `pty` and `termios`); every
//! frame fits one line, none is an empty `0/0`, plurals are right, and the
//! last frame shows every table done.

use std::path::Path;
use std::process::Command;

use dump2py_tests::*;

/// Runs `args` with stdin, stdout and stderr on a pseudo-terminal of 24
/// rows and 80 columns; returns all it wrote and its exit status.
const PTY_RUN: &str = r#"
import fcntl, os, struct, subprocess, sys, termios
m, s = os.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
p = subprocess.Popen(sys.argv[1:], stdin=s, stdout=s, stderr=s, close_fds=True)
os.close(s)
out = b""
while True:
    try:
        chunk = os.read(m, 65536)
    except OSError:  # EIO: the child closed the terminal
        break
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(p.wait())
"#;

fn on_terminal(args: &[&str]) -> String {
    let out = Command::new("python3")
        .args(["-c", PTY_RUN])
        .arg(bin())
        .args(args)
        .env("TERM", "xterm")
        .env_remove("DATABASE_URL")
        .output()
        .expect("python3");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    text
}

/// The text between carriage returns, newlines and escape sequences: what
/// each frame (or other line) shows.
fn frames(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' | '\n' => out.push(std::mem::take(&mut cur)),
            // CSI: ESC [ parameters, then one final letter.
            '\u{1b}' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn progress_frames(text: &str) -> Vec<String> {
    let frames: Vec<String> = (self::frames(text).into_iter())
        .filter(|l| l.contains(" table") && !l.starts_with("Wrote "))
        .collect();
    for f in &frames {
        assert!(f.chars().count() <= 80, "wider than 80 columns: {f:?}");
    }
    frames
}

#[test]
fn progress_frames_fit_80_columns_and_end_with_every_table_done() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let d = |n: &str| t.path().join(n).to_string_lossy().into_owned();
    let text = on_terminal(&["-d", &sqlite_url(&db), &d("dump"), "--json", &d("a.json")]);
    let frames = progress_frames(&text);
    assert!(!frames.is_empty(), "no progress shown: {text:?}");
    for f in &frames {
        assert!(!f.contains("0/0 "), "an empty frame: {f:?}");
        assert!(f.ends_with(" tables") || f.contains(" tables  "), "{f:?}");
        assert!(!f.contains(" 1 rows"), "{f:?}");
    }
    // The sessions table too, for the JSON.
    let last = frames.last().map(String::as_str).unwrap_or_default();
    assert!(
        last.starts_with("12/12 tables  280/280 rows  done in "),
        "{last:?} in {frames:?}"
    );
    assert!(
        text.contains("Wrote 280 objects from 12 tables"),
        "{text:?}"
    );
    assert!(Path::new(&d("dump")).join("restore.py").exists());
}

#[test]
fn one_table_one_row_in_the_singular_and_a_long_name_cut() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("one.sqlite3");
    // A name longer than the line: cut in the frames.
    let table = format!("app_{}", "long".repeat(25));
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(&format!(
        "CREATE TABLE {table} (id integer PRIMARY KEY, name text);
         INSERT INTO {table} VALUES (1, 'one');"
    ))
    .expect("create");
    drop(conn);
    let dump = t.path().join("dump");
    let text = on_terminal(&["-d", &sqlite_url(&db), &dump.to_string_lossy(), "-v", "2"]);
    let frames = progress_frames(&text);
    let last = frames.last().map(String::as_str).unwrap_or_default();
    assert!(
        last.starts_with("1/1 table  1/1 row  done in "),
        "{last:?} in {frames:?}"
    );
    let lines = self::frames(&text);
    let line = format!("{table}: 1 row");
    assert!(lines.contains(&line), "{lines:?}");
    assert!(
        frames
            .iter()
            .any(|f| f.contains("  app_longlong") && f.ends_with("lo…")),
        "{frames:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Wrote 1 object from 1 table to ")),
        "{lines:?}"
    );
}
