//! Row counts before the dump, on every connection at once with `-j`:
//! counting is a scan on some servers (InnoDB), as long as a read.

use std::sync::atomic::{AtomicUsize, Ordering};

use dump2py_model::error::{Error, Result};
use dump2py_model::schema::Table;
use dump2py_plugin::Source;

/// `count_rows` of each table, in order: each of `sources` (connections
/// sharing one snapshot) takes the next table not yet counted.
pub(super) fn count_all(
    sources: Vec<&mut (dyn Source + Send)>,
    tables: &[&Table],
) -> Vec<Result<u64>> {
    let next = AtomicUsize::new(0);
    let next = &next;
    let mut counted: Vec<Option<Result<u64>>> = tables.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let threads: Vec<_> = (sources.into_iter())
            .map(|source| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(table) = tables.get(i) else { break };
                        mine.push((i, source.count_rows(table)));
                    }
                    mine
                })
            })
            .collect();
        // A thread that panicked leaves its tables uncounted.
        for mine in threads.into_iter().filter_map(|t| t.join().ok()) {
            for (i, n) in mine {
                counted[i] = Some(n);
            }
        }
    });
    (counted.into_iter().zip(tables))
        .map(|(n, table)| {
            n.unwrap_or_else(|| {
                Err(Error::table(
                    &table.name,
                    "its rows were not counted (a counting thread failed)",
                ))
            })
        })
        .collect()
}
