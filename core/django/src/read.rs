//! A stored value as Django's ORM reads it through its field, for every
//! output alike: the site's metadata says what the field does on reading
//! ([`Reading`]), and the pipeline rewrites each batch with it before any
//! sink sees it. What Django reads differently from what is stored, or
//! what its field would refuse, is counted per column for one warning.

use dump2py_model::schema::Storage;
use dump2py_model::value::{DateTime, Value};
use dump2py_py::decimal::{is_quantized, special, Dec};

/// What Django does to a field's stored value when it reads it, and what
/// the field accepts. The default does nothing (a site without metadata).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// `''` reads as `None` (Lino's text-based fields, choice lists).
    pub empty_is_none: bool,
    /// A `DecimalField`: its `decimal_places` and `max_digits`.
    pub decimal: Option<(u32, Option<u32>)>,
    /// A `DateTimeField` of a `USE_TZ` site: a naive value is UTC.
    pub aware: bool,
    /// A `DateTimeField` of a site without `USE_TZ`: an instant that the
    /// database gives in the connection's time zone (PostgreSQL's
    /// timestamptz, [`Storage::datetimes_as_instants`]) is read as the
    /// naive wall time in the site's `TIME_ZONE`, which Django makes the
    /// connection's.
    pub wall_time_in: Option<WallTimeZone>,
    /// Longer text is read as stored, but the field refuses it.
    pub max_length: Option<u64>,
    /// An integer field's range as Django defines it.
    pub range: Option<(i64, i64)>,
}

/// How a value Django reads is not the stored one, or not one its field
/// accepts: the reason of a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Differs {
    /// More decimal places than the field has: quantized.
    Quantized,
    TooLong,
    OutOfRange,
}

impl Differs {
    /// Why, for the warning: "… written as Django reads them (WHY)".
    pub fn why(self, reading: &Reading) -> String {
        match (self, reading) {
            (
                Differs::Quantized,
                Reading {
                    decimal: Some((p, _)),
                    ..
                },
            ) => {
                format!("quantized to the field's {p} decimal places")
            }
            (
                Differs::TooLong,
                Reading {
                    max_length: Some(n),
                    ..
                },
            ) => {
                format!("longer than the field's max_length {n}")
            }
            (
                Differs::OutOfRange,
                Reading {
                    range: Some((lo, hi)),
                    ..
                },
            ) => {
                format!("outside the field's range {lo}..={hi}")
            }
            _ => "as the field reads them".into(),
        }
    }
}

impl Reading {
    /// Whether reading leaves every value as it is and accepts it.
    pub fn is_plain(&self) -> bool {
        *self == Reading::default()
    }

    /// Rewrites `v` as Django reads it; says how that (or the value) is
    /// not what was stored or what the field accepts. An error is a value
    /// that Django could not read (a decimal beyond `max_digits`).
    pub fn apply(&self, v: &mut Value, storage: Storage) -> Result<Option<Differs>, String> {
        match v {
            Value::Text(t) if t.is_empty() && self.empty_is_none => {
                *v = Value::Null;
                Ok(None)
            }
            Value::Text(t) => {
                // No more bytes than allowed characters: no need to count.
                let long = self
                    .max_length
                    .is_some_and(|n| t.len() as u64 > n && t.chars().count() as u64 > n);
                Ok(long.then_some(Differs::TooLong))
            }
            Value::Int(n) => Ok(self.out_of_range(i128::from(*n))),
            Value::UInt(n) => Ok(self.out_of_range(i128::from(*n))),
            Value::DateTime(dt) if dt.offset_minutes.is_some() && storage.datetimes_as_instants => {
                if let Some(zone) = &self.wall_time_in {
                    *dt = zone.wall_time(*dt)?;
                }
                Ok(None)
            }
            // The datetimes in an ArrayField or DateTimeRangeField.
            Value::Array(_) | Value::Range(_) if storage.datetimes_as_instants => {
                if let Some(zone) = &self.wall_time_in {
                    zone.wall_times_in(v)?;
                }
                Ok(None)
            }
            Value::DateTime(dt) if self.aware && dt.offset_minutes.is_none() => {
                dt.offset_minutes = Some(0);
                Ok(None)
            }
            Value::Decimal(t) => match self.decimal {
                // A server's decimals have the column's scale: as read,
                // checked without allocating (str() is plain to 6 places).
                Some((places, _))
                    if !storage.decimals_as_real && places <= 6 && is_quantized(t, places) =>
                {
                    Ok(None)
                }
                Some((places, max_digits)) => {
                    let (text, differs) = read_decimal(t, places, max_digits, storage)?;
                    *t = text;
                    Ok(differs.then_some(Differs::Quantized))
                }
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    fn out_of_range(&self, n: i128) -> Option<Differs> {
        let (lo, hi) = self.range?;
        (n < i128::from(lo) || n > i128::from(hi)).then_some(Differs::OutOfRange)
    }
}

/// A site's `TIME_ZONE`, as Python's zoneinfo reads it (the system's
/// zoneinfo files): Django's connection time zone on a site without
/// `USE_TZ`.
#[derive(Debug, Clone)]
pub struct WallTimeZone {
    name: String,
    zone: Result<jiff::tz::TimeZone, String>,
}

impl PartialEq for WallTimeZone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for WallTimeZone {}

impl WallTimeZone {
    /// The zone `name`; one that isn't known fails each value it reads.
    pub fn new(name: &str) -> WallTimeZone {
        let zone = jiff::tz::TimeZone::get(name)
            .map_err(|e| format!("the site's TIME_ZONE {name:?} is not a known time zone: {e}"));
        WallTimeZone {
            name: name.to_string(),
            zone,
        }
    }

    /// Every aware datetime in `v` (an array's elements, a range's bounds)
    /// as its naive wall time here.
    fn wall_times_in(&self, v: &mut Value) -> Result<(), String> {
        match v {
            Value::DateTime(dt) if dt.offset_minutes.is_some() => *dt = self.wall_time(*dt)?,
            Value::Array(items) => {
                for item in items {
                    self.wall_times_in(item)?;
                }
            }
            Value::Range(r) => {
                for b in [&mut r.lower, &mut r.upper].into_iter().flatten() {
                    self.wall_times_in(b)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The naive wall time here of the instant `dt` (aware).
    pub fn wall_time(&self, dt: DateTime) -> Result<DateTime, String> {
        let zone = self.zone.as_ref().map_err(String::clone)?;
        let out_of_range = || format!("{dt} in {} is outside Python's years 1 to 9999", self.name);
        let utc = dt.to_utc().ok_or_else(out_of_range)?;
        let t = utc.time;
        let seconds = utc.date.to_days() * 86_400
            + (i64::from(t.hour) * 60 + i64::from(t.minute)) * 60
            + i64::from(t.second);
        let instant = jiff::Timestamp::from_second(seconds).map_err(|e| e.to_string())?;
        let offset = i64::from(zone.to_offset(instant).seconds());
        let mut local = utc
            .shift_micros(offset * 1_000_000)
            .ok_or_else(out_of_range)?;
        local.offset_minutes = None;
        Ok(local)
    }
}

/// `str()` of the `Decimal` Django reads from a stored decimal of a field
/// with `places`: a REAL through 15 significant digits first, then
/// quantized (half to even); and whether that lost places of the stored
/// number.
pub fn read_decimal(
    text: &str,
    places: u32,
    max_digits: Option<u32>,
    storage: Storage,
) -> Result<(String, bool), String> {
    if let Some(s) = special(text) {
        return Ok((s.to_string(), false));
    }
    let mut d = Dec::parse(text).ok_or_else(|| format!("{text:?} is not a decimal number"))?;
    if storage.decimals_as_real {
        d = d.round_significant(15);
    }
    let q = d.quantize(places, max_digits)?;
    Ok((q.to_python(), !q.same_number(&d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQLITE: Storage = Storage {
        decimals_as_real: true,
        datetimes_as_instants: false,
    };

    fn read(r: &Reading, v: Value) -> (Value, Option<Differs>) {
        let mut v = v;
        let d = r.apply(&mut v, SQLITE).expect("readable");
        (v, d)
    }

    #[test]
    fn decimals_are_quantized_and_counted_only_when_places_are_lost() {
        let r = Reading {
            decimal: Some((2, Some(10))),
            ..Reading::default()
        };
        let dec = |t: &str| Value::Decimal(t.into());
        // A REAL's float noise is not a lost place.
        assert_eq!(read(&r, dec("5.7400000000000002")), (dec("5.74"), None));
        assert_eq!(
            read(&r, dec("5.7426")),
            (dec("5.74"), Some(Differs::Quantized))
        );
        assert_eq!(read(&r, dec("1.005")).0, dec("1.00"));
        assert_eq!(read(&r, dec("3")), (dec("3.00"), None));
        let eight = Reading {
            decimal: Some((8, None)),
            ..Reading::default()
        };
        // str(Decimal): Lino and dumpdata write 0E-8.
        assert_eq!(read(&eight, dec("0")), (dec("0E-8"), None));
        let mut big = dec("123456789012");
        assert!(r.apply(&mut big, SQLITE).is_err());
    }

    #[test]
    fn empty_text_naive_datetimes_lengths_and_ranges() {
        let lino = Reading {
            empty_is_none: true,
            max_length: Some(3),
            ..Reading::default()
        };
        assert_eq!(read(&lino, Value::Text(String::new())).0, Value::Null);
        assert_eq!(read(&lino, Value::Text("äöü".into())).1, None);
        assert_eq!(
            read(&lino, Value::Text("äöüß".into())).1,
            Some(Differs::TooLong)
        );
        assert_eq!(
            read(&Reading::default(), Value::Text(String::new())).0,
            Value::Text(String::new())
        );
        let small = Reading {
            range: Some((-32768, 32767)),
            ..Reading::default()
        };
        assert_eq!(read(&small, Value::Int(32767)).1, None);
        assert_eq!(read(&small, Value::Int(32768)).1, Some(Differs::OutOfRange));
        let aware = Reading {
            aware: true,
            ..Reading::default()
        };
        let naive = DateTime::parse("2024-05-06 07:08:09").map(Value::DateTime);
        let (v, d) = read(&aware, naive.expect("datetime"));
        assert!(matches!(v, Value::DateTime(dt) if dt.offset_minutes == Some(0)));
        assert_eq!(d, None);
        assert!(Reading::default().is_plain() && !aware.is_plain());
    }

    #[test]
    fn instants_are_read_as_wall_time_in_the_site_zone() {
        let postgres = Storage {
            datetimes_as_instants: true,
            ..Storage::default()
        };
        let chicago = Reading {
            wall_time_in: Some(WallTimeZone::new("America/Chicago")),
            ..Reading::default()
        };
        let read = |r: &Reading, s: &str, storage: Storage| {
            let mut v = Value::DateTime(DateTime::parse(s).expect("datetime"));
            r.apply(&mut v, storage).map(|_| match v {
                Value::DateTime(dt) => dt.to_string(),
                other => format!("{other:?}"),
            })
        };
        // Daylight saving time (-5), standard time (-6), a microsecond.
        for (stored, wall) in [
            ("2006-06-16 15:42:37Z", "2006-06-16 10:42:37"),
            ("2006-01-01 05:59:59.000001Z", "2005-12-31 23:59:59.000001"),
            ("2006-06-16 10:42:37+02:00", "2006-06-16 03:42:37"),
        ] {
            assert_eq!(read(&chicago, stored, postgres), Ok(wall.to_string()));
        }
        // Before 1883 Chicago had local mean time, -5:50:36.
        assert_eq!(
            read(&chicago, "1800-01-01 12:00:00Z", postgres),
            Ok("1800-01-01 06:09:24".to_string())
        );
        // Naive values, and aware ones where the database stores text
        // (SQLite: Django keeps them aware), stay as they are.
        assert_eq!(
            read(&chicago, "2006-06-16 15:42:37", postgres),
            Ok("2006-06-16 15:42:37".to_string())
        );
        assert_eq!(
            read(&chicago, "2006-06-16 15:42:37Z", SQLITE),
            Ok("2006-06-16 15:42:37+00:00".to_string())
        );
        let nowhere = Reading {
            wall_time_in: Some(WallTimeZone::new("Nowhere/Special")),
            ..Reading::default()
        };
        let err = read(&nowhere, "2006-06-16 15:42:37Z", postgres).expect_err("unknown zone");
        assert!(err.contains("TIME_ZONE \"Nowhere/Special\""), "{err}");
    }

    #[test]
    fn quantizes_like_django() {
        let q =
            |t: &str, p: u32| read_decimal(t, p, None, Storage::default()).map(|(text, _)| text);
        for (text, places, want) in [
            ("12.5", 4, "12.5000"),
            ("0", 2, "0.00"),
            ("-0.0001", 4, "-0.0001"),
            ("1.005", 2, "1.00"),
            ("1.015", 2, "1.02"),
            ("9.999", 2, "10.00"),
            ("2.5", 0, "2"),
            // str(Decimal) keeps the sign of a zero, and goes to exponents.
            ("-0.001", 2, "-0.00"),
            ("1e5", 2, "100000.00"),
            ("0", 7, "0E-7"),
            ("+.5", 1, "0.5"),
        ] {
            assert_eq!(q(text, places).as_deref(), Ok(want), "{text} {places}");
        }
        assert!(q("abc", 2).is_err());
    }

    #[test]
    fn quantized_text_is_only_what_reading_keeps() {
        let cases = [
            ("12.50", 2),
            ("0.00", 2),
            ("-0.00", 2),
            ("-1.25", 2),
            ("007.50", 2),
            ("12.5", 2),
            ("12.500", 2),
            ("+1.00", 2),
            ("5", 0),
            ("5.", 0),
            ("-0", 0),
            (".50", 2),
            ("1.2a", 2),
            ("", 0),
        ];
        for (text, places) in cases {
            let read = read_decimal(text, places, None, Default::default());
            let kept = read.is_ok_and(|(t, _)| t == text);
            // Only where reading keeps the text (not always where it does).
            assert!(
                !dump2py_py::decimal::is_quantized(text, places) || kept,
                "{text} {places}"
            );
        }
    }
}
