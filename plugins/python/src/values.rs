//! One Python expression per value, as Lino's `dump2py` writes them, but
//! without losing microseconds or JSON floats.

use std::fmt::Write;

use base64::Engine;
use dump2py_core::django::{ContentType, Field, Site};
use dump2py_core::value::{push_int, push_uint, write_duration, Value};

use crate::pyrepr;

/// The deepest JSON that a data file's Python parser accepts.
pub const JSON_DEPTH: usize = 190;

/// Why a value can't be written.
pub type ValueError = String;

pub fn write_value(
    out: &mut String,
    site: &Site,
    field: &Field,
    row: &[Value],
) -> Result<(), ValueError> {
    if field.is_babel {
        out.push('[');
        write_plain(out, site, field, &row[field.index])?;
        for &i in &field.babel {
            out.push_str(", ");
            write_plain(out, site, field, &row[i])?;
        }
        out.push(']');
        return Ok(());
    }
    write_plain(out, site, field, &row[field.index])
}

fn write_plain(
    out: &mut String,
    site: &Site,
    field: &Field,
    value: &Value,
) -> Result<(), ValueError> {
    if field.is_content_type() {
        return write_content_type(out, site, value);
    }
    // What the site's metadata says the column holds, where the database
    // can't tell: Lino's text for these fields.
    match (field.internal_type.as_deref(), value) {
        (_, Value::Text(t)) if t.is_empty() && field.choicelist.is_some() => {
            out.push_str("None");
            return Ok(());
        }
        (Some("DurationField"), Value::Int(us)) => {
            duration(out, *us);
            return Ok(());
        }
        (Some("UUIDField"), Value::Text(t))
            if t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            let hyphenated = format!(
                "{}-{}-{}-{}-{}",
                &t[..8],
                &t[8..12],
                &t[12..16],
                &t[16..20],
                &t[20..]
            );
            quoted(out, &hyphenated.to_ascii_lowercase());
            return Ok(());
        }
        (Some("DecimalField"), Value::Decimal(d)) => {
            if let Some(places) = field.decimal_places {
                if is_quantized(d, places) {
                    quoted(out, d);
                    return Ok(());
                }
                let q =
                    quantize(d, places).ok_or_else(|| format!("{d:?} is not a decimal number"))?;
                quoted(out, &q);
                return Ok(());
            }
        }
        _ => {}
    }
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(n) => push_int(out, *n),
        Value::UInt(n) => push_uint(out, *n, 0),
        Value::Float(f) => {
            // Lino writes repr(str(value)): the float's text in quotes.
            out.push('\'');
            pyrepr::write_float(out, *f);
            out.push('\'');
        }
        Value::Decimal(d) => quoted(out, d),
        Value::Text(s) => pyrepr::write_str(out, s),
        Value::Bytes(b) => quoted(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Date(d) => {
            out.push_str("date(");
            ymd(out, d);
            out.push(')');
        }
        Value::Time(t) => {
            out.push_str("time(");
            hms(out, t);
        }
        Value::DateTime(dt) => {
            out.push_str("dt(");
            ymd(out, &dt.date);
            out.push(',');
            hms(out, &dt.time);
        }
        Value::Json(text) => {
            // A data line nests the literal two levels deep; Python parses 200.
            pyrepr::write_json_as_python_limited(out, text, JSON_DEPTH)
                .map_err(|e| format!("{e}"))?
        }
        Value::Uuid(u) => uuid(out, u),
        Value::Duration(us) => duration(out, *us),
    }
    Ok(())
}

/// Lino passes the model, not the old id: the new database's content type
/// is looked up at restore time.
fn write_content_type(out: &mut String, site: &Site, value: &Value) -> Result<(), ValueError> {
    let id = match value {
        Value::Null => {
            out.push_str("None");
            return Ok(());
        }
        Value::Int(id) => *id,
        other => return Err(format!("content type id {other:?} is not an integer")),
    };
    if site.stale_content_type(id).is_some() {
        // The sink warns about it (PythonSink::warnings).
        out.push_str("None");
        return Ok(());
    }
    match site.content_types.get(&id) {
        // The global restore.py binds (PythonSink::begin checks that each
        // is an identifier); any other name is looked up by label.
        Some(ContentType {
            global: Some(global),
            ..
        }) if crate::names::is_identifier(global) => out.push_str(global),
        Some(ct) => {
            out.push_str("ct_model(");
            pyrepr::write_str(out, &ct.app_label);
            out.push_str(", ");
            pyrepr::write_str(out, &ct.model);
            out.push(')');
        }
        // A stale id: the dump says so rather than crash, as Lino would.
        None => {
            let _ = write!(out, "missing_content_type({id})");
        }
    }
    Ok(())
}

/// `Y,M,D` as the arguments of `date(...)`: numbers without padding.
fn ymd(out: &mut String, d: &dump2py_core::value::Date) {
    push_int(out, i64::from(d.year));
    out.push(',');
    push_uint(out, u64::from(d.month), 0);
    out.push(',');
    push_uint(out, u64::from(d.day), 0);
}

/// `H,M,S[,US])`: the microseconds only when not zero, and the closing
/// parenthesis.
fn hms(out: &mut String, t: &dump2py_core::value::Time) {
    for n in [t.hour, t.minute] {
        push_uint(out, u64::from(n), 0);
        out.push(',');
    }
    push_uint(out, u64::from(t.second), 0);
    if t.micro != 0 {
        out.push(',');
        push_uint(out, u64::from(t.micro), 0);
    }
    out.push(')');
}

/// A duration as Lino writes it: its `duration_string` quoted (the text
/// has neither quotes nor backslashes).
fn duration(out: &mut String, us: i64) {
    out.push('\'');
    write_duration(out, us);
    out.push('\'');
}

fn quoted(out: &mut String, s: &str) {
    pyrepr::write_str(out, s);
}

/// A UUID quoted, hyphenated and lowercase, as `repr(str(uuid))`.
fn uuid(out: &mut String, u: &[u8; 16]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\'');
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out.push('\'');
}

/// Whether `quantize(text, places)` would give `text` itself: the usual
/// case (a database's decimals have the column's scale), checked without
/// allocating.
fn is_quantized(text: &str, places: u32) -> bool {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let frac_ok = match frac {
        None => places == 0,
        Some(f) => places > 0 && f.len() == places as usize,
    };
    let frac = frac.unwrap_or("");
    let all_digits = int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit());
    let no_leading_zero = int.len() == 1 || !int.starts_with('0');
    // quantize writes -0.00 as 0.00.
    let not_negative_zero = !neg || int.bytes().chain(frac.bytes()).any(|b| b != b'0');
    frac_ok && !int.is_empty() && all_digits && no_leading_zero && not_negative_zero
}

/// Django's quantize of a stored decimal to the field's places, rounding
/// half to even: `12.5` with 4 places is `12.5000`.
pub fn quantize(text: &str, places: u32) -> Option<String> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let places = places as usize;
    // All digits as one integer, scaled to `places` decimals.
    let mut all: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().take(places))
        .map(|b| b - b'0')
        .collect();
    all.extend(std::iter::repeat_n(0, places.saturating_sub(frac.len())));
    let rest = frac.as_bytes().get(places..).unwrap_or(&[]);
    if let Some(&first) = rest.first() {
        let tail_nonzero = rest[1..].iter().any(|&b| b != b'0');
        let last_odd = all.last().is_some_and(|d| d % 2 == 1);
        let up = first > b'5' || (first == b'5' && (tail_nonzero || last_odd));
        if up {
            let mut i = all.len();
            loop {
                if i == 0 {
                    all.insert(0, 1);
                    break;
                }
                i -= 1;
                if all[i] == 9 {
                    all[i] = 0;
                } else {
                    all[i] += 1;
                    break;
                }
            }
        }
    }
    let split = all.len() - places;
    let int_part: String = all[..split].iter().map(|d| (b'0' + d) as char).collect();
    let int_part = int_part.trim_start_matches('0');
    let int_part = if int_part.is_empty() { "0" } else { int_part };
    let frac_part: String = all[split..].iter().map(|d| (b'0' + d) as char).collect();
    let zero = all.iter().all(|&d| d == 0);
    let sign = if neg && !zero { "-" } else { "" };
    Some(if places == 0 {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac_part}")
    })
}

#[cfg(test)]
mod tests {
    use super::quantize;

    #[test]
    fn quantizes_like_django() {
        assert_eq!(quantize("12.5", 4).as_deref(), Some("12.5000"));
        assert_eq!(quantize("0", 2).as_deref(), Some("0.00"));
        assert_eq!(quantize("-0.0001", 4).as_deref(), Some("-0.0001"));
        assert_eq!(quantize("1.005", 2).as_deref(), Some("1.00"));
        assert_eq!(quantize("1.015", 2).as_deref(), Some("1.02"));
        assert_eq!(quantize("9.999", 2).as_deref(), Some("10.00"));
        assert_eq!(quantize("2.5", 0).as_deref(), Some("2"));
        assert_eq!(quantize("-0.001", 2).as_deref(), Some("0.00"));
        assert_eq!(quantize("abc", 2), None);
    }

    #[test]
    fn quantized_text_is_kept_only_where_quantize_keeps_it() {
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
            let kept = quantize(text, places).as_deref() == Some(text);
            assert_eq!(super::is_quantized(text, places), kept, "{text} {places}");
        }
    }
}
