//! A staged output, renamed into place when published.

use super::*;

/// A staged output: a directory or file beside its target, renamed into
/// place by `publish`, removed by `discard` (or when dropped unpublished).
#[derive(Debug)]
pub struct Staged {
    pub(super) target: PathBuf,
    pub(super) staging: PathBuf,
    pub(super) names: Names,
    pub(super) overwrite: bool,
    pub(super) dir: bool,
    pub(super) published: bool,
    pub(super) id: u64,
    pub(super) lock: Option<TargetLock>,
    pub(super) tables: BTreeMap<String, u64>,
    pub(super) digests: Vec<FileDigest>,
}

impl Staged {
    /// Prepares a staging path beside `target` (a directory when `dir`),
    /// after taking the target's lock and removing what killed runs left.
    pub fn new(target: &Path, overwrite: bool, dir: bool) -> Result<Staged> {
        check_target(target, overwrite)?;
        // A file's manifest names it: a name that isn't UTF-8 can't be
        // written there as it is (and would never match again).
        if !dir && target.file_name().is_some_and(|n| n.to_str().is_none()) {
            return Err(Error::Usage(format!(
                "{:?}: the file name is not UTF-8; dump2py's manifest names every file it writes: choose a UTF-8 name",
                target.as_os_str()
            )));
        }
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
                digests: Vec::new(),
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
            digests: Vec::new(),
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

    /// Notes a file's digest (its [`HashedFile`]'s), so that the manifest
    /// needn't read the file again.
    pub fn record(&mut self, digest: FileDigest) {
        self.digests.push(digest);
    }

    /// Makes the staged output durable (its manifest written, synced) and
    /// adds it to `tx`, whose [`commit`](crate::commit) moves it to the
    /// target with the transaction's other outputs, replacing an old one
    /// whole.
    pub fn publish(&mut self, tx: &mut Transaction) -> Result<()> {
        self.prepare()?;
        tx.add(self.id);
        Ok(())
    }

    /// Publishes this output on its own: [`Staged::publish`] in a
    /// transaction of one.
    pub fn publish_now(&mut self) -> Result<()> {
        let mut tx = Transaction::new();
        self.publish(&mut tx)?;
        crate::commit(tx)?;
        self.published = true;
        Ok(())
    }

    fn prepare(&mut self) -> Result<()> {
        let live = live();
        if live.aborting {
            return Err(Error::Interrupted);
        }
        let pending = Pending {
            target: self.target.clone(),
            staging: self.staging.clone(),
            sidecar: (!self.dir).then(|| self.names.ours("side")),
            overwrite: self.overwrite,
            dir: self.dir,
            tables: self.tables.clone(),
            digests: std::mem::take(&mut self.digests),
        };
        let made = make_durable(&pending);
        drop(live);
        made
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

/// fsync of a directory and of the directories below it.
fn sync_dirs(dir: &Path) -> Result<()> {
    for e in fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            sync_dirs(&e.path())?;
        }
    }
    sync_path(dir)
}

/// Writes the manifest and syncs the staged output.
pub(super) fn make_durable(p: &Pending) -> Result<()> {
    if p.dir {
        // Files in directories too (a snapshot's media/), by relative name.
        let names = dir_files(&p.staging).map_err(|e| Error::io(&p.staging, e))?;
        let mut files = Vec::new();
        for name in names.iter().filter(|n| *n != MANIFEST) {
            let path = p.staging.join(name);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                files.push(described(&path, name, &p.digests)?);
            }
        }
        let manifest = p.staging.join(MANIFEST);
        write_manifest(&manifest, FORMAT_DIR, files, &p.tables)?;
        if sync_on() {
            for name in names.iter().chain([&MANIFEST.to_string()]) {
                sync_path(&p.staging.join(name))?;
            }
            sync_dirs(&p.staging)?;
        }
    } else {
        let name = p.target.file_name().unwrap_or_default().to_string_lossy();
        let file = described(&p.staging, &name, &p.digests)?;
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
