//! The journal of a commit: which staged outputs move to which targets,
//! written beside every target before the first move and removed after
//! the last. A run killed between two moves (`kill -9`, power loss) leaves
//! it; the next run that writes, or checks a target, beside any of those
//! targets completes the commit (every staging in it was complete and
//! durable before the journal was written), so that outputs published
//! together are never left half old, half new.

use super::moves::move_in;
use super::*;

/// This run's id, in every manifest it writes: what tells a staged
/// directory from the old one it was exchanged with.
pub fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{nanos:x}-{}", std::process::id())
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct Journal {
    run: String,
    moves: Vec<Move>,
    /// Every copy of this journal (one beside each target).
    copies: Vec<PathBuf>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Move {
    staging: PathBuf,
    target: PathBuf,
    dir: bool,
    /// A file's manifest: (staged, where it goes).
    sidecar: Option<(PathBuf, PathBuf)>,
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

impl Journal {
    /// Writes the journal of `pending` beside each of its targets.
    pub(super) fn write(pending: &[Pending]) -> Result<Journal> {
        let mut copies = Vec::new();
        for p in pending {
            let copy = absolute(&Names::of(&p.target)?.ours("journal"));
            if !copies.contains(&copy) {
                copies.push(copy);
            }
        }
        let journal = Journal {
            run: run_id().to_string(),
            moves: pending
                .iter()
                .map(|p| Move {
                    staging: absolute(&p.staging),
                    target: absolute(&p.target),
                    dir: p.dir,
                    sidecar: p
                        .sidecar
                        .as_ref()
                        .map(|s| (absolute(s), absolute(&sidecar_of(&p.target)))),
                })
                .collect(),
            copies,
        };
        let text = serde_json::to_vec(&journal)
            .map_err(|e| Error::io(&journal.copies[0], io::Error::other(e)))?;
        for copy in &journal.copies {
            let written = fs::write(copy, &text).and_then(|_| {
                if sync_on() {
                    File::open(copy)?.sync_all()?;
                    if let Some(parent) = copy.parent() {
                        File::open(parent)?.sync_all()?;
                    }
                }
                Ok(())
            });
            if let Err(e) = written {
                journal.remove();
                return Err(Error::io(copy, e));
            }
        }
        Ok(journal)
    }

    /// Removes every copy.
    pub(super) fn remove(&self) {
        for copy in &self.copies {
            let _ = fs::remove_file(copy);
        }
    }

    fn read(path: &Path) -> Option<Journal> {
        let text = dump2py_model::files::read_small(path, dump2py_model::files::MAX_JSON).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Completes the commit of a run that is gone: each output still
    /// staged moves into place; then what that run left of it goes.
    fn complete(&self) {
        for m in &self.moves {
            let still_staged = if m.dir {
                // After an exchange the staging holds the old directory.
                read_manifest(&m.staging.join(MANIFEST)).is_some_and(|man| man.run == self.run)
            } else {
                m.staging.is_file()
            };
            let (mut done, mut old) = (Vec::new(), Vec::new());
            let aside = m.staging.with_extension("old");
            if still_staged {
                let _ = move_in(&m.staging, &m.target, m.dir, &aside, &mut done, &mut old);
            }
            if let Some((side, to)) = &m.sidecar {
                if side.is_file() {
                    let _ = move_in(
                        side,
                        to,
                        false,
                        &aside.with_extension("oldside"),
                        &mut done,
                        &mut old,
                    );
                }
            }
            for p in [
                m.staging.clone(),
                aside.clone(),
                aside.with_extension("oldside"),
            ] {
                remove(&p);
            }
            if let Some((side, _)) = &m.sidecar {
                remove(side);
            }
        }
        if sync_on() {
            for m in &self.moves {
                if let Some(parent) = m.target.parent() {
                    let _ = sync_path(parent);
                }
            }
        }
        self.remove();
    }
}

/// Completes the commits that runs now gone left journals of in `parent`
/// (a journal whose target's lock nobody holds).
pub(super) fn recover(parent: &Path) {
    let Ok(dir) = fs::read_dir(parent) else {
        return;
    };
    let own = std::process::id().to_string();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((stem, "journal")) = beside::artifact(name) else {
            continue;
        };
        // Ours (a commit of this run under way) is not to touch.
        if name.ends_with(&format!("-{own}.journal")) {
            continue;
        }
        let lock = parent.join(format!("{stem}.lock"));
        if let Some(file) = beside::open_lock_if_exists(&lock) {
            if file.try_lock().is_err() {
                continue;
            }
        }
        if let Some(journal) = Journal::read(&entry.path()) {
            journal.complete();
        } else {
            // Cut short while written: no move had begun.
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a run that is gone left a commit half done that moves an
/// output to `target` (for `--verify`, which completes nothing).
pub fn interrupted(target: &Path) -> bool {
    let Ok(names) = Names::of(target) else {
        return false;
    };
    let Ok(dir) = fs::read_dir(&names.parent) else {
        return false;
    };
    let target = absolute(target);
    dir.flatten().any(|entry| {
        let name = entry.file_name();
        let is_journal = name
            .to_str()
            .and_then(beside::artifact)
            .is_some_and(|(_, what)| what == "journal");
        is_journal
            && Journal::read(&entry.path())
                .is_some_and(|j| j.moves.iter().any(|m| m.target == target))
    })
}
