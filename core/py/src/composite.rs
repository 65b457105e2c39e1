//! django.contrib.postgres' values (arrays, hstore, ranges) as their
//! fields' `value_to_string` gives them, which is what `dumpdata` writes:
//! `json.dumps` (`", "` and `": "`; ASCII only for ranges, whose field
//! leaves `ensure_ascii` on) of the elements' own `value_to_string`
//! (`str()` of the Python value, ISO dates).

use super::decimal::Dec;
use super::json::write_str as json_str;
use super::repr;
use dump2py_model::uuid::uuid_string;
use dump2py_model::value::{push_int, push_uint, write_duration, Value};

/// `value_to_string` of an `ArrayField`, `HStoreField` or range field's
/// value; of any other value its element text (`str()`).
pub fn value_to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                element(&mut out, item, false);
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_str(&mut out, k, false);
                out.push_str(": ");
                match v {
                    Some(v) => json_str(&mut out, v, false),
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
        Value::Range(r) if r.empty => out.push_str("{\"empty\": true}"),
        Value::Range(r) => {
            out.push_str("{\"bounds\": \"");
            out.push_str(r.bounds());
            out.push_str("\", \"lower\": ");
            bound(&mut out, r.lower.as_ref());
            out.push_str(", \"upper\": ");
            bound(&mut out, r.upper.as_ref());
            out.push('}');
        }
        other => str_of(&mut out, other),
    }
    out
}

fn bound(out: &mut String, v: Option<&Value>) {
    match v {
        None | Some(Value::Null) => out.push_str("null"),
        Some(v) => element(out, v, true),
    }
}

/// One element in the JSON list: null, or its text as a JSON string.
fn element(out: &mut String, v: &Value, ascii: bool) {
    match v {
        Value::Null => out.push_str("null"),
        v => json_str(out, &value_to_string(v), ascii),
    }
}

/// `str()` of a scalar as Django's field gives it (`value_to_string`).
fn str_of(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        Value::Int(n) => push_int(out, *n),
        Value::UInt(n) => push_uint(out, *n, 0),
        Value::Float(f) => repr::write_float(out, *f),
        Value::Decimal(t) => match Dec::parse(t) {
            Some(d) => out.push_str(&d.to_python()),
            None => out.push_str(t),
        },
        Value::Text(t) | Value::Json(t) => out.push_str(t),
        Value::Bytes(b) => {
            use base64::Engine;
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(b));
        }
        Value::Date(d) => d.write_iso(out),
        Value::Time(t) => t.write_iso(out),
        Value::DateTime(dt) => {
            // isoformat(): a `T` between date and time.
            let start = out.len();
            dt.write_iso(out);
            out.replace_range(start + 10..start + 11, "T");
        }
        Value::Uuid(u) => out.push_str(&uuid_string(u)),
        Value::Duration(us) => write_duration(out, *us),
        v @ (Value::Array(_) | Value::Map(_) | Value::Range(_)) => {
            out.push_str(&value_to_string(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_model::value::{Date, DateTime, Range};

    #[test]
    fn as_dumpdata_writes_them() {
        let arr = Value::Array(vec![
            Value::Int(1),
            Value::Null,
            Value::Text("Ä \"q\" \\ '\n\u{1}😀\u{7f}".into()),
            Value::Float(3.0),
            Value::Decimal("1.50".into()),
            Value::Bool(true),
        ]);
        assert_eq!(
            value_to_string(&arr),
            "[\"1\", null, \"Ä \\\"q\\\" \\\\ '\\n\\u0001😀\u{7f}\", \"3.0\", \"1.50\", \"True\"]"
        );
        let nested = Value::Array(vec![Value::Array(vec![Value::Int(1), Value::Int(2)])]);
        assert_eq!(value_to_string(&nested), r#"["[\"1\", \"2\"]"]"#);
        assert_eq!(value_to_string(&Value::Array(vec![])), "[]");
        let map = Value::Map(vec![("a".into(), Some("1".into())), ("b".into(), None)]);
        assert_eq!(value_to_string(&map), r#"{"a": "1", "b": null}"#);
        let dt = DateTime::parse("2006-06-16 10:42:37.123456Z").expect("dt");
        let range = Value::Range(Box::new(Range {
            lower: Some(Value::DateTime(dt)),
            upper: None,
            lower_inc: false,
            upper_inc: false,
            empty: false,
        }));
        assert_eq!(
            value_to_string(&range),
            r#"{"bounds": "()", "lower": "2006-06-16T10:42:37.123456+00:00", "upper": null}"#
        );
        let empty = Value::Range(Box::new(Range {
            lower: None,
            upper: None,
            lower_inc: false,
            upper_inc: false,
            empty: true,
        }));
        assert_eq!(value_to_string(&empty), r#"{"empty": true}"#);
        let d = Value::Date(Date {
            year: 2006,
            month: 6,
            day: 16,
        });
        assert_eq!(value_to_string(&d), "2006-06-16");
    }
}
