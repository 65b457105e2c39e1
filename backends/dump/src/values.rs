//! A data file's values, from their Python expressions back to [`Value`]s:
//! the inverse of the Python sink's `values.rs`, guided by the column's
//! kind where the literal alone can't tell (a decimal, a float, bytes, a
//! UUID and a duration are all written as quoted text).

use base64::Engine;
use dump2py_model::schema::ColumnKind;
use dump2py_model::uuid::parse_uuid;
use dump2py_model::value::{Date, DateTime, Range, Time};
use dump2py_model::Value;
use dump2py_py::json::write_str as json_str;

use crate::expr::Expr;

/// Why an expression is not a value of its column.
pub type ValueError = String;

fn int_arg(e: &Expr) -> Option<i64> {
    match e {
        Expr::Int(t) => t.parse().ok(),
        _ => None,
    }
}

fn small<T: TryFrom<i64>>(e: &Expr) -> Option<T> {
    int_arg(e).and_then(|n| T::try_from(n).ok())
}

fn date_of(args: &[Expr]) -> Option<Date> {
    match args {
        [y, m, d] => Date::new(small(y)?, small(m)?, small(d)?),
        _ => None,
    }
}

fn time_of(args: &[Expr]) -> Option<Time> {
    let micro = match args.get(3) {
        Some(us) => small(us)?,
        None => 0,
    };
    match args {
        [h, m, s] | [h, m, s, _] => Time::new(small(h)?, small(m)?, small(s)?, micro),
        _ => None,
    }
}

/// `date(...)`, `dt(...)`, `time(...)`: the calls a value may be.
fn temporal(name: &str, args: &[Expr]) -> Result<Value, ValueError> {
    let bad = || format!("{name}(...) with arguments that are no valid {name}");
    Ok(match name {
        "date" => Value::Date(date_of(args).ok_or_else(bad)?),
        "time" => Value::Time(time_of(args).ok_or_else(bad)?),
        _ => {
            let (d, t) = args.split_at(args.len().min(3));
            if t.len() < 3 {
                return Err(bad());
            }
            Value::DateTime(DateTime {
                date: date_of(d).ok_or_else(bad)?,
                time: time_of(t).ok_or_else(bad)?,
                offset_minutes: None,
            })
        }
    })
}

/// [`value`], moving a string instead of copying it (text and decimals:
/// most values).
pub fn take(e: Expr, kind: &ColumnKind) -> Result<Value, ValueError> {
    match (e, kind) {
        (Expr::Str(s), ColumnKind::Decimal) => Ok(Value::Decimal(s)),
        (
            Expr::Str(s),
            ColumnKind::Text
            | ColumnKind::Int
            | ColumnKind::UInt
            | ColumnKind::Bool
            | ColumnKind::Date
            | ColumnKind::Time
            | ColumnKind::DateTime
            | ColumnKind::Composite
            | ColumnKind::Unsupported(_),
        ) => Ok(Value::Text(s)),
        (e, kind) => value(&e, kind),
    }
}

/// The value of `e` in a column of `kind`.
pub fn value(e: &Expr, kind: &ColumnKind) -> Result<Value, ValueError> {
    Ok(match (e, kind) {
        (Expr::None, _) => Value::Null,
        (Expr::Bool(b), ColumnKind::Json) => Value::Json(b.to_string()),
        (Expr::Bool(b), _) => Value::Bool(*b),
        (Expr::Int(t), ColumnKind::Json) => Value::Json(json_int(t)?),
        (Expr::Int(t), ColumnKind::Decimal) => Value::Decimal(t.clone()),
        (Expr::Int(t), _) => match t.parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => Value::UInt(
                t.parse::<u64>()
                    .map_err(|_| format!("{t} is out of a 64-bit integer's range"))?,
            ),
        },
        (Expr::Str(s), ColumnKind::Decimal) => Value::Decimal(s.clone()),
        (Expr::Str(s), ColumnKind::Float) => Value::Float(
            s.parse::<f64>()
                .map_err(|_| format!("{s:?} is not a float"))?,
        ),
        (Expr::Str(s), ColumnKind::Bytes) => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|_| "a binary value that is no base64".to_string())?,
        ),
        (Expr::Str(s), ColumnKind::Uuid) => {
            Value::Uuid(parse_uuid(s).ok_or_else(|| format!("{s:?} is not a UUID"))?)
        }
        (Expr::Str(s), ColumnKind::Duration) => {
            Value::Duration(parse_duration(s).ok_or_else(|| format!("{s:?} is not a duration"))?)
        }
        (Expr::Str(s), ColumnKind::Json) => {
            let mut out = String::new();
            json_str(&mut out, s, false);
            Value::Json(out)
        }
        (Expr::Str(s), _) => Value::Text(s.clone()),
        (Expr::List(_) | Expr::Dict(_) | Expr::Float(_) | Expr::Neg(_), ColumnKind::Json) => {
            Value::Json(json(e)?)
        }
        (Expr::List(items), ColumnKind::Composite) => {
            Value::Array(items.iter().map(element).collect::<Result<_, _>>()?)
        }
        (Expr::Dict(pairs), ColumnKind::Composite) => Value::Map(
            pairs
                .iter()
                .map(|(k, v)| match (k, v) {
                    (Expr::Str(k), Expr::Str(v)) => Ok((k.clone(), Some(v.clone()))),
                    (Expr::Str(k), Expr::None) => Ok((k.clone(), None)),
                    _ => Err("an hstore pair that is not text".to_string()),
                })
                .collect::<Result<_, _>>()?,
        ),
        // A float literal is written only inside a JSON document.
        (Expr::Float(_) | Expr::Neg(_), _) => Value::Json(json(e)?),
        // Without metadata: a document where it is one, else an array.
        (Expr::List(_) | Expr::Dict(_), _) => match json(e) {
            Ok(text) => Value::Json(text),
            Err(_) => value(e, &ColumnKind::Composite)?,
        },
        (Expr::Call { .. }, _) => match e.simple_call() {
            Some((name @ ("date" | "dt" | "time"), args)) => temporal(name, args)?,
            Some(("float", _)) => Value::Json(json(e)?),
            _ => match range(e)? {
                Some(r) => Value::Range(Box::new(r)),
                None => return Err("a call the Python sink never writes".into()),
            },
        },
        _ => return Err("an expression the Python sink never writes".into()),
    })
}

/// An array's element, or a range's bound: what its literal says.
fn element(e: &Expr) -> Result<Value, ValueError> {
    match e {
        Expr::Float(t) => t
            .parse()
            .map(Value::Float)
            .map_err(|_| format!("{t} is not a float")),
        Expr::List(_) => value(e, &ColumnKind::Composite),
        _ => match e.simple_call() {
            Some(("Decimal", [Expr::Str(d)])) => Ok(Value::Decimal(d.clone())),
            _ => value(e, &ColumnKind::Text),
        },
    }
}

const RANGES: &[&str] = &[
    "NumericRange",
    "DateRange",
    "DateTimeRange",
    "DateTimeTZRange",
];

/// `__import__('django.db.backends.postgresql.psycopg_any',
/// fromlist=['X']).X(lower, upper, 'bounds')` or `.X(empty=True)`.
fn range(e: &Expr) -> Result<Option<Range>, ValueError> {
    let Expr::Call {
        func,
        args,
        kwargs,
        star_kwargs,
    } = e
    else {
        return Ok(None);
    };
    let Expr::Attr(module, class) = &**func else {
        return Ok(None);
    };
    let Expr::Call {
        func: import,
        args: import_args,
        kwargs: from,
        star_kwargs: no_star,
    } = &**module
    else {
        return Ok(None);
    };
    let expected_from = vec![(
        "fromlist".to_string(),
        Expr::List(vec![Expr::Str(class.clone())]),
    )];
    let ok = import.name() == Some("__import__")
        && import_args.as_slice()
            == [Expr::Str(
                "django.db.backends.postgresql.psycopg_any".into(),
            )]
        && *from == expected_from
        && no_star.is_empty()
        && star_kwargs.is_empty()
        && RANGES.contains(&class.as_str());
    if !ok {
        return Ok(None);
    }
    match (args.as_slice(), kwargs.as_slice()) {
        ([], [(k, Expr::Bool(true))]) if k == "empty" => Ok(Some(Range {
            lower: None,
            upper: None,
            lower_inc: false,
            upper_inc: false,
            empty: true,
        })),
        ([lo, hi, Expr::Str(b)], []) => {
            let (lower_inc, upper_inc) = match b.as_str() {
                "[)" => (true, false),
                "[]" => (true, true),
                "()" => (false, false),
                "(]" => (false, true),
                _ => return Err(format!("range bounds {b:?}")),
            };
            // psycopg's class says whether its datetimes are aware: the
            // sink wrote them as naive UTC.
            let aware = class == "DateTimeTZRange";
            let bound = |e: &Expr| match e {
                Expr::None => Ok(None),
                e => element(e).map(|v| Some(if aware { as_utc(v) } else { v })),
            };
            Ok(Some(Range {
                lower: bound(lo)?,
                upper: bound(hi)?,
                lower_inc,
                upper_inc,
                empty: false,
            }))
        }
        _ => Err("a range of another shape".into()),
    }
}

/// Every naive datetime in `v` (an array's, a range's) as UTC: what the
/// sink wrote of an aware one.
pub fn as_utc(v: Value) -> Value {
    match v {
        Value::DateTime(dt) if dt.offset_minutes.is_none() => Value::DateTime(DateTime {
            offset_minutes: Some(0),
            ..dt
        }),
        Value::Array(items) => Value::Array(items.into_iter().map(as_utc).collect()),
        Value::Range(mut r) => {
            r.lower = r.lower.map(as_utc);
            r.upper = r.upper.map(as_utc);
            Value::Range(r)
        }
        other => other,
    }
}

/// A JSON integer's text from a Python int literal (hex beyond 4300 digits).
fn json_int(t: &str) -> Result<String, ValueError> {
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    match digits.strip_prefix("0x") {
        None => Ok(t.to_string()),
        Some(hex) => {
            // Decimal digits of a hex number, least significant first.
            let mut dec: Vec<u8> = vec![0];
            for h in hex.bytes() {
                let mut carry = u32::from(match h {
                    b'0'..=b'9' => h - b'0',
                    b'a'..=b'f' => h - b'a' + 10,
                    b'A'..=b'F' => h - b'A' + 10,
                    _ => return Err("a bad hex integer".into()),
                });
                for d in dec.iter_mut() {
                    let x = u32::from(*d) * 16 + carry;
                    *d = (x % 10) as u8;
                    carry = x / 10;
                }
                while carry > 0 {
                    dec.push((carry % 10) as u8);
                    carry /= 10;
                }
            }
            while dec.len() > 1 && dec.last() == Some(&0) {
                dec.pop();
            }
            let mut out = String::with_capacity(dec.len() + 1);
            if neg {
                out.push('-');
            }
            out.extend(dec.iter().rev().map(|d| char::from(b'0' + d)));
            Ok(out)
        }
    }
}

/// The JSON text of a Python literal that `write_python_literal` wrote.
pub fn json(e: &Expr) -> Result<String, ValueError> {
    let mut out = String::new();
    write_json(&mut out, e)?;
    Ok(out)
}

fn write_json(out: &mut String, e: &Expr) -> Result<(), ValueError> {
    match e {
        Expr::None => out.push_str("null"),
        Expr::Bool(true) => out.push_str("true"),
        Expr::Bool(false) => out.push_str("false"),
        Expr::Int(t) => out.push_str(&json_int(t)?),
        Expr::Float(t) => out.push_str(t),
        Expr::Str(s) => json_str(out, s, false),
        Expr::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json(out, item)?;
            }
            out.push(']');
        }
        Expr::Dict(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let Expr::Str(k) = k else {
                    return Err("a JSON object's key that is no string".into());
                };
                json_str(out, k, false);
                out.push_str(": ");
                write_json(out, v)?;
            }
            out.push('}');
        }
        Expr::Neg(inner) => match inner.simple_call() {
            Some(("float", [Expr::Str(s)])) if s == "inf" => out.push_str("-Infinity"),
            _ => return Err("not a JSON document".into()),
        },
        _ => match e.simple_call() {
            Some(("float", [Expr::Str(s)])) => out.push_str(match s.as_str() {
                "nan" => "NaN",
                "inf" => "Infinity",
                "-inf" => "-Infinity",
                _ => return Err(format!("float({s:?})")),
            }),
            _ => return Err("not a JSON document".into()),
        },
    }
    Ok(())
}

/// Django's `duration_string`, `[D ]HH:MM:SS[.ffffff]`, as microseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (days, hms) = match s.split_once(' ') {
        Some((d, rest)) => (d.parse::<i64>().ok()?, rest),
        None => (0, s),
    };
    let (hms, us) = match hms.split_once('.') {
        Some((a, f)) if f.len() == 6 => (a, f.parse::<i64>().ok()?),
        Some(_) => return None,
        None => (hms, 0),
    };
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [h, m, sec].iter().any(|p| p.len() < 2) {
        return None;
    }
    let num = |p: &str| -> Option<i64> {
        p.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| p.parse().ok())?
    };
    let secs = num(h)? * 3600 + num(m)? * 60 + num(sec)?;
    days.checked_mul(86_400_000_000)?
        .checked_add(secs.checked_mul(1_000_000)?)?
        .checked_add(us)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::parse;
    use dump2py_model::value::duration_string;

    #[test]
    fn durations_round_trip() {
        for us in [0, 1, 86_400_000_000, -1, -86_400_000_001, 123_456_789_012] {
            assert_eq!(parse_duration(&duration_string(us)), Some(us), "{us}");
        }
        assert_eq!(parse_duration("1:2:3"), None);
    }

    #[test]
    fn literals_as_values() {
        let v = |text: &str, kind: ColumnKind| value(&parse(text).expect("parse"), &kind);
        assert_eq!(
            v(
                "{'a': [1, 1.5, None, True], 'b': float('nan')}",
                ColumnKind::Json
            ),
            Ok(Value::Json(
                r#"{"a": [1, 1.5, null, true], "b": NaN}"#.into()
            ))
        );
        assert_eq!(
            v("'12.50'", ColumnKind::Decimal),
            Ok(Value::Decimal("12.50".into()))
        );
        assert_eq!(v("'AAE='", ColumnKind::Bytes), Ok(Value::Bytes(vec![0, 1])));
        assert_eq!(v("0x10", ColumnKind::Json), Ok(Value::Json("16".into())));
        assert!(v("dt(2024,2,30,1,2,3)", ColumnKind::DateTime).is_err());
        assert!(v("os.system('x')", ColumnKind::Text).is_err());
        let r = v(
            "__import__('django.db.backends.postgresql.psycopg_any', fromlist=['NumericRange']).NumericRange(Decimal('1.5'), None, '[)')",
            ColumnKind::Composite,
        );
        assert!(
            matches!(r, Ok(Value::Range(r)) if r.lower == Some(Value::Decimal("1.5".into())) && r.upper.is_none())
        );
    }
}
