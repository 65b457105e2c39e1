//! Values and batches: how a row's values cross, either way. Whoever
//! passes a batch owns it; the other side copies it with `to_core`.

use std::marker::PhantomData;

use super::{slice, Str};
use dump2py_model::batch::Batch;
use dump2py_model::value::{Date, DateTime, Time, Value};

/// Kind tags of values and columns. A column's kind `UNSUPPORTED` keeps
/// its declared type as the explanation; a value's kind `NULL` is NULL.
pub mod kind {
    pub const NULL: u32 = 0;
    pub const UNSUPPORTED: u32 = 0;
    pub const BOOL: u32 = 1;
    pub const INT: u32 = 2;
    pub const UINT: u32 = 3;
    pub const FLOAT: u32 = 4;
    pub const DECIMAL: u32 = 5;
    pub const TEXT: u32 = 6;
    pub const BYTES: u32 = 7;
    pub const DATE: u32 = 8;
    pub const TIME: u32 = 9;
    pub const DATETIME: u32 = 10;
    pub const JSON: u32 = 11;
    pub const UUID: u32 = 12;
    pub const DURATION: u32 = 13;
    /// An array, hstore or range (django.contrib.postgres): not carried
    /// yet; a plugin that is given one fails on it.
    pub const COMPOSITE: u32 = 14;
}

const DAY_MICROS: i64 = 86_400_000_000;

/// One value. `kind` says which payload holds it:
///
/// | kind | payload |
/// |---|---|
/// | NULL | none |
/// | BOOL | `int` 0 or 1 |
/// | INT, DURATION | `int` (a duration in microseconds) |
/// | UINT | `int`, the bits of the u64 |
/// | FLOAT | `float` |
/// | DECIMAL, TEXT, JSON | `ptr`/`len`: UTF-8 (a decimal as exact text, e.g. `-12.50`) |
/// | BYTES | `ptr`/`len` |
/// | UUID | `ptr`/`len`: 16 bytes |
/// | DATE | `int`: days since 1970-01-01 |
/// | TIME | `int`: microseconds since midnight |
/// | DATETIME | `int`: microseconds since 1970-01-01 00:00 of the stored wall time; `aware` 1 with `offset_minutes` for an aware value (sources store aware values in UTC, offset 0) |
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_Value {
    pub kind: u32,
    pub aware: u8,
    pub offset_minutes: i16,
    pub int: i64,
    pub float: f64,
    pub ptr: *const u8,
    pub len: usize,
}

impl FFI_Value {
    const NULL: FFI_Value = FFI_Value {
        kind: kind::NULL,
        aware: 0,
        offset_minutes: 0,
        int: 0,
        float: 0.0,
        ptr: std::ptr::null(),
        len: 0,
    };

    fn int(kind: u32, int: i64) -> FFI_Value {
        FFI_Value {
            kind,
            int,
            ..FFI_Value::NULL
        }
    }

    fn bytes(kind: u32, b: &[u8]) -> FFI_Value {
        FFI_Value {
            kind,
            ptr: b.as_ptr(),
            len: b.len(),
            ..FFI_Value::NULL
        }
    }

    /// A view of `v`, valid while `v` is.
    pub fn borrow(v: &Value) -> FFI_Value {
        match v {
            Value::Null => FFI_Value::NULL,
            Value::Bool(b) => FFI_Value::int(kind::BOOL, *b as i64),
            Value::Int(i) => FFI_Value::int(kind::INT, *i),
            Value::UInt(u) => FFI_Value::int(kind::UINT, *u as i64),
            Value::Float(f) => FFI_Value {
                kind: kind::FLOAT,
                float: *f,
                ..FFI_Value::NULL
            },
            Value::Decimal(s) => FFI_Value::bytes(kind::DECIMAL, s.as_bytes()),
            Value::Text(s) => FFI_Value::bytes(kind::TEXT, s.as_bytes()),
            Value::Json(s) => FFI_Value::bytes(kind::JSON, s.as_bytes()),
            Value::Bytes(b) => FFI_Value::bytes(kind::BYTES, b),
            Value::Uuid(u) => FFI_Value::bytes(kind::UUID, u),
            Value::Date(d) => FFI_Value::int(kind::DATE, d.to_days()),
            Value::Time(t) => FFI_Value::int(kind::TIME, time_micros(t)),
            Value::DateTime(dt) => FFI_Value {
                kind: kind::DATETIME,
                aware: dt.offset_minutes.is_some() as u8,
                offset_minutes: dt.offset_minutes.unwrap_or(0),
                int: dt.date.to_days() * DAY_MICROS + time_micros(&dt.time),
                ..FFI_Value::NULL
            },
            Value::Duration(d) => FFI_Value::int(kind::DURATION, *d),
            Value::Array(_) | Value::Map(_) | Value::Range(_) => FFI_Value {
                kind: kind::COMPOSITE,
                ..FFI_Value::NULL
            },
        }
    }

    /// A copy of the value.
    ///
    /// # Safety
    /// `ptr`/`len` must be valid for kinds that use them.
    pub unsafe fn to_core(&self) -> Result<Value, String> {
        let text = || -> Result<String, String> { Str::bytes(self.bytes_unchecked()?).to_string() };
        Ok(match self.kind {
            kind::NULL => Value::Null,
            kind::BOOL => Value::Bool(self.int != 0),
            kind::INT => Value::Int(self.int),
            kind::UINT => Value::UInt(self.int as u64),
            kind::FLOAT => Value::Float(self.float),
            kind::DECIMAL => Value::Decimal(text()?),
            kind::TEXT => Value::Text(text()?),
            kind::JSON => Value::Json(text()?),
            kind::BYTES => Value::Bytes(self.bytes_unchecked()?.to_vec()),
            kind::UUID => Value::Uuid(
                self.bytes_unchecked()?
                    .try_into()
                    .map_err(|_| format!("a UUID has 16 bytes, not {}", self.len))?,
            ),
            kind::DATE => Value::Date(date(self.int)?),
            kind::TIME => Value::Time(time(self.int)?),
            kind::DATETIME => {
                let d = date(self.int.div_euclid(DAY_MICROS))?;
                let t = time(self.int.rem_euclid(DAY_MICROS))?;
                Value::DateTime(DateTime {
                    date: d,
                    time: t,
                    offset_minutes: (self.aware != 0).then_some(self.offset_minutes),
                })
            }
            kind::DURATION => Value::Duration(self.int),
            kind::COMPOSITE => {
                return Err("an array, hstore or range value (django.contrib.postgres) \
                            can't cross the plugin interface yet"
                    .into())
            }
            other => return Err(format!("unknown value kind {other}")),
        })
    }

    unsafe fn bytes_unchecked<'a>(&self) -> Result<&'a [u8], String> {
        slice(self.ptr, self.len)
    }
}

fn time_micros(t: &Time) -> i64 {
    ((t.hour as i64 * 60 + t.minute as i64) * 60 + t.second as i64) * 1_000_000 + t.micro as i64
}

fn date(days: i64) -> Result<Date, String> {
    Date::from_days(days).ok_or_else(|| format!("date {days} days from 1970-01-01 is out of range"))
}

fn time(micros: i64) -> Result<Time, String> {
    if !(0..DAY_MICROS).contains(&micros) {
        return Err(format!("time of {micros} microseconds is not within a day"));
    }
    let secs = micros / 1_000_000;
    Time::new(
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
        (micros % 1_000_000) as u32,
    )
    .ok_or_else(|| format!("bad time {micros}"))
}

/// Rows laid out flat: `n_values / width` rows of `width` values.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FFI_Batch {
    pub width: usize,
    pub values: *const FFI_Value,
    pub n_values: usize,
}

/// A [`FFI_Batch`] view of a core batch.
pub struct BatchRef<'a> {
    _values: Vec<FFI_Value>,
    raw: FFI_Batch,
    _borrow: PhantomData<&'a Batch>,
}

impl<'a> BatchRef<'a> {
    pub fn new(b: &'a Batch) -> BatchRef<'a> {
        let values: Vec<FFI_Value> = b.values.iter().map(FFI_Value::borrow).collect();
        let raw = FFI_Batch {
            width: b.width,
            values: values.as_ptr(),
            n_values: values.len(),
        };
        BatchRef {
            _values: values,
            raw,
            _borrow: PhantomData,
        }
    }

    pub fn get(&self) -> &FFI_Batch {
        &self.raw
    }
}

impl FFI_Batch {
    /// A copy of the rows.
    ///
    /// # Safety
    /// All pointers must be valid for the duration of the call.
    pub unsafe fn to_core(&self) -> Result<Batch, String> {
        let values = slice(self.values, self.n_values)?;
        if self.width == 0 && !values.is_empty()
            || self.width != 0 && values.len() % self.width != 0
        {
            return Err(format!(
                "a batch of {} values is not made of rows of {}",
                values.len(),
                self.width
            ));
        }
        Ok(Batch::from_values(
            self.width,
            values
                .iter()
                .map(|v| v.to_core())
                .collect::<Result<_, _>>()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let dt = |s| Value::DateTime(DateTime::parse(s).expect("valid"));
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
            Value::Float(-0.5),
            Value::Decimal("-12.50".into()),
            Value::Text("ä\u{0}'x".into()),
            Value::Bytes(vec![0, 255]),
            Value::Date(Date::new(1, 1, 1).expect("valid")),
            Value::Date(Date::new(9999, 12, 31).expect("valid")),
            Value::Time(Time::new(23, 59, 59, 999_999).expect("valid")),
            dt("1969-12-31 23:59:59.999999"),
            dt("2024-03-31T01:30:05.123456Z"),
            Value::DateTime(DateTime {
                offset_minutes: Some(-90),
                ..DateTime::parse("0001-01-01 00:00:00").expect("valid")
            }),
            Value::Json("{\"a\": 1.0}".into()),
            Value::Uuid([7; 16]),
            Value::Duration(-1),
        ];
        for v in values {
            let back = unsafe { FFI_Value::borrow(&v).to_core() };
            assert_eq!(back.as_ref(), Ok(&v));
        }
    }

    #[test]
    fn bad_values_are_errors() {
        let bad = FFI_Value {
            kind: kind::TIME,
            int: DAY_MICROS,
            ..FFI_Value::NULL
        };
        assert!(unsafe { bad.to_core() }.is_err());
        let text = FFI_Value {
            kind: kind::TEXT,
            ptr: [0xffu8].as_ptr(),
            len: 1,
            ..FFI_Value::NULL
        };
        let err = unsafe { text.to_core() }.err().unwrap_or_default();
        assert!(err.contains("not UTF-8"), "{err}");
        let null = FFI_Value {
            kind: kind::BYTES,
            len: 3,
            ..FFI_Value::NULL
        };
        assert!(unsafe { null.to_core() }.is_err());
        assert!(unsafe { FFI_Value::int(99, 0).to_core() }.is_err());
    }

    #[test]
    fn batches_round_trip() {
        let mut b = Batch::new(2, 2);
        b.push_row([Value::Int(1), Value::Text("a".into())]);
        b.push_row([Value::Int(2), Value::Null]);
        let br = BatchRef::new(&b);
        assert_eq!(unsafe { br.get().to_core() }, Ok(b.clone()));
        let ragged = FFI_Batch {
            width: 2,
            n_values: 1,
            ..*br.get()
        };
        assert!(unsafe { ragged.to_core() }.is_err());
    }
}
