//! The process around a dump: signals, `exit()` called by a plugin, a
//! closed standard output, the umask.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;

use crate::progress;

/// Whether fd 1 is closed, checked before Rust's runtime opens `/dev/null`
/// on it (which would make `--json -` write into nothing and succeed).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
pub(crate) static CHECK_STDOUT: extern "C" fn() = {
    extern "C" fn check() {
        // SAFETY: fcntl on fd 1 touches no memory.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } < 0 {
            dump2py_staging::note_stdout_closed();
        }
    }
    check
};

/// Set when dump2py itself ends the process (returning from `main`, or a
/// signal's handler): any other `exit()` is a plugin's or a library's.
pub(crate) static FINISHED: AtomicBool = AtomicBool::new(false);

/// A plugin (or a library it calls) may call `exit(0)` in the middle of a
/// dump: the process would end with status 0 and nothing published. An
/// `atexit` hook sees that the run didn't finish, removes the stagings,
/// says so on stderr and ends the process with status 1.
pub(crate) fn watch_exit() {
    extern "C" fn on_exit() {
        if FINISHED.load(Ordering::SeqCst) {
            return;
        }
        let what = match dump2py_staging::abort_all_now() {
            Some(0) | None => "no output was written".to_string(),
            Some(n) => format!("{n} output(s) already published, complete; no other was written"),
        };
        let msg = format!(
            "\nerror: the process was ended by exit() before dump2py finished (a plugin or a library it uses called it): {what}\n"
        );
        // SAFETY: writes a valid buffer to fd 2, then ends the process
        // without running the other exit hooks again.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(1);
        }
    }
    // SAFETY: registers a function that lives as long as the process.
    unsafe {
        libc::atexit(on_exit);
    }
}

/// SIGINT, SIGTERM, SIGHUP (and every other signal that would end the
/// process silently: SIGQUIT, SIGUSR1, SIGALRM, SIGXFSZ, …) abort the dump
/// like an error, even while the main thread waits for the database: the
/// stagings and spools are removed, the site's Python (--settings) is
/// killed, nothing more is published, and the exit status is 128 + the
/// signal.
pub(crate) fn watch_signals() -> std::io::Result<()> {
    use signal_hook::consts::*;
    // Every signal whose default ends the process without a word (SIGXFSZ:
    // a file over `ulimit -f`; SIGPIPE stays ignored, as Rust sets it).
    let mut signals = signal_hook::iterator::Signals::new([
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ, SIGVTALRM, SIGPROF,
    ])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let published = dump2py_staging::abort_all();
                let name = match signal {
                    SIGINT => "SIGINT",
                    SIGTERM => "SIGTERM",
                    SIGHUP => "SIGHUP",
                    SIGQUIT => "SIGQUIT",
                    SIGUSR1 => "SIGUSR1",
                    SIGUSR2 => "SIGUSR2",
                    SIGALRM => "SIGALRM",
                    SIGXFSZ => "SIGXFSZ (a file grew over the limit of `ulimit -f`)",
                    SIGVTALRM => "SIGVTALRM",
                    SIGPROF => "SIGPROF",
                    _ => "a signal",
                };
                let what = match published {
                    0 => "no output was written".to_string(),
                    n => format!("{n} output(s) already published, complete; no other was written"),
                };
                // The progress line gives way to the error; else below a `^C`.
                let newline = if progress::clear() { "" } else { "\n" };
                eprintln!("{newline}error: interrupted by {name}: {what}");
                FINISHED.store(true, Ordering::SeqCst);
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// A umask that takes the owner's permissions makes staging directories
/// dump2py can't write into or list: refused before anything is made.
pub(crate) fn check_umask() -> Result<()> {
    // SAFETY: umask only sets the process's mask; it is put back at once.
    let mask = unsafe {
        let mask = libc::umask(0o022);
        libc::umask(mask);
        mask
    };
    if mask & 0o700 != 0 {
        anyhow::bail!(
            "the umask {mask:03o} takes the owner's permissions: dump2py couldn't write or read \
             back its own files; use a umask such as 022 or 077"
        );
    }
    Ok(())
}
