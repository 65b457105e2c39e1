//! Publishing several outputs as one step, undone if any step fails.

use super::moves::{move_in, Undo};
use super::*;

/// Moves every output of `tx` into place in one step: or, if any move (or
/// the sync after them) fails, moves back what it had moved, so that every
/// target is as it was. `commit` checks every pending output's target
/// again first, so that nothing is published when one that appeared while
/// dumping would make a later move fail.
pub fn commit(mut tx: Transaction) -> Result<()> {
    let ids = tx.take();
    let mut live = live();
    if live.aborting {
        return Err(Error::Interrupted);
    }
    commit_ids(&mut live, &ids)
}

/// Every pending output's target must still be free (or ours to replace).
pub(super) fn check_pending(live: &Live) -> Result<()> {
    for p in live.entries.values().filter_map(|e| e.pending.as_ref()) {
        check_target(&p.target, p.overwrite)
            .map_err(|e| Error::Usage(format!("{e} (it appeared while dumping)")))?;
    }
    Ok(())
}

/// Moves the prepared outputs `ids` into place, all or none (see
/// [`Transaction`]); holds the registry's lock, so a signal waits for it.
pub(super) fn commit_ids(live: &mut Live, ids: &[u64]) -> Result<()> {
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
