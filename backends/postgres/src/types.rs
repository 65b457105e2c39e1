//! PostgreSQL types → column kinds, and values in the binary wire format →
//! [`Value`]s. The binary format is exact (no float or decimal text to
//! parse back) and independent of session settings such as DateStyle,
//! IntervalStyle, TimeZone and extra_float_digits.

use dump2py_model::schema::ColumnKind;
use dump2py_model::value::{civil_from_days, Date, DateTime, Range, Time};
use dump2py_model::{Batch, Value};
use tokio_postgres::types::{Kind, Type};

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
const PG_EPOCH_DAYS: i64 = 10_957;
const DAY_US: i64 = 86_400_000_000;

/// The kind of a column by its (domain-resolved) base type name.
pub fn column_kind(base: &str, declared: &str) -> ColumnKind {
    match base {
        "bool" => ColumnKind::Bool,
        "int2" | "int4" | "int8" => ColumnKind::Int,
        "numeric" => ColumnKind::Decimal,
        "float4" | "float8" => ColumnKind::Float,
        "bpchar" | "varchar" | "text" | "citext" | "name" => ColumnKind::Text,
        // Django's GenericIPAddressField; read as the server's text.
        "inet" | "cidr" => ColumnKind::Text,
        "bytea" => ColumnKind::Bytes,
        "date" => ColumnKind::Date,
        "time" => ColumnKind::Time,
        "timestamp" | "timestamptz" => ColumnKind::DateTime,
        "interval" => ColumnKind::Duration,
        "uuid" => ColumnKind::Uuid,
        "json" | "jsonb" => ColumnKind::Json,
        // django.contrib.postgres: ArrayField (an array type's name starts
        // with `_`), HStoreField, the range fields.
        "hstore" | "int4range" | "int8range" | "numrange" | "daterange" | "tsrange"
        | "tstzrange" => ColumnKind::Composite,
        _ if base.starts_with('_')
            && column_kind(&base[1..], declared)
                != ColumnKind::Unsupported(declared.to_string()) =>
        {
            ColumnKind::Composite
        }
        _ => ColumnKind::Unsupported(declared.to_string()),
    }
}

/// Types whose binary format is not decoded here: the query casts them to text.
pub fn read_as_text(base: &str) -> bool {
    matches!(base, "inet" | "cidr")
}

/// How one result column's bytes are decoded, chosen by the type the
/// server reports for it (a domain arrives as its base type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    Bool,
    Int2,
    Int4,
    Int8,
    Numeric,
    Float4,
    Float8,
    Text,
    Bytea,
    Date,
    Time,
    Timestamp,
    Timestamptz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    /// An array of the element type's values (any number of dimensions).
    Array(&'static Decoder),
    /// A range of the subtype's values.
    Range(&'static Decoder),
    Hstore,
}

impl Decoder {
    pub fn for_type(ty: &Type) -> Option<Decoder> {
        Some(match *ty {
            Type::BOOL => Decoder::Bool,
            Type::INT2 => Decoder::Int2,
            Type::INT4 => Decoder::Int4,
            Type::INT8 => Decoder::Int8,
            Type::NUMERIC => Decoder::Numeric,
            Type::FLOAT4 => Decoder::Float4,
            Type::FLOAT8 => Decoder::Float8,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Decoder::Text,
            Type::BYTEA => Decoder::Bytea,
            Type::DATE => Decoder::Date,
            Type::TIME => Decoder::Time,
            Type::TIMESTAMP => Decoder::Timestamp,
            Type::TIMESTAMPTZ => Decoder::Timestamptz,
            Type::INTERVAL => Decoder::Interval,
            Type::UUID => Decoder::Uuid,
            Type::JSON => Decoder::Json,
            Type::JSONB => Decoder::Jsonb,
            // An extension type; its binary format is text's.
            _ if ty.name() == "citext" => Decoder::Text,
            _ if ty.name() == "hstore" => Decoder::Hstore,
            _ => match ty.kind() {
                Kind::Array(elem) => Decoder::Array(Decoder::for_type(elem)?.scalar()?),
                Kind::Range(sub) => Decoder::Range(Decoder::for_type(sub)?.scalar()?),
                _ => return None,
            },
        })
    }

    /// The same decoder as a `'static` reference, for an array's
    /// elements or a range's bounds (scalars only).
    fn scalar(self) -> Option<&'static Decoder> {
        Some(match self {
            Decoder::Bool => &Decoder::Bool,
            Decoder::Int2 => &Decoder::Int2,
            Decoder::Int4 => &Decoder::Int4,
            Decoder::Int8 => &Decoder::Int8,
            Decoder::Numeric => &Decoder::Numeric,
            Decoder::Float4 => &Decoder::Float4,
            Decoder::Float8 => &Decoder::Float8,
            Decoder::Text => &Decoder::Text,
            Decoder::Bytea => &Decoder::Bytea,
            Decoder::Date => &Decoder::Date,
            Decoder::Time => &Decoder::Time,
            Decoder::Timestamp => &Decoder::Timestamp,
            Decoder::Timestamptz => &Decoder::Timestamptz,
            Decoder::Interval => &Decoder::Interval,
            Decoder::Uuid => &Decoder::Uuid,
            Decoder::Json => &Decoder::Json,
            Decoder::Jsonb => &Decoder::Jsonb,
            Decoder::Hstore => &Decoder::Hstore,
            Decoder::Array(_) | Decoder::Range(_) => return None,
        })
    }

    /// Decodes one non-NULL value; the error says what is wrong with it.
    pub fn decode(self, b: &[u8]) -> Result<Value, String> {
        self.decode_in(b, &mut Batch::default())
    }

    /// As [`Decoder::decode`], text in one of `batch`'s spare strings.
    pub fn decode_in(self, b: &[u8], batch: &mut Batch) -> Result<Value, String> {
        Ok(match self {
            Decoder::Bool => Value::Bool(fixed::<1>(b)?[0] != 0),
            Decoder::Int2 => Value::Int(i16::from_be_bytes(fixed(b)?) as i64),
            Decoder::Int4 => Value::Int(i32::from_be_bytes(fixed(b)?) as i64),
            Decoder::Int8 => Value::Int(i64::from_be_bytes(fixed(b)?)),
            Decoder::Numeric => Value::Decimal(numeric_into(b, batch.string(""))?),
            Decoder::Float4 => Value::Float(float4(f32::from_be_bytes(fixed(b)?))),
            Decoder::Float8 => Value::Float(f64::from_be_bytes(fixed(b)?)),
            Decoder::Text => Value::Text(batch.string(utf8(b)?)),
            Decoder::Bytea => Value::Bytes(b.to_vec()),
            Decoder::Date => Value::Date(date(i32::from_be_bytes(fixed(b)?))?),
            Decoder::Time => Value::Time(time(i64::from_be_bytes(fixed(b)?))?),
            Decoder::Timestamp => Value::DateTime(timestamp(i64::from_be_bytes(fixed(b)?), None)?),
            Decoder::Timestamptz => {
                Value::DateTime(timestamp(i64::from_be_bytes(fixed(b)?), Some(0))?)
            }
            Decoder::Interval => Value::Duration(interval(b)?),
            Decoder::Uuid => Value::Uuid(fixed(b)?),
            Decoder::Json => Value::Json(batch.string(utf8(b)?)),
            Decoder::Jsonb => match b.split_first() {
                Some((1, text)) => Value::Json(batch.string(utf8(text)?)),
                _ => return Err("jsonb in an unknown binary format version".into()),
            },
            Decoder::Array(elem) => array(elem, b)?,
            Decoder::Range(sub) => range(sub, b)?,
            Decoder::Hstore => hstore(b)?,
        })
    }
}

/// Reads the binary formats of arrays, ranges and hstore: big-endian
/// lengths, -1 for NULL.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.b.len() < n {
            return Err("truncated array, range or hstore".into());
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(fixed(self.take(4)?)?))
    }

    /// A length-prefixed value: None for NULL.
    fn item(&mut self) -> Result<Option<&'a [u8]>, String> {
        match self.i32()? {
            -1 => Ok(None),
            n if n < 0 => Err(format!("length {n} in an array, range or hstore")),
            n => self.take(n as usize).map(Some),
        }
    }

    fn done(&self) -> Result<(), String> {
        match self.b.len() {
            0 => Ok(()),
            n => Err(format!("{n} bytes after an array, range or hstore")),
        }
    }
}

/// An array as psycopg reads it: nested lists by dimension (Django's
/// ArrayField of ArrayField), `[]` for an empty one.
fn array(elem: &Decoder, b: &[u8]) -> Result<Value, String> {
    let mut r = Reader { b };
    let ndim = r.i32()?;
    let _has_nulls = r.i32()?;
    let _oid = r.i32()?;
    if !(0..=6).contains(&ndim) {
        return Err(format!("array of {ndim} dimensions"));
    }
    let mut dims = Vec::new();
    for _ in 0..ndim {
        let len = r.i32()?;
        let _lower_bound = r.i32()?;
        dims.push(usize::try_from(len).map_err(|_| format!("array dimension of {len}"))?);
    }
    let value = if dims.is_empty() {
        Value::Array(Vec::new())
    } else {
        elements(elem, &mut r, &dims)?
    };
    r.done()?;
    Ok(value)
}

fn elements(elem: &Decoder, r: &mut Reader, dims: &[usize]) -> Result<Value, String> {
    let (&n, rest) = dims.split_first().unwrap_or((&0, &[]));
    let mut items = Vec::with_capacity(n.min(r.b.len() / 4 + 1));
    for _ in 0..n {
        items.push(if rest.is_empty() {
            match r.item()? {
                None => Value::Null,
                Some(b) => elem.decode(b)?,
            }
        } else {
            elements(elem, r, rest)?
        });
    }
    Ok(Value::Array(items))
}

/// A range: its flags byte, then the bounds that are finite.
fn range(sub: &Decoder, b: &[u8]) -> Result<Value, String> {
    const EMPTY: u8 = 0x01;
    const LB_INC: u8 = 0x02;
    const UB_INC: u8 = 0x04;
    const LB_INF: u8 = 0x08;
    const UB_INF: u8 = 0x10;
    let mut r = Reader { b };
    let flags = r.take(1)?[0];
    let mut bound = |inf: u8| -> Result<Option<Value>, String> {
        if flags & (EMPTY | inf) != 0 {
            return Ok(None);
        }
        match r.item()? {
            None => Ok(None),
            Some(b) => sub.decode(b).map(Some),
        }
    };
    let lower = bound(LB_INF)?;
    let upper = bound(UB_INF)?;
    r.done()?;
    Ok(Value::Range(Box::new(Range {
        lower,
        upper,
        lower_inc: flags & LB_INC != 0,
        upper_inc: flags & UB_INC != 0,
        empty: flags & EMPTY != 0,
    })))
}

/// An hstore: a count, then key and value (NULL allowed) pairs, in the
/// server's order (psycopg's dict keeps it).
fn hstore(b: &[u8]) -> Result<Value, String> {
    let mut r = Reader { b };
    let n = r.i32()?;
    let mut pairs = Vec::with_capacity(usize::try_from(n).unwrap_or(0).min(b.len() / 8));
    for _ in 0..n {
        let key = r.item()?.ok_or("an hstore key is NULL")?;
        let value = r.item()?.map(|v| utf8(v).map(str::to_string)).transpose()?;
        pairs.push((utf8(key)?.to_string(), value));
    }
    r.done()?;
    Ok(Value::Map(pairs))
}

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], String> {
    b.try_into()
        .map_err(|_| format!("{} bytes where {N} were expected", b.len()))
}

fn utf8(b: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(b).map_err(|_| "holds text that is not UTF-8".to_string())
}

/// The shortest text that reads back as the same `real`, taken as a
/// double: `0.1`, not `0.10000000149011612` (what psql shows, and what
/// restores to the same `real`).
fn float4(f: f32) -> f64 {
    if !f.is_finite() {
        return f as f64;
    }
    f.to_string().parse().unwrap_or(f as f64)
}

fn out_of_range(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    // PostgreSQL shows year 0 and before as "BC", counting from 1 BC.
    let shown = if y <= 0 {
        format!("{:04}-{m:02}-{d:02} BC", 1 - y)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    };
    format!("{shown} is outside Python's years 1 to 9999")
}

fn date(pg_days: i32) -> Result<Date, String> {
    match pg_days {
        i32::MAX => Err("date 'infinity' has no Python value".into()),
        i32::MIN => Err("date '-infinity' has no Python value".into()),
        _ => {
            let days = pg_days as i64 + PG_EPOCH_DAYS;
            Date::from_days(days).ok_or_else(|| out_of_range(days))
        }
    }
}

fn time(us: i64) -> Result<Time, String> {
    let secs = us.div_euclid(1_000_000);
    Time::new(
        u8::try_from(secs / 3600).unwrap_or(u8::MAX),
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        us.rem_euclid(1_000_000) as u32,
    )
    .ok_or_else(|| "time 24:00:00 has no Python value".to_string())
}

fn timestamp(pg_us: i64, offset: Option<i16>) -> Result<DateTime, String> {
    match pg_us {
        i64::MAX => return Err("timestamp 'infinity' has no Python value".into()),
        i64::MIN => return Err("timestamp '-infinity' has no Python value".into()),
        _ => {}
    }
    let days = pg_us.div_euclid(DAY_US) + PG_EPOCH_DAYS;
    let date = Date::from_days(days).ok_or_else(|| out_of_range(days))?;
    let time = time(pg_us.rem_euclid(DAY_US))?;
    Ok(DateTime {
        date,
        time,
        offset_minutes: offset,
    })
}

/// An interval as microseconds. Months have no fixed length, and Django
/// writes a timedelta as days and microseconds only.
fn interval(b: &[u8]) -> Result<i64, String> {
    let b: [u8; 16] = fixed(b)?;
    let us = i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let days = i32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    let months = i32::from_be_bytes([b[12], b[13], b[14], b[15]]);
    if months != 0 {
        return Err(format!(
            "interval with {months} month(s) has no exact length in microseconds \
             (Django writes days and seconds only)"
        ));
    }
    (days as i64)
        .checked_mul(DAY_US)
        .and_then(|d| d.checked_add(us))
        .ok_or_else(|| "interval is too long for a Python timedelta".to_string())
}

/// The exact text of a binary `numeric`, as PostgreSQL prints it: base-10000
/// digits with a weight, and `dscale` digits after the point.
pub fn numeric_text(b: &[u8]) -> Result<String, String> {
    numeric_into(b, String::new())
}

/// As [`numeric_text`], into `s` (empty).
fn numeric_into(b: &[u8], mut s: String) -> Result<String, String> {
    use dump2py_model::value::push_uint;
    let word = |i: usize| -> Result<u16, String> {
        b.get(i..i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
            .ok_or_else(|| "truncated numeric".to_string())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i64;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("numeric NaN is not a number Django can restore".into()),
        0xD000 => return Err("numeric Infinity is not a number Django can restore".into()),
        0xF000 => return Err("numeric -Infinity is not a number Django can restore".into()),
        _ => return Err(format!("numeric with unknown sign {sign:#x}")),
    }
    // The digits are read in place: no vector per value.
    let digits = b
        .get(8..8 + 2 * ndigits)
        .ok_or_else(|| "truncated numeric".to_string())?;
    let digit = |i: usize| u16::from_be_bytes([digits[2 * i], digits[2 * i + 1]]);
    if let Some(d) = (0..ndigits).map(digit).find(|&d| d > 9999) {
        return Err(format!("numeric digit {d} out of range"));
    }
    // Digit i is worth 10000^(weight - i).
    let at = |i: i64| -> u16 {
        usize::try_from(i)
            .ok()
            .filter(|&i| i < ndigits)
            .map(digit)
            .unwrap_or(0)
    };
    s.reserve(8 + 4 * ndigits + dscale);
    if sign == 0x4000 && digits.iter().any(|&d| d != 0) {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        push_uint(&mut s, u64::from(at(0)), 0);
        for i in 1..=weight {
            push_uint(&mut s, u64::from(at(i)), 4);
        }
    }
    if dscale > 0 {
        s.push('.');
        let start = s.len();
        let mut i = weight + 1;
        while s.len() - start < dscale {
            push_uint(&mut s, u64::from(at(i)), 4);
            i += 1;
        }
        s.truncate(start + dscale);
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
