//! The names beside a target, the lock that guards them, and the
//! cleaning of what killed runs left there.

use super::*;

/// The names beside one target.
#[derive(Debug, Clone)]
pub(super) struct Names {
    pub(super) parent: PathBuf,
    /// `.NAME.dump2py`, or `.PREFIX~HASH.dump2py` for a long or non-UTF-8 name.
    pub(super) stem: String,
}

impl Names {
    pub(super) fn of(target: &Path) -> Result<Names> {
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

    pub(super) fn lock(&self) -> PathBuf {
        self.parent.join(format!("{}.lock", self.stem))
    }

    pub(super) fn ours(&self, what: &str) -> PathBuf {
        self.parent
            .join(format!("{}-{}.{what}", self.stem, std::process::id()))
    }
}

pub(super) fn stem_of(name: &OsStr) -> String {
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

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The exclusive right to write one target, held with `flock` on
/// `STEM.lock` (which holds the PID, for the message another run gives).
#[derive(Debug)]
pub(super) struct TargetLock {
    pub(super) path: PathBuf,
    pub(super) _file: File,
}

impl TargetLock {
    pub(super) fn take(names: &Names, target: &Path) -> Result<TargetLock> {
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

pub(super) fn open_lock(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

pub(super) fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Removes what runs that are gone (killed) left in `parent`: the
/// artifacts of every stem whose lock nobody holds.
pub(super) fn clean_stale(parent: &Path, own_stem: &str) {
    // First the commits a killed run left half done: they may move
    // stagings of other stems into place.
    journal::recover(parent);
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

pub(super) fn open_lock_if_exists(path: &Path) -> Option<File> {
    OpenOptions::new().read(true).write(true).open(path).ok()
}

/// `(stem, what)` when `name` is an artifact of some run: `STEM.lock` or
/// `STEM-PID.{tmp,side,spool,old,oldside,del,journal}`.
pub(super) fn artifact(name: &str) -> Option<(&str, &str)> {
    if !name.starts_with('.') {
        return None;
    }
    if let Some(stem) = name.strip_suffix(".lock") {
        return stem.ends_with(".dump2py").then_some((stem, "lock"));
    }
    let (rest, what) = name.rsplit_once('.')?;
    if !matches!(
        what,
        "tmp" | "side" | "spool" | "old" | "oldside" | "del" | "journal"
    ) {
        return None;
    }
    let (stem, pid) = rest.rsplit_once('-')?;
    let ok =
        stem.ends_with(".dump2py") && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    ok.then_some((stem, what))
}
