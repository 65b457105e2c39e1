//! A value as the pipeline hands it (as Django reads it) → what Django
//! stores in the target's column: driven by the target column's kind, so
//! that a copy between backends stores what the site would have stored
//! there (booleans, UUIDs, durations, JSON, datetimes, content types).

use std::borrow::Cow;
use std::collections::HashMap;

use dump2py_model::schema::{Column, ColumnKind};
use dump2py_model::uuid::parse_uuid;
use dump2py_model::Value;

/// How Django stores values on the target's database, where databases
/// differ.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Aware datetimes are stored naive, in UTC (MariaDB/MySQL, SQLite);
    /// PostgreSQL's timestamptz keeps the instant.
    pub naive_utc: bool,
}

/// One target column's conversion.
#[derive(Debug, Clone)]
pub struct Convert {
    pub column: Column,
    /// A reference to `django_content_type`: mapped to the target's id.
    pub content_type: bool,
    /// Lino's text fields read `''` as `None` and store `None` as `''`.
    pub empty_is_none: bool,
}

impl Convert {
    /// `v` as Django stores it in this column; an error is a value the
    /// column can't hold.
    pub fn value<'a>(
        &self,
        v: &'a Value,
        target: Target,
        content_types: &HashMap<i64, i64>,
    ) -> Result<Cow<'a, Value>, String> {
        if v.is_null() {
            let empty = self.empty_is_none && !self.column.nullable;
            return Ok(match empty {
                true => Cow::Owned(Value::Text(String::new())),
                false => Cow::Borrowed(v),
            });
        }
        if self.content_type {
            let id = match v {
                Value::Int(n) => Some(*n),
                Value::UInt(n) => i64::try_from(*n).ok(),
                Value::Text(t) => t.parse().ok(),
                _ => None,
            };
            let Some(id) = id else {
                return Err(format!("{v:?} is not a content type's id"));
            };
            return match content_types.get(&id) {
                Some(t) => Ok(Cow::Owned(Value::Int(*t))),
                None => Err(format!(
                    "content type {id} is not in the source's django_content_type"
                )),
            };
        }
        Ok(Cow::Owned(match (&self.column.kind, v) {
            (ColumnKind::Bool, Value::Int(n)) => Value::Bool(*n != 0),
            (ColumnKind::Bool, Value::UInt(n)) => Value::Bool(*n != 0),
            (ColumnKind::Int | ColumnKind::UInt, Value::Bool(b)) => Value::Int(i64::from(*b)),
            // DurationField: microseconds where the database has no interval.
            (ColumnKind::Int | ColumnKind::UInt, Value::Duration(us)) => Value::Int(*us),
            (ColumnKind::Duration, Value::Int(us)) => Value::Duration(*us),
            (ColumnKind::Uuid, Value::Text(t)) => match parse_uuid(t) {
                Some(u) => Value::Uuid(u),
                None => return Err(format!("'{t}' is not a UUID")),
            },
            // UUIDField on a database without a uuid type: char(32), hex.
            (ColumnKind::Text, Value::Uuid(u)) => {
                Value::Text(u.iter().map(|b| format!("{b:02x}")).collect())
            }
            (ColumnKind::Json, Value::Text(t)) => Value::Json(t.clone()),
            (ColumnKind::DateTime, Value::DateTime(dt))
                if target.naive_utc && dt.offset_minutes.is_some() =>
            {
                let mut utc = dt
                    .to_utc()
                    .ok_or_else(|| format!("{dt} is out of range in UTC"))?;
                utc.offset_minutes = None;
                Value::DateTime(utc)
            }
            (_, v) => return Ok(Cow::Borrowed(v)),
        }))
    }
}

/// Appends `u` as 32 hex digits, or dashed (`8-4-4-4-12`).
pub fn write_uuid(out: &mut String, u: &[u8; 16], dashed: bool) {
    if dashed {
        dump2py_model::uuid::write_uuid(out, u);
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in u {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// Appends a value's text as the database parses it (not quoted, not
/// escaped): numbers, ISO dates, times and datetimes (an aware one with
/// its offset), durations as Django's `duration_string` (PostgreSQL's
/// interval reads it), UUIDs dashed or not. Not for NULL or bytes; an
/// error for what has no text (a float's NaN where `finite` is asked, a
/// PostgreSQL composite).
pub fn write_text(out: &mut String, v: &Value, dashed_uuid: bool) -> Result<(), String> {
    use dump2py_model::value::{push_int, write_duration};
    match v {
        Value::Bool(b) => out.push_str(if *b { "1" } else { "0" }),
        Value::Int(n) => push_int(out, *n),
        Value::UInt(n) => out.push_str(&n.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str("NaN"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "Infinity" } else { "-Infinity" })
        }
        Value::Float(f) => dump2py_py::repr::write_float(out, *f),
        Value::Decimal(t) | Value::Text(t) | Value::Json(t) => out.push_str(t),
        Value::Date(d) => d.write_iso(out),
        Value::Time(t) => t.write_iso(out),
        Value::DateTime(dt) => dt.write_iso(out),
        Value::Uuid(u) => write_uuid(out, u, dashed_uuid),
        Value::Duration(us) => write_duration(out, *us),
        Value::Null | Value::Bytes(_) => return Err("not a text value".into()),
        Value::Array(_) | Value::Map(_) | Value::Range(_) => {
            return Err("PostgreSQL arrays, hstore and ranges can't be loaded yet".into())
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dump2py_model::value::{Date, DateTime, Time};

    fn column(kind: ColumnKind, nullable: bool) -> Column {
        Column {
            name: "c".into(),
            declared_type: String::new(),
            kind,
            nullable,
            generated: false,
        }
    }

    fn convert(kind: ColumnKind) -> Convert {
        Convert {
            column: column(kind, true),
            content_type: false,
            empty_is_none: false,
        }
    }

    const UTC: Target = Target { naive_utc: true };
    const PG: Target = Target { naive_utc: false };

    #[test]
    fn values_take_the_target_columns_kind() {
        let none = HashMap::new();
        let c = |k, v: Value, t| convert(k).value(&v, t, &none).map(Cow::into_owned);
        assert_eq!(
            c(ColumnKind::Bool, Value::Int(1), PG),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            c(ColumnKind::Int, Value::Bool(false), UTC),
            Ok(Value::Int(0))
        );
        assert_eq!(
            c(ColumnKind::Int, Value::Duration(-5), UTC),
            Ok(Value::Int(-5))
        );
        assert_eq!(
            c(ColumnKind::Duration, Value::Int(7), PG),
            Ok(Value::Duration(7))
        );
        let u = c(
            ColumnKind::Uuid,
            Value::Text("0123456789abcdef0123456789abcdef".into()),
            PG,
        );
        let Ok(Value::Uuid(bytes)) = u else {
            panic!("{u:?}")
        };
        assert_eq!(
            c(ColumnKind::Text, Value::Uuid(bytes), UTC),
            Ok(Value::Text("0123456789abcdef0123456789abcdef".into()))
        );
        assert!(c(ColumnKind::Uuid, Value::Text("nope".into()), PG).is_err());
    }

    #[test]
    fn aware_datetimes_are_naive_utc_where_django_stores_them_so() {
        let none = HashMap::new();
        let dt = DateTime {
            date: Date::new(2001, 2, 3).unwrap(),
            time: Time::new(1, 5, 6, 7).unwrap(),
            offset_minutes: Some(120),
        };
        let v = (convert(ColumnKind::DateTime).value(&Value::DateTime(dt), UTC, &none))
            .map(Cow::into_owned);
        assert_eq!(v.map(|v| format!("{v:?}")), {
            let mut want = dt.to_utc().unwrap();
            want.offset_minutes = None;
            Ok(format!("{:?}", Value::DateTime(want)))
        });
        let kept = (convert(ColumnKind::DateTime).value(&Value::DateTime(dt), PG, &none))
            .map(Cow::into_owned);
        assert_eq!(kept, Ok(Value::DateTime(dt)));
    }

    #[test]
    fn content_types_and_lino_empty_text_are_mapped() {
        let map: HashMap<i64, i64> = [(3, 30)].into();
        let ct = Convert {
            column: column(ColumnKind::Int, false),
            content_type: true,
            empty_is_none: false,
        };
        assert_eq!(
            ct.value(&Value::Int(3), PG, &map).map(Cow::into_owned),
            Ok(Value::Int(30))
        );
        assert!(ct.value(&Value::Int(4), PG, &map).is_err());
        let text = Convert {
            column: column(ColumnKind::Text, false),
            content_type: false,
            empty_is_none: true,
        };
        assert_eq!(
            text.value(&Value::Null, PG, &map).map(Cow::into_owned),
            Ok(Value::Text(String::new()))
        );
    }
}
