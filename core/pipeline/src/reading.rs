//! Each batch as Django reads it ([`Reading`]), before any sink sees it;
//! what was read differently is counted per column, for one warning each.

use dump2py_django::read::{Differs, Reading};
use dump2py_django::Model;
use dump2py_model::batch::Batch;
use dump2py_model::error::{Error, Result};
use dump2py_model::schema::{Storage, Table};
use dump2py_model::value::Value;

/// The columns of one model that Django reads through their field.
pub(super) struct TableReading<'m> {
    model: &'m Model,
    storage: Storage,
    columns: Vec<ColumnReading<'m>>,
}

/// A column index, its field's reading, and how often each reason came up.
type ColumnReading<'m> = (usize, &'m Reading, Vec<(Differs, u64)>);

impl<'m> TableReading<'m> {
    pub fn new(model: &'m Model, storage: Storage) -> TableReading<'m> {
        let columns = (model.fields.iter())
            .filter(|f| !f.reading.is_plain())
            .flat_map(|f| {
                let indexes = std::iter::once(f.index).chain(f.babel.iter().copied());
                indexes.map(move |i| (i, &f.reading, Vec::new()))
            })
            .collect();
        TableReading {
            model,
            storage,
            columns,
        }
    }

    /// Rewrites `batch`; an error is a value Django can't read.
    pub fn apply(&mut self, batch: &mut Batch) -> Result<()> {
        if self.columns.is_empty() || batch.width == 0 {
            return Ok(());
        }
        let table = &self.model.table;
        for row in batch.values.chunks_mut(batch.width) {
            for (i, reading, counts) in &mut self.columns {
                let Some(v) = row.get_mut(*i) else { continue };
                match reading.apply(v, self.storage) {
                    Ok(None) => {}
                    Ok(Some(d)) => match counts.iter_mut().find(|(k, _)| *k == d) {
                        Some((_, n)) => *n += 1,
                        None => counts.push((d, 1)),
                    },
                    Err(message) => {
                        let column = table.columns.get(*i).map_or("?", |c| c.name.as_str());
                        return Err(Error::Value {
                            table: table.name.clone(),
                            column: column.to_string(),
                            pk: table.pk_text(row),
                            message,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// `v`, a value of column `column`, as `apply` leaves it (also when
    /// Django can't read it: as far as `apply` got), uncounted.
    pub fn read_cell(&self, column: usize, v: &Value) -> Value {
        let mut v = v.clone();
        for (_, reading, _) in self.columns.iter().filter(|(i, ..)| *i == column) {
            let _ = reading.apply(&mut v, self.storage);
        }
        v
    }

    /// The table read.
    pub fn table(&self) -> &'m Table {
        &self.model.table
    }

    /// One line per column and reason: `table T, column C: N values
    /// written as Django reads them (WHY)`.
    pub fn warnings(&self) -> Vec<String> {
        let table = &self.model.table;
        let mut out = Vec::new();
        for (i, reading, counts) in &self.columns {
            let column = table.columns.get(*i).map_or("?", |c| c.name.as_str());
            for (d, n) in counts {
                let values = if *n == 1 { "value" } else { "values" };
                out.push(format!(
                    "table {}, column {column}: {n} {values} written as Django reads them ({})",
                    table.name,
                    d.why(reading)
                ));
            }
        }
        out
    }
}
