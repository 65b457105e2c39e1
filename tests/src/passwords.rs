//! dump2py on a URL with a password: the password is never shown, not on
//! stdout or stderr, not in an error, not in a file.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::compare::{read_dump, Dump};
use crate::path_str;
use crate::run::{dump2py, dump_ok, fails_with, stderr, stdout};

/// Asserts that `secret` is neither on stdout nor on stderr.
pub fn assert_no_secret(o: &Output, secret: &str) {
    for text in [stdout(o), stderr(o)] {
        assert!(!text.contains(secret), "password shown: {text}");
    }
}

/// The error of a run that failed (exit code 1) with one line, not a
/// panic, that does not show `secret`.
pub fn one_line_error(o: &Output, secret: &str) -> String {
    let err = fails_with(o, 1);
    assert_no_secret(o, secret);
    err.trim().to_string()
}

/// [`one_line_error`] of dump2py ARGS, which must fail within `limit`.
pub fn fails_within(limit: Duration, secret: &str, args: &[&str]) -> String {
    let start = Instant::now();
    let err = one_line_error(&dump2py(args), secret);
    assert!(start.elapsed() < limit, "{:?}: {err}", start.elapsed());
    err
}

/// The stderr of `dump2py -t -d URL OUT`, which must skip tables it can't
/// read (exit code 3) and not show `secret`.
pub fn dump_tolerating(url: &str, out: &Path, secret: &str) -> String {
    let o = dump2py(["-t", "-d", url, &path_str(out)]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_no_secret(&o, secret);
    stderr(&o)
}

/// A dump from `url`, which holds the password `secret`: it succeeds and
/// shows the password nowhere, not even with `-v 2`, nor in a file.
pub fn dump_hiding(url: &str, out: &Path, secret: &str) -> Dump {
    let o = dump_ok(["-d", url, &path_str(out), "-v", "2"]);
    assert_no_secret(&o, secret);
    let files = read_dump(out);
    for (name, content) in &files {
        let text = String::from_utf8_lossy(content);
        assert!(!text.contains(secret), "{name} shows the password");
    }
    files
}
