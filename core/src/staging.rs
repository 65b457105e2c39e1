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
//! The pipeline publishes all outputs in one [`Transaction`]: all move
//! into place, or each target stays as it was.
//!
//! A published output carries a manifest (`dump2py.json` inside a
//! directory, `NAME.dump2py.json` beside a file): what `--overwrite`
//! recognises as written by dump2py, the only thing it replaces.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

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

thread_local! {
    /// The outputs published inside this thread's open [`Transaction`].
    static TX: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
}

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

/// The publishing of several outputs as one step: between `begin` and
/// `commit`, [`Staged::publish`] on this thread only prepares; `commit`
/// moves every output into place, or, if any move (or the sync after
/// them) fails, moves back what it had moved, so that every target is as
/// it was. The pipeline publishes its sinks in one transaction.
pub struct Transaction(());

impl Transaction {
    pub fn begin() -> Transaction {
        TX.with(|tx| *tx.borrow_mut() = Some(Vec::new()));
        Transaction(())
    }

    /// Moves every output published since `begin` into place.
    pub fn commit(self) -> Result<()> {
        let ids = TX.with(|tx| tx.borrow_mut().take()).unwrap_or_default();
        let mut live = live();
        if live.aborting {
            return Err(Error::Usage("interrupted".into()));
        }
        commit(&mut live, &ids)
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        TX.with(|tx| tx.borrow_mut().take());
    }
}

/// Every pending output's target must still be free (or ours to replace).
fn check_pending(live: &Live) -> Result<()> {
    for p in live.entries.values().filter_map(|e| e.pending.as_ref()) {
        check_target(&p.target, p.overwrite)
            .map_err(|e| Error::Usage(format!("{e} (it appeared while dumping)")))?;
    }
    Ok(())
}

/// A step of a commit, undone in reverse order when a later one fails.
enum Undo {
    /// `from` was renamed to `to`.
    Renamed { from: PathBuf, to: PathBuf },
    /// The two were exchanged.
    Exchanged(PathBuf, PathBuf),
    /// A link to the old file was made at this path.
    Linked(PathBuf),
}

impl Undo {
    fn undo(&self) {
        let _ = match self {
            Undo::Renamed { from, to } => fs::rename(to, from),
            Undo::Exchanged(a, b) => exchange(a, b),
            Undo::Linked(p) => fs::remove_file(p),
        };
    }
}

/// Moves the prepared outputs `ids` into place, all or none (see
/// [`Transaction`]); holds the registry's lock, so a signal waits for it.
fn commit(live: &mut Live, ids: &[u64]) -> Result<()> {
    check_pending(live)?;
    let mut done: Vec<Undo> = Vec::new();
    // What the old outputs became: removed once all are in place.
    let mut old: Vec<PathBuf> = Vec::new();
    let mut parents: Vec<PathBuf> = Vec::new();
    let mut moved = || -> Result<()> {
        for id in ids {
            let Some(p) = live.entries.get(id).and_then(|e| e.pending.clone()) else {
                continue;
            };
            let parent = Names::of(&p.target)?.parent;
            let aside = p.staging.with_extension("old");
            move_in(&p.staging, &p.target, p.dir, &aside, &mut done, &mut old)?;
            if let Some(side) = &p.sidecar {
                let to = sidecar_of(&p.target);
                move_in(
                    side,
                    &to,
                    false,
                    &aside.with_extension("oldside"),
                    &mut done,
                    &mut old,
                )?;
            }
            if !parents.contains(&parent) {
                parents.push(parent);
            }
        }
        if sync_on() {
            for parent in &parents {
                sync_path(parent)?;
            }
        }
        Ok(())
    };
    if let Err(e) = moved() {
        for step in done.iter().rev() {
            step.undo();
        }
        return Err(e);
    }
    for p in &old {
        remove(p);
    }
    for id in ids {
        if live.entries.remove(id).is_some() {
            live.published += 1;
        }
        live.committed.insert(*id);
    }
    Ok(())
}

/// Moves `staged` to `target`. An old directory is exchanged with the
/// staging where the system can (the target is never missing), else moved
/// aside to `aside`; an old file stays linked at `aside` until the commit
/// is complete, while the new one replaces it in one rename.
fn move_in(
    staged: &Path,
    target: &Path,
    dir: bool,
    aside: &Path,
    done: &mut Vec<Undo>,
    old: &mut Vec<PathBuf>,
) -> Result<()> {
    let io = |e| Error::io(target, e);
    let exists = existing(target)?.is_some();
    if exists && dir {
        if exchange(staged, target).is_ok() {
            done.push(Undo::Exchanged(staged.to_path_buf(), target.to_path_buf()));
            old.push(staged.to_path_buf());
            return Ok(());
        }
        remove(aside);
        fs::rename(target, aside).map_err(io)?;
        done.push(Undo::Renamed {
            from: target.to_path_buf(),
            to: aside.to_path_buf(),
        });
        old.push(aside.to_path_buf());
    } else if exists {
        remove(aside);
        fs::hard_link(target, aside).map_err(io)?;
        done.push(Undo::Linked(aside.to_path_buf()));
        fs::rename(staged, target).map_err(io)?;
        // Undone by putting the old file back over the new one.
        done.push(Undo::Renamed {
            from: target.to_path_buf(),
            to: aside.to_path_buf(),
        });
        old.push(aside.to_path_buf());
        return Ok(());
    }
    fs::rename(staged, target).map_err(io)?;
    done.push(Undo::Renamed {
        from: staged.to_path_buf(),
        to: target.to_path_buf(),
    });
    Ok(())
}

/// The names beside one target.
#[derive(Debug, Clone)]
struct Names {
    parent: PathBuf,
    /// `.NAME.dump2py`, or `.PREFIX~HASH.dump2py` for a long or non-UTF-8 name.
    stem: String,
}

impl Names {
    fn of(target: &Path) -> Result<Names> {
        let name = target.file_name().ok_or_else(|| {
            Error::Usage(format!("{} names no file or directory", target.display()))
        })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Names {
            parent,
            stem: stem_of(name),
        })
    }

    fn lock(&self) -> PathBuf {
        self.parent.join(format!("{}.lock", self.stem))
    }

    fn ours(&self, what: &str) -> PathBuf {
        self.parent
            .join(format!("{}-{}.{what}", self.stem, std::process::id()))
    }
}

fn stem_of(name: &OsStr) -> String {
    match name.to_str() {
        Some(s) if s.len() <= NAME_ROOM => format!(".{s}.dump2py"),
        _ => {
            let lossy = name.to_string_lossy();
            let mut cut = lossy.len().min(NAME_ROOM - 20);
            while !lossy.is_char_boundary(cut) {
                cut -= 1;
            }
            let hash = hex(&Sha256::digest(name.as_encoded_bytes()));
            format!(".{}~{}.dump2py", &lossy[..cut], &hash[..16])
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exclusive right to write one target, held with `flock` on
/// `STEM.lock` (which holds the PID, for the message another run gives).
#[derive(Debug)]
struct TargetLock {
    path: PathBuf,
    _file: File,
}

impl TargetLock {
    fn take(names: &Names, target: &Path) -> Result<TargetLock> {
        let path = names.lock();
        loop {
            let mut file = open_lock(&path).map_err(|e| Error::io(target, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    let pid = match text.trim().parse::<u32>() {
                        Ok(pid) => format!(" (PID {pid})"),
                        Err(_) => String::new(),
                    };
                    return Err(Error::Usage(format!(
                        "another dump2py{pid} is writing {}",
                        target.display()
                    )));
                }
                Err(fs::TryLockError::Error(e)) => return Err(Error::io(target, e)),
            }
            // Its last holder may have unlinked it meanwhile: then take the new one.
            if !same_file(&file, &path) {
                continue;
            }
            file.set_len(0)
                .and_then(|_| file.write_all(std::process::id().to_string().as_bytes()))
                .map_err(|e| Error::io(target, e))
                .inspect_err(|_| {
                    let _ = fs::remove_file(&path);
                })?;
            return Ok(TargetLock { path, _file: file });
        }
    }
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        // Unlinked while still held: whoever opened it meanwhile sees that and retries.
        let _ = fs::remove_file(&self.path);
    }
}

fn open_lock(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Removes what runs that are gone (killed) left in `parent`: the
/// artifacts of every stem whose lock nobody holds.
fn clean_stale(parent: &Path, own_stem: &str) {
    let Ok(dir) = fs::read_dir(parent) else {
        return;
    };
    let mut stems: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some((stem, _)) = artifact(name) {
            stems
                .entry(stem.to_string())
                .or_default()
                .push(entry.path());
        }
    }
    for (stem, paths) in stems {
        let lock = parent.join(format!("{stem}.lock"));
        // Our own target's lock is held by us: what else is there is stale.
        let own = stem == own_stem;
        let held = match open_lock_if_exists(&lock).filter(|_| !own) {
            None => None,
            Some(file) => match file.try_lock() {
                Ok(()) if same_file(&file, &lock) => Some(file),
                // Held by a live run, or replaced meanwhile: not ours to clean.
                _ => continue,
            },
        };
        for p in paths {
            if !p.ends_with(format!("{stem}.lock")) {
                remove(&p);
            }
        }
        if held.is_some() && !own {
            let _ = fs::remove_file(&lock);
        }
    }
}

fn open_lock_if_exists(path: &Path) -> Option<File> {
    OpenOptions::new().read(true).write(true).open(path).ok()
}

/// `(stem, what)` when `name` is an artifact of some run: `STEM.lock` or
/// `STEM-PID.{tmp,side,spool,old,oldside,del}`.
fn artifact(name: &str) -> Option<(&str, &str)> {
    if !name.starts_with('.') {
        return None;
    }
    if let Some(stem) = name.strip_suffix(".lock") {
        return stem.ends_with(".dump2py").then_some((stem, "lock"));
    }
    let (rest, what) = name.rsplit_once('.')?;
    if !matches!(what, "tmp" | "side" | "spool" | "old" | "oldside" | "del") {
        return None;
    }
    let (stem, pid) = rest.rsplit_once('-')?;
    let ok =
        stem.ends_with(".dump2py") && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    ok.then_some((stem, what))
}

/// What stands at a path, for the overwrite check.
fn existing(target: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(target) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(target, e)),
    }
}

/// Refuses an existing target unless `overwrite` and it is something
/// dump2py wrote (an empty directory, or an output with its manifest):
/// checked before any work, and again before publishing.
pub fn check_target(target: &Path, overwrite: bool) -> Result<()> {
    let Some(meta) = existing(target)? else {
        return Ok(());
    };
    if !overwrite {
        return Err(Error::Usage(format!(
            "{} already exists; use --overwrite to replace it",
            target.display()
        )));
    }
    if written_by_us(target, &meta) {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "{} exists and was not written by dump2py; remove it yourself or choose another name",
        target.display()
    )))
}

/// What a published output holds (README, "Manifests"): written last,
/// read by `--overwrite` and `--verify`, ignored by restore.py.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The dump2py version that wrote it.
    pub version: String,
    pub files: Vec<ManifestFile>,
    /// Rows per table in the output (none in a manifest of before issue 13).
    #[serde(default)]
    pub tables: BTreeMap<String, u64>,
}

#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// The manifest at `path`, if it is one.
pub fn read_manifest(path: &Path) -> Option<Manifest> {
    let text = fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The manifest path of a file output.
pub fn sidecar_of(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(SIDECAR_SUFFIX);
    target.with_file_name(name)
}

fn written_by_us(target: &Path, meta: &fs::Metadata) -> bool {
    if meta.is_dir() {
        let Ok(dir) = fs::read_dir(target) else {
            return false;
        };
        let names: Vec<_> = dir.flatten().map(|e| e.file_name()).collect();
        if names.is_empty() {
            return true;
        }
        let Some(m) = read_manifest(&target.join(MANIFEST)) else {
            return false;
        };
        // Anything the manifest doesn't list (a note, a .git) is not ours to delete.
        m.format == FORMAT_DIR
            && names
                .iter()
                .all(|n| n == MANIFEST || m.files.iter().any(|f| OsStr::new(&f.name) == n))
    } else if meta.is_file() {
        let Some(m) = read_manifest(&sidecar_of(target)) else {
            return false;
        };
        let name = target.file_name().and_then(OsStr::to_str);
        m.format == FORMAT_FILE
            && matches!(m.files.as_slice(), [f] if Some(f.name.as_str()) == name && f.size == meta.len())
    } else {
        false
    }
}

/// A staged output: a directory or file beside its target, renamed into
/// place by `publish`, removed by `discard` (or when dropped unpublished).
#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    staging: PathBuf,
    names: Names,
    overwrite: bool,
    dir: bool,
    published: bool,
    id: u64,
    lock: Option<TargetLock>,
    tables: BTreeMap<String, u64>,
}

impl Staged {
    /// Prepares a staging path beside `target` (a directory when `dir`),
    /// after taking the target's lock and removing what killed runs left.
    pub fn new(target: &Path, overwrite: bool, dir: bool) -> Result<Staged> {
        check_target(target, overwrite)?;
        let names = Names::of(target)?;
        if !dir && sidecar_of(target).file_name().map_or(0, |n| n.len()) > 255 {
            return Err(Error::Usage(format!(
                "{}: the name is too long for its manifest (…{SIDECAR_SUFFIX})",
                target.display()
            )));
        }
        fs::create_dir_all(&names.parent).map_err(|e| Error::io(&names.parent, e))?;
        let lock = TargetLock::take(&names, target)?;
        clean_stale(&names.parent, &names.stem);
        let staging = names.ours("tmp");
        let sidecar = (!dir).then(|| names.ours("side"));
        let mut remove_list = vec![staging.clone()];
        remove_list.extend(sidecar.clone());
        let id = register(Entry {
            remove: remove_list,
            lock: Some(lock.path.clone()),
            pending: Some(Pending {
                target: target.to_path_buf(),
                staging: staging.clone(),
                sidecar,
                overwrite,
                dir,
                tables: BTreeMap::new(),
            }),
        });
        let staged = Staged {
            target: target.to_path_buf(),
            staging,
            names,
            overwrite,
            dir,
            published: false,
            id,
            lock: Some(lock),
            tables: BTreeMap::new(),
        };
        if dir {
            fs::create_dir(&staged.staging).map_err(|e| Error::io(target, e))?;
        }
        Ok(staged)
    }

    /// Notes the rows of one table in the output, for its manifest.
    pub fn count_rows(&mut self, table: &str, rows: u64) {
        *self.tables.entry(table.to_string()).or_default() += rows;
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Makes the staged output durable (its manifest written, synced) and
    /// moves it to the target, replacing an old one whole. Inside a
    /// [`Transaction`] of this thread the move waits for its `commit`, which
    /// moves every output at once; otherwise it happens now. `commit`
    /// checks every pending output's target again first, so that nothing
    /// is published when one that appeared while dumping would make a later
    /// move fail.
    pub fn publish(&mut self) -> Result<()> {
        let mut live = live();
        if live.aborting {
            return Err(Error::Usage("interrupted".into()));
        }
        let pending = Pending {
            target: self.target.clone(),
            staging: self.staging.clone(),
            sidecar: (!self.dir).then(|| self.names.ours("side")),
            overwrite: self.overwrite,
            dir: self.dir,
            tables: self.tables.clone(),
        };
        make_durable(&pending)?;
        if TX
            .with(|tx| tx.borrow_mut().as_mut().map(|ids| ids.push(self.id)))
            .is_some()
        {
            return Ok(());
        }
        commit(&mut live, &[self.id])?;
        self.published = true;
        Ok(())
    }

    /// Removes what was staged; the target stays as it was.
    pub fn discard(&mut self) {
        let committed = live().committed.contains(&self.id);
        if !self.published && !committed {
            remove(&self.staging);
            if !self.dir {
                remove(&self.names.ours("side"));
            }
        }
        unregister(self.id);
        self.lock = None;
    }

    /// A spool directory beside the target (`STEM-PID.spool`), removed
    /// with this run's other artifacts.
    pub fn spool(&self) -> Result<Spool> {
        Spool::create(self.names.ours("spool"))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Writes the manifest and syncs the staged output.
fn make_durable(p: &Pending) -> Result<()> {
    if p.dir {
        let mut files = Vec::new();
        let mut entries: Vec<_> = fs::read_dir(&p.staging)
            .map_err(|e| Error::io(&p.staging, e))?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()) && e.file_name() != MANIFEST)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            files.push(describe(&e.path(), &e.file_name().to_string_lossy())?);
        }
        let manifest = p.staging.join(MANIFEST);
        write_manifest(&manifest, FORMAT_DIR, files, &p.tables)?;
        if sync_on() {
            for e in fs::read_dir(&p.staging)
                .map_err(|e| Error::io(&p.staging, e))?
                .flatten()
            {
                sync_path(&e.path())?;
            }
            sync_path(&p.staging)?;
        }
    } else {
        let name = p.target.file_name().unwrap_or_default().to_string_lossy();
        let file = describe(&p.staging, &name)?;
        if let Some(side) = &p.sidecar {
            write_manifest(side, FORMAT_FILE, vec![file], &p.tables)?;
            if sync_on() {
                sync_path(side)?;
            }
        }
        if sync_on() {
            sync_path(&p.staging)?;
        }
    }
    Ok(())
}

/// A file's size and SHA-256, as its manifest lists it.
pub fn describe(path: &Path, name: &str) -> Result<ManifestFile> {
    let io = |e| Error::io(path, e);
    let mut f = File::open(path).map_err(io)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
    }
    Ok(ManifestFile {
        name: name.to_string(),
        size,
        sha256: hex(&hash.finalize()),
    })
}

fn write_manifest(
    path: &Path,
    format: &str,
    files: Vec<ManifestFile>,
    tables: &BTreeMap<String, u64>,
) -> Result<()> {
    let m = Manifest {
        format: format.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        files,
        tables: tables.clone(),
    };
    let mut text =
        serde_json::to_string_pretty(&m).map_err(|e| Error::io(path, io::Error::other(e)))?;
    text.push('\n');
    fs::write(path, text).map_err(|e| Error::io(path, e))
}

/// Swaps two paths in one step (Linux's `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
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
            let _ = fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_are_recognised() {
        assert_eq!(
            artifact(".a.json.dump2py-12.tmp"),
            Some((".a.json.dump2py", "tmp"))
        );
        assert_eq!(artifact(".a.dump2py.lock"), Some((".a.dump2py", "lock")));
        assert_eq!(artifact(".a.dump2py-x.tmp"), None);
        assert_eq!(artifact("a.dump2py-1.tmp"), None);
        assert_eq!(artifact(".notes-1.tmp"), None);
    }

    #[test]
    fn long_names_are_shortened() {
        let long = "x".repeat(250);
        let stem = stem_of(OsStr::new(&long));
        assert!(stem.len() + "-4294967295.spool".len() <= 255, "{stem}");
        assert_ne!(stem, stem_of(OsStr::new(&"x".repeat(251))));
        assert_eq!(stem_of(OsStr::new("dump")), ".dump.dump2py");
    }

    #[test]
    fn a_dump_is_published_with_its_manifest_and_replaced_only_when_ours() {
        let t = std::env::temp_dir().join(format!("dump2py-staging-{}", std::process::id()));
        let _ = fs::remove_dir_all(&t);
        fs::create_dir_all(&t).expect("tmp");
        let target = t.join("dump");
        let mut s = Staged::new(&target, false, true).expect("stage");
        fs::write(s.path().join("restore.py"), "x").expect("write");
        s.publish().expect("publish");
        drop(s);
        let m = read_manifest(&target.join(MANIFEST)).expect("manifest");
        assert_eq!(m.format, FORMAT_DIR);
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].size, 1);
        assert!(check_target(&target, true).is_ok());
        fs::write(target.join("notes.txt"), "mine").expect("write");
        let err = check_target(&target, true).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("not written by dump2py")));
        let beside: Vec<_> = fs::read_dir(&t)
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(beside, [OsStr::new("dump")]);
        let _ = fs::remove_dir_all(&t);
    }
}
