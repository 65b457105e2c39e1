//! Primary keys of many-to-many lists: their order, and their identity.

use std::cmp::Ordering;

use std::fmt::Write;

use dump2py_model::uuid::uuid_string;
use dump2py_model::Value;
use dump2py_py::decimal::Dec;

/// The order of primary keys as the database sorts them (SQLite's: NULL,
/// numbers, text by bytes, blobs), for many-to-many lists.
pub fn cmp_keys(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_)
            | Value::Int(_)
            | Value::UInt(_)
            | Value::Float(_)
            | Value::Decimal(_) => 1,
            Value::Text(_) | Value::Json(_) => 2,
            Value::Bytes(_) | Value::Uuid(_) => 3,
            _ => 4,
        }
    }
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(n) => Some(*n as f64),
            Value::UInt(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            Value::Decimal(t) => t.parse().ok(),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::UInt(x), Value::UInt(y)) => x.cmp(y),
        (Value::Text(x), Value::Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bytes(x), Value::Bytes(y)) => x.cmp(y),
        (Value::Uuid(x), Value::Uuid(y)) => x.cmp(y),
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Time(x), Value::Time(y)) => x.cmp(y),
        (Value::DateTime(x), Value::DateTime(y)) => x.cmp(y),
        (Value::Duration(x), Value::Duration(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)).then_with(|| match (num(a), num(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => key_of(a).cmp(&key_of(b)),
        }),
    }
}

/// A primary key as a lookup key: the owner's key and a link table's
/// foreign key to it compare equal whatever type they were read as (an
/// integer of any width; a UUID as bytes or as hex text). A kind letter,
/// then the value's canonical text.
pub fn key_of(v: &Value) -> String {
    match v {
        Value::Null => "z".into(),
        Value::Bool(b) => format!("i{}", u8::from(*b)),
        Value::Int(n) => format!("i{n}"),
        Value::UInt(n) => format!("i{n}"),
        Value::Text(t) | Value::Json(t) => format!("s{t}"),
        Value::Uuid(u) => format!("s{}", uuid_string(u).replace('-', "")),
        Value::Decimal(t) => match Dec::parse(t) {
            Some(d) => format!("n{}", d.normalized().to_python()),
            None => format!("s{t}"),
        },
        Value::Float(f) => format!("f{f:e}"),
        Value::Bytes(b) => b.iter().fold(String::from("b"), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        }),
        Value::Date(d) => format!("d{d}"),
        Value::Time(t) => format!("t{t}"),
        Value::DateTime(dt) => format!("t{}", dt.to_utc().unwrap_or(*dt)),
        Value::Duration(us) => format!("u{us}"),
        // Never a key in Django; compared by their text.
        v @ (Value::Array(_) | Value::Map(_) | Value::Range(_)) => {
            format!("s{}", dump2py_py::composite::value_to_string(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_as_sqlite_does() {
        let mut v = vec![
            Value::Text("with space".into()),
            Value::Int(10),
            Value::Text("A".into()),
            Value::Int(9),
            Value::Text("Zürich".into()),
        ];
        v.sort_by(cmp_keys);
        assert_eq!(
            v,
            [
                Value::Int(9),
                Value::Int(10),
                Value::Text("A".into()),
                Value::Text("Zürich".into()),
                Value::Text("with space".into())
            ]
        );
        assert_eq!(key_of(&Value::Int(3)), key_of(&Value::UInt(3)));
        let dec = |t: &str| key_of(&Value::Decimal(t.into()));
        assert_eq!(dec("1.50"), dec("1.5"));
        assert_ne!(dec("1.5"), key_of(&Value::Text("1.5".into())));
        assert_eq!(key_of(&Value::Bytes(vec![0, 255])), "b00ff");
    }
}
