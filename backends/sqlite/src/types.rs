//! SQLite's declared types → column kinds, and stored values → [`Value`]s.

use dump2py_model::error::{Error, Result};
use dump2py_model::order::{float_literal, quoted_text, Dialect, Param, ReadOrder};
use dump2py_plugin::BatchFn;
use std::borrow::Cow;

use dump2py_model::schema::{Column, ColumnKind, Table};
use dump2py_model::{Batch, Value};
use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::{dateparse, quote};

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

/// SQLite's SQL for [`ReadOrder`]s.
pub struct Sqlite;

impl Dialect for Sqlite {
    fn vendor(&self) -> &'static str {
        "sqlite"
    }
    fn quote(&self, ident: &str) -> String {
        quote(ident)
    }
    fn literal(&self, p: &Param) -> std::result::Result<String, String> {
        match p {
            Param::Null => Ok("NULL".into()),
            // sqlite3 adapts booleans to integers.
            Param::Bool(b) => Ok(u8::from(*b).to_string()),
            Param::Int(n) => Ok(n.to_string()),
            Param::Float(f) => float_literal(*f),
            Param::Text(t) => quoted_text(t),
        }
    }
}

/// The rows of `table` as `order` has them.
pub fn read_ordered(
    conn: &Connection,
    table: &Table,
    order: &ReadOrder,
    batch_rows: usize,
    out: &mut BatchFn,
) -> Result<()> {
    let cols: Vec<String> = (table.columns.iter())
        .map(|c| format!("t.{}", quote(&c.name)))
        .collect();
    let sql = order.select(&Sqlite, &quote(&table.name), &cols)?;
    read_sql(conn, table, &sql, batch_rows, out)
}

pub fn read_table(
    conn: &Connection,
    table: &Table,
    batch_rows: usize,
    out: &mut BatchFn,
) -> Result<()> {
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
    let mut sql = format!(
        "SELECT {} FROM {}",
        if cols.is_empty() {
            "*".to_string()
        } else {
            cols.join(", ")
        },
        quote(&table.name),
    );
    // A view whose columns can't be known (it names a table that is gone)
    // has nothing to order by: its read says what is wrong.
    if !order.is_empty() {
        sql.push_str(" ORDER BY ");
        sql.push_str(&order);
    }
    read_sql(conn, table, &sql, batch_rows, out)
}

/// The rows `sql` selects, `table`'s columns in its order.
fn read_sql(
    conn: &Connection,
    table: &Table,
    sql: &str,
    batch_rows: usize,
    out: &mut BatchFn,
) -> Result<()> {
    let table_err = |e: rusqlite::Error| Error::table(&table.name, e.to_string());
    let mut stmt = conn.prepare(sql).map_err(table_err)?;
    if table.columns.is_empty() {
        return Err(Error::table(&table.name, "has no readable columns"));
    }
    let width = table.columns.len();
    let reads: Vec<Read> = table.columns.iter().map(Read::of).collect();
    let mut rows = stmt.query([]).map_err(table_err)?;
    let mut batch = Batch::new(width, batch_rows);
    while let Some(row) = rows.next().map_err(table_err)? {
        for (i, (col, read)) in table.columns.iter().zip(&reads).enumerate() {
            let raw = row.get_ref(i).map_err(table_err)?;
            match convert_in(*read, raw, &mut batch) {
                Ok(v) => batch.push(v),
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
        if batch.full(batch_rows)
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
        convert(Read::of(table.columns.get(i)?), raw).ok()
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

/// How one column's stored values are read.
#[derive(Debug, Clone, Copy)]
struct Read<'a> {
    kind: &'a ColumnKind,
    /// Declared `bool`, as Django declares a BooleanField: Python's sqlite3
    /// converter for it (by the declared type's first word) reads the
    /// value's text, true only for `1`.
    sqlite3_bool: bool,
}

impl Read<'_> {
    fn of(col: &Column) -> Read<'_> {
        let first = col.declared_type.split([' ', '(']).next().unwrap_or("");
        Read {
            kind: &col.kind,
            sqlite3_bool: col.kind == ColumnKind::Bool && first.eq_ignore_ascii_case("bool"),
        }
    }
}

/// A value's text as SQLite gives it to Python's sqlite3 converters.
fn text_form(raw: ValueRef) -> Cow<[u8]> {
    match raw {
        ValueRef::Null => Cow::Borrowed(b""),
        ValueRef::Integer(n) => Cow::Owned(n.to_string().into_bytes()),
        ValueRef::Real(f) => Cow::Owned(real_text(f).into_bytes()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Cow::Borrowed(t),
    }
}

/// A date, time or datetime as Django reads it: dateparse on the text of
/// whatever is stored (SQLite's NUMERIC affinity makes `'12'` an integer).
fn parsed<T>(raw: ValueRef, parse: fn(&str) -> Option<T>) -> Result<T, String> {
    let form = text_form(raw);
    parse(text(&form)?).ok_or_else(|| describe(raw))
}

fn convert(read: Read, raw: ValueRef) -> Result<Value, String> {
    convert_in(read, raw, &mut Batch::default())
}

/// A stored value as Django reads it; its text in one of `batch`'s spare
/// strings.
fn convert_in(read: Read, raw: ValueRef, batch: &mut Batch) -> Result<Value, String> {
    use ColumnKind as K;
    Ok(match (read.kind, raw) {
        (_, ValueRef::Null) => Value::Null,
        (K::Bool, _) if read.sqlite3_bool => Value::Bool(*text_form(raw) == *b"1"),
        // Django's converter keeps what is not 0 or 1.
        (K::Bool, ValueRef::Integer(n @ (0 | 1))) => Value::Bool(n == 1),
        (K::Bool, ValueRef::Integer(n)) => Value::Int(n),
        (K::Bool, ValueRef::Real(f)) if f == 0.0 || f == 1.0 => Value::Bool(f == 1.0),
        (K::Bool, ValueRef::Real(f)) => Value::Float(f),
        (K::Bool, ValueRef::Text(t)) => Value::Text(batch.string(text(t)?)),
        (K::Bool, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
        (K::Int | K::UInt | K::Duration, ValueRef::Integer(n)) => match read.kind {
            K::Duration => Value::Duration(n),
            _ => Value::Int(n),
        },
        (K::Float, ValueRef::Real(f)) => Value::Float(f),
        (K::Float, ValueRef::Integer(n)) => Value::Float(n as f64),
        (K::Decimal, ValueRef::Integer(n)) => Value::Decimal(n.to_string()),
        (K::Decimal, ValueRef::Real(f)) if f.is_finite() => {
            Value::Decimal(decimal_text(f, batch.string("")))
        }
        (K::Decimal, ValueRef::Text(t)) if is_decimal(text(t)?) => {
            Value::Decimal(batch.string(text(t)?.trim()))
        }
        (K::Text | K::Uuid, ValueRef::Text(t)) => Value::Text(batch.string(text(t)?)),
        (K::Text, ValueRef::Integer(n)) => Value::Text(n.to_string()),
        (K::Json, ValueRef::Text(t)) => Value::Json(batch.string(text(t)?)),
        (K::Bytes, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
        (K::Bytes, ValueRef::Text(t)) => Value::Bytes(t.to_vec()),
        (K::Date, _) => Value::Date(parsed(raw, dateparse::date)?),
        (K::Time, _) => Value::Time(parsed(raw, dateparse::time)?),
        (K::DateTime, _) => Value::DateTime(parsed(raw, dateparse::datetime)?),
        (K::Unsupported(t), _) => return Err(format!("type {t} is not supported")),
        _ => return Err(describe(raw)),
    })
}

/// SQLite's text of a REAL (`%!.15g`, a tie rounded away from zero):
/// `0.3`, `20240203.0`, `1.0e+20`. (SQLite's last digit may differ for
/// exponents beyond ±100: text that is never a date.)
fn real_text(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "Inf" } else { "-Inf" }.into();
    }
    // Enough exact digits that the 16th decides the rounding.
    let e = format!("{:.40e}", f.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let mut exp: i32 = exp.parse().unwrap_or(0);
    let all: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let mut digits = all[..15].to_vec();
    if all[15] >= b'5' {
        match digits.iter().rposition(|&d| d != b'9') {
            Some(i) => {
                digits[i] += 1;
                digits[i + 1..].fill(b'0');
            }
            None => {
                digits = [b"1".as_slice(), &[b'0'; 14]].concat();
                exp += 1;
            }
        }
    }
    let digits = String::from_utf8_lossy(&digits).into_owned();
    let sign = if f < 0.0 { "-" } else { "" };
    let fixed = (-4..15).contains(&exp);
    let (int, frac) = if fixed {
        let padded = "0".repeat((-exp).max(0) as usize) + &digits;
        let (i, f) = padded.split_at((exp.max(0) + 1) as usize);
        (i.to_string(), f.trim_end_matches('0').to_string())
    } else {
        (
            digits[..1].to_string(),
            digits[1..].trim_end_matches('0').to_string(),
        )
    };
    let frac = if frac.is_empty() { "0" } else { &frac };
    if fixed {
        format!("{sign}{int}.{frac}")
    } else {
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{int}.{frac}e{esign}{:02}", exp.abs())
    }
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
/// Into `s` (empty).
fn decimal_text(f: f64, mut s: String) -> String {
    if let Some((m, places)) = dump2py_model::value::short_decimal(f) {
        dump2py_model::value::push_scaled(&mut s, m, places);
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
    use dump2py_model::value::{Date, Time};

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
        assert_eq!(decimal_text(12.5, String::new()), "12.5");
        assert_eq!(decimal_text(-0.001, String::new()), "-0.001");
        assert_eq!(decimal_text(1e20, String::new()), "100000000000000000000");
        assert_eq!(decimal_text(0.1, String::new()), "0.1");
        assert_eq!(decimal_text(-0.0, String::new()), "-0");
        assert_eq!(decimal_text(99.99, String::new()), "99.99");
        assert_eq!(
            decimal_text(0.1 + 0.2, String::new()),
            "0.30000000000000004"
        );
        assert_eq!(decimal_text(3.0, String::new()), "3");
        assert!(is_decimal("-12.50") && !is_decimal("1e5") && !is_decimal("."));
    }

    fn col(declared: &str, kind: ColumnKind) -> Column {
        Column {
            name: "v".into(),
            declared_type: declared.into(),
            kind,
            nullable: true,
            generated: false,
        }
    }

    /// Django declares `bool`: Python's sqlite3 converter reads the text,
    /// true only for `1`. Another boolean column goes through Django's
    /// converter alone, which keeps what is not 0 or 1.
    #[test]
    fn booleans_as_django_reads_them() {
        let bool_ = col("bool", ColumnKind::Bool);
        let upper = col("BOOL(1)", ColumnKind::Bool);
        let boolean = col("boolean", ColumnKind::Bool);
        let read = |c: &Column, raw| convert(Read::of(c), raw);
        for (raw, want) in [
            (ValueRef::Integer(1), true),
            (ValueRef::Integer(0), false),
            (ValueRef::Integer(2), false),
            (ValueRef::Integer(-1), false),
            (ValueRef::Real(1.5), false),
            (ValueRef::Text(b"1"), true),
            (ValueRef::Text(b"yes"), false),
            (ValueRef::Blob(b"1"), true),
            (ValueRef::Blob(b"\xff"), false),
        ] {
            assert_eq!(read(&bool_, raw), Ok(Value::Bool(want)), "{raw:?}");
            assert_eq!(read(&upper, raw), Ok(Value::Bool(want)), "{raw:?}");
        }
        assert_eq!(read(&bool_, ValueRef::Null), Ok(Value::Null));
        for (raw, want) in [
            (ValueRef::Integer(1), Value::Bool(true)),
            (ValueRef::Integer(0), Value::Bool(false)),
            (ValueRef::Integer(2), Value::Int(2)),
            (ValueRef::Real(1.0), Value::Bool(true)),
            (ValueRef::Real(0.5), Value::Float(0.5)),
            (ValueRef::Text(b"yes"), Value::Text("yes".into())),
        ] {
            assert_eq!(read(&boolean, raw), Ok(want), "{raw:?}");
        }
    }

    /// Dates and times are parsed from the text Python's sqlite3 gets:
    /// NUMERIC affinity stores `'12'` as an integer, `'12.5'` as a real.
    #[test]
    fn dates_from_numbers_and_blobs() {
        let read = |declared: &str, kind, raw| convert(Read::of(&col(declared, kind)), raw);
        let date = |y, m, d| Value::Date(Date::new(y, m, d).expect("date"));
        let time = |h, m, s, us| Value::Time(Time::new(h, m, s, us).expect("time"));
        assert_eq!(
            read("date", ColumnKind::Date, ValueRef::Integer(20240203)),
            Ok(date(2024, 2, 3))
        );
        assert_eq!(
            read("time", ColumnKind::Time, ValueRef::Integer(12)),
            Ok(time(12, 0, 0, 0))
        );
        assert_eq!(
            read("time", ColumnKind::Time, ValueRef::Real(12.5)),
            Ok(time(12, 0, 0, 500_000))
        );
        assert_eq!(
            read("date", ColumnKind::Date, ValueRef::Blob(b"2024-2-3")),
            Ok(date(2024, 2, 3))
        );
        assert_eq!(
            read("date", ColumnKind::Date, ValueRef::Integer(7)),
            Err("holds the integer 7".into())
        );
        assert_eq!(
            read("date", ColumnKind::Date, ValueRef::Blob(b"\xff")),
            Err("holds text that is not UTF-8".into())
        );
    }

    #[test]
    fn reals_as_sqlite_writes_them() {
        for (f, want) in [
            (0.1 + 0.2, "0.3"),
            (20240203.0, "20240203.0"),
            (12.5, "12.5"),
            (1e20, "1.0e+20"),
            (123456789012345678.0, "1.23456789012346e+17"),
            (1e15, "1.0e+15"),
            (999999999999999.0, "999999999999999.0"),
            (-893121143333628.5, "-893121143333629.0"),
            (9999999999999999.0, "1.0e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (-2.5, "-2.5"),
            (-0.0, "0.0"),
            (f64::INFINITY, "Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(real_text(f), want, "{f}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let date = col("date", ColumnKind::Date);
        assert_eq!(
            convert(Read::of(&date), ValueRef::Text(b"2024-02-30")),
            Err("holds the text \"2024-02-30\"".into())
        );
    }
}
