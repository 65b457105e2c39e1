//! A stored value as the Python value that Django's ORM gives for its
//! field ([`Py`]), and that value as `dumpdata` writes it: in JSON
//! (`DjangoJSONEncoder` after `_value_from_field`) and as XML text
//! (`value_to_string`).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;

use base64::Engine;
use dump2py_core::value::{duration_string, Date, DateTime, Time, Value};

use crate::decimal::{self, Dec};
use crate::jsontext::{self, Doc, Style};

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

/// How the source stores values, where Django's backends differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ctx {
    /// Django's SQLite backend reads decimals through a float rounded to
    /// 15 significant digits.
    pub sqlite: bool,
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
pub fn py<'a>(kind: Kind, v: &'a Value, ctx: Ctx) -> Result<Py<'a>, String> {
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
            Py::Decimal(decimal_text(&text, places, max_digits, ctx)?)
        }
        (Kind::Plain, Value::Decimal(t)) => Py::Decimal(decimal_text(t, None, None, ctx)?),
        (Kind::DateTime { utc: true }, Value::DateTime(dt)) if dt.offset_minutes.is_none() => {
            Py::DateTime(DateTime {
                offset_minutes: Some(0),
                ..*dt
            })
        }
        (Kind::Duration, Value::Int(us)) => Py::Duration(*us),
        (Kind::Uuid, Value::Text(t)) => Py::Str(Cow::Owned(uuid_text(t)?)),
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
        Value::Uuid(u) => Py::Str(Cow::Owned(uuid_bytes(u))),
        Value::Duration(us) => Py::Duration(*us),
    }
}

fn base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn decimal_text(
    text: &str,
    places: Option<u32>,
    max_digits: Option<u32>,
    ctx: Ctx,
) -> Result<String, String> {
    if let Some(s) = decimal::special(text) {
        return Ok(s.to_string());
    }
    let mut d = Dec::parse(text).ok_or_else(|| format!("{text:?} is not a decimal number"))?;
    if let Some(places) = places {
        if ctx.sqlite {
            d = d.round_significant(15);
        }
        d = d.quantize(places, max_digits)?;
    }
    Ok(d.to_python())
}

fn uuid_bytes(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `str(uuid.UUID(text))`: hex with or without hyphens and braces.
fn uuid_text(t: &str) -> Result<String, String> {
    let s = t
        .trim()
        .trim_start_matches("urn:")
        .trim_start_matches("uuid:");
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, '-' | '{' | '}'))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{t:?} is not a UUID"));
    }
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn time_iso(out: &mut String, t: &Time, millis: bool) {
    let _ = write!(out, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
    if t.micro != 0 {
        if millis {
            let _ = write!(out, ".{:03}", t.micro / 1000);
        } else {
            let _ = write!(out, ".{:06}", t.micro);
        }
    }
}

/// `datetime.isoformat()`, or DjangoJSONEncoder's form of it
/// (milliseconds, `Z` for UTC) when `json`.
fn datetime_iso(out: &mut String, dt: &DateTime, json: bool) {
    let _ = write!(out, "{}T", dt.date);
    time_iso(out, &dt.time, json);
    if let Some(o) = dt.offset_minutes {
        if json && o == 0 {
            out.push('Z');
        } else {
            let sign = if o < 0 { '-' } else { '+' };
            let _ = write!(out, "{sign}{:02}:{:02}", o.abs() / 60, o.abs() % 60);
        }
    }
}

/// Writes `value` as `dumpdata --format json` does, nested `level` deep.
pub fn write_json(
    out: &mut String,
    value: &Py,
    indent: Option<usize>,
    level: usize,
) -> Result<(), String> {
    match value {
        Py::None => out.push_str("null"),
        Py::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Py::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Py::Float(f) => jsontext::write_float(out, *f),
        Py::Decimal(s) => jsontext::write_str(out, s, false),
        Py::Str(s) => jsontext::write_str(out, s, false),
        Py::Date(d) => {
            let _ = write!(out, "\"{d}\"");
        }
        Py::Time(t) => {
            out.push('"');
            time_iso(out, t, true);
            out.push('"');
        }
        Py::DateTime(dt) => {
            out.push('"');
            datetime_iso(out, dt, true);
            out.push('"');
        }
        Py::Duration(us) => jsontext::write_str(out, &duration_string(*us), false),
        Py::Json(text) => Doc::parse(text)?.write(
            out,
            Style {
                indent,
                ascii: false,
            },
            level,
        ),
    }
    Ok(())
}

/// The text `value_to_string` gives, as the XML serializer writes it;
/// `None` for a value that is Python's `None` (written `<None></None>`).
pub fn xml_text<'a>(value: &'a Py) -> Result<Option<Cow<'a, str>>, String> {
    let mut out = String::new();
    match value {
        Py::None => return Ok(None),
        // Text as it is, without a copy: most values are text.
        Py::Str(s) => return Ok(Some(Cow::Borrowed(s))),
        Py::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Py::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Py::Float(f) => dump2py_python::pyrepr::write_float(&mut out, *f),
        Py::Decimal(s) => out.push_str(s),
        Py::Date(d) => {
            let _ = write!(out, "{d}");
        }
        Py::Time(t) => time_iso(&mut out, t, false),
        Py::DateTime(dt) => datetime_iso(&mut out, dt, false),
        Py::Duration(us) => out.push_str(&duration_string(*us)),
        Py::Json(text) => {
            let doc = Doc::parse(text)?;
            if doc.is_null() {
                return Ok(None);
            }
            doc.write(
                &mut out,
                Style {
                    indent: None,
                    ascii: true,
                },
                0,
            );
        }
    }
    Ok(Some(Cow::Owned(out)))
}

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
            _ => format!("{a:?}").cmp(&format!("{b:?}")),
        }),
    }
}

/// A primary key as a lookup key: the owner's key and a link table's
/// foreign key to it compare equal whatever integer type they were read as.
pub fn key_of(v: &Value) -> String {
    match v {
        Value::Int(n) => format!("i{n}"),
        Value::UInt(n) => format!("i{n}"),
        Value::Text(t) => format!("s{t}"),
        Value::Uuid(u) => format!("s{}", uuid_bytes(u).replace('-', "")),
        other => format!("v{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(kind: Kind, v: Value) -> String {
        let mut out = String::new();
        let p = py(kind, &v, Ctx { sqlite: true }).expect("value");
        write_json(&mut out, &p, None, 0).expect("json");
        out
    }

    fn xml(kind: Kind, v: Value) -> Option<String> {
        let p = py(kind, &v, Ctx { sqlite: true }).expect("value");
        xml_text(&p).expect("xml").map(Cow::into_owned)
    }

    fn dt(micro: u32, offset: Option<i16>) -> Value {
        Value::DateTime(DateTime {
            date: Date::new(2024, 3, 31).expect("date"),
            time: Time::new(1, 30, 5, micro).expect("time"),
            offset_minutes: offset,
        })
    }

    #[test]
    fn like_djangos_json_encoder() {
        assert_eq!(
            json(Kind::DateTime { utc: true }, dt(123456, None)),
            "\"2024-03-31T01:30:05.123Z\""
        );
        assert_eq!(
            json(Kind::DateTime { utc: false }, dt(1, None)),
            "\"2024-03-31T01:30:05.000\""
        );
        assert_eq!(
            json(Kind::Plain, dt(0, Some(-300))),
            "\"2024-03-31T01:30:05-05:00\""
        );
        let t = Value::Time(Time::new(8, 5, 3, 250000).expect("time"));
        assert_eq!(json(Kind::Time, t.clone()), "\"08:05:03.250\"");
        assert_eq!(xml(Kind::Time, t).as_deref(), Some("08:05:03.250000"));
        let places = Kind::Decimal {
            places: Some(4),
            max_digits: Some(12),
        };
        assert_eq!(json(places, Value::Decimal("12.5".into())), "\"12.5000\"");
        assert_eq!(json(places, Value::Int(3)), "\"3.0000\"");
        assert_eq!(
            json(Kind::Duration, Value::Int(93_603_000_004)),
            "\"1 02:00:03.000004\""
        );
        assert_eq!(
            json(
                Kind::Uuid,
                Value::Text("12345678123456781234567812345678".into())
            ),
            "\"12345678-1234-5678-1234-567812345678\""
        );
        assert_eq!(json(Kind::Float, Value::Float(1e16)), "1e+16");
        assert_eq!(json(Kind::Float, Value::Float(f64::NAN)), "NaN");
        assert_eq!(json(Kind::Choice, Value::Text(String::new())), "null");
        assert_eq!(json(Kind::File, Value::Null), "\"\"");
        assert_eq!(
            json(Kind::Binary, Value::Bytes(vec![0, 1, 255])),
            "\"AAH/\""
        );
        assert_eq!(json(Kind::Bool, Value::Int(1)), "true");
        assert_eq!(json(Kind::Bool, Value::Int(2)), "2");
        assert_eq!(
            json(Kind::Json, Value::Json("{\"a\":1.0}".into())),
            "{\"a\": 1.0}"
        );
    }

    #[test]
    fn like_value_to_string() {
        assert_eq!(
            xml(Kind::DateTime { utc: true }, dt(123456, None)).as_deref(),
            Some("2024-03-31T01:30:05.123456+00:00")
        );
        assert_eq!(
            xml(Kind::Bool, Value::Bool(false)).as_deref(),
            Some("False")
        );
        assert_eq!(xml(Kind::Bool, Value::Int(2)).as_deref(), Some("2"));
        assert_eq!(
            xml(Kind::Float, Value::Float(f64::INFINITY)).as_deref(),
            Some("inf")
        );
        assert_eq!(xml(Kind::Json, Value::Json("null".into())), None);
        assert_eq!(
            xml(Kind::Json, Value::Json("{\"é\": [1,2]}".into())).as_deref(),
            Some("{\"\\u00e9\": [1, 2]}")
        );
        assert_eq!(xml(Kind::Plain, Value::Null), None);
    }

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
    }
}
