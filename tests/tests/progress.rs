//! The progress line on a terminal (issue 13): the CLI runs in a
//! pseudo-terminal of 80 columns (Python's `pty` and `termios`); every
//! frame fits one line, none is an empty `0/0`, plurals are right, and the
//! last frame shows every table done.

use std::path::Path;
use std::process::Command;

use dump2py_tests::{
    copy_db, fixture,
    run::{bin, stderr, stdout},
    sqlite_url,
};

/// Runs `args` with stdin, stdout and stderr on a pseudo-terminal of 24
/// rows and COLS columns, its controlling terminal; types Ctrl-C once the
/// output holds INTERRUPT_ON (when set); returns all it wrote and its exit
/// status.
const PTY_RUN: &str = r#"
import fcntl, os, struct, subprocess, sys, termios
cols = int(os.environ["COLS"])
interrupt_on = os.environ.get("INTERRUPT_ON", "").encode()
m, s = os.openpty()
fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
def own_terminal():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
p = subprocess.Popen(sys.argv[1:], stdin=s, stdout=s, stderr=s, close_fds=True,
                     preexec_fn=own_terminal)
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
    if interrupt_on and interrupt_on in out:
        os.write(m, b"\x03")  # the terminal sends SIGINT
        interrupt_on = b""
sys.stdout.buffer.write(out)
sys.exit(p.wait())
"#;

/// What `args` wrote on a terminal of `cols` columns, and its exit status;
/// Ctrl-C once the output holds `interrupt_on`.
fn on_terminal_of(cols: u16, interrupt_on: &str, args: &[&str]) -> (String, Option<i32>) {
    let out = Command::new("python3")
        .args(["-c", PTY_RUN])
        .arg(bin())
        .args(args)
        .env("TERM", "xterm")
        .env("COLS", cols.to_string())
        .env("INTERRUPT_ON", interrupt_on)
        .env_remove("DATABASE_URL")
        .output()
        .expect("python3");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    (stdout(&out), out.status.code())
}

fn on_terminal(args: &[&str]) -> String {
    let (text, status) = on_terminal_of(80, "", args);
    assert_eq!(status, Some(0), "{text}");
    text
}

/// The lines a terminal of `cols` columns shows at the end, from what was
/// written to it: characters wrap at the last column (as xterm: once one
/// more is written), `\r` returns, `\n` goes down, `ESC [ 2K` and
/// `ESC [ K` erase (the line, its rest), `ESC [ N A` goes up N lines;
/// other escape sequences change nothing on the screen.
fn screen(text: &str, cols: usize) -> Vec<String> {
    let mut lines: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut pending_wrap) = (0usize, 0usize, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => (col, pending_wrap) = (0, false),
            '\n' => {
                row += 1;
                pending_wrap = false;
            }
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                let mut param = String::new();
                let mut fin = ' ';
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        fin = c;
                        break;
                    }
                    param.push(c);
                }
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                match (fin, param.as_str()) {
                    ('K', "2") => lines[row].clear(),
                    ('K', "" | "0") => lines[row].truncate(col),
                    ('A', n) => row = row.saturating_sub(n.parse().unwrap_or(1)),
                    _ => {}
                }
                pending_wrap = false;
            }
            c if c.is_control() => {}
            c => {
                if pending_wrap {
                    (row, col, pending_wrap) = (row + 1, 0, false);
                }
                while lines.len() <= row {
                    lines.push(Vec::new());
                }
                let line = &mut lines[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                if col + 1 == cols {
                    pending_wrap = true;
                } else {
                    col += 1;
                }
            }
        }
    }
    lines
        .into_iter()
        .map(|l| l.into_iter().collect::<String>().trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Whether `line` is a progress frame (`3/12 tables  …`).
fn is_frame(line: &str) -> bool {
    let first = line.split(' ').next().unwrap_or_default();
    first.split_once('/').is_some_and(|(a, b)| {
        !a.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    }) && (line.contains(" table") || line.contains(" tables"))
}

#[test]
fn the_screen_emulation_wraps_erases_and_goes_up() {
    let s = screen("abcdef\r\x1b[2Kxy\r\nlong line\x1b[1A\r\x1b[2Kup", 4);
    assert_eq!(s, ["abcd", "xy", "long", "up", "e"]);
    assert!(is_frame("3/12 tables  1/2 rows") && !is_frame("Wrote 3/4 tables"));
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
        .filter(|l| is_frame(l))
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

/// `-v 3`'s lines (a table read) and `-v 2`'s (a table dumped) go above
/// the progress line: the screen keeps no old frame, only the last.
#[test]
fn verbose_lines_leave_no_old_frames() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let dump = t.path().join("dump");
    let text = on_terminal(&["-d", &sqlite_url(&db), &dump.to_string_lossy(), "-v", "3"]);
    let lines = screen(&text, 80);
    let frames: Vec<&String> = lines.iter().filter(|l| is_frame(l)).collect();
    assert_eq!(frames.len(), 1, "{lines:#?}");
    assert!(
        frames[0].starts_with("11/11 tables  280/280 rows  done in "),
        "{lines:#?}"
    );
    // Each table read once, then dumped with the rows read, in order.
    let reads: Vec<&str> = (lines.iter())
        .filter_map(|l| l.strip_prefix("read table "))
        .collect();
    let dumped: Vec<&str> = (lines.iter())
        .filter(|l| !l.starts_with("read table ") && !is_frame(l) && !l.starts_with("Wrote "))
        .map(String::as_str)
        .collect();
    assert_eq!(reads, dumped, "{lines:#?}");
    assert_eq!(reads.len(), 11, "{lines:#?}");
    assert!(reads.contains(&"system_siteconfig: 1 row"), "{lines:#?}");
    // The first thing shown is the spinner, while the schema is read.
    let first = self::frames(&text).into_iter().next().unwrap_or_default();
    assert!(first.contains("reading the schema"), "{first:?}");
}

/// On a terminal of 40 columns every frame fits one line: the screen
/// holds the last frame and no piece of an older one.
#[test]
fn frames_fit_a_narrow_terminal() {
    let (t, db) = copy_db(&fixture("min1.sqlite3"));
    let dump = t.path().join("dump");
    let (text, status) = on_terminal_of(40, "", &["-d", &sqlite_url(&db), &dump.to_string_lossy()]);
    assert_eq!(status, Some(0), "{text}");
    let shown = self::frames(&text);
    for f in shown
        .iter()
        .filter(|f| is_frame(f) || f.contains("reading the schema"))
    {
        assert!(f.chars().count() < 40, "{f:?}");
    }
    let lines = screen(&text, 40);
    assert!(
        lines[0].starts_with("11/11 tables  280/280 rows"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("Wrote 280 objects from 11 tables"),
        "{lines:#?}"
    );
}

/// Ctrl-C during a dump: the progress line gives way to one error line,
/// nothing is written, exit status 130.
#[test]
fn ctrl_c_leaves_one_error_line_and_no_frame() {
    let t = tempfile::tempdir().expect("tempdir");
    let db = t.path().join("big.sqlite3");
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute_batch(
        "CREATE TABLE app_big (id integer PRIMARY KEY, name text);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000000)
         INSERT INTO app_big SELECT x, 'name ' || x FROM n;",
    )
    .expect("fill");
    drop(conn);
    let dump = t.path().join("dump");
    // Once rows are being read.
    let (text, status) = on_terminal_of(
        80,
        "000/2.0M rows  app_big",
        &["-d", &sqlite_url(&db), &dump.to_string_lossy()],
    );
    assert_eq!(status, Some(130), "{text:?}");
    let lines = screen(&text, 80);
    assert_eq!(
        lines,
        ["error: interrupted by SIGINT: no output was written"],
        "{text:?}"
    );
    assert!(!dump.exists());
}

/// On PostgreSQL nothing is counted before it is read: the total is the
/// server's estimate (`pg_class.reltuples`), here twice the rows left after
/// a DELETE that no VACUUM or ANALYZE saw, with an ETA from it; the total
/// shrinks to the rows read when the table ends.
#[test]
fn the_total_is_the_servers_estimate_corrected_as_rows_arrive() {
    use dump2py_tests::need_server;
    use dump2py_tests::servers::{Backend, TestDb};
    need_server!(Backend::Postgres);
    let db = TestDb::new(Backend::Postgres, "progress_estimate");
    db.sql(
        "CREATE TABLE app_big (id bigint PRIMARY KEY, name text) \
         WITH (autovacuum_enabled = off);
         INSERT INTO app_big SELECT i, 'name ' || i FROM generate_series(1, 400000) AS i;
         ANALYZE app_big;
         DELETE FROM app_big WHERE id > 200000;",
    );
    let t = tempfile::tempdir().expect("tempdir");
    let dump = t.path().join("dump");
    let text = on_terminal(&["-d", &db.url, &dump.to_string_lossy()]);
    let frames = progress_frames(&text);
    assert!(
        frames
            .iter()
            .any(|f| f.starts_with("0/1 table  0/400.0k rows")),
        "{frames:?}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f.contains("/400.0k rows") && f.contains("  ETA ")),
        "{frames:?}"
    );
    let last = frames.last().map(String::as_str).unwrap_or_default();
    assert!(
        last.starts_with("1/1 table  200.0k/200.0k rows  done in "),
        "{last:?} in {frames:?}"
    );
}
