//! One Python expression per value, as Lino's `dump2py` writes them, but
//! without losing microseconds or JSON floats.

use std::fmt::Write;

use base64::Engine;
use dump2py_django::fields::FieldClass;
use dump2py_django::{ContentType, Field, Site};
use dump2py_model::value::{push_int, push_uint, write_duration, Value};

use dump2py_model::uuid::{parse_uuid, write_uuid};
use dump2py_py::json::write_python_literal;
use dump2py_py::repr;

/// The deepest JSON that a data file's Python parser accepts.
pub const JSON_DEPTH: usize = 190;

/// Why a value can't be written.
pub type ValueError = String;

pub fn write_value(
    out: &mut String,
    site: &Site,
    field: &Field,
    row: &[Value],
) -> Result<(), ValueError> {
    if field.is_babel {
        out.push('[');
        write_plain(out, site, field, &row[field.index])?;
        for &i in &field.babel {
            out.push_str(", ");
            write_plain(out, site, field, &row[i])?;
        }
        out.push(']');
        return Ok(());
    }
    write_plain(out, site, field, &row[field.index])
}

fn write_plain(
    out: &mut String,
    site: &Site,
    field: &Field,
    value: &Value,
) -> Result<(), ValueError> {
    if field.is_content_type() {
        return write_content_type(out, site, value);
    }
    // What the site's metadata says the column holds, where the database
    // can't tell: Lino's text for these fields.
    match (field.class(), value) {
        (_, Value::Text(t)) if t.is_empty() && field.choicelist.is_some() => {
            out.push_str("None");
            return Ok(());
        }
        (FieldClass::Duration, Value::Int(us)) => {
            duration(out, *us);
            return Ok(());
        }
        // Hex text as SQLite and MySQL store a UUIDField.
        (FieldClass::Uuid, Value::Text(t)) if t.len() == 32 => {
            if let Some(u) = parse_uuid(t) {
                uuid(out, &u);
                return Ok(());
            }
        }
        _ => {}
    }
    write_literal(out, value)
}

/// A value's Python expression, as Lino writes it: floats and decimals as
/// their text in quotes (which `full_clean()` and the field's
/// `get_prep_value` convert), django.contrib.postgres' values as Django
/// gives them (lists, dicts, psycopg ranges), which restore without
/// `full_clean()` too.
fn write_literal(out: &mut String, value: &Value) -> Result<(), ValueError> {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(n) => push_int(out, *n),
        Value::UInt(n) => push_uint(out, *n, 0),
        Value::Float(f) => {
            // Lino writes repr(str(value)): the float's text in quotes.
            out.push('\'');
            repr::write_float(out, *f);
            out.push('\'');
        }
        Value::Decimal(d) => quoted(out, d),
        Value::Text(s) => repr::write_str(out, s),
        // Base64 needs no escape: encoded in place, without a copy.
        Value::Bytes(b) => {
            out.push('\'');
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            out.push('\'');
        }
        Value::Date(d) => {
            out.push_str("date(");
            ymd(out, d);
            out.push(')');
        }
        Value::Time(t) => {
            out.push_str("time(");
            hms(out, t);
        }
        Value::DateTime(dt) => {
            // Lino writes an aware datetime as its naive UTC.
            let dt = dt
                .to_utc()
                .ok_or_else(|| format!("{dt} is out of range in UTC"))?;
            out.push_str("dt(");
            ymd(out, &dt.date);
            out.push(',');
            hms(out, &dt.time);
        }
        Value::Json(text) => {
            // A data line nests the literal two levels deep; Python parses 200.
            write_python_literal(out, text, JSON_DEPTH).map_err(|e| format!("{e}"))?
        }
        Value::Uuid(u) => uuid(out, u),
        Value::Duration(us) => duration(out, *us),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_literal(out, item)?;
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                repr::write_str(out, k);
                out.push_str(": ");
                match v {
                    Some(v) => repr::write_str(out, v),
                    None => out.push_str("None"),
                }
            }
            out.push('}');
        }
        Value::Range(r) => range(out, r)?,
    }
    Ok(())
}

/// Django's range class (psycopg's `Range`; psycopg2's by its bounds'
/// type), from the module Django takes it from: restore.py needs no
/// import of its own.
fn range(out: &mut String, r: &dump2py_model::value::Range) -> Result<(), ValueError> {
    let class = match r.lower.as_ref().or(r.upper.as_ref()) {
        Some(Value::Date(_)) => "DateRange",
        Some(Value::DateTime(dt)) if dt.offset_minutes.is_some() => "DateTimeTZRange",
        Some(Value::DateTime(_)) => "DateTimeRange",
        _ => "NumericRange",
    };
    out.push_str("__import__('django.db.backends.postgresql.psycopg_any', fromlist=['");
    out.push_str(class);
    out.push_str("']).");
    out.push_str(class);
    if r.empty {
        out.push_str("(empty=True)");
        return Ok(());
    }
    out.push('(');
    for (i, b) in [&r.lower, &r.upper].into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match b {
            None => out.push_str("None"),
            // A bound's type decides the range's type: a number, not text.
            Some(Value::Decimal(d)) => {
                out.push_str("Decimal(");
                quoted(out, d);
                out.push(')');
            }
            Some(v) => write_literal(out, v)?,
        }
    }
    out.push_str(", '");
    out.push_str(r.bounds());
    out.push_str("')");
    Ok(())
}

/// Lino passes the model, not the old id: the new database's content type
/// is looked up at restore time.
fn write_content_type(out: &mut String, site: &Site, value: &Value) -> Result<(), ValueError> {
    let id = match value {
        Value::Null => {
            out.push_str("None");
            return Ok(());
        }
        Value::Int(id) => *id,
        other => return Err(format!("content type id {other:?} is not an integer")),
    };
    match site.content_types.get(&id) {
        // The global restore.py binds (PythonSink::begin checks that each
        // is an identifier); any other name is looked up by label.
        Some(ContentType {
            global: Some(global),
            ..
        }) if crate::names::is_identifier(global) => out.push_str(global),
        // The sink warns about it (PythonSink::warnings).
        Some(_) if site.stale_content_type(id).is_some() => out.push_str("None"),
        // A proxy model's, or a model without site metadata.
        Some(ct) => {
            out.push_str("ct_model(");
            repr::write_str(out, &ct.app_label);
            out.push_str(", ");
            repr::write_str(out, &ct.model);
            out.push(')');
        }
        // A stale id: the dump says so rather than crash, as Lino would.
        None => {
            let _ = write!(out, "missing_content_type({id})");
        }
    }
    Ok(())
}

/// `Y,M,D` as the arguments of `date(...)`: numbers without padding.
fn ymd(out: &mut String, d: &dump2py_model::value::Date) {
    push_int(out, i64::from(d.year));
    out.push(',');
    push_uint(out, u64::from(d.month), 0);
    out.push(',');
    push_uint(out, u64::from(d.day), 0);
}

/// `H,M,S[,US])`: the microseconds only when not zero, and the closing
/// parenthesis.
fn hms(out: &mut String, t: &dump2py_model::value::Time) {
    for n in [t.hour, t.minute] {
        push_uint(out, u64::from(n), 0);
        out.push(',');
    }
    push_uint(out, u64::from(t.second), 0);
    if t.micro != 0 {
        out.push(',');
        push_uint(out, u64::from(t.micro), 0);
    }
    out.push(')');
}

/// A duration as Lino writes it: its `duration_string` quoted (the text
/// has neither quotes nor backslashes).
fn duration(out: &mut String, us: i64) {
    out.push('\'');
    write_duration(out, us);
    out.push('\'');
}

fn quoted(out: &mut String, s: &str) {
    repr::write_str(out, s);
}

/// A UUID quoted, hyphenated and lowercase, as `repr(str(uuid))`.
fn uuid(out: &mut String, u: &[u8; 16]) {
    out.push('\'');
    write_uuid(out, u);
    out.push('\'');
}
