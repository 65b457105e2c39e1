//! Messages and results that can't be written never panic (std's
//! `println!` and `eprintln!` do, exit status 101): these macros shadow
//! them in the whole crate.
//!
//! What dump2py prints on standard output is a result (`--list-plugins`,
//! `--simulate`'s rows, `--verify`'s report): when it can't be written the
//! run fails (exit status 1). Standard error carries messages only: when it
//! can't be written (`2>/dev/full`) they are lost, and the exit status
//! still says what became of the dump (a complete dump is published, 0).

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

/// Writes to standard output; the first failure is kept for [`stdout_error`].
pub fn out(args: Arguments) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        note(e);
    }
}

/// Writes to standard error; a failure is ignored (see the module's doc).
pub fn err(args: Arguments) {
    let _ = std::io::stderr().lock().write_fmt(args);
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
