//! Outputs appear only when complete: a sink writes next to its target
//! and `publish` renames the finished output into place.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    staging: PathBuf,
    overwrite: bool,
    published: bool,
}

/// Refuses an existing target unless `overwrite`: checked before any work.
pub fn check_target(target: &Path, overwrite: bool) -> Result<()> {
    if !overwrite && fs::symlink_metadata(target).is_ok() {
        return Err(Error::Usage(format!(
            "{} already exists; use --overwrite to replace it",
            target.display()
        )));
    }
    Ok(())
}

impl Staged {
    /// Prepares a staging path beside `target` (a directory when `dir`).
    pub fn new(target: &Path, overwrite: bool, dir: bool) -> Result<Staged> {
        check_target(target, overwrite)?;
        let name = target.file_name().ok_or_else(|| {
            Error::Usage(format!("{} names no file or directory", target.display()))
        })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let staging = parent.join(format!(
            ".{}.dump2py-{}.tmp",
            name.to_string_lossy(),
            std::process::id()
        ));
        remove(&staging);
        if dir {
            fs::create_dir(&staging).map_err(|e| Error::io(target, e))?;
        }
        Ok(Staged {
            target: target.to_path_buf(),
            staging,
            overwrite,
            published: false,
        })
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Moves the staged output to the target, replacing an old one whole.
    pub fn publish(&mut self) -> Result<()> {
        let exists = fs::symlink_metadata(&self.target).is_ok();
        if exists && !self.overwrite {
            return Err(Error::Usage(format!(
                "{} appeared while dumping; use --overwrite to replace it",
                self.target.display()
            )));
        }
        let old = self.staging.with_extension("old");
        if exists {
            remove(&old);
            fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
        }
        if let Err(e) = fs::rename(&self.staging, &self.target) {
            if exists {
                let _ = fs::rename(&old, &self.target);
            }
            return Err(Error::io(&self.target, e));
        }
        if exists {
            remove(&old);
        }
        self.published = true;
        Ok(())
    }

    /// Removes what was staged; the target stays as it was.
    pub fn discard(&mut self) {
        if !self.published {
            remove(&self.staging);
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        self.discard();
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
