//! SQLite's declared types → column kinds, and stored values → [`Value`]s.

use dump2py_core::error::{Error, Result};
use dump2py_core::plugin::BatchFn;
use dump2py_core::schema::{ColumnKind, Table};
use dump2py_core::value::{Date, DateTime, Time};
use dump2py_core::{Batch, Value};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::quote;

/// The kind of a column by its declared type: Django's names first, then
/// SQLite's own affinity rules for anything else.
pub fn column_kind(declared: &str, json_checked: bool) -> ColumnKind {
    let t = declared.to_ascii_lowercase();
    let base = t.split('(').next().unwrap_or("").trim();
    if json_checked {
        return ColumnKind::Json;
    }
    match base {
        "bool" | "boolean" => ColumnKind::Bool,
        "date" => ColumnKind::Date,
        "datetime" | "timestamp" => ColumnKind::DateTime,
        "time" => ColumnKind::Time,
        "decimal" | "numeric" => ColumnKind::Decimal,
        "real" | "double" | "double precision" | "float" => ColumnKind::Float,
        "blob" => ColumnKind::Bytes,
        "json" => ColumnKind::Json,
        _ if t.contains("int") => ColumnKind::Int,
        _ if t.contains("char") || t.contains("clob") || t.contains("text") || t.is_empty() => {
            ColumnKind::Text
        }
        _ if t.contains("real") || t.contains("floa") || t.contains("doub") => ColumnKind::Float,
        _ => ColumnKind::Decimal,
    }
}

/// Django declares a JSONField on SQLite as `text` with
/// `CHECK ((JSON_VALID("col") OR "col" IS NULL))`.
pub fn is_json_column(create_sql: &str, column: &str) -> bool {
    let needle = format!("json_valid({})", quote(column)).to_ascii_lowercase();
    create_sql.to_ascii_lowercase().contains(&needle)
}

pub fn read_table(
    conn: &Connection,
    table: &Table,
    batch_rows: usize,
    out: &mut BatchFn,
) -> Result<()> {
    let table_err = |e: rusqlite::Error| Error::table(&table.name, e.to_string());
    let cols: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
    let order = if !table.primary_key.is_empty() {
        table
            .primary_key
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    } else if has_rowid(conn, table) {
        "rowid".to_string()
    } else {
        (1..=cols.len())
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        if cols.is_empty() {
            "*".to_string()
        } else {
            cols.join(", ")
        },
        quote(&table.name),
        order
    );
    let mut stmt = conn.prepare(&sql).map_err(table_err)?;
    if table.columns.is_empty() {
        return Err(Error::table(&table.name, "has no readable columns"));
    }
    let width = table.columns.len();
    let mut rows = stmt.query([]).map_err(table_err)?;
    let mut batch = Batch::new(width, batch_rows);
    while let Some(row) = rows.next().map_err(table_err)? {
        for (i, col) in table.columns.iter().enumerate() {
            let raw = row.get_ref(i).map_err(table_err)?;
            match convert(&col.kind, raw) {
                Ok(v) => batch.values.push(v),
                Err(message) => {
                    return Err(Error::Value {
                        table: table.name.clone(),
                        column: col.name.clone(),
                        pk: pk_text(table, row),
                        message: format!("declared {} but {message}", col.declared_type),
                    })
                }
            }
        }
        if batch.len() >= batch_rows
            && !out(std::mem::replace(&mut batch, Batch::new(width, batch_rows)))?
        {
            return Ok(());
        }
    }
    if !batch.is_empty() {
        out(batch)?;
    }
    Ok(())
}

fn has_rowid(conn: &Connection, table: &Table) -> bool {
    conn.prepare(&format!("SELECT rowid FROM {} LIMIT 0", quote(&table.name)))
        .is_ok()
}

fn pk_text(table: &Table, row: &rusqlite::Row) -> String {
    table.pk_text_with(|i| {
        let raw = row.get_ref(i).ok()?;
        convert(&table.columns.get(i)?.kind, raw).ok()
    })
}

fn describe(raw: ValueRef) -> String {
    match raw {
        ValueRef::Null => "holds NULL".into(),
        ValueRef::Integer(n) => format!("holds the integer {n}"),
        ValueRef::Real(f) => format!("holds the real {f}"),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            let short: String = s.chars().take(40).collect();
            format!("holds the text {short:?}")
        }
        ValueRef::Blob(b) => format!("holds a blob of {} bytes", b.len()),
    }
}

fn text(t: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(t).map_err(|_| "holds text that is not UTF-8".to_string())
}

fn convert(kind: &ColumnKind, raw: ValueRef) -> Result<Value, String> {
    use ColumnKind as K;
    Ok(match (kind, raw) {
        (_, ValueRef::Null) => Value::Null,
        (K::Bool, ValueRef::Integer(n @ (0 | 1))) => Value::Bool(n == 1),
        (K::Int | K::UInt | K::Duration, ValueRef::Integer(n)) => match kind {
            K::Duration => Value::Duration(n),
            _ => Value::Int(n),
        },
        (K::Float, ValueRef::Real(f)) => Value::Float(f),
        (K::Float, ValueRef::Integer(n)) => Value::Float(n as f64),
        (K::Decimal, ValueRef::Integer(n)) => Value::Decimal(n.to_string()),
        (K::Decimal, ValueRef::Real(f)) if f.is_finite() => Value::Decimal(decimal_text(f)),
        (K::Decimal, ValueRef::Text(t)) if is_decimal(text(t)?) => {
            Value::Decimal(text(t)?.trim().to_string())
        }
        (K::Text | K::Uuid, ValueRef::Text(t)) => Value::Text(text(t)?.to_string()),
        (K::Text, ValueRef::Integer(n)) => Value::Text(n.to_string()),
        (K::Json, ValueRef::Text(t)) => Value::Json(text(t)?.to_string()),
        (K::Bytes, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
        (K::Bytes, ValueRef::Text(t)) => Value::Bytes(t.to_vec()),
        (K::Date, ValueRef::Text(t)) => {
            Value::Date(Date::parse(text(t)?).ok_or_else(|| describe(raw))?)
        }
        (K::Time, ValueRef::Text(t)) => {
            Value::Time(Time::parse(text(t)?).ok_or_else(|| describe(raw))?)
        }
        (K::DateTime, ValueRef::Text(t)) => {
            Value::DateTime(DateTime::parse(text(t)?).ok_or_else(|| describe(raw))?)
        }
        (K::Unsupported(t), _) => return Err(format!("type {t} is not supported")),
        _ => return Err(describe(raw)),
    })
}

fn is_decimal(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    (!int.is_empty() || !frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// The shortest text that reads back as `f`, in plain (not exponent)
/// notation, as Django's `Decimal(repr(f))` would give before quantizing.
fn decimal_text(f: f64) -> String {
    if let Some((m, places)) = dump2py_core::value::short_decimal(f) {
        let mut s = String::with_capacity(24);
        dump2py_core::value::push_scaled(&mut s, m, places);
        return s;
    }
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let point = exp + 1; // digits before the decimal point
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if point <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-point) as usize));
        s.push_str(&digits);
    } else if point as usize >= digits.len() {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        s.push_str(&digits[..point as usize]);
        s.push('.');
        s.push_str(&digits[point as usize..]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(column_kind("varchar(200)", false), ColumnKind::Text);
        assert_eq!(column_kind("bool", false), ColumnKind::Bool);
        assert_eq!(column_kind("integer unsigned", false), ColumnKind::Int);
        assert_eq!(column_kind("decimal", false), ColumnKind::Decimal);
        assert_eq!(column_kind("text", true), ColumnKind::Json);
        assert!(is_json_column(
            r#"CREATE TABLE "t" ("data" text NULL CHECK ((JSON_VALID("data") OR "data" IS NULL)))"#,
            "data"
        ));
    }

    #[test]
    fn decimals_keep_their_digits() {
        assert_eq!(decimal_text(12.5), "12.5");
        assert_eq!(decimal_text(-0.001), "-0.001");
        assert_eq!(decimal_text(1e20), "100000000000000000000");
        assert_eq!(decimal_text(0.1), "0.1");
        assert_eq!(decimal_text(-0.0), "-0");
        assert_eq!(decimal_text(99.99), "99.99");
        assert_eq!(decimal_text(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(decimal_text(3.0), "3");
        assert!(is_decimal("-12.50") && !is_decimal("1e5") && !is_decimal("."));
    }

    #[test]
    fn bad_values_are_named() {
        assert!(convert(&ColumnKind::Bool, ValueRef::Integer(2)).is_err());
        assert!(convert(&ColumnKind::Date, ValueRef::Text(b"2024-02-30")).is_err());
        assert_eq!(
            convert(&ColumnKind::Bool, ValueRef::Integer(1)),
            Ok(Value::Bool(true))
        );
    }
}
