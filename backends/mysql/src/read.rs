//! Reading a table: the SQL, and the rows streamed into batches.

use dump2py_model::error::{Error, Result};
use dump2py_model::order::{float_literal, quoted_text, Dialect, Param, ReadOrder};
use dump2py_model::schema::{ColumnKind, Table};
use dump2py_model::{Batch, Value};
use dump2py_plugin::{BatchFn, KeyRange};
use mysql_async::prelude::Queryable;

use crate::types::{self, Conv};
use crate::MysqlSource;

/// MariaDB's and MySQL's SQL for [`ReadOrder`]s.
struct Mysql;

impl Dialect for Mysql {
    fn vendor(&self) -> &'static str {
        "mysql"
    }
    fn quote(&self, ident: &str) -> String {
        quote(ident)
    }
    fn literal(&self, p: &Param) -> std::result::Result<String, String> {
        match p {
            Param::Null => Ok("NULL".into()),
            Param::Bool(b) => Ok(u8::from(*b).to_string()),
            Param::Int(n) => Ok(n.to_string()),
            Param::Float(f) => float_literal(*f),
            // A backslash means one thing or another by the sql_mode.
            Param::Text(t) if t.contains('\\') => {
                Err("a text parameter with a backslash (its meaning depends on sql_mode)".into())
            }
            Param::Text(t) => quoted_text(t),
        }
    }
}

/// `name` quoted for MariaDB/MySQL.
pub(crate) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The primary key of `table` if it is one integer column (what
/// [`KeyRange`]s split), quoted.
pub(crate) fn int_key(table: &Table) -> Option<String> {
    let [key] = table.primary_key.as_slice() else {
        return None;
    };
    let column = &table.columns[table.column_index(key)?];
    matches!(column.kind, ColumnKind::Int | ColumnKind::UInt).then(|| quote(key))
}

/// `WHERE` of the rows in `range` (empty for all, and for None).
pub(crate) fn range_filter(table: &Table, range: Option<KeyRange>) -> Result<String> {
    let Some(range) = range else {
        return Ok(String::new());
    };
    let key = int_key(table).ok_or_else(|| KeyRange::unsplittable(&table.name))?;
    Ok(range.sql_filter(&key, |v| v.to_string()))
}

/// The statement that streams a table in primary-key order (all columns
/// when it has none); `filter` is a WHERE clause with a leading space, or
/// empty.
pub(crate) fn select_sql(table: &Table, convs: &[Conv], filter: &str) -> String {
    let cols: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let order_by = |i: usize| {
        if convs[i].sorts_as_bytes() {
            format!("CAST({} AS BINARY)", cols[i])
        } else {
            cols[i].clone()
        }
    };
    let key: Vec<usize> = table
        .primary_key
        .iter()
        .filter_map(|c| table.column_index(c))
        .collect();
    let order: Vec<String> = if key.is_empty() || key.len() != table.primary_key.len() {
        (0..cols.len()).map(order_by).collect()
    } else {
        key.into_iter().map(order_by).collect()
    };
    format!(
        "SELECT {} FROM {}{filter} ORDER BY {}",
        cols.join(", "),
        quote(&table.name),
        order.join(", ")
    )
}

pub(crate) fn pk_text(table: &Table, convs: &[Conv], row: &[Option<mysql_async::Value>]) -> String {
    table.pk_text_with(|i| match row.get(i)? {
        Some(mysql_async::Value::Bytes(b)) => types::convert(*convs.get(i)?, Some(b))
            .ok()
            .or_else(|| Some(Value::Text(String::from_utf8_lossy(b).into_owned()))),
        Some(mysql_async::Value::NULL) => Some(Value::Null),
        _ => None,
    })
}

impl MysqlSource {
    pub(crate) fn read(
        &mut self,
        table: &Table,
        range: Option<KeyRange>,
        order: Option<&ReadOrder>,
        batch_rows: usize,
        out: &mut BatchFn,
    ) -> Result<()> {
        self.check_visible(table)?;
        self.check_all_columns(table)?;
        let batch_rows = batch_rows.max(1);
        let mut convs = Vec::with_capacity(table.columns.len());
        for c in &table.columns {
            match (Conv::of(c), &c.kind) {
                (Some(conv), _) => convs.push(conv),
                (None, ColumnKind::Unsupported(t)) => {
                    return Err(Error::table(
                        &table.name,
                        format!("unsupported type {t} in {}.{}", table.name, c.name),
                    ))
                }
                (None, k) => {
                    return Err(Error::table(
                        &table.name,
                        format!("can't read column {} of kind {k:?}", c.name),
                    ))
                }
            }
        }
        if convs.is_empty() {
            return Err(Error::table(&table.name, "has no readable columns"));
        }
        let sql = match order {
            Some(order) => {
                let cols: Vec<String> = (table.columns.iter())
                    .map(|c| format!("t.{}", quote(&c.name)))
                    .collect();
                order.select(&Mysql, &quote(&table.name), &cols)?
            }
            None => select_sql(table, &convs, &range_filter(table, range)?),
        };
        let width = convs.len();
        let MysqlSource {
            conn, rt, unread, ..
        } = &mut *self;
        let Some(conn) = conn.as_mut() else {
            return Err(Error::Connect(
                "the MariaDB/MySQL connection is closed".into(),
            ));
        };
        *unread = true;
        let streamed: std::result::Result<Result<()>, mysql_async::Error> = rt.block_on(async {
            let mut result = conn.query_iter(sql).await?;
            let mut batch = Batch::new(width, batch_rows);
            // One row at a time from the socket: nothing holds the table.
            while let Some(row) = result.next().await? {
                let mut raw = row.unwrap_raw();
                if raw.len() != width {
                    return Ok(Err(Error::table(
                        &table.name,
                        format!("the server sent {} columns, not {width}", raw.len()),
                    )));
                }
                for (i, conv) in convs.iter().enumerate() {
                    // Copied into the batch's spare strings: the driver's
                    // buffers are freed here, on the thread that made them.
                    // A big text or blob is moved, not copied: the
                    // driver's copy is all there is of it.
                    let converted = match (&mut raw[i], conv) {
                        (
                            Some(mysql_async::Value::Bytes(b)),
                            Conv::Text | Conv::Json | Conv::Bytes,
                        ) if b.len() >= MOVED_BYTES => owned_value(*conv, std::mem::take(b)),
                        (Some(mysql_async::Value::Bytes(b)), _) => {
                            types::convert_in(*conv, Some(b.as_slice()), &mut batch)
                        }
                        _ => types::convert_in(*conv, None, &mut batch),
                    };
                    match converted {
                        Ok(v) => batch.push(v),
                        Err(message) => {
                            let c = &table.columns[i];
                            return Ok(Err(Error::Value {
                                table: table.name.clone(),
                                column: c.name.clone(),
                                pk: pk_text(table, &convs, &raw),
                                message: format!("declared {} but {message}", c.declared_type),
                            }));
                        }
                    }
                }
                if batch.full(batch_rows) {
                    match out(std::mem::replace(&mut batch, Batch::new(width, batch_rows))) {
                        Ok(true) => {}
                        Ok(false) => return Ok(Ok(())),
                        Err(e) => return Ok(Err(e)),
                    }
                }
            }
            *unread = false;
            if !batch.is_empty() {
                return Ok(out(batch).map(|_| ()));
            }
            Ok(Ok(()))
        });
        streamed.map_err(|e| self.table_error(&table.name, e))?
    }
}

/// A text or blob at least this long is moved out of the driver's row
/// rather than copied into a spare string.
const MOVED_BYTES: usize = 1 << 16;

/// A text, JSON or blob value (`conv`) made of the driver's bytes, moved.
fn owned_value(conv: Conv, bytes: Vec<u8>) -> std::result::Result<Value, String> {
    match conv {
        Conv::Bytes => Ok(Value::Bytes(bytes)),
        Conv::Text | Conv::Json => match String::from_utf8(bytes) {
            Ok(s) if matches!(conv, Conv::Json) => Ok(Value::Json(s)),
            Ok(s) => Ok(Value::Text(s)),
            // The error as a copy would have it.
            Err(e) => types::convert(conv, Some(e.as_bytes())),
        },
        _ => types::convert(conv, Some(&bytes)),
    }
}
