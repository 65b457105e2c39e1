//! The sinks' side of a dump: each planned table through the
//! transformers into the sinks that want it.

use super::read_ahead::ReadFn;
use super::reading::TableReading;
use super::Observer;
use dump2py_django::{Model, CONTENT_TYPE_TABLE};
use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Storage, Table};
use dump2py_plugin::{Report, Sink, TableOutcome, Transformer};

/// One planned read of a model's table.
pub(super) struct Planned<'m> {
    pub model: &'m Model,
    /// Excluded (`-e`): read for a sink's own use, not in the report.
    pub excluded: bool,
    /// Which sinks get this read.
    pub wanted: Vec<bool>,
    /// Its layouts through the transformers.
    pub chain: &'m [Table],
    /// Its rows as counted.
    pub counted: Result<u64>,
    /// The order a sink asked for; None: the source's.
    pub order: Option<std::sync::Arc<dump2py_model::order::ReadOrder>>,
    /// A second read of a table (in another order): not in the report again.
    pub again: bool,
}

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
        for (at, p) in plan.into_iter().enumerate() {
            let Planned {
                model,
                excluded,
                wanted,
                chain,
                counted,
                order,
                again,
            } = p;
            let replay = if model.table.name == CONTENT_TYPE_TABLE && order.is_none() {
                ct_batches.take()
            } else {
                None
            };
            let dumped = counted.and_then(|n| {
                self.dump_table(model, chain, n, &wanted, replay, &mut |table, each| {
                    read(at, table, each)
                })
            });
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
            // An excluded table read for a sink's own use is not in the dump;
            // a table read again is in it once, but a skip of either read
            // is reported.
            let skipped = matches!(outcome, TableOutcome::Skipped { .. });
            if !excluded && (!again || skipped) {
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
        read: &mut dyn FnMut(&Table, &mut dump2py_plugin::BatchFn) -> Result<()>,
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
        // With transformers, a value that can't be dumped may be theirs: the
        // batch as read is kept to tell (when they keep the layout).
        let same_layout = chain.len() > 1
            && chain.first().map(|t| &t.columns) == chain.last().map(|t| &t.columns);
        let mut each = |mut batch: Batch| {
            let original = same_layout.then(|| batch.clone());
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
                    match blame(e, transformers, &reading, original.as_ref(), &batch) {
                        e @ Error::Plugin { .. } => return Err(e),
                        e => unreadable = Some(e),
                    }
                    return Ok(false);
                }
                rows += batch.len() as u64;
                observer.rows_read(batch.len() as u64);
                for (sink, _) in sinks.iter_mut().zip(wanted).filter(|(_, w)| **w) {
                    sink.rows(model, &batch)
                        .map_err(|e| blame(e, transformers, &reading, original.as_ref(), &batch))?;
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

/// A value error (`table T, column C, primary key P`) for a value that the
/// transformers changed is theirs, not the database's: it names them, and
/// `--tolerate` doesn't skip it. `original` is the batch as read (when the
/// transformers keep the layout), `batch` as the transformers and then
/// `reading` left it: the value as read, read as Django reads it, is
/// compared with the one that failed (only then, for that one value: no
/// copy of every batch as the transformers left it).
fn blame(
    e: Error,
    transformers: &[Box<dyn dump2py_plugin::Transformer>],
    reading: &TableReading,
    original: Option<&Batch>,
    batch: &Batch,
) -> Error {
    let Some(original) = original else {
        return e;
    };
    let Error::Value {
        column,
        pk,
        message,
        ..
    } = &e
    else {
        return e;
    };
    let table = reading.table();
    let Some(ci) = table.column_index(column) else {
        return e;
    };
    let width = batch.width.max(1);
    let row = batch
        .values
        .chunks(width)
        .position(|r| table.pk_text(r) == *pk);
    let theirs = match row {
        Some(r) => {
            let at = r * width + ci;
            let as_read = original.values.get(at).map(|v| reading.read_cell(ci, v));
            as_read.as_ref() != batch.values.get(at)
        }
        // The row is not the database's at all.
        None => true,
    };
    if !theirs {
        return e;
    }
    let who: Vec<String> = transformers.iter().map(|t| t.label()).collect();
    Error::Plugin {
        plugin: who.join(", "),
        message: format!(
            "wrote a value that can't be dumped: table {}, column {column}, primary key {pk}: {message}",
            table.name
        ),
    }
}
