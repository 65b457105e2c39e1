//! Row counts before the dump, on every connection at once with `-j`:
//! counting is a scan on some servers (InnoDB), as long as a read.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::plugin::Source;
use crate::schema::Table;

/// `count_rows` of each table, in order: each of `sources` (connections
/// sharing one snapshot) takes the next table not yet counted.
pub(super) fn count_all(
    sources: Vec<&mut (dyn Source + Send)>,
    tables: &[&Table],
) -> Vec<Result<u64>> {
    let next = AtomicUsize::new(0);
    let counted: Vec<Mutex<Option<Result<u64>>>> =
        tables.iter().map(|_| Mutex::new(None)).collect();
    let (next, counted_ref) = (&next, &counted);
    std::thread::scope(|scope| {
        for source in sources {
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(table) = tables.get(i) else { break };
                let n = source.count_rows(table);
                if let Ok(mut slot) = counted_ref[i].lock() {
                    *slot = Some(n);
                }
            });
        }
    });
    (counted.into_iter().zip(tables))
        .map(|(slot, table)| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(Error::table(
                    &table.name,
                    "its rows were not counted (a counting thread failed)",
                ))
            })
        })
        .collect()
}
