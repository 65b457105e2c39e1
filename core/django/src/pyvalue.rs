//! A stored value as the Python value that Django's ORM gives for its
//! field ([`Py`]): what the dumpdata formats write.

use std::borrow::Cow;

use base64::Engine;

use super::read::read_decimal;
use dump2py_model::schema::Storage;
use dump2py_model::uuid::{parse_uuid, uuid_string};
use dump2py_model::value::{Date, DateTime, Time, Value};
use dump2py_py::decimal::{self, Dec};

/// What a field's values are in Python, where the stored value can't tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// As stored: integers, text, …
    Plain,
    Bool,
    Float,
    /// A `DecimalField`: quantized to its places when known.
    Decimal {
        places: Option<u32>,
        max_digits: Option<u32>,
    },
    Date,
    Time,
    /// `utc`: a naive stored value is UTC (`USE_TZ = True`).
    DateTime {
        utc: bool,
    },
    /// Microseconds, stored as an integer on SQLite and MySQL.
    Duration,
    /// Hex text on SQLite and MySQL: written with hyphens.
    Uuid,
    Binary,
    Json,
    /// A Lino choice list: `''` reads as `None`.
    Choice,
    /// A `FileField`: NULL reads as `''` (an empty `FieldFile`).
    File,
}

/// A value as Django's ORM gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum Py<'a> {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// `str(Decimal)`.
    Decimal(String),
    Str(Cow<'a, str>),
    Date(Date),
    Time(Time),
    /// Aware when it has an offset.
    DateTime(DateTime),
    Duration(i64),
    /// A JSON document's text.
    Json(&'a str),
}

/// The Python value of a stored value of a field of kind `kind`.
pub fn py<'a>(kind: Kind, v: &'a Value, storage: Storage) -> Result<Py<'a>, String> {
    Ok(match (kind, v) {
        (Kind::File, Value::Null) => Py::Str(Cow::Borrowed("")),
        (_, Value::Null) => Py::None,
        (Kind::Choice, Value::Text(t)) if t.is_empty() => Py::None,
        // Django's converter: 0 and 1 are booleans, another integer stays.
        (Kind::Bool, Value::Int(n @ (0 | 1))) => Py::Bool(*n == 1),
        (Kind::Bool, Value::UInt(n @ (0 | 1))) => Py::Bool(*n == 1),
        (Kind::Float, Value::Int(n)) => Py::Float(*n as f64),
        (Kind::Float, Value::UInt(n)) => Py::Float(*n as f64),
        (Kind::Float, Value::Decimal(t)) => Py::Float(
            t.trim()
                .parse()
                .map_err(|_| format!("{t:?} is not a number"))?,
        ),
        (
            Kind::Decimal { places, max_digits },
            Value::Decimal(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_),
        ) => {
            let text = match v {
                Value::Decimal(t) => Cow::Borrowed(t.as_str()),
                Value::Int(n) => Cow::Owned(n.to_string()),
                Value::UInt(n) => Cow::Owned(n.to_string()),
                Value::Float(f) => Cow::Owned(format!("{f:e}")),
                _ => Cow::Borrowed(""),
            };
            Py::Decimal(decimal_text(&text, places, max_digits, storage)?)
        }
        (Kind::Plain, Value::Decimal(t)) => Py::Decimal(decimal_text(t, None, None, storage)?),
        (Kind::DateTime { utc: true }, Value::DateTime(dt)) if dt.offset_minutes.is_none() => {
            Py::DateTime(DateTime {
                offset_minutes: Some(0),
                ..*dt
            })
        }
        (Kind::Duration, Value::Int(us)) => Py::Duration(*us),
        (Kind::Uuid, Value::Text(t)) => Py::Str(Cow::Owned(
            parse_uuid(t)
                .map(|u| uuid_string(&u))
                .ok_or_else(|| format!("{t:?} is not a UUID"))?,
        )),
        (Kind::Binary, Value::Text(t)) => Py::Str(Cow::Owned(base64(t.as_bytes()))),
        (Kind::Json, Value::Text(t) | Value::Json(t)) => Py::Json(t),
        (_, v) => plain(v),
    })
}

fn plain(v: &Value) -> Py<'_> {
    match v {
        Value::Null => Py::None,
        Value::Bool(b) => Py::Bool(*b),
        Value::Int(n) => Py::Int(i128::from(*n)),
        Value::UInt(n) => Py::Int(i128::from(*n)),
        Value::Float(f) => Py::Float(*f),
        Value::Decimal(t) => Py::Decimal(t.clone()),
        Value::Text(t) => Py::Str(Cow::Borrowed(t)),
        Value::Bytes(b) => Py::Str(Cow::Owned(base64(b))),
        Value::Date(d) => Py::Date(*d),
        Value::Time(t) => Py::Time(*t),
        Value::DateTime(dt) => Py::DateTime(*dt),
        Value::Json(t) => Py::Json(t),
        Value::Uuid(u) => Py::Str(Cow::Owned(uuid_string(u))),
        Value::Duration(us) => Py::Duration(*us),
        // django.contrib.postgres' fields: value_to_string's JSON text.
        Value::Array(_) | Value::Map(_) | Value::Range(_) => {
            Py::Str(Cow::Owned(dump2py_py::composite::value_to_string(v)))
        }
    }
}

fn base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// The bytes whose base64 text [`py`] gives for `v` (a blob, or a
/// `BinaryField` stored as text): a writer may encode them into its own
/// buffer with [`push_base64`] instead of copying `py`'s text (a big blob
/// then has one copy, not two). Base64 needs no escape in any format.
pub fn base64_source(kind: Kind, v: &Value) -> Option<&[u8]> {
    match (kind, v) {
        (_, Value::Bytes(b)) => Some(b),
        (Kind::Binary, Value::Text(t)) => Some(t.as_bytes()),
        _ => None,
    }
}

/// Appends the base64 text of `b`, as [`py`] gives it.
pub fn push_base64(out: &mut String, b: &[u8]) {
    base64::engine::general_purpose::STANDARD.encode_string(b, out);
}

fn decimal_text(
    text: &str,
    places: Option<u32>,
    max_digits: Option<u32>,
    storage: Storage,
) -> Result<String, String> {
    if let Some(places) = places {
        return read_decimal(text, places, max_digits, storage).map(|(t, _)| t);
    }
    if let Some(s) = decimal::special(text) {
        return Ok(s.to_string());
    }
    let d = Dec::parse(text).ok_or_else(|| format!("{text:?} is not a decimal number"))?;
    Ok(d.to_python())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQLITE: Storage = Storage {
        decimals_as_real: true,
        datetimes_as_instants: false,
    };

    #[test]
    fn python_values_of_stored_values() {
        let places = Kind::Decimal {
            places: Some(4),
            max_digits: Some(12),
        };
        let dec = |v: Value, storage| py(places, &v, storage).map(|p| format!("{p:?}"));
        assert_eq!(
            dec(Value::Int(3), SQLITE).as_deref(),
            Ok("Decimal(\"3.0000\")")
        );
        // REAL decimals are read through 15 significant digits first.
        let real = Value::Decimal("0.30000000000000004".into());
        assert_eq!(
            dec(real.clone(), SQLITE).as_deref(),
            Ok("Decimal(\"0.3000\")")
        );
        let long = Value::Decimal("0.12345000000000001".into());
        assert_eq!(
            dec(long.clone(), SQLITE).as_deref(),
            Ok("Decimal(\"0.1234\")")
        );
        assert_eq!(
            dec(long, Storage::default()).as_deref(),
            Ok("Decimal(\"0.1235\")")
        );
        assert!(dec(Value::Decimal("1e12".into()), SQLITE).is_err());
        assert_eq!(
            py(
                Kind::Uuid,
                &Value::Text("{ABCDEF01-2345-6789-abcd-ef0123456789}".into()),
                SQLITE
            ),
            Ok(Py::Str(Cow::Owned(
                "abcdef01-2345-6789-abcd-ef0123456789".into()
            )))
        );
        assert!(py(Kind::Uuid, &Value::Text("nope".into()), SQLITE).is_err());
        assert_eq!(
            py(Kind::Choice, &Value::Text(String::new()), SQLITE),
            Ok(Py::None)
        );
        assert_eq!(
            py(Kind::File, &Value::Null, SQLITE),
            Ok(Py::Str(Cow::Borrowed("")))
        );
        assert_eq!(py(Kind::Bool, &Value::UInt(1), SQLITE), Ok(Py::Bool(true)));
        assert_eq!(py(Kind::Bool, &Value::Int(2), SQLITE), Ok(Py::Int(2)));
    }
}
