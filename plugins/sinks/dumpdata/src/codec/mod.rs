//! The text of each dumpdata format ([`json`], [`xml`]): the [`Format`]
//! they implement, apart from the sink that spools and orders objects
//! ([`crate::sink`]), which they don't know.

pub mod json;
pub mod xml;

use std::fmt::Write as _;

use dump2py_django::pyvalue::Py;
use dump2py_django::serializer::{DdM2m, DdModel};
use dump2py_model::schema::Storage;
use dump2py_model::value::{DateTime, Time};
use dump2py_model::Value;

/// What is wrong with one value: its column and why.
pub type FieldError = (String, String);

/// One output format's text; all methods append to `out`.
pub trait Format {
    /// Before the first object.
    fn start(&self, out: &mut String);
    /// Before each object; `first` for the first one.
    fn before_object(&self, out: &mut String, first: bool);
    /// An object up to where its many-to-many fields go.
    fn head(
        &self,
        out: &mut String,
        model: &DdModel,
        row: &[Value],
        storage: Storage,
    ) -> Result<(), FieldError>;
    /// One many-to-many field; `first` when no field came before it. With
    /// `natural`, the targets' natural keys are written instead.
    fn m2m(
        &self,
        out: &mut String,
        field: &DdM2m,
        first: bool,
        targets: &[Value],
        natural: Option<&[Vec<Py>]>,
        storage: Storage,
    ) -> Result<(), String>;
    /// A foreign key's value as the target's natural key (in a field that
    /// `head` began).
    fn natural_fk(&self, out: &mut String, key: &[Py]) -> Result<(), String>;
    /// The end of an object; `entries` when it had any field.
    fn tail(&self, out: &mut String, entries: bool);
    /// After the last object.
    fn end(&self, out: &mut String);
}

pub(crate) fn time_iso(out: &mut String, t: &Time, millis: bool) {
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
pub(crate) fn datetime_iso(out: &mut String, dt: &DateTime, json: bool) {
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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use dump2py_django::pyvalue::{py, Kind};
    use dump2py_model::schema::Storage;
    use dump2py_model::value::{Date, DateTime, Time, Value};

    use super::json::write_json;
    use super::xml::xml_text;

    const SQLITE: Storage = Storage {
        decimals_as_real: true,
        datetimes_as_instants: false,
    };

    fn json(kind: Kind, v: Value) -> String {
        let mut out = String::new();
        let p = py(kind, &v, SQLITE).expect("value");
        write_json(&mut out, &p, None, 0).expect("json");
        out
    }

    fn xml(kind: Kind, v: Value) -> Option<String> {
        let p = py(kind, &v, SQLITE).expect("value");
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
}
