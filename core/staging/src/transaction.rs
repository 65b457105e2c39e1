//! Publishing several outputs as one step, undone if any step fails.

use super::*;

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
pub(super) fn check_pending(live: &Live) -> Result<()> {
    for p in live.entries.values().filter_map(|e| e.pending.as_ref()) {
        check_target(&p.target, p.overwrite)
            .map_err(|e| Error::Usage(format!("{e} (it appeared while dumping)")))?;
    }
    Ok(())
}

/// A step of a commit, undone in reverse order when a later one fails.
pub(super) enum Undo {
    /// `from` was renamed to `to`.
    Renamed { from: PathBuf, to: PathBuf },
    /// The two were exchanged.
    Exchanged(PathBuf, PathBuf),
    /// A link to the old file was made at this path.
    Linked(PathBuf),
}

impl Undo {
    pub(super) fn undo(&self) {
        let _ = match self {
            Undo::Renamed { from, to } => fs::rename(to, from),
            Undo::Exchanged(a, b) => exchange(a, b),
            Undo::Linked(p) => fs::remove_file(p),
        };
    }
}

/// Moves the prepared outputs `ids` into place, all or none (see
/// [`Transaction`]); holds the registry's lock, so a signal waits for it.
pub(super) fn commit(live: &mut Live, ids: &[u64]) -> Result<()> {
    check_pending(live)?;
    let pending: Vec<Pending> = ids
        .iter()
        .filter_map(|id| live.entries.get(id).and_then(|e| e.pending.clone()))
        .collect();
    // Any commit of more than one rename (a file and its manifest too)
    // can be left half done.
    let journal = match pending.as_slice() {
        [] => None,
        [one] if one.dir => None,
        _ => Some(super::journal::Journal::write(&pending)?),
    };
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
        if let Some(j) = &journal {
            j.remove();
        }
        return Err(e);
    }
    for p in &old {
        remove(p);
    }
    if let Some(j) = &journal {
        j.remove();
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
pub(super) fn move_in(
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

/// Swaps two paths in one step (Linux's `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
pub(super) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
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
pub(super) fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}
