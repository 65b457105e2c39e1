//! The sinks' side of a dump: each planned table through the
//! transformers into the sinks that want it.

use super::read_ahead::ReadFn;
use super::reading::TableReading;
use super::Observer;
use crate::batch::Batch;
use crate::django::{Model, CONTENT_TYPE_TABLE};
use crate::error::{Error, Result};
use crate::plugin::{Report, Sink, TableOutcome, Transformer};
use crate::schema::{Storage, Table};

/// One planned model: the model, whether it is excluded, which sinks want
/// it, its layouts through the transformers, its counted rows.
pub(super) type Planned<'m> = (&'m Model, bool, Vec<bool>, &'m [Table], Result<u64>);

/// The sinks' side of a dump: every planned model into the sinks.
pub(super) struct Dumper<'d> {
    pub transformers: &'d mut [Box<dyn Transformer>],
    pub sinks: &'d mut [Box<dyn Sink>],
    pub tolerate: bool,
    pub observer: &'d mut dyn Observer,
    pub storage: Storage,
}

impl Dumper<'_> {
    pub fn dump_all(
        &mut self,
        plan: Vec<Planned<'_>>,
        ct_batches: &mut Option<Vec<Batch>>,
        read: &mut ReadFn,
    ) -> Result<Report> {
        let mut report = Report::default();
        for (model, excluded, wanted, chain, counted) in plan {
            let replay = if model.table.name == CONTENT_TYPE_TABLE {
                ct_batches.take()
            } else {
                None
            };
            let dumped =
                counted.and_then(|n| self.dump_table(model, chain, n, &wanted, replay, read));
            let outcome = match dumped {
                Ok(rows) => TableOutcome::Dumped { rows },
                Err(e) if self.tolerate && e.failed_table().is_some() => {
                    let reason = e.to_string();
                    for (sink, _) in self.sinks.iter_mut().zip(&wanted).filter(|(_, w)| **w) {
                        sink.table_skipped(model, &reason)?;
                    }
                    TableOutcome::Skipped { reason }
                }
                Err(e) => return Err(e),
            };
            self.observer.table_finished(model, &outcome);
            for sink in self.sinks.iter_mut() {
                for w in sink.warnings() {
                    self.observer.warning(&w);
                }
            }
            // An excluded table read for a sink's own use is not in the dump.
            if !excluded {
                report.tables.push((model.table.name.clone(), outcome));
            }
        }
        Ok(report)
    }

    /// Reads one table into the sinks that want it (`wanted`, by index);
    /// `replay` holds its batches when they were read before.
    fn dump_table(
        &mut self,
        model: &Model,
        chain: &[Table],
        expected: u64,
        wanted: &[bool],
        replay: Option<Vec<Batch>>,
        read: &mut ReadFn,
    ) -> Result<u64> {
        let source_table = chain.first().unwrap_or(&model.table);
        self.observer.table_started(model, expected);
        for (sink, _) in self.sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
            sink.table_start(model, expected)?;
        }
        let mut rows = 0u64;
        // As read from the source, before the transformers.
        let mut read_rows = 0u64;
        // Errors of transformers and sinks are not the table's fault: keep
        // them apart so that `--tolerate` never hides them.
        let mut downstream: Option<Error> = None;
        // A value Django can't read is the table's fault, like the source's.
        let mut unreadable: Option<Error> = None;
        let mut reading = TableReading::new(model, self.storage);
        let transformers = &mut *self.transformers;
        let sinks = &mut *self.sinks;
        let observer = &mut *self.observer;
        let mut each = |mut batch: Batch| {
            read_rows += batch.len() as u64;
            let step = (|| {
                for (i, t) in transformers.iter_mut().enumerate() {
                    if let (Some(input), Some(output)) = (chain.get(i), chain.get(i + 1)) {
                        t.batch(input, output, &mut batch)?;
                        if batch.width != output.columns.len() {
                            return Err(Error::Plugin {
                                plugin: format!("transformer {}", i + 1),
                                message: format!(
                                    "table {}: batch has {} columns, its table {}",
                                    output.name,
                                    batch.width,
                                    output.columns.len()
                                ),
                            });
                        }
                    }
                }
                if let Err(e) = reading.apply(&mut batch) {
                    unreadable = Some(e);
                    return Ok(false);
                }
                rows += batch.len() as u64;
                observer.rows_read(batch.len() as u64);
                for (sink, _) in sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
                    sink.rows(model, &batch)?;
                }
                batch.recycle();
                Ok(true)
            })();
            match step {
                Ok(go_on) => Ok(go_on),
                // The source stops; the error is reported as itself.
                Err(e) => {
                    downstream = Some(e);
                    Ok(false)
                }
            }
        };
        let read = match replay {
            Some(batches) => (|| {
                for b in batches {
                    if !each(b)? {
                        break;
                    }
                }
                Ok(())
            })(),
            None => {
                let read = read(source_table, &mut each);
                self.observer.table_read(&source_table.name, read_rows);
                read
            }
        };
        if let Some(e) = downstream {
            return Err(e);
        }
        if let Some(e) = unreadable {
            return Err(e);
        }
        read?;
        for w in reading.warnings() {
            self.observer.warning(&w);
        }
        for (sink, _) in self.sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
            sink.table_end(model, rows)?;
        }
        Ok(rows)
    }
}
