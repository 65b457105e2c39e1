//! Reading a table: COPY in binary, decoded into batches.

use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::{ColumnKind, Table};
use dump2py_model::{Batch, Value};
use dump2py_plugin::{BatchFn, KeyRange};
use futures_util::StreamExt;

use crate::connect::read_error;
use crate::copy::{CopyRows, Fields};
use crate::types::Decoder;
use crate::PgSource;

impl PgSource {
    pub(crate) fn read(
        &mut self,
        table: &Table,
        range: Option<KeyRange>,
        order: Option<&ReadOrder>,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        if let Some(c) = table
            .columns
            .iter()
            .find(|c| matches!(c.kind, ColumnKind::Unsupported(_)))
        {
            return Err(Error::table(
                &table.name,
                format!(
                    "unsupported type {} in {}.{}",
                    c.declared_type, table.name, c.name
                ),
            ));
        }
        if table.columns.is_empty() {
            return Err(Error::table(&table.name, "has no columns"));
        }
        let batch_rows = batch_rows.max(1);
        let scattered = self
            .catalog
            .get()
            .is_some_and(|c| c.scattered.contains(&table.name));
        self.guarded(&table.name, |s| {
            // The settings hold for this read only: an error rolls them
            // back with the savepoint.
            let at = s.spec.location();
            let plan = |s: &mut Self, on: &str| {
                s.batch(&format!(
                    "SET LOCAL enable_indexscan = {on}; SET LOCAL enable_bitmapscan = {on}"
                ))
                .map_err(|e| read_error(&at, &table.name, &e))
            };
            if scattered {
                plan(s, "off")?;
            }
            s.read_guarded(table, range, order, batch_rows, out)?;
            if scattered {
                plan(s, "on")?;
            }
            Ok(())
        })
    }

    pub(crate) fn read_guarded(
        &mut self,
        table: &Table,
        range: Option<KeyRange>,
        order: Option<&ReadOrder>,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        let at = self.spec.location();
        let table_err = |e: tokio_postgres::Error| read_error(&at, &table.name, &e);
        let select = match order {
            Some(order) => self.ordered_sql(table, order)?,
            None => self.range_sql(table, range)?,
        };
        // COPY gives no column types: the prepared SELECT does.
        let described = self
            .block(self.client.prepare(&select))
            .map_err(table_err)?;
        let decoders = described
            .columns()
            .iter()
            .zip(&table.columns)
            .map(|(rc, c)| {
                Decoder::for_type(rc.type_()).ok_or_else(|| {
                    Error::table(
                        &table.name,
                        format!(
                            "unsupported type {} in {}.{}",
                            rc.type_().name(),
                            table.name,
                            c.name
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        drop(described);
        let width = table.columns.len();
        if decoders.len() != width {
            return Err(Error::table(
                &table.name,
                format!("has {} columns, the catalog said {width}", decoders.len()),
            ));
        }
        // COPY streams the rows: the server sends on while we write, and
        // the connection stops reading when we fall behind, so memory
        // holds about one batch whatever the table's size.
        let stream = self
            .block(
                self.client
                    .copy_out(&format!("COPY ({select}) TO STDOUT (FORMAT binary)")),
            )
            .map_err(table_err)?;
        let mut rows = CopyRows::default();
        let mut fields = Fields::new();
        let mut batch = Batch::new(width, batch_rows);
        let malformed = |m: String| Error::table(&table.name, format!("{at}: {m}"));
        // One `block_on` for the whole table: the server sends a CopyData
        // message per row, and entering the runtime for each (a clock read
        // and a context switch of the runtime) cost more than decoding it.
        let finished = self.block(async {
            let mut stream = std::pin::pin!(stream);
            while let Some(chunk) = stream.next().await {
                rows.push(chunk.map_err(table_err)?);
                while rows.next_row(&mut fields).map_err(malformed)? {
                    if fields.len() != width {
                        return Err(malformed(format!(
                            "a row of {} fields, expected {width}",
                            fields.len()
                        )));
                    }
                    decode_row(table, &decoders, rows.bytes(), &fields, &mut batch)?;
                    if batch.full(batch_rows) {
                        rows.release_spent();
                        if !out(std::mem::replace(&mut batch, Batch::new(width, batch_rows)))? {
                            return Ok(false);
                        }
                    }
                }
            }
            Ok(true)
        })?;
        if !finished {
            return Ok(());
        }
        rows.finish().map_err(malformed)?;
        if !batch.values.is_empty() {
            out(batch)?;
        }
        Ok(())
    }
}

fn decode_row(
    table: &Table,
    decoders: &[Decoder],
    bytes: &[u8],
    fields: &Fields,
    batch: &mut Batch,
) -> Result<()> {
    for (i, (d, field)) in decoders.iter().zip(fields).enumerate() {
        let v = match field {
            None => Value::Null,
            Some(r) => d
                .decode_in(&bytes[r.clone()], batch)
                .map_err(|message| Error::Value {
                    table: table.name.clone(),
                    column: table.columns[i].name.clone(),
                    pk: pk_text(table, decoders, bytes, fields),
                    message: format!("declared {} but {message}", table.columns[i].declared_type),
                })?,
        };
        batch.push(v);
    }
    Ok(())
}

fn pk_text(table: &Table, decoders: &[Decoder], bytes: &[u8], fields: &Fields) -> String {
    table.pk_text_with(|i| match fields.get(i)?.clone() {
        None => Some(Value::Null),
        Some(r) => decoders.get(i)?.decode(bytes.get(r)?).ok(),
    })
}
