//! PostgreSQL's binary `COPY` format: each value in its type's binary
//! form (`*_recv`), so that the server parses no text. Chosen per column by
//! its declared type (`format_type`); a table with a column of another
//! type goes through the text format instead.

use dump2py_model::uuid::parse_uuid;
use dump2py_model::value::{Date, DateTime, Time};
use dump2py_model::Value;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const DAY_MICROS: i64 = 86_400_000_000;

pub const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
pub const TRAILER: &[u8] = &[0xff, 0xff];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Bool,
    I2,
    I4,
    I8,
    F4,
    F8,
    Numeric,
    Text,
    Bytea,
    Date,
    Time,
    /// timestamp with time zone: an aware value's instant; a naive one
    /// taken as UTC (the session's zone, which binary input ignores).
    TsTz,
    Ts,
    Uuid,
    Json,
    Jsonb,
    Interval,
}

impl Enc {
    /// The encoder for a column declared `declared` (`format_type`).
    pub fn of(declared: &str) -> Option<Enc> {
        let d = declared.to_ascii_lowercase();
        let base = d.split('(').next().unwrap_or("").trim();
        Some(match base {
            "boolean" => Enc::Bool,
            "smallint" => Enc::I2,
            "integer" => Enc::I4,
            "bigint" => Enc::I8,
            "real" => Enc::F4,
            "double precision" => Enc::F8,
            "numeric" => Enc::Numeric,
            "text" | "character varying" | "character" => Enc::Text,
            "bytea" => Enc::Bytea,
            "date" => Enc::Date,
            "time" | "time without time zone" if d.ends_with("without time zone") => Enc::Time,
            "timestamp" if d.ends_with("with time zone") && !d.ends_with("without time zone") => {
                Enc::TsTz
            }
            "timestamp with time zone" => Enc::TsTz,
            "timestamp" | "timestamp without time zone" => Enc::Ts,
            "uuid" => Enc::Uuid,
            "json" => Enc::Json,
            "jsonb" => Enc::Jsonb,
            "interval" if d == "interval" => Enc::Interval,
            _ => return None,
        })
    }
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), String> {
    let n = i32::try_from(bytes.len()).map_err(|_| "a value over 2 GB".to_string())?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) | Value::Duration(n) => Some(*n),
        Value::UInt(n) => i64::try_from(*n).ok(),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Text(t) | Value::Decimal(t) => t.trim().parse().ok(),
        _ => None,
    }
}

fn micros_of_day(t: &Time) -> i64 {
    ((i64::from(t.hour) * 60 + i64::from(t.minute)) * 60 + i64::from(t.second)) * 1_000_000
        + i64::from(t.micro)
}

fn timestamp(dt: &DateTime) -> Option<i64> {
    let utc = dt.to_utc()?;
    let days = utc.date.to_days() - PG_EPOCH_DAYS;
    Some(days * DAY_MICROS + micros_of_day(&utc.time))
}

/// Appends one value as a field (its length, then its bytes); `Err` says
/// why the value doesn't fit the column's type.
pub fn encode(out: &mut Vec<u8>, enc: Enc, v: &Value) -> Result<(), String> {
    if v.is_null() {
        out.extend_from_slice(&(-1i32).to_be_bytes());
        return Ok(());
    }
    let bad = || format!("{v:?} doesn't fit the column's type ({enc:?})");
    match enc {
        Enc::Bool => {
            let b = match v {
                Value::Bool(b) => *b,
                Value::Text(t) if matches!(t.as_str(), "t" | "true" | "1") => true,
                Value::Text(t) if matches!(t.as_str(), "f" | "false" | "0") => false,
                v => int(v).ok_or_else(bad)? != 0,
            };
            field(out, &[u8::from(b)])
        }
        Enc::I2 => {
            let n = i16::try_from(int(v).ok_or_else(bad)?).map_err(|_| bad())?;
            field(out, &n.to_be_bytes())
        }
        Enc::I4 => {
            let n = i32::try_from(int(v).ok_or_else(bad)?).map_err(|_| bad())?;
            field(out, &n.to_be_bytes())
        }
        Enc::I8 => field(out, &int(v).ok_or_else(bad)?.to_be_bytes()),
        Enc::F4 | Enc::F8 => {
            let f = match v {
                Value::Float(f) => *f,
                Value::Int(n) => *n as f64,
                Value::Text(t) | Value::Decimal(t) => t.trim().parse().map_err(|_| bad())?,
                _ => return Err(bad()),
            };
            match enc {
                Enc::F4 => field(out, &(f as f32).to_be_bytes()),
                _ => field(out, &f.to_be_bytes()),
            }
        }
        Enc::Numeric => {
            let text = match v {
                Value::Decimal(t) | Value::Text(t) => t.clone(),
                Value::Int(n) => n.to_string(),
                Value::UInt(n) => n.to_string(),
                Value::Float(f) if f.is_finite() => dump2py_py::repr::float_repr(*f),
                _ => return Err(bad()),
            };
            let bytes = numeric(&text).ok_or_else(bad)?;
            field(out, &bytes)
        }
        Enc::Text | Enc::Json => match v {
            Value::Text(t) | Value::Json(t) | Value::Decimal(t) => field(out, t.as_bytes()),
            v => {
                let mut s = String::new();
                crate::convert::write_text(&mut s, v, true)?;
                field(out, s.as_bytes())
            }
        },
        Enc::Jsonb => match v {
            Value::Text(t) | Value::Json(t) => {
                let n = i32::try_from(t.len() + 1).map_err(|_| bad())?;
                out.extend_from_slice(&n.to_be_bytes());
                out.push(1);
                out.extend_from_slice(t.as_bytes());
                Ok(())
            }
            _ => Err(bad()),
        },
        Enc::Bytea => match v {
            Value::Bytes(b) => field(out, b),
            _ => Err(bad()),
        },
        Enc::Date => {
            let d = match v {
                Value::Date(d) => *d,
                Value::DateTime(dt) => dt.date,
                Value::Text(t) => Date::parse(t).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            let days = i32::try_from(d.to_days() - PG_EPOCH_DAYS).map_err(|_| bad())?;
            field(out, &days.to_be_bytes())
        }
        Enc::Time => {
            let t = match v {
                Value::Time(t) => *t,
                Value::Text(s) => Time::parse(s).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            field(out, &micros_of_day(&t).to_be_bytes())
        }
        Enc::TsTz | Enc::Ts => {
            let dt = match v {
                Value::DateTime(dt) => *dt,
                Value::Text(s) => DateTime::parse(s).ok_or_else(bad)?,
                Value::Date(d) => DateTime {
                    date: *d,
                    time: Time::new(0, 0, 0, 0).ok_or_else(bad)?,
                    offset_minutes: None,
                },
                _ => return Err(bad()),
            };
            field(out, &timestamp(&dt).ok_or_else(bad)?.to_be_bytes())
        }
        Enc::Uuid => {
            let u = match v {
                Value::Uuid(u) => *u,
                Value::Text(t) => parse_uuid(t).ok_or_else(bad)?,
                _ => return Err(bad()),
            };
            field(out, &u)
        }
        Enc::Interval => {
            let us = int(v).ok_or_else(bad)?;
            let mut b = Vec::with_capacity(16);
            b.extend_from_slice(&us.rem_euclid(DAY_MICROS).to_be_bytes());
            let days = i32::try_from(us.div_euclid(DAY_MICROS)).map_err(|_| bad())?;
            b.extend_from_slice(&days.to_be_bytes());
            b.extend_from_slice(&0i32.to_be_bytes());
            field(out, &b)
        }
    }
}

/// A decimal's text (`-12.50`, `1E+3`, `NaN`) in `numeric_recv`'s form:
/// digits base 10,000, weight, sign, display scale.
pub fn numeric(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    let mut out = Vec::new();
    let push = |out: &mut Vec<u8>, n: i16| out.extend_from_slice(&n.to_be_bytes());
    if t.eq_ignore_ascii_case("nan") {
        push(&mut out, 0);
        push(&mut out, 0);
        out.extend_from_slice(&0xC000u16.to_be_bytes());
        push(&mut out, 0);
        return Some(out);
    }
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().ok()?),
        None => (t, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !(int_part.bytes().chain(frac_part.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits, and where the point goes (digits before it).
    let digits: Vec<u8> = (int_part.bytes().chain(frac_part.bytes()))
        .map(|b| b - b'0')
        .collect();
    let point = int_part.len() as i64 + exp;
    if !(-100_000..=100_000).contains(&point) {
        return None;
    }
    let dscale = (digits.len() as i64 - point).max(0);
    // Pad so that the point falls on a group of four boundary.
    let lead = (4 - point.rem_euclid(4)) % 4;
    let mut padded: Vec<u8> = vec![0; lead as usize];
    padded.extend(&digits);
    let point = point + lead;
    while (padded.len() as i64) < point {
        padded.push(0);
    }
    while !padded.len().is_multiple_of(4) {
        padded.push(0);
    }
    let mut groups: Vec<i16> = padded
        .chunks(4)
        .map(|c| c.iter().fold(0i16, |a, d| a * 10 + i16::from(*d)))
        .collect();
    let mut weight = point / 4 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    push(&mut out, i16::try_from(groups.len()).ok()?);
    push(&mut out, i16::try_from(weight).ok()?);
    let sign: u16 = if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    };
    out.extend_from_slice(&sign.to_be_bytes());
    push(&mut out, i16::try_from(dscale).ok()?);
    for g in groups {
        push(&mut out, g);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (Vec<i16>, i16, u16, i16) {
        let b = numeric(text).expect("a number");
        let at = |i: usize| i16::from_be_bytes([b[i], b[i + 1]]);
        let n = at(0) as usize;
        let digits = (0..n).map(|k| at(8 + 2 * k)).collect();
        (digits, at(2), u16::from_be_bytes([b[4], b[5]]), at(6))
    }

    #[test]
    fn numerics_in_base_10000() {
        assert_eq!(parts("0"), (vec![], 0, 0, 0));
        assert_eq!(parts("0.00"), (vec![], 0, 0, 2));
        assert_eq!(parts("12.50"), (vec![12, 5000], 0, 0, 2));
        assert_eq!(parts("-12345.6"), (vec![1, 2345, 6000], 1, 0x4000, 1));
        assert_eq!(parts("0.0001"), (vec![1], -1, 0, 4));
        assert_eq!(parts("1E+4"), (vec![1], 1, 0, 0));
        assert_eq!(parts("1.5E-5"), (vec![1500], -2, 0, 6));
        assert_eq!(parts("100000000"), (vec![1], 2, 0, 0));
        assert!(numeric("1.2.3").is_none());
        assert!(numeric("").is_none());
    }

    #[test]
    fn declared_types_pick_an_encoder() {
        assert_eq!(Enc::of("timestamp with time zone"), Some(Enc::TsTz));
        assert_eq!(Enc::of("timestamp(3) with time zone"), Some(Enc::TsTz));
        assert_eq!(Enc::of("timestamp without time zone"), Some(Enc::Ts));
        assert_eq!(Enc::of("numeric(10,2)"), Some(Enc::Numeric));
        assert_eq!(Enc::of("character varying(254)"), Some(Enc::Text));
        assert_eq!(Enc::of("time without time zone"), Some(Enc::Time));
        assert_eq!(Enc::of("inet"), None);
        assert_eq!(Enc::of("integer[]"), None);
    }
}
