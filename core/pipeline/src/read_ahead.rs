//! Reading on threads of their own, a bounded queue per read ahead of the
//! sinks: one thread per source (with `-j`, several sources sharing one
//! snapshot), each taking the next read of the plan.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::Table;
use dump2py_plugin::{BatchFn, KeyRange, Source};

/// Batches a read may hold ready: memory stays bounded (at most this many
/// batches per reader besides the one each side works on), and a reader
/// ahead of the sinks waits for them (back-pressure).
pub(super) const QUEUE_BATCHES: usize = 4;

/// Bytes of batches ([`Batch::bytes`]) that the read being written may
/// have handed on and the sinks not yet written, and as many for all the
/// reads ahead of it: a reader past it waits before it reads on. A batch of
/// one big value is thus written before the next row is read.
pub(super) const QUEUE_BYTES: usize = 16 << 20;

/// The bytes in flight per task, shared by the readers and the consumer.
struct Budget {
    flight: Mutex<Flight>,
    changed: Condvar,
}

struct Flight {
    /// Per task: bytes of batches sent and not yet written.
    bytes: Vec<usize>,
    /// The task the consumer takes batches from.
    head: usize,
    stop: bool,
}

impl Budget {
    fn new(tasks: usize) -> Budget {
        Budget {
            flight: Mutex::new(Flight {
                bytes: vec![0; tasks],
                head: 0,
                stop: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn change(&self, f: impl FnOnce(&mut Flight)) {
        if let Ok(mut flight) = self.flight.lock() {
            f(&mut flight);
        }
        self.changed.notify_all();
    }

    /// Task `task` sends `n` bytes (counted before the consumer may take
    /// them).
    fn sending(&self, task: usize, n: usize) {
        if let Ok(mut flight) = self.flight.lock() {
            flight.bytes[task] += n;
        }
    }

    /// After task `task` sent a batch: waits until the task being written
    /// is within [`QUEUE_BYTES`], and the tasks ahead of it are, or the
    /// consumer is past this task or stopped.
    fn wait(&self, task: usize) {
        let Ok(mut flight) = self.flight.lock() else {
            return;
        };
        let waits = |f: &Flight| {
            !f.stop
                && task >= f.head
                && match task == f.head {
                    true => f.bytes[task] > QUEUE_BYTES,
                    false => f.bytes[f.head + 1..].iter().sum::<usize>() > QUEUE_BYTES,
                }
        };
        while waits(&flight) {
            match self.changed.wait(flight) {
                Ok(f) => flight = f,
                Err(_) => return,
            }
        }
    }

    /// The consumer wrote `n` bytes of task `task`.
    fn written(&self, task: usize, n: usize) {
        self.change(|f| f.bytes[task] = f.bytes[task].saturating_sub(n));
    }

    /// The consumer goes on to task `head`: the ones before are done or
    /// dropped.
    fn head(&self, head: usize) {
        self.change(|f| {
            for b in &mut f.bytes[..head] {
                *b = 0;
            }
            f.head = head;
        });
    }
}

/// One read of the plan: a table, whole or one key range of it (the
/// ranges of a table follow each other, in key order).
#[derive(Debug, Clone)]
pub(super) struct Task {
    /// The read of the plan it belongs to.
    pub read: usize,
    pub table: Table,
    pub range: Option<KeyRange>,
    /// The order a sink asked for (a whole table); None: the source's.
    pub order: Option<std::sync::Arc<dump2py_model::order::ReadOrder>>,
}

/// What a reader sends for one task: its batches, then how it ended.
enum Read {
    Batch(Batch),
    End(Result<()>),
}

/// Reads `tasks` on one thread per source, each thread taking the next
/// task, while `consume` (on this thread: sinks, the observer and staging
/// stay here) takes each table's batches through `read`, in the order of
/// `tasks`: the outputs are those of one reader. When `consume` returns, by
/// success or error, the readers stop at their next batch.
pub(super) fn read_ahead<T>(
    sources: Vec<&mut (dyn Source + Send)>,
    tasks: &[Task],
    batch_rows: usize,
    consume: impl FnOnce(&mut ReadFn) -> Result<T>,
) -> Result<T> {
    // A task's only sender is taken by the reader that reads it: a reader
    // that dies drops it, and the consumer hears so.
    let (senders, mut receivers): (Vec<_>, Vec<_>) = (tasks.iter())
        .map(|_| {
            let (tx, rx) = sync_channel::<Read>(QUEUE_BATCHES);
            (Mutex::new(Some(tx)), Some(rx))
        })
        .unzip();
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let budget = Budget::new(tasks.len());
    let (senders, next, stop, budget) = (&senders, &next, &stop, &budget);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (sources.into_iter())
            .map(|source| {
                let reader = Reader {
                    tasks,
                    senders,
                    next,
                    stop,
                    budget,
                };
                scope.spawn(move || reader.read(source, batch_rows))
            })
            .collect();
        let mut at = 0usize;
        let result = consume(&mut |read, table, each| {
            // Tables come in the plan's order, but one may be left out (a
            // sink that failed to start it): its reads are dropped.
            let Some(first) = (tasks.iter().skip(at)).position(|t| t.read == read) else {
                return Err(Error::Usage(format!(
                    "table {}: not among the tables read ahead",
                    table.name
                )));
            };
            let first = at + first;
            let end = first
                + (tasks[first..].iter())
                    .take_while(|t| t.read == read)
                    .count();
            for rx in &mut receivers[at..first] {
                *rx = None;
            }
            at = end;
            for (task, rx) in (first..end).zip(&mut receivers[first..end]) {
                let Some(rx) = rx.take() else { continue };
                budget.head(task);
                match drain(&rx, &table.name, |batch| {
                    let n = batch.bytes();
                    let go_on = each(batch);
                    budget.written(task, n);
                    go_on
                }) {
                    Ok(true) => {}
                    // Stopped: the rest of the table is dropped unread.
                    Ok(false) => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        // Dropping the receivers stops a reader still reading.
        stop.store(true, Ordering::SeqCst);
        budget.change(|f| f.stop = true);
        drop(receivers);
        let panicked = readers.into_iter().any(|r| r.join().is_err());
        if panicked {
            return Err(Error::Internal("a reader thread panicked".into()));
        }
        result
    })
}

/// What a reader thread shares with the others and the consumer.
struct Reader<'t> {
    tasks: &'t [Task],
    senders: &'t [Mutex<Option<SyncSender<Read>>>],
    next: &'t AtomicUsize,
    stop: &'t AtomicBool,
    budget: &'t Budget,
}

impl Reader<'_> {
    /// The next task not yet taken, until none is left or the consumer
    /// stops.
    fn read(&self, source: &mut (dyn Source + Send), batch_rows: usize) {
        while !self.stop.load(Ordering::SeqCst) {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            let Some(task) = self.tasks.get(i) else { break };
            let Some(tx) = self.senders.get(i).and_then(|s| s.lock().ok()?.take()) else {
                continue;
            };
            // A send fails when the consumer dropped this task: stop it.
            let mut each = |batch: Batch| {
                self.budget.sending(i, batch.bytes());
                let sent = tx.send(Read::Batch(batch)).is_ok();
                if sent {
                    self.budget.wait(i);
                }
                Ok(sent)
            };
            let read = match (&task.order, task.range) {
                (Some(order), _) => source.read_ordered(&task.table, order, batch_rows, &mut each),
                (None, None) => source.read_table(&task.table, batch_rows, &mut each),
                (None, Some(range)) => source.read_range(&task.table, range, batch_rows, &mut each),
            };
            let _ = tx.send(Read::End(read));
        }
    }
}

/// One task's batches into `each`: whether the table goes on.
fn drain(
    rx: &Receiver<Read>,
    table: &str,
    mut each: impl FnMut(Batch) -> Result<bool>,
) -> Result<bool> {
    loop {
        match rx.recv() {
            Ok(Read::Batch(batch)) => {
                if !each(batch)? {
                    return Ok(false);
                }
            }
            Ok(Read::End(read)) => return read.map(|()| true),
            Err(_) => return Err(Error::Usage(format!("table {table}: the reader stopped"))),
        }
    }
}

/// Reads one table into a callback: the source's `read_table`, here or
/// from a reader thread.
/// The read's index in the plan says which read of the table it is.
pub(super) type ReadFn<'r> = dyn FnMut(usize, &Table, &mut BatchFn) -> Result<()> + 'r;
