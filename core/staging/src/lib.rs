//! Outputs appear only when complete: a sink writes next to its target
//! and `publish` renames the finished output into place.
//!
//! Beside a target `NAME` everything of one run shares a stem,
//! `.NAME.dump2py` (shortened with a hash when the name is long):
//! `STEM.lock` (held with `flock` by the run writing NAME, holding its
//! PID), `STEM-PID.tmp` (the staging), `STEM-PID.side` (a file's manifest
//! being staged), `STEM-PID.spool` (the JSON/XML spool), `STEM-PID.old`
//! and `STEM-PID.oldside` (an old output and its manifest, kept until every
//! new output is in place), `STEM-PID.del` (being removed). A lock
//! that nobody holds means its run is gone (killed): the next run beside
//! it removes what that run left.
//!
//! Every live staging and spool is also in a process-wide list, so that a
//! signal handler can remove them ([`abort_all`]) even while the main
//! thread is blocked in a database read; `publish` refuses once aborting.
//! The pipeline publishes all outputs in one [`Transaction`], a value it
//! passes to each sink's `publish` and then to [`commit`]: all move into
//! place, or each target stays as it was. A [`HashedFile`] hands its digest
//! back when finished, for its [`Staged`] output's manifest.
//!
//! A published output carries a manifest (`dump2py.json` inside a
//! directory, `NAME.dump2py.json` beside a file): what `--overwrite`
//! recognises as written by dump2py, the only thing it replaces.

mod beside;
mod hashed;
mod journal;
mod manifest;
mod moves;
mod staged;
#[cfg(test)]
mod tests;
mod transaction;

use beside::{clean_stale, hex, Names, TargetLock};
pub use hashed::{FileDigest, HashedFile, Paused};
pub use journal::{interrupted, run_id};
pub use manifest::{
    check_target, describe, dir_files, load_manifest, published_by_us, read_manifest, safe_name,
    sidecar_of, Manifest, ManifestFile,
};
use manifest::{described, existing, write_manifest};
pub use staged::Staged;

pub use dump2py_plugin::Transaction;
pub use transaction::commit;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use dump2py_model::error::{Error, Result};

/// The manifest inside a Python dump.
pub const MANIFEST: &str = "dump2py.json";
/// Appended to a file output's name for its manifest.
pub const SIDECAR_SUFFIX: &str = ".dump2py.json";
/// The manifest format of a directory (a Python dump) and of a single file.
pub const FORMAT_DIR: &str = "dump2py-python";
pub const FORMAT_FILE: &str = "dump2py-file";

/// Names longer than this are shortened in the stem: every name beside
/// the target must stay within 255 bytes (`-PID.spool` included).
const NAME_ROOM: usize = 200;

static SYNC: AtomicBool = AtomicBool::new(true);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static LIVE: Mutex<Live> = Mutex::new(Live {
    aborting: false,
    published: 0,
    committed: BTreeSet::new(),
    entries: BTreeMap::new(),
});

/// Whether published files and directories are fsynced (`--no-sync` turns it off).
pub fn set_sync(on: bool) {
    SYNC.store(on, Ordering::SeqCst);
}

fn sync_on() -> bool {
    SYNC.load(Ordering::SeqCst)
}

struct Live {
    aborting: bool,
    /// Outputs published so far.
    published: usize,
    /// The ids of the outputs moved into place.
    committed: BTreeSet<u64>,
    entries: BTreeMap<u64, Entry>,
}

/// Something of this run on disk that a signal must remove.
struct Entry {
    /// Removed, in this order, on abort.
    remove: Vec<PathBuf>,
    /// A lock file, unlinked last.
    lock: Option<PathBuf>,
    /// For an output: what publishing it needs.
    pending: Option<Pending>,
}

#[derive(Clone)]
struct Pending {
    target: PathBuf,
    staging: PathBuf,
    /// A file's manifest: where it is staged.
    sidecar: Option<PathBuf>,
    overwrite: bool,
    dir: bool,
    /// Rows per table, for the manifest.
    tables: BTreeMap<String, u64>,
    /// What the sink's [`HashedFile`]s recorded of the files they wrote.
    digests: Vec<FileDigest>,
}

fn live() -> MutexGuard<'static, Live> {
    // Entries are whole after any panic: use them as they are.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

fn register(entry: Entry) -> u64 {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    live().entries.insert(id, entry);
    id
}

fn unregister(id: u64) {
    live().entries.remove(&id);
}

/// Whether a signal is aborting the run: the main thread should then stop
/// quietly and let the signal handler exit.
pub fn aborting() -> bool {
    live().aborting
}

/// Removes every live staging, spool and lock of this process and makes
/// every later `publish` fail. For a signal handler: it may run while
/// the main thread writes into the stagings, so each is first renamed away
/// (later writes by path then fail instead of recreating it). Returns how
/// many outputs were published before (all complete).
pub fn abort_all() -> usize {
    kill_children();
    let mut live = live();
    live.aborting = true;
    for entry in std::mem::take(&mut live.entries).into_values() {
        for p in &entry.remove {
            let away = p.with_extension("del");
            match fs::rename(p, &away) {
                Ok(()) => remove(&away),
                Err(_) => remove(p),
            }
        }
        if let Some(lock) = &entry.lock {
            let _ = fs::remove_file(lock);
        }
    }
    let published = live.published;
    // The lock stays taken: the main thread can't publish from here on.
    std::mem::forget(live);
    published
}

/// Process groups of child processes (the site's Python) to kill when a
/// signal or an exit hook ends the run.
static CHILDREN: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// A child process started in a process group of its own (its PID), killed
/// with its group by [`abort_all`]; forgotten when this is dropped.
pub struct ChildWatch(i32);

/// Notes a child (started with `process_group(0)`) for [`abort_all`].
pub fn watch_child(pid: u32) -> ChildWatch {
    let pid = pid as i32;
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    ChildWatch(pid)
}

impl Drop for ChildWatch {
    fn drop(&mut self) {
        CHILDREN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| *p != self.0);
    }
}

fn kill_children() {
    let children = match CHILDREN.try_lock() {
        Ok(c) => c,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    for pid in children.iter() {
        // SAFETY: kill touches no memory; -pid is the child's group.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

/// fsync of a file or directory.
fn sync_path(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// A temporary directory of this run (the JSON/XML sinks' spool),
/// removed when dropped, and by a signal.
#[derive(Debug)]
pub struct Spool {
    path: PathBuf,
    id: u64,
}

impl Spool {
    fn create(path: PathBuf) -> Result<Spool> {
        let id = register(Entry {
            remove: vec![path.clone()],
            lock: None,
            pending: None,
        });
        let spool = Spool { path, id };
        remove(&spool.path);
        fs::create_dir(&spool.path).map_err(|e| Error::io(&spool.path, e))?;
        Ok(spool)
    }

    /// A spool in the system's temporary directory (for an output on
    /// standard output, which has no place beside it).
    pub fn in_temp_dir() -> Result<Spool> {
        let base = std::env::temp_dir();
        let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        Spool::create(base.join(format!(".dump2py-{}-{n}.spool", std::process::id())))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        remove(&self.path);
        unregister(self.id);
    }
}

fn remove(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            // A directory made under `umask 777` can't be listed: ours,
            // it is made listable first.
            if fs::remove_dir_all(path).is_err() {
                open_up(path);
                let _ = fs::remove_dir_all(path);
            }
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

/// Gives the owner every permission on `dir` and the directories in it,
/// so that they can be listed and emptied.
fn open_up(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).is_err() {
        return;
    }
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&e.path());
            }
        }
    }
}

/// Standard output as a file of its own (a duplicate of fd 1), for an
/// output written there: Rust's `io::stdout()` takes a closed fd 1 for a
/// sink that accepts everything, which would lose the output silently.
/// Checked before anything is read: closed, or not open for writing, is
/// an error.
pub fn stdout_file() -> Result<File> {
    use std::os::fd::FromRawFd;
    let stdout = Path::new("<stdout>");
    if STDOUT_CLOSED.load(Ordering::SeqCst) {
        return Err(Error::Usage(
            "standard output is closed: nowhere to write the output named '-'".into(),
        ));
    }
    // SAFETY: fcntl on fd 1 touches no memory.
    let flags = unsafe { libc::fcntl(1, libc::F_GETFL) };
    if flags < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EBADF) {
            return Err(Error::Usage(
                "standard output is closed: nowhere to write the output named '-'".into(),
            ));
        }
        return Err(Error::io(stdout, e));
    }
    if flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(Error::Usage(
            "standard output is open for reading only: nowhere to write the output named '-'"
                .into(),
        ));
    }
    // SAFETY: as above; a new descriptor, owned by the File below.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(Error::io(stdout, io::Error::last_os_error()));
    }
    // SAFETY: `fd` is open and owned by nothing else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Notes that fd 1 was closed when the process started. Rust's runtime
/// opens `/dev/null` on a closed fd 1 before `main`, so the binary checks
/// earlier (an `.init_array` function) and tells [`stdout_file`] here.
pub fn note_stdout_closed() {
    STDOUT_CLOSED.store(true, Ordering::SeqCst);
}

/// For an exit hook (a plugin called `exit()` before the run finished):
/// as [`abort_all`] when the registry is free, without waiting for it;
/// `None` when it is held.
pub fn abort_all_now() -> Option<usize> {
    kill_children();
    let mut live = match LIVE.try_lock() {
        Ok(l) => l,
        Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return None,
    };
    live.aborting = true;
    for entry in std::mem::take(&mut live.entries).into_values() {
        for p in &entry.remove {
            remove(p);
        }
        if let Some(lock) = &entry.lock {
            let _ = fs::remove_file(lock);
        }
    }
    let published = live.published;
    std::mem::forget(live);
    Some(published)
}
