//! Reading on a thread of its own, a bounded queue ahead of the sinks.

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::plugin::{BatchFn, Source};
use crate::schema::Table;

/// Batches a reader thread may hold ready: memory stays bounded (at most
/// this many batches besides the one each side works on), and a reader
/// ahead of the sinks waits for them (back-pressure).
pub(super) const QUEUE_BATCHES: usize = 4;

/// What a reader thread sends: a table's batches, then how its read ended.
enum Read {
    Batch(Batch),
    End(Result<()>),
}

/// Reads `tables` in order on a thread of its own, while `consume` (on this
/// thread: sinks, the observer and staging stay here) takes each table's
/// batches through `read`, which must ask for `tables` in the same order.
/// When `consume` returns, by success or error, the reader stops at its
/// next batch; an error of either side stops both.
pub(super) fn read_ahead<T>(
    source: &mut (dyn Source + Send),
    tables: &[Table],
    batch_rows: usize,
    consume: impl FnOnce(&mut ReadFn) -> Result<T>,
) -> Result<T> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Read>(QUEUE_BATCHES);
        let reader = scope.spawn(move || {
            for table in tables {
                // A send fails when the consumer is gone: stop reading.
                let read = source.read_table(table, batch_rows, &mut |batch| {
                    Ok(tx.send(Read::Batch(batch)).is_ok())
                });
                if tx.send(Read::End(read)).is_err() {
                    // The consumer is gone: nothing more is read.
                    break;
                }
            }
        });
        let (mut next, mut unfinished) = (0usize, false);
        let result = consume(&mut |table, each| {
            // The consumer asks for tables in the reader's order, but may
            // leave one out (a sink that failed to start it): its batches
            // are passed over.
            let Some(skip) = tables[next.min(tables.len())..]
                .iter()
                .position(|t| t.name == table.name)
            else {
                return Err(Error::Usage(format!(
                    "table {}: not among the tables read ahead",
                    table.name
                )));
            };
            // A table whose sink failed (tolerated) is passed over too.
            for _ in 0..skip + usize::from(unfinished) {
                while let Ok(Read::Batch(_)) = rx.recv() {}
            }
            unfinished = false;
            next += skip + 1;
            loop {
                match rx.recv() {
                    Ok(Read::Batch(batch)) => match each(batch) {
                        Ok(true) => {}
                        // Returned at once: a dump that stops drops the
                        // reader without reading the rest.
                        Ok(false) => {
                            unfinished = true;
                            return Ok(());
                        }
                        Err(e) => {
                            unfinished = true;
                            return Err(e);
                        }
                    },
                    Ok(Read::End(read)) => return read,
                    Err(_) => {
                        return Err(Error::Usage(format!(
                            "table {}: the reader stopped",
                            table.name
                        )))
                    }
                }
            }
        });
        // Dropping the receiver stops a reader still reading.
        drop(rx);
        match reader.join() {
            Ok(()) => result,
            Err(_) => Err(Error::Usage("the reader thread panicked".into())),
        }
    })
}

/// Reads one table into a callback: the source's `read_table`, here or
/// from a reader thread.
pub(super) type ReadFn<'r> = dyn FnMut(&Table, &mut BatchFn) -> Result<()> + 'r;
