//! The file operations of publishing: moving a staged output into place
//! and undoing a step, for a commit ([`super::transaction`]) and for the
//! recovery of an interrupted one ([`super::journal`]).

use super::*;

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
