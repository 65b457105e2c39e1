//! Dates and times stored as text, read as Django's SQLite backend reads
//! them: `django.utils.dateparse` on the column's text. Each parser takes
//! what CPython 3.11's `fromisoformat` takes (its C implementation: bytes
//! of UTF-8, the end of the string read as NUL), and otherwise what
//! dateparse's patterns match (Python's `\d` and `\s` are Unicode's, `$`
//! also matches before a final newline). What Python refuses is `None`.

use dump2py_model::value::{Date, DateTime, Time};

/// `parse_date`.
pub fn date(s: &str) -> Option<Date> {
    iso_date_string(s.as_bytes()).or_else(|| lax_date(s))
}

/// `parse_time`: an offset is checked, then dropped.
pub fn time(s: &str) -> Option<Time> {
    let b = s.as_bytes();
    let start = usize::from(b.first() == Some(&b'T'));
    let iso = iso_time(b, start).and_then(|(t, offset)| {
        offset.is_none_or(offset_ok).then_some(())?;
        Time::new(t[0] as u8, t[1] as u8, t[2] as u8, t[3])
    });
    iso.or_else(|| lax_time(s))
}

/// `parse_datetime`.
pub fn datetime(s: &str) -> Option<DateTime> {
    let (date, time, offset_us) = iso_datetime(s).or_else(|| lax_datetime(s))?;
    let naive = DateTime {
        date,
        time,
        offset_minutes: None,
    };
    let Some(us) = offset_us else {
        return Some(naive);
    };
    const MINUTE: i64 = 60_000_000;
    if us % MINUTE == 0 {
        // Kept in its offset, as Django reads it; one whose UTC instant
        // leaves the years Python has is None to Django (see the tests).
        let aware = DateTime {
            offset_minutes: Some((us / MINUTE) as i16),
            ..naive
        };
        return aware.to_utc().map(|_| aware);
    }
    // An offset with seconds has no minutes to keep: the value in UTC.
    let utc = naive.shift_micros(-us)?;
    Some(DateTime {
        offset_minutes: Some(0),
        ..utc
    })
}

/// A `timezone` takes an offset strictly within a day.
fn offset_ok(us: i64) -> bool {
    us.abs() < 86_400_000_000
}

// ---------------------------------------------------------------------------
// fromisoformat, on bytes as CPython's C code reads them

/// The byte at `i`; 0 at and past the end, as C reads a string's NUL.
fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// `n` ASCII digits at `p`.
fn digits(b: &[u8], p: usize, n: usize) -> Option<u32> {
    (p..p + n).try_fold(0u32, |acc, i| {
        let c = at(b, i);
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `date.fromisoformat`: 7, 8 or 10 bytes.
fn iso_date_string(b: &[u8]) -> Option<Date> {
    if !matches!(b.len(), 7 | 8 | 10) {
        return None;
    }
    let (y, m, d) = iso_date(b, b.len())?;
    Date::new(y, m as u8, d as u8)
}

/// `YYYY-MM-DD`, `YYYYMMDD`, `YYYY-Www[-D]`, `YYYYWww[D]` at the start of
/// `b`, whose date part is `len` bytes long (what follows is not read).
fn iso_date(b: &[u8], len: usize) -> Option<(i32, u32, u32)> {
    let year = digits(b, 0, 4)? as i32;
    let sep = at(b, 4) == b'-';
    let mut p = 4 + usize::from(sep);
    if at(b, p) == b'W' {
        let week = digits(b, p + 1, 2)?;
        p += 3;
        let mut day = 1;
        if p < len {
            if sep {
                if at(b, p) != b'-' {
                    return None;
                }
                p += 1;
            }
            day = digits(b, p, 1)?;
        }
        return iso_week_date(year, week, day);
    }
    let month = digits(b, p, 2)?;
    p += 2;
    if sep {
        if at(b, p) != b'-' {
            return None;
        }
        p += 1;
    }
    Some((year, month, digits(b, p, 2)?))
}

/// An ISO year, week and weekday as a calendar date.
fn iso_week_date(year: i32, week: u32, day: u32) -> Option<(i32, u32, u32)> {
    if !(1..=9999).contains(&year) || !(1..=7).contains(&day) {
        return None;
    }
    let jan1 = Date::new(year, 1, 1)?.to_days();
    // Monday 0; 1970-01-01 was a Thursday.
    let jan1_weekday = (jan1 + 3).rem_euclid(7);
    let leap = Date::new(year, 2, 29).is_some();
    let weeks = if jan1_weekday == 3 || (jan1_weekday == 2 && leap) {
        53
    } else {
        52
    };
    if !(1..=weeks).contains(&week) {
        return None;
    }
    let mut monday1 = jan1 - jan1_weekday;
    if jan1_weekday > 3 {
        monday1 += 7;
    }
    let d = Date::from_days(monday1 + i64::from((week - 1) * 7 + day - 1))?;
    Some((d.year, u32::from(d.month), u32::from(d.day)))
}

/// Hour, minute, second and microsecond.
type Hms = [u32; 4];

/// `HH[:?MM[:?SS]][{.,}f…]` from `p` to `end`: `Some((more, hms))`, where
/// `more` says that the text did not end there (C's return 1).
fn hh_mm_ss_ff(b: &[u8], mut p: usize, end: usize) -> Option<(bool, Hms)> {
    let mut v: Hms = [0; 4];
    let mut has_sep = true;
    for i in 0..3 {
        v[i] = digits(b, p, 2)?;
        let c = at(b, p + 2);
        p += 3;
        if i == 0 {
            has_sep = c == b':';
        }
        if p >= end {
            return Some((c != 0, v));
        } else if has_sep && c == b':' {
            continue;
        } else if c == b'.' || c == b',' {
            break;
        } else if !has_sep {
            p -= 1;
        } else {
            return None;
        }
    }
    let n = (end - p).min(6);
    v[3] = digits(b, p, n)? * 10u32.pow(6 - n as u32);
    p += n;
    while at(b, p).is_ascii_digit() {
        p += 1;
    }
    Some((at(b, p) != 0, v))
}

/// The time from `start` to the end, and its offset in microseconds.
fn iso_time(b: &[u8], start: usize) -> Option<(Hms, Option<i64>)> {
    let end = b.len();
    let tz = (start..end)
        .find(|&i| matches!(b[i], b'Z' | b'+' | b'-'))
        .unwrap_or(end.max(start + 1));
    let (more, hms) = hh_mm_ss_ff(b, start, tz)?;
    if tz >= end {
        return (!more).then_some((hms, None));
    }
    if b[tz] == b'Z' {
        return (at(b, tz + 1) == 0).then_some((hms, Some(0)));
    }
    let (more, o) = hh_mm_ss_ff(b, tz + 1, end)?;
    if more {
        return None;
    }
    let sign = if b[tz] == b'-' { -1 } else { 1 };
    let secs = i64::from(o[0]) * 3600 + i64::from(o[1]) * 60 + i64::from(o[2]);
    // Whole seconds of none are UTC, whatever the microseconds say.
    let us = if secs == 0 {
        0
    } else {
        secs * 1_000_000 + i64::from(o[3])
    };
    Some((hms, Some(sign * us)))
}

/// Where the date part ends in a datetime's text (C's
/// `_find_isoformat_datetime_separator`).
fn separator(b: &[u8]) -> Option<usize> {
    let len = b.len();
    if len == 7 {
        return Some(7);
    }
    if at(b, 4) == b'-' {
        if at(b, 5) != b'W' {
            return Some(10);
        }
        if len > 8 && at(b, 8) == b'-' {
            if len == 9 {
                return None;
            }
            return Some(if len > 10 && at(b, 10).is_ascii_digit() {
                8
            } else {
                10
            });
        }
        return Some(8);
    }
    if at(b, 4) != b'W' {
        return Some(8);
    }
    let digits_end = (7..len).find(|&i| !b[i].is_ascii_digit()).unwrap_or(len);
    Some(match digits_end {
        i if i < 9 => i,
        i if i % 2 == 0 => 7,
        _ => 8,
    })
}

/// `datetime.fromisoformat`.
fn iso_datetime(s: &str) -> Option<(Date, Time, Option<i64>)> {
    let chars = s.chars().count();
    if chars < 7 {
        return None;
    }
    // The separator may be any character: one that isn't ASCII is read as 'T'.
    let owned: Vec<u8>;
    let mut b = s.as_bytes();
    if !s.is_ascii() {
        if let Some((i, c)) = [7, 8, 10]
            .into_iter()
            .take_while(|&pos| pos <= chars)
            .filter_map(|pos| s.char_indices().nth(pos))
            .find(|(_, c)| !c.is_ascii())
        {
            let mut v = b.to_vec();
            v.splice(i..i + c.len_utf8(), [b'T']);
            owned = v;
            b = &owned;
        }
    }
    let sep = separator(b)?;
    let (y, m, d) = iso_date(b, sep)?;
    let (hms, offset) = if b.len() > sep {
        iso_time(b, sep + 1)?
    } else {
        ([0; 4], None)
    };
    offset.is_none_or(offset_ok).then_some(())?;
    let date = Date::new(y, m as u8, d as u8)?;
    let time = Time::new(hms[0] as u8, hms[1] as u8, hms[2] as u8, hms[3])?;
    Some((date, time, offset))
}

// ---------------------------------------------------------------------------
// dateparse's patterns, on characters

/// The first code point of each run of ten Unicode decimal digits
/// (category Nd, which Python's `\d` and `int()` take), Python 3.11's
/// Unicode 14.
const DIGIT_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// Python's `\d`: the digit's value.
fn digit_value(c: char) -> Option<u32> {
    let c = u32::from(c);
    if c < 0x80 {
        return (0x30..0x3A).contains(&c).then(|| c - 0x30);
    }
    let i = DIGIT_ZEROS.partition_point(|&z| z <= c).checked_sub(1)?;
    let v = c - DIGIT_ZEROS[i];
    (v < 10).then_some(v)
}

/// Python's `\s` (`str.isspace`): Unicode's White_Space and the
/// separators U+001C to U+001F.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A cursor over the characters of a pattern's subject.
struct Lax<'a> {
    rest: std::str::Chars<'a>,
}

impl<'a> Lax<'a> {
    fn new(s: &'a str) -> Lax<'a> {
        Lax { rest: s.chars() }
    }

    fn peek(&self) -> Option<char> {
        self.rest.clone().next()
    }

    fn eat(&mut self, any_of: &str) -> Option<char> {
        let c = self.peek().filter(|c| any_of.contains(*c))?;
        self.rest.next();
        Some(c)
    }

    /// A run of `min..=max` digits (the run ends there: what follows in
    /// these patterns is never a digit): its value and length.
    fn digits(&mut self, min: usize, max: usize) -> Option<(u32, usize)> {
        let (mut v, mut n) = (0u32, 0);
        while let Some(d) = self.peek().and_then(digit_value) {
            if n == max {
                return None;
            }
            self.rest.next();
            v = v.saturating_mul(10).saturating_add(d);
            n += 1;
        }
        (n >= min).then_some((v, n))
    }

    /// Exactly `n` digits, whatever follows.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        (0..n).try_fold(0, |v, _| {
            let d = self.peek().and_then(digit_value)?;
            self.rest.next();
            Some(v * 10 + d)
        })
    }

    /// `$`: the end, or a newline that ends the text.
    fn end(&self) -> bool {
        matches!(self.rest.as_str(), "" | "\n")
    }

    /// `HH:MM[:SS[{.,}ffffff[ffffff]]]`.
    fn hms(&mut self) -> Option<Hms> {
        let hour = self.digits(1, 2)?.0;
        self.eat(":")?;
        let minute = self.digits(1, 2)?.0;
        let (mut second, mut micro) = (0, 0);
        if self.eat(":").is_some() {
            second = self.digits(1, 2)?.0;
            if self.eat(".,").is_some() {
                // `(\d{1,6})\d{0,6}`: six digits at most count.
                let mut taken = self.rest.clone();
                let (_, n) = self.digits(1, 12)?;
                let mut us = 0;
                for k in 0..6 {
                    let d = if k < n {
                        taken.next().and_then(digit_value).unwrap_or(0)
                    } else {
                        0
                    };
                    us = us * 10 + d;
                }
                micro = us;
            }
        }
        Some([hour, minute, second, micro])
    }
}

/// `(\d{4})-(\d{1,2})-(\d{1,2})`.
fn lax_ymd(l: &mut Lax) -> Option<(i32, u32, u32)> {
    let year = l.digits(4, 4)?.0 as i32;
    l.eat("-")?;
    let month = l.digits(1, 2)?.0;
    l.eat("-")?;
    Some((year, month, l.digits(1, 2)?.0))
}

fn lax_date(s: &str) -> Option<Date> {
    let mut l = Lax::new(s);
    let (y, m, d) = lax_ymd(&mut l)?;
    l.end().then_some(())?;
    Date::new(y, m as u8, d as u8)
}

fn lax_time(s: &str) -> Option<Time> {
    let mut l = Lax::new(s);
    let t = l.hms()?;
    l.end().then_some(())?;
    Time::new(t[0] as u8, t[1] as u8, t[2] as u8, t[3])
}

fn lax_datetime(s: &str) -> Option<(Date, Time, Option<i64>)> {
    let mut l = Lax::new(s);
    let (y, m, d) = lax_ymd(&mut l)?;
    l.eat("T ")?;
    let t = l.hms()?;
    while l.peek().is_some_and(is_space) {
        l.rest.next();
    }
    // `Z|[+-]\d{2}(?::?\d{2})?`, in minutes.
    let mut offset = None;
    if l.eat("Z").is_some() {
        offset = Some(0);
    } else if let Some(sign) = l.eat("+-") {
        let hours = l.fixed(2)?;
        let minutes = if l.end() {
            0
        } else {
            l.eat(":");
            l.fixed(2)?
        };
        let m = i64::from(hours * 60 + minutes);
        offset = Some(if sign == '-' { -m } else { m } * 60_000_000);
    }
    l.end().then_some(())?;
    offset.is_none_or(offset_ok).then_some(())?;
    let date = Date::new(y, m as u8, d as u8)?;
    let time = Time::new(t[0] as u8, t[1] as u8, t[2] as u8, t[3])?;
    Some((date, time, offset))
}

#[cfg(test)]
mod tests;
