//! The values that flow from sources to sinks: plain data, no generics, so
//! that a plugin boundary can carry them later.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub micro: u32,
}

/// A datetime as stored; `offset_minutes` is `Some` for an aware value
/// (sources normalise aware values to UTC and say so with `Some(0)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub date: Date,
    pub time: Time,
    pub offset_minutes: Option<i16>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// Exact decimal text, e.g. `-12.50`; never a float.
    Decimal(String),
    Text(String),
    Bytes(Vec<u8>),
    Date(Date),
    Time(Time),
    DateTime(DateTime),
    /// JSON document text as stored.
    Json(String),
    Uuid([u8; 16]),
    /// A duration in microseconds.
    Duration(i64),
    /// A PostgreSQL array (django.contrib.postgres' `ArrayField`); a
    /// multi-dimensional one as arrays of arrays.
    Array(Vec<Value>),
    /// A PostgreSQL hstore (`HStoreField`), in the server's order.
    Map(Vec<(String, Option<String>)>),
    /// A PostgreSQL range (the `*RangeField`s).
    Range(Box<Range>),
}

/// A range's bounds: `None` is infinite. An empty range has neither.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    pub lower: Option<Value>,
    pub upper: Option<Value>,
    pub lower_inc: bool,
    pub upper_inc: bool,
    pub empty: bool,
}

impl Range {
    /// psycopg's `bounds`: `[)`, `[]`, `()` or `(]`.
    pub fn bounds(&self) -> &'static str {
        match (self.lower_inc, self.upper_inc) {
            (true, false) => "[)",
            (true, true) => "[]",
            (false, false) => "()",
            (false, true) => "(]",
        }
    }
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// About how long this value's text is in an output (a Python
    /// literal, JSON, XML): its text with room for some escapes, base64's
    /// four bytes for three, 32 for the rest. Sinks reserve a row's line
    /// with it, so that a big value's line is allocated once, not doubled.
    pub fn text_estimate(&self) -> usize {
        match self {
            Value::Text(s) | Value::Decimal(s) | Value::Json(s) => s.len() + s.len() / 16 + 8,
            Value::Bytes(b) => b.len().div_ceil(3) * 4 + 8,
            _ => 32,
        }
    }

    /// About the memory this value takes: itself and the text or bytes it
    /// holds (what batches are bounded by).
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Value>()
            + match self {
                Value::Text(s) | Value::Decimal(s) | Value::Json(s) => s.len(),
                Value::Bytes(b) => b.len(),
                _ => 0,
            }
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        ((1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month))
        .then_some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        Date::new(
            digits(&b[0..4])? as i32,
            digits(&b[5..7])? as u8,
            digits(&b[8..10])? as u8,
        )
    }

    /// Days since 1970-01-01 (proleptic Gregorian).
    pub fn to_days(self) -> i64 {
        let (y, m, d) = (self.year as i64, self.month as i64, self.day as i64);
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    pub fn from_days(days: i64) -> Option<Date> {
        let (y, m, d) = civil_from_days(days);
        Date::new(i32::try_from(y).ok()?, m as u8, d as u8)
    }
}

/// Year, month and day of a day number since 1970-01-01 (proleptic
/// Gregorian), for any year; `Date::from_days` keeps Python's range.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl Time {
    pub fn new(hour: u8, minute: u8, second: u8, micro: u32) -> Option<Time> {
        (hour < 24 && minute < 60 && second < 60 && micro < 1_000_000).then_some(Time {
            hour,
            minute,
            second,
            micro,
        })
    }

    /// Parses `HH:MM[:SS[.ffffff]]` (fewer fraction digits are scaled).
    pub fn parse(s: &str) -> Option<Time> {
        let b = s.as_bytes();
        if b.len() < 5 || b[2] != b':' {
            return None;
        }
        let (hour, minute) = (digits(&b[0..2])? as u8, digits(&b[3..5])? as u8);
        let (mut second, mut micro) = (0, 0);
        if b.len() > 5 {
            if b.len() < 8 || b[5] != b':' {
                return None;
            }
            second = digits(&b[6..8])? as u8;
            if b.len() > 8 {
                let frac = &b[9..];
                if b[8] != b'.' || frac.is_empty() || frac.len() > 9 {
                    return None;
                }
                let mut v = digits(frac)? as u64;
                for _ in frac.len()..6 {
                    v *= 10;
                }
                for _ in 6..frac.len() {
                    v /= 10;
                }
                micro = v as u32;
            }
        }
        Time::new(hour, minute, second, micro)
    }
}

impl DateTime {
    /// Parses `YYYY-MM-DD[ T]HH:MM[:SS[.f]][Z|±HH:MM]`, keeping an offset
    /// as written (Django reads it so: an aware datetime in that offset).
    pub fn parse(s: &str) -> Option<DateTime> {
        if s.len() == 10 {
            let date = Date::parse(s)?;
            return Some(DateTime {
                date,
                time: Time::new(0, 0, 0, 0)?,
                offset_minutes: None,
            });
        }
        if s.len() < 16 || !s.is_char_boundary(10) || !matches!(&s[10..11], " " | "T") {
            return None;
        }
        let date = Date::parse(&s[..10])?;
        let rest = &s[11..];
        let (time_part, offset) = split_offset(rest)?;
        let time = Time::parse(time_part)?;
        let dt = DateTime {
            date,
            time,
            offset_minutes: None,
        };
        Some(match offset {
            None => dt,
            Some(minutes) => dt.with_offset(minutes),
        })
    }

    /// The same instant in UTC (offset 0); a naive value stays as it is.
    pub fn to_utc(self) -> Option<DateTime> {
        match self.offset_minutes {
            None | Some(0) => Some(self),
            Some(o) => Some(self.shift_minutes(-i64::from(o))?.with_offset(0)),
        }
    }

    fn with_offset(mut self, o: i16) -> DateTime {
        self.offset_minutes = Some(o);
        self
    }

    pub fn shift_minutes(self, minutes: i64) -> Option<DateTime> {
        self.shift_micros(minutes.checked_mul(60_000_000)?)
    }

    /// The wall time `micros` later (earlier if negative), same offset;
    /// `None` outside years 1 to 9999.
    pub fn shift_micros(self, micros: i64) -> Option<DateTime> {
        const DAY: i64 = 86_400_000_000;
        let t = self.time;
        let of_day = ((i64::from(t.hour) * 60 + i64::from(t.minute)) * 60 + i64::from(t.second))
            * 1_000_000
            + i64::from(t.micro);
        let total = (self.date.to_days().checked_mul(DAY)?)
            .checked_add(of_day)?
            .checked_add(micros)?;
        let date = Date::from_days(total.div_euclid(DAY))?;
        let us = total.rem_euclid(DAY);
        let secs = us / 1_000_000;
        let time = Time::new(
            (secs / 3600) as u8,
            (secs / 60 % 60) as u8,
            (secs % 60) as u8,
            (us % 1_000_000) as u32,
        )?;
        Some(DateTime {
            date,
            time,
            offset_minutes: self.offset_minutes,
        })
    }
}

fn split_offset(s: &str) -> Option<(&str, Option<i16>)> {
    if let Some(t) = s.strip_suffix('Z') {
        return Some((t, Some(0)));
    }
    if let Some(pos) = s.rfind(['+', '-']) {
        let (t, off) = s.split_at(pos);
        let b = off.as_bytes();
        let (h, m) = match b.len() {
            3 => (digits(&b[1..3])?, 0),
            5 => (digits(&b[1..3])?, digits(&b[3..5])?),
            6 if b[3] == b':' => (digits(&b[1..3])?, digits(&b[4..6])?),
            _ => return None,
        };
        let minutes = (h * 60 + m) as i16;
        return Some((t, Some(if b[0] == b'-' { -minutes } else { minutes })));
    }
    Some((s, None))
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as u32)
    })
}

/// "00" to "99": two digits per step, as hand-written integer formatters do.
const DIGITS2: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Writes `n` right-aligned into the end of `buf`, zero-padded to at least
/// `width` digits; returns where the digits start.
fn digits_into(buf: &mut [u8; 20], mut n: u64, width: usize) -> usize {
    let mut i = buf.len();
    while n >= 100 {
        let r = (n % 100) as usize * 2;
        n /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[r..r + 2]);
    }
    if n >= 10 {
        let r = n as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + n as u8;
    }
    while buf.len() - i < width.min(buf.len()) {
        i -= 1;
        buf[i] = b'0';
    }
    i
}

/// Appends `n` in decimal, zero-padded to `width` digits. The formatting
/// hot path: no `core::fmt`, no allocation (one value per field of a dump).
pub fn push_uint(out: &mut String, n: u64, width: usize) {
    // Most numbers of a dump are the parts of dates and times.
    if n < 10 && width <= 1 {
        out.push(char::from(b'0' + n as u8));
        return;
    }
    if n < 100 && width <= 2 {
        let r = n as usize * 2;
        out.push(char::from(DIGITS2[r]));
        out.push(char::from(DIGITS2[r + 1]));
        return;
    }
    let mut buf = [0u8; 20];
    let start = digits_into(&mut buf, n, width);
    push_ascii(out, &buf[start..]);
}

/// Appends ASCII digits and signs byte by byte: cheaper than validating a
/// few bytes as UTF-8.
fn push_ascii(out: &mut String, ascii: &[u8]) {
    out.reserve(ascii.len());
    for &b in ascii {
        out.push(char::from(b));
    }
}

/// Appends `n` in decimal, as `{n}` would.
pub fn push_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_uint(out, n.unsigned_abs(), 0);
}

/// `f` as `m * 10^-places` when it is a decimal of at most 6 places and
/// 15 significant digits (prices, rates, amounts): then `m` is exactly the
/// shortest round-trip digits that `{f:e}` and Python's `repr` give, found
/// without `core::fmt`. `None` for anything else (zero, large, tiny, long),
/// which takes the general path.
pub fn short_decimal(f: f64) -> Option<(i64, u32)> {
    // m < 10^15 < 2^53 and 10^places are exact, so `m / scale` is the
    // correctly rounded value of the decimal m·10^-places: if it is `f`, the
    // decimal reads back as `f`. With at most 15 digits no other decimal of
    // that length lies within `f`'s rounding interval, and any shorter one
    // would have been found at a smaller scale.
    // NaN and the infinities fail `is_finite`.
    if f == 0.0 || !f.is_finite() || f.abs() >= 1e9 {
        return None;
    }
    let mut scale = 1.0f64;
    for places in 0..=6u32 {
        let m = (f * scale).round();
        if m / scale == f && m.abs() < 1e15 {
            return Some((m as i64, places));
        }
        scale *= 10.0;
    }
    None
}

/// Appends `m * 10^-places` in plain notation (`places` digits after the
/// point, none and no point for 0).
pub fn push_scaled(out: &mut String, m: i64, places: u32) {
    if m < 0 {
        out.push('-');
    }
    let mut buf = [0u8; 20];
    let start = digits_into(&mut buf, m.unsigned_abs(), places as usize + 1);
    let (int, frac) = buf[start..].split_at(buf.len() - start - places as usize);
    push_ascii(out, int);
    if !frac.is_empty() {
        out.push('.');
        push_ascii(out, frac);
    }
}

impl Date {
    /// Appends `YYYY-MM-DD`.
    pub fn write_iso(&self, out: &mut String) {
        if self.year < 0 {
            out.push('-');
        }
        push_uint(out, u64::from(self.year.unsigned_abs()), 4);
        out.push('-');
        push_uint(out, u64::from(self.month), 2);
        out.push('-');
        push_uint(out, u64::from(self.day), 2);
    }
}

impl Time {
    /// Appends `HH:MM:SS[.ffffff]` (the fraction only when not zero).
    pub fn write_iso(&self, out: &mut String) {
        push_uint(out, u64::from(self.hour), 2);
        out.push(':');
        push_uint(out, u64::from(self.minute), 2);
        out.push(':');
        push_uint(out, u64::from(self.second), 2);
        if self.micro != 0 {
            out.push('.');
            push_uint(out, u64::from(self.micro), 6);
        }
    }
}

impl DateTime {
    /// Appends `YYYY-MM-DD HH:MM:SS[.ffffff][±HH:MM]`.
    pub fn write_iso(&self, out: &mut String) {
        self.date.write_iso(out);
        out.push(' ');
        self.time.write_iso(out);
        if let Some(o) = self.offset_minutes {
            out.push(if o < 0 { '-' } else { '+' });
            let o = u64::from(o.unsigned_abs());
            push_uint(out, o / 60, 2);
            out.push(':');
            push_uint(out, o % 60, 2);
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(10);
        self.write_iso(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(15);
        self.write_iso(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(32);
        self.write_iso(&mut s);
        f.write_str(&s)
    }
}

/// Django's `duration_string`: `[D ]HH:MM:SS[.ffffff]`.
pub fn duration_string(micros: i64) -> String {
    let mut s = String::with_capacity(24);
    write_duration(&mut s, micros);
    s
}

/// Appends Django's `duration_string` of `micros`.
pub fn write_duration(out: &mut String, micros: i64) {
    // timedelta keeps days signed and the rest positive: -1s is "-1 23:59:59".
    let days = micros.div_euclid(86_400_000_000);
    let rem = micros.rem_euclid(86_400_000_000) as u64;
    let (secs, us) = (rem / 1_000_000, rem % 1_000_000);
    if days != 0 {
        push_int(out, days);
        out.push(' ');
    }
    push_uint(out, secs / 3600, 2);
    out.push(':');
    push_uint(out, secs / 60 % 60, 2);
    out.push(':');
    push_uint(out, secs % 60, 2);
    if us != 0 {
        out.push('.');
        push_uint(out, us, 6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_datetimes() {
        let d = DateTime::parse("2024-03-31 01:30:05.123456").expect("valid");
        assert_eq!(d.time.micro, 123456);
        assert_eq!(d.offset_minutes, None);
        let d = DateTime::parse("2024-03-01T00:30:00+01:00").expect("valid");
        assert_eq!(d.to_string(), "2024-03-01 00:30:00+01:00");
        assert_eq!(
            d.to_utc().map(|u| u.to_string()).as_deref(),
            Some("2024-02-29 23:30:00+00:00")
        );
        assert_eq!(DateTime::parse("2024-02-30 00:00:00"), None);
        assert_eq!(Time::parse("08:05:03.25").map(|t| t.micro), Some(250000));
        assert_eq!(Time::parse("8:05"), None);
        assert_eq!(Date::parse("2024-13-01"), None);
    }

    #[test]
    fn day_numbers_round_trip() {
        for days in [-719162i64, -1, 0, 1, 19000, 2932896] {
            let d = Date::from_days(days).expect("in range");
            assert_eq!(d.to_days(), days);
        }
        assert_eq!(
            Date::from_days(0).map(|d| d.to_string()).as_deref(),
            Some("1970-01-01")
        );
    }

    #[test]
    fn digits_like_core_fmt() {
        for n in [0i64, 1, 9, 10, 99, 100, 12345, -7, i64::MIN, i64::MAX] {
            let mut s = String::new();
            push_int(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        let mut s = String::new();
        push_uint(&mut s, u64::MAX, 0);
        push_uint(&mut s, 7, 4);
        push_uint(&mut s, 123, 2);
        assert_eq!(s, format!("{}0007123", u64::MAX));
        let t = Time::new(8, 5, 3, 250).expect("valid");
        assert_eq!(t.to_string(), "08:05:03.000250");
        let d = DateTime {
            date: Date::new(33, 1, 2).expect("valid"),
            time: Time::new(0, 0, 0, 0).expect("valid"),
            offset_minutes: Some(-90),
        };
        assert_eq!(d.to_string(), "0033-01-02 00:00:00-01:30");
    }

    #[test]
    fn short_decimals_are_the_shortest_digits() {
        let mut floats = vec![
            0.5,
            12.5,
            -0.01,
            99.99,
            1e-6,
            123456789.0,
            0.1 + 0.2,
            1.0 / 3.0,
        ];
        floats.extend((1..20000).map(|i| f64::from(i) / 100.0));
        floats.extend((1..2000).map(|i| f64::from(i) * 0.001 - 1.0));
        let mut found = 0;
        for f in floats {
            let Some((m, places)) = short_decimal(f) else {
                continue;
            };
            found += 1;
            let mut s = String::new();
            push_scaled(&mut s, m, places);
            let want = format!("{f}");
            assert_eq!(s, want, "{f:e}");
        }
        assert!(found > 20000, "{found}");
        assert_eq!(short_decimal(0.1 + 0.2), None);
        assert_eq!(short_decimal(0.0), None);
        assert_eq!(short_decimal(f64::NAN), None);
        assert_eq!(short_decimal(f64::INFINITY), None);
        assert_eq!(short_decimal(1e9), None);
    }

    #[test]
    fn durations_like_django() {
        assert_eq!(duration_string(93_603_000_004), "1 02:00:03.000004");
        assert_eq!(duration_string(0), "00:00:00");
        assert_eq!(duration_string(-1_000_000), "-1 23:59:59");
    }
}
