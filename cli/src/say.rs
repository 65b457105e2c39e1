//! Messages and results that can't be written never panic (std's
//! `println!` and `eprintln!` do, exit status 101): these macros shadow
//! them in the whole crate.
//!
//! What dump2py prints on standard output is a result (`--list-plugins`,
//! `--simulate`'s rows, `--verify`'s report): when it can't be written the
//! run fails (exit status 1). Standard error carries messages only: when it
//! can't be written (`2>/dev/full`) they are lost, and the exit status
//! still says what became of the dump (a complete dump is published, 0).
//!
//! Names from the database (and from plugins) are data: their control
//! characters (an escape sequence, a carriage return, a line break inside
//! a message) are written escaped, as `\u{1b}`, never raw to a terminal.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::Mutex;

/// The first error writing standard output.
static STDOUT_ERROR: Mutex<Option<String>> = Mutex::new(None);

macro_rules! println {
    () => { $crate::say::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::say::out(format_args!("{}\n", format_args!($($arg)*))) };
}

macro_rules! print {
    ($($arg:tt)*) => { $crate::say::out(format_args!($($arg)*)) };
}

macro_rules! eprintln {
    () => { $crate::say::err(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::say::err(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Writes to standard output, its line breaks kept and other control
/// characters escaped; the first failure is kept for [`stdout_error`].
pub fn out(args: Arguments) {
    let text = args.to_string();
    let text = escape_keeping(&text, true);
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(text.as_bytes()) {
        note(e);
    }
}

/// Writes a message to standard error, escaped (only the line breaks that
/// start or end it are kept); a failure is ignored (see the module's doc).
pub fn err(args: Arguments) {
    let _ = std::io::stderr()
        .lock()
        .write_all(message(&args.to_string()).as_bytes());
}

/// A message as written to standard error: control characters escaped
/// but for the line breaks that start or end it.
pub fn message(text: &str) -> String {
    let body = text.trim_matches('\n');
    let start = text.len() - text.trim_start_matches('\n').len();
    let end = start + body.len();
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&escape(body));
    out.push_str(&text[end.max(start)..]);
    out
}

/// `text` with every control character escaped (`\n`, `\u{1b}`).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    escape_keeping(text, false)
}

fn escape_keeping(text: &str, keep_newlines: bool) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\n' && keep_newlines {
            out.push(c);
        } else if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn note(e: std::io::Error) {
    let mut first = STDOUT_ERROR.lock().unwrap_or_else(|e| e.into_inner());
    first.get_or_insert_with(|| e.to_string());
}

/// Flushes standard output: the first error writing it, if any.
pub fn stdout_error() -> Option<String> {
    if let Err(e) = std::io::stdout().lock().flush() {
        note(e);
    }
    STDOUT_ERROR
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain é"), "plain é");
        assert_eq!(escape("a\u{1b}[2Jb\r\n\u{9b}"), "a\\u{1b}[2Jb\\r\\n\\u{9b}");
        assert_eq!(
            message("\nerror: table a\nb\u{7}\n"),
            "\nerror: table a\\nb\\u{7}\n"
        );
        assert_eq!(message("\n"), "\n");
        assert_eq!(message(""), "");
    }
}
