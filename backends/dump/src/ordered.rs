//! A read in the order of a Django queryset ([`ReadOrder`]), done in
//! memory: a dump is no database that could sort. The table is read whole,
//! each join's table is read whole and indexed by its joined column, and
//! the rows are sorted stably (ties keep the dump's order, which was the
//! database's primary-key order) by their terms' values, compared as
//! SQLite compares them: NULL first (last when the dump's source was
//! PostgreSQL, whose NULLs sort as the largest values), then numbers,
//! then text by its bytes (SQLite's BINARY collation; a PostgreSQL or
//! MariaDB database's own collation may order text otherwise), then bytes.
//! A default manager's filter is SQL, which a dump can't run: refused.

use std::cmp::Ordering;
use std::collections::HashMap;

use dump2py_model::error::{Error, Result};
use dump2py_model::order::ReadOrder;
use dump2py_model::schema::Table;
use dump2py_model::{Batch, Value};
use dump2py_plugin::{BatchFn, Source};

use crate::DumpSource;

/// A joined table's rows, and where each value of its joined column is.
type Joined = (Vec<Vec<Value>>, HashMap<String, usize>);

/// Every row of `table`.
fn rows_of(src: &mut DumpSource, table: &Table) -> Result<Vec<Vec<Value>>> {
    let mut rows = Vec::new();
    src.read_stored(table, 1000, &mut |b| {
        rows.extend(b.rows().map(<[Value]>::to_vec));
        Ok(true)
    })?;
    Ok(rows)
}

/// A value as a join's key: equal values, equal keys.
fn key(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Text(t) => Some(format!("'{t}")),
        other => Some(format!("{other:?}")),
    }
}

fn class(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Decimal(_) => 1,
        Value::Bytes(_) => 3,
        _ => 2,
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Int(n) => *n as f64,
        Value::UInt(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Decimal(d) => d.trim().parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// Text as the database held it (dates and times as ISO text).
fn text(v: &Value) -> String {
    match v {
        Value::Text(t) | Value::Json(t) => t.clone(),
        Value::Date(d) => d.to_string(),
        Value::Time(t) => t.to_string(),
        Value::DateTime(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// SQLite's order of two values, NULLs first or last.
pub fn compare(a: &Value, b: &Value, nulls_last: bool) -> Ordering {
    let (ca, cb) = (class(a), class(b));
    if ca == 0 || cb == 0 {
        let o = ca.cmp(&cb);
        return if nulls_last { o.reverse() } else { o };
    }
    if ca != cb {
        return ca.cmp(&cb);
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        _ if ca == 1 => number(a).total_cmp(&number(b)),
        _ => text(a).as_bytes().cmp(text(b).as_bytes()),
    }
}

pub fn read_ordered(
    src: &mut DumpSource,
    table: &Table,
    order: &ReadOrder,
    batch_rows: usize,
    out: &mut BatchFn,
) -> Result<()> {
    if let Some(f) = order.filters.first() {
        return Err(Error::table(
            &table.name,
            format!(
                "the default manager of {} filters its rows with SQL, which a dump can't run",
                f.model
            ),
        ));
    }
    let nulls_last = src.layout.source.starts_with("postgres");
    let schema = src.schema()?;
    let rows = rows_of(src, table)?;
    // Per alias: its table, and its rows indexed by the joined column.
    let mut tables: Vec<Table> = vec![table.clone()];
    let mut joined: Vec<Joined> = Vec::new();
    for j in &order.joins {
        let t = schema.table(&j.table).cloned().ok_or_else(|| {
            Error::table(&table.name, format!("no table {} in the dump", j.table))
        })?;
        let at = t
            .column_index(&j.to_column)
            .ok_or_else(|| Error::table(&j.table, format!("no column {}", j.to_column)))?;
        let rows = rows_of(src, &t)?;
        let mut index = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            if let Some(k) = key(&r[at]) {
                index.entry(k).or_insert(i);
            }
        }
        tables.push(t);
        joined.push((rows, index));
    }
    let column = |alias: usize, name: &str| -> Result<usize> {
        (tables.get(alias).and_then(|t| t.column_index(name)))
            .ok_or_else(|| Error::table(&table.name, format!("no column {name} to order by")))
    };
    let join_cols: Vec<usize> = (order.joins.iter())
        .map(|j| column(j.from, &j.column))
        .collect::<Result<_>>()?;
    let term_cols: Vec<usize> = (order.terms.iter())
        .map(|t| column(t.alias, &t.column))
        .collect::<Result<_>>()?;
    let sort_keys: Vec<Vec<Value>> = rows
        .iter()
        .map(|row| {
            let mut aliases: Vec<Option<&[Value]>> = vec![Some(row)];
            for (k, j) in order.joins.iter().enumerate() {
                let from = aliases.get(j.from).copied().flatten();
                let target = from
                    .and_then(|r| key(&r[join_cols[k]]))
                    .and_then(|key| joined[k].1.get(&key))
                    .map(|&i| joined[k].0[i].as_slice());
                aliases.push(target);
            }
            (order.terms.iter().zip(&term_cols))
                .map(|(t, &c)| {
                    aliases
                        .get(t.alias)
                        .copied()
                        .flatten()
                        .map_or(Value::Null, |r| r[c].clone())
                })
                .collect()
        })
        .collect();
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.sort_by(|&a, &b| {
        for ((t, x), y) in order.terms.iter().zip(&sort_keys[a]).zip(&sort_keys[b]) {
            let o = compare(x, y, nulls_last);
            let o = if t.desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    let width = table.columns.len();
    let mut rows: Vec<Option<Vec<Value>>> = rows.into_iter().map(Some).collect();
    let mut batch = Batch::new(width, batch_rows);
    for i in idx {
        if let Some(r) = rows[i].take() {
            batch.push_row(r);
        }
        if batch.full(batch_rows) {
            let full = std::mem::replace(&mut batch, Batch::new(width, batch_rows));
            if !out(full)? {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        out(batch)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_as_sqlite_does() {
        let t = |s: &str| Value::Text(s.into());
        assert_eq!(compare(&Value::Null, &Value::Int(1), false), Ordering::Less);
        assert_eq!(
            compare(&Value::Null, &Value::Int(1), true),
            Ordering::Greater
        );
        assert_eq!(compare(&Value::Int(9), &t("1"), false), Ordering::Less);
        assert_eq!(compare(&t("B"), &t("a"), false), Ordering::Less);
        assert_eq!(
            compare(&Value::Decimal("1.5".into()), &Value::Int(2), false),
            Ordering::Less
        );
    }
}
